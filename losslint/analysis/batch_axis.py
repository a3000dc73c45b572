"""The batch-axis analysis shared by the reduction rules (LL2xx) and the metric rules (LL5xx).

For every expression of loss code it answers one question: where is the batch axis? Still there
(axis 0, ``kept``), mixed into the other axes (``flat``: ``K.flatten``, ``reshape(x, [-1])``,
``boolean_mask``), reduced away by a mean (``mean``: also ``max``, a ratio of two batch sums)
or by a sum (``sum``: grows with the batch size, like the batch size itself). ``axis=``
arguments (``-1``, ``1``, lists, ``range(1, ndim)``, ``keepdims``) are read; helpers defined in
the project are followed with the arguments' states; names are followed to their bindings
(locals, the factory of a closure, the module, ``self.x`` set in ``__init__``).

A definition is analysed with ``y_true``/``y_pred`` of rank ≥ 2 whose axis 0 is the batch, which
is what ``compile`` passes. The same pass records what a loss body does besides computing its
value (:class:`Effect`: tensors stored on ``self``/globals, NumPy applied to tensors) and the
state of every expression trained on outside
``compile`` (``tape.gradient``, ``minimize``, ``jax.grad``, ``.backward()``).

Unknown stays unknown: a value the analysis cannot follow never produces a finding.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Final

from losslint.analysis import flags, ops
from losslint.analysis.counts import complementary_counts, confusion_total, key, math_name
from losslint.analysis.references import array_method, numpy_references, other_framework
from losslint.codec import chunk_statements, lines_with, mentioning_statements, plain_statements
from losslint.diagnostic import Span
from losslint.index import names
from losslint.index.apis import is_keras_source
from losslint.index.facts import (
    Call,
    FunctionDef,
    LossDef,
    ModuleIndex,
    Objective,
    Param,
    Value,
    iter_leaves,
)
from losslint.index.folding import shortened
from losslint.index.nodes import subtree
from losslint.index.positions import (
    assigned_lambda,
    bound_names,
    flat_statements,
    node_span,
    parameter_names,
)
from losslint.index.project import ProjectIndex, bound_once, parameter_default, partial_target

_MAX_DEPTH: Final = 6
_MAX_ITEMS: Final = 64  # a list grown by ``append`` longer than this is unknown
# Expressions nested deeper than this (a 500-term sum, 164 nested calls) are "unknown": the
# walk is recursive, and Python's stack is not ours to exhaust.
_MAX_NESTING: Final = 80

# States of a value. "kept"/"flat" hold the batch; "mean"/"sum" have reduced it away; "scalar"
# is a full reduction of a value whose batch is unknown; "shape" is a batched tensor's shape.
TENSORS: Final = frozenset({"kept", "flat", "mean", "sum", "scalar"})
REDUCED: Final = frozenset({"mean", "sum", "scalar"})

# What each operation does to the batch axis comes from the op catalogue, which the range
# analysis reads too.
_SUM_OPS: Final = ops.names(batch="sum")
_MEAN_OPS: Final = ops.names(batch="mean")
_OTHER_REDUCTIONS: Final = ops.names(batch="reduce")
_ARG_REDUCTIONS: Final = ops.names(batch="argreduce")
_ELEMENTWISE: Final = ops.names(batch="elementwise")
# Ops that reduce the last axis only: one value per sample for a (batch, classes) input.
_LAST_AXIS: Final = ops.names(batch="last_axis")
# Backend/ops forms that are elementwise although the keras.losses function of the same name is
# per sample.
_ELEMENTWISE_CROSSENTROPY: Final = frozenset({"binary_crossentropy", "binary_focal_crossentropy"})
# TensorFlow's elementwise crossentropies: one loss per element of the logits, never reduced.
_PER_EXAMPLE: Final = frozenset(
    {"sigmoid_cross_entropy_with_logits", "weighted_cross_entropy_with_logits"}
)
_FLATTEN: Final = ops.names(batch="flatten")
# Two-operand arithmetic ops (by their range transfer) and the operator they compute.
_BINARY: Final = {
    "divide": "/",
    "divide_no_nan": "/",
    "add": "+",
    "subtract": "-",
    "multiply": "*",
}
# Gathers elements of several samples into one axis (``boolean_mask``, ``gather_nd``).
_MIXES: Final = ops.names(batch="mixes")
_TENSOR_METHODS_PASS: Final = ops.method_names("elementwise")
# A project helper named for turning a tensor into a NumPy array (``convert_to_numpy``,
# ``to_numpy``, ``tensor_to_np``): calling it on a tensor is the NumPy step, reported at the call
# in loss code rather than at each conversion inside the helper.
_TO_NUMPY_HELPER: Final = re.compile(r"(?:^|_)(?:to|as)_(?:numpy|np)$")
# The op kinds (by their batch behaviour in the catalogue) whose result is a tensor made in the
# trace, whatever their arguments: reductions and elementwise math, not shapes or constants.
_TENSOR_RESULTS: Final = frozenset({"mean", "sum", "reduce", "elementwise", "mixes", "last_axis"})
_TENSOR_MAKERS: Final = frozenset(
    {"constant", "convert_to_tensor", "cast", "ones", "zeros", "fill"}
)


# TensorFlow Probability's distributions (and TF 1's ``tf.distributions``): one per sample of
# a batched parameter, so what these methods give has the batch axis first (the batch shape of
# the distribution; ``sample()`` puts its sample shape before it, and is not read).
_DISTRIBUTION_MODULES: Final = (
    "tensorflow_probability.distributions",
    "tensorflow_probability.python.distributions",
    "tensorflow.distributions",
    "tensorflow.contrib.distributions",
)
_DISTRIBUTION_METHODS: Final = frozenset(
    {
        "log_prob", "prob", "cdf", "log_cdf", "survival_function", "log_survival_function",
        "mean", "mode", "stddev", "variance", "entropy",
    }
)  # fmt: skip


def _distribution(module: str, last: str) -> bool:
    """Whether ``module.last`` is a distribution's class (``tfd.Normal``, ``tfp.distributions.
    MixtureSameFamily``, ``tf.distributions.Normal``)."""
    return last[:1].isupper() and module in _DISTRIBUTION_MODULES


@dataclass(frozen=True, slots=True)
class Reduction:
    """Where and how a value lost its batch axis."""

    path: str
    span: Span  # the reducing call, in the function the value is reported for
    how: str  # "K.mean(...) without axis"
    op: str  # "mean" | "sum" | "max" | ... ; "ratio" for a ratio of batch sums ("spread ratio"
    # of batch variances or standard deviations, "mean ratio" of batch means)
    fixable: bool = False  # adding axis=-1 to the call at ``span`` keeps the batch axis
    via: str | None = None  # the helper (qualified name) that reduced it
    per_sample: bool = False  # it reduced a vector of one value per sample (rank 1)
    # It reduced whole a value made from the batch that the analysis could not shape: one
    # number per batch for what Keras calls as fn(y_true, y_pred), but for a function only
    # named like a loss, whose callers may want that number, no evidence of a defect.
    shapeless: bool = False
    loss_object: bool = False  # a loss object's call, which reduces the batch itself
    tf1: bool = False  # a TF 1 loss function's call (``tf.compat.v1.losses``), which does too


@dataclass(frozen=True, slots=True)
class Batch:
    """What the analysis knows about one value."""

    kind: str  # TENSORS | "const" | "shape" | "seq" | "function" | "class" | "lossfn" |
    # "lossobj" | "layer" (a Keras model or layer) | "distribution" (a TFP distribution of
    # the samples: see _DISTRIBUTION_METHODS) | "ref" | "self" | "method" (a project method
    # bound to ``self``, ``f = self.calculate_loss``: its object is ``items[0]``) | "choice"
    # (any of the functions and methods of ``items``, as branches set them) | "unknown"
    rank: int | None = None  # exact rank, when known ("kept", "flat")
    min_rank: int = 1  # lower bound of the rank ("kept")
    count: bool = False  # "sum": a count of samples (shape[0], size), not a sum of values
    scale: int = 0  # "mean"/"sum": the value grows like batch_size ** scale (sum: 1)
    ratio: bool = False  # "mean": a ratio of two batch sums
    literal: bool = False  # "const": a number written in the code
    inverse: bool = False  # "const": divides by something not written as a number
    origin: Reduction | None = None
    target: str | None = None  # function/class qualname, ref name, loss object reduction
    items: tuple[Batch, ...] = ()  # "seq"
    # "kept"/"flat" returned as per-sample terms plus a term reduced over the batch
    # (``-log(jaccard_over_batch) + bce``): that term's kind ("mean" | "sum") and origin.
    coupled: tuple[str, Reduction] | None = None
    # "mean" returned as a sum of terms that each reduce the batch (``dice_loss(y, p) +
    # bce(y, p)``): every such term's origin, so that fixing one leaves none unreported.
    terms: tuple[Reduction, ...] = ()
    # "kept"/"flat" plus a term summed over the batch (``recon + K.sum(kl)``), and the mean of
    # such a value: the sum is still in it, growing with the batch (read for trained values).
    summed: Reduction | None = None


CONST: Final = Batch("const")
UNKNOWN: Final = Batch("unknown")
# A starred argument whose values are not known one by one (``f(*xs)``): unknown, and known
# by its identity as the argument list's unknown length.
_UNSPREAD: Final = Batch("unknown")
# A function's call of itself, while it is interpreted: one of its own results, so a join with
# its other returns is those returns (``if empty: return IoU(1 - y, 1 - p)`` then the IoU).
_RECURSIVE: Final = Batch("recursive")
# TensorFlow's image measures that give one value per image (``tf.image.ssim``).
PER_IMAGE: Final = frozenset({"ssim", "ssim_multiscale", "psnr", "total_variation"})
_MAX_CHOICES: Final = 4  # the functions a branching assignment may choose from (see _choice)
SAMPLES: Final = Batch("kept", min_rank=2)  # y_true / y_pred as compile passes them
# What a layer's call or a model's train_step is given: a batch, or a list of batches to
# unpack.
_LAYER_INPUTS: Final = Batch("kept", target="<layer inputs>")
# What a model's compute_loss is given as y_pred: one row per sample, but where it is a dict
# of the outputs ``call`` returns, an entry may be a scalar (a VQ layer's loss).
_PREDICTIONS: Final = Batch("kept", min_rank=2, target="<predictions>")


@dataclass(frozen=True, slots=True)
class Effect:
    """Something loss code does besides computing its value."""

    kind: str  # "store" (a tensor kept on self/global/nonlocal) | "numpy" (NumPy on a tensor)
    # | "counter" (``self.step += 1``, a Python count of the calls)
    path: str
    span: Span
    what: str  # "self.last", "global history", "np.mean", ".numpy()"
    function: str  # qualified name of the function it happens in
    callee: str | None = None  # "numpy": the canonical name of the function called
    call: ast.Call | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Trained:
    """An expression trained on outside ``compile``, with its batch state."""

    kind: str  # the objective's kind: "minimize" | "gradient" | "backward" | "grad" | ...
    path: str
    span: Span
    value: Batch
    text: str  # the expression as written (shortened), for messages


@dataclass
class _Frame:
    module: ModuleIndex
    qualname: str  # the function interpreted, or the module for module-level code
    cls: str | None  # the class of ``self``
    env: dict[str, Batch] = field(default_factory=dict)
    literals: dict[str, ast.expr] = field(default_factory=dict)
    returns: list[Batch] = field(default_factory=list)
    globals: set[str] = field(default_factory=set)
    loss_code: bool = True
    depth: int = 0
    training: bool = False  # a training step: the functions it calls are trained on directly
    eager: int = 0  # inside a branch that runs only eagerly (``if tf.executing_eagerly():``)
    probes: dict[int, tuple[str, Span]] = field(default_factory=dict)
    nesting: int = 0  # expressions being evaluated inside one another
    # Parameters left at a literal default and never rebound (``reduce='mean'``): a test on
    # them is decided, as it is for every call that leaves them out (compile's).
    defaults: dict[str, object] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)  # probe id -> the name it is bound to
    # The parameters' values on entry, before the body rebinds any (``gt = gather(gt)``).
    entry: dict[str, Batch] = field(default_factory=dict)
    # Names bound to a sum of terms (``total = (1 - e) * focal + e * ce``) with the number of
    # that binding, and each name's last binding number (see _returned_sum).
    sums: dict[str, tuple[ast.expr, int]] = field(default_factory=dict)
    bound_at: dict[str, int] = field(default_factory=dict)
    bindings: int = 0

    @property
    def path(self) -> str:
        return self.module.path


# What tells that a tensor has a value: eager execution, or an eager tensor's class.
_EAGER_TESTS: Final = frozenset({"executing_eagerly", "is_eager", "in_eager_mode"})
_EAGER_CLASSES: Final = frozenset({"EagerTensor", "_EagerTensorBase", "core.Value"})


def _eager_branch(test: ast.expr) -> int | None:
    """Which branch of an ``if`` runs only eagerly: 0 for its body (``if
    tf.executing_eagerly():``, ``if isinstance(x, ops.EagerTensor):``, ``hasattr(x,
    "numpy")``), 1 for its ``else`` (``if not tf.executing_eagerly():``); None otherwise."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _eager_branch(test.operand)
        return None if inner is None else 1 - inner
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        # ``if eager and ...``: the body needs every condition, so it runs only eagerly.
        return 0 if any(_eager_branch(v) == 0 for v in test.values) else None
    if not isinstance(test, ast.Call):
        return None
    name = names.dotted(test.func)
    last = name[-1] if name else ""
    if last in _EAGER_TESTS:
        return 0
    if last == "isinstance" and len(test.args) == 2:
        kinds = test.args[1].elts if isinstance(test.args[1], ast.Tuple) else [test.args[1]]
        found = [names.dotted(k) or [] for k in kinds]
        if found and all(
            f and (f[-1] in _EAGER_CLASSES or ".".join(f[-2:]) in _EAGER_CLASSES) for f in found
        ):
            return 0
    if (
        last == "hasattr"
        and len(test.args) == 2
        and isinstance(test.args[1], ast.Constant)
        and test.args[1].value == "numpy"
    ):
        return 0
    return None


def _text(node: ast.AST, limit: int = 40) -> str:
    try:
        return shortened(node, limit)
    except (ValueError, TypeError, RecursionError):  # pragma: no cover - malformed trees
        return "..."


def _step(node: ast.expr) -> bool:
    """A number written in the code, as a counter's step: ``1``, ``1 / 1440``."""
    if isinstance(node, ast.Constant):
        return type(node.value) in (int, float)
    if isinstance(node, ast.BinOp):
        return _step(node.left) and _step(node.right)
    return isinstance(node, ast.UnaryOp) and _step(node.operand)


def _short_call(node: ast.Call) -> str:
    return f"{_text(node.func, 30)}(...)"


def is_tensor(value: Batch) -> bool:
    return value.kind in TENSORS


def _traced(value: Batch) -> bool:
    """A tensor that a traced loss cannot hand to NumPy: not a Python number named like the
    batch size (which counts the samples, but is an ``int`` written in the script)."""
    return is_tensor(value) and not (value.count and value.literal)


def is_constant(value: Batch) -> bool:
    """No batch axis: a constant, a module reference, or a tuple/list of those."""
    if value.kind == "seq":
        return all(is_constant(item) for item in value.items)
    return value.kind in ("const", "ref")


def _model_or_layer(module: str, last: str) -> bool:
    """A Keras model or layer class (``keras.Model``, ``keras.applications.vgg16.VGG16``,
    ``keras.layers.Conv2D``): its instances map a batch to a batch."""
    if not last[:1].isupper():
        return False
    if module in ("keras", "keras.models"):
        return last in ("Model", "Sequential")
    return module.startswith("keras.applications") or (
        module == "keras.layers" and last not in ("Input", "InputLayer", "InputSpec", "Layer")
    )


def _weighted_sum(expr: ast.expr) -> ast.expr | None:
    """The sum ``expr`` is, seen through a weight and a renaming: ``a + b``, ``alpha * (vq_loss
    + beta * commit_loss)``, ``tf.identity(..., name="latent_loss")``; None for anything else."""
    while True:
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Sub)):
            return expr
        if (
            isinstance(expr, ast.Call)
            and names.last_name(expr.func) == "identity"
            and len(expr.args) == 1
        ):
            expr = expr.args[0]
        elif isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult):
            weight, other = (expr.left, expr.right)
            if isinstance(other, (ast.Name, ast.Attribute, ast.Constant)):
                weight, other = other, weight
            if not isinstance(weight, (ast.Name, ast.Attribute, ast.Constant)):
                return None
            expr = other
        else:
            return None


def _additive_terms(expr: ast.expr) -> Iterator[ast.expr]:
    """The terms of ``a + b - c``, each without a numeric factor (``0.5 * dice``, ``-log(j)``)."""
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Sub)):
        yield from _additive_terms(expr.left)
        yield from _additive_terms(expr.right)
    elif isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
        yield from _additive_terms(expr.operand)
    elif (
        isinstance(expr, ast.BinOp)
        and isinstance(expr.op, (ast.Mult, ast.Div))
        and isinstance(expr.right, ast.Constant)
    ):
        yield expr.left
    elif (
        isinstance(expr, ast.BinOp)
        and isinstance(expr.op, ast.Mult)
        and isinstance(expr.left, ast.Constant)
    ):
        yield expr.right
    else:
        yield expr


