"""REST for integration clients: exceptions and tasks (list, filter, detail, acknowledge,
resolve), external events through POST /api/v1/events/, scopes and query counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from rest_framework.fields import DateTimeField

from exceptions.models import (
    DecisionRule,
    ExceptionEvent,
    ExceptionState,
    PlantException,
    Task,
    TaskState,
)
from mes.core.models import Event, TransitionLog
from mes.core.roles import FLOOR_LEAD, PLANNER, SHIPPING

from ..factories import ItemFactory, make_order

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
EXCEPTIONS = "/api/v1/exceptions/"
TASKS = "/api/v1/tasks/"
EVENTS = "/api/v1/events/"
ALL_SCOPES = ["exceptions:read", "exceptions:write", "events:write", "events:read"]
PICK_RULE = "Pick mismatch: raise to Shipping"
PROMISE_RULE = "Promise date at risk: raise to Planner and inform the customer"


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    return body


def iso(value: dt.datetime) -> str:
    """A time as the API renders it (plant time zone)."""
    return DateTimeField().to_representation(value)


def make_exception(
    *,
    rule_name: str = PICK_RULE,
    role: str = SHIPPING,
    subject: Any = None,
    severity: str = "medium",
    state: str = ExceptionState.OPEN,
    number: str | None = None,
) -> PlantException:
    """A row as a rule leaves it (the engine's path is tested in test_default_rules)."""
    now = timezone.now()
    exc = PlantException.objects.create(
        number=number or f"EX-T{PlantException.objects.count() + 1:05d}",
        title=f"Exception about {subject or 'nothing'}",
        rule=DecisionRule.objects.get(name=rule_name),
        severity=severity,
        owner_role=Group.objects.get(name=role),
        last_seen_at=now,
        sla_due_at=now + dt.timedelta(minutes=30),
        content_type=ContentType.objects.get_for_model(subject) if subject else None,
        object_id=subject.pk if subject else None,
        subject_repr=str(subject) if subject else "",
        dedup_key=None if state == ExceptionState.RESOLVED else f"test:{uuid_like()}",
    )
    if state != ExceptionState.OPEN:
        PlantException.objects.filter(pk=exc.pk).update(state=state)
        exc.refresh_from_db()
    return exc


_counter = {"n": 0}


def uuid_like() -> int:
    _counter["n"] += 1
    return _counter["n"]


@pytest.fixture
def integration(make_api_client):  # type: ignore[no-untyped-def]
    return make_api_client(ALL_SCOPES, name="Gateway")


def snapshot() -> dict[str, Any]:
    return {
        "exceptions": list(
            PlantException.objects.order_by("pk").values_list(
                "pk",
                "state",
                "assignee_id",
                "acknowledged_at",
                "resolved_at",
                "resolution_code_id",
                "resolution_note",
                "occurrences",
            )
        ),
        "tasks": list(Task.objects.order_by("pk").values_list("pk", "state")),
        "events": Event.objects.count(),
        "transitions": TransitionLog.objects.count(),
    }


# --- scopes and authentication -------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "method", "path", "missing"),
    [
        (["orders:read"], "get", EXCEPTIONS, "exceptions:read"),
        (["exceptions:write"], "get", EXCEPTIONS, "exceptions:read"),
        (["exceptions:write"], "get", "EX/", "exceptions:read"),
        (["orders:read"], "get", TASKS, "exceptions:read"),
        (["exceptions:read"], "post", "EX/acknowledge/", "exceptions:write"),
        (["exceptions:read"], "post", "EX/resolve/", "exceptions:write"),
        (["events:read"], "post", EVENTS, "events:write"),
        (["exceptions:read", "exceptions:write"], "get", "/api/v1/webhooks/", "webhooks:write"),
    ],
)
def test_missing_scope_is_403_naming_it_and_changes_nothing(
    make_api_client, scopes, method, path, missing
):
    # given
    exc = make_exception()
    url = path.replace("EX/", f"{EXCEPTIONS}{exc.number}/")
    api = make_api_client(scopes)
    before = snapshot()
    body = {"resolution_code": "other", "note": "done", "type": "pick.mismatch"}
    # when
    response = getattr(api, method)(url, body, format="json")
    # then
    problem = assert_problem(response, 403)
    assert problem["detail"] == f"This API client lacks the scope '{missing}'."
    assert snapshot() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", EXCEPTIONS), ("get", TASKS), ("post", "EX/acknowledge/"), ("post", EVENTS)],
)
def test_without_a_key_is_401_and_changes_nothing(client, method, path):
    # given
    exc = make_exception()
    url = path.replace("EX/", f"{EXCEPTIONS}{exc.number}/")
    before = snapshot()
    # when
    response = getattr(client, method)(url)
    # then
    assert_problem(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert snapshot() == before


# --- list, filters, detail -------------------------------------------------------------


def test_list_renders_each_exception(integration):
    # given
    order = make_order(state="confirmed")
    exc = make_exception(subject=order, severity="high", number="EX-000042")
    # when
    response = integration.get(EXCEPTIONS)
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row == {
        "number": "EX-000042",
        "title": f"Exception about {order.number}",
        "state": "open",
        "severity": "high",
        "owner_role": SHIPPING,
        "assignee": None,
        "rule": PICK_RULE,
        "subject": {"type": "orders.salesorder", "id": order.pk, "repr": order.number},
        "occurrences": 1,
        "first_seen_at": row["first_seen_at"],
        "last_seen_at": iso(exc.last_seen_at),
        "sla_due_at": iso(exc.sla_due_at),
        "sla_breached_at": None,
        "escalation_level": 0,
        "acknowledged_at": None,
        "resolved_at": None,
        "resolution_code": None,
        "resolution_note": "",
    }


def _numbers(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["number"] for row in response.json()["results"]}


def test_list_filters(integration):
    # given
    order_a = make_order(state="confirmed")
    order_b = make_order(state="confirmed")
    a = make_exception(subject=order_a, severity="high", number="EX-A")
    b = make_exception(
        rule_name=PROMISE_RULE, role=PLANNER, subject=order_b, severity="low", number="EX-B"
    )
    c = make_exception(state=ExceptionState.ACKNOWLEDGED, role=FLOOR_LEAD, number="EX-C")
    d = make_exception(state=ExceptionState.RESOLVED, number="EX-D")
    # when / then
    assert _numbers(integration.get(EXCEPTIONS, {"state": "open"})) == {a.number, b.number}
    assert _numbers(integration.get(EXCEPTIONS, {"state": ["open", "resolved"]})) == {
        a.number,
        b.number,
        d.number,
    }
    assert _numbers(integration.get(EXCEPTIONS, {"severity": "high"})) == {a.number}
    assert _numbers(integration.get(EXCEPTIONS, {"owner_role": PLANNER})) == {b.number}
    assert _numbers(integration.get(EXCEPTIONS, {"owner_role": FLOOR_LEAD})) == {c.number}
    assert _numbers(integration.get(EXCEPTIONS, {"rule": PROMISE_RULE})) == {b.number}
    assert _numbers(integration.get(EXCEPTIONS, {"subject": order_a.number})) == {a.number}


def test_list_filter_updated_after_sees_new_occurrences_and_transitions(integration):
    # given: three exceptions last seen an hour ago; one seen again, one acknowledged now
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    seen, acked, quiet = (make_exception(number=n) for n in ("EX-S", "EX-K", "EX-Q"))
    PlantException.objects.update(last_seen_at=hour_ago)
    PlantException.objects.filter(pk=seen.pk).update(last_seen_at=timezone.now())
    since = timezone.now() - dt.timedelta(minutes=5)
    integration.post(f"{EXCEPTIONS}{acked.number}/acknowledge/")
    # when
    response = integration.get(EXCEPTIONS, {"updated_after": since.isoformat()})
    # then
    assert _numbers(response) == {seen.number, acked.number}
    assert quiet.number not in _numbers(response)


def test_list_refuses_an_unknown_state(integration):
    # given
    make_exception()
    # when
    response = integration.get(EXCEPTIONS, {"state": "lost"})
    # then
    problem = assert_problem(response, 400)
    assert problem["errors"] == {
        "state": ["Select a valid choice. lost is not one of the available choices."]
    }


def test_detail_shows_events_tasks_and_allowed_transitions(integration):
    # given
    order = make_order(state="confirmed")
    exc = make_exception(rule_name=PROMISE_RULE, role=PLANNER, subject=order)
    ExceptionEvent.objects.create(
        exception=exc, event_id=77, event_type="order.promise_at_risk", occurred_at=timezone.now()
    )
    task = Task.objects.create(number="T-000009", title="Inform the customer", exception=exc)
    # when
    response = integration.get(f"{EXCEPTIONS}{exc.number}/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == exc.number
    assert [(e["event_id"], e["event_type"]) for e in body["events"]] == [
        (77, "order.promise_at_risk")
    ]
    assert body["tasks"] == [task.number]
    assert body["allowed_transitions"] == ["acknowledge", "start", "resolve"]


def test_detail_of_an_unknown_number_is_404(integration):
    # when
    response = integration.get(f"{EXCEPTIONS}EX-999999/")
    # then
    assert_problem(response, 404)


# --- acknowledge and resolve ---------------------------------------------------------------


def test_acknowledge_moves_the_exception_and_records_who(integration):
    # given
    exc = make_exception()
    # when
    response = integration.post(f"{EXCEPTIONS}{exc.number}/acknowledge/")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "acknowledged"
    assert body["assignee"] == integration.api_client.user.username
    assert body["allowed_transitions"] == ["start", "resolve"]
    exc.refresh_from_db()
    assert exc.state == ExceptionState.ACKNOWLEDGED
    log = TransitionLog.objects.get(object_id=exc.pk, transition="acknowledge")
    assert (log.from_state, log.to_state, log.actor) == (
        "open",
        "acknowledged",
        integration.api_client.user,
    )


def test_acknowledge_twice_is_409_naming_state_and_allowed(integration):
    # given
    exc = make_exception(state=ExceptionState.ACKNOWLEDGED)
    before = snapshot()
    # when
    response = integration.post(f"{EXCEPTIONS}{exc.number}/acknowledge/")
    # then
    problem = assert_problem(response, 409)
    assert problem["code"] == "illegal_transition"
    assert problem["current_state"] == "acknowledged"
    # core's transition_run lists transitions whose conditions hold now: resolve needs the
    # code and note its own request brings, so it is not named here
    assert problem["allowed_transitions"] == ["start"]
    assert snapshot() == before


def test_resolve_with_code_and_note(integration):
    # given
    exc = make_exception()
    # when
    response = integration.post(
        f"{EXCEPTIONS}{exc.number}/resolve/",
        {"resolution_code": "material", "note": "Stock moved from B-store."},
        format="json",
    )
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["resolution_code"], body["resolution_note"]) == (
        "resolved",
        "material",
        "Stock moved from B-store.",
    )
    assert body["allowed_transitions"] == ["reopen"]  # a resolution that did not hold
    resolved = Event.objects.get(type="exception.resolved")
    assert resolved.payload == {
        "number": exc.number,
        "resolution_code": "material",
        "note": "Stock moved from B-store.",
    }


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {},
            {
                "resolution_code": ["This field is required."],
                "note": ["This field is required."],
            },
        ),
        ({"resolution_code": "material"}, {"note": ["This field is required."]}),
        ({"resolution_code": "material", "note": ""}, {"note": ["This field may not be blank."]}),
        ({"resolution_code": "no-such-code", "note": "x"}, {"resolution_code": None}),
    ],
)
def test_resolve_without_code_or_note_is_400_and_changes_nothing(integration, body, errors):
    # given
    exc = make_exception()
    before = snapshot()
    # when
    response = integration.post(f"{EXCEPTIONS}{exc.number}/resolve/", body, format="json")
    # then
    problem = assert_problem(response, 400)
    assert set(problem["errors"]) == set(errors)
    for field, messages in errors.items():
        if messages is not None:
            assert problem["errors"][field] == messages
    assert snapshot() == before


