"""Facts and diagnostics to plain JSON and back, with AST nodes re-parsed on demand.

The codec knows no fact by name: it handles every dataclass of :mod:`losslint.index.facts` and
:mod:`losslint.diagnostic` by field introspection, so a fact added there is cached without a
change here. It writes data only (never pickle): a planted cache file can at worst be rejected.

AST nodes (fields named ``node`` or ``tree``) and a module's ``lines`` are not stored. A node is
written as a locator (its type and exact position) and comes back as a :class:`_Lazy` value that
the first read of the field resolves, by parsing again the top-level statements that hold it
(its chunk: a function, a class, a module-level block) and looking the position up. Only the
definitions an analysis walks are ever parsed twice, not the files around them (measured on the
Keras tree: 4.3 MB of source re-parsed whole before, 0.5 MB now; peak memory 229 → 128 MiB),
and their trees live only as long as the facts that point into them.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import enum
import hashlib
import itertools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from losslint import diagnostic, quiet
from losslint.index.nodes import subtree
from losslint.index.positions import (
    DEFINITIONS,
    LambdaDef,
    assigned_lambda,
    first_line,
    source_lines,
)
from losslint.index.positions import LINE_BREAK as _LINE_BREAK
from losslint.parse import decode as decode_source
from losslint.parse import python_bytes

if TYPE_CHECKING:
    from losslint.index.facts import ModuleIndex

# Fields that hold syntax, re-derived from the file instead of stored.
_SYNTAX_FIELDS: Final = frozenset({"node", "tree", "lines"})
_Position = tuple[str, int, int, int, int]
_DECIMAL_LIMIT: Final = 10**1000  # ints written as JSON numbers are within it


class DecodeError(ValueError):
    """The document is not one this codec wrote: the cache entry is ignored and rewritten."""


class SourceChanged(RuntimeError):
    """A file changed between its indexing and the re-parse that an analysis asked for."""


# What of each file's text (lines, syntax) was read since the last clear, by absolute path: the
# chunks (their numbers in ``ModuleIndex.chunks``), or WHOLE. Findings depend on a file only
# through its facts and what was read of it (the pipeline's early cutoff).
READ: Final[dict[str, set[int]]] = {}
WHOLE: Final = -1
# The chunks of READ whose text was read, beyond the syntax and the positions of its nodes (a
# line quoted in a message, searched for a word). The cutoff may take any other chunk read as
# unchanged when its syntax is, whatever its comments and blank lines (``losslint.cutoff``).
TEXT: Final[dict[str, set[int]]] = {}


def mark_read(path: str, chunk: int = WHOLE, text: bool = False) -> None:
    """Record that an analysis read ``chunk`` of ``path`` (by default, the whole file);
    ``text``: its text, not only its syntax."""
    for record in (READ, TEXT) if text else (READ,):
        chunks = record.get(path)
        if chunks is None:
            record[path] = {chunk}
        else:
            chunks.add(chunk)


# The words searched for in each file's lines (by absolute path): each word with the chunks
# whose lines hold it. A search reads those lines' text, and only that of the others that they
# do not hold the word: the early cutoff searches the file as it is again, so an edit elsewhere
# in the file (a comment, a statement) keeps the findings that depended on the search.
SEARCHED: Final[dict[str, dict[str, set[int]]]] = {}


def clear_reads() -> None:
    READ.clear()
    TEXT.clear()
    SEARCHED.clear()


def lines_with(module: ModuleIndex, word: str, syntax: bool = False) -> list[tuple[int, str]]:
    """The lines (number from 1, text) of ``module`` that contain ``word``, read as a search
    (see :data:`SEARCHED`): their chunks' text is read, not the whole file's. ``syntax``: the
    caller reads only the syntax of those chunks (their statements, parsed), never the lines'
    text, so a comment or a blank line changed there changes nothing it found."""
    lines = module.lines
    found = [(n, line) for n, line in enumerate(tuple.__iter__(lines), 1) if word in line]
    source = lines.source if isinstance(lines, _Lines) else None
    if source is None:
        return found  # facts made in this process: nothing is cached from this run's reads
    if len(source.chunks) < 2:
        mark_read(source.path, text=True)
        return found
    chunks = {source._chunk_at(n) for n, _ in found}
    SEARCHED.setdefault(source.path, {}).setdefault(word, set()).update(chunks)
    for chunk in chunks:
        mark_read(source.path, chunk, text=not syntax)
    return found


def searched_chunks(
    text: str, starts: tuple[int, ...], words: Iterable[str]
) -> dict[str, set[int]]:
    """For each of ``words``, the chunks (by their first lines ``starts``) of the file ``text``
    whose lines hold it: what :func:`lines_with` found, computed again by the early cutoff."""
    wanted = list(words)
    found: dict[str, set[int]] = {word: set() for word in wanted}
    for number, line in enumerate(source_lines(text), 1):
        for word in wanted:
            if word in line:
                found[word].add(chunk_number(starts, number))
    return found


def chunk_number(starts: tuple[int, ...], line: int) -> int:
    """The chunk holding ``line``, from the chunks' first lines (``ModuleIndex.chunks``)."""
    return max(0, bisect.bisect_right(starts, line) - 1)


