"""Admin for reason codes, API clients and the read-only history and outbox."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from . import services
from .models import ApiClient, Event, FieldChange, ReasonCode, TransitionLog
from .tasks import process_event


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is kept for good: nobody edits or deletes it, admins included."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "active"]
    list_filter = ["active"]
    search_fields = ["code", "label"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: history refers to it


@admin.register(TransitionLog)
class TransitionLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "content_type", "object_repr", "from_state", "to_state", "actor"]
    list_filter = ["content_type", "to_state"]
    search_fields = ["object_repr", "comment"]
    date_hierarchy = "at"
    list_select_related = ["content_type", "actor"]


@admin.register(FieldChange)
class FieldChangeAdmin(ReadOnlyAdmin):
    list_display = ["at", "object_repr", "field", "old_value", "new_value", "actor", "reason_code"]
    list_filter = ["content_type", "field", "reason_code"]
    search_fields = ["object_repr", "reason_text"]
    date_hierarchy = "at"
    list_select_related = ["content_type", "actor", "reason_code"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "subject_repr", "occurred_at", "processed_at", "attempts"]
    list_filter = ["type"]
    search_fields = ["type", "subject_repr"]
    actions = ["redrive"]

    @admin.action(description="Process the selected events again (if not processed yet)")
    def redrive(self, request: HttpRequest, queryset: Any) -> None:
        count = 0
        for event_id in queryset.filter(processed_at__isnull=True).values_list("id", flat=True):
            process_event.delay(event_id)
            count += 1
        self.message_user(request, f"{count} event(s) queued.", messages.SUCCESS)


class ApiClientAddForm(forms.ModelForm):
    scope_choices = forms.MultipleChoiceField(
        choices=list(services.API_SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        label="Scopes",
    )

    class Meta:
        model = ApiClient
        fields = ["name"]


class ApiClientChangeForm(forms.ModelForm):
    scope_choices = forms.MultipleChoiceField(
        choices=list(services.API_SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        label="Scopes",
        required=False,
    )

    class Meta:
        model = ApiClient
        fields = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope_choices"].initial = self.instance.scopes


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "key_prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["name", "key_prefix", "created_at", "last_used_at", "revoked_at", "user"]
    actions = ["revoke"]

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        kwargs["form"] = ApiClientAddForm if obj is None else ApiClientChangeForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["name", "scope_choices"]
        return [*self.readonly_fields, "scope_choices"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            obj.scopes = sorted(form.cleaned_data["scope_choices"])
            obj.save(update_fields=["scopes"])
            return
        client, key = services.api_client_create(
            name=form.cleaned_data["name"], scopes=form.cleaned_data["scope_choices"]
        )
        obj.pk = client.pk
        obj.__dict__.update({k: v for k, v in client.__dict__.items() if k != "_state"})
        obj._state.adding = False
        self.message_user(
            request,
            f"Key for {client.name} (copy it now, it is not shown again): {key}",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected clients' keys")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for client in queryset:
            services.api_client_revoke(client=client)
        self.message_user(request, f"{queryset.count()} client(s) revoked.", messages.SUCCESS)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: the service user is named in history
