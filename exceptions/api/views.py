"""Exceptions, tasks and webhook subscriptions for integration clients: thin views that
parse, call one service and render. Posting events lives on the core event feed view
(`POST /api/v1/events/`), which calls `exceptions.webhooks.event_post_external`."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.core.api.idempotency import idempotent
from mes.core.api.schema import IDEMPOTENCY_HEADER, PROBLEM
from mes.core.models import TransitionLog
from mes.core.transitions import transitions_from_state

from .. import services, webhooks
from ..models import (
    ExceptionEvent,
    ExceptionState,
    PlantException,
    Severity,
    Task,
    TaskState,
)
from . import serializers as s


def _exception_queryset() -> QuerySet[PlantException]:
    return PlantException.objects.select_related(
        "owner_role", "assignee", "rule", "resolution_code", "content_type"
    )


def _get_exception(number: str) -> PlantException:
    return get_object_or_404(_exception_queryset(), number=number)


def _allowed_transitions(exception: PlantException, user: Any) -> list[str]:
    """What this client may do next. Resolve counts when its only unmet condition is the
    resolution code and note that the resolve request itself brings."""
    names = {
        t.name
        for t in transitions_from_state(exception)
        if not t.custom.get("internal")
        and t.has_perm(exception, user)
        and (t.custom.get("needs_reason") or all(c(exception) for c in t.conditions))
    }
    return [name for name in ("acknowledge", "start", "resolve", "reopen") if name in names]


def _exception_detail(request: Request, number: str) -> Response:
    exception = get_object_or_404(
        _exception_queryset().prefetch_related(
            Prefetch("events", queryset=ExceptionEvent.objects.order_by("occurred_at", "id")),
            Prefetch("tasks", queryset=Task.objects.order_by("id")),
        ),
        number=number,
    )
    allowed = _allowed_transitions(exception, request.user)
    data = s.ExceptionDetailOutput(exception, context={"allowed_transitions": allowed}).data
    return Response(data)


class ExceptionFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=ExceptionState.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    owner_role = django_filters.CharFilter(field_name="owner_role__name", help_text="A role name.")
    rule = django_filters.CharFilter(field_name="rule__name", help_text="A rule's name.")
    subject = django_filters.CharFilter(
        field_name="subject_repr", help_text="The subject as shown, e.g. an order number."
    )
    updated_after = django_filters.IsoDateTimeFilter(
        method="filter_updated_after",
        help_text="Seen again or moved to another state after this time.",
    )

    class Meta:
        model = PlantException
        fields = ["state", "severity", "owner_role", "rule", "subject"]

    def filter_updated_after(self, queryset, name, value):  # type: ignore[no-untyped-def]
        moved = TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(PlantException),
            object_id=OuterRef("pk"),
            at__gt=value,
        )
        return queryset.filter(Q(last_seen_at__gt=value) | Exists(moved))


class ExceptionListView(generics.GenericAPIView):
    """Exceptions, most recently seen first."""

    read_scope = "exceptions:read"
    filterset_class = ExceptionFilter
    serializer_class = s.ExceptionOutput
    ordering_fields = ["last_seen_at", "first_seen_at", "sla_due_at", "number"]
    ordering = ["-last_seen_at", "-id"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _exception_queryset()

    @extend_schema(responses=s.ExceptionOutput(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.ExceptionOutput(page, many=True).data)


class ExceptionDetailView(APIView):
    read_scope = "exceptions:read"

    @extend_schema(responses={200: s.ExceptionDetailOutput, 404: PROBLEM})
    def get(self, request: Request, number: str) -> Response:
        return _exception_detail(request, number)


class ExceptionAcknowledgeView(APIView):
    """Acknowledge an open or escalated exception; `409` names the current state and the
    allowed transitions."""

    read_scope = "exceptions:read"
    write_scope = "exceptions:write"

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: s.ExceptionDetailOutput, 403: PROBLEM, 404: PROBLEM, 409: PROBLEM},
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        services.exception_acknowledge(exception=_get_exception(number), user=request.user)
        return _exception_detail(request, number)


class ExceptionResolveView(APIView):
    """Resolve with a resolution code (a reason code) and a note saying what was done."""

    read_scope = "exceptions:read"
    write_scope = "exceptions:write"

    @extend_schema(
        request=s.ResolveInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            200: s.ExceptionDetailOutput,
            400: PROBLEM,
            403: PROBLEM,
            404: PROBLEM,
            409: PROBLEM,
        },
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        data = s.ResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.exception_resolve(
            exception=_get_exception(number),
            user=request.user,
            resolution_code=data.validated_data["resolution_code"],
            note=data.validated_data["note"],
        )
        return _exception_detail(request, number)


class ExceptionReopenView(APIView):
    """Reopen a resolved exception whose resolution did not hold, saying why. `409` when it
    is not resolved (naming the allowed transitions) or when another unresolved exception
    now holds its rule and subject (naming that exception)."""

    read_scope = "exceptions:read"
    write_scope = "exceptions:write"

    @extend_schema(
        request=s.ReopenInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            200: s.ExceptionDetailOutput,
            400: PROBLEM,
            403: PROBLEM,
            404: PROBLEM,
            409: PROBLEM,
        },
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        data = s.ReopenInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.exception_reopen(
            exception=_get_exception(number),
            actor=request.user,
            reason=data.validated_data["reason"],
        )
        return _exception_detail(request, number)


class TaskFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=TaskState.choices)
    assigned_role = django_filters.CharFilter(
        field_name="assigned_role__name", help_text="A role name."
    )
    exception = django_filters.CharFilter(field_name="exception__number")

    class Meta:
        model = Task
        fields = ["state", "assigned_role", "exception"]


def _task_queryset() -> QuerySet[Task]:
    return Task.objects.select_related(
        "exception", "rule", "assigned_role", "assignee", "content_type"
    )


class TaskListView(generics.GenericAPIView):
    """Tasks, soonest due first."""

    read_scope = "exceptions:read"
    filterset_class = TaskFilter
    serializer_class = s.TaskOutput
    ordering_fields = ["due_at", "created_at", "number"]
    ordering = ["due_at", "id"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _task_queryset()

    @extend_schema(responses=s.TaskOutput(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.TaskOutput(page, many=True).data)


class TaskDetailView(APIView):
    read_scope = "exceptions:read"

    @extend_schema(responses={200: s.TaskOutput, 404: PROBLEM})
    def get(self, request: Request, number: str) -> Response:
        task = get_object_or_404(_task_queryset(), number=number)
        return Response(s.TaskOutput(task).data)


def _subscription_data(subscription) -> dict:  # type: ignore[no-untyped-def]
    return s.WebhookSubscriptionOutput(subscription).data


class WebhookListCreateView(APIView):
    """The calling client's webhook subscriptions. Each delivery is a POST of the event as
    JSON with `X-MES-Event`, `X-MES-Delivery` and `X-MES-Signature: sha256=<hex HMAC-SHA256
    of the body with the secret>`; failures retry with backoff (6 attempts)."""

    read_scope = "webhooks:write"
    write_scope = "webhooks:write"

    @extend_schema(responses=s.WebhookSubscriptionOutput(many=True))
    def get(self, request: Request) -> Response:
        subscriptions = webhooks.webhook_subscriptions_of(client=request.auth)
        return Response(s.WebhookSubscriptionOutput(subscriptions, many=True).data)

    @extend_schema(
        request=s.WebhookSubscriptionInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.WebhookSubscriptionCreated, 400: PROBLEM},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.WebhookSubscriptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        subscription, secret = webhooks.webhook_subscription_create(
            client=request.auth,
            url=v["url"],
            event_types=v["event_types"],
            name=v["name"],
            secret=v["secret"],
        )
        body = {**_subscription_data(subscription), "secret": secret}
        return Response(
            body,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/webhooks/{subscription.pk}/"},
        )


class WebhookDetailView(APIView):
    read_scope = "webhooks:write"
    write_scope = "webhooks:write"

    @extend_schema(responses={204: None, 404: PROBLEM})
    def delete(self, request: Request, pk: int) -> Response:
        webhooks.webhook_subscription_delete(client=request.auth, subscription_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
