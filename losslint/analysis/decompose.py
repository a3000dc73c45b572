"""A joint loss as its author writes it: ``Σ wᵢ·termᵢ``, and what each term is tracked by.

Static and pure, shared by LL502/LL503 (static) and RT106 (the runtime plan). From a loss
definition's return value, followed through local variables: the terms whose weighted sum it
returns, each a call to a loss or metric (``keras.losses.mae(y_true, y_pred)``, a project
function, ``self.mse(...)``) or an inline expression (``K.mean(K.square(y_true - y_pred))``),
with its weight read from literals, module constants, defaults, factory arguments and
``self.x`` set in ``__init__``. Each term carries what it is called (the local variable it was
read through), the weight's name (``lambda_mse``), a normalised formula to compare it with the
body of a tracked function or a Keras built-in, and, for inline terms, source text that the
runtime child can evaluate on the same inputs.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Final

from losslint import quiet
from losslint.analysis import ops
from losslint.index import keras_ids, names
from losslint.index.apis import is_keras_source
from losslint.index.facts import Call, Const, LossDef, ModuleIndex, Ref, Value
from losslint.index.folding import fold, foldable, shortened, to_float
from losslint.index.folding import unparse as safe_unparse
from losslint.index.nodes import subtree
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


def _made_call(call: ast.Call, pair: frozenset[str]) -> str:
    """What a metric must do to give ``call``'s value: ``computes weight as the loss does and
    returns weighted_bce(y_true, y_pred, weight)`` (the names it is given besides the loss's
    inputs ``pair``)."""
    given = [*call.args, *(k.value for k in call.keywords)]
    made = list(dict.fromkeys(a.id for a in given if isinstance(a, ast.Name) and a.id not in pair))
    computes = f"computes {', '.join(made)} as the loss does and " if made else ""
    return f"{computes}returns {safe_unparse(call)}"


@dataclass(frozen=True, slots=True)
class Term:
    """One ``weight * term`` of a joint loss's returned sum."""

    weight: float
    written: str  # how messages name it: the local variable, else the callee as written
    target: Target | None  # the loss or metric called; None for an inline expression
    order: str  # "plain" (y_true, y_pred) | "swapped" (y_pred, y_true) | "other"
    kind: str = "loss"  # "loss" (a call) | "inline" (uses y_true and y_pred) | "extra"
    name: str | None = None  # the local variable it was read through (``mse_loss``)
    source: str | None = None  # inline/extra: the expression with locals substituted
    formula: str = ""  # normalised, to compare with a tracked function or a built-in
    weight_name: str | None = None  # the variable the weight was read from (``lambda_mse``)
    line: int = 0  # where the term's expression is written
    column: int = 0
    # A call given more than the loss's inputs (``weighted_bce(y_true, y_pred, weight)``,
    # ``weight`` computed in the loss) or other values (``mae(spikes_pred, zeros)``): what a
    # metric must do to give its value (see _made_call).
    call: str = ""
    reads: frozenset[str] = frozenset()  # the local names its expression reads, transitively
    # Named terms it was made of and is one formula with (see _entangled): ``linear`` of a
    # Huber loss, ``abs_error - quadratic``, holds ``quadratic``, which its other part squares.
    parts: frozenset[str] = frozenset()
    # The weight already in the value of the variable it was read through (``kl_loss = -0.5 *
    # K.sum(...)``): the name stands for the weighted value.
    named_weight: float = 1.0

    @property
    def is_loss(self) -> bool:
        """A loss term (LL502 counts these), not a constant or a penalty on y_pred alone."""
        return self.kind in ("loss", "inline")

    def identities(self, named: bool = True) -> frozenset[str]:
        """The identities it answers to: its variable's name (not with ``named=False``: what
        the author called it, not what it computes), its callee, its formula."""
        found = {name_key(self.name)} if named and self.name else set()
        if self.target is not None:
            found.add(key(self.target.name))
        # A call on the loss's own inputs (``self.positive_classification(y_true, y_pred)``,
        # stored as ``positive_loss``) is that function's value too.
        called = _OWN_INPUTS_CALL.fullmatch(_unscaled(self.formula or ""))
        if called is not None:
            found.add(key(called.group(1)))
        found |= {k for k, f in builtin_formulas().items() if self.formula and f == self.formula}
        return frozenset(k for k in found if k)


@dataclass
class Scope:
    """What names mean inside the joint loss's body."""

    module: ModuleIndex
    project: ProjectIndex
    numbers: dict[str, float] = field(default_factory=dict)  # params bound, ``self.x``
    objects: dict[str, ast.expr] = field(default_factory=dict)  # ``self.mse = MSE()``
    outer: dict[str, ast.expr] = field(default_factory=dict)  # the factory's assignments
    method: bool = False  # ``Loss.call``: ``self`` is the loss object
    # The qualified name of the function the loss is defined in, if any: a sibling closure
    # (``vae_r_loss`` next to ``vae_loss`` in ``compile``) is called by its bare name.
    enclosing: str = ""
    # The function's own parameters as a forwarding lambda passes them (``lambda t, p:
    # kd_loss(t, p, lambd=0.5, T=temperature)``): a number, or None for a value not known here.
    given: dict[str, float | None] = field(default_factory=dict)

    @property
    def globals(self) -> frozenset[str]:
        """Names bound at the module's top level: an inline term may read them."""
        return module_names(self.module)


def module_names(module: ModuleIndex) -> frozenset[str]:
    """Names bound at the top level: imported, defined, assigned, all from the facts (no
    statement is parsed again, nor read)."""
    return frozenset(module.imports) | module.top_level | module.top_names


# The formula of a function called on the loss's own (y_true, y_pred), unchanged.
_OWN_INPUTS_CALL: Final = re.compile(r"([A-Za-z_][\w.]*)\(T,P\)")


def _unscaled(formula: str) -> str:
    """A product's one factor that reads the loss's inputs, where the others do not
    (``mul(augment_loss,dp_metric(T,P))``, a weight the decomposition could not read as a
    number): the term it scales; else the formula as it is."""
    split = _operands(formula)
    if split is None or split[0] != "mul":
        return formula
    factors = split[1]
    reading = [f for f in factors if _INPUT.search(f)]
    return reading[0] if len(reading) == 1 and len(factors) > 1 else formula


def _operands(formula: str) -> tuple[str, list[str]] | None:
    """``head(a,b(c,d))`` as ``("head", ["a", "b(c,d)"])``: the operation and its operands at
    the top level; None where ``formula`` is not one call (a name, a raw expression)."""
    head, paren, rest = formula.partition("(")
    if not paren or not rest.endswith(")") or not re.fullmatch(r"[\w.]+", head):
        return None
    parts: list[str] = []
    depth = start = 0
    body = rest[:-1]
    for at, char in enumerate(body):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
            if depth < 0:
                return None
        elif char == "," and depth == 0:
            parts.append(body[start:at])
            start = at + 1
    parts.append(body[start:])
    return (head, parts) if depth == 0 else None


