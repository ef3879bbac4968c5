"""Master data admins keep: work centers with shifts and changeovers, routings, badges.
Work orders and operations are shown read-only: they move through services only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import (
    CalendarException,
    ChangeoverFamily,
    ChangeoverTime,
    Downtime,
    Operation,
    OperatorBadge,
    Routing,
    RoutingOperation,
    ScheduleRun,
    Shift,
    WorkCenter,
    WorkOrder,
)
from .services.floor import pin_digest


@admin.register(ChangeoverFamily)
class ChangeoverFamilyAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class ShiftInline(admin.TabularInline):
    model = Shift
    extra = 0


class ChangeoverTimeInline(admin.TabularInline):
    model = ChangeoverTime
    extra = 0
    autocomplete_fields = ["from_family", "to_family"]


@admin.register(WorkCenter)
class WorkCenterAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "capacity", "status", "default_changeover_minutes", "active"]
    list_filter = ["status", "active"]
    search_fields = ["code", "name"]
    readonly_fields = ["status"]
    inlines = [ShiftInline, ChangeoverTimeInline]


@admin.register(CalendarException)
class CalendarExceptionAdmin(admin.ModelAdmin):
    list_display = ["date", "work_center", "kind", "start", "end", "note"]
    list_filter = ["kind", "work_center"]
    date_hierarchy = "date"


class RoutingOperationInline(admin.TabularInline):
    model = RoutingOperation
    extra = 0


@admin.register(Routing)
class RoutingAdmin(admin.ModelAdmin):
    list_display = ["item", "revision", "updated_at"]
    search_fields = ["item__sku", "item__name"]
    autocomplete_fields = ["item"]
    inlines = [RoutingOperationInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class OperationInline(admin.TabularInline):
    model = Operation
    extra = 0
    can_delete = False
    fields = [
        "sequence",
        "name",
        "work_center",
        "state",
        "quantity_available",
        "quantity_good",
        "quantity_scrap",
        "scheduled_start",
        "scheduled_end",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(WorkOrder)
class WorkOrderAdmin(ReadOnlyAdmin):
    list_display = ["number", "item", "quantity", "state", "due_date", "priority_score", "expedite"]
    list_filter = ["state", "kind", "expedite"]
    search_fields = ["number", "item__sku"]
    inlines = [OperationInline]


@admin.register(Downtime)
class DowntimeAdmin(ReadOnlyAdmin):
    list_display = ["work_center", "reason_code", "started_at", "ended_at", "reported_by"]
    list_filter = ["work_center"]


@admin.register(ScheduleRun)
class ScheduleRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "trigger", "status", "engine", "solver_status", "solve_seconds"]
    list_filter = ["status", "engine"]


class OperatorBadgeForm(forms.ModelForm):
    pin = forms.CharField(
        label=_("New PIN"),
        required=False,
        min_length=4,
        max_length=12,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("4 to 12 digits; stored hashed. Leave empty to keep the current PIN."),
    )

    class Meta:
        model = OperatorBadge
        fields = ["user", "badge_code", "active"]

    def clean_badge_code(self) -> str | None:
        # Empty is "no badge" (NULL), so many operators may have none.
        return (self.cleaned_data.get("badge_code") or "").strip() or None

    def clean_pin(self) -> str:
        """Digits only, and no other operator's PIN: the tablet finds an operator by the
        PIN's keyed digest, so two people may not share one (as operator_badge_set)."""
        pin = self.cleaned_data.get("pin", "")
        if not pin:
            return pin
        if not pin.isdigit():
            raise forms.ValidationError(_("A PIN is digits only."))
        taken = OperatorBadge.objects.filter(pin_hash=pin_digest(pin))
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("That PIN is taken: choose another."))
        return pin

    def save(self, commit: bool = True) -> OperatorBadge:
        badge = super().save(commit=False)
        if self.cleaned_data.get("pin"):
            badge.pin_hash = pin_digest(self.cleaned_data["pin"])
        if commit:
            badge.save()
        return badge


@admin.register(OperatorBadge)
class OperatorBadgeAdmin(admin.ModelAdmin):
    form = OperatorBadgeForm
    list_display = ["user", "badge_code", "active"]
    search_fields = ["user__username", "badge_code"]
    autocomplete_fields = ["user"]
