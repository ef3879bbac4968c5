"""What decision rules see of a shipment (exceptions.subjects), and the fields the
`shipment_handover` check point offers beyond the order's snapshot.

The subject's name is `shipment`, as at the check point, so a rule reads
`shipment.number` wherever a shipment is involved."""

from __future__ import annotations

from typing import Any

from django.db import models

from exceptions.engine import register_check_point_fields
from exceptions.subjects import register_subject

SHIPMENT_FIELDS = {
    "number": "string",
    "state": "string",
    "customer": {"code": "string", "name": "string", "priority_class": "string"},
    "planned_ship_date": "date",
    "dock": "string",
    "carrier": "string",
    "mispicks": "integer",
    "incorrect_dispatches": "integer",
}
# What the handover check point adds to them (shipping supplies the values).
HANDOVER_FIELDS = {
    "shipment": {
        **SHIPMENT_FIELDS,
        "documents_complete": "boolean",
        "orders": "list",
        "packages": "integer",
        "weight_kg": "number",
        "short_lines": "integer",
        "service_level": "string",
    },
    "quality_hold": "boolean",
}


def shipment_snapshot(shipment: Any) -> dict[str, Any]:
    customer = shipment.customer
    return {
        "number": shipment.number,
        "state": shipment.state,
        "customer": {
            "code": customer.code,
            "name": customer.name,
            "priority_class": customer.priority_class,
        },
        "planned_ship_date": (
            shipment.planned_ship_date.isoformat() if shipment.planned_ship_date else None
        ),
        "dock": shipment.dock_location.code if shipment.dock_location_id else None,
        "carrier": shipment.carrier.code if shipment.carrier_id else None,
        "mispicks": shipment.mispicks,
        "incorrect_dispatches": shipment.incorrect_dispatches,
    }


def _shipment_queryset() -> models.QuerySet[Any]:
    from .models import Shipment

    return Shipment.objects.select_related("customer", "dock_location", "carrier")


register_subject(
    "shipping.shipment",
    name="shipment",
    fields=SHIPMENT_FIELDS,
    snapshot=shipment_snapshot,
    queryset=_shipment_queryset,
)
register_check_point_fields("shipment_handover", HANDOVER_FIELDS)
