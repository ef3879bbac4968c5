"""Targets are edited here; snapshots are computed by the beat task and only read."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from mes.core.admin import ReadOnlyAdmin

from .indicators import INDICATORS
from .models import KpiSnapshot, KpiTarget


class KpiTargetForm(forms.ModelForm):
    indicator = forms.ChoiceField(choices=())

    class Meta:
        model = KpiTarget
        fields = ["indicator", "scope_key", "scope_value", "target", "note"]

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["indicator"].choices = [
            (key, f"{ind.name} ({ind.unit}, {ind.direction} is better)")
            for key, ind in INDICATORS.items()
        ]


@admin.register(KpiTarget)
class KpiTargetAdmin(admin.ModelAdmin):
    form = KpiTargetForm
    list_display = ["indicator", "scope_key", "scope_value", "target", "note", "updated_at"]
    list_filter = ["indicator", "scope_key"]
    search_fields = ["indicator", "scope_value", "note"]


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(ReadOnlyAdmin):
    list_display = [
        "day",
        "indicator",
        "scope_key",
        "scope_value",
        "value",
        "count",
        "breach_reported_at",
        "computed_at",
    ]
    list_filter = ["indicator", "scope_key"]
    date_hierarchy = "day"
    search_fields = ["indicator", "scope_value"]
