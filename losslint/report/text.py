"""``path:line:col: LL301 [warning] message`` lines, the source under each, and a summary.

The full format (the default) shows each finding's source line with a caret under its span, as
Ruff and compilers do; ``concise`` keeps one line per finding. ``[*]`` marks the findings that
``--fix`` fixes. In a notebook the position reads ``nb.ipynb:cell 3:2:5``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Final

from losslint.diagnostic import Applicability, Diagnostic, Severity, printable
from losslint.notebook import Locator

_RESET: Final = "\x1b[0m"
_TINT: Final = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}
_BOLD: Final = "\x1b[1m"
_CARET: Final = "\x1b[31m"
_GUTTER: Final = "\x1b[34m"


def render(
    diagnostics: Sequence[Diagnostic],
    files: int,
    color: bool = False,
    concise: bool = True,
    locator: Locator | None = None,
    quiet: bool = False,
) -> str:
    """The report; ``quiet`` leaves out the closing summary lines."""
    locator = locator or Locator()
    lines: list[str] = []
    for d in diagnostics:
        lines.append(_line(d, color, locator))
        if not concise:
            lines.extend(_source(d, color, locator))
    if not quiet:
        lines.extend(closing(diagnostics, files))
    return "\n".join(lines) + ("\n" if lines else "")


def position(d: Diagnostic, locator: Locator) -> str:
    """``path:line:col``, or ``path:cell N:line:col`` in a notebook."""
    cell = locator.cell(d.path, d.line)
    # One finding, one line: a newline in a file name would forge another.
    if cell is None:
        return f"{printable(d.path)}:{d.line}:{d.span.column}"
    return f"{printable(d.path)}:cell {cell[0]}:{cell[1]}:{d.span.column}"


def safe_fix(d: Diagnostic) -> bool:
    return d.fix is not None and d.fix.applicability is Applicability.SAFE


def _line(d: Diagnostic, color: bool, locator: Locator) -> str:
    code = d.code
    severity = f"[{d.severity}]"
    mark = " [*]" if safe_fix(d) else ""
    where = position(d, locator)
    if color:
        code = f"{_BOLD}{code}{_RESET}"
        severity = f"{_TINT[d.severity]}{severity}{_RESET}"
        where = f"{_BOLD}{where}{_RESET}"
    return f"{where}: {code}{mark} {severity} {printable(d.message)}"


def _source(d: Diagnostic, color: bool, locator: Locator) -> list[str]:
    """The diagnostic's first line with carets under its span (to the line's end when the span
    runs onto later lines)."""
    lines = locator.lines(d.path)
    if not 0 < d.line <= len(lines):
        return []
    text = lines[d.line - 1].rstrip()
    if not text.strip():
        return []
    cell = locator.cell(d.path, d.line)
    number = str(cell[1] if cell else d.line)
    start = min(max(d.span.column - 1, 0), len(text))
    end = d.span.end_column - 1 if d.span.end_line == d.line else len(text)
    end = min(max(end, start + 1), max(len(text), start + 1))
    # Tabs stay tabs, so that the caret lines up however the terminal expands them.
    pad = "".join(c if c == "\t" else " " for c in text[:start])
    carets = "^" * (end - start)
    gutter = " " * len(number)
    if color:
        return [
            f"{_GUTTER}{number} |{_RESET} {text}",
            f"{_GUTTER}{gutter} |{_RESET} {pad}{_CARET}{carets}{_RESET}",
        ]
    return [f"{number} | {text}", f"{gutter} | {pad}{carets}"]


def closing(diagnostics: Sequence[Diagnostic], files: int) -> list[str]:
    """The summary line, then how many findings ``--fix`` can fix, when any."""
    lines = [summary(diagnostics, files)]
    safe = sum(1 for d in diagnostics if safe_fix(d))
    unsafe = sum(1 for d in diagnostics if d.fix is not None and not safe_fix(d))
    if safe:
        lines.append(f"[*] {safe} fixable with `--fix`.")
    if unsafe:
        lines.append(
            f"{unsafe} more fixable with `--fix --unsafe-fixes` (the fix may change behaviour)."
        )
    return lines


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
    """Findings per rule, most frequent first, as ``count  code  name`` (``[*] name`` when
    ``--fix`` fixes some of them)."""
    rows = statistics_rows(diagnostics)
    width = max((len(str(r["count"])) for r in rows), default=1)
    lines = [
        f"{r['count']:>{width}}  {r['code']}  {'[*] ' if r['fixable'] else ''}{r['name']}"
        for r in rows
    ]
    lines.append(f"Found {len(diagnostics)} problem{'s' if len(diagnostics) != 1 else ''}.")
    return "\n".join(lines) + "\n"


def statistics_rows(diagnostics: Sequence[Diagnostic]) -> list[dict[str, object]]:
    """``{code, name, count, fixable}`` per rule, most frequent first (also ``--format json``);
    ``fixable``: how many of them ``--fix`` fixes."""
    counts = Counter((d.code, d.name) for d in diagnostics)
    fixable = Counter(d.code for d in diagnostics if safe_fix(d))
    return [
        {"code": code, "name": name, "count": count, "fixable": fixable[code]}
        for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
