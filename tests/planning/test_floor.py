"""The shop floor: operations start, pause, resume and report in transfer batches;
labour; downtime; operators identified by badge or PIN."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import Kit, LotGenealogy, StockBalance, StockMove
from mes.core.errors import Conflict, IllegalTransition, NotPermitted, ValidationFailed
from mes.core.models import Event, TransitionLog
from mes.core.roles import OPERATOR, WAREHOUSE
from planning.models import (
    Downtime,
    LabourEntry,
    Operation,
    RoutingOperation,
    WorkCenter,
    WorkOrder,
)
from planning.services import (
    downtime_report,
    downtimes_progress,
    labour_clock_off,
    labour_clock_on,
    operation_pause,
    operation_report,
    operation_resume,
    operation_start,
    operator_badge_set,
    operator_identify,
    work_center_bring_up,
    work_order_create,
    work_order_release,
)
from tests.factories import user_with_role

from .test_work_orders import _stage_kit

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):  # type: ignore[no-untyped-def]
    return user_with_role(OPERATOR, username="op1")


def _released(shop, planner, clerk, quantity=50):  # type: ignore[no-untyped-def]
    wo = work_order_create(item=shop.bracket, quantity=quantity, user=planner)
    _stage_kit(wo, clerk)
    wo = work_order_release(work_order=wo, user=planner)
    first, second = wo.operations.order_by("sequence")
    return wo, first, second


def _fresh(op):  # type: ignore[no-untyped-def]
    return Operation.objects.get(pk=op.pk)


def test_starting_the_first_operation_starts_the_order_issues_the_kit_and_clocks_on(
    shop, shop_planner, shop_clerk, operator
):
    # given
    wo, first, _second = _released(shop, shop_planner, shop_clerk)
    # when
    started = operation_start(operation=first, operator=operator, at_work_center=shop.saw)
    # then
    assert started.state == "running"
    assert WorkOrder.objects.get(pk=wo.pk).state == "in_progress"
    assert Kit.objects.get(work_order_id=wo.pk).state == "issued"
    assert StockMove.objects.filter(type="issue", document_id=wo.pk).count() == 1
    assert LabourEntry.objects.filter(operation=first, operator=operator, clock_off=None).exists()
    assert Event.objects.filter(type="operation.started", object_id=first.pk).exists()


def test_transfer_batches_ten_of_fifty_let_the_next_start_and_complete_ten_and_no_more(
    shop, shop_planner, shop_clerk, operator
):
    # given
    _wo, first, second = _released(shop, shop_planner, shop_clerk)
    operation_start(operation=first, operator=operator)
    # when: 10 of 50 good on the first
    operation_report(operation=first, operator=operator, good=10)
    # then
    second = _fresh(second)
    assert (second.state, second.quantity_available) == ("ready", Decimal("10"))
    assert _fresh(first).state == "running"
    operation_start(operation=second, operator=operator)
    with pytest.raises(ValidationFailed, match="Only 10 can still be reported"):
        operation_report(operation=second, operator=operator, good=11)
    assert _fresh(second).quantity_good == 0
    outcome = operation_report(operation=second, operator=operator, good=10)
    # the second has done all that reached it: it waits, ready, for more
    assert (outcome.operation.state, outcome.finished) == ("ready", False)
    assert _fresh(second).quantity_good == Decimal("10")


def test_pausing_and_resuming_partial_reports_never_double_count(
    shop, shop_planner, shop_clerk, operator
):
    _wo, first, second = _released(shop, shop_planner, shop_clerk)
    operation_start(operation=first, operator=operator)
    operation_report(operation=first, operator=operator, good=5)
    operation_pause(operation=first, operator=operator, reason_code="material", note="waiting")
    with pytest.raises(IllegalTransition):
        operation_pause(operation=first, operator=operator, reason_code="material")
    operation_resume(operation=first, operator=operator)
    operation_report(operation=first, operator=operator, good=5)
    first, second = _fresh(first), _fresh(second)
    assert (first.quantity_good, second.quantity_available) == (Decimal("10"), Decimal("10"))
    assert first.reports.count() == 2


def test_scrap_upstream_lowers_what_downstream_may_complete_and_the_order_completes(
    shop, shop_planner, shop_clerk, operator
):
    # given
    wo, first, second = _released(shop, shop_planner, shop_clerk)
    operation_start(operation=first, operator=operator)
    # when: 45 good and 5 scrapped finishes the first step
    outcome = operation_report(
        operation=first, operator=operator, good=45, scrap=5, scrap_reason="process-scrap"
    )
    assert outcome.finished
    operation_start(operation=second, operator=operator)
    with pytest.raises(ValidationFailed):
        operation_report(operation=second, operator=operator, good=46)
    done = operation_report(operation=second, operator=operator, good=45)
    # then
    assert (done.finished, done.work_order_completed) == (True, True)
    wo.refresh_from_db()
    assert (wo.state, wo.quantity_good, wo.quantity_scrap) == (
        "completed",
        Decimal("45"),
        Decimal("5"),
    )
    received = StockMove.objects.get(type="production", document_id=wo.pk)
    assert (received.item, received.quantity) == (shop.bracket, Decimal("45"))
    assert StockBalance.objects.get(item=shop.bracket).on_hand == Decimal("45")
    assert not LabourEntry.objects.filter(clock_off=None).exists()


def test_a_lot_tracked_output_has_its_genealogy(shop, shop_planner, shop_clerk, operator):
    # given: lot-tracked steel and bracket
    from inventory.models import Lot, MoveType
    from inventory.services.ledger import move_post

    type(shop.steel).objects.filter(pk=shop.steel.pk).update(tracking="lot")
    type(shop.bracket).objects.filter(pk=shop.bracket.pk).update(tracking="lot")
    StockBalance.objects.filter(item=shop.steel).delete()
    shop.steel.refresh_from_db()
    shop.bracket.refresh_from_db()
    lot = Lot.objects.create(item=shop.steel, number="HEAT-77")
    move_post(
        type=MoveType.RECEIPT,
        item=shop.steel,
        quantity=100,
        actor=None,
        to_location=shop.stock,
        lot=lot,
    )
    wo, first, second = _released(shop, shop_planner, shop_clerk, quantity=4)
    # when
    operation_start(operation=first, operator=operator)
    operation_report(operation=first, operator=operator, good=4)
    operation_start(operation=second, operator=operator)
    operation_report(operation=second, operator=operator, good=4)
    # then
    produced = Lot.objects.get(item=shop.bracket)
    assert LotGenealogy.objects.filter(produced=produced, consumed=lot).exists()


def test_bad_quantities_are_refused_and_nothing_changes(shop, shop_planner, shop_clerk, operator):
    _wo, first, _second = _released(shop, shop_planner, shop_clerk)
    operation_start(operation=first, operator=operator)
    for kwargs, field in [
        ({"good": -1}, "good"),
        ({"good": "abc"}, "good"),
        ({"good": 0}, "good"),
        ({"good": 51}, "good"),
        ({"scrap": 2}, "scrap_reason"),
        ({"rework": 2, "rework_reason": "quality"}, "rework"),
        ({"good": "1.0001"}, "good"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            operation_report(operation=first, operator=operator, **kwargs)
        assert field in refused.value.errors, kwargs
    first = _fresh(first)
    assert (first.quantity_good, first.quantity_scrap, first.reports.count()) == (0, 0, 0)


def test_rework_goes_back_through_the_rework_operation(shop, shop_planner, shop_clerk, operator):
    RoutingOperation.objects.create(
        routing=shop.routing,
        sequence=15,
        name="Rework cut",
        work_center=shop.saw,
        is_rework=True,
    )
    wo = work_order_create(item=shop.bracket, quantity=50, user=shop_planner)
    _stage_kit(wo, shop_clerk)
    wo = work_order_release(work_order=wo, user=shop_planner)
    first, rework_op, second = wo.operations.order_by("sequence")
    operation_start(operation=first, operator=operator)
    operation_report(operation=first, operator=operator, good=8, rework=2, rework_reason="quality")
    rework_op = _fresh(rework_op)
    assert (rework_op.state, rework_op.quantity_available) == ("ready", Decimal("2"))
    assert _fresh(second).quantity_available == Decimal("8")
    operation_start(operation=rework_op, operator=operator, out_of_sequence_reason="rework first")
    operation_report(operation=rework_op, operator=operator, good=2)
    assert _fresh(second).quantity_available == Decimal("10")


def test_the_wrong_role_and_the_wrong_states_are_refused(shop, shop_planner, shop_clerk, operator):
    clerk = user_with_role(WAREHOUSE, username="notanoperator")
    wo = work_order_create(item=shop.bracket, quantity=5, user=shop_planner)
    op = wo.operations.order_by("sequence").first()
    with pytest.raises(Conflict, match="Planned"):
        operation_start(operation=op, operator=operator)
    _wo, first, second = _released(shop, shop_planner, shop_clerk)
    with pytest.raises(NotPermitted):
        operation_start(operation=first, operator=clerk)
    with pytest.raises(IllegalTransition) as refused:
        operation_start(operation=second, operator=operator)
    assert "Allowed now" in refused.value.message
    with pytest.raises(Conflict, match="Start"):
        operation_report(operation=first, operator=operator, good=1)
    assert _fresh(first).state == "ready"


def test_out_of_sequence_asks_for_a_reason_and_records_it(shop, shop_planner, shop_clerk, operator):
    _a, first_a, _ = _released(shop, shop_planner, shop_clerk, quantity=5)
    _b, first_b, _ = _released(shop, shop_planner, shop_clerk, quantity=5)
    Operation.objects.filter(pk=first_a.pk).update(dispatch_rank=1)
    Operation.objects.filter(pk=first_b.pk).update(dispatch_rank=2)
    with pytest.raises(ValidationFailed) as refused:
        operation_start(operation=first_b, operator=operator)
    assert "is next at SAW" in refused.value.message
    operation_start(operation=first_b, operator=operator, out_of_sequence_reason="die is set up")
    log = TransitionLog.objects.get(object_id=first_b.pk, transition="start")
    assert "die is set up" in log.comment


def test_reporting_off_the_routing_is_refused_or_recorded_per_work_center(
    shop, shop_planner, shop_clerk, operator
):
    _wo, first, _ = _released(shop, shop_planner, shop_clerk)
    with pytest.raises(ValidationFailed, match="routed to SAW"):
        operation_start(operation=first, operator=operator, at_work_center=shop.mill)
    WorkCenter.objects.filter(pk=shop.mill.pk).update(refuse_wrong_routing=False)
    shop.mill.refresh_from_db()
    operation_start(operation=first, operator=operator, at_work_center=shop.mill)
    assert first.reports.filter(wrong_routing=True).count() == 1


def test_downtime_pauses_the_work_center_and_one_step_brings_it_up(
    shop, shop_planner, shop_clerk, shop_floor_lead, operator
):
    # given
    _wo, first, _ = _released(shop, shop_planner, shop_clerk)
    operation_start(operation=first, operator=operator)
    # when
    downtime = downtime_report(
        work_center=shop.saw, user=shop_floor_lead, reason_code="capacity", note="blade broke"
    )
    # then
    assert WorkCenter.objects.get(pk=shop.saw.pk).status == "down"
    assert _fresh(first).state == "paused"
    event = Event.objects.get(type="workcenter.down", object_id=shop.saw.pk)
    assert event.payload["work_center"] == "SAW"
    with pytest.raises(Conflict, match="already down"):
        downtime_report(work_center=shop.saw, user=shop_floor_lead, reason_code="capacity")
    with pytest.raises(Conflict, match="down"):
        operation_resume(operation=first, operator=operator)
    with pytest.raises(NotPermitted):
        work_center_bring_up(work_center=shop.saw, user=operator)
    # when
    closed = work_center_bring_up(work_center=shop.saw, user=shop_floor_lead)
    # then
    assert closed.pk == downtime.pk
    assert closed.ended_at is not None
    assert WorkCenter.objects.get(pk=shop.saw.pk).status == "up"
    assert Event.objects.filter(type="workcenter.up", object_id=shop.saw.pk).exists()
    with pytest.raises(Conflict, match="not down"):
        work_center_bring_up(work_center=shop.saw, user=shop_floor_lead)


def test_open_downtimes_are_announced_with_their_duration(shop, shop_floor_lead):
    downtime_report(
        work_center=shop.saw,
        user=shop_floor_lead,
        reason_code="capacity",
        started_at=timezone.now() - dt.timedelta(minutes=20),
    )
    assert downtimes_progress() == 1
    last = Event.objects.filter(type="workcenter.down").order_by("-id").first()
    assert last.payload["down_minutes"] >= 20
    assert Downtime.objects.filter(ended_at=None).count() == 1


def test_labour_is_split_between_parallel_operations_and_overtime_counted(
    shop, shop_planner, shop_clerk, operator
):
    # given: two orders' first operations run by one operator
    _a, first_a, _ = _released(shop, shop_planner, shop_clerk, quantity=5)
    _b, first_b, _ = _released(shop, shop_planner, shop_clerk, quantity=5)
    operation_start(operation=first_a, operator=operator)
    operation_start(operation=first_b, operator=operator, out_of_sequence_reason="both at once")
    tz = timezone.get_current_timezone()
    clock_on = dt.datetime(2026, 11, 30, 21, 0, tzinfo=tz)  # shift ends at 22:00
    LabourEntry.objects.filter(operator=operator).update(clock_on=clock_on)
    # when
    entry = labour_clock_off(
        operation=first_a, operator=operator, at=clock_on + dt.timedelta(hours=2)
    )
    # then: 120 minutes shared by two operations, 60 of them after the shift
    assert entry.minutes == Decimal("60.00")
    assert entry.overtime_minutes == Decimal("30.00")
    with pytest.raises(Conflict):
        labour_clock_off(operation=first_a, operator=operator)
    labour_clock_on(operation=first_a, operator=operator)
    assert LabourEntry.objects.filter(operation=first_a, clock_off=None).count() == 1


def test_operators_identify_by_badge_or_pin(operator):
    operator_badge_set(user=operator, badge_code="OP-7", pin="4711")
    assert operator_identify(code="OP-7") == operator
    assert operator_identify(code="4711") == operator
    with pytest.raises(NotPermitted):
        operator_identify(code="0000")
    with pytest.raises(ValidationFailed):
        operator_identify(code=" ")
    with pytest.raises(ValidationFailed):
        operator_badge_set(user=operator, pin="12a4")
    other = user_with_role(OPERATOR, username="op2")
    with pytest.raises(ValidationFailed, match="taken"):
        operator_badge_set(user=other, badge_code="OP-7")