def key(name: str) -> str:
    """The identity of a loss or metric name: ``MSE``, ``mse``, ``MeanSquaredError`` agree (and
    ``dp_metric#2``, a function defined again in another branch, is ``dp_metric``)."""
    last = name.rpartition(".")[2].partition("#")[0]
    snake = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", last)
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", snake).lower()
    return _ALIASES.get(snake, snake)


# The largest argument taken as a number (a float cannot hold 10 ** 400).
_LARGEST: Final = sys.float_info.max
_NAME_AFFIXES: Final = re.compile(r"^(?:loss_|metric_)|(?:_loss|_metric|_term|_fn|_value)$")
_WEIGHT_AFFIXES: Final = re.compile(
    r"^(?:lambda_|lambd_|lam_|lmbda_|weight_|w_|alpha_|beta_|gamma_|coef_|scale_)"
    r"|(?:_weight|_w|_lambda|_coef|_coeff|_factor|_scale)$"
)


def name_key(name: str) -> str:
    """What a variable or function name says a term is: ``mse_loss``, ``mse`` and
    ``mean_squared_error`` agree; a bare ``loss`` says nothing."""
    stem = _NAME_AFFIXES.sub("", name.rpartition(".")[2].lower())
    return key(stem) if stem and stem != "loss" else ""


def weight_key(name: str) -> str:
    """The term a weight's name is for (``lambda_mse``, ``MSE_WEIGHT`` → mse), else ""."""
    lowered = name.rpartition(".")[2].lower()
    stem = _WEIGHT_AFFIXES.sub("", lowered)
    return name_key(stem) if stem != lowered else ""


_BUILTINS: Final = {
    "mean_squared_error": "ops.mean(ops.square(y_true - y_pred), axis=-1)",
    "mean_absolute_error": "ops.mean(ops.abs(y_true - y_pred), axis=-1)",
    "root_mean_squared_error": "ops.sqrt(ops.mean(ops.square(y_true - y_pred), axis=-1))",
}


@functools.cache
def builtin_formulas() -> dict[str, str]:
    """Normalised formulas of the Keras built-ins a hand-written term most often repeats."""
    imports = {"ops": "keras.ops"}
    out = {}
    for name, source in _BUILTINS.items():
        expr = quiet.parse(source, mode="eval").body
        out[name] = formula(expr, ("y_true", "y_pred"), imports)
    return out


# Spellings of one operation across Keras 3, Keras 2 backend, TensorFlow, NumPy-likes.
_OPS: Final = {
    "reduce_mean": "mean",
    "reduce_sum": "sum",
    "absolute": "abs",
    "pow": "power",
    "subtract": "sub",
    "multiply": "mul",
    "add": "add",
    "divide": "div",
    "truediv": "div",
    "squared_difference": "squared_difference",
}
_BINOPS: Final = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "power"}


def formula(expr: ast.expr, pair: tuple[str, str], imports: dict[str, str], depth: int = 0) -> str:
    """A normal form of an expression over ``(y_true, y_pred)`` in which two spellings of
    one computation agree: ``K.mean(K.square(y_true - y_pred))`` and Keras' ``mse`` (the mean's
    axis is dropped: Keras averages what the loss returns, so it does not change the value)."""
    if depth > 3 * _MAX_DEPTH:
        return "?"

    def sub(node: ast.expr) -> str:
        return formula(node, pair, imports, depth + 1)

    if isinstance(expr, ast.Name):
        return "T" if expr.id == pair[0] else "P" if expr.id == pair[1] else expr.id
    if isinstance(expr, ast.Constant):
        value = expr.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = to_float(value)  # None beyond a float's range (a 400-digit literal)
            return (
                repr(number) if number is not None else f"<int of {int(value).bit_length()} bits>"
            )
        return repr(value)
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub):
        return f"neg({sub(expr.operand)})"
    if isinstance(expr, ast.BinOp) and type(expr.op) in _BINOPS:
        op = _BINOPS[type(expr.op)]
        if op == "power" and isinstance(expr.right, ast.Constant) and expr.right.value == 2:
            return _symmetric("square", expr.left, sub)
        return f"{op}({sub(expr.left)},{sub(expr.right)})"
    if isinstance(expr, ast.Call):
        qualified = names.qualify(expr.func, imports) or safe_unparse(expr.func)
        op = qualified.rpartition(".")[2]
        op = _OPS.get(op, op)
        args = list(expr.args)
        keywords = {k.arg: k.value for k in expr.keywords if k.arg is not None}
        squared = isinstance(args[-1], ast.Constant) and args[-1].value == 2 if args else False
        if op == "power" and len(args) == 2 and squared:
            return _symmetric("square", args[0], sub)
        if op in ("square", "abs") and len(args) == 1:
            return _symmetric(op, args[0], sub)
        if op == "squared_difference" and len(args) == 2:
            left, right = sorted((sub(args[0]), sub(args[1])))
            return f"square(sub({left},{right}))"
        if op == "mean":
            keywords.pop("axis", None)
            keywords.pop("keepdims", None)
            keywords.pop("keep_dims", None)
            args = args[:1]
        parts = [sub(a) for a in args]
        parts += [f"{k}={sub(v)}" for k, v in sorted(keywords.items()) if k is not None]
        return f"{op}({','.join(parts)})"
    return safe_unparse(expr)


def _symmetric(op: str, inner: ast.expr, sub: Callable[[ast.expr], str]) -> str:
    """``square(a - b)`` and ``abs(a - b)`` do not depend on the order of a and b."""
    if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Sub):
        left, right = sorted((sub(inner.left), sub(inner.right)))
        return f"{op}(sub({left},{right}))"
    return f"{op}({sub(inner)})"


def weighted_sum(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    pair: tuple[str, str],
    scope: Scope,
    halves: bool = True,
    reductions: bool = False,
) -> list[Term] | None:
    """The terms of ``node``'s return value, or None when it is not a sum of two or more.
    ``halves``: a loss written one label value at a time is one term (see _label_halves);
    False keeps its parts apart (each may reduce the batch on its own). ``reductions``: a mean
    or a sum of a sum is the sum of its terms' (``K.mean(xent_loss + kl_loss)``), for what
    a training log can show apart, not for the values of the terms."""
    returned = _returned(node)
    if returned is None:
        return None
    assigned = _assignments(node.body)
    if scope.method:
        assigned.update(_self_assignments(node.body))
    walker = _Walker(scope, assigned, pair, node, halves, reductions)
    terms = walker.terms(returned, 0)
    if terms is None or len(terms) < 2:
        return None
    return terms


