"""The rule condition language: Python-like expressions over a decision point's documented
fields, checked when a rule is saved and evaluated with bounded cost (simpleeval, never
`eval`)."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

import simpleeval

MAX_EXPRESSION_LENGTH = 500
MAX_NODES = 120
MAX_DEPTH = 12
# Functions a condition may call, with the number of arguments each takes.
FUNCTIONS: dict[str, tuple[Any, int]] = {
    "len": (len, 1),
    "lower": (lambda s: str(s).lower(), 1),
    "upper": (lambda s: str(s).upper(), 1),
    "abs": (abs, 1),
    "min": (min, 2),
    "max": (max, 2),
}
ALLOWED_NODES = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Mod,
    ast.FloorDiv,
    ast.Pow,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Call,
    ast.Tuple,
    ast.List,
    ast.IfExp,
)


class ConditionError(ValueError):
    """The expression is not acceptable, or failed when it ran; the message says why."""


def _depth(node: ast.AST) -> int:
    children = list(ast.iter_child_nodes(node))
    return 1 + max((_depth(c) for c in children), default=0)


def _attribute_path(node: ast.Attribute) -> list[str] | None:
    parts: list[str] = []
    current: ast.AST = node
    while isinstance(current, ast.Attribute):
        parts.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return None
    parts.append(current.id)
    return list(reversed(parts))


def _resolve(fields: Mapping[str, Any], path: list[str]) -> str | None:
    """None when `path` names a documented field; otherwise the error message."""
    level: Any = fields
    walked: list[str] = []
    for part in path:
        walked.append(part)
        if not isinstance(level, Mapping) or part not in level:
            known = ", ".join(sorted(level)) if isinstance(level, Mapping) else ""
            where = ".".join(walked[:-1])
            return f"Unknown name '{'.'.join(walked)}'." + (
                f" Known {'fields of ' + where if where else 'names'}: {known}." if known else ""
            )
        level = level[part]
    return None


def condition_check(*, expression: str, fields: Mapping[str, Any]) -> None:
    """Refuse what is not a short, safe expression over `fields` (a nested mapping of the
    decision point's documented names)."""
    expression = (expression or "").strip()
    if not expression:
        return
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ConditionError(
            f"The condition is too long ({len(expression)} characters; at most "
            f"{MAX_EXPRESSION_LENGTH})."
        )
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ConditionError(f"Syntax error at column {exc.offset}: {exc.msg}.") from exc
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES or _depth(tree) > MAX_DEPTH:
        raise ConditionError("The condition is too complex: split it into several rules.")
    for node in nodes:
        if not isinstance(node, ALLOWED_NODES):
            raise ConditionError(f"'{type(node).__name__}' is not allowed in a condition.")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ConditionError(f"Names starting with '_' are not allowed ({node.attr}).")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ConditionError(f"Names starting with '_' are not allowed ({node.id}).")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                allowed = ", ".join(sorted(FUNCTIONS))
                raise ConditionError(f"Only these functions may be called: {allowed}.")
            if node.keywords or len(node.args) != FUNCTIONS[node.func.id][1]:
                raise ConditionError(
                    f"{node.func.id}() takes {FUNCTIONS[node.func.id][1]} argument(s)."
                )
    called = {n.func.id for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    inner_names = set()
    for node in nodes:
        if isinstance(node, ast.Attribute):
            for child in ast.walk(node.value):
                inner_names.add(id(child))
    for node in nodes:
        if isinstance(node, ast.Attribute) and id(node) not in inner_names:
            path = _attribute_path(node)
            if path is None:
                raise ConditionError("Attributes may only follow a documented name.")
            problem = _resolve(fields, path)
            if problem:
                raise ConditionError(problem)
        elif isinstance(node, ast.Name) and id(node) not in inner_names:
            if node.id in called or node.id in {"True", "False", "None"}:
                continue
            problem = _resolve(fields, [node.id])
            if problem:
                raise ConditionError(problem)


class _BoundedEval(simpleeval.SimpleEval):
    pass


def condition_evaluate(*, expression: str, context: Mapping[str, Any]) -> bool:
    """Evaluate with bounded cost: powers, string and list sizes are capped by simpleeval,
    and the expression itself is capped in length, size and depth by condition_check."""
    expression = (expression or "").strip()
    if not expression:
        return True
    evaluator = _BoundedEval(
        names=dict(context), functions={name: fn for name, (fn, _) in FUNCTIONS.items()}
    )
    try:
        return bool(evaluator.eval(expression))
    except (
        simpleeval.InvalidExpression,
        ArithmeticError,
        TypeError,
        ValueError,
        KeyError,
        AttributeError,
        RecursionError,
        MemoryError,
    ) as exc:
        raise ConditionError(f"{type(exc).__name__}: {exc}") from exc
