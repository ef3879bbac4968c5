"""Escalation by time: past the SLA the beat task escalates exactly once per step, emits
exception.sla_breached once, notifies the step's role; acknowledged exceptions wait;
resolving needs a resolution code and a note."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from django.core import mail

from exceptions import services
from exceptions.models import Notification, PlantException
from exceptions.tasks import escalate_exceptions
from mes.core.errors import NotPermitted, ValidationFailed
from mes.core.events import event_emit
from mes.core.models import Event, TransitionLog
from mes.core.roles import FLOOR_LEAD, PLANNER

from ..factories import UserFactory, user_with_role

pytestmark = pytest.mark.django_db

DOWN = {"work_center": "CNC-2", "reason": "spindle breakdown", "down_minutes": 20}


def _raise_workcenter_down(capture: Any) -> PlantException:
    """The default rule: SLA 15 min, policy Floor lead (0 min), then Planner (30 min)."""
    with capture(execute=True):
        event_emit(type="workcenter.down", subject=None, payload=DOWN)
    return PlantException.objects.get()


def _at(exc: PlantException, minutes: int) -> dt.datetime:
    return exc.first_seen_at + dt.timedelta(minutes=minutes)


def _escalate(capture: Any, now: dt.datetime) -> int:
    with capture(execute=True):
        return services.exceptions_escalate_due(now=now)


def _notified(exc: PlantException) -> list[tuple[str, str]]:
    return list(
        Notification.objects.filter(exception=exc)
        .order_by("id")
        .values_list("role__name", "message")
    )


def _breaches() -> list[dict[str, Any]]:
    return list(
        Event.objects.filter(type="exception.sla_breached").values_list("payload", flat=True)
    )


def test_past_the_sla_the_first_step_escalates_once_and_the_breach_is_reported_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: an open exception, 16 minutes old (SLA 15)
    exc = _raise_workcenter_down(django_capture_on_commit_callbacks)
    raised_notice = _notified(exc)
    now = _at(exc, 16)

    # when: the beat runs three times at the same moment
    counts = [_escalate(django_capture_on_commit_callbacks, now) for _ in range(3)]

    # then: one breach and one escalation (step 1: Floor lead), nothing after
    assert counts == [2, 0, 0]
    exc.refresh_from_db()
    assert (exc.state, exc.escalation_level, exc.sla_breached_at) == ("escalated", 1, now)
    assert _breaches() == [
        {
            "number": exc.number,
            "severity": "high",
            "owner_role": "Floor lead",
            "escalated_to": "Floor lead",
        }
    ]
    assert _notified(exc) == [
        *raised_notice,
        ("Floor lead", f"Escalated: {exc.number} Work center CNC-2 down: spindle breakdown"),
    ]
    log = TransitionLog.objects.get(object_id=exc.pk, transition="escalate")
    assert (log.from_state, log.to_state, log.actor, log.comment) == (
        "open",
        "escalated",
        None,
        "Escalated to Floor lead after 0 min unacknowledged.",
    )


def test_later_the_next_step_escalates_once_and_notifies_its_role_by_mail_too(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: step 1 done at 16 minutes; a planner with an e-mail address
    planner = user_with_role(PLANNER, username="planner-mail", email="planner@plant.example")
    exc = _raise_workcenter_down(django_capture_on_commit_callbacks)
    _escalate(django_capture_on_commit_callbacks, _at(exc, 16))
    mail.outbox.clear()

    # when: the beat runs three times at 31 minutes
    counts = [_escalate(django_capture_on_commit_callbacks, _at(exc, 31)) for _ in range(3)]

    # then: step 2 (Planner) once; no second breach event
    assert counts == [1, 0, 0]
    exc.refresh_from_db()
    assert (exc.state, exc.escalation_level) == ("escalated", 2)
    assert len(_breaches()) == 1
    assert _notified(exc)[-1] == (
        "Planner",
        f"Escalated: {exc.number} Work center CNC-2 down: spindle breakdown",
    )
    assert [(m.to, m.body) for m in mail.outbox] == [
        ([planner.email], f"Escalated: {exc.number} Work center CNC-2 down: spindle breakdown")
    ]
    # and past the last step nothing more happens
    assert _escalate(django_capture_on_commit_callbacks, _at(exc, 600)) == 0
    assert PlantException.objects.get().escalation_level == 2


def test_one_late_run_escalates_every_due_step_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: nobody ran the beat for 40 minutes
    exc = _raise_workcenter_down(django_capture_on_commit_callbacks)

    # when
    counts = [_escalate(django_capture_on_commit_callbacks, _at(exc, 40)) for _ in range(2)]

    # then: the breach and both steps, once each
    assert counts == [3, 0]
    exc.refresh_from_db()
    assert exc.escalation_level == 2
    assert [role for role, _message in _notified(exc)] == ["Floor lead", "Floor lead", "Planner"]
    assert len(_breaches()) == 1


def test_before_the_sla_nothing_escalates(django_capture_on_commit_callbacks: Any) -> None:
    # given
    exc = _raise_workcenter_down(django_capture_on_commit_callbacks)
    before = _notified(exc)

    # when: 10 minutes in (SLA 15; step 1 is at 0 minutes but waits for the SLA)
    count = _escalate(django_capture_on_commit_callbacks, _at(exc, 10))

    # then
    assert count == 0
    exc.refresh_from_db()
    assert (exc.state, exc.escalation_level, exc.sla_breached_at) == ("open", 0, None)
    assert (_notified(exc), _breaches()) == (before, [])


def test_an_acknowledged_exception_is_not_escalated(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    lead = user_with_role(FLOOR_LEAD, username="lead-ack")
    exc = _raise_workcenter_down(django_capture_on_commit_callbacks)
    services.exception_acknowledge(exception=exc, user=lead)
    before = _notified(exc)

    # when: long past the SLA and every step
    count = _escalate(django_capture_on_commit_callbacks, _at(exc, 120))

    # then
    assert count == 0
    exc.refresh_from_db()
    assert (exc.state, exc.escalation_level, exc.sla_breached_at, exc.assignee) == (
        "acknowledged",
        0,
        None,
        lead,
    )
    assert (_notified(exc), _breaches()) == (before, [])


def test_the_beat_task_escalates_with_the_clock_frozen_past_the_sla(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    exc = _raise_workcenter_down(django_capture_on_commit_callbacks)
    frozen = _at(exc, 16)

    # when: the beat task runs twice at that moment
    with mock.patch("django.utils.timezone.now", return_value=frozen):
        with django_capture_on_commit_callbacks(execute=True):
            counts = [escalate_exceptions(), escalate_exceptions()]

    # then
    assert counts == [2, 0]
    exc.refresh_from_db()
    assert (exc.escalation_level, exc.sla_breached_at) == (1, frozen)
    assert len(_breaches()) == 1


def test_an_exception_without_a_policy_reports_the_breach_once_and_does_not_escalate(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: a pick mismatch (SLA 30 min, no escalation policy)
    from ..factories import make_order

    order = make_order(state="in_production")
    with django_capture_on_commit_callbacks(execute=True):
        event_emit(type="pick.mismatch", subject=order, payload={"expected": "A", "scanned": "B"})
    exc = PlantException.objects.get()

    # when
    counts = [_escalate(django_capture_on_commit_callbacks, _at(exc, 45)) for _ in range(3)]

    # then
    assert counts == [1, 0, 0]
    exc.refresh_from_db()
    assert (exc.state, exc.escalation_level) == ("open", 0)
    assert [p["escalated_to"] for p in _breaches()] == [None]


# --- resolving ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "note", "errors"),
    [
        ("", "Replaced the spindle.", {"resolution_code": ["Choose a resolution code."]}),
        ("no-such-code", "Replaced.", {"resolution_code": ["Choose a resolution code."]}),
        ("fixed", "  ", {"note": ["Say what was done."]}),
        (
            "",
            "",
            {"resolution_code": ["Choose a resolution code."], "note": ["Say what was done."]},
        ),
    ],
)
def test_resolve_needs_a_resolution_code_and_a_note(
    django_capture_on_commit_callbacks: Any, code: str, note: str, errors: dict[str, Any]
) -> None:
    # given
    lead = user_with_role(FLOOR_LEAD, username="lead-resolve")
    exc = _raise_workcenter_down(django_capture_on_commit_callbacks)

    # when
    with pytest.raises(ValidationFailed) as refused:
        services.exception_resolve(exception=exc, user=lead, resolution_code=code, note=note)

    # then: nothing changed
    assert refused.value.errors == errors
    exc.refresh_from_db()
    assert (exc.state, exc.resolution_code, exc.resolution_note, exc.dedup_key is not None) == (
        "open",
        None,
        "",
        True,
    )
    assert Event.objects.filter(type="exception.resolved").count() == 0


def test_resolve_records_code_note_and_history_and_emits_resolved(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    lead = user_with_role(FLOOR_LEAD, username="lead-resolve")
    exc = _raise_workcenter_down(django_capture_on_commit_callbacks)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.exception_resolve(
            exception=exc, user=lead, resolution_code="fixed", note=" Replaced the spindle. "
        )

    # then
    exc.refresh_from_db()
    assert (exc.state, exc.resolution_code.code, exc.resolution_note, exc.dedup_key) == (
        "resolved",
        "fixed",
        "Replaced the spindle.",
        None,
    )
    assert exc.resolved_at is not None
    log = TransitionLog.objects.get(object_id=exc.pk, transition="resolve")
    assert (log.actor, log.reason_code.code, log.comment, log.to_state) == (
        lead,
        "fixed",
        "Replaced the spindle.",
        "resolved",
    )
    resolved = Event.objects.get(type="exception.resolved")
    assert resolved.payload == {
        "number": exc.number,
        "resolution_code": "fixed",
        "note": "Replaced the spindle.",
    }
    # and a resolved exception is never escalated
    assert _escalate(django_capture_on_commit_callbacks, _at(exc, 120)) == 0


def test_resolve_by_a_user_without_the_role_is_refused(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    outsider = UserFactory(username="visitor")
    exc = _raise_workcenter_down(django_capture_on_commit_callbacks)

    # when
    with pytest.raises(NotPermitted):
        services.exception_resolve(
            exception=exc, user=outsider, resolution_code="fixed", note="Done."
        )

    # then: nothing changed, not even the code written before the transition
    exc.refresh_from_db()
    assert (exc.state, exc.resolution_code, exc.resolution_note) == ("open", None, "")
