"""Input serializers parse and check shape (codes resolved to records in one query per
kind); output serializers render, declared field by field. No business rules here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory.models import Item, Location

from ..models import (
    CalendarException,
    ChangeoverFamily,
    OperationState,
    ScheduleRun,
    WorkCenter,
    WorkOrder,
    WorkOrderState,
)

QTY = {"max_digits": 14, "decimal_places": 3}


def _one_of(choices: Any) -> str:
    return "One of: " + ", ".join(str(value) for value in choices.values) + "."


def _resolve(codes: set[str], model: Any, field: str) -> dict[str, Any]:
    return model.objects.in_bulk(list(codes), field_name=field) if codes else {}


# --- master data: changeover families ---------------------------------------------------


class ChangeoverFamilyIO(serializers.Serializer):
    code = serializers.SlugField(max_length=30)
    name = serializers.CharField(max_length=100)


# --- master data: work centers ----------------------------------------------------------


class ShiftIO(serializers.Serializer):
    weekday = serializers.IntegerField(
        min_value=0, max_value=6, help_text="0 = Monday ... 6 = Sunday."
    )
    name = serializers.CharField(max_length=40, default="Day")
    start = serializers.TimeField()
    end = serializers.TimeField(help_text="At or before `start`: the shift ends after midnight.")


@extend_schema_field(
    {"type": "string", "pattern": "^(" + "|".join(CalendarException.Kind.values) + ")$"}
)
class CalendarKindField(serializers.ChoiceField):
    """A pattern, not an enum: the schema's enums are named by field, and orders' change
    requests have a `kind` enum already."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=CalendarException.Kind.choices, **kwargs)


class CalendarExceptionIO(serializers.Serializer):
    date = serializers.DateField()
    kind = CalendarKindField(
        help_text="`closed`: no work (the whole day, or from-to); `overtime`: extra hours.",
    )
    start = serializers.TimeField(required=False, allow_null=True, default=None)
    end = serializers.TimeField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ChangeoverIO(serializers.Serializer):
    from_family = serializers.CharField(max_length=30, help_text="A changeover family code.")
    to_family = serializers.CharField(max_length=30, help_text="A changeover family code.")
    minutes = serializers.IntegerField(min_value=0, max_value=7 * 24 * 60)


class WorkCenterInput(serializers.Serializer):
    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=120)
    capacity = serializers.IntegerField(
        min_value=1, max_value=100, default=1, help_text="Identical machines that run at once."
    )
    default_changeover_minutes = serializers.IntegerField(
        min_value=0,
        max_value=7 * 24 * 60,
        default=0,
        help_text="Between two families the matrix does not list.",
    )
    refuse_wrong_routing = serializers.BooleanField(default=True)
    active = serializers.BooleanField(default=True)
    line_side_location = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Location.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": gettext_lazy("Unknown location {value}.")},
        help_text="Location code where this work center's kits are staged.",
    )
    shifts = ShiftIO(
        many=True, required=False, help_text="The weekly shifts; sent, they replace the stored."
    )
    calendar_exceptions = CalendarExceptionIO(
        many=True,
        required=False,
        help_text="Holidays and overtime of this work center; sent, they replace the stored.",
    )
    changeovers = ChangeoverIO(
        many=True,
        required=False,
        help_text="Changeover minutes between families; sent, they replace the matrix.",
    )

    def validate_changeovers(self, rows: list[dict]) -> list[dict]:
        codes = {r["from_family"] for r in rows} | {r["to_family"] for r in rows}
        families = _resolve(codes, ChangeoverFamily, "code")
        errors: list[dict[str, list[str]]] = []
        for row in rows:
            row_errors = {
                key: [_("Unknown changeover family %(code)s.") % {"code": row[key]}]
                for key in ("from_family", "to_family")
                if row[key] not in families
            }
            errors.append(row_errors)
        if any(errors):
            raise serializers.ValidationError(errors)
        return [
            {
                **row,
                "from_family": families[row["from_family"]],
                "to_family": families[row["to_family"]],
            }
            for row in rows
        ]


class WorkCenterOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    capacity = serializers.IntegerField()
    status = serializers.CharField(help_text=_one_of(WorkCenter.Status))
    default_changeover_minutes = serializers.IntegerField()
    refuse_wrong_routing = serializers.BooleanField()
    active = serializers.BooleanField()
    line_side_location = serializers.CharField(source="line_side_location.code", default=None)
    shifts = ShiftIO(many=True)
    calendar_exceptions = CalendarExceptionIO(many=True)
    changeovers = serializers.SerializerMethodField()

    @extend_schema_field(ChangeoverIO(many=True))
    def get_changeovers(self, wc: WorkCenter) -> list[dict[str, Any]]:
        rows = sorted(
            wc.changeover_times.all(), key=lambda c: (c.from_family.code, c.to_family.code)
        )
        return [
            {"from_family": c.from_family.code, "to_family": c.to_family.code, "minutes": c.minutes}
            for c in rows
        ]


