"""Read, pre-filter, decode and parse one file; bad input becomes an LL000 diagnostic."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from losslint.diagnostic import Diagnostic, Severity, Span
from losslint.notebook import NotebookError, is_notebook, to_python

MAX_BYTES: Final = 10 * 1024 * 1024
PARSE_ERROR_CODE: Final = "LL000"
# A file that mentions none of these cannot define, train on or wire a Keras loss or metric:
# Keras itself, a compile call, a loss or metric by name, the inputs of one, or an objective
# trained outside compile. (Merely importing TensorFlow is not enough: most of TF is not.)
_PREFILTER: Final = (
    b"keras",
    b"compile(",
    b"loss",
    b"metric",
    b"y_pred",
    b"y_true",
    b"minimize(",
    b".gradient(",
    b"gradients(",
    b".backward(",
    b"grad(",
)
_SKIP_FILE: Final = re.compile(r"^[ \t]*#[ \t]*losslint:[ \t]*skip-file\b", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ParsedModule:
    path: str  # as reported
    module: str  # dotted name relative to the package root
    source: str
    tree: ast.Module


def may_concern_keras(data: bytes) -> bool:
    return any(word in data for word in _PREFILTER)


def module_name(path: Path) -> str:
    """``pkg/sub/mod.py`` → ``pkg.sub.mod`` where ``pkg`` is the topmost package directory."""
    path = path.resolve()
    parts = [] if path.name == "__init__.py" else [path.stem]
    parent = path.parent
    while (parent / "__init__.py").is_file() and parent.parent != parent:
        parts.append(parent.name)
        parent = parent.parent
    return ".".join(reversed(parts))


def python_bytes(path: Path | str, data: bytes) -> bytes:
    """The Python source a file stands for: itself, or a notebook's code cells joined.

    Raises NotebookError for a notebook that cannot be read as one.
    """
    return to_python(data).encode("utf-8") if is_notebook(path) else data


def load(
    path: Path,
    shown: str,
    module: str | None = None,
    data: bytes | None = None,
    prefilter: bool = True,
) -> ParsedModule | Diagnostic | None:
    """The parsed module, an LL000 diagnostic, or None when the file is skipped.

    ``data``: the file's content when it does not come from the disk (``check -``, an editor).
    ``prefilter=False``: the caller already knows the file matters (it passed the pre-filter,
    or a module that did imports it).
    """
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as error:
            return unreadable(shown, f"cannot be read: {error.strerror or error}")
    if len(data) > MAX_BYTES:
        return unreadable(
            shown, f"is {len(data) // (1024 * 1024)} MiB, over the 10 MiB limit; not checked"
        )
    try:
        data = python_bytes(path, data)
    except NotebookError as error:
        return unreadable(shown, f"{error}; not checked")
    if prefilter and not may_concern_keras(data):
        return None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        source = data.decode(encoding)
    except SyntaxError as error:
        return unreadable(shown, f"has an invalid encoding declaration: {error}")
    except (UnicodeDecodeError, LookupError) as error:
        return _undecodable(shown, data, error)
    if _SKIP_FILE.search(source):
        return None
    try:
        tree = ast.parse(source, filename=shown)
    except SyntaxError as error:
        line = error.lineno or 1
        column = max(error.offset or 1, 1)
        return unreadable(
            shown, f"does not parse: {error.msg}; not checked", Span(line, column, line, column + 1)
        )
    except (ValueError, RecursionError, MemoryError) as error:
        reason = (
            "is nested too deeply to parse" if isinstance(error, RecursionError) else str(error)
        )
        return unreadable(shown, f"cannot be parsed ({reason}); not checked")
    return ParsedModule(shown, module if module is not None else module_name(path), source, tree)


def _undecodable(shown: str, data: bytes, error: UnicodeDecodeError | LookupError) -> Diagnostic:
    if isinstance(error, UnicodeDecodeError):
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        byte = data[error.start : error.start + 1].hex()
        return unreadable(
            shown,
            f"is not valid {error.encoding} (byte 0x{byte}); save it as UTF-8 or declare its "
            "encoding; not checked",
            Span(line, column, line, column + 1),
        )
    return unreadable(shown, f"declares an unknown encoding ({error}); not checked")


def unreadable(shown: str, reason: str, span: Span | None = None) -> Diagnostic:
    return Diagnostic(
        code=PARSE_ERROR_CODE,
        name="unreadable-file",
        severity=Severity.ERROR,
        message=f"file {reason}",
        path=shown,
        span=span or Span(1, 1, 1, 1),
    )
