"""The demo plant's material: a location tree (dock, racks in pick order, staging,
line-side per work center, WIP, shipping, quarantine), items of every tracking kind, bills
of materials, receipts in every state (one due today, one late, one awaiting inspection,
one put away), stock on hand, a kit being picked and one staged, a quality hold, and two
levels of production whose genealogy the trace shows.

Everything goes through the inventory services, so the ledger, events and history are
real. Called by `seed_demo`; running it again changes nothing (the site location is the
marker)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from mes.core.errors import ValidationFailed
from mes.core.models import Event

from .models import ExpectedReceipt, Item, Kit, Location, Lot, MoveType
from .services.holds import hold_place
from .services.items import BomLineInput, bom_upsert, item_upsert, location_upsert
from .services.kits import kit_create, kit_pick, kit_pick_list, kit_stage
from .services.ledger import move_post
from .services.production import production_receive, work_order_issue
from .services.receipts import (
    expected_receipt_upsert,
    receipt_inspect,
    receipt_put_away,
    receipt_receive,
    receipts_report_delayed,
)

SITE = "PLANT"
T = Location.Type

# (code, name, type, pick sequence); all under the site.
LOCATIONS: list[tuple[str, str, str, str]] = [
    ("DOCK-1", "Receiving dock 1", T.RECEIVING, ""),
    ("A-01-01", "Rack A, bay 1, level 1", T.STOCK, "A-01-01"),
    ("A-01-02", "Rack A, bay 1, level 2", T.STOCK, "A-01-02"),
    ("A-02-01", "Rack A, bay 2, level 1", T.STOCK, "A-02-01"),
    ("B-01-01", "Bar stock rack B, bay 1", T.STOCK, "B-01-01"),
    ("B-01-02", "Bar stock rack B, bay 2", T.STOCK, "B-01-02"),
    ("STAGE-1", "Staging lane 1", T.STAGING, "Z-01"),
    ("LS-CNC-1", "Line-side CNC-1", T.LINE_SIDE, "L-01"),
    ("LS-WELD-1", "Line-side WELD-1", T.LINE_SIDE, "L-02"),
    ("LS-ASSY-1", "Line-side ASSY-1", T.LINE_SIDE, "L-03"),
    ("WIP-1", "Work in progress", T.WIP, ""),
    ("SHIP-1", "Shipping dock", T.SHIPPING, ""),
    ("QRN-1", "Quarantine cage", T.QUARANTINE, ""),
]
# Where each work center's material is staged (planning links its work centers by code).
LINE_SIDE_BY_WORK_CENTER = {"CNC-1": "LS-CNC-1", "WELD-1": "LS-WELD-1", "ASSY-1": "LS-ASSY-1"}

# Inventory settings of the demo's items (sku -> fields); new items carry name and source.
ITEM_SETTINGS: dict[str, dict[str, Any]] = {
    # FEFO raw material with a shelf life, lot-tracked
    "PWD-RAL7035": {"tracking": "lot", "shelf_life_days": 365, "reservation_policy": "fefo",
                    "receipt_over_tolerance_pct": Decimal("5"),
                    "receipt_under_tolerance_pct": Decimal("5"),
                    "default_stock_location": "A-02-01"},
    "ORG-050-3-NBR": {"tracking": "lot", "shelf_life_days": 1825, "reservation_policy": "fefo",
                      "backflush": True, "default_stock_location": "A-01-01"},
    # bar stock by heat number (FIFO)
    "RB-42CR-050": {"tracking": "lot", "receipt_over_tolerance_pct": Decimal("10"),
                    "receipt_under_tolerance_pct": Decimal("5"),
                    "default_stock_location": "B-01-01"},
    # untracked
    "FB-S235-200": {"default_stock_location": "B-01-02"},
    "SCR-M12X40-88": {"backflush": True, "default_stock_location": "A-01-01"},
    "BRG-6208-2RS": {"default_stock_location": "A-01-02"},
    # made, lot-tracked so the trace follows them
    "SH-2010": {"tracking": "lot", "default_stock_location": "A-01-02"},
    "WF-5001": {"default_stock_location": "A-02-01"},
    # new items
    "GM-0750": {"name": "Gear motor 0.75 kW, 1:20", "unit": "pcs", "source": "buy",
                "lead_time_days": 15, "tracking": "serial",
                "default_stock_location": "A-01-02"},
    "DU-7000": {"name": "Drive unit DU-7000 (shaft, bearings, gear motor)", "unit": "pcs",
                "source": "make", "lead_time_days": 10, "tracking": "lot",
                "default_stock_location": "A-02-01"},
}  # fmt: skip

# made item -> [(component, quantity per, scrap %)]
BOMS: dict[str, list[tuple[str, str, str]]] = {
    "SH-2010": [("RB-42CR-050", "0.65", "2")],
    "WF-5001": [("FB-S235-200", "6.5", "3"), ("SCR-M12X40-88", "8", "0"),
                ("PWD-RAL7035", "1.2", "5")],
    "DU-7000": [("SH-2010", "1", "0"), ("BRG-6208-2RS", "2", "0"), ("GM-0750", "1", "0"),
                ("ORG-050-3-NBR", "2", "0")],
}  # fmt: skip

# Work orders of the demo's kits and production (planning's demo may use the same refs).
WO_SHAFTS = (910001, "WO-D101")
WO_DRIVES = (910002, "WO-D102")
WO_FRAMES = (910003, "WO-D103")
WO_DRIVES_NEXT = (910004, "WO-D104")
# Events the demo's material raises, processed at once so the board shows them.
DEMO_EVENT_TYPES = ["material.delayed", "material.shortage", "pick.mismatch",
                    "quality.hold_placed"]  # fmt: skip


def _write(stdout: Any, message: str) -> None:
    if stdout is not None:
        stdout.write(message)


def seed_inventory_demo(*, users: dict[str, Any], stdout: Any = None) -> bool:
    """Load the demo's material once; returns False when it exists already."""
    if Location.objects.filter(code=SITE).exists():
        _write(stdout, "Demo inventory exists already: nothing to add.")
        return False
    with transaction.atomic():
        locations = _locations()
        items = _items(locations)
        _boms(items)
        receipts = _receipts(items, locations, users)
        _production(items, locations, users)
        hold = _hold(users)
        kits = _kits(items, locations, users)
        _process_pending(DEMO_EVENT_TYPES)
    _write(
        stdout,
        f"Loaded the demo inventory: {len(locations)} locations, {len(BOMS)} bills of "
        f"materials, {len(receipts)} receipts, kits {', '.join(kits)}, hold {hold}.",
    )
    return True


