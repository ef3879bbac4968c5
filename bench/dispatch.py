#!/usr/bin/env python
"""Benchmark: the floor tablet's dispatch list with 5,000 open operations on Postgres,
server time per request (p50/p95/p99) and queries per request.

    python bench/dispatch.py [--quick] [--samples N]

It sets everything up by itself: the database from DATABASE_URL (Postgres; unset, a
dedicated database postgres://postgres@127.0.0.1:5432/mes_bench_dispatch, created when
missing), migrations, and a generated plant (`planning.generate.generate_planning_plant`:
10 work centers, 4 changeover families, released work orders whose 5,000 operations are
open; 500 with --quick). The plant is kept for the next run when it has the size asked
for. Each work center's operations get a dispatch rank and a scheduled start in priority
order (what a schedule run writes back), and one operation per work center is running, so
the list is ordered the way the floor sees it.

Then, in this process with the production settings (DEBUG off, cached templates), it
times three things, the work centers taken in turn, after a warm-up:

  selector  planning.selectors.dispatch_list(work_center=...)      the shared read
  page      GET /planning/floor/<code>/ through the Django test client: middleware,
            session, the view and the whole dispatch page's template
  poll      the same with HX-Request and ?poll=1: the partial the tablet fetches every
            few seconds to refresh itself

Server time is the time of the call in this process (no network, no WSGI server). The
static-files storage is the plain one (no collectstatic manifest), the only setting
changed. Queries are counted for each work center's page; they must be the same for all.
Target: page p95 under 50 ms. The figures are printed last as one JSON line
(`dispatch_p95_ms` is the page's p95) and kept in bench/results/.
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

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mes_bench_dispatch"
PREFIX = "BD"
WORK_CENTERS = 10
FAMILIES = 4
OPERATIONS_FULL = 5_000
OPERATIONS_QUICK = 500
TARGET_P95_MS = 50.0


def _plant(operations: int) -> dict[str, Any]:
    """The generated plant, made (or reused when it has `operations` open operations)."""
    from planning.generate import describe, generate_planning_plant, planning_plant_clear
    from planning.models import Operation, WorkCenter

    existing = Operation.objects.filter(work_order__number__startswith=f"{PREFIX}-").count()
    centers = WorkCenter.objects.filter(code__startswith=f"{PREFIX}-").count()
    if existing == operations and centers == WORK_CENTERS:
        log(f"Reusing the generated plant ({existing} operations)")
        return {"reused": True, "operations": existing}
    log(f"Generating a plant: {WORK_CENTERS} work centers, {operations} operations ...")
    began = time.perf_counter()
    planning_plant_clear(prefix=PREFIX)
    plant = generate_planning_plant(
        work_centers=WORK_CENTERS,
        families=FAMILIES,
        operations=operations,
        seed=7,
        prefix=PREFIX,
    )
    log(f"  generated in {time.perf_counter() - began:.1f} s: {describe(plant)}")
    return {"reused": False, **describe(plant)}


def _sequence() -> None:
    """Dispatch ranks and scheduled starts in priority order per work center, and one
    running operation each, as a schedule run and the floor leave them."""
    from django.db import transaction
    from django.utils import timezone

    from planning.models import Operation, OperationState, WorkCenter

    now = timezone.now().replace(second=0, microsecond=0)
    with transaction.atomic():
        for wc in WorkCenter.objects.filter(code__startswith=f"{PREFIX}-"):
            ops = list(
                Operation.objects.filter(work_center=wc)
                .select_related("work_order")
                .order_by("-work_order__priority_score", "work_order__due_date", "id")
            )
            cursor = now
            for rank, op in enumerate(ops, start=1):
                minutes = int(op.setup_minutes + op.run_minutes_per_unit * op.quantity_planned)
                op.dispatch_rank = rank
                op.scheduled_start = cursor
                op.scheduled_end = cursor + dt.timedelta(minutes=minutes)
                op.scheduled_machine = 0
                op.started_at = None
                cursor = op.scheduled_end
            Operation.objects.bulk_update(
                ops,
                [
                    "dispatch_rank",
                    "scheduled_start",
                    "scheduled_end",
                    "scheduled_machine",
                    "started_at",
                ],
                batch_size=1000,
            )
            running = next((op for op in ops if op.state == OperationState.READY), None)
            if running is not None:
                # Bench data, like the generator's: the floor's start, without its history.
                Operation.objects.filter(pk=running.pk).update(
                    state=OperationState.RUNNING, started_at=now
                )


def _floor_lead() -> Any:
    from mes.core.roles import FLOOR_LEAD

    return benchlib.bench_user("bench-floorlead", FLOOR_LEAD, "Lead")


def _timed(
    samples: int, warmup: int, codes: list[str], call: Any
) -> tuple[list[float], list[float]]:
    """Wall-clock and this process's CPU milliseconds per call."""
    for n in range(warmup):
        call(codes[n % len(codes)])
    wall, cpu = [], []
    for n in range(samples):
        code = codes[n % len(codes)]
        began, began_cpu = time.perf_counter(), time.process_time()
        call(code)
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return wall, cpu


