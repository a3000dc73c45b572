"""Read, pre-filter, decode and parse one file; bad input becomes an LL000 diagnostic."""

from __future__ import annotations

import ast
import codecs
import dataclasses
import io
import os
import re
import stat
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from losslint import quiet
from losslint.diagnostic import Diagnostic, Severity, Span, printable
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
    # Where the first Python 2 statement is (``print x``), when the tree reads them as
    # Python 3 (see quiet.python2_repaired): line, column and the parser's message.
    python2: tuple[int, int, str] | None = None


# Byte-order marks of the UTF-16/32 encodings, longest first (the UTF-32-LE mark starts with
# the UTF-16-LE one). CPython cannot run such a file, but editors on Windows save them and the
# code in them is still worth checking rather than skipping in silence.
_WIDE_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def may_concern_keras(data: bytes) -> bool:
    wide = _wide_encoding(data)
    if wide is not None:
        data = data.decode(wide, "replace").encode("utf-8", "replace")
    return any(word in data for word in _PREFILTER)


def _wide_encoding(data: bytes) -> str | None:
    for bom, encoding in _WIDE_BOMS:
        if data.startswith(bom):
            return encoding
    return None


def not_regular(mode: int) -> str | None:
    """Why a file of this ``st_mode`` is not read (a FIFO would block, a device never ends)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        kind = "a FIFO"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    elif stat.S_ISDIR(mode):
        kind = "a directory"
    else:
        kind = "a special file"
    return f"is {kind}, not a regular file; not read"


def read_source(path: Path, shown: str) -> bytes | Diagnostic:
    """The bytes of a regular file of at most MAX_BYTES, or why it is not read.

    The type is checked on the path before opening (opening a FIFO would block, a device may
    have side effects) and again on the open descriptor, in case the path changed in between;
    the read stops after MAX_BYTES + 1 bytes whatever size the file claims (``/dev/zero`` and
    files under ``/proc`` report size 0).
    """
    try:
        reason = not_regular(os.stat(path).st_mode)
        if reason is not None:
            return unreadable(shown, reason)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        flags |= getattr(os, "O_BINARY", 0)  # Windows: no newline translation
        descriptor = os.open(path, flags)
    except OSError as error:
        return unreadable(shown, f"cannot be read: {error.strerror or error}")
    try:
        with open(descriptor, "rb", closefd=True) as handle:
            reason = not_regular(os.fstat(handle.fileno()).st_mode)
            if reason is not None:
                return unreadable(shown, reason)
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        return unreadable(shown, f"cannot be read: {error.strerror or error}")
    if len(data) > MAX_BYTES:
        return unreadable(shown, "is over the 10 MiB limit; not checked")
    return data


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
        read = read_source(path, shown)  # a FIFO or a device is never opened
        if isinstance(read, Diagnostic):
            return read
        data = read
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
    source = decode(data, shown)
    if isinstance(source, Diagnostic):
        return source
    if "losslint:" in source and _SKIP_FILE.search(source):  # (the word first: 10x faster)
        return None
    python2: tuple[int, int, str] | None = None
    try:
        tree = quiet.parse(source, filename=shown)
    except SyntaxError as error:
        line = error.lineno or 1
        column = max(error.offset or 1, 1)
        # ``print x``: read as Python 3 where that is all (the same rewrite as every later
        # parse of this text, through quiet.parse_python2).
        readable = quiet.python2_tree(source, error, filename=shown)
        if readable is None:
            return unreadable(
                shown,
                f"does not parse: {error.msg}; not checked",
                Span(line, column, line, column + 1),
            )
        tree = readable
        python2 = (line, column, PYTHON2 + error.msg)
    except (ValueError, RecursionError, MemoryError) as error:
        reason = (
            "is nested too deeply to parse" if isinstance(error, RecursionError) else str(error)
        )
        return unreadable(shown, f"cannot be parsed ({reason}); not checked")
    return ParsedModule(
        shown, module if module is not None else module_name(path), source, tree, python2
    )


def decode(data: bytes, shown: str) -> str | Diagnostic:
    """The text of a source file, by its BOM or declared encoding (PEP 263), else UTF-8.

    The declared codec is used only when it is a text codec, and any failure of the codec is
    a diagnostic naming it: a declaration can name any codec (``rot13``, ``undefined``,
    ``punycode``), and some raise a plain ``UnicodeError`` or worse on ordinary bytes.
    """
    wide = _wide_encoding(data)
    if wide is not None:
        encoding = wide
    else:
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        except SyntaxError as error:
            return unreadable(shown, f"has an invalid encoding declaration: {error}")
        except (LookupError, UnicodeError, ValueError) as error:
            return unreadable(shown, f"declares an unknown encoding ({error}); not checked")
    try:
        info = codecs.lookup(encoding)
    except LookupError as error:
        return unreadable(shown, f"declares an unknown encoding ({error}); not checked")
    if not getattr(info, "_is_text_encoding", True):
        return unreadable(
            shown,
            f"declares the encoding {info.name!r}, which is not a text encoding; save it as "
            "UTF-8; not checked",
        )
    try:
        source = data.decode(encoding)
    except UnicodeDecodeError as error:
        return _undecodable(shown, data, error)
    except Exception as error:  # a codec may raise anything: it is third-party code
        detail = printable(str(error)) or type(error).__name__  # codecs quote the bad input
        return unreadable(
            shown,
            f"cannot be decoded with its declared encoding {info.name!r} ({detail}); save it "
            "as UTF-8; not checked",
        )
    if not isinstance(source, str):
        return unreadable(
            shown, f"declares the encoding {info.name!r}, which does not decode to text"
        )
    return source[1:] if source.startswith("\ufeff") else source


def _undecodable(shown: str, data: bytes, error: UnicodeDecodeError) -> Diagnostic:
    line = data.count(b"\n", 0, error.start) + 1
    column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
    byte = data[error.start : error.start + 1].hex()
    return unreadable(
        shown,
        f"is not valid {error.encoding} (byte 0x{byte}); save it as UTF-8 or declare its "
        "encoding; not checked",
        Span(line, column, line, column + 1),
    )


# The reason recorded for a file read with its Python 2 statements written as Python 3.
PYTHON2: Final = "Python 2: "


def unparsed_cell(shown: str, line: int, column: int, reason: str) -> Diagnostic:
    """A notebook's code cell that does not parse on its own: Jupyter runs the other cells, and
    losslint checks them. Or a file of Python 2 (``reason`` starts with :data:`PYTHON2`),
    checked with its ``print`` statements read as calls."""
    if reason.startswith(PYTHON2):
        message = (
            f"file does not parse: {reason[len(PYTHON2) :]} (Python 2, which Python 3 cannot "
            "run); checked with its print statements read as print() calls and `except E, e` "
            "as `except E as e`"
        )
    else:
        message = f"cell does not parse: {reason}; this cell is not checked (the others are)"
    return dataclasses.replace(
        unreadable(shown, "", Span(line, column, line, column + 1)), message=message
    )


def unreadable(shown: str, reason: str, span: Span | None = None) -> Diagnostic:
    return Diagnostic(
        code=PARSE_ERROR_CODE,
        name="unreadable-file",
        severity=Severity.ERROR,
        message=f"file {reason}",
        path=shown,
        span=span or Span(1, 1, 1, 1),
    )
