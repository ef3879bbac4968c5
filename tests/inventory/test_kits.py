"""Kits: components reserved for a work order, picked by scan in walk order to the
staging location, staged (locked) and issued. A wrong scan is refused and still counted:
the refusal, the kit's mis-pick count and `pick.mismatch` are kept."""

from __future__ import annotations

import importlib
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps as django_apps

from inventory.models import Kit, MoveType, Reservation, ScanRefusal, StockBalance, StockMove
from inventory.services.holds import hold_place
from inventory.services.kits import (
    kit_create,
    kit_issue,
    kit_pick,
    kit_pick_list,
    kit_stage,
    kit_status_for_work_order,
)
from inventory.services.ledger import StockUnavailable, move_post
from mes.core.errors import Conflict, IllegalTransition, NotPermitted, ValidationFailed
from mes.core.models import Event, TransitionLog
from mes.core.roles import WAREHOUSE, sync_role_permissions

from ..factories import user_with_role
from .conftest import make_inv_world

pytestmark = pytest.mark.django_db

WO_ID, WO_REF = 501, "WO-000501"


def _stock(world: SimpleNamespace) -> None:
    """30 bolts at STK-A2 (first in the walk), resin lots R-001 and R-002 at STK-A1."""
    world.stock2.pick_sequence = "01"
    world.stock2.save()
    world.stock_in(world.bolt, world.stock2, 30)
    world.stock_in(world.resin, world.stock, 10, lot=world.lot_old)
    world.stock_in(world.resin, world.stock, 10, lot=world.lot_new)


def _kit(world: SimpleNamespace, actor: Any, **kw: Any) -> Kit:
    return kit_create(
        work_order_id=WO_ID,
        work_order_ref=WO_REF,
        staging_location=kw.pop("staging_location", world.staging),
        components=kw.pop("components", [(world.resin, Decimal("4")), (world.bolt, Decimal("12"))]),
        actor=actor,
    )


@pytest.fixture
def kit_world(inv_world: SimpleNamespace, warehouse_user: Any) -> SimpleNamespace:
    _stock(inv_world)
    inv_world.kit = _kit(inv_world, warehouse_user)
    return inv_world


def _snapshot(kit: Kit) -> tuple[Any, ...]:
    fresh = Kit.objects.get(pk=kit.pk)
    return (
        fresh.state,
        fresh.mispicks,
        StockMove.objects.count(),
        sorted(
            StockBalance.objects.values_list(
                "item_id", "location_id", "lot_id", "on_hand", "reserved"
            )
        ),
        sorted(
            Reservation.objects.values_list(
                "item_id",
                "location_id",
                "lot_id",
                "quantity",
                "quantity_consumed",
                "state",
                "staged",
            )
        ),
        TransitionLog.objects.count(),
    )


def _refusals() -> tuple[Any, ...]:
    return (
        list(ScanRefusal.objects.values_list("kind", "expected", "scanned")),
        Event.objects.filter(type="pick.mismatch").count(),
    )


def _pick_all(world: SimpleNamespace, actor: Any) -> None:
    kit_pick(kit=world.kit, actor=actor, location_code="STK-A2", item_code="BOLT-M8", quantity=12)
    kit_pick(
        kit=world.kit,
        actor=actor,
        location_code="LOC-STK-A1",
        item_code="RESIN-7",
        lot_code="R-001",
        quantity="4",
    )


# --- making a kit ---------------------------------------------------------------------------


def test_create_reserves_the_components_and_lists_picks_in_walk_order(
    kit_world: SimpleNamespace,
) -> None:
    # given: a kit of 4 kg resin (FEFO: the lot expiring first) and 12 bolts
    w = kit_world
    # then
    assert w.kit.number == f"KIT-{w.kit.pk:06d}"
    assert w.kit.state == "open"
    lines = kit_pick_list(kit=w.kit)
    assert [(li.sku, li.location_code, li.lot_number, li.quantity) for li in lines] == [
        ("BOLT-M8", "STK-A2", "", Decimal("12")),
        ("RESIN-7", "STK-A1", "R-001", Decimal("4")),
    ]
    assert w.balance(w.resin, w.stock, w.lot_old).reserved == Decimal("4")
    assert kit_status_for_work_order(work_order_id=WO_ID) == "open"
    assert kit_status_for_work_order(work_order_id=999) is None


