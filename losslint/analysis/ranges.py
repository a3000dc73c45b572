"""The value-range analysis shared by the NaN/Inf rules (LL3xx).

Every expression in loss code gets a :class:`Range`: an interval over the extended reals with
open or closed ends, plus why it may reach a boundary. ``None`` means "nothing is known", which
is different from "may be anything": a loss input (``y_pred``) may be anything, 0 included, so
``log(y_pred)`` is a hazard; ``self.temperature`` is unknown, so ``x / self.temperature`` is not
reported. Guards narrow ranges (``clip``, ``maximum(x, eps)``, ``x + eps``, ``softplus`` ...).

Loss code is every loss/metric definition of the index, the helpers they call (followed with the
argument ranges), and every expression that flows into training outside ``compile``
(``minimize``, ``tape.gradient``, ``add_loss``, ``.backward()``, ``jax.grad``) together with the
statements it is built from.

The analysis yields :class:`Hazard` facts; the LL3xx rules only turn them into diagnostics.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import math
import re
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from losslint.analysis import flags, ops, rewrites
from losslint.analysis.counts import NEGATED as _NEGATED
from losslint.analysis.counts import SYMBOLS as _SYMBOLS
from losslint.analysis.counts import (
    addends,
    comparison,
    complementary_counts,
    confusion_total,
    math_name,
)
from losslint.analysis.counts import key as _key
from losslint.analysis.references import (
    called_by_project,
    detached_result,
    evaluated_by_project,
    frameworkless,
    in_tests,
    loaded_only,
    numpy_references,
    only_thresholded,
    pure_numpy,
    returns_numpy,
    unreferenced,
)
from losslint.analysis.wiring import (
    CROSSENTROPY_FAMILIES,
    CROSSENTROPY_FUNCTIONS,
    CROSSENTROPY_MODULES,
    LOGITS_SUBSTITUTED,
    assign_losses,
    clipped_as_probabilities,
    describe,
    normalizer,
)
from losslint.codec import lines_with, mentioning_statements
from losslint.diagnostic import Fix, Span
from losslint.index import names
from losslint.index.apis import is_keras_source
from losslint.index.facts import (
    LossDef,
    ModelFact,
    ModelRef,
    ModuleIndex,
    Output,
    Param,
    Unknown,
    Value,
    iter_leaves,
)
from losslint.index.folding import shortened
from losslint.index.nodes import subtree
from losslint.index.positions import flat_statements, node_span, parameter_names
from losslint.index.project import (
    TRUE_NAMES,
    ProjectIndex,
    bound_once,
    local_binding,
    named_like_loss,
    parameter_default,
    truth_name,
)

INF: Final = math.inf
_MAX_DEPTH: Final = 4  # helper calls followed
_MAX_EXPR_DEPTH: Final = 60

_EPSILON: Final = frozenset({"keras.backend.epsilon", "keras.config.epsilon"})
# Calls that look through to their first argument when a guard compares it.
_SEE_THROUGH: Final = frozenset(
    {
        "cast",
        "convert_to_tensor",
        "stop_gradient",
        "identity",
        "to_float",
        "float",
        "int",
        "to_int32",
    }
)
_MATH_CONSTANTS: Final = {
    "numpy.pi": math.pi,
    "math.pi": math.pi,
    "numpy.e": math.e,
    "math.e": math.e,
}
_FLIPPED: Final = {"==": "==", "!=": "!=", ">": "<", ">=": "<=", "<": ">", "<=": ">="}
# Predicates that test a value for inf/NaN: a ``where`` or ``boolean_mask`` on them handles the
# non-finite result on purpose.
_FINITE_TESTS: Final = frozenset(
    {"isnan", "isinf", "isfinite", "is_nan", "is_inf", "is_finite", "isneginf", "isposinf"}
)
_INF_TESTS: Final = frozenset({"isinf", "is_inf", "isneginf", "isposinf"})
_NAN_TESTS: Final = frozenset({"isnan", "is_nan"})
# The where-gradient trap, by hazard kind: what is still computed, and the double-where fix.
_TRAP_NAMES: Final = {"log": "log", "sqrt": "square root", "divide": "division", "power": "power"}
# The double where of each: {w} is the argument (d, the denominator, for a division) kept to
# where the condition protects it, and 1 elsewhere.
_TRAP_FIXES: Final = {
    "log": "ops.log({w})",
    "sqrt": "ops.sqrt({w})",
    "divide": "x / {w}",
    "power": "{w} ** p",
}


@dataclass(frozen=True, slots=True)
class Range:
    """An interval of possible values, with why its boundary can be reached.

    Construction is total: a NaN end widens to ±inf and reversed ends are swapped, so every
    transfer function may build a Range from whatever float arithmetic gave it.
    """

    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False
    reason: str = ""  # why the value can reach a dangerous boundary, for messages
    normalizer: str | None = None  # "softmax" / "sigmoid": the value *is* that output
    overflow: Span | None = None  # contains exp() of a value unbounded above
    # The max-shift idiom: ``x - max(x)`` is <= 0 with a 0 on the axis, so ``exp`` of it is
    # <= 1 with a 1 on the axis, and the sum of that is >= 1 (stable softmax, logsumexp).
    shifted: bool = False
    sum_floor: float | None = None
    # Each row along the last axis sums to at least this: a softmax output is a distribution
    # over its classes (1), and so is what adds values >= 0 to it or scales it by a positive
    # factor (a Dice union ``y_true + y_pred``). A sum over that axis, or all, is that much.
    row_sum: float = 0.0
    nonzero: bool = False  # a guard excluded 0 from inside the interval (``if n != 0``)
    # Positive but for float32 underflow (a sigmoid, an exp, their products and sums with
    # values >= 0): 0 only where every such factor underflows, which a sum over an axis needs
    # of every element at once (see _reduce_sum).
    underflow: bool = False
    # Hazards already reported on the way to this value (path, span, kind): a later
    # ``nan_to_num`` or ``where(is_nan(...))`` shows the non-finite result is handled on purpose.
    pending: tuple[tuple[str, Span, str], ...] = ()
    diagonal: bool = False  # 1 on the diagonal: ``equal(y, transpose(y))``
    tokens: bool = False  # the labels' tokens that are not padding: ``labels != 0``
    source: bool = False  # a loss input (``y_pred``) as given, at most cast or converted
    numpy_overflow: bool = False  # ``overflow`` comes from NumPy, which has no gradient
    # A compiled loss's ``y_pred`` as given, where every compile of the loss gives it a model
    # output ending in softmax or sigmoid: (that activation, where the model is compiled).
    compiled: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        lo, hi = self.lo, self.hi
        if math.isnan(lo):
            object.__setattr__(self, "lo", -INF)
            object.__setattr__(self, "lo_open", False)
        if math.isnan(hi):
            object.__setattr__(self, "hi", INF)
            object.__setattr__(self, "hi_open", False)
        if self.lo > self.hi:
            lo_open, hi_open = self.lo_open, self.hi_open
            object.__setattr__(self, "lo", hi)
            object.__setattr__(self, "hi", lo)
            object.__setattr__(self, "lo_open", hi_open)
            object.__setattr__(self, "hi_open", lo_open)

    def may_be_zero(self) -> bool:
        if self.nonzero:
            return False
        return self.may_be_at_most(0.0) and (self.hi > 0 or (self.hi == 0 and not self.hi_open))

    def may_be_at_most(self, bound: float) -> bool:
        return self.lo < bound or (self.lo == bound and not self.lo_open)

    def may_be_at_least(self, bound: float) -> bool:
        return self.hi > bound or (self.hi == bound and not self.hi_open)

    @property
    def is_constant(self) -> bool:
        return self.lo == self.hi and not self.lo_open and math.isfinite(self.lo)

    @property
    def is_everything(self) -> bool:
        return self.lo == -INF and self.hi == INF


def point(value: float, reason: str = "") -> Range:
    return Range(value, value, reason=reason)


# -- total float arithmetic: overflow gives ±inf, 0/0 and inf-inf give NaN, never an exception --


def to_float(value: int | float) -> float:
    """A Python number as a float; integers beyond float range become ±inf."""
    try:
        return float(value)
    except OverflowError:
        return INF if value > 0 else -INF


def _fmul(x: float, y: float) -> float:
    if x == 0 or y == 0:
        return 0.0  # 0 * inf is 0 here: a zero factor wins (a mask times anything)
    return x * y


def _fdiv(x: float, y: float) -> float:
    if y == 0:
        return math.nan if x == 0 or math.isnan(x) else math.copysign(INF, x)
    return x / y


# Calls that keep a setting what it is (a conversion, a type).
_SETTING_WRAPPERS: Final = frozenset({"float", "int", "convert_to_tensor", "constant", "cast"})


def _named_epsilon(name: str) -> bool:
    """``eps``, ``epsilon``, ``smooth_eps``: a name that says the value is a small positive
    guard."""
    lowered = name.lower()
    return lowered in ("eps", "epsilon") or lowered.endswith(("_eps", "_epsilon"))


def _euclidean(call: ast.Call) -> bool:
    """Whether a norm call takes the square root of a sum of squares: no ``ord`` (or ``ord``
    written as 2, ``"euclidean"``, ``"fro"``). An L1 or max norm (``tf.norm(x, ord=1)``) has
    a gradient at the zero vector (0, a subgradient); an ``ord`` held in a name is unknown."""
    given = next((k.value for k in call.keywords if k.arg == "ord"), None)
    if given is None and len(call.args) > 1 and not isinstance(call.args[1], ast.Starred):
        given = call.args[1]
    if given is None:
        return True
    return isinstance(given, ast.Constant) and given.value in (2, None, "euclidean", "fro", "f")


def _fexp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return INF


def _fpow(x: float, p: float) -> float:
    try:
        result = x**p
    except (OverflowError, ZeroDivisionError):
        return INF
    return result if isinstance(result, float) else math.nan


def _is_integer(p: float) -> bool:
    return math.isfinite(p) and p == int(p)


@dataclass(frozen=True, slots=True)
class Hazard:
    """A place in loss code where a value can reach an operation's boundary."""

    kind: str  # "log" | "log-normalizer" | "sqrt" | "divide" | "exp" | "power" | "trig" | "guard"
    # | "term" (LL503)
    path: str
    span: Span
    message: str
    fix: Fix | None = None


def _join(a: Range | None, b: Range | None) -> Range | None:
    """Either value (branches of an ``if``, ``where``): the union of the intervals."""
    if a is None or b is None:
        return None
    lo, lo_open = min((a.lo, a.lo_open), (b.lo, b.lo_open))
    hi, hi_open = max((a.hi, not a.hi_open), (b.hi, not b.hi_open))
    low_side = a if (a.lo, a.lo_open) <= (b.lo, b.lo_open) else b
    return Range(
        lo,
        hi,
        lo_open,
        not hi_open,
        reason=low_side.reason or a.reason or b.reason,
        normalizer=a.normalizer if a.normalizer == b.normalizer else None,
        compiled=_compiled_join(a, b),
        overflow=a.overflow or b.overflow,
        # Neither side can be 0 (``where(n == 0, 1, n)``): nor can their union.
        nonzero=not a.may_be_zero() and not b.may_be_zero(),
        pending=_pending(a, b),
        diagonal=a.diagonal and b.diagonal,
        # The prediction, or its softmax: either is a probability vector by the loss's contract.
        source=(a.source or a.normalizer == "softmax") and (b.source or b.normalizer == "softmax"),
        numpy_overflow=a.numpy_overflow and b.numpy_overflow,
        underflow=_underflowing(a, b, both=True),
    )


def _compiled_join(a: Range, b: Range) -> tuple[str, str] | None:
    """The compiled output a union still is: both sides', or one side's where the other is a
    number filled in (``tf.where(mask, -100.0, y_pred)``, illegal moves masked before a
    softmax crossentropy that takes the rest as logits)."""
    if a.compiled == b.compiled:
        return a.compiled
    if b.compiled is None and b.is_constant and not b.source:
        return a.compiled
    if a.compiled is None and a.is_constant and not a.source:
        return b.compiled
    return None


def _positive(value: Range) -> bool:
    """Above 0, or at 0 only by underflow."""
    return value.lo > 0 or (value.lo == 0 and (value.lo_open or value.underflow))


def _underflowing(a: Range, b: Range, both: bool) -> bool:
    """Whether a product (``both``: or a union) of ``a`` and ``b`` is 0 only by underflow; a
    sum is when one is and the other is >= 0."""
    if not (a.underflow or b.underflow):
        return False
    if both:
        return _positive(a) and _positive(b)
    return (a.underflow and _positive(a) and b.lo >= 0) or (
        b.underflow and _positive(b) and a.lo >= 0
    )


def _pending(*values: Range | None) -> tuple[tuple[str, Span, str], ...]:
    found: dict[tuple[str, Span, str], None] = {}
    for value in values:
        if value is not None:
            found.update(dict.fromkeys(value.pending))
    return tuple(found)


def _add(a: Range, b: Range, guard: bool = True) -> Range:
    # An added positive constant is taken as an explicit guard: the author says the other
    # operand is not negative (``log(y_pred + eps)``), so we believe it. Not for ``c - x``.
    if guard and _is_point(b) and b.lo > 0 and a.lo < 0 and not _is_point(a):
        a = replace(a, lo=0.0, lo_open=False)
    elif guard and _is_point(a) and a.lo > 0 and b.lo < 0 and not _is_point(b):
        b = replace(b, lo=0.0, lo_open=False)
    lo = _sum(a.lo, b.lo, -INF)
    hi = _sum(a.hi, b.hi, INF)
    zero_side = a if a.may_be_at_most(0) else b
    return Range(
        lo,
        hi,
        a.lo_open or b.lo_open,
        a.hi_open or b.hi_open,
        reason=zero_side.reason or a.reason or b.reason,
        overflow=a.overflow or b.overflow,
        numpy_overflow=_numpy_only(a, b),
        underflow=_underflowing(a, b, both=False),
        row_sum=(a.row_sum if b.lo >= 0 else 0.0) + (b.row_sum if a.lo >= 0 else 0.0),
    )


def _numpy_only(*values: Range) -> bool:
    """Every overflow among the operands comes from NumPy (no gradient to poison)."""
    carrying = [v for v in values if v.overflow is not None]
    return bool(carrying) and all(v.numpy_overflow for v in carrying)


def _is_one(value: Range | None) -> bool:
    return value is not None and value.lo == value.hi == 1.0


def _is_point(value: Range) -> bool:
    """A single number, ±inf included (``EPS = 10**400`` is inf as a float)."""
    return value.lo == value.hi and not value.lo_open


def _sum(x: float, y: float, default: float) -> float:
    total = x + y
    return default if math.isnan(total) else total


def _negate(a: Range) -> Range:
    return Range(
        -a.hi, -a.lo, a.hi_open, a.lo_open, reason=a.reason, overflow=a.overflow, nonzero=a.nonzero
    )


def _mul(a: Range, b: Range) -> Range:
    products = [_fmul(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
    lo, hi = min(products), max(products)
    open_lo = (a.lo_open and b.lo >= 0) or (b.lo_open and a.lo >= 0)
    zero_side = a if a.may_be_zero() else b
    if (
        a.may_be_zero()
        and b.may_be_zero()
        and _exp_underflow_only(a)
        and not _exp_underflow_only(b)
    ):
        zero_side = b  # ``s1s2 * sqrt(1 - rho ** 2)``: the factor that reaches 0 exactly says why
    return Range(
        lo,
        hi,
        open_lo and lo >= 0,
        False,
        zero_side.reason,
        overflow=a.overflow or b.overflow,
        numpy_overflow=_numpy_only(a, b),
        nonzero=not a.may_be_zero() and not b.may_be_zero() and lo <= 0 <= hi,
        underflow=_underflowing(a, b, both=True),
        row_sum=max(
            a.row_sum * b.lo if b.lo > 0 and _is_point(b) else 0.0,
            b.row_sum * a.lo if a.lo > 0 and _is_point(a) else 0.0,
        ),
    )


def _mul_unknown(known: Range, data: bool = False) -> Range | None:
    """A product of a loss input with an unknown factor (``multiply(y_true, mask)``): 0
    wherever the input is 0. Only for the input itself: an unknown factor of a derived value
    (``(y_true + y_pred) * class_weights``, ``k**2 * features``) is often what keeps it away
    from 0, so the product stays unknown. A model's softmax or sigmoid output is such an
    input too where the unknown factor is data handed in (``data``: a parameter of the
    function, DeepHit's ``mask * pred``); an unknown computed factor may be what rescales it
    (a Sinkhorn iteration's ``Q *= r / u``)."""
    if not (known.source or (data and known.normalizer is not None)) or not known.may_be_zero():
        return None
    return Range(-INF, INF, reason=known.reason or "a product, 0 where a factor is 0")


def _whole_softmax(value: Range | None, node: ast.Call, args: list[ast.expr]) -> bool:
    """Whether a reduction of ``value`` takes a softmax whole (one computed here, or a value
    whose rows sum to at least ``row_sum``): over every axis, or over its last one (where a
    softmax normalises by default)."""
    if value is None or (value.normalizer != "softmax" and value.row_sum <= 0):
        return False
    axis = _axis(node, args)
    if axis is None:
        return True
    if isinstance(axis, ast.UnaryOp) and isinstance(axis.op, ast.USub):
        return isinstance(axis.operand, ast.Constant) and axis.operand.value == 1
    return isinstance(axis, ast.Constant) and axis.value is None


# Calls that read labels as class ids (see RangeAnalysis._class_ids).
_CLASS_ID_READERS: Final = frozenset(
    {
        "sparse_categorical_crossentropy",
        "SparseCategoricalCrossentropy",
        "sparse_softmax_cross_entropy_with_logits",
        "sparse_categorical_accuracy",
        "argmax",
    }
)


def _axis(node: ast.Call, args: list[ast.expr]) -> ast.expr | None:
    """The axis a reduction call is given (``args``: its values, a method's tensor first), by
    keyword (``axis``, torch's ``dim``) or second; None where it is not given."""
    for keyword in node.keywords:
        if keyword.arg in ("axis", "dim"):
            return keyword.value
    return args[1] if len(args) > 1 else None


def _over_every_axis(node: ast.Call, args: list[ast.expr]) -> bool:
    """Whether a reduction call reduces every axis (no ``axis``, or ``axis=None``)."""
    axis = _axis(node, args)
    return axis is None or (isinstance(axis, ast.Constant) and axis.value is None)


def _reduce_sum(a: Range) -> Range:
    """A sum over an axis of unknown length: the sign survives, the size does not."""
    if a.sum_floor is not None:
        return Range(a.sum_floor, INF)
    if a.diagonal:
        return Range(1.0, INF)  # every row holds its diagonal 1
    if a.underflow and a.lo == 0:
        # ``sum(sigmoid(p))`` over an axis: 0 only if every element underflows at once.
        return Range(
            0.0, INF if a.hi > 0 else 0.0, lo_open=True, reason=a.reason, overflow=a.overflow
        )
    lo = -INF if a.lo < 0 else (a.lo if a.lo > 0 else 0.0)
    hi = INF if a.hi > 0 else (a.hi if a.hi < 0 else 0.0)
    if a.lo > 0 or (a.lo == 0 and a.lo_open):
        reason = a.reason
    elif a.lo == 0:
        reason = "a sum of non-negative terms, 0 when they all are"
    else:
        reason = "a sum, 0 when its terms are, e.g. an empty mask or no positives in the batch"
    return Range(
        lo, hi, a.lo_open and a.lo >= 0, a.hi_open and a.hi <= 0, reason, overflow=a.overflow
    )


_ROUNDED: Final = "which float32 rounds to"


def _float32(value: float) -> float:
    """``value`` as float32 holds it: a bound within 3e-8 of 1 is 1 (``1 - 1e-8``)."""
    try:
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:
        return math.copysign(INF, value)


def _rounded(bound: Range | None) -> tuple[Range | None, str]:
    """A constant bound of a guard, as the float32 tensor it is applied to holds it, and a
    note where rounding moved it onto 0 or 1 (``clip(p, 1e-8, 1 - 1e-8)`` keeps 1 - p at 0)."""
    if bound is None or not bound.is_constant:
        return bound, ""
    single = _float32(bound.lo)
    if single == bound.lo or single not in (0.0, 1.0):
        return bound, ""
    note = f"{bound.lo!r}, {_ROUNDED} {_fmt(single)}"  # every digit: 1 + 1e-10 is not "1"
    return replace(bound, lo=single, hi=single), note


def _clip(
    a: Range | None, low: Range | None, high: Range | None, ordered: bool = False
) -> Range | None:
    """``clip(a, low, high)``. With ``low > high`` backends disagree (NumPy and JAX give
    ``high``, TensorFlow ``low``), so the result covers both orders of max and min, unless
    the bounds are ``ordered``: configured ones that a reader takes for ``low < high``."""
    if a is None and low is None:
        return None
    low, low_note = _rounded(low)
    high, high_note = _rounded(high)
    value = a if a is not None else Range(-INF, INF)
    if ordered and high is not None:  # within [low, high], whatever ``high``'s own range
        first = _bound_below(value, low)
        if (high.hi, not high.hi_open) < (first.hi, not first.hi_open):
            first = replace(first, hi=high.hi, hi_open=high.hi_open)
        second = first
    else:
        first = _bound_above(_bound_below(value, low), high)
        second = _bound_below(_bound_above(value, high), low)
    result = _join(first, second)
    assert result is not None
    reason = result.reason
    if low is not None and low.is_constant and result.lo == low.lo and result.lo <= 0:
        reason = f"clipped with a lower bound of {_fmt(result.lo)}"
    elif high is not None and high.is_constant and result.lo == high.lo and result.lo <= 0:
        reason = f"clipped with an upper bound of {_fmt(result.lo)}"
    elif result.hi >= 1 and high is not None and high.is_constant and (not reason or value.source):
        # (``y_pred is not clipped`` no longer holds)
        reason = f"clipped with an upper bound of {_fmt(high.hi)}"
    if high_note and high is not None and result.hi == high.hi:
        reason = f"clipped with an upper bound of {high_note}"
    elif low_note and low is not None and result.lo == low.lo:
        reason = f"clipped with a lower bound of {low_note}"
    return replace(result, reason=reason, normalizer=None, overflow=None)


def _bound_below(value: Range, low: Range | None) -> Range:
    """``maximum(value, low)`` where an unknown ``low`` leaves the value as it is."""
    if low is None or (low.lo < value.lo or (low.lo == value.lo and value.lo_open)):
        if low is None or low.hi <= value.hi:
            return value
        return replace(value, hi=low.hi, hi_open=low.hi_open)
    hi, hi_open = max((value.hi, not value.hi_open), (low.hi, not low.hi_open))
    return Range(low.lo, hi, low.lo_open, not hi_open, low.reason or value.reason)


def _bound_above(value: Range, high: Range | None) -> Range:
    """``minimum(value, high)`` where an unknown ``high`` leaves the value as it is."""
    if high is None or (high.hi > value.hi or (high.hi == value.hi and value.hi_open)):
        if high is None or high.lo >= value.lo:
            return value
        return replace(value, lo=high.lo, lo_open=high.lo_open, reason=high.reason or value.reason)
    lo, lo_open = min((value.lo, value.lo_open), (high.lo, high.lo_open))
    reason = value.reason if value.lo <= high.lo else high.reason or value.reason
    return Range(lo, high.hi, lo_open, high.hi_open, reason)


def _fmt(value: float) -> str:
    return f"{value:g}"


def _maximum(a: Range | None, b: Range | None) -> Range | None:
    if a is None and b is None:
        return None
    (a, a_note), (b, b_note) = _rounded(a), _rounded(b)
    if a_note or b_note:  # ``maximum(x, 1e-50)`` is ``maximum(x, 0)`` in float32
        floor = _maximum(a, b)
        note = a_note or b_note
        return replace(floor, reason=f"a maximum with {note}") if floor else None
    if a is None or b is None:
        known = a or b
        assert known is not None
        # max(unknown, c) ≥ c
        return Range(known.lo, INF, known.lo_open, False, known.reason)
    # The larger lower end wins; at a tie, an open end (x > 0) is the stronger one.
    lo, lo_open = max((a.lo, a.lo_open), (b.lo, b.lo_open))
    hi = max(a.hi, b.hi)
    floor = a if (a.lo, a.lo_open) >= (b.lo, b.lo_open) else b
    reason = floor.reason or f"a maximum with {_fmt(lo)}, which reaches {_fmt(lo)}"
    return Range(lo, hi, lo_open, False, reason)


def _minimum(a: Range | None, b: Range | None) -> Range | None:
    if a is None and b is None:
        return None
    if a is None or b is None:
        known = a or b
        assert known is not None
        return Range(-INF, known.hi, False, known.hi_open, known.reason)
    lo = min(a.lo, b.lo)
    lo_open = a.lo_open if a.lo < b.lo else b.lo_open if b.lo < a.lo else a.lo_open and b.lo_open
    hi, hi_closed = min((a.hi, not a.hi_open), (b.hi, not b.hi_open))
    return Range(lo, hi, lo_open, not hi_closed, a.reason or b.reason)


def refine(value: Range | None, op: str, bound: float) -> Range | None:
    """The part of ``value`` where ``value op bound`` holds (a guard on this path).

    An unknown value becomes known only where the guard alone makes it safe (``n > 0``).
    """
    if math.isnan(bound):
        return value
    if value is None:
        if (op == ">" and bound >= 0) or (op == ">=" and bound > 0):
            return Range(bound, INF, lo_open=op == ">")
        return None
    if op in (">", ">="):
        strict = op == ">"
        if bound > value.lo or (bound == value.lo and strict and not value.lo_open):
            if bound > value.hi:
                return value  # contradicts what we know: keep what we know
            return replace(value, lo=bound, lo_open=strict or (bound == value.lo and value.lo_open))
        return value
    if op in ("<", "<="):
        strict = op == "<"
        if bound < value.hi or (bound == value.hi and strict and not value.hi_open):
            if bound < value.lo:
                return value
            return replace(value, hi=bound, hi_open=strict or (bound == value.hi and value.hi_open))
        return value
    if op == "==":
        if value.lo <= bound <= value.hi and math.isfinite(bound):
            return Range(bound, bound, reason=value.reason, pending=value.pending)
        return value
    if op == "!=":
        refined = value
        if bound == value.lo:
            refined = replace(refined, lo_open=True)
        if bound == value.hi:
            refined = replace(refined, hi_open=True)
        if bound == 0:
            refined = replace(refined, nonzero=True)
        return refined
    return value


# The ops that combine terms: called as a statement, their result is the term thrown away.
_TERMS: Final = frozenset({"add", "subtract", "multiply"})
_ARITHMETIC: Final = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult)


def _text(node: ast.AST, limit: int = 48) -> str:
    return shortened(node, limit)


@dataclass
class _Frame:
    """One function (or module) being interpreted."""

    module: ModuleIndex
    qualname: str
    env: dict[str, Range | None]
    local_functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda]
    class_name: str | None = None
    returns: list[Range | None] = field(default_factory=list)
    sources: dict[str, ast.expr] = field(default_factory=dict)  # last expression bound to a name
    # The expressions a name held before it was bound again from itself (``ref_s =
    # tf.abs(ref_s)`` after ``ref_s = stft(ref, ...)``): what its value is still built from.
    rebound: dict[str, tuple[ast.expr, ...]] = field(default_factory=dict)
    # And the value it held just before (what ``rebound``'s last expression evaluated to).
    before: dict[str, Range | None] = field(default_factory=dict)
    # A name unpacked from a value (``gx, gy = unstack(sobel_edges(y_true))``), by that value:
    # what it is computed from, not what it is.
    unpacked: dict[str, ast.expr] = field(default_factory=dict)
    settings: set[str] = field(default_factory=set)  # locals bound to a setting (see _setting)
    # Locals and ``self.x`` bound to a value of the configuration alone (see _configured).
    configured: set[str] = field(default_factory=set)
    tuples: list[tuple[Range | None, ...]] = field(default_factory=list)  # ``return a, b``
    # Locals holding the elements a helper returned (``out = self.coefficients(y_pred)``, then
    # ``[pi, mu, sigma] = out``), by name: each element's range.
    held: dict[str, tuple[Range | None, ...]] = field(default_factory=dict)
    targets: frozenset[str] = frozenset()  # names assigned by the statement being evaluated
    target_line: int = 0  # and its line
    # Guards on this path for expressions that are not plain names (``reduce_sum(mask) > 0``),
    # by ``_key``, with the names they read (an assignment to one forgets the guard).
    refined: dict[str, tuple[Range | None, frozenset[str]]] = field(default_factory=dict)
    # A loss interpreted with its own defaults: its parameters, and the label (``y_true``) among
    # them, which carries no gradient.
    params: frozenset[str] = frozenset()
    labels: frozenset[str] = frozenset()
    # A helper's parameters that its caller passes the labels alone (``spectral_convergence(
    # y_true, y_pred)``): they are the labels, surely, whatever their names.
    sure_labels: bool = False
    # Parameters that this call binds to a tensor-math function (``activation_function=
    # tf.nn.relu``) → the catalogue's op for it.
    callables: dict[str, str] = field(default_factory=dict)
    # Parameters that this call binds to a literal flag (``backend="keras"``), or leaves at a
    # literal default, and that the body never rebinds: an ``if`` on them is decided.
    flags: dict[str, object] = field(default_factory=dict)
    # The hazards reported while computing a name's value, and those its operands carried:
    # what a later ``is_nan(name)`` test handles where the value's range is unknown (and so
    # carries no ``pending``).
    taints: dict[str, frozenset[tuple[str, Span, str]]] = field(default_factory=dict)
    # Locals the function assigns and never reads (``y_std = sqrt(abs(y_var))`` left over from
    # an earlier version): no gradient flows through what computes them.
    unread: frozenset[str] = frozenset()


# TensorFlow's assertions, as the comparison each one makes of its first argument: with the
# number it is compared with, or None for the second argument.
_ASSERTIONS: Final[dict[str, tuple[type[ast.cmpop], float | None]]] = {
    "assert_positive": (ast.Gt, 0.0),
    "assert_non_negative": (ast.GtE, 0.0),
    "assert_negative": (ast.Lt, 0.0),
    "assert_non_positive": (ast.LtE, 0.0),
    "assert_greater": (ast.Gt, None),
    "assert_greater_equal": (ast.GtE, None),
    "assert_less": (ast.Lt, None),
    "assert_less_equal": (ast.LtE, None),
}


# Calls whose positional arguments (or the items of a shape list among them) are sizes: a
# layer's units, a shape, a range's bound. Functional layers take their input first.
_SIZED: Final = frozenset(
    {
        "range", "arange", "zeros", "ones", "empty", "full", "eye", "linspace", "Dense",
        "Embedding", "LSTM", "GRU", "SimpleRNN", "LSTMCell", "GRUCell", "BasicLSTMCell",
        "BasicRNNCell", "Conv1D", "Conv2D", "placeholder", "random_normal", "random_uniform",
        "truncated_normal",
    }
)  # fmt: skip
_SIZED_AFTER_INPUT: Final = frozenset({"dense", "conv1d", "conv2d", "reshape", "embedding"})


# Ops a backend shim's thin wrapper may stand for (see RangeAnalysis._wrapped_op).
_TRANSPARENT_OPS: Final = frozenset(
    {"logsumexp", "sum", "mean", "extreme", "maximum", "minimum", "clip", "abs", "square"}
)


def _sigmoid_formula(node: object, imports: Mapping[str, str]) -> bool:
    """Whether a function of one parameter ``x`` only returns the logistic function of it
    written out, ``1 / (1 + exp(-x))`` (the terms of the sum in either order)."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
    body = [
        s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
    ]
    if len(params) != 1 or len(body) != 1 or not isinstance(body[0], ast.Return):
        return False
    ratio = body[0].value
    if not (
        isinstance(ratio, ast.BinOp)
        and isinstance(ratio.op, ast.Div)
        and _number(ratio.left) == 1
        and isinstance(ratio.right, ast.BinOp)
        and isinstance(ratio.right.op, ast.Add)
    ):
        return False
    terms = [ratio.right.left, ratio.right.right]
    if not any(_number(t) == 1 for t in terms):
        return False
    exp = next((t for t in terms if isinstance(t, ast.Call) and len(t.args) == 1), None)
    target = names.qualify(exp.func, imports) if exp is not None else None
    if exp is None or target is None or _op_of(target) != "exp":
        return False
    negated = exp.args[0]
    return (
        isinstance(negated, ast.UnaryOp)
        and isinstance(negated.op, ast.USub)
        and isinstance(negated.operand, ast.Name)
        and negated.operand.id == params[0]
    )


def _passes_through(node: object) -> ast.Call | None:
    """The one call a function's body returns when it hands on its parameters unchanged: its
    first ones positionally, in order, the others by their own names; else None."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    body = [
        s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
    ]
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return None
    call = body[0].value
    params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
    if not isinstance(call, ast.Call) or not call.args or len(call.args) > len(params):
        return None
    if any(
        not (isinstance(a, ast.Name) and a.id == p) for a, p in zip(call.args, params, strict=False)
    ):
        return None
    named = {a.arg for a in (*node.args.args, *node.args.kwonlyargs)}
    if any(
        k.arg is None
        or k.arg not in named
        or not (isinstance(k.value, ast.Name) and k.value.id == k.arg)
        for k in call.keywords
    ):
        return None
    return call


def _where_parts(node: ast.Call) -> tuple[ast.expr, ast.expr, ast.expr] | None:
    """The condition and the two values of ``where(c, a, b)``, positional or by keyword
    (``tf.where(condition=is_nan(m), x=0.0, y=m)``, torch's ``input``/``other``); None for
    ``where(c)``, which gives indices."""
    condition = names.argument(node, 0, "condition", "cond")
    when_true = names.argument(node, 1, "x", "input", "self")
    when_false = names.argument(node, 2, "y", "other")
    if condition is None or when_true is None or when_false is None:
        return None
    return condition, when_true, when_false


