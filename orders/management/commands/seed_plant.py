"""Generate a large plant fast, for benchmarks and load tests.

Customers and items are created when missing; orders and lines are bulk-created in
realistic states (promise dates on every committed line, shipped quantities on shipped
orders, the state a held order came from). With `--moves N` it adds the plant's stock
ledger too (inventory.generate: locations, lots, N moves with a three-level genealogy,
balances computed from the ledger). Unlike seed_demo this skips the services and so
writes no transition history and no events: it is for volume, not for demos.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from inventory.generate import generate_inventory
from inventory.models import Item
from kpis.generate import history_generate
from orders.models import (
    HOLDABLE_STATES,
    Customer,
    OrderState,
    Priority,
    SalesOrder,
    SalesOrderLine,
    ShipToAddress,
)

S = OrderState

# Share of each state in a plant that has been running for a while.
STATE_WEIGHTS: dict[str, int] = {
    S.DRAFT: 8,
    S.CONFIRMED: 15,
    S.IN_PRODUCTION: 22,
    S.READY_TO_SHIP: 7,
    S.PARTIALLY_SHIPPED: 5,
    S.SHIPPED: 8,
    S.CLOSED: 25,
    S.ON_HOLD: 4,
    S.CANCELLED: 6,
}
SHIPPED_STATES = {S.SHIPPED, S.CLOSED}

CUSTOMER_WORDS = (
    ["Alpen", "Donau", "Elbe", "Harz", "Isar", "Main", "Mosel", "Neckar", "Rhein", "Ruhr"],
    ["Antriebs", "Förder", "Hydraulik", "Maschinen", "Pumpen", "Stahl", "Agrar", "Anlagen"],
    ["technik GmbH", "bau AG", "werke KG", "systeme GmbH"],
)
CITIES = [
    ("Augsburg", "86150"),
    ("Ingolstadt", "85049"),
    ("Regensburg", "93047"),
    ("Ulm", "89073"),
    ("Würzburg", "97070"),
    ("Nürnberg", "90402"),
]
PARTS = ["Shaft", "Flange", "Bracket", "Bearing housing", "Base frame", "Plate", "Sleeve", "Pin"]
MATERIALS = ["S235", "S355", "42CrMo4", "C45", "1.4404", "AlMg4.5Mn", "16MnCr5"]


class Command(BaseCommand):
    help = (
        "Bulk-generate customers, items and orders with lines in realistic states (no "
        "history or events: for benchmarks). Existing customers and items are reused."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--orders", type=int, default=1000, help="orders to add")
        parser.add_argument("--lines-per-order", type=int, default=5)
        parser.add_argument("--customers", type=int, default=50, help="customers to have")
        parser.add_argument("--items", type=int, default=200, help="items to have")
        parser.add_argument("--seed", type=int, default=42, help="random seed")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument(
            "--moves",
            type=int,
            default=0,
            help="stock ledger moves to add (with locations, lots, genealogy and balances)",
        )
        parser.add_argument(
            "--history-work-orders",
            type=int,
            default=0,
            help="work orders of backdated plant history to add for the KPIs (with their "
            "orders, shipments, exceptions and transition history; on a plant of its own, "
            "codes starting with PH)",
        )
        parser.add_argument("--history-days", type=int, default=90, help="days of history")

    def handle(self, *args: Any, **options: Any) -> None:
        n_orders, n_lines = options["orders"], options["lines_per_order"]
        n_customers, n_items = options["customers"], options["items"]
        if min(n_orders, n_lines, n_customers, n_items) < 0 or n_customers < 1 or n_items < 1:
            raise CommandError("Give at least one customer and one item; no negative counts.")
        if n_orders and n_lines < 1:
            raise CommandError("Orders need at least one line each.")
        if options["moves"] < 0:
            raise CommandError("Give a number of moves of 0 or more.")
        rng = random.Random(options["seed"])  # noqa: S311 - test data, not secrets
        started = time.monotonic()
        with transaction.atomic():
            customers = self.ensure_customers(n_customers, rng)
            items = self.ensure_items(n_items, rng)
            created = self.create_orders(
                n_orders, n_lines, customers, items, rng, options["batch_size"]
            )
        self.stdout.write(
            f"Plant has {len(customers)} generated customers and {len(items)} generated items; "
            f"added {created} orders with {created * n_lines} lines "
            f"in {time.monotonic() - started:.1f} s."
        )
        if options["moves"]:
            stock = generate_inventory(
                moves=options["moves"], items=items, seed=options["seed"], out=self.stdout
            )
            self.stdout.write(
                f"Added {stock['moves']} stock moves, {stock['lots']} lots, "
                f"{stock['genealogy']} genealogy links; {stock['balances']} balances computed "
                f"from the ledger in {stock['seconds']:.1f} s."
            )
        if options["history_work_orders"] > 0:
            days = max(1, options["history_days"])
            history = history_generate(
                days=days,
                work_orders=options["history_work_orders"],
                prefix="PH",
                seed=options["seed"],
                out=self.stdout,
            )
            self.stdout.write(
                f"Added {days} days of plant history: {history['work_orders']} work orders, "
                f"{history['transition_rows']} transition rows in {history['seconds']:.1f} s."
            )

    def ensure_customers(self, count: int, rng: random.Random) -> list[Customer]:
        codes = [f"PC{n:05d}" for n in range(1, count + 1)]
        existing = set(Customer.objects.filter(code__in=codes).values_list("code", flat=True))
        missing = [code for code in codes if code not in existing]
        classes = ["A"] * 2 + ["B"] * 5 + ["C"] * 3
        Customer.objects.bulk_create(
            Customer(
                code=code,
                name="".join(rng.choice(words) for words in CUSTOMER_WORDS[:2])
                + CUSTOMER_WORDS[2][n % len(CUSTOMER_WORDS[2])],
                priority_class=rng.choice(classes),
                email=f"orders@{code.lower()}.example",
            )
            for n, code in enumerate(missing)
        )
        customers = list(Customer.objects.filter(code__in=codes).order_by("code"))
        with_address = set(
            ShipToAddress.objects.filter(customer__in=customers).values_list(
                "customer_id", flat=True
            )
        )
        addresses = []
        for customer in customers:
            if customer.pk in with_address:
                continue
            city, postal_code = rng.choice(CITIES)
            addresses.append(
                ShipToAddress(
                    customer=customer,
                    label="Main plant",
                    street=f"Industriestr. {rng.randint(1, 120)}",
                    city=city,
                    postal_code=postal_code,
                    is_default=True,
                )
            )
        ShipToAddress.objects.bulk_create(addresses)
        return customers

    def ensure_items(self, count: int, rng: random.Random) -> list[Item]:
        skus = [f"PI-{n:05d}" for n in range(1, count + 1)]
        existing = set(Item.objects.filter(sku__in=skus).values_list("sku", flat=True))
        new = []
        for sku in skus:
            if sku in existing:
                continue
            make = rng.random() < 0.7
            new.append(
                Item(
                    sku=sku,
                    name=f"{rng.choice(PARTS)} {rng.choice(MATERIALS)}, {rng.randint(10, 400)} mm"
                    if make
                    else f"Bar stock {rng.choice(MATERIALS)} Ø{rng.randint(10, 120)}",
                    unit="pcs" if make else "m",
                    source=Item.Source.MAKE if make else Item.Source.BUY,
                    lead_time_days=rng.randint(3, 25),
                )
            )
        Item.objects.bulk_create(new)
        return list(Item.objects.filter(sku__in=skus).order_by("sku"))

    def create_orders(
        self,
        count: int,
        lines_per_order: int,
        customers: list[Customer],
        items: list[Item],
        rng: random.Random,
        batch_size: int,
    ) -> int:
        if count == 0:
            return 0
        today = timezone.localdate()
        now = timezone.now()
        states, weights = list(STATE_WEIGHTS), list(STATE_WEIGHTS.values())
        addresses = dict(
            ShipToAddress.objects.filter(customer__in=customers, is_default=True).values_list(
                "customer_id", "pk"
            )
        )
        # Numbers follow the pk like the services' (SO-000123), so ids are given here and
        # the sequence is moved past them afterwards.
        next_id = (SalesOrder.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        for start in range(0, count, batch_size):
            orders: list[SalesOrder] = []
            lines: list[SalesOrderLine] = []
            for pk in range(next_id + start, next_id + min(start + batch_size, count)):
                state = rng.choices(states, weights)[0]
                customer = rng.choice(customers)
                order = SalesOrder(
                    pk=pk,
                    state=state,  # protected FSM field: only settable when constructing
                    number=f"SO-{pk:06d}",
                    external_id=f"PLANT-{pk}" if rng.random() < 0.6 else None,
                    customer=customer,
                    ship_to_id=addresses.get(customer.pk),
                    customer_po=f"PO-{rng.randint(100000, 999999)}",
                    priority=rng.choices(list(Priority.values), [3, 12, 80, 5])[0],
                    confirmed_at=None,
                )
                cancelled_from_draft = state == S.CANCELLED and rng.random() < 0.5
                if state != S.DRAFT and not cancelled_from_draft:
                    order.confirmed_at = now - dt.timedelta(days=rng.randint(1, 60))
                if state == S.ON_HOLD:
                    order.held_from_state = rng.choice(HOLDABLE_STATES)
                if state == S.CANCELLED:
                    order.cancel_reason = "Customer cancelled the order."
                orders.append(order)
                lines.extend(
                    self.lines_for(order, lines_per_order, items, rng, today, cancelled_from_draft)
                )
            SalesOrder.objects.bulk_create(orders)
            SalesOrderLine.objects.bulk_create(lines, batch_size=5000)
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [SalesOrder]):
                cursor.execute(sql)
        return count

    def lines_for(
        self,
        order: SalesOrder,
        count: int,
        items: list[Item],
        rng: random.Random,
        today: dt.date,
        cancelled_from_draft: bool,
    ) -> list[SalesOrderLine]:
        state = order.state
        committed = state != S.DRAFT and not cancelled_from_draft
        lines = []
        for index, item in enumerate(rng.sample(items, min(count, len(items)))):
            quantity = Decimal(rng.choice([1, 2, 4, 5, 10, 12, 20, 24, 50, 100, 200, 500]))
            if state in SHIPPED_STATES:
                requested = today - dt.timedelta(days=rng.randint(1, 90))
            else:
                requested = today + dt.timedelta(days=rng.randint(1, 60))
            line = SalesOrderLine(
                order=order,
                line_no=(index + 1) * 10,
                item=item,
                quantity=quantity,
                requested_date=requested,
            )
            if committed:
                line.promise_date = requested + dt.timedelta(days=rng.choice([0, 0, 0, 2, 5]))
                line.promise_basis = "generated by seed_plant"
            if state in SHIPPED_STATES:
                line.shipped_quantity = quantity
            elif state == S.PARTIALLY_SHIPPED or (
                state == S.ON_HOLD and order.held_from_state == S.PARTIALLY_SHIPPED
            ):
                line.shipped_quantity = (quantity / 2).quantize(Decimal("1")) if index == 0 else 0
            lines.append(line)
        # Lines repeat items when the plant has fewer items than lines per order.
        for index in range(len(lines), count):
            extra = SalesOrderLine(
                order=order,
                line_no=(index + 1) * 10,
                item=items[index % len(items)],
                quantity=lines[0].quantity,
                requested_date=lines[0].requested_date,
                promise_date=lines[0].promise_date,
                promise_basis=lines[0].promise_basis,
                shipped_quantity=Decimal(0) if state not in SHIPPED_STATES else lines[0].quantity,
            )
            lines.append(extra)
        return lines
