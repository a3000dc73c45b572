"""LL5xx: metrics that Keras averages batch by batch, joint losses whose parts are not logged
or not used."""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from typing import Final

from losslint.analysis.decompose import (
    JSON,
    Term,
    Tracked,
    forwarded,
    function_formula,
    key,
    loss_body,
    name_key,
    tracked_metric,
    unparse,
)
from losslint.analysis.references import (
    evaluated_by_project,
    loaded_only,
    numpy_references,
    only_called,
    unreferenced,
)
from losslint.diagnostic import Severity
from losslint.index import names
from losslint.index.apis import is_keras_source
from losslint.index.facts import (
    Call,
    Const,
    LossDef,
    Mapping,
    Ref,
    Seq,
    Unknown,
    Value,
    iter_leaves,
)
from losslint.index.nodes import subtree
from losslint.index.positions import node_span
from losslint.index.project import ProjectIndex, local_binding
from losslint.notebook import line_label
from losslint.rules.registry import Finding, Rule, RuleContext

# -- LL501 ------------------------------------------------------------------------------------


def check_batchwise_ratio_metric(context: RuleContext) -> Iterator[Finding]:
    analysis = context.batch_axis
    # A NumPy evaluation helper (``iou_np``) scores whole arrays after predict(): Keras never
    # averages it batch by batch.
    references = numpy_references(context.project, pure=True)

    @functools.cache
    def loss_helpers() -> frozenset[str]:
        """The names the project's losses call, where the project compiles a model (a library
        that compiles nothing hands its metrics to its users)."""
        if not context.compiles:
            return frozenset()
        return frozenset(
            name
            for d in context.project.definitions()
            if "loss" in d.roles  # (one named like both, ``dice_coef_loss``, is a loss)
            for name in _called_names(d.node)
        )

    for definition in context.project.definitions():
        if (
            definition.kind not in ("function", "closure", "method")
            or "metric" not in definition.roles
            or definition.qualname in references
        ):
            continue
        if "loss" in definition.roles and not definition.used:
            continue  # named like both (dice_coef_loss): a loss
        if not definition.used and context.project.needs_more_arguments(definition.qualname):
            continue
        if evaluated_by_project(context.project, definition):
            continue  # the project scores what it passes: Keras never averages it
        if loaded_only(context.project, definition):
            continue  # given to load_model to predict with: Keras never computes it
        if unreferenced(context.project, definition):
            continue  # a script's dead code: nothing runs it
        if (
            not definition.used
            and names.defined_name(definition.qualname) in loss_helpers()
            and "metric" not in definition.module.rpartition(".")[2].lower()
            and only_called(context.project, definition)
        ):
            # ``dice_coef`` of a project that compiles models, passed to none as a metric nor
            # handed on or spelled anywhere (a history key), that its ``dice_loss`` calls, in
            # no metrics module: a helper of the loss, which Keras never averages.
            continue
        score = _scored_per_batch(context, definition)
        if score is not None:
            name = names.defined_name(definition.qualname)
            instead = _SCORE_METRICS.get(score, _CALLBACK)
            yield Finding(
                definition.path,
                definition.span,
                f"{name} is a stateless metric that computes {score} of each batch through "
                "tf.py_function: Keras averages the batch values over the epoch, which is not "
                f"the {score} of the epoch (a rank, correlation or threshold score does not "
                f"average, and a batch of one class or of equal values has none); use {instead}",
            )
            continue
        value = analysis.result(definition)
        if value.kind != "mean" or not value.ratio:
            continue
        where = ""
        if value.origin is not None and value.origin.path == definition.path:
            module = context.project.module_named(definition.module)
            lines = module.lines if module else []
            where = f" ({line_label(definition.path, lines, value.origin.span.line)})"
        name = names.defined_name(definition.qualname)
        op = value.origin.op if value.origin is not None else ""
        of = {"spread ratio": "spreads (variances)", "mean ratio": "means"}.get(op, "sums")
        yield Finding(
            definition.path,
            definition.span,
            f"{name} is a stateless metric that returns a ratio of {of} over the whole batch"
            f"{where}: Keras averages it batch by batch, which is not the ratio over the epoch "
            "(biased by batch composition; batches without positives count as 0); use "
            "keras.metrics.Precision/Recall/F1Score/IoU/R2Score or a stateful keras.metrics.Metric",
        )


