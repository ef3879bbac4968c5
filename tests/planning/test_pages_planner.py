"""The planner's pages: work orders (list, new, from a sales order, detail and its
actions), the release board, schedule runs, Gantt and load charts, and the order-entry
capable-to-promise preview."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from mes.core.models import FieldChange, TransitionLog
from mes.core.roles import OPERATOR, WAREHOUSE
from orders.models import OrderState
from planning.models import Operation, ScheduleRun, WorkCenter, WorkOrder
from planning.services import work_order_create, work_order_release
from planning.services.scheduling import schedule_run
from tests.factories import UserFactory, make_order, user_with_role

from .test_work_orders import _stage_kit

pytestmark = pytest.mark.django_db


def _planned(shop, planner, quantity=20, **kwargs):  # type: ignore[no-untyped-def]
    return work_order_create(item=shop.bracket, quantity=quantity, user=planner, **kwargs)


def _messages(response):  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]] if response.context else []


def _follow_messages(client, response):  # type: ignore[no-untyped-def]
    page = client.get(response["Location"])
    return " ".join(str(m) for m in page.context["messages"])


# --- work order list -----------------------------------------------------------------------


def test_the_work_order_list_shows_open_work_orders_and_filters(client, shop, shop_planner):
    # given
    wo = _planned(shop, shop_planner)
    other = _planned(shop, shop_planner, quantity=5)
    WorkOrder.objects.filter(pk=other.pk).update(state="cancelled")
    client.force_login(shop_planner)
    # when
    page = client.get(reverse("planning:work_orders"))
    filtered = client.get(reverse("planning:work_orders"), {"state": "cancelled"})
    by_center = client.get(reverse("planning:work_orders"), {"work_center": "SAW", "item": "brack"})
    partial = client.get(reverse("planning:work_orders"), HTTP_HX_REQUEST="true")
    # then
    assert page.status_code == 200
    assert [w.number for w in page.context["work_orders"]] == [wo.number]
    assert [w.number for w in filtered.context["work_orders"]] == [other.number]
    assert [w.number for w in by_center.context["work_orders"]] == [wo.number]
    assert "planning/_work_orders_table.html" in [t.name for t in partial.templates]
    assert "planning/work_orders.html" not in [t.name for t in partial.templates]


def test_the_work_order_list_refuses_a_role_without_planning_and_sends_strangers_to_login(
    client, shop
):
    # given
    clerk = user_with_role(WAREHOUSE, username="clerk-x")
    # when
    client.force_login(clerk)
    refused = client.get(reverse("planning:work_orders"))
    client.logout()
    anonymous = client.get(reverse("planning:work_orders"))
    # then
    assert refused.status_code == 403
    assert anonymous.status_code == 302
    assert reverse("login") in anonymous["Location"]


def _bulk_work_orders(shop, n):  # type: ignore[no-untyped-def]
    """n planned work orders with their two operations, made quickly."""
    today = timezone.localdate()
    orders = WorkOrder.objects.bulk_create(
        [
            WorkOrder(
                number=f"WO-B{i:05d}",
                item=shop.bracket,
                quantity=Decimal(5),
                due_date=today + dt.timedelta(days=i % 9),
                priority_explanation=["promise date soon"],
            )
            for i in range(n)
        ]
    )
    Operation.objects.bulk_create(
        [
            Operation(
                work_order=wo,
                sequence=seq,
                name=name,
                work_center=wc,
                quantity_planned=Decimal(5),
            )
            for wo in orders
            for seq, name, wc in ((10, "Cut", shop.saw), (20, "Mill", shop.mill))
        ]
    )
    return orders


@pytest.mark.parametrize("n", [10, 200])
def test_the_work_order_list_and_release_board_query_counts_do_not_grow(
    client, shop, shop_planner, django_assert_num_queries, n
):
    # given
    _bulk_work_orders(shop, n)
    client.force_login(shop_planner)
    client.get(reverse("planning:work_orders"))  # warm the session and the content types
    # when
    with django_assert_num_queries(9):
        listed = client.get(reverse("planning:work_orders"))
    with django_assert_num_queries(18):
        board = client.get(reverse("planning:release_board"))
    # then
    assert listed.status_code == 200
    assert len(listed.context["work_orders"]) == min(n, 50)
    assert board.status_code == 200
    assert len(board.context["checks"]) == n


# --- new work order, from a sales order ---------------------------------------------------------


def test_a_planner_plans_a_make_to_stock_work_order_from_the_form(client, shop, shop_planner):
    # given
    client.force_login(shop_planner)
    due = timezone.localdate() + dt.timedelta(days=5)
    # when
    response = client.post(
        reverse("planning:work_order_create"),
        {"item": shop.bracket.pk, "quantity": "12", "due_date": due.isoformat(), "notes": "stock"},
    )
    # then
    wo = WorkOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("planning:work_order", args=[wo.number])
    assert (wo.kind, wo.quantity, wo.due_date, wo.state) == ("mts", Decimal("12"), due, "planned")
    assert wo.operations.count() == 2


@pytest.mark.parametrize(
    ("quantity", "field"), [("-3", "quantity"), ("0", "quantity"), ("lots", "quantity")]
)
def test_a_bad_quantity_on_the_new_work_order_form_is_shown_and_nothing_is_planned(
    client, shop, shop_planner, quantity, field
):
    # given
    client.force_login(shop_planner)
    # when
    response = client.post(
        reverse("planning:work_order_create"), {"item": shop.bracket.pk, "quantity": quantity}
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors.get(field) or response.context["form"].non_field_errors()
    assert WorkOrder.objects.count() == 0


def test_a_floor_lead_may_not_plan_work_orders(client, shop, shop_floor_lead):
    # given
    client.force_login(shop_floor_lead)
    # when
    page = client.get(reverse("planning:work_order_create"))
    posted = client.post(
        reverse("planning:work_order_create"), {"item": shop.bracket.pk, "quantity": "3"}
    )
    # then
    assert (page.status_code, posted.status_code) == (403, 403)
    assert WorkOrder.objects.count() == 0


def test_make_work_orders_on_a_confirmed_order_makes_one_per_made_line(client, shop, shop_planner):
    # given
    order = make_order(state=OrderState.CONFIRMED, lines=[(shop.bracket, 8), (shop.bought, 3)])
    client.force_login(shop_planner)
    detail = client.get(reverse("orders:detail", args=[order.number]))
    # when
    response = client.post(reverse("planning:from_sales_order", args=[order.number]))
    # then
    assert b'id="make-work-orders-button"' in detail.content
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:detail", args=[order.number])
    wo = WorkOrder.objects.get()
    assert (wo.kind, wo.quantity, wo.sales_order_line.order_id) == ("mto", Decimal(8), order.pk)
    assert wo.number in _follow_messages(client, response)


def test_make_work_orders_on_a_draft_is_refused_with_a_message(client, shop, shop_planner):
    # given
    order = make_order(state=OrderState.DRAFT, lines=[(shop.bracket, 8)])
    client.force_login(shop_planner)
    # when
    response = client.post(reverse("planning:from_sales_order", args=[order.number]))
    # then
    assert "made from confirmed orders" in _follow_messages(client, response)
    assert WorkOrder.objects.count() == 0


def test_make_work_orders_is_refused_to_a_floor_lead(client, shop, shop_floor_lead):
    # given
    order = make_order(state=OrderState.CONFIRMED, lines=[(shop.bracket, 8)])
    client.force_login(shop_floor_lead)
    # when
    response = client.post(reverse("planning:from_sales_order", args=[order.number]))
    # then
    assert response.status_code == 403
    assert WorkOrder.objects.count() == 0


# --- detail and actions ---------------------------------------------------------------------------


def test_the_work_order_page_shows_operations_priority_blockers_and_the_kit(
    client, shop, shop_planner
):
    # given
    wo = _planned(shop, shop_planner, due_date=timezone.localdate() + dt.timedelta(days=2))
    client.force_login(shop_planner)
    # when
    response = client.get(reverse("planning:work_order", args=[wo.number]))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert [op.sequence for op in response.context["operations"]] == [10, 20]
    assert "promise date in 2 days" in html
    assert [b.code for b in response.context["check"].blockers] == ["kit_not_staged"]
    assert 'data-code="kit_not_staged"' in html
    assert reverse("inventory:kits") in html
    assert 'id="override-button"' in html
    assert 'id="release-button"' not in html  # blocked: only the override is offered


def test_a_planner_releases_a_work_order_with_nothing_blocking(
    client, shop, shop_planner, shop_clerk
):
    # given
    wo = _planned(shop, shop_planner)
    _stage_kit(wo, shop_clerk)
    client.force_login(shop_planner)
    page = client.get(reverse("planning:work_order", args=[wo.number]))
    # when
    response = client.post(reverse("planning:release", args=[wo.number]))
    # then
    assert b'id="release-button"' in page.content
    assert response.status_code == 302
    assert WorkOrder.objects.get(pk=wo.pk).state == "released"
    assert "released to the floor" in _follow_messages(client, response)


def test_release_over_blockers_without_override_is_refused_and_nothing_changes(
    client, shop, shop_planner
):
    # given
    wo = _planned(shop, shop_planner)
    client.force_login(shop_planner)
    # when
    response = client.post(reverse("planning:release", args=[wo.number]))
    # then
    assert "cannot be released" in _follow_messages(client, response)
    assert WorkOrder.objects.get(pk=wo.pk).state == "planned"


def test_an_override_needs_a_reason_code_and_a_note(client, shop, shop_planner):
    # given
    wo = _planned(shop, shop_planner)
    client.force_login(shop_planner)
    # when
    no_code = client.post(
        reverse("planning:release", args=[wo.number]), {"override": "1", "override_note": "x"}
    )
    no_note = client.post(
        reverse("planning:release", args=[wo.number]),
        {"override": "1", "override_reason_code": "material"},
    )
    # then
    assert no_code.status_code == 400
    assert no_code.context["override_form"].errors["override_reason_code"]
    assert no_note.status_code == 400
    assert no_note.context["override_form"].errors["override_note"]
    assert WorkOrder.objects.get(pk=wo.pk).state == "planned"


def test_an_override_with_reason_and_note_releases_and_records_what_was_overridden(
    client, shop, shop_planner
):
    # given
    wo = _planned(shop, shop_planner)
    client.force_login(shop_planner)
    # when
    response = client.post(
        reverse("planning:release", args=[wo.number]),
        {"override": "1", "override_reason_code": "material", "override_note": "kit on its way"},
    )
    # then
    assert response.status_code == 302
    assert WorkOrder.objects.get(pk=wo.pk).state == "released"
    log = TransitionLog.objects.get(object_id=wo.pk, transition="release")
    assert log.reason_code.code == "material"
    assert "kit on its way" in log.comment
    assert "not staged" in log.comment


def test_an_override_needs_the_override_permission(client, shop, shop_planner):
    # given: someone who may release but not override
    wo = _planned(shop, shop_planner)
    releaser = UserFactory(username="releaser")
    releaser.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_workorder", "release_workorder"])
    )
    client.force_login(User.objects.get(pk=releaser.pk))
    # when
    response = client.post(
        reverse("planning:release", args=[wo.number]),
        {"override": "1", "override_reason_code": "material", "override_note": "go"},
    )
    # then
    assert response.status_code == 403
    assert WorkOrder.objects.get(pk=wo.pk).state == "planned"


def test_a_floor_lead_may_not_release(client, shop, shop_planner, shop_floor_lead, shop_clerk):
    # given
    wo = _planned(shop, shop_planner)
    _stage_kit(wo, shop_clerk)
    client.force_login(shop_floor_lead)
    # when
    response = client.post(reverse("planning:release", args=[wo.number]))
    # then
    assert response.status_code == 403
    assert WorkOrder.objects.get(pk=wo.pk).state == "planned"


def test_hold_needs_a_reason_then_holds_and_the_hold_is_released(client, shop, shop_planner):
    # given
    wo = _planned(shop, shop_planner)
    client.force_login(shop_planner)
    url = reverse("planning:transition", args=[wo.number, "hold"])
    # when
    refused = client.post(url, {"reason_code": "", "comment": ""})
    held = client.post(url, {"reason_code": "quality", "comment": "check the drawing"})
    state_held = WorkOrder.objects.get(pk=wo.pk).state
    back = client.post(reverse("planning:transition", args=[wo.number, "release_hold"]))
    # then
    assert refused.status_code == 400
    assert refused.context["transitions"]  # the page comes back with the hold panel open
    assert refused.context["open_panel"] == "hold"
    assert held.status_code == 302
    assert back.status_code == 302
    assert state_held == "on_hold"
    assert WorkOrder.objects.get(pk=wo.pk).state == "planned"


def test_an_illegal_transition_is_refused_naming_what_is_allowed(client, shop, shop_planner):
    # given
    wo = _planned(shop, shop_planner)
    client.force_login(shop_planner)
    # when
    response = client.post(reverse("planning:transition", args=[wo.number, "close"]))
    # then
    text = _follow_messages(client, response)
    assert "Close is not possible while" in text
    assert "Allowed now:" in text
    assert WorkOrder.objects.get(pk=wo.pk).state == "planned"


def test_a_planner_cancels_with_a_reason(client, shop, shop_planner):
    # given
    wo = _planned(shop, shop_planner)
    client.force_login(shop_planner)
    # when
    client.post(
        reverse("planning:transition", args=[wo.number, "cancel"]),
        {"reason_code": "customer-request", "comment": "no longer needed"},
    )
    # then
    assert WorkOrder.objects.get(pk=wo.pk).state == "cancelled"
    assert set(Operation.objects.filter(work_order=wo).values_list("state", flat=True)) == {
        "cancelled"
    }


def test_a_floor_lead_may_not_cancel(client, shop, shop_planner, shop_floor_lead):
    # given
    wo = _planned(shop, shop_planner)
    client.force_login(shop_floor_lead)
    # when
    response = client.post(
        reverse("planning:transition", args=[wo.number, "cancel"]),
        {"reason_code": "other", "comment": "x"},
    )
    # then
    assert response.status_code == 403
    assert WorkOrder.objects.get(pk=wo.pk).state == "planned"


def test_expedite_toggles_with_a_reason_and_the_priority_explains_it(client, shop, shop_planner):
    # given
    wo = _planned(shop, shop_planner)
    client.force_login(shop_planner)
    url = reverse("planning:expedite", args=[wo.number])
    # when
    refused = client.post(url, {"reason_code": "", "reason_text": ""})
    on = client.post(url, {"reason_code": "expedite", "reason_text": "customer line down"})
    after_on = WorkOrder.objects.get(pk=wo.pk)
    off = client.post(url, {"reason_code": "other", "reason_text": "resolved"})
    # then
    assert refused.status_code == 400
    assert refused.context["open_panel"] == "expedite"
    assert on.status_code == 302
    assert off.status_code == 302
    assert after_on.expedite is True
    assert any("customer line down" in why for why in after_on.priority_explanation)
    assert WorkOrder.objects.get(pk=wo.pk).expedite is False
    assert FieldChange.objects.filter(field="expedite", object_id=wo.pk).count() == 2


def test_a_floor_lead_may_not_expedite(client, shop, shop_planner, shop_floor_lead):
    # given
    wo = _planned(shop, shop_planner)
    client.force_login(shop_floor_lead)
    # when
    response = client.post(
        reverse("planning:expedite", args=[wo.number]),
        {"reason_code": "expedite", "reason_text": "x"},
    )
    # then
    assert response.status_code == 403
    assert WorkOrder.objects.get(pk=wo.pk).expedite is False


# --- release board -------------------------------------------------------------------------------


def test_the_release_board_lists_every_blocking_reason_with_its_link(client, shop, shop_planner):
    # given: one with a kit not staged, one whose work center is down
    wo = _planned(shop, shop_planner)
    WorkCenter.objects.filter(pk=shop.saw.pk).update(status="down")
    client.force_login(shop_planner)
    # when
    response = client.get(reverse("planning:release_board"))
    # then
    html = response.content.decode()
    row = next(c for c in response.context["checks"] if c.work_order.pk == wo.pk)
    assert sorted(b.code for b in row.blockers) == ["kit_not_staged", "work_center_down"]
    assert reverse("planning:dispatch", args=["SAW"]) in html
    assert reverse("inventory:kits") in html
    assert 'hx-trigger="every 5s' in html


def test_a_releasable_work_order_is_released_from_the_board(client, shop, shop_planner, shop_clerk):
    # given
    wo = _planned(shop, shop_planner)
    _stage_kit(wo, shop_clerk)
    client.force_login(shop_planner)
    board = client.get(reverse("planning:release_board"))
    # when
    response = client.post(reverse("planning:release", args=[wo.number]), {"next": "board"})
    # then
    assert f'id="release-{wo.number}"'.encode() in board.content
    assert response["Location"] == reverse("planning:release_board")
    assert WorkOrder.objects.get(pk=wo.pk).state == "released"


def test_the_release_board_is_refused_to_a_floor_lead(client, shop, shop_floor_lead):
    client.force_login(shop_floor_lead)
    assert client.get(reverse("planning:release_board")).status_code == 403


# --- schedule, Gantt, load -----------------------------------------------------------------------


def _released_pair(shop, planner, clerk):  # type: ignore[no-untyped-def]
    out = []
    for quantity, days in ((10, 1), (6, 3)):
        wo = _planned(
            shop, planner, quantity=quantity, due_date=timezone.localdate() + dt.timedelta(days)
        )
        _stage_kit(wo, clerk)
        out.append(work_order_release(work_order=wo, user=planner))
    return out


def test_the_schedule_page_shows_the_last_runs_and_re_runs_on_demand(
    client, shop, shop_planner, shop_clerk
):
    # given
    _released_pair(shop, shop_planner, shop_clerk)
    schedule_run(trigger="first")
    client.force_login(shop_planner)
    # when
    response = client.post(reverse("planning:schedule_run"))
    page = client.get(reverse("planning:schedule"))
    # then
    assert response.status_code == 302
    assert ScheduleRun.objects.count() == 2
    latest = ScheduleRun.objects.order_by("-started_at").first()
    assert latest.requested_by == shop_planner
    assert page.context["latest"] == latest
    html = page.content.decode()
    assert "Weighted tardiness" in html
    assert latest.solver_status in html
    assert 'data-testid="schedule-run"' in html


def test_re_running_the_schedule_is_refused_to_an_operator(client, shop):
    # given
    operator = user_with_role(OPERATOR, username="op-sched")
    client.force_login(operator)
    # when
    response = client.post(reverse("planning:schedule_run"))
    # then
    assert response.status_code == 403
    assert ScheduleRun.objects.count() == 0


def test_the_gantt_draws_lanes_per_machine_and_per_order_with_late_and_downtime(
    client, shop, shop_planner, shop_clerk, shop_floor_lead
):
    # given: a work order due yesterday is late; SAW is down for a while
    first, second = _released_pair(shop, shop_planner, shop_clerk)
    WorkOrder.objects.filter(pk=first.pk).update(
        due_date=timezone.localdate() - dt.timedelta(days=1)
    )
    from planning.services import downtime_report

    downtime_report(
        work_center=shop.saw,
        user=shop_floor_lead,
        reason_code="capacity",
        expected_end=timezone.now() + dt.timedelta(hours=2),
    )
    schedule_run(trigger="test")
    client.force_login(shop_planner)
    # when
    plant = client.get(reverse("planning:gantt"), {"days": "3"})
    mill = client.get(reverse("planning:gantt"), {"work_center": "MILL"})
    order = client.get(reverse("planning:gantt"), {"wo": second.number})
    # then
    html = plant.content.decode()
    assert plant.status_code == 200
    for lane in ("SAW #1", "MILL #1", "MILL #2"):
        assert f">{lane}</text>" in html
    assert 'data-kind="operation"' in html
    assert 'data-kind="downtime"' in html
    assert 'data-late="1"' in html
    assert "SAW #1" not in mill.content.decode()
    order_html = order.content.decode()
    assert f"{second.number}/10" in order_html
    assert first.number not in order_html


def test_the_gantt_is_refused_to_a_warehouse_clerk(client, shop, shop_clerk):
    client.force_login(shop_clerk)
    assert client.get(reverse("planning:gantt")).status_code == 403


def test_the_load_chart_shows_load_against_capacity_per_work_center_and_day(
    client, shop, shop_planner, shop_clerk
):
    # given
    _released_pair(shop, shop_planner, shop_clerk)
    schedule_run(trigger="test")
    client.force_login(shop_planner)
    # when
    response = client.get(reverse("planning:load"), {"days": "7"})
    # then
    assert response.status_code == 200
    rows = {row.work_center.code: row for row in response.context["rows"]}
    assert set(rows) == {"SAW", "MILL"}
    assert len(rows["SAW"].cells) == 7
    assert sum(c.load_minutes for c in rows["SAW"].cells) > 0
    assert 'data-testid="load-cell"' in response.content.decode()


def test_the_load_chart_opens_for_sales_roles_and_refuses_a_user_without_one(client, shop):
    # given
    clerk = user_with_role(WAREHOUSE, username="reads-orders")
    nobody = UserFactory(username="no-role")
    # when
    client.force_login(clerk)
    seen = client.get(reverse("planning:load"))
    client.force_login(User.objects.get(pk=nobody.pk))
    refused = client.get(reverse("planning:load"))
    # then
    assert seen.status_code == 200
    assert refused.status_code == 403


# --- order entry: capable to promise --------------------------------------------------------------


def test_the_order_form_previews_the_capable_to_promise_date_per_line(client, shop, shop_planner):
    # given
    client.force_login(shop_planner)
    requested = timezone.localdate() + dt.timedelta(days=3)
    form = client.get(reverse("orders:create"))
    # when
    response = client.get(
        reverse("orders:promise_preview"),
        {
            "lines-0-item": shop.bracket.pk,
            "lines-0-quantity": "10",
            "lines-0-requested_date": requested.isoformat(),
        },
    )
    # then
    assert reverse("orders:promise_preview") in form.content.decode()
    promise = response.context["promise"]
    assert promise is not None
    assert promise.date >= requested
    assert f'data-date="{promise.date:%Y-%m-%d}"' in response.content.decode()


def test_the_promise_preview_of_a_bought_item_says_lead_time_and_of_nothing_says_nothing(
    client, shop, shop_planner
):
    # given
    client.force_login(shop_planner)
    # when
    bought = client.get(
        reverse("orders:promise_preview"),
        {"lines-1-item": shop.bought.pk, "lines-1-quantity": "4", "lines-1-requested_date": ""},
    )
    empty = client.get(reverse("orders:promise_preview"), {"lines-0-quantity": "-2"})
    # then
    assert "lead time" in bought.content.decode()
    assert bought.context["promise"] is None
    assert empty.content.decode().strip() == ""


def test_the_promise_preview_is_refused_to_a_role_without_orders(client, shop):
    operator = user_with_role(OPERATOR, username="op-promise")
    client.force_login(operator)
    assert client.get(reverse("orders:promise_preview")).status_code == 403
