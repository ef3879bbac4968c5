"""The demo plant's dispatch: three carriers with their service levels, finished goods
received from production, order lines due today and tomorrow (on the must-ship board with
their readiness and risks), and a shipment in every state: planned (one line short of
stock), picking (with a refused mis-pick), packed, documented with its PDFs, handed over
with a tracking number (its order partially shipped, one wrong package refused at the
dock), delivered, and on hold. An ERP webhook subscription to handovers points at a local
URL, inactive, for show.

Everything goes through the orders, inventory and shipping services, so reservations,
the ledger, history, events and documents are real. Called by `seed_demo` after the
inventory and planning demos; running it again changes nothing (the first carrier is the
marker)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from inventory.models import Item, Location
from inventory.services.production import production_receive
from mes.core.errors import ValidationFailed
from mes.core.models import ApiClient, Event
from orders import services as order_services
from orders.models import Customer, SalesOrder, ShipToAddress

from . import services
from .models import Carrier, Shipment

# (code, name, service levels, tracking URL); the first is the marker.
CARRIERS: list[tuple[str, str, list[str], str]] = [
    ("dhl-freight", "DHL Freight", ["standard", "express", "next-day 10:00"],
     "https://www.dhl.de/de/privatkunden/dhl-sendungsverfolgung.html?piececode={tracking}"),
    ("schenker", "DB Schenker", ["system", "system premium"],
     "https://www.dbschenker.com/app/tracking-public/?refNumber={tracking}"),
    ("huber", "Spedition Huber (local)", ["same day", "next day"], ""),
]  # fmt: skip

# Finished goods received from production for dispatch: (sku, quantity, work order, where).
FINISHED_GOODS: list[tuple[str, int, tuple[int, str], str]] = [
    ("FL-3105", 100, (920001, "WO-D201"), "A-01-01"),
    ("WB-5012", 300, (920002, "WO-D202"), "A-02-01"),
    ("MP-4001", 30, (920003, "WO-D203"), "A-02-01"),
    ("SH-2010", 6, (920004, "WO-D204"), "A-01-02"),
    ("HM-6100", 8, (920005, "WO-D205"), "A-01-01"),
]  # fmt: skip

DOCK = "SHIP-1"
DEMO_API_CLIENT = "ERP (demo)"
WEBHOOK_NAME = "ERP dispatch notifications (demo)"
WEBHOOK_URL = "http://127.0.0.1:8765/hooks/mes/shipments"
# Events the demo's dispatch raises, processed at once so the board shows what they raise.
DEMO_EVENT_TYPES = [
    "pick.mismatch",
    "material.shortage",
    "shipment.incorrect_dispatch",
    "shipment.handed_over",
    "shipment.delivered",
    "order.status_changed",
]


@dataclass(frozen=True)
class Dispatch:
    """An order ready to ship (lines due in `due` days) and the shipment made of it."""

    key: str
    customer: str
    po: str
    lines: list[tuple[str, int]]  # (sku, quantity ordered)
    due: int  # days from today: 0 today, 1 tomorrow
    ship: dict[str, int] | None = None  # sku -> quantity shipped; None: everything


DISPATCHES: list[Dispatch] = [
    Dispatch("planned", "BRAG", "BA-55490", [("MP-4001", 40)], 1),
    Dispatch("picking", "HASO", "HS-7790", [("WB-5012", 120)], 0),
    Dispatch("packed", "DOPU", "DP-10260", [("FL-3105", 60)], 0),
    Dispatch("documented", "ELMB", "EM-3402", [("SH-2010", 6)], 0),
    Dispatch("handed_over", "ALPF", "4500260", [("FL-3105", 40), ("WB-5012", 80)], 0,
             ship={"FL-3105": 40, "WB-5012": 50}),
    Dispatch("delivered", "FIHY", "FH-88190", [("HM-6100", 8)], 0),
    Dispatch("on_hold", "GELT", "GLT-2270", [("WB-5012", 20)], 1),
]  # fmt: skip
# Due tomorrow, still in production: on the board, not ready, no shipment yet.
IN_PRODUCTION = Dispatch("in_production", "ISMT", "IMT-40031", [("AP-3150", 12)], 1)


def _write(stdout: Any, message: str) -> None:
    if stdout is not None:
        stdout.write(message)


def seed_shipping_demo(*, users: dict[str, Any], stdout: Any = None) -> bool:
    """Load the demo's dispatch once; returns False when it exists already."""
    if Carrier.objects.filter(code=CARRIERS[0][0]).exists():
        _write(stdout, "Demo shipping exists already: nothing to add.")
        return False
    with transaction.atomic():
        carriers = _carriers()
        _finished_goods(users)
        orders = {spec.key: _ready_order(spec, users) for spec in DISPATCHES}
        _order_in_production(IN_PRODUCTION, users)
        shipments = _shipments(orders, carriers, users)
        _process_pending(DEMO_EVENT_TYPES)
        subscription = _webhook_subscription()
    states = ", ".join(f"{s.number} {s.state}" for s in shipments)
    _write(
        stdout,
        f"Loaded the demo shipping: {len(carriers)} carriers, {len(shipments)} shipments "
        f"({states})"
        + (f", webhook subscription '{subscription}' (inactive)." if subscription else "."),
    )
    return True


