"""The KPI API: registry, one indicator with breakdowns, daily snapshots; scopes, bad
input, the schema, and a query count that does not grow with the records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from openapi_spec_validator import validate

from kpis import services
from kpis.indicators import INDICATORS
from kpis.models import KpiTarget
from mes.core.models import TransitionLog
from planning.models import Operation, WorkCenter, WorkOrder
from tests.factories import ItemFactory

from .conftest import at

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"
WEEK = {"from": "2026-03-02", "to": "2026-03-08"}


@pytest.fixture
def bi(make_api_client: Any) -> Any:
    return make_api_client(["kpis:read"], name="BI")


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    return response.json()


def test_the_registry_lists_every_indicator_with_how_it_is_computed(bi: Any) -> None:
    response = bi.get("/api/v1/kpis/")
    assert response.status_code == 200
    body = {row["key"]: row for row in response.json()}
    assert set(body) == set(INDICATORS)
    assert body["queue_time"]["filters"] == ["period", "work_center", "item", "customer"]
    assert body["queue_time"]["breakdowns"] == ["work_center"]
    assert body["on_time_in_full"]["direction"] == "higher"
    assert "first `ready`" in body["queue_time"]["description"]


def test_one_indicator_for_a_period_with_its_breakdown_and_target(bi: Any, history: Any) -> None:
    # given
    KpiTarget.objects.create(indicator="queue_time", target=Decimal("3"))
    KpiTarget.objects.create(
        indicator="queue_time", scope_key="work_center", scope_value="MILL", target=Decimal("5")
    )
    # when
    response = bi.get("/api/v1/kpis/queue_time/", WEEK)
    mill = bi.get("/api/v1/kpis/queue_time/", {**WEEK, "work_center": "MILL"})
    c2 = bi.get("/api/v1/kpis/queue_time/", {**WEEK, "customer": "C2"})
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["value"] == pytest.approx(3.4)
    assert (body["count"], body["median"], body["target"]) == (5, 1.0, 3.0)
    assert (body["period_from"], body["period_to"], body["filters"]) == (
        "2026-03-02",
        "2026-03-08",
        {},
    )
    assert body["breakdown"]["work_center"][0]["key"] == "SAW"
    assert (mill.json()["value"], mill.json()["target"]) == (6.5, 5.0)
    assert (c2.json()["value"], c2.json()["target"]) == (1.25, None)


def test_snapshots_for_bi_tools(bi: Any, history: Any) -> None:
    # given
    for day in (2, 3, 4):
        services.snapshot_day(day=dt.date(2026, 3, day))
    # when
    plant = bi.get("/api/v1/kpis/queue_time/snapshots/", {"from": "2026-03-02", "to": "2026-03-03"})
    saw = bi.get("/api/v1/kpis/queue_time/snapshots/", {**WEEK, "work_center": "SAW"})
    # then
    assert plant.status_code == 200, plant.content
    assert [(r["day"], r["value"], r["count"]) for r in plant.json()["results"]] == [
        ("2026-03-02", 1.0, 1),
        ("2026-03-03", 4.0, 4),
    ]
    assert [(r["day"], r["scope_value"], r["value"]) for r in saw.json()["results"]] == [
        ("2026-03-02", "SAW", 1.0),
        ("2026-03-03", "SAW", 1.5),
    ]
    # The additive parts of 3 Mar: 16 h of queue (12.5 + 2 + 1 + 0.5) over four operations.
    day3 = plant.json()["results"][1]
    assert day3["numerator"] == pytest.approx(16 * 3600, abs=0.01)
    assert day3["denominator"] == 4.0


def test_snapshots_of_another_breakdown_for_a_pareto_in_a_bi_tool(bi: Any, history: Any) -> None:
    for day in (2, 3, 4):
        services.snapshot_day(day=dt.date(2026, 3, day))
    burr = bi.get(
        "/api/v1/kpis/scrap_rate/snapshots/", {**WEEK, "scope": "reason", "value": "burr"}
    )
    assert burr.status_code == 200, burr.content
    # Scrapped for burr: 1 of 10 reported on 2 Mar, 1 of 4 on 3 Mar.
    assert [(r["day"], r["numerator"], r["denominator"]) for r in burr.json()["results"]] == [
        ("2026-03-02", 1.0, 10.0),
        ("2026-03-03", 1.0, 4.0),
    ]


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/api/v1/kpis/queue_time/", {"from": "yesterday"}, 400, "from"),
        ("/api/v1/kpis/queue_time/", {"from": "2026-03-08", "to": "2026-03-01"}, 400, "to"),
        ("/api/v1/kpis/queue_time/", {"from": "2020-01-01", "to": "2026-03-01"}, 400, "from"),
        ("/api/v1/kpis/mispicks/", {"work_center": "SAW"}, 400, "work_center"),
        ("/api/v1/kpis/happiness/", {}, 404, None),
        ("/api/v1/kpis/happiness/snapshots/", {}, 404, None),
        ("/api/v1/kpis/queue_time/snapshots/", {"to": "31.03.2026"}, 400, "to"),
        ("/api/v1/kpis/mispicks/snapshots/", {"work_center": "SAW"}, 400, "work_center"),
        ("/api/v1/kpis/mispicks/snapshots/", {"scope": "colour", "value": "red"}, 400, "scope"),
        ("/api/v1/kpis/scrap_rate/snapshots/", {"scope": "reason"}, 400, "value"),
    ],
)
def test_bad_input_is_a_problem_with_the_field(
    bi: Any, path: str, params: dict[str, str], status: int, field: str | None
) -> None:
    body = assert_problem(bi.get(path, params), status)
    if field:
        assert field in body["errors"], body


@pytest.mark.parametrize(
    "path", ["/api/v1/kpis/", "/api/v1/kpis/queue_time/", "/api/v1/kpis/queue_time/snapshots/"]
)
def test_a_client_without_kpis_read_may_not_read(make_api_client: Any, path: str) -> None:
    orders_only = make_api_client(["orders:read"], name="Orders only")
    assert "kpis:read" in assert_problem(orders_only.get(path), 403)["detail"]


def _operations(count: int) -> None:
    """`count` operations of one work order, each queued 1 h and done on 3 Mar."""
    item = ItemFactory(sku=f"Q{count}")
    wc = WorkCenter.objects.get_or_create(code="QWC", defaults={"name": "Queue"})[0]
    wo = WorkOrder.objects.create(number=f"QWO{count}", item=item, quantity=1)
    ops = Operation.objects.bulk_create(
        Operation(work_order=wo, sequence=i + 1, name="q", work_center=wc, quantity_planned=1)
        for i in range(count)
    )
    ct = ContentType.objects.get_for_model(Operation)
    TransitionLog.objects.bulk_create(
        TransitionLog(
            content_type=ct,
            object_id=op.pk,
            object_repr="q",
            transition=state,
            from_state="",
            to_state=state,
            at=when,
        )
        for op in ops
        for state, when in (("ready", at(3, 8)), ("running", at(3, 9)), ("done", at(3, 10)))
    )


@pytest.mark.parametrize("key", ["queue_time", "operation_handoff", "scrap_rate"])
def test_the_indicator_endpoint_reads_in_fixed_queries(
    bi: Any, django_assert_num_queries: Any, key: str
) -> None:
    # the API client 1, the figure 1, the median 1 (durations), each breakdown 1, the
    # target 1: the same at 10 and 200 operations.
    expected = {"queue_time": 5, "operation_handoff": 5, "scrap_rate": 6}[key]
    bi.get("/api/v1/kpis/")  # the client's last-used stamp is written on its first call
    for count in (10, 200):
        _operations(count)
        with django_assert_num_queries(expected):
            response = bi.get(f"/api/v1/kpis/{key}/", WEEK)
        assert response.status_code == 200
    assert bi.get("/api/v1/kpis/queue_time/", WEEK).json()["count"] == 210


def test_the_schema_with_the_kpi_endpoints_validates(bi: Any) -> None:
    response = bi.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    for path in ("/api/v1/kpis/", "/api/v1/kpis/{key}/", "/api/v1/kpis/{key}/snapshots/"):
        assert path in schema["paths"], path