def _scored_per_batch(context: RuleContext, definition: LossDef) -> str | None:
    """The dataset-level score of scikit-learn or SciPy (``roc_auc_score``, ``spearmanr``) that
    a metric returns through ``tf.py_function``, ``tf.numpy_function`` or TF 1's ``tf.py_func``
    on the batch it is given (directly, or through a name bound to that call); None otherwise."""
    node = definition.node
    module = context.project.module_named(definition.module)
    if module is None or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    for returned in subtree(node):
        if not isinstance(returned, ast.Return) or returned.value is None:
            continue
        value: ast.expr | None = returned.value
        if isinstance(value, ast.Name):
            value = local_binding(node, value.id)[1]
        if not (
            isinstance(value, ast.Call)
            and names.last_name(value.func) in ("py_function", "numpy_function", "py_func")
        ):
            continue
        function = names.argument(value, 0, "func")
        target = names.qualify(function, module.imports) if function is not None else None
        score = (target or "").rpartition(".")[2]
        if (target or "").partition(".")[0] in ("sklearn", "scipy") and score in _DATASET_SCORES:
            return score
    return None


# Scores of a whole dataset that a batch's value does not average into, and the stateful Keras
# metric that computes each over the epoch.
_DATASET_SCORES: Final = frozenset(
    {
        "roc_auc_score",
        "average_precision_score",
        "f1_score",
        "fbeta_score",
        "precision_score",
        "recall_score",
        "r2_score",
        "matthews_corrcoef",
        "cohen_kappa_score",
        "jaccard_score",
        "spearmanr",
        "pearsonr",
        "kendalltau",
    }
)
_SCORE_METRICS: Final = {
    "roc_auc_score": "keras.metrics.AUC()",
    "average_precision_score": 'keras.metrics.AUC(curve="PR")',
    "f1_score": "keras.metrics.F1Score()",
    "fbeta_score": "keras.metrics.FBetaScore()",
    "precision_score": "keras.metrics.Precision()",
    "recall_score": "keras.metrics.Recall()",
    "r2_score": "keras.metrics.R2Score()",
    "jaccard_score": "keras.metrics.BinaryIoU(target_class_ids=[1])",
}
_CALLBACK: Final = (
    "a stateful keras.metrics.Metric, or a callback that scores the whole validation "
    "predictions once per epoch"
)


# -- LL502 ------------------------------------------------------------------------------------

# The metric to add for a term that computes a Keras built-in.
_SUGGESTED: Final = {
    "mean_squared_error": '"mse"',
    "mean_absolute_error": '"mae"',
    "root_mean_squared_error": "keras.metrics.RootMeanSquaredError()",
    "binary_crossentropy": '"binary_crossentropy"',
    "categorical_crossentropy": '"categorical_crossentropy"',
    "huber": "keras.losses.Huber()",
    "log_cosh": "keras.losses.LogCosh()",
}


def _choices(loss: Value) -> Iterator[tuple[Value, Value]]:
    """Each entry of a compile's ``loss`` with the value it may hold: itself, or each loss a
    name bound in branches may be (``if cfg.loss == "ssim_l1_loss": loss = ssim_l1_loss``
    and ``else: loss = "mse"``, then ``compile(loss=loss)``)."""
    for leaf in iter_leaves(loss):
        if isinstance(leaf, Unknown) and leaf.candidates:
            for candidate in leaf.candidates:
                yield leaf, candidate
        else:
            yield leaf, leaf


def _compiled(context: RuleContext, leaf: Value) -> LossDef | None:
    """The project definition a compile loss entry runs."""
    target = leaf.target if isinstance(leaf, Ref) else leaf.func if isinstance(leaf, Call) else None
    found = context.project._lookup(target) if target else None
    if found is None:
        return None
    if found in context.project.functions and isinstance(leaf, Call):
        found = context.project.functions[found][1].returns_function or ""
    for definition in context.project.definitions():
        if definition.qualname == found and definition.kind != "metric_class":
            return definition
    return None