def _carriers() -> dict[str, Carrier]:
    return {
        code: Carrier.objects.create(
            code=code, name=name, service_levels=levels, tracking_url=tracking_url
        )
        for code, name, levels, tracking_url in CARRIERS
    }


def _finished_goods(users: dict[str, Any]) -> None:
    """Finished goods come off their work orders into stock, ready to be picked."""
    items = Item.objects.in_bulk([sku for sku, *_rest in FINISHED_GOODS], field_name="sku")
    locations = Location.objects.in_bulk(
        [where for *_rest, where in FINISHED_GOODS], field_name="code"
    )
    for sku, quantity, (wo_id, wo_ref), where in FINISHED_GOODS:
        production_receive(
            work_order_id=wo_id,
            work_order_ref=wo_ref,
            item=items[sku],
            quantity=quantity,
            to_location=locations[where],
            actor=users["floorlead"],
        )


def _order(spec: Dispatch, users: dict[str, Any]) -> SalesOrder:
    """Enter and confirm the order, then promise its lines for the day the customer's
    call-off names (the planner's re-promise, with its reason kept)."""
    today = timezone.localdate()
    due = today + dt.timedelta(days=spec.due)
    customer = Customer.objects.get(code=spec.customer)
    items = Item.objects.in_bulk([sku for sku, _qty in spec.lines], field_name="sku")
    order = order_services.sales_order_create(
        customer=customer,
        user=users["planner"],
        lines=[
            order_services.LineInput(item=items[sku], quantity=Decimal(qty), requested_date=due)
            for sku, qty in spec.lines
        ],
        customer_po=spec.po,
        ship_to=ShipToAddress.objects.filter(customer=customer, is_default=True).first(),
    )
    order = order_services.sales_order_transition(
        order=order, user=users["planner"], transition="confirm"
    )
    for line in order.lines.order_by("line_no"):
        if line.promise_date != due:
            order_services.line_promise_date_change(
                line=line,
                user=users["planner"],
                promise_date=due,
                reason_code="customer-request",
                reason_text="Call-off from stock agreed with the customer.",
            )
    return SalesOrder.objects.get(pk=order.pk)


def _order_in_production(spec: Dispatch, users: dict[str, Any]) -> SalesOrder:
    order = _order(spec, users)
    return order_services.sales_order_transition(
        order=order, user=users["floorlead"], transition="start_production"
    )


def _ready_order(spec: Dispatch, users: dict[str, Any]) -> SalesOrder:
    order = _order_in_production(spec, users)
    return order_services.sales_order_transition(
        order=order, user=users["floorlead"], transition="mark_ready"
    )


def _plan(spec: Dispatch, order: SalesOrder, users: dict[str, Any]) -> Shipment:
    lines = [
        (line, Decimal((spec.ship or {}).get(line.item.sku, line.quantity)))
        for line in order.lines.select_related("item").order_by("line_no")
    ]
    return services.shipment_create(
        lines=lines,
        user=users["shipping"],
        planned_ship_date=timezone.localdate() + dt.timedelta(days=spec.due),
        dock_location=Location.objects.get(code=DOCK),
        notes=f"Customer PO {spec.po}.",
    )


def _pick_everything(shipment: Shipment, clerk: Any) -> None:
    """Pick the whole pick list with the right scans; what was never in stock is reported
    short, as a clerk would at the empty bin."""
    for line in services.shipment_pick_list(shipment=shipment):
        services.shipment_pick(
            shipment=shipment,
            actor=clerk,
            location_code=line.location.barcode,
            item_code=line.sku,
            lot_code=line.lot_number,
            quantity=line.quantity,
        )
    for line in shipment.lines.all():
        if line.quantity_open > 0:
            services.shipment_short_pick(
                shipment=shipment,
                line=line,
                actor=clerk,
                quantity=line.quantity_open,
                note="Bin empty at pick time.",
            )


def _mispick(shipment: Shipment, clerk: Any) -> None:
    """A wrong bin scanned, refused and counted; then the right one, for half the line."""
    first = services.shipment_pick_list(shipment=shipment)[0]
    wrong_bin = next(
        code for code in ("A-01-02", "A-01-01", "B-01-01") if code != first.location.code
    )
    try:
        services.shipment_pick(
            shipment=shipment,
            actor=clerk,
            location_code=wrong_bin,
            item_code=first.sku,
            lot_code=first.lot_number,
            quantity=first.quantity,
        )
    except ValidationFailed:  # the refusal is the point: it is recorded and counted
        pass
    services.shipment_pick(
        shipment=shipment,
        actor=clerk,
        location_code=first.location.barcode,
        item_code=first.sku,
        lot_code=first.lot_number,
        quantity=(first.quantity / 2).quantize(Decimal("1")),
    )


