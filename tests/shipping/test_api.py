"""Shipments over the API: list and filter, detail with lines, lots, packages and
documents, planning from order lines, delivery confirmation, the PDFs, and the ERP's
webhook subscription to handovers, end to end."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from pypdf import PdfReader

from exceptions.models import WebhookDelivery
from inventory.models import Reservation
from mes.core.api.conditional import etag_for
from mes.core.models import Event, IdempotencyRecord, TransitionLog
from orders.models import OrderState, SalesOrder
from shipping.models import Package, Shipment, ShipmentLine, ShipmentState

from ..factories import CustomerFactory, ShipToFactory, make_order
from .conftest import (
    TWO_PACKAGES,
    hand_over,
    pick_all,
    plan,
    ready_order,
    to_documented,
    verify_all,
)

pytestmark = pytest.mark.django_db

SHIPMENTS = "/api/v1/shipments/"
PROBLEM = "application/problem+json"
SECRET = "erp-handover-secret-0123456789"
D = Decimal


@pytest.fixture
def api(make_api_client: Any) -> Any:
    return make_api_client(["shipping:read", "shipping:write", "webhooks:write"], name="ERP")


@pytest.fixture
def reader(make_api_client: Any) -> Any:
    return make_api_client(["shipping:read"], name="ERP reader")


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    return body


def snapshot() -> tuple[int, int, int, int]:
    return (
        Shipment.objects.count(),
        ShipmentLine.objects.count(),
        Reservation.objects.count(),
        TransitionLog.objects.count(),
    )


def handed_over(w: SimpleNamespace, actor: Any) -> Shipment:
    shipment = to_documented(w, actor)
    verify_all(shipment, actor)
    return hand_over(w, shipment, actor)


def create_body(w: SimpleNamespace, **extra: Any) -> dict[str, Any]:
    return {
        "lines": [
            {"order": w.order.number, "line_no": w.resin_line.line_no, "quantity": "8"},
            {"order": w.order.number, "line_no": w.bolt_line.line_no, "quantity": "12.5"},
        ],
        "planned_ship_date": str(timezone.localdate() + dt.timedelta(days=1)),
        **extra,
    }


# --- list and filters ----------------------------------------------------------------------


@pytest.fixture
def book(ship_world: SimpleNamespace, shipping_user: Any) -> SimpleNamespace:
    """Three shipments: Acme's handed over (today), Acme's planned (tomorrow), Bauer's
    planned (in a week)."""
    w = ship_world
    today = timezone.localdate()
    w.gone = handed_over(w, shipping_user)
    Shipment.objects.filter(pk=w.gone.pk).update(planned_ship_date=today)
    second = ready_order(w, [(w.bolt, 10)])
    w.acme_next = services_create(w, shipping_user, second, today + dt.timedelta(days=1))
    w.bauer = CustomerFactory(code="BAUER", name="Bauer Hydraulik")
    ShipToFactory(customer=w.bauer, label="Werk", is_default=True)
    w.bauer_order = make_order(
        state=OrderState.READY_TO_SHIP, customer=w.bauer, lines=[(w.bolt, 5)]
    )
    w.bauer_next = services_create(w, shipping_user, w.bauer_order, today + dt.timedelta(days=7))
    return w


def services_create(
    w: SimpleNamespace, actor: Any, order: SalesOrder, ship_on: dt.date
) -> Shipment:
    from shipping import services

    line = order.lines.get()
    return services.shipment_create(
        lines=[(line, line.quantity)],
        user=actor,
        planned_ship_date=ship_on,
        dock_location=w.shipping,
    )


def numbers(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["number"] for row in response.json()["results"]]


def test_list_shows_each_shipment_newest_first(api, book):
    # when
    response = api.get(SHIPMENTS)
    # then
    assert numbers(response) == [book.bauer_next.number, book.acme_next.number, book.gone.number]
    gone = response.json()["results"][2]
    assert gone == {
        **gone,
        "state": "handed_over",
        "customer": "ACME",
        "customer_name": "Acme Pumps GmbH",
        "ship_to": "Main dock",
        "orders": [book.order.number],
        "dock": "SHP-01",
        "carrier": "dhl",
        "service_level": "express",
        "tracking_number": "JD0146000012345",
        "tracking_url": "https://track.example/JD0146000012345",
        "driver_name": "M. Keller",
        "line_count": 2,
        "package_count": 2,
        "mispicks": 0,
    }
    assert gone["handed_over_at"] is not None
    assert gone["delivered_at"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "planned"}, ["bauer_next", "acme_next"]),
        ({"state": ["planned", "handed_over"]}, ["bauer_next", "acme_next", "gone"]),
        ({"customer": "ACME"}, ["acme_next", "gone"]),
        ({"ship_date": "today"}, ["gone"]),
        ({"ship_date_from": "tomorrow"}, ["bauer_next", "acme_next"]),
        ({"ship_date_to": "tomorrow"}, ["acme_next", "gone"]),
        ({"order": "first"}, ["gone"]),
        ({"order": "bauer"}, ["bauer_next"]),
        ({"tracking_number": "JD0146000012345"}, ["gone"]),
        ({"customer": "NOBODY"}, []),
    ],
)
def test_list_filters(api, book, params, expected):
    # given
    today = timezone.localdate()
    dates = {"today": today, "tomorrow": today + dt.timedelta(days=1)}
    orders = {"first": book.order.number, "bauer": book.bauer_order.number}
    query = {
        key: str(dates.get(value, orders.get(value, value))) if isinstance(value, str) else value
        for key, value in params.items()
    }
    # when
    response = api.get(SHIPMENTS, query)
    # then
    assert numbers(response) == [getattr(book, name).number for name in expected]


def test_list_ordering_and_pagination(api, book):
    # when
    first = api.get(SHIPMENTS, {"ordering": "planned_ship_date", "page_size": 2})
    second = api.get(SHIPMENTS, {"ordering": "planned_ship_date", "page_size": 2, "page": 2})
    # then
    assert numbers(first) == [book.gone.number, book.acme_next.number]
    assert first.json()["count"] == 3
    assert first.json()["next"] is not None
    assert numbers(second) == [book.bauer_next.number]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "lost"}, "state"),
        ({"ship_date_from": "31.12.2025"}, "ship_date_from"),
        ({"updated_after": "yesterday"}, "updated_after"),
    ],
)
def test_bad_filter_is_400_naming_the_field(api, book, params, field):
    # when
    response = api.get(SHIPMENTS, params)
    # then
    problem = assert_problem(response, 400)
    assert field in problem["errors"]


# key look-up, count, shipments with customer, ship-to, dock, carrier and counts, lines'
# orders
LIST_QUERIES = 4


@pytest.mark.parametrize("n", [10, 200])
def test_list_query_count_does_not_grow_with_rows(
    api, ship_world, shipping_user, django_assert_num_queries, n
):
    # given: n shipments of two orders, each with two lines and a package
    w = ship_world
    other = ready_order(w)
    order_lines = [*w.order.lines.all(), *other.lines.all()]
    carrier = w.carrier
    shipments = Shipment.objects.bulk_create(
        Shipment(
            number=f"SHP-T{i:05d}",
            customer=w.customer,
            ship_to=w.ship_to,
            dock_location=w.shipping,
            carrier=carrier if i % 2 else None,
            planned_ship_date=timezone.localdate(),
        )
        for i in range(n)
    )
    ShipmentLine.objects.bulk_create(
        ShipmentLine(
            shipment=shipment,
            sales_order_line=order_lines[(i + j) % 4],
            item=order_lines[(i + j) % 4].item,
            quantity=D(1),
        )
        for i, shipment in enumerate(shipments)
        for j in (0, 1)
    )
    Package.objects.bulk_create(
        Package(
            shipment=shipment,
            label=f"PKG-T{i:05d}",
            weight_kg=D(1),
            length_cm=10,
            width_cm=10,
            height_cm=10,
        )
        for i, shipment in enumerate(shipments)
    )
    api.get(SHIPMENTS)  # warm-up: the client's last_used_at is written once
    # when
    with django_assert_num_queries(LIST_QUERIES):
        response = api.get(SHIPMENTS, {"page_size": 500})
    # then
    assert response.json()["count"] == n
    rows = response.json()["results"]
    assert len(rows) == n
    assert {(row["line_count"], row["package_count"]) for row in rows} == {(2, 1)}
    assert {len(row["orders"]) for row in rows} == {1, 2}


# --- detail ----------------------------------------------------------------------------------


def test_detail_has_lines_lots_packages_and_documents(api, ship_world, shipping_user):
    # given: resin on the pallet, bolts in the box
    from shipping import services

    shipment = plan(ship_world, shipping_user)
    pick_all(shipment, shipping_user)
    resin_line, bolt_line = shipment.lines.order_by("id")
    pallet, box = (dict(p) for p in TWO_PACKAGES)
    pallet["contents"] = [{"line": resin_line.pk, "lot": "R-001", "quantity": "8"}]
    box["contents"] = [{"line": bolt_line.pk, "lot": "", "quantity": "20"}]
    services.shipment_pack(shipment=shipment, actor=shipping_user, packages=[pallet, box])
    services.shipment_documents_generate(shipment=shipment, actor=shipping_user)
    services.shipment_document(shipment=shipment, actor=shipping_user)
    verify_all(shipment, shipping_user)
    shipment = hand_over(ship_world, shipment, shipping_user)
    # when
    response = api.get(f"{SHIPMENTS}{shipment.number}/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert response["ETag"] == etag_for(body)
    assert (body["number"], body["state"], body["weight_kg"]) == (
        shipment.number,
        "handed_over",
        "124.75",
    )
    resin, bolts = body["lines"]
    assert (resin["order"], resin["item"], resin["quantity_shipped"]) == (
        ship_world.order.number,
        "RESIN-7",
        "8.000",
    )
    assert resin["lots"] == [{"lot": "R-001", "quantity": "8.000"}]
    assert bolts["lots"] == [{"lot": "", "quantity": "20.000"}]
    assert [p["type"] for p in body["packages"]] == ["pallet", "box"]
    assert body["packages"][0]["verified_at"] is not None
    assert [
        [(c["line"], c["item"], c["lot"], c["quantity"]) for c in p["contents"]]
        for p in body["packages"]
    ] == [
        [(resin_line.pk, "RESIN-7", "R-001", "8.000")],
        [(bolt_line.pk, "BOLT-M8", None, "20.000")],
    ]
    assert [line["id"] for line in body["lines"]] == [resin_line.pk, bolt_line.pk]
    documents = {d["kind"]: d for d in body["documents"]}
    assert set(documents) == {"bill_of_lading", "labels", "packing_slip"}
    assert documents["packing_slip"]["url"] == (
        f"{SHIPMENTS}{shipment.number}/documents/packing_slip/"
    )
    assert len(documents["packing_slip"]["sha256"]) == 64


def test_detail_if_none_match_gives_304(api, ship_world, shipping_user):
    # given
    shipment = plan(ship_world, shipping_user)
    etag = api.get(f"{SHIPMENTS}{shipment.number}/")["ETag"]
    # when
    same = api.get(f"{SHIPMENTS}{shipment.number}/", headers={"If-None-Match": etag})
    other = api.get(f"{SHIPMENTS}{shipment.number}/", headers={"If-None-Match": '"other"'})
    # then
    assert (same.status_code, same["ETag"], same.content) == (304, etag, b"")
    assert other.status_code == 200


def test_detail_of_an_unknown_shipment_is_404(api, ship_world):
    # when
    response = api.get(f"{SHIPMENTS}SHP-999999/")
    # then
    assert_problem(response, 404)


# --- planning a shipment ---------------------------------------------------------------------


def test_create_plans_and_reserves_the_order_lines(api, ship_world):
    # given
    w = ship_world
    # when
    response = api.post(SHIPMENTS, create_body(w, notes="Tail lift"), format="json")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"{SHIPMENTS}{body['number']}/"
    assert response["ETag"] == etag_for(body)
    assert (body["state"], body["customer"], body["dock"], body["notes"]) == (
        "planned",
        "ACME",
        "SHP-01",
        "Tail lift",
    )
    assert body["planned_ship_date"] == str(timezone.localdate() + dt.timedelta(days=1))
    assert [(line["item"], line["quantity"]) for line in body["lines"]] == [
        ("RESIN-7", "8.000"),
        ("BOLT-M8", "12.500"),
    ]
    shipment = Shipment.objects.get(number=body["number"])
    assert shipment.created_by == api.api_client.user
    reserved = Reservation.objects.filter(demand_type="shipment", demand_id=shipment.pk)
    assert sum(r.quantity for r in reserved) == D("20.5")


def test_create_at_a_named_dock(api, ship_world):
    # given
    from inventory.models import Location

    dock2 = Location.objects.create(
        code="SHP-02", name="Dock 2", type=Location.Type.SHIPPING, parent=ship_world.site
    )
    # when
    response = api.post(SHIPMENTS, create_body(ship_world, dock="SHP-02"), format="json")
    # then
    assert response.status_code == 201, response.content
    assert response.json()["dock"] == dock2.code


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [{"order": "SO-1", "line_no": 10}]}, "lines[0].quantity"),
        ({"lines": [{"order": "SO-1", "line_no": 10, "quantity": "0"}]}, "lines[0].quantity"),
        ({"lines": [{"order": "SO-999999", "line_no": 10, "quantity": "1"}]}, "lines[0].order"),
        ({"planned_ship_date": "tomorrow"}, "planned_ship_date"),
        ({"dock": "NOWHERE"}, "dock"),
        ({"dock": "STK-A1"}, "dock_location"),
    ],
)
def test_invalid_create_is_400_with_field_errors_and_plans_nothing(api, ship_world, change, field):
    # given
    before = snapshot()
    # when
    response = api.post(SHIPMENTS, {**create_body(ship_world), **change}, format="json")
    # then
    problem = assert_problem(response, 400)
    assert field in problem["errors"], problem
    assert snapshot() == before


def test_create_of_an_unknown_line_names_it(api, ship_world):
    # given
    body = create_body(ship_world)
    body["lines"][1]["line_no"] = 990
    # when
    response = api.post(SHIPMENTS, body, format="json")
    # then
    problem = assert_problem(response, 400)
    assert problem["errors"] == {
        "lines[1].line_no": [f"{ship_world.order.number} has no line 990."]
    }


def test_create_of_more_than_is_left_is_400_and_plans_nothing(api, ship_world):
    # given
    body = create_body(ship_world)
    body["lines"][0]["quantity"] = "9"
    before = snapshot()
    # when
    response = api.post(SHIPMENTS, body, format="json")
    # then
    problem = assert_problem(response, 400)
    assert "8 kg are left to ship" in problem["errors"]["lines"][0]
    assert snapshot() == before


def test_create_of_an_order_not_ready_is_400(api, ship_world):
    # given
    draft = make_order(customer=ship_world.customer, lines=[(ship_world.bolt, 3)])
    # when
    response = api.post(
        SHIPMENTS,
        {"lines": [{"order": draft.number, "line_no": 10, "quantity": "3"}]},
        format="json",
    )
    # then
    problem = assert_problem(response, 400)
    assert "only orders ready to ship" in problem["errors"]["lines"][0]


def test_create_replay_with_idempotency_key_plans_once(api, ship_world):
    # given
    headers = {"Idempotency-Key": "ship-acme-1"}
    first = api.post(SHIPMENTS, create_body(ship_world), format="json", headers=headers)
    # when: the ERP retries after a lost answer
    replay = api.post(SHIPMENTS, create_body(ship_world), format="json", headers=headers)
    # then
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert replay["Location"] == first["Location"]
    assert Shipment.objects.count() == 1


def test_same_idempotency_key_with_another_body_is_422(api, ship_world):
    # given
    headers = {"Idempotency-Key": "ship-acme-2"}
    api.post(SHIPMENTS, create_body(ship_world), format="json", headers=headers)
    # when
    other = api.post(
        SHIPMENTS, create_body(ship_world, notes="other"), format="json", headers=headers
    )
    # then
    assert_problem(other, 422)
    assert Shipment.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


# --- scopes --------------------------------------------------------------------------------


def test_a_client_without_shipping_write_may_not_plan(reader, ship_world):
    # given
    before = snapshot()
    # when
    response = reader.post(SHIPMENTS, create_body(ship_world), format="json")
    # then
    problem = assert_problem(response, 403)
    assert problem["detail"] == "This API client lacks the scope 'shipping:write'."
    assert snapshot() == before


@pytest.mark.parametrize("path", ["", "SHP-000001/", "SHP-000001/documents/packing_slip/"])
def test_a_client_without_shipping_read_may_not_read(make_api_client, ship_world, path):
    # given
    orders_only = make_api_client(["orders:read"], name="Orders only")
    # when
    response = orders_only.get(f"{SHIPMENTS}{path}")
    # then
    problem = assert_problem(response, 403)
    assert problem["detail"] == "This API client lacks the scope 'shipping:read'."


def test_a_client_without_shipping_write_may_not_confirm_delivery(
    reader, ship_world, shipping_user
):
    # given
    shipment = handed_over(ship_world, shipping_user)
    # when
    response = reader.post(f"{SHIPMENTS}{shipment.number}/confirm-delivery/", {}, format="json")
    # then
    assert_problem(response, 403)
    assert Shipment.objects.get(pk=shipment.pk).state == ShipmentState.HANDED_OVER


# --- delivery confirmation -------------------------------------------------------------------


def test_confirm_delivery_records_it_and_emits_the_event(api, ship_world, shipping_user):
    # given
    shipment = handed_over(ship_world, shipping_user)
    Shipment.objects.filter(pk=shipment.pk).update(
        handed_over_at=timezone.now() - dt.timedelta(hours=5)
    )
    at = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    # when
    response = api.post(
        f"{SHIPMENTS}{shipment.number}/confirm-delivery/",
        {"delivered_at": at.isoformat(), "note": "Signed by J. Weber"},
        format="json",
    )
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["delivery_note"]) == ("delivered", "Signed by J. Weber")
    assert dt.datetime.fromisoformat(body["delivered_at"]) == at
    assert response["ETag"] == etag_for(body)
    event = Event.objects.get(type="shipment.delivered")
    assert event.payload["number"] == shipment.number
    assert event.actor == api.api_client.user
    log = TransitionLog.objects.filter(to_state="delivered").get()
    assert (log.from_state, log.actor) == ("handed_over", api.api_client.user)


def test_confirm_delivery_without_a_time_means_now(api, ship_world, shipping_user):
    # given
    shipment = handed_over(ship_world, shipping_user)
    # when
    response = api.post(f"{SHIPMENTS}{shipment.number}/confirm-delivery/", {}, format="json")
    # then
    assert response.status_code == 200, response.content
    delivered = Shipment.objects.get(pk=shipment.pk).delivered_at
    assert abs(timezone.now() - delivered) < dt.timedelta(seconds=30)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"delivered_at": "in two days"}, "delivered_at"),
        ({"delivered_at": "future"}, "delivered_at"),
        ({"delivered_at": "before_handover"}, "delivered_at"),
        ({"note": "x" * 301}, "note"),
    ],
)
def test_invalid_delivery_is_400_and_changes_nothing(api, ship_world, shipping_user, body, field):
    # given
    shipment = handed_over(ship_world, shipping_user)
    times = {
        "future": timezone.now() + dt.timedelta(hours=2),
        "before_handover": shipment.handed_over_at - dt.timedelta(hours=1),
    }
    if body.get("delivered_at") in times:
        body = {"delivered_at": times[body["delivered_at"]].isoformat()}
    # when
    response = api.post(f"{SHIPMENTS}{shipment.number}/confirm-delivery/", body, format="json")
    # then
    problem = assert_problem(response, 400)
    assert field in problem["errors"], problem
    after = Shipment.objects.get(pk=shipment.pk)
    assert (after.state, after.delivered_at) == (ShipmentState.HANDED_OVER, None)
    assert not Event.objects.filter(type="shipment.delivered").exists()


def test_confirm_delivery_of_a_planned_shipment_is_409_naming_state_and_allowed(
    api, ship_world, shipping_user
):
    # given
    shipment = plan(ship_world, shipping_user)
    # when
    response = api.post(f"{SHIPMENTS}{shipment.number}/confirm-delivery/", {}, format="json")
    # then
    problem = assert_problem(response, 409)
    assert problem["code"] == "illegal_transition"
    assert (problem["current_state"], problem["transition"]) == ("planned", "confirm_delivery")
    # the ERP may run none of the shipment's manual transitions (hold, cancel)
    assert problem["allowed_transitions"] == []
    assert Shipment.objects.get(pk=shipment.pk).state == ShipmentState.PLANNED


def test_confirming_twice_is_409_and_a_replay_is_not(api, ship_world, shipping_user):
    # given
    shipment = handed_over(ship_world, shipping_user)
    url = f"{SHIPMENTS}{shipment.number}/confirm-delivery/"
    headers = {"Idempotency-Key": f"delivered-{shipment.number}"}
    first = api.post(url, {"note": "ok"}, format="json", headers=headers)
    # when
    replay = api.post(url, {"note": "ok"}, format="json", headers=headers)
    again = api.post(url, {"note": "ok"}, format="json")
    # then
    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    problem = assert_problem(again, 409)
    assert problem["current_state"] == "delivered"
    assert Event.objects.filter(type="shipment.delivered").count() == 1


def test_confirm_delivery_with_a_stale_if_match_is_412(api, ship_world, shipping_user):
    # given
    shipment = handed_over(ship_world, shipping_user)
    url = f"{SHIPMENTS}{shipment.number}/confirm-delivery/"
    # when
    stale = api.post(url, {}, format="json", headers={"If-Match": '"stale"'})
    current = api.get(f"{SHIPMENTS}{shipment.number}/")["ETag"]
    fresh = api.post(url, {}, format="json", headers={"If-Match": current})
    # then
    assert_problem(stale, 412)
    assert fresh.status_code == 200, fresh.content
    assert fresh.json()["state"] == "delivered"


# --- documents -------------------------------------------------------------------------------


def test_document_download_is_a_pdf_with_the_shipment(api, ship_world, shipping_user):
    # given
    shipment = to_documented(ship_world, shipping_user)
    # when
    response = api.get(f"{SHIPMENTS}{shipment.number}/documents/packing_slip/")
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'inline; filename="{shipment.number}-packing_slip.pdf"'
    )
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert content.startswith(b"%PDF")
    assert response["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert shipment.number in text
    assert "RESIN-7" in text
    assert "R-001" in text
    assert ship_world.order.number in text


@pytest.mark.parametrize("kind", ["bill_of_lading", "labels"])
def test_every_document_downloads_when_asked_for_pdf(api, ship_world, shipping_user, kind):
    # given
    shipment = to_documented(ship_world, shipping_user)
    # when
    response = api.get(
        f"{SHIPMENTS}{shipment.number}/documents/{kind}/", HTTP_ACCEPT="application/pdf"
    )
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(response.content)).pages) >= 1


def test_document_if_none_match_gives_304(api, ship_world, shipping_user):
    # given
    shipment = to_documented(ship_world, shipping_user)
    url = f"{SHIPMENTS}{shipment.number}/documents/packing_slip/"
    etag = api.get(url)["ETag"]
    # when
    response = api.get(url, headers={"If-None-Match": etag})
    # then
    assert (response.status_code, response.content) == (304, b"")


def test_document_not_printed_yet_is_404_problem(api, ship_world, shipping_user):
    # given
    shipment = plan(ship_world, shipping_user)
    # when
    response = api.get(
        f"{SHIPMENTS}{shipment.number}/documents/bill_of_lading/", HTTP_ACCEPT="application/pdf"
    )
    # then
    problem = assert_problem(response, 404)
    assert problem["detail"] == (
        f"{shipment.number} has no bill of lading yet: it is printed once it is packed."
    )


def test_unknown_document_kind_is_404_naming_the_known(api, ship_world, shipping_user):
    # given
    shipment = plan(ship_world, shipping_user)
    # when
    response = api.get(f"{SHIPMENTS}{shipment.number}/documents/invoice/")
    # then
    problem = assert_problem(response, 404)
    assert "packing_slip, bill_of_lading, labels" in problem["detail"]


# --- the ERP's webhook for handovers, end to end ---------------------------------------------


def test_erp_subscribes_to_handovers_and_gets_signed_deliveries(
    api, ship_world, shipping_user, receiver, django_capture_on_commit_callbacks
):
    # given: the ERP subscribes through the API
    subscribed = api.post(
        "/api/v1/webhooks/",
        {
            "url": receiver.url,
            "event_types": ["shipment.handed_over", "shipment.delivered"],
            "name": "ERP dispatch",
            "secret": SECRET,
        },
        format="json",
    )
    assert subscribed.status_code == 201, subscribed.content
    assert subscribed.json()["event_types"] == ["shipment.delivered", "shipment.handed_over"]
    shipment = to_documented(ship_world, shipping_user)
    verify_all(shipment, shipping_user)
    # when: the shipment leaves (the worker runs after commit; eager Celery)
    with django_capture_on_commit_callbacks(execute=True):
        hand_over(ship_world, shipment, shipping_user)
    # then: one POST, its signature verifies with the shared secret
    assert len(receiver.received) == 1
    request = receiver.received[0]
    expected = hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request["headers"]["X-MES-Signature"], f"sha256={expected}")
    body = json.loads(request["body"])
    assert body["type"] == "shipment.handed_over"
    payload = body["payload"]
    assert (payload["number"], payload["orders"], payload["tracking_number"]) == (
        shipment.number,
        [ship_world.order.number],
        "JD0146000012345",
    )
    resin = next(line for line in payload["lines"] if line["item"] == "RESIN-7")
    assert resin["lots"] == [{"lot": "R-001", "quantity": 8.0}]
    delivery = WebhookDelivery.objects.get(event_type="shipment.handed_over")
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        WebhookDelivery.Status.DELIVERED,
        1,
        200,
    )
    # and when the carrier confirms the delivery through the API, the ERP hears that too
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = api.post(
            f"{SHIPMENTS}{shipment.number}/confirm-delivery/", {"note": "POD"}, format="json"
        )
    assert confirmed.status_code == 200
    assert len(receiver.received) == 2
    second = receiver.received[1]
    expected = hmac.new(SECRET.encode(), second["body"], hashlib.sha256).hexdigest()
    assert second["headers"]["X-MES-Signature"] == f"sha256={expected}"
    assert json.loads(second["body"])["payload"]["note"] == "POD"
    assert WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED).count() == 2


def test_subscribing_to_an_unknown_shipment_event_is_400(api):
    # when
    response = api.post(
        "/api/v1/webhooks/",
        {"url": "https://erp.example/hooks", "event_types": ["shipment.teleported"]},
        format="json",
    )
    # then
    problem = assert_problem(response, 400)
    assert "shipment.handed_over" in problem["errors"]["event_types"][0]


def test_schema_documents_the_shipment_endpoints(api):
    # when
    response = api.get("/api/schema/", {"format": "json"})
    # then
    from openapi_spec_validator import validate

    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert {
        "/api/v1/shipments/",
        "/api/v1/shipments/{number}/",
        "/api/v1/shipments/{number}/confirm-delivery/",
        "/api/v1/shipments/{number}/documents/{kind}/",
    } <= set(schema["paths"])
    download = schema["paths"]["/api/v1/shipments/{number}/documents/{kind}/"]["get"]
    assert "application/pdf" in download["responses"]["200"]["content"]
