"""Input serializers parse and check shape; output serializers render. No business rules."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import PlantException, Task
from ..webhooks import WEBHOOK_EVENT_TYPES


class SubjectOutput(serializers.Serializer):
    type = serializers.CharField(help_text="app_label.model, e.g. orders.salesorder")
    id = serializers.IntegerField()
    repr = serializers.CharField(help_text="e.g. the order number")


def _subject(obj: PlantException | Task) -> dict[str, Any] | None:
    if obj.content_type_id is None:
        return None
    ct = obj.content_type
    return {"type": f"{ct.app_label}.{ct.model}", "id": obj.object_id, "repr": obj.subject_repr}


class ExceptionOutput(serializers.Serializer):
    # Declared field by field: lists render up to 500 of these.
    number = serializers.CharField()
    title = serializers.CharField()
    state = serializers.CharField()
    severity = serializers.CharField()
    owner_role = serializers.CharField(source="owner_role.name", default=None)
    assignee = serializers.CharField(source="assignee.username", default=None)
    rule = serializers.CharField(source="rule.name", default=None)
    subject = serializers.SerializerMethodField()
    occurrences = serializers.IntegerField()
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    sla_due_at = serializers.DateTimeField()
    sla_breached_at = serializers.DateTimeField()
    escalation_level = serializers.IntegerField()
    acknowledged_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField()
    resolution_code = serializers.CharField(source="resolution_code.code", default=None)
    resolution_note = serializers.CharField()

    @extend_schema_field(SubjectOutput(allow_null=True))
    def get_subject(self, obj: PlantException) -> dict[str, Any] | None:
        return _subject(obj)


class ExceptionEventOutput(serializers.Serializer):
    event_id = serializers.IntegerField()
    event_type = serializers.CharField()
    occurred_at = serializers.DateTimeField()


class ExceptionDetailOutput(ExceptionOutput):
    events = ExceptionEventOutput(many=True, help_text="The events behind the exception.")
    tasks = serializers.SerializerMethodField(help_text="Numbers of its tasks.")
    allowed_transitions = serializers.SerializerMethodField()

    def get_tasks(self, obj: PlantException) -> list[str]:
        return [task.number for task in obj.tasks.all()]

    def get_allowed_transitions(self, obj: PlantException) -> list[str]:
        return self.context.get("allowed_transitions", [])


class ResolveInput(serializers.Serializer):
    resolution_code = serializers.CharField(max_length=40, help_text="A reason code.")
    note = serializers.CharField(help_text="What was done.")


class ReopenInput(serializers.Serializer):
    reason = serializers.CharField(help_text="Why the resolution did not hold.")


class TaskOutput(serializers.Serializer):
    number = serializers.CharField()
    title = serializers.CharField()
    state = serializers.CharField()
    instructions = serializers.CharField()
    checklist = serializers.ListField(child=serializers.DictField())
    required_inputs = serializers.ListField(child=serializers.DictField())
    exception = serializers.CharField(source="exception.number", default=None)
    rule = serializers.CharField(source="rule.name", default=None)
    subject = serializers.SerializerMethodField()
    assigned_role = serializers.CharField(source="assigned_role.name", default=None)
    assignee = serializers.CharField(source="assignee.username", default=None)
    due_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    done_at = serializers.DateTimeField()

    @extend_schema_field(SubjectOutput(allow_null=True))
    def get_subject(self, obj: Task) -> dict[str, Any] | None:
        return _subject(obj)


class SubjectRefInput(serializers.Serializer):
    type = serializers.CharField(max_length=40, help_text="order or item")
    key = serializers.CharField(
        max_length=64, help_text="An order's number or ERP id; an item's SKU."
    )


class ExternalEventInput(serializers.Serializer):
    type = serializers.CharField(max_length=80, help_text="An external event type.")
    subject = SubjectRefInput(required=False, allow_null=True, default=None)
    payload = serializers.DictField(
        default=dict, help_text="Checked against the event type's schema."
    )
    occurred_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When it happened; now if left out.",
    )


class ExternalEventAccepted(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    status = serializers.CharField()


class WebhookSubscriptionInput(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=80),
        help_text=f"Event types, e.g. {', '.join(WEBHOOK_EVENT_TYPES)}.",
    )
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    secret = serializers.CharField(
        max_length=128,
        required=False,
        allow_blank=True,
        default="",
        help_text="Signing secret (at least 16 characters); generated when left out.",
    )


class WebhookSubscriptionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class WebhookSubscriptionCreated(WebhookSubscriptionOutput):
    secret = serializers.CharField(
        help_text="Verify X-MES-Signature (sha256=HMAC-SHA256 of the body) with it. Shown once."
    )
