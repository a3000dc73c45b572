"""One JSON array of diagnostics, the SPEC §1 type."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from losslint.diagnostic import Diagnostic, unicode_path
from losslint.notebook import Locator


def render(diagnostics: Sequence[Diagnostic], locator: Locator | None = None) -> str:
    locator = locator or Locator()
    return json.dumps([entry(d, locator) for d in diagnostics], indent=2, ensure_ascii=False) + "\n"


def entry(d: Diagnostic, locator: Locator) -> dict[str, Any]:
    """The diagnostic; in a notebook, lines count within the cell named by ``cell``, as a user
    finds them in Jupyter (the path stays the notebook file)."""
    result = d.to_dict()
    result["path"] = unicode_path(d.path)  # JSON escapes a newline itself
    cell = locator.cell(d.path, d.line)
    if cell is not None:
        result["cell"] = cell[0]
        result["line"] = cell[1]
        end = locator.cell(d.path, d.span.end_line)
        result["end_line"] = end[1] if end is not None and end[0] == cell[0] else cell[1]
    return result
