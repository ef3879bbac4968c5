#!/usr/bin/env python
"""Benchmark: the stock ledger on Postgres, against pgbench's TPC-B-like rate as the
machine's baseline.

    python bench/ledger.py [--quick] [--writers 8] [--duration S] [--moves N]

It sets everything up by itself: the database from DATABASE_URL (Postgres; unset, a
dedicated database postgres://postgres@127.0.0.1:5432/mes_bench_ledger, created when
missing), migrations, and a generated plant (`seed_plant --moves`: 1,000,000 ledger moves,
50,000 with --quick, with lots and a three-level genealogy; reused when the ledger already
holds that many). Then, in one run:

  (a) pgbench      `pgbench -i -s 1` into its own schema of the same database (so its
                   tables never mix with the plant's), then `pgbench -c 8 -j 2 -T 20`
                   (-T 5 with --quick): TPC-B-like transactions per second.
  (b) moves/s      8 writer processes call inventory.services.ledger.move_post directly
                   (no HTTP) for ~20 s (5 s): transfers of 1 unit back and forth between
                   two bins on a few hot items, so writers queue on the same balance rows.
  (c) balance p95  one item's stock across all locations, as the item page and the API
                   read it: `item_balance_summary` (one aggregate query) plus the first
                   page (50 rows) of `inventory.selectors.balances`, over many items.
  (d) trace p95    `trace_backward` of lots three levels of production deep.
  (e) verify       `manage.py verify_ledger` after the writers: the books must be clean.

A move and a TPC-B transaction both insert one row and update a few; the target is moves/s
at least 25 % of the pgbench figure, balance p95 under 20 ms, trace p95 under 100 ms.
Everything started is stopped at the end. The figures are printed last as one JSON line
(and kept in bench/results/, which git ignores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import benchlib
from benchlib import RESULTS_DIR, ROOT, database_ensure, log, manage, pg_url

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mes_bench_ledger"
MOVES_FULL = 1_000_000
MOVES_QUICK = 50_000
HOT_ITEMS = 4
PGBENCH_SCHEMA = "pgbench"


def django_env(url: str, workdir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "REDIS_URL", "DEBUG"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "mes.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": url,
            "CONN_MAX_AGE": "600",
            "LOG_LEVEL": "WARNING",
            "MES_VAR_DIR": str(workdir),
            "MES_BROKER_DIR": str(workdir / "broker"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def ledger_rows(url: str) -> int:
    import psycopg

    with psycopg.connect(pg_url(url)) as conn:
        table = conn.execute("SELECT to_regclass('inventory_stockmove')").fetchone()
        if table is None or table[0] is None:
            return 0
        return int(conn.execute("SELECT count(*) FROM inventory_stockmove").fetchone()[0])


# --- pgbench ---------------------------------------------------------------------------


def pgbench(url: str, seconds: int) -> float:
    """TPC-B-like tps on the same database, its tables in a schema of their own."""
    import psycopg

    with psycopg.connect(pg_url(url), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {PGBENCH_SCHEMA}")
    parts = urlsplit(url)
    env = {
        **os.environ,
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": parts.username or "postgres",
        "PGDATABASE": parts.path.lstrip("/"),
        "PGOPTIONS": f"-c search_path={PGBENCH_SCHEMA}",
    }
    if parts.password:
        env["PGPASSWORD"] = parts.password
    subprocess.run(
        ["pgbench", "-i", "-s", "1", "-q"], env=env, check=True, capture_output=True, text=True
    )
    result = subprocess.run(
        ["pgbench", "-c", "8", "-j", "2", "-T", str(seconds)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    found = re.search(r"tps = ([0-9.]+)", result.stdout)
    if not found:
        raise RuntimeError(f"pgbench printed no tps:\n{result.stdout[-2000:]}")
    return float(found.group(1))


# --- writers ---------------------------------------------------------------------------


def hot_stock(count: int) -> list[dict[str, int | None]]:
    """The fullest balances of a few items in the generated bins, each with a second bin
    to move to and from."""
    from inventory.generate import PREFIX
    from inventory.models import Location, StockBalance

    bins = list(
        Location.objects.filter(code__startswith=f"{PREFIX}S-")
        .order_by("code")
        .values_list("pk", flat=True)
    )
    rows = (
        StockBalance.objects.filter(location_id__in=bins, available__gte=50)
        .order_by("-available")
        .values("item_id", "lot_id", "location_id")
    )
    chosen: list[dict[str, int | None]] = []
    seen: set[int] = set()
    for row in rows[:200]:
        if row["item_id"] in seen:
            continue
        seen.add(row["item_id"])
        other = next(b for b in bins if b != row["location_id"])
        chosen.append({**row, "other_id": other})
        if len(chosen) == count:
            break
    if not chosen:
        raise RuntimeError("No balance with 50 available in the generated bins.")
    return chosen


def writer(
    env: dict[str, str],
    index: int,
    hot: list[dict],
    seconds: float,
    ready: object,
    results: object,
) -> None:
    """One writer process: transfers of one unit there and back on its hot item. It sets
    Django up, waits for the others at the barrier, then writes for `seconds`."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from inventory.models import Item, Location, Lot
    from inventory.services.ledger import StockUnavailable, move_post

    spec = hot[index % len(hot)]
    item = Item.objects.get(pk=spec["item_id"])
    lot = Lot.objects.get(pk=spec["lot_id"]) if spec["lot_id"] else None
    here = Location.objects.get(pk=spec["location_id"])
    there = Location.objects.get(pk=spec["other_id"])
    connection.ensure_connection()
    done = refused = 0
    latencies: list[float] = []
    forward = True
    ready.wait()  # type: ignore[attr-defined]
    end_at = time.monotonic() + seconds
    while time.monotonic() < end_at:
        began = time.perf_counter()
        source, target = (here, there) if forward else (there, here)
        try:
            move_post(
                type="transfer",
                item=item,
                quantity=1,
                actor=None,
                from_location=source,
                to_location=target,
                lot=lot,
                document_type="bench",
                document_ref=f"W{index}",
            )
            done += 1
        except StockUnavailable:
            # The writers sharing this item emptied that bin: go the other way.
            refused += 1
        forward = not forward
        latencies.append((time.perf_counter() - began) * 1000)
    connection.close()
    results.put({"done": done, "refused": refused, "latencies": latencies})  # type: ignore[attr-defined]


