"""Genealogy and WIP reads.

A trace walks the genealogy edges with ONE recursive query (standard `WITH RECURSIVE`,
which SQLite and Postgres both run), then loads the lots and the moves that matter in one
query each: three queries however deep the tree. Backward ends at supplier lots (their
receipts); forward reaches the work orders that consumed a lot, the lots they made and
the shipments (moves of type shipment: document and customer).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Sum

from .models import Lot, LotGenealogy, MoveType, StockMove
from .services.ledger import WORK_ORDER_DOCUMENT

# Deeper than any real bill of materials; stops a corrupt (cyclic) genealogy.
TRACE_MAX_DEPTH = 50
_THOUSANDTH = Decimal("0.001")


@dataclass
class TraceNode:
    """One lot in a trace: `depth` 0 is the lot traced; `parent_lot_id` is the lot it
    was reached from; the edge's quantity and work order say how they are linked."""

    lot: Lot
    depth: int
    parent_lot_id: int | None = None
    quantity: Decimal | None = None
    work_order_id: int | None = None
    work_order_ref: str = ""
    receipts: list[dict[str, Any]] = field(default_factory=list)
    consumed_by: list[dict[str, Any]] = field(default_factory=list)
    shipments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def lot_number(self) -> str:
        return self.lot.number

    @property
    def sku(self) -> str:
        return self.lot.item.sku

    @property
    def supplier(self) -> str:
        return self.lot.supplier

    @property
    def supplier_lot(self) -> str:
        return self.lot.supplier_lot


@dataclass(frozen=True)
class _Edge:
    id: int
    lot_id: int  # the lot this edge leads to
    parent_id: int  # the lot it starts from
    quantity: Decimal
    work_order_id: int | None
    work_order_ref: str


def _edges(lot_id: int, *, backward: bool) -> list[_Edge]:
    """Every genealogy edge reachable from the lot, in one recursive query."""
    meta = LotGenealogy._meta
    q = connection.ops.quote_name
    table = q(meta.db_table)
    produced = q(meta.get_field("produced").column)
    consumed = q(meta.get_field("consumed").column)
    # Backward: from a produced lot to what it consumed; forward the other way round.
    near, far = (produced, consumed) if backward else (consumed, produced)
    rest = ", ".join(
        f"g.{q(meta.get_field(name).column)}"
        for name in ("quantity", "work_order_id", "work_order_ref")
    )
    columns = f"g.{q(meta.pk.column)}, g.{far}, g.{near}, {rest}"
    # Identifiers come from the model's meta (quoted), values are parameters.
    sql = (
        "WITH RECURSIVE tree (edge_id, lot_id, parent_id, quantity, work_order_id, "  # noqa: S608
        "work_order_ref, depth) AS ("
        f" SELECT {columns}, 1 FROM {table} g WHERE g.{near} = %s"
        " UNION ALL"
        f" SELECT {columns}, t.depth + 1 FROM {table} g"
        f" JOIN tree t ON g.{near} = t.lot_id WHERE t.depth < %s"
        ") SELECT DISTINCT edge_id, lot_id, parent_id, quantity, work_order_id, work_order_ref"
        " FROM tree"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [lot_id, TRACE_MAX_DEPTH])
        rows = cursor.fetchall()
    return [
        _Edge(
            id=row[0],
            lot_id=row[1],
            parent_id=row[2],
            quantity=Decimal(str(row[3])).quantize(_THOUSANDTH),
            work_order_id=row[4],
            work_order_ref=row[5] or "",
        )
        for row in sorted(rows, key=lambda r: r[0])
    ]


def _tree(root: Lot, edges: list[_Edge], lots: dict[int, Lot]) -> list[TraceNode]:
    """Depth first from the root; a lot reached along two paths shows under both."""
    children: dict[int, list[_Edge]] = defaultdict(list)
    for edge in edges:
        children[edge.parent_id].append(edge)
    nodes = [TraceNode(lot=lots[root.pk], depth=0)]

    def walk(lot_id: int, depth: int, path: frozenset[int]) -> None:
        for edge in children.get(lot_id, []):
            if edge.lot_id in path or depth > TRACE_MAX_DEPTH:
                continue
            nodes.append(
                TraceNode(
                    lot=lots[edge.lot_id],
                    depth=depth,
                    parent_lot_id=lot_id,
                    quantity=edge.quantity,
                    work_order_id=edge.work_order_id,
                    work_order_ref=edge.work_order_ref,
                )
            )
            walk(edge.lot_id, depth + 1, path | {edge.lot_id})

    walk(root.pk, 1, frozenset({root.pk}))
    return nodes