def _less_a_setting(node: ast.expr, frame: _Frame) -> Range | None:
    """``1 - EPS``, ``1.0 - self.smooth``: a number less a configured epsilon, below it as a
    reader takes it (an upper bound of a clip). None for anything else."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub)):
        return None
    number = _number(node.left)
    if number is None or not _configured(node.right, frame):
        return None
    return Range(-INF, number, hi_open=True, reason=f"clipped below {_fmt(number)}")


def _with_defaults(args: ast.arguments) -> list[tuple[ast.arg, ast.expr | None]]:
    """Each named parameter with its default (None where it has none)."""
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults.extend(args.defaults)
    pairs = list(zip(positional, defaults, strict=True))
    return pairs + list(zip(args.kwonlyargs, args.kw_defaults, strict=True))


def _positive_defaults(args: ast.arguments) -> set[str]:
    """The parameters whose default is a positive number (``patch_size=3``, ``smooth=1e-7``):
    hyperparameters, settings as a module's are (see _setting). A caller that passes a value
    of its own that nothing tells (``self.args.patch_size``) sets it to another sensible one."""
    return {
        a.arg
        for a, default in _with_defaults(args)
        if isinstance(default, ast.Constant)
        and isinstance(value := default.value, (int, float))
        and not isinstance(value, bool)
        and value > 0
    }


def _size_params(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> frozenset[str]:
    """The parameters of ``node`` that its body uses as sizes (``tf.layers.dense(x, units)``,
    ``np.arange(0, dim, 2)``, ``tf.reshape(h, [-1, size])``): at least 1 wherever it runs."""
    params = {a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)}
    found: set[str] = set()
    for call in subtree(node):
        if not isinstance(call, ast.Call):
            continue
        name = _callee_name(call)
        if name in _SIZED:
            args = call.args
        elif name in _SIZED_AFTER_INPUT:
            args = call.args[1:]
        else:
            continue
        for arg in args:
            items = arg.elts if isinstance(arg, (ast.List, ast.Tuple)) else [arg]
            found.update(i.id for i in items if isinstance(i, ast.Name) and i.id in params)
    return frozenset(found)


def _assertion_calls(expr: ast.expr) -> Iterator[ast.Call]:
    """The calls where an assertion is written: the expression itself, the items of a list or
    tuple (``assertions = [assert_positive(t), ...]``), and the items of a list handed to a
    call (``control_dependencies([assert_positive(t)])``); not the whole tree of every
    statement, which the interpreter reads on its hot path."""
    candidates: list[ast.expr] = [expr]
    if isinstance(expr, (ast.List, ast.Tuple)):
        candidates.extend(expr.elts)
    elif isinstance(expr, ast.Call):
        for argument in expr.args:
            if isinstance(argument, (ast.List, ast.Tuple)):
                candidates.extend(argument.elts)
    for candidate in candidates:
        if isinstance(candidate, ast.Call) and candidate.args:
            yield candidate


def _literal_zero(node: ast.expr) -> bool:
    """``0``, ``0.0``, or a tensor made from it (``keras.ops.array(0)``, ``tf.constant(0.)``)."""
    while isinstance(node, ast.Call) and len(node.args) == 1 and _callee_name(node) in (
        "array", "constant", "convert_to_tensor", "cast", "asarray",
    ):  # fmt: skip
        node = node.args[0]
    return isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value == 0


# The keywords that name a tensor op's input (``value=`` of ``convert_to_tensor``, ``x=`` of
# ``log``, ``input_tensor=`` of TF 1's reductions, ``t=`` of ``clip_by_value``).
_PRIMARY_KEYWORDS: Final = ("x", "value", "input", "tensor", "input_tensor", "a", "t", "features")


def _primary_keyword(node: ast.Call) -> ast.expr | None:
    """The input of a call that gives it by keyword and has no positional argument."""
    if node.args:
        return None
    given = {k.arg: k.value for k in node.keywords if k.arg is not None}
    return next((given[k] for k in _PRIMARY_KEYWORDS if k in given), None)


def _tensor_params(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[str]:
    """The positional parameters of a loss but ``self`` and ``cls``: ``y_true``, ``y_pred``, ..."""
    return [
        a.arg for a in (*node.args.posonlyargs, *node.args.args) if a.arg not in ("self", "cls")
    ]


def _self_assigned(body: list[ast.stmt], attribute: str) -> list[ast.expr]:
    """The values that plain assignments in ``body`` give ``self.<attribute>``, in order."""
    return [
        stmt.value
        for stmt in names.iter_statements(body)
        if isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and names.self_attribute(stmt.targets[0]) == attribute
    ]


def _bitwise(op: ast.operator, left: Range | None, right: Range | None) -> Range | None:
    """``mask1 & mask2`` and ``mask1 | mask2`` of non-negative masks (0/1 ints or booleans, a
    stereo loss's valid-disparity mask): an and is 0 where either is, at most the smaller top;
    an or at least the larger floor, at most the sum of the tops. Unknown for a value that may
    be negative (bits of a two's complement)."""
    if left is None or right is None or left.lo < 0 or right.lo < 0:
        return None
    if isinstance(op, ast.BitAnd):
        return Range(0.0, min(left.hi, right.hi), reason="a mask, 0 where either side is")
    return Range(max(left.lo, right.lo), left.hi + right.hi, reason=left.reason or right.reason)


_EXP_UNDERFLOWS: Final = "exp underflows to 0"


def _exp_underflow_only(value: Range) -> bool:
    """A divisor that is 0 only where an ``exp`` underflows, for an argument below about -100:
    an MDN's ``sigma = exp(z)``, a product of such scales. The finding was judged a false alarm
    or debatable on real code 38 times in 40 (an argument bounded away from that, a density's
    exp of a squared distance, is what underflows in practice, and its log is LL301's)."""
    return value.lo == 0 and value.reason == _EXP_UNDERFLOWS


def _unpacked_parameter(
    function: ast.FunctionDef | ast.AsyncFunctionDef, count: int
) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, list[str]] | None:
    """``def f(rows): labels, start, end = rows; ...`` as ``f(labels, start, end)``: the same
    body (its nodes, where hazards are reported) less the unpacking, with the names it binds
    as parameters; None where ``function`` does not start so (after its docstring)."""
    arguments = [*function.args.posonlyargs, *function.args.args]
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    first = body[0] if body else None
    if (
        len(arguments) != 1
        or not isinstance(first, ast.Assign)
        or len(first.targets) != 1
        or not isinstance(first.targets[0], (ast.Tuple, ast.List))
        or not (isinstance(first.value, ast.Name) and first.value.id == arguments[0].arg)
        or len(first.targets[0].elts) != count
        or not all(isinstance(e, ast.Name) for e in first.targets[0].elts)
    ):
        return None
    params = [e.id for e in first.targets[0].elts if isinstance(e, ast.Name)]
    rewritten = copy.copy(function)
    rewritten.args = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(arg=name) for name in params],
        vararg=None,
        kwonlyargs=[],
        kw_defaults=[],
        kwarg=None,
        defaults=[],
    )
    rewritten.body = body[1:] or [ast.Pass()]
    return rewritten, params


def _callee_name(node: ast.Call) -> str:
    """The last name of what ``node`` calls (``nanmean`` of ``np.nanmean``), else ""."""
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


