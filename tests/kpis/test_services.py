"""Daily snapshots (idempotent), targets and `kpi.target_breached`, the beat task, admin."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from exceptions.models import DecisionRule, PlantException
from kpis import services, tasks
from kpis.indicators import INDICATORS
from kpis.models import KpiSnapshot, KpiTarget
from mes.core.events import EVENT_TYPES
from mes.core.models import Event

pytestmark = pytest.mark.django_db

DAY3 = dt.date(2026, 3, 3)


def rows(day: dt.date) -> set[tuple[str, str, str, float | None, int]]:
    return set(
        KpiSnapshot.objects.filter(day=day).values_list(
            "indicator", "scope_key", "scope_value", "value", "count"
        )
    )


def test_a_day_is_snapshotted_plant_wide_and_per_work_center(history: Any) -> None:
    # when
    written = services.snapshot_day(day=DAY3)
    # then: every indicator plant-wide, plus a row per work center with records that day.
    # 3 Mar: queue time WO1/20 12.5 h (mill), WO2/10 2 h + WO3/10 1 h (saw), WO2/20 0.5 h.
    snap = {(i, k, v): (value, n) for i, k, v, value, n in rows(DAY3)}
    assert written == len(snap)
    assert {i for i, k, _v in snap if k == ""} == set(INDICATORS)
    assert snap[("queue_time", "", "")] == (4.0, 4)
    assert snap[("queue_time", "work_center", "SAW")] == (1.5, 2)
    assert snap[("queue_time", "work_center", "MILL")] == (6.5, 2)
    assert snap[("mispicks", "", "")] == (1.0, 1)
    assert ("mispicks", "work_center", "SAW") not in snap  # no work-center figure
    assert snap[("exception_ack_latency", "", "")] == (6.0, 1)


def test_snapshot_is_idempotent_for_a_day(history: Any) -> None:
    # given
    services.snapshot_day(day=DAY3)
    first = rows(DAY3)
    ids = set(KpiSnapshot.objects.filter(day=DAY3).values_list("pk", flat=True))
    # when
    services.snapshot_day(day=DAY3)
    # then: the same rows, not new ones
    assert rows(DAY3) == first
    assert set(KpiSnapshot.objects.filter(day=DAY3).values_list("pk", flat=True)) == ids


def test_a_second_snapshot_brings_the_day_up_to_date_and_drops_stale_scopes(
    history: Any,
) -> None:
    # given
    services.snapshot_day(day=DAY3)
    # when: the mill's operations go away (history corrected) and the day is taken again
    from mes.core.models import TransitionLog

    TransitionLog.objects.filter(
        object_id__in=[history.op12.pk, history.op22.pk], content_type__model="operation"
    ).delete()
    services.snapshot_day(day=DAY3)
    # then
    snap = {(i, k, v): (value, n) for i, k, v, value, n in rows(DAY3)}
    assert ("queue_time", "work_center", "MILL") not in snap
    assert snap[("queue_time", "", "")] == (1.5, 2)


def test_a_breached_target_emits_the_event_once(
    history: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given: queue time at most 3 h plant-wide (3 Mar: 4 h), 2 h on the saw (1.5 h: met),
    # on-time in full at least 90 % (no lines due that day: no figure, no breach).
    KpiTarget.objects.create(indicator="queue_time", target=Decimal("3"))
    KpiTarget.objects.create(
        indicator="queue_time", scope_key="work_center", scope_value="SAW", target=Decimal("2")
    )
    KpiTarget.objects.create(indicator="on_time_in_full", target=Decimal("90"))
    KpiTarget.objects.create(indicator="schedule_adherence", target=Decimal("100"))
    services.snapshot_day(day=DAY3)
    # when
    with django_capture_on_commit_callbacks(execute=False):
        first = services.targets_check(day=DAY3)
        again = services.targets_check(day=DAY3)
        services.snapshot_day(day=DAY3)
        after_resnapshot = services.targets_check(day=DAY3)
    # then: schedule adherence on 3 Mar is WO2/10 on time: 100 % (met, higher is better)
    assert [(s.indicator, s.scope_key) for s in first] == [("queue_time", "")]
    assert again == []
    assert after_resnapshot == []
    event = Event.objects.get(type="kpi.target_breached")
    assert event.payload == {
        "indicator": "queue_time",
        "value": 4.0,
        "target": 3.0,
        "day": "2026-03-03",
        "scope": "",
        "direction": "lower",
    }
    assert "kpi.target_breached" in EVENT_TYPES


def test_a_work_center_target_breach_names_its_scope(history: Any) -> None:
    KpiTarget.objects.create(
        indicator="queue_time", scope_key="work_center", scope_value="MILL", target=Decimal("1")
    )
    services.snapshot_day(day=DAY3)
    services.targets_check(day=DAY3)
    event = Event.objects.get(type="kpi.target_breached")
    assert (event.payload["scope"], event.payload["value"]) == ("work_center:MILL", 6.5)


def test_the_rules_engine_can_raise_an_exception_on_a_breach(
    history: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    DecisionRule.objects.create(
        name="queue too long",
        decision_point="kpi.target_breached",
        condition='indicator == "queue_time" and value > target',
        effect=DecisionRule.Effect.RAISE_EXCEPTION,
        title_template="{indicator} at {value} h on {day}",
        severity="medium",
    )
    KpiTarget.objects.create(indicator="queue_time", target=Decimal("3"))
    services.snapshot_day(day=DAY3)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.targets_check(day=DAY3)
    # then
    raised = PlantException.objects.get(rule__name="queue too long")
    assert raised.title == "queue_time at 4.0 h on 2026-03-03"


def test_the_beat_task_snapshots_yesterday_and_today(history: Any, monkeypatch: Any) -> None:
    # given
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: dt.date(2026, 3, 4))
    KpiTarget.objects.create(indicator="queue_time", target=Decimal("3"))
    # when
    written = tasks.snapshot_kpis()
    # then
    assert set(written) == {"2026-03-03", "2026-03-04"}
    assert KpiSnapshot.objects.filter(day=DAY3).count() == written["2026-03-03"]
    assert KpiSnapshot.objects.filter(day=dt.date(2026, 3, 4)).exists()
    assert Event.objects.filter(type="kpi.target_breached").count() == 1  # yesterday only


def test_a_target_names_a_defined_indicator_and_a_scope_it_has(db: Any) -> None:
    with pytest.raises(ValidationError, match="defined indicators"):
        KpiTarget(indicator="happiness", target=Decimal("1")).full_clean()
    with pytest.raises(ValidationError, match="no figure per work_center"):
        KpiTarget(
            indicator="mispicks", scope_key="work_center", scope_value="SAW", target=1
        ).full_clean()
    with pytest.raises(ValidationError, match="together"):
        KpiTarget(indicator="queue_time", scope_key="work_center", target=1).full_clean()
    KpiTarget(indicator="queue_time", target=Decimal("2.5")).full_clean()


def test_admin_edits_targets_and_only_reads_snapshots(admin_client: Any, history: Any) -> None:
    services.snapshot_day(day=DAY3)
    response = admin_client.post(
        "/admin/kpis/kpitarget/add/",
        {"indicator": "scrap_rate", "scope_key": "", "scope_value": "", "target": "2.5"},
    )
    assert response.status_code == 302, response.content
    assert KpiTarget.objects.get().target == Decimal("2.5")
    assert admin_client.get("/admin/kpis/kpisnapshot/").status_code == 200
    assert admin_client.get("/admin/kpis/kpisnapshot/add/").status_code == 403
