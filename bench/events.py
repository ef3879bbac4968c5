#!/usr/bin/env python
"""Benchmark: events posted through the API become exceptions, raised by one Celery
worker, against the bare Celery round trip of a no-op task as the machine's baseline.

    python bench/events.py [--quick] [--rate 50] [--duration S]

It sets everything up by itself: the database from DATABASE_URL (Postgres; unset, a
dedicated database postgres://postgres@127.0.0.1:5432/mes_bench_events, created when
missing), the broker from REDIS_URL (unset: redis://127.0.0.1:6379/13, a Redis database
dedicated to the bench: its queue and the no-op results are purged at the end),
migrations, master data and orders (seed_plant), 20 active decision rules (the default
set topped up with generated ones on the catalogue's event types whose conditions mostly
do not fire), an
API client with events:write, gunicorn (production settings, 2 workers x 4 threads) and
ONE Celery worker (prefork, --concurrency 2). The previous run's exceptions and events
are cleared first (the database is the bench's own).

Phases, each after the set-up:
  (a) no-op        the round trip of exceptions.tasks.noop (publish, run, result back)
  (b) steady       POST /api/v1/events/ (pick.mismatch on a new order each) at --rate/s:
                   event-to-exception latency = the exception row's first_seen_at minus
                   the event's occurred_at (both written by the database's clients in
                   their transactions), p50 / p99
  (c) sustained    as fast as the clients can post, then until the worker has caught
                   up: events processed end to end per second

Everything started is stopped at the end, also on error or Ctrl-C. The figures are
printed last as one JSON line (and kept in bench/results/, which git ignores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import benchlib
from benchlib import (
    GUNICORN,
    PYTHON,
    RESULTS_DIR,
    ROOT,
    database_ensure,
    free_port,
    log,
    manage,
    percentile,
    pg_url,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mes_bench_events"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
PICK_RULE = "Pick mismatch: raise to Shipping"
ACTIVE_RULES = 20
PICKERS = 50  # one generated rule fires for one picker in fifty

# Generated rules on the catalogue's event types: conditions that read the payload and
# the subject snapshot, and mostly do not fire on the bench's events.
GENERATED_RULES = [
    ("pick.mismatch", 'order.customer.priority_class == "A" and scanned == "NONE"'),
    ("pick.mismatch", 'picker == "night-shift-99"'),
    ("pick.mismatch", 'upper(scanned) == "X-RAY" or order.line_count > 500'),
    ("pick.mismatch", 'order.state == "cancelled" and expected != scanned'),
    (
        "pick.mismatch",
        "order.priority == 1 and order.earliest_promise_days != None "
        "and order.earliest_promise_days < -400",
    ),  # fmt: skip
    ("pick.mismatch", 'picker == "p13"'),  # fires for one picker in fifty
    ("material.shortage", "missing_quantity > 1000"),
    ("material.shortage", 'item == "PI-99999"'),
    ("workcenter.down", "down_minutes != None and down_minutes > 240"),
    ("workcenter.down", 'reason == "fire"'),
    ("order.promise_at_risk", "days_late != None and days_late > 30"),
    ("operation.late", "late_minutes > 600"),
]


def database_url() -> str:
    return benchlib.database_url(DEFAULT_DATABASE_URL)


def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "").strip()
    if not url:
        log(f"REDIS_URL is not set: using the bench's Redis database {DEFAULT_REDIS_URL}")
        url = DEFAULT_REDIS_URL
    return url


# Run in `manage.py shell`: the bench's rules, and a clean slate of exceptions and events.
PREPARE = """
import json
from django.contrib.auth.models import Group
from exceptions.models import DecisionRule, Notification, PlantException, RuleError, Task
from mes.core.models import Event
Task.objects.all().delete()
Notification.objects.all().delete()
PlantException.objects.all().delete()
RuleError.objects.all().delete()
Event.objects.all().delete()
DecisionRule.objects.filter(name__startswith="bench: ").delete()
shipping = Group.objects.get(name="Shipping")
# As many generated rules as make ACTIVE rules in all (apps add default rules over time).
room = max(0, ACTIVE - DecisionRule.objects.filter(active=True).count())
for n, (point, condition) in enumerate(json.loads(RULES)[:room], start=1):
    DecisionRule.objects.create(
        name=f"bench: {n:02d} {point}", decision_point=point, condition=condition,
        effect="raise_exception", title_template=f"Bench rule {n} on {point}",
        severity="low", owner_role=shipping, sla_minutes=60, order=50 + n,
    )
