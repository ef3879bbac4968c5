"""Roles are groups. The data migration creates them in every database; their
permissions are synced from ROLE_PERMISSIONS after every migrate."""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps
from django.db.models import Q

PLANNER = "Planner"
FLOOR_LEAD = "Floor lead"
OPERATOR = "Operator"
WAREHOUSE = "Warehouse"
WAREHOUSE_LEAD = "Warehouse lead"
SHIPPING = "Shipping"
QUALITY = "Quality"
INTEGRATION = "Integration"
ADMIN = "Admin"
ROLE_NAMES = [
    PLANNER,
    FLOOR_LEAD,
    OPERATOR,
    WAREHOUSE,
    WAREHOUSE_LEAD,
    SHIPPING,
    QUALITY,
    INTEGRATION,
    ADMIN,
]

_WORK_EXCEPTIONS = [
    "exceptions.view_plantexception",
    "exceptions.work_plantexception",
    "exceptions.view_task",
    "exceptions.work_task",
]

_READ_ORDERS = [
    "orders.view_customer",
    "orders.view_salesorder",
    "orders.view_salesorderline",
    "orders.view_changerequest",
    "inventory.view_item",
]

_READ_STOCK = [
    "inventory.view_item",
    "inventory.view_billofmaterials",
    "inventory.view_location",
    "inventory.view_lot",
    "inventory.view_stockmove",
    "inventory.view_stockbalance",
    "inventory.view_reservation",
    "inventory.view_expectedreceipt",
    "inventory.view_kit",
    "inventory.view_qualityhold",
    "inventory.view_lotgenealogy",
    "inventory.view_scanrefusal",
]

_READ_SHIPPING = [
    "shipping.view_shipment",
    "shipping.view_shipmentline",
    "shipping.view_package",
    "shipping.view_shipmentdocument",
    "shipping.view_carrier",
]

# The KPI dashboards and their drill-down lists: everyone who runs a part of the plant.
_READ_KPIS = ["kpis.view_kpi_dashboards"]

_READ_PLANNING = [
    "planning.view_workcenter",
    "planning.view_routing",
    "planning.view_routingoperation",
    "planning.view_workorder",
    "planning.view_operation",
    "planning.view_downtime",
    "planning.view_schedulerun",
]

# Moving stock: receive, put away, transfer, pick and stage kits, issue, scrap, count.
_WAREHOUSE_WORK = [
    *_READ_STOCK,
    *_READ_SHIPPING,
    "inventory.receive_goods",
    "inventory.pick_kit",
    "inventory.add_stockmove",
    "inventory.add_reservation",
    "inventory.add_kit",
    "inventory.add_cyclecount",
]

