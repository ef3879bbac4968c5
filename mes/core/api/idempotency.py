"""`Idempotency-Key` on POST: a replay returns the first response; the same key with a
different body is 422; two concurrent requests with one key create one record."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from mes.core.errors import Conflict, DomainError
from mes.core.models import ApiClient, IdempotencyRecord

HEADER = "Idempotency-Key"
WAIT_FOR_FIRST_SECONDS = 15.0
# A key still in flight this long after it was claimed belongs to a request that died
# (worker killed, server restarted): no request runs this long, so a retry takes it over.
ABANDONED_AFTER = dt.timedelta(minutes=5)


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422
    title = gettext_lazy("Idempotency-Key reused with a different request")


def _request_fingerprint(request: Any) -> str:
    raw = request.body or b""
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = raw
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.path.encode() + b"\n")
    digest.update(canonical)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    body = json.loads(bytes(record.response_body).decode()) if record.response_body else None
    response = Response(body, status=record.status_code, headers=dict(record.response_headers))
    response["Idempotent-Replayed"] = "true"
    return response


def _abandoned(record: IdempotencyRecord) -> bool:
    """Release a key whose request died in flight; True when this call released it."""
    deleted, _by_model = IdempotencyRecord.objects.filter(
        pk=record.pk,
        completed_at__isnull=True,
        created_at__lt=timezone.now() - ABANDONED_AFTER,
    ).delete()
    return deleted > 0


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a POST handler of an API view."""

    @functools.wraps(handler)
    def wrapper(self: Any, request: Any, *args: Any, **kwargs: Any) -> Response:
        key = (request.headers.get(HEADER) or "").strip()
        client = request.auth
        if not key or not isinstance(client, ApiClient):
            return handler(self, request, *args, **kwargs)
        if len(key) > 200:
            raise DomainError(
                _("%(header)s is longer than 200 characters.") % {"header": HEADER},
                field=HEADER,
            )
        fingerprint = _request_fingerprint(request)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    client=client,
                    key=key,
                    method=request.method,
                    path=request.path[:500],
                    request_hash=fingerprint,
                )
        except IntegrityError:
            record = None
        if record is None:
            deadline = time.monotonic() + WAIT_FOR_FIRST_SECONDS
            while True:
                existing = IdempotencyRecord.objects.filter(client=client, key=key).first()
                if existing is None:
                    # The first request failed and released the key: this one runs now.
                    return wrapper(self, request, *args, **kwargs)
                if existing.completed_at is None and _abandoned(existing):
                    # The request that claimed the key died: this one runs now.
                    return wrapper(self, request, *args, **kwargs)
                if existing.request_hash != fingerprint:
                    raise IdempotencyKeyReused(
                        _("%(header)s '%(key)s' was used for a different request; use a new key.")
                        % {"header": HEADER, "key": key}
                    )
                if existing.completed_at is not None:
                    return _replay(existing)
                if time.monotonic() > deadline:
                    raise Conflict(
                        _(
                            "A request with %(header)s '%(key)s' is still being processed; "
                            "retry later."
                        )
                        % {"header": HEADER, "key": key}
                    )
                time.sleep(0.05)
        try:
            response = handler(self, request, *args, **kwargs)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if 200 <= response.status_code < 300:
            body = json.dumps(response.data, cls=JSONEncoder).encode()
            headers = {k: v for k, v in response.items() if k in {"Location", "ETag"}}
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                status_code=response.status_code,
                response_body=body,
                response_headers=headers,
                completed_at=timezone.now(),
            )
        else:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return response

    return wrapper
