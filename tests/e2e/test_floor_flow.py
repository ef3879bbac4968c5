"""A floor lead on a 1024x768 tablet: signs it in to the saw, an operator starts the first
operation of the dispatch list with a badge, the saw goes down (the schedule re-runs and
the list is re-sequenced around the outage), comes back up, and the operation is
completed with scrap."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from mes.core.roles import FLOOR_LEAD, OPERATOR, PLANNER, WAREHOUSE
from planning.models import Downtime, Operation, ScheduleRun, WorkCenter
from planning.services import operator_badge_set, work_order_create, work_order_release
from planning.services.scheduling import schedule_run

from ..factories import user_with_role
from ..planning.conftest import make_shop
from ..planning.test_work_orders import _stage_kit
from .conftest import login

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-9"
BADGE = "B-0042"


@pytest.fixture
def saw_shop(db):
    from mes.core.reason_codes import ensure_default_reason_codes

    # Browser tests flush the database after each test: put back what migrations load.
    ensure_default_reason_codes()
    shop = make_shop()
    planner = user_with_role(PLANNER, username="pia")
    clerk = user_with_role(WAREHOUSE, username="carl")
    user_with_role(FLOOR_LEAD, username="fiona", first_name="Fiona", last_name="Lead")
    operator = user_with_role(OPERATOR, username="otto", first_name="Otto", last_name="Op")
    operator_badge_set(user=operator, badge_code=BADGE)
    shop.work_orders = []
    for quantity, days in ((10, 1), (8, 3)):
        wo = work_order_create(
            item=shop.bracket,
            quantity=quantity,
            user=planner,
            due_date=timezone.localdate() + dt.timedelta(days=days),
        )
        _stage_kit(wo, clerk)
        shop.work_orders.append(work_order_release(work_order=wo, user=planner))
    run = schedule_run(trigger="opening")
    assert run.status == "done", run.error
    shop.operator = operator
    return shop


def _scan(page, code):
    """What a badge scanner does: type into the focused field, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def _rows(page):
    return page.locator("[data-testid=dispatch-row]")


def test_floor_lead_starts_first_operation_reports_downtime_sees_resequence_completes_with_scrap(
    new_page, saw_shop, settings
):
    # the schedule re-runs by itself after the downtime (Celery runs inline here)
    settings.SCHEDULE_AUTOMATICALLY = True

    # given: the floor lead signs in on a 1024x768 tablet and lands on the tablet page
    page = new_page(1024, 768)
    login(page, "fiona", PASSWORD)
    page.wait_for_url(re.compile(r"/planning/floor/$"))
    page.click("#sign-in-SAW")
    page.wait_for_url(re.compile(r"/planning/floor/SAW/$"))
    assert _rows(page).count() == 2
    first = _rows(page).nth(0)
    first_id = int(first.get_attribute("data-operation"))
    second_id = int(_rows(page).nth(1).get_attribute("data-operation"))
    second_before = _rows(page).nth(1).get_attribute("data-scheduled-start")
    box = page.locator(f"#start-{first_id}").bounding_box()
    assert box["height"] >= 44  # a touch target
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024  # no sideways scroll

    # when: the operator starts the first operation with a badge scan
    page.click(f"#start-{first_id}")
    page.wait_for_selector("#action-form[data-action=start]")
    assert page.evaluate("document.activeElement.name") == "operator"
    _scan(page, BADGE)
    page.wait_for_url(re.compile(r"/planning/floor/SAW/$"))
    page.wait_for_selector(
        f"[data-testid=dispatch-row][data-operation='{first_id}'][data-state=running]"
    )
    assert "started by Otto Op" in page.get_by_test_id("messages").inner_text()

    # and the floor lead reports the saw down until tomorrow
    back = timezone.localtime() + dt.timedelta(days=1, hours=3)
    page.click("#downtime-button")
    page.wait_for_selector("#downtime-form")
    page.select_option("select[name=reason_code]", "capacity")
    page.fill("input[name=note]", "blade broke")
    page.fill("input[name=expected_end]", back.strftime("%Y-%m-%dT%H:%M"))
    page.click("#downtime-submit")
    page.wait_for_url(re.compile(r"/planning/floor/SAW/$"))

    # then: the saw shows down with who may bring it up; the running operation paused
    page.wait_for_selector("[data-testid=work-center-down]")
    assert "Fiona Lead" in page.get_by_test_id("may-bring-up").inner_text()
    page.wait_for_selector(
        f"[data-testid=dispatch-row][data-operation='{first_id}'][data-state=paused]"
    )

    # and the schedule re-ran around the outage: the list is re-sequenced after it
    assert ScheduleRun.objects.filter(trigger__startswith="workcenter.down").exists()
    second = page.locator(f"[data-testid=dispatch-row][data-operation='{second_id}']")
    second_after = second.get_attribute("data-scheduled-start")
    assert second_after != second_before
    assert dt.datetime.fromisoformat(second_after) >= back.replace(second=0, microsecond=0)
    assert "scheduled" in second.get_by_test_id("why-next").inner_text()

    # when: the saw is fixed, the floor lead brings it up in one step
    page.click("#bring-up-button")
    page.wait_for_selector("[data-testid=dispatch-list][data-status=up]")
    assert WorkCenter.objects.get(code="SAW").status == "up"
    assert Downtime.objects.get().ended_at is not None

    # and the operator resumes and completes with scrap
    page.click(f"#resume-{first_id}")
    page.wait_for_selector("#action-form[data-action=resume]")
    _scan(page, BADGE)
    page.wait_for_selector(
        f"[data-testid=dispatch-row][data-operation='{first_id}'][data-state=running]"
    )
    page.click(f"#report-{first_id}")
    page.wait_for_selector("#action-form[data-action=report]")
    remaining = Operation.objects.get(pk=first_id).quantity_remaining
    page.fill("input[name=good]", str(remaining - 2))
    page.fill("input[name=scrap]", "2")
    page.select_option("select[name=scrap_reason]", "process-scrap")
    page.fill("input[name=operator]", BADGE)
    page.click("#report-final")
    page.wait_for_url(re.compile(r"/planning/floor/SAW/$"))

    # then: the operation is done with its scrap, and off the list
    assert "2 scrap" in page.get_by_test_id("messages").inner_text()
    assert page.locator(f"[data-testid=dispatch-row][data-operation='{first_id}']").count() == 0
    done = Operation.objects.get(pk=first_id)
    assert done.state == "done"
    assert done.quantity_scrap == Decimal("2")
    assert done.quantity_good == remaining - 2
    nxt = Operation.objects.get(work_order_id=done.work_order_id, sequence=20)
    assert nxt.quantity_available == remaining - 2
