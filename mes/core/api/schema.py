"""OpenAPI pieces every app's API declares the same way."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

PROBLEM = OpenApiResponse(description="Problem details (application/problem+json)")
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Retry-safe POST: a replay returns the first response.",
)
IF_MATCH_HEADER = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The ETag you read; 412 when the record changed since.",
)
# Master data (items, BOMs, locations, work centers, routings) share one pair of scopes.
MASTERDATA = {"read_scope": "masterdata:read", "write_scope": "masterdata:write"}
