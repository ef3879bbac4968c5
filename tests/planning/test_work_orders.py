"""Work orders: made by hand or from a confirmed order, operations from the routing,
components reserved; release lists every blocking reason; priority explains itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from exceptions.models import DecisionRule
from inventory.models import Kit, MoveType, QualityHold, Reservation
from inventory.services.ledger import move_post
from mes.core.errors import Conflict, IllegalTransition, NotPermitted, ValidationFailed
from mes.core.models import Event, ReasonCode, TransitionLog
from orders.models import OrderState
from planning.models import Downtime, Operation, WorkCenter, WorkOrder
from planning.services import (
    release_check,
    work_order_create,
    work_order_expedite,
    work_order_release,
    work_order_transition,
    work_orders_for_sales_order,
)
from tests.factories import CustomerFactory, make_order

pytestmark = pytest.mark.django_db


def _codes(check):  # type: ignore[no-untyped-def]
    return sorted(b.code for b in check.blockers)


def _stage_kit(work_order, user):  # type: ignore[no-untyped-def]
    """Pick every reservation of the work order's kit to line-side and stage it."""
    from inventory.services.kits import kit_stage

    kit = Kit.objects.get(work_order_id=work_order.pk)
    for res in Reservation.objects.filter(
        demand_type="work_order", demand_id=work_order.pk, state="active"
    ):
        move_post(
            type=MoveType.PICK,
            item=res.item,
            quantity=res.open_quantity,
            actor=user,
            from_location=res.location,
            to_location=kit.staging_location,
            lot=res.lot,
            reservation=res,
            document_type="kit",
            document_id=kit.pk,
            document_ref=kit.number,
        )
    Kit.objects.filter(pk=kit.pk).update(state=Kit.State.PICKING)
    return kit_stage(kit=Kit.objects.get(pk=kit.pk), actor=user)


def test_a_planner_plans_a_work_order_with_operations_and_reserved_components(shop, shop_planner):
    # when
    wo = work_order_create(item=shop.bracket, quantity=40, user=shop_planner)
    # then
    assert wo.number == f"WO-{wo.pk:06d}"
    assert wo.state == "planned"
    ops = list(wo.operations.order_by("sequence"))
    assert [(o.name, o.work_center.code, o.quantity_planned) for o in ops] == [
        ("Cut", "SAW", Decimal("40")),
        ("Mill", "MILL", Decimal("40")),
    ]
    assert all(o.state == "pending" for o in ops)
    reserved = Reservation.objects.get(demand_type="work_order", demand_id=wo.pk)
    assert (reserved.item, reserved.quantity) == (shop.steel, Decimal("20.000"))
    kit = Kit.objects.get(work_order_id=wo.pk)
    assert kit.staging_location == shop.line_side["SAW"]
    assert Event.objects.filter(type="workorder.created", object_id=wo.pk).exists()


def test_planning_is_refused_for_a_bought_item_bad_quantity_and_the_wrong_role(
    shop, shop_planner, shop_floor_lead
):
    with pytest.raises(ValidationFailed, match="bought"):
        work_order_create(item=shop.bought, quantity=5, user=shop_planner)
    with pytest.raises(ValidationFailed):
        work_order_create(item=shop.bracket, quantity="-3", user=shop_planner)
    with pytest.raises(NotPermitted):
        work_order_create(item=shop.bracket, quantity=5, user=shop_floor_lead)
    assert not WorkOrder.objects.exists()


def test_make_to_order_makes_one_work_order_per_made_line_once(shop, shop_planner):
    # given
    customer = CustomerFactory(priority_class="A")
    order = make_order(
        state=OrderState.CONFIRMED,
        customer=customer,
        lines=[(shop.bracket, 10), (shop.bought, 5)],
    )
    # when
    created = work_orders_for_sales_order(order=order, user=shop_planner)
    again = work_orders_for_sales_order(order=order, user=shop_planner)
    # then
    assert [(wo.item, wo.quantity, wo.kind) for wo in created] == [
        (shop.bracket, Decimal("10"), "mto")
    ]
    assert again == []
    assert created[0].due_date == order.lines.get(item=shop.bracket).promise_date
    assert "customer class A" in created[0].priority_explanation


def test_make_to_order_is_refused_for_a_draft_order(shop, shop_planner):
    order = make_order(state=OrderState.DRAFT, lines=[(shop.bracket, 10)])
    with pytest.raises(Conflict, match="confirmed"):
        work_orders_for_sales_order(order=order, user=shop_planner)


