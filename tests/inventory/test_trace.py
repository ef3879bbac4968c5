"""Genealogy: trace a lot backward to the supplier lots and their receipts, forward to
the work orders, the lots they made and the shipments with their customers; a fixed
number of queries however deep the tree."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from inventory.models import Item, Lot, MoveType
from inventory.services.ledger import move_post
from inventory.services.production import production_receive, work_order_issue
from inventory.trace import trace_backward, trace_forward

pytestmark = pytest.mark.django_db

TRACE_QUERIES = 3


def _supplier_lot(w: SimpleNamespace, number: str, actor: Any) -> Lot:
    lot = Lot.objects.create(item=w.resin, number=number, supplier="Resin GmbH")
    move_post(
        type=MoveType.RECEIPT,
        item=w.resin,
        quantity=10,
        actor=actor,
        to_location=w.stock,
        lot=lot,
        document_type="receipt",
        document_ref=f"RC-{number}",
        partner="Resin GmbH",
    )
    return lot


def _make(
    w: SimpleNamespace, actor: Any, level: int, inputs: list[tuple[Lot, str]], item: Item
) -> Lot:
    """Work order `level` consumes the inputs and makes one lot of `item`."""
    for lot, quantity in inputs:
        work_order_issue(
            work_order_id=level,
            work_order_ref=f"WO-{level}",
            item=lot.item,
            quantity=quantity,
            from_location=w.stock,
            actor=actor,
            lot=lot,
        )
    made = production_receive(
        work_order_id=level,
        work_order_ref=f"WO-{level}",
        item=item,
        quantity="5",
        to_location=w.stock,
        actor=actor,
    )
    assert made is not None
    return made


def _chain(w: SimpleNamespace, actor: Any, levels: int) -> tuple[Lot, Lot, list[Lot]]:
    """Each level consumes the level below and one fresh supplier lot: the first supplier
    lot and the top lot, and all supplier lots."""
    first = _supplier_lot(w, "S-1", actor)
    suppliers = [first]
    below = first
    for level in range(1, levels + 1):
        item = Item.objects.create(sku=f"LVL-{level}", name=f"Level {level}", tracking="lot")
        inputs = [(below, "2")]
        if level > 1:
            extra = _supplier_lot(w, f"S-{level}", actor)
            suppliers.append(extra)
            inputs.append((extra, "1"))
        below = _make(w, actor, level, inputs, item)
    return first, below, suppliers


def test_backward_reaches_the_supplier_lots_and_their_receipts(
    inv_world: SimpleNamespace, warehouse_user: Any
) -> None:
    # given: S-1 -> WO-1 -> LVL-1 lot; LVL-1 lot + S-2 -> WO-2 -> LVL-2 lot
    first, top, _suppliers = _chain(inv_world, warehouse_user, 2)
    # when
    nodes = trace_backward(lot=top)
    # then: depth first from the finished lot
    assert [(n.depth, n.sku, n.lot_number, n.quantity, n.work_order_ref) for n in nodes] == [
        (0, "LVL-2", "WO-2", None, ""),
        (1, "LVL-1", "WO-1", Decimal("2"), "WO-2"),
        (2, "RESIN-7", "S-1", Decimal("2"), "WO-1"),
        (1, "RESIN-7", "S-2", Decimal("1"), "WO-2"),
    ]
    supplier = nodes[2]
    assert supplier.lot == first
    assert [(r["document"], r["supplier"], r["quantity"]) for r in supplier.receipts] == [
        ("RC-S-1", "Resin GmbH", Decimal("10"))
    ]
    assert nodes[1].parent_lot_id == top.pk


def test_forward_reaches_work_orders_lots_and_shipments(
    inv_world: SimpleNamespace, warehouse_user: Any
) -> None:
    # given: the two-level chain, and the top lot shipped to a customer
    w = inv_world
    first, top, _suppliers = _chain(w, warehouse_user, 2)
    move_post(
        type=MoveType.SHIPMENT,
        item=top.item,
        quantity=3,
        actor=warehouse_user,
        from_location=w.stock,
        lot=top,
        document_type="shipment",
        document_ref="SH-000001",
        partner="ACME Corp",
    )
    # when
    nodes = trace_forward(lot=first)
    # then
    assert [(n.depth, n.lot_number, n.quantity) for n in nodes] == [
        (0, "S-1", None),
        (1, "WO-1", Decimal("2")),
        (2, "WO-2", Decimal("2")),
    ]
    assert [(c["work_order"], c["quantity"]) for c in nodes[0].consumed_by] == [
        ("WO-1", Decimal("2"))
    ]
    assert [(c["work_order"], c["quantity"]) for c in nodes[1].consumed_by] == [
        ("WO-2", Decimal("2"))
    ]
    assert [(s["document"], s["customer"], s["quantity"]) for s in nodes[2].shipments] == [
        ("SH-000001", "ACME Corp", Decimal("3"))
    ]
    assert nodes[0].shipments == []


def test_a_lot_without_genealogy_is_its_own_trace(
    inv_world: SimpleNamespace, warehouse_user: Any
) -> None:
    lot = _supplier_lot(inv_world, "S-9", warehouse_user)
    assert [(n.depth, n.lot_number) for n in trace_backward(lot=lot)] == [(0, "S-9")]
    assert [(n.depth, n.lot_number) for n in trace_forward(lot=lot)] == [(0, "S-9")]


@pytest.mark.parametrize("levels", [2, 4])
def test_a_trace_takes_the_same_queries_however_deep(
    inv_world: SimpleNamespace,
    warehouse_user: Any,
    django_assert_num_queries: Any,
    levels: int,
) -> None:
    # given: a chain of 2 or 4 production levels
    first, top, suppliers = _chain(inv_world, warehouse_user, levels)
    top = Lot.objects.get(pk=top.pk)
    first = Lot.objects.get(pk=first.pk)
    # when / then: one recursive query, the lots, the moves
    with django_assert_num_queries(TRACE_QUERIES):
        backward = trace_backward(lot=top)
    with django_assert_num_queries(TRACE_QUERIES):
        forward = trace_forward(lot=first)
    # and the whole tree is there
    assert len(backward) == 1 + levels + (levels - 1)
    assert {n.lot.pk for n in backward if not n.lot.item.sku.startswith("LVL")} == {
        s.pk for s in suppliers
    }
    assert [n.depth for n in forward] == list(range(levels + 1))
    assert forward[-1].lot == top
