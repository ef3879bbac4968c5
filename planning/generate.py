"""Generate a plant to schedule: real work centers, routings and released work orders.

For benchmarks and tests of the scheduler on a realistic load. Records are bulk-created
(no services, no history, no events): it is for volume, not for demos.

The plant: work centers in flow stages (cutting, machining, ..., packing) with one to
three identical machines, two shifts on weekdays (some three shifts, some a Saturday
morning), a changeover matrix per work center between the changeover families, and
products whose routings go through the stages in order, each product of one family.
Released work orders, their first operation ready with its quantity available, take
about `load` of the bottleneck's shift time until the last due date; due dates follow
the work in a random product order, so families interleave in due-date order and a
schedule that groups them and respects due dates can be mostly on time.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from inventory.models import Item

from .models import (
    ChangeoverFamily,
    ChangeoverTime,
    Operation,
    OperationState,
    Routing,
    RoutingOperation,
    Shift,
    WorkCenter,
    WorkOrder,
    WorkOrderState,
)

STAGES = ["Cut", "Turn", "Mill", "Drill", "Weld", "Grind", "Paint", "Wash", "Assemble", "Pack"]
FAMILY_NAMES = ["Steel", "Stainless", "Aluminium", "Brass", "Cast", "Coated", "Plastic", "Ti"]
TWO_SHIFTS = [(dt.time(6), dt.time(14)), (dt.time(14), dt.time(22))]
NIGHT = (dt.time(22), dt.time(6))
SATURDAY = (dt.time(6), dt.time(12))


@dataclass
class GeneratedPlant:
    """What was created, for the caller's report."""

    prefix: str
    start: dt.datetime
    work_centers: list[WorkCenter] = field(default_factory=list)
    families: list[ChangeoverFamily] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    work_orders: int = 0
    operations: int = 0
    work_minutes: int = 0
    due_days: int = 0
    utilisation: float = 0.0  # of the bottleneck's shift time until the last due date


def _minutes(a: dt.time, b: dt.time) -> int:
    span = (b.hour * 60 + b.minute) - (a.hour * 60 + a.minute)
    return span if span > 0 else span + 24 * 60


def planning_plant_clear(*, prefix: str) -> None:
    """Remove a plant generated with `prefix` (work orders first: work centers are
    protected by their operations)."""
    with transaction.atomic():
        WorkOrder.objects.filter(number__startswith=f"{prefix}-").delete()
        RoutingOperation.objects.filter(routing__item__sku__startswith=f"{prefix}-").delete()
        Routing.objects.filter(item__sku__startswith=f"{prefix}-").delete()
        Item.objects.filter(sku__startswith=f"{prefix}-").delete()
        WorkCenter.objects.filter(code__startswith=f"{prefix}-").delete()
        ChangeoverFamily.objects.filter(code__startswith=f"{prefix.lower()}-").delete()


def generate_planning_plant(
    *,
    work_centers: int = 10,
    families: int = 4,
    operations: int = 500,
    seed: int = 0,
    load: float = 0.8,
    products: int | None = None,
    start: dt.datetime | None = None,
    prefix: str = "GP",
) -> GeneratedPlant:
    """About `operations` released operations on `work_centers` work centers.

    `load` is the share of the bottleneck work center's shift time, from `start` to the
    last due date, that its operations take. `start` (default: now, whole minutes) is the
    moment the schedule is meant to start; due dates are days after it.
    """
    if work_centers < 1 or families < 1 or operations < 1 or not 0 < load <= 2:
        raise ValueError("Give at least one work center, family and operation; 0 < load <= 2.")
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    start = (start or timezone.now()).replace(second=0, microsecond=0)
    plant = GeneratedPlant(prefix=prefix, start=start)
    with transaction.atomic():
        _create_structure(plant, rng, work_centers, families, products)
        _create_work_orders(plant, rng, operations, load)
    return plant


