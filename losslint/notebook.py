"""Jupyter notebooks: their code cells as one Python module, and back.

The code cells are joined into one module, each preceded by a marker comment naming the cell,
so that facts flow between cells as they do in a kernel (a model built in cell 2 is compiled in
cell 5). IPython syntax (``%magic``, ``!shell``, ``x = !cmd``, ``obj?``) becomes a ``pass``
placeholder that remembers the original line, and a ``%%cell_magic`` cell is left out, so the
module parses and its line numbers still map to cells. A cell that does not parse on its own (a
lab's ``x = # TODO``, a BibTeX entry pasted into a code cell) fails in Jupyter alone while the
other cells run: its lines become comments that remember them (``# losslint-unparsed 3: ...``),
:func:`cell_errors` says why each such cell fails, and the rest of the notebook is checked.
``--fix`` splits the fixed module at the markers and writes back only the source of the cells
that changed: outputs, execution counts and metadata stay as they were.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from losslint import quiet
from losslint.index.positions import source_lines

SUFFIX: Final = ".ipynb"
_MARKER: Final = re.compile(r"^# losslint-cell (\d+)(?: indent=(\d+))?$")
_PLACEHOLDER: Final = re.compile(r"^([ \t]*)pass  # losslint-magic (\d+)$")
# A line of a cell that does not parse, with its text as joined (see cell_errors).
UNPARSED_WORD: Final = "# losslint-unparsed "
_UNPARSED: Final = re.compile(r"^# losslint-unparsed (\d+): (.*)$")
# `%name`, `!cmd`, `x = %name`, `x = !cmd`, `obj?`; not `% (a, b)` (a string format continued
# from the line above) nor `!= b` (a comparison continued).
_MAGIC: Final = re.compile(
    r"^[ \t]*(?:\w+[ \t]*=[ \t]*)?(?:%{1,2}[A-Za-z_]|!(?!=))|^[ \t]*[\w.]+\?\??[ \t]*$"
)
# Read only in a cell that does not parse otherwise: IPython's automagic, a line magic or shell
# alias written without its ``%`` (``cd data``, ``pip install keras``), and help on any
# expression (``m.get_layer("w").*?``), which a Python line could also start like.
_AUTOMAGIC: Final = re.compile(
    r"^[ \t]*(?:cd|ls|ll|pwd|pip|conda|mkdir|rmdir|cat|cp|mv|rm|less|more|man|clear|env"
    r"|set_env|load_ext|reload_ext|matplotlib|pylab|who|whos|history|bookmark|dhist|reset)"
    r"(?:[ \t]*$|[ \t]+[^ \t=(\[.,:;+*/%<>!&|^)\]}-])"
    # a path argument (``cd ../..``, ``ls /content/drive``): in a cell that does not parse, a
    # path, not a division
    r"|^[ \t]*(?:cd|ls|ll|cat|cp|mv|rm|mkdir|rmdir|less|more)[ \t]+(?:\.{1,2}/|\.{2}[ \t]*$|/|~)"
    r"|^[ \t]*[A-Za-z_][^#]*\?\??[ \t]*$|^[ \t]*\?\??[ \t]*[\w.*]+[ \t]*$"  # ``?? Dense`` too
)


# Colab's form lines above a cell's code (``#@title Download the data``), which Colab reads
# before the cell runs: a ``%%bash`` below them is still the cell's magic.
_COLAB_FORM: Final = re.compile(r"\A(?:[ \t]*#[ \t]*@(?:title|markdown)\b[^\n]*\n|[ \t]*\n)+")

# Cell magics whose body is Python (``%%time`` around a ``fit`` is common in ML notebooks): the
# magic line is skipped like a line magic, the body is checked.
_PYTHON_CELL_MAGICS: Final = (["time"], ["timeit"], ["capture"], ["prun"], ["python"], ["python3"])
# Google Datalab's cell magics, written with one % on the cell's first line (IPython has no
# line magic of these names): the cell is shell, SQL or a service's command language.
_DATALAB_CELL_MAGICS: Final = tuple(
    [name] for name in ("bash", "sh", "bq", "bigquery", "gcs", "storage", "sql", "ml", "chart")
)


def is_notebook(path: Path | str) -> bool:
    return str(path).endswith(SUFFIX)


class NotebookError(ValueError):
    """The file is not a notebook that losslint can read (not JSON, no cells)."""


def _cells(data: bytes) -> list[dict[str, Any]]:
    if not data.strip():
        return []  # an empty file named .ipynb (a placeholder, a trashed file): nothing to check
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise NotebookError(f"is not a valid notebook (not JSON: {error})") from error
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        raise NotebookError("is not a valid notebook (no list of cells)")
    if _kernel_language(document) not in ("", "python"):
        return []  # an R or Julia notebook (R has a keras package too): no Python to check
    return [c for c in cells if isinstance(c, dict)]


def _kernel_language(document: dict[str, Any]) -> str:
    """The language of the notebook's kernel, lower case ("" when it does not say)."""
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return ""
    for key, field in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(field), str):
            return str(section[field]).strip().lower()
    return ""


