#!/usr/bin/env python
"""Benchmark: the KPI plant overview for a 90-day period with 1,000,000 transition-history
rows and 100,000 work orders on Postgres, server time per request (p50/p95/p99) and
queries per request.

    python bench/kpis.py [--quick] [--samples N]

It sets everything up by itself: the database from DATABASE_URL (Postgres; unset, a
dedicated database postgres://postgres@127.0.0.1:5432/mes_bench_kpis, created when
missing), migrations, and a backdated plant history written with bulk inserts by
`kpis.generate.history_generate` (codes starting with KB): 12 work centers on shifts,
240 made items, 60 customers, 100,000 work orders (a quarter to stock, the rest for
sales order lines, about three made lines an order) over the 90 days up to now, with
their operations, reports, labour, downtime, shipments, refused scans, exceptions,
expedites, priority bumps and approved change requests; about 1,000,000 transition rows
(5,000 work orders and about 50,000 rows with --quick). Then the daily snapshots of
every indicator for each of the 90 days (`kpis.services.snapshot_day`, timed: what the
beat task would have written day by day).

The history is kept for the next run when it has the size asked for and was made
today (its days are relative to today). Then, in this process with the production
settings (DEBUG off, cached templates), as a user with the Planner role, it times after
a warm-up: GET of the plant overview (URL name `kpis:overview`) with
?from=<today-89>&to=<today> through the Django test client (middleware, session, the
reads and the whole page). The static-files storage is
the plain one (no collectstatic manifest), the only setting changed. Target: p95 under
500 ms. The figures are printed last as one JSON line and kept in bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from typing import Any

import benchlib
from benchlib import RESULTS_DIR, database_ensure, log, percentile

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mes_bench_kpis"
PREFIX = "KB"
DAYS = 90
WORK_ORDERS_FULL, ROWS_FULL = 100_000, 1_000_000
WORK_ORDERS_QUICK, ROWS_QUICK = 5_000, 50_000
TARGET_P95_MS = 500.0
# Bumped when the generated history changes shape, so an older one is made again.
GENERATOR_VERSION = 1


class _Log:
    """Progress lines from the generator, one a line."""

    def write(self, message: str) -> None:
        log(message)


def _marker(work_orders: int, rows: int) -> str:
    from django.utils import timezone

    return f"v{GENERATOR_VERSION}/{work_orders}/{rows}/{timezone.localdate().isoformat()}"


def _history(work_orders: int, rows: int) -> dict[str, Any]:
    """The generated history and its snapshots, made (or reused when it has the size
    asked for and was made today)."""
    from django.db import connection

    from kpis.generate import history_clear, history_generate
    from kpis.models import KpiSnapshot
    from kpis.services import snapshot_day
    from orders.models import Customer

    marker = f"{PREFIX}-MARK"
    found = Customer.objects.filter(code=marker).values_list("name", flat=True).first()
    made = json.loads(found) if found else {}
    if made.get("marker") == _marker(work_orders, rows):
        log("Reusing the generated history and its snapshots")
        return {"reused": True, **made}
    log("Clearing an earlier generated history ...")
    began = time.perf_counter()
    Customer.objects.filter(code=marker).delete()
    history_clear(prefix=PREFIX)
    KpiSnapshot.objects.all().delete()
    log(f"  cleared in {time.perf_counter() - began:.1f} s")
    log(f"Generating {work_orders:,} work orders, about {rows:,} history rows, {DAYS} days ...")
    began = time.perf_counter()
    written = history_generate(
        days=DAYS,
        work_orders=work_orders,
        transitions=rows,
        prefix=PREFIX,
        seed=1,
        out=_Log(),
    )
    generation_s = time.perf_counter() - began
    log(f"  generated in {generation_s:.1f} s: {written}")
    from django.utils import timezone

    today = timezone.localdate()
    log(f"Snapshotting each of the {DAYS} days ...")
    began = time.perf_counter()
    snapshot_rows = 0
    for offset in range(DAYS - 1, -1, -1):
        snapshot_rows += snapshot_day(day=today - dt.timedelta(days=offset))
    snapshot_s = time.perf_counter() - began
    log(f"  {snapshot_rows} snapshot rows in {snapshot_s:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    made = {
        "marker": _marker(work_orders, rows),
        "generation_s": round(generation_s, 1),
        "snapshot_s": round(snapshot_s, 1),
        "snapshot_rows": snapshot_rows,
    }
    # The marker keeps the run's timings, for the figures of a run that reuses it.
    Customer.objects.create(code=marker, name=json.dumps(made), active=False)
    return {"reused": False, **made, "written": written}


def _planner() -> Any:
    from mes.core.roles import PLANNER

    return benchlib.bench_user("bench-kpis", PLANNER, "Planner")


def _target_url() -> tuple[str, str]:
    """(what is timed, its path): the plant overview."""
    from django.urls import reverse

    return "overview", reverse("kpis:overview")


def _timed(samples: int, warmup: int, call: Any) -> tuple[list[float], list[float]]:
    """Wall-clock and this process's CPU milliseconds per call."""
    for _ in range(warmup):
        call()
    wall, cpu = [], []
    for _ in range(samples):
        began, began_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return wall, cpu


