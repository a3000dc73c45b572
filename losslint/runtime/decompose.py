"""A joint loss written as a weighted sum of other losses or metrics (``mae + 10 * mse``).

Static and pure: from a loss definition's syntax, the terms ``w_i * f_i(a, b)`` whose sum it
returns, with each weight a number (literals, module constants, factory arguments and defaults,
``self.x`` set in ``__init__``) and each ``f_i`` a Keras loss/metric or one of the project's.
RT106 then runs the joint loss and the components and compares the numbers.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final

from losslint.index import names
from losslint.index.facts import ModuleIndex
from losslint.index.folding import fold, foldable, to_float
from losslint.index.project import ProjectIndex

_MAX_DEPTH: Final = 12
_ADD: Final = frozenset(
    {"keras.ops.add", "tensorflow.add", "tensorflow.math.add", "torch.add", "jax.numpy.add"}
)
_MULTIPLY: Final = frozenset(
    {
        "keras.ops.multiply",
        "tensorflow.multiply",
        "tensorflow.math.multiply",
        "torch.mul",
        "jax.numpy.multiply",
    }
)
# Same identity, different spellings: Keras aliases, class and function names.
_ALIASES: Final = {
    "mae": "mean_absolute_error",
    "mse": "mean_squared_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "kld": "kl_divergence",
    "k_l_divergence": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "bce": "binary_crossentropy",
    "logcosh": "log_cosh",
    "log_cosh_error": "log_cosh",
}
JSON = str | int | float | bool | None | list["JSON"] | dict[str, "JSON"]


@dataclass(frozen=True, slots=True)
class Target:
    """How the child gets a callable: the object at ``name``, or the result of calling it.

    ``name`` is a canonical Keras name (``keras.losses.MeanSquaredError``), a Keras string id
    (``kind="keras_id"``: ``keras.losses.get(name)``; ``"metric_id"``: ``keras.metrics.get``)
    or a module-qualified name in the project (``losses.make_focal``).
    """

    kind: str  # "object" | "call" | "keras_id" | "metric_id"
    name: str
    args: tuple[JSON, ...] = ()
    kwargs: tuple[tuple[str, JSON], ...] = ()
    attribute: str = ""  # a bound method: read from the object built (``CustomLoss().loss``)

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {
            "kind": self.kind,
            "name": self.name,
            "args": list(self.args),
            "kwargs": dict(self.kwargs),
        }
        if self.attribute:
            out["attribute"] = self.attribute
        return out

    def label(self) -> str:
        short = self.name.rpartition(".")[2] if self.kind in ("object", "call") else self.name
        if self.kind != "call":
            return short
        given = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs]
        called = f"{short}({', '.join(given)})"
        return f"{called}.{self.attribute}" if self.attribute else called


@dataclass(frozen=True, slots=True)
class Term:
    weight: float
    written: str  # the callee as written: ``mse``, ``keras.losses.mae``
    target: Target
    order: str  # "plain" (y_true, y_pred) | "swapped" (y_pred, y_true) | "other"


@dataclass
class Scope:
    """What names mean inside the joint loss's body."""

    module: ModuleIndex
    project: ProjectIndex
    numbers: dict[str, float] = field(default_factory=dict)  # params bound, ``self.x``
    objects: dict[str, ast.expr] = field(default_factory=dict)  # ``self.mse = MSE()``
    outer: dict[str, ast.expr] = field(default_factory=dict)  # the factory's assignments


def key(name: str) -> str:
    """The identity of a loss or metric name: ``MSE``, ``mse``, ``MeanSquaredError`` agree."""
    last = name.rpartition(".")[2]
    snake = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", last)
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", snake).lower()
    return _ALIASES.get(snake, snake)


