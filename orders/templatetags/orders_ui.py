"""Display helpers for order pages: quantities, state badges, sortable column headers."""

from __future__ import annotations

from typing import Any

from django import template

from mes.core.formatting import quantity_text

register = template.Library()

ORDER_STATE_CLASSES = {
    "draft": "text-bg-secondary",
    "confirmed": "text-bg-primary",
    "in_production": "text-bg-info",
    "ready_to_ship": "text-bg-success",
    "partially_shipped": "text-bg-success",
    "shipped": "text-bg-dark",
    "closed": "text-bg-light border",
    "on_hold": "text-bg-warning",
    "cancelled": "text-bg-danger",
}
CHANGE_REQUEST_STATE_CLASSES = {
    "requested": "text-bg-warning",
    "approved": "text-bg-primary",
    "rejected": "text-bg-danger",
    "applied": "text-bg-success",
}
PRIORITY_CLASSES = {
    1: "text-bg-danger",
    2: "text-bg-warning",
    3: "text-bg-light border",
    4: "text-bg-light border",
}


@register.filter
def qty(value: Any) -> str:
    """10.000 -> 10, 2.500 -> 2.5; anything that is not a number is shown as it is."""
    return quantity_text(value)


@register.filter
def order_state_class(state: str) -> str:
    return ORDER_STATE_CLASSES.get(str(state), "text-bg-secondary")


@register.filter
def change_request_state_class(state: str) -> str:
    return CHANGE_REQUEST_STATE_CLASSES.get(str(state), "text-bg-secondary")


@register.filter
def priority_class(priority: int) -> str:
    return PRIORITY_CLASSES.get(priority, "text-bg-light border")


@register.simple_tag
def sort_toggle(current: str, field: str) -> str:
    """The ordering a column header links to: ascending first, then descending."""
    return f"-{field}" if current == field else field


@register.simple_tag
def sort_indicator(current: str, field: str) -> str:
    if current == field:
        return "▲"
    if current == f"-{field}":
        return "▼"
    return ""


@register.simple_tag
def aria_sort(current: str, field: str) -> str:
    if current == field:
        return "ascending"
    if current == f"-{field}":
        return "descending"
    return "none"


@register.filter
def elided_pages(page: Any) -> Any:
    """Page numbers around the current page, with … for the gaps."""
    return page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)


@register.filter
def duration(value: Any) -> str:
    """A timedelta as "15 minutes" / "2 hours"."""
    from django.utils.translation import ngettext

    seconds = int(value.total_seconds()) if hasattr(value, "total_seconds") else int(value or 0)
    minutes = max(1, round(seconds / 60))
    if minutes < 120:
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    hours = round(minutes / 60)
    return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}


@register.filter
def overdue(value: Any) -> bool:
    """A date before today in the plant's time zone."""
    from django.utils import timezone

    return value is not None and value < timezone.localdate()


@register.filter
def order_state_label(value: str) -> str:
    from orders.models import OrderState

    try:
        return str(OrderState(value).label)
    except ValueError:
        return str(value)
