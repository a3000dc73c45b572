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
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from losslint.analysis import rewrites
from losslint.diagnostic import Fix, Span
from losslint.index import names
from losslint.index.facts import LossDef, ModuleIndex
from losslint.index.positions import node_span
from losslint.index.project import ProjectIndex

INF: Final = math.inf
_MAX_DEPTH: Final = 4  # helper calls followed
_MAX_EXPR_DEPTH: Final = 60

# Modules whose functions are tensor math, by canonical module name.
# Last name component → operation.
_OPS: Final = {
    **dict.fromkeys(("log", "log2", "log10"), "log"),
    "log1p": "log1p",
    **dict.fromkeys(("sqrt",), "sqrt"),
    "rsqrt": "rsqrt",
    **dict.fromkeys(("exp", "expm1", "exp2"), "exp"),
    **dict.fromkeys(("divide", "truediv", "div", "true_divide", "realdiv"), "divide"),
    **dict.fromkeys(("divide_no_nan", "div_no_nan"), "divide_no_nan"),
    "reciprocal": "reciprocal",
    **dict.fromkeys(("pow", "power", "float_power"), "pow"),
    "square": "square",
    **dict.fromkeys(("abs", "absolute", "fabs"), "abs"),
    **dict.fromkeys(("clip", "clip_by_value", "clamp"), "clip"),
    **dict.fromkeys(("maximum", "fmax"), "maximum"),
    **dict.fromkeys(("minimum", "fmin"), "minimum"),
    **dict.fromkeys(("sigmoid", "expit"), "sigmoid"),
    "hard_sigmoid": "sigmoid",
    "softmax": "softmax",
    **dict.fromkeys(("log_softmax", "log_sigmoid", "logsigmoid"), "nonpositive"),
    "softplus": "softplus",
    "tanh": "unit",
    **dict.fromkeys(("cos", "sin", "sign"), "unit"),
    "relu": "relu",
    **dict.fromkeys(("l2_normalize", "normalize"), "normalize"),
    **dict.fromkeys(("acos", "arccos"), "acos"),
    **dict.fromkeys(("asin", "arcsin"), "asin"),
    **dict.fromkeys(("sum", "reduce_sum", "nansum", "cumsum"), "sum"),
    **dict.fromkeys(("mean", "reduce_mean", "nanmean", "average"), "mean"),
    **dict.fromkeys(("max", "reduce_max", "amax", "min", "reduce_min", "amin"), "extreme"),
    **dict.fromkeys(("logsumexp", "reduce_logsumexp"), "logsumexp"),
    "norm": "norm",
    "where": "where",
    **dict.fromkeys(
        (
            "cast",
            "stop_gradient",
            "reshape",
            "flatten",
            "batch_flatten",
            "transpose",
            "squeeze",
            "expand_dims",
            "identity",
            "convert_to_tensor",
            "constant",
            "round",
            "floor",
            "ceil",
            "gather",
            "take",
            "tile",
            "repeat",
            "permute_dimensions",
            "to_float",
            "asarray",
            "array",
        ),
        "identity",
    ),
    **dict.fromkeys(("shape", "size", "int_shape", "count_nonzero"), "count"),
    **dict.fromkeys(
        (
            "one_hot",
            "equal",
            "not_equal",
            "greater",
            "greater_equal",
            "less",
            "less_equal",
            "logical_and",
            "logical_or",
            "logical_not",
        ),
        "boolean",
    ),
    "ones_like": "one",
    "zeros_like": "zero",
}
# Tensor methods (``y_pred.log()``, ``x.clamp(min=eps)``, torch and NumPy style).
_METHODS: Final = {
    "log": "log",
    "sqrt": "sqrt",
    "exp": "exp",
    "sum": "sum",
    "mean": "mean",
    "clamp": "clip",
    "clip": "clip",
    "clamp_min": "maximum",
    "pow": "pow",
    "abs": "abs",
    "square": "square",
    "sigmoid": "sigmoid",
    "softmax": "softmax",
    "norm": "norm",
    "max": "extreme",
    "min": "extreme",
}
_EPSILON: Final = frozenset({"keras.backend.epsilon", "keras.config.epsilon"})
_GUARD_METHODS: Final = frozenset({"clamp", "clip", "clamp_min", "clamp_max"})
_GUARDS: Final = frozenset({"clip", "maximum", "minimum", "divide_no_nan", "normalize"})


