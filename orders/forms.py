"""Page forms for orders. They parse and present; the services decide what is valid.

Fields the services validate (required values, quantities above zero, dates not in the
past, reason codes and texts) are optional here, so the services' own messages appear
next to the field, the same ones the API returns. Choice lists that several forms on
one page share (items, reason codes) are read once and handed to each form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from inventory.selectors import items_active
from mes.core.errors import DomainError
from mes.core.forms import BootstrapFormMixin
from mes.core.models import ReasonCode

from . import services
from .models import ChangeRequest, OrderState, Priority, SalesOrderLine, ShipToAddress
from .selectors import ORDERINGS, customers_active

Choices = list[tuple[Any, str]]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def item_choices() -> Choices:
    return [("", _("Choose an item…"))] + [
        (item.pk, f"{item.sku} – {item.name} ({item.unit})") for item in items_active()
    ]


class ReasonFieldsMixin(BootstrapFormMixin):
    """A reason code select whose options the page reads once for all its forms."""

    def __init__(self, *args: Any, reason_choices: Choices | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if reason_choices is not None:
            self.fields["reason_code"].choices = reason_choices


def _reason_code_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=_("Reason code"),
        queryset=ReasonCode.objects.filter(active=True),
        to_field_name="code",
        required=False,
        empty_label=_("Choose a reason…"),
    )


# --- list filters ----------------------------------------------------------------------


class OrderFilterForm(BootstrapFormMixin, forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("Order number, ERP id or customer PO"), "type": "search"}
        ),
    )
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("All states")), *OrderState.choices]
    )
    customer = forms.CharField(
        label=_("Customer"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Code or name")}),
    )
    due_from = forms.DateField(label=_("Due from"), required=False, widget=DateInput())
    due_to = forms.DateField(label=_("Due to"), required=False, widget=DateInput())
    ordering = forms.ChoiceField(
        required=False,
        choices=[(key, key) for key in ORDERINGS],
        widget=forms.HiddenInput,
    )

    DEFAULT_ORDERING = "-created"

    def filters(self) -> dict[str, Any]:
        """What the selector takes; a value that does not parse is left out."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "search": data.get("q") or "",
            "state": data.get("state") or "",
            "customer": (data.get("customer") or "").strip(),
            "due_from": data.get("due_from"),
            "due_to": data.get("due_to"),
            "ordering": data.get("ordering") or self.DEFAULT_ORDERING,
        }


# --- order entry -----------------------------------------------------------------------