def test_resolve_a_resolved_exception_is_409_and_changes_nothing(integration):
    # given
    exc = make_exception(state=ExceptionState.RESOLVED)
    before = snapshot()
    # when
    response = integration.post(
        f"{EXCEPTIONS}{exc.number}/resolve/",
        {"resolution_code": "other", "note": "again"},
        format="json",
    )
    # then
    problem = assert_problem(response, 409)
    assert problem["current_state"] == "resolved"
    assert problem["allowed_transitions"] == ["reopen"]
    assert snapshot() == before


def test_acknowledge_is_idempotent_with_a_key(integration):
    # given
    exc = make_exception()
    headers = {"HTTP_IDEMPOTENCY_KEY": "ack-1"}
    # when
    first = integration.post(f"{EXCEPTIONS}{exc.number}/acknowledge/", **headers)
    again = integration.post(f"{EXCEPTIONS}{exc.number}/acknowledge/", **headers)
    # then
    assert (first.status_code, again.status_code) == (200, 200)
    assert again["Idempotent-Replayed"] == "true"
    assert TransitionLog.objects.filter(object_id=exc.pk, transition="acknowledge").count() == 1


# --- tasks ---------------------------------------------------------------------------------


def test_task_list_filters_and_detail(integration):
    # given
    exc = make_exception(number="EX-T1")
    planner_role = Group.objects.get(name=PLANNER)
    shipping_role = Group.objects.get(name=SHIPPING)
    t1 = Task.objects.create(
        number="T-1", title="Call", assigned_role=planner_role, exception=exc, checklist=[]
    )
    t2 = Task.objects.create(number="T-2", title="Count", assigned_role=shipping_role)
    Task.objects.filter(pk=t2.pk).update(state=TaskState.DONE)
    # when
    by_role = integration.get(TASKS, {"assigned_role": PLANNER})
    by_state = integration.get(TASKS, {"state": "done"})
    detail = integration.get(f"{TASKS}{t1.number}/")
    # then
    assert _numbers(by_role) == {t1.number}
    assert _numbers(by_state) == {t2.number}
    assert detail.status_code == 200
    assert detail.json() == {
        "number": "T-1",
        "title": "Call",
        "state": "open",
        "instructions": "",
        "checklist": [],
        "required_inputs": [],
        "exception": "EX-T1",
        "rule": None,
        "subject": None,
        "assigned_role": PLANNER,
        "assignee": None,
        "due_at": None,
        "created_at": detail.json()["created_at"],
        "done_at": None,
    }


