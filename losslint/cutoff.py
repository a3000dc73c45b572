"""A file before and after an edit, compared for the early cutoff (see the pipeline's
``_Unit``): its facts, the same up to lines that moved in order or changed where no rule can
see; and the statements the analyses read of it, the same text moved, or the same syntax
(:func:`same_syntax`), with the findings moved along (:func:`moved`, :func:`remapped`).

Facts are compared as the cache stores them (:mod:`losslint.codec`), without decoding them:
the central module of a large project has 50,000 facts.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from losslint import quiet
from losslint.codec import Source, SourceChanged
from losslint.diagnostic import Diagnostic, Span
from losslint.index.nodes import subtree
from losslint.index.positions import column, source_lines

if TYPE_CHECKING:
    from losslint.parse import ParsedModule

# A diagnostic with the text of its line (see the pipeline).
Found = tuple[Diagnostic, str]


@functools.cache
def field_position(name: str) -> int:
    """The position of a field in a facts document (imported here only when facts are read)."""
    from losslint.index.facts import ModuleIndex

    return [f.name for f in dataclasses.fields(ModuleIndex)].index(name)


@functools.cache
def _function_field(name: str) -> int:
    from losslint.index.facts import FunctionDef

    return [f.name for f in dataclasses.fields(FunctionDef)].index(name)


def same_facts(before: Any, after: Any) -> bool:
    """Equal facts documents, up to the lines they point at: facts whose lines moved and kept
    their order (a line inserted above them) count as the same. The path is the one of
    whichever run indexed the content.

    One walk of both documents side by side: everything but the line numbers (of a span, a
    syntax locator, a chunk) must be equal, and the line numbers must pair up one to one and
    in order, which is what ranking each document's lines and comparing would tell, at a
    fraction of the cost."""
    if before == after:
        return True
    fields = _module_fields(before, after)
    if fields is None:
        return False
    old, new = fields
    pairs: set[tuple[int, int]] = set()
    chunks = field_position("chunks")
    old_chunks, new_chunks = old[chunks], new[chunks]
    if isinstance(old_chunks, list) and isinstance(new_chunks, list):
        if not _chunks_paired(old_chunks, new_chunks, pairs):
            return False
    elif old_chunks != new_chunks:
        return False
    # ``members`` only says where a class is parsed a piece at a time: no rule reads it.
    return _rest_paired(old, new, ("path", "chunks", "members"), pairs)


@dataclass(frozen=True)
class UnseenChange:
    """An edit that changed only top-level functions that no rule selects by their shape
    (:func:`losslint.index.project.unseen_function`): added, removed or with a new signature.
    It changes no finding if nothing else in the project names them (:meth:`unnamed`)."""

    present: frozenset[str]  # the simple names of those functions that are there now
    gone: frozenset[str]  # and of those removed
    chunks: dict[int, int]  # each chunk that is on both sides: its number before → after

    def unnamed(self, edited: bytes, others: Iterable[bytes]) -> bool:
        """Whether no text names the functions but their own ``def`` lines: ``edited`` is the
        file as it is now, ``others`` every other file of the project, the skipped ones too.
        Where nothing names a function, no import, call, string id or compile site reaches
        it, before the edit or after: no lookup of the project finds it. The search is for
        the name as a word anywhere, comments and strings included, so that it can only err
        on the side of checking again."""
        words = {n: re.compile(rb"\b%s\b" % n.encode()) for n in self.present | self.gone}
        for name, word in words.items():
            if len(word.findall(edited)) != (name in self.present):
                return False  # its def line (where it is still defined), and no other
        for text in others:
            for name, word in words.items():
                if name.encode() in text and word.search(text):
                    return False
        return True


def unseen_change(before: Any, after: Any, module: str) -> UnseenChange | None:
    """How the facts of module ``module`` went from ``before`` to ``after`` when they differ
    only by top-level functions, each in a chunk of its own and unseen by the rules' selection
    (see :class:`UnseenChange`); None otherwise, and for any shape this version did not write.

    Every other fact must be the same up to lines that moved in order, as in
    :func:`same_facts`, including the functions on both sides whose facts are equal."""
    from losslint.index.project import unseen_function

    fields = _module_fields(before, after)
    if fields is None:
        return None
    old, new = fields
    position = field_position
    try:
        old_functions = _by_qualname(old[position("functions")])
        new_functions = _by_qualname(new[position("functions")])
        if old_functions is None or new_functions is None:
            return None
        common = [q for q in old_functions if q in new_functions]
        if common != [q for q in new_functions if q in old_functions]:
            return None  # reordered
        pairs: set[tuple[int, int]] = set()
        touched: list[Any] = []  # the function facts that differ, from either side
        changed: set[str] = set()  # the simple names of those on both sides
        for qualname in common:
            trial: set[tuple[int, int]] = set()
            if paired(old_functions[qualname], new_functions[qualname], trial):
                pairs |= trial
            else:
                touched += [old_functions[qualname], new_functions[qualname]]
                changed.add(qualname.rpartition(".")[2])
        gone = [old_functions[q] for q in old_functions if q not in new_functions]
        added = [new_functions[q] for q in new_functions if q not in old_functions]
        touched += gone + added
        if not touched:
            return None  # the difference is elsewhere
        for function in touched:
            fields_of = function["f"]
            qualname = _qualname(function)
            params = fields_of[_function_field("params")]
            hands_out = fields_of[_function_field("returns_function")] is not None or bool(
                fields_of[_function_field("returns")]
            )
            if not (
                isinstance(qualname, str)
                and isinstance(params, list)
                and all(isinstance(p, str) for p in params)
                and not hands_out
                and unseen_function(qualname, module, params)
                and qualname.isascii()
            ):
                return None
        # Each function added or removed is a chunk of its own, starting at its ``def``.
        old_chunks, new_chunks = old[position("chunks")], new[position("chunks")]
        gone_chunks = _own_chunks(gone, old_chunks)
        added_chunks = _own_chunks(added, new_chunks)
        if gone_chunks is None or added_chunks is None:
            return None
        kept_old = [n for n in range(len(old_chunks)) if n not in gone_chunks]
        kept_new = [n for n in range(len(new_chunks)) if n not in added_chunks]
        if not _chunks_paired(
            [old_chunks[n] for n in kept_old], [new_chunks[n] for n in kept_new], pairs
        ):
            return None
        renumber = dict(zip(kept_old, kept_new, strict=True))
        definitions = position("definition_chunks")
        old_definitions = _set_of(old[definitions], int)
        new_definitions = _set_of(new[definitions], int)
        if old_definitions is None or new_definitions is None:
            return None
        if not gone_chunks <= old_definitions or new_definitions != added_chunks | {
            renumber[n] for n in old_definitions - gone_chunks
        }:
            return None
        top = position("top_level")
        old_top, new_top = _set_of(old[top], str), _set_of(new[top], str)
        gone_names = {_qualname(f).rpartition(".")[2] for f in gone}
        added_names = {_qualname(f).rpartition(".")[2] for f in added}
        if old_top is None or new_top is None or added_names & old_top:
            return None  # a second binding of a name: which one wins may change
        if not gone_names <= old_top or new_top != (old_top - gone_names) | added_names:
            return None
        # The chunks binding each module-level name, renumbered (a function binds none).
        old_bindings = old[position("bindings")]["@dict"]
        new_bindings = new[position("bindings")]["@dict"]
        renumbered = {
            name: [renumber[number] for number in numbers] for name, numbers in old_bindings.items()
        }
        if renumbered != new_bindings:
            return None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None
    compared = (
        "path", "functions", "chunks", "definition_chunks", "top_level", "bindings", "members"
    )  # fmt: skip
    if not _rest_paired(old, new, compared, pairs):
        return None
    return UnseenChange(frozenset(changed | added_names), frozenset(gone_names), renumber)


def _qualname(function: Any) -> Any:
    """The qualified name in a function's facts document."""
    return function["f"][_function_field("qualname")]


