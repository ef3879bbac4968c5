"""Reads of orders shared by pages, the API and other apps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, Min, Prefetch, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.core.selectors import history_for

from .models import (
    COMMITTED_OPEN_STATES,
    ChangeRequest,
    Customer,
    OrderState,
    SalesOrder,
    SalesOrderLine,
)

ORDERINGS = {
    "number": "number",
    "-number": "-number",
    "customer": "customer__code",
    "-customer": "-customer__code",
    "state": "state",
    "-state": "-state",
    "due": "earliest_due",
    "-due": "-earliest_due",
    "created": "created_at",
    "-created": "-created_at",
    "priority": "priority",
    "-priority": "-priority",
}


def orders_list(
    *,
    state: str = "",
    customer: str = "",
    due_from: dt.date | None = None,
    due_to: dt.date | None = None,
    search: str = "",
    ordering: str = "-created",
) -> QuerySet[SalesOrder]:
    """The order book: one query, whatever the number of orders and lines."""
    qs = SalesOrder.objects.select_related("customer").annotate(
        line_count=Count("lines", distinct=True),
        total_quantity=Sum("lines__quantity"),
        earliest_due=Min("lines__promise_date"),
        earliest_requested=Min("lines__requested_date"),
    )
    if state:
        qs = qs.filter(state=state)
    if customer:
        qs = qs.filter(Q(customer__code__iexact=customer) | Q(customer__name__icontains=customer))
    if due_from:
        qs = qs.filter(lines__promise_date__gte=due_from)
    if due_to:
        qs = qs.filter(lines__promise_date__lte=due_to)
    if due_from or due_to:
        qs = qs.distinct()
    if search:
        search = search.strip()
        qs = qs.filter(
            Q(number__icontains=search)
            | Q(external_id__icontains=search)
            | Q(customer_po__icontains=search)
        )
    return qs.order_by(ORDERINGS.get(ordering, "-created_at"), "-id")


def order_by_number(*, number: str) -> SalesOrder | None:
    return (
        SalesOrder.objects.select_related("customer", "ship_to", "created_by")
        .prefetch_related(
            Prefetch("lines", queryset=SalesOrderLine.objects.select_related("item")),
        )
        .filter(number=number)
        .first()
    )


def order_by_external_id(*, external_id: str) -> SalesOrder | None:
    return SalesOrder.objects.filter(external_id=external_id).first()


def change_requests_for_order(*, order: SalesOrder) -> list[ChangeRequest]:
    return list(
        ChangeRequest.objects.filter(order=order)
        .select_related("line", "new_item", "reason_code", "requested_by", "decided_by")
        .order_by("-requested_at", "-id")
    )


@dataclass
class TimelineEntry:
    at: dt.datetime
    kind: str  # "transition", "change", "change_request"
    title: str
    detail: str
    actor: Any
    record: str


def display_value(value: Any) -> str:
    """A recorded value as people read it: 10.000 -> 10, None -> '—'."""
    if value is None or value == "":
        return "—"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return value
        return f"{number.normalize():f}" if number.is_finite() else value
    return str(value)


def _state_label(state: str) -> str:
    return str(
        dict(OrderState.choices).get(state)
        or dict(ChangeRequest.State.choices).get(state, state.replace("_", " "))
    ).lower()


def order_timeline(*, order: SalesOrder) -> list[TimelineEntry]:
    """Transitions, governed-field changes and change requests of one order, in order."""
    lines = list(order.lines.all())
    crs = change_requests_for_order(order=order)
    history = history_for([order, *lines, *crs])
    entries: list[TimelineEntry] = []
    labels = {line.pk: _("line %(no)s") % {"no": line.line_no} for line in lines}
    for t in history["transitions"]:
        is_order = t.content_type.model == "salesorder"
        record = order.number if is_order else t.object_repr
        reason = f" ({t.reason_code.label})" if t.reason_code_id else ""
        entries.append(
            TimelineEntry(
                at=t.at,
                kind="transition",
                title=_("%(record)s: %(old)s → %(new)s")
                % {
                    "record": record,
                    "old": _state_label(t.from_state),
                    "new": _state_label(t.to_state),
                },
                detail=f"{t.comment}{reason}".strip(),
                actor=t.actor,
                record=record,
            )
        )
    for c in history["changes"]:
        is_line = c.content_type.model == "salesorderline"
        where = labels.get(c.object_id, order.number) if is_line else order.number
        entries.append(
            TimelineEntry(
                at=c.at,
                kind="change",
                title=_("%(where)s: %(field)s %(old)s → %(new)s")
                % {
                    "where": where,
                    "field": c.field.replace("_", " "),
                    "old": display_value(c.old_value),
                    "new": display_value(c.new_value),
                },
                detail=f"{c.reason_code.label}: {c.reason_text}",
                actor=c.actor,
                record=where,
            )
        )
    for cr in crs:
        entries.append(
            TimelineEntry(
                at=cr.requested_at,
                kind="change_request",
                title=_("%(number)s requested: %(summary)s")
                % {"number": cr.number, "summary": change_request_summary(cr)},
                detail=f"{cr.reason_code.label}: {cr.reason_text}",
                actor=cr.requested_by,
                record=cr.number,
            )
        )
    entries.sort(key=lambda e: e.at)
    return entries


def change_request_summary(cr: ChangeRequest) -> str:
    Kind = ChangeRequest.Kind  # noqa: N806
    line = _("line %(no)s") % {"no": cr.line.line_no} if cr.line_id and cr.line else ""
    if cr.kind == Kind.QUANTITY:
        return _("%(line)s quantity %(old)s → %(new)s") % {
            "line": line,
            "old": display_value(cr.old_value),
            "new": display_value(cr.new_quantity),
        }
    if cr.kind == Kind.DATE:
        return _("%(line)s requested date %(old)s → %(new)s") % {
            "line": line,
            "old": display_value(cr.old_value),
            "new": f"{cr.new_date:%Y-%m-%d}",
        }
    if cr.kind == Kind.CANCEL:
        return str(_("cancel the order"))
    item = cr.new_item.sku if cr.new_item_id and cr.new_item else "?"
    return _("add line %(item)s × %(qty)s for %(date)s") % {
        "item": item,
        "qty": display_value(cr.new_quantity),
        "date": f"{cr.new_date:%Y-%m-%d}",
    }


def change_requests_list(*, state: str = "") -> QuerySet[ChangeRequest]:
    qs = ChangeRequest.objects.select_related(
        "order", "order__customer", "line", "new_item", "reason_code", "requested_by", "decided_by"
    ).order_by("-requested_at", "-id")
    if state:
        qs = qs.filter(state=state)
    return qs


def change_requests_pending() -> QuerySet[ChangeRequest]:
    return change_requests_list(state=ChangeRequest.State.REQUESTED)


def order_counts_by_state() -> list[dict[str, Any]]:
    counts = dict(
        SalesOrder.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n")
    )
    return [
        {"state": value, "label": label, "count": counts.get(value, 0)}
        for value, label in OrderState.choices
    ]


def order_lines_due_soon(*, days: int = 7) -> list[SalesOrderLine]:
    today = timezone.localdate()
    return list(
        SalesOrderLine.objects.select_related("order", "order__customer", "item")
        .filter(
            order__state__in=COMMITTED_OPEN_STATES,
            promise_date__lte=today + dt.timedelta(days=days),
        )
        .order_by("promise_date", "order__number", "line_no")[:50]
    )


def customers_active() -> QuerySet[Customer]:
    return Customer.objects.filter(active=True).order_by("code")