@dataclass(frozen=True, slots=True)
class Range:
    """An interval of possible values, with why its boundary can be reached."""

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

    def may_be_zero(self) -> bool:
        return self.may_be_at_most(0.0) and (self.hi > 0 or (self.hi == 0 and not self.hi_open))

    def may_be_at_most(self, bound: float) -> bool:
        return self.lo < bound or (self.lo == bound and not self.lo_open)

    def may_be_at_least(self, bound: float) -> bool:
        return self.hi > bound or (self.hi == bound and not self.hi_open)

    @property
    def is_constant(self) -> bool:
        return self.lo == self.hi and not self.lo_open and math.isfinite(self.lo)


def point(value: float, reason: str = "") -> Range:
    return Range(value, value, reason=reason)


@dataclass(frozen=True, slots=True)
class Hazard:
    """A place in loss code where a value can reach an operation's boundary."""

    kind: str  # "log" | "log-normalizer" | "sqrt" | "divide" | "exp" | "power" | "trig" | "guard"
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
        overflow=a.overflow or b.overflow,
    )


def _add(a: Range, b: Range, guard: bool = True) -> Range:
    # An added positive constant is taken as an explicit guard: the author says the other
    # operand is not negative (``log(y_pred + eps)``), so we believe it. Not for ``c - x``.
    if guard and b.is_constant and b.lo > 0 and a.lo < 0 and not a.is_constant:
        a = replace(a, lo=0.0, lo_open=False)
    elif guard and a.is_constant and a.lo > 0 and b.lo < 0 and not b.is_constant:
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
    )


def _sum(x: float, y: float, default: float) -> float:
    total = x + y
    return default if math.isnan(total) else total


def _negate(a: Range) -> Range:
    return Range(-a.hi, -a.lo, a.hi_open, a.lo_open, reason=a.reason, overflow=a.overflow)


