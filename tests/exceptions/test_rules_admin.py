"""Rules in admin: invalid rules are refused next to the field and nothing is saved, edits
are versioned (who, when, why, previous values) and can be rolled back, the dry run reports
the right count and writes nothing, the event catalogue is listed, and only admins get in."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from exceptions import rules
from exceptions.models import DecisionRule, DecisionRuleVersion, EscalationPolicy
from mes.core.errors import ValidationFailed
from mes.core.events import EVENT_TYPES
from mes.core.models import Event
from mes.core.roles import FLOOR_LEAD, PLANNER
from orders.models import Customer, OrderState, SalesOrder

from ..factories import CustomerFactory, make_order

pytestmark = pytest.mark.django_db

FUNCTIONS = "abs, len, lower, max, min, upper"


@pytest.fixture
def admin_user() -> User:
    return User.objects.create_superuser("root", "root@example.org", "admin-pass-123")


@pytest.fixture
def admin_client(client: Any, admin_user: User) -> Any:
    client.force_login(admin_user)
    return client


def _rule(**fields: Any) -> DecisionRule:
    values: dict[str, Any] = {
        "name": "Late material: raise to Planner",
        "decision_point": "material.shortage",
        "condition": "missing_quantity > 2",
        "effect": DecisionRule.Effect.RAISE_EXCEPTION,
        "title_template": "Short {item} for {order.number}",
        "severity": "high",
        "owner_role": Group.objects.get(name=PLANNER),
        "sla_minutes": 30,
        "order": 50,
        **fields,
    }
    return DecisionRule.objects.create(**values)


def _post_data(rule: DecisionRule, **overrides: Any) -> dict[str, Any]:
    """The change form as the browser submits it (the history inline included)."""
    data: dict[str, Any] = {
        "name": rule.name,
        "decision_point": rule.decision_point,
        "condition": rule.condition,
        "effect": rule.effect,
        "order": rule.order,
        "title_template": rule.title_template,
        "severity": rule.severity,
        "owner_role": rule.owner_role_id or "",
        "sla_minutes": rule.sla_minutes or "",
        "escalation_policy": rule.escalation_policy_id or "",
        "message": rule.message,
        "approval_role": rule.approval_role_id or "",
        "priority_value": "" if rule.priority_value is None else rule.priority_value,
        "task_instructions": rule.task_instructions,
        "task_checklist": json.dumps(rule.task_checklist),
        "task_required_inputs": json.dumps(rule.task_required_inputs),
        "task_due_minutes": rule.task_due_minutes or "",
        "reason": "Planners asked for it",
        "dry_run_days": "7",
        "seen_version": rule.version,
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
    }
    if rule.active:
        data["active"] = "on"
    if rule.stop_after:
        data["stop_after"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _field_errors(html: str, field: str) -> list[str]:
    """The error messages shown in the row of `field` on the admin form."""
    row = re.search(
        rf'<div class="form-row[^"]*field-{field}[^"]*">(.*?)</div>\s*</div>', html, re.S
    )
    assert row is not None, f"no row for {field}"
    return re.findall(r"<li>(.*?)</li>", row.group(1), re.S)


def _table_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for app in ("core", "exceptions", "orders")
        for model in apps.get_app_config(app).get_models()
    }


def _change_url(rule: DecisionRule) -> str:
    return reverse("admin:exceptions_decisionrule_change", args=[rule.pk])


# --- the form refuses invalid rules next to the field ------------------------------------


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            "colour > 2",
            "Unknown name 'colour'. Known names: at_release, demand, event, item, "
            "missing_quantity, order.",
        ),
        ("missing_quantity >", "Syntax error at the end of the condition: invalid syntax."),
        ("order.__class__", "Names starting with '_' are not allowed (__class__)."),
        ("order._state", "Names starting with '_' are not allowed (_state)."),
        ('open("x")', f"Only these functions may be called: {FUNCTIONS}."),
        ('__import__("os")', "Names starting with '_' are not allowed (__import__)."),
        ("item.upper()", f"Only these functions may be called: {FUNCTIONS}."),
        (
            "missing_quantity > 1 or " * 25 + "True",
            "The condition is too long (604 characters; at most 500).",
        ),
        (
            "not " * 20 + "at_release",
            "The condition is nested too deeply (at most 12 levels).",
        ),
    ],
)
def test_admin_form_refuses_an_invalid_condition_next_to_the_field(
    admin_client, condition, message
):
    # given
    rule = _rule()
    before = rules.rule_snapshot(rule)
    # when
    response = admin_client.post(_change_url(rule), _post_data(rule, condition=condition))
    # then
    assert response.status_code == 200
    assert _field_errors(response.content.decode(), "condition") == [escape(message)]
    rule.refresh_from_db()
    assert (rules.rule_snapshot(rule), rule.version) == (before, 1)
    assert DecisionRuleVersion.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"effect": "block", "message": "No"},
            "effect",
            "Block and require approval work only at a check point (release, priority, "
            "change_request, shipment_handover).",
        ),
        ({"title_template": ""}, "title_template", "An exception or a task needs a title."),
        ({"owner_role": ""}, "owner_role", "An exception or a task needs an owner role."),
        (
            {"effect": "set_priority"},
            "priority_value",
            "Say which priority to set, or by how much to bump.",
        ),
        (
            {"effect": "bump_priority"},
            "priority_value",
            "Say which priority to set, or by how much to bump.",
        ),
        (
            {"title_template": "Short {item} for {order.colour}"},
            "title_template",
            "Unknown name 'order.colour'. Known fields of order: customer, "
            "earliest_promise_days, external_id, in_production, line_count, number, "
            "priority, state.",
        ),
        (
            {"task_instructions": "Call {customer}"},
            "task_instructions",
            "Unknown name 'customer'. Known names: at_release, demand, event, item, "
            "missing_quantity, order.",
        ),
        (
            {"title_template": "Short { item }!{0}"},
            "title_template",
            "'{0}' is not a placeholder: use {name} or {name.field}.",
        ),
        (
            {"task_checklist": '[""]'},
            "task_checklist",
            'A list of texts, e.g. ["Customer called", "New date agreed"].',
        ),
        ({"reason": ""}, "reason", "This field is required."),
        ({"decision_point": "material.stolen"}, "decision_point", None),
    ],
)
def test_admin_form_refuses_an_effect_that_does_not_fit(admin_client, overrides, field, message):
    # given
    rule = _rule()
    before = rules.rule_snapshot(rule)
    # when
    response = admin_client.post(_change_url(rule), _post_data(rule, **overrides))
    # then
    assert response.status_code == 200
    if message is None:  # Django's own "Select a valid choice" message
        message = "Select a valid choice. material.stolen is not one of the available choices."
    assert _field_errors(response.content.decode(), field) == [escape(message)]
    rule.refresh_from_db()
    assert (rules.rule_snapshot(rule), rule.version) == (before, 1)
    assert DecisionRuleVersion.objects.count() == 0


def test_admin_form_requires_approval_role_at_a_check_point(admin_client):
    # given
    rule = _rule(
        decision_point="change_request",
        condition='change.kind == "quantity"',
        effect=DecisionRule.Effect.REQUIRE_APPROVAL,
        title_template="",
        owner_role=None,
        message="A planner approves {change_request.number}",
        approval_role=Group.objects.get(name=PLANNER),
    )
    # when
    response = admin_client.post(_change_url(rule), _post_data(rule, approval_role=""))
    # then
    assert _field_errors(response.content.decode(), "approval_role") == ["Say which role approves."]
    rule.refresh_from_db()
    assert (rule.approval_role.name, rule.version) == (PLANNER, 1)


def test_admin_form_refuses_a_stale_version(admin_client, admin_user):
    # given: someone else saved version 2 after this form was opened
    rule = _rule()
    stale = _post_data(rule, condition="missing_quantity > 9")
    rules.rule_save(rule=rule, changes={"sla_minutes": 45}, user=admin_user, reason="faster")
    # when
    response = admin_client.post(_change_url(rule), stale)
    # then
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "Someone saved version 2 of this rule meanwhile: reload it and make your change again."
    ]
    rule.refresh_from_db()
    assert (rule.condition, rule.sla_minutes, rule.version) == ("missing_quantity > 2", 45, 2)


# --- edits are versioned and can be rolled back -------------------------------------------


def test_admin_edit_bumps_the_version_and_keeps_the_previous_values(admin_client, admin_user):
    # given
    policy = EscalationPolicy.objects.get(name="Planner, then Admin")
    rule = _rule(escalation_policy=policy, task_checklist=["Call the supplier"])
    # when
    response = admin_client.post(
        _change_url(rule),
        _post_data(rule, condition="missing_quantity > 5", reason="Too noisy at 2"),
    )
    # then
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.condition, rule.version) == ("missing_quantity > 5", 2)
    kept = DecisionRuleVersion.objects.get(rule=rule)
    assert (kept.version, kept.changed_by, kept.reason) == (1, admin_user, "Too noisy at 2")
    assert kept.changed_at is not None
    assert kept.snapshot == {
        "name": "Late material: raise to Planner",
        "decision_point": "material.shortage",
        "condition": "missing_quantity > 2",
        "effect": "raise_exception",
        "order": 50,
        "active": True,
        "stop_after": False,
        "title_template": "Short {item} for {order.number}",
        "severity": "high",
        "owner_role": "Planner",
        "sla_minutes": 30,
        "escalation_policy": "Planner, then Admin",
        "message": "",
        "approval_role": None,
        "priority_value": None,
        "task_instructions": "",
        "task_checklist": ["Call the supplier"],
        "task_required_inputs": [],
        "task_due_minutes": None,
    }


def test_admin_save_without_changes_writes_no_version(admin_client):
    # given
    rule = _rule()
    # when
    response = admin_client.post(_change_url(rule), _post_data(rule))
    # then
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.version == 1
    assert DecisionRuleVersion.objects.count() == 0


def test_admin_adds_a_rule_at_version_one(admin_client):
    # given
    template = _rule()
    data = _post_data(template, name="Big shortage", condition="missing_quantity > 100")
    del data["reason"], data["seen_version"]
    # when
    response = admin_client.post(reverse("admin:exceptions_decisionrule_add"), data)
    # then
    assert response.status_code == 302
    added = DecisionRule.objects.get(name="Big shortage")
    assert (added.condition, added.version, added.owner_role.name) == (
        "missing_quantity > 100",
        1,
        PLANNER,
    )
    assert DecisionRuleVersion.objects.count() == 0


def test_versions_are_shown_read_only_with_a_roll_back_button(admin_client, admin_user):
    # given
    rule = _rule()
    rules.rule_save(
        rule=rule, changes={"condition": "missing_quantity > 4"}, user=admin_user, reason="r"
    )
    # when
    response = admin_client.get(_change_url(rule))
    # then
    html = response.content.decode()
    rollback_url = reverse("admin:exceptions_decisionrule_rollback", args=[rule.pk, 1])
    assert f'href="{rollback_url}"' in html
    assert "Roll back to version 1" in html
    assert (
        "condition: &#x27;missing_quantity &gt; 2&#x27; &rarr; &#x27;missing_quantity &gt; 4&#x27;"
        in html
    )
    assert 'name="versions-0-reason"' not in html  # read-only


def test_rollback_restores_the_version_as_a_new_version(admin_client, admin_user):
    # given: v1 -> v2 -> v3
    rule = _rule()
    original = rules.rule_snapshot(rule)
    rules.rule_save(
        rule=rule,
        changes={
            "condition": "missing_quantity > 4",
            "owner_role": Group.objects.get(name=FLOOR_LEAD),
        },
        user=admin_user,
        reason="floor handles it",
    )
    rules.rule_save(rule=rule, changes={"sla_minutes": 5}, user=admin_user, reason="faster")
    url = reverse("admin:exceptions_decisionrule_rollback", args=[rule.pk, 1])
    # when
    page = admin_client.get(url)
    response = admin_client.post(url, {"reason": "Back to the planners"})
    # then
    assert page.status_code == 200
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rules.rule_snapshot(rule) == original
    assert rule.version == 4
    assert list(
        DecisionRuleVersion.objects.filter(rule=rule).values_list("version", "reason", "changed_by")
    ) == [
        (3, "Back to the planners", admin_user.pk),
        (2, "faster", admin_user.pk),
        (1, "floor handles it", admin_user.pk),
    ]
    assert DecisionRuleVersion.objects.get(rule=rule, version=3).snapshot["sla_minutes"] == 5


def test_rollback_needs_a_reason_and_changes_nothing_without_one(admin_client, admin_user):
    # given
    rule = _rule()
    rules.rule_save(rule=rule, changes={"sla_minutes": 5}, user=admin_user, reason="faster")
    url = reverse("admin:exceptions_decisionrule_rollback", args=[rule.pk, 1])
    # when
    response = admin_client.post(url, {"reason": ""})
    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    rule.refresh_from_db()
    assert (rule.sla_minutes, rule.version) == (5, 2)
    assert DecisionRuleVersion.objects.count() == 1


def test_rollback_service_refuses_an_unknown_version_and_a_missing_reason(admin_user):
    # given
    rule = _rule()
    # when / then
    with pytest.raises(ValidationFailed) as unknown:
        rules.rule_rollback(rule=rule, version=7, user=admin_user, reason="why")
    with pytest.raises(ValidationFailed) as no_reason:
        rules.rule_save(rule=rule, changes={"order": 1}, user=admin_user, reason="  ")
    assert unknown.value.errors == {"version": ["Version 7 of this rule is not kept."]}
    assert no_reason.value.errors == {"reason": ["Say why the rule changes."]}
    rule.refresh_from_db()
    assert (rule.order, rule.version) == (50, 1)
    assert DecisionRuleVersion.objects.count() == 0


def test_rules_cannot_be_deleted_in_admin(admin_client):
    # given
    rule = _rule()
    # when
    response = admin_client.post(
        reverse("admin:exceptions_decisionrule_delete", args=[rule.pk]), {"post": "yes"}
    )
    changelist = admin_client.get(reverse("admin:exceptions_decisionrule_changelist"))
    # then
    assert response.status_code == 403
    assert DecisionRule.objects.filter(pk=rule.pk).exists()
    assert "delete_selected" not in changelist.content.decode()


# --- dry run -----------------------------------------------------------------------------


@pytest.fixture
def shortage_events() -> dict[str, Any]:
    """Hand-built material.shortage events: on an A-customer order and a B-customer one,
    inside and outside the window, and one of another type."""
    a_order = make_order(state=OrderState.CONFIRMED)
    a_order.customer = CustomerFactory(code="ACUST", priority_class=Customer.PriorityClass.A)
    SalesOrder.objects.filter(pk=a_order.pk).update(customer=a_order.customer)
    b_order = make_order(state=OrderState.CONFIRMED)
    order_type = ContentType.objects.get_for_model(SalesOrder)
    now = timezone.now()

    def event(order: SalesOrder, days_ago: float, missing: Any, type_: str = "material.shortage"):
        return Event.objects.create(
            type=type_,
            content_type=order_type,
            object_id=order.pk,
            subject_repr=str(order),
            payload={"item": "STEEL-10", "missing_quantity": missing},
            occurred_at=now - dt.timedelta(days=days_ago),
            processed_at=now,
        )

    fired = [event(a_order, 1, 5), event(a_order, 2, 8), event(b_order, 3, 9)]
    event(a_order, 4, 1)  # too little
    event(b_order, 5, None)  # errors at run time (None > 2)
    event(a_order, 10, 50)  # outside the 7 days
    event(a_order, 1, 50, type_="material.delayed")  # another type
    return {"a": a_order, "b": b_order, "fired": fired}


def test_dry_run_reports_counts_subjects_and_samples_and_writes_nothing(shortage_events):
    # given
    before = _table_counts()
    # when
    report = rules.rule_dry_run(point="material.shortage", condition="missing_quantity > 2", days=7)
    # then
    a, b = str(shortage_events["a"]), str(shortage_events["b"])
    assert (report.events_considered, report.fired_count, report.errors) == (5, 3, 1)
    assert report.first_error == (
        "TypeError: '>' not supported between instances of 'NoneType' and 'int'"
    )
    assert report.subjects == sorted([(a, 2), (b, 1)], key=lambda s: (-s[1], s[0]))
    assert [(s["event_id"], s["subject"], s["payload"]) for s in report.samples] == [
        (e.pk, str(e.subject_repr), e.payload) for e in reversed(shortage_events["fired"])
    ]
    assert _table_counts() == before


def test_dry_run_sees_the_subject_snapshot(shortage_events):
    # given
    before = _table_counts()
    # when
    report = rules.rule_dry_run(
        point="material.shortage",
        condition='order.customer.priority_class == "A" and missing_quantity > 2',
        days=7,
    )
    # then
    assert (report.events_considered, report.fired_count, report.errors) == (5, 2, 0)
    assert report.subjects == [(str(shortage_events["a"]), 2)]
    assert _table_counts() == before


@pytest.mark.parametrize(
    ("point", "condition", "errors"),
    [
        (
            "release",
            "material_short",
            {
                "decision_point": [
                    "A dry run needs events: 'release' is a check point, evaluated when a "
                    "user acts, so there is nothing to replay."
                ]
            },
        ),
        ("material.stolen", "", {"decision_point": ["Choose an event type."]}),
        (
            "material.shortage",
            "colour > 1",
            {
                "condition": [
                    "Unknown name 'colour'. Known names: at_release, demand, event, item, "
                    "missing_quantity, order."
                ]
            },
        ),
    ],
)
def test_dry_run_refuses_check_points_and_invalid_conditions(point, condition, errors):
    # given
    before = _table_counts()
    # when
    with pytest.raises(ValidationFailed) as refused:
        rules.rule_dry_run(point=point, condition=condition, days=7)
    # then
    assert refused.value.errors == errors
    assert _table_counts() == before


def test_dry_run_admin_action_renders_the_report(admin_client, shortage_events):
    # given
    rule = _rule(condition="missing_quantity > 2")
    before = _table_counts()
    # when
    response = admin_client.post(
        reverse("admin:exceptions_decisionrule_changelist"),
        {"action": "dry_run", "_selected_action": [rule.pk]},
        follow=True,
    )
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert response.redirect_chain[0][0] == (
        reverse("admin:exceptions_decisionrule_dry_run") + f"?ids={rule.pk}&days=7"
    )
    assert re.findall(r'class="(events-considered|fired-count|error-count)">(\d+)', html) == [
        ("events-considered", "5"),
        ("fired-count", "3"),
        ("error-count", "1"),
    ]
    assert _table_counts() == before


def test_dry_run_page_takes_the_number_of_days(admin_client, shortage_events):
    # given
    rule = _rule(condition="missing_quantity > 2")
    url = reverse("admin:exceptions_decisionrule_dry_run")
    # when
    response = admin_client.get(url, {"ids": str(rule.pk), "days": "14"})
    # then
    assert [r["report"].fired_count for r in response.context["results"]] == [4]
    assert [r["report"].events_considered for r in response.context["results"]] == [6]


def test_dry_run_of_a_draft_evaluates_the_form_and_saves_nothing(admin_client, shortage_events):
    # given
    rule = _rule(condition="missing_quantity > 100")
    before = _table_counts()
    snapshot = rules.rule_snapshot(rule)
    # when
    response = admin_client.post(
        _change_url(rule),
        _post_data(rule, condition="missing_quantity > 6", reason="", _dry_run="1"),
    )
    # then
    assert response.status_code == 200
    [result] = response.context["results"]
    assert (result["report"].fired_count, result["report"].events_considered) == (2, 5)
    assert "(draft, not saved)" in result["name"]
    rule.refresh_from_db()
    assert (rules.rule_snapshot(rule), rule.version) == (snapshot, 1)
    assert _table_counts() == before


def test_dry_run_of_an_invalid_draft_shows_the_error_and_saves_nothing(admin_client):
    # given
    rule = _rule()
    snapshot = rules.rule_snapshot(rule)
    # when
    response = admin_client.post(
        _change_url(rule), _post_data(rule, condition="item.upper()", _dry_run="1")
    )
    # then
    assert response.status_code == 200
    assert _field_errors(response.content.decode(), "condition") == [
        f"Only these functions may be called: {FUNCTIONS}."
    ]
    rule.refresh_from_db()
    assert (rules.rule_snapshot(rule), rule.version) == (snapshot, 1)


def test_dry_run_of_a_check_point_draft_says_it_needs_events(admin_client):
    # given
    rule = _rule(
        decision_point="release",
        condition="material_short",
        effect=DecisionRule.Effect.BLOCK,
        title_template="",
        owner_role=None,
        message="Short",
    )
    # when
    response = admin_client.post(_change_url(rule), _post_data(rule, _dry_run="1"))
    # then
    assert [r["error"] for r in response.context["results"]] == [
        "A dry run needs events: 'release' is a check point, evaluated when a user acts, "
        "so there is nothing to replay."
    ]


# --- the event catalogue and the other admin pages ---------------------------------------


def test_event_types_page_lists_the_catalogue(admin_client):
    # when
    response = admin_client.get(reverse("admin:exceptions_decisionrule_event_types"))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    listed = re.findall(r'<tr class="event-type" id="event-type-([^"]+)">', html)
    assert listed == sorted(EVENT_TYPES)
    row = re.search(r'id="event-type-material.delayed">(.*?)</tr>', html, re.S).group(1)
    assert "inventory.Item" in row
    assert "<code>delay_days</code>: integer" in row
    assert "<code>supplier</code>: string (optional)" in row
    assert "yes: outside systems may post it" in row
    changelist = admin_client.get(reverse("admin:exceptions_decisionrule_changelist"))
    assert reverse("admin:exceptions_decisionrule_event_types") in changelist.content.decode()


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:exceptions_decisionrule_changelist",
        "admin:exceptions_decisionrule_add",
        "admin:exceptions_escalationpolicy_changelist",
        "admin:exceptions_plantexception_changelist",
        "admin:exceptions_task_changelist",
        "admin:exceptions_ruleerror_changelist",
        "admin:exceptions_notification_changelist",
        "admin:exceptions_webhooksubscription_changelist",
        "admin:exceptions_webhooksubscription_add",
        "admin:exceptions_webhookdelivery_changelist",
    ],
)
def test_exception_admin_pages_render(admin_client, url_name):
    # given
    _rule()
    # when
    response = admin_client.get(reverse(url_name))
    # then
    assert response.status_code == 200


def test_default_rule_change_page_renders(admin_client):
    # given
    rule = DecisionRule.objects.get(name="Material shortage blocks release")
    # when
    response = admin_client.get(_change_url(rule))
    # then
    assert response.status_code == 200
    assert 'name="_dry_run"' in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        lambda rule: reverse("admin:exceptions_decisionrule_changelist"),
        lambda rule: reverse("admin:exceptions_decisionrule_change", args=[rule.pk]),
        lambda rule: reverse("admin:exceptions_decisionrule_event_types"),
        lambda rule: reverse("admin:exceptions_decisionrule_dry_run") + f"?ids={rule.pk}",
    ],
)
def test_a_planner_cannot_reach_the_rule_admin(client, planner, url):
    # given
    rule = _rule()
    client.force_login(planner)
    # when
    response = client.get(url(rule))
    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_staff_planner_without_rule_permissions_is_refused(client, planner):
    # given
    rule = _rule()
    User.objects.filter(pk=planner.pk).update(is_staff=True)
    client.force_login(User.objects.get(pk=planner.pk))
    # when
    change = client.post(_change_url(rule), _post_data(rule, condition="missing_quantity > 9"))
    event_types = client.get(reverse("admin:exceptions_decisionrule_event_types"))
    rollback = client.get(reverse("admin:exceptions_decisionrule_rollback", args=[rule.pk, 1]))
    # then
    assert (change.status_code, event_types.status_code, rollback.status_code) == (403, 403, 403)
    rule.refresh_from_db()
    assert (rule.condition, rule.version) == ("missing_quantity > 2", 1)


def test_admin_edit_of_a_rule_with_history_posts_the_history_inline_back(admin_client):
    # given: a rule with one earlier version, and the inline fields its page renders
    rule = _rule()
    admin_client.post(_change_url(rule), _post_data(rule, condition="missing_quantity > 3"))
    rule.refresh_from_db()
    page = admin_client.get(_change_url(rule)).content.decode()
    inline = dict(re.findall(r'<input type="hidden" name="(versions-[^"]+)" value="([^"]*)"', page))
    # when
    response = admin_client.post(
        _change_url(rule),
        {**_post_data(rule, condition="missing_quantity > 4", reason="second"), **inline},
    )
    # then
    assert inline["versions-INITIAL_FORMS"] == "1"
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.condition, rule.version) == ("missing_quantity > 4", 3)
    assert list(
        DecisionRuleVersion.objects.filter(rule=rule).values_list("version", "snapshot__condition")
    ) == [(2, "missing_quantity > 3"), (1, "missing_quantity > 2")]
