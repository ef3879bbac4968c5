"""Core API: the cursor feed of events, and posting events from outside systems."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exceptions.api.serializers import ExternalEventAccepted, ExternalEventInput
from exceptions.webhooks import event_post_external
from mes.core import selectors
from mes.core.api.idempotency import idempotent
from mes.core.models import Event


class EventSerializer(serializers.ModelSerializer):
    subject_type = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = [
            "id",
            "type",
            "subject_type",
            "object_id",
            "subject_repr",
            "payload",
            "occurred_at",
            "processed_at",
        ]

    def get_subject_type(self, obj: Event) -> str | None:
        from django.contrib.contenttypes.models import ContentType

        if obj.content_type_id is None:
            return None
        ct = ContentType.objects.get_for_id(obj.content_type_id)
        return f"{ct.app_label}.{ct.model}"


class EventFeedView(APIView):
    """Events after a cursor, oldest first: poll with the last id you have seen."""

    read_scope = "events:read"
    write_scope = "events:write"

    @extend_schema(
        parameters=[
            OpenApiParameter("after", int, description="Return events with id greater than this."),
            OpenApiParameter("limit", int, description="At most this many (1-500, default 100)."),
        ],
        responses=inline_serializer(
            "EventFeed",
            {
                "results": EventSerializer(many=True),
                "next_after": serializers.IntegerField(),
                "has_more": serializers.BooleanField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        errors = {}
        try:
            after = int(request.query_params.get("after", 0))
            if after < 0:
                raise ValueError
        except ValueError:
            errors["after"] = ["Give the id of the last event you have, or 0."]
        try:
            limit = int(request.query_params.get("limit", 100))
            if not 1 <= limit <= 500:
                raise ValueError
        except ValueError:
            errors["limit"] = ["Limit must be a whole number from 1 to 500."]
        if errors:
            raise serializers.ValidationError(errors)
        events = selectors.events_after(after_id=after, limit=limit + 1)
        has_more = len(events) > limit
        events = events[:limit]
        return Response(
            {
                "results": EventSerializer(events, many=True).data,
                "next_after": events[-1].pk if events else after,
                "has_more": has_more,
            }
        )

    @extend_schema(
        request=ExternalEventInput,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Retry-safe POST: a replay returns the first response.",
            )
        ],
        responses={
            202: ExternalEventAccepted,
            400: OpenApiResponse(description="Problem details (application/problem+json)"),
        },
        description="Post an event from an outside system (ERP, machine gateway). Only "
        "external types are accepted; the payload must match the type's schema. The rules "
        "run in the worker; the answer is 202 with the event's id.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        # The exceptions app owns the catalogue's external side; core only routes to it.
        data = ExternalEventInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        event = event_post_external(
            type=v["type"],
            subject_ref=v["subject"],
            payload=v["payload"],
            occurred_at=v["occurred_at"],
            user=request.user,
        )
        body = {"id": event.pk, "type": event.type, "occurred_at": event.occurred_at}
        return Response(
            ExternalEventAccepted({**body, "status": "accepted"}).data,
            status=status.HTTP_202_ACCEPTED,
        )
