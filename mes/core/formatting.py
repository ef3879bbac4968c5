"""How quantities read in messages, documents and pages: 10.000 -> 10, 2.500 -> 2.5."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def quantity_text(value: Any) -> str:
    """A quantity without trailing zeros; anything that is not a number as it is."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    text = f"{number.normalize():f}"
    return "0" if text in {"-0", ""} else text
