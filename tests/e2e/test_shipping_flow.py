"""A shipping clerk on a tablet: pick a shipment with one wrong scan (refused on the
screen and counted), pack it into two packages, print its documents, scan the packages
at the dock and hand it to the carrier with a tracking number; the must-ship board then
shows the line as gone. The scanner is the keyboard: it types into the focused field and
presses Enter."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from inventory.models import ScanRefusal, StockBalance
from mes.core.roles import SHIPPING
from orders.models import OrderState, SalesOrder
from shipping import services
from shipping.models import Carrier, Shipment

from ..factories import CustomerFactory, ShipToFactory, make_order, user_with_role
from ..inventory.conftest import make_inv_world
from .conftest import login

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-9"


@pytest.fixture
def dispatch(db):
    from mes.core.reason_codes import ensure_default_reason_codes

    # Browser tests flush the database after each test: put back what migrations load.
    ensure_default_reason_codes()
    world = make_inv_world()
    world.stock_in(world.resin, world.stock, 10, lot=world.lot_old)
    world.stock_in(world.bolt, world.stock2, 50)
    customer = CustomerFactory(code="ACME", name="Acme Pumps GmbH")
    ShipToFactory(
        customer=customer,
        label="Main dock",
        street="Hafenweg 7",
        city="Bremen",
        postal_code="28195",
        is_default=True,
    )
    order = make_order(
        state=OrderState.READY_TO_SHIP,
        customer=customer,
        lines=[(world.resin, 8), (world.bolt, 20)],
    )
    # Both lines are promised for today: they are on today's must-ship board.
    order.lines.update(promise_date=timezone.localdate())
    world.order = order
    world.carrier = Carrier.objects.create(
        code="dhl", name="DHL Freight", service_levels=["standard", "express"]
    )
    planner = User.objects.create(username="dispatch-planner", is_superuser=True)
    world.shipment = services.shipment_create(
        lines=[(line, line.quantity) for line in order.lines.order_by("line_no")],
        user=planner,
        planned_ship_date=timezone.localdate(),
        dock_location=world.shipping,
    )
    user_with_role(SHIPPING, username="sam")
    return world


def _scan(page, code):
    """What a barcode scanner does: type into the focused field, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def _step(page, name):
    page.wait_for_selector(f"[data-testid=scan-flow][data-step={name}]")
    assert page.evaluate("document.activeElement.name") == name  # the scan field has focus


def _is_red(locator):
    color = locator.evaluate("e => getComputedStyle(e).color")
    red, green, blue = (int(c) for c in re.findall(r"\d+", color)[:3])
    return red > 100 and red > green + 40 and red > blue + 40


