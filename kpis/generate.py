"""Backdated plant history for the KPIs: what a plant that has run for a while leaves in
its records, written in bulk (COPY on Postgres) instead of through the services, so a
benchmark can have a million transition rows in a few minutes and the demo two months of
trends in seconds.

The history is consistent the way the services would have left it:

- sales orders confirmed, put in production when their first work order is released,
  ready to ship when the last is completed, shipped (some in two parts) and closed;
- work orders released, in progress from their first operation start, completed at the
  last operation's end; operations made ready, started after a queue, paused at the end
  of a shift or when the work center goes down and resumed in the next shift, done, with
  their scheduled start and end (some finish late), changeovers between families, a
  report with good, scrap and rework quantities and reasons, and the labour clocked
  (some past the shift's end: overtime); a rework step runs only when rework was sent
  to it, and is cancelled otherwise;
- shipments picked, packed, documented and handed over at the carrier's pick-up (some
  after the promise date, some partial), some delivered; refused scans at picking
  (mis-picks) and at the dock (incorrect dispatch) counted on the shipment;
- downtime with its reason while an operation ran; exceptions raised by the default
  rules (material short at release, work center down, promise at risk, mis-pick),
  escalated when nobody acknowledged them within the SLA, acknowledged, worked and
  resolved, with their owner role and assignee;
- expedite flags and priority bumps (governed-field changes), date change requests
  approved by a second planner and applied.

Every state change has its transition-history row (content type, object, from, to,
when, who, reason) and each record's final state is the last row's `to_state`. Times
follow the work centers' shift calendars, office hours for planners and the dock's
hours for shipping. Nothing is written to the stock ledger (no moves, no balances, no
reservations), no events are emitted and every exception is resolved, so the ledger
check stays clean and no board fills with stale work.

Ids are taken after the highest existing ones and numbers follow them as the services
number records (WO-000123), so run it while nobody else writes these tables.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import EmptyResultSet
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from exceptions.models import DecisionRule, ExceptionEvent, PlantException
from inventory.models import Item, ScanRefusal
from mes.core import roles
from mes.core.bulk import foreign_key_checks_skip
from mes.core.models import FieldChange, ReasonCode, TransitionLog
from orders.models import ChangeRequest, Customer, SalesOrder, SalesOrderLine, ShipToAddress
from planning.models import (
    ChangeoverFamily,
    ChangeoverTime,
    Downtime,
    LabourEntry,
    Operation,
    OperationReport,
    Routing,
    RoutingOperation,
    Shift,
    WorkCenter,
    WorkOrder,
)
from shipping.models import Carrier, Shipment, ShipmentLine

# Reason codes the history uses besides the defaults (code, label, description).
# Marks what the generator wrote (order lines' promise basis, work orders' and shipments'
# notes), so it is told apart from the plant's own records.
GENERATED = "generated history"

HISTORY_REASONS = [
    ("dimension-out", "Out of tolerance", "A measured dimension outside its tolerance."),
    ("surface-defect", "Surface defect", "Scratches, dents, porosity or poor finish."),
    ("setup-scrap", "Setup piece", "Parts used up while setting up the machine."),
    ("burr", "Burrs", "Burrs or sharp edges left after machining or cutting."),
    ("weld-defect", "Weld seam defect", "A weld seam to repair (porosity, undercut, size)."),
    ("breakdown", "Machine breakdown", "The machine stopped on a fault."),
    ("tool-change", "Unplanned tool change", "A broken or worn tool had to be replaced."),
    ("no-operator", "No operator", "Nobody qualified was free to run the machine."),
    ("shift-end", "End of shift", "The shift ended before the operation was done."),
]
SCRAP_REASONS = [
    "dimension-out",
    "surface-defect",
    "setup-scrap",
    "process-scrap",
    "supplier-defect",
]
SCRAP_WEIGHTS = [34, 22, 18, 16, 10]
REWORK_REASONS = ["weld-defect", "burr", "dimension-out", "surface-defect"]
REWORK_WEIGHTS = [40, 30, 20, 10]
DOWNTIME_REASONS = ["breakdown", "tool-change", "material", "no-operator", "quality"]
DOWNTIME_WEIGHTS = [38, 26, 18, 10, 8]
RESOLUTIONS = [
    ("fixed", "Cause removed; work goes on as planned."),
    ("workaround", "Worked around it; the cause is followed up separately."),
    ("no-action-needed", "Checked with the team: nothing had to be done."),
]
EXCEPTION_POINTS = [
    "material.shortage",
    "workcenter.down",
    "order.promise_at_risk",
    "pick.mismatch",
]

OFFICE = [(d, dt.time(7), dt.time(17)) for d in range(5)]
DOCK = [(d, dt.time(6), dt.time(22)) for d in range(5)]
TWO_SHIFTS = [(dt.time(6), dt.time(14)), (dt.time(14), dt.time(22))]
PICKUPS = (dt.time(10), dt.time(15))
BATCH = 20_000


# --- the plant's calendars -------------------------------------------------------------


class Calendar:
    """Weekly working intervals (a work center's shifts, office or dock hours) and the
    days the plant is closed; shifts that end after midnight continue the next day."""

    def __init__(
        self, shifts: Iterable[tuple[int, dt.time, dt.time]], closed: Iterable[dt.date] = ()
    ) -> None:
        week: dict[int, list[tuple[int, int]]] = {d: [] for d in range(7)}
        for weekday, start, end in shifts:
            a, b = start.hour * 60 + start.minute, end.hour * 60 + end.minute
            if b <= a:
                week[weekday].append((a, 1440))
                week[(weekday + 1) % 7].append((0, b))
            else:
                week[weekday].append((a, b))
        for day, spans in week.items():
            merged: list[tuple[int, int]] = []
            for a, b in sorted(spans):
                if merged and a <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
                else:
                    merged.append((a, b))
            week[day] = merged
        if not any(week.values()):
            raise ValueError("a calendar needs at least one working interval")
        self.week = week
        self.closed = frozenset(closed)

    def intervals(self, t: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Working time from `t` on, contiguous intervals merged (across midnight too)."""
        midnight = dt.datetime.combine(t.date(), dt.time.min)
        current: tuple[dt.datetime, dt.datetime] | None = None
        for offset in range(400):
            base = midnight + dt.timedelta(days=offset)
            if base.date() in self.closed:
                continue
            for a, b in self.week[base.weekday()]:
                end = base + dt.timedelta(minutes=b)
                if end <= t:
                    continue
                start = max(base + dt.timedelta(minutes=a), t)
                if current is not None and current[1] == start:
                    current = (current[0], end)
                    continue
                if current is not None:
                    yield current
                current = (start, end)
        if current is not None:
            yield current

    def next_working(self, t: dt.datetime) -> dt.datetime:
        return next(self.intervals(t))[0]

    def run(self, t: dt.datetime, minutes: float) -> list[tuple[dt.datetime, dt.datetime]]:
        """The working segments `minutes` of work started at `t` takes (a gap between
        two segments is time off: a night, a weekend)."""
        left = max(1, round(minutes * 60))  # seconds
        segments = []
        for a, b in self.intervals(t):
            span = int((b - a).total_seconds())
            if span >= left:
                segments.append((a, a + dt.timedelta(seconds=left)))
                return segments
            segments.append((a, b))
            left -= span
        raise ValueError("the calendar has no working time left")

    def after(self, t: dt.datetime, minutes: float) -> dt.datetime:
        """The moment `minutes` of working time after `t`."""
        if minutes <= 0:
            return self.next_working(t)
        return self.run(t, minutes)[-1][1]


# --- what the history is made from -----------------------------------------------------


@dataclass(frozen=True)
class Step:
    sequence: int
    name: str
    work_center: int
    setup: int
    run_per_unit: float
    family: int | None
    quality_check: str
    is_rework: bool


@dataclass(frozen=True)
class CenterInfo:
    id: int
    code: str
    capacity: int
    default_changeover: int
    refuse_wrong_routing: bool
    changeovers: dict[int | None, int]  # to-family -> the longest changeover into it


@dataclass(frozen=True)
class RuleInfo:
    id: int
    owner_role: int
    severity: str
    sla_minutes: int
    title: str


@dataclass
class HistoryPlant:
    """The master data a history is generated on."""

    centers: dict[int, CenterInfo]
    calendars: dict[int, Calendar]
    routings: dict[int, list[Step]]  # made item -> its steps
    skus: dict[int, str]
    buy_items: list[int]
    customers: list[tuple[int, int | None]]  # (customer, default ship-to)
    users: dict[str, list[int]]  # planner, floor_lead, operator, shipping, warehouse
    rules: dict[str, RuleInfo]
    reasons: dict[str, int]  # code -> id
    reason_labels: dict[int, str]
    carriers: list[tuple[int, str]]
    centers_by_code: dict[str, int] = field(default_factory=dict)


def reasons_ensure() -> dict[str, int]:
    """The history's reason codes (created when missing, never reactivated)."""
    for code, label, description in HISTORY_REASONS:
        ReasonCode.objects.get_or_create(
            code=code, defaults={"label": label, "description": description}
        )
    return dict(ReasonCode.objects.values_list("code", "pk"))


def plant_load(
    *,
    items: Sequence[Item] | None = None,
    customers: Sequence[Customer] | None = None,
    users: dict[str, Sequence[Any]] | None = None,
) -> HistoryPlant:
    """The plant as it is in the database: made items with routings (all, or `items`),
    their work centers' shifts and plant holidays, customers, users by role, the default
    rules and carriers (one is created when there is none)."""
    item_qs = Item.objects.filter(routing__isnull=False)
    if items is not None:
        item_qs = item_qs.filter(pk__in=[i.pk for i in items])
    routings: dict[int, list[Step]] = {}
    skus: dict[int, str] = {}
    steps = RoutingOperation.objects.filter(routing__item__in=item_qs).order_by(
        "routing__item_id", "sequence"
    )
    for ro in steps.values(
        "routing__item_id",
        "routing__item__sku",
        "sequence",
        "name",
        "work_center_id",
        "setup_minutes",
        "run_minutes_per_unit",
        "changeover_family_id",
        "quality_check",
        "is_rework",
    ):
        item_id = ro["routing__item_id"]
        skus[item_id] = ro["routing__item__sku"]
        routings.setdefault(item_id, []).append(
            Step(
                ro["sequence"],
                ro["name"],
                ro["work_center_id"],
                ro["setup_minutes"],
                float(ro["run_minutes_per_unit"]),
                ro["changeover_family_id"],
                ro["quality_check"],
                ro["is_rework"],
            )
        )
    routings = {k: v for k, v in routings.items() if any(not s.is_rework for s in v)}
    if not routings:
        raise ValueError("no made item with a routing to generate history for")
    center_ids = {s.work_center for steps_ in routings.values() for s in steps_}
    buy = Item.objects.filter(source=Item.Source.BUY, active=True)
    if items is not None:
        buy = buy.filter(pk__in=[i.pk for i in items])
    for pk, sku in buy.values_list("pk", "sku"):
        skus[pk] = sku
    customer_qs = Customer.objects.filter(active=True)
    if customers is not None:
        customer_qs = customer_qs.filter(pk__in=[c.pk for c in customers])
    ship_tos = dict(ShipToAddress.objects.filter(is_default=True).values_list("customer_id", "pk"))
    customer_rows = [(pk, ship_tos.get(pk)) for pk in customer_qs.values_list("pk", flat=True)]
    if not customer_rows:
        raise ValueError("no customer to generate history for")
    by_role = users or _users_by_role()
    user_ids = {role: [u.pk for u in people] for role, people in by_role.items()}
    if not user_ids.get("planner") or not user_ids.get("operator"):
        raise ValueError("the history needs at least one planner and one operator")
    for role, fallback in [
        ("floor_lead", "planner"),
        ("shipping", "planner"),
        ("warehouse", "shipping"),
    ]:
        user_ids[role] = user_ids.get(role) or user_ids[fallback]
    carriers = list(Carrier.objects.filter(active=True).values_list("pk", "code"))
    if not carriers:
        carrier = Carrier.objects.get_or_create(
            code="own-truck", defaults={"name": "Own truck", "service_levels": ["standard"]}
        )[0]
        carriers = [(carrier.pk, carrier.code)]
    reasons = reasons_ensure()
    return HistoryPlant(
        centers=_centers(center_ids),
        calendars=_calendars(center_ids),
        routings=routings,
        skus=skus,
        buy_items=list(buy.values_list("pk", flat=True)),
        customers=customer_rows,
        users=user_ids,
        rules=_rules(),
        reasons=reasons,
        reason_labels=dict(ReasonCode.objects.values_list("pk", "label")),
        carriers=carriers,
        centers_by_code={
            code: pk
            for pk, code in WorkCenter.objects.filter(pk__in=center_ids).values_list("pk", "code")
        },
    )


ROLE_KEYS = {
    "planner": roles.PLANNER,
    "floor_lead": roles.FLOOR_LEAD,
    "operator": roles.OPERATOR,
    "shipping": roles.SHIPPING,
    "warehouse": roles.WAREHOUSE,
}


def _users_by_role() -> dict[str, list[Any]]:
    user_model = get_user_model()
    return {
        key: list(user_model.objects.filter(groups__name=name, is_active=True).order_by("pk"))
        for key, name in ROLE_KEYS.items()
    }


def _centers(ids: Iterable[int]) -> dict[int, CenterInfo]:
    into: dict[int, dict[int | None, int]] = {}
    for wc, to_family, minutes in ChangeoverTime.objects.filter(work_center__in=ids).values_list(
        "work_center_id", "to_family_id", "minutes"
    ):
        family = into.setdefault(wc, {})
        family[to_family] = max(minutes, family.get(to_family, 0))
    return {
        wc.pk: CenterInfo(
            wc.pk,
            wc.code,
            wc.capacity,
            wc.default_changeover_minutes,
            wc.refuse_wrong_routing,
            into.get(wc.pk, {}),
        )
        for wc in WorkCenter.objects.filter(pk__in=ids)
    }


def _calendars(ids: Iterable[int]) -> dict[int, Calendar]:
    from planning.models import CalendarException

    shifts: dict[int, list[tuple[int, dt.time, dt.time]]] = {}
    for wc, weekday, start, end in Shift.objects.filter(work_center__in=ids).values_list(
        "work_center_id", "weekday", "start", "end"
    ):
        shifts.setdefault(wc, []).append((weekday, start, end))
    closed: dict[int | None, set[dt.date]] = {}
    for wc, day in CalendarException.objects.filter(
        kind=CalendarException.Kind.CLOSED, start__isnull=True
    ).values_list("work_center_id", "date"):
        closed.setdefault(wc, set()).add(day)
    plant_closed = closed.get(None, set())
    default = [(d, a, b) for d in range(5) for a, b in TWO_SHIFTS]
    return {
        wc: Calendar(shifts.get(wc) or default, plant_closed | closed.get(wc, set())) for wc in ids
    }


def _rules() -> dict[str, RuleInfo]:
    found: dict[str, RuleInfo] = {}
    rules = DecisionRule.objects.filter(
        active=True,
        effect=DecisionRule.Effect.RAISE_EXCEPTION,
        decision_point__in=EXCEPTION_POINTS,
        owner_role__isnull=False,
    ).order_by("decision_point", "-order", "id")  # the catch-all rule after the narrow one
    for rule in rules:
        found[rule.decision_point] = RuleInfo(
            rule.pk,
            rule.owner_role_id,
            rule.severity,
            rule.sla_minutes or 60,
            rule.title_template or rule.name,
        )
    return found


# --- a generated plant (for benchmarks) ------------------------------------------------

STAGES = ["Saw", "Turn", "Mill", "Drill", "Weld", "Grind", "Paint", "Wash", "Assemble", "Pack"]
FAMILIES = ["steel", "stainless", "alu", "cast", "brass", "coated"]


def plant_create(
    *, prefix: str, seed: int = 0, work_centers: int = 12, items: int = 240, customers: int = 60,
    operations_per_work_order: float = 2.0,
) -> HistoryPlant:  # fmt: skip
    """Master data for a history of its own, every code starting with `prefix`: work
    centers on two shifts (some with a night shift), changeover families and times, made
    items whose routings have `operations_per_work_order` steps on average (some with a
    rework step), bought items, customers, and users in each role."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    p = prefix.upper()
    with transaction.atomic():
        families = ChangeoverFamily.objects.bulk_create(
            ChangeoverFamily(code=f"{p.lower()}-{name}", name=f"{p} {name}") for name in FAMILIES
        )
        centers = WorkCenter.objects.bulk_create(
            WorkCenter(
                code=f"{p}-{STAGES[i % len(STAGES)].upper()}{i // len(STAGES) + 1}",
                name=f"{STAGES[i % len(STAGES)]} {i // len(STAGES) + 1}",
                capacity=rng.choice([1, 1, 2, 2, 3]),
                default_changeover_minutes=rng.choice([10, 15, 20, 30]),
                refuse_wrong_routing=rng.random() < 0.7,
            )
            for i in range(work_centers)
        )
        shifts = []
        for wc in centers:
            night = rng.random() < 0.25
            for weekday in range(5):
                shifts += [Shift(work_center=wc, weekday=weekday, name=f"S{n + 1}", start=a,
                                 end=b) for n, (a, b) in enumerate(TWO_SHIFTS)]  # fmt: skip
                if night:
                    shifts.append(
                        Shift(
                            work_center=wc,
                            weekday=weekday,
                            name="Night",
                            start=dt.time(22),
                            end=dt.time(6),
                        )  # fmt: skip
                    )
        Shift.objects.bulk_create(shifts)
        ChangeoverTime.objects.bulk_create(
            ChangeoverTime(work_center=wc, from_family=a, to_family=b,
                           minutes=rng.randint(20, 45) if i < j else rng.randint(40, 90))
            for wc in centers
            for i, a in enumerate(families)
            for j, b in enumerate(families)
            if a != b
        )  # fmt: skip
        made = Item.objects.bulk_create(
            Item(sku=f"{p}-M{n:04d}", name=f"Part {n} ({FAMILIES[n % len(FAMILIES)]})",
                 source=Item.Source.MAKE, lead_time_days=rng.randint(5, 20))
            for n in range(items)
        )  # fmt: skip
        Item.objects.bulk_create(
            Item(sku=f"{p}-B{n:04d}", name=f"Bought part {n}", source=Item.Source.BUY,
                 lead_time_days=rng.randint(3, 15))
            for n in range(max(1, items // 6))
        )  # fmt: skip
        routings = Routing.objects.bulk_create(Routing(item=item) for item in made)
        steps = []
        for n, routing in enumerate(routings):
            family = families[n % len(families)]
            length = max(
                1, min(work_centers, round(rng.expovariate(1 / operations_per_work_order)))
            )
            length = min(length, 6)
            visits = sorted(rng.sample(range(work_centers), length))
            for k, w in enumerate(visits):
                steps.append(
                    RoutingOperation(
                        routing=routing, sequence=10 * (k + 1), name=centers[w].name,
                        work_center=centers[w], setup_minutes=rng.choice([10, 15, 20, 30]),
                        run_minutes_per_unit=Decimal(rng.choice(["0.5", "1", "1.5", "2", "3"])),
                        changeover_family=family,
                    )
                )  # fmt: skip
                if STAGES[w % len(STAGES)] in {"Weld", "Grind", "Mill"} and rng.random() < 0.5:
                    steps.append(
                        RoutingOperation(
                            routing=routing, sequence=10 * (k + 1) + 5,
                            name=f"Rework after {centers[w].name}", work_center=centers[w],
                            setup_minutes=5, run_minutes_per_unit=Decimal("2"),
                            changeover_family=family, is_rework=True,
                        )
                    )  # fmt: skip
        RoutingOperation.objects.bulk_create(steps)
        made_customers = Customer.objects.bulk_create(
            Customer(code=f"{p}-C{n:03d}", name=f"{p} customer {n}",
                     priority_class=rng.choice("AABBBBBCCC"))
            for n in range(customers)
        )  # fmt: skip
        ShipToAddress.objects.bulk_create(
            ShipToAddress(customer=c, label="Main plant", street="Industriestr. 1",
                          city="Augsburg", postal_code="86150", is_default=True)
            for c in made_customers
        )  # fmt: skip
        Carrier.objects.get_or_create(
            code=f"{p.lower()}-truck",
            defaults={"name": f"{p} truck", "service_levels": ["standard"]},
        )
        users = _users_create(p)
    return plant_load(
        items=list(Item.objects.filter(sku__startswith=f"{p}-")),
        customers=made_customers,
        users=users,
    )


def _users_create(p: str) -> dict[str, list[Any]]:
    user_model = get_user_model()
    counts = {"planner": 3, "floor_lead": 2, "operator": 16, "shipping": 3, "warehouse": 2}
    made: dict[str, list[Any]] = {}
    for key, count in counts.items():
        group = Group.objects.get(name=ROLE_KEYS[key])
        made[key] = []
        for n in range(1, count + 1):
            username = f"{p.lower()}-{key.replace('_', '')}{n}"
            user, created = user_model.objects.get_or_create(
                username=username, defaults={"first_name": p, "last_name": f"{key} {n}"}
            )
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
                user.groups.add(group)
            made[key].append(user)
    return made


def history_clear(*, prefix: str) -> None:
    """Remove a plant made by `plant_create(prefix=...)` and its history, with set-based
    deletes (a million history rows would take Django's cascade collector ages)."""
    p = prefix.upper()
    wo = WorkOrder.objects.filter(item__sku__startswith=f"{p}-")
    ops = Operation.objects.filter(work_order__in=wo)
    orders = SalesOrder.objects.filter(customer__code__startswith=f"{p}-")
    lines = SalesOrderLine.objects.filter(order__in=orders)
    shipments = Shipment.objects.filter(customer__code__startswith=f"{p}-")
    centers = WorkCenter.objects.filter(code__startswith=f"{p}-")
    crs = ChangeRequest.objects.filter(order__in=orders)
    subjects = [
        (SalesOrder, orders),
        (SalesOrderLine, lines),
        (WorkOrder, wo),
        (Operation, ops),
        (Shipment, shipments),
        (ChangeRequest, crs),
        (WorkCenter, centers),
    ]
    with transaction.atomic():
        exceptions = PlantException.objects.none()
        for model, qs in subjects:
            ct = ContentType.objects.get_for_model(model)
            ids = qs.values("pk")
            exceptions = exceptions | PlantException.objects.filter(
                content_type=ct, object_id__in=ids
            )
        exception_ids = list(exceptions.values_list("pk", flat=True))
        raised = PlantException.objects.filter(pk__in=exception_ids)
        for model, qs in [*subjects, (PlantException, raised)]:
            ct = ContentType.objects.get_for_model(model)
            _delete(TransitionLog.objects.filter(content_type=ct, object_id__in=qs.values("pk")))
            _delete(FieldChange.objects.filter(content_type=ct, object_id__in=qs.values("pk")))
        from exceptions.models import Notification, Task

        _delete(Task.objects.filter(exception_id__in=exception_ids))
        _delete(Notification.objects.filter(exception_id__in=exception_ids))
        _delete(ExceptionEvent.objects.filter(exception_id__in=exception_ids))
        _delete(PlantException.objects.filter(pk__in=exception_ids))
        _delete(
            ScanRefusal.objects.filter(
                document_type="shipment", document_id__in=shipments.values("pk")
            )
        )
        _delete(LabourEntry.objects.filter(operation__in=ops))
        _delete(OperationReport.objects.filter(operation__in=ops))
        _delete(ops)
        _delete(wo)
        _delete(Downtime.objects.filter(work_center__in=centers))
        _delete(ShipmentLine.objects.filter(shipment__in=shipments))
        _delete(shipments)
        _delete(crs)
        _delete(lines)
        _delete(orders)
        RoutingOperation.objects.filter(routing__item__sku__startswith=f"{p}-").delete()
        Routing.objects.filter(item__sku__startswith=f"{p}-").delete()
        Item.objects.filter(sku__startswith=f"{p}-").delete()
        Shift.objects.filter(work_center__in=centers).delete()
        ChangeoverTime.objects.filter(work_center__in=centers).delete()
        centers.delete()
        ChangeoverFamily.objects.filter(code__startswith=f"{p.lower()}-").delete()
        ShipToAddress.objects.filter(customer__code__startswith=f"{p}-").delete()
        Customer.objects.filter(code__startswith=f"{p}-").delete()


def _delete(qs: models.QuerySet) -> None:
    """DELETE ... WHERE id IN (the queryset), in one statement, without cascades."""
    table = connection.ops.quote_name(qs.model._meta.db_table)
    try:
        sql, params = qs.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id IN ({sql})", params)  # noqa: S608


# --- writing ---------------------------------------------------------------------------


class _Table:
    """Rows for one model, in `columns` order; every other column gets its default."""

    def __init__(self, model: type[models.Model], columns: Sequence[str]) -> None:
        self.model = model
        self.columns = list(columns)
        extra: list[tuple[str, Any]] = []
        for f in model._meta.concrete_fields:
            if f.column in self.columns or f.primary_key:
                continue
            value = f.get_default()
            if value is None and not f.null:
                raise ValueError(f"{model.__name__}.{f.name} needs a value")
            if isinstance(f, models.JSONField):
                value = json.dumps(value)
            extra.append((f.column, value))
        self.all_columns = self.columns + [column for column, _ in extra]
        self.extra = tuple(value for _, value in extra)
        self.rows: list[tuple[Any, ...]] = []

    def write(self) -> int:
        rows, self.rows = self.rows, []
        if not rows:
            return 0
        q = connection.ops.quote_name
        table = q(self.model._meta.db_table)
        names = ", ".join(q(c) for c in self.all_columns)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row + self.extra)
            else:
                adapt = connection.ops.adapt_datetimefield_value
                marks = ", ".join(["%s"] * len(self.all_columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})",  # noqa: S608
                    [
                        tuple(adapt(v) if isinstance(v, dt.datetime) else v for v in row)
                        + self.extra
                        for row in rows
                    ],
                )
        return len(rows)


