"""Input serializers parse and check shape; output serializers render. No business rules."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from inventory.models import Item
from mes.core.transitions import available_transitions

from ..models import ChangeRequest, Customer, OrderState, Priority, SalesOrder
from ..selectors import change_request_summary


class ShipToSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=80)
    street = serializers.CharField(max_length=200)
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.CharField(max_length=2, default="DE")
    is_default = serializers.BooleanField(
        required=False, help_text="Defaults to true for the first address given."
    )


class CustomerOutput(serializers.ModelSerializer):
    ship_tos = ShipToSerializer(many=True, read_only=True)

    class Meta:
        model = Customer
        fields = ["code", "name", "priority_class", "email", "active", "ship_tos", "updated_at"]


class CustomerInput(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=200)
    priority_class = serializers.ChoiceField(
        choices=Customer.PriorityClass.choices, default=Customer.PriorityClass.B
    )
    email = serializers.EmailField(required=False, allow_blank=True)
    active = serializers.BooleanField(default=True)
    ship_tos = ShipToSerializer(many=True, required=False, default=list)


def resolve_line_items(lines: list[dict]) -> list[dict]:
    """Swap each line's SKU for its item with one query for all lines."""
    items = Item.objects.in_bulk({line["item"] for line in lines}, field_name="sku")
    errors = [
        {}
        if line["item"] in items
        else {"item": [_("Unknown item %(sku)s.") % {"sku": line["item"]}]}
        for line in lines
    ]
    if any(errors):
        raise serializers.ValidationError(errors)
    return [{**line, "item": items[line["item"]]} for line in lines]


class LineInput(serializers.Serializer):
    item = serializers.CharField(max_length=64, help_text="The item's SKU.")
    quantity = serializers.DecimalField(
        max_digits=12,
        decimal_places=3,
        min_value=Decimal("0.001"),
    )
    requested_date = serializers.DateField()


class OrderUpsertInput(serializers.Serializer):
    external_id = serializers.CharField(max_length=64)
    customer = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Customer.objects.all(),
        error_messages={"does_not_exist": gettext_lazy("Unknown customer {value}.")},
        help_text="The customer's code.",
    )
    customer_po = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    ship_to = serializers.CharField(
        max_length=80,
        required=False,
        allow_blank=True,
        default="",
        help_text="Label of one of the customer's ship-to addresses.",
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    lines = LineInput(many=True, allow_empty=False)

    def validate_lines(self, lines: list[dict]) -> list[dict]:
        return resolve_line_items(lines)


class OrderPatchInput(serializers.Serializer):
    """Ungoverned header fields. Governed fields have endpoints of their own."""

    customer_po = serializers.CharField(max_length=64, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    lines = LineInput(
        many=True, required=False, allow_empty=False, help_text="Replaces the lines; drafts only."
    )

    def validate_lines(self, lines: list[dict]) -> list[dict]:
        return resolve_line_items(lines)

    GOVERNED = {
        "priority": "POST /api/v1/orders/{number}/priority/",
        "promise_date": "POST /api/v1/orders/{number}/lines/{line_no}/promise-date/",
        "state": gettext_lazy(
            "the transition endpoints, e.g. POST /api/v1/orders/{number}/confirm/"
        ),
    }

    def validate(self, attrs: dict) -> dict:
        number = self.context.get("number", "{number}")
        errors = {
            field: [
                _("%(field)s is governed: change it through %(where)s.")
                % {"field": field, "where": str(where).replace("{number}", number)}
            ]
            for field, where in self.GOVERNED.items()
            if field in self.initial_data
        }
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class TransitionInput(serializers.Serializer):
    reason_code = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class GovernedChangeInput(serializers.Serializer):
    reason_code = serializers.CharField(max_length=40)
    reason_text = serializers.CharField()


class PriorityInput(GovernedChangeInput):
    priority = serializers.ChoiceField(choices=Priority.choices)


class PromiseDateInput(GovernedChangeInput):
    promise_date = serializers.DateField()


class OrderLineOutput(serializers.Serializer):
    # Declared field by field, not introspected: this renders on every ERP write.
    line_no = serializers.IntegerField()
    item = serializers.CharField(source="item.sku")
    item_name = serializers.CharField(source="item.name")
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3)
    shipped_quantity = serializers.DecimalField(max_digits=12, decimal_places=3)
    open_quantity = serializers.DecimalField(max_digits=12, decimal_places=3)
    requested_date = serializers.DateField()
    promise_date = serializers.DateField(allow_null=True)
    promise_basis = serializers.CharField()


class OrderOutput(serializers.Serializer):
    number = serializers.CharField()
    external_id = serializers.CharField(allow_null=True)
    customer = serializers.CharField(source="customer.code")
    customer_name = serializers.CharField(source="customer.name")
    customer_po = serializers.CharField()
    ship_to = serializers.CharField(source="ship_to.label", default=None)
    state = serializers.ChoiceField(choices=OrderState.choices)
    held_from_state = serializers.CharField()
    priority = serializers.ChoiceField(choices=Priority.choices)
    notes = serializers.CharField()
    cancel_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    lines = OrderLineOutput(many=True)


class OrderDetailOutput(OrderOutput):
    allowed_transitions = serializers.SerializerMethodField()

    def get_allowed_transitions(self, order: SalesOrder) -> list[str]:
        user = self.context["request"].user
        return [t.name for t in available_transitions(order, user) if not t.custom.get("internal")]


class ChangeRequestInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ChangeRequest.Kind.choices)
    line_no = serializers.IntegerField(required=False, help_text="For quantity and date.")
    new_quantity = serializers.DecimalField(
        max_digits=12, decimal_places=3, required=False, help_text="For quantity and add_line."
    )
    new_date = serializers.DateField(required=False, help_text="For date and add_line.")
    new_item = serializers.SlugRelatedField(
        slug_field="sku",
        queryset=Item.objects.all(),
        required=False,
        help_text="SKU, for add_line.",
    )
    reason_code = serializers.CharField(max_length=40)
    reason_text = serializers.CharField()


class DecisionInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ChangeRequestOutput(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    line_no = serializers.IntegerField(source="line.line_no", default=None)
    new_item = serializers.CharField(source="new_item.sku", default=None)
    reason_code = serializers.CharField(source="reason_code.code")
    requested_by = serializers.CharField(source="requested_by.username", default=None)
    decided_by = serializers.CharField(source="decided_by.username", default=None)
    summary = serializers.SerializerMethodField()

    class Meta:
        model = ChangeRequest
        fields = [
            "number",
            "order",
            "kind",
            "line_no",
            "new_quantity",
            "new_date",
            "new_item",
            "old_value",
            "summary",
            "reason_code",
            "reason_text",
            "state",
            "needs_approval",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "applied_at",
        ]

    def get_summary(self, cr: ChangeRequest) -> str:
        return change_request_summary(cr)
