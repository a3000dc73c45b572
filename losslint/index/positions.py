"""Source positions: ast nodes → 1-based spans that count characters, not UTF-8 bytes."""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Final

from losslint.diagnostic import Span

LINE_BREAK: Final = re.compile(r"\r\n|\r|\n")


def source_lines(source: str) -> list[str]:
    """The lines of ``source`` as Python numbers them: only CR LF, CR and LF end a line.

    ``str.splitlines`` also splits at form feed, U+2028, U+0085 and other characters that are
    not line ends to the tokenizer, which would shift every later line and column. Every stage
    (index positions, ``noqa`` lookup, fixes, reports) takes its lines from here.
    """
    # Without a CR, the line ends are the LFs: a plain split, five times faster.
    lines = LINE_BREAK.split(source) if "\r" in source else source.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the text after a final line end is not a line
    return lines


def line_breaks(text: str, start: int, end: int) -> int:
    """How many line ends lie in ``text[start:end]`` (CR LF counts once; a lone CR is one)."""
    return (
        text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)
    )


def placed_line(lines: Sequence[str], index: int) -> str:
    """Line ``index`` (from 0), read only to place a node or a finding on it. Lines that record
    what is read of them (the cache's: ``codec._Lines``) record a read of its chunk's syntax,
    not of its text."""
    place = getattr(lines, "position_line", None)
    return place(index) if place is not None else lines[index]


def column(lines: Sequence[str], line: int, byte_offset: int) -> int:
    """0-based character column of a UTF-8 byte offset on a 1-based line."""
    if 0 < line <= len(lines):
        text = placed_line(lines, line - 1)
        if not text.isascii():
            return len(
                text.encode("utf-8", "surrogatepass")[:byte_offset].decode("utf-8", "replace")
            )
    return byte_offset


def node_span(node: ast.AST, lines: Sequence[str]) -> Span:
    line = getattr(node, "lineno", 1)
    end_line = getattr(node, "end_lineno", None) or line
    col = getattr(node, "col_offset", 0)
    end_col = getattr(node, "end_col_offset", None) or col
    return Span(line, column(lines, line, col) + 1, end_line, column(lines, end_line, end_col) + 1)


def first_line(stmt: ast.stmt) -> int:
    """Where a statement starts: a decorated definition at its first decorator."""
    decorators: list[ast.expr] = getattr(stmt, "decorator_list", [])
    return min([stmt.lineno, *(d.lineno for d in decorators)])


