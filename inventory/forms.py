"""Page forms for inventory. They parse and present; the services decide what is valid.

Tablet flows are `ScanFlowForm`s: one scan field at a time (a barcode scanner types the
code and presses Enter), the codes already accepted travel along as hidden fields and
show as a summary above the field. A scan is parsed as soon as it arrives (an unknown
barcode is named at once, on its own step); the whole flow goes to its service when the
last step is answered, and the service's refusal comes back next to the step it concerns.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mes.core.errors import DomainError
from mes.core.forms import BootstrapFormMixin, add_service_errors

from .models import Item, Kit, Location, Lot, QualityHold
from .services.ledger import quantity_clean

Choices = list[tuple[Any, str]]


# --- scanned codes -------------------------------------------------------------------------


def location_by_scan(code: str) -> Location | None:
    """A location by its barcode label or its code (a person may type either)."""
    code = (code or "").strip()
    if not code:
        return None
    return Location.objects.filter(Q(barcode=code) | Q(code=code)).first()


def item_by_scan(code: str) -> Item | None:
    code = (code or "").strip()
    if not code:
        return None
    return Item.objects.filter(sku=code).first()


def lot_by_scan(item: Item, code: str) -> Lot | None:
    """The item's lot by its number, else by the supplier's lot number when that is
    unambiguous (labels from the supplier carry theirs)."""
    code = (code or "").strip()
    if not code:
        return None
    lot = Lot.objects.filter(item=item, number=code).first()
    if lot is not None:
        return lot
    by_supplier = list(Lot.objects.filter(item=item, supplier_lot=code)[:2])
    return by_supplier[0] if len(by_supplier) == 1 else None


def parse_date(value: str) -> dt.date:
    """2030-12-31, 20301231 or 31.12.2030 (label formats scanners send)."""
    text = (value or "").strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%d.%m.%Y", "%d/%m/%Y"):
        try:
            return dt.date(*time.strptime(text, fmt)[:3])
        except ValueError:
            continue
    raise forms.ValidationError(_("Enter the date as YYYY-MM-DD."))


def scan_widget(placeholder: Any = "", *, inputmode: str = "text") -> forms.TextInput:
    return forms.TextInput(
        attrs={
            "placeholder": placeholder,
            "autocomplete": "off",
            "autocapitalize": "off",
            "spellcheck": "false",
            "inputmode": inputmode,
            "class": "mes-scan-input",
        }
    )


def _scan_field(label: Any, placeholder: Any = "", **kwargs: Any) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, max_length=120, widget=scan_widget(placeholder), **kwargs
    )


QUANTITY = _("Quantity")


def _quantity_field(label: Any = QUANTITY) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=20,
        widget=scan_widget(_("Quantity"), inputmode="decimal"),
    )


# --- the scan flow ---------------------------------------------------------------------


class ScanFlowForm(BootstrapFormMixin, forms.Form):
    """A tablet flow of steps answered one at a time.

    `steps` names the fields in order; `optional` the ones Enter may leave empty;
    `step_needed` drops steps that do not apply (no lot for an untracked item). The
    hidden `step` is the step being answered; `back` re-opens an earlier one. After
    validation `current` is the step to show next, or `complete` is True.
    """

    steps: tuple[str, ...] = ()
    optional: frozenset[str] = frozenset()
    step = forms.CharField(required=False, widget=forms.HiddenInput)
    back = forms.CharField(required=False, widget=forms.HiddenInput)
    missing_messages: dict[str, Any] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current: str = self.steps[0]
        self.complete = False
        self.values: dict[str, Any] = {}

    # Flows override these.
    def step_needed(self, name: str, values: dict[str, Any]) -> bool:
        return True

    def step_default(self, name: str, values: dict[str, Any]) -> Any:
        return None

    def display(self, name: str, value: Any) -> str:
        if isinstance(value, Location):
            return f"{value.code} · {value.name}"
        if isinstance(value, Item):
            return f"{value.sku} · {value.name}"
        if isinstance(value, Lot):
            return value.number
        if isinstance(value, Decimal):
            text = f"{value.normalize():f}"
            unit = getattr(self.values.get("item"), "unit", "")
            return f"{text} {unit}".strip()
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        posted = (self.data.get("step") or "").strip()
        back = (self.data.get("back") or "").strip()
        target = back if back in self.steps else posted if posted in self.steps else ""
        if not target:
            # A fresh start (or a scan posted without its step): answer the first one.
            target = self.steps[0]
        reached = False
        for name in self.steps:
            if not self.step_needed(name, self.values):
                continue
            if reached:
                self._open(name)
                return cleaned
            if name == target and back:
                self._open(name, reopen=True)
                return cleaned
            if name in self._errors:
                self._open(name, keep=True)
                return cleaned
            value = cleaned.get(name)
            if value in (None, ""):
                if name not in self.optional:
                    if name == target:
                        message = self.missing_messages.get(name) or _("Scan or enter this.")
                        self.add_error(name, message)
                        self._open(name, keep=True)
                    else:
                        self._open(name)
                    return cleaned
                value = None
            self.values[name] = value
            if name == target:
                reached = True
        self.complete = True
        return cleaned

    def _open(self, name: str, *, keep: bool = False, reopen: bool = False) -> None:
        """Make `name` the step on screen: later answers are dropped, its own field shows
        its default (or, re-opened, what was there)."""
        self.current = name
        data = self.data.copy()
        index = self.steps.index(name)
        for later in self.steps[index + 1 :]:
            data.pop(later, None)
        if not keep and not reopen:
            default = self.step_default(name, self.values)
            data[name] = "" if default is None else str(default)
        data["step"] = name
        data["back"] = ""
        self.data = data

    def reopen_for_errors(self) -> None:
        """After a service refused: show the first step it named (the last one when it
        named none), keeping every answer."""
        for name in self.steps:
            if name in self.errors and self.step_needed(name, self.values):
                self.current = name
                break
        else:
            needed = [n for n in self.steps if self.step_needed(n, self.values)]
            self.current = needed[-1]
        self.complete = False
        data = self.data.copy()
        data["step"] = self.current
        self.data = data

    def add_refusal(self, exc: DomainError) -> None:
        add_service_errors(self, exc)
        self.reopen_for_errors()

    def restart(self, keep: tuple[str, ...] = ()) -> None:
        """Back to the first step (after a refused pick the picker scans again)."""
        data = self.data.copy()
        for name in self.steps:
            if name not in keep:
                data.pop(name, None)
        first = next(n for n in self.steps if n not in keep)
        data["step"] = first
        self.data = data
        self.current = first
        self.complete = False

    def prime(self) -> None:
        """A fresh flow shows its first step with that step's default."""
        if self.is_bound:
            return
        self.current = next(n for n in self.steps if self.step_needed(n, self.values))
        default = self.step_default(self.current, self.values)
        if default is not None:
            self.initial[self.current] = default

    # Rendering helpers.
    def answered(self) -> list[dict[str, Any]]:
        """The steps before the current one, with what they resolved to."""
        rows = []
        for name in self.steps:
            if name == self.current:
                break
            if not self.step_needed(name, self.values):
                continue
            value = self.values.get(name)
            rows.append(
                {
                    "name": name,
                    "label": self.fields[name].label,
                    "raw": self.data.get(name, ""),
                    "display": self.display(name, value) if value is not None else _("—"),
                }
            )
        return rows

    def current_field(self) -> forms.BoundField:
        attrs = self.fields[self.current].widget.attrs
        attrs["autofocus"] = True
        attrs["data-scan-field"] = self.current
        if self.current in self.errors:
            attrs["aria-describedby"] = f"error-{self.current}"
        return self[self.current]

    def is_last_step(self) -> bool:
        return not self.remaining()

    def is_optional_step(self) -> bool:
        return self.current in self.optional

    def drop_field_error(self, message: str) -> None:
        """The refusal shows once, in the banner, not again under the field."""
        errors = self.errors.get(self.current)
        if errors is None:
            return
        kept = [e for e in errors if e != message]
        if kept:
            self.errors[self.current] = self.error_class(kept)
        else:
            del self.errors[self.current]

    def remaining(self) -> list[Any]:
        names = list(self.steps)
        index = names.index(self.current)
        return [
            self.fields[n].label for n in names[index + 1 :] if self.step_needed(n, self.values)
        ]


