"""Source positions: ast nodes → 1-based spans that count characters, not UTF-8 bytes."""

from __future__ import annotations

import ast
from collections.abc import Sequence

from losslint.diagnostic import Span


def column(lines: Sequence[str], line: int, byte_offset: int) -> int:
    """0-based character column of a UTF-8 byte offset on a 1-based line."""
    if 0 < line <= len(lines):
        text = lines[line - 1]
        if not text.isascii():
            return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "replace"))
    return byte_offset


def node_span(node: ast.AST, lines: Sequence[str]) -> Span:
    line = getattr(node, "lineno", 1)
    end_line = getattr(node, "end_lineno", None) or line
    col = getattr(node, "col_offset", 0)
    end_col = getattr(node, "end_col_offset", None) or col
    return Span(line, column(lines, line, col) + 1, end_line, column(lines, end_line, end_col) + 1)
