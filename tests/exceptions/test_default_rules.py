"""The default rule set (migration 0002) fires on its event and not on a near miss."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group

from exceptions.engine import decision_check
from exceptions.models import (
    DecisionRule,
    EscalationPolicy,
    ExceptionEvent,
    Notification,
    PlantException,
    Task,
)
from mes.core.events import event_emit
from mes.core.models import Event
from orders.models import ChangeRequest, OrderState

from ..factories import CustomerFactory, make_order

pytestmark = pytest.mark.django_db

RELEASE_WORK_ORDER = {"number": "WO-000001", "item": "PI-00001", "quantity": 10}


def _emit(capture: Any, type_: str, subject: Any, payload: dict[str, Any]) -> Event:
    """Emit through the one service and run what the commit triggers (Celery is eager)."""
    with capture(execute=True):
        event = event_emit(type=type_, subject=subject, payload=payload)
    event.refresh_from_db()
    return event


def _raised_events(exception: PlantException) -> list[dict[str, Any]]:
    return list(
        Event.objects.filter(type="exception.raised", object_id=exception.pk).values_list(
            "payload", flat=True
        )
    )


def _counts() -> tuple[int, int, int, int]:
    return (
        PlantException.objects.count(),
        Task.objects.count(),
        Notification.objects.count(),
        Event.objects.filter(type="exception.raised").count(),
    )


# --- material.shortage ---------------------------------------------------------------


def test_material_shortage_at_release_raises_to_planner(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: a confirmed order and the default rule
    order = make_order(state=OrderState.CONFIRMED)
    rule = DecisionRule.objects.get(name="Material shortage at release: raise to Planner")

    # when: a shortage at release is reported for it
    event = _emit(
        django_capture_on_commit_callbacks,
        "material.shortage",
        order,
        {"item": "PI-00042", "missing_quantity": 7, "demand": order.number, "at_release": True},
    )

    # then: one exception to Planner with the title, severity, SLA, rule and event
    exc = PlantException.objects.get()
    assert (exc.title, exc.severity, exc.owner_role.name, exc.rule, exc.state) == (
        f"Material PI-00042 short by 7 for {order.number}",
        "high",
        "Planner",
        rule,
        "open",
    )
    assert (exc.content_type.model, exc.object_id, exc.subject_repr) == (
        "salesorder",
        order.pk,
        str(order),
    )
    assert exc.escalation_policy == EscalationPolicy.objects.get(name="Planner, then Admin")
    assert exc.sla_due_at == exc.last_seen_at + dt.timedelta(minutes=60)
    assert (exc.occurrences, exc.number) == (1, f"EX-{exc.pk:06d}")
    assert list(ExceptionEvent.objects.values_list("exception", "event_id", "event_type")) == [
        (exc.pk, event.pk, "material.shortage")
    ]
    assert event.processed_at is not None
    assert _raised_events(exc) == [
        {
            "number": exc.number,
            "title": exc.title,
            "severity": "high",
            "owner_role": "Planner",
            "rule": rule.name,
        }
    ]
    assert list(Notification.objects.values_list("role__name", "exception", "message")) == [
        ("Planner", exc.pk, f"{exc.number} (High): {exc.title}")
    ]
    assert Task.objects.count() == 0


def test_material_shortage_not_at_release_raises_nothing(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    order = make_order(state=OrderState.CONFIRMED)

    # when: the near miss: the shortage is not at release
    event = _emit(
        django_capture_on_commit_callbacks,
        "material.shortage",
        order,
        {"item": "PI-00042", "missing_quantity": 7, "at_release": False},
    )

    # then: processed, nothing raised
    assert event.processed_at is not None
    assert _counts() == (0, 0, 0, 0)


# --- workcenter.down ----------------------------------------------------------------


def test_workcenter_down_over_15_minutes_raises_to_floor_lead_with_escalation(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    rule = DecisionRule.objects.get(decision_point="workcenter.down")

    # when: a machine gateway reports a work center down for 20 minutes (no subject row)
    event = _emit(
        django_capture_on_commit_callbacks,
        "workcenter.down",
        None,
        {"work_center": "CNC-2", "reason": "spindle breakdown", "down_minutes": 20},
    )

    # then
    exc = PlantException.objects.get()
    assert (exc.title, exc.severity, exc.owner_role.name, exc.rule, exc.object_id) == (
        "Work center CNC-2 down: spindle breakdown",
        "high",
        "Floor lead",
        rule,
        None,
    )
    assert exc.escalation_policy.name == "Floor lead, then Planner"
    assert [
        (s.position, s.role.name, s.after_minutes) for s in exc.escalation_policy.steps.all()
    ] == [
        (1, "Floor lead", 0),
        (2, "Planner", 30),
    ]
    assert exc.sla_due_at == exc.last_seen_at + dt.timedelta(minutes=15)
    assert list(exc.events.values_list("event_id", flat=True)) == [event.pk]
    assert len(_raised_events(exc)) == 1
    assert list(Notification.objects.values_list("role__name", "exception")) == [
        ("Floor lead", exc.pk)
    ]


def test_workcenter_down_for_10_minutes_raises_nothing(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # when
    event = _emit(
        django_capture_on_commit_callbacks,
        "workcenter.down",
        None,
        {"work_center": "CNC-2", "reason": "tool change", "down_minutes": 10},
    )

    # then
    assert event.processed_at is not None
    assert _counts() == (0, 0, 0, 0)


def test_two_work_centers_down_are_two_exceptions(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: events without a subject row, about different work centers
    payloads = [
        {"work_center": "CNC-1", "reason": "breakdown", "down_minutes": 20},
        {"work_center": "CNC-2", "reason": "breakdown", "down_minutes": 25},
    ]

    # when
    for payload in payloads:
        _emit(django_capture_on_commit_callbacks, "workcenter.down", None, payload)

    # then: one exception each, not one for all work centers
    assert sorted(PlantException.objects.values_list("title", "occurrences")) == [
        ("Work center CNC-1 down: breakdown", 1),
        ("Work center CNC-2 down: breakdown", 1),
    ]


# --- order.promise_at_risk ------------------------------------------------------------


def test_promise_at_risk_raises_to_planner_and_creates_the_inform_the_customer_task(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    customer = CustomerFactory(name="Alpenblick GmbH")
    order = make_order(state=OrderState.CONFIRMED, customer=customer)
    rule = DecisionRule.objects.get(decision_point="order.promise_at_risk")

    # when
    event = _emit(
        django_capture_on_commit_callbacks,
        "order.promise_at_risk",
        order,
        {"promise_date": "2026-03-02", "expected_date": "2026-03-06", "days_late": 4},
    )

    # then: the exception
    exc = PlantException.objects.get()
    assert (exc.title, exc.severity, exc.owner_role.name, exc.rule, exc.object_id) == (
        f"Promise date 2026-03-02 of {order.number} at risk",
        "medium",
        "Planner",
        rule,
        order.pk,
    )
    assert exc.sla_due_at == exc.last_seen_at + dt.timedelta(minutes=240)
    assert list(exc.events.values_list("event_id", flat=True)) == [event.pk]
    assert len(_raised_events(exc)) == 1
    assert list(Notification.objects.values_list("role__name", "exception")) == [
        ("Planner", exc.pk)
    ]
    # and the task, linked to the exception and the order, with what "done" means
    task = Task.objects.get()
    assert (task.title, task.exception, task.rule, task.assigned_role.name, task.state) == (
        exc.title,
        exc,
        rule,
        "Planner",
        "open",
    )
    assert task.instructions == (
        f"Call or write to Alpenblick GmbH about {order.number}: the promise date "
        "2026-03-02 is at risk. Agree a new date and record it."
    )
    assert task.checklist == [
        {"text": "Customer informed", "done": False},
        {"text": "New date agreed", "done": False},
    ]
    assert task.required_inputs == [{"name": "new promise date", "value": ""}]
    assert (task.content_type.model, task.object_id) == ("salesorder", order.pk)
    assert task.number == f"T-{task.pk:06d}"
    due_in = task.due_at - task.created_at  # due_at is computed just before the insert
    assert dt.timedelta(minutes=240) - dt.timedelta(seconds=1) < due_in <= dt.timedelta(minutes=240)


# --- pick.mismatch --------------------------------------------------------------------


def test_pick_mismatch_raises_to_shipping(django_capture_on_commit_callbacks: Any) -> None:
    # given
    order = make_order(state=OrderState.IN_PRODUCTION)
    rule = DecisionRule.objects.get(name="Pick mismatch: raise to Shipping")

    # when
    event = _emit(
        django_capture_on_commit_callbacks,
        "pick.mismatch",
        order,
        {"expected": "PI-00001", "scanned": "PI-00009", "picker": "w.berger"},
    )

    # then
    exc = PlantException.objects.get()
    assert (exc.title, exc.severity, exc.owner_role.name, exc.rule, exc.object_id) == (
        "Mis-pick: PI-00009 scanned, PI-00001 expected",
        "medium",
        "Shipping",
        rule,
        order.pk,
    )
    assert exc.escalation_policy is None
    assert exc.sla_due_at == exc.last_seen_at + dt.timedelta(minutes=30)
    assert list(exc.events.values_list("event_id", flat=True)) == [event.pk]
    assert len(_raised_events(exc)) == 1
    assert list(Notification.objects.values_list("role__name", "exception")) == [
        ("Shipping", exc.pk)
    ]


def test_an_event_type_without_rules_raises_nothing(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    order = make_order(state=OrderState.CONFIRMED)

    # when: the near miss for every raising rule: an event no default rule listens to
    event = _emit(
        django_capture_on_commit_callbacks,
        "operation.late",
        order,
        {"operation": "OP-10", "late_minutes": 45},
    )

    # then
    assert event.processed_at is not None
    assert _counts() == (0, 0, 0, 0)


# --- check points -----------------------------------------------------------------------


def test_release_check_point_blocks_on_a_material_shortage() -> None:
    # when
    outcome = decision_check(
        point="release",
        subject=None,
        extra={
            "material_short": True,
            "quality_hold": False,
            "kit_staged": False,
            "work_order": RELEASE_WORK_ORDER,
        },
    )

    # then
    assert [(rule.name, message) for rule, message in outcome.blocks] == [
        (
            "Material shortage blocks release",
            "Components are short: release waits for material.",
        )
    ]
    assert (outcome.blocked, outcome.approvals) == (True, [])


def test_release_check_point_passes_when_material_is_there() -> None:
    # when
    outcome = decision_check(
        point="release",
        subject=None,
        extra={
            "material_short": False,
            "quality_hold": False,
            "kit_staged": True,
            "work_order": RELEASE_WORK_ORDER,
        },
    )

    # then
    assert (outcome.blocked, outcome.blocks, outcome.approvals) == (False, [], [])
    assert _counts() == (0, 0, 0, 0)


def test_quality_hold_blocks_release() -> None:
    # when
    outcome = decision_check(
        point="release",
        subject=None,
        extra={
            "material_short": False,
            "quality_hold": True,
            "kit_staged": True,
            "work_order": RELEASE_WORK_ORDER,
        },
    )

    # then
    assert [(rule.name, message) for rule, message in outcome.blocks] == [
        ("Quality hold blocks release", "A quality hold applies: release waits for Quality.")
    ]


def test_quality_hold_blocks_shipment_handover_and_no_hold_passes() -> None:
    # given
    order = make_order(state=OrderState.READY_TO_SHIP)
    shipment = {"number": "SH-000001", "documents_complete": True}

    # when
    held = decision_check(
        point="shipment_handover",
        subject=order,
        extra={"shipment": shipment, "quality_hold": True},
    )
    clear = decision_check(
        point="shipment_handover",
        subject=order,
        extra={"shipment": shipment, "quality_hold": False},
    )

    # then
    assert [(rule.name, message) for rule, message in held.blocks] == [
        (
            "Quality hold blocks shipment",
            "A quality hold applies: nothing ships until Quality releases it.",
        )
    ]
    assert (clear.blocks, clear.approvals) == ([], [])


def _change_request(order: Any, kind: str) -> ChangeRequest:
    line = order.lines.order_by("id").first()
    return ChangeRequest.objects.create(
        number=f"CR-T{kind}",
        order=order,
        line=line,
        kind=kind,
        new_quantity=Decimal(25) if kind == ChangeRequest.Kind.QUANTITY else None,
        new_date=line.requested_date + dt.timedelta(days=5)
        if kind == ChangeRequest.Kind.DATE
        else None,
        reason_code_id=_reason_code_id(),
        reason_text="customer asked",
        needs_approval=True,
    )


def _reason_code_id() -> int:
    from mes.core.models import ReasonCode

    return ReasonCode.objects.get(code="other").pk


def test_quantity_change_in_production_needs_planner_approval() -> None:
    # given
    order = make_order(state=OrderState.IN_PRODUCTION)
    cr = _change_request(order, ChangeRequest.Kind.QUANTITY)
    change = {
        "kind": "quantity",
        "old_quantity": 10.0,
        "new_quantity": 25.0,
        "quantity_delta": 15.0,
        "new_date_days": None,
    }

    # when
    outcome = decision_check(point="change_request", subject=cr, extra={"change": change})

    # then
    assert [(rule.name, role, message) for rule, role, message in outcome.approvals] == [
        (
            "Quantity change after release needs Planner approval",
            Group.objects.get(name="Planner"),
            "The order is in production: a planner must approve quantity changes.",
        )
    ]
    assert outcome.blocks == []


def test_date_change_in_production_needs_no_rule_approval() -> None:
    # given
    order = make_order(state=OrderState.IN_PRODUCTION)
    cr = _change_request(order, ChangeRequest.Kind.DATE)
    change = {
        "kind": "date",
        "old_quantity": None,
        "new_quantity": None,
        "quantity_delta": None,
        "new_date_days": 15,
    }

    # when
    outcome = decision_check(point="change_request", subject=cr, extra={"change": change})

    # then
    assert (outcome.approvals, outcome.blocks) == ([], [])


def test_quantity_change_before_production_needs_no_rule_approval() -> None:
    # given: the near miss on the subject: the order is confirmed, not in production
    order = make_order(state=OrderState.CONFIRMED)
    cr = _change_request(order, ChangeRequest.Kind.QUANTITY)
    change = {"kind": "quantity", "old_quantity": 10.0, "new_quantity": 25.0}

    # when
    outcome = decision_check(point="change_request", subject=cr, extra={"change": change})

    # then
    assert (outcome.approvals, outcome.blocks) == ([], [])


# --- material.delayed ----------------------------------------------------------------


def test_a_late_receipt_raises_to_planner_and_a_same_day_one_does_not(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from inventory.models import Item

    item = Item.objects.create(sku="RAW-9", name="Raw 9", source="buy")
    payload = {"item": "RAW-9", "delay_days": 0, "expected_date": "2026-11-20"}
    _emit(django_capture_on_commit_callbacks, "material.delayed", item, payload)
    assert not PlantException.objects.exists()
    _emit(
        django_capture_on_commit_callbacks,
        "material.delayed",
        item,
        {**payload, "delay_days": 3, "supplier": "Steelworks"},
    )
    exc = PlantException.objects.get()
    assert (exc.title, exc.owner_role.name, exc.severity) == (
        "RAW-9 late by 3 days (expected 2026-11-20)",
        "Planner",
        "medium",
    )


def test_a_kit_mispick_raises_to_warehouse_and_not_to_shipping(
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = make_order(state=OrderState.IN_PRODUCTION)
    _emit(
        django_capture_on_commit_callbacks,
        "pick.mismatch",
        order,
        {
            "expected": "PI-00001",
            "scanned": "PI-00009",
            "document_type": "kit",
            "document": "KIT-1",
        },
    )
    exc = PlantException.objects.get()
    assert (exc.owner_role.name, exc.rule.name) == (
        "Warehouse",
        "Kit mis-pick: raise to Warehouse",
    )
