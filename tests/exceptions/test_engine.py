"""The engine: a failing rule is recorded and skipped, order and "stop after" hold,
inactive rules are ignored, priority effects are governed changes, repeats are counted
on one exception (also when two workers race on Postgres)."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import override_settings

from exceptions import services as exception_services
from exceptions.engine import render_template
from exceptions.models import (
    DecisionRule,
    ExceptionEvent,
    Notification,
    PlantException,
    RuleError,
)
from mes.core.events import event_emit
from mes.core.models import Event, FieldChange
from mes.core.roles import PLANNER, SHIPPING, sync_role_permissions
from mes.core.services import event_process
from orders.models import OrderState, SalesOrder

from ..factories import make_order, user_with_role

PICK = {"expected": "PI-00001", "scanned": "PI-00009"}


def _emit(capture: Any, type_: str, subject: Any, payload: dict[str, Any]) -> Event:
    with capture(execute=True):
        event = event_emit(type=type_, subject=subject, payload=payload)
    event.refresh_from_db()
    return event


def _rule(**fields: Any) -> DecisionRule:
    defaults: dict[str, Any] = {
        "decision_point": "pick.mismatch",
        "effect": DecisionRule.Effect.RAISE_EXCEPTION,
        "severity": "low",
        "owner_role": Group.objects.get(name=PLANNER),
    }
    return DecisionRule.objects.create(**{**defaults, **fields})


def _default_pick_rule() -> DecisionRule:
    return DecisionRule.objects.get(name="Pick mismatch: raise to Shipping")


# --- a failing rule, order, stop after, inactive ------------------------------------------


@pytest.mark.django_db
def test_a_rule_that_fails_at_run_time_is_recorded_and_skipped_and_the_others_run(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: a rule before the default one whose condition compares text with a number
    broken = _rule(name="Broken", condition="scanned > 3", order=5, title_template="never")
    order = make_order(state=OrderState.CONFIRMED)

    # when
    event = _emit(django_capture_on_commit_callbacks, "pick.mismatch", order, PICK)

    # then: the failure is recorded against the rule and the event ...
    errors = list(RuleError.objects.values_list("rule", "event_id", "message"))
    assert errors == [
        (
            broken.pk,
            event.pk,
            "TypeError: '>' not supported between instances of 'str' and 'int'",
        )
    ]
    # ... and the default rule still raised its exception; the event is processed cleanly
    assert list(PlantException.objects.values_list("rule", "title")) == [
        (_default_pick_rule().pk, "Mis-pick: PI-00009 scanned, PI-00001 expected")
    ]
    assert (event.processed_at is not None, event.attempts, event.last_error) == (True, 1, "")


@pytest.mark.django_db
def test_stop_after_stops_the_later_rules(django_capture_on_commit_callbacks: Any) -> None:
    # given: an earlier rule that fires and stops the rest
    first = _rule(name="First and last", order=5, stop_after=True, title_template="First")
    order = make_order(state=OrderState.CONFIRMED)

    # when
    _emit(django_capture_on_commit_callbacks, "pick.mismatch", order, PICK)

    # then: only the first rule raised
    assert list(PlantException.objects.values_list("rule", "title")) == [(first.pk, "First")]


@pytest.mark.django_db
def test_stop_after_on_a_rule_that_does_not_fire_stops_nothing(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: the stopping rule's condition does not hold
    _rule(name="Stopper", order=5, stop_after=True, condition='scanned == "nothing"')
    order = make_order(state=OrderState.CONFIRMED)

    # when
    _emit(django_capture_on_commit_callbacks, "pick.mismatch", order, PICK)

    # then
    assert list(PlantException.objects.values_list("rule", flat=True)) == [_default_pick_rule().pk]


@pytest.mark.django_db
def test_rules_run_in_their_order(django_capture_on_commit_callbacks: Any) -> None:
    # given: a later rule (order 20) that stops after itself, so the default (10) runs first
    later = _rule(name="Later", order=20, stop_after=True, title_template="Later")
    order = make_order(state=OrderState.CONFIRMED)

    # when
    _emit(django_capture_on_commit_callbacks, "pick.mismatch", order, PICK)

    # then: both fired, the default first
    assert list(PlantException.objects.order_by("id").values_list("rule", flat=True)) == [
        _default_pick_rule().pk,
        later.pk,
    ]


@pytest.mark.django_db
def test_inactive_rules_are_ignored(django_capture_on_commit_callbacks: Any) -> None:
    # given
    DecisionRule.objects.filter(pk=_default_pick_rule().pk).update(active=False)
    order = make_order(state=OrderState.CONFIRMED)

    # when
    event = _emit(django_capture_on_commit_callbacks, "pick.mismatch", order, PICK)

    # then
    assert event.processed_at is not None
    assert (PlantException.objects.count(), Notification.objects.count()) == (0, 0)
    assert RuleError.objects.count() == 0


# --- priority effects: governed changes --------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("effect", "value", "expected"),
    [("bump_priority", 1, 2), ("bump_priority", 5, 1), ("set_priority", 1, 1)],
)
def test_a_priority_rule_changes_the_orders_priority_as_a_governed_change(
    django_capture_on_commit_callbacks: Any, effect: str, value: int, expected: int
) -> None:
    # given: a late operation bumps (or sets) the order's priority; the order is normal (3)
    rule = _rule(
        name="Late operation: expedite",
        decision_point="operation.late",
        effect=effect,
        priority_value=value,
        condition="late_minutes > 30",
    )
    order = make_order(state=OrderState.CONFIRMED)
    assert order.priority == 3

    # when
    _emit(
        django_capture_on_commit_callbacks,
        "operation.late",
        order,
        {"operation": "OP-20", "late_minutes": 45},
    )

    # then: the priority changed, with the rule as the reason, by no person
    order.refresh_from_db()
    assert order.priority == expected
    changes = FieldChange.objects.filter(
        content_type=ContentType.objects.get_for_model(SalesOrder), object_id=order.pk
    )
    assert list(
        changes.values_list("field", "old_value", "new_value", "actor", "reason_code__code")
    ) == [("priority", 3, expected, None, "decision-rule")]
    assert changes.get().reason_text == f"Set by decision rule “{rule.name}”."
    changed = Event.objects.get(type="order.changed", object_id=order.pk)
    assert (changed.payload["field"], changed.payload["new"], changed.payload["rule"]) == (
        "priority",
        expected,
        rule.name,
    )


@pytest.mark.django_db
def test_a_priority_rule_that_does_not_fire_changes_nothing(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    _rule(
        name="Late operation: expedite",
        decision_point="operation.late",
        effect="bump_priority",
        priority_value=1,
        condition="late_minutes > 30",
    )
    order = make_order(state=OrderState.CONFIRMED)

    # when: the near miss
    _emit(
        django_capture_on_commit_callbacks,
        "operation.late",
        order,
        {"operation": "OP-20", "late_minutes": 20},
    )

    # then
    order.refresh_from_db()
    assert order.priority == 3
    assert FieldChange.objects.filter(field="priority").count() == 0


# --- render_template ---------------------------------------------------------------------


def test_render_template_fills_dotted_placeholders_and_marks_unknown_ones() -> None:
    context = {
        "item": "PI-00042",
        "order": {"number": "SO-000007", "customer": {"name": "Alpenblick"}},
        "demand": None,
    }
    assert (
        render_template(
            "{item} for {order.number} of {order.customer.name}: {demand} {missing} "
            "{order.customer.code} {order.number.x} {{literal}}",
            context,
        )
        == "PI-00042 for SO-000007 of Alpenblick: ? ? ? ? {?}"
    )
    assert render_template("", context) == ""


# --- dedup: the same event twice, two events, after resolve --------------------------------


@pytest.mark.django_db
def test_the_same_event_processed_twice_raises_one_exception_counted_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: an event processed once already
    order = make_order(state=OrderState.CONFIRMED)
    event = _emit(django_capture_on_commit_callbacks, "pick.mismatch", order, PICK)

    # when: it is delivered again (a redelivery or a re-drive), twice
    with django_capture_on_commit_callbacks(execute=True):
        event_process(event_id=event.pk)
        event_process(event_id=event.pk)

    # then: one exception, one occurrence, one event link, one notice
    exc = PlantException.objects.get()
    assert (exc.occurrences, exc.events.count()) == (1, 1)
    assert Notification.objects.count() == 1
    assert Event.objects.filter(type="exception.raised").count() == 1
    event.refresh_from_db()
    assert event.attempts == 1


@pytest.mark.django_db
def test_two_events_for_the_same_rule_and_subject_count_on_one_exception(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    order = make_order(state=OrderState.CONFIRMED)
    first = _emit(django_capture_on_commit_callbacks, "pick.mismatch", order, PICK)
    raised = PlantException.objects.get()

    # when: a second mismatch on the same order
    second = _emit(
        django_capture_on_commit_callbacks,
        "pick.mismatch",
        order,
        {"expected": "PI-00001", "scanned": "PI-00003"},
    )

    # then: the same exception, counted twice, both events behind it, seen again
    exc = PlantException.objects.get()
    assert exc.pk == raised.pk
    assert exc.occurrences == 2
    assert exc.title == "Mis-pick: PI-00009 scanned, PI-00001 expected"  # first title kept
    assert exc.last_seen_at > raised.last_seen_at
    assert list(ExceptionEvent.objects.values_list("event_id", flat=True)) == [
        first.pk,
        second.pk,
    ]
    assert Event.objects.filter(type="exception.raised").count() == 1
    assert Notification.objects.count() == 1


@pytest.mark.django_db
def test_after_resolve_a_new_event_raises_a_new_exception(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: a resolved exception
    order = make_order(state=OrderState.CONFIRMED)
    shipping = user_with_role(SHIPPING, username="shipper1")
    _emit(django_capture_on_commit_callbacks, "pick.mismatch", order, PICK)
    old = PlantException.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        exception_services.exception_resolve(
            exception=old, user=shipping, resolution_code="fixed", note="Re-picked."
        )

    # when: the same condition fires again
    _emit(django_capture_on_commit_callbacks, "pick.mismatch", order, PICK)

    # then: a new exception; the resolved one is untouched
    old.refresh_from_db()
    new = PlantException.objects.exclude(pk=old.pk).get()
    assert (old.state, old.occurrences, old.dedup_key) == ("resolved", 1, None)
    assert (new.state, new.occurrences, new.rule_id) == ("open", 1, old.rule_id)
    assert new.dedup_key == f"exception:{old.rule_id}:orders.salesorder:{order.pk}"
    assert Event.objects.filter(type="exception.raised").count() == 2


# --- the race on Postgres -------------------------------------------------------------------


@pytest.fixture
def migrated_data(db: Any) -> None:
    """Transactional tests flush the database, so the rows the data migrations made
    (reason codes, roles, the default rules) are put back before each one."""
    importlib.import_module("mes.core.migrations.0002_roles_and_reason_codes").create(
        django_apps, None
    )
    sync_role_permissions()
    importlib.import_module("exceptions.migrations.0002_default_rules").load(django_apps, None)


def _race(actions: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(index: int, action: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = action()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_data")
@pytest.mark.parametrize("attempt", range(3))
def test_two_workers_processing_two_events_at_once_raise_one_exception(attempt: int) -> None:
    # given: two committed, unprocessed events for the same rule and subject
    order = make_order(state=OrderState.CONFIRMED)
    events = [
        Event.objects.create(
            type="pick.mismatch",
            content_type=ContentType.objects.get_for_model(SalesOrder),
            object_id=order.pk,
            subject_repr=str(order),
            payload={"expected": "PI-00001", "scanned": f"PI-0000{n}"},
        )
        for n in (2, 3)
    ]

    # when: two workers process them at the same moment
    results = _race([lambda e=e: event_process(event_id=e.pk) for e in events])

    # then: both processed cleanly, one unresolved exception counted twice
    assert [(r.processed_at is not None, r.last_error) for r in results] == [
        (True, ""),
        (True, ""),
    ]
    exc = PlantException.objects.get(state__in=["open"])
    assert PlantException.objects.count() == 1
    assert exc.occurrences == 2
    assert sorted(exc.events.values_list("event_id", flat=True)) == sorted(e.pk for e in events)
    assert Event.objects.filter(type="exception.raised").count() == 1
    assert Notification.objects.count() == 1


@pytest.mark.django_db
def test_events_raised_while_processing_are_processed_by_the_same_worker_at_once():
    # given: a pick mismatch on an order, its rule raises an exception
    from unittest import mock

    from mes.core.events import event_emit
    from mes.core.models import Event
    from mes.core.services import event_process
    from mes.core.tasks import process_event

    from ..factories import make_order

    order = make_order(lines=1)
    event = event_emit(
        type="pick.mismatch", subject=order, payload={"expected": "A-1", "scanned": "A-2"}
    )
    # when: the worker processes it, with the broker watched
    with mock.patch.object(process_event, "delay") as published:
        event_process(event_id=event.pk)
    # then: the exception.raised event it emitted is processed too, not published
    raised = Event.objects.get(type="exception.raised")
    assert raised.processed_at is not None
    assert published.call_count == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_data")
@pytest.mark.parametrize("attempt", range(3))
def test_two_workers_given_the_same_event_at_once_process_it_once(attempt: int) -> None:
    # given: one committed, unprocessed event (its task delivered twice: a redelivery)
    order = make_order(state=OrderState.CONFIRMED)
    event = Event.objects.create(
        type="pick.mismatch",
        content_type=ContentType.objects.get_for_model(SalesOrder),
        object_id=order.pk,
        subject_repr=str(order),
        payload=PICK,
    )

    # when: two workers process it at the same moment
    results = _race([lambda: event_process(event_id=event.pk)] * 2)

    # then: one claimed it, the other waited and found it processed; effects once
    assert [(r.processed_at is not None, r.attempts) for r in results] == [(True, 1)] * 2
    exc = PlantException.objects.get()
    assert (exc.occurrences, exc.events.count()) == (1, 1)
    assert Event.objects.filter(type="exception.raised").count() == 1
    assert Notification.objects.count() == 1


# --- what processing one event costs ------------------------------------------------------


@pytest.mark.django_db
def test_an_event_raising_an_exception_takes_a_fixed_number_of_statements(
    django_capture_on_commit_callbacks: Any, django_assert_num_queries: Any
) -> None:
    # given: two orders with a pick mismatch each, rules and subscriptions read once
    from unittest import mock

    from exceptions.caching import clear_all

    orders = [make_order(state=OrderState.CONFIRMED, lines=n) for n in (1, 5)]
    events = [_emit(mock.MagicMock(), "pick.mismatch", o, PICK) for o in orders]
    with override_settings(RULES_CACHE_SECONDS=60):
        clear_all()
        event_process(event_id=_emit(mock.MagicMock(), "pick.mismatch", make_order(), PICK).pk)
        for event in events:
            # when / then: claim; subject (one query, lines counted in it); dedup lock;
            # savepoint, exception and its number (Postgres: the id first, then one insert),
            # release; event link; exception.raised (written processed, handled here: no
            # rule, no subscription); notification; plus the savepoint and release of the
            # test's transaction (a worker has BEGIN and COMMIT there)
            with django_assert_num_queries(12):
                event_process(event_id=event.pk)
        clear_all()
    assert PlantException.objects.count() == 3
    handled = Event.objects.filter(type__in=["pick.mismatch", "exception.raised"])
    assert [e.processed_at is not None for e in handled] == [True] * 6


@pytest.mark.django_db
@pytest.mark.parametrize("lines", [0, 1, 3])
def test_the_order_snapshot_read_for_an_event_matches_the_one_from_its_lines(lines: int) -> None:
    # given: an order, some lines with a promise date
    import datetime as dt

    from django.utils import timezone

    from exceptions.subjects import subject_queryset, subject_snapshot
    from orders.models import SalesOrderLine

    order = make_order(state=OrderState.CONFIRMED, lines=max(lines, 1))
    if lines == 0:
        SalesOrderLine.objects.filter(order=order).delete()
    for n, line in enumerate(SalesOrderLine.objects.filter(order=order).order_by("line_no")):
        if n % 2 == 0:
            line.promise_date = timezone.localdate() + dt.timedelta(days=5 - n)
            line.save(update_fields=["promise_date"])
    # when
    read_for_event = subject_queryset(SalesOrder).get(pk=order.pk)
    plain = SalesOrder.objects.get(pk=order.pk)
    # then
    assert subject_snapshot(read_for_event) == subject_snapshot(plain)
    assert subject_snapshot(read_for_event)["order"]["line_count"] == lines


@pytest.mark.django_db
def test_exceptions_and_tasks_are_numbered_from_their_id(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: a rule that raises an exception with a task
    _rule(name="With a task", order=5, title_template="Check {scanned}", task_instructions="Do")
    order = make_order(state=OrderState.CONFIRMED)
    # when
    _emit(django_capture_on_commit_callbacks, "pick.mismatch", order, PICK)
    # then
    from exceptions.models import Task

    for row in [*PlantException.objects.all(), *Task.objects.all()]:
        prefix = "EX" if isinstance(row, PlantException) else "T"
        assert row.number == f"{prefix}-{row.pk:06d}"
    assert Task.objects.count() == 1
