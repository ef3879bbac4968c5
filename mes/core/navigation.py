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
]


def nav_for(user: Any, path: str) -> list[dict[str, Any]]:
    if not getattr(user, "is_authenticated", False):
        return []
    items = []
    for item in NAV:
        if item.permission and not user.has_perm(item.permission):
            continue
        url = reverse(item.url_name)
        items.append({"label": item.label, "url": url, "active": path.startswith(url)})
    if user.is_staff:
        items.append({"label": _("Admin"), "url": reverse("admin:index"), "active": False})
    return items
