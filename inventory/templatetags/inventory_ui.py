"""Display helpers for inventory pages: state badges and trace nodes."""

from __future__ import annotations

from django import template

register = template.Library()

RECEIPT_STATE_BADGES = {
    "expected": "text-bg-primary",
    "received": "text-bg-info",
    "inspected": "text-bg-success",
    "put_away": "text-bg-light border",
    "rejected": "text-bg-danger",
    "cancelled": "text-bg-secondary",
}
KIT_STATE_BADGES = {
    "open": "text-bg-secondary",
    "picking": "text-bg-info",
    "staged": "text-bg-success",
    "issued": "text-bg-light border",
    "cancelled": "text-bg-danger",
}
LOCATION_TYPE_BADGES = {
    "quarantine": "text-bg-danger",
    "receiving": "text-bg-info",
    "staging": "text-bg-success",
    "line_side": "text-bg-success",
    "shipping": "text-bg-primary",
    "wip": "text-bg-warning",
}


@register.filter
def receipt_badge(state: str) -> str:
    return RECEIPT_STATE_BADGES.get(str(state), "text-bg-secondary")


@register.filter
def kit_badge(state: str) -> str:
    return KIT_STATE_BADGES.get(str(state), "text-bg-secondary")


@register.filter
def location_badge(location_type: str) -> str:
    return LOCATION_TYPE_BADGES.get(str(location_type), "text-bg-light border")
