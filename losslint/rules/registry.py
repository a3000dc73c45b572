"""The rule type, the context rules read, and the catalogue of every rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from losslint.analysis.ranges import Hazard, find_hazards
from losslint.diagnostic import Diagnostic, Severity, Span
from losslint.index.project import ProjectIndex, ResolvedCompile


class RuleContext:
    """What every rule reads: the project index, the target Keras version, shared results."""

    def __init__(self, project: ProjectIndex, target_keras: int = 3) -> None:
        self.project = project
        self.target_keras = target_keras

    @cached_property
    def compiles(self) -> list[ResolvedCompile]:
        return list(self.project.compiles())

    @cached_property
    def hazards(self) -> list[Hazard]:
        """The value-range analysis of all loss code, shared by the LL3xx rules."""
        return find_hazards(self.project)


@dataclass(frozen=True, slots=True)
class Finding:
    """What a check yields; the runner turns it into a :class:`Diagnostic`."""

    path: str
    span: Span
    message: str
    severity: Severity | None = None  # None: the rule's default


Check = Callable[[RuleContext], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    check: Check
    fixable: bool = False

    def run(self, context: RuleContext) -> Iterator[Diagnostic]:
        seen: set[tuple[str, Span, str]] = set()
        for finding in self.check(context):
            key = (finding.path, finding.span, finding.message)
            if key in seen:
                continue
            seen.add(key)
            yield Diagnostic(
                code=self.code,
                name=self.name,
                severity=finding.severity or self.severity,
                message=finding.message,
                path=finding.path,
                span=finding.span,
            )


def all_rules() -> tuple[Rule, ...]:
    from losslint.rules import numerics, wiring

    return tuple(sorted((*wiring.RULES, *numerics.RULES), key=lambda r: r.code))


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


PARSE_ERROR_CODE = "LL000"
PARSE_ERROR_NAME = "unreadable-file"
