"""Cycle counts, adjustments, transfers and scrap: governed where they must be, refused
with nothing changed on bad input."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import CycleCount, MoveType, StockMove
from inventory.selectors import item_ledger, ledger_differences
from inventory.services.counts import cycle_count_record, stock_adjust, stock_scrap, stock_transfer
from inventory.services.ledger import StockUnavailable
from inventory.services.reservations import reserve
from mes.core.errors import NotPermitted, ValidationFailed

from .test_ledger import snapshot

D = Decimal


# --- cycle counts -----------------------------------------------------------------------


def test_a_count_equal_to_the_system_books_no_move(inv_world, warehouse_lead):
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    # when
    count = cycle_count_record(
        item=inv_world.bolt, location=inv_world.stock, counted_quantity="10", actor=warehouse_lead
    )
    # then
    assert (count.system_quantity, count.counted_quantity, count.adjustment) == (10, 10, None)
    assert count.counted_by == warehouse_lead
    assert StockMove.objects.count() == 1


def test_a_different_count_books_an_adjustment_with_its_reason(inv_world, warehouse_lead):
    w = inv_world
    w.stock_in(w.resin, w.stock, "10.5", lot=w.lot_new)
    # when: less found
    less = cycle_count_record(
        item=w.resin,
        location=w.stock,
        lot=w.lot_new,
        counted_quantity="8.25",
        actor=warehouse_lead,
        reason_code="data-correction",
        note="drum leaked",
    )
    # then
    move = less.adjustment
    assert (move.type, move.quantity, move.from_location, move.to_location) == (
        "adjustment",
        D("2.25"),
        w.stock,
        None,
    )
    assert (move.reason_code.code, move.note, move.document_type) == (
        "data-correction",
        "drum leaked",
        "cycle_count",
    )
    assert move.document_id == less.pk
    assert w.balance(w.resin, w.stock, w.lot_new).on_hand == D("8.25")
    # and more found, somewhere with no balance yet
    more = cycle_count_record(
        item=w.resin,
        location=w.stock2,
        lot=w.lot_new,
        counted_quantity=3,
        actor=warehouse_lead,
        reason_code="other",
    )
    assert (more.system_quantity, more.adjustment.to_location, more.adjustment.quantity) == (
        0,
        w.stock2,
        3,
    )
    assert "3 counted, 0 booked" in more.adjustment.note
    assert ledger_differences() == []


def test_a_count_needs_a_warehouse_lead(inv_world, warehouse_user):
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    before = snapshot()
    with pytest.raises(NotPermitted, match="warehouse lead"):
        cycle_count_record(
            item=inv_world.bolt,
            location=inv_world.stock,
            counted_quantity=9,
            actor=warehouse_user,
            reason_code="other",
        )
    assert snapshot() == before
    assert CycleCount.objects.count() == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"counted_quantity": 9}, "reason_code"),
        ({"counted_quantity": 9, "reason_code": "no-such"}, "reason_code"),
        ({"counted_quantity": -1, "reason_code": "other"}, "counted_quantity"),
        ({"counted_quantity": "lots", "reason_code": "other"}, "counted_quantity"),
        ({"counted_quantity": "9.0001", "reason_code": "other"}, "counted_quantity"),
    ],
)
def test_a_count_with_bad_input_is_refused(inv_world, warehouse_lead, kwargs, field):
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    before = snapshot()
    with pytest.raises(ValidationFailed) as caught:
        cycle_count_record(
            item=inv_world.bolt, location=inv_world.stock, actor=warehouse_lead, **kwargs
        )
    assert field in caught.value.errors
    assert snapshot() == before
    assert CycleCount.objects.count() == 0


def test_a_count_below_the_reserved_quantity_is_refused(inv_world, warehouse_lead):
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    reserve(
        item=inv_world.bolt,
        quantity=8,
        demand_type="work_order",
        demand_id=1,
        demand_ref="WO-1",
        actor=warehouse_lead,
    )
    before = snapshot()
    with pytest.raises(StockUnavailable, match="8 pcs are reserved: release them first"):
        cycle_count_record(
            item=inv_world.bolt,
            location=inv_world.stock,
            counted_quantity=1,
            actor=warehouse_lead,
            reason_code="other",
        )
    assert snapshot() == before
    assert CycleCount.objects.count() == 0


def test_a_count_of_a_tracked_item_names_its_lot(inv_world, warehouse_lead):
    with pytest.raises(ValidationFailed, match="lot-tracked"):
        cycle_count_record(
            item=inv_world.resin, location=inv_world.stock, counted_quantity=0, actor=warehouse_lead
        )
    with pytest.raises(ValidationFailed, match="belongs to another item"):
        cycle_count_record(
            item=inv_world.bolt,
            location=inv_world.stock,
            lot=inv_world.lot_new,
            counted_quantity=0,
            actor=warehouse_lead,
        )
    assert CycleCount.objects.count() == 0


# --- adjustments ------------------------------------------------------------------------


def test_an_adjustment_moves_by_the_signed_quantity(inv_world, warehouse_lead):
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    down = stock_adjust(
        item=w.bolt,
        location=w.stock,
        quantity_delta="-4",
        actor=warehouse_lead,
        reason_code="data-correction",
        note="found broken",
    )
    up = stock_adjust(
        item=w.bolt,
        location=w.stock,
        quantity_delta=D("1.5"),
        actor=warehouse_lead,
        reason_code="other",
        note="found behind the rack",
    )
    assert (down.from_location, down.quantity, up.to_location, up.quantity) == (
        w.stock,
        4,
        w.stock,
        D("1.5"),
    )
    assert w.balance(w.bolt, w.stock).on_hand == D("7.5")
    assert [m.type for m in item_ledger(item=w.bolt)] == ["adjustment", "adjustment", "receipt"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"quantity_delta": 0}, "quantity_delta"),
        ({"quantity_delta": "x"}, "quantity_delta"),
        ({"quantity_delta": "0.0001"}, "quantity_delta"),
        ({"note": ""}, "note"),
        ({"reason_code": None}, "reason_code"),
        ({"quantity_delta": -11}, "quantity"),
    ],
)
def test_an_adjustment_with_bad_input_is_refused(inv_world, warehouse_lead, kwargs, field):
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    before = snapshot()
    args = {"quantity_delta": -1, "reason_code": "other", "note": "why", **kwargs}
    with pytest.raises((ValidationFailed, StockUnavailable)) as caught:
        stock_adjust(item=inv_world.bolt, location=inv_world.stock, actor=warehouse_lead, **args)
    assert field in caught.value.errors
    assert snapshot() == before


def test_an_adjustment_needs_a_warehouse_lead(inv_world, warehouse_user):
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    before = snapshot()
    with pytest.raises(NotPermitted):
        stock_adjust(
            item=inv_world.bolt,
            location=inv_world.stock,
            quantity_delta=5,
            actor=warehouse_user,
            reason_code="other",
            note="why",
        )
    assert snapshot() == before


# --- transfers and scrap ----------------------------------------------------------------


def test_transfer_and_put_away(inv_world, warehouse_user):
    w = inv_world
    w.stock_in(w.bolt, w.receiving, 10)
    put = stock_transfer(
        item=w.bolt,
        from_location=w.receiving,
        to_location=w.stock,
        quantity=10,
        actor=warehouse_user,
        type=MoveType.PUT_AWAY,
    )
    moved = stock_transfer(
        item=w.bolt, from_location=w.stock, to_location=w.stock2, quantity=3, actor=warehouse_user
    )
    assert (put.type, moved.type) == ("put_away", "transfer")
    assert w.balance(w.bolt, w.stock2).on_hand == 3
    assert ledger_differences() == []


def test_transfer_refuses_bad_input_and_wrong_role(inv_world, warehouse_user, quality_user):
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    before = snapshot()
    base = {
        "item": w.bolt,
        "from_location": w.stock,
        "to_location": w.stock2,
        "quantity": 1,
        "actor": warehouse_user,
    }
    with pytest.raises(NotPermitted):
        stock_transfer(**{**base, "actor": quality_user})
    with pytest.raises(ValidationFailed, match="booked as"):
        stock_transfer(**{**base, "type": MoveType.SHIPMENT})
    with pytest.raises(StockUnavailable, match="Only 10"):
        stock_transfer(**{**base, "quantity": 11})
    with pytest.raises(ValidationFailed, match="same location"):
        stock_transfer(**{**base, "to_location": w.stock})
    assert snapshot() == before


def test_scrap_with_a_reason_against_a_work_order(inv_world, warehouse_user, quality_user):
    w = inv_world
    w.stock_in(w.bolt, w.line_side, 10)
    before = snapshot()
    with pytest.raises(ValidationFailed, match="Choose a reason code"):
        stock_scrap(
            item=w.bolt, location=w.line_side, quantity=2, actor=warehouse_user, reason_code=""
        )
    with pytest.raises(NotPermitted):
        stock_scrap(
            item=w.bolt, location=w.line_side, quantity=2, actor=quality_user, reason_code="quality"
        )
    assert snapshot() == before
    move = stock_scrap(
        item=w.bolt,
        location=w.line_side,
        quantity=2,
        actor=warehouse_user,
        reason_code="quality",
        note="dropped",
        work_order_id=5,
        work_order_ref="WO-5",
    )
    assert (move.type, move.document_type, move.document_ref, move.to_location) == (
        "scrap",
        "work_order",
        "WO-5",
        None,
    )
    assert w.balance(w.bolt, w.line_side).on_hand == 8
