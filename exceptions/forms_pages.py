"""Page forms for the exception board and "My tasks". They parse and present; the
services decide what is valid (a missing resolution code or note comes back from
`exception_resolve` as a field error)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from mes.core.forms import BootstrapFormMixin, reason_code_choices

from .models import UNRESOLVED_STATES, ExceptionState, Severity
from .selectors import ROLE_ALL, ROLE_MINE

Choices = list[tuple[Any, str]]


class BoardFilterForm(BootstrapFormMixin, forms.Form):
    role = forms.ChoiceField(label=_("Owner role"), required=False)
    type = forms.ChoiceField(label=_("Type"), required=False)
    severity = forms.ChoiceField(
        label=_("Severity"),
        required=False,
        choices=[("", _("Any severity")), *reversed(Severity.choices)],
    )
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("Any open state"))]
        + [(s.value, s.label) for s in ExceptionState if s in UNRESOLVED_STATES],
    )

    def __init__(
        self, *args: Any, roles: list[Group], decision_points: list[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [
            (ROLE_MINE, _("My roles")),
            (ROLE_ALL, _("All roles")),
            *[(str(group.pk), group.name) for group in roles],
        ]
        self.fields["type"].choices = [("", _("Any type")), *[(p, p) for p in decision_points]]

    def filters(self) -> dict[str, str]:
        """Valid filters; an unknown value falls back to its default."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "role": data.get("role") or ROLE_MINE,
            "decision_point": data.get("type") or "",
            "severity": data.get("severity") or "",
            "state": data.get("state") or "",
        }


class ResolveForm(BootstrapFormMixin, forms.Form):
    # Any value passes here: the service names an unknown or inactive code.
    resolution_code = forms.CharField(label=_("Resolution"), required=False, widget=forms.Select)
    note = forms.CharField(
        label=_("What was done"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, code_choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["resolution_code"].widget.choices = code_choices


class CommentForm(BootstrapFormMixin, forms.Form):
    comment = forms.CharField(
        label=_("Why"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


def resolution_code_choices() -> Choices:
    return reason_code_choices(_("Choose a resolution…"), order_by="label")
