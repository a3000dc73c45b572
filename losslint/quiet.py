"""Parsing the user's code without the compiler's warnings about it.

``ast.parse`` warns about code that still compiles (``"\\d"``, an invalid escape sequence, is
a DeprecationWarning on Python 3.11 and a SyntaxWarning, shown by default, from 3.12): a linter
must not print those for every file it reads, and under ``-W error`` (``PYTHONWARNINGS=error``
in some CI images) the warning would become a SyntaxError and the file would "not parse".
"""

from __future__ import annotations

import ast
import warnings
from typing import Any


def parse(source: str | bytes, filename: str = "<unknown>", mode: str = "exec") -> Any:
    """:func:`ast.parse`, its warnings ignored (its errors are raised as ever)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source, filename=filename, mode=mode)


def parse_python2(source: str, filename: str = "<unknown>") -> Any:
    """:func:`parse`, and where the source has Python 2 ``print`` statements or ``except E,
    e:`` clauses, the parse of the source with those written as Python 3
    (:func:`python2_repaired`); the first error is raised where that fails too. Every parse of a
    file's text (the file, a chunk of it, a member of a class) goes through here, so that they
    all see the same statements."""
    try:
        return parse(source, filename=filename)
    except SyntaxError as error:
        tree = python2_tree(source, error, filename)
        if tree is None:
            raise
        return tree


def python2_tree(source: str, error: SyntaxError, filename: str = "<unknown>") -> Any:
    """The tree of ``source`` with its Python 2 statements written as Python 3, where
    ``error`` (the parser's, on ``source``) is one of those and the rewrite parses; else None."""
    repaired = python2_repaired(source) if python2_error(error) else None
    if repaired is None:
        return None
    try:
        return parse(repaired, filename=filename)
    except SyntaxError:
        return None


# What CPython says of a Python 2 ``print x`` statement, and of ``except E, e:``.
_PRINT_STATEMENT = "Missing parentheses in call to 'print'"
_EXCEPT_COMMA = "multiple exception types must be parenthesized"
_OPENERS = frozenset({"(", "[", "{"})
_CLOSERS = frozenset({")", "]", "}"})


def python2_error(error: SyntaxError) -> bool:
    """Whether ``error`` is one of the Python 2 statements :func:`python2_repaired` rewrites."""
    message = error.msg or ""
    return message.startswith(_PRINT_STATEMENT) or message.startswith(_EXCEPT_COMMA)


def python2_repaired(source: str) -> str | None:
    """``source`` with its Python 2 ``print`` statements written as calls (``print x, y`` →
    ``print(x, y)``, ``print >>f, x`` → ``print(x, file=f)``, ``print`` → ``print()``) and
    ``except E, e:`` as ``except E as e:``; None where it has none or cannot be tokenized.
    Lines keep their numbers, and the text before each change its columns (the space after
    ``print`` becomes the parenthesis), so positions in a tree of the result are those of the
    source everywhere but after a rewritten ``print`` on its own line."""
    import io
    import tokenize

    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []  # (line, start column, end column, new text)
    starts = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT}
    previous: tokenize.TokenInfo | None = None
    depth = 0
    for index, token in enumerate(tokens):
        if token.type == tokenize.OP and token.string in _OPENERS:
            depth += 1
        elif token.type == tokenize.OP and token.string in _CLOSERS:
            depth = max(depth - 1, 0)
        at_start = (
            previous is None
            or previous.type in starts
            or (previous.type == tokenize.OP and previous.string in (":", ";") and depth == 0)
        )
        if token.type == tokenize.NAME and token.string == "print" and at_start:
            edit = _print_call(tokens, index)
            if edit is not None:
                edits.extend(edit)
        elif token.type == tokenize.NAME and token.string == "except" and at_start:
            edits.extend(_except_as(tokens, index))
        if token.type not in (tokenize.COMMENT, tokenize.NL):
            previous = token
    if not edits:
        return None
    for line, start, end, text in sorted(edits, reverse=True):
        row = lines[line - 1]
        lines[line - 1] = row[:start] + text + row[end:]
    return "".join(lines)


def _print_call(tokens: list[Any], index: int) -> list[tuple[int, int, int, str]] | None:
    """The edits that make the ``print`` statement at ``tokens[index]`` a call."""
    import tokenize

    name = tokens[index]
    rest: list[Any] = []
    for token in tokens[index + 1 :]:
        if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or (
            token.type == tokenize.OP and token.string == ";" and _flat(rest)
        ):
            break
        if token.type != tokenize.COMMENT and token.type != tokenize.NL:
            rest.append(token)
    opener = rest[0].string if rest and rest[0].type == tokenize.OP else ""
    if opener in ("=", ".", "[") or (opener == "(" and _closes_at_end(rest)):
        return None  # already a call (``print(x)``), or ``print`` used as a name
    line, column = name.end
    if not rest:
        return [(line, column, column, "()")]
    last = rest[-1]
    close = [(last.end[0], last.end[1], last.end[1], ")")]
    first = rest[0]
    if first.type == tokenize.OP and first.string == ">>":
        # ``print >>sys.stderr, x``: the stream goes last, as ``file=``.
        comma = next(
            (i for i, t in enumerate(rest) if t.type == tokenize.OP and t.string == ","), None
        )
        if comma is None or comma < 2 or comma == len(rest) - 1:
            return None
        stream_start, stream_end = rest[1].start, rest[comma - 1].end
        after = rest[comma + 1].start
        if not stream_start[0] == stream_end[0] == after[0] == line:
            return None  # the stream and what follows it on the line of ``print`` only
        stream = name.line[stream_start[1] : stream_end[1]]
        return [
            (line, column, after[1], "("),
            (last.end[0], last.end[1], last.end[1], f", file={stream})"),
        ]
    if name.end[0] == first.start[0] and first.start[1] == column + 1:
        return [(line, column, column + 1, "("), *close]  # the space becomes the parenthesis
    return [(line, column, column, "("), *close]


def _flat(tokens: list[Any]) -> bool:
    """Whether the brackets of ``tokens`` are all closed."""
    depth = 0
    for token in tokens:
        if token.string in _OPENERS:
            depth += 1
        elif token.string in _CLOSERS:
            depth -= 1
    return depth == 0


def _closes_at_end(rest: list[Any]) -> bool:
    """Whether the parenthesis that opens ``rest`` closes at its last token: ``print(x)``."""
    depth = 0
    for position, token in enumerate(rest):
        if token.string in _OPENERS:
            depth += 1
        elif token.string in _CLOSERS:
            depth -= 1
            if depth == 0:
                return position == len(rest) - 1
    return False


def _except_as(tokens: list[Any], index: int) -> list[tuple[int, int, int, str]]:
    """``except ValueError, error:`` → ``except ValueError as error:``."""
    import tokenize

    depth = 0
    for token in tokens[index + 1 :]:
        if token.type == tokenize.NEWLINE:
            break
        if token.type != tokenize.OP:
            continue
        if token.string in _OPENERS:
            depth += 1
        elif token.string in _CLOSERS:
            depth -= 1
        elif token.string == "," and depth == 0:
            line, column = token.start
            return [(line, column, token.end[1], " as")]
        elif token.string == ":" and depth == 0:
            break
    return []
