"""How ``compile`` wires losses and metrics to model outputs, as Keras 3 does it.

Shared by the LL1xx rules: which loss or metric lands on which output (list by position, dict by
output name, a single loss on every output, dict-output models in *sorted key* order), and what
kind of crossentropy a loss is.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from losslint.analysis import flags
from losslint.diagnostic import Span
from losslint.index import names
from losslint.index.facts import (
    Call,
    Const,
    Mapping,
    ModelFact,
    Output,
    Ref,
    Seq,
    Value,
    iter_leaves,
)
from losslint.index.nodes import subtree
from losslint.index.project import ProjectIndex

# Crossentropy families by Keras identifier (string id, function name or class name); the
# value-range analysis reads it too (a crossentropy called with ``from_logits=True``).
CROSSENTROPY_FAMILIES: Final = {
    "binary_crossentropy": "binary",
    "bce": "binary",
    "BCE": "binary",
    "BinaryCrossentropy": "binary",
    "binary_focal_crossentropy": "binary",
    "BinaryFocalCrossentropy": "binary",
    "categorical_crossentropy": "categorical",
    "CategoricalCrossentropy": "categorical",
    "categorical_focal_crossentropy": "categorical",
    "CategoricalFocalCrossentropy": "categorical",
    "sparse_categorical_crossentropy": "sparse",
    "SparseCategoricalCrossentropy": "sparse",
}
# Of those, the functions' names (``keras.losses.binary_crossentropy``, ``K.binary_crossentropy``).
CROSSENTROPY_FUNCTIONS: Final = frozenset(n for n in CROSSENTROPY_FAMILIES if n.islower())
_PARTIAL: Final = frozenset({"functools.partial", "partial"})
# What the backends do with a softmax or sigmoid output given to a Keras crossentropy as logits
# (keras-facts §31): said by LL107 wherever it finds one.
LOGITS_SUBSTITUTED: Final = (
    "silently on JAX and PyTorch; TensorFlow warns and substitutes the logits"
)


@dataclass(frozen=True, slots=True)
class Crossentropy:
    family: str  # "binary" | "categorical" | "sparse" | "auto" ("crossentropy"/"ce": by shape)
    from_logits: bool | None  # None: given, but not a constant
    label: str  # how the user wrote it, for messages
    span: Span
    # Where a loss function of the project computes it (see wrapped_crossentropy): "the
    # binary_crossentropy call in bce_dice (line 12)", where the fix goes.
    inside: str = ""


def crossentropy(value: Value) -> Crossentropy | None:
    """The crossentropy a loss or metric entry denotes, or None for anything else."""
    if isinstance(value, Const) and isinstance(value.value, str):
        text = value.value
        if text.lower() in ("crossentropy", "ce"):
            return Crossentropy("auto", False, repr(text), value.span)
        family = CROSSENTROPY_FAMILIES.get(text)
        return Crossentropy(family, False, repr(text), value.span) if family else None
    if isinstance(value, Ref):
        family = _keras_family(value.target)
        return Crossentropy(family, False, value.target, value.span) if family else None
    if isinstance(value, Call) and value.func is not None:
        func, kwargs = value.func, value
        if func in _PARTIAL or func.endswith("functools.partial"):
            if not value.args or not isinstance(value.args[0], Ref):
                return None
            func = value.args[0].target
        family = _keras_family(func)
        if family is None:
            return None
        flag = kwargs.kwarg("from_logits")
        if flag is None:
            from_logits: bool | None = False
        elif isinstance(flag, Const) and isinstance(flag.value, bool):
            from_logits = flag.value
        else:
            from_logits = None
        suffix = "(from_logits=True)" if from_logits else "()"
        return Crossentropy(family, from_logits, func + suffix, value.span)
    return None


# The modules whose crossentropy functions a loss function may call on its prediction:
# ``keras.losses.binary_crossentropy(y_true, y_pred, from_logits=False, ...)``, the backend's
# ``K.binary_crossentropy(target, output, from_logits=False)`` and ``keras.ops``'s all take it
# second.
CROSSENTROPY_MODULES: Final = frozenset(
    {"keras.losses", "keras.metrics", "keras.backend", "keras.ops"}
)
_PREDICTION_KEYWORDS: Final = ("y_pred", "output")


def normalizer(family: str) -> str:
    """The activation that makes an output what a crossentropy of ``family`` takes."""
    return "sigmoid" if family == "binary" else "softmax"


def clipped_as_probabilities(family: str) -> str:
    """What Keras does to values a crossentropy of ``family`` takes as probabilities."""
    if family == "binary":
        return "clips the values to [1e-7, 1 - 1e-7]"
    return "renormalises each row to sum to 1 and clips it to [1e-7, 1 - 1e-7]"


def wrapped_crossentropy(value: Value, project: ProjectIndex) -> Crossentropy | None:
    """The crossentropy a loss function of the project computes on the prediction Keras hands
    it: ``def bce_and_count(y_true, y_pred): return binary_crossentropy(y_true, y_pred) +
    count_loss(y_true, y_pred)`` reads the output as ``binary_crossentropy`` does. Every Keras
    crossentropy function it calls with its own prediction parameter, unchanged, as the
    prediction (also through a function of the project it hands the prediction to, a copy of
    Keras's ``binary_crossentropy`` with ``from_logits=from_logits``) must agree on family and
    ``from_logits`` (a constant, or a parameter's default); None where it calls none, where
    they disagree (``from_logits=flag`` in two branches), where the parameter is bound again
    anywhere in the function (``y_pred = K.sigmoid(y_pred)``), and for anything but a plain
    function of the project. A crossentropy of anything else (``y_pred[..., 0]``, a
    ``sigmoid(y_pred)``) is not read."""
    if not isinstance(value, Ref) or value.instance is not None:
        return None
    if project.kind(value.target) != "function":
        return None
    found = _crossentropies(project, value.target, {}, 0)
    if not found or len({(family, flag) for family, flag, *_ in found}) != 1:
        return None
    family, from_logits, shown, line, qualname = found[0]
    owner = value.target.rpartition(".")[2]
    inner = qualname.rpartition(".")[2]
    suffix = "(from_logits=True)" if from_logits else ""
    label = f"{owner}, which computes {shown}(...){suffix} of its y_pred,"
    inside = f"the {shown} call in {inner} (line {line})"
    return Crossentropy(family, from_logits, label, value.span, inside)


_MAX_HELPERS: Final = 2  # project functions followed below the loss (a copy of Keras's one)
# (family, from_logits, the function called, its line, the function that calls it)
_Computed = tuple[str, bool, str, int, str]


def _crossentropies(
    project: ProjectIndex, qualname: str, given: dict[str, bool], depth: int
) -> list[_Computed] | None:
    """What :func:`wrapped_crossentropy` reads of function ``qualname``, whose parameters
    ``given`` those constants by its caller; None where it cannot tell."""
    found = project.functions.get(qualname)
    if found is None:
        return None
    module, function = found
    if len(function.params) < 2 or function.params[0] in ("self", "cls"):
        return None
    prediction = function.params[1]
    defaults = {
        k: v for k, v in flags.literal_defaults(function.node).items() if isinstance(v, bool)
    }
    computed: list[_Computed] = []
    for node in subtree(function.node):
        if node is not function.node and _binds(node, prediction) and not _kept(node, prediction):
            return None
        if not isinstance(node, ast.Call):
            continue
        handed = names.argument(node, 1, *_PREDICTION_KEYWORDS)
        if not (isinstance(handed, ast.Name) and handed.id == prediction):
            continue
        name = project.named(node.func, module) or ""
        library, _, last = name.rpartition(".")
        family = CROSSENTROPY_FAMILIES.get(last) if last in CROSSENTROPY_FUNCTIONS else None
        if family is not None and library in CROSSENTROPY_MODULES:
            flag = names.argument(node, 2, "from_logits")
            if flag is None:
                from_logits: bool | None = False
            elif isinstance(flag, ast.Constant) and isinstance(flag.value, bool):
                from_logits = flag.value
            elif isinstance(flag, ast.Name):
                from_logits = given.get(flag.id, defaults.get(flag.id))
            else:
                from_logits = None
            if from_logits is None:
                return None
            computed.append((family, from_logits, last, node.lineno, qualname))
        elif name in project.functions and depth < _MAX_HELPERS:
            helper = project.functions[name][1]
            passed = {
                param: argument.value
                for index, param in enumerate(helper.params)
                if isinstance(argument := names.argument(node, index, param), ast.Constant)
                and isinstance(argument.value, bool)
            }
            inner = _crossentropies(project, name, passed, depth + 1)
            if inner is None:
                return None
            computed.extend(inner)
    return computed


# Calls that hand back the values they are given, as a tensor of another type or shape.
_KEEPING: Final = frozenset(
    {
        "convert_to_tensor",
        "constant",
        "cast",
        "identity",
        "reshape",
        "squeeze",
        "expand_dims",
        "flatten",
        "batch_flatten",
    }
)


def _kept(node: ast.AST, name: str) -> bool:
    """Whether ``node`` binds ``name`` again to the same values: ``y_pred = K.constant(y_pred)
    if not K.is_tensor(y_pred) else y_pred`` (Keras's own crossentropy), a cast, a reshape."""

    def same(value: ast.expr) -> bool:
        if isinstance(value, ast.Name):
            return value.id == name
        if isinstance(value, ast.IfExp):
            return same(value.body) and same(value.orelse)
        if isinstance(value, ast.Call) and value.args:
            return names.last_name(value.func) in _KEEPING and same(value.args[0])
        return False

    return (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and same(node.value)
    )


def _binds(node: ast.AST, name: str) -> bool:
    """Whether ``node`` binds ``name``: an assignment, a loop, a ``with ... as``, a walrus, or a
    function or lambda that takes a parameter of that name."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.NamedExpr)):
        targets = [node.target]
    elif isinstance(node, ast.withitem) and node.optional_vars is not None:
        targets = [node.optional_vars]
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = node.args
        every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
        return any(a.arg == name for a in every)
    return any(
        isinstance(part, ast.Name) and part.id == name
        for target in targets
        for part in ast.walk(target)
    )


def _keras_family(name: str) -> str | None:
    module, _, last = name.rpartition(".")
    if module not in ("keras.losses", "keras.metrics"):
        return None
    return CROSSENTROPY_FAMILIES.get(last)


def is_single_loss(value: Value | None, project: ProjectIndex) -> bool:
    """A loss known to be one object (Keras broadcasts it to every output).

    A string, a Keras loss function or object, a function or class of the project, or a call
    to a project factory that returns a function. A call to any other project function may
    return a list, so it is not known to be single.
    """
    if isinstance(value, Const):
        return isinstance(value.value, str)
    if isinstance(value, Ref):
        return _is_loss_name(value.target) or project.kind(value.target) in ("function", "class")
    if isinstance(value, Call) and value.func is not None:
        if value.func in _PARTIAL or _is_loss_name(value.func):
            return True
        return project.kind(value.func) in ("class", "factory")
    return False


def _is_loss_name(name: str) -> bool:
    return name.startswith(("keras.losses.", "keras.metrics."))


def output_order(model: ModelFact) -> list[int]:
    """Output indexes in the order Keras flattens them: sorted by key for dict outputs."""
    indexes = list(range(len(model.outputs)))
    if model.structure == "dict":
        indexes.sort(key=lambda i: model.outputs[i].name or "")
    return indexes


def output_index(model: ModelFact, name: str) -> int | None:
    for i, output in enumerate(model.outputs):
        if output.name == name:
            return i
    return None


def assign_losses(
    value: Value | None, model: ModelFact, project: ProjectIndex
) -> Iterator[tuple[int, Value]]:
    """``(output index, loss)`` pairs as Keras 3 assigns them."""
    if value is None:
        return
    if isinstance(value, Seq):
        if model.structure == "single":
            if value.items:
                yield 0, value.items[0]  # Keras uses the first loss only
            return
        # A shorter list leaves the last outputs without a loss (LL103 reports it).
        for position, item in zip(output_order(model), value.items, strict=False):
            yield position, item
    elif isinstance(value, Mapping):
        for key, item, _ in value.str_items() or ():
            index = output_index(model, key)
            if index is not None:
                yield index, item
    elif is_single_loss(value, project):
        for index in range(len(model.outputs)):
            yield index, value


def assign_metrics(
    value: Value | None, model: ModelFact, bare: bool = False
) -> Iterator[tuple[int, Value]]:
    """``(output index, metric)`` pairs, each metric a leaf (nested lists are flattened).

    ``bare`` (Keras 2): a single metric not in a list (``metrics=Accuracy()``), or a flat list
    of metrics, applies to every output, as tf.keras copies it (keras-facts §17, §18); Keras
    3's compile rejects a single one (LL104) and maps a list one entry per output."""
    if value is None:
        return
    if bare and not isinstance(value, Mapping):
        leaves = value.items if isinstance(value, Seq) else (value,)
        if not any(isinstance(leaf, (Seq, Mapping)) for leaf in leaves):
            for output in range(len(model.outputs)):
                for leaf in leaves:
                    yield output, leaf
            return
    if len(model.outputs) == 1 and isinstance(value, (Seq, Mapping)):
        if isinstance(value, Mapping):
            items = value.str_items() or ()
            for key, item, _ in items:
                if model.outputs[0].name in (None, key):
                    for leaf in iter_leaves(item):
                        yield 0, leaf
            return
        for leaf in iter_leaves(value):
            yield 0, leaf
    elif isinstance(value, Seq):
        if len(value.items) != len(model.outputs):
            return
        for position, item in zip(output_order(model), value.items, strict=True):
            for leaf in iter_leaves(item):
                yield position, leaf
    elif isinstance(value, Mapping):
        for key, item, _ in value.str_items() or ():
            index = output_index(model, key)
            if index is not None:
                for leaf in iter_leaves(item):
                    yield index, leaf


def describe(model: ModelFact, index: int) -> str:
    """How a message names an output: by name, or by position."""
    output: Output = model.outputs[index]
    if output.name:
        return f"output {output.name!r}"
    if len(model.outputs) == 1:
        hugging_face = model.kind == "pretrained"
        return "the Hugging Face model's output" if hugging_face else "the model's output"
    return f"output #{index + 1}"


def did_you_mean(word: str, candidates: list[str] | tuple[str, ...] | frozenset[str]) -> str:
    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in candidates}
        key = word.strip().lower()
        if key in lowered:
            matches = [lowered[key]]
    return f" (did you mean {matches[0]!r}?)" if matches else ""
