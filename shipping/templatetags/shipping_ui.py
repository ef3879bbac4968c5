"""Display helpers for shipping pages: state badges and Code 128 barcodes drawn as SVG
on the server (reportlab), so a label page prints from any browser without fonts or
scripts."""

from __future__ import annotations

import re
from functools import lru_cache

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from reportlab.graphics import renderSVG
from reportlab.graphics.barcode import createBarcodeDrawing

register = template.Library()

SHIPMENT_STATE_BADGES = {
    "planned": "text-bg-secondary",
    "picking": "text-bg-info",
    "packed": "text-bg-primary",
    "documented": "text-bg-primary",
    "handed_over": "text-bg-success",
    "delivered": "text-bg-light border",
    "on_hold": "text-bg-warning",
    "cancelled": "text-bg-danger",
}


@register.filter
def shipment_badge(state: str) -> str:
    return SHIPMENT_STATE_BADGES.get(str(state), "text-bg-secondary")


@lru_cache(maxsize=512)
def _code128_svg(value: str, bar_height: float, bar_width: float) -> str:
    drawing = createBarcodeDrawing(
        "Code128",
        value=value,
        barHeight=bar_height,
        barWidth=bar_width,
        humanReadable=True,
        quiet=True,
    )
    svg = renderSVG.drawToString(drawing)
    svg = svg[svg.index("<svg") :]  # no XML declaration or doctype inside HTML
    # Several barcodes share a page: give each its own ids.
    suffix = re.sub(r"[^A-Za-z0-9]", "-", value)
    svg = svg.replace('id="clip"', f'id="clip-{suffix}"').replace(
        "url(#clip)", f"url(#clip-{suffix})"
    )
    svg = svg.replace('id="group"', f'id="group-{suffix}"')
    svg = svg.replace("<title>...</title>", f"<title>{escape(value)}</title>")
    return svg.replace("<desc>...</desc>", "")


@register.filter
def code128_svg(value: str, size: str = "") -> SafeString:
    """`{{ label|code128_svg }}` (or `|code128_svg:"large"`): the value as an inline SVG
    Code 128 barcode with its text under it."""
    large = size == "large"
    svg = _code128_svg(str(value), 70.0 if large else 48.0, 1.6 if large else 1.2)
    label = escape(value)
    # The SVG is drawn here and every text in it escaped.
    return mark_safe(f'<span class="mes-barcode" role="img" aria-label="{label}">{svg}</span>')


@register.filter
def words(value: str) -> str:
    """release_hold -> release hold."""
    return str(value).replace("_", " ")
