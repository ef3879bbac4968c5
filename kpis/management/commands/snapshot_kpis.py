"""Write the daily KPI snapshots for a range of days (a backfill after an upgrade or an
import), then check the targets of the closed days. Beat keeps yesterday and today."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kpis import services


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date like 2026-01-31") from None


class Command(BaseCommand):
    help = "Snapshot every KPI for each day from --from to --to (default: yesterday and today)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--from", dest="start", type=_date, help="first day (YYYY-MM-DD)")
        parser.add_argument("--to", dest="end", type=_date, help="last day, included")

    def handle(self, *args: Any, start: dt.date | None, end: dt.date | None, **options: Any):
        today = timezone.localdate()
        end = end or today
        start = start or min(end, today - dt.timedelta(days=1))
        if end < start:
            raise CommandError("--to is before --from")
        if (end - start).days > 3660:
            raise CommandError("at most ten years at a time")
        day, rows, breaches = start, 0, 0
        while day <= end:
            rows += services.snapshot_day(day=day)
            if day < today:
                breaches += len(services.targets_check(day=day))
            day += dt.timedelta(days=1)
        days = (end - start).days + 1
        self.stdout.write(
            f"Snapshotted {days} day(s) from {start} to {end}: {rows} rows, "
            f"{breaches} target breach(es) reported."
        )