class LocationFieldsMixin:
    """clean_<name> for scanned locations, items and lots."""

    cleaned_data: dict[str, Any]

    def _location(self, name: str) -> Location | None:
        code = self.cleaned_data.get(name) or ""
        if not code:
            return None
        location = location_by_scan(code)
        if location is None:
            raise forms.ValidationError(
                _("Unknown location barcode “%(code)s”.") % {"code": code}, code="unknown"
            )
        return location

    def _item(self, name: str = "item") -> Item | None:
        code = self.cleaned_data.get(name) or ""
        if not code:
            return None
        item = item_by_scan(code)
        if item is None:
            raise forms.ValidationError(
                _("Unknown item barcode “%(code)s”.") % {"code": code}, code="unknown"
            )
        return item

    def _lot(self, name: str = "lot", item_field: str = "item") -> Lot | None:
        code = self.cleaned_data.get(name) or ""
        item = self.cleaned_data.get(item_field)
        if not code or not isinstance(item, Item):
            return None
        lot = lot_by_scan(item, code)
        if lot is None:
            raise forms.ValidationError(
                _("%(sku)s has no lot “%(code)s”.") % {"sku": item.sku, "code": code},
                code="unknown",
            )
        return lot

    def _quantity(self, name: str = "quantity", item_field: str = "item") -> Decimal | None:
        raw = self.cleaned_data.get(name) or ""
        if not str(raw).strip():
            return None
        item = self.cleaned_data.get(item_field)
        try:
            return quantity_clean(raw, item=item if isinstance(item, Item) else None, field=name)
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None


