"""One domain error family, raised by services and rendered by the API (problem+json)
and by pages (a message next to the field)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A business rule said no. `code` is stable for clients; `status` maps to HTTP."""

    code = "invalid"
    status = 400
    title = _("The request could not be carried out")

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        errors: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in (errors or {}).items()}
        if field and field not in self.errors:
            self.errors[field] = [message]


class ValidationFailed(DomainError):
    code = "validation_failed"
    title = _("Invalid input")


class NotPermitted(DomainError):
    code = "not_permitted"
    status = 403
    title = _("Not permitted")


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = _("Not found")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = _("Conflict with the record's current state")


class IllegalTransition(Conflict):
    """Raised when a transition is not allowed from the record's current state."""

    code = "illegal_transition"
    title = _("Transition not allowed")

    def __init__(
        self, message: str, *, current_state: str, allowed: list[str], transition: str
    ) -> None:
        super().__init__(message)
        self.current_state = current_state
        self.allowed = allowed
        self.transition = transition