def join(a: Batch, b: Batch) -> Batch:
    """Either value (two branches, two returns)."""
    if a == b:
        return a
    if a.kind in ("const", "recursive"):
        return b
    if b.kind in ("const", "recursive"):
        return a
    if a.kind == b.kind == "seq":
        if len(a.items) == len(b.items):
            items = tuple(join(x, y) for x, y in zip(a.items, b.items, strict=True))
            return Batch("seq", items=items)
        # A list grown by ``append`` in a loop or a branch: its items are those of either.
        grown = (*a.items, *b.items)
        item = grown[0]
        for other in grown[1:]:
            item = join(item, other)
        if item.kind == "unknown":
            return UNKNOWN
        return Batch("seq", items=(item,) * max(len(a.items), len(b.items)))
    if a.kind != b.kind or a.kind not in TENSORS:
        return UNKNOWN
    return Batch(
        a.kind,
        rank=a.rank if a.rank == b.rank else None,
        min_rank=min(a.min_rank, b.min_rank),
        count=a.count and b.count,
        scale=max(a.scale, b.scale),
        ratio=a.ratio or b.ratio,
        origin=a.origin or b.origin,
    )


def _shape_setting(expr: ast.expr) -> bool:
    """A name or attribute named for a shape (``input_shape``, ``self.img_shape``), not a
    tensor's ``.shape``: a tuple of dimensions the code was configured with."""
    name = expr.attr if isinstance(expr, ast.Attribute) else getattr(expr, "id", "")
    return name != "shape" and name.endswith("shape")


def arithmetic(a: Batch, b: Batch, op: str) -> Batch:
    """``a op b`` for op in + - * / ** and comparisons ("cmp"), with broadcasting."""
    if is_constant(a):
        a = a if a.kind == "const" else CONST
    if is_constant(b):
        b = b if b.kind == "const" else CONST
    additive = op in ("+", "-")
    if a.kind == "const" and b.kind == "const":
        inverse = (op == "/" and not b.literal) or a.inverse or b.inverse
        return Batch("const", literal=a.literal and b.literal, inverse=inverse)
    for data, other in ((a, b), (b, a)):
        # Broadcasting with a value we cannot follow (weights from np.random.randn(*shape), an
        # attribute) keeps the batch axis where it was: the operation is elementwise.
        if data.kind in ("kept", "flat") and other.kind == "unknown":
            return replace(data, origin=None if data.kind == "kept" else data.origin)
    for reduced, other in ((a, b), (b, a)):
        # ``loss * loss_weight`` of a factory's parameter, ``dice / self.norm``: a weight the
        # analysis cannot shape scales a batch mean; it does not undo it. A sum scaled so may
        # be a mean by a count (``reduce_sum(x) * (1. / global_batch_size)``): unknown.
        if (
            reduced.kind == "mean"
            and reduced.origin is not None
            and other.kind == "unknown"
            and (op == "*" or (op == "/" and reduced is a))
        ):
            return reduced
    if a.kind not in TENSORS | {"const"} or b.kind not in TENSORS | {"const"}:
        return UNKNOWN
    for data, other in ((a, b), (b, a)):
        # ``y_true * mse(y_true, y_pred)``, ``alpha * tho * bce(y_true, y_pred)`` with a loss
        # object that reduces the batch: each sample's value is the batch's loss scaled, not
        # its own error, whatever shape the per-sample factor gives it back.
        if (
            data.kind in ("kept", "flat")
            and other.kind == "mean"
            and other.origin is not None
            and (other.origin.loss_object or other.origin.tf1)
            and (op == "*" or (op == "/" and other is a))
        ):
            return other
    for data, other in ((a, b), (b, a)):
        if data.kind in ("kept", "flat") and other.kind not in ("kept", "flat"):
            summed = data.summed
            if additive and summed is None and other.kind == "sum" and not other.count:
                summed = other.origin  # ``recon + K.sum(kl)``: a batch sum in every sample
            return replace(data, origin=None if data.kind == "kept" else data.origin, summed=summed)
    if a.kind in ("kept", "flat"):  # both data tensors
        if a.kind != b.kind:
            # ``y_true / reshape(sum(y_true, axis=1), (-1, 1))``: whichever layout broadcasting
            # leaves, the batch is in the result, with its other axes.
            flat = a if a.kind == "flat" else b
            return Batch("flat", min_rank=max(a.min_rank, b.min_rank), origin=flat.origin)
        rank = a.rank if a.rank == b.rank else None
        return Batch(a.kind, rank=rank, min_rank=max(a.min_rank, b.min_rank))
    if op == "cmp":  # a test of a reduced value (``tf.size(loss) > 0``): a flag, no quantity
        return Batch("scalar")
    # Both reduced, or one reduced and one constant: the batch-size exponent decides.
    if b.kind == "const":
        if a.scale > 0 and ((op == "/" and not b.literal) or b.inverse):
            return UNKNOWN  # maybe divided by the batch size: a mean after all
        return a
    if a.kind == "const":
        if op == "/":  # ``1 / jaccard(y, p)``: the inverse of a ratio is one
            return _reduced(-b.scale, origin=b.origin, ratio=b.ratio)
        return b
    if a.kind == "scalar" or b.kind == "scalar":
        if op == "/" and b.kind == "scalar" and a.scale > 0:
            return UNKNOWN  # K.sum(l * mask) / K.sum(mask): maybe a count of the batch
        if op == "/" and a.kind == "scalar" and b.scale > 0:
            # ``reduce_sum(per_box) / reduce_sum(labels)``: divided by a batch sum, what is
            # left of the batch in it is not known (a sum normalised by the positives,
            # RetinaNet's, does not grow with it).
            return UNKNOWN
        return b if a.kind == "scalar" else a
    if op == "*":
        scale = a.scale + b.scale
    elif op == "/":
        scale = a.scale - b.scale
    elif additive:
        scale = max(a.scale, b.scale)
    else:
        scale = a.scale
    data_sums = a.scale > 0 and b.scale > 0 and not a.count and not b.count
    # ``1 - var(y_true - y_pred) / var(y_true)``: the batch's spread, a statistic of it as a
    # sum is, divided by another (explained variance, a correlation over the batch).
    # A batch mean over one (RSE: ``sqrt(mean(square(y - p))) / std(y)``; a correlation:
    # ``mean(dy * dp, axis=0) / (std(y, axis=0) * std(p, axis=0))``) is one too.
    means = _mean_of_data(a)
    spreads = _spread(b) and (_spread(a) or (a.scale > 0 and not a.count) or means)
    # ``mean(|y - p|) / mean(|y[:, 1:] - y[:, :-1]|)`` (MASE): two batch means, which is a
    # ratio of two batch sums.
    means = means and _mean_of_data(b)
    ratio = scale <= 0 and ((op == "/" and (data_sums or spreads or means)) or a.ratio or b.ratio)
    # The reduction that sets the result's growth explains it: in ``mean + sum`` the sum.
    origin = a.origin or b.origin
    if additive and b.scale > a.scale and b.origin is not None:
        origin = b.origin
    if ratio and origin is not None and op == "/":
        shown = (
            "ratio"
            if data_sums or not (spreads or means)
            else "spread ratio"
            if spreads
            else "mean ratio"
        )
        origin = replace(origin, op=shown)
    return _reduced(
        scale,
        origin=origin,
        ratio=ratio,
        count=scale > 0 and additive and a.count and b.count,
    )


_SPREADS: Final = frozenset({"std", "var", "variance", "nanstd", "nanvar"})


def _mean_of_data(value: Batch) -> bool:
    """A mean of the batch's values, taken by the code (not a count, a maximum, a ratio, or a
    loss object's own reduction)."""
    origin = value.origin
    return (
        value.kind == "mean"
        and value.scale == 0
        and not value.ratio
        and origin is not None
        and origin.op == "mean"
        and not (origin.loss_object or origin.tf1)
    )


def _spread(value: Batch) -> bool:
    """A spread of the batch's values (``K.var(y_true)``, ``tf.math.reduce_std(x)``)."""
    return value.kind == "mean" and value.origin is not None and value.origin.op in _SPREADS


def _reduced(
    scale: int,
    origin: Reduction | None,
    ratio: bool = False,
    count: bool = False,
) -> Batch:
    """A value without a batch axis that grows like ``batch_size ** scale``."""
    kind = "sum" if scale > 0 else "mean"
    return Batch(kind, scale=scale, origin=origin, ratio=ratio, count=count)


@dataclass(frozen=True, slots=True)
class _Axes:
    """An ``axis=`` argument: all axes, these axes, every non-batch axis, or unknown."""

    kind: str  # "all" | "list" | "nonbatch" | "unknown"
    values: tuple[int, ...] = ()


_ALL: Final = _Axes("all")


def _reduce_axes(value: Batch, axes: _Axes, keepdims: bool) -> tuple[str, Batch | None]:
    """("batch" | "kept" | "unknown", the kept value) for a reduction of a batched value."""
    if value.kind == "flat":
        if axes.kind == "list" and axes.values and 0 not in axes.values:
            # ``reshape(y_pred, (-1, classes))`` then ``sum(..., axis=1)``: the classes go,
            # the merged batch-and-positions axis 0 stays.
            rank = value.rank
            resolved = [
                a if a >= 0 else (rank + a if rank is not None else None) for a in axes.values
            ]
            if any(a is None for a in resolved):
                return "unknown", None
            if 0 not in resolved:
                if keepdims or rank is None:
                    return "kept", replace(value, origin=None)
                left = max(rank - len(set(resolved)), 1)
                return "kept", replace(value, rank=left, min_rank=left, origin=None)
        if axes.kind in ("all", "list"):
            return "batch", None
        return "unknown", None
    if axes.kind == "all":
        return "batch", None
    if axes.kind == "nonbatch":
        rank = value.rank if keepdims else 1
        return "kept", replace(value, rank=rank, min_rank=rank or 1, origin=None)
    if axes.kind != "list":
        return "unknown", None
    for axis in axes.values:
        if axis == 0:
            return "batch", None
        if axis < 0 and value.rank is not None and value.rank + axis == 0:
            return "batch", None
    # Several trailing axes of a tensor whose rank is not known (``axis=[-3, -2, -1]`` of a
    # 3-D segmentation map): the spatial axes a loss sums per sample; a writer who meant the
    # batch too would have written no axis. A single ``axis=-1`` stays uncertain (a per-sample
    # vector averaged again is the batch).
    trailing = [-a for a in axes.values if a < 0]
    if value.rank is None and trailing and max(trailing) >= value.min_rank:
        if len(trailing) < 2:
            return "unknown", None
        value = replace(value, min_rank=max(trailing) + 1)
    if keepdims:
        return "kept", replace(value, origin=None)
    n = len(axes.values)
    rank = value.rank - n if value.rank is not None else None
    return "kept", replace(value, rank=rank, min_rank=max(1, value.min_rank - n), origin=None)


