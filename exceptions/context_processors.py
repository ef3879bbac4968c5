"""The open-exceptions counter in the navigation bar."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest

from .selectors import exceptions_open_count_for


def open_exceptions(request: HttpRequest) -> dict[str, Any]:
    """Unresolved exceptions owned by the user's roles: one COUNT query, run only when a
    page shows the badge (never for anonymous users, nor for HTMX partials)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if not user.has_perm("exceptions.view_plantexception"):
        return {}
    # A callable: the template calls it when it shows the badge, the cache keeps it at
    # one query per page.
    return {"open_exceptions_count": cache(lambda: exceptions_open_count_for(user=user))}
