"""Navigation by role: each user sees the places their role works in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    label: Any
    url_name: str
    permission: str | None


NAV: list[NavItem] = [
    NavItem(_("Orders"), "orders:list", "orders.view_salesorder"),
    NavItem(_("Change requests"), "orders:change_requests", "orders.view_changerequest"),
    NavItem(_("Plant board"), "core:board", "orders.view_salesorder"),
    NavItem(_("Events"), "core:events", "core.view_event"),
    NavItem(_("Exceptions"), "exceptions:board", "exceptions.view_plantexception"),
    NavItem(_("My tasks"), "exceptions:tasks", "exceptions.view_task"),
]


def nav_for(user: Any, path: str) -> list[dict[str, Any]]:
    """The entries this user may open; the one whose URL is the longest prefix of the
    current path is active (so /orders/changes/ marks "Change requests", not "Orders")."""
    if not getattr(user, "is_authenticated", False):
        return []
    items = []
    for item in NAV:
        if item.permission and not user.has_perm(item.permission):
            continue
        url = reverse(item.url_name)
        items.append({"label": item.label, "url": url, "active": False, "url_name": item.url_name})
    if user.is_staff:
        items.append({"label": _("Admin"), "url": reverse("admin:index"), "active": False})
    matches = [entry for entry in items if path.startswith(entry["url"])]
    if matches:
        max(matches, key=lambda entry: len(entry["url"]))["active"] = True
    return items
