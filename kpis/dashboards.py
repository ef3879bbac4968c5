"""Reads behind the KPI dashboards: figures for a period, breakdowns, daily trends and
histograms, with the daily snapshots doing the heavy lifting.

A period's figure is put together from the snapshot parts of its closed days (one
query for all indicators) plus a live computation of the days no snapshot covers yet
(normally only today). Medians cannot be added up, so dashboards show means; the
indicator's own page computes everything live, medians included.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from .indicators import (
    DECISIONS,
    DELAYS,
    ERRORS,
    INDICATORS,
    INEFFICIENCIES,
    Indicator,
    Period,
    breakdown_rows,
    compute,
    records_for,
    records_in_part,
)
from .models import KpiSnapshot
from .selectors import targets_for
from .services import SNAPSHOT_SCOPES, breaches

# A scope narrows a figure to one part of a breakdown: ("work_center", "MILL-1").
Scope = tuple[str, str]
PLANT: Scope = ("", "")


@dataclass
class Figure:
    indicator: Indicator
    value: float | None
    count: int
    numerator: float = 0.0
    denominator: float = 0.0
    target: float | None = None
    applicable: bool = True

    @property
    def breached(self) -> bool:
        if self.target is None:
            return False
        return breaches(value=self.value, target=self.target, direction=self.indicator.direction)

    @property
    def on_target(self) -> bool:
        return self.target is not None and self.value is not None and not self.breached


def _day_runs(days: Iterable[dt.date]) -> list[Period]:
    """Consecutive days as periods: {1, 2, 3, 7} -> 1..3, 7..7."""
    runs: list[Period] = []
    for day in sorted(days):
        if runs and runs[-1].end + dt.timedelta(days=1) == day:
            runs[-1] = Period(runs[-1].start, day)
        else:
            runs.append(Period(day, day))
    return runs


def _days(period: Period) -> list[dt.date]:
    return [period.start + dt.timedelta(days=i) for i in range(period.days)]


def _live_scope(indicator: Indicator, scope: Scope) -> dict[str, str] | None:
    """The filters that give a scope live, or None when the scope is a breakdown that is
    not a filter (a reason, an exception type)."""
    key, value = scope
    if not key:
        return {}
    if key in indicator.filters:
        return {key: value}
    return None


def applicable(indicator: Indicator, scope: Scope) -> bool:
    key = scope[0]
    return not key or key in indicator.filters or key in indicator.breakdowns


def _live_parts(indicator: Indicator, period: Period, scope: Scope) -> tuple[float, float, int]:
    filters = _live_scope(indicator, scope)
    if filters is not None:
        result = compute(indicator, period, filters, breakdown=False, stats=False)
        return result.numerator, result.denominator, result.count
    records = records_in_part(indicator, records_for(indicator, period, {}), *scope)
    row = indicator.measure.evaluate(records)
    numerator, denominator = indicator.measure.parts(row)
    return numerator, denominator, row.get("n") or 0


def uncovered_days(
    keys: list[str], period: Period, today: dt.date | None = None
) -> dict[str, list[Period]]:
    """For each indicator, the runs of days its figure must be computed live for: days
    from today on (today's snapshot is still growing) and closed days with no snapshot."""
    today = today or timezone.localdate()
    closed_end = min(period.end, today - dt.timedelta(days=1))
    open_days = [d for d in _days(period) if d > closed_end]
    missing: dict[str, list[dt.date]] = {key: list(open_days) for key in keys}
    if closed_end >= period.start:
        closed = Period(period.start, closed_end)
        plant = KpiSnapshot.objects.filter(
            indicator__in=keys, scope_key="", day__range=(closed.start, closed.end)
        )
        counts = dict(
            plant.order_by()
            .values("indicator")
            .annotate(n=Count("id"))
            .values_list("indicator", "n")
        )
        short = [key for key in keys if counts.get(key, 0) < closed.days]
        if short:
            covered: dict[str, set[dt.date]] = defaultdict(set)
            for key, day in plant.filter(indicator__in=short).values_list("indicator", "day"):
                covered[key].add(day)
            for key in short:
                missing[key] += [d for d in _days(closed) if d not in covered[key]]
    return {key: _day_runs(days) for key, days in missing.items()}


def period_figures(
    *, keys: Iterable[str], period: Period, scope: Scope = PLANT, today: dt.date | None = None
) -> dict[str, Figure]:
    """Each indicator's figure for the period (plant-wide or for one scope), with its
    target. A fixed number of queries whatever the number of records: two or three on
    the snapshots, one per indicator and run of uncovered days, one for the targets."""
    keys = [k for k in keys if k in INDICATORS]
    usable = [k for k in keys if applicable(INDICATORS[k], scope)]
    snapshotted = [k for k in usable if not scope[0] or scope[0] in INDICATORS[k].breakdowns]
    runs = uncovered_days(usable, period, today)
    sums: dict[str, dict[str, Any]] = {}
    if snapshotted:
        rows = KpiSnapshot.objects.filter(
            indicator__in=snapshotted,
            scope_key=scope[0],
            scope_value=scope[1],
            day__range=(period.start, period.end),
        ).exclude(day__gte=today or timezone.localdate())
        sums = {
            r["indicator"]: r
            for r in rows.order_by()
            .values("indicator")
            .annotate(num=Sum("numerator"), den=Sum("denominator"), n=Sum("count"))
        }
    targets = targets_for(keys, scope)
    figures: dict[str, Figure] = {}
    for key in keys:
        indicator = INDICATORS[key]
        if key not in usable:
            figures[key] = Figure(indicator, None, 0, applicable=False)
            continue
        if key in snapshotted:
            row = sums.get(key, {})
            numerator = float(row.get("num") or 0)
            denominator = float(row.get("den") or 0)
            count = int(row.get("n") or 0)
            live_runs = runs[key]
        else:
            # A filter with no snapshot scope (a customer's make-to-order delays): live
            # over the whole period.
            numerator = denominator = 0.0
            count = 0
            live_runs = [period]
        for run in live_runs:
            n, d, c = _live_parts(indicator, run, scope)
            numerator, denominator, count = numerator + n, denominator + d, count + c
        figures[key] = Figure(
            indicator=indicator,
            value=indicator.measure.combine(numerator, denominator, period),
            count=count,
            numerator=numerator,
            denominator=denominator,
            target=targets.get(key),
        )
    return figures


@dataclass
class Part:
    key: str
    value: float | None
    count: int
    numerator: float
    denominator: float
    share: float = 0.0  # of the breakdown's total (Pareto)
    cumulative: float = 0.0


def period_breakdown(
    *,
    key: str,
    dimension: str,
    period: Period,
    filters: Mapping[str, str] | None = None,
    today: dt.date | None = None,
) -> list[Part]:
    """The figure per part of a breakdown (per work center, per scrap reason...). Plant
    wide it adds the snapshots of closed days to a live breakdown of the rest; with
    filters it is computed live over the period."""
    indicator = INDICATORS[key]
    path = indicator.breakdowns[dimension]
    filters = {k: v for k, v in (filters or {}).items() if v}
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])

    def add(rows: Iterable[Mapping[str, Any]]) -> None:
        for r in rows:
            part = totals[r["key"]]
            part[0] += r["numerator"]
            part[1] += r["denominator"]
            part[2] += r["count"]

    if filters or dimension not in SNAPSHOT_SCOPES:
        records = records_for(indicator, period, filters)
        add(breakdown_rows(indicator, records, path, period))
    else:
        today = today or timezone.localdate()
        snapshots = (
            KpiSnapshot.objects.filter(
                indicator=key, scope_key=dimension, day__range=(period.start, period.end)
            )
            .exclude(day__gte=today)
            .order_by()
            .values("scope_value")
            .annotate(num=Sum("numerator"), den=Sum("denominator"), n=Sum("count"))
        )
        add(
            {
                "key": r["scope_value"],
                "numerator": r["num"],
                "denominator": r["den"],
                "count": r["n"],
            }
            for r in snapshots
        )
        for run in uncovered_days([key], period, today)[key]:
            add(breakdown_rows(indicator, records_for(indicator, run, {}), path, run))
    parts = [
        Part(
            key=k,
            value=indicator.measure.combine(num, den, period),
            count=int(n),
            numerator=num,
            denominator=den,
        )
        for k, (num, den, n) in totals.items()
    ]
    return sorted(parts, key=lambda p: (-(p.value or 0), -p.count, p.key))


