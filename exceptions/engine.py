"""The rule engine: which fields a decision point offers, evaluating an event's rules in
the worker, and evaluating a check point's rules synchronously for a service."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from mes.core.events import EVENT_TYPES, register_event_handler
from mes.core.models import Event

from .caching import rules_cache
from .conditions import ConditionError, condition_evaluate
from .models import CHECK_POINTS, DecisionRule, RuleError
from .subjects import SUBJECTS, subject_queryset, subject_snapshot, subject_spec_for_label

logger = logging.getLogger(__name__)

# The documented fields at each check point, beyond its subject's snapshot. Apps add to
# these as they land (planning: release, shipping: shipment_handover).
CHECK_POINT_FIELDS: dict[str, dict[str, Any]] = {
    # The release check point's contract with planning (which supplies these values).
    "release": {
        "work_order": {"number": "string", "item": "string", "quantity": "number"},
        "material_short": "boolean",
        "kit_staged": "boolean",
        "quality_hold": "boolean",
    },
    "priority": {},
    "change_request": {
        "change": {
            "kind": "string",
            "old_quantity": "number",
            "new_quantity": "number",
            "quantity_delta": "number",
            "new_date_days": "integer",
        }
    },
    # The handover check point's contract with shipping.
    "shipment_handover": {
        "shipment": {"number": "string", "documents_complete": "boolean"},
        "quality_hold": "boolean",
    },
}
CHECK_POINT_SUBJECTS: dict[str, str] = {
    "release": "orders.salesorder",
    "priority": "orders.salesorder",
    "change_request": "orders.changerequest",
    "shipment_handover": "orders.salesorder",
}
EVENT_FIELDS = {"event": {"type": "string", "occurred_at": "datetime"}}


def register_check_point_fields(point: str, fields: dict[str, Any], subject: str = "") -> None:
    CHECK_POINT_FIELDS.setdefault(point, {}).update(fields)
    if subject:
        CHECK_POINT_SUBJECTS[point] = subject


def decision_points() -> list[str]:
    return sorted(EVENT_TYPES) + CHECK_POINTS


def decision_point_fields(point: str) -> dict[str, Any]:
    """The names a condition at `point` may use (nested for subjects)."""
    fields: dict[str, Any] = {}
    if point in CHECK_POINTS:
        spec = subject_spec_for_label(CHECK_POINT_SUBJECTS.get(point, ""))
        if spec:
            fields[spec.name] = dict(spec.fields)
        fields.update(CHECK_POINT_FIELDS.get(point, {}))
        return fields
    event_type = EVENT_TYPES.get(point)
    if event_type is None:
        raise KeyError(point)
    for name, kind in event_type.schema.items():
        fields[name] = kind.rstrip("?")
    for name in event_type.payload_fields:
        fields.setdefault(name, "any")
    spec = subject_spec_for_label(event_type.subject)
    if spec:
        fields[spec.name] = dict(spec.fields)
    fields.update(EVENT_FIELDS)
    return fields


def event_subject(event: Event) -> models.Model | None:
    if event.content_type_id is None or event.object_id is None:
        return None
    model = ContentType.objects.get_for_id(event.content_type_id).model_class()
    if model is None:
        return None
    return subject_queryset(model).filter(pk=event.object_id).first()


def event_context(event: Event, subject: models.Model | None = None) -> dict[str, Any]:
    """The names a condition sees for an event: payload, subject snapshot, the event."""
    event_type = EVENT_TYPES.get(event.type)
    context: dict[str, Any] = {}
    if event_type is not None:
        for name in event_type.schema:
            context[name] = None  # optional fields a payload left out are None
        for name in event_type.payload_fields:
            context.setdefault(name, None)
    context.update(event.payload or {})
    context.update(subject_snapshot(subject))
    context["event"] = {"type": event.type, "occurred_at": event.occurred_at.isoformat()}
    return context


# A placeholder names a field, dotted for a subject's: {item}, {order.customer.name}.
PLACEHOLDER_NAME = r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*"
_PLACEHOLDER = re.compile(r"\{(" + PLACEHOLDER_NAME + r")\}")


def render_template(template: str, context: dict[str, Any]) -> str:
    """'{order.number} short of {item}' with values from the context; unknown -> '?'."""

    def value(match: re.Match[str]) -> str:
        current: Any = context
        for part in match.group(1).split("."):
            if not isinstance(current, dict) or part not in current:
                return "?"
            current = current[part]
        return "?" if current is None else str(current)

    return _PLACEHOLDER.sub(value, template or "")


def rules_for(point: str) -> list[DecisionRule]:
    """The active rules at a decision point, in order (cached briefly per process)."""
    return rules_cache.get(
        point,
        lambda: list(
            DecisionRule.objects.filter(decision_point=point, active=True)
            .select_related("owner_role", "approval_role", "escalation_policy")
            .order_by("order", "id")
        ),
    )


def matching_rules(
    rules: list[DecisionRule],
    context: dict[str, Any],
    *,
    event_id: int | None = None,
    record_errors: bool = True,
) -> list[DecisionRule]:
    """The rules whose condition holds, in order, honouring "stop after this rule". A rule
    that fails is recorded and skipped; the others still run."""
    fired = []
    for rule in rules:
        try:
            holds = condition_evaluate(expression=rule.condition, context=context)
        except ConditionError as exc:
            logger.warning("rule %s failed on event %s: %s", rule.pk, event_id, exc)
            if record_errors:
                RuleError.objects.create(rule=rule, event_id=event_id, message=str(exc)[:2000])
            continue
        if holds:
            fired.append(rule)
            if rule.stop_after:
                break
    return fired


@register_event_handler
def evaluate_event(event: Event) -> None:
    """Run the event's rules and apply their effects (in the worker's transaction)."""
    rules = rules_for(event.type)
    if not rules:
        return
    from . import services

    subject = event_subject(event)
    context = event_context(event, subject)
    for rule in matching_rules(rules, context, event_id=event.pk):
        services.rule_effect_apply(rule=rule, subject=subject, context=context, event=event)


@dataclass
class CheckOutcome:
    """What a check point's rules say: the blocks (with messages) and approvals needed."""

    blocks: list[tuple[DecisionRule, str]] = field(default_factory=list)
    approvals: list[tuple[DecisionRule, Any, str]] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return bool(self.blocks)

    @property
    def needs_approval(self) -> bool:
        return bool(self.approvals)


def decision_check(
    *, point: str, subject: models.Model | None, extra: dict[str, Any] | None = None
) -> CheckOutcome:
    """Evaluate a check point now (release, priority, change_request, shipment_handover)."""
    if point not in CHECK_POINTS:
        raise ValueError(f"unknown check point {point!r}")
    outcome = CheckOutcome()
    rules = rules_for(point)
    if not rules:
        return outcome
    context = {**subject_snapshot(subject), **(extra or {})}
    for rule in matching_rules(rules, context):
        message = render_template(rule.message or rule.name, context)
        if rule.effect == DecisionRule.Effect.BLOCK:
            outcome.blocks.append((rule, message))
        elif rule.effect == DecisionRule.Effect.REQUIRE_APPROVAL:
            outcome.approvals.append((rule, rule.approval_role, message))
        else:
            from . import services

            services.rule_effect_apply(rule=rule, subject=subject, context=context, event=None)
    return outcome


__all__ = ["SUBJECTS", "decision_check", "decision_point_fields", "evaluate_event"]
