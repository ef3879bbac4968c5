"""The plant's schedule: released, unfinished operations become a scheduling problem
(routing precedence, shift calendars and downtime, parallel machines, material dates,
changeovers by family), solved by CP-SAT from the dispatch-rule schedule, checked by the
independent validator and written back with what changed since the last run."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from mes.core.events import event_emit

from ..calendars import working_windows
from ..models import (
    ChangeoverTime,
    Operation,
    OperationState,
    ScheduleRun,
    W,
    WorkCenter,
    WorkOrder,
)
from ..scheduling import Job, Objective, Problem, Resource, Task, solve, validate
from .work_orders import operation_minutes

logger = logging.getLogger(__name__)
O = OperationState  # noqa: E741
SCHEDULED_STATES = [O.PENDING, O.READY, O.RUNNING, O.PAUSED, O.BLOCKED]
# Picking and staging a fully reserved kit takes about this long.
KITTING_MINUTES = 60


@dataclass
class PlantProblem:
    """The problem and what maps it back to the plant's records."""

    problem: Problem
    start: dt.datetime
    horizon_minutes: int
    operations: dict[int, Operation] = field(default_factory=dict)
    work_orders: dict[int, WorkOrder] = field(default_factory=dict)
    work_centers: dict[int, WorkCenter] = field(default_factory=dict)
    running: dict[int, tuple[int, int]] = field(default_factory=dict)  # op id: (unit, end)
    summary: dict[str, Any] = field(default_factory=dict)

    def at(self, minute: int) -> dt.datetime:
        return self.start + dt.timedelta(minutes=minute)

    def minute(self, moment: dt.datetime) -> int:
        return max(0, int((moment - self.start).total_seconds() // 60))


def _remaining(op: Operation) -> Decimal:
    left = op.quantity_planned - op.quantity_good - op.quantity_scrap - op.quantity_rework
    return max(left, Decimal("0"))


def _family(op: Operation) -> str | None:
    # Families are per work center: the matrix of one center says nothing of another's.
    return f"{op.work_center_id}:{op.changeover_family_id}" if op.changeover_family_id else None


def _material_release(work_orders: list[WorkOrder], plant: PlantProblem) -> dict[int, int]:
    """Minutes from now until each work order's material can be at the line."""
    from inventory.models import ExpectedReceipt, Kit, Reservation

    ids = [wo.pk for wo in work_orders]
    staged = set(
        Kit.objects.filter(
            work_order_id__in=ids, state__in=[Kit.State.STAGED, Kit.State.ISSUED]
        ).values_list("work_order_id", flat=True)
    )
    kits = set(Kit.objects.filter(work_order_id__in=ids).values_list("work_order_id", flat=True))
    reserved_items = {
        (wo_id, item_id)
        for wo_id, item_id in Reservation.objects.filter(
            demand_type="work_order", demand_id__in=ids
        ).values_list("demand_id", "item_id")
    }
    from .work_orders import _components_by_item, _needed

    boms = _components_by_item(list({wo.item_id for wo in work_orders}))
    receipts: dict[int, dt.date] = {}
    for item_id, date in ExpectedReceipt.objects.filter(
        state=ExpectedReceipt.State.EXPECTED
    ).values_list("item_id", "expected_date"):
        receipts[item_id] = min(date, receipts.get(item_id, date))
    release: dict[int, int] = {}
    for wo in work_orders:
        if wo.pk in staged or wo.state == W.IN_PROGRESS or wo.pk not in kits:
            release[wo.pk] = 0
            continue
        missing = [
            component
            for component, _qty in _needed(boms.get(wo.item_id, []), wo.quantity)
            if (wo.pk, component.pk) not in reserved_items
        ]
        minutes = KITTING_MINUTES
        for component in missing:
            date = receipts.get(component.pk)
            if date is None:
                minutes = max(minutes, plant.horizon_minutes)
            else:
                arrival = timezone.make_aware(
                    dt.datetime.combine(date, dt.time(12)), timezone.get_current_timezone()
                )
                minutes = max(minutes, plant.minute(arrival) + KITTING_MINUTES)
        release[wo.pk] = minutes
    return release


def schedule_problem_build(
    *, now: dt.datetime | None = None, horizon_days: int | None = None
) -> PlantProblem:
    """Released, unfinished operations as a problem, in a fixed number of queries."""
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    horizon_days = horizon_days or settings.SCHEDULE_HORIZON_DAYS
    operations = list(
        Operation.objects.filter(
            state__in=SCHEDULED_STATES,
            work_order__state__in=[W.RELEASED, W.IN_PROGRESS],
        )
        .filter(Q(is_rework=False) | Q(quantity_available__gt=0))
        .select_related("work_order__item", "work_order__sales_order_line", "work_center")
        .order_by("work_order_id", "sequence")
    )
    work_centers = {wc.pk: wc for wc in WorkCenter.objects.filter(active=True)}
    work_orders = {op.work_order_id: op.work_order for op in operations}
    horizon_minutes = horizon_days * 24 * 60
    plant = PlantProblem(
        problem=Problem(tasks=[], resources=[]),
        start=now,
        horizon_minutes=horizon_minutes,
        work_orders=work_orders,
        work_centers=work_centers,
    )
    windows = working_windows(
        work_centers=list(work_centers.values()),
        start=now,
        end=now + dt.timedelta(minutes=horizon_minutes),
        now=now,
    )
    release = _material_release(list(work_orders.values()), plant)
    # What each work center is set up for: the family of its last finished operation.
    # One row per work center, not the whole history of finished operations.
    last_done = Operation.objects.filter(
        work_center=OuterRef("pk"), state=O.DONE, finished_at__isnull=False
    ).order_by("-finished_at", "-id")
    last_family: dict[int, str | None] = {
        wc_id: f"{wc_id}:{family_id}" if family_id else None
        for wc_id, family_id in WorkCenter.objects.filter(pk__in=list(work_centers))
        .annotate(family=Subquery(last_done.values("changeover_family_id")[:1]))
        .values_list("pk", "family")
    }
    running_units: dict[int, list[tuple[int, int, str | None]]] = {}
    tasks: list[Task] = []
    previous: dict[int, int] = {}  # work order: its previous scheduled task id
    busy_until: dict[int, int] = {}
    for op in operations:
        minutes = max(
            1,
            operation_minutes(op, _remaining(op))
            - (op.setup_minutes if op.state in {O.RUNNING, O.PAUSED} else 0),
        )
        if op.state == O.RUNNING:
            units = running_units.setdefault(op.work_center_id, [])
            if len(units) < op.work_center.capacity:
                unit = len(units)
                units.append((unit, minutes, _family(op)))
                plant.running[op.pk] = (unit, minutes)
                busy_until[op.work_order_id] = minutes
                plant.operations[op.pk] = op
                continue
        plant.operations[op.pk] = op
        predecessors = (previous[op.work_order_id],) if op.work_order_id in previous else ()
        tasks.append(
            Task(
                id=op.pk,
                job=op.work_order_id,
                resource=op.work_center_id,
                duration=minutes,
                family=_family(op),
                release=max(release.get(op.work_order_id, 0), busy_until.get(op.work_order_id, 0))
                if not predecessors
                else release.get(op.work_order_id, 0),
                predecessors=predecessors,
            )
        )
        if not op.is_rework:
            previous[op.work_order_id] = op.pk
    resources = []
    for wc in work_centers.values():
        free = windows.get(wc.pk, [])
        gaps: list[tuple[int, int]] = []
        cursor = 0
        for start, end in free:
            a, b = plant.minute(start), plant.minute(end)
            if a > cursor:
                gaps.append((cursor, a))
            cursor = max(cursor, b)
        if cursor < horizon_minutes:
            gaps.append((cursor, horizon_minutes))
        resources.append(
            Resource(
                id=wc.pk,
                capacity=wc.capacity,
                unavailable=tuple(gaps),
                initial_family=last_family.get(wc.pk),
                running=tuple(running_units.get(wc.pk, [])),
            )
        )
    changeover: dict[tuple[str, str], int] = {}
    families_at: dict[int, set[str]] = {}
    for task in tasks:
        if task.family:
            families_at.setdefault(task.resource, set()).add(task.family)
    for wc_id, family in last_family.items():
        if family:
            families_at.setdefault(wc_id, set()).add(family)
    for wc_id, families in families_at.items():
        default = work_centers[wc_id].default_changeover_minutes if wc_id in work_centers else 0
        for a in families:
            for b in families:
                if a != b and default:
                    changeover[(a, b)] = default
    for entry in ChangeoverTime.objects.filter(work_center_id__in=list(families_at)):
        a = f"{entry.work_center_id}:{entry.from_family_id}"
        b = f"{entry.work_center_id}:{entry.to_family_id}"
        changeover[(a, b)] = entry.minutes
    jobs = []
    for wo in work_orders.values():
        due = None
        if wo.due_date is not None:
            end_of_day = timezone.make_aware(
                dt.datetime.combine(wo.due_date, dt.time(23, 59)), timezone.get_current_timezone()
            )
            due = int((end_of_day - now).total_seconds() // 60)
        jobs.append(Job(id=wo.pk, due=due, weight=1 + int(wo.priority_score // 10)))
    plant.problem = Problem(
        tasks=tasks,
        resources=resources,
        jobs=jobs,
        changeover=changeover,
        objective=Objective(mode="lexicographic"),
        name=f"plant {now:%Y-%m-%d %H:%M}",
    )
    plant.summary = {
        "operations": len(tasks),
        "running": len(plant.running),
        "work_orders": len(work_orders),
        "work_centers": len(work_centers),
        "down": sorted(wc.code for wc in work_centers.values() if wc.status == "down"),
        "horizon_days": horizon_days,
        "start": now.isoformat(),
    }
    return plant


def _hint(plant: PlantProblem) -> dict[Any, Any]:
    from ..scheduling import Assignment

    hint = {}
    for task in plant.problem.tasks:
        op = plant.operations[task.id]
        if op.scheduled_start is not None and op.scheduled_machine is not None:
            start = plant.minute(op.scheduled_start)
            hint[task.id] = Assignment(task.id, start, start + task.duration, op.scheduled_machine)
    return hint


def schedule_run(*, trigger: str, user: Any = None, time_limit: float | None = None) -> ScheduleRun:
    """Schedule the plant now and store the run; the previous schedule is the hint."""
    stale = timezone.now() - dt.timedelta(minutes=10)
    run = ScheduleRun.objects.create(
        trigger=trigger[:120], requested_by=user if getattr(user, "pk", None) else None
    )
    try:
        plant = schedule_problem_build()
        time_limit = settings.SCHEDULE_TIME_LIMIT_SECONDS if time_limit is None else time_limit
        result = solve(plant.problem, time_limit=time_limit, hint=_hint(plant) or None)
        violations = validate(plant.problem, result)
        if violations:
            raise RuntimeError("; ".join(violations[:5]))
        with transaction.atomic():
            changes = _write_back(plant, result)
            ScheduleRun.objects.filter(pk=run.pk).update(
                finished_at=timezone.now(),
                status=ScheduleRun.Status.DONE,
                engine=result.engine + (" (fallback)" if result.fallback else ""),
                solver_status=result.status,
                solve_seconds=round(result.solve_seconds, 3),
                inputs=plant.summary,
                objective={
                    "weighted_tardiness_minutes": result.weighted_tardiness,
                    "changeover_minutes": result.changeover_time,
                    "makespan_minutes": result.makespan,
                },
                changes=changes,
            )
            _announce_promises_at_risk(plant, result, changes)
    except Exception as exc:  # noqa: BLE001 - the run records why; the last schedule stays
        logger.exception("schedule run %s failed", run.pk)
        ScheduleRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now(),
            status=ScheduleRun.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
    ScheduleRun.objects.filter(status=ScheduleRun.Status.RUNNING, started_at__lt=stale).update(
        status=ScheduleRun.Status.FAILED, error="did not finish"
    )
    run.refresh_from_db()
    return run


def _write_back(plant: PlantProblem, result: Any) -> dict[str, Any]:
    """Scheduled times, machines and dispatch ranks; what moved versus the last run."""
    moved: list[dict[str, Any]] = []
    by_center: dict[int, list[tuple[int, int]]] = {}
    updates: list[Operation] = []
    changeover_before: dict[int, int] = {}
    for key, assignment in result.assignments.items():
        task = plant.problem.task_by_id[key]
        by_center.setdefault(task.resource, []).append((assignment.start, key))
    rank_of: dict[Any, int] = {}
    for wc_id, rows in by_center.items():
        rows.sort()
        rank_of.update({key: rank for rank, (_start, key) in enumerate(rows, start=1)})
        for unit in range(plant.problem.resource_by_id[wc_id].capacity):
            family = plant.problem.resource_by_id[wc_id].start_state(unit)[1]
            for a in result.sequence(wc_id, unit, plant.problem):
                nxt = plant.problem.task_by_id[a.task].family
                changeover_before[a.task] = plant.problem.setup(family, nxt)
                family = nxt
    late_before = _late_work_orders(plant.work_orders.values())
    for op_id, op in plant.operations.items():
        if op_id in plant.running:
            unit, end = plant.running[op_id]
            start_at, end_at, machine, rank = op.started_at or plant.start, plant.at(end), unit, 0
            changeover = 0
        else:
            a = result.assignments[op_id]
            start_at, end_at, machine = plant.at(a.start), plant.at(a.end), a.unit
            rank = rank_of[op_id]
            changeover = changeover_before.get(op_id, 0)
        if (
            op.scheduled_start is not None
            and abs((op.scheduled_start - start_at).total_seconds()) >= 60
        ):
            moved.append(
                {
                    "operation": str(op),
                    "work_center": op.work_center.code,
                    "from": op.scheduled_start.isoformat(),
                    "to": start_at.isoformat(),
                    "minutes": int((start_at - op.scheduled_start).total_seconds() // 60),
                }
            )
        op.scheduled_start, op.scheduled_end, op.scheduled_machine = start_at, end_at, machine
        op.dispatch_rank, op.scheduled_changeover_minutes = rank, changeover
        updates.append(op)
    Operation.objects.bulk_update(
        updates,
        [
            "scheduled_start",
            "scheduled_end",
            "scheduled_machine",
            "dispatch_rank",
            "scheduled_changeover_minutes",
        ],
        batch_size=500,
    )
    wo_span: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    for op in updates:
        lo, hi = wo_span.get(op.work_order_id, (op.scheduled_start, op.scheduled_end))
        wo_span[op.work_order_id] = (min(lo, op.scheduled_start), max(hi, op.scheduled_end))
    work_orders = []
    for wo_id, (lo, hi) in wo_span.items():
        wo = plant.work_orders[wo_id]
        wo.scheduled_start, wo.scheduled_end = lo, hi
        work_orders.append(wo)
    WorkOrder.objects.bulk_update(work_orders, ["scheduled_start", "scheduled_end"], batch_size=500)
    late_after = _late_work_orders(plant.work_orders.values())
    moved.sort(key=lambda m: -abs(m["minutes"]))
    return {
        "moved_operations": len(moved),
        "moved": moved[:50],
        "newly_late": sorted(late_after - late_before),
        "no_longer_late": sorted(late_before - late_after),
        "late": sorted(late_after),
    }


def _late_work_orders(work_orders: Any) -> set[str]:
    late = set()
    for wo in work_orders:
        if wo.due_date and wo.scheduled_end and timezone.localdate(wo.scheduled_end) > wo.due_date:
            late.add(wo.number)
    return late


def _announce_promises_at_risk(plant: PlantProblem, result: Any, changes: dict[str, Any]) -> None:
    """A run that pushes a make-to-order line past its promise date says so, once."""
    newly = set(changes["newly_late"])
    for wo in plant.work_orders.values():
        if wo.number not in newly or wo.sales_order_line_id is None:
            continue
        line = wo.sales_order_line
        order = line.order
        event_emit(
            type="order.promise_at_risk",
            subject=order,
            payload={
                "order": order.number,
                "line": line.line_no,
                "promise_date": line.promise_date.isoformat() if line.promise_date else "",
                "expected_date": timezone.localdate(wo.scheduled_end).isoformat(),
                "work_order": wo.number,
                "days_late": (timezone.localdate(wo.scheduled_end) - wo.due_date).days,
            },
        )