# Reductions of a sum that are the sum of its terms' reductions (see weighted_sum).
_LINEAR_REDUCTIONS: Final = frozenset({"mean", "reduce_mean", "sum", "reduce_sum"})
# Reductions that keep the half a label selects (see _Walker._gate).
_GATE_REDUCTIONS: Final = ops.names(batch="sum", range_="sum") | ops.names(
    batch="mean", range_="mean"
)


def unused_terms(
    node: ast.FunctionDef | ast.AsyncFunctionDef, pair: tuple[str, str], scope: Scope
) -> list[tuple[str, Term, ast.Assign, int]]:
    """Local variables assigned a loss term (``mse_loss = K.mean(K.square(y_true - y_pred))``),
    or a total of terms, that nothing in the body ever reads: computed but left out of the
    returned value. ``(name, term, assignment, count)``: the term (a total's first), and how
    many terms the value adds up; a variable read anywhere at all (a print, a summary, a
    condition) is taken as used."""
    if _returned(node) is None:
        return []
    assigned = _assignments(node.body)
    read = {
        n.id
        for n in subtree(node)
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Load, ast.Del))
    }
    walker = _Walker(scope, assigned, pair, node)
    found = []
    for stmt in node.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
            continue
        target = stmt.targets[0]
        if not isinstance(target, ast.Name) or target.id in read or target.id.startswith("_"):
            continue
        if target.id not in assigned or _loss_object(stmt.value, scope):
            continue
        if _confusion_count(target.id) or _shape_only(stmt.value, pair) or _mask(stmt.value):
            continue
        # A term, or a total of terms (``total_loss = ssim_loss + 0.1 * mae_loss``) where
        # the loss returns one of them.
        terms = walker.terms(stmt.value, 0)
        if not terms or not all(t.is_loss for t in terms):
            continue
        term = replace(terms[0], name=target.id, written=target.id)
        found.append((target.id, term, stmt, len(terms)))
    return found


# Calls that compare values (the op catalogue's elementwise 0/1 ops): what they give is a mask,
# which selects terms, and is none.
_COMPARISONS: Final = ops.names(batch="elementwise", range_="boolean")


def _mask(value: ast.expr) -> bool:
    """A comparison, ``mask4 = tf.not_equal(temp[:, :, 4], 0)``: a boolean mask that a
    weighted term would select with (a knowledge-tracing loss's skill masks, left over when
    their terms were commented out), not a loss term left out of the sum."""
    if isinstance(value, ast.Compare):
        return True
    return isinstance(value, ast.Call) and names.last_name(value.func) in _COMPARISONS


# The confusion counts of a ratio loss (soft F1, Tversky): the widely copied soft-F1 loss
# computes all four and uses three, as F1 needs no true negatives. A count left out of a
# ratio is not a term left out of a sum.
def _confusion_count(name: str) -> bool:
    """``tn``, ``soft_tn``, ``true_negatives``: a confusion count, by its name."""
    lowered = name.lower()
    counts = names.CONFUSION_COUNTS
    return lowered in counts or lowered.rpartition("_")[2] in counts


def _shape_only(value: ast.expr, pair: tuple[str, str]) -> bool:
    """Whether ``value`` reads y_true and y_pred (``pair``) only through their shapes
    (``identify_axis(y_true.get_shape())``, ``K.int_shape(y_pred)``): axes or sizes worked out
    for the loss, not a term of it."""
    shapes: set[int] = set()
    for node in subtree(value):
        if isinstance(node, ast.Attribute) and node.attr in names.SHAPE_ATTRIBUTES:
            shapes.update(id(n) for n in subtree(node.value))
        elif isinstance(node, ast.Call):
            func = node.func
            last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if last in names.SHAPE_FUNCTIONS:
                shapes.update(id(n) for a in node.args for n in subtree(a))
    reads = [n for n in subtree(value) if isinstance(n, ast.Name) and n.id in pair]
    return bool(reads) and all(id(n) in shapes for n in reads)


def _loss_object(value: ast.expr, scope: Scope) -> bool:
    """``huber = keras.losses.Huber()``: a loss object made, not a term computed (it is
    one only once called)."""
    if not isinstance(value, ast.Call):
        return False
    full = names.qualify(value.func, scope.module.imports)
    module, _, last = names.canonical(full).rpartition(".") if full else ("", "", "")
    return module == "keras.losses" and names.keras_class_name(last)


def _returned(node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.expr | None:
    """The value of the body's only return statement, when it is the last statement."""
    returns = [s for s in _statements(node.body) if isinstance(s, ast.Return)]
    if len(returns) != 1 or node.body[-1] is not returns[0]:
        return None
    return returns[0].value


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
            if type(given) in (int, float) and abs(given) <= _LARGEST:  # type: ignore[arg-type]
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
    """Names assigned exactly once, at the top level of ``body``, to one expression; or bound
    only by plain assignments of that expression, in each branch that binds them (``if
    self.vgg_device: vgg_out = self.vgg(y_pred)`` under ``with tf.device(...)``, ``else:
    vgg_out = self.vgg(y_pred)``)."""
    found: dict[str, ast.expr] = {}
    ambiguous: set[str] = set()
    alike: dict[str, list[ast.expr]] = {}  # every plain assignment of a name, wherever it is
    bindings: Counter[str] = Counter()  # every binding of a name, of any kind
    for stmt in _statements(body):
        bindings.update(_assigned_names(stmt))
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    alike.setdefault(target.id, []).append(stmt.value)
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
    for name, values in alike.items():
        if (
            name in ambiguous
            and bindings[name] == len(values)
            and len({ast.dump(v) for v in values}) == 1
        ):
            found[name] = values[0]
            ambiguous.discard(name)
    return {k: v for k, v in found.items() if k not in ambiguous}


def _unpacked(body: list[ast.stmt]) -> dict[str, ast.expr]:
    """Names unpacked once, at the top level of ``body``, from one value (``a, b = f(x)``),
    and bound no other way: each with that value, or with its own element of a tuple written
    out (``y_true, y_pred = y_true[..., :n], y_pred[..., :n]``)."""
    found: dict[str, ast.expr] = {}
    ambiguous: set[str] = set()
    for stmt in _statements(body):
        if not (
            isinstance(stmt, ast.Assign)
            and stmt in body
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], (ast.Tuple, ast.List))
        ):
            ambiguous.update(_assigned_names(stmt))
            continue
        target, value = stmt.targets[0], stmt.value
        parts: list[tuple[ast.expr, ast.expr]] = [(target, value)]
        if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
            parts = list(zip(target.elts, value.elts, strict=True))
        for part, source in parts:
            for name in _names_in(part):
                if name in found:
                    ambiguous.add(name)
                found[name] = source
    return {k: v for k, v in found.items() if k not in ambiguous}


def _assigned_names(stmt: ast.stmt) -> Iterator[str]:
    """The names a statement binds (not those of the statements inside it)."""
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
        targets = [stmt.target]
    for target in targets:
        yield from _names_in(target)
    yield from _bound_names(stmt)