# --- master data: routings --------------------------------------------------------------


class RoutingStepIO(serializers.Serializer):
    sequence = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=120)
    work_center = serializers.CharField(max_length=30, help_text="A work center code.")
    setup_minutes = serializers.IntegerField(min_value=0, max_value=7 * 24 * 60, default=0)
    run_minutes_per_unit = serializers.DecimalField(
        max_digits=10, decimal_places=3, min_value=Decimal("0"), default=Decimal("1")
    )
    changeover_family = serializers.CharField(
        max_length=30,
        required=False,
        allow_null=True,
        default=None,
        help_text="A changeover family code, or null.",
    )
    quality_check = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="The check required to finish the operation; empty: none.",
    )
    is_rework = serializers.BooleanField(
        default=False, help_text="Only runs for quantity sent to rework."
    )


class RoutingInput(serializers.Serializer):
    item = serializers.CharField(max_length=64, help_text="The made item's SKU.")
    revision = serializers.CharField(max_length=20, required=False)
    operations = RoutingStepIO(many=True, allow_empty=False)

    def validate_item(self, sku: str) -> Item:
        item = Item.objects.filter(sku=sku).first()
        if item is None:
            raise serializers.ValidationError(_("Unknown item %(sku)s.") % {"sku": sku})
        return item

    def validate_operations(self, rows: list[dict]) -> list[dict]:
        centers = _resolve({r["work_center"] for r in rows}, WorkCenter, "code")
        families = _resolve(
            {r["changeover_family"] for r in rows if r["changeover_family"]},
            ChangeoverFamily,
            "code",
        )
        errors: list[dict[str, list[str]]] = []
        for row in rows:
            row_errors: dict[str, list[str]] = {}
            if row["work_center"] not in centers:
                row_errors["work_center"] = [
                    _("Unknown work center %(code)s.") % {"code": row["work_center"]}
                ]
            family = row["changeover_family"]
            if family and family not in families:
                row_errors["changeover_family"] = [
                    _("Unknown changeover family %(code)s.") % {"code": family}
                ]
            errors.append(row_errors)
        if any(errors):
            raise serializers.ValidationError(errors)
        return [
            {
                **row,
                "work_center": centers[row["work_center"]],
                "changeover_family": families.get(row["changeover_family"] or ""),
            }
            for row in rows
        ]


class RoutingStepOutput(serializers.Serializer):
    sequence = serializers.IntegerField()
    name = serializers.CharField()
    work_center = serializers.CharField(source="work_center.code")
    setup_minutes = serializers.IntegerField()
    run_minutes_per_unit = serializers.DecimalField(max_digits=10, decimal_places=3)
    changeover_family = serializers.CharField(source="changeover_family.code", default=None)
    quality_check = serializers.CharField()
    is_rework = serializers.BooleanField()


class RoutingOutput(serializers.Serializer):
    item = serializers.CharField(source="item.sku")
    item_name = serializers.CharField(source="item.name")
    revision = serializers.CharField()
    updated_at = serializers.DateTimeField()
    operations = RoutingStepOutput(many=True)


# --- work orders and operations ----------------------------------------------------------


class OperationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    work_order = serializers.CharField(source="work_order.number")
    sequence = serializers.IntegerField()
    name = serializers.CharField()
    work_center = serializers.CharField(source="work_center.code")
    changeover_family = serializers.CharField(source="changeover_family.code", default=None)
    state = serializers.CharField(help_text=_one_of(OperationState))
    blocked_reason = serializers.CharField()
    setup_minutes = serializers.IntegerField()
    run_minutes_per_unit = serializers.DecimalField(max_digits=10, decimal_places=3)
    quality_check = serializers.CharField()
    is_rework = serializers.BooleanField()
    quantity_planned = serializers.DecimalField(**QTY)
    quantity_available = serializers.DecimalField(
        help_text="What upstream has passed on (transfer batches).", **QTY
    )
    quantity_good = serializers.DecimalField(**QTY)
    quantity_scrap = serializers.DecimalField(**QTY)
    quantity_rework = serializers.DecimalField(**QTY)
    scheduled_start = serializers.DateTimeField(allow_null=True)
    scheduled_end = serializers.DateTimeField(allow_null=True)
    scheduled_machine = serializers.IntegerField(allow_null=True)
    scheduled_changeover_minutes = serializers.IntegerField()
    dispatch_rank = serializers.IntegerField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class WorkOrderOutput(serializers.Serializer):
    number = serializers.CharField()
    kind = serializers.CharField(help_text=_one_of(WorkOrder.Kind))
    item = serializers.CharField(source="item.sku")
    item_name = serializers.CharField(source="item.name")
    quantity = serializers.DecimalField(**QTY)
    quantity_good = serializers.DecimalField(**QTY)
    quantity_scrap = serializers.DecimalField(**QTY)
    state = serializers.CharField(help_text=_one_of(WorkOrderState))
    held_from_state = serializers.CharField()
    sales_order = serializers.CharField(source="sales_order_line.order.number", default=None)
    sales_order_line = serializers.IntegerField(source="sales_order_line.line_no", default=None)
    due_date = serializers.DateField(allow_null=True)
    expedite = serializers.BooleanField()
    priority_score = serializers.DecimalField(max_digits=8, decimal_places=2)
    priority_explanation = serializers.ListField(child=serializers.CharField())
    scheduled_start = serializers.DateTimeField(allow_null=True)
    scheduled_end = serializers.DateTimeField(allow_null=True)
    released_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    notes = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ReleaseBlockerOutput(serializers.Serializer):
    code = serializers.CharField(
        help_text="no_routing, material_short, kit_not_staged, quality_hold, "
        "work_center_down, capacity or rule."
    )
    message = serializers.CharField()
    rule = serializers.CharField(help_text="The release rule's name, for code `rule`.")


