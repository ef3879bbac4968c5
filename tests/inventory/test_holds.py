"""Quality holds: placed and released by Quality with a reason, announced as events, and
refused everywhere stock is used; expired and quarantined stock is refused too."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from inventory.models import MoveType, QualityHold, StockBalance
from inventory.selectors import balances, holds_for_work_order, holds_list, item_balance_summary
from inventory.services.counts import stock_scrap, stock_transfer
from inventory.services.holds import hold_place, hold_release
from inventory.services.ledger import StockUnavailable, move_post, stock_blockers
from inventory.services.reservations import reservable_balances, reserve
from mes.core.errors import IllegalTransition, NotPermitted, ValidationFailed
from mes.core.models import Event

from .test_ledger import snapshot


def hold_lot(world, actor, lot=None, note="contaminated"):
    return hold_place(
        scope="lot", lot=lot or world.lot_old, actor=actor, reason_code="quality", note=note
    )


def events(type_: str) -> list[Event]:
    return list(Event.objects.filter(type=type_))


# --- placing and releasing --------------------------------------------------------------


def test_placing_a_lot_hold_numbers_it_and_emits_an_event(inv_world, quality_user):
    w = inv_world
    w.stock_in(w.resin, w.stock, 5, lot=w.lot_old)
    before = list(StockBalance.objects.values_list("location_id", "on_hand"))
    # when
    hold = hold_lot(w, quality_user)
    # then
    assert hold.number.startswith("QH-")
    assert (hold.state, hold.placed_by, hold.reason_code.code) == (
        "active",
        quality_user,
        "quality",
    )
    (event,) = events("quality.hold_placed")
    assert event.object_id == hold.pk
    assert event.content_type.model == "qualityhold"
    assert event.payload["hold"] == hold.number
    assert event.payload["reason"] == "quality"
    assert event.payload["scope"] == "lot"
    assert event.payload["lot"] == "R-001"
    assert event.payload["note"] == "contaminated"
    # placing a hold moves no stock
    assert list(StockBalance.objects.values_list("location_id", "on_hand")) == before
    assert list(holds_list()) == [hold]


def test_location_and_work_order_holds(inv_world, quality_user):
    location_hold = hold_place(
        scope="location",
        location=inv_world.stock,
        actor=quality_user,
        reason_code="quality",
        note="roof leak",
    )
    order_hold = hold_place(
        scope="work_order",
        work_order_id=42,
        work_order_ref="WO-42",
        actor=quality_user,
        reason_code="quality",
        note="first article failed",
    )
    payloads = [e.payload for e in events("quality.hold_placed")]
    assert payloads[0]["location"] == "STK-A1"
    assert payloads[1]["work_order"] == "WO-42"
    assert location_hold.covers == "STK-A1"
    assert holds_for_work_order(work_order_id=42) == [order_hold]
    assert holds_for_work_order(work_order_id=43) == []


def test_releasing_a_hold_emits_an_event_and_frees_the_stock(inv_world, quality_user):
    w = inv_world
    w.stock_in(w.resin, w.stock, 5, lot=w.lot_old)
    hold = hold_lot(w, quality_user)
    assert stock_blockers(item=w.resin, location=w.stock, lot=w.lot_old)
    # when
    released = hold_release(
        hold=hold, actor=quality_user, reason_code="quality", note="lab says fine"
    )
    # then
    assert (released.state, released.released_by, released.release_note) == (
        "released",
        quality_user,
        "lab says fine",
    )
    (event,) = events("quality.hold_released")
    assert event.payload["hold"] == hold.number
    assert event.payload["scope"] == "lot"
    assert stock_blockers(item=w.resin, location=w.stock, lot=w.lot_old) == []
    assert list(holds_list()) == []
    with pytest.raises(IllegalTransition, match="already released"):
        hold_release(hold=hold, actor=quality_user, reason_code="quality", note="again")


def test_holds_need_the_quality_role(inv_world, quality_user, warehouse_lead):
    with pytest.raises(NotPermitted):
        hold_lot(inv_world, warehouse_lead)
    hold = hold_lot(inv_world, quality_user)
    with pytest.raises(NotPermitted):
        hold_release(hold=hold, actor=warehouse_lead, reason_code="quality", note="fine")
    assert QualityHold.objects.get().state == "active"
    assert len(events("quality.hold_placed")) == 1
    assert events("quality.hold_released") == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scope": "lot", "note": ""}, "note"),
        ({"scope": "lot", "reason_code": None}, "reason_code"),
        ({"scope": "lot", "reason_code": "no-such"}, "reason_code"),
        ({"scope": "location"}, "location"),
        ({"scope": "work_order"}, "work_order"),
        ({"scope": "shelf"}, "scope"),
    ],
)
def test_a_hold_without_reason_or_subject_is_refused(inv_world, quality_user, kwargs, field):
    args = {
        "lot": inv_world.lot_old,
        "actor": quality_user,
        "reason_code": "quality",
        "note": "smells",
        **kwargs,
    }
    if kwargs["scope"] != "lot":
        args["lot"] = None
    with pytest.raises(ValidationFailed) as caught:
        hold_place(**args)
    assert field in caught.value.errors
    assert QualityHold.objects.count() == 0
    assert events("quality.hold_placed") == []


def test_a_hold_names_only_what_its_scope_says(inv_world, quality_user):
    with pytest.raises(ValidationFailed) as caught:
        hold_place(
            scope="lot",
            lot=inv_world.lot_old,
            location=inv_world.stock,
            actor=quality_user,
            reason_code="quality",
            note="x",
        )
    assert "location" in caught.value.errors


def test_release_needs_a_reason(inv_world, quality_user):
    hold = hold_lot(inv_world, quality_user)
    with pytest.raises(ValidationFailed, match="Say why"):
        hold_release(hold=hold, actor=quality_user, reason_code="quality", note=" ")
    with pytest.raises(ValidationFailed, match="Choose a reason code"):
        hold_release(hold=hold, actor=quality_user, reason_code="", note="ok")
    assert QualityHold.objects.get().state == "active"


# --- held stock refused everywhere ------------------------------------------------------


USES = [MoveType.PICK, MoveType.ISSUE, MoveType.SHIPMENT]


def _use(world, actor, type_, *, item, lot=None, location=None):
    return move_post(
        type=type_,
        item=item,
        quantity=1,
        actor=actor,
        from_location=location or world.stock,
        to_location=world.staging if type_ == MoveType.PICK else None,
        lot=lot,
    )


@pytest.mark.parametrize("type_", USES)
def test_a_held_lot_is_not_reserved_picked_issued_or_shipped(
    inv_world, warehouse_user, quality_user, type_
):
    w = inv_world
    w.stock_in(w.resin, w.stock, 5, lot=w.lot_old)
    hold = hold_lot(w, quality_user)
    before = snapshot()
    with pytest.raises(StockUnavailable, match=f"Quality hold {hold.number} applies: contaminated"):
        _use(w, warehouse_user, type_, item=w.resin, lot=w.lot_old)
    outcome = reserve(
        item=w.resin,
        quantity=1,
        demand_type="work_order",
        demand_id=1,
        demand_ref="WO-1",
        actor=warehouse_user,
        emit_shortage=False,
    )
    assert outcome.reserved == 0
    assert snapshot() == before


@pytest.mark.parametrize("type_", USES)
def test_a_held_location_is_not_used_and_its_stock_stays_there(
    inv_world, warehouse_user, quality_user, type_
):
    w = inv_world
    w.stock_in(w.bolt, w.stock, 5)
    hold = hold_place(
        scope="location", location=w.stock, actor=quality_user, reason_code="quality", note="leak"
    )
    before = snapshot()
    with pytest.raises(StockUnavailable, match=hold.number):
        _use(w, warehouse_user, type_, item=w.bolt)
    assert list(reservable_balances(item=w.bolt)) == []
    # moving it elsewhere would escape the hold; to quarantine it may go
    with pytest.raises(StockUnavailable, match=f"{hold.number} applies to STK-A1"):
        stock_transfer(
            item=w.bolt,
            from_location=w.stock,
            to_location=w.stock2,
            quantity=1,
            actor=warehouse_user,
        )
    assert snapshot() == before
    stock_transfer(
        item=w.bolt,
        from_location=w.stock,
        to_location=w.quarantine,
        quantity=1,
        actor=warehouse_user,
    )
    assert w.balance(w.bolt, w.quarantine).on_hand == 1


def test_a_held_work_order_gets_no_material_and_books_no_output(
    inv_world, warehouse_user, quality_user
):
    w = inv_world
    w.stock_in(w.bolt, w.stock, 5)
    hold = hold_place(
        scope="work_order",
        work_order_id=42,
        work_order_ref="WO-42",
        actor=quality_user,
        reason_code="quality",
        note="first article failed",
    )
    before = snapshot()
    document = {"document_type": "work_order", "document_id": 42, "document_ref": "WO-42"}
    with pytest.raises(StockUnavailable, match=hold.number):
        move_post(
            type=MoveType.ISSUE,
            item=w.bolt,
            quantity=1,
            actor=warehouse_user,
            from_location=w.stock,
            **document,
        )
    with pytest.raises(StockUnavailable, match=hold.number):
        move_post(
            type=MoveType.PRODUCTION,
            item=w.bolt,
            quantity=1,
            actor=warehouse_user,
            to_location=w.wip,
            **document,
        )
    assert snapshot() == before
    # other work orders are not affected
    move_post(
        type=MoveType.ISSUE,
        item=w.bolt,
        quantity=1,
        actor=warehouse_user,
        from_location=w.stock,
        document_type="work_order",
        document_id=43,
    )


def test_held_stock_may_be_scrapped(inv_world, warehouse_user, quality_user):
    w = inv_world
    w.stock_in(w.resin, w.stock, 5, lot=w.lot_old)
    hold_lot(w, quality_user)
    stock_scrap(
        item=w.resin,
        location=w.stock,
        quantity=5,
        lot=w.lot_old,
        actor=warehouse_user,
        reason_code="quality",
    )
    assert w.balance(w.resin, w.stock, w.lot_old).on_hand == 0


@pytest.mark.parametrize("type_", USES)
def test_an_expired_lot_is_not_used(inv_world, warehouse_user, type_):
    w = inv_world
    w.stock_in(w.resin, w.stock, 5, lot=w.lot_expired)
    before = snapshot()
    with pytest.raises(StockUnavailable, match="Lot R-000 expired on"):
        _use(w, warehouse_user, type_, item=w.resin, lot=w.lot_expired)
    assert list(reservable_balances(item=w.resin)) == []
    assert snapshot() == before


@pytest.mark.parametrize("type_", USES)
def test_quarantined_stock_is_not_used(inv_world, warehouse_user, type_):
    w = inv_world
    w.stock_in(w.bolt, w.quarantine, 5)
    before = snapshot()
    with pytest.raises(StockUnavailable, match="QRN-01 is a quarantine location"):
        _use(w, warehouse_user, type_, item=w.bolt, location=w.quarantine)
    assert list(reservable_balances(item=w.bolt)) == []
    assert snapshot() == before


def test_only_quality_takes_stock_out_of_quarantine(inv_world, warehouse_user, quality_user):
    w = inv_world
    w.stock_in(w.bolt, w.quarantine, 5)
    quality_user.user_permissions.add(Permission.objects.get(codename="add_stockmove"))
    with pytest.raises(NotPermitted, match="only Quality"):
        stock_transfer(
            item=w.bolt,
            from_location=w.quarantine,
            to_location=w.stock,
            quantity=1,
            actor=warehouse_user,
        )
    quality = type(quality_user).objects.get(pk=quality_user.pk)
    stock_transfer(
        item=w.bolt, from_location=w.quarantine, to_location=w.stock, quantity=1, actor=quality
    )
    assert w.balance(w.bolt, w.stock).on_hand == 1


def test_selectors_flag_blocked_stock(inv_world, quality_user):
    w = inv_world
    w.stock_in(w.resin, w.stock, 5, lot=w.lot_old)
    w.stock_in(w.resin, w.stock, 7, lot=w.lot_new)
    w.stock_in(w.resin, w.stock, 2, lot=w.lot_expired)
    w.stock_in(w.resin, w.quarantine, 3, lot=w.lot_new)
    hold_lot(w, quality_user)
    rows = {(b.location.code, b.lot.number): (b.held, b.blocked) for b in balances(item=w.resin)}
    assert rows == {
        ("STK-A1", "R-000"): (False, True),
        ("STK-A1", "R-001"): (True, True),
        ("STK-A1", "R-002"): (False, False),
        ("QRN-01", "R-002"): (False, True),
    }
    assert [b.lot.number for b in balances(item=w.resin, available_only=True)] == ["R-002"]
    summary = item_balance_summary(item=w.resin)
    assert summary["on_hand"] == 17
    assert summary["blocked"] == 10
    assert summary["usable_available"] == 7
    assert summary["locations"] == 2
