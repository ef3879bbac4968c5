"""ETag on detail responses, If-Match on updates (412 when stale)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rest_framework.utils.encoders import JSONEncoder

from mes.core.errors import DomainError


class PreconditionFailed(DomainError):
    code = "precondition_failed"
    status = 412
    title = "The record changed since you read it"


def etag_for(data: Any) -> str:
    raw = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def check_if_match(request: Any, current: Any) -> None:
    """Refuse an update whose If-Match does not name the current representation."""
    wanted = request.headers.get("If-Match")
    if not wanted:
        return
    tags = [t.strip() for t in wanted.split(",")]
    if "*" in tags:
        return
    current_tag = etag_for(current)
    normalised = {t.removeprefix("W/") for t in tags}
    if current_tag not in normalised:
        raise PreconditionFailed(
            "The record changed since you read it: GET it again and retry with its new ETag."
        )