def _measure(samples: int, warmup: int) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.utils import timezone

    today = timezone.localdate()
    query = {"from": (today - dt.timedelta(days=DAYS - 1)).isoformat(), "to": today.isoformat()}
    what, url = _target_url()
    client = Client()
    client.force_login(_planner())

    def get() -> Any:
        response = client.get(url, query)
        assert response.status_code == 200, response.status_code  # noqa: S101
        return response

    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages, ALLOWED_HOSTS=["testserver"]):
        get()  # the session and caches warm first
        with CaptureQueriesContext(connection) as ctx:
            get()
        queries = len(ctx)
        log(f"Timing {what} {url}?from={query['from']}&to={query['to']}: {samples} samples ...")
        wall, cpu = _timed(samples, warmup, get)
    return {
        "measured": what,
        "url": url,
        "queries": queries,
        "p50_ms": round(percentile(wall, 0.50), 2),
        "p95_ms": round(percentile(wall, 0.95), 2),
        "p99_ms": round(percentile(wall, 0.99), 2),
        "max_ms": round(max(wall), 2),
        "cpu_p50_ms": round(percentile(cpu, 0.50), 2),
        "cpu_p95_ms": round(percentile(cpu, 0.95), 2),
    }


def _counts() -> dict[str, int]:
    from mes.core.models import TransitionLog
    from planning.models import WorkOrder

    return {
        "transition_rows": TransitionLog.objects.count(),
        "work_orders": WorkOrder.objects.count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 work orders, under a minute")
    parser.add_argument("--samples", type=int, default=0, help="timed requests")
    args = parser.parse_args()
    work_orders, rows = (
        (WORK_ORDERS_QUICK, ROWS_QUICK) if args.quick else (WORK_ORDERS_FULL, ROWS_FULL)
    )
    samples = args.samples or (15 if args.quick else 60)
    warmup = 2 if args.quick else 5

    url = benchlib.database_url(DEFAULT_DATABASE_URL)
    database_ensure(url)
    began = time.perf_counter()
    benchlib.django_in_process(url, "mes-bench-kpis-")
    history = _history(work_orders, rows)
    measured = _measure(samples, warmup)
    counts = _counts()
    figures = {
        "benchmark": "kpis",
        "quick": args.quick,
        "database": url.rsplit("/", 1)[-1],
        "samples": samples,
        "period_days": DAYS,
        "history": history,
        **measured,
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": measured["measured"] == "overview" and measured["p95_ms"] < TARGET_P95_MS,
        "total_s": round(time.perf_counter() - began, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "overview_p95_ms": measured["p95_ms"],
        "overview_p50_ms": measured["p50_ms"],
        "generation_s": history.get("generation_s"),
        "snapshot_s": history.get("snapshot_s"),
        **counts,
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"kpis-{stamp}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
