"""Order services: entry, confirmation with promise dates (in plant time), holds and
cancellations with reasons."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from mes.core.errors import Conflict, DomainError, NotPermitted, ValidationFailed
from mes.core.models import Event, ReasonCode, TransitionLog
from orders import services
from orders.models import OrderState, SalesOrder, SalesOrderLine

from ..factories import CustomerFactory, ItemFactory, ShipToFactory, make_order

pytestmark = pytest.mark.django_db

S = OrderState


def _today() -> dt.date:
    return timezone.localdate()


def _snapshot(order: SalesOrder) -> tuple[Any, ...]:
    fresh = SalesOrder.objects.get(pk=order.pk)
    return (
        fresh.state,
        fresh.held_from_state,
        fresh.cancel_reason,
        fresh.confirmed_at,
        fresh.customer_id,
        fresh.notes,
        list(
            SalesOrderLine.objects.filter(order=order).values_list(
                "line_no", "item_id", "quantity", "requested_date", "promise_date", "promise_basis"
            )
        ),
        TransitionLog.objects.count(),
        Event.objects.count(),
    )


def _draft(planner: Any, lines: list[tuple[Any, str, int]]) -> SalesOrder:
    """A draft with lines given as (item, quantity, requested in n days)."""
    today = _today()
    return services.sales_order_create(
        customer=CustomerFactory(),
        user=planner,
        lines=[
            services.LineInput(
                item=item, quantity=Decimal(qty), requested_date=today + dt.timedelta(days=days)
            )
            for item, qty, days in lines
        ],
    )


# --- entry ------------------------------------------------------------------------------


def test_create_draft_with_lines(planner: Any) -> None:
    # given
    item = ItemFactory()
    customer = CustomerFactory()
    ship_to = ShipToFactory(customer=customer)
    events_before = Event.objects.count()
    # when
    order = services.sales_order_create(
        customer=customer,
        user=planner,
        external_id=" ERP-1 ",
        customer_po="PO-9",
        ship_to=ship_to,
        lines=[
            services.LineInput(item=item, quantity=Decimal("3"), requested_date=_today()),
            services.LineInput(
                item=item, quantity=Decimal("4.5"), requested_date=_today() + dt.timedelta(1)
            ),
        ],
    )
    # then
    order.refresh_from_db()
    assert (order.number, order.state, order.external_id) == (
        f"SO-{order.pk:06d}",
        S.DRAFT,
        "ERP-1",
    )
    assert (order.created_by, order.ship_to, order.customer_po) == (planner, ship_to, "PO-9")
    assert list(order.lines.values_list("line_no", "quantity", "promise_date")) == [
        (10, Decimal("3"), None),
        (20, Decimal("4.5"), None),
    ]
    assert Event.objects.count() == events_before + 1
    event = Event.objects.last()
    assert (event.type, event.object_id, event.actor) == ("order.created", order.pk, planner)
    assert event.payload == {
        "number": order.number,
        "external_id": "ERP-1",
        "customer": customer.code,
        "lines": 2,
    }


def test_create_refuses_bad_lines_and_saves_nothing(planner: Any) -> None:
    # given
    customer = CustomerFactory()
    old = ItemFactory(sku="OLD", active=False)
    good = ItemFactory(sku="GOOD")
    counts = (SalesOrder.objects.count(), SalesOrderLine.objects.count(), Event.objects.count())
    # when
    with pytest.raises(ValidationFailed) as exc:
        services.sales_order_create(
            customer=customer,
            user=planner,
            lines=[
                services.LineInput(item=old, quantity=Decimal("1"), requested_date=_today()),
                services.LineInput(
                    item=good,
                    quantity=Decimal("0"),
                    requested_date=_today() - dt.timedelta(days=1),
                ),
            ],
        )
    # then
    assert exc.value.errors == {
        "lines[0].item": ["Item OLD is no longer active."],
        "lines[1].quantity": ["Quantity must be greater than zero."],
        "lines[1].requested_date": ["The requested date is in the past."],
    }
    assert (
        SalesOrder.objects.count(),
        SalesOrderLine.objects.count(),
        Event.objects.count(),
    ) == counts


def test_create_refuses_an_inactive_customer_and_a_duplicate_erp_id(planner: Any) -> None:
    # given
    make_order(external_id="ERP-7")
    inactive = CustomerFactory(active=False)
    count = SalesOrder.objects.count()
    # when
    with pytest.raises(ValidationFailed) as inactive_exc:
        services.sales_order_create(customer=inactive, user=planner, lines=[])
    with pytest.raises(Conflict) as duplicate_exc:
        services.sales_order_create(
            customer=CustomerFactory(), user=planner, lines=[], external_id="ERP-7"
        )
    # then
    assert inactive_exc.value.errors == {"customer": ["Choose an active customer."]}
    assert duplicate_exc.value.errors == {
        "external_id": ["An order with ERP id ERP-7 exists already."]
    }
    assert SalesOrder.objects.count() == count


def test_create_needs_the_role(floor_lead: Any) -> None:
    # given
    count = SalesOrder.objects.count()
    # when
    with pytest.raises(NotPermitted):
        services.sales_order_create(customer=CustomerFactory(), user=floor_lead, lines=[])
    # then
    assert SalesOrder.objects.count() == count


def test_update_draft_replaces_lines(planner: Any) -> None:
    # given
    order = make_order(state=S.DRAFT, lines=2)
    item = ItemFactory()
    # when
    services.sales_order_update_draft(
        order=order,
        user=planner,
        notes="call before delivery",
        lines=[services.LineInput(item=item, quantity=Decimal("9"), requested_date=_today())],
    )
    # then
    order.refresh_from_db()
    assert order.notes == "call before delivery"
    assert list(order.lines.values_list("line_no", "item", "quantity")) == [
        (10, item.pk, Decimal("9"))
    ]
    assert Event.objects.last().type == "order.updated"


def test_update_of_a_confirmed_order_is_refused(planner: Any) -> None:
    # given
    order = make_order(state=S.CONFIRMED)
    before = _snapshot(order)
    # when
    with pytest.raises(Conflict) as exc:
        services.sales_order_update_draft(order=order, user=planner, notes="sneaky")
    # then
    assert exc.value.code == "not_draft"
    assert _snapshot(order) == before


def test_upsert_external_creates_then_updates_the_draft(planner: Any) -> None:
    # given
    customer = CustomerFactory()
    item = ItemFactory()
    lines = [services.LineInput(item=item, quantity=Decimal("2"), requested_date=_today())]
    # when
    first, created = services.sales_order_upsert_external(
        external_id="ERP-42", customer=customer, user=planner, lines=lines
    )
    second, created_again = services.sales_order_upsert_external(
        external_id="ERP-42", customer=customer, user=planner, lines=lines, notes="v2"
    )
    # then
    assert (created, created_again) == (True, False)
    assert first.pk == second.pk
    assert SalesOrder.objects.get(external_id="ERP-42").notes == "v2"


def test_upsert_external_refuses_new_lines_on_a_confirmed_order(planner: Any) -> None:
    # given
    order = make_order(state=S.CONFIRMED, external_id="ERP-43")
    before = _snapshot(order)
    # when
    with pytest.raises(Conflict) as exc:
        services.sales_order_upsert_external(
            external_id="ERP-43",
            customer=order.customer,
            user=planner,
            lines=[
                services.LineInput(
                    item=ItemFactory(), quantity=Decimal("1"), requested_date=_today()
                )
            ],
        )
    # then
    assert exc.value.code == "lines_locked"
    assert _snapshot(order) == before


# --- confirm and promise dates ----------------------------------------------------------


def test_confirm_promises_every_line(planner: Any) -> None:
    # given: one line wanted before the lead time allows, one well after
    quick = ItemFactory(sku="QUICK", lead_time_days=5)
    slow = ItemFactory(sku="SLOW", lead_time_days=5)
    order = _draft(planner, [(quick, "1", 2), (slow, "1", 20), (quick, "1", 5)])
    today = _today()
    # when
    confirmed = services.sales_order_confirm(order=order, user=planner)
    # then
    assert confirmed.state == S.CONFIRMED
    assert confirmed.confirmed_at is not None
    lines = list(SalesOrderLine.objects.filter(order=order).order_by("line_no"))
    d = {n: today + dt.timedelta(days=n) for n in (2, 5, 20)}
    assert [(x.line_no, x.promise_date) for x in lines] == [(10, d[5]), (20, d[20]), (30, d[5])]
    assert [x.promise_basis for x in lines] == [
        f"today {today:%Y-%m-%d} + 5 d lead time of QUICK (requested {d[2]:%Y-%m-%d} is earlier)",
        f"requested date {d[20]:%Y-%m-%d} (today {today:%Y-%m-%d} + 5 d lead time = "
        f"{d[5]:%Y-%m-%d} is earlier)",
        f"requested date {d[5]:%Y-%m-%d} (today {today:%Y-%m-%d} + 5 d lead time = "
        f"{d[5]:%Y-%m-%d} is earlier)",
    ]
    event = Event.objects.get(type="order.confirmed", object_id=order.pk)
    assert event.actor == planner
    assert event.payload == {
        "transition": "confirm",
        "from": S.DRAFT,
        "to": S.CONFIRMED,
        "comment": "",
        "number": order.number,
        "lines": [
            {"line": 10, "promise_date": d[5].isoformat()},
            {"line": 20, "promise_date": d[20].isoformat()},
            {"line": 30, "promise_date": d[5].isoformat()},
        ],
    }


def test_confirm_needs_at_least_one_line(planner: Any) -> None:
    # given
    order = make_order(state=S.DRAFT, lines=0)
    before = _snapshot(order)
    # when
    with pytest.raises(DomainError) as exc:
        services.sales_order_confirm(order=order, user=planner)
    # then
    assert (exc.value.code, str(exc.value)) == (
        "condition_not_met",
        "Add at least one line before confirming.",
    )
    assert _snapshot(order) == before


def test_confirm_through_the_transition_service(planner: Any) -> None:
    # given
    order = make_order(state=S.DRAFT, lines=1)
    # when
    confirmed = services.sales_order_transition(order=order, user=planner, transition="confirm")
    # then
    assert confirmed.state == S.CONFIRMED
    assert SalesOrderLine.objects.get(order=order).promise_date is not None


def test_confirm_uses_the_plant_date_just_after_midnight(planner: Any) -> None:
    # given: 23:30 UTC on 14 January is already 00:30 on 15 January in the plant (CET)
    instant = dt.datetime(2025, 1, 14, 23, 30, tzinfo=dt.UTC)
    item = ItemFactory(sku="LATE", lead_time_days=5)
    with mock.patch("django.utils.timezone.now", return_value=instant):
        assert timezone.localdate() == dt.date(2025, 1, 15)
        order = _draft(planner, [(item, "1", 0)])
        # when
        services.sales_order_confirm(order=order, user=planner)
    # then: plant today 15 Jan + 5 days, not the UTC date's 19 Jan
    line = SalesOrderLine.objects.get(order=order)
    assert line.requested_date == dt.date(2025, 1, 15)
    assert line.promise_date == dt.date(2025, 1, 20)
    assert line.promise_basis == (
        "today 2025-01-15 + 5 d lead time of LATE (requested 2025-01-15 is earlier)"
    )


def test_plant_date_before_midnight_is_still_today(planner: Any) -> None:
    # given: 22:59 UTC on 14 January is 23:59 on 14 January in the plant
    instant = dt.datetime(2025, 1, 14, 22, 59, tzinfo=dt.UTC)
    item = ItemFactory(sku="EARLY", lead_time_days=5)
    with mock.patch("django.utils.timezone.now", return_value=instant):
        order = _draft(planner, [(item, "1", 0)])
        # when
        services.sales_order_confirm(order=order, user=planner)
    # then
    assert SalesOrderLine.objects.get(order=order).promise_date == dt.date(2025, 1, 19)


# --- hold and cancel need a reason --------------------------------------------------------


@pytest.mark.parametrize(("transition", "state"), [("hold", S.CONFIRMED), ("cancel", S.CONFIRMED)])
@pytest.mark.parametrize(
    ("reason_code", "comment", "errors"),
    [
        (None, "Customer asked", {"reason_code": ["Choose a reason code."]}),
        ("", "Customer asked", {"reason_code": ["Choose a reason code."]}),
        ("nope", "Customer asked", {"reason_code": ["Unknown reason code 'nope'."]}),
        ("retired", "Customer asked", {"reason_code": ["Unknown reason code 'retired'."]}),
        ("quality", "", {"comment": ["Say why in a few words."]}),
        ("quality", "   ", {"comment": ["Say why in a few words."]}),
    ],
)
def test_hold_and_cancel_need_a_reason_and_a_comment(
    planner: Any,
    transition: str,
    state: str,
    reason_code: str | None,
    comment: str,
    errors: dict[str, list[str]],
) -> None:
    # given
    ReasonCode.objects.create(code="retired", label="Retired", active=False)
    order = make_order(state=state)
    before = _snapshot(order)
    # when
    with pytest.raises(ValidationFailed) as exc:
        services.sales_order_transition(
            order=order,
            user=planner,
            transition=transition,
            reason_code=reason_code,
            comment=comment,
        )
    # then
    assert exc.value.errors == errors
    assert _snapshot(order) == before


def test_hold_records_reason_code_and_comment(planner: Any) -> None:
    # given
    order = make_order(state=S.IN_PRODUCTION)
    # when
    held = services.sales_order_transition(
        order=order, user=planner, transition="hold", reason_code="quality", comment=" Cracks "
    )
    # then
    assert (held.state, held.held_from_state) == (S.ON_HOLD, S.IN_PRODUCTION)
    log = TransitionLog.objects.filter(object_id=order.pk).last()
    assert (log.transition, log.reason_code.code, log.comment, log.actor) == (
        "hold",
        "quality",
        "Cracks",
        planner,
    )
    event = Event.objects.last()
    assert (event.type, event.payload["comment"]) == ("order.status_changed", "Cracks")


def test_cancel_of_an_order_held_in_production_needs_a_change_request(planner: Any) -> None:
    # given
    order = make_order(state=S.IN_PRODUCTION)
    order = services.sales_order_transition(
        order=order, user=planner, transition="hold", reason_code="quality", comment="Cracks"
    )
    before = _snapshot(order)
    # when
    with pytest.raises(DomainError) as exc:
        services.sales_order_transition(
            order=order, user=planner, transition="cancel", reason_code="other", comment="No"
        )
    # then
    assert (exc.value.code, str(exc.value)) == (
        "condition_not_met",
        "This order is in production: request a cancellation change instead.",
    )
    assert _snapshot(order) == before


def test_header_edit_of_a_confirmed_order_is_reported_once_and_only_when_it_changes(planner):
    # given

    order = make_order(state=OrderState.CONFIRMED)
    before = Event.objects.filter(type="order.updated").count()
    # when
    services.sales_order_update_notes(order=order, user=planner, notes="deliver to gate 3")
    services.sales_order_update_notes(order=order, user=planner, notes="deliver to gate 3")
    # then
    events = Event.objects.filter(type="order.updated").order_by("id")
    order.refresh_from_db()
    assert order.notes == "deliver to gate 3"
    assert events.count() == before + 1
    assert events.last().payload["fields"] == ["notes"]
