"""``path:line:col: LL301 [warning] message`` lines and a summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from losslint.diagnostic import Diagnostic, Severity


def render(diagnostics: Sequence[Diagnostic], files: int, color: bool = False) -> str:
    lines = [_line(d, color) for d in diagnostics]
    lines.append(summary(diagnostics, files))
    return "\n".join(lines) + "\n"


def _line(d: Diagnostic, color: bool) -> str:
    code = d.code
    severity = f"[{d.severity}]"
    if color:
        tint = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}
        code = f"\x1b[1m{code}\x1b[0m"
        severity = f"{tint[d.severity]}{severity}\x1b[0m"
    return f"{d.path}:{d.line}:{d.span.column}: {code} {severity} {d.message}"


def summary(diagnostics: Sequence[Diagnostic], files: int) -> str:
    noun = "file" if files == 1 else "files"
    if not diagnostics:
        return f"No problems found in {files} {noun}."
    counts = Counter(d.severity for d in diagnostics)
    parts = [
        f"{counts[s]} {s}{'s' if counts[s] != 1 and s is not Severity.INFO else ''}"
        for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)
        if counts[s]
    ]
    total = len(diagnostics)
    in_files = len({d.path for d in diagnostics})
    return (
        f"Found {total} problem{'s' if total != 1 else ''} ({', '.join(parts)}) in {in_files} of "
        f"{files} {noun}."
    )


def statistics(diagnostics: Sequence[Diagnostic]) -> str:
    """Findings per rule, most frequent first, as ``count  code  name``."""
    counts = Counter((d.code, d.name) for d in diagnostics)
    width = max((len(str(n)) for n in counts.values()), default=1)
    lines = [
        f"{count:>{width}}  {code}  {name}"
        for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    lines.append(f"Found {len(diagnostics)} problem{'s' if len(diagnostics) != 1 else ''}.")
    return "\n".join(lines) + "\n"