def _tables() -> dict[str, _Table]:
    return {
        "order": _Table(SalesOrder, ["id", "number", "customer_id", "ship_to_id", "customer_po",
                                     "state", "priority", "created_by_id", "created_at",
                                     "updated_at", "confirmed_at"]),
        "line": _Table(SalesOrderLine, ["id", "order_id", "line_no", "item_id", "quantity",
                                        "shipped_quantity", "requested_date", "promise_date",
                                        "promise_basis"]),
        "work_order": _Table(WorkOrder, ["id", "number", "kind", "item_id", "quantity",
                                         "quantity_good", "quantity_scrap", "sales_order_line_id",
                                         "due_date", "state", "expedite", "scheduled_start",
                                         "scheduled_end", "released_at", "started_at",
                                         "completed_at", "created_by_id", "created_at",
                                         "updated_at", "notes"]),
        "operation": _Table(Operation, ["id", "work_order_id", "sequence", "name",
                                        "work_center_id", "changeover_family_id", "setup_minutes",
                                        "run_minutes_per_unit", "quality_check", "is_rework",
                                        "quantity_planned", "quantity_available", "quantity_good",
                                        "quantity_scrap", "quantity_rework", "state",
                                        "scheduled_start", "scheduled_end", "scheduled_machine",
                                        "scheduled_changeover_minutes", "started_at",
                                        "finished_at"]),
        "report": _Table(OperationReport, ["operation_id", "operator_id", "work_center_id",
                                           "quantity_good", "quantity_scrap", "quantity_rework",
                                           "scrap_reason_id", "rework_reason_id", "wrong_routing",
                                           "note", "at"]),
        "labour": _Table(LabourEntry, ["operation_id", "operator_id", "clock_on", "clock_off",
                                       "minutes", "overtime_minutes"]),
        "downtime": _Table(Downtime, ["work_center_id", "reason_code_id", "note", "started_at",
                                      "ended_at", "reported_by_id", "ended_by_id"]),
        "shipment": _Table(Shipment, ["id", "number", "customer_id", "ship_to_id", "state",
                                      "planned_ship_date", "carrier_id", "service_level",
                                      "tracking_number", "handed_over_at", "delivered_at",
                                      "mispicks", "incorrect_dispatches", "created_by_id",
                                      "created_at", "updated_at", "notes"]),
        "shipment_line": _Table(ShipmentLine, ["shipment_id", "sales_order_line_id", "item_id",
                                               "quantity", "quantity_picked", "quantity_shipped"]),
        "refusal": _Table(ScanRefusal, ["kind", "document_type", "document_id", "document_ref",
                                        "expected", "scanned", "message", "actor_id", "at"]),
        "change_request": _Table(ChangeRequest, ["id", "number", "order_id", "line_id", "kind",
                                                 "new_date", "old_value", "reason_code_id",
                                                 "reason_text", "state", "needs_approval",
                                                 "requested_by_id", "requested_at",
                                                 "decided_by_id", "decided_at", "decision_note",
                                                 "applied_at"]),
        "exception": _Table(PlantException, ["id", "number", "title", "rule_id",
                                             "content_type_id", "object_id", "subject_repr",
                                             "severity", "owner_role_id", "assignee_id", "state",
                                             "escalation_level", "sla_due_at", "sla_breached_at",
                                             "occurrences", "first_seen_at", "last_seen_at",
                                             "acknowledged_at", "resolved_at",
                                             "resolution_code_id", "resolution_note"]),
        "exception_event": _Table(ExceptionEvent, ["exception_id", "event_id", "event_type",
                                                   "occurred_at"]),
        "field_change": _Table(FieldChange, ["content_type_id", "object_id", "object_repr",
                                             "field", "old_value", "new_value", "actor_id", "at",
                                             "reason_code_id", "reason_text"]),
        "log": _Table(TransitionLog, ["content_type_id", "object_id", "object_repr", "transition",
                                      "from_state", "to_state", "actor_id", "at",
                                      "reason_code_id", "comment"]),
    }  # fmt: skip