def pareto(parts: list[Part], *, weight: str = "numerator") -> list[Part]:
    """Largest first with each part's share and the running share: the few causes that
    make most of the loss. `weight` is what is added up (scrap quantity, exceptions)."""
    ranked = sorted(parts, key=lambda p: (-getattr(p, weight), p.key))
    ranked = [p for p in ranked if getattr(p, weight) > 0]
    total = sum(getattr(p, weight) for p in ranked) or 1.0
    running = 0.0
    for p in ranked:
        p.share = round(getattr(p, weight) * 100.0 / total, 2)
        running += getattr(p, weight)
        p.cumulative = round(running * 100.0 / total, 2)
    return ranked


def daily_series(
    *, keys: Iterable[str], period: Period, scope: Scope = PLANT, today: dt.date | None = None
) -> dict[str, list[float | None]]:
    """Each indicator's figure for each day of the period, from the snapshots (one
    query); a day with no snapshot has no figure (a gap in the line)."""
    keys = [k for k in keys if k in INDICATORS]
    index = {day: i for i, day in enumerate(_days(period))}
    series: dict[str, list[float | None]] = {k: [None] * period.days for k in keys}
    rows = KpiSnapshot.objects.filter(
        indicator__in=keys,
        scope_key=scope[0],
        scope_value=scope[1],
        day__range=(period.start, period.end),
    ).values_list("indicator", "day", "value")
    for key, day, value in rows:
        series[key][index[day]] = value
    if scope[0]:
        # A scope's row exists only on days with records: no row is an empty day there.
        plant_days = set(
            KpiSnapshot.objects.filter(
                indicator__in=keys, scope_key="", day__range=(period.start, period.end)
            )
            .values_list("day", flat=True)
            .distinct()
        )
        for key in keys:
            measure = INDICATORS[key].measure
            for day in plant_days:
                if series[key][index[day]] is None:
                    series[key][index[day]] = measure.combine(0.0, 0.0, Period.day(day))
    return series


