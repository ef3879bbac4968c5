"""Editing decision rules: validation against the decision point, audited saves (every
edit keeps the replaced version: who, when, why and all its values), roll-back, and the
dry run that replays a condition over past events without writing anything."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.core.errors import Conflict, ValidationFailed
from mes.core.events import EVENT_TYPES
from mes.core.models import Event

from . import engine
from .conditions import ConditionError, condition_check, condition_evaluate, field_path_problem
from .models import CHECK_POINTS, DecisionRule, DecisionRuleVersion, EscalationPolicy
from .subjects import subject_snapshot

Effect = DecisionRule.Effect

# Everything an admin can edit on a rule; a version snapshot holds all of them.
EDITABLE_FIELDS = [
    "name",
    "decision_point",
    "condition",
    "effect",
    "order",
    "active",
    "stop_after",
    "title_template",
    "severity",
    "owner_role",
    "sla_minutes",
    "escalation_policy",
    "message",
    "approval_role",
    "priority_value",
    "task_instructions",
    "task_checklist",
    "task_required_inputs",
    "task_due_minutes",
]
# Foreign keys are kept by name in snapshots (names survive a database copy; ids may not).
FK_MODELS: dict[str, type[Group] | type[EscalationPolicy]] = {
    "owner_role": Group,
    "approval_role": Group,
    "escalation_policy": EscalationPolicy,
}
TEMPLATE_FIELDS = ["title_template", "task_instructions", "message"]
DRY_RUN_DEFAULT_DAYS = 7
DRY_RUN_MAX_EVENTS = 20_000
DRY_RUN_SAMPLES = 10

_BRACES = re.compile(r"\{([^{}]*)\}")
_PLACEHOLDER_NAME = re.compile(rf"^{engine.PLACEHOLDER_NAME}$")


# --- validation ----------------------------------------------------------------------


def _template_problem(template: str, fields: dict[str, Any]) -> str | None:
    for match in _BRACES.finditer(template or ""):
        name = match.group(1).strip()
        if not _PLACEHOLDER_NAME.match(name):
            return _("'{%(name)s}' is not a placeholder: use {name} or {name.field}.") % {
                "name": match.group(1)
            }
        problem = field_path_problem(fields, name.split("."))
        if problem:
            return problem
    return None


def rule_problems(data: dict[str, Any]) -> dict[str, str]:
    """What is wrong with a rule's values, by field (empty when it may be saved). `data`
    holds the editable fields; foreign keys as model instances (or None)."""
    problems: dict[str, str] = {}
    point = data.get("decision_point") or ""
    if point not in engine.decision_points():
        problems["decision_point"] = _("Choose an event type or a check point.")
        return problems
    fields = engine.decision_point_fields(point)
    try:
        condition_check(expression=data.get("condition") or "", fields=fields)
    except ConditionError as exc:
        problems["condition"] = str(exc)
    effect = data.get("effect")
    at_check_point = point in CHECK_POINTS
    if effect in {Effect.BLOCK, Effect.REQUIRE_APPROVAL} and not at_check_point:
        problems["effect"] = _(
            "Block and require approval work only at a check point (%(points)s)."
        ) % {"points": ", ".join(CHECK_POINTS)}
    if effect in {Effect.RAISE_EXCEPTION, Effect.CREATE_TASK}:
        if not (data.get("title_template") or "").strip():
            problems["title_template"] = _("An exception or a task needs a title.")
        if not data.get("owner_role"):
            problems["owner_role"] = _("An exception or a task needs an owner role.")
    if effect in {Effect.SET_PRIORITY, Effect.BUMP_PRIORITY} and data.get("priority_value") is None:
        problems["priority_value"] = _("Say which priority to set, or by how much to bump.")
    if effect == Effect.REQUIRE_APPROVAL and not data.get("approval_role"):
        problems["approval_role"] = _("Say which role approves.")
    for name in TEMPLATE_FIELDS:
        problem = _template_problem(data.get(name) or "", fields)
        if problem and name not in problems:
            problems[name] = problem
    for name in ("task_checklist", "task_required_inputs"):
        value = data.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, list) or not all(
            isinstance(item, str) and item.strip() for item in value
        ):
            problems[name] = _('A list of texts, e.g. ["Customer called", "New date agreed"].')
    return problems


# --- snapshots -----------------------------------------------------------------------


def rule_snapshot(rule: DecisionRule) -> dict[str, Any]:
    """All editable values of a rule, JSON-ready, foreign keys by name."""
    snapshot: dict[str, Any] = {}
    for name in EDITABLE_FIELDS:
        if name in FK_MODELS:
            related = getattr(rule, name)
            snapshot[name] = related.name if related is not None else None
        else:
            snapshot[name] = getattr(rule, name)
    return snapshot


def _snapshot_values(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A snapshot back to field values (foreign keys looked up by name)."""
    values: dict[str, Any] = {}
    missing: dict[str, list[str]] = {}
    for name in EDITABLE_FIELDS:
        if name not in snapshot:
            continue
        value = snapshot[name]
        if name in FK_MODELS and value is not None:
            related = FK_MODELS[name]._default_manager.filter(name=value).first()
            if related is None:
                missing[name] = [_("'%(name)s' no longer exists.") % {"name": value}]
            value = related
        values[name] = value
    if missing:
        raise ValidationFailed(_("The version refers to records that are gone."), errors=missing)
    return values