class BatchAxis:
    """The analysis of one project; results are computed on demand and cached."""

    def __init__(self, project: ProjectIndex) -> None:
        self.project = project
        self._memo: dict[tuple[object, ...], Batch] = {}
        self._active: set[str] = set()
        # A function's literal defaults, by its node: a helper is run once per call site.
        self._defaults: dict[ast.AST, dict[str, object]] = {}
        self._factory_defaults: dict[str, dict[str, object]] = {}  # see _factory_flags
        # and each flag's value where it is known: the default no call passes, or the literal
        # every call passes (empty where neither)
        self._flag_values: dict[tuple[str, str], tuple[object, ...]] = {}
        self._free_reads: dict[ast.AST, frozenset[str]] = {}  # names a closure does not bind
        self._effects: dict[tuple[str, Span, str], Effect] = {}
        self._results: dict[str, Batch] = {}
        self._assignments: dict[str, dict[str, list[ast.expr]]] = {}
        self._later: dict[tuple[str, str], list[tuple[ast.expr, ModuleIndex, FunctionDef]]] = {}
        self._compile_calls: dict[str, list[tuple[ModuleIndex, ast.Call]]] = {}  # by class
        self._tf2: dict[str, bool] = {}  # by module path (see _tensorflow_2)
        self._derived: dict[str, dict[str, list[ast.expr]]] = {}  # see derivations
        self._trained: list[Trained] | None = None
        self._differentiated: set[str] = set()
        self._definitions = {d.qualname: d for d in project.definitions()}
        self._references = numpy_references(project, pure=True)
        self._trained_sink: list[Trained] = []
        # functools.partial(f, name=value) at compile sites: f -> name -> state.
        self._partials: dict[str, dict[str, Batch]] | None = None

    # -- public results ----------------------------------------------------------------------

    def _other_framework(self, definition: LossDef) -> bool:
        module = self.project.module_named(definition.module)
        return module is not None and (
            other_framework(module, definition) or array_method(module, definition)
        )

    def result(self, definition: LossDef) -> Batch:
        """What a definition returns when compile calls it (for a class: ``call``)."""
        if definition.qualname not in self._results:
            self._results[definition.qualname] = self._definition(definition)
        return self._results[definition.qualname]

    def effects(self) -> list[Effect]:
        """Stores and NumPy calls in loss code: the definitions known to be losses or metrics
        (by use, base class or name) and the helpers they call."""
        for definition in self.project.definitions():
            if definition.roles:
                self.result(definition)
        return sorted(self._effects.values(), key=lambda e: (e.path, e.span.line, e.span.column))

    def trained(self) -> list[Trained]:
        """Every expression trained on outside compile, with its batch state."""
        if self._trained is None:
            self._trained = list(self._objectives())
        return self._trained

    def differentiated(self) -> frozenset[str]:
        """Project functions whose results are trained on directly (custom training steps)."""
        self.trained()
        return frozenset(self._differentiated)

    def function_result(self, qualname: str, loss_code: bool = True) -> Batch:
        """What a project function returns given ``(y_true, y_pred)`` as compile passes them.

        ``loss_code``: record its effects (a function only shaped like a loss, with no role,
        may well be something else: a NumPy backend's crossentropy).
        """
        found = self.project.functions.get(qualname)
        if found is None:
            return UNKNOWN
        module, function = found
        return self._run_function(module, function, None, None, loss_code=loss_code, top=True)

    def _factory_flags(self, qualname: str, node: ast.AST) -> dict[str, object]:
        """The flags of the function a closure is defined in, as the closure reads them: what
        decides its ``if per_image:`` or the flag it hands on. A literal default that no call
        of the factory in the project passes (``get_f_score(beta=1)`` leaves
        ``per_image=True``), or the one literal every call passes (``get_loss_function(
        margin=1, semi=True)``, the only compile of a FaceNet triplet loss)."""
        factory = qualname.rpartition(".")[0]
        found = self.project.functions.get(factory)
        if found is None or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return {}
        defaults = self._factory_defaults.get(factory)
        if defaults is None:
            defaults = self._factory_defaults[factory] = flags.literal_defaults(found[1].node)
        if not defaults:
            return {}
        read = self._free_reads.get(node)
        if read is None:
            own = {*parameter_names(node), *flags.rebound(node)}
            read = self._free_reads[node] = frozenset(
                n.id for n in subtree(node) if isinstance(n, ast.Name) and n.id not in own
            )
        read = read & defaults.keys()
        # Only the flags the closure reads are asked of the factory's callers (a search of
        # the modules that may call it, once per flag).
        params = found[1].params
        kept: dict[str, object] = {}
        for name in sorted(read):
            known = self._flag_values.get((factory, name))
            if known is None:
                param = Param(name, params.index(name) if name in params else -1, None)
                passed = [
                    flags.literal_value(a) for _, a in self.project.passed_arguments(factory, param)
                ]
                if not passed:
                    known = (defaults[name],)
                elif flags.NOT_LITERAL not in passed and len({repr(v) for v in passed}) == 1:
                    known = (passed[0],)  # every call passes the same literal
                else:
                    known = ()
                self._flag_values[(factory, name)] = known
            if known:
                kept[name] = known[0]
        return kept

    # -- definitions -------------------------------------------------------------------------

    def _definition(self, definition: LossDef) -> Batch:
        # A NumPy reference run on arrays (see analysis.references), and the helpers it calls,
        # are not loss code: no NumPy effect of theirs is reported. Nor is an unused JAX or
        # PyTorch function named like a metric (a notebook's compute_metrics on JAX arrays).
        loss_code = (
            bool(definition.roles)
            and definition.qualname not in self._references
            and (definition.used or not self._other_framework(definition))
        )
        if definition.kind == "function":
            bound = self._partial_bindings(definition.qualname)
            if bound:
                found = self.project.functions.get(definition.qualname)
                if found is None:
                    return UNKNOWN
                module, function = found
                return self._run_function(
                    module, function, None, None, loss_code=loss_code, top=True, kwargs=bound
                )
        if definition.kind in ("function", "closure", "method"):
            return self.function_result(definition.qualname, loss_code)
        if definition.kind == "loss_class":
            method = self._method(definition.qualname, "call")
            if method is None:
                # A Loss whose own ``__call__`` replaces Keras's: it returns the final loss, a
                # scalar (a mean is right), and one summed over the batch grows with it.
                override = self._method(definition.qualname, "__call__")
                if override is None:
                    return UNKNOWN
                module, function = override
                value = self._run_function(
                    module, function, None, definition.qualname, loss_code=loss_code, top=True
                )
                return value if value.kind == "sum" else UNKNOWN
            override = self._method(definition.qualname, "__call__")
            if override is not None:
                # ``call`` computes the per-sample values, and an own ``__call__`` wraps it
                # (a KL term with an annealing counter, ``self.epochs += 1``): Keras runs both,
                # so both are loss code.
                self._run_function(
                    *override, None, definition.qualname, loss_code=loss_code, top=True
                )
            module, function = method
            return self._run_function(
                module, function, None, definition.qualname, loss_code=loss_code, top=True
            )
        for name in ("update_state", "result"):
            method = self._method(definition.qualname, name)
            if method is not None:
                module, function = method
                self._run_function(
                    module, function, None, definition.qualname, loss_code=loss_code, top=True
                )
        return UNKNOWN

    def _partial_bindings(self, qualname: str) -> tuple[tuple[str, Batch], ...]:
        """The keyword arguments compile sites bind with ``functools.partial(f, name=value)``:
        a symbolic Keras tensor (an ``Input`` or a layer applied to one) has a batch axis,
        anything else is a setting."""
        if self._partials is None:
            self._partials = {}
            for module in self.project.modules:
                for site in module.compiles:
                    for value in (site.loss, site.metrics, site.weighted_metrics):
                        for leaf in iter_leaves(value) if value is not None else ():
                            target = partial_target(leaf)
                            found = self.project._lookup(target) if target else None
                            if found is None or not isinstance(leaf, Call):
                                continue
                            bound = self._partials.setdefault(found, {})
                            for name, argument in leaf.kwargs:
                                state = Batch("kept") if _symbolic(argument) else CONST
                                bound[name] = join(bound.get(name, state), state)
        return tuple(sorted(self._partials.get(qualname, {}).items()))

    def _method(self, cls: str, name: str) -> tuple[ModuleIndex, FunctionDef] | None:
        """A method of a project class, looked up through project base classes."""
        return next(
            (
                found
                for owner in self._lineage(cls)
                if (found := self.project.functions.get(f"{owner}.{name}")) is not None
            ),
            None,
        )

    def _class_reduction(self, cls: str, call: ast.Call, frame: _Frame) -> str:
        """The reduction of the loss object that ``call`` constructs from project class ``cls``
        (see :func:`_reduction`): the ``reduction=`` its ``__init__`` hands to the base class
        (keras.io's RetinaNet losses, ``super().__init__(reduction="none", ...)``), or the
        argument of ``call`` (or the default) for the parameter it hands on; else what
        ``call`` says, by default the mean."""
        found = self._method(cls, "__init__")
        if found is None or names.argument(call, 99, "reduction") is not None:
            return _reduction(call, frame, default="mean")
        module, init = found
        for node in subtree(init.node):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "__init__"
            ):
                continue
            value = names.argument(node, 99, "reduction")
            if value is None:
                continue
            if isinstance(value, ast.Name) and value.id in init.params:
                index = init.params.index(value.id) - 1  # (``self`` is not passed)
                given = names.argument(call, index, value.id) if index >= 0 else None
                if given is None:
                    default = flags.literal_defaults(init.node).get(value.id, ...)
                    if not (default is None or isinstance(default, str)):
                        return "?"
                    given = ast.Constant(default)
                value = given
                module = frame.module
            return _reduction_of(value, module.imports)
        return "mean"

    def _lineage(self, cls: str, depth: int = 0) -> Iterator[str]:
        """``cls`` and its project base classes in the order a method is looked up in them:
        depth first, each base's own bases before the next base (five levels at most)."""
        yield cls
        entry = self.project.classes.get(cls)
        if entry is None or depth > 4:
            return
        for base in entry[1].bases:
            resolved = self._project_class(base)
            if resolved is not None:
                yield from self._lineage(resolved, depth + 1)

    def _project_class(self, name: str) -> str | None:
        found = self.project._lookup(name) if name else None
        return found if found in self.project.classes else None

    def _run_function(
        self,
        module: ModuleIndex,
        function: FunctionDef,
        args: tuple[Batch, ...] | None,
        cls: str | None,
        loss_code: bool,
        top: bool,
        kwargs: tuple[tuple[str, Batch], ...] = (),
        depth: int = 0,
        self_value: Batch | None = None,
        literals: tuple[tuple[str, object], ...] = (),
    ) -> Batch:
        """Interpret a function; ``args`` None means "as compile calls a loss"; ``literals``:
        the flags this call passes as literals (``backend="keras"``), which decide its ifs."""
        if cls is None:
            parent = function.qualname.rpartition(".")[0]
            cls = parent if parent in self.project.classes else None
        # The class too: a method inherited by several classes calls each one's own overrides
        # (``self._error_func`` of the subclass being run).
        key = (function.qualname, cls, self_value, args, kwargs, loss_code, top, literals)
        if key in self._memo:
            return self._memo[key]
        if function.qualname in self._active:
            return _RECURSIVE
        if depth > _MAX_DEPTH:
            return UNKNOWN
        node = function.node
        frame = _Frame(module, function.qualname, cls, loss_code=loss_code, depth=depth)
        if not top:
            frame.depth = max(depth, 1)
        params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
        start = 0
        if cls is not None and params and params[0] in ("self", "cls"):
            frame.env[params[0]] = self_value or Batch("self", target=cls)
            start = 1
        given = dict(kwargs)
        for index, name in enumerate(params[start:]):
            if args is None:
                frame.env[name] = SAMPLES if index < 2 else given.get(name, _named(name, CONST))
            elif index < len(args):
                frame.env[name] = args[index]
            else:
                frame.env[name] = given.get(name, _named(name, CONST))
        for arg in node.args.kwonlyargs:
            frame.env[arg.arg] = given.get(arg.arg, _named(arg.arg, CONST))
        for extra in (node.args.vararg, node.args.kwarg):
            if extra is not None:
                frame.env[extra.arg] = UNKNOWN
        if node.args.vararg is not None and args is not None:
            # ``def gather_channels(*xs): return xs``: the values given beyond the parameters.
            rest = args[len(params) - start :]
            frame.env[node.args.vararg.arg] = Batch("seq", items=tuple(rest))
        elif node.args.vararg is not None and len(params) - start < 2:
            # ``def dice_loss(*args, **kwargs): return 1 - dice_coefficient(*args, **kwargs)``
            # as Keras calls it: (y_true, y_pred) beyond the named parameters.
            missing = 2 - (len(params) - start)
            frame.env[node.args.vararg.arg] = Batch("seq", items=(SAMPLES,) * missing)
        frame.entry = dict(frame.env)
        passed = set(given) | set(params[start : start + (len(args) if args is not None else 2)])
        defaults = self._defaults.get(node)
        if defaults is None:
            defaults = self._defaults[node] = flags.literal_defaults(node)
        frame.defaults = {
            name: value
            for name, value in defaults.items()
            if name not in passed and "**" not in given
        }
        frame.defaults.update(literals)
        for name, value in self._factory_flags(function.qualname, node).items():
            frame.defaults.setdefault(name, value)
        self._active.add(function.qualname)
        try:
            self._block(node.body, frame)
            result = frame.returns[0] if frame.returns else UNKNOWN
            for value in frame.returns[1:]:
                result = join(result, value)
            if result.kind == "recursive":
                result = UNKNOWN  # it only ever returns what it calls itself for
        except RecursionError:
            result = UNKNOWN  # helpers nested beyond Python's stack: unknown, never a crash
        finally:
            self._active.discard(function.qualname)
        self._memo[key] = result
        return result

    def _coupled(self, expr: ast.expr, frame: _Frame) -> tuple[str, Reduction] | None:
        """A returned sum of terms (``+``/``-``, each maybe scaled by a number) where one term
        is reduced over the batch and the value keeps it: the first such term's kind and
        origin. Only the returned expression is read: a batch mean used inside a per-sample
        computation (centring, a normalisation) is the formula, not a term added to it."""
        terms = list(_additive_terms(expr))
        if len(terms) < 2:
            return None
        for term in terms:
            value = self._expr(term, frame)
            if (
                value.kind in ("mean", "sum")
                and value.origin is not None
                and not value.count
                and (value.kind == "mean" or value.scale > 0)
            ):
                return value.kind, value.origin
        return None

    def _reduced_terms(self, expr: ast.expr, frame: _Frame) -> tuple[Reduction, ...]:
        """The origins of the terms of a returned sum (as :meth:`_coupled` reads it) that each
        reduce the batch away, computed from it."""
        terms = list(_additive_terms(expr))
        if len(terms) < 2:
            return ()
        found = []
        for term in terms:
            value = self._expr(term, frame)
            # Only a term computed from the batch: an orthogonality penalty on a kernel,
            # ``mean(mean_squared_error(eye(n), W^T W))``, has no batch axis to lose.
            if (
                value.kind == "mean"
                and value.origin is not None
                and not value.count
                and self._from_batch(term, frame)
            ):
                found.append(value.origin)
        return tuple(found)

    # -- statements ---------------------------------------------------------------------------

    def _block(self, body: list[ast.stmt], frame: _Frame) -> bool:
        """Interpret ``body``; whether it surely ends the function (a ``return``, or an ``if``
        decided by a flag whose branch does), after which nothing in it runs."""
        return any(self._statement(statement, frame) for statement in body)  # stops at an end

    def _statement(self, node: ast.stmt, frame: _Frame) -> bool:
        """Interpret ``node``; whether it surely ends the function (see _block)."""
        if isinstance(node, ast.If):
            self._expr(node.test, frame)
            decided = flags.decided(node.test, frame.defaults)
            if decided is None:
                decided = flags.decided(node.test, self._module_flags(node.test, frame))
            if decided is None:
                self._branches([node.body, node.orelse], frame, _eager_branch(node.test))
                return False
            # ``if batch_mean: return ops.mean(err)`` with the flag the compile gives: the
            # returns below it are not reached.
            return self._block(node.body if decided else node.orelse, frame)
        self._simple_statement(node, frame)
        return isinstance(node, ast.Return)

    def _simple_statement(self, node: ast.stmt, frame: _Frame) -> None:
        named = assigned_lambda(node)
        if named is not None and f"{frame.qualname}.{named[0]}" in self.project.functions:
            # ``compute_loss = lambda true, pred: ...``: the function the index reads it as.
            frame.env[named[0]] = Batch("function", target=f"{frame.qualname}.{named[0]}")
            return
        if isinstance(node, ast.Assign):
            if id(node.value) in frame.probes and len(node.targets) == 1:
                # ``self.g_loss = ...`` minimized in another method: name it as written there.
                frame.labels[id(node.value)] = _text(node.targets[0])
            value = self._expr(node.value, frame)
            if frame.module.imports.get("backend") == "keras.backend" and names.hands_in_backend(
                node
            ):
                # The Keras backend handed in as an argument: ``backend.mean`` keeps the
                # meaning the index gave the name (see names.injected_backend).
                for element in getattr(node.targets[0], "elts", ())[1:]:
                    self._bind(element, UNKNOWN, None, frame)
                return
            for target in node.targets:
                self._bind(target, value, node.value, frame)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self._bind(node.target, self._expr(node.value, frame), node.value, frame)
        elif isinstance(node, ast.AugAssign):
            current = self._expr(node.target, frame)
            value = arithmetic(current, self._expr(node.value, frame), _op(node.op))
            counted = names.self_attribute(node.target)
            where = f"self.{counted}" if counted is not None else None
            if isinstance(node.target, ast.Name) and node.target.id in frame.globals:
                where = f"global/nonlocal {node.target.id}"
            if where is not None and isinstance(node.op, ast.Add) and _step(node.value):
                # ``self.step += 1``, ``self.C += 1 / 1440``: a Python counter, which a traced
                # call runs once per trace.
                self._effect(frame, "counter", node, where)
            self._bind(node.target, value, None, frame, augmented=True)
        elif isinstance(node, ast.Return):
            value = self._expr(node.value, frame) if node.value else CONST
            returned = _returned_sum(node.value, frame)
            # A term reduced over the batch, added to values that keep it or to values of
            # unknown layout (a penalty from a method): one number shared by the batch either way.
            if returned is not None and value.kind in ("kept", "flat", "unknown"):
                coupled = self._coupled(returned, frame)
                if coupled is not None:
                    value = replace(value, coupled=coupled)
            elif returned is not None and value.kind == "mean":
                terms = self._reduced_terms(returned, frame)
                if len(terms) > 1:
                    value = replace(value, terms=terms)
            frame.returns.append(value)
        elif isinstance(node, ast.Expr):
            self._expr(node.value, frame)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self._expr(node.iter, frame)
            self._bind(node.target, UNKNOWN, None, frame)
            self._branches([node.body, []], frame)
            self._block(node.orelse, frame)
        elif isinstance(node, ast.While):
            self._expr(node.test, frame)
            self._branches([node.body, []], frame)
            self._block(node.orelse, frame)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self._expr(item.context_expr, frame)
                if item.optional_vars is not None:
                    self._bind(item.optional_vars, UNKNOWN, None, frame)
            self._block(node.body, frame)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            self._block(node.body, frame)  # type: ignore[attr-defined]
            self._branches([h.body for h in node.handlers] + [[]], frame)  # type: ignore[attr-defined]
            self._block(node.orelse, frame)  # type: ignore[attr-defined]
            self._block(node.finalbody, frame)  # type: ignore[attr-defined]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            frame.env[node.name] = Batch("function", target=f"{frame.qualname}.{node.name}")
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            frame.globals.update(node.names)
        elif isinstance(node, ast.Match):
            self._expr(node.subject, frame)
            self._branches([c.body for c in node.cases], frame)

    def _branches(
        self, bodies: list[list[ast.stmt]], frame: _Frame, eager: int | None = None
    ) -> None:
        """``eager``: the position of the body that runs only eagerly, where a tensor has a
        value (``.numpy()`` is no defect there)."""
        before = dict(frame.env)
        after: list[dict[str, Batch]] = []
        for number, body in enumerate(bodies):
            frame.env = dict(before)
            frame.eager += number == eager
            try:
                self._block(body, frame)
            finally:
                frame.eager -= number == eager
            after.append(frame.env)
        merged: dict[str, Batch] = {}
        for name in set().union(*after):
            # A function's local bound on some paths only (``J = ...`` inside a loop's body):
            # reading it after the branches raises on the others, so its value is one of those
            # bound. (At module level the name may hold what an import bound before.)
            local = frame.qualname != frame.module.module and name not in frame.globals
            bound = name in before or not local
            values = [
                env.get(name, before.get(name, UNKNOWN)) for env in after if bound or name in env
            ]
            value = values[0]
            for other in values[1:]:
                value = join(value, other) if value != other else value
            merged[name] = value
        frame.env = merged

    def _bind(
        self,
        target: ast.expr,
        value: Batch,
        source: ast.expr | None,
        frame: _Frame,
        augmented: bool = False,
    ) -> None:
        if isinstance(target, ast.Name):
            if target.id in frame.globals and is_tensor(value):
                self._effect(frame, "store", target, f"global/nonlocal {target.id}")
            frame.env[target.id] = value
            frame.bindings += 1
            frame.bound_at[target.id] = frame.bindings
            summed = _weighted_sum(source) if source is not None else None
            if not augmented and summed is not None:
                frame.sums[target.id] = (summed, frame.bindings)
            else:
                frame.sums.pop(target.id, None)
            if isinstance(
                source, (ast.Constant, ast.Tuple, ast.List, ast.Call, ast.UnaryOp, ast.IfExp)
            ):
                frame.literals[target.id] = source
            else:
                frame.literals.pop(target.id, None)
        elif isinstance(target, ast.Attribute):
            parts = names.dotted(target)
            if parts and parts[0] == "self" and len(parts) == 2:
                made = source
                if isinstance(made, ast.Name):
                    # ``mean_acc = tf.reduce_mean(accs)``, then ``self.mean_acc = mean_acc``.
                    made = frame.literals.get(made.id, made)
                if (
                    is_tensor(value)
                    or self._makes_tensor(made, frame)
                    or (value == UNKNOWN and self._op_of_tensors(made, frame))
                ):
                    self._effect(frame, "store", target, f"self.{parts[1]}")
                frame.env[f"self.{parts[1]}"] = value
            elif parts and self._is_module_global(parts[0], frame) and is_tensor(value):
                self._effect(frame, "store", target, ".".join(parts))
        elif isinstance(target, ast.Subscript):
            parts = names.dotted(target.value)
            if (
                parts
                and is_tensor(value)
                and (parts[0] == "self" or self._is_module_global(parts[0], frame))
            ):
                self._effect(frame, "store", target, _text(target, 30))
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = value.items if value.kind == "seq" else ()
            if value == _LAYER_INPUTS:  # ``z_mean, z_log_var = inputs``: a list of batches
                items = tuple(SAMPLES for _ in target.elts)
            for index, element in enumerate(target.elts):
                item = items[index] if len(items) == len(target.elts) else UNKNOWN
                if isinstance(element, ast.Starred):
                    self._bind(element.value, UNKNOWN, None, frame)
                else:
                    self._bind(element, item, None, frame)

    def _own_layer(self, cls: str) -> bool:
        """Whether ``cls`` is a project layer (not a model) whose own ``call`` computes what
        applying it gives."""
        return (
            self.project.is_subclass(cls, names.KERAS_LAYER_BASES)
            and not self.project.is_subclass(cls, names.KERAS_MODEL_BASES)
            and self._method(cls, "call") is not None
            and self._method(cls, "__call__") is None
        )

    def _makes_tensor(self, source: ast.expr | None, frame: _Frame) -> bool:
        """``tf.constant(self.x)``, ``ops.convert_to_tensor(...)``: a tensor made inside the
        traced call even from a constant, so keeping it on ``self`` leaks it out of the graph
        (a later ``fit(validation_data=...)`` trace then fails on it)."""
        if not isinstance(source, ast.Call):
            return False
        target = names.qualify(source.func, frame.module.imports)
        if target is None:
            return False
        module, _, last = target.rpartition(".")
        numpy = module.split(".")[0] in ("numpy", "math")  # an array, not a graph tensor
        return module in names.TENSOR_MATH_MODULES and not numpy and last in _TENSOR_MAKERS

    def _op_of_tensors(self, source: ast.expr | None, frame: _Frame) -> bool:
        """``tf.reduce_mean(tf.image.psnr(clip(y_true), clip(y_pred)))``: a TensorFlow or
        Keras op (not NumPy's) given the function's tensors, whose batch layout the analysis
        does not know, or a reduction or elementwise op given anything, still returns a tensor
        of the trace."""
        if not isinstance(source, ast.Call):
            return False
        target = names.qualify(source.func, frame.module.imports)
        module, _, last = (target or "").rpartition(".")
        if module.split(".")[0] not in ("tensorflow", "keras"):
            return False
        op = ops.function(last)
        if op is not None and op.batch in _TENSOR_RESULTS:
            # ``tf.reduce_mean(tf.stack(accs))`` of a list the metric filled: whatever it is
            # given, the op's result is a tensor of the trace.
            return True
        return any(
            isinstance(node, ast.Name) and is_tensor(frame.env.get(node.id, UNKNOWN))
            for argument in (*source.args, *(k.value for k in source.keywords))
            for node in subtree(argument)
        )

    def _is_module_global(self, name: str, frame: _Frame) -> bool:
        """A module-level variable (not an import, not local): mutating it leaks out."""
        if (
            name in frame.env
            or name in frame.module.imports
            or frame.qualname == frame.module.module
        ):
            return False
        return name in frame.module.bindings

    # -- expressions --------------------------------------------------------------------------

    def _expr(self, node: ast.expr | None, frame: _Frame) -> Batch:
        if node is None:
            return CONST
        if frame.nesting > _MAX_NESTING:
            return UNKNOWN
        frame.nesting += 1
        try:
            value = self._evaluate(node, frame)
        finally:
            frame.nesting -= 1
        probe = frame.probes.get(id(node))
        if probe is not None:
            self._record(probe, node, value, frame)
        return value

    def _evaluate(self, node: ast.expr, frame: _Frame) -> Batch:
        if isinstance(node, ast.Constant):
            literal = isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
            return Batch("const", literal=literal)
        if isinstance(node, ast.Name):
            return self._name(node.id, frame)
        if isinstance(node, ast.Attribute):
            return self._attribute(node, frame)
        if isinstance(node, ast.BinOp):
            left = self._expr(node.left, frame)
            right = self._expr(node.right, frame)
            if isinstance(node.op, ast.MatMult):
                return UNKNOWN
            if isinstance(node.op, ast.Sub) and _same_expression(node.left, node.right):
                # ``T.mean(y_pred) - T.mean(y_pred)``: a dummy loss that is 0 on purpose (an
                # output that must not train), whatever the two reduce.
                return Batch("const", literal=True)
            if isinstance(node.op, ast.Add) and _counts_every_element(node, frame):
                # ``sum(equal(p, t)) + sum(not_equal(p, t))``: the element count, so a ratio
                # over it is a mean (a pixel accuracy), not a ratio of the batch's data.
                return Batch("sum", count=True, scale=1)
            return arithmetic(left, right, _op(node.op))
        if isinstance(node, ast.UnaryOp):
            operand = self._expr(node.operand, frame)
            if isinstance(node.op, ast.Not):
                return CONST if operand.kind == "const" else UNKNOWN
            return operand
        if isinstance(node, ast.Compare):
            value = self._expr(node.left, frame)
            for comparator in node.comparators:
                value = arithmetic(value, self._expr(comparator, frame), "cmp")
            if any(
                isinstance(operand, ast.Constant) and isinstance(operand.value, (str, bytes))
                for operand in (node.left, *node.comparators)
            ):
                # ``config["type"] == "veegan"``: no tensor is compared with a string, so this
                # is a Python flag (a loss scaled by it is still the loss).
                return CONST
            return value
        if isinstance(node, ast.IfExp):
            self._expr(node.test, frame)
            # ``tf.reduce_mean(nll) if reduce else nll`` with ``reduce=True`` left to its default.
            decided = flags.decided(node.test, frame.defaults)
            if decided is not None:
                return self._expr(node.body if decided else node.orelse, frame)
            return join(self._expr(node.body, frame), self._expr(node.orelse, frame))
        if isinstance(node, ast.Call):
            return self._call(node, frame)
        if isinstance(node, ast.Subscript):
            return self._subscript(node, frame)
        if isinstance(node, (ast.Tuple, ast.List)):
            return Batch("seq", items=tuple(self._expr(e, frame) for e in node.elts))
        if isinstance(node, ast.Lambda) and frame.probes:
            return self._expr(node.body, frame)
        if isinstance(node, ast.BoolOp):
            values = [self._expr(v, frame) for v in node.values]
            return CONST if all(v.kind == "const" for v in values) else UNKNOWN
        if isinstance(node, ast.Starred):
            self._expr(node.value, frame)
        if isinstance(node, ast.JoinedStr):
            # ``tf.print(f"term {term.numpy()}")``: what an f-string formats is computed too.
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    self._expr(part.value, frame)
            return CONST
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            # ``[mean(i) for i in p_pred.numpy()]``: the first iterable is evaluated in this
            # scope, and what it does is this code's (the elements are not followed).
            self._expr(node.generators[0].iter, frame)
        return UNKNOWN

    def _name(self, name: str, frame: _Frame) -> Batch:
        if name in frame.env:
            value = frame.env[name]
            # ``batch_size = 100`` written in this scope counts the samples too (a computed
            # value keeps what it is: ``tf.shape(y)[0]`` is known without its name).
            return _named(name, value) if value.literal else value
        return self._free_name(name, frame.module, frame.qualname, frame)

    def _free_name(self, name: str, module: ModuleIndex, qualname: str, frame: _Frame) -> Batch:
        """A name not bound locally: enclosing functions, the module, imports, builtins."""
        scope = qualname.rpartition(".")[0]
        while scope and scope != module.module:
            if scope in self.project.functions:
                enclosing = self.project.functions[scope][1]
                if name in {a.arg for a in _all_args(enclosing.node)}:
                    return _named(name, CONST)  # a factory parameter (gamma): a hyperparameter
                nested = f"{scope}.{name}"
                if nested in self.project.functions:
                    return Batch("function", target=nested)
                if nested in module.symbolic:
                    return SAMPLES  # a layer's output in the graph built there: per sample
                values = self._assigned(scope).get(name)
                if values is not None:
                    return _named(name, self._binding(values, module, scope, frame))
            elif scope in self.project.classes:
                break  # class bodies are not enclosing scopes of their methods
            scope = scope.rpartition(".")[0]
        qualified = self.project.version_for(f"{module.module}.{name}", qualname)
        if qualified in self.project.functions:
            return Batch("function", target=qualified)
        if qualified in self.project.classes:
            return Batch("class", target=qualified)
        if name in module.imports:
            full = module.imports[name]
            target = self.project._lookup(full)
            if target is not None:
                kind = "class" if target in self.project.classes else "function"
                return Batch(kind, target=target)
            return Batch("ref", target=names.canonical(full))
        if f"{module.module}.{name}" in module.symbolic:
            return SAMPLES
        values = self._module_assigned(module, name)
        if values is not None:
            return _named(name, self._binding(values, module, None, frame))
        if name in module.constants:
            return _named(name, Batch("const", literal=True))
        for star in reversed(module.stars):  # ``from .base.functional import *``
            target = self.project._lookup(f"{star}.{name}")
            if target is not None:
                kind = "class" if target in self.project.classes else "function"
                return Batch(kind, target=target)
        if name in _BUILTIN_NAMES:
            return Batch("ref", target=f"builtins.{name}")
        return UNKNOWN

    def _binding(
        self, values: list[ast.expr], module: ModuleIndex, scope: str | None, frame: _Frame
    ) -> Batch:
        """The value of a name bound once in an enclosing function or at module level."""
        if len(values) != 1 or frame.depth > _MAX_DEPTH:
            return UNKNOWN
        outer = _Frame(
            module,
            scope or module.module,
            None,
            loss_code=False,
            depth=frame.depth + 1,
        )
        if scope is not None and scope in self.project.functions:
            for arg in _all_args(self.project.functions[scope][1].node):
                outer.env[arg.arg] = CONST
            owner = scope.rpartition(".")[0]
            if owner in self.project.classes and "self" in outer.env:
                # A closure's factory is a method: its ``self`` is the object (``md_loss =
                # self.calculate_md_loss`` in ``model_loss(self)``).
                outer.env["self"] = Batch("self", target=owner)
        return self._expr(values[0], outer)

    def _per_sample_indices(self, node: ast.Call, frame: _Frame) -> bool:
        """Whether ``gather_nd(x, indices)`` takes one element of each sample's row: its
        indices stack the sample numbers first, ``stack([range(shape(y)[0]), labels],
        axis=1)`` (a focal loss's probability of the true class), written there or bound once
        in the function to a name."""
        indices = names.argument(node, 1, "indices")
        if isinstance(indices, ast.Name) and frame.qualname in self.project.functions:
            bound = self._assigned(frame.qualname).get(indices.id, [])
            indices = bound[0] if len(bound) == 1 else None
        if not (
            isinstance(indices, ast.Call)
            and names.last_name(indices.func) == "stack"
            and indices.args
            and isinstance(indices.args[0], (ast.List, ast.Tuple))
            and indices.args[0].elts
            and _int(names.argument(indices, 1, "axis")) in (1, -1)
        ):
            return False
        first: ast.expr | None = indices.args[0].elts[0]
        if isinstance(first, ast.Name):
            bound = self._assigned(frame.qualname).get(first.id, [])
            first = bound[0] if len(bound) == 1 else None
        return isinstance(first, ast.Call) and names.last_name(first.func) in ("range", "arange")

    def _assigned(self, scope: str) -> dict[str, list[ast.expr]]:
        """``name → values`` of the plain assignments in a function body."""
        if scope not in self._assignments:
            body = self.project.functions[scope][1].node.body
            self._assignments[scope] = _bindings(body)
        return self._assignments[scope]

    def _from_batch(self, node: ast.expr | None, frame: _Frame) -> bool:
        """Whether ``node`` reads a batched value of the function, directly or through the
        names its body binds (followed back to what they were computed from), other than
        through its shape."""
        if node is None or frame.qualname not in self.project.functions:
            return False
        if frame.qualname not in self._derived:
            body = self.project.functions[frame.qualname][1].node.body
            self._derived[frame.qualname] = derivations(body)
        assigned = self._derived[frame.qualname]
        pending, seen = [node], set()
        while pending:
            for name in _value_names(pending.pop()):
                if name in seen:
                    # Read again where it is computed (``gt, pr = gather_channels(gt, pr)``):
                    # from its value before, the batched parameter where it is one.
                    entry = frame.entry.get(name)
                    if entry is not None and entry.kind in ("kept", "flat"):
                        return True
                    continue
                seen.add(name)
                known = frame.env.get(name)
                if known is not None and known.kind in ("kept", "flat"):
                    return True
                pending.extend(assigned.get(name, ()))
        return False

    def _hands_predictions(
        self, node: ast.Call, args: list[Batch], kwargs: dict[str, Batch], frame: _Frame
    ) -> bool:
        """Whether a ``numpy_function``/``py_func`` call hands its function a batched tensor
        other than the labels alone (``numpy_function(argmax_np, [y_true])`` needs no
        gradient): its second argument, ``inp``, a list of tensors, as evaluated."""
        written = names.argument(node, 1, "inp")
        given = kwargs.get("inp") or (args[1] if len(args) > 1 else None)
        if written is None or given is None:
            return False
        if isinstance(written, (ast.List, ast.Tuple)) and given.kind == "seq":
            pairs = list(zip(written.elts, given.items, strict=False))
        else:
            pairs = [(written, given)]
        found = self.project.functions.get(frame.qualname)
        params = [p for p in found[1].params if p not in ("self", "cls")] if found else []
        labels = params[0] if len(params) >= 2 else None
        return any(
            _traced(value)
            for item, value in pairs
            if not (isinstance(item, ast.Name) and item.id == labels)
        )

    def _module_flags(self, test: ast.expr, frame: _Frame) -> dict[str, object]:
        """The names an ``if`` test reads that the module binds once to a literal and nothing
        rebinds (``apply_masking = True`` at the top of a script): the branch the script runs
        as written."""
        flags: dict[str, object] = {}
        for node in subtree(test):
            if (
                not isinstance(node, ast.Name)
                or node.id in frame.env
                or node.id in frame.module.rebound
            ):
                continue
            values = self._module_assigned(frame.module, node.id)
            if values is not None and len(values) == 1 and isinstance(values[0], ast.Constant):
                flags[node.id] = values[0].value
        return flags

    def _module_assigned(self, module: ModuleIndex, name: str) -> list[ast.expr] | None:
        """The values module-level code binds ``name`` to, parsing only the chunks that bind
        it (``ModuleIndex.bindings``); None when none does."""
        key = f"<module>{module.module}.{name}"
        if key not in self._assignments:
            numbers = module.bindings.get(name, ())
            found = _bindings(chunk_statements(module, numbers)) if numbers else {}
            self._assignments[key] = {name: found[name]} if name in found else {}
        return self._assignments[key].get(name)

    def _attribute(self, node: ast.Attribute, frame: _Frame) -> Batch:
        parts = names.dotted(node)
        if parts and parts[0] in frame.env:
            base = frame.env[parts[0]]
            if base.kind == "self" and len(parts) == 2:
                key = f"self.{parts[1]}"
                if key in frame.env:
                    return frame.env[key]
                return self._self_attribute(base.target, parts[1], frame)
        elif parts and parts[0] in frame.module.imports:
            canonical = names.qualify(node, frame.module.imports)
            if canonical is not None:
                found = self.project._lookup(".".join([frame.module.imports[parts[0]], *parts[1:]]))
                if found is not None:
                    kind = "class" if found in self.project.classes else "function"
                    return Batch(kind, target=found)
                return Batch("ref", target=canonical)
        base = self._expr(node.value, frame)
        if node.attr == "shape" and base.kind in ("kept", "flat"):
            return Batch("shape", target=base.kind)
        if node.attr in ("dtype", "ndim", "rank", "device", "name"):
            return CONST
        if base.kind in ("kept", "flat") and node.attr == "T":
            return UNKNOWN
        if base.kind == "const":
            return CONST
        if base.kind == "class" and isinstance(node.value, ast.Name):
            # ``changeAlpha.alpha``, a callback class's epoch counter: state of the class
            # object, shared by every batch, never one value per sample.
            return CONST
        return UNKNOWN

    def _self_attribute(self, cls: str | None, attr: str, frame: _Frame) -> Batch:
        """``self.attr`` set once in ``__init__``/``build`` of the class or a project base, or,
        where ``__init__`` sets it to None and the class's other methods give it its value (a
        TF 1 model's ``self.input_data = None``, then ``tf.placeholder`` in
        ``_create_placeholders``), what those give."""
        if cls is None:
            return CONST
        for owner in self._lineage(cls):
            home = self.project.classes.get(owner)
            if home is not None and f"{owner}.self.{attr}" in home[0].symbolic:
                return SAMPLES  # a layer's output in the graph the class builds: per sample
        slot: tuple[str, ModuleIndex] | None = None
        # Each class's own, from the class up its project bases: a subclass's ``__init__``
        # that hands on to ``super().__init__(...)`` leaves the attribute to its base's.
        for owner, method in itertools.product(self._lineage(cls), ("__init__", "build")):
            found = self.project.functions.get(f"{owner}.{method}")
            if found is None:
                continue
            module, function = found
            values = _self_assignments(function.node).get(attr)
            if values is not None:
                if frame.depth > _MAX_DEPTH:
                    return UNKNOWN
                if len(values) > 1:
                    return self._choice(values, module, function, cls, frame)
                if not names.is_none(values[0]):
                    return self._assigned_value(values[0], module, function, cls, frame)
                # A slot another method of the class that sets it fills.
                slot = function.qualname.rpartition(".")[0], module
                break
        if slot is None:
            compiled = self._compiled_attribute(cls, attr, frame)
            if compiled is not None:
                return compiled
        later = self._set_later(*slot, attr) if slot is not None else []
        if later:
            given = [self._assigned_value(e, m, f, cls, frame) for e, m, f in later]
            return functools.reduce(join, given)
        bound = self._method(cls, attr) if slot is None else None
        if bound is not None:
            # ``md_loss = self.calculate_md_loss``, called later by that name.
            return Batch("method", target=bound[1].qualname, items=(Batch("self", target=cls),))
        # Hyperparameters set from arguments, class attributes: no batch axis.
        return _named(attr, CONST)

    def _compiled_attribute(self, cls: str, attr: str, frame: _Frame) -> Batch | None:
        """``self.attr = gen_loss_fn`` in the class's own ``compile(self, ..., gen_loss_fn)``
        override (a CycleGAN's, a GAN's ``loss_fn``): what the project's calls of
        ``.compile(...)`` give that keyword, where they all give the same function or object.
        None where the class has no such override, or the calls give nothing known."""
        for owner in self._lineage(cls):
            found = self.project.functions.get(f"{owner}.compile")
            if found is None or is_keras_source(found[0].module):
                continue  # (Keras's own Model.compile keeps what fit() reads, not a step's)
            values = _self_assignments(found[1].node).get(attr)
            if not values:
                continue
            if not (len(values) == 1 and isinstance(values[0], ast.Name)):
                return None
            param = values[0].id
            if param not in found[1].params or frame.depth > _MAX_DEPTH:
                return None
            params = found[1].params[1:]
            given = self._compile_arguments(param, params, owner)
            return self._sole_value(given, frame, ("function", "method", "ref", "object"))
        return None

    def _sole_value(
        self, given: Iterable[tuple[ModuleIndex, ast.expr]], frame: _Frame, kinds: tuple[str, ...]
    ) -> Batch | None:
        """The value the project's calls give a parameter, where they all give the same
        expression (by its syntax), read at the top level of the module it is written in:
        what it is if of one of ``kinds`` (a function, an object), else None."""
        distinct = {ast.dump(value): (module, value) for module, value in given}
        if len(distinct) != 1:
            return None
        ((module, value),) = distinct.values()
        outer = _Frame(module, module.module, None, loss_code=False, depth=frame.depth + 1)
        result = self._expr(value, outer)
        return result if result.kind in kinds else None

    def _compile_arguments(
        self, param: str, params: tuple[str, ...], owner: str
    ) -> list[tuple[ModuleIndex, ast.expr]]:
        """The distinct values (by their text) that the project's ``x.compile(...)`` calls give
        ``param`` of the custom ``compile(self, *params)`` override of class ``owner``: by
        keyword (``gen_loss_fn=generator_loss``), or by position in a call that gives every
        parameter so, on a name bound to an instance of ``owner`` or a subclass (a CycleGAN's
        eight ``compile`` arguments). Only the modules that can make an object of the class
        (its own and those importing it) and do are read, once per class."""
        if owner not in self._compile_calls:
            calls: list[tuple[ModuleIndex, ast.Call]] = []
            made = f"{names.defined_name(owner)}("
            home = self.project.classes[owner][0]
            for module in self.project.importers(home):
                if not lines_with(module, made):
                    continue
                for statement in mentioning_statements(module, "compile("):
                    calls.extend(
                        (module, node)
                        for node in subtree(statement)
                        if isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "compile"
                    )
            self._compile_calls[owner] = calls
        found: dict[str, tuple[ModuleIndex, ast.expr]] = {}
        for module, node in self._compile_calls[owner]:
            value = next((k.value for k in node.keywords if k.arg == param), None)
            if (
                value is None
                and isinstance(node.func, ast.Attribute)
                and len(node.args) == len(params)
                and not node.keywords
                and not any(isinstance(a, ast.Starred) for a in node.args)
                and self._instance_of(node.func.value, module, owner)
            ):
                value = node.args[params.index(param)]
            if value is not None:
                found.setdefault(ast.dump(value), (module, value))
        return list(found.values())

    def _instance_of(self, receiver: ast.expr, module: ModuleIndex, owner: str) -> bool:
        """Whether ``receiver`` names an object of class ``owner`` or a subclass of it, made
        once at the top level of ``module`` (``cycle_gan_model = CycleGan(...)``)."""
        if not isinstance(receiver, ast.Name):
            return False
        made = bound_once(module, receiver.id)
        if not isinstance(made, ast.Call):
            return False
        cls = self._project_class(self.project.named(made.func, module) or "")
        return cls is not None and owner in self._lineage(cls)

    def _choice(
        self,
        values: list[ast.expr],
        module: ModuleIndex,
        function: FunctionDef,
        cls: str,
        frame: _Frame,
    ) -> Batch:
        """``self.attr`` assigned in several branches of one method: where each value is a
        function, a bound method or a library function (``self.loss_calc_func =
        self._calc_loss_per_image`` in one ``case``, ``self._calc_loss_per_channel`` in
        another; ``tf.abs`` or ``tf.square``), any of them, as a "choice" whose call is the
        join of their results; else unknown."""
        if len(values) > _MAX_CHOICES:
            return UNKNOWN
        given = tuple(self._assigned_value(e, module, function, cls, frame) for e in values)
        if all(g.kind in ("function", "method", "ref") and g.target is not None for g in given):
            return Batch("choice", items=given)
        return UNKNOWN

    def _assigned_value(
        self, expr: ast.expr, module: ModuleIndex, function: FunctionDef, cls: str, frame: _Frame
    ) -> Batch:
        outer = _Frame(module, function.qualname, cls, loss_code=False, depth=frame.depth + 1)
        for arg in _all_args(function.node):
            outer.env[arg.arg] = CONST
        outer.env["self"] = Batch("self", target=cls)
        if isinstance(expr, ast.Name):
            default = parameter_default(function.node, expr.id)
            if isinstance(default, ast.Call):
                # ``def __init__(self, loss_fn=keras.losses.MeanSquaredError())``, then
                # ``self.loss_fn = loss_fn``: the default object, where no caller passes one.
                return self._expr(default, outer)
            given = self._constructed_with(function, expr.id, frame)
            if given is not None:
                return given
        return self._expr(expr, outer)

    def _constructed_with(self, function: FunctionDef, param: str, frame: _Frame) -> Batch | None:
        """``self.loss_fcn = loss_fcn`` in ``__init__``: the function every construction of the
        class in the project gives that parameter (``LSTM_Attention_Model(..., loss_fcn=
        masked_loss_lstm)``), where they all give the same project or library function; None
        otherwise."""
        if (
            function.qualname.rpartition(".")[2] != "__init__"
            or param not in function.params
            or frame.depth > _MAX_DEPTH
        ):
            return None
        passed = self.project.passed_arguments(
            function.qualname, Param(param, function.params.index(param), None)
        )
        if not all(isinstance(value, (ast.Name, ast.Attribute)) for _, value in passed):
            return None  # a function named, not one made by a call
        return self._sole_value(passed, frame, ("function", "ref"))

    def _set_later(
        self, cls: str, module: ModuleIndex, attr: str
    ) -> list[tuple[ast.expr, ModuleIndex, FunctionDef]]:
        """The values other than None that the methods of ``cls`` (defined in ``module``), but
        ``__init__`` and ``build``, give ``self.attr``; empty where there are none, or more
        than three."""
        key = (cls, attr)
        if key not in self._later:
            found = [
                (value, module, function)
                for function in module.functions
                if function.qualname.rpartition(".")[0] == cls
                and function.qualname.rpartition(".")[2] not in ("__init__", "build")
                for value in _self_assignments(function.node).get(attr, ())
                if not names.is_none(value)
            ]
            self._later[key] = found if len(found) <= 3 else []
        return self._later[key]

    def _subscript(self, node: ast.Subscript, frame: _Frame) -> Batch:
        value = self._expr(node.value, frame)
        index = node.slice
        if value.kind == "shape":
            position = _int(index)
            if position == 0:
                return Batch("sum", count=True, scale=1)
            return CONST if position is not None or isinstance(index, ast.Slice) else UNKNOWN
        if value.kind == "seq":
            position = _int(index)
            if position is not None and -len(value.items) <= position < len(value.items):
                return value.items[position]
            return UNKNOWN
        if value.kind == "const":
            self._expr(index, frame)
            return CONST
        if value.kind == "unknown" and _int(index) is not None and _shape_setting(node.value):
            # ``self.input_shape[0] * binary_crossentropy(x, x_hat)``: a dimension the code
            # was configured with, a number (a Keras layer's own ``input_shape[0]`` is the
            # batch's None, which no arithmetic takes).
            return CONST
        if value.kind not in ("kept", "flat"):
            return UNKNOWN
        elements = index.elts if isinstance(index, ast.Tuple) else [index]
        first = elements[0] if elements else None
        if isinstance(first, ast.Slice) or (
            isinstance(first, ast.Constant) and first.value is Ellipsis
        ):
            dropped = sum(1 for e in elements if _int(e) is not None)
            added = sum(1 for e in elements if isinstance(e, ast.Constant) and e.value is None)
            rank = value.rank - dropped + added if value.rank is not None else None
            return replace(
                value,
                rank=rank,
                min_rank=max(1, value.min_rank - dropped),
                origin=None,
            )
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            # ``x["original"]``: a tensor is not indexed by a name, so this is a dict of
            # batches (a model's named inputs), and its entry one too; not a dict of what a
            # model's ``call`` returns, which may hold a scalar beside its outputs.
            return Batch("kept") if value.kind == "kept" and value != _PREDICTIONS else UNKNOWN
        mask = self._expr(first, frame) if first is not None else UNKNOWN
        if mask.kind in ("kept", "flat"):
            return Batch("flat", rank=1)
        return UNKNOWN

    # -- calls --------------------------------------------------------------------------------

    def _tensorflow_2(self, module: ModuleIndex) -> bool:
        """Whether ``module`` is TensorFlow 2 code: it trains with a ``GradientTape`` and writes
        nothing only TF 1 code does (TF 1.x also had eager execution and the tape). Searched
        once per module, not at each ``tf.losses`` call."""
        found = self._tf2.get(module.path)
        if found is None:
            found = self._tf2[module.path] = bool(lines_with(module, "GradientTape")) and not any(
                lines_with(module, word) for word in _TF1_WORDS
            )
        return found

    def _applied_to_given(self, node: ast.Call, frame: _Frame) -> bool:
        """Whether ``node`` applies a model to what a training step's function is given (a
        parameter, or a tuple of them: ``discriminator((images, labels))``), which is the
        batch the step trains on."""
        if not (frame.training and not frame.loss_code and node.args):
            return False
        found = self.project.functions.get(frame.qualname)
        if found is None:
            return False
        given = node.args[0]
        items = given.elts if isinstance(given, (ast.Tuple, ast.List)) else [given]
        return any(
            isinstance(item, ast.Name)
            and item.id in found[1].params
            and frame.env.get(item.id, UNKNOWN) == UNKNOWN
            for item in items
        )

    def _own_training_step(self, frame: _Frame, cls: str | None = None) -> bool:
        """Whether ``frame`` is a training method of a Keras model (of class ``cls``, by default
        the frame's own), where the model and its parts are applied to the batch."""
        cls = cls if cls is not None else frame.cls
        return (
            frame.training
            and not frame.loss_code
            and cls is not None
            and self.project.is_subclass(cls, names.KERAS_MODEL_BASES)
        )

    def _call(self, node: ast.Call, frame: _Frame) -> Batch:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "__call__":
            # ``self._encoder.__call__(x)``, as ``self._encoder(x)`` is.
            node = ast.copy_location(ast.Call(func.value, node.args, node.keywords), node)
            func = node.func
        callee: Batch
        if isinstance(func, ast.Attribute):
            parts = names.dotted(func)
            if parts and parts[0] in frame.module.imports and parts[0] not in frame.env:
                callee = self._attribute(func, frame)
            elif parts and len(parts) == 2 and frame.env.get(parts[0], UNKNOWN).kind == "self":
                self_value = frame.env[parts[0]]
                method = self._method(self_value.target or "", parts[1])
                if method is not None and f"self.{parts[1]}" not in frame.env:
                    return self._apply_function(
                        method[1].qualname, node, frame, self_value=self_value
                    )
                callee = self._attribute(func, frame)
            else:
                self._container_method(func, node, frame)
                base = self._expr(func.value, frame)
                if base.kind in TENSORS or (base.kind == "unknown" and func.attr in _MEAN_OPS):
                    return self._tensor_method(func.attr, base, node, frame)
                if base.kind == "distribution":
                    self._arguments(node, frame)
                    known = func.attr in _DISTRIBUTION_METHODS
                    return Batch("kept") if known else UNKNOWN
                if base.kind == "lossobj":
                    callee = base if func.attr == "call" else UNKNOWN
                else:
                    callee = UNKNOWN
        else:
            callee = self._expr(func, frame)
            if callee.kind == "self" and self._own_training_step(frame, callee.target):
                # ``self(x, training=True)`` in a model's own training step: its predictions
                # for the batch it is given, one row per sample.
                self._arguments(node, frame)
                return SAMPLES
        if callee.kind == "self" and callee.target is not None:
            # An object of a project class called: its ``__call__`` (a loss written as a plain
            # class, ``self.quantile_loss = QuantileLoss(11)``).
            called = self._method(callee.target, "__call__")
            if called is None and self._own_layer(callee.target):
                # A project layer applied (``PitchLoss()(valid, pitch)`` given to add_loss):
                # Keras's ``__call__`` runs its ``call``.
                called = self._method(callee.target, "call")
            if called is not None:
                return self._apply_function(called[1].qualname, node, frame, self_value=callee)
        if callee.kind == "choice":  # one of several functions (see _choice)
            return functools.reduce(join, (self._applied(c, node, frame) for c in callee.items))
        if callee.kind == "function" and callee.target is not None:
            return self._applied(callee, node, frame)
        if callee.kind == "method" and callee.target is not None and callee.items:
            return self._applied(callee, node, frame)
        if callee.kind == "class" and callee.target is not None:
            self._arguments(node, frame)
            if self.project.is_loss_class(callee.target):
                reduction = self._class_reduction(callee.target, node, frame)
                return Batch("lossobj", target=reduction)
            if self._method(callee.target, "__call__") is not None and not (
                self.project.is_subclass(callee.target, names.KERAS_LAYER_BASES)
            ):
                return Batch("self", target=callee.target)  # an object to call (above)
            if self._own_layer(callee.target):
                return Batch("self", target=callee.target)  # a layer to apply (above)
            return UNKNOWN
        if callee.kind == "ref" and callee.target is not None:
            return self._library(callee.target, node, frame)
        if callee.kind == "lossobj":
            args, _ = self._arguments(node, frame)
            return self._loss_object(callee, args, node, frame)
        if callee.kind == "lossfn":
            args, _ = self._arguments(node, frame)
            return self._per_sample(args, node, frame)
        if callee.kind == "layer":  # ``loss_model(y_pred)``: a feature extractor's features
            args, _ = self._arguments(node, frame)
            if args and args[0].kind == "kept":
                return Batch("kept")
            if (
                args
                and args[0].kind == "seq"
                and args[0].items
                and all(item.kind == "kept" for item in args[0].items)
            ):
                return Batch("kept")  # ``Multiply()([mask, y_pred])``: a merge of batches
            if self._own_training_step(frame):
                # ``self.decoder(self.encoder(x))`` in a model's own training step: its parts
                # applied to the batch it is given, one row per sample (as ``self(x)``).
                return SAMPLES
            if self._applied_to_given(node, frame):
                # ``discriminator(images, training=True)`` in a GradientTape step given the
                # batch: one row per sample of it.
                return SAMPLES
            return UNKNOWN
        args, kwargs = self._arguments(node, frame)
        if all(is_constant(a) for a in (*args, *kwargs.values())) and callee.kind == "const":
            return CONST
        return UNKNOWN

    def _applied(self, callee: Batch, node: ast.Call, frame: _Frame) -> Batch:
        """A project or library function, or a method bound to its object, called by
        ``node``."""
        if callee.target is None:
            return UNKNOWN
        if callee.kind == "ref":
            return self._library(callee.target, node, frame)
        if callee.kind == "method":
            if not callee.items:
                return UNKNOWN
            return self._apply_function(callee.target, node, frame, self_value=callee.items[0])
        return self._apply_function(callee.target, node, frame)

    def _arguments(self, node: ast.Call, frame: _Frame) -> tuple[list[Batch], dict[str, Batch]]:
        args: list[Batch] = []
        for a in node.args:
            value = self._expr(a.value if isinstance(a, ast.Starred) else a, frame)
            if isinstance(a, ast.Starred) and value.kind == "seq":
                args.extend(value.items)  # ``f(*args)`` of a known tuple: its items
            else:
                args.append(_UNSPREAD if isinstance(a, ast.Starred) else value)
        kwargs = {k.arg: self._expr(k.value, frame) for k in node.keywords if k.arg is not None}
        for k in node.keywords:
            if k.arg is None:
                self._expr(k.value, frame)
        return args, kwargs

    def _apply_function(
        self, qualname: str, node: ast.Call, frame: _Frame, self_value: Batch | None = None
    ) -> Batch:
        args, kwargs = self._arguments(node, frame)
        found = self.project.functions.get(qualname)
        if found is None:
            return UNKNOWN
        module, function = found
        if frame.training:
            self._differentiated.add(qualname)
        if any(a is _UNSPREAD for a in args):
            return UNKNOWN  # ``f(*values)`` of values not known one by one
        if _TO_NUMPY_HELPER.search(qualname.rpartition(".")[2]):
            if any(_traced(a) for a in (*args, *kwargs.values())):
                self._effect(frame, "numpy", node, f"{_text(node.func, 24)}(...)")
            return UNKNOWN
        if frame.training and qualname in self._definitions:
            # A loss called in a training step: what it returns for batched inputs.
            definition = self._definitions[qualname]
            if "loss" in definition.roles:
                result = self.result(definition)
                return self._anchor(result, (), node, qualname, frame)
        if any(k.arg is None for k in node.keywords):
            kwargs["**"] = UNKNOWN  # f(y, p, **options): no default is known to hold
        cls = qualname.rpartition(".")[0] if self_value is not None else None
        params = [a.arg for a in (*function.node.args.posonlyargs, *function.node.args.args)]
        if self_value is not None and params[:1] in (["self"], ["cls"]):
            params = params[1:]
        literals = flags.literal_arguments(node, params, function.node, frame.defaults)
        result = self._run_function(
            module,
            function,
            tuple(args),
            cls,
            loss_code=frame.loss_code,
            top=False,
            kwargs=tuple(sorted(kwargs.items())),
            depth=frame.depth + 1,
            self_value=self_value,
            literals=tuple(sorted(literals.items())),
        )
        return self._anchor(result, (*args, *kwargs.values()), node, qualname, frame)

    def _anchor(
        self,
        result: Batch,
        inputs: tuple[Batch, ...],
        node: ast.Call,
        qualname: str,
        frame: _Frame,
    ) -> Batch:
        """A helper's reduction, pointed at the call of the helper in the current function."""
        if result.terms:
            result = replace(result, terms=())  # its terms are its own, not its caller's
        origin = result.origin
        if origin is None or any(a.origin == origin for a in inputs):
            return result
        where = f"line {origin.span.line}" if origin.path == frame.path else origin.path
        how = f"{_short_call(node)}, which reduces it with {origin.how} ({where})"
        anchored = Reduction(frame.path, self._span(node, frame), how, origin.op, via=qualname)
        return replace(result, origin=anchored)

    def _loss_object(
        self, callee: Batch, args: list[Batch], node: ast.Call, frame: _Frame
    ) -> Batch:
        label = _text(node.func, 30)
        if callee.target == "none":
            return self._per_sample(args, node, frame)
        if args and all(is_constant(a) for a in args):
            return CONST
        op = "sum" if callee.target == "sum" else "mean"
        origin = Reduction(
            frame.path,
            self._span(node, frame),
            f"the loss object {label}, which reduces the batch itself",
            op,
            loss_object=True,
        )
        return _reduced(1 if op == "sum" else 0, origin=origin)

    def _tf1_loss(
        self, args: list[Batch], kwargs: dict[str, Batch], node: ast.Call, frame: _Frame
    ) -> Batch:
        """TF 1's ``tf.compat.v1.losses.mean_squared_error(labels, predictions)``: weighted,
        then reduced by default to one scalar (the mean over every element with a non-zero
        weight), the batch axis too; ``reduction=Reduction.NONE`` keeps every element."""
        inputs = [*args[:2], *(kwargs[k] for k in _TF1_LOSS_INPUTS if k in kwargs)]
        if not any(a.kind in ("kept", "flat") for a in inputs):
            return UNKNOWN
        reduction = _reduction(node, frame, default="mean")
        if reduction == "none":
            return Batch("kept")
        if reduction == "?":
            return UNKNOWN
        span = self._span(node, frame)
        origin = Reduction(frame.path, span, f"{_text(node.func, 60)}(...)", reduction, tf1=True)
        return Batch(reduction, origin=origin)

    def _per_sample(self, args: list[Batch], node: ast.Call, frame: _Frame) -> Batch:
        """A Keras loss function: the mean over the last axis, one value per sample."""
        inputs = args[:2]
        if any(a.kind == "flat" for a in inputs):
            origin = Reduction(
                frame.path,
                self._span(node, frame),
                f"{_short_call(node)} on a flattened tensor",
                "mean",
            )
            return Batch("mean", origin=origin)
        reduced = [a for a in inputs if a.kind in REDUCED]
        if reduced:
            return reduced[0]
        if inputs and all(a.kind == "const" for a in inputs):
            return CONST
        kept = [a for a in inputs if a.kind == "kept"]
        if "sparse" in _text(node.func).lower():
            # The labels have no class axis: (batch, T) labels against (batch, T, V)
            # predictions give (batch, T), one axis fewer than the predictions only.
            kept = inputs[1:2] if len(inputs) > 1 and inputs[1].kind == "kept" else []
            if not kept:
                return Batch("kept", min_rank=1)
        min_rank = max((a.min_rank for a in kept), default=2)
        rank = kept[0].rank if kept and kept[0].rank is not None else None
        if rank == 1 or any(a.kind == "unknown" and a.rank == 1 for a in inputs):
            # ``mean_squared_error(returns, tf.reshape(v, (n,)))``: the last axis of a 1-D
            # batch is the batch, so the mean over it is one number for the batch.
            origin = Reduction(
                frame.path,
                self._span(node, frame),
                f"{_short_call(node)} over 1-D values, whose last axis is the batch",
                "mean",
                per_sample=True,
            )
            return _reduced(0, origin=origin)
        return Batch(
            "kept",
            rank=rank - 1 if rank else None,
            min_rank=max(1, min_rank - 1),
        )

    def _cond(self, node: ast.Call, frame: _Frame) -> Batch | None:
        """``tf.cond(n > 0, lambda: total / n, lambda: total)``: either branch's value. Where
        both reduce the batch away, a mean and a sum (a count's guard falling back to the
        numerator), the mean: the batch is gone either way, and the sum is the degenerate
        case. None where a branch is not a lambda of no parameters."""
        branches = [names.argument(node, 1, "true_fn"), names.argument(node, 2, "false_fn")]
        if not all(
            isinstance(b, ast.Lambda) and not b.args.args and not b.args.vararg for b in branches
        ):
            return None
        first, second = (self._expr(b.body, frame) for b in branches)  # type: ignore[union-attr]
        if {first.kind, second.kind} == {"mean", "sum"}:
            return first if first.kind == "mean" else second
        return join(first, second)

    def _library(self, name: str, node: ast.Call, frame: _Frame) -> Batch:
        module, _, last = name.rpartition(".")
        module = ops.tensor_module(module)
        args, kwargs = self._arguments(node, frame)
        numpy_land = ops.array_library(module) is not None
        if numpy_land and any(_traced(a) for a in (*args, *kwargs.values())):
            self._effect(frame, "numpy", node, f"{_text(node.func, 24)}(...)", name)
        elif (
            module in ("tensorflow", "tensorflow.compat.v1")
            and last in ("numpy_function", "py_func")
            and self._hands_predictions(node, args, kwargs, frame)
        ):
            # ``tf.numpy_function(dice_np, [y_true, y_pred], tf.float32)``: traced, but no
            # gradient flows through NumPy, so the term trains nothing.
            self._effect(frame, "numpy", node, f"{_text(node.func, 24)}(...)", name)
        elif (
            (
                last == "convert_to_numpy"
                or (module == "keras.backend" and last in ("get_value", "eval"))
            )
            and args
            and _traced(args[0])
        ):
            # keras.ops.convert_to_numpy, and Keras 2's ``K.get_value(y_true)``: the same as
            # .numpy(), a value a traced loss lacks.
            self._effect(frame, "numpy", node, f"{_text(node.func, 24)}(...)")
        if module in ("tensorflow", "tensorflow.compat.v1") and last == "cond":
            chosen = self._cond(node, frame)
            if chosen is not None:
                return chosen
        adds_up = (module == "builtins" and last == "sum") or (
            module in ("tensorflow", "tensorflow.math") and last in ("add_n", "accumulate_n")
        )
        if adds_up and len(args) == 1 and args[0].kind == "seq" and args[0].items:
            # The terms of a list added up (``tf.add_n(losses)``, ``sum(losses)``).
            total = args[0].items[0]
            for item in args[0].items[1:]:
                total = arithmetic(total, item, "+")
            return total
        if _distribution(module, last):
            # ``tfd.Normal(loc=y_pred[..., :1], scale=sigma)``: one distribution per sample
            # where a parameter is batched (see _DISTRIBUTION_METHODS).
            of_samples = any(v.kind in ("kept", "flat") for v in (*args, *kwargs.values()))
            return Batch("distribution") if of_samples else UNKNOWN
        if module == "tensorflow.image" and last in PER_IMAGE:
            # ``tf.image.ssim(a, b, 1.0)``, ``tf.image.total_variation(images)``: one value
            # per image of a batch of images.
            return Batch("kept", rank=1, min_rank=1) if args and args[0].kind == "kept" else UNKNOWN
        if last == "batch_dot" and module in names.TENSOR_MATH_MODULES and args:
            # ``K.batch_dot(anchor, positive, axes=1)``: one dot product per sample.
            return Batch("kept") if args[0].kind == "kept" else UNKNOWN
        if (
            last in ("transpose", "permute_dimensions")
            and module in names.TENSOR_MATH_MODULES
            and args
            and args[0].kind == "kept"
        ):
            # ``tf.transpose(y_pred, (0, 2, 1))``: the batch stays first where the order given
            # starts with axis 0 (a multinomial over the positions of each sample).
            order = names.argument(node, 1, "perm", "axes", "pattern")
            if isinstance(order, (ast.List, ast.Tuple)) and order.elts and _int(order.elts[0]) == 0:
                return replace(args[0], rank=len(order.elts), min_rank=len(order.elts))
            return UNKNOWN
        if module == "builtins":
            if last == "len" and args and args[0].kind in ("kept", "flat"):
                return Batch("sum", count=True, scale=1)
            if last == "len" and args and args[0].kind == "seq":
                return CONST  # the length of a Python list (``sum(terms) / len(terms)``)
            if last in ("float", "int", "abs") and args:
                return args[0]
            return CONST if all(is_constant(a) for a in args) else UNKNOWN
        if module in ("keras.losses", "keras.metrics") and last in ("get", "deserialize"):
            # ``keras.losses.get("categorical_crossentropy")`` is the function (one value per
            # sample), ``get("CategoricalCrossentropy")`` an object that reduces the batch.
            given = node.args[0] if node.args else None
            if isinstance(given, ast.Constant) and isinstance(given.value, str):
                if given.value[:1].islower():
                    return Batch("ref", target=f"{module}.{given.value}")
                if module == "keras.losses" and given.value[:1].isupper():
                    return Batch("lossobj", target=_reduction(node, frame, default="mean"))
            return UNKNOWN
        if module == "keras.objectives" and last[:1].islower():
            return self._per_sample(args, node, frame)  # Keras 1's name of keras.losses
        if (
            module == "tensorflow.losses"
            and not name.startswith("tensorflow.compat.v1.")  # TF 1's, reducing, by name
            and last[:1].islower()
            and not (last.startswith("get_") or last == "add_loss")
            and last not in ("get", "serialize", "deserialize")
            and self._tensorflow_2(frame.module)
        ):
            # ``tf.losses.mean_squared_error`` in TF 2 code (a GradientTape step) is Keras's
            # function, one value per sample; in TF 1 code it was a reducing loss of its own.
            return self._per_sample(args, node, frame)
        if module in ("keras.losses", "keras.metrics"):
            if not names.keras_class_name(last) and last not in ("get", "serialize", "deserialize"):
                return self._per_sample(args, node, frame)
            if module == "keras.losses" and last not in ("Loss", "Reduction"):
                reduction = _reduction(node, frame, default="mean")
                return Batch("lossobj", target=reduction)
            return UNKNOWN
        if (
            name.startswith("tensorflow.compat.v1.losses.")
            or (
                module == "tensorflow.losses"
                and last not in ("get", "serialize", "deserialize")
                and (last in _TF1_ONLY_LOSSES or frame.module.tensorflow1)
            )
        ) and (last[:1].islower() and not (last.startswith("get_") or last == "add_loss")):
            # ``tf.losses.softmax_cross_entropy`` (TF 2 has none), or ``tf.losses`` in code
            # that only runs on TF 1 (the index's ``tensorflow1``): TF 1's reducing losses.
            return self._tf1_loss(args, kwargs, node, frame)
        if _model_or_layer(module, last):
            return Batch("layer")  # called on a batch, it returns a batch
        batched = _batched_source(module, last, node)
        if batched is not None:
            return batched
        if last in ops.MAPS and module in names.TENSOR_MATH_MODULES:
            # ``tf.map_fn(score, y_true - y_pred)``: one result per element of the first axis
            # of what it maps over, the batch where that is a batch.
            elems = args[1] if len(args) > 1 else kwargs.get("elems", kwargs.get("xs", UNKNOWN))
            # Several tensors mapped together (``map_fn(f, (y_true, y_pred))``) share that axis.
            mapped = elems.items if elems.kind == "seq" else (elems,)
            return Batch("kept") if any(m.kind in ("kept", "flat") for m in mapped) else UNKNOWN
        if name == "tensorflow.nn.compute_average_loss" or last == "compute_average_loss":
            origin = Reduction(frame.path, self._span(node, frame), f"{_short_call(node)}", "mean")
            return Batch("mean", origin=origin) if args and is_tensor(args[0]) else Batch("scalar")
        if module not in names.TENSOR_MATH_MODULES:
            if all(is_constant(a) for a in (*args, *kwargs.values())):
                return CONST
            return UNKNOWN
        return self._math(module, last, args, kwargs, node, frame)

    def _math(
        self,
        module: str,
        op: str,
        args: list[Batch],
        kwargs: dict[str, Batch],
        node: ast.Call,
        frame: _Frame,
    ) -> Batch:
        first = args[0] if args else next(iter(kwargs.values()), UNKNOWN)
        if op in _SUM_OPS or op in _MEAN_OPS or op in _OTHER_REDUCTIONS or op in _ARG_REDUCTIONS:
            axis_node = names.argument(node, 1, "axis", "dim", "axes", "reduction_indices")
            default = _ALL
            if op in _ARG_REDUCTIONS:
                default = _Axes("list", (-1,)) if module == "keras.backend" else _ALL
                if module in ("tensorflow", "tensorflow.math"):
                    default = _Axes("list", (0,))
            axes = default if axis_node is None else _axes(axis_node, frame)
            keep = names.argument(node, 2, "keepdims", "keep_dims", "keepdim")
            keepdims = isinstance(keep, ast.Constant) and keep.value is True
            return self._reduce(op, first, axes, keepdims, node, frame, axis_node is None)
        if op == "gradients" and len(args) >= 2:
            # K.gradients(ys, xs) / tf.gradients: one gradient per source, shaped like it.
            sources = args[1].items if args[1].kind == "seq" else (args[1],)
            return Batch(
                "seq",
                items=tuple(
                    replace(x, origin=None) if x.kind in ("kept", "flat") else UNKNOWN
                    for x in sources
                ),
            )
        if op in _FLATTEN:
            return self._flatten(first)
        if op == "batch_flatten":
            return Batch("kept", rank=2, min_rank=2) if first.kind == "kept" else UNKNOWN
        if op == "reshape":
            shape = names.argument(node, 1, "shape", "newshape")
            return self._reshape(first, shape, frame)
        if op == "slice" and first.kind == "kept":
            begin = names.argument(node, 1, "begin")
            size = names.argument(node, 2, "size")
            if (
                isinstance(begin, (ast.List, ast.Tuple))
                and isinstance(size, (ast.List, ast.Tuple))
                and begin.elts
                and size.elts
                and _int(begin.elts[0]) == 0
                and _int(size.elts[0]) == -1
            ):
                # ``tf.slice(y_true, [0, 0, 0], [-1, n, -1])``: every sample, a part of each.
                return replace(first, origin=None)
        if op in ("gather", "take") and first.kind == "flat":
            axis = names.argument(node, 2, "axis")
            if axis is None or _int(axis) == 0:
                # ``tf.gather(distance, tf.where(distance != 0))`` of a batch flattened to one
                # axis: some of the batch's elements, still of several samples.
                return Batch("flat")
        if op in _MIXES:
            if first.kind in ("mean", "sum", "const"):
                # ``boolean_mask(iou, ~is_nan(iou))`` of per-class ratios already reduced over
                # the batch: some of the same values, with no batch axis to mix.
                return first
            if first.kind == "kept" and self._per_sample_indices(node, frame):
                return Batch("kept", rank=1)  # one element of each sample's row
            return Batch("flat", rank=1) if first.kind in ("kept", "flat") else UNKNOWN
        if op in ("shape", "int_shape"):
            return Batch("shape", target=first.kind) if first.kind in ("kept", "flat") else CONST
        if op == "size" and first.kind in ("kept", "flat"):
            return Batch("sum", count=True, scale=1)
        if op in ("ndim", "rank", "epsilon", "floatx", "constant", "ones", "zeros", "eye"):
            # ``tf.constant(np.inf)``: a library constant (a "ref") is a number too.
            return CONST if op != "constant" or first.kind in ("const", "ref") else UNKNOWN
        if op == "tile" and first.kind == "kept":
            # ``tf.tile(mask, [1, 1, 3])``: copies along other axes keep one row per sample.
            multiples = names.argument(node, 1, "multiples", "reps")
            if (
                isinstance(multiples, (ast.List, ast.Tuple))
                and multiples.elts
                and _int(multiples.elts[0]) == 1
            ):
                return replace(first, origin=None)
            return UNKNOWN
        if op in ("squeeze", "expand_dims", "unsqueeze", "one_hot"):
            if op == "squeeze" and first.kind == "unknown":
                # ``tf.squeeze(critic(states, actions), 1)``: a network's (batch, 1) values
                # as one value per sample, a 1-D batch (a loss function's last axis then is
                # the batch, and its mean one number).
                return Batch("unknown", rank=1)
            if first.kind != "kept":
                return first if first.kind in ("const", "flat") else UNKNOWN
            delta = -1 if op == "squeeze" else 1
            rank = first.rank + delta if first.rank is not None else None
            return replace(first, rank=rank, min_rank=max(1, first.min_rank + delta))
        if op in ("concatenate", "concat", "stack"):
            axis = names.argument(node, 1, "axis", "dim")
            position = _int(axis) if axis is not None else (0 if op != "concatenate" else None)
            if module == "keras.backend" and axis is None and op == "concatenate":
                position = -1
            items = first.items if first.kind == "seq" else ()
            if items and all(item.kind == "flat" for item in items):
                # Flattened batches side by side (``concatenate([expand_dims(flatten(y_true)),
                # ...], axis=1)``): the samples stay mixed along axis 0, whichever axis joins.
                ranks = {item.rank for item in items}
                rank = ranks.pop() if len(ranks) == 1 and op != "stack" else None
                return Batch("flat", rank=rank, min_rank=1, origin=items[0].origin)
            if items and op == "stack" and all(item.kind in ("mean", "sum") for item in items):
                # ``tf.stack(losses)`` of values each reduced over the batch (a list of loss
                # objects' results, then averaged): still no batch axis, whichever axis.
                value = items[0]
                for item in items[1:]:
                    value = join(value, item)
                return value
            if not items or position is None or position == 0:
                return UNKNOWN
            value = items[0]
            for item in items[1:]:
                value = arithmetic(value, item, "cmp")
            if value.kind != "kept":
                return UNKNOWN
            return replace(value, rank=None)
        if op == "split" and first.kind == "kept":
            # ``tf.split(y_pred, 2, axis=-1)``: pieces along another axis than the batch's
            # (every framework splits axis 0 by default), each one row per sample.
            axis = names.argument(node, 2, "axis", "dim")
            position = _int(axis) if axis is not None else 0
            pieces = names.argument(node, 1, "num_or_size_splits", "indices_or_sections")
            count = _int(pieces) if pieces is not None else None
            if isinstance(pieces, (ast.List, ast.Tuple)):
                count = len(pieces.elts)
            if position is None or position == 0 or count is None or not 0 < count <= 16:
                return UNKNOWN
            return Batch("seq", items=(replace(first, origin=None),) * count)
        if op in _LAST_AXIS and not (module == "keras.ops" and op == "cosine_similarity"):
            return self._per_sample(args, node, frame)
        binary = _BINARY.get(ops.FUNCTIONS[op].range) if op in ops.FUNCTIONS else None
        # ``tf.div(a, b, name="batch_loss")``: a name says nothing of the values.
        if binary is not None and len(args) == 2 and not kwargs.keys() - {"name"}:
            # divide_no_nan(intersection, union) is a ratio, as ``/`` is: not a product.
            value = arithmetic(args[0], args[1], binary)
            return value
        if (
            op in ops.FUNCTIONS
            and ops.FUNCTIONS[op].range == "where"
            and len(args) == 3
            and all(a.kind in REDUCED or is_constant(a) for a in args[1:])
            and any(a.kind in REDUCED for a in args[1:])
        ):
            # ``tf.where(y_true > t, mse(y_true, y_pred) * k, mse(y_true, y_pred))``: each
            # element takes one of two batch reductions, spread over the condition's shape;
            # ``tf.where(tf.is_nan(f1), tf.zeros_like(f1), f1)``: a batch statistic, guarded.
            reduced = [a for a in args[1:] if a.kind in REDUCED]
            return reduced[0] if len(reduced) == 1 else join(reduced[0], reduced[1])
        if op in _ELEMENTWISE or op in _ELEMENTWISE_CROSSENTROPY:
            value = CONST
            for item in (*args, *kwargs.values()):
                if item.kind == "seq" and not is_constant(item):
                    return UNKNOWN
                value = arithmetic(value, item, "*") if value.kind != "const" else item
                if value.kind == "ref":
                    value = CONST
            if op in _PER_EXAMPLE and value.kind == "unknown" and module == "tensorflow.nn":
                # Documented to return the per-example losses, the shape of the logits: a
                # tensor with its batch axis even when the logits come from a model the
                # analysis cannot follow (a TF1 discriminator).
                return Batch("kept")
            return value
        if all(is_constant(a) for a in (*args, *kwargs.values())):
            return CONST
        return UNKNOWN

    def _unstacked(self, expr: ast.expr | None, axes: _Axes, frame: _Frame) -> Batch | None:
        """``K.all(K.stack([hit, is_class], axis=0), axis=0)``: tensors stacked on a new first
        axis and reduced over it again, an elementwise combination of them (a per-class
        accuracy's "right and of this class"), the batch where it was; None for any other
        reduction."""
        if not (
            axes.kind == "list"
            and axes.values == (0,)
            and isinstance(expr, ast.Call)
            and names.last_name(expr.func) == "stack"
            and expr.args
            and isinstance(expr.args[0], (ast.List, ast.Tuple))
            and len(expr.args[0].elts) > 1
        ):
            return None
        axis = names.argument(expr, 1, "axis", "dim")
        if axis is not None and _int(axis) != 0:
            return None
        value = self._expr(expr.args[0].elts[0], frame)
        for item in expr.args[0].elts[1:]:
            value = arithmetic(value, self._expr(item, frame), "cmp")
        return replace(value, rank=None) if value.kind == "kept" else None

    def _reduce(
        self,
        op: str,
        value: Batch,
        axes: _Axes,
        keepdims: bool,
        node: ast.Call,
        frame: _Frame,
        axis_missing: bool,
    ) -> Batch:
        # A reduction of one repeated number (``K.mean(K.zeros_like(y_pred))``, the loss of an
        # output that is not trained) is that number, whatever the batch.
        filled = names.filled_array(
            names.argument(node, 0, "input_tensor", "x"), frame.module.imports
        )
        if value.kind in ("const", "shape") or filled:
            return CONST
        stacked = self._unstacked(names.argument(node, 0, "input_tensor", "x"), axes, frame)
        if stacked is not None:
            return stacked
        if (
            value.kind == "seq"
            and axes.kind == "all"
            and value.items
            and all(item.kind in ("kept", "flat") for item in value.items)
        ):
            # ``tf.reduce_sum((losses,))``: a list or tuple of tensors is stacked, and a
            # reduction over every axis reduces each of them whole (a stray trailing comma).
            items = value.items
            value = items[0]
            for item in items[1:]:
                value = join(value, item)
        if value.kind in REDUCED:
            return value
        if value.kind not in ("kept", "flat"):
            if axes.kind != "all":
                return UNKNOWN
            if (
                op in _MEAN_OPS
                and value.kind == "unknown"
                and self._from_batch(names.argument(node, 0, "input_tensor", "x", "input"), frame)
            ):
                # A value the analysis cannot shape, made from the batch (a ``tensordot``
                # over computed axes), averaged whole: one number for the batch, however it
                # was laid out. (A sum's growth with the batch depends on that layout.)
                how = f"{_text(node.func, 30)}(...) without axis"
                span = self._span(node, frame)
                origin = Reduction(frame.path, span, how, _op_name(op), shapeless=True)
                return _reduced(0, origin=origin)
            return Batch("scalar")
        outcome, kept = _reduce_axes(value, axes, keepdims)
        if outcome == "kept":
            assert kept is not None
            return kept
        if outcome == "unknown" or op in _ARG_REDUCTIONS:
            return UNKNOWN
        scale = 1 if op in _SUM_OPS else 0
        label = _text(node.func, 30)
        if value.kind == "flat":
            how = f"{label}(...) over a tensor whose batch axis was flattened away"
        elif axes.kind == "all":
            how = f"{label}(...) without axis"
        else:
            how = f"{label}(..., axis={_text(names.argument(node, 1, 'axis', 'dim') or node, 20)})"
        fixable = (
            frame.depth == 0
            and axis_missing
            and op in _MEAN_OPS
            and value.kind == "kept"
            and value.min_rank >= 2
            and not node.keywords
            and len(node.args) == 1
        )
        per_sample = value.kind == "kept" and value.rank == 1
        origin = Reduction(
            frame.path, self._span(node, frame), how, _op_name(op), fixable, per_sample=per_sample
        )
        return replace(_reduced(scale, origin=origin), summed=value.summed)

    def _flatten(self, value: Batch) -> Batch:
        if value.kind in ("kept", "flat"):
            return Batch("flat", rank=1)
        return value if value.kind in ("const",) else UNKNOWN

    def _reshape(self, value: Batch, shape: ast.expr | None, frame: _Frame) -> Batch:
        if value.kind not in ("kept", "flat") or shape is None:
            if value.kind == "const":
                return value
            if isinstance(shape, (ast.List, ast.Tuple)) and len(shape.elts) == 1:
                # ``reshape(v, (len(v),))`` of a value not followed: 1-D, whatever it holds
                # (a Keras loss function of it averages its only axis, see _per_sample).
                return Batch("unknown", rank=1)
            return UNKNOWN
        if _int(shape) == -1:
            return Batch("flat", rank=1)
        if isinstance(shape, (ast.List, ast.Tuple)):
            if len(shape.elts) == 1 and _int(shape.elts[0]) == -1:
                return Batch("flat", rank=1)
            if len(shape.elts) == 2 and _int(shape.elts[0]) == -1:
                if value.kind == "kept" and value.rank is not None and value.rank <= 2:
                    # ``reshape(per_sample, [-1, 1])``: the batch stays the first axis.
                    return Batch("kept", rank=2, min_rank=2)
                # ``reshape(y_pred, (-1, classes))``: every pixel of the batch in one axis.
                return Batch("flat", rank=2)
            if len(shape.elts) > 2 and _int(shape.elts[0]) == -1 and value.kind == "kept":
                # ``reshape(y_pred, (-1, cells, cells, 5 + classes))``: a sample's values laid
                # out again, the batch first (a reduction over every axis sums it away, even
                # where the cells went to axis 0 too).
                return Batch("kept", rank=len(shape.elts), min_rank=len(shape.elts))
            if shape.elts:
                head = self._expr(shape.elts[0], frame)
                first = shape.elts[0]
                counted = (
                    isinstance(first, ast.Call)
                    and isinstance(first.func, ast.Name)
                    and first.func.id == "len"
                    and len(first.args) == 1
                    and self._expr(first.args[0], frame).kind in ("kept", "flat")
                )  # ``reshape(v, (len(v),))``: as many rows as the batch has samples
                if (head.kind == "sum" and head.count) or counted:
                    return Batch("kept", rank=len(shape.elts), min_rank=len(shape.elts))
        return UNKNOWN

    def _tensor_method(self, attr: str, base: Batch, node: ast.Call, frame: _Frame) -> Batch:
        self._arguments(node, frame)
        if attr == "numpy":
            self._effect(frame, "numpy", node, ".numpy()")
            return CONST  # a NumPy array: what NumPy does with it next is not on a tensor
        reduction = attr in _SUM_OPS or attr in _MEAN_OPS or attr in _OTHER_REDUCTIONS
        if (
            base.kind == "unknown"
            and attr in _MEAN_OPS
            and not node.args
            and not node.keywords
            and isinstance(node.func, ast.Attribute)
            and self._from_batch(node.func.value, frame)
        ):
            # ``-dist.log_prob(y_true).mean()`` (a torch distribution of the prediction): a
            # value made from the batch, averaged whole, as ``ops.mean`` of it is (_reduce).
            receiver = node.func.value
            of = _short_call(receiver) if isinstance(receiver, ast.Call) else _text(receiver, 30)
            how = f".{attr}() without axis of {of}"
            origin = Reduction(frame.path, self._span(node, frame), how, "mean", shapeless=True)
            return _reduced(0, origin=origin)
        if base.kind not in ("kept", "flat"):
            return base if attr in _TENSOR_METHODS_PASS or reduction else UNKNOWN
        if reduction:
            axis_node = names.argument(node, 0, "axis", "dim")
            axes = _ALL if axis_node is None else _axes(axis_node, frame)
            keep = names.argument(node, 1, "keepdims", "keepdim")
            keepdims = isinstance(keep, ast.Constant) and keep.value is True
            return self._reduce(attr, base, axes, keepdims, node, frame, False)
        if attr in ("flatten", "ravel"):
            return self._flatten(base)
        if attr in ("reshape", "view"):
            if len(node.args) == 1:
                return self._reshape(base, node.args[0], frame)
            return UNKNOWN
        if attr in _TENSOR_METHODS_PASS:
            return base
        return UNKNOWN

    def _container_method(self, func: ast.Attribute, node: ast.Call, frame: _Frame) -> None:
        """``self.history.append(y_pred)``, ``LOG.append(loss)``: a tensor kept outside.
        ``losses.append(term)`` on a local list: the list holds the term too (then summed
        with ``tf.add_n(losses)`` or ``sum(losses)``)."""
        if func.attr not in ("append", "extend", "insert", "add", "update", "__setitem__"):
            return
        if (
            func.attr == "append"
            and isinstance(func.value, ast.Name)
            and len(node.args) == 1
            and not node.keywords
        ):
            held = frame.env.get(func.value.id)
            if held is not None and held.kind == "seq":
                item = self._expr(node.args[0], frame)
                grown = (*held.items, item)
                frame.env[func.value.id] = (
                    Batch("seq", items=grown) if len(grown) <= _MAX_ITEMS else UNKNOWN
                )
                frame.literals.pop(func.value.id, None)
                return
        parts = names.dotted(func.value)
        if not parts or not frame.loss_code:
            return
        if not (parts[0] == "self" or self._is_module_global(parts[0], frame)):
            return
        if any(is_tensor(self._expr(a, frame)) for a in node.args):
            self._effect(frame, "store", node, f"{'.'.join(parts)}.{func.attr}(...)")

    # -- effects and objectives ----------------------------------------------------------------

    def _span(self, node: ast.AST, frame: _Frame) -> Span:
        return node_span(node, frame.module.lines)

    def _effect(
        self, frame: _Frame, kind: str, node: ast.AST, what: str, callee: str | None = None
    ) -> None:
        if not frame.loss_code or is_keras_source(frame.module.module):
            return
        if kind == "numpy" and frame.eager:
            return  # a value read where the code has made sure there is one
        span = self._span(node, frame)
        key = (frame.path, span, kind)
        if key not in self._effects:
            call = node if isinstance(node, ast.Call) else None
            self._effects[key] = Effect(kind, frame.path, span, what, frame.qualname, callee, call)

    def _record(self, probe: tuple[str, Span], node: ast.expr, value: Batch, frame: _Frame) -> None:
        kind, span = probe
        if value.kind == "mean" and value.summed is not None:
            # ``K.mean(recon + K.sum(kl))``: the mean keeps the batch sum whole.
            value = _reduced(1, origin=value.summed)
        if kind == "add_loss" and value.kind != "sum":
            # Keras sums each add_loss term to a scalar itself: a per-sample vector is not the
            # gradient of a non-scalar. A term summed over the batch grows with it (LL202).
            return
        if kind == "grad":
            if value.kind == "function" and value.target:
                self._differentiated.add(value.target)
                definition = self._definitions.get(value.target)
                if definition is not None and "loss" in definition.roles:
                    value = self.result(definition)
                else:
                    value = self._grad_target(value.target or "")
            else:
                return
        text = frame.labels.get(id(node)) or _text(node)
        self._trained_sink.append(Trained(kind, frame.path, span, value, text))

    def _grad_target(self, qualname: str) -> Batch:
        found = self.project.functions.get(qualname)
        if found is None:
            return UNKNOWN
        module, function = found
        params = tuple(UNKNOWN for _ in function.params)
        return self._run_function(module, function, params, None, loss_code=False, top=False)

    def _objectives(self) -> Iterator[Trained]:
        sink = self._trained_sink
        # With the costs a TF 1 model class stores on ``self`` in one method and trains in
        # another (``self.cost = -reduce_sum(...)``, then ``minimize(self.cost)``).
        by_module: dict[str, tuple[ModuleIndex, list[Objective]]] = {}
        for home, objective in self.project.objectives():
            if objective.stored and self._overwritten(objective):
                continue  # ``self.loss = per_sample`` then ``self.loss = -reduce_sum(self.loss)``
            if self.project.restated(objective):
                continue  # ``minimize(self.loss)`` below ``self.loss = ...``: judged there
            by_module.setdefault(home.path, (home, []))[1].append(objective)
        for module, objectives in by_module.values():
            scopes: dict[str, dict[int, tuple[str, Span]]] = {}
            for objective in objectives:
                if objective.perturbation:  # a sum over the batch is per-sample rows there
                    continue
                if objective.untrained:  # a demonstration of a gradient: no batch, no training
                    continue
                scopes.setdefault(objective.scope, {})[id(objective.node)] = (
                    objective.kind,
                    objective.span,
                )
            for scope, probes in scopes.items():
                self._interpret_scope(module, scope, probes)
        yield from sink

    def _overwritten(self, objective: Objective) -> bool:
        """Whether the method assigns the attribute a stored cost is assigned to again, later
        in the same block: only the last value is trained."""
        found = self.project.functions.get(objective.scope)
        if found is None:
            return False
        for body in _blocks(found[1].node):
            for index, statement in enumerate(body):
                if isinstance(statement, ast.Assign) and statement.value is objective.node:
                    held = {names.self_attribute(t) for t in statement.targets} - {None}
                    return any(
                        isinstance(later, ast.Assign)
                        and held & {names.self_attribute(t) for t in later.targets}
                        for later in body[index + 1 :]
                    )
        return False

    def _interpret_scope(
        self, module: ModuleIndex, scope: str, probes: dict[int, tuple[str, Span]]
    ) -> None:
        found = self.project.functions.get(scope)
        if found is not None:
            function = found[1]
            parent = scope.rpartition(".")[0]
            frame = _Frame(
                module,
                scope,
                parent if parent in self.project.classes else None,
                loss_code=False,
                depth=1,
                training=True,
                probes=probes,
            )
            for arg in _all_args(function.node):
                frame.env[arg.arg] = UNKNOWN
            # A loss every call of the step passes (``train_epoch(model, data, loss_fn, ...)``
            # with ``loss_fn = tf.keras.losses.sparse_categorical_crossentropy``): what the
            # step computes with it is that loss's value.
            for index, param in enumerate(function.params):
                passed = self.project.passed_values(scope, Param(param, index, None))
                given = [(m, v) for m, v in passed if isinstance(v, (ast.Name, ast.Attribute))]
                if given and len(given) == len(passed):
                    value = self._sole_value(given, frame, ("lossfn", "lossobj", "function", "ref"))
                    if value is not None and (
                        value.kind != "ref" or (value.target or "").startswith(_LOSS_REFS)
                    ):
                        frame.env[param] = value
            if frame.cls is not None and function.params[:1] in (("self",), ("cls",)):
                frame.env[function.params[0]] = Batch("self", target=frame.cls)
            if frame.cls is not None and scope.rpartition(".")[2] == "compute_loss":
                # A Keras Model's compute_loss is given the batch: x, y and y_pred (each a
                # tensor, or a dict or list of them) hold one row per sample.
                for name in ("x", "y", "y_pred"):
                    if name in frame.env:
                        frame.env[name] = SAMPLES if name != "y_pred" else _PREDICTIONS
            if (
                frame.cls is not None
                and scope.rpartition(".")[2] in ("train_step", "test_step")
                and len(function.params) > 1
                and self.project.is_subclass(frame.cls, names.KERAS_MODEL_BASES)
            ):
                # A Keras Model's train_step is given the batch: a tensor, or a tuple of them
                # to unpack (``x, y = data``), each with one row per sample (keras.io's VAE:
                # ``reduce_sum(squared_difference(data, reconstruction))`` sums the batch).
                frame.env[function.params[1]] = _LAYER_INPUTS
            if (
                frame.cls is not None
                and scope.rpartition(".")[2] == "call"
                and all(kind == "add_loss" for kind, _ in probes.values())
                and self.project.is_subclass(frame.cls, names.KERAS_LAYER_BASES)
            ):
                # A layer's call is given a batch: its tensor parameters (those without a
                # default: not ``training`` or ``mask``) hold one row per sample. (A gradient
                # taken there is with respect to those inputs, a penalty's: not read so.)
                arguments = function.node.args
                positional = [*arguments.posonlyargs, *arguments.args][1:]
                for arg in positional[: len(positional) - len(arguments.defaults)]:
                    frame.env[arg.arg] = _LAYER_INPUTS
            body = function.node.body
        elif scope == module.module:
            frame = _Frame(
                module, scope, None, loss_code=False, depth=1, training=True, probes=probes
            )
            body = plain_statements(module)
        else:
            return
        # Nested beyond Python's stack: what was recorded so far stands.
        with contextlib.suppress(RecursionError):
            self._block(body, frame)


