"""Receipts: expected receipts upserted by the ERP's id, received at the dock within the
item's tolerances (lots numbered, expiry from shelf life), inspected, put away into stock
or rejected to quarantine; every refusal changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from inventory.models import ExpectedReceipt, Location, Lot, MoveType, StockBalance, StockMove
from inventory.services.receipts import (
    expected_receipt_upsert,
    receipt_by_scan,
    receipt_inspect,
    receipt_put_away,
    receipt_receive,
)
from mes.core.errors import Conflict, IllegalTransition, NotPermitted, ValidationFailed
from mes.core.models import Event, TransitionLog

pytestmark = pytest.mark.django_db


def _today() -> dt.date:
    return timezone.localdate()


def _expect(item: Any, quantity: Any = "100", external_id: str = "PO-1-10", **kw: Any) -> Any:
    receipt, _created = expected_receipt_upsert(
        external_id=external_id,
        item=item,
        quantity_expected=quantity,
        expected_date=kw.pop("expected_date", _today() + dt.timedelta(days=2)),
        supplier=kw.pop("supplier", "Resin GmbH"),
        po_number=kw.pop("po_number", "PO-1"),
        po_line=kw.pop("po_line", "10"),
    )
    return receipt


def _snapshot(receipt: ExpectedReceipt) -> tuple[Any, ...]:
    fresh = ExpectedReceipt.objects.get(pk=receipt.pk)
    return (
        fresh.state,
        fresh.quantity_received,
        fresh.lot_id,
        fresh.location_id,
        fresh.received_at,
        Lot.objects.count(),
        StockMove.objects.count(),
        sorted(StockBalance.objects.values_list("item_id", "location_id", "lot_id", "on_hand")),
        TransitionLog.objects.count(),
        Event.objects.count(),
    )


# --- expected receipts from the ERP --------------------------------------------------------


def test_upsert_creates_then_replays_without_change(inv_world: Any) -> None:
    # given
    w = inv_world
    date = _today() + dt.timedelta(days=5)
    # when
    first, created = expected_receipt_upsert(
        external_id=" ASN-77 ",
        item=w.bolt,
        quantity_expected="500",
        expected_date=date.isoformat(),
        supplier="Bolts Ltd",
        po_number="PO-77",
        po_line="1",
    )
    again, created_again = expected_receipt_upsert(
        external_id="ASN-77",
        item=w.bolt,
        quantity_expected=Decimal("500.000"),
        expected_date=date,
        supplier="Bolts Ltd",
        po_number="PO-77",
        po_line="1",
    )
    # then
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert first.number == f"RC-{first.pk:06d}"
    fresh = ExpectedReceipt.objects.get()
    assert (fresh.external_id, fresh.quantity_expected, fresh.expected_date, fresh.state) == (
        "ASN-77",
        Decimal("500"),
        date,
        "expected",
    )
    assert fresh.updated_at == first.updated_at


def test_upsert_updates_an_expected_receipt(inv_world: Any) -> None:
    # given
    receipt = _expect(inv_world.bolt, "100")
    # when
    updated, created = expected_receipt_upsert(
        external_id="PO-1-10",
        item=inv_world.bolt,
        quantity_expected="120",
        expected_date=_today() + dt.timedelta(days=9),
        supplier="Resin GmbH",
        po_number="PO-1",
        po_line="10",
    )
    # then
    assert (updated.pk, created) == (receipt.pk, False)
    fresh = ExpectedReceipt.objects.get()
    assert (fresh.quantity_expected, fresh.expected_date) == (
        Decimal("120"),
        _today() + dt.timedelta(days=9),
    )


def test_a_received_receipt_cannot_be_changed_back(inv_world: Any, warehouse_user: Any) -> None:
    # given: received
    receipt = _expect(inv_world.bolt, "100")
    receipt_receive(receipt=receipt, quantity="100", actor=warehouse_user)
    before = _snapshot(receipt)
    # when: the ERP sends a new quantity
    with pytest.raises(Conflict) as caught:
        _expect(inv_world.bolt, "80")
    # then
    assert caught.value.message == (
        f"Receipt {receipt.number} is received: it can no longer be changed (quantity_expected)."
    )
    assert _snapshot(receipt) == before
    # and the unchanged record is still accepted (an idempotent replay)
    assert _expect(inv_world.bolt, "100").pk == receipt.pk


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"external_id": " "}, {"external_id": ["The ERP id is required."]}),
        (
            {"quantity_expected": "0"},
            {"quantity_expected": ["The quantity must be more than zero."]},
        ),
        ({"quantity_expected": "abc"}, {"quantity_expected": ["Enter a quantity as a number."]}),
        ({"expected_date": "2031-02-30"}, {"expected_date": ["Enter a date as YYYY-MM-DD."]}),
    ],
)
def test_upsert_refuses_bad_input(inv_world: Any, changes: dict[str, Any], errors: Any) -> None:
    # given
    values = {
        "external_id": "X-1",
        "item": inv_world.bolt,
        "quantity_expected": "10",
        "expected_date": _today(),
        **changes,
    }
    # when
    with pytest.raises(ValidationFailed) as caught:
        expected_receipt_upsert(**values)
    # then
    assert caught.value.errors == errors
    assert ExpectedReceipt.objects.count() == 0


# --- receiving at the dock ------------------------------------------------------------------


def test_receive_a_lot_tracked_item_numbers_a_lot_with_expiry_from_shelf_life(
    inv_world: Any, warehouse_user: Any
) -> None:
    # given: resin has a shelf life of 180 days, 5 % over-receipt tolerance
    w = inv_world
    w.resin.receipt_over_tolerance_pct = Decimal("5")
    w.resin.save()
    receipt = _expect(w.resin, "100")
    # when: 104 kg arrive with the supplier's lot
    received = receipt_receive(
        receipt=receipt, quantity="104", actor=warehouse_user, supplier_lot="SUP-42"
    )
    # then
    lot = Lot.objects.get(number=f"L-{receipt.number}")
    assert (lot.item, lot.supplier_lot, lot.supplier, lot.received_on, lot.expiry_date) == (
        w.resin,
        "SUP-42",
        "Resin GmbH",
        _today(),
        _today() + dt.timedelta(days=180),
    )
    assert (received.state, received.quantity_received, received.lot, received.location) == (
        "received",
        Decimal("104"),
        lot,
        w.receiving,
    )
    assert w.balance(w.resin, w.receiving, lot).on_hand == Decimal("104")
    move = StockMove.objects.get(type=MoveType.RECEIPT, document_type="receipt")
    assert (move.document_ref, move.partner, move.actor, move.to_location) == (
        receipt.number,
        "Resin GmbH",
        warehouse_user,
        w.receiving,
    )
    log = TransitionLog.objects.get(object_id=receipt.pk, transition="receive")
    assert (log.from_state, log.to_state, log.actor) == ("expected", "received", warehouse_user)
    event = Event.objects.get(type="receipt.received")
    assert event.payload["short"] is False
    assert (event.payload["lot"], event.payload["quantity"]) == (lot.number, 104.0)


def test_receive_with_a_given_lot_and_expiry(inv_world: Any, warehouse_user: Any) -> None:
    # given
    w = inv_world
    receipt = _expect(w.resin, "50")
    expiry = _today() + dt.timedelta(days=20)
    # when
    receipt_receive(
        receipt=receipt,
        quantity="50",
        actor=warehouse_user,
        lot_number="R-777",
        supplier_lot="SUP-1",
        expiry_date=expiry,
    )
    # then
    lot = Lot.objects.get(number="R-777")
    assert (lot.expiry_date, lot.supplier_lot) == (expiry, "SUP-1")


def test_an_untracked_item_goes_to_its_default_receiving_location(
    inv_world: Any, warehouse_user: Any
) -> None:
    # given: a second dock is the bolt's default
    w = inv_world
    dock2 = Location.objects.create(
        code="RCV-02", name="Dock 2", type=Location.Type.RECEIVING, barcode="LOC-RCV-02"
    )
    w.bolt.default_receiving_location = dock2
    w.bolt.save()
    receipt = _expect(w.bolt, "100")
    # when
    received = receipt_receive(receipt=receipt, quantity="100", actor=warehouse_user)
    # then
    assert (received.location, received.lot) == (dock2, None)
    assert w.balance(w.bolt, dock2).on_hand == Decimal("100")
    assert w.balance(w.bolt, w.receiving) is None


def test_serial_tracked_goods_take_one_serial_per_piece(
    inv_world: Any, warehouse_user: Any
) -> None:
    # given
    w = inv_world
    receipt = _expect(w.motor, "2")
    # when
    receipt_receive(receipt=receipt, quantity="2", actor=warehouse_user, lot_number="SN-9 SN-10")
    # then
    serials = Lot.objects.filter(item=w.motor, number__in=["SN-9", "SN-10"])
    assert sorted(s.is_serial for s in serials) == [True, True]
    assert sorted(
        StockBalance.objects.filter(item=w.motor).values_list("lot__number", "on_hand")
    ) == [("SN-10", Decimal("1")), ("SN-9", Decimal("1"))]


def test_over_the_tolerance_is_refused_with_the_allowed_range(
    inv_world: Any, warehouse_user: Any
) -> None:
    # given: 10 % over, 5 % under
    w = inv_world
    w.bolt.receipt_over_tolerance_pct = Decimal("10")
    w.bolt.receipt_under_tolerance_pct = Decimal("5")
    w.bolt.save()
    receipt = _expect(w.bolt, "100")
    before = _snapshot(receipt)
    # when
    with pytest.raises(ValidationFailed) as caught:
        receipt_receive(receipt=receipt, quantity="111", actor=warehouse_user)
    # then
    assert caught.value.message == (
        f"{receipt.number} expects 100 pcs: 111 is over the tolerance. Allowed: 95 to 110 pcs."
    )
    assert caught.value.field == "quantity"
    assert _snapshot(receipt) == before
    # and the edge of the tolerance is accepted
    assert receipt_receive(receipt=receipt, quantity="110", actor=warehouse_user).state == (
        "received"
    )


def test_a_short_delivery_needs_a_note(inv_world: Any, warehouse_user: Any) -> None:
    # given
    w = inv_world
    receipt = _expect(w.bolt, "100")
    before = _snapshot(receipt)
    # when: 60 of 100 arrive, no note
    with pytest.raises(ValidationFailed) as caught:
        receipt_receive(receipt=receipt, quantity="60", actor=warehouse_user)
    # then: refused, the range named, nothing changed
    assert "Allowed: 100 to 100 pcs" not in caught.value.message
    assert "(allowed: 100 to 100 pcs)" in caught.value.message
    assert "say why in the note" in caught.value.message
    assert _snapshot(receipt) == before
    # when: with a note it is taken in and flagged short
    received = receipt_receive(
        receipt=receipt, quantity="60", actor=warehouse_user, note="rest follows next week"
    )
    # then
    assert (received.state, received.quantity_received) == ("received", Decimal("60"))
    event = Event.objects.get(type="receipt.received")
    assert (event.payload["short"], event.payload["missing_quantity"]) == (True, 40.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "100", "expiry_date": dt.date(2000, 1, 1)}, "expiry_date"),
        ({"quantity": "100", "lot_number": "R-001"}, "lot_number"),
        ({"quantity": "100", "location_code": "STK-A1"}, "location"),
    ],
)
def test_bad_input_at_the_dock_changes_nothing(
    inv_world: Any, warehouse_user: Any, kwargs: dict[str, Any], field: str
) -> None:
    # given
    w = inv_world
    receipt = _expect(w.resin, "100")
    before = _snapshot(receipt)
    if "location_code" in kwargs:
        kwargs["location"] = w.locations[kwargs.pop("location_code")]
    # when
    with pytest.raises(ValidationFailed) as caught:
        receipt_receive(receipt=receipt, actor=warehouse_user, **kwargs)
    # then
    assert field in caught.value.errors
    assert _snapshot(receipt) == before


def test_a_shipping_clerk_may_not_receive(inv_world: Any, shipping_user: Any) -> None:
    # given
    receipt = _expect(inv_world.bolt, "100")
    before = _snapshot(receipt)
    # when
    with pytest.raises(NotPermitted):
        receipt_receive(receipt=receipt, quantity="100", actor=shipping_user)
    # then
    assert _snapshot(receipt) == before


def test_receiving_twice_is_an_illegal_transition(inv_world: Any, warehouse_user: Any) -> None:
    # given
    receipt = _expect(inv_world.bolt, "100")
    receipt_receive(receipt=receipt, quantity="100", actor=warehouse_user)
    before = _snapshot(receipt)
    # when
    with pytest.raises(IllegalTransition) as caught:
        receipt_receive(receipt=receipt, quantity="100", actor=warehouse_user)
    # then
    assert caught.value.allowed == ["inspect", "reject"]
    assert "Allowed now: inspect, reject." in caught.value.message
    assert _snapshot(receipt) == before


# --- inspection and put-away ------------------------------------------------------------------


def test_inspect_then_put_away_moves_the_lot_into_stock(
    inv_world: Any, warehouse_user: Any, quality_user: Any
) -> None:
    # given
    w = inv_world
    receipt = receipt_receive(receipt=_expect(w.resin, "100"), quantity="100", actor=warehouse_user)
    # when
    inspected = receipt_inspect(receipt=receipt, actor=quality_user, accepted=True, note="ok")
    stored = receipt_put_away(receipt=inspected, to_location=w.stock, actor=warehouse_user)
    # then
    assert (inspected.state, inspected.inspection_note) == ("inspected", "ok")
    assert (stored.state, stored.location) == ("put_away", w.stock)
    assert w.balance(w.resin, w.receiving, receipt.lot).on_hand == Decimal("0")
    assert w.balance(w.resin, w.stock, receipt.lot).on_hand == Decimal("100")
    move = StockMove.objects.get(type=MoveType.PUT_AWAY)
    assert (move.from_location, move.to_location, move.document_ref, move.lot) == (
        w.receiving,
        w.stock,
        receipt.number,
        receipt.lot,
    )
    assert list(
        TransitionLog.objects.filter(object_id=receipt.pk)
        .order_by("id")
        .values_list("transition", flat=True)
    ) == ["receive", "inspect", "put_away"]


def test_put_away_before_inspection_names_what_is_allowed(
    inv_world: Any, warehouse_user: Any
) -> None:
    # given
    w = inv_world
    receipt = receipt_receive(receipt=_expect(w.bolt, "100"), quantity="100", actor=warehouse_user)
    before = _snapshot(receipt)
    # when
    with pytest.raises(IllegalTransition) as caught:
        receipt_put_away(receipt=receipt, to_location=w.stock, actor=warehouse_user)
    # then
    assert caught.value.allowed == ["inspect", "reject"]
    assert _snapshot(receipt) == before


def test_put_away_into_quarantine_or_shipping_is_refused(
    inv_world: Any, warehouse_user: Any
) -> None:
    # given
    w = inv_world
    receipt = receipt_receive(receipt=_expect(w.bolt, "100"), quantity="100", actor=warehouse_user)
    receipt = receipt_inspect(receipt=receipt, actor=warehouse_user, accepted=True)
    before = _snapshot(receipt)
    for target in (w.quarantine, w.shipping):
        # when
        with pytest.raises(ValidationFailed) as caught:
            receipt_put_away(receipt=receipt, to_location=target, actor=warehouse_user)
        # then
        assert caught.value.field == "to_location"
        assert _snapshot(receipt) == before


def test_reject_moves_the_goods_to_quarantine(
    inv_world: Any, warehouse_user: Any, quality_user: Any
) -> None:
    # given
    w = inv_world
    receipt = receipt_receive(receipt=_expect(w.resin, "100"), quantity="100", actor=warehouse_user)
    before = _snapshot(receipt)
    # when: no reason given
    with pytest.raises(ValidationFailed) as caught:
        receipt_inspect(receipt=receipt, actor=quality_user, accepted=False, note="cracked")
    # then
    assert caught.value.errors == {"reason_code": ["Give the reason for the rejection."]}
    assert _snapshot(receipt) == before
    # when: with a reason
    rejected = receipt_inspect(
        receipt=receipt,
        actor=quality_user,
        accepted=False,
        note="cracked drums",
        reason_code="supplier-defect",
    )
    # then
    assert (rejected.state, rejected.location) == ("rejected", w.quarantine)
    assert w.balance(w.resin, w.receiving, receipt.lot).on_hand == Decimal("0")
    assert w.balance(w.resin, w.quarantine, receipt.lot).on_hand == Decimal("100")
    move = StockMove.objects.get(to_location=w.quarantine)
    assert (move.reason_code.code, move.note) == ("supplier-defect", "cracked drums")
    event = Event.objects.get(type="receipt.rejected")
    assert (event.payload["reason"], event.payload["location"]) == ("supplier-defect", "QRN-01")
    log = TransitionLog.objects.get(object_id=receipt.pk, transition="reject")
    assert log.reason_code.code == "supplier-defect"
    # and a rejected receipt is done with
    with pytest.raises(IllegalTransition) as illegal:
        receipt_put_away(receipt=rejected, to_location=w.stock, actor=warehouse_user)
    assert illegal.value.allowed == []


def test_a_planner_may_not_inspect(inv_world: Any, warehouse_user: Any, stock_planner: Any) -> None:
    # given
    receipt = receipt_receive(
        receipt=_expect(inv_world.bolt, "100"), quantity="100", actor=warehouse_user
    )
    before = _snapshot(receipt)
    # when
    with pytest.raises(NotPermitted):
        receipt_inspect(receipt=receipt, actor=stock_planner, accepted=True)
    # then
    assert _snapshot(receipt) == before


# --- scanning a receipt -------------------------------------------------------------------


def test_receipt_by_scan_finds_number_po_or_item(inv_world: Any) -> None:
    # given: two open receipts of the PO, the later one first
    w = inv_world
    late = _expect(w.bolt, "10", external_id="A", expected_date=_today() + dt.timedelta(days=9))
    early = _expect(w.resin, "10", external_id="B", expected_date=_today() + dt.timedelta(days=1))
    # then
    assert receipt_by_scan(code=late.number.lower()) == late
    assert receipt_by_scan(code=" PO-1 ") == early
    assert receipt_by_scan(code="BOLT-M8") == late
    assert receipt_by_scan(code="NOPE") is None
    assert receipt_by_scan(code="") is None