def _text(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


# A shell or magic line of a code cell that installs packages (``!pip install``, ``%pip
# install``, ``!python -m pip install``, ``!conda install``): what follows ``install``.
_INSTALL: Final = re.compile(
    r"^\s*[!%]\s*(?:(?:python3?\s+-m\s+)?pip3?|conda|mamba)\s+install\b(?P<rest>.*)$"
)


def installs(data: bytes) -> str:
    """What the code cells of a notebook install, one line per install command (the packages
    and options after ``install``); empty for a notebook that installs nothing or does not
    read as one."""
    if b"install" not in data:
        return ""
    try:
        cells = _cells(data)
    except NotebookError:
        return ""
    return "\n".join(
        match.group("rest")
        for cell in cells
        if cell.get("cell_type") == "code"
        for match in map(_INSTALL.match, _text(cell).splitlines())
        if match
    )


# The pre-filter, the indexer, a rule re-reading a chunk's syntax and the reporter each ask for
# the same notebook in one process, and converting it parses its cells: the code is kept, by
# the notebook's digest (not its bytes, which hold the outputs), for the last notebooks asked.
_CONVERTED: Final[OrderedDict[tuple[str, bool], str]] = OrderedDict()
_KEEP: Final = 64


def to_python(data: bytes, display: bool = False) -> str:
    """The code cells of a notebook as one Python module (see the module docstring).

    ``display``: the lines of a cell that does not parse as the cell has them (its indentation
    removed), for quoting them in a report; the line numbers and cell markers are the same."""
    key = (hashlib.blake2b(data, digest_size=16).hexdigest(), display)
    known = _CONVERTED.pop(key, None)  # and put back last: the most recent is kept longest
    if known is None:
        known = _to_python(data, display)
    _CONVERTED[key] = known
    while len(_CONVERTED) > _KEEP:
        _CONVERTED.popitem(last=False)
    return known


def _to_python(data: bytes, display: bool) -> str:
    cells: list[tuple[str, list[str], list[str]]] = []  # (marker, lines as joined, as shown)
    for number, cell in enumerate(_cells(data), start=1):
        if cell.get("cell_type") != "code":
            continue
        text = _text(cell)
        head = _COLAB_FORM.sub("", text).lstrip()
        if head.startswith("%%") and head[2:].split(None, 1)[:1] not in _PYTHON_CELL_MAGICS:
            continue  # a cell magic such as %%bash: the whole cell is another language
        if head.startswith("%") and head[1:].split(None, 1)[:1] in _DATALAB_CELL_MAGICS:
            continue  # Google Datalab's ``%bash`` (one %) on a cell's first line: a shell cell
        lines = text.splitlines()
        # IPython removes the indentation of a cell's first line from the cell (its
        # leading_indent transformer): an indented cell runs, so it must parse here too.
        first = next((line for line in lines if line.strip()), "")
        indent = len(first) - len(first.lstrip())
        marker = f"# losslint-cell {number}" + (f" indent={indent}" if indent else "")
        shown = [line[indent:] if line[:indent].strip() == "" else line for line in lines]
        cells.append((marker, _joined_lines(lines, indent), shown))
    joined = _join([(marker, body) for marker, body, _ in cells])
    if _parses(joined):
        return joined
    # Some cell does not parse: Jupyter runs the others, so they are checked without it.
    parts = []
    for marker, body, shown in cells:
        if not _parses("\n".join(body)):
            body = _joined_lines(shown, 0, automagic=True)  # ``cd data`` runs in IPython
        if _parses("\n".join(body)):
            parts.append((marker, body))
        elif display:
            parts.append((marker, shown))
        else:
            parts.append((marker, [_unparsed(i, line) for i, line in enumerate(body)]))
    return _join(parts)


def _joined_lines(lines: list[str], indent: int, automagic: bool = False) -> list[str]:
    """A cell's lines as the joined module has them: its indentation removed, magics and shell
    lines made placeholders (``automagic``: those written without ``%`` too)."""
    out: list[str] = []
    continued = False  # a magic or shell line ending with a backslash goes on
    lead = ""
    for index, line in enumerate(lines):
        if indent and line[:indent].strip() == "":
            line = line[indent:]
        if continued or _MAGIC.match(line) or (automagic and _AUTOMAGIC.match(line)):
            if not continued:  # its continuation lines take the magic's indentation
                lead = line[: len(line) - len(line.lstrip())]
            out.append(f"{lead}pass  # losslint-magic {index}")
            continued = line.rstrip().endswith("\\")
        else:
            out.append(line)
    return out


def _join(cells: list[tuple[str, list[str]]]) -> str:
    return "\n".join(line for marker, body in cells for line in (marker, *body)) + "\n"


def _parses(python: str) -> bool:
    try:
        quiet.parse(python)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _unparsed(index: int, line: str) -> str:
    return f"{UNPARSED_WORD}{index}: {line}"


def cell_errors(python: str) -> list[tuple[int, int, str]]:
    """Why each cell of a joined notebook that does not parse fails: the line (of ``python``),
    the column and the parser's message, at the first error of each such cell."""
    errors: list[tuple[int, int, str]] = []
    first = 0
    body: list[str] = []
    for number, line in enumerate([*python.splitlines(), "# losslint-cell 0"], start=1):
        match = _UNPARSED.match(line)
        if match:
            first = first or number
            body.append(match.group(2))
            continue
        if body:
            try:
                quiet.parse("\n".join(body))
            except SyntaxError as error:
                line_in_cell = min(max(error.lineno or 1, 1), len(body))
                errors.append((first + line_in_cell - 1, max(error.offset or 1, 1), error.msg))
            except (ValueError, RecursionError, MemoryError) as error:
                reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
                errors.append((first, 1, reason))
            # Parsing alone, it is not a cell to_python left out but comments that look like
            # one (written in the cell itself): nothing to report.
        first, body = 0, []
    return errors


@dataclass(frozen=True)
class CellMap:
    """Where each line of the joined module comes from."""

    starts: tuple[tuple[int, int], ...]  # (first joined line of the cell's code, cell number)

    @classmethod
    def of(cls, python: str) -> CellMap:
        starts = []
        for number, line in enumerate(python.splitlines(), start=1):
            match = _MARKER.match(line)
            if match:
                starts.append((number + 1, int(match.group(1))))
        return cls(tuple(starts))

    def locate(self, line: int) -> tuple[int, int]:
        """(cell number, line in the cell), both 1-based, for a line of the joined module."""
        found = (0, line)
        for first, cell in self.starts:
            if line < first:
                break
            found = (cell, line - first + 1)
        return found


def line_label(path: str, lines: Sequence[str], line: int) -> str:
    """A line of a checked file as its reader finds it, for a message that points at another
    line: ``line 93`` of a module, ``cell 4, line 3`` of a notebook (whose lines are those of
    its code cells joined)."""
    if is_notebook(path):
        cells = CellMap.of("\n".join(lines))
        if cells.starts:
            cell, within = cells.locate(line)
            return f"cell {cell}, line {within}"
    return f"line {line}"


def write_back(original: bytes, python: str) -> bytes:
    """``original`` with the source of each code cell replaced by its part of ``python``."""
    document = json.loads(original)
    cells = document["cells"]
    new_sources: dict[int, list[str]] = {}
    indents: dict[int, int] = {}
    current: list[str] | None = None
    for line in python.splitlines():
        match = _MARKER.match(line)
        if match:
            current = new_sources.setdefault(int(match.group(1)), [])
            indents[int(match.group(1))] = int(match.group(2) or 0)
        elif current is not None:
            current.append(line)
        else:  # a line a fix placed above the first marker (an import): the first cell's
            new_sources.setdefault(0, []).append(line)
    if 0 in new_sources:
        head = new_sources.pop(0)
        if new_sources:
            first = min(new_sources)
            new_sources[first] = head + new_sources[first]
    changed = False
    for number, lines in new_sources.items():
        cell = cells[number - 1]
        old = _text(cell).splitlines()
        restored = []
        pad = " " * indents.get(number, 0)
        for line in lines:
            placeholder = _PLACEHOLDER.match(line)
            unparsed = _UNPARSED.match(line)
            if placeholder and int(placeholder.group(2)) < len(old):
                restored.append(old[int(placeholder.group(2))])
            elif unparsed and int(unparsed.group(1)) < len(old):
                restored.append(old[int(unparsed.group(1))])
            else:
                restored.append(pad + line if pad and line.strip() else line)
        if restored == old:
            continue
        text = "\n".join(restored)
        if _text(cell).endswith("\n"):
            text += "\n"
        cell["source"] = text.splitlines(keepends=True)
        changed = True
    if not changed:
        return original
    return (json.dumps(document, indent=_indent(original), ensure_ascii=False) + "\n").encode()


def _indent(original: bytes) -> int:
    """The notebook's own JSON indentation (nbformat writes 1), so a fix rewrites few lines."""
    for line in original.decode("utf-8", "replace").splitlines()[1:2]:
        return max(len(line) - len(line.lstrip(" ")), 1)
    return 1


class Locator:
    """Source lines and cell positions of reported paths, for the reporters (read lazily)."""

    def __init__(self, overrides: Mapping[str, bytes] | None = None) -> None:
        self.overrides = dict(overrides or {})
        self._lines: dict[str, list[str]] = {}
        self._maps: dict[str, CellMap | None] = {}

    def _read(self, path: str) -> str:
        data = self.overrides.get(path)
        if data is None:
            if not Path(path).is_file():  # a FIFO or a device (an LL000) is never opened
                return ""
            try:
                data = Path(path).read_bytes()
            except OSError:
                return ""
        if is_notebook(path):
            try:
                return to_python(data, display=True)
            except NotebookError:
                return ""
        return data.decode("utf-8", "replace")

    def lines(self, path: str) -> list[str]:
        if path not in self._lines:
            self._lines[path] = source_lines(self._read(path))  # Python's lines
        return self._lines[path]

    def cell_map(self, path: str) -> CellMap | None:
        if path not in self._maps:
            self._maps[path] = (
                CellMap.of("\n".join(self.lines(path))) if is_notebook(path) else None
            )
        return self._maps[path]

    def cell(self, path: str, line: int) -> tuple[int, int] | None:
        """(cell, line in the cell) when ``path`` is a notebook, else None."""
        cells = self.cell_map(path)
        # No code cell read (an unreadable notebook, an LL000): the file position stands.
        return None if cells is None or not cells.starts else cells.locate(line)