class RangeAnalysis:
    """Interprets loss code over :class:`Range` values and collects :class:`Hazard` facts."""

    def __init__(self, project: ProjectIndex) -> None:
        self.project = project
        self.hazards: dict[tuple[str, Span, str], Hazard] = {}
        # A function's result by its arguments, with the hazards it reported (and whether each
        # can be NaN).
        self._memo: dict[
            tuple[object, ...], tuple[Range | None, tuple[tuple[Hazard, bool], ...]]
        ] = {}
        self._active: set[str] = set()
        # While a training scope is interpreted: each hazard with the names its statement
        # assigns and that statement's line (see _objective).
        self._record: list[tuple[Hazard, frozenset[str], int]] | None = None
        self._record_frame: _Frame | None = None
        # The comparisons being evaluated (file, span): a value hazard written inside one
        # cannot reach a loss (see expr).
        self._compared: list[tuple[str, Span]] = []
        # TensorFlow roots squared where they are taken (``tf.square(tf.norm(x))``), by node.
        self._squared: set[int] = set()
        self._pure: dict[ast.AST, bool] = {}  # see _numpy_only
        # See _stored_functions and _self_assignments.
        self._stored: dict[
            tuple[str, str], list[tuple[ModuleIndex, str, ast.FunctionDef | ast.AsyncFunctionDef]]
        ] = {}
        self._assigned_in_class: dict[str, dict[str, list[ast.expr]]] = {}
        self._globals: dict[tuple[str, str], Range | None] = {}
        self._class_settings: dict[str, dict[str, Range | None]] = {}
        self._nan: set[tuple[str, Span, str]] = set()  # hazards that can give NaN, not only inf
        self._probing = False  # evaluating a ``where`` branch only to see what it would report
        self._gradient = True  # the code is differentiated (a loss), not only evaluated (a metric)
        # The elements of the tuple that the function interpreted last returns (each of its
        # ``return a, b`` joined), for an assignment that unpacks a helper's call; by memo key.
        self._returned: tuple[Range | None, ...] | None = None
        self._last_call: ast.Call | None = None  # the call that set it
        self._tuples: dict[tuple[object, ...], tuple[Range | None, ...] | None] = {}
        self._parents: dict[int, dict[ast.AST, ast.AST]] = {}  # see _integer_only
        # See _compiled_outputs.
        self._outputs: dict[str, tuple[str, str] | None] | None = None
        self._lambda_outputs: dict[str, bool] | None = None
        self._assigning: dict[tuple[str, str], list[int]] = {}  # see _assigning_lines
        # The compiled outputs already reported as taken for logits, with the file: one finding
        # for a loss that does it twice (``with_logits(y_pred)`` and then ``sigmoid(y_pred)``).
        self._squashed: set[tuple[str, str]] = set()
        # Loss objects a caller hands to a method of the class that stores them (see
        # _given_to_method), by id: what they get wrong is reported where they are given.
        self._given: set[int] = set()
        self._layer_code: set[str] = set()  # the layers' functions checked (see run)
        self._kept_kinds: frozenset[str] | None = None  # where only some hazards count
        self._lambda_calls: dict[int, ast.Call] = {}  # see _lambda_layer
        # The locals each function assigns and never reads, by its node (see _Frame.unread).
        self._unread: dict[ast.AST, frozenset[str]] = {}
        self._wrappers: dict[str, str | None] = {}  # see _wrapped_op
        # Whether each function followed is a generator, by its node's id (with the node, so
        # that the id is not reused): asked at each call of it, a walk of its body each time.
        self._generators: dict[int, tuple[ast.AST, bool]] = {}
        self._local_functions: dict[
            str, dict[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda] | None
        ] = {}  # see _siblings
        # A mapped function rewritten to take its rows as parameters (see _mapped_function),
        # by the function's id and the number of rows, with the function (so the id stays its).
        self._row_functions: dict[
            tuple[int, int],
            tuple[ast.AST, tuple[ast.FunctionDef | ast.AsyncFunctionDef, list[str]] | None],
        ] = {}

    # -- entry points ----------------------------------------------------------------------

    def run(self) -> list[Hazard]:
        references = numpy_references(self.project)
        pure = numpy_references(self.project, pure=True)
        for definition in self.project.definitions():
            if definition.qualname in references:
                continue
            if definition.qualname in pure and self._evaluation(definition):
                continue  # NumPy run on predict()'s arrays (DenseDepth's compute_errors)
            if evaluated_by_project(self.project, definition):
                continue  # ``print(accuracy(test_gt, test_logits))``: its callers' values
            if loaded_only(self.project, definition, predicted=True):
                continue  # a ``custom_objects`` entry of a model only predicted with
            if unreferenced(self.project, definition):
                continue  # a script's dead code: nothing runs it
            unnamed = not (definition.roles or definition.used)
            if unnamed and self.project.needs_more_arguments(definition.qualname):
                # ``generate_log(y_true, y_pred, names, output)``: shaped like a loss, but Keras
                # could not call it as one; a caller's code runs it, with what it passes.
                continue
            self._definition(definition, numpy=definition.qualname in pure)
        for module, objective in self.project.objectives():
            if objective.untrained:  # a demonstration of a gradient: nothing is trained
                continue
            if objective.kind == "fetch":  # a hand-differentiated loss: run as loss code
                found = self.project.functions.get(objective.scope)
                if found is not None:
                    owner = objective.scope.rpartition(".")[0]
                    name = owner.rpartition(".")[2] if owner in self.project.classes else None
                    self.function(module, objective.scope, found[1].node, None, name)
                continue
            self._objective(
                module, objective.kind, objective.scope, objective.node, objective.stored
            )
        for qualname in self._output_functions():
            module, function = self.project.functions[qualname]
            self.function(module, qualname, function.node, {}, None)
        if any(not c.site.idle and c.site.loss is not None for c in self.project.compiles()):
            # The functions written inline in Lambda layers: a trained model's graph, which
            # its loss differentiates through (a siamese network's ``Lambda(lambda x:
            # K.sqrt(K.sum(K.square(x), axis=-1)))``). Their inputs are layer outputs.
            for module in self.project.modules:
                for layer in module.lambda_layers:
                    where = f"{module.module}.<Lambda:{layer.span.line}:{layer.span.column}>"
                    self._layer_code.add(where)
                    self.function(module, where, layer.node, {}, None)
            # So are the ``call`` methods of the project's own layers that its code builds
            # models with (a capsule network's ``Length`` layer, ``sqrt(sum(square(x)))``),
            # for the infinite gradient of a root or norm at 0 only: a layer's divisions and
            # logs are of activations and data statistics that the layer is built for.
            self._kept_kinds = frozenset({"sqrt"})
            try:
                for qualname, method in self._custom_layers():
                    self._layer_code.add(method)
                    home, function = self.project.functions[method]
                    self.function(home, method, function.node, {}, names.defined_name(qualname))
            finally:
                self._kept_kinds = None
        return sorted(
            self.hazards.values(), key=lambda h: (h.path, h.span.line, h.span.column, h.kind)
        )

    def _custom_layers(self) -> list[tuple[str, str]]:
        """(class, its ``call`` method) for each Keras layer subclass of the project (not a
        model, not Keras's own sources, not a test's) that a module made of it or importing it
        instantiates: layers a trained model is built with, whose inputs are layer outputs."""
        found: list[tuple[str, str]] = []
        for qualname, (module, cls) in self.project.classes.items():
            if is_keras_source(module.module) or in_tests(module.path):
                continue
            method = f"{qualname}.call"
            if method not in self.project.functions:
                continue
            if not self.project.is_subclass(qualname, names.KERAS_LAYER_BASES):
                continue
            if self.project.is_subclass(qualname, names.KERAS_MODEL_BASES):
                continue
            made = f"{names.defined_name(qualname)}("  # (not parsed for its name)
            if any(
                number != cls.span.line and "#" not in text.partition(made)[0]
                for other in self.project.importers(module)
                for number, text in lines_with(other, made)
            ):  # (a use commented out builds nothing)
                found.append((qualname, method))
        return found

    def _output_functions(self) -> list[str]:
        """The project functions of ``Lambda`` layers that produce a compiled model's output (a
        siamese network's ``Lambda(euclidean_distance)``): the compiled loss is computed on what
        they return and differentiated through them, as through a loss's own helper. Their
        arguments are layer outputs, of which nothing is known. Only a model that its compile
        trains counts (not one that is only predicted with)."""
        found: list[str] = []
        for compiled in self.project.compiles():
            if compiled.model is None or compiled.site.idle or compiled.site.loss is None:
                continue
            for output in compiled.model.outputs:
                qualname = self.project._lookup(output.function) if output.function else None
                if qualname in self.project.functions and qualname not in found:
                    found.append(qualname)
        return found

    def _module(self, name: str) -> ModuleIndex | None:
        return self.project.module_named(name)

    def _evaluation(self, definition: LossDef) -> bool:
        """A function written in NumPy alone that the project's own code calls, or a test's,
        or that Keras could not call on its own (``numpy_normalised_quantile_loss(y, y_pred,
        quantile)``), or in a module that imports no tensor framework (a hydrology package's
        ``nse(y_true, y_pred)`` of ``np.sum``, named not as a loss): an evaluation on arrays,
        not loss code. (One named as a loss that nobody calls may still be compiled by a user
        of the module, and its log(0) is -inf there too.)"""
        module = self._module(definition.module)
        return module is not None and (
            in_tests(definition.path)
            or frameworkless(module)
            or called_by_project(self.project, module, definition.qualname)
            or (not definition.used and self.project.needs_more_arguments(definition.qualname))
        )

    def _definition(self, definition: LossDef, numpy: bool = False) -> None:
        # A metric is only evaluated: a gradient-only hazard (the where trap) cannot hurt it.
        # Nor can a function that returns NumPy values (``{"rmse": rmse.numpy()}``, a notebook's
        # ``evaluate_preds(y_true, y_pred)``), or one written in NumPy alone (``numpy``: a
        # metric's NumPy twin, ``mse ** 0.5`` of ``np.sum``): no gradient flows out of it.
        self._gradient = (
            definition.kind != "metric_class"
            and definition.roles != {"metric"}
            and not numpy
            and not returns_numpy(definition.node)
            # A count score (an MCC of ``K.round(y_pred)``): no gradient reaches y_pred.
            and not (
                isinstance(definition.node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and only_thresholded(definition.node)
            )
        )
        try:
            self._interpret(definition)
        finally:
            self._gradient = True

    def _interpret(self, definition: LossDef) -> None:
        module = self._module(definition.module)
        if module is None:
            return
        node = definition.node
        if isinstance(node, ast.ClassDef):
            state = _metric_state(node) if definition.kind == "metric_class" else {}
            for name in ("call", "__call__", "update_state", "result"):
                inherited = self.project.method(definition.qualname, name)
                if inherited is None or inherited not in self.project.functions:
                    continue
                home, method = self.project.functions[inherited]
                # Its own, or the one it inherits from a project base where that one calls a
                # method this class overrides (``self._error_func``): run as this class's.
                # Otherwise the base's own interpretation holds for it too.
                if inherited != f"{definition.qualname}.{name}" and not self._overridden_calls(
                    definition.qualname, inherited, method.node
                ):
                    continue
                qualname = f"{definition.qualname}.{name}"
                # What result() reads comes after an update: a count of samples is not 0 there.
                seen = (
                    {
                        k: v
                        for k, v in state.items()
                        if not _counts_samples(node, k.removeprefix("self."))
                    }
                    if name == "result"
                    else state
                )
                self.function(home, qualname, method.node, None, node.name, seen)
            return
        outer: dict[str, Range | None] = {}
        if definition.factory is not None:
            found = self.project.functions.get(definition.factory)
            if found is not None:
                outer = self._defaults(found[1].node, loss_inputs=False, module=found[0])
        self.function(module, definition.qualname, node, None, None, outer)

    def _overridden_calls(self, cls: str, inherited: str, node: ast.AST) -> bool:
        """Whether ``node``, the method ``inherited`` that class ``cls`` inherits, reads a
        method of ``self`` (to call it or hand it on) that ``cls`` or a class between it and
        the base defines anew."""
        owner = inherited.rpartition(".")[0]
        called = {
            attribute
            for n in subtree(node)
            if isinstance(n, ast.Attribute) and (attribute := names.self_attribute(n))
        }
        return any(
            (method := self.project.method(cls, name)) is not None
            and method.rpartition(".")[0] != owner
            for name in called
        )

    # -- functions -------------------------------------------------------------------------

    def _defaults(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
        loss_inputs: bool,
        module: ModuleIndex | None = None,
    ) -> dict[str, Range | None]:
        """Parameter ranges: numeric defaults, and the loss inputs (``y_true``, ``y_pred``)."""
        args = node.args
        env: dict[str, Range | None] = {}
        tensors = _tensor_params(node)[:2]
        for arg, default in _with_defaults(args):
            value = _number(default)
            if value is not None:
                env[arg.arg] = point(value)
            elif loss_inputs and arg.arg in tensors:
                env[arg.arg] = Range(-INF, INF, reason=f"{arg.arg} is not clipped", source=True)
            elif module is not None and isinstance(default, (ast.Call, ast.BinOp, ast.Name)):
                # ``const=K.epsilon()``, ``eps=EPS``: evaluated where the function is defined.
                env[arg.arg] = self._static(default, module)
            else:
                env[arg.arg] = None
        for extra in (args.vararg, args.kwarg):
            if extra is not None:
                env[extra.arg] = None
        return env

    def function(
        self,
        module: ModuleIndex,
        qualname: str,
        node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
        arguments: dict[str, Range | None] | None,
        class_name: str | None,
        outer: dict[str, Range | None] | None = None,
        callables: dict[str, str] | None = None,
        enclosing: Mapping[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda] | None = None,
        literal_flags: Mapping[str, object] | None = None,
        labels: frozenset[str] = frozenset(),
        configured: frozenset[str] = frozenset(),
    ) -> Range | None:
        """Interpret a function; ``arguments`` None means "as a loss, with its own defaults";
        ``callables``: parameters bound to a tensor-math function, by its catalogue op;
        ``literal_flags``: parameters bound to a literal by the call (see :mod:`flags`);
        ``labels``: parameters the call binds to values of the loss's labels alone;
        ``configured``: parameters the call binds to values of the configuration alone, and
        the names of the calling scope that a nested function reads so (see _configuration);
        ``enclosing``: the local functions of the scope a nested function is defined in, which
        it can call (two helpers defined side by side in a model's ``__init__``)."""
        if enclosing is None:
            # A function nested in another calls the functions defined beside it (a factory's
            # ``_to_tensor`` helper, called by its ``_calculate_loss``), wherever it is entered.
            enclosing = self._siblings(qualname.rpartition(".")[0])
        env = dict(self._settings(qualname.rpartition(".")[0]))
        env.update(outer or {})
        env.update(self._defaults(node, loss_inputs=arguments is None, module=module))
        if arguments:
            env.update(arguments)
        elif arguments is None:
            self._given_output(qualname, node, env)
        key = (
            qualname,
            self._gradient,  # what is reported depends on it (a sqrt at 0 only where trained)
            tuple(env.get(n) for n in sorted(env)),
            tuple(sorted((callables or {}).items())),
            tuple(sorted((literal_flags or {}).items())),
            labels,
            configured,
            # A spread is loss code's only where a loss is on the stack (see _in_loss_code).
            self._in_loss_code() or named_like_loss(qualname),
        )
        if key in self._memo:
            result, produced = self._memo[key]
            for hazard, nan in produced:  # as if it ran again: the caller decides what is kept
                self._emit(hazard, nan)
            self._returned = self._tuples.get(key)
            return result
        if qualname in self._active or len(self._active) > _MAX_DEPTH:
            self._returned = None
            return None
        self._active.add(qualname)
        kept_before = set(self.hazards)
        recorded_before = list(self._record or ())  # alive, so that no id is reused
        frame = _Frame(
            module,
            qualname,
            env,
            dict(enclosing or {}),
            class_name,
            callables=dict(callables or {}),
            flags=dict(literal_flags or {}),
        )
        arguments_of = node.args
        frame.settings = {
            a.arg
            for a in (*arguments_of.posonlyargs, *arguments_of.args, *arguments_of.kwonlyargs)
            if _constant_name(a.arg)
        } | _positive_defaults(arguments_of)
        frame.configured = (
            set(frame.settings) | set(self._settings(qualname.rpartition(".")[0])) | configured
        )
        if not isinstance(node, ast.Lambda):
            unread = self._unread.get(node)
            if unread is None:
                unread = self._unread[node] = _unread(node)
            frame.unread = unread
        if arguments is None and not isinstance(node, ast.Lambda):
            positional = [a.arg for a in [*node.args.posonlyargs, *node.args.args]]
            everything = [*positional, *(a.arg for a in node.args.kwonlyargs)]
            tensors = _tensor_params(node)
            frame.params = frozenset(everything)
            frame.labels = frozenset(tensors[:1]) if len(tensors) >= 2 else frozenset()
        elif labels and not isinstance(node, ast.Lambda):
            # The parameters that may carry a gradient: all but the labels and the numbers
            # the call gives (``stft(y, frame_length)``).
            frame.params = labels | {
                name
                for name in parameter_names(node)
                if name not in ("self", "cls")
                and not ((value := env.get(name)) is not None and value.is_constant)
            }
            frame.labels = labels
            frame.sure_labels = True
        try:
            if isinstance(node, ast.Lambda):
                result = self.expr(node.body, frame)
            else:
                self.block(node.body, frame)
                result = None
                if frame.returns:
                    result = frame.returns[0]
                    for other in frame.returns[1:]:
                        result = _join(result, other)
        except RecursionError:
            result = None  # code nested beyond Python's stack: unknown, never a crash
        finally:
            self._active.discard(qualname)
        # The hazards this call left standing, to emit again wherever the memo answers: the
        # same helper may be called from code that keeps them and from code that drops them.
        left = [h for k, h in self.hazards.items() if k not in kept_before]
        old = {id(entry) for entry in recorded_before}
        left += [entry[0] for entry in self._record or () if id(entry) not in old]
        self._memo[key] = (
            result,
            tuple((h, (h.path, h.span, h.kind) in self._nan) for h in left),
        )
        self._tuples[key] = self._returned = _joined_tuples(frame.tuples)
        return result

    def _given_output(
        self,
        qualname: str,
        node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
        env: dict[str, Range | None],
    ) -> None:
        """A compiled loss interpreted as Keras calls it: its ``y_pred`` is the model's output,
        so where every compile gives it an output ending in softmax or sigmoid, it says so."""
        output = self._compiled_output(qualname)
        tensors = _tensor_params(node)
        if len(tensors) >= 2 and output is None and self._lambda_output(qualname):
            # ``Lambda(obj.activation)`` last (``iniscale * exp(x)`` for a Weibull scale), or a
            # layer of the project's own (``DenseNormalGamma``, whose ``call`` floors its
            # scales): the prediction is what that code makes of the layers before, which this
            # does not evaluate; it is not a value of any sign.
            env[tensors[1]] = None
            return
        if output is None or len(tensors) < 2:
            return
        given = env.get(tensors[1])
        if given is not None and given.source:
            # A softmax or sigmoid output is within [0, 1]: exp of it cannot overflow, though
            # it still reaches 0 (and 1), where a log or a division of it fails.
            env[tensors[1]] = replace(
                given,
                lo=0.0,
                hi=1.0,
                compiled=output,
                row_sum=1.0 if output[0] == "softmax" else 0.0,  # a distribution per row
            )
            labels = env.get(tensors[0])
            if output[0] == "softmax" and labels is not None and labels.source and labels.lo < 0:
                # The targets of a softmax output are class labels: one-hot rows, class
                # probabilities or indices, none below 0 (a Dice union ``y_true + y_pred`` of
                # it is a distribution plus a mask).
                env[tensors[0]] = replace(labels, lo=0.0, lo_open=False)

    def _compiled_output(self, qualname: str) -> tuple[str, str] | None:
        """``(activation, where)`` when every compile that trains with function ``qualname`` as
        a loss gives it a model output that ends in softmax or sigmoid (the same one each time);
        None when one compile gives another output, or one whose model is not known."""
        return self._compiled_outputs()[0].get(qualname)

    def _lambda_output(self, qualname: str) -> bool:
        """Whether every compile that trains with function ``qualname`` as a loss gives it a
        model output made by a ``Lambda`` layer's function or by a layer class of the
        project."""
        return self._compiled_outputs()[1].get(qualname, False)

    def _compiled_outputs(
        self,
    ) -> tuple[dict[str, tuple[str, str] | None], dict[str, bool]]:
        """The two readings of :meth:`_compiled_output` and :meth:`_lambda_output`, for every
        function compiled as a loss, from one pass over the compiles (cached)."""
        if self._outputs is None or self._lambda_outputs is None:
            outputs: dict[str, tuple[str, str] | None] = {}
            lambdas: dict[str, bool] = {}

            def given(function: str, output: tuple[str, str] | None) -> None:
                before = outputs.get(function, output)
                agreed = before is not None and output is not None and before[0] == output[0]
                outputs[function] = before if agreed else None

            def made(function: str, output: Output | None) -> None:
                custom = output is not None and (
                    output.function is not None or self._project_layer(output.layer)
                )
                lambdas[function] = lambdas.get(function, custom) and custom

            for compiled in self.project.compiles():
                site, model = compiled.site, compiled.model
                if site.idle or site.loss is None:
                    continue
                if model is None:  # the output given is not known
                    for function in self._compiled_functions(site.loss):
                        given(function, None)
                        made(function, None)
                    continue
                assigned: list[tuple[int, Value]]
                if isinstance(site.loss, Unknown) and len(model.outputs) == 1:
                    assigned = [(0, site.loss)]  # each candidate applies to the one output
                else:
                    assigned = list(assign_losses(site.loss, model, self.project))
                for index, value in assigned:
                    activation = model.outputs[index].activation
                    output = "the output" if len(model.outputs) == 1 else describe(model, index)
                    where = f"{output} of the model compiled at {compiled.path}:{site.span.line}"
                    known = (activation, where) if activation in ("softmax", "sigmoid") else None
                    for function in self._compiled_functions(value):
                        given(function, known)
                        made(function, model.outputs[index])
                if len(model.outputs) == 1:  # its metrics are given the same output
                    activation = model.outputs[0].activation
                    where = f"the output of the model compiled at {compiled.path}:{site.span.line}"
                    known = (activation, where) if activation in ("softmax", "sigmoid") else None
                    for metrics in (site.metrics, site.weighted_metrics):
                        for leaf in iter_leaves(metrics) if metrics is not None else ():
                            for function in self.project.keras_calls(leaf):
                                given(function, known)
            self._outputs, self._lambda_outputs = outputs, lambdas
        return self._outputs, self._lambda_outputs

    def _compiled_functions(self, value: Value | None) -> Iterator[str]:
        """The functions a compile's loss entry makes Keras call: of the value, or of each
        candidate of a name or attribute bound in branches (``self.loss`` set to one of two
        ``Loss`` classes in ``__init__``), any of which may be what a run compiles."""
        yield from self.project.keras_calls(value)
        if isinstance(value, Unknown):
            for candidate in value.candidates:
                yield from self.project.keras_calls(candidate)

    def _project_layer(self, layer: str | None) -> bool:
        """Whether ``layer`` names a class of the project (an evidential regression's
        ``DenseNormalGamma``, an MDN layer), whose ``call`` makes the output."""
        found = self.project._lookup(layer) if layer is not None else None
        return found is not None and found in self.project.classes

    def _scaled_activation(self, node: ast.expr, op: str, frame: _Frame) -> ast.expr | None:
        """The operand of ``node`` that is already an ``op`` output, where ``node`` divides it
        (by a distillation temperature, ``p / T``) or multiplies it by a positive scalar, else
        None. Probabilities scaled by any temperature and squashed again are not the teacher's
        softened distribution."""
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.Mult))):
            return None
        pairs = [(node.left, node.right)]
        if isinstance(node.op, ast.Mult):
            pairs.append((node.right, node.left))
        for value_node, scale_node in pairs:
            value = self._quiet(value_node, frame)
            if value is None or not (
                value.normalizer == op
                or (value.compiled is not None and value.compiled[0] == op and value.source)
            ):
                continue
            if isinstance(node.op, ast.Div):  # ``p / self.temperature``, whatever T is
                return value_node
            scale = self._quiet(scale_node, frame)
            if (scale is not None and scale.lo > 0) or self._configuration(scale_node, frame):
                return value_node
        return None

    def _first_squash(self, where: str, frame: _Frame) -> bool:
        """Whether this is the first time a compiled output is taken for logits in this file."""
        key = (where, frame.module.path)
        if key in self._squashed:
            return False
        if not self._probing:  # a probe's hazards may be dropped: the next one is still first
            self._squashed.add(key)
        return True

    def _settings(self, owner: str) -> dict[str, Range | None]:
        """``self.x`` set in ``__init__`` from a parameter with a positive default (``def
        __init__(self, image_sigma=1.0): self.image_sigma = image_sigma``) or from a positive
        constant: a configuration value, not data. It is 0 only if a user configures it so, so
        it is taken at its default, like a parameter of a loss function."""
        if owner in self._class_settings:
            return self._class_settings[owner]
        self._class_settings[owner] = {}  # a cycle of bases stays empty
        settings: dict[str, Range | None] = {}
        found = self.project.classes.get(owner)
        init = self.project.method(owner, "__init__") if found is not None else None
        located = self.project.functions.get(init) if init is not None else None
        if found is not None and located is not None:
            module, function = located
            node = function.node
            defaults = self._defaults(node, loss_inputs=False, module=module)
            assigned: dict[str, int] = {}
            for stmt in subtree(found[1].node):
                if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                    for target in targets:
                        for element in subtree(target):
                            attribute = names.self_attribute(element)
                            if attribute is not None:
                                assigned[attribute] = assigned.get(attribute, 0) + 1
            for stmt in names.iter_statements(node.body):
                if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
                    continue
                attribute = names.self_attribute(stmt.targets[0])
                if attribute is None or assigned.get(attribute) != 1:
                    continue
                value: ast.expr = stmt.value
                while (
                    isinstance(value, ast.Call)
                    and value.args
                    and names.last_name(value.func) in _SETTING_WRAPPERS
                ):
                    value = value.args[0]  # ``tf.convert_to_tensor(epsilon)``, ``float(eps)``
                if (
                    isinstance(value, ast.Name)
                    and _named_epsilon(value.id)
                    and value.id in defaults  # a parameter of __init__
                    and defaults[value.id] is None  # with no number for a default
                ):
                    # A required ``epsilon`` (a Charbonnier loss's): named as the guard it is,
                    # a small positive constant the user chooses.
                    settings[f"self.{attribute}"] = Range(0.0, INF, lo_open=True)
                    continue
                if isinstance(value, ast.Name) and value.id in defaults:
                    # Judged at its default, as a parameter of a loss function is: ``1 - beta``
                    # with ``beta=0.999`` stays away from 0, which "any positive value" would not.
                    given = defaults[value.id]
                    if given is not None and given.lo > 0 and not given.source:
                        settings[f"self.{attribute}"] = given
                    continue
                number = _number(value)
                if number is not None and number > 0:
                    settings[f"self.{attribute}"] = point(number)
        self._class_settings[owner] = settings
        return settings

    def _objective(
        self, module: ModuleIndex, kind: str, scope: str, node: ast.expr, stored: bool = False
    ) -> None:
        """The trained expression and the statements it is built from (``stored``: built in a
        cost-building method, whose parameters are the model's outputs and labels)."""
        if kind == "grad":
            if isinstance(node, ast.Lambda):
                self.function(module, f"{scope}.<lambda>", node, None, None)
            elif isinstance(node, ast.Name):
                target = self._resolve_function(module, node.id, None)
                if target is not None:
                    self.function(target[0], target[1], target[2], None, None)
            return
        body = self._scope_body(module, scope, stored)
        if body is None:
            return
        statements, params = body
        # A method's objective calls the class's own methods (``self.compute_losses(...)`` in
        # ``train_step``): they are followed as in a loss method.
        owner = scope.rpartition(".")[0]
        cls = owner.rpartition(".")[2] if owner in self.project.classes else None
        # A training step nested in a function calls the functions defined beside it
        # (``def loss_func(z, y)`` under an ``if`` of ``main``, then ``train_step``).
        enclosing = self.project.functions.get(owner)
        local = _local_defs(enclosing[1].node.body) if enclosing is not None else {}
        frame = _Frame(module, scope, params, dict(local), cls)
        self._record, self._record_frame = [], frame
        statements_recorded: set[int] = set()
        try:
            # Nested beyond Python's stack: what was found so far stands.
            with contextlib.suppress(RecursionError):
                self.block(statements, frame)
                statements_recorded = {id(entry) for entry in self._record}
                # What evaluating the trained expression reports is needed, wherever it lies
                # (``self.calculate_loss()``'s helpers, in another module).
                self.expr(node, frame)
        finally:
            recorded, self._record, self._record_frame = self._record, None, None
        reaching = _dependencies(statements, _reads(node), node.lineno)
        start, end = _span_of(node)
        unpacked: dict[int, _Unpacked | None] = {}
        for entry in recorded:
            hazard, targets, line = entry
            if len(targets) > 1:  # ``loss, sample = create_model(...)``: the elements it feeds
                if line not in unpacked:
                    unpacked[line] = self._unpacked(module, statements, line)
                helper = unpacked[line]
                if helper is not None:
                    targets = helper.fed(hazard, targets)
            inside = id(entry) not in statements_recorded or (
                hazard.path == module.path
                and start <= (hazard.span.line, hazard.span.column) <= end
            )
            if inside or any((target, line) in reaching for target in targets):
                self._keep(hazard)

    def _unpacked(
        self, module: ModuleIndex, statements: list[ast.stmt], line: int
    ) -> _Unpacked | None:
        """The assignment at ``line`` when it unpacks the tuple a function of the project
        returns (``loss, sample, state = create_model(seq, temp)``, each ``return`` a tuple of
        as many elements), with that function."""
        for stmt in flat_statements(statements):
            if stmt.lineno != line or not isinstance(stmt, ast.Assign):
                continue
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], (ast.Tuple, ast.List)):
                return None
            names = stmt.targets[0].elts
            call = stmt.value
            if not (
                all(isinstance(n, ast.Name) for n in names)
                and isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name)
            ):
                return None
            found = self._resolve_function(module, call.func.id, None)
            if found is None:
                return None
            owner, _, function = found
            returns = [s for s in flat_statements(function.body) if isinstance(s, ast.Return)]
            if not returns or not all(
                isinstance(r.value, ast.Tuple)
                and len(r.value.elts) == len(names)
                and not any(isinstance(e, ast.Starred) for e in r.value.elts)
                for r in returns
            ):
                return None
            unpacked = tuple(n.id for n in names if isinstance(n, ast.Name))
            return _Unpacked(owner.path, function, unpacked, returns)
        return None

    def _scope_body(
        self, module: ModuleIndex, scope: str, inputs: bool = False
    ) -> tuple[list[ast.stmt], dict[str, Range | None]] | None:
        if scope == module.module:
            return module.tree.body, {}
        found = self.project.functions.get(scope)
        if found is None:
            return None
        node = found[1].node
        params = self._defaults(node, loss_inputs=False, module=module)
        if inputs:
            # ``_create_cost(self, model_output, labels)``: like ``y_pred``, nothing clips them.
            sizes = _size_params(node)
            for name, value in params.items():
                if value is None and name not in ("self", "cls"):
                    if name in sizes:  # ``tf.layers.dense(self.X, embedded_size)``: a size
                        params[name] = Range(1.0, INF, reason=f"{name} is a size")
                        continue
                    params[name] = Range(-INF, INF, reason=f"{name} is not clipped", source=True)
        return node.body, params

    # -- statements ------------------------------------------------------------------------

    def block(self, body: list[ast.stmt], frame: _Frame) -> None:
        for stmt in body:
            self.stmt(stmt, frame)

    def stmt(self, node: ast.stmt, frame: _Frame) -> None:
        if isinstance(node, (ast.With, ast.AsyncWith)):  # what the body runs under
            self._assertions(node, frame)
        self._stmt(node, frame)
        if isinstance(node, (ast.Assign, ast.Expr)):  # what the statements below run under
            self._assertions(node, frame)

    def _assertions(self, node: ast.stmt, frame: _Frame) -> None:
        """``tf.debugging.assert_positive(t)`` (alone, in a list handed to
        ``control_dependencies``, or as its argument): the code after it runs only where the
        assertion held, as after ``assert t > 0``."""
        if isinstance(node, (ast.With, ast.AsyncWith)):
            exprs = [item.context_expr for item in node.items]
        elif isinstance(node, (ast.Assign, ast.Expr)):
            exprs = [node.value]
        else:
            return
        for expr in exprs:
            for call in _assertion_calls(expr):
                found = _ASSERTIONS.get(_callee_name(call))
                if found is None:
                    continue
                op, bound = found
                if bound is None:  # ``assert_greater(x, y)``: compared with its second argument
                    if len(call.args) < 2:
                        continue
                    right = call.args[1]
                else:
                    right = ast.Constant(bound)
                test = ast.Compare(left=call.args[0], ops=[op()], comparators=[right])
                self._guard(test, True, frame)

    def _stmt(self, node: ast.stmt, frame: _Frame) -> None:
        env = frame.env
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            frame.local_functions[node.name] = node
            env[node.name] = None
        elif isinstance(node, ast.ClassDef):
            env[node.name] = None
        elif (
            isinstance(node, ast.Assign)
            and frame.unread
            and all(isinstance(t, ast.Name) and t.id in frame.unread for t in node.targets)
        ):
            self._probe(node.value, frame, 0)  # evaluated, for what it binds; nothing reported
            for target in node.targets:
                self._assign(target, None, node.value, frame)
        elif isinstance(node, ast.Assign) and _paired_tuple(node):
            # ``y_true, y_pred = K.cast(y_true, ...), K.cast(y_pred, ...)``: each name its own
            # value, all computed before any is bound (``a, b = b, a``).
            frame.targets = frozenset(_binds(node.targets))
            frame.target_line = node.lineno
            before = set(self.hazards)
            target, source = node.targets[0], node.value
            assert isinstance(target, (ast.Tuple, ast.List))
            assert isinstance(source, (ast.Tuple, ast.List))
            paired = [self.expr(element, frame) for element in source.elts]
            frame.targets = frozenset()
            for bound, range_, written in zip(target.elts, paired, source.elts, strict=True):
                self._assign(bound, range_, written, frame)
            self._taint(node.targets, [node.value], before, frame)
        elif isinstance(node, ast.Assign):
            frame.targets = frozenset(_binds(node.targets))
            frame.target_line = node.lineno
            before = set(self.hazards)
            self._returned = None
            value = self.expr(node.value, frame)
            returned = self._returned if self._last_call is node.value else None
            frame.targets = frozenset()
            if returned is None and isinstance(node.value, ast.Name):
                returned = frame.held.get(node.value.id)  # ``[a, b] = out``, out a helper's
            for target in node.targets:
                if (
                    isinstance(target, (ast.Tuple, ast.List))
                    and returned is not None
                    and len(returned) == len(target.elts)
                ):
                    for element, item in zip(target.elts, returned, strict=True):
                        self._assign(element, item, None, frame)
                    continue
                self._assign(target, value, node.value, frame)
                if isinstance(target, ast.Name) and returned is not None:
                    frame.held[target.id] = returned
            self._taint(node.targets, [node.value], before, frame)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                frame.targets = frozenset(_binds([node.target]))
                frame.target_line = node.lineno
                before = set(self.hazards)
                value = self.expr(node.value, frame)
                frame.targets = frozenset()
                self._assign(node.target, value, node.value, frame)
                self._taint([node.target], [node.value], before, frame)
        elif isinstance(node, ast.AugAssign):
            frame.targets = frozenset(_binds([node.target]))
            frame.target_line = node.lineno
            before = set(self.hazards)
            # ``y /= sum(y)`` divides the value ``y`` holds: read it as the expression ``y``.
            read = copy.copy(node.target)
            read.ctx = ast.Load()
            value = self._binop(node.op, read, node.value, node, frame)
            frame.targets = frozenset()
            self._assign(node.target, value, None, frame)
            self._taint([node.target], [node.target, node.value], before, frame)
        elif isinstance(node, ast.Return):
            returned_value = node.value
            if isinstance(returned_value, ast.Name) and returned_value.id not in frame.held:
                # ``r = [pi, mu, sigma]`` then ``return r``: the list's elements as they are now.
                built = frame.sources.get(returned_value.id)
                if isinstance(built, (ast.Tuple, ast.List)) and not any(
                    isinstance(e, ast.Starred) for e in built.elts
                ):
                    returned_value = built
            if isinstance(returned_value, (ast.Tuple, ast.List)) and returned_value.elts:
                # ``return probs, value``: each element, for ``a, b = self._build_net()``.
                items = tuple(self.expr(e, frame) for e in returned_value.elts)
                frame.tuples.append(items)
                frame.returns.append(None)
            else:
                frame.returns.append(self.expr(node.value, frame) if node.value else None)
        elif isinstance(node, ast.Expr):
            self._discarded(node.value, frame)
            grown = _appended(node)
            before = set(self.hazards) if grown is not None else set()
            self.expr(node.value, frame)
            if grown is not None:  # ``iou.append(mean(ious))``: the list carries its hazards
                self._taint([ast.Name(grown[0], ast.Store())], grown[1], before, frame)
        elif isinstance(node, ast.If):
            self.expr(node.test, frame)
            self._if(node, frame)
        elif isinstance(node, ast.Assert):
            self.expr(node.test, frame)
            self._guard(node.test, True, frame)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            if isinstance(node, ast.While):
                self.expr(node.test, frame)
            else:
                self.expr(node.iter, frame)
                self._assign(node.target, None, None, frame)
            self._branches([node.body, []], frame)
            self.block(node.orelse, frame)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for context in node.items:
                self.expr(context.context_expr, frame)
                if context.optional_vars is not None:
                    self._assign(context.optional_vars, None, None, frame)
            gradient = self._gradient
            if any(_no_grad(item.context_expr) for item in node.items):
                # ``with torch.no_grad(): x -= lr * rescale(grads)``: nothing under it is
                # differentiated (an update of an input by its gradient), so a root at 0 there
                # is sqrt(0) = 0, and no infinite gradient.
                self._gradient = False
            try:
                self.block(node.body, frame)
            finally:
                self._gradient = gradient
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            try_node: ast.Try = node  # type: ignore[assignment]
            self.block(try_node.body, frame)
            self._branches([h.body for h in try_node.handlers] + [try_node.orelse], frame)
            self.block(try_node.finalbody, frame)
        elif isinstance(node, ast.Match):
            self.expr(node.subject, frame)
            # No case may match: then none of the bodies runs.
            self._branches([c.body for c in node.cases] + [[]], frame)

    def _if(self, node: ast.If, frame: _Frame) -> None:
        """Each branch under its condition; a branch that leaves (``return``, ``raise``,
        ``continue``) does not reach the code after the ``if``, so that code keeps the other
        branch's guard (``if n == 0: return 0.0`` before ``x / n``)."""
        before, refined_before = dict(frame.env), dict(frame.refined)
        outcomes = []
        known = _callable_test(node.test, frame)
        if known is None:
            known = flags.decided(node.test, frame.flags)
        if _replaces_tested(node.test, node.body):
            # ``if is_nan(mcc): mcc = 0``: as ``where(is_nan(mcc), 0, mcc)``.
            self._finite_test(node.test, frame)
        for body, truth in ((node.body, True), (node.orelse, False)):
            if known is not None and truth != known:
                continue  # ``activation_function is None`` where this call passes one
            frame.env, frame.refined = dict(before), dict(refined_before)
            self._guard(node.test, truth, frame)
            self.block(body, frame)
            if not _leaves(body):
                outcomes.append((frame.env, frame.refined))
        if not outcomes:
            frame.env, frame.refined = before, refined_before
            return
        envs = [env for env, _ in outcomes]
        merged: dict[str, Range | None] = {}
        for name in set().union(*envs):
            values = [env.get(name, before.get(name)) for env in envs]
            joined = values[0]
            for value in values[1:]:
                joined = _join(joined, value)
            merged[name] = joined
        frame.env = merged
        if len(outcomes) == 1:
            frame.refined = outcomes[0][1]
        else:
            frame.refined = {
                key: entry
                for key, entry in outcomes[0][1].items()
                if all(other.get(key) == entry for _, other in outcomes[1:])
            }

    def _guard(self, test: ast.expr, truth: bool, frame: _Frame) -> None:
        """Narrow what ``test`` being ``truth`` says about the values it compares."""
        for subject, op, bound in self._conditions(test, truth, frame):
            base = subject
            while True:
                inner = self._see_through(base, frame)
                if inner is None:
                    break
                base = inner
            if isinstance(base, ast.Name):
                if base.id in frame.env or frame.module.constants.get(base.id) is None:
                    refined = refine(self._name(base.id, frame), op, bound)
                    frame.env[base.id] = refined
                    if refined is not None and not refined.may_be_zero():
                        self._mask_sum_nonzero(base.id, frame)
                continue
            key = _key(base)
            current = frame.refined.get(key, (None, frozenset()))[0]
            if key not in frame.refined:
                current = self._quiet(base, frame)
            frame.refined[key] = (refine(current, op, bound), frozenset(_names(base)))

    def _mask_sum_nonzero(self, name: str, frame: _Frame) -> None:
        """Where ``name``, bound to ``sum(x * m)``, is not 0, neither is a local bound to
        ``sum(m)`` of the same non-negative mask ``m``: that sum is 0 only where every ``m``
        is, which makes the first 0 too. A concordance index's ``where(equal(g, 0), 0.0, g /
        f)``, with ``g = reduce_sum(multiply(g, f))`` and then ``f = reduce_sum(f)``, divides
        only where ``f`` counts some pair (DeepDTA's ``cindex_score``)."""
        source = frame.sources.get(name)
        summed = self._whole_sum(source, frame)
        if source is None or summed is None:
            return
        if isinstance(summed, ast.BinOp) and isinstance(summed.op, ast.Mult):
            factors = [summed.left, summed.right]
        elif (
            isinstance(summed, ast.Call)
            and self._call_name(summed.func, frame) == "multiply"
            and len(summed.args) == 2
        ):
            factors = list(summed.args)
        else:
            return
        keys = {_key(factor) for factor in factors}
        for other, held in list(frame.sources.items()):
            mask = self._whole_sum(held, frame) if other != name else None
            if mask is None or _key(mask) not in keys:
                continue
            if not self._read_alike(mask, source, other, held, frame):
                continue
            if isinstance(mask, ast.Name) and mask.id == other:
                value = frame.before.get(other)  # ``f = reduce_sum(f)``: f before that
            else:
                value = self._quiet(mask, frame)
            if value is not None and value.lo >= 0 and other in frame.env:
                frame.env[other] = refine(frame.env[other], "!=", 0.0)

    def _whole_sum(self, node: ast.expr | None, frame: _Frame) -> ast.expr | None:
        """What ``node`` sums over every axis (``reduce_sum(x)``, ``K.sum(x)``), else None."""
        if (
            isinstance(node, ast.Call)
            and len(node.args) == 1
            and not node.keywords
            and self._call_name(node.func, frame) in ("sum", "reduce_sum")
        ):
            return node.args[0]
        return None

    def _read_alike(
        self, mask: ast.expr, first: ast.expr, name: str, second: ast.expr, frame: _Frame
    ) -> bool:
        """Whether the names of ``mask`` hold the same values where ``first`` and ``second``
        (the expression now bound to ``name``) read them: none was bound again between the
        two, but ``name`` itself from itself (``f = reduce_sum(f)``) after ``first``."""
        for read in _names(mask):
            if read == name:
                earlier = frame.rebound.get(read, ())
                if not earlier or not earlier[-1].lineno < first.lineno < second.lineno:
                    return False
                continue
            held = frame.sources.get(read)
            if held is not None and held.lineno >= min(first.lineno, second.lineno):
                return False
        return True

    def _quiet(self, node: ast.expr, frame: _Frame) -> Range | None:
        """The range of an expression already evaluated (its hazards are reported once)."""
        saved = self.hazards, self._record
        self.hazards, self._record = {}, None if self._record is None else []
        try:
            return self.expr(node, frame)
        finally:
            self.hazards, self._record = saved

    def _conditions(
        self, test: ast.expr, truth: bool, frame: _Frame
    ) -> Iterator[tuple[ast.expr, str, float]]:
        """(subject, op, constant) facts that hold when ``test`` is ``truth``."""
        if isinstance(test, ast.Name) and test.id in frame.sources:
            source = frame.sources[test.id]
            if isinstance(source, (ast.Compare, ast.Call, ast.BoolOp, ast.UnaryOp)):
                yield from self._conditions(source, truth, frame)
                return
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            yield from self._conditions(test.operand, not truth, frame)
            return
        if isinstance(test, ast.BoolOp):
            conjunction = isinstance(test.op, ast.And)
            if conjunction == truth:  # every operand holds
                for value in test.values:
                    yield from self._conditions(value, truth, frame)
            return
        pair: tuple[ast.expr, str, ast.expr] | None = None
        found = comparison(test, lambda func: self._call_name(func, frame))
        if found is not None:
            pair = (found[1], found[0], found[2])
        elif isinstance(test, ast.Call):
            name = self._call_name(test.func, frame)
            if name in ("logical_and", "logical_or") and len(test.args) == 2:
                if (name == "logical_and") == truth:
                    for value in test.args:
                        yield from self._conditions(value, truth, frame)
                return
            elif name == "logical_not" and len(test.args) == 1:
                yield from self._conditions(test.args[0], not truth, frame)
                return
        elif truth and not isinstance(test, ast.Constant):
            yield test, "!=", 0.0  # ``if n:`` — n is not 0
            return
        if pair is None:
            return
        left, op, right = pair
        if not truth:
            op = _NEGATED[op]
        bound = self._constant(right, frame)
        if bound is not None:
            yield left, op, bound
            return
        bound = self._constant(left, frame)
        if bound is not None:
            yield right, _FLIPPED[op], bound

    def _constant(self, node: ast.expr, frame: _Frame) -> float | None:
        number = _number(node)
        if number is not None:
            return number
        if isinstance(node, ast.Name):
            value = self._name(node.id, frame)
            if value is not None and value.is_constant:
                return value.lo
        return None

    def _call_name(self, func: ast.expr, frame: _Frame) -> str | None:
        """The catalogue name of a tensor-math call (``tf.math.equal`` → ``equal``)."""
        return math_name(func, frame.module.imports)

    def _configured(self, value: Range, node: ast.expr, frame: _Frame) -> bool:
        """Whether ``node``, of range ``value``, is a value of the configuration alone that
        is not known to be 0 (a module's ``blank_rows = 0`` is): see _configuration."""
        return not value.lo == value.hi == 0.0 and self._configuration(node, frame)

    def _configuration(self, node: ast.expr, frame: _Frame) -> bool:
        """Whether ``node`` is a value of the configuration alone: constants, the module's
        numbers, parameters named like constants, the class's settings (``self.num_bins`` set
        in ``__init__``, see _settings), and tensor math of those (``linspace(0.0, 1.0,
        self.num_bins)``, the mean of its steps, a cast to ``y_true.dtype``), through this
        function's own assignments of such values. No size read from a tensor (the batch
        sets it) and no name the function is given. Such a value is 0 only where a user
        configures it so, on every step alike, and it carries no gradient: it is not the data
        hazard the value-range rules report (DeepReg's Parzen width ``1 / (2 * sigma ** 2)``)."""
        if isinstance(node, ast.Constant):
            return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
        if isinstance(node, ast.Name):
            if node.id in frame.params or node.id in frame.env:
                return node.id in frame.configured
            return (
                node.id in frame.configured  # read from the calling scope
                or node.id in frame.module.constants
                or _constant_name(node.id)
            )
        if isinstance(node, ast.Attribute):
            if node.attr == "dtype":  # a type, not a value (``cast(c, y_true.dtype)``)
                return True
            return (
                isinstance(node.value, ast.Name)
                and node.value.id == "self"
                and (f"self.{node.attr}" in frame.configured)
            )
        if isinstance(node, ast.BinOp):
            return self._configuration(node.left, frame) and self._configuration(node.right, frame)
        if isinstance(node, ast.UnaryOp):
            return self._configuration(node.operand, frame)
        if isinstance(node, ast.Subscript):
            if _config_lookup(node) or _static_size(node):
                return True
            return self._configuration(node.value, frame) and all(
                self._configuration(part, frame) for part in _index_parts(node.slice)
            )
        if isinstance(node, ast.Call):
            name = self._call_name(node.func, frame)
            entry = ops.function(name) if name is not None else None
            if entry is None or entry.range in _UNCONFIGURED:
                return False
            return all(self._configuration(a, frame) for a in node.args) and all(
                k.arg in ("dtype", "name") or self._configuration(k.value, frame)
                for k in node.keywords
            )
        return False

    def _scope_parents(self, frame: _Frame) -> dict[ast.AST, ast.AST] | None:
        """The parent of each node of the function (or module) ``frame`` interprets."""
        located = self.project.functions.get(frame.qualname)
        root: ast.AST | None = (
            located[1].node
            if located is not None
            else frame.module.tree
            if frame.qualname == frame.module.module
            else None
        )
        if root is None:
            return None
        parents = self._parents.get(id(root))
        if parents is None:
            parents = self._parents[id(root)] = names.parents(root)
        return parents

    def _integer_only(self, node: ast.expr, frame: _Frame) -> bool:
        """Whether the value of ``node`` (a sqrt, a norm) reaches nothing differentiable: it
        only feeds an integer or boolean result (``floordiv``, ``round``, ``argmax``, a
        comparison, a cast to an integer type), directly or through a name read only so (the
        FPN level of a box, ``floordiv(log(sqrt(h * w) / 224), log(2))``, cast to int32). No
        gradient flows back through such a result, so an infinite slope at 0 is never taken."""
        parents = self._scope_parents(frame)
        if parents is None or node not in parents:
            return False
        place = self._integer_fed(node, parents, frame)
        if isinstance(place, bool):
            return place
        if not (len(place.targets) == 1 and isinstance(place.targets[0], ast.Name)):
            return False
        name = place.targets[0].id
        reads = [
            n
            for n in parents  # every node of the scope but its root
            if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
        ]
        return bool(reads) and all(self._integer_fed(n, parents, frame) is True for n in reads)

    def _integer_fed(
        self, node: ast.expr, parents: dict[ast.AST, ast.AST], frame: _Frame
    ) -> bool | ast.Assign:
        """True where ``node`` is inside an argument of an integer or boolean result within
        its statement; else the statement, when it is an assignment; else False."""
        child: ast.AST = node
        place = parents.get(node)
        while place is not None and not isinstance(place, ast.stmt):
            if isinstance(place, ast.Compare) or (
                isinstance(place, ast.BinOp) and isinstance(place.op, ast.FloorDiv)
            ):
                return True
            if isinstance(place, ast.Call) and child is not place.func:
                name = self._call_name(place.func, frame)
                if ops.integer_valued(name):
                    return True
                if names.qualify(place.func, frame.module.imports) in _INTEGER_SAMPLERS:
                    return True  # class numbers drawn from logits: no gradient reaches these
                if name == "cast" and place.args and child is place.args[0]:
                    dtypes = [
                        *place.args[1:2],
                        *(k.value for k in place.keywords if k.arg == "dtype"),
                    ]
                    if any(_integer_dtype(d) for d in dtypes):
                        return True
            child, place = place, parents.get(place)
        return place if isinstance(place, ast.Assign) else False

    def _see_through(self, node: ast.expr, frame: _Frame) -> ast.expr | None:
        """``cast(x)``, ``convert_to_tensor(x)``, ``stop_gradient(x)``, and the method casts
        ``x.float()``, ``x.to(device)``, ``x.detach()``, ``x.astype(t)``: the guard is on x."""
        if (
            isinstance(node, ast.Call)
            and node.args
            and self._call_name(node.func, frame) in _SEE_THROUGH
        ):
            return node.args[0]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _METHOD_CASTS
            and len(node.args) <= 1
        ):
            return node.func.value
        return None

    def _branches(self, bodies: list[list[ast.stmt]], frame: _Frame) -> None:
        """Run each body from the same state; afterwards a name holds the join of them all."""
        before = dict(frame.env)
        results = []
        for body in bodies:
            frame.env = dict(before)
            self.block(body, frame)
            results.append(frame.env)
        merged: dict[str, Range | None] = {}
        for name in set().union(*results):
            values = [env.get(name, before.get(name)) for env in results]
            joined = values[0]
            for value in values[1:]:
                joined = _join(joined, value)
            merged[name] = joined
        frame.env = merged

    def _assign(
        self, target: ast.expr, value: Range | None, source: ast.expr | None, frame: _Frame
    ) -> None:
        if isinstance(target, ast.Name):
            if frame.refined:
                frame.refined = {k: v for k, v in frame.refined.items() if target.id not in v[1]}
            if source is not None and _setting(source, frame):
                frame.settings.add(target.id)
            else:
                frame.settings.discard(target.id)
            if source is not None and self._configuration(source, frame):
                frame.configured.add(target.id)
            else:
                frame.configured.discard(target.id)
            previous = frame.env.get(target.id)
            frame.env[target.id] = value
            frame.unpacked.pop(target.id, None)
            frame.held.pop(target.id, None)
            earlier = frame.sources.get(target.id)
            if earlier is not None and source is not None and target.id in _names(source):
                frame.rebound[target.id] = (*frame.rebound.get(target.id, ()), earlier)
                frame.before[target.id] = previous
            else:
                frame.rebound.pop(target.id, None)
                frame.before.pop(target.id, None)
            if source is not None:
                frame.sources[target.id] = source
            else:
                frame.sources.pop(target.id, None)
            if isinstance(source, ast.Lambda):
                frame.local_functions[target.id] = source
        elif isinstance(target, (ast.Tuple, ast.List)):
            # The pieces of a split tensor keep its range; ``mean, variance = moments(x)`` is
            # the range of x and a spread; anything else unpacked is unknown.
            kind = self._cut(source, frame)
            pieces: list[Range | None] = [value if kind == "split" else None] * len(target.elts)
            if kind == "moments" and len(pieces) == 2 and self._record is None:
                # In a loss (not a training loop, where moments are mostly of the data: a
                # DRAGAN's noise scale, normalised returns, which no gradient flows through).
                variance = Range(0.0, INF, reason="a variance, 0 when the values are all equal")
                pieces = [value, variance]
            for element, piece in zip(target.elts, pieces, strict=True):
                self._assign(element, piece, None, frame)
                if isinstance(element, ast.Name) and source is not None:
                    frame.unpacked[element.id] = source
        elif isinstance(target, ast.Starred):
            self._assign(target.value, None, None, frame)
        elif (attribute := names.self_attribute(target)) is not None:
            # ``self.probs = tf.layers.dense(h, n, tf.nn.softmax)`` then ``tf.log(self.probs)``
            # in the same method (a TF 1 model built in ``__init__``). A parameter stored as it
            # is (``self.batch_size = batch_size``) is a configuration value, as _settings
            # reads it, whatever the frame took the parameter for.
            plain = isinstance(source, ast.Name) and source.id not in frame.sources
            frame.env[f"self.{attribute}"] = None if plain else value
            frame.configured.discard(f"self.{attribute}")

    def _cut(self, source: ast.expr | None, frame: _Frame) -> str | None:
        """Whether ``source`` cuts a tensor into pieces: "split" (``tf.split``, ``unstack``;
        and the gradients of several sources, ``g0, g1 = tape.gradient(pred, (x0, x1))``,
        each as its range), "moments" (``tf.nn.moments``'s mean and variance); else None."""
        if not isinstance(source, ast.Call):
            return None
        name = self._call_name(source.func, frame)
        entry = ops.function(name) if name is not None else self._method(source.func, frame)
        if entry is not None and entry.range == "gradient":
            return "split"
        return entry.range if entry is not None and entry.range in ("split", "moments") else None

    def _discarded(self, node: ast.expr, frame: _Frame) -> None:
        """LL308: a guard called as a statement, its result thrown away; LL503: a sum or
        product of tensors so (``tf.add(loss, penalty)``, read as if it added in place), or
        written out (``loss * sample_weight`` as a statement of a function)."""
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, _ARITHMETIC)
            and frame.qualname != frame.module.module  # a notebook cell shows its last value
        ):
            shown = _text(node, 32)
            left = _text(node.left, 16) if isinstance(node.left, ast.Name) else "x"
            self._hazard(
                "term",
                node,
                frame,
                f"the result of {shown} is thrown away: the operator returns a new value and "
                "changes none in place, so this term never reaches the loss; assign it "
                f"({left} = {shown})",
                nan=False,
            )
            return
        if not isinstance(node, ast.Call):
            return
        name = self._call_name(node.func, frame)
        entry = ops.function(name) if name is not None else self._method(node.func, frame)
        if (
            name is not None
            and entry is not None
            and entry.range in _TERMS
            and len(node.args) >= 2
            # ``out=`` writes the result in place; a TF 1 graph names an op to fetch it later.
            and not any(k.arg in ("out", "name") for k in node.keywords)
        ):
            shown = _text(node.func, 32)
            self._hazard(
                "term",
                node,
                frame,
                f"the result of {shown}(...) is thrown away: a tensor op returns a new tensor "
                "and changes none in place, so this term never reaches the loss; assign it "
                f"(loss = {shown}(loss, ...))",
                nan=False,
            )
            return
        if (entry is None or not entry.guard) and not self._guard_wrapper(node, frame):
            return
        if any(
            k.arg == "out" or (k.arg == "copy" and _number(k.value) == 0.0) for k in node.keywords
        ):
            return  # writes its result in place
        name = _text(node.func, 32)
        self._hazard(
            "guard",
            node,
            frame,
            f"the result of {name}(...) is thrown away, so the value it should protect is used "
            "unguarded: assign it (x = " + f"{name}(x, ...))",
        )

    def _guard_wrapper(self, node: ast.Call, frame: _Frame) -> bool:
        """Whether ``node`` calls a project function that only computes a guarded value and
        returns it (DDSP's ``safe_divide(n, d)``: ``where(d == 0, eps, d)``, then ``n / that``):
        local assignments and a ``return``, a guard or ``where`` among its calls. Called as a
        statement, it changes nothing."""
        target = self._callee(node, frame)
        if target is None:
            return False
        module, _, function, _ = target
        if isinstance(function, ast.Lambda):
            return False
        body = function.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
            return False
        if not all(
            isinstance(s, ast.Assign) and all(isinstance(t, ast.Name) for t in s.targets)
            for s in body[:-1]
        ):
            return False
        return any(
            isinstance(call, ast.Call)
            and (name := math_name(call.func, module.imports)) is not None
            and (name == "where" or ops.is_guard(name))
            for call in subtree(function)
        )

    # -- expressions -----------------------------------------------------------------------

    def expr(self, node: ast.expr, frame: _Frame, depth: int = 0) -> Range | None:
        if depth > _MAX_EXPR_DEPTH:
            return None
        if frame.refined and not isinstance(node, (ast.Name, ast.Constant)):
            entry = frame.refined.get(_key(node))
            if entry is not None:
                return entry[0]
        if isinstance(node, ast.Constant):
            constant = node.value
            if isinstance(constant, (int, float)):  # bool included: True is 1
                return point(to_float(constant))
            return None
        if isinstance(node, ast.Name):
            return self._name(node.id, frame)
        root = self._squared_root(node, frame)
        if root is not None:
            self._squared.add(id(root))
        if isinstance(node, ast.UnaryOp):
            inner = self.expr(node.operand, frame, depth + 1)
            if isinstance(node.op, ast.USub):
                return _negate(inner) if inner else None
            if isinstance(node.op, ast.UAdd):
                return inner
            if isinstance(node.op, ast.Not) or (
                isinstance(node.op, ast.Invert) and _boolean(node.operand)
            ):
                return Range(0, 1)  # ``~ops.eye(n, dtype="bool")``: a logical not
            return None
        if isinstance(node, ast.BinOp):
            return self._binop(node.op, node.left, node.right, node, frame, depth)
        if isinstance(node, ast.Call):
            return self._call(node, frame, depth)
        if isinstance(node, ast.Compare):
            # What is compared is only compared: inf and NaN give a boolean (``y_pred > 1. /
            # odds + th`` with odds 0 selects nothing), and no gradient flows through it.
            self._compared.append((frame.module.path, self._span(node, frame)))
            try:
                self.expr(node.left, frame, depth + 1)
                for comparator in node.comparators:
                    self.expr(comparator, frame, depth + 1)
            finally:
                self._compared.pop()
            return Range(
                0,
                1,
                diagonal=self._is_self_transpose(node, frame),
                tokens=self._token_mask(node, frame),
            )
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self.expr(value, frame, depth + 1)
            return None
        if isinstance(node, ast.IfExp):  # each branch under its condition, as an ``if``
            self.expr(node.test, frame, depth + 1)
            before, refined_before = dict(frame.env), dict(frame.refined)
            branches = []
            for branch, truth in ((node.body, True), (node.orelse, False)):
                frame.env, frame.refined = dict(before), dict(refined_before)
                self._guard(node.test, truth, frame)
                branches.append(self.expr(branch, frame, depth + 1))
            frame.env, frame.refined = before, refined_before
            return _join(*branches)
        if isinstance(node, ast.Subscript):
            self.expr(node.slice, frame, depth + 1)
            indexed = self.expr(node.value, frame, depth + 1)  # indexing keeps the bounds
            # ``iou[~is_nan(iou)]``: the non-finite elements dropped on purpose, as a where does.
            self._finite_test(node.slice, frame)
            selected = self._self_mask(node.slice, node.value, frame, depth)
            # ``n[n > 0]``, ``y_diff[y_diff > MIN_STABLE_VALUE]``: the elements it selects.
            return indexed if selected is None else refine(indexed, *selected)
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                known = frame.env.get(f"self.{node.attr}")
                if known is None and self._layer_weight(node.attr, frame):
                    # A layer's trainable weight, drawn at random: never the zero vector (a
                    # weight-normalised attention's ``rsqrt(sum(square(v)))``).
                    return Range(-INF, INF, nonzero=True, reason="a layer's weight")
                return known
            if node.attr in ("eps", "tiny", "epsneg", "smallest_normal"):
                return Range(0.0, 1.0, lo_open=True)
            if node.attr == "shape":
                return Range(1.0, INF)
            full = names.qualify(node, frame.module.imports)
            if full in _MATH_CONSTANTS:
                return point(_MATH_CONSTANTS[full])
            self.expr(node.value, frame, depth + 1)
            return None
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            for element in node.elts:
                self.expr(element, frame, depth + 1)
            return None
        if isinstance(node, ast.Dict):
            for value in node.values:
                self.expr(value, frame, depth + 1)
            return None
        if isinstance(node, ast.Lambda):
            return None
        return None

    def _name(self, name: str, frame: _Frame) -> Range | None:
        if name in frame.env:
            return frame.env[name]
        if name in frame.module.rebound:  # set by a function at run time: not its first value
            return None
        constant = frame.module.constants.get(name)
        if constant is None and name in frame.module.imports:
            # ``from .config import EPS``: a constant of another module of the project.
            constant = self.project.constant(frame.module.imports[name])
        if constant is not None:
            return point(constant)
        imported = frame.module.imports.get(name)
        if imported in _MATH_CONSTANTS:  # ``from numpy import pi``
            return point(_MATH_CONSTANTS[imported])
        return self._module_value(frame.module, name)

    def _module_value(self, module: ModuleIndex, name: str) -> Range | None:
        """A module-level name bound once to an expression the index does not evaluate
        (``_EPSILON = tf.keras.backend.epsilon()``, ``EPS = K.epsilon() * 10``)."""
        key = (module.path, name)
        if key in self._globals:
            return self._globals[key]
        self._globals[key] = None  # a cycle (A = B; B = A) stays unknown
        value = bound_once(module, name)
        result = None
        if isinstance(value, (ast.Call, ast.BinOp, ast.UnaryOp)):
            result = self._static(value, module)
        self._globals[key] = result
        return result

    def _static(self, node: ast.expr, module: ModuleIndex) -> Range | None:
        """The range of an expression evaluated at module level, reporting nothing."""
        saved = self.hazards, self._record
        self.hazards, self._record = {}, None
        try:
            return self.expr(node, _Frame(module, module.module, {}, {}))
        finally:
            self.hazards, self._record = saved

    def _cancelled(self, left: ast.expr, right: ast.expr, frame: _Frame) -> ast.expr | None:
        """``(a + e) - a`` or ``a - (a - e)`` (through the names this function bound, as
        written): ``e``, where ``a`` is one plain name or attribute on both sides; None for
        anything else."""

        def source(node: ast.expr) -> ast.expr:
            return self._source(node, frame, steps=4)

        minuend, subtrahend = source(left), source(right)
        if (
            isinstance(subtrahend, ast.BinOp)
            and isinstance(subtrahend.op, ast.Sub)
            and isinstance(minuend, (ast.Name, ast.Attribute))
            and ast.dump(source(subtrahend.left)) == ast.dump(minuend)
        ):
            return subtrahend.right  # ``a - (a - e)``
        if not isinstance(subtrahend, (ast.Name, ast.Attribute)):
            return None
        if not (isinstance(minuend, ast.BinOp) and isinstance(minuend.op, ast.Add)):
            return None
        wanted = ast.dump(subtrahend)
        if ast.dump(source(minuend.left)) == wanted:
            return minuend.right
        if ast.dump(source(minuend.right)) == wanted:
            return minuend.left
        return None

    def _guarded_terms(
        self, left: Range, right: Range, left_node: ast.expr, right_node: ast.expr, frame: _Frame
    ) -> tuple[Range, Range]:
        """The operands of a sum whose other side already added a positive constant: the
        author's guard covers every term of the sum, wherever it is written (``truepos +
        smooth + fp`` as ``fp + truepos + smooth``; see :func:`_add`), so the term added after
        it is taken as not negative either."""
        if right.lo < 0 and not _is_point(right) and self._adds_guard(left_node, frame):
            right = replace(right, lo=0.0, lo_open=False)
        elif left.lo < 0 and not _is_point(left) and self._adds_guard(right_node, frame):
            left = replace(left, lo=0.0, lo_open=False)
        return left, right

    def _guard_before_minus(self, node: ast.expr, value: Range | None, frame: _Frame) -> float:
        """The guard of ``a + smooth - b``: where the minuend ``node`` is a sum of computed
        terms and a named positive number (``smooth``, ``self.eps``) or a literal below 1
        (``1e-6``), that number, which the author added to keep the whole difference above 0
        (as :meth:`_guarded_terms` reads ``(a - b) + smooth``); else 0. A literal of 1 or more
        is not taken (``1 + y_pred - y_true`` is a shift that reaches 0), nor a sum of numbers
        only (``1 + eps - p``: float32 rounds the guard away, see :func:`_rounded`)."""
        if value is None or value.is_constant:
            return 0.0
        for term, guard in self._added_guards(node, frame):
            if not (isinstance(term, ast.Constant) and guard >= 1):
                return guard
        return 0.0

    def _adds_guard(self, node: ast.expr, frame: _Frame) -> bool:
        """Whether ``node`` is a sum with a term that is a positive number (``smooth``,
        ``1e-6``, ``self.eps``), other than the sum itself."""
        return next(self._added_guards(node, frame), None) is not None

    def _added_guards(self, node: ast.expr, frame: _Frame) -> Iterator[tuple[ast.expr, float]]:
        """The terms of sum ``node`` that are a positive number written as a literal or a name
        (``smooth``, ``1e-6``, ``self.eps``), with their value, in the order written."""
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)):
            return
        for term in addends(node):
            if isinstance(term, (ast.Constant, ast.Name, ast.Attribute)):
                value = self.expr(term, frame)
                if value is not None and _is_point(value) and 0 < value.lo < INF:
                    yield term, value.lo

    def _binop(
        self,
        op: ast.operator,
        left_node: ast.expr,
        right_node: ast.expr,
        node: ast.AST,
        frame: _Frame,
        depth: int = 0,
    ) -> Range | None:
        if isinstance(op, ast.Sub):
            rest = self._cancelled(left_node, right_node, frame)
            if rest is not None:  # ``t2 - t1`` with ``t1 = a``, ``t2 = a + e``: e
                return self.expr(rest, frame, depth + 1)
        left = self.expr(left_node, frame, depth + 1)
        right = self.expr(right_node, frame, depth + 1)
        note = ""
        if isinstance(op, (ast.Add, ast.Sub)) and left is not None and right is not None:
            # ``1e-8 + 1 - p``: Python adds the constants in float64 (1.00000001), and the
            # float32 tensor they meet holds 1.0, so the guard is gone.
            if left.is_constant and not right.is_constant:
                left, note = _rounded(left)
            elif right.is_constant and not left.is_constant:
                right, note = _rounded(right)
        result: Range | None = None
        if (
            isinstance(op, ast.Add)
            and left is not None
            and (
                self._fills_zeros(right_node, left_node, frame)
                or self._fills_zeros(left_node, right_node, frame)
            )
        ):
            # ``d + cast(equal(d, 0)) * eps``: eps added exactly where d is 0.
            result = refine(
                left if self._fills_zeros(right_node, left_node, frame) else right, "!=", 0.0
            )
        elif isinstance(op, ast.Add) and self._exp_pair(left_node, right_node, frame):
            result = _cosh_sum(left, right)
        elif isinstance(op, ast.Add) and (
            floor := self._total_plus_rest(left_node, right_node, frame)
        ):
            result = Range(floor, INF)
        elif isinstance(op, ast.Add) and (
            whole := self._complementary_counts(left_node, right_node, frame)
        ):
            result = whole
        elif isinstance(op, ast.Add) and confusion_total(node):
            result = Range(1.0, INF)  # ``tp + tn + fp + fn``: every element counted once
        elif isinstance(op, ast.Add):
            if left is not None and right is not None:
                left, right = self._guarded_terms(left, right, left_node, right_node, frame)
            result = _add_any(left, right)
        elif isinstance(op, ast.Sub):
            if self._is_max_of(right_node, left_node, frame):
                return Range(-INF, 0.0, shifted=True)
            result = _add_any(left, _negate(right) if right else None, guard=False)
            floor = self._guard_before_minus(left_node, left, frame)
            if floor > 0 and result is not None and result.lo < floor <= result.hi:
                # ``sum(t) + sum(p) + smooth - intersection``: the guard covers the difference
                # as it covers ``union + smooth`` written the other way round.
                result = replace(result, lo=floor, lo_open=False)
            pairwise = _broadcast_of(left_node, frame)
            if (
                pairwise is not None
                and pairwise == _broadcast_of(right_node, frame)
                and not _labels_named(pairwise[-1])
            ):
                # ``expand_dims(x, 1) - expand_dims(x, 0)``: every row of ``x`` against every
                # other and against itself, whatever ``x`` is: 0 on the diagonal. (Of the
                # labels, ``pog_labels``, no gradient flows through it.)
                shown = ".".join(pairwise)
                reason = f"a difference of {shown} with itself, 0 on the diagonal"
                result = Range(-INF, INF, reason=reason)
            if result is not None and right is not None and right.source and _is_one(left):
                # ``1 - y_true``: the complement of a probability input is one too.
                result = replace(result, source=True)
            if (
                result is not None
                and left is not None
                and right is not None
                and left.is_constant
                and right.lo < left.hi <= right.hi
                and result.lo <= 0.0 <= result.hi
            ):
                # ``1 - K.square(rho)``: 0 where the square reaches 1, with why it does where its
                # reason says (a saturating sigmoid, a guard float32 rounds away), not where it
                # tells of its own 0 (a square's).
                why = right.reason
                if any(words in why for words in _OWN_ZERO):
                    why = ""
                reason = f"{_text(right_node, 30)} reaches {_fmt(left.hi)}"
                result = replace(result, reason=f"{reason}: {why}" if why else reason)
        elif isinstance(op, ast.Mult) and _same_value(left_node, right_node):
            result = _square(left)  # ``A * A`` of a pairwise distance: a square, even unknown
        elif isinstance(op, ast.Mult):
            unknown = left_node if left is None else right_node
            result = _mul_any(left, right, self._handed_in(unknown, frame))
        elif isinstance(op, ast.Div):
            result = self._divide(left, right, left_node, right_node, node, frame)
        elif isinstance(op, ast.Pow):
            result = self._power(left, right, left_node, node, frame)
        elif isinstance(op, (ast.BitAnd, ast.BitOr)):
            result = _bitwise(op, left, right)
        if note and result is not None and result.lo <= 0 <= result.hi:
            result = replace(result, reason=f"{note}; {result.reason}" if result.reason else note)
        return _carry(result, left, right)

    def _siblings(
        self, owner: str
    ) -> Mapping[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda] | None:
        """The functions that function ``owner`` defines (None where ``owner`` is not a
        function of the project), once per owner."""
        if owner not in self._local_functions:
            found = self.project.functions.get(owner)
            self._local_functions[owner] = _local_defs(found[1].node.body) if found else None
        return self._local_functions[owner]

    def _handed_in(self, node: ast.expr | None, frame: _Frame) -> bool:
        """Whether ``node`` is a parameter of the function interpreted, never rebound in it:
        data its callers hand in (a mask, an indicator), not a value computed here."""
        if not isinstance(node, ast.Name) or node.id in frame.sources:
            return False
        found = self.project.functions.get(frame.qualname)
        return found is not None and node.id in found[1].params

    def _exp_pair(self, left: ast.expr, right: ast.expr, frame: _Frame) -> bool:
        """``exp(x) + exp(-x)`` (2 cosh x): one of the two is at least 1 for every x."""
        arguments = []
        for term in (left, right):
            if not (
                isinstance(term, ast.Call)
                and len(term.args) == 1
                and self._call_name(term.func, frame) == "exp"
            ):
                return False
            arguments.append(term.args[0])
        return self._negates(arguments[0], arguments[1], frame) or self._negates(
            arguments[1], arguments[0], frame
        )

    def _total_plus_rest(self, left: ast.expr, right: ast.expr, frame: _Frame) -> float:
        """``sum(x) + cumsum(c - x)`` with ``x >= 0`` and ``c > 0`` (the Lovász union, ``gts +
        cumsum(1 - gt_sorted)``): at position i it is ``(i + 1) * c`` plus the sum of x after
        i, so at least c. That c, else 0."""
        for total, running in ((left, right), (right, left)):
            total, running = self._source(total, frame), self._source(running, frame)
            if not (
                isinstance(total, ast.Call)
                and len(total.args) == 1
                and not total.keywords
                and self._call_name(total.func, frame) in ("sum", "reduce_sum")
                and isinstance(running, ast.Call)
                and len(running.args) == 1
                and not running.keywords
                and self._call_name(running.func, frame) == "cumsum"
            ):
                continue
            rest = running.args[0]
            if not (
                isinstance(rest, ast.BinOp)
                and isinstance(rest.op, ast.Sub)
                and _key(rest.right) == _key(total.args[0])
            ):
                continue
            floor = _number(rest.left)
            terms = self.expr(rest.right, frame)
            if floor is not None and floor > 0 and terms is not None and terms.lo >= 0:
                return floor
        return 0.0

    def _complementary_counts(self, left: ast.expr, right: ast.expr, frame: _Frame) -> Range | None:
        """``sum(1 - y) + sum(y)`` (HED's ``count_neg + count_pos``), the sums of ``x > m``
        and ``x <= m``, or of ``equal(p, t)`` and ``not_equal(p, t)``, through the names this
        function bound (see :mod:`losslint.analysis.counts`): the element count, at least 1
        (a mean of the two is 1), whatever the values. None for anything else."""
        kind = complementary_counts(
            left,
            right,
            lambda node: self._source(node, frame),
            lambda func: self._call_name(func, frame),
        )
        if kind is None:
            return None
        return point(1.0) if kind == "mean" else Range(1.0, INF)

    def _token_mask(self, node: ast.expr, frame: _Frame) -> bool:
        """Whether ``node`` marks the labels' tokens that are not the padding id 0: ``labels !=
        0``, ``not_equal(labels, 0)`` or ``logical_not(equal(labels, 0))`` (the TensorFlow
        tutorials' sequence mask), ``labels`` the loss's labels, also through a cast or a name
        bound to one (``label = tf.cast(label, pred.dtype)``)."""
        negated = False
        if (
            isinstance(node, ast.Call)
            and len(node.args) == 1
            and self._call_name(node.func, frame) == "logical_not"
        ):
            node, negated = node.args[0], True
        found = comparison(node, lambda func: self._call_name(func, frame))
        if found is None or found[0] != ("==" if negated else "!="):
            return False
        operands = found[1:]
        zero = [o for o in operands if _number(o) == 0.0]
        others = [o for o in operands if _number(o) != 0.0]
        return (
            len(zero) == 1
            and len(others) == 1
            and self._labels_value(others[0], frame)
            and self._class_ids(frame)
        )

    def _class_ids(self, frame: _Frame) -> bool:
        """Whether the function of ``frame`` reads its labels as class ids, one per token: it
        calls a sparse crossentropy or takes an ``argmax`` of the prediction. A mask of labels
        that are not 0 is then a mask of padding, where a regression target's ``y_true != 0``
        (the valid pixels of a sparse depth map) may be empty."""
        found = self.project.functions.get(frame.qualname)
        if found is None:
            return False
        return any(
            isinstance(call, ast.Call) and names.last_name(call.func) in _CLASS_ID_READERS
            for call in subtree(found[1].node)
        )

    def _labels_value(self, node: ast.expr, frame: _Frame) -> bool:
        """Whether ``node`` is the loss's labels, through casts and the names bound to them."""
        for _ in range(3):
            node = self._uncast(node, frame)
            if isinstance(node, ast.Name) and node.id in frame.labels:
                return True
            following = self._source(node, frame)
            if following is node:
                return False
            node = following
        return False

    def _uncast(self, node: ast.expr, frame: _Frame) -> ast.expr:
        """``node`` without the casts around it (``tf.cast(y > 0.5, tf.float32)``)."""
        for _ in range(4):
            if (
                isinstance(node, ast.Call)
                and node.args
                and self._call_name(node.func, frame) in ("cast", "to_float", "to_int32")
            ):
                node = node.args[0]
            else:
                break
        return node

    def _negates(self, negated: ast.expr, value: ast.expr, frame: _Frame) -> bool:
        """Is ``negated`` written as ``-value`` (or ``negative(value)``)?"""
        if isinstance(negated, ast.UnaryOp) and isinstance(negated.op, ast.USub):
            return _key(negated.operand) == _key(value)
        if isinstance(negated, ast.Call) and len(negated.args) == 1:
            name = self._call_name(negated.func, frame)
            return name in ("negative", "neg") and _key(negated.args[0]) == _key(value)
        return False

    def _fills_zeros(self, term: ast.expr, value: ast.expr, frame: _Frame) -> bool:
        """Is ``term`` ``c * (value == 0)`` with ``c > 0`` (through casts, either order), or
        ``c * (value <= k)`` with ``k >= 0`` for a value that is never negative (PPLM's
        ``p + SMALL * (p <= SMALL).float()``)?"""
        for _ in range(4):  # a name bound to the term, or a cast of it
            term = self._source(term, frame)
            while (inner := self._see_through(term, frame)) is not None:
                term = inner
        if not (isinstance(term, ast.BinOp) and isinstance(term.op, ast.Mult)):
            return False
        for mask, scale in ((term.left, term.right), (term.right, term.left)):
            constant = self._constant(scale, frame)
            if constant is None or constant <= 0:
                continue
            for _ in range(4):  # a name bound to a cast of the mask, or the reverse
                mask = self._source(mask, frame)
                while (inner := self._see_through(mask, frame)) is not None:
                    mask = inner
            below_bound: tuple[ast.expr, ast.expr] | None = None  # ``value <= k`` as (value, k)
            if (
                isinstance(mask, ast.Compare)
                and len(mask.ops) == 1
                and isinstance(mask.ops[0], (ast.LtE, ast.Lt))
            ):
                below_bound = (mask.left, mask.comparators[0])
            elif (  # ``tf.math.less_equal(d, 0.0)`` (TF Addons' pairwise distance)
                isinstance(mask, ast.Call)
                and len(mask.args) == 2
                and self._call_name(mask.func, frame) in ("less_equal", "less")
            ):
                below_bound = (mask.args[0], mask.args[1])
            if (
                below_bound is not None
                and (bound := self._constant(below_bound[1], frame)) is not None
                and bound >= 0
                and _key(self._source(below_bound[0], frame)) == _key(self._source(value, frame))
            ):
                below = self._quiet(value, frame)
                return below is not None and below.lo >= 0
            if isinstance(mask, ast.Compare) and len(mask.ops) == 1:
                pair = (mask.left, mask.comparators[0]) if isinstance(mask.ops[0], ast.Eq) else None
            elif isinstance(mask, ast.Call) and len(mask.args) == 2:
                equal = self._call_name(mask.func, frame) == "equal"
                pair = (mask.args[0], mask.args[1]) if equal else None
            else:
                pair = None
            if pair is not None and _number(pair[1]) == 0.0:
                return _key(self._source(pair[0], frame)) == _key(self._source(value, frame))
        return False

    def _is_self_transpose(self, node: ast.expr, frame: _Frame) -> bool:
        """``equal(y, transpose(y))`` / ``y == y.T``: 1 on the diagonal, so its rows sum to ≥ 1."""
        operands = names.equality_operands(
            node, lambda func: self._call_name(func, frame) == "equal"
        )
        if operands is None:
            return False
        left, right = operands
        return self._transposed(left, right, frame) or self._transposed(right, left, frame)

    def _transposed(self, value: ast.expr, other: ast.expr, frame: _Frame) -> bool:
        other = self._source(other, frame)
        if isinstance(other, ast.Attribute) and other.attr == "T":
            inner = other.value
        elif (
            isinstance(other, ast.Call)
            and len(other.args) == 1
            and self._call_name(other.func, frame) in ("transpose", "permute_dimensions")
        ):
            inner = other.args[0]
        else:
            return False
        return _key(self._source(inner, frame)) == _key(self._source(value, frame))

    def _is_max_of(self, node: ast.expr, of: ast.expr, frame: _Frame) -> bool:
        """Is ``node`` the maximum of ``of`` (``max(x)``, ``reduce_max(x)``, ``x.max()``)?"""
        if isinstance(node, ast.Name) and node.id in frame.sources:
            node = frame.sources[node.id]
        # torch.max(x, dim) returns (values, indices): ``torch.max(x, 1)[0]``, ``.values``.
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and node.slice.value == 0
        ) or (isinstance(node, ast.Attribute) and node.attr == "values"):
            node = node.value
        if not isinstance(node, ast.Call):
            return False
        if (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in ("max", "amax")
            and names.qualify(node.func, frame.module.imports) is None
        ):
            return ast.dump(node.func.value) == ast.dump(of)
        target = names.qualify(node.func, frame.module.imports)
        if target is None or target.rpartition(".")[2] not in ("max", "reduce_max", "amax"):
            return False
        return bool(node.args) and ast.dump(node.args[0]) == ast.dump(of)

    def _exp_sum_over(self, node: ast.expr, frame: _Frame) -> bool:
        """Whether ``node`` is a sum (``1 + exp(-x)``, ``sum(exp(x))``): a sigmoid or softmax
        written out, which the library's own function computes stably."""
        source = self._source(node, frame)
        if isinstance(source, ast.BinOp) and isinstance(source.op, (ast.Add, ast.Sub)):
            return True
        return isinstance(source, ast.Call) and self._call_name(source.func, frame) in (
            "sum",
            "reduce_sum",
        )

    def _divide(
        self,
        numerator: Range | None,
        denominator: Range | None,
        numerator_node: ast.expr | None,
        denominator_node: ast.expr,
        node: ast.AST,
        frame: _Frame,
    ) -> Range | None:
        if denominator is None:
            return _over_unknown(numerator)
        normalized = self._normalized(numerator, numerator_node, denominator_node, frame)
        if (
            denominator.overflow is not None
            and denominator.numpy_overflow
            and numerator is not None
            and math.isfinite(numerator.lo)
            and math.isfinite(numerator.hi)
        ):
            # NumPy has no gradient, and a finite numerator over inf is exactly 0: the value is
            # right (1 / (1 + np.exp(-x)) is 0 for very negative x). Only log(inf) would not be.
            return _quotient(numerator, replace(denominator, nonzero=True))
        if (
            denominator.may_be_zero()
            and numerator is not None
            and numerator.source
            and self._sums_itself(numerator_node, denominator_node, frame)
        ):
            # ``y_pred / sum(y_pred, axis)``: renormalizing a prediction, as Keras' own
            # crossentropies do. Its sum is 0 only if every class is 0, which no probability
            # output is; a transformed value (``e / sum(e)``, ``y * m / sum(y * m)``) is judged.
            return Range(-INF, INF, reason=numerator.reason)
        if denominator.overflow is not None:
            bounded = (
                numerator is not None
                and numerator.overflow is None
                and math.isfinite(numerator.lo)
                and math.isfinite(numerator.hi)
            )
            if bounded and not self._exp_sum_over(denominator_node, frame):
                # ``norm = c / sigma`` with ``sigma = exp(out_sigma)`` (a mixture density
                # network): the quotient is 0 where exp overflows, but not its gradient.
                message = (
                    f"{_text(denominator_node)} contains exp() of an unbounded value: where it "
                    "overflows to inf the quotient is 0 but its gradient is 0 * inf = NaN, and "
                    "where it underflows to 0 the quotient is inf; keep the computation in log "
                    "space (log(c) - x, then ops.logsumexp) or bound the exponent (ops.clip)"
                )
            else:
                message = (
                    f"{_text(denominator_node)} contains exp() of an unbounded value, which "
                    "overflows to inf (inf/inf is NaN): use the stable form (ops.sigmoid for "
                    "1/(1+exp(-x)), ops.softmax for exp(x)/sum(exp(x)))"
                )
            self._hazard("exp", node, frame, message)
            return _reported(normalized or _quotient(numerator, denominator), node, "exp", frame)
        if _literal_zero(denominator_node):
            # ``keras.ops.array(1) / keras.ops.array(0)``: an inf made on purpose (a clip's
            # upper bound); nobody divides by a written 0 by mistake.
            if numerator is not None and numerator.lo > 0:
                return point(INF)
            return Range(-INF, INF)
        if (
            denominator.may_be_zero()
            and not self._configured(denominator, denominator_node, frame)
            and not _exp_underflow_only(denominator)
        ):
            why = denominator.reason or "nothing keeps it away from 0"
            self._hazard(
                "divide",
                node,
                frame,
                f"division by {_text(denominator_node)}, which can be 0 ({why}): add a small "
                "constant to the denominator or use ops.divide_no_nan",
                # x / 0 is ±inf, and NaN only where x can be 0 (or inf) too.
                nan=numerator is None or numerator.may_be_zero() or numerator.overflow is not None,
            )
            return _reported(normalized or _quotient(numerator, denominator), node, "divide", frame)
        return normalized or _quotient(numerator, denominator)

    def _normalized(
        self,
        numerator: Range | None,
        numerator_node: ast.expr | None,
        denominator_node: ast.expr,
        frame: _Frame,
    ) -> Range | None:
        """``e / sum(e)`` with ``e >= 0`` is a softmax (in [0, 1], underflows to 0)."""
        if numerator is None or numerator_node is None or numerator.lo < 0:
            return None
        total = self._source(denominator_node, frame)
        if not (isinstance(total, ast.Call) and total.args):
            return None
        if self._call_name(total.func, frame) not in ("sum", "reduce_sum"):
            return None
        inner, numerator_node = (
            self._source(total.args[0], frame),
            self._source(numerator_node, frame),
        )
        if _key(inner) != _key(numerator_node):
            return None
        if numerator.lo > 0:
            # Terms kept positive (``y_pred += epsilon``, a Poisson rate's counts): each share is
            # at least epsilon over the sum, never 0 for any sum float32 holds.
            return Range(0.0, 1.0, lo_open=True, reason="a share of positive terms")
        return Range(
            0.0, 1.0, reason="a softmax, which underflows to 0 in float32", normalizer="softmax"
        )

    def _sums_itself(
        self, numerator_node: ast.expr | None, denominator_node: ast.expr, frame: _Frame
    ) -> bool:
        if numerator_node is None:
            return False
        total = self._source(denominator_node, frame)
        if not isinstance(total, ast.Call):
            return False
        if (
            isinstance(total.func, ast.Attribute)
            and total.func.attr == "sum"
            and self._method(total.func, frame) is not None
        ):
            summed = total.func.value  # ``y_pred / y_pred.sum(dim=-1, keepdim=True)`` (torch)
        elif self._call_name(total.func, frame) in ("sum", "reduce_sum"):
            given = total.args[0] if total.args else _primary_keyword(total)
            if given is None:
                return False
            summed = given
        else:
            return False
        return _key(self._source(summed, frame)) == _key(self._source(numerator_node, frame))

    def _is_numpy(self, func: ast.expr, frame: _Frame) -> bool:
        target = names.qualify(func, frame.module.imports)
        return target is not None and target.rpartition(".")[0] in ("numpy", "math")

    def _numpy_call(self, node: ast.Call, frame: _Frame) -> bool:
        """``np.sqrt(x)``, ``np.linalg.norm(x)``, ``math.sqrt(x)``: no gradient flows."""
        target = names.qualify(node.func, frame.module.imports)
        return target is not None and target.startswith(("numpy.", "math."))

    def _source(self, node: ast.expr, frame: _Frame, steps: int = 1) -> ast.expr:
        """A name's last bound expression (followed ``steps`` names deep), else the node."""
        for _ in range(steps):
            if not (isinstance(node, ast.Name) and node.id in frame.sources):
                break
            node = frame.sources[node.id]
        return node

    def _power(
        self,
        base: Range | None,
        exponent: Range | None,
        base_node: ast.expr,
        node: ast.AST,
        frame: _Frame,
    ) -> Range | None:
        if exponent is None or not exponent.is_constant:
            return None
        p = exponent.lo  # finite: is_constant excludes ±inf
        if base is not None:
            if (
                0 < p < 1
                and base.may_be_at_most(0)
                # At 0 only the gradient is infinite: no hazard where nothing is differentiated.
                and not (
                    base.lo >= 0
                    and (
                        not self._gradient
                        or self._inert(base_node, frame, 0)
                        or self._of_keras_labels(base_node, frame)
                    )
                )
            ):
                self._hazard(
                    "power",
                    node,
                    frame,
                    f"{_operand(base_node)} ** {_fmt(p)}: a fractional power has an infinite "
                    f"gradient at 0 and is NaN below it, and {_text(base_node)} can be 0 "
                    f"({base.reason or 'nothing keeps it positive'}): use ops.maximum(x, eps) ** p",
                )
                return _reported(Range(0.0, INF), node, "power", frame)
            if p < 0 and base.may_be_zero():
                self._hazard(
                    "power",
                    node,
                    frame,
                    f"{_operand(base_node)} ** {_fmt(p)}: a negative power of a value that can be "
                    f"0 ({base.reason or 'nothing keeps it away from 0'}) is inf; add a small "
                    "constant",
                    nan=base.lo < 0,
                )
                return _reported(Range(0.0, INF), node, "power", frame)
        if p > 0 and base is not None and (base.lo > 0 or (base.lo == 0 and base.lo_open)):
            # A positive base (a configured ``sigma`` set from a positive default) stays positive.
            return Range(_fpow(base.lo, p), _fpow(base.hi, p), base.lo_open, base.hi_open)
        if p < 0 and base is not None and base.lo > 0:
            # And so it does to a negative power (``epsilon = 10**-7``), which only an infinite
            # base takes to 0.
            high = _fpow(base.hi, p)
            return Range(high, _fpow(base.lo, p), base.hi_open or high == 0.0, base.lo_open)
        if base is None and _setting(base_node, frame):
            # ``size ** 2`` with ``size = img_height * img_width``, module-level settings the
            # index could not evaluate (an image's dimensions): a setting is 0 only if a user
            # sets it so (see _settings), and its square is no more known than it is.
            return None
        if _is_integer(p) and int(p) % 2 == 0 and p > 0:
            if base is not None and base.nonzero:
                return Range(0.0, INF, lo_open=True)  # of a value kept off 0, as _square
            reason = base.reason if base else "an even power is 0 at 0"
            return Range(0.0, INF, reason=reason or "an even power is 0 at 0")
        if base is not None and base.lo >= 0:
            return Range(0.0, INF, reason=base.reason)
        return None

    # -- calls -----------------------------------------------------------------------------

    def _inert(self, node: ast.expr, frame: _Frame, depth: int) -> bool:
        """Whether ``node`` is computed from numbers and random draws alone, through names this
        function bound: no gradient reaches it, so an infinite derivative there is never used
        (a diffusion model's ``noise_rates = tf.random.uniform(...) ** 0.5``)."""
        if depth > 8:
            return False
        if isinstance(node, ast.Constant):
            return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
        if isinstance(node, ast.Name):
            source = frame.sources.get(node.id)
            return source is not None and self._inert(source, frame, depth + 1)
        if isinstance(node, ast.BinOp):
            return self._inert(node.left, frame, depth + 1) and self._inert(
                node.right, frame, depth + 1
            )
        if isinstance(node, ast.UnaryOp):
            return self._inert(node.operand, frame, depth + 1)
        if isinstance(node, ast.Call):
            target = names.qualify(node.func, frame.module.imports) or ""
            module = target.rpartition(".")[0]
            return (
                module in _RANDOM_MODULES
                and all(self._inert(a, frame, depth + 1) for a in node.args)
                and all(
                    self._inert(k.value, frame, depth + 1)
                    for k in node.keywords
                    if k.arg not in ("shape", "size", "dtype", "seed")
                )
            )
        return False

    def _drawn(self, node: ast.expr, frame: _Frame) -> bool:
        """Whether ``node`` is a draw from a continuous distribution, as written or through the
        name this function bound it to: ``tf.random.normal(shape)``, ``keras.random.uniform(
        shape, -1.0, 1.0)``, ``np.random.randn(n, d)``. A uniform draw between two equal bounds
        is a constant, not a draw."""
        node = self._source(node, frame, steps=8)
        if not isinstance(node, ast.Call):
            return False
        target = names.qualify(node.func, frame.module.imports) or ""
        module, _, last = target.rpartition(".")
        module = ops.tensor_module(module)
        if module == "tensorflow" and last in ("random_normal", "random_uniform"):
            return True  # TF 1's names
        if module not in _RANDOM_MODULES or last not in _CONTINUOUS_DRAWS:
            return False
        bounds = self._uniform(node, frame) if last == "uniform" else None
        return bounds is None or bounds.lo < bounds.hi

    def _op(self, func: ast.expr, frame: _Frame) -> str | None:
        """The catalogue's range transfer for a tensor-math function, None if not one."""
        target = names.qualify(func, frame.module.imports)
        if target is not None and target.rpartition(".")[2] == "epsilon":
            # ``ops.epsilon()`` of a backend shim, ``K.epsilon()``: a small positive constant,
            # whichever module the project takes it from.
            return "epsilon"
        if target is None:
            # Python's ``abs(y_true - y_pred)`` of a tensor is tf.abs.
            builtin = isinstance(func, ast.Name) and func.id == "abs"
            if builtin and "abs" not in frame.module.top_level:
                return "abs"
            if isinstance(func, ast.Name) and func.id not in frame.local_functions:
                # The module's own ``def sigmoid(x): return 1 / (1 + tf.exp(-x))``.
                own = self._wrapped_op(f"{frame.module.module}.{func.id}")
                return own if own == "sigmoid" else None
            return None
        # Or through a backend shim of the project (``keras_cv.src.backend.ops.log``).
        return (
            _op_of(target)
            or next(
                (op for external in self.project.external(target) if (op := _op_of(external))),
                None,
            )
            or self._wrapped_op(target)
        )

    def _wrapped_op(self, target: str) -> str | None:
        """A project function that only hands its parameters, in order, to one library op
        (a backend shim's ``def logsumexp(x, axis=None, keepdims=False): return
        tf.math.reduce_logsumexp(x, axis=axis, keepdims=keepdims)``): that op; or one that
        returns the sigmoid of its parameter written out (``def sigmoid(x): return 1 / (1 +
        tf.exp(-x))``): ``sigmoid``, with what a sigmoid reports where it is applied (to a
        compiled output that already ends in one). By the name called, once each."""
        if target in self._wrappers:
            return self._wrappers[target]
        op = None
        qualname = self.project._lookup(target)
        if qualname is not None and qualname in self.project.functions:
            module, function = self.project.functions[qualname]
            call = _passes_through(function.node)
            if call is not None:
                inner = names.qualify(call.func, module.imports)
                op = _op_of(inner) if inner is not None else None
            # Only ops that report nothing where they are called: a wrapped log keeps its
            # findings in the wrapper, where the helper's interpretation puts them.
            if op not in _TRANSPARENT_OPS:
                op = None
            if op is None and _sigmoid_formula(function.node, module.imports):
                op = "sigmoid"
        self._wrappers[target] = op
        return op

    def _uniform(self, node: ast.Call, frame: _Frame) -> Range | None:
        """A uniform draw between two known bounds: ``tf.random.uniform(shape, minval=0.0,
        maxval=1.0)`` (a diffusion model's times), ``keras.random.uniform``,
        ``np.random.uniform(low, high)``. None for any other call, or unknown bounds."""
        target = names.qualify(node.func, frame.module.imports)
        if target is None:
            return None
        module, _, last = target.rpartition(".")
        module = ops.tensor_module(module)
        if last != "uniform" or module not in _RANDOM_MODULES:
            return None
        if module == "numpy.random":
            spelled, positions, defaults = ("low", "high"), (0, 1), (0.0, 1.0)
        elif module == "random":
            spelled, positions, defaults = ("a", "b"), (0, 1), (0.0, 1.0)
        else:
            spelled, positions, defaults = ("minval", "maxval"), (1, 2), (0.0, 1.0)
        bounds = []
        for keyword, position, default in zip(spelled, positions, defaults, strict=True):
            given = next((k.value for k in node.keywords if k.arg == keyword), None)
            if given is None and len(node.args) > position:
                given = node.args[position]
            if given is None:
                bounds.append(default)
                continue
            known = self.expr(given, frame)  # a literal, or a module's setting (``MAX_T``)
            if known is None or not known.is_constant:
                return None
            bounds.append(known.lo)
        low, high = bounds
        return Range(low, high) if low <= high else None

    def _flattening_layer(self, node: ast.Call, frame: _Frame) -> bool:
        """``tf.layers.flatten(x)`` or ``keras.layers.Flatten()(x)``: values unchanged."""
        func = node.func
        built = func.func if isinstance(func, ast.Call) else func
        target = names.qualify(built, frame.module.imports)
        if target is None:
            return False
        module, _, last = target.rpartition(".")
        module = ops.tensor_module(module)
        if isinstance(func, ast.Call):
            return module == "keras.layers" and last == "Flatten"
        return module == "tensorflow.layers" and last == "flatten"

    def _self_mask(
        self, mask: ast.expr, value_node: ast.expr, frame: _Frame, depth: int
    ) -> tuple[str, float] | None:
        """``(op, bound)`` where ``mask`` compares the value itself with a number (``n > 0``
        of ``n[n > 0]``, ``y > MIN_STABLE_VALUE``): the elements it selects hold ``op bound``
        (known positive even where ``n`` is not known); None for any other mask."""
        if (
            isinstance(mask, ast.Compare)
            and len(mask.ops) == 1
            and type(mask.ops[0]) in _SYMBOLS
            and _same_value(mask.left, value_node)
            and (bound := self._threshold(mask.comparators[0], frame, depth)) is not None
        ):
            return _SYMBOLS[type(mask.ops[0])], bound
        return None

    def _threshold(self, node: ast.expr, frame: _Frame, depth: int) -> float | None:
        """A number written, or a constant of the project (``MIN_STABLE_VALUE``), else None."""
        written = _number(node)
        if written is not None:
            return written
        value = self.expr(node, frame, depth + 1)
        return value.lo if value is not None and value.is_constant else None

    def _lambda_layer(self, node: ast.Call, frame: _Frame) -> ast.Call | None:
        """``Lambda(get_loss)([y_pred, y_true])``, a Lambda layer built and applied at once or
        bound to a name and applied (the Keras 2 idiom of a loss computed in the model, handed
        to ``add_loss`` or to a compiled ``lambda y_true, y_pred: y_pred``): the call of its
        function that the layer makes, with the ``arguments=`` it is given, on the same place.
        None for any other call."""
        built: ast.expr | None = node.func
        if isinstance(built, ast.Name):  # ``loss_layer = Lambda(bpr_loss)``, then applied
            built = self._named_value(built.id, frame)
        if not isinstance(built, ast.Call) or not node.args:
            return None
        target = names.qualify(built.func, frame.module.imports)
        if target is None:
            return None
        module, _, last = target.rpartition(".")
        if last != "Lambda" or ops.tensor_module(module) != "keras.layers":
            return None
        function = names.argument(built, 0, "function")
        if not isinstance(function, (ast.Name, ast.Attribute)):
            return None
        name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", "")
        if not any(word in name.lower() for word in ("loss", "cost")):
            # A layer of the model's forward pass (a VAE's ``sampling``): not loss code.
            return None
        made = self._lambda_calls.get(id(node))
        if made is None:
            arguments = names.argument(built, 99, "arguments")
            keywords = []
            if isinstance(arguments, ast.Dict):
                keywords = [
                    ast.keyword(arg=key.value, value=value)
                    for key, value in zip(arguments.keys, arguments.values, strict=True)
                    if isinstance(key, ast.Constant) and isinstance(key.value, str)
                ]
            made = ast.copy_location(ast.Call(function, node.args[:1], keywords), node)
            self._lambda_calls[id(node)] = made
        return made

    def _layer_activation(self, node: ast.Call, frame: _Frame) -> str | None:
        """The catalogue op of the activation that a layer applied here ends with, whatever its
        input: a TF 1 functional layer (``tf.layers.dense(x, n, tf.nn.softmax)``, the
        ``activation=`` of any ``tf.layers`` function) or a Keras layer built and applied at
        once (``layers.Dense(n, activation="softmax")(x)``). None for any other call, and for
        a layer whose activation is not given or not known."""
        func = node.func
        built = func if isinstance(func, ast.Call) else node
        target = names.qualify(built.func, frame.module.imports)
        if target is None:
            return None
        module, _, last = target.rpartition(".")
        module = ops.tensor_module(module)
        if isinstance(func, ast.Call):
            if module != "keras.layers" or not last[:1].isupper():
                return None
            position = 1 if last == "Dense" else None
        elif module == "tensorflow.layers" and last[:1].islower():
            position = 2 if last == "dense" else None
        else:
            return None
        given = next((k.value for k in built.keywords if k.arg == "activation"), None)
        if given is None and position is not None and len(built.args) > position:
            given = built.args[position]
        if isinstance(given, ast.Constant) and isinstance(given.value, str):
            entry = ops.function(given.value)
            return entry.range if entry is not None and entry.range != "unknown" else None
        if given is None or isinstance(given, ast.Constant):
            return None
        applied = names.qualify(given, frame.module.imports)
        return _op_of(applied) if applied is not None else None

    def _passed_ops(self, func: ast.expr, frame: _Frame) -> list[str] | None:
        """``activation_function(x)`` where ``activation_function`` is a parameter of the
        function being run: the catalogue ops that its callers pass for it (``tf.nn.relu``),
        when every caller that passes one passes a known op."""
        if not isinstance(func, ast.Name) or func.id in frame.local_functions:
            return None
        if func.id in frame.callables:  # this call of the function says which
            return [frame.callables[func.id]]
        found = self.project.functions.get(frame.qualname)
        if found is None or func.id not in found[1].params:
            return None
        param = Param(func.id, found[1].params.index(func.id), None)
        passed = self.project.passed(frame.qualname, param)
        result = [_op_of(target) for target in passed]
        if not result or any(op is None or op in _NOT_APPLIED for op in result):
            return None
        return [op for op in result if op is not None]

    def _monitoring(self, node: ast.Call, frame: _Frame) -> bool:
        """A call that only shows a value (a summary, a print, a log line): what it computes
        from its arguments reaches no loss and no gradient."""
        if isinstance(node.func, ast.Name) and node.func.id == "print":
            return True
        target = names.qualify(node.func, frame.module.imports)
        if target is None:
            return False
        return target == "tensorflow.print" or target.startswith(_MONITORING)

    def _fed_value(self, node: ast.Call, frame: _Frame) -> Range | None:
        """A TF1 placeholder is fed any value, and a trained variable takes any sign: like
        ``y_pred``, they are inputs of the loss, not values the code bounds."""
        target = names.qualify(node.func, frame.module.imports)
        if target is None or not target.startswith("tensorflow"):
            return None
        last = target.rpartition(".")[2]
        if last == "placeholder":
            return Range(-INF, INF, reason="a placeholder, fed any value", source=True)
        if last in ("Variable", "get_variable"):
            initial = node.args[0] if node.args else None
            for keyword in node.keywords:
                if keyword.arg in ("initial_value", "initializer"):
                    initial = keyword.value
            start = _number(initial)
            if start is not None and start != 0.0:
                # ``tau = tf.Variable(5.0)``: a scalar set by hand (a temperature, a schedule
                # fed or assigned), or trained from there: it keeps its sign in practice. A
                # bias starting at 0 has any sign from the first step.
                return (
                    Range(0.0, INF, lo_open=True) if start > 0 else Range(-INF, 0.0, hi_open=True)
                )
            return Range(-INF, INF, reason="a trained variable, of any sign")
        return None

    def _method(self, func: ast.expr, frame: _Frame) -> ops.Op | None:
        """A tensor method of the catalogue (``x.clamp(min=eps)``), not a module function."""
        if not isinstance(func, ast.Attribute):
            return None
        if names.qualify(func, frame.module.imports) is not None:
            return None
        return ops.method(func.attr)

    def _call(self, node: ast.Call, frame: _Frame, depth: int) -> Range | None:
        if self._monitoring(node, frame):
            return None  # ``tf.summary.image(..., tf.pow(weights, 0.2))``: shown, never trained
        fed = self._fed_value(node, frame)
        if fed is not None:
            self._args(node, frame, depth)
            return fed
        drawn = self._uniform(node, frame)
        if drawn is not None:
            self._args(node, frame, depth)
            return drawn
        self._crossentropy_given(node, frame, depth)
        mapped = self._mapped(node, frame, depth)
        if mapped is not None:
            return mapped[0]
        op = self._op(node.func, frame)
        if op == "extreme":
            op = _pairwise_extreme(node, frame) or op
        if names.qualify(node.func, frame.module.imports) in _IDENTITY_MATRICES:
            op = "eye"  # ``ops.identity(n)`` makes a matrix; ``tf.identity(x)`` copies x
        method = self._method(node.func, frame) if op is None else None
        if method is not None and method.range != "unknown":
            assert isinstance(node.func, ast.Attribute)
            receiver = self.expr(node.func.value, frame, depth + 1)
            args = [node.func.value, *node.args]
            values = [receiver, *self._args(node, frame, depth)]
            result = self._apply(method.range, node, args, values, frame)
            return _carry(result, *values)
        if op is None and method is None:
            passed = self._passed_ops(node.func, frame)
            if passed is not None:
                values = self._args(node, frame, depth)
                joined: Range | None = None
                for index, each in enumerate(passed):
                    applied = self._apply(each, node, list(node.args), values, frame)
                    joined = applied if index == 0 else _join(joined, applied)
                return _carry(joined, *values)
        if op is None:
            if self._flattening_layer(node, frame) and node.args:
                # ``tf.layers.flatten(grad)``: the same values, one row per sample.
                return self._args(node, frame, depth)[0]
            activation = self._layer_activation(node, frame)
            if activation is not None:
                self._args(node, frame, depth)  # the layer's input, for what it reports
                return self._apply(activation, node, list(node.args[:1]), [None], frame)
            error = self._regression_error(node, frame)
            if error is not None:
                self._args(node, frame, depth)
                return Range(0.0, INF, reason=f"{error}, 0 where the prediction is exact")
            measured = self._metric_result(node, frame)
            if measured is not None:
                return measured
            if self._keras_cosine(node, frame):  # ``-keras.losses.cosine_similarity(y, p)``
                self._args(node, frame, depth)
                return self._apply("cosine", node, [], [], frame)
            output = self._applied_model(node, frame)
            if output is not None:
                self._args(node, frame, depth)
                return output
            layered = self._lambda_layer(node, frame)
            if layered is not None:
                return self._helper(layered, frame, depth)
            return self._helper(node, frame, depth)
        if op == "where" and (parts := _where_parts(node)) is not None:
            return self._where(node, parts, frame, depth)
        if op == "cond":
            return self._cond(node, frame, depth)
        # ``tf.convert_to_tensor(value=1e-7, ...)``, ``tf.math.log(x=p)``: the input by keyword.
        primary = _primary_keyword(node)
        values = self._args(node, frame, depth, primary)
        if op == "sanitize":
            self._handled(values[0] if values else None)
            return None
        args = list(node.args) if primary is None else [primary]
        result = self._apply(op, node, args, values, frame)
        return _carry(result, *values)

    def _mapped(self, node: ast.Call, frame: _Frame, depth: int) -> tuple[Range | None] | None:
        """``tf.map_fn(f, elems)`` (``vectorized_map``, ``keras.ops.map``): the project
        function ``f`` run on each row of ``elems``, whose range is the tensor's; on each row of
        several tensors mapped together (``map_fn(f, (y_true, start, end))``, BiDAF's span
        loss), ``f`` unpacking its one parameter into them (``labels, start, end = rows``)
        gets each its own. What ``f`` returns, in a 1-tuple; None for any other call."""
        name = names.qualify(node.func, frame.module.imports) or ""
        module, _, last = name.rpartition(".")
        if last not in ops.MAPS or module not in names.TENSOR_MATH_MODULES:
            return None
        found = self._mapped_function(node, frame)
        if found is None:
            self._args(node, frame, depth)  # for what the mapped values report
            return (None,)
        owner, qualname, function, params, rows, local = found
        bound = {p: self.expr(row, frame, depth + 1) for p, row in zip(params, rows, strict=False)}
        labels = frozenset(
            p for p, row in zip(params, rows, strict=False) if self._of_keras_labels(row, frame)
        )
        enclosing = frame.local_functions if local else None
        configured = frame.configured - set(params) if local else set()
        result = self.function(
            owner,
            qualname,
            function,
            bound,
            frame.class_name,
            None,
            None,
            enclosing,
            None,
            labels,
            frozenset(configured),
        )
        return (result,)

    def _mapped_function(
        self, node: ast.Call, frame: _Frame
    ) -> (
        tuple[
            ModuleIndex,
            str,
            ast.FunctionDef | ast.AsyncFunctionDef,
            list[str],
            list[ast.expr],
            bool,
        ]
        | None
    ):
        """For :meth:`_mapped`: the project function mapped (its module, qualified name,
        definition, parameters), the rows it is given and whether it is defined in the calling
        scope; None where the function or the rows are not known."""
        given = {k.arg: k.value for k in node.keywords if k.arg}
        fn = node.args[0] if node.args else given.get("fn", given.get("f"))
        elems = node.args[1] if len(node.args) > 1 else given.get("elems", given.get("xs"))
        if not isinstance(fn, ast.Name) or elems is None:
            return None
        target = self._callee(ast.Call(func=fn, args=[], keywords=[]), frame)
        if target is None:
            return None
        owner, qualname, function, local = target
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        rows = list(elems.elts) if isinstance(elems, (ast.Tuple, ast.List)) else [elems]
        params = [a.arg for a in [*function.args.posonlyargs, *function.args.args]]
        if len(rows) > 1:
            key = (id(function), len(rows))
            if key not in self._row_functions:
                self._row_functions[key] = (function, _unpacked_parameter(function, len(rows)))
            unpacked = self._row_functions[key][1]
            if unpacked is None:
                return None
            function, params = unpacked
            qualname += "#rows"  # (not the function's memo: its parameters differ)
        if len(params) < len(rows):
            return None
        return owner, qualname, function, params, rows, local

    def _crossentropy_given(self, node: ast.Call, frame: _Frame, depth: int) -> None:
        """A crossentropy given the other kind of values than it takes: probabilities where it
        takes logits (see _logits_given), logits where it takes probabilities (see
        _probabilities_given). The callee is resolved once for both."""
        qualified = names.qualify(node.func, frame.module.imports)
        made = self._crossentropy_object(node, frame) if qualified is None else None
        self._logits_given(node, frame, depth, qualified, made)
        self._probabilities_given(node, frame, qualified, made)

    def _logits_given(
        self,
        node: ast.Call,
        frame: _Frame,
        depth: int,
        qualified: str | None,
        made: _LossObject | None,
    ) -> None:
        """A softmax or sigmoid given where a crossentropy takes logits: a ``*_with_logits``
        op, TF 1's ``tf.losses.softmax_cross_entropy``, a Keras crossentropy (function or
        object) with ``from_logits=True``. The loss applies the activation again, so it trains
        on a flattened, wrong objective (LL107's defect, written in the loss code itself)."""
        found = self._logits_argument(node, qualified, made)
        if found is None:
            return
        loss, argument, keras, given = found
        value = self.expr(argument, frame, depth + 1)
        if given is not None and value is not None and value.normalizer is not None:
            # ``distiller.compile(student_loss_fn=CategoricalCrossentropy(from_logits=True))``
            # for a student ending in softmax: reported where the loss is given.
            call, module = given
            self._emit(
                Hazard(
                    "logits",
                    module.path,
                    node_span(call, module.lines),
                    f"{loss} is given to {_text(node.func, 40)}, which applies it to "
                    f"{_text(argument)}, a {value.normalizer} output: the loss applies "
                    f"{value.normalizer} a second time ({LOGITS_SUBSTITUTED}), so it trains on a "
                    f"flattened objective; use from_logits=False, or drop the model's "
                    f"{value.normalizer}",
                ),
                nan=False,
            )
            return
        # Keras's own crossentropies substitute the logits on TensorFlow (with a warning) when
        # Keras made the activation; TensorFlow's ops never do (keras-facts §31).
        substituted = f" ({LOGITS_SUBSTITUTED})" if keras else ""
        undo = ", or use from_logits=False" if keras else ""
        if value is not None and value.compiled is not None:
            # The output itself, or with some entries filled with a number (a mask).
            activation, where = value.compiled
            if self._first_squash(where, frame):
                self._hazard(
                    "logits",
                    argument,
                    frame,
                    f"{_text(argument)} is {where}, which already ends in {activation}; {loss} "
                    f"takes it as logits and applies {activation} a second time{substituted}, "
                    f"so the loss trains on a flattened objective; drop the output's "
                    f"{activation} and keep the logits{undo}",
                    nan=False,
                )
            return
        if value is None or value.normalizer is None:
            return
        if loss in _LOGITS_DISTRIBUTIONS:
            # ``tfp.distributions.Categorical(action_probs)``: its first parameter is logits.
            self._hazard(
                "logits",
                argument,
                frame,
                f"{_text(argument)} is a {value.normalizer} output, given to {loss} as logits "
                f"(its first parameter): the distribution applies {value.normalizer} a second "
                "time, so its probabilities, log-probabilities and entropy are flattened; pass "
                f"it as probs={_text(argument, 24)}, or the values before the {value.normalizer}",
                nan=False,
            )
            return
        self._hazard(
            "logits",
            argument,
            frame,
            f"{_text(argument)} is a {value.normalizer} output, given to {loss} as logits: "
            f"the loss applies {value.normalizer} a second time{substituted}, so it trains on a "
            f"flattened objective; pass the values before the {value.normalizer}{undo}",
            nan=False,
        )

    def _probabilities_given(
        self,
        node: ast.Call,
        frame: _Frame,
        qualified: str | None,
        loss_object: _LossObject | None,
    ) -> None:
        """A model's output without an activation given to a Keras crossentropy that takes
        probabilities (``loss_fn = SparseCategoricalCrossentropy()``, then ``loss_fn(y,
        model(x))`` in a training step): Keras clips the logits as probabilities, so the loss
        is wrong and no gradient flows where they are clipped. LL107's defect written in a
        custom training loop, where no compile shows the pair."""
        found = self._probabilities_argument(node, qualified, loss_object)
        if found is None:
            return
        loss, family, argument = found
        applied = argument
        if isinstance(applied, ast.Name):  # ``logits = model(x, training=True)``
            applied = frame.sources.get(applied.id, applied)
        model = None
        if isinstance(applied, ast.Call):
            model = self._applied_model_fact(applied, frame)
        elif isinstance(applied, ast.Name):
            # ``def generator_loss(fake_output)``, called with ``discriminator(images)`` in the
            # training step (TensorFlow's DCGAN tutorial), the model bound at module level.
            passed = self._passed_call(applied.id, frame)
            if passed is not None and isinstance(passed[0].func, ast.Name):
                made = bound_once(passed[1], passed[0].func.id)
                if isinstance(made, ast.Call):
                    model = self._made_model(made, passed[1])
                    applied = passed[0]
        if not isinstance(applied, ast.Call):
            return
        if model is None or len(model.outputs) != 1 or model.outputs[0].activation != "linear":
            return
        self._hazard(
            "logits",
            argument,
            frame,
            f"{_text(argument)} is the output of {_text(applied.func, 32)}, which has no "
            f"activation (logits), given to {loss}, which expects probabilities: Keras "
            f"{clipped_as_probabilities(family)}, so the loss is wrong and no gradient flows "
            f"where the values are clipped; pass from_logits=True to the loss or end the model "
            f"with {normalizer(family)}",
            nan=False,
        )

    @staticmethod
    def _probabilities_argument(
        node: ast.Call, qualified: str | None, made: _LossObject | None
    ) -> tuple[str, str, ast.expr] | None:
        """``(the loss as written, its family, the argument it takes as probabilities)`` for
        a call of a Keras crossentropy whose ``from_logits`` is left out or False: a function
        (``keras.losses.binary_crossentropy(y, p)``, ``qualified``) or an object of a
        crossentropy class (``BinaryCrossentropy()(y, p)``, or made by a name's source:
        ``made``); else None."""
        if qualified is not None:
            module, _, name = qualified.rpartition(".")
            if module not in CROSSENTROPY_MODULES or name not in CROSSENTROPY_FUNCTIONS:
                return None
            if not _probabilities(_given(node, 2, "from_logits")):
                return None
            argument = _given(node, 1, "y_pred", "output")
            loss = _text(node.func, 40)
        else:
            if made is None or not _probabilities(_given(made[0][0], 0, "from_logits")):
                return None
            name = made[1]
            argument = _given(node, 1, "y_pred")
            loss = f"{name}()"
        family = CROSSENTROPY_FAMILIES.get(name)
        if argument is None or family is None:
            return None
        return loss, family, argument

    def _crossentropy_object(self, node: ast.Call, frame: _Frame) -> _LossObject | None:
        """For a call of a loss object (``loss_fn(y, p)``): the call that made it, with the
        module it is written in, and the Keras crossentropy class it is of; None for any other
        call."""
        if _given(node, 1, "y_pred") is None:  # not a loss object's call
            return None
        made = self._maker(node.func, frame)
        if made is None:
            return None
        qualified = names.qualify(made[0].func, made[1].imports) or ""
        module, _, name = qualified.rpartition(".")
        return (made, name) if module == "keras.losses" and name in _CROSSENTROPY_CLASSES else None

    def _logits_argument(
        self, node: ast.Call, qualified: str | None, made: _LossObject | None
    ) -> tuple[str, ast.expr, bool, tuple[ast.Call, ModuleIndex] | None] | None:
        """``(the loss as written, the argument it takes as logits, whether it is Keras's,
        the call making the loss object where a caller gives it)`` for a call of a loss on
        logits (see _logits_given; ``qualified`` names the function called, ``made`` the
        crossentropy object called), else None."""
        loss, argument, keras = "", None, True
        given: tuple[ast.Call, ModuleIndex] | None = None
        if qualified is not None:
            module, _, name = qualified.rpartition(".")
            module = ops.tensor_module(module)
            if name in _LOGITS_OPS.get(module, ()):
                loss, argument, keras = _text(node.func, 40), _given(node, 1, "logits"), False
            elif module.startswith("tensorflow_probability") and name in _LOGITS_DISTRIBUTIONS:
                loss, argument, keras = name, _given(node, 0, "logits"), False
            elif (
                module in CROSSENTROPY_MODULES
                and name in CROSSENTROPY_FUNCTIONS
                and names.is_true(_given(node, 2, "from_logits"))
            ):
                loss = f"{_text(node.func, 40)}(from_logits=True)"
                argument = _given(node, 1, "y_pred", "output")
        else:
            if made is None:
                return None
            maker, name = made
            if names.is_true(_given(maker[0], 0, "from_logits")):
                loss, argument = f"{name}(from_logits=True)", _given(node, 1, "y_pred")
                if id(maker[0]) in self._given:
                    given = maker
        return (loss, argument, keras, given) if argument is not None else None

    def _where(
        self,
        node: ast.Call,
        parts: tuple[ast.expr, ast.expr, ast.expr],
        frame: _Frame,
        depth: int,
    ) -> Range | None:
        """``where(c, a, b)``: ``a`` where ``c`` holds, ``b`` where it does not."""
        condition, when_true, when_false = parts
        self.expr(condition, frame, depth + 1)
        branches = []
        for branch, truth in ((when_true, True), (when_false, False)):
            saved = dict(frame.env), dict(frame.refined)
            self._guard(condition, truth, frame)
            if (
                self._gradient
                and not self._probing
                and (frame.env != saved[0] or frame.refined != saved[1])
                and not self._is_numpy(node.func, frame)
            ):
                self._where_trap(condition, truth, branch, saved, frame, depth)
            branches.append(self.expr(branch, frame, depth + 1))
            frame.env, frame.refined = saved
        self._finite_test(condition, frame)
        return _join(branches[0], branches[1])

    def _where_trap(
        self,
        condition_node: ast.expr,
        truth: bool,
        branch: ast.expr,
        unguarded: tuple[dict[str, Range | None], dict[str, tuple[Range | None, frozenset[str]]]],
        frame: _Frame,
        depth: int,
    ) -> None:
        """The where-gradient trap: ``where(x > 0, log(x), 0)`` has the right value, but
        ``log(x)`` is still computed where ``x <= 0``; its gradient there is inf and ``where``
        sends ``0 * inf = NaN`` back. A hazard that only the ``where`` condition keeps away is
        reported, with the double-where fix (guard the argument itself). ``truth``: the value
        of the condition where ``branch`` is taken (``where(equal(g, 0), 0.0, g / f)`` divides
        where it is false)."""
        guarded = self._probe(branch, frame, depth)
        env, refined = frame.env, frame.refined
        frame.env, frame.refined = dict(unguarded[0]), dict(unguarded[1])
        try:
            bare = self._probe(branch, frame, depth)
        finally:
            frame.env, frame.refined = env, refined
        condition = _text(condition_node, 32)
        for key, (hazard, nan) in bare.items():
            if key in guarded or hazard.kind not in _TRAP_FIXES:
                continue
            found = self._at(branch, hazard.span, frame)
            if found is not None and self._label_only(found, frame):
                continue  # computed from the labels alone: no gradient flows through it
            if hazard.kind == "sqrt" and self._tensorflow_sqrt(found, frame):
                continue  # TensorFlow's sqrt gradient is 0 where the incoming gradient is 0
            argument = "d" if hazard.kind == "divide" else "x"
            kept = f"{argument}, 1" if truth else f"1, {argument}"
            fix = _TRAP_FIXES[hazard.kind].format(w=f"ops.where({condition}, {kept})")
            self._hazard_at(
                hazard.kind,
                hazard.span,
                frame,
                f"where-gradient trap: the where on {condition} hides the value of the "
                f"{_TRAP_NAMES[hazard.kind]} where {condition} {'fails' if truth else 'holds'}, "
                "not its gradient, which is "
                "inf or NaN there (0 * inf = NaN in training); guard the argument too, the double "
                f"where: {fix}",
                nan=nan,
            )

    def _at(self, branch: ast.expr, span: Span, frame: _Frame) -> ast.expr | None:
        """The expression of ``branch`` a hazard was reported at."""
        for node in subtree(branch):
            if isinstance(node, (ast.Call, ast.BinOp)) and self._span(node, frame) == span:
                return node
        return None

    def _label_only(self, node: ast.expr, frame: _Frame) -> bool:
        """Does ``node`` read the labels and no other parameter of the loss (through the names
        it is built from)? ``where(counts > 0, total / counts, 0)`` over ``y_true`` alone is a
        class weight, not something differentiated."""
        if not frame.labels:
            return False
        seen = {name for name, _ in _built_from(node, frame, _names)}
        pending = [earlier for name in seen for earlier in frame.rebound.get(name, ())]
        while pending:  # and what a name rebound from itself held before
            for name, _ in _built_from(pending.pop(), frame, _names):
                if name not in seen:
                    seen.add(name)
                    pending.extend(frame.rebound.get(name, ()))
        # A parameter with a positive default is a setting (``frame_length=1024``), not data.
        others = frame.params - frame.labels - frame.configured
        return bool(seen & frame.labels) and not (seen & others)

    def _reads_no_input(self, node: ast.expr, frame: _Frame) -> bool:
        """Whether ``node``, in a layer's code (a Lambda function, a layer class's ``call``), is
        made of that code's own constants alone (through the names it is built from, read
        other than through a shape): no parameter, no ``self``, no name bound outside it but
        the modules it imports, no name rebound from itself. A coordinate grid (``linspace``
        over a shape, a CoordConv layer's radius ``sqrt(xx ** 2 + yy ** 2)``) carries no
        gradient, so a sqrt at 0 there is harmless."""
        if frame.qualname not in self._layer_code:
            return False  # elsewhere a local may hold a model's output or a variable
        for name, read in _built_from(node, frame, names.unshaped_names):
            if read is None and (name not in frame.module.imports or name in frame.env):
                return False  # a parameter, ``self``, a global or closure: may be an input
            if read is not None and name in read:
                return False  # rebound from itself: what it was before is not kept
        return True

    def _of_keras_labels(self, node: ast.expr, frame: _Frame) -> bool:
        """:meth:`_label_only`, where the first tensor parameter is surely the labels: named so
        (``y_true``, ``y_gt``, ``target``), or the ``y_true`` Keras gives a ``Loss``'s ``call``.
        Two embeddings (``z1, z2`` of a contrastive loss) are both differentiated."""
        owner, _, method = frame.qualname.rpartition(".")
        keras_call = method == "call" and self.project.is_loss_class(owner)
        return (keras_call or frame.sure_labels or frame.labels <= TRUE_NAMES) and self._label_only(
            node, frame
        )

    def _standard_deviation(self, node: ast.Call, values: ast.expr, frame: _Frame) -> None:
        """``std(x)`` in differentiated loss code: the square root of a variance, whose
        gradient is NaN where the values it spreads over are all equal (``0 * inf``: a ReLU
        feature map's dead channel, a collapsed output), whatever is added to the result
        (``K.std(y_pred, axis=[1, 2]) + 1e-7``, an AdaIN style loss's normaliser). Not in a
        layer's own code (an instance normalisation of activations), nor of labels, numbers
        drawn at random, or NumPy's (no gradient). Nor in a training step's own scope,
        where a spread is mostly of what is not differentiated (returns normalised in a
        policy gradient, a gradient normalised after the tape, a logged statistic), or in the
        helpers it calls (``get_expected_return``'s normalised returns); a function named as a
        loss that the step calls is loss code, with what it calls (Barlow Twins' ``loss`` and
        its ``normalize`` of the embeddings). Nor where the spread is only logged
        (``tf.summary.scalar(name='std', data=reduce_std(x))``)."""
        if (
            self._gradient
            and self._in_loss_code()
            and not self._summarized(node, frame)
            and frame.qualname not in self._layer_code
            and not self._denominator(node, frame)
            and not self._numpy_call(node, frame)
            and not self._integer_only(node, frame)
            and not self._of_keras_labels(values, frame)
            and not self._drawn(values, frame)
        ):
            self._hazard(
                "sqrt",
                node,
                frame,
                f"{_text(node.func, 24)} of {_text(values)}, the square root of a variance: its "
                "gradient is NaN where the values are all equal (a constant channel or output), "
                "even with a constant added to the result; use "
                "ops.sqrt(ops.var(x, axis) + eps)",
            )

    def _in_loss_code(self) -> bool:
        """Whether the code interpreted now is loss code for what a training step's scope
        does not count as such: outside a step, or in a function named as a loss that the step
        calls (and what that calls)."""
        return self._record_frame is None or any(named_like_loss(q) for q in self._active)

    def _summarized(self, node: ast.expr, frame: _Frame) -> bool:
        """Whether ``node`` is given straight to a summary (``tf.summary.scalar(..., data=x)``,
        ``tf.compat.v2.summary.histogram``): logged, not trained on."""
        parents = self._scope_parents(frame) or {}
        parent = parents.get(node)
        if isinstance(parent, ast.keyword):
            parent = parents.get(parent)
        if not isinstance(parent, ast.Call):
            return False
        parts = names.dotted(parent.func) or []
        return "summary" in parts[:-1]

    def _denominator(self, node: ast.expr, frame: _Frame) -> bool:
        """Whether ``node`` is itself what something is divided by (``rmse / K.std(y_pred)``,
        ``divide(a, std(x))``): the division is the finding there (LL304), one per site."""
        parent = (self._scope_parents(frame) or {}).get(node)
        if isinstance(parent, ast.BinOp):
            return isinstance(parent.op, ast.Div) and parent.right is node
        return (
            isinstance(parent, ast.Call)
            and self._op(parent.func, frame) == "divide"
            and len(parent.args) == 2
            and parent.args[1] is node
        )

    def _tensorflow_sqrt(self, call: ast.expr | None, frame: _Frame) -> bool:
        if not isinstance(call, ast.Call):
            return False
        target = names.qualify(call.func, frame.module.imports) or ""
        return target.startswith(("tensorflow.", "tf_keras.", "keras.backend."))

    def _probe(
        self, node: ast.expr, frame: _Frame, depth: int
    ) -> dict[tuple[Span, str], tuple[Hazard, bool]]:
        """The hazards evaluating ``node`` would report, without reporting them."""
        saved = self.hazards, self._record, self._probing, self._nan
        self.hazards, self._probing, self._nan = {}, True, set()
        self._record = None if saved[1] is None else []
        try:
            self.expr(node, frame, depth + 1)
            found = list(self.hazards.values()) + [entry[0] for entry in self._record or []]
            return {
                (h.span, h.kind): (h, (h.path, h.span, h.kind) in self._nan)
                for h in found
                if h.path == frame.module.path
            }
        finally:
            self.hazards, self._record, self._probing, self._nan = saved

    def _cond(self, node: ast.Call, frame: _Frame, depth: int) -> Range | None:
        """``cond(pred, true_fn, false_fn)``: each branch function under its side of pred."""
        predicate = node.args[0] if node.args else None
        predicate = next((k.value for k in node.keywords if k.arg == "pred"), predicate)
        if len(node.args) < 3:
            self._args(node, frame, depth)
            if predicate is not None:
                self._finite_test(predicate, frame)  # ``cond(is_nan(v), ...)``, as where
            return None
        condition = node.args[0]
        self.expr(condition, frame, depth + 1)
        self._finite_test(condition, frame)
        results = []
        for branch, truth in ((node.args[1], True), (node.args[2], False)):
            saved = dict(frame.env), dict(frame.refined)
            self._guard(condition, truth, frame)
            if isinstance(branch, ast.Lambda) and not branch.args.args:
                results.append(self.expr(branch.body, frame, depth + 1))
            else:
                results.append(None)
            frame.env, frame.refined = saved
        return _join(results[0], results[1])

    def _finite_test(self, condition: ast.expr, frame: _Frame) -> None:
        """``where(is_nan(v), 0, v)``: the non-finite values of v are handled on purpose.
        ``is_inf`` does not catch NaN, so it handles only the hazards whose result is ±inf;
        ``is_nan`` does not catch ±inf, so it handles only those that can give NaN."""
        for call in subtree(self._source(condition, frame)):
            if not (isinstance(call, ast.Call) and call.args):
                continue
            name = self._call_name(call.func, frame)
            if name not in _FINITE_TESTS:
                continue
            tested = call.args[0]
            caught = "inf" if name in _INF_TESTS else "nan" if name in _NAN_TESTS else "both"
            self._handled(self._quiet(tested, frame), caught)
            # A value of no known range carries no hazards: those of the expression it was
            # computed by (``mcc = cov / sqrt(v)``), and those its names carry, are tested too.
            self._handled_within(tested, self._source(tested, frame), frame, caught)

    def _handled_within(self, tested: ast.expr, expr: ast.expr, frame: _Frame, caught: str) -> None:
        """Forget the hazards reported inside ``expr``, the expression ``tested`` was computed
        by, and those the names in ``tested`` carry (see :meth:`_handled`)."""
        where = node_span(expr, frame.module.lines)
        inside = [
            key
            for key in self.hazards
            if key[0] == frame.module.path
            and (key[1].line, key[1].column) >= (where.line, where.column)
            and (key[1].end_line, key[1].end_column) <= (where.end_line, where.end_column)
        ]
        inside += _carried(tested, frame)
        self._forget(inside, caught)

    def _taint(
        self,
        targets: Sequence[ast.expr],
        values: Sequence[ast.expr],
        before: set[tuple[str, Span, str]],
        frame: _Frame,
    ) -> None:
        """Record on each name assigned the hazards its value may carry (see _Frame.taints)."""
        carried = set(self.hazards).difference(before)
        for value in values:
            carried.update(_carried(value, frame))
        # Plain names only: ``self.a = x / n`` must not taint ``self`` (every ``self.b``).
        plain = [t for t in targets if isinstance(t, ast.Name)]
        plain += [
            e
            for t in targets
            if isinstance(t, (ast.Tuple, ast.List))
            for e in t.elts
            if isinstance(e, ast.Name)
        ]
        # Added to what the name carried before, not in place of it: the branches of an ``if``
        # are read one after the other, and ``weights`` bound to ``reciprocal(square(v))`` in
        # one, ``reciprocal(v)`` in another and ``ones_like(v)`` in a third carries the hazards
        # of all of them to a later ``where(is_inf(weights), ...)``.
        for name in (t.id for t in plain):
            if carried:
                frame.taints[name] = frame.taints.get(name, frozenset()) | frozenset(carried)

    def _handled(self, value: Range | None, caught: str = "both") -> None:
        """Forget the hazards whose non-finite result ``value`` carries: the code handles it
        (``caught``: "inf", only those that give ±inf and never NaN; "nan", only those that
        can give NaN; "both")."""
        if value is None or not value.pending:
            return
        self._forget(value.pending, caught)

    def _forget(self, keys: Iterable[tuple[str, Span, str]], caught: str) -> None:
        handled = [k for k in keys if caught == "both" or (k in self._nan) == (caught == "nan")]
        for key in handled:
            self.hazards.pop(key, None)
        if self._record is not None:
            pending = set(handled)
            self._record[:] = [
                entry
                for entry in self._record
                if (entry[0].path, entry[0].span, entry[0].kind) not in pending
            ]

    def _picked(
        self, args: list[ast.expr], values: list[Range | None], frame: _Frame
    ) -> tuple[bool, Range | None]:
        """A product with a matrix of literal numbers none of which is negative (``K.dot(
        K.constant([0, 1, 0], shape=(1, 3)), K.transpose(y_pred))``): a column picked, or a
        weighted sum of columns, of the other operand, whose sign it keeps. The other's range
        where the literal picks one column (one 1, the rest 0), 0 or more where that is known,
        unknown where it is; first, whether an operand is such a literal."""
        if len(args) != 2 or len(values) < 2:
            return False, None
        for side in (0, 1):
            numbers = _literal_numbers(self._literal_source(args[side], frame))
            if numbers is None or min(numbers) < 0:
                continue
            other = values[1 - side]
            if other is None:
                return True, None
            if sorted(numbers)[-2:] == [0.0, 1.0] and numbers.count(1.0) == 1:
                return True, other
            if other.lo >= 0:
                return True, Range(0.0, INF, reason=other.reason or "a weighted sum of values >= 0")
            return True, None
        return False, None

    def _literal_source(self, node: ast.expr, frame: _Frame) -> ast.expr:
        """The literal a tensor is built from: ``K.constant([...])``, ``np.array([...])``, the
        list itself, or a local name bound once to one of these."""
        for _ in range(3):
            if isinstance(node, ast.Name):
                bound = frame.sources.get(node.id)
                if bound is None:
                    return node
                node = bound
            elif isinstance(node, ast.Call) and node.args and _callee_name(node) in (
                "constant", "array", "asarray", "convert_to_tensor", "variable",
            ):  # fmt: skip
                node = node.args[0]
            else:
                return node
        return node

    def _args(
        self, node: ast.Call, frame: _Frame, depth: int, primary: ast.expr | None = None
    ) -> list[Range | None]:
        """The ranges of the positional arguments (or of ``primary``, the input given by
        keyword to a call without them); the keywords are evaluated for what they report."""
        ranges = [self.expr(a, frame, depth + 1) for a in node.args]
        for keyword in node.keywords:
            value = self.expr(keyword.value, frame, depth + 1)
            if keyword.value is primary:
                ranges.append(value)
        return ranges

    def _keyword(
        self, node: ast.Call, frame: _Frame, *keys: str
    ) -> tuple[ast.expr | None, Range | None]:
        for keyword in node.keywords:
            if keyword.arg in keys:
                return keyword.value, self.expr(keyword.value, frame)
        return None, None

    def _apply(
        self,
        op: str,
        node: ast.Call,
        args: list[ast.expr],
        values: list[Range | None],
        frame: _Frame,
    ) -> Range | None:
        first = values[0] if values else None
        first_node = args[0] if args else None
        if op == "identity" and _callee_name(node) == "boolean_mask" and first_node is not None:
            # ``boolean_mask(y_diff, y_diff > MIN_STABLE_VALUE)``, as ``y_diff[y_diff > ...]``.
            mask = names.argument(node, 1, "mask")
            if mask is not None:
                self._finite_test(mask, frame)  # ``boolean_mask(v, ~is_nan(v))``
            selected = None if mask is None else self._self_mask(mask, first_node, frame, 0)
            if selected is not None and first is not None:
                return refine(first, *selected)
        if _callee_name(node).startswith("nan") and op in ("sum", "mean", "extreme", "spread"):
            # ``np.nanmean(tp / support)``: the NaN of an empty class is skipped on purpose.
            self._handled(first, "nan")
            if first_node is not None:
                self._forget(_carried(first_node, frame), "nan")
        if op == "log":
            return self._log(first, first_node, node, frame, threshold=0.0)
        if op == "log1p":
            return self._log(first, first_node, node, frame, threshold=-1.0)
        if op in ("sqrt", "rsqrt"):
            # sqrt(0) is 0: only its gradient is infinite, which a metric never takes, and nor
            # does NumPy (rsqrt(0) is inf itself). Below 0 the value is NaN, but a metric's state
            # the analysis cannot bound (sums of squares) would read as "may be negative" there.
            if (
                first is not None
                and ((self._gradient and not self._numpy_call(node, frame)) or op == "rsqrt")
                and first_node is not None
                and _may_reach_zero(first)
                and not self._configured(first, first_node, frame)
                and not self._integer_only(node, frame)
                # Of the labels alone (``sqrt(y_true[..., 2:4])``, a YOLO box's true size): no
                # gradient flows through it, and sqrt(0) is 0.
                and not self._of_keras_labels(first_node, frame)
                and not self._reads_no_input(first_node, frame)
                and id(node) not in self._squared
            ):
                self._hazard(
                    "sqrt",
                    node,
                    frame,
                    f"sqrt of {_text(first_node)}, which can be 0 "
                    f"({first.reason or 'nothing keeps it positive'}): "
                    "its gradient there is infinite (NaN in training); use "
                    "ops.sqrt(ops.maximum(x, eps))",
                )
            if op == "rsqrt" or first is None:
                return None
            root = 0.0 if first.lo <= 0 else math.sqrt(first.lo)
            top = math.sqrt(first.hi) if 0 <= first.hi < INF else INF  # sqrt(2 * pi) is a number
            return Range(root, top, first.lo_open and first.lo >= 0, reason=first.reason)
        if op == "norm":
            if first is not None and first.diagonal:
                return Range(1.0, INF)  # an identity matrix: its norm is sqrt(n) >= 1
            if (
                first is None
                and isinstance(first_node, ast.BinOp)
                and isinstance(first_node.op, ast.Sub)
                and not _labels_pairwise(first_node, frame)
            ):
                # ``norm(twin1 - twin2)``: a distance, 0 for a pair of equal points (a siamese
                # pair of one image), as ``sqrt(sum(square(a - b)))`` is.
                first = Range(
                    -INF, INF, reason=f"0 where {_text(first_node.left, 24)} and "
                    f"{_text(first_node.right, 24)} are equal"
                )  # fmt: skip
            if first_node is not None and self._drawn(first_node, frame):
                # A random direction (``d = normal(shape); d /= norm(d)``): every entry of the
                # vector is 0 with probability (about) 0, so the norm is never 0 in practice.
                return Range(0.0, INF, lo_open=True)
            if (
                self._gradient
                and not self._numpy_call(node, frame)
                and first is not None
                and first_node is not None
                and first.may_be_zero()
                and _euclidean(node)
                and not self._integer_only(node, frame)
                and not self._of_keras_labels(first_node, frame)  # ``norm(y_true)``
                and not self._reads_no_input(first_node, frame)
                and id(node) not in self._squared
            ):
                self._hazard(
                    "sqrt",
                    node,
                    frame,
                    f"norm of {_text(first_node)}, which can be the zero vector "
                    f"({first.reason or 'nothing keeps it away from 0'}): its gradient is NaN "
                    "there on TensorFlow and JAX; use ops.sqrt(ops.maximum(ops.sum(x**2), eps))",
                )
            return Range(0.0, INF, reason="a norm, which is 0 for the zero vector")
        if op == "exp":
            if first is None:  # 0 only by underflow, whatever its input
                return Range(0.0, INF, reason=_EXP_UNDERFLOWS, underflow=True)
            if first.shifted:
                return Range(0.0, 1.0, reason=_EXP_UNDERFLOWS, sum_floor=1.0)
            overflow = self._span(node, frame) if first.hi == INF else None
            lo = 0.0 if first.lo < -80 else _fexp(first.lo)
            # exp of a value bounded above is bounded (float32 holds exp up to 88.7).
            hi = _fexp(first.hi) if first.hi <= 88.0 else INF
            return Range(
                lo,
                hi,
                reason=_EXP_UNDERFLOWS,
                overflow=overflow,
                numpy_overflow=self._is_numpy(node.func, frame),
                underflow=lo == 0.0,  # exp(x) for x >= -80 is a float32 above 0
            )
        if op == "divide":
            denominator_node = args[1] if len(args) > 1 else None
            if denominator_node is None:
                return None
            return self._divide(first, values[1], first_node, denominator_node, node, frame)
        if op == "reciprocal":
            if first_node is None:
                return None
            return self._divide(point(1.0), first, None, first_node, node, frame)
        if op == "divide_no_nan":
            # 0 where the denominator is 0: the quotient, with 0 added.
            second = values[1] if len(values) > 1 else None
            quotient = _quotient(first, replace(second, nonzero=True)) if second else None
            if second is not None and not second.may_be_zero():
                return quotient
            return _join(quotient, point(0.0, "divide_no_nan gives 0 where the denominator is 0"))
        if op == "reciprocal_no_nan":
            quotient = _quotient(point(1.0), replace(first, nonzero=True)) if first else None
            return _join(quotient, point(0.0, "reciprocal_no_nan gives 0 at 0"))
        if op == "multiply":
            second = values[1] if len(values) > 1 else None
            unknown = args[0] if first is None else args[1] if len(args) > 1 else None
            return _mul_any(first, second, self._handed_in(unknown, frame))
        if op == "add":
            if len(args) > 1 and self._exp_pair(args[0], args[1], frame):
                return _cosh_sum(first, values[1])
            return _add_any(first, values[1] if len(values) > 1 else None)
        if op == "subtract":
            if len(args) > 1 and self._is_max_of(args[1], args[0], frame):
                return Range(-INF, 0.0, shifted=True)  # ``tf.subtract(x, reduce_max(x))``
            second = values[1] if len(values) > 1 else None
            return _add_any(first, _negate(second) if second else None, guard=False)
        if op == "negative":
            return _negate(first) if first else None
        if op == "linear":
            operands = values[:2]
            if _callee_name(node) == "einsum":  # its first argument is the subscripts
                operands = values[1:3]
                if len(args) == 2 and operands and operands[0] is not None:
                    # ``einsum('ijk->', y ** 2)``: one operand, summed or transposed.
                    return _reduce_sum(operands[0])
            literal, picked = self._picked(args, values, frame)
            if literal:
                return picked
            known = [v for v in operands if v is not None]
            if len(known) == 1 and len(operands) > 1 and known[0].lo > 0:
                # ``K.dot(clipped_pred, P)`` with a transition matrix handed in: the sign is
                # the matrix's, which nothing here tells (a noise model's P is non-negative);
                # a factor that may be 0 (an underflowing softmax) still makes it 0.
                return None
            if len(known) == 2 and all(v.lo >= 0 for v in known):
                return Range(0.0, INF, reason="a product of non-negative matrices, 0 or more")
            return Range(-INF, INF, reason=f"{_text(node.func, 24)} is a linear map of any sign")
        if op == "diag":
            return _join(first, point(0.0, "zeros off the diagonal")) if first else None
        if op == "round":
            if first is None:
                return None
            lo = math.floor(first.lo) if math.isfinite(first.lo) else first.lo
            hi = math.ceil(first.hi) if math.isfinite(first.hi) else first.hi
            reason = first.reason if lo > 0 or hi < 0 else "rounded, 0 for small values"
            return Range(lo, hi, reason=first.reason if first.lo <= 0 <= first.hi else reason)
        if op == "spread":
            if _callee_name(node) in _STANDARD_DEVIATIONS and first_node is not None:
                self._standard_deviation(node, first_node, frame)
            return Range(0.0, INF, reason="a spread, 0 when the values are all equal")
        if op == "nonnegative":
            return Range(0.0, INF, reason=f"{_text(node.func, 24)} can be 0")
        if op == "at_least_one":
            return Range(1.0, INF)
        if op == "pow":
            if len(args) < 2 or first_node is None:
                return None
            return self._power(first, values[1], first_node, node, frame)
        if op == "square":
            return _square(first)
        if op == "abs":
            if first is not None and first.lo > 0:
                return first
            if first is not None and first.nonzero:
                return Range(0.0, INF, lo_open=True)
            return Range(
                0.0,
                INF,
                reason="an absolute value, which is 0 where its input is 0",
                row_sum=first.row_sum if first is not None and first.lo >= 0 else 0.0,
            )
        if op == "clip":
            low = (
                values[1]
                if len(values) > 1
                else self._keyword(
                    node, frame, "clip_value_min", "min", "x_min", "a_min", "min_value"
                )[1]
            )
            high_node, high = (
                (args[2], values[2])
                if len(values) > 2 and len(args) > 2
                else self._keyword(
                    node, frame, "clip_value_max", "max", "x_max", "a_max", "max_value"
                )
            )
            if low is None and len(args) > 1 and _configured(args[1], frame):
                # ``clip(std, self.std_bound[0], self.std_bound[1])``: a lower bound the class
                # is configured with, a guard as a reader takes it (0 only if set so).
                low = Range(0.0, INF, lo_open=True)
            if high is None and high_node is not None:
                # ``clip(y_pred, EPS, 1 - EPS)``: configured bounds, in the order written.
                high = _less_a_setting(high_node, frame)
                return _clip(first, low, high, ordered=high is not None)
            return _clip(first, low, high)
        if op == "maximum":
            second = values[1] if len(values) > 1 else self._keyword(node, frame, "min")[1]
            if second is None and len(args) > 1 and _configured(args[1], frame):
                # ``maximum(sigma, C1)`` with a floor the script or the object is configured
                # with, of a value the analysis cannot read: a guard as a reader takes it (0
                # only if set so), as clip's lower bound is.
                second = Range(0.0, INF, lo_open=True)
            return _maximum(first, second)
        if op == "minimum":
            return _minimum(first, values[1] if len(values) > 1 else None)
        if op in ("sigmoid", "softmax") and first is not None and first.compiled is not None:
            assert first_node is not None
            activation, where = first.compiled
            # ``sigmoid(y_pred)`` in a compiled loss
            if activation == op and first.source and self._first_squash(where, frame):
                self._hazard(
                    "logits",
                    node,
                    frame,
                    f"{op} of {_text(first_node)}, which is {where}, already ending in {op}: "
                    "the probabilities are taken for logits and squashed a second time, so the "
                    f"loss trains on a flattened objective; drop the output's {op} or this one",
                    nan=False,
                )
        elif op in ("sigmoid", "softmax") and first is not None and first.normalizer == op:
            assert first_node is not None
            # ``softmax(y_pred)`` where the network already ends in softmax: probabilities
            # taken for logits (LL107's defect, written in the loss code).
            self._hazard(
                "logits",
                node,
                frame,
                f"{op} of {_text(first_node)}, which is already a {op} output: the "
                f"probabilities are taken for logits and squashed a second time, so the loss "
                f"trains on a flattened objective; apply {op} once",
                nan=False,
            )
        elif op in ("sigmoid", "softmax") and first_node is not None:
            scaled = self._scaled_activation(first_node, op, frame)
            if scaled is not None:
                # ``softmax(teacher(x) / T)`` in a distillation loss, the teacher ending in
                # softmax: temperature scaling of probabilities, not of logits.
                self._hazard(
                    "logits",
                    node,
                    frame,
                    f"{op} of {_text(first_node)}, where {_text(scaled)} is already a {op} "
                    f"output: probabilities scaled by a temperature and squashed again are "
                    f"near-uniform, not the softened distribution, so the loss trains on a "
                    f"flattened objective; scale the values before the {op} (the logits)",
                    nan=False,
                )
        if op == "sigmoid" and first is not None and first.lo > -INF and first.hi < INF:
            # Of a bounded value (a sigmoid of a sigmoid output): within [sigmoid(lo),
            # sigmoid(hi)], away from 0 and 1 unless the bound is far out (float32 reaches 1
            # beyond about 17, 0 beyond about -88).
            floor = 0.0 if first.lo < -80 else 1.0 / (1.0 + math.exp(-first.lo))
            ceiling = 1.0 if first.hi > 16 else 1.0 / (1.0 + math.exp(-first.hi))
            return Range(
                floor,
                ceiling,
                reason=f"a sigmoid of a value in [{_fmt(first.lo)}, {_fmt(first.hi)}]",
            )
        if op == "sigmoid":
            return Range(
                0.0,
                1.0,
                reason="a sigmoid, which saturates to 0 and 1 in float32",
                normalizer="sigmoid",
                underflow=True,
            )
        if op == "softmax" and first is not None and first.hi - first.lo <= _SOFTMAX_SPREAD:
            # Of a bounded value (``softmax(clip(alpha, 1e-2, 1.0))``): each share is at least
            # exp(lo - hi) / n, far from float32's underflow for any real number of classes.
            floor = math.exp(first.lo - first.hi) / _MAX_CLASSES
            return Range(
                floor,
                1.0,
                reason=f"a softmax of a value in [{_fmt(first.lo)}, {_fmt(first.hi)}]",
                normalizer="softmax",
            )
        if op == "softmax":
            return Range(
                0.0, 1.0, reason="a softmax, which underflows to 0 in float32", normalizer="softmax"
            )
        if op == "softplus":
            # 0 only where float32 underflows, below about -100: a scale head's pre-activation
            # or a weight initialised near -3 never gets there (judged so on real code, unlike
            # ``exp`` of a squared distance). Positive, as a floor of 1e-6 would make it.
            return Range(0.0, INF, lo_open=True, reason="a softplus")
        if op == "nonpositive":
            return Range(-INF, 0.0)
        if op == "unit":
            return _trig(self._call_name(node.func, frame), first)
        if op == "odd_unit":  # tanh, softsign, erf, sign: in [-1, 1], and of the input's sign
            # Each reaches ±1 in float32 (tanh beyond about 9): ``1 - tanh(x) ** 2`` is 0 there.
            name = _text(node.func, 24)
            reason = f"{name} reaches -1 and 1 in float32"
            if first is not None and (first.lo > 0 or (first.lo == 0 and first.lo_open)):
                return Range(0.0, 1.0, lo_open=True, reason=reason)
            if first is not None and (first.hi < 0 or (first.hi == 0 and first.hi_open)):
                return Range(-1.0, 0.0, hi_open=True, reason=reason)
            return Range(-1.0, 1.0, reason=f"{name} is 0 at 0 and reaches -1 and 1 in float32")
        if op == "relu":
            return Range(0.0, INF, reason="relu is 0 for negative inputs")
        if op == "normalize":
            return Range(-1.0, 1.0, reason="a normalized value, 0 where its input is 0")
        if op == "cosine":
            return Range(-1.0, 1.0, reason="a cosine similarity, -1 or 1 for parallel vectors")
        if op in ("acos", "asin"):
            if (
                first is not None
                and first_node is not None
                and (first.may_be_at_most(-1.0) or first.may_be_at_least(1.0))
                # Clipped to [-1, 1], only the gradient at ±1 is infinite: a metric's value is
                # defined (a spectral angle's ``acos(clip(cos, -1, 1))``).
                and (self._gradient or first.lo < -1.0 or first.hi > 1.0)
            ):
                self._hazard(
                    "trig",
                    node,
                    frame,
                    f"{_text(node.func, 24)} of {_text(first_node)}, which is not kept strictly "
                    "inside (-1, 1): the gradient is infinite at ±1 and rounding can push a cosine "
                    "past 1 (NaN); use ops.clip(x, -1 + eps, 1 - eps)",
                )
            if first is not None and first.lo >= -1.0 and first.hi <= 1.0:
                # Monotonic on [-1, 1]: ``acos(0.95)`` of a module's setting is a point.
                if op == "acos":
                    return Range(math.acos(first.hi), math.acos(first.lo))
                return Range(math.asin(first.lo), math.asin(first.hi))
            return Range(-INF, INF) if op == "asin" else Range(0.0, math.pi)
        if op in ("sum", "mean") and _whole_softmax(first, node, args):
            # Each row of a softmax sums to 1: summed over its axis it is 1, averaged over
            # everything 1/K (AdaMatch's ``reduce_mean(softmax(...))`` ratio), never 0.
            floor = first.row_sum if first is not None and first.row_sum > 0 else 1.0
            if op == "sum":
                return Range(floor, INF)
            top = first.hi if first is not None else 1.0
            return Range(0.0, top, lo_open=True)
        if op == "sum" and first is not None and first.tokens and _over_every_axis(node, args):
            # ``reduce_sum(cast(labels != 0))``: the batch's tokens that are not padding, at
            # least one for any batch of sentences (each holds a token, its end mark at least).
            return Range(1.0, INF, reason="the count of the batch's tokens that are not padding")
        if op == "sum":
            return _reduce_sum(first) if first is not None else None
        if op == "boolean" and self._is_self_transpose(node, frame):
            return Range(0.0, 1.0, reason="a 0/1 value", diagonal=True)
        if op == "mean" and first is not None and first.underflow and first.lo == 0:
            return replace(first, lo_open=True)  # 0 only if every element underflows at once
        if op == "mean" and first is not None and first.sum_floor:
            # ``reduce_mean(exp(x - reduce_max(x)))``: a 1 among the values, as for the sum
            # (a log-mean-exp written out): the mean is at least 1 over their number.
            return Range(0.0, first.hi, lo_open=True, reason=first.reason)
        if op in ("mean", "extreme"):
            return first
        if op == "logsumexp":
            # -inf entries drop out of a log-sum-exp (exp(-inf) = 0): ``y_pred + log(mask)`` is
            # how a multilabel crossentropy masks classes out (bert4keras's ZLPR loss). Only
            # NaN, which no such mask gives, would survive.
            self._handled(first, "inf")
            if first_node is not None:  # through a name: ``y_neg = concatenate([y_neg, 0])``
                self._forget(_carried(first_node, frame), "inf")
            return None
        if op == "where":  # reached without its three arguments: where(mask) gives indices
            return _join(values[1], values[2]) if len(values) == 3 else None
        if op == "identity":
            return first
        if op == "split":  # each piece within the tensor's range, for ``a, b = split(x)``
            if first_node is None:
                first = self._keyword(node, frame, "value", "tensor", "ary", "x", "input")[1]
            return first
        if op == "moments":  # the mean's range; _assign gives the variance its own
            return first if first_node is not None else None
        if op == "count":
            # Only a size made smaller can be 0: say when (``n * (n - 1)``, ``(w - 1) * c``).
            return Range(1.0, INF, reason="a size is 1 for an axis of one element, such as a "
                         "batch of one sample")  # fmt: skip
        if op == "counts":
            return Range(0.0, INF, reason="a count, 0 for what the batch does not hold")
        if op == "gradient":
            return Range(-INF, INF, reason="a gradient, 0 where the function is flat")
        if op == "epsilon":
            return point(1e-7)
        if op == "boolean":
            return Range(0.0, 1.0, reason="a 0/1 value", tokens=self._token_mask(node, frame))
        if op == "one":
            return point(1.0)
        if op == "filled":  # full(shape, value), fill(dims, value), full_like(x, value)
            given = (
                values[1]
                if len(values) > 1
                else self._keyword(node, frame, "fill_value", "value")[1]
            )
            return replace(given, source=False) if given is not None else None
        if op == "eye":
            return Range(0.0, 1.0, reason="an identity matrix, 0 off its diagonal", diagonal=True)
        if op == "zero":
            return point(0.0, reason="zeros")
        return None

    def _squared_root(self, node: ast.expr, frame: _Frame) -> ast.Call | None:
        """The TensorFlow square root or norm that ``node`` squares at once (``tf.square(tf.norm(
        x))``, ``tf.norm(x) ** 2``): TensorFlow's sqrt gradient is 0 where the gradient coming
        back is, as the square's is at 0, so no NaN is made there (run on 2.21; ``keras.ops``
        on JAX or torch still gives NaN, and is not exempt)."""
        inner = _squared_operand(node)
        if not isinstance(inner, ast.Call) or names.last_name(inner.func) not in _ROOTS:
            return None
        if isinstance(node, ast.Call) and self._op(node.func, frame) != "square":
            return None
        if self._op(inner.func, frame) not in ("sqrt", "norm"):
            return None
        qualified = names.qualify(inner.func, frame.module.imports) or ""
        return inner if qualified.startswith("tensorflow.") else None

    def _squared_exp(self, node: ast.expr, frame: _Frame) -> str | None:
        """The name squared in ``eps + square(sigma)`` (or ``sigma ** 2``), where ``sigma`` is
        bound to an ``exp``: the variance written from an exp-parametrised scale; else None."""
        for part in addends(node):
            base = _squared_operand(part)
            if not isinstance(base, ast.Name):
                continue
            if isinstance(part, ast.Call) and self._op(part.func, frame) != "square":
                continue
            bound = frame.sources.get(base.id)
            if isinstance(bound, ast.Call) and self._op(bound.func, frame) == "exp":
                return base.id
        return None

    def _log(
        self,
        value: Range | None,
        value_node: ast.expr | None,
        node: ast.Call,
        frame: _Frame,
        threshold: float,
    ) -> Range | None:
        if value is None or value_node is None:
            return None
        if value.overflow is not None:
            squared = self._squared_exp(value_node, frame)
            advice = (
                f"log({squared} ** 2) is 2 * the exp's argument: use that (a log-scale head's "
                "own value) instead of its exp"
                if squared
                else "use ops.softplus(x) for log(1 + exp(x)) or ops.logsumexp(x) for "
                "log(sum(exp(x)))"
            )
            self._hazard(
                "exp",
                node,
                frame,
                f"log of {_text(value_node)}, which contains exp() of an unbounded value that "
                f"overflows to inf: {advice}",
                nan=False,
            )
            # Still at least the log of its floor: log(exp(x) + 1) is 0 or more, however large.
            floor = math.log(value.lo) if value.lo > 0 else -INF
            return _reported(Range(floor, INF), node, "exp", frame)
        if value.normalizer is not None and threshold == 0.0 and value.lo <= 0.0:
            if self._integer_only(node, frame):
                # ``tf.random.categorical(log(probs), 1)``, ``argmax(log(p))``: -inf is a
                # valid logit there, and nothing is differentiated through the integers.
                return Range(-INF, 0.0)
            fix = (
                "ops.log_softmax(x)"
                if value.normalizer == "softmax"
                else "ops.log_sigmoid(x) (= -ops.softplus(-x))"
            )
            self._hazard(
                "log-normalizer",
                node,
                frame,
                f"log of a {value.normalizer} ({_text(value_node)}): the {value.normalizer} "
                f"underflows to 0 for large logits and the log is -inf (NaN gradient); use {fix}",
                rewrites.log_softmax_fix(node, frame.module.imports, frame.module.lines),
                nan=False,
            )
            return Range(-INF, 0.0)
        if (
            value.lo < threshold
            or (threshold == 0.0 and _may_reach_zero(value))
            or (threshold != 0.0 and value.may_be_at_most(threshold))
        ) and not self._configured(value, value_node, frame):
            below = ("-1" if threshold < 0 else "0") + (" or less" if value.lo < threshold else "")
            why = value.reason or "nothing keeps it positive"
            if threshold == 0.0 and _ROUNDED in why:
                text = (
                    f"log of {_text(value_node)}, which can be {below} ({why}): float32 "
                    "cannot hold the guard's constant, so it guards nothing; use an eps of 1e-7 "
                    "(keras.config.epsilon()) or more"
                )
            elif threshold == 0.0 and (value.source or (value.lo >= 0 and value.hi <= 1)):
                text = (
                    f"log of {_text(value_node)}, which can be {below} ({why}): use "
                    "ops.log(ops.clip(x, eps, 1 - eps)) for a probability, or ops.log(x + eps)"
                )
            elif threshold == 0.0:
                # Not a probability (a sum, a distance, a ratio): clipping at 1 - eps would
                # change its value, so only the lower end is advised.
                text = (
                    f"log of {_text(value_node)}, which can be {below} ({why}): keep it "
                    "positive with ops.log(ops.maximum(x, eps))"
                    + (", or ops.log(x + eps) as it is never negative" if value.lo >= 0 else "")
                )
            else:
                text = (
                    f"log1p of {_text(value_node)}, which can be {below} ({why}): keep the "
                    "argument above -1, e.g. ops.log1p(ops.maximum(x, -1 + eps))"
                )
            # Below the domain the log is NaN; a loss input fed to log is a probability by the
            # loss's contract, so only its 0 (-inf) is expected.
            self._hazard("log", node, frame, text, nan=value.lo < threshold and not value.source)
            return _reported(Range(-INF, INF), node, "log", frame)
        if value.lo > 0 and value.hi <= 1:
            return Range(math.log(value.lo), 0.0)
        if value.lo >= 1 and _setting(value_node, frame):
            # ``log(tf.cast(tf.shape(y_pred)[1], tf.float32))``: the largest entropy of K
            # classes, which normalises a KL or an entropy; 0 only for a single class.
            return Range(0.0, INF, lo_open=True)
        if value.lo > 0:  # log(10.0), log(1 + x*x): the log is as bounded as its argument
            return Range(math.log(value.lo), math.log(value.hi) if value.hi < INF else INF)
        return Range(-INF, INF)

    def _helper(self, node: ast.Call, frame: _Frame, depth: int) -> Range | None:
        try:
            return self._followed(node, frame, depth)
        finally:
            # What this call returned, if it ran a function of the project (see _returned).
            if self._last_call is not node:
                self._returned = None

    def _numpy_only(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, module: ModuleIndex
    ) -> bool:
        """:func:`pure_numpy`, once per function (a training loop calls its loader often)."""
        known = self._pure.get(function)
        if known is None:
            known = self._pure[function] = pure_numpy(function, module.imports)
        return known

    def _callee(
        self, node: ast.Call, frame: _Frame
    ) -> tuple[ModuleIndex, str, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, bool] | None:
        """The project function ``node`` calls: its module, qualified name and definition, and
        whether it is defined in the calling scope (``def helper`` beside the loss)."""
        func = node.func
        if isinstance(func, ast.Name) and func.id == "self" and frame.class_name is not None:
            # ``y_pred = self(x)`` in a model's own training step: Keras runs its ``call``.
            for name in ("call", "__call__"):
                method = self.project.method(frame.qualname.rpartition(".")[0], name)
                if method is not None:
                    owner, definition = self.project.functions[method]
                    return owner, method, definition.node, False
            return None
        if isinstance(func, ast.Name):
            local = frame.local_functions.get(func.id)
            if local is not None:
                return frame.module, f"{frame.qualname}.{func.id}", local, True
            found = self._resolve_function(frame.module, func.id, None, frame.qualname)
            if found is None:
                found = self._called_object(func, frame)
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "self"
            and (own_class := self._owner(frame)) is not None
        ):
            found = self._resolve_function(frame.module, func.attr, f"{own_class}.{func.attr}")
            if found is None:
                found = self._called_object(func, frame)
        elif isinstance(func, ast.Attribute):  # ``bounding_box.compute_iou(...)``
            qualified = names.qualify(func, frame.module.imports)
            found = self._resolve_qualified(qualified) if qualified is not None else None
        else:
            return None
        return None if found is None else (*found, False)

    def _called_instance(
        self, made: ast.Call, module: ModuleIndex
    ) -> tuple[ModuleIndex, str, ast.FunctionDef | ast.AsyncFunctionDef] | None:
        """The ``__call__`` of the project class that ``made`` instantiates: what calling the
        object runs (``loss_fn = SegmentationLoss(params)``, then ``loss_fn(logits, labels)``)."""
        if isinstance(made.func, ast.Name) and made.func.id not in module.imports:
            qualified: str | None = f"{module.module}.{made.func.id}"
        else:
            qualified = names.qualify(made.func, module.imports)
        cls = self.project._lookup(qualified) if qualified is not None else None
        if cls is None or cls not in self.project.classes:
            return None
        method = self.project.method(cls, "__call__")
        if method is None and self._loss_layer(cls):
            method = self.project.method(cls, "call")  # Keras's ``__call__`` runs it
        if method is None:
            return None
        owner, function = self.project.functions[method]
        return owner, method, function.node

    def _loss_layer(self, cls: str) -> bool:
        """A Keras layer class of the project named as a loss (a mesh reconstruction's
        ``BeamGapLossLayer``, called in a training loop): its ``call`` computes what is
        trained. Other layers compute activations, whose divisions and logs normalise them
        (see run), and a model's ``call`` is its whole graph."""
        return (
            "loss" in names.defined_name(cls).lower()
            and self.project.is_subclass(cls, names.KERAS_LAYER_BASES)
            and not self.project.is_subclass(cls, names.KERAS_MODEL_BASES)
        )

    def _called_object(
        self, func: ast.expr, frame: _Frame
    ) -> tuple[ModuleIndex, str, ast.FunctionDef | ast.AsyncFunctionDef] | None:
        """The ``__call__`` of the project object that ``func`` names (see _maker)."""
        made = self._maker(func, frame)
        return self._called_instance(*made) if made is not None else None

    def _maker(self, func: ast.expr, frame: _Frame) -> tuple[ast.Call, ModuleIndex] | None:
        """The call that made the object ``func`` names, with the module it is written in:
        ``func`` itself (``MeanSquaredError()(y, p)``), a local name's source (``loss_fn =
        SegmentationLoss(params)``), or what the class's ``__init__`` stores once in
        ``self.<attribute>`` (the TPU models' ``self._loss_fn``, keras-gym's ``self._func``)."""
        if isinstance(func, ast.Call):
            return func, frame.module
        if isinstance(func, ast.Name):
            made = self._named_value(func.id, frame)
            if made is None:
                # ``def train_step(x, y, model, loss_fn)``: the object every call passes.
                return self._passed_call(func.id, frame)
            return (made, frame.module) if isinstance(made, ast.Call) else None
        attribute = names.self_attribute(func)
        owner = self._owner(frame)
        if attribute is None or owner is None:
            return None
        return self._stored_call(owner, attribute)

    def _enclosing_alias(self, name: str, frame: _Frame) -> str | None:
        """The method ``name`` stands for in a closure, where the method it is defined in binds
        it by one plain assignment to a method of ``self`` (``md_loss_func =
        self.calculate_md_loss``); else None. Not a name the closure binds itself."""
        if name in frame.env or frame.class_name is not None:
            return None
        scope = frame.qualname.rpartition(".")[0]
        found = self.project.functions.get(scope)
        owner = self._owner(frame)
        if found is None or owner is None or scope.rpartition(".")[0] != owner:
            return None
        bound = local_binding(found[1].node, name)[1]
        if bound is None or (attribute := names.self_attribute(bound)) is None:
            return None
        return attribute if self.project.method(owner, attribute) is not None else None

    def _owner(self, frame: _Frame) -> str | None:
        """The class whose ``self`` the code of ``frame`` reads: a method's (also one followed
        from a closure), or the method's that a closure is defined in (``def proto_loss(self):
        def inner(labels, features): return self.proto_loss_inner(labels, features)``)."""
        if frame.class_name is not None:
            return frame.qualname.rpartition(".")[0]
        scope = frame.qualname.rpartition(".")[0]
        while scope:
            if scope in self.project.classes:
                return scope
            scope = scope.rpartition(".")[0]
        return None

    def _named_value(self, name: str, frame: _Frame) -> ast.expr | None:
        """What ``name`` was last bound to in this scope, else the module-level value it is
        bound to once (``loss_fn = ...`` or ``model = keras.Sequential(...)`` beside the
        training step that uses it); None when not known."""
        if name in frame.sources:
            return frame.sources[name]
        if name in frame.env or name not in frame.module.top_names:
            return None  # a local the scope binds some other way, or not a module global
        return bound_once(frame.module, name)

    def _applied_model(self, node: ast.Call, frame: _Frame) -> Range | None:
        """``model(x)``: the output of a model the project builds with one output ending in
        softmax or sigmoid (see _applied_model_fact). None for any other call."""
        return self._model_output(self._applied_model_fact(node, frame), node, frame)

    def _applied_model_fact(self, node: ast.Call, frame: _Frame) -> ModelFact | None:
        """The model that ``node`` applies: one bound here or at module level (``keras.
        Sequential([..., Dense(10, activation="softmax")])``), returned by a model factory,
        that every caller passes, or that the class's ``__init__`` stores. None for any
        other call."""
        module = frame.module
        if isinstance(node.func, ast.Name):
            made = self._named_value(node.func.id, frame)
            if made is None:  # ``def train_step(D, G, images)``: the model each call passes
                made, module = self._passed_model(node.func.id, frame) or (None, module)
        elif isinstance(node.func, ast.Attribute) and names.self_attribute(node.func):
            # ``self.model(states)`` in a method, the model its class's ``__init__`` stores
            # (an actor's ``self.model = self.create_model()``).
            owner = frame.qualname.rpartition(".")[0]
            stored = self._stored_call(owner, node.func.attr)
            if stored is None:
                # ``self.teacher = teacher`` in keras.io's distiller: the models its makers
                # pass (``Distiller(student=student, teacher=teacher)``).
                return self._constructed_model(owner, node.func.attr)
            made, module = stored
            method = names.self_attribute(made.func)
            if method is not None:
                built = self.project.method(owner, method)
                return self.project.resolve_model(ModelRef(factory=built)) if built else None
        else:
            return None
        if not isinstance(made, ast.Call):
            return None
        return self._made_model(made, module)

    def _made_model(self, made: ast.Call, module: ModuleIndex) -> ModelFact | None:
        """The model that call ``made`` (written in ``module``) builds: a Keras model class's
        constructor, a model factory of the project, or a Keras model subclass."""
        target = names.qualify(made.func, module.imports)
        if target in _MODEL_CLASSES:
            span = node_span(made, module.lines)
            return next((m for m in module.models if m.span == span), None)
        if target is not None and not names.is_keras(target):  # a factory of the project
            return self.project.resolve_model(ModelRef(factory=target))
        if target is None and isinstance(made.func, ast.Name):
            found = self._resolve_function(module, made.func.id, None)
            # A factory, else a Keras model subclass of this module (resolved alike).
            factory = found[1] if found is not None else f"{module.module}.{made.func.id}"
            return self.project.resolve_model(ModelRef(factory=factory))
        return None

    def _constructed_model(self, cls: str, attribute: str) -> ModelFact | None:
        """The model class ``cls`` stores in ``self.<attribute>`` from a parameter of its
        ``__init__``, where every construction of the class passes one model and they all end
        in the same activation; None otherwise."""
        init = self.project.method(cls, "__init__") if cls in self.project.classes else None
        if init is None:
            return None
        function = self.project.functions[init][1]
        made = _self_assigned(function.node.body, attribute)
        if len(made) != 1 or not isinstance(made[0], ast.Name):
            return None
        name = made[0].id
        if name not in function.params:
            return None
        found: ModelFact | None = None
        for module, value in self.project.passed_values(
            init, Param(name, function.params.index(name), None)
        ):
            model = self._made_model(value, module) if isinstance(value, ast.Call) else None
            if model is None or len(model.outputs) != 1:
                return None
            if found is not None and found.outputs[0].activation != model.outputs[0].activation:
                return None
            found = model
        return found

    def _model_output(self, model: ModelFact | None, node: ast.Call, frame: _Frame) -> Range | None:
        """The output of ``model`` applied at ``node`` when it is one ending in softmax or
        sigmoid; None otherwise."""
        if model is None or len(model.outputs) != 1:
            return None
        activation = model.outputs[0].activation
        if activation not in ("softmax", "sigmoid"):
            return None
        return self._apply(activation, node, [], [None], frame)  # as a layer applying it

    def _passed_model(self, name: str, frame: _Frame) -> tuple[ast.Call, ModuleIndex] | None:
        """What makes the model that every call of this function passes for its parameter
        ``name``, when each passes the same constructor or factory call, through a name bound
        once to it at module level or in the calling function (``discriminator =
        Discriminator()``, then ``train_step(discriminator, ...)``); None otherwise."""
        return self._passed_call(name, frame, key=lambda call: ast.dump(call.func))

    def _passed_call(
        self, name: str, frame: _Frame, key: Callable[[ast.Call], str] = ast.dump
    ) -> tuple[ast.Call, ModuleIndex] | None:
        """The call that every call of this function passes for its parameter ``name``
        (written as its argument or bound once to the name given), with the module it is
        written in, when they are all the same call by ``key`` (as written, by default); None
        otherwise."""
        found = self.project.functions.get(frame.qualname)
        if found is None or name not in found[1].params or name in frame.sources:
            return None
        param = Param(name, found[1].params.index(name), None)
        made: tuple[ast.Call, ModuleIndex] | None = None
        for module, value in self.project.passed_values(frame.qualname, param):
            if not isinstance(value, ast.Call):
                return None
            if made is not None and key(made[0]) != key(value):
                return None  # different models, or objects made differently
            made = (value, module)
        return made

    def _stored_call(self, cls: str, attribute: str) -> tuple[ast.Call, ModuleIndex] | None:
        """The one call whose result class ``cls`` stores in ``self.<attribute>`` in its
        ``__init__``, with the module it is written in; else, where the class assigns that
        attribute once, in another method (a model's ``compile`` override, keras.io's
        distiller), the call assigned, or the default of the parameter assigned
        (``student_loss_fn=SparseCategoricalCrossentropy(from_logits=True)``)."""
        if cls not in self.project.classes:
            return None
        init = self.project.method(cls, "__init__")
        if init is not None:
            module, function = self.project.functions[init]
            made = _self_assigned(function.node.body, attribute)
            if made:
                first = made[0]
                return (first, module) if len(made) == 1 and isinstance(first, ast.Call) else None
        # One line of the class assigns it, in one of its methods: only the method above each
        # line the module assigns it at is read (a class is parsed whole only where an
        # analysis walks it anyway; the module may define more classes that assign it).
        module = self.project.classes[cls][0]
        methods = sorted(
            (f for f in module.functions if f.qualname.rpartition(".")[0] == cls),
            key=lambda f: f.span.line,
        )
        assigning: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        for line in self._assigning_lines(module, attribute):
            above = [f for f in methods if f.span.line <= line]
            node = above[-1].node if above else None
            if isinstance(
                node, (ast.FunctionDef, ast.AsyncFunctionDef)
            ) and node.lineno <= line <= (node.end_lineno or node.lineno):
                assigning.append(node)
        if len(assigning) != 1:
            return None
        method = assigning[0]
        values = _self_assigned(method.body, attribute)
        value: ast.expr | None = values[0] if values else None
        if isinstance(value, ast.Name):
            name = value.id
            value = parameter_default(method, name)
            if value is None and name in parameter_names(method):
                # keras.io's distiller: ``distiller.compile(..., student_loss_fn=...)``.
                return self._given_to_method(cls, module, method, name)
        return (value, module) if isinstance(value, ast.Call) else None

    def _given_to_method(
        self,
        cls: str,
        home: ModuleIndex,
        method: ast.FunctionDef | ast.AsyncFunctionDef,
        param: str,
    ) -> tuple[ast.Call, ModuleIndex] | None:
        """The call every call of ``method`` on an instance of ``cls`` passes for ``param``
        (``distiller = Distiller(...)``, then ``distiller.compile(student_loss_fn=...)``), in
        the module written, when they are all the same call; None otherwise. Such a call is
        remembered in ``_given``: a hazard it makes is reported there, where a user gives it."""
        params = parameter_names(method)
        position = params.index(param) - 1 if params[:1] == ["self"] else -1
        short = names.defined_name(cls)
        found: tuple[ast.Call, ModuleIndex] | None = None
        for module in self.project.importers(home):
            for statement in mentioning_statements(module, f".{method.name}("):
                for call in subtree(statement):
                    if not (
                        isinstance(call, ast.Call)
                        and isinstance(call.func, ast.Attribute)
                        and call.func.attr == method.name
                        and isinstance(call.func.value, ast.Name)
                    ):
                        continue
                    made = bound_once(module, call.func.value.id)
                    if not (isinstance(made, ast.Call) and names.last_name(made.func) == short):
                        continue
                    given = next((k.value for k in call.keywords if k.arg == param), None)
                    if given is None and 0 <= position < len(call.args):
                        given = call.args[position]
                    if not isinstance(given, ast.Call):
                        return None
                    if found is not None and ast.dump(found[0]) != ast.dump(given):
                        return None
                    found = (given, module)
        if found is not None:
            self._given.add(id(found[0]))
        return found

    def _assigning_lines(self, module: ModuleIndex, attribute: str) -> list[int]:
        """The lines of ``module`` that assign ``self.<attribute>`` (cached)."""
        key = (module.path, attribute)
        found = self._assigning.get(key)
        if found is None:
            assigns = re.compile(rf"\bself\.{re.escape(attribute)}\s*=(?!=)")
            found = self._assigning[key] = [
                n for n, text in lines_with(module, attribute) if assigns.search(text)
            ]
        return found

    def _stored_functions(
        self, func: ast.expr, frame: _Frame
    ) -> list[tuple[ModuleIndex, str, ast.FunctionDef | ast.AsyncFunctionDef]]:
        """The project functions the class's methods store in ``self.<attribute>`` by name
        (one, or one per branch of a setting: ``if config.loss_func == "bpr":
        self._loss_func = bpr_loss``), when every value they store there is one; else
        nothing."""
        attribute = names.self_attribute(func)
        owner = self._owner(frame)
        if attribute is None or owner is None or owner not in self.project.classes:
            return []
        key = (owner, attribute)
        if key not in self._stored:
            module, cls = self.project.classes[owner]
            found: list[tuple[ModuleIndex, str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
            plain = re.compile(rf"\bself\.{re.escape(attribute)}\s*=\s*[A-Za-z_]\w*\s*(#|$)")
            if not any(plain.search(line) for _, line in lines_with(module, attribute)):
                self._stored[key] = found  # no function stored by name: nothing to walk
                return found
            for value in self._self_assignments(owner, cls.node).get(attribute, ()):
                target = (
                    self._resolve_function(module, value.id, None)
                    if isinstance(value, ast.Name)
                    else None
                )
                if target is None:
                    found = []  # something else is stored there too
                    break
                if all(target[1] != known[1] for known in found):
                    found.append(target)
            self._stored[key] = found
        return self._stored[key]

    def _layer_weight(self, attribute: str, frame: _Frame) -> bool:
        """Whether ``self.<attribute>``, read in a method of a Keras layer class (not a loss,
        not a model), is a trainable weight the class makes (``self.add_weight(...)``,
        ``tf.Variable(initializer(...))``, set to None before ``build``), with no zero or
        constant start: ``initializer="zeros"``, ``tf.Variable(0.0)`` and ``trainable=False``
        state are not."""
        owner = self._owner(frame)
        if owner not in self.project.classes:
            return False
        if not self.project.is_subclass(owner, names.KERAS_LAYER_BASES):
            return False
        if self.project.is_subclass(owner, names.KERAS_MODEL_BASES):
            return False
        if self.project.is_loss_class(owner):
            return False
        values = self._self_assignments(owner, self.project.classes[owner][1].node).get(attribute)
        if not values:
            return False
        made = [v for v in values if not (isinstance(v, ast.Constant) and v.value is None)]
        return bool(made) and all(_random_weight(v) for v in made)

    def _self_assignments(self, owner: str, node: ast.ClassDef) -> dict[str, list[ast.expr]]:
        """What the methods of class ``owner`` assign to each ``self.<attribute>`` (an
        augmented assignment as a value that is no function), walked once per class."""
        known = self._assigned_in_class.get(owner)
        if known is None:
            known = {}
            for stmt in subtree(node):
                if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                    value: ast.expr | None = stmt.value
                    if isinstance(stmt, ast.AugAssign) or value is None:
                        value = ast.Constant(None)
                    for target in targets:
                        attribute = names.self_attribute(target)
                        if attribute is not None:
                            known.setdefault(attribute, []).append(value)
            self._assigned_in_class[owner] = known
        return known

    def _metric_result(self, node: ast.Call, frame: _Frame) -> Range | None:
        """``self.precision.result()`` in a metric composed of Keras's own: what a
        ``keras.metrics.Precision``/``Recall`` (a ratio in [0, 1], 0 while no true positive
        is counted), an accuracy, or a confusion count (0 until one is counted) stored by the
        class gives; None for anything else."""
        func = node.func
        if not (
            isinstance(func, ast.Attribute)
            and func.attr == "result"
            and not node.args
            and not node.keywords
        ):
            return None
        attribute = names.self_attribute(func.value)
        owner = self._owner(frame) if attribute is not None else None
        if attribute is None or owner not in self.project.classes:
            return None
        made = self._self_assignments(owner, self.project.classes[owner][1].node).get(attribute)
        kinds = set()
        for value in made or ():
            name = (
                names.qualify(value.func, frame.module.imports)
                if isinstance(value, ast.Call)
                else None
            )
            module, _, last = (name or "").rpartition(".")
            if module != "keras.metrics" or last not in _METRIC_RESULTS:
                return None
            kinds.add(_METRIC_RESULTS[last])
        if len(kinds) != 1:
            return None
        kind = kinds.pop()
        if kind == "count":
            return Range(
                0.0, INF, reason=f"self.{attribute}.result(), a count, 0 until one is seen"
            )
        return Range(
            0.0, 1.0, reason=f"self.{attribute}.result(), 0 while no true positive is counted"
        )

    def _regression_error(self, node: ast.Call, frame: _Frame) -> str | None:
        """What Keras regression error ``node`` computes, a mean of non-negative terms that is
        0 where the prediction is exact: ``keras.losses.mean_squared_error(y, p)``, a
        ``MeanSquaredError()`` object called (made here, or stored by ``__init__`` in
        ``self._func``, keras-gym's RMSE loss); else None."""
        func = node.func
        qualified = names.qualify(func, frame.module.imports)
        if qualified is not None:
            module, _, name = qualified.rpartition(".")
            function = name in ops.REGRESSION_ERRORS and not names.keras_class_name(name)
            return name if module in _KERAS_ERROR_MODULES and function else None
        made = self._maker(func, frame)
        if made is None:
            return None
        cls = names.qualify(made[0].func, made[1].imports)
        if cls is None:
            return None
        module, _, name = cls.rpartition(".")
        a_class = name in ops.REGRESSION_ERRORS and names.keras_class_name(name)
        return f"{name}()" if module in _KERAS_ERROR_MODULES and a_class else None

    def _keras_cosine(self, node: ast.Call, frame: _Frame) -> bool:
        """Whether ``node`` calls Keras's ``cosine_similarity`` function (the loss gives the
        negative cosine, the metric the cosine: both in [-1, 1])."""
        qualified = names.qualify(node.func, frame.module.imports)
        module, _, name = (qualified or "").rpartition(".")
        return module in _KERAS_ERROR_MODULES and name == "cosine_similarity"

    def _generator(self, function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> bool:
        known = self._generators.get(id(function))
        if known is None:
            known = self._generators[id(function)] = (function, _generator(function))
        return known[1]

    def _followed(self, node: ast.Call, frame: _Frame, depth: int) -> Range | None:
        """A call into the project's own code: follow it with the argument ranges."""
        arguments = self._args(node, frame, depth)
        target = self._callee(node, frame)
        enclosing = frame.local_functions if target is not None and target[3] else None
        stored = self._stored_functions(node.func, frame) if target is None else []
        if stored:
            # ``self._loss_func(pos, neg)``, the function ``__init__`` picks by a setting
            # (``if loss == "pointwise": self._loss_func = pointwise_loss``): any may run.
            joined: Range | None = None
            for number, picked in enumerate(stored):
                value = self._run_followed(node, frame, depth, picked, arguments)
                joined = value if number == 0 else _join(joined, value)
            self._last_call = node
            return joined
        if target is None and isinstance(node.func, ast.Name):
            method = self._enclosing_alias(node.func.id, frame)
            if method is not None:
                # ``md_loss_func(y_true, y_pred)`` in a closure whose method bound
                # ``md_loss_func = self.calculate_md_loss``: that method, on the same object.
                bound = ast.Call(
                    func=ast.Attribute(value=ast.Name("self", ast.Load()), attr=method),
                    args=node.args,
                    keywords=node.keywords,
                )
                aliased = self._followed(ast.copy_location(bound, node), frame, depth)
                self._last_call = node
                return aliased
        if target is None or self._generator(target[2]):
            # Calling a generator function runs none of its body: it hands out a generator
            # (a data pipeline's ``DataGenerator(path)``, read with ``next``).
            return None
        module, qualname, function, _ = target
        if (
            self._record is not None
            and not isinstance(function, ast.Lambda)
            and self._numpy_only(function, module)
        ):
            # A training loop's NumPy helper (a data loader's ``normalize(x)``, a target
            # encoder): it makes the arrays fed to the model, data and not differentiated code.
            return None
        if enclosing is None and isinstance(node.func, ast.Attribute) and _abstract(function):
            # ``self.calculate_loss()`` in a base class whose own method only raises
            # NotImplementedError: the subclasses' methods are what runs, each in the training
            # of its own class (the TPU models' ``build_losses``, one per model), so all of
            # them are followed and their values joined.
            overrides = self.project.overrides(qualname)
            if overrides:
                result: Range | None = None
                for number, overriding in enumerate(overrides):
                    owner, found = self.project.functions[overriding]
                    value = self._run_followed(
                        node, frame, depth, (owner, overriding, found.node), arguments
                    )
                    result = value if number == 0 else _join(result, value)
                self._last_call = node
                return result
        result = self._run_followed(
            node, frame, depth, (module, qualname, function), arguments, enclosing
        )
        if (
            enclosing is None
            and names.self_attribute(node.func) is not None
            and _LOSS_METHOD.search(qualname.rpartition(".")[2])
        ):
            # ``self._compute_d_loss(...)`` in a base GAN's training step, which a WGAN-GP
            # subclass overrides to add its gradient penalty: any override may be what runs.
            for overriding in self.project.overrides(qualname):
                owner, found = self.project.functions[overriding]
                value = self._run_followed(
                    node, frame, depth, (owner, overriding, found.node), arguments
                )
                result = _join(result, value)
        self._last_call = node
        return result

    def _run_followed(
        self,
        node: ast.Call,
        frame: _Frame,
        depth: int,
        target: tuple[ModuleIndex, str, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda],
        arguments: list[Range | None],
        enclosing: Mapping[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda] | None = None,
    ) -> Range | None:
        """Interpret project function ``target`` for call ``node`` (its arguments' ranges)."""
        module, qualname, function = target
        params = [a.arg for a in [*function.args.posonlyargs, *function.args.args]]
        if params[:1] == ["self"] and (
            isinstance(node.func, ast.Attribute)
            or qualname.endswith(".__call__")
            or (isinstance(node.func, ast.Name) and node.func.id == "self")
        ):
            params = params[1:]
        bound = {p: r for p, r in zip(params, arguments, strict=False)}
        given = dict(zip(params, node.args, strict=False))
        for keyword in node.keywords:
            if keyword.arg in params:
                bound[keyword.arg] = self.expr(keyword.value, frame, depth + 1)
                given[keyword.arg] = keyword.value
        callables = {}
        for param, expr in given.items():
            # ``add_layer(x, 10, activation_function=tf.nn.relu)``: a function, not called.
            op = self._op(expr, frame) if isinstance(expr, (ast.Name, ast.Attribute)) else None
            if op is None and isinstance(expr, ast.Name):
                op = frame.callables.get(expr.id)
            if op is not None and op not in _NOT_APPLIED:
                callables[param] = op
            elif isinstance(expr, ast.Lambda) or (
                isinstance(expr, ast.Call) and names.last_name(expr.func) == "partial"
            ):
                # ``wrapper(lambda x: x.T, inputs)``, ``wrapper(partial(torch.permute, ...),
                # inputs)``: this call passes a function of its own, so what other callers pass
                # for the parameter (``torch.sqrt``) says nothing of it.
                callables[param] = "unknown"
        for param, default in _called_defaults(function).items():
            if param not in given:
                # ``linear(x, 10)`` with ``activation=lambda x: x``: this call applies the
                # default, whatever other callers pass (``activation=tf.nn.softmax``).
                applied = names.qualify(default, module.imports)
                op = _op_of(applied) if applied is not None else None
                callables[param] = op if op is not None and op not in _NOT_APPLIED else "unknown"
        literals: dict[str, object] = {}
        if not isinstance(function, ast.Lambda):
            left = flags.literal_defaults(function)
            literals = {p: v for p, v in left.items() if p not in given}
            literals.update(flags.literal_arguments(node, params, function))
        # The labels handed on (``spectral_convergence(y_true, y_pred)``): no gradient flows
        # through what the helper computes of them alone.
        labels = frozenset(
            param
            for param, expr in given.items()
            if not isinstance(expr, ast.Constant) and self._of_keras_labels(expr, frame)
        )
        # ``gaussian(x, center, sigma)`` called with the loss's configured ``sigma``: the
        # helper divides by a setting, not by data (and a helper defined in the calling scope
        # reads that scope's settings too: ``def k(x, y)`` dividing by ``mmd2``'s ``sigma=1``).
        configured = {
            param
            for param, expr in given.items()
            if param not in labels and self._configuration(expr, frame)
        }
        if enclosing is not None:
            configured |= frame.configured - set(parameter_names(function))
        gradient = self._gradient
        if not isinstance(function, ast.Lambda) and detached_result(function):
            # ``self._detect_distribution(x)``: statistics of its input that only choose an
            # index. What it computes is never differentiated, whoever calls it.
            self._gradient = False
        try:
            return self.function(
                module,
                qualname,
                function,
                bound,
                frame.class_name,
                None,
                callables,
                enclosing,
                literals,
                labels,
                frozenset(configured),
            )
        finally:
            self._gradient = gradient

    def _resolve_qualified(
        self, qualified: str
    ) -> tuple[ModuleIndex, str, ast.FunctionDef | ast.AsyncFunctionDef] | None:
        """A project function named through its module (``package.module.function``, also
        re-exported by a package's ``__init__``)."""
        if self.project.kind(qualified) not in ("function", "factory"):
            return None
        found = self.project._lookup(qualified)
        if found is None:
            return None
        owner, function = self.project.functions[found]
        return owner, found, function.node

    def _resolve_function(
        self, module: ModuleIndex, name: str, method_of: str | None, caller: str | None = None
    ) -> tuple[ModuleIndex, str, ast.FunctionDef | ast.AsyncFunctionDef] | None:
        """The project function ``name`` denotes in ``module`` (a method of ``method_of``'s
        class); ``caller``: the function whose code names it (see ProjectIndex.version_for)."""
        if method_of is not None:
            class_qualname = method_of.rpartition(".")[0]
            candidates = [f"{class_qualname}.{name}"]
        else:
            candidates = [self.project.version_for(f"{module.module}.{name}", caller)]
            imported = module.imports.get(name)
            if imported:
                candidates.append(imported)
            # ``from ops import *`` then ``from utils import *``: the module that defines it.
            candidates.extend(f"{star}.{name}" for star in reversed(module.stars))
        for candidate in candidates:
            kind = self.project.kind(candidate)
            if kind in ("function", "factory"):
                found = self.project._lookup(candidate)
                if found is None:
                    continue
                owner, function = self.project.functions[found]
                return owner, found, function.node
        return None

    # -- hazards ---------------------------------------------------------------------------

    def _span(self, node: ast.AST, frame: _Frame) -> Span:
        return node_span(node, frame.module.lines)

    def _hazard(
        self,
        kind: str,
        node: ast.AST,
        frame: _Frame,
        message: str,
        fix: Fix | None = None,
        nan: bool = True,
    ) -> None:
        """Keep a hazard; in a training scope, only once we know the objective needs it.
        ``nan`` False: its only non-finite result is ±inf (``log(0)``, ``1 / 0``), which an
        ``is_inf`` test catches; True: it can be NaN too (``0 / 0``, ``log(-1)``)."""
        self._hazard_at(kind, self._span(node, frame), frame, message, fix, nan)

    def _hazard_at(
        self,
        kind: str,
        span: Span,
        frame: _Frame,
        message: str,
        fix: Fix | None = None,
        nan: bool = True,
    ) -> None:
        self._emit(Hazard(kind, frame.module.path, span, message, fix), nan)

    def _emit(self, hazard: Hazard, nan: bool) -> None:
        """Report a hazard; while a training scope is interpreted, record it with the names
        its statement assigns (a helper's hazards with those of the statement calling it), so
        that only the hazards the trained value depends on are kept (see _objective)."""
        if self._kept_kinds is not None and hazard.kind not in self._kept_kinds:
            return  # a layer class's call: only its roots and norms (see run)
        if hazard.kind in _VALUE_HAZARDS and any(
            path == hazard.path and _encloses_span(span, hazard.span)
            for path, span in self._compared
        ):
            return
        if nan:
            self._nan.add((hazard.path, hazard.span, hazard.kind))
        if self._record is not None and self._record_frame is not None:
            frame = self._record_frame
            self._record.append((hazard, frame.targets, frame.target_line))
        else:
            self._keep(hazard)

    def _keep(self, hazard: Hazard) -> None:
        """One hazard per site: where two subjects reach the same site with different reasons
        (a helper called from two losses), the one kept does not depend on which subject was
        analysed first (the order follows the files in the tree)."""
        key = (hazard.path, hazard.span, hazard.kind)
        kept = self.hazards.get(key)
        if kept is None or _rank(hazard) < _rank(kept):
            self.hazards[key] = hazard


@dataclass(frozen=True)
class _Unpacked:
    """``a, b = helper(...)`` where ``helper`` returns a tuple: which of ``a``, ``b`` a hazard
    inside it feeds (see RangeAnalysis._unpacked)."""

    path: str  # the helper's file
    function: ast.FunctionDef | ast.AsyncFunctionDef
    names: tuple[str, ...]  # the names unpacked into, in order
    returns: list[ast.Return]  # each a tuple of as many elements

    def fed(self, hazard: Hazard, targets: frozenset[str]) -> frozenset[str]:
        """The names whose element depends on the statement of the helper where ``hazard``
        is; ``targets`` (all of them) where that is not known: a hazard in a function the
        helper calls, or in a statement that assigns nothing."""
        node = self.function
        if hazard.path != self.path or not _encloses(node, hazard.span.line):
            return targets
        statement = None
        for stmt in flat_statements(node.body):
            if _encloses(stmt, hazard.span.line) and not isinstance(
                stmt, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try)
            ):
                statement = stmt
        if statement is None:
            return targets
        if isinstance(statement, ast.Return):  # in the returned tuple itself
            if not isinstance(statement.value, ast.Tuple) or statement not in self.returns:
                return targets
            elements = zip(self.names, statement.value.elts, strict=True)
            inside = {n for n, e in elements if _encloses(e, hazard.span.line)}
            return frozenset(inside) or targets
        if not _assigns(statement):
            return targets
        assigned = set(_binds(_assigned_targets(statement)))
        fed: set[str] = set()
        for ret in self.returns:
            assert isinstance(ret.value, ast.Tuple)
            for name, element in zip(self.names, ret.value.elts, strict=True):
                reaching = _dependencies(node.body, _reads(element), ret.lineno)
                if any((n, statement.lineno) in reaching for n in assigned):
                    fed.add(name)
        return frozenset(fed)


def _assigned_targets(stmt: ast.stmt) -> list[ast.expr]:
    if isinstance(stmt, ast.Assign):
        return list(stmt.targets)
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        return [stmt.target]
    grown = _appended(stmt)
    return [ast.Name(grown[0])] if grown is not None else []


def _rank(hazard: Hazard) -> tuple[str, str]:
    """The order in which hazards at one site are preferred: any fixed order will do."""
    return hazard.message, hazard.fix.message if hazard.fix is not None else ""


_MONITORING: Final = (
    "tensorflow.summary.",
    "tensorflow.compat.v1.summary.",
    "tensorflow.contrib.summary.",
    "logging.",
    "absl.logging.",
)


_RANDOM_MODULES: Final = frozenset(
    {"tensorflow.random", "keras.random", "numpy.random", "random", "jax.random"}
)
# The draws of those modules from a continuous distribution: each value is exactly 0 with
# probability (about) 0.
_CONTINUOUS_DRAWS: Final = frozenset(
    {"normal", "uniform", "truncated_normal", "standard_normal", "randn", "rand", "gauss"}
)


def _trig(name: str | None, angle: Range | None) -> Range:
    """``cos`` or ``sin`` of ``angle``: within [-1, 1], and tighter where the angle is known to
    lie on a monotonic stretch (``cos`` of an angle in [0, pi]: a diffusion schedule's signal
    rate ``cos(acos(0.95) + t * (acos(0.02) - acos(0.95)))`` is at least 0.02). The bounds are
    widened by a rounding margin: ``cos(t * pi / 2)`` at ``t = 1`` is 0 in float32, not 6e-17."""
    if angle is not None and math.isfinite(angle.lo) and math.isfinite(angle.hi):
        lo, hi = angle.lo, angle.hi
        bounds = None
        if name == "cos" and lo >= 0.0 and hi <= math.pi:
            bounds = math.cos(hi), math.cos(lo)
        elif name == "cos" and lo >= -math.pi and hi <= 0.0:
            bounds = math.cos(lo), math.cos(hi)
        elif name == "sin" and lo >= -math.pi / 2 and hi <= math.pi / 2:
            bounds = math.sin(lo), math.sin(hi)
        if bounds is not None:
            low, high = max(-1.0, bounds[0] - _TRIG_MARGIN), min(1.0, bounds[1] + _TRIG_MARGIN)
            reason = "a cosine, 0 at an angle of pi / 2" if name == "cos" else "a sine, 0 at 0"
            return Range(low, high, reason=reason if low <= 0.0 <= high else "")
    return Range(-1.0, 1.0)


_TRIG_MARGIN: Final = 1e-6
# The hazards whose harm is a non-finite value or gradient, which a comparison turns into a
# plain boolean.
_VALUE_HAZARDS: Final = frozenset(
    {"log", "log-normalizer", "sqrt", "divide", "exp", "power", "trig"}
)


def _encloses_span(outer: Span, inner: Span) -> bool:
    """Whether ``inner`` lies within ``outer`` (lines and columns)."""
    return (outer.line, outer.column) <= (inner.line, inner.column) and (
        inner.end_line,
        inner.end_column,
    ) <= (outer.end_line, outer.end_column)


# How a value's reason tells of where the value itself is 0 (a square, a sum, a count), which
# says nothing of where it reaches the constant it is subtracted from.
_OWN_ZERO: Final = ("0 where", "0 when", "0 for")
# A softmax of values that spread at most this far apart keeps every share far above float32's
# smallest number (exp(-40) / 1e6 is about 4e-24), for up to a million classes.
_SOFTMAX_SPREAD: Final = 40.0
# The spellings of a square, and of a square root or norm (see RangeAnalysis._squared_root).
_SQUARES: Final = ops.names(range_="square")
_ROOTS: Final = ops.names(range_="sqrt") | ops.names(range_="norm")
# The spreads that are a square root of a variance (see _standard_deviation).
_STANDARD_DEVIATIONS: Final = frozenset({"std", "reduce_std", "nanstd"})
_MAX_CLASSES: Final = 1e6


def _generator(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> bool:
    """Whether ``function`` is a generator: a ``yield`` in its own body (not a nested one's)."""
    if isinstance(function, ast.Lambda):
        return False
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            pending.extend(ast.iter_child_nodes(node))
    return False


def _local_defs(
    body: list[ast.stmt],
) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda]:
    """The functions a body defines, also under ``if``/``for``/``with``/``try`` (the first
    definition of each name), not those nested in them."""
    found: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda] = {}
    pending = list(body)
    while pending:
        statement = pending.pop(0)
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.setdefault(statement.name, statement)
        elif isinstance(statement, (ast.If, ast.For, ast.AsyncFor, ast.While)):
            pending.extend([*statement.body, *statement.orelse])
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            pending.extend(statement.body)
        elif isinstance(statement, ast.Try):
            pending.extend([*statement.body, *statement.orelse, *statement.finalbody])
            for handler in statement.handlers:
                pending.extend(handler.body)
    return found


def _squared_operand(node: ast.expr) -> ast.expr | None:
    """What ``x ** 2`` or a one-argument ``square(x)`` squares, by their syntax alone (the
    caller checks that the call is a square op); None for anything else. Syntax only: this
    runs for every expression the analysis evaluates."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        right = node.right
        return node.left if isinstance(right, ast.Constant) and right.value == 2 else None
    if (
        isinstance(node, ast.Call)
        and len(node.args) == 1
        and not node.keywords
        and names.last_name(node.func) in _SQUARES
    ):
        return node.args[0]
    return None


def _square(first: Range | None) -> Range:
    """``x ** 2``, also of an unknown ``x``: at least 0, and 0 where ``x`` is. Bounded where
    its input is: ``1 - tanh(x) ** 2`` reaches 0 where tanh reaches ±1."""
    reason = "a square, which is 0 where its input is 0"
    top = INF
    if first is not None and math.isfinite(first.lo) and math.isfinite(first.hi):
        top = max(_fmul(first.lo, first.lo), _fmul(first.hi, first.hi))
        reason = first.reason or reason
    # The square of an exp that overflows overflows sooner (``square(exp(log_sigma))``).
    overflow = first.overflow if first is not None else None
    numpy_overflow = first.numpy_overflow if first is not None else False
    if first is not None and first.lo > 0:
        return Range(
            _fmul(first.lo, first.lo), top, overflow=overflow, numpy_overflow=numpy_overflow
        )
    if first is not None and (first.nonzero or (first.lo == 0.0 and first.lo_open)):
        # Of a value kept off 0 (a positive setting).
        return Range(0.0, top, lo_open=True, overflow=overflow, numpy_overflow=numpy_overflow)
    return Range(0.0, top, reason=reason, overflow=overflow, numpy_overflow=numpy_overflow)


def _labels_pairwise(node: ast.BinOp, frame: _Frame) -> bool:
    """``labels[:, None] - labels[None, :]``: a pairwise difference of the labels (see
    :func:`_labels_named`), through which no gradient flows."""
    pairwise = _broadcast_of(node.left, frame)
    return (
        pairwise is not None
        and pairwise == _broadcast_of(node.right, frame)
        and _labels_named(pairwise[-1])
    )


def _labels_named(name: str) -> bool:
    """``y_true``, ``labels``, ``pog_labels``, ``gt_boxes``: a name for targets, which carry no
    gradient."""
    return truth_name(name) or bool(_LABEL_WORDS.intersection(name.lower().split("_")))


_LABEL_WORDS: Final = frozenset({"label", "labels", "target", "targets", "gt", "truth"})


def _broadcast_of(node: ast.expr, frame: _Frame) -> list[str] | None:
    """The dotted name that ``node`` (or the expression last bound to it) gives a new axis:
    ``expand_dims(x, 1)``, ``x[:, None]``, ``x[None, :]``, ``x[:, tf.newaxis]``."""
    if isinstance(node, ast.Name):
        node = frame.sources.get(node.id, node)
    if isinstance(node, ast.Call) and node.args:
        if names.last_name(node.func) in ("expand_dims", "unsqueeze"):
            return names.dotted(node.args[0])
        return None
    if isinstance(node, ast.Subscript):
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if any(
            (isinstance(item, ast.Constant) and item.value is None)
            or names.last_name(item) == "newaxis"
            for item in items
        ):
            return names.dotted(node.value)
    return None


def _same_value(a: ast.expr, b: ast.expr) -> bool:
    """Two spellings of one value: the same name or attribute chain (``A * A``; a call may
    draw anew, ``normal() * normal()`` is no square)."""
    dotted = names.dotted(a)
    return dotted is not None and dotted == names.dotted(b)


# Methods that compute a loss or a term of one, named so: their overrides are followed too.
_LOSS_METHOD: Final = re.compile(r"loss|penalty|regulari[sz]", re.IGNORECASE)


def _abstract(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> bool:
    """A method with no body of its own: a docstring, ``pass``, ``...`` or a ``raise`` of
    ``NotImplementedError``, for subclasses to override."""
    if isinstance(function, ast.Lambda):
        return False
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    for statement in body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # ``...``
        if isinstance(statement, ast.Raise) and statement.exc is not None:
            raised = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
            if names.last_name(raised) == "NotImplementedError":
                continue
        return False
    return True


def _joined_tuples(
    tuples: list[tuple[Range | None, ...]],
) -> tuple[Range | None, ...] | None:
    """The elements of a function's ``return a, b`` statements, joined position by position;
    None unless every return of a tuple has the same length."""
    if not tuples or any(len(t) != len(tuples[0]) for t in tuples):
        return None
    joined = list(tuples[0])
    for other in tuples[1:]:
        joined = [_join(a, b) for a, b in zip(joined, other, strict=True)]
    return tuple(joined)


def _called_defaults(
    function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
) -> dict[str, ast.expr]:
    """The parameters of ``function`` that it calls (``activation(x)``) and that have a default
    other than None, with that default."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    first = len(positional) - len(arguments.defaults)
    pairs = list(zip(positional[first:], arguments.defaults, strict=True))
    pairs += [
        (a, d)
        for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        if d is not None
    ]
    defaults = {a.arg: d for a, d in pairs if not (isinstance(d, ast.Constant) and d.value is None)}
    if not defaults:
        return {}
    called = {
        node.func.id
        for node in subtree(function)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    return {name: default for name, default in defaults.items() if name in called}


def _callable_test(test: ast.expr, frame: _Frame) -> bool | None:
    """The truth of ``f is None`` / ``f is not None`` / ``f`` / ``not f`` for a parameter
    that this call binds to a function; None when the test is anything else."""
    negated = False
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test, negated = test.operand, True
    if isinstance(test, ast.Name) and test.id in frame.callables:
        return not negated
    if (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id in frame.callables
        and len(test.ops) == 1
        and isinstance(test.ops[0], (ast.Is, ast.IsNot))
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is None
    ):
        return isinstance(test.ops[0], ast.IsNot) != negated
    return None


# Catalogue entries that are not a function of their first argument's range.
_NOT_APPLIED: Final = frozenset({"epsilon", "where", "cond", "sanitize"})


def _pairwise_extreme(node: ast.Call, frame: _Frame) -> str | None:
    """``torch.max(sigma, floor)``: with a second tensor (not a ``dim``), torch's max and min
    are the elementwise ``maximum`` and ``minimum``, a floor or a ceiling, not reductions."""
    target = names.qualify(node.func, frame.module.imports)
    module, _, last = (target or "").rpartition(".")
    if module != "torch" or last not in ("max", "min"):
        return None
    other = names.argument(node, 1, "other")
    if other is None or _integer_literal(other):
        return None  # ``torch.max(x, 1)``: the largest value along dimension 1
    return "maximum" if last == "max" else "minimum"


def _integer_literal(node: ast.expr) -> bool:
    """``1``, ``-1``: what torch reads as a dimension."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def _op_of(target: str) -> str | None:
    """The catalogue's range transfer for a tensor-math function by canonical name."""
    if target in _EPSILON:
        return "epsilon"
    module, _, last = target.rpartition(".")
    if ops.tensor_module(module) not in names.TENSOR_MATH_MODULES:
        return None
    entry = ops.function(last)
    return entry.range if entry is not None and entry.range != "unknown" else None


_STATE_FACTORIES: Final = frozenset({"add_weight", "add_variable", "Variable"})


def _metric_state(node: ast.ClassDef) -> dict[str, Range | None]:
    """``self.x = self.add_weight(..., initializer="zeros")``: state that starts at 0.

    Its sign is unknown (a running total can be negative) but it can be 0, which is what a
    ``result()`` dividing by it must survive before the first batch with positives.
    """
    state: dict[str, Range | None] = {}
    for stmt in subtree(node):
        if not (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)):
            continue
        call = stmt.value
        name = _callee_name(call)
        if name not in _STATE_FACTORIES:
            continue
        initializer = next((k.value for k in call.keywords if k.arg == "initializer"), None)
        zero = initializer is None or (
            isinstance(initializer, ast.Constant) and initializer.value in ("zeros", "zero", 0, 0.0)
        )
        # ``initializers.Zeros()``, ``tf.zeros_initializer()``, ``keras.initializers.zeros``
        spelled = initializer.func if isinstance(initializer, ast.Call) else initializer
        if isinstance(spelled, (ast.Attribute, ast.Name)):
            last = spelled.attr if isinstance(spelled, ast.Attribute) else spelled.id
            zero = zero or last in ("Zeros", "zeros", "zeros_initializer")
        if name == "Variable":
            first = call.args[0] if call.args else None
            zero = _number(first) == 0.0
        if not zero:
            continue
        for target in stmt.targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
                and not _counted_from_one(node, target.attr)
            ):
                state[f"self.{target.attr}"] = Range(
                    -INF, INF, reason=f"self.{target.attr} starts at 0 (zeros initializer)"
                )
    return state