class Source:
    """One file, parsed again on demand; shared by its locators.

    A node is looked up in the chunk of top-level statements that holds it
    (:attr:`ModuleIndex.chunks <losslint.index.facts.ModuleIndex>`), parsed alone from the
    lines of the file with the lines above it left empty, so every position is the file's own:
    an analysis that follows one helper of a 7,000-line module parses that helper's
    definition, not the module. The whole tree, when asked for, is made of the same chunk
    statements, so a node is the same object however it was reached.
    """

    __slots__ = (
        "_class_lines", "_index", "_lines", "_member_starts", "_member_stops", "_members",
        "_offsets", "_parts", "_text", "_tree", "chunks", "content", "definition_chunks",
        "digest", "path",
    )  # fmt: skip

    def __init__(self, path: str, digest: str, content: bytes | None = None) -> None:
        self.path = path
        self.digest = digest
        self.content = content  # when it was not read from the disk (stdin, an editor)
        self.chunks: tuple[int, ...] = ()  # set from the facts once they are decoded
        self.definition_chunks: frozenset[int] = frozenset()
        self._text: str | None = None
        self._tree: ast.Module | None = None
        self._parts: dict[int, list[ast.stmt]] = {}
        self._offsets: list[int] | None = None
        self._index: dict[_Position, ast.AST] = {}
        self._lines: tuple[str, ...] | None = None
        self._member_starts: list[int] = []  # of the members of long classes, in order
        self._member_stops: list[int] = []  # the line below each
        self._members: dict[int, ast.stmt | None] = {}  # parsed alone, by first line
        self._class_lines: dict[int, int] = {}  # a long class's first line → its last

    def set_members(self, classes: tuple[tuple[int, ...], ...]) -> None:
        """The members of long classes (``ModuleIndex.members``), each parsed alone when one
        of its nodes is looked up before its class was parsed."""
        starts: list[int] = []
        stops: list[int] = []
        for first, last, *members in classes:
            starts.extend(members)
            stops.extend([*members[1:], last + 1])
            self._class_lines[first] = last
        self._member_starts, self._member_stops = starts, stops

    def text(self) -> str:
        if self._text is None:
            data = Path(self.path).read_bytes() if self.content is None else self.content
            if hashlib.sha256(data).hexdigest() != self.digest:
                raise SourceChanged(f"{self.path} changed while it was being checked")
            data = python_bytes(self.path, data)  # a notebook's code cells, as indexed
            text = decode_source(data, self.path)  # as the parse decoded it (BOMs, PEP 263)
            if isinstance(text, diagnostic.Diagnostic):
                raise SourceChanged(f"{self.path} no longer decodes: {text.message}")
            self._text = text
        return self._text

    def adopt(self, text: str, tree: ast.Module) -> None:
        """The text and whole parse that the file was just indexed from (set :attr:`chunks`
        first): what is read of it then needs no second read or parse."""
        self._text = text
        self._tree = tree
        self._split(tree.body)

    def _load(self) -> ast.Module:
        # The whole tree is the statements of every chunk: a read of each chunk's syntax.
        if len(self.chunks) < 2:
            mark_read(self.path)
        else:
            for number in range(len(self.chunks)):
                mark_read(self.path, number)
        if self._tree is None:
            if self._parts:  # the chunks parsed so far, and the others
                body = [stmt for k in range(len(self.chunks)) for stmt in self._part(k)]
                self._tree = ast.Module(body=body, type_ignores=[])
            else:
                self._tree = quiet.parse_python2(self.text(), filename=self.path)
                self._splice(self._tree.body)
                self._split(self._tree.body)
        return self._tree

    def _split(self, body: list[ast.stmt]) -> None:
        """File the statements of a whole parse under their chunks."""
        if len(self.chunks) < 2:
            return
        parts: dict[int, list[ast.stmt]] = {k: [] for k in range(len(self.chunks))}
        for stmt in body:
            parts[self._chunk(stmt)].append(stmt)
        self._parts = parts

    def _chunk(self, stmt: ast.stmt) -> int:
        return self._chunk_at(first_line(stmt))

    def _chunk_at(self, line: int) -> int:
        return chunk_number(self.chunks, line)

    def plain_statements(self) -> list[ast.stmt]:
        """The top-level statements other than definitions; chunks of definitions only are
        not parsed."""
        if self._tree is not None or len(self.chunks) < 2:
            body = self._load().body
        else:
            skip = self.definition_chunks
            body = [s for k in range(len(self.chunks)) if k not in skip for s in self._part(k)]
        return [s for s in body if not isinstance(s, DEFINITIONS)]

    def _part(self, number: int) -> list[ast.stmt]:
        """The statements of chunk ``number``, parsed alone the first time."""
        mark_read(self.path, number)
        part = self._parts.get(number)
        if part is not None:
            return part
        start = self.chunks[number]
        stop = self.chunks[number + 1] if number + 1 < len(self.chunks) else None
        try:
            text = "\n" * (start - 1) + self._between(start, stop)
            part = quiet.parse_python2(text, filename=self.path).body
        except (SyntaxError, ValueError):  # not a chunk on its own after all: from the whole
            whole = quiet.parse_python2(self.text(), filename=self.path).body
            part = [stmt for stmt in whole if self._chunk(stmt) == number]
        self._splice(part)
        self._parts[number] = part
        return part

    def _member(self, line: int) -> ast.stmt | None:
        """The member of a long class that holds ``line``, parsed alone (see
        :meth:`set_members`); None where no recorded member holds it, or it does not parse
        alone as one statement (then its class is parsed)."""
        at = bisect.bisect_right(self._member_starts, line) - 1
        if at < 0 or line >= self._member_stops[at]:
            return None
        start = self._member_starts[at]
        if start in self._members:
            return self._members[start]
        member: ast.stmt | None = None
        text = "\n" * (start - 2) + "if 1:\n" + self._between(start, self._member_stops[at])
        try:
            body = quiet.parse_python2(text, filename=self.path).body
        except (SyntaxError, ValueError):
            body = []
        if len(body) == 1 and isinstance(body[0], ast.If) and len(body[0].body) == 1:
            member = body[0].body[0]
            if first_line(member) != start:
                member = None
        self._members[start] = member
        return member

    def _splice(self, statements: list[ast.stmt]) -> None:
        """Put the members already parsed alone into the classes of ``statements``, so that a
        node is the same object however it was reached."""
        if not any(self._members.values()):
            return
        for stmt in statements:
            if not isinstance(stmt, ast.ClassDef):
                continue
            for number, item in enumerate(stmt.body):
                alone = self._members.get(first_line(item))
                if (
                    alone is not None
                    and type(alone) is type(item)
                    and (alone.lineno, alone.end_lineno) == (item.lineno, item.end_lineno)
                ):
                    stmt.body[number] = alone

    def tree(self) -> ast.Module:
        return self._load()

    def lines(self) -> tuple[str, ...]:
        """As the indexer split them (a fix is built from them): no parse needed. A line
        taken by its number is recorded as a read of its chunk only (see :class:`_Lines`)."""
        return _Lines(self._all_lines(), self)

    def _all_lines(self) -> tuple[str, ...]:
        if self._lines is None:
            self._lines = tuple(source_lines(self.text()))  # as Python counts lines
        return self._lines

    def mark_lines(self, first: int, last: int, text: bool = True) -> None:
        """Record a read of lines ``first`` to ``last`` (from 1): the chunks that hold them;
        ``text``: a read of their text, not only of where a node is on them."""
        if len(self.chunks) < 2:
            mark_read(self.path, text=text)
            return
        for chunk in range(self._chunk_at(first), self._chunk_at(last) + 1):
            mark_read(self.path, chunk, text)

    def extents(
        self, chunks: Iterable[int], texts: dict[str, str] | None = None
    ) -> list[list[Any]] | None:
        """``[chunk, first line, last line, digest]`` of each of ``chunks``: the lines of its
        statements (not the comments after them), and a digest of their text. The early
        cutoff compares them with the same chunks of a later version of the file. None when
        the file is read whole or has a single chunk. ``texts``: where each chunk's text
        goes, by its digest."""
        if WHOLE in chunks or len(self.chunks) < 2:
            return None
        out: list[list[Any]] = []
        for number in sorted(chunks):
            first, last = self._extent(number)
            if not first:
                return None
            text = self._between(first, last + 1)
            digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
            out.append([number, first, last, digest])
            if texts is not None:
                texts[digest] = text
        return out

    def _extent(self, number: int) -> tuple[int, int]:
        """The first and last lines of the statements of chunk ``number``; (0, 0) if none. A
        long class (a chunk of its own: nothing shares its lines) is not parsed for it."""
        start = self.chunks[number]
        last = self._class_lines.get(start) if number > 0 and number not in self._parts else None
        if last is not None:
            mark_read(self.path, number)
            return start, last
        part = self._part(number)
        if not part:
            return 0, 0
        return min(first_line(s) for s in part), max(s.end_lineno or s.lineno for s in part)

    def _between(self, start: int, stop: int | None) -> str:
        """The text from the start of line ``start`` to that of line ``stop`` (the end)."""
        text = self.text()
        if self._offsets is None:
            if "\r" in text:  # CR LF or a lone CR ends a line too
                self._offsets = [0, *(m.end() for m in _LINE_BREAK.finditer(text))]
            else:  # the common case, without a call per line
                widths = map(int.__add__, map(len, text.split("\n")), itertools.repeat(1))
                self._offsets = [0, *itertools.accumulate(widths)]
                self._offsets.pop()  # the end of the text, which no line break ends
        offsets = self._offsets
        begin = offsets[start - 1] if start - 1 < len(offsets) else len(text)
        end = offsets[stop - 1] if stop is not None and stop - 1 < len(offsets) else len(text)
        return text[begin:end]

    def node(self, position: _Position) -> ast.AST:
        found = self._index.get(position)
        if found is not None:  # read again in this run: recorded again (a clear may be between)
            mark_read(self.path, self._chunk_at(position[1]) if len(self.chunks) > 1 else WHOLE)
        else:
            if self._tree is None and len(self.chunks) > 1:
                number = self._chunk_at(position[1])
                member = self._member(position[1]) if number not in self._parts else None
                if member is not None:  # a method of a long class: that method alone
                    mark_read(self.path, number)
                    found = _find(ast.Module(body=[member], type_ignores=[]), position)
                if found is None:
                    part = self._part(number)
                    found = _find(ast.Module(body=part, type_ignores=[]), position)
            else:
                found = _find(self._load(), position)
            if found is None:
                raise SourceChanged(f"{self.path}: no {position[0]} at line {position[1]} any more")
            self._index[position] = found
        return found


