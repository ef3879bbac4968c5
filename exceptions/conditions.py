"""The rule condition language: Python-like expressions over a decision point's documented
fields, checked when a rule is saved and evaluated with bounded cost (simpleeval, never
`eval`).

Two layers keep a condition cheap and harmless:
- its shape (checked on save AND again before every evaluation): at most
  MAX_EXPRESSION_LENGTH characters, MAX_NODES syntax nodes, MAX_DEPTH levels of nesting,
  only whitelisted syntax, no names or attributes starting with "_", and only the calls in
  FUNCTIONS (no methods);
- its values while it runs: integers stay under MAX_INT_BITS, strings and lists under
  MAX_SEQUENCE_LENGTH, "%" is arithmetic only (no string formatting), and attributes only
  read keys of the documented snapshots (never Python attributes or methods).
"""

from __future__ import annotations

import ast
import functools
import math
import operator
from collections.abc import Mapping
from typing import Any

import simpleeval
from django.utils.translation import gettext as _

MAX_EXPRESSION_LENGTH = 500
MAX_NODES = 120
MAX_DEPTH = 12
MAX_INT_BITS = 4096  # about 1,200 decimal digits: far beyond any plant quantity
MAX_SEQUENCE_LENGTH = 10_000
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
    ast.keyword,  # parsed so that the call check can say "takes N argument(s)"
    ast.Tuple,
    ast.List,
    ast.IfExp,
)
CONSTANT_NAMES = {"True", "False", "None"}


class ConditionError(ValueError):
    """The expression is not acceptable, or failed when it ran; the message says why."""


def _depth(tree: ast.AST) -> int:
    """Nesting depth, computed without recursion (a deep tree must not overflow the stack)."""
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return deepest


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


def field_path_problem(fields: Mapping[str, Any], path: list[str]) -> str | None:
    """None when `path` (e.g. ["order", "customer", "code"]) names a documented field;
    otherwise the message saying which part is unknown and what is known there."""
    level: Any = fields
    walked: list[str] = []
    for part in path:
        walked.append(part)
        if not isinstance(level, Mapping) or part not in level:
            name = ".".join(walked)
            if not isinstance(level, Mapping):
                return _("Unknown name '%(name)s': '%(parent)s' has no fields.") % {
                    "name": name,
                    "parent": ".".join(walked[:-1]),
                }
            known = ", ".join(sorted(level))
            where = ".".join(walked[:-1])
            if where:
                return _("Unknown name '%(name)s'. Known fields of %(where)s: %(known)s.") % {
                    "name": name,
                    "where": where,
                    "known": known,
                }
            return _("Unknown name '%(name)s'. Known names: %(known)s.") % {
                "name": name,
                "known": known,
            }
        level = level[part]
    return None


