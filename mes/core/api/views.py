"""Core API: the cursor feed of events."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.core import selectors
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
