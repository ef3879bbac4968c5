"""An admin edits a rule's condition in Django admin, in a real browser."""

import re
from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.auth.models import User

from exceptions.models import DecisionRule

from .conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_user(db):
    from mes.core.reason_codes import ensure_default_reason_codes

    # Browser tests flush the database after each test: put back what migrations load.
    ensure_default_reason_codes()
    import_module("exceptions.migrations.0002_default_rules").load(apps, None)
    return User.objects.create_superuser("rita", "rita@example.org", "correct-horse-9")


def test_admin_sees_an_invalid_condition_refused_then_fixes_it(new_page, admin_user):
    # given: the work-center-down rule in admin
    rule = DecisionRule.objects.get(name__startswith="Work center down")
    page = new_page()
    login(page, "rita", "correct-horse-9")
    page.goto(f"/admin/exceptions/decisionrule/{rule.pk}/change/")

    # when: the condition names a field the event does not have
    page.fill("textarea[name=condition]", "down_minutes > 15 and downtime_cause == 'tool'")
    page.fill("[name=reason]", "Only tooling stops should raise")
    page.click("input[name=_save]")

    # then: the error stands next to the condition and nothing is saved
    error = page.locator(".field-condition .errorlist, .errors.field-condition .errorlist")
    assert "downtime_cause" in error.first.inner_text()
    rule.refresh_from_db()
    assert rule.condition == "down_minutes != None and down_minutes > 15"
    assert rule.version == 1

    # when: the admin fixes it with a field the event has
    page.fill("textarea[name=condition]", "down_minutes != None and down_minutes > 30")
    page.fill("[name=reason]", "Raise only after half an hour")
    page.click("input[name=_save]")

    # then: it is saved as a new version, with who and why
    page.wait_for_url(re.compile(r"/admin/exceptions/decisionrule/$"))
    rule.refresh_from_db()
    assert rule.condition == "down_minutes != None and down_minutes > 30"
    assert rule.version == 2
    previous = rule.versions.get()
    assert previous.changed_by == admin_user
    assert previous.reason == "Raise only after half an hour"