def test_the_pick_list_is_one_query(
    kit_world: SimpleNamespace, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        kit_pick_list(kit=kit_world.kit)


def test_a_shortfall_reserves_what_there_is_and_reports_it(
    inv_world: SimpleNamespace, warehouse_user: Any
) -> None:
    # given: 30 bolts in stock
    w = inv_world
    _stock(w)
    # when: the kit wants 50
    kit = _kit(w, warehouse_user, components=[(w.bolt, Decimal("50"))])
    # then
    assert [line.quantity for line in kit_pick_list(kit=kit)] == [Decimal("30")]
    shortage = Event.objects.get(type="material.shortage")
    assert (shortage.payload["missing_quantity"], shortage.payload["demand"]) == (20.0, WO_REF)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"staging_location": "stock"}, "staging_location"),
        ({"components": []}, "components"),
        ({"components": "zero"}, "components"),
    ],
)
def test_create_refuses_bad_input(
    inv_world: SimpleNamespace, warehouse_user: Any, kw: dict[str, Any], field: str
) -> None:
    # given
    w = inv_world
    _stock(w)
    if kw.get("staging_location") == "stock":
        kw["staging_location"] = w.stock
    if kw.get("components") == "zero":
        kw["components"] = [(w.bolt, Decimal("0"))]
    # when
    with pytest.raises(ValidationFailed) as caught:
        _kit(w, warehouse_user, **kw)
    # then
    assert field in caught.value.errors
    assert (Kit.objects.count(), Reservation.objects.count()) == (0, 0)


def test_one_open_kit_per_work_order(kit_world: SimpleNamespace, warehouse_user: Any) -> None:
    # given
    before = Reservation.objects.count()
    # when
    with pytest.raises(Conflict) as caught:
        _kit(kit_world, warehouse_user)
    # then
    assert caught.value.message == f"{WO_REF} already has kit {kit_world.kit.number} (open)."
    assert (Kit.objects.count(), Reservation.objects.count()) == (1, before)


def test_a_shipping_clerk_may_not_make_kits(inv_world: SimpleNamespace, shipping_user: Any) -> None:
    _stock(inv_world)
    with pytest.raises(NotPermitted):
        _kit(inv_world, shipping_user)
    assert (Kit.objects.count(), Reservation.objects.count()) == (0, 0)


# --- pick, stage, issue -------------------------------------------------------------------


def test_pick_stage_and_issue(kit_world: SimpleNamespace, warehouse_user: Any) -> None:
    # given
    w = kit_world
    # when: both lines picked
    _pick_all(w, warehouse_user)
    # then: the stock and its reservations moved to the staging location
    assert Kit.objects.get(pk=w.kit.pk).state == "picking"
    assert kit_pick_list(kit=w.kit) == []
    assert (w.balance(w.bolt, w.staging).on_hand, w.balance(w.bolt, w.staging).reserved) == (
        Decimal("12"),
        Decimal("12"),
    )
    assert w.balance(w.bolt, w.stock2).on_hand == Decimal("18")
    picks = StockMove.objects.filter(type=MoveType.PICK)
    assert {(m.document_type, m.document_ref, m.to_location_id) for m in picks} == {
        ("kit", w.kit.number, w.staging.pk)
    }
    # when: staged
    staged = kit_stage(kit=w.kit, actor=warehouse_user)
    # then: locked to the work order
    assert (staged.state, staged.staged_at is not None) == ("staged", True)
    assert kit_status_for_work_order(work_order_id=WO_ID) == "staged"
    assert set(Reservation.objects.filter(state="active").values_list("location_id", "staged")) == {
        (w.staging.pk, True)
    }
    assert Event.objects.filter(type="kit.staged").count() == 1
    # when: issued
    issued = kit_issue(kit=staged, actor=warehouse_user)
    # then: consumed by issue moves booked on the work order
    assert issued.state == "issued"
    issues = StockMove.objects.filter(type=MoveType.ISSUE)
    assert sorted((m.item.sku, m.quantity, m.document_type, m.document_id) for m in issues) == [
        ("BOLT-M8", Decimal("12"), "work_order", WO_ID),
        ("RESIN-7", Decimal("4"), "work_order", WO_ID),
    ]
    assert set(Reservation.objects.values_list("state", flat=True)) == {"consumed"}
    assert w.balance(w.bolt, w.staging).on_hand == Decimal("0")
    assert list(
        TransitionLog.objects.filter(object_id=w.kit.pk, content_type__model="kit")
        .order_by("id")
        .values_list("transition", flat=True)
    ) == ["start_picking", "stage", "issue"]


