"""Reads the floor and the planners share: the dispatch list, the release board, load
against capacity, Gantt rows. Each runs a fixed number of queries whatever the rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .calendars import minutes_in, working_windows
from .models import (
    ChangeoverFamily,
    Downtime,
    Operation,
    OperationState,
    ScheduleRun,
    W,
    WorkCenter,
    WorkOrder,
)

O = OperationState  # noqa: E741
DISPATCH_STATES = [O.RUNNING, O.PAUSED, O.READY, O.PENDING, O.BLOCKED]


def work_centers_active() -> QuerySet[WorkCenter]:
    return WorkCenter.objects.filter(active=True).order_by("code")


def work_center_by_code(*, code: str) -> WorkCenter | None:
    return WorkCenter.objects.filter(code=code, active=True).first()


@dataclass
class DispatchRow:
    operation: Operation
    rank: int
    why: list[str]
    material: str  # "staged", "issued", "picking", "not staged", "no components"
    material_ok: bool
    changeover_from: str
    changeover_minutes: int
    late: bool
    can_start: bool


def _kit_states(work_order_ids: list[int]) -> dict[int, str]:
    from inventory.models import Kit

    return dict(
        Kit.objects.filter(work_order_id__in=work_order_ids)
        .exclude(state=Kit.State.CANCELLED)
        .values_list("work_order_id", "state")
    )


def dispatch_list(*, work_center: WorkCenter, limit: int = 25) -> list[DispatchRow]:
    """What to run next at a work center, in scheduled order, each with why."""
    operations = list(
        Operation.objects.filter(
            work_center=work_center,
            state__in=DISPATCH_STATES,
            work_order__state__in=[W.RELEASED, W.IN_PROGRESS],
        )
        .select_related("work_order__item", "changeover_family", "work_center")
        .order_by(
            # running and paused work first, then the schedule's sequence
            F("started_at").asc(nulls_last=True),
            F("dispatch_rank").asc(nulls_last=True),
            F("scheduled_start").asc(nulls_last=True),
            "-work_order__priority_score",
            "id",
        )[:limit]
    )
    kits = _kit_states([op.work_order_id for op in operations])
    families = {f.pk: f.code for f in ChangeoverFamily.objects.all()}
    today = timezone.localdate()
    rows: list[DispatchRow] = []
    previous_family: int | None = None
    for rank, op in enumerate(operations, start=1):
        wo = op.work_order
        why: list[str] = []
        if op.state in {O.RUNNING, O.PAUSED}:
            why.append(_("in progress"))
        elif op.scheduled_start is not None:
            why.append(
                _("scheduled %(at)s")
                % {"at": timezone.localtime(op.scheduled_start).strftime("%a %H:%M")}
            )
        if wo.due_date is not None:
            days = (wo.due_date - today).days
            why.append(
                _("promise date in %(days)s days") % {"days": days}
                if days >= 0
                else _("promise date passed %(days)s days ago") % {"days": -days}
            )
        why.extend(str(x) for x in wo.priority_explanation[1:3] if x)
        state = kits.get(wo.pk)
        material = state or _("no components")
        material_ok = state in {None, "staged", "issued"}
        if state not in {None, "staged", "issued"}:
            material = _("not staged (%(state)s)") % {"state": state}
        changeover_from = ""
        if (
            previous_family is not None
            and op.changeover_family_id
            and previous_family != op.changeover_family_id
        ):
            changeover_from = families.get(previous_family, "")
        previous_family = op.changeover_family_id or previous_family
        late = bool(
            wo.due_date and op.scheduled_end and timezone.localdate(op.scheduled_end) > wo.due_date
        )
        rows.append(
            DispatchRow(
                operation=op,
                rank=rank,
                why=why,
                material=material,
                material_ok=material_ok,
                changeover_from=changeover_from,
                changeover_minutes=op.scheduled_changeover_minutes,
                late=late,
                can_start=op.state == O.READY
                and op.quantity_remaining > 0
                and work_center.status == WorkCenter.Status.UP,
            )
        )
    return rows


def release_board(*, limit: int = 200) -> list[Any]:
    """Planned work orders with every reason each cannot be released now."""
    from .services.work_orders import release_checks

    work_orders = list(
        WorkOrder.objects.filter(state=W.PLANNED)
        .select_related("item", "sales_order_line__order__customer")
        .prefetch_related("sales_order_line__order__lines")
        .order_by("-priority_score", F("due_date").asc(nulls_last=True), "id")[:limit]
    )
    return release_checks(work_orders=work_orders)


@dataclass
class LoadCell:
    day: dt.date
    load_minutes: int
    capacity_minutes: int

    @property
    def percent(self) -> int:
        if not self.capacity_minutes:
            return 100 if self.load_minutes else 0
        return round(100 * self.load_minutes / self.capacity_minutes)


@dataclass
class LoadRow:
    work_center: WorkCenter
    cells: list[LoadCell] = field(default_factory=list)


def load_vs_capacity(*, days: int = 14, start: dt.date | None = None) -> list[LoadRow]:
    """Scheduled minutes against calendar minutes per work center and day."""
    start = start or timezone.localdate()
    tz = timezone.get_current_timezone()
    begin = dt.datetime.combine(start, dt.time(0), tzinfo=tz)
    end = begin + dt.timedelta(days=days)
    centers = list(work_centers_active())
    windows = working_windows(work_centers=centers, start=begin, end=end)
    load: dict[tuple[int, dt.date], float] = {}
    for wc_id, s, e in Operation.objects.filter(
        state__in=DISPATCH_STATES,
        scheduled_start__lt=end,
        scheduled_end__gt=begin,
        work_order__state__in=[W.RELEASED, W.IN_PROGRESS],
    ).values_list("work_center_id", "scheduled_start", "scheduled_end"):
        cursor = max(s, begin)
        while cursor < min(e, end):
            day_end = dt.datetime.combine(
                timezone.localtime(cursor).date() + dt.timedelta(days=1), dt.time(0), tzinfo=tz
            )
            piece_end = min(e, end, day_end)
            key = (wc_id, timezone.localtime(cursor).date())
            load[key] = load.get(key, 0) + (piece_end - cursor).total_seconds() / 60
            cursor = piece_end
    rows = []
    for wc in centers:
        row = LoadRow(work_center=wc)
        for offset in range(days):
            day = start + dt.timedelta(days=offset)
            day_begin = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
            day_windows = [
                (max(a, day_begin), min(b, day_begin + dt.timedelta(days=1)))
                for a, b in windows.get(wc.pk, [])
                if a < day_begin + dt.timedelta(days=1) and b > day_begin
            ]
            row.cells.append(
                LoadCell(
                    day=day,
                    load_minutes=int(load.get((wc.pk, day), 0)),
                    capacity_minutes=int(minutes_in(day_windows) * wc.capacity),
                )
            )
        rows.append(row)
    return rows


@dataclass
class GanttBar:
    label: str
    lane: str
    start: dt.datetime
    end: dt.datetime
    kind: str  # "operation", "changeover", "downtime"
    late: bool = False
    state: str = ""
    link: str = ""


def gantt(
    *,
    start: dt.datetime,
    end: dt.datetime,
    work_center: WorkCenter | None = None,
    work_order: WorkOrder | None = None,
) -> list[GanttBar]:
    """Scheduled operations (with their changeovers) and downtime in a window."""
    ops = Operation.objects.filter(
        scheduled_start__lt=end,
        scheduled_end__gt=start,
        work_order__state__in=[W.RELEASED, W.IN_PROGRESS],
    ).select_related("work_order", "work_center")
    if work_center is not None:
        ops = ops.filter(work_center=work_center)
    if work_order is not None:
        ops = ops.filter(work_order=work_order)
    bars: list[GanttBar] = []
    for op in ops.order_by("work_center__code", "scheduled_machine", "scheduled_start"):
        lane = (
            f"{op.work_center.code} #{(op.scheduled_machine or 0) + 1}"
            if work_order is None
            else op.work_center.code
        )
        wo = op.work_order
        late = bool(wo.due_date and timezone.localdate(op.scheduled_end) > wo.due_date)
        if op.scheduled_changeover_minutes:
            bars.append(
                GanttBar(
                    label=_("changeover"),
                    lane=lane,
                    start=op.scheduled_start
                    - dt.timedelta(minutes=op.scheduled_changeover_minutes),
                    end=op.scheduled_start,
                    kind="changeover",
                )
            )
        bars.append(
            GanttBar(
                label=f"{wo.number}/{op.sequence} {op.name}",
                lane=lane,
                start=op.scheduled_start,
                end=op.scheduled_end,
                kind="operation",
                late=late,
                state=op.state,
            )
        )
    downtimes = (
        Downtime.objects.filter(started_at__lt=end)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
        .select_related("work_center", "reason_code")
    )
    if work_center is not None:
        downtimes = downtimes.filter(work_center=work_center)
    elif work_order is not None:
        downtimes = downtimes.filter(work_center__operations__work_order=work_order).distinct()
    for down in downtimes:
        bars.append(
            GanttBar(
                label=_("down: %(why)s") % {"why": down.reason_code.label},
                lane=f"{down.work_center.code} #1" if work_order is None else down.work_center.code,
                start=max(down.started_at, start),
                end=min(down.ended_at or down.expected_end or end, end),
                kind="downtime",
            )
        )
    return bars


def schedule_runs(*, limit: int = 20) -> QuerySet[ScheduleRun]:
    return ScheduleRun.objects.select_related("requested_by").order_by("-started_at")[:limit]


def work_order_detail(*, pk: int) -> WorkOrder | None:
    return (
        WorkOrder.objects.select_related("item", "sales_order_line__order__customer")
        .prefetch_related(
            Prefetch(
                "operations",
                queryset=Operation.objects.select_related("work_center").order_by("sequence"),
            )
        )
        .filter(pk=pk)
        .first()
    )


def open_quantity_of(op: Operation) -> Decimal:
    return max(op.quantity_remaining, Decimal("0"))
