"""How a KPI figure reads on a page: a unit a person would write, no false precision."""

from __future__ import annotations

from typing import Any

from django import template

from kpis.indicators import HOURS, PERCENT

register = template.Library()


@register.filter
def kpi_value(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == HOURS:
        if abs(value) < 1:
            return f"{value * 60:.0f} min"
        if abs(value) >= 48:
            return f"{value / 24:.1f} days"
        return f"{value:.1f} h"
    if unit == PERCENT:
        return f"{value:.1f} %"
    number = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{number} {unit}".strip()


@register.filter
def column_label(path: str) -> str:
    """`work_order__number` -> `work order number`."""
    return path.replace("__", " ").replace("_", " ")


@register.filter
def cell(value: Any) -> Any:
    """A drill-down cell: wait seconds become hours, empty becomes a dash."""
    if value is None or value == "":
        return "—"
    return value


@register.filter
def index(values: list[Any], i: int) -> Any:
    try:
        return values[i]
    except (IndexError, TypeError):
        return ""


@register.filter
def index_key(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, key)


@register.filter
def hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600.0
