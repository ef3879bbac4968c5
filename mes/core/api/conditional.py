"""ETag on detail responses, If-Match on updates (412 when stale)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.utils.encoders import JSONEncoder

from mes.core.errors import DomainError


class PreconditionFailed(DomainError):
    code = "precondition_failed"
    status = 412
    title = gettext_lazy("The record changed since you read it")


def etag_for(data: Any) -> str:
    raw = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def _tags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}


def if_none_match_hits(request: Any, etag: str) -> bool:
    """True when the client's cached copy is current (answer 304); weak tags compare equal."""
    wanted = request.headers.get("If-None-Match")
    if not wanted:
        return False
    tags = _tags(wanted)
    return "*" in tags or etag.removeprefix("W/") in tags


def check_if_match(request: Any, current: Any) -> None:
    """Refuse an update whose If-Match does not name the current representation."""
    wanted = request.headers.get("If-Match")
    if not wanted:
        return
    tags = _tags(wanted)
    if "*" in tags:
        return
    if etag_for(current) not in tags:
        raise PreconditionFailed(
            _("The record changed since you read it: GET it again and retry with its new ETag.")
        )


def with_etag(data: Any, code: int = 200, location: str = "") -> Any:
    """A response carrying the record's ETag (and Location for a created one)."""
    from rest_framework.response import Response

    response = Response(data, status=code)
    response["ETag"] = etag_for(data)
    if location:
        response["Location"] = location
    return response


def detail_response(request: Any, data: Any) -> Any:
    """A record as read, with its ETag; 304 when the client's copy is current."""
    from rest_framework import status
    from rest_framework.response import Response

    response = with_etag(data)
    if if_none_match_hits(request, response["ETag"]):
        return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": response["ETag"]})
    return response
