"""Parameters that hold a literal flag (``reduce="mean"``, ``backend="keras"``).

A helper often picks its code by a flag: ``if backend is None:`` runs NumPy, the other branch
Keras ops. Where the call passes a literal for the flag, or leaves a literal default, and the
body never rebinds it, an ``if`` on it is decided: only the branch that runs is loss code.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from losslint.index.nodes import subtree

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def rebound(node: FunctionNode) -> frozenset[str]:
    """The names the function binds or deletes, kept on the node: the analyses ask of the
    same helper once per call site."""
    known: frozenset[str] | None = getattr(node, "_rebound_names", None)
    if known is None:
        known = frozenset(
            n.id
            for n in subtree(node)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del)
        )
        node._rebound_names = known  # type: ignore[union-attr]
    return known


NOT_LITERAL: Final = object()


def _literal(node: ast.expr | None) -> bool:
    return NOT_LITERAL is not literal_value(node)


def literal_value(node: ast.expr | None) -> object:
    """The value of a literal flag (a string, number, bool or None, also a negative number,
    ``itakura_weight=-1``); ``NOT_LITERAL`` for anything else."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        number = node.operand.value if isinstance(node.operand, ast.Constant) else None
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            return -number
        return NOT_LITERAL
    if isinstance(node, ast.Constant) and not isinstance(node.value, (bytes, complex)):
        return node.value
    return NOT_LITERAL


def literal_defaults(node: FunctionNode) -> dict[str, object]:
    """Parameters with a literal default (a string, number, bool or None) that the body never
    rebinds: their value is the default whenever a call leaves them out."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaulted = positional[len(positional) - len(args.defaults) :]
    pairs: list[tuple[ast.arg, ast.expr | None]] = list(zip(defaulted, args.defaults, strict=True))
    pairs += list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    pairs = [(a, d) for a, d in pairs if _literal(d)]
    if not pairs:
        return {}
    bound = rebound(node)
    return {arg.arg: literal_value(default) for arg, default in pairs if arg.arg not in bound}


def literal_arguments(
    call: ast.Call,
    params: Sequence[str],
    node: FunctionNode,
    known: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The literals ``call`` passes to parameters ``params`` (positional, in order, then by
    keyword) that the body of ``node`` never rebinds; ``known``: flags of the caller, which
    it may pass on by name (``f_score(gt, pr, per_image=per_image)`` in a factory's closure)."""
    given: dict[str, ast.expr] = dict(zip(params, call.args, strict=False))
    if any(isinstance(a, ast.Starred) for a in call.args):
        return {}
    given.update((k.arg, k.value) for k in call.keywords if k.arg is not None and k.arg in params)
    values: dict[str, object] = {}
    for param, expr in given.items():
        value = literal_value(expr)
        if value is not NOT_LITERAL:
            values[param] = value
        elif known and isinstance(expr, ast.Name) and expr.id in known:
            values[param] = known[expr.id]
    if not values:
        return {}
    bound = rebound(node)
    return {p: v for p, v in values.items() if p not in bound}


def decided(test: ast.expr, values: Mapping[str, object]) -> bool | None:
    """The value of an ``if`` test on flags of known value (``reduce == 'mean'``, ``backend is
    None``, ``not flag``), or None when it is not known."""
    if isinstance(test, ast.Constant):  # ``if False:`` around code kept for later
        return bool(test.value)
    if isinstance(test, ast.Name) and test.id in values:
        return bool(values[test.id])
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = decided(test.operand, values)
        return None if inner is None else not inner
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left, right = test.left, test.comparators[0]
    swapped = isinstance(right, ast.Name)
    if swapped:
        left, right = right, left
    if not (isinstance(left, ast.Name) and left.id in values and isinstance(right, ast.Constant)):
        return None
    value, other, op = values[left.id], right.value, test.ops[0]
    if isinstance(op, ast.Eq):
        return bool(value == other)
    if isinstance(op, ast.NotEq):
        return bool(value != other)
    if isinstance(op, ast.Is):
        return value is other
    if isinstance(op, ast.IsNot):
        return value is not other
    order = _ORDERS.get(type(op))
    if order is not None and isinstance(value, (int, float)) and isinstance(other, (int, float)):
        # ``if itakura_weight > 0:`` (or ``0 < itakura_weight``) with the weight every compile
        # passes, in the order the test is written
        return order(other, value) if swapped else order(value, other)
    return None


_ORDERS: Final[dict[type, Callable[[float, float], bool]]] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
}
