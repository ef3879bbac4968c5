"""Admin for dispatch: carriers are edited here; shipments are read-only (with their lines,
packages and documents), since their state moves only through the services. The webhook
delivery log is the exceptions app's."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from mes.core.admin import ReadOnlyAdmin

from .models import Carrier, Package, Shipment, ShipmentDocument, ShipmentLine


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "service_levels", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: shipments name their carrier


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ShipmentLineInline(ReadOnlyInline):
    model = ShipmentLine
    fields = [
        "sales_order_line",
        "item",
        "quantity",
        "quantity_picked",
        "quantity_short",
        "quantity_shipped",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ShipmentLine]:
        return super().get_queryset(request).select_related("sales_order_line__order", "item")


class PackageInline(ReadOnlyInline):
    model = Package
    fields = [
        "label",
        "type",
        "weight_kg",
        "length_cm",
        "width_cm",
        "height_cm",
        "verified_at",
        "verified_by",
    ]
    readonly_fields = fields


class ShipmentDocumentInline(ReadOnlyInline):
    model = ShipmentDocument
    fields = ["kind", "generated_at", "generated_by", "sha256", "size"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ShipmentDocument]:
        return super().get_queryset(request).select_related("generated_by")

    @admin.display(description="size")
    def size(self, obj: ShipmentDocument) -> str:
        return f"{len(bytes(obj.content)) // 1024 + 1} kB"


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "customer",
        "state",
        "planned_ship_date",
        "carrier",
        "tracking",
        "mispicks",
        "incorrect_dispatches",
        "handed_over_at",
    ]
    list_filter = ["state", "carrier", "planned_ship_date"]
    search_fields = ["number", "tracking_number", "customer__code", "customer__name"]
    date_hierarchy = "created_at"
    list_select_related = ["customer", "carrier"]
    inlines = [ShipmentLineInline, PackageInline, ShipmentDocumentInline]
    readonly_fields = ["history"]

    @admin.display(description="tracking number")
    def tracking(self, obj: Shipment) -> str:
        if obj.carrier_id and obj.carrier.tracking_url and obj.tracking_number:
            return format_html(
                '<a href="{}" rel="noopener">{}</a>',
                obj.carrier.tracking_url.replace("{tracking}", obj.tracking_number),
                obj.tracking_number,
            )
        return obj.tracking_number

    @admin.display(description="history")
    def history(self, obj: Shipment) -> str:
        url = reverse("admin:core_transitionlog_changelist")
        return format_html(
            '<a href="{}?q={}">{}</a>',
            url,
            obj.number,
            "State changes of this shipment",
        )
