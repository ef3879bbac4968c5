"""The integration boundary of the exceptions app: events posted by outside systems
(ERP, machine gateways) and webhooks that tell outside systems what happened.

In: `event_post_external` checks an event against the catalogue (external types only,
payload against the type's schema, the subject resolved) and emits it through the outbox,
so the worker runs the rules as for any event.

Out: `webhooks_enqueue` is an event handler (it runs in the worker's processing
transaction). For each active subscription to the event's type it records one
`WebhookDelivery` (unique per subscription and event, so a redelivered event adds none)
and queues `exceptions.tasks.deliver_webhook` after commit. `webhook_deliver` makes one
signed POST attempt and records it; the task retries with backoff.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from mes.core.errors import NotFound, ValidationFailed
from mes.core.events import EVENT_TYPES, enqueue_after_commit, event_emit, register_event_handler
from mes.core.models import ApiClient, Event

from .caching import subscriptions_cache
from .models import WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

# An event's reported time may run ahead of ours by this much (clock skew), not more.
OCCURRED_AT_SKEW = dt.timedelta(minutes=5)
WEBHOOK_TIMEOUT_SECONDS = 5
WEBHOOK_MAX_ATTEMPTS = 6
WEBHOOK_EVENT_TYPES = (
    "exception.raised",
    "exception.resolved",
    "shipment.handed_over",
    "shipment.delivered",
)
SIGNATURE_HEADER = "X-MES-Signature"


# --- events from outside -----------------------------------------------------------------


def _resolve_order(key: str) -> models.Model | None:
    from orders.models import SalesOrder

    return (
        SalesOrder.objects.filter(number=key).first()
        or SalesOrder.objects.filter(external_id=key).first()
    )


def _resolve_item(key: str) -> models.Model | None:
    from inventory.models import Item

    return Item.objects.filter(sku=key).first()


@dataclass(frozen=True)
class SubjectKind:
    model_label: str  # as EventType.subject names it
    resolve: Callable[[str], models.Model | None]
    key_help: str


SUBJECT_KINDS: dict[str, SubjectKind] = {
    "order": SubjectKind("orders.SalesOrder", _resolve_order, "order number or ERP id"),
    "item": SubjectKind("inventory.Item", _resolve_item, "SKU"),
}


def external_event_types() -> list[str]:
    return sorted(name for name, event_type in EVENT_TYPES.items() if event_type.external)


def _value_error(kind: str, value: Any) -> str | None:
    """Why `value` is not of the schema type `kind`, or None when it is."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    checks: dict[str, tuple[bool, str]] = {
        "string": (isinstance(value, str), _("Expected a string.")),
        "integer": (
            isinstance(value, int) and not isinstance(value, bool),
            _("Expected an integer."),
        ),
        "number": (is_number, _("Expected a number.")),
        "boolean": (isinstance(value, bool), _("Expected true or false.")),
        "object": (isinstance(value, dict), _("Expected an object.")),
        "list": (isinstance(value, list), _("Expected a list.")),
    }
    if kind == "date":
        try:
            ok = isinstance(value, str) and parse_date(value) is not None
        except ValueError:
            ok = False
        return None if ok else _("Expected a date as YYYY-MM-DD.")
    if kind == "datetime":
        try:
            ok = isinstance(value, str) and parse_datetime(value) is not None
        except ValueError:
            ok = False
        return None if ok else _("Expected a date and time in ISO 8601, e.g. 2025-01-31T14:05:00Z.")
    ok, message = checks[kind]
    return None if ok else message


def payload_errors(schema: Mapping[str, str], payload: Mapping[str, Any]) -> dict[str, list[str]]:
    """Field errors (keyed `payload.<field>`) of a payload against an event type's schema."""
    errors: dict[str, list[str]] = {}
    for name, spec in schema.items():
        optional = spec.endswith("?")
        kind = spec.rstrip("?")
        if name not in payload:
            if not optional:
                errors[f"payload.{name}"] = [_("This field is required.")]
            continue
        value = payload[name]
        if value is None:
            if not optional:
                errors[f"payload.{name}"] = [_("This field may not be null.")]
            continue
        message = _value_error(kind, value)
        if message:
            errors[f"payload.{name}"] = [message]
    known = ", ".join(schema) or _("none")
    for name in payload:
        if name not in schema:
            errors[f"payload.{name}"] = [
                _("Unknown field. Known fields: %(known)s.") % {"known": known}
            ]
    return errors


