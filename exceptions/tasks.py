"""Beat and worker tasks of the exceptions app: ids in, one service call each."""

from __future__ import annotations

from celery import shared_task

from . import services, webhooks


@shared_task(name="exceptions.tasks.escalate_exceptions")
def escalate_exceptions() -> int:
    return services.exceptions_escalate_due()


@shared_task(
    name="exceptions.tasks.deliver_webhook",
    bind=True,
    acks_late=True,
    max_retries=webhooks.WEBHOOK_MAX_ATTEMPTS - 1,
)
def deliver_webhook(self, delivery_id: int) -> bool:  # type: ignore[no-untyped-def]
    """One signed POST; a failure retries with exponential backoff, the last marks it failed."""
    outcome = webhooks.webhook_deliver(
        delivery_id=delivery_id, last_attempt=self.request.retries >= self.max_retries
    )
    if outcome.retry:
        raise self.retry(countdown=webhooks.webhook_retry_countdown(self.request.retries))
    return outcome.delivered


@shared_task(name="exceptions.tasks.noop", ignore_result=False)
def noop() -> None:
    """Does nothing: bench/events.py times its round trip as the machine's baseline."""