class _Lines(tuple[str, ...]):
    """A file's lines that record what is read of them: a line or a slice, the chunks that
    hold it; iterating or searching them, the whole file."""

    source: Source

    def __new__(cls, lines: tuple[str, ...], source: Source) -> _Lines:
        made = super().__new__(cls, lines)
        made.source = source
        return made

    def __getitem__(self, key: Any) -> Any:
        size = len(self)
        if isinstance(key, slice):
            start, stop, step = key.indices(size)
            if step != 1:
                mark_read(self.source.path, text=True)
            elif stop > start:
                self.source.mark_lines(start + 1, stop)
        elif isinstance(key, int) and -size <= key < size:
            line = key % size + 1
            self.source.mark_lines(line, line)
        return super().__getitem__(key)

    def position_line(self, index: int) -> str:
        """Line ``index`` (from 0), read only to place a node on it (a column in characters)
        or a finding (its line, which the cutoff takes again from the file as it is): a
        read of its chunk, not of its text."""
        line = index % len(self) + 1
        self.source.mark_lines(line, line, text=False)
        return tuple.__getitem__(self, index)

    def __reduce__(self) -> Any:  # pickled or copied as a plain tuple: reads are this run's
        return (tuple, (tuple(super().__iter__()),))


def _reading_whole(name: str) -> Any:
    """The tuple method ``name``, recording a read of the whole file first."""
    method = getattr(tuple, name)

    def read(self: _Lines, *args: Any) -> Any:
        mark_read(self.source.path, text=True)
        return method(self, *args)

    read.__name__ = read.__qualname__ = name
    return read


