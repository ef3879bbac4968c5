"""Scopes per integration client: a view names the scope each method needs."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from mes.core.models import ApiClient


class HasScope(BasePermission):
    """`read_scope` for safe methods, `write_scope` for the others (set on the view)."""

    message = "This API client lacks the scope this request needs."

    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        client = request.auth
        if not isinstance(client, ApiClient):
            return False
        method = request.method.lower()
        if method not in view.http_method_names or not hasattr(view, method):
            # No handler: let the view answer 405 rather than a misleading scope error.
            return True
        scope = getattr(
            view, "read_scope" if request.method in SAFE_METHODS else "write_scope", None
        )
        if scope is None:
            return False
        if scope not in client.scopes:
            self.message = f"This API client lacks the scope {scope!r}."
            return False
        return True