def _mul(a: Range, b: Range) -> Range:
    products = [_product(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
    lo, hi = min(products), max(products)
    open_lo = (a.lo_open and b.lo >= 0) or (b.lo_open and a.lo >= 0)
    zero_side = a if a.may_be_zero() else b
    return Range(
        lo, hi, open_lo and lo >= 0, False, zero_side.reason, overflow=a.overflow or b.overflow
    )


def _product(x: float, y: float) -> float:
    if x == 0 or y == 0:
        return 0.0
    return x * y


def _reduce_sum(a: Range) -> Range:
    """A sum over an axis of unknown length: the sign survives, the size does not."""
    if a.sum_floor is not None:
        return Range(a.sum_floor, INF)
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


def _clip(a: Range | None, low: Range | None, high: Range | None) -> Range:
    lo, lo_open, reason = -INF, False, ""
    if low is not None and low.is_constant:
        lo = low.lo
        if a is not None and (a.lo > lo or (a.lo == lo and a.lo_open)):
            lo, lo_open = a.lo, a.lo_open
        if lo <= 0:
            reason = f"clipped with a lower bound of {_fmt(lo)}"
    elif a is not None:
        lo, lo_open, reason = a.lo, a.lo_open, a.reason
    hi, hi_open = INF, False
    if high is not None and high.is_constant:
        hi = high.lo
        if a is not None and a.hi < hi:
            hi, hi_open = a.hi, a.hi_open
        if hi >= 1 and not reason:
            reason = f"clipped with an upper bound of {_fmt(hi)}"
    elif a is not None:
        hi, hi_open = a.hi, a.hi_open
    return Range(lo, hi, lo_open, hi_open, reason)


def _fmt(value: float) -> str:
    return f"{value:g}"


def _maximum(a: Range | None, b: Range | None) -> Range | None:
    if a is None and b is None:
        return None
    if a is None or b is None:
        known = a or b
        assert known is not None
        # max(unknown, c) ≥ c
        return Range(known.lo, INF, known.lo_open, False, known.reason)
    lo, lo_open = max((a.lo, not a.lo_open), (b.lo, not b.lo_open))
    hi = max(a.hi, b.hi)
    low_side = a if a.lo <= b.lo else b
    return Range(lo, hi, not lo_open, False, low_side.reason)


def _minimum(a: Range | None, b: Range | None) -> Range | None:
    if a is None and b is None:
        return None
    if a is None or b is None:
        known = a or b
        assert known is not None
        return Range(-INF, known.hi, False, known.hi_open, known.reason)
    lo = min(a.lo, b.lo)
    lo_open = a.lo_open if a.lo < b.lo else b.lo_open if b.lo < a.lo else a.lo_open and b.lo_open
    hi, hi_open = min((a.hi, a.hi_open), (b.hi, b.hi_open))
    return Range(lo, hi, lo_open, hi_open, a.reason or b.reason)


def _text(node: ast.AST, limit: int = 48) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
    targets: frozenset[str] = frozenset()  # names assigned by the statement being evaluated


class RangeAnalysis:
    """Interprets loss code over :class:`Range` values and collects :class:`Hazard` facts."""

    def __init__(self, project: ProjectIndex) -> None:
        self.project = project
        self.hazards: dict[tuple[str, Span, str], Hazard] = {}
        self._memo: dict[tuple[str, tuple[Range | None, ...]], Range | None] = {}
        self._active: set[str] = set()
        self._record: list[tuple[Hazard, frozenset[str]]] | None = None
        self._record_frame: _Frame | None = None
        self._by_name = {m.module: m for m in project.modules}

    # -- entry points ----------------------------------------------------------------------

    def run(self) -> list[Hazard]:
        for definition in self.project.definitions():
            self._definition(definition)
        for module in self.project.modules:
            for objective in module.objectives:
                self._objective(module, objective.kind, objective.scope, objective.node)
        return sorted(self.hazards.values(), key=lambda h: (h.path, h.span.line, h.span.column))

    def _module(self, name: str) -> ModuleIndex | None:
        return self._by_name.get(name)

    def _definition(self, definition: LossDef) -> None:
        module = self._module(definition.module)
        if module is None:
            return
        node = definition.node
        if isinstance(node, ast.ClassDef):
            state = _metric_state(node) if definition.kind == "metric_class" else {}
            for method in node.body:
                if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) and method.name in (
                    "call",
                    "__call__",
                    "update_state",
                    "result",
                ):
                    qualname = f"{definition.qualname}.{method.name}"
                    self.function(module, qualname, method, None, node.name, state)
            return
        outer: dict[str, Range | None] = {}
        if definition.factory is not None:
            found = self.project.functions.get(definition.factory)
            if found is not None:
                outer = self._defaults(found[1].node, loss_inputs=False)
        self.function(module, definition.qualname, node, None, None, outer)

    # -- functions -------------------------------------------------------------------------

    def _defaults(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, loss_inputs: bool
    ) -> dict[str, Range | None]:
        """Parameter ranges: numeric defaults, and the loss inputs (``y_true``, ``y_pred``)."""
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        env: dict[str, Range | None] = {}
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
        defaults.extend(args.defaults)
        pairs = list(zip(positional, defaults, strict=True))
        pairs += list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
        tensors = [a.arg for a in positional if a.arg not in ("self", "cls")][:2]
        for arg, default in pairs:
            value = _number(default)
            if value is not None:
                env[arg.arg] = point(value)
            elif loss_inputs and arg.arg in tensors:
                env[arg.arg] = Range(-INF, INF, reason=f"{arg.arg} is not clipped")
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
    ) -> Range | None:
        """Interpret a function; ``arguments`` None means "as a loss, with its own defaults"."""
        env = dict(outer or {})
        env.update(self._defaults(node, loss_inputs=arguments is None))
        if arguments:
            env.update(arguments)
        key = (qualname, tuple(env.get(n) for n in sorted(env)))
        if key in self._memo:
            return self._memo[key]
        if qualname in self._active or len(self._active) > _MAX_DEPTH:
            return None
        self._active.add(qualname)
        frame = _Frame(module, qualname, env, {}, class_name)
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
        finally:
            self._active.discard(qualname)
        self._memo[key] = result
        return result

    def _objective(self, module: ModuleIndex, kind: str, scope: str, node: ast.expr) -> None:
        """The trained expression and the statements it is built from."""
        if kind == "grad":
            if isinstance(node, ast.Lambda):
                self.function(module, f"{scope}.<lambda>", node, None, None)
            elif isinstance(node, ast.Name):
                target = self._resolve_function(module, node.id, None)
                if target is not None:
                    self.function(target[0], target[1], target[2], None, None)
            return
        body = self._scope_body(module, scope)
        if body is None:
            return
        statements, params = body
        frame = _Frame(module, scope, params, {})
        self._record, self._record_frame = [], frame
        try:
            self.block(statements, frame)
            self.expr(node, frame)
        finally:
            recorded, self._record, self._record_frame = self._record, None, None
        needed = _dependencies(statements, _names(node))
        start, end = _span_of(node)
        for hazard, targets in recorded:
            inside = start <= (hazard.span.line, hazard.span.column) <= end
            if inside or targets & needed:
                self._keep(hazard)

    def _scope_body(
        self, module: ModuleIndex, scope: str
    ) -> tuple[list[ast.stmt], dict[str, Range | None]] | None:
        if scope == module.module:
            return module.tree.body, {}
        found = self.project.functions.get(scope)
        if found is None:
            return None
        node = found[1].node
        return node.body, self._defaults(node, loss_inputs=False)

    # -- statements ------------------------------------------------------------------------

    def block(self, body: list[ast.stmt], frame: _Frame) -> None:
        for stmt in body:
            self.stmt(stmt, frame)

    def stmt(self, node: ast.stmt, frame: _Frame) -> None:
        env = frame.env
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            frame.local_functions[node.name] = node
            env[node.name] = None
        elif isinstance(node, ast.ClassDef):
            env[node.name] = None
        elif isinstance(node, ast.Assign):
            frame.targets = frozenset(_target_names(node.targets))
            value = self.expr(node.value, frame)
            frame.targets = frozenset()
            for target in node.targets:
                self._assign(target, value, node.value, frame)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                frame.targets = frozenset(_target_names([node.target]))
                value = self.expr(node.value, frame)
                frame.targets = frozenset()
                self._assign(node.target, value, node.value, frame)
        elif isinstance(node, ast.AugAssign):
            frame.targets = frozenset(_target_names([node.target]))
            value = self._binop(node.op, node.target, node.value, node, frame)
            frame.targets = frozenset()
            self._assign(node.target, value, None, frame)
        elif isinstance(node, ast.Return):
            frame.returns.append(self.expr(node.value, frame) if node.value else None)
        elif isinstance(node, ast.Expr):
            self._discarded(node.value, frame)
            self.expr(node.value, frame)
        elif isinstance(node, ast.If):
            self.expr(node.test, frame)
            self._branches([node.body, node.orelse], frame)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            if isinstance(node, ast.While):
                self.expr(node.test, frame)
            else:
                self.expr(node.iter, frame)
                self._assign(node.target, None, None, frame)
            self._branches([node.body, []], frame)
            self.block(node.orelse, frame)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expr(item.context_expr, frame)
                if item.optional_vars is not None:
                    self._assign(item.optional_vars, None, None, frame)
            self.block(node.body, frame)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            try_node: ast.Try = node  # type: ignore[assignment]
            self.block(try_node.body, frame)
            self._branches([h.body for h in try_node.handlers] + [try_node.orelse], frame)
            self.block(try_node.finalbody, frame)

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
            frame.env[target.id] = value
            if source is not None:
                frame.sources[target.id] = source
            else:
                frame.sources.pop(target.id, None)
            if isinstance(source, ast.Lambda):
                frame.local_functions[target.id] = source
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._assign(element, None, None, frame)
        elif isinstance(target, ast.Starred):
            self._assign(target.value, None, None, frame)

    def _discarded(self, node: ast.expr, frame: _Frame) -> None:
        """LL308: a guard called as a statement, its result thrown away."""
        if not isinstance(node, ast.Call):
            return
        op = self._op(node.func, frame)
        method = (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in _GUARD_METHODS
            and names.qualify(node.func, frame.module.imports) is None
        )
        if (op not in _GUARDS and not method) or any(k.arg == "out" for k in node.keywords):
            return
        name = _text(node.func, 32)
        self._hazard(
            "guard",
            node,
            frame,
            f"the result of {name}(...) is thrown away, so the value it should protect is used "
            "unguarded: assign it (x = " + f"{name}(x, ...))",
        )

    # -- expressions -----------------------------------------------------------------------

    def expr(self, node: ast.expr, frame: _Frame, depth: int = 0) -> Range | None:
        if depth > _MAX_EXPR_DEPTH:
            return None
        if isinstance(node, ast.Constant):
            constant = node.value
            if isinstance(constant, (int, float)):  # bool included: True is 1
                return point(float(constant))
            return None
        if isinstance(node, ast.Name):
            return self._name(node.id, frame)
        if isinstance(node, ast.UnaryOp):
            inner = self.expr(node.operand, frame, depth + 1)
            if isinstance(node.op, ast.USub):
                return _negate(inner) if inner else None
            if isinstance(node.op, ast.UAdd):
                return inner
            if isinstance(node.op, ast.Not):
                return Range(0, 1)
            return None
        if isinstance(node, ast.BinOp):
            return self._binop(node.op, node.left, node.right, node, frame, depth)
        if isinstance(node, ast.Call):
            return self._call(node, frame, depth)
        if isinstance(node, ast.Compare):
            self.expr(node.left, frame, depth + 1)
            for comparator in node.comparators:
                self.expr(comparator, frame, depth + 1)
            return Range(0, 1)
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self.expr(value, frame, depth + 1)
            return None
        if isinstance(node, ast.IfExp):
            self.expr(node.test, frame, depth + 1)
            return _join(
                self.expr(node.body, frame, depth + 1), self.expr(node.orelse, frame, depth + 1)
            )
        if isinstance(node, ast.Subscript):
            self.expr(node.slice, frame, depth + 1)
            return self.expr(node.value, frame, depth + 1)  # indexing keeps the bounds
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                return frame.env.get(f"self.{node.attr}")
            if node.attr in ("eps", "tiny", "epsneg", "smallest_normal"):
                return Range(0.0, 1.0, lo_open=True)
            if node.attr == "shape":
                return Range(1.0, INF)
            full = names.qualify(node, frame.module.imports)
            if full in ("numpy.pi", "math.pi", "numpy.e", "math.e"):
                return point(math.pi if full.endswith("pi") else math.e)
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
        constant = frame.module.constants.get(name)
        if constant is None and name in frame.module.imports:
            # ``from .config import EPS``: a constant of another module of the project.
            constant = self.project.constant(frame.module.imports[name])
        if constant is not None:
            return point(constant)
        return None

    def _binop(
        self,
        op: ast.operator,
        left_node: ast.expr,
        right_node: ast.expr,
        node: ast.AST,
        frame: _Frame,
        depth: int = 0,
    ) -> Range | None:
        left = self.expr(left_node, frame, depth + 1)
        right = self.expr(right_node, frame, depth + 1)
        if isinstance(op, ast.Add):
            return _add(left, right) if left and right else None
        if isinstance(op, ast.Sub):
            if self._is_max_of(right_node, left_node, frame):
                return Range(-INF, 0.0, shifted=True)
            return _add(left, _negate(right), guard=False) if left and right else None
        if isinstance(op, ast.Mult):
            if left and right:
                return _mul(left, right)
            return None
        if isinstance(op, ast.Div):
            return self._divide(left, right, right_node, node, frame)
        if isinstance(op, ast.Pow):
            return self._power(left, right, left_node, node, frame)
        return None

    def _is_max_of(self, node: ast.expr, of: ast.expr, frame: _Frame) -> bool:
        """Is ``node`` the maximum of ``of`` (``max(x)``, ``reduce_max(x)``, ``x.max()``)?"""
        if isinstance(node, ast.Name) and node.id in frame.sources:
            node = frame.sources[node.id]
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

    def _divide(
        self,
        numerator: Range | None,
        denominator: Range | None,
        denominator_node: ast.expr,
        node: ast.AST,
        frame: _Frame,
    ) -> Range | None:
        if denominator is None:
            return None
        if denominator.overflow is not None:
            self._hazard(
                "exp",
                node,
                frame,
                f"{_text(denominator_node)} contains exp() of an unbounded value, which overflows "
                "to inf (inf/inf is NaN): use the stable form (ops.sigmoid for 1/(1+exp(-x)), "
                "ops.softmax for exp(x)/sum(exp(x)))",
            )
            return None
        if denominator.may_be_zero():
            why = denominator.reason or "nothing keeps it away from 0"
            self._hazard(
                "divide",
                node,
                frame,
                f"division by {_text(denominator_node)}, which can be 0 ({why}): add a small "
                "constant to the denominator or use ops.divide_no_nan",
            )
            return None
        if numerator is None:
            return None
        if denominator.lo > 0 and numerator.lo >= 0:
            hi = INF if denominator.lo == 0 else numerator.hi / denominator.lo
            return Range(0.0 if numerator.lo == 0 else numerator.lo / denominator.hi, hi)
        return Range(-INF, INF, reason=numerator.reason)

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
        p = exponent.lo
        if base is not None:
            if 0 < p < 1 and base.may_be_at_most(0):
                self._hazard(
                    "power",
                    node,
                    frame,
                    f"{_text(base_node)} ** {_fmt(p)}: a fractional power has an infinite gradient "
                    f"at 0 and is NaN below it, and {_text(base_node)} can be 0 "
                    f"({base.reason or 'nothing keeps it positive'}): use ops.maximum(x, eps) ** p",
                )
                return Range(0.0, INF)
            if p < 0 and base.may_be_zero():
                self._hazard(
                    "power",
                    node,
                    frame,
                    f"{_text(base_node)} ** {_fmt(p)}: a negative power of a value that can be 0 "
                    f"({base.reason or 'nothing keeps it away from 0'}) is inf; add a small "
                    "constant",
                )
                return None
        if p == int(p) and int(p) % 2 == 0 and p > 0:
            reason = base.reason if base else "an even power is 0 at 0"
            return Range(0.0, INF, reason=reason or "an even power is 0 at 0")
        if base is not None and base.lo >= 0:
            return Range(0.0, INF, reason=base.reason)
        return None

    # -- calls -----------------------------------------------------------------------------

    def _op(self, func: ast.expr, frame: _Frame) -> str | None:
        target = names.qualify(func, frame.module.imports)
        if target is None:
            return None
        if target in _EPSILON:
            return "epsilon"
        module, _, last = target.rpartition(".")
        if module not in names.TENSOR_MATH_MODULES:
            return None
        return _OPS.get(last)

    def _call(self, node: ast.Call, frame: _Frame, depth: int) -> Range | None:
        op = self._op(node.func, frame)
        if (
            op is None
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _METHODS
            and names.qualify(node.func, frame.module.imports) is None
        ):
            receiver = self.expr(node.func.value, frame, depth + 1)
            args = [node.func.value, *node.args]
            values = [receiver, *self._args(node, frame, depth)]
            return self._apply(_METHODS[node.func.attr], node, args, values, frame)
        if op is None:
            return self._helper(node, frame, depth)
        return self._apply(op, node, list(node.args), self._args(node, frame, depth), frame)

    def _args(self, node: ast.Call, frame: _Frame, depth: int) -> list[Range | None]:
        ranges = [self.expr(a, frame, depth + 1) for a in node.args]
        for keyword in node.keywords:
            self.expr(keyword.value, frame, depth + 1)
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
        if op == "log":
            return self._log(first, first_node, node, frame, threshold=0.0)
        if op == "log1p":
            return self._log(first, first_node, node, frame, threshold=-1.0)
        if op in ("sqrt", "rsqrt"):
            if first is not None and first_node is not None and first.may_be_at_most(0):
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
            return Range(0.0 if first.lo <= 0 else math.sqrt(first.lo), INF, reason=first.reason)
        if op == "norm":
            if first is not None and first_node is not None and first.may_be_zero():
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
            if first is None:
                return Range(0.0, INF, reason="exp underflows to 0")
            if first.shifted:
                return Range(0.0, 1.0, reason="exp underflows to 0", sum_floor=1.0)
            overflow = self._span(node, frame) if first.hi == INF else None
            lo = 0.0 if first.lo == -INF or first.lo < -80 else math.exp(first.lo)
            return Range(lo, INF, reason="exp underflows to 0", overflow=overflow)
        if op == "divide":
            denominator_node = args[1] if len(args) > 1 else None
            if denominator_node is None:
                return None
            return self._divide(first, values[1], denominator_node, node, frame)
        if op == "reciprocal":
            if first_node is None:
                return None
            return self._divide(point(1.0), first, first_node, node, frame)
        if op == "divide_no_nan":
            return None
        if op == "pow":
            if len(args) < 2 or first_node is None:
                return None
            return self._power(first, values[1], first_node, node, frame)
        if op == "square":
            reason = "a square, which is 0 where its input is 0"
            if first is not None and first.lo > 0:
                return Range(first.lo**2, INF)
            return Range(0.0, INF, reason=reason)
        if op == "abs":
            if first is not None and first.lo > 0:
                return first
            return Range(0.0, INF, reason="an absolute value, which is 0 where its input is 0")
        if op == "clip":
            low = (
                values[1]
                if len(values) > 1
                else self._keyword(
                    node, frame, "clip_value_min", "min", "x_min", "a_min", "min_value"
                )[1]
            )
            high = (
                values[2]
                if len(values) > 2
                else self._keyword(
                    node, frame, "clip_value_max", "max", "x_max", "a_max", "max_value"
                )[1]
            )
            return _clip(first, low, high)
        if op == "maximum":
            second = values[1] if len(values) > 1 else self._keyword(node, frame, "min")[1]
            return _maximum(first, second)
        if op == "minimum":
            return _minimum(first, values[1] if len(values) > 1 else None)
        if op == "sigmoid":
            return Range(
                0.0,
                1.0,
                reason="a sigmoid, which saturates to 0 and 1 in float32",
                normalizer="sigmoid",
            )
        if op == "softmax":
            return Range(
                0.0, 1.0, reason="a softmax, which underflows to 0 in float32", normalizer="softmax"
            )
        if op == "softplus":
            return Range(0.0, INF, reason="softplus underflows to 0 for very negative inputs")
        if op == "nonpositive":
            return Range(-INF, 0.0)
        if op == "unit":
            return Range(-1.0, 1.0)
        if op == "relu":
            return Range(0.0, INF, reason="relu is 0 for negative inputs")
        if op == "normalize":
            return Range(-1.0, 1.0, reason="a normalized value, 0 where its input is 0")
        if op in ("acos", "asin"):
            if (
                first is not None
                and first_node is not None
                and (first.may_be_at_most(-1.0) or first.may_be_at_least(1.0))
            ):
                self._hazard(
                    "trig",
                    node,
                    frame,
                    f"{_text(node.func, 24)} of {_text(first_node)}, which is not kept strictly "
                    "inside (-1, 1): the gradient is infinite at ±1 and rounding can push a cosine "
                    "past 1 (NaN); use ops.clip(x, -1 + eps, 1 - eps)",
                )
            return Range(-INF, INF) if op == "asin" else Range(0.0, math.pi)
        if op == "sum":
            return _reduce_sum(first) if first is not None else None
        if op in ("mean", "extreme"):
            return first
        if op == "logsumexp":
            return None
        if op == "where":
            return self._where(node, values, frame)
        if op == "identity":
            if first is None:
                return None
            return replace(first, normalizer=first.normalizer)
        if op == "count":
            return Range(1.0, INF)
        if op == "epsilon":
            return point(1e-7)
        if op == "boolean":
            return Range(0.0, 1.0, reason="a 0/1 value")
        if op == "one":
            return point(1.0)
        if op == "zero":
            return point(0.0, reason="zeros")
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
            self._hazard(
                "exp",
                node,
                frame,
                f"log of {_text(value_node)}, which contains exp() of an unbounded value that "
                "overflows to inf: use ops.softplus(x) for log(1 + exp(x)) or ops.logsumexp(x) "
                "for log(sum(exp(x)))",
            )
            return None
        if value.normalizer is not None and threshold == 0.0:
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
            )
            return Range(-INF, 0.0)
        if value.may_be_at_most(threshold):
            below = ("-1" if threshold < 0 else "0") + (" or less" if value.lo < threshold else "")
            why = value.reason or "nothing keeps it positive"
            if threshold == 0.0:
                text = (
                    f"log of {_text(value_node)}, which can be {below} ({why}): use "
                    "ops.log(ops.clip(x, eps, 1 - eps)) for a probability, or ops.log(x + eps)"
                )
            else:
                text = (
                    f"log1p of {_text(value_node)}, which can be {below} ({why}): keep the "
                    "argument above -1, e.g. ops.log1p(ops.maximum(x, -1 + eps))"
                )
            self._hazard("log", node, frame, text)
            return None
        if value.lo > 0 and value.hi <= 1:
            return Range(math.log(value.lo), 0.0)
        return Range(-INF, INF)

    def _where(self, node: ast.Call, values: list[Range | None], frame: _Frame) -> Range | None:
        if len(node.args) < 3:
            return None
        a, b = values[1], values[2]
        refined = _refine(node.args[0], node.args[1], a, frame)
        return _join(refined, b)

    def _helper(self, node: ast.Call, frame: _Frame, depth: int) -> Range | None:
        """A call into the project's own code: follow it with the argument ranges."""
        arguments = self._args(node, frame, depth)
        target: tuple[ModuleIndex, str, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda] | None
        target = None
        if isinstance(node.func, ast.Name):
            local = frame.local_functions.get(node.func.id)
            if local is not None:
                target = (frame.module, f"{frame.qualname}.{node.func.id}", local)
            else:
                target = self._resolve_function(frame.module, node.func.id, None)
        elif (
            isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "self"
            and frame.class_name is not None
        ):
            target = self._resolve_function(frame.module, node.func.attr, frame.qualname)
        if target is None:
            return None
        module, qualname, function = target
        params = [a.arg for a in [*function.args.posonlyargs, *function.args.args]]
        if params[:1] == ["self"] and isinstance(node.func, ast.Attribute):
            params = params[1:]
        bound = {p: r for p, r in zip(params, arguments, strict=False)}
        for keyword in node.keywords:
            if keyword.arg in params:
                bound[keyword.arg] = self.expr(keyword.value, frame, depth + 1)
        return self.function(module, qualname, function, bound, frame.class_name)

    def _resolve_function(
        self, module: ModuleIndex, name: str, method_of: str | None
    ) -> tuple[ModuleIndex, str, ast.FunctionDef | ast.AsyncFunctionDef] | None:
        if method_of is not None:
            class_qualname = method_of.rpartition(".")[0]
            candidates = [f"{class_qualname}.{name}"]
        else:
            candidates = [f"{module.module}.{name}"]
            imported = module.imports.get(name)
            if imported:
                candidates.append(imported)
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
        self, kind: str, node: ast.AST, frame: _Frame, message: str, fix: Fix | None = None
    ) -> None:
        """Keep a hazard; in a training scope, only once we know the objective needs it."""
        hazard = Hazard(kind, frame.module.path, self._span(node, frame), message, fix)
        if self._record is not None and frame is self._record_frame:
            self._record.append((hazard, frame.targets))
        else:
            self._keep(hazard)

    def _keep(self, hazard: Hazard) -> None:
        self.hazards.setdefault((hazard.path, hazard.span, hazard.kind), hazard)


