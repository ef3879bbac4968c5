"""Shared inventory fixtures: a small plant (items of each tracking kind, a location of
every type, lots) and a user per stock role. Stock is put in through the ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from inventory.models import Item, Location, Lot, MoveType, StockBalance, StockMove
from inventory.services.ledger import move_post
from mes.core.roles import PLANNER, QUALITY, SHIPPING, WAREHOUSE, WAREHOUSE_LEAD

from ..factories import user_with_role


@pytest.fixture
def warehouse_user(db: Any) -> User:
    return user_with_role(WAREHOUSE, username="clerk1")


@pytest.fixture
def warehouse_user2(db: Any) -> User:
    return user_with_role(WAREHOUSE, username="clerk2")


@pytest.fixture
def warehouse_lead(db: Any) -> User:
    return user_with_role(WAREHOUSE_LEAD, username="whlead1")


@pytest.fixture
def quality_user(db: Any) -> User:
    return user_with_role(QUALITY, username="quality1")


@pytest.fixture
def shipping_user(db: Any) -> User:
    return user_with_role(SHIPPING, username="shipping1")


@pytest.fixture
def stock_planner(db: Any) -> User:
    return user_with_role(PLANNER, username="stockplanner1")


def make_inv_world() -> SimpleNamespace:
    """Three items (untracked FIFO, lot-tracked FEFO with shelf life, serial), a location
    of every type under one site, and lots of the tracked items. No stock yet; put it in
    with `stock_in(item, location, qty, lot=None)`, read it with `balance(...)`."""
    today = timezone.localdate()
    site = Location.objects.create(
        code="PLANT", name="Plant", type=Location.Type.SITE, barcode="LOC-PLANT"
    )
    locations: dict[str, Location] = {}
    for code, type_ in [
        ("RCV-01", Location.Type.RECEIVING),
        ("STK-A1", Location.Type.STOCK),
        ("STK-A2", Location.Type.STOCK),
        ("STG-01", Location.Type.STAGING),
        ("LS-01", Location.Type.LINE_SIDE),
        ("WIP-01", Location.Type.WIP),
        ("SHP-01", Location.Type.SHIPPING),
        ("QRN-01", Location.Type.QUARANTINE),
    ]:
        locations[code] = Location.objects.create(
            code=code,
            name=code.replace("-", " ").title(),
            type=type_,
            parent=site,
            barcode=f"LOC-{code}",
        )
    bolt = Item.objects.create(sku="BOLT-M8", name="Bolt M8x30", unit="pcs", source="buy")
    resin = Item.objects.create(
        sku="RESIN-7",
        name="Epoxy resin",
        unit="kg",
        source="buy",
        tracking=Item.Tracking.LOT,
        shelf_life_days=180,
        reservation_policy=Item.Policy.FEFO,
    )
    motor = Item.objects.create(
        sku="MOTOR-1", name="Servo motor", unit="pcs", source="buy", tracking=Item.Tracking.SERIAL
    )
    lot_old = Lot.objects.create(
        item=resin,
        number="R-001",
        supplier_lot="SUP-9001",
        supplier="Resin GmbH",
        received_on=today - dt.timedelta(days=30),
        expiry_date=today + dt.timedelta(days=30),
    )
    lot_new = Lot.objects.create(
        item=resin,
        number="R-002",
        supplier_lot="SUP-9002",
        supplier="Resin GmbH",
        received_on=today - dt.timedelta(days=10),
        expiry_date=today + dt.timedelta(days=150),
    )
    lot_expired = Lot.objects.create(
        item=resin,
        number="R-000",
        supplier_lot="SUP-8999",
        supplier="Resin GmbH",
        received_on=today - dt.timedelta(days=200),
        expiry_date=today - dt.timedelta(days=1),
    )
    serials = [
        Lot.objects.create(item=motor, number=f"SN-{n:04d}", is_serial=True, received_on=today)
        for n in range(1, 4)
    ]
    receiver = User.objects.create(username="inv-world-receiver")

    def stock_in(
        item: Item, location: Location, qty: Decimal | int | str, lot: Lot | None = None
    ) -> StockMove:
        return move_post(
            type=MoveType.RECEIPT,
            item=item,
            quantity=qty,
            actor=receiver,
            to_location=location,
            lot=lot,
            document_type="test",
            document_ref="TEST",
        )

    def balance(item: Item, location: Location, lot: Lot | None = None) -> StockBalance | None:
        return StockBalance.objects.filter(item=item, location=location, lot=lot).first()

    return SimpleNamespace(
        stock_in=stock_in,
        balance=balance,
        receiver=receiver,
        site=site,
        locations=locations,
        receiving=locations["RCV-01"],
        stock=locations["STK-A1"],
        stock2=locations["STK-A2"],
        staging=locations["STG-01"],
        line_side=locations["LS-01"],
        wip=locations["WIP-01"],
        shipping=locations["SHP-01"],
        quarantine=locations["QRN-01"],
        bolt=bolt,
        resin=resin,
        motor=motor,
        items=[bolt, resin, motor],
        lot_old=lot_old,
        lot_new=lot_new,
        lot_expired=lot_expired,
        serials=serials,
    )


@pytest.fixture
def inv_world(db: Any) -> SimpleNamespace:
    """The small plant, with `stock_in(item, location, qty, lot=None)` posting a receipt
    and `balance(item, location, lot=None)` reading one balance (None when none)."""
    return make_inv_world()
