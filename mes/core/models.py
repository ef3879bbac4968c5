"""Cross-cutting records every app writes: transition history, governed-field changes,
reason codes, the event outbox, API clients and idempotency records."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReasonCode(models.Model):
    """Why a governed field changed or a transition was forced; admins keep the list."""

    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("reason code")

    def __str__(self) -> str:
        return f"{self.code} – {self.label}"


class TransitionLog(models.Model):
    """One row per state-machine transition of any record, kept for good (KPIs)."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    object_repr = models.CharField(max_length=200)
    field = models.CharField(max_length=50, default="state")
    transition = models.CharField(max_length=60)
    from_state = models.CharField(max_length=40)
    to_state = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    reason_code = models.ForeignKey(
        ReasonCode, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "at"], name="transition_subject_idx"),
            models.Index(
                fields=["content_type", "to_state", "at"], name="transition_kind_period_idx"
            ),
            models.Index(fields=["at"], name="transition_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.object_repr}: {self.from_state} -> {self.to_state}"


class FieldChange(models.Model):
    """Old and new value of a governed field, with who, when and why."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    object_repr = models.CharField(max_length=200)
    field = models.CharField(max_length=60)
    old_value = models.JSONField(null=True)
    new_value = models.JSONField(null=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    reason_code = models.ForeignKey(ReasonCode, on_delete=models.PROTECT, related_name="+")
    reason_text = models.TextField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(
                fields=["content_type", "object_id", "at"], name="fieldchange_subject_idx"
            ),
            models.Index(fields=["content_type", "field", "at"], name="fieldchange_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.object_repr}.{self.field}: {self.old_value} -> {self.new_value}"


class Event(models.Model):
    """The outbox: written in the same transaction as the change it reports."""

    type = models.CharField(max_length=80, db_index=True)
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject_repr = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["occurred_at"],
                name="event_unprocessed_idx",
                condition=models.Q(processed_at__isnull=True),
            ),
            models.Index(fields=["content_type", "object_id"], name="event_subject_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type} {self.subject_repr}"


class ApiClient(models.Model):
    """An integration client (an ERP, a gateway): its own key, scopes and service user."""

    name = models.CharField(max_length=100, unique=True)
    key_prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_client"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("API client")

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The first response to a POST with an Idempotency-Key, replayed on retries."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="idempotency_key_per_client")
        ]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.key}"