def test_release_waits_for_the_kit_and_goes_once_it_is_staged(shop, shop_planner, shop_clerk):
    # given
    wo = work_order_create(item=shop.bracket, quantity=40, user=shop_planner)
    # then
    assert _codes(release_check(work_order=wo)) == ["kit_not_staged"]
    with pytest.raises(Conflict, match="not staged"):
        work_order_release(work_order=wo, user=shop_planner)
    assert WorkOrder.objects.get(pk=wo.pk).state == "planned"
    # when
    _stage_kit(wo, shop_clerk)
    released = work_order_release(work_order=wo, user=shop_planner)
    # then
    assert released.state == "released"
    first, second = released.operations.order_by("sequence")
    assert (first.state, first.quantity_available) == ("ready", Decimal("40"))
    assert (second.state, second.quantity_available) == ("pending", Decimal("0"))
    assert Event.objects.filter(type="workorder.released", object_id=wo.pk).exists()


def test_release_lists_a_shortage(shop, shop_planner):
    # given: only 5 m of steel for 20 m needed
    from inventory.services.reservations import reservations_release_for_demand

    wo = work_order_create(item=shop.bracket, quantity=40, user=shop_planner)
    reservations_release_for_demand(demand_type="work_order", demand_id=wo.pk, actor=None)
    move_post(
        type=MoveType.SCRAP, item=shop.steel, quantity=995, actor=None, from_location=shop.stock
    )
    from inventory.services.reservations import reserve

    reserve(
        item=shop.steel,
        quantity=20,
        demand_type="work_order",
        demand_id=wo.pk,
        demand_ref=wo.number,
        actor=None,
    )
    # then
    check = release_check(work_order=wo)
    assert _codes(check) == ["material_short"]
    assert "STEEL-BAR is short by 15 m." in [b.message for b in check.blockers]


def test_release_lists_no_routing_a_quality_hold_a_down_work_center_and_capacity(
    shop, shop_planner, shop_clerk
):
    # given: a routing-less item
    from inventory.models import Item

    plate = Item.objects.create(sku="PLATE", name="Plate", source="make")
    no_routing = work_order_create(item=plate, quantity=1, user=shop_planner)
    assert _codes(release_check(work_order=no_routing)) == ["no_routing"]
    # a staged order, then a hold on it, its mill down and more work than the week holds
    wo = work_order_create(item=shop.bracket, quantity=40, user=shop_planner)
    _stage_kit(wo, shop_clerk)
    QualityHold.objects.create(
        number="QH-1",
        scope="work_order",
        work_order_id=wo.pk,
        work_order_ref=wo.number,
        reason_code=ReasonCode.objects.get(code="quality"),
        note="Burr on first parts",
    )
    WorkCenter.objects.filter(pk=shop.mill.pk).update(status="down")
    Downtime.objects.create(
        work_center=shop.mill,
        reason_code=ReasonCode.objects.get(code="capacity"),
        started_at=timezone.now(),
    )
    big = work_order_create(
        item=shop.bracket, quantity=8000, user=shop_planner, reserve_components=False
    )
    # then
    check = release_check(work_order=wo)
    assert _codes(check) == ["quality_hold", "work_center_down"]
    assert any("Burr on first parts" in b.message for b in check.blockers)
    assert "Work center MILL is down." in [b.message for b in check.blockers]
    assert "capacity" in _codes(release_check(work_order=big))


def test_a_release_rule_blocks_with_its_message(shop, shop_planner, shop_clerk):
    # given
    DecisionRule.objects.create(
        name="No big batches on Fridays",
        decision_point="release",
        condition="work_order.quantity > 30",
        effect="block",
        message="Batches over 30 need the production manager.",
        order=50,
    )
    wo = work_order_create(item=shop.bracket, quantity=40, user=shop_planner)
    _stage_kit(wo, shop_clerk)
    # then
    check = release_check(work_order=wo)
    assert [(b.code, b.message, b.rule) for b in check.blockers] == [
        ("rule", "Batches over 30 need the production manager.", "No big batches on Fridays")
    ]


