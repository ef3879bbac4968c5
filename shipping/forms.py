"""Page forms for shipping. They parse and present; `shipping.services` decides what is
valid and its refusals come back next to the fields they name.

The tablet's pick flow is the warehouse's scan flow (`inventory.forms.PickForm`): one
scan field at a time, location, item, lot, quantity, a scanner typing and pressing Enter.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from inventory.forms import PickForm, scan_widget
from inventory.models import Location
from mes.core.errors import DomainError
from mes.core.forms import BootstrapFormMixin, add_service_errors
from orders.models import Customer, OrderState, SalesOrderLine

from .models import OPEN_STATES, Carrier, Package, ShipmentLine, ShipmentState

Choices = list[tuple[Any, Any]]
READY_ORDER_STATES = (OrderState.READY_TO_SHIP, OrderState.PARTIALLY_SHIPPED)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def _decimal(raw: str) -> Decimal | None:
    try:
        value = Decimal((raw or "").strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


# --- the list ------------------------------------------------------------------------------


class ShipmentFilterForm(BootstrapFormMixin, forms.Form):
    OPEN = "open"

    state = forms.ChoiceField(label=_("State"), required=False)
    customer = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=Customer.objects.order_by("code"),
        to_field_name="code",
        required=False,
        empty_label=_("All customers"),
    )
    date_from = forms.DateField(label=_("Ship on or after"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("Ship on or before"), required=False, widget=DateInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [
            ("", _("All states")),
            (self.OPEN, _("Open (not handed over)")),
            *ShipmentState.choices,
        ]

    def filters(self) -> dict[str, Any]:
        """The valid filters (an invalid one is ignored and shown with its error)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "state": data.get("state") or "",
            "customer": data.get("customer"),
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }


# --- planning a shipment -------------------------------------------------------------------


class CustomerChoiceForm(BootstrapFormMixin, forms.Form):
    """Step one of a new shipment: whose ready lines to ship."""

    customer = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=Customer.objects.filter(orders__state__in=READY_ORDER_STATES)
        .distinct()
        .order_by("code"),
        to_field_name="code",
        empty_label=_("Choose a customer with orders ready to ship…"),
    )


def ready_lines(customer: Customer) -> list[SalesOrderLine]:
    """The customer's order lines with something left to ship (orders ready to ship or
    partially shipped), with `held` (on open shipments, short picks excepted) and `free`;
    one query."""
    held = Coalesce(
        Sum(
            F("shipment_lines__quantity") - F("shipment_lines__quantity_short"),
            filter=Q(shipment_lines__shipment__state__in=OPEN_STATES),
        ),
        Decimal("0"),
    )
    rows = (
        SalesOrderLine.objects.filter(
            order__customer=customer,
            order__state__in=READY_ORDER_STATES,
            shipped_quantity__lt=F("quantity"),
        )
        .select_related("order__ship_to", "item")
        .annotate(held=held)
        .order_by("promise_date", "order__number", "line_no")
    )
    lines = []
    for line in rows:
        line.free = max(line.quantity - line.shipped_quantity - line.held, Decimal("0"))
        lines.append(line)
    return lines


class PlanShipmentForm(BootstrapFormMixin, forms.Form):
    """One ship-to's ready lines, a quantity each (blank or 0: not on this shipment)."""

    planned_ship_date = forms.DateField(label=_("Ship on"), required=False, widget=DateInput())
    dock_location = forms.ModelChoiceField(
        label=_("Dock"),
        queryset=Location.objects.filter(type=Location.Type.SHIPPING, active=True).order_by("code"),
        to_field_name="code",
        required=False,
        empty_label=_("First shipping location"),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, lines: list[SalesOrderLine], **kwargs: Any) -> None:
        self.lines = lines
        super().__init__(*args, **kwargs)
        for line in lines:
            self.fields[self.field_name(line)] = forms.CharField(
                label=f"{line.order.number}/{line.line_no} {line.item.sku}",
                required=False,
                max_length=20,
                initial=f"{line.free.normalize():f}" if line.free > 0 else "",
                widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "text-end"}),
            )
        for line in lines:  # added after the mixin styled the fixed fields
            widget = self.fields[self.field_name(line)].widget
            widget.attrs["class"] = f"{widget.attrs['class']} form-control"

    @staticmethod
    def field_name(line: SalesOrderLine) -> str:
        return f"qty_{line.pk}"

    def rows(self) -> list[dict[str, Any]]:
        return [{"line": line, "field": self[self.field_name(line)]} for line in self.lines]

    def chosen(self) -> list[tuple[SalesOrderLine, str]]:
        """(order line, quantity as typed) for each line with a quantity; the service
        checks the quantities."""
        picked = []
        for line in self.lines:
            raw = (self.cleaned_data.get(self.field_name(line)) or "").strip()
            if raw and _decimal(raw) != Decimal("0"):
                picked.append((line, raw))
        return picked

    def add_refusal(self, exc: DomainError) -> None:
        add_service_errors(self, exc)


# --- hold, release, cancel -----------------------------------------------------------------


class TransitionReasonForm(BootstrapFormMixin, forms.Form):
    """Hold and cancel say why; releasing a hold posts nothing."""

    reason_code = forms.ChoiceField(label=_("Reason code"), required=False)
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, reason_choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason_code"].choices = reason_choices


# --- tablet: pick ---------------------------------------------------------------------------


class ShipmentPickForm(PickForm):
    """One pick of a shipment: location, item, lot (lot-tracked items), quantity. The
    codes go to `shipment_pick` as scanned: it compares them with the pick list and counts
    a wrong one as a mis-pick."""