def run_writers(env: dict[str, str], writers: int, seconds: float) -> dict[str, object]:
    hot = hot_stock(HOT_ITEMS)
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(writers + 1)
    results = context.Queue()
    processes = [
        context.Process(target=writer, args=(env, index, hot, seconds, ready, results))
        for index in range(writers)
    ]
    for process in processes:
        process.start()
    try:
        ready.wait(timeout=300)
        began = time.monotonic()
        parts = [results.get(timeout=seconds + 300) for _process in processes]
        elapsed = time.monotonic() - began
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
    done = sum(int(p["done"]) for p in parts)
    refused = sum(int(p["refused"]) for p in parts)
    latencies = [ms for p in parts for ms in p["latencies"]]
    return {
        "moves": done,
        "refused": refused,
        "moves_per_s": done / max(seconds, min(elapsed, seconds * 1.5)),
        "move_p50_ms": benchlib.percentile(latencies, 0.50),
        "move_p95_ms": benchlib.percentile(latencies, 0.95),
        "hot_items": len(hot),
    }


# --- reads -----------------------------------------------------------------------------


def read_latencies(samples: int) -> dict[str, float]:
    """p95 of the balance selector for one item and of a three-level backward trace."""
    import random

    from django.db import connection

    from inventory.generate import PREFIX
    from inventory.models import Item, Lot
    from inventory.selectors import balances, item_balance_summary
    from inventory.trace import trace_backward

    rng = random.Random(7)  # noqa: S311 - sampling, not secrets
    items = list(
        Item.objects.filter(balances__location__code__startswith=PREFIX)
        .distinct()
        .values_list("pk", flat=True)
    )
    connection.ensure_connection()
    balance_ms: list[float] = []
    rows_read = 0
    for _n in range(samples):
        item = Item.objects.get(pk=rng.choice(items))
        began = time.perf_counter()
        item_balance_summary(item=item)
        rows = list(balances(item=item)[:50])
        balance_ms.append((time.perf_counter() - began) * 1000)
        rows_read += len(rows)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT g1.produced_id FROM inventory_lotgenealogy g1 "
            "JOIN inventory_lotgenealogy g2 ON g2.produced_id = g1.consumed_id "
            "JOIN inventory_lotgenealogy g3 ON g3.produced_id = g2.consumed_id "
            "ORDER BY g1.produced_id DESC LIMIT 100"
        )
        deep = [row[0] for row in cursor.fetchall()]
    if not deep:
        raise RuntimeError("The generated plant has no three-level genealogy.")
    lots = Lot.objects.select_related("item").in_bulk(deep)
    trace_ms: list[float] = []
    depths: list[int] = []
    for _n in range(samples):
        lot = lots[rng.choice(deep)]
        began = time.perf_counter()
        nodes = trace_backward(lot=lot)
        trace_ms.append((time.perf_counter() - began) * 1000)
        depths.append(max(node.depth for node in nodes))
    return {
        "balance_p50_ms": benchlib.percentile(balance_ms, 0.50),
        "balance_p95_ms": benchlib.percentile(balance_ms, 0.95),
        "balance_rows_avg": rows_read / samples,
        "trace_p50_ms": benchlib.percentile(trace_ms, 0.50),
        "trace_p95_ms": benchlib.percentile(trace_ms, 0.95),
        "trace_depth_min": min(depths),
    }


