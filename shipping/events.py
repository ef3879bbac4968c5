"""Event types of dispatch. `shipment.handed_over` and `shipment.delivered` are what the
ERP subscribes to (webhooks); `shipment.incorrect_dispatch` is what the rules raise an
exception on. Mis-picks are the shared `pick.mismatch`, with the shipment as subject."""

from mes.core.events import register_event_type

SHIPMENT_HANDED_OVER = register_event_type(
    "shipment.handed_over",
    subject="shipping.Shipment",
    description=(
        "A shipment left with its carrier: its stock was issued to the customer and its "
        "orders moved to partially shipped or shipped."
    ),
    schema={
        "number": "string",
        "orders": "list",
        "customer": "string",
        "ship_to": "string?",
        "carrier": "string",
        "service_level": "string?",
        "tracking_number": "string",
        "tracking_url": "string?",
        "driver_name": "string",
        "handed_over_at": "datetime",
        "packages": "integer",
        "weight_kg": "number",
        "lines": "list",
    },
)
SHIPMENT_DELIVERED = register_event_type(
    "shipment.delivered",
    subject="shipping.Shipment",
    description="The carrier or the customer confirmed the delivery of a shipment.",
    schema={
        "number": "string",
        "orders": "list",
        "customer": "string",
        "delivered_at": "datetime",
        "note": "string?",
    },
)
SHIPMENT_INCORRECT_DISPATCH = register_event_type(
    "shipment.incorrect_dispatch",
    subject="shipping.Shipment",
    description=(
        "At the dock, a package label of another shipment was scanned for this one: the "
        "package was refused and the scan counted."
    ),
    schema={
        "number": "string",
        "label": "string",
        "belongs_to": "string",
        "scanned_by": "string?",
        "message": "string?",
    },
)