def _lot_needed(values: dict[str, Any]) -> bool:
    item = values.get("item")
    return isinstance(item, Item) and item.is_tracked


class StockScanForm(LocationFieldsMixin, ScanFlowForm):
    """A scan flow over an item and, when it is tracked, its lot."""

    def step_needed(self, name: str, values: dict[str, Any]) -> bool:
        return name != "lot" or _lot_needed(values)

    def clean_item(self) -> Item | None:
        return self._item()

    def clean_lot(self) -> Lot | None:
        return self._lot()


class ReasonStepMixin:
    """A reason-code step whose choices come from the view, shown by its label."""

    fields: dict[str, Any]

    def __init__(self, *args: Any, reason_choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self.fields["reason_code"].choices = reason_choices
        self._reason_labels = dict(reason_choices)

    def display(self, name: str, value: Any) -> str:
        if name == "reason_code":
            return str(self._reason_labels.get(value, value))
        return super().display(name, value)  # type: ignore[misc]


class MoveForm(StockScanForm):
    """Move stock: from, item, lot, to, quantity."""

    steps = ("from_location", "item", "lot", "to_location", "quantity")
    from_location = _scan_field(_("From location"), _("Scan the location you take from"))
    item = _scan_field(_("Item"), _("Scan the item"))
    lot = _scan_field(_("Lot"), _("Scan the lot"))
    to_location = _scan_field(_("To location"), _("Scan the destination"))
    quantity = _quantity_field()
    missing_messages = {
        "from_location": _("Scan the location you take the stock from."),
        "item": _("Scan the item."),
        "lot": _("Scan the lot: the item is lot-tracked."),
        "to_location": _("Scan the destination location."),
        "quantity": _("Enter the quantity."),
    }

    def clean_from_location(self) -> Location | None:
        return self._location("from_location")

    def clean_to_location(self) -> Location | None:
        return self._location("to_location")

    def clean_quantity(self) -> Decimal | None:
        return self._quantity()


class ScrapForm(ReasonStepMixin, StockScanForm):
    """Scrap stock with a reason: location, item, lot, quantity, reason, note."""

    steps = ("location", "item", "lot", "quantity", "reason_code", "note")
    optional = frozenset({"note"})
    location = _scan_field(_("Location"), _("Scan the location"))
    item = _scan_field(_("Item"), _("Scan the item"))
    lot = _scan_field(_("Lot"), _("Scan the lot"))
    quantity = _quantity_field()
    reason_code = forms.ChoiceField(label=_("Reason"), required=False, choices=[])
    note = forms.CharField(
        label=_("Note"), required=False, max_length=500, widget=scan_widget(_("What happened"))
    )
    missing_messages = {
        "location": _("Scan the location of the stock to scrap."),
        "item": _("Scan the item."),
        "lot": _("Scan the lot: the item is lot-tracked."),
        "quantity": _("Enter the quantity."),
        "reason_code": _("Choose why the stock is scrapped."),
    }

    def clean_location(self) -> Location | None:
        return self._location("location")

    def clean_quantity(self) -> Decimal | None:
        return self._quantity()


class CountForm(ReasonStepMixin, StockScanForm):
    """A cycle count: location, item, lot, the counted quantity; a reason when the count
    differs from the books (the service says when it does)."""

    steps = ("location", "item", "lot", "counted_quantity", "reason_code", "note")
    optional = frozenset({"reason_code", "note"})
    location = _scan_field(_("Location"), _("Scan the location"))
    item = _scan_field(_("Item"), _("Scan the item"))
    lot = _scan_field(_("Lot"), _("Scan the lot"))
    counted_quantity = forms.CharField(
        label=_("Counted quantity"),
        required=False,
        max_length=20,
        widget=scan_widget(_("What is on the shelf"), inputmode="decimal"),
    )
    reason_code = forms.ChoiceField(
        label=_("Reason (only when the count differs)"), required=False, choices=[]
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=500, widget=scan_widget(_("Optional"))
    )
    missing_messages = {
        "location": _("Scan the location you count."),
        "item": _("Scan the item."),
        "lot": _("Scan the lot: the item is lot-tracked."),
        "counted_quantity": _("Enter the quantity you counted."),
    }

    def clean_location(self) -> Location | None:
        return self._location("location")

    def clean_counted_quantity(self) -> Decimal | None:
        raw = (self.cleaned_data.get("counted_quantity") or "").strip()
        if not raw:
            return None
        if raw in {"0", "0.0", "0.000"}:
            return Decimal("0")  # an empty shelf is a count too
        return self._quantity("counted_quantity")


class ReceiptScanForm(BootstrapFormMixin, forms.Form):
    """The first scan of receive, inspect and put away: a receipt, a PO or an item."""

    code = _scan_field(_("Receipt, PO or item"), _("Scan the receipt, PO or item label"))


class ReceiveForm(ScanFlowForm):
    """Receiving one expected receipt: quantity, supplier lot, lot expiry."""

    steps = ("quantity", "supplier_lot", "lot_number", "expiry_date")
    optional = frozenset({"supplier_lot", "lot_number", "expiry_date"})
    quantity = _quantity_field(_("Quantity received"))
    supplier_lot = _scan_field(_("Supplier lot"), _("Scan the supplier's lot label"))
    lot_number = forms.CharField(
        label=_("Lot number"),
        required=False,
        max_length=2000,
        widget=scan_widget(_("Empty: numbered for you")),
    )
    expiry_date = forms.CharField(
        label=_("Expiry date"),
        required=False,
        max_length=20,
        widget=scan_widget(_("YYYY-MM-DD"), inputmode="numeric"),
    )
    missing_messages = {"quantity": _("Enter the quantity received.")}

    def __init__(self, *args: Any, receipt: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.receipt = receipt
        self.values["item"] = receipt.item
        if receipt.item.tracking == Item.Tracking.SERIAL:
            self.fields["lot_number"].label = _("Serial numbers (separated by spaces)")
            self.fields["lot_number"].widget.attrs["placeholder"] = _("Scan each serial")

    def step_needed(self, name: str, values: dict[str, Any]) -> bool:
        item = self.receipt.item
        if name in {"supplier_lot", "lot_number"}:
            return item.is_tracked
        if name == "expiry_date":
            return item.tracking == Item.Tracking.LOT
        return True

    def step_default(self, name: str, values: dict[str, Any]) -> Any:
        if name == "quantity":
            open_quantity = self.receipt.quantity_expected - self.receipt.quantity_received
            if open_quantity > 0:
                return f"{open_quantity.normalize():f}"
        return None

    def clean_quantity(self) -> Decimal | None:
        raw = (self.cleaned_data.get("quantity") or "").strip()
        if not raw:
            return None
        try:
            return quantity_clean(raw, field="quantity")
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_expiry_date(self) -> dt.date | None:
        raw = (self.cleaned_data.get("expiry_date") or "").strip()
        return parse_date(raw) if raw else None


class PutAwayForm(LocationFieldsMixin, ScanFlowForm):
    steps = ("to_location",)
    to_location = _scan_field(_("Destination"), _("Scan the destination location"))
    missing_messages = {"to_location": _("Scan the location you put the goods in.")}

    def clean_to_location(self) -> Location | None:
        return self._location("to_location")


class InspectForm(BootstrapFormMixin, forms.Form):
    """Accept or reject; a rejection needs a reason (the service says so)."""

    reason_code = forms.ChoiceField(label=_("Reason (for a rejection)"), required=False)
    note = forms.CharField(
        label=_("Inspection note"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, reason_choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason_code"].choices = reason_choices


class PickForm(ScanFlowForm):
    """One pick of a kit: location, item, lot, quantity. The codes go to the service as
    scanned: it compares them with the pick list, and counts a wrong one."""

    steps = ("location_code", "item_code", "lot_code", "quantity")
    location_code = _scan_field(_("Location"), _("Scan the location"))
    item_code = _scan_field(_("Item"), _("Scan the item"))
    lot_code = _scan_field(_("Lot"), _("Scan the lot"))
    quantity = _quantity_field()
    missing_messages = {
        "location_code": _("Scan the location of the next line."),
        "item_code": _("Scan the item."),
        "lot_code": _("Scan the lot: the item is lot-tracked."),
        "quantity": _("Enter the quantity picked."),
    }

    def __init__(self, *args: Any, pick_lines: list[Any], **kwargs: Any) -> None:
        self.pick_lines = pick_lines
        self._tracked: dict[str, bool] = {}
        super().__init__(*args, **kwargs)

    def _line_for(self, values: dict[str, Any]) -> Any:
        """The pick line the scans so far point at (the next one by default)."""
        location = values.get("location_code") or ""
        item = values.get("item_code") or ""
        for line in self.pick_lines:
            if location in {line.location.code, line.location.barcode} and (
                not item or line.item.sku == item
            ):
                return line
        return self.pick_lines[0] if self.pick_lines else None

    def step_needed(self, name: str, values: dict[str, Any]) -> bool:
        if name != "lot_code":
            return True
        code = values.get("item_code") or ""
        if code not in self._tracked:
            item = item_by_scan(code)
            self._tracked[code] = item is not None and item.is_tracked
        return self._tracked[code]

    def step_default(self, name: str, values: dict[str, Any]) -> Any:
        if name == "quantity":
            line = self._line_for(values)
            if line is not None:
                return f"{line.quantity.normalize():f}"
        return None

    def clean_quantity(self) -> Decimal | None:
        raw = (self.cleaned_data.get("quantity") or "").strip()
        if not raw:
            return None
        try:
            return quantity_clean(raw, field="quantity")
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None


# --- desktop filters and forms ----------------------------------------------------------


class StockFilterForm(BootstrapFormMixin, forms.Form):
    item = forms.CharField(
        label=_("Item"),
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("SKU or name"), "type": "search", "class": "mes-filter-text"}
        ),
    )
    location = forms.CharField(
        label=_("Location"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Code"), "class": "mes-filter-text"}),
    )
    lot = forms.CharField(
        label=_("Lot"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Lot"), "class": "mes-filter-text"}),
    )
    location_type = forms.ChoiceField(
        label=_("Location type"),
        required=False,
        choices=[("", _("Any type")), *Location.Type.choices],
    )
    available_only = forms.BooleanField(label=_("Available only"), required=False)

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "item": (data.get("item") or "").strip(),
            "location": (data.get("location") or "").strip(),
            "lot": (data.get("lot") or "").strip(),
            "location_type": data.get("location_type") or "",
            "available_only": bool(data.get("available_only")),
        }


RECEIPT_VIEWS = [
    ("open", _("Due and late")),
    ("late", _("Late only")),
    ("received", _("Received, to inspect or put away")),
    ("all", _("All")),
]


class ReceiptFilterForm(BootstrapFormMixin, forms.Form):
    show = forms.ChoiceField(label=_("Show"), required=False, choices=RECEIPT_VIEWS)
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("Receipt, PO, supplier or SKU"), "type": "search"}
        ),
    )

    def filters(self) -> dict[str, str]:
        data = self.cleaned_data if self.is_valid() else {}
        return {"show": data.get("show") or "open", "q": (data.get("q") or "").strip()}


