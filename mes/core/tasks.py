"""Tasks take ids, call one service, and return quietly when the row is gone."""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task
from celery.signals import task_postrun
from django.db import InterfaceError, OperationalError, connections

from . import services
from .events import enqueue_after_commit  # noqa: F401 - re-exported for apps


@task_postrun.connect
def _close_unusable_connections(**kwargs: Any) -> None:
    """After each task, what Django does after each request: drop a connection that had
    errors and no longer answers, was left in a transaction, or is past CONN_MAX_AGE; keep
    a healthy one for the next task (settings.CELERY_DB_REUSE_MAX stops Celery's own
    fixup from closing it after every task). A healthy connection is not pinged again
    before the next task: that would cost a round trip per event."""
    task = kwargs.get("task")
    if task is not None and getattr(task.request, "is_eager", False):
        return  # run inside the caller (tests): its connection and transaction are not ours
    now = time.monotonic()
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        if (
            conn.errors_occurred
            or conn.get_autocommit() != conn.settings_dict["AUTOCOMMIT"]
            or (conn.close_at is not None and now >= conn.close_at)
        ):
            conn.close_if_unusable_or_obsolete()


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
