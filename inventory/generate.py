"""Generate a plant's stock ledger at volume, for benchmarks: locations, lots, N ledger
moves and the balances they add up to. `seed_plant --moves N` calls it.

The moves are what a running plant books: receipts at the dock and their put-away,
components moved line-side and issued to work orders, production output as new lots whose
genealogy names the lots consumed (three levels of made items, so traces go three deep),
and shipments to customers. Quantities are tracked while generating, so no balance ever
goes negative. Speed comes from skipping the services: ids are assigned here, rows go in
with COPY on Postgres (batched INSERTs elsewhere), and the balances are computed from the
ledger at the end with one aggregate INSERT ... SELECT per kind (with and without lot), so
`verify_ledger` finds the books clean. Not for demos: no events, no history.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from mes.core.bulk import foreign_key_checks_skip

from .models import Item, Location, Lot, LotGenealogy, MoveType, StockBalance, StockMove

PREFIX = "GP-"
SITE = f"{PREFIX}SITE"
RECEIVING = f"{PREFIX}RCV"
SHIPPING = f"{PREFIX}SHIP"
STOCK_BINS = 120
LINE_SIDES = 8
# Lots with stock per item the generator keeps at most (on average) before using them.
LIVE_LOTS_PER_ITEM = 8
CUSTOMERS = ["Alpenland", "Brenner Agrar", "Donau Pumpen", "Elbtal MB", "Fichtel Hydraulik"]
SUPPLIERS = ["Saarstahl", "Stahlkontor Süd", "Würth", "Lager & Antrieb", "Pulverlack Bayern"]

MOVE_COLUMNS = (
    "id", "type", "item_id", "lot_id", "from_location_id", "to_location_id", "quantity",
    "occurred_at", "note", "document_type", "document_id", "document_ref", "partner",
)  # fmt: skip
LOT_COLUMNS = (
    "id", "item_id", "number", "supplier_lot", "supplier", "received_on", "produced_on",
    "expiry_date", "is_serial", "produced_by_ref", "created_at",
)  # fmt: skip
EDGE_COLUMNS = (
    "id",
    "produced_id",
    "consumed_id",
    "quantity",
    "work_order_id",
    "work_order_ref",
    "at",
)


@dataclass
class Stock:
    """A lot (or untracked stock) lying at a location, as the generator tracks it."""

    item_id: int
    lot_id: int | None
    location_id: int
    quantity: int


@dataclass
class Plan:
    """What the generator works with: locations by role and items by level."""

    receiving: int
    shipping: int
    bins: list[int]
    line_sides: list[int]
    buy: list[Item]
    made: list[list[Item]]  # levels 1..3
    tracked: set[int] = field(default_factory=set)


def generate_inventory(
    *, moves: int, items: Sequence[Item], seed: int = 42, batch_size: int = 50_000, out: Any = None
) -> dict[str, Any]:
    """Add `moves` ledger moves (and their locations, lots, genealogy and balances)."""
    started = time.monotonic()
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    with transaction.atomic():
        plan = _plan(items)
        ids = _next_ids()
        checks_skipped = foreign_key_checks_skip()
        generator = _Generator(plan, rng, ids, moves)
        written = 0
        while written < moves:
            rows = generator.batch(min(batch_size, moves - written))
            _write(generator)
            written += rows
            if out is not None:
                out.write(f"  {written:,} moves ...")
        _sequences_reset()
        balances = _balances_compute(plan)
        if checks_skipped:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        _analyze()
    return {
        "moves": written,
        "lots": generator.lots_made,
        "genealogy": generator.edges_made,
        "balances": balances,
        "foreign_key_checks_skipped": checks_skipped,
        "seconds": round(time.monotonic() - started, 1),
    }


# --- set-up ----------------------------------------------------------------------------


def _plan(items: Sequence[Item]) -> Plan:
    site, _created = Location.objects.get_or_create(
        code=SITE, defaults={"name": "Generated plant", "type": Location.Type.SITE, "barcode": SITE}
    )
    wanted = [
        (RECEIVING, "Dock", Location.Type.RECEIVING, ""),
        (SHIPPING, "Shipping", Location.Type.SHIPPING, ""),
        *[
            (f"{PREFIX}S-{n:03d}", f"Bin {n}", Location.Type.STOCK, f"S-{n:03d}")
            for n in range(1, STOCK_BINS + 1)
        ],
        *[
            (f"{PREFIX}LS-{n:02d}", f"Line-side {n}", Location.Type.LINE_SIDE, "")
            for n in range(1, LINE_SIDES + 1)
        ],
    ]
    Location.objects.bulk_create(
        [
            Location(code=code, name=name, type=type_, parent=site, barcode=code, pick_sequence=seq)
            for code, name, type_, seq in wanted
        ],
        ignore_conflicts=True,
    )
    by_code = dict(Location.objects.filter(code__startswith=PREFIX).values_list("code", "pk"))
    ordered = sorted(items, key=lambda i: i.sku)
    buy = [i for i in ordered if i.source == Item.Source.BUY]
    make = [i for i in ordered if i.source != Item.Source.BUY]
    if not buy or len(make) < 3:
        raise ValueError("The plant needs bought items and at least three made items.")
    # Every third bought item is untracked (screws, bar stock by the metre); the rest and
    # every made item are lot-tracked so the genealogy has something to follow.
    untracked = {item.pk for n, item in enumerate(buy) if n % 3 == 0}
    Item.objects.filter(pk__in=[i.pk for i in ordered if i.pk not in untracked]).exclude(
        tracking=Item.Tracking.LOT
    ).update(tracking=Item.Tracking.LOT)
    Item.objects.filter(pk__in=untracked).exclude(tracking=Item.Tracking.NONE).update(
        tracking=Item.Tracking.NONE
    )
    third = max(1, len(make) // 3)
    return Plan(
        receiving=by_code[RECEIVING],
        shipping=by_code[SHIPPING],
        bins=[by_code[f"{PREFIX}S-{n:03d}"] for n in range(1, STOCK_BINS + 1)],
        line_sides=[by_code[f"{PREFIX}LS-{n:02d}"] for n in range(1, LINE_SIDES + 1)],
        buy=buy,
        made=[make[:third], make[third : 2 * third], make[2 * third :]],
        tracked={i.pk for i in ordered if i.pk not in untracked},
    )


def _next_ids() -> dict[str, int]:
    return {
        "move": (StockMove.objects.aggregate(m=Max("pk"))["m"] or 0) + 1,
        "lot": (Lot.objects.aggregate(m=Max("pk"))["m"] or 0) + 1,
        "edge": (LotGenealogy.objects.aggregate(m=Max("pk"))["m"] or 0) + 1,
    }


# --- the moves -------------------------------------------------------------------------


class _Generator:
    def __init__(self, plan: Plan, rng: random.Random, ids: dict[str, int], total: int) -> None:
        self.plan, self.rng, self.ids = plan, rng, ids
        self.now = timezone.now()
        self.today = timezone.localdate()
        # Moves are spread over the last year, oldest first.
        self.start = self.now - dt.timedelta(days=365)
        self.step = dt.timedelta(days=365) / max(total, 1)
        self.count = 0
        # Stock the generator may draw on: level 0 (bought) .. 3 (finished), in bins.
        self.shelves: list[list[Stock]] = [[], [], [], []]
        self.moves: list[tuple[Any, ...]] = []
        self.lots: list[tuple[Any, ...]] = []
        self.edges: list[tuple[Any, ...]] = []
        self.lots_made = 0
        self.edges_made = 0

    def batch(self, size: int) -> int:
        """Generate about `size` moves (whole flows: a flow is never split)."""
        self.moves, self.lots, self.edges = [], [], []
        while len(self.moves) < size:
            room = size - len(self.moves)
            self.flow(room)
        return len(self.moves)

    def flow(self, room: int) -> None:
        # A plant uses what it buys and ships what it makes: a shelf holding more than a
        # few lots per item is worked down first, so live lots per item stay realistic.
        if room >= 5:
            for level in (1, 2, 3):
                if len(self.shelves[level - 1]) > LIVE_LOTS_PER_ITEM * len(
                    self.plan.made[level - 2] if level > 1 else self.plan.buy
                ) and self.produce(level):
                    return
        if room >= 2 and len(self.shelves[3]) > LIVE_LOTS_PER_ITEM * len(self.plan.made[2]):
            self.ship()
            return
        roll = self.rng.random()
        if room >= 5 and roll < 0.55:
            level = self.rng.choice([1, 1, 2, 3])
            if self.shelves[level - 1] and self.produce(level):
                return
        if room >= 2 and roll > 0.9 and self.shelves[3]:
            self.ship()
            return
        if room >= 2:
            self.receive()
        else:
            self.shuffle()

    def _move(
        self,
        type_: str,
        item_id: int,
        lot_id: int | None,
        src: int | None,
        dst: int | None,
        qty: int,
        document: tuple[str, int | None, str] = ("", None, ""),
        partner: str = "",
    ) -> None:
        occurred = self.start + self.step * self.count
        self.count += 1
        self.moves.append(
            (self.ids["move"], str(type_), item_id, lot_id, src, dst, qty, occurred, "",
             document[0], document[1], document[2], partner)
        )  # fmt: skip
        self.ids["move"] += 1

    def _lot(self, item_id: int, number: str, *, supplier: str = "", made_by: str = "") -> int:
        lot_id = self.ids["lot"]
        self.ids["lot"] += 1
        received = None if made_by else self.today
        self.lots.append(
            (lot_id, item_id, number, f"S{lot_id}" if supplier else "", supplier, received,
             self.today if made_by else None, None, False, made_by, self.now)
        )  # fmt: skip
        self.lots_made += 1
        return lot_id

    def receive(self) -> None:
        """A delivery at the dock, put away into a bin."""
        item = self.rng.choice(self.plan.buy)
        qty = self.rng.randint(20, 400)
        supplier = self.rng.choice(SUPPLIERS)
        lot_id = (
            self._lot(item.pk, f"GL-{self.ids['lot']}", supplier=supplier)
            if item.pk in self.plan.tracked
            else None
        )
        ref = ("receipt", None, f"GRC-{self.count}")
        self._move(MoveType.RECEIPT, item.pk, lot_id, None, self.plan.receiving, qty, ref, supplier)
        target = self.rng.choice(self.plan.bins)
        self._move(MoveType.PUT_AWAY, item.pk, lot_id, self.plan.receiving, target, qty, ref)
        self.shelves[0].append(Stock(item.pk, lot_id, target, qty))

    def _take(self, shelf: list[Stock], wanted: int) -> tuple[Stock, int]:
        """Stock from one of the oldest lots on the shelf (FIFO-ish); half the time the
        whole rest of it, so lots are used up as in a plant and balances do not pile up."""
        index = self.rng.randrange(min(len(shelf), 16))
        stock = shelf[index]
        qty = stock.quantity if self.rng.random() < 0.5 else min(wanted, stock.quantity)
        stock.quantity -= qty
        if stock.quantity == 0:
            del shelf[index]
        return stock, qty

    def produce(self, level: int) -> bool:
        """A work order: two components moved line-side and issued, output received as a
        new lot (lot-tracked made items) linked to the component lots."""
        shelf = self.shelves[level - 1]
        if not shelf:
            return False
        # Numbered after the output lot's id: unique across runs that add more moves.
        wo_id = 5_000_000 + self.ids["lot"]
        wo_ref = f"GWO-{self.ids['lot']}"
        document = ("work_order", wo_id, wo_ref)
        line = self.rng.choice(self.plan.line_sides)
        consumed: list[tuple[int, int]] = []
        for _n in range(2):
            if not shelf:
                break
            stock, qty = self._take(shelf, self.rng.randint(1, 20))
            self._move(MoveType.TRANSFER, stock.item_id, stock.lot_id, stock.location_id, line,
                       qty, document)  # fmt: skip
            self._move(MoveType.ISSUE, stock.item_id, stock.lot_id, line, None, qty, document)
            if stock.lot_id is not None:
                consumed.append((stock.lot_id, qty))
        item = self.rng.choice(self.plan.made[level - 1])
        lot_id = self._lot(item.pk, wo_ref, made_by=wo_ref)
        qty = self.rng.randint(5, 50)
        target = self.rng.choice(self.plan.bins)
        self._move(MoveType.PRODUCTION, item.pk, lot_id, None, target, qty, document)
        for consumed_lot, used in consumed:
            self.edges.append(
                (self.ids["edge"], lot_id, consumed_lot, used, wo_id, wo_ref, self.now)
            )
            self.ids["edge"] += 1
            self.edges_made += 1
        self.shelves[level].append(Stock(item.pk, lot_id, target, qty))
        return True

    def ship(self) -> None:
        """Finished goods picked to the shipping dock and shipped to a customer."""
        stock, qty = self._take(self.shelves[3], self.rng.randint(1, 10))
        ref = ("shipment", None, f"GSH-{self.count}")
        self._move(MoveType.PICK, stock.item_id, stock.lot_id, stock.location_id,
                   self.plan.shipping, qty, ref)  # fmt: skip
        self._move(MoveType.SHIPMENT, stock.item_id, stock.lot_id, self.plan.shipping, None, qty,
                   ref, self.rng.choice(CUSTOMERS))  # fmt: skip

    def shuffle(self) -> None:
        """One transfer between bins (fills the last move of a batch)."""
        shelf = next((s for s in self.shelves if s), None)
        if shelf is None:
            item = self.rng.choice(self.plan.buy)
            lot_id = self._lot(item.pk, f"GL-{self.ids['lot']}", supplier="Saarstahl") if (
                item.pk in self.plan.tracked
            ) else None  # fmt: skip
            target = self.rng.choice(self.plan.bins)
            self._move(MoveType.RECEIPT, item.pk, lot_id, None, target, 100, ("receipt", None, ""))
            self.shelves[0].append(Stock(item.pk, lot_id, target, 100))
            return
        stock = shelf[self.rng.randrange(len(shelf))]
        target = self.rng.choice([b for b in self.plan.bins if b != stock.location_id])
        self._move(MoveType.TRANSFER, stock.item_id, stock.lot_id, stock.location_id, target,
                   stock.quantity)  # fmt: skip
        stock.location_id = target


# --- writing ---------------------------------------------------------------------------


def _write(generator: _Generator) -> None:
    # Lots first: moves and genealogy point at them.
    _insert(Lot._meta.db_table, LOT_COLUMNS, generator.lots)
    _insert(StockMove._meta.db_table, MOVE_COLUMNS, generator.moves)
    _insert(LotGenealogy._meta.db_table, EDGE_COLUMNS, generator.edges)


def _insert(table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
    rows = list(rows)
    if not rows:
        return
    q = connection.ops.quote_name
    names = ", ".join(q(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {q(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {q(table)} ({names}) VALUES ({marks})", rows)  # noqa: S608


def _sequences_reset() -> None:
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Lot, StockMove, LotGenealogy]):
            cursor.execute(sql)


def _analyze() -> None:
    """Fresh planner statistics: a bulk load leaves them far off (the first balance query
    would scan every lot)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (Lot, StockMove, LotGenealogy, StockBalance):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _balances_compute(plan: Plan) -> int:
    """Set the generated locations' balances to what the ledger adds up to: one aggregate
    INSERT ... SELECT for lots, one for untracked stock (they have different unique keys)."""
    q = connection.ops.quote_name
    moves = q(StockMove._meta.db_table)
    balances = q(StockBalance._meta.db_table)
    locations = [plan.receiving, plan.shipping, *plan.bins, *plan.line_sides]
    marks = ", ".join(["%s"] * len(locations))
    now = timezone.now()
    ledger = (
        f"SELECT item_id, to_location_id AS location_id, lot_id, quantity FROM {moves} "  # noqa: S608
        f"WHERE to_location_id IN ({marks}) "
        f"UNION ALL SELECT item_id, from_location_id, lot_id, -quantity FROM {moves} "
        f"WHERE from_location_id IN ({marks})"
    )
    total = 0
    with connection.cursor() as cursor:
        for has_lot, target in (
            (True, "(item_id, location_id, lot_id) WHERE lot_id IS NOT NULL"),
            (False, "(item_id, location_id) WHERE lot_id IS NULL"),
        ):
            condition = "lot_id IS NOT NULL" if has_lot else "lot_id IS NULL"
            cursor.execute(
                f"INSERT INTO {balances} (item_id, location_id, lot_id, on_hand, reserved, "  # noqa: S608
                f"updated_at) SELECT item_id, location_id, lot_id, SUM(quantity), 0, %s "
                f"FROM ({ledger}) AS ledger WHERE {condition} "
                f"GROUP BY item_id, location_id, lot_id ORDER BY item_id, location_id, lot_id "
                f"ON CONFLICT {target} DO UPDATE SET on_hand = EXCLUDED.on_hand, "
                f"updated_at = EXCLUDED.updated_at",
                [now, *locations, *locations],
            )
            total += max(cursor.rowcount, 0)
    return total