def _counted_from_one(node: ast.ClassDef, attribute: str) -> bool:
    """Whether ``self.<attribute>`` is set above 0 in ``__init__`` right where it is made, and
    every write to it in the class only sets or adds a positive number (a batch counter that
    ``__init__`` and ``reset_state`` start at 1 with ``assign_add(1.0)``): never 0 when read."""
    writes = [
        call
        for call in subtree(node)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr in ("assign", "assign_add", "assign_sub")
        and names.self_attribute(call.func.value) == attribute
    ]
    if not writes or not all(
        w.func.attr != "assign_sub" and len(w.args) == 1 and (_number(w.args[0]) or 0.0) > 0
        for w in writes
        if isinstance(w.func, ast.Attribute)
    ):
        return False
    init = next(
        (
            s
            for s in node.body
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "__init__"
        ),
        None,
    )
    return init is not None and any(
        isinstance(s, ast.Expr) and any(s.value is w for w in writes) for s in init.body
    )


def _counts_samples(node: ast.ClassDef, attribute: str) -> bool:
    """Whether ``self.<attribute>`` counts what the metric has seen: every write to it in the
    class adds a count of samples or elements (``assign_add(tf.cast(tf.shape(y_true)[0],
    "float32"))``, ``len(y_true)``, ``tf.size(x)``, the sum of ``ones_like(y_true)``, a positive
    number), or sets it back to 0 (``reset_state``). It is 0 only before the first update, and
    Keras reads ``result()`` after one (``update_state`` may still divide by it before its own
    increment): not the count a batch without positives leaves at 0 (``tp + fp``), which is a
    sum of what the data holds."""
    added = False
    for method in node.body:
        if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for kind, call, bindings in _state_writes(method, attribute):
            value = call.args[0] if len(call.args) == 1 else None
            if kind == "assign" and value is not None and _zero_fill(value):
                continue
            if kind != "assign_add" or value is None:
                return False
            if not _sample_count(value, bindings):
                return False
            added = True
    return added