def _self_assignments(body: list[ast.stmt]) -> dict[str, ast.expr]:
    """``self.x`` assigned exactly once in a method's body, at its top level (the tutorial's
    ``self.bce = binary_crossentropy(...)`` then ``return w * self.bce + self.mse``), keyed
    ``"self.x"``."""
    found: dict[str, ast.expr] = {}
    ambiguous: set[str] = set()
    for stmt in _statements(body):
        targets = (
            stmt.targets
            if isinstance(stmt, ast.Assign)
            else [stmt.target]
            if isinstance(stmt, (ast.AugAssign, ast.AnnAssign))
            else []
        )
        for target in targets:
            if not (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            ):
                continue
            name = f"self.{target.attr}"
            if name in found or stmt not in body or not isinstance(stmt, ast.Assign):
                ambiguous.add(name)
            else:
                found[name] = stmt.value
    return {k: v for k, v in found.items() if k not in ambiguous}


def _self_name(expr: ast.expr) -> str | None:
    """``"self.x"`` for ``self.x``."""
    attribute = names.self_attribute(expr)
    return f"self.{attribute}" if attribute is not None else None


def _bound_names(stmt: ast.stmt) -> Iterator[str]:
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        yield from _names_in(stmt.target)
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        for item in stmt.items:
            if item.optional_vars is not None:
                yield from _names_in(item.optional_vars)


