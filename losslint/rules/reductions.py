"""LL2xx: where a loss reduces the batch axis, from the batch-axis analysis."""

from __future__ import annotations

import ast
import dataclasses
import weakref
from collections.abc import Iterator
from typing import Final

from losslint.analysis.batch_axis import PER_IMAGE, Batch, Reduction
from losslint.analysis.decompose import loss_body
from losslint.analysis.references import (
    in_tests,
    loaded_only,
    numpy_references,
    only_thresholded,
    other_framework,
    unreferenced,
)
from losslint.analysis.rewrites import axis_fixes
from losslint.analysis.wiring import assign_losses
from losslint.diagnostic import Severity
from losslint.index import names
from losslint.index.facts import Call, Const, LossDef, Ref, Value, iter_leaves
from losslint.index.folding import unparse
from losslint.index.nodes import subtree
from losslint.index.positions import node_span
from losslint.index.project import exported_loss_class, library_roles, loss_signature
from losslint.rules.registry import Finding, Rule, RuleContext


def _name(definition: LossDef) -> str:
    short = names.defined_name(definition.qualname)
    if definition.kind == "loss_class":
        defined = {
            n.name for n in getattr(definition.node, "body", ()) if isinstance(n, ast.FunctionDef)
        }
        if "call" in defined:
            return f"{short}.call"
        if "__call__" in defined:
            return f"{short}.__call__"
        return f"{short} (the call it inherits)"  # the finding is in a base class's code
    if definition.kind == "closure" and definition.factory:
        return f"{names.defined_name(definition.factory)}.{short}"
    if definition.kind == "method":
        return f"{names.defined_name(definition.qualname.rpartition('.')[0])}.{short}"
    return short


# What a training step of the project's own differentiates (not ``add_loss``, which fit runs).
_OWN_STEPS: Final = frozenset({"minimize", "gradient", "backward", "grad"})


def _losses(context: RuleContext, kind: str = "mean") -> Iterator[tuple[LossDef, Batch]]:
    """Every loss definition (compile, Loss.call, factory closure, or named like one) and what
    it returns, except, for a batch mean (``kind``), functions only ever differentiated
    directly in a training step: those must return a scalar, and a mean is one. A batch sum
    grows with the batch wherever it is differentiated (a custom step's YOLO ``Loss`` whose
    terms each sum the batch), so for ``kind`` "sum" they are read too."""
    analysis = context.batch_axis
    differentiated = analysis.differentiated()
    references = numpy_references(context.project, pure=True)
    # A project that trains only in its own training steps (a tape's gradient, minimize) and
    # compiles nothing: its losses give those steps the scalar they differentiate.
    custom_only = not context.compiles and any(
        not objective.untrained and objective.kind in _OWN_STEPS
        for _, objective in context.project.objectives()
    )
    for definition in context.project.definitions():
        if "loss" not in definition.roles or definition.kind == "metric_class":
            continue
        module = context.project.module_named(definition.module)
        if (
            kind == "mean"
            and not definition.used
            and (definition.qualname in differentiated or custom_only)
            # A public loss of a package's losses module is meant for compile, even where the
            # package's own training step calls it (astroNN's VAE step), and so is a Loss
            # subclass a package exports for Keras (see exported_loss_class).
            and not (module is not None and library_roles(module, definition.qualname))
            and not (module is not None and exported_loss_class(module, definition))
        ):
            continue
        if not definition.used and module is not None and other_framework(module, definition):
            continue  # a PyTorch/JAX loss, for a training loop that expects a scalar
        if (
            not definition.used
            and (definition.kind != "loss_class" or _test_double(definition.qualname))
            and in_tests(definition.path)
        ):
            continue  # a test's fake loss, only named like one: the test checks its value
        if definition.qualname in references:
            continue  # a NumPy reference, run on arrays (a callback's log_loss): not Keras's
        if loaded_only(context.project, definition, predicted=True):
            continue  # a ``custom_objects`` entry of a model only predicted with
        if unreferenced(context.project, definition):
            continue  # a script's dead code: nothing runs it
        if _one_sample(definition.node) or _bag_pooled(context, definition):
            continue  # written for a batch of one: it has no batch axis to reduce
        value = analysis.result(definition)
        if not definition.used and _reduces(value) and _not_a_loss(definition.node):
            continue
        yield definition, value


