"""A small machine shop: two work centers on two shifts, a made item with a BOM and a
routing, its components in stock, and a planner and a floor lead."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User

from inventory.models import BillOfMaterials, BomLine, Item, Location, MoveType
from inventory.services.ledger import move_post
from mes.core.roles import FLOOR_LEAD, PLANNER, WAREHOUSE
from planning.models import (
    ChangeoverFamily,
    ChangeoverTime,
    Routing,
    RoutingOperation,
    Shift,
    WorkCenter,
)

from ..factories import user_with_role


@pytest.fixture
def shop_planner(db: Any) -> User:
    return user_with_role(PLANNER, username="shopplanner")


@pytest.fixture
def shop_floor_lead(db: Any) -> User:
    return user_with_role(FLOOR_LEAD, username="shopfloorlead")


@pytest.fixture
def shop_clerk(db: Any) -> User:
    return user_with_role(WAREHOUSE, username="shopclerk")


def make_shop(*, stock: Decimal = Decimal("1000")) -> SimpleNamespace:
    stock_loc = Location.objects.create(code="STK-1", name="Stock 1", barcode="L-STK-1")
    line_side = {
        code: Location.objects.create(
            code=f"LS-{code}", name=f"Line side {code}", type="line_side", barcode=f"L-LS-{code}"
        )
        for code in ("SAW", "MILL")
    }
    fg_loc = Location.objects.create(code="FG-1", name="Finished goods", barcode="L-FG-1")
    steel = Item.objects.create(sku="STEEL-BAR", name="Steel bar", unit="m", source="buy")
    bracket = Item.objects.create(sku="BRACKET", name="Bracket", source="make")
    bought = Item.objects.create(sku="SCREW", name="Screw", source="buy")
    bom = BillOfMaterials.objects.create(item=bracket)
    BomLine.objects.create(bom=bom, component=steel, quantity_per=Decimal("0.5"))
    cut = ChangeoverFamily.objects.create(code="cut", name="Cutting")
    mill_a = ChangeoverFamily.objects.create(code="alu", name="Aluminium")
    saw = WorkCenter.objects.create(
        code="SAW", name="Band saw", line_side_location=line_side["SAW"]
    )
    mill = WorkCenter.objects.create(
        code="MILL", name="Mill", capacity=2, line_side_location=line_side["MILL"]
    )
    ChangeoverTime.objects.create(work_center=mill, from_family=cut, to_family=mill_a, minutes=30)
    for wc in (saw, mill):
        for weekday in range(7):
            Shift.objects.create(work_center=wc, weekday=weekday, start=dt.time(6), end=dt.time(22))
    routing = Routing.objects.create(item=bracket)
    RoutingOperation.objects.create(
        routing=routing,
        sequence=10,
        name="Cut",
        work_center=saw,
        setup_minutes=10,
        run_minutes_per_unit=Decimal("1"),
        changeover_family=cut,
    )
    RoutingOperation.objects.create(
        routing=routing,
        sequence=20,
        name="Mill",
        work_center=mill,
        setup_minutes=20,
        run_minutes_per_unit=Decimal("2"),
        changeover_family=mill_a,
    )
    if stock:
        move_post(
            type=MoveType.RECEIPT, item=steel, quantity=stock, actor=None, to_location=stock_loc
        )
    return SimpleNamespace(
        stock=stock_loc,
        line_side=line_side,
        fg=fg_loc,
        steel=steel,
        bracket=bracket,
        bought=bought,
        saw=saw,
        mill=mill,
        routing=routing,
        families={"cut": cut, "alu": mill_a},
    )


@pytest.fixture
def shop(db: Any) -> SimpleNamespace:
    return make_shop()
