"""Page forms for planning and the shop floor. They parse and present; the services decide
what is valid, so reasons, quantities and notes are optional here and the services' own
messages appear next to the fields. Reason-code options are read once per page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from inventory.models import Item
from mes.core.forms import BootstrapFormMixin, Choices

from .models import WorkCenter, WorkOrderState

NUMBER = {"step": "any", "inputmode": "decimal", "min": "0"}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class ReasonChoicesMixin(BootstrapFormMixin):
    """Reason-code selects whose options the page read once for all its forms."""

    reason_fields: tuple[str, ...] = ("reason_code",)

    def __init__(self, *args: Any, reason_choices: Choices | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.reason_fields:
            if name in self.fields and reason_choices is not None:
                self.fields[name].choices = reason_choices  # type: ignore[attr-defined]


REASON_LABEL = _("Reason code")


def _reason_field(label: Any = REASON_LABEL) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, choices=[])


# --- planner ---------------------------------------------------------------------------------


class WorkOrderFilterForm(BootstrapFormMixin, forms.Form):
    ALL = "all"
    OPEN = ""

    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[(OPEN, _("Open")), (ALL, _("All")), *WorkOrderState.choices],
    )
    work_center = forms.ChoiceField(label=_("Work center"), required=False, choices=[])
    item = forms.CharField(
        label=_("Item"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("SKU or work order"), "type": "search"}),
    )

    def __init__(self, *args: Any, work_centers: list[WorkCenter], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["work_center"].choices = [("", _("Any work center"))] + [
            (wc.code, f"{wc.code} – {wc.name}") for wc in work_centers
        ]

    def filters(self) -> dict[str, str]:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {
            "state": data.get("state") or "",
            "work_center": data.get("work_center") or "",
            "item": (data.get("item") or "").strip(),
        }


class WorkOrderCreateForm(BootstrapFormMixin, forms.Form):
    """A make-to-stock work order by hand."""

    item = forms.ModelChoiceField(
        label=_("Item"),
        queryset=Item.objects.filter(active=True, source="make").order_by("sku"),
        empty_label=_("Choose a made item…"),
    )
    quantity = forms.DecimalField(
        label=_("Quantity"), max_digits=14, decimal_places=3, widget=forms.NumberInput(NUMBER)
    )
    due_date = forms.DateField(label=_("Due date"), required=False, widget=DateInput())
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReasonForm(ReasonChoicesMixin, forms.Form):
    """Hold, cancel and take back to planned say why; the other transitions post nothing."""

    reason_code = _reason_field()
    comment = forms.CharField(
        label=_("Why"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class OverrideForm(ReasonChoicesMixin, forms.Form):
    """Release over blocking reasons: a reason code and a note, both recorded."""

    override_reason_code = _reason_field()
    override_note = forms.CharField(
        label=_("Why it goes anyway"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    reason_fields = ("override_reason_code",)


class ExpediteForm(ReasonChoicesMixin, forms.Form):
    reason_code = _reason_field()
    reason_text = forms.CharField(
        label=_("Why"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class GanttForm(BootstrapFormMixin, forms.Form):
    work_center = forms.ChoiceField(label=_("Work center"), required=False, choices=[])
    days = forms.TypedChoiceField(
        label=_("Days"),
        required=False,
        coerce=int,
        empty_value=2,
        choices=[(1, "1"), (2, "2"), (3, "3"), (7, "7"), (14, "14")],
    )

    def __init__(self, *args: Any, work_centers: list[WorkCenter], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["work_center"].choices = [("", _("All work centers"))] + [
            (wc.code, f"{wc.code} – {wc.name}") for wc in work_centers
        ]


# --- the floor lead's tablet ------------------------------------------------------------------


def _operator_field() -> forms.CharField:
    return forms.CharField(
        label=_("Scan your badge or type your PIN"),
        required=False,
        max_length=64,
        widget=forms.PasswordInput(
            attrs={
                "autocomplete": "off",
                "autofocus": True,
                "data-scan-field": "",
                "class": "mes-scan-input",
                "inputmode": "text",
            }
        ),
    )


class OperatorForm(BootstrapFormMixin, forms.Form):
    """Who does this: a badge scan or a PIN, checked by the service."""

    operator = _operator_field()


class StartForm(OperatorForm):
    out_of_sequence_reason = forms.CharField(
        label=_("Why this one before the next in sequence"), required=False, max_length=300
    )


class PauseForm(ReasonChoicesMixin, OperatorForm):
    reason_code = _reason_field(_("Why it stops"))
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class ReportForm(ReasonChoicesMixin, OperatorForm):
    good = forms.CharField(label=_("Good"), required=False, widget=forms.NumberInput(NUMBER))
    scrap = forms.CharField(label=_("Scrap"), required=False, widget=forms.NumberInput(NUMBER))
    scrap_reason = _reason_field(_("Why scrapped"))
    rework = forms.CharField(label=_("Rework"), required=False, widget=forms.NumberInput(NUMBER))
    rework_reason = _reason_field(_("Why to rework"))
    note = forms.CharField(label=_("Note"), required=False, max_length=300)
    reason_fields = ("scrap_reason", "rework_reason")


class DowntimeForm(ReasonChoicesMixin, forms.Form):
    reason_code = _reason_field(_("Why it is down"))
    note = forms.CharField(label=_("Note"), required=False, max_length=300)
    expected_end = forms.DateTimeField(
        label=_("Expected back"), required=False, widget=DateTimeInput()
    )
    operator = forms.CharField(
        label=_("Badge or PIN (empty: the signed-in floor lead)"),
        required=False,
        max_length=64,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "class": "mes-scan-input"}),
    )


class BringUpForm(BootstrapFormMixin, forms.Form):
    operator = forms.CharField(
        label=_("Badge or PIN of a floor lead (empty: you)"),
        required=False,
        max_length=64,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "class": "mes-scan-input"}),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class UnlockForm(BootstrapFormMixin, forms.Form):
    operator = _operator_field()
