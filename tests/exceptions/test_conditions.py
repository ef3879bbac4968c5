"""The condition language: every unsafe or invalid form is refused with its message, values
cannot grow without bound, run-time errors are ConditionErrors, and one failing rule does
not stop the others."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from exceptions import engine
from exceptions.conditions import (
    MAX_DEPTH,
    MAX_EXPRESSION_LENGTH,
    MAX_NODES,
    ConditionError,
    condition_check,
    condition_evaluate,
)
from exceptions.models import DecisionRule, RuleError
from mes.core.roles import PLANNER

FIELDS: dict[str, Any] = {
    "delay_days": "integer",
    "item": "string",
    "order": {"number": "string", "customer": {"code": "string", "priority_class": "string"}},
}
CONTEXT: dict[str, Any] = {
    "delay_days": 3,
    "item": "STEEL-10",
    "order": {"number": "SO-1", "customer": {"code": "ACME", "priority_class": "A"}},
}
FUNCTIONS = "abs, len, lower, max, min, upper"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("colour == 1", "Unknown name 'colour'. Known names: delay_days, item, order."),
        (
            "order.customer.region == 1",
            "Unknown name 'order.customer.region'. Known fields of order.customer: "
            "code, priority_class.",
        ),
        ("item.size > 1", "Unknown name 'item.size': 'item' has no fields."),
        ("delay_days >", "Syntax error at the end of the condition: invalid syntax."),
        (
            "delay_days = 2",
            "Syntax error at column 12: invalid syntax.",
        ),
        ("order._meta", "Names starting with '_' are not allowed (_meta)."),
        ("order.__class__", "Names starting with '_' are not allowed (__class__)."),
        ("__builtins__", "Names starting with '_' are not allowed (__builtins__)."),
        ('open("x")', f"Only these functions may be called: {FUNCTIONS}."),
        ('__import__("os")', "Names starting with '_' are not allowed (__import__)."),
        ("item.upper()", f"Only these functions may be called: {FUNCTIONS}."),
        ("len(item, item)", "len() takes 1 argument(s)."),
        ("len(obj=item)", "len() takes 1 argument(s)."),
        ("[x for x in item]", "'ListComp' is not allowed in a condition."),
        ("lambda: 1", "'Lambda' is not allowed in a condition."),
        ("{1: 2}", "'Dict' is not allowed in a condition."),
        ("item[0]", "'Subscript' is not allowed in a condition."),
        ("(x := 1)", "'NamedExpr' is not allowed in a condition."),
        ("1 << 100", "'LShift' is not allowed in a condition."),
        (
            "delay_days > 1 and " * 30 + "True",
            f"The condition is too long ({19 * 30 + 4} characters; at most "
            f"{MAX_EXPRESSION_LENGTH}).",
        ),
        (
            "+".join(["1"] * 70),
            f"The condition is too large (209 parts; at most {MAX_NODES}): split it into "
            "several rules.",
        ),
        (
            "not " * 20 + "delay_days",
            f"The condition is nested too deeply (at most {MAX_DEPTH} levels).",
        ),
        (
            "[" * 20 + "1" + "]" * 20,
            f"The condition is nested too deeply (at most {MAX_DEPTH} levels).",
        ),
        ("(" * 220 + "1" + ")" * 220, "Syntax error at column 201: too many nested parentheses."),
    ],
)
def test_condition_check_refuses_each_unsafe_or_invalid_form(expression, message):
    # given / when
    with pytest.raises(ConditionError) as refused:
        condition_check(expression=expression, fields=FIELDS)
    # then
    assert str(refused.value) == message


@pytest.mark.parametrize(
    "expression",
    [
        "",
        'order.customer.priority_class == "A" and delay_days > 2',
        'item in ("STEEL-10", "STEEL-12") or delay_days >= 5',
        'lower(order.number) == "so-1" and abs(delay_days) < 10',
        "delay_days if delay_days != None else 0",
    ],
)
def test_condition_check_accepts_documented_names_and_functions(expression):
    # given / when / then: no error
    condition_check(expression=expression, fields=FIELDS)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('order.customer.priority_class == "A" and delay_days > 2', True),
        ('order.customer.priority_class == "A" and delay_days > 3', False),
        ('order.customer.priority_class == "B" or delay_days > 2', True),
        ('item in ["STEEL-10", "STEEL-12"]', True),
        ('upper(item) == "STEEL-10" and len(item) == 8', True),
        ("max(delay_days, 10) == 10 and min(delay_days, 10) == 3", True),
        ("2 ** 10 == 1024 and 7 % 3 == 1", True),
        ("", True),
    ],
)
def test_condition_evaluate_valid_examples(expression, expected):
    # given / when
    result = condition_evaluate(expression=expression, context=CONTEXT)
    # then
    assert result is expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("9**9**9", "A number in the condition grows too large."),
        ("3999999 ** 3999999", "A number in the condition grows too large."),
        (
            "(10 ** 1000) * (10 ** 1000) * (10 ** 1000)",
            "A number in the condition grows too large.",
        ),
        ('"a" * 10**9', "A text or list in the condition grows too long."),
        ('"a" * 9000 + "a" * 9000', "A text or list in the condition grows too long."),
        ("[1] * 10**9", "A text or list in the condition grows too long."),
        ("[1, 2] * 5000 * 5000", "A text or list in the condition grows too long."),
        (
            '"%0999999999d" % 1',
            "FeatureNotAvailable: '%' is for numbers only (no text formatting).",
        ),
        (
            "not " * 40 + "True",
            f"The condition is nested too deeply (at most {MAX_DEPTH} levels).",
        ),
        (
            "-" * 300 + "1",
            f"The condition is too large (602 parts; at most {MAX_NODES}): split it into "
            "several rules.",
        ),
        ("order.__class__", "Names starting with '_' are not allowed (__class__)."),
        ('__import__("os")', "Names starting with '_' are not allowed (__import__)."),
        ("item.upper()", f"Only these functions may be called: {FUNCTIONS}."),
    ],
)
def test_condition_evaluate_is_bounded_and_refuses_unsafe_forms(expression, message):
    # given: a condition written around the admin form (e.g. by a migration)
    # when
    with pytest.raises(ConditionError) as refused:
        condition_evaluate(expression=expression, context=CONTEXT)
    # then: refused (and returned at all: nothing ran away)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("expression", "context", "message"),
    [
        (
            "delay_days > 2",
            {"delay_days": None},
            "TypeError: '>' not supported between instances of 'NoneType' and 'int'",
        ),
        ("delay_days / 0 > 1", {"delay_days": 3}, "ZeroDivisionError: division by zero"),
        ("len(delay_days) > 1", {"delay_days": 3}, "TypeError: object of type 'int' has no len()"),
        (
            "missing > 1",
            {},
            "NameNotDefined: 'missing' is not defined for expression 'missing > 1'",
        ),
        (
            "order.number == 1",
            {"order": "SO-1"},
            "AttributeDoesNotExist: Attribute 'number' does "
            "not exist in expression 'order.number == 1'",
        ),
        ("2.0 ** 10000 > 1", {}, "OverflowError: (34, 'Numerical result out of range')"),
    ],
)
def test_condition_evaluate_run_time_errors_are_condition_errors(expression, context, message):
    # given / when
    with pytest.raises(ConditionError) as failed:
        condition_evaluate(expression=expression, context=context)
    # then
    assert str(failed.value) == message


def test_attributes_read_snapshot_keys_never_python_attributes():
    # given: a snapshot field named like a dict method, and a string value
    context = {"order": {"items": 3, "number": "SO-1"}}
    # when / then
    assert condition_evaluate(expression="order.items == 3", context=context) is True
    with pytest.raises(ConditionError) as refused:
        condition_evaluate(expression="order.number.upper == 1", context=context)
    assert str(refused.value) == (
        "AttributeDoesNotExist: Attribute 'upper' does not exist in expression "
        "'order.number.upper == 1'"
    )


# --- the engine: a rule failing at run time is recorded and skipped ------------------------


def _rule(name: str, condition: str, order: int, **fields: Any) -> DecisionRule:
    return DecisionRule.objects.create(
        name=name,
        decision_point="material.delayed",
        condition=condition,
        effect=DecisionRule.Effect.RAISE_EXCEPTION,
        title_template="late",
        owner_role=Group.objects.get(name=PLANNER),
        order=order,
        **fields,
    )


@pytest.mark.django_db
def test_matching_rules_records_a_failing_rule_and_runs_the_others():
    # given: the middle rule compares None > 2 at run time
    first = _rule("first", "delay_days > 1", 10)
    failing = _rule("failing", "quantity > 2", 20)
    last = _rule("last", 'item == "STEEL-10"', 30)
    context = {"delay_days": 3, "item": "STEEL-10", "quantity": None}
    # when
    fired = engine.matching_rules([first, failing, last], context, event_id=77)
    # then
    assert fired == [first, last]
    errors = list(RuleError.objects.values_list("rule__name", "event_id", "message"))
    assert errors == [
        (
            "failing",
            77,
            "TypeError: '>' not supported between instances of 'NoneType' and 'int'",
        )
    ]


@pytest.mark.django_db
def test_matching_rules_records_an_unbounded_rule_and_runs_the_others():
    # given: a rule saved around the form with a runaway power
    runaway = _rule("runaway", "9**9**9 > 1", 10)
    after = _rule("after", "delay_days > 1", 20)
    # when
    fired = engine.matching_rules([runaway, after], {"delay_days": 3}, event_id=5)
    # then
    assert fired == [after]
    assert list(RuleError.objects.values_list("rule__name", "message")) == [
        ("runaway", "A number in the condition grows too large.")
    ]


@pytest.mark.django_db
def test_matching_rules_without_recording_writes_nothing():
    # given
    failing = _rule("failing", "quantity > 2", 10)
    # when
    fired = engine.matching_rules([failing], {"quantity": None}, record_errors=False)
    # then
    assert fired == []
    assert RuleError.objects.count() == 0
