"""Reads shared by the API and the dashboards: parse a period, evaluate an indicator,
list its snapshots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from django.db.models import QuerySet
from django.utils import timezone

from mes.core.errors import NotFound, ValidationFailed

from .indicators import FILTERS, INDICATORS, Indicator, Period, Result, compute
from .models import KpiSnapshot, KpiTarget

DEFAULT_DAYS = 30
MAX_DAYS = 731


def _date(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"{name} must be a date like 2026-01-31, not {value!r}.", field=name
        ) from None


def period_parse(start: str | None, end: str | None) -> Period:
    """`from` and `to` as ISO dates, both included; by default the last 30 days."""
    last = _date(end, "to") or timezone.localdate()
    first = _date(start, "from") or last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise ValidationFailed("The period ends before it starts.", field="to")
    if (last - first).days >= MAX_DAYS:
        raise ValidationFailed(f"A period is at most {MAX_DAYS} days.", field="from")
    return Period(first, last)


def indicator_lookup(key: str) -> Indicator:
    try:
        return INDICATORS[key]
    except KeyError:
        raise NotFound(f"No indicator {key!r}.") from None


def indicator_evaluate(*, key: str, period: Period, filters: Mapping[str, str | None]) -> Result:
    indicator = indicator_lookup(key)
    given = {k: v for k, v in filters.items() if k in FILTERS and v}
    unsupported = sorted(set(given) - set(indicator.filters))
    if unsupported:
        raise ValidationFailed(
            f"{indicator.key} cannot be filtered by {', '.join(unsupported)}; it supports "
            f"{', '.join(indicator.supported_filters)}.",
            errors={name: ["Not supported by this indicator."] for name in unsupported},
        )
    return compute(indicator, period, given)


def targets_for(keys: Iterable[str], scope: tuple[str, str] = ("", "")) -> dict[str, float]:
    """The targets of the indicators for a scope: targets are set plant-wide or per work
    center, so any other scope has none."""
    scope_key, scope_value = scope
    if scope_key not in ("", "work_center"):
        return {}
    rows = KpiTarget.objects.filter(
        indicator__in=list(keys), scope_key=scope_key, scope_value=scope_value
    )
    return {t.indicator: float(t.target) for t in rows}


def result_target(result: Result) -> float | None:
    """The target that applies to a figure: a figure filtered by item or customer has
    none."""
    if not set(result.filters) <= {"work_center"}:
        return None
    work_center = result.filters.get("work_center", "")
    scope = ("work_center", work_center) if work_center else ("", "")
    return targets_for([result.indicator.key], scope).get(result.indicator.key)


def snapshots_list(
    *, key: str, period: Period, work_center: str | None = None, scope: str = "", value: str = ""
) -> QuerySet:
    """The daily figures: plant-wide, for one work center, or for one part of another
    snapshotted breakdown (`scope`=reason|type|owner_role|customer and its `value`)."""
    from .services import SNAPSHOT_SCOPES

    indicator = indicator_lookup(key)
    rows = KpiSnapshot.objects.filter(
        indicator=indicator.key, day__range=(period.start, period.end)
    )
    if work_center:
        scope, value = "work_center", work_center
    if scope:
        if scope not in SNAPSHOT_SCOPES or scope not in indicator.breakdowns:
            raise ValidationFailed(
                f"{indicator.key} has no daily figures per {scope.replace('_', ' ')}.",
                field="work_center" if work_center else "scope",
            )
        if not value:
            raise ValidationFailed("Give the value of the scope.", field="value")
        rows = rows.filter(scope_key=scope, scope_value=value)
    else:
        rows = rows.filter(scope_key="")
    return rows.order_by("day", "id")
