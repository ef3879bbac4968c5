"""The stock ledger: each move type's effect on balances, append-only, reversals, bad input
refused with nothing changed, serial rules, and the database's own checks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from inventory.models import MoveType, Reservation, StockBalance, StockMove
from inventory.selectors import ledger_differences
from inventory.services.ledger import StockUnavailable, move_post, move_reverse
from inventory.services.reservations import reserve
from mes.core.errors import Conflict, ValidationFailed

D = Decimal


def snapshot() -> tuple[list[tuple], int, list[tuple]]:
    """Everything a move may change: balances, the ledger, reservations."""
    return (
        list(
            StockBalance.objects.order_by("pk").values_list(
                "item_id", "location_id", "lot_id", "on_hand", "reserved"
            )
        ),
        StockMove.objects.count(),
        list(
            Reservation.objects.order_by("pk").values_list(
                "location_id", "quantity", "quantity_consumed", "state"
            )
        ),
    )


def on_hand(world, item, location, lot=None) -> Decimal:
    row = world.balance(item, location, lot)
    return row.on_hand if row else D("0")


def post(world, actor, **kwargs):
    kwargs.setdefault("item", world.bolt)
    return move_post(actor=actor, **kwargs)


# --- each move type ---------------------------------------------------------------------


def test_receipt_creates_the_balance_and_one_ledger_line(inv_world, warehouse_user):
    # when
    move = post(
        inv_world,
        warehouse_user,
        type=MoveType.RECEIPT,
        quantity="12.5",
        to_location=inv_world.stock,
    )
    # then
    balance = inv_world.balance(inv_world.bolt, inv_world.stock)
    assert (balance.on_hand, balance.reserved, balance.available) == (D("12.5"), 0, D("12.5"))
    assert move.quantity == D("12.5")
    assert move.actor == warehouse_user
    assert list(StockMove.objects.values_list("type", flat=True)) == ["receipt"]
    assert ledger_differences() == []


@pytest.mark.parametrize("type_", [MoveType.PUT_AWAY, MoveType.TRANSFER, MoveType.PICK])
def test_internal_moves_take_from_one_balance_and_put_into_another(
    inv_world, warehouse_user, type_
):
    # given
    inv_world.stock_in(inv_world.bolt, inv_world.receiving, 10)
    # when
    post(
        inv_world,
        warehouse_user,
        type=type_,
        quantity=4,
        from_location=inv_world.receiving,
        to_location=inv_world.stock,
    )
    # then
    assert on_hand(inv_world, inv_world.bolt, inv_world.receiving) == 6
    assert on_hand(inv_world, inv_world.bolt, inv_world.stock) == 4
    assert ledger_differences() == []


@pytest.mark.parametrize(
    "type_", [MoveType.ISSUE, MoveType.SCRAP, MoveType.SHIPMENT, MoveType.ADJUSTMENT]
)
def test_moves_out_of_the_plant_lower_on_hand(inv_world, warehouse_user, type_):
    # given
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    # when
    post(inv_world, warehouse_user, type=type_, quantity=3, from_location=inv_world.stock)
    # then
    assert on_hand(inv_world, inv_world.bolt, inv_world.stock) == 7
    assert ledger_differences() == []


def test_production_output_adds_a_lot(inv_world, warehouse_user):
    # when
    post(
        inv_world,
        warehouse_user,
        item=inv_world.resin,
        type=MoveType.PRODUCTION,
        quantity=5,
        to_location=inv_world.wip,
        lot=inv_world.lot_new,
    )
    # then
    assert on_hand(inv_world, inv_world.resin, inv_world.wip, inv_world.lot_new) == 5


def test_issue_with_a_reservation_consumes_it(inv_world, warehouse_user):
    # given
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    outcome = reserve(
        item=inv_world.bolt,
        quantity=6,
        demand_type="work_order",
        demand_id=1,
        demand_ref="WO-1",
        actor=warehouse_user,
    )
    reservation = outcome.reservations[0]
    # when
    post(
        inv_world,
        warehouse_user,
        type=MoveType.ISSUE,
        quantity=6,
        from_location=inv_world.stock,
        reservation=reservation,
    )
    # then
    reservation.refresh_from_db()
    balance = inv_world.balance(inv_world.bolt, inv_world.stock)
    assert (balance.on_hand, balance.reserved) == (4, 0)
    assert (reservation.state, reservation.quantity_consumed) == ("consumed", 6)
    assert ledger_differences() == []


def test_a_partial_pick_carries_part_of_the_reservation_along(inv_world, warehouse_user):
    # given
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    reservation = reserve(
        item=inv_world.bolt,
        quantity=6,
        demand_type="work_order",
        demand_id=1,
        demand_ref="WO-1",
        actor=warehouse_user,
    ).reservations[0]
    # when
    move = post(
        inv_world,
        warehouse_user,
        type=MoveType.PICK,
        quantity=2,
        from_location=inv_world.stock,
        to_location=inv_world.staging,
        reservation=reservation,
    )
    # then
    carried = move.carried_reservation
    reservation.refresh_from_db()
    assert (reservation.quantity, carried.quantity, carried.location) == (4, 2, inv_world.staging)
    assert inv_world.balance(inv_world.bolt, inv_world.staging).reserved == 2
    assert inv_world.balance(inv_world.bolt, inv_world.stock).reserved == 4
    assert ledger_differences() == []


def test_reserved_stock_cannot_be_taken_without_its_reservation(inv_world, warehouse_user):
    # given
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    reserve(
        item=inv_world.bolt,
        quantity=8,
        demand_type="work_order",
        demand_id=1,
        demand_ref="WO-1",
        actor=warehouse_user,
    )
    before = snapshot()
    # when / then
    with pytest.raises(StockUnavailable, match="Only 2 pcs of BOLT-M8 @ STK-A1 are available"):
        post(
            inv_world,
            warehouse_user,
            type=MoveType.ISSUE,
            quantity=3,
            from_location=inv_world.stock,
        )
    assert snapshot() == before


# --- append-only and reversals ----------------------------------------------------------


def test_the_ledger_refuses_update_and_delete(inv_world, warehouse_user):
    # given
    move = inv_world.stock_in(inv_world.bolt, inv_world.stock, 5)
    # when / then
    move.quantity = D("50")
    with pytest.raises(TypeError, match="append-only"):
        move.save()
    with pytest.raises(TypeError, match="append-only"):
        move.delete()
    with pytest.raises(TypeError, match="append-only"):
        StockMove.objects.filter(pk=move.pk).update(quantity=50)
    with pytest.raises(TypeError, match="append-only"):
        StockMove.objects.filter(pk=move.pk).delete()
    assert StockMove.objects.get().quantity == 5


def test_reversal_mirrors_the_move_and_keeps_the_original(inv_world, warehouse_lead):
    # given
    inv_world.stock_in(inv_world.bolt, inv_world.receiving, 10)
    move = post(
        inv_world,
        warehouse_lead,
        type=MoveType.TRANSFER,
        quantity=4,
        from_location=inv_world.receiving,
        to_location=inv_world.stock,
    )
    # when
    reversal = move_reverse(
        move=move, actor=warehouse_lead, reason_code="data-correction", note="wrong bin"
    )
    # then
    assert (reversal.type, reversal.reverses, reversal.from_location) == (
        "reversal",
        move,
        inv_world.stock,
    )
    assert on_hand(inv_world, inv_world.bolt, inv_world.receiving) == 10
    assert on_hand(inv_world, inv_world.bolt, inv_world.stock) == 0
    assert StockMove.objects.count() == 3
    assert ledger_differences() == []


def test_double_reversal_is_refused(inv_world, warehouse_lead):
    # given
    move = inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    reversal = move_reverse(move=move, actor=warehouse_lead, reason_code="other", note="typo")
    before = snapshot()
    # when / then
    with pytest.raises(Conflict, match="already reversed"):
        move_reverse(move=move, actor=warehouse_lead, reason_code="other", note="again")
    with pytest.raises(Conflict, match="not reversed again"):
        move_reverse(move=reversal, actor=warehouse_lead, reason_code="other", note="again")
    assert snapshot() == before


def test_reversal_needs_a_reason(inv_world, warehouse_lead):
    move = inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    before = snapshot()
    with pytest.raises(ValidationFailed, match="Say why"):
        move_reverse(move=move, actor=warehouse_lead, reason_code="other", note=" ")
    with pytest.raises(ValidationFailed, match="Unknown reason code"):
        move_reverse(move=move, actor=warehouse_lead, reason_code="nope", note="typo")
    assert snapshot() == before


def test_a_reversal_that_would_go_negative_is_refused(inv_world, warehouse_lead):
    # given: received 10, 8 issued since
    receipt = inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    post(inv_world, warehouse_lead, type=MoveType.ISSUE, quantity=8, from_location=inv_world.stock)
    before = snapshot()
    # when / then
    with pytest.raises(StockUnavailable):
        move_reverse(move=receipt, actor=warehouse_lead, reason_code="other", note="wrong")
    assert snapshot() == before


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (0, "more than zero"),
        (-3, "more than zero"),
        ("ten", "as a number"),
        ("NaN", "more than zero"),
        ("1.2345", "three decimals"),
        ("1e20", "too large"),
        (None, "as a number"),
    ],
)
def test_bad_quantities_are_refused_with_nothing_changed(
    inv_world, warehouse_user, quantity, message
):
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    before = snapshot()
    with pytest.raises(ValidationFailed, match=message) as caught:
        post(
            inv_world,
            warehouse_user,
            type=MoveType.TRANSFER,
            quantity=quantity,
            from_location=inv_world.stock,
            to_location=inv_world.stock2,
        )
    assert caught.value.errors == {"quantity": [caught.value.message]}
    assert snapshot() == before


def test_bad_moves_are_refused_with_nothing_changed(inv_world, warehouse_user):
    w = inv_world
    w.stock_in(w.resin, w.stock, 10, lot=w.lot_old)
    w.stock_in(w.bolt, w.stock, 10)
    before = snapshot()
    cases = [
        ({"item": w.bolt, "lot": w.lot_old}, "belongs to another item"),
        ({"item": w.resin, "lot": None}, "lot-tracked"),
        ({"item": w.bolt, "to_location": w.stock}, "same location"),
        ({"item": w.bolt, "type": "teleport"}, "Unknown move type"),
        ({"item": w.bolt, "from_location": None, "to_location": None}, "comes from or goes to"),
        ({"item": w.bolt, "quantity": 11}, "Only 10 pcs"),
    ]
    for override, message in cases:
        kwargs = {
            "type": MoveType.TRANSFER,
            "quantity": 1,
            "from_location": w.stock,
            "to_location": w.stock2,
            **override,
        }
        with pytest.raises((ValidationFailed, StockUnavailable), match=message):
            move_post(actor=warehouse_user, **kwargs)
        assert snapshot() == before, override


def test_moving_into_an_unused_location_is_refused(inv_world, warehouse_user):
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    inv_world.stock2.active = False
    inv_world.stock2.save()
    before = snapshot()
    with pytest.raises(ValidationFailed, match="not in use"):
        post(
            inv_world,
            warehouse_user,
            type=MoveType.TRANSFER,
            quantity=1,
            from_location=inv_world.stock,
            to_location=inv_world.stock2,
        )
    assert snapshot() == before


def test_an_inactive_item_does_not_move(inv_world, warehouse_user):
    inv_world.bolt.active = False
    inv_world.bolt.save()
    with pytest.raises(ValidationFailed, match="not active"):
        inv_world.stock_in(inv_world.bolt, inv_world.stock, 1)
    assert snapshot() == ([], 0, [])


# --- serials ----------------------------------------------------------------------------


def test_serials_move_one_at_a_time_and_are_received_once(inv_world, warehouse_user):
    w = inv_world
    serial = w.serials[0]
    w.stock_in(w.motor, w.stock, 1, lot=serial)
    before = snapshot()
    with pytest.raises(ValidationFailed, match="one serial number at a time"):
        w.stock_in(w.motor, w.stock, 2, lot=w.serials[1])
    with pytest.raises(ValidationFailed, match="already in stock"):
        w.stock_in(w.motor, w.stock2, 1, lot=serial)
    with pytest.raises(ValidationFailed, match="lot-tracked"):
        w.stock_in(w.motor, w.stock, 1)
    assert snapshot() == before
    # a shipped serial may come back (a return)
    post(
        w,
        warehouse_user,
        item=w.motor,
        type=MoveType.SHIPMENT,
        quantity=1,
        from_location=w.stock,
        lot=serial,
    )
    w.stock_in(w.motor, w.stock, 1, lot=serial)
    assert on_hand(w, w.motor, w.stock, serial) == 1


# --- the database's own checks ----------------------------------------------------------


def _raw_update(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_database_refuses_a_negative_balance(inv_world):
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 5)
    pk = inv_world.balance(inv_world.bolt, inv_world.stock).pk
    table = StockBalance._meta.db_table
    with pytest.raises(IntegrityError):
        _raw_update(f"UPDATE {table} SET on_hand = -1 WHERE id = %s", [pk])  # noqa: S608
    with pytest.raises(IntegrityError):
        _raw_update(f"UPDATE {table} SET reserved = 6 WHERE id = %s", [pk])  # noqa: S608
    with pytest.raises(IntegrityError):
        _raw_update(f"UPDATE {table} SET reserved = -1 WHERE id = %s", [pk])  # noqa: S608
    assert inv_world.balance(inv_world.bolt, inv_world.stock).on_hand == 5


def test_the_database_refuses_a_zero_move(inv_world, warehouse_user):
    with pytest.raises(IntegrityError), transaction.atomic():
        StockMove.objects.create(
            type=MoveType.RECEIPT, item=inv_world.bolt, to_location=inv_world.stock, quantity=0
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        StockMove.objects.create(type=MoveType.RECEIPT, item=inv_world.bolt, quantity=1)
    assert StockMove.objects.count() == 0


def test_one_balance_per_item_location_and_lot(inv_world):
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 5)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockBalance.objects.create(item=inv_world.bolt, location=inv_world.stock, on_hand=1)