# "app_label.codename"; "*" gives every permission.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    PLANNER: [
        *_READ_ORDERS,
        "orders.add_salesorder",
        "orders.change_salesorder",
        "orders.confirm_salesorder",
        "orders.hold_salesorder",
        "orders.cancel_salesorder",
        "orders.progress_salesorder",
        "orders.change_promise_date",
        "orders.change_line_quantity",
        "orders.change_requested_date",
        "orders.change_order_priority",
        "orders.request_change",
        "orders.approve_change",
        "orders.add_customer",
        "orders.change_customer",
        "inventory.add_item",
        "inventory.change_item",
        *_READ_STOCK,
        *_READ_SHIPPING,
        "inventory.add_reservation",
        "core.view_event",
        *_READ_PLANNING,
        "planning.plan_workorder",
        "planning.release_workorder",
        "planning.override_release",
        "planning.expedite_workorder",
        "planning.hold_workorder",
        *_WORK_EXCEPTIONS,
        *_READ_KPIS,
    ],
    FLOOR_LEAD: [
        *_READ_ORDERS,
        *_READ_STOCK,
        *_READ_SHIPPING,
        "orders.progress_salesorder",
        *_READ_PLANNING,
        "planning.run_operation",
        "planning.report_downtime",
        "planning.hold_workorder",
        "inventory.pick_kit",
        "inventory.add_stockmove",
        *_WORK_EXCEPTIONS,
        *_READ_KPIS,
    ],
    # Runs operations on a shared tablet; starting one issues its staged kit and
    # completing the last receives the output, so those stock moves are theirs too.
    OPERATOR: [
        *_READ_PLANNING,
        "inventory.view_item",
        "planning.run_operation",
        "inventory.pick_kit",
        "inventory.add_stockmove",
    ],
    WAREHOUSE: [*_READ_ORDERS, *_WAREHOUSE_WORK, *_WORK_EXCEPTIONS, *_READ_KPIS],
    # Governed: cycle counts and adjustments, moving a staged reservation to another demand.
    WAREHOUSE_LEAD: [
        *_READ_ORDERS,
        *_WAREHOUSE_WORK,
        "inventory.adjust_stock",
        "inventory.change_reservation",
        "inventory.add_location",
        "inventory.change_location",
        *_WORK_EXCEPTIONS,
        *_READ_KPIS,
    ],
    SHIPPING: [
        *_READ_ORDERS,
        *_READ_STOCK,
        *_READ_SHIPPING,
        "orders.ship_salesorder",
        "inventory.add_stockmove",
        "shipping.add_shipment",
        "shipping.pick_shipment",
        "shipping.ship_shipment",
        "shipping.hold_shipment",
        *_WORK_EXCEPTIONS,
        *_READ_KPIS,
    ],
    QUALITY: [
        *_READ_ORDERS,
        *_READ_STOCK,
        *_READ_SHIPPING,
        "orders.hold_salesorder",
        "inventory.place_hold",
        "inventory.release_hold",
        "inventory.receive_goods",
        *_WORK_EXCEPTIONS,
        *_READ_KPIS,
    ],
    INTEGRATION: [
        *_READ_ORDERS,
        "orders.add_salesorder",
        "orders.change_salesorder",
        "orders.confirm_salesorder",
        "orders.hold_salesorder",
        "orders.cancel_salesorder",
        "orders.request_change",
        "orders.add_customer",
        "orders.change_customer",
        "inventory.add_item",
        "inventory.change_item",
        *_READ_STOCK,
        *_READ_SHIPPING,
        "inventory.add_billofmaterials",
        "inventory.change_billofmaterials",
        "inventory.add_location",
        "inventory.change_location",
        "inventory.add_expectedreceipt",
        "inventory.change_expectedreceipt",
        # The ERP moves stock, reserves for its demands and relays quality decisions.
        "inventory.add_stockmove",
        "inventory.add_reservation",
        "inventory.place_hold",
        "inventory.release_hold",
        "core.view_event",
        "core.view_apiclient",
        "exceptions.view_plantexception",
        "exceptions.work_plantexception",
        "exceptions.view_task",
        # Work centers, routings and work orders over the API (planning scopes).
        *_READ_PLANNING,
        "planning.add_workcenter",
        "planning.change_workcenter",
        "planning.add_routing",
        "planning.change_routing",
        # Planning a work order reserves its components.
        "inventory.add_reservation",
        "planning.plan_workorder",
        "planning.release_workorder",
        "planning.hold_workorder",
        "planning.report_downtime",
        # Shipments over the API: the ERP plans them from order lines (their stock is
        # reserved) and reports the carrier's delivery confirmation.
        "shipping.add_shipment",
        "shipping.ship_shipment",
    ],
    ADMIN: ["*"],
}

# Where each role lands after login (URL names), in order of precedence.
ROLE_HOMES: list[tuple[str, str]] = [
    (ADMIN, "admin:index"),
    (PLANNER, "orders:list"),
    (INTEGRATION, "core:events"),
    (FLOOR_LEAD, "planning:tablet"),
    (OPERATOR, "planning:tablet"),
    (WAREHOUSE_LEAD, "inventory:tablet"),
    (WAREHOUSE, "inventory:tablet"),
    (SHIPPING, "shipping:tablet"),
    (QUALITY, "core:board"),
]


def role_names(user: Any) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_mes_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._mes_roles = cached
    return cached


def has_role(user: Any, *names: str) -> bool:
    return bool(getattr(user, "is_superuser", False) or role_names(user) & set(names))


def sync_role_permissions(
    sender: Any = None, apps: Any = None, using: str = "default", **kwargs: Any
) -> None:
    last_app = [a for a in global_apps.get_app_configs() if a.models_module is not None][-1]
    if sender is not None and getattr(sender, "label", None) != last_app.label:
        return  # run once per migrate, after every app has created its permissions
    apps = apps or global_apps
    try:
        group_model = apps.get_model("auth", "Group")
        permission_model = apps.get_model("auth", "Permission")
    except LookupError:
        return
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.using(using).get_or_create(name=role)
        if perms == ["*"]:
            wanted = permission_model.objects.using(using).all()
        else:
            query = Q(pk__in=[])
            for perm in perms:
                app_label, codename = perm.split(".", 1)
                query |= Q(content_type__app_label=app_label, codename=codename)
            wanted = permission_model.objects.using(using).filter(query)
        group.permissions.set(wanted)
