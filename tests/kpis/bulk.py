"""n of every kind of record the KPIs read, in the hand-built week, written in bulk: the
query-count tests compare 10 and 200 of each."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import models

from exceptions.models import DecisionRule, PlantException
from inventory.models import ScanRefusal
from mes.core.models import FieldChange, TransitionLog
from orders.models import SalesOrder, SalesOrderLine
from planning.models import Downtime, LabourEntry, Operation, OperationReport, WorkOrder
from shipping.models import Shipment, ShipmentLine

from .conftest import at, reason


def _logs(rows: list[tuple[models.Model, str, dt.datetime]]) -> None:
    types: dict[type, ContentType] = {}
    logs = []
    for record, to_state, when in rows:
        ct = types.setdefault(type(record), ContentType.objects.get_for_model(record))
        logs.append(
            TransitionLog(
                content_type=ct,
                object_id=record.pk,
                object_repr=str(record)[:200],
                transition=to_state,
                from_state="",
                to_state=to_state,
                at=when,
            )
        )
    TransitionLog.objects.bulk_create(logs)


def more_history(h: Any, n: int, prefix: str = "B") -> None:
    """n more orders, work orders (two operations each), reports, labour, shipments,
    refused scans, expedites, downtimes and exceptions across 2-6 March."""
    burr = reason("burr")
    role = Group.objects.get_or_create(name="kpi-planners")[0]
    rule = DecisionRule.objects.filter(decision_point="material.shortage").first()
    logs: list[tuple[models.Model, str, dt.datetime]] = []
    for i in range(n):
        day = 2 + i % 5
        order = SalesOrder.objects.create(number=f"{prefix}O{i}", customer=h.c1)
        line = SalesOrderLine.objects.create(
            order=order,
            line_no=1,
            item=h.a,
            quantity=2,
            requested_date=dt.date(2026, 3, day),
            promise_date=dt.date(2026, 3, day),
        )
        wo = WorkOrder.objects.create(
            number=f"{prefix}W{i}",
            item=h.a,
            quantity=2,
            sales_order_line=line,
            scheduled_end=at(day, 20),
        )
        ops = [
            Operation.objects.create(
                work_order=wo,
                sequence=seq,
                name="op",
                work_center=wc,
                quantity_planned=Decimal(2),
                scheduled_start=at(day, 7),
                scheduled_end=at(day, 12),
                scheduled_changeover_minutes=5,
                changeover_family=h.f1 if i % 2 else h.f2,
            )
            for seq, wc in [(10, h.saw), (20, h.mill)]
        ]
        shipment = Shipment.objects.create(
            number=f"{prefix}S{i}", customer=h.c1, handed_over_at=at(day, 18)
        )
        ShipmentLine.objects.create(
            shipment=shipment,
            sales_order_line=line,
            item=h.a,
            quantity=2,
            quantity_picked=2,
            quantity_shipped=2,
        )
        exc = PlantException.objects.create(
            number=f"{prefix}X{i}",
            title="bulk",
            rule=rule,
            severity="high",
            owner_role=role,
            last_seen_at=at(day, 8),
            acknowledged_at=at(day, 9),
            resolved_at=at(day, 11),
            state="resolved",
        )
        PlantException.objects.filter(pk=exc.pk).update(first_seen_at=at(day, 8))
        logs += [
            (order, "confirmed", at(day, 6)),
            (wo, "released", at(day, 6, 30)),
            (ops[0], "ready", at(day, 6, 30)),
            (ops[0], "running", at(day, 7)),
            (ops[0], "done", at(day, 9)),
            (ops[1], "ready", at(day, 9)),
            (ops[1], "running", at(day, 10)),
            (ops[1], "done", at(day, 13)),
            (wo, "completed", at(day, 13)),
            (shipment, "handed_over", at(day, 18)),
            (order, "shipped", at(day, 18)),
            (exc, "escalated", at(day, 8, 30)),
            (exc, "acknowledged", at(day, 9)),
            (exc, "resolved", at(day, 11)),
        ]
        for op in ops:
            OperationReport.objects.create(
                operation=op,
                work_center=op.work_center,
                quantity_good=2,
                quantity_scrap=1,
                quantity_rework=0,
                scrap_reason=burr,
                at=at(day, 13),
            )
            LabourEntry.objects.create(
                operation=op,
                operator=h.lead,
                clock_on=at(day, 7),
                clock_off=at(day, 13),
                minutes=Decimal(360),
                overtime_minutes=Decimal(30),
            )
        ScanRefusal.objects.create(
            kind=ScanRefusal.Kind.MISPICK if i % 2 else ScanRefusal.Kind.INCORRECT_DISPATCH,
            document_type="shipment",
            document_id=shipment.pk,
            document_ref=shipment.number,
            scanned="X",
            message="refused",
            at=at(day, 17),
        )
        FieldChange.objects.create(
            content_type=ContentType.objects.get_for_model(wo),
            object_id=wo.pk,
            object_repr=str(wo),
            field="expedite",
            old_value=False,
            new_value=True,
            actor=h.planner,
            at=at(day, 8),
            reason_code=reason("customer-call"),
            reason_text="customer call",
        )
        Downtime.objects.create(
            work_center=h.saw if i % 2 else h.mill,
            reason_code=reason("breakdown"),
            started_at=at(day, 1) + dt.timedelta(minutes=i),
            ended_at=at(day, 1) + dt.timedelta(minutes=i + 1),
        )
    _logs(logs)
