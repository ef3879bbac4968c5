"""Governed fields: one service changes them, with a reason, keeping old and new value,
who, when and why, and emitting an event; anything else is refused and changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from mes.core.errors import NotPermitted, ValidationFailed
from mes.core.governance import governed_field_change, is_governed
from mes.core.models import Event, FieldChange, ReasonCode
from orders import services
from orders.models import OrderState, Priority, SalesOrder, SalesOrderLine

from ..factories import make_order

pytestmark = pytest.mark.django_db

S = OrderState


def _snapshot(order: SalesOrder) -> tuple[Any, ...]:
    fresh = SalesOrder.objects.get(pk=order.pk)
    return (
        fresh.state,
        fresh.priority,
        list(
            fresh.lines.values_list("quantity", "requested_date", "promise_date", "promise_basis")
        ),
        FieldChange.objects.count(),
        Event.objects.count(),
    )


def _change_priority(order: SalesOrder, user: Any, **overrides: Any) -> SalesOrder:
    kwargs: dict[str, Any] = {
        "priority": Priority.URGENT,
        "reason_code": "expedite",
        "reason_text": "Line-down at the customer",
        **overrides,
    }
    return services.order_priority_change(order=order, user=user, **kwargs)


def _change_promise(line: SalesOrderLine, user: Any, **overrides: Any) -> SalesOrderLine:
    kwargs: dict[str, Any] = {"reason_code": "capacity", "reason_text": "Press 2 is down"}
    kwargs.update(overrides)
    if "promise_date" not in kwargs:
        kwargs["promise_date"] = line.promise_date + dt.timedelta(days=3)
    return services.line_promise_date_change(line=line, user=user, **kwargs)


def test_the_governed_fields_are_declared() -> None:
    # given / when / then
    assert [f for f in ("priority", "notes", "state") if is_governed(SalesOrder, f)] == ["priority"]
    assert [
        f
        for f in ("promise_date", "quantity", "requested_date", "item", "promise_basis")
        if is_governed(SalesOrderLine, f)
    ] == ["promise_date", "quantity", "requested_date"]


# --- priority ----------------------------------------------------------------------------


def test_priority_change_keeps_history_and_emits_an_event(planner: Any) -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    started = timezone.now()
    # when
    changed = _change_priority(order, planner)
    # then
    assert changed.priority == Priority.URGENT
    assert SalesOrder.objects.get(pk=order.pk).priority == Priority.URGENT
    change = FieldChange.objects.get(object_id=order.pk, field="priority")
    assert (change.old_value, change.new_value, change.actor) == (3, 1, planner)
    assert change.reason_code.code == "expedite"
    assert change.reason_text == "Line-down at the customer"
    assert change.content_type.model == "salesorder"
    assert change.object_repr == order.number
    assert started <= change.at <= timezone.now()
    event = Event.objects.last()
    assert (event.type, event.object_id, event.actor) == ("order.changed", order.pk, planner)
    assert event.payload == {
        "record": f"orders.salesorder:{order.pk}",
        "field": "priority",
        "old": 3,
        "new": 1,
        "reason_code": "expedite",
        "reason_text": "Line-down at the customer",
        "order": order.number,
    }


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"reason_code": None}, {"reason_code": ["Choose a reason code."]}),
        ({"reason_code": ""}, {"reason_code": ["Choose a reason code."]}),
        ({"reason_code": "nope"}, {"reason_code": ["Unknown reason code 'nope'."]}),
        ({"reason_text": ""}, {"reason_text": ["Say why in a few words."]}),
        ({"reason_text": "  "}, {"reason_text": ["Say why in a few words."]}),
        ({"priority": 3}, {"priority": ["The new value is the same as the current one."]}),
        ({"priority": 9}, {"priority": ["Value 9 is not a valid choice."]}),
    ],
)
def test_priority_change_with_bad_input_is_refused(
    planner: Any, overrides: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    before = _snapshot(order)
    # when
    with pytest.raises(ValidationFailed) as exc:
        _change_priority(order, planner, **overrides)
    # then
    assert exc.value.errors == errors
    assert _snapshot(order) == before


def test_inactive_reason_code_is_refused(planner: Any) -> None:
    # given
    ReasonCode.objects.filter(code="expedite").update(active=False)
    order = make_order(state=S.CONFIRMED)
    before = _snapshot(order)
    # when
    with pytest.raises(ValidationFailed) as by_code:
        _change_priority(order, planner, reason_code="expedite")
    with pytest.raises(ValidationFailed) as by_object:
        _change_priority(order, planner, reason_code=ReasonCode.objects.get(code="expedite"))
    # then
    assert by_code.value.errors == {"reason_code": ["Unknown reason code 'expedite'."]}
    assert by_object.value.errors == {"reason_code": ["This reason code is no longer in use."]}
    assert _snapshot(order) == before


def test_priority_change_by_the_wrong_role_is_refused(floor_lead: Any) -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    before = _snapshot(order)
    # when
    with pytest.raises(NotPermitted) as exc:
        _change_priority(order, floor_lead)
    # then
    assert str(exc.value) == "You are not allowed to change priority."
    assert _snapshot(order) == before


@pytest.mark.parametrize("state", [S.DRAFT, S.CANCELLED, S.SHIPPED, S.CLOSED])
def test_priority_change_in_a_disallowed_state_is_refused(planner: Any, state: str) -> None:
    # given
    order = make_order(state=state)
    before = _snapshot(order)
    # when
    with pytest.raises(ValidationFailed) as exc:
        _change_priority(order, planner)
    # then
    assert exc.value.code == "not_in_this_state"
    assert exc.value.errors == {"priority": [f"Priority cannot be changed while {state}."]}
    assert _snapshot(order) == before


@pytest.mark.parametrize(
    "state", [S.CONFIRMED, S.IN_PRODUCTION, S.READY_TO_SHIP, S.PARTIALLY_SHIPPED, S.ON_HOLD]
)
def test_priority_change_is_allowed_in_every_committed_open_state(planner: Any, state: str) -> None:
    # given
    order = make_order(state=state)
    # when
    changed = _change_priority(order, planner)
    # then
    assert (changed.priority, changed.state) == (Priority.URGENT, state)


# --- promise date --------------------------------------------------------------------------


def test_promise_date_change_keeps_history_and_emits_an_event(planner: Any) -> None:
    # given
    order = make_order(state=S.IN_PRODUCTION)
    line = order.lines.get(line_no=10)
    old = line.promise_date
    new = old + dt.timedelta(days=3)
    # when
    changed = _change_promise(line, planner, promise_date=new.isoformat())
    # then
    assert (changed.promise_date, changed.promise_basis) == (new, "set by hand: Press 2 is down")
    change = FieldChange.objects.get(object_id=line.pk, field="promise_date")
    assert (change.old_value, change.new_value, change.actor) == (
        old.isoformat(),
        new.isoformat(),
        planner,
    )
    assert (change.reason_code.code, change.reason_text) == ("capacity", "Press 2 is down")
    assert change.object_repr == f"{order.number}/10"
    event = Event.objects.last()
    assert (event.type, event.object_id) == ("order.changed", order.pk)  # the order's event
    assert event.payload == {
        "record": f"orders.salesorderline:{line.pk}",
        "field": "promise_date",
        "old": old.isoformat(),
        "new": new.isoformat(),
        "reason_code": "capacity",
        "reason_text": "Press 2 is down",
        "order": order.number,
        "line": 10,
    }


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"reason_code": None}, "reason_code", "Choose a reason code."),
        ({"reason_text": ""}, "reason_text", "Say why in a few words."),
        ({"promise_date": "someday"}, "promise_date", None),
        ({"promise_date": "same"}, "promise_date", "The new value is the same as the current one."),
    ],
)
def test_promise_date_change_with_bad_input_is_refused(
    planner: Any, overrides: dict[str, Any], field: str, message: str | None
) -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    line = order.lines.get(line_no=10)
    if overrides.get("promise_date") == "same":
        overrides["promise_date"] = line.promise_date
    before = _snapshot(order)
    # when
    with pytest.raises(ValidationFailed) as exc:
        _change_promise(line, planner, **overrides)
    # then
    assert list(exc.value.errors) == [field]
    if message:
        assert exc.value.errors[field] == [message]
    assert _snapshot(order) == before


def test_promise_date_change_by_the_wrong_role_is_refused(floor_lead: Any) -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    line = order.lines.get(line_no=10)
    before = _snapshot(order)
    # when
    with pytest.raises(NotPermitted) as exc:
        _change_promise(line, floor_lead)
    # then
    assert str(exc.value) == "You are not allowed to change promise date."
    assert _snapshot(order) == before


@pytest.mark.parametrize("state", [S.DRAFT, S.CANCELLED])
def test_promise_date_change_in_a_disallowed_state_is_refused(planner: Any, state: str) -> None:
    # given
    order = make_order(state=state)
    line = order.lines.get(line_no=10)
    before = _snapshot(order)
    # when
    with pytest.raises(ValidationFailed) as exc:
        _change_promise(line, planner, promise_date=timezone.localdate() + dt.timedelta(days=30))
    # then
    assert exc.value.errors == {"promise_date": [f"Promise date cannot be changed while {state}."]}
    assert _snapshot(order) == before


def test_state_is_checked_again_on_the_locked_row(planner: Any) -> None:
    # given: the caller's copy still says confirmed; the order was cancelled meanwhile
    order = make_order(state=S.CONFIRMED)
    stale = SalesOrder.objects.get(pk=order.pk)
    services.sales_order_transition(
        order=order, user=planner, transition="cancel", reason_code="other", comment="Gone"
    )
    before = _snapshot(order)
    # when
    with pytest.raises(ValidationFailed) as exc:
        governed_field_change(
            instance=stale,
            field="priority",
            new_value=Priority.HIGH,
            user=planner,
            reason_code="expedite",
            reason_text="Hurry",
        )
    # then
    assert exc.value.code == "not_in_this_state"
    assert _snapshot(order) == before


def test_a_field_that_is_not_governed_is_refused(planner: Any) -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    before = _snapshot(order)
    # when
    with pytest.raises(ValidationFailed) as exc:
        governed_field_change(
            instance=order,
            field="notes",
            new_value="x",
            user=planner,
            reason_code="other",
            reason_text="x",
        )
    # then
    assert exc.value.errors == {"notes": ["notes is not a governed field."]}
    assert _snapshot(order) == before