def _summary(wall: list[float], cpu: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(wall, 0.50), 2),
        "p95_ms": round(percentile(wall, 0.95), 2),
        "p99_ms": round(percentile(wall, 0.99), 2),
        "max_ms": round(max(wall), 2),
        # Python's own work, which other load on the machine does not stretch.
        "cpu_p50_ms": round(percentile(cpu, 0.50), 2),
        "cpu_p95_ms": round(percentile(cpu, 0.95), 2),
    }


def _measure(samples: int, warmup: int) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from planning.models import Operation, WorkCenter
    from planning.selectors import DISPATCH_STATES, dispatch_list

    centers = {wc.code: wc for wc in WorkCenter.objects.filter(code__startswith=f"{PREFIX}-")}
    codes = sorted(centers)
    open_ops = Operation.objects.filter(
        work_center__in=centers.values(),
        state__in=DISPATCH_STATES,
        work_order__state__in=["released", "in_progress"],
    ).count()
    client = Client()
    client.force_login(_floor_lead())

    def selector(code: str) -> None:
        rows = dispatch_list(work_center=WorkCenter.objects.get(code=code))
        assert rows, code  # noqa: S101 - a bench that measures nothing is wrong

    def page(code: str) -> None:
        response = client.get(f"/planning/floor/{code}/")
        assert response.status_code == 200, response.status_code  # noqa: S101

    def poll(code: str) -> None:
        response = client.get(f"/planning/floor/{code}/", {"poll": "1"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, response.status_code  # noqa: S101

    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages, ALLOWED_HOSTS=["testserver"]):
        queries: dict[str, dict[str, int]] = {"selector": {}, "page": {}, "poll": {}}
        for code in codes:
            for name, call in (("selector", selector), ("page", page), ("poll", poll)):
                call(code)  # the session and caches warm first
                with CaptureQueriesContext(connection) as ctx:
                    call(code)
                queries[name][code] = len(ctx)
        rows = {code: len(dispatch_list(work_center=centers[code])) for code in codes}
        results = {}
        for name, call in (("selector", selector), ("page", page), ("poll", poll)):
            log(f"Timing {name}: {samples} samples over {len(codes)} work centers ...")
            results[name] = _summary(*_timed(samples, warmup, codes, call))
            log(f"  {results[name]}")
    return {
        "open_operations": open_ops,
        "rows_per_list": sorted(set(rows.values())),
        "queries": {name: sorted(set(per.values())) for name, per in queries.items()},
        "timings": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 operations, under a minute")
    parser.add_argument("--samples", type=int, default=0, help="timed calls per measure")
    args = parser.parse_args()
    operations = OPERATIONS_QUICK if args.quick else OPERATIONS_FULL
    samples = args.samples or (80 if args.quick else 600)
    warmup = 10 if args.quick else 30

    url = benchlib.database_url(DEFAULT_DATABASE_URL)
    database_ensure(url)
    began = time.perf_counter()
    benchlib.django_in_process(url, "mes-bench-dispatch-")
    plant = _plant(operations)
    _sequence()
    measured = _measure(samples, warmup)
    page = measured["timings"]["page"]
    figures = {
        "benchmark": "dispatch",
        "quick": args.quick,
        "database": url.rsplit("/", 1)[-1],
        "samples": samples,
        "plant": plant,
        "rows_per_list": measured["rows_per_list"],
        "queries_by_measure": measured["queries"],
        "timings": measured["timings"],
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": page["p95_ms"] < TARGET_P95_MS,
        "total_s": round(time.perf_counter() - began, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "dispatch_p95_ms": page["p95_ms"],
        "queries": max(measured["queries"]["page"]),
        "open_operations": measured["open_operations"],
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"dispatch-{stamp}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
