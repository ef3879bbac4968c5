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
    return Event.objects.create(**{"type": TYPE, "payload": {"field": "x"}, **fields})


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


# --- follow-up events, the claim, the worker's connections ---------------------------------


@pytest.fixture
def fan_out() -> Iterator[Callable[..., Any]]:
    """A handler that emits `payload["fan"]` follow-up events; `fan_out.fail_child` makes
    it raise on a follow-up."""
    seen: list[int] = []

    def emit_children(event: Event) -> None:
        seen.append(event.pk)
        if event.payload.get("child") and emit_children.fail_child:  # type: ignore[attr-defined]
            raise RuntimeError("the child's handler failed")
        for _n in range(int(event.payload.get("fan", 0))):
            event_emit(type=TYPE, payload={"field": "x", "child": True})

    emit_children.fail_child = False  # type: ignore[attr-defined]
    emit_children.seen = seen  # type: ignore[attr-defined]
    EVENT_HANDLERS.append(emit_children)
    yield emit_children
    EVENT_HANDLERS.remove(emit_children)


def test_follow_ups_are_handled_in_the_parent_transaction_and_written_processed(
    fan_out: Any,
) -> None:
    # given: an event whose handler emits two more
    from unittest import mock

    from mes.core.tasks import process_event

    parent = _event(payload={"field": "x", "fan": 2})
    # when
    with mock.patch.object(process_event, "delay") as published:
        event_process(event_id=parent.pk)
    # then: all three handled, the follow-ups written processed once, nothing published
    children = list(Event.objects.filter(payload__child=True))
    assert len(children) == 2
    assert fan_out.seen == [parent.pk, *(c.pk for c in children)]
    assert all(c.processed_at is not None and c.attempts == 1 for c in children)
    parent.refresh_from_db()
    assert (parent.processed_at is not None, parent.attempts) == (True, 1)
    assert published.call_count == 0


def test_follow_ups_past_the_limit_go_through_the_broker_after_commit(
    fan_out: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given: an event whose handler emits two more than one worker handles in its turn
    from unittest import mock

    from mes.core.services import MAX_FOLLOW_UPS
    from mes.core.tasks import process_event

    parent = _event(payload={"field": "x", "fan": MAX_FOLLOW_UPS + 2})
    # when
    with mock.patch.object(process_event, "delay") as published:
        with django_capture_on_commit_callbacks(execute=True):
            event_process(event_id=parent.pk)
    # then: the first MAX_FOLLOW_UPS handled here, the last two published, unprocessed
    children = list(Event.objects.filter(payload__child=True).order_by("id"))
    assert [c.processed_at is not None for c in children] == [True] * MAX_FOLLOW_UPS + [
        False,
        False,
    ]
    assert sorted(call.args[0] for call in published.call_args_list) == [
        c.pk for c in children[-2:]
    ]


def test_a_failing_follow_up_rolls_back_its_parent_which_is_retried(fan_out: Any) -> None:
    # given: the follow-up's handler fails
    parent = _event(payload={"field": "x", "fan": 1})
    fan_out.fail_child = True
    # when
    result = event_process(event_id=parent.pk)
    # then: nothing of it is kept; the parent records the error, unprocessed
    assert not Event.objects.filter(payload__child=True).exists()
    assert (result.processed_at, result.attempts) == (None, 1)
    assert result.last_error == "RuntimeError: the child's handler failed"

    # given: the handler is fixed
    fan_out.fail_child = False
    # when: the re-drive runs it again
    result = event_process(event_id=parent.pk)
    # then: processed, with its follow-up, once
    assert (result.processed_at is not None, result.attempts, result.last_error) == (True, 2, "")
    assert Event.objects.filter(payload__child=True, processed_at__isnull=False).count() == 1


def test_processing_claims_the_event_in_one_statement(
    handler: Any, django_assert_num_queries: Any
) -> None:
    # given: only the counting handler (the rules and webhooks read their own tables)
    from unittest import mock

    event = _event()
    with mock.patch("mes.core.services.EVENT_HANDLERS", [handler]):
        # when / then: the claim (mark and read) inside the atomic's savepoint (tests run
        # in a transaction; a worker has BEGIN and COMMIT there)
        with django_assert_num_queries(3):
            event_process(event_id=event.pk)
        assert handler.calls == [event.pk]
        # and a redelivered copy: the claim finds nothing, the event is read back
        with django_assert_num_queries(4):
            again = event_process(event_id=event.pk)
    assert again.processed_at is not None
    assert handler.calls == [event.pk]


class _FakeConnection:
    def __init__(self, *, errors: bool = False, expired: bool = False, in_txn: bool = False):
        import time

        self.connection = object()
        self.errors_occurred = errors
        self.close_at = time.monotonic() - 1 if expired else time.monotonic() + 600
        self.settings_dict = {"AUTOCOMMIT": True}
        self._autocommit = not in_txn
        self.checked = 0

    def get_autocommit(self) -> bool:
        return self._autocommit

    def close_if_unusable_or_obsolete(self) -> None:
        self.checked += 1


def test_after_a_task_a_healthy_connection_is_kept_without_a_ping_and_a_bad_one_checked():
    # given: the worker's connections after a task: healthy, with errors, too old, and
    # one left inside a transaction
    from types import SimpleNamespace
    from unittest import mock

    from mes.core import tasks

    healthy, failed = _FakeConnection(), _FakeConnection(errors=True)
    old, open_txn = _FakeConnection(expired=True), _FakeConnection(in_txn=True)
    task = SimpleNamespace(request=SimpleNamespace(is_eager=False))
    # when
    with mock.patch.object(tasks.connections, "all", return_value=[healthy, failed, old, open_txn]):
        tasks._close_unusable_connections(task=task)
    # then: Django's own check (close if unusable or obsolete) for all but the healthy one
    assert [c.checked for c in (healthy, failed, old, open_txn)] == [0, 1, 1, 1]


def test_an_eager_task_leaves_the_callers_connection_alone():
    # given: a task run eagerly, inside the caller's transaction (tests)
    from types import SimpleNamespace
    from unittest import mock

    from mes.core import tasks

    old = _FakeConnection(expired=True, in_txn=True)
    task = SimpleNamespace(request=SimpleNamespace(is_eager=True))
    # when
    with mock.patch.object(tasks.connections, "all", return_value=[old]):
        tasks._close_unusable_connections(task=task)
    # then
    assert old.checked == 0


def test_celery_does_not_close_the_database_connection_after_every_task():
    # Celery's Django fixup closes every connection around every task unless
    # DB_REUSE_MAX is set: a new Postgres backend for each event.
    from mes.celery import app

    assert (app.conf.get("CELERY_DB_REUSE_MAX") or 0) >= 100
