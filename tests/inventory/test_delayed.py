"""Late receipts: the beat task emits `material.delayed` once per receipt per day for
expected receipts past their date, and never for what arrived or is not yet due."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from exceptions.engine import (
    decision_point_fields,
    event_context,
    event_subject,
    render_template,
)
from inventory.models import ExpectedReceipt
from inventory.services.receipts import (
    expected_receipt_upsert,
    receipt_receive,
    receipts_report_delayed,
)
from inventory.tasks import report_delayed_receipts
from mes.celery import app
from mes.core.models import Event

pytestmark = pytest.mark.django_db


def _expect(item: Any, external_id: str, days: int, quantity: str = "40") -> ExpectedReceipt:
    receipt, _created = expected_receipt_upsert(
        external_id=external_id,
        item=item,
        quantity_expected=quantity,
        expected_date=timezone.localdate() + dt.timedelta(days=days),
        supplier="Bolts Ltd",
        po_number="PO-9",
    )
    return receipt


def _delayed() -> list[dict[str, Any]]:
    return [e.payload for e in Event.objects.filter(type="material.delayed").order_by("id")]


def test_a_late_receipt_is_reported_once_a_day(inv_world: Any) -> None:
    # given: one receipt three days late
    w = inv_world
    late = _expect(w.bolt, "L-1", -3)
    today = timezone.localdate()
    # when: the beat runs three times today
    counts = [receipts_report_delayed(today=today) for _ in range(3)]
    # then: one event, naming item, delay, date, quantity, supplier and receipt
    assert counts == [1, 0, 0]
    (payload,) = _delayed()
    assert {k: payload[k] for k in ("item", "delay_days", "expected_date", "quantity")} == {
        "item": "BOLT-M8",
        "delay_days": 3,
        "expected_date": late.expected_date.isoformat(),
        "quantity": 40.0,
    }
    assert (payload["supplier"], payload["receipt"]) == ("Bolts Ltd", late.number)
    event = Event.objects.get(type="material.delayed")
    assert (event.content_type.model, event.object_id) == ("item", w.bolt.pk)
    # when: tomorrow it is still missing
    assert receipts_report_delayed(today=today + dt.timedelta(days=1)) == 1
    # then: reported again, one day later
    assert [p["delay_days"] for p in _delayed()] == [3, 4]


def test_received_and_not_yet_due_receipts_are_not_reported(
    inv_world: Any, warehouse_user: Any
) -> None:
    # given: one arrived late, one due today, one due tomorrow
    w = inv_world
    arrived = _expect(w.bolt, "A-1", -2)
    receipt_receive(receipt=arrived, quantity="40", actor=warehouse_user)
    _expect(w.bolt, "A-2", 0)
    _expect(w.bolt, "A-3", 1)
    # when
    reported = receipts_report_delayed()
    # then
    assert reported == 0
    assert _delayed() == []


def test_the_beat_task_calls_the_service_and_is_scheduled(inv_world: Any) -> None:
    # given
    _expect(inv_world.bolt, "T-1", -1)
    # when
    reported = report_delayed_receipts()
    # then
    assert reported == 1
    assert len(_delayed()) == 1
    app.loader.import_default_modules()
    app.finalize()
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "inventory.tasks.report_delayed_receipts" in tasks


def test_rules_see_the_payload_and_the_item_as_material(inv_world: Any) -> None:
    # given: a late receipt reported
    _expect(inv_world.bolt, "R-1", -2)
    receipts_report_delayed()
    event = Event.objects.get(type="material.delayed")
    # when
    context = event_context(event, event_subject(event))
    fields = decision_point_fields("material.delayed")
    # then: `item` stays the SKU of the payload, the item's master data is `material`
    assert (context["item"], context["delay_days"]) == ("BOLT-M8", 2)
    assert context["material"]["sku"] == "BOLT-M8"
    assert context["material"]["lead_time_days"] == inv_world.bolt.lead_time_days
    assert (fields["item"], fields["material"]["sku"]) == ("string", "string")
    assert (
        render_template("{material.name} late by {delay_days} days", context)
        == "Bolt M8x30 late by 2 days"
    )