def weighted_sum(
    node: ast.FunctionDef | ast.AsyncFunctionDef, pair: tuple[str, str], scope: Scope
) -> list[Term] | None:
    """The terms of ``node``'s return value, or None when it is not such a sum."""
    assigned = _assignments(node.body)
    returns = [s for s in _statements(node.body) if isinstance(s, ast.Return)]
    if len(returns) != 1 or node.body[-1] is not returns[0] or returns[0].value is None:
        return None
    walker = _Walker(scope, assigned, pair)
    terms = walker.terms(returns[0].value, 0)
    if terms is None or len(terms) < 2:
        return None
    return terms


def numbers_of_factory(
    factory: ast.FunctionDef | ast.AsyncFunctionDef,
    args: tuple[JSON, ...],
    kwargs: dict[str, JSON],
    module: ModuleIndex,
) -> tuple[dict[str, float], dict[str, ast.expr]]:
    """Numbers bound to a factory's parameters (call arguments, else defaults) and its body's
    own assignments, as the closure it returns sees them."""
    numbers = _bind(factory.args, args, kwargs, module)
    return numbers, _assignments(factory.body)


def numbers_of_class(
    cls: ast.ClassDef, args: tuple[JSON, ...], kwargs: dict[str, JSON], module: ModuleIndex
) -> tuple[dict[str, float], dict[str, ast.expr]]:
    """``self.x`` as ``__init__`` sets it from its parameters or constants."""
    init = next(
        (s for s in cls.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None
    )
    if init is None:
        return {}, {}
    # The first parameter is ``self``: the call's arguments bind from the second.
    params = _bind(init.args, (None, *args), kwargs, module)
    numbers: dict[str, float] = {}
    objects: dict[str, ast.expr] = {}
    for stmt in init.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
            continue
        target = stmt.targets[0]
        if not (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
        ):
            continue
        value = stmt.value
        number = _number(value, lambda n: params.get(n, module.constants.get(n)))
        if number is not None:
            numbers[f"self.{target.attr}"] = number
        elif isinstance(value, ast.Call):
            objects[f"self.{target.attr}"] = value
    return numbers, objects


def _bind(
    arguments: ast.arguments, args: tuple[JSON, ...], kwargs: dict[str, JSON], module: ModuleIndex
) -> dict[str, float]:
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
    defaults.extend(arguments.defaults)
    pairs = list(zip(positional, defaults, strict=True))
    pairs += list(zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True))
    bound: dict[str, float] = {}
    for index, (arg, default) in enumerate(pairs):
        given: JSON = None
        found = False
        if arg.arg in kwargs:
            given, found = kwargs[arg.arg], True
        elif index < len(positional) and index < len(args):
            given, found = args[index], True
        if found:
            if type(given) in (int, float):
                bound[arg.arg] = float(given)  # type: ignore[arg-type]
            continue
        number = None if default is None else _number(default, module.constants.get)
        if number is not None:
            bound[arg.arg] = number
    return bound


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of a function body, not of the functions and classes nested in it."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(stmt, name, None)
            if inner:
                yield from _statements(inner)


def _assignments(body: list[ast.stmt]) -> dict[str, ast.expr]:
    """Names assigned exactly once, at the top level of ``body``, to one expression."""
    found: dict[str, ast.expr] = {}
    ambiguous: set[str] = set()
    for stmt in _statements(body):
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
            targets, value = [stmt.target], getattr(stmt, "value", None)
            if isinstance(stmt, ast.AugAssign):
                value = None
        elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
            for name in _bound_names(stmt):
                ambiguous.add(name)
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                top_level = stmt in body
                if target.id in found or value is None or not top_level:
                    ambiguous.add(target.id)
                else:
                    found[target.id] = value
            else:
                for name in _names_in(target):
                    ambiguous.add(name)
    return {k: v for k, v in found.items() if k not in ambiguous}


def _bound_names(stmt: ast.stmt) -> Iterator[str]:
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        yield from _names_in(stmt.target)
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        for item in stmt.items:
            if item.optional_vars is not None:
                yield from _names_in(item.optional_vars)


