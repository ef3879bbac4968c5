"""The generated plant: real records that the scheduling service turns into a problem
both engines schedule validly, removed again by prefix."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from inventory.models import Item
from planning.generate import describe, generate_planning_plant, planning_plant_clear
from planning.models import (
    ChangeoverFamily,
    ChangeoverTime,
    Operation,
    OperationState,
    RoutingOperation,
    ScheduleRun,
    Shift,
    WorkCenter,
    WorkOrder,
    WorkOrderState,
)
from planning.scheduling import dispatch_schedule, solve, validate
from planning.services.scheduling import schedule_problem_build, schedule_run

pytestmark = pytest.mark.django_db


def _monday() -> dt.datetime:
    today = timezone.localdate()
    monday = today + dt.timedelta(days=(7 - today.weekday()) or 7)
    return timezone.make_aware(dt.datetime.combine(monday, dt.time(6)))


def test_a_small_plant_is_generated_and_scheduled():
    start = _monday()
    plant = generate_planning_plant(
        work_centers=3, families=2, operations=20, seed=3, load=0.8, start=start, prefix="TG"
    )
    shape = describe(plant)
    assert shape["work_centers"] == 3
    assert shape["operations"] == 20
    assert 0 < shape["utilisation"] <= 0.8 + 1e-9

    centers = WorkCenter.objects.filter(code__startswith="TG-")
    assert centers.count() == 3
    assert all(1 <= wc.capacity <= 3 for wc in centers)
    assert Shift.objects.filter(work_center__in=centers, weekday__lte=4).count() >= 3 * 5 * 2
    assert ChangeoverFamily.objects.filter(code__startswith="tg-").count() == 2
    assert ChangeoverTime.objects.filter(work_center__in=centers).count() == 3 * 2
    assert RoutingOperation.objects.filter(routing__item__sku__startswith="TG-").exists()

    orders = WorkOrder.objects.filter(number__startswith="TG-")
    assert orders.count() == plant.work_orders
    assert set(orders.values_list("state", flat=True)) == {WorkOrderState.RELEASED}
    assert all(wo.due_date > start.date() for wo in orders)
    ops = list(Operation.objects.filter(work_order__in=orders).order_by("work_order", "sequence"))
    assert len(ops) == 20
    for op in ops:
        first = op.sequence == min(o.sequence for o in ops if o.work_order_id == op.work_order_id)
        assert op.state == (OperationState.READY if first else OperationState.PENDING)
        assert op.quantity_available == (op.quantity_planned if first else 0)
        assert op.changeover_family_id is not None

    built = schedule_problem_build(now=start)
    problem = built.problem
    assert len(problem.tasks) == 20
    assert {r.id for r in problem.resources} == {wc.pk for wc in centers}
    assert problem.changeover  # the matrix reached the problem
    assert all(job.due is not None for job in problem.jobs)
    for schedule in (dispatch_schedule(problem), solve(problem, time_limit=2)):
        assert validate(problem, schedule) == []


def test_same_seed_same_plant_and_clear_removes_it():
    start = _monday()
    first = describe(generate_planning_plant(operations=30, seed=5, start=start, prefix="TA"))
    second = describe(generate_planning_plant(operations=30, seed=5, start=start, prefix="TB"))
    assert first == second
    planning_plant_clear(prefix="TA")
    assert not WorkOrder.objects.filter(number__startswith="TA-").exists()
    assert not WorkCenter.objects.filter(code__startswith="TA-").exists()
    assert not Item.objects.filter(sku__startswith="TA-").exists()
    assert not ChangeoverFamily.objects.filter(code__startswith="ta-").exists()
    assert WorkOrder.objects.filter(number__startswith="TB-").count() == second["work_orders"]


def test_a_schedule_run_stores_the_generated_plant():
    generate_planning_plant(work_centers=4, families=3, operations=40, seed=7, prefix="TR")
    run = schedule_run(trigger="test", time_limit=1)
    assert run.status == ScheduleRun.Status.DONE, run.error
    assert run.inputs["operations"] == 40
    assert not Operation.objects.filter(
        work_order__number__startswith="TR-", scheduled_start__isnull=True
    ).exists()


@pytest.mark.parametrize(
    "kwargs", [{"work_centers": 0}, {"families": 0}, {"operations": 0}, {"load": 0}]
)
def test_bad_sizes_are_refused(kwargs):
    with pytest.raises(ValueError, match="at least one"):
        generate_planning_plant(**kwargs)
    assert not WorkCenter.objects.exists()
