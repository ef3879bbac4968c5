"""Reads for the exception board, an exception's page and "My tasks".

Every list here costs the same number of queries at 10 and at 200 rows: related rows come
through `select_related`, and subject links are looked up once per subject model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.urls import reverse

from .models import (
    SEVERITY_RANK,
    UNRESOLVED_STATES,
    DecisionRule,
    PlantException,
    Task,
    TaskState,
)

ROLE_MINE = "mine"
ROLE_ALL = "all"
OPEN_TASK_STATES = [TaskState.OPEN, TaskState.IN_PROGRESS]


def _severity_rank() -> Case:
    return Case(
        *[When(severity=severity, then=Value(rank)) for severity, rank in SEVERITY_RANK.items()],
        default=Value(len(SEVERITY_RANK)),
        output_field=IntegerField(),
    )


def exceptions_board(
    *,
    user: Any,
    role: str = ROLE_MINE,
    decision_point: str = "",
    severity: str = "",
    state: str = "",
) -> QuerySet[PlantException]:
    """Unresolved exceptions, critical first, then the soonest SLA (none last).

    `role`: "mine" (owned by one of the user's roles), "all", or a role's id."""
    qs = (
        PlantException.objects.filter(state__in=UNRESOLVED_STATES)
        .select_related("rule", "owner_role", "assignee", "content_type")
        .annotate(severity_rank=_severity_rank())
        .order_by("severity_rank", F("sla_due_at").asc(nulls_last=True), "first_seen_at", "id")
    )
    if role == ROLE_MINE:
        qs = qs.filter(owner_role__in=user.groups.all())
    elif role != ROLE_ALL and str(role).isdigit():
        qs = qs.filter(owner_role_id=int(role))
    if decision_point:
        qs = qs.filter(rule__decision_point=decision_point)
    if severity:
        qs = qs.filter(severity=severity)
    if state:
        qs = qs.filter(state=state)
    return qs


def exceptions_open_count_for(*, user: Any) -> int:
    """Unresolved exceptions owned by one of the user's roles: one COUNT query."""
    return PlantException.objects.filter(
        state__in=UNRESOLVED_STATES, owner_role__in=user.groups.all()
    ).count()


def exception_by_number(*, number: str) -> PlantException | None:
    return (
        PlantException.objects.select_related(
            "rule",
            "owner_role",
            "assignee",
            "content_type",
            "resolution_code",
            "escalation_policy",
        )
        .prefetch_related("events", "tasks__assigned_role", "tasks__assignee")
        .filter(number=number)
        .first()
    )


def board_roles() -> list[Group]:
    return list(Group.objects.order_by("name"))


def board_decision_points() -> list[str]:
    """The decision points of the rules that raise exceptions: the board's "type" filter."""
    return list(
        DecisionRule.objects.filter(effect=DecisionRule.Effect.RAISE_EXCEPTION)
        .order_by("decision_point")
        .values_list("decision_point", flat=True)
        .distinct()
    )


def tasks_for_user(*, user: Any) -> QuerySet[Task]:
    """Open and in-progress tasks assigned to the user or to one of the user's roles."""
    return (
        Task.objects.filter(state__in=OPEN_TASK_STATES)
        .filter(Q(assignee=user) | Q(assigned_role__in=user.groups.all()))
        .select_related("exception", "assigned_role", "assignee", "content_type")
        .order_by(F("due_at").asc(nulls_last=True), "id")
    )


def subject_links(records: Iterable[PlantException | Task]) -> dict[tuple[int, int], str]:
    """{(content type id, object id): page URL} for subjects that have a page: sales
    orders, and change requests (on their order's page). One query per such model
    present, whatever the number of records; `content_type` must be selected."""
    from orders.models import ChangeRequest, SalesOrder

    wanted: dict[str, dict[int, set[int]]] = {"salesorder": {}, "changerequest": {}}
    for record in records:
        ct = record.content_type
        if ct is None or record.object_id is None or ct.app_label != "orders":
            continue
        if ct.model in wanted:
            wanted[ct.model].setdefault(ct.pk, set()).add(record.object_id)
    links: dict[tuple[int, int], str] = {}
    for ct_id, ids in wanted["salesorder"].items():
        for pk, number in SalesOrder.objects.filter(pk__in=ids).values_list("pk", "number"):
            links[(ct_id, pk)] = reverse("orders:detail", args=[number])
    for ct_id, ids in wanted["changerequest"].items():
        rows = ChangeRequest.objects.filter(pk__in=ids).values_list("pk", "order__number")
        for pk, number in rows:
            links[(ct_id, pk)] = reverse("orders:detail", args=[number]) + "#change-requests"
    return links


def subject_link(record: PlantException | Task) -> str:
    """The page of one record's subject, or ""."""
    if record.content_type_id is None:
        return ""
    links = subject_links([record])
    return links.get((record.content_type_id, record.object_id or 0), "")