class OrderForm(BootstrapFormMixin, forms.Form):
    customer = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=customers_active(),
        required=False,
        empty_label=_("Choose a customer…"),
    )
    customer_po = forms.CharField(label=_("Customer PO"), max_length=64, required=False)
    ship_to = forms.ModelChoiceField(
        label=_("Ship to"),
        queryset=ShipToAddress.objects.none(),
        required=False,
        empty_label=_("No specific address"),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Choosing a customer reloads the ship-to options with that customer's addresses.
        self.fields["customer"].widget.attrs.update(
            {
                "hx-get": reverse("orders:ship_to_options"),
                "hx-trigger": "change",
                "hx-target": f"#{self.auto_id % self.add_prefix('ship_to')}",
            }
        )
        customer_id = self.data.get(self.add_prefix("customer")) if self.is_bound else None
        if customer_id is None:
            initial = self.initial.get("customer")
            customer_id = getattr(initial, "pk", initial)
        if customer_id and str(customer_id).isdigit():
            self.fields["ship_to"].queryset = ShipToAddress.objects.filter(
                customer_id=int(customer_id)
            )


class OrderLineForm(BootstrapFormMixin, forms.Form):
    item = forms.ModelChoiceField(
        label=_("Item"), queryset=items_active(), required=False, empty_label=_("Choose an item…")
    )
    quantity = forms.DecimalField(
        label=_("Quantity"),
        max_digits=12,
        decimal_places=3,
        required=False,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    requested_date = forms.DateField(label=_("Requested date"), required=False, widget=DateInput())

    def __init__(self, *args: Any, item_choices: Choices | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if item_choices is not None:
            self.fields["item"].choices = item_choices


class BaseOrderLineFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_few_forms": _("Add at least one line."),
        "too_many_forms": _("Too many lines in one go."),
    }

    def line_entries(self) -> list[tuple[forms.Form, services.LineInput]]:
        """The lines to save, each with its form, in the order the page shows them.

        Lines marked for removal and added rows left empty are skipped; the rows the
        order must have are passed on even when empty, so the service says what is
        missing.
        """
        entries = []
        for form in self.forms:
            if self.can_delete and self._should_delete_form(form):
                continue
            if form.empty_permitted and not form.has_changed():
                continue
            data = form.cleaned_data
            entries.append(
                (
                    form,
                    services.LineInput(
                        item=data.get("item"),  # type: ignore[arg-type]
                        quantity=data.get("quantity"),  # type: ignore[arg-type]
                        requested_date=data.get("requested_date"),  # type: ignore[arg-type]
                    ),
                )
            )
        return entries


OrderLineFormSet = forms.formset_factory(
    OrderLineForm,
    formset=BaseOrderLineFormSet,
    extra=0,
    min_num=1,
    validate_min=True,
    max_num=200,
    validate_max=True,
    can_delete=True,
)

LINE_ERROR_KEY = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


def add_order_errors(form: forms.Form, line_forms: Sequence[forms.Form], exc: DomainError) -> None:
    """Map `lines[0].quantity`-style keys onto the line forms, the rest onto the header."""
    for key, messages in exc.errors.items():
        match = LINE_ERROR_KEY.match(key)
        if match and int(match.group(1)) < len(line_forms):
            target_form = line_forms[int(match.group(1))]
            name: str | None = match.group(2)
        else:
            target_form, name = form, key
        if name not in target_form.fields:
            name = None
        for message in messages:
            target_form.add_error(name, message)
    if not exc.errors:
        form.add_error(None, exc.message)


def order_form_initial(order: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    header = {
        "customer": order.customer_id,
        "customer_po": order.customer_po,
        "ship_to": order.ship_to_id,
        "notes": order.notes,
    }
    lines = [
        {"item": line.item_id, "quantity": line.quantity, "requested_date": line.requested_date}
        for line in order.lines.all()
    ]
    return header, lines


# --- actions on the detail page ----------------------------------------------------------


class TransitionReasonForm(ReasonFieldsMixin, forms.Form):
    """Hold and cancel say why; the other transitions post nothing."""

    reason_code = _reason_code_field()
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PriorityForm(ReasonFieldsMixin, forms.Form):
    priority = forms.TypedChoiceField(label=_("Priority"), choices=Priority.choices, coerce=int)
    reason_code = _reason_code_field()
    reason_text = forms.CharField(
        label=_("Why"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PromiseDateForm(ReasonFieldsMixin, forms.Form):
    promise_date = forms.DateField(label=_("New promise date"), required=False, widget=DateInput())
    reason_code = _reason_code_field()
    reason_text = forms.CharField(
        label=_("Why"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ChangeRequestForm(ReasonFieldsMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Change"), choices=ChangeRequest.Kind.choices)
    line = forms.ModelChoiceField(
        label=_("Line"),
        queryset=SalesOrderLine.objects.none(),
        to_field_name="line_no",
        required=False,
        empty_label=_("Choose a line…"),
    )
    new_quantity = forms.DecimalField(
        label=_("New quantity"),
        max_digits=12,
        decimal_places=3,
        required=False,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    new_date = forms.DateField(label=_("New requested date"), required=False, widget=DateInput())
    new_item = forms.ModelChoiceField(
        label=_("New item"),
        queryset=items_active(),
        required=False,
        empty_label=_("Choose an item…"),
    )
    reason_code = _reason_code_field()
    reason_text = forms.CharField(
        label=_("Why"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(
        self,
        *args: Any,
        order: Any,
        lines: Iterable[SalesOrderLine],
        item_choices: Choices | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        from .templatetags.orders_ui import qty

        self.fields["line"].queryset = SalesOrderLine.objects.filter(order=order)
        self.fields["line"].choices = [("", _("Choose a line…"))] + [
            (line.line_no, f"{line.line_no} · {line.item.sku} × {qty(line.quantity)}")
            for line in lines
        ]
        if item_choices is not None:
            self.fields["new_item"].choices = item_choices


class DecisionForm(BootstrapFormMixin, forms.Form):
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ChangeRequestFilterForm(forms.Form):
    ALL = "all"
    state = forms.ChoiceField(
        required=False,
        choices=[*ChangeRequest.State.choices, (ALL, _("All"))],
    )

    def state_filter(self) -> str:
        """Requested by default; `all` for every state."""
        self.is_valid()
        state = getattr(self, "cleaned_data", {}).get("state") or ChangeRequest.State.REQUESTED
        return "" if state == self.ALL else state