# What looks at every line (iterating, joining, searching, comparing, hashing) reads the file.
for _name in (
    "__iter__", "__contains__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
    "__hash__", "__add__", "__mul__", "__rmul__", "count", "index",
):  # fmt: skip
    setattr(_Lines, _name, _reading_whole(_name))


class _Lazy:
    """A syntax field not resolved yet: ``what`` is a node position, "tree" or "lines"."""

    __slots__ = ("source", "what")

    def __init__(self, source: Source, what: _Position | str) -> None:
        self.source = source
        self.what = what

    def resolve(self) -> object:
        if self.what == "tree":
            return self.source.tree()
        if self.what == "lines":
            return self.source.lines()
        assert isinstance(self.what, tuple)
        return self.source.node(self.what)


class _LazyField:
    """Wraps a slot of a frozen fact so that the first read of a :class:`_Lazy` resolves it."""

    def __init__(self, slot: Any) -> None:
        self.slot = slot

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = self.slot.__get__(instance, owner)
        if isinstance(value, _Lazy):
            value = value.resolve()
            self.slot.__set__(instance, value)
        return value

    def __set__(self, instance: object, value: object) -> None:
        self.slot.__set__(instance, value)

    def raw(self, instance: object) -> Any:
        return self.slot.__get__(instance, type(instance))