def _load(root: Lot, *, backward: bool) -> tuple[list[TraceNode], set[int]]:
    edges = _edges(root.pk, backward=backward)
    ids = {root.pk} | {edge.lot_id for edge in edges}
    lots = Lot.objects.select_related("item").in_bulk(ids)
    return _tree(root, edges, lots), ids


def trace_backward(*, lot: Lot) -> list[TraceNode]:
    """What went into the lot, down to the supplier lots and their receipts."""
    nodes, ids = _load(lot, backward=True)
    receipts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for move in StockMove.objects.filter(
        lot_id__in=ids, type=MoveType.RECEIPT, reversed_by__isnull=True
    ).order_by("occurred_at", "id"):
        receipts[move.lot_id].append(
            {
                "document": move.document_ref,
                "supplier": move.partner,
                "quantity": move.quantity,
                "at": move.occurred_at,
            }
        )
    for node in nodes:
        node.receipts = receipts.get(node.lot.pk, [])
    return nodes


def trace_forward(*, lot: Lot) -> list[TraceNode]:
    """Where the lot went: the work orders that consumed it, the lots they made, and
    the shipments (with the customer) of any of them."""
    nodes, ids = _load(lot, backward=False)
    consumed: dict[int, dict[tuple[int | None, str], Decimal]] = defaultdict(dict)
    shipments: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for move in StockMove.objects.filter(
        lot_id__in=ids,
        type__in=[MoveType.ISSUE, MoveType.SHIPMENT],
        reversed_by__isnull=True,
    ).order_by("occurred_at", "id"):
        if move.type == MoveType.SHIPMENT:
            shipments[move.lot_id].append(
                {
                    "document": move.document_ref,
                    "customer": move.partner,
                    "quantity": move.quantity,
                    "at": move.occurred_at,
                }
            )
        elif move.document_type == WORK_ORDER_DOCUMENT:
            key = (move.document_id, move.document_ref)
            per_lot = consumed[move.lot_id]
            per_lot[key] = per_lot.get(key, Decimal("0")) + move.quantity
    for node in nodes:
        node.consumed_by = [
            {"work_order_id": wo_id, "work_order": ref, "quantity": quantity}
            for (wo_id, ref), quantity in consumed.get(node.lot.pk, {}).items()
        ]
        node.shipments = shipments.get(node.lot.pk, [])
    return nodes


# --- WIP ---------------------------------------------------------------------------------

_WIP_KINDS = {MoveType.ISSUE: "issued", MoveType.PRODUCTION: "produced", MoveType.SCRAP: "scrapped"}


def work_order_wip(*, work_order_id: int) -> dict[str, Any]:
    """What the work order holds, in one query: issued per item and lot, produced and
    scrapped, each net of reversals."""
    rows = (
        StockMove.objects.filter(document_type=WORK_ORDER_DOCUMENT, document_id=work_order_id)
        .values(
            "type", "reverses__type", "item_id", "item__sku", "item__unit", "lot_id", "lot__number"
        )
        .annotate(quantity=Sum("quantity"))
        .order_by("item__sku", "lot__number")
    )
    totals: dict[tuple[str, int, int | None], dict[str, Any]] = {}
    for row in rows:
        if row["type"] == MoveType.REVERSAL:
            kind, sign = _WIP_KINDS.get(row["reverses__type"]), -1
        else:
            kind, sign = _WIP_KINDS.get(row["type"]), 1
        if kind is None:
            continue
        key = (kind, row["item_id"], row["lot_id"])
        entry = totals.setdefault(
            key,
            {
                "item_id": row["item_id"],
                "sku": row["item__sku"],
                "unit": row["item__unit"],
                "lot_id": row["lot_id"],
                "lot": row["lot__number"] or "",
                "quantity": Decimal("0"),
            },
        )
        entry["quantity"] += sign * row["quantity"]
    wip: dict[str, Any] = {"work_order_id": work_order_id}
    for kind in _WIP_KINDS.values():
        wip[kind] = [
            entry
            for (entry_kind, _item, _lot), entry in totals.items()
            if entry_kind == kind and entry["quantity"] != 0
        ]
    wip["produced_quantity"] = sum((e["quantity"] for e in wip["produced"]), Decimal("0"))
    return wip
