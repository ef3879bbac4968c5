"""The event catalogue and the one way to emit an event (the outbox)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from .models import Event

logger = logging.getLogger(__name__)


PAYLOAD_TYPES = ("string", "integer", "number", "boolean", "date", "datetime", "object", "list")


@dataclass(frozen=True)
class EventType:
    """One entry of the catalogue. `schema` maps payload fields to a type in
    PAYLOAD_TYPES; a trailing "?" marks a field as optional. `external` types may be
    posted by outside systems (ERP, machine gateways) through the API."""

    name: str
    subject: str
    description: str
    payload_fields: Sequence[str] = field(default_factory=tuple)
    schema: Mapping[str, str] = field(default_factory=dict)
    external: bool = False


EVENT_TYPES: dict[str, EventType] = {}


@dataclass
class _FollowUps:
    """The events emitted while the worker processes another one, and how many more of
    them that worker will still handle in its transaction."""

    events: list[Event]
    room: int


_FOLLOW_UPS: ContextVar[_FollowUps | None] = ContextVar("mes_follow_up_events", default=None)
# Handlers run in the worker for each event, in one transaction with marking it processed.
EVENT_HANDLERS: list[Callable[[Event], None]] = []


def register_event_type(
    name: str,
    *,
    subject: str,
    description: str,
    payload_fields: Sequence[str] = (),
    schema: Mapping[str, str] | None = None,
    external: bool = False,
) -> EventType:
    schema = dict(schema or {})
    unknown = {t.rstrip("?") for t in schema.values()} - set(PAYLOAD_TYPES)
    if unknown:
        raise ValueError(f"{name}: unknown payload types {sorted(unknown)}")
    fields = tuple(payload_fields) or tuple(schema)
    event_type = EventType(name, subject, description, fields, schema, external)
    EVENT_TYPES[name] = event_type
    return event_type


def register_event_handler(handler: Callable[[Event], None]) -> Callable[[Event], None]:
    if handler not in EVENT_HANDLERS:
        EVENT_HANDLERS.append(handler)
    return handler


def enqueue_after_commit(task: Any, *ids: int) -> None:
    """Publish a task once the surrounding transaction commits, never inside it.

    A broker that is down is logged, not raised: the outbox re-drive publishes later.
    """

    def publish() -> None:
        try:
            task.delay(*ids)
        except Exception as exc:  # noqa: BLE001 - any broker failure: the outbox re-drives
            logger.warning("could not publish %s%s: %s", task.name, ids, exc)

    transaction.on_commit(publish)


def event_emit(
    *,
    type: str,  # noqa: A002
    subject: models.Model | None = None,
    payload: dict[str, Any] | None = None,
    actor: Any = None,
    occurred_at: dt.datetime | None = None,
) -> Event:
    """Write an event in the caller's transaction and process it after commit."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}: register it first")
    from .tasks import process_event

    collector = _FOLLOW_UPS.get()
    if collector is not None and collector.room <= 0:
        collector = None
    # Emitted while the worker processes another event, with room left: that worker
    # handles this one in the same transaction (no broker round trip), so it is written
    # processed already: if a handler fails, all of it rolls back together.
    handled_here = collector is not None
    now = timezone.now()
    event = Event.objects.create(
        type=type,
        content_type=ContentType.objects.get_for_model(subject) if subject is not None else None,
        object_id=subject.pk if subject is not None else None,
        subject_repr=str(subject)[:200] if subject is not None else "",
        payload=payload or {},
        actor=actor if getattr(actor, "pk", None) else None,
        occurred_at=occurred_at or now,
        processed_at=now if handled_here else None,
        attempts=1 if handled_here else 0,
    )
    if collector is not None:
        collector.room -= 1
        collector.events.append(event)
    else:
        enqueue_after_commit(process_event, event.pk)
    return event


@contextmanager
def collecting_follow_up_events(limit: int = 20) -> Iterator[list[Event]]:
    """Collect up to `limit` events emitted inside for the caller to handle in its
    transaction (written processed); any more go through the broker as usual."""
    collector = _FollowUps(events=[], room=limit)
    token = _FOLLOW_UPS.set(collector)
    try:
        yield collector.events
    finally:
        _FOLLOW_UPS.reset(token)


register_event_type(
    "record.field_changed",
    subject="any governed record",
    description="A governed field changed through the governed-field service.",
    payload_fields=("field", "old", "new", "reason_code", "reason_text"),
)
