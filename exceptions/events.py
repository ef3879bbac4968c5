"""The plant's event catalogue beyond orders: what the shop floor, the warehouse and the
outside world report. Inventory, planning and shipping emit these through
mes.core.events.event_emit; outside systems post the `external` ones through the API."""

from mes.core.events import register_event_type

register_event_type(
    "material.delayed",
    subject="inventory.Item",
    description="An expected receipt is past its date without arrival.",
    schema={
        "item": "string",
        "delay_days": "integer",
        "expected_date": "date",
        "quantity": "number?",
        "supplier": "string?",
        "order": "string?",
    },
    external=True,
)
register_event_type(
    "material.shortage",
    subject="orders.SalesOrder",
    description="A demand cannot be covered: the missing quantity of an item.",
    schema={
        "item": "string",
        "missing_quantity": "number",
        "demand": "string?",
        "at_release": "boolean?",
    },
    external=True,
)
register_event_type(
    "workcenter.down",
    subject="planning.WorkCenter",
    description="A work center stopped (breakdown, no operator, tooling).",
    schema={"work_center": "string", "reason": "string", "down_minutes": "integer?"},
    external=True,
)
register_event_type(
    "workcenter.up",
    subject="planning.WorkCenter",
    description="A work center runs again.",
    schema={"work_center": "string", "down_minutes": "integer?"},
    external=True,
)
register_event_type(
    "order.promise_at_risk",
    subject="orders.SalesOrder",
    description="A promise date is at risk: the order will likely ship late.",
    schema={
        "line": "integer?",
        "promise_date": "date",
        "expected_date": "date?",
        "days_late": "integer?",
    },
    external=True,
)
register_event_type(
    "quality.hold_placed",
    subject="orders.SalesOrder",
    description="A quality hold was placed on a lot, location, work order or order.",
    schema={"hold": "string", "reason": "string", "scope": "string?"},
    external=True,
)
register_event_type(
    "quality.hold_released",
    subject="orders.SalesOrder",
    description="A quality hold was released.",
    schema={"hold": "string", "scope": "string?"},
    external=True,
)
register_event_type(
    "pick.mismatch",
    subject="orders.SalesOrder",
    description="A pick scan named the wrong item or lot: refused and counted.",
    schema={
        "expected": "string",
        "scanned": "string",
        "picker": "string?",
        # "kit" or "shipment": who picked decides who is told
        "document_type": "string?",
        "document": "string?",
    },
    external=True,
)
register_event_type(
    "operation.late",
    subject="orders.SalesOrder",
    description="An operation missed its scheduled end.",
    schema={"operation": "string", "late_minutes": "integer", "work_center": "string?"},
    external=True,
)
register_event_type(
    "exception.raised",
    subject="exceptions.PlantException",
    description="A rule raised an exception (a new one, not a repeat).",
    schema={
        "number": "string",
        "title": "string",
        "severity": "string",
        "owner_role": "string?",
        "rule": "string?",
    },
)
register_event_type(
    "exception.sla_breached",
    subject="exceptions.PlantException",
    description="An exception passed its SLA without being acknowledged.",
    schema={
        "number": "string",
        "severity": "string",
        "owner_role": "string?",
        "escalated_to": "string?",
    },
)
register_event_type(
    "exception.resolved",
    subject="exceptions.PlantException",
    description="An exception was resolved, with its resolution code.",
    schema={"number": "string", "resolution_code": "string", "note": "string?"},
)
register_event_type(
    "exception.reopened",
    subject="exceptions.PlantException",
    description="A resolved exception was reopened: its resolution did not hold.",
    schema={"number": "string", "reason": "string", "previous_resolution": "string?"},
)
