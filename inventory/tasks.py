"""Beat tasks of the inventory app: one service call each."""

from __future__ import annotations

from celery import shared_task

from .services.receipts import receipts_report_delayed


@shared_task(name="inventory.tasks.report_delayed_receipts")
def report_delayed_receipts() -> int:
    """Expected receipts past their date: `material.delayed`, once per receipt per day."""
    return receipts_report_delayed()