def _locations() -> dict[str, Location]:
    site, _created = location_upsert(code=SITE, name="Plant Augsburg", type=T.SITE)
    made = {SITE: site}
    for code, name, type_, sequence in LOCATIONS:
        made[code], _created = location_upsert(
            code=code, name=name, type=type_, parent=site, barcode=code, pick_sequence=sequence
        )
    return made


def _items(locations: dict[str, Location]) -> dict[str, Item]:
    items: dict[str, Item] = {}
    current = Item.objects.in_bulk(list(ITEM_SETTINGS), field_name="sku")
    for sku, settings in ITEM_SETTINGS.items():
        fields = dict(settings)
        existing = current.get(sku)
        basics = {
            "name": fields.pop("name", existing.name if existing else sku),
            "unit": fields.pop("unit", existing.unit if existing else "pcs"),
            "source": fields.pop("source", existing.source if existing else Item.Source.BUY),
            "lead_time_days": fields.pop(
                "lead_time_days", existing.lead_time_days if existing else 5
            ),
        }
        for key in ("default_stock_location", "default_receiving_location"):
            if key in fields:
                fields[key] = locations[fields[key]]
        if "default_receiving_location" not in fields:
            fields["default_receiving_location"] = locations["DOCK-1"]
        items[sku], _created = item_upsert(sku=sku, **basics, **fields)
    return items


def _boms(items: dict[str, Item]) -> None:
    for made, lines in BOMS.items():
        bom_upsert(
            item=items[made],
            lines=[
                BomLineInput(
                    component=items[sku],
                    quantity_per=Decimal(per),
                    scrap_allowance_pct=Decimal(scrap),
                )
                for sku, per, scrap in lines
            ],
        )