def _names_in(target: ast.expr) -> Iterator[str]:
    for node in subtree(target):
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
    def __init__(
        self,
        scope: Scope,
        assigned: dict[str, ast.expr],
        pair: tuple[str, str],
        node: ast.FunctionDef | ast.AsyncFunctionDef | None = None,
        halves: bool = True,
        reductions: bool = False,
    ) -> None:
        self.scope = scope
        self.assigned = assigned
        self.pair = pair
        self.halves = halves
        self.reductions = reductions
        self.params: set[str] = set()
        self.defaults: dict[str, float] = {}
        self.unpacked: dict[str, ast.expr] = {}  # names unpacked from one value (see _reads)
        if node is not None:
            self.params = {a.arg for a in _all_args(node.args)} - set(pair)
            self.defaults = _bind(node.args, (), {}, scope.module)
            for name, number in scope.given.items():
                if number is None:
                    self.defaults.pop(name, None)
                else:
                    self.defaults[name] = number
            self.unpacked = _unpacked(node.body)

    def lookup(self, name: str, depth: int = 0) -> float | None:
        if depth > _MAX_DEPTH:
            return None
        if name in self.assigned:
            return _number(self.assigned[name], lambda n: self.lookup(n, depth + 1), depth + 1)
        if name in self.defaults:
            return self.defaults[name]
        if name in self.params:
            return None  # an argument the caller may pass: not the module's constant
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
            if self.halves and self._label_halves(expr):
                return self._atomic(expr)  # one loss, written one label value at a time
            left = self.terms(expr.left, depth + 1)
            right = self.terms(expr.right, depth + 1)
            if left is None or right is None:
                return None
            sign = -1.0 if isinstance(expr.op, ast.Sub) else 1.0
            combined = left + [_scaled(t, sign) for t in right]
            if _entangled(combined):
                whole = self._atomic(expr)[0]
                return [replace(whole, parts=frozenset(_names(combined)))]
            return combined
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult):
            found = self._product(expr.left, expr.right, depth)
            return found if found is not None else self._atomic(expr)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
            divisor = self.number(expr.right)
            if divisor is None or divisor == 0:
                return self._atomic(expr)
            inner = self.terms(expr.left, depth + 1)
            return None if inner is None else [_scaled(t, 1.0 / divisor) for t in inner]
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
            inner = self.terms(expr.operand, depth + 1)
            if inner is None:
                return None
            return [_scaled(t, -1.0 if isinstance(expr.op, ast.USub) else 1.0) for t in inner]
        variable = expr.id if isinstance(expr, ast.Name) else _self_name(expr)
        if variable is not None and variable in self.assigned:
            inner = self.terms(self.assigned[variable], depth + 1)
            if inner is None:
                return None
            losses = [t for t in inner if t.is_loss]
            # The variable is the author's name for one term: ``mse_loss = K.mean(...)``;
            # ``dice = 1 - ratio`` is the term dice, not a constant and -ratio.
            if len(inner) == 1 and inner[0].name is None:
                named = replace(inner[0], name=variable, written=variable)
                return [replace(named, named_weight=named.weight)]
            if len(losses) == 1 and losses[0].name is None:
                whole = self._atomic(self.assigned[variable])[0]
                return [replace(whole, name=variable, written=variable)]
            return inner
        if isinstance(expr, ast.Call):
            callee = names.qualify(expr.func, self.scope.module.imports)
            if callee in _ADD and len(expr.args) == 2 and not expr.keywords:
                return self.terms(ast.BinOp(expr.args[0], ast.Add(), expr.args[1]), depth + 1)
            if callee in _MULTIPLY and len(expr.args) == 2 and not expr.keywords:
                found = self._product(expr.args[0], expr.args[1], depth)
                return found if found is not None else self._atomic(expr)
            if (
                self.reductions
                and (callee or "").rpartition(".")[2] in _LINEAR_REDUCTIONS
                and len(expr.args) == 1
                and all(k.arg in ("axis", "keepdims") for k in expr.keywords)
            ):
                # Of the author's named terms and loss calls (``xent_loss + kl_loss``), not of
                # arithmetic that is one term (a KL's ``1 + z_log_var - K.square(z_mean)``).
                inner = self.terms(expr.args[0], depth + 1)
                if (
                    inner is not None
                    and len(inner) > 1
                    and all(t.name is not None or t.target is not None for t in inner)
                ):
                    return inner
            target = self._callee(expr.func, 0)
            if target is not None:
                written = safe_unparse(expr.func)
                order = self._order(expr)
                # Given more than the loss's inputs (a project function's ``weight``), or
                # other values (``mean_absolute_error(spikes_pred, zeros)``): no metric by
                # its name gives this value.
                extra = order == "other" or (
                    len(expr.args) + len(expr.keywords) > 2
                    and target.name in self.scope.project.functions
                    and not is_keras_source(target.name.rpartition(".")[0])
                )
                return [
                    Term(
                        1.0,
                        written,
                        target,
                        order,
                        formula=self._formula(expr),
                        line=expr.lineno,
                        column=expr.col_offset + 1,
                        call=_made_call(expr, frozenset(self.pair) - self._narrowed())
                        if extra
                        else "",
                        reads=frozenset(self._reads(expr, through_gradients=False)),
                    )
                ]
        return self._atomic(expr)

    def _label_halves(self, expr: ast.expr) -> bool:
        """A sum whose every part is multiplied by the label or by its complement, both
        present: ``y * log(p) + (1 - y) * log(1 - p)``, a focal loss's ``pos + neg``, a
        contrastive loss's ``(1 - y) / 2 * d**2 + y / 2 * max(0, m - d)**2``. Each sample's
        label selects its half, so the halves are one loss, not terms to track apart."""
        parts = list(_additive_parts(expr))
        gates = {self._gate(part, 0) for part in parts}
        return len(parts) >= 2 and gates == {"label", "complement"}

    def _gate(self, expr: ast.expr, depth: int) -> str | None:
        """``label`` or ``complement`` when ``expr`` is a product with the label (y_true) or
        with ``1 - label`` among its factors (through negation, scaling and local names)."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, ast.Name) and expr.id in self.assigned and expr.id != self.pair[0]:
            return self._gate(self.assigned[expr.id], depth + 1)
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
            return self._gate(expr.operand, depth + 1)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Mult, ast.Div)):
            found = {self._factor(expr.left, depth + 1), self._gate(expr.left, depth + 1)}
            if isinstance(expr.op, ast.Mult):
                found |= {self._factor(expr.right, depth + 1), self._gate(expr.right, depth + 1)}
            found.discard(None)
            return found.pop() if len(found) == 1 else None
        if isinstance(expr, ast.Call) and expr.args and not expr.keywords:
            # ``reduce_sum((1 - t_true) * square(y - y0_pred))``: a sum of one half is that half.
            callee = (names.qualify(expr.func, self.scope.module.imports) or "").rpartition(".")[2]
            if callee in _GATE_REDUCTIONS:
                gate = self._gate(expr.args[0], depth + 1)
                if gate is not None:
                    return gate
        # ``K.sum(alpha * K.pow(1 - pt_1, g) * K.log(pt_1))`` with ``pt_1 = where(equal(y_true,
        # 1), y_pred, ones_like(y_pred))``: the prediction where the label is 1 (a focal loss).
        found = {self._selected(n.id) for n in subtree(expr) if isinstance(n, ast.Name)}
        found.discard(None)
        return found.pop() if len(found) == 1 else None

    def _selected(self, name: str) -> str | None:
        """``label`` or ``complement`` for a local bound to ``where(<label> == 1, ...)`` (or to
        ``== 0``): the value where the label is 1 (or 0)."""
        bound = self.assigned.get(name)
        if not (isinstance(bound, ast.Call) and bound.args):
            return None
        callee = names.qualify(bound.func, self.scope.module.imports) or ""
        if callee.rpartition(".")[2] not in ("where", "switch"):
            return None
        imports = self.scope.module.imports
        operands = names.equality_operands(
            bound.args[0],
            lambda func: (names.qualify(func, imports) or "").rpartition(".")[2] == "equal",
        )
        if operands is None:
            return None
        label, value = operands
        if not self._is_label(label, 0):
            return None
        number = self.number(value)
        return "label" if number == 1 else "complement" if number == 0 else None

    def _factor(self, expr: ast.expr, depth: int) -> str | None:
        """``label`` for y_true itself (also cast), ``complement`` for ``1 - y_true``."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
            return self._factor(expr.operand, depth + 1)
        if self._is_label(expr, depth):
            return "label"
        if (
            isinstance(expr, ast.BinOp)
            and isinstance(expr.op, ast.Sub)
            and self.number(expr.left) == 1
            and self._is_label(expr.right, depth)
        ):
            return "complement"
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div) and self.number(expr.right):
            return self._factor(expr.left, depth + 1)
        return None

    def _is_label(self, expr: ast.expr, depth: int) -> bool:
        if isinstance(expr, ast.Name):
            if expr.id == self.pair[0]:
                return True
            bound = self.assigned.get(expr.id)
            return bound is not None and depth < _MAX_DEPTH and self._is_label(bound, depth + 1)
        if isinstance(expr, ast.Call) and expr.args:  # ``cast(y_true, "float32")``
            name = names.qualify(expr.func, self.scope.module.imports) or ""
            if name.rpartition(".")[2] in ("cast", "convert_to_tensor", "to_float"):
                return self._is_label(expr.args[0], depth + 1)
        if isinstance(expr, ast.Subscript):
            # ``t_true = concat_true[:, 1]``: a column of the labels (DragonNet's treatment),
            # whose 0/1 values select each sample's half.
            return depth < _MAX_DEPTH and self._is_label(expr.value, depth + 1)
        return False

    def _product(self, left: ast.expr, right: ast.expr, depth: int) -> list[Term] | None:
        for factor, other in ((left, right), (right, left)):
            weight = self.number(factor)
            if weight is not None:
                inner = self.terms(other, depth + 1)
                if inner is None:
                    return None
                named = _weight_name(factor)
                scaled = [_scaled(t, weight) for t in inner]
                if named and len(scaled) == 1 and scaled[0].weight_name is None:
                    scaled = [replace(scaled[0], weight_name=named)]
                return scaled
        return None

    def _atomic(self, expr: ast.expr) -> list[Term]:
        """A part of the sum that is not a call to a loss: an inline loss term when it reads
        both y_true and y_pred, else an extra (a constant, a penalty on y_pred)."""
        number = self.number(expr)
        if number is not None:
            return [Term(number, repr(number), None, "other", kind="extra", source="1.0")]
        expanded = None if too_deep(expr) else self._expand(expr, 0)
        reads = expr if expanded is None else expanded
        kind = "inline" if set(self.pair) <= self._reads(reads) else "extra"
        source = (
            None if expanded is None or not self._evaluable(expanded) else safe_unparse(expanded)
        )
        return [
            Term(
                1.0,
                unparse(expr),
                None,
                "plain",
                kind=kind,
                source=source,
                formula=self._formula(expr),
                line=getattr(expr, "lineno", 0),
                column=getattr(expr, "col_offset", -1) + 1,
                reads=frozenset(self._reads(expr, through_gradients=False)),
            )
        ]

    def _reads(self, expr: ast.expr, through_gradients: bool = True) -> set[str]:
        """The names ``expr`` reads, and those that the names unpacked from a value read
        (``dy_true, dx_true = tf.image.image_gradients(y_true)``: an edge term of the
        differences of both pairs reads y_true and y_pred), through locals already expanded.
        Not ``through_gradients``: not what only a gradient reads (a gradient penalty's
        ``K.gradients(loss, ...)``, an adversarial example's ``stop_gradient(x + eps *
        sign(grad))``), which makes another objective, not a piece of the formula it starts
        from (see _entangled)."""
        nodes = subtree if through_gradients else _outside_gradients
        used: set[str] = set()
        frontier = [name for n in nodes(expr) if (name := _read_name(n))]
        while frontier:
            name = frontier.pop()
            if name in used:
                continue
            used.add(name)
            if name in self.pair:
                continue  # the loss's own inputs (also where they are narrowed in place)
            value = self.unpacked.get(name)
            if value is None:
                value = self.assigned.get(name)
            if value is not None:
                frontier.extend(name for n in nodes(value) if (name := _read_name(n)))
        return used

    def _formula(self, expr: ast.expr) -> str:
        expanded = None if too_deep(expr) else self._expand(expr, 0)
        if expanded is None:
            return ""
        return formula(expanded, self.pair, self.scope.module.imports)

    def _expand(self, expr: ast.expr, depth: int) -> ast.expr | None:
        """``expr`` with the body's local variables replaced by what they hold and names of
        numbers by the numbers; None when too deep."""
        if depth > _MAX_DEPTH:
            return None
        walker = self

        class _Substitute(ast.NodeTransformer):
            failed = False

            def visit_Name(self, node: ast.Name) -> ast.AST:
                if node.id in walker.pair or not isinstance(node.ctx, ast.Load):
                    return node
                if node.id in walker.assigned:
                    inner = walker._expand(walker.assigned[node.id], depth + 1)
                    if inner is None:
                        self.failed = True
                        return node
                    return inner
                number = walker.lookup(node.id)
                if number is not None:
                    return ast.Constant(number)
                return node

            def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
                if isinstance(node.value, ast.Name) and node.value.id == "self":
                    if f"self.{node.attr}" in walker.assigned and isinstance(node.ctx, ast.Load):
                        inner = walker._expand(walker.assigned[f"self.{node.attr}"], depth + 1)
                        if inner is None:
                            self.failed = True
                            return node
                        return inner
                    number = walker.lookup(f"self.{node.attr}")
                    if number is not None:
                        return ast.Constant(number)
                    return node
                self.generic_visit(node)
                return node

        try:
            copy = ast.parse(ast.unparse(expr), mode="eval").body
        except (ValueError, RecursionError, SyntaxError):  # a 5,000-digit literal, deep nesting
            return None
        substitute = _Substitute()
        result = substitute.visit(copy)
        if substitute.failed or not isinstance(result, ast.expr) or too_deep(result):
            return None  # locals substituted into locals can nest past what unparse prints
        return result

    def _evaluable(self, expr: ast.expr) -> bool:
        """Whether the child can evaluate ``expr`` given y_true, y_pred (and ``self``) in the
        user module's namespace: every other free name must be a module-level name."""
        if any(
            isinstance(n, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
                           ast.NamedExpr))
            for n in subtree(expr)
        ):  # fmt: skip
            return False
        allowed = set(self.pair) | (self.scope.globals - self.params)
        if self.scope.method:
            allowed.add("self")
        return all(
            n.id in allowed or n.id in _BUILTIN_NAMES
            for n in subtree(expr)
            if isinstance(n, ast.Name)
        )

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
        if self._narrowed():
            return "other"  # a part of the inputs, which a metric given them all does not compute
        if (given[0], given[1]) == self.pair:
            return "plain"
        if (given[1], given[0]) == self.pair:
            return "swapped"
        return "other"

    def _narrowed(self) -> frozenset[str]:
        """The loss's inputs it rebinds to a part of themselves (``y_true, y_soft = y_true[:,
        :n], y_true[:, n:]``, knowledge distillation's labels and soft targets side by side)."""
        return frozenset(
            name
            for name in self.pair
            if isinstance(self.assigned.get(name, self.unpacked.get(name)), ast.Subscript)
        )

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
        project = self.scope.project
        if isinstance(func, ast.Name) and func.id not in module.imports:
            prefix = self.scope.enclosing
            while prefix.startswith(module.module + "."):
                if prefix not in project.classes:  # a class body is not a scope of its methods
                    nested = f"{prefix}.{func.id}"
                    if project.kind(nested) is not None:
                        return nested
                prefix = prefix.rpartition(".")[0]
            qualname = f"{module.module}.{func.id}"
            return qualname if project.kind(qualname) is not None else None
        return names.qualify(func, module.imports)

    def _constructed(self, call: ast.Call) -> Target | None:
        """A loss or metric object built with constant arguments (``MeanSquaredError()``)."""
        name = self._qualified(call.func)
        if name is None:
            return None
        is_class = names.keras_class_name(name.rpartition(".")[2])
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


