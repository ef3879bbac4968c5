"""Admin is read-mostly for orders: transitions and governed fields only through services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from mes.core.admin import ReadOnlyAdmin
from mes.core.errors import DomainError

from . import services
from .models import ChangeRequest, Customer, SalesOrder, SalesOrderLine, ShipToAddress


class ShipToInline(admin.TabularInline):
    model = ShipToAddress
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "priority_class", "active"]
    list_filter = ["priority_class", "active"]
    search_fields = ["code", "name"]
    inlines = [ShipToInline]


class LineInline(admin.TabularInline):
    model = SalesOrderLine
    extra = 0
    can_delete = False
    fields = [
        "line_no",
        "item",
        "quantity",
        "shipped_quantity",
        "requested_date",
        "promise_date",
        "promise_basis",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SalesOrder)
class SalesOrderAdmin(admin.ModelAdmin):
    list_display = ["number", "external_id", "customer", "state", "priority", "created_at"]
    list_filter = ["state", "priority"]
    search_fields = ["number", "external_id", "customer__code", "customer_po"]
    list_select_related = ["customer"]
    inlines = [LineInline]
    fields = [
        "number",
        "external_id",
        "customer",
        "ship_to",
        "customer_po",
        "state",
        "held_from_state",
        "priority",
        "notes",
        "cancel_reason",
        "created_by",
        "created_at",
        "confirmed_at",
    ]
    readonly_fields = [
        "number",
        "external_id",
        "customer",
        "ship_to",
        "state",
        "held_from_state",
        "priority",
        "cancel_reason",
        "created_by",
        "created_at",
        "confirmed_at",
    ]
    actions = ["confirm_orders"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are entered on the order pages or by the ERP

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: SalesOrder, form: Any, change: bool) -> None:
        services.sales_order_update_notes(
            order=obj, user=request.user, customer_po=obj.customer_po, notes=obj.notes
        )

    @admin.action(description="Confirm the selected draft orders")
    def confirm_orders(self, request: HttpRequest, queryset: Any) -> None:
        done = 0
        for order in queryset:
            try:
                services.sales_order_confirm(order=order, user=request.user)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{order}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} order(s) confirmed.", messages.SUCCESS)


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin):
    """Change requests are decided on the order pages, where the rules are checked."""

    list_display = [
        "number",
        "order",
        "kind",
        "state",
        "needs_approval",
        "requested_by",
        "requested_at",
    ]
    list_filter = ["state", "kind", "needs_approval"]
    search_fields = ["number", "order__number"]
    list_select_related = ["order", "requested_by"]
