"""Planning page helpers: state badges, and the Gantt chart drawn as server-side SVG
(lanes per machine, operation bars coloured by state, late ones marked, changeover and
downtime blocks, a time axis)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

register = template.Library()

WO_STATE_BADGES = {
    "planned": "text-bg-secondary",
    "released": "text-bg-primary",
    "in_progress": "text-bg-info",
    "completed": "text-bg-success",
    "closed": "text-bg-light border",
    "on_hold": "text-bg-warning",
    "cancelled": "text-bg-dark",
}
OP_STATE_BADGES = {
    "pending": "text-bg-light border",
    "ready": "text-bg-primary",
    "running": "text-bg-success",
    "paused": "text-bg-warning",
    "done": "text-bg-secondary",
    "blocked": "text-bg-danger",
    "cancelled": "text-bg-dark",
}
# Bar fills by operation state (colour-blind safe enough with the legend and labels).
BAR_FILLS = {
    "pending": "#ced4da",
    "ready": "#74c0fc",
    "running": "#51cf66",
    "paused": "#ffd43b",
    "blocked": "#ff8787",
    "done": "#adb5bd",
}


@register.filter
def wo_state_class(state: str) -> str:
    return WO_STATE_BADGES.get(state, "text-bg-light")


@register.filter
def op_state_class(state: str) -> str:
    return OP_STATE_BADGES.get(state, "text-bg-light")


@register.filter
def hours(minutes: Any) -> str:
    """Minutes as hours with one decimal ("7.5 h")."""
    try:
        return f"{float(minutes) / 60:.1f} h"
    except (TypeError, ValueError):
        return "—"


@register.filter
def load_class(percent: int) -> str:
    if percent > 100:
        return "mes-load-over"
    if percent >= 85:
        return "mes-load-high"
    return "mes-load-ok"


@register.filter
def bar_height(percent: int) -> int:
    """Bar height in percent of the cell; the cell shows up to 150 % of capacity."""
    return round(min(max(percent, 0), 150) * 100 / 150)


LABEL_WIDTH = 120
LANE_HEIGHT = 34
AXIS_HEIGHT = 40
WIDTH = 1200


def _tick_hours(span_hours: float) -> int:
    for limit, step in ((30, 2), (80, 6), (180, 12)):
        if span_hours <= limit:
            return step
    return 24


@register.inclusion_tag("planning/_gantt_svg.html")
def gantt_svg(
    bars: list[Any],
    start: dt.datetime,
    end: dt.datetime,
    centers: list[Any] | None = None,
) -> dict[str, Any]:
    """Geometry of the Gantt chart; the template only draws it."""
    lanes: list[str] = []
    for wc in centers or []:
        lanes.extend(f"{wc.code} #{n + 1}" for n in range(wc.capacity))
    for bar in bars:
        if bar.lane not in lanes and not (bar.kind == "downtime" and centers):
            lanes.append(bar.lane)
    span = max((end - start).total_seconds(), 1)
    plot = WIDTH - LABEL_WIDTH - 10

    def x(moment: dt.datetime) -> float:
        moment = min(max(moment, start), end)
        return round(LABEL_WIDTH + (moment - start).total_seconds() / span * plot, 1)

    def y(lane: str) -> int:
        return AXIS_HEIGHT + lanes.index(lane) * LANE_HEIGHT

    shapes = []
    for bar in bars:
        targets = [bar.lane]
        if bar.kind == "downtime" and bar.lane.endswith(" #1"):
            # A work center down stops all its machines.
            prefix = bar.lane[: -len("1")]
            targets = [lane for lane in lanes if lane.startswith(prefix)] or [bar.lane]
        for lane in targets:
            if lane not in lanes:
                lanes.append(lane)
            left, right = x(bar.start), x(bar.end)
            width = max(right - left, 2)
            chars = int(width // 7)
            shapes.append(
                {
                    "kind": bar.kind,
                    "state": bar.state,
                    "late": bar.late,
                    "lane": lane,
                    "x": left,
                    "y": y(lane) + (3 if bar.kind != "downtime" else 1),
                    "width": round(width, 1),
                    "height": LANE_HEIGHT - (6 if bar.kind != "downtime" else 2),
                    "fill": BAR_FILLS.get(bar.state, "#ced4da"),
                    "label": bar.label,
                    "text": bar.label
                    if len(bar.label) <= chars
                    else bar.label[: max(chars - 1, 0)] + ("…" if chars > 3 else ""),
                    "title": (
                        f"{bar.label}: {timezone.localtime(bar.start):%a %H:%M}"
                        f"–{timezone.localtime(bar.end):%a %H:%M}"
                        + (f" ({bar.state})" if bar.state else "")
                        + (" — late" if bar.late else "")
                    ),
                }
            )
    # downtime under the bars, changeovers and operations on top
    shapes.sort(key=lambda s: 0 if s["kind"] == "downtime" else 1)
    height = AXIS_HEIGHT + max(len(lanes), 1) * LANE_HEIGHT + 4
    step = _tick_hours(span / 3600)
    local_start = timezone.localtime(start)
    tick = local_start.replace(minute=0, second=0, microsecond=0)
    while tick.hour % step:
        tick += dt.timedelta(hours=1)
    ticks = []
    while tick <= end:
        if tick >= start:
            ticks.append(
                {
                    "x": x(tick),
                    "label": tick.strftime("%a %d") if tick.hour == 0 else tick.strftime("%H:%M"),
                    "day": tick.hour == 0,
                }
            )
        tick += dt.timedelta(hours=step)
    now = timezone.now()
    return {
        "width": WIDTH,
        "height": height,
        "label_width": LABEL_WIDTH,
        "lanes": [
            {
                "name": lane,
                "y": AXIS_HEIGHT + i * LANE_HEIGHT,
                "mid": AXIS_HEIGHT + i * LANE_HEIGHT + LANE_HEIGHT // 2 + 4,
            }
            for i, lane in enumerate(lanes)
        ],
        "lane_height": LANE_HEIGHT,
        "shapes": shapes,
        "ticks": ticks,
        "axis_y": AXIS_HEIGHT,
        "now_x": x(now) if start <= now <= end else None,
        "start_label": f"{local_start:%Y-%m-%d %H:%M}",
    }