_STATE_FACTORIES: Final = frozenset({"add_weight", "add_variable", "Variable"})


def _metric_state(node: ast.ClassDef) -> dict[str, Range | None]:
    """``self.x = self.add_weight(..., initializer="zeros")``: state that starts at 0.

    Its sign is unknown (a running total can be negative) but it can be 0, which is what a
    ``result()`` dividing by it must survive before the first batch with positives.
    """
    state: dict[str, Range | None] = {}
    for stmt in ast.walk(node):
        if not (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)):
            continue
        call = stmt.value
        name = (
            call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        )
        if name not in _STATE_FACTORIES:
            continue
        initializer = next((k.value for k in call.keywords if k.arg == "initializer"), None)
        zero = initializer is None or (
            isinstance(initializer, ast.Constant) and initializer.value in ("zeros", "zero", 0, 0.0)
        )
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
            ):
                state[f"self.{target.attr}"] = Range(
                    -INF, INF, reason=f"self.{target.attr} starts at 0 (zeros initializer)"
                )
    return state


def _refine(
    condition: ast.expr, branch: ast.expr, value: Range | None, frame: _Frame
) -> Range | None:
    """``where(x > c, x, ...)``: in the first branch ``x`` is above ``c``."""
    if value is None or not isinstance(branch, ast.Name):
        return value
    if not (isinstance(condition, ast.Compare) and len(condition.ops) == 1):
        return value
    left, op, right = condition.left, condition.ops[0], condition.comparators[0]
    if not (isinstance(left, ast.Name) and left.id == branch.id):
        return value
    bound = _number(right)
    if bound is None:
        constant = frame.env.get(right.id) if isinstance(right, ast.Name) else None
        bound = constant.lo if constant is not None and constant.is_constant else None
    if bound is None:
        return value
    if isinstance(op, ast.Gt) and value.lo <= bound:
        return replace(value, lo=bound, lo_open=True)
    if isinstance(op, ast.GtE) and value.lo < bound:
        return replace(value, lo=bound, lo_open=False)
    return value


