"""One JSON array of diagnostics, the SPEC §1 type."""

from __future__ import annotations

import json
from collections.abc import Sequence

from losslint.diagnostic import Diagnostic


def render(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps([d.to_dict() for d in diagnostics], indent=2, ensure_ascii=False) + "\n"
