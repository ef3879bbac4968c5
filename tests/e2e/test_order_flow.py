"""The planner's order flow in a real browser (Debian chromium, headless)."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from mes.core.roles import PLANNER
from orders.models import ChangeRequest, OrderState, SalesOrder

from ..factories import CustomerFactory, ItemFactory, user_with_role
from .conftest import login

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-9"


@pytest.fixture
def plant(db):
    from mes.core.reason_codes import ensure_default_reason_codes

    ensure_default_reason_codes()
    customer = CustomerFactory(code="ACME", name="Acme Machines")
    bracket = ItemFactory(sku="BRK-100", name="Welded bracket", lead_time_days=10)
    shaft = ItemFactory(sku="SHF-200", name="Turned shaft", lead_time_days=3)
    first = user_with_role(PLANNER, username="anna")
    second = user_with_role(PLANNER, username="ben")
    return {"customer": customer, "items": (bracket, shaft), "planners": (first, second)}


def _choose(select, text):
    """Select the option whose label contains `text`."""
    value = select.locator("option", has_text=text).first.get_attribute("value")
    select.select_option(value)


def _fill_line(page, index, sku, quantity, requested):
    _choose(page.locator(f"select[name=lines-{index}-item]"), sku)
    page.fill(f"input[name=lines-{index}-quantity]", str(quantity))
    page.fill(f"input[name=lines-{index}-requested_date]", requested.isoformat())


def test_planner_orders_confirms_and_a_second_planner_approves_a_change(new_page, plant):
    today = timezone.localdate()
    early, late = today + dt.timedelta(days=2), today + dt.timedelta(days=30)

    # given: the first planner signs in and lands on the order book
    page = new_page()
    login(page, "anna", PASSWORD)
    page.wait_for_url(re.compile(r"/orders/$"))

    # when: she enters an order with two lines
    page.goto("/orders/new/")
    _choose(page.locator("select[name=customer]"), "ACME")
    page.fill("input[name=customer_po]", "PO-4711")
    _fill_line(page, 0, "BRK-100", 40, early)
    if page.locator("input[name=lines-1-quantity]").count() == 0:
        page.click("#add-line-button")
    _fill_line(page, 1, "SHF-200", 12, late)
    page.click("#save-order-button")
    page.wait_for_url(re.compile(r"/orders/SO-\d+/$"))
    order = SalesOrder.objects.get(customer_po="PO-4711")
    assert page.get_by_test_id("order-state").get_attribute("data-state") == "draft"

    # and confirms it: each line shows its promise date and how it was computed
    page.click("#confirm-button")
    page.wait_for_selector("[data-testid=order-state][data-state=confirmed]")
    promise_early = (today + dt.timedelta(days=10)).isoformat()  # lead time wins
    assert promise_early in page.locator("#line-10 [data-testid=line-promise-date]").inner_text()
    assert late.isoformat() in page.locator("#line-20 [data-testid=line-promise-date]").inner_text()
    assert "lead time" in page.locator("#line-10 [data-testid=promise-basis]").inner_text()

    # and starts production, then asks for 55 instead of 40 on line 10
    page.click("#start-production-button")
    page.wait_for_selector("[data-testid=order-state][data-state=in_production]")
    page.click("#request-change-button")
    form = page.locator("#change-request-form")
    form.locator("select[name=kind]").select_option("quantity")
    _choose(form.locator("select[name=line]"), "10")
    form.locator("input[name=new_quantity]").fill("55")
    form.locator("select[name=reason_code]").select_option("customer-request")
    form.locator("textarea[name=reason_text], input[name=reason_text]").first.fill(
        "Customer raised the call-off"
    )
    page.click("#change-request-submit")
    cr = ChangeRequest.objects.get(order=order)
    page.wait_for_selector(f'[data-number="{cr.number}"] [data-testid=cr-state]')
    assert cr.state == ChangeRequest.State.REQUESTED
    assert page.locator(f"#approve-{cr.number}").count() == 0  # not by the requester

    # then: a second planner signs in and approves it
    other = new_page(1024, 768)
    login(other, "ben", PASSWORD)
    other.wait_for_url(re.compile(r"/orders/$"))
    other.goto(f"/orders/{order.number}/")
    other.click(f"#approve-{cr.number}")
    other.wait_for_selector(
        f'[data-number="{cr.number}"] [data-testid=cr-state][data-state=applied]'
    )
    cr.refresh_from_db()
    assert cr.state == ChangeRequest.State.APPLIED
    assert "55" in other.locator("#line-10 [data-testid=line-quantity]").inner_text()

    # and the timeline shows the request by the first planner and the approval by the second
    timeline = other.get_by_test_id("timeline").inner_text()
    assert f"{cr.number} requested" in timeline
    assert f"{cr.number}: requested → approved" in timeline
    assert "quantity 40 → 55" in timeline
    assert "anna" in timeline
    assert "ben" in timeline
    assert order.__class__.objects.get(pk=order.pk).state == OrderState.IN_PRODUCTION


def test_wrong_password_three_times_locks_the_account(new_page, plant):
    # given
    page = new_page()
    # when
    for _ in range(3):
        login(page, "anna", "wrong-password")
    login(page, "anna", PASSWORD)
    # then
    assert "locked" in page.content().lower()
    assert "/accounts/login/" in page.url or "locked" in page.url
