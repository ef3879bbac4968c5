"""The one helper that runs a state-machine transition for every app: lock the row, check
state, conditions and permission, call the transition, save, write history, emit."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils.translation import gettext as _
from django_fsm import FSMFieldMixin, Transition

from .errors import DomainError, IllegalTransition, NotPermitted
from .events import event_emit
from .governance import reason_code_get
from .models import ReasonCode, TransitionLog

M = TypeVar("M", bound=models.Model)


def condition(message: str):  # type: ignore[no-untyped-def]
    """Mark a transition condition with the message shown when it is not met.

    Conditions are declared at import time: pass a `gettext_lazy` string, it is
    translated when the message is shown."""

    def decorate(fn):  # type: ignore[no-untyped-def]
        fn.unmet_message = message
        return fn

    return decorate


def _fsm_field(model: type[models.Model], name: str) -> FSMFieldMixin:
    field = model._meta.get_field(name)
    assert isinstance(field, FSMFieldMixin)  # noqa: S101 - programming error
    return field


def transitions_from_state(instance: models.Model, field: str = "state") -> list[Transition]:
    fsm_field = _fsm_field(type(instance), field)
    state = getattr(instance, field)
    found = []
    for method in fsm_field.transitions.get(type(instance), {}).values():
        meta = method._django_fsm
        if meta.has_transition(state):
            found.append(meta.get_transition(state))
    return found


def available_transitions(
    instance: models.Model, user: Any, field: str = "state", *, include_internal: bool = False
) -> list[Transition]:
    """Transitions this user may run now: the buttons a page offers.

    Transitions marked `custom={"internal": True}` run only from services (an approved
    change request, a shipment) and are never offered as buttons.
    """
    result = []
    for t in transitions_from_state(instance, field):
        if t.custom.get("internal") and not include_internal:
            continue
        if all(c(instance) for c in t.conditions) and (user is None or t.has_perm(instance, user)):
            result.append(t)
    return result


def transition_run(
    *,
    instance: M,
    transition: str,
    user: Any,
    field: str = "state",
    reason_code: ReasonCode | str | None = None,
    comment: str = "",
    event_type: str | None = None,
    payload: dict[str, Any] | None = None,
    check_permission: bool = True,
    **kwargs: Any,
) -> M:
    """Run `transition` on a locked copy of `instance`; return the saved copy.

    `user` is recorded as the actor. `check_permission=False` is for a step already
    authorised elsewhere (an approved change request applying itself): the history still
    says who did it.
    """
    model = type(instance)
    with transaction.atomic():
        locked = model._default_manager.select_for_update().get(pk=instance.pk)
        method = getattr(locked, transition, None)
        if method is None or not hasattr(method, "_django_fsm"):
            raise DomainError(
                _("Unknown action '%(action)s'.") % {"action": transition},
                code="unknown_transition",
            )
        meta = method._django_fsm
        from_state = getattr(locked, field)
        if not meta.has_transition(from_state):
            allowed = [t.name for t in available_transitions(locked, user, field)]
            raise IllegalTransition(
                _("Cannot %(action)s %(record)s while it is %(state)s. Allowed now: %(allowed)s.")
                % {
                    "action": transition.replace("_", " "),
                    "record": locked,
                    "state": from_state,
                    "allowed": ", ".join(allowed) or _("none"),
                },
                current_state=from_state,
                allowed=allowed,
                transition=transition,
            )
        t = meta.get_transition(from_state)
        unmet = [c for c in t.conditions if not c(locked)]
        if unmet:
            messages = [str(getattr(c, "unmet_message", c.__name__)) for c in unmet]
            raise DomainError(" ".join(messages), code="condition_not_met")
        if check_permission and user is not None and not t.has_perm(locked, user):
            raise NotPermitted(
                _("You are not allowed to %(action)s %(record)s.")
                % {"action": transition.replace("_", " "), "record": locked}
            )
        if reason_code:
            reason_code = reason_code_get(reason_code)  # unknown or inactive: refused
        method(**kwargs)
        locked.save()
        to_state = getattr(locked, field)
        TransitionLog.objects.create(
            content_type=ContentType.objects.get_for_model(model),
            object_id=locked.pk,
            object_repr=str(locked)[:200],
            field=field,
            transition=transition,
            from_state=from_state,
            to_state=to_state,
            actor=user if getattr(user, "pk", None) else None,
            reason_code=reason_code or None,
            comment=comment,
        )
        if event_type:
            event_emit(
                type=event_type,
                subject=locked,
                payload={
                    "transition": transition,
                    "from": from_state,
                    "to": to_state,
                    "comment": comment,
                    **(payload or {}),
                },
                actor=user,
            )
    return locked
