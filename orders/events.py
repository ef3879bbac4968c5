"""Event types the orders app emits."""

from mes.core.events import register_event_type

ORDER_CREATED = register_event_type(
    "order.created",
    subject="orders.SalesOrder",
    description="A sales order was entered.",
    payload_fields=("number", "external_id", "customer", "lines"),
)
ORDER_UPDATED = register_event_type(
    "order.updated",
    subject="orders.SalesOrder",
    description="A draft order's header or lines were edited.",
    payload_fields=("number", "external_id"),
)
ORDER_STATUS_CHANGED = register_event_type(
    "order.status_changed",
    subject="orders.SalesOrder",
    description="A sales order moved to another state (confirm, hold, ship, cancel, ...).",
    payload_fields=("transition", "from", "to", "comment"),
)
ORDER_CONFIRMED = register_event_type(
    "order.confirmed",
    subject="orders.SalesOrder",
    description="A sales order was confirmed and its lines got promise dates.",
    payload_fields=("transition", "from", "to", "lines"),
)
ORDER_CHANGED = register_event_type(
    "order.changed",
    subject="orders.SalesOrder",
    description="A governed field of an order or line changed (promise date, quantity, "
    "requested date, priority).",
    payload_fields=("record", "field", "old", "new", "reason_code", "reason_text"),
)
CHANGE_REQUESTED = register_event_type(
    "change_request.requested",
    subject="orders.ChangeRequest",
    description="A change to a confirmed order was requested.",
    payload_fields=("order", "kind", "needs_approval", "old", "new"),
)
CHANGE_APPROVED = register_event_type(
    "change_request.approved",
    subject="orders.ChangeRequest",
    description="A change request was approved.",
    payload_fields=("order", "kind", "transition", "from", "to"),
)
CHANGE_REJECTED = register_event_type(
    "change_request.rejected",
    subject="orders.ChangeRequest",
    description="A change request was rejected.",
    payload_fields=("order", "kind", "transition", "from", "to", "comment"),
)
CHANGE_APPLIED = register_event_type(
    "change_request.applied",
    subject="orders.ChangeRequest",
    description="An approved change was applied to its order.",
    payload_fields=("order", "kind", "transition", "from", "to"),
)
