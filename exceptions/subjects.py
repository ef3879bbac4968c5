"""What a rule can see of an event's subject: a documented snapshot per model.

Each app registers its models here (orders now; inventory, planning and shipping as they
land); the snapshot's shape is also the field list that conditions are checked against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models


@dataclass(frozen=True)
class SubjectSpec:
    name: str  # the name conditions use, e.g. "order"
    fields: Mapping[str, Any]  # nested mapping of documented field names
    snapshot: Callable[[Any], dict[str, Any]]
    # Reads the subject with what its snapshot needs (select/prefetch), in fixed queries.
    queryset: Callable[[], models.QuerySet[Any]] | None = None


SUBJECTS: dict[str, SubjectSpec] = {}


def register_subject(
    model_label: str,
    *,
    name: str,
    fields: Mapping[str, Any],
    snapshot: Callable[[Any], dict[str, Any]],
    queryset: Callable[[], models.QuerySet[Any]] | None = None,
) -> None:
    SUBJECTS[model_label.lower()] = SubjectSpec(name, fields, snapshot, queryset)


def subject_queryset(model: type[models.Model]) -> models.QuerySet[Any]:
    spec = SUBJECTS.get(model._meta.label_lower)
    if spec is not None and spec.queryset is not None:
        return spec.queryset()
    return model._default_manager.all()


def subject_spec_for_label(label: str) -> SubjectSpec | None:
    return SUBJECTS.get((label or "").lower())


def subject_snapshot(instance: models.Model | None) -> dict[str, Any]:
    """{name: snapshot} for the subject, or {} when it has no registered snapshot."""
    if instance is None:
        return {}
    spec = SUBJECTS.get(instance._meta.label_lower)
    return {spec.name: spec.snapshot(instance)} if spec else {}


# --- orders ----------------------------------------------------------------------------

ORDER_FIELDS = {
    "number": "string",
    "external_id": "string",
    "state": "string",
    "priority": "integer",
    "in_production": "boolean",
    "customer": {"code": "string", "name": "string", "priority_class": "string"},
    "line_count": "integer",
    "earliest_promise_days": "integer",
}


def _order_snapshot(order: Any) -> dict[str, Any]:
    from django.utils import timezone

    if hasattr(order, "snapshot_line_count"):  # read by _order_queryset: no lines needed
        line_count, earliest = order.snapshot_line_count, order.snapshot_earliest_promise
    else:
        lines = list(order.lines.all())
        promises = [line.promise_date for line in lines if line.promise_date]
        line_count, earliest = len(lines), min(promises, default=None)
    today = timezone.localdate()
    return {
        "number": order.number,
        "external_id": order.external_id or "",
        "state": order.state,
        "priority": order.priority,
        "in_production": order.is_in_production,
        "customer": {
            "code": order.customer.code,
            "name": order.customer.name,
            "priority_class": order.customer.priority_class,
        },
        "line_count": line_count,
        "earliest_promise_days": (earliest - today).days if earliest else None,
    }


def _change_request_snapshot(cr: Any) -> dict[str, Any]:
    return {
        "number": cr.number,
        "kind": cr.kind,
        "state": cr.state,
        "needs_approval": cr.needs_approval,
        "order": _order_snapshot(cr.order),
    }


def _order_queryset() -> models.QuerySet[Any]:
    """The order, its customer and what the snapshot needs of its lines, in one query."""
    from orders.models import SalesOrder

    return SalesOrder.objects.select_related("customer").annotate(
        snapshot_line_count=models.Count("lines"),
        snapshot_earliest_promise=models.Min("lines__promise_date"),
    )


def _change_request_queryset() -> models.QuerySet[Any]:
    from orders.models import ChangeRequest

    return ChangeRequest.objects.select_related("order__customer").prefetch_related("order__lines")


register_subject(
    "orders.salesorder",
    name="order",
    fields=ORDER_FIELDS,
    snapshot=_order_snapshot,
    queryset=_order_queryset,
)
register_subject(
    "orders.changerequest",
    name="change_request",
    fields={
        "number": "string",
        "kind": "string",
        "state": "string",
        "needs_approval": "boolean",
        "order": ORDER_FIELDS,
    },
    snapshot=_change_request_snapshot,
    queryset=_change_request_queryset,
)