def _create_structure(
    plant: GeneratedPlant,
    rng: random.Random,
    work_centers: int,
    families: int,
    products: int | None,
) -> None:
    prefix = plant.prefix
    plant.families = ChangeoverFamily.objects.bulk_create(
        ChangeoverFamily(
            code=f"{prefix.lower()}-f{i}",
            name=f"{FAMILY_NAMES[i % len(FAMILY_NAMES)]} {i // len(FAMILY_NAMES) or ''}".strip(),
        )
        for i in range(families)
    )
    capacities = [rng.choice([1, 1, 2, 2, 3]) for _ in range(work_centers)]
    plant.work_centers = WorkCenter.objects.bulk_create(
        WorkCenter(
            code=f"{prefix}-WC{i + 1:02d}",
            name=f"{STAGES[i % len(STAGES)]} {i // len(STAGES) + 1}",
            capacity=capacities[i],
        )
        for i in range(work_centers)
    )
    shifts = []
    for wc in plant.work_centers:
        pattern = list(TWO_SHIFTS)
        if rng.random() < 0.3:
            pattern.append(NIGHT)
        for weekday in range(5):
            shifts += [
                Shift(work_center=wc, weekday=weekday, name=f"S{n + 1}", start=a, end=b)
                for n, (a, b) in enumerate(pattern)
            ]
        if rng.random() < 0.3:
            shifts.append(
                Shift(work_center=wc, weekday=5, name="Sat", start=SATURDAY[0], end=SATURDAY[1])
            )
    Shift.objects.bulk_create(shifts)
    ChangeoverTime.objects.bulk_create(
        ChangeoverTime(
            work_center=wc,
            from_family=a,
            to_family=b,
            # Cleaning and die changes; lighter to darker / softer to harder is quicker.
            minutes=rng.randint(20, 60) if i < j else rng.randint(40, 90),
        )
        for wc in plant.work_centers
        for i, a in enumerate(plant.families)
        for j, b in enumerate(plant.families)
        if a != b
    )

    count = products or max(2 * families, 3 * work_centers)
    plant.items = Item.objects.bulk_create(
        Item(sku=f"{prefix}-P{n + 1:03d}", name=f"Part {n + 1}", source=Item.Source.MAKE)
        for n in range(count)
    )
    routings = Routing.objects.bulk_create(Routing(item=item) for item in plant.items)
    steps = []
    for n, routing in enumerate(routings):
        family = plant.families[n % families]
        visits = sorted(rng.sample(range(work_centers), min(work_centers, rng.randint(3, 6))))
        for k, w in enumerate(visits):
            steps.append(
                RoutingOperation(
                    routing=routing,
                    sequence=10 * (k + 1),
                    name=STAGES[w % len(STAGES)],
                    work_center=plant.work_centers[w],
                    setup_minutes=rng.choice([10, 15, 20, 30]),
                    run_minutes_per_unit=Decimal(rng.choice(["0.5", "0.8", "1", "1.5", "2"])),
                    changeover_family=family,
                )
            )
    RoutingOperation.objects.bulk_create(steps)


def _shift_minutes(plant: GeneratedPlant, days: int) -> dict[int, int]:
    """Machine minutes each work center works in its shifts over `days` days."""
    per_weekday: dict[int, list[int]] = {wc.pk: [0] * 7 for wc in plant.work_centers}
    for shift in Shift.objects.filter(work_center__in=plant.work_centers):
        per_weekday[shift.work_center_id][shift.weekday] += _minutes(shift.start, shift.end)
    first = timezone.localtime(plant.start).date()
    capacity = {wc.pk: wc.capacity for wc in plant.work_centers}
    return {
        wc_id: capacity[wc_id]
        * sum(week[(first + dt.timedelta(days=d)).weekday()] for d in range(days))
        for wc_id, week in per_weekday.items()
    }


