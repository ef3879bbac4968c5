"""Planner pages for orders, driven with real form posts (and the HX-Request header where
HTMX sends one)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from mes.core.models import FieldChange, TransitionLog
from orders import services
from orders.models import ChangeRequest, OrderState, Priority, SalesOrder

from ..factories import CustomerFactory, ItemFactory, ShipToFactory, make_order

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
# Session, user, the user's and the groups' permissions, the user's roles (header), the
# open-exceptions badge, the page of orders and their count: the same at 10 and at 200.
ORDER_LIST_QUERIES = 8
CHANGE_REQUEST_LIST_QUERIES = 8


def _templates(response: Any) -> list[str]:
    return [t.name for t in response.templates]


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _numbers(response: Any) -> list[str]:
    return [o.number for o in response.context["orders"]]


def _detail(order: SalesOrder) -> str:
    return reverse("orders:detail", args=[order.number])


def _transition(order: SalesOrder, name: str) -> str:
    return reverse("orders:transition", args=[order.number, name])


def _line_data(index: int, item: Any, quantity: Any, requested: Any) -> dict[str, Any]:
    return {
        f"lines-{index}-item": item.pk if item is not None else "",
        f"lines-{index}-quantity": str(quantity),
        f"lines-{index}-requested_date": requested.isoformat()
        if isinstance(requested, dt.date)
        else requested,
    }


def _order_post(customer: Any, lines: list[dict[str, Any]], **header: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "customer": customer.pk if customer is not None else "",
        "customer_po": header.get("customer_po", ""),
        "ship_to": header.get("ship_to", ""),
        "notes": header.get("notes", ""),
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(header.get("initial", 0)),
        "lines-MIN_NUM_FORMS": "1",
        "lines-MAX_NUM_FORMS": "200",
    }
    for line in lines:
        data.update(line)
    return data


@pytest.fixture
def signed_in(client, planner):  # type: ignore[no-untyped-def]
    client.force_login(planner)
    return client


# --- list ------------------------------------------------------------------------------


def test_list_filters_by_state(signed_in):
    # given
    draft = make_order(state=OrderState.DRAFT)
    confirmed = make_order(state=OrderState.CONFIRMED)
    # when
    response = signed_in.get(reverse("orders:list"), {"state": "confirmed"})
    everything = signed_in.get(reverse("orders:list"))
    # then
    assert _numbers(response) == [confirmed.number]
    assert set(_numbers(everything)) == {draft.number, confirmed.number}


def test_list_filters_by_customer_code_or_name(signed_in):
    # given
    acme = CustomerFactory(code="ACME", name="Acme Pumps")
    other = CustomerFactory(code="ZETA", name="Zeta Valves")
    mine = make_order(customer=acme)
    make_order(customer=other)
    # when
    by_code = signed_in.get(reverse("orders:list"), {"customer": "acme"})
    by_name = signed_in.get(reverse("orders:list"), {"customer": "pumps"})
    # then
    assert _numbers(by_code) == [mine.number]
    assert _numbers(by_name) == [mine.number]


def test_list_filters_by_due_window(signed_in):
    # given
    soon = make_order(state=OrderState.CONFIRMED, lines=1, requested_in_days=10)
    later = make_order(state=OrderState.CONFIRMED, lines=1, requested_in_days=30)
    today = timezone.localdate()
    # when
    window = signed_in.get(
        reverse("orders:list"),
        {
            "due_from": (today + dt.timedelta(days=5)).isoformat(),
            "due_to": (today + dt.timedelta(days=15)).isoformat(),
        },
    )
    from_only = signed_in.get(
        reverse("orders:list"), {"due_from": (today + dt.timedelta(days=20)).isoformat()}
    )
    # then
    assert _numbers(window) == [soon.number]
    assert _numbers(from_only) == [later.number]


@pytest.mark.parametrize("field", ["number", "external_id", "customer_po"])
def test_list_searches_number_erp_id_and_customer_po(signed_in, planner, field):
    # given
    wanted = make_order(external_id="ERP-4711")
    services.sales_order_update_draft(order=wanted, user=planner, customer_po="PO-99-XYZ")
    make_order(external_id="ERP-0815")
    term = {"number": wanted.number, "external_id": "4711", "customer_po": "99-xyz"}[field]
    # when
    response = signed_in.get(reverse("orders:list"), {"q": term})
    # then
    assert _numbers(response) == [wanted.number]


def test_list_sorts_by_column(signed_in):
    # given
    first, second, third = (make_order() for _ in range(3))
    # when
    ascending = signed_in.get(reverse("orders:list"), {"ordering": "number"})
    descending = signed_in.get(reverse("orders:list"), {"ordering": "-number"})
    unknown = signed_in.get(reverse("orders:list"), {"ordering": "password"})
    # then
    assert _numbers(ascending) == [first.number, second.number, third.number]
    assert _numbers(descending) == [third.number, second.number, first.number]
    assert _numbers(unknown) == [third.number, second.number, first.number]
    html = ascending.content.decode()
    assert 'href="?ordering=-number"' in html  # the header now sorts the other way
    assert 'aria-sort="ascending"' in html


def test_list_sorts_by_priority_and_due(signed_in, planner):
    # given
    late = make_order(state=OrderState.CONFIRMED, lines=1, requested_in_days=30)
    early = make_order(state=OrderState.CONFIRMED, lines=1, requested_in_days=8)
    services.order_priority_change(
        order=late, user=planner, priority=Priority.URGENT, reason_code="expedite", reason_text="x"
    )
    # when
    by_priority = signed_in.get(reverse("orders:list"), {"ordering": "priority"})
    by_due = signed_in.get(reverse("orders:list"), {"ordering": "due"})
    # then
    assert _numbers(by_priority) == [late.number, early.number]
    assert _numbers(by_due) == [early.number, late.number]


def test_list_paginates_25_per_page(signed_in):
    # given
    for _ in range(27):
        make_order(lines=1)
    # when
    first = signed_in.get(reverse("orders:list"))
    second = signed_in.get(reverse("orders:list"), {"page": 2})
    # then
    assert len(first.context["orders"]) == 25
    assert len(second.context["orders"]) == 2
    assert set(_numbers(first)).isdisjoint(_numbers(second))
    assert b'data-testid="pagination"' in first.content


def test_list_with_htmx_returns_only_the_table(signed_in):
    # given
    order = make_order(state=OrderState.CONFIRMED)
    # when
    response = signed_in.get(reverse("orders:list"), {"state": "confirmed"}, **HX)
    full = signed_in.get(reverse("orders:list"), {"state": "confirmed"})
    # then
    assert response.status_code == 200
    assert _templates(response)[0] == "orders/_list_table.html"
    assert "orders/list.html" not in _templates(response)
    assert "base.html" not in _templates(response)
    assert b"<html" not in response.content
    assert order.number.encode() in response.content
    assert "HX-Request" in response["Vary"]
    assert _templates(full)[0] == "orders/list.html"
    assert b'hx-target="#order-table"' in full.content
    assert b'hx-push-url="true"' in full.content


@pytest.mark.parametrize("n", [10, 200])
def test_list_query_count_does_not_grow(signed_in, django_assert_num_queries, n):
    # given
    states = [OrderState.DRAFT, OrderState.CONFIRMED, OrderState.IN_PRODUCTION]
    customers = [CustomerFactory(), CustomerFactory()]
    for i in range(n):
        make_order(state=states[i % 3], customer=customers[i % 2], lines=2)
    # when
    with django_assert_num_queries(ORDER_LIST_QUERIES):
        response = signed_in.get(reverse("orders:list"), {"ordering": "due"})
    # then
    assert response.status_code == 200
    assert len(response.context["orders"]) == min(n, 25)


# --- create ----------------------------------------------------------------------------


def test_create_with_two_lines(signed_in, planner):
    # given
    customer = CustomerFactory()
    ship_to = ShipToFactory(customer=customer)
    bolt, nut = ItemFactory(), ItemFactory()
    today = timezone.localdate()
    data = _order_post(
        customer,
        [
            _line_data(0, bolt, "12.5", today + dt.timedelta(days=14)),
            _line_data(1, nut, "40", today + dt.timedelta(days=21)),
        ],
        customer_po="PO-1",
        ship_to=ship_to.pk,
        notes="Deliver to gate 3",
    )
    # when
    response = signed_in.post(reverse("orders:create"), data)
    # then
    order = SalesOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _detail(order)
    assert (order.state, order.customer, order.ship_to, order.customer_po, order.notes) == (
        OrderState.DRAFT,
        customer,
        ship_to,
        "PO-1",
        "Deliver to gate 3",
    )
    assert order.created_by == planner
    assert [(x.line_no, x.item, x.quantity, x.requested_date) for x in order.lines.all()] == [
        (10, bolt, Decimal("12.5"), today + dt.timedelta(days=14)),
        (20, nut, Decimal("40"), today + dt.timedelta(days=21)),
    ]
    page = signed_in.get(response["Location"])
    assert _messages(page) == [f"Order {order.number} created as a draft."]
    assert b'data-testid="line-quantity">12.5<' in page.content


def test_create_page_offers_one_line_and_an_add_line_button(signed_in):
    # when
    response = signed_in.get(reverse("orders:create"))
    # then
    assert response.status_code == 200
    assert len(response.context["formset"].forms) == 1
    html = response.content.decode()
    assert 'id="add-line-button"' in html
    assert 'name="lines-0-item"' in html
    assert 'name="lines-__prefix__-item"' in html  # the template the button clones


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quantity", "0", "Quantity must be greater than zero."),
        ("item", None, "Choose an item."),
        ("requested_date", "past", "The requested date is in the past."),
    ],
)
def test_create_with_bad_input_shows_the_message_next_to_the_field(
    signed_in, field, value, message
):
    # given
    customer, item = CustomerFactory(), ItemFactory()
    today = timezone.localdate()
    good = {"item": item, "quantity": "5", "requested": today + dt.timedelta(days=9)}
    bad = dict(good)
    if field == "requested_date":
        bad["requested"] = today - dt.timedelta(days=1)
    else:
        bad[field] = value
    data = _order_post(
        customer,
        [
            _line_data(0, good["item"], good["quantity"], good["requested"]),
            _line_data(1, bad["item"], bad["quantity"], bad["requested"]),
        ],
    )
    # when
    response = signed_in.post(reverse("orders:create"), data)
    # then
    assert response.status_code == 200
    forms = response.context["formset"].forms
    assert forms[0].errors == {}
    assert forms[1].errors == {field: [message]}
    html = response.content.decode()
    assert (
        f'<div class="invalid-feedback d-block" data-testid="error-lines-1-{field}">{message}</div>'
        in html
    )
    assert SalesOrder.objects.count() == 0


def test_create_maps_line_errors_past_a_removed_line(signed_in):
    # given
    customer, item = CustomerFactory(), ItemFactory()
    today = timezone.localdate()
    data = _order_post(
        customer,
        [
            _line_data(0, item, "5", today + dt.timedelta(days=9)),
            _line_data(1, item, "0", today + dt.timedelta(days=9)),
        ],
    )
    data["lines-0-DELETE"] = "on"
    # when
    response = signed_in.post(reverse("orders:create"), data)
    # then
    forms = response.context["formset"].forms
    assert forms[0].errors == {}
    assert forms[1].errors == {"quantity": ["Quantity must be greater than zero."]}
    assert SalesOrder.objects.count() == 0


def test_create_without_customer_or_lines_is_refused(signed_in):
    # given
    item = ItemFactory()
    today = timezone.localdate()
    no_customer = _order_post(None, [_line_data(0, item, "5", today + dt.timedelta(days=9))])
    no_lines = _order_post(CustomerFactory(), [_line_data(0, item, "5", today)])
    no_lines["lines-0-DELETE"] = "on"
    # when
    first = signed_in.post(reverse("orders:create"), no_customer)
    second = signed_in.post(reverse("orders:create"), no_lines)
    # then
    assert first.context["form"].errors == {"customer": ["Choose an active customer."]}
    assert b'data-testid="error-customer"' in first.content
    assert second.context["formset"].non_form_errors() == ["Add at least one line."]
    assert SalesOrder.objects.count() == 0


def test_floor_lead_cannot_open_the_create_page(client, floor_lead):
    # given
    client.force_login(floor_lead)
    # when
    response = client.get(reverse("orders:create"))
    # then
    assert response.status_code == 403
    assert "error.html" in _templates(response)


def test_ship_to_options_follow_the_chosen_customer(signed_in):
    # given
    customer = CustomerFactory()
    dock = ShipToFactory(customer=customer, label="Dock A", is_default=True)
    ShipToFactory(label="Elsewhere")
    # when
    response = signed_in.get(reverse("orders:ship_to_options"), {"customer": customer.pk}, **HX)
    # then
    assert list(response.context["addresses"]) == [dock]
    assert f'<option value="{dock.pk}" selected>'.encode() in response.content


# --- edit draft ----------------------------------------------------------------------------


def test_edit_draft(signed_in):
    # given
    order = make_order(lines=2)
    lines = list(order.lines.all())
    page = signed_in.get(reverse("orders:edit", args=[order.number]))
    data = _order_post(
        order.customer,
        [
            _line_data(0, lines[0].item, "7", lines[0].requested_date),
            _line_data(1, lines[1].item, lines[1].quantity, lines[1].requested_date),
        ],
        customer_po="PO-NEW",
        initial=2,
    )
    data["lines-1-DELETE"] = "on"
    # when
    response = signed_in.post(reverse("orders:edit", args=[order.number]), data)
    # then
    assert page.status_code == 200
    assert len(page.context["formset"].forms) == 2
    assert page.context["form"].initial["customer"] == order.customer_id
    assert response.status_code == 302
    assert response["Location"] == _detail(order)
    order.refresh_from_db()
    assert order.customer_po == "PO-NEW"
    assert [(x.item, x.quantity) for x in order.lines.all()] == [(lines[0].item, Decimal("7"))]


def test_edit_of_a_confirmed_order_redirects_with_an_error(signed_in):
    # given
    order = make_order(state=OrderState.CONFIRMED)
    # when
    response = signed_in.get(reverse("orders:edit", args=[order.number]), follow=True)
    posted = signed_in.post(
        reverse("orders:edit", args=[order.number]), {"customer_po": "X"}, follow=True
    )
    # then
    assert response.redirect_chain == [(_detail(order), 302)]
    expected = (
        f"{order.number} is confirmed: only drafts are edited directly; request a change instead."
    )
    assert _messages(response) == [expected]
    assert _messages(posted) == [expected]
    order.refresh_from_db()
    assert order.customer_po == ""


# --- transitions ---------------------------------------------------------------------------


def test_draft_detail_offers_confirm_edit_and_cancel(signed_in):
    # given
    order = make_order()
    # when
    response = signed_in.get(_detail(order))
    # then
    assert [t["name"] for t in response.context["transitions"]] == ["confirm", "cancel"]
    html = response.content.decode()
    assert 'id="confirm-button"' in html
    assert 'id="cancel-button"' in html
    assert 'id="edit-button"' in html
    assert 'id="hold-button"' not in html


def test_confirm_shows_promise_dates(signed_in):
    # given
    order = make_order(lines=2, requested_in_days=10)
    today = timezone.localdate()
    # when
    response = signed_in.post(_transition(order, "confirm"), follow=True)
    # then
    order.refresh_from_db()
    assert order.state == OrderState.CONFIRMED
    assert response.redirect_chain == [(_detail(order), 302)]
    assert _messages(response) == [f"{order.number}: confirm done; the order is now confirmed."]
    promised = [today + dt.timedelta(days=10), today + dt.timedelta(days=11)]
    assert [x.promise_date for x in order.lines.all()] == promised
    html = response.content.decode()
    for date in promised:
        assert f'data-testid="line-promise-date">{date:%Y-%m-%d}<' in html
    assert f"requested date {promised[0]:%Y-%m-%d} (today {today:%Y-%m-%d}" in html
    assert 'data-testid="promise-basis"' in html


def test_hold_needs_a_reason(signed_in):
    # given
    order = make_order(state=OrderState.CONFIRMED)
    holds_before = TransitionLog.objects.filter(transition="hold").count()
    # when
    refused = signed_in.post(_transition(order, "hold"), {"reason_code": "", "comment": ""})
    no_comment = signed_in.post(
        _transition(order, "hold"), {"reason_code": "material", "comment": " "}
    )
    # then
    assert refused.status_code == 200
    assert refused.context["open_panel"] == "hold"
    hold_form = next(t["form"] for t in refused.context["transitions"] if t["name"] == "hold")
    assert hold_form.errors == {"reason_code": ["Choose a reason code."]}
    assert b'data-testid="error-reason_code">Choose a reason code.<' in refused.content
    assert b'class="collapse show" id="hold-panel"' in refused.content
    no_comment_form = next(
        t["form"] for t in no_comment.context["transitions"] if t["name"] == "hold"
    )
    assert no_comment_form.errors == {"comment": ["Say why in a few words."]}
    order.refresh_from_db()
    assert order.state == OrderState.CONFIRMED
    assert TransitionLog.objects.filter(transition="hold").count() == holds_before


def test_hold_with_a_reason_and_release(signed_in, planner):
    # given
    order = make_order(state=OrderState.CONFIRMED)
    # when
    held = signed_in.post(
        _transition(order, "hold"), {"reason_code": "material", "comment": "Steel late"}
    )
    order.refresh_from_db()
    state_when_held = order.state
    released = signed_in.post(_transition(order, "release_hold"))
    # then
    assert held.status_code == 302
    assert state_when_held == OrderState.ON_HOLD
    log = TransitionLog.objects.get(transition="hold", object_id=order.pk)
    assert (log.actor, log.reason_code.code, log.comment) == (planner, "material", "Steel late")
    assert released.status_code == 302
    order.refresh_from_db()
    assert order.state == OrderState.CONFIRMED


def test_cancel_with_a_reason(signed_in):
    # given
    order = make_order(state=OrderState.CONFIRMED)
    # when
    response = signed_in.post(
        _transition(order, "cancel"),
        {"reason_code": "customer-request", "comment": "Customer withdrew"},
        follow=True,
    )
    # then
    order.refresh_from_db()
    assert (order.state, order.cancel_reason) == (OrderState.CANCELLED, "Customer withdrew")
    assert _messages(response) == [f"{order.number}: cancel done; the order is now cancelled."]
    assert response.context["transitions"] == []


def test_order_in_production_offers_a_cancellation_request_not_cancel(signed_in):
    # given
    order = make_order(state=OrderState.IN_PRODUCTION)
    # when
    response = signed_in.get(_detail(order))
    posted = signed_in.post(
        _transition(order, "cancel"), {"reason_code": "other", "comment": "x"}, follow=True
    )
    # then
    names = [t["name"] for t in response.context["transitions"]]
    assert names == ["mark_ready", "hold"]
    html = response.content.decode()
    assert 'id="cancel-button"' not in html
    assert 'id="request-cancel-button"' in html
    assert _messages(posted) == [
        f"Cancel is not possible while {order.number} is in production. "
        "Allowed now: Mark ready to ship, Put on hold."
    ]
    order.refresh_from_db()
    assert order.state == OrderState.IN_PRODUCTION


def test_request_cancellation_of_an_order_in_production(signed_in, client, planner2):
    # given
    order = make_order(state=OrderState.IN_PRODUCTION)
    # when
    requested = signed_in.post(
        reverse("orders:change_request_create", args=[order.number]),
        {"kind": "cancel", "reason_code": "customer-request", "reason_text": "Project stopped"},
    )
    cr = ChangeRequest.objects.get()
    client.force_login(planner2)
    approved = client.post(reverse("orders:change_request_decide", args=[cr.number, "approve"]))
    # then
    assert requested.status_code == 302
    assert approved.status_code == 302
    cr.refresh_from_db()
    order.refresh_from_db()
    assert (cr.kind, cr.state) == (ChangeRequest.Kind.CANCEL, ChangeRequest.State.APPLIED)
    assert order.state == OrderState.CANCELLED


def test_illegal_transition_names_the_allowed_ones(signed_in):
    # given
    order = make_order()
    signed_in.post(_transition(order, "confirm"), follow=True)
    # when
    response = signed_in.post(_transition(order, "confirm"), follow=True)
    # then
    assert response.redirect_chain == [(_detail(order), 302)]
    assert _messages(response) == [
        f"Confirm is not possible while {order.number} is confirmed. "
        "Allowed now: Start production, Put on hold, Cancel."
    ]
    order.refresh_from_db()
    assert order.state == OrderState.CONFIRMED
    assert TransitionLog.objects.filter(object_id=order.pk, transition="confirm").count() == 1


def test_unknown_or_internal_transition_is_not_found(signed_in):
    # given
    order = make_order(state=OrderState.READY_TO_SHIP)
    # when
    ship = signed_in.post(_transition(order, "ship"))
    nonsense = signed_in.post(_transition(order, "delete"))
    # then
    assert (ship.status_code, nonsense.status_code) == (404, 404)
    order.refresh_from_db()
    assert order.state == OrderState.READY_TO_SHIP


def test_floor_lead_cannot_confirm(client, floor_lead):
    # given
    order = make_order()
    client.force_login(floor_lead)
    # when
    page = client.get(_detail(order))
    response = client.post(_transition(order, "confirm"))
    # then
    assert page.context["transitions"] == []
    assert b'id="confirm-button"' not in page.content
    assert response.status_code == 403
    assert "error.html" in _templates(response)
    order.refresh_from_db()
    assert order.state == OrderState.DRAFT
    assert not TransitionLog.objects.filter(object_id=order.pk, transition="confirm").exists()


def test_transition_needs_a_post(signed_in):
    # given
    order = make_order()
    # when
    response = signed_in.get(_transition(order, "confirm"))
    # then
    assert response.status_code == 405
    order.refresh_from_db()
    assert order.state == OrderState.DRAFT


# --- change requests -------------------------------------------------------------------------


def _request_quantity(client: Any, order: SalesOrder, quantity: str, **extra: Any) -> Any:
    data = {
        "kind": "quantity",
        "line": "10",
        "new_quantity": quantity,
        "reason_code": "customer-request",
        "reason_text": "Customer needs more",
    }
    data.update(extra)
    return client.post(reverse("orders:change_request_create", args=[order.number]), data)


def test_quantity_change_before_production_applies_at_once(signed_in):
    # given
    order = make_order(state=OrderState.CONFIRMED)
    # when
    response = _request_quantity(signed_in, order, "15")
    # then
    cr = ChangeRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _detail(order) + "#change-requests"
    assert cr.state == ChangeRequest.State.APPLIED
    assert order.lines.get(line_no=10).quantity == Decimal("15")
    change = FieldChange.objects.get(field="quantity")
    assert (change.old_value, change.new_value) == ("10.000", "15.000")
    page = signed_in.get(response["Location"])
    assert _messages(page) == [
        f"{cr.number} applied at once: {order.number} is not in production yet."
    ]


def test_change_request_page_renders_and_bad_input_stays_next_to_the_field(signed_in):
    # given
    order = make_order(state=OrderState.CONFIRMED)
    # when
    page = signed_in.get(
        reverse("orders:change_request_create", args=[order.number]), {"kind": "date"}
    )
    response = _request_quantity(signed_in, order, "", reason_text="")
    # then
    assert page.status_code == 200
    assert page.context["form"].initial == {"kind": "date"}
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "new_quantity": ["Enter the new quantity."],
        "reason_text": ["Say why in a few words."],
    }
    assert b'data-testid="error-new_quantity">Enter the new quantity.<' in response.content
    assert ChangeRequest.objects.count() == 0
    assert order.lines.get(line_no=10).quantity == Decimal("10")


def test_change_in_production_needs_a_second_planner(signed_in, client, planner, planner2):
    # given
    order = make_order(state=OrderState.IN_PRODUCTION)
    requested = _request_quantity(signed_in, order, "15")
    signed_in.get(requested["Location"])  # shows (and so consumes) the success message
    cr = ChangeRequest.objects.get()
    # when: the requester tries to approve their own change
    own = signed_in.post(
        reverse("orders:change_request_decide", args=[cr.number, "approve"]), follow=True
    )
    cr.refresh_from_db()
    state_after_own = cr.state
    quantity_after_own = order.lines.get(line_no=10).quantity
    # and a second planner approves it
    client.force_login(planner2)
    page_for_second = client.get(_detail(order))
    approved = client.post(reverse("orders:change_request_decide", args=[cr.number, "approve"]))
    # then
    assert requested.status_code == 302
    assert _messages(own) == ["A planner other than the requester must approve this change."]
    assert (state_after_own, quantity_after_own) == (ChangeRequest.State.REQUESTED, Decimal("10"))
    own_row = own.context["change_rows"][0]
    assert (own_row["can_approve"], own_row["is_own"]) == (False, True)
    assert f'id="approve-{cr.number}"'.encode() not in own.content
    assert page_for_second.context["change_rows"][0]["can_approve"] is True
    assert f'id="approve-{cr.number}"'.encode() in page_for_second.content
    assert approved.status_code == 302
    cr.refresh_from_db()
    assert (cr.state, cr.decided_by) == (ChangeRequest.State.APPLIED, planner2)
    assert order.lines.get(line_no=10).quantity == Decimal("15")
    timeline = client.get(_detail(order)).context["timeline"]
    mine = [
        (e.kind, e.title, e.actor)
        for e in timeline
        if cr.number in e.title or "quantity" in e.title
    ]
    assert mine == [
        ("change_request", f"{cr.number} requested: line 10 quantity 10 → 15", planner),
        ("transition", f"{cr.number}: requested → approved", planner2),
        ("transition", f"{cr.number}: approved → applied", planner2),
        ("change", "line 10: quantity 10 → 15", planner2),
    ]


def test_timeline_is_rendered_in_time_order(signed_in, client, planner2):
    # given
    order = make_order(state=OrderState.IN_PRODUCTION)
    _request_quantity(signed_in, order, "15")
    cr = ChangeRequest.objects.get()
    client.force_login(planner2)
    client.post(reverse("orders:change_request_decide", args=[cr.number, "approve"]))
    # when
    response = client.get(_detail(order))
    # then
    html = response.content.decode()
    timeline = html[html.index('data-testid="timeline"') :]
    positions = [
        timeline.index(text)
        for text in (
            "draft → confirmed",
            f"{cr.number} requested",
            f"{cr.number}: requested → approved",
            "line 10: quantity 10 → 15",
        )
    ]
    assert positions == sorted(positions)
    assert timeline.count('data-testid="timeline-entry"') == len(response.context["timeline"])


def test_reject_needs_a_note(signed_in, client, planner2):
    # given
    order = make_order(state=OrderState.IN_PRODUCTION)
    _request_quantity(signed_in, order, "15")
    cr = ChangeRequest.objects.get()
    client.force_login(planner2)
    url = reverse("orders:change_request_decide", args=[cr.number, "reject"])
    # when
    refused = client.post(url, {"note": ""})
    cr.refresh_from_db()
    state_after_refusal = cr.state
    rejected = client.post(url, {"note": "Capacity is booked"})
    # then
    assert refused.status_code == 200
    row = refused.context["change_rows"][0]
    assert row["reject_form"].errors == {"note": ["Say why the change is rejected."]}
    assert row["reject_open"] is True
    assert b'data-testid="error-note">Say why the change is rejected.<' in refused.content
    assert state_after_refusal == ChangeRequest.State.REQUESTED
    assert rejected.status_code == 302
    cr.refresh_from_db()
    assert (cr.state, cr.decision_note, cr.decided_by) == (
        ChangeRequest.State.REJECTED,
        "Capacity is booked",
        planner2,
    )
    assert order.lines.get(line_no=10).quantity == Decimal("10")


def test_floor_lead_cannot_decide_change_requests(signed_in, client, floor_lead):
    # given
    order = make_order(state=OrderState.IN_PRODUCTION)
    _request_quantity(signed_in, order, "15")
    cr = ChangeRequest.objects.get()
    client.force_login(floor_lead)
    # when
    response = client.post(reverse("orders:change_request_decide", args=[cr.number, "approve"]))
    # then
    assert response.status_code == 403
    cr.refresh_from_db()
    assert cr.state == ChangeRequest.State.REQUESTED


def test_change_request_list_defaults_to_requested_and_filters(signed_in, planner):
    # given
    pending_order = make_order(state=OrderState.IN_PRODUCTION)
    done_order = make_order(state=OrderState.CONFIRMED)
    _request_quantity(signed_in, pending_order, "15")
    _request_quantity(signed_in, done_order, "12")
    pending = ChangeRequest.objects.get(order=pending_order)
    applied = ChangeRequest.objects.get(order=done_order)
    # when
    default = signed_in.get(reverse("orders:change_requests"))
    applied_page = signed_in.get(reverse("orders:change_requests"), {"state": "applied"})
    everything = signed_in.get(reverse("orders:change_requests"), {"state": "all"}, **HX)
    # then
    assert [r["cr"].number for r in default.context["rows"]] == [pending.number]
    assert [r["cr"].number for r in applied_page.context["rows"]] == [applied.number]
    assert {r["cr"].number for r in everything.context["rows"]} == {pending.number, applied.number}
    assert _templates(everything)[0] == "orders/_change_requests_table.html"
    assert b"Line 10: quantity 10 \xe2\x86\x92 15" in default.content


def test_decision_from_the_list_returns_to_the_list(signed_in, client, planner2):
    # given
    order = make_order(state=OrderState.IN_PRODUCTION)
    _request_quantity(signed_in, order, "15")
    cr = ChangeRequest.objects.get()
    client.force_login(planner2)
    back = reverse("orders:change_requests") + "?state=requested"
    # when
    response = client.post(
        reverse("orders:change_request_decide", args=[cr.number, "approve"]), {"next": back}
    )
    evil = client.post(
        reverse("orders:change_request_decide", args=[cr.number, "approve"]),
        {"next": "https://example.com/"},
    )
    # then
    assert response["Location"] == back
    assert evil["Location"] == _detail(order) + "#change-requests"


@pytest.mark.parametrize("n", [10, 200])
def test_change_request_list_query_count_does_not_grow(
    signed_in, planner, django_assert_num_queries, n
):
    # given
    customer = CustomerFactory()
    for i in range(n):
        order = make_order(state=OrderState.IN_PRODUCTION, customer=customer, lines=1)
        services.change_request_create(
            order=order,
            user=planner,
            kind="quantity" if i % 2 else "date",
            line=order.lines.get(),
            new_quantity=Decimal("11"),
            new_date=timezone.localdate() + dt.timedelta(days=40),
            reason_code="customer-request",
            reason_text="change",
        )
    # when
    with django_assert_num_queries(CHANGE_REQUEST_LIST_QUERIES):
        response = signed_in.get(reverse("orders:change_requests"), {"state": "requested"})
    # then
    assert response.status_code == 200
    assert len(response.context["rows"]) == min(n, 25)


# --- governed changes -------------------------------------------------------------------------


def test_promise_date_change_with_reason_records_a_field_change(signed_in, planner):
    # given
    order = make_order(state=OrderState.CONFIRMED, requested_in_days=10)
    line = order.lines.get(line_no=10)
    new_date = line.promise_date + dt.timedelta(days=5)
    # when
    response = signed_in.post(
        reverse("orders:promise_date", args=[order.number, 10]),
        {
            "promise_date": new_date.isoformat(),
            "reason_code": "capacity",
            "reason_text": "Press 2 down",
        },
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == _detail(order) + "#line-10"
    line.refresh_from_db()
    assert line.promise_date == new_date
    assert line.promise_basis == "set by hand: Press 2 down"
    change = FieldChange.objects.get(field="promise_date")
    assert (change.new_value, change.actor, change.reason_code.code, change.reason_text) == (
        new_date.isoformat(),
        planner,
        "capacity",
        "Press 2 down",
    )


def test_promise_date_change_without_reason_is_refused(signed_in):
    # given
    order = make_order(state=OrderState.CONFIRMED, requested_in_days=10)
    line = order.lines.get(line_no=10)
    before = line.promise_date
    # when
    response = signed_in.post(
        reverse("orders:promise_date", args=[order.number, 10]),
        {
            "promise_date": (before + dt.timedelta(days=5)).isoformat(),
            "reason_code": "",
            "reason_text": "",
        },
    )
    # then
    assert response.status_code == 200
    row = response.context["line_rows"][0]
    assert row["promise_form"].errors == {"reason_code": ["Choose a reason code."]}
    assert row["promise_open"] is True
    assert b'class="collapse show" id="promise-panel-10"' in response.content
    line.refresh_from_db()
    assert line.promise_date == before
    assert not FieldChange.objects.exists()


def test_priority_change_with_reason(signed_in, planner):
    # given
    order = make_order(state=OrderState.CONFIRMED)
    url = reverse("orders:priority", args=[order.number])
    # when
    refused = signed_in.post(url, {"priority": "1", "reason_code": "expedite", "reason_text": ""})
    accepted = signed_in.post(
        url, {"priority": "1", "reason_code": "expedite", "reason_text": "Line down at customer"}
    )
    # then
    assert refused.status_code == 200
    assert refused.context["priority_form"].errors == {"reason_text": ["Say why in a few words."]}
    assert accepted.status_code == 302
    order.refresh_from_db()
    assert order.priority == Priority.URGENT
    change = FieldChange.objects.get(field="priority")
    assert (change.old_value, change.new_value, change.actor) == (3, 1, planner)


def test_floor_lead_cannot_change_promise_dates(client, floor_lead):
    # given
    order = make_order(state=OrderState.CONFIRMED)
    before = order.lines.get(line_no=10).promise_date
    client.force_login(floor_lead)
    # when
    response = client.post(
        reverse("orders:promise_date", args=[order.number, 10]),
        {"promise_date": "2099-01-01", "reason_code": "capacity", "reason_text": "x"},
    )
    # then
    assert response.status_code == 403
    assert order.lines.get(line_no=10).promise_date == before
    assert not FieldChange.objects.exists()
