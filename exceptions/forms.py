"""Admin forms for decision rules: the decision point as a choice, every rule problem shown
next to its field, a required reason for each edit, and the dry-run and roll-back forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mes.core.events import EVENT_TYPES

from . import engine, rules
from .models import CHECK_POINTS, DecisionRule, WebhookSubscription

DRY_RUN_BUTTON = "_dry_run"


def decision_point_choices() -> list[tuple[str, Any]]:
    points = engine.decision_points()
    return [
        ("", "---------"),
        (_("Event types"), [(p, p) for p in points if p not in CHECK_POINTS]),
        (_("Check points"), [(p, p) for p in points if p in CHECK_POINTS]),
    ]


class DecisionRuleForm(forms.ModelForm):
    """Validates the rule against its decision point (rules.rule_problems) and asks why.

    Submitted with the "Dry run" button, the reason is not needed: nothing is saved."""

    decision_point = forms.ChoiceField(label=_("decision point"), choices=())
    reason = forms.CharField(
        label=_("Reason for this change"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("Kept with the previous version in the rule's history."),
    )
    dry_run_days = forms.IntegerField(
        label=_("Dry run over the last (days)"),
        min_value=1,
        max_value=90,
        initial=rules.DRY_RUN_DEFAULT_DAYS,
        required=False,
    )
    seen_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = DecisionRule
        fields = rules.EDITABLE_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["decision_point"].choices = decision_point_choices()
        self.fields["decision_point"].help_text = DecisionRule._meta.get_field(
            "decision_point"
        ).help_text
        if self.instance.pk:
            self.fields["seen_version"].initial = self.instance.version
            self.fields["reason"].required = not self.is_dry_run
        else:
            del self.fields["reason"]

    @property
    def is_dry_run(self) -> bool:
        return DRY_RUN_BUTTON in self.data

    def clean_task_checklist(self) -> Any:
        return self.cleaned_data.get("task_checklist") or []

    def clean_task_required_inputs(self) -> Any:
        return self.cleaned_data.get("task_required_inputs") or []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        seen = cleaned.get("seen_version")
        if self.instance.pk and seen is not None and seen != self.instance.version:
            self.add_error(
                None,
                _(
                    "Someone saved version %(version)d of this rule meanwhile: reload it and "
                    "make your change again."
                )
                % {"version": self.instance.version},
            )
        if self.errors.get("decision_point"):
            return cleaned
        values = {name: cleaned.get(name) for name in rules.EDITABLE_FIELDS}
        for name, message in rules.rule_problems(values).items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, message)
            elif name not in self.fields:
                self.add_error(None, message)
        return cleaned

    def rule_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in rules.EDITABLE_FIELDS}


class DryRunDaysForm(forms.Form):
    days = forms.IntegerField(
        label=_("Days back"),
        min_value=1,
        max_value=90,
        initial=rules.DRY_RUN_DEFAULT_DAYS,
    )


class RollbackForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for this change"), widget=forms.Textarea(attrs={"rows": 2})
    )


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("event types"), choices=(), widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "secret", "event_types", "active", "client"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["event_types"].choices = [(name, name) for name in sorted(EVENT_TYPES)]
