"""At the dock: package labels scanned before handover (another shipment's package is
refused and counted as an incorrect dispatch, raising an exception through the rules),
the handover check point and its refusals, delivery confirmation, and hold / release /
cancel."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from exceptions.models import DecisionRule, PlantException
from inventory.models import Reservation, ScanRefusal, StockMove
from inventory.services.holds import hold_place
from mes.core.errors import Conflict, IllegalTransition, NotPermitted, ValidationFailed
from mes.core.models import Event, TransitionLog
from orders.models import SalesOrder
from orders.services import sales_order_transition
from shipping import services
from shipping.models import Package, Shipment, ShipmentDocument

from .conftest import hand_over, pick_all, plan, ready_order, to_documented, verify_all

pytestmark = pytest.mark.django_db

D = Decimal


def _state(shipment: Shipment) -> tuple[Any, ...]:
    fresh = Shipment.objects.get(pk=shipment.pk)
    return (
        fresh.state,
        fresh.carrier_id,
        fresh.tracking_number,
        fresh.handed_over_at,
        StockMove.objects.filter(type="shipment").count(),
        sorted(Reservation.objects.values_list("id", "state", "quantity_consumed")),
        sorted(SalesOrder.objects.values_list("id", "state")),
        Event.objects.filter(type="shipment.handed_over").count(),
        list(ShipmentDocument.objects.order_by("id").values_list("kind", "sha256")),
    )


@pytest.fixture
def documented(ship_world: SimpleNamespace, shipping_user: Any) -> Shipment:
    return to_documented(ship_world, shipping_user)


# --- scanning packages at the dock ---------------------------------------------------------


def test_each_package_is_scanned_at_the_dock(
    ship_world: SimpleNamespace, shipping_user: Any, documented: Shipment
):
    # given
    package = documented.packages.first()
    # when: scanned (twice: the second changes nothing)
    first = services.shipment_verify_package(
        shipment=documented, actor=shipping_user, label=f"  {package.label} "
    )
    again = services.shipment_verify_package(
        shipment=documented, actor=shipping_user, label=package.label
    )
    # then
    assert (first.verified_by, first.verified_at) == (shipping_user, again.verified_at)
    assert documented.packages.filter(verified_at=None).count() == 1


def test_a_package_of_another_shipment_is_refused_counted_and_raised(
    ship_world: SimpleNamespace,
    shipping_user: Any,
    documented: Shipment,
    django_capture_on_commit_callbacks: Any,
):
    # given: a second shipment packed for another order of the customer
    w = ship_world
    other_order = ready_order(w, [(w.bolt, 5)])
    other = plan(w, shipping_user, [(other_order.lines.get(), 5)])
    pick_all(other, shipping_user)
    (stray,) = services.shipment_pack(
        shipment=other,
        actor=shipping_user,
        packages=[
            {"type": "box", "weight_kg": 2, "length_cm": 20, "width_cm": 20, "height_cm": 20}
        ],
    )
    # when: its package is scanned for the first shipment
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(ValidationFailed) as caught:
            services.shipment_verify_package(
                shipment=documented, actor=shipping_user, label=stray.label
            )
    # then: refused on screen, the package not verified
    assert caught.value.message == (
        f"Package {stray.label} belongs to {other.number}, not to {documented.number}: keep it "
        "off this load."
    )
    assert caught.value.code == "scan_refused"
    assert Package.objects.get(pk=stray.pk).verified_at is None
    # and counted, kept, emitted and raised to Shipping by the default rule
    assert Shipment.objects.get(pk=documented.pk).incorrect_dispatches == 1
    refusal = ScanRefusal.objects.get()
    assert (refusal.kind, refusal.document_ref, refusal.scanned) == (
        "incorrect_dispatch",
        documented.number,
        stray.label,
    )
    event = Event.objects.get(type="shipment.incorrect_dispatch")
    assert (event.object_id, event.payload["belongs_to"]) == (documented.pk, other.number)
    exc = PlantException.objects.get()
    assert (exc.title, exc.severity, exc.owner_role.name, exc.rule.name) == (
        f"Incorrect dispatch: package {stray.label} of {other.number} scanned for "
        f"{documented.number}",
        "high",
        "Shipping",
        "Incorrect dispatch: raise to Shipping",
    )
    assert (exc.content_type.model, exc.object_id) == ("shipment", documented.pk)


def test_an_unknown_label_is_refused_not_counted(
    ship_world: SimpleNamespace, shipping_user: Any, documented: Shipment
):
    with pytest.raises(ValidationFailed) as caught:
        services.shipment_verify_package(shipment=documented, actor=shipping_user, label="PKG-X")
    assert caught.value.message == "Unknown package label PKG-X: scan it again."
    assert Shipment.objects.get(pk=documented.pk).incorrect_dispatches == 0
    assert list(ScanRefusal.objects.values_list("kind", flat=True)) == ["unknown_barcode"]
    assert not Event.objects.filter(type="shipment.incorrect_dispatch").exists()


def test_packages_are_scanned_only_once_packed(ship_world: SimpleNamespace, shipping_user: Any):
    shipment = plan(ship_world, shipping_user)
    with pytest.raises(Conflict):
        services.shipment_verify_package(shipment=shipment, actor=shipping_user, label="PKG-1")
    with pytest.raises(ValidationFailed):
        services.shipment_verify_package(shipment=shipment, actor=shipping_user, label=" ")


# --- the handover check point --------------------------------------------------------------


def test_handover_refused_until_every_package_is_scanned(
    ship_world: SimpleNamespace, shipping_user: Any, documented: Shipment
):
    # given: one of two packages scanned
    first, second = documented.packages.order_by("id")
    services.shipment_verify_package(shipment=documented, actor=shipping_user, label=first.label)
    before = _state(documented)
    # when / then
    with pytest.raises(Conflict) as caught:
        hand_over(ship_world, documented, shipping_user)
    assert caught.value.code == "handover_blocked"
    assert caught.value.errors == {"handover": [f"Not scanned at the dock: {second.label}."]}
    assert _state(documented) == before


def test_handover_refused_while_a_document_is_missing(
    ship_world: SimpleNamespace, shipping_user: Any, documented: Shipment
):
    verify_all(documented, shipping_user)
    ShipmentDocument.objects.filter(shipment=documented, kind="bill_of_lading").delete()
    before = _state(documented)
    with pytest.raises(Conflict) as caught:
        hand_over(ship_world, documented, shipping_user)
    assert caught.value.errors == {"handover": ["The bill of lading is missing."]}
    assert _state(documented) == before


def test_handover_refused_while_a_quality_hold_applies(
    ship_world: SimpleNamespace, shipping_user: Any, quality_user: Any, documented: Shipment
):
    # given: every package scanned, then Quality holds the picked resin lot and the dock
    w = ship_world
    verify_all(documented, shipping_user)
    lot_hold = hold_place(
        scope="lot", actor=quality_user, reason_code="quality", note="Viscosity out", lot=w.lot_old
    )
    dock_hold = hold_place(
        scope="location",
        actor=quality_user,
        reason_code="quality",
        note="Spill at the dock",
        location=w.shipping,
    )
    before = _state(documented)
    # when
    with pytest.raises(Conflict) as caught:
        hand_over(w, documented, shipping_user)
    # then: each hold named, and the default rule's word on it
    assert caught.value.errors == {
        "handover": [
            f"Quality hold {lot_hold.number} applies to RESIN-7 / R-001: Viscosity out",
            f"Quality hold {dock_hold.number} applies to SHP-01: Spill at the dock",
            "A quality hold applies: nothing ships until Quality releases it.",
        ]
    }
    assert _state(documented) == before


def test_handover_refused_by_a_rule_at_the_check_point(
    ship_world: SimpleNamespace, shipping_user: Any, documented: Shipment
):
    # given: a plant rule on the fields shipping supplies
    DecisionRule.objects.create(
        name="Heavy loads need the express service",
        decision_point="shipment_handover",
        condition='shipment.weight_kg > 100 and order.customer.code == "ACME"',
        effect="block",
        message="{shipment.number} weighs {shipment.weight_kg} kg: book a truck first.",
        order=50,
    )
    verify_all(documented, shipping_user)
    before = _state(documented)
    # when / then
    with pytest.raises(Conflict) as caught:
        hand_over(ship_world, documented, shipping_user)
    assert caught.value.errors == {
        "handover": [f"{documented.number} weighs 124.75 kg: book a truck first."]
    }
    assert _state(documented) == before


def test_handover_refused_while_the_order_is_on_hold(
    ship_world: SimpleNamespace, shipping_user: Any, documented: Shipment
):
    w = ship_world
    verify_all(documented, shipping_user)
    sales_order_transition(
        order=w.order,
        user=User.objects.get(username="factory-admin"),
        transition="hold",
        reason_code="other",
        comment="Customer credit check",
    )
    with pytest.raises(Conflict) as caught:
        hand_over(w, documented, shipping_user)
    assert caught.value.errors == {"handover": [f"Order {w.order.number} is on hold."]}


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        ({"tracking_number": " "}, {"tracking_number": ["Enter the carrier's tracking number."]}),
        ({"driver_name": ""}, {"driver_name": ["Enter the driver's name."]}),
        ({"carrier": "nobody"}, {"carrier": ["Choose a carrier in use."]}),
        (
            {"service_level": "overnight"},
            {"service_level": ["DHL Freight offers standard, express."]},
        ),
    ],
)
def test_handover_refuses_bad_input(
    ship_world: SimpleNamespace, shipping_user: Any, documented: Shipment, kwargs: Any, errors: Any
):
    verify_all(documented, shipping_user)
    before = _state(documented)
    with pytest.raises(ValidationFailed) as caught:
        hand_over(ship_world, documented, shipping_user, **kwargs)
    assert caught.value.errors == errors
    assert _state(documented) == before


def test_only_shipping_hands_over(
    ship_world: SimpleNamespace,
    shipping_user: Any,
    warehouse_user: Any,
    stock_planner: Any,
    documented: Shipment,
):
    verify_all(documented, shipping_user)
    before = _state(documented)
    for actor in (warehouse_user, stock_planner):
        with pytest.raises(NotPermitted):
            hand_over(ship_world, documented, actor)
        with pytest.raises(NotPermitted):
            services.shipment_verify_package(shipment=documented, actor=actor, label="PKG-1")
    assert _state(documented) == before


def test_handover_before_documented_is_an_illegal_transition(
    ship_world: SimpleNamespace, shipping_user: Any
):
    shipment = plan(ship_world, shipping_user)
    with pytest.raises(IllegalTransition) as caught:
        hand_over(ship_world, shipment, shipping_user)
    assert caught.value.current_state == "planned"
    assert Shipment.objects.get(pk=shipment.pk).state == "planned"


# --- delivery -------------------------------------------------------------------------------


def test_delivery_is_confirmed_after_handover_only(
    ship_world: SimpleNamespace, shipping_user: Any, documented: Shipment
):
    # given
    with pytest.raises(IllegalTransition):
        services.shipment_confirm_delivery(shipment=documented, actor=shipping_user)
    verify_all(documented, shipping_user)
    handed = hand_over(ship_world, documented, shipping_user)
    # when: a time in the future, or before the handover, is refused
    with pytest.raises(ValidationFailed) as future:
        services.shipment_confirm_delivery(
            shipment=handed,
            actor=shipping_user,
            delivered_at=timezone.now() + dt.timedelta(hours=1),
        )
    with pytest.raises(ValidationFailed) as early:
        services.shipment_confirm_delivery(
            shipment=handed,
            actor=shipping_user,
            delivered_at=handed.handed_over_at - dt.timedelta(minutes=1),
        )
    assert future.value.errors == {"delivered_at": ["The delivery time is in the future."]}
    assert "it cannot arrive before" in early.value.message
    assert Shipment.objects.get(pk=handed.pk).state == "handed_over"
    # then: confirmed with its time
    at = timezone.now()
    delivered = services.shipment_confirm_delivery(
        shipment=handed, actor=shipping_user, delivered_at=at, note="POD 4711"
    )
    assert (delivered.state, delivered.delivered_at, delivered.delivery_note) == (
        "delivered",
        at,
        "POD 4711",
    )
    assert Event.objects.get(type="shipment.delivered").payload["note"] == "POD 4711"


# --- hold, release, cancel ------------------------------------------------------------------


def test_hold_stops_picking_and_release_returns(ship_world: SimpleNamespace, shipping_user: Any):
    # given: picking started
    w = ship_world
    shipment = plan(w, shipping_user)
    services.shipment_pick(
        shipment=shipment,
        actor=shipping_user,
        location_code="STK-A2",
        item_code="BOLT-M8",
        quantity=5,
    )
    # when
    held = services.shipment_transition(
        shipment=shipment,
        actor=shipping_user,
        transition="hold",
        reason_code="quality",
        comment="Customer asked to wait",
    )
    # then: no pick while on hold, the allowed steps named
    assert held.state == "on_hold"
    with pytest.raises(IllegalTransition) as caught:
        services.shipment_pick(
            shipment=shipment,
            actor=shipping_user,
            location_code="STK-A2",
            item_code="BOLT-M8",
            quantity=1,
        )
    assert caught.value.message.endswith("Allowed now: cancel, release_hold.")
    # and released, it is back where it was
    released = services.shipment_transition(
        shipment=shipment, actor=shipping_user, transition="release_hold"
    )
    assert released.state == "picking"
    log = TransitionLog.objects.filter(transition="hold").get()
    assert (log.reason_code.code, log.comment, log.actor) == (
        "quality",
        "Customer asked to wait",
        shipping_user,
    )


def test_cancel_releases_the_reservations_and_leaves_picked_stock_at_the_dock(
    ship_world: SimpleNamespace, shipping_user: Any
):
    # given: the bolts picked to the dock, the resin still reserved in stock
    w = ship_world
    shipment = plan(w, shipping_user)
    services.shipment_pick(
        shipment=shipment,
        actor=shipping_user,
        location_code="STK-A2",
        item_code="BOLT-M8",
        quantity=20,
    )
    # when
    cancelled = services.shipment_transition(
        shipment=shipment,
        actor=shipping_user,
        transition="cancel",
        reason_code="other",
        comment="Order merged into next week's load",
    )
    # then
    assert cancelled.state == "cancelled"
    assert set(
        Reservation.objects.filter(demand_id=shipment.pk).values_list("state", flat=True)
    ) == {"released"}
    assert (
        w.balance(w.resin, w.stock, w.lot_old).reserved,
        w.balance(w.bolt, w.shipping).on_hand,
    ) == (0, 20)
    assert w.balance(w.bolt, w.shipping).reserved == 0
    # and the order's quantity is free to plan again
    assert plan(w, shipping_user).lines.count() == 2


@pytest.mark.parametrize(
    ("transition", "kwargs", "error"),
    [
        ("hold", {"comment": "why"}, ValidationFailed),
        ("cancel", {"reason_code": "other"}, ValidationFailed),
        ("pack", {}, NotPermitted),
        ("hand_over", {}, NotPermitted),
    ],
)
def test_bad_manual_transitions_are_refused(
    ship_world: SimpleNamespace, shipping_user: Any, transition: str, kwargs: Any, error: Any
):
    shipment = plan(ship_world, shipping_user)
    with pytest.raises(error):
        services.shipment_transition(
            shipment=shipment, actor=shipping_user, transition=transition, **kwargs
        )
    assert Shipment.objects.get(pk=shipment.pk).state == "planned"


def test_only_shipping_holds_and_cancels(
    ship_world: SimpleNamespace, shipping_user: Any, warehouse_user: Any
):
    shipment = plan(ship_world, shipping_user)
    with pytest.raises(NotPermitted):
        services.shipment_transition(
            shipment=shipment,
            actor=warehouse_user,
            transition="cancel",
            reason_code="other",
            comment="no",
        )
    assert Shipment.objects.get(pk=shipment.pk).state == "planned"


def test_release_hold_of_a_shipment_not_held_is_illegal(
    ship_world: SimpleNamespace, shipping_user: Any
):
    shipment = plan(ship_world, shipping_user)
    with pytest.raises(IllegalTransition) as caught:
        services.shipment_transition(
            shipment=shipment, actor=shipping_user, transition="release_hold"
        )
    assert sorted(caught.value.allowed) == ["cancel", "hold"]
