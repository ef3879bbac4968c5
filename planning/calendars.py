"""When a work center can work: its weekly shifts, the plant's and its own calendar
exceptions, minus downtime. Times are in the plant's time zone."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q
from django.utils import timezone

from .models import CalendarException, Downtime, Shift, WorkCenter

Window = tuple[dt.datetime, dt.datetime]


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, time), timezone.get_current_timezone())


def _merge(windows: Iterable[Window]) -> list[Window]:
    merged: list[Window] = []
    for start, end in sorted(windows):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(windows: list[Window], gaps: Iterable[Window]) -> list[Window]:
    result = windows
    for gap_start, gap_end in gaps:
        next_result: list[Window] = []
        for start, end in result:
            if gap_end <= start or gap_start >= end:
                next_result.append((start, end))
                continue
            if start < gap_start:
                next_result.append((start, gap_start))
            if gap_end < end:
                next_result.append((gap_end, end))
        result = next_result
    return result


def working_windows(
    *,
    work_centers: list[WorkCenter],
    start: dt.datetime,
    end: dt.datetime,
    include_downtime: bool = True,
    now: dt.datetime | None = None,
) -> dict[int, list[Window]]:
    """{work center id: merged working windows within [start, end)}, in three queries.

    An open downtime is taken to last until its expected end, or the end of the horizon.
    """
    ids = [wc.pk for wc in work_centers]
    shifts: dict[int, list[Shift]] = defaultdict(list)
    for shift in Shift.objects.filter(work_center_id__in=ids):
        shifts[shift.work_center_id].append(shift)
    exceptions: dict[int | None, list[CalendarException]] = defaultdict(list)
    first_day = timezone.localtime(start).date() - dt.timedelta(days=1)
    last_day = timezone.localtime(end).date()
    for exc in CalendarException.objects.filter(
        Q(work_center_id__in=ids) | Q(work_center__isnull=True),
        date__gte=first_day,
        date__lte=last_day,
    ):
        exceptions[exc.work_center_id].append(exc)
    downtimes: dict[int, list[Window]] = defaultdict(list)
    if include_downtime:
        now = now or timezone.now()
        for down in Downtime.objects.filter(work_center_id__in=ids, started_at__lt=end).exclude(
            ended_at__lte=start
        ):
            until = down.ended_at or down.expected_end or end
            downtimes[down.work_center_id].append((down.started_at, max(until, now)))
    result: dict[int, list[Window]] = {}
    for wc in work_centers:
        windows: list[Window] = []
        day = first_day
        while day <= last_day:
            day_exceptions = [
                e for e in exceptions.get(wc.pk, []) + exceptions.get(None, []) if e.date == day
            ]
            closed = [e for e in day_exceptions if e.kind == CalendarException.Kind.CLOSED]
            if not any(e.start is None for e in closed):
                for shift in shifts.get(wc.pk, []):
                    if shift.weekday != day.weekday():
                        continue
                    shift_end_day = day if shift.end > shift.start else day + dt.timedelta(days=1)
                    windows.append((_at(day, shift.start), _at(shift_end_day, shift.end)))
                windows = _subtract(
                    _merge(windows),
                    [
                        (_at(day, e.start), _at(day, e.end))
                        for e in closed
                        if e.start is not None and e.end is not None
                    ],
                )
            for e in day_exceptions:
                if e.kind == CalendarException.Kind.OVERTIME and e.start and e.end:
                    end_day = day if e.end > e.start else day + dt.timedelta(days=1)
                    windows.append((_at(day, e.start), _at(end_day, e.end)))
            day += dt.timedelta(days=1)
        clipped = [(max(s, start), min(e, end)) for s, e in _merge(windows)]
        result[wc.pk] = _subtract(_merge(clipped), downtimes.get(wc.pk, []))
    return result


def minutes_in(windows: Iterable[Window]) -> float:
    return sum((end - start).total_seconds() for start, end in windows) / 60


def overlap_minutes(windows: Iterable[Window], start: dt.datetime, end: dt.datetime) -> float:
    """Minutes of [start, end) that fall inside the windows (labour inside the shifts)."""
    total = 0.0
    for w_start, w_end in windows:
        lo, hi = max(w_start, start), min(w_end, end)
        if hi > lo:
            total += (hi - lo).total_seconds() / 60
    return total