def _rest_paired(
    old: list[Any], new: list[Any], compared: tuple[str, ...], pairs: set[tuple[int, int]]
) -> bool:
    """The fields of two facts documents other than those ``compared`` already, paired as
    :func:`paired` pairs them, and all the line pairs one to one and in order."""
    skip = {field_position(name) for name in compared}
    return all(
        i in skip or paired(a, b, pairs) for i, (a, b) in enumerate(zip(old, new, strict=True))
    ) and _in_order(pairs)


def _module_fields(before: Any, after: Any) -> tuple[list[Any], list[Any]] | None:
    """The field lists of two facts documents of a module, when both are of this version's
    shape."""
    if not (
        isinstance(before, dict)
        and isinstance(after, dict)
        and before.get("@") == after.get("@") == "ModuleIndex"
    ):
        return None
    old, new = before.get("f"), after.get("f")
    fields = ("path", "chunks", "definition_chunks", "top_level", "bindings", "members")
    last = max(field_position(n) for n in fields)
    if not (isinstance(old, list) and isinstance(new, list) and len(old) == len(new) > last):
        return None
    return old, new


def _by_qualname(functions: Any) -> dict[str, Any] | None:
    """Function facts by qualified name, in order; None where a name is bound twice."""
    if not isinstance(functions, list):
        return None
    out: dict[str, Any] = {}
    for function in functions:
        if not (isinstance(function, dict) and function.get("@") == "FunctionDef"):
            return None
        qualname = _qualname(function)
        if not isinstance(qualname, str) or qualname in out:
            return None
        out[qualname] = function
    return out


