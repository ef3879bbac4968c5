"""A warehouse clerk on a tablet: receive a lot by scanning, put it away, pick a kit with
one wrong scan (refused on the screen and counted) and stage it. The scanner is the
keyboard: it types into the focused field and presses Enter."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from inventory.models import ExpectedReceipt, Kit, ScanRefusal, StockBalance
from inventory.services.kits import kit_create
from inventory.services.receipts import expected_receipt_upsert
from mes.core.roles import WAREHOUSE

from ..factories import user_with_role
from ..inventory.conftest import make_inv_world
from .conftest import login

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-9"


@pytest.fixture
def dock(db):
    from mes.core.reason_codes import ensure_default_reason_codes

    # Browser tests flush the database after each test: put back what migrations load.
    ensure_default_reason_codes()
    world = make_inv_world()
    planner = User.objects.create(username="kit-maker", is_superuser=True)
    from inventory.models import MoveType
    from inventory.services.ledger import move_post

    move_post(
        type=MoveType.RECEIPT,
        item=world.bolt,
        quantity=20,
        actor=planner,
        to_location=world.stock,
        document_ref="OPENING",
    )
    receipt, _ = expected_receipt_upsert(
        external_id="ERP-PO-4711-10",
        item=world.resin,
        quantity_expected=Decimal("10"),
        expected_date=timezone.localdate(),
        supplier="Resin GmbH",
        po_number="PO-4711",
        po_line="10",
    )
    kit = kit_create(
        work_order_id=4242,
        work_order_ref="WO-4242",
        staging_location=world.staging,
        components=[(world.bolt, Decimal("6"))],
        actor=planner,
    )
    user_with_role(WAREHOUSE, username="wanda")
    world.receipt = receipt
    world.kit = kit
    return world


def _scan(page, code):
    """What a barcode scanner does: type into the focused field, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def _step(page, name):
    page.wait_for_selector(f"[data-testid=scan-flow][data-step={name}]")
    assert page.evaluate("document.activeElement.name") == name  # the scan field has focus


def test_clerk_receives_puts_away_and_picks_a_kit_with_one_wrong_scan(new_page, dock):
    receipt, kit = dock.receipt, dock.kit

    # given: the clerk signs in on a 1024x768 tablet and lands on the warehouse tablet
    page = new_page(1024, 768)
    login(page, "wanda", PASSWORD)
    page.wait_for_url(re.compile(r"/inventory/scan/$"))

    # when: she scans the PO label at the dock
    page.click("#tile-receive")
    page.wait_for_selector("#receipt-scan")
    _scan(page, "PO-4711")
    page.wait_for_url(re.compile(rf"/inventory/scan/receipts/{receipt.number}/receive/$"))

    # and takes the open quantity (offered), scans the supplier lot, leaves lot and expiry
    _step(page, "quantity")
    assert page.input_value("input[name=quantity]") == "10"
    page.keyboard.press("Enter")
    _step(page, "supplier_lot")
    _scan(page, "SUP-4711-A")
    _step(page, "lot_number")
    page.keyboard.press("Enter")
    _step(page, "expiry_date")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=receipt-state][data-state=received]")
    lot_number = page.get_by_test_id("receipt-lot").inner_text()

    # and accepts it, then puts it away by scanning the shelf
    page.click("#accept-button")
    page.wait_for_selector("[data-testid=receipt-state][data-state=inspected]")
    page.click("#put-away-button")
    _step(page, "to_location")
    _scan(page, "LOC-STK-A2")
    page.wait_for_url(re.compile(r"/inventory/scan/put-away/$"))
    assert "put away at STK-A2" in page.get_by_test_id("messages").inner_text()

    # then: the lot is on the shelf
    receipt.refresh_from_db()
    assert receipt.state == ExpectedReceipt.State.PUT_AWAY
    assert receipt.lot.supplier_lot == "SUP-4711-A"
    assert receipt.lot.number == lot_number
    shelf = StockBalance.objects.get(item=dock.resin, location=dock.stock2, lot=receipt.lot)
    assert shelf.on_hand == Decimal("10")

    # when: she opens the kit; the pick list says where to go
    page.goto("/inventory/scan/kits/")
    page.click(f"#kit-{kit.number}")
    page.wait_for_selector("[data-testid=pick-list]")
    line = page.locator("[data-testid=pick-line]").first
    assert line.get_attribute("data-location") == "STK-A1"
    assert line.get_attribute("data-item") == "BOLT-M8"
    assert page.get_by_test_id("mispick-count").inner_text() == "0"

    # and scans the right shelf but the resin she just put away: refused, in red, counted
    _step(page, "location_code")
    _scan(page, "LOC-STK-A1")
    _step(page, "item_code")
    _scan(page, "RESIN-7")
    _step(page, "lot_code")
    _scan(page, lot_number)
    _step(page, "quantity")
    page.keyboard.press("Enter")
    refusal = page.get_by_test_id("flow-error")
    refusal.wait_for()
    expected = f"Wrong item: RESIN-7 is not for {kit.number} here; pick BOLT-M8 @ STK-A1."
    assert refusal.inner_text().strip().endswith(expected)
    color = refusal.evaluate("e => getComputedStyle(e).color")
    red, green, blue = (int(c) for c in re.findall(r"\d+", color)[:3])
    assert red > 100  # red text
    assert red > green + 40
    assert red > blue + 40
    assert page.get_by_test_id("mispick-count").inner_text() == "1"
    assert StockBalance.objects.get(item=dock.bolt, location=dock.stock).on_hand == Decimal("20")

    # and scans again, right this time: location, bolt, the offered quantity
    _step(page, "location_code")
    _scan(page, "LOC-STK-A1")
    _step(page, "item_code")
    _scan(page, "BOLT-M8")
    _step(page, "quantity")
    assert page.input_value("input[name=quantity]") == "6"
    page.keyboard.press("Enter")
    page.wait_for_selector("#stage-button")
    assert "Picked 6 pcs of BOLT-M8" in page.get_by_test_id("messages").inner_text()

    # and stages it
    page.click("#stage-button")
    page.wait_for_selector("[data-testid=kit-state][data-state=staged]")

    # then: the kit is staged at the line with one refused scan on record
    kit.refresh_from_db()
    assert kit.state == Kit.State.STAGED
    assert kit.mispicks == 1
    assert ScanRefusal.objects.filter(document_ref=kit.number, kind="mispick").count() == 1
    staged = StockBalance.objects.get(item=dock.bolt, location=dock.staging)
    assert (staged.on_hand, staged.reserved) == (Decimal("6"), Decimal("6"))