# --- query counts --------------------------------------------------------------------------

# key look-up, count, exceptions with role, assignee, rule, code and content type
EXCEPTION_LIST_QUERIES = 3
# key look-up, count, tasks with exception, rule, role, assignee and content type
TASK_LIST_QUERIES = 3


@pytest.mark.parametrize("n", [10, 200])
def test_exception_list_query_count_does_not_grow_with_rows(
    integration, django_assert_num_queries, n
):
    # given: rows spread over roles, rules, assignees and subjects
    items = [ItemFactory() for _ in range(3)]
    roles = [Group.objects.get(name=r) for r in (PLANNER, SHIPPING, FLOOR_LEAD)]
    rules = list(DecisionRule.objects.all()[:3])
    user = integration.api_client.user
    now = timezone.now()
    item_ct = ContentType.objects.get_for_model(items[0])
    PlantException.objects.bulk_create(
        PlantException(
            number=f"EX-Q{i:05d}",
            title=f"Row {i}",
            rule=rules[i % 3],
            severity="medium",
            owner_role=roles[i % 3],
            assignee=user if i % 2 else None,
            last_seen_at=now,
            content_type=item_ct,
            object_id=items[i % 3].pk,
            subject_repr=items[i % 3].sku,
        )
        for i in range(n)
    )
    integration.get(EXCEPTIONS)  # warm-up: last_used_at and the permission cache
    # when
    with django_assert_num_queries(EXCEPTION_LIST_QUERIES):
        response = integration.get(EXCEPTIONS, {"page_size": 500})
    # then
    assert response.json()["count"] == n
    assert len(response.json()["results"]) == n


