"""Shared reads of core records."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet

from .models import Event, FieldChange, TransitionLog


def events_list(*, type_prefix: str = "", status: str = "") -> QuerySet[Event]:
    qs = Event.objects.select_related("actor").order_by("-id")
    if type_prefix:
        qs = qs.filter(type__startswith=type_prefix)
    if status == "pending":
        qs = qs.filter(processed_at__isnull=True)
    elif status == "processed":
        qs = qs.filter(processed_at__isnull=False)
    elif status == "failed":
        qs = qs.filter(processed_at__isnull=True).exclude(last_error="")
    return qs


def events_after(*, after_id: int, limit: int) -> list[Event]:
    return list(Event.objects.filter(pk__gt=after_id).order_by("id")[:limit])


def events_recent(*, limit: int = 20) -> list[Event]:
    return list(Event.objects.select_related("actor").order_by("-id")[:limit])


def events_backlog() -> dict[str, int]:
    pending = Event.objects.filter(processed_at__isnull=True)
    return {
        "pending": pending.count(),
        "failing": pending.exclude(last_error="").count(),
    }


def history_for(instances: list[models.Model]) -> dict[str, list[Any]]:
    """Transitions and governed changes of several records of one or more models."""
    transitions: list[TransitionLog] = []
    changes: list[FieldChange] = []
    by_type: dict[int, list[int]] = {}
    for obj in instances:
        ct = ContentType.objects.get_for_model(obj)
        by_type.setdefault(ct.pk, []).append(obj.pk)
    if by_type:
        q = models.Q(pk__in=[])
        for ct_id, ids in by_type.items():
            q |= models.Q(content_type_id=ct_id, object_id__in=ids)
        transitions = list(
            TransitionLog.objects.filter(q).select_related("actor", "reason_code", "content_type")
        )
        changes = list(
            FieldChange.objects.filter(q).select_related("actor", "reason_code", "content_type")
        )
    return {"transitions": transitions, "changes": changes}


def broker_status() -> str:
    """'ok', or what is wrong with the Celery broker."""
    from mes.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means the broker is not usable
        return f"down: {exc.__class__.__name__}"


def broker_url_display() -> str:
    url = settings.CELERY_BROKER_URL
    return url.split("@")[-1] if "@" in url else url
