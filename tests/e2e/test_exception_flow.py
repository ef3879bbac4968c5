"""A floor lead works a work-center-down exception on the board in a real browser."""

import re
from importlib import import_module

import pytest
from django.apps import apps

from exceptions.models import ExceptionState, PlantException
from mes.core.events import event_emit
from mes.core.roles import FLOOR_LEAD
from mes.core.services import event_process

from ..factories import make_order, user_with_role
from .conftest import login

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-9"


@pytest.fixture
def floor(db):
    from mes.core.reason_codes import ensure_default_reason_codes

    # Browser tests flush the database after each test: put back what migrations load.
    ensure_default_reason_codes()
    import_module("exceptions.migrations.0002_default_rules").load(apps, None)
    return user_with_role(FLOOR_LEAD, username="fiona")


def test_floor_lead_acknowledges_and_resolves_a_work_center_down(new_page, floor):
    # given: CNC-3 is down for 20 minutes; the engine raises it to Floor lead
    order = make_order(lines=1)
    event = event_emit(
        type="workcenter.down",
        subject=order,
        payload={"work_center": "CNC-3", "reason": "spindle alarm", "down_minutes": 20},
    )
    event_process(event_id=event.pk)  # as the worker does (a no-op if it already ran)
    exc = PlantException.objects.get()
    assert exc.title == "Work center CNC-3 down: spindle alarm"

    # when: the floor lead opens the board on a tablet-sized screen
    page = new_page(1280, 800)
    login(page, "fiona", PASSWORD)
    page.wait_for_url(re.compile(r"/planning/floor/$"))  # a floor lead lands on the tablet
    assert page.get_by_test_id("open-exceptions-count").inner_text().startswith("1")
    page.get_by_role("link", name=re.compile("^Exceptions")).click()
    page.wait_for_url(re.compile(r"/exceptions/$"))
    row = page.locator(f'[data-testid=exception-row][data-number="{exc.number}"]')
    assert "Work center CNC-3 down: spindle alarm" in row.inner_text()
    assert row.get_attribute("data-severity") == "high"

    # and acknowledges it with one tap
    page.click(f"#acknowledge-{exc.number}")
    page.wait_for_selector(
        f'[data-testid=exception-row][data-number="{exc.number}"][data-state=acknowledged]'
    )
    assert "fiona" in row.get_by_test_id("exception-assignee").inner_text()

    # and resolves it with a resolution code and a note
    page.click(f"#resolve-{exc.number}")
    panel = page.locator(f"#resolve-panel-{exc.number}")
    panel.locator("select[name=resolution_code]").select_option("fixed")
    panel.locator("textarea[name=note]").fill("Spindle drive reset, test cut OK")
    page.click(f"#resolve-submit-{exc.number}")

    # then: the board shows it gone, and it is resolved with the code and note
    page.wait_for_selector("[data-testid=empty]")
    assert page.locator(f'[data-number="{exc.number}"]').count() == 0
    assert f"{exc.number}: resolve done" in page.get_by_test_id("message-success").inner_text()
    exc.refresh_from_db()
    assert exc.state == ExceptionState.RESOLVED
    assert exc.resolution_code.code == "fixed"
    assert exc.resolution_note == "Spindle drive reset, test cut OK"
    assert exc.assignee == floor
