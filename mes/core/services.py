"""Core services: processing the outbox, API clients, pruning."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import ValidationFailed
from .events import EVENT_HANDLERS, collecting_follow_up_events
from .models import ApiClient, Event, IdempotencyRecord
from .roles import INTEGRATION

logger = logging.getLogger(__name__)

API_SCOPES: dict[str, str] = {
    "orders:read": "Read customers, sales orders, promise dates and change requests",
    "orders:write": "Create and update sales orders, run their transitions, request changes",
    "masterdata:read": "Read items, bills of materials, locations and customers",
    "masterdata:write": "Create and update items, bills of materials, locations and customers",
    "events:read": "Read the event feed",
    "exceptions:read": "Read exceptions and tasks",
    "exceptions:write": "Acknowledge and resolve exceptions",
    "events:write": "Post events from outside systems (ERP, machine gateways)",
    "webhooks:write": "Manage the client's webhook subscriptions",
    "inventory:read": "Read stock: balances, moves, lots, receipts, reservations, holds, trace",
    "inventory:write": "Announce expected receipts, transfer stock, reserve and release stock",
    "quality:write": "Place and release quality holds",
    "planning:read": "Read work orders, operations, schedule runs, downtime; ask for promises",
    "planning:write": "Plan, release, hold and cancel work orders; request schedule runs; "
    "report downtime",
    "shipping:read": "Read shipments with their lines, lots, packages and documents (PDF)",
    "shipping:write": "Plan shipments from ready order lines; confirm deliveries",
    "kpis:read": "Read execution KPIs, their breakdowns and daily snapshots",
}


# Follow-up events handled in their parent's transaction; more go through the broker.
MAX_FOLLOW_UPS = 20


def event_process(*, event_id: int) -> Event | None:
    """Run the handlers for one event and mark it processed, exactly once.

    The claim (one UPDATE of the unprocessed row) locks it: a redelivered or re-driven
    copy waits, then finds the event processed and does nothing, so effects are never
    doubled. Events its handlers emit (an exception raised) are handled in the same
    transaction: all of it commits, or none, and a failure leaves the event unprocessed.
    """
    try:
        with transaction.atomic():
            event = _event_claim(event_id)
            if event is None:  # processed already, or gone
                return Event.objects.filter(pk=event_id).first()
            with collecting_follow_up_events(limit=MAX_FOLLOW_UPS) as follow_ups:
                _event_handle(event)
                while follow_ups:  # written processed already (see event_emit)
                    _event_handle(follow_ups.pop(0))
            return event
    except (OperationalError, InterfaceError):
        # The database is unreachable: nothing can be recorded; the task retries with
        # backoff (mes.core.tasks.process_event) and the re-drive remains behind it.
        raise
    except Exception as exc:  # noqa: BLE001 - recorded on the event; the re-drive retries
        logger.exception("event %s failed", event_id)
        Event.objects.filter(pk=event_id, processed_at__isnull=True).update(
            attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        return Event.objects.filter(pk=event_id).first()


def _event_claim(event_id: int) -> Event | None:
    """Mark the event processed and read it, in one statement, if it is not processed
    yet. Its row stays locked until the transaction ends; the handlers' failure rolls the
    mark back with everything else."""
    table = connection.ops.quote_name(Event._meta.db_table)
    claimed = list(
        Event.objects.raw(
            f"UPDATE {table} SET processed_at = %s, attempts = attempts + 1, last_error = '' "  # noqa: S608 - table name from the model
            "WHERE id = %s AND processed_at IS NULL RETURNING *",
            [timezone.now(), event_id],
        )
    )
    return claimed[0] if claimed else None


def _event_handle(event: Event) -> None:
    for handler in EVENT_HANDLERS:
        handler(event)


def events_due_for_redrive(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.OUTBOX_REDRIVE_AFTER_SECONDS)
    return list(
        Event.objects.filter(
            processed_at__isnull=True,
            occurred_at__lte=cutoff,
            attempts__lt=settings.OUTBOX_MAX_ATTEMPTS,
        )
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def events_prune(*, now: dt.datetime | None = None) -> int:
    """Delete processed events past retention; history and ledgers are kept for good."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    deleted, _by_model = Event.objects.filter(processed_at__lt=cutoff).delete()
    return deleted


def idempotency_records_prune(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def api_key_hash(key: str) -> str:
    # Keys are 256-bit random strings, so a plain SHA-256 is enough to store them safely.
    return hashlib.sha256(key.encode()).hexdigest()


def api_client_create(*, name: str, scopes: list[str]) -> tuple[ApiClient, str]:
    """Create an integration client; returns it and its key, which is never shown again."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the client a name."), field="name")
    unknown = sorted(set(scopes) - set(API_SCOPES))
    if unknown:
        raise ValidationFailed(
            _("Unknown scope(s): %(unknown)s. Known: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(API_SCOPES)},
            field="scopes",
        )
    if ApiClient.objects.filter(name=name).exists():
        raise ValidationFailed(
            _("A client named '%(name)s' exists already.") % {"name": name}, field="name"
        )
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = f"mes_{prefix}_{secret}"
    user_model = get_user_model()
    with transaction.atomic():
        user = user_model.objects.create(
            username=f"api-{prefix}", first_name=name[:150], is_active=True
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
        group = Group.objects.filter(name=INTEGRATION).first()
        if group:
            user.groups.add(group)
        client = ApiClient.objects.create(
            name=name,
            key_prefix=prefix,
            key_hash=api_key_hash(key),
            scopes=sorted(set(scopes)),
            user=user,
        )
    return client, key


def api_client_revoke(*, client: ApiClient) -> ApiClient:
    with transaction.atomic():
        client.revoked_at = client.revoked_at or timezone.now()
        client.save(update_fields=["revoked_at"])
        client.user.is_active = False
        client.user.save(update_fields=["is_active"])
    return client
