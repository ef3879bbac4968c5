"""A shipment from plan to delivery: each transition, the stock ledger, the shipped
quantities and the order's state after a partial and then a full shipment, and the
genealogy that now reaches the customer."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from inventory.models import Item, MoveType, Reservation, StockMove
from inventory.services.production import production_receive, work_order_issue
from inventory.trace import trace_forward
from mes.core.errors import ValidationFailed
from mes.core.models import Event, TransitionLog
from orders.models import OrderState, SalesOrder
from shipping import services
from shipping.models import Shipment, ShipmentLine

from .conftest import hand_over, plan, ready_order, to_documented, verify_all

pytestmark = pytest.mark.django_db

D = Decimal


def _history(shipment: Shipment) -> list[tuple[str, str, str]]:
    return list(
        TransitionLog.objects.filter(content_type__model="shipment", object_id=shipment.pk)
        .order_by("id")
        .values_list("transition", "from_state", "to_state")
    )


def test_plan_reserves_each_line_for_the_shipment(ship_world: SimpleNamespace, shipping_user: Any):
    # given
    w = ship_world
    # when
    shipment = plan(w, shipping_user)
    # then: numbered, planned, to the customer's default ship-to, at the dock
    shipment.refresh_from_db()
    assert shipment.number == f"SHP-{shipment.pk:06d}"
    assert (shipment.state, shipment.customer, shipment.ship_to, shipment.dock_location) == (
        "planned",
        w.customer,
        w.ship_to,
        w.shipping,
    )
    lines = {line.item.sku: line for line in shipment.lines.all()}
    # and each line's stock is reserved for it, the resin lot expiring first
    reserved = sorted(
        Reservation.objects.filter(demand_type="shipment", demand_id=shipment.pk).values_list(
            "demand_line", "item__sku", "lot__number", "location__code", "quantity", "demand_ref"
        )
    )
    assert reserved == sorted(
        [
            (lines["RESIN-7"].pk, "RESIN-7", "R-001", "STK-A1", D("8"), shipment.number),
            (lines["BOLT-M8"].pk, "BOLT-M8", None, "STK-A2", D("20"), shipment.number),
        ]
    )
    assert w.balance(w.resin, w.stock, w.lot_old).reserved == 8


def test_the_whole_way_through_each_transition_is_recorded(
    ship_world: SimpleNamespace, shipping_user: Any, django_capture_on_commit_callbacks: Any
):
    # given
    w = ship_world
    shipment = to_documented(w, shipping_user)
    verify_all(shipment, shipping_user)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        handed = hand_over(w, shipment, shipping_user)
    delivered = services.shipment_confirm_delivery(
        shipment=handed, actor=shipping_user, note="Signed by J. Wolf"
    )
    # then
    assert _history(shipment) == [
        ("start_picking", "planned", "picking"),
        ("pack", "picking", "packed"),
        ("document", "packed", "documented"),
        ("hand_over", "documented", "handed_over"),
        ("confirm_delivery", "handed_over", "delivered"),
    ]
    assert (delivered.state, delivered.delivery_note) == ("delivered", "Signed by J. Wolf")
    assert delivered.delivered_at is not None
    assert (handed.carrier, handed.service_level, handed.tracking_number, handed.driver_name) == (
        w.carrier,
        "express",
        "JD0146000012345",
        "M. Keller",
    )
    event = Event.objects.get(type="shipment.delivered")
    assert event.payload["orders"] == [w.order.number]


def test_a_partial_then_a_full_shipment(
    ship_world: SimpleNamespace, shipping_user: Any, django_capture_on_commit_callbacks: Any
):
    # given: 5 of the 8 kg resin and 20 bolts ship first
    w = ship_world
    first = plan(w, shipping_user, [(w.resin_line, 5), (w.bolt_line, 20)])
    to_documented(w, shipping_user, first)
    verify_all(first, shipping_user)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        hand_over(w, first, shipping_user)
    # then: shipment moves out of the dock, naming the customer
    moves = list(
        StockMove.objects.filter(type=MoveType.SHIPMENT)
        .order_by("id")
        .values_list(
            "item__sku", "lot__number", "from_location__code", "to_location", "quantity", "partner"
        )
    )
    assert moves == [
        ("RESIN-7", "R-001", "SHP-01", None, D("5"), "Acme Pumps GmbH"),
        ("BOLT-M8", None, "SHP-01", None, D("20"), "Acme Pumps GmbH"),
    ]
    assert {m.document_ref for m in StockMove.objects.filter(type="shipment")} == {first.number}
    # and the balances: picked stock left the dock, the rest is where it was
    assert (
        w.balance(w.resin, w.shipping, w.lot_old).on_hand,
        w.balance(w.bolt, w.shipping).on_hand,
    ) == (0, 0)
    assert w.balance(w.resin, w.stock, w.lot_old).on_hand == 5
    assert w.balance(w.bolt, w.stock2).on_hand == 30
    assert set(
        Reservation.objects.filter(demand_id=first.pk, demand_type="shipment").values_list(
            "state", flat=True
        )
    ) == {"consumed"}
    # and the shipped quantities and the order
    assert sorted(
        ShipmentLine.objects.filter(shipment=first).values_list("quantity_shipped", flat=True)
    ) == [5, 20]
    w.resin_line.refresh_from_db()
    w.bolt_line.refresh_from_db()
    assert (w.resin_line.shipped_quantity, w.bolt_line.shipped_quantity) == (5, 20)
    assert SalesOrder.objects.get(pk=w.order.pk).state == OrderState.PARTIALLY_SHIPPED
    handed = Event.objects.get(type="shipment.handed_over")
    assert handed.payload["orders"] == [w.order.number]
    assert handed.payload["carrier"] == "dhl"
    assert handed.payload["tracking_number"] == "JD0146000012345"
    assert handed.payload["tracking_url"] == "https://track.example/JD0146000012345"
    assert handed.payload["lines"][0] == {
        "order": w.order.number,
        "line_no": 10,
        "item": "RESIN-7",
        "quantity": 5.0,
        "short": 0.0,
        "lots": [{"lot": "R-001", "quantity": 5.0}],
    }
    assert Event.objects.filter(type="order.status_changed", object_id=w.order.pk).exists()

    # when: the remaining 3 kg ship
    second = plan(w, shipping_user, [(w.resin_line, 3)])
    to_documented(w, shipping_user, second)
    verify_all(second, shipping_user)
    with django_capture_on_commit_callbacks(execute=True):
        hand_over(w, second, shipping_user, tracking_number="JD0146000099999")
    # then
    w.resin_line.refresh_from_db()
    assert w.resin_line.shipped_quantity == 8
    assert SalesOrder.objects.get(pk=w.order.pk).state == OrderState.SHIPPED
    assert w.balance(w.resin, w.stock, w.lot_old).on_hand == 2
    assert StockMove.objects.filter(type="shipment").count() == 3
    # and nothing is left open to ship
    with pytest.raises(ValidationFailed) as caught:
        plan(w, shipping_user, [(w.resin_line, 1)])
    assert "is shipped" in caught.value.errors["lines"][0]


def test_genealogy_reaches_the_customer(
    ship_world: SimpleNamespace, shipping_user: Any, warehouse_user: Any
):
    # given: resin lot R-001 went into a pump lot, which ships
    w = ship_world
    pump = Item.objects.create(sku="PUMP-1", name="Dosing pump", tracking=Item.Tracking.LOT)
    work_order_issue(
        work_order_id=77,
        work_order_ref="WO-000077",
        item=w.resin,
        quantity=2,
        from_location=w.stock,
        actor=warehouse_user,
        lot=w.lot_old,
    )
    pump_lot = production_receive(
        work_order_id=77,
        work_order_ref="WO-000077",
        item=pump,
        quantity=4,
        to_location=w.stock,
        actor=warehouse_user,
        lot_number="P-7701",
    )
    order = ready_order(w, [(pump, 4)])
    shipment = plan(w, shipping_user, [(order.lines.get(), 4)])
    to_documented(w, shipping_user, shipment)
    verify_all(shipment, shipping_user)
    # when
    hand_over(w, shipment, shipping_user)
    # then: forward from the resin lot, through the pump lot, to the customer
    nodes = {node.lot_number: node for node in trace_forward(lot=w.lot_old)}
    assert nodes["P-7701"].parent_lot_id == w.lot_old.pk
    assert [(s["document"], s["customer"], s["quantity"]) for s in nodes["P-7701"].shipments] == [
        (shipment.number, "Acme Pumps GmbH", D("4"))
    ]
    assert pump_lot.number == "P-7701"