class ShortPickForm(BootstrapFormMixin, forms.Form):
    line = forms.TypedChoiceField(label=_("Line"), coerce=int, empty_value=None)
    quantity = forms.CharField(
        label=_("Quantity not found"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    note = forms.CharField(
        label=_("What is missing and why"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, lines: list[ShipmentLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = {line.pk: line for line in lines}
        self.fields["line"].choices = [("", _("Choose the line…"))] + [
            (
                line.pk,
                f"{line.sales_order_line.order.number}/{line.sales_order_line.line_no} "
                f"{line.item.sku}: {line.quantity_open.normalize():f} {line.item.unit} "
                f"{_('open')}",
            )
            for line in lines
            if line.quantity_open > 0
        ]


# --- tablet: pack ---------------------------------------------------------------------------


def _number_widget(inputmode: str = "numeric") -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": inputmode, "autocomplete": "off"})


class PackageForm(BootstrapFormMixin, forms.Form):
    """One package: its type, weight, dimensions and what goes in it (per picked line and
    lot). Typed as text: the service checks the numbers."""

    type = forms.ChoiceField(label=_("Type"), choices=Package.Type.choices)
    weight_kg = forms.CharField(
        label=_("Weight (kg)"), max_length=20, required=False, widget=_number_widget("decimal")
    )
    length_cm = forms.CharField(
        label=_("Length (cm)"), max_length=10, required=False, widget=_number_widget()
    )
    width_cm = forms.CharField(
        label=_("Width (cm)"), max_length=10, required=False, widget=_number_widget()
    )
    height_cm = forms.CharField(
        label=_("Height (cm)"), max_length=10, required=False, widget=_number_widget()
    )
    SPEC_FIELDS = ("weight_kg", "length_cm", "width_cm", "height_cm")

    def __init__(self, *args: Any, picked: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.picked = picked
        for row in picked:
            self.fields[row["key"]] = forms.CharField(
                label=row["label"],
                required=False,
                max_length=20,
                widget=forms.TextInput(
                    attrs={"inputmode": "decimal", "class": "form-control text-end"}
                ),
            )

    def contents_fields(self) -> list[dict[str, Any]]:
        return [{"row": row, "field": self[row["key"]]} for row in self.picked]

    def spec(self) -> dict[str, Any]:
        data = self.cleaned_data
        contents = []
        for row in self.picked:
            raw = (data.get(row["key"]) or "").strip()
            if raw and _decimal(raw) != Decimal("0"):
                contents.append({"line": row["line"], "lot": row["lot"], "quantity": raw})
        return {
            "type": data.get("type"),
            **{name: (data.get(name) or "").strip() for name in self.SPEC_FIELDS},
            "contents": contents,
        }


class BasePackageFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, picked: list[dict[str, Any]], **kwargs: Any) -> None:
        self.picked = picked
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "picked": self.picked}

    @property
    def empty_form(self) -> forms.Form:  # type: ignore[override]
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            picked=self.picked,
        )
        self.add_fields(form, None)
        return form

    def specs(self) -> list[dict[str, Any]]:
        return [form.spec() for form in self.forms]

    def add_refusal(self, exc: DomainError) -> list[str]:
        """Put the service's `packages[i].field` errors on the package's field; return
        the messages no field shows."""
        rest: list[str] = []
        for key, messages in exc.errors.items():
            form, name = self._target(key)
            for message in messages:
                if form is not None and name in form.fields:
                    form.add_error(name, message)
                elif form is not None:
                    form.add_error(None, message)
                else:
                    rest.append(message)
        if not exc.errors:
            rest.append(exc.message)
        return rest

    def _target(self, key: str) -> tuple[forms.Form | None, str]:
        if not key.startswith("packages["):
            return None, ""
        try:
            index = int(key[len("packages[") : key.index("]")])
        except ValueError:
            return None, ""
        if not 0 <= index < len(self.forms):
            return None, ""
        rest = key[key.index("]") + 1 :].lstrip(".")
        return self.forms[index], rest if rest in PackageForm.SPEC_FIELDS + ("type",) else ""


PackageFormSet = forms.formset_factory(
    PackageForm, formset=BasePackageFormSet, extra=0, min_num=1, max_num=50, validate_max=True
)


# --- tablet: dock and handover -----------------------------------------------------------------


class DockScanForm(BootstrapFormMixin, forms.Form):
    label = forms.CharField(
        label=_("Package label"),
        max_length=30,
        required=False,
        widget=scan_widget(_("Scan the package label")),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        attrs = self.fields["label"].widget.attrs
        attrs["autofocus"] = True
        attrs["data-scan-field"] = "label"


class HandOverForm(BootstrapFormMixin, forms.Form):
    carrier = forms.ModelChoiceField(
        label=_("Carrier"),
        queryset=Carrier.objects.filter(active=True).order_by("name"),
        to_field_name="code",
        required=False,
        empty_label=_("Choose the carrier…"),
    )
    service_level = forms.ChoiceField(label=_("Service level"), required=False)
    tracking_number = forms.CharField(
        label=_("Tracking number"),
        max_length=80,
        required=False,
        widget=scan_widget(_("Scan or type the tracking number")),
    )
    driver_name = forms.CharField(label=_("Driver's name"), max_length=120, required=False)

    def __init__(self, *args: Any, carriers: list[Carrier], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        levels: Choices = [("", _("Standard (none)"))]
        for carrier in carriers:
            if carrier.service_levels:
                levels.append((carrier.name, [(level, level) for level in carrier.service_levels]))
        self.fields["service_level"].choices = levels
