"""The demo's dispatch: carriers, a shipment in every state with what each shows (a
mis-pick, packages, PDFs, a tracking number and a partly shipped order, a delivery, a
hold), must-ship lines due today and tomorrow with readiness and risks, the ERP's
inactive webhook subscription; and a second run changes nothing."""

from __future__ import annotations

import io
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from pypdf import PdfReader

from exceptions.models import PlantException, WebhookDelivery, WebhookSubscription
from inventory.models import ScanRefusal, StockMove
from kpis.generate import GENERATED
from mes.core.models import Event, TransitionLog
from orders.models import OrderState, SalesOrderLine
from shipping.demo import CARRIERS, seed_shipping_demo
from shipping.models import Carrier, Package, Shipment, ShipmentDocument, ShipmentState
from shipping.mustship import must_ship_board

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def by_state() -> dict[str, Shipment]:
    # The demo's own shipments, not the generated KPI history behind them.
    shipments = Shipment.objects.exclude(notes=GENERATED).select_related("carrier", "customer")
    return {s.state: s for s in shipments}


def test_carriers_with_service_levels(seeded):
    # then
    carriers = {c.code: c for c in Carrier.objects.all()}
    assert set(carriers) == {code for code, *_rest in CARRIERS}
    assert carriers["dhl-freight"].service_levels == ["standard", "express", "next-day 10:00"]
    assert all(c.service_levels and c.active for c in carriers.values())
    assert "Loaded the demo shipping: 3 carriers, 7 shipments" in seeded


def test_a_shipment_in_every_state(seeded):
    # then
    assert set(by_state()) == set(ShipmentState.values) - {ShipmentState.CANCELLED}


def test_picking_shipment_has_a_refused_mispick(seeded):
    # given
    picking = by_state()[ShipmentState.PICKING]
    # then
    assert picking.mispicks == 1
    refusal = ScanRefusal.objects.get(kind=ScanRefusal.Kind.MISPICK, document_ref=picking.number)
    assert refusal.scanned
    assert Event.objects.filter(type="pick.mismatch", object_id=picking.pk).exists()
    line = picking.lines.get()
    assert 0 < line.quantity_picked < line.quantity


def test_packed_shipment_has_packages(seeded):
    # given
    packed = by_state()[ShipmentState.PACKED]
    # then
    packages = list(packed.packages.order_by("id"))
    assert [p.type for p in packages] == [Package.Type.PALLET, Package.Type.BOX]
    assert all(p.label.startswith("PKG-") for p in packages)


def test_documented_shipment_has_pdfs_that_open(seeded):
    # given
    documented = by_state()[ShipmentState.DOCUMENTED]
    # then
    documents = {d.kind: d for d in documented.documents.all()}
    assert set(documents) == set(ShipmentDocument.Kind.values)
    slip = PdfReader(io.BytesIO(bytes(documents["packing_slip"].content)))
    text = "".join(page.extract_text() for page in slip.pages)
    assert documented.number in text
    assert "SH-2010" in text


def test_handed_over_shipment_has_tracking_and_its_order_is_partly_shipped(seeded):
    # given
    gone = by_state()[ShipmentState.HANDED_OVER]
    # then
    assert (gone.carrier.code, gone.service_level, gone.tracking_number) == (
        "dhl-freight",
        "express",
        "JJD0001460183520417",
    )
    assert gone.handed_over_at is not None
    assert gone.incorrect_dispatches == 1
    order_line = gone.lines.select_related("sales_order_line__order").first().sales_order_line
    assert order_line.order.state == OrderState.PARTIALLY_SHIPPED
    assert StockMove.objects.filter(type="shipment", document_ref=gone.number).count() >= 2
    assert Event.objects.filter(type="shipment.handed_over", payload__number=gone.number).exists()


def test_delivered_and_held_shipments(seeded):
    # given
    shipments = by_state()
    delivered, held = shipments[ShipmentState.DELIVERED], shipments[ShipmentState.ON_HOLD]
    # then
    assert delivered.delivered_at is not None
    assert delivered.delivery_note.startswith("POD signed")
    assert delivered.lines.first().sales_order_line.order.state == OrderState.SHIPPED
    assert held.held_from_state == ShipmentState.PLANNED
    hold = TransitionLog.objects.get(object_id=held.pk, transition="hold", to_state="on_hold")
    assert hold.reason_code.code == "customer-request"


def test_must_ship_board_shows_today_and_tomorrow_with_readiness_and_risks(seeded):
    # when
    board = must_ship_board(page=1, per_page=100)
    # then
    today = timezone.localdate()
    assert board.total >= 8
    dues = {row.due for row in board.rows}
    assert {today, today + timezone.timedelta(days=1)} <= dues
    statuses = {row.order.number: row for row in board.rows}
    assert len(statuses) >= 7
    risks = {risk.kind for row in board.rows for risk in row.risks}
    assert {"material_short", "on_hold"} <= risks
    readiness = {step.key: step.state for row in board.rows for step in row.readiness}
    assert set(readiness) >= {"produced", "picked", "packed", "documented"}
    documented = by_state()[ShipmentState.DOCUMENTED]
    number = documented.lines.first().sales_order_line.order.number
    steps = {step.key: step.done for step in statuses[number].readiness}
    assert (steps["picked"], steps["packed"], steps["documented"]) == (True, True, True)


def test_mispick_and_incorrect_dispatch_raised_exceptions(seeded):
    # then
    raised = set(PlantException.objects.values_list("rule__decision_point", flat=True))
    assert {"pick.mismatch", "shipment.incorrect_dispatch"} <= raised


def test_webhook_subscription_for_handovers_is_inactive(seeded):
    # then
    subscription = WebhookSubscription.objects.get(name="ERP dispatch notifications (demo)")
    assert subscription.url.startswith("http://127.0.0.1:")
    assert "shipment.handed_over" in subscription.event_types
    assert subscription.active is False
    assert not WebhookDelivery.objects.filter(subscription=subscription).exists()


def test_due_lines_are_due_today_and_tomorrow(seeded):
    # then
    today = timezone.localdate()
    due = SalesOrderLine.objects.filter(
        order__customer_po__in=["BA-55490", "HS-7790", "DP-10260", "IMT-40031"]
    ).values_list("promise_date", flat=True)
    assert set(due) == {today, today + timezone.timedelta(days=1)}


def test_seeding_again_changes_nothing(seeded):
    # given
    before = (
        Shipment.objects.count(),
        Carrier.objects.count(),
        Event.objects.count(),
        StockMove.objects.count(),
        WebhookSubscription.objects.count(),
    )
    out = StringIO()
    # when
    call_command("seed_demo", stdout=out)
    again = seed_shipping_demo(users={}, stdout=out)
    # then
    assert again is False
    assert "Demo shipping exists already: nothing to add." in out.getvalue()
    after = (
        Shipment.objects.count(),
        Carrier.objects.count(),
        Event.objects.count(),
        StockMove.objects.count(),
        WebhookSubscription.objects.count(),
    )
    assert after == before
