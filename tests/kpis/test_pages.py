"""The KPI pages: four dashboards and each indicator's page, as a planner, floor lead or
shipping clerk sees them; CSV of every table; bad input; who may look."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.urls import reverse

from kpis import services
from kpis.dashboards import period_figures
from kpis.indicators import INDICATORS, Period, compute
from kpis.models import KpiTarget
from mes.core.roles import FLOOR_LEAD, OPERATOR, PLANNER, SHIPPING
from tests.factories import user_with_role

from .conftest import WEEK

pytestmark = pytest.mark.django_db

PERIOD = {"from": WEEK[0].isoformat(), "to": WEEK[1].isoformat()}
PAGES = ["kpis:overview", "kpis:work_center", "kpis:shipping", "kpis:decisions"]


def snapshot_week() -> None:
    day = WEEK[0]
    while day <= WEEK[1]:
        services.snapshot_day(day=day)
        day = day.fromordinal(day.toordinal() + 1)


def rows_of(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def planner_client(client: Any, history: Any) -> Any:
    client.force_login(user_with_role(PLANNER, username="kpi-viewer"))
    return client


def test_the_period_figures_from_snapshots_equal_the_live_figures(history: Any) -> None:
    # given: the week snapshotted except Wednesday (a gap computed live)
    snapshot_week()
    from kpis.models import KpiSnapshot

    KpiSnapshot.objects.filter(day=WEEK[0].replace(day=4)).delete()
    period = Period(*WEEK)
    # when
    figures = period_figures(keys=list(INDICATORS), period=period)
    # then: every figure is what a live computation over the whole week gives
    for key, indicator in INDICATORS.items():
        live = compute(indicator, period, breakdown=False, stats=False)
        assert figures[key].count == live.count, key
        if live.value is None:
            assert figures[key].value is None, key
        else:
            assert figures[key].value == pytest.approx(live.value, abs=1e-3), key


def test_a_work_center_figure_from_snapshots_equals_the_live_filtered_one(history: Any) -> None:
    snapshot_week()
    period = Period(*WEEK)
    figures = period_figures(keys=list(INDICATORS), period=period, scope=("work_center", "SAW"))
    for key, indicator in INDICATORS.items():
        if "work_center" not in indicator.filters:
            assert not figures[key].applicable
            continue
        live = compute(indicator, period, {"work_center": "SAW"}, breakdown=False, stats=False)
        assert figures[key].count == live.count, key
        assert figures[key].value == pytest.approx(live.value, abs=1e-3), key


@pytest.mark.parametrize("page", PAGES)
def test_each_dashboard_shows_its_tiles_and_charts(planner_client: Any, page: str) -> None:
    snapshot_week()
    response = planner_client.get(reverse(page), PERIOD)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="kpi-tile"' in html
    assert 'data-testid="kpi-chart"' in html
    assert "chart.umd.min.js" in html


def test_the_overview_shows_each_figure_with_its_target(planner_client: Any) -> None:
    snapshot_week()
    KpiTarget.objects.create(indicator="queue_time", target=2)
    response = planner_client.get(reverse("kpis:overview"), PERIOD)
    tiles = {t["figure"].indicator.key: t for g in response.context["groups"] for t in g["tiles"]}
    queue = tiles["queue_time"]["figure"]
    assert queue.target == 2.0
    assert queue.breached is (queue.value > 2)
    assert "#records" in tiles["queue_time"]["url"]


@pytest.mark.parametrize("page", [*PAGES, "indicator"])
@pytest.mark.parametrize("snapshotted", [True, False], ids=["snapshots", "live"])
def test_each_page_reads_in_the_same_queries_at_10_and_200_records(
    planner_client: Any, history: Any, django_assert_num_queries: Any, page: str, snapshotted: bool
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from .bulk import more_history

    url = reverse("kpis:indicator", args=["queue_time"]) if page == "indicator" else reverse(page)
    more_history(history, 10, prefix="B")
    if snapshotted:
        snapshot_week()
    planner_client.get(url, PERIOD)  # warm: content types and permissions cached
    with CaptureQueriesContext(connection) as first:
        assert planner_client.get(url, PERIOD).status_code == 200
    # when: 190 more of every record
    more_history(history, 190, prefix="C")
    if snapshotted:
        snapshot_week()
    # then
    with django_assert_num_queries(len(first.captured_queries)):
        response = planner_client.get(url, PERIOD)
    assert response.status_code == 200


def test_an_operator_may_not_see_the_dashboards_and_a_visitor_must_log_in(
    client: Any, history: Any
) -> None:
    url = reverse("kpis:overview")
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    client.force_login(user_with_role(OPERATOR, username="kpi-operator"))
    assert client.get(url).status_code == 403
    assert client.get(reverse("kpis:indicator", args=["queue_time"])).status_code == 403


@pytest.mark.parametrize("role", [PLANNER, FLOOR_LEAD, SHIPPING])
def test_the_roles_that_run_the_plant_see_the_kpis_in_their_menu(
    client: Any, history: Any, role: str
) -> None:
    client.force_login(user_with_role(role, username=f"kpi-{role}".replace(" ", "-")))
    response = client.get(reverse("kpis:overview"))
    assert response.status_code == 200
    assert "KPIs" in [str(item["label"]) for item in response.context["nav_items"]]


def test_a_bad_period_is_said_and_the_last_30_days_shown(planner_client: Any) -> None:
    response = planner_client.get(reverse("kpis:overview"), {"from": "2026-02-30"})
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert any("from must be a date" in m and "last 30 days" in m for m in messages)
    assert response.context["period"].days == 30
    response = planner_client.get(
        reverse("kpis:overview"), {"from": "2026-03-08", "to": "2026-03-01"}
    )
    assert any("ends before it starts" in str(m) for m in response.context["messages"])


def test_an_unknown_area_is_said_and_not_applied(planner_client: Any) -> None:
    response = planner_client.get(reverse("kpis:shipping"), {**PERIOD, "customer": "NOPE"})
    assert response.status_code == 200
    assert response.context["area"] == ""
    assert any("No customer 'NOPE'" in str(m) for m in response.context["messages"])


def test_an_area_chosen_on_the_overview_is_that_work_centers_dashboard(
    planner_client: Any,
) -> None:
    response = planner_client.get(reverse("kpis:overview"), {**PERIOD, "work_center": "SAW"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("kpis:work_center"))
    response = planner_client.get(response["Location"])
    assert response.context["area"] == "SAW"
    tiles = {t["figure"].indicator.key: t for g in response.context["groups"] for t in g["tiles"]}
    # Queue time on the saw: WO2/10 2 h and WO3/10 1 h on 3 Mar, WO1/10 1 h on 2 Mar.
    assert tiles["queue_time"]["figure"].value == pytest.approx(4 / 3, abs=1e-3)
    assert "work_center=SAW" in tiles["queue_time"]["url"]


@pytest.mark.parametrize("page", PAGES)
def test_every_table_of_a_dashboard_downloads_as_csv(planner_client: Any, page: str) -> None:
    snapshot_week()
    response = planner_client.get(reverse(page), PERIOD)
    tables = response.context["tables"]
    assert tables[0].id == "indicators"
    for table in tables:
        download = planner_client.get(reverse(page), {**PERIOD, "csv": table.id})
        assert download["Content-Type"].startswith("text/csv")
        assert f"{table.id}-2026-03-02-2026-03-08.csv" in download["Content-Disposition"]
        rows = rows_of(download)
        assert rows[0] == table.columns
        assert len(rows) == len(table.rows) + 1
    assert planner_client.get(reverse(page), {**PERIOD, "csv": "nope"}).status_code == 404


def test_the_scrap_pareto_puts_the_largest_cause_first(planner_client: Any) -> None:
    snapshot_week()
    response = planner_client.get(reverse("kpis:overview"), PERIOD)
    chart = next(c for c in response.context["charts"] if c.id == "pareto-scrap_rate-reason")
    # In the week: 1 + 1 scrapped for burr; the 10 Mar report is outside it.
    assert chart.spec["labels"] == ["burr"]
    assert chart.spec["values"] == [2.0]
    assert chart.spec["cumulative"] == [100.0]
    assert "by=reason" in chart.spec["links"][0]
    assert "part=burr" in chart.spec["links"][0]


def test_the_decisions_dashboard_has_a_histogram_of_decision_latency(
    planner_client: Any,
) -> None:
    response = planner_client.get(reverse("kpis:decisions"), PERIOD)
    chart = next(
        c for c in response.context["charts"] if c.id == "histogram-exception_resolve_latency"
    )
    counts = dict(zip(chart.spec["labels"], chart.spec["values"], strict=True))
    # Resolved in the week: X1 after 4 h (4-8 h), X2 after 24 h (1-3 days), X4 finally
    # after 30 h (1-3 days).
    assert counts["4–8 h"] == 1
    assert counts["1–3 days"] == 2
    assert sum(counts.values()) == 3


def test_the_indicator_page_documents_computes_and_lists_its_records(
    planner_client: Any,
) -> None:
    url = reverse("kpis:indicator", args=["queue_time"])
    response = planner_client.get(url, PERIOD)
    html = response.content.decode()
    assert INDICATORS["queue_time"].description[:60] in html
    result = response.context["result"]
    assert result.count == 5
    assert "median" in result.stats
    assert len(response.context["page"].object_list) == 5
    # One bar of the breakdown: the saw's operations only.
    response = planner_client.get(url, {**PERIOD, "by": "work_center", "part": "SAW"})
    codes = {r["work_center__code"] for r in response.context["page"].object_list}
    assert codes == {"SAW"}
    # The records as CSV, all of them.
    rows = rows_of(planner_client.get(url, {**PERIOD, "csv": "records"}))
    assert rows[0] == list(INDICATORS["queue_time"].columns)
    assert len(rows) == 6
    rows = rows_of(planner_client.get(url, {**PERIOD, "csv": "breakdown-work_center"}))
    assert rows[0][0] == "work_center"


def test_the_indicator_page_refuses_what_it_cannot_do(planner_client: Any) -> None:
    assert planner_client.get(reverse("kpis:indicator", args=["nope"])).status_code == 404
    url = reverse("kpis:indicator", args=["mispicks"])
    response = planner_client.get(url, {**PERIOD, "by": "colour", "part": "red"})
    assert any("has no breakdown by 'colour'" in str(m) for m in response.context["messages"])
    assert response.context["result"].count == 2
    assert planner_client.get(url, {**PERIOD, "csv": "nope"}).status_code == 404
