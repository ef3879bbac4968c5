"""Property: after any sequence of moves, reservations, releases, holds and reversals,
refused ones included, the balances agree with the ledger and the reservations, nothing
is negative, nothing is reserved beyond what is on hand, and a refused step changed
nothing. A small fixed world: 2 items x 3 locations x 2 lots."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.models import MoveType, QualityHold, Reservation, StockBalance, StockMove
from inventory.selectors import ledger_differences
from inventory.services.counts import stock_adjust
from inventory.services.holds import hold_place, hold_release
from inventory.services.ledger import move_post, move_reverse
from inventory.services.reservations import reservation_release, reserve
from mes.core.errors import DomainError

from .test_ledger import snapshot

GOOD = [Decimal(q) for q in ("0.5", "1", "2", "3.25", "5", "10")]
BAD = [Decimal("0"), Decimal("-1"), "1.0001", "abc"]
quantities = st.sampled_from(GOOD * 4 + BAD)
# Item and lot: mostly right, sometimes a lot on the untracked item or none on the tracked.
stock = st.sampled_from(
    [("bolt", None)] * 4 + [("resin", 0), ("resin", 1)] * 2 + [("bolt", 1), ("resin", None)]
)
places = st.integers(0, 2)
pick_any = st.integers(0, 50)

operations = st.one_of(
    st.tuples(st.just("receipt"), stock, places, quantities),
    st.tuples(st.just("transfer"), stock, places, places, quantities),
    st.tuples(st.just("pick"), stock, places, places, quantities),
    st.tuples(st.just("issue"), stock, places, quantities),
    st.tuples(st.just("scrap"), stock, places, quantities),
    st.tuples(st.just("adjust"), stock, places, quantities, st.booleans()),
    st.tuples(st.just("reserve"), st.sampled_from(["bolt", "resin"]), quantities),
    st.tuples(st.just("release"), pick_any),
    st.tuples(st.just("consume"), pick_any, quantities, st.sampled_from([None, 0, 1, 2])),
    st.tuples(st.just("reverse"), pick_any),
    st.tuples(st.just("hold"), st.booleans(), places, st.sampled_from([0, 1])),
    st.tuples(st.just("unhold"), pick_any),
)


def _check_books() -> None:
    assert ledger_differences() == []
    assert not StockBalance.objects.filter(on_hand__lt=0).exists()
    assert not StockBalance.objects.filter(reserved__lt=0).exists()
    assert not StockBalance.objects.filter(reserved__gt=F("on_hand")).exists()


def test_ledger_and_balances_agree_after_any_sequence(
    inv_world, warehouse_user, warehouse_lead, quality_user
):
    w = inv_world
    world_items = {"bolt": w.bolt, "resin": w.resin}
    world_places = [w.stock, w.stock2, w.staging]
    world_lots = [w.lot_old, w.lot_new]

    def lot_of(index: int | None) -> Any:
        return None if index is None else world_lots[index]

    for place in world_places:  # every example starts from this stock
        w.stock_in(w.bolt, place, 20)
        for lot in world_lots:
            w.stock_in(w.resin, place, 10, lot=lot)

    def apply(op: tuple, moves: list[StockMove]) -> None:  # noqa: C901, PLR0912
        kind, *args = op
        if kind == "receipt":
            (item, lot), to, qty = args
            moves.append(w.stock_in(world_items[item], world_places[to], qty, lot=lot_of(lot)))
        elif kind in {"transfer", "pick"}:
            (item, lot), src, dst, qty = args
            moves.append(
                move_post(
                    type=MoveType.TRANSFER if kind == "transfer" else MoveType.PICK,
                    item=world_items[item],
                    quantity=qty,
                    actor=warehouse_user,
                    from_location=world_places[src],
                    to_location=world_places[dst],
                    lot=lot_of(lot),
                )
            )
        elif kind in {"issue", "scrap"}:
            (item, lot), src, qty = args
            moves.append(
                move_post(
                    type=MoveType.ISSUE if kind == "issue" else MoveType.SCRAP,
                    item=world_items[item],
                    quantity=qty,
                    actor=warehouse_user,
                    from_location=world_places[src],
                    lot=lot_of(lot),
                    reason_code="other" if kind == "scrap" else None,
                )
            )
        elif kind == "adjust":
            (item, lot), where, qty, down = args
            delta = -qty if down and isinstance(qty, Decimal) else qty
            moves.append(
                stock_adjust(
                    item=world_items[item],
                    location=world_places[where],
                    quantity_delta=delta,
                    actor=warehouse_lead,
                    reason_code="data-correction",
                    note="property test",
                    lot=lot_of(lot),
                )
            )
        elif kind == "reserve":
            item, qty = args
            reserve(
                item=world_items[item],
                quantity=qty,
                demand_type="work_order",
                demand_id=len(moves) + 1,
                demand_ref=f"WO-{len(moves) + 1}",
                actor=warehouse_user,
                emit_shortage=False,
            )
        elif kind in {"release", "consume"}:
            reservations = list(Reservation.objects.order_by("pk"))
            if not reservations:
                return
            reservation = reservations[args[0] % len(reservations)]
            if kind == "release":
                reservation_release(reservation=reservation, actor=warehouse_lead)
                return
            qty, dst = args[1], args[2]
            moves.append(
                move_post(
                    type=MoveType.ISSUE if dst is None else MoveType.PICK,
                    item=reservation.item,
                    quantity=qty,
                    actor=warehouse_user,
                    from_location=reservation.location,
                    to_location=None if dst is None else world_places[dst],
                    lot=reservation.lot,
                    reservation=reservation,
                )
            )
        elif kind == "reverse":
            if moves:
                moves.append(
                    move_reverse(
                        move=moves[args[0] % len(moves)],
                        actor=warehouse_lead,
                        reason_code="data-correction",
                        note="property test",
                    )
                )
        elif kind == "hold":
            on_lot, where, lot = args
            hold_place(
                scope="lot" if on_lot else "location",
                lot=world_lots[lot] if on_lot else None,
                location=None if on_lot else world_places[where],
                actor=quality_user,
                reason_code="quality",
                note="property test",
            )
        elif kind == "unhold":
            holds = list(QualityHold.objects.order_by("pk"))
            if holds:
                hold_release(
                    hold=holds[args[0] % len(holds)],
                    actor=quality_user,
                    reason_code="quality",
                    note="property test",
                )

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(operations, min_size=1, max_size=25))
    def run(ops: list[tuple]) -> None:
        savepoint = transaction.savepoint()
        try:
            moves: list[StockMove] = []
            for op in ops:
                before = snapshot()
                try:
                    apply(op, moves)
                except DomainError:
                    assert snapshot() == before, op
            _check_books()
        finally:
            transaction.savepoint_rollback(savepoint)

    run()