# -- helpers ------------------------------------------------------------------------------------

_BUILTIN_NAMES: Final = frozenset({"len", "float", "int", "abs", "range", "list", "tuple", "sum"})
# The library losses a training step may be handed by name (``loss_fn=tf.keras.losses.mse``).
_LOSS_REFS: Final = ("keras.losses.", "tensorflow.keras.losses.", "tensorflow.losses.")


def _named(name: str, value: Batch) -> Batch:
    """A constant named like the batch size (``GLOBAL_BATCH_SIZE``) counts the samples."""
    if value.kind == "const" and "batch" in name.lower():
        # ``literal``: a Python number all the same, which NumPy may take (``np.array(
        # batch_size, x.dtype)``, TFP's kl_weight): no tensor (see ``_traced``).
        return Batch("sum", count=True, scale=1, literal=True)
    return value


def _batched_source(module: str, last: str, node: ast.Call) -> Batch | None:
    """A graph input whose leading dimension is the batch: ``tf.placeholder(dtype, [None,
    ...])`` (TF1 feeds each batch through it) and ``keras.Input(shape=(...))`` (the batch axis
    is added in front of ``shape``)."""
    if last == "placeholder" and (
        module.split(".")[0] == "tensorflow" or module == "keras.backend"
    ):
        # ``K.placeholder(shape=(None, n))`` takes the shape first, TensorFlow's second.
        shape = names.argument(node, 0 if module == "keras.backend" else 1, "shape")
        if isinstance(shape, (ast.List, ast.Tuple)) and shape.elts:
            head = shape.elts[0]
            if isinstance(head, ast.Constant) and head.value is None:
                return Batch("kept", rank=len(shape.elts), min_rank=max(1, len(shape.elts)))
        return None
    if last == "Input" and module in ("keras", "keras.layers"):
        shape = names.argument(node, 0, "shape")
        if names.argument(node, 99, "batch_size", "batch_shape", "tensor") is not None:
            return None
        if isinstance(shape, (ast.List, ast.Tuple)):
            rank = len(shape.elts) + 1
            return Batch("kept", rank=rank, min_rank=rank)
    return None