def _own_chunks(functions: list[Any], starts: Any) -> set[int] | None:
    """The chunks that ``functions`` start, each at its ``def`` line (so not decorated)."""
    if not isinstance(starts, list):
        return None
    where = {line: n for n, line in enumerate(starts) if type(line) is int}
    out: set[int] = set()
    for function in functions:
        span = function["f"][_function_field("span")]
        line = span["f"][0] if isinstance(span, dict) and span.get("@") == "Span" else None
        if line not in where or where[line] == 0:  # the first chunk holds what is above too
            return None
        out.add(where[line])
    return out if len(out) == len(functions) else None


def _set_of(document: Any, kind: type) -> set[Any] | None:
    if not (isinstance(document, dict) and isinstance(document.get("@set"), list)):
        return None
    items = document["@set"]
    return set(items) if all(type(item) is kind for item in items) else None


def _chunks_paired(old: list[Any], new: list[Any], pairs: set[tuple[int, int]]) -> bool:
    """The first lines of the chunks, paired: the first chunk starts at line 1 whatever moved
    below it."""
    if len(old) != len(new) or old[:1] != new[:1]:
        return False
    return paired(old[1:], new[1:], pairs, lines=True)


def _in_order(pairs: set[tuple[int, int]]) -> bool:
    """No line maps to two, no two map to one, and their order is kept."""
    previous = (-1, -1)
    for pair in sorted(pairs):
        if pair[0] <= previous[0] or pair[1] <= previous[1]:
            return False
        previous = pair
    return True


