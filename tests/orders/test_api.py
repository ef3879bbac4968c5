"""REST for the ERP: orders by external_id, transitions, ETags, governed fields, change
requests, filters, master data and query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from inventory.models import Item
from mes.core.api.conditional import etag_for
from mes.core.models import Event, FieldChange, TransitionLog
from orders import services
from orders.models import ChangeRequest, Customer, SalesOrder, SalesOrderLine

from ..factories import CustomerFactory, ItemFactory, ShipToFactory, make_order

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
ORDERS = "/api/v1/orders/"
TODAY = timezone.localdate


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    return body


def day(offset: int) -> dt.date:
    return TODAY() + dt.timedelta(days=offset)


def line(item: str = "BOLT-10", quantity: str = "5", in_days: int = 20) -> dict[str, str]:
    return {"item": item, "quantity": quantity, "requested_date": str(day(in_days))}


def order_body(external_id: str = "ERP-1", **overrides: Any) -> dict[str, Any]:
    body = {
        "external_id": external_id,
        "customer": "ACME",
        "customer_po": "PO-77",
        "lines": [line()],
    }
    body.update(overrides)
    return body


def snapshot() -> dict[str, Any]:
    """What the API may change: compared before and after a refused request."""
    return {
        "orders": list(
            SalesOrder.objects.order_by("pk").values_list(
                "pk", "state", "priority", "customer_po", "notes", "updated_at"
            )
        ),
        "lines": list(
            SalesOrderLine.objects.order_by("pk").values_list(
                "pk", "item_id", "quantity", "requested_date", "promise_date"
            )
        ),
        "change_requests": list(ChangeRequest.objects.order_by("pk").values_list("pk", "state")),
        "events": Event.objects.count(),
        "transitions": TransitionLog.objects.count(),
        "field_changes": FieldChange.objects.count(),
    }


@pytest.fixture
def master_data(db: Any) -> None:
    acme = CustomerFactory(code="ACME", name="Acme Corp")
    ShipToFactory(customer=acme, label="Dock A")
    CustomerFactory(code="BETA", name="Beta GmbH")
    ItemFactory(sku="BOLT-10", name="Bolt M10", lead_time_days=5)
    ItemFactory(sku="SLOW-1", name="Casting", lead_time_days=30)


def create(erp: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = erp.post(ORDERS, body or order_body(), format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- 400: field errors, nothing created -------------------------------------------------


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (
            {"lines": [line(quantity="0")]},
            {"lines[0].quantity": ["Ensure this value is greater than or equal to 0.001."]},
        ),
        (
            {"lines": [line(), line(quantity="abc")]},
            {"lines[1].quantity": ["A valid number is required."]},
        ),
        ({"customer": "NOPE"}, {"customer": ["Unknown customer NOPE."]}),
        ({"lines": []}, {"lines": ["This list may not be empty."]}),
        (
            {"lines": [line(item="NO-SUCH-SKU")]},
            {"lines[0].item": ["Unknown item NO-SUCH-SKU."]},
        ),
        ({"external_id": ""}, {"external_id": ["This field may not be blank."]}),
        (
            {"lines": [line(in_days=-1)]},
            {"lines[0].requested_date": ["The requested date is in the past."]},
        ),
        (
            {"ship_to": "Dock Z"},
            {"ship_to": ["ACME has no ship-to address labelled 'Dock Z'."]},
        ),
    ],
)
def test_invalid_order_is_400_problem_with_field_errors_and_creates_nothing(
    erp, master_data, change, errors
):
    # given
    before = snapshot()
    # when
    response = erp.post(ORDERS, order_body(**change), format="json")
    # then
    problem = assert_problem(response, 400)
    assert problem["code"] == "validation_failed"
    assert problem["errors"] == errors
    assert snapshot() == before


def test_order_without_any_field_names_every_missing_field(erp, master_data):
    # when
    response = erp.post(ORDERS, {}, format="json")
    # then
    problem = assert_problem(response, 400)
    assert problem["errors"] == {
        "external_id": ["This field is required."],
        "customer": ["This field is required."],
        "lines": ["This field is required."],
    }
    assert SalesOrder.objects.count() == 0


def test_malformed_json_is_400_problem(erp, master_data):
    # when
    response = erp.generic("POST", ORDERS, "{not json", content_type="application/json")
    # then
    problem = assert_problem(response, 400)
    assert problem["code"] == "parse_error"
    assert SalesOrder.objects.count() == 0


# --- upsert by external_id --------------------------------------------------------------


def test_create_order_by_external_id_is_201_with_location_and_etag(erp, master_data):
    # when
    response = erp.post(ORDERS, order_body(ship_to="Dock A"), format="json")
    # then
    assert response.status_code == 201
    body = response.json()
    order = SalesOrder.objects.get(external_id="ERP-1")
    assert body["number"] == order.number
    assert response["Location"] == f"/api/v1/orders/{order.number}/"
    assert response["ETag"] == etag_for(body)
    assert body["state"] == "draft"
    assert body["customer"] == "ACME"
    assert body["ship_to"] == "Dock A"
    assert body["allowed_transitions"] == ["cancel", "confirm"]
    assert [(x["line_no"], x["item"], x["quantity"]) for x in body["lines"]] == [
        (10, "BOLT-10", "5.000")
    ]
    assert order.created_by == erp.api_client.user


def test_same_external_id_on_a_draft_replaces_its_lines(erp, master_data):
    # given
    first = create(erp)
    # when
    response = erp.post(
        ORDERS,
        order_body(customer_po="PO-78", lines=[line("SLOW-1", "3"), line("BOLT-10", "9")]),
        format="json",
    )
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == first["number"]
    assert body["customer_po"] == "PO-78"
    assert [(x["line_no"], x["item"], x["quantity"]) for x in body["lines"]] == [
        (10, "SLOW-1", "3.000"),
        (20, "BOLT-10", "9.000"),
    ]
    assert SalesOrder.objects.count() == 1
    assert SalesOrderLine.objects.count() == 2


def test_same_external_id_with_other_lines_on_a_confirmed_order_is_409(erp, master_data):
    # given
    number = create(erp)["number"]
    erp.post(f"{ORDERS}{number}/confirm/", {}, format="json")
    before = snapshot()
    # when
    response = erp.post(ORDERS, order_body(lines=[line(quantity="6")]), format="json")
    # then
    problem = assert_problem(response, 409)
    assert problem["code"] == "lines_locked"
    assert problem["detail"] == (
        f"{number} is confirmed: lines change only through change requests "
        f"(POST /api/v1/orders/{number}/change-requests/)."
    )
    assert snapshot() == before


def test_same_external_id_header_only_on_a_confirmed_order_is_accepted(erp, master_data):
    # given
    number = create(erp)["number"]
    erp.post(f"{ORDERS}{number}/confirm/", {}, format="json")
    lines_before = list(SalesOrderLine.objects.values_list("quantity", "promise_date"))
    # when
    response = erp.post(
        ORDERS, order_body(customer_po="PO-99", notes="Deliver to gate 2"), format="json"
    )
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["number"], body["state"]) == (number, "confirmed")
    assert (body["customer_po"], body["notes"]) == ("PO-99", "Deliver to gate 2")
    assert list(SalesOrderLine.objects.values_list("quantity", "promise_date")) == lines_before


def test_same_external_id_for_another_customer_on_a_confirmed_order_is_409(erp, master_data):
    # given
    number = create(erp)["number"]
    erp.post(f"{ORDERS}{number}/confirm/", {}, format="json")
    before = snapshot()
    # when
    response = erp.post(ORDERS, order_body(customer="BETA"), format="json")
    # then
    problem = assert_problem(response, 409)
    assert problem["errors"] == {
        "customer": [f"{number} is confirmed: its customer cannot change."]
    }
    assert snapshot() == before


# --- transitions ------------------------------------------------------------------------


def test_confirm_returns_promise_dates(erp, master_data):
    # given: one line promised on its requested date, one on today + lead time
    number = create(erp, order_body(lines=[line("BOLT-10", "5", 20), line("SLOW-1", "2", 20)]))[
        "number"
    ]
    # when
    response = erp.post(f"{ORDERS}{number}/confirm/", {}, format="json")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "confirmed"
    assert [(x["line_no"], x["promise_date"]) for x in body["lines"]] == [
        (10, str(day(20))),
        (20, str(day(30))),
    ]
    assert body["lines"][0]["promise_basis"].startswith(f"requested date {day(20)}")
    assert body["lines"][1]["promise_basis"] == (
        f"today {TODAY()} + 30 d lead time of SLOW-1 (requested {day(20)} is earlier)"
    )
    assert response["ETag"] == etag_for(body)


def test_illegal_transition_is_409_naming_state_and_allowed_transitions(erp, master_data):
    # given
    number = create(erp)["number"]
    before = snapshot()
    # when
    response = erp.post(f"{ORDERS}{number}/mark-ready/", {}, format="json")
    # then
    problem = assert_problem(response, 409)
    assert problem["code"] == "illegal_transition"
    assert problem["current_state"] == "draft"
    assert problem["allowed_transitions"] == ["cancel", "confirm"]
    assert problem["transition"] == "mark_ready"
    assert snapshot() == before


def test_transition_the_integration_role_may_not_run_is_403(erp, master_data):
    # given: production is the floor's business
    order = make_order(state="confirmed")
    before = snapshot()
    # when
    response = erp.post(f"{ORDERS}{order.number}/start-production/", {}, format="json")
    # then
    problem = assert_problem(response, 403)
    assert problem["detail"] == f"You are not allowed to start production {order.number}."
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"reason_code": ["Choose a reason code."]}),
        ({"comment": "Credit check"}, {"reason_code": ["Choose a reason code."]}),
        ({"reason_code": "other"}, {"comment": ["Say why in a few words."]}),
        (
            {"reason_code": "no-such-code", "comment": "x"},
            {"reason_code": ["Unknown reason code 'no-such-code'."]},
        ),
    ],
)
def test_hold_without_reason_is_400(erp, master_data, body, errors):
    # given
    order = make_order(state="confirmed")
    before = snapshot()
    # when
    response = erp.post(f"{ORDERS}{order.number}/hold/", body, format="json")
    # then
    problem = assert_problem(response, 400)
    assert problem["errors"] == errors
    assert snapshot() == before


def test_hold_and_release_with_reason(erp, master_data):
    # given
    order = make_order(state="confirmed")
    # when
    held = erp.post(
        f"{ORDERS}{order.number}/hold/",
        {"reason_code": "other", "comment": "Credit check"},
        format="json",
    )
    released = erp.post(f"{ORDERS}{order.number}/release-hold/", {}, format="json")
    # then
    assert (held.status_code, held.json()["state"]) == (200, "on_hold")
    assert held.json()["held_from_state"] == "confirmed"
    assert (released.status_code, released.json()["state"]) == (200, "confirmed")
    log = TransitionLog.objects.filter(object_id=order.pk, transition="hold").get()
    assert (log.comment, log.reason_code.code) == ("Credit check", "other")


def test_cancel_with_reason(erp, master_data):
    # given
    order = make_order(state="confirmed")
    # when
    response = erp.post(
        f"{ORDERS}{order.number}/cancel/",
        {"reason_code": "customer-request", "comment": "Customer withdrew"},
        format="json",
    )
    # then
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["cancel_reason"]) == (
        "cancelled",
        "Customer withdrew",
    )


def test_unknown_action_is_400(erp, master_data):
    # given
    number = create(erp)["number"]
    before = snapshot()
    # when
    response = erp.post(f"{ORDERS}{number}/teleport/", {}, format="json")
    # then
    problem = assert_problem(response, 400)
    assert problem["errors"] == {
        "action": [
            "Unknown action 'teleport'. Known: confirm, start-production, mark-ready, close, "
            "hold, release-hold, cancel."
        ]
    }
    assert snapshot() == before


def test_transition_of_an_unknown_order_is_404(erp, master_data):
    # when
    response = erp.post(f"{ORDERS}SO-999999/confirm/", {}, format="json")
    # then
    assert_problem(response, 404)


def test_transition_replay_with_idempotency_key(erp, master_data):
    # given
    number = create(erp)["number"]
    headers = {"Idempotency-Key": f"confirm-{number}"}
    first = erp.post(f"{ORDERS}{number}/confirm/", {}, format="json", headers=headers)
    transitions = TransitionLog.objects.count()
    # when: the ERP retries after a lost answer
    replay = erp.post(f"{ORDERS}{number}/confirm/", {}, format="json", headers=headers)
    # then: the first answer, not a 409 for confirming twice
    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert TransitionLog.objects.count() == transitions


# --- ETag, If-None-Match, If-Match -------------------------------------------------------


def test_detail_has_etag_and_if_none_match_gives_304(erp, master_data):
    # given
    number = create(erp)["number"]
    first = erp.get(f"{ORDERS}{number}/")
    etag = first["ETag"]
    # when
    same = erp.get(f"{ORDERS}{number}/", headers={"If-None-Match": etag})
    among = erp.get(f"{ORDERS}{number}/", headers={"If-None-Match": f'"other", W/{etag}'})
    other = erp.get(f"{ORDERS}{number}/", headers={"If-None-Match": '"other"'})
    # then
    assert first.status_code == 200
    assert etag == etag_for(first.json())
    assert (same.status_code, same["ETag"], same.content) == (304, etag, b"")
    assert among.status_code == 304
    assert (other.status_code, other.json()) == (200, first.json())


def test_etag_changes_when_the_order_changes(erp, master_data):
    # given
    number = create(erp)["number"]
    before = erp.get(f"{ORDERS}{number}/")["ETag"]
    # when
    erp.post(f"{ORDERS}{number}/confirm/", {}, format="json")
    response = erp.get(f"{ORDERS}{number}/", headers={"If-None-Match": before})
    # then
    assert response.status_code == 200
    assert response["ETag"] != before


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(erp, master_data):
    # given
    number = create(erp)["number"]
    stale = erp.get(f"{ORDERS}{number}/")["ETag"]
    erp.patch(f"{ORDERS}{number}/", {"notes": "first"}, format="json")
    before = snapshot()
    # when
    response = erp.patch(
        f"{ORDERS}{number}/", {"notes": "second"}, format="json", headers={"If-Match": stale}
    )
    # then
    problem = assert_problem(response, 412)
    assert problem["code"] == "precondition_failed"
    assert snapshot() == before
    assert SalesOrder.objects.get(number=number).notes == "first"


def test_patch_with_the_current_etag_is_200_with_a_new_etag(erp, master_data):
    # given
    number = create(erp)["number"]
    current = erp.get(f"{ORDERS}{number}/")["ETag"]
    # when
    response = erp.patch(
        f"{ORDERS}{number}/",
        {"notes": "Call before delivery", "customer_po": "PO-80"},
        format="json",
        headers={"If-Match": current},
    )
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["notes"], body["customer_po"]) == ("Call before delivery", "PO-80")
    assert response["ETag"] != current
    assert response["ETag"] == erp.get(f"{ORDERS}{number}/")["ETag"]


def test_patch_header_of_a_confirmed_order_is_accepted(erp, master_data):
    # given
    order = make_order(state="confirmed")
    etag = erp.get(f"{ORDERS}{order.number}/")["ETag"]
    # when
    response = erp.patch(
        f"{ORDERS}{order.number}/", {"notes": "Gate 2"}, format="json", headers={"If-Match": etag}
    )
    # then
    assert response.status_code == 200
    assert (response.json()["notes"], response.json()["state"]) == ("Gate 2", "confirmed")


def test_patch_lines_of_a_draft_replaces_them(erp, master_data):
    # given
    number = create(erp)["number"]
    # when
    response = erp.patch(f"{ORDERS}{number}/", {"lines": [line("SLOW-1", "4", 40)]}, format="json")
    # then
    assert response.status_code == 200
    assert [(x["item"], x["quantity"]) for x in response.json()["lines"]] == [("SLOW-1", "4.000")]


def test_patch_lines_of_a_confirmed_order_is_409(erp, master_data):
    # given
    order = make_order(state="confirmed")
    before = snapshot()
    # when
    response = erp.patch(f"{ORDERS}{order.number}/", {"lines": [line()]}, format="json")
    # then
    problem = assert_problem(response, 409)
    assert problem["code"] == "not_draft"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("field", "value", "endpoint"),
    [
        ("priority", 1, "POST /api/v1/orders/{number}/priority/"),
        (
            "promise_date",
            "2031-01-01",
            "POST /api/v1/orders/{number}/lines/{line_no}/promise-date/",
        ),
        (
            "state",
            "shipped",
            "the transition endpoints, e.g. POST /api/v1/orders/{number}/confirm/",
        ),
    ],
)
def test_patch_of_a_governed_field_is_400_naming_its_endpoint(
    erp, master_data, field, value, endpoint
):
    # given
    order = make_order(state="confirmed")
    etag = erp.get(f"{ORDERS}{order.number}/")["ETag"]
    before = snapshot()
    # when
    response = erp.patch(
        f"{ORDERS}{order.number}/",
        {field: value, "notes": "sneaky"},
        format="json",
        headers={"If-Match": etag},
    )
    # then
    problem = assert_problem(response, 400)
    where = endpoint.replace("{number}", order.number)
    assert problem["errors"] == {field: [f"{field} is governed: change it through {where}."]}
    assert snapshot() == before


# --- governed endpoints -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("priority/", {"priority": 1}),
        ("lines/10/promise-date/", {"promise_date": "2031-01-01"}),
    ],
)
def test_governed_change_without_reason_is_400(erp, master_data, path, body):
    # given
    order = make_order(state="confirmed")
    before = snapshot()
    # when
    response = erp.post(f"{ORDERS}{order.number}/{path}", body, format="json")
    # then
    problem = assert_problem(response, 400)
    assert problem["errors"] == {
        "reason_code": ["This field is required."],
        "reason_text": ["This field is required."],
    }
    assert snapshot() == before


@pytest.mark.parametrize(
    ("path", "body", "what"),
    [
        ("priority/", {"priority": 1}, "priority"),
        ("lines/10/promise-date/", {"promise_date": "2031-01-01"}, "promise date"),
    ],
)
def test_integration_client_may_not_change_governed_fields(erp, master_data, path, body, what):
    # given: priority and promise dates are the planners' decisions
    order = make_order(state="confirmed")
    before = snapshot()
    # when
    response = erp.post(
        f"{ORDERS}{order.number}/{path}",
        {**body, "reason_code": "expedite", "reason_text": "Customer escalated"},
        format="json",
    )
    # then
    problem = assert_problem(response, 403)
    assert problem["detail"] == f"You are not allowed to change {what}."
    assert snapshot() == before


def test_client_granted_the_permission_changes_priority_with_history(erp, master_data):
    # given: an admin granted this client's service user the planners' permission
    erp.api_client.user.user_permissions.add(
        Permission.objects.get(codename="change_order_priority")
    )
    order = make_order(state="confirmed")
    # when
    response = erp.post(
        f"{ORDERS}{order.number}/priority/",
        {"priority": 1, "reason_code": "expedite", "reason_text": "Customer escalated"},
        format="json",
    )
    # then
    assert response.status_code == 200
    assert response.json()["priority"] == 1
    change = FieldChange.objects.get()
    assert (change.field, change.old_value, change.new_value) == ("priority", 3, 1)
    assert (change.reason_code.code, change.reason_text) == ("expedite", "Customer escalated")
    assert change.actor == erp.api_client.user


def test_client_granted_the_permission_repromises_a_line(erp, master_data):
    # given
    erp.api_client.user.user_permissions.add(Permission.objects.get(codename="change_promise_date"))
    order = make_order(state="confirmed")
    # when
    response = erp.post(
        f"{ORDERS}{order.number}/lines/20/promise-date/",
        {"promise_date": str(day(60)), "reason_code": "material", "reason_text": "Castings late"},
        format="json",
    )
    missing = erp.post(
        f"{ORDERS}{order.number}/lines/99/promise-date/",
        {"promise_date": str(day(60)), "reason_code": "material", "reason_text": "Castings late"},
        format="json",
    )
    # then
    assert response.status_code == 200
    line20 = response.json()["lines"][1]
    assert (line20["promise_date"], line20["promise_basis"]) == (
        str(day(60)),
        "set by hand: Castings late",
    )
    assert_problem(missing, 404)


# --- change requests ----------------------------------------------------------------------


def quantity_change(quantity: str = "25", line_no: int = 10) -> dict[str, Any]:
    return {
        "kind": "quantity",
        "line_no": line_no,
        "new_quantity": quantity,
        "reason_code": "customer-request",
        "reason_text": "Customer needs more",
    }


def test_quantity_change_on_a_confirmed_order_applies_at_once(erp, master_data):
    # given
    order = make_order(state="confirmed")
    # when
    response = erp.post(
        f"{ORDERS}{order.number}/change-requests/", quantity_change(), format="json"
    )
    # then
    assert response.status_code == 201
    body = response.json()
    assert (body["state"], body["needs_approval"], body["kind"]) == ("applied", False, "quantity")
    assert (body["order"], body["line_no"], body["new_quantity"]) == (order.number, 10, "25.000")
    assert body["requested_by"] == erp.api_client.user.username
    assert order.lines.get(line_no=10).quantity == Decimal("25")


def test_quantity_change_in_production_waits_for_approval(erp, master_data):
    # given
    order = make_order(state="in_production")
    # when
    response = erp.post(
        f"{ORDERS}{order.number}/change-requests/", quantity_change(), format="json"
    )
    # then
    assert response.status_code == 201
    body = response.json()
    assert (body["state"], body["needs_approval"]) == ("requested", True)
    assert body["summary"] == "line 10 quantity 10 → 25"
    assert order.lines.get(line_no=10).quantity == Decimal("10")


def test_list_change_requests_by_state(erp, master_data):
    # given
    confirmed = make_order(state="confirmed")
    in_production = make_order(state="in_production")
    erp.post(f"{ORDERS}{confirmed.number}/change-requests/", quantity_change(), format="json")
    waiting = erp.post(
        f"{ORDERS}{in_production.number}/change-requests/", quantity_change(), format="json"
    ).json()
    # when
    requested = erp.get("/api/v1/change-requests/", {"state": "requested"})
    for_order = erp.get(f"{ORDERS}{confirmed.number}/change-requests/")
    # then
    assert requested.status_code == 200
    assert requested.json()["count"] == 1
    assert [cr["number"] for cr in requested.json()["results"]] == [waiting["number"]]
    assert [(cr["order"], cr["state"]) for cr in for_order.json()] == [
        (confirmed.number, "applied")
    ]


def test_approval_by_the_api_client_is_refused(erp, master_data):
    # given: approval needs a planner other than the requester
    order = make_order(state="in_production")
    number = erp.post(
        f"{ORDERS}{order.number}/change-requests/", quantity_change(), format="json"
    ).json()["number"]
    before = snapshot()
    # when
    response = erp.post(f"/api/v1/change-requests/{number}/approve/", {}, format="json")
    # then
    problem = assert_problem(response, 403)
    assert problem["detail"] == "You are not allowed to approve change requests."
    assert snapshot() == before


def test_approval_by_a_planner_applies_the_requested_change(erp, master_data, planner):
    # given
    order = make_order(state="in_production")
    number = erp.post(
        f"{ORDERS}{order.number}/change-requests/", quantity_change(), format="json"
    ).json()["number"]
    # when
    services.change_request_approve(
        change_request=ChangeRequest.objects.get(number=number), user=planner, note="OK"
    )
    response = erp.get("/api/v1/change-requests/", {"order": order.number})
    # then
    assert [(cr["state"], cr["decided_by"]) for cr in response.json()["results"]] == [
        ("applied", "planner1")
    ]
    assert order.lines.get(line_no=10).quantity == Decimal("25")


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"line_no": 99}, {"line_no": ["{number} has no line 99."]}),
        ({"kind": "teleport"}, {"kind": ['"teleport" is not a valid choice.']}),
        (
            {"new_quantity": "10"},
            {"new_quantity": ["The new quantity is the same as the current one."]},
        ),
        ({"reason_code": "nope"}, {"reason_code": ["Unknown reason code 'nope'."]}),
        ({"reason_text": ""}, {"reason_text": ["This field may not be blank."]}),
    ],
)
def test_invalid_change_request_is_400_and_changes_nothing(erp, master_data, change, errors):
    # given
    order = make_order(state="confirmed")
    before = snapshot()
    # when
    response = erp.post(
        f"{ORDERS}{order.number}/change-requests/",
        {**quantity_change(), **change},
        format="json",
    )
    # then
    problem = assert_problem(response, 400)
    assert problem["errors"] == {
        k: [m.replace("{number}", order.number) for m in v] for k, v in errors.items()
    }
    assert snapshot() == before


def test_change_request_on_a_draft_is_409(erp, master_data):
    # given
    order = make_order(state="draft")
    before = snapshot()
    # when
    response = erp.post(
        f"{ORDERS}{order.number}/change-requests/", quantity_change(), format="json"
    )
    # then
    problem = assert_problem(response, 409)
    assert problem["code"] == "order_not_changeable"
    assert snapshot() == before


# --- list, filters, pagination -------------------------------------------------------------


@pytest.fixture
def order_book(master_data: None) -> dict[str, SalesOrder]:
    acme = Customer.objects.get(code="ACME")
    beta = Customer.objects.get(code="BETA")
    orders = {
        "draft": make_order(state="draft", customer=acme, external_id="E-1"),
        "confirmed": make_order(
            state="confirmed", customer=acme, external_id="E-2", requested_in_days=10
        ),
        "in_production": make_order(
            state="in_production", customer=beta, external_id="E-3", requested_in_days=30
        ),
        "cancelled": make_order(state="cancelled", customer=beta, external_id="E-4"),
    }
    return {k: SalesOrder.objects.get(pk=v.pk) for k, v in orders.items()}


def numbers(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {o["number"] for o in response.json()["results"]}


def test_filter_orders_by_several_states(erp, order_book):
    # when
    response = erp.get(f"{ORDERS}?state=draft&state=confirmed")
    # then
    assert numbers(response) == {order_book["draft"].number, order_book["confirmed"].number}


def test_filter_orders_by_customer_and_external_id(erp, order_book):
    # when
    by_customer = erp.get(ORDERS, {"customer": "BETA"})
    by_external_id = erp.get(ORDERS, {"external_id": "E-3"})
    # then
    assert numbers(by_customer) == {
        order_book["in_production"].number,
        order_book["cancelled"].number,
    }
    assert numbers(by_external_id) == {order_book["in_production"].number}


def test_filter_orders_updated_after(erp, order_book):
    # given
    t0 = timezone.now() - dt.timedelta(days=2)
    SalesOrder.objects.update(updated_at=t0)
    SalesOrder.objects.filter(pk=order_book["confirmed"].pk).update(
        updated_at=t0 + dt.timedelta(hours=1)
    )
    # when
    response = erp.get(ORDERS, {"updated_after": (t0 + dt.timedelta(minutes=30)).isoformat()})
    # then
    assert numbers(response) == {order_book["confirmed"].number}


def test_filter_orders_by_promise_window(erp, order_book):
    # when: lines are promised at +10/+11 (confirmed) and +30/+31 (in production) days
    late = erp.get(ORDERS, {"promise_from": str(day(25))})
    early = erp.get(ORDERS, {"promise_to": str(day(15))})
    both = erp.get(ORDERS, {"promise_from": str(day(11)), "promise_to": str(day(30))})
    # then
    assert numbers(late) == {order_book["in_production"].number}
    assert numbers(early) == {order_book["confirmed"].number}
    assert numbers(both) == {order_book["confirmed"].number, order_book["in_production"].number}
    assert both.json()["count"] == 2


def test_order_list_ordering(erp, order_book):
    # given
    by_number = sorted(o.number for o in order_book.values())
    # when
    ascending = erp.get(ORDERS, {"ordering": "number"})
    descending = erp.get(ORDERS, {"ordering": "-number"})
    default = erp.get(ORDERS)
    # then
    assert [o["number"] for o in ascending.json()["results"]] == by_number
    assert [o["number"] for o in descending.json()["results"]] == by_number[::-1]
    assert [o["number"] for o in default.json()["results"]] == by_number[::-1]


def test_order_list_pagination(erp, order_book):
    # when
    first = erp.get(ORDERS, {"page_size": 3, "ordering": "number"})
    second = erp.get(ORDERS, {"page_size": 3, "ordering": "number", "page": 2})
    # then
    body = first.json()
    assert (body["count"], len(body["results"]), body["previous"]) == (4, 3, None)
    assert body["next"] == "http://testserver/api/v1/orders/?ordering=number&page=2&page_size=3"
    assert [o["number"] for o in second.json()["results"]] == [
        sorted(o.number for o in order_book.values())[3]
    ]
    assert second.json()["next"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "bogus"}, "state"),
        ({"updated_after": "yesterday"}, "updated_after"),
        ({"promise_from": "2031-13-40"}, "promise_from"),
    ],
)
def test_bad_filter_is_400_problem(erp, order_book, params, field):
    # when
    response = erp.get(ORDERS, params)
    # then
    problem = assert_problem(response, 400)
    assert list(problem["errors"]) == [field]


def test_page_past_the_end_is_404_problem(erp, order_book):
    # when
    response = erp.get(ORDERS, {"page": 99})
    # then
    assert_problem(response, 404)


def test_change_requests_pagination_and_filters(erp, master_data):
    # given
    order = make_order(state="in_production")
    for quantity in ("11", "12", "13"):
        erp.post(
            f"{ORDERS}{order.number}/change-requests/", quantity_change(quantity), format="json"
        )
    # when
    page = erp.get("/api/v1/change-requests/", {"page_size": 2, "kind": "quantity"})
    none = erp.get("/api/v1/change-requests/", {"kind": "cancel"})
    # then
    assert (page.json()["count"], len(page.json()["results"])) == (3, 2)
    assert [cr["new_quantity"] for cr in page.json()["results"]] == ["13.000", "12.000"]
    assert none.json()["count"] == 0


# --- query counts -------------------------------------------------------------------------

# key look-up, count, orders with customer and ship-to, lines with items
ORDER_LIST_QUERIES = 4


@pytest.mark.parametrize("n", [10, 200])
def test_order_list_query_count_does_not_grow_with_rows(
    erp, master_data, django_assert_num_queries, n
):
    # given: every order its own customer and items
    for i in range(n):
        make_order(state="draft", lines=2, external_id=f"Q-{i}")
    erp.get(ORDERS)  # warm-up: the client's last_used_at is written once
    # when
    with django_assert_num_queries(ORDER_LIST_QUERIES):
        response = erp.get(ORDERS, {"page_size": 500})
    # then
    assert response.json()["count"] == n
    assert len(response.json()["results"]) == n
    assert {len(o["lines"]) for o in response.json()["results"]} == {2}


# key look-up, count, change requests with order, customer, line, item, reason, users
CHANGE_REQUEST_LIST_QUERIES = 3


@pytest.mark.parametrize("n", [10, 200])
def test_change_request_list_query_count_does_not_grow_with_rows(
    erp, master_data, django_assert_num_queries, n
):
    # given: quantity, date, add-line and cancel requests across a few orders
    orders = [make_order(state="in_production") for _ in range(3)]
    items = list(Item.objects.all())
    for i in range(n):
        order = orders[i % 3]
        kind = ["quantity", "date", "add_line", "cancel"][i % 4]
        services.change_request_create(
            order=order,
            user=erp.api_client.user,
            kind=kind,
            line=order.lines.get(line_no=10) if kind in {"quantity", "date"} else None,
            new_quantity=Decimal(100 + i) if kind in {"quantity", "add_line"} else None,
            new_date=day(40 + i % 50) if kind in {"date", "add_line"} else None,
            new_item=items[i % len(items)] if kind == "add_line" else None,
            reason_code="customer-request",
            reason_text=f"Change {i}",
        )
    erp.get("/api/v1/change-requests/")  # warm-up
    # when
    with django_assert_num_queries(CHANGE_REQUEST_LIST_QUERIES):
        response = erp.get("/api/v1/change-requests/", {"page_size": 500})
    # then
    assert response.json()["count"] == n
    assert len(response.json()["results"]) == n


# --- master data ---------------------------------------------------------------------------


def test_customer_upsert_and_list(erp, master_data):
    # given
    body = {
        "code": "GAMMA",
        "name": "Gamma AG",
        "priority_class": "A",
        "ship_tos": [{"label": "Main", "street": "Ring 1", "city": "Ulm", "postal_code": "89073"}],
    }
    # when
    created = erp.post("/api/v1/customers/", body, format="json")
    updated = erp.post("/api/v1/customers/", {**body, "name": "Gamma AG & Co"}, format="json")
    listed = erp.get("/api/v1/customers/")
    # then
    assert created.status_code == 201
    assert created.json()["ship_tos"] == [
        {
            "label": "Main",
            "street": "Ring 1",
            "city": "Ulm",
            "postal_code": "89073",
            "country": "DE",
            "is_default": True,
        }
    ]
    assert (updated.status_code, updated.json()["name"]) == (200, "Gamma AG & Co")
    assert Customer.objects.filter(code="GAMMA").count() == 1
    assert [c["code"] for c in listed.json()["results"]] == ["ACME", "BETA", "GAMMA"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "X", "name": "X", "email": "not-an-email"}, "email"),
        ({"code": "X", "name": "X", "priority_class": "Z"}, "priority_class"),
        ({"code": "X"}, "name"),
        ({"code": "X", "name": "X", "ship_tos": [{"label": "Main"}]}, "ship_tos[0].street"),
    ],
)
def test_invalid_customer_is_400_and_creates_nothing(erp, master_data, body, field):
    # when
    response = erp.post("/api/v1/customers/", body, format="json")
    # then
    problem = assert_problem(response, 400)
    assert field in problem["errors"]
    assert not Customer.objects.filter(code="X").exists()


def test_item_upsert_list_and_filter(erp, master_data):
    # given
    body = {"sku": "NUT-8", "name": "Nut M8", "source": "buy", "lead_time_days": 3}
    # when
    created = erp.post("/api/v1/items/", body, format="json")
    updated = erp.post("/api/v1/items/", {**body, "lead_time_days": 7}, format="json")
    bought = erp.get("/api/v1/items/", {"source": "buy"})
    # then
    assert created.status_code == 201
    assert created.json() | {"updated_at": None} == {
        "sku": "NUT-8",
        "name": "Nut M8",
        "unit": "pcs",
        "source": "buy",
        "lead_time_days": 3,
        "tracking": "none",
        "shelf_life_days": None,
        "reservation_policy": "fifo",
        "receipt_over_tolerance_pct": "0.00",
        "receipt_under_tolerance_pct": "0.00",
        "backflush": False,
        "default_receiving_location": None,
        "default_stock_location": None,
        "active": True,
        "updated_at": None,
    }
    assert (updated.status_code, updated.json()["lead_time_days"]) == (200, 7)
    assert [i["sku"] for i in bought.json()["results"]] == ["NUT-8"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sku": "X-1", "name": "X", "lead_time_days": -1}, "lead_time_days"),
        ({"sku": "X-1", "name": "X", "source": "steal"}, "source"),
        ({"sku": "", "name": "X"}, "sku"),
    ],
)
def test_invalid_item_is_400_and_creates_nothing(erp, master_data, body, field):
    # given
    before = list(Item.objects.values_list("sku", "lead_time_days"))
    # when
    response = erp.post("/api/v1/items/", body, format="json")
    # then
    problem = assert_problem(response, 400)
    assert list(problem["errors"]) == [field]
    assert list(Item.objects.values_list("sku", "lead_time_days")) == before


# key look-up, count, customers, their ship-to addresses (one prefetch)
CUSTOMER_LIST_QUERIES = 4
# key look-up, count, items
ITEM_LIST_QUERIES = 3


@pytest.mark.parametrize("n", [10, 200])
def test_customer_list_query_count_does_not_grow_with_rows(erp, django_assert_num_queries, n):
    # given: each customer with two ship-to addresses
    from ..factories import CustomerFactory, ShipToFactory

    for _ in range(n):
        customer = CustomerFactory()
        ShipToFactory.create_batch(2, customer=customer)
    erp.get("/api/v1/customers/")  # warm-up
    # when
    with django_assert_num_queries(CUSTOMER_LIST_QUERIES):
        response = erp.get("/api/v1/customers/", {"page_size": 500})
    # then
    assert response.json()["count"] == n
    assert {len(c["ship_tos"]) for c in response.json()["results"]} == {2}


@pytest.mark.parametrize("n", [10, 200])
def test_item_list_query_count_does_not_grow_with_rows(erp, django_assert_num_queries, n):
    # given
    from ..factories import ItemFactory

    ItemFactory.create_batch(n)
    erp.get("/api/v1/items/")  # warm-up
    # when
    with django_assert_num_queries(ITEM_LIST_QUERIES):
        response = erp.get("/api/v1/items/", {"page_size": 500})
    # then
    assert response.json()["count"] == n
