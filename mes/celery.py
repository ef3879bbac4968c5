"""The Celery app: the same code on kombu's filesystem transport or on Redis."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings.local")

app = Celery("mes")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_periodic_tasks(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    sender.add_periodic_task(
        settings.OUTBOX_REDRIVE_INTERVAL_SECONDS,
        sender.signature("mes.core.tasks.redrive_events"),
        name="re-drive unprocessed events",
    )
    sender.add_periodic_task(
        60 * 60,
        sender.signature("mes.core.tasks.prune_processed_events"),
        name="prune processed events",
    )
    sender.add_periodic_task(
        60,
        sender.signature("exceptions.tasks.escalate_exceptions"),
        name="escalate exceptions past their SLA",
    )
    sender.add_periodic_task(
        60 * 60,
        sender.signature("mes.core.tasks.prune_idempotency_records"),
        name="prune idempotency records",
    )
    sender.add_periodic_task(
        settings.DELAYED_RECEIPTS_INTERVAL_SECONDS,
        sender.signature("inventory.tasks.report_delayed_receipts"),
        name="report expected receipts past their date",
    )
    sender.add_periodic_task(
        settings.DOWNTIME_ANNOUNCE_INTERVAL_SECONDS,
        sender.signature("planning.tasks.announce_downtimes"),
        name="announce open downtimes with their duration",
    )
    sender.add_periodic_task(
        60 * 60,
        sender.signature("planning.tasks.refresh_priorities"),
        name="refresh work-order priorities",
    )
    sender.add_periodic_task(
        60 * 60,
        sender.signature("kpis.tasks.snapshot_kpis"),
        name="snapshot KPIs for yesterday and today so far",
    )