def test_override_needs_the_permission_a_reason_and_is_recorded(
    shop, shop_planner, shop_floor_lead
):
    # given: the kit is not staged
    wo = work_order_create(item=shop.bracket, quantity=40, user=shop_planner)
    # then: no reason, no note, wrong role
    with pytest.raises(Conflict):
        work_order_release(work_order=wo, user=shop_planner)
    with pytest.raises(ValidationFailed):
        work_order_release(
            work_order=wo, user=shop_planner, override_reason_code="material", override_note=" "
        )
    with pytest.raises(NotPermitted):
        work_order_release(
            work_order=wo,
            user=shop_floor_lead,
            override_reason_code="material",
            override_note="Parts are at the saw already",
        )
    assert WorkOrder.objects.get(pk=wo.pk).state == "planned"
    # when
    released = work_order_release(
        work_order=wo,
        user=shop_planner,
        override_reason_code="material",
        override_note="Parts are at the saw already",
    )
    # then
    assert released.state == "released"
    log = TransitionLog.objects.get(object_id=wo.pk, transition="release")
    assert log.reason_code.code == "material"
    assert "not staged" in log.comment
    assert "Parts are at the saw already" in log.comment
    event = Event.objects.get(type="workorder.released", object_id=wo.pk)
    assert event.payload["overridden"]


def test_releasing_twice_is_refused_naming_what_is_allowed(shop, shop_planner):
    wo = work_order_create(item=shop.bracket, quantity=4, user=shop_planner)
    work_order_release(
        work_order=wo, user=shop_planner, override_reason_code="material", override_note="test"
    )
    with pytest.raises(IllegalTransition) as refused:
        work_order_release(work_order=WorkOrder.objects.get(pk=wo.pk), user=shop_planner)
    assert "Allowed now" in refused.value.message


def test_cancel_needs_a_reason_and_frees_the_reservations(shop, shop_planner):
    wo = work_order_create(item=shop.bracket, quantity=40, user=shop_planner)
    with pytest.raises(ValidationFailed):
        work_order_transition(
            work_order=wo, user=shop_planner, transition="cancel", reason_code="other"
        )
    cancelled = work_order_transition(
        work_order=wo,
        user=shop_planner,
        transition="cancel",
        reason_code="customer-request",
        comment="Customer cancelled",
    )
    assert cancelled.state == "cancelled"
    assert set(Operation.objects.filter(work_order=wo).values_list("state", flat=True)) == {
        "cancelled"
    }
    assert not Reservation.objects.filter(demand_id=wo.pk, state="active").exists()


def test_the_floor_cannot_release_through_the_generic_transition(shop, shop_planner):
    wo = work_order_create(item=shop.bracket, quantity=4, user=shop_planner)
    with pytest.raises(NotPermitted):
        work_order_transition(work_order=wo, user=shop_planner, transition="release")


def test_priority_explains_promise_class_and_expedite(shop, shop_planner):
    # given
    customer = CustomerFactory(priority_class="A")
    order = make_order(state=OrderState.CONFIRMED, customer=customer, lines=[(shop.bracket, 10)])
    (wo,) = work_orders_for_sales_order(order=order, user=shop_planner)
    before = wo.priority_score
    # when
    shop_planner.first_name, shop_planner.last_name = "Jo", "Planner"
    shop_planner.save()
    work_order_expedite(
        work_order=wo,
        user=shop_planner,
        expedite=True,
        reason_code="expedite",
        reason_text="Line stop at the customer",
    )
    # then
    wo.refresh_from_db()
    assert wo.priority_score == before + 30
    days = (wo.due_date - timezone.localdate()).days
    assert wo.priority_explanation == [
        f"promise date in {days} days",
        "customer class A",
        "expedited by Jo Planner: Line stop at the customer",
    ]


def test_expedite_is_governed(shop, shop_planner, shop_floor_lead):
    wo = work_order_create(item=shop.bracket, quantity=4, user=shop_planner)
    with pytest.raises(NotPermitted):
        work_order_expedite(
            work_order=wo,
            user=shop_floor_lead,
            expedite=True,
            reason_code="expedite",
            reason_text="please",
        )
    with pytest.raises(ValidationFailed):
        work_order_expedite(
            work_order=wo, user=shop_planner, expedite=True, reason_code="expedite", reason_text=""
        )
    assert not WorkOrder.objects.get(pk=wo.pk).expedite


def test_a_priority_rule_bumps_the_score_with_its_name(shop, shop_planner):
    DecisionRule.objects.create(
        name="Big batches first",
        decision_point="priority",
        condition="work_order.quantity >= 100",
        effect="bump_priority",
        priority_value=7,
        order=10,
    )
    wo = work_order_create(
        item=shop.bracket, quantity=100, user=shop_planner, reserve_components=False
    )
    small = work_order_create(
        item=shop.bracket, quantity=5, user=shop_planner, reserve_components=False
    )
    assert wo.priority_score == small.priority_score + 7
    assert "rule “Big batches first” +7" in wo.priority_explanation


