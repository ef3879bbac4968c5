"""Shipping pages through the Django test client: the desktop list, detail, new shipment,
documents, labels and hold / release / cancel; the shipping clerk's tablet steps (pick
with a wrong scan, short pick, pack, documents, dock, hand over) one post at a time, as a
scanner and a clerk post them; roles, refusals (nothing changed) and query counts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from inventory.models import ScanRefusal, StockBalance
from mes.core.roles import OPERATOR, PLANNER
from shipping import services
from shipping.models import Package, Shipment, ShipmentDocument, ShipmentLine

from ..factories import user_with_role
from .conftest import TWO_PACKAGES, pick_all, plan, to_documented, verify_all

pytestmark = pytest.mark.django_db

D = Decimal


# --- helpers ---------------------------------------------------------------------------


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def operator(db: Any) -> User:
    return user_with_role(OPERATOR, username="op1")


@pytest.fixture
def planner(db: Any) -> User:
    return user_with_role(PLANNER, username="plan1")


@pytest.fixture
def clerk(client: Any, shipping_user: User) -> Any:
    client.force_login(shipping_user)
    return client


def _scan(client: Any, url: str, step: str, value: Any, carried: dict[str, str]) -> Any:
    """Post one scan of the flow as the page does: the earlier answers ride along."""
    data = {**carried, "step": step, step: str(value)}
    carried[step] = str(value)
    return client.post(url, data)


def _pick_by_scans(client: Any, shipment: Shipment, location: str, item: str, lot: str, qty: Any):
    url = reverse("shipping:pick", args=[shipment.number])
    carried: dict[str, str] = {}
    _scan(client, url, "location_code", location, carried)
    _scan(client, url, "item_code", item, carried)
    if lot:
        _scan(client, url, "lot_code", lot, carried)
    return _scan(client, url, "quantity", qty, carried)


def _packed(world: Any, actor: User) -> Shipment:
    shipment = plan(world, actor)
    pick_all(shipment, actor)
    services.shipment_pack(shipment=shipment, actor=actor, packages=TWO_PACKAGES)
    return Shipment.objects.get(pk=shipment.pk)


# --- roles and navigation ----------------------------------------------------------------


def test_shipping_clerk_lands_on_the_shipping_tablet_and_sees_the_shipping_entry(
    client, shipping_user
):
    # when
    shipping_user.set_password("pw-12345-abc")
    shipping_user.save()
    response = client.post(
        reverse("login"), {"username": shipping_user.username, "password": "pw-12345-abc"}
    )
    # then
    assert response["Location"] == reverse("shipping:tablet")
    page = client.get(reverse("shipping:tablet"))
    assert page.status_code == 200
    entries = {str(item["label"]): item for item in page.context["nav_items"]}
    assert entries["Shipping"]["url"] == reverse("shipping:list")


def test_planner_sees_no_shipping_entry_but_reads_shipments(
    client, planner, ship_world, shipping_user
):
    # given
    shipment = plan(ship_world, shipping_user)
    client.force_login(planner)
    # when
    response = client.get(reverse("shipping:detail", args=[shipment.number]))
    # then
    assert response.status_code == 200
    assert "Shipping" not in {str(item["label"]) for item in response.context["nav_items"]}


@pytest.mark.parametrize(
    ("name", "args", "method"),
    [
        ("shipping:list", [], "get"),
        ("shipping:detail", ["SHIP"], "get"),
        ("shipping:labels", ["SHIP"], "get"),
        ("shipping:document", ["SHIP", "packing_slip"], "get"),
        ("shipping:create", [], "get"),
        ("shipping:tablet", [], "get"),
        ("shipping:pick", ["SHIP"], "get"),
        ("shipping:short_pick", ["SHIP"], "post"),
        ("shipping:pack", ["SHIP"], "get"),
        ("shipping:documents", ["SHIP"], "get"),
        ("shipping:dock", ["SHIP"], "get"),
        ("shipping:hand_over", ["SHIP"], "get"),
        ("shipping:transition", ["SHIP", "hold"], "post"),
    ],
)
def test_an_operator_is_refused_every_shipping_page(
    client, operator, ship_world, shipping_user, name, args, method
):
    # given
    shipment = plan(ship_world, shipping_user)
    client.force_login(operator)
    url = reverse(name, args=[shipment.number if a == "SHIP" else a for a in args])
    # when
    response = getattr(client, method)(url)
    # then
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("name", "args", "method"),
    [
        ("shipping:create", [], "get"),
        ("shipping:tablet", [], "get"),
        ("shipping:pick", ["SHIP"], "get"),
        ("shipping:pack", ["SHIP"], "post"),
        ("shipping:documents", ["SHIP"], "post"),
        ("shipping:dock", ["SHIP"], "post"),
        ("shipping:hand_over", ["SHIP"], "post"),
        ("shipping:transition", ["SHIP", "cancel"], "post"),
    ],
)
def test_a_warehouse_clerk_reads_shipments_but_is_refused_their_steps(
    client, warehouse_user, ship_world, shipping_user, name, args, method
):
    # given
    shipment = plan(ship_world, shipping_user)
    client.force_login(warehouse_user)
    url = reverse(name, args=[shipment.number if a == "SHIP" else a for a in args])
    # when
    response = getattr(client, method)(url)
    # then
    assert response.status_code == 403
    assert client.get(reverse("shipping:detail", args=[shipment.number])).status_code == 200
    assert Shipment.objects.get(pk=shipment.pk).state == "planned"


def test_anonymous_goes_to_login(client, ship_world):
    response = client.get(reverse("shipping:list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


# --- the list ------------------------------------------------------------------------------


def test_list_filters_by_state_customer_and_ship_date(clerk, ship_world, shipping_user):
    # given: one planned today, one cancelled
    today = timezone.localdate()
    kept = services.shipment_create(
        lines=[(ship_world.bolt_line, 5)],
        user=shipping_user,
        planned_ship_date=today,
        dock_location=ship_world.shipping,
    )
    gone = services.shipment_create(
        lines=[(ship_world.bolt_line, 5)], user=shipping_user, dock_location=ship_world.shipping
    )
    services.shipment_transition(
        shipment=gone, actor=shipping_user, transition="cancel", reason_code="other", comment="x"
    )
    # when
    everything = clerk.get(reverse("shipping:list"))
    open_today = clerk.get(
        reverse("shipping:list"),
        {"state": "open", "customer": "ACME", "date_from": today, "date_to": today},
    )
    cancelled = clerk.get(reverse("shipping:list"), {"state": "cancelled"})
    # then
    assert {s.number for s in everything.context["shipments"]} == {kept.number, gone.number}
    assert [s.number for s in open_today.context["shipments"]] == [kept.number]
    assert [s.number for s in cancelled.context["shipments"]] == [gone.number]
    assert f'data-number="{kept.number}"' in open_today.content.decode()


def test_list_answers_htmx_with_the_table_only(clerk, ship_world, shipping_user):
    # given
    plan(ship_world, shipping_user)
    # when
    response = clerk.get(reverse("shipping:list"), {"state": "planned"}, HTTP_HX_REQUEST="true")
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="shipment-table"' in body
    assert "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_list_with_a_bad_date_shows_the_error_and_ignores_it(clerk, ship_world, shipping_user):
    plan(ship_world, shipping_user)
    response = clerk.get(reverse("shipping:list"), {"date_from": "not-a-date"})
    assert response.status_code == 200
    assert 'data-testid="error-date_from"' in response.content.decode()
    assert len(response.context["shipments"]) == 1


def _many(world: Any, n: int, actor: User) -> None:
    rows = [
        Shipment(
            number=f"SHP-B{i:05d}",
            customer=world.customer,
            ship_to=world.ship_to,
            dock_location=world.shipping,
            carrier=world.carrier,
            planned_ship_date=timezone.localdate(),
            created_by=actor,
        )
        for i in range(n)
    ]
    Shipment.objects.bulk_create(rows)
    made = list(Shipment.objects.filter(number__startswith="SHP-B"))
    ShipmentLine.objects.bulk_create(
        ShipmentLine(shipment=s, sales_order_line=world.bolt_line, item=world.bolt, quantity=1)
        for s in made
    )


# Session, user, permissions, groups (nav and roles), the open-exceptions badge, then the
# page's own: count and rows (the list also reads the customers for its filter).
QUERIES = {"shipping:list": 9, "shipping:tablet": 8}


@pytest.mark.parametrize("n", [10, 200])
def test_list_and_tablet_query_counts_do_not_grow(
    client, ship_world, shipping_user, django_assert_num_queries, n
):
    # given
    _many(ship_world, n, shipping_user)
    client.force_login(shipping_user)
    client.get(reverse("shipping:list"))  # warm the per-process caches
    for name, key in [("shipping:list", "shipments"), ("shipping:tablet", "tiles")]:
        # when
        with django_assert_num_queries(QUERIES[name]):
            response = client.get(reverse(name))
        # then
        assert response.status_code == 200
        assert len(response.context[key]) == min(n, 50)


# --- detail, documents, labels ----------------------------------------------------------------


def test_detail_shows_lines_lots_packages_documents_history_and_refusals(
    clerk, ship_world, shipping_user
):
    # given: documented, with one refused pick scan
    shipment = plan(ship_world, shipping_user)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the refusal is what we want
        services.shipment_pick(
            shipment=shipment,
            actor=shipping_user,
            location_code="LOC-STK-A2",
            item_code="RESIN-7",
            lot_code="R-001",
            quantity=1,
        )
    to_documented(ship_world, shipping_user, shipment)
    # when
    response = clerk.get(reverse("shipping:detail", args=[shipment.number]))
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-state="documented"' in body
    lines = {row["line"].item.sku: row for row in response.context["lines"]}
    assert lines["RESIN-7"]["lots"] == [("R-001", D("8"))]
    assert lines["BOLT-M8"]["line"].quantity_picked == D("20")
    assert len(response.context["detail"].packages) == 2
    assert response.context["refusal_total"] == 1
    assert 'data-testid="mispicks">1<' in body
    for kind in ("packing_slip", "bill_of_lading", "labels"):
        assert reverse("shipping:document", args=[shipment.number, kind]) in body
    transitions = [entry.transition for entry in response.context["history"]]
    assert transitions[:1] == ["start_picking"]
    assert "document" in transitions
    assert {t["name"] for t in response.context["transitions"]} == {"hold", "cancel"}
    assert response.context["next_step"] == "dock"


def test_document_download_returns_the_stored_pdf(clerk, ship_world, shipping_user):
    # given
    shipment = to_documented(ship_world, shipping_user)
    stored = ShipmentDocument.objects.get(shipment=shipment, kind="bill_of_lading")
    # when
    response = clerk.get(
        reverse("shipping:document", args=[shipment.number, "bill_of_lading"]), {"download": 1}
    )
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content == bytes(stored.content)
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == (
        f'attachment; filename="{shipment.number}-bill_of_lading.pdf"'
    )


def test_document_download_of_an_unknown_or_missing_document_is_404(
    clerk, ship_world, shipping_user
):
    shipment = plan(ship_world, shipping_user)
    assert (
        clerk.get(reverse("shipping:document", args=[shipment.number, "invoice"])).status_code
        == 404
    )
    assert (
        clerk.get(reverse("shipping:document", args=[shipment.number, "packing_slip"])).status_code
        == 404
    )
    assert clerk.get(reverse("shipping:detail", args=["SHP-404"])).status_code == 404


def test_label_page_draws_a_code128_per_package_and_the_shipment(clerk, ship_world, shipping_user):
    # given
    shipment = _packed(ship_world, shipping_user)
    labels = list(shipment.packages.values_list("label", flat=True))
    # when
    response = clerk.get(reverse("shipping:labels", args=[shipment.number]))
    # then
    body = response.content.decode()
    assert response.status_code == 200
    for code in [shipment.number, *labels]:
        assert f'data-code="{code}"' in body
        assert f"<title>{code}</title>" in body  # the SVG barcode of that value
    assert body.count("<svg") == 3
    assert "<?xml" not in body


# --- new shipment ----------------------------------------------------------------------------


def test_new_shipment_lists_the_customers_ready_lines_by_ship_to(clerk, ship_world):
    # when
    response = clerk.get(reverse("shipping:create"), {"customer": "ACME"})
    # then
    assert response.status_code == 200
    (group,) = response.context["groups"]
    assert group["address"] == ship_world.ship_to
    assert {line.item.sku: line.free for line in group["lines"]} == {
        "RESIN-7": D("8"),
        "BOLT-M8": D("20"),
    }


def test_new_shipment_plans_the_chosen_quantities(clerk, ship_world):
    # given
    key = ship_world.ship_to.pk
    data = {
        "customer": "ACME",
        "group": str(key),
        f"g{key}-qty_{ship_world.resin_line.pk}": "",
        f"g{key}-qty_{ship_world.bolt_line.pk}": "12",
        f"g{key}-planned_ship_date": str(timezone.localdate()),
        f"g{key}-dock_location": "SHP-01",
        f"g{key}-notes": "Tail lift",
    }
    # when
    response = clerk.post(reverse("shipping:create"), data)
    # then
    shipment = Shipment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("shipping:detail", args=[shipment.number])
    assert [(line.item.sku, line.quantity) for line in shipment.lines.all()] == [
        ("BOLT-M8", D("12"))
    ]
    assert shipment.notes == "Tail lift"
    assert shipment.planned_ship_date == timezone.localdate()


@pytest.mark.parametrize(
    ("bolt", "resin", "error"),
    [
        ("25", "", "20 pcs are left to ship"),
        ("", "", "Choose at least one order line"),
        ("-3", "", 'data-testid="form-errors"'),
    ],
)
def test_new_shipment_with_bad_quantities_plans_nothing(clerk, ship_world, bolt, resin, error):
    # given
    key = ship_world.ship_to.pk
    data = {
        "customer": "ACME",
        "group": str(key),
        f"g{key}-qty_{ship_world.resin_line.pk}": resin,
        f"g{key}-qty_{ship_world.bolt_line.pk}": bolt,
    }
    # when
    response = clerk.post(reverse("shipping:create"), data)
    # then
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Shipment.objects.exists()


# --- hold, release, cancel ---------------------------------------------------------------------


def test_hold_with_a_reason_then_release_returns_to_picking(clerk, ship_world, shipping_user):
    # given
    shipment = plan(ship_world, shipping_user)
    pick_all(shipment, shipping_user)
    url = reverse("shipping:transition", args=[shipment.number, "hold"])
    # when
    held = clerk.post(url, {"reason_code": "other", "comment": "Customer asked to wait"})
    # then
    assert held.status_code == 302
    assert Shipment.objects.get(pk=shipment.pk).state == "on_hold"
    # when
    released = clerk.post(reverse("shipping:transition", args=[shipment.number, "release_hold"]))
    # then
    assert released.status_code == 302
    assert Shipment.objects.get(pk=shipment.pk).state == "picking"


def test_hold_without_a_reason_is_refused_next_to_the_fields(clerk, ship_world, shipping_user):
    shipment = plan(ship_world, shipping_user)
    response = clerk.post(
        reverse("shipping:transition", args=[shipment.number, "hold"]), {"reason_code": ""}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="error-comment"' in body
    assert response.context["open_panel"] == "hold"
    assert Shipment.objects.get(pk=shipment.pk).state == "planned"


def test_cancel_releases_the_reservations(clerk, ship_world, shipping_user):
    shipment = plan(ship_world, shipping_user)
    response = clerk.post(
        reverse("shipping:transition", args=[shipment.number, "cancel"]),
        {"reason_code": "other", "comment": "Order moved to next week"},
        follow=True,
    )
    assert Shipment.objects.get(pk=shipment.pk).state == "cancelled"
    assert any("cancel" in m.lower() for m in _messages(response))
    assert StockBalance.objects.get(item=ship_world.bolt, location=ship_world.stock2).reserved == 0


def test_an_illegal_transition_is_refused_with_what_is_allowed(clerk, ship_world, shipping_user):
    shipment = plan(ship_world, shipping_user)
    response = clerk.post(
        reverse("shipping:transition", args=[shipment.number, "release_hold"]), follow=True
    )
    (message,) = _messages(response)
    assert "while it is planned" in message
    assert "Allowed now: cancel, hold." in message
    assert Shipment.objects.get(pk=shipment.pk).state == "planned"


def test_forward_steps_are_not_offered_as_transitions(clerk, ship_world, shipping_user):
    shipment = plan(ship_world, shipping_user)
    response = clerk.post(reverse("shipping:transition", args=[shipment.number, "hand_over"]))
    assert response.status_code == 404


# --- tablet: landing and pick --------------------------------------------------------------------


def test_tablet_lists_open_shipments_with_their_next_step(clerk, ship_world, shipping_user):
    planned = plan(ship_world, shipping_user, lines=[(ship_world.bolt_line, 5)])
    documented = to_documented(
        ship_world,
        shipping_user,
        plan(ship_world, shipping_user, lines=[(ship_world.resin_line, 8)]),
    )
    response = clerk.get(reverse("shipping:tablet"))
    steps = {tile["shipment"].number: tile["step"] for tile in response.context["tiles"]}
    assert steps == {planned.number: "pick", documented.number: "dock"}


def test_pick_page_shows_the_pick_list_in_walking_order(clerk, ship_world, shipping_user):
    shipment = plan(ship_world, shipping_user)
    response = clerk.get(reverse("shipping:pick", args=[shipment.number]))
    assert response.status_code == 200
    assert [(p.location.code, p.item.sku, p.lot_number) for p in response.context["pick_list"]] == [
        ("STK-A2", "BOLT-M8", ""),
        ("STK-A1", "RESIN-7", "R-001"),
    ]
    assert 'id="pick-flow"' in response.content.decode()


def test_pick_by_scans_moves_stock_to_the_dock(clerk, ship_world, shipping_user):
    # given
    shipment = plan(ship_world, shipping_user)
    # when
    response = _pick_by_scans(clerk, shipment, "LOC-STK-A2", "BOLT-M8", "", "20")
    # then
    assert response.status_code == 302
    line = shipment.lines.get(item=ship_world.bolt)
    assert line.quantity_picked == D("20")
    assert ship_world.balance(ship_world.bolt, ship_world.shipping).on_hand == D("20")
    assert Shipment.objects.get(pk=shipment.pk).state == "picking"


def test_a_wrong_pick_scan_is_refused_in_red_counted_and_moves_nothing(
    clerk, ship_world, shipping_user
):
    # given
    shipment = plan(ship_world, shipping_user)
    # when: the resin lot at the bolts' shelf
    response = _pick_by_scans(clerk, shipment, "LOC-STK-A2", "RESIN-7", "R-001", "8")
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="flow-error"' in body
    assert "mes-refusal" in body
    assert "Wrong item: RESIN-7" in response.context["flow_error"]
    assert 'data-testid="mispick-count">1<' in body
    assert response.context["form"].current == "location_code"  # scan again from the start
    assert Shipment.objects.get(pk=shipment.pk).mispicks == 1
    assert ScanRefusal.objects.filter(document_ref=shipment.number, kind="mispick").count() == 1
    assert ship_world.balance(ship_world.bolt, ship_world.shipping) is None
    assert shipment.lines.get(item=ship_world.resin).quantity_picked == 0


def test_more_than_reserved_is_refused_and_nothing_moves(clerk, ship_world, shipping_user):
    shipment = plan(ship_world, shipping_user)
    response = _pick_by_scans(clerk, shipment, "LOC-STK-A2", "BOLT-M8", "", "21")
    assert response.status_code == 200
    assert "Only 20 pcs" in response.context["flow_error"]
    assert Shipment.objects.get(pk=shipment.pk).mispicks == 0
    assert ship_world.balance(ship_world.bolt, ship_world.shipping) is None


def test_short_pick_with_a_note_closes_the_line(clerk, ship_world, shipping_user):
    # given
    shipment = plan(ship_world, shipping_user)
    line = shipment.lines.get(item=ship_world.bolt)
    # when
    response = clerk.post(
        reverse("shipping:short_pick", args=[shipment.number]),
        {"line": line.pk, "quantity": "4", "note": "Shelf holds 16 only"},
    )
    # then
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.quantity_short == D("4")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"quantity": "4", "note": ""}, "error-note"),
        ({"quantity": "40", "note": "gone"}, "are still to pick"),
        ({"quantity": "abc", "note": "gone"}, "error-quantity"),
    ],
)
def test_a_bad_short_pick_changes_nothing(clerk, ship_world, shipping_user, data, error):
    shipment = plan(ship_world, shipping_user)
    line = shipment.lines.get(item=ship_world.bolt)
    response = clerk.post(
        reverse("shipping:short_pick", args=[shipment.number]), {"line": line.pk, **data}
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert response.context["short_open"] is True
    line.refresh_from_db()
    assert line.quantity_short == 0


# --- tablet: pack ------------------------------------------------------------------------------


def _pack_data(world: Any, shipment: Shipment, **overrides: str) -> dict[str, str]:
    picked = {row["label"].split(" (")[0]: row["key"] for row in _picked(shipment)}
    resin = next(k for label, k in picked.items() if "RESIN-7" in label)
    bolt = next(k for label, k in picked.items() if "BOLT-M8" in label)
    data = {
        "action": "pack",
        "pkg-TOTAL_FORMS": "2",
        "pkg-INITIAL_FORMS": "0",
        "pkg-MIN_NUM_FORMS": "1",
        "pkg-MAX_NUM_FORMS": "50",
        "pkg-0-type": "pallet",
        "pkg-0-weight_kg": "120.5",
        "pkg-0-length_cm": "120",
        "pkg-0-width_cm": "80",
        "pkg-0-height_cm": "90",
        f"pkg-0-{resin}": "8",
        "pkg-1-type": "box",
        "pkg-1-weight_kg": "4.25",
        "pkg-1-length_cm": "40",
        "pkg-1-width_cm": "30",
        "pkg-1-height_cm": "20",
        f"pkg-1-{bolt}": "20",
    }
    data.update(overrides)
    return data


def _picked(shipment: Shipment) -> list[dict[str, Any]]:
    from shipping.views import _picked_rows, _shipment_lines

    return _picked_rows(shipment, _shipment_lines(shipment))


def test_pack_two_packages_with_their_contents(clerk, ship_world, shipping_user):
    # given
    shipment = plan(ship_world, shipping_user)
    pick_all(shipment, shipping_user)
    # when
    response = clerk.post(
        reverse("shipping:pack", args=[shipment.number]), _pack_data(ship_world, shipment)
    )
    # then
    assert response.status_code == 302
    assert Shipment.objects.get(pk=shipment.pk).state == "packed"
    pallet, box = Package.objects.filter(shipment=shipment).order_by("id")
    assert (pallet.type, pallet.weight_kg) == ("pallet", D("120.5"))
    assert [
        (c.shipment_line.item.sku, c.lot.number, c.quantity) for c in pallet.contents.all()
    ] == [("RESIN-7", "R-001", D("8"))]
    assert [(c.shipment_line.item.sku, c.quantity) for c in box.contents.all()] == [
        ("BOLT-M8", D("20"))
    ]
    page = clerk.get(reverse("shipping:pack", args=[shipment.number]))
    assert f'data-label="{pallet.label}"' in page.content.decode()
    assert 'id="labels-link"' in page.content.decode()


def test_add_package_adds_a_form_and_packs_nothing(clerk, ship_world, shipping_user):
    shipment = plan(ship_world, shipping_user)
    pick_all(shipment, shipping_user)
    response = clerk.post(
        reverse("shipping:pack", args=[shipment.number]),
        _pack_data(ship_world, shipment, action="add"),
    )
    assert response.status_code == 200
    assert len(response.context["formset"].forms) == 3
    assert not Package.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"pkg-1-weight_kg": ""}, 'data-testid="error-pkg-1-weight_kg"'),
        ({"pkg-0-length_cm": "12.5"}, 'data-testid="error-pkg-0-length_cm"'),
        ({"pkg-0-type": "barrel"}, 'data-testid="error-pkg-0-type"'),
    ],
)
def test_bad_packages_are_refused_next_to_their_fields(
    clerk, ship_world, shipping_user, overrides, error
):
    shipment = plan(ship_world, shipping_user)
    pick_all(shipment, shipping_user)
    response = clerk.post(
        reverse("shipping:pack", args=[shipment.number]),
        _pack_data(ship_world, shipment, **overrides),
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Package.objects.exists()
    assert Shipment.objects.get(pk=shipment.pk).state == "picking"


def test_packing_more_than_picked_is_refused(clerk, ship_world, shipping_user):
    shipment = plan(ship_world, shipping_user)
    pick_all(shipment, shipping_user)
    bolt = next(row["key"] for row in _picked(shipment) if "BOLT-M8" in row["label"])
    response = clerk.post(
        reverse("shipping:pack", args=[shipment.number]),
        _pack_data(ship_world, shipment, **{f"pkg-1-{bolt}": "25"}),
    )
    assert response.status_code == 200
    assert "More of BOLT-M8 packed than picked" in response.content.decode()
    assert not Package.objects.exists()


def test_packing_before_every_line_is_picked_is_refused(clerk, ship_world, shipping_user):
    shipment = plan(ship_world, shipping_user)
    services.shipment_pick(
        shipment=shipment,
        actor=shipping_user,
        location_code="LOC-STK-A2",
        item_code="BOLT-M8",
        quantity=20,
    )
    data = {
        "action": "pack",
        "pkg-TOTAL_FORMS": "1",
        "pkg-INITIAL_FORMS": "0",
        "pkg-0-type": "box",
        "pkg-0-weight_kg": "3",
        "pkg-0-length_cm": "40",
        "pkg-0-width_cm": "30",
        "pkg-0-height_cm": "20",
    }
    response = clerk.post(reverse("shipping:pack", args=[shipment.number]), data)
    assert response.status_code == 200
    assert "is not fully picked" in " ".join(response.context["pack_errors"])
    assert not Package.objects.exists()


# --- tablet: documents, dock, hand over -------------------------------------------------


def test_documents_are_generated_then_the_shipment_is_documented(clerk, ship_world, shipping_user):
    # given
    shipment = _packed(ship_world, shipping_user)
    url = reverse("shipping:documents", args=[shipment.number])
    # when
    generated = clerk.post(url, {"action": "generate"})
    # then
    assert generated.status_code == 302
    assert set(ShipmentDocument.objects.values_list("kind", flat=True)) == {
        "packing_slip",
        "bill_of_lading",
        "labels",
    }
    page = clerk.get(url).content.decode()
    assert page.count('data-printed="yes"') == 3
    # when
    documented = clerk.post(url, {"action": "document"})
    # then
    assert documented["Location"] == reverse("shipping:dock", args=[shipment.number])
    assert Shipment.objects.get(pk=shipment.pk).state == "documented"


def test_documenting_without_documents_is_refused(clerk, ship_world, shipping_user):
    shipment = _packed(ship_world, shipping_user)
    response = clerk.post(
        reverse("shipping:documents", args=[shipment.number]), {"action": "document"}
    )
    assert response.status_code == 200
    assert "The packing slip is missing" in response.context["flow_error"]
    assert Shipment.objects.get(pk=shipment.pk).state == "packed"


def test_documents_of_a_shipment_not_packed_are_refused(clerk, ship_world, shipping_user):
    shipment = plan(ship_world, shipping_user)
    response = clerk.post(
        reverse("shipping:documents", args=[shipment.number]), {"action": "generate"}
    )
    assert response.status_code == 200
    assert "printed once it is packed" in response.context["flow_error"]
    assert not ShipmentDocument.objects.exists()


def test_dock_scan_checks_a_package_onto_the_load(clerk, ship_world, shipping_user):
    shipment = to_documented(ship_world, shipping_user)
    first, second = shipment.packages.order_by("id")
    response = clerk.post(reverse("shipping:dock", args=[shipment.number]), {"label": first.label})
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.verified_at is not None
    assert second.verified_at is None


def test_another_shipments_label_is_refused_in_red_as_an_incorrect_dispatch(
    clerk, ship_world, shipping_user
):
    # given: two documented shipments
    ours = to_documented(
        ship_world,
        shipping_user,
        plan(ship_world, shipping_user, lines=[(ship_world.bolt_line, 20)]),
    )
    other = to_documented(
        ship_world,
        shipping_user,
        plan(ship_world, shipping_user, lines=[(ship_world.resin_line, 8)]),
    )
    stray = other.packages.first()
    # when
    response = clerk.post(reverse("shipping:dock", args=[ours.number]), {"label": stray.label})
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert f"belongs to {other.number}" in response.context["flow_error"]
    assert "mes-refusal" in body
    assert 'data-testid="dispatch-count">1<' in body
    assert Shipment.objects.get(pk=ours.pk).incorrect_dispatches == 1
    stray.refresh_from_db()
    assert stray.verified_at is None


def test_an_empty_dock_scan_is_refused(clerk, ship_world, shipping_user):
    shipment = to_documented(ship_world, shipping_user)
    response = clerk.post(reverse("shipping:dock", args=[shipment.number]), {"label": " "})
    assert response.status_code == 200
    assert "Scan the package label" in response.context["flow_error"]


def test_hand_over_with_carrier_and_tracking_number(clerk, ship_world, shipping_user):
    # given
    shipment = to_documented(ship_world, shipping_user)
    verify_all(shipment, shipping_user)
    url = reverse("shipping:hand_over", args=[shipment.number])
    # when
    response = clerk.post(
        url,
        {
            "carrier": "dhl",
            "service_level": "express",
            "tracking_number": "JD0146000099",
            "driver_name": "M. Keller",
        },
    )
    # then
    assert response.status_code == 302
    done = Shipment.objects.get(pk=shipment.pk)
    assert (done.state, done.tracking_number, done.carrier, done.driver_name) == (
        "handed_over",
        "JD0146000099",
        ship_world.carrier,
        "M. Keller",
    )
    page = clerk.get(url).content.decode()
    assert 'data-testid="handed-over"' in page
    assert "JD0146000099" in page


def test_hand_over_without_tracking_number_is_refused_next_to_the_field(
    clerk, ship_world, shipping_user
):
    shipment = to_documented(ship_world, shipping_user)
    verify_all(shipment, shipping_user)
    response = clerk.post(
        reverse("shipping:hand_over", args=[shipment.number]),
        {"carrier": "dhl", "service_level": "express", "tracking_number": "", "driver_name": ""},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="error-tracking_number"' in body
    assert 'data-testid="error-driver_name"' in body
    assert Shipment.objects.get(pk=shipment.pk).state == "documented"


def test_a_refused_hand_over_lists_every_reason(clerk, ship_world, shipping_user):
    # given: documented, but no package scanned at the dock
    shipment = to_documented(ship_world, shipping_user)
    # when
    response = clerk.post(
        reverse("shipping:hand_over", args=[shipment.number]),
        {
            "carrier": "dhl",
            "service_level": "express",
            "tracking_number": "JD1",
            "driver_name": "M. Keller",
        },
    )
    # then
    assert response.status_code == 200
    reasons = response.context["reasons"]
    assert any("Not scanned at the dock" in reason for reason in reasons)
    assert response.content.decode().count('data-testid="handover-reason"') == len(reasons)
    done = Shipment.objects.get(pk=shipment.pk)
    assert (done.state, done.tracking_number) == ("documented", "")


def test_hand_over_page_of_a_shipment_not_documented_offers_no_form(
    clerk, ship_world, shipping_user
):
    shipment = plan(ship_world, shipping_user)
    response = clerk.get(reverse("shipping:hand_over", args=[shipment.number]))
    assert response.status_code == 200
    assert 'id="hand-over-form"' not in response.content.decode()
    assert 'data-testid="not-ready"' in response.content.decode()
