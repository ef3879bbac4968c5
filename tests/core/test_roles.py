"""Roles are groups that exist in every database after migrate, with exactly the
permissions ROLE_PERMISSIONS lists."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from mes.core.roles import (
    ADMIN,
    FLOOR_LEAD,
    PLANNER,
    QUALITY,
    ROLE_NAMES,
    ROLE_PERMISSIONS,
    SHIPPING,
    WAREHOUSE,
    sync_role_permissions,
)

from ..factories import user_with_role

pytestmark = pytest.mark.django_db


def _perms(group: Group) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def test_every_role_exists_after_migrations() -> None:
    # given / when
    names = set(Group.objects.values_list("name", flat=True))
    # then
    assert set(ROLE_NAMES) <= names
    assert ROLE_NAMES == [
        "Planner",
        "Floor lead",
        "Operator",
        "Warehouse",
        "Warehouse lead",
        "Shipping",
        "Quality",
        "Integration",
        "Admin",
    ]


@pytest.mark.parametrize("role", [r for r in ROLE_NAMES if r != ADMIN])
def test_role_has_exactly_its_listed_permissions(role: str) -> None:
    # given
    group = Group.objects.get(name=role)
    # when
    perms = _perms(group)
    # then: every listed permission exists (a typo would silently drop it) and no other
    assert perms == set(ROLE_PERMISSIONS[role])


def test_admin_has_every_permission() -> None:
    # given
    group = Group.objects.get(name=ADMIN)
    # when
    count = group.permissions.count()
    # then
    assert count == Permission.objects.count()


def test_sync_is_idempotent_and_repairs_drift() -> None:
    # given: someone removed a permission by hand
    planner_group = Group.objects.get(name=PLANNER)
    planner_group.permissions.remove(
        Permission.objects.get(content_type__app_label="orders", codename="confirm_salesorder")
    )
    # when
    sync_role_permissions()
    sync_role_permissions()
    # then
    assert _perms(planner_group) == set(ROLE_PERMISSIONS[PLANNER])
    assert Group.objects.filter(name__in=ROLE_NAMES).count() == len(ROLE_NAMES)


@pytest.mark.parametrize(
    ("role", "perm", "expected"),
    [
        (PLANNER, "orders.confirm_salesorder", True),
        (PLANNER, "orders.approve_change", True),
        (PLANNER, "orders.ship_salesorder", False),
        (FLOOR_LEAD, "orders.confirm_salesorder", False),
        (FLOOR_LEAD, "orders.progress_salesorder", True),
        (WAREHOUSE, "orders.hold_salesorder", False),
        (WAREHOUSE, "orders.view_salesorder", True),
        (SHIPPING, "orders.ship_salesorder", True),
        (QUALITY, "orders.hold_salesorder", True),
        (QUALITY, "orders.cancel_salesorder", False),
        (ADMIN, "orders.ship_salesorder", True),
        (ADMIN, "core.change_reasoncode", True),
    ],
)
def test_a_user_in_a_role_has_its_permissions(role: str, perm: str, expected: bool) -> None:
    # given
    user = user_with_role(role, username="someone")
    # when
    has = user.has_perm(perm)
    # then
    assert has is expected
