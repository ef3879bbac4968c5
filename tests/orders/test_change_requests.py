"""Change requests: before production a planner's change applies at once (and is still
recorded); in production it waits for a second planner. Every step is history and events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from inventory.models import Item
from mes.core.errors import (
    Conflict,
    DomainError,
    IllegalTransition,
    NotPermitted,
    ValidationFailed,
)
from mes.core.models import Event, FieldChange, ReasonCode, TransitionLog
from mes.core.roles import INTEGRATION, PLANNER
from mes.core.transitions import transition_run
from orders import services
from orders.models import ChangeRequest, OrderState, SalesOrder, SalesOrderLine

from ..factories import ItemFactory, make_order, user_with_role

pytestmark = pytest.mark.django_db

S = OrderState
CR = ChangeRequest.State
Kind = ChangeRequest.Kind
REASON = "customer-request"


def _today() -> dt.date:
    return timezone.localdate()


def _line(order: SalesOrder, line_no: int = 10) -> SalesOrderLine:
    return order.lines.get(line_no=line_no)


def _request_quantity(order: SalesOrder, user: Any, quantity: str = "15") -> ChangeRequest:
    return services.change_request_create(
        order=order,
        user=user,
        kind=Kind.QUANTITY,
        reason_code=REASON,
        reason_text="Customer needs more",
        line=_line(order),
        new_quantity=Decimal(quantity),
    )


def _cr_in_state(state: str, *, requester: Any, approver: Any) -> ChangeRequest:
    """A quantity change on an order in production, brought to `state` by the services."""
    order = make_order(state=S.IN_PRODUCTION)
    cr = _request_quantity(order, requester)
    if state == CR.APPROVED:
        cr = services.change_request_approve(change_request=cr, user=approver, apply=False)
    elif state == CR.REJECTED:
        cr = services.change_request_reject(change_request=cr, user=approver, note="Too late")
    elif state == CR.APPLIED:
        cr = services.change_request_approve(change_request=cr, user=approver)
    assert cr.state == state
    return ChangeRequest.objects.get(pk=cr.pk)


def _history(instance: Any) -> list[tuple[str, str, str, Any]]:
    return [
        (log.transition, log.from_state, log.to_state, log.actor)
        for log in TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(type(instance)), object_id=instance.pk
        ).select_related("actor")
    ]


def _snapshot(order: SalesOrder) -> tuple[Any, ...]:
    fresh = SalesOrder.objects.get(pk=order.pk)
    return (
        fresh.state,
        list(
            fresh.lines.values_list(
                "line_no", "item_id", "quantity", "requested_date", "promise_date"
            )
        ),
        list(ChangeRequest.objects.values_list("pk", "state", "decided_by", "applied_at")),
        TransitionLog.objects.count(),
        FieldChange.objects.count(),
        Event.objects.count(),
    )


class EventsSince:
    def __init__(self) -> None:
        self.before = set(Event.objects.values_list("pk", flat=True))

    def types(self) -> list[str]:
        return list(Event.objects.exclude(pk__in=self.before).values_list("type", flat=True))

    def all(self) -> list[Event]:
        return list(Event.objects.exclude(pk__in=self.before))


# --- before production: applies at once -----------------------------------------------


def test_quantity_change_before_production_applies_at_once(planner: Any) -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    line = _line(order)
    events = EventsSince()
    # when
    cr = _request_quantity(order, planner, "15")
    # then
    cr.refresh_from_db()
    assert (cr.state, cr.needs_approval, cr.kind) == (CR.APPLIED, False, Kind.QUANTITY)
    assert (cr.decided_by, cr.old_value, cr.new_quantity) == (planner, "10.000", Decimal("15"))
    assert cr.number == f"CR-{cr.pk:06d}"
    assert cr.applied_at is not None
    line.refresh_from_db()
    assert line.quantity == Decimal("15")
    change = FieldChange.objects.get(object_id=line.pk, field="quantity")
    assert (change.old_value, change.new_value, change.actor) == ("10.000", "15.000", planner)
    assert change.reason_code.code == REASON
    assert change.reason_text == f"{cr.number}: Customer needs more"
    assert events.types() == [
        "change_request.requested",
        "change_request.approved",
        "change_request.applied",
        "order.changed",
    ]
    assert _history(cr) == [
        ("auto_approve", CR.REQUESTED, CR.APPROVED, planner),
        ("apply", CR.APPROVED, CR.APPLIED, planner),
    ]
    assert SalesOrder.objects.get(pk=order.pk).state == S.CONFIRMED


def test_change_applies_at_once_while_on_hold_from_confirmed(planner: Any) -> None:
    # given
    order = make_order(state=S.ON_HOLD)
    # when
    cr = _request_quantity(order, planner, "12")
    # then
    assert (cr.state, cr.needs_approval) == (CR.APPLIED, False)
    assert _line(order).quantity == Decimal("12")


# --- in production: a second planner approves ------------------------------------------


@pytest.mark.parametrize("state", [S.IN_PRODUCTION, S.READY_TO_SHIP, S.PARTIALLY_SHIPPED])
def test_change_in_production_waits_for_approval(planner: Any, state: str) -> None:
    # given
    order = make_order(state=state)
    events = EventsSince()
    fields_before = FieldChange.objects.count()
    # when
    cr = _request_quantity(order, planner, "15")
    # then
    cr.refresh_from_db()
    assert (cr.state, cr.needs_approval, cr.decided_by) == (CR.REQUESTED, True, None)
    assert _line(order).quantity == Decimal("10")
    assert FieldChange.objects.count() == fields_before
    assert _history(cr) == []
    [event] = events.all()
    assert event.type == "change_request.requested"
    assert event.payload == {
        "number": cr.number,
        "order": order.number,
        "kind": "quantity",
        "needs_approval": True,
        "old": "10.000",
        "new": "15",
    }


def test_change_held_from_production_waits_for_approval(planner: Any) -> None:
    # given
    order = make_order(state=S.IN_PRODUCTION)
    order = services.sales_order_transition(
        order=order, user=planner, transition="hold", reason_code="quality", comment="Check"
    )
    # when
    cr = _request_quantity(order, planner, "15")
    # then
    assert (cr.state, cr.needs_approval) == (CR.REQUESTED, True)


def test_requester_cannot_approve_their_own_change(planner: Any) -> None:
    # given
    order = make_order(state=S.IN_PRODUCTION)
    cr = _request_quantity(order, planner, "15")
    before = _snapshot(order)
    # when
    with pytest.raises(NotPermitted) as exc:
        services.change_request_approve(change_request=cr, user=planner)
    # then
    assert str(exc.value) == "A planner other than the requester must approve this change."
    assert _snapshot(order) == before


def test_requester_cannot_approve_through_the_transition_either(planner: Any) -> None:
    # given
    order = make_order(state=S.IN_PRODUCTION)
    cr = _request_quantity(order, planner, "15")
    before = _snapshot(order)
    # when
    with pytest.raises(NotPermitted):
        transition_run(instance=cr, transition="approve", user=planner, by=planner)
    # then
    assert _snapshot(order) == before


def test_another_planner_approves_and_the_change_applies(planner: Any, planner2: Any) -> None:
    # given
    order = make_order(state=S.IN_PRODUCTION)
    cr = _request_quantity(order, planner, "15")
    line = _line(order)
    events = EventsSince()
    # when
    cr = services.change_request_approve(change_request=cr, user=planner2, note="OK with us")
    # then
    cr.refresh_from_db()
    assert (cr.state, cr.decided_by, cr.decision_note) == (CR.APPLIED, planner2, "OK with us")
    assert cr.decided_at is not None
    assert cr.applied_at is not None
    line.refresh_from_db()
    assert line.quantity == Decimal("15")
    change = FieldChange.objects.get(object_id=line.pk, field="quantity")
    assert (change.old_value, change.new_value, change.actor) == ("10.000", "15.000", planner2)
    assert events.types() == ["change_request.approved", "change_request.applied", "order.changed"]
    assert _history(cr) == [
        ("approve", CR.REQUESTED, CR.APPROVED, planner2),
        ("apply", CR.APPROVED, CR.APPLIED, planner2),
    ]
    changed = events.all()[-1]
    assert changed.payload == {
        "record": f"orders.salesorderline:{line.pk}",
        "field": "quantity",
        "old": "10.000",
        "new": "15.000",
        "reason_code": REASON,
        "reason_text": f"{cr.number}: Customer needs more",
        "order": order.number,
        "change_request": cr.number,
    }
    assert changed.object_id == order.pk


# --- the transitions of a change request: approve ---------------------------------------


def test_approve_without_applying_leaves_it_approved(planner: Any, planner2: Any) -> None:
    # given
    order = make_order(state=S.IN_PRODUCTION)
    cr = _request_quantity(order, planner, "15")
    events = EventsSince()
    # when
    cr = services.change_request_approve(change_request=cr, user=planner2, apply=False)
    # then
    cr.refresh_from_db()
    assert (cr.state, cr.decided_by, cr.applied_at) == (CR.APPROVED, planner2, None)
    assert _line(order).quantity == Decimal("10")
    assert events.types() == ["change_request.approved"]
    assert _history(cr) == [("approve", CR.REQUESTED, CR.APPROVED, planner2)]


@pytest.mark.parametrize("state", [CR.APPROVED, CR.REJECTED, CR.APPLIED])
def test_approve_from_another_state_is_refused(planner: Any, planner2: Any, state: str) -> None:
    # given
    cr = _cr_in_state(state, requester=planner, approver=planner2)
    third = user_with_role(PLANNER, username="planner3")
    before = _snapshot(cr.order)
    # when
    with pytest.raises(IllegalTransition) as exc:
        services.change_request_approve(change_request=cr, user=third)
    # then
    assert exc.value.current_state == state
    assert exc.value.allowed == (["apply"] if state == CR.APPROVED else [])
    assert _snapshot(cr.order) == before


def test_approve_by_the_wrong_role_is_refused(planner: Any, floor_lead: Any) -> None:
    # given
    order = make_order(state=S.IN_PRODUCTION)
    cr = _request_quantity(order, planner)
    before = _snapshot(order)
    # when
    with pytest.raises(NotPermitted) as exc:
        services.change_request_approve(change_request=cr, user=floor_lead)
    # then
    assert str(exc.value) == "You are not allowed to approve change requests."
    assert _snapshot(order) == before


# --- reject -----------------------------------------------------------------------------


def test_reject_records_the_decision_and_changes_nothing_else(planner: Any, planner2: Any) -> None:
    # given
    order = make_order(state=S.IN_PRODUCTION)
    cr = _request_quantity(order, planner)
    events = EventsSince()
    fields_before = FieldChange.objects.count()
    # when
    cr = services.change_request_reject(change_request=cr, user=planner2, note=" Too late ")
    # then
    cr.refresh_from_db()
    assert (cr.state, cr.decided_by, cr.decision_note) == (CR.REJECTED, planner2, "Too late")
    assert _line(order).quantity == Decimal("10")
    assert FieldChange.objects.count() == fields_before
    [event] = events.all()
    assert (event.type, event.payload["comment"], event.actor) == (
        "change_request.rejected",
        "Too late",
        planner2,
    )
    assert _history(cr) == [("reject", CR.REQUESTED, CR.REJECTED, planner2)]


@pytest.mark.parametrize("note", ["", "   "])
def test_reject_needs_a_note(planner: Any, planner2: Any, note: str) -> None:
    # given
    order = make_order(state=S.IN_PRODUCTION)
    cr = _request_quantity(order, planner)
    before = _snapshot(order)
    # when
    with pytest.raises(ValidationFailed) as exc:
        services.change_request_reject(change_request=cr, user=planner2, note=note)
    # then
    assert exc.value.errors == {"note": ["Say why the change is rejected."]}
    assert _snapshot(order) == before


@pytest.mark.parametrize("state", [CR.APPROVED, CR.REJECTED, CR.APPLIED])
def test_reject_from_another_state_is_refused(planner: Any, planner2: Any, state: str) -> None:
    # given
    cr = _cr_in_state(state, requester=planner, approver=planner2)
    before = _snapshot(cr.order)
    # when
    with pytest.raises(IllegalTransition) as exc:
        services.change_request_reject(change_request=cr, user=planner2, note="No")
    # then
    assert exc.value.current_state == state
    assert _snapshot(cr.order) == before


def test_reject_by_the_wrong_role_is_refused(planner: Any, floor_lead: Any) -> None:
    # given
    order = make_order(state=S.IN_PRODUCTION)
    cr = _request_quantity(order, planner)
    before = _snapshot(order)
    # when
    with pytest.raises(NotPermitted):
        services.change_request_reject(change_request=cr, user=floor_lead, note="No")
    # then
    assert _snapshot(order) == before


# --- apply ------------------------------------------------------------------------------


def test_apply_an_approved_change(planner: Any, planner2: Any) -> None:
    # given
    cr = _cr_in_state(CR.APPROVED, requester=planner, approver=planner2)
    events = EventsSince()
    # when
    cr = services.change_request_apply(change_request=cr, user=planner)
    # then
    cr.refresh_from_db()
    assert cr.state == CR.APPLIED
    assert cr.line.quantity == Decimal("15")
    assert events.types() == ["change_request.applied", "order.changed"]
    assert _history(cr)[-1] == ("apply", CR.APPROVED, CR.APPLIED, planner)
    change = FieldChange.objects.get(object_id=cr.line_id, field="quantity")
    assert change.actor == planner


@pytest.mark.parametrize("state", [CR.REQUESTED, CR.REJECTED, CR.APPLIED])
def test_apply_from_another_state_is_refused(planner: Any, planner2: Any, state: str) -> None:
    # given
    cr = _cr_in_state(state, requester=planner, approver=planner2)
    before = _snapshot(cr.order)
    # when
    with pytest.raises(IllegalTransition) as exc:
        services.change_request_apply(change_request=cr, user=planner2)
    # then
    assert exc.value.current_state == state
    assert _snapshot(cr.order) == before


def test_apply_by_the_wrong_role_is_refused(planner: Any, planner2: Any, floor_lead: Any) -> None:
    # given
    cr = _cr_in_state(CR.APPROVED, requester=planner, approver=planner2)
    before = _snapshot(cr.order)
    # when
    with pytest.raises(NotPermitted):
        services.change_request_apply(change_request=cr, user=floor_lead)
    # then
    assert _snapshot(cr.order) == before


def test_apply_after_the_order_was_closed_is_refused(planner: Any, planner2: Any) -> None:
    # given
    cr = _cr_in_state(CR.APPROVED, requester=planner, approver=planner2)
    admin = user_with_role("Admin", username="admin-role")
    order = cr.order
    order = transition_run(instance=order, transition="mark_ready", user=admin)
    order = transition_run(instance=order, transition="ship", user=admin)
    before = _snapshot(order)
    # when
    with pytest.raises(Conflict) as exc:
        services.change_request_apply(change_request=cr, user=planner)
    # then
    assert str(exc.value) == f"{order.number} is shipped: the change can no longer be applied."
    assert _snapshot(order) == before


def test_apply_refuses_a_quantity_below_what_shipped_meanwhile(planner: Any, planner2: Any) -> None:
    # given: 10 ordered, lowering to 8 requested; 9 shipped before the approval
    order = make_order(state=S.READY_TO_SHIP)
    cr = _request_quantity(order, planner, "8")
    SalesOrderLine.objects.filter(pk=cr.line_id).update(shipped_quantity=Decimal("9"))
    before = _snapshot(order)
    # when
    with pytest.raises(Conflict) as exc:
        services.change_request_approve(change_request=cr, user=planner2)
    # then
    assert exc.value.code == "below_shipped"
    assert exc.value.errors == {"new_quantity": [str(exc.value)]}
    assert _snapshot(order) == before


# --- auto_approve -----------------------------------------------------------------------


@pytest.mark.parametrize("state", [CR.APPROVED, CR.REJECTED, CR.APPLIED])
def test_auto_approve_from_another_state_is_refused(
    planner: Any, planner2: Any, state: str
) -> None:
    # given
    cr = _cr_in_state(state, requester=planner, approver=planner2)
    before = _snapshot(cr.order)
    # when
    with pytest.raises(IllegalTransition) as exc:
        transition_run(instance=cr, transition="auto_approve", user=planner, by=planner)
    # then
    assert exc.value.current_state == state
    assert _snapshot(cr.order) == before


def test_auto_approve_is_refused_while_approval_is_needed(planner: Any) -> None:
    # given
    order = make_order(state=S.IN_PRODUCTION)
    cr = _request_quantity(order, planner)
    before = _snapshot(order)
    # when
    with pytest.raises(DomainError) as exc:
        transition_run(instance=cr, transition="auto_approve", user=planner, by=planner)
    # then
    assert (exc.value.code, str(exc.value)) == (
        "condition_not_met",
        "Approval by a second planner is required.",
    )
    assert _snapshot(order) == before


def test_auto_approve_by_the_wrong_role_is_refused(planner: Any, floor_lead: Any) -> None:
    # given: a requested change that needs no approval (the services apply those at once,
    # so the row is set up by hand to reach the transition on its own)
    order = make_order(state=S.IN_PRODUCTION)
    cr = _request_quantity(order, planner)
    ChangeRequest.objects.filter(pk=cr.pk).update(needs_approval=False)
    before = _snapshot(order)
    # when
    with pytest.raises(NotPermitted):
        transition_run(instance=cr, transition="auto_approve", user=floor_lead, by=floor_lead)
    # then
    assert _snapshot(order) == before


def test_requesting_a_change_needs_the_role(floor_lead: Any) -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    before = _snapshot(order)
    # when
    with pytest.raises(NotPermitted) as exc:
        _request_quantity(order, floor_lead)
    # then
    assert str(exc.value) == "You are not allowed to request changes."
    assert _snapshot(order) == before


def test_integration_client_change_applies_at_once_before_production() -> None:
    # given
    erp_user = user_with_role(INTEGRATION, username="erp-user")
    order = make_order(state=S.CONFIRMED)
    # when
    cr = _request_quantity(order, erp_user, "20")
    # then
    assert cr.state == CR.APPLIED
    assert _history(cr)[0] == ("auto_approve", CR.REQUESTED, CR.APPROVED, erp_user)


# --- each kind ----------------------------------------------------------------------------


def test_date_change_re_promises_the_line(planner: Any) -> None:
    # given: lead time 5 days, requested in 10 days: promised for the requested date
    order = make_order(state=S.CONFIRMED)
    line = _line(order)
    today = _today()
    assert line.promise_date == today + dt.timedelta(days=10)
    new_date = today + dt.timedelta(days=20)
    events = EventsSince()
    # when
    cr = services.change_request_create(
        order=order,
        user=planner,
        kind=Kind.DATE,
        reason_code=REASON,
        reason_text="Later please",
        line=line,
        new_date=new_date,
    )
    # then
    line.refresh_from_db()
    assert cr.state == CR.APPLIED
    assert cr.old_value == (today + dt.timedelta(days=10)).isoformat()
    assert (line.requested_date, line.promise_date) == (new_date, new_date)
    assert line.promise_basis.startswith(f"requested date {new_date:%Y-%m-%d}")
    changes = list(
        FieldChange.objects.filter(object_id=line.pk, content_type__model="salesorderline")
        .order_by("id")
        .values_list("field", "old_value", "new_value")
    )
    old = (today + dt.timedelta(days=10)).isoformat()
    assert changes == [
        ("requested_date", old, new_date.isoformat()),
        ("promise_date", old, new_date.isoformat()),
    ]
    assert events.types() == [
        "change_request.requested",
        "change_request.approved",
        "change_request.applied",
        "order.changed",
        "order.changed",
    ]


def test_date_change_earlier_than_lead_time_promises_lead_time(planner: Any) -> None:
    # given: moved to tomorrow, but the item takes 5 days
    order = make_order(state=S.CONFIRMED)
    line = _line(order)
    today = _today()
    # when
    services.change_request_create(
        order=order,
        user=planner,
        kind=Kind.DATE,
        reason_code=REASON,
        reason_text="Sooner please",
        line=line,
        new_date=today + dt.timedelta(days=1),
    )
    # then
    line.refresh_from_db()
    assert line.requested_date == today + dt.timedelta(days=1)
    assert line.promise_date == today + dt.timedelta(days=5)
    assert line.promise_basis.startswith(f"today {today:%Y-%m-%d} + 5 d lead time of ")


def test_cancel_before_production_cancels_at_once(planner: Any) -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    # when
    cr = services.change_request_create(
        order=order, user=planner, kind=Kind.CANCEL, reason_code=REASON, reason_text="Lost"
    )
    # then
    fresh = SalesOrder.objects.get(pk=order.pk)
    assert (cr.state, cr.old_value) == (CR.APPLIED, S.CONFIRMED)
    assert (fresh.state, fresh.cancel_reason) == (S.CANCELLED, f"{cr.number}: Lost")
    assert _history(order)[-1] == ("cancel", S.CONFIRMED, S.CANCELLED, planner)
    log = TransitionLog.objects.filter(object_id=order.pk, transition="cancel").get()
    assert (log.reason_code.code, log.comment) == (REASON, f"{cr.number}: Lost")


def test_cancel_in_production_uses_cancel_approved(planner: Any, planner2: Any) -> None:
    # given
    order = make_order(state=S.IN_PRODUCTION)
    cr = services.change_request_create(
        order=order, user=planner, kind=Kind.CANCEL, reason_code=REASON, reason_text="Lost"
    )
    assert SalesOrder.objects.get(pk=order.pk).state == S.IN_PRODUCTION
    events = EventsSince()
    # when
    cr = services.change_request_approve(change_request=cr, user=planner2)
    # then
    assert cr.state == CR.APPLIED
    assert SalesOrder.objects.get(pk=order.pk).state == S.CANCELLED
    assert _history(order)[-1] == ("cancel_approved", S.IN_PRODUCTION, S.CANCELLED, planner2)
    assert events.types() == [
        "change_request.approved",
        "change_request.applied",
        "order.status_changed",
    ]


def test_add_line_adds_a_promised_line(planner: Any) -> None:
    # given
    order = make_order(state=S.CONFIRMED, lines=2)
    item = ItemFactory(lead_time_days=3)
    today = _today()
    events = EventsSince()
    # when
    cr = services.change_request_create(
        order=order,
        user=planner,
        kind=Kind.ADD_LINE,
        reason_code=REASON,
        reason_text="One more",
        new_item=item,
        new_quantity="7",
        new_date=today + dt.timedelta(days=1),
    )
    # then
    assert cr.state == CR.APPLIED
    new = _line(order, 30)
    assert (new.item, new.quantity, new.requested_date, new.promise_date) == (
        item,
        Decimal("7"),
        today + dt.timedelta(days=1),
        today + dt.timedelta(days=3),
    )
    assert new.promise_basis == (
        f"today {today:%Y-%m-%d} + 3 d lead time of {item.sku} "
        f"(requested {today + dt.timedelta(days=1):%Y-%m-%d} is earlier)"
    )
    assert list(order.lines.values_list("line_no", flat=True)) == [10, 20, 30]
    assert events.types() == [
        "change_request.requested",
        "change_request.approved",
        "change_request.applied",
        "order.changed",
    ]
    assert events.all()[-1].payload["new"] == {"line": 30, "item": item.sku, "quantity": "7.000"}


# --- bad input: nothing created ---------------------------------------------------------


def _bad_inputs() -> list[Any]:
    today = _today()
    in_20 = today + dt.timedelta(days=20)
    return [
        pytest.param({"kind": Kind.QUANTITY, "new_quantity": "5"}, "line", id="quantity-no-line"),
        pytest.param({"kind": Kind.QUANTITY, "line": 10, "new_quantity": "0"}, "new_quantity",
                     id="quantity-zero"),
        pytest.param({"kind": Kind.QUANTITY, "line": 10, "new_quantity": "-1"}, "new_quantity",
                     id="quantity-negative"),
        pytest.param({"kind": Kind.QUANTITY, "line": 10, "new_quantity": None}, "new_quantity",
                     id="quantity-missing"),
        pytest.param({"kind": Kind.QUANTITY, "line": 10, "new_quantity": "lots"}, "new_quantity",
                     id="quantity-not-a-number"),
        pytest.param({"kind": Kind.QUANTITY, "line": 10, "new_quantity": "10"}, "new_quantity",
                     id="quantity-same"),
        pytest.param({"kind": Kind.DATE, "new_date": in_20}, "line", id="date-no-line"),
        pytest.param({"kind": Kind.DATE, "line": 10, "new_date": None}, "new_date",
                     id="date-missing"),
        pytest.param({"kind": Kind.DATE, "line": 10, "new_date": today - dt.timedelta(days=1)},
                     "new_date", id="date-past"),
        pytest.param({"kind": Kind.DATE, "line": 10, "new_date": today + dt.timedelta(days=10)},
                     "new_date", id="date-same"),
        pytest.param({"kind": Kind.ADD_LINE, "new_item": "inactive", "new_quantity": "1",
                      "new_date": in_20}, "new_item", id="add-line-inactive-item"),
        pytest.param({"kind": Kind.ADD_LINE, "new_quantity": "1", "new_date": in_20},
                     "new_item", id="add-line-no-item"),
        pytest.param({"kind": Kind.ADD_LINE, "new_item": "active", "new_quantity": "0",
                      "new_date": in_20}, "new_quantity", id="add-line-quantity-zero"),
        pytest.param({"kind": Kind.ADD_LINE, "new_item": "active", "new_quantity": "1",
                      "new_date": today - dt.timedelta(days=1)}, "new_date",
                     id="add-line-past-date"),
        pytest.param({"kind": Kind.CANCEL, "reason_code": "no-such-code"}, "reason_code",
                     id="unknown-reason-code"),
        pytest.param({"kind": Kind.CANCEL, "reason_code": None}, "reason_code",
                     id="no-reason-code"),
        pytest.param({"kind": Kind.CANCEL, "reason_code": "inactive"}, "reason_code",
                     id="inactive-reason-code"),
        pytest.param({"kind": Kind.CANCEL, "reason_text": "  "}, "reason_text",
                     id="empty-reason-text"),
        pytest.param({"kind": "teleport"}, "kind", id="unknown-kind"),
    ]  # fmt: skip


@pytest.mark.parametrize(("given", "field"), _bad_inputs())
def test_bad_input_is_refused_with_the_field(
    planner: Any, given: dict[str, Any], field: str
) -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    ReasonCode.objects.create(code="inactive", label="Retired", active=False)
    kwargs: dict[str, Any] = {"reason_code": REASON, "reason_text": "Because", **given}
    if "line" in kwargs:
        kwargs["line"] = _line(order, kwargs["line"])
    if kwargs.get("new_item") == "inactive":
        kwargs["new_item"] = ItemFactory(sku="OLD-1", active=False)
    elif kwargs.get("new_item") == "active":
        kwargs["new_item"] = ItemFactory(sku="NEW-1")
    before = _snapshot(order)
    # when
    with pytest.raises(ValidationFailed) as exc:
        services.change_request_create(order=order, user=planner, **kwargs)
    # then
    assert list(exc.value.errors) == [field]
    assert _snapshot(order) == before


def test_quantity_below_shipped_is_refused(planner: Any) -> None:
    # given: 5 of line 10 are shipped (shipments arrive with the shipping app)
    order = make_order(state=S.PARTIALLY_SHIPPED)
    line = _line(order)
    SalesOrderLine.objects.filter(pk=line.pk).update(shipped_quantity=Decimal("5"))
    line.refresh_from_db()
    before = _snapshot(order)
    # when
    with pytest.raises(ValidationFailed) as exc:
        _request_quantity(order, planner, "4")
    # then
    assert exc.value.errors == {
        "new_quantity": ["5.000 are shipped already; the quantity cannot be lower."]
    }
    assert _snapshot(order) == before


def test_line_of_another_order_is_refused(planner: Any) -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    other = make_order(state=S.CONFIRMED)
    before = _snapshot(order)
    # when
    with pytest.raises(ValidationFailed) as exc:
        services.change_request_create(
            order=order,
            user=planner,
            kind=Kind.QUANTITY,
            reason_code=REASON,
            reason_text="x",
            line=_line(other),
            new_quantity="3",
        )
    # then
    assert exc.value.errors == {"line": ["Choose a line of this order."]}
    assert _snapshot(order) == before


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (S.DRAFT, "draft: edit the draft directly."),
        (S.SHIPPED, "shipped: it can no longer change."),
        (S.CLOSED, "closed: it can no longer change."),
        (S.CANCELLED, "cancelled: it can no longer change."),
    ],
)
def test_order_not_open_for_changes_refuses_requests(
    planner: Any, state: str, message: str
) -> None:
    # given
    order = make_order(state=state)
    before = _snapshot(order)
    # when
    with pytest.raises(Conflict) as exc:
        _request_quantity(order, planner, "15")
    # then
    assert exc.value.code == "order_not_changeable"
    assert str(exc.value) == f"{order.number} is {message}"
    assert _snapshot(order) == before


def test_an_approved_line_addition_is_refused_when_its_item_was_retired_since(planner2):
    # given: a line addition waits for approval, then its item is deactivated

    requester = user_with_role(PLANNER, username="retire-requester")
    order = make_order(state=OrderState.IN_PRODUCTION)
    item = ItemFactory(sku="RETIRED-1")
    cr = services.change_request_create(
        order=order,
        user=requester,
        kind="add_line",
        new_item=item,
        new_quantity="4",
        new_date=order.lines.first().requested_date,
        reason_code="customer-request",
        reason_text="one more part",
    )
    Item.objects.filter(pk=item.pk).update(active=False)
    lines_before = order.lines.count()
    # when
    with pytest.raises(Conflict) as refused:
        services.change_request_approve(change_request=cr, user=planner2)
    # then
    cr.refresh_from_db()
    assert "RETIRED-1" in refused.value.message
    assert cr.state == ChangeRequest.State.REQUESTED
    assert order.lines.count() == lines_before
