"""The demo's material: every inventory feature is on show after `seed_demo`, the ledger
is clean, and a second run changes nothing."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from inventory.demo import (
    LINE_SIDE_BY_WORK_CENTER,
    WO_DRIVES_NEXT,
    WO_FRAMES,
    seed_inventory_demo,
)
from inventory.models import (
    BillOfMaterials,
    ExpectedReceipt,
    Item,
    Kit,
    Location,
    Lot,
    LotGenealogy,
    QualityHold,
    Reservation,
    ScanRefusal,
    StockBalance,
    StockMove,
)
from inventory.selectors import ledger_differences
from inventory.trace import trace_backward, trace_forward
from mes.core.models import Event

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in [
            Location,
            Item,
            BillOfMaterials,
            Lot,
            ExpectedReceipt,
            StockMove,
            StockBalance,
            Reservation,
            Kit,
            QualityHold,
            LotGenealogy,
            Event,
        ]
    }


@pytest.fixture
def seeded(db: Any) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_loads_the_inventory_and_a_second_run_changes_nothing(seeded):
    # given
    before = _counts()
    out = StringIO()
    # when
    call_command("seed_demo", stdout=out)
    # then
    assert "Loaded the demo inventory" in seeded
    assert "Demo inventory exists already: nothing to add." in out.getvalue()
    assert _counts() == before
    assert ledger_differences() == []


def test_every_location_type_with_racks_in_pick_order(seeded):
    # then
    types = set(Location.objects.values_list("type", flat=True))
    assert types == set(Location.Type.values)
    racks = Location.objects.filter(type=Location.Type.STOCK)
    assert racks.count() >= 4
    assert all(rack.pick_sequence for rack in racks)
    line_side = set(
        Location.objects.filter(type=Location.Type.LINE_SIDE).values_list("code", flat=True)
    )
    assert set(LINE_SIDE_BY_WORK_CENTER.values()) <= line_side
    assert not Location.objects.filter(parent__isnull=True).exclude(type="site").exists()


def test_items_of_every_tracking_kind_and_boms_for_made_items(seeded):
    # then
    powder = Item.objects.get(sku="PWD-RAL7035")
    assert (powder.tracking, powder.reservation_policy, powder.shelf_life_days) == (
        "lot",
        "fefo",
        365,
    )
    assert Item.objects.get(sku="GM-0750").tracking == "serial"
    assert Item.objects.get(sku="SCR-M12X40-88").tracking == "none"
    assert Item.objects.get(sku="SCR-M12X40-88").backflush
    assert powder.default_stock_location.code == "A-02-01"
    boms = BillOfMaterials.objects.select_related("item")
    assert {bom.item.source for bom in boms} == {"make"}
    assert boms.get(item__sku="DU-7000").lines.count() == 4
    assert Lot.objects.exclude(supplier_lot="").count() >= 4


def test_receipts_in_every_state_and_the_late_one_reported(seeded):
    # then
    receipts = ExpectedReceipt.objects.all()
    states = [r.state for r in receipts]
    assert states.count("put_away") >= 1
    assert states.count("received") == 1
    today = receipts.filter(state="expected", expected_date=_today())
    late = receipts.filter(state="expected", expected_date__lt=_today())
    assert today.count() == 1
    assert late.count() == 1
    delayed = Event.objects.filter(type="material.delayed")
    assert [e.payload["receipt"] for e in delayed] == [late.get().number]
    assert all(e.processed_at for e in delayed)


def test_stock_kits_and_a_quality_hold(seeded):
    # then
    assert StockBalance.objects.filter(on_hand__gt=0, location__type="stock").count() >= 6
    # the inventory demo's own kits (planning's demo adds kits for its work orders)
    kits = {
        kit.state: kit
        for kit in Kit.objects.filter(work_order_ref__in=[WO_FRAMES[1], WO_DRIVES_NEXT[1]])
    }
    assert set(kits) == {"picking", "staged"}
    assert kits["staged"].staging_location.type == Location.Type.LINE_SIDE
    assert Reservation.objects.filter(staged=True, state="active").exists()
    assert kits["picking"].mispicks == 1
    assert ScanRefusal.objects.filter(kind="mispick", document_type="kit").count() == 1
    hold = QualityHold.objects.get(scope="lot")
    assert (hold.scope, hold.state, hold.lot.item.sku) == ("lot", "active", "PWD-RAL7035")


def test_trace_shows_two_levels_of_production(seeded):
    # given
    drives = Lot.objects.get(item__sku="DU-7000")
    heat = Lot.objects.get(supplier_lot="HEAT-48213")
    # when
    backward = trace_backward(lot=drives)
    forward = trace_forward(lot=heat)
    # then
    assert max(node.depth for node in backward) == 2
    assert [n.lot for n in backward if n.depth == 2] == [heat]
    assert {n.sku for n in forward} == {"RB-42CR-050", "SH-2010", "DU-7000"}
    shipped = [s for n in forward for s in n.shipments]
    assert [s["customer"] for s in shipped] == ["Alpenland Fördertechnik GmbH"]


def test_seed_inventory_demo_alone_is_idempotent(db):
    # given: the users it needs, no other demo data
    from mes.core import roles

    from ..factories import user_with_role

    users = {
        "warehouse": user_with_role(roles.WAREHOUSE, username="warehouse"),
        "quality": user_with_role(roles.QUALITY, username="quality"),
        "floorlead": user_with_role(roles.FLOOR_LEAD, username="floorlead"),
        "shipping": user_with_role(roles.SHIPPING, username="shipping"),
    }
    # when
    first = seed_inventory_demo(users=users)
    counts = _counts()
    second = seed_inventory_demo(users=users)
    # then
    assert (first, second) == (True, False)
    assert _counts() == counts
    assert ledger_differences() == []


def _today():  # type: ignore[no-untyped-def]
    from django.utils import timezone

    return timezone.localdate()


def test_seed_plant_generates_a_clean_ledger_with_deep_genealogy_and_adds_to_it(db):
    # when: a generated plant, then more moves into the same ledger
    out = StringIO()
    call_command("seed_plant", "--orders=0", "--items=30", "--moves=3000", stdout=out)
    call_command("seed_plant", "--orders=0", "--items=30", "--moves=1000", stdout=out)
    # then
    assert StockMove.objects.count() == 4000
    assert ledger_differences() == []
    assert not StockBalance.objects.filter(on_hand__lt=0).exists()
    finished = (
        LotGenealogy.objects.filter(consumed__inputs__consumed__inputs__isnull=False)
        .values_list("produced_id", flat=True)
        .first()
    )
    assert finished is not None
    assert max(n.depth for n in trace_backward(lot=Lot.objects.get(pk=finished))) >= 3
    assert "Added 3000 stock moves" in out.getvalue()
