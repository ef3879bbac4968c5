"""The plant's schedule: stored runs, constraints kept, re-run after a work center goes
down, promises at risk announced."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from mes.core.models import Event
from planning.calendars import working_windows
from planning.models import Operation, ScheduleRun, WorkOrder
from planning.services import downtime_report, work_order_create, work_order_release
from planning.services.scheduling import schedule_problem_build, schedule_run

from .test_work_orders import _stage_kit

pytestmark = pytest.mark.django_db


def _released(shop, planner, clerk, quantity=20, **kwargs):  # type: ignore[no-untyped-def]
    wo = work_order_create(item=shop.bracket, quantity=quantity, user=planner, **kwargs)
    _stage_kit(wo, clerk)
    return work_order_release(work_order=wo, user=planner)


def _within_shifts(op):  # type: ignore[no-untyped-def]
    windows = working_windows(
        work_centers=[op.work_center],
        start=op.scheduled_start - dt.timedelta(days=1),
        end=op.scheduled_end + dt.timedelta(days=1),
        include_downtime=False,
    )[op.work_center_id]
    return any(a <= op.scheduled_start and op.scheduled_end <= b for a, b in windows)


def test_a_run_schedules_every_released_operation_within_shifts_and_precedence(
    shop, shop_planner, shop_clerk
):
    # given
    orders = [_released(shop, shop_planner, shop_clerk, quantity=q) for q in (20, 30, 10)]
    # when
    run = schedule_run(trigger="test", user=shop_planner)
    # then
    assert run.status == "done", run.error
    assert run.engine.startswith(("cpsat", "dispatch"))
    assert run.inputs["operations"] == 6
    assert run.objective["makespan_minutes"] > 0
    for wo in orders:
        first, second = Operation.objects.filter(work_order=wo).order_by("sequence")
        assert first.scheduled_end <= second.scheduled_start
        assert _within_shifts(first)
        assert _within_shifts(second)
        assert WorkOrder.objects.get(pk=wo.pk).scheduled_end == second.scheduled_end
    ranks = sorted(
        Operation.objects.filter(work_center=shop.saw).values_list("dispatch_rank", flat=True)
    )
    assert ranks == [1, 2, 3]


def test_the_problem_carries_calendars_changeovers_and_material_dates(
    shop, shop_planner, shop_clerk
):
    _released(shop, shop_planner, shop_clerk)
    plant = schedule_problem_build()
    mill = plant.problem.resource_by_id[shop.mill.pk]
    assert mill.capacity == 2
    assert mill.unavailable  # the nights are closed
    cut, alu = shop.families["cut"], shop.families["alu"]
    key = (f"{shop.mill.pk}:{cut.pk}", f"{shop.mill.pk}:{alu.pk}")
    assert plant.problem.changeover[key] == 30


def test_a_work_center_going_down_reschedules_and_moves_its_operations(
    shop, shop_planner, shop_clerk, shop_floor_lead, settings, django_capture_on_commit_callbacks
):
    # given: events are processed and the schedule re-run as they commit
    settings.SCHEDULE_AUTOMATICALLY = True
    with django_capture_on_commit_callbacks(execute=True):
        wo = _released(shop, shop_planner, shop_clerk)
    first_run = ScheduleRun.objects.order_by("-id").first()
    assert first_run is not None
    assert first_run.status == "done"
    saw_op = Operation.objects.get(work_order=wo, work_center=shop.saw)
    before = saw_op.scheduled_start
    # when: the saw is down until tomorrow evening
    with django_capture_on_commit_callbacks(execute=True):
        downtime_report(
            work_center=shop.saw,
            user=shop_floor_lead,
            reason_code="capacity",
            expected_end=timezone.now() + dt.timedelta(days=1, hours=12),
        )
    # then
    run = ScheduleRun.objects.order_by("-id").first()
    assert run.pk != first_run.pk
    assert "workcenter.down" in run.trigger
    saw_op.refresh_from_db()
    back_up = timezone.now() + dt.timedelta(days=1, hours=12) - dt.timedelta(minutes=1)
    assert saw_op.scheduled_start >= back_up
    assert saw_op.scheduled_start > before
    assert run.changes["moved_operations"] >= 1


def test_a_run_that_makes_an_order_late_announces_the_promise_at_risk_once(
    shop, shop_planner, shop_clerk
):
    from orders.models import OrderState
    from planning.services import work_orders_for_sales_order
    from tests.factories import make_order

    order = make_order(state=OrderState.CONFIRMED, lines=[(shop.bracket, 2000)])
    (wo,) = work_orders_for_sales_order(order=order, user=shop_planner)
    WorkOrder.objects.filter(pk=wo.pk).update(due_date=timezone.localdate())
    _stage_kit(wo, shop_clerk)
    work_order_release(
        work_order=WorkOrder.objects.get(pk=wo.pk),
        user=shop_planner,
        override_reason_code="capacity",
        override_note="more than a week of work",
    )
    run = schedule_run(trigger="test")
    assert wo.number in run.changes["newly_late"]
    assert Event.objects.filter(type="order.promise_at_risk", object_id=order.pk).count() == 1
    schedule_run(trigger="again")
    assert Event.objects.filter(type="order.promise_at_risk", object_id=order.pk).count() == 1
