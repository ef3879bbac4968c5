"""Planning's Celery tasks: the schedule runs in a worker, by request, after events that
change the picture, and each morning with fresh priorities."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from exceptions.services import register_effect_handler
from mes.core.actors import SYSTEM
from mes.core.events import register_event_handler
from mes.core.models import Event

# Events after which the schedule is out of date.
RESCHEDULE_ON = frozenset(
    {
        "workcenter.down",
        "workcenter.up",
        "material.delayed",
        "workorder.released",
        "workorder.changed",
        "order.changed",
    }
)
PENDING_KEY = "planning:schedule-requested"


def schedule_request(*, trigger: str) -> None:
    """Ask for a run once this transaction commits; requests a few seconds apart share
    one run (a burst of events is one reschedule, not many)."""
    if not settings.SCHEDULE_AUTOMATICALLY:
        return
    delay = settings.SCHEDULE_DEBOUNCE_SECONDS

    def enqueue() -> None:
        if delay and not cache.add(PENDING_KEY, trigger, timeout=delay * 4):
            return
        run_schedule.apply_async(kwargs={"trigger": trigger}, countdown=delay)

    transaction.on_commit(enqueue)


@register_event_handler
def reschedule_after(event: Event) -> None:
    if event.type in RESCHEDULE_ON:
        schedule_request(trigger=f"{event.type}: {event.subject_repr}")


def make_work_orders_by_rule(*, rule: Any, subject: Any, context: Any, event: Any) -> None:
    """The `make_work_orders` effect: a rule on order.confirmed makes them (idempotent:
    lines that already have a work order are skipped)."""
    from orders.models import SalesOrder

    from .services.work_orders import work_orders_for_sales_order

    if isinstance(subject, SalesOrder):
        work_orders_for_sales_order(order=subject, user=SYSTEM)


register_effect_handler("make_work_orders", make_work_orders_by_rule)


@shared_task(name="planning.tasks.run_schedule", acks_late=True)
def run_schedule(trigger: str = "on demand", user_id: int | None = None) -> int:
    from django.contrib.auth import get_user_model

    from .services.scheduling import schedule_run

    cache.delete(PENDING_KEY)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return schedule_run(trigger=trigger, user=user).pk


@shared_task(name="planning.tasks.refresh_priorities")
def refresh_priorities() -> int:
    from .services.work_orders import priorities_refresh

    return priorities_refresh()


@shared_task(name="planning.tasks.announce_downtimes")
def announce_downtimes() -> int:
    from .services.floor import downtimes_progress

    return downtimes_progress()