def _subject_resolve(event_type: Any, subject_ref: Mapping[str, Any] | None) -> Any:
    if not subject_ref:
        return None
    kind_name = str(subject_ref.get("type") or "")
    key = str(subject_ref.get("key") or "").strip()
    kind = SUBJECT_KINDS.get(kind_name)
    if kind is None:
        raise ValidationFailed(
            _("Unknown subject type %(type)r. Known: %(known)s.")
            % {"type": kind_name, "known": ", ".join(SUBJECT_KINDS)},
            field="subject.type",
        )
    wanted = event_type.subject.lower()
    if wanted in {k.model_label.lower() for k in SUBJECT_KINDS.values()} and (
        wanted != kind.model_label.lower()
    ):
        expected = next(n for n, k in SUBJECT_KINDS.items() if k.model_label.lower() == wanted)
        raise ValidationFailed(
            _("%(event)s is about a %(expected)s, not a %(given)s.")
            % {"event": event_type.name, "expected": expected, "given": kind_name},
            field="subject.type",
        )
    subject = kind.resolve(key) if key else None
    if subject is None:
        raise ValidationFailed(
            _("No %(type)s with %(help)s %(key)r.")
            % {"type": kind_name, "help": kind.key_help, "key": key},
            field="subject.key",
        )
    return subject


def event_post_external(
    *,
    type: str,  # noqa: A002 - the event's own name for it
    subject_ref: Mapping[str, Any] | None,
    payload: Mapping[str, Any],
    occurred_at: dt.datetime | None,
    user: Any,
) -> Event:
    """Accept an event from an outside system: refuse what the catalogue does not allow,
    then emit it through the outbox (the worker runs its rules after commit)."""
    event_type = EVENT_TYPES.get(type)
    if event_type is None or not event_type.external:
        known = ", ".join(external_event_types())
        if event_type is None:
            message = _("Unknown event type %(type)r. Known external types: %(known)s.")
        else:
            message = _(
                "%(type)s is emitted by the MES itself and cannot be posted. "
                "Known external types: %(known)s."
            )
        raise ValidationFailed(message % {"type": type, "known": known}, field="type")
    errors = payload_errors(event_type.schema, payload)
    if errors:
        raise ValidationFailed(
            _("The payload does not match the schema of %(type)s.") % {"type": type},
            errors=errors,
        )
    if occurred_at is not None and occurred_at > timezone.now() + OCCURRED_AT_SKEW:
        raise ValidationFailed(_("occurred_at is in the future."), field="occurred_at")
    subject = _subject_resolve(event_type, subject_ref)
    # One INSERT is its own transaction: no BEGIN/COMMIT round trips around it.
    return event_emit(
        type=type,
        subject=subject,
        payload=dict(payload),
        actor=user,
        occurred_at=occurred_at,
    )


# --- webhook subscriptions -----------------------------------------------------------------


def _check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValidationFailed(_("Give an http:// or https:// URL."), field="url")
    return url


