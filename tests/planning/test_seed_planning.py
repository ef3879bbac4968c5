"""The demo's shop floor: every planning feature is on show after `seed_demo`, through
the real services, and a second run changes nothing."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from inventory.models import StockMove
from kpis.generate import GENERATED
from mes.core.models import Event, FieldChange, TransitionLog
from planning.demo import seed_planning_demo
from planning.models import (
    CalendarException,
    ChangeoverFamily,
    ChangeoverTime,
    Downtime,
    LabourEntry,
    Operation,
    OperationReport,
    OperatorBadge,
    Routing,
    RoutingOperation,
    ScheduleRun,
    Shift,
    WorkCenter,
    WorkOrder,
    WorkOrderState,
)
from planning.selectors import dispatch_list, release_board
from planning.services import operator_identify

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in [
            ChangeoverFamily,
            WorkCenter,
            Shift,
            CalendarException,
            ChangeoverTime,
            Routing,
            RoutingOperation,
            WorkOrder,
            Operation,
            OperationReport,
            LabourEntry,
            Downtime,
            OperatorBadge,
            ScheduleRun,
            TransitionLog,
            FieldChange,
            Event,
        ]
    }


@pytest.fixture
def seeded(db: Any) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_the_demo_shows_every_planning_feature(seeded):
    # then: the structure
    assert "Loaded the demo planning" in seeded
    centers = {wc.code: wc for wc in WorkCenter.objects.all()}
    assert set(centers) == {"SAW-1", "CNC-1", "WELD-1", "PAINT-1", "ASSY-1"}
    assert centers["CNC-1"].capacity == 2
    assert Shift.objects.filter(work_center=centers["SAW-1"]).count() == 10  # two shifts x 5
    kinds = set(CalendarException.objects.values_list("kind", flat=True))
    assert kinds == {"closed", "overtime"}
    assert ChangeoverTime.objects.filter(work_center=centers["CNC-1"]).count() >= 6
    assert Routing.objects.count() >= 15
    assert RoutingOperation.objects.filter(is_rework=True).exists()
    assert RoutingOperation.objects.exclude(quality_check="").exists()
    # work orders in every state
    states = set(WorkOrder.objects.values_list("state", flat=True))
    assert states == set(WorkOrderState.values)
    assert WorkOrder.objects.filter(kind="mto").exists()
    # planned, each held back by a different reason
    blockers = {b.code for check in release_board() for b in check.blockers}
    assert {
        "kit_not_staged",
        "material_short",
        "no_routing",
        "work_center_down",
        "quality_hold",
    } <= blockers
    # in progress with a partial report handed downstream
    in_progress = WorkOrder.objects.filter(state="in_progress")
    assert in_progress.count() >= 2
    assert Operation.objects.filter(
        work_order__in=in_progress, state="running", quantity_good__gt=0
    ).exists()
    # completed with the output received into stock
    # The demo's own work orders, not the generated KPI history behind them.
    live = WorkOrder.objects.exclude(notes=GENERATED)
    completed = live.get(state="completed")
    assert completed.quantity_good > 0
    assert completed.quantity_scrap > 0
    assert StockMove.objects.filter(
        document_ref=completed.number, type="production", quantity=completed.quantity_good
    ).exists()
    # expedited, with who and why
    expedited = live.get(expedite=True)
    assert any("forward a week" in why for why in expedited.priority_explanation)
    # downtime: a history, and one work center down now
    assert Downtime.objects.filter(ended_at__isnull=False).count() >= 2
    assert list(WorkCenter.objects.filter(status="down").values_list("code", flat=True)) == [
        "PAINT-1"
    ]
    # labour, some of it overtime
    assert LabourEntry.objects.filter(overtime_minutes__gt=0).exists()
    assert LabourEntry.objects.filter(clock_off__isnull=True).exists()
    # badges
    assert operator_identify(code="OP-1").username == "operator"
    assert operator_identify(code="1234").username == "operator"
    assert operator_identify(code="FL-1").username == "floorlead"
    assert operator_identify(code="2345").username == "floorlead"
    # one schedule run, done, and the dispatch lists follow it
    run = ScheduleRun.objects.get()
    assert run.status == "done", run.error
    rows = dispatch_list(work_center=centers["CNC-1"])
    assert rows
    assert rows[0].operation.state in {"running", "paused", "ready"}
    assert Operation.objects.filter(scheduled_start__isnull=False).exists()


def test_running_the_demo_again_changes_nothing(seeded):
    # given
    before = _counts()
    # when
    out = StringIO()
    call_command("seed_demo", stdout=out)
    again = seed_planning_demo(users={}, stdout=None)
    # then
    assert "Demo planning exists already" in out.getvalue()
    assert again is False
    assert _counts() == before
