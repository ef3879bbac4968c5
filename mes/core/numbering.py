"""Document numbers people read and say (SO-000123): the row's id with a prefix. A row is
inserted with a unique placeholder, then numbered from its id in the same transaction."""

from __future__ import annotations

import uuid

from django.db import models


def number_placeholder() -> str:
    """A unique stand-in for the number until the row has its id."""
    return f"TMP-{uuid.uuid4().hex[:16]}"


def number_assign(instance: models.Model, prefix: str) -> str:
    """Number a just-inserted row as PREFIX-000123 and return the number."""
    number = f"{prefix}-{instance.pk:06d}"
    type(instance)._default_manager.filter(pk=instance.pk).update(number=number)
    instance.number = number  # type: ignore[attr-defined]
    return number
