"""The outbox: events are written in the caller's transaction, processed after commit
exactly once, failures are recorded and retried, old processed events are pruned."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from mes.core.events import EVENT_HANDLERS, EVENT_TYPES, event_emit
from mes.core.models import Event
from mes.core.services import event_process, events_due_for_redrive, events_prune
from orders.models import OrderState

from ..factories import make_order

pytestmark = pytest.mark.django_db

TYPE = "record.field_changed"


@pytest.fixture
def handler() -> Iterator[Callable[..., Any]]:
    """A counting handler, registered for one test; `handler.fail` makes it raise."""
    calls: list[int] = []

    def count(event: Event) -> None:
        if count.fail:  # type: ignore[attr-defined]
            raise RuntimeError("downstream is down")
        calls.append(event.pk)

    count.fail = False  # type: ignore[attr-defined]
    count.calls = calls  # type: ignore[attr-defined]
    EVENT_HANDLERS.append(count)
    yield count
    EVENT_HANDLERS.remove(count)


def _event(**fields: Any) -> Event:
    return Event.objects.create(type=TYPE, payload={"field": "x"}, **fields)


def _emit_then_fail(seen_inside: list[int]) -> None:
    """A caller that emits an event and then fails inside its transaction."""
    with transaction.atomic():
        event_emit(type=TYPE, payload={})
        seen_inside.append(Event.objects.count())
        raise RuntimeError("the caller failed")


def test_emit_refuses_an_unregistered_type() -> None:
    # given
    count = Event.objects.count()
    assert "no.such_type" not in EVENT_TYPES
    # when
    with pytest.raises(ValueError, match="unknown event type 'no.such_type'"):
        event_emit(type="no.such_type", payload={})
    # then
    assert Event.objects.count() == count


def test_emit_writes_subject_payload_and_actor(planner: Any) -> None:
    # given
    order = make_order(state=OrderState.DRAFT)
    # when
    event = event_emit(type=TYPE, subject=order, payload={"field": "f"}, actor=planner)
    # then
    event.refresh_from_db()
    assert (event.type, event.object_id, event.subject_repr) == (TYPE, order.pk, order.number)
    assert (event.content_type.model, event.payload, event.actor) == (
        "salesorder",
        {"field": "f"},
        planner,
    )
    assert (event.processed_at, event.attempts, event.last_error) == (None, 0, "")


def test_event_is_rolled_back_with_the_callers_transaction() -> None:
    # given
    count = Event.objects.count()
    seen_inside: list[int] = []
    # when
    with pytest.raises(RuntimeError, match="the caller failed"):
        _emit_then_fail(seen_inside)
    # then
    assert seen_inside == [count + 1]
    assert Event.objects.count() == count


def test_event_is_processed_after_commit(
    django_capture_on_commit_callbacks: Any, handler: Any
) -> None:
    # given / when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        event = event_emit(type=TYPE, payload={})
        event.refresh_from_db()
        assert event.processed_at is None  # not inside the transaction
    # then
    assert len(callbacks) == 1
    event.refresh_from_db()
    assert event.processed_at is not None
    assert (event.attempts, event.last_error) == (1, "")
    assert handler.calls == [event.pk]


def test_nothing_is_processed_when_the_transaction_rolls_back(
    django_capture_on_commit_callbacks: Any, handler: Any
) -> None:
    # given
    count = Event.objects.count()
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError, match="the caller failed"):
            _emit_then_fail([])
    # then
    assert callbacks == []
    assert handler.calls == []
    assert Event.objects.count() == count


def test_processing_is_idempotent(handler: Any) -> None:
    # given
    event = _event()
    first = event_process(event_id=event.pk)
    processed_at = first.processed_at
    # when
    second = event_process(event_id=event.pk)
    # then
    event.refresh_from_db()
    assert (event.processed_at, event.attempts) == (processed_at, 1)
    assert second.processed_at == processed_at
    assert handler.calls == [event.pk]


def test_processing_a_missing_event_does_nothing(handler: Any) -> None:
    # given / when
    result = event_process(event_id=987654321)
    # then
    assert result is None
    assert handler.calls == []


def test_failing_handler_records_the_error_and_the_next_run_succeeds(handler: Any) -> None:
    # given
    event = _event()
    handler.fail = True
    # when
    event_process(event_id=event.pk)
    # then
    event.refresh_from_db()
    assert (event.processed_at, event.attempts) == (None, 1)
    assert event.last_error == "RuntimeError: downstream is down"
    assert handler.calls == []

    # given: the downstream is back
    handler.fail = False
    # when
    event_process(event_id=event.pk)
    # then
    event.refresh_from_db()
    assert event.processed_at is not None
    assert (event.attempts, event.last_error) == (2, "")
    assert handler.calls == [event.pk]


@override_settings(OUTBOX_REDRIVE_AFTER_SECONDS=30, OUTBOX_MAX_ATTEMPTS=5)
def test_redrive_picks_only_old_unprocessed_events_under_the_attempt_limit() -> None:
    # given
    now = timezone.now()
    old = now - dt.timedelta(seconds=31)
    due = _event(occurred_at=old)
    due_retried = _event(occurred_at=old, attempts=4, last_error="boom")
    _event(occurred_at=now - dt.timedelta(seconds=29))  # too recent: its own task runs
    _event(occurred_at=old, processed_at=now)  # done
    _event(occurred_at=old, attempts=5, last_error="boom")  # gave up: for a person to see
    # when
    ids = events_due_for_redrive(now=now)
    # then
    assert ids == [due.pk, due_retried.pk]


@override_settings(OUTBOX_RETENTION_DAYS=30)
def test_prune_deletes_only_processed_events_past_retention() -> None:
    # given
    now = timezone.now()
    long_ago = now - dt.timedelta(days=31)
    pruned = _event(occurred_at=long_ago, processed_at=long_ago)
    recent = _event(occurred_at=long_ago, processed_at=now - dt.timedelta(days=29))
    stuck = _event(occurred_at=long_ago)
    # when
    deleted = events_prune(now=now)
    # then
    assert deleted == 1
    assert not Event.objects.filter(pk=pruned.pk).exists()
    assert set(Event.objects.filter(pk__in=[recent.pk, stuck.pk]).values_list("pk", flat=True)) == {
        recent.pk,
        stuck.pk,
    }


@override_settings(OUTBOX_REDRIVE_AFTER_SECONDS=30, OUTBOX_MAX_ATTEMPTS=5)
def test_redrive_task_processes_what_is_due(handler: Any) -> None:
    # given
    from mes.core.tasks import redrive_events

    old = timezone.now() - dt.timedelta(minutes=5)
    due = _event(occurred_at=old)
    recent = _event()
    # when
    redriven = redrive_events.delay().get()
    # then
    assert redriven == 1
    assert handler.calls == [due.pk]
    recent.refresh_from_db()
    assert recent.processed_at is None


def test_a_database_outage_while_processing_is_left_to_the_task_retry_with_backoff():
    # given: a handler that finds the database gone
    from django.db import OperationalError

    from mes.core.events import EVENT_HANDLERS
    from mes.core.services import event_process
    from mes.core.tasks import process_event

    def database_gone(event):
        raise OperationalError("server closed the connection unexpectedly")

    order = make_order()
    event = Event.objects.filter(subject_repr=order.number).first()
    EVENT_HANDLERS.append(database_gone)
    try:
        # when / then: the error reaches the task, which retries it with backoff
        with pytest.raises(OperationalError):
            event_process(event_id=event.pk)
    finally:
        EVENT_HANDLERS.remove(database_gone)
    event.refresh_from_db()
    assert event.processed_at is None
    assert OperationalError in process_event.autoretry_for
    assert process_event.retry_backoff is True
