"""Webhooks: subscriptions through the API, signed deliveries to a real local receiver,
retries with backoff on failure, and one delivery per subscription and event."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from typing import Any

import pytest

from exceptions import webhooks
from exceptions.models import PlantException, WebhookDelivery, WebhookSubscription
from exceptions.tasks import deliver_webhook
from mes.core.events import event_emit
from mes.core.models import Event
from mes.core.services import event_process

from ..factories import make_order

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
WEBHOOKS = "/api/v1/webhooks/"
SECRET = "s3cret-s3cret-s3cret"


@pytest.fixture
def hooks_client(make_api_client):  # type: ignore[no-untyped-def]
    return make_api_client(["webhooks:write", "events:write"], name="Hooks ERP")


def subscribe(client: Any, url: str, types: list[str] | None = None) -> WebhookSubscription:
    return webhooks.webhook_subscription_create(
        client=client,
        url=url,
        event_types=types or ["exception.raised", "exception.resolved"],
        secret=SECRET,
    )[0]


def raise_pick_mismatch(hooks_client: Any, capture: Any) -> PlantException:
    """Post an external event; the default rule raises an exception (Celery is eager)."""
    order = make_order(state="in_production")
    body = {
        "type": "pick.mismatch",
        "subject": {"type": "order", "key": order.number},
        "payload": {"expected": "A-1", "scanned": "B-2"},
    }
    with capture(execute=True):
        response = hooks_client.post("/api/v1/events/", body, format="json")
    assert response.status_code == 202, response.content
    return PlantException.objects.get()


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    return response.json()


# --- subscriptions through the API ----------------------------------------------------------


def test_subscribe_returns_the_secret_once_and_lists_only_own(hooks_client, make_api_client):
    # given
    other = make_api_client(["webhooks:write"], name="Other")
    subscribe(other.api_client, "https://other.example/hook")
    # when
    created = hooks_client.post(
        WEBHOOKS,
        {"url": "https://erp.example/hook", "event_types": ["exception.raised"], "name": "ERP"},
        format="json",
    )
    listed = hooks_client.get(WEBHOOKS)
    # then
    assert created.status_code == 201, created.content
    sub = WebhookSubscription.objects.get(name="ERP")
    assert created.json() == {
        "id": sub.pk,
        "name": "ERP",
        "url": "https://erp.example/hook",
        "event_types": ["exception.raised"],
        "active": True,
        "created_at": created.json()["created_at"],
        "secret": sub.secret,
    }
    assert len(sub.secret) >= 32
    assert (sub.client, created["Location"]) == (hooks_client.api_client, f"{WEBHOOKS}{sub.pk}/")
    assert [row["name"] for row in listed.json()] == ["ERP"]
    assert "secret" not in listed.json()[0]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"url": "ftp://erp.example/x", "event_types": ["exception.raised"]},
            {"url": ["Give an http:// or https:// URL."]},
        ),
        ({"url": "https://erp.example/x", "event_types": ["exception.exploded"]}, None),
        (
            {"url": "https://erp.example/x", "event_types": []},
            {
                "event_types": [
                    "Choose at least one event type, e.g. exception.raised, exception.resolved, "
                    "shipment.handed_over, shipment.delivered."
                ]
            },
        ),
        (
            {"url": "https://x.example/", "event_types": ["exception.raised"], "secret": "short"},
            {"secret": ["Use a secret of at least 16 characters."]},
        ),
    ],
)
def test_invalid_subscription_is_400_and_creates_nothing(hooks_client, body, errors):
    # when
    response = hooks_client.post(WEBHOOKS, body, format="json")
    # then
    problem = assert_problem(response, 400)
    if errors is None:
        message = problem["errors"]["event_types"][0]
        assert message.startswith("Unknown event type(s): exception.exploded. Known: ")
        assert "exception.raised, exception.reopened, exception.resolved" in message
    else:
        assert problem["errors"] == errors
    assert WebhookSubscription.objects.count() == 0


def test_delete_own_subscription_only(hooks_client, make_api_client):
    # given
    mine = subscribe(hooks_client.api_client, "https://erp.example/hook")
    other = make_api_client(["webhooks:write"], name="Other")
    theirs = subscribe(other.api_client, "https://other.example/hook")
    # when
    refused = hooks_client.delete(f"{WEBHOOKS}{theirs.pk}/")
    deleted = hooks_client.delete(f"{WEBHOOKS}{mine.pk}/")
    # then
    assert_problem(refused, 404)
    assert deleted.status_code == 204
    assert list(WebhookSubscription.objects.values_list("pk", flat=True)) == [theirs.pk]


def test_webhooks_need_their_scope(make_api_client):
    # given
    reader = make_api_client(["exceptions:read"])
    # when
    response = reader.post(
        WEBHOOKS, {"url": "https://x.example/", "event_types": ["exception.raised"]}, format="json"
    )
    # then
    assert assert_problem(response, 403)["detail"] == (
        "This API client lacks the scope 'webhooks:write'."
    )
    assert WebhookSubscription.objects.count() == 0


# --- delivery -------------------------------------------------------------------------------


def test_raised_exception_is_delivered_signed(
    hooks_client, receiver, django_capture_on_commit_callbacks
):
    # given
    subscription = subscribe(hooks_client.api_client, receiver.url)
    # when
    exc = raise_pick_mismatch(hooks_client, django_capture_on_commit_callbacks)
    # then: one POST, signed with the subscription's secret over the raw body
    assert len(receiver.received) == 1
    request = receiver.received[0]
    expected = hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-MES-Signature"] == f"sha256={expected}"
    assert request["headers"]["X-MES-Event"] == "exception.raised"
    assert request["headers"]["Content-Type"] == "application/json"
    delivery = WebhookDelivery.objects.get()
    assert request["headers"]["X-MES-Delivery"] == str(delivery.pk)
    raised = Event.objects.get(type="exception.raised")
    body = json.loads(request["body"])
    assert body == {
        "id": raised.pk,
        "type": "exception.raised",
        "occurred_at": raised.occurred_at.isoformat(),
        "subject": {"type": "exceptions.plantexception", "id": exc.pk, "repr": exc.number},
        "payload": {
            "number": exc.number,
            "title": "Mis-pick: B-2 scanned, A-1 expected",
            "severity": "medium",
            "owner_role": "Shipping",
            "rule": "Pick mismatch: raise to Shipping",
        },
    }
    assert (delivery.subscription, delivery.status, delivery.attempts) == (
        subscription,
        WebhookDelivery.Status.DELIVERED,
        1,
    )
    assert (delivery.last_status_code, delivery.last_error) == (200, "")
    assert delivery.delivered_at is not None


def test_only_subscribed_types_and_active_subscriptions_get_deliveries(
    hooks_client, receiver, django_capture_on_commit_callbacks
):
    # given
    subscribe(hooks_client.api_client, receiver.url, ["exception.resolved"])
    inactive = subscribe(hooks_client.api_client, receiver.url, ["exception.raised"])
    WebhookSubscription.objects.filter(pk=inactive.pk).update(active=False)
    # when
    raise_pick_mismatch(hooks_client, django_capture_on_commit_callbacks)
    # then
    assert receiver.received == []
    assert WebhookDelivery.objects.count() == 0


def test_redelivered_event_creates_no_second_delivery(
    hooks_client, receiver, django_capture_on_commit_callbacks
):
    # given: an exception.raised event delivered once
    subscribe(hooks_client.api_client, receiver.url)
    raise_pick_mismatch(hooks_client, django_capture_on_commit_callbacks)
    raised = Event.objects.get(type="exception.raised")
    # when: the outbox hands the same event over again (re-drive after a lost ack)
    Event.objects.filter(pk=raised.pk).update(processed_at=None)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        event_process(event_id=raised.pk)
        webhooks.webhooks_enqueue(raised)
    # then
    assert callbacks == []
    assert WebhookDelivery.objects.count() == 1
    assert len(receiver.received) == 1


def test_failing_receiver_is_retried_with_backoff_then_marked_failed(
    hooks_client, receiver, monkeypatch
):
    # given: a receiver answering 500 and a pending delivery
    receiver.status = 500
    subscription = subscribe(hooks_client.api_client, receiver.url)
    event = event_emit(type="workcenter.up", payload={"work_center": "WC-1"})
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_id=event.pk,
        event_type=event.type,
        payload=webhooks.webhook_body(event),
    )
    countdowns: list[int] = []

    def countdown(retries: int) -> int:
        countdowns.append(real_countdown(retries))
        return countdowns[-1]

    real_countdown = webhooks.webhook_retry_countdown
    monkeypatch.setattr(webhooks, "webhook_retry_countdown", countdown)
    # Eager Celery runs each retry at once (the countdown is only noted); let the chain
    # run to its end instead of propagating the first retry.
    monkeypatch.setitem(deliver_webhook.app.conf, "task_eager_propagates", False)
    # when
    result = deliver_webhook.apply(args=[delivery.pk], throw=False)
    # then: five retries with growing countdowns, each attempt recorded, the last one
    # marks the delivery failed
    assert countdowns == [10, 30, 90, 270, 810]
    assert (result.state, result.result) == ("SUCCESS", False)
    delivery.refresh_from_db()
    assert len(receiver.received) == webhooks.WEBHOOK_MAX_ATTEMPTS == 6
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        WebhookDelivery.Status.FAILED,
        6,
        500,
    )
    assert delivery.last_error == "The receiver answered 500."
    assert delivery.delivered_at is None


def test_one_failed_attempt_leaves_the_delivery_pending_for_the_retry(hooks_client, receiver):
    # given
    receiver.status = 503
    subscription = subscribe(hooks_client.api_client, receiver.url)
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event_id=1, event_type="exception.raised", payload={"id": 1}
    )
    # when
    outcome = webhooks.webhook_deliver(delivery_id=delivery.pk)
    # then
    delivery.refresh_from_db()
    assert outcome == webhooks.DeliveryOutcome(delivered=False, retry=True)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        WebhookDelivery.Status.PENDING,
        1,
        503,
    )


def test_unreachable_receiver_records_the_network_error(hooks_client):
    # given: a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subscription = subscribe(hooks_client.api_client, f"http://127.0.0.1:{port}/")
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event_id=1, event_type="exception.raised", payload={"id": 1}
    )
    # when
    outcome = webhooks.webhook_deliver(delivery_id=delivery.pk)
    # then
    delivery.refresh_from_db()
    assert outcome.retry is True
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        WebhookDelivery.Status.PENDING,
        1,
        None,
    )
    assert delivery.last_error.startswith("URLError: ")
    assert "refused" in delivery.last_error.lower()


def test_a_delivered_delivery_is_not_sent_again(hooks_client, receiver):
    # given
    subscription = subscribe(hooks_client.api_client, receiver.url)
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event_id=1, event_type="exception.raised", payload={"id": 1}
    )
    webhooks.webhook_deliver(delivery_id=delivery.pk)
    # when: the task message comes again (acks_late redelivery)
    outcome = webhooks.webhook_deliver(delivery_id=delivery.pk)
    # then
    delivery.refresh_from_db()
    assert outcome == webhooks.DeliveryOutcome(delivered=False, retry=False)
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.DELIVERED, 1)
    assert len(receiver.received) == 1
