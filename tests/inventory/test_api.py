"""Inventory over the REST API: master data (items, BOMs, locations), receipts, balances,
moves, reservations, holds and trace; scopes, problem+json, idempotent replays, ETags,
and list query counts that do not grow with the rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.utils import timezone
from openapi_spec_validator import validate

from inventory.models import (
    BillOfMaterials,
    ExpectedReceipt,
    Item,
    Location,
    Lot,
    MoveType,
    QualityHold,
    Reservation,
    StockMove,
)
from inventory.services.holds import hold_place
from inventory.services.reservations import reserve
from mes.core.roles import INTEGRATION

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
ALL_SCOPES = [
    "masterdata:read",
    "masterdata:write",
    "inventory:read",
    "inventory:write",
    "quality:write",
]
# What the Integration role needs for the stock endpoints (moving stock, reservations,
# quality holds); granted here as mes/core/roles.py is asked to grant it.
INTEGRATION_STOCK_PERMISSIONS = ["add_stockmove", "add_reservation", "place_hold", "release_hold"]


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    return body


@pytest.fixture
def integration_may_move_stock(db: Any) -> None:
    group = Group.objects.get(name=INTEGRATION)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="inventory", codename__in=INTEGRATION_STOCK_PERMISSIONS
        )
    )
    cache.clear()


@pytest.fixture
def erp(make_api_client, integration_may_move_stock):  # type: ignore[no-untyped-def]
    return make_api_client(ALL_SCOPES, name="ERP inventory")


@pytest.fixture
def reader(make_api_client):  # type: ignore[no-untyped-def]
    return make_api_client(["inventory:read", "masterdata:read"], name="ERP reader")


@pytest.fixture
def stock_writer(make_api_client, integration_may_move_stock):  # type: ignore[no-untyped-def]
    return make_api_client(["inventory:read", "inventory:write"], name="ERP stock")


# --- items -----------------------------------------------------------------------------


def test_item_upsert_sets_inventory_fields_and_default_locations_by_code(erp, inv_world):
    # given
    body = {
        "sku": "GLUE-2",
        "name": "Glue",
        "unit": "kg",
        "source": "buy",
        "tracking": "lot",
        "shelf_life_days": 90,
        "reservation_policy": "fefo",
        "receipt_over_tolerance_pct": "5.00",
        "receipt_under_tolerance_pct": "2.50",
        "backflush": True,
        "default_receiving_location": "RCV-01",
        "default_stock_location": "STK-A1",
    }
    # when
    created = erp.post("/api/v1/items/", body, format="json")
    renamed = erp.post("/api/v1/items/", {"sku": "GLUE-2", "name": "Glue 2K"}, format="json")
    # then
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["tracking"] == "lot"
    assert data["reservation_policy"] == "fefo"
    assert data["default_receiving_location"] == "RCV-01"
    assert data["default_stock_location"] == "STK-A1"
    assert created["Location"] == "/api/v1/items/GLUE-2/"
    assert renamed.status_code == 200
    # fields left out keep their value
    item = Item.objects.get(sku="GLUE-2")
    assert (item.name, item.tracking, item.shelf_life_days, item.backflush) == (
        "Glue 2K",
        "lot",
        90,
        True,
    )
    assert item.default_stock_location == inv_world.stock


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"default_stock_location": "NOPE"}, "default_stock_location"),
        ({"default_stock_location": "RCV-01"}, "default_stock_location"),
        ({"tracking": "batch"}, "tracking"),
        ({"shelf_life_days": 0}, "shelf_life_days"),
        ({"receipt_over_tolerance_pct": "120"}, "receipt_over_tolerance_pct"),
    ],
)
def test_invalid_item_is_400_with_field_errors_and_changes_nothing(erp, inv_world, body, field):
    # when
    response = erp.post("/api/v1/items/", {"sku": "BOLT-M8", "name": "Bolt", **body}, format="json")
    # then
    problem = assert_problem(response, 400)
    assert field in problem["errors"]
    assert Item.objects.get(sku="BOLT-M8").name == "Bolt M8x30"


def test_item_tracking_cannot_change_while_in_stock(erp, inv_world):
    # given
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 5)
    # when
    response = erp.post(
        "/api/v1/items/", {"sku": "BOLT-M8", "name": "Bolt", "tracking": "lot"}, format="json"
    )
    # then
    problem = assert_problem(response, 409)
    assert "tracking" in problem["errors"]
    assert Item.objects.get(sku="BOLT-M8").tracking == "none"


def test_item_detail_has_an_etag_and_a_stale_if_match_is_412(erp, inv_world):
    # given
    read = erp.get("/api/v1/items/BOLT-M8/")
    etag = read["ETag"]
    cached = erp.get("/api/v1/items/BOLT-M8/", HTTP_IF_NONE_MATCH=etag)
    erp.post("/api/v1/items/", {"sku": "BOLT-M8", "name": "Bolt M8x35"}, format="json")
    # when
    stale = erp.post(
        "/api/v1/items/",
        {"sku": "BOLT-M8", "name": "Bolt M8x40"},
        HTTP_IF_MATCH=etag,
        format="json",
    )
    fresh_etag = erp.get("/api/v1/items/BOLT-M8/")["ETag"]
    current = erp.post(
        "/api/v1/items/",
        {"sku": "BOLT-M8", "name": "Bolt M8x40"},
        HTTP_IF_MATCH=fresh_etag,
        format="json",
    )
    # then
    assert read.status_code == 200
    assert cached.status_code == 304
    assert_problem(stale, 412)
    assert current.status_code == 200
    assert Item.objects.get(sku="BOLT-M8").name == "Bolt M8x40"


def test_item_writes_need_masterdata_write(stock_writer, inv_world):
    # when
    response = stock_writer.post("/api/v1/items/", {"sku": "X", "name": "X"}, format="json")
    # then
    body = assert_problem(response, 403)
    assert "masterdata:write" in body["detail"]
    assert not Item.objects.filter(sku="X").exists()


# --- bills of materials ----------------------------------------------------------------


def _bom_body(**extra: Any) -> dict[str, Any]:
    return {
        "item": "FRAME-1",
        "revision": "B",
        "lines": [
            {"component": "BOLT-M8", "quantity_per": "8"},
            {"component": "RESIN-7", "quantity_per": "0.25", "scrap_allowance_pct": "3"},
        ],
        **extra,
    }


@pytest.fixture
def frame(inv_world):  # type: ignore[no-untyped-def]
    return Item.objects.create(sku="FRAME-1", name="Welded frame", source="make")


def test_bom_upsert_creates_then_replaces_the_whole_bom(erp, inv_world, frame):
    # when
    created = erp.post("/api/v1/boms/", _bom_body(), format="json")
    replaced = erp.post(
        "/api/v1/boms/",
        _bom_body(revision="C", lines=[{"component": "MOTOR-1", "quantity_per": "1"}]),
        format="json",
    )
    detail = erp.get("/api/v1/boms/FRAME-1/")
    # then
    assert created.status_code == 201, created.content
    assert [line["component"] for line in created.json()["lines"]] == ["BOLT-M8", "RESIN-7"]
    assert created.json()["lines"][1]["position"] == 20
    assert replaced.status_code == 200
    assert detail.json()["revision"] == "C"
    assert [line["component"] for line in detail.json()["lines"]] == ["MOTOR-1"]
    assert detail["ETag"]
    assert BillOfMaterials.objects.get(item=frame).lines.count() == 1


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([{"component": "NOPE", "quantity_per": "1"}], "lines[0].component"),
        ([{"component": "FRAME-1", "quantity_per": "1"}], "lines[0].component"),
        (
            [
                {"component": "BOLT-M8", "quantity_per": "1"},
                {"component": "BOLT-M8", "quantity_per": "2"},
            ],
            "lines[1].component",
        ),
        ([{"component": "BOLT-M8", "quantity_per": "0"}], "lines[0].quantity_per"),
        ([], "lines"),
    ],
)
def test_invalid_bom_is_400_with_field_errors_and_changes_nothing(
    erp, inv_world, frame, lines, field
):
    # when
    response = erp.post("/api/v1/boms/", _bom_body(lines=lines), format="json")
    # then
    problem = assert_problem(response, 400)
    assert field in problem["errors"], problem
    assert not BillOfMaterials.objects.exists()


# --- locations -------------------------------------------------------------------------


def test_location_upsert_by_code_with_parent_by_code(erp, inv_world):
    # when
    created = erp.post(
        "/api/v1/locations/",
        {
            "code": "STK-B1",
            "name": "Rack B1",
            "type": "stock",
            "parent": "PLANT",
            "pick_sequence": "B-01",
        },
        format="json",
    )
    updated = erp.post(
        "/api/v1/locations/",
        {"code": "STK-B1", "name": "Rack B1 (top)", "type": "stock", "parent": "PLANT"},
        format="json",
    )
    listed = erp.get("/api/v1/locations/", {"type": "stock", "parent": "PLANT"})
    # then
    assert created.status_code == 201, created.content
    assert created.json() | {"name": None} == {
        "code": "STK-B1",
        "name": None,
        "type": "stock",
        "parent": "PLANT",
        "barcode": "STK-B1",
        "pick_sequence": "B-01",
        "active": True,
    }
    assert updated.status_code == 200
    assert Location.objects.get(code="STK-B1").name == "Rack B1 (top)"
    assert [row["code"] for row in listed.json()["results"]] == ["STK-A1", "STK-A2", "STK-B1"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "PLANT", "parent": "STK-A1"}, "parent"),
        ({"parent": "NOWHERE"}, "parent"),
        ({"barcode": "LOC-STK-A1"}, "barcode"),
        ({"type": "attic"}, "type"),
    ],
)
def test_invalid_location_is_400_and_changes_nothing(erp, inv_world, body, field):
    # given
    before = list(Location.objects.values_list("code", "parent_id", "barcode", "type"))
    # when
    response = erp.post(
        "/api/v1/locations/",
        {"code": "STK-Z9", "name": "Z", "type": "site", **body},
        format="json",
    )
    # then
    problem = assert_problem(response, 400)
    assert field in problem["errors"], problem
    assert list(Location.objects.values_list("code", "parent_id", "barcode", "type")) == before


# --- expected receipts -----------------------------------------------------------------


def _receipt_body(**extra: Any) -> dict[str, Any]:
    return {
        "external_id": "PO-77/10",
        "item": "RESIN-7",
        "quantity_expected": "40",
        "expected_date": str(timezone.localdate() + dt.timedelta(days=3)),
        "supplier": "Resin GmbH",
        "po_number": "PO-77",
        "po_line": "10",
        **extra,
    }


def test_receipt_upsert_by_external_id_is_idempotent(erp, inv_world):
    # when
    first = erp.post("/api/v1/receipts/", _receipt_body(), format="json")
    again = erp.post("/api/v1/receipts/", _receipt_body(), format="json")
    moved = erp.post("/api/v1/receipts/", _receipt_body(quantity_expected="45"), format="json")
    # then
    assert first.status_code == 201, first.content
    assert again.status_code == 200
    assert first.json()["number"] == again.json()["number"]
    assert moved.json()["quantity_expected"] == "45.000"
    assert ExpectedReceipt.objects.count() == 1
    detail = erp.get(first["Location"])
    assert detail.status_code == 200
    assert detail.json()["state"] == "expected"


def test_receipt_post_with_an_idempotency_key_replays_the_first_response(erp, inv_world):
    # when
    first = erp.post(
        "/api/v1/receipts/", _receipt_body(), format="json", HTTP_IDEMPOTENCY_KEY="rc-1"
    )
    replay = erp.post(
        "/api/v1/receipts/", _receipt_body(), format="json", HTTP_IDEMPOTENCY_KEY="rc-1"
    )
    # then
    assert first.status_code == replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert ExpectedReceipt.objects.count() == 1


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"quantity_expected": "0"}, "quantity_expected"),
        ({"item": "NOPE"}, "item"),
        ({"expected_date": "tomorrow"}, "expected_date"),
        ({"external_id": ""}, "external_id"),
    ],
)
def test_invalid_receipt_is_400_and_creates_nothing(erp, inv_world, extra, field):
    # when
    response = erp.post("/api/v1/receipts/", _receipt_body(**extra), format="json")
    # then
    problem = assert_problem(response, 400)
    assert field in problem["errors"]
    assert not ExpectedReceipt.objects.exists()


def test_receipts_filter_by_state_due_and_late(erp, inv_world):
    # given
    today = timezone.localdate()
    for n, days in enumerate([-2, 0, 5]):
        erp.post(
            "/api/v1/receipts/",
            _receipt_body(external_id=f"E{n}", expected_date=str(today + dt.timedelta(days=days))),
            format="json",
        )
    # when
    late = erp.get("/api/v1/receipts/", {"late": "true"})
    due = erp.get("/api/v1/receipts/", {"due_to": str(today)})
    expected = erp.get("/api/v1/receipts/", {"state": "expected"})
    received = erp.get("/api/v1/receipts/", {"state": "received"})
    # then
    assert [r["external_id"] for r in late.json()["results"]] == ["E0"]
    assert [r["external_id"] for r in due.json()["results"]] == ["E0", "E1"]
    assert expected.json()["count"] == 3
    assert received.json()["count"] == 0


def test_receipts_need_inventory_write(make_api_client, inv_world):
    # given
    masterdata = make_api_client(["masterdata:read", "masterdata:write"], name="MD")
    # when
    read = masterdata.get("/api/v1/receipts/")
    write = masterdata.post("/api/v1/receipts/", _receipt_body(), format="json")
    # then
    assert "inventory:read" in assert_problem(read, 403)["detail"]
    assert "inventory:write" in assert_problem(write, 403)["detail"]
    assert not ExpectedReceipt.objects.exists()


# --- balances and moves ----------------------------------------------------------------


@pytest.fixture
def stocked(inv_world):  # type: ignore[no-untyped-def]
    w = inv_world
    w.stock_in(w.bolt, w.stock, 100)
    w.stock_in(w.bolt, w.stock2, 20)
    w.stock_in(w.resin, w.stock, 10, lot=w.lot_old)
    w.stock_in(w.resin, w.stock, 12, lot=w.lot_new)
    w.stock_in(w.resin, w.stock2, 3, lot=w.lot_expired)
    w.stock_in(w.resin, w.quarantine, 4, lot=w.lot_new)
    return w


def test_balances_filter_by_item_location_lot_and_availability(reader, stocked):
    # when
    bolts = reader.get("/api/v1/balances/", {"item": "BOLT-M8"})
    at_a1 = reader.get("/api/v1/balances/", {"location": "STK-A1"})
    lot = reader.get("/api/v1/balances/", {"item": "RESIN-7", "lot": "R-002"})
    usable = reader.get("/api/v1/balances/", {"item": "RESIN-7", "available": "true"})
    blocked = reader.get("/api/v1/balances/", {"item": "RESIN-7", "available": "false"})
    # then
    assert [(b["location"], b["on_hand"]) for b in bolts.json()["results"]] == [
        ("STK-A1", "100.000"),
        ("STK-A2", "20.000"),
    ]
    assert at_a1.json()["count"] == 3
    assert {b["location"] for b in lot.json()["results"]} == {"STK-A1", "QRN-01"}
    assert {b["lot"] for b in usable.json()["results"]} == {"R-001", "R-002"}
    assert {(b["lot"], b["location"]) for b in blocked.json()["results"]} == {
        ("R-000", "STK-A2"),
        ("R-002", "QRN-01"),
    }
    assert all(b["blocked"] for b in blocked.json()["results"])


def test_transfer_moves_stock_and_lists_in_the_ledger(stock_writer, stocked):
    # when
    response = stock_writer.post(
        "/api/v1/moves/transfer/",
        {
            "item": "RESIN-7",
            "lot": "R-001",
            "from_location": "STK-A1",
            "to_location": "LS-01",
            "quantity": "4",
            "note": "line 1",
        },
        format="json",
    )
    ledger = stock_writer.get("/api/v1/moves/", {"item": "RESIN-7", "type": "transfer"})
    at_line = stock_writer.get("/api/v1/moves/", {"location": "LS-01"})
    # then
    assert response.status_code == 201, response.content
    move = response.json()
    assert (move["type"], move["from_location"], move["to_location"], move["lot"]) == (
        "transfer",
        "STK-A1",
        "LS-01",
        "R-001",
    )
    assert stocked.balance(stocked.resin, stocked.line_side, stocked.lot_old).on_hand == 4
    assert [m["id"] for m in ledger.json()["results"]] == [move["id"]]
    assert at_line.json()["count"] == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"quantity": "500"}, 409, "quantity"),
        ({"quantity": "-1"}, 400, "quantity"),
        ({"to_location": "NOWHERE"}, 400, "to_location"),
        ({"item": "RESIN-7", "lot": "R-999"}, 400, "lot"),
        ({"to_location": "STK-A1"}, 400, "to_location"),
    ],
)
def test_bad_transfer_is_refused_and_moves_nothing(stock_writer, stocked, body, status, field):
    # given
    moves = StockMove.objects.count()
    payload = {
        "item": "BOLT-M8",
        "from_location": "STK-A1",
        "to_location": "LS-01",
        "quantity": "5",
        **body,
    }
    # when
    response = stock_writer.post("/api/v1/moves/transfer/", payload, format="json")
    # then
    problem = assert_problem(response, status)
    assert field in problem.get("errors", {}), problem
    assert StockMove.objects.count() == moves
    assert stocked.balance(stocked.bolt, stocked.stock).on_hand == 100


def test_transfer_needs_inventory_write(reader, stocked):
    # when
    response = reader.post(
        "/api/v1/moves/transfer/",
        {"item": "BOLT-M8", "from_location": "STK-A1", "to_location": "LS-01", "quantity": "5"},
        format="json",
    )
    # then
    assert "inventory:write" in assert_problem(response, 403)["detail"]


def test_transfer_replay_with_the_same_key_moves_once(stock_writer, stocked):
    # given
    body = {"item": "BOLT-M8", "from_location": "STK-A1", "to_location": "LS-01", "quantity": "5"}
    # when
    first = stock_writer.post(
        "/api/v1/moves/transfer/", body, format="json", HTTP_IDEMPOTENCY_KEY="mv-1"
    )
    replay = stock_writer.post(
        "/api/v1/moves/transfer/", body, format="json", HTTP_IDEMPOTENCY_KEY="mv-1"
    )
    # then
    assert first.status_code == replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert stocked.balance(stocked.bolt, stocked.stock).on_hand == 95


def test_moves_filter_by_document_and_period(reader, stocked):
    # given
    now = timezone.now()
    # when
    by_document = reader.get("/api/v1/moves/", {"document_ref": "TEST", "type": "receipt"})
    future = reader.get(
        "/api/v1/moves/", {"occurred_after": (now + dt.timedelta(hours=1)).isoformat()}
    )
    past = reader.get(
        "/api/v1/moves/", {"occurred_before": (now + dt.timedelta(hours=1)).isoformat()}
    )
    # then
    assert by_document.json()["count"] == 6
    assert future.json()["count"] == 0
    assert past.json()["count"] == 6


# --- reservations ----------------------------------------------------------------------


def test_reserve_for_a_demand_list_and_release(stock_writer, stocked):
    # when
    reserved = stock_writer.post(
        "/api/v1/reservations/",
        {
            "item": "RESIN-7",
            "quantity": "15",
            "demand_type": "work_order",
            "demand_id": 7,
            "demand_ref": "WO-7",
        },
        format="json",
    )
    listed = stock_writer.get(
        "/api/v1/reservations/", {"demand_type": "work_order", "demand_id": 7}
    )
    first_id = listed.json()["results"][0]["id"]
    released = stock_writer.delete(f"/api/v1/reservations/{first_id}/?reason=plan+changed")
    rest = stock_writer.post(
        "/api/v1/reservations/release/",
        {"demand_type": "work_order", "demand_id": 7},
        format="json",
    )
    # then
    assert reserved.status_code == 201, reserved.content
    body = reserved.json()
    assert (body["reserved"], body["shortfall"]) == ("15.000", "0.000")
    # FEFO: the lot that expires first goes first
    assert [(r["lot"], r["quantity"]) for r in body["reservations"]] == [
        ("R-001", "10.000"),
        ("R-002", "5.000"),
    ]
    assert listed.json()["count"] == 2
    assert released.status_code == 200
    assert released.json()["state"] == "released"
    assert rest.json() == {"released": 1}
    assert not Reservation.objects.filter(state=Reservation.State.ACTIVE).exists()
    assert stocked.balance(stocked.resin, stocked.stock, stocked.lot_new).reserved == 0


def test_reserve_short_says_the_shortfall(stock_writer, stocked):
    # when
    response = stock_writer.post(
        "/api/v1/reservations/",
        {
            "item": "BOLT-M8",
            "quantity": "150",
            "demand_type": "shipment",
            "demand_id": 3,
            "demand_ref": "SO-3",
        },
        format="json",
    )
    # then
    assert response.status_code == 201
    assert (response.json()["reserved"], response.json()["shortfall"]) == ("120.000", "30.000")


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"demand_type": "party"}, "demand_type"),
        ({"quantity": "0"}, "quantity"),
        ({"item": "NOPE"}, "item"),
        ({"demand_id": None}, "demand_id"),
    ],
)
def test_invalid_reservation_is_400_and_reserves_nothing(stock_writer, stocked, extra, field):
    # when
    response = stock_writer.post(
        "/api/v1/reservations/",
        {
            "item": "BOLT-M8",
            "quantity": "5",
            "demand_type": "shipment",
            "demand_id": 3,
            "demand_ref": "SO-3",
            **extra,
        },
        format="json",
    )
    # then
    assert field in assert_problem(response, 400)["errors"]
    assert not Reservation.objects.exists()


def test_reservations_need_inventory_write(reader, stocked):
    # given
    outcome = reserve(
        item=stocked.bolt,
        quantity=5,
        demand_type="shipment",
        demand_id=1,
        demand_ref="SO-1",
        actor=None,
    )
    pk = outcome.reservations[0].pk
    # when
    deleted = reader.delete(f"/api/v1/reservations/{pk}/")
    posted = reader.post(
        "/api/v1/reservations/release/", {"demand_type": "shipment", "demand_id": 1}, format="json"
    )
    # then
    assert_problem(deleted, 403)
    assert_problem(posted, 403)
    assert Reservation.objects.get(pk=pk).state == Reservation.State.ACTIVE


# --- quality holds ---------------------------------------------------------------------


def test_place_a_lot_hold_list_it_and_release_it(erp, stocked):
    # when
    placed = erp.post(
        "/api/v1/holds/",
        {
            "scope": "lot",
            "item": "RESIN-7",
            "lot": "R-001",
            "reason_code": "quality",
            "note": "Viscosity out of spec",
        },
        format="json",
    )
    number = placed.json()["number"]
    blocked = erp.get("/api/v1/balances/", {"lot": "R-001"})
    active = erp.get("/api/v1/holds/", {"state": "active"})
    etag = erp.get(f"/api/v1/holds/{number}/")["ETag"]
    released = erp.post(
        f"/api/v1/holds/{number}/release/",
        {"reason_code": "quality", "note": "Retest passed"},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    # then
    assert placed.status_code == 201, placed.content
    assert (placed.json()["scope"], placed.json()["lot"], placed.json()["item"]) == (
        "lot",
        "R-001",
        "RESIN-7",
    )
    assert [b["held"] for b in blocked.json()["results"]] == [True]
    assert [h["number"] for h in active.json()["results"]] == [number]
    assert released.status_code == 200, released.content
    assert released.json()["state"] == "released"
    assert released.json()["release_reason_code"] == "quality"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": "lot", "lot": "R-001"}, "item"),
        ({"scope": "lot", "item": "RESIN-7", "lot": "R-404"}, "lot"),
        ({"scope": "location"}, "location"),
        ({"scope": "location", "location": "STK-A1", "note": ""}, "note"),
        ({"scope": "everything"}, "scope"),
    ],
)
def test_invalid_hold_is_400_and_places_nothing(erp, stocked, body, field):
    # when
    response = erp.post(
        "/api/v1/holds/", {"reason_code": "quality", "note": "why", **body}, format="json"
    )
    # then
    assert field in assert_problem(response, 400)["errors"]
    assert not QualityHold.objects.exists()


def test_holds_need_quality_write(stock_writer, stocked, quality_user):
    # given
    hold = hold_place(
        scope="location",
        location=stocked.stock2,
        actor=quality_user,
        reason_code="quality",
        note="Leaking roof",
    )
    # when
    listed = stock_writer.get("/api/v1/holds/")
    placed = stock_writer.post(
        "/api/v1/holds/",
        {"scope": "location", "location": "STK-A1", "reason_code": "quality", "note": "x"},
        format="json",
    )
    released = stock_writer.post(
        f"/api/v1/holds/{hold.number}/release/",
        {"reason_code": "quality", "note": "fixed"},
        format="json",
    )
    # then
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert "quality:write" in assert_problem(placed, 403)["detail"]
    assert "quality:write" in assert_problem(released, 403)["detail"]
    hold.refresh_from_db()
    assert hold.state == QualityHold.State.ACTIVE


def test_releasing_a_released_hold_is_refused(erp, stocked, quality_user):
    # given
    hold = hold_place(
        scope="location",
        location=stocked.stock2,
        actor=quality_user,
        reason_code="quality",
        note="Leaking roof",
    )
    body = {"reason_code": "quality", "note": "fixed"}
    erp.post(f"/api/v1/holds/{hold.number}/release/", body, format="json")
    # when
    again = erp.post(f"/api/v1/holds/{hold.number}/release/", body, format="json")
    # then
    assert again.status_code in {400, 409}
    assert again["Content-Type"] == PROBLEM


# --- list query counts -----------------------------------------------------------------


def _many_balances(world: Any, n: int) -> None:
    locations = Location.objects.bulk_create(
        Location(
            code=f"BIN-{i:04d}",
            name=f"Bin {i}",
            type="stock",
            parent=world.site,
            barcode=f"LOC-BIN-{i:04d}",
        )
        for i in range(n)
    )
    lots = Lot.objects.bulk_create(
        Lot(item=world.resin, number=f"RL-{i:04d}", received_on=timezone.localdate())
        for i in range(n)
    )
    for location, lot in zip(locations, lots, strict=True):
        world.stock_in(world.resin, location, 2, lot=lot)


def _many(kind: str, world: Any, n: int, quality_user: Any) -> None:
    if kind in {"balances", "moves", "lots"}:
        _many_balances(world, n)
    elif kind in {"items", "boms"}:
        for i in range(n):
            item = Item.objects.create(
                sku=f"MADE-{i:04d}",
                name=f"Made {i}",
                default_stock_location=world.stock,
                default_receiving_location=world.receiving,
            )
            if kind == "boms":
                bom = BillOfMaterials.objects.create(item=item)
                bom.lines.create(component=world.bolt, quantity_per=Decimal(2))
                bom.lines.create(component=world.resin, quantity_per=Decimal("0.5"), position=20)
    elif kind == "locations":
        Location.objects.bulk_create(
            Location(
                code=f"BIN-{i:04d}",
                name=f"Bin {i}",
                type="stock",
                parent=world.site,
                barcode=f"LOC-BIN-{i:04d}",
            )
            for i in range(n)
        )
    elif kind == "receipts":
        from inventory.services.receipts import expected_receipt_upsert

        for i in range(n):
            expected_receipt_upsert(
                external_id=f"X-{i}",
                item=world.resin,
                quantity_expected=5,
                expected_date=timezone.localdate(),
                supplier="Resin GmbH",
            )
    elif kind == "reservations":
        world.stock_in(world.bolt, world.stock, n)
        for i in range(n):
            reserve(
                item=world.bolt,
                quantity=1,
                demand_type="work_order",
                demand_id=1,
                demand_ref="WO-1",
                actor=None,
                demand_line=i + 1,
            )
    elif kind == "holds":
        for i in range(n):
            location = Location.objects.create(
                code=f"BIN-{i:04d}", name=f"Bin {i}", type="stock", barcode=f"LOC-BIN-{i:04d}"
            )
            hold_place(
                scope="location",
                location=location,
                actor=quality_user,
                reason_code="quality",
                note="Check",
            )


# key look-up, count, rows (+ one prefetch for BOM lines)
LIST_QUERIES = {
    "items": 3,
    "boms": 4,
    "locations": 3,
    "lots": 3,
    "receipts": 3,
    "balances": 3,
    "moves": 3,
    "reservations": 3,
    "holds": 3,
}
EXPECTED_ROWS = {"moves": lambda n: n, "lots": lambda n: n + 4}


@pytest.mark.parametrize("kind", sorted(LIST_QUERIES))
@pytest.mark.parametrize("n", [10, 200])
def test_list_query_count_does_not_grow_with_rows(
    erp, inv_world, quality_user, django_assert_num_queries, kind, n
):
    # given
    _many(kind, inv_world, n, quality_user)
    url = f"/api/v1/{kind}/"
    erp.get(url)  # warm-up
    # when
    with django_assert_num_queries(LIST_QUERIES[kind]):
        response = erp.get(url, {"page_size": 500})
    # then
    assert response.status_code == 200, response.content
    assert response.json()["count"] >= n


# --- schema ----------------------------------------------------------------------------


def test_schema_validates_and_lists_the_inventory_endpoints(erp):
    # when
    response = erp.get("/api/schema/", {"format": "json"})
    # then
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    for path in [
        "/api/v1/items/",
        "/api/v1/boms/",
        "/api/v1/locations/",
        "/api/v1/receipts/",
        "/api/v1/balances/",
        "/api/v1/moves/",
        "/api/v1/moves/transfer/",
        "/api/v1/reservations/",
        "/api/v1/holds/",
        "/api/v1/lots/{sku}/{number}/trace/",
    ]:
        assert path in schema["paths"], path


def test_move_types_in_the_schema_match_the_model(erp):
    # when
    schema = erp.get("/api/schema/", {"format": "json"}).json()
    # then
    parameters = schema["paths"]["/api/v1/moves/"]["get"]["parameters"]
    types = next(p for p in parameters if p["name"] == "type")
    assert set(types["schema"]["items"]["enum"]) == set(MoveType.values)


# --- trace -----------------------------------------------------------------------------


@pytest.fixture
def two_levels(stocked, warehouse_user):  # type: ignore[no-untyped-def]
    """Resin lot R-001 -> sub-assembly lot (WO-1) -> finished lot (WO-2), shipped."""
    from inventory.services.ledger import move_post
    from inventory.services.production import production_receive, work_order_issue

    w = stocked
    sub = Item.objects.create(sku="SUB-1", name="Potted board", tracking="lot")
    final = Item.objects.create(sku="FIN-1", name="Controller", tracking="lot")
    work_order_issue(
        work_order_id=1,
        work_order_ref="WO-1",
        item=w.resin,
        quantity=2,
        from_location=w.stock,
        lot=w.lot_old,
        actor=warehouse_user,
    )
    sub_lot = production_receive(
        work_order_id=1,
        work_order_ref="WO-1",
        item=sub,
        quantity=4,
        to_location=w.stock,
        actor=warehouse_user,
    )
    work_order_issue(
        work_order_id=2,
        work_order_ref="WO-2",
        item=sub,
        quantity=4,
        from_location=w.stock,
        lot=sub_lot,
        actor=warehouse_user,
    )
    final_lot = production_receive(
        work_order_id=2,
        work_order_ref="WO-2",
        item=final,
        quantity=4,
        to_location=w.shipping,
        actor=warehouse_user,
    )
    move_post(
        type=MoveType.SHIPMENT,
        item=final,
        quantity=4,
        actor=warehouse_user,
        from_location=w.shipping,
        lot=final_lot,
        document_type="shipment",
        document_ref="SH-1",
        partner="Alpenland",
    )
    return sub_lot, final_lot


def test_trace_backward_reaches_the_supplier_lot_two_levels_down(reader, two_levels):
    # given
    _sub_lot, final_lot = two_levels
    # when
    response = reader.get(f"/api/v1/lots/FIN-1/{final_lot.number}/trace/")
    # then
    assert response.status_code == 200, response.content
    nodes = response.json()["nodes"]
    assert [(n["depth"], n["item"], n["parent_lot"]) for n in nodes] == [
        (0, "FIN-1", None),
        (1, "SUB-1", final_lot.number),
        (2, "RESIN-7", nodes[1]["lot"]),
    ]
    assert nodes[2]["supplier_lot"] == "SUP-9001"
    assert nodes[2]["work_order"] == "WO-1"


def test_trace_forward_reaches_the_customer(reader, two_levels):
    # when
    response = reader.get("/api/v1/lots/RESIN-7/R-001/trace/", {"direction": "forward"})
    # then
    nodes = response.json()["nodes"]
    assert [n["item"] for n in nodes] == ["RESIN-7", "SUB-1", "FIN-1"]
    assert nodes[0]["consumed_by"][0]["work_order"] == "WO-1"
    assert [(s["document"], s["customer"]) for s in nodes[2]["shipments"]] == [
        ("SH-1", "Alpenland")
    ]


def test_trace_refuses_an_unknown_direction_and_lot(reader, two_levels):
    # when
    bad = reader.get("/api/v1/lots/RESIN-7/R-001/trace/", {"direction": "sideways"})
    unknown = reader.get("/api/v1/lots/RESIN-7/R-404/trace/")
    # then
    assert "direction" in assert_problem(bad, 400)["errors"]
    assert_problem(unknown, 404)


def test_trace_query_count_does_not_grow_with_depth(reader, two_levels, django_assert_num_queries):
    # given: one level (the sub-assembly) and two levels (the finished lot)
    sub_lot, final_lot = two_levels
    urls = [
        f"/api/v1/lots/SUB-1/{sub_lot.number}/trace/",
        f"/api/v1/lots/FIN-1/{final_lot.number}/trace/",
    ]
    reader.get(urls[0])  # warm-up
    # when / then: key look-up, the lot, the recursive walk, the lots, the receipts
    for url in urls:
        with django_assert_num_queries(5):
            assert reader.get(url).status_code == 200
