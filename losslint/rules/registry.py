"""The rule type, the context rules read, and the catalogue of every rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Protocol

from losslint.analysis.batch_axis import BatchAxis
from losslint.analysis.ranges import Hazard, find_hazards
from losslint.diagnostic import Diagnostic, Fix, Severity, Span
from losslint.index.apis import keras_flavour
from losslint.index.project import ProjectIndex, ResolvedCompile


class RuleContext:
    """What every rule reads: the project index, the target Keras version, shared results."""

    def __init__(
        self,
        project: ProjectIndex,
        target_keras: int = 3,
        targets: Mapping[str, int] | None = None,
        graph: Mapping[str, str] | None = None,
    ) -> None:
        self.project = project
        self.target_keras = target_keras
        self.targets = targets or {}  # by path, where a file's own sub-project pins another Keras
        # By path, where its sub-project pins TensorFlow 1's Keras: the pin.
        self._graph_pinned = graph or {}

    def keras3(self, path: str) -> bool:
        """Whether the code of ``path`` runs on Keras 3: the project's target (or its own
        sub-project's), except in a module written against ``tf_keras`` alone, or one of
        tf_keras's own, or a module of TensorFlow 1 code, which is Keras 2 whatever the target
        (a Keras 3 version error there is not one)."""
        return (
            self.targets.get(path, self.target_keras) == 3
            and path not in self._keras2_paths
            and path not in self._tensorflow_1
        )

    def graph_mode(self, path: str) -> str | None:
        """Why the code of ``path`` runs in TensorFlow 1's graph mode, where a loss is
        evaluated in the model's own graph (so reading a symbolic tensor of it works), else
        None: its sub-project pins TensorFlow 1 or a Keras before 2.3, or it is TensorFlow 1
        code, or it turns eager execution off (``tf.compat.v1.disable_eager_execution()``)."""
        if path in self._graph_pinned:
            return self._graph_pinned[path]
        if path in self._tensorflow_1:
            return "it is TensorFlow 1 code"
        line = self._eager_off.get(path)
        return f"line {line} turns eager execution off" if line else None

    @cached_property
    def _eager_off(self) -> dict[str, int]:
        return {m.path: m.eager_off for m in self.project.modules if m.eager_off}

    @cached_property
    def _tensorflow_1(self) -> frozenset[str]:
        """The modules of TensorFlow 1 code (``tf.Session()``, ``tf.set_random_seed``): they
        run on Keras 2 whatever the target, as Keras 3 needs TensorFlow 2.16 or another
        backend."""
        return frozenset(m.path for m in self.project.modules if m.tensorflow1)

    @cached_property
    def _keras2_paths(self) -> frozenset[str]:
        return frozenset(
            m.path
            for m in self.project.modules
            if keras_flavour(m) == "keras2" or m.module.partition(".")[0] == "tf_keras"
        )

    @property
    def compiles(self) -> tuple[ResolvedCompile, ...]:
        return self.project.compiles()

    @cached_property
    def hazards(self) -> list[Hazard]:
        """The value-range analysis of all loss code, shared by the LL3xx rules."""
        return find_hazards(self.project)

    @cached_property
    def batch_axis(self) -> BatchAxis:
        """The batch-axis analysis of all loss code, shared by the LL2xx and LL5xx rules."""
        return BatchAxis(self.project)


@dataclass(frozen=True, slots=True)
class Finding:
    """What a check yields; the runner turns it into a :class:`Diagnostic`."""

    path: str
    span: Span
    message: str
    severity: Severity | None = None  # None: the rule's default
    fix: Fix | None = None


Check = Callable[[RuleContext], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    check: Check
    fixable: bool = False
    ranges: bool = False  # reads the value-range analysis (``RuleContext.hazards``)

    def run(self, context: RuleContext) -> Iterator[Diagnostic]:
        """The check's findings as diagnostics, one per line and message: the same words twice
        on a line (``K.sum(a) + K.sum(b)``, two divisions by ``scale``) are one finding at the
        first place on the line, whose fix, where the others have the same one, makes every edit."""
        kept: list[Finding] = []
        where: dict[tuple[str, int, str], int] = {}  # the finding kept for a line and message
        for finding in self.check(context):
            key = (finding.path, finding.span.line, finding.message)
            at = where.get(key)
            if at is None:
                where[key] = len(kept)
                kept.append(finding)
                continue
            joined = _joined(kept[at], finding)
            if joined is None:  # fixes that differ: each finding keeps its own
                kept.append(finding)
            else:
                kept[at] = joined
        for finding in kept:
            yield Diagnostic(
                code=self.code,
                name=self.name,
                severity=finding.severity or self.severity,
                message=finding.message,
                path=finding.path,
                span=finding.span,
                fix=finding.fix,
            )


def _joined(first: Finding, other: Finding) -> Finding | None:
    """``first`` standing for ``other`` too (the same words on the same line), or None where
    their fixes differ in what they do."""
    span = min(first.span, other.span, key=lambda s: (s.line, s.column))
    if first.fix is None and other.fix is None:
        return replace(first, span=span)
    if first.fix is None or other.fix is None:
        return None
    if (first.fix.applicability, first.fix.message) != (other.fix.applicability, other.fix.message):
        return None
    edits = first.fix.edits + tuple(e for e in other.fix.edits if e not in first.fix.edits)
    return replace(first, span=span, fix=replace(first.fix, edits=edits))


def all_rules() -> tuple[Rule, ...]:
    from losslint.rules import definitions, metrics, numerics, reductions, wiring

    rules = (*wiring.RULES, *reductions.RULES, *numerics.RULES, *definitions.RULES, *metrics.RULES)
    return tuple(sorted(rules, key=lambda r: r.code))


class RuleInfo(Protocol):
    """What the catalogue shows of a rule: a static :class:`Rule`, or an RT rule."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def summary(self) -> str: ...
    @property
    def fixable(self) -> bool: ...


def catalogue() -> tuple[RuleInfo, ...]:
    """Every rule code: the static rules, LL001 (which judges the others' findings: see
    :mod:`losslint.noqa`), and the RT rules that only ``--runtime`` runs (they have no static
    check; :mod:`losslint.runtime` produces their diagnostics)."""
    from losslint.noqa import RULE as NOQA_RULE
    from losslint.runtime.rules import RUNTIME_RULES

    rules: tuple[RuleInfo, ...] = (*all_rules(), NOQA_RULE, *RUNTIME_RULES)
    return tuple(sorted(rules, key=lambda r: r.code))


def select_rules(
    rules: Iterable[Rule], select: Iterable[str], ignore: Iterable[str]
) -> tuple[Rule, ...]:
    """Rules whose code starts with a selected prefix and with no ignored prefix."""
    chosen = tuple(select)
    dropped = tuple(ignore)
    return tuple(
        r
        for r in rules
        if r.code.startswith(chosen) and not (dropped and r.code.startswith(dropped))
    )
