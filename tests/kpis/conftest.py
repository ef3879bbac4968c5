"""A hand-built week of plant history (2-8 March 2026, plant time) with fixed timestamps:
records are created directly and their transition history written row by row, so each
indicator's right answer can be worked out by hand in the tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from exceptions.models import DecisionRule, PlantException
from inventory.models import ScanRefusal
from mes.core.models import FieldChange, ReasonCode, TransitionLog
from orders.models import ChangeRequest, SalesOrder, SalesOrderLine
from planning.models import (
    ChangeoverFamily,
    ChangeoverTime,
    Downtime,
    LabourEntry,
    Operation,
    OperationReport,
    WorkCenter,
    WorkOrder,
)
from shipping.models import Shipment, ShipmentLine
from tests.factories import CustomerFactory, ItemFactory, UserFactory

WEEK = (dt.date(2026, 3, 2), dt.date(2026, 3, 8))


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
    """A plant-local moment in March 2026."""
    return timezone.make_aware(dt.datetime(2026, month, day, hour, minute))


def log(record: models.Model, to_state: str, when: dt.datetime, transition: str = "") -> None:
    TransitionLog.objects.create(
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        object_repr=str(record)[:200],
        transition=transition or to_state,
        from_state="",
        to_state=to_state,
        at=when,
    )


def reason(code: str) -> ReasonCode:
    return ReasonCode.objects.get_or_create(code=code, defaults={"label": code})[0]


def field_change(
    record: models.Model, field: str, old: Any, new: Any, when: dt.datetime, actor: Any, why: str
) -> FieldChange:
    return FieldChange.objects.create(
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        object_repr=str(record),
        field=field,
        old_value=old,
        new_value=new,
        actor=actor,
        at=when,
        reason_code=reason(why),
        reason_text=why,
    )


def operation(
    wo: WorkOrder,
    seq: int,
    wc: WorkCenter,
    *,
    scheduled_start=None,
    scheduled_end=None,
    changeover=0,
    family=None,
) -> Operation:
    return Operation.objects.create(
        work_order=wo,
        sequence=seq,
        name=f"op {seq}",
        work_center=wc,
        quantity_planned=Decimal("10"),
        scheduled_start=scheduled_start,
        scheduled_end=scheduled_end,
        scheduled_changeover_minutes=changeover,
        changeover_family=family,
    )


@pytest.fixture
def history(db: Any) -> SimpleNamespace:
    h = SimpleNamespace()
    h.planner = UserFactory(username="kpi-planner")
    h.lead = UserFactory(username="kpi-lead")
    h.c1, h.c2 = CustomerFactory(code="C1"), CustomerFactory(code="C2")
    h.a, h.b = ItemFactory(sku="A"), ItemFactory(sku="B")
    # The saw is one machine, the mill two; changeovers default to 10 and 25 minutes.
    h.saw = WorkCenter.objects.create(code="SAW", name="Saw", default_changeover_minutes=10)
    h.mill = WorkCenter.objects.create(
        code="MILL", name="Mill", capacity=2, default_changeover_minutes=25
    )
    # Changeover families F1, F2; the saw's matrix has F1 -> F2 in 20 minutes only.
    h.f1 = ChangeoverFamily.objects.create(code="F1", name="Family 1")
    h.f2 = ChangeoverFamily.objects.create(code="F2", name="Family 2")
    ChangeoverTime.objects.create(work_center=h.saw, from_family=h.f1, to_family=h.f2, minutes=20)

    # Orders: SO1 (C1) confirmed 2 Mar 08:00, SO2 (C2) confirmed 2 Mar 12:00.
    h.so1 = SalesOrder.objects.create(number="SO1", customer=h.c1)
    h.so2 = SalesOrder.objects.create(number="SO2", customer=h.c2)
    h.so1l1 = SalesOrderLine.objects.create(
        order=h.so1,
        line_no=1,
        item=h.a,
        quantity=10,
        requested_date=WEEK[0],
        promise_date=dt.date(2026, 3, 5),
    )
    h.so1l2 = SalesOrderLine.objects.create(
        order=h.so1,
        line_no=2,
        item=h.b,
        quantity=5,
        requested_date=WEEK[0],
        promise_date=dt.date(2026, 3, 6),
    )
    h.so2l1 = SalesOrderLine.objects.create(
        order=h.so2,
        line_no=1,
        item=h.a,
        quantity=4,
        requested_date=WEEK[0],
        promise_date=dt.date(2026, 3, 4),
    )
    log(h.so1, "confirmed", at(2, 8))
    log(h.so2, "confirmed", at(2, 12))

    # Work orders: WO1 for SO1/1 (scheduled to end 4 Mar 12:00), WO2 for SO2/1 (4 Mar
    # 15:00), WO3 to stock, never scheduled (released, taken back, released again: the
    # first release counts).
    h.wo1 = WorkOrder.objects.create(
        number="WO1", item=h.a, quantity=10, sales_order_line=h.so1l1, scheduled_end=at(4, 12)
    )
    h.wo2 = WorkOrder.objects.create(
        number="WO2", item=h.a, quantity=4, sales_order_line=h.so2l1, scheduled_end=at(4, 15)
    )
    h.wo3 = WorkOrder.objects.create(number="WO3", item=h.b, quantity=5)
    log(h.wo1, "released", at(2, 14))
    log(h.wo2, "released", at(3, 12))
    log(h.wo3, "released", at(3, 8))
    log(h.wo3, "planned", at(3, 9), "unrelease")
    log(h.wo3, "released", at(3, 10))
    log(h.wo1, "completed", at(4, 10))
    log(h.wo2, "completed", at(4, 16))
    log(h.wo3, "completed", at(5, 8))

    # Scheduled starts and changeover families are given op by op below; in the order the
    # operations first started: saw WO1/10 F1, WO3/10 F2, WO2/10 F1; mill WO1/20 F1,
    # WO2/20 F2.
    # WO1/10 on the saw: ready 2 Mar 14:00, started 15:00 (scheduled 14:50), done 18:00.
    h.op11 = operation(h.wo1, 10, h.saw, scheduled_start=at(2, 14, 50), family=h.f1)
    log(h.op11, "ready", at(2, 14))
    log(h.op11, "running", at(2, 15))
    log(h.op11, "done", at(2, 18))
    # WO1/20 on the mill: ready 2 Mar 18:00, started 3 Mar 06:30 (scheduled 06:20), paused
    # at the end of the shift (14:00), resumed next morning 06:00, done 09:00 — late
    # against 08:00.
    h.op12 = operation(
        h.wo1, 20, h.mill, scheduled_start=at(3, 6, 20), scheduled_end=at(4, 8), family=h.f1
    )
    log(h.op12, "ready", at(2, 18))
    log(h.op12, "running", at(3, 6, 30))
    log(h.op12, "paused", at(3, 14), "pause")
    log(h.op12, "running", at(4, 6), "resume")
    log(h.op12, "done", at(4, 9))
    # WO2/10 on the saw: ready 3 Mar 12:00, started 14:00 (scheduled 13:30), done 16:00
    # (due 17:00).
    h.op21 = operation(
        h.wo2,
        10,
        h.saw,
        scheduled_start=at(3, 13, 30),
        scheduled_end=at(3, 17),
        changeover=15,
        family=h.f1,
    )
    log(h.op21, "ready", at(3, 12))
    log(h.op21, "running", at(3, 14))
    log(h.op21, "done", at(3, 16))
    # WO2/20 on the mill: a transfer batch, started 15:30 (scheduled 15:15) before WO2/10
    # was done.
    h.op22 = operation(
        h.wo2,
        20,
        h.mill,
        scheduled_start=at(3, 15, 15),
        scheduled_end=at(4, 12),
        changeover=30,
        family=h.f2,
    )
    log(h.op22, "ready", at(3, 15))
    log(h.op22, "running", at(3, 15, 30))
    log(h.op22, "done", at(4, 12))
    # WO3/10 on the saw: ready 3 Mar 10:00, started 11:00, done 4 Mar 20:00, unscheduled.
    h.op31 = operation(h.wo3, 10, h.saw, family=h.f2)
    log(h.op31, "ready", at(3, 10))
    log(h.op31, "running", at(3, 11))
    log(h.op31, "done", at(4, 20))

    # Shipments: SO1/1 goes in two parts (6 on 5 Mar, 4 on 6 Mar with SO1/2);
    # SO2/1 in full on 4 Mar 18:00.
    h.sh1 = Shipment.objects.create(number="SH1", customer=h.c1, handed_over_at=at(5, 10))
    h.sh2 = Shipment.objects.create(number="SH2", customer=h.c1, handed_over_at=at(6, 9))
    h.sh3 = Shipment.objects.create(number="SH3", customer=h.c2, handed_over_at=at(4, 18))
    for shipment, line, qty in [
        (h.sh1, h.so1l1, 6),
        (h.sh2, h.so1l1, 4),
        (h.sh2, h.so1l2, 5),
        (h.sh3, h.so2l1, 4),
    ]:
        ShipmentLine.objects.create(
            shipment=shipment,
            sales_order_line=line,
            item=line.item,
            quantity=qty,
            quantity_picked=qty,
            quantity_shipped=qty,
        )
        log(shipment, "handed_over", shipment.handed_over_at)
    log(h.so1, "partially_shipped", at(5, 10), "ship_partially")
    log(h.so1, "shipped", at(6, 9), "ship")
    log(h.so2, "shipped", at(4, 18), "ship")

    # Reports: WO1/10 9 good 1 scrap (burr); WO1/20 8 good 1 rework (dimension);
    # WO2/10 3 good 1 scrap (burr), off the routing; one more on 10 Mar, outside the week.
    burr, dim = reason("burr"), reason("dimension")
    for op, good, scrap, rework, when, extra in [
        (h.op11, 9, 1, 0, at(2, 18), {"scrap_reason": burr}),
        (h.op12, 8, 0, 1, at(4, 9), {"rework_reason": dim}),
        (h.op21, 3, 1, 0, at(3, 16), {"scrap_reason": burr, "wrong_routing": True}),
        (h.op31, 0, 5, 0, at(10, 9), {"scrap_reason": burr}),
    ]:
        OperationReport.objects.create(
            operation=op,
            work_center=op.work_center,
            quantity_good=good,
            quantity_scrap=scrap,
            quantity_rework=rework,
            at=when,
            **extra,
        )

    # Refused scans: two mis-picks in the week, one after it; one incorrect dispatch.
    for kind, when in [
        (ScanRefusal.Kind.MISPICK, at(3, 9)),
        (ScanRefusal.Kind.MISPICK, at(5, 9)),
        (ScanRefusal.Kind.MISPICK, at(9, 9)),
        (ScanRefusal.Kind.INCORRECT_DISPATCH, at(6, 8)),
    ]:
        ScanRefusal.objects.create(
            kind=kind,
            document_type="shipment",
            document_id=h.sh2.pk,
            document_ref="SH2",
            scanned="X",
            message="refused",
            at=when,
        )

    # Labour: 30 overtime minutes on WO1/20, none on WO2/10, 15.5 on WO3/10.
    for op, off, overtime, who in [
        (h.op12, at(3, 14), "30", h.lead),
        (h.op21, at(3, 16), "0", h.lead),
        (h.op31, at(4, 20), "15.5", h.planner),
    ]:
        LabourEntry.objects.create(
            operation=op,
            operator=who,
            clock_on=off - dt.timedelta(hours=2),
            clock_off=off,
            minutes=Decimal("120"),
            overtime_minutes=Decimal(overtime),
        )

    # Expediting: WO1 expedited, SO2 moved from 3 to 1 (counted); WO2 un-expedited and
    # SO1 moved from 2 to 4 (not counted).
    field_change(h.wo1, "expedite", False, True, at(3, 9), h.planner, "customer-call")
    field_change(h.wo2, "expedite", True, False, at(3, 10), h.planner, "customer-call")
    field_change(h.so2, "priority", 3, 1, at(4, 9), h.lead, "line-down")
    field_change(h.so1, "priority", 2, 4, at(4, 10), h.lead, "line-down")

    # Exceptions: X1 acknowledged after 1 h, resolved after 4 h; X2 escalated twice, then
    # acknowledged after 6 h and resolved after 24 h; X3 still open. X4 raised 5 Mar 08:00,
    # acknowledged 09:00, resolved 10:00, reopened 6 Mar 08:00, acknowledged again 09:00
    # (its first acknowledgement stays) and resolved for good 14:00. X5 (no rule) raised
    # 4 Mar 08:00, acknowledged 10:00, resolved 12:00, reopened 5 Mar 12:00: open again.
    h.role = Group.objects.get_or_create(name="kpi-planners")[0]
    h.rule = DecisionRule.objects.create(
        name="shortage", decision_point="material.shortage", effect="raise_exception"
    )
    rows = [
        ("X1", h.rule, at(2, 8), at(2, 9), at(2, 12), "resolved"),
        ("X2", h.rule, at(3, 8), at(3, 14), at(4, 8), "resolved"),
        ("X3", None, at(5, 8), None, None, "open"),
        ("X4", h.rule, at(5, 8), at(5, 9), at(6, 14), "resolved"),
        ("X5", None, at(4, 8), at(4, 10), None, "open"),
    ]
    h.exceptions = {}
    for number, rule, raised, acked, resolved, state in rows:
        exc = PlantException.objects.create(
            number=number,
            title=number,
            rule=rule,
            severity="high",
            owner_role=h.role if rule else None,
            last_seen_at=raised,
            acknowledged_at=acked,
            resolved_at=resolved,
            state=state,
        )
        PlantException.objects.filter(pk=exc.pk).update(first_seen_at=raised)
        h.exceptions[number] = exc
    log(h.exceptions["X2"], "escalated", at(3, 10), "escalate")
    log(h.exceptions["X2"], "escalated", at(3, 12), "escalate")
    log(h.exceptions["X2"], "acknowledged", at(3, 14), "acknowledge")
    log(h.exceptions["X2"], "resolved", at(4, 8), "resolve")
    for number, to_state, when, transition in [
        ("X4", "acknowledged", at(5, 9), "acknowledge"),
        ("X4", "resolved", at(5, 10), "resolve"),
        ("X4", "open", at(6, 8), "reopen"),
        ("X4", "acknowledged", at(6, 9), "acknowledge"),
        ("X4", "resolved", at(6, 14), "resolve"),
        ("X5", "acknowledged", at(4, 10), "acknowledge"),
        ("X5", "resolved", at(4, 12), "resolve"),
        ("X5", "open", at(5, 12), "reopen"),
    ]:
        log(h.exceptions[number], to_state, when, transition)

    # Downtime: the saw jammed 1 Mar 22:00 - 2 Mar 02:00 (across the start of the week)
    # and 5 Mar 09:00 - 09:45; the mill lost power 4 Mar 10:00 - 11:30 and is down for
    # tooling since 8 Mar 20:00, still open.
    for wc, why, since, until in [
        (h.saw, "jam", at(1, 22), at(2, 2)),
        (h.saw, "jam", at(5, 9), at(5, 9, 45)),
        (h.mill, "power", at(4, 10), at(4, 11, 30)),
        (h.mill, "tooling", at(8, 20), None),
    ]:
        Downtime.objects.create(
            work_center=wc, reason_code=reason(why), started_at=since, ended_at=until
        )

    # Change requests: CR1 approved 12 h after the request; CR2 rejected; CR3 needed no
    # approval.
    for number, needs, state, requested, decided in [
        ("CR1", True, ChangeRequest.State.APPROVED, at(2, 8), at(2, 20)),
        ("CR2", True, ChangeRequest.State.REJECTED, at(2, 8), at(2, 9)),
        ("CR3", False, ChangeRequest.State.APPLIED, at(2, 8), at(2, 8, 1)),
    ]:
        cr = ChangeRequest.objects.create(
            number=number,
            order=h.so1,
            kind=ChangeRequest.Kind.QUANTITY,
            reason_code=reason("customer-call"),
            reason_text="asked",
            needs_approval=needs,
            state=state,
            decided_at=decided,
        )
        ChangeRequest.objects.filter(pk=cr.pk).update(requested_at=requested)
    return h
