"""LL1xx: how ``model.compile`` wires losses, weights and metrics to the model's outputs."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Set
from typing import Final

from losslint.analysis import ops
from losslint.analysis.decompose import function_formula
from losslint.analysis.wiring import (
    LOGITS_SUBSTITUTED,
    Crossentropy,
    assign_losses,
    assign_metrics,
    clipped_as_probabilities,
    crossentropy,
    describe,
    did_you_mean,
    is_single_loss,
    normalizer,
    output_order,
    wrapped_crossentropy,
)
from losslint.diagnostic import Severity, Span
from losslint.index import keras_ids, names
from losslint.index.apis import standalone_keras
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
from losslint.index.folding import literal, to_float
from losslint.index.project import ProjectIndex, ResolvedCompile, output_units
from losslint.rules.registry import Finding, Rule, RuleContext

_NUMPY_SCALARS: Final = frozenset(
    {
        "numpy.float16",
        "numpy.float32",
        "numpy.half",
        "numpy.single",
        "numpy.int8",
        "numpy.int16",
        "numpy.int32",
        "numpy.int64",
        "numpy.intc",
        "numpy.uint8",
        "numpy.longdouble",
    }
)
_NUMPY_ARRAYS: Final = frozenset(
    {"numpy.array", "numpy.asarray", "numpy.ones", "numpy.full", "numpy.linspace"}
)
_NON_FINITE_REFS: Final = {
    "numpy.nan": math.nan,
    "numpy.NaN": math.nan,
    "numpy.NAN": math.nan,
    "numpy.inf": math.inf,
    "numpy.Inf": math.inf,
    "numpy.infty": math.inf,
    "math.nan": math.nan,
    "math.inf": math.inf,
}
# Keras 2 names that Keras 3 dropped, with what to write instead.
_RENAMED_LOSSES: Final = {
    "logcosh": "log_cosh",
    "kullback_leibler_divergence": "kl_divergence",
}
_RENAMED_METRICS: Final = {
    "logcosh": "log_cosh_error",
    "log_cosh": "log_cosh_error",
    "kullback_leibler_divergence": "kl_divergence",
    "kld": "kl_divergence",
    "KLD": "kl_divergence",
    "crossentropy": "categorical_crossentropy",
    "ce": "categorical_crossentropy",
}


def _numbers(value: Value) -> float | None:
    """A weight's numeric value when it is a constant (NaN and inf included)."""
    if isinstance(value, Const) and type(value.value) in (int, float):
        return to_float(value.value)  # None for an integer beyond a float's range
    if isinstance(value, Ref):
        return _NON_FINITE_REFS.get(value.target)
    if (
        isinstance(value, Call)
        and value.func in ("builtins.float", "numpy.float64")
        and len(value.args) == 1
        and isinstance(value.args[0], Const)
    ):
        try:
            return float(value.args[0].value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return None
    return None


def _names(model: ModelFact) -> list[str]:
    return [o.name for o in model.outputs if o.name]


def _entries(count: int) -> str:
    return f"{count} entry" if count == 1 else f"{count} entries"


def _quoted(items: list[str]) -> str:
    return ", ".join(repr(i) for i in items)


# -- LL101 ------------------------------------------------------------------------------------


def _placeholder(value: Seq) -> bool:
    """``[...]``: an exercise's blank for the student to fill, not a list of weights."""
    return any(isinstance(item, Const) and item.value is Ellipsis for item in value.items)


def check_loss_weights_length(context: RuleContext) -> Iterator[Finding]:
    for rc in context.compiles:
        site, model = rc.site, rc.model
        weights = site.loss_weights
        if not isinstance(weights, Seq) or _placeholder(weights):
            continue
        count = len(weights.items)
        loss = site.loss
        if model is not None and model.structure == "single" and count > 1:
            units = output_units(model.outputs[0])
            hint = f", one per unit of its {units}-unit output" if units == count else ""
            yield Finding(
                rc.path,
                weights.span,
                f"loss_weights has {count} weights{hint} but the model has a single output: "
                "loss_weights weighs whole outputs, not classes; for per-class weights pass "
                "class_weight={class: weight} to fit()",
            )
        elif isinstance(loss, Seq) and len(loss.items) != count:
            yield Finding(
                rc.path,
                weights.span,
                f"loss_weights has {count} weights for {len(loss.items)} losses: Keras 3 raises "
                "'loss_weights must match the number of losses' at the first fit(), tf.keras "
                "silently drops the unmatched ones; give one weight per loss",
            )
        elif is_single_loss(loss, context.project) and count > 1 and context.keras3(rc.path):
            yield Finding(
                rc.path,
                weights.span,
                f"loss_weights has {count} weights but loss is a single loss: Keras 3 counts one "
                f"loss and raises 'got 1 losses and {count} weights' at the first fit(); pass "
                "loss as a list or dict with one entry per output",
            )
        elif isinstance(loss, Mapping) and model is not None and len(model.outputs) != count:
            yield Finding(
                rc.path,
                weights.span,
                f"loss_weights has {count} weights but the model has {len(model.outputs)} "
                "outputs: Keras 3 raises 'loss_weights must match the number of losses' at the "
                "first fit(); give one weight per output",
            )


# -- LL102 ------------------------------------------------------------------------------------


def check_loss_weights_keys(context: RuleContext) -> Iterator[Finding]:
    for rc in context.compiles:
        site, model = rc.site, rc.model
        weights = site.loss_weights
        if not isinstance(weights, Mapping):
            continue
        items = weights.str_items()
        if items is None:
            continue
        keys = [key for key, _, _ in items]
        loss = site.loss
        if isinstance(loss, Seq) and context.keras3(rc.path):
            yield _sorted_key_weights(rc, keys, weights, loss)
            continue
        if is_single_loss(loss, context.project) and len(keys) > 1 and context.keras3(rc.path):
            yield Finding(
                rc.path,
                weights.span,
                f"dict loss_weights with {len(keys)} keys but loss is a single loss: Keras 3 "
                f"counts one loss and raises 'got 1 losses and {len(keys)} weights' at the first "
                "fit(); pass loss as a dict with the same keys",
            )
            continue
        valid: list[str] | None = None
        if model is not None and model.output_names is not None:
            valid = list(model.output_names)
        elif isinstance(loss, Mapping) and loss.str_items() is not None:
            valid = [key for key, _, _ in loss.str_items() or ()]
        if valid is None:
            continue
        for key, _, key_span in items:
            if key not in valid:
                yield Finding(
                    rc.path,
                    key_span,
                    f"loss_weights key {key!r} is not an output name ({_quoted(valid)})"
                    f"{did_you_mean(key, valid)}: Keras 3 ignores it or assigns weights by "
                    "position, tf.keras raises; use the output names as keys",
                )
        if isinstance(loss, Mapping) and model is not None:
            loss_keys = [key for key, _, _ in loss.str_items() or ()]
            missing = [k for k in loss_keys if k not in keys and k in valid]
            if missing:
                yield Finding(
                    rc.path,
                    weights.span,
                    f"loss_weights has no weight for {_quoted(missing)}, which loss has: Keras 3 "
                    "raises at the first fit() (KeyError or 'loss_weights must match the number "
                    "of losses'); give a weight for every output",
                )


def _sorted_key_weights(
    rc: ResolvedCompile, keys: list[str], weights: Mapping, loss: Seq
) -> Finding:
    order = sorted(keys)
    model = rc.model
    outputs = list(model.output_names) if model and model.output_names else None
    if outputs is not None and model is not None:
        positions = [outputs[i] for i in output_order(model)]
        lucky = order == positions
        landing = ", ".join(
            f"the weight for {key!r} goes to output {o!r}"
            for key, o in zip(order, positions, strict=False)
        )
        if lucky:
            return Finding(
                rc.path,
                weights.span,
                "dict loss_weights with a list loss: Keras 3 ignores the keys and assigns the "
                "weights by sorted key order, which only happens to match the outputs here; "
                "pass loss as a dict keyed by output name, or loss_weights as a list",
                Severity.WARNING,
            )
        return Finding(
            rc.path,
            weights.span,
            f"dict loss_weights with a list loss: Keras 3 ignores the keys and assigns the weights "
            f"by sorted key order, so {landing}; pass loss as a dict keyed by output name, or "
            "loss_weights as a list in output order",
        )
    ordered = ", ".join(f"{key!r} → loss #{i + 1}" for i, key in enumerate(order))
    return Finding(
        rc.path,
        weights.span,
        f"dict loss_weights with a list loss: Keras 3 ignores the keys and assigns the weights by "
        f"sorted key order ({ordered}); pass loss as a dict keyed by output name, or "
        "loss_weights as a list in loss order",
    )


# -- LL103 ------------------------------------------------------------------------------------


def check_loss_structure(context: RuleContext) -> Iterator[Finding]:
    for rc in context.compiles:
        site, model = rc.site, rc.model
        loss = site.loss
        if model is None or loss is None:
            continue
        count = len(model.outputs)
        if count == 0:
            continue  # no model has no outputs: what it returns is not known
        if isinstance(loss, Seq):
            n = len(loss.items)
            if model.structure == "single":
                if n > 1:
                    yield Finding(
                        rc.path,
                        loss.span,
                        f"{n} losses for a single-output model: Keras uses only the first and "
                        "silently ignores the rest; combine them in one loss function",
                    )
            elif n != count and loss.kind == "tuple":
                yield Finding(
                    rc.path,
                    loss.span,
                    f"loss is a tuple of {n} for a model with {count} outputs: Keras 3 cannot map "
                    "it to the outputs and fails at the first fit(); give a list with one loss "
                    "per output",
                )
            elif n < count:
                missing = [describe(model, i) for i in output_order(model)[n:]]
                yield Finding(
                    rc.path,
                    loss.span,
                    f"loss has {_entries(n)} but the model has {count} outputs: "
                    f"{', '.join(missing)} silently get no loss and do not train; give one loss "
                    "per output (None to skip one on purpose)",
                )
            elif n > count:
                yield Finding(
                    rc.path,
                    loss.span,
                    f"loss has {n} entries but the model has {count} outputs: Keras 3 raises "
                    "KeyError 'The path ... can't be found in the model's output' at the first "
                    "fit(), tf.keras silently ignores the extra losses",
                )
            elif model.structure == "dict":
                declared = [o.name or "" for o in model.outputs]
                if declared != sorted(declared):
                    landing = ", ".join(
                        f"#{i + 1} → {model.outputs[j].name!r}"
                        for i, j in enumerate(output_order(model))
                    )
                    yield Finding(
                        rc.path,
                        loss.span,
                        "list loss on a dict-output model: Keras maps the list to the outputs in "
                        f"sorted key order ({landing}), not in declaration order; pass loss as a "
                        "dict keyed by output name",
                    )
        elif isinstance(loss, Mapping) and model.output_names is not None:
            items = loss.str_items()
            if items is None:
                continue
            valid = list(model.output_names)
            for key, _, key_span in items:
                if key not in valid:
                    yield Finding(
                        rc.path,
                        key_span,
                        f"loss key {key!r} is not an output name ({_quoted(valid)})"
                        f"{did_you_mean(key, valid)}: Keras 3 raises at the first fit(), tf.keras "
                        "silently gives that output no loss",
                    )
            # A dict-output model may leave an output without a loss on purpose.
            missing = [n for n in valid if n not in {k for k, _, _ in items}]
            if missing and model.structure == "list":
                yield Finding(
                    rc.path,
                    loss.span,
                    f"loss dict has no entry for {_quoted(missing)}: Keras 3 raises "
                    "'Expected keys ... in loss dict' at the first fit(), tf.keras silently "
                    "gives those outputs no loss; add them (None to skip one on purpose)",
                )


# -- LL104 ------------------------------------------------------------------------------------


def check_metrics_structure(context: RuleContext) -> Iterator[Finding]:
    for rc in context.compiles:
        yield from _metrics_shape(context, rc, "metrics", rc.site.metrics)
        yield from _metrics_shape(context, rc, "weighted_metrics", rc.site.weighted_metrics)
        yield from _shared_metric_instances(context, rc)


def _metrics_shape(
    context: RuleContext, rc: ResolvedCompile, arg: str, value: Value | None
) -> Iterator[Finding]:
    model = rc.model
    if value is None:
        return
    if (
        _is_one_metric(context, value)
        and context.keras3(rc.path)
        and arg not in rc.site.positional  # Keras 3 takes it as loss_weights: LL402 says so
    ):
        yield Finding(
            rc.path,
            value.span,
            f"{arg} must be a list, tuple or dict: Keras 3 raises 'Expected {arg} argument to be "
            f"a list, tuple, or dict' in compile(); write {arg}=[...]",
        )
        return
    if model is None or len(model.outputs) < 2 or rc.site.idle:
        return  # (an idle model, only predicted with, never builds its metrics)
    count = len(model.outputs)
    if isinstance(value, Seq):
        flat = all(not isinstance(item, Seq) for item in value.items)
        # ``metrics=[]`` is no metric at all: Keras 3 builds none for any output.
        if value.items and len(value.items) != count and context.keras3(rc.path):
            tail = (
                "; to apply them to every output, repeat them per output or use a dict keyed by "
                "output name"
                if flat
                else ""
            )
            yield Finding(
                rc.path,
                value.span,
                f"{arg} has {_entries(len(value.items))} for a model with {count} outputs: Keras 3 "
                f"raises 'Invalid {arg}' at the first fit() (it maps a list one entry per "
                f"output){tail}",
            )
        elif model.structure == "dict":
            declared = [o.name or "" for o in model.outputs]
            if declared != sorted(declared):
                yield Finding(
                    rc.path,
                    value.span,
                    f"list {arg} on a dict-output model: Keras maps the list to the outputs in "
                    f"sorted key order ({_quoted(sorted(declared))}), not in declaration order; "
                    "use a dict keyed by output name",
                )
    elif isinstance(value, Mapping) and model.output_names is not None:
        valid = list(model.output_names)
        for key, _, key_span in value.str_items() or ():
            if key not in valid:
                yield Finding(
                    rc.path,
                    key_span,
                    f"{arg} key {key!r} is not an output name ({_quoted(valid)})"
                    f"{did_you_mean(key, valid)}: Keras 3 raises 'Invalid {arg}' at the first "
                    "fit()",
                )


_KERAS_METRIC_AND_LOSS_IDS: Final = (
    keras_ids.K3_METRICS
    | keras_ids.K3_METRICS_NEED_ARGS
    | keras_ids.K2_METRICS
    | keras_ids.K3_LOSSES
    | keras_ids.K2_LOSSES
)


def _is_one_metric(context: RuleContext, value: Value) -> bool:
    """A single metric (string, Keras metric/loss object, project function or metric class).

    A call to any other function (``clone_metrics(...)``) may well return a list.
    """
    if isinstance(value, Const):
        return isinstance(value.value, str)
    name = (
        value.target if isinstance(value, Ref) else value.func if isinstance(value, Call) else None
    )
    if name is None:
        return False
    module, _, last = name.rpartition(".")
    if module in ("keras.metrics", "keras.losses"):
        # A metric or loss, not a utility of those modules (clone_metrics, get, serialize).
        return last in _KERAS_METRIC_AND_LOSS_IDS
    kind = context.project.kind(name)
    return kind in ("function", "class") if isinstance(value, Ref) else kind == "class"


def _shared_metric_instances(context: RuleContext, rc: ResolvedCompile) -> Iterator[Finding]:
    seen: set[str] = set()
    for value in (rc.site.metrics, rc.site.weighted_metrics):
        if value is None or not isinstance(value, (Seq, Mapping)):
            continue
        for leaf in iter_leaves(value):
            if (
                not isinstance(leaf, Call)
                or leaf.binding is None
                or not _is_metric_class(context, leaf.func)
            ):
                continue
            if leaf.binding in seen:
                variable = leaf.binding.rpartition(".")[2]
                yield Finding(
                    rc.path,
                    leaf.span,
                    f"the metric object {variable!r} is used twice: Keras 3 silently shares its "
                    "state, so both report the average of both (tf.keras raises); create one "
                    "instance per use",
                )
            seen.add(leaf.binding)


def _is_metric_class(context: RuleContext, func: str | None) -> bool:
    if func is None:
        return False
    module, _, last = func.rpartition(".")
    if module == "keras.metrics":
        return names.keras_class_name(last)
    return context.project.is_metric_class(func)


# -- LL105 ------------------------------------------------------------------------------------


def check_loss_weight_value(context: RuleContext) -> Iterator[Finding]:
    for rc in context.compiles:
        weights = rc.site.loss_weights
        if weights is None:
            continue
        if isinstance(weights, Const) and type(weights.value) is int:
            if context.keras3(rc.path):
                number = to_float(weights.value)
                written = "a float" if number is None else f"loss_weights={number}"
                yield Finding(
                    rc.path,
                    weights.span,
                    f"loss_weights={literal(weights.value)} is an int: Keras 3 accepts only a "
                    f"float, list, tuple or dict and raises in compile(); write {written}",
                )
            yield from _weight_value(rc, weights)
            continue
        if isinstance(weights, Call) and weights.func in _NUMPY_ARRAYS:
            yield Finding(
                rc.path,
                weights.span,
                "loss_weights is a NumPy array: Keras 3 raises in compile() ('The truth value of "
                "an array ... is ambiguous') and tf.keras broadcasts the whole array to every "
                "output; pass a list of floats",
            )
            continue
        if isinstance(weights, Call) and weights.func in _NUMPY_SCALARS and context.keras3(rc.path):
            yield Finding(
                rc.path,
                weights.span,
                f"loss_weights is a {weights.func} scalar: Keras 3 accepts only a Python float, "
                "list, tuple or dict and raises in compile(); pass float(...)",
            )
            continue
        lossless = _lossless(rc.site.loss)
        if isinstance(weights, Seq):
            for number, item in enumerate(weights.items):
                yield from _weight_value(rc, item, number in lossless)
        elif isinstance(weights, Mapping):
            keys = [k.value if isinstance(k, Const) else None for k in weights.keys]
            for key, item in zip(keys, weights.values, strict=True):
                yield from _weight_value(rc, item, key is not None and key in lossless)
        else:
            yield from _weight_value(rc, weights)


def _lossless(loss: Value | None) -> set[object]:
    """The outputs (positions of a list, keys of a dict) that ``loss`` gives no loss: None."""
    if isinstance(loss, Seq):
        return {n for n, item in enumerate(loss.items) if _is_none(item)}
    if isinstance(loss, Mapping):
        return {
            k.value
            for k, item in zip(loss.keys, loss.values, strict=True)
            if isinstance(k, Const) and _is_none(item)
        }
    return set()


def _is_none(value: Value) -> bool:
    return isinstance(value, Const) and value.value is None


def _weight_value(rc: ResolvedCompile, value: Value, lossless: bool = False) -> Iterator[Finding]:
    """``lossless``: the output has no loss (None), so a weight of 0 there multiplies
    nothing (a dummy output's ``loss=[loss, None, None]`` with ``loss_weights=[1, 0, 0]``)."""
    number = _numbers(value)
    if number is None:
        return
    if math.isnan(number) or math.isinf(number):
        yield Finding(
            rc.path,
            value.span,
            f"loss weight {number}: the total loss becomes NaN/inf from the first step; use a "
            "finite positive weight",
        )
    elif number < 0:
        yield Finding(
            rc.path,
            value.span,
            f"negative loss weight {number:g}: gradient descent then maximises that loss and the "
            "total diverges; use a positive weight (or negate the loss itself if that is meant)",
        )
    elif number == 0 and not lossless:
        yield Finding(
            rc.path,
            value.span,
            "loss weight 0: that output's loss is multiplied away and adds nothing to the "
            "gradient (its layers train only through other outputs), yet it is still computed "
            "and logged; to only monitor it, pass its loss as None and track it in metrics",
            Severity.WARNING,
        )


# -- LL106 ------------------------------------------------------------------------------------


def check_unknown_identifier(context: RuleContext) -> Iterator[Finding]:
    # A registered id names the object as Keras 2's get() finds it (``Addons>focal``).
    registered = context.project.registered_ids
    defined = context.project.defined_names | registered.keys()
    for rc in context.compiles:
        site = rc.site
        if site.idle:
            # Keras looks the strings up at the first fit() or evaluate(): a model compiled
            # only to hold an optimizer (a TD3 actor trained with GradientTape) never does.
            continue
        keras3 = context.keras3(rc.path)
        for leaf in _string_leaves(site.loss):
            text = leaf.value
            assert isinstance(text, str)
            known = keras_ids.K3_LOSSES if keras3 else keras_ids.K2_LOSSES | keras_ids.K2_LEGACY_IDS
            if text.lower() in keras_ids.COMPILE_LOSS_SPECIAL or text in known:
                continue
            if text in defined:
                if keras3:
                    yield _custom_string(rc, leaf, "loss", registered)
                continue
            if keras3 and text in keras_ids.K2_LOSSES:
                new = _RENAMED_LOSSES.get(text)
                instead = f"use {new!r}" if new else "use a keras.losses object"
                yield Finding(
                    rc.path,
                    leaf.span,
                    f"loss {text!r} was removed in Keras 3 (Keras raises 'Could not interpret "
                    f"loss identifier' at the first fit()); {instead}",
                )
                continue
            yield Finding(
                rc.path,
                leaf.span,
                f"unknown loss {text!r}{did_you_mean(text, known)}: Keras raises 'Could not "
                "interpret loss identifier' at the first fit()",
            )
        for value in (site.metrics, site.weighted_metrics):
            yield from _unknown_metrics(rc, value, defined, keras3, registered)


def _unknown_metrics(
    rc: ResolvedCompile,
    value: Value | None,
    defined: Set[str],
    keras3: bool,
    registered: dict[str, str],
) -> Iterator[Finding]:
    special = keras_ids.COMPILE_METRIC_SPECIAL_K3 if keras3 else keras_ids.COMPILE_METRIC_SPECIAL_K2
    known = keras_ids.K3_METRICS if keras3 else keras_ids.K2_METRICS | keras_ids.K2_LEGACY_IDS
    for leaf in _string_leaves(value):
        text = leaf.value
        assert isinstance(text, str)
        if text.lower() in special or text in known:
            continue
        if text in defined:
            if keras3:
                yield _custom_string(rc, leaf, "metric", registered)
            continue
        if keras3 and text in keras_ids.K3_METRICS_NEED_ARGS:
            yield Finding(
                rc.path,
                leaf.span,
                f"metric {text!r} needs constructor arguments, so the string fails with a "
                "TypeError at the first fit(); pass the metric object, e.g. "
                "keras.metrics.MeanIoU(num_classes=...)",
            )
            continue
        if keras3 and (text in keras_ids.K2_METRICS or text in _RENAMED_METRICS):
            new = _RENAMED_METRICS.get(text)
            instead = f"use {new!r}" if new else "use a keras.metrics object"
            yield Finding(
                rc.path,
                leaf.span,
                f"metric {text!r} was removed in Keras 3 (Keras raises 'Could not interpret "
                f"metric identifier' at the first fit()); {instead}",
            )
            continue
        yield Finding(
            rc.path,
            leaf.span,
            f"unknown metric {text!r}{did_you_mean(text, known | special)}: Keras raises at the "
            "first fit()",
        )


def _custom_string(
    rc: ResolvedCompile, leaf: Const, kind: str, registered: dict[str, str]
) -> Finding:
    assert isinstance(leaf.value, str)
    own = registered.get(leaf.value) or leaf.value  # ``Addons>focal``: the registered focal
    return Finding(
        rc.path,
        leaf.span,
        f"{kind} {leaf.value!r} names your own function, but Keras 3 resolves {kind} strings "
        "only among its built-ins (never a registered or custom_object_scope object), so it "
        f"raises 'Could not interpret {kind} identifier' at the first fit(); pass the object "
        f"itself: {own}",
    )


def _string_leaves(value: Value | None) -> Iterator[Const]:
    if value is None:
        return
    for leaf in iter_leaves(value):
        if isinstance(leaf, Const) and isinstance(leaf.value, str):
            yield leaf


# -- LL107 / LL108 ----------------------------------------------------------------------------


def _assigned(
    context: RuleContext, rc: ResolvedCompile, model: ModelFact
) -> Iterator[tuple[int, Value, str]]:
    """Every loss and metric entry with the output it applies to and its kind."""
    for index, value in assign_losses(rc.site.loss, model, context.project):
        yield index, value, "loss"
    for index, value in _metric_entries(context, rc, model):
        yield index, value, "metric"


def _metric_entries(
    context: RuleContext, rc: ResolvedCompile, model: ModelFact
) -> Iterator[tuple[int, Value]]:
    """Every metric and weighted metric of ``rc`` with the output it applies to. On Keras 2 a
    single one given alone applies to a one-output model; Keras 3's compile rejects it (LL104)."""
    bare = not context.keras3(rc.path)
    for metrics in (rc.site.metrics, rc.site.weighted_metrics):
        yield from assign_metrics(metrics, model, bare=bare)


def check_from_logits(context: RuleContext) -> Iterator[Finding]:
    for rc in context.compiles:
        model = rc.model
        if model is None or rc.site.idle:  # never trained or evaluated with this loss
            continue
        losses = dict(assign_losses(rc.site.loss, model, context.project))
        # One finding per loss or metric written, naming each output it is wrong on
        # (``loss="binary_crossentropy"`` on two tanh outputs): (span, message) → outputs.
        wrong: dict[tuple[Span, str], list[str]] = {}
        for index, value, kind in _assigned(context, rc, model):
            metric = thresholded_metric(value) if kind == "metric" else None
            if metric is not None and metric not in _BINARY_ACCURACIES:  # those are LL110's
                found = _metric_of_logits(rc, model, index, value, losses, metric)
                if found is not None:
                    yield found
                continue
            ce = crossentropy(value)
            if ce is None:
                # A loss function that calls a crossentropy on its y_pred: from_logits=True on a
                # softmax or sigmoid output is the value-range analysis's (loss code, below).
                ce = wrapped_crossentropy(value, context.project)
                if ce is not None and ce.from_logits is not False:
                    ce = None
            activation = model.outputs[index].activation
            if ce is None or activation is None:
                continue
            where = describe(model, index)
            if ce.from_logits is True and activation in ("softmax", "sigmoid"):
                message = (
                    f"{ce.label} on {_WHERE}, which already {_APPLIES} {activation}: the {kind} "
                    f"applies {activation} a second time ({LOGITS_SUBSTITUTED}); drop the output "
                    "activation or use from_logits=False"
                )
                wrong.setdefault((ce.span, message), []).append(where)
            elif ce.from_logits is False and activation in names.NON_PROBABILITY_ACTIVATIONS:
                if (
                    ce.family in ("categorical", "sparse")
                    and output_units(model.outputs[index]) == 1
                ):
                    continue  # LL108's defect at the same site: no activation fixes a 1-unit CCE
                squash = normalizer(ce.family)
                shown = (
                    "no activation (logits)"
                    if activation == "linear"
                    else f"a {activation} activation"
                )
                fix = f"to {ce.inside}" if ce.inside else "to the loss object"
                if model.kind == "pretrained":
                    # A Hugging Face head's logits cannot be given an activation.
                    advice = f"pass from_logits=True {fix}"
                elif _logits_as_they_are(activation, ce.family):
                    advice = f"pass from_logits=True {fix} or end the output with {squash}"
                else:
                    advice = (
                        f"end the output with {squash} instead of {activation} "
                        f"(from_logits=True is no fix: as logits, {activation} values cap the "
                        "probabilities)"
                    )
                message = (
                    f"{ce.label} expects probabilities but {_WHERE} {_HAS} {shown}: Keras "
                    f"{clipped_as_probabilities(ce.family)}, "
                    "so the loss is wrong and no gradient flows where the values are clipped; "
                    f"{advice}"
                )
                wrong.setdefault((ce.span, message), []).append(where)
        for (span, message), outputs in wrong.items():
            yield Finding(rc.path, span, _for_outputs(message, outputs))
    # The same defect in loss code (a training step, a TF 1 cost, a loss function): a softmax
    # or sigmoid given to a crossentropy as its logits, found by the value-range analysis.
    for hazard in context.hazards:
        if hazard.kind == "logits":
            yield Finding(hazard.path, hazard.span, hazard.message)


# Output activations whose values are logits a crossentropy can take with from_logits=True:
# unbounded both ways (and log_softmax, a softmax's logits).
_LOGITS: Final = frozenset({"linear", "leaky_relu", "glu", "log_softmax"})
# Bounded above: softmax of values below 1 (tanh) or 6 (relu6) cannot be confident.
_CAPPED: Final = frozenset({"tanh", "softsign", "relu6"})


def _logits_as_they_are(activation: str, family: str) -> bool:
    """Whether ``from_logits=True`` fixes a crossentropy of ``family`` on an output with
    ``activation``: values unbounded both ways, or, for a softmax crossentropy (which only the
    differences of a row's logits move), values unbounded above. A sigmoid of values that are
    never far below 0 (relu, elu, softplus, ...) is never far below 0.5, and a sigmoid or
    softmax of a tanh is capped (sigmoid(tanh(x)) stays within [0.27, 0.73])."""
    if activation in _LOGITS:
        return True
    return family != "binary" and activation not in _CAPPED


# Placeholders of a message written for one output or several (see _for_outputs).
_WHERE: Final = "\x00where\x00"
_HAS: Final = "\x00has\x00"
_APPLIES: Final = "\x00applies\x00"


def _for_outputs(message: str, outputs: list[str]) -> str:
    """``message`` about the outputs :func:`describe` names (``output #1``), each once: one
    output, or ``outputs #1 and #2``, with its verbs agreeing."""
    outputs = list(dict.fromkeys(outputs))
    if len(outputs) == 1:
        where, has, applies = outputs[0], "has", "applies"
    else:
        parts = [o.removeprefix("output ") for o in outputs]
        where = f"outputs {', '.join(parts[:-1])} and {parts[-1]}"
        has, applies = "have", "apply"
    return message.replace(_WHERE, where).replace(_HAS, has).replace(_APPLIES, applies)


def check_crossentropy_output(context: RuleContext) -> Iterator[Finding]:
    for rc in context.compiles:
        model = rc.model
        if model is None or rc.site.idle:  # never trained or evaluated with this loss
            continue
        for index, value in assign_losses(rc.site.loss, model, context.project):
            ce = crossentropy(value)
            if ce is None:
                continue
            output = model.outputs[index]
            units = output_units(output)
            at_least = units or output.min_units
            where = describe(model, index)
            if (
                ce.family == "binary"
                and output.activation == "softmax"
                # Over exactly 2 units BCE equals CCE (p1 = 1 - p0, y1 = 1 - y0 for one-hot
                # labels), so only a softmax known to have more than 2 units is a defect.
                and at_least
                and at_least > 2
            ):
                shown = units or f"at least {at_least}"
                yield Finding(
                    rc.path,
                    ce.span,
                    f"binary crossentropy {ce.label} on {where}, a softmax over {shown} units: "
                    "the units compete but the loss treats them as independent; use "
                    "categorical_crossentropy (one-hot labels) or "
                    "sparse_categorical_crossentropy (integer labels)",
                )
            elif ce.family in ("categorical", "sparse") and units == 1:
                yield Finding(
                    rc.path,
                    ce.span,
                    f"categorical crossentropy {ce.label} on {where}, which has 1 unit: the loss "
                    "is (about) 0 and nothing trains (Keras 3 warns 'expected y_pred.shape to be "
                    "(batch_size, num_classes) with num_classes > 1'); use binary_crossentropy "
                    "with a sigmoid output",
                )
    seen: set[tuple[str, Span]] = set()
    for path, model in context.project.models():
        for output in model.outputs:
            if output.softmax_span is not None and output.units == 1:
                seen.add((path, output.softmax_span))
                yield Finding(path, output.softmax_span, _ONE_UNIT_SOFTMAX)
    # A one-unit softmax layer is constantly 1.0 wherever it is built: in a list of layers a
    # builder stacks from a configuration, in a model whose outputs are not known.
    for module in context.project.modules:
        for span in module.one_unit_softmax:
            if (module.path, span) not in seen:
                seen.add((module.path, span))
                yield Finding(module.path, span, _ONE_UNIT_SOFTMAX)
    # A softmax layer applied to a one-unit tensor (an attention's scores from ``Dense(1)``).
    for module in context.project.modules:
        for span in module.softmax_of_one_unit:
            yield Finding(module.path, span, _SOFTMAX_OF_ONE_UNIT)


_SOFTMAX_OF_ONE_UNIT: Final = (
    "softmax over the last axis of a tensor with one unit (a Dense(1) output) is always 1.0: "
    "every weight it gives is 1 whatever the input; normalise over the axis that holds the "
    "alternatives (Softmax(axis=1) over an attention's time steps), or use sigmoid for one "
    "independent weight"
)
_ONE_UNIT_SOFTMAX: Final = (
    "softmax over a single unit always outputs 1.0, so the model cannot learn; use sigmoid for "
    "a binary output"
)


# -- LL109 ------------------------------------------------------------------------------------


def check_accuracy_object(context: RuleContext) -> Iterator[Finding]:
    for rc in context.compiles:
        model = rc.model
        if model is None:
            continue
        for index, leaf in _metric_entries(context, rc, model):
            is_accuracy = (isinstance(leaf, Call) and leaf.func == "keras.metrics.Accuracy") or (
                isinstance(leaf, Ref) and leaf.target == "keras.metrics.Accuracy"
            )
            activation = model.outputs[index].activation
            if not is_accuracy or activation is None:
                continue
            yield Finding(
                rc.path,
                leaf.span,
                "keras.metrics.Accuracy checks exact equality of y_true and y_pred, so on "
                f"{describe(model, index)} ({activation}) it stays near 0; use the string "
                "'accuracy' (Keras picks binary/categorical/sparse accuracy) or "
                "BinaryAccuracy/CategoricalAccuracy",
            )


# -- LL110 ------------------------------------------------------------------------------------


# A project's own regression errors, by name (``rmse``, ``custom_mse_loss``, ``l1_loss``): Keras's
# names for them (the op catalogue's), their roots, and the L1/L2 distances.
_OWN_REGRESSION_NAMES: Final = frozenset(
    {n.lower() for n in ops.REGRESSION_ERRORS if not names.keras_class_name(n)}
    | {"rmse", "rmsle", "root_mean_squared_error", "l1", "l2"}
)
_OWN_AFFIXES: Final = re.compile(r"^(?:custom|my|masked)_|_loss$")


def _regression(loss: Value | None) -> str | None:
    """How the user wrote a Keras regression loss, or a function of the project named as one
    (``loss=rmse``), or None."""
    if isinstance(loss, Const) and isinstance(loss.value, str):
        return repr(loss.value) if loss.value in ops.REGRESSION_ERRORS else None
    name = loss.target if isinstance(loss, Ref) else loss.func if isinstance(loss, Call) else None
    if name is None:
        return None
    module, _, last = name.rpartition(".")
    if module == "keras.losses":
        return last if last in ops.REGRESSION_ERRORS else None
    if (
        isinstance(loss, Ref)
        and not names.is_keras(name)
        and _OWN_AFFIXES.sub("", last.lower()) in _OWN_REGRESSION_NAMES
    ):
        return last
    return None


# A regression error of ``(y_true, y_pred)`` in the normal form of ``decompose.formula``: the
# absolute or squared difference of the two, in whichever order.
_ERROR_OF_DIFFERENCE: Final = re.compile(r"(?:abs|square)\(sub\([TP],[TP]\)\)")
_INPUTS: Final = re.compile(r"\b[TP]\b")


def _own_regression(project: ProjectIndex, loss: Value | None) -> str | None:
    """The name of a project function given as the loss (``loss=full_loss``) whose value is
    made of the absolute or squared differences of its two arguments and nothing else of them
    (``K.mean(K.sum(K.abs(y_true - y_pred), axis=1))``, a mean, sum or root of them, weighted
    by constants): a regression error, whatever its name."""
    if not isinstance(loss, Ref) or names.is_keras(loss.target):
        return None
    qualname = project._lookup(loss.target)
    if qualname is None or qualname not in project.functions:
        return None
    formula = function_formula(project, qualname)
    if not _ERROR_OF_DIFFERENCE.search(formula):
        return None
    rest = _ERROR_OF_DIFFERENCE.sub("D", formula)
    return None if _INPUTS.search(rest) else loss.target.rpartition(".")[2]


def _accuracy_misfit(
    output: Output,
    loss: Value | None,
    targets: str = "",
    by_loss: bool = False,
    own_regression: str | None = None,
) -> str | None:
    """What ``"accuracy"`` measures on this output, when it is the wrong thing. ``targets``
    (see _targets): ``binary``, the model is trained on 0/1 targets only, so a regression loss
    on a 1-unit output is a least-squares classifier, which BinaryAccuracy at 0.5 measures
    right; ``one-hot``, one class per sample (``to_categorical``), so the argmax that
    CategoricalAccuracy compares is right for sigmoids too, and for a least-squares classifier
    (``mse`` on one-hot targets). ``by_loss``: standalone Keras 2, whose compile picks
    binary accuracy for a binary crossentropy loss whatever the output's shape.
    ``own_regression``: the name of a project loss that computes a regression error (see
    :func:`_own_regression`)."""
    binary = targets == "binary"
    units = output_units(output) or output.min_units
    activation = output.activation
    entropy = crossentropy(loss) if loss is not None else None
    binary_loss = entropy is not None and entropy.family == "binary"
    logits = logit_loss(output, loss)
    if logits is not None and logits.family == "binary":
        if units is not None and units > 1 and not by_loss:
            return (
                f"the loss {logits.label} makes the output multi-label logits, but Keras picks "
                "CategoricalAccuracy for a multi-unit output: it compares the argmax of the "
                f"logits with the argmax of the multi-hot labels; use {BINARY_AT_ZERO}"
            )
        return (
            f"the loss {logits.label} makes the output a logit, but Keras picks "
            "BinaryAccuracy with threshold 0.5 for a 1-unit output, so a logit in (0, 0.5] "
            f"counts as class 0 and the accuracy is biased; use {BINARY_AT_ZERO}"
        )
    if (
        activation == "sigmoid"
        and units is not None
        and units > 1
        and not (entropy is not None and entropy.family in ("categorical", "sparse"))
        and not (by_loss and binary_loss)
        and targets != "one-hot"
    ):
        return (
            f"the output is {units} independent sigmoids (multi-label), but Keras picks "
            "CategoricalAccuracy for a multi-unit output: it checks only whether the argmax of "
            "the predictions hits the first positive label; use keras.metrics.BinaryAccuracy() "
            "(per label, threshold 0.5)"
        )
    regression = _regression(loss) or own_regression
    if (
        regression is not None
        and not (binary and units == 1)
        and not (targets == "one-hot" and units != 1)
        and activation is not None
        and activation
        not in (
            "sigmoid",
            "softmax",
        )
    ):
        picked = "BinaryAccuracy" if units == 1 else "an accuracy"
        return (
            f"the loss {regression} is a regression loss on a {activation} output, but Keras "
            f"picks {picked} by the output's shape: it compares y_true with y_pred thresholded "
            "at 0.5 (or argmaxes), which says nothing about real-valued targets; track 'mae' "
            "or keras.metrics.RootMeanSquaredError() instead"
        )
    return None


# The accuracy of logits. Keras 3.0 to 3.4 reject a threshold outside (0, 1) (keras-team/keras
# #20101, in 3.5.0); tf.keras and Keras 3.5 on take 0.
BINARY_AT_ZERO: Final = (
    "keras.metrics.BinaryAccuracy(threshold=0.0) (Keras 3.0 to 3.4 reject a threshold of 0: "
    "there, end the output in a sigmoid and pass from_logits=False)"
)
# Keras's metrics that threshold the prediction at 0.5 unless told otherwise, with the argument
# that moves the threshold and its position (None: keyword only).
_THRESHOLDED: Final = {
    "keras.metrics.BinaryAccuracy": ("threshold", 2),
    "keras.metrics.binary_accuracy": ("threshold", 2),
    "keras.metrics.Precision": ("thresholds", 0),
    "keras.metrics.Recall": ("thresholds", 0),
    "keras.metrics.AUC": ("from_logits", None),
}
_BINARY_ACCURACIES: Final = frozenset(
    {"keras.metrics.BinaryAccuracy", "keras.metrics.binary_accuracy"}
)


# What a metric that reads probabilities does with a logit.
_WHAT_LOGITS_DO: Final = {
    "keras.metrics.AUC": (
        "AUC's thresholds lie in [0, 1], so every logit below 0 (or above 1) falls beyond the "
        "first (or last) and their order is lost: the area is lower than the model's"
    ),
    "keras.metrics.Precision": (
        "the metric counts a prediction as positive above 0.5, a logit of 0.5 (a probability "
        "of 0.62), not at the decision boundary 0"
    ),
}
_WHAT_LOGITS_DO["keras.metrics.Recall"] = _WHAT_LOGITS_DO["keras.metrics.Precision"]


def thresholded_metric(value: Value) -> str | None:
    """The Keras metric ``value`` denotes (``keras.metrics.BinaryAccuracy``), when it reads the
    prediction as a probability: a threshold of 0.5 (the default, or written so), or ``AUC``'s
    thresholds in [0, 1] without ``from_logits=True``; ``Precision``/``Recall`` with ``top_k``
    rank the predictions instead. None for anything else."""
    if isinstance(value, Const) and isinstance(value.value, str):
        return "keras.metrics.binary_accuracy" if value.value == "binary_accuracy" else None
    if isinstance(value, Ref):
        return value.target if value.target == "keras.metrics.binary_accuracy" else None
    if not isinstance(value, Call) or value.func not in _THRESHOLDED:
        return None
    name, position = _THRESHOLDED[value.func]
    given = value.kwarg(name) if position is None else value.arg(position, name)
    if value.func == "keras.metrics.AUC":
        unset = given is None or (isinstance(given, Const) and given.value is False)
        return value.func if unset else None
    if value.kwarg("top_k") is not None or (position == 0 and len(value.args) > 1):
        return None
    half = isinstance(given, Const) and to_float(given.value) == 0.5
    return value.func if given is None or half else None


def logit_loss(output: Output, loss: Value | None) -> Crossentropy | None:
    """The loss of ``output`` when it makes the output a logit: a crossentropy with
    ``from_logits=True`` on an output with no sigmoid or softmax of its own (one with them is
    LL107's defect)."""
    entropy = crossentropy(loss) if loss is not None else None
    if (
        entropy is None
        or entropy.from_logits is not True
        or output.activation in ("sigmoid", "softmax")
    ):
        return None
    return entropy


def shown_metric(value: Value) -> str:
    """A metric entry as the user wrote it, near enough: ``'binary_accuracy'``,
    ``keras.metrics.BinaryAccuracy()``."""
    if isinstance(value, Const):
        return repr(value.value)
    if isinstance(value, Call) and value.func is not None:
        return f"{value.func}()"
    return value.target if isinstance(value, Ref) else "the metric"


def _metric_of_logits(
    rc: ResolvedCompile,
    model: ModelFact,
    index: int,
    entry: Value,
    losses: dict[int, Value],
    metric: str,
) -> Finding | None:
    """The finding for ``entry``, a metric that reads probabilities (``metric``), where the
    loss of output ``index`` makes it a logit: an accuracy at 0.5 (LL110), or AUC, Precision
    and Recall (LL107, a warning: the metric is misread, the gradient is right)."""
    logits = logit_loss(model.outputs[index], losses.get(index))
    if logits is None:
        return None
    where, advice = describe(model, index), _logit_advice(logits, metric)
    if metric in _BINARY_ACCURACIES:
        return Finding(
            rc.path,
            entry.span,
            f"{shown_metric(entry)} on {where}: the loss {logits.label} makes the output a "
            "logit, but the accuracy thresholds it at 0.5 as if it were a probability, so a "
            f"logit in (0, 0.5] counts as class 0 and the accuracy is biased; use {advice}",
        )
    return Finding(
        rc.path,
        entry.span,
        f"{shown_metric(entry)} on {where}, which the loss {logits.label} makes a logit: "
        f"{_what_logits_do(logits, metric)}; use {advice}",
        Severity.WARNING,
    )


def _what_logits_do(entropy: Crossentropy, metric: str) -> str:
    """What ``metric``, which reads probabilities, does with the logits ``entropy`` trains."""
    if entropy.family in ("categorical", "sparse"):
        return (
            "the metric reads each unit as a probability in [0, 1], but the units are softmax "
            "logits, unbounded and not normalised over the classes"
        )
    return _WHAT_LOGITS_DO[metric]


def _logit_advice(entropy: Crossentropy, metric: str) -> str:
    """What to track on a logit output in place of ``metric``, which reads probabilities."""
    if entropy.family in ("categorical", "sparse"):
        sparse = "Sparse" if entropy.family == "sparse" else ""
        accuracy = f"keras.metrics.{sparse}CategoricalAccuracy() (the argmax of the logits)"
        if metric in _BINARY_ACCURACIES:
            return accuracy
        return f"{accuracy}, or compute the metric on the softmax of the logits"
    if metric == "keras.metrics.AUC":
        return "keras.metrics.AUC(from_logits=True)"
    if metric in ("keras.metrics.Precision", "keras.metrics.Recall"):
        return f"{metric}(thresholds=0.0)"
    return BINARY_AT_ZERO


def check_accuracy_by_shape(context: RuleContext) -> Iterator[Finding]:
    modules = {m.path: m for m in context.project.modules}
    for rc in context.compiles:
        model = rc.model
        module = modules.get(rc.path)
        if model is None or module is None:
            continue
        targets = _targets(module.trainings, rc.site.scope, rc.site.receiver)
        by_loss = not context.keras3(rc.path) and standalone_keras(module)
        losses = dict(assign_losses(rc.site.loss, model, context.project))
        for index, leaf in _metric_entries(context, rc, model):
            metric = thresholded_metric(leaf)
            if metric is not None and metric in _BINARY_ACCURACIES:
                found = _metric_of_logits(rc, model, index, leaf, losses, metric)
                if found is not None:
                    yield found
                continue
            if not (
                isinstance(leaf, Const)
                and isinstance(leaf.value, str)
                and leaf.value.lower() in ("accuracy", "acc")
            ):
                continue
            loss = losses.get(index)
            own = _own_regression(context.project, loss) if _regression(loss) is None else None
            why = _accuracy_misfit(model.outputs[index], loss, targets, by_loss, own)
            if why is not None:
                yield Finding(
                    rc.path, leaf.span, f"{leaf.value!r} on {describe(model, index)}: {why}"
                )


def _targets(trainings: tuple[tuple[str, str, str], ...], scope: str, receiver: str | None) -> str:
    """What every training of the model compiled as ``receiver`` in ``scope`` (``fit``,
    ``train_on_batch``: in the same scope, or for ``self.x`` in a method of the same class)
    trains on by construction: ``binary`` (built from ``ones``/``zeros``: a GAN's valid/fake
    labels, the 0/1 classes of a least-squares classifier), ``one-hot`` (``to_categorical``),
    or empty when they differ or are not known."""
    if receiver is None:
        return ""
    owner = scope.rpartition(".")[0]
    found = {
        kind
        for where, name, kind in trainings
        if name == receiver
        and (where == scope or (receiver.startswith("self.") and where.rpartition(".")[0] == owner))
    }
    return found.pop() if len(found) == 1 else ""


RULES: Final = (
    Rule(
        "LL101",
        "loss-weights-length",
        Severity.ERROR,
        "loss_weights list whose length does not match the losses or outputs",
        check_loss_weights_length,
    ),
    Rule(
        "LL102",
        "loss-weights-keys",
        Severity.ERROR,
        "dict loss_weights with wrong keys, or with a list loss (sorted-key order in Keras 3)",
        check_loss_weights_keys,
    ),
    Rule(
        "LL103",
        "loss-structure",
        Severity.ERROR,
        "loss list or dict that does not match the model's outputs",
        check_loss_structure,
    ),
    Rule(
        "LL104",
        "metrics-structure",
        Severity.ERROR,
        "metrics misaligned with the outputs, not a list/dict, or one instance shared",
        check_metrics_structure,
    ),
    Rule(
        "LL105",
        "loss-weight-value",
        Severity.ERROR,
        "loss weight that is negative, zero, NaN/inf, an int or a NumPy value",
        check_loss_weight_value,
    ),
    Rule(
        "LL106",
        "unknown-identifier",
        Severity.ERROR,
        "loss or metric string that Keras does not know (or that Keras 3 removed)",
        check_unknown_identifier,
    ),
    Rule(
        "LL107",
        "from-logits-mismatch",
        Severity.ERROR,
        "from_logits=True on a softmax/sigmoid output, or probabilities expected from logits",
        check_from_logits,
        ranges=True,
    ),
    Rule(
        "LL108",
        "crossentropy-output-mismatch",
        Severity.ERROR,
        "crossentropy that does not fit the output (BCE on softmax, CCE on 1 unit, 1-unit softmax)",
        check_crossentropy_output,
    ),
    Rule(
        "LL109",
        "accuracy-object",
        Severity.WARNING,
        "keras.metrics.Accuracy() (exact match) on a probability or logit output",
        check_accuracy_object,
    ),
    Rule(
        "LL110",
        "accuracy-by-shape",
        Severity.WARNING,
        "'accuracy' that Keras picks by output shape on logits, multi-label sigmoids, regression;"
        " BinaryAccuracy at 0.5 on logits",
        check_accuracy_by_shape,
    ),
)