def webhook_subscription_create(
    *,
    client: ApiClient,
    url: str,
    event_types: list[str],
    name: str = "",
    secret: str = "",
) -> tuple[WebhookSubscription, str]:
    """Subscribe an API client's URL to event types; returns the subscription and its
    signing secret (generated when not given)."""
    errors: dict[str, list[str]] = {}
    try:
        url = _check_url(url)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if not event_types:
        errors["event_types"] = [
            _("Choose at least one event type, e.g. %(types)s.")
            % {"types": ", ".join(WEBHOOK_EVENT_TYPES)}
        ]
    elif unknown:
        errors["event_types"] = [
            _("Unknown event type(s): %(unknown)s. Known: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(sorted(EVENT_TYPES))}
        ]
    name = (name or "").strip() or f"{client.name} {secrets.token_hex(3)}"
    if WebhookSubscription.objects.filter(name=name).exists():
        errors["name"] = [_("A subscription named '%(name)s' exists already.") % {"name": name}]
    secret = (secret or "").strip() or secrets.token_urlsafe(32)
    if len(secret) < 16:
        errors["secret"] = [_("Use a secret of at least 16 characters.")]
    if errors:
        raise ValidationFailed(_("The subscription is not valid."), errors=errors)
    subscription = WebhookSubscription.objects.create(
        name=name[:100],
        url=url,
        secret=secret,
        event_types=sorted(set(event_types)),
        client=client,
    )
    return subscription, secret


def webhook_subscriptions_of(*, client: ApiClient) -> models.QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(client=client).order_by("created_at", "id")


def webhook_subscription_delete(*, client: ApiClient, subscription_id: int) -> None:
    """A client removes one of its own subscriptions (its delivery log goes with it)."""
    deleted, _by_model = WebhookSubscription.objects.filter(
        client=client, pk=subscription_id
    ).delete()
    if not deleted:
        raise NotFound(_("You have no webhook subscription %(id)s.") % {"id": subscription_id})


# --- deliveries -----------------------------------------------------------------------------


def webhook_body(event: Event) -> dict[str, Any]:
    """What a receiver gets: the event as JSON."""
    subject = None
    if event.content_type_id is not None:
        ct = ContentType.objects.get_for_id(event.content_type_id)
        subject = {
            "type": f"{ct.app_label}.{ct.model}",
            "id": event.object_id,
            "repr": event.subject_repr,
        }
    return {
        "id": event.pk,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "subject": subject,
        "payload": event.payload,
    }


def webhook_signature(*, secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@register_event_handler
def webhooks_enqueue(event: Event) -> None:
    """One delivery per matching subscription, queued after the processing commits."""
    active = subscriptions_cache.get(
        "active", lambda: list(WebhookSubscription.objects.filter(active=True))
    )
    subscriptions = [s for s in active if event.type in s.event_types]
    if not subscriptions:
        return
    from .tasks import deliver_webhook

    body = webhook_body(event)
    for subscription in subscriptions:
        delivery, created = WebhookDelivery.objects.get_or_create(
            subscription=subscription,
            event_id=event.pk,
            defaults={"event_type": event.type, "payload": body},
        )
        if created:
            enqueue_after_commit(deliver_webhook, delivery.pk)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A receiver answers itself: a redirect counts as a failed attempt."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST and return the status code; HTTP errors come back as their code."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only, checked on subscribe
    try:
        with _opener.open(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass(frozen=True)
class DeliveryOutcome:
    delivered: bool
    retry: bool  # the attempt failed and another is allowed


def webhook_deliver(*, delivery_id: int, last_attempt: bool = False) -> DeliveryOutcome:
    """Make one signed POST attempt and record it. Nothing is held locked during the call.

    `last_attempt`: a failure marks the delivery failed instead of leaving it pending.
    """
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return DeliveryOutcome(delivered=False, retry=False)
    subscription = delivery.subscription
    if not subscription.active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, last_error=_("The subscription is inactive.")
        )
        return DeliveryOutcome(delivered=False, retry=False)
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "MES-Webhooks/1",
        "X-MES-Event": delivery.event_type,
        "X-MES-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: webhook_signature(secret=subscription.secret, body=body),
    }
    status_code: int | None = None
    error = ""
    try:
        status_code = _post(subscription.url, body, headers)
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused, bad host
        error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    delivered = status_code is not None and 200 <= status_code < 300
    if not delivered and not error:
        error = _("The receiver answered %(status)s.") % {"status": status_code}
    if delivered:
        status = WebhookDelivery.Status.DELIVERED
    elif last_attempt:
        status = WebhookDelivery.Status.FAILED
    else:
        status = WebhookDelivery.Status.PENDING
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=F("attempts") + 1,
        last_status_code=status_code,
        last_error=error[:2000],
        status=status,
        delivered_at=timezone.now() if delivered else None,
    )
    if not delivered:
        logger.info("webhook delivery %s failed: %s", delivery.pk, error)
    return DeliveryOutcome(delivered=delivered, retry=not delivered and not last_attempt)


def webhook_retry_countdown(retries: int) -> int:
    """Seconds before the next attempt: 10, 30, 90, 270, 810."""
    return 10 * 3**retries
