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
    # One permission, or a tuple of which any one opens the entry.
    permission: str | tuple[str, ...] | None


NAV: list[NavItem] = [
    NavItem(_("Orders"), "orders:list", "orders.view_salesorder"),
    NavItem(_("Change requests"), "orders:change_requests", "orders.view_changerequest"),
    NavItem(_("Plant board"), "core:board", "orders.view_salesorder"),
    # Today's must-ship board: every role reads it.
    NavItem(_("Must ship"), "shipping:mustship", "shipping.view_shipment"),
    NavItem(_("Events"), "core:events", "core.view_event"),
    NavItem(_("Exceptions"), "exceptions:board", "exceptions.view_plantexception"),
    NavItem(_("My tasks"), "exceptions:tasks", "exceptions.view_task"),
    # The warehouse tablet (scan flows), stock pages (receipts, kits, trace under it) and
    # the quality holds list.
    NavItem(
        _("Warehouse"),
        "inventory:tablet",
        (
            "inventory.receive_goods",
            "inventory.add_stockmove",
            "inventory.pick_kit",
            "inventory.adjust_stock",
        ),
    ),
    NavItem(_("Stock"), "inventory:stock", "inventory.view_stockbalance"),
    # Shipments (list, detail, new) with the shipping tablet (pick, pack, documents, dock,
    # hand over) under it.
    NavItem(
        _("Shipping"),
        "shipping:list",
        (
            "shipping.add_shipment",
            "shipping.pick_shipment",
            "shipping.ship_shipment",
            "shipping.hold_shipment",
        ),
    ),
    NavItem(_("Holds"), "inventory:holds", "inventory.view_qualityhold"),
    # Work orders, with the release board, schedule runs, Gantt and load as tabs.
    NavItem(_("Planning"), "planning:work_orders", "planning.plan_workorder"),
    # The floor tablet: sign in to a work center, its dispatch list.
    NavItem(_("Shop floor"), "planning:tablet", "planning.run_operation"),
    # Execution KPIs: the plant overview, with the work center, shipping and decisions
    # dashboards as tabs.
    NavItem(_("KPIs"), "kpis:overview", "kpis.view_kpi_dashboards"),
]


def _may_open(user: Any, item: NavItem) -> bool:
    if not item.permission:
        return True
    if isinstance(item.permission, tuple):
        return any(user.has_perm(perm) for perm in item.permission)
    return user.has_perm(item.permission)


def nav_for(user: Any, path: str) -> list[dict[str, Any]]:
    """The entries this user may open; the one whose URL is the longest prefix of the
    current path is active (so /orders/changes/ marks "Change requests", not "Orders")."""
    if not getattr(user, "is_authenticated", False):
        return []
    items = []
    for item in NAV:
        if not _may_open(user, item):
            continue
        url = reverse(item.url_name)
        items.append({"label": item.label, "url": url, "active": False, "url_name": item.url_name})
    if user.is_staff:
        items.append({"label": _("Admin"), "url": reverse("admin:index"), "active": False})
    matches = [entry for entry in items if path.startswith(entry["url"])]
    if matches:
        max(matches, key=lambda entry: len(entry["url"]))["active"] = True
    return items
