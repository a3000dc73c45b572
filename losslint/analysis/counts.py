"""Two reductions that count every element once between them: ``sum(1 - y) + sum(y)`` (HED's
``count_neg + count_pos``), or the sums of ``x > m`` and ``x <= m``, of ``equal(p, t)`` and
``not_equal(p, t)``. Their sum is the element count, at least 1, and a ratio over it is a
mean, whatever the values. Shared by the value-range analysis (a denominator that cannot be 0)
and the batch-axis analysis (a ratio over a count, not over a batch's data)."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Final

from losslint.analysis import ops
from losslint.index import names

# Follows a name to the expression last bound to it (the node itself when there is none).
Source = Callable[[ast.expr], ast.expr]
# The catalogue name of a call's function (``tf.math.equal`` → ``equal``), else None.
CallName = Callable[[ast.expr], "str | None"]

_SUMS: Final = ("sum", "reduce_sum", "mean", "reduce_mean")
_CASTS: Final = ("cast", "to_float", "to_int32")
# The symbol of each comparison operator, and the test that holds where another does not.
SYMBOLS: Final[dict[type[ast.cmpop], str]] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Lt: "<",
    ast.LtE: "<=",
}
# The comparison functions (``tf.math.greater``) by the symbol they stand for.
COMPARISONS: Final = {
    "equal": "==",
    "not_equal": "!=",
    "greater": ">",
    "greater_equal": ">=",
    "less": "<",
    "less_equal": "<=",
}
NEGATED: Final = {"==": "!=", "!=": "==", ">": "<=", ">=": "<", "<": ">=", "<=": ">"}
_NESTED_SUMS: Final = 3  # ``sum(union) + sum(intersect)`` of names bound to sums


def key(node: ast.AST) -> str:
    """The same expression written twice has the same key (positions left out). An integer
    too long for ``str`` (beyond Python's 4,300 digits) has a key of its own, equal to none."""
    try:
        return ast.dump(node)
    except ValueError:
        return f"<unprintable {id(node)}>"


def math_name(func: ast.expr, imports: Mapping[str, str]) -> str | None:
    """The catalogue name of a tensor-math call under ``imports`` (``tf.math.equal`` →
    ``equal``), builtins included; None for any other call."""
    target = names.qualify(func, imports)
    if target is None:
        return None
    module, _, last = target.rpartition(".")
    if ops.tensor_module(module) in names.TENSOR_MATH_MODULES or module == "builtins":
        return last
    return None


def complementary_counts(
    left: ast.expr, right: ast.expr, source: Source, call_name: CallName, depth: int = 0
) -> str | None:
    """``"sum"`` where ``left + right`` adds two sums that count every element once between
    them (also a sum of two such sums, through the names bound to them); ``"mean"`` where the
    two are means, which add up to 1; None for anything else."""
    first, second = source(left), source(right)
    if not (isinstance(first, ast.Call) and isinstance(second, ast.Call)):
        return None
    name = call_name(first.func)
    if (
        name not in _SUMS
        or call_name(second.func) != name
        or len(first.args) != len(second.args)
        or not first.args
        or [key(a) for a in first.args[1:]] != [key(a) for a in second.args[1:]]
        or sorted((k.arg or "", key(k.value)) for k in first.keywords)
        != sorted((k.arg or "", key(k.value)) for k in second.keywords)
    ):
        return None
    kind = "mean" if "mean" in name else "sum"
    if complements(first.args[0], second.args[0], source, call_name):
        return kind
    if kind == "sum" and depth < _NESTED_SUMS:
        # ``intersect = sum(cast(equal(p, t)))``, ``union = sum(cast(not_equal(p, t)))``,
        # then ``sum(union) + sum(intersect)``: the sums of two counts are counts.
        inner = complementary_counts(first.args[0], second.args[0], source, call_name, depth + 1)
        return "sum" if inner == "sum" else None
    return None


def complements(one: ast.expr, other: ast.expr, source: Source, call_name: CallName) -> bool:
    """Is one of ``one``, ``other`` ``1 - v`` and the other ``v``, or ``logical_not(v)`` and
    ``v``, or are they opposite comparisons of the same operands (``x > m`` and ``x <= m``,
    ``equal(p, t)`` and ``not_equal(p, t)``), through casts and the names bound to them?"""
    return any(
        _opposite(_uncast(a, call_name), _uncast(b, call_name), call_name)
        for a, b in ((one, other), (source(one), source(other)))
    )


def _opposite(one: ast.expr, other: ast.expr, call_name: CallName) -> bool:
    """:func:`complements` of two expressions written out, without their casts."""
    for a, b in ((one, other), (other, one)):
        if (
            isinstance(a, ast.BinOp)
            and isinstance(a.op, ast.Sub)
            and isinstance(a.left, ast.Constant)
            and a.left.value == 1
            and key(_uncast(a.right, call_name)) == key(b)
        ):
            return True
        if (
            isinstance(a, ast.Call)
            and len(a.args) == 1
            and call_name(a.func) == "logical_not"
            and key(_uncast(a.args[0], call_name)) == key(b)
        ):
            return True
    first, second = _comparison(one, call_name), _comparison(other, call_name)
    return (
        first is not None
        and second is not None
        and first[1:] == second[1:]
        and NEGATED[first[0]] == second[0]
    )


def comparison(node: ast.expr, call_name: CallName) -> tuple[str, ast.expr, ast.expr] | None:
    """``(symbol, left, right)`` of ``a > b`` or ``greater(a, b)``; None for anything else."""
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        symbol = SYMBOLS.get(type(node.ops[0]))
        return (symbol, node.left, node.comparators[0]) if symbol is not None else None
    if isinstance(node, ast.Call) and len(node.args) == 2:
        symbol = COMPARISONS.get(call_name(node.func) or "")
        return (symbol, node.args[0], node.args[1]) if symbol is not None else None
    return None


def _comparison(node: ast.expr, call_name: CallName) -> tuple[str, str, str] | None:
    """:func:`comparison` with the operands as keys, of a call given no keywords."""
    if isinstance(node, ast.Call) and node.keywords:
        return None
    found = comparison(node, call_name)
    return (found[0], key(found[1]), key(found[2])) if found is not None else None


def _uncast(node: ast.expr, call_name: CallName) -> ast.expr:
    """``node`` without the casts around it (``tf.cast(y > 0.5, tf.float32)``)."""
    for _ in range(4):
        if isinstance(node, ast.Call) and node.args and call_name(node.func) in _CASTS:
            node = node.args[0]
        else:
            break
    return node


def addends(node: ast.AST) -> list[ast.expr]:
    """The terms of a sum ``a + b + c``, in the order written (a single term for anything
    else)."""
    terms: list[ast.expr] = []
    pending: list[ast.AST] = [node]
    while pending:
        part = pending.pop()
        if isinstance(part, ast.BinOp) and isinstance(part.op, ast.Add):
            pending += [part.right, part.left]  # the left taken next
        elif isinstance(part, ast.expr):
            terms.append(part)
    return terms


def confusion_total(node: ast.AST) -> bool:
    """``tp + tn + fp + fn`` (``t_p``, ``self.true_positives``): the four cells of a confusion
    matrix count every element once, so their sum is the element count (the accuracy's
    denominator), never 0 for a batch."""
    terms = addends(node)
    cells = [
        names.confusion_cell(
            t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else ""
        )
        for t in terms
    ]
    return len(cells) == 4 and set(cells) == set(names.CONFUSION_CELLS)
