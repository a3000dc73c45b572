"""Every node of a syntax tree, walked once and kept on the tree.

The analyses ask of the same function, statement or expression many times (a helper read at
each of its call sites, a loss's body by each rule that reads it): :func:`ast.walk`, a
generator over generators, was a tenth of a re-check. The nodes below a node are listed once,
in the order :func:`ast.walk` gives (breadth first), and kept on it. Trees are never changed
once parsed (a rewrite works on a fresh parse, and a shallow copy, whose fields may then be
replaced, walks itself again), so the list stays true. The list holds the
node's descendants, not the node itself: a node referring to itself would be a reference
cycle, which only the cycle collector frees, and the pipeline keeps that collector from
rescanning the trees (``gc.freeze``), so every tree would live to the end of the run.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from typing import Final

_KEPT: Final = "_losslint_below"


def subtree(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk(node)``, the descendants listed once per node."""
    found: tuple[int, list[ast.AST]] | None = node.__dict__.get(_KEPT)
    if found is not None and found[0] == id(node):
        kept = found[1]
    else:  # never walked, or a shallow copy of a node that was (its list is the original's)
        kept = []
        at = 0
        current = node
        while True:
            for name in current._fields:
                value = getattr(current, name, None)
                if isinstance(value, ast.AST):
                    kept.append(value)
                elif isinstance(value, list):
                    kept.extend(item for item in value if isinstance(item, ast.AST))
            if at == len(kept):
                break
            current = kept[at]
            at += 1
        node.__dict__[_KEPT] = (id(node), kept)
    return itertools.chain((node,), kept)