def test_a_floor_lead_may_pick_a_planner_may_not(
    kit_world: SimpleNamespace, floor_lead: Any, stock_planner: Any
) -> None:
    # given
    w = kit_world
    before = _snapshot(w.kit)
    # when: the planner tries
    with pytest.raises(NotPermitted):
        kit_pick(
            kit=w.kit, actor=stock_planner, location_code="STK-A2", item_code="BOLT-M8", quantity=1
        )
    # then
    assert _snapshot(w.kit) == before
    # and the floor lead may
    move = kit_pick(
        kit=w.kit, actor=floor_lead, location_code="STK-A2", item_code="BOLT-M8", quantity=5
    )
    assert (move.type, move.quantity) == (MoveType.PICK, Decimal("5"))


@pytest.mark.parametrize(
    ("scan", "message", "expected"),
    [
        (
            ("LOC-LS-01", "BOLT-M8", ""),
            "Wrong location: {kit} picks nothing at LS-01. Next: BOLT-M8 @ STK-A2.",
            "BOLT-M8 @ STK-A2",
        ),
        (
            ("STK-A2", "RESIN-7", "R-001"),
            "Wrong item: RESIN-7 is not for {kit} here; pick BOLT-M8 @ STK-A2.",
            "BOLT-M8 @ STK-A2",
        ),
        (
            ("STK-A1", "RESIN-7", "R-002"),
            "Wrong lot: R-002 is not reserved for {kit}; pick lot R-001.",
            "RESIN-7 lot R-001 @ STK-A1",
        ),
    ],
)
def test_a_mis_pick_is_refused_and_counted(
    kit_world: SimpleNamespace,
    warehouse_user: Any,
    scan: tuple[str, str, str],
    message: str,
    expected: str,
) -> None:
    # given
    w = kit_world
    before = _snapshot(w.kit)
    location, item, lot = scan
    # when
    with pytest.raises(ValidationFailed) as caught:
        kit_pick(
            kit=w.kit,
            actor=warehouse_user,
            location_code=location,
            item_code=item,
            lot_code=lot,
            quantity=1,
        )
    # then: refused, no stock moved
    assert caught.value.message == message.format(kit=w.kit.number)
    assert caught.value.code == "scan_refused"
    state, mispicks, *rest = _snapshot(w.kit)
    assert (state, *rest) == (before[0], *before[2:])
    # and the refusal is recorded and counted
    assert mispicks == 1
    refusal = ScanRefusal.objects.get()
    assert (refusal.kind, refusal.document_ref, refusal.expected, refusal.actor) == (
        "mispick",
        w.kit.number,
        expected,
        warehouse_user,
    )
    event = Event.objects.get(type="pick.mismatch")
    assert (event.payload["expected"], event.payload["picker"], event.object_id) == (
        expected,
        "clerk1",
        w.kit.pk,
    )


def test_an_unknown_barcode_is_refused_but_not_a_mis_pick(
    kit_world: SimpleNamespace, warehouse_user: Any
) -> None:
    # given
    w = kit_world
    before = _snapshot(w.kit)
    # when
    with pytest.raises(ValidationFailed) as caught:
        kit_pick(
            kit=w.kit, actor=warehouse_user, location_code="STK-A2", item_code="NOPE", quantity=1
        )
    # then
    assert caught.value.message == "Unknown barcode NOPE: scan the label again."
    assert _snapshot(w.kit) == before
    assert _refusals() == ([("unknown_barcode", "BOLT-M8 @ STK-A2", "STK-A2 / NOPE")], 0)


def test_more_than_reserved_is_refused(kit_world: SimpleNamespace, warehouse_user: Any) -> None:
    # given
    w = kit_world
    before = _snapshot(w.kit)
    # when
    with pytest.raises(ValidationFailed) as caught:
        kit_pick(
            kit=w.kit,
            actor=warehouse_user,
            location_code="STK-A2",
            item_code="BOLT-M8",
            quantity=13,
        )
    # then
    assert caught.value.message == (
        f"Only 12 pcs of BOLT-M8 @ STK-A2 are reserved for {w.kit.number}; 13 scanned."
    )
    assert _snapshot(w.kit) == before
    assert _refusals() == ([], 0)


