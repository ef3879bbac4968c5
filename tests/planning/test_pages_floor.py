"""The floor lead's tablet: sign in to a work center, the dispatch list, actions named by
an operator's badge or PIN, downtime and bringing a work center up, the idle lock."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from mes.core.models import TransitionLog
from mes.core.roles import OPERATOR, PLANNER
from planning.admin import OperatorBadgeForm
from planning.models import (
    Downtime,
    LabourEntry,
    Operation,
    OperationReport,
    OperatorBadge,
    WorkCenter,
    WorkOrder,
)
from planning.services import (
    operator_badge_set,
    operator_identify,
    pin_digest,
    work_order_create,
    work_order_release,
)
from planning.services.scheduling import schedule_run
from tests.factories import user_with_role

from .test_work_orders import _stage_kit

pytestmark = pytest.mark.django_db

BADGE = "B-0001"
PIN = "4711"


@pytest.fixture
def operator(db):  # type: ignore[no-untyped-def]
    user = user_with_role(OPERATOR, username="olga", first_name="Olga", last_name="Turner")
    operator_badge_set(user=user, badge_code=BADGE, pin=PIN)
    return user


@pytest.fixture
def floor(shop, shop_planner, shop_clerk, operator):  # type: ignore[no-untyped-def]
    """Two released work orders, scheduled; the first is due first."""
    released = []
    for quantity, days in ((10, 1), (6, 4)):
        wo = work_order_create(
            item=shop.bracket,
            quantity=quantity,
            user=shop_planner,
            due_date=timezone.localdate() + dt.timedelta(days=days),
        )
        _stage_kit(wo, shop_clerk)
        released.append(work_order_release(work_order=wo, user=shop_planner))
    schedule_run(trigger="test")
    shop.work_orders = released
    shop.cuts = [wo.operations.get(sequence=10) for wo in released]
    return shop


@pytest.fixture
def tablet(client, floor, shop_floor_lead):  # type: ignore[no-untyped-def]
    """The client as a tablet a floor lead signed in to SAW."""
    client.force_login(shop_floor_lead)
    client.post(reverse("planning:tablet_sign_in"), {"work_center": "SAW"})
    return client


def _action(code, op, action):  # type: ignore[no-untyped-def]
    return reverse("planning:operation_action", args=[code, op.pk, action])


def _fresh(op):  # type: ignore[no-untyped-def]
    return Operation.objects.get(pk=op.pk)


def _first_saw(floor):  # type: ignore[no-untyped-def]
    """The cut the dispatch list puts first."""
    return min(floor.cuts, key=lambda op: _fresh(op).dispatch_rank)


def _second_saw(floor):  # type: ignore[no-untyped-def]
    return max(floor.cuts, key=lambda op: _fresh(op).dispatch_rank)


def _start_log(op):  # type: ignore[no-untyped-def]
    return TransitionLog.objects.get(
        content_type__model="operation", object_id=op.pk, transition="start"
    )


def _start(client, floor, code=BADGE):  # type: ignore[no-untyped-def]
    op = _first_saw(floor)
    client.post(_action("SAW", op, "start"), {"operator": code})
    return op


# --- sign-in and the dispatch list ----------------------------------------------------------


def test_a_floor_lead_signs_the_tablet_in_to_a_work_center(client, floor, shop_floor_lead):
    # given
    client.force_login(shop_floor_lead)
    start = client.get(reverse("planning:tablet"))
    # when
    response = client.post(reverse("planning:tablet_sign_in"), {"work_center": "SAW"})
    again = client.get(reverse("planning:tablet"))
    # then
    assert b'id="sign-in-SAW"' in start.content
    assert response["Location"] == reverse("planning:dispatch", args=["SAW"])
    assert client.session["tablet_work_center"] == "SAW"
    assert client.session["tablet_signed_in_by"] == shop_floor_lead.get_full_name()
    assert again["Location"] == reverse("planning:dispatch", args=["SAW"])


def test_an_operator_may_not_sign_a_tablet_in_and_a_clerk_sees_no_tablet(
    client, floor, operator, shop_clerk
):
    # when
    client.force_login(operator)
    own = client.get(reverse("planning:tablet"))
    refused = client.post(reverse("planning:tablet_sign_in"), {"work_center": "SAW"})
    client.force_login(shop_clerk)
    clerk = client.get(reverse("planning:tablet"))
    # then
    assert own.status_code == 200
    assert b'id="sign-in-SAW"' not in own.content
    assert refused.status_code == 403
    assert "tablet_work_center" not in client.session
    assert clerk.status_code == 403


def test_floor_lead_and_operator_land_on_the_tablet_and_the_planner_on_orders(client, floor):
    # given
    lead = user_with_role("Floor lead", username="lead-home")
    planner = user_with_role(PLANNER, username="planner-home")
    # when
    client.force_login(lead)
    lead_home = client.get(reverse("home"))
    client.force_login(planner)
    planner_home = client.get(reverse("home"))
    # then
    assert lead_home["Location"] == reverse("planning:tablet")
    assert planner_home["Location"] == reverse("orders:list")


def test_the_dispatch_list_shows_operations_in_scheduled_order_with_why_and_material(tablet, floor):
    # when
    response = tablet.get(reverse("planning:dispatch", args=["SAW"]))
    # then
    html = response.content.decode()
    rows = response.context["rows"]
    assert [r.operation.pk for r in rows] == [_first_saw(floor).pk, _second_saw(floor).pk]
    assert rows[0].material == "staged"
    assert "promise date in" in html
    assert f'id="start-{_first_saw(floor).pk}"' in html
    assert 'hx-trigger="every 3s' in html


def test_the_dispatch_list_refreshes_itself_as_a_fragment(tablet, floor):
    # when
    response = tablet.get(
        reverse("planning:dispatch", args=["SAW"]), {"poll": "1"}, HTTP_HX_REQUEST="true"
    )
    # then
    names = [t.name for t in response.templates]
    assert "planning/_dispatch_list.html" in names
    assert "planning/dispatch.html" not in names


def test_a_dispatch_list_seen_from_an_unsigned_tablet_is_read_only(client, floor, shop_planner):
    # given
    client.force_login(shop_planner)
    # when
    response = client.get(reverse("planning:dispatch", args=["SAW"]))
    start = client.post(_action("SAW", _first_saw(floor), "start"), {"operator": BADGE})
    # then
    assert response.status_code == 200
    assert b'data-testid="read-only"' in response.content
    assert b'id="start-' not in response.content
    assert start["Location"] == reverse("planning:tablet")
    assert _fresh(_first_saw(floor)).state == "ready"


def test_the_dispatch_list_is_refused_to_a_clerk(client, floor, shop_clerk):
    client.force_login(shop_clerk)
    assert client.get(reverse("planning:dispatch", args=["SAW"])).status_code == 403


def _bulk_ready_operations(shop, n):  # type: ignore[no-untyped-def]
    orders = WorkOrder.objects.bulk_create(
        [
            WorkOrder(
                number=f"WO-D{i:05d}",
                item=shop.bracket,
                quantity=Decimal(5),
                state="released",
                due_date=timezone.localdate() + dt.timedelta(days=i % 7),
                priority_explanation=["x", "customer class B"],
            )
            for i in range(n)
        ]
    )
    Operation.objects.bulk_create(
        [
            Operation(
                work_order=wo,
                sequence=10,
                name="Cut",
                work_center=shop.saw,
                changeover_family=shop.families["cut" if i % 2 else "alu"],
                quantity_planned=Decimal(5),
                quantity_available=Decimal(5),
                state="ready",
                dispatch_rank=i + 1,
                scheduled_start=timezone.now() + dt.timedelta(minutes=10 * i),
                scheduled_end=timezone.now() + dt.timedelta(minutes=10 * i + 8),
            )
            for i, wo in enumerate(orders)
        ]
    )


@pytest.mark.parametrize("n", [10, 200])
def test_the_dispatch_list_page_query_count_does_not_grow(
    client, shop, shop_floor_lead, django_assert_num_queries, n
):
    # given
    _bulk_ready_operations(shop, n)
    client.force_login(shop_floor_lead)
    client.post(reverse("planning:tablet_sign_in"), {"work_center": "SAW"})
    client.get(reverse("planning:dispatch", args=["SAW"]))
    # when
    with django_assert_num_queries(14):
        response = client.get(reverse("planning:dispatch", args=["SAW"]))
    # then
    assert response.status_code == 200
    assert len(response.context["rows"]) == min(n, 25)


# --- actions named by a badge or PIN ------------------------------------------------------------


def test_an_operator_starts_the_first_operation_with_a_badge_and_the_record_names_them(
    tablet, floor, operator
):
    # given
    op = _first_saw(floor)
    page = tablet.get(_action("SAW", op, "start"))
    # when
    response = tablet.post(_action("SAW", op, "start"), {"operator": BADGE})
    # then
    assert page.status_code == 200
    assert b'name="operator"' in page.content
    assert response["Location"] == reverse("planning:dispatch", args=["SAW"])
    assert _fresh(op).state == "running"
    log = _start_log(op)
    assert log.actor == operator
    assert LabourEntry.objects.filter(operation=op, operator=operator).exists()


def test_a_pin_identifies_the_operator_too(tablet, floor, operator):
    # when
    op = _start(tablet, floor, code=PIN)
    # then
    assert _fresh(op).state == "running"
    assert _start_log(op).actor == operator


@pytest.mark.parametrize("code", ["", "B-9999", "0000"])
def test_an_unknown_badge_is_refused_on_the_screen_and_nothing_starts(tablet, floor, code):
    # given
    op = _first_saw(floor)
    # when
    response = tablet.post(_action("SAW", op, "start"), {"operator": code})
    # then
    assert response.status_code == 400
    assert response.context["form"].errors["operator"]
    assert b'data-testid="error-operator"' in response.content
    assert _fresh(op).state == "ready"


def test_a_badge_without_the_permission_to_run_is_refused(tablet, floor):
    # given: a planner's badge
    planner = user_with_role(PLANNER, username="badge-planner")
    operator_badge_set(user=planner, badge_code="B-PLAN")
    op = _first_saw(floor)
    # when
    response = tablet.post(_action("SAW", op, "start"), {"operator": "B-PLAN"})
    # then
    assert response.status_code == 400
    assert "not allowed" in response.content.decode()
    assert _fresh(op).state == "ready"


def test_starting_out_of_sequence_asks_for_a_reason_and_records_it(tablet, floor):
    # given
    second = _second_saw(floor)
    page = tablet.get(_action("SAW", second, "start"))
    # when
    refused = tablet.post(_action("SAW", second, "start"), {"operator": BADGE})
    state_after_refusal = _fresh(second).state
    started = tablet.post(
        _action("SAW", second, "start"),
        {"operator": BADGE, "out_of_sequence_reason": "blade for this one is on"},
    )
    # then
    assert b'data-testid="out-of-sequence"' in page.content
    assert refused.status_code == 400
    assert refused.context["form"].errors["out_of_sequence_reason"]
    assert state_after_refusal == "ready"
    assert started.status_code == 302
    log = _start_log(second)
    assert "blade for this one is on" in log.comment


def test_starting_an_operation_routed_elsewhere_is_refused(client, floor, shop_floor_lead):
    # given: a tablet at MILL; the cut belongs to SAW, which refuses reports off the routing
    client.force_login(shop_floor_lead)
    client.post(reverse("planning:tablet_sign_in"), {"work_center": "MILL"})
    op = _first_saw(floor)
    # when
    response = client.post(_action("MILL", op, "start"), {"operator": BADGE})
    # then
    assert response.status_code == 400
    assert "is routed to SAW, not MILL" in response.content.decode()
    assert _fresh(op).state == "ready"


def test_an_action_for_a_work_center_the_tablet_is_not_signed_in_to_is_refused(tablet, floor):
    # given
    op = _first_saw(floor)
    # when
    response = tablet.post(_action("MILL", op, "start"), {"operator": BADGE})
    # then
    assert response["Location"] == reverse("planning:tablet")
    assert _fresh(op).state == "ready"


def test_pause_needs_a_reason_then_resume(tablet, floor):
    # given
    op = _start(tablet, floor)
    # when
    refused = tablet.post(_action("SAW", op, "pause"), {"operator": BADGE, "reason_code": ""})
    state_after_refusal = _fresh(op).state
    paused = tablet.post(
        _action("SAW", op, "pause"), {"operator": BADGE, "reason_code": "material", "note": "x"}
    )
    state_paused = _fresh(op).state
    resumed = tablet.post(_action("SAW", op, "resume"), {"operator": BADGE})
    # then
    assert refused.status_code == 400
    assert refused.context["form"].errors["reason_code"]
    assert state_after_refusal == "running"
    assert paused.status_code == 302
    assert state_paused == "paused"
    assert resumed.status_code == 302
    assert _fresh(op).state == "running"


def test_resuming_a_running_operation_is_refused_naming_what_is_allowed(tablet, floor):
    # given
    op = _start(tablet, floor)
    # when
    response = tablet.post(_action("SAW", op, "resume"), {"operator": BADGE})
    # then
    assert response.status_code == 400
    assert "Allowed now" in response.content.decode()
    assert _fresh(op).state == "running"


def test_a_partial_report_passes_good_quantity_downstream(tablet, floor):
    # given
    op = _start(tablet, floor)
    # when
    response = tablet.post(
        _action("SAW", op, "report"), {"operator": BADGE, "good": "4", "final": "0"}
    )
    # then
    assert response.status_code == 302
    fresh = _fresh(op)
    assert (fresh.quantity_good, fresh.state) == (Decimal("4"), "running")
    nxt = Operation.objects.get(work_order_id=op.work_order_id, sequence=20)
    assert nxt.quantity_available == Decimal("4")
    assert OperationReport.objects.get(operation=op).operator.username == "olga"


@pytest.mark.parametrize(
    ("post", "field"),
    [
        ({"good": "-1"}, "good"),
        ({"good": "999"}, "good"),
        ({"good": "lots"}, "good"),
        ({"good": "1", "scrap": "1"}, "scrap_reason"),
        ({}, "good"),
    ],
)
def test_bad_quantities_are_refused_on_the_screen_and_nothing_is_reported(
    tablet, floor, post, field
):
    # given
    op = _start(tablet, floor)
    # when
    response = tablet.post(_action("SAW", op, "report"), {"operator": BADGE, **post})
    # then
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert f'data-testid="error-{field}"'.encode() in response.content
    fresh = _fresh(op)
    assert (fresh.quantity_good, fresh.quantity_scrap, fresh.state) == (0, 0, "running")
    assert not OperationReport.objects.filter(operation=op).exists()


def test_a_final_report_with_scrap_finishes_the_operation(tablet, floor):
    # given
    op = _start(tablet, floor)
    remaining = _fresh(op).quantity_remaining
    # when
    response = tablet.post(
        _action("SAW", op, "report"),
        {
            "operator": BADGE,
            "good": str(remaining - 2),
            "scrap": "2",
            "scrap_reason": "process-scrap",
            "final": "1",
        },
    )
    # then
    assert response.status_code == 302
    fresh = _fresh(op)
    assert (fresh.state, fresh.quantity_scrap) == ("done", Decimal("2"))
    assert OperationReport.objects.get(operation=op).scrap_reason.code == "process-scrap"


def test_finishing_with_quantity_left_is_refused(tablet, floor):
    # given
    op = _start(tablet, floor)
    # when
    response = tablet.post(
        _action("SAW", op, "report"), {"operator": BADGE, "good": "1", "final": "1"}
    )
    # then
    assert response.status_code == 400
    assert "cannot finish yet" in response.content.decode()
    assert _fresh(op).quantity_good == 0


def test_operators_clock_on_and_off_a_running_operation(tablet, floor):
    # given
    op = _start(tablet, floor)
    second = user_with_role(OPERATOR, username="sam")
    operator_badge_set(user=second, badge_code="B-0002")
    # when
    on = tablet.post(_action("SAW", op, "clock_on"), {"operator": "B-0002"})
    off = tablet.post(_action("SAW", op, "clock_off"), {"operator": "B-0002"})
    again = tablet.post(_action("SAW", op, "clock_off"), {"operator": "B-0002"})
    # then
    assert on.status_code == 302
    assert off.status_code == 302
    entry = LabourEntry.objects.get(operation=op, operator=second)
    assert entry.clock_off is not None
    assert again.status_code == 400
    assert "is not clocked on" in again.content.decode()


def test_an_unknown_action_is_not_found(tablet, floor):
    response = tablet.post(_action("SAW", _first_saw(floor), "explode"), {"operator": BADGE})
    assert response.status_code == 404


# --- downtime and bringing the work center up -----------------------------------------------------


def test_the_floor_lead_reports_downtime_and_the_list_shows_who_may_bring_it_up(
    tablet, floor, shop_floor_lead
):
    # given
    op = _start(tablet, floor)
    expected = (timezone.localtime() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    # when
    response = tablet.post(
        reverse("planning:downtime", args=["SAW"]),
        {"reason_code": "capacity", "note": "blade broke", "expected_end": expected},
    )
    page = tablet.get(reverse("planning:dispatch", args=["SAW"]))
    # then
    assert response.status_code == 302
    assert WorkCenter.objects.get(pk=floor.saw.pk).status == "down"
    down = Downtime.objects.get(work_center=floor.saw)
    assert (down.reported_by, down.note) == (shop_floor_lead, "blade broke")
    assert down.expected_end is not None
    assert _fresh(op).state == "paused"
    html = page.content.decode()
    assert 'data-testid="work-center-down"' in html
    assert shop_floor_lead.get_username() in page.context["may_bring_up"][0].username or any(
        u == shop_floor_lead for u in page.context["may_bring_up"]
    )
    assert 'id="bring-up-button"' in html
    assert f'id="resume-{op.pk}"' not in html


def test_downtime_needs_a_reason_and_an_operator_badge_may_not_report_it(tablet, floor):
    # when
    no_reason = tablet.post(reverse("planning:downtime", args=["SAW"]), {"reason_code": ""})
    by_operator = tablet.post(
        reverse("planning:downtime", args=["SAW"]), {"reason_code": "capacity", "operator": BADGE}
    )
    # then
    assert no_reason.status_code == 400
    assert no_reason.context["form"].errors["reason_code"]
    assert by_operator.status_code == 400
    assert "not allowed to report downtime" in by_operator.content.decode()
    assert WorkCenter.objects.get(pk=floor.saw.pk).status == "up"
    assert not Downtime.objects.exists()


def test_the_signed_in_floor_lead_brings_the_work_center_up_in_one_step(tablet, floor):
    # given
    tablet.post(reverse("planning:downtime", args=["SAW"]), {"reason_code": "capacity"})
    # when
    response = tablet.post(reverse("planning:bring_up", args=["SAW"]))
    # then
    assert response.status_code == 302
    assert WorkCenter.objects.get(pk=floor.saw.pk).status == "up"
    assert Downtime.objects.get().ended_at is not None


def test_another_floor_lead_brings_it_up_with_a_badge_but_an_operator_may_not(tablet, floor):
    # given
    tablet.post(reverse("planning:downtime", args=["SAW"]), {"reason_code": "capacity"})
    other_lead = user_with_role("Floor lead", username="lead-two")
    operator_badge_set(user=other_lead, badge_code="B-LEAD2")
    # when
    refused = tablet.post(reverse("planning:bring_up", args=["SAW"]), {"operator": BADGE})
    still_down = WorkCenter.objects.get(pk=floor.saw.pk).status
    done = tablet.post(reverse("planning:bring_up", args=["SAW"]), {"operator": "B-LEAD2"})
    # then
    assert "not allowed to bring work centers up" in " ".join(
        str(m) for m in tablet.get(refused["Location"]).context["messages"]
    )
    assert still_down == "down"
    assert done.status_code == 302
    down = Downtime.objects.get()
    assert (down.ended_by, WorkCenter.objects.get(pk=floor.saw.pk).status) == (other_lead, "up")


def test_bringing_up_a_work_center_that_is_up_is_refused(tablet, floor):
    response = tablet.post(reverse("planning:bring_up", args=["SAW"]))
    page = tablet.get(response["Location"])
    assert "SAW is not down" in " ".join(str(m) for m in page.context["messages"])


def test_a_planner_may_look_at_a_down_work_center_but_not_bring_it_up(
    client, tablet, floor, shop_planner
):
    # given
    tablet.post(reverse("planning:downtime", args=["SAW"]), {"reason_code": "capacity"})
    client.force_login(shop_planner)
    # when
    page = client.get(reverse("planning:dispatch", args=["SAW"]))
    response = client.post(reverse("planning:bring_up", args=["SAW"]))
    # then
    assert b'data-testid="may-bring-up"' in page.content
    assert b'id="bring-up-button"' not in page.content
    assert response.status_code == 302
    assert WorkCenter.objects.get(pk=floor.saw.pk).status == "down"


# --- the idle lock -------------------------------------------------------------------------------


def _idle(client):  # type: ignore[no-untyped-def]
    session = client.session
    session["tablet_last_activity"] = time.time() - 3600
    session.save()


def test_an_idle_tablet_locks_back_to_the_badge_prompt_and_a_badge_unlocks_it(
    tablet, floor, settings
):
    # given
    settings.TABLET_IDLE_LOCK_MINUTES = 5
    _idle(tablet)
    op = _first_saw(floor)
    # when
    locked = tablet.get(reverse("planning:dispatch", args=["SAW"]))
    poll = tablet.get(
        reverse("planning:dispatch", args=["SAW"]), {"poll": "1"}, HTTP_HX_REQUEST="true"
    )
    action = tablet.post(_action("SAW", op, "start"), {"operator": BADGE})
    bad = tablet.post(reverse("planning:tablet_unlock"), {"operator": "nope"})
    still_locked = tablet.get(reverse("planning:dispatch", args=["SAW"]))
    unlocked = tablet.post(reverse("planning:tablet_unlock"), {"operator": PIN})
    page = tablet.get(reverse("planning:dispatch", args=["SAW"]))
    # then
    assert b'data-testid="tablet-locked"' in locked.content
    assert poll["HX-Refresh"] == "true"
    assert action["Location"] == reverse("planning:dispatch", args=["SAW"])
    assert _fresh(op).state == "ready"
    assert bad.status_code == 302
    assert b'data-testid="tablet-locked"' in still_locked.content
    assert unlocked.status_code == 302
    assert b'data-testid="dispatch-list"' in page.content
    assert tablet.session["tablet_work_center"] == "SAW"  # the sign-in stays


def test_the_lock_button_locks_at_once(tablet, floor):
    # when
    tablet.post(reverse("planning:tablet_lock"))
    page = tablet.get(reverse("planning:dispatch", args=["SAW"]))
    # then
    assert b'data-testid="tablet-locked"' in page.content


def test_signing_out_forgets_the_work_center(tablet, floor):
    # when
    tablet.post(reverse("planning:tablet_sign_out"))
    # then
    assert "tablet_work_center" not in tablet.session
    assert tablet.get(reverse("planning:tablet")).status_code == 200


# --- badges in admin -----------------------------------------------------------------------------


def test_the_admin_badge_form_stores_the_pin_digest_the_tablet_identifies_by(db):
    # given
    user = User.objects.create(username="newbie")
    form = OperatorBadgeForm(
        data={"user": user.pk, "badge_code": "", "active": "on", "pin": "2468"}
    )
    # when
    assert form.is_valid(), form.errors
    badge = form.save()
    # then
    assert badge.pin_hash == pin_digest("2468")
    assert badge.badge_code is None
    assert operator_identify(code="2468") == user


def test_the_admin_badge_form_refuses_a_pin_someone_else_has(db):
    # given
    first = User.objects.create(username="first")
    operator_badge_set(user=first, pin="1357")
    second = User.objects.create(username="second")
    # when
    form = OperatorBadgeForm(data={"user": second.pk, "active": "on", "pin": "1357"})
    # then
    assert not form.is_valid()
    assert "taken" in str(form.errors["pin"])
    assert OperatorBadge.objects.count() == 1