def _one_sample(node: object) -> bool:
    """Whether a loss reshapes its labels or prediction to a shape written out whose first
    axis is 1 (``tf.reshape(y_true, [1, 96, 96, 1])``): it works for a batch of one sample
    only, and fails on any other, so a reduction over every axis is that sample's value."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    params = {a.arg for a in (*node.args.posonlyargs, *node.args.args)} - {"self"}
    for call in subtree(node):
        if not (isinstance(call, ast.Call) and names.last_name(call.func) == "reshape"):
            continue
        value, shape = names.argument(call, 0, "tensor", "x"), names.argument(call, 1, "shape")
        if not (isinstance(value, ast.Name) and value.id in params):
            continue
        if (
            isinstance(shape, (ast.List, ast.Tuple))
            and len(shape.elts) > 1
            and all(isinstance(e, ast.Constant) and type(e.value) is int for e in shape.elts)
            and shape.elts[0].value == 1  # type: ignore[attr-defined]
        ):
            return True
    return False


def _bag_pooled(context: RuleContext, definition: LossDef) -> bool:
    """Whether every model ``definition`` is compiled on (where the model is known, one at
    least) has the output it trains pooled over the batch axis by a layer of the project: an
    attention-MIL network's ``Last_Sigmoid``, whose ``call`` sums its input over axis 0. Each
    batch is one bag of instances and the model returns one row for it, so a loss that averages
    the labels over axis 0 reads the bag's label: there is no batch of samples to weigh. A loss
    no compile uses (a bag loss the compiled one calls) is read so where every known model the
    project compiles is pooled."""
    trained = _trained_outputs(context)
    if definition.used:
        compiled_as = {definition.qualname, definition.factory} - {None}
        layers = [layer for name in compiled_as for layer in trained.layers.get(name, ())]
    else:
        layers = [layer for found in trained.layers.values() for layer in found]
    return bool(layers) and all(
        layer is not None and trained.pools(context, layer) for layer in layers
    )


@dataclasses.dataclass
class _Trained:
    """For each loss the compiles of known models name (its qualified name; a factory's, for
    the closure it makes; None where it is not a project function), the layer that makes each
    output it trains (None where that is not known); and whether each layer's ``call`` pools
    the batch, once asked."""

    layers: dict[str | None, list[str | None]] = dataclasses.field(default_factory=dict)
    pooled: dict[str, bool] = dataclasses.field(default_factory=dict)

    def pools(self, context: RuleContext, layer: str) -> bool:
        if layer not in self.pooled:
            self.pooled[layer] = _pools_batch(context, layer)
        return self.pooled[layer]


# Per rule context: read by the LL2 rules for every loss (see _bag_pooled).
_TRAINED: Final[weakref.WeakKeyDictionary[RuleContext, _Trained]] = weakref.WeakKeyDictionary()


def _trained_outputs(context: RuleContext) -> _Trained:
    found = _TRAINED.get(context)
    if found is None:
        found = _TRAINED[context] = _Trained()
        for compiled in context.compiles:
            if compiled.model is None:
                continue
            for index, value in assign_losses(compiled.site.loss, compiled.model, context.project):
                target = value.target if isinstance(value, Ref) else None
                if isinstance(value, Call):
                    target = value.func  # a factory's closure: ``get_weighted_loss(weights)``
                name = context.project._lookup(target) if target is not None else None
                found.layers.setdefault(name, []).append(compiled.model.outputs[index].layer)
    return found


def _pools_batch(context: RuleContext, layer: str) -> bool:
    """Whether the ``call`` of project layer class ``layer`` reduces its input over axis 0
    (``K.sum(x, axis=0, keepdims=True)``, a mean or a max)."""
    method = context.project.method(layer, "call")
    found = context.project.functions.get(method) if method is not None else None
    if found is None:
        return False
    node = found[1].node
    params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)][1:2]
    for call in subtree(node):
        if not (isinstance(call, ast.Call) and names.last_name(call.func) in _POOLS):
            continue
        value, axis = names.argument(call, 0, "x", "input_tensor"), names.argument(call, 1, "axis")
        if (
            isinstance(value, ast.Name)
            and value.id in params
            and isinstance(axis, ast.Constant)
            and axis.value == 0
        ):
            return True
    return False


_POOLS: Final = frozenset(
    {"sum", "mean", "max", "reduce_sum", "reduce_mean", "reduce_max", "logsumexp"}
)


def _reduces(value: Batch) -> bool:
    """Whether a loss's value could be reported by a rule of this module (the others never
    read its syntax here)."""
    return value.kind in ("mean", "sum", "scalar") or bool(
        value.coupled or value.terms or value.summed
    )


def _not_a_loss(node: object) -> bool:
    """A count score named like a loss (get_pod_loss's hits / (hits + misses)), or a
    distributed custom loop's objective (its reduction is the point)."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    return only_thresholded(node) or _averages_per_replica(node)


def _averages_per_replica(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a function returns ``tf.nn.compute_average_loss(...)``, which exists to reduce
    per-sample losses to the scalar a distributed custom training step differentiates."""
    return any(
        isinstance(n, ast.Return)
        and isinstance(n.value, ast.Call)
        and names.last_name(n.value.func) == "compute_average_loss"
        for n in subtree(node)
    )


def _test_double(qualname: str) -> bool:
    """A class named as a test double (``DummyLoss``, ``FakeLoss``, ``MockMetricLoss``): its
    ``call`` is an arbitrary op that the test needs, not a loss to train with."""
    name = qualname.rpartition(".")[2].lower()
    return name.startswith(("dummy", "fake", "mock", "stub", "_dummy", "_fake", "_mock"))


def _reduced(context: RuleContext, kind: str) -> dict[str, tuple[LossDef, Reduction]]:
    found: dict[str, tuple[LossDef, Reduction]] = {}
    for definition, value in _losses(context, kind):
        if (
            value.kind == kind
            and value.origin is not None
            and not value.count
            and _trusted(definition, value.origin)
        ):
            found[definition.qualname] = (definition, value.origin)
    return found


def _trusted(definition: LossDef, origin: Reduction) -> bool:
    """Whether a reduction is evidence for this definition: a whole value reduced without
    knowing its layout counts only where Keras calls the function as fn(y_true, y_pred) (a
    compile site, a ``Loss`` class, parameters named so); a DeepChem ``loss_fn(outputs,
    labels, weights)`` or a training loop's ``loss_fn(x, y)`` returns the scalar its caller
    wants."""
    if not origin.shapeless or definition.used or definition.kind == "loss_class":
        return True
    node = definition.node
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    return loss_signature(tuple(a.arg for a in (*node.args.posonlyargs, *node.args.args)))


# -- LL201 ------------------------------------------------------------------------------------


def check_batch_reduced_loss(context: RuleContext) -> Iterator[Finding]:
    found = _reduced(context, "mean")
    reported: set[str] = set()
    for definition, value in _losses(context):
        entry = found.get(definition.qualname)
        origins = [] if entry is None or entry[1].via in found else [entry[1]]
        # The other terms that reduce the batch (``dice_loss(y, p) + bce(y, p)``: the loss
        # object), but those through a helper reported itself (``dice_loss``).
        terms = [t for t in value.terms if t.via not in found] if entry is not None else []
        # A joint loss: every term that averages the batch away, not only the one the value's
        # analysis followed, so that the fix leaves no term batch-reduced.
        for term in [*_reducing_terms(context, definition), *terms]:
            # A helper called twice (the clean and the adversarial term of one loss) is one
            # defect, in the helper: reported at its first call.
            if all(
                o.span != term.span and not (term.via and (o.via, o.how) == (term.via, term.how))
                for o in origins
            ):
                origins.append(term)
        if origins:
            reported.add(definition.qualname)
        # The unsafe fix adds axis=-1 to every reducing term or to none.
        fixable = all(o.fixable for o in origins)
        # Terms on one line (``K_XX.mean() + K_YY.mean() - 2 * K_XY.mean()``) are one site:
        # one finding, at the first, whose fix edits them all.
        lines: dict[tuple[str, int], list[Reduction]] = {}
        for origin in origins:
            lines.setdefault((origin.path, origin.span.line), []).append(origin)
        for origin in origins:
            same_line = lines[(origin.path, origin.span.line)]
            if origin is not same_line[0]:
                continue
            if origin.via:
                advice = f"make {origin.via.rpartition('.')[2]} return one value per sample"
            elif origin.loss_object:
                advice = (
                    'create the loss object with reduction="none", which returns one value '
                    "per sample"
                )
            elif origin.tf1:
                # The module as the call writes it (``tf.losses``, ``tf.compat.v1.losses``):
                # TF 1 before 1.13 has no ``compat.v1``.
                written = origin.how.partition("(")[0].rpartition(".")[0]
                module = written if written.endswith("losses") else "tf.compat.v1.losses"
                advice = (
                    f"pass reduction={module}.Reduction.NONE, which keeps one value per element"
                )
            elif "flattened" in origin.how:
                advice = "reduce each sample separately (axis=[1, 2, ...]) instead of a flat tensor"
            elif origin.per_sample:
                advice = "return the per-sample values and let Keras reduce them"
            elif origin.shapeless:
                advice = (
                    "return one value per sample (reduce over every axis but the first, or "
                    "not at all where the value already has one per sample)"
                )
            elif origin.op == "ratio":
                advice = "compute the sums per sample (axis=-1, or every axis but 0)"
            else:
                advice = "reduce over the non-batch axes only (axis=-1)"
            if len(origins) > 1:  # the same advice for each term, or each its own
                advice += (
                    f" in each of its {len(origins)} batch-reducing terms"
                    if all(not o.via and not o.loss_object and not o.tf1 for o in origins)
                    and len({o.per_sample for o in origins}) == 1
                    else f" (one of its {len(origins)} batch-reducing terms)"
                )
            if entry is not None and entry[1].via in found and origin in terms:
                helper = (entry[1].via or "").rpartition(".")[2]
                advice += f"; its term {helper}(...) reduces the batch too (reported in {helper})"
            yield Finding(
                origin.path,
                origin.span,
                f"{_name(definition)} {_as_loss(context, definition)} but reduces away the batch "
                f"axis with {origin.how}: Keras expects one loss value per sample, so "
                f"sample_weight, class_weight and masks silently become one global scale; {advice}",
                fix=axis_fixes([o.span for o in same_line]) if fixable else None,
            )
    yield from _coupled(context, "mean", found, frozenset(reported))


def _coupled(
    context: RuleContext,
    kind: str,
    found: dict[str, tuple[LossDef, Reduction]],
    reported: frozenset[str] = frozenset(),
) -> Iterator[Finding]:
    """A loss that returns per-sample values plus a term reduced over the batch
    (``-log(jaccard_over_batch) + binary_crossentropy``): the value has a batch axis, but
    that term is one number shared by the batch. Not where the term's helper is itself a loss
    reported for reducing the batch (``bce + dice_loss``: dice_loss is reported)."""
    seen: set[tuple[str, int, int]] = set()
    for definition, value in _losses(context, kind):
        if value.coupled is None or value.coupled[0] != kind or definition.qualname in reported:
            continue  # (a loss reported for reducing the batch has its terms reported there)
        origin = value.coupled[1]
        key = (origin.path, origin.span.line, origin.span.column)
        if origin.via in found or key in seen or not _trusted(definition, origin):
            continue
        seen.add(key)
        if kind == "mean":
            effect = (
                "that term is one value shared by every sample, so sample_weight, "
                "class_weight and masks do not weight it"
            )
        else:
            effect = "that term grows with the batch size, and the gradient with it"
        added = (
            "adds to its other terms (whether they keep the batch axis or not)"
            if value.kind == "unknown"
            else "adds to its per-sample values"
        )
        yield Finding(
            origin.path,
            origin.span,
            f"{_name(definition)} {_as_loss(context, definition)} and {added} a term that "
            f"reduces away the batch axis with {origin.how}: {effect}; compute the term per "
            "sample (over every axis but 0)",
        )


def _as_loss(context: RuleContext, definition: LossDef) -> str:
    if definition.used or definition.kind == "loss_class":
        return "is used as a loss"
    getter = context.project.getters.get(definition.qualname)
    if getter is not None and not definition.roles - {"loss"}:
        return f"is handed out as a loss by {names.defined_name(getter)}"
    return "is a loss by its name or its losses module"


_MEANS: Final = frozenset({"mean", "reduce_mean"})
_SUMS: Final = frozenset({"sum", "reduce_sum"})
_RESHAPES: Final = frozenset({"reshape", "flatten", "batch_flatten", "ravel", "squeeze"})


def _reshapes(node: ast.expr) -> bool:
    return any(
        isinstance(n, ast.Call)
        and ((isinstance(n.func, ast.Attribute) and n.func.attr in _RESHAPES)
             or (isinstance(n.func, ast.Name) and n.func.id in _RESHAPES))
        for n in subtree(node)
    )  # fmt: skip


def _reducing_terms(
    context: RuleContext, definition: LossDef, kind: str = "mean"
) -> list[Reduction]:
    """The inline terms of a joint loss written as a mean (``kind`` "sum": a sum) without
    ``axis`` over y_true and y_pred (``K.mean(K.square(y_true - y_pred))``): each reduces the
    batch away."""
    body = loss_body(context.project, definition)
    # A focal loss's two halves each reduce the batch: both are terms here.
    terms = body.terms(halves=False) if body is not None else None
    if not terms or body is None:
        return []
    accumulated = body.accumulated()
    if sum(t.is_loss or t.written in accumulated for t in terms) < 2:
        return []
    module = body.scope.module
    calls = {(n.lineno, n.col_offset + 1): n for n in subtree(body.node) if isinstance(n, ast.Call)}
    found = []
    wanted = _MEANS if kind == "mean" else _SUMS
    for term in terms:
        call = calls.get((term.line, term.column)) if term.kind == "inline" else None
        if call is None and term.kind == "extra":
            call = accumulated.get(term.written)
        call = _weighted(call, wanted, module.imports) if call is not None else None
        if call is None or len(call.args) != 1 or call.keywords:
            continue
        name = names.qualify(call.func, module.imports) or ""
        if name.rpartition(".")[2] not in wanted or _reshapes(call.args[0]):
            continue  # a flattened tensor: the value's own analysis explains it
        how = f"{unparse(call.func)}(...) without axis (the term {term.written})"
        span = node_span(call, module.lines)
        # ``reduce_mean(tf.image.ssim(a, b, 1.0))``: one value per image already, which
        # ``axis=-1`` would average over the batch all the same.
        argument = call.args[0]
        per_sample = isinstance(argument, ast.Call) and names.last_name(argument.func) in PER_IMAGE
        found.append(
            Reduction(
                definition.path,
                span,
                how,
                kind,
                fixable=kind == "mean" and not per_sample,
                per_sample=per_sample,
            )
        )
    return found


def _weighted(call: ast.Call, wanted: frozenset[str], imports: dict[str, str]) -> ast.Call:
    """The reduction a term weights with ``tf.multiply(weight, tf.reduce_sum(...))`` (a YOLO
    loss's ``lambda_coord``), else the term's own call."""
    name = names.qualify(call.func, imports) or ""
    if name.rpartition(".")[2] == "multiply" and len(call.args) == 2 and not call.keywords:
        reductions = [
            a
            for a in call.args
            if isinstance(a, ast.Call)
            and (names.qualify(a.func, imports) or "").rpartition(".")[2] in wanted
        ]
        if len(reductions) == 1:
            return reductions[0]
    return call


# -- LL202 ------------------------------------------------------------------------------------


_STEPS: Final = {
    "minimize": "minimize",
    "gradient": "tape.gradient / tf.gradients",
    "grad": "jax.grad",
    "backward": ".backward()",
    "compute_loss": "Keras's train_step (compute_loss returns it)",
    "add_loss": "add_loss",
}


def check_batch_summed_loss(context: RuleContext) -> Iterator[Finding]:
    found = _reduced(context, "sum")
    yield from _coupled(context, "sum", found)
    reported: set[tuple[str, int, int]] = set()

    def fresh(origin: Reduction) -> bool:
        """Not reported yet (a helper's reduction reached from two losses is one site)."""
        key = (origin.path, origin.span.line, origin.span.column)
        if key in reported:
            return False
        reported.add(key)
        return True

    for definition, first in found.values():
        if first.via in found:
            continue
        # A joint loss: every term that sums the batch, not only the one the value's analysis
        # followed, so that the fix leaves no term batch-summed.
        origins = [first]
        origins += [t for t in _reducing_terms(context, definition, "sum") if t.span != first.span]
        for origin in filter(fresh, origins):
            yield Finding(
                origin.path,
                origin.span,
                f"{_name(definition)} sums over the batch axis with {origin.how}: the loss and "
                "its gradient grow with the batch size, so batch_size silently changes the "
                "effective learning rate and the balance with other losses; average over the "
                "batch, or return one value per sample and let Keras reduce",
            )
    # A training objective (TF1 minimize, tape.gradient) summed over a batched input.
    for trained in context.batch_axis.trained():
        value, where = trained.value, trained.value.origin
        if value.kind != "sum" or value.count or where is None or where.via in found:
            continue
        if trained.kind == "add_loss" and in_tests(trained.path):
            continue  # a test of add_loss itself adds an arbitrary term (reduce_sum(inputs))
        if not fresh(where):
            continue
        yield Finding(
            where.path,
            where.span,
            f"{trained.text} is trained on with {_STEPS[trained.kind]} but sums over the batch "
            f"axis with {where.how}: the loss and its gradient grow with the batch size, so "
            "each optimizer step does too (doubling batch_size doubles the effective learning "
            "rate); average over the batch instead (tf.reduce_mean / ops.mean)",
        )


# -- LL203 ------------------------------------------------------------------------------------


def _reduction_none(value: Value | None) -> str | None:
    """How a ``reduction=`` value that means "no reduction" is written, else None."""
    if isinstance(value, Const) and (value.value is None or value.value == "none"):
        return repr(value.value)
    # Canonical names keep the last component only: tf.keras.losses.Reduction.NONE is
    # keras.losses.NONE.
    if isinstance(value, Ref) and value.target.rpartition(".")[2] == "NONE":
        return "Reduction.NONE"
    return None


def _is_loss_class(context: RuleContext, func: str | None) -> bool:
    if func is None:
        return False
    module, _, last = func.rpartition(".")
    if module == "keras.losses":
        return names.keras_class_name(last) and last not in ("Loss", "Reduction")
    return context.project.is_loss_class(func)


_CONSEQUENCE: Final = {
    "gradient": "tape.gradient differentiates its sum, so the gradient grows with the batch size",
    "minimize": "minimize differentiates its sum, so the gradient grows with the batch size",
    "grad": "jax.grad raises 'Gradient only defined for scalar-output functions'",
    "backward": "PyTorch raises 'grad can be implicitly created only for scalar outputs'",
    "compute_loss": "compute_loss must return a scalar: Keras's train_step differentiates its "
    "sum on TensorFlow (the gradient grows with the batch size) and raises on JAX",
}


def _own_loss_steps(context: RuleContext) -> bool:
    """Whether a ``train_step`` of the project computes the loss itself from ``self.loss``,
    the compiled losses taken as a container (EfficientDet's ``self.loss['box_loss'](...)``,
    reduced by hand), rather than through ``compiled_loss``/``compute_loss`` or the base step.
    The methods of its class that it calls are read too (an image captioner's
    ``self.calculate_loss(y, p, mask)`` that calls ``self.loss`` and masks it)."""
    functions = context.project.functions
    for qualname, (_, function) in functions.items():
        if not qualname.endswith(".train_step") or qualname.count(".") < 2:
            continue
        owner = qualname.rpartition(".")[0]
        reads = delegates = False
        bodies, seen = [function.node], {qualname}
        while bodies:
            body = bodies.pop()
            for node in subtree(body):
                if (
                    isinstance(node, ast.Call)
                    and (method := names.self_attribute(node.func)) is not None
                    and f"{owner}.{method}" in functions
                    and f"{owner}.{method}" not in seen
                ):
                    seen.add(f"{owner}.{method}")
                    bodies.append(functions[f"{owner}.{method}"][1].node)
            reads, delegates = _reads_loss(body, reads, delegates)
        if reads and not delegates:
            return True
    return False


def _reads_loss(body: ast.AST, reads: bool, delegates: bool) -> tuple[bool, bool]:
    """Whether ``body`` reads ``self.loss``, and whether it hands the loss to Keras
    (``self.compiled_loss``, ``self.compute_loss``, ``super().train_step``), added to what was
    found before."""
    for node in subtree(body):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            reads = reads or node.attr == "loss"
            delegates = delegates or node.attr in ("compiled_loss", "compute_loss")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            base = node.func.value
            delegates = delegates or (
                node.func.attr == "train_step"
                and isinstance(base, ast.Call)
                and isinstance(base.func, ast.Name)
                and base.func.id == "super"
            )
    return reads, delegates


def check_unreduced_loss(context: RuleContext) -> Iterator[Finding]:
    own_steps: bool | None = None  # computed once, only where a compile passes NONE
    for rc in context.compiles:
        if rc.site.loss is None or rc.site.per_example:
            continue  # a DP-SGD optimizer needs each example's loss
        if rc.site.idle:
            continue  # never trained or evaluated with this loss
        for leaf in iter_leaves(rc.site.loss):
            if not isinstance(leaf, Call) or not _is_loss_class(context, leaf.func):
                continue
            reduction = leaf.kwarg("reduction")
            written = _reduction_none(reduction)
            if reduction is None or written is None:
                continue
            if rc.model is None:  # a subclassed model: its own train_step may take the losses
                own_steps = _own_loss_steps(context) if own_steps is None else own_steps
                if own_steps:
                    continue
            label = (leaf.func or "").rpartition(".")[2]
            what = (
                "Keras 3 then trains on the gradient of their sum on TensorFlow (scaled by the "
                "batch size) while logging the mean, and raises on JAX and PyTorch"
                if context.keras3(rc.path)
                else "tf.keras then trains on the gradient of their sum (scaled by the batch "
                "size) while logging the mean"
            )
            yield Finding(
                rc.path,
                reduction.span,
                f"{label}(reduction={written}) passed to compile returns one value per sample: "
                f"{what}; leave reduction at its default",
            )
    for trained in context.batch_axis.trained():
        if trained.value.kind not in ("kept", "flat"):
            continue
        yield Finding(
            trained.path,
            trained.span,
            f"{trained.text} is one loss value per sample, not a scalar: "
            f"{_CONSEQUENCE[trained.kind]}; reduce it first (ops.mean(...), or "
            "tf.nn.compute_average_loss(...) under a distribution strategy)",
        )


RULES: Final = (
    Rule(
        "LL201",
        "batch-reduced-loss",
        Severity.WARNING,
        "a loss that averages over the batch axis: sample_weight and class_weight stop working",
        check_batch_reduced_loss,
        fixable=True,
    ),
    Rule(
        "LL202",
        "batch-summed-loss",
        Severity.WARNING,
        "a loss that sums over the batch axis: it and its gradient scale with the batch size",
        check_batch_summed_loss,
    ),
    Rule(
        "LL203",
        "unreduced-loss",
        Severity.ERROR,
        "a per-sample loss where a scalar is needed (reduction=None in compile, tape.gradient)",
        check_unreduced_loss,
    ),
)
