"""Each indicator on the hand-built week (tests/kpis/conftest.py); every expected figure
is worked out by hand in the comment beside it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from kpis.indicators import FILTERS, INDICATORS, Indicator, Period, compute
from planning.models import Downtime

from .conftest import WEEK, at, reason

pytestmark = pytest.mark.django_db


def figure(key: str, start: dt.date = WEEK[0], end: dt.date = WEEK[1], **filters: str) -> Any:
    return compute(INDICATORS[key], Period(start, end), filters)


def parts(result: Any, dimension: str) -> dict[str, tuple[float | None, int]]:
    return {r["key"]: (r["value"], r["count"]) for r in result.breakdown[dimension]}


def test_every_indicator_is_documented_and_declares_its_filters() -> None:
    assert len(INDICATORS) >= 20
    for indicator in INDICATORS.values():
        assert isinstance(indicator, Indicator)
        assert indicator.direction in {"lower", "higher"}
        assert len(indicator.description) > 60, indicator.key
        assert indicator.supported_filters[0] == "period"
        assert set(indicator.filters) <= set(FILTERS)


# --- delays ----------------------------------------------------------------------------


def test_order_confirmed_to_work_order_released(history: Any) -> None:
    # WO1: SO1 confirmed 2 Mar 08:00 -> released 14:00 = 6 h; WO2: SO2 confirmed 2 Mar
    # 12:00 -> released 3 Mar 12:00 = 24 h; WO3 is to stock and not counted.
    result = figure("order_to_release")
    assert (result.value, result.count, result.stats["median"]) == (15.0, 2, 15.0)
    assert {wo.number for wo in result.records} == {"WO1", "WO2"}
    assert figure("order_to_release", customer="C1").value == 6.0
    assert figure("order_to_release", item="B").count == 0


def test_released_to_first_operation_started(history: Any) -> None:
    # WO1 14:00 -> 15:00 = 1 h; WO2 3 Mar 12:00 -> 14:00 = 2 h; WO3 first released
    # 08:00 (taken back and released again at 10:00) -> 11:00 = 3 h.
    result = figure("release_to_first_start")
    assert (result.value, result.count, result.stats["median"]) == (2.0, 3, 2.0)


def test_queue_time_counts_ready_to_first_start_only(history: Any) -> None:
    # WO1/10 1 h, WO1/20 12.5 h (its pause at the end of the shift and the resume next
    # morning are not queue time: counting to the resume would give 36 h), WO2/10 2 h,
    # WO2/20 0.5 h, WO3/10 1 h: mean 17 / 5 = 3.4 h, median 1 h.
    result = figure("queue_time")
    assert result.count == 5
    assert result.value == pytest.approx(3.4)
    assert result.stats["median"] == pytest.approx(1.0)
    by_wc = parts(result, "work_center")
    assert by_wc["SAW"][1] == 3
    assert by_wc["SAW"][0] == pytest.approx(4 / 3, abs=1e-4)
    assert by_wc["MILL"] == (pytest.approx(6.5), 2)
    assert figure("queue_time", work_center="MILL").value == pytest.approx(6.5)
    assert figure("queue_time", customer="C2").value == pytest.approx(1.25)  # (2 + 0.5) / 2


def test_queue_time_of_an_operation_paused_across_days_lands_on_its_first_start(
    history: Any,
) -> None:
    # WO1/20 started 3 Mar: it is in 3 Mar's figure, not in 4 Mar's (the resume day).
    day3 = figure("queue_time", dt.date(2026, 3, 3), dt.date(2026, 3, 3), work_center="MILL")
    day4 = figure("queue_time", dt.date(2026, 3, 4), dt.date(2026, 3, 4), work_center="MILL")
    assert (day3.count, day4.count) == (2, 0)


def test_operation_done_to_next_started(history: Any) -> None:
    # WO1/20: WO1/10 done 2 Mar 18:00 -> started 3 Mar 06:30 = 12.5 h; WO2/20 started on a
    # transfer batch before WO2/10 was done: 0 h. First steps have no predecessor.
    result = figure("operation_handoff")
    assert (result.count, result.value) == (2, pytest.approx(6.25))
    assert parts(result, "work_center") == {"MILL": (pytest.approx(6.25), 2)}


def test_work_order_completed_to_shipped_uses_the_first_handover_after_completion(
    history: Any,
) -> None:
    # WO1 completed 4 Mar 10:00 -> SH1 (first part) 5 Mar 10:00 = 24 h; WO2 completed
    # 4 Mar 16:00 -> SH3 18:00 = 2 h.
    result = figure("completed_to_shipped")
    assert (result.value, result.count) == (13.0, 2)


def test_work_order_cycle_time(history: Any) -> None:
    # WO1 2 Mar 14:00 -> 4 Mar 10:00 = 44 h; WO2 3 Mar 12:00 -> 4 Mar 16:00 = 28 h;
    # WO3 3 Mar 08:00 (first release) -> 5 Mar 08:00 = 48 h.
    result = figure("work_order_cycle_time")
    assert (result.value, result.count, result.stats["median"]) == (40.0, 3, 44.0)
    assert figure("work_order_cycle_time", item="B").value == 48.0


def test_a_partial_shipment_ends_the_completed_to_shipped_wait_not_the_lead_time(
    history: Any,
) -> None:
    # 5 Mar: SH1 carries the first 6 of SO1/1. WO1's wait ends there (4 Mar 10:00 -> 5 Mar
    # 10:00 = 24 h) but SO1 is only partly shipped: no lead time ends that day.
    day5 = dt.date(2026, 3, 5)
    assert figure("completed_to_shipped", day5, day5).value == 24.0
    assert figure("order_lead_time", day5, day5).count == 0
    # 6 Mar: SH2 ships the rest: SO1's lead time ends (97 h); WO1 already counted on 5 Mar.
    day6 = dt.date(2026, 3, 6)
    assert figure("order_lead_time", day6, day6).value == 97.0
    assert figure("completed_to_shipped", day6, day6).count == 0


def test_order_lead_time_ends_at_the_full_shipment(history: Any) -> None:
    # SO1 confirmed 2 Mar 08:00, partly shipped 5 Mar, shipped 6 Mar 09:00 = 97 h;
    # SO2 2 Mar 12:00 -> 4 Mar 18:00 = 54 h.
    result = figure("order_lead_time")
    assert (result.value, result.count) == (75.5, 2)
    assert figure("order_lead_time", customer="C2").value == 54.0


def test_on_time_in_full_with_a_partial_shipment(history: Any) -> None:
    # SO1/1 (10 due 5 Mar): 6 shipped on 5 Mar, 4 on 6 Mar -> not in full by the promise;
    # SO1/2 (5 due 6 Mar) shipped 6 Mar; SO2/1 (4 due 4 Mar) shipped 4 Mar: 2 of 3.
    result = figure("on_time_in_full")
    assert result.count == 3
    assert result.value == pytest.approx(200 / 3, abs=1e-3)
    assert figure("on_time_in_full", customer="C1").value == 50.0
    late = result.records.get(pk=history.so1l1.pk)
    assert late.shipped_by_promise == 6


def test_schedule_adherence(history: Any) -> None:
    # Done with a scheduled end: WO1/20 (09:00 > 08:00, late), WO2/10 (16:00 <= 17:00),
    # WO2/20 (12:00 = 12:00, on time): 2 of 3.
    result = figure("schedule_adherence")
    assert result.count == 3
    assert result.value == pytest.approx(200 / 3, abs=1e-3)
    assert parts(result, "work_center") == {"SAW": (100.0, 1), "MILL": (50.0, 2)}


def test_work_order_adherence(history: Any) -> None:
    # Completed with a scheduled end: WO1 4 Mar 10:00 <= 12:00 (on time), WO2 4 Mar 16:00
    # > 15:00 (late); WO3 was never scheduled and is not counted: 1 of 2.
    result = figure("work_order_adherence")
    assert (result.value, result.count) == (50.0, 2)
    assert parts(result, "item") == {"A": (50.0, 2)}
    assert figure("work_order_adherence", customer="C1").value == 100.0
    assert figure("work_order_adherence", item="B").value is None


def test_start_adherence_judges_the_first_start(history: Any) -> None:
    # First start against the scheduled start, 15 min of grace: WO1/10 15:00 vs 14:50
    # (10 min, on time); WO1/20 3 Mar 06:30 vs 06:20 (10 min, on time: it was paused at the
    # end of the shift and resumed 4 Mar 06:00, a day late, but the resume is not a
    # start); WO2/10 14:00 vs 13:30 (30 min, late); WO2/20 15:30 vs 15:15 (exactly 15 min,
    # on time); WO3/10 has no scheduled start. 3 of 4.
    result = figure("start_adherence")
    assert (result.value, result.count) == (75.0, 4)
    assert parts(result, "work_center") == {"SAW": (50.0, 2), "MILL": (100.0, 2)}
    # WO1/20 is judged on 3 Mar, the day it first started; 4 Mar has no start.
    day3, day4 = dt.date(2026, 3, 3), dt.date(2026, 3, 4)
    assert figure("start_adherence", day3, day3, work_center="MILL").value == 100.0
    assert figure("start_adherence", day4, day4).count == 0
    with override_settings(KPI_START_ADHERENCE_GRACE_MINUTES=10):
        # 10 min of grace: WO1/10 and WO1/20 still on time, WO2/20 now late: 2 of 4.
        assert figure("start_adherence").value == 50.0


# --- errors ----------------------------------------------------------------------------


def test_scrap_and_rework_rates(history: Any) -> None:
    # In the week: reported 10 + 9 + 4 = 23; scrap 1 + 1 = 2; rework 1. The 10 Mar report
    # is outside the week.
    scrap = figure("scrap_rate")
    assert scrap.value == pytest.approx(200 / 23, abs=1e-3)
    assert parts(scrap, "work_center")["SAW"][0] == pytest.approx(200 / 14, abs=1e-3)
    assert parts(scrap, "work_center")["MILL"][0] == 0.0
    assert parts(scrap, "reason")["burr"][1] == 2
    rework = figure("rework_rate")
    assert rework.value == pytest.approx(100 / 23, abs=1e-3)
    assert parts(rework, "reason")["dimension"] == (pytest.approx(100.0 / 9, abs=1e-3), 1)
    assert figure("scrap_rate", work_center="MILL").value == 0.0
    assert figure("scrap_rate", dt.date(2026, 3, 10), dt.date(2026, 3, 10)).value == 100.0


def test_wrong_routings_mispicks_and_incorrect_dispatches(history: Any) -> None:
    assert figure("wrong_routings").value == 1.0
    assert figure("wrong_routings", work_center="MILL").value == 0.0
    assert figure("mispicks").value == 2.0  # the 9 Mar one is outside
    assert figure("mispicks", WEEK[0], dt.date(2026, 3, 9)).value == 3.0
    assert figure("incorrect_dispatches").value == 1.0


# --- inefficiencies --------------------------------------------------------------------


def test_changeovers_count_and_minutes(history: Any) -> None:
    # WO2/10 15 min on the saw, WO2/20 30 min on the mill.
    count, minutes = figure("changeovers"), figure("changeover_minutes")
    assert (count.value, minutes.value) == (2.0, 45.0)
    assert parts(minutes, "work_center") == {"SAW": (15.0, 1), "MILL": (30.0, 1)}


def test_actual_changeovers_against_the_minimum(history: Any) -> None:
    # Runs (starts and resumes) per work center and day: saw 2 Mar WO1/10 F1 (first of
    # the day: no switch); saw 3 Mar WO3/10 F2 (11:00), WO2/10 F1 (14:00, F2 -> F1: no
    # matrix entry, the saw's default 10 min); mill 3 Mar WO1/20 F1 (06:30), WO2/20 F2
    # (15:30, F1 -> F2: the mill's default 25 min); mill 4 Mar WO1/20 F1 resumed (first of
    # the day). 2 changeovers, 35 minutes.
    actual = figure("changeovers_actual")
    assert (actual.value, actual.count) == (2.0, 2)
    assert parts(actual, "work_center") == {"SAW": (1.0, 1), "MILL": (1.0, 1)}
    assert {(r.object_repr, r.previous_family_code, r.family_code) for r in actual.records} == {
        (str(history.op21), "F2", "F1"),
        (str(history.op22), "F1", "F2"),
    }
    minutes = figure("changeover_minutes_actual")
    assert minutes.value == 35.0
    assert parts(minutes, "work_center") == {"SAW": (10.0, 1), "MILL": (25.0, 1)}
    # Minimum for the same work, per day: saw 3 Mar 2 families - 1 machine = 1, its 1
    # changeover is none in excess; mill 3 Mar 2 families - 2 machines = 0, so its 1
    # changeover is in excess. Other days ran one family. 1 in all.
    excess = figure("changeovers_excess")
    assert (excess.value, excess.count) == (1.0, 2)
    assert parts(excess, "work_center") == {"SAW": (0.0, 1), "MILL": (1.0, 1)}
    assert figure("changeovers_excess", work_center="SAW").value == 0.0
    # The records: every run of the day sequences, the pause's resume included.
    assert excess.records.count() == 6


def test_actual_changeovers_add_up_from_their_days(history: Any) -> None:
    # The matrix entry counts when the pair has one: the saw's F1 -> F2 is 20 minutes.
    # Move WO3/10's run after WO2/10's on 3 Mar: the saw then runs F1 (14:00), F2 (16:30).
    from mes.core.models import TransitionLog

    TransitionLog.objects.filter(object_id=history.op31.pk, to_state="running").update(
        at=at(3, 16, 30)
    )
    day2, day3, day4 = (dt.date(2026, 3, d) for d in (2, 3, 4))
    assert figure("changeover_minutes_actual", day3, day3, work_center="SAW").value == 20.0
    for key in ("changeovers_actual", "changeover_minutes_actual", "changeovers_excess"):
        days = sum(figure(key, d, d).value for d in (day2, day3, day4))
        assert figure(key).value == days, key


def test_downtime_minutes_clipped_to_the_period(history: Any) -> None:
    # Saw jam 1 Mar 22:00 - 2 Mar 02:00: 120 min in the week (from its start); saw jam
    # 5 Mar 09:00 - 09:45: 45; mill power 4 Mar 10:00 - 11:30: 90; mill tooling open since
    # 8 Mar 20:00: up to the end of the week, 240. 495 minutes.
    result = figure("downtime_minutes")
    assert result.value == pytest.approx(495.0)
    assert result.count == 4
    by_reason = parts(result, "reason")
    assert by_reason["jam"] == (pytest.approx(165.0), 2)
    assert by_reason["tooling"] == (pytest.approx(240.0), 1)
    assert by_reason["power"] == (pytest.approx(90.0), 1)
    assert parts(result, "work_center")["MILL"] == (pytest.approx(330.0), 2)
    assert figure("downtime_minutes", work_center="SAW").value == pytest.approx(165.0)
    # 1 Mar, before the week: the jam's first 120 minutes (22:00 - midnight).
    day1 = dt.date(2026, 3, 1)
    assert figure("downtime_minutes", day1, day1).value == pytest.approx(120.0)


def test_open_downtime_counts_up_to_now(history: Any) -> None:
    Downtime.objects.filter(ended_at__isnull=True).delete()
    Downtime.objects.create(
        work_center=history.saw,
        reason_code=reason("jam"),
        started_at=timezone.now() - dt.timedelta(minutes=90),
    )
    today = timezone.localdate()
    result = figure("downtime_minutes", today - dt.timedelta(days=1), today)
    assert result.value == pytest.approx(90.0, abs=1.0)


def test_unplanned_overtime(history: Any) -> None:
    result = figure("unplanned_overtime")
    assert (result.value, result.count) == (45.5, 2)
    assert parts(result, "work_center") == {"MILL": (30.0, 1), "SAW": (15.5, 1)}
    assert parts(result, "operator")["kpi-lead"] == (30.0, 1)


def test_expediting_frequency_per_week_by_who_and_why(history: Any) -> None:
    # WO1 expedited and SO2 moved 3 -> 1: 2 in 7 days; un-expediting and a move from
    # 2 to 4 (less urgent) do not count.
    result = figure("expediting")
    assert (result.value, result.count) == (2.0, 2)
    assert parts(result, "who") == {"kpi-lead": (1.0, 1), "kpi-planner": (1.0, 1)}
    assert parts(result, "why") == {"customer-call": (1.0, 1), "line-down": (1.0, 1)}
    assert figure("expediting", WEEK[0], dt.date(2026, 3, 15)).value == 1.0  # 2 in 14 days


# --- decisions -------------------------------------------------------------------------


def test_decision_latency_with_escalated_and_reopened_exceptions(history: Any) -> None:
    # Acknowledged in the week, from raised to the FIRST acknowledgement: X1 1 h; X2,
    # escalated twice first, 6 h; X4 5 Mar 08:00 -> 09:00 = 1 h (its second acknowledgement
    # after the reopen does not count); X5 (no rule) 4 Mar 08:00 -> 10:00 = 2 h.
    # Mean 10 / 4 = 2.5 h.
    ack = figure("exception_ack_latency")
    assert (ack.value, ack.count) == (2.5, 4)
    # The shortage rule: X1, X2, X4 = 8 / 3 h; no rule: X5 2 h.
    assert parts(ack, "type") == {
        "material.shortage": (pytest.approx(8 / 3, abs=1e-4), 3),
        "": (2.0, 1),
    }
    assert parts(ack, "owner_role")["kpi-planners"][1] == 3
    # Resolved for good in the week, from raised to the FINAL resolution: X1 4 h, X2 24 h,
    # X4 5 Mar 08:00 -> 6 Mar 14:00 = 30 h (not 2 h to its first resolution); X5 was
    # reopened and is not resolved again: not counted. Mean 58 / 3, median 24 h.
    resolved = figure("exception_resolve_latency")
    assert resolved.count == 3
    assert resolved.value == pytest.approx(58 / 3, abs=1e-4)
    assert resolved.stats["median"] == 24.0
    # X4 belongs to the day of its final resolution (6 Mar), not of its first (5 Mar).
    day5, day6 = dt.date(2026, 3, 5), dt.date(2026, 3, 6)
    assert figure("exception_resolve_latency", day5, day5).count == 0
    assert figure("exception_resolve_latency", day6, day6).value == 30.0


def test_exceptions_reopened(history: Any) -> None:
    # X5 reopened 5 Mar 12:00, X4 6 Mar 08:00: 2 in the week, by type and owner role.
    result = figure("exceptions_reopened")
    assert (result.value, result.count) == (2.0, 2)
    assert {x.number: x.reopens for x in result.records} == {"X4": 1, "X5": 1}
    assert parts(result, "type") == {"material.shortage": (1.0, 1), "": (1.0, 1)}
    assert parts(result, "owner_role") == {"kpi-planners": (1.0, 1), "": (1.0, 1)}
    day6 = dt.date(2026, 3, 6)
    assert figure("exceptions_reopened", day6, day6).value == 1.0
    assert figure("exceptions_reopened", dt.date(2026, 3, 9), dt.date(2026, 3, 15)).value == 0.0


def test_escalations_and_exceptions_raised(history: Any) -> None:
    escalations = figure("escalations")
    assert (escalations.value, escalations.count) == (2.0, 1)
    assert escalations.records.get().escalations == 2
    # X1..X5 raised in the week; X1, X2, X4 by the shortage rule. A reopen is not a raise.
    raised = figure("exceptions_raised")
    assert raised.value == 5.0
    assert parts(raised, "type") == {"material.shortage": (3.0, 3), "": (2.0, 2)}
    assert parts(raised, "rule")["shortage"] == (3.0, 3)


def test_change_request_time_to_approval(history: Any) -> None:
    # Only CR1 needed an approval and got it: 08:00 -> 20:00.
    result = figure("change_request_approval")
    assert (result.value, result.count) == (12.0, 1)
    assert figure("change_request_approval", customer="C2").count == 0


def test_empty_period_gives_no_figure_not_an_error(history: Any) -> None:
    feb = (dt.date(2026, 2, 1), dt.date(2026, 2, 7))
    assert figure("queue_time", *feb).value is None
    assert figure("queue_time", *feb).stats["median"] is None
    assert figure("scrap_rate", *feb).value is None
    assert figure("mispicks", *feb).value == 0.0


def test_a_filter_the_indicator_does_not_support_is_refused(history: Any) -> None:
    with pytest.raises(ValueError, match="supports period"):
        figure("mispicks", work_center="SAW")