def _create_work_orders(
    plant: GeneratedPlant, rng: random.Random, operations: int, load: float
) -> None:
    routing_ops: dict[int, list[RoutingOperation]] = {}
    for step in (
        RoutingOperation.objects.filter(routing__item__in=plant.items)
        .select_related("routing")
        .order_by("routing__item_id", "sequence")
    ):
        routing_ops.setdefault(step.routing.item_id, []).append(step)
    orders: list[tuple[Item, int, list[RoutingOperation]]] = []
    total_ops = 0
    while total_ops < operations:
        item = rng.choice(plant.items)
        steps = routing_ops[item.pk][: operations - total_ops]
        quantity = rng.choice([20, 25, 40, 50, 60, 80, 100, 120])
        orders.append((item, quantity, steps))
        total_ops += len(steps)

    def minutes(step: RoutingOperation, quantity: int) -> int:
        run = (step.run_minutes_per_unit * quantity).to_integral_value(rounding="ROUND_UP")
        return int(step.setup_minutes + run)

    work: dict[int, int] = {}
    for _item, quantity, steps in orders:
        for step in steps:
            work[step.work_center_id] = work.get(step.work_center_id, 0) + minutes(step, quantity)
    # The last due date: the first day by which the bottleneck reaches `load`.
    days = 1
    while True:
        available = _shift_minutes(plant, days)
        if all(work.get(k, 0) <= load * available[k] for k in available) or days > 365:
            break
        days += 1
    available = _shift_minutes(plant, days)
    plant.due_days = days
    plant.utilisation = max(work.get(k, 0) / max(available[k], 1) for k in available)
    plant.work_minutes = sum(work.values())

    # Due dates follow the work in a random order (families interleaved), each at least
    # its own lead time (about a shift per operation) and a day of slack at random.
    rng.shuffle(orders)
    total = sum(minutes(s, q) for _i, q, steps in orders for s in steps)
    today = timezone.localtime(plant.start).date()
    done = 0
    rows: list[tuple[Item, int, list[RoutingOperation], dt.date, int]] = []
    for item, quantity, steps in orders:
        done += sum(minutes(s, quantity) for s in steps)
        day = math.ceil(days * done / total)
        lead = math.ceil(len(steps) / 2)
        day = max(day, lead) + rng.choice([0, 0, 0, 1])
        score = rng.choice([0, 0, 0, 5, 10, 10, 20, 30, 40])
        rows.append((item, quantity, steps, today + dt.timedelta(days=day), score))

    now = timezone.now()
    first_number = WorkOrder.objects.filter(number__startswith=f"{plant.prefix}-").count()
    work_orders = WorkOrder.objects.bulk_create(
        WorkOrder(
            number=f"{plant.prefix}-{first_number + n + 1:05d}",
            item=item,
            quantity=Decimal(quantity),
            due_date=due,
            state=WorkOrderState.RELEASED,
            priority_score=Decimal(score),
            released_at=now,
        )
        for n, (item, quantity, _steps, due, score) in enumerate(rows)
    )
    ops = []
    for wo, (_item, quantity, steps, _due, _score) in zip(work_orders, rows, strict=True):
        for k, step in enumerate(steps):
            ops.append(
                Operation(
                    work_order=wo,
                    sequence=step.sequence,
                    name=step.name,
                    work_center_id=step.work_center_id,
                    changeover_family_id=step.changeover_family_id,
                    setup_minutes=step.setup_minutes,
                    run_minutes_per_unit=step.run_minutes_per_unit,
                    quantity_planned=Decimal(quantity),
                    quantity_available=Decimal(quantity) if k == 0 else Decimal(0),
                    state=OperationState.READY if k == 0 else OperationState.PENDING,
                )
            )
    Operation.objects.bulk_create(ops, batch_size=1000)
    plant.work_orders = len(work_orders)
    plant.operations = len(ops)


def describe(plant: GeneratedPlant) -> dict[str, Any]:
    return {
        "work_centers": len(plant.work_centers),
        "machines": sum(wc.capacity for wc in plant.work_centers),
        "families": len(plant.families),
        "products": len(plant.items),
        "work_orders": plant.work_orders,
        "operations": plant.operations,
        "work_minutes": plant.work_minutes,
        "due_days": plant.due_days,
        "utilisation": round(plant.utilisation, 3),
    }
