"""Beat and worker tasks of the exceptions app: ids in, one service call each."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="exceptions.tasks.escalate_exceptions")
def escalate_exceptions() -> int:
    return services.exceptions_escalate_due()