PALLET = {
    "type": "pallet",
    "weight_kg": "212.40",
    "length_cm": 120,
    "width_cm": 80,
    "height_cm": 95,
}
BOX = {"type": "box", "weight_kg": "18.60", "length_cm": 60, "width_cm": 40, "height_cm": 35}


def _pack(shipment: Shipment, clerk: Any, packages: list[dict[str, Any]]) -> None:
    _pick_everything(shipment, clerk)
    services.shipment_pack(shipment=shipment, actor=clerk, packages=packages)


def _document(shipment: Shipment, shipper: Any) -> None:
    services.shipment_documents_generate(shipment=shipment, actor=shipper)
    services.shipment_document(shipment=shipment, actor=shipper)


def _load(shipment: Shipment, shipper: Any, *, wrong_label: str = "") -> None:
    """Scan every package at the dock; `wrong_label` (another shipment's) is refused first."""
    if wrong_label:
        try:
            services.shipment_verify_package(shipment=shipment, actor=shipper, label=wrong_label)
        except ValidationFailed:  # refused and counted as an incorrect dispatch
            pass
    for label in shipment.packages.values_list("label", flat=True):
        services.shipment_verify_package(shipment=shipment, actor=shipper, label=label)


def _shipments(
    orders: dict[str, SalesOrder], carriers: dict[str, Carrier], users: dict[str, Any]
) -> list[Shipment]:
    clerk, shipper = users["shipping"], users["shipping"]
    specs = {spec.key: spec for spec in DISPATCHES}
    made = {key: _plan(specs[key], orders[key], users) for key in specs}

    _mispick(made["picking"], clerk)

    _pack(made["packed"], clerk, [PALLET, BOX])

    _pack(made["documented"], clerk, [BOX])
    _document(made["documented"], shipper)

    gone = made["handed_over"]
    _pack(gone, clerk, [PALLET, dict(PALLET, weight_kg="188.00"), BOX])
    _document(gone, shipper)
    other_label = made["packed"].packages.values_list("label", flat=True).first()
    _load(gone, shipper, wrong_label=other_label or "")
    services.shipment_hand_over(
        shipment=gone,
        actor=shipper,
        carrier=carriers["dhl-freight"],
        service_level="express",
        tracking_number="JJD0001460183520417",
        driver_name="Stefan Brandl",
    )

    delivered = made["delivered"]
    _pack(delivered, clerk, [BOX])
    _document(delivered, shipper)
    _load(delivered, shipper)
    services.shipment_hand_over(
        shipment=delivered,
        actor=shipper,
        carrier=carriers["huber"],
        service_level="same day",
        tracking_number="HUB-26-0417",
        driver_name="Anton Huber",
    )
    services.shipment_confirm_delivery(
        shipment=delivered,
        actor=users["integration"],
        delivered_at=timezone.now(),
        note="POD signed by M. Roth, goods receipt Hof.",
    )

    services.shipment_transition(
        shipment=made["on_hold"],
        actor=shipper,
        transition="hold",
        reason_code="customer-request",
        comment="Customer's goods receipt is closed for stock-taking until Monday.",
    )
    return list(Shipment.objects.filter(pk__in=[s.pk for s in made.values()]).order_by("number"))


def _process_pending(types: list[str]) -> None:
    """Run the rules for the demo's events now, as the worker would, so what they raise
    is on the board at once."""
    from mes.core.services import event_process

    pending = Event.objects.filter(type__in=types, processed_at__isnull=True).order_by("pk")
    for event_id in pending.values_list("pk", flat=True):
        event_process(event_id=event_id)


def _webhook_subscription() -> str:
    """The ERP's subscription to handovers and deliveries, at a local URL and inactive: it
    shows how the ERP is told, without posting anywhere from a demo."""
    from exceptions.models import WebhookSubscription
    from exceptions.webhooks import webhook_subscription_create

    client = (
        ApiClient.objects.filter(name=DEMO_API_CLIENT, revoked_at__isnull=True).first()
        or ApiClient.objects.filter(revoked_at__isnull=True).order_by("id").first()
    )
    if client is None:
        return ""
    subscription, _secret = webhook_subscription_create(
        client=client,
        url=WEBHOOK_URL,
        event_types=["shipment.handed_over", "shipment.delivered"],
        name=WEBHOOK_NAME,
    )
    WebhookSubscription.objects.filter(pk=subscription.pk).update(active=False)
    return subscription.name
