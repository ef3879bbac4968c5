"""Work orders and material: explicit issue, backflush (staged first, then free
line-side stock), production output as a new lot with its genealogy, WIP; holds on the
work order or a lot refuse it all, and every refusal changes nothing."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from inventory.models import (
    Item,
    Lot,
    LotGenealogy,
    MoveType,
    Reservation,
    StockBalance,
    StockMove,
)
from inventory.services.counts import stock_scrap
from inventory.services.holds import hold_place
from inventory.services.kits import kit_create, kit_pick, kit_stage
from inventory.services.ledger import StockUnavailable, move_reverse
from inventory.services.production import (
    production_receive,
    work_order_backflush,
    work_order_issue,
)
from inventory.services.reservations import reserve
from inventory.trace import work_order_wip
from mes.core.errors import NotPermitted, ValidationFailed
from mes.core.models import Event

pytestmark = pytest.mark.django_db

WO_ID, WO_REF = 700, "WO-000700"


@pytest.fixture
def plant(inv_world: SimpleNamespace) -> SimpleNamespace:
    """Bolts and both good resin lots in stock; a lot-tracked panel made from them."""
    w = inv_world
    w.stock_in(w.bolt, w.stock, 20)
    w.stock_in(w.resin, w.stock, 10, lot=w.lot_old)
    w.stock_in(w.resin, w.stock, 10, lot=w.lot_new)
    w.panel = Item.objects.create(
        sku="PANEL-1", name="Panel", tracking=Item.Tracking.LOT, shelf_life_days=365
    )
    return w


def _snapshot() -> tuple[Any, ...]:
    return (
        StockMove.objects.count(),
        sorted(
            StockBalance.objects.values_list(
                "item_id", "location_id", "lot_id", "on_hand", "reserved"
            )
        ),
        sorted(Reservation.objects.values_list("id", "location_id", "quantity_consumed", "state")),
        Lot.objects.count(),
        LotGenealogy.objects.count(),
    )


def _issue(w: SimpleNamespace, actor: Any, item: Any, qty: Any, lot: Any = None) -> StockMove:
    return work_order_issue(
        work_order_id=WO_ID,
        work_order_ref=WO_REF,
        item=item,
        quantity=qty,
        from_location=w.stock,
        actor=actor,
        lot=lot,
    )


# --- explicit issue -----------------------------------------------------------------------


def test_issue_books_the_move_on_the_work_order(
    plant: SimpleNamespace, warehouse_user: Any
) -> None:
    # given
    w = plant
    # when
    move = _issue(w, warehouse_user, w.resin, "3", lot=w.lot_old)
    # then
    assert (move.type, move.document_type, move.document_id, move.document_ref) == (
        MoveType.ISSUE,
        "work_order",
        WO_ID,
        WO_REF,
    )
    assert (move.from_location, move.to_location, move.lot) == (w.stock, None, w.lot_old)
    assert w.balance(w.resin, w.stock, w.lot_old).on_hand == Decimal("7")


def test_issue_consumes_the_work_orders_own_reservation(
    plant: SimpleNamespace, warehouse_user: Any
) -> None:
    # given: 15 of the 20 bolts reserved for the work order: only 5 free
    w = plant
    (reservation,) = reserve(
        item=w.bolt,
        quantity=15,
        demand_type="work_order",
        demand_id=WO_ID,
        demand_ref=WO_REF,
        actor=warehouse_user,
    ).reservations
    # when: 12 issued
    _issue(w, warehouse_user, w.bolt, 12)
    # then: out of the reservation, the free stock untouched
    reservation.refresh_from_db()
    assert (reservation.quantity_consumed, reservation.state) == (Decimal("12"), "active")
    balance = w.balance(w.bolt, w.stock)
    assert (balance.on_hand, balance.reserved, balance.available) == (
        Decimal("8"),
        Decimal("3"),
        Decimal("5"),
    )


@pytest.mark.parametrize(
    ("what", "error"),
    [
        ("above available", StockUnavailable),
        ("expired lot", StockUnavailable),
        ("held lot", StockUnavailable),
        ("no lot", ValidationFailed),
        ("zero", ValidationFailed),
    ],
)
def test_issue_refuses_bad_input(
    plant: SimpleNamespace, warehouse_user: Any, quality_user: Any, what: str, error: type
) -> None:
    # given
    w = plant
    w.stock_in(w.resin, w.stock, 5, lot=w.lot_expired)
    if what == "held lot":
        hold_place(
            scope="lot", actor=quality_user, reason_code="quality", note="odd colour", lot=w.lot_new
        )
    cases = {
        "above available": (w.resin, "11", w.lot_old),
        "expired lot": (w.resin, "1", w.lot_expired),
        "held lot": (w.resin, "1", w.lot_new),
        "no lot": (w.resin, "1", None),
        "zero": (w.bolt, "0", None),
    }
    item, qty, lot = cases[what]
    before = _snapshot()
    # when
    with pytest.raises(error):
        _issue(w, warehouse_user, item, qty, lot=lot)
    # then
    assert _snapshot() == before


def test_a_planner_may_not_issue(plant: SimpleNamespace, stock_planner: Any) -> None:
    before = _snapshot()
    with pytest.raises(NotPermitted):
        _issue(plant, stock_planner, plant.bolt, 1)
    assert _snapshot() == before


def test_a_work_order_hold_blocks_issue_and_production(
    plant: SimpleNamespace, warehouse_user: Any, quality_user: Any
) -> None:
    # given
    w = plant
    hold = hold_place(
        scope="work_order",
        actor=quality_user,
        reason_code="quality",
        note="first article failed",
        work_order_id=WO_ID,
        work_order_ref=WO_REF,
    )
    before = _snapshot()
    # when / then
    for attempt in (
        lambda: _issue(w, warehouse_user, w.bolt, 1),
        lambda: production_receive(
            work_order_id=WO_ID,
            work_order_ref=WO_REF,
            item=w.panel,
            quantity=1,
            to_location=w.stock,
            actor=warehouse_user,
        ),
    ):
        with pytest.raises(StockUnavailable) as caught:
            attempt()
        assert caught.value.message == (
            f"Quality hold {hold.number} applies to {WO_REF}: first article failed"
        )
        assert _snapshot() == before


# --- backflush ------------------------------------------------------------------------------


def test_backflush_takes_staged_stock_first_then_free_line_side_stock(
    plant: SimpleNamespace, warehouse_user: Any
) -> None:
    # given: bolts are backflushed; 12 staged at the line for the work order, 10 free there
    w = plant
    w.bolt.backflush = True
    w.bolt.save()
    kit = kit_create(
        work_order_id=WO_ID,
        work_order_ref=WO_REF,
        staging_location=w.line_side,
        components=[(w.bolt, Decimal("12"))],
        actor=warehouse_user,
    )
    kit_pick(
        kit=kit, actor=warehouse_user, location_code="STK-A1", item_code="BOLT-M8", quantity=12
    )
    kit_stage(kit=kit, actor=warehouse_user)
    w.stock_in(w.bolt, w.line_side, 10)
    # when: the operation used 15 bolts and 2 kg resin (resin is not backflushed)
    moves = work_order_backflush(
        work_order_id=WO_ID,
        work_order_ref=WO_REF,
        components=[(w.bolt, Decimal("15")), (w.resin, Decimal("2"))],
        actor=warehouse_user,
    )
    # then
    assert [(m.item.sku, m.quantity, m.from_location.code) for m in moves] == [
        ("BOLT-M8", Decimal("12"), "LS-01"),
        ("BOLT-M8", Decimal("3"), "LS-01"),
    ]
    assert Reservation.objects.get(staged=True).state == "consumed"
    balance = w.balance(w.bolt, w.line_side)
    assert (balance.on_hand, balance.reserved) == (Decimal("7"), Decimal("0"))


def test_backflush_short_at_the_line_books_nothing(
    plant: SimpleNamespace, warehouse_user: Any
) -> None:
    # given: 4 bolts at the line
    w = plant
    w.bolt.backflush = True
    w.bolt.save()
    w.stock_in(w.bolt, w.line_side, 4)
    before = _snapshot()
    # when
    with pytest.raises(StockUnavailable) as caught:
        work_order_backflush(
            work_order_id=WO_ID,
            work_order_ref=WO_REF,
            components=[(w.bolt, Decimal("6"))],
            actor=warehouse_user,
        )
    # then
    assert caught.value.message == (
        f"Backflush of {WO_REF} is short 2 pcs of BOLT-M8 at the line: stage or move it there "
        "first."
    )
    assert _snapshot() == before


# --- production output ------------------------------------------------------------------------


def test_production_receive_makes_a_lot_linked_to_the_issued_lots(
    plant: SimpleNamespace, warehouse_user: Any
) -> None:
    # given: 3 + 1 kg of R-001 and 2 kg of R-002 issued, and bolts (untracked)
    w = plant
    _issue(w, warehouse_user, w.resin, "3", lot=w.lot_old)
    _issue(w, warehouse_user, w.resin, "1", lot=w.lot_old)
    _issue(w, warehouse_user, w.resin, "2", lot=w.lot_new)
    _issue(w, warehouse_user, w.bolt, "8")
    # when
    lot = production_receive(
        work_order_id=WO_ID,
        work_order_ref=WO_REF,
        item=w.panel,
        quantity="10",
        to_location=w.stock,
        actor=warehouse_user,
    )
    # then
    assert lot is not None
    assert (lot.number, lot.produced_by_ref, lot.expiry_date is not None) == (WO_REF, WO_REF, True)
    assert sorted(
        LotGenealogy.objects.filter(produced=lot).values_list(
            "consumed__number", "quantity", "work_order_ref"
        )
    ) == [("R-001", Decimal("4"), WO_REF), ("R-002", Decimal("2"), WO_REF)]
    move = StockMove.objects.get(type=MoveType.PRODUCTION)
    assert (move.to_location, move.lot, move.quantity, move.document_id) == (
        w.stock,
        lot,
        Decimal("10"),
        WO_ID,
    )
    assert Event.objects.get(type="production.received").payload["lot"] == WO_REF
    # and the next output of the same work order is a lot of its own
    second = production_receive(
        work_order_id=WO_ID,
        work_order_ref=WO_REF,
        item=w.panel,
        quantity="5",
        to_location=w.stock,
        actor=warehouse_user,
    )
    assert second is not None
    assert second.number == f"{WO_REF}-2"


def test_production_of_an_untracked_item_has_no_lot(
    plant: SimpleNamespace, warehouse_user: Any
) -> None:
    # when
    lot = production_receive(
        work_order_id=WO_ID,
        work_order_ref=WO_REF,
        item=plant.bolt,
        quantity="5",
        to_location=plant.wip,
        actor=warehouse_user,
    )
    # then
    assert lot is None
    assert plant.balance(plant.bolt, plant.wip).on_hand == Decimal("5")


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"lot_number": "R-001", "item": "resin"}, "lot_number"),
        ({"lot_number": "X-1", "item": "bolt"}, "lot_number"),
        ({"to_location": "site"}, "to_location"),
        ({"quantity": "-3"}, "quantity"),
    ],
)
def test_production_receive_refuses_bad_input(
    plant: SimpleNamespace, warehouse_user: Any, kw: dict[str, Any], field: str
) -> None:
    # given
    w = plant
    values: dict[str, Any] = {
        "work_order_id": WO_ID,
        "work_order_ref": WO_REF,
        "item": w.panel,
        "quantity": "1",
        "to_location": w.stock,
        "actor": warehouse_user,
    }
    values.update(kw)
    if isinstance(values["item"], str):
        values["item"] = getattr(w, values["item"])
    if values["to_location"] == "site":
        values["to_location"] = w.site
    before = _snapshot()
    # when
    with pytest.raises(ValidationFailed) as caught:
        production_receive(**values)
    # then
    assert field in caught.value.errors
    assert _snapshot() == before


def test_a_quality_inspector_may_not_receive_production(
    plant: SimpleNamespace, quality_user: Any
) -> None:
    before = _snapshot()
    with pytest.raises(NotPermitted):
        production_receive(
            work_order_id=WO_ID,
            work_order_ref=WO_REF,
            item=plant.panel,
            quantity="1",
            to_location=plant.stock,
            actor=quality_user,
        )
    assert _snapshot() == before


# --- WIP -------------------------------------------------------------------------------------


def test_wip_shows_issued_produced_and_scrapped_net_of_reversals(
    plant: SimpleNamespace, warehouse_user: Any, django_assert_num_queries: Any
) -> None:
    # given: resin and bolts issued (one bolt issue reversed), output, scrap
    w = plant
    _issue(w, warehouse_user, w.resin, "3", lot=w.lot_old)
    _issue(w, warehouse_user, w.bolt, "6")
    wrong = _issue(w, warehouse_user, w.bolt, "2")
    move_reverse(move=wrong, actor=warehouse_user, reason_code="mis-post", note="booked twice")
    lot = production_receive(
        work_order_id=WO_ID,
        work_order_ref=WO_REF,
        item=w.panel,
        quantity="9",
        to_location=w.stock,
        actor=warehouse_user,
    )
    assert lot is not None
    stock_scrap(
        item=w.panel,
        location=w.stock,
        quantity="1",
        actor=warehouse_user,
        reason_code="process-scrap",
        lot=lot,
        work_order_id=WO_ID,
        work_order_ref=WO_REF,
    )
    # when
    with django_assert_num_queries(1):
        wip = work_order_wip(work_order_id=WO_ID)
    # then
    assert [(e["sku"], e["lot"], e["quantity"]) for e in wip["issued"]] == [
        ("BOLT-M8", "", Decimal("6")),
        ("RESIN-7", "R-001", Decimal("3")),
    ]
    assert [(e["sku"], e["lot"], e["quantity"]) for e in wip["produced"]] == [
        ("PANEL-1", WO_REF, Decimal("9"))
    ]
    assert [(e["sku"], e["quantity"]) for e in wip["scrapped"]] == [("PANEL-1", Decimal("1"))]
    assert wip["produced_quantity"] == Decimal("9")
    assert work_order_wip(work_order_id=999)["issued"] == []
