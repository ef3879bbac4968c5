"""Shipment reads that pages, the API, the must-ship board and the services share, each in
a fixed number of queries however many lines, lots and packages a shipment has."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from inventory.models import DemandType, Reservation

from .models import OPEN_STATES, Package, PackageContent, Shipment, ShipmentDocument, ShipmentLine

SHIPMENT_DEMAND = DemandType.SHIPMENT


def _count(model: Any, **filters: Any) -> Coalesce:
    rows = (
        model.objects.filter(**filters)
        .order_by()
        .values("shipment_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def shipments_open() -> QuerySet[Shipment]:
    """Shipments not yet handed over (nor cancelled), soonest first, with their customer,
    ship-to, dock and carrier, and `line_count` / `package_count`: one query."""
    return (
        Shipment.objects.filter(state__in=OPEN_STATES)
        .select_related("customer", "ship_to", "dock_location", "carrier")
        .annotate(
            line_count=_count(ShipmentLine, shipment_id=OuterRef("pk")),
            package_count=_count(Package, shipment_id=OuterRef("pk")),
        )
        .order_by("planned_ship_date", "number")
    )


def shipment_lots(*, shipment: Shipment) -> dict[int, list[tuple[str, Decimal]]]:
    """{shipment line id: [(lot number or "", quantity picked)]}: the stock picked to the
    dock for each line (shipped, once handed over), by lot, in one query."""
    rows = (
        Reservation.objects.filter(
            demand_type=SHIPMENT_DEMAND,
            demand_id=shipment.pk,
            location_id=shipment.dock_location_id,
            state__in=[Reservation.State.ACTIVE, Reservation.State.CONSUMED],
        )
        .order_by()
        .values("demand_line", "lot__number")
        .annotate(quantity=Sum("quantity"))
        .order_by("demand_line", "lot__number")
    )
    lots: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for row in rows:
        lots[row["demand_line"]].append((row["lot__number"] or "", row["quantity"]))
    return dict(lots)


@dataclass
class ShipmentDetail:
    shipment: Shipment
    lines: list[ShipmentLine]
    lots: dict[int, list[tuple[str, Decimal]]]
    packages: list[Package]
    documents: list[ShipmentDocument]
    orders: list[str] = field(default_factory=list)

    @property
    def weight_kg(self) -> Decimal:
        return sum((p.weight_kg for p in self.packages), Decimal("0"))


def shipment_detail(pk: int) -> ShipmentDetail:
    """A shipment with its lines (order, item), the lots picked per line, its packages
    with their contents, and its documents (without the PDF bytes): six queries."""
    shipment = Shipment.objects.select_related(
        "customer", "ship_to", "dock_location", "carrier", "created_by"
    ).get(pk=pk)
    lines = list(
        ShipmentLine.objects.filter(shipment=shipment)
        .select_related("sales_order_line__order", "item")
        .order_by("sales_order_line__order__number", "sales_order_line__line_no", "id")
    )
    packages = list(
        Package.objects.filter(shipment=shipment)
        .select_related("verified_by")
        .prefetch_related(
            Prefetch(
                "contents",
                queryset=PackageContent.objects.select_related("shipment_line__item", "lot"),
            )
        )
        .order_by("id")
    )
    documents = list(
        ShipmentDocument.objects.filter(shipment=shipment)
        .defer("content")
        .select_related("generated_by")
        .order_by("kind")
    )
    orders = sorted({line.sales_order_line.order.number for line in lines})
    return ShipmentDetail(
        shipment=shipment,
        lines=lines,
        lots=shipment_lots(shipment=shipment),
        packages=packages,
        documents=documents,
        orders=orders,
    )


def shipment_document_content(*, shipment: Shipment, kind: str) -> ShipmentDocument | None:
    """One stored PDF with its bytes (for the download)."""
    return ShipmentDocument.objects.filter(shipment=shipment, kind=kind).first()
