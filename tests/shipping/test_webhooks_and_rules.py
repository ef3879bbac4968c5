"""The ERP hears of a handover through a signed webhook (retried with backoff, every
attempt logged); the rule engine sees shipments as subjects and the handover check
point's fields."""

from __future__ import annotations

import hashlib
import hmac
import json
from types import SimpleNamespace
from typing import Any

import pytest

from exceptions import webhooks
from exceptions.conditions import condition_check
from exceptions.engine import decision_point_fields
from exceptions.models import DecisionRule, WebhookDelivery
from exceptions.tasks import deliver_webhook
from mes.core.models import Event

from .conftest import hand_over, to_documented, verify_all

pytestmark = pytest.mark.django_db

SECRET = "erp-shared-secret-0123456789"


def _subscribe(client: Any, url: str) -> Any:
    return webhooks.webhook_subscription_create(
        client=client, url=url, event_types=["shipment.handed_over"], secret=SECRET
    )[0]


def test_the_erp_gets_a_signed_handover(
    ship_world: SimpleNamespace,
    shipping_user: Any,
    make_api_client: Any,
    receiver: Any,
    django_capture_on_commit_callbacks: Any,
):
    # given: the ERP subscribed to handovers
    w = ship_world
    erp = make_api_client(["webhooks:write"], name="ERP")
    subscription = _subscribe(erp.api_client, receiver.url)
    shipment = to_documented(w, shipping_user)
    verify_all(shipment, shipping_user)
    # when: handed over; the outbox worker runs after commit (eager Celery)
    with django_capture_on_commit_callbacks(execute=True):
        hand_over(w, shipment, shipping_user)
    # then: one POST, signed with the shared secret over the raw body
    assert len(receiver.received) == 1
    request = receiver.received[0]
    digest = hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-MES-Signature"] == f"sha256={digest}"
    assert request["headers"]["X-MES-Event"] == "shipment.handed_over"
    body = json.loads(request["body"])
    event = Event.objects.get(type="shipment.handed_over")
    assert (body["id"], body["type"], body["subject"]) == (
        event.pk,
        "shipment.handed_over",
        {"type": "shipping.shipment", "id": shipment.pk, "repr": shipment.number},
    )
    assert body["payload"]["number"] == shipment.number
    assert body["payload"]["orders"] == [w.order.number]
    assert body["payload"]["tracking_number"] == "JD0146000012345"
    assert {line["item"] for line in body["payload"]["lines"]} == {"RESIN-7", "BOLT-M8"}
    # and the delivery is logged
    delivery = WebhookDelivery.objects.get()
    assert (delivery.subscription, delivery.status, delivery.attempts, delivery.event_id) == (
        subscription,
        WebhookDelivery.Status.DELIVERED,
        1,
        event.pk,
    )


def test_a_failing_receiver_is_retried_and_each_attempt_logged(
    ship_world: SimpleNamespace,
    shipping_user: Any,
    make_api_client: Any,
    receiver: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: Any,
):
    # given: the ERP's receiver answers 503
    w = ship_world
    receiver.status = 503
    erp = make_api_client(["webhooks:write"], name="ERP")
    _subscribe(erp.api_client, receiver.url)
    shipment = to_documented(w, shipping_user)
    verify_all(shipment, shipping_user)
    countdowns: list[int] = []
    real_countdown = webhooks.webhook_retry_countdown

    def countdown(retries: int) -> int:
        countdowns.append(real_countdown(retries))
        return countdowns[-1]

    monkeypatch.setattr(webhooks, "webhook_retry_countdown", countdown)
    # Eager Celery runs each retry at once; let the chain run to its end.
    monkeypatch.setitem(deliver_webhook.app.conf, "task_eager_propagates", False)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        hand_over(w, shipment, shipping_user)
    # then: retried with growing waits, every attempt recorded, finally failed
    assert countdowns == [10, 30, 90, 270, 810]
    assert len(receiver.received) == webhooks.WEBHOOK_MAX_ATTEMPTS
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        WebhookDelivery.Status.FAILED,
        webhooks.WEBHOOK_MAX_ATTEMPTS,
        503,
    )
    assert delivery.last_error == "The receiver answered 503."
    # and the handover itself stands
    assert shipment.__class__.objects.get(pk=shipment.pk).state == "handed_over"


def test_shipment_events_are_offered_to_subscribers():
    assert {"shipment.handed_over", "shipment.delivered"} <= set(webhooks.WEBHOOK_EVENT_TYPES)


def test_rules_see_the_shipment_and_the_handover_fields():
    # the handover check point: the order, and what shipping supplies
    fields = decision_point_fields("shipment_handover")
    assert {"order", "shipment", "quality_hold"} <= set(fields)
    assert {"documents_complete", "packages", "weight_kg", "short_lines", "orders"} <= set(
        fields["shipment"]
    )
    condition_check(
        expression="shipment.short_lines > 0 and order.customer.priority_class == 'A'",
        fields=fields,
    )
    # shipment events: their payload and the shipment as subject
    dispatch = decision_point_fields("shipment.incorrect_dispatch")
    assert {"label", "belongs_to", "shipment"} <= set(dispatch)
    condition_check(expression="shipment.incorrect_dispatches > 2", fields=dispatch)


def test_the_default_dispatch_rule_exists_once():
    rule = DecisionRule.objects.get(decision_point="shipment.incorrect_dispatch")
    assert (rule.effect, rule.owner_role.name, rule.severity, rule.active) == (
        "raise_exception",
        "Shipping",
        "high",
        True,
    )
    condition_check(
        expression=rule.condition, fields=decision_point_fields("shipment.incorrect_dispatch")
    )