def _arguments(leaf: Value) -> tuple[tuple[JSON, ...], dict[str, JSON]]:
    """A factory's or class's constant arguments at the compile site (others: defaults); a
    bound method's: its object's constructor arguments (``Cls(0.5).loss``)."""
    if isinstance(leaf, Ref) and leaf.instance is not None:
        leaf = leaf.instance
    if not isinstance(leaf, Call):
        return (), {}
    args: list[JSON] = []
    for value in leaf.args:
        if not (isinstance(value, Const) and isinstance(value.value, (int, float, str, bool))):
            break
        args.append(value.value)
    kwargs: dict[str, JSON] = {
        k: v.value
        for k, v in leaf.kwargs
        if isinstance(v, Const) and isinstance(v.value, (int, float, str, bool))
    }
    return tuple(args), kwargs


def _components(terms: list[Term], captured: frozenset[str] = frozenset()) -> list[Term]:
    """The distinct loss terms (``mae + 10 * mae`` has one; a loss called on two channels,
    ``dice(y_true[..., 0], y_pred[..., 0]) + dice(y_true[..., 1], y_pred[..., 1])``, two),
    and the terms computed from the model's graph tensors that the loss reads (``captured``:
    a VAE's KL term of the encoder's ``z_mean`` and ``z_log_var``)."""
    seen: dict[tuple[str, int, int], Term] = {}
    for term in terms:
        if term.weight == 0:
            continue  # (a term weighted 0, ``w1 = 0`` for SSIM, adds nothing to track)
        if not term.is_loss and not term.reads & captured:
            continue  # a constant, a penalty on y_pred alone
        identity = term.target.name if term.target else term.formula or term.written
        # A project loss on other arguments (a channel) is a term of its own; Keras's own
        # functions keep the name as identity (when the Keras sources themselves are checked,
        # ``ops.mean`` is a project function, not a loss).
        own = term.target is not None and not is_keras_source(term.target.name.rpartition(".")[0])
        where = (term.line, term.column) if own and term.order == "other" else (0, 0)
        seen.setdefault((identity, *where), term)
    return list(seen.values())


# A formula that is a constant minus one value, or its negation (``1 - dice``, ``-ssim``).
_COMPLEMENT: Final = re.compile(r"sub\([-+0-9.e]+,(?P<inner>.+)\)|neg\((?P<negated>.+)\)")
_CALLED: Final = re.compile(r"(?P<name>[A-Za-z_][\w.]*)\(T,P(?P<given>(?:,\w+=[-+0-9.e]+)*)\)")


def _follows(project: ProjectIndex, term: Term, tracked: list[Tracked]) -> bool:
    """Whether a tracked metric gives the term's value: ``dice_loss`` returns
    ``1 - dice_coeff(y_true, y_pred)`` and ``dice_coeff`` is tracked, so the log shows it.
    Here and not in :meth:`Tracked.matches`: the runtime pairs a term with a metric whose
    value must equal it, and ``dice_coeff`` is not ``dice_loss``'s value, only its mirror."""
    if term.target is None or term.order != "plain":
        return False
    complement = _COMPLEMENT.fullmatch(function_formula(project, term.target.name))
    if complement is None:
        return False
    inner = complement.group("inner") or complement.group("negated")
    called = _CALLED.fullmatch(inner)
    if called is not None and not _at_defaults(project, term.target.name, called):
        called = None  # ``dice_coef(T, P, smooth=100.0)``: not what the metric computes
    names = {key(called.group("name")), name_key(called.group("name"))} if called else set()
    return any((m.formula and m.formula == inner) or (names & m.keys) for m in tracked)


def _at_defaults(project: ProjectIndex, caller: str, called: re.Match[str]) -> bool:
    """Whether the keyword arguments of a call in a formula (``dice_coef(T,P,a=1.0,b=1.0)``
    in ``dice_coef_loss``) are the called function's own defaults, as a metric compiled by
    its name computes it."""
    given = dict(part.split("=") for part in called.group("given").split(",") if part)
    if not given:
        return True
    module = caller.rpartition(".")[0]
    found = project.functions.get(f"{module}.{called.group('name')}")
    if found is None:
        return False
    arguments = found[1].node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults = dict(zip([a.arg for a in positional[::-1]], arguments.defaults[::-1], strict=False))
    defaults.update(
        (a.arg, d)
        for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        if d is not None
    )
    for name, text in given.items():
        default = defaults.get(name)
        if not (isinstance(default, ast.Constant) and isinstance(default.value, (int, float))):
            return False
        if float(default.value) != float(text):
            return False
    return True