def _read_name(node: ast.AST) -> str | None:
    """A name read (``z_mean``), or an attribute of ``self`` (``self.z_mean``: what a loss
    method reads of its object), else None."""
    if isinstance(node, ast.Name):
        return node.id
    return _self_name(node) if isinstance(node, ast.Attribute) else None


def _additive_parts(expr: ast.expr) -> Iterator[ast.expr]:
    """The operands of a sum or difference, nested ones flattened."""
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Sub)):
        yield from _additive_parts(expr.left)
        yield from _additive_parts(expr.right)
    else:
        yield expr


def _constant(expr: ast.expr, lookup: Lookup) -> object:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, (str, bool, type(None))):
        return expr.value
    number = _number(expr, lookup)
    if number is not None:
        if isinstance(expr, ast.Constant) and type(expr.value) is int:
            return expr.value
        return number
    return _MISSING


_GRADIENTS: Final = frozenset(
    {"gradients", "gradient", "stop_gradient", "jacobian", "batch_jacobian", "grad"}
)


def _outside_gradients(expr: ast.expr) -> Iterator[ast.AST]:
    """The nodes of ``expr``, not those inside the arguments of a gradient or stop_gradient."""
    pending: list[ast.AST] = [expr]
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, ast.Call) and names.last_name(node.func) in _GRADIENTS:
            continue
        pending.extend(ast.iter_child_nodes(node))


def _entangled(terms: list[Term]) -> bool:
    """Whether one term is built from another (a Huber loss's ``0.5 * square(quadratic) +
    delta * (abs_error - quadratic)``): pieces of one formula, not losses to track apart. Terms
    that only share an input (``mse`` and ``mae`` of one ``diff``) stay apart."""
    return any(
        n in other.reads
        for term in terms
        for n in _names([term])
        for other in terms
        if other is not term and n != other.name and n not in other.parts
    )


def _names(terms: list[Term]) -> Iterator[str]:
    for term in terms:
        if term.name:
            yield term.name
        yield from term.parts


def _scaled(term: Term, factor: float) -> Term:
    return replace(term, weight=term.weight * factor)


def _is_keras_loss_or_metric(name: str) -> bool:
    module, _, last = name.rpartition(".")
    return module in ("keras.losses", "keras.metrics") and bool(last) and last != "Loss"


def _project_name(name: str, project: ProjectIndex) -> str:
    """The name as indexed (a cross-module reference may use another package root)."""
    return project._lookup(name) or name


_MAX_NODES_DEPTH: Final = 60  # deeper expressions are opaque: unparse would recurse too far


