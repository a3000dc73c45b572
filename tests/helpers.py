"""Shared test helpers: run losslint in-process and read fixture markers."""

from __future__ import annotations

import json
import re
from pathlib import Path

from losslint import pipeline
from losslint.config import Config
from losslint.diagnostic import Diagnostic

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
_MARKER = re.compile(r"#\s*\[(?P<codes>[A-Z]{2}\d{3}(?:\s*,\s*[A-Z]{2}\d{3})*)\]\s*$")


def check(*paths: Path, **config: object) -> list[Diagnostic]:
    # The cache is tested on its own; here it would only hide analysis bugs.
    result = pipeline.run(list(paths), Config(root=ROOT, **config), jobs=1, use_cache=False)  # type: ignore[arg-type]
    assert not result.internal_errors, result.internal_errors
    return result.diagnostics


def expected_markers(path: Path) -> set[tuple[str, int, str]]:
    """``(file name, line, code)`` for every ``# [LLnnn]`` marker in a fixture file."""
    found = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = _MARKER.search(line)
        if match:
            for code in match.group("codes").split(","):
                found.add((path.name, number, code.strip()))
    return found


def reported(diagnostics: list[Diagnostic]) -> set[tuple[str, int, str]]:
    return {(Path(d.path).name, d.line, d.code) for d in diagnostics}


def code_notebook(cells: list[str]) -> str:
    """A notebook (its JSON text) with one code cell for each source in ``cells``."""
    return json.dumps(
        {
            "cells": [
                {"cell_type": "code", "metadata": {}, "source": text, "outputs": [],
                 "execution_count": None}
                for text in cells
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )  # fmt: skip
