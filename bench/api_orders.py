#!/usr/bin/env python
"""Benchmark: ERP clients upserting orders over the REST API, against /healthz as the
baseline of this machine, with the server under gunicorn on Postgres.

    python bench/api_orders.py [--quick] [--clients 16] [--duration S]

It sets everything up by itself: the database from DATABASE_URL (Postgres; unset, a
dedicated database postgres://postgres@127.0.0.1:5432/mes_bench, created when missing),
migrations, master data (seed_plant), an API client with orders:write, and gunicorn
(production settings, a SECRET_KEY made for the run) on a free port of 127.0.0.1. Then
the same load generator drives two phases, after a short warm-up of each:

  (a) GET /healthz                      the no-database baseline
  (b) POST /api/v1/orders/              an upsert of a new order with 5 lines

The phases alternate in short rounds, so a change in what else the machine runs weighs
on both alike. Clients are threads with one persistent HTTP/1.1 connection each
(http.client, keep-alive), spread over two processes so the generator is not held by one
GIL. The generator shares the machine's cores with the server; the baseline is measured
with the same generator, so the ratio compares like with like. The CPU time gunicorn and
its Postgres backends spend per request is measured too (from /proc): unlike requests/s
it does not depend on the machine's other load.

Everything started is stopped at the end, also on error or Ctrl-C. The figures are
printed last as one JSON line (and kept in bench/results/, which git ignores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import benchlib
from benchlib import (
    GUNICORN,
    RESULTS_DIR,
    ROOT,
    VENV_BIN,
    database_ensure,
    free_port,
    log,
    manage,
    percentile,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mes_bench"
PHASES = ("healthz", "orders")

# Server shape for a 2-core machine: one process per core so both cores run Python, a
# few threads each so one request's database round trips overlap another's CPU work.
# In a sweep of 2x1, 2x2, 2x4, 2x8 and 3x2, 2x4 gave the best order rate and p99; the
# CPU cost per request hardly changed (see bench/README.md).
WORKERS = 2
THREADS = 4

# Generated master data the requests use (seed_plant's codes).
CUSTOMERS = 50
ITEMS = 200
LINES_PER_ORDER = 5
# Orders already in the book before the run (seed_plant, once per database).
BOOK_ORDERS_FULL = 20_000
BOOK_ORDERS_QUICK = 2_000


def database_url() -> str:
    return benchlib.database_url(DEFAULT_DATABASE_URL)


class Server:
    """gunicorn in its own process group, stopped with everything it started."""

    def __init__(self, env: dict[str, str], port: int, workers: int, threads: int, logs: Path):
        self.env, self.port, self.workers, self.threads = env, port, workers, threads
        self.log_path = logs / "gunicorn.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            GUNICORN,
            "mes.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={self.workers}",
            "--worker-class=gthread",
            f"--threads={self.threads}",
            "--keep-alive=30",
            "--backlog=256",
            "--log-level=warning",
            f"--error-logfile={self.log_path}",
        ]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, start_new_session=True, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within 60 s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        pgid = self.process.pid  # start_new_session: its own process group
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text()[-3000:]
        except OSError:
            return "(no log)"


# --- load generator -------------------------------------------------------------------


def order_body(external_id: str, rng: random.Random, today: dt.date) -> bytes:
    skus = rng.sample(range(1, ITEMS + 1), LINES_PER_ORDER)
    return json.dumps(
        {
            "external_id": external_id,
            "customer": f"PC{rng.randint(1, CUSTOMERS):05d}",
            "customer_po": f"PO-{rng.randint(100000, 999999)}",
            "lines": [
                {
                    "item": f"PI-{sku:05d}",
                    "quantity": str(rng.choice([5, 10, 20, 50, 100])),
                    "requested_date": (today + dt.timedelta(days=rng.randint(10, 60))).isoformat(),
                }
                for sku in skus
            ],
        }
    ).encode()


def client_thread(
    spec: dict[str, object], index: int, start_at: float, end_at: float, out: dict[str, object]
) -> None:
    """One client: a persistent connection, requests back to back until end_at."""
    rng = random.Random(f"{spec['run']}-{index}")  # noqa: S311 - load data
    # Tomorrow in UTC is today or later in any plant time zone.
    today = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    port = int(spec["port"])  # type: ignore[call-overload]
    is_orders = spec["phase"] == "orders"
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if is_orders:
        headers["Authorization"] = f"Bearer {spec['key']}"
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    samples: list[str] = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sequence = 0
    while time.time() < start_at:
        time.sleep(0.001)
    while time.time() < end_at:
        sequence += 1
        if is_orders:
            external_id = f"B{spec['run']}-{index}-{sequence}"
            body: bytes | None = order_body(external_id, rng, today)
            if spec["idempotency"]:
                headers["Idempotency-Key"] = external_id
            method, path, expected = "POST", "/api/v1/orders/", 201
        else:
            body, method, path, expected = None, "GET", "/healthz", 200
        began = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            status, payload = 0, f"{type(exc).__name__}: {exc}".encode()
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        elapsed_ms = (time.perf_counter() - began) * 1000
        if status == expected:
            latencies.append(elapsed_ms)
        else:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if len(samples) < 3:
                samples.append(f"{status}: {payload[:300]!r}")
    conn.close()
    out[str(index)] = {"latencies": latencies, "errors": statuses, "samples": samples}


def generator_process(spec: dict[str, object], first: int, count: int) -> dict[str, object]:
    """Run `count` client threads in this process; return their raw results."""
    out: dict[str, object] = {}
    start_at, end_at = float(spec["start_at"]), float(spec["end_at"])  # type: ignore[arg-type]
    threads = [
        threading.Thread(target=client_thread, args=(spec, first + i, start_at, end_at, out))
        for i in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def run_phase(
    pool: multiprocessing.pool.Pool,
    phase: str,
    *,
    port: int,
    key: str,
    clients: int,
    procs: int,
    duration: float,
    run: str,
    idempotency: bool,
) -> dict[str, object]:
    start_at = time.time() + 0.5
    spec = {
        "phase": phase,
        "port": port,
        "key": key,
        "run": run,
        "idempotency": idempotency,
        "start_at": start_at,
        "end_at": start_at + duration,
    }
    share = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    firsts = [sum(share[:i]) for i in range(procs)]
    parts = pool.starmap(
        generator_process, [(spec, f, n) for f, n in zip(firsts, share, strict=True) if n]
    )
    elapsed = max(time.time() - start_at, duration)
    result: dict[str, object] = {"latencies": [], "errors": {}, "samples": [], "elapsed": elapsed}
    for part in parts:
        for client in part.values():
            merge(result, client)
    return result


def merge(into: dict[str, object], part: dict[str, object]) -> None:
    into["latencies"].extend(part["latencies"])  # type: ignore[attr-defined]
    for status, n in part["errors"].items():  # type: ignore[attr-defined]
        into["errors"][status] = into["errors"].get(status, 0) + n  # type: ignore[index]
    into["samples"].extend(part["samples"])  # type: ignore[attr-defined]


def summarize(raw: dict[str, object]) -> dict[str, object]:
    latencies: list[float] = raw["latencies"]  # type: ignore[assignment]
    count = len(latencies) + sum(raw["errors"].values()) or 1  # type: ignore[attr-defined]
    return {
        "web_cpu_ms": float(raw["web_cpu"]) * 1000 / count,  # type: ignore[arg-type]
        "db_cpu_ms": float(raw["db_cpu"]) * 1000 / count,  # type: ignore[arg-type]
        "ok": len(latencies),
        "rps": len(latencies) / float(raw["elapsed"]),  # type: ignore[arg-type]
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies) if latencies else float("nan"),
        "errors": raw["errors"],
        "samples": raw["samples"][:3],  # type: ignore[index]
    }


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


class CpuMeter:
    """CPU used by gunicorn and by the Postgres backends serving it, per phase.

    Unlike requests/s this does not depend on what else the machine runs: it is what one
    request costs the server. The ratio of the costs is the throughput ratio the two
    endpoints would reach on an otherwise idle machine, when the server is CPU-bound.
    """

    def __init__(self, server: Server, url: str) -> None:
        import psycopg

        self.server = server
        parts = urlsplit(url)
        self.database = parts.path.lstrip("/")
        self.conn = psycopg.connect(
            urlunsplit(parts._replace(scheme="postgresql")), autocommit=True
        )

    def sample(self) -> tuple[float, float]:
        web = [self.server.process.pid, *self.server.worker_pids()] if self.server.process else []
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [self.database],
        ).fetchall()
        return cpu_seconds(web), cpu_seconds([row[0] for row in rows])

    def close(self) -> None:
        self.conn.close()


# --- main -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run, under a minute")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--duration", type=float, help="seconds per phase (60; quick: 12)")
    parser.add_argument(
        "--rounds", type=int, help="the phases alternate this many times (6; quick: 2)"
    )
    parser.add_argument("--warmup", type=float, help="warm-up seconds per phase (5; quick: 2)")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per worker")
    parser.add_argument(
        "--procs", type=int, default=2, help="load-generator processes the clients share"
    )
    parser.add_argument(
        "--idempotency-key", action="store_true", help="send an Idempotency-Key on every POST"
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="record each gunicorn worker with py-spy during the orders phase (needs py-spy "
        "in the venv; writes collapsed stacks and flame graphs to DIR)",
    )
    parser.add_argument(
        "--redis-url",
        default="",
        help="publish events to this Redis (a database dedicated to the bench: its queue is "
        "purged at the end); default: a throw-away filesystem broker",
    )
    args = parser.parse_args()
    duration = args.duration or (12.0 if args.quick else 60.0)
    rounds = max(1, args.rounds or (2 if args.quick else 6))
    warmup = args.warmup if args.warmup is not None else (2.0 if args.quick else 5.0)
    procs = max(1, min(args.procs, args.clients))

    url = database_url()
    book = database_ensure(url)
    workdir = Path(tempfile.mkdtemp(prefix="mes-bench-"))
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
            # The run's own var folder: its filesystem broker queue is thrown away.
            "MES_VAR_DIR": str(workdir),
            "MES_BROKER_DIR": str(workdir / "broker"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    broker = args.redis_url or "filesystem (throw-away folder)"

    run = f"{int(time.time()) % 10_000_000}{secrets.token_hex(2)}"
    server: Server | None = None
    client_name = ""

    def stop_on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    pool = multiprocessing.get_context("fork").Pool(procs)
    signal.signal(signal.SIGTERM, stop_on_signal)  # after the fork: the pool keeps the default
    try:
        log("Migrating ...")
        manage(env, "migrate", "--noinput")
        orders = 0 if book else (BOOK_ORDERS_QUICK if args.quick else BOOK_ORDERS_FULL)
        log(f"Seeding master data ({CUSTOMERS} customers, {ITEMS} items, {orders} orders) ...")
        manage(
            env,
            "seed_plant",
            f"--orders={orders}",
            f"--customers={CUSTOMERS}",
            f"--items={ITEMS}",
            f"--lines-per-order={LINES_PER_ORDER}",
        )
        client_name = f"bench-{run}"
        output = manage(
            env,
            "create_api_client",
            client_name,
            "--scope=orders:write",
            "--scope=orders:read",
        )
        key = output.strip().splitlines()[-1].strip()
        server = Server(env, free_port(), args.workers, args.threads, workdir)
        log(
            f"Starting gunicorn on 127.0.0.1:{server.port}: {args.workers} workers x "
            f"{args.threads} threads (gthread), CONN_MAX_AGE=600, broker {broker}"
        )
        server.start()

        common = {
            "port": server.port,
            "key": key,
            "clients": args.clients,
            "procs": procs,
            "idempotency": args.idempotency_key,
        }
        if warmup > 0:
            log(f"Warming up ({warmup:.0f} s per phase) ...")
            for phase in PHASES:
                run_phase(pool, phase, duration=warmup, run=f"{run}w", **common)
        # The phases alternate in short rounds, so a change in the machine's load
        # during the run weighs on both alike.
        raw = {phase: {"latencies": [], "errors": {}, "samples": [], "elapsed": 0.0,
                       "web_cpu": 0.0, "db_cpu": 0.0} for phase in PHASES}  # fmt: skip
        meter = CpuMeter(server, url)
        load_before = load_average()
        for round_no in range(1, rounds + 1):
            for phase in PHASES:
                log(f"Round {round_no}/{rounds}, {phase}: {args.clients} clients for "
                    f"{duration / rounds:.0f} s ...")  # fmt: skip
                profiling = phase == "orders" and round_no == 1
                profilers = profile_start(
                    server, duration / rounds, args.profile if profiling else None
                )
                web_before, db_before = meter.sample()
                part = run_phase(
                    pool, phase, duration=duration / rounds, run=f"{run}r{round_no}", **common
                )
                web_after, db_after = meter.sample()
                merge(raw[phase], part)
                raw[phase]["elapsed"] += part["elapsed"]
                raw[phase]["web_cpu"] += web_after - web_before
                raw[phase]["db_cpu"] += db_after - db_before
                for profiler in profilers:
                    profiler.wait(timeout=60)
        load_after = load_average()
        meter.close()
    finally:
        pool.terminate()
        pool.join()
        if server is not None:
            server.stop()
        if client_name:
            revoke = (
                "from mes.core.models import ApiClient;"
                "from mes.core.services import api_client_revoke;"
                f"clients = ApiClient.objects.filter(name={client_name!r});"
                "[api_client_revoke(client=c) for c in clients]"
            )
            try:
                manage(env, "shell", "-c", revoke)
            except RuntimeError as exc:
                log(f"Could not revoke the bench API client {client_name}: {exc}")
        if args.redis_url:
            purge_redis_queue(env)
        shutil.rmtree(workdir, ignore_errors=True)

    health, orders_result = summarize(raw["healthz"]), summarize(raw["orders"])
    ratio = orders_result["rps"] / health["rps"] if health["rps"] else 0.0
    errors = sum(health["errors"].values()) + sum(orders_result["errors"].values())
    log("")
    log(f"API orders benchmark ({'quick' if args.quick else 'full'}), {args.clients} clients "
        f"over {procs} generator processes, {duration:.0f} s per phase in {rounds} rounds, "
        f"gunicorn {args.workers}x{args.threads} gthread, Postgres, broker {broker}")  # fmt: skip
    for name, r in (("GET /healthz", health), ("POST /api/v1/orders/ (5 lines)", orders_result)):
        log(f"  {name:32} {r['rps']:8.1f} req/s   p50 {r['p50_ms']:6.1f} ms   "
            f"p99 {r['p99_ms']:6.1f} ms   max {r['max_ms']:7.1f} ms   "
            f"errors {r['errors'] or 0}")  # fmt: skip
        for sample in r["samples"]:
            log(f"      e.g. {sample}")
    for name, r in (("healthz", health), ("orders", orders_result)):
        log(f"  server CPU per {name} request: gunicorn {r['web_cpu_ms']:.2f} ms + "
            f"Postgres {r['db_cpu_ms']:.2f} ms")  # fmt: skip
    cpu_ratio = (health["web_cpu_ms"] + health["db_cpu_ms"]) / (
        orders_result["web_cpu_ms"] + orders_result["db_cpu_ms"] or 1
    )
    log(f"  CPU-cost ratio healthz/orders: {cpu_ratio:.1%} (the rate ratio on an idle "
        "machine, when CPU-bound)")  # fmt: skip
    log(f"  load average (1 min) {load_before} before, {load_after} after")
    log(f"  ratio orders/healthz: {ratio:.1%} (target >= 12%); orders p99 "
        f"{orders_result['p99_ms']:.0f} ms (target < 150 ms)")  # fmt: skip
    figures = {
        "healthz_rps": round(health["rps"], 1),
        "orders_rps": round(orders_result["rps"], 1),
        "ratio": round(ratio, 4),
        "orders_p50_ms": round(orders_result["p50_ms"], 1),
        "orders_p99_ms": round(orders_result["p99_ms"], 1),
        "clients": args.clients,
        "healthz_p50_ms": round(health["p50_ms"], 1),
        "healthz_p99_ms": round(health["p99_ms"], 1),
        "errors": errors,
        "healthz_cpu_ms": round(health["web_cpu_ms"] + health["db_cpu_ms"], 3),
        "orders_web_cpu_ms": round(orders_result["web_cpu_ms"], 2),
        "orders_db_cpu_ms": round(orders_result["db_cpu_ms"], 2),
        "cpu_ratio": round(cpu_ratio, 4),
        "duration_s": duration,
        "rounds": rounds,
        "load_avg_before": load_before,
        "load_avg_after": load_after,
        "quick": args.quick,
        "gunicorn": f"{args.workers}x{args.threads} gthread",
        "generator_procs": procs,
        "idempotency_key": args.idempotency_key,
        "broker": "redis" if args.redis_url else "filesystem",
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS_DIR / f"api_orders-{stamp}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures), flush=True)
    return 0 if errors == 0 else 1


def profile_start(server: Server, duration: float, folder: str | None) -> list[subprocess.Popen]:
    """py-spy on every worker for the phase: where the server's time goes."""
    if not folder:
        return []
    py_spy = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")
    if py_spy is None:
        log("--profile needs py-spy: .venv/bin/pip install py-spy")
        return []
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    profilers = []
    for pid in server.worker_pids():
        for fmt, suffix in (("raw", "txt"), ("flamegraph", "svg")):
            profilers.append(
                subprocess.Popen(
                    [
                        py_spy,
                        "record",
                        f"--pid={pid}",
                        f"--duration={int(duration)}",
                        "--rate=200",
                        f"--format={fmt}",
                        f"--output={out / f'worker-{pid}.{suffix}'}",
                        "--nonblocking",
                    ],  # fmt: skip
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
    log(f"Profiling workers {server.worker_pids()} into {out}")
    return profilers


def purge_redis_queue(env: dict[str, str]) -> None:
    """Drop the process_event messages the run published: no worker consumed them."""
    code = "from mes.celery import app; print(app.control.purge())"
    try:
        manage(env, "shell", "-c", code)
    except RuntimeError as exc:
        log(f"Could not purge the bench's Redis queue: {exc}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("Interrupted: everything the benchmark started has been stopped.")
        sys.exit(130)