print(json.dumps({"active_rules": DecisionRule.objects.filter(active=True).count()}))
"""

# Run with the production settings: n round trips of the no-op task, in milliseconds.
NOOP_TIMER = """
import json, sys, time
import django
django.setup()
from mes.celery import app
app.conf.result_backend = sys.argv[1]
from exceptions.tasks import noop
count, warmup, out = int(sys.argv[2]), 20, []
for i in range(count + warmup):
    began = time.perf_counter()
    noop.delay().get(timeout=30)
    out.append((time.perf_counter() - began) * 1000)
print(json.dumps(out[warmup:]))
"""


class Process:
    """A server process in its own process group, stopped with everything it started."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], logs: Path):
        self.name, self.command, self.env = name, command, env
        self.log_path = logs / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.process is not None  # noqa: S101 - alive() checked it
        pgid = self.process.pid  # start_new_session: its own process group
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"


def gunicorn(env: dict[str, str], port: int, logs: Path) -> Process:
    command = [
        GUNICORN,
        "mes.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        "--workers=2",
        "--worker-class=gthread",
        "--threads=4",
        "--keep-alive=30",
        "--backlog=256",
        "--log-level=warning",
    ]
    server = Process("gunicorn", command, env, logs)
    server.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"gunicorn exited at start:\n{server.log_tail()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return server
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz within 60 s:\n{server.log_tail()}")


def celery_worker(env: dict[str, str], result_url: str, logs: Path) -> Process:
    command = [
        PYTHON, "-m", "celery", "-A", "mes", f"--result-backend={result_url}", "worker",
        "--pool=prefork", "--concurrency=2", "-Q", "celery", "--without-gossip",
        "--without-mingle", "--without-heartbeat", "--loglevel=WARNING",
    ]  # fmt: skip
    worker = Process("worker", command, env, logs)
    worker.start()
    return worker


# --- load generator -------------------------------------------------------------------


