"""Event types the inventory flows emit beyond the shared catalogue (material.delayed,
material.shortage, quality holds and pick.mismatch live in exceptions/events.py)."""

from mes.core.events import register_event_type

RECEIPT_RECEIVED = register_event_type(
    "receipt.received",
    subject="inventory.ExpectedReceipt",
    description="Goods of an expected receipt arrived at the dock (short deliveries say so).",
    schema={
        "number": "string",
        "item": "string",
        "quantity": "number",
        "quantity_expected": "number",
        "short": "boolean",
        "lot": "string?",
        "supplier": "string?",
        "location": "string?",
    },
)
RECEIPT_REJECTED = register_event_type(
    "receipt.rejected",
    subject="inventory.ExpectedReceipt",
    description="Inspection rejected a receipt: its stock went to quarantine.",
    schema={
        "number": "string",
        "item": "string",
        "quantity": "number",
        "reason": "string",
        "supplier": "string?",
        "location": "string?",
    },
)
KIT_STAGED = register_event_type(
    "kit.staged",
    subject="inventory.Kit",
    description="Every component of a work order's kit is picked and staged (locked to it).",
    payload_fields=("transition", "from", "to", "number", "work_order", "location"),
)
KIT_ISSUED = register_event_type(
    "kit.issued",
    subject="inventory.Kit",
    description="A staged kit was issued to its work order.",
    payload_fields=("transition", "from", "to", "number", "work_order", "moves"),
)
PRODUCTION_RECEIVED = register_event_type(
    "production.received",
    subject="inventory.Item",
    description="A work order's output was received into stock as a new lot.",
    schema={
        "item": "string",
        "quantity": "number",
        "work_order": "string",
        "lot": "string?",
        "location": "string?",
    },
)
