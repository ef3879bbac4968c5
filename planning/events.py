"""Event types the planning app emits (work center and operation events are in the
exceptions catalogue, where outside systems may post them too)."""

from mes.core.events import register_event_type

WORK_ORDER_CREATED = register_event_type(
    "workorder.created",
    subject="planning.WorkOrder",
    description="A work order was made (from a sales-order line or by hand).",
    schema={"number": "string", "item": "string", "quantity": "number", "order": "string?"},
)
WORK_ORDER_STATUS_CHANGED = register_event_type(
    "workorder.status_changed",
    subject="planning.WorkOrder",
    description="A work order moved to another state (release, start, complete, hold, ...).",
    payload_fields=("transition", "from", "to", "comment"),
)
WORK_ORDER_RELEASED = register_event_type(
    "workorder.released",
    subject="planning.WorkOrder",
    description="A work order was released to the floor; overrides name what was overridden.",
    payload_fields=("transition", "from", "to", "overridden"),
)
WORK_ORDER_CHANGED = register_event_type(
    "workorder.changed",
    subject="planning.WorkOrder",
    description="A governed field of a work order changed (expedite, quantity, due date).",
    payload_fields=("record", "field", "old", "new", "reason_code", "reason_text"),
)

for _name, _what in [
    (
        "operation.started",
        "An operation started on the floor (out of sequence or off the routing is said).",
    ),
    ("operation.paused", "An operation was paused, with the reason."),
    ("operation.resumed", "A paused operation runs again."),
    ("operation.completed", "An operation finished: nothing more can reach it."),
]:
    register_event_type(
        _name,
        subject="planning.Operation",
        description=_what,
        payload_fields=("operation", "work_center"),
    )
