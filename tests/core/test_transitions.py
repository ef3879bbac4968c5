"""Every sales-order transition through the one core helper: the happy path writes the
state, one history row and one event; an illegal state or the wrong role changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType

from mes.core.errors import IllegalTransition, NotPermitted
from mes.core.models import Event, TransitionLog
from mes.core.roles import ADMIN, FLOOR_LEAD, PLANNER, QUALITY, SHIPPING, WAREHOUSE
from mes.core.transitions import available_transitions, transition_run
from orders import services
from orders.models import OrderState, SalesOrder

from ..factories import make_order, user_with_role

pytestmark = pytest.mark.django_db

S = OrderState
REASON = {"reason_code": "customer-request", "comment": "Customer asked for it"}


@dataclass(frozen=True)
class Case:
    transition: str
    sources: tuple[str, ...]
    target: str | None  # None: returns to the state the order was held from
    role: str
    wrong_role: str
    event_type: str = "order.status_changed"
    internal: bool = False
    needs_reason: bool = False


CASES = {
    c.transition: c
    for c in [
        Case("confirm", (S.DRAFT,), S.CONFIRMED, PLANNER, FLOOR_LEAD, "order.confirmed"),
        Case("start_production", (S.CONFIRMED,), S.IN_PRODUCTION, FLOOR_LEAD, WAREHOUSE),
        Case("mark_ready", (S.IN_PRODUCTION,), S.READY_TO_SHIP, FLOOR_LEAD, WAREHOUSE),
        Case(
            "ship_partially",
            (S.READY_TO_SHIP, S.PARTIALLY_SHIPPED),
            S.PARTIALLY_SHIPPED,
            SHIPPING,
            PLANNER,
            internal=True,
        ),
        Case(
            "ship",
            (S.READY_TO_SHIP, S.PARTIALLY_SHIPPED),
            S.SHIPPED,
            SHIPPING,
            PLANNER,
            internal=True,
        ),
        Case("close", (S.SHIPPED,), S.CLOSED, PLANNER, WAREHOUSE),
        Case(
            "hold",
            (S.CONFIRMED, S.IN_PRODUCTION, S.READY_TO_SHIP, S.PARTIALLY_SHIPPED),
            S.ON_HOLD,
            QUALITY,
            WAREHOUSE,
            needs_reason=True,
        ),
        Case("release_hold", (S.ON_HOLD,), None, PLANNER, FLOOR_LEAD),
        Case(
            "cancel",
            (S.DRAFT, S.CONFIRMED, S.ON_HOLD),
            S.CANCELLED,
            PLANNER,
            FLOOR_LEAD,
            needs_reason=True,
        ),
        Case(
            "cancel_approved",
            (S.IN_PRODUCTION, S.READY_TO_SHIP, S.PARTIALLY_SHIPPED, S.ON_HOLD),
            S.CANCELLED,
            PLANNER,
            FLOOR_LEAD,
            internal=True,
            needs_reason=True,
        ),
    ]
}

# What a user holding every permission may do from each state (make_order's on_hold
# order was held from confirmed, so it may still be cancelled).
ALLOWED_FOR_ADMIN = {
    S.DRAFT: ["cancel", "confirm"],
    S.CONFIRMED: ["cancel", "hold", "start_production"],
    S.IN_PRODUCTION: ["hold", "mark_ready"],
    S.READY_TO_SHIP: ["hold"],
    S.PARTIALLY_SHIPPED: ["hold"],
    S.SHIPPED: ["close"],
    S.CLOSED: [],
    S.ON_HOLD: ["cancel", "release_hold"],
    S.CANCELLED: [],
}

HAPPY = [(c.transition, source) for c in CASES.values() for source in c.sources]
ILLEGAL = [
    (c.transition, state)
    for c in CASES.values()
    for state in OrderState.values
    if state not in c.sources
]


def _run(order: SalesOrder, transition: str, user: Any) -> SalesOrder:
    """Run a transition the way the application does: internal ones from a service."""
    case = CASES[transition]
    if case.internal:
        kwargs: dict[str, Any] = {}
        if transition == "cancel_approved":
            kwargs = {**REASON, "reason": REASON["comment"]}
        return transition_run(
            instance=order,
            transition=transition,
            user=user,
            event_type="order.status_changed",
            payload={"number": order.number},
            **kwargs,
        )
    kwargs = REASON if case.needs_reason else {}
    return services.sales_order_transition(order=order, user=user, transition=transition, **kwargs)


def _history(order: SalesOrder) -> list[tuple[str, str, str]]:
    return list(
        TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(SalesOrder), object_id=order.pk
        ).values_list("transition", "from_state", "to_state")
    )


def _snapshot(order: SalesOrder) -> tuple[Any, ...]:
    fresh = SalesOrder.objects.get(pk=order.pk)
    return (
        fresh.state,
        fresh.held_from_state,
        fresh.cancel_reason,
        _history(order),
        Event.objects.count(),
    )


@pytest.mark.parametrize(("transition", "source"), HAPPY)
def test_transition_happy_path(transition: str, source: str) -> None:
    # given
    case = CASES[transition]
    order = make_order(state=source)
    user = user_with_role(case.role, username="actor")
    events_before = set(Event.objects.values_list("pk", flat=True))
    history_before = _history(order)
    logs_before = set(TransitionLog.objects.values_list("pk", flat=True))
    # when
    result = _run(order, transition, user)
    # then
    target = case.target or S.CONFIRMED  # make_order holds from confirmed
    assert result.state == target
    assert SalesOrder.objects.get(pk=order.pk).state == target
    log = TransitionLog.objects.exclude(pk__in=logs_before).get()
    assert (log.from_state, log.to_state, log.actor, log.field) == (source, target, user, "state")
    assert log.content_type == ContentType.objects.get_for_model(SalesOrder)
    assert log.object_repr == order.number
    if case.needs_reason:
        assert (log.reason_code.code, log.comment) == (REASON["reason_code"], REASON["comment"])
    else:
        assert (log.reason_code, log.comment) == (None, "")
    assert _history(order) == [*history_before, (transition, source, target)]
    new_events = list(Event.objects.exclude(pk__in=events_before))
    assert [(e.type, e.object_id, e.actor) for e in new_events] == [
        (case.event_type, order.pk, user)
    ]
    assert new_events[0].processed_at is None  # in the outbox until the commit
    assert new_events[0].payload["transition"] == transition
    assert (new_events[0].payload["from"], new_events[0].payload["to"]) == (source, target)
    assert new_events[0].payload["number"] == order.number


@pytest.mark.parametrize("held_from", CASES["hold"].sources)
def test_release_hold_returns_to_the_state_it_was_held_from(held_from: str) -> None:
    # given
    planner = user_with_role(PLANNER, username="planner")
    order = make_order(state=held_from)
    held = services.sales_order_transition(order=order, user=planner, transition="hold", **REASON)
    assert (held.state, held.held_from_state) == (S.ON_HOLD, held_from)
    # when
    released = services.sales_order_transition(order=order, user=planner, transition="release_hold")
    # then
    assert (released.state, released.held_from_state) == (held_from, "")
    fresh = SalesOrder.objects.get(pk=order.pk)
    assert (fresh.state, fresh.held_from_state) == (held_from, "")
    assert _history(order)[-2:] == [
        ("hold", held_from, S.ON_HOLD),
        ("release_hold", S.ON_HOLD, held_from),
    ]


def test_cancel_stores_the_reason_on_the_order() -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    planner = user_with_role(PLANNER, username="planner")
    # when
    cancelled = _run(order, "cancel", planner)
    # then
    assert SalesOrder.objects.get(pk=order.pk).cancel_reason == REASON["comment"]
    assert cancelled.cancel_reason == REASON["comment"]


@pytest.mark.parametrize(("transition", "state"), ILLEGAL)
def test_transition_from_an_illegal_state_is_refused(transition: str, state: str) -> None:
    # given
    order = make_order(state=state)
    admin = user_with_role(ADMIN, username="admin-role")
    before = _snapshot(order)
    # when
    with pytest.raises(IllegalTransition) as exc:
        _run(order, transition, admin)
    # then
    assert exc.value.current_state == state
    assert sorted(exc.value.allowed) == ALLOWED_FOR_ADMIN[state]
    assert exc.value.transition == transition
    assert exc.value.status == 409
    message = exc.value.message
    assert f"while it is {state}." in message
    assert message.endswith(f"Allowed now: {', '.join(exc.value.allowed) or 'none'}.")
    assert _snapshot(order) == before


def test_illegal_transition_names_only_what_this_user_may_do() -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    floor_lead = user_with_role(FLOOR_LEAD, username="fl")
    before = _snapshot(order)
    # when
    with pytest.raises(IllegalTransition) as exc:
        _run(order, "mark_ready", floor_lead)
    # then
    assert (exc.value.current_state, exc.value.allowed) == (S.CONFIRMED, ["start_production"])
    assert str(exc.value) == (
        f"Cannot mark ready {order.number} while it is confirmed. Allowed now: start_production."
    )
    assert _snapshot(order) == before


@pytest.mark.parametrize("transition", list(CASES))
def test_transition_by_the_wrong_role_is_refused(transition: str) -> None:
    # given
    case = CASES[transition]
    order = make_order(state=case.sources[0])
    user = user_with_role(case.wrong_role, username="wrong")
    before = _snapshot(order)
    # when
    with pytest.raises(NotPermitted) as exc:
        _run(order, transition, user)
    # then
    assert str(exc.value) == (
        f"You are not allowed to {transition.replace('_', ' ')} {order.number}."
    )
    assert exc.value.status == 403
    assert _snapshot(order) == before


@pytest.mark.parametrize("transition", ["cancel_approved", "ship", "ship_partially"])
def test_internal_transitions_are_refused_from_the_public_service(transition: str) -> None:
    # given
    order = make_order(state=S.READY_TO_SHIP)
    admin = user_with_role(ADMIN, username="admin-role")
    before = _snapshot(order)
    # when
    with pytest.raises(NotPermitted) as exc:
        services.sales_order_transition(order=order, user=admin, transition=transition, **REASON)
    # then
    assert exc.value.code == "not_permitted"
    assert _snapshot(order) == before


def test_unknown_transition_name_is_refused() -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    admin = user_with_role(ADMIN, username="admin-role")
    before = _snapshot(order)
    # when
    with pytest.raises(Exception) as exc:  # noqa: PT011 - the class is checked below
        transition_run(instance=order, transition="save", user=admin)
    # then
    assert (type(exc.value).__name__, exc.value.code) == ("DomainError", "unknown_transition")
    assert _snapshot(order) == before


@pytest.mark.parametrize(
    ("role", "state", "expected"),
    [
        (PLANNER, S.DRAFT, ["cancel", "confirm"]),
        (PLANNER, S.CONFIRMED, ["cancel", "hold", "start_production"]),
        (FLOOR_LEAD, S.CONFIRMED, ["start_production"]),
        (WAREHOUSE, S.CONFIRMED, []),
        (QUALITY, S.IN_PRODUCTION, ["hold"]),
        (SHIPPING, S.READY_TO_SHIP, []),  # shipping runs from the shipment service
        (ADMIN, S.ON_HOLD, ["cancel", "release_hold"]),
    ],
)
def test_available_transitions_are_the_buttons_this_user_may_press(
    role: str, state: str, expected: list[str]
) -> None:
    # given
    order = make_order(state=state)
    user = user_with_role(role, username="someone")
    # when
    names = sorted(t.name for t in available_transitions(order, user))
    # then
    assert names == expected


def test_available_transitions_leave_out_unmet_conditions() -> None:
    # given: a draft without lines cannot be confirmed; one held from production
    # cannot be cancelled directly
    admin = user_with_role(ADMIN, username="admin-role")
    empty = make_order(state=S.DRAFT, lines=0)
    held_in_production = make_order(state=S.IN_PRODUCTION)
    held_in_production = services.sales_order_transition(
        order=held_in_production, user=admin, transition="hold", **REASON
    )
    # when
    empty_names = sorted(t.name for t in available_transitions(empty, admin))
    held_names = sorted(t.name for t in available_transitions(held_in_production, admin))
    # then
    assert empty_names == ["cancel"]
    assert held_names == ["release_hold"]


@pytest.mark.parametrize("code", ["no-such-code", "inactive"])
def test_a_transition_refuses_an_unknown_or_inactive_reason_code(code):
    # given
    from mes.core.errors import ValidationFailed
    from mes.core.models import ReasonCode

    ReasonCode.objects.create(code="inactive", label="Retired", active=False)
    order = make_order(state=OrderState.CONFIRMED)
    planner = user_with_role(PLANNER, username="rc-planner")
    reason = ReasonCode.objects.get(code="inactive") if code == "inactive" else code
    logs_before = TransitionLog.objects.count()
    # when
    with pytest.raises(ValidationFailed) as refused:
        transition_run(instance=order, transition="hold", user=planner, reason_code=reason)
    # then
    order.refresh_from_db()
    assert "reason_code" in refused.value.errors
    assert order.state == OrderState.CONFIRMED
    assert TransitionLog.objects.count() == logs_before
