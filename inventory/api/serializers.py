"""Input serializers parse and check shape; output serializers render. No business rules:
codes are swapped for records here, every rule about them lives in the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..models import (
    DemandType,
    ExpectedReceipt,
    Item,
    Location,
    Lot,
    MoveType,
    QualityHold,
    Reservation,
)

QTY = {"max_digits": 14, "decimal_places": 3}
POSITIVE_QTY = {**QTY, "min_value": Decimal("0.001")}


def _by_code(model: type, field: str, what: str, **extra: Any) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field=field,
        queryset=model.objects.all(),
        error_messages={"does_not_exist": _("Unknown %(what)s {value}.") % {"what": what}},
        **extra,
    )


# --- items -----------------------------------------------------------------------------


class ItemOutput(serializers.Serializer):
    # Declared field by field, not introspected: lists render up to 500 of these.
    sku = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    source = serializers.ChoiceField(choices=Item.Source.choices)
    lead_time_days = serializers.IntegerField()
    tracking = serializers.ChoiceField(choices=Item.Tracking.choices)
    shelf_life_days = serializers.IntegerField(allow_null=True)
    reservation_policy = serializers.ChoiceField(choices=Item.Policy.choices)
    receipt_over_tolerance_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    receipt_under_tolerance_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    backflush = serializers.BooleanField()
    default_receiving_location = serializers.CharField(
        source="default_receiving_location.code", default=None, allow_null=True
    )
    default_stock_location = serializers.CharField(
        source="default_stock_location.code", default=None, allow_null=True
    )
    active = serializers.BooleanField()
    updated_at = serializers.DateTimeField()


class ItemInput(serializers.Serializer):
    """The inventory fields are optional: left out, they keep their current value."""

    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    unit = serializers.CharField(max_length=16, default="pcs")
    source = serializers.ChoiceField(choices=Item.Source.choices, default=Item.Source.MAKE)
    lead_time_days = serializers.IntegerField(min_value=0, max_value=3650, default=0)
    active = serializers.BooleanField(default=True)
    tracking = serializers.ChoiceField(choices=Item.Tracking.choices, required=False)
    shelf_life_days = serializers.IntegerField(
        min_value=1, max_value=36500, required=False, allow_null=True, help_text="Null: no expiry."
    )
    reservation_policy = serializers.ChoiceField(choices=Item.Policy.choices, required=False)
    receipt_over_tolerance_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=Decimal("0"), required=False
    )
    receipt_under_tolerance_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=Decimal("0"), required=False
    )
    backflush = serializers.BooleanField(required=False)
    default_receiving_location = _by_code(
        Location, "code", "location", required=False, allow_null=True, help_text="A code."
    )
    default_stock_location = _by_code(
        Location, "code", "location", required=False, allow_null=True, help_text="A code."
    )


# --- bills of materials ----------------------------------------------------------------


class BomLineOutput(serializers.Serializer):
    position = serializers.IntegerField()
    component = serializers.CharField(source="component.sku")
    component_name = serializers.CharField(source="component.name")
    quantity_per = serializers.DecimalField(max_digits=14, decimal_places=5)
    scrap_allowance_pct = serializers.DecimalField(max_digits=5, decimal_places=2)


class BomOutput(serializers.Serializer):
    item = serializers.CharField(source="item.sku")
    revision = serializers.CharField()
    lines = BomLineOutput(many=True)
    updated_at = serializers.DateTimeField()


class BomLineInput(serializers.Serializer):
    component = serializers.CharField(max_length=64, help_text="The component's SKU.")
    quantity_per = serializers.DecimalField(
        max_digits=14, decimal_places=5, min_value=Decimal("0.00001")
    )
    scrap_allowance_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=Decimal("0"), default=Decimal("0")
    )
    position = serializers.IntegerField(min_value=1, required=False)


class BomInput(serializers.Serializer):
    item = _by_code(Item, "sku", "item", help_text="The made item's SKU.")
    revision = serializers.CharField(max_length=20, default="A")
    lines = BomLineInput(many=True, allow_empty=False)

    def validate_lines(self, lines: list[dict]) -> list[dict]:
        """Swap each component SKU for its item with one query for all lines."""
        items = Item.objects.in_bulk({line["component"] for line in lines}, field_name="sku")
        errors = [
            {}
            if line["component"] in items
            else {"component": [_("Unknown item %(sku)s.") % {"sku": line["component"]}]}
            for line in lines
        ]
        if any(errors):
            raise serializers.ValidationError(errors)
        return [{**line, "component": items[line["component"]]} for line in lines]


# --- locations -------------------------------------------------------------------------


class LocationOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=Location.Type.choices)
    parent = serializers.CharField(source="parent.code", default=None, allow_null=True)
    barcode = serializers.CharField()
    pick_sequence = serializers.CharField()
    active = serializers.BooleanField()


class LocationInput(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=120)
    type = serializers.ChoiceField(choices=Location.Type.choices)
    parent = _by_code(Location, "code", "location", required=False, allow_null=True, default=None)
    barcode = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="", help_text="Default: code."
    )
    pick_sequence = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default=""
    )
    active = serializers.BooleanField(default=True)


# --- lots ------------------------------------------------------------------------------


class LotOutput(serializers.Serializer):
    item = serializers.CharField(source="item.sku")
    number = serializers.CharField()
    supplier_lot = serializers.CharField()
    supplier = serializers.CharField()
    received_on = serializers.DateField(allow_null=True)
    produced_on = serializers.DateField(allow_null=True)
    expiry_date = serializers.DateField(allow_null=True)
    is_serial = serializers.BooleanField()
    produced_by = serializers.CharField(source="produced_by_ref")


# --- expected receipts -----------------------------------------------------------------


class ReceiptOutput(serializers.Serializer):
    number = serializers.CharField()
    external_id = serializers.CharField(allow_null=True)
    po_number = serializers.CharField()
    po_line = serializers.CharField()
    supplier = serializers.CharField()
    item = serializers.CharField(source="item.sku")
    unit = serializers.CharField(source="item.unit")
    quantity_expected = serializers.DecimalField(**QTY)
    quantity_received = serializers.DecimalField(**QTY)
    expected_date = serializers.DateField()
    state = serializers.ChoiceField(choices=ExpectedReceipt.State.choices)
    lot = serializers.CharField(source="lot.number", default=None, allow_null=True)
    location = serializers.CharField(source="location.code", default=None, allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()


class ReceiptInput(serializers.Serializer):
    external_id = serializers.CharField(max_length=64, help_text="The ERP's id of the line.")
    item = _by_code(Item, "sku", "item", help_text="SKU.")
    quantity_expected = serializers.DecimalField(**POSITIVE_QTY)
    expected_date = serializers.DateField()
    supplier = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    po_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    po_line = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")


# --- balances and moves ----------------------------------------------------------------


class BalanceOutput(serializers.Serializer):
    item = serializers.CharField(source="item.sku")
    unit = serializers.CharField(source="item.unit")
    location = serializers.CharField(source="location.code")
    location_type = serializers.CharField(
        source="location.type", help_text="The location's type (see locations)."
    )
    lot = serializers.CharField(source="lot.number", default=None, allow_null=True)
    expiry_date = serializers.DateField(source="lot.expiry_date", default=None, allow_null=True)
    on_hand = serializers.DecimalField(**QTY)
    reserved = serializers.DecimalField(**QTY)
    available = serializers.DecimalField(**QTY)
    held = serializers.BooleanField(help_text="An active quality hold covers it.")
    blocked = serializers.BooleanField(
        default=False, help_text="Nobody may use it: held, expired or in quarantine."
    )
    updated_at = serializers.DateTimeField()


class MoveOutput(serializers.Serializer):
    id = serializers.IntegerField()
    # Plain strings (not enums) here and in balances, so the schema has one `type` enum.
    type = serializers.CharField(help_text=f"One of {', '.join(MoveType.values)}.")
    item = serializers.CharField(source="item.sku")
    lot = serializers.CharField(source="lot.number", default=None, allow_null=True)
    from_location = serializers.CharField(
        source="from_location.code", default=None, allow_null=True
    )
    to_location = serializers.CharField(source="to_location.code", default=None, allow_null=True)
    quantity = serializers.DecimalField(**QTY)
    occurred_at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)
    reason_code = serializers.CharField(source="reason_code.code", default=None, allow_null=True)
    note = serializers.CharField()
    document_type = serializers.CharField()
    document_ref = serializers.CharField()
    partner = serializers.CharField()
    reverses = serializers.IntegerField(source="reverses_id", allow_null=True)


class TransferInput(serializers.Serializer):
    item = _by_code(Item, "sku", "item", help_text="SKU.")
    from_location = _by_code(Location, "code", "location", help_text="A location code.")
    to_location = _by_code(Location, "code", "location", help_text="A location code.")
    quantity = serializers.DecimalField(**POSITIVE_QTY)
    lot = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="", help_text="Lot number."
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


def resolve_lot(item: Item, number: str, field: str = "lot") -> Lot | None:
    """The item's lot by number (None when none given)."""
    if not number:
        return None
    lot = Lot.objects.filter(item=item, number=number).first()
    if lot is None:
        raise serializers.ValidationError(
            {field: [_("%(sku)s has no lot %(lot)s.") % {"sku": item.sku, "lot": number}]}
        )
    return lot


