"""Governed fields: a model declares which fields are governed, who may change each and
in which states; one service applies a change with a reason, keeps old and new value and
emits an event. Forms, admin and API never write these fields directly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from .errors import NotPermitted, ValidationFailed
from .events import event_emit
from .models import FieldChange, ReasonCode


@dataclass(frozen=True)
class Governed:
    """How one field is governed: the permission to change it and the states that allow it."""

    permission: str
    allowed_states: frozenset[str] | None = None
    event_type: str = "record.field_changed"


def governed_fields(model: type[models.Model]) -> dict[str, Governed]:
    return dict(getattr(model, "GOVERNED_FIELDS", {}))


def is_governed(model: type[models.Model], field: str) -> bool:
    return field in governed_fields(model)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def reason_code_get(code: ReasonCode | str | None) -> ReasonCode:
    if isinstance(code, ReasonCode):
        if not code.active:
            raise ValidationFailed(_("This reason code is no longer in use."), field="reason_code")
        return code
    if not code:
        raise ValidationFailed(_("Choose a reason code."), field="reason_code")
    found = ReasonCode.objects.filter(code=code, active=True).first()
    if found is None:
        raise ValidationFailed(
            _("Unknown reason code '%(code)s'.") % {"code": code}, field="reason_code"
        )
    return found


def governed_state(instance: models.Model) -> str | None:
    getter = getattr(instance, "governance_state", None)
    return getter() if callable(getter) else getattr(instance, "state", None)


def governed_change_check(
    *, instance: models.Model, field: str, user: Any, new_value: Any
) -> tuple[Governed, Any]:
    """Validate who, when and what without writing; returns the cleaned value."""
    rules = governed_fields(type(instance))
    if field not in rules:
        raise ValidationFailed(
            _("%(field)s is not a governed field.") % {"field": field}, field=field
        )
    rule = rules[field]
    if user is not None and not user.has_perm(rule.permission):
        raise NotPermitted(
            _("You are not allowed to change %(field)s.") % {"field": field.replace("_", " ")}
        )
    state = governed_state(instance)
    if rule.allowed_states is not None and state not in rule.allowed_states:
        raise ValidationFailed(
            _("%(field)s cannot be changed while %(state)s.")
            % {"field": field.replace("_", " ").capitalize(), "state": state},
            code="not_in_this_state",
            field=field,
        )
    model_field = type(instance)._meta.get_field(field)
    try:
        cleaned = model_field.clean(new_value, instance)
    except ValidationError as exc:
        raise ValidationFailed("; ".join(exc.messages), field=field) from exc
    return rule, cleaned


def governed_field_change(
    *,
    instance: models.Model,
    field: str,
    new_value: Any,
    user: Any,
    reason_code: ReasonCode | str | None,
    reason_text: str,
    payload: dict[str, Any] | None = None,
    check_permission: bool = True,
) -> FieldChange:
    """Apply one governed change with its reason; the only writer of governed fields.

    `check_permission=False` is for a change already authorised elsewhere (an approved
    change request): who approved it is recorded there.
    """
    perm_user = user if check_permission else None
    reason = reason_code_get(reason_code)
    if not (reason_text or "").strip():
        raise ValidationFailed(_("Say why in a few words."), field="reason_text")
    rule, cleaned = governed_change_check(
        instance=instance, field=field, user=perm_user, new_value=new_value
    )
    model = type(instance)
    with transaction.atomic():
        locked = model._default_manager.select_for_update().get(pk=instance.pk)
        # Re-check the state on the locked row: it may have moved since the first look.
        rule, cleaned = governed_change_check(
            instance=locked, field=field, user=perm_user, new_value=new_value
        )
        old = getattr(locked, field)
        if old == cleaned:
            raise ValidationFailed(_("The new value is the same as the current one."), field=field)
        setattr(locked, field, cleaned)
        locked.save(update_fields=[field])
        setattr(instance, field, cleaned)
        change = FieldChange.objects.create(
            content_type=ContentType.objects.get_for_model(model),
            object_id=locked.pk,
            object_repr=str(locked)[:200],
            field=field,
            old_value=_json_value(old),
            new_value=_json_value(cleaned),
            actor=user if getattr(user, "pk", None) else None,
            reason_code=reason,
            reason_text=reason_text.strip(),
        )
        subject = getattr(locked, "governance_subject", lambda: locked)()
        event_emit(
            type=rule.event_type,
            subject=subject,
            payload={
                "record": f"{model._meta.label_lower}:{locked.pk}",
                "field": field,
                "old": _json_value(old),
                "new": _json_value(cleaned),
                "reason_code": reason.code,
                "reason_text": reason_text.strip(),
                **(payload or {}),
            },
            actor=user,
        )
    return change