def _symbolic(value: Value) -> bool:
    """A symbolic Keras tensor: ``keras.Input(...)`` or a layer applied to one."""
    if not isinstance(value, Call):
        return False
    if value.func in ("keras.Input", "keras.layers.Input"):
        return True
    return value.func is None and any(
        _symbolic(leaf) for arg in value.args for leaf in iter_leaves(arg)
    )


def _op(op: ast.operator) -> str:
    if isinstance(op, ast.Add):
        return "+"
    if isinstance(op, ast.Sub):
        return "-"
    if isinstance(op, (ast.Div, ast.FloorDiv)):
        return "/"
    if isinstance(op, ast.Pow):
        return "**"
    return "*"


def _op_name(op: str) -> str:
    if op in _SUM_OPS:
        return "sum"
    if op in _MEAN_OPS:
        return "mean"
    return op.removeprefix("reduce_")


# What only TensorFlow 1 code writes: a graph's session and placeholders, TF 1's eager switch,
# contrib, and the losses only TF 1's ``tf.losses`` had (TF 2's are Keras's functions).
_TF1_WORDS: Final = (
    "Session(",
    "placeholder(",
    "enable_eager_execution",
    "contrib",
    "softmax_cross_entropy(",
    "sigmoid_cross_entropy(",
    "absolute_difference(",
)

