"""The generated plant history (kpis.generate) is what the services would have left: each
record's state is its last transition, quantities add up, nothing lies in the future,
the ledger stays clean and every indicator has a figure on it; the demo's history is
loaded once."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from exceptions.models import PlantException
from kpis.demo import seed_kpis_demo
from kpis.generate import Calendar, history_generate, plant_create
from kpis.indicators import INDICATORS, Period, compute
from kpis.models import KpiSnapshot, KpiTarget
from mes.core.models import TransitionLog
from orders.models import ChangeRequest, SalesOrder, SalesOrderLine
from planning.models import Downtime, LabourEntry, Operation, OperationReport, WorkOrder
from shipping.models import Shipment, ShipmentLine

pytestmark = pytest.mark.django_db

DAYS = 21
INITIAL = {
    SalesOrder: "draft",
    WorkOrder: "planned",
    Operation: "pending",
    Shipment: "planned",
    PlantException: "open",
    ChangeRequest: "requested",
}


@pytest.fixture
def generated() -> dict[str, Any]:
    plant = plant_create(prefix="KT", seed=3, work_centers=5, items=20, customers=6)
    return history_generate(
        days=DAYS, work_orders=150, plant=plant, seed=3, rare_events=3.0, prefix="KT"
    )


def test_each_record_is_in_the_state_its_history_ends_in(generated: dict[str, Any]) -> None:
    assert generated["work_orders"] == 150
    now = timezone.now()
    for model, initial in INITIAL.items():
        ct = ContentType.objects.get_for_model(model)
        chains: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for object_id, from_state, to_state, at in (
            TransitionLog.objects.filter(content_type=ct)
            .order_by("at", "id")
            .values_list("object_id", "from_state", "to_state", "at")
        ):
            assert at <= now
            chains[object_id].append((from_state, to_state))
        states = dict(model.objects.values_list("pk", "state"))
        assert states, model
        for pk, state in states.items():
            chain = chains[pk]
            assert chain, f"{model.__name__} {pk} has no history"
            assert chain[0][0] == initial
            for (_, before), (after, _) in zip(chain, chain[1:], strict=False):
                assert before == after, f"{model.__name__} {pk}: {chain}"
            assert chain[-1][1] == state


def test_quantities_add_up(generated: dict[str, Any]) -> None:
    for line in SalesOrderLine.objects.all():
        shipped = ShipmentLine.objects.filter(sales_order_line=line).aggregate(
            q=Sum("quantity_shipped")
        )["q"]
        assert line.shipped_quantity == line.quantity == shipped
    for op in Operation.objects.exclude(state="cancelled"):
        reported = OperationReport.objects.filter(operation=op).aggregate(
            g=Sum("quantity_good"), s=Sum("quantity_scrap"), r=Sum("quantity_rework")
        )
        assert (reported["g"], reported["s"], reported["r"]) == (
            op.quantity_good,
            op.quantity_scrap,
            op.quantity_rework,
        )
        assert op.quantity_available == op.quantity_good + op.quantity_scrap + op.quantity_rework
        assert op.started_at <= op.finished_at <= op.scheduled_end + dt.timedelta(days=60)
    for wo in WorkOrder.objects.filter(state__in=["completed", "closed"]):
        last = wo.operations.filter(is_rework=False).order_by("-sequence").first()
        assert wo.quantity_good == last.quantity_good
        scrap = wo.operations.aggregate(s=Sum("quantity_scrap"))["s"]
        assert wo.quantity_scrap == scrap
    for shipment in Shipment.objects.all():
        refused = shipment.mispicks + shipment.incorrect_dispatches
        from inventory.models import ScanRefusal

        assert refused == ScanRefusal.objects.filter(document_id=shipment.pk).count()
    assert LabourEntry.objects.filter(overtime_minutes__gt=0).exists()
    assert Downtime.objects.filter(ended_at__isnull=True).count() == 0
    assert not PlantException.objects.exclude(state="resolved").exists()


def test_every_indicator_has_a_figure_and_the_ledger_stays_clean(
    generated: dict[str, Any],
) -> None:
    today = timezone.localdate()
    period = Period(today - dt.timedelta(days=DAYS - 1), today)
    empty = [
        key
        for key, indicator in INDICATORS.items()
        if compute(indicator, period, breakdown=False).value is None
    ]
    assert empty == []
    call_command("verify_ledger")  # raises when a balance disagrees with the ledger


def test_calendar_runs_work_across_the_night_and_the_weekend() -> None:
    calendar = Calendar([(d, dt.time(6), dt.time(14)) for d in range(5)])
    friday = dt.datetime(2026, 3, 6, 13, 0)
    segments = calendar.run(friday, 90)
    assert segments == [
        (friday, dt.datetime(2026, 3, 6, 14, 0)),
        (dt.datetime(2026, 3, 9, 6, 0), dt.datetime(2026, 3, 9, 6, 30)),
    ]
    assert calendar.next_working(dt.datetime(2026, 3, 7, 9, 0)) == dt.datetime(2026, 3, 9, 6)


def test_the_demo_history_is_loaded_once_and_shows_every_figure() -> None:
    plant_create(prefix="KD", seed=5, work_centers=5, items=20, customers=8)
    from django.contrib.auth import get_user_model

    people = {u.username: u for u in get_user_model().objects.filter(username__startswith="kd-")}
    users = {
        "planner": people["kd-planner1"],
        "planner2": people["kd-planner2"],
        "floorlead": people["kd-floorlead1"],
        "operator": people["kd-operator1"],
        "shipping": people["kd-shipping1"],
        "warehouse": people["kd-warehouse1"],
    }
    assert seed_kpis_demo(users=users, days=30) is True
    counts = (TransitionLog.objects.count(), KpiSnapshot.objects.count(), KpiTarget.objects.count())
    assert counts[1]
    assert counts[2]
    assert seed_kpis_demo(users=users, days=30) is False
    assert counts == (
        TransitionLog.objects.count(),
        KpiSnapshot.objects.count(),
        KpiTarget.objects.count(),
    )
    today = timezone.localdate()
    period = Period(today - dt.timedelta(days=29), today)
    for key, indicator in INDICATORS.items():
        assert compute(indicator, period, breakdown=False).value is not None, key
    scrap = compute(INDICATORS["scrap_rate"], period).breakdown["reason"]
    assert [row for row in scrap if row["key"] and row["value"]]
    types = compute(INDICATORS["exceptions_raised"], period).breakdown["type"]
    assert len(types) >= 3
    assert Downtime.objects.values("reason_code").distinct().count() >= 3
    # Some days miss a target: the trend shows them.
    target = KpiTarget.objects.get(indicator="scrap_rate", scope_key="")
    values = KpiSnapshot.objects.filter(
        indicator="scrap_rate", scope_key="", value__isnull=False
    ).values_list("value", flat=True)
    assert any(v > float(target.target) for v in values)
    assert any(v <= float(target.target) for v in values)
    assert target.target >= Decimal(0)