# --- main ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run, under a minute")
    parser.add_argument("--writers", type=int, default=8, help="concurrent writer processes")
    parser.add_argument("--duration", type=float, help="seconds of writing (20; quick: 5)")
    parser.add_argument("--pgbench-seconds", type=int, help="pgbench -T (20; quick: 5)")
    parser.add_argument("--moves", type=int, help="ledger size (1,000,000; quick: 50,000)")
    parser.add_argument("--samples", type=int, help="reads per latency figure (300; quick: 100)")
    args = parser.parse_args()
    duration = args.duration or (5.0 if args.quick else 20.0)
    pg_seconds = args.pgbench_seconds or (5 if args.quick else 20)
    target = args.moves or (MOVES_QUICK if args.quick else MOVES_FULL)
    samples = args.samples or (100 if args.quick else 300)

    url = benchlib.database_url(DEFAULT_DATABASE_URL)
    database_ensure(url)
    workdir = Path(tempfile.mkdtemp(prefix="mes-bench-ledger-"))
    env = django_env(url, workdir)
    started = time.monotonic()
    try:
        log("Migrating ...")
        manage(env, "migrate", "--noinput")
        have = ledger_rows(url)
        if have < target:
            log(f"Generating the plant: {target - have:,} ledger moves (has {have:,}) ...")
            began = time.monotonic()
            manage(env, "seed_plant", "--orders=0", f"--moves={target - have}")
            log(f"  generated in {time.monotonic() - began:.0f} s")
        else:
            log(f"Reusing the plant: the ledger holds {have:,} moves")
        log(f"pgbench -i -s 1 (schema {PGBENCH_SCHEMA}) and -c 8 -j 2 -T {pg_seconds} ...")
        tps = pgbench(url, pg_seconds)
        log(f"  {tps:.0f} tps")

        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        log(f"{args.writers} writers on {HOT_ITEMS} hot items for {duration:.0f} s ...")
        writes = run_writers(env, args.writers, duration)
        log(f"  {writes['moves_per_s']:.0f} moves/s ({writes['refused']} refused)")
        log("verify_ledger ...")
        check = subprocess.run(
            [benchlib.PYTHON, "manage.py", "verify_ledger"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        clean = check.returncode == 0
        log(f"  {check.stdout.strip().splitlines()[-1] if check.stdout.strip() else '?'}")
        log(f"Reads: {samples} balance queries, {samples} three-level traces ...")
        reads = read_latencies(samples)
        rows = ledger_rows(url)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    ratio = writes["moves_per_s"] / tps if tps else 0.0
    log("")
    log(f"Ledger benchmark ({'quick' if args.quick else 'full'}), {rows:,} ledger rows, "
        f"{args.writers} writer processes on {writes['hot_items']} hot items, "
        f"{time.monotonic() - started:.0f} s in all")  # fmt: skip
    log(f"  pgbench TPC-B-like        {tps:8.0f} tps (-c 8 -j 2 -T {pg_seconds})")
    log(f"  move_post transfers       {writes['moves_per_s']:8.0f} moves/s   ratio {ratio:.0%}   "
        f"p50 {writes['move_p50_ms']:.1f} ms   p95 {writes['move_p95_ms']:.1f} ms")  # fmt: skip
    log(f"  balance, one item         p50 {reads['balance_p50_ms']:6.1f} ms   "
        f"p95 {reads['balance_p95_ms']:6.1f} ms   "
        f"({reads['balance_rows_avg']:.0f} rows)")  # fmt: skip
    log(f"  trace, three levels       p50 {reads['trace_p50_ms']:6.1f} ms   "
        f"p95 {reads['trace_p95_ms']:6.1f} ms")  # fmt: skip
    log(f"  verify_ledger             {'clean' if clean else 'DIFFERENCES'}")
    figures = {
        "pgbench_tps": round(tps, 1),
        "moves_per_s": round(writes["moves_per_s"], 1),
        "ratio": round(ratio, 3),
        "balance_p95_ms": round(reads["balance_p95_ms"], 2),
        "trace_p95_ms": round(reads["trace_p95_ms"], 2),
        "ledger_rows": rows,
        "verify_ledger_clean": clean,
        "move_p50_ms": round(writes["move_p50_ms"], 2),
        "move_p95_ms": round(writes["move_p95_ms"], 2),
        "refused_moves": writes["refused"],
        "balance_p50_ms": round(reads["balance_p50_ms"], 2),
        "trace_p50_ms": round(reads["trace_p50_ms"], 2),
        "writers": args.writers,
        "seconds": duration,
        "quick": args.quick,
        "load_average": os.getloadavg()[0],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS_DIR / f"ledger-{stamp}.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures), flush=True)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