# The losses only TF 1's ``tf.losses`` had: each reduces to one scalar by default.
_TF1_ONLY_LOSSES: Final = frozenset(
    {
        "absolute_difference",
        "compute_weighted_loss",
        "cosine_distance",
        "hinge_loss",
        "huber_loss",
        "log_loss",
        "mean_pairwise_squared_error",
        "sigmoid_cross_entropy",
        "softmax_cross_entropy",
        "sparse_softmax_cross_entropy",
    }
)


def _int(node: ast.expr | None) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) is int
    ):
        return -node.operand.value
    return None


def _same_expression(left: ast.expr, right: ast.expr) -> bool:
    """Whether two expressions are written the same (positions left out) and call nothing
    that could differ between two evaluations (a random draw)."""
    if any(isinstance(n, ast.Call) and _random_call(n) for n in ast.walk(left)):
        return False
    return key(left) == key(right)


def _random_call(node: ast.Call) -> bool:
    """``tf.random.normal(...)``, ``np.random.rand(...)``, ``K.random_uniform(...)``."""
    parts = names.dotted(node.func) or []
    return any("random" in part for part in parts)


def _counts_every_element(node: ast.BinOp, frame: _Frame) -> bool:
    """Whether ``node`` adds two sums that count every element once between them, through the
    names the function bound (see :mod:`losslint.analysis.counts`)."""

    def source(expr: ast.expr) -> ast.expr:
        return frame.literals.get(expr.id, expr) if isinstance(expr, ast.Name) else expr

    def call_name(func: ast.expr) -> str | None:
        return math_name(func, frame.module.imports)

    return complementary_counts(
        node.left, node.right, source, call_name
    ) == "sum" or confusion_total(node)