def _receipts(
    items: dict[str, Item], locations: dict[str, Location], users: dict[str, Any]
) -> list[ExpectedReceipt]:
    """Receipts in every state; the put-away ones are the stock the demo works with."""
    today = timezone.localdate()
    clerk, quality = users["warehouse"], users["quality"]

    def expect(external_id: str, sku: str, quantity: str, days: int, supplier: str, po: str):  # type: ignore[no-untyped-def]
        receipt, _created = expected_receipt_upsert(
            external_id=external_id,
            item=items[sku],
            quantity_expected=Decimal(quantity),
            expected_date=today + dt.timedelta(days=days),
            supplier=supplier,
            po_number=po,
            po_line="10",
        )
        return receipt

    def put_away(receipt: ExpectedReceipt, quantity: str, supplier_lot: str = "", **kw: Any):  # type: ignore[no-untyped-def]
        receipt = receipt_receive(
            receipt=receipt,
            quantity=Decimal(quantity),
            actor=clerk,
            supplier_lot=supplier_lot,
            **kw,
        )
        receipt = receipt_inspect(receipt=receipt, actor=quality, accepted=True)
        return receipt_put_away(receipt=receipt, to_location=None, actor=clerk)

    made = [
        # put away: the stock on hand
        put_away(expect("ERP-PO-4711-10", "RB-42CR-050", "60", -20, "Saarstahl Handel GmbH",
                        "PO-4711"), "60", supplier_lot="HEAT-48213"),
        put_away(expect("ERP-PO-4712-10", "FB-S235-200", "120", -15, "Stahlkontor Süd GmbH",
                        "PO-4712"), "120"),
        put_away(expect("ERP-PO-4713-10", "SCR-M12X40-88", "2000", -12, "Würth Industrie",
                        "PO-4713"), "2000"),
        put_away(expect("ERP-PO-4714-10", "BRG-6208-2RS", "40", -10, "Lager & Antrieb KG",
                        "PO-4714"), "40"),
        put_away(expect("ERP-PO-4715-10", "GM-0750", "4", -9, "Antriebstechnik Nord GmbH",
                        "PO-4715"), "4", lot_number="GM75-0101 GM75-0102 GM75-0103 GM75-0104"),
        put_away(expect("ERP-PO-4716-10", "PWD-RAL7035", "25", -30, "Pulverlack Bayern GmbH",
                        "PO-4716"), "25", supplier_lot="PL-2291",
                 expiry_date=today + dt.timedelta(days=40)),
        put_away(expect("ERP-PO-4717-10", "PWD-RAL7035", "25", -8, "Pulverlack Bayern GmbH",
                        "PO-4717"), "24.5", supplier_lot="PL-2340"),
        put_away(expect("ERP-PO-4718-10", "ORG-050-3-NBR", "500", -6, "Dichtungstechnik Ulm",
                        "PO-4718"), "500", supplier_lot="NBR-7781"),
    ]  # fmt: skip
    # received at the dock, awaiting inspection
    waiting = expect("ERP-PO-4720-10", "RB-42CR-050", "30", -1, "Saarstahl Handel GmbH", "PO-4720")
    made.append(
        receipt_receive(
            receipt=waiting, quantity=Decimal("31.5"), actor=clerk, supplier_lot="HEAT-48377"
        )
    )
    # due today, and one late (its material.delayed goes to the exceptions engine)
    made.append(
        expect("ERP-PO-4721-10", "PWD-RAL7035", "25", 0, "Pulverlack Bayern GmbH", "PO-4721")
    )
    made.append(
        expect("ERP-PO-4702-10", "ORG-050-3-NBR", "1000", -4, "Dichtungstechnik Ulm", "PO-4702")
    )
    made.append(expect("ERP-PO-4730-10", "GM-0750", "6", 9, "Antriebstechnik Nord GmbH", "PO-4730"))
    receipts_report_delayed(today=today)
    return made


def _process_pending(types: list[str]) -> None:
    """Run the rules for the demo's events now, as the worker would, so what they raise
    is on the board at once."""
    from mes.core.services import event_process

    pending = Event.objects.filter(type__in=types, processed_at__isnull=True).order_by("pk")
    for event_id in pending.values_list("pk", flat=True):
        event_process(event_id=event_id)