def _dataclasses(*modules: Any) -> dict[str, type]:
    found: dict[str, type] = {}
    for module in modules:
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and dataclasses.is_dataclass(value)
                and value.__module__ == module.__name__
            ):
                found[name] = value
    return found


def _enums(*modules: Any) -> dict[str, type[enum.Enum]]:
    return {
        name: value
        for module in modules
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, enum.Enum)
    }


_CLASSES: Final[dict[str, type]] = {}
_ENUMS: Final = _enums(diagnostic)
_FIELDS: Final[dict[str, tuple[str, ...]]] = {}
_SYNTAX: Final[dict[str, list[bool]]] = {}
_BY_TYPE: Final[dict[type, tuple[str, tuple[str, ...]]]] = {}
# A decoder per class, from its fields' list (see _class_decoder).
_CLASS_DECODERS: Final[dict[str, Callable[[Any, Source | None], object]]] = {}


def _class_decoder(
    name: str, cls: type, syntax: list[bool]
) -> Callable[[Any, Source | None], object]:
    """The decoder of ``cls``'s field list. A fact document holds some 75,000 objects per
    thousand files (two in three a ``Span``), so the common case, a field that is a plain
    number, string or None, is taken as it is without a call; the rest goes through
    :func:`_decode`."""
    count = len(syntax)

    def plain(values: Any, source: Source | None) -> object:
        if type(values) is not list or len(values) != count:
            raise DecodeError(f"not a cached fact: {name!r}")
        return cls(
            *[
                value
                if (kind := type(value)) is int or kind is str or value is None
                else _decode(value, source)
                for value in values
            ]
        )

    if not any(syntax):
        return plain

    def with_syntax(values: Any, source: Source | None) -> object:
        if type(values) is not list or len(values) != count:
            raise DecodeError(f"not a cached fact: {name!r}")
        arguments = [
            value
            if (kind := type(value)) is int or kind is str or value is None
            else _decode_syntax(value["@syntax"], source)
            if flag and kind is dict and "@syntax" in value
            else _decode(value, source)
            for flag, value in zip(syntax, values, strict=True)
        ]
        made: Any = cls(*arguments)
        if source is not None and name == "ModuleIndex":
            source.chunks = made.chunks
            source.definition_chunks = made.definition_chunks
            source.set_members(made.members)
        return made

    return with_syntax