class Poster:
    """Threads with one keep-alive connection each, posting event bodies from a queue,
    each no earlier than its due time (steady rate) or at once (due 0)."""

    def __init__(self, port: int, key: str, threads: int) -> None:
        self.port, self.key = port, key
        self.jobs: queue.Queue[tuple[float, bytes] | None] = queue.Queue()
        self.accepted: list[int] = []
        self.errors: dict[str, int] = {}
        self.samples: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def run(self) -> None:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Bearer {self.key}",
        }
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while (job := self.jobs.get()) is not None:
            due, body = job
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            # A keep-alive connection the server closed while idle (between phases) fails
            # on its next request: that one is sent again once on a new connection.
            for attempt in (1, 2):
                try:
                    conn.request("POST", "/api/v1/events/", body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                    status = response.status
                    break
                except (OSError, http.client.HTTPException) as exc:
                    status, payload = 0, f"{type(exc).__name__}: {exc}".encode()
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                    if attempt == 2 or not isinstance(
                        exc, BrokenPipeError | ConnectionResetError | http.client.RemoteDisconnected
                    ):
                        break
            with self.lock:
                if status == 202:
                    self.accepted.append(int(json.loads(payload)["id"]))
                else:
                    self.errors[str(status)] = self.errors.get(str(status), 0) + 1
                    if len(self.samples) < 3:
                        self.samples.append(f"{status}: {payload[:300]!r}")
            self.jobs.task_done()
        conn.close()

    def close(self) -> None:
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join(timeout=60)


def event_body(order_number: str, n: int) -> bytes:
    return json.dumps(
        {
            "type": "pick.mismatch",
            "subject": {"type": "order", "key": order_number},
            "payload": {
                "expected": f"PI-{n % 200 + 1:05d}",
                "scanned": f"PI-{(n + 7) % 200 + 1:05d}",
                "picker": f"p{n % PICKERS}",
            },
        }
    ).encode()


def steady(poster: Poster, orders: list[str], first: int, rate: float, seconds: float) -> int:
    """Offer `rate` events a second for `seconds`; return how many were offered."""
    count = min(int(rate * seconds), len(orders) - first)
    start = time.time() + 0.2
    for i in range(count):
        poster.jobs.put((start + i / rate, event_body(orders[first + i], first + i)))
    return count


def flat_out(poster: Poster, orders: list[str], first: int, seconds: float) -> int:
    """Post as fast as the clients go for `seconds` (at most one event per order left)."""
    end = time.time() + seconds
    sent = first
    while time.time() < end and sent < len(orders):
        while poster.jobs.qsize() < 2 * len(poster.threads) and sent < len(orders):
            poster.jobs.put((0.0, event_body(orders[sent], sent)))
            sent += 1
        time.sleep(0.002)
    return sent - first


def wait_idle(poster: Poster, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while poster.jobs.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.05)


def wait_processed(conn: object, ids: list[int], timeout: float) -> int:
    """Wait until every posted event is processed; return how many are."""
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        done = conn.execute(  # type: ignore[attr-defined]
            "SELECT count(*) FROM core_event WHERE id = ANY(%s) AND processed_at IS NOT NULL",
            [ids],
        ).fetchone()[0]
        if done >= len(ids):
            break
        time.sleep(0.1)
    return int(done)


def latencies_ms(conn: object, ids: list[int]) -> list[float]:
    """Per event: its exception's first_seen_at minus its occurred_at (the default rule)."""
    rows = conn.execute(  # type: ignore[attr-defined]
        """
        SELECT EXTRACT(EPOCH FROM (x.first_seen_at - e.occurred_at)) * 1000
        FROM exceptions_exceptionevent xe
        JOIN exceptions_plantexception x ON x.id = xe.exception_id
        JOIN core_event e ON e.id = xe.event_id
        JOIN exceptions_decisionrule r ON r.id = x.rule_id
        WHERE xe.event_id = ANY(%s) AND r.name = %s
        """,
        [ids, PICK_RULE],
    ).fetchall()
    return [float(row[0]) for row in rows]


def sustained_rate(conn: object, ids: list[int]) -> tuple[float, int]:
    """Events processed end to end per second: first occurred to last processed."""
    row = conn.execute(  # type: ignore[attr-defined]
        "SELECT count(*), EXTRACT(EPOCH FROM max(processed_at) - min(occurred_at)) "
        "FROM core_event WHERE id = ANY(%s) AND processed_at IS NOT NULL",
        [ids],
    ).fetchone()
    count, seconds = int(row[0]), float(row[1] or 0)
    return (count / seconds if seconds else 0.0), count


def noop_round_trips(env: dict[str, str], result_url: str, count: int) -> list[float]:
    result = subprocess.run(
        [PYTHON, "-c", NOOP_TIMER, result_url, str(count)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the no-op timer failed:\n{result.stderr[-3000:]}")
    return [float(v) for v in json.loads(result.stdout.strip().splitlines()[-1])]


def group_pids(pgid: int) -> list[int]:
    """The processes of a process group (a server and everything it forked)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            pids.append(int(stat.parent.name))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """CPU time the processes' threads have run so far (Linux schedstat, in ns: a short
    Postgres backend's few milliseconds do not round to zero clock ticks)."""
    total = 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            try:
                total += int(task.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    return total / 1e9


class CpuMeter:
    """CPU time spent by gunicorn, the worker, the Postgres backends of the bench's
    database and the load generator (this process) over a phase. Unlike events/s it
    hardly depends on what else the machine runs: it is what one event costs."""

    def __init__(self, conn: object, database: str, server: Process, worker: Process) -> None:
        self.conn, self.database = conn, database
        self.groups = {"api": server, "worker": worker}
        self.before: dict[str, float] = {}

    def sample(self) -> dict[str, float]:
        out = {
            name: cpu_seconds(group_pids(process.process.pid)) if process.process else 0.0
            for name, process in self.groups.items()
        }
        rows = self.conn.execute(  # type: ignore[attr-defined]
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [self.database],
        ).fetchall()
        out["db"] = cpu_seconds([row[0] for row in rows])
        times = os.times()
        out["load"] = times.user + times.system
        return out

    def start(self) -> None:
        self.before = self.sample()

    def per_event_ms(self, events: int) -> dict[str, float]:
        after = self.sample()
        return {
            name: round((after[name] - self.before.get(name, 0.0)) * 1000 / max(events, 1), 2)
            for name in after
        }


def profile_start(
    processes: list[Process], seconds: float, folder: str | None
) -> list[subprocess.Popen[bytes]]:
    """py-spy on every process of the worker and gunicorn for the sustained phase."""
    if not folder:
        return []
    py_spy = shutil.which("py-spy", path=str(Path(PYTHON).parent)) or shutil.which("py-spy")
    if py_spy is None:
        log("--profile needs py-spy: .venv/bin/pip install py-spy")
        return []
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    profilers = []
    for process in processes:
        if process.process is None:
            continue
        for pid in group_pids(process.process.pid):
            command = [
                py_spy, "record", f"--pid={pid}", f"--duration={int(seconds)}", "--rate=250",
                "--format=raw", f"--output={out / f'{process.name}-{pid}.txt'}", "--nonblocking",
            ]  # fmt: skip
            profilers.append(
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
    log(f"Profiling {len(profilers)} processes into {out} (collapsed stacks)")
    return profilers


def purge_redis(url: str) -> None:
    """Drop what the run left in its Redis database: queued messages and no-op results."""
    import redis

    client = redis.Redis.from_url(url)
    keys = ["celery", "unacked", "unacked_index", *client.scan_iter("celery-task-meta-*")]
    client.delete(*keys)


# --- main -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under a minute)")
    parser.add_argument("--rate", type=float, default=50.0, help="offered events/s, steady")
    parser.add_argument("--duration", type=float, default=0, help="seconds of the steady phase")
    parser.add_argument("--clients", type=int, default=8, help="posting threads, sustained")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="record the worker's and gunicorn's processes with py-spy during the sustained "
        "phase (needs py-spy: .venv/bin/pip install py-spy), collapsed stacks per process",
    )
    args = parser.parse_args()
    steady_s = args.duration or (12.0 if args.quick else 60.0)
    sustained_s = 8.0 if args.quick else 30.0
    noop_count = 300 if args.quick else 2000
    orders_needed = int(args.rate * steady_s) + int(sustained_s * 400) + 200

    url, broker = database_url(), redis_url()
    book = database_ensure(url)
    workdir = Path(tempfile.mkdtemp(prefix="mes-bench-events-"))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "REDIS_URL", "DEBUG", "DATABASE_URL"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "mes.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": url,
            "REDIS_URL": broker,
            "CONN_MAX_AGE": "600",
            "LOG_LEVEL": "WARNING",
            "MES_VAR_DIR": str(workdir),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    run = f"{int(time.time()) % 10_000_000}{secrets.token_hex(2)}"
    server: Process | None = None
    worker: Process | None = None
    poster: Poster | None = None
    client_name = ""

    def stop_on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_signal)
    import psycopg

    try:
        log("Migrating ...")
        manage(env, "migrate", "--noinput")
        more = max(0, orders_needed - book)
        log(f"Seeding master data and {more} more orders ({book} there) ...")
        manage(env, "seed_plant", f"--orders={more}", "--customers=50", "--items=200",
               "--lines-per-order=3")  # fmt: skip
        prepared = json.loads(
            manage(
                env,
                "shell",
                "-c",
                f"RULES = {json.dumps(GENERATED_RULES)!r}\nACTIVE = {ACTIVE_RULES}\n" + PREPARE,
            )
            .strip()
            .splitlines()[-1]
        )
        if prepared["active_rules"] != ACTIVE_RULES:
            raise RuntimeError(f"expected {ACTIVE_RULES} active rules, found {prepared}")
        client_name = f"bench-events-{run}"
        key = manage(env, "create_api_client", client_name, "--scope=events:write")
        key = key.strip().splitlines()[-1].strip()
        conn = psycopg.connect(pg_url(url), autocommit=True)
        orders = [
            row[0]
            for row in conn.execute(
                "SELECT number FROM orders_salesorder ORDER BY id LIMIT %s", [orders_needed]
            ).fetchall()
        ]
        purge_redis(broker)
        port = free_port()
        log(f"Starting gunicorn (2x4 gthread) on 127.0.0.1:{port} and one Celery worker "
            f"(prefork, concurrency 2) on {broker}; {ACTIVE_RULES} active rules")  # fmt: skip
        server = gunicorn(env, port, workdir)
        worker = celery_worker(env, broker, workdir)

        log(f"(a) no-op task round trip x {noop_count} ...")
        noop = noop_round_trips(env, broker, noop_count)

        poster = Poster(port, key, threads=args.clients)
        used = 0
        # Warm-up: gunicorn's workers and the Celery worker's processes see their first
        # requests and tasks outside the measurement.
        warm = steady(poster, orders, used, args.rate, 2.0)
        time.sleep(2.2)
        wait_idle(poster, 30)
        wait_processed(conn, list(poster.accepted), 30)
        used += warm
        poster.accepted.clear()

        log(f"(b) steady: {args.rate:.0f} events/s for {steady_s:.0f} s ...")
        offered = steady(poster, orders, used, args.rate, steady_s)
        time.sleep(steady_s + 0.5)
        wait_idle(poster, 30)
        steady_ids = list(poster.accepted)
        processed = wait_processed(conn, steady_ids, 60)
        latencies = latencies_ms(conn, steady_ids)
        used += offered
        steady_errors = dict(poster.errors)
        poster.accepted.clear()

        log(f"(c) sustained: {args.clients} clients as fast as they go for {sustained_s:.0f} s"
            " ...")  # fmt: skip
        meter = CpuMeter(conn, urlsplit(url).path.lstrip("/"), server, worker)
        meter.start()
        profilers = profile_start([worker, server], sustained_s, args.profile)
        flat_out(poster, orders, used, sustained_s)
        wait_idle(poster, 60)
        time.sleep(0.5)
        sustained_ids = list(poster.accepted)
        caught_up = wait_processed(conn, sustained_ids, 180)
        cpu_ms = meter.per_event_ms(len(sustained_ids))
        for profiler in profilers:
            profiler.wait(timeout=60)
        events_per_s, counted = sustained_rate(conn, sustained_ids)
        post_seconds = sustained_s
        conn.close()
        if not worker.alive():
            raise RuntimeError(f"the worker died:\n{worker.log_tail()}")
    finally:
        if poster is not None:
            poster.close()
        for process in (worker, server):
            if process is not None:
                process.stop()
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
        try:
            purge_redis(broker)
        except Exception as exc:  # noqa: BLE001 - report, the run's figures still stand
            log(f"Could not purge the bench's Redis database: {exc}")
        shutil.rmtree(workdir, ignore_errors=True)

    errors = sum(poster.errors.values()) if poster else 0
    log("")
    log(f"Events benchmark ({'quick' if args.quick else 'full'}): {ACTIVE_RULES} active rules, "
        "gunicorn 2x4 gthread, one Celery worker (prefork, concurrency 2), "
        "Postgres, Redis")  # fmt: skip
    log(f"  (a) no-op task round trip: p50 {percentile(noop, 0.5):.1f} ms, "
        f"p99 {percentile(noop, 0.99):.1f} ms ({len(noop)} round trips)")  # fmt: skip
    log(f"  (b) {args.rate:.0f} events/s offered for {steady_s:.0f} s: {len(steady_ids)} "
        f"accepted, {processed} processed, {len(latencies)} exceptions; event-to-exception "
        f"p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
        f"max {max(latencies, default=float('nan')):.1f} ms; "
        f"errors {steady_errors or 0}")  # fmt: skip
    log(f"  (c) sustained: {len(sustained_ids)} events posted in {post_seconds:.0f} s, "
        f"{caught_up} processed; {events_per_s:.1f} events/s end to end ({counted} events, "
        "first occurred to last processed)")  # fmt: skip
    log(f"      CPU per event: API {cpu_ms['api']:.2f} ms, worker {cpu_ms['worker']:.2f} ms, "
        f"Postgres {cpu_ms['db']:.2f} ms, load generator {cpu_ms['load']:.2f} ms")  # fmt: skip
    for sample in poster.samples if poster else []:
        log(f"      e.g. {sample}")
    log("  targets: event-to-exception p99 < 250 ms at 50 events/s; >= 100 events/s "
        "sustained")  # fmt: skip
    figures = {
        "noop_p99_ms": round(percentile(noop, 0.99), 1),
        "event_to_exception_p50_ms": round(percentile(latencies, 0.5), 1),
        "event_to_exception_p99_ms": round(percentile(latencies, 0.99), 1),
        "rate_per_s": args.rate,
        "events_per_s": round(events_per_s, 1),
        "noop_p50_ms": round(percentile(noop, 0.5), 1),
        "cpu_ms_per_event": cpu_ms,
        "steady_events": len(steady_ids),
        "steady_exceptions": len(latencies),
        "sustained_events": len(sustained_ids),
        "errors": errors,
        "active_rules": ACTIVE_RULES,
        "quick": args.quick,
        "load_avg": round(os.getloadavg()[0], 2),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS_DIR / f"events-{stamp}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures), flush=True)
    ok = errors == 0 and processed == len(steady_ids) and caught_up == len(sustained_ids)
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("Interrupted: everything the benchmark started has been stopped.")
        sys.exit(130)