def _names_in(target: ast.expr) -> Iterator[str]:
    for node in ast.walk(target):
        if isinstance(node, ast.Name):
            yield node.id


Lookup = Callable[[str], float | None]


def _number(expr: ast.expr, lookup: Lookup, depth: int = 0) -> float | None:
    """A numeric constant expression; ``lookup(name)`` gives the numbers names stand for."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(expr, ast.Constant):
        return to_float(expr.value)  # None beyond a float's range (``10**400``)
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
        inner = _number(expr.operand, lookup, depth + 1)
        if inner is None:
            return None
        return -inner if isinstance(expr.op, ast.USub) else inner
    if isinstance(expr, ast.BinOp) and foldable(expr.op):
        left = _number(expr.left, lookup, depth + 1)
        right = _number(expr.right, lookup, depth + 1)
        if left is None or right is None:
            return None
        result = fold(expr.op, left, right)  # bounded: never computes 9 ** 9 ** 9
        return None if result is None else float(result)
    if isinstance(expr, ast.Name):
        return lookup(expr.id)
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        return lookup(f"self.{expr.attr}") if expr.value.id == "self" else None
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Name)
        and expr.func.id == "float"
        and len(expr.args) == 1
    ):
        return _number(expr.args[0], lookup, depth + 1)
    return None


class _Walker:
    def __init__(self, scope: Scope, assigned: dict[str, ast.expr], pair: tuple[str, str]) -> None:
        self.scope = scope
        self.assigned = assigned
        self.pair = pair

    def lookup(self, name: str, depth: int = 0) -> float | None:
        if depth > _MAX_DEPTH:
            return None
        if name in self.assigned:
            return _number(self.assigned[name], lambda n: self.lookup(n, depth + 1), depth + 1)
        if name in self.scope.numbers:
            return self.scope.numbers[name]
        if name in self.scope.outer:
            return _number(self.scope.outer[name], lambda n: self.lookup(n, depth + 1), depth + 1)
        return self.scope.module.constants.get(name)

    def number(self, expr: ast.expr) -> float | None:
        return _number(expr, self.lookup)

    def terms(self, expr: ast.expr, depth: int) -> list[Term] | None:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Sub)):
            left = self.terms(expr.left, depth + 1)
            right = self.terms(expr.right, depth + 1)
            if left is None or right is None:
                return None
            sign = -1.0 if isinstance(expr.op, ast.Sub) else 1.0
            return left + [_scaled(t, sign) for t in right]
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult):
            return self._product(expr.left, expr.right, depth)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
            divisor = self.number(expr.right)
            inner = self.terms(expr.left, depth + 1)
            if divisor is None or divisor == 0 or inner is None:
                return None
            return [_scaled(t, 1.0 / divisor) for t in inner]
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
            inner = self.terms(expr.operand, depth + 1)
            if inner is None:
                return None
            return [_scaled(t, -1.0 if isinstance(expr.op, ast.USub) else 1.0) for t in inner]
        if isinstance(expr, ast.Name) and expr.id in self.assigned:
            return self.terms(self.assigned[expr.id], depth + 1)
        if isinstance(expr, ast.Call):
            return self._call(expr, depth)
        return None

    def _product(self, left: ast.expr, right: ast.expr, depth: int) -> list[Term] | None:
        for factor, other in ((left, right), (right, left)):
            weight = self.number(factor)
            if weight is not None:
                inner = self.terms(other, depth + 1)
                return None if inner is None else [_scaled(t, weight) for t in inner]
        return None

    def _call(self, call: ast.Call, depth: int) -> list[Term] | None:
        callee = names.qualify(call.func, self.scope.module.imports)
        if callee in _ADD and len(call.args) == 2 and not call.keywords:
            return self.terms(ast.BinOp(call.args[0], ast.Add(), call.args[1]), depth + 1)
        if callee in _MULTIPLY and len(call.args) == 2 and not call.keywords:
            return self._product(call.args[0], call.args[1], depth)
        target = self._callee(call.func, 0)
        if target is None:
            return None
        written = ast.unparse(call.func)
        return [Term(1.0, written, target, self._order(call))]

    def _order(self, call: ast.Call) -> str:
        given: list[str | None] = [a.id if isinstance(a, ast.Name) else None for a in call.args]
        for keyword in call.keywords:
            if keyword.arg in ("y_true", "y_pred") and isinstance(keyword.value, ast.Name):
                given.append(None)
                index = 0 if keyword.arg == "y_true" else 1
                while len(given) < 2:
                    given.append(None)
                given[index] = keyword.value.id
        if len(given) < 2 or len(call.args) + len(call.keywords) != 2:
            return "other"
        if (given[0], given[1]) == self.pair:
            return "plain"
        if (given[1], given[0]) == self.pair:
            return "swapped"
        return "other"

    def _callee(self, func: ast.expr, depth: int) -> Target | None:
        """The loss or metric a term calls, or None when it is anything else."""
        if depth > _MAX_DEPTH:
            return None
        scope = self.scope
        if isinstance(func, ast.Call):  # keras.losses.MeanSquaredError()(y_true, y_pred)
            return self._constructed(func)
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "self"
        ):
            built = scope.objects.get(f"self.{func.attr}")
            return self._constructed(built) if isinstance(built, ast.Call) else None
        if isinstance(func, ast.Name):
            local = self.assigned.get(func.id) or scope.outer.get(func.id)
            if local is not None:
                if isinstance(local, ast.Call):
                    return self._constructed(local)
                return self._callee(local, depth + 1)
        name = self._qualified(func)
        if name is None:
            return None
        if _is_keras_loss_or_metric(name):
            return Target("object", name)
        if scope.project.kind(name) == "function":
            return Target("object", _project_name(name, scope.project))
        return None

    def _qualified(self, func: ast.expr) -> str | None:
        module = self.scope.module
        if isinstance(func, ast.Name) and func.id not in module.imports:
            qualname = f"{module.module}.{func.id}"
            return qualname if self.scope.project.kind(qualname) is not None else None
        return names.qualify(func, module.imports)

    def _constructed(self, call: ast.Call) -> Target | None:
        """A loss or metric object built with constant arguments (``MeanSquaredError()``)."""
        name = self._qualified(call.func)
        if name is None:
            return None
        is_class = name.rpartition(".")[2][:1].isupper()
        project_class = self.scope.project.kind(name) == "class"
        if not ((_is_keras_loss_or_metric(name) and is_class) or project_class):
            return None
        args: list[JSON] = []
        for arg in call.args:
            value = _constant(arg, self.lookup)
            if value is _MISSING:
                return None
            args.append(value)  # type: ignore[arg-type]
        kwargs: list[tuple[str, JSON]] = []
        for keyword in call.keywords:
            if keyword.arg is None:
                return None
            value = _constant(keyword.value, self.lookup)
            if value is _MISSING:
                return None
            kwargs.append((keyword.arg, value))  # type: ignore[arg-type]
        if project_class:
            name = _project_name(name, self.scope.project)
        return Target("call", name, tuple(args), tuple(kwargs))


_MISSING: Final = object()


def _constant(expr: ast.expr, lookup: Lookup) -> object:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, (str, bool, type(None))):
        return expr.value
    number = _number(expr, lookup)
    if number is not None:
        if isinstance(expr, ast.Constant) and type(expr.value) is int:
            return expr.value
        return number
    return _MISSING


def _scaled(term: Term, factor: float) -> Term:
    return Term(term.weight * factor, term.written, term.target, term.order)


def _is_keras_loss_or_metric(name: str) -> bool:
    module, _, last = name.rpartition(".")
    return module in ("keras.losses", "keras.metrics") and bool(last) and last != "Loss"


def _project_name(name: str, project: ProjectIndex) -> str:
    """The name as indexed (a cross-module reference may use another package root)."""
    return project._lookup(name) or name
