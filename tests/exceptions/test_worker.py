"""A real worker on Redis: an event committed in this process becomes an exception,
raised by a Celery worker in its own process, within seconds."""

from __future__ import annotations

import importlib
import os
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from django.apps import apps as django_apps
from django.db import transaction

from exceptions.models import PlantException
from mes.core.events import event_emit
from mes.core.models import Event
from mes.core.roles import sync_role_permissions
from orders.models import OrderState

from ..core.test_outbox_worker import _publishing_to, _start_worker, _stop, _wait_for
from ..factories import make_order

pytestmark = [
    pytest.mark.broker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"), reason="set REDIS_URL to run the worker (CI does)"
    ),
]

# What the benchmark measures is milliseconds; the worker's start-up is part of this.
RAISED_WITHIN = 30.0


@pytest.fixture
def migrated_data(db: Any) -> None:
    """Transactional tests flush the database, so the data migrations' rows (reason
    codes, roles, the default rules) are put back before each one."""
    importlib.import_module("mes.core.migrations.0002_roles_and_reason_codes").create(
        django_apps, None
    )
    sync_role_permissions()
    importlib.import_module("exceptions.migrations.0002_default_rules").load(django_apps, None)


@pytest.mark.usefixtures("migrated_data")
def test_a_pick_mismatch_posted_through_the_api_reaches_the_board_api_through_the_worker(
    tmp_path: Path, settings: Any, make_api_client: Any
) -> None:
    api_client = make_api_client
    # given: a worker in its own process on Redis, ready (it processed a first event)
    order = make_order(state=OrderState.IN_PRODUCTION)
    broker_url = settings.REDIS_URL
    redis.Redis.from_url(broker_url).delete("celery")  # nothing left from an earlier run
    log = tmp_path / "worker.log"
    worker = None
    try:
        with _publishing_to(broker_url, dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)):
            worker = _start_worker({"REDIS_URL": broker_url}, log)
            with transaction.atomic():
                warm_up = event_emit(
                    type="operation.late",
                    subject=order,
                    payload={"operation": "OP-10", "late_minutes": 5},
                )
            _wait_for(
                lambda: Event.objects.get(pk=warm_up.pk).processed_at is not None,
                timeout=60,
                what="the worker to start and process a first event",
                log=log,
            )

            # when: a gateway posts a pick mismatch through the API
            gateway = api_client(["events:write", "exceptions:read"])
            posted = gateway.post(
                "/api/v1/events/",
                {
                    "type": "pick.mismatch",
                    "subject": {"type": "order", "key": order.number},
                    "payload": {"expected": "PI-00001", "scanned": "PI-00009"},
                },
                format="json",
            )
            assert posted.status_code == 202, posted.content
            event = Event.objects.get(pk=posted.json()["id"])
            committed = time.monotonic()

            # then: the exception board's API shows it within seconds, raised by the worker
            def on_the_board() -> bool:
                listed = gateway.get("/api/v1/exceptions/", {"state": "open"}).json()
                return any(
                    (row["subject"] or {}).get("repr") == order.number for row in listed["results"]
                )

            _wait_for(
                on_the_board,
                timeout=RAISED_WITHIN,
                what="the worker to raise the exception",
                log=log,
            )
            seconds = time.monotonic() - committed
    finally:
        _stop(worker)
    assert seconds < 5, seconds
    exc = PlantException.objects.get()
    assert (exc.title, exc.owner_role.name, exc.state, exc.occurrences, exc.object_id) == (
        "Mis-pick: PI-00009 scanned, PI-00001 expected",
        "Shipping",
        "open",
        1,
        order.pk,
    )
    event.refresh_from_db()
    assert (event.attempts, event.last_error, event.processed_at is not None) == (1, "", True)
    raised = Event.objects.get(type="exception.raised", object_id=exc.pk)
    assert raised.payload["number"] == exc.number