def paired(a: Any, b: Any, pairs: set[tuple[int, int]], lines: bool = False) -> bool:
    """``a`` equals ``b`` but for line numbers, whose ``(a's, b's)`` pairs go to ``pairs``.
    ``lines``: ``a`` and ``b`` are lists of line numbers."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is list:
        if len(a) != len(b):
            return False
        if lines:
            for x, y in zip(a, b, strict=True):
                if type(x) is int and type(y) is int:
                    pairs.add((x, y))
                elif x != y:
                    return False
            return True
        return all(paired(x, y, pairs) for x, y in zip(a, b, strict=True))
    if kind is not dict:
        return bool(a == b)  # a leaf: the line numbers are in spans, locators and chunks
    if a.keys() != b.keys():
        return False
    if a.get("@") == "Span":
        f, g = a.get("f"), b.get("f")
        if isinstance(f, list) and isinstance(g, list) and len(f) == len(g) >= 3:
            return f[1] == g[1] and f[3:] == g[3:] and paired(f[0:3:2], g[0:3:2], pairs, True)
    elif "@syntax" in a:
        w, v = a["@syntax"], b["@syntax"]
        if isinstance(w, list) and isinstance(v, list) and len(w) == len(v) >= 4:
            return (
                w[0] == v[0]
                and w[2] == v[2]
                and w[4:] == v[4:]
                and paired(w[1:4:2], v[1:4:2], pairs, lines=True)
            )
    return all(paired(a[key], b[key], pairs) for key in a)


def same_syntax(old: str, old_first: int, new: str, new_first: int) -> dict[int, int] | None:
    """How the lines of a chunk's statements moved, when its text changed but its syntax did
    not: ``old`` and ``new`` are the texts of the chunk from its first line (``old_first``,
    ``new_first``) to its last. The map takes each line where a node starts or ends to where
    that node is now. None unless both parse to the same tree, each node on the same columns
    (in characters) and its lines moved in order: comments and blank lines may change, not a
    token nor where one stands on its line.

    An analysis that reads only the syntax of a chunk (its nodes and their positions) then
    sees the same thing, moved: what it found there moves with the nodes."""
    trees = []
    for text, first in ((old, old_first), (new, new_first)):
        try:
            trees.append(quiet.parse_python2("\n" * (first - 1) + text))
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return None
    before, after = trees
    try:
        if ast.dump(before, include_attributes=False) != ast.dump(after, include_attributes=False):
            return None
    except RecursionError:
        return None
    old_lines = [""] * (old_first - 1) + source_lines(old)
    new_lines = [""] * (new_first - 1) + source_lines(new)
    pairs: set[tuple[int, int]] = set()
    for a, b in zip(subtree(before), subtree(after), strict=True):
        if not hasattr(a, "lineno"):
            continue
        line, start, end, stop = _place(a, old_lines)
        b_line, b_start, b_end, b_stop = _place(b, new_lines)
        if start != b_start or stop != b_stop:
            return None
        pairs.add((line, b_line))
        pairs.add((end, b_end))
    if not _in_order(pairs):
        return None
    return dict(pairs)


@dataclass(frozen=True, slots=True)
class Move:
    """Where a chunk read by the analyses went in an edit: its lines as stored (``first`` to
    ``last``), its extent now (``now``: see :meth:`Source.extents`), and how its lines moved:
    all by ``shift``, or, where its text changed but not its syntax, each as ``lines`` maps it
    (:func:`same_syntax`; ``text`` then holds its lines now, from ``now``'s first)."""

    first: int
    last: int
    now: list[Any]
    shift: int = 0
    lines: Mapping[int, int] | None = None
    text: Sequence[str] = ()

    def line(self, line: int) -> int | None:
        """Where line ``line`` is now; None when it is not one this move can place."""
        if not self.first <= line <= self.last:
            return None
        if self.lines is None:
            return line + self.shift
        return self.lines.get(line)


def moved(
    source: Source,
    document: Any,
    extents: Any,
    stored_text: Callable[[str], str | None],
    renumber: Mapping[int, int] | None = None,
    texts: dict[str, str] | None = None,
    parsed: ParsedModule | None = None,
) -> list[Move] | None:
    """How each chunk in ``extents`` (as stored) moved, when ``source``, the file as it is
    now with ``document`` its facts, has each of them with the same text, or, for a chunk
    whose text was not read (only its syntax: see :data:`codec.TEXT`), the same syntax; else
    None. ``stored_text``: the text of a chunk as stored, by its digest, if kept.
    ``renumber``: the chunks' numbers now by their stored ones, where chunks came or went (by
    default they are the same). ``texts``: where the text of each chunk that changed goes, by
    its digest now. ``parsed``: the parse the facts came from, if at hand."""
    try:
        starts = tuple(document["f"][field_position("chunks")])
        numbers = [int(number) for number, *_ in extents]
        if renumber is not None:
            numbers = [renumber[number] for number in numbers]  # a chunk removed: KeyError
        if not numbers or any(type(v) is not int for v in starts):
            return None
    except (KeyError, TypeError, ValueError, IndexError):
        return None  # read whole (None), or not an entry this version wrote
    source.chunks = starts
    if parsed is not None:
        source.adopt(parsed.source, parsed.tree)
    if min(numbers) < 0 or max(numbers) >= len(starts):
        return None
    found: dict[str, str] = {}
    try:
        now = source.extents(numbers, texts=found)
    except (SourceChanged, SyntaxError, ValueError, OSError):
        return None
    if now is None:
        return None
    out = []
    try:
        for (_, first, last, digest, *flags), (number, first_now, last_now, digest_now) in zip(
            extents, now, strict=True
        ):
            if type(first) is not int or type(last) is not int:
                return None
            read_text = bool(flags and flags[0])
            entry = [number, first_now, last_now, digest_now, int(read_text)]
            if digest == digest_now and last - first == last_now - first_now:
                out.append(Move(first, last, entry, first_now - first))
                continue
            old = None if read_text else stored_text(digest)
            if old is None:
                return None
            text = found[digest_now]
            lines = same_syntax(old, first, text, first_now)
            if lines is None:
                return None
            if texts is not None:
                texts[digest_now] = text
            out.append(Move(first, last, entry, lines=lines, text=source_lines(text)))
    except (TypeError, ValueError):
        return None
    return out


def _place(node: Any, lines: list[str]) -> tuple[int, int, int, int]:
    """A node's first line, column (in characters), last line and end column."""
    line = node.lineno
    end = getattr(node, "end_lineno", None) or line
    start = node.col_offset
    stop = getattr(node, "end_col_offset", None)
    stop = start if stop is None else stop
    return line, column(lines, line, start), end, column(lines, end, stop)


def shifted(extents: Any, moves: list[Move] | None) -> Any:
    """Stored extents as the file's edit moved them."""
    if moves is None or not isinstance(extents, list):
        return extents
    return [move.now for move in moves]


# How a message points at a line of its own file (``... (line 12)``).
_LINE_IN_MESSAGE: Final = re.compile(r"\bline (\d+)\b")


def remapped(found: list[Found], moves: dict[str, list[Move]]) -> list[Found] | None:
    """``found`` with the positions in moved chunks moved; None when one is outside them, or
    when a message names a line of its file that moved (the message would be made anew)."""
    if not moves:
        return found

    def place(line: int, moved: list[Move]) -> tuple[Move, int] | None:
        for move in moved:
            now = move.line(line)
            if now is not None:
                return move, now
        return None

    def span(value: Span, moved: list[Move]) -> tuple[Move, Span] | None:
        start = place(value.line, moved)
        if start is None:
            return None
        move, line = start
        end = move.line(value.end_line)
        if end is None:
            return None
        return move, dataclasses.replace(value, line=line, end_line=end)

    out: list[Found] = []
    for d, text in found:
        moved = moves.get(d.path)
        if moved is None:
            out.append((d, text))
            continue
        for number in _LINE_IN_MESSAGE.findall(d.message):
            placed = place(int(number), moved)
            if placed is None or placed[1] != int(number):
                return None
        where = span(d.span, moved)
        if where is None:
            return None
        move, at = where
        if move.lines is not None:  # its text changed: the line as it is now, for noqa
            text = move.text[at.line - move.now[1]]
        fix = d.fix
        if fix is not None:
            edits = []
            for edit in fix.edits:
                if edit.span is None:
                    edits.append(edit)
                    continue
                moved_edit = span(edit.span, moved)
                if moved_edit is None:
                    return None
                if moved_edit[0].lines is not None and edit.kind == "comment":
                    return None  # a comment is no node: where it is now is not known
                edits.append(dataclasses.replace(edit, span=moved_edit[1]))
            fix = dataclasses.replace(fix, edits=tuple(edits))
        out.append((dataclasses.replace(d, span=at, fix=fix), text))
    return out
