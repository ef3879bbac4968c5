"""Inventory pages through the Django test client: the tablet flows one scan at a time
(as a barcode scanner posts them), the desktop lists, roles, refusals, query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from inventory.models import (
    CycleCount,
    ExpectedReceipt,
    Kit,
    LotGenealogy,
    QualityHold,
    ScanRefusal,
    StockBalance,
    StockMove,
)
from inventory.services.holds import hold_place
from inventory.services.kits import kit_create
from inventory.services.receipts import expected_receipt_upsert

from ..factories import UserFactory

pytestmark = pytest.mark.django_db


# --- helpers ---------------------------------------------------------------------------


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def scan(client: Any, url: str, *answers: tuple[str, str]) -> Any:
    """Answer a scan flow step by step as the tablet does (each Enter posts the step with
    the answers so far) and return the last response. Each answer names the step it is
    meant for, so a test fails where the flow took another turn."""
    response = client.get(url)
    assert response.status_code == 200
    data: dict[str, str] = {}
    for name, value in answers:
        form = response.context["form"]
        assert form.current == name, f"the flow asks for {form.current}, not {name}"
        data[name] = value
        response = client.post(url, {**data, "step": name})
        if response.status_code != 200:
            return response
    return response


def _on_hand(world: SimpleNamespace, item: Any, location: Any, lot: Any = None) -> Decimal:
    row = world.balance(item, location, lot)
    return row.on_hand if row is not None else Decimal("0")


@pytest.fixture
def admin_user(db: Any) -> User:
    return User.objects.create(username="inv-admin", is_superuser=True)


@pytest.fixture
def nobody(db: Any) -> User:
    """Signed in, but without any role."""
    return UserFactory(username="norole")


@pytest.fixture
def receipt(inv_world: SimpleNamespace) -> ExpectedReceipt:
    """Ten kilos of resin (lot-tracked) on PO-4711, due today."""
    found, _created = expected_receipt_upsert(
        external_id="ERP-RC-1",
        item=inv_world.resin,
        quantity_expected=Decimal("10"),
        expected_date=timezone.localdate(),
        supplier="Resin GmbH",
        po_number="PO-4711",
        po_line="10",
    )
    return found


@pytest.fixture
def kit(inv_world: SimpleNamespace, admin_user: User) -> Kit:
    """Six bolts and two kilos of resin for WO-100, stock at STK-A1."""
    w = inv_world
    w.stock_in(w.bolt, w.stock, 20)
    w.stock_in(w.resin, w.stock, 5, lot=w.lot_new)
    return kit_create(
        work_order_id=100,
        work_order_ref="WO-100",
        staging_location=w.staging,
        components=[(w.bolt, Decimal("6")), (w.resin, Decimal("2"))],
        actor=admin_user,
    )


# --- roles -----------------------------------------------------------------------------

DESKTOP = ["stock", "receipts", "kits", "holds", "trace"]
TABLET = ["tablet", "receive", "inspect", "put_away", "move", "scrap", "pick_kits"]


@pytest.mark.parametrize("name", DESKTOP + TABLET + ["count"])
def test_each_page_renders_for_the_warehouse_lead(client, inv_world, warehouse_lead, name):
    # given
    client.force_login(warehouse_lead)
    # when
    response = client.get(reverse(f"inventory:{name}"))
    # then
    assert response.status_code == 200


@pytest.mark.parametrize("name", DESKTOP)
def test_desktop_pages_render_for_quality_and_the_planner(
    client, inv_world, quality_user, stock_planner, name
):
    for user in (quality_user, stock_planner):
        # given
        client.force_login(user)
        # when
        response = client.get(reverse(f"inventory:{name}"))
        # then
        assert response.status_code == 200


@pytest.mark.parametrize("name", DESKTOP + TABLET + ["count"])
def test_a_user_without_a_role_gets_403(client, inv_world, nobody, name):
    # given
    client.force_login(nobody)
    # when
    response = client.get(reverse(f"inventory:{name}"))
    # then
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["stock", "move", "tablet"])
def test_anonymous_users_go_to_login(client, name):
    response = client.get(reverse(f"inventory:{name}"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["tablet", "receive", "move", "scrap", "pick_kits", "count"])
def test_the_planner_runs_no_tablet_flow(client, inv_world, stock_planner, name):
    # given
    client.force_login(stock_planner)
    # when
    response = client.get(reverse(f"inventory:{name}"))
    # then
    assert response.status_code == 403


def test_a_warehouse_clerk_does_not_count(client, inv_world, warehouse_user):
    # given
    client.force_login(warehouse_user)
    # when
    response = client.get(reverse("inventory:count"))
    posted = client.post(reverse("inventory:count"), {"step": "location", "location": "STK-A1"})
    # then
    assert response.status_code == 403
    assert posted.status_code == 403


def test_the_tablet_offers_the_flows_of_the_role(client, inv_world, warehouse_user, quality_user):
    # given
    client.force_login(warehouse_user)
    # when
    clerk = client.get(reverse("inventory:tablet"))
    client.force_login(quality_user)
    quality = client.get(reverse("inventory:tablet"))
    # then
    assert [f["name"] for f in clerk.context["flows"]] == [
        "receive",
        "inspect",
        "put_away",
        "move",
        "pick_kits",
        "scrap",
    ]
    assert [f["name"] for f in quality.context["flows"]] == ["receive", "inspect", "put_away"]


@pytest.mark.parametrize(("username", "home"), [("clerk1", "tablet"), ("whlead1", "tablet")])
def test_warehouse_roles_land_on_the_tablet(client, warehouse_user, warehouse_lead, username, home):
    # when
    response = client.post(reverse("login"), {"username": username, "password": "correct-horse-9"})
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse(f"inventory:{home}")


def test_navigation_shows_the_inventory_entries_of_the_role(client, inv_world, warehouse_user):
    # given
    client.force_login(warehouse_user)
    # when
    response = client.get(reverse("inventory:kits"))
    # then
    entries = {str(e["label"]): e["active"] for e in response.context["nav_items"]}
    assert entries["Warehouse"] is False
    assert entries["Stock"] is True
    assert entries["Holds"] is False


# --- move ------------------------------------------------------------------------------


def test_move_moves_stock_one_scan_at_a_time(client, inv_world, warehouse_user):
    # given
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    client.force_login(warehouse_user)
    # when
    response = scan(
        client,
        reverse("inventory:move"),
        ("from_location", "LOC-STK-A1"),
        ("item", "BOLT-M8"),
        ("to_location", "STK-A2"),
        ("quantity", "4"),
    )
    # then
    assert response.status_code == 302
    assert _on_hand(w, w.bolt, w.stock) == Decimal("6")
    assert _on_hand(w, w.bolt, w.stock2) == Decimal("4")
    move = StockMove.objects.get(type="transfer")
    assert move.actor == warehouse_user
    assert "Moved 4 pcs of BOLT-M8 from STK-A1 to STK-A2" in _messages(client.get(response.url))[0]


def test_move_of_a_lot_tracked_item_asks_for_its_lot(client, inv_world, warehouse_user):
    # given
    w = inv_world
    w.stock_in(w.resin, w.stock, 5, lot=w.lot_new)
    client.force_login(warehouse_user)
    # when
    response = scan(
        client,
        reverse("inventory:move"),
        ("from_location", "STK-A1"),
        ("item", "RESIN-7"),
        ("lot", "R-002"),
        ("to_location", "STK-A2"),
        ("quantity", "1.5"),
    )
    # then
    assert response.status_code == 302
    assert _on_hand(w, w.resin, w.stock2, w.lot_new) == Decimal("1.5")


def test_move_names_an_unknown_barcode_on_its_step(client, inv_world, warehouse_user):
    # given
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    client.force_login(warehouse_user)
    # when
    response = scan(client, reverse("inventory:move"), ("from_location", "LOC-NOWHERE"))
    # then
    assert response.status_code == 200
    form = response.context["form"]
    assert form.current == "from_location"
    assert "Unknown location barcode “LOC-NOWHERE”." in form.errors["from_location"]
    assert b"Unknown location barcode" in response.content
    assert StockMove.objects.count() == 1


def test_move_of_more_than_available_is_refused_and_changes_nothing(
    client, inv_world, warehouse_user
):
    # given
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    client.force_login(warehouse_user)
    # when
    response = scan(
        client,
        reverse("inventory:move"),
        ("from_location", "STK-A1"),
        ("item", "BOLT-M8"),
        ("to_location", "STK-A2"),
        ("quantity", "11"),
    )
    # then
    assert response.status_code == 200
    assert "Only 10 pcs of BOLT-M8 @ STK-A1 are available" in response.context["flow_error"]
    assert response.context["form"].current == "quantity"
    assert b'data-testid="flow-error"' in response.content
    assert _on_hand(w, w.bolt, w.stock) == Decimal("10")
    assert w.balance(w.bolt, w.stock2) is None
    assert StockMove.objects.count() == 1


def test_move_refuses_a_lot_of_another_item_and_a_word_as_quantity(
    client, inv_world, warehouse_user
):
    # given
    w = inv_world
    w.stock_in(w.resin, w.stock, 5, lot=w.lot_new)
    client.force_login(warehouse_user)
    url = reverse("inventory:move")
    # when
    wrong_lot = scan(
        client, url, ("from_location", "STK-A1"), ("item", "RESIN-7"), ("lot", "SN-0001")
    )
    wrong_quantity = scan(
        client,
        url,
        ("from_location", "STK-A1"),
        ("item", "RESIN-7"),
        ("lot", "R-002"),
        ("to_location", "STK-A2"),
        ("quantity", "lots"),
    )
    # then
    assert wrong_lot.context["form"].errors["lot"] == ["RESIN-7 has no lot “SN-0001”."]
    assert wrong_quantity.context["form"].errors["quantity"] == ["Enter a quantity as a number."]
    assert StockMove.objects.count() == 1


def test_move_step_can_be_reopened_and_empty_enter_asks_again(client, inv_world, warehouse_user):
    # given
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    client.force_login(warehouse_user)
    url = reverse("inventory:move")
    # when: Enter on an empty field, then "Change" on the first step
    empty = client.post(url, {"step": "from_location", "from_location": ""})
    reopened = client.post(
        url, {"step": "item", "from_location": "STK-A1", "item": "", "back": "from_location"}
    )
    # then
    assert empty.context["form"].errors["from_location"] == [
        "Scan the location you take the stock from."
    ]
    form = reopened.context["form"]
    assert form.current == "from_location"
    assert not form.errors
    assert b'value="STK-A1"' in reopened.content


# --- receive, inspect, put away ---------------------------------------------------------


def test_receive_by_scanning_the_po_then_quantity_supplier_lot_and_expiry(
    client, inv_world, warehouse_user, receipt
):
    # given
    client.force_login(warehouse_user)
    expiry = timezone.localdate() + dt.timedelta(days=90)
    # when: the PO label finds the receipt
    found = client.post(reverse("inventory:receive"), {"code": "PO-4711"})
    url = reverse("inventory:receipt_receive", args=[receipt.number])
    form_page = client.get(url)
    response = scan(
        client,
        url,
        ("quantity", "10"),
        ("supplier_lot", "SUP-777"),
        ("lot_number", ""),
        ("expiry_date", expiry.strftime("%Y%m%d")),
    )
    # then
    assert found.status_code == 302
    assert found["Location"] == url
    assert form_page.context["form"]["quantity"].value() == "10"  # the open quantity
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:receipt", args=[receipt.number])
    receipt.refresh_from_db()
    assert receipt.state == ExpectedReceipt.State.RECEIVED
    assert receipt.quantity_received == Decimal("10")
    assert receipt.lot.supplier_lot == "SUP-777"
    assert receipt.lot.expiry_date == expiry
    assert _on_hand(inv_world, inv_world.resin, inv_world.receiving, receipt.lot) == Decimal("10")


def test_receive_refuses_an_unknown_barcode(client, inv_world, warehouse_user, receipt):
    # given
    client.force_login(warehouse_user)
    # when
    response = client.post(reverse("inventory:receive"), {"code": "XX-404"})
    # then
    assert response.status_code == 200
    assert "Unknown barcode “XX-404”" in response.context["form"].errors["code"][0]
    assert b'data-testid="error-code"' in response.content


def test_receive_over_the_tolerance_is_refused_and_changes_nothing(
    client, inv_world, warehouse_user, receipt
):
    # given
    client.force_login(warehouse_user)
    url = reverse("inventory:receipt_receive", args=[receipt.number])
    # when
    response = scan(
        client,
        url,
        ("quantity", "12"),
        ("supplier_lot", ""),
        ("lot_number", ""),
        ("expiry_date", ""),
    )
    # then
    assert response.status_code == 200
    assert "over the tolerance" in response.context["flow_error"]
    assert response.context["form"].current == "quantity"
    receipt.refresh_from_db()
    assert receipt.state == ExpectedReceipt.State.EXPECTED
    assert StockMove.objects.count() == 0


def _received(client: Any, receipt: ExpectedReceipt) -> None:
    url = reverse("inventory:receipt_receive", args=[receipt.number])
    response = scan(
        client,
        url,
        ("quantity", "10"),
        ("supplier_lot", "SUP-1"),
        ("lot_number", ""),
        ("expiry_date", ""),
    )
    assert response.status_code == 302


def test_inspect_accepts_then_put_away_scans_the_destination(
    client, inv_world, quality_user, warehouse_user, receipt
):
    # given
    client.force_login(warehouse_user)
    _received(client, receipt)
    client.force_login(quality_user)
    # when: Quality scans the receipt and accepts it
    found = client.post(reverse("inventory:inspect"), {"code": receipt.number})
    accepted = client.post(
        reverse("inventory:receipt_inspect", args=[receipt.number]), {"decision": "accept"}
    )
    # and the clerk puts it away at STK-A2
    client.force_login(warehouse_user)
    found_again = client.post(reverse("inventory:put_away"), {"code": receipt.number})
    put = scan(client, found_again["Location"], ("to_location", "LOC-STK-A2"))
    # then
    assert found["Location"] == reverse("inventory:receipt", args=[receipt.number])
    assert accepted.status_code == 302
    assert put.status_code == 302
    receipt.refresh_from_db()
    assert receipt.state == ExpectedReceipt.State.PUT_AWAY
    assert _on_hand(inv_world, inv_world.resin, inv_world.stock2, receipt.lot) == Decimal("10")


def test_a_rejection_needs_a_reason_and_then_goes_to_quarantine(
    client, inv_world, quality_user, receipt
):
    # given
    client.force_login(quality_user)
    _received(client, receipt)
    url = reverse("inventory:receipt_inspect", args=[receipt.number])
    # when
    refused = client.post(url, {"decision": "reject", "note": "Lids broken"})
    receipt.refresh_from_db()
    state_after_refusal = receipt.state
    rejected = client.post(
        url, {"decision": "reject", "reason_code": "supplier-defect", "note": "Lids broken"}
    )
    # then
    assert refused.status_code == 200
    assert refused.context["inspect_form"].errors["reason_code"] == [
        "Give the reason for the rejection."
    ]
    assert state_after_refusal == ExpectedReceipt.State.RECEIVED
    assert rejected.status_code == 302
    receipt.refresh_from_db()
    assert receipt.state == ExpectedReceipt.State.REJECTED
    assert _on_hand(inv_world, inv_world.resin, inv_world.quarantine, receipt.lot) == Decimal("10")


def test_put_away_refuses_an_unknown_or_a_quarantine_location(
    client, inv_world, warehouse_user, receipt
):
    # given
    client.force_login(warehouse_user)
    _received(client, receipt)
    client.post(reverse("inventory:receipt_inspect", args=[receipt.number]), {"decision": "accept"})
    url = reverse("inventory:receipt_put_away", args=[receipt.number])
    # when
    unknown = scan(client, url, ("to_location", "SHELF-99"))
    quarantine = scan(client, url, ("to_location", "QRN-01"))
    # then
    assert unknown.context["form"].errors["to_location"] == ["Unknown location barcode “SHELF-99”."]
    assert "put away into stock" in quarantine.context["flow_error"]
    receipt.refresh_from_db()
    assert receipt.state == ExpectedReceipt.State.INSPECTED
    assert _on_hand(inv_world, inv_world.resin, inv_world.receiving, receipt.lot) == Decimal("10")


def test_the_planner_may_not_receive(client, inv_world, stock_planner, receipt):
    client.force_login(stock_planner)
    url = reverse("inventory:receipt_receive", args=[receipt.number])
    assert client.post(url, {"step": "quantity", "quantity": "10"}).status_code == 403
    receipt.refresh_from_db()
    assert receipt.state == ExpectedReceipt.State.EXPECTED


# --- kits ------------------------------------------------------------------------------


def test_the_pick_list_is_in_walking_order_with_the_quantity_to_pick(
    client, inv_world, warehouse_user, kit
):
    # given
    client.force_login(warehouse_user)
    # when
    response = client.get(reverse("inventory:kit_pick", args=[kit.number]))
    # then
    assert response.status_code == 200
    lines = [(line.location.code, line.item.sku) for line in response.context["lines"]]
    assert lines == [("STK-A1", "BOLT-M8"), ("STK-A1", "RESIN-7")]
    assert response.context["form"]["quantity"].value() is None
    assert b'data-testid="mispick-count">0<' in response.content


def test_a_wrong_item_scan_is_refused_in_red_and_counted(client, inv_world, warehouse_user, kit):
    # given
    client.force_login(warehouse_user)
    url = reverse("inventory:kit_pick", args=[kit.number])
    # when: the picker scans the motor instead of the bolt
    response = scan(
        client,
        url,
        ("location_code", "LOC-STK-A1"),
        ("item_code", "MOTOR-1"),
        ("lot_code", "SN-0001"),
        ("quantity", "1"),
    )
    # then
    assert response.status_code == 200
    assert response.context["flow_error"].startswith("Wrong item: MOTOR-1 is not for")
    assert b'data-testid="flow-error"' in response.content
    assert b'data-testid="mispick-count">1<' in response.content
    assert response.context["form"].current == "location_code"
    kit.refresh_from_db()
    assert kit.mispicks == 1
    assert ScanRefusal.objects.filter(kind="mispick", document_ref=kit.number).count() == 1
    assert _on_hand(inv_world, inv_world.bolt, inv_world.stock) == Decimal("20")
    assert inv_world.balance(inv_world.bolt, inv_world.staging) is None


def test_pick_each_line_then_stage_and_issue(client, inv_world, warehouse_user, kit):
    # given
    w = inv_world
    client.force_login(warehouse_user)
    url = reverse("inventory:kit_pick", args=[kit.number])
    # when
    first = scan(
        client, url, ("location_code", "STK-A1"), ("item_code", "BOLT-M8"), ("quantity", "6")
    )
    second_page = client.get(url)
    second = scan(
        client,
        url,
        ("location_code", "STK-A1"),
        ("item_code", "RESIN-7"),
        ("lot_code", "R-002"),
        ("quantity", "2"),
    )
    ready = client.get(url)
    staged = client.post(reverse("inventory:kit_stage", args=[kit.number]))
    kit.refresh_from_db()
    state_after_stage = kit.state
    issued = client.post(reverse("inventory:kit_issue", args=[kit.number]))
    # then
    assert first.status_code == second.status_code == 302
    assert second_page.context["form"].initial.get("quantity") is None
    assert ready.context["all_picked"] is True
    assert b'id="stage-button"' in ready.content
    assert staged.status_code == 302
    assert state_after_stage == Kit.State.STAGED
    assert issued.status_code == 302
    kit.refresh_from_db()
    assert kit.state == Kit.State.ISSUED
    assert _on_hand(w, w.bolt, w.stock) == Decimal("14")
    assert _on_hand(w, w.bolt, w.staging) == Decimal("0")
    assert StockMove.objects.filter(type="issue", document_ref="WO-100").count() == 2


def test_the_quantity_step_offers_the_open_quantity_of_the_scanned_line(
    client, inv_world, warehouse_user, kit
):
    # given
    client.force_login(warehouse_user)
    url = reverse("inventory:kit_pick", args=[kit.number])
    # when
    response = scan(client, url, ("location_code", "STK-A1"), ("item_code", "BOLT-M8"))
    # then
    assert response.context["form"].current == "quantity"
    assert response.context["form"]["quantity"].value() == "6"


def test_picking_a_held_lot_is_refused_and_changes_nothing(
    client, inv_world, warehouse_user, quality_user, kit
):
    # given: Quality holds the resin lot after it was reserved
    w = inv_world
    hold_place(
        scope="lot", actor=quality_user, reason_code="quality", note="Viscosity", lot=w.lot_new
    )
    client.force_login(warehouse_user)
    url = reverse("inventory:kit_pick", args=[kit.number])
    # when
    response = scan(
        client,
        url,
        ("location_code", "STK-A1"),
        ("item_code", "RESIN-7"),
        ("lot_code", "R-002"),
        ("quantity", "2"),
    )
    # then
    assert response.status_code == 200
    assert "Quality hold" in response.context["flow_error"]
    assert _on_hand(w, w.resin, w.stock, w.lot_new) == Decimal("5")
    assert w.balance(w.resin, w.staging, w.lot_new) is None


def test_staging_a_kit_not_fully_picked_is_refused(client, inv_world, warehouse_user, kit):
    # given
    client.force_login(warehouse_user)
    scan(
        client,
        reverse("inventory:kit_pick", args=[kit.number]),
        ("location_code", "STK-A1"),
        ("item_code", "BOLT-M8"),
        ("quantity", "6"),
    )
    # when
    response = client.post(reverse("inventory:kit_stage", args=[kit.number]))
    # then
    assert response.status_code == 200
    assert "is not fully picked" in response.context["flow_error"]
    kit.refresh_from_db()
    assert kit.state == Kit.State.PICKING


def test_the_planner_may_not_pick(client, inv_world, stock_planner, kit):
    client.force_login(stock_planner)
    url = reverse("inventory:kit_pick", args=[kit.number])
    assert client.get(url).status_code == 403
    assert client.post(reverse("inventory:kit_stage", args=[kit.number])).status_code == 403


# --- scrap and count -------------------------------------------------------------------


def test_scrap_with_a_reason(client, inv_world, warehouse_user):
    # given
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    client.force_login(warehouse_user)
    # when
    response = scan(
        client,
        reverse("inventory:scrap"),
        ("location", "STK-A1"),
        ("item", "BOLT-M8"),
        ("quantity", "3"),
        ("reason_code", "damaged"),
        ("note", "Threads crushed"),
    )
    # then
    assert response.status_code == 302
    move = StockMove.objects.get(type="scrap")
    assert (move.quantity, move.reason_code.code, move.note) == (
        Decimal("3.000"),
        "damaged",
        "Threads crushed",
    )
    assert _on_hand(w, w.bolt, w.stock) == Decimal("7")


def test_scrap_needs_a_reason_and_no_more_than_there_is(client, inv_world, warehouse_user):
    # given
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    client.force_login(warehouse_user)
    url = reverse("inventory:scrap")
    # when
    no_reason = scan(
        client,
        url,
        ("location", "STK-A1"),
        ("item", "BOLT-M8"),
        ("quantity", "3"),
        ("reason_code", ""),
    )
    too_many = scan(
        client,
        url,
        ("location", "STK-A1"),
        ("item", "BOLT-M8"),
        ("quantity", "30"),
        ("reason_code", "damaged"),
        ("note", ""),
    )
    # then
    assert no_reason.context["form"].errors["reason_code"] == ["Choose why the stock is scrapped."]
    assert "Only 10 pcs" in too_many.context["flow_error"]
    assert _on_hand(w, w.bolt, w.stock) == Decimal("10")
    assert not StockMove.objects.filter(type="scrap").exists()


def test_a_count_that_differs_needs_a_reason_then_books_the_difference(
    client, inv_world, warehouse_lead
):
    # given
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    client.force_login(warehouse_lead)
    url = reverse("inventory:count")
    answers = [("location", "STK-A1"), ("item", "BOLT-M8"), ("counted_quantity", "8")]
    # when
    refused = scan(client, url, *answers, ("reason_code", ""), ("note", ""))
    booked = scan(client, url, *answers, ("reason_code", "count-difference"), ("note", "Shelf"))
    # then
    assert "differs from the system by -2" in refused.context["flow_error"]
    assert refused.context["form"].current == "reason_code"
    assert booked.status_code == 302
    count = CycleCount.objects.get()
    assert (count.system_quantity, count.counted_quantity) == (Decimal("10"), Decimal("8"))
    assert _on_hand(w, w.bolt, w.stock) == Decimal("8")


def test_an_equal_count_books_nothing(client, inv_world, warehouse_lead):
    # given
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    client.force_login(warehouse_lead)
    # when
    response = scan(
        client,
        reverse("inventory:count"),
        ("location", "STK-A1"),
        ("item", "BOLT-M8"),
        ("counted_quantity", "10"),
        ("reason_code", ""),
        ("note", ""),
    )
    # then
    assert response.status_code == 302
    assert CycleCount.objects.get().adjustment is None
    assert "as booked" in _messages(client.get(response.url))[0]


# --- stock, ledger, receipts, kits lists -----------------------------------------------


def test_stock_filters_by_item_location_type_and_availability(
    client, inv_world, warehouse_user, quality_user
):
    # given
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    w.stock_in(w.bolt, w.quarantine, 2)
    w.stock_in(w.resin, w.stock, 5, lot=w.lot_new)
    w.stock_in(w.resin, w.stock2, 5, lot=w.lot_old)
    hold_place(scope="lot", actor=quality_user, reason_code="quality", note="Check", lot=w.lot_old)
    client.force_login(warehouse_user)
    url = reverse("inventory:stock")

    def rows(**params: str) -> list[tuple[str, str, str]]:
        response = client.get(url, params)
        assert response.status_code == 200
        return [
            (r.item.sku, r.location.code, r.lot.number if r.lot else "")
            for r in response.context["rows"]
        ]

    # then
    assert len(rows()) == 4
    assert rows(item="BOLT-M8") == [("BOLT-M8", "QRN-01", ""), ("BOLT-M8", "STK-A1", "")]
    assert rows(location_type="quarantine") == [("BOLT-M8", "QRN-01", "")]
    assert rows(available_only="on") == [("BOLT-M8", "STK-A1", ""), ("RESIN-7", "STK-A1", "R-002")]
    assert rows(lot="R-001") == [("RESIN-7", "STK-A2", "R-001")]
    assert rows(location="STK-A2") == [("RESIN-7", "STK-A2", "R-001")]
    held = client.get(url, {"lot": "R-001"})
    assert b'data-testid="held"' in held.content


def test_the_stock_table_alone_for_htmx(client, inv_world, warehouse_user):
    client.force_login(warehouse_user)
    response = client.get(reverse("inventory:stock"), HTTP_HX_REQUEST="true")
    assert [t.name for t in response.templates][0] == "inventory/_stock_table.html"


def test_the_item_page_shows_its_stock_and_ledger(client, inv_world, warehouse_user):
    # given
    w = inv_world
    w.stock_in(w.bolt, w.stock, 10)
    w.stock_in(w.bolt, w.stock2, 3)
    client.force_login(warehouse_user)
    # when
    response = client.get(reverse("inventory:item", args=["BOLT-M8"]))
    # then
    assert response.status_code == 200
    assert response.context["summary"]["on_hand"] == Decimal("13")
    assert len(response.context["moves"]) == 2
    assert client.get(reverse("inventory:item", args=["NOPE"])).status_code == 404


def test_receipts_due_and_late(client, inv_world, warehouse_user):
    # given
    today = timezone.localdate()
    for n, days in enumerate([-3, 0, 5]):
        expected_receipt_upsert(
            external_id=f"E{n}",
            item=inv_world.bolt,
            quantity_expected=Decimal("5"),
            expected_date=today + dt.timedelta(days=days),
            po_number=f"PO-{n}",
        )
    client.force_login(warehouse_user)
    # when
    due = client.get(reverse("inventory:receipts"))
    late = client.get(reverse("inventory:receipts"), {"show": "late"})
    # then
    assert [r.po_number for r in due.context["receipts"]] == ["PO-0", "PO-1", "PO-2"]
    assert [r.po_number for r in late.context["receipts"]] == ["PO-0"]
    assert due.content.count(b'data-late="1"') == 1


def test_kits_list_shows_open_kits_and_filters_by_state(client, inv_world, warehouse_user, kit):
    client.force_login(warehouse_user)
    response = client.get(reverse("inventory:kits"))
    issued = client.get(reverse("inventory:kits"), {"state": "issued"})
    assert [k.number for k in response.context["kits"]] == [kit.number]
    assert list(issued.context["kits"]) == []


# --- holds -----------------------------------------------------------------------------


def test_quality_places_a_lot_hold_and_releases_it(client, inv_world, quality_user):
    # given
    client.force_login(quality_user)
    # when
    placed = client.post(
        reverse("inventory:hold_place"),
        {
            "scope": "lot",
            "item": "RESIN-7",
            "lot": "R-001",
            "reason_code": "quality",
            "note": "Supplier recall",
        },
    )
    hold = QualityHold.objects.get()
    listed = client.get(reverse("inventory:holds"))
    released = client.post(
        reverse("inventory:hold_release", args=[hold.number]),
        {"reason_code": "fixed", "note": "Tested fine"},
    )
    # then
    assert placed.status_code == 302
    assert (hold.scope, hold.lot, hold.state) == ("lot", inv_world.lot_old, "active")
    assert [row["hold"].number for row in listed.context["rows"]] == [hold.number]
    assert released.status_code == 302
    hold.refresh_from_db()
    assert hold.state == QualityHold.State.RELEASED


def test_a_hold_without_a_reason_or_lot_is_refused(client, inv_world, quality_user):
    # given
    client.force_login(quality_user)
    url = reverse("inventory:hold_place")
    # when
    no_lot = client.post(url, {"scope": "lot", "reason_code": "quality", "note": "x"})
    no_note = client.post(
        url, {"scope": "location", "location": "STK-A1", "reason_code": "quality", "note": ""}
    )
    # then
    assert no_lot.status_code == 400
    assert no_lot.context["place_form"].errors["lot"]
    assert no_note.status_code == 400
    assert no_note.context["place_form"].errors["note"] == ["Say what is wrong in a few words."]
    assert no_note.context["place_open"] is True
    assert not QualityHold.objects.exists()


def test_releasing_needs_a_note(client, inv_world, quality_user):
    # given
    hold = hold_place(
        scope="location",
        actor=quality_user,
        reason_code="quality",
        note="Leak",
        location=inv_world.stock,
    )
    client.force_login(quality_user)
    # when
    response = client.post(
        reverse("inventory:hold_release", args=[hold.number]), {"reason_code": "fixed"}
    )
    # then
    assert response.status_code == 400
    assert response.context["rows"][0]["release_open"] is True
    hold.refresh_from_db()
    assert hold.state == QualityHold.State.ACTIVE


def test_the_warehouse_may_not_place_or_release_holds(
    client, inv_world, warehouse_user, quality_user
):
    # given
    hold = hold_place(
        scope="location",
        actor=quality_user,
        reason_code="quality",
        note="Leak",
        location=inv_world.stock,
    )
    client.force_login(warehouse_user)
    # when
    place = client.post(
        reverse("inventory:hold_place"),
        {"scope": "location", "location": "STK-A2", "reason_code": "quality", "note": "x"},
    )
    release = client.post(
        reverse("inventory:hold_release", args=[hold.number]),
        {"reason_code": "fixed", "note": "ok"},
    )
    listed = client.get(reverse("inventory:holds"))
    # then
    assert place.status_code == release.status_code == 403
    assert listed.status_code == 200
    assert listed.context["may_place"] is False
    assert QualityHold.objects.get().state == QualityHold.State.ACTIVE


# --- trace -----------------------------------------------------------------------------


def test_trace_shows_backward_and_forward_linked(client, inv_world, warehouse_user):
    # given: resin lot R-002 went into a motor serial, which went into another lot
    w = inv_world
    LotGenealogy.objects.create(
        produced=w.serials[0], consumed=w.lot_new, quantity=Decimal("1"), work_order_ref="WO-1"
    )
    LotGenealogy.objects.create(
        produced=w.serials[1], consumed=w.serials[0], quantity=Decimal("1"), work_order_ref="WO-2"
    )
    client.force_login(warehouse_user)
    # when
    found = client.get(reverse("inventory:trace"), {"lot": "R-002"})
    forward = client.get(reverse("inventory:trace_lot", args=[w.lot_new.pk]))
    backward = client.get(reverse("inventory:trace_lot", args=[w.serials[1].pk]))
    missing = client.get(reverse("inventory:trace"), {"lot": "NOPE"})
    # then
    assert found["Location"] == reverse("inventory:trace_lot", args=[w.lot_new.pk])
    assert [n.lot.number for n in forward.context["forward"]] == ["R-002", "SN-0001", "SN-0002"]
    assert [n.lot.number for n in backward.context["backward"]] == ["SN-0002", "SN-0001", "R-002"]
    link = reverse("inventory:trace_lot", args=[w.serials[0].pk]).encode()
    assert link in forward.content
    assert missing.context["form"].errors["lot"] == ["No lot “NOPE” found."]


# --- query counts ----------------------------------------------------------------------

# Session, user, the user's and the groups' permissions, the open-exceptions counter and
# the user's roles (header), then the page's own: count and rows (one query, joined).
STOCK_QUERIES = 8
RECEIPT_QUERIES = 8
KIT_QUERIES = 8
# Holds: the reason codes of the place and release forms too.
HOLD_QUERIES = 9
# Item: the item, its summary, its balances, the ledger's count and page.
ITEM_QUERIES = 11


def _many(world: SimpleNamespace, n: int, quality_user: User) -> None:
    """n of everything the lists show, written in bulk (the pages only read them)."""
    from inventory.models import Item, Lot
    from mes.core.models import ReasonCode

    today = timezone.localdate()
    items = Item.objects.bulk_create(
        [Item(sku=f"BULK-{i:04d}", name=f"Bulk {i}", tracking="lot") for i in range(n)]
    )
    lots = Lot.objects.bulk_create([Lot(item=item, number=f"L{item.pk}") for item in items])
    StockBalance.objects.bulk_create(
        [
            StockBalance(item=item, location=world.stock, lot=lot, on_hand=Decimal("5"))
            for item, lot in zip(items, lots, strict=True)
        ]
    )
    StockMove.objects.bulk_create(
        [
            StockMove(
                type="receipt",
                item=world.bolt,
                to_location=world.stock,
                quantity=Decimal("1"),
                actor=quality_user,
                document_ref=f"RC-{i}",
            )
            for i in range(n)
        ]
    )
    ExpectedReceipt.objects.bulk_create(
        [
            ExpectedReceipt(
                number=f"RC-B{i:05d}",
                item=items[i],
                quantity_expected=Decimal("3"),
                expected_date=today + dt.timedelta(days=i % 7 - 3),
            )
            for i in range(n)
        ]
    )
    Kit.objects.bulk_create(
        [
            Kit(
                number=f"KIT-B{i:05d}",
                work_order_id=1000 + i,
                work_order_ref=f"WO-{i}",
                staging_location=world.staging,
            )
            for i in range(n)
        ]
    )
    reason = ReasonCode.objects.get(code="quality")
    QualityHold.objects.bulk_create(
        [
            QualityHold(
                number=f"QH-B{i:05d}",
                scope="lot",
                lot=lots[i],
                reason_code=reason,
                note="Check",
                placed_by=quality_user,
            )
            for i in range(n)
        ]
    )


@pytest.mark.parametrize("n", [10, 200])
def test_list_query_counts_do_not_grow(
    client, inv_world, quality_user, django_assert_num_queries, n
):
    # given
    _many(inv_world, n, quality_user)
    client.force_login(quality_user)
    pages = [
        ("inventory:stock", [], STOCK_QUERIES, "rows"),
        ("inventory:receipts", [], RECEIPT_QUERIES, "receipts"),
        ("inventory:kits", [], KIT_QUERIES, "kits"),
        ("inventory:holds", [], HOLD_QUERIES, "rows"),
        ("inventory:item", ["BOLT-M8"], ITEM_QUERIES, "moves"),
    ]
    for name, args, queries, key in pages:
        # when
        with django_assert_num_queries(queries):
            response = client.get(reverse(name, args=args), {"show": "all"})
        # then
        assert response.status_code == 200
        assert len(response.context[key]) == min(n, 50), name
