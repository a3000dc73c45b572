"""SARIF 2.1.0 for GitHub code scanning: repository-relative URIs, rule metadata from the pages."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from losslint import __version__
from losslint.diagnostic import Diagnostic, Severity
from losslint.notebook import Locator
from losslint.pages import read_page, section
from losslint.report import json as json_report

if TYPE_CHECKING:
    from losslint.rules.registry import RuleInfo

SCHEMA: Final = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL: Final = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_LL000: Final = {
    "id": "LL000",
    "name": "unreadable-file",
    "shortDescription": {"text": "A file that could not be read, decoded or parsed"},
    "defaultConfiguration": {"level": "error"},
}


def repository_root(start: Path) -> Path:
    """The git work tree containing ``start``, else ``start`` itself."""
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=start,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return start
    top = found.stdout.strip()
    return Path(top) if found.returncode == 0 and top else start


def render(
    diagnostics: Sequence[Diagnostic],
    rules: Sequence[RuleInfo],
    root: Path,
    locator: Locator | None = None,
) -> str:
    root = root.resolve()
    locator = locator or Locator()
    catalogue = [_LL000, *(_rule(r) for r in rules)]
    index = {entry["id"]: i for i, entry in enumerate(catalogue)}
    seen: Counter[tuple[str, str, str]] = Counter()
    results = []
    for d in diagnostics:
        uri = _uri(d.path, root)
        lines = locator.lines(d.path)
        text = lines[d.line - 1] if 0 < d.line <= len(lines) else ""
        key = (d.code, uri, " ".join(text.split()))
        seen[key] += 1
        digest = hashlib.sha256("\0".join(key).encode("utf-8")).hexdigest()[:32]
        result: dict[str, Any] = {
            "ruleId": d.code,
            "level": _LEVEL[d.severity],
            "message": {"text": d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": d.span.line,
                            "startColumn": d.span.column,
                            "endLine": d.span.end_line,
                            "endColumn": d.span.end_column,
                        },
                    }
                }
            ],
            # Stable across unrelated edits above the finding: GitHub tracks alerts by it.
            "partialFingerprints": {"primaryLocationLineHash": f"{digest}:{seen[key]}"},
            "properties": {"source": d.source},
        }
        cell = locator.cell(d.path, d.line)
        if cell is not None:  # a notebook: the region counts lines within the cell
            position = json_report.entry(d, locator)
            region = result["locations"][0]["physicalLocation"]["region"]
            region["startLine"], region["endLine"] = position["line"], position["end_line"]
            result["properties"]["cell"] = cell[0]
        if d.code in index:
            result["ruleIndex"] = index[d.code]
        results.append(result)
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "losslint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": catalogue,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root.as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _rule(rule: RuleInfo) -> dict[str, Any]:
    page = read_page(rule.code) or ""
    entry: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"tags": ["keras", rule.code[:3]], "precision": "high"},
    }
    flags = section(page, "What it flags")
    if flags:
        entry["fullDescription"] = {"text": flags}
    if page:
        entry["help"] = {"text": page, "markdown": page}
    return entry


def _uri(path: str, root: Path) -> str:
    """A URI reference, percent-encoded from the file name's bytes (RFC 3986): a space, a
    newline or a non-UTF-8 byte in a name must not break or forge the reference."""
    absolute = Path(path).resolve()
    try:
        relative = absolute.relative_to(root).as_posix()
    except ValueError:
        return absolute.as_uri()
    return urllib.parse.quote(os.fsencode(relative), safe="/")
