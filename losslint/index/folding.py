"""Constant folding with a fixed budget: a result too costly to compute is "unknown" (None).

Python folds ``9 ** 9 ** 9`` lazily at run time, but a linter that folds constants eagerly
would compute an integer of 350 million digits (minutes, gigabytes) for one line of valid
code. Every fold of numbers in losslint goes through :func:`fold`, which refuses any integer
result wider than a float can hold before computing it, and any result that is not a finite
number; :func:`to_float` converts without ``OverflowError``.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Final

# A float holds magnitudes below 2**1024; a wider integer cannot be a loss weight, an epsilon
# or a unit count, so it is not worth computing. The margin keeps exact sums of two such
# integers foldable.
MAX_INT_BITS: Final = 1100

Number = int | float

_OPERATORS: Final[dict[type[ast.operator], Callable[[Number, Number], object]]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def foldable(op: ast.operator) -> bool:
    return type(op) in _OPERATORS


def is_number(value: object) -> bool:
    """An int or float (not a bool, complex or anything else that supports arithmetic)."""
    return type(value) in (int, float)


def fold(op: ast.operator, left: object, right: object) -> Number | None:
    """``left <op> right`` for two numbers, or None when it is unknown or over the budget."""
    if not (is_number(left) and is_number(right)) or not foldable(op):
        return None
    assert isinstance(left, (int, float)) and isinstance(right, (int, float))
    if _too_wide(left) or _too_wide(right):
        return None
    if type(left) is int and type(right) is int and not _within_budget(op, left, right):
        return None
    try:
        result = _OPERATORS[type(op)](left, right)
    except (ArithmeticError, ValueError):  # 1 / 0, 10.0 ** 400, (-8) ** 0.5 on some builds
        return None
    if type(result) is float:
        return result if math.isfinite(result) else None
    if type(result) is int:
        return None if _too_wide(result) else result
    return None  # complex: (-8) ** 0.5


def to_float(value: object) -> float | None:
    """``float(value)`` for a number, None when it is not one or is beyond a float's range."""
    if not is_number(value):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except OverflowError:
        return None


def literal(value: int) -> str:
    """``value`` as a message shows it: an integer beyond a float's range by its size only
    (``str()`` of one over 4,300 digits raises, and ``0xfff...`` literals can be that long)."""
    if _too_wide(value):
        return f"<an integer of {value.bit_length()} bits>"
    return str(value)


def _too_wide(value: Number) -> bool:
    return type(value) is int and value.bit_length() > MAX_INT_BITS


def _within_budget(op: ast.operator, left: int, right: int) -> bool:
    """Whether an integer ``left <op> right`` stays within MAX_INT_BITS, judged before it is
    computed (the computation itself is what must not happen)."""
    if isinstance(op, ast.Mult):
        return left.bit_length() + right.bit_length() <= MAX_INT_BITS + 1
    if isinstance(op, ast.Pow):
        if right < 0 or abs(left) <= 1:
            return True  # a float in (0, 1], or 0, 1, -1 whatever the exponent
        return (abs(left).bit_length() - 1) * right <= MAX_INT_BITS
    return True  # a sum or a difference grows by one bit at most


def unparse(node: ast.AST) -> str:
    """The source text of ``node`` for a message, never an exception: ``ast.unparse`` raises on
    an integer literal over 4,300 digits (a ``0xfff...`` literal is valid Python) and recurses
    once per nesting level."""
    try:
        return ast.unparse(node)
    except (ValueError, RecursionError):
        return "<expression>"


def shortened(node: ast.AST, limit: int) -> str:
    """The source text of ``node`` for a message (see :func:`unparse`), cut to ``limit``
    characters with ``...``."""
    text = unparse(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."