def _suggestion(term: Term) -> str:
    if term.call:  # ``weighted_bce(y_true, y_pred, weight)``: not a metric by itself
        return f"<a function (y_true, y_pred) that {term.call}>"
    configured = _configured(term)
    if configured:
        return configured
    # By what it computes: ``mse_loss = tf.losses.mean_squared_error(labels=cont_true,
    # predictions=expected)`` of values the loss derives is no "mse" of its inputs.
    for found in sorted(term.identities(named=False)):
        if found in _SUGGESTED:
            return _SUGGESTED[found]
    if term.target is not None and term.target.kind == "object":
        short = names.defined_name(term.target.name)
        if term.target.name.startswith("keras."):
            return f'"{short}"'
        return short
    return f"<a function (y_true, y_pred) returning {term.written}>"


# Keras metric classes of a loss's name and the loss settings each takes.
_METRIC_SETTINGS: Final = {
    "BinaryCrossentropy": frozenset({"from_logits", "label_smoothing"}),
    "CategoricalCrossentropy": frozenset({"from_logits", "label_smoothing", "axis"}),
    "SparseCategoricalCrossentropy": frozenset({"from_logits", "ignore_class", "axis"}),
}
_NOT_VALUE: Final = frozenset({"reduction", "name", "dtype"})  # settings that keep the value


def _configured(term: Term) -> str | None:
    """A Keras loss object built with settings (``BinaryCrossentropy(from_logits=True)``):
    the metric (or loss object) with the same settings, whose value is the term's; the metric
    of its name alone would compute another (the sigmoid of probabilities)."""
    target = term.target
    if target is None or target.kind not in ("call", "object") or target.args:
        return None
    settings = [(k, v) for k, v in target.kwargs if k not in _NOT_VALUE]
    if not settings or not target.name.startswith("keras.losses."):
        return None
    cls = target.name.rpartition(".")[2]
    given = ", ".join(f"{k}={v!r}" for k, v in settings)
    if {k for k, _ in settings} <= _METRIC_SETTINGS.get(cls, frozenset()):
        return f"keras.metrics.{cls}({given})"
    return f"keras.losses.{cls}({given})"


def _label(term: Term) -> str:
    """How a term is named: its callee's last name, or an inline term's expression (which may
    end in "...", not to be cut at a dot)."""
    return term.written.rpartition(".")[2] if term.target else term.written


def _shown(term: Term) -> str:
    label = _label(term)
    weight = term.weight / term.named_weight if term.named_weight else term.weight
    return label if weight == 1.0 else f"{weight:g}*{label}"


