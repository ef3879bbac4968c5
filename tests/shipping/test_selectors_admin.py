"""Shipment reads in fixed queries (the same at 10 and 200 rows), and the admin: carriers
editable, shipments read-only."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from shipping.models import Shipment
from shipping.selectors import shipment_detail, shipments_open

from .conftest import hand_over, plan, ready_order, to_documented, verify_all

pytestmark = pytest.mark.django_db


def _bulk(world: SimpleNamespace, count: int) -> None:
    Shipment.objects.bulk_create(
        Shipment(
            number=f"SHP-B{n:05d}",
            customer=world.customer,
            ship_to=world.ship_to,
            dock_location=world.shipping,
        )
        for n in range(count)
    )


@pytest.mark.parametrize("count", [10, 200])
def test_open_shipments_in_one_query(
    ship_world: SimpleNamespace, django_assert_num_queries: Any, count: int
):
    _bulk(ship_world, count)
    with django_assert_num_queries(1):
        rows = list(shipments_open())
    assert len(rows) == count
    assert {(row.line_count, row.package_count, row.customer.code) for row in rows} == {
        (0, 0, "ACME")
    }


def test_handed_over_shipments_are_not_open(ship_world: SimpleNamespace, shipping_user: Any):
    # given: one shipment documented, another just planned
    w = ship_world
    shipment = to_documented(w, shipping_user)
    other = plan(w, shipping_user, [(ready_order(w, [(w.bolt, 5)]).lines.get(), 5)])
    assert {row.number for row in shipments_open()} == {shipment.number, other.number}
    # when
    verify_all(shipment, shipping_user)
    hand_over(w, shipment, shipping_user)
    # then
    assert [row.number for row in shipments_open()] == [other.number]


def test_shipment_detail_in_fixed_queries(
    ship_world: SimpleNamespace, shipping_user: Any, django_assert_num_queries: Any
):
    # given: documented, two lines, two packages, three documents
    shipment = to_documented(ship_world, shipping_user)
    # when
    with django_assert_num_queries(6):
        detail = shipment_detail(shipment.pk)
        lines = [(line.item.sku, line.sales_order_line.order.number) for line in detail.lines]
        contents = [c.shipment_line.item.sku for p in detail.packages for c in p.contents.all()]
        kinds = [d.kind for d in detail.documents]
    # then
    assert sorted(lines) == sorted(
        [("RESIN-7", ship_world.order.number), ("BOLT-M8", ship_world.order.number)]
    )
    resin = next(line for line in detail.lines if line.item.sku == "RESIN-7")
    assert detail.lots[resin.pk] == [("R-001", 8)]
    assert sorted(contents) == []  # two packages without contents
    assert kinds == ["bill_of_lading", "labels", "packing_slip"]
    assert detail.orders == [ship_world.order.number]
    assert str(detail.weight_kg) == "124.75"


def test_admin_lists_and_shows_shipments_read_only(
    ship_world: SimpleNamespace, shipping_user: Any, client: Any
):
    shipment = to_documented(ship_world, shipping_user)
    admin = User.objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.force_login(admin)
    listing = client.get(reverse("admin:shipping_shipment_changelist"))
    page = client.get(reverse("admin:shipping_shipment_change", args=[shipment.pk]))
    carriers = client.get(reverse("admin:shipping_carrier_changelist"))
    add_shipment = client.get(reverse("admin:shipping_shipment_add"))
    assert (listing.status_code, page.status_code, carriers.status_code) == (200, 200, 200)
    assert shipment.number in listing.content.decode()
    body = page.content.decode()
    assert "PKG-" in body
    assert "Packing slip" in body
    assert 'name="_save"' not in body  # read-only
    assert add_shipment.status_code == 403
    edit = client.post(
        reverse("admin:shipping_carrier_change", args=[ship_world.carrier.pk]),
        {
            "code": "dhl",
            "name": "DHL Freight GmbH",
            "service_levels": '["standard"]',
            "tracking_url": "",
            "active": "on",
        },
    )
    assert edit.status_code == 302
    ship_world.carrier.refresh_from_db()
    assert ship_world.carrier.name == "DHL Freight GmbH"
