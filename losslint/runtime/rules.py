"""The RT rules: catalogue metadata only. They have no static check; the runtime stage
(:mod:`losslint.runtime.driver`) produces their diagnostics when ``--runtime`` is given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from losslint.diagnostic import Severity


@dataclass(frozen=True, slots=True)
class RuntimeRule:
    code: str
    name: str
    severity: Severity
    summary: str
    fixable: bool = False


RT100: Final = RuntimeRule(
    "RT100",
    "not-run",
    Severity.INFO,
    "a loss found but not run, and why (needs an argument, a layer, a symbolic tensor)",
)
RT101: Final = RuntimeRule(
    "RT101",
    "loss-raises",
    Severity.ERROR,
    "the loss raised, hung or crashed on well-formed sample tensors (or its module on import)",
)
RT102: Final = RuntimeRule(
    "RT102",
    "per-sample-shape",
    Severity.WARNING,
    "a compile loss that does not return one value per sample, or a metric whose result() is "
    "not a scalar",
)
RT103: Final = RuntimeRule(
    "RT103",
    "non-finite-value",
    Severity.ERROR,
    "NaN/inf loss or metric value at boundary inputs (probabilities 0 and 1, logits ±100, "
    "y_true == y_pred)",
)
RT104: Final = RuntimeRule(
    "RT104",
    "non-finite-gradient",
    Severity.ERROR,
    "NaN/inf gradient with respect to y_pred at the same boundary inputs",
)
RT105: Final = RuntimeRule(
    "RT105",
    "batch-sum-scaling",
    Severity.WARNING,
    "the loss of a batch repeated twice is twice the loss of the batch: it sums over the batch",
)
RT106: Final = RuntimeRule(
    "RT106",
    "decomposition-mismatch",
    Severity.WARNING,
    "a joint loss differs from the weighted sum of the components it is written as (both shown)",
)

RT107: Final = RuntimeRule(
    "RT107",
    "sample-coupling",
    Severity.WARNING,
    "changing one sample changes another sample's loss: the loss mixes the batch",
)

RUNTIME_RULES: Final = (RT100, RT101, RT102, RT103, RT104, RT105, RT106, RT107)
BY_CODE: Final = {rule.code: rule for rule in RUNTIME_RULES}