def _called_names(node: object) -> Iterator[str]:
    """The names a function's body calls directly (``dice_coef(...)``, ``self.dice(...)``)."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return
    for child in subtree(node):
        if isinstance(child, ast.Call):
            func = child.func
            if isinstance(func, ast.Name):
                yield func.id
            elif (attribute := names.self_attribute(func)) is not None:
                yield attribute


def check_untracked_loss_components(context: RuleContext) -> Iterator[Finding]:
    project = context.project
    for rc in context.compiles:
        if rc.site.loss is None or rc.site.idle:
            continue  # (a model only predicted with after its compile logs no loss)
        entries = [
            leaf
            for value in (rc.site.metrics, rc.site.weighted_metrics)
            if value is not None
            for leaf in iter_leaves(value)
        ]
        tracked = [t for t in (tracked_metric(project, leaf) for leaf in entries) if t]
        reported: set[str] = set()  # one finding per loss per compile site, not per output
        for leaf, choice in _choices(rc.site.loss):
            definition = _compiled(context, choice)
            if definition is None or definition.qualname in reported:
                continue
            through = forwarded(project, definition)
            body = (
                loss_body(project, through[0], given=through[1])
                if through is not None
                else loss_body(project, definition, *_arguments(choice))
            )
            terms = body.terms(reductions=True) if body is not None else None
            captured: frozenset[str] = frozenset()
            if terms and any(not t.is_loss for t in terms):  # only such a term may read them
                read = project.captured_tensors(through[0] if through else definition)
                captured = frozenset(name for name, *_ in read)
            components = _components(terms or [], captured)
            if len(components) < 2:
                continue
            untracked = [
                t
                for t in components
                if not any(m.matches(t) for m in tracked) and not _follows(project, t, tracked)
            ]
            if not untracked:
                continue
            written = [t for t in terms or [] if t.is_loss or t in components]
            shown = " + ".join(_shown(t) for t in written)
            missing = ", ".join(dict.fromkeys(_label(t) for t in untracked))
            suggested = list(dict.fromkeys(_suggestion(t) for t in untracked))
            if _per_output(rc.site.metrics) or _per_output(rc.site.weighted_metrics):
                # ``metrics=[[iou, "mse"], [acc]]``: one list per output, which a flat list
                # written back would break; the new entries go to this loss's output.
                advice = f"add {', '.join(suggested)} to the metrics of this loss's output"
            else:
                add = [*_written_metrics(entries), *suggested]
                advice = f"compile with metrics=[{', '.join(add)}]"
            name = names.defined_name((through[0] if through else definition).qualname)
            named = "the loss function loss" if name == "loss" else f"the loss {name}"
            reported.add(definition.qualname)
            yield Finding(
                rc.path,
                leaf.span,
                # As many terms as it lists: the same loss on other outputs is one component
                # (``mse`` of four heads) but four terms to read.
                f"{named} adds up {len(written)} terms ({shown}) but metrics do not "
                f"track {missing}: the training log shows only their weighted total, so you "
                f"cannot see which term moves; {advice}",
            )


def _per_output(metrics: Value | None) -> bool:
    """Whether ``metrics`` is given per output: a dict, or a list holding lists."""
    if isinstance(metrics, Mapping):
        return True
    return isinstance(metrics, Seq) and any(isinstance(item, Seq) for item in metrics.items)


def _written_metrics(entries: list[Value]) -> list[str]:
    out = []
    for leaf in entries:
        if isinstance(leaf, Const) and isinstance(leaf.value, str):
            out.append(f'"{leaf.value}"')
        elif isinstance(leaf, Ref):
            out.append(names.defined_name(leaf.target))
        elif isinstance(leaf, Call) and leaf.func:
            given = "..." if leaf.args or leaf.kwargs else ""
            out.append(f"{names.defined_name(leaf.func)}({given})")
        elif isinstance(leaf, Unknown) and leaf.param is not None:
            out.append(leaf.param.name)  # ``metrics=[iou, metrics]``: what the caller gives
    return out


# -- LL503 ------------------------------------------------------------------------------------


def check_unused_loss_term(context: RuleContext) -> Iterator[Finding]:
    for hazard in context.hazards:  # ``tf.add(loss, penalty)`` as a statement
        if hazard.kind == "term":
            yield Finding(hazard.path, hazard.span, hazard.message)
    project = context.project
    for definition in project.definitions():
        if "loss" not in definition.roles or definition.kind == "metric_class":
            continue
        body = loss_body(project, definition)
        if body is None:
            continue
        returned = body.node.body[-1]
        used = ""
        if isinstance(returned, ast.Return) and returned.value is not None:
            used = unparse(returned.value, 60)
        name = names.defined_name(definition.qualname)
        for variable, _, statement, count in body.unused():
            span = node_span(statement.targets[0], body.scope.module.lines)
            if count > 1:  # a total the loss computes and then does not return
                message = (
                    f"{name} adds up {count} loss terms in {variable} but never uses it: it "
                    f"returns {used} instead, so the model is not trained on the total; return "
                    f"{variable}, or delete it"
                )
            else:
                message = (
                    f"{name} computes the loss term {variable} but never uses it: the value it "
                    f"returns ({used}) leaves {variable} out, so the model is not trained on it "
                    f"(a copy-paste of another term?); add it to the returned sum or delete it"
                )
            yield Finding(definition.path, span, message)


RULES: Final = (
    Rule(
        "LL501",
        "batchwise-ratio-metric",
        Severity.WARNING,
        "a stateless metric that returns a ratio of batch sums (precision, recall, F1, IoU)",
        check_batchwise_ratio_metric,
    ),
    Rule(
        "LL502",
        "untracked-loss-components",
        Severity.INFO,
        "a compiled loss adding up several losses whose terms are not all tracked in metrics",
        check_untracked_loss_components,
    ),
    Rule(
        "LL503",
        "unused-loss-term",
        Severity.WARNING,
        "a loss body computes a loss term that never reaches the value it returns",
        check_unused_loss_term,
        ranges=True,
    ),
)
