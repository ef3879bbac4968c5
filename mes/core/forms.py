"""Page-form plumbing every app shares: Bootstrap classes, service errors placed next to
their fields, and the reason-code choices."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .errors import DomainError
from .models import ReasonCode

Choices = list[tuple[Any, str]]


class BootstrapFormMixin:
    """Bootstrap classes on every widget, and `is-invalid` on fields with an error."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def _mark_invalid(self) -> None:
        for name in getattr(self, "_errors", None) or {}:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        self._mark_invalid()

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)  # type: ignore[misc]
        self._mark_invalid()


def add_service_errors(form: forms.Form, exc: DomainError) -> None:
    """Put a service's field errors next to the matching fields; the rest on top."""
    for key, messages in exc.errors.items():
        target = key if key in form.fields else None
        for message in messages:
            form.add_error(target, message)
    if not exc.errors:
        form.add_error(None, exc.message)


def reason_code_choices(placeholder: Any = None, *, order_by: str = "code") -> Choices:
    """The active reason codes as select options, read once per page."""
    return [("", placeholder or _("Choose a reason…"))] + [
        (code, label)
        for code, label in ReasonCode.objects.filter(active=True)
        .order_by(order_by)
        .values_list("code", "label")
    ]
