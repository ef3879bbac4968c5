"""A small dispatch world on top of the inventory one: a customer with a ship-to, an
order ready to ship (resin, lot-tracked FEFO, and bolts), stock to pick, a carrier, and
helpers that drive a shipment through the real services step by step."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User

from orders.models import OrderState, SalesOrder
from shipping import services
from shipping.models import Carrier, Shipment

from ..factories import CustomerFactory, ShipToFactory, make_order
from ..inventory.conftest import (  # noqa: F401 - fixtures shared with inventory
    inv_world,
    quality_user,
    shipping_user,
    stock_planner,
    warehouse_user,
)

D = Decimal


@pytest.fixture
def shipping_user2(db: Any) -> User:
    from mes.core.roles import SHIPPING

    from ..factories import user_with_role

    return user_with_role(SHIPPING, username="shipping2")


def ready_order(world: SimpleNamespace, lines: list[tuple[Any, Any]] | None = None) -> SalesOrder:
    return make_order(
        state=OrderState.READY_TO_SHIP,
        customer=world.customer,
        lines=lines or [(world.resin, 8), (world.bolt, 20)],
    )


@pytest.fixture
def ship_world(inv_world: SimpleNamespace) -> SimpleNamespace:  # noqa: F811 - the fixture
    """Resin R-001 (10 kg, expires first) and R-002 (10 kg) at STK-A1, 50 bolts at STK-A2
    (first in the walk); an order of 8 kg resin and 20 bolts, ready to ship."""
    w = inv_world
    w.stock2.pick_sequence = "01"
    w.stock2.save()
    w.stock_in(w.resin, w.stock, 10, lot=w.lot_old)
    w.stock_in(w.resin, w.stock, 10, lot=w.lot_new)
    w.stock_in(w.bolt, w.stock2, 50)
    w.customer = CustomerFactory(code="ACME", name="Acme Pumps GmbH", email="dock@acme.example")
    w.ship_to = ShipToFactory(
        customer=w.customer,
        label="Main dock",
        street="Hafenweg 7",
        city="Bremen",
        postal_code="28195",
        is_default=True,
    )
    w.order = ready_order(w)
    w.resin_line, w.bolt_line = list(w.order.lines.order_by("line_no"))
    w.carrier = Carrier.objects.create(
        code="dhl",
        name="DHL Freight",
        service_levels=["standard", "express"],
        tracking_url="https://track.example/{tracking}",
    )
    return w


def plan(
    world: SimpleNamespace, actor: Any, lines: list[tuple[Any, Any]] | None = None
) -> Shipment:
    return services.shipment_create(
        lines=lines or [(world.resin_line, 8), (world.bolt_line, 20)],
        user=actor,
        dock_location=world.shipping,
    )


def pick_all(shipment: Shipment, actor: Any) -> None:
    """Pick every line of the pick list with the right scans."""
    for line in services.shipment_pick_list(shipment=shipment):
        services.shipment_pick(
            shipment=shipment,
            actor=actor,
            location_code=line.location.barcode,
            item_code=line.sku,
            lot_code=line.lot_number,
            quantity=line.quantity,
        )


TWO_PACKAGES = [
    {"type": "pallet", "weight_kg": "120.5", "length_cm": 120, "width_cm": 80, "height_cm": 90},
    {"type": "box", "weight_kg": "4.25", "length_cm": 40, "width_cm": 30, "height_cm": 20},
]


def to_documented(world: SimpleNamespace, actor: Any, shipment: Shipment | None = None) -> Shipment:
    shipment = shipment or plan(world, actor)
    pick_all(shipment, actor)
    services.shipment_pack(shipment=shipment, actor=actor, packages=TWO_PACKAGES)
    services.shipment_documents_generate(shipment=shipment, actor=actor)
    return services.shipment_document(shipment=shipment, actor=actor)


def verify_all(shipment: Shipment, actor: Any) -> None:
    for label in shipment.packages.values_list("label", flat=True):
        services.shipment_verify_package(shipment=shipment, actor=actor, label=label)


def hand_over(world: SimpleNamespace, shipment: Shipment, actor: Any, **kw: Any) -> Shipment:
    return services.shipment_hand_over(
        shipment=shipment,
        actor=actor,
        carrier=kw.pop("carrier", world.carrier),
        service_level=kw.pop("service_level", "express"),
        tracking_number=kw.pop("tracking_number", "JD0146000012345"),
        driver_name=kw.pop("driver_name", "M. Keller"),
    )
