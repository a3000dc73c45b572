"""LL3xx: NaN/Inf-prone arithmetic in loss and metric code, from the value-range analysis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

from losslint.diagnostic import Severity
from losslint.rules.registry import Finding, Rule, RuleContext


def _of_kind(kind: str) -> Callable[[RuleContext], Iterator[Finding]]:
    def check(context: RuleContext) -> Iterator[Finding]:
        for hazard in context.hazards:
            if hazard.kind == kind:
                yield Finding(hazard.path, hazard.span, hazard.message, fix=hazard.fix)

    check.__name__ = f"check_{kind.replace('-', '_')}"
    return check


RULES: Final = (
    Rule(
        "LL301",
        "log-domain",
        Severity.WARNING,
        "log of a value that can be 0 or negative (unclipped y_pred, 1 - p, clip from 0)",
        _of_kind("log"),
        ranges=True,
    ),
    Rule(
        "LL302",
        "log-of-normalizer",
        Severity.WARNING,
        "log(softmax(x)) or log(sigmoid(x)): use log_softmax / log_sigmoid",
        _of_kind("log-normalizer"),
        fixable=True,
        ranges=True,
    ),
    Rule(
        "LL303",
        "sqrt-at-zero",
        Severity.WARNING,
        "sqrt, norm or std of a value that can be 0: infinite gradient (distances, norms)",
        _of_kind("sqrt"),
        ranges=True,
    ),
    Rule(
        "LL304",
        "division-by-zero",
        Severity.WARNING,
        "division by a value that can be 0 (sums, counts, norms, y_true, y_pred)",
        _of_kind("divide"),
        ranges=True,
    ),
    Rule(
        "LL305",
        "exp-overflow",
        Severity.WARNING,
        "exp of an unbounded value inside a ratio or a log: inf/inf = NaN",
        _of_kind("exp"),
        ranges=True,
    ),
    Rule(
        "LL306",
        "fractional-power",
        Severity.WARNING,
        "x ** p with 0 < p < 1, or p < 0, where x can be 0",
        _of_kind("power"),
        ranges=True,
    ),
    Rule(
        "LL307",
        "inverse-trig-domain",
        Severity.WARNING,
        "acos/asin of a value not clipped strictly inside (-1, 1)",
        _of_kind("trig"),
        ranges=True,
    ),
    Rule(
        "LL308",
        "discarded-guard",
        Severity.ERROR,
        "a guard (clip, maximum, ...) whose result is thrown away",
        _of_kind("guard"),
        ranges=True,
    ),
)