def rule_version_changes(*, kept: DecisionRuleVersion) -> list[tuple[str, str, str]]:
    """What the edit after `kept` changed: (field, kept value, next value), as text."""
    following = (
        DecisionRuleVersion.objects.filter(rule_id=kept.rule_id, version=kept.version + 1)
        .values_list("snapshot", flat=True)
        .first()
    )
    if following is None:
        following = rule_snapshot(
            DecisionRule.objects.select_related(
                "owner_role", "approval_role", "escalation_policy"
            ).get(pk=kept.rule_id)
        )
    return [
        (name, _as_text(kept.snapshot.get(name)), _as_text(following.get(name)))
        for name in EDITABLE_FIELDS
        if kept.snapshot.get(name) != following.get(name)
    ]


def _as_text(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value)


# --- saving --------------------------------------------------------------------------


def _validated(values: dict[str, Any]) -> None:
    problems = rule_problems(values)
    if problems:
        raise ValidationFailed(
            _("The rule cannot be saved."),
            errors={name: [message] for name, message in problems.items()},
        )


def _reason_required(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Say why the rule changes."), errors={"reason": [_("Say why the rule changes.")]}
        )
    return reason


def rule_create(*, data: dict[str, Any], user: Any) -> DecisionRule:
    """A new rule at version 1 (its creation is in the admin log; edits are versioned)."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    _validated({**rule_snapshot(DecisionRule()), **data})
    return DecisionRule.objects.create(**data, version=1)


def rule_save(
    *,
    rule: DecisionRule,
    changes: dict[str, Any],
    user: Any,
    reason: str,
    expected_version: int | None = None,
) -> DecisionRule:
    """Apply `changes` (editable fields; foreign keys as instances) as a new version.

    The replaced version is kept as a DecisionRuleVersion: its number and all its values,
    with who replaced it, when and why. Nothing changes when the values are the same.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    reason = _reason_required(reason)
    with transaction.atomic():
        locked = (
            DecisionRule.objects.select_for_update(of=("self",))
            .select_related("owner_role", "approval_role", "escalation_policy")
            .get(pk=rule.pk)
        )
        if expected_version is not None and locked.version != expected_version:
            raise Conflict(
                _(
                    "Someone saved version %(version)d of this rule meanwhile: reload it "
                    "and make your change again."
                )
                % {"version": locked.version}
            )
        previous = rule_snapshot(locked)
        for name, value in changes.items():
            setattr(locked, name, value)
        current = rule_snapshot(locked)
        if current == previous:
            return locked
        _validated({name: getattr(locked, name) for name in EDITABLE_FIELDS})
        DecisionRuleVersion.objects.create(
            rule=locked,
            version=locked.version,
            snapshot=previous,
            changed_by=user if getattr(user, "pk", None) else None,
            reason=reason,
        )
        locked.version += 1
        locked.save()
    return locked