def _register(*modules: Any) -> None:
    """Know the dataclasses of ``modules``, their syntax fields made lazy."""
    for name, cls in _dataclasses(*modules).items():
        _CLASSES[name] = cls
        _FIELDS[name] = tuple(f.name for f in dataclasses.fields(cls))
        _SYNTAX[name] = [f in _SYNTAX_FIELDS for f in _FIELDS[name]]
        _BY_TYPE[cls] = (name, _FIELDS[name])
        _CLASS_DECODERS[name] = _class_decoder(name, cls, _SYNTAX[name])
        for field_name in _SYNTAX_FIELDS & set(_FIELDS[name]):
            slot = cls.__dict__.get(field_name)
            if slot is not None and not isinstance(slot, _LazyField):
                setattr(cls, field_name, _LazyField(slot))


_register(diagnostic)


def _facts_module() -> Any:
    """The fact classes, registered on first use: a run that only replays findings never
    imports them (a tenth of a warm run's start-up)."""
    from losslint.index import facts

    if "ModuleIndex" not in _CLASSES:
        _register(facts)
    return facts


def plain_statements(module: ModuleIndex) -> list[ast.stmt]:
    """A module's top-level statements other than function and class definitions (module-level
    values, a training script's body), without parsing the definitions when they are cached."""
    lazy = raw(module, "tree")
    if isinstance(lazy, _Lazy):
        return lazy.source.plain_statements()
    return [s for s in module.tree.body if not isinstance(s, DEFINITIONS)]


def chunk_statements(module: ModuleIndex, numbers: Iterable[int]) -> list[ast.stmt]:
    """The top-level statements of chunks ``numbers`` of a module, in order, other than
    function and class definitions (see :func:`plain_statements`), parsing only those chunks
    when the module's tree is not at hand."""
    return [s for s in chunk_trees(module, numbers) if not isinstance(s, DEFINITIONS)]


def mentioning_statements(module: ModuleIndex, text: str, syntax: bool = False) -> list[ast.stmt]:
    """The top-level statements of a module whose lines contain ``text`` (a function called
    by name: ``focal(``), parsed alone: a module that names it once need not be parsed whole.
    ``syntax``: only their syntax is read (see :func:`lines_with`)."""
    numbers = {chunk_number(module.chunks, n) for n, _ in lines_with(module, text, syntax)}
    return chunk_trees(module, numbers)


def chunk_trees(module: ModuleIndex, numbers: Iterable[int]) -> list[ast.stmt]:
    """The top-level statements of chunks ``numbers`` of a module, in order, definitions
    included, parsing only those chunks when the module's tree is not at hand."""
    wanted = sorted(set(numbers))
    lazy = raw(module, "tree")
    if isinstance(lazy, _Lazy):
        source = lazy.source
        if len(source.chunks) > 1:  # (a whole parse is filed under its chunks too)
            body = [s for k in wanted if 0 <= k < len(source.chunks) for s in source._part(k)]
        else:
            body = source.tree().body if wanted else []
    else:
        starts = module.chunks
        body = [s for s in module.tree.body if chunk_number(starts, first_line(s)) in wanted]
    return body


def source_of(module: ModuleIndex) -> Source | None:
    """The file a decoded module's syntax is re-parsed from; None for facts made in this
    process (their syntax is at hand)."""
    for name in ("tree", "lines"):
        lazy = raw(module, name)
        if isinstance(lazy, _Lazy):
            return lazy.source
    lines = raw(module, "lines")  # both read: the lines still know their file
    return lines.source if isinstance(lines, _Lines) else None


def raw(instance: object, name: str) -> Any:
    """A field's stored value without resolving it (to hand a locator on unresolved)."""
    descriptor = type(instance).__dict__.get(name)
    if isinstance(descriptor, _LazyField):
        return descriptor.raw(instance)
    return getattr(instance, name)


