"""Admin for the rule engine. Rules are edited here (validated, versioned, never deleted,
dry-run before saving); exceptions, tasks and their logs are read-only: their state moves
only through the services the pages and the API call."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.core.admin import ReadOnlyAdmin
from mes.core.errors import DomainError
from mes.core.events import EVENT_TYPES

from . import engine, rules
from .forms import (
    DRY_RUN_BUTTON,
    DecisionRuleForm,
    DryRunDaysForm,
    RollbackForm,
    WebhookSubscriptionForm,
)
from .models import (
    CHECK_POINTS,
    DecisionRule,
    DecisionRuleVersion,
    EscalationPolicy,
    EscalationStep,
    ExceptionEvent,
    Notification,
    PlantException,
    RuleError,
    Task,
    WebhookDelivery,
    WebhookSubscription,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- decision rules --------------------------------------------------------------------


class DecisionRuleVersionInline(ReadOnlyInline):
    model = DecisionRuleVersion
    verbose_name = gettext_lazy("earlier version")
    verbose_name_plural = gettext_lazy("history (earlier versions, newest first)")
    fields = ["version", "changed_at", "changed_by", "reason", "what_changed", "roll_back"]
    readonly_fields = fields
    ordering = ["-version"]

    @admin.display(description=gettext_lazy("replaced by the next version"))
    def what_changed(self, obj: DecisionRuleVersion) -> str:
        changes = rules.rule_version_changes(kept=obj)
        if not changes:
            return "-"
        return format_html_join(mark_safe("<br>"), "{}: {} &rarr; {}", changes)

    @admin.display(description="")
    def roll_back(self, obj: DecisionRuleVersion) -> str:
        url = reverse("admin:exceptions_decisionrule_rollback", args=[obj.rule_id, obj.version])
        return format_html(
            '<a class="button" href="{}">{}</a>',
            url,
            _("Roll back to version %(version)d") % {"version": obj.version},
        )


@admin.register(DecisionRule)
class DecisionRuleAdmin(admin.ModelAdmin):
    form = DecisionRuleForm
    list_display = [
        "name",
        "decision_point",
        "effect",
        "order",
        "active",
        "stop_after",
        "version",
    ]
    list_filter = ["decision_point", "effect", "active", "stop_after", "severity"]
    search_fields = ["name", "condition", "decision_point"]
    list_select_related = True
    readonly_fields = ["version", "updated_at"]
    inlines = [DecisionRuleVersionInline]
    actions = ["dry_run"]
    change_list_template = "admin/exceptions/decisionrule/change_list.html"
    change_form_template = "admin/exceptions/decisionrule/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "decision_point",
                    "condition",
                    "effect",
                    "order",
                    "active",
                    "stop_after",
                    "version",
                    "updated_at",
                ]
            },
        ),
        (
            gettext_lazy("Raise an exception / create a task"),
            {
                "fields": [
                    "title_template",
                    "severity",
                    "owner_role",
                    "sla_minutes",
                    "escalation_policy",
                    "task_instructions",
                    "task_checklist",
                    "task_required_inputs",
                    "task_due_minutes",
                ]
            },
        ),
        (
            gettext_lazy("Block / require approval (check points)"),
            {"fields": ["message", "approval_role"]},
        ),
        (gettext_lazy("Set / bump priority"), {"fields": ["priority_value"]}),
        (
            gettext_lazy("Save or try"),
            {"fields": ["reason", "dry_run_days", "seen_version"]},
        ),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # a new rule has no reason field (its creation is in the admin log)
            last_title, last = fieldsets[-1]
            fields = [f for f in last["fields"] if f != "reason"]
            fieldsets = [*fieldsets[:-1], (last_title, {**last, "fields": fields})]
        return fieldsets

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: exceptions and history refer to rules

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "event-types/",
                wrap(self.event_types_view),
                name="exceptions_decisionrule_event_types",
            ),
            path("dry-run/", wrap(self.dry_run_view), name="exceptions_decisionrule_dry_run"),
            path(
                "<path:object_id>/rollback/<int:version>/",
                wrap(self.rollback_view),
                name="exceptions_decisionrule_rollback",
            ),
            *super().get_urls(),
        ]

    # saving goes through the services (validated, versioned)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            created = rules.rule_create(data=form.rule_values(), user=request.user)
            obj.pk = created.pk
            obj.version = created.version
            obj._state.adding = False
            return
        saved = rules.rule_save(
            rule=obj,
            changes=form.rule_values(),
            user=request.user,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data.get("seen_version"),
        )
        obj.version = saved.version

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST" and DRY_RUN_BUTTON in request.POST:
            response = self._draft_dry_run(request, object_id)
            if response is not None:
                return response
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _draft_dry_run(self, request: HttpRequest, object_id: str | None) -> HttpResponse | None:
        """Dry-run the unsaved form. None when the condition or decision point has an
        error: the normal view then shows it next to the field (and saves nothing, the
        form being invalid)."""
        obj = self.get_object(request, object_id) if object_id else None
        if object_id and obj is None:
            return None
        if not (self.has_change_permission(request, obj) or self.has_add_permission(request)):
            raise PermissionDenied
        form_class = self.get_form(request, obj, change=obj is not None)
        form = form_class(request.POST, request.FILES, instance=obj)
        form.is_valid()
        if {"decision_point", "condition", "dry_run_days"} & set(form.errors):
            return None
        draft_name = form.cleaned_data.get("name") or _("(draft)")
        days = form.cleaned_data.get("dry_run_days") or rules.DRY_RUN_DEFAULT_DAYS
        result = self._dry_run_one(
            name=_("%(name)s (draft, not saved)") % {"name": draft_name},
            point=form.cleaned_data["decision_point"],
            condition=form.cleaned_data.get("condition") or "",
            days=days,
        )
        return self._render_dry_run(request, [result], days=days, draft=True, rule=obj)

    # dry run of saved rules (action + page)

    @admin.action(description=gettext_lazy("Dry run against past events"))
    def dry_run(self, request: HttpRequest, queryset: QuerySet[DecisionRule]) -> HttpResponse:
        ids = ",".join(str(pk) for pk in queryset.order_by("pk").values_list("pk", flat=True))
        url = reverse("admin:exceptions_decisionrule_dry_run")
        return HttpResponseRedirect(f"{url}?ids={ids}&days={rules.DRY_RUN_DEFAULT_DAYS}")

    def dry_run_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        ids = [int(pk) for pk in request.GET.get("ids", "").split(",") if pk.strip().isdigit()]
        days_form = DryRunDaysForm(request.GET or None)
        days = days_form.cleaned_data["days"] if days_form.is_valid() else None
        results = []
        if days is not None:
            for rule in DecisionRule.objects.filter(pk__in=ids).order_by("decision_point", "order"):
                results.append(
                    self._dry_run_one(
                        name=str(rule),
                        point=rule.decision_point,
                        condition=rule.condition,
                        days=days,
                    )
                )
        return self._render_dry_run(
            request, results, days=days, draft=False, days_form=days_form, ids=ids
        )

    def _dry_run_one(self, *, name: str, point: str, condition: str, days: int) -> dict[str, Any]:
        try:
            report = rules.rule_dry_run(point=point, condition=condition, days=days)
        except DomainError as exc:
            return {"name": name, "point": point, "condition": condition, "error": exc.message}
        return {"name": name, "point": point, "condition": condition, "report": report}

    def _render_dry_run(
        self, request: HttpRequest, results: list[dict[str, Any]], **context: Any
    ) -> TemplateResponse:
        for result in results:
            report = result.get("report")
            if report is not None:
                result["samples"] = [
                    {**sample, "payload_json": json.dumps(sample["payload"], sort_keys=True)}
                    for sample in report.samples
                ]
        return TemplateResponse(
            request,
            "admin/exceptions/decisionrule/dry_run.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Dry run against past events"),
                "results": results,
                **context,
            },
        )

    # roll back

    def rollback_view(self, request: HttpRequest, object_id: str, version: int) -> HttpResponse:
        rule = self.get_object(request, object_id)
        if rule is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        if not self.has_change_permission(request, rule):
            raise PermissionDenied
        kept = get_object_or_404(DecisionRuleVersion, rule=rule, version=version)
        form = RollbackForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                saved = rules.rule_rollback(
                    rule=rule,
                    version=version,
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
                for name, errors in exc.errors.items():
                    for error in errors:
                        form.add_error(None, f"{name}: {error}")
            else:
                self.log_change(
                    request, saved, _("Rolled back to version %(version)d") % {"version": version}
                )
                self.message_user(
                    request,
                    _("Version %(old)d restored as version %(new)d.")
                    % {"old": version, "new": saved.version},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:exceptions_decisionrule_change", args=[rule.pk])
                )
        current = rules.rule_snapshot(rule)
        differences = [
            (name, current.get(name), kept.snapshot.get(name))
            for name in rules.EDITABLE_FIELDS
            if current.get(name) != kept.snapshot.get(name)
        ]
        return TemplateResponse(
            request,
            "admin/exceptions/decisionrule/rollback.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": rule,
                "title": _("Roll back %(rule)s to version %(version)d")
                % {"rule": rule, "version": version},
                "kept": kept,
                "differences": differences,
                "form": form,
            },
        )

    # the event catalogue

    def event_types_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        event_types = [
            {
                "name": et.name,
                "subject": et.subject,
                "description": et.description,
                "schema": [
                    (name, kind.rstrip("?"), not kind.endswith("?"))
                    for name, kind in (et.schema or {n: "any" for n in et.payload_fields}).items()
                ],
                "external": et.external,
            }
            for et in sorted(EVENT_TYPES.values(), key=lambda et: et.name)
        ]
        check_points = [
            {"name": point, "fields": _flatten(engine.decision_point_fields(point))}
            for point in CHECK_POINTS
        ]
        return TemplateResponse(
            request,
            "admin/exceptions/event_types.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Event types and check points"),
                "event_types": event_types,
                "check_points": check_points,
            },
        )


def _flatten(fields: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    flat: list[tuple[str, str]] = []
    for name, kind in fields.items():
        if isinstance(kind, dict):
            flat.extend(_flatten(kind, f"{prefix}{name}."))
        else:
            flat.append((f"{prefix}{name}", str(kind)))
    return flat


# --- escalation, exceptions, tasks -------------------------------------------------------


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    extra = 1
    ordering = ["position"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    search_fields = ["name"]
    inlines = [EscalationStepInline]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # rules and exceptions refer to it


class ExceptionEventInline(ReadOnlyInline):
    model = ExceptionEvent
    fields = ["event_id", "event_type", "occurred_at"]
    readonly_fields = fields


class ExceptionTaskInline(ReadOnlyInline):
    model = Task
    fields = ["number", "title", "state", "assigned_role", "assignee", "due_at"]
    readonly_fields = fields
    show_change_link = True


@admin.register(PlantException)
class PlantExceptionAdmin(ReadOnlyAdmin):
    """Read-only: acknowledge, start, assign and resolve happen on the board or the API."""

    list_display = [
        "number",
        "title",
        "severity",
        "state",
        "owner_role",
        "assignee",
        "sla_due_at",
        "occurrences",
        "last_seen_at",
    ]
    list_filter = ["state", "severity", "owner_role", "rule"]
    search_fields = ["number", "title", "subject_repr"]
    list_select_related = ["owner_role", "assignee"]
    date_hierarchy = "first_seen_at"
    inlines = [ExceptionEventInline, ExceptionTaskInline]


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    """Read-only: tasks are worked on the "My tasks" page or through the API."""

    list_display = [
        "number",
        "title",
        "state",
        "assigned_role",
        "assignee",
        "due_at",
        "exception",
    ]
    list_filter = ["state", "assigned_role"]
    search_fields = ["number", "title", "subject_repr"]
    list_select_related = ["assigned_role", "assignee", "exception"]


@admin.register(RuleError)
class RuleErrorAdmin(ReadOnlyAdmin):
    list_display = ["at", "rule", "event_id", "message"]
    list_filter = ["rule"]
    search_fields = ["message", "rule__name"]
    list_select_related = ["rule"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "role", "message", "exception"]
    list_filter = ["role"]
    search_fields = ["message"]
    list_select_related = ["role", "exception"]


# --- webhooks --------------------------------------------------------------------------


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["name", "url", "event_types", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "url"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "subscription",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "last_status_code",
        "delivered_at",
    ]
    list_filter = ["status", "subscription", "event_type"]
    search_fields = ["event_type", "last_error"]
    list_select_related = ["subscription"]