@pytest.mark.parametrize("n", [10, 200])
def test_task_list_query_count_does_not_grow_with_rows(integration, django_assert_num_queries, n):
    # given
    exceptions = [make_exception(number=f"EX-P{i}") for i in range(3)]
    roles = [Group.objects.get(name=r) for r in (PLANNER, SHIPPING, FLOOR_LEAD)]
    rules = list(DecisionRule.objects.all()[:3])
    item = ItemFactory()
    item_ct = ContentType.objects.get_for_model(item)
    Task.objects.bulk_create(
        Task(
            number=f"T-Q{i:05d}",
            title=f"Task {i}",
            exception=exceptions[i % 3],
            rule=rules[i % 3],
            assigned_role=roles[i % 3],
            assignee=integration.api_client.user if i % 2 else None,
            content_type=item_ct,
            object_id=item.pk,
            subject_repr=item.sku,
            checklist=[{"text": "Check", "done": False}],
        )
        for i in range(n)
    )
    integration.get(TASKS)  # warm-up
    # when
    with django_assert_num_queries(TASK_LIST_QUERIES):
        response = integration.get(TASKS, {"page_size": 500})
    # then
    assert response.json()["count"] == n
    assert len(response.json()["results"]) == n


# --- external events ----------------------------------------------------------------------