def _number(node: ast.expr | None) -> float | None:
    negative = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    if isinstance(node, ast.UnaryOp) and negative:
        node = node.operand
    if not isinstance(node, ast.Constant):
        return None
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return -float(value) if negative else float(value)


def _target_names(targets: Sequence[ast.expr]) -> Iterator[str]:
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                yield node.id


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _dependencies(statements: list[ast.stmt], start: set[str]) -> set[str]:
    """Names the value depends on, through the assignments of the scope."""
    reads: dict[str, set[str]] = {}
    for stmt in names.iter_statements(statements):
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            value = stmt.value
            if value is None:
                continue
            read = _names(value)
            if isinstance(stmt, ast.AugAssign):
                read |= _names(stmt.target)
            for name in _target_names(targets):
                reads.setdefault(name, set()).update(read)
    needed = set(start)
    frontier = list(start)
    while frontier:
        name = frontier.pop()
        for dependency in reads.get(name, ()):
            if dependency not in needed:
                needed.add(dependency)
                frontier.append(dependency)
    return needed


def _span_of(node: ast.AST) -> tuple[tuple[int, int], tuple[int, int]]:
    line = getattr(node, "lineno", 1)
    return (line, getattr(node, "col_offset", 0) + 1), (
        getattr(node, "end_lineno", line) or line,
        (getattr(node, "end_col_offset", 0) or 0) + 1,
    )


def find_hazards(project: ProjectIndex) -> list[Hazard]:
    return RangeAnalysis(project).run()