def rule_rollback(*, rule: DecisionRule, version: int, user: Any, reason: str) -> DecisionRule:
    """Restore the values of an earlier version, as a new version (history stays whole)."""
    kept = DecisionRuleVersion.objects.filter(rule=rule, version=version).first()
    if kept is None:
        raise ValidationFailed(
            _("Version %(version)d of this rule is not kept.") % {"version": version},
            field="version",
        )
    return rule_save(
        rule=rule,
        changes=_snapshot_values(kept.snapshot),
        user=user,
        reason=reason,
    )


# --- dry run -------------------------------------------------------------------------


@dataclass
class DryRunReport:
    """How often a condition would have fired on the events of the last `days` days."""

    point: str
    condition: str
    days: int
    events_considered: int = 0
    fired_count: int = 0
    subjects: list[tuple[str, int]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    truncated: bool = False


def rule_dry_run(
    *, point: str, condition: str, days: int = DRY_RUN_DEFAULT_DAYS, now: dt.datetime | None = None
) -> DryRunReport:
    """Evaluate `condition` against the `point` events of the last `days` days. Reads
    only: the condition is evaluated directly (errors are counted, not recorded) and the
    whole run sits in a transaction that is rolled back."""
    if point in CHECK_POINTS:
        raise ValidationFailed(
            _(
                "A dry run needs events: '%(point)s' is a check point, evaluated when a "
                "user acts, so there is nothing to replay."
            )
            % {"point": point},
            field="decision_point",
        )
    if point not in EVENT_TYPES:
        raise ValidationFailed(_("Choose an event type."), field="decision_point")
    if days < 1:
        raise ValidationFailed(_("At least one day."), field="days")
    try:
        condition_check(expression=condition, fields=engine.decision_point_fields(point))
    except ConditionError as exc:
        raise ValidationFailed(str(exc), field="condition") from exc
    since = (now or timezone.now()) - dt.timedelta(days=days)
    report = DryRunReport(point=point, condition=condition, days=days)
    subjects: Counter[str] = Counter()
    snapshot_cache: dict[tuple[int | None, int | None], tuple[dict[str, Any], str]] = {}
    with transaction.atomic():
        events = Event.objects.filter(type=point, occurred_at__gte=since).order_by(
            "occurred_at", "id"
        )
        for event in events[: DRY_RUN_MAX_EVENTS + 1].iterator(chunk_size=500):
            if report.events_considered == DRY_RUN_MAX_EVENTS:
                report.truncated = True
                break
            report.events_considered += 1
            key = (event.content_type_id, event.object_id)
            if key not in snapshot_cache:
                # Each subject is read once (as it is now), not once per event.
                subject = engine.event_subject(event)
                label = str(subject) if subject is not None else event.subject_repr
                snapshot_cache[key] = (subject_snapshot(subject), label or _("(no subject)"))
            snapshot, label = snapshot_cache[key]
            # engine.event_context(event, subject), with the subject's snapshot cached.
            context = engine.event_context(event, None)
            context = {**context, **snapshot, "event": context["event"]}
            try:
                fired = condition_evaluate(expression=condition, context=context)
            except ConditionError as exc:
                report.errors += 1
                report.first_error = report.first_error or str(exc)
                continue
            if not fired:
                continue
            report.fired_count += 1
            subjects[label] += 1
            if len(report.samples) < DRY_RUN_SAMPLES:
                report.samples.append(
                    {
                        "event_id": event.pk,
                        "occurred_at": event.occurred_at,
                        "subject": label,
                        "payload": event.payload,
                    }
                )
        transaction.set_rollback(True)
    report.subjects = sorted(subjects.items(), key=lambda item: (-item[1], item[0]))
    return report