def too_deep(expr: ast.AST, limit: int = _MAX_NODES_DEPTH) -> bool:
    """Whether ``expr`` nests deeper than ``limit`` (iteratively: a 500-term sum is real)."""
    stack: list[tuple[ast.AST, int]] = [(expr, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return False


def unparse(expr: ast.AST, limit: int = 40) -> str:
    """Source text for messages, shortened; ``...`` for an expression too deep to print."""
    if too_deep(expr):
        return "..."
    return shortened(expr, limit)


_BUILTIN_NAMES: Final = frozenset(
    {"abs", "float", "int", "min", "max", "len", "sum", "pow", "round"}
)


def _all_args(arguments: ast.arguments) -> list[ast.arg]:
    found = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    found += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    return found


def _weight_name(factor: ast.expr) -> str | None:
    """The variable a weight is read from (``lambda_mse``, ``self.alpha``), if any."""
    return names.last_name(factor)


# -- a loss definition's body, and the metrics that track its terms ---------------------------


@dataclass(frozen=True, slots=True)
class Body:
    """Where a loss definition's terms are read: the function, its ``(y_true, y_pred)``
    parameter names, and what other names mean there."""

    node: ast.FunctionDef | ast.AsyncFunctionDef
    pair: tuple[str, str]
    scope: Scope

    def terms(self, halves: bool = True, reductions: bool = False) -> list[Term] | None:
        return weighted_sum(self.node, self.pair, self.scope, halves, reductions)

    def unused(self) -> list[tuple[str, Term, ast.Assign, int]]:
        return unused_terms(self.node, self.pair, self.scope)

    def accumulated(self) -> dict[str, ast.Call]:
        """The names the loss starts at a number and adds terms to (``loss_obj = 0``, then
        ``loss_obj += K.sum(...)`` for each box of a YOLO v1 loss), each with the first call it
        adds that reads both the labels and the prediction (what the returned sum reads as one
        term, "extra", is built from it). A name bound any other way as well is left out (its
        value is not that sum)."""
        started: set[str] = set()
        added: dict[str, ast.Call] = {}
        other: set[str] = set()
        for statement in subtree(self.node):
            if isinstance(statement, ast.Assign):
                for target in statement.targets:
                    if not isinstance(target, ast.Name):
                        continue
                    value = statement.value
                    if isinstance(value, ast.Constant) and type(value.value) in (int, float):
                        started.add(target.id)
                    else:
                        other.add(target.id)
            elif (
                isinstance(statement, ast.AugAssign)
                and isinstance(statement.target, ast.Name)
                and isinstance(statement.op, ast.Add)
            ):
                value = statement.value
                if isinstance(value, ast.Call) and set(self.pair) <= set(_names_in(value)):
                    added.setdefault(statement.target.id, value)
                else:
                    other.add(statement.target.id)
        return {name: call for name, call in added.items() if name in started - other}


def loss_body(
    project: ProjectIndex,
    definition: LossDef,
    args: tuple[JSON, ...] = (),
    kwargs: dict[str, JSON] | None = None,
    owner: ast.ClassDef | None = None,
    given: dict[str, float | None] | None = None,
) -> Body | None:
    """The body that computes a loss definition's value, with a factory's or a ``Loss``
    subclass's constructor arguments bound (else their defaults). A bound method's object is
    built from ``owner`` (the instance's class; else the class that defines the method)."""
    kwargs = kwargs or {}
    module = next((m for m in project.modules if m.module == definition.module), None)
    if module is None:
        return None
    scope = Scope(
        module, project, enclosing=definition.qualname.rpartition(".")[0], given=given or {}
    )
    node: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    skip = 0
    if definition.kind == "function" and isinstance(
        definition.node, (ast.FunctionDef, ast.AsyncFunctionDef)
    ):
        node = definition.node
    elif definition.kind == "closure" and isinstance(
        definition.node, (ast.FunctionDef, ast.AsyncFunctionDef)
    ):
        node = definition.node
        factory = project.functions.get(definition.factory or "")
        if factory is not None:
            scope.numbers, scope.outer = numbers_of_factory(factory[1].node, args, kwargs, module)
    elif definition.kind == "loss_class" and isinstance(definition.node, ast.ClassDef):
        node = next(
            (
                s
                for s in definition.node.body
                if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "call"
            ),
            None,
        )
        skip = 1
        scope.method = True
        scope.numbers, scope.objects = numbers_of_class(definition.node, args, kwargs, module)
    elif definition.kind == "method" and isinstance(
        definition.node, (ast.FunctionDef, ast.AsyncFunctionDef)
    ):
        node = definition.node
        skip = 1
        scope.method = True
        if owner is None:
            cls = project.classes.get(definition.qualname.rpartition(".")[0])
            owner = None if cls is None else cls[1].node
        if owner is not None:
            scope.numbers, scope.objects = numbers_of_class(owner, args, kwargs, module)
    if node is None:
        return None
    params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)][skip:]
    if len(params) < 2:
        return None
    return Body(node, (params[0], params[1]), scope)


def forwarded(
    project: ProjectIndex, definition: LossDef
) -> tuple[LossDef, dict[str, float | None]] | None:
    """A compiled ``lambda y_true, y_pred: kd_loss(y_true, y_pred, lambd=0.5, T=temperature)``
    (or a function that only returns such a call): the project loss it forwards its inputs to,
    in order, and the other arguments it passes (a number, or None for a value not known
    here). None for any other definition."""
    node = definition.node
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    body = [s for s in node.body if not isinstance(s, ast.Expr)]  # (a docstring, a print)
    if not (len(body) == 1 and isinstance(body[0], ast.Return)):
        return None
    call = body[0].value
    if not isinstance(call, ast.Call):
        return None
    params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
    if (
        len(params) < 2
        or len(call.args) < 2
        or any(
            not (isinstance(a, ast.Name) and a.id == p)
            for a, p in zip(call.args[:2], params[:2], strict=True)
        )
    ):
        return None
    module = next((m for m in project.modules if m.module == definition.module), None)
    target = None if module is None else project.named(call.func, module)
    callee = next(
        (d for d in project.definitions() if d.qualname == target and d.kind == "function"), None
    )
    if callee is None or module is None:
        return None
    signature = project.functions[callee.qualname][1]
    positional = signature.params
    passed = [(positional[i], a) for i, a in enumerate(call.args) if 2 <= i < len(positional)]
    passed += [(k.arg, k.value) for k in call.keywords if k.arg is not None]
    bound = {*positional[:2], *(name for name, _ in passed)}
    required = [*positional[: signature.required], *signature.required_kwonly]
    if (len(call.args) > len(positional) and not signature.varargs) or any(
        name not in bound for name in required
    ):
        return None  # not this function's signature (a notebook's earlier definition)
    return callee, {name: _number(value, module.constants.get) for name, value in passed}


