"""What decision rules see of inventory records (exceptions.subjects).

The names avoid the payload fields of the events about them: `material.delayed` and
`material.shortage` carry `item` (the SKU) and the hold events carry `hold` (its number),
and the engine lays a subject's snapshot over the payload. So an item is `material`
(`material.sku`, `material.lead_time_days`) and a hold is `quality_hold`
(`quality_hold.scope`)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from exceptions.subjects import register_subject

MATERIAL_FIELDS = {
    "sku": "string",
    "name": "string",
    "unit": "string",
    "source": "string",
    "tracking": "string",
    "lead_time_days": "integer",
    "shelf_life_days": "integer",
    "backflush": "boolean",
    "active": "boolean",
}


def _material_snapshot(item: Any) -> dict[str, Any]:
    return {
        "sku": item.sku,
        "name": item.name,
        "unit": item.unit,
        "source": item.source,
        "tracking": item.tracking,
        "lead_time_days": item.lead_time_days,
        "shelf_life_days": item.shelf_life_days,
        "backflush": item.backflush,
        "active": item.active,
    }


def _hold_snapshot(hold: Any) -> dict[str, Any]:
    lot = hold.lot
    return {
        "number": hold.number,
        "scope": hold.scope,
        "state": hold.state,
        "covers": hold.covers,
        "reason_code": hold.reason_code.code,
        "lot": lot.number if lot is not None else None,
        "item": lot.item.sku if lot is not None else None,
        "location": hold.location.code if hold.location_id else None,
        "work_order": hold.work_order_ref or None,
    }


def _receipt_snapshot(receipt: Any) -> dict[str, Any]:
    today = timezone.localdate()
    late = receipt.state == "expected" and receipt.expected_date < today
    return {
        "number": receipt.number,
        "state": receipt.state,
        "po_number": receipt.po_number,
        "supplier": receipt.supplier,
        "item": _material_snapshot(receipt.item),
        "quantity_expected": float(receipt.quantity_expected),
        "quantity_received": float(receipt.quantity_received),
        "expected_date": receipt.expected_date.isoformat(),
        "days_late": (today - receipt.expected_date).days if late else 0,
    }


def _kit_snapshot(kit: Any) -> dict[str, Any]:
    return {
        "number": kit.number,
        "state": kit.state,
        "work_order": kit.work_order_ref,
        "mispicks": kit.mispicks,
        "staging_location": kit.staging_location.code,
    }


def _item_queryset() -> models.QuerySet[Any]:
    from .models import Item

    return Item.objects.all()


def _hold_queryset() -> models.QuerySet[Any]:
    from .models import QualityHold

    return QualityHold.objects.select_related("lot__item", "location", "reason_code")


def _receipt_queryset() -> models.QuerySet[Any]:
    from .models import ExpectedReceipt

    return ExpectedReceipt.objects.select_related("item")


def _kit_queryset() -> models.QuerySet[Any]:
    from .models import Kit

    return Kit.objects.select_related("staging_location")


register_subject(
    "inventory.item",
    name="material",
    fields=MATERIAL_FIELDS,
    snapshot=_material_snapshot,
    queryset=_item_queryset,
)
register_subject(
    "inventory.qualityhold",
    name="quality_hold",
    fields={
        "number": "string",
        "scope": "string",
        "state": "string",
        "covers": "string",
        "reason_code": "string",
        "lot": "string",
        "item": "string",
        "location": "string",
        "work_order": "string",
    },
    snapshot=_hold_snapshot,
    queryset=_hold_queryset,
)
register_subject(
    "inventory.expectedreceipt",
    name="receipt",
    fields={
        "number": "string",
        "state": "string",
        "po_number": "string",
        "supplier": "string",
        "item": MATERIAL_FIELDS,
        "quantity_expected": "number",
        "quantity_received": "number",
        "expected_date": "date",
        "days_late": "integer",
    },
    snapshot=_receipt_snapshot,
    queryset=_receipt_queryset,
)
register_subject(
    "inventory.kit",
    name="kit",
    fields={
        "number": "string",
        "state": "string",
        "work_order": "string",
        "mispicks": "integer",
        "staging_location": "string",
    },
    snapshot=_kit_snapshot,
    queryset=_kit_queryset,
)