def test_external_event_is_accepted_and_the_rules_raise_the_exception(
    integration, django_capture_on_commit_callbacks
):
    # given
    order = make_order(state="in_production", external_id="ERP-55")
    body = {
        "type": "pick.mismatch",
        "subject": {"type": "order", "key": "ERP-55"},
        "payload": {"expected": "BOLT-10", "scanned": "BOLT-12", "picker": "kim"},
    }
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = integration.post(EVENTS, body, format="json")
    # then
    assert response.status_code == 202, response.content
    event = Event.objects.get(pk=response.json()["id"])
    assert response.json() == {
        "id": event.pk,
        "type": "pick.mismatch",
        "occurred_at": iso(event.occurred_at),
        "status": "accepted",
    }
    assert (event.object_id, event.actor, event.processed_at is not None) == (
        order.pk,
        integration.api_client.user,
        True,
    )
    exc = PlantException.objects.get()
    assert (exc.rule.name, exc.owner_role.name, exc.object_id, exc.title) == (
        PICK_RULE,
        SHIPPING,
        order.pk,
        "Mis-pick: BOLT-12 scanned, BOLT-10 expected",
    )
    assert list(exc.events.values_list("event_id", flat=True)) == [event.pk]
    listed = integration.get(EXCEPTIONS, {"subject": order.number})
    assert _numbers(listed) == {exc.number}


def test_external_event_keeps_the_reported_time(integration, django_capture_on_commit_callbacks):
    # given
    order = make_order(state="confirmed")
    when = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=20)
    body = {
        "type": "order.promise_at_risk",
        "subject": {"type": "order", "key": order.number},
        "payload": {"promise_date": "2031-01-31", "days_late": 3},
        "occurred_at": when.isoformat(),
    }
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = integration.post(EVENTS, body, format="json")
    # then
    assert response.status_code == 202, response.content
    assert Event.objects.get(pk=response.json()["id"]).occurred_at == when
    exc = PlantException.objects.get()
    assert exc.events.get().occurred_at == when
    assert Task.objects.get().exception == exc


def event_counts() -> tuple[int, int, int]:
    return Event.objects.count(), PlantException.objects.count(), Task.objects.count()


def test_unknown_event_type_is_400_naming_the_known_external_types(integration):
    # given
    before = event_counts()
    # when
    response = integration.post(EVENTS, {"type": "machine.exploded", "payload": {}}, format="json")
    # then
    problem = assert_problem(response, 400)
    assert problem["errors"] == {
        "type": [
            "Unknown event type 'machine.exploded'. Known external types: material.delayed, "
            "material.shortage, operation.late, order.promise_at_risk, pick.mismatch, "
            "quality.hold_placed, quality.hold_released, workcenter.down, workcenter.up."
        ]
    }
    assert event_counts() == before


