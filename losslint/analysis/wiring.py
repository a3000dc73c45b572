"""How ``compile`` wires losses and metrics to model outputs, as Keras 3 does it.

Shared by the LL1xx rules: which loss or metric lands on which output (list by position, dict by
output name, a single loss on every output, dict-output models in *sorted key* order), and what
kind of crossentropy a loss is.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from losslint.diagnostic import Span
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