# --- reservations ----------------------------------------------------------------------


class ReservationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    item = serializers.CharField(source="item.sku")
    location = serializers.CharField(source="location.code")
    lot = serializers.CharField(source="lot.number", default=None, allow_null=True)
    quantity = serializers.DecimalField(**QTY)
    quantity_consumed = serializers.DecimalField(**QTY)
    open_quantity = serializers.DecimalField(**QTY)
    demand_type = serializers.ChoiceField(choices=DemandType.choices)
    demand_id = serializers.IntegerField()
    demand_ref = serializers.CharField()
    demand_line = serializers.IntegerField(allow_null=True)
    state = serializers.ChoiceField(choices=Reservation.State.choices)
    staged = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class ReserveInput(serializers.Serializer):
    item = _by_code(Item, "sku", "item", help_text="SKU.")
    quantity = serializers.DecimalField(**POSITIVE_QTY)
    demand_type = serializers.ChoiceField(choices=DemandType.choices)
    demand_id = serializers.IntegerField(min_value=1)
    demand_ref = serializers.CharField(max_length=40, help_text="e.g. the work order number.")
    demand_line = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class ReserveOutput(serializers.Serializer):
    reserved = serializers.DecimalField(**QTY)
    shortfall = serializers.DecimalField(**QTY)
    reservations = ReservationOutput(many=True)


