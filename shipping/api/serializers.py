"""Input serializers parse and check shape; output serializers render. No business rules.

Outputs are declared field by field (not introspected): the list renders up to 500
shipments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Shipment, ShipmentDocument, ShipmentState
from ..selectors import ShipmentDetail

STATE_HELP = "One of " + ", ".join(ShipmentState.values) + "."
KIND_HELP = "One of " + ", ".join(ShipmentDocument.Kind.values) + "."
QTY = {"max_digits": 14, "decimal_places": 3}


def _tracking_url(shipment: Shipment) -> str | None:
    carrier = shipment.carrier
    if carrier is None or not carrier.tracking_url or not shipment.tracking_number:
        return None
    return carrier.tracking_url.replace("{tracking}", shipment.tracking_number)


def document_url(number: str, kind: str) -> str:
    return reverse("api-shipment-document", kwargs={"number": number, "kind": kind})


class ShipmentOutput(serializers.Serializer):
    number = serializers.CharField()
    state = serializers.CharField(help_text=STATE_HELP)
    held_from_state = serializers.CharField(help_text="Where an on-hold shipment returns to.")
    customer = serializers.CharField(source="customer.code")
    customer_name = serializers.CharField(source="customer.name")
    ship_to = serializers.CharField(source="ship_to.label", default=None)
    orders = serializers.SerializerMethodField(help_text="Numbers of the orders it ships.")
    planned_ship_date = serializers.DateField(allow_null=True)
    dock = serializers.CharField(source="dock_location.code", default=None)
    carrier = serializers.CharField(source="carrier.code", default=None)
    service_level = serializers.CharField()
    tracking_number = serializers.CharField()
    tracking_url = serializers.SerializerMethodField()
    driver_name = serializers.CharField()
    handed_over_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    delivery_note = serializers.CharField()
    line_count = serializers.IntegerField()
    package_count = serializers.IntegerField()
    mispicks = serializers.IntegerField()
    incorrect_dispatches = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_orders(self, shipment: Shipment) -> list[str]:
        return sorted({line.sales_order_line.order.number for line in shipment.lines.all()})

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_tracking_url(self, shipment: Shipment) -> str | None:
        return _tracking_url(shipment)


class ShipmentLotOutput(serializers.Serializer):
    lot = serializers.CharField(help_text="The lot number; empty for untracked items.")
    quantity = serializers.DecimalField(**QTY)


class ShipmentLineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.CharField(source="sales_order_line.order.number")
    order_line_no = serializers.IntegerField(source="sales_order_line.line_no")
    customer_po = serializers.CharField(source="sales_order_line.order.customer_po")
    item = serializers.CharField(source="item.sku")
    item_name = serializers.CharField(source="item.name")
    unit = serializers.CharField(source="item.unit")
    quantity = serializers.DecimalField(**QTY)
    quantity_picked = serializers.DecimalField(**QTY)
    quantity_short = serializers.DecimalField(**QTY)
    quantity_shipped = serializers.DecimalField(**QTY)
    lots = serializers.SerializerMethodField(
        help_text="What was picked for the line, by lot (shipped, once handed over)."
    )

    @extend_schema_field(ShipmentLotOutput(many=True))
    def get_lots(self, line: Any) -> list[dict[str, Any]]:
        lots = self.context.get("lots", {}).get(line.pk, [])
        rows = [{"lot": lot, "quantity": quantity} for lot, quantity in lots]
        return ShipmentLotOutput(rows, many=True).data


class ShipmentPackageContentOutput(serializers.Serializer):
    line = serializers.IntegerField(source="shipment_line_id", help_text="The shipment line id.")
    item = serializers.CharField(source="shipment_line.item.sku")
    lot = serializers.CharField(source="lot.number", default=None)
    quantity = serializers.DecimalField(**QTY)


class ShipmentPackageOutput(serializers.Serializer):
    label = serializers.CharField(help_text="Its Code 128 label value.")
    type = serializers.CharField()
    weight_kg = serializers.DecimalField(max_digits=9, decimal_places=2)
    length_cm = serializers.IntegerField()
    width_cm = serializers.IntegerField()
    height_cm = serializers.IntegerField()
    verified_at = serializers.DateTimeField(
        allow_null=True, help_text="When its label was scanned at the dock."
    )
    contents = ShipmentPackageContentOutput(many=True)


class ShipmentDocumentOutput(serializers.Serializer):
    kind = serializers.CharField(help_text=KIND_HELP)
    title = serializers.CharField(source="get_kind_display")
    sha256 = serializers.CharField(help_text="SHA-256 of the PDF bytes.")
    generated_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField(help_text="GET it for the PDF.")

    def get_url(self, document: ShipmentDocument) -> str:
        return document_url(self.context["number"], document.kind)


class _HeaderOutput(ShipmentOutput):
    """The list's fields, with the orders the detail selector already read."""

    def get_orders(self, shipment: Shipment) -> list[str]:
        return list(self.context["orders"])


def shipment_detail_data(detail: ShipmentDetail) -> dict[str, Any]:
    """The detail as `ShipmentDetailOutput` documents it, from the selector's reads."""
    shipment = detail.shipment
    shipment.line_count = len(detail.lines)  # type: ignore[attr-defined]
    shipment.package_count = len(detail.packages)  # type: ignore[attr-defined]
    context = {"lots": detail.lots, "number": shipment.number, "orders": detail.orders}
    data = dict(_HeaderOutput(shipment, context=context).data)
    data["weight_kg"] = f"{detail.weight_kg:.2f}"
    data["notes"] = shipment.notes
    data["lines"] = ShipmentLineOutput(detail.lines, many=True, context=context).data
    data["packages"] = ShipmentPackageOutput(detail.packages, many=True).data
    data["documents"] = ShipmentDocumentOutput(detail.documents, many=True, context=context).data
    return data


class ShipmentDetailOutput(ShipmentOutput):
    """A shipment with its lines (and their lots), packages and documents."""

    weight_kg = serializers.DecimalField(max_digits=12, decimal_places=2)
    notes = serializers.CharField()
    lines = ShipmentLineOutput(many=True)
    packages = ShipmentPackageOutput(many=True)
    documents = ShipmentDocumentOutput(many=True)


class ShipmentLineInput(serializers.Serializer):
    order = serializers.CharField(max_length=20, help_text="The sales order's number.")
    line_no = serializers.IntegerField(min_value=1, help_text="The order line's number.")
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"))


class ShipmentCreateInput(serializers.Serializer):
    lines = ShipmentLineInput(
        many=True,
        allow_empty=False,
        help_text="Order lines of one customer and ship-to, their orders ready to ship.",
    )
    planned_ship_date = serializers.DateField(required=False, allow_null=True, default=None)
    dock = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        default="",
        help_text="A shipping location's code; the first shipping location when left out.",
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class DeliveryInput(serializers.Serializer):
    delivered_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="When it arrived; now if left out."
    )
    note = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        default="",
        help_text="e.g. who signed for it.",
    )
