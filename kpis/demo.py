"""The demo plant's last two months, for the KPI pages: a few work orders a day on its
own work centers, items, customers and people (kpis.generate), the daily snapshots of
each of those days so trend charts have data, and admin-editable targets that some
days miss. Called at the end of `seed_demo`; running it again changes nothing (the
targets are the marker)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from .generate import history_generate, plant_load
from .indicators import HIGHER, INDICATORS
from .models import KpiSnapshot, KpiTarget
from .services import snapshot_day

DAYS = 60
WORK_ORDERS_PER_DAY = 4
# A small plant over two months: rare events (a change request, an incorrect dispatch
# scan) happen often enough that every indicator has a figure.
RARE_EVENTS = 4.0

# (indicator, work center or "", share of the days that should meet it, note)
TARGETS = [
    ("on_time_in_full", "", 0.7, "Customer service goal for the year."),
    ("schedule_adherence", "", 0.6, "Operations finished by their scheduled end."),
    ("queue_time", "", 0.7, "Hours an operation waits before it starts."),
    ("queue_time", "CNC-1", 0.6, "The CNC cell is the bottleneck: keep its queue short."),
    ("scrap_rate", "", 0.75, "Scrap in percent of all reported quantity."),
    ("exception_ack_latency", "", 0.7, "Hours until someone takes an exception on."),
]

# Demo user name -> the role it acts in, in the history.
ACTING = {
    "planner": ["planner", "planner2"],
    "floor_lead": ["floorlead"],
    "operator": ["operator", "floorlead"],
    "shipping": ["shipping"],
    "warehouse": ["warehouse", "warehouselead"],
}


def _write(stdout: Any, message: str) -> None:
    if stdout is not None:
        stdout.write(message)


def seed_kpis_demo(*, users: dict[str, Any], stdout: Any = None, days: int = DAYS) -> bool:
    """Load the demo's history, snapshots and targets once; returns False when the
    targets exist already."""
    if KpiTarget.objects.exists():
        _write(stdout, "Demo KPI history exists already: nothing to add.")
        return False
    today = timezone.localdate()
    with transaction.atomic():
        acting = {
            role: [users[name] for name in names if name in users] for role, names in ACTING.items()
        }
        plant = plant_load(users=acting)
        written = history_generate(
            days=days,
            work_orders=days * WORK_ORDERS_PER_DAY,
            plant=plant,
            seed=7,
            rare_events=RARE_EVENTS,
        )
        first = today - dt.timedelta(days=days - 1)
        for offset in range(days):
            snapshot_day(day=first + dt.timedelta(days=offset))
        targets = _targets(first, today)
    _write(
        stdout,
        f"Loaded the demo KPI history: {written['work_orders']} work orders, "
        f"{written['orders']} orders, {written['shipments']} shipments, "
        f"{written['exceptions']} exceptions, {written['transition_rows']} history rows over "
        f"{days} days; snapshots for each day and {targets} targets.",
    )
    return True


def _targets(first: dt.date, last: dt.date) -> int:
    """Targets a little better than most days: the trend shows the days that miss."""
    made = 0
    for key, work_center, share, note in TARGETS:
        indicator = INDICATORS.get(key)
        if indicator is None:
            continue
        scope = "work_center" if work_center else ""
        values = list(
            KpiSnapshot.objects.filter(
                indicator=key,
                day__range=(first, last),
                scope_key=scope,
                scope_value=work_center,
                value__isnull=False,
            ).values_list("value", flat=True)
        )
        if not values:
            continue
        target = _quantile(sorted(values), 1 - share if indicator.direction == HIGHER else share)
        KpiTarget.objects.create(
            indicator=key,
            scope_key=scope,
            scope_value=work_center,
            target=Decimal(str(round(target, 2))),
            note=note,
        )
        made += 1
    return made


def _quantile(values: Sequence[float], share: float) -> float:
    index = min(len(values) - 1, max(0, round(share * (len(values) - 1))))
    return values[index]
