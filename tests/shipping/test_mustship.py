"""Today's must-ship board: readiness and risks of each line read from hand-built
records, the page for every role, its self-refreshing partial, and a query count that
does not grow with the number of lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from exceptions.models import PlantException
from inventory.models import Item, Kit, Location, Lot, QualityHold, Reservation, StockBalance
from mes.core.models import ReasonCode
from mes.core.roles import (
    ADMIN,
    FLOOR_LEAD,
    INTEGRATION,
    OPERATOR,
    PLANNER,
    QUALITY,
    SHIPPING,
    WAREHOUSE,
    WAREHOUSE_LEAD,
)
from orders.models import SalesOrder, SalesOrderLine
from planning.models import Operation, Shift, WorkCenter, WorkOrder
from shipping.models import Shipment, ShipmentLine
from shipping.mustship import must_ship_board
from shipping.views import MUST_SHIP_PER_PAGE

from ..factories import CustomerFactory, user_with_role

D = Decimal
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def plant(db: Any) -> SimpleNamespace:
    """A customer, a made and a bought item, stock and shipping places, a saw with a
    day shift today; orders and work orders are added by each test."""
    today = timezone.localdate()
    stock = Location.objects.create(code="MS-STK", name="Stock", barcode="MS-STK")
    dock = Location.objects.create(code="MS-DOCK", name="Dock", type="shipping", barcode="MS-DOCK")
    saw = WorkCenter.objects.create(code="MS-SAW", name="Saw")
    mill = WorkCenter.objects.create(code="MS-MILL", name="Mill", status="down")
    for wc in (saw, mill):
        Shift.objects.create(
            work_center=wc, weekday=today.weekday(), start=dt.time(6), end=dt.time(14)
        )
    return SimpleNamespace(
        today=today,
        tomorrow=today + dt.timedelta(days=1),
        customer=CustomerFactory(code="MS-CUST", name="Must Ship AG"),
        made=Item.objects.create(sku="MS-MADE", name="Bracket", source="make"),
        bought=Item.objects.create(sku="MS-BUY", name="Screw", source="buy", unit="pcs"),
        stock=stock,
        dock=dock,
        saw=saw,
        mill=mill,
        reason=ReasonCode.objects.get_or_create(code="ms-test", defaults={"label": "Test"})[0],
        numbers=iter(range(1, 100_000)),
    )


def order_line(
    p: SimpleNamespace,
    *,
    item: Item | None = None,
    quantity: int = 10,
    due: dt.date | None = None,
    state: str = "in_production",
    shipped: int = 0,
) -> SalesOrderLine:
    n = next(p.numbers)
    order = SalesOrder.objects.create(number=f"SO-MS{n:05d}", customer=p.customer, state=state)
    due = due or p.today
    return SalesOrderLine.objects.create(
        order=order,
        line_no=1,
        item=item or p.made,
        quantity=D(quantity),
        shipped_quantity=D(shipped),
        requested_date=due,
        promise_date=due,
    )


def work_order(
    p: SimpleNamespace,
    line: SalesOrderLine,
    *,
    state: str = "released",
    at: WorkCenter | None = None,
    ends: dt.datetime | None = None,
) -> WorkOrder:
    wo = WorkOrder.objects.create(
        number=f"WO-MS{line.pk:05d}",
        kind="mto",
        item=line.item,
        quantity=line.quantity,
        sales_order_line=line,
        due_date=line.promise_date,
        state=state,
    )
    end = ends or timezone.now() + dt.timedelta(hours=2)
    Operation.objects.create(
        work_order=wo,
        sequence=10,
        name="Cut",
        work_center=at or p.saw,
        quantity_planned=line.quantity,
        state="ready",
        scheduled_start=end - dt.timedelta(hours=1),
        scheduled_end=end,
    )
    return wo


def shipment(
    p: SimpleNamespace, line: SalesOrderLine, *, state: str = "planned", picked: int = 0, **kw: Any
) -> Shipment:
    n = next(p.numbers)
    sh = Shipment.objects.create(
        number=f"SH-MS{n:05d}", customer=p.customer, state=state, dock_location=p.dock, **kw
    )
    ShipmentLine.objects.create(
        shipment=sh,
        sales_order_line=line,
        item=line.item,
        # what is still open, or (for a handover already counted in shipped) what left
        quantity=max(line.quantity - line.shipped_quantity, D(picked)),
        quantity_picked=D(picked),
    )
    return sh


def row_of(board: Any, line: SalesOrderLine) -> Any:
    (row,) = [row for row in board.rows if row.line.pk == line.pk]
    return row


def kinds(row: Any) -> list[str]:
    return [risk.kind for risk in row.risks]


# --- readiness and risks ------------------------------------------------------------------


def test_a_made_to_order_line_whose_operation_ends_after_the_promise_is_late(plant):
    # given
    line = order_line(plant)
    wo = work_order(plant, line, ends=timezone.now() + dt.timedelta(days=3))
    # when
    row = row_of(must_ship_board(today=plant.today), line)
    # then
    assert row.work_order == wo
    assert row.produced is False
    assert kinds(row) == ["operation_late"]
    assert row.risks[0].link == reverse("planning:work_order", args=[wo.number])
    assert "after the promise date" in row.risks[0].message
    assert row.status == "at_risk"


def test_an_operation_past_its_scheduled_end_is_late_too(plant):
    # given
    line = order_line(plant, due=plant.tomorrow)
    work_order(plant, line, ends=timezone.now() - dt.timedelta(minutes=30))
    # when
    row = row_of(must_ship_board(today=plant.today), line)
    # then
    assert kinds(row) == ["operation_late"]
    assert "Cut is behind its schedule" in row.risks[0].message


def test_a_kit_not_staged_is_material_short_and_links_the_kit(plant):
    # given
    line = order_line(plant)
    wo = work_order(plant, line)
    kit = Kit.objects.create(
        number="KIT-MS1",
        work_order_id=wo.pk,
        work_order_ref=wo.number,
        staging_location=plant.stock,
    )
    # when
    row = row_of(must_ship_board(today=plant.today), line)
    # then
    assert row.kitted is False
    assert kinds(row) == ["material_short"]
    assert row.risks[0].link == reverse("inventory:kits") + f"?q={kit.number}&state=all"


def test_a_staged_kit_ticks_kitted(plant):
    # given
    line = order_line(plant)
    wo = work_order(plant, line)
    Kit.objects.create(
        number="KIT-MS2",
        work_order_id=wo.pk,
        work_order_ref=wo.number,
        staging_location=plant.stock,
        state="staged",
    )
    # when
    row = row_of(must_ship_board(today=plant.today), line)
    # then
    assert row.kitted is True
    assert row.risks == []
    assert [step.done for step in row.readiness] == [False, True, False, False, False]


def test_a_held_lot_on_the_shipment_is_a_quality_hold(plant):
    # given: the line's shipment has stock of a lot Quality holds set aside
    line = order_line(plant, item=plant.bought)
    StockBalance.objects.create(item=plant.bought, location=plant.stock, on_hand=D(100))
    sh = shipment(plant, line)
    lot = Lot.objects.create(item=plant.bought, number="L-HELD")
    Reservation.objects.create(
        item=plant.bought,
        location=plant.stock,
        lot=lot,
        quantity=D(10),
        demand_type="shipment",
        demand_id=sh.pk,
        demand_ref=sh.number,
        demand_line=sh.lines.get().pk,
    )
    hold = QualityHold.objects.create(
        number="QH-MS1", scope="lot", lot=lot, reason_code=plant.reason, note="porosity found"
    )
    # when
    row = row_of(must_ship_board(today=plant.today), line)
    # then
    assert kinds(row) == ["quality_hold"]
    assert hold.number in row.risks[0].message
    assert "porosity found" in row.risks[0].message
    assert row.risks[0].link == reverse("inventory:holds")


def test_a_work_order_hold_and_a_released_hold(plant):
    # given
    line = order_line(plant)
    wo = work_order(plant, line)
    QualityHold.objects.create(
        number="QH-MS2",
        scope="work_order",
        work_order_id=wo.pk,
        work_order_ref=wo.number,
        reason_code=plant.reason,
        note="first article failed",
    )
    QualityHold.objects.create(
        number="QH-MS3",
        scope="work_order",
        work_order_id=wo.pk,
        work_order_ref=wo.number,
        reason_code=plant.reason,
        note="old",
        state="released",
    )
    # when
    row = row_of(must_ship_board(today=plant.today), line)
    # then
    assert [r.message.split(" on ")[0] for r in row.risks] == ["quality hold QH-MS2"]


def test_a_work_center_down_on_the_route_is_a_risk_and_a_constraint(plant):
    # given
    line = order_line(plant)
    work_order(plant, line, at=plant.mill)
    # when
    board = must_ship_board(today=plant.today)
    row = row_of(board, line)
    # then
    assert kinds(row) == ["work_center_down"]
    assert row.risks[0].link == reverse("planning:dispatch", args=["MS-MILL"])
    assert [(c["work_center"].code, c["down"]) for c in board.constrained] == [("MS-MILL", True)]
    assert board.counts["constrained"] == 1


def test_a_loaded_work_center_is_constrained(plant):
    # given: 7 of the saw's 8 hours today are scheduled (88 %), then all 8
    line = order_line(plant, due=plant.tomorrow)
    wo = work_order(plant, line)
    start = dt.datetime.combine(plant.today, dt.time(6), tzinfo=timezone.get_current_timezone())
    Operation.objects.filter(work_order=wo).update(
        scheduled_start=start, scheduled_end=start + dt.timedelta(hours=7)
    )
    loaded = must_ship_board(today=plant.today).constrained
    Operation.objects.filter(work_order=wo).update(scheduled_end=start + dt.timedelta(hours=8))
    # when
    full = must_ship_board(today=plant.today).constrained
    # then
    assert [c["work_center"].code for c in loaded] == ["MS-MILL"]
    assert [(c["work_center"].code, c["percent"]) for c in full] == [
        ("MS-MILL", 0),
        ("MS-SAW", 100),
    ]


def test_an_open_exception_on_the_order_links_to_it(plant):
    # given
    line = order_line(plant, item=plant.bought)
    StockBalance.objects.create(item=plant.bought, location=plant.stock, on_hand=D(100))
    ct = ContentType.objects.get_for_model(SalesOrder)
    exc = PlantException.objects.create(
        number="EX-MS1",
        title="Customer changed the dock",
        content_type=ct,
        object_id=line.order_id,
        severity="high",
        last_seen_at=timezone.now(),
    )
    PlantException.objects.create(
        number="EX-MS2",
        title="done with",
        content_type=ct,
        object_id=line.order_id,
        severity="low",
        last_seen_at=timezone.now(),
        state="resolved",
    )
    # when
    row = row_of(must_ship_board(today=plant.today), line)
    # then
    assert kinds(row) == ["exception"]
    assert row.risks[0].message == "EX-MS1: Customer changed the dock"
    assert row.risks[0].link == reverse("exceptions:detail", args=[exc.number])


def test_a_line_shipped_today_shows_as_gone_and_one_shipped_yesterday_not(plant):
    # given
    gone = order_line(plant, state="shipped", shipped=10)
    shipment(plant, gone, state="handed_over", picked=10, handed_over_at=timezone.now())
    old = order_line(plant, state="shipped", shipped=10)
    shipment(
        plant,
        old,
        state="handed_over",
        picked=10,
        handed_over_at=timezone.now() - dt.timedelta(days=1, hours=1),
    )
    # when
    board = must_ship_board(today=plant.today)
    # then
    row = row_of(board, gone)
    assert row.gone is True
    assert row.status == "gone"
    assert row.risks == []
    assert all(step.done is not False for step in row.readiness)
    assert old.pk not in [r.line.pk for r in board.rows]
    assert board.counts["gone"] == 1


def test_a_partly_shipped_line_is_not_gone_and_counts_only_the_open_shipment(plant):
    # given: 4 of 10 left this morning; the other 6 are picked and packed
    line = order_line(plant, item=plant.bought, state="partially_shipped", shipped=4)
    shipment(plant, line, state="handed_over", picked=4, handed_over_at=timezone.now())
    shipment(plant, line, state="packed", picked=6)
    # when
    row = row_of(must_ship_board(today=plant.today), line)
    # then
    assert row.gone is False
    assert row.open_quantity == D(6)
    assert row.picked == D(6)
    assert (row.produced, row.is_picked, row.packed, row.documented) == (True, True, True, False)
    assert [s.state for s in row.shipments] == ["packed"]


def test_a_documented_shipment_is_ready_for_the_truck(plant):
    # given
    line = order_line(plant, item=plant.bought, state="ready_to_ship")
    shipment(plant, line, state="documented", picked=10)
    # when
    row = row_of(must_ship_board(today=plant.today), line)
    # then
    assert row.status == "ready"
    assert [step.done for step in row.readiness] == [True, None, True, True, True]


def test_stock_lines_share_the_free_stock_in_board_order(plant):
    # given: 25 free; the line due today needs 10, tomorrow's two need 10 each
    StockBalance.objects.create(item=plant.bought, location=plant.stock, on_hand=D(25))
    first = order_line(plant, item=plant.bought)
    second = order_line(plant, item=plant.bought, due=plant.tomorrow)
    third = order_line(plant, item=plant.bought, due=plant.tomorrow)
    # when
    board = must_ship_board(today=plant.today)
    # then
    assert [row_of(board, x).produced for x in (first, second, third)] == [True, True, False]
    short = row_of(board, third)
    assert kinds(short) == ["material_short"]
    assert short.risks[0].message == "5 pcs of MS-BUY missing: not in stock or set aside"
    assert short.risks[0].link == reverse("inventory:stock") + "?item=MS-BUY"


def test_stock_reserved_for_the_line_counts_and_held_stock_does_not(plant):
    # given: 10 reserved for the line's own shipment; 50 more on a held location
    line = order_line(plant, item=plant.bought)
    StockBalance.objects.create(
        item=plant.bought, location=plant.stock, on_hand=D(10), reserved=D(10)
    )
    sh = shipment(plant, line)
    Reservation.objects.create(
        item=plant.bought,
        location=plant.stock,
        quantity=D(10),
        demand_type="shipment",
        demand_id=sh.pk,
        demand_ref=sh.number,
        demand_line=sh.lines.get().pk,
    )
    held = Location.objects.create(code="MS-H", name="Held", barcode="MS-H")
    StockBalance.objects.create(item=plant.bought, location=held, on_hand=D(50))
    QualityHold.objects.create(
        number="QH-MS4", scope="location", location=held, reason_code=plant.reason, note="flood"
    )
    other = order_line(plant, item=plant.bought, due=plant.tomorrow)
    # when
    board = must_ship_board(today=plant.today)
    # then
    assert row_of(board, line).produced is True
    assert row_of(board, line).risks == []
    assert row_of(board, other).produced is False
    assert kinds(row_of(board, other)) == ["material_short"]


def test_orders_and_shipments_on_hold_are_risks(plant):
    # given
    StockBalance.objects.create(item=plant.bought, location=plant.stock, on_hand=D(100))
    held_order = order_line(plant, item=plant.bought, state="on_hold")
    line = order_line(plant, item=plant.bought)
    sh = shipment(plant, line, state="on_hold", picked=10, held_from_state="packed")
    # when
    board = must_ship_board(today=plant.today)
    # then
    assert kinds(row_of(board, held_order)) == ["on_hold"]
    assert row_of(board, held_order).risks[0].link == reverse(
        "orders:detail", args=[held_order.order.number]
    )
    row = row_of(board, line)
    assert kinds(row) == ["on_hold"]
    assert sh.number in row.risks[0].message
    assert row.packed is True


def test_the_board_shows_today_and_tomorrow_and_filters(plant):
    # given
    overdue = order_line(plant, item=plant.bought, due=plant.today - dt.timedelta(days=2))
    today = order_line(plant, item=plant.bought)
    tomorrow = order_line(plant, item=plant.bought, due=plant.tomorrow)
    later = order_line(plant, item=plant.bought, due=plant.today + dt.timedelta(days=2))
    draft = order_line(plant, item=plant.bought, state="draft")
    cancelled = order_line(plant, item=plant.bought, state="cancelled")
    # when
    board = must_ship_board(today=plant.today)
    due_today = must_ship_board(today=plant.today, due="today")
    due_tomorrow = must_ship_board(today=plant.today, due="tomorrow")
    # then
    assert [r.line.pk for r in board.rows] == [overdue.pk, today.pk, tomorrow.pk]
    assert board.rows[0].overdue is True
    assert [r.line.pk for r in due_today.rows] == [overdue.pk, today.pk]
    assert [r.line.pk for r in due_tomorrow.rows] == [tomorrow.pk]
    assert {k: board.counts[k] for k in ("overdue", "today", "tomorrow", "lines")} == {
        "overdue": 1,
        "today": 1,
        "tomorrow": 1,
        "lines": 3,
    }
    assert not {later.pk, draft.pk, cancelled.pk} & {r.line.pk for r in board.rows}


def test_the_board_pages(plant):
    # given
    StockBalance.objects.create(item=plant.bought, location=plant.stock, on_hand=D(1000))
    lines = [order_line(plant, item=plant.bought) for _ in range(5)]
    # when
    second = must_ship_board(today=plant.today, per_page=2, page=2)
    beyond = must_ship_board(today=plant.today, per_page=2, page=9)
    # then
    assert (second.total, second.pages, second.page) == (5, 3, 2)
    assert [r.line.pk for r in second.rows] == [x.pk for x in lines[2:4]]
    assert beyond.page == 3
    assert [r.line.pk for r in beyond.rows] == [lines[4].pk]


# --- the page -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role",
    [PLANNER, FLOOR_LEAD, WAREHOUSE, WAREHOUSE_LEAD, SHIPPING, QUALITY, INTEGRATION, ADMIN],
)
def test_every_role_that_reads_shipments_sees_the_page(client, plant, role):
    # given
    line = order_line(plant)
    work_order(plant, line, at=plant.mill)
    client.force_login(user_with_role(role, username=f"ms-{role}".replace(" ", "-").lower()))
    # when
    response = client.get(reverse("shipping:mustship"))
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-line="{line.order.number}/1"' in html
    assert 'data-kind="work_center_down"' in html
    assert "Must ship" in [str(item["label"]) for item in response.context["nav_items"]]


def test_a_role_without_shipments_is_refused_and_strangers_sign_in(client, plant):
    # given
    operator = user_with_role(OPERATOR, username="ms-operator")
    # when
    anonymous = client.get(reverse("shipping:mustship"))
    client.force_login(operator)
    refused = client.get(reverse("shipping:mustship"))
    # then
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
    assert refused.status_code == 403


def test_the_page_shows_counts_ticks_risks_and_refreshes_itself(client, plant):
    # given
    StockBalance.objects.create(item=plant.bought, location=plant.stock, on_hand=D(100))
    line = order_line(plant, item=plant.bought, state="ready_to_ship")
    shipment(plant, line, state="documented", picked=10)
    late = order_line(plant, due=plant.tomorrow)
    work_order(plant, late, ends=timezone.now() + dt.timedelta(days=4))
    client.force_login(user_with_role(SHIPPING, username="ms-shipping"))
    # when
    response = client.get(reverse("shipping:mustship"))
    # then
    html = response.content.decode()
    assert [t.name for t in response.templates][:2] == [
        "shipping/mustship.html",
        "base.html",
    ]
    assert 'hx-trigger="every 5s"' in html
    assert 'data-count="today"><div class="mes-stat-value">1<' in html
    assert 'data-count="at_risk"><div class="mes-stat-value">1<' in html
    assert 'data-count="ready"><div class="mes-stat-value">1<' in html
    assert html.count('data-step="documented" data-done="yes"') == 1
    assert 'data-status="ready"' in html
    assert 'data-status="at_risk"' in html
    assert f'href="{reverse("planning:work_order", args=[f"WO-MS{late.pk:05d}"])}"' in html


def test_the_htmx_refresh_gets_the_partial_with_its_filter(client, plant):
    # given
    order_line(plant, item=plant.bought)
    tomorrow = order_line(plant, item=plant.bought, due=plant.tomorrow)
    client.force_login(user_with_role(PLANNER, username="ms-planner"))
    # when
    response = client.get(reverse("shipping:mustship") + "?due=tomorrow", **HX)
    # then
    html = response.content.decode()
    assert response.templates[0].name == "shipping/_mustship_board.html"
    assert "<html" not in html
    assert response["Vary"].count("HX-Request") == 1
    assert f'hx-get="{reverse("shipping:mustship")}?due=tomorrow"' in html
    assert 'data-due="tomorrow" aria-current="page"' in html
    assert [row.line.pk for row in response.context["board"].rows] == [tomorrow.pk]


def test_bad_filters_fall_back(client, plant):
    # given
    order_line(plant, item=plant.bought)
    client.force_login(user_with_role(PLANNER, username="ms-planner"))
    # when
    response = client.get(reverse("shipping:mustship") + "?due=yesterday&page=x")
    # then
    assert response.status_code == 200
    assert response.context["board"].due == "all"
    assert response.context["board"].page == 1


def _bulk_lines(p: SimpleNamespace, n: int) -> None:
    """n open lines due today, each with an MTO work order (an operation on the down
    mill, a kit not staged), a planned shipment with a reservation of a held lot, and an
    open exception on its order."""
    orders = SalesOrder.objects.bulk_create(
        [
            SalesOrder(number=f"SO-B{i:05d}", customer=p.customer, state="in_production")
            for i in range(n)
        ]
    )
    lines = SalesOrderLine.objects.bulk_create(
        [
            SalesOrderLine(
                order=o,
                line_no=1,
                item=p.made,
                quantity=D(5),
                requested_date=p.today,
                promise_date=p.today,
            )
            for o in orders
        ]
    )
    wos = WorkOrder.objects.bulk_create(
        [
            WorkOrder(
                number=f"WO-B{i:05d}",
                kind="mto",
                item=p.made,
                quantity=D(5),
                sales_order_line=line,
                state="released",
            )
            for i, line in enumerate(lines)
        ]
    )
    end = timezone.now() + dt.timedelta(days=2)
    Operation.objects.bulk_create(
        [
            Operation(
                work_order=wo,
                sequence=10,
                name="Mill",
                work_center=p.mill,
                quantity_planned=D(5),
                state="ready",
                scheduled_start=end - dt.timedelta(hours=1),
                scheduled_end=end,
            )
            for wo in wos
        ]
    )
    Kit.objects.bulk_create(
        [
            Kit(number=f"KIT-B{i:05d}", work_order_id=wo.pk, staging_location=p.stock)
            for i, wo in enumerate(wos)
        ]
    )
    shipments = Shipment.objects.bulk_create(
        [Shipment(number=f"SH-B{i:05d}", customer=p.customer) for i in range(n)]
    )
    sls = ShipmentLine.objects.bulk_create(
        [
            ShipmentLine(shipment=s, sales_order_line=line, item=p.made, quantity=D(5))
            for s, line in zip(shipments, lines, strict=True)
        ]
    )
    lot = Lot.objects.create(item=p.made, number="L-BULK")
    QualityHold.objects.create(
        number="QH-BULK", scope="lot", lot=lot, reason_code=p.reason, note="held"
    )
    Reservation.objects.bulk_create(
        [
            Reservation(
                item=p.made,
                location=p.stock,
                lot=lot,
                quantity=D(5),
                demand_type="shipment",
                demand_id=sl.shipment_id,
                demand_ref="SH",
                demand_line=sl.pk,
            )
            for sl in sls
        ]
    )
    ct = ContentType.objects.get_for_model(SalesOrder)
    PlantException.objects.bulk_create(
        [
            PlantException(
                number=f"EX-B{i:05d}",
                title="late",
                content_type=ct,
                object_id=o.pk,
                severity="high",
                last_seen_at=timezone.now(),
            )
            for i, o in enumerate(orders)
        ]
    )


# Session, user and its two permission reads; the board (tally, lines, shipment lines,
# work orders with their kits, reservations, holds, stock, exceptions); the day's load (work
# centers, shifts, calendar, downtime, operations); the header's exception badge and roles.
PAGE_QUERIES = 19


@pytest.mark.parametrize("n", [10, 200])
def test_page_query_count_does_not_grow(client, plant, django_assert_num_queries, n):
    # given
    _bulk_lines(plant, n)
    client.force_login(user_with_role(PLANNER, username="ms-planner"))
    client.get(reverse("shipping:mustship"))  # content types and permissions cached
    # when
    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(reverse("shipping:mustship"))
    # then
    board = response.context["board"]
    assert len(board.rows) == min(n, MUST_SHIP_PER_PAGE)
    assert set(kinds(board.rows[0])) == {
        "operation_late",
        "work_center_down",
        "material_short",
        "quality_hold",
        "exception",
    }


def test_an_empty_board_runs_the_same_queries(client, plant, django_assert_num_queries):
    # given: nothing due
    client.force_login(user_with_role(PLANNER, username="ms-planner"))
    client.get(reverse("shipping:mustship"))
    # when
    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(reverse("shipping:mustship"))
    # then
    assert 'data-testid="mustship-empty"' in response.content.decode()
