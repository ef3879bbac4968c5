"""The must-ship board's readiness ticks, rendered in one go: a page shows five per line
and a hundred lines, which the template language would walk step by step."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def readiness_ticks(row: Any) -> SafeString:
    """<li> per step: data-step, data-done (yes / no / na), a mark and a spoken state."""
    return format_html_join(
        "",
        '<li class="badge {}" data-step="{}" data-done="{}"><span aria-hidden="true">{}</span>'
        ' {}<span class="visually-hidden">: {}</span></li>',
        (
            (step.badge, step.key, step.state, step.mark, step.label, step.spoken)
            for step in row.readiness
        ),
    )