NUMBERED = {
    "order": (SalesOrder, "SO"),
    "line": (SalesOrderLine, ""),
    "work_order": (WorkOrder, "WO"),
    "operation": (Operation, ""),
    "shipment": (Shipment, "SHP"),
    "change_request": (ChangeRequest, "CR"),
    "exception": (PlantException, "EX"),
}


# --- the generator ---------------------------------------------------------------------


def _q(n: float) -> Decimal:
    return Decimal(int(n))


class _History:
    """Generates orders, work orders and everything that follows from them into rows."""

    def __init__(
        self, plant: HistoryPlant, rng: random.Random, now: dt.datetime, rare: float = 1.0
    ) -> None:
        self.plant, self.rng, self.rare = plant, rng, rare
        self.tz = timezone.get_current_timezone()
        self.now = timezone.localtime(now).replace(tzinfo=None)  # plant-local, naive
        self.tables = _tables()
        self.ids = {
            key: (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
            for key, (model, _) in NUMBERED.items()
        }
        ct = ContentType.objects.get_for_model
        self.ct = {
            "order": ct(SalesOrder).pk,
            "line": ct(SalesOrderLine).pk,
            "work_order": ct(WorkOrder).pk,
            "operation": ct(Operation).pk,
            "shipment": ct(Shipment).pk,
            "change_request": ct(ChangeRequest).pk,
            "exception": ct(PlantException).pk,
            "work_center": ct(WorkCenter).pk,
        }
        self.office = Calendar(OFFICE)
        self.dock = Calendar(DOCK)
        self.reasons = plant.reasons
        self.made = sorted(plant.routings)
        # Each work center's typical queue (working minutes): some are bottlenecks.
        self.queue_mean = {wc: rng.choice([60, 90, 120, 180, 240, 360]) for wc in plant.centers}
        group_users: dict[int, list[int]] = {}
        for key, name in ROLE_KEYS.items():
            group = Group.objects.filter(name=name).first()
            if group is not None and plant.users.get(key):
                group_users[group.pk] = plant.users[key]
        self.group_users = group_users
        self.counts = {"orders": 0, "work_orders": 0, "shipments": 0, "exceptions": 0}

    # --- small helpers

    def aware(self, t: dt.datetime | None) -> dt.datetime | None:
        return None if t is None else t.replace(tzinfo=self.tz)

    def take(self, key: str) -> int:
        pk = self.ids[key]
        self.ids[key] = pk + 1
        return pk

    def who(self, role: str) -> int:
        return self.rng.choice(self.plant.users[role])

    def log(
        self,
        kind: str,
        pk: int,
        text: str,
        transition: str,
        from_state: str,
        to_state: str,
        actor: int | None,
        at: dt.datetime,
        reason: int | None = None,
        comment: str = "",
    ) -> None:
        self.tables["log"].rows.append(
            (
                self.ct[kind],
                pk,
                text,
                transition,
                from_state,
                to_state,
                actor,
                at.replace(tzinfo=self.tz),
                reason,
                comment,
            )
        )

    def mark(self) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        return (
            {k: len(t.rows) for k, t in self.tables.items()},
            dict(self.ids),
            dict(self.counts),
        )

    def rollback(self, mark: tuple[dict[str, int], dict[str, int], dict[str, int]]) -> None:
        lengths, ids, counts = mark
        for key, table in self.tables.items():
            del table.rows[lengths[key] :]
        self.ids, self.counts = dict(ids), dict(counts)

    def minutes(self, mean: float) -> float:
        return self.rng.expovariate(1.0 / mean) if mean > 0 else 0.0

    def later(self, t: dt.datetime, low: float, high: float) -> dt.datetime:
        return t + dt.timedelta(minutes=self.rng.uniform(low, high))

    # --- work orders and their operations

    def work_order(
        self,
        item: int,
        quantity: int,
        release: dt.datetime,
        line: int | None,
        line_repr: str,
    ) -> tuple[int, dt.datetime, dt.datetime]:
        """One released work order run to completion; returns (its row's index, first
        start, completion)."""
        rng = self.rng
        pk = self.take("work_order")
        number = f"WO-{pk:06d}"
        planner = self.who("planner")
        self.log("work_order", pk, number, "release", "planned", "released", planner, release)
        if rng.random() < 0.04 * self.rare:
            self.exception(
                "material.shortage", "work_order", pk, number, self.later(release, -90, -5),
                self.office.after(release, self.minutes(90)),
                {"item": self.plant.skus.get(item, ""), "missing_quantity": max(1, quantity // 3),
                 "demand": number},
            )  # fmt: skip
        steps = self.plant.routings[item]
        ready = release
        available = quantity
        first_start: dt.datetime | None = None
        done = release
        scrap_total = 0
        good = quantity
        rework_back = 0  # good output of a rework step, flowing to the next step
        rework_done = release
        scheduled_start: dt.datetime | None = None
        scheduled_end = release
        pending_rework: tuple[Step, int, int, dt.datetime] | None = None
        operator = None
        op_rows: list[tuple[int, Step, int]] = []
        for index, step in enumerate(steps):
            op_pk = self.take("operation")
            if step.is_rework:
                if pending_rework is None or pending_rework[0] is not step:
                    # Nothing was sent to it: cancelled when the work order completes.
                    op_rows.append((op_pk, step, 0))
                    continue
                _, sent, _, sent_at = pending_rework
                pending_rework = None
                outcome = self.operation(
                    op_pk, pk, number, step, sent, sent, sent_at, None, rework=True
                )
                rework_back += outcome["good"]
                rework_done = outcome["done"]
                scrap_total += outcome["scrap"]
                continue
            nxt = steps[index + 1] if index + 1 < len(steps) else None
            can_rework = nxt is not None and nxt.is_rework
            outcome = self.operation(
                op_pk, pk, number, step, quantity, available + rework_back,
                max(ready, rework_done), first_start is None and planner or None,
                can_rework=can_rework,
            )  # fmt: skip
            rework_back = 0
            first_start = first_start or outcome["start"]
            scheduled_start = scheduled_start or outcome["scheduled_start"]
            scheduled_end = outcome["scheduled_end"]
            scrap_total += outcome["scrap"]
            available = good = outcome["good"]
            ready = done = outcome["done"]
            operator = outcome["operator"]
            if outcome["rework"]:
                pending_rework = (nxt, outcome["rework"], 0, outcome["done"])  # type: ignore[assignment]
        done = max(done, rework_done)
        assert first_start is not None  # noqa: S101 - every routing has a normal step
        self.log(
            "work_order", pk, number, "start", "released", "in_progress", operator, first_start
        )
        self.log("work_order", pk, number, "complete", "in_progress", "completed", operator, done)
        for op_pk, step, _ in op_rows:
            self.tables["operation"].rows.append(
                (op_pk, pk, step.sequence, step.name, step.work_center, step.family, step.setup,
                 Decimal(str(step.run_per_unit)), step.quality_check, True, Decimal(0),
                 Decimal(0), Decimal(0), Decimal(0), Decimal(0), "cancelled", None, None, None,
                 0, None, None)
            )  # fmt: skip
            self.log("operation", op_pk, f"{number}/{step.sequence} {step.name}", "cancel",
                     "pending", "cancelled", operator, done)  # fmt: skip
        state = "completed"
        closed_at = self.office.after(done, rng.uniform(60, 3000))
        if rng.random() < 0.6 and closed_at < self.now:
            self.log("work_order", pk, number, "close", "completed", "closed", planner, closed_at)
            state = "closed"
        expedite = False
        if rng.random() < 0.04 * self.rare:
            expedite = True
            at = release + (first_start - release) * rng.random()
            self.field_change(
                "work_order", pk, number, "expedite", False, True, planner, at,
                rng.choice(["expedite", "customer-request"]),
                rng.choice(["Customer line stop: parts needed this week.",
                            "Sales asked to pull the order forward.",
                            "Late material made up for on the shop floor."]),
            )  # fmt: skip
        created = release - dt.timedelta(minutes=rng.uniform(30, 2880))
        self.tables["work_order"].rows.append(
            (pk, number, "mto" if line else "mts", item, _q(quantity), _q(good), _q(scrap_total),
             line, None, state, expedite, self.aware(scheduled_start), self.aware(scheduled_end),
             self.aware(release), self.aware(first_start), self.aware(done), planner,
             self.aware(created), self.aware(max(done, closed_at if state == "closed" else done)),
             GENERATED)
        )  # fmt: skip
        self.counts["work_orders"] += 1
        return len(self.tables["work_order"].rows) - 1, first_start, done

    def operation(
        self,
        pk: int,
        wo: int,
        number: str,
        step: Step,
        planned: int,
        available: int,
        ready: dt.datetime,
        made_ready_by: int | None,
        *,
        can_rework: bool = False,
        rework: bool = False,
    ) -> dict[str, Any]:
        rng, plant = self.rng, self.plant
        wc = step.work_center
        center = plant.centers[wc]
        calendar = plant.calendars[wc]
        text = f"{number}/{step.sequence} {step.name}"
        operator = self.who("operator")
        self.log(
            "operation",
            pk,
            text,
            "make_ready",
            "pending",
            "ready",
            made_ready_by or operator,
            ready,
        )
        queue = self.queue_mean[wc]
        start = calendar.after(ready, self.minutes(queue))
        changeover = 0
        if step.family is not None and not rework and rng.random() < 0.35:
            changeover = center.changeovers.get(step.family) or center.default_changeover
        planned_run = step.setup + changeover + available * step.run_per_unit
        run = planned_run * rng.lognormvariate(0, 0.25)
        segments = calendar.run(start, run)
        overtime_minutes = 0.0
        if len(segments) > 1 and rng.random() < 0.3:
            rest = sum((b - a).total_seconds() for a, b in segments[1:]) / 60
            if rest <= 120:
                overtime_minutes = rest
                segments = [(segments[0][0], segments[0][1] + dt.timedelta(minutes=rest))]
        pauses: dict[int, tuple[str, int]] = {}  # segment index -> (kind, reason)
        if rng.random() < 0.07:
            a, b = segments[0]
            down_at = a + (b - a) * rng.uniform(0.2, 0.8)
            down_for = max(10.0, rng.lognormvariate(math.log(40), 0.8))
            back = down_at + dt.timedelta(minutes=down_for)
            left = max(1.0, run - (down_at - a).total_seconds() / 60)
            reason = self.reasons[rng.choices(DOWNTIME_REASONS, DOWNTIME_WEIGHTS)[0]]
            segments = [(a, down_at), *calendar.run(back, left)]
            overtime_minutes = 0.0
            pauses[0] = ("down", reason)
            self.downtime(wc, center.code, reason, down_at, back)
        scheduled_start = calendar.after(ready, queue * 1.2)
        scheduled_end = calendar.after(scheduled_start, planned_run * 1.2)
        # History: started, paused (end of shift or down) and resumed, done.
        first = segments[0][0]
        comment = ""
        wrong_center = None
        if not center.refuse_wrong_routing and not rework and rng.random() < 0.03 * self.rare:
            others = [c for c in plant.centers.values() if c.id != wc]
            if others:
                wrong_center = rng.choice(others)
                comment = f"Reported at {wrong_center.code}, off the routing."
        self.log(
            "operation", pk, text, "start", "ready", "running", operator, first, comment=comment
        )
        if wrong_center is not None:
            self.tables["report"].rows.append(
                (pk, operator, wrong_center.id, Decimal(0), Decimal(0), Decimal(0), None, None,
                 True, "Started off the routing", self.aware(first))
            )  # fmt: skip
        shift_end = self.reasons["shift-end"]
        lead = self.who("floor_lead")
        for index, (a, b) in enumerate(segments):
            is_last = index == len(segments) - 1
            extra = overtime_minutes if (is_last and overtime_minutes) else 0.0
            self.tables["labour"].rows.append(
                (pk, operator, self.aware(a), self.aware(b),
                 Decimal(round((b - a).total_seconds() / 60, 2)).quantize(Decimal("0.01")),
                 Decimal(round(extra, 2)).quantize(Decimal("0.01")))
            )  # fmt: skip
            if is_last:
                break
            kind, reason = pauses.get(index, ("shift", shift_end))
            if kind == "down":
                self.log("operation", pk, text, "pause", "running", "paused", lead, b, reason,
                         f"{center.code} went down")  # fmt: skip
            else:
                self.log("operation", pk, text, "pause", "running", "paused", operator, b, reason)
            operator = self.who("operator")
            self.log(
                "operation",
                pk,
                text,
                "resume",
                "paused",
                "running",
                operator,
                segments[index + 1][0],
            )
        done = segments[-1][1]
        scrap = rework_q = 0
        scrap_reason = rework_reason = None
        if rng.random() < 0.14 and available > 1:
            scrap = min(available - 1, max(1, round(available * rng.uniform(0.01, 0.08))))
            scrap_reason = self.reasons[rng.choices(SCRAP_REASONS, SCRAP_WEIGHTS)[0]]
        if can_rework and rng.random() < 0.25 and available - scrap > 1:
            rework_q = min(available - scrap - 1, max(1, round(available * rng.uniform(0.02, 0.1))))
            rework_reason = self.reasons[rng.choices(REWORK_REASONS, REWORK_WEIGHTS)[0]]
        good = available - scrap - rework_q
        self.tables["report"].rows.append(
            (pk, operator, wc, _q(good), _q(scrap), _q(rework_q), scrap_reason, rework_reason,
             False, "", self.aware(done))
        )  # fmt: skip
        self.log("operation", pk, text, "finish", "running", "done", operator, done)
        self.tables["operation"].rows.append(
            (pk, wo, step.sequence, step.name, wc, step.family, step.setup,
             Decimal(str(step.run_per_unit)), step.quality_check, step.is_rework,
             _q(planned), _q(available), _q(good), _q(scrap), _q(rework_q), "done",
             self.aware(scheduled_start), self.aware(scheduled_end),
             rng.randint(1, center.capacity), changeover, self.aware(first), self.aware(done))
        )  # fmt: skip
        return {
            "start": first,
            "done": done,
            "good": good,
            "scrap": scrap,
            "rework": rework_q,
            "operator": operator,
            "scheduled_start": scheduled_start,
            "scheduled_end": scheduled_end,
        }

    def downtime(
        self, wc: int, code: str, reason: int, start: dt.datetime, end: dt.datetime
    ) -> None:
        lead = self.who("floor_lead")
        self.tables["downtime"].rows.append(
            (wc, reason, "", self.aware(start), self.aware(end), lead, lead)
        )
        if (end - start).total_seconds() > 20 * 60:
            self.exception(
                "workcenter.down", "work_center", wc, code,
                start + dt.timedelta(minutes=16), end,
                {"work_center": code, "reason": self.plant.reason_labels.get(reason, "")},
            )  # fmt: skip

    # --- exceptions and governed changes

    def exception(
        self,
        point: str,
        kind: str,
        subject: int,
        subject_repr: str,
        raised: dt.datetime,
        resolve_by: dt.datetime,
        context: dict[str, Any],
    ) -> None:
        rule = self.plant.rules.get(point)
        if rule is None:
            return
        rng = self.rng
        sla = rule.sla_minutes
        acknowledged = raised + dt.timedelta(minutes=self.minutes(sla * 0.7))
        due = raised + dt.timedelta(minutes=sla)
        resolved = max(resolve_by, acknowledged + dt.timedelta(minutes=rng.uniform(5, 90)))
        if resolved >= self.now:
            return
        pk = self.take("exception")
        number = f"EX-{pk:06d}"
        owner = self.group_users.get(rule.owner_role) or self.plant.users["planner"]
        assignee = rng.choice(owner)
        state = "open"
        escalations = 0
        for n in (1, 3):
            at = raised + dt.timedelta(minutes=sla * n)
            if at < acknowledged:
                self.log("exception", pk, number, "escalate", state, "escalated", None, at)
                state, escalations = "escalated", escalations + 1
        self.log(
            "exception", pk, number, "acknowledge", state, "acknowledged", assignee, acknowledged
        )
        state = "acknowledged"
        if rng.random() < 0.5:
            started = acknowledged + (resolved - acknowledged) * rng.uniform(0.05, 0.4)
            self.log("exception", pk, number, "start", state, "in_progress", assignee, started)
            state = "in_progress"
        code, note = rng.choice(RESOLUTIONS)
        resolution = self.reasons.get(code)
        self.log("exception", pk, number, "resolve", state, "resolved", assignee, resolved,
                 resolution, note)  # fmt: skip
        try:
            title = rule.title.format(**context)
        except (KeyError, IndexError, AttributeError):
            title = rule.title
        occurrences = 1 + (rng.random() < 0.2) + (rng.random() < 0.05)
        self.tables["exception"].rows.append(
            (pk, number, title[:200], rule.id, self.ct[kind], subject, subject_repr[:200],
             rule.severity, rule.owner_role, assignee, "resolved", escalations, self.aware(due),
             self.aware(due) if acknowledged > due else None, occurrences, self.aware(raised),
             self.aware(raised + (acknowledged - raised) * (occurrences - 1) / 2),
             self.aware(acknowledged), self.aware(resolved), resolution, note)
        )  # fmt: skip
        # The event behind it, as exceptions keep them: by id (0: pruned long ago).
        self.tables["exception_event"].rows.append((pk, 0, point, self.aware(raised)))
        self.counts["exceptions"] += 1

    def field_change(
        self,
        kind: str,
        pk: int,
        text: str,
        name: str,
        old: Any,
        new: Any,
        actor: int,
        at: dt.datetime,
        reason: str,
        why: str,
    ) -> None:
        self.tables["field_change"].rows.append(
            (self.ct[kind], pk, text, name, json.dumps(old), json.dumps(new), actor,
             self.aware(at), self.reasons[reason], why)
        )  # fmt: skip

    # --- sales orders and shipments

    def order(self, confirmed: dt.datetime, make_lines: int, buy_lines: int) -> dt.datetime:
        """One sales order from confirmation to its last handover; returns that handover."""
        rng, plant = self.rng, self.plant
        pk = self.take("order")
        number = f"SO-{pk:06d}"
        customer, ship_to = rng.choice(plant.customers)
        planner = self.who("planner")
        self.log("order", pk, number, "confirm", "draft", "confirmed", planner, confirmed)
        items = rng.sample(self.made, min(make_lines, len(self.made)))
        if plant.buy_items and buy_lines:
            items += rng.sample(plant.buy_items, min(buy_lines, len(plant.buy_items)))
        lines: list[tuple[int, str, int, int]] = []  # (pk, repr, item, quantity)
        wo_rows: list[int] = []
        first_release: dt.datetime | None = None
        ready = confirmed
        for n, item in enumerate(items):
            line_pk = self.take("line")
            text = f"{number}/{10 * (n + 1)}"
            quantity = rng.choice(QUANTITIES)
            if item in plant.routings:
                release = self.office.after(confirmed, self.minutes(480))
                row, _, done = self.work_order(item, quantity, release, line_pk, text)
                wo_rows.append(row)
                first_release = min(first_release or release, release)
                ready = max(ready, done)
            lines.append((line_pk, text, item, quantity))
        assert first_release is not None  # noqa: S101 - every order has a made line
        lead = self.who("floor_lead")
        self.log("order", pk, number, "start_production", "confirmed", "in_production", planner,
                 first_release)  # fmt: skip
        ready = self.later(ready, 5, 60)
        self.log("order", pk, number, "mark_ready", "in_production", "ready_to_ship", lead, ready)
        # The promise made at confirmation; how the work went decides whether it held.
        promise = (ready + dt.timedelta(days=rng.gauss(2.2, 1.5))).date()
        promise = max(promise, confirmed.date() + dt.timedelta(days=1))
        requested = promise - dt.timedelta(days=rng.choice([0, 0, 0, 1, 2, 3]))
        wo_table = self.tables["work_order"].rows
        for row in wo_rows:
            wo_table[row] = (*wo_table[row][:8], promise, *wo_table[row][9:])
        # Shipments: most in one, some in two (the first short on one line).
        first_line = lines[0]
        partial = first_line[3] >= 4 and rng.random() < 0.12
        loads = [[(line, line[3]) for line in lines]]
        if partial:
            part = first_line[3] // 2
            loads = [[(first_line, part)] + loads[0][1:], [(first_line, first_line[3] - part)]]
        shipper = self.who("shipping")
        after = ready
        handovers = []
        for index, load in enumerate(loads):
            handover = self.shipment(number, customer, ship_to, load, after)
            handovers.append(handover)
            last = index == len(loads) - 1
            if last:
                source = "partially_shipped" if index else "ready_to_ship"
                self.log("order", pk, number, "ship", source, "shipped", shipper, handover)
            else:
                self.log("order", pk, number, "ship_partially", "ready_to_ship",
                         "partially_shipped", shipper, handover)  # fmt: skip
                after = self.office.after(handover, rng.uniform(300, 1800))
        shipped = handovers[-1]
        state = "shipped"
        closed = self.office.after(shipped, rng.uniform(600, 4800))
        if closed < self.now:
            self.log("order", pk, number, "close", "shipped", "closed", planner, closed)
            state = "closed"
        if shipped.date() > promise:
            raised = max(
                self.later(confirmed, 60, 240),
                dt.datetime.combine(promise - dt.timedelta(days=1), dt.time(9)),
            )
            if raised < shipped:
                self.exception(
                    "order.promise_at_risk", "order", pk, number, raised, shipped,
                    {"promise_date": promise.isoformat(), "order": _Named(number)},
                )  # fmt: skip
        priority = rng.choices([1, 2, 3, 4], [2, 10, 80, 8])[0]
        if priority > 1 and rng.random() < 0.06 * self.rare:
            new = max(1, priority - rng.choice([1, 1, 2]))
            at = confirmed + (ready - confirmed) * rng.random()
            self.field_change(
                "order", pk, number, "priority", priority, new, planner, at,
                rng.choice(["expedite", "customer-request"]),
                rng.choice(["Customer escalated: their line waits for these parts.",
                            "Key account asked to bring the delivery forward.",
                            "Sales management asked to prioritise this order."]),
            )  # fmt: skip
            priority = new
        requested = self.change_request(pk, number, lines[0], requested, first_release, ready)
        self.tables["order"].rows.append(
            (pk, number, customer, ship_to, f"PO-{rng.randint(100000, 999999)}", state, priority,
             planner, self.aware(confirmed - dt.timedelta(minutes=rng.uniform(5, 600))),
             self.aware(closed if state == "closed" else shipped), self.aware(confirmed))
        )  # fmt: skip
        for n, (line_pk, _, item, quantity) in enumerate(lines):
            self.tables["line"].rows.append(
                (line_pk, pk, 10 * (n + 1), item, _q(quantity), _q(quantity),
                 requested if n == 0 else requested_first(requested, promise, n),
                 promise, GENERATED)
            )  # fmt: skip
        self.counts["orders"] += 1
        return shipped

    def change_request(
        self,
        order: int,
        number: str,
        line: tuple[int, str, int, int],
        requested: dt.date,
        production: dt.datetime,
        ready: dt.datetime,
    ) -> dt.date:
        """Now and then the customer moves a line's date while it is in production: a
        change request, approved by a second planner and applied. Returns the line's
        requested date after it."""
        rng = self.rng
        planners = self.plant.users["planner"]
        if len(planners) < 2 or rng.random() >= 0.03 * self.rare:
            return requested
        pk = self.take("change_request")
        cr_number = f"CR-{pk:06d}"
        by, approver = rng.sample(planners, 2)
        asked = production + (ready - production) * rng.uniform(0.1, 0.9)
        decided = self.office.after(asked, self.minutes(240))
        applied = self.later(decided, 1, 30)
        new = requested + dt.timedelta(days=rng.choice([3, 5, 7, 14]))
        reason = self.reasons["customer-request"]
        text = rng.choice(["Customer's assembly moved: deliver later.",
                           "Customer asks to align with their next call-off."])  # fmt: skip
        self.log("change_request", pk, cr_number, "approve", "requested", "approved", approver,
                 decided)  # fmt: skip
        self.log("change_request", pk, cr_number, "apply", "approved", "applied", approver, applied)
        self.field_change("line", line[0], line[1], "requested_date", requested.isoformat(),
                          new.isoformat(), approver, applied, "customer-request",
                          f"{cr_number}: {text}")  # fmt: skip
        self.tables["change_request"].rows.append(
            (pk, cr_number, order, line[0], "date", new, json.dumps(requested.isoformat()),
             reason, text, "applied", True, by, self.aware(asked), approver, self.aware(decided),
             "Fits the schedule.", self.aware(applied))
        )  # fmt: skip
        return new

    def shipment(
        self,
        order_number: str,
        customer: int,
        ship_to: int | None,
        load: list[tuple[tuple[int, str, int, int], int]],
        after: dt.datetime,
    ) -> dt.datetime:
        rng, dock = self.rng, self.dock
        pk = self.take("shipment")
        number = f"SHP-{pk:06d}"
        created = self.later(after, 1, 30)
        picker, shipper = self.who("warehouse"), self.who("shipping")
        picking = dock.after(created, self.minutes(300))
        self.log("shipment", pk, number, "start_picking", "planned", "picking", picker, picking)
        mispicks = incorrect = 0
        if rng.random() < 0.05 * self.rare:
            mispicks = 1
            line = rng.choice(load)[0]
            expected = self.plant.skus.get(line[2], "")
            scanned = self.plant.skus.get(rng.choice(self.made), "") or "unknown"
            at = self.later(picking, 2, 20)
            self.tables["refusal"].rows.append(
                ("mispick", "shipment", pk, number, expected, scanned,
                 f"Wrong item: {scanned} scanned, {expected} expected.", picker, self.aware(at))
            )  # fmt: skip
            self.exception(
                "pick.mismatch", "shipment", pk, number, at, self.later(at, 10, 60),
                {"scanned": scanned, "expected": expected, "document": number,
                 "document_type": "shipment"},
            )  # fmt: skip
        packed = dock.after(picking, 10 * len(load) + rng.uniform(5, 40))
        self.log("shipment", pk, number, "pack", "picking", "packed", picker, packed)
        documented = dock.after(packed, rng.uniform(5, 25))
        self.log("shipment", pk, number, "document", "packed", "documented", shipper, documented)
        earliest = documented + dt.timedelta(minutes=15)
        handover = None
        for offset in range(14):
            day = earliest.date() + dt.timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            for pickup in PICKUPS:
                t = dt.datetime.combine(day, pickup)
                if t >= earliest:
                    handover = self.later(t, 0, 40)
                    break
            if handover is not None:
                break
        assert handover is not None  # noqa: S101 - a weekday comes within two weeks
        if rng.random() < 0.02 * self.rare:
            incorrect = 1
            self.tables["refusal"].rows.append(
                ("incorrect_dispatch", "shipment", pk, number, f"a package of {number}",
                 f"PKG-{pk - rng.randint(1, 50):06d}-1",
                 f"Package belongs to another shipment, not to {number}: keep it off this load.",
                 shipper, self.aware(handover - dt.timedelta(minutes=rng.uniform(3, 14))))
            )  # fmt: skip
        self.log(
            "shipment", pk, number, "hand_over", "documented", "handed_over", shipper, handover
        )
        state, delivered = "handed_over", None
        arrival = self.office.after(handover, rng.uniform(480, 2400))
        if rng.random() < 0.6 and arrival < self.now:
            state, delivered = "delivered", arrival
            self.log("shipment", pk, number, "confirm_delivery", "handed_over", "delivered",
                     shipper, arrival)  # fmt: skip
        carrier, code = rng.choice(self.plant.carriers)
        self.tables["shipment"].rows.append(
            (pk, number, customer, ship_to, state, handover.date(), carrier, "standard",
             f"{code.upper()[:6]}{pk:010d}", self.aware(handover), self.aware(delivered),
             mispicks, incorrect, shipper, self.aware(created),
             self.aware(delivered or handover), GENERATED)
        )  # fmt: skip
        for (line_pk, _, item, _), quantity in load:
            self.tables["shipment_line"].rows.append(
                (pk, line_pk, item, _q(quantity), _q(quantity), _q(quantity))
            )
        self.counts["shipments"] += 1
        return handover

    def stock_order(self, release: dt.datetime) -> dt.datetime:
        """A make-to-stock work order; returns its completion."""
        item = self.rng.choice(self.made)
        quantity = self.rng.choice(QUANTITIES)
        row, _, done = self.work_order(item, quantity, release, None, "")
        due = (done + dt.timedelta(days=self.rng.gauss(2, 2))).date()
        table = self.tables["work_order"].rows
        table[row] = (*table[row][:8], due, *table[row][9:])
        return done

    def flush(self) -> dict[str, int]:
        return {key: table.write() for key, table in self.tables.items()}


class _Named:
    """A value that formats as a name and offers `.number` to rule title templates."""

    def __init__(self, number: str) -> None:
        self.number = number

    def __str__(self) -> str:
        return self.number


def requested_first(requested: dt.date, promise: dt.date, n: int) -> dt.date:
    """Other lines of an order were asked for the same day as the first, or the promise."""
    return min(requested, promise) if n % 2 else requested


QUANTITIES = [1, 2, 4, 5, 8, 10, 12, 16, 20, 24, 25, 30, 40, 50, 60, 80, 100]

# Transition rows (measured on generated plants): per work order of its own, per order
# with its shipments and exceptions, per operation. `transitions` is turned into order
# sizes and routing lengths with them.
ROWS_PER_WORK_ORDER = 4.7
ROWS_PER_ORDER = 9.8
ROWS_PER_OPERATION = 3.0
SHORTEST_ROUTING = 1.47  # operations per work order when routings are one step long


def _shape(rows_per_work_order: float) -> tuple[float, float]:
    """(made lines per order, operations per work order) that give about that many
    transition rows per work order (a quarter of the work orders are made to stock)."""
    lines = 1.6
    left = rows_per_work_order - ROWS_PER_WORK_ORDER - 0.75 * ROWS_PER_ORDER / lines
    operations = left / ROWS_PER_OPERATION
    if operations < SHORTEST_ROUTING:
        operations = SHORTEST_ROUTING
        left = rows_per_work_order - ROWS_PER_WORK_ORDER - ROWS_PER_OPERATION * operations
        lines = min(6.0, 0.75 * ROWS_PER_ORDER / max(left, 0.75 * ROWS_PER_ORDER / 6.0))
    return lines, operations


def history_generate(
    *,
    days: int,
    work_orders: int,
    prefix: str = "KH",
    seed: int = 0,
    transitions: int | None = None,
    plant: HistoryPlant | None = None,
    now: dt.datetime | None = None,
    rare_events: float = 1.0,
    batch_size: int = BATCH,
    out: Any = None,
) -> dict[str, Any]:
    """Write `days` days of plant history up to `now` with about `work_orders` work
    orders (a quarter made to stock, the rest for sales order lines).

    `plant`: the master data to use (`plant_load()` for the plant in the database);
    without it a plant is created with codes starting with `prefix`, its routings as
    long as it takes to make about `transitions` transition rows. `rare_events`
    multiplies how often the rare things happen (mis-picks, incorrect dispatches, change
    requests, expedites, priority bumps, shortages, reports off the routing): a short
    demo history needs more of them to show each. Returns what was written, with the
    seconds it took."""
    if days < 1 or work_orders < 1:
        raise ValueError("Give at least one day and one work order.")
    began = time.monotonic()
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    now = now or timezone.now()
    written: dict[str, int] = {}
    with transaction.atomic():
        lines, operations = _shape(transitions / work_orders if transitions else 14.0)
        p = prefix.upper()
        if plant is None and WorkCenter.objects.filter(code__startswith=f"{p}-").exists():
            # More history on the plant made by an earlier run.
            plant = plant_load(
                items=list(Item.objects.filter(sku__startswith=f"{p}-")),
                customers=list(Customer.objects.filter(code__startswith=f"{p}-")),
                users=_users_create(p),
            )
        if plant is None:
            # The routing length drawn is the mean of a rounded exponential: 1.0 gives
            # SHORTEST_ROUTING operations per work order, rework steps included.
            length = max(1.0, operations / SHORTEST_ROUTING)
            plant = plant_create(prefix=prefix, seed=seed, operations_per_work_order=length)
        history = _History(plant, rng, now, rare_events)
        checks_skipped = foreign_key_checks_skip()
        specs: list[tuple[int, int]] = []  # (made lines, bought lines); (0, 0) = to stock
        wanted = work_orders
        while wanted > 0:
            if rng.random() < 0.25:
                specs.append((0, 0))
                wanted -= 1
                continue
            made = min(wanted, 1 + round(rng.expovariate(1 / (lines - 0.9))), 8)
            specs.append((made, rng.choices([0, 1], [75, 25])[0]))
            wanted -= made
        # Orders confirmed from a week before the period on, in time order (numbers too).
        today = timezone.localdate(now)
        first = dt.datetime.combine(today - dt.timedelta(days=days + 6), dt.time.min)
        span = (history.now - first).total_seconds()
        moments = sorted(first + dt.timedelta(seconds=rng.uniform(0, span)) for _ in specs)
        office = history.office
        for (made, bought), moment in zip(specs, moments, strict=True):
            start = office.next_working(moment)
            for _ in range(8):
                mark = history.mark()
                end = history.stock_order(start) if not made else history.order(start, made, bought)
                if end < history.now - dt.timedelta(minutes=5):
                    break
                # It would end in the future: the same order, whole weeks earlier.
                history.rollback(mark)
                weeks = (end - history.now).days // 7 + 1
                start = start - dt.timedelta(weeks=weeks)
            if len(history.tables["log"].rows) >= batch_size:
                for key, n in history.flush().items():
                    written[key] = written.get(key, 0) + n
                if out is not None:
                    out.write(f"  {history.counts['work_orders']:,} work orders ...")
        for key, n in history.flush().items():
            written[key] = written.get(key, 0) + n
        with connection.cursor() as cursor:
            models_ = [model for model, _ in NUMBERED.values()]
            for sql in connection.ops.sequence_reset_sql(no_style(), models_):
                cursor.execute(sql)
            if checks_skipped:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in history.tables.values():
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table.model._meta.db_table)}")
    return {
        **history.counts,
        "transition_rows": written.get("log", 0),
        "operations": written.get("operation", 0),
        "rows": written,
        "foreign_key_checks_skipped": checks_skipped,
        "seconds": round(time.monotonic() - began, 1),
    }
