"""The event pipeline for real: a Celery worker in its own process, on a real broker.

The worker runs `celery -A mes worker` with the test settings, non-eager, against the
test database this process uses, and the broker this process publishes to: Redis when
REDIS_URL is set, and kombu's filesystem transport in a temporary folder always. A
second test runs its own Redis server, stops it, commits an event, starts it again and
shows the re-drive gets the event processed exactly once.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from django.db import connection
from django.utils import timezone
from kombu import pools

from mes.celery import app
from mes.core.models import Event
from mes.core.roles import PLANNER
from mes.core.tasks import redrive_events
from orders import services
from orders.models import SalesOrder

from ..factories import CustomerFactory, ItemFactory, user_with_role

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")
PROCESS_TIMEOUT = 30.0


# --- helpers ------------------------------------------------------------------------------


def _test_database_url() -> str:
    """The URL of the database this test process uses (the *test* database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _filesystem_broker(folder: Path) -> dict[str, Any]:
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "control_folder": str(folder / "control"),
        "polling_interval": 0.1,
    }


def _reset_publisher_connections() -> None:
    """Forget pooled broker connections, so the next publish connects to the new broker."""
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    pools.reset()


@contextmanager
def _publishing_to(broker_url: str, transport_options: dict[str, Any]) -> Iterator[None]:
    """This process publishes tasks to `broker_url` instead of running them inline."""
    changes = {
        "broker_url": broker_url,
        "broker_read_url": broker_url,
        "broker_write_url": broker_url,
        "broker_transport_options": transport_options,
        "task_always_eager": False,
    }
    saved = {key: app.conf.get(key) for key in changes}
    app.conf.update(changes)
    _reset_publisher_connections()
    try:
        yield
    finally:
        app.conf.update(saved)
        _reset_publisher_connections()


def _worker_env(broker: dict[str, str]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "MES_BROKER_DIR", "DATABASE_URL", "CELERY_BROKER_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="mes.settings.test",
        DATABASE_URL=_test_database_url(),
        MES_CELERY_EAGER="0",
        PYTHONUNBUFFERED="1",
        **broker,
    )
    return env


def _start(cmd: list[str], *, env: dict[str, str] | None, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd,
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its children
        )


def _start_worker(broker: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "mes",
        "worker",
        "--pool=solo",
        "-Q",
        "celery",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
    ]
    return _start(cmd, env=_worker_env(broker), log=log)


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_for(condition: Callable[[], bool], *, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    output = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; log:\n{output}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_redis(port: int, log: Path) -> subprocess.Popen[bytes]:
    assert REDIS_SERVER is not None
    cmd = [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(port)]
    cmd += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
    proc = _start(cmd, env=None, log=log)
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    _wait_for(answers, timeout=10, what=f"redis-server on port {port}", log=log)
    return proc


def _order_events(order: SalesOrder) -> list[Event]:
    return list(Event.objects.filter(object_id=order.pk, type__startswith="order.").order_by("id"))


def _create_order() -> tuple[SalesOrder, float]:
    """Commit an order (and its events) through the real service; returns the seconds taken."""
    planner = user_with_role(PLANNER, username="broker-planner")
    customer = CustomerFactory()
    item = ItemFactory()
    lines = [
        services.LineInput(
            item=item,
            quantity=Decimal(5),
            requested_date=timezone.localdate() + dt.timedelta(days=14),
        )
    ]
    started = time.monotonic()
    order = services.sales_order_create(customer=customer, user=planner, lines=lines)
    return order, time.monotonic() - started


def _all_processed(order: SalesOrder) -> Callable[[], bool]:
    def check() -> bool:
        events = _order_events(order)
        return bool(events) and all(event.processed_at is not None for event in events)

    return check


# --- a real worker processes what a service committed ------------------------------------


@pytest.mark.parametrize(
    "broker_kind",
    [
        "filesystem",
        pytest.param(
            "redis",
            marks=pytest.mark.skipif(
                not os.environ.get("REDIS_URL"),
                reason="set REDIS_URL to run the worker on Redis (CI does)",
            ),
        ),
    ],
)
def test_a_real_worker_processes_a_committed_event(
    broker_kind: str, tmp_path: Path, settings: Any
) -> None:
    # given: a worker in its own process on the broker this process publishes to
    if broker_kind == "redis":
        broker_url, options = settings.REDIS_URL, dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
        redis.Redis.from_url(broker_url).delete("celery")  # nothing left from an earlier run
        worker_broker = {"REDIS_URL": broker_url}
    else:
        broker_url, options = "filesystem://localhost/", _filesystem_broker(tmp_path / "broker")
        worker_broker = {"MES_BROKER_DIR": str(tmp_path / "broker")}
    log = tmp_path / "worker.log"
    worker = None
    try:
        with _publishing_to(broker_url, options):
            worker = _start_worker(worker_broker, log)

            # when: a service commits an order; its events are published on commit
            order, _ = _create_order()

            # then: the worker marks every event of the order processed, once
            _wait_for(
                _all_processed(order),
                timeout=PROCESS_TIMEOUT,
                what="the worker to process the order's events",
                log=log,
            )
    finally:
        _stop(worker)
    events = _order_events(order)
    assert [(e.type, e.attempts, e.last_error) for e in events] == [("order.created", 1, "")]


# --- broker down, then up: the re-drive gets the event processed exactly once ------------


@pytest.mark.skipif(REDIS_SERVER is None, reason="needs the redis-server program")
def test_an_event_committed_while_the_broker_is_down_is_processed_once_after_it_is_back(
    tmp_path: Path, settings: Any
) -> None:
    # given: this process publishes to a Redis server of its own, which then goes down
    port = _free_port()
    broker_url = f"redis://127.0.0.1:{port}/0"
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    options.update(socket_connect_timeout=2, socket_timeout=5)
    redis_log, worker_log = tmp_path / "redis.log", tmp_path / "worker.log"
    settings.OUTBOX_REDRIVE_AFTER_SECONDS = 0
    server = worker = None
    try:
        with _publishing_to(broker_url, options):
            server = _start_redis(port, redis_log)
            with app.pool.acquire(block=True) as conn:  # a pooled connection goes stale
                conn.ensure_connection(max_retries=1)
            _stop(server)

            # when: a service commits an order while nothing listens on the broker's port
            order, seconds = _create_order()

            # then: the request neither hung nor failed, and the event waits in the outbox
            assert seconds < 5
            assert [(e.type, e.processed_at, e.attempts) for e in _order_events(order)] == [
                ("order.created", None, 0)
            ]

            # when: the broker is back, beat's re-drive runs twice (so the event is
            # delivered twice), and then a worker starts
            server = _start_redis(port, redis_log)
            redriven = [redrive_events(), redrive_events()]
            queue = redis.Redis.from_url(broker_url)
            assert (redriven, queue.llen("celery")) == ([1, 1], 2)
            worker = _start_worker({"REDIS_URL": broker_url}, worker_log)

            # then: the event is processed, and both deliveries are consumed and acked
            _wait_for(
                _all_processed(order),
                timeout=PROCESS_TIMEOUT,
                what="the re-driven event to be processed",
                log=worker_log,
            )
            _wait_for(
                lambda: queue.llen("celery") == 0 and queue.hlen("unacked") == 0,
                timeout=PROCESS_TIMEOUT,
                what="the worker to consume the second delivery",
                log=worker_log,
            )
    finally:
        _stop(worker)
        _stop(server)
    events = _order_events(order)
    assert [(e.type, e.attempts, e.last_error) for e in events] == [("order.created", 1, "")]
    assert Event.objects.filter(processed_at__isnull=True).count() == 0