# Decision latency histogram: upper bounds in hours.
LATENCY_BUCKETS: list[tuple[str, float | None]] = [
    ("< 1 h", 1),
    ("1–4 h", 4),
    ("4–8 h", 8),
    ("8–24 h", 24),
    ("1–3 days", 72),
    ("3–7 days", 168),
    ("> 7 days", None),
]


def latency_histogram(
    *, key: str, period: Period, filters: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """How many records waited how long, in buckets (one aggregate query)."""
    indicator = INDICATORS[key]
    records = records_for(indicator, period, filters or {})
    aggregates, lower = {}, 0.0
    bounds = []
    for i, (label, upper) in enumerate(LATENCY_BUCKETS):
        q = Q(wait_seconds__gte=lower * 3600)
        if upper is not None:
            q &= Q(wait_seconds__lt=upper * 3600)
        aggregates[f"b{i}"] = Count("pk", filter=q)
        bounds.append((label, lower, upper))
        lower = upper or lower
    row = records.order_by().aggregate(**aggregates)
    return [
        {"label": label, "from_hours": lo, "to_hours": hi, "count": row[f"b{i}"]}
        for i, (label, lo, hi) in enumerate(bounds)
    ]


# --- the dashboards ---------------------------------------------------------------------


@dataclass(frozen=True)
class ParetoChart:
    key: str  # indicator
    dimension: str
    title: str
    weight: str = "numerator"  # what the bars add up
    weight_label: str = ""


@dataclass(frozen=True)
class BarChart:
    key: str
    dimension: str
    title: str


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: str
    audience: str
    tiles: tuple[str, ...]
    trends: tuple[str, ...] = ()
    paretos: tuple[ParetoChart, ...] = ()
    bars: tuple[BarChart, ...] = ()
    histograms: tuple[str, ...] = ()
    # The filter that narrows the whole dashboard besides the period.
    area: str = ""
    groups: tuple[str, ...] = field(default=(DELAYS, ERRORS, INEFFICIENCIES, DECISIONS))

    def __post_init__(self) -> None:
        # A trend reads its target from its tile's figure.
        missing = set(self.trends) - set(self.tiles)
        if missing:
            raise ValueError(f"{self.slug}: trends without a tile: {sorted(missing)}")


SCRAP_PARETO = ParetoChart("scrap_rate", "reason", "Scrap by reason", "numerator", "scrap qty")
EXCEPTION_PARETO = ParetoChart(
    "exceptions_raised", "type", "Exceptions by type", "numerator", "exceptions"
)
DOWNTIME_PARETO = ParetoChart(
    "downtime_minutes", "reason", "Downtime by reason", "numerator", "minutes"
)

DASHBOARDS: dict[str, Dashboard] = {
    d.slug: d
    for d in [
        Dashboard(
            slug="plant",
            title="Plant overview",
            audience="Plant and operations management: where work waits, is redone, or "
            "waits for a decision.",
            tiles=tuple(INDICATORS),
            trends=(
                "on_time_in_full",
                "schedule_adherence",
                "queue_time",
                "scrap_rate",
                "exception_resolve_latency",
            ),
            paretos=(SCRAP_PARETO, EXCEPTION_PARETO, DOWNTIME_PARETO),
            bars=(BarChart("queue_time", "work_center", "Queue time per work center"),),
        ),
        Dashboard(
            slug="work-center",
            title="Work center",
            audience="Floor leads and production engineers: one work center's flow, "
            "quality and losses.",
            tiles=(
                "queue_time",
                "operation_handoff",
                "schedule_adherence",
                "start_adherence",
                "scrap_rate",
                "rework_rate",
                "wrong_routings",
                "changeovers",
                "changeover_minutes",
                "changeovers_actual",
                "changeovers_excess",
                "unplanned_overtime",
                "downtime_minutes",
            ),
            trends=("queue_time", "schedule_adherence", "scrap_rate", "rework_rate"),
            paretos=(SCRAP_PARETO, DOWNTIME_PARETO),
            area="work_center",
            groups=(DELAYS, ERRORS, INEFFICIENCIES),
        ),
        Dashboard(
            slug="shipping",
            title="Shipping",
            audience="Shipping and customer service: promises kept, how long orders take, "
            "picking and dock errors.",
            tiles=(
                "on_time_in_full",
                "order_lead_time",
                "completed_to_shipped",
                "order_to_release",
                "mispicks",
                "incorrect_dispatches",
            ),
            trends=("on_time_in_full", "order_lead_time", "completed_to_shipped"),
            bars=(
                BarChart("on_time_in_full", "customer", "On time in full per customer"),
                BarChart("order_lead_time", "customer", "Order lead time per customer"),
            ),
            area="customer",
            groups=(DELAYS, ERRORS),
        ),
        Dashboard(
            slug="decisions",
            title="Decisions",
            audience="Everyone who owns exceptions: how fast decisions are taken, what "
            "escalates, what keeps coming back.",
            tiles=(
                "exception_ack_latency",
                "exception_resolve_latency",
                "escalations",
                "exceptions_raised",
                "exceptions_reopened",
                "change_request_approval",
                "expediting",
            ),
            trends=("exception_ack_latency", "exception_resolve_latency", "exceptions_raised"),
            paretos=(EXCEPTION_PARETO,),
            bars=(
                BarChart("exception_resolve_latency", "owner_role", "Time to resolve per role"),
                BarChart("exception_resolve_latency", "type", "Time to resolve per type"),
            ),
            histograms=("exception_ack_latency", "exception_resolve_latency"),
            groups=(DECISIONS, INEFFICIENCIES),
        ),
    ]
}


# --- what a dashboard page shows ---------------------------------------------------------


@dataclass
class Table:
    """A table on a page, also offered as CSV: one header row, then the rows."""

    id: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    links: list[str] = field(default_factory=list)  # a drill-down page per row


@dataclass
class Chart:
    id: str
    title: str
    kind: str  # trend, pareto, bar, histogram
    spec: dict[str, Any]  # what static/js/kpi-charts.js draws
    table: Table
    note: str = ""


def indicator_url(
    key: str, period: Period, filters: Mapping[str, str] | None = None, part: Scope | None = None
) -> str:
    """The indicator's own page (definition, figure, breakdowns, records) for the same
    period and filters, narrowed to one breakdown part when given."""
    from urllib.parse import urlencode

    from django.urls import reverse

    query = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    query.update({k: v for k, v in (filters or {}).items() if v})
    if part:
        query["by"], query["part"] = part
    return f"{reverse('kpis:indicator', args=[key])}?{urlencode(query)}#records"


def _tile_filters(indicator: Indicator, scope: Scope) -> dict[str, str]:
    key, value = scope
    return {key: value} if key and key in indicator.filters else {}


def _tile_part(indicator: Indicator, scope: Scope) -> Scope | None:
    key = scope[0]
    if key and key not in indicator.filters and key in indicator.breakdowns:
        return scope
    return None


def dashboard_build(
    dashboard: Dashboard, *, period: Period, area: str = "", today: dt.date | None = None
) -> dict[str, Any]:
    """Tiles grouped as the dashboard lists them, its charts (each with its data as a
    table) and the tables offered as CSV. A fixed number of queries whatever the number
    of records."""
    today = today or timezone.localdate()
    scope: Scope = (dashboard.area, area) if dashboard.area and area else PLANT
    keys = list(dashboard.tiles)
    figures = period_figures(keys=keys, period=period, scope=scope, today=today)
    area_filters = {scope[0]: scope[1]} if scope[0] else {}

    groups = []
    for group in dashboard.groups:
        tiles = [
            {
                "figure": figures[k],
                "url": indicator_url(
                    k,
                    period,
                    _tile_filters(INDICATORS[k], scope),
                    _tile_part(INDICATORS[k], scope),
                ),
            }
            for k in keys
            if INDICATORS[k].group == group and figures[k].applicable
        ]
        if tiles:
            groups.append({"key": group, "tiles": tiles})

    tiles = [t for g in groups for t in g["tiles"]]
    summary = Table(
        id="indicators",
        title="Indicators",
        columns=["indicator", "group", "value", "unit", "target", "records", "better"],
        rows=[
            [
                f.indicator.name,
                f.indicator.group,
                f.value,
                f.indicator.unit,
                f.target,
                f.count,
                f.indicator.direction,
            ]
            for f in (t["figure"] for t in tiles)
        ],
        links=[t["url"] for t in tiles],
    )

    charts: list[Chart] = []
    days = [d.isoformat() for d in _days(period)]
    trend_keys = list(dashboard.trends)
    if trend_keys:
        series = daily_series(keys=trend_keys, period=period, scope=scope, today=today)
        # Every trend is also a tile: its target came with the figures.
        targets = {key: figures[key].target for key in trend_keys}
        for key in trend_keys:
            indicator = INDICATORS[key]
            charts.append(
                Chart(
                    id=f"trend-{key}",
                    title=indicator.name,
                    kind="trend",
                    spec={
                        "labels": days,
                        "values": series[key],
                        "unit": indicator.unit,
                        "target": targets.get(key),
                        "label": indicator.name,
                        "link": indicator_url(key, period, area_filters),
                    },
                    table=Table(
                        id=f"trend-{key}",
                        title=f"{indicator.name}, per day",
                        columns=["day", f"value ({indicator.unit})", "target"],
                        rows=[
                            [d, v, targets.get(key)] for d, v in zip(days, series[key], strict=True)
                        ],
                    ),
                    note="Daily figures from the snapshots; the dashed line is the target.",
                )
            )

    for chart in dashboard.paretos:
        indicator = INDICATORS[chart.key]
        parts = pareto(
            period_breakdown(
                key=chart.key,
                dimension=chart.dimension,
                period=period,
                filters=area_filters if scope[0] in indicator.filters else None,
                today=today,
            ),
            weight=chart.weight,
        )
        links = [
            indicator_url(
                chart.key,
                period,
                area_filters if scope[0] in indicator.filters else {},
                (chart.dimension, p.key),
            )
            for p in parts
        ]
        charts.append(
            Chart(
                id=f"pareto-{chart.key}-{chart.dimension}",
                title=chart.title,
                kind="pareto",
                spec={
                    "labels": [p.key or "(none)" for p in parts],
                    "values": [round(getattr(p, chart.weight), 3) for p in parts],
                    "cumulative": [p.cumulative for p in parts],
                    "unit": chart.weight_label,
                    "links": links,
                },
                table=Table(
                    id=f"pareto-{chart.key}-{chart.dimension}",
                    title=chart.title,
                    columns=[chart.dimension, chart.weight_label, "share %", "cumulative %"],
                    rows=[
                        [
                            p.key or "(none)",
                            round(getattr(p, chart.weight), 3),
                            p.share,
                            p.cumulative,
                        ]
                        for p in parts
                    ],
                    links=links,
                ),
                note="Largest cause first; the line is the running share of the total.",
            )
        )

    for chart in dashboard.bars:
        indicator = INDICATORS[chart.key]
        parts = period_breakdown(
            key=chart.key, dimension=chart.dimension, period=period, today=today
        )
        parts = [p for p in parts if p.key]
        links = [indicator_url(chart.key, period, {}, (chart.dimension, p.key)) for p in parts]
        charts.append(
            Chart(
                id=f"bar-{chart.key}-{chart.dimension}",
                title=chart.title,
                kind="bar",
                spec={
                    "labels": [p.key for p in parts],
                    "values": [p.value for p in parts],
                    "unit": indicator.unit,
                    "links": links,
                },
                table=Table(
                    id=f"bar-{chart.key}-{chart.dimension}",
                    title=chart.title,
                    columns=[chart.dimension, f"value ({indicator.unit})", "records"],
                    rows=[[p.key, p.value, p.count] for p in parts],
                    links=links,
                ),
            )
        )

    for key in dashboard.histograms:
        indicator = INDICATORS[key]
        buckets = latency_histogram(key=key, period=period)
        charts.append(
            Chart(
                id=f"histogram-{key}",
                title=f"{indicator.name}: how long",
                kind="histogram",
                spec={
                    "labels": [b["label"] for b in buckets],
                    "values": [b["count"] for b in buckets],
                    "unit": "exceptions",
                    "link": indicator_url(key, period),
                },
                table=Table(
                    id=f"histogram-{key}",
                    title=f"{indicator.name}, histogram",
                    columns=["waited", "from hours", "to hours", "records"],
                    rows=[
                        [b["label"], b["from_hours"], b["to_hours"], b["count"]] for b in buckets
                    ],
                ),
            )
        )

    return {
        "dashboard": dashboard,
        "period": period,
        "scope": scope,
        "groups": groups,
        "charts": charts,
        "tables": [summary, *[c.table for c in charts]],
    }
