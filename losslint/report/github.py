"""GitHub Actions workflow-command annotations, followed by the full text report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Final

from losslint.diagnostic import Diagnostic, Severity, unicode_path
from losslint.report import text

_COMMAND: Final = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
# GitHub shows at most this many annotations of each level per step; the rest are dropped.
PER_STEP_LIMIT: Final = 10


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render(diagnostics: Sequence[Diagnostic], files: int) -> str:
    lines = []
    for d in diagnostics:
        properties = ",".join(
            f"{key}={escape_property(str(value))}"
            for key, value in (
                ("file", unicode_path(d.path)),  # a newline is escaped as %0A below
                ("line", d.span.line),
                ("col", d.span.column),
                ("endLine", d.span.end_line),
                ("endColumn", d.span.end_column),
                ("title", f"{d.code} {d.name}"),
            )
        )
        lines.append(f"::{_COMMAND[d.severity]} {properties}::{escape_data(d.message)}")
    counts = Counter(d.severity for d in diagnostics)
    for severity, count in counts.items():
        if count > PER_STEP_LIMIT:
            lines.append(
                f"::notice::losslint reported {count} {severity} findings; GitHub shows only "
                f"{PER_STEP_LIMIT} {_COMMAND[severity]} annotations per step, so all of them are "
                "listed in the report below"
            )
    return "\n".join(lines) + ("\n" if lines else "") + text.render(diagnostics, files)