class WorkOrderDetailOutput(WorkOrderOutput):
    operations = OperationOutput(many=True)
    release_blockers = ReleaseBlockerOutput(
        many=True, help_text="Planned work orders: every reason it cannot be released now."
    )
    allowed_transitions = serializers.ListField(child=serializers.CharField())


class WorkOrderCreateInput(serializers.Serializer):
    item = serializers.CharField(max_length=64, help_text="The made item's SKU.")
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3, min_value=Decimal("0.001"))
    due_date = serializers.DateField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_item(self, sku: str) -> Item:
        item = Item.objects.filter(sku=sku).first()
        if item is None:
            raise serializers.ValidationError(_("Unknown item %(sku)s.") % {"sku": sku})
        return item


class FromSalesOrderInput(serializers.Serializer):
    order = serializers.CharField(max_length=20, help_text="The sales order's number.")


class ReleaseInput(serializers.Serializer):
    override_reason_code = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        default="",
        help_text="To release over blocking reasons (needs the override permission).",
    )
    override_note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Why it goes anyway."
    )


class WorkOrderTransitionInput(serializers.Serializer):
    reason_code = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ExpediteInput(serializers.Serializer):
    expedite = serializers.BooleanField()
    reason_code = serializers.CharField(max_length=40)
    reason_text = serializers.CharField()


# --- schedule runs ------------------------------------------------------------------------


class ScheduleRunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    trigger = serializers.CharField()
    requested_by = serializers.CharField(source="requested_by.username", default=None)
    status = serializers.CharField(help_text=_one_of(ScheduleRun.Status))
    engine = serializers.CharField()
    solver_status = serializers.CharField()
    solve_seconds = serializers.FloatField()
    objective = serializers.JSONField()
    inputs = serializers.JSONField()


class ScheduleRunDetailOutput(ScheduleRunOutput):
    changes = serializers.JSONField(help_text="What moved versus the last run.")
    error = serializers.CharField()


class ScheduleRequestInput(serializers.Serializer):
    trigger = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why it runs (shown to planners).",
    )


class ScheduleRequestOutput(serializers.Serializer):
    status = serializers.CharField()
    trigger = serializers.CharField()


# --- downtime -----------------------------------------------------------------------------


class DowntimeInput(serializers.Serializer):
    reason_code = serializers.CharField(max_length=40)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    started_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="Default: now."
    )
    expected_end = serializers.DateTimeField(required=False, allow_null=True, default=None)


class BringUpInput(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class DowntimeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    work_center = serializers.CharField(source="work_center.code")
    reason_code = serializers.CharField(source="reason_code.code")
    reason = serializers.CharField(source="reason_code.label")
    note = serializers.CharField()
    started_at = serializers.DateTimeField()
    expected_end = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    reported_by = serializers.CharField(source="reported_by.username", default=None)
    ended_by = serializers.CharField(source="ended_by.username", default=None)


# --- capable to promise -------------------------------------------------------------------


class PromiseInput(serializers.Serializer):
    item = serializers.CharField(max_length=64, help_text="The item's SKU.")
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"))
    requested_date = serializers.DateField()

    def validate_item(self, sku: str) -> Item:
        item = Item.objects.filter(sku=sku).first()
        if item is None:
            raise serializers.ValidationError(_("Unknown item %(sku)s.") % {"sku": sku})
        return item


class PromiseOutput(serializers.Serializer):
    item = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3)
    requested_date = serializers.DateField()
    promise_date = serializers.DateField()
    basis = serializers.CharField(help_text="How the date was found, in words.")
    method = serializers.CharField(
        help_text="`capable_to_promise` (capacity and material) or `lead_time` (unrouted)."
    )
    material_date = serializers.DateField(
        allow_null=True, help_text="When the components are there (null: lead-time rule)."
    )
    capacity_date = serializers.DateField(
        allow_null=True, help_text="When the routed work centers can finish it."
    )