def _axes(node: ast.expr, frame: _Frame) -> _Axes:
    if isinstance(node, ast.Constant) and node.value is None:
        return _ALL
    if isinstance(node, ast.Name) and node.id in frame.literals:
        node = frame.literals[node.id]
    if isinstance(node, ast.IfExp):
        # ``[1, 2] if K.image_data_format() == "channels_last" else [2, 3]``: either way the
        # same number of axes, none of them the batch's (Keras's default layout is the first).
        body, orelse = _axes(node.body, frame), _axes(node.orelse, frame)
        if (
            body.kind == orelse.kind == "list"
            and len(body.values) == len(orelse.values)
            and 0 not in body.values
            and 0 not in orelse.values
        ):
            return body
        return _Axes("unknown")
    value = _int(node)
    if value is None:
        value = _from_rank(node)
    if value is not None:
        return _Axes("list", (value,))
    if isinstance(node, (ast.List, ast.Tuple)):
        values = [
            e if e is not None else _from_rank(n) for n, e in ((n, _int(n)) for n in node.elts)
        ]
        if values and all(v is not None for v in values):
            return _Axes("list", tuple(v for v in values if v is not None))
        return _Axes("unknown")
    # range(1, ndim), list(range(1, ...)), tuple(range(1, ...)), np.arange(1, ...)
    while isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("list", "tuple"):
        if not node.args:
            break
        node = node.args[0]
    if isinstance(node, ast.Call) and node.args:
        callee = (
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        )
        if callee in ("range", "arange") and len(node.args) >= 2 and _int(node.args[0]) == 1:
            stop = node.args[1]
            if isinstance(stop, ast.BinOp) and isinstance(stop.op, ast.Sub):
                # ``range(1, ndim - 1)``: the last axis (Monte Carlo samples) stays too.
                return _Axes("unknown")
            return _Axes("nonbatch")
    return _Axes("unknown")


