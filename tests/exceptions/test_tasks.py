"""Tasks: open -> in_progress -> done (only with the checklist and the required inputs
complete) / cancelled (with a comment); only roles that work tasks may act."""

from __future__ import annotations

from typing import Any

import pytest

from exceptions import services
from exceptions.models import Task
from mes.core.errors import DomainError, IllegalTransition, NotPermitted, ValidationFailed
from mes.core.events import event_emit
from mes.core.models import TransitionLog
from mes.core.roles import INTEGRATION, PLANNER
from orders.models import OrderState

from ..factories import make_order, user_with_role

pytestmark = pytest.mark.django_db

NOT_COMPLETE = "Tick every checklist item and fill in every required input first."


@pytest.fixture
def task(django_capture_on_commit_callbacks: Any) -> Task:
    """The default rule's inform-the-customer task (two checklist items, one input)."""
    order = make_order(state=OrderState.CONFIRMED)
    with django_capture_on_commit_callbacks(execute=True):
        event_emit(
            type="order.promise_at_risk", subject=order, payload={"promise_date": "2026-03-02"}
        )
    return Task.objects.get()


def _snapshot(task: Task) -> tuple[Any, ...]:
    task.refresh_from_db()
    return (task.state, task.assignee_id, task.checklist, task.required_inputs, task.done_at)


def _logs(task: Task) -> list[tuple[str, str, str, str]]:
    return list(
        TransitionLog.objects.filter(object_id=task.pk, content_type__model="task")
        .order_by("id")
        .values_list("transition", "from_state", "to_state", "comment")
    )


def test_start_then_complete_with_checklist_and_inputs_done(task: Task, planner: Any) -> None:
    # given
    started = services.task_transition(task=task, user=planner, transition="start")
    assert (started.state, started.assignee) == ("in_progress", planner)

    # when: everything is ticked and filled in, then completed
    services.task_update(
        task=task, user=planner, checked=[0, 1], inputs={"new promise date": " 2026-03-09 "}
    )
    done = services.task_transition(task=task, user=planner, transition="complete")

    # then
    assert done.state == "done"
    assert done.done_at is not None
    assert done.dedup_key is None
    assert done.checklist == [
        {"text": "Customer informed", "done": True},
        {"text": "New date agreed", "done": True},
    ]
    assert done.required_inputs == [{"name": "new promise date", "value": "2026-03-09"}]
    assert _logs(task) == [
        ("start", "open", "in_progress", ""),
        ("complete", "in_progress", "done", ""),
    ]


@pytest.mark.parametrize(
    ("checked", "inputs"),
    [
        (None, None),  # nothing done
        ([0, 1], None),  # the input is missing
        ([0], {"new promise date": "2026-03-09"}),  # one checklist item open
        ([0, 1], {"new promise date": "   "}),  # a blank input is no input
    ],
)
def test_complete_is_refused_until_checklist_and_inputs_are_complete(
    task: Task, planner: Any, checked: list[int] | None, inputs: dict[str, str] | None
) -> None:
    # given
    if checked is not None or inputs is not None:
        services.task_update(task=task, user=planner, checked=checked, inputs=inputs)
    before = _snapshot(task)

    # when
    with pytest.raises(DomainError) as refused:
        services.task_transition(task=task, user=planner, transition="complete")

    # then: the message says what is missing; nothing changed
    assert (refused.value.code, refused.value.message) == ("condition_not_met", NOT_COMPLETE)
    assert _snapshot(task) == before
    assert before[0] == "open"
    assert _logs(task) == []


def test_cancel_needs_a_comment(task: Task, planner: Any) -> None:
    # given
    before = _snapshot(task)

    # when
    with pytest.raises(ValidationFailed) as refused:
        services.task_transition(task=task, user=planner, transition="cancel", comment="  ")

    # then
    assert refused.value.errors == {"comment": ["Say why the task is cancelled."]}
    assert _snapshot(task) == before
    assert _logs(task) == []


def test_cancel_with_a_comment(task: Task, planner: Any) -> None:
    # when
    cancelled = services.task_transition(
        task=task, user=planner, transition="cancel", comment=" Customer called us first. "
    )

    # then
    assert (cancelled.state, cancelled.dedup_key, cancelled.done_at) == ("cancelled", None, None)
    assert _logs(task) == [("cancel", "open", "cancelled", "Customer called us first.")]


def test_a_closed_task_cannot_be_started_or_updated(task: Task, planner: Any) -> None:
    # given
    services.task_transition(task=task, user=planner, transition="cancel", comment="Not needed.")
    before = _snapshot(task)

    # when / then
    with pytest.raises(IllegalTransition) as illegal:
        services.task_transition(task=task, user=planner, transition="start")
    assert illegal.value.current_state == "cancelled"
    with pytest.raises(DomainError) as closed:
        services.task_update(task=task, user=planner, checked=[0])
    assert closed.value.message == f"{task.number} is closed."
    assert _snapshot(task) == before


def test_an_unknown_action_is_refused(task: Task, planner: Any) -> None:
    before = _snapshot(task)
    with pytest.raises(DomainError) as refused:
        services.task_transition(task=task, user=planner, transition="delete")
    assert refused.value.message == "Unknown action 'delete'."
    assert _snapshot(task) == before


def test_unknown_checklist_items_and_inputs_are_refused(task: Task, planner: Any) -> None:
    before = _snapshot(task)
    with pytest.raises(ValidationFailed) as bad_item:
        services.task_update(task=task, user=planner, checked=[2])
    with pytest.raises(ValidationFailed) as bad_input:
        services.task_update(task=task, user=planner, inputs={"carrier": "DHL"})
    assert bad_item.value.errors == {"checklist": ["Unknown checklist item."]}
    assert bad_input.value.errors == {"inputs": ["Unknown input(s): carrier."]}
    assert _snapshot(task) == before


@pytest.mark.parametrize("transition", ["start", "complete", "cancel"])
def test_a_role_that_only_views_tasks_cannot_work_them(task: Task, transition: str) -> None:
    # given: an integration user (may view tasks, not work them); the task is complete
    planner = user_with_role(PLANNER, username="planner-t")
    services.task_update(
        task=task, user=planner, checked=[0, 1], inputs={"new promise date": "2026-03-09"}
    )
    integration = user_with_role(INTEGRATION, username="erp-user")
    before = _snapshot(task)

    # when
    with pytest.raises(NotPermitted):
        services.task_transition(
            task=task, user=integration, transition=transition, comment="because"
        )

    # then
    assert _snapshot(task) == before
    assert _logs(task) == []


def test_a_role_that_only_views_tasks_cannot_tick_the_checklist(task: Task) -> None:
    integration = user_with_role(INTEGRATION, username="erp-user")
    before = _snapshot(task)
    with pytest.raises(NotPermitted):
        services.task_update(task=task, user=integration, checked=[0])
    assert _snapshot(task) == before