# A method's local names, each with the value of the plain assignment that last bound it in
# its straight-line body and the names as they were bound then.
_Bindings = Mapping[str, tuple[ast.expr, Any]]


def _state_writes(
    method: ast.FunctionDef | ast.AsyncFunctionDef, attribute: str
) -> Iterator[tuple[str, ast.Call, _Bindings]]:
    """Each ``self.<attribute>.assign*(...)`` call of ``method`` (with which of them), with
    the local names bound
    by the statements before it (``count = tf.ones_like(y_true)``, then ``count =
    tf.reduce_sum(count)``: each value read with the names of its own time). A name bound in a
    branch or a loop is no longer known."""
    bindings: dict[str, tuple[ast.expr, Any]] = {}
    for stmt in method.body:
        for call in subtree(stmt):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in ("assign", "assign_add", "assign_sub")
                and names.self_attribute(call.func.value) == attribute
            ):
                yield call.func.attr, call, bindings
        stored = {
            n.id for n in subtree(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        if not stored:
            continue
        now = {name: value for name, value in bindings.items() if name not in stored}
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                now[target.id] = (stmt.value, bindings)
        bindings = now


def _zero_fill(node: ast.expr) -> bool:
    """``0``, ``0.0``, ``tf.zeros_like(self.count)``, ``tf.zeros(shape)``: a reset."""
    return _number(node) == 0.0 or _catalogued(node) == "zero"


def _catalogued(node: ast.expr) -> str | None:
    """The op catalogue's range transfer of the function ``node`` calls (by its last name:
    ``count`` for ``tf.size``, ``one`` for ``ones_like``), else None."""
    if not isinstance(node, ast.Call):
        return None
    op = ops.function(_callee_name(node))
    if op is None:
        return None
    # A value-preserving op elementwise (``cast``, ``to_float``), not one that moves values.
    return "cast" if op.range == "identity" and op.batch == "elementwise" else op.range


def _sample_count(node: ast.expr, local: _Bindings, depth: int = 0) -> bool:
    """Whether ``node`` is a count of samples or elements, > 0 for any batch: a positive
    number, ``len(x)``, ``tf.size(x)``, a dimension of a shape (``tf.shape(x)[0]``,
    ``x.shape[0]``), a sum of ones (``reduce_sum(ones_like(x))``), a product of counts, a cast
    of one, or a local name bound to one."""
    if depth > 4:
        return False
    number = _number(node)
    if number is not None:
        return number > 0
    if isinstance(node, ast.Name):
        bound = local.get(node.id)
        return bound is not None and _sample_count(bound[0], bound[1], depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _sample_count(node.left, local, depth + 1) and _sample_count(
            node.right, local, depth + 1
        )
    if isinstance(node, ast.Subscript):
        shape = node.value
        return (isinstance(shape, ast.Attribute) and shape.attr == "shape") or (
            isinstance(shape, ast.Call) and _callee_name(shape) == "shape"
        )
    if not isinstance(node, ast.Call) or not node.args:
        return False
    kind = _catalogued(node)
    if kind == "cast" or _callee_name(node) in ("float", "int"):
        return _sample_count(node.args[0], local, depth + 1)
    if kind == "count" or _callee_name(node) == "len":
        return True
    if kind == "sum":
        ones, bindings = node.args[0], local
        while isinstance(ones, ast.Name) and ones.id in bindings:  # ``count = ones_like(y)``
            ones, bindings = bindings[ones.id]
        return _catalogued(ones) == "one"
    return False


# Keras's own metrics whose ``result()`` a composed metric reads: a ratio in [0, 1] that is 0
# where nothing is counted yet (precision and recall take divide_no_nan of 0/0), or a count.
_METRIC_RESULTS: Final = {
    **dict.fromkeys(("Precision", "Recall", "PrecisionAtRecall", "RecallAtPrecision"), "ratio"),
    **dict.fromkeys(
        ("Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy"),
        "ratio",
    ),
    **dict.fromkeys(
        ("TruePositives", "TrueNegatives", "FalsePositives", "FalseNegatives"), "count"
    ),
}


def _may_reach_zero(value: Range) -> bool:
    """Can the value be 0 or below (the domain edge of log, sqrt, fractional powers)?"""
    return value.lo < 0 or value.may_be_zero()


def _add_any(a: Range | None, b: Range | None, guard: bool = True) -> Range | None:
    """``a + b``; unknown if either is: an unknown addend is often the guard
    (``union + self.smooth``)."""
    if a is not None and b is not None:
        return _add(a, b, guard)
    return None


def _cosh_sum(a: Range | None, b: Range | None) -> Range:
    """``exp(x) + exp(-x)`` = 2 cosh(x) >= 2: neither term underflows where the other is small.
    It still overflows where either exponent is unbounded above."""
    overflow = (a.overflow if a else None) or (b.overflow if b else None)
    carrying = [v for v in (a, b) if v is not None and v.overflow is not None]
    return Range(
        2.0,
        INF,
        overflow=overflow,
        numpy_overflow=bool(carrying) and all(v.numpy_overflow for v in carrying),
        pending=_pending(a, b),
    )


def _mul_any(a: Range | None, b: Range | None, data: bool = False) -> Range | None:
    """``a * b``; where one is unknown, see _mul_unknown (``data``: that one is handed in)."""
    if a is not None and b is not None:
        return _mul(a, b)
    known = a or b
    return _mul_unknown(known, data) if known is not None else None


def _quotient(numerator: Range | None, denominator: Range | None) -> Range | None:
    """``n / d`` once a zero denominator has been dealt with (reported or excluded)."""
    if numerator is None or denominator is None:
        return None
    # A value never positive, over a denominator, or over one never positive: the quotient of
    # their opposites, with its sign (``(log(0.25) - log(4)) / width`` is negative, never 0).
    if numerator.hi <= 0 and numerator.lo < 0:
        flipped = _quotient(_negate(numerator), denominator)
        return _negate(flipped) if flipped is not None else None
    if denominator.hi <= 0 and denominator.lo < 0:
        flipped = _quotient(numerator, _negate(denominator))
        return _negate(flipped) if flipped is not None else None
    if numerator.lo >= 0 and denominator.lo >= 0:
        if denominator.lo > 0 or (denominator.lo == 0 and denominator.lo_open):
            hi = _fdiv(numerator.hi, denominator.lo)
            lo = 0.0 if numerator.lo == 0 else _fdiv(numerator.lo, denominator.hi)
            # Positive over positive is positive: an unbounded denominator makes the quotient
            # small, never 0 (1 / mse of a finite mse).
            lo_open = (numerator.lo_open and numerator.lo == 0) or (numerator.lo > 0 and lo == 0)
            return Range(0.0 if math.isnan(lo) else lo, INF if math.isnan(hi) else hi, lo_open)
        # The zero denominator is reported: elsewhere a positive numerator gives a positive value.
        return Range(0.0, INF, numerator.lo > 0, reason=numerator.reason)
    return Range(-INF, INF, reason=numerator.reason)


def _over_unknown(numerator: Range | None) -> Range | None:
    """``n / d`` where nothing is known of ``d``: nothing is known of the quotient either, but
    for one thing: a numerator that is never negative and reaches 0 (an intersection area
    ``maximum(0, ...)``, a count) gives a quotient that reaches 0, whatever finite ``d`` it is
    divided by. So ``log(intersection / union)`` is judged as ``log`` of a value that can be 0
    (KerasCV's ``IoULoss(mode="log")``: two boxes that do not overlap give ``-log(0)``)."""
    if numerator is None or numerator.lo != 0 or not numerator.may_be_zero():
        return None
    return Range(0.0, INF, reason=numerator.reason)


def _reported(value: Range | None, node: ast.AST, kind: str, frame: _Frame) -> Range | None:
    """The value that flows on after a hazard, remembering the hazard it carries."""
    if value is None:
        return None
    key = (frame.module.path, node_span(node, frame.module.lines), kind)
    return replace(value, pending=(*value.pending, key))


def _carry(result: Range | None, *inputs: Range | None) -> Range | None:
    """The result keeps the hazards its inputs carry (for a later ``nan_to_num``)."""
    if result is None:
        return None
    pending = _pending(result, *inputs)
    return result if pending == result.pending else replace(result, pending=pending)


# Methods that change a tensor's type or device, not its values.
_METHOD_CASTS: Final = frozenset(
    {"float", "double", "half", "to", "detach", "cpu", "cuda", "type", "astype", "type_as"}
)


# What a script's configuration is called: ``self.config["output"]["width"]``, ``cfg["lr"]``.
_CONFIG_NAMES: Final = frozenset(
    {"config", "cfg", "conf", "configs", "configuration", "params", "hparams", "hyperparams",
     "settings", "opts", "options", "flags"}
)  # fmt: skip


def _config_lookup(node: ast.Subscript) -> bool:
    """``config["output_data"]["width"]``: an entry of the configuration by constant keys."""
    value: ast.expr = node
    while isinstance(value, ast.Subscript):
        key = value.slice
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return False
        value = value.value
    last = names.last_name(value) if isinstance(value, (ast.Name, ast.Attribute)) else None
    return isinstance(last, str) and last.lower() in _CONFIG_NAMES


def _setting(node: ast.expr, frame: _Frame) -> bool:
    """Whether ``node`` is computed from settings alone: module-level names and constants,
    parameters named like constants (``STRIDES``, ``NUM_CLASS``), and sizes read from a
    tensor's shape (``tf.shape(x)[1]``, ``x.shape[-1]``), through casts, arithmetic, indexing
    and this function's own assignments of such values (:attr:`_Frame.settings`). Such a value
    is a setting of the script (``img_height * img_width``, ``STRIDES[i] * output_size``), not
    data the loss is given: it is 0 only if a user sets it so, or for an empty tensor."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        if node.id in frame.params:
            return _constant_name(node.id)
        if node.id in frame.env:  # a local: what it was bound to
            return node.id in frame.settings
        return True  # a module-level name
    if isinstance(node, ast.BinOp):
        return _setting(node.left, frame) and _setting(node.right, frame)
    if isinstance(node, ast.UnaryOp):
        return _setting(node.operand, frame)
    if isinstance(node, ast.Subscript):
        if _config_lookup(node):
            return True
        index = node.slice
        indices = index.elts if isinstance(index, ast.Tuple) else [index]
        return (_setting(node.value, frame) or _shape(node.value)) and all(
            isinstance(i, (ast.Constant, ast.Name))
            or (isinstance(i, ast.UnaryOp) and isinstance(i.operand, ast.Constant))
            for i in indices
        )
    if isinstance(node, ast.Call):
        name = names.last_name(node.func)
        if name in _SHAPES:
            return True
        return name in _CASTS and bool(node.args) and _setting(node.args[0], frame)
    if isinstance(node, ast.Attribute):
        return node.attr == "shape"
    return False


_WEIGHT_MAKERS: Final = frozenset({"add_weight", "add_variable", "Variable", "get_variable"})


def _random_weight(value: ast.expr) -> bool:
    """``self.add_weight(shape=..., initializer="glorot_uniform")``, ``tf.Variable(
    initial_value=init(shape))``: a trainable weight that starts at random, not at zeros, a
    constant or a copy of something (no ``zeros``, no number, no ``trainable=False``)."""
    if not isinstance(value, ast.Call):
        return False
    maker = names.last_name(value.func)
    if maker not in _WEIGHT_MAKERS:
        return False
    for keyword in value.keywords:
        if keyword.arg == "trainable" and not (
            isinstance(keyword.value, ast.Constant) and keyword.value.value is True
        ):
            return False
    for part in subtree(value):
        if isinstance(part, ast.Constant) and type(part.value) in (int, float):
            if maker == "Variable":
                return False  # ``tf.Variable(0.0)``, ``tf.Variable([1.0, 2.0])``: a constant
            continue
        word = (
            part.value
            if isinstance(part, ast.Constant) and isinstance(part.value, str)
            else part.id
            if isinstance(part, ast.Name)
            else part.attr
            if isinstance(part, ast.Attribute)
            else ""
        ).lower()
        if "zero" in word or "constant" in word or word == "ones":
            return False
    return True


def _static_size(node: ast.Subscript) -> bool:
    """A size the model fixes, not the batch: ``y_pred.shape[1]``, ``K.int_shape(x)[2]`` (an
    axis after the first, by a positive index; ``tf.shape(x)[1]`` is read at run time and may
    change from batch to batch, a padded length). Such a count (of classes, of time steps) is
    the same on every step: ``cats - 1`` is 0 only for a model with one class, wrong from the
    first step, not a value that reaches 0 in training."""
    index = node.slice
    if not (isinstance(index, ast.Constant) and type(index.value) is int and index.value >= 1):
        return False
    shaped = node.value
    if isinstance(shaped, ast.Attribute):
        return shaped.attr == "shape"
    return isinstance(shaped, ast.Call) and names.last_name(shaped.func) == "int_shape"


def _configured(node: ast.expr, frame: _Frame) -> bool:
    """A setting (:func:`_setting`) or one the object holds: ``self.eps``, an item of
    ``self.std_bound``."""
    while isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        node = node.value
    return names.self_attribute(node) is not None or _setting(node, frame)


def _integer_dtype(node: ast.expr) -> bool:
    """``tf.int32``, ``"int64"``, ``torch.long``: an integer type."""
    text = node.value if isinstance(node, ast.Constant) else names.last_name(node)
    return isinstance(text, str) and re.fullmatch(r"u?int(8|16|32|64)?|long", text) is not None


def _index_parts(index: ast.expr) -> Iterator[ast.expr]:
    """The expressions an index is made of: a slice's bounds and step, a tuple's items; not
    ``None`` or ``...`` (``centres[None, 1:]``)."""
    for item in index.elts if isinstance(index, ast.Tuple) else [index]:
        if isinstance(item, ast.Slice):
            yield from (p for p in (item.lower, item.upper, item.step) if p is not None)
        elif not (isinstance(item, ast.Constant) and item.value in (None, Ellipsis)):
            yield item


# The ops whose value a configuration does not set: a size or count read from the batch, a
# gradient (see _configured).
_UNCONFIGURED: Final = frozenset({"count", "counts", "gradient"})

# The functions that read a tensor's shape, and the casts a setting keeps through.
_SHAPES: Final = frozenset({"shape", "int_shape"})
_CASTS: Final = frozenset({"cast", "float", "int", "to_float", "to_int32", "to_int64"})
_IDENTITY_MATRICES: Final = frozenset({"keras.ops.identity", "numpy.identity"})


def _boolean(node: ast.expr) -> bool:
    """A comparison, a logical not, or a call that makes booleans (``dtype="bool"``)."""
    if isinstance(node, ast.Compare) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.Invert))
    ):
        return True
    return isinstance(node, ast.Call) and any(
        k.arg == "dtype" and isinstance(k.value, ast.Constant) and k.value.value == "bool"
        for k in node.keywords
    )


def _constant_name(name: str) -> bool:
    """A name written like a constant (PEP 8): ``STRIDES``, ``NUM_CLASS``, not ``X`` or ``N``."""
    return len(name) >= 3 and name.isupper()


def _shape(node: ast.expr) -> bool:
    """A tensor's shape: ``x.shape``, ``tf.shape(x)``, ``K.int_shape(x)``."""
    if isinstance(node, ast.Attribute):
        return node.attr == "shape"
    return isinstance(node, ast.Call) and names.last_name(node.func) in _SHAPES


# Context managers under which nothing is recorded for a gradient: PyTorch's, and a tape's
# ``stop_recording()``.
_NO_GRAD: Final = frozenset({"no_grad", "inference_mode", "stop_recording"})


def _no_grad(expr: ast.expr) -> bool:
    """``torch.no_grad()``, ``torch.inference_mode()``, ``tape.stop_recording()``, and
    ``torch.set_grad_enabled(False)``."""
    if not isinstance(expr, ast.Call):
        return False
    name = names.last_name(expr.func)
    if name == "set_grad_enabled":
        return bool(expr.args) and isinstance(expr.args[0], ast.Constant) and not expr.args[0].value
    return name in _NO_GRAD


def _carried(expr: ast.expr, frame: _Frame) -> set[tuple[str, Span, str]]:
    """The hazards the names read in ``expr`` carry (see _Frame.taints)."""
    found: set[tuple[str, Span, str]] = set()
    for node in subtree(expr):
        if isinstance(node, ast.Name) and node.id in frame.taints:
            found.update(frame.taints[node.id])
    return found


def _replaces_tested(test: ast.expr, body: list[ast.stmt]) -> bool:
    """Whether the body of ``if test:`` gives up on, or replaces, each value the test calls a
    function on (``if is_nan(v): v = 0``, ``if is_inf(v): return 0``): a test that only
    looks (``if is_nan(v): print(...)``) handles nothing."""
    if _leaves(body):
        return True
    tested = {
        call.args[0].id
        for call in subtree(test)
        if isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Name)
    }
    assigned = {
        target.id
        for statement in body
        if isinstance(statement, ast.Assign)
        for target in statement.targets
        if isinstance(target, ast.Name)
    }
    return bool(tested) and tested <= assigned


def _leaves(body: list[ast.stmt]) -> bool:
    """Does the block always leave (``return``, ``raise``, ``continue``, ``break``)?"""
    if not body:
        return False
    last = body[-1]
    if isinstance(last, (ast.Return, ast.Raise, ast.Continue, ast.Break)):
        return True
    if isinstance(last, ast.If):
        return _leaves(last.body) and _leaves(last.orelse)
    return False


def _number(node: ast.expr | None) -> float | None:
    negative = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    if isinstance(node, ast.UnaryOp) and negative:
        node = node.operand
    if not isinstance(node, ast.Constant):
        return None
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return -to_float(value) if negative else to_float(value)


def _literal_numbers(node: ast.expr) -> list[float] | None:
    """The numbers of a (nested) list or tuple literal of numbers; None for anything else."""
    if not isinstance(node, (ast.List, ast.Tuple)) or not node.elts:
        return None
    numbers: list[float] = []
    for element in node.elts:
        inner = _literal_numbers(element) if isinstance(element, (ast.List, ast.Tuple)) else None
        value = _number(element)
        if inner is not None:
            numbers.extend(inner)
        elif value is not None:
            numbers.append(value)
        else:
            return None
    return numbers


def _rebound(targets: Sequence[ast.expr]) -> Iterator[str]:
    """The names an assignment to ``targets`` binds anew: plain names, also unpacked, not the
    object of an attribute or an item it sets."""
    for target in targets:
        if isinstance(target, ast.Name):
            yield target.id
        elif isinstance(target, (ast.Tuple, ast.List)):
            yield from _rebound(target.elts)
        elif isinstance(target, ast.Starred):
            yield from _rebound([target.value])


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in subtree(node) if isinstance(n, ast.Name)}


def _built_from(
    node: ast.expr, frame: _Frame, reads: Callable[[ast.AST], set[str]]
) -> Iterator[tuple[str, set[str] | None]]:
    """Each name ``node`` is built from, through the expressions last bound to them in
    ``frame``, once: with what its own expression ``reads``, or None where it has none here."""
    seen: set[str] = set()
    frontier = list(reads(node))
    while frontier:
        name = frontier.pop()
        if name in seen:
            continue
        seen.add(name)
        source = frame.sources.get(name) or frame.unpacked.get(name)
        read = reads(source) if source is not None else None
        if read is not None:
            frontier.extend(read)
        yield name, read


def _binds(targets: Sequence[ast.expr]) -> Iterator[str]:
    """What an assignment to ``targets`` sets, for the dependencies of a trained value: plain
    names, and attribute chains as written (``self.generation_loss``, not all of ``self``);
    the names in any other target (an item, ``x[i]``)."""
    for target in targets:
        if isinstance(target, (ast.Tuple, ast.List)):
            yield from _binds(target.elts)
        elif isinstance(target, ast.Starred):
            yield from _binds([target.value])
        elif isinstance(target, ast.Attribute) and (parts := names.dotted(target)):
            yield ".".join(parts)
        else:
            yield from (n.id for n in subtree(target) if isinstance(n, ast.Name))


def _reads(node: ast.AST) -> set[str]:
    """What an expression reads, for the same dependencies: names, and attribute chains with
    each of their prefixes (``self.cost`` reads ``self.cost``, not every attribute of
    ``self``); a method's object whole (``self.compute()`` may read any of it)."""
    found: set[str] = set()
    seen: set[int] = set()
    for child in subtree(node):
        if id(child) in seen:
            continue
        if _shape_read(child):
            # ``N, D = Xtrain.shape``, ``len(X)``: a NaN in the values changes no shape, so
            # what computed them (data preparation) is not a dependency of the trained value.
            seen.update(id(n) for n in subtree(child))
            continue
        if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
            parts = names.dotted(child.func)
            if parts:
                found.add(parts[0])
        if isinstance(child, ast.Attribute) and (parts := names.dotted(child)):
            found.update(".".join(parts[:end]) for end in range(2, len(parts) + 1))
            inner: ast.expr = child
            while isinstance(inner, ast.Attribute):
                seen.add(id(inner))
                inner = inner.value
            seen.add(id(inner))
        elif isinstance(child, ast.Name):
            found.add(child.id)
    return found


# Where Keras's regression errors live (ops.REGRESSION_ERRORS): functions and classes.
_KERAS_ERROR_MODULES: Final = frozenset({"keras.losses", "keras.metrics"})

# Losses that take logits, by module (TF 2's positional order: labels, then logits; TF 1's
# ``_sentinel`` made its keywords the only spelling).
# TensorFlow Probability's distributions whose first parameter is ``logits`` (``probs`` must be
# named): a softmax or sigmoid given by position is squashed twice.
_LOGITS_DISTRIBUTIONS: Final = frozenset({"Categorical", "OneHotCategorical", "Bernoulli"})
_LOGITS_OPS: Final = {
    "tensorflow.nn": frozenset(
        {
            "softmax_cross_entropy_with_logits",
            "softmax_cross_entropy_with_logits_v2",
            "sparse_softmax_cross_entropy_with_logits",
            "sigmoid_cross_entropy_with_logits",
            "weighted_cross_entropy_with_logits",
        }
    ),
    # TF 1's tf.losses (also tf.compat.v1.losses): (labels, logits, ...).
    "tensorflow.losses": frozenset(
        {"softmax_cross_entropy", "sigmoid_cross_entropy", "sparse_softmax_cross_entropy"}
    ),
}
# Keras's crossentropy classes, which take logits where told ``from_logits=True`` (the
# functions, also of Keras 2's backend and of keras.ops, are wiring's CROSSENTROPY_FUNCTIONS).
_CROSSENTROPY_CLASSES: Final = frozenset(n for n in CROSSENTROPY_FAMILIES if "Crossentropy" in n)
# A loss object's call: the call that made the object, with its module, and its Keras class.
_LossObject = tuple[tuple[ast.Call, ModuleIndex], str]


# How a model is built where ``_applied_model`` reads its output (canonical names).
_MODEL_CLASSES: Final = frozenset({"keras.Sequential", "keras.Model"})


def _probabilities(from_logits: ast.expr | None) -> bool:
    """Whether a crossentropy's ``from_logits`` argument, as written, leaves it taking
    probabilities: left out, or ``False``."""
    return from_logits is None or names.is_false(from_logits)


def _given(call: ast.Call, index: int, *keywords: str) -> ast.expr | None:
    """The argument of ``call`` at position ``index`` or by one of ``keywords``."""
    for keyword in call.keywords:
        if keyword.arg in keywords:
            return keyword.value
    if len(call.args) > index and not any(isinstance(a, ast.Starred) for a in call.args):
        return call.args[index]
    return None


# Samplers of class numbers from logits (pseudo-labels, a policy's actions): integers, with no
# gradient, and -inf a valid logit (a class never drawn).
_INTEGER_SAMPLERS: Final = frozenset(
    {
        "tensorflow.random.categorical",
        "tensorflow.random.stateless_categorical",
        "tensorflow.multinomial",
        "tensorflow.compat.v1.multinomial",
        "keras.random.categorical",
        "jax.random.categorical",
        "torch.multinomial",
    }
)


def _shape_read(node: ast.AST) -> bool:
    """``x.shape`` (``.ndim``, ``.dtype``) or ``len(x)`` of a name or an attribute chain."""
    if isinstance(node, ast.Attribute) and node.attr in ops.LAYOUT_ATTRIBUTES:
        return bool(names.dotted(node.value))
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "len"
        and len(node.args) == 1
        and bool(names.dotted(node.args[0]))
    )