def _production(
    items: dict[str, Item], locations: dict[str, Location], users: dict[str, Any]
) -> None:
    """Bar stock -> shafts (WO-D101) -> drive units (WO-D102), one shipped: the trace of
    a drive unit goes two levels down to the steel's heat number, and forward from the heat
    to the customer."""
    floor = users["floorlead"]
    heat = Lot.objects.get(item=items["RB-42CR-050"], supplier_lot="HEAT-48213")
    wo_id, wo_ref = WO_SHAFTS
    work_order_issue(
        work_order_id=wo_id,
        work_order_ref=wo_ref,
        item=items["RB-42CR-050"],
        quantity=Decimal("6.5"),
        from_location=locations["B-01-01"],
        lot=heat,
        actor=floor,
    )
    shafts = production_receive(
        work_order_id=wo_id,
        work_order_ref=wo_ref,
        item=items["SH-2010"],
        quantity=10,
        to_location=locations["A-01-02"],
        actor=floor,
    )
    wo_id, wo_ref = WO_DRIVES
    components: list[tuple[str, Decimal, Lot | None]] = [
        ("SH-2010", Decimal(2), shafts),
        ("BRG-6208-2RS", Decimal(4), None),
        ("GM-0750", Decimal(1), Lot.objects.get(item=items["GM-0750"], number="GM75-0101")),
        ("GM-0750", Decimal(1), Lot.objects.get(item=items["GM-0750"], number="GM75-0102")),
        ("ORG-050-3-NBR", Decimal(4), Lot.objects.get(item=items["ORG-050-3-NBR"])),
    ]
    for sku, quantity, lot in components:
        item = items[sku]
        work_order_issue(
            work_order_id=wo_id,
            work_order_ref=wo_ref,
            item=item,
            quantity=quantity,
            from_location=item.default_stock_location,
            lot=lot,
            actor=floor,
        )
    drives = production_receive(
        work_order_id=wo_id,
        work_order_ref=wo_ref,
        item=items["DU-7000"],
        quantity=2,
        to_location=locations["A-02-01"],
        actor=floor,
    )
    shipper = users["shipping"]
    move_post(
        type=MoveType.PICK,
        item=items["DU-7000"],
        quantity=1,
        actor=shipper,
        from_location=locations["A-02-01"],
        to_location=locations["SHIP-1"],
        lot=drives,
        document_type="shipment",
        document_ref="SH-D001",
    )
    move_post(
        type=MoveType.SHIPMENT,
        item=items["DU-7000"],
        quantity=1,
        actor=shipper,
        from_location=locations["SHIP-1"],
        lot=drives,
        document_type="shipment",
        document_ref="SH-D001",
        partner="Alpenland Fördertechnik GmbH",
    )


def _kits(
    items: dict[str, Item], locations: dict[str, Location], users: dict[str, Any]
) -> list[str]:
    """One kit staged at the welding line, one being picked for the next drive units (with
    one refused scan: the wrong bin)."""
    clerk = users["warehouse"]
    wo_id, wo_ref = WO_FRAMES
    staged = kit_create(
        work_order_id=wo_id,
        work_order_ref=wo_ref,
        staging_location=locations["LS-WELD-1"],
        components=[
            (items["FB-S235-200"], Decimal("13")),
            (items["SCR-M12X40-88"], Decimal("16")),
            (items["PWD-RAL7035"], Decimal("2.4")),
        ],
        actor=clerk,
    )
    for line in kit_pick_list(kit=staged):
        kit_pick(
            kit=staged,
            actor=clerk,
            location_code=line.location.barcode,
            item_code=line.item.sku,
            lot_code=line.lot.number if line.lot else "",
            quantity=line.quantity,
        )
    staged = kit_stage(kit=Kit.objects.get(pk=staged.pk), actor=clerk)
    wo_id, wo_ref = WO_DRIVES_NEXT
    picking = kit_create(
        work_order_id=wo_id,
        work_order_ref=wo_ref,
        staging_location=locations["LS-ASSY-1"],
        components=[
            (items["SH-2010"], Decimal("2")),
            (items["BRG-6208-2RS"], Decimal("4")),
            (items["GM-0750"], Decimal("2")),
        ],
        actor=clerk,
    )
    lines = kit_pick_list(kit=picking)
    first = lines[0]
    wrong_bin = next(
        code for code in ("A-02-01", "A-01-01", "B-01-01") if code != first.location.code
    )
    try:
        kit_pick(
            kit=picking,
            actor=clerk,
            location_code=wrong_bin,
            item_code=first.item.sku,
            lot_code=first.lot.number if first.lot else "",
            quantity=first.quantity,
        )
    except ValidationFailed:  # the refusal is the point: it is recorded and counted
        pass
    kit_pick(
        kit=Kit.objects.get(pk=picking.pk),
        actor=clerk,
        location_code=first.location.barcode,
        item_code=first.item.sku,
        lot_code=first.lot.number if first.lot else "",
        quantity=first.quantity,
    )
    return [staged.number, picking.number]


def _hold(users: dict[str, Any]) -> str:
    """Quality holds the older powder lot: its certificate does not match the delivery."""
    lot = Lot.objects.get(item__sku="PWD-RAL7035", supplier_lot="PL-2291")
    hold = hold_place(
        scope="lot",
        lot=lot,
        actor=users["quality"],
        reason_code="quality",
        note="Certificate of analysis names another batch; sample sent to the lab.",
    )
    return hold.number
