"""Daily snapshots of every indicator and the check of their targets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from mes.core.events import event_emit

from .indicators import HIGHER, INDICATORS, Period, breakdown_rows, compute
from .models import KpiSnapshot, KpiTarget

# Scopes snapshotted besides the whole plant: breakdown dimensions the dashboards chart
# over long periods (figures per work center, Paretos of reasons and exception types,
# figures per customer). Items are left to live queries: there are too many.
SNAPSHOT_SCOPES = ("work_center", "reason", "type", "owner_role", "customer")


def snapshot_day(*, day: dt.date) -> int:
    """Compute every indicator for one plant-local day, plant-wide and per work center
    where it has that breakdown, and write the snapshot rows. Running it again for the
    same day leaves the same rows (values brought up to date, stale scopes removed).
    Returns the number of rows the day has."""
    period = Period.day(day)
    now = timezone.now()
    rows: dict[tuple[str, str, str], tuple[float | None, int, float, float]] = {}
    for key, indicator in INDICATORS.items():
        result = compute(indicator, period, breakdown=False, stats=False)
        rows[(key, "", "")] = (
            result.value,
            result.count,
            result.numerator,
            result.denominator,
        )
        for scope in SNAPSHOT_SCOPES:
            path = indicator.breakdowns.get(scope)
            if path is None:
                continue
            for part in breakdown_rows(indicator, result.records, path, period):
                if part["key"]:
                    rows[(key, scope, part["key"][:60])] = (
                        part["value"],
                        part["count"],
                        part["numerator"],
                        part["denominator"],
                    )
    with transaction.atomic():
        existing = {
            (s.indicator, s.scope_key, s.scope_value): s
            for s in KpiSnapshot.objects.select_for_update().filter(day=day)
        }
        stale = [s.pk for k, s in existing.items() if k not in rows]
        KpiSnapshot.objects.filter(pk__in=stale).delete()
        changed, new = [], []
        for (key, scope, scope_value), (value, count, numerator, denominator) in rows.items():
            snapshot = existing.get((key, scope, scope_value))
            if snapshot is None:
                snapshot = KpiSnapshot(
                    indicator=key, day=day, scope_key=scope, scope_value=scope_value
                )
                new.append(snapshot)
            else:
                changed.append(snapshot)
            snapshot.value, snapshot.count, snapshot.computed_at = value, count, now
            snapshot.numerator, snapshot.denominator = numerator, denominator
        KpiSnapshot.objects.bulk_update(
            changed, ["value", "count", "numerator", "denominator", "computed_at"]
        )
        KpiSnapshot.objects.bulk_create(new)
    return len(rows)


def breaches(*, value: float | None, target: float | Decimal, direction: str) -> bool:
    if value is None:
        return False
    if direction == HIGHER:
        return value < float(target)
    return value > float(target)


def targets_check(*, day: dt.date) -> list[KpiSnapshot]:
    """Emit `kpi.target_breached` for each snapshot of the day that misses its target,
    once per indicator, scope and day however often this runs."""
    targets = {(t.indicator, t.scope_key, t.scope_value): t for t in KpiTarget.objects.all()}
    if not targets:
        return []
    reported = []
    with transaction.atomic():
        candidates = KpiSnapshot.objects.filter(
            day=day, breach_reported_at__isnull=True, value__isnull=False
        )
        for snapshot in candidates:
            target = targets.get((snapshot.indicator, snapshot.scope_key, snapshot.scope_value))
            indicator = INDICATORS.get(snapshot.indicator)
            if target is None or indicator is None:
                continue
            if not breaches(
                value=snapshot.value, target=target.target, direction=indicator.direction
            ):
                continue
            # The conditional update is the "once": a concurrent check finds it taken.
            claimed = KpiSnapshot.objects.filter(
                pk=snapshot.pk, breach_reported_at__isnull=True
            ).update(breach_reported_at=timezone.now())
            if not claimed:
                continue
            scope = f"{snapshot.scope_key}:{snapshot.scope_value}" if snapshot.scope_key else ""
            event_emit(
                type="kpi.target_breached",
                subject=snapshot,
                payload={
                    "indicator": snapshot.indicator,
                    "value": snapshot.value,
                    "target": float(target.target),
                    "day": day.isoformat(),
                    "scope": scope,
                    "direction": indicator.direction,
                },
            )
            reported.append(snapshot)
    return reported


def snapshot_recent(*, today: dt.date | None = None) -> dict[str, int]:
    """What the beat task runs: yesterday (complete, targets checked) and today so far
    (refreshed each run; its targets are checked once the day is over)."""
    today = today or timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    written = {yesterday.isoformat(): snapshot_day(day=yesterday)}
    written[today.isoformat()] = snapshot_day(day=today)
    targets_check(day=yesterday)
    return written
