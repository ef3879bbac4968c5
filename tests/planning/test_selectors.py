"""The dispatch list, the release board, load against capacity and Gantt bars."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from planning.models import Operation
from planning.selectors import dispatch_list, gantt, load_vs_capacity, release_board
from planning.services import downtime_report, work_order_create, work_order_release
from planning.services.scheduling import schedule_run

pytestmark = pytest.mark.django_db


def _released(shop, planner, clerk, n):  # type: ignore[no-untyped-def]
    out = []
    for i in range(n):
        wo = work_order_create(
            item=shop.bracket,
            quantity=5 + i,
            user=planner,
            due_date=timezone.localdate() + dt.timedelta(days=1 + i % 5),
            reserve_components=False,
        )
        out.append(
            work_order_release(
                work_order=wo, user=planner, override_reason_code="material", override_note="t"
            )
        )
    return out


def test_the_dispatch_list_follows_the_schedule_and_says_why(shop, shop_planner, shop_clerk):
    orders = _released(shop, shop_planner, shop_clerk, 3)
    schedule_run(trigger="test")
    rows = dispatch_list(work_center=shop.saw)
    assert [r.rank for r in rows] == [1, 2, 3]
    starts = [r.operation.scheduled_start for r in rows]
    assert starts == sorted(starts)
    assert all(any("promise date in" in w for w in r.why) for r in rows)
    assert all(r.can_start for r in rows)
    assert {r.operation.work_order for r in rows} == set(orders)
    assert rows[0].material == "no components"


def test_the_dispatch_list_takes_the_same_queries_for_few_and_many(
    shop, shop_planner, shop_clerk, django_assert_num_queries
):
    _released(shop, shop_planner, shop_clerk, 2)
    with django_assert_num_queries(3) as captured:
        dispatch_list(work_center=shop.saw)
    count = len(captured.captured_queries)
    _released(shop, shop_planner, shop_clerk, 12)
    with django_assert_num_queries(count):
        rows = dispatch_list(work_center=shop.saw)
    assert len(rows) == 14


def test_a_down_work_center_offers_nothing_to_start(
    shop, shop_planner, shop_clerk, shop_floor_lead
):
    _released(shop, shop_planner, shop_clerk, 1)
    downtime_report(work_center=shop.saw, user=shop_floor_lead, reason_code="capacity")
    shop.saw.refresh_from_db()
    assert not any(r.can_start for r in dispatch_list(work_center=shop.saw))


def test_release_board_lists_planned_orders_with_their_reasons(shop, shop_planner):
    work_order_create(item=shop.bracket, quantity=5, user=shop_planner)
    checks = release_board()
    assert [b.code for c in checks for b in c.blockers] == ["kit_not_staged"]


def test_load_against_capacity_and_gantt_bars(shop, shop_planner, shop_clerk, shop_floor_lead):
    _released(shop, shop_planner, shop_clerk, 3)
    schedule_run(trigger="test")
    rows = load_vs_capacity(days=7)
    saw = next(r for r in rows if r.work_center == shop.saw)
    assert saw.cells[0].capacity_minutes <= 16 * 60
    assert sum(c.load_minutes for c in saw.cells) == sum(
        int((o.scheduled_end - o.scheduled_start).total_seconds() // 60)
        for o in Operation.objects.filter(work_center=shop.saw)
    )
    mill = next(r for r in rows if r.work_center == shop.mill)
    assert mill.cells[1].capacity_minutes == 2 * 16 * 60
    downtime_report(work_center=shop.saw, user=shop_floor_lead, reason_code="capacity")
    now = timezone.now()
    bars = gantt(start=now - dt.timedelta(hours=1), end=now + dt.timedelta(days=7))
    kinds = {b.kind for b in bars}
    assert {"operation", "downtime"} <= kinds
    assert any(b.kind == "changeover" for b in bars) or all(
        o.scheduled_changeover_minutes == 0 for o in Operation.objects.all()
    )