def _find(tree: ast.AST, position: _Position) -> ast.AST | None:
    """The outermost node of ``position``'s type and span, descending only into the children
    that enclose it (walking the whole tree cost more than parsing it)."""
    kind, line, column, end_line, end_column = position
    if kind == LambdaDef.__name__:  # a lambda read as a function: the lambda, made one again
        lam = _find(tree, ("Lambda", line, column, end_line, end_column))
        if not isinstance(lam, ast.Lambda):
            return None
        assigned = next(
            (
                found[0]
                for statement in subtree(tree)
                if isinstance(statement, ast.stmt)
                and (found := assigned_lambda(statement)) is not None
                and found[1] is lam
            ),
            None,
        )
        return LambdaDef.of(lam, assigned)
    start, end = (line, column), (end_line, end_column)
    level = [tree]
    while level:
        deeper = []
        for node in level:
            for child in ast.iter_child_nodes(node):
                child_end = getattr(child, "end_lineno", None)
                if child_end is None:  # arguments, withitem...: no span, may hold it
                    deeper.append(child)
                    continue
                child_start = (child.lineno, child.col_offset)  # type: ignore[attr-defined]
                child_stop = (child_end, child.end_col_offset)  # type: ignore[attr-defined]
                if child_start > start or child_stop < end:
                    continue
                if child_start == start and child_stop == end and type(child).__name__ == kind:
                    return child
                deeper.append(child)
        level = deeper
    return None


def _position(node: ast.AST) -> _Position | None:
    end = getattr(node, "end_lineno", None)
    if end is None:
        return None
    return (
        type(node).__name__,
        node.lineno,  # type: ignore[attr-defined]
        node.col_offset,  # type: ignore[attr-defined]
        end,
        node.end_col_offset,  # type: ignore[attr-defined]
    )


# -- encoding -------------------------------------------------------------------------------


def encode(value: object) -> Any:
    """A JSON-ready form of a fact, a diagnostic, or anything built of the allowed field types."""
    kind = type(value)
    if isinstance(value, int) and kind is int:
        # JSON writes and reads an int in decimal, which Python refuses past 4300 digits (a
        # hex literal of 5,000 digits in a file): those are written in hex.
        return value if -_DECIMAL_LIMIT < value < _DECIMAL_LIMIT else {"@int": hex(value)}
    if kind is str or kind is bool or value is None:
        return value
    if kind is tuple:
        return [encode(item) for item in value]  # type: ignore[attr-defined]
    known = _BY_TYPE.get(kind)
    if known is None and kind.__module__ == "losslint.index.facts":
        _facts_module()
        known = _BY_TYPE.get(kind)
    if known is not None:
        name, fields = known
        return {"@": name, "f": [_encode_field(value, field) for field in fields]}
    return _encode_other(value)


