"""Reservations: policy order, shortages, releasing, and moving reserved stock to another
demand (staged stock is locked: only a warehouse lead moves it, with a reason)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from inventory.models import MoveType, Reservation, StockBalance
from inventory.selectors import ledger_differences, reservations_for_demand
from inventory.services.holds import hold_place
from inventory.services.ledger import StockUnavailable, move_post
from inventory.services.reservations import (
    reservation_move,
    reservation_release,
    reservations_release_for_demand,
    reserve,
)
from mes.core.errors import IllegalTransition, NotPermitted, ValidationFailed
from mes.core.models import Event, TransitionLog

from .test_ledger import snapshot

D = Decimal


def reserve_for(world, actor, quantity, *, item=None, demand_id=1, ref=None):
    return reserve(
        item=item or world.bolt,
        quantity=quantity,
        demand_type="work_order",
        demand_id=demand_id,
        demand_ref=ref or f"WO-{demand_id}",
        actor=actor,
    )


def history(reservation: Reservation) -> list[TransitionLog]:
    return list(
        TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(Reservation), object_id=reservation.pk
        )
    )


# --- reserve ----------------------------------------------------------------------------


def test_fefo_reserves_the_first_expiring_usable_lot_first(inv_world, warehouse_user):
    w = inv_world
    w.stock_in(w.resin, w.stock, 5, lot=w.lot_new)
    w.stock_in(w.resin, w.stock, 3, lot=w.lot_old)
    w.stock_in(w.resin, w.stock, 9, lot=w.lot_expired)
    # when
    outcome = reserve_for(w, warehouse_user, 6, item=w.resin)
    # then: the old lot first, then the new one; never the expired one
    assert [(r.lot.number, r.quantity) for r in outcome.reservations] == [
        ("R-001", 3),
        ("R-002", 3),
    ]
    assert (outcome.reserved, outcome.shortfall) == (6, 0)
    assert ledger_differences() == []


def test_a_shortfall_reserves_what_there_is_and_emits_a_shortage(inv_world, warehouse_user):
    w = inv_world
    w.stock_in(w.bolt, w.stock, 4)
    w.stock_in(w.bolt, w.receiving, 50)  # not inspected yet: not reservable
    w.stock_in(w.bolt, w.quarantine, 50)
    # when
    outcome = reserve_for(w, warehouse_user, 10)
    # then
    assert (outcome.reserved, outcome.shortfall) == (4, 6)
    event = Event.objects.get(type="material.shortage")
    assert event.payload["missing_quantity"] == 6
    assert event.payload["demand"] == "WO-1"


# --- release ----------------------------------------------------------------------------


def test_release_frees_the_open_quantity_and_keeps_history(inv_world, warehouse_user):
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    reservation = reserve_for(w, warehouse_user, 6).reservations[0]
    move_post(
        type=MoveType.ISSUE,
        item=w.bolt,
        quantity=2,
        actor=warehouse_user,
        from_location=w.stock,
        reservation=reservation,
    )
    # when
    released = reservation_release(
        reservation=reservation, actor=warehouse_user, reason="order cut"
    )
    # then
    assert released.state == "released"
    balance = w.balance(w.bolt, w.stock)
    assert (balance.on_hand, balance.reserved, balance.available) == (8, 0, 8)
    (log,) = history(reservation)
    assert (log.transition, log.from_state, log.to_state, log.actor) == (
        "release",
        "active",
        "released",
        warehouse_user,
    )
    assert "4 freed" in log.comment
    assert "order cut" in log.comment
    assert ledger_differences() == []


def test_release_twice_is_refused(inv_world, warehouse_user):
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    reservation = reserve_for(inv_world, warehouse_user, 6).reservations[0]
    reservation_release(reservation=reservation, actor=warehouse_user)
    before = snapshot()
    with pytest.raises(IllegalTransition, match="while it is released. Allowed now: none"):
        reservation_release(reservation=reservation, actor=warehouse_user)
    assert snapshot() == before


def test_release_needs_a_stock_role(inv_world, warehouse_user, quality_user):
    inv_world.stock_in(inv_world.bolt, inv_world.stock, 10)
    reservation = reserve_for(inv_world, warehouse_user, 6).reservations[0]
    before = snapshot()
    with pytest.raises(NotPermitted):
        reservation_release(reservation=reservation, actor=quality_user)
    assert snapshot() == before


def staged_reservation(world, actor, quantity=6, demand_id=1):
    """Reserve, pick to staging and lock it there, as a staged kit does."""
    world.stock_in(world.bolt, world.stock, 10)
    reservation = reserve_for(world, actor, quantity, demand_id=demand_id).reservations[0]
    move = move_post(
        type=MoveType.PICK,
        item=world.bolt,
        quantity=quantity,
        actor=actor,
        from_location=world.stock,
        to_location=world.staging,
        reservation=reservation,
    )
    Reservation.objects.filter(pk=move.carried_reservation.pk).update(staged=True)
    return Reservation.objects.get(pk=move.carried_reservation.pk)


def test_a_staged_reservation_is_released_only_by_a_lead_with_a_reason(
    inv_world, warehouse_user, warehouse_lead
):
    staged = staged_reservation(inv_world, warehouse_user)
    before = snapshot()
    with pytest.raises(NotPermitted, match="only a warehouse lead"):
        reservation_release(reservation=staged, actor=warehouse_user, reason="not needed")
    with pytest.raises(ValidationFailed, match="Say why"):
        reservation_release(reservation=staged, actor=warehouse_lead, reason="")
    assert snapshot() == before
    # when
    reservation_release(reservation=staged, actor=warehouse_lead, reason="work order cancelled")
    # then
    assert inv_world.balance(inv_world.bolt, inv_world.staging).available == 6
    assert history(staged)[-1].from_state == "staged"


def test_release_for_demand_frees_all_its_reservations(inv_world, warehouse_user):
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    w.stock_in(w.resin, w.stock, 5, lot=w.lot_old)
    w.stock_in(w.resin, w.stock, 5, lot=w.lot_new)
    reserve_for(w, warehouse_user, 4)
    reserve_for(w, warehouse_user, 7, item=w.resin)
    reserve_for(w, warehouse_user, 2, demand_id=2)
    # when
    released = reservations_release_for_demand(
        demand_type="work_order", demand_id=1, actor=warehouse_user
    )
    # then
    assert released == 3
    assert set(
        reservations_for_demand(demand_type="work_order", demand_id=1).values_list(
            "state", flat=True
        )
    ) == {"released"}
    assert StockBalance.objects.get(item=w.bolt, location=w.stock).reserved == 2
    assert ledger_differences() == []
    assert (
        reservations_release_for_demand(demand_type="work_order", demand_id=1, actor=warehouse_user)
        == 0
    )


# --- move to another demand -------------------------------------------------------------


def test_move_hands_part_of_a_reservation_to_another_demand(inv_world, warehouse_user):
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    reservation = reserve_for(w, warehouse_user, 6).reservations[0]
    # when
    moved = reservation_move(
        reservation=reservation,
        to_demand_type="shipment",
        to_demand_id=7,
        to_demand_ref="SO-7/1",
        actor=warehouse_user,
        reason_code=None,
        note="rush order",
        quantity=2,
    )
    # then
    reservation.refresh_from_db()
    assert (reservation.quantity, reservation.state) == (4, "active")
    assert (moved.quantity, moved.demand_ref, moved.location) == (2, "SO-7/1", w.stock)
    assert w.balance(w.bolt, w.stock).reserved == 6  # still reserved, for two demands
    assert "SO-7/1" in history(reservation)[0].comment
    assert ledger_differences() == []


def test_staged_stock_is_locked_to_its_work_order(inv_world, warehouse_user, warehouse_lead):
    w = inv_world
    staged = staged_reservation(w, warehouse_user)
    other = reserve_for(w, warehouse_user, 4, demand_id=2).reservations[0]
    before = snapshot()
    # another demand cannot take it: not with its own reservation, not without one
    with pytest.raises(ValidationFailed, match="not what reservation"):
        move_post(
            type=MoveType.ISSUE,
            item=w.bolt,
            quantity=1,
            actor=warehouse_user,
            from_location=w.staging,
            reservation=other,
            document_ref="WO-2",
        )
    with pytest.raises(StockUnavailable, match="Only 0 pcs"):
        move_post(
            type=MoveType.ISSUE,
            item=w.bolt,
            quantity=1,
            actor=warehouse_user,
            from_location=w.staging,
        )
    # a clerk may not move it to the other demand; a lead needs a reason code and a note
    move = {
        "reservation": staged,
        "to_demand_type": "work_order",
        "to_demand_id": 2,
        "to_demand_ref": "WO-2",
    }
    with pytest.raises(NotPermitted, match="only a warehouse lead"):
        reservation_move(**move, actor=warehouse_user, reason_code="expedite", note="rush")
    with pytest.raises(ValidationFailed) as caught:
        reservation_move(**move, actor=warehouse_lead, reason_code="expedite", note="")
    assert "note" in caught.value.errors
    with pytest.raises(ValidationFailed, match="Choose a reason code"):
        reservation_move(**move, actor=warehouse_lead, reason_code=None, note="rush")
    assert snapshot() == before
    # when
    moved = reservation_move(**move, actor=warehouse_lead, reason_code="expedite", note="rush")
    # then
    staged.refresh_from_db()
    assert staged.state == "released"
    assert (moved.demand_ref, moved.quantity, moved.staged) == ("WO-2", 6, False)
    (log,) = history(staged)
    assert (log.transition, log.from_state, log.reason_code.code, log.actor) == (
        "move",
        "staged",
        "expedite",
        warehouse_lead,
    )
    assert "rush" in log.comment
    # and WO-2 may now issue it
    move_post(
        type=MoveType.ISSUE,
        item=w.bolt,
        quantity=6,
        actor=warehouse_user,
        from_location=w.staging,
        reservation=moved,
    )
    assert ledger_differences() == []


def test_move_refuses_bad_input_with_nothing_changed(
    inv_world, warehouse_user, warehouse_lead, quality_user
):
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    reservation = reserve_for(w, warehouse_user, 6).reservations[0]
    before = snapshot()
    base = {
        "reservation": reservation,
        "to_demand_type": "work_order",
        "to_demand_id": 2,
        "to_demand_ref": "WO-2",
        "actor": warehouse_user,
        "reason_code": None,
        "note": "",
    }
    for override, error in [
        ({"quantity": 7}, "Only 6 are reserved"),
        ({"quantity": 0}, "more than zero"),
        ({"to_demand_id": 1, "to_demand_ref": "WO-1"}, "already reserved for WO-1"),
        ({"to_demand_type": "party"}, "cannot be moved"),
        ({"to_demand_ref": " "}, "cannot be moved"),
    ]:
        with pytest.raises(ValidationFailed, match=error):
            reservation_move(**{**base, **override})
    with pytest.raises(NotPermitted):
        reservation_move(**{**base, "actor": quality_user})
    assert snapshot() == before
    hold_place(
        scope="location",
        location=w.stock,
        actor=quality_user,
        reason_code="quality",
        note="water damage",
    )
    with pytest.raises(StockUnavailable, match="QH-"):
        reservation_move(**base)
    reservation_release(reservation=reservation, actor=warehouse_lead)
    with pytest.raises(IllegalTransition, match="Allowed now: none"):
        reservation_move(**base)