@dataclass(frozen=True, slots=True)
class Tracked:
    """A ``metrics=[...]`` entry as a term's counterpart: what it is, what it answers to."""

    target: Target | None  # how the runtime builds it; None when it cannot
    shown: str  # as written: ``'mse'``, ``mse_loss``, ``MeanSquaredError()``
    keys: frozenset[str]
    formula: str = ""  # a project function's normalised body
    # The name of the closure a metric factory hands out, which Keras logs it under: it
    # answers to a term computed inline under that name (a soft ``pom`` tracked by
    # ``get_pom_loss(1.0)``), not to one that calls a loss (``nacc = binary_crossentropy(...)``
    # is no sign accuracy ``nacc``).
    closure: str = ""

    def matches(self, term: Term) -> bool:
        if self.keys & term.identities():
            return True
        if self.closure and term.target is None and name_key(term.name or "") == self.closure:
            return True
        return bool(self.formula) and self.formula == term.formula


_SHAPE_METRIC_IDS: Final = frozenset({"accuracy", "acc"})  # resolved by shape in compile


def tracked_metric(project: ProjectIndex, metric: Value) -> Tracked | None:
    """What a ``metrics`` entry computes, for matching with terms; None for an entry that
    cannot stand for a loss term (``"accuracy"``, an unknown name)."""
    if isinstance(metric, Const) and isinstance(metric.value, str):
        identifier = metric.value
        if identifier in _SHAPE_METRIC_IDS:
            return None
        known = identifier in keras_ids.K3_METRICS
        return Tracked(
            Target("metric_id", identifier) if known else None,
            repr(identifier),
            frozenset({key(identifier)}),
        )
    name: str | None = None
    call: Call | None = None
    if isinstance(metric, Ref):
        name = metric.target
    elif isinstance(metric, Call) and metric.func is not None:
        name, call = metric.func, metric
    if name is None:
        return None
    keras = _is_keras_metric(name)
    found = name if keras else project._lookup(name)
    # ``recon_metric = build_reconstruction_loss(w)``, given as ``metrics=[recon_metric]`` and
    # called in the loss as ``recon_metric(y_true, y_pred)``: the same object, by its name.
    bound = {key(call.binding)} if call is not None and call.binding else set()
    if found is None:
        if "." not in name:
            return None
        # A library's metric (``segmentation_models.metrics.jaccard_score``): the loss term
        # that calls the same function on the loss's inputs answers to its name.
        return Tracked(None, name.rpartition(".")[2], frozenset({key(name), *bound}))
    kind = None if keras else project.kind(found)
    shown = names.defined_name(found)
    keys = {key(found), name_key(found), *bound}
    closure = ""
    if call is not None and kind == "factory":  # ``get_pom_loss(1.0)`` hands out ``pom``
        closure = name_key(str(project.functions[found][1].returns_function))
    formula_text = ""
    if kind == "function":
        formula_text = function_formula(project, found)
        keys |= {k for k, f in builtin_formulas().items() if formula_text and f == formula_text}
    target: Target | None = None
    # A method (``my_loss.bce_metric``) is read from an object the runtime cannot share with
    # the loss's own: it tracks the term by name, but is not built.
    method = kind == "function" and found.rpartition(".")[0] in project.classes
    if call is None and (keras or kind == "class" or (kind == "function" and not method)):
        target = Target("object", found)
    elif call is not None and (keras or kind == "class"):
        args = _json_constants(call.args)
        if args is not None:
            kwargs = tuple(
                (k, v) for k, v in ((k, _json_constant(v)) for k, v in call.kwargs)
                if v is not _MISSING
            )  # fmt: skip
            target = Target("call", found, args, kwargs)  # type: ignore[arg-type]
            shown = target.label()
    return Tracked(target, shown, frozenset(k for k in keys if k), formula_text, closure)


def function_formula(project: ProjectIndex, qualname: str) -> str:
    """The normalised formula a project function ``(y_true, y_pred)`` returns, else ""."""
    found = project.functions.get(qualname)
    if found is None:
        return ""
    module, function = found
    node = function.node
    returned = _returned(node)
    params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
    if returned is None or len(params) < 2:
        return ""
    walker = _Walker(Scope(module, project), _assignments(node.body), (params[0], params[1]), node)
    return walker._formula(returned)


# Operations whose operands commute: sorted before two formulas are compared.
_COMMUTATIVE: Final = frozenset(
    {"add", "mul", "maximum", "minimum", "equal", "not_equal", "logical_and", "logical_or"}
)
_INPUT: Final = re.compile(r"\b[TP]\b")
_EVEN: Final = frozenset({"abs", "square"})  # f(a - b) = f(b - a)


def symmetric(formula: str) -> bool:
    """Whether a formula of ``(T, P)`` is the same with the two swapped, up to the order of
    the operands of commutative operations (a Dice or IoU of ``abs(T * P)`` and ``abs(T) +
    abs(P)``, a squared difference's mean): calling it with swapped arguments changes nothing."""
    if "T" not in _INPUT.findall(formula) or "P" not in _INPUT.findall(formula):
        return False
    swapped = _INPUT.sub(lambda m: "P" if m.group() == "T" else "T", formula)
    canonical, other = _canonical(formula), _canonical(swapped)
    return canonical is not None and canonical == other


def _canonical(formula: str, even: bool = False) -> str | None:
    """``formula`` with the operands of each commutative operation sorted; None where it is not
    written as calls of operations on operands (a raw expression the walker kept as text).
    ``even``: the formula is the operand of an even function (``abs``, ``square``), under which
    ``sub(a, b)`` and ``sub(b, a)`` agree."""
    if "(" not in formula:
        return formula if "[" not in formula and " " not in formula else None
    split = _operands(formula)
    if split is None:
        return None
    head, parts = split
    operands: list[str] = []
    for part in parts:
        keyword, equals, value = part.partition("=")
        if equals and re.fullmatch(r"\w+", keyword):
            inner = _canonical(value)
            if inner is None:
                return None
            operands.append(f"{keyword}={inner}")
            continue
        operand = _canonical(part, head in _EVEN and len(parts) == 1)
        if operand is None:
            return None
        operands.append(operand)
    if head in _COMMUTATIVE or (even and head == "sub"):
        operands.sort()
    return f"{head}({','.join(operands)})"


def _is_keras_metric(name: str) -> bool:
    module, _, last = name.rpartition(".")
    return module in ("keras.metrics", "keras.losses") and last not in ("", "Metric", "get")


def _json_constant(value: Value) -> object:
    if isinstance(value, Const) and isinstance(value.value, (str, int, float, bool, type(None))):
        return value.value
    return _MISSING


def _json_constants(values: tuple[Value, ...]) -> tuple[JSON, ...] | None:
    out = [_json_constant(v) for v in values]
    return None if any(v is _MISSING for v in out) else tuple(out)  # type: ignore[arg-type]