def _matches(bound: str, needed: set[str]) -> bool:
    """Whether setting ``bound`` changes something in ``needed``: the same name or chain, a
    prefix of one (``self.model = ...`` for ``self.model.output``), or a chain inside a whole
    object needed (``self.x = ...`` for ``self``)."""
    if bound in needed:
        return True
    return any(n.startswith(bound + ".") or bound.startswith(n + ".") for n in needed)


def _paired_tuple(node: ast.Assign) -> bool:
    """``a, b = x, y``: one tuple target and a tuple of as many values, none starred."""
    if len(node.targets) != 1:
        return False
    target, source = node.targets[0], node.value
    return (
        isinstance(target, (ast.Tuple, ast.List))
        and isinstance(source, (ast.Tuple, ast.List))
        and len(source.elts) == len(target.elts)
        and not any(isinstance(e, ast.Starred) for e in (*source.elts, *target.elts))
    )


def _unread(node: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """The names a function binds by a plain assignment and never reads anywhere in its body
    (nested functions included), nor declares global or nonlocal."""
    assigned: set[str] = set()
    read: set[str] = set()
    for child in subtree(node):
        if isinstance(child, ast.Name):
            if isinstance(child.ctx, (ast.Load, ast.Del)):
                read.add(child.id)
        elif isinstance(child, (ast.Global, ast.Nonlocal)):
            read.update(child.names)
        elif isinstance(child, ast.Assign):
            assigned.update(t.id for t in child.targets if isinstance(t, ast.Name))
        elif isinstance(child, (ast.AugAssign, ast.AnnAssign)) and isinstance(
            child.target, ast.Name
        ):
            read.add(child.target.id)  # ``x += ...`` reads it
    return frozenset(assigned - read - {"_", "__"})


def _dependencies(statements: list[ast.stmt], start: set[str], line: int) -> set[tuple[str, int]]:
    """The assignments (name, line) the value read at ``line`` depends on, through the
    assignments of the scope (its own: not those of the functions and classes it defines,
    whose names are theirs, as a notebook's plotting helper's ``x, y = point`` is not the
    module's ``y``). Only assignments that can reach ``line`` count: those above it, and any in
    a loop around it; one that runs unconditionally above it hides the earlier ones of its
    names (a notebook's cells reuse ``x``, ``y`` and ``loss`` for unrelated examples)."""
    found: list[tuple[ast.stmt, bool]] = []  # each assignment, and whether it always runs
    looped: list[ast.stmt] = []  # the assignments of the loops around ``line``

    def walk(body: list[ast.stmt], always: bool) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if _assigns(stmt):
                found.append((stmt, always))
            if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)) and _encloses(stmt, line):
                # A loop around the value: its assignments reach it from any order.
                looped.extend(s for s in flat_statements(stmt.body) if _assigns(s))
                continue
            inner = isinstance(stmt, (ast.With, ast.AsyncWith))
            for name in ("body", "orelse", "finalbody"):
                walk(getattr(stmt, name, None) or [], always and inner)
            for handler in getattr(stmt, "handlers", ()):
                walk(handler.body, False)

    walk(statements, True)
    needed = set(start)
    reaching: set[tuple[str, int]] = set()

    def follow(stmt: ast.stmt, always: bool) -> bool:
        grown_list = _appended(stmt)
        if grown_list is not None:  # ``costs.append(cost)``: costs now holds cost too
            assigned, read = {grown_list[0]}, set().union(*map(_reads, grown_list[1]))
            if not any(_matches(a, needed) for a in assigned):
                return False
        else:
            value = stmt.value  # type: ignore[attr-defined]
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]  # type: ignore[attr-defined]
            assigned = set(_binds(targets))
            if value is None or not any(_matches(a, needed) for a in assigned):
                return False
            read = _reads(value)
            if isinstance(stmt, ast.AugAssign):
                read |= _reads(stmt.target)
        new = {(name, stmt.lineno) for name in assigned if _matches(name, needed)} - reaching
        reaching.update(new)
        if always and not isinstance(stmt, ast.AugAssign) and grown_list is None:
            # What is bound anew: a name or an attribute chain, not the object an attribute is
            # set on (``self.latent_loss = ...`` leaves ``self.generation_loss`` as it was).
            chains = {t for t in assigned if "." in t}
            needed.difference_update(chains | set(_rebound(targets)))
        grown = not read <= needed
        needed.update(read)
        return bool(new) or grown

    while any([follow(stmt, False) for stmt in reversed(looped)]):
        pass  # each pass through the loop may need more of it: to a fixed point
    for stmt, always in reversed([(s, a) for s, a in found if s.lineno < line]):
        follow(stmt, always)
    return reaching


