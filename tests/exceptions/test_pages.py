"""Exception board, exception page and "My tasks", driven with real form posts (and the
HX-Request header where HTMX sends one)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from exceptions import services
from exceptions.models import DecisionRule, ExceptionState, PlantException, Task, TaskState
from mes.core.events import event_emit
from mes.core.models import TransitionLog
from mes.core.roles import FLOOR_LEAD, SHIPPING
from orders.models import SalesOrder

from ..factories import UserFactory, make_order, user_with_role

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
PICK = "Pick mismatch: raise to Shipping"
WORKCENTER = "Work center down over 15 minutes: raise to Floor lead"
PROMISE = "Promise date at risk: raise to Planner and inform the customer"
# Session, user, the user's and the groups' permissions, the user's roles (header), the
# nav counter, then the board's own reads: roles, types, count, page, subject links,
# resolution codes. The same at 10 and at 200 exceptions.
BOARD_QUERIES = 12
# The same first six, then the tasks and their subject links.
TASKS_QUERIES = 8


def _raise(rule_name: str = PICK, order: SalesOrder | None = None) -> PlantException:
    rule = DecisionRule.objects.get(name=rule_name)
    subject = order or make_order(lines=1)
    exc, created = services.exception_raise(
        rule=rule, subject=subject, context={"expected": "A", "scanned": "B"}, event=None
    )
    assert created
    return exc


def _task(order: SalesOrder | None = None) -> Task:
    rule = DecisionRule.objects.get(name=PROMISE)
    task, created = services.task_create(
        rule=rule, subject=order or make_order(lines=1), context={"promise_date": "2030-01-01"}
    )
    assert created
    return task


def _numbers(response: Any) -> list[str]:
    return [row["exc"].number for row in response.context["rows"]]


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _templates(response: Any) -> list[str]:
    return [t.name for t in response.templates]


def _action(exc: PlantException, name: str) -> str:
    return reverse("exceptions:action", args=[exc.number, name])


@pytest.fixture
def shipper(db: Any) -> Any:
    return user_with_role(SHIPPING, username="shipper1")


@pytest.fixture
def signed_in(client, shipper):  # type: ignore[no-untyped-def]
    client.force_login(shipper)
    return client


# --- board ------------------------------------------------------------------------------


def test_board_lists_only_unresolved_by_severity_then_sla(signed_in, shipper):
    # given: four open exceptions of the Shipping role and one resolved
    now = timezone.now()
    late = _raise()
    soon = _raise()
    critical = _raise()
    no_sla = _raise()
    resolved = _raise()
    PlantException.objects.filter(pk=late.pk).update(sla_due_at=now + dt.timedelta(minutes=50))
    PlantException.objects.filter(pk=soon.pk).update(sla_due_at=now - dt.timedelta(minutes=5))
    PlantException.objects.filter(pk=no_sla.pk).update(sla_due_at=None)
    PlantException.objects.filter(pk=critical.pk).update(
        severity="critical", sla_due_at=now + dt.timedelta(hours=5)
    )
    services.exception_resolve(
        exception=resolved, user=shipper, resolution_code="fixed", note="re-picked"
    )
    # when
    response = signed_in.get(reverse("exceptions:board"))
    # then
    assert response.status_code == 200
    assert "exceptions/board.html" in _templates(response)
    assert _numbers(response) == [critical.number, soon.number, late.number, no_sla.number]
    body = response.content.decode()
    assert resolved.number not in body
    assert 'hx-trigger="every 5s' in body
    row = next(r for r in response.context["rows"] if r["exc"].pk == soon.pk)
    assert row["overdue"] is True
    assert row["sla_text"] == "-5 min"
    assert 'class="text-danger fw-semibold" data-testid="exception-sla"' in body


def test_board_row_shows_subject_link_rule_owner_and_occurrences(signed_in):
    # given: the same mis-pick twice on one order
    order = make_order(lines=1)
    exc = _raise(order=order)
    services.exception_raise(
        rule=exc.rule, subject=order, context={"expected": "A", "scanned": "B"}, event=None
    )
    # when
    response = signed_in.get(reverse("exceptions:board"))
    # then
    (row,) = response.context["rows"]
    assert row["subject_url"] == reverse("orders:detail", args=[order.number])
    assert row["exc"].occurrences == 2
    body = response.content.decode()
    assert f'href="{row["subject_url"]}" data-testid="exception-subject">{order.number}<' in body
    assert "Mis-pick: B scanned, A expected" in body
    assert PICK in body
    assert '<span data-testid="exception-occurrences" title="Occurrences">2×</span>' in body


def test_board_defaults_to_own_roles_and_filters_by_role_type_severity_state(signed_in, shipper):
    # given: one for Shipping, one for Floor lead
    pick = _raise(PICK)
    down = _raise(WORKCENTER)
    floor = Group.objects.get(name=FLOOR_LEAD)
    url = reverse("exceptions:board")
    # when / then: default is the user's own roles
    assert _numbers(signed_in.get(url)) == [pick.number]
    assert _numbers(signed_in.get(url, {"role": "all"})) == [down.number, pick.number]
    assert _numbers(signed_in.get(url, {"role": str(floor.pk)})) == [down.number]
    assert _numbers(signed_in.get(url, {"role": "all", "type": "workcenter.down"})) == [down.number]
    assert _numbers(signed_in.get(url, {"role": "all", "severity": "medium"})) == [pick.number]
    services.exception_acknowledge(exception=pick, user=shipper)
    assert _numbers(signed_in.get(url, {"role": "all", "state": "acknowledged"})) == [pick.number]
    assert _numbers(signed_in.get(url, {"role": "all", "state": "open"})) == [down.number]


def test_board_htmx_request_returns_the_table_partial(signed_in):
    # given
    exc = _raise()
    # when
    response = signed_in.get(reverse("exceptions:board"), **HX)
    # then
    assert response.status_code == 200
    assert _templates(response)[0] == "exceptions/_board_table.html"
    assert "base.html" not in _templates(response)
    assert exc.number in response.content.decode()
    assert response["Vary"].count("HX-Request") == 1


def test_a_new_exception_appears_on_the_next_refresh(signed_in, django_capture_on_commit_callbacks):
    # given: the board is empty
    first = signed_in.get(reverse("exceptions:board"), **HX)
    assert _numbers(first) == []
    # when: a pick mismatch event reaches the engine
    order = make_order(lines=1)
    with django_capture_on_commit_callbacks(execute=True):
        event_emit(type="pick.mismatch", subject=order, payload={"expected": "A", "scanned": "B"})
    # then
    refreshed = signed_in.get(reverse("exceptions:board"), **HX)
    (row,) = refreshed.context["rows"]
    assert row["exc"].title == "Mis-pick: B scanned, A expected"
    assert row["subject_url"] == reverse("orders:detail", args=[order.number])


@pytest.mark.parametrize("n", [10, 200])
def test_board_query_count_does_not_grow(signed_in, django_assert_num_queries, n):
    # given
    for _ in range(n):
        _raise()
    # when
    with django_assert_num_queries(BOARD_QUERIES):
        response = signed_in.get(reverse("exceptions:board"))
    # then
    assert response.status_code == 200
    assert len(response.context["rows"]) == min(n, 50)


# --- acting on the board ---------------------------------------------------------------


def test_acknowledge_from_the_board_with_htmx_returns_the_table(signed_in, shipper):
    # given
    exc = _raise()
    # when
    response = signed_in.post(_action(exc, "acknowledge"), {"role": "mine"}, **HX)
    # then
    assert response.status_code == 200
    assert _templates(response)[0] == "exceptions/_board_table.html"
    exc.refresh_from_db()
    assert exc.state == ExceptionState.ACKNOWLEDGED
    assert exc.assignee == shipper
    assert exc.acknowledged_at is not None
    body = response.content.decode()
    assert f"{exc.number}: acknowledge done; it is now acknowledged." in body
    assert f'id="acknowledge-{exc.number}"' not in body
    assert f'id="start-{exc.number}"' in body
    log = TransitionLog.objects.get(object_id=exc.pk, transition="acknowledge")
    assert (log.from_state, log.to_state, log.actor) == ("open", "acknowledged", shipper)


def test_start_and_assign_without_htmx_redirect_back(signed_in, shipper):
    # given
    exc = _raise()
    board = reverse("exceptions:board")
    # when
    started = signed_in.post(_action(exc, "start"), {"next": board})
    # then
    assert started.status_code == 302
    assert started["Location"] == board
    exc.refresh_from_db()
    assert exc.state == ExceptionState.IN_PROGRESS
    assert exc.assignee == shipper
    # and: another shipper takes it over
    other = user_with_role(SHIPPING, username="shipper2")
    signed_in.force_login(other)
    assigned = signed_in.post(_action(exc, "assign"))
    assert assigned["Location"] == reverse("exceptions:detail", args=[exc.number])
    exc.refresh_from_db()
    assert exc.assignee == other


def test_resolve_with_code_and_note(signed_in, shipper):
    # given
    exc = _raise()
    # when
    response = signed_in.post(
        _action(exc, "resolve"), {"resolution_code": "fixed", "note": "Re-picked the lot"}, **HX
    )
    # then
    assert response.status_code == 200
    exc.refresh_from_db()
    assert exc.state == ExceptionState.RESOLVED
    assert exc.resolution_code.code == "fixed"
    assert exc.resolution_note == "Re-picked the lot"
    assert exc.dedup_key is None
    assert _numbers(response) == []
    assert f"{exc.number}: resolve done; it is now resolved." in response.content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"resolution_code": "", "note": "done"}, "resolution_code", "Choose a resolution code."),
        ({"resolution_code": "fixed", "note": "  "}, "note", "Say what was done."),
        ({"resolution_code": "bogus", "note": "done"}, "resolution_code", None),
    ],
)
def test_resolve_without_code_or_note_is_refused(signed_in, data, field, message):
    # given
    exc = _raise()
    # when
    response = signed_in.post(_action(exc, "resolve"), data, **HX)
    # then: the table comes back with the row's form open and the error next to the field
    assert response.status_code == 200
    body = response.content.decode()
    assert "The resolution is not complete." in body
    assert f'data-testid="error-{field}"' in body
    if message:
        assert message in body
    assert f'<div class="collapse show" id="resolve-panel-{exc.number}">' in body
    exc.refresh_from_db()
    assert exc.state == ExceptionState.OPEN
    assert exc.resolution_code is None
    assert exc.resolution_note == ""
    assert not TransitionLog.objects.filter(object_id=exc.pk, transition="resolve").exists()


def test_resolve_refused_on_the_detail_page_shows_the_form_with_errors(signed_in):
    # given
    exc = _raise()
    # when
    response = signed_in.post(_action(exc, "resolve"), {"resolution_code": "fixed", "note": ""})
    # then
    assert response.status_code == 200
    assert "exceptions/detail.html" in _templates(response)
    assert response.context["resolve_open"] is True
    assert response.context["resolve_form"].errors["note"] == ["Say what was done."]
    exc.refresh_from_db()
    assert exc.state == ExceptionState.OPEN


def test_illegal_transition_is_refused_naming_the_allowed_ones(signed_in, shipper):
    # given: already in progress
    exc = _raise()
    services.exception_start(exception=exc, user=shipper)
    before = TransitionLog.objects.count()
    # when
    response = signed_in.post(_action(exc, "acknowledge"), follow=True)
    # then
    assert _messages(response) == [
        f"Acknowledge is not possible while {exc.number} is in progress. Allowed now: Resolve."
    ]
    exc.refresh_from_db()
    assert exc.state == ExceptionState.IN_PROGRESS
    assert TransitionLog.objects.count() == before


def test_acting_on_a_resolved_exception_names_only_reopen(signed_in, shipper):
    # given
    exc = _raise()
    services.exception_resolve(exception=exc, user=shipper, resolution_code="fixed", note="ok")
    # when
    response = signed_in.post(_action(exc, "start"), follow=True)
    # then
    assert _messages(response) == [
        f"Start is not possible while {exc.number} is resolved. Allowed now: Reopen."
    ]
    exc.refresh_from_db()
    assert exc.state == ExceptionState.RESOLVED


def test_wrong_role_gets_403_and_nothing_changes(client):
    # given: a user who may see exceptions but not work on them
    exc = _raise()
    viewer = UserFactory(username="viewer")
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_plantexception", content_type__app_label="exceptions")
    )
    client.force_login(viewer)
    # when
    responses = [
        client.post(_action(exc, name), {"resolution_code": "fixed", "note": "x"})
        for name in ["acknowledge", "start", "assign", "resolve"]
    ]
    # then
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    exc.refresh_from_db()
    assert exc.state == ExceptionState.OPEN
    assert exc.assignee is None
    assert not TransitionLog.objects.filter(object_id=exc.pk).exists()
    # and the board shows no buttons to this user
    board = client.get(reverse("exceptions:board"), {"role": "all"})
    assert board.status_code == 200
    assert f'id="acknowledge-{exc.number}"' not in board.content.decode()


def test_no_role_gets_403_and_anonymous_goes_to_login(client):
    # given
    exc = _raise()
    # when
    anonymous = client.get(reverse("exceptions:board"))
    anonymous_post = client.post(_action(exc, "acknowledge"))
    client.force_login(UserFactory(username="nobody"))
    nobody = client.get(reverse("exceptions:board"))
    nobody_tasks = client.get(reverse("exceptions:tasks"))
    # then
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
    assert anonymous_post.status_code == 302
    assert anonymous_post["Location"].startswith(reverse("login"))
    assert (nobody.status_code, nobody_tasks.status_code) == (403, 403)
    exc.refresh_from_db()
    assert exc.state == ExceptionState.OPEN


def test_unknown_action_is_404(signed_in):
    # given
    exc = _raise()
    # when
    response = signed_in.post(_action(exc, "escalate"))
    # then
    assert response.status_code == 404
    exc.refresh_from_db()
    assert exc.state == ExceptionState.OPEN


# --- detail --------------------------------------------------------------------------------


def test_detail_shows_subject_events_rule_tasks_and_history(
    client, planner, django_capture_on_commit_callbacks
):
    # given: a promise-at-risk exception raised through the engine, with its task
    order = make_order(lines=1)
    with django_capture_on_commit_callbacks(execute=True):
        event_emit(
            type="order.promise_at_risk",
            subject=order,
            payload={"promise_date": "2030-01-01", "delay_days": 3},
        )
    exc = PlantException.objects.get()
    services.exception_acknowledge(exception=exc, user=planner)
    client.force_login(planner)
    # when
    response = client.get(reverse("exceptions:detail", args=[exc.number]))
    # then
    assert response.status_code == 200
    context = response.context
    assert context["subject_url"] == reverse("orders:detail", args=[order.number])
    assert [e.event_type for e in context["events"]] == ["order.promise_at_risk"]
    assert [t.number for t in context["tasks"]] == [Task.objects.get().number]
    assert [(h.transition, h.actor) for h in context["history"]] == [("acknowledge", planner)]
    assert [t["name"] for t in context["transitions"]] == ["start"]
    body = response.content.decode()
    assert PROMISE in body
    assert 'id="start-button"' in body
    assert 'id="acknowledge-button"' not in body
    assert 'id="resolve-button"' in body


def test_detail_of_unknown_number_is_404(signed_in):
    # when
    response = signed_in.get(reverse("exceptions:detail", args=["EX-999999"]))
    # then
    assert response.status_code == 404


# --- nav counter ---------------------------------------------------------------------------


def test_nav_counter_counts_unresolved_of_the_users_roles(client, shipper, floor_lead):
    # given: two open for Shipping, one resolved for Shipping, one for Floor lead
    _raise()
    _raise()
    services.exception_resolve(exception=_raise(), user=shipper, resolution_code="fixed", note="ok")
    _raise(WORKCENTER)
    # when
    client.force_login(shipper)
    shipping_page = client.get(reverse("exceptions:tasks"))
    client.force_login(floor_lead)
    floor_page = client.get(reverse("orders:list"))
    # then
    assert shipping_page.context["open_exceptions_count"]() == 2
    assert floor_page.context["open_exceptions_count"]() == 1
    assert (
        '<span class="badge rounded-pill text-bg-danger" data-testid="open-exceptions-count"'
        in (shipping_page.content.decode())
    )
    assert ">2<span" in shipping_page.content.decode()
    assert ">1<span" in floor_page.content.decode()


def test_nav_shows_exceptions_and_my_tasks_to_roles_with_the_permission(client, shipper):
    # when
    client.force_login(shipper)
    response = client.get(reverse("exceptions:board"))
    # then
    labels = [str(item["label"]) for item in response.context["nav_items"]]
    assert "Exceptions" in labels
    assert "My tasks" in labels
    active = [str(item["label"]) for item in response.context["nav_items"] if item["active"]]
    assert active == ["Exceptions"]


def test_nav_counter_is_skipped_for_anonymous(client):
    # when
    response = client.get(reverse("login"))
    # then
    assert "open_exceptions_count" not in response.context
    assert b"open-exceptions-count" not in response.content


# --- my tasks ------------------------------------------------------------------------------


def test_tasks_lists_open_tasks_of_the_users_roles(client, planner, floor_lead):
    # given: two Planner tasks (one done), and one assigned to the floor lead in person
    mine = _task()
    done = _task()
    Task.objects.filter(pk=done.pk).update(
        checklist=[{"text": "x", "done": True}], required_inputs=[]
    )
    services.task_transition(task=done, user=planner, transition="complete")
    personal = _task()
    Task.objects.filter(pk=personal.pk).update(assigned_role=None, assignee=floor_lead)
    client.force_login(planner)
    # when
    response = client.get(reverse("exceptions:tasks"))
    # then
    assert response.status_code == 200
    assert [r["task"].number for r in response.context["rows"]] == [mine.number]
    body = response.content.decode()
    assert "Customer informed" in body
    assert 'name="input-0"' in body
    assert f'id="done-{mine.number}"' in body
    # and the floor lead sees the one assigned to them
    client.force_login(floor_lead)
    assert [r["task"].number for r in client.get(reverse("exceptions:tasks")).context["rows"]] == [
        personal.number
    ]


def test_task_done_is_refused_while_incomplete_and_saves_what_was_ticked(client, planner):
    # given
    task = _task()
    client.force_login(planner)
    # when: one of two items ticked, no input
    response = client.post(
        reverse("exceptions:task_action", args=[task.number, "complete"]),
        {"with_progress": "1", "checked": ["0"], "input-0": ""},
        follow=True,
    )
    # then
    assert _messages(response) == [
        "Tick every checklist item and fill in every required input first."
    ]
    task.refresh_from_db()
    assert task.state == TaskState.OPEN
    assert [item["done"] for item in task.checklist] == [True, False]
    assert task.done_at is None


def test_task_save_start_and_done(client, planner):
    # given
    task = _task()
    client.force_login(planner)
    # when: save the checklist and the input, start, then done
    saved = client.post(
        reverse("exceptions:task_save", args=[task.number]),
        {"checked": ["0", "1"], "input-0": "2030-02-01"},
    )
    started = client.post(reverse("exceptions:task_action", args=[task.number, "start"]))
    done = client.post(
        reverse("exceptions:task_action", args=[task.number, "complete"]), follow=True
    )
    # then
    assert saved.status_code == 302
    assert started.status_code == 302
    task.refresh_from_db()
    assert task.state == TaskState.DONE
    assert task.assignee == planner
    assert task.required_inputs == [{"name": "new promise date", "value": "2030-02-01"}]
    assert _messages(done)[-1] == f"{task.number}: done done; it is now done."
    assert done.context["rows"] == []


def test_task_cancel_needs_a_comment(client, planner):
    # given
    task = _task()
    client.force_login(planner)
    url = reverse("exceptions:task_action", args=[task.number, "cancel"])
    # when
    refused = client.post(url, {"comment": " "})
    # then
    assert refused.status_code == 200
    (row,) = refused.context["rows"]
    assert row["cancel_open"] is True
    assert row["cancel_form"].errors["comment"] == ["Say why the task is cancelled."]
    task.refresh_from_db()
    assert task.state == TaskState.OPEN
    # when: with a reason
    cancelled = client.post(url, {"comment": "Customer already knows"})
    # then
    assert cancelled.status_code == 302
    task.refresh_from_db()
    assert task.state == TaskState.CANCELLED


def test_task_actions_need_the_work_permission(client):
    # given: Integration may see tasks but not work on them
    from mes.core.roles import INTEGRATION

    task = _task()
    Task.objects.filter(pk=task.pk).update(assigned_role=Group.objects.get(name=INTEGRATION))
    client.force_login(user_with_role(INTEGRATION, username="erp-user"))
    # when
    page = client.get(reverse("exceptions:tasks"))
    responses = [
        client.post(reverse("exceptions:task_save", args=[task.number]), {"checked": ["0"]}),
        client.post(reverse("exceptions:task_action", args=[task.number, "start"])),
        client.post(
            reverse("exceptions:task_action", args=[task.number, "cancel"]), {"comment": "x"}
        ),
    ]
    # then
    assert page.status_code == 200
    assert f'id="done-{task.number}"' not in page.content.decode()
    assert [r.status_code for r in responses] == [403, 403, 403]
    task.refresh_from_db()
    assert task.state == TaskState.OPEN
    assert [item["done"] for item in task.checklist] == [False, False]


@pytest.mark.parametrize("n", [10, 200])
def test_tasks_query_count_does_not_grow(client, planner, django_assert_num_queries, n):
    # given
    for _ in range(n):
        _task()
    client.force_login(planner)
    # when
    with django_assert_num_queries(TASKS_QUERIES):
        response = client.get(reverse("exceptions:tasks"))
    # then
    assert response.status_code == 200
    assert len(response.context["rows"]) == n
