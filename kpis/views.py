"""KPI pages: four dashboards (plant overview, work center, shipping, decisions) and each
indicator's own page with its definition, breakdowns and the records behind it. Thin:
parse the period and filters, call the dashboard reads, render or stream CSV."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from mes.core.errors import ValidationFailed
from mes.core.views import role_required
from orders.selectors import customers_active
from planning.selectors import work_centers_active

from . import selectors
from .dashboards import (
    DASHBOARDS,
    PLANT,
    Table,
    daily_series,
    dashboard_build,
    indicator_url,
)
from .indicators import GROUPS, INDICATORS, Period, records_in_part
from .services import breaches

VIEW_KPIS = "kpis.view_kpi_dashboards"
RECORDS_PER_PAGE = 50
PRESETS = (7, 30, 90, 365)


class _Echo:
    """csv.writer target that hands each row back for streaming."""

    def write(self, value: str) -> str:
        return value


def csv_response(filename: str, columns: list[str], rows: Iterable[Iterable[Any]]) -> Any:
    """Every table on these pages as CSV, streamed so a long drill-down list is not held in
    memory."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(columns)
        for row in rows:
            yield writer.writerow(["" if v is None else v for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _period(request: HttpRequest) -> Period:
    """The period asked for; a bad one is said on the page and the default is shown."""
    try:
        return selectors.period_parse(request.GET.get("from"), request.GET.get("to"))
    except ValidationFailed as error:
        messages.error(request, f"{error.message} Showing the last 30 days instead.")
        return selectors.period_parse(None, None)


def _presets(period: Period) -> list[dict[str, Any]]:
    today = timezone.localdate()
    return [
        {
            "days": days,
            "from": (today - dt.timedelta(days=days - 1)).isoformat(),
            "to": today.isoformat(),
            "active": period.end == today and period.days == days,
        }
        for days in PRESETS
    ]


def _table(tables: list[Table], table_id: str) -> Table:
    for table in tables:
        if table.id == table_id:
            return table
    raise Http404("No such table on this page.")


@role_required(VIEW_KPIS)
@require_GET
def dashboard_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A dashboard for a period (?from=&to=) and, where it has one, an area (?work_center=
    or ?customer=); ?csv=<table> downloads one of its tables."""
    dashboard = DASHBOARDS[slug]
    if slug == "plant" and request.GET.get("work_center"):
        # An area chosen on the overview is that work center's dashboard.
        return redirect(f"{reverse('kpis:work_center')}?{request.GET.urlencode()}")
    period = _period(request)
    area_choices: list[tuple[str, str]] = []
    area = ""
    if dashboard.area == "work_center" or slug == "plant":
        area_choices = list(work_centers_active().values_list("code", "name"))
    elif dashboard.area == "customer":
        area_choices = list(customers_active().values_list("code", "name"))
    if dashboard.area:
        area = request.GET.get(dashboard.area, "")
        codes = {code for code, _ in area_choices}
        if area and area not in codes:
            messages.error(request, f"No {dashboard.area.replace('_', ' ')} {area!r}.")
            area = ""
        if not area and dashboard.area == "work_center" and area_choices:
            area = area_choices[0][0]
    data = dashboard_build(dashboard, period=period, area=area)
    table_id = request.GET.get("csv")
    if table_id:
        table = _table(data["tables"], table_id)
        suffix = f"-{area}" if area else ""
        name = f"kpis-{slug}{suffix}-{table.id}-{period.start}-{period.end}"
        return csv_response(name, table.columns, table.rows)
    query = request.GET.copy()
    query.pop("csv", None)
    return render(
        request,
        "kpis/dashboard.html",
        {
            **data,
            "dashboards": DASHBOARDS.values(),
            "group_names": GROUPS,
            "area": area,
            "area_choices": area_choices,
            "presets": _presets(period),
            "query": query.urlencode(),
        },
    )


@role_required(VIEW_KPIS)
@require_GET
def indicator_page(request: HttpRequest, key: str) -> HttpResponse:
    """One indicator, computed live for the period and filters: its definition, figure,
    median, target, daily trend, breakdowns and the records behind it (?by=&part= narrows
    them to one bar of a breakdown). ?csv=records|breakdown-<dimension> downloads."""
    indicator = INDICATORS.get(key)
    if indicator is None:
        raise Http404("No such indicator.")
    period = _period(request)
    filters = {name: request.GET[name] for name in indicator.filters if request.GET.get(name)}
    result = selectors.indicator_evaluate(key=key, period=period, filters=filters)
    records = result.records
    by, part = request.GET.get("by", ""), request.GET.get("part")
    if by and part is not None:
        if by in indicator.breakdowns:
            records = records_in_part(indicator, records, by, part)
        else:
            messages.error(request, f"{indicator.name} has no breakdown by {by!r}.")
            by = ""
    columns = list(indicator.columns)
    csv_id = request.GET.get("csv")
    if csv_id == "records":
        rows = records.values_list(*columns).iterator(chunk_size=2000)
        return csv_response(f"kpi-{key}-{period.start}-{period.end}", columns, rows)
    if csv_id and csv_id.startswith("breakdown-") and csv_id[10:] in result.breakdown:
        dimension = csv_id[10:]
        return csv_response(
            f"kpi-{key}-by-{dimension}-{period.start}-{period.end}",
            [dimension, f"value ({indicator.unit})", "records"],
            ([r["key"], r["value"], r["count"]] for r in result.breakdown[dimension]),
        )
    if csv_id:
        raise Http404("No such table on this page.")
    page = Paginator(records.values(*columns), RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    work_center = filters.get("work_center", "")
    scope = ("work_center", work_center) if work_center else PLANT
    series = daily_series(keys=[key], period=period, scope=scope)[key]
    target = selectors.result_target(result)
    query = request.GET.copy()
    for name in ("page", "csv"):
        query.pop(name, None)
    breakdowns = [
        {
            "dimension": dimension,
            "rows": [
                {
                    **row,
                    "url": indicator_url(key, period, filters, (dimension, row["key"])),
                }
                for row in rows
            ],
        }
        for dimension, rows in result.breakdown.items()
    ]
    days = [(period.start + dt.timedelta(days=i)).isoformat() for i in range(period.days)]
    return render(
        request,
        "kpis/indicator.html",
        {
            "indicator": indicator,
            "group_name": GROUPS.get(indicator.group, indicator.group),
            "result": result,
            "target": target,
            "breached": target is not None
            and breaches(value=result.value, target=target, direction=indicator.direction),
            "period": period,
            "filters": filters,
            "by": by,
            "part": part,
            "columns": columns,
            "page": page,
            "breakdowns": breakdowns,
            "trend": {
                "labels": days,
                "values": series,
                "unit": indicator.unit,
                "target": target,
                "label": indicator.name,
            },
            "presets": _presets(period),
            "query": query.urlencode(),
            "dashboards": DASHBOARDS.values(),
        },
    )
