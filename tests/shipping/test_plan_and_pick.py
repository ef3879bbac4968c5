"""Planning a shipment (which lines may ship, and how much) and picking it by scan: the
pick list in walk order, a right scan moving reserved stock to the dock, wrong scans
refused and counted as mis-picks (raising an exception through the rules), short picks."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from exceptions.models import PlantException
from inventory.models import Reservation, ScanRefusal, StockBalance, StockMove
from mes.core.errors import Conflict, IllegalTransition, NotPermitted, ValidationFailed
from mes.core.models import Event, TransitionLog
from orders.models import OrderState
from shipping import services
from shipping.models import Shipment, ShipmentLine

from ..factories import CustomerFactory, make_order
from .conftest import pick_all, plan, ready_order

pytestmark = pytest.mark.django_db

D = Decimal


def _state() -> tuple[Any, ...]:
    """Everything a refused action must leave as it was."""
    return (
        sorted(Shipment.objects.values_list("id", "state", "mispicks")),
        sorted(
            ShipmentLine.objects.values_list("id", "quantity", "quantity_picked", "quantity_short")
        ),
        StockMove.objects.count(),
        sorted(
            StockBalance.objects.values_list(
                "item_id", "location_id", "lot_id", "on_hand", "reserved"
            )
        ),
        sorted(Reservation.objects.values_list("id", "location_id", "quantity", "state")),
        TransitionLog.objects.count(),
    )


# --- planning ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_lines", "field", "message"),
    [
        (lambda w: [], "lines", "Choose at least one order line to ship."),
        (lambda w: [(w.resin_line, "0")], "lines", "The quantity must be more than zero."),
        (lambda w: [(w.resin_line, "abc")], "lines", "Enter a quantity as a number."),
        (
            lambda w: [(w.resin_line, 9)],
            "lines",
            "8 kg are left to ship (8 ordered, 0 shipped, 0 on open shipments); 9 asked.",
        ),
        (lambda w: [(w.resin_line, 1), (w.resin_line, 2)], "lines", "is listed twice"),
    ],
)
def test_plan_refuses_bad_lines_and_changes_nothing(
    ship_world: SimpleNamespace, shipping_user: Any, make_lines: Any, field: str, message: str
):
    # given
    before = _state()
    # when
    with pytest.raises(ValidationFailed) as caught:
        services.shipment_create(
            lines=make_lines(ship_world), user=shipping_user, dock_location=ship_world.shipping
        )
    # then
    assert message in " ".join(caught.value.errors[field])
    assert _state() == before


def test_plan_refuses_orders_not_ready_and_other_addresses(
    ship_world: SimpleNamespace, shipping_user: Any
):
    # given: an order still in production and a ready one of another customer
    w = ship_world
    in_production = make_order(
        state=OrderState.IN_PRODUCTION, customer=w.customer, lines=[(w.bolt, 5)]
    )
    other = make_order(
        state=OrderState.READY_TO_SHIP, customer=CustomerFactory(code="OTHER"), lines=[(w.bolt, 5)]
    )
    before = _state()
    # when
    with pytest.raises(ValidationFailed) as not_ready:
        plan(w, shipping_user, [(w.bolt_line, 5), (in_production.lines.get(), 5)])
    with pytest.raises(ValidationFailed) as elsewhere:
        plan(w, shipping_user, [(w.bolt_line, 5), (other.lines.get(), 5)])
    # then
    assert not_ready.value.errors["lines"] == [
        f"{in_production.number} is in production: only orders ready to ship or partially "
        "shipped are shipped."
    ]
    assert "goes to another customer or ship-to" in elsewhere.value.errors["lines"][0]
    assert _state() == before


def test_two_orders_to_one_ship_to_share_a_shipment(
    ship_world: SimpleNamespace, shipping_user: Any
):
    # given
    w = ship_world
    second = ready_order(w, [(w.bolt, 10)])
    # when
    shipment = plan(w, shipping_user, [(w.bolt_line, 20), (second.lines.get(), 10)])
    # then
    assert sorted(
        shipment.lines.values_list("sales_order_line__order__number", "quantity")
    ) == sorted([(w.order.number, D("20")), (second.number, D("10"))])
    assert w.balance(w.bolt, w.stock2).reserved == 30


def test_what_open_shipments_hold_is_not_planned_twice(
    ship_world: SimpleNamespace, shipping_user: Any
):
    # given: 6 of the 8 kg on an open shipment
    w = ship_world
    plan(w, shipping_user, [(w.resin_line, 6)])
    # when / then
    with pytest.raises(ValidationFailed) as caught:
        plan(w, shipping_user, [(w.resin_line, 3)])
    assert caught.value.errors["lines"][0].endswith(
        "2 kg are left to ship (8 ordered, 0 shipped, 6 on open shipments); 3 asked."
    )
    assert plan(w, shipping_user, [(w.resin_line, 2)]).lines.get().quantity == 2


def test_plan_needs_a_shipping_dock(ship_world: SimpleNamespace, shipping_user: Any):
    # given
    w = ship_world
    before = _state()
    # when: a stock location named as the dock
    with pytest.raises(ValidationFailed) as caught:
        services.shipment_create(
            lines=[(w.bolt_line, 1)], user=shipping_user, dock_location=w.stock
        )
    # then
    assert caught.value.errors == {"dock_location": ["STK-A1 is not a shipping location in use."]}
    assert _state() == before
    # and without a dock named, the first shipping location is taken
    shipment = services.shipment_create(lines=[(w.bolt_line, 1)], user=shipping_user)
    assert shipment.dock_location == w.shipping


def test_only_shipping_plans_shipments(
    ship_world: SimpleNamespace, stock_planner: Any, warehouse_user: Any
):
    before = _state()
    for actor in (stock_planner, warehouse_user, None):
        with pytest.raises(NotPermitted):
            plan(ship_world, actor)
    assert _state() == before


def test_a_shortfall_at_planning_is_reported(ship_world: SimpleNamespace, shipping_user: Any):
    # given: an order for more bolts than there are
    w = ship_world
    order = ready_order(w, [(w.bolt, 80)])
    # when
    shipment = plan(w, shipping_user, [(order.lines.get(), 80)])
    # then: 50 reserved, 30 short
    assert (
        sum(Reservation.objects.filter(demand_id=shipment.pk).values_list("quantity", flat=True))
        == 50
    )
    event = Event.objects.get(type="material.shortage")
    assert (event.payload["demand"], event.payload["missing_quantity"]) == (shipment.number, 30.0)


# --- the pick list ------------------------------------------------------------------------


def test_pick_list_in_walk_order_in_one_query(
    ship_world: SimpleNamespace, shipping_user: Any, django_assert_num_queries: Any
):
    # given
    shipment = plan(ship_world, shipping_user)
    # when
    with django_assert_num_queries(1):
        lines = services.shipment_pick_list(shipment=shipment)
    # then: STK-A2 (pick sequence 01) before STK-A1
    assert [(line.describe(), line.quantity) for line in lines] == [
        ("BOLT-M8 @ STK-A2", D("20")),
        ("RESIN-7 lot R-001 @ STK-A1", D("8")),
    ]


# --- picking ------------------------------------------------------------------------------


def test_a_right_scan_moves_the_reserved_stock_to_the_dock(
    ship_world: SimpleNamespace, shipping_user: Any
):
    # given
    w = ship_world
    shipment = plan(w, shipping_user)
    # when: 5 of the 8 kg resin
    move = services.shipment_pick(
        shipment=shipment,
        actor=shipping_user,
        location_code="LOC-STK-A1",
        item_code="RESIN-7",
        lot_code="R-001",
        quantity="5",
    )
    # then: a pick move to the dock, the reservation carried (split), the line counts it
    assert (move.type, move.from_location, move.to_location, move.document_ref) == (
        "pick",
        w.stock,
        w.shipping,
        shipment.number,
    )
    assert Shipment.objects.get(pk=shipment.pk).state == "picking"
    resin = shipment.lines.get(item=w.resin)
    assert (resin.quantity_picked, resin.quantity_open) == (5, 3)
    at_dock = w.balance(w.resin, w.shipping, w.lot_old)
    assert (at_dock.on_hand, at_dock.reserved) == (5, 5)
    assert w.balance(w.resin, w.stock, w.lot_old).reserved == 3
    assert [line.describe() for line in services.shipment_pick_list(shipment=shipment)] == [
        "BOLT-M8 @ STK-A2",
        "RESIN-7 lot R-001 @ STK-A1",
    ]


@pytest.mark.parametrize(
    ("scan", "field", "message"),
    [
        (
            ("STK-A1", "BOLT-M8", ""),
            "item_code",
            "Wrong item: BOLT-M8 is not for {n} here; pick RESIN-7 lot R-001 @ STK-A1.",
        ),
        (
            ("STK-A1", "RESIN-7", "R-002"),
            "lot_code",
            "Wrong lot: R-002 is not reserved for {n}; pick lot R-001.",
        ),
        (
            ("STG-01", "RESIN-7", "R-001"),
            "location_code",
            "Wrong location: {n} picks nothing at STG-01. Next: BOLT-M8 @ STK-A2.",
        ),
    ],
)
def test_a_mis_pick_is_refused_counted_and_raises_an_exception(
    ship_world: SimpleNamespace,
    shipping_user: Any,
    django_capture_on_commit_callbacks: Any,
    scan: tuple[str, str, str],
    field: str,
    message: str,
):
    # given
    w = ship_world
    shipment = plan(w, shipping_user)
    before = _state()
    location, item, lot = scan
    # when: the pick.mismatch event runs through the rules after commit
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(ValidationFailed) as caught:
            services.shipment_pick(
                shipment=shipment,
                actor=shipping_user,
                location_code=location,
                item_code=item,
                lot_code=lot,
                quantity=1,
            )
    # then: refused on screen, nothing moved
    assert (caught.value.message, caught.value.code) == (
        message.format(n=shipment.number),
        "scan_refused",
    )
    assert list(caught.value.errors) == [field]
    shipments, *rest = _state()
    assert tuple(rest) == before[1:]
    # and counted on the shipment, kept as a refusal, emitted and raised to Shipping
    assert shipments == [(shipment.pk, "planned", 1)]
    refusal = ScanRefusal.objects.get()
    assert (refusal.kind, refusal.document_type, refusal.document_ref, refusal.actor) == (
        "mispick",
        "shipment",
        shipment.number,
        shipping_user,
    )
    event = Event.objects.get(type="pick.mismatch")
    assert (event.object_id, event.payload["document"], event.payload["picker"]) == (
        shipment.pk,
        shipment.number,
        "shipping1",
    )
    exc = PlantException.objects.get()
    assert (exc.owner_role.name, exc.object_id, exc.content_type.model) == (
        "Shipping",
        shipment.pk,
        "shipment",
    )
    assert exc.title.startswith("Mis-pick: ")


def test_an_unknown_barcode_is_refused_not_counted(ship_world: SimpleNamespace, shipping_user: Any):
    # given
    shipment = plan(ship_world, shipping_user)
    before = _state()
    # when
    with pytest.raises(ValidationFailed) as caught:
        services.shipment_pick(
            shipment=shipment,
            actor=shipping_user,
            location_code="STK-A2",
            item_code="NOPE-1",
            quantity=1,
        )
    # then
    assert caught.value.message == "Unknown barcode NOPE-1: scan the label again."
    assert _state() == before
    assert list(ScanRefusal.objects.values_list("kind", flat=True)) == ["unknown_barcode"]
    assert not Event.objects.filter(type="pick.mismatch").exists()


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("21", "Only 20 pcs of BOLT-M8 @ STK-A2 are reserved for {n}; 21 scanned."),
        ("-1", "The quantity must be more than zero."),
        ("1.0001", "Use at most three decimals."),
    ],
)
def test_a_bad_quantity_is_refused(
    ship_world: SimpleNamespace, shipping_user: Any, quantity: str, message: str
):
    shipment = plan(ship_world, shipping_user)
    before = _state()
    with pytest.raises(ValidationFailed) as caught:
        services.shipment_pick(
            shipment=shipment,
            actor=shipping_user,
            location_code="STK-A2",
            item_code="BOLT-M8",
            quantity=quantity,
        )
    assert caught.value.message == message.format(n=shipment.number)
    assert _state() == before
    assert ScanRefusal.objects.count() == 0


def test_only_shipping_picks(
    ship_world: SimpleNamespace, shipping_user: Any, warehouse_user: Any, stock_planner: Any
):
    shipment = plan(ship_world, shipping_user)
    before = _state()
    for actor in (warehouse_user, stock_planner):
        with pytest.raises(NotPermitted):
            services.shipment_pick(
                shipment=shipment,
                actor=actor,
                location_code="STK-A2",
                item_code="BOLT-M8",
                quantity=1,
            )
    assert _state() == before


def test_picking_is_refused_once_packed_naming_what_is_allowed(
    ship_world: SimpleNamespace, shipping_user: Any
):
    # given: everything picked and packed
    w = ship_world
    shipment = plan(w, shipping_user)
    pick_all(shipment, shipping_user)
    services.shipment_pack(
        shipment=shipment,
        actor=shipping_user,
        packages=[
            {"type": "box", "weight_kg": 3, "length_cm": 30, "width_cm": 20, "height_cm": 10}
        ],
    )
    before = _state()
    # when / then
    with pytest.raises(IllegalTransition) as caught:
        services.shipment_pick(
            shipment=shipment,
            actor=shipping_user,
            location_code="STK-A2",
            item_code="BOLT-M8",
            quantity=1,
        )
    assert caught.value.current_state == "packed"
    assert set(caught.value.allowed) == {"hold", "cancel"}
    assert _state() == before


def test_nothing_left_to_pick_is_said(ship_world: SimpleNamespace, shipping_user: Any):
    shipment = plan(ship_world, shipping_user)
    pick_all(shipment, shipping_user)
    with pytest.raises(Conflict) as caught:
        services.shipment_pick(
            shipment=shipment,
            actor=shipping_user,
            location_code="STK-A2",
            item_code="BOLT-M8",
            quantity=1,
        )
    assert caught.value.message.startswith(f"Nothing of {shipment.number} is left to pick")


# --- short picks --------------------------------------------------------------------------


def test_a_short_pick_records_the_shortfall_and_frees_the_reservation(
    ship_world: SimpleNamespace, shipping_user: Any
):
    # given: 5 of 8 kg picked, the other 3 are not there
    w = ship_world
    shipment = plan(w, shipping_user)
    services.shipment_pick(
        shipment=shipment,
        actor=shipping_user,
        location_code="STK-A1",
        item_code="RESIN-7",
        lot_code="R-001",
        quantity=5,
    )
    line = shipment.lines.get(item=w.resin)
    # when
    result = services.shipment_short_pick(
        shipment=shipment, line=line, actor=shipping_user, quantity=3, note="Drum damaged"
    )
    # then: the line ships 5, 3 short; the 3 kg reservation is freed
    assert (result.quantity_picked, result.quantity_short, result.quantity_open) == (5, 3, 0)
    assert w.balance(w.resin, w.stock, w.lot_old).reserved == 0
    assert [p.describe() for p in services.shipment_pick_list(shipment=shipment)] == [
        "BOLT-M8 @ STK-A2"
    ]
    event = Event.objects.get(type="material.shortage")
    assert (event.object_id, event.payload["missing_quantity"], event.payload["demand"]) == (
        w.resin.pk,
        3.0,
        shipment.number,
    )
    log = TransitionLog.objects.filter(transition="short_pick").get()
    assert (log.actor, log.comment) == (shipping_user, "3 kg of RESIN-7 short: Drum damaged")


def test_a_short_pick_of_what_was_never_reserved_frees_nothing(
    ship_world: SimpleNamespace, shipping_user: Any
):
    # given: 80 bolts wanted, 50 reserved
    w = ship_world
    order = ready_order(w, [(w.bolt, 80)])
    shipment = plan(w, shipping_user, [(order.lines.get(), 80)])
    line = shipment.lines.get()
    # when: the 30 never reserved are reported short
    services.shipment_short_pick(
        shipment=shipment, line=line, actor=shipping_user, quantity=30, note="Not in stock"
    )
    # then: the 50 stay reserved to pick
    assert w.balance(w.bolt, w.stock2).reserved == 50
    assert Shipment.objects.get(pk=shipment.pk).state == "picking"


@pytest.mark.parametrize(
    ("quantity", "note", "errors"),
    [
        ("9", "gone", {"quantity": ["Only 8 kg of RESIN-7 are still to pick; 9 reported short."]}),
        ("2", "  ", {"note": ["Say what is missing and why."]}),
        ("x", "gone", {"quantity": ["Enter a quantity as a number."]}),
    ],
)
def test_a_bad_short_pick_is_refused(
    ship_world: SimpleNamespace, shipping_user: Any, quantity: str, note: str, errors: Any
):
    shipment = plan(ship_world, shipping_user)
    line = shipment.lines.get(item=ship_world.resin)
    before = _state()
    with pytest.raises(ValidationFailed) as caught:
        services.shipment_short_pick(
            shipment=shipment, line=line, actor=shipping_user, quantity=quantity, note=note
        )
    assert caught.value.errors == errors
    assert _state() == before
    assert not Event.objects.filter(type="material.shortage").exists()