def _encloses(node: ast.stmt | ast.expr, line: int) -> bool:
    return node.lineno <= line <= (node.end_lineno or node.lineno)


def _assigns(stmt: ast.stmt) -> bool:
    """An assignment, or a list grown in place (see _appended)."""
    return isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)) or (
        _appended(stmt) is not None
    )


def _appended(stmt: ast.stmt) -> tuple[str, list[ast.expr]] | None:
    """``costs.append(cost)`` (or ``extend``, ``insert``) as a statement: the list's name and
    what it now also holds (a loss per device, added up after the loop with ``tf.add_n``)."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return None
    func = stmt.value.func
    if (
        isinstance(func, ast.Attribute)
        and func.attr in ("append", "extend", "insert")
        and isinstance(func.value, ast.Name)
        and stmt.value.args
    ):
        return func.value.id, list(stmt.value.args)
    return None


def _span_of(node: ast.AST) -> tuple[tuple[int, int], tuple[int, int]]:
    line = getattr(node, "lineno", 1)
    return (line, getattr(node, "col_offset", 0) + 1), (
        getattr(node, "end_lineno", line) or line,
        (getattr(node, "end_col_offset", 0) or 0) + 1,
    )


def find_hazards(project: ProjectIndex) -> list[Hazard]:
    return RangeAnalysis(project).run()


def _operand(node: ast.expr) -> str:
    """The text of an operand of ``**``, in parentheses where it is an operation itself."""
    text = _text(node)
    compound = (ast.BinOp, ast.BoolOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Lambda)
    return f"({text})" if isinstance(node, compound) else text
