"""Packing (every line picked or short, packages with labels) and the documents: PDFs
drawn on the server, read back here with pypdf, required before the shipment is
documented and final once it is handed over."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import override_settings
from pypdf import PdfReader

from mes.core.errors import Conflict, IllegalTransition, NotPermitted, ValidationFailed
from mes.core.models import TransitionLog
from shipping import services
from shipping.models import Package, PackageContent, Shipment, ShipmentDocument

from .conftest import TWO_PACKAGES, hand_over, pick_all, plan, to_documented, verify_all

pytestmark = pytest.mark.django_db

D = Decimal


def _picked(world: SimpleNamespace, actor: Any) -> Shipment:
    shipment = plan(world, actor)
    pick_all(shipment, actor)
    return shipment


def _text(document: ShipmentDocument) -> str:
    reader = PdfReader(io.BytesIO(bytes(document.content)))
    return "\n".join(page.extract_text() for page in reader.pages)


def _state(shipment: Shipment) -> tuple[Any, ...]:
    fresh = Shipment.objects.get(pk=shipment.pk)
    return (
        fresh.state,
        list(Package.objects.values_list("id", "label")),
        PackageContent.objects.count(),
        list(ShipmentDocument.objects.values_list("kind", "sha256")),
        TransitionLog.objects.count(),
    )


# --- packing ------------------------------------------------------------------------------


def test_pack_into_two_packages_with_unique_labels(ship_world: SimpleNamespace, shipping_user: Any):
    # given
    w = ship_world
    shipment = _picked(w, shipping_user)
    resin, bolt = shipment.lines.get(item=w.resin), shipment.lines.get(item=w.bolt)
    packages = [
        {**TWO_PACKAGES[0], "contents": [{"line": bolt.pk, "quantity": 20}]},
        {**TWO_PACKAGES[1], "contents": [{"line": resin.pk, "lot": "R-001", "quantity": "8"}]},
    ]
    # when
    made = services.shipment_pack(shipment=shipment, actor=shipping_user, packages=packages)
    # then
    assert Shipment.objects.get(pk=shipment.pk).state == "packed"
    assert [p.label for p in made] == [f"PKG-{p.pk:08d}" for p in made]
    assert [(p.type, p.weight_kg, p.length_cm) for p in made] == [
        ("pallet", D("120.5"), 120),
        ("box", D("4.25"), 40),
    ]
    assert sorted(
        PackageContent.objects.values_list(
            "package__label", "shipment_line__item__sku", "lot__number", "quantity"
        )
    ) == sorted(
        [(made[0].label, "BOLT-M8", None, D("20")), (made[1].label, "RESIN-7", "R-001", D("8"))]
    )


def test_one_package_without_contents_holds_everything(
    ship_world: SimpleNamespace, shipping_user: Any
):
    shipment = _picked(ship_world, shipping_user)
    (package,) = services.shipment_pack(
        shipment=shipment, actor=shipping_user, packages=[TWO_PACKAGES[0]]
    )
    assert sorted(package.contents.values_list("shipment_line__item__sku", "quantity")) == [
        ("BOLT-M8", D("20")),
        ("RESIN-7", D("8")),
    ]


def test_pack_waits_for_every_line(ship_world: SimpleNamespace, shipping_user: Any):
    # given: the bolts picked, the resin not yet
    w = ship_world
    shipment = plan(w, shipping_user)
    services.shipment_pick(
        shipment=shipment,
        actor=shipping_user,
        location_code="STK-A2",
        item_code="BOLT-M8",
        quantity=20,
    )
    before = _state(shipment)
    # when / then
    with pytest.raises(Conflict) as caught:
        services.shipment_pack(shipment=shipment, actor=shipping_user, packages=TWO_PACKAGES)
    assert caught.value.message == (
        f"{shipment.number} is not fully picked. Pick or report short: "
        f"{w.order.number}/10 RESIN-7 8 kg."
    )
    assert _state(shipment) == before
    # and once the resin is reported short, it packs
    services.shipment_short_pick(
        shipment=shipment,
        line=shipment.lines.get(item=w.resin),
        actor=shipping_user,
        quantity=8,
        note="Lot blocked in the rack",
    )
    services.shipment_pack(shipment=shipment, actor=shipping_user, packages=TWO_PACKAGES[:1])
    assert Shipment.objects.get(pk=shipment.pk).state == "packed"


@pytest.mark.parametrize(
    ("packages", "errors"),
    [
        ([], {"packages": ["Pack into at least one package."]}),
        (
            [
                {
                    "type": "barrel",
                    "weight_kg": "0",
                    "length_cm": 0,
                    "width_cm": 1.5,
                    "height_cm": "x",
                }
            ],
            {
                "packages[0].type": ["Choose one of box, pallet, crate, envelope."],
                "packages[0].weight_kg": ["Enter the weight in kg, more than zero."],
                "packages[0].length_cm": ["Enter whole centimetres between 1 and 1000."],
                "packages[0].width_cm": ["Enter whole centimetres between 1 and 1000."],
                "packages[0].height_cm": ["Enter whole centimetres between 1 and 1000."],
            },
        ),
        (
            [{**TWO_PACKAGES[0], "contents": [{"line": 999999, "quantity": 1}]}],
            {"packages[0].contents[0]": ["Line 999999 is not on {n}."]},
        ),
        (
            [{**TWO_PACKAGES[0], "contents": [{"line": "resin", "lot": "R-002", "quantity": 1}]}],
            {"packages[0].contents[0]": ["RESIN-7: lot 'R-002' was not picked for this line."]},
        ),
        (
            [{**TWO_PACKAGES[0], "contents": [{"line": "resin", "lot": "R-001", "quantity": 9}]}],
            {"packages[0].contents[0]": ["More of RESIN-7 packed than picked (8)."]},
        ),
    ],
)
def test_bad_packages_are_refused_and_nothing_changes(
    ship_world: SimpleNamespace, shipping_user: Any, packages: Any, errors: Any
):
    # given
    shipment = _picked(ship_world, shipping_user)
    resin = shipment.lines.get(item=ship_world.resin)
    for package in packages:
        for content in package.get("contents", []):
            if content["line"] == "resin":
                content["line"] = resin.pk
    before = _state(shipment)
    # when
    with pytest.raises(ValidationFailed) as caught:
        services.shipment_pack(shipment=shipment, actor=shipping_user, packages=packages)
    # then
    assert caught.value.errors == {
        key: [m.format(n=shipment.number) for m in messages] for key, messages in errors.items()
    }
    assert _state(shipment) == before


def test_pack_before_picking_is_an_illegal_transition(
    ship_world: SimpleNamespace, shipping_user: Any
):
    shipment = plan(ship_world, shipping_user)
    with pytest.raises(IllegalTransition) as caught:
        services.shipment_pack(shipment=shipment, actor=shipping_user, packages=TWO_PACKAGES)
    assert caught.value.current_state == "planned"
    assert caught.value.message.endswith("Allowed now: cancel, hold.")


def test_only_shipping_packs(ship_world: SimpleNamespace, shipping_user: Any, warehouse_user: Any):
    shipment = _picked(ship_world, shipping_user)
    with pytest.raises(NotPermitted):
        services.shipment_pack(shipment=shipment, actor=warehouse_user, packages=TWO_PACKAGES)
    assert Shipment.objects.get(pk=shipment.pk).state == "picking"


# --- documents ----------------------------------------------------------------------------


@override_settings(PLANT_NAME="Augsburg Works", PLANT_ADDRESS="Werkstrasse 3\n86153 Augsburg")
def test_the_pdfs_carry_the_lines_lots_addresses_and_packages(
    ship_world: SimpleNamespace, shipping_user: Any
):
    # given: a packed shipment of resin in two lots (6 kg of R-001 asked first... all 8)
    w = ship_world
    order = w.order
    shipment = _picked(w, shipping_user)
    made = services.shipment_pack(shipment=shipment, actor=shipping_user, packages=TWO_PACKAGES)
    # when
    documents = services.shipment_documents_generate(shipment=shipment, actor=shipping_user)
    # then: three PDFs kept with their hashes
    assert sorted(d.kind for d in documents) == ["bill_of_lading", "labels", "packing_slip"]
    stored = {d.kind: d for d in ShipmentDocument.objects.filter(shipment=shipment)}
    assert all(bytes(d.content).startswith(b"%PDF") for d in stored.values())
    slip = _text(stored["packing_slip"])
    bol = _text(stored["bill_of_lading"])
    everywhere = [
        *("Augsburg Works", "Werkstrasse 3"),  # ship from
        *("Acme Pumps GmbH (ACME)", "dock@acme.example"),  # the customer
        *("Hafenweg 7", "28195 Bremen"),  # ship to
        *(shipment.number, order.number, "R-001 (8)"),  # what: the lot of the resin
        *(made[0].label, "120.5", "124.75"),  # packages, their weights and the total
    ]
    for text in (slip, bol):
        assert [part for part in everywhere if part not in text] == []
    assert [p for p in ("Packing slip", f"{order.number}/10", "BOLT-M8") if p not in slip] == []
    assert [p for p in ("Bill of lading", "Signature") if p not in bol] == []
    labels = PdfReader(io.BytesIO(bytes(stored["labels"].content)))
    assert len(labels.pages) == 3  # the shipment and two packages
    assert shipment.number in labels.pages[0].extract_text()
    assert made[0].label in labels.pages[1].extract_text()
    assert "Package 2 of 2" in labels.pages[2].extract_text()


def test_the_bill_of_lading_names_the_carrier_once_handed_over(
    ship_world: SimpleNamespace, shipping_user: Any
):
    w = ship_world
    shipment = to_documented(w, shipping_user)
    assert "to be assigned" in _text(shipment.documents.get(kind="bill_of_lading"))
    verify_all(shipment, shipping_user)
    hand_over(w, shipment, shipping_user)
    bol = _text(ShipmentDocument.objects.get(shipment=shipment, kind="bill_of_lading"))
    assert [p for p in ("DHL Freight", "JD0146000012345", "M. Keller") if p not in bol] == []


def test_documents_are_printed_once_packed(ship_world: SimpleNamespace, shipping_user: Any):
    shipment = _picked(ship_world, shipping_user)
    with pytest.raises(Conflict) as caught:
        services.shipment_documents_generate(shipment=shipment, actor=shipping_user)
    assert caught.value.message == (
        f"{shipment.number} is picking: its documents are printed once it is packed."
    )
    assert ShipmentDocument.objects.count() == 0


def test_documented_only_with_the_required_documents(
    ship_world: SimpleNamespace, shipping_user: Any
):
    # given: packed, no documents
    shipment = _picked(ship_world, shipping_user)
    services.shipment_pack(shipment=shipment, actor=shipping_user, packages=TWO_PACKAGES)
    # when / then
    with pytest.raises(Conflict) as caught:
        services.shipment_document(shipment=shipment, actor=shipping_user)
    assert caught.value.errors == {
        "documents": ["The packing slip is missing.", "The bill of lading is missing."]
    }
    assert Shipment.objects.get(pk=shipment.pk).state == "packed"
    # and with documents older than the packages
    services.shipment_documents_generate(shipment=shipment, actor=shipping_user)
    ShipmentDocument.objects.filter(kind="bill_of_lading").update(
        generated_at=Package.objects.order_by("created_at").first().created_at
        - dt.timedelta(seconds=1)
    )
    with pytest.raises(Conflict) as caught:
        services.shipment_document(shipment=shipment, actor=shipping_user)
    assert caught.value.errors == {
        "documents": ["The bill of lading is older than the packages: print it again."]
    }
    # and printed again, it is documented
    services.shipment_documents_generate(shipment=shipment, actor=shipping_user)
    assert services.shipment_document(shipment=shipment, actor=shipping_user).state == "documented"


def test_documents_are_final_once_handed_over(ship_world: SimpleNamespace, shipping_user: Any):
    w = ship_world
    shipment = to_documented(w, shipping_user)
    verify_all(shipment, shipping_user)
    hand_over(w, shipment, shipping_user)
    before = list(ShipmentDocument.objects.values_list("kind", "sha256", "generated_at"))
    with pytest.raises(Conflict) as caught:
        services.shipment_documents_generate(shipment=shipment, actor=shipping_user)
    assert caught.value.message == f"{shipment.number} was handed over: its documents are final."
    assert list(ShipmentDocument.objects.values_list("kind", "sha256", "generated_at")) == before


def test_only_shipping_prints_and_documents(
    ship_world: SimpleNamespace, shipping_user: Any, warehouse_user: Any
):
    shipment = _picked(ship_world, shipping_user)
    services.shipment_pack(shipment=shipment, actor=shipping_user, packages=TWO_PACKAGES)
    with pytest.raises(NotPermitted):
        services.shipment_documents_generate(shipment=shipment, actor=warehouse_user)
    with pytest.raises(NotPermitted):
        services.shipment_document(shipment=shipment, actor=warehouse_user)
    assert ShipmentDocument.objects.count() == 0