class DemandInput(serializers.Serializer):
    demand_type = serializers.ChoiceField(choices=DemandType.choices)
    demand_id = serializers.IntegerField(min_value=1)


class ReleasedOutput(serializers.Serializer):
    released = serializers.IntegerField(help_text="How many reservations were released.")


class ReleaseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


# --- quality holds ---------------------------------------------------------------------


class HoldOutput(serializers.Serializer):
    number = serializers.CharField()
    scope = serializers.ChoiceField(choices=QualityHold.Scope.choices)
    item = serializers.CharField(source="lot.item.sku", default=None, allow_null=True)
    lot = serializers.CharField(source="lot.number", default=None, allow_null=True)
    location = serializers.CharField(source="location.code", default=None, allow_null=True)
    work_order_id = serializers.IntegerField(allow_null=True)
    work_order_ref = serializers.CharField()
    state = serializers.ChoiceField(choices=QualityHold.State.choices)
    reason_code = serializers.CharField(source="reason_code.code")
    note = serializers.CharField()
    placed_by = serializers.CharField(source="placed_by.username", default=None, allow_null=True)
    placed_at = serializers.DateTimeField()
    released_by = serializers.CharField(
        source="released_by.username", default=None, allow_null=True
    )
    released_at = serializers.DateTimeField(allow_null=True)
    release_reason_code = serializers.CharField(
        source="release_reason_code.code", default=None, allow_null=True
    )
    release_note = serializers.CharField()