def test_a_held_lot_is_not_picked(
    kit_world: SimpleNamespace, warehouse_user: Any, quality_user: Any
) -> None:
    # given: the reserved resin lot is put on hold
    w = kit_world
    hold_place(
        scope="lot", actor=quality_user, reason_code="quality", note="viscosity", lot=w.lot_old
    )
    before = _snapshot(w.kit)
    # when
    with pytest.raises(StockUnavailable) as caught:
        kit_pick(
            kit=w.kit,
            actor=warehouse_user,
            location_code="STK-A1",
            item_code="RESIN-7",
            lot_code="R-001",
            quantity=4,
        )
    # then
    assert "viscosity" in caught.value.message
    assert _snapshot(w.kit) == before


def test_staging_needs_everything_picked(kit_world: SimpleNamespace, warehouse_user: Any) -> None:
    # given: an open kit cannot be staged
    w = kit_world
    before = _snapshot(w.kit)
    with pytest.raises(IllegalTransition) as illegal:
        kit_stage(kit=w.kit, actor=warehouse_user)
    assert set(illegal.value.allowed) == {"start_picking", "cancel"}
    assert _snapshot(w.kit) == before
    # given: the bolts picked, the resin not
    kit_pick(
        kit=w.kit, actor=warehouse_user, location_code="STK-A2", item_code="BOLT-M8", quantity=12
    )
    before = _snapshot(w.kit)
    # when
    with pytest.raises(Conflict) as caught:
        kit_stage(kit=w.kit, actor=warehouse_user)
    # then
    assert caught.value.message == (
        f"{w.kit.number} is not fully picked. Still to pick: 4 RESIN-7 lot R-001 @ STK-A1."
    )
    assert _snapshot(w.kit) == before


def test_a_hold_on_the_work_order_blocks_the_issue(
    kit_world: SimpleNamespace, warehouse_user: Any, quality_user: Any
) -> None:
    # given: a staged kit, then a hold on its work order
    w = kit_world
    _pick_all(w, warehouse_user)
    kit = kit_stage(kit=w.kit, actor=warehouse_user)
    hold_place(
        scope="work_order",
        actor=quality_user,
        reason_code="quality",
        note="drawing revision unclear",
        work_order_id=WO_ID,
        work_order_ref=WO_REF,
    )
    before = _snapshot(kit)
    # when
    with pytest.raises(StockUnavailable) as caught:
        kit_issue(kit=kit, actor=warehouse_user)
    # then
    assert "drawing revision unclear" in caught.value.message
    assert _snapshot(kit) == before


def test_an_issued_kit_is_not_picked_again(kit_world: SimpleNamespace, warehouse_user: Any) -> None:
    # given
    w = kit_world
    _pick_all(w, warehouse_user)
    kit = kit_issue(kit=kit_stage(kit=w.kit, actor=warehouse_user), actor=warehouse_user)
    before = _snapshot(kit)
    # when
    with pytest.raises(IllegalTransition) as caught:
        kit_pick(
            kit=kit, actor=warehouse_user, location_code="STK-A2", item_code="BOLT-M8", quantity=1
        )
    # then
    assert caught.value.allowed == []
    assert _snapshot(kit) == before


# --- the refusal outlives the refused pick -------------------------------------------------


@pytest.fixture
def migrated_data(transactional_db: Any) -> None:
    """Transactional tests flush the database: put back the roles and reason codes."""
    importlib.import_module("mes.core.migrations.0002_roles_and_reason_codes").create(
        django_apps, None
    )
    sync_role_permissions()


@pytest.mark.django_db(transaction=True)
def test_a_mis_pick_is_committed_though_the_pick_is_refused(migrated_data: None) -> None:
    # given: no test transaction around the service: what it commits stays
    world = make_inv_world()
    clerk = user_with_role(WAREHOUSE, username="clerk-tx")
    move_post(type="receipt", item=world.bolt, quantity=30, actor=clerk, to_location=world.stock2)
    kit = _kit(world, clerk, components=[(world.bolt, Decimal("5"))])
    # when: a wrong item is scanned
    with pytest.raises(ValidationFailed):
        kit_pick(kit=kit, actor=clerk, location_code="STK-A2", item_code="RESIN-7", quantity=1)
    # then: the refusal, the count and the event are committed; no stock moved
    assert Kit.objects.get(pk=kit.pk).mispicks == 1
    assert ScanRefusal.objects.filter(kind="mispick").count() == 1
    assert Event.objects.filter(type="pick.mismatch").count() == 1
    assert StockMove.objects.filter(type=MoveType.PICK).count() == 0
