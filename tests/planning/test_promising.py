"""Capable-to-promise: capacity left by the schedule and material availability decide
the promise date of a routed item; unrouted items keep the lead-time rule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import ExpectedReceipt, StockBalance
from orders.models import OrderState
from planning.models import Operation, Shift
from planning.services.promising import promise_compute
from tests.factories import ItemFactory, make_order

pytestmark = pytest.mark.django_db


def test_a_small_order_with_material_in_stock_is_promised_on_the_requested_date(shop):
    today = timezone.localdate()
    promise = promise_compute(
        item=shop.bracket, quantity=Decimal("10"), requested_date=today + dt.timedelta(days=3)
    )
    assert promise is not None
    assert promise.date == today + dt.timedelta(days=3)
    assert promise.capacity_date <= today + dt.timedelta(days=1)
    assert "STEEL-BAR in stock" in promise.basis


def test_a_large_order_needs_several_days_of_capacity(shop):
    # 16 h a day: the saw cuts 960 a day at 1 min each
    today = timezone.localdate()
    promise = promise_compute(item=shop.bracket, quantity=Decimal("1900"), requested_date=today)
    assert promise is not None
    assert promise.capacity_date >= today + dt.timedelta(days=2)
    assert "SAW done" in promise.basis


def test_the_schedule_s_load_pushes_the_promise(shop):
    today = timezone.localdate()
    free = promise_compute(item=shop.bracket, quantity=Decimal("100"), requested_date=today)
    # the saw is booked for the next five days
    tz = timezone.get_current_timezone()
    Shift.objects.filter(work_center=shop.saw).delete()
    for weekday in range(7):
        Shift.objects.create(
            work_center=shop.saw, weekday=weekday, start=dt.time(6), end=dt.time(14)
        )
    from planning.models import WorkOrder
    from planning.services import work_order_create, work_order_release

    wo = work_order_create(item=shop.bracket, quantity=1, user=None, reserve_components=False)
    work_order_release(work_order=wo, user=None, override_reason_code="capacity", override_note="t")
    begin = dt.datetime.combine(today, dt.time(0), tzinfo=tz)
    Operation.objects.filter(work_order=wo, sequence=10).update(
        scheduled_start=begin, scheduled_end=begin + dt.timedelta(days=5)
    )
    assert WorkOrder.objects.get(pk=wo.pk).state == "released"
    busy = promise_compute(item=shop.bracket, quantity=Decimal("100"), requested_date=today)
    assert busy.capacity_date > free.capacity_date


def test_short_material_waits_for_the_expected_receipt(shop):
    today = timezone.localdate()
    StockBalance.objects.filter(item=shop.steel).update(on_hand=Decimal("1"))
    ExpectedReceipt.objects.create(
        number="RC-1",
        item=shop.steel,
        quantity_expected=Decimal("500"),
        expected_date=today + dt.timedelta(days=6),
    )
    promise = promise_compute(item=shop.bracket, quantity=Decimal("20"), requested_date=today)
    assert promise.material_date == today + dt.timedelta(days=6)
    assert promise.date >= today + dt.timedelta(days=6)
    assert "arrives" in promise.basis


def test_confirming_an_order_promises_routed_lines_by_capacity_and_others_by_lead_time(shop):
    other = ItemFactory(lead_time_days=9)
    order = make_order(
        state=OrderState.CONFIRMED, lines=[(shop.bracket, 10), (other, 5)], requested_in_days=2
    )
    routed, unrouted = order.lines.order_by("line_no")
    today = timezone.localdate()
    assert routed.promise_date == today + dt.timedelta(days=2)
    assert "capable to promise" in routed.promise_basis
    assert unrouted.promise_date == today + dt.timedelta(days=9)
    assert "lead time" in unrouted.promise_basis
