"""Beat task: keep the daily KPI snapshots of yesterday and today up to date."""

from celery import shared_task

from . import services


@shared_task(name="kpis.tasks.snapshot_kpis")
def snapshot_kpis() -> dict[str, int]:
    return services.snapshot_recent()