def _returned_sum(returned: ast.expr | None, frame: _Frame) -> ast.expr | None:
    """What a ``return`` gives, with a returned name read as the sum it was bound to (``total
    = a + b`` then ``return total``) while none of the names that sum reads was bound again
    since (then its terms are no longer what the name holds); a weighted or renamed sum as
    that sum (see :func:`_weighted_sum`)."""
    if not (isinstance(returned, ast.Name) and returned.id in frame.sums):
        summed = _weighted_sum(returned) if returned is not None else None
        return summed if summed is not None else returned
    source, number = frame.sums[returned.id]
    fresh = all(
        frame.bound_at.get(n.id, 0) <= number for n in subtree(source) if isinstance(n, ast.Name)
    )
    return source if fresh else returned


def _from_rank(node: ast.expr) -> int | None:
    """``len(output.get_shape()) - 1``, ``K.ndim(x) - 1``, ``x.ndim - 2``: an axis counted from
    the tensor's rank, the negative axis it is (-1, -2): Keras 2's own crossentropy wrote it so."""
    if not (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Sub)
        and isinstance(node.right, ast.Constant)
        and type(node.right.value) is int
        and node.right.value > 0
    ):
        return None
    rank = node.left
    if isinstance(rank, ast.Attribute):
        known = rank.attr in ("ndim", "ndims")
    elif isinstance(rank, ast.Call) and len(rank.args) == 1:
        callee = names.last_name(rank.func)
        if callee == "len":
            shape = rank.args[0]
            known = (isinstance(shape, ast.Attribute) and shape.attr == "shape") or (
                isinstance(shape, ast.Call) and names.last_name(shape.func) in _SHAPE_CALLS
            )
        else:
            known = callee in ("ndim", "rank")
    else:
        known = False
    return -node.right.value if known else None


_SHAPE_CALLS: Final = frozenset({"get_shape", "int_shape", "shape"})


def _reduction(call: ast.Call, frame: _Frame, default: str) -> str:
    """The ``reduction=`` of a Loss constructor: "none", "sum", "mean" or unknown ("?")."""
    value = names.argument(call, 99, "reduction")
    if value is None:
        return default
    return _reduction_of(value, frame.module.imports)


def _reduction_of(value: ast.expr, imports: Mapping[str, str]) -> str:
    """The reduction ``value`` spells (see :func:`_reduction`)."""
    if isinstance(value, ast.Constant):
        if value.value is None or value.value == "none":
            return "none"
        return "sum" if value.value == "sum" else "mean"
    full = names.full_name(value, imports)
    if full is not None:
        last = full.rpartition(".")[2]
        if last == "NONE":
            return "none"
        if last == "SUM":
            return "sum"
        if last in ("AUTO", "SUM_OVER_BATCH_SIZE"):
            return "mean"
    return "?"


def _all_args(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    args = node.args
    found = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    found.extend(a for a in (args.vararg, args.kwarg) if a is not None)
    return found


# The tensors given to TF 1's losses by keyword (``labels=``, ``logits=``, ``predictions=``).
_TF1_LOSS_INPUTS: Final = ("labels", "predictions", "logits", "onehot_labels", "multi_class_labels")

# Calls that read only a tensor's layout (``K.int_shape(y)``, ``len(y)``).
_LAYOUT_CALLS: Final = ops.names(range_="count") | {"len", "dtype"}


def _value_names(node: ast.expr) -> Iterator[str]:
    """The names whose values ``node`` reads: not those read only for their layout
    (``y.shape``, ``K.int_shape(y)``, ``len(y)``)."""
    pending: list[ast.AST] = [node]
    while pending:
        child = pending.pop()
        if isinstance(child, ast.Name):
            yield child.id
            continue
        if isinstance(child, ast.Attribute) and child.attr in ops.LAYOUT_ATTRIBUTES:
            continue
        if isinstance(child, ast.Call):
            func = child.func
            last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if last in _LAYOUT_CALLS:
                continue
        pending.extend(ast.iter_child_nodes(child))


def derivations(body: list[ast.stmt]) -> dict[str, list[ast.expr]]:
    """``name → what it is computed from`` in ``body`` (not its nested definitions): the
    value of each assignment to it, unpacked ones included (``ll, params = crf(y, p)``: ``ll``
    comes from the call), the iterable of a ``for`` that binds it."""
    found: dict[str, list[ast.expr]] = {}
    for statement in flat_statements(body):
        targets: list[ast.expr] = []
        source: ast.expr | None = None
        if isinstance(statement, ast.Assign):
            targets, source = statement.targets, statement.value
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
            targets, source = [statement.target], statement.value
        elif isinstance(statement, (ast.For, ast.AsyncFor)):
            targets, source = [statement.target], statement.iter
        if source is None:
            continue
        for target in targets:
            for name in subtree(target):
                if isinstance(name, ast.Name):
                    found.setdefault(name.id, []).append(source)
    return found


def _bindings(body: list[ast.stmt]) -> dict[str, list[ast.expr]]:
    """``name → values`` of the statements of ``body`` (its blocks included, not its nested
    definitions) that bind a plain name (:func:`bound_names`, as the index's ``bindings``):
    ``=`` and an annotated ``=`` give their value, an augmented assignment or a ``for`` its
    target twice (a name bound more than once)."""
    found: dict[str, list[ast.expr]] = {}
    for statement in flat_statements(body):
        for name in bound_names(statement):
            if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
                found.setdefault(name, []).append(statement.value)
            elif isinstance(statement, (ast.AugAssign, ast.For, ast.AsyncFor)):
                found.setdefault(name, []).extend([statement.target, statement.target])
    return found


def _blocks(node: ast.AST) -> Iterator[list[ast.stmt]]:
    """Every list of statements in a function: its body and those of its compound statements
    (not those of nested definitions)."""
    pending: list[ast.AST] = [node]
    while pending:
        current = pending.pop()
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(current, name, None)
            if not isinstance(block, list):
                continue
            statements = [s for s in block if isinstance(s, ast.stmt)]
            if statements:
                yield statements
            for child in block:
                if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    pending.append(child)


def _self_assignments(node: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, list[ast.expr]]:
    found: dict[str, list[ast.expr]] = {}
    for statement in flat_statements(node.body):
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                parts = names.dotted(target) if isinstance(target, ast.Attribute) else None
                if parts and len(parts) == 2 and parts[0] == "self":
                    found.setdefault(parts[1], []).append(statement.value)
    return found
