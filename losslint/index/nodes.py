"""Every node of a syntax tree, walked once and kept on the tree.

The analyses ask of the same function, statement or expression many times (a helper read at
each of its call sites, a loss's body by each rule that reads it): :func:`ast.walk`, a
generator over generators, was a fifth of a check. The nodes are listed once in the order
:func:`ast.walk` gives (breadth first) and the list is kept on the node it started from.
Trees are never changed once parsed (a rewrite works on a fresh parse), so the list stays
true; a shallow copy of a node carries the list of the original, which is why it is only
taken when its first node is the node asked about.
"""

from __future__ import annotations

import ast
from typing import Final

_KEPT: Final = "_losslint_nodes"


def subtree(node: ast.AST) -> list[ast.AST]:
    """``list(ast.walk(node))``, computed once per node."""
    kept: list[ast.AST] | None = node.__dict__.get(_KEPT)
    if kept is not None and kept[0] is node:
        return kept
    found: list[ast.AST] = [node]
    at = 0
    while at < len(found):
        current = found[at]
        at += 1
        for name in current._fields:
            value = getattr(current, name, None)
            if isinstance(value, ast.AST):
                found.append(value)
            elif isinstance(value, list):
                found.extend(item for item in value if isinstance(item, ast.AST))
    node.__dict__[_KEPT] = found
    return found
