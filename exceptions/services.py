"""Exceptions and tasks: raised by rules (idempotently), worked by people, escalated by
time. Every function is one transaction and writes history and events."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.mail import send_mail
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.core.errors import Conflict, DomainError, ValidationFailed
from mes.core.events import event_emit
from mes.core.governance import governed_field_change, governed_fields, reason_code_get
from mes.core.models import Event
from mes.core.numbering import number_assign, number_placeholder
from mes.core.transitions import transition_run

from .caching import role_emails_cache
from .engine import render_template
from .models import (
    DecisionRule,
    ExceptionEvent,
    ExceptionState,
    Notification,
    PlantException,
    Task,
    TaskState,
)

logger = logging.getLogger(__name__)
RULE_REASON_CODE = "decision-rule"


def _dedup_key(
    kind: str, rule: DecisionRule, subject: models.Model | None, context: dict[str, Any]
) -> str:
    """One unresolved exception (open task) per rule and subject. An event without a
    subject row (a work center reported by a machine gateway) is told apart by its
    rendered title, so two work centers down are two exceptions, not one."""
    if subject is None:
        title = render_template(rule.title_template or rule.name, context)
        digest = hashlib.sha256(title.encode()).hexdigest()[:24]
        return f"{kind}:{rule.pk}:-:{digest}"
    return f"{kind}:{rule.pk}:{subject._meta.label_lower}:{subject.pk}"


def _subject_fields(subject: models.Model | None) -> dict[str, Any]:
    if subject is None:
        return {"content_type": None, "object_id": None, "subject_repr": ""}
    return {
        "content_type": ContentType.objects.get_for_model(subject),
        "object_id": subject.pk,
        "subject_repr": str(subject)[:200],
    }


def _create_numbered(model: type[models.Model], prefix: str, **fields: Any) -> Any:
    """Insert a row numbered PREFIX-000123 from its id. On Postgres the id is taken from
    the table's sequence first, so the row is written once, with its number; elsewhere it
    is inserted with a placeholder and numbered after (mes.core.numbering)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [model._meta.db_table]
            )
            pk = cursor.fetchone()[0]
        return model._default_manager.create(pk=pk, number=f"{prefix}-{pk:06d}", **fields)
    instance = model._default_manager.create(number=number_placeholder(), **fields)
    number_assign(instance, prefix)
    return instance


def notify_role(*, role: Group | None, message: str, exception: PlantException | None) -> None:
    """In-app notice to a role and e-mail to its members with an address."""
    if role is None:
        return
    Notification.objects.create(role=role, exception=exception, message=message[:300])
    recipients = role_emails_cache.get(
        role.pk,
        lambda: list(
            role.user_set.filter(is_active=True).exclude(email="").values_list("email", flat=True)
        ),
    )
    if recipients:
        transaction.on_commit(
            lambda: send_mail(
                subject=f"[{settings.PLANT_NAME}] {message}"[:150],
                message=message,
                from_email=None,
                recipient_list=recipients,
                fail_silently=True,
            )
        )


def exception_raise(
    *,
    rule: DecisionRule,
    subject: models.Model | None,
    context: dict[str, Any],
    event: Event | None,
) -> tuple[PlantException, bool]:
    """One unresolved exception per rule and subject: a repeat counts, it does not add."""
    now = timezone.now()
    key = _dedup_key("exception", rule, subject, context)
    existing = PlantException.objects.select_for_update().filter(dedup_key=key).first()
    created = False
    if existing is None:
        try:
            with transaction.atomic():
                existing = _create_numbered(
                    PlantException,
                    "EX",
                    title=render_template(rule.title_template or rule.name, context)[:200],
                    rule=rule,
                    severity=rule.severity,
                    owner_role=rule.owner_role,
                    escalation_policy=rule.escalation_policy,
                    sla_due_at=now + dt.timedelta(minutes=rule.sla_minutes)
                    if rule.sla_minutes
                    else None,
                    last_seen_at=now,
                    dedup_key=key,
                    **_subject_fields(subject),
                )
                created = True
        except IntegrityError:
            # Another worker raised it a moment ago: count this as a repeat.
            existing = PlantException.objects.select_for_update().get(dedup_key=key)
    if not created:
        PlantException.objects.filter(pk=existing.pk).update(
            occurrences=F("occurrences") + 1, last_seen_at=now
        )
        existing.refresh_from_db()
    if event is not None and created:
        ExceptionEvent.objects.create(
            exception=existing,
            event_id=event.pk,
            event_type=event.type,
            occurred_at=event.occurred_at,
        )
    elif event is not None:
        ExceptionEvent.objects.get_or_create(
            exception=existing,
            event_id=event.pk,
            defaults={"event_type": event.type, "occurred_at": event.occurred_at},
        )
    if created:
        event_emit(
            type="exception.raised",
            subject=existing,
            payload={
                "number": existing.number,
                "title": existing.title,
                "severity": existing.severity,
                "owner_role": existing.owner_role.name if existing.owner_role else None,
                "rule": rule.name,
            },
        )
        notify_role(
            role=existing.owner_role,
            message=f"{existing.number} ({existing.get_severity_display()}): {existing.title}",
            exception=existing,
        )
    return existing, created