def test_calendar_windows_follow_shifts_holidays_overtime_and_downtime(shop):
    from planning.calendars import minutes_in, working_windows
    from planning.models import CalendarException

    tz = timezone.get_current_timezone()
    monday = dt.date(2026, 11, 30)
    start = dt.datetime.combine(monday, dt.time(0), tzinfo=tz)
    end = start + dt.timedelta(days=2)
    CalendarException.objects.create(date=monday, kind="closed")  # plant holiday
    CalendarException.objects.create(
        work_center=shop.saw,
        date=monday + dt.timedelta(days=1),
        kind="overtime",
        start=dt.time(22),
        end=dt.time(23, 30),
    )
    Downtime.objects.create(
        work_center=shop.saw,
        reason_code=ReasonCode.objects.get(code="capacity"),
        started_at=start + dt.timedelta(days=1, hours=8),
        ended_at=start + dt.timedelta(days=1, hours=9),
    )
    windows = working_windows(work_centers=[shop.saw, shop.mill], start=start, end=end)
    assert minutes_in(windows[shop.mill.pk]) == 16 * 60
    assert minutes_in(windows[shop.saw.pk]) == 16 * 60 + 90 - 60


def test_release_checks_for_a_board_take_the_same_queries_for_few_and_many(
    shop, shop_planner, django_assert_num_queries
):
    from planning.services.work_orders import release_checks

    customer = CustomerFactory(priority_class="A")
    order = make_order(state=OrderState.CONFIRMED, customer=customer, lines=[(shop.bracket, 5)])
    work_orders_for_sales_order(order=order, user=shop_planner)
    for _ in range(2):
        work_order_create(item=shop.bracket, quantity=5, user=shop_planner)

    def board():  # type: ignore[no-untyped-def]
        return list(
            WorkOrder.objects.filter(state="planned")
            .select_related("item", "sales_order_line__order__customer")
            .prefetch_related("sales_order_line__order__lines")
        )

    few = board()
    with django_assert_num_queries(11) as captured:
        release_checks(work_orders=few)
    count = len(captured.captured_queries)
    for _ in range(9):
        work_order_create(item=shop.bracket, quantity=5, user=shop_planner)
    many = board()
    assert len(many) == 12
    with django_assert_num_queries(count):
        checks = release_checks(work_orders=many)
    assert all(c.blockers for c in checks)


def test_a_release_refused_for_shortage_raises_it_to_the_planner(
    shop, shop_planner, django_capture_on_commit_callbacks
):
    from exceptions.models import PlantException
    from inventory.services.reservations import reservations_release_for_demand

    wo = work_order_create(item=shop.bracket, quantity=40, user=shop_planner)
    reservations_release_for_demand(demand_type="work_order", demand_id=wo.pk, actor=None)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Conflict):
        work_order_release(work_order=wo, user=shop_planner)
    event = Event.objects.get(type="material.shortage", payload__at_release=True)
    assert event.payload["item"] == "STEEL-BAR"
    exc = PlantException.objects.get(rule__name="Material shortage at release: raise to Planner")
    assert exc.title == f"Material STEEL-BAR short by 20.0 for {wo.number}"


def test_a_make_to_order_rule_makes_work_orders_when_an_order_is_confirmed(
    shop, django_capture_on_commit_callbacks
):
    # given: the default rule, switched on for class A customers
    rule = DecisionRule.objects.get(name="Make to order when an order is confirmed")
    assert not rule.active
    DecisionRule.objects.filter(pk=rule.pk).update(
        active=True, condition='order.customer.priority_class == "A"'
    )
    a_customer = CustomerFactory(priority_class="A")
    c_customer = CustomerFactory(priority_class="C")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        a_order = make_order(
            state=OrderState.CONFIRMED, customer=a_customer, lines=[(shop.bracket, 10)]
        )
        c_order = make_order(
            state=OrderState.CONFIRMED, customer=c_customer, lines=[(shop.bracket, 5)]
        )
    # then
    made = WorkOrder.objects.get()
    assert (made.sales_order_line.order, made.quantity) == (a_order, Decimal("10"))
    assert not WorkOrder.objects.filter(sales_order_line__order=c_order).exists()