def flat_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of a body, nested blocks included, nested functions and classes excluded.
    (In order, each block after the statement that opens it; a stack of iterators, not nested
    generators: the indexer reads every body of every module so.)"""
    stack: list[Iterator[ast.stmt]] = [iter(body)]
    while stack:
        for statement in stack[-1]:
            yield statement
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            inner: list[ast.stmt] = []
            for name in ("body", "orelse", "finalbody"):
                inner.extend(getattr(statement, name, None) or ())
            for handler in getattr(statement, "handlers", ()):
                inner.extend(handler.body)
            for case in getattr(statement, "cases", ()):  # ``match``
                inner.extend(case.body)
            if inner:
                stack.append(iter(inner))
                break
        else:
            stack.pop()


_BODIES: Final = ("body", "orelse", "finalbody", "handlers", "cases")


def nodes_on_lines(tree: ast.Module, lines: Sequence[int]) -> Iterator[ast.AST]:
    """The parts of ``tree`` to walk for what is written on ``lines`` (see parts_on_lines)."""
    return (part for part, _ in parts_on_lines(tree.body, lines))


def parts_on_lines(
    body: Sequence[ast.AST],
    lines: Sequence[int],
    skip: Callable[[ast.AST], bool] | None = None,
) -> Iterator[tuple[ast.AST, ast.AST | None]]:
    """The parts of ``body`` to walk for what is written on ``lines`` (sorted, from 1): each
    innermost statement holding one of them, and the header (test, target, decorators,
    arguments) of each compound statement that does, with that statement (None for a
    statement yielded whole). A statement spanning several lines is yielded whole when one of
    its lines is wanted; a compound statement that ``skip`` accepts is left out. What a text
    search of a module finds, read without walking the whole tree."""
    pending: list[ast.AST] = list(reversed(body))
    while pending:
        node = pending.pop()
        first = getattr(node, "lineno", None)
        if first is not None:  # (a ``case`` of a match has no position: its parts are read)
            last = getattr(node, "end_lineno", None) or first
            at = bisect.bisect_left(lines, first)
            if at == len(lines) or lines[at] > last:
                continue
        if not any(isinstance(getattr(node, name, None), list) for name in _BODIES):
            yield node, None  # a simple statement
            continue
        if skip is not None and skip(node):
            continue
        inner: list[ast.AST] = []
        for name, value in ast.iter_fields(node):
            if name in _BODIES and isinstance(value, list):
                inner.extend(value)
            elif isinstance(value, list):
                yield from ((v, node) for v in value if isinstance(v, ast.AST))
            elif isinstance(value, ast.AST):
                yield value, node
        pending.extend(reversed(inner))


def parameter_names(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[str]:
    """Every parameter name of ``node``, in order: positional, keyword-only, ``*args`` and
    ``**kwargs``."""
    args = node.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return [a.arg for a in every if a is not None]


def bound_names(statement: ast.stmt) -> Iterator[str]:
    """The plain names a statement binds by ``=``, an annotated ``=``, an augmented assignment
    or a ``for`` target (what the analyses look a module-level value up by)."""
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, ast.Name):
                yield target.id
        return
    if isinstance(statement, ast.AnnAssign) and statement.value is None:
        return
    if isinstance(statement, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)) and (
        isinstance(statement.target, ast.Name)
    ):
        yield statement.target.id


# Statements that define a name with a body of their own (a chunk of only these needs no parse
# to read a module's top-level values).
DEFINITIONS: Final = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def lines_matching(source: str, pattern: re.Pattern[str]) -> list[int]:
    """Sorted 1-based numbers of the lines (as Python counts them) where ``pattern`` matches."""
    return lines_at(source, (match.start() for match in pattern.finditer(source)))


def lines_with_words(source: str, words: Iterable[str], whole: bool = True) -> list[int]:
    """Sorted 1-based numbers of the lines (as Python counts them) where one of ``words`` is
    written: as a whole word (each word starts and ends with a letter, digit or ``_``), or
    anywhere when not ``whole``. What ``lines_matching`` with ``\\b(?:w1|w2|...)\\b`` finds,
    ten times faster: a plain search for each word, where the pattern tries every word at
    every place."""
    return lines_at(source, word_starts(source, words, whole))


def word_starts(source: str, words: Iterable[str], whole: bool = True) -> list[int]:
    """The sorted offsets in ``source`` where one of ``words`` starts (see lines_with_words)."""
    starts: list[int] = []
    size = len(source)
    for word in words:
        at = source.find(word)
        while at >= 0:
            end = at + len(word)
            before = source[at - 1] if at else " "
            after = source[end] if end < size else " "
            if not whole or not (
                before.isalnum() or before == "_" or after.isalnum() or after == "_"
            ):
                starts.append(at)
            at = source.find(word, at + 1)
    starts.sort()
    return starts


def lines_at(source: str, offsets: Iterable[int]) -> list[int]:
    """The 1-based numbers of the lines (as Python counts them) of sorted offsets in
    ``source``, each once."""
    found: list[int] = []
    line, previous = 1, 0
    for offset in offsets:
        line += line_breaks(source, previous, offset)
        previous = offset
        if not found or found[-1] != line:
            found.append(line)
    return found


class LambdaDef(ast.FunctionDef):
    """A lambda read as the function it is: one bound to a name (``wgan_loss = lambda t, p:
    mean(t * p)``) or written in a compile call (``loss=lambda yt, yp: ops.mean(yp)``). It is a
    ``def`` whose body returns the lambda's expression, on the lambda's span, so every analysis
    of functions reads it as written; ``lam`` is the lambda of the syntax tree."""

    lam: ast.Lambda

    @classmethod
    def of(cls, lam: ast.Lambda, assigned: str | None) -> LambdaDef:
        """The function of ``lam``, named by the name it is assigned to, else by its place."""
        returned = ast.copy_location(ast.Return(value=lam.body), lam.body)
        made = cls(
            name=assigned or lambda_name(lam),
            args=lam.args,
            body=[returned],
            decorator_list=[],
            returns=None,
            type_comment=None,
        )
        if "type_params" in ast.FunctionDef._fields:  # Python 3.12
            setattr(made, "type_params", [])  # noqa: B010 (not declared before 3.12)
        ast.copy_location(made, lam)
        made.lam = lam
        return made


def lambda_name(lam: ast.Lambda) -> str:
    """The name a lambda that is not assigned has in qualified names: its place."""
    return f"<lambda:{lam.lineno}:{lam.col_offset}>"


def inline_lambda(name: str) -> bool:
    """Whether a function's name is that of a lambda that is not assigned (:func:`lambda_name`)."""
    return name.startswith("<lambda:")


def assigned_lambda(statement: ast.stmt) -> tuple[str, ast.Lambda] | None:
    """``name = lambda a, b: ...`` with two or more positional parameters (a loss, a metric;
    a key function takes one): the name and the lambda."""
    if (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and isinstance(statement.value, ast.Lambda)
        and two_parameters(statement.value)
    ):
        return statement.targets[0].id, statement.value
    return None


def two_parameters(lam: ast.Lambda) -> bool:
    """Whether a lambda takes two or more positional parameters, as a loss or a metric does."""
    return len([*lam.args.posonlyargs, *lam.args.args]) >= 2
