"""Who acts when no person does: the plant's own automation (a rule's effect, a beat
task). It may do what its rule or task was set up to do, and records show no person."""

from __future__ import annotations

from typing import Any


class SystemActor:
    pk = None
    id = None
    is_authenticated = True
    is_active = True
    is_superuser = False
    username = "system"

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return True

    def has_perms(self, perms: Any, obj: Any = None) -> bool:
        return True

    def get_full_name(self) -> str:
        return "system"

    def __str__(self) -> str:
        return "system"


SYSTEM = SystemActor()


def permission_require(actor: Any, permission: str, message: str) -> None:
    """Refuse anyone without the permission; a missing actor is refused too."""
    from .errors import NotPermitted

    if actor is None or not actor.has_perm(permission):
        raise NotPermitted(message)


def permission_check(actor: Any, permission: str, message: str) -> None:
    """Refuse a person without the permission; no actor is an internal call (allowed)."""
    if actor is not None:
        permission_require(actor, permission, message)


def action_permission_require(actor: Any, permission: str, action: str) -> None:
    """permission_require with the stock wording: "Sign in to ..." / "not allowed to ..."."""
    from django.utils.translation import gettext as _

    from .errors import NotPermitted

    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotPermitted(_("Sign in to %(action)s.") % {"action": action})
    permission_require(
        actor, permission, _("You are not allowed to %(action)s.") % {"action": action}
    )
