"""Tasks take ids, call one service, and return quietly when the row is gone."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services
from .events import enqueue_after_commit  # noqa: F401 - re-exported for apps


@shared_task(
    name="mes.core.tasks.process_event",
    acks_late=True,
    # A database that is briefly unreachable: retry with exponential backoff (jittered,
    # at most 5 minutes apart); the outbox re-drive catches what still fails after that.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def process_event(event_id: int) -> None:
    services.event_process(event_id=event_id)


@shared_task(name="mes.core.tasks.redrive_events")
def redrive_events() -> int:
    ids = services.events_due_for_redrive()
    for event_id in ids:
        process_event.delay(event_id)
    return len(ids)


@shared_task(name="mes.core.tasks.prune_processed_events")
def prune_processed_events() -> int:
    return services.events_prune()


@shared_task(name="mes.core.tasks.prune_idempotency_records")
def prune_idempotency_records() -> int:
    return services.idempotency_records_prune()