class KitFilterForm(BootstrapFormMixin, forms.Form):
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("Not issued yet")), ("all", _("All")), *Kit.State.choices],
    )
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Kit or work order"), "type": "search"}),
    )

    def filters(self) -> dict[str, str]:
        data = self.cleaned_data if self.is_valid() else {}
        return {"state": data.get("state") or "", "q": (data.get("q") or "").strip()}


class HoldFilterForm(BootstrapFormMixin, forms.Form):
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("Active")), ("released", _("Released")), ("all", _("All"))],
    )

    def filters(self) -> dict[str, str]:
        data = self.cleaned_data if self.is_valid() else {}
        return {"state": data.get("state") or ""}


class HoldPlaceForm(LocationFieldsMixin, BootstrapFormMixin, forms.Form):
    """Place a quality hold on a lot (item and lot number), a location or a work order."""

    scope = forms.ChoiceField(label=_("Applies to"), choices=QualityHold.Scope.choices)
    item = forms.CharField(
        label=_("Item (for a lot)"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("SKU")}),
    )
    lot = forms.CharField(
        label=_("Lot"), required=False, widget=forms.TextInput(attrs={"placeholder": _("Lot")})
    )
    location = forms.CharField(
        label=_("Location"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Code or barcode")}),
    )
    work_order_id = forms.IntegerField(label=_("Work order id"), required=False, min_value=1)
    work_order_ref = forms.CharField(label=_("Work order"), required=False, max_length=40)
    reason_code = forms.ChoiceField(label=_("Reason"), required=False)
    note = forms.CharField(label=_("Why"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, reason_choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason_code"].choices = reason_choices

    def clean_item(self) -> Item | None:
        return self._item()

    def clean_lot(self) -> Lot | None:
        """The lot of the item named; without an item, the one lot of that number."""
        if self.cleaned_data.get("item") or "item" in self.errors:
            return self._lot()
        code = (self.cleaned_data.get("lot") or "").strip()
        if not code:
            return None
        lots = list(Lot.objects.filter(number=code).select_related("item")[:2])
        if len(lots) == 1:
            return lots[0]
        if not lots:
            raise forms.ValidationError(_("No lot “%(code)s” found.") % {"code": code})
        raise forms.ValidationError(
            _("Several items have a lot “%(code)s”: name the item too.") % {"code": code}
        )

    def clean_location(self) -> Location | None:
        return self._location("location")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        scope = cleaned.get("scope")
        if scope == QualityHold.Scope.LOT and not cleaned.get("lot") and "lot" not in self.errors:
            self.add_error("lot", _("Name the item and the lot the hold applies to."))
        if (
            scope == QualityHold.Scope.LOCATION
            and not cleaned.get("location")
            and "location" not in self.errors
        ):
            self.add_error("location", _("Name the location the hold applies to."))
        if scope == QualityHold.Scope.WORK_ORDER and not cleaned.get("work_order_id"):
            if "work_order_id" not in self.errors:
                self.add_error("work_order_id", _("Name the work order the hold applies to."))
        return cleaned


class HoldReleaseForm(BootstrapFormMixin, forms.Form):
    reason_code = forms.ChoiceField(label=_("Reason"), required=False)
    note = forms.CharField(
        label=_("Why it may be used again"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, reason_choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason_code"].choices = reason_choices


class TraceSearchForm(BootstrapFormMixin, forms.Form):
    lot = forms.CharField(
        label=_("Lot"),
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("Lot, serial or supplier lot"), "type": "search"}
        ),
    )
    item = forms.CharField(
        label=_("Item"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("SKU (optional)")}),
    )
