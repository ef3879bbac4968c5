"""Input serializers parse and check shape; output serializers render. No business rules."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from inventory.models import Item
from mes.core.transitions import available_transitions

from ..models import ChangeRequest, Customer, Priority, SalesOrder, SalesOrderLine
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


class LineInput(serializers.Serializer):
    item = serializers.SlugRelatedField(slug_field="sku", queryset=Item.objects.all())
    quantity = serializers.DecimalField(
        max_digits=12,
        decimal_places=3,
        min_value=Decimal("0.001"),
    )
    requested_date = serializers.DateField()


class OrderUpsertInput(serializers.Serializer):
    external_id = serializers.CharField(max_length=64)
    customer = serializers.SlugRelatedField(slug_field="code", queryset=Customer.objects.all())
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


class OrderPatchInput(serializers.Serializer):
    """Ungoverned header fields. Governed fields have endpoints of their own."""

    customer_po = serializers.CharField(max_length=64, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    lines = LineInput(
        many=True, required=False, allow_empty=False, help_text="Replaces the lines; drafts only."
    )

    GOVERNED = {
        "priority": "POST /api/v1/orders/{number}/priority/",
        "promise_date": "POST /api/v1/orders/{number}/lines/{line_no}/promise-date/",
        "state": "the transition endpoints, e.g. POST /api/v1/orders/{number}/confirm/",
    }

    def validate(self, attrs: dict) -> dict:
        number = self.context.get("number", "{number}")
        errors = {
            field: [f"{field} is governed: change it through {where.replace('{number}', number)}."]
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


class OrderLineOutput(serializers.ModelSerializer):
    item = serializers.CharField(source="item.sku")
    item_name = serializers.CharField(source="item.name")
    open_quantity = serializers.DecimalField(max_digits=12, decimal_places=3)

    class Meta:
        model = SalesOrderLine
        fields = [
            "line_no",
            "item",
            "item_name",
            "quantity",
            "shipped_quantity",
            "open_quantity",
            "requested_date",
            "promise_date",
            "promise_basis",
        ]


class OrderOutput(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.code")
    customer_name = serializers.CharField(source="customer.name")
    ship_to = serializers.CharField(source="ship_to.label", default=None)
    lines = OrderLineOutput(many=True)

    class Meta:
        model = SalesOrder
        fields = [
            "number",
            "external_id",
            "customer",
            "customer_name",
            "customer_po",
            "ship_to",
            "state",
            "held_from_state",
            "priority",
            "notes",
            "cancel_reason",
            "created_at",
            "updated_at",
            "confirmed_at",
            "lines",
        ]


class OrderDetailOutput(OrderOutput):
    allowed_transitions = serializers.SerializerMethodField()

    class Meta(OrderOutput.Meta):
        fields = [*OrderOutput.Meta.fields, "allowed_transitions"]

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