def task_create(
    *,
    rule: DecisionRule,
    subject: models.Model | None,
    context: dict[str, Any],
    exception: PlantException | None = None,
) -> tuple[Task, bool]:
    """One open task per rule and subject, with its checklist and required inputs."""
    key = _dedup_key("task", rule, subject, context)
    existing = Task.objects.filter(dedup_key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            task = _create_numbered(
                Task,
                "T",
                title=render_template(rule.title_template or rule.name, context)[:200],
                instructions=render_template(rule.task_instructions, context),
                checklist=[{"text": str(text), "done": False} for text in rule.task_checklist],
                required_inputs=[
                    {"name": str(name), "value": ""} for name in rule.task_required_inputs
                ],
                exception=exception,
                rule=rule,
                assigned_role=rule.owner_role,
                due_at=timezone.now() + dt.timedelta(minutes=rule.task_due_minutes)
                if rule.task_due_minutes
                else None,
                dedup_key=key,
                **_subject_fields(subject),
            )
    except IntegrityError:
        return Task.objects.get(dedup_key=key), False
    return task, True


def _rule_priority_change(*, rule: DecisionRule, subject: models.Model | None, bump: bool) -> None:
    if subject is None or "priority" not in governed_fields(type(subject)):
        logger.info("rule %s: subject has no governed priority", rule.pk)
        return
    current = subject.priority
    value = current - (rule.priority_value or 1) if bump else rule.priority_value
    if value is None:
        return
    value = max(1, value)
    if value == current:
        return
    try:
        with transaction.atomic():
            governed_field_change(
                instance=subject,
                field="priority",
                new_value=value,
                user=None,
                reason_code=reason_code_get(RULE_REASON_CODE),
                reason_text=_("Set by decision rule “%(rule)s”.") % {"rule": rule.name},
                payload={"rule": rule.name},
                check_permission=False,
            )
    except ValidationFailed as exc:  # e.g. a state that no longer allows the change
        logger.info("rule %s: priority not changed: %s", rule.pk, exc.message)


def rule_effect_apply(
    *,
    rule: DecisionRule,
    subject: models.Model | None,
    context: dict[str, Any],
    event: Event | None,
) -> None:
    """Apply one fired rule's effect. Block and require-approval act only at check points
    (engine.decision_check returns them to the calling service)."""
    Effect = DecisionRule.Effect  # noqa: N806
    if rule.effect == Effect.RAISE_EXCEPTION:
        exception, _created = exception_raise(
            rule=rule, subject=subject, context=context, event=event
        )
        if rule.task_instructions or rule.task_checklist:
            task_create(rule=rule, subject=subject, context=context, exception=exception)
    elif rule.effect == Effect.CREATE_TASK:
        task_create(rule=rule, subject=subject, context=context)
    elif rule.effect in {Effect.SET_PRIORITY, Effect.BUMP_PRIORITY}:
        _rule_priority_change(rule=rule, subject=subject, bump=rule.effect == Effect.BUMP_PRIORITY)
    elif rule.effect in EFFECT_HANDLERS:
        EFFECT_HANDLERS[rule.effect](rule=rule, subject=subject, context=context, event=event)
    else:
        logger.info("rule %s: no handler for effect %s", rule.pk, rule.effect)


# Effects other apps carry out (planning: make work orders); effect name -> handler.
EFFECT_HANDLERS: dict[str, Callable[..., None]] = {}


def register_effect_handler(effect: str, handler: Callable[..., None]) -> None:
    EFFECT_HANDLERS[effect] = handler


# --- working exceptions --------------------------------------------------------------


def exception_acknowledge(*, exception: PlantException, user: Any) -> PlantException:
    return transition_run(
        instance=exception,
        transition="acknowledge",
        user=user,
        by=user,
        event_type=None,
    )


def exception_start(*, exception: PlantException, user: Any) -> PlantException:
    return transition_run(instance=exception, transition="start", user=user, by=user)


def exception_assign(*, exception: PlantException, user: Any, assignee: Any) -> PlantException:
    if not user.has_perm("exceptions.work_plantexception"):
        from mes.core.errors import NotPermitted

        raise NotPermitted(_("You are not allowed to assign exceptions."))
    with transaction.atomic():
        locked = PlantException.objects.select_for_update().get(pk=exception.pk)
        if locked.state == ExceptionState.RESOLVED:
            raise Conflict(_("%(number)s is resolved.") % {"number": locked.number})
        locked.assignee = assignee
        locked.save(update_fields=["assignee"])
    return locked


def exception_resolve(
    *, exception: PlantException, user: Any, resolution_code: Any, note: str
) -> PlantException:
    """Resolve with a resolution code and a note; the dedup slot opens for a new one."""
    errors: dict[str, list[str]] = {}
    try:
        code = reason_code_get(resolution_code)
    except ValidationFailed:
        errors["resolution_code"] = [_("Choose a resolution code.")]
        code = None
    if not (note or "").strip():
        errors["note"] = [_("Say what was done.")]
    if errors:
        raise ValidationFailed(_("The resolution is not complete."), errors=errors)
    with transaction.atomic():
        PlantException.objects.filter(pk=exception.pk).update(
            resolution_code=code, resolution_note=note.strip()
        )
        resolved = transition_run(
            instance=exception,
            transition="resolve",
            user=user,
            reason_code=code,
            comment=note.strip(),
        )
        event_emit(
            type="exception.resolved",
            subject=resolved,
            payload={"number": resolved.number, "resolution_code": code.code, "note": note.strip()},
            actor=user,
        )
    return resolved


def _slot_of(exception: PlantException) -> str | None:
    """The rule-and-subject key the exception held while unresolved (as exception_raise
    built it); none for an exception without a rule."""
    if exception.rule_id is None:
        return None
    if exception.content_type_id is None:
        digest = hashlib.sha256(exception.title.encode()).hexdigest()[:24]
        return f"exception:{exception.rule_id}:-:{digest}"
    ct = exception.content_type
    return f"exception:{exception.rule_id}:{ct.app_label}.{ct.model}:{exception.object_id}"


def exception_reopen(*, exception: PlantException, actor: Any, reason: str) -> PlantException:
    """Reopen a resolved exception whose resolution did not hold (the shortage came back,
    the fix failed). It takes its rule-and-subject slot back, so later repeats count on
    it; refused while another unresolved exception holds that slot (work on that one)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the exception is reopened."), field="reason")
    slot = _slot_of(exception)

    def refuse_if_taken() -> None:
        holder = PlantException.objects.filter(dedup_key=slot).exclude(pk=exception.pk).first()
        if holder is not None:
            raise Conflict(
                _(
                    "%(number)s cannot be reopened: %(other)s is open for the same rule and "
                    "subject. Work on %(other)s instead."
                )
                % {"number": exception.number, "other": holder.number},
                code="slot_taken",
            )

    with transaction.atomic():
        if slot is not None and exception.state == ExceptionState.RESOLVED:
            refuse_if_taken()
        previous = exception.resolution_code.code if exception.resolution_code_id else None
        try:
            with transaction.atomic():
                reopened = transition_run(
                    instance=exception,
                    transition="reopen",
                    user=actor,
                    comment=reason,
                    dedup_key=slot,
                )
        except IntegrityError:
            # Raised for the same rule and subject a moment ago.
            refuse_if_taken()
            raise
        event_emit(
            type="exception.reopened",
            subject=reopened,
            payload={
                "number": reopened.number,
                "reason": reason,
                "previous_resolution": previous,
            },
            actor=actor,
        )
        notify_role(
            role=reopened.owner_role,
            message=_("Reopened: %(number)s %(title)s")
            % {"number": reopened.number, "title": reopened.title},
            exception=reopened,
        )
    return reopened


def exceptions_escalate_due(*, now: dt.datetime | None = None) -> int:
    """Escalate every unacknowledged exception whose next step is due: once per step."""
    now = now or timezone.now()
    unacknowledged = PlantException.objects.filter(
        state__in=[ExceptionState.OPEN, ExceptionState.ESCALATED]
    )
    # Only what can have something due: an SLA just passed, or a policy once it has.
    sla_passed = Q(sla_due_at__lte=now)
    candidates = unacknowledged.filter(
        (sla_passed & Q(sla_breached_at__isnull=True))
        | (Q(escalation_policy__isnull=False) & (sla_passed | Q(sla_due_at__isnull=True)))
    ).values_list("pk", flat=True)
    return sum(_escalate_one(exception_id=pk, now=now) for pk in candidates)


def _escalate_one(*, exception_id: int, now: dt.datetime) -> int:
    with transaction.atomic():
        exc = (
            # of=self: Postgres refuses FOR UPDATE on the nullable side of an outer join.
            PlantException.objects.select_for_update(of=("self",))
            .select_related("escalation_policy", "owner_role")
            .filter(pk=exception_id, state__in=[ExceptionState.OPEN, ExceptionState.ESCALATED])
            .first()
        )
        if exc is None:
            return 0
        steps = (
            list(exc.escalation_policy.steps.select_related("role").order_by("position"))
            if exc.escalation_policy_id
            else []
        )
        done = 0
        if exc.sla_due_at and exc.sla_due_at <= now and exc.sla_breached_at is None:
            PlantException.objects.filter(pk=exc.pk).update(sla_breached_at=now)
            exc.sla_breached_at = now
            step_role = (
                steps[exc.escalation_level].role if exc.escalation_level < len(steps) else None
            )
            event_emit(
                type="exception.sla_breached",
                subject=exc,
                payload={
                    "number": exc.number,
                    "severity": exc.severity,
                    "owner_role": exc.owner_role.name if exc.owner_role else None,
                    "escalated_to": step_role.name if step_role else None,
                },
            )
            done += 1
        # Steps count from the raise, but none runs while the SLA still holds.
        if not steps or (exc.sla_due_at and exc.sla_due_at > now):
            return done
        while exc.escalation_level < len(steps):
            step = steps[exc.escalation_level]
            if exc.first_seen_at + dt.timedelta(minutes=step.after_minutes) > now:
                break
            exc = transition_run(
                instance=exc,
                transition="escalate",
                user=None,
                comment=_("Escalated to %(role)s after %(minutes)s min unacknowledged.")
                % {"role": step.role.name, "minutes": step.after_minutes},
            )
            notify_role(
                role=step.role,
                message=_("Escalated: %(number)s %(title)s")
                % {"number": exc.number, "title": exc.title},
                exception=exc,
            )
            done += 1
        return done


# --- tasks -------------------------------------------------------------------------------


def task_update(
    *, task: Task, user: Any, checked: list[int] | None = None, inputs: dict[str, str] | None = None
) -> Task:
    """Tick checklist items (by index) and fill required inputs."""
    if not user.has_perm("exceptions.work_task"):
        from mes.core.errors import NotPermitted

        raise NotPermitted(_("You are not allowed to work on tasks."))
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        if locked.state not in {TaskState.OPEN, TaskState.IN_PROGRESS}:
            raise Conflict(_("%(number)s is closed.") % {"number": locked.number})
        if checked is not None:
            bad = [i for i in checked if not 0 <= i < len(locked.checklist)]
            if bad:
                raise ValidationFailed(_("Unknown checklist item."), field="checklist")
            locked.checklist = [
                {**item, "done": index in set(checked)}
                for index, item in enumerate(locked.checklist)
            ]
        if inputs is not None:
            names = {item["name"] for item in locked.required_inputs}
            unknown = sorted(set(inputs) - names)
            if unknown:
                raise ValidationFailed(
                    _("Unknown input(s): %(names)s.") % {"names": ", ".join(unknown)},
                    field="inputs",
                )
            locked.required_inputs = [
                {**item, "value": str(inputs.get(item["name"], item.get("value", ""))).strip()}
                for item in locked.required_inputs
            ]
        locked.save(update_fields=["checklist", "required_inputs"])
    return locked


def task_transition(*, task: Task, user: Any, transition: str, comment: str = "") -> Task:
    if transition not in {"start", "complete", "cancel"}:
        raise DomainError(_("Unknown action '%(action)s'.") % {"action": transition})
    if transition == "cancel" and not comment.strip():
        raise ValidationFailed(_("Say why the task is cancelled."), field="comment")
    kwargs = {"by": user} if transition == "start" else {}
    return transition_run(
        instance=task, transition=transition, user=user, comment=comment.strip(), **kwargs
    )