def _fits(page):
    """Nothing of the page's content runs off the side of the tablet's screen."""
    return page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            return [...document.querySelectorAll("#main *")]
                .every(e => e.getBoundingClientRect().right <= width + 1);
        }"""
    )


def test_clerk_picks_with_a_wrong_scan_packs_documents_and_hands_over(new_page, dispatch):
    shipment, order = dispatch.shipment, dispatch.order
    number = shipment.number

    # given: the clerk signs in on a 1024x768 tablet and lands on the shipping tablet
    page = new_page(1024, 768)
    login(page, "sam", PASSWORD)
    page.wait_for_url(re.compile(r"/shipping/tablet/$"))
    assert _fits(page)

    # when: she opens the shipment; the pick list says where to go
    page.click(f"#shipment-{number}")
    page.wait_for_selector("[data-testid=pick-list]")
    first = page.locator("[data-testid=pick-line]").first
    assert first.get_attribute("data-location") == "STK-A1"
    assert first.get_attribute("data-item") == "RESIN-7"
    assert first.get_attribute("data-lot") == "R-001"
    assert page.get_by_test_id("mispick-count").inner_text() == "0"
    assert _fits(page)

    # and scans the resin shelf but the bolts: refused, in red, counted
    _step(page, "location_code")
    _scan(page, "LOC-STK-A1")
    _step(page, "item_code")
    _scan(page, "BOLT-M8")
    _step(page, "quantity")
    page.keyboard.press("Enter")
    refusal = page.get_by_test_id("flow-error")
    refusal.wait_for()
    assert f"Wrong item: BOLT-M8 is not for {number} here" in refusal.inner_text()
    assert _is_red(refusal)
    assert page.get_by_test_id("mispick-count").inner_text() == "1"
    assert StockBalance.objects.filter(location=dispatch.shipping).count() == 0

    # and picks right: the resin lot (quantity offered), then the bolts
    _step(page, "location_code")
    _scan(page, "LOC-STK-A1")
    _step(page, "item_code")
    _scan(page, "RESIN-7")
    _step(page, "lot_code")
    _scan(page, "R-001")
    _step(page, "quantity")
    assert page.input_value("input[name=quantity]") == "8"
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=pick-line][data-item=BOLT-M8]")
    assert "Picked 8 kg of RESIN-7 lot R-001" in page.get_by_test_id("messages").inner_text()
    _step(page, "location_code")
    _scan(page, "LOC-STK-A2")
    _step(page, "item_code")
    _scan(page, "BOLT-M8")
    _step(page, "quantity")
    assert page.input_value("input[name=quantity]") == "20"
    page.keyboard.press("Enter")

    # then: everything is at the dock; she packs
    page.click("#pack-link")
    page.wait_for_selector("#pack-form")

    # when: a pallet with the resin, then a second package, a box with the bolts
    first_package = "[data-testid=package-form][data-index='0']"
    page.select_option("select[name=pkg-0-type]", "pallet")
    page.fill("input[name=pkg-0-weight_kg]", "120.5")
    page.fill("input[name=pkg-0-length_cm]", "120")
    page.fill("input[name=pkg-0-width_cm]", "80")
    page.fill("input[name=pkg-0-height_cm]", "90")
    page.fill(f"{first_package} [data-testid=content-field][data-lot=R-001] input", "8")
    page.click("#add-package")
    second_package = "[data-testid=package-form][data-index='1']"
    page.wait_for_selector(second_package)
    assert page.input_value("input[name=pkg-0-weight_kg]") == "120.5"  # kept
    page.select_option("select[name=pkg-1-type]", "box")
    page.fill("input[name=pkg-1-weight_kg]", "4.25")
    page.fill("input[name=pkg-1-length_cm]", "40")
    page.fill("input[name=pkg-1-width_cm]", "30")
    page.fill("input[name=pkg-1-height_cm]", "20")
    page.fill(f"{second_package} [data-testid=content-field][data-lot=''] input", "20")
    page.click("#pack-submit")

    # then: packed in two labelled packages
    page.wait_for_selector("[data-testid=shipment-state][data-state=packed]")
    labels = [
        el.get_attribute("data-label")
        for el in page.locator("[data-testid=packed-package]").element_handles()
    ]
    assert len(labels) == 2

    # and the label page draws a Code 128 for the shipment and each package
    page.goto(reverse("shipping:labels", args=[number]))
    assert page.locator("[data-testid=label] svg").count() == 3
    page.go_back()

    # when: she prints the documents and marks the shipment documented
    page.click("#documents-link")
    page.click("#generate-button")
    page.wait_for_selector("[data-testid=document][data-kind=bill_of_lading][data-printed=yes]")
    assert page.locator("[data-testid=document][data-printed=yes]").count() == 3
    page.click("#document-button")

    # and scans both packages at the dock
    page.wait_for_selector("[data-testid=shipment-state][data-state=documented]")
    for label in labels:
        _step(page, "label")
        _scan(page, label)
        page.wait_for_selector(
            f"[data-testid=dock-package][data-label='{label}'][data-verified=yes]"
        )
    assert page.get_by_test_id("verified-count").inner_text() == "2 / 2"

    # and hands it to the carrier with a tracking number
    page.click("#hand-over-link")
    page.select_option("select[name=carrier]", "dhl")
    page.select_option("select[name=service_level]", "express")
    page.fill("input[name=tracking_number]", "JD0146000012345")
    page.fill("input[name=driver_name]", "M. Keller")
    page.click("#hand-over-submit")

    # then: it is handed over, the order shipped, one refused scan on record
    page.wait_for_selector("[data-testid=handed-over]")
    assert "JD0146000012345" in page.get_by_test_id("handed-over").inner_text()
    done = Shipment.objects.get(pk=shipment.pk)
    assert (done.state, done.tracking_number, done.mispicks) == (
        "handed_over",
        "JD0146000012345",
        1,
    )
    assert ScanRefusal.objects.filter(document_ref=number, kind="mispick").count() == 1
    assert SalesOrder.objects.get(pk=order.pk).state == OrderState.SHIPPED
    assert not StockBalance.objects.filter(
        location=dispatch.shipping, on_hand__gt=Decimal("0")
    ).exists()

    # and the must-ship board shows both lines as gone
    page.goto(reverse("shipping:mustship"))
    for line_no in order.lines.order_by("line_no").values_list("line_no", flat=True):
        row = page.locator(f"[data-testid=mustship-row][data-line='{order.number}/{line_no}']")
        assert row.get_attribute("data-status") == "gone"


def test_pick_page_fits_a_portrait_tablet_with_the_scan_field_focused(new_page, dispatch):
    # given: an 800x1280 tablet held upright
    page = new_page(800, 1280)
    login(page, "sam", PASSWORD)
    page.wait_for_url(re.compile(r"/shipping/tablet/$"))
    # when
    page.click(f"#shipment-{dispatch.shipment.number}")
    # then: the first scan waits in focus, the buttons are big enough for gloves
    _step(page, "location_code")
    assert _fits(page)
    height = page.locator("#flow-next").evaluate("e => e.getBoundingClientRect().height")
    assert height >= 44
