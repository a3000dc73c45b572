"""LL5xx: metrics that Keras averages batch by batch, and losses whose parts are not logged."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from losslint.diagnostic import Severity
from losslint.index.facts import Call, Const, LossDef, Ref, Value, iter_leaves
from losslint.index.project import ResolvedCompile
from losslint.rules.registry import Finding, Rule, RuleContext

# -- LL501 ------------------------------------------------------------------------------------


def check_batchwise_ratio_metric(context: RuleContext) -> Iterator[Finding]:
    analysis = context.batch_axis
    for definition in context.project.definitions():
        if (
            definition.kind not in ("function", "closure", "method")
            or "metric" not in definition.roles
        ):
            continue
        if "loss" in definition.roles and not definition.used:
            continue  # named like both (dice_coef_loss): a loss
        value = analysis.result(definition)
        if value.kind != "mean" or not value.ratio:
            continue
        where = ""
        if value.origin is not None and value.origin.path == definition.path:
            where = f" (line {value.origin.span.line})"
        name = definition.qualname.rpartition(".")[2]
        yield Finding(
            definition.path,
            definition.span,
            f"{name} is a stateless metric that returns a ratio of sums over the whole batch"
            f"{where}: Keras averages it batch by batch, which is not the ratio over the epoch "
            "(biased by batch composition; batches without positives count as 0); use "
            "keras.metrics.Precision/Recall/F1Score/IoU/R2Score or a stateful keras.metrics.Metric",
        )


# -- LL502 ------------------------------------------------------------------------------------

_ALIASES: Final = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "bce": "binary_crossentropy",
    "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "k_l_divergence": "kl_divergence",
    "logcosh": "log_cosh",
    "log_cosh_error": "log_cosh",
    "huber_loss": "huber",
    "cosine_similarity": "cosine_similarity",
    "categorical_crossentropy": "categorical_crossentropy",
}
_CAMEL: Final = re.compile(r"(?<!^)(?=[A-Z])")


def _key(name: str) -> str:
    """One key for the spellings of a Keras loss: ``mse``, ``MeanSquaredError``, functions."""
    last = name.rpartition(".")[2]
    if not name.startswith("keras.") and "." in name:
        return name  # a project function: its qualified name
    snake = _CAMEL.sub("_", last).lower() if last[:1].isupper() else last.lower()
    return _ALIASES.get(snake, snake)


def _metric_keys(context: RuleContext, rc: ResolvedCompile) -> set[str]:
    keys: set[str] = set()
    for value in (rc.site.metrics, rc.site.weighted_metrics):
        if value is None:
            continue
        for leaf in iter_leaves(value):
            if isinstance(leaf, Const) and isinstance(leaf.value, str):
                keys.add(_key(leaf.value))
            elif isinstance(leaf, Ref):
                keys.add(_key(context.project._lookup(leaf.target) or leaf.target))
            elif isinstance(leaf, Call) and leaf.func:
                keys.add(_key(context.project._lookup(leaf.func) or leaf.func))
    return keys


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


def _is_loss_term(context: RuleContext, term: str, definitions: dict[str, LossDef]) -> bool:
    if term.startswith(("keras.losses.", "keras.metrics.")):
        return True
    definition = definitions.get(term)
    return definition is not None and bool(definition.roles)


def check_untracked_loss_components(context: RuleContext) -> Iterator[Finding]:
    analysis = context.batch_axis
    definitions = {d.qualname: d for d in context.project.definitions()}
    for rc in context.compiles:
        if rc.site.loss is None:
            continue
        for leaf in iter_leaves(rc.site.loss):
            definition = _compiled(context, leaf)
            if definition is None:
                continue
            terms = [
                t
                for t in analysis.result(definition).terms
                if _is_loss_term(context, t, definitions)
            ]
            components = list(dict.fromkeys(terms))
            if len(components) < 2:
                continue
            tracked = _metric_keys(context, rc)
            untracked = [c for c in components if _key(c) not in tracked]
            if not untracked:
                continue
            shown = ", ".join(c.rpartition(".")[2] for c in components)
            missing = ", ".join(c.rpartition(".")[2] for c in untracked)
            name = definition.qualname.rpartition(".")[2]
            yield Finding(
                rc.path,
                leaf.span,
                f"the loss {name} adds up {len(components)} terms ({shown}) but metrics do not "
                f"track {missing}: the training log shows only their weighted total, so you "
                "cannot see which term moves; add the components to metrics=[...]",
            )


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
)