def _encode_other(value: object) -> Any:
    if isinstance(value, enum.Enum):  # before int and str: IntEnum is an int
        return {"@enum": type(value).__name__, "v": value.value}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return (
            value
            if value == value and value not in (float("inf"), float("-inf"))
            else {"@float": repr(value)}
        )
    if isinstance(value, tuple):
        return [encode(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        raise TypeError(f"cannot cache a {type(value).__name__}: not a fact or diagnostic class")
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("cannot cache a dict whose keys are not all strings")
        return {"@dict": {key: encode(item) for key, item in value.items()}}
    if isinstance(value, frozenset):
        return {"@set": sorted((encode(item) for item in value), key=repr)}
    if isinstance(value, complex):
        return {"@complex": [encode(value.real), encode(value.imag)]}
    if isinstance(value, bytes):
        return {"@bytes": value.decode("latin-1")}
    if value is Ellipsis:
        return {"@ellipsis": True}
    raise TypeError(f"cannot cache a value of type {type(value).__name__}")


def _encode_field(instance: object, name: str) -> Any:
    if name not in _SYNTAX_FIELDS:
        return encode(getattr(instance, name))
    value = raw(instance, name)
    if isinstance(value, _Lazy):
        return {"@syntax": value.what if isinstance(value.what, str) else list(value.what)}
    if value is None:
        return None
    if name == "tree":
        return {"@syntax": "tree"}
    if name == "lines":
        return {"@syntax": "lines"}
    position = _position(value) if isinstance(value, ast.AST) else None
    if position is None:
        raise TypeError(f"cannot locate a {type(value).__name__} to cache it")
    return {"@syntax": list(position)}


# -- decoding -------------------------------------------------------------------------------


def decode(document: Any, source: Source | None = None) -> Any:
    """The value :func:`encode` gave ``document`` for; DecodeError when it is not such a form.

    ``source`` is the file the syntax locators point into (facts of one module); without it a
    document holding a locator is rejected.
    """
    try:
        return _decode(document, source)
    except DecodeError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as error:
        raise DecodeError(f"malformed cache document: {error}") from error


def _decode(document: Any, source: Source | None) -> Any:
    kind = type(document)
    if kind is str or kind is int or document is None or kind is bool or kind is float:
        return document
    if kind is list:
        return tuple(
            [
                item
                if (kind := type(item)) is int or kind is str or item is None
                else _decode(item, source)
                for item in document
            ]
        )
    if kind is dict and len(document) == 2:  # a fact: straight to its class's decoder
        name = document.get("@")
        decoder = _CLASS_DECODERS.get(name) if type(name) is str else None
        if decoder is not None:
            return decoder(document.get("f"), source)
    if not isinstance(document, dict) or len(document) not in (1, 2):
        raise DecodeError("not a cache document")
    handler = _DECODERS.get(next(iter(document)))
    if handler is None:
        raise DecodeError(f"unknown tag {next(iter(document))!r}")
    return handler(document, source)


def _decode_dataclass(document: dict[str, Any], source: Source | None) -> object:
    name = document["@"]
    decoder = _CLASS_DECODERS.get(name) if type(name) is str else None
    if decoder is None and type(name) is str and "ModuleIndex" not in _CLASSES:
        _facts_module()
        decoder = _CLASS_DECODERS.get(name)
    if decoder is None:
        raise DecodeError(f"not a cached fact: {name!r}")
    return decoder(document.get("f"), source)


def _decode_syntax(what: Any, source: Source | None) -> _Lazy:
    if source is None:
        raise DecodeError("a syntax locator outside a module's facts")
    if what in ("tree", "lines"):
        return _Lazy(source, what)
    if (
        isinstance(what, list)
        and len(what) == 5
        and isinstance(what[0], str)
        and all(type(n) is int for n in what[1:])
    ):
        return _Lazy(source, (what[0], what[1], what[2], what[3], what[4]))
    raise DecodeError("malformed syntax locator")


def _decode_enum(document: dict[str, Any], source: Source | None) -> enum.Enum:
    cls = _ENUMS.get(document["@enum"])
    if cls is None:
        raise DecodeError("unknown enumeration")
    return cls(document["v"])


def _decode_dict(document: dict[str, Any], source: Source | None) -> dict[str, Any]:
    items = document["@dict"]
    if not isinstance(items, dict):
        raise DecodeError("malformed mapping")
    return {key: _decode(value, source) for key, value in items.items()}


def _decode_set(document: dict[str, Any], source: Source | None) -> frozenset[Any]:
    return frozenset(_decode(item, source) for item in document["@set"])


def _decode_float(document: dict[str, Any], source: Source | None) -> float:
    text = document["@float"]
    if text not in ("nan", "inf", "-inf"):
        raise DecodeError("malformed float")
    return float(text)


def _decode_int(document: dict[str, Any], source: Source | None) -> int:
    text = document["@int"]
    if not isinstance(text, str):
        raise DecodeError("malformed int")
    try:
        return int(text, 16)
    except ValueError:
        raise DecodeError("malformed int") from None


def _decode_complex(document: dict[str, Any], source: Source | None) -> complex:
    real, imag = (_decode(part, source) for part in document["@complex"])
    return complex(real, imag)


def _decode_bytes(document: dict[str, Any], source: Source | None) -> bytes:
    text = document["@bytes"]
    if not isinstance(text, str):
        raise DecodeError("malformed bytes")
    return text.encode("latin-1")


def _decode_ellipsis(document: dict[str, Any], source: Source | None) -> object:
    return Ellipsis


_DECODERS: Final[dict[str, Callable[[dict[str, Any], Source | None], Any]]] = {
    "@": _decode_dataclass,
    "@enum": _decode_enum,
    "@dict": _decode_dict,
    "@set": _decode_set,
    "@float": _decode_float,
    "@int": _decode_int,
    "@complex": _decode_complex,
    "@bytes": _decode_bytes,
    "@ellipsis": _decode_ellipsis,
}