class HoldInput(serializers.Serializer):
    scope = serializers.ChoiceField(choices=QualityHold.Scope.choices)
    item = _by_code(
        Item, "sku", "item", required=False, allow_null=True, default=None, help_text="For a lot."
    )
    lot = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    location = _by_code(Location, "code", "location", required=False, allow_null=True, default=None)
    work_order_id = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    work_order_ref = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default=""
    )
    reason_code = serializers.CharField(max_length=40)
    note = serializers.CharField()

    def validate(self, attrs: dict) -> dict:
        if attrs["lot"]:
            if attrs["item"] is None:
                raise serializers.ValidationError(
                    {"item": [_("Name the lot's item (SKU): lot numbers are per item.")]}
                )
            attrs["lot"] = resolve_lot(attrs["item"], attrs["lot"])
        else:
            attrs["lot"] = None
        return attrs


class HoldReleaseInput(serializers.Serializer):
    reason_code = serializers.CharField(max_length=40)
    note = serializers.CharField()


# --- trace -----------------------------------------------------------------------------


class TraceReceiptOutput(serializers.Serializer):
    document = serializers.CharField(help_text="The receipt's number.")
    supplier = serializers.CharField()
    quantity = serializers.DecimalField(**QTY)
    at = serializers.DateTimeField()


class TraceConsumerOutput(serializers.Serializer):
    work_order_id = serializers.IntegerField(allow_null=True)
    work_order = serializers.CharField()
    quantity = serializers.DecimalField(**QTY)


class TraceShipmentOutput(serializers.Serializer):
    document = serializers.CharField(help_text="The shipment's number.")
    customer = serializers.CharField()
    quantity = serializers.DecimalField(**QTY)
    at = serializers.DateTimeField()


class TraceNodeOutput(serializers.Serializer):
    """One lot of the trace: depth 0 is the lot traced; `parent_lot` is the lot it was
    reached from, linked by `quantity` consumed in `work_order`."""

    depth = serializers.IntegerField()
    item = serializers.CharField(source="lot.item.sku")
    item_name = serializers.CharField(source="lot.item.name")
    lot = serializers.CharField(source="lot.number")
    supplier_lot = serializers.CharField(source="lot.supplier_lot")
    supplier = serializers.CharField(source="lot.supplier")
    expiry_date = serializers.DateField(source="lot.expiry_date", allow_null=True)
    parent_lot = serializers.SerializerMethodField()
    quantity = serializers.DecimalField(**QTY, allow_null=True)
    work_order = serializers.CharField(source="work_order_ref")
    receipts = TraceReceiptOutput(many=True, help_text="Backward: how it came in.")
    consumed_by = TraceConsumerOutput(many=True, help_text="Forward: work orders it went into.")
    shipments = TraceShipmentOutput(many=True, help_text="Forward: shipments to customers.")

    def get_parent_lot(self, node: Any) -> str | None:
        if node.parent_lot_id is None:
            return None
        return self.context["lot_numbers"].get(node.parent_lot_id)


class TraceOutput(serializers.Serializer):
    item = serializers.CharField()
    lot = serializers.CharField()
    direction = serializers.ChoiceField(choices=[("backward", "backward"), ("forward", "forward")])
    nodes = TraceNodeOutput(many=True)
