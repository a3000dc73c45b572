"""The one data type that crosses every stage boundary (SPEC §1)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Severity(enum.IntEnum):
    """Ordered so that ``severity >= fail_on`` decides the exit code."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.upper()]


@dataclass(frozen=True, slots=True)
class Span:
    """A source range; lines and columns are 1-based, columns count characters."""

    line: int
    column: int
    end_line: int
    end_column: int


class Applicability(enum.Enum):
    """Whether a fix keeps the program's behaviour (safe) or may change it (unsafe)."""

    SAFE = "safe"
    UNSAFE = "unsafe"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Edit:
    """One libcst rewrite, addressed by the span of the expression it applies to.

    ``kind`` is one of:
    - ``replace``: the expression at ``span`` becomes ``content`` (an expression);
    - ``argument``: the call at ``span`` gets the argument ``content`` (``"axis=-1"`` sets that
      keyword, replacing its value if present; ``"(-1,)"`` appends a positional argument);
    - ``unwrap``: the call at ``span`` is replaced by its first argument;
    - ``keywords``: the call at ``span`` has its positional arguments named, in order, by the
      comma-separated names in ``content`` (``"reduction,name"``);
    - ``comment``: the comment at ``span`` becomes ``content`` (removed when empty, with the
      spaces before it); applied to the text, as comments are no expressions;
    - ``import``: the module gets the statement ``content`` (``"from keras import ops"``) unless
      it has it; ``span`` is None.
    """

    kind: str
    content: str
    span: Span | None = None

    def to_dict(self) -> dict[str, Any]:
        where = (
            {}
            if self.span is None
            else {
                "line": self.span.line,
                "column": self.span.column,
                "end_line": self.span.end_line,
                "end_column": self.span.end_column,
            }
        )
        return {"kind": self.kind, "content": self.content, **where}


@dataclass(frozen=True, slots=True)
class Fix:
    applicability: Applicability
    message: str  # what the fix does, imperative: "Replace K.mean with ops.mean"
    edits: tuple[Edit, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "applicability": str(self.applicability),
            "message": self.message,
            "edits": [e.to_dict() for e in self.edits],
        }


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    name: str
    severity: Severity
    message: str
    path: str
    span: Span
    fix: Fix | None = None
    source: str = "static"

    @property
    def line(self) -> int:
        return self.span.line

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.span.line, self.span.column, self.code)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": str(self.severity),
            "message": self.message,
            "path": self.path,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "fix": self.fix.to_dict() if self.fix else None,
            "source": self.source,
        }


def printable(text: str) -> str:
    """``text`` safe to print on one line: control characters and line separators escaped as
    in a Python literal, and the bytes of a non-UTF-8 file name (decoded by Python as lone
    surrogates) as ``\\xNN``. A file name may hold a newline; printed raw, it would inject a
    line into the report that CI tools read as a finding."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable():
            out.append(char)
        elif 0xDC80 <= ord(char) <= 0xDCFF:  # os.fsdecode's surrogateescape of one byte
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        else:
            out.append(ascii(char)[1:-1])
    return "".join(out)


def unicode_path(path: str) -> str:
    """``path`` unchanged when it is valid Unicode (a format's own escaping then keeps the real
    name), else :func:`printable` (a non-UTF-8 name has no exact Unicode spelling)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return printable(path)
    return path