def test_internal_event_type_is_refused(integration):
    # given
    before = event_counts()
    body = {
        "type": "exception.raised",
        "payload": {"number": "EX-1", "title": "fake", "severity": "high"},
    }
    # when
    response = integration.post(EVENTS, body, format="json")
    # then
    problem = assert_problem(response, 400)
    assert problem["errors"]["type"][0].startswith(
        "exception.raised is emitted by the MES itself and cannot be posted."
    )
    assert event_counts() == before


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        (
            {"work_center": "WC-1"},
            {"payload.reason": ["This field is required."]},
        ),
        (
            {"work_center": "WC-1", "reason": "jam", "down_minutes": "20"},
            {"payload.down_minutes": ["Expected an integer."]},
        ),
        (
            {"work_center": "WC-1", "reason": "jam", "down_minutes": True},
            {"payload.down_minutes": ["Expected an integer."]},
        ),
        (
            {"work_center": 7, "reason": None},
            {
                "payload.work_center": ["Expected a string."],
                "payload.reason": ["This field may not be null."],
            },
        ),
        (
            {"work_center": "WC-1", "reason": "jam", "operator": "kim"},
            {
                "payload.operator": [
                    "Unknown field. Known fields: work_center, reason, down_minutes."
                ]
            },
        ),
    ],
)
def test_payload_against_schema_is_400_with_field_errors(integration, payload, errors):
    # given
    before = event_counts()
    # when
    response = integration.post(
        EVENTS, {"type": "workcenter.down", "payload": payload}, format="json"
    )
    # then
    problem = assert_problem(response, 400)
    assert problem["errors"] == errors
    assert problem["detail"] == "The payload does not match the schema of workcenter.down."
    assert event_counts() == before


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        (
            {"item": "A", "delay_days": 2, "expected_date": "31.01.2031"},
            {"payload.expected_date": ["Expected a date as YYYY-MM-DD."]},
        ),
        (
            {"item": "A", "delay_days": 2, "expected_date": "2031-02-30"},
            {"payload.expected_date": ["Expected a date as YYYY-MM-DD."]},
        ),
        (
            {"item": "A", "delay_days": 2.5, "expected_date": "2031-01-31", "quantity": "5"},
            {
                "payload.delay_days": ["Expected an integer."],
                "payload.quantity": ["Expected a number."],
            },
        ),
    ],
)
def test_dates_and_numbers_are_checked(integration, payload, errors):
    # given
    before = event_counts()
    # when
    response = integration.post(
        EVENTS, {"type": "material.delayed", "payload": payload}, format="json"
    )
    # then
    assert assert_problem(response, 400)["errors"] == errors
    assert event_counts() == before


@pytest.mark.parametrize(
    ("subject", "errors"),
    [
        (
            {"type": "order", "key": "SO-999999"},
            {"subject.key": ["No order with order number or ERP id 'SO-999999'."]},
        ),
        (
            {"type": "truck", "key": "T1"},
            {"subject.type": ["Unknown subject type 'truck'. Known: order, item."]},
        ),
        (
            {"type": "item", "key": "BOLT"},
            {"subject.type": ["pick.mismatch is about a order, not a item."]},
        ),
        ({"type": "order"}, {"subject.key": ["This field is required."]}),
    ],
)
def test_unknown_subject_is_400(integration, subject, errors):
    # given
    ItemFactory(sku="BOLT")
    before = event_counts()
    body = {
        "type": "pick.mismatch",
        "subject": subject,
        "payload": {"expected": "A", "scanned": "B"},
    }
    # when
    response = integration.post(EVENTS, body, format="json")
    # then
    assert assert_problem(response, 400)["errors"] == errors
    assert event_counts() == before


def test_event_in_the_future_is_refused(integration):
    # given
    before = event_counts()
    body = {
        "type": "workcenter.up",
        "payload": {"work_center": "WC-1"},
        "occurred_at": (timezone.now() + dt.timedelta(hours=1)).isoformat(),
    }
    # when
    response = integration.post(EVENTS, body, format="json")
    # then
    assert assert_problem(response, 400)["errors"] == {
        "occurred_at": ["occurred_at is in the future."]
    }
    assert event_counts() == before


def test_event_feed_still_reads_with_events_read(integration, django_capture_on_commit_callbacks):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        posted = integration.post(
            EVENTS, {"type": "workcenter.up", "payload": {"work_center": "WC-1"}}, format="json"
        )
    # when
    feed = integration.get(EVENTS, {"after": posted.json()["id"] - 1})
    # then
    assert feed.status_code == 200
    assert feed.json()["results"][0]["type"] == "workcenter.up"
    assert feed.json()["results"][0]["payload"] == {"work_center": "WC-1"}