def _parse(expression: str) -> ast.Expression:
    """Parse and check the shape of a non-empty expression; raise ConditionError."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ConditionError(
            _("The condition is too long (%(length)d characters; at most %(max)d).")
            % {"length": len(expression), "max": MAX_EXPRESSION_LENGTH}
        )
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        if not exc.offset or exc.offset > len(expression):
            raise ConditionError(
                _("Syntax error at the end of the condition: %(message)s.") % {"message": exc.msg}
            ) from exc
        raise ConditionError(
            _("Syntax error at column %(column)s: %(message)s.")
            % {"column": exc.offset, "message": exc.msg}
        ) from exc
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ConditionError(_("The condition cannot be read: it is nested too deeply.")) from exc
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ConditionError(
            _(
                "The condition is too large (%(count)d parts; at most %(max)d): split it into "
                "several rules."
            )
            % {"count": len(nodes), "max": MAX_NODES}
        )
    if _depth(tree) > MAX_DEPTH:
        raise ConditionError(
            _("The condition is nested too deeply (at most %(max)d levels).") % {"max": MAX_DEPTH}
        )
    for node in nodes:
        if not isinstance(node, ALLOWED_NODES):
            raise ConditionError(
                _("'%(syntax)s' is not allowed in a condition.") % {"syntax": type(node).__name__}
            )
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
        if isinstance(node, ast.Attribute | ast.Name) and name.startswith("_"):
            raise ConditionError(
                _("Names starting with '_' are not allowed (%(name)s).") % {"name": name}
            )
    for node in nodes:
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ConditionError(
                    _("Only these functions may be called: %(functions)s.")
                    % {"functions": ", ".join(sorted(FUNCTIONS))}
                )
            arity = FUNCTIONS[node.func.id][1]
            if node.keywords or len(node.args) != arity:
                raise ConditionError(
                    _("%(function)s() takes %(count)d argument(s).")
                    % {"function": node.func.id, "count": arity}
                )
    return tree


def condition_check(*, expression: str, fields: Mapping[str, Any]) -> None:
    """Refuse what is not a short, safe expression over `fields` (a nested mapping of the
    decision point's documented names)."""
    expression = (expression or "").strip()
    if not expression:
        return
    tree = _parse(expression)
    nodes = list(ast.walk(tree))
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
                raise ConditionError(_("Attributes may only follow a documented name."))
            problem = field_path_problem(fields, path)
            if problem:
                raise ConditionError(problem)
        elif isinstance(node, ast.Name) and id(node) not in inner_names:
            if node.id in called or node.id in CONSTANT_NAMES:
                continue
            problem = field_path_problem(fields, [node.id])
            if problem:
                raise ConditionError(problem)


# --- bounded operators ---------------------------------------------------------------


class _TooBig(simpleeval.InvalidExpression):
    """A value outgrew its bound (numbers, texts, lists)."""


def _int_bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def _check_int(value: Any) -> Any:
    if _int_bits(value) > MAX_INT_BITS:
        raise _TooBig(_("A number in the condition grows too large."))
    return value


def _check_sequence(length: int) -> None:
    if length > MAX_SEQUENCE_LENGTH:
        raise _TooBig(_("A text or list in the condition grows too long."))


def _power(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and abs(a) > 1 and b > 0:
        # log2(a ** b) = b * log2(a): refuse before computing a number that large.
        if b * math.log2(abs(a)) > MAX_INT_BITS:
            raise _TooBig(_("A number in the condition grows too large."))
    return _check_int(operator.pow(a, b))


def _multiply(a: Any, b: Any) -> Any:
    for seq, times in ((a, b), (b, a)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int):
            _check_sequence(len(seq) * max(times, 0))
    if isinstance(a, int) and isinstance(b, int) and _int_bits(a) + _int_bits(b) > MAX_INT_BITS:
        raise _TooBig(_("A number in the condition grows too large."))
    return a * b


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, str | list | tuple) and isinstance(b, str | list | tuple):
        _check_sequence(len(a) + len(b))
    return _check_int(a + b)


def _modulo(a: Any, b: Any) -> Any:
    if isinstance(a, str | bytes):
        raise simpleeval.FeatureNotAvailable(_("'%' is for numbers only (no text formatting)."))
    return a % b


OPERATORS: dict[type[ast.AST], Any] = {
    **simpleeval.DEFAULT_OPERATORS,
    ast.Add: _add,
    ast.Mult: _multiply,
    ast.Pow: _power,
    ast.Mod: _modulo,
    ast.Sub: lambda a, b: _check_int(a - b),
}


class _BoundedEval(simpleeval.EvalWithCompoundTypes):
    """simpleeval (with list and tuple literals) whose attributes read mapping keys only:
    `order.items` is the snapshot's "items" field, never the dict's method, and strings
    have no attributes."""

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        if node.attr.startswith("_"):
            raise simpleeval.FeatureNotAvailable(
                _("Names starting with '_' are not allowed (%(name)s).") % {"name": node.attr}
            )
        value = self._eval(node.value)
        if isinstance(value, Mapping) and node.attr in value:
            return value[node.attr]
        raise simpleeval.AttributeDoesNotExist(node.attr, self.expr)


@functools.lru_cache(maxsize=2048)
def _parse_cached(expression: str) -> ast.Expression:
    """Rules run on every event: their checked parse is kept (errors are not cached)."""
    return _parse(expression)


def condition_evaluate(*, expression: str, context: Mapping[str, Any]) -> bool:
    """Evaluate with bounded cost. The shape is checked again here (a rule written around
    the admin form, e.g. by a migration, gets no pass), and every operator bounds the size
    of what it produces."""
    expression = (expression or "").strip()
    if not expression:
        return True
    tree = _parse_cached(expression)
    evaluator = _BoundedEval(
        operators=OPERATORS,
        names=dict(context),
        functions={name: fn for name, (fn, _arity) in FUNCTIONS.items()},
    )
    try:
        return bool(evaluator.eval(expression, previously_parsed=tree.body))
    except (
        simpleeval.InvalidExpression,
        ArithmeticError,
        TypeError,
        ValueError,
        KeyError,
        IndexError,
        AttributeError,
        RecursionError,
        MemoryError,
    ) as exc:
        message = str(exc) if isinstance(exc, _TooBig) else f"{type(exc).__name__}: {exc}"
        raise ConditionError(message) from exc
