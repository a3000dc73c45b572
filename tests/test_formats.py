"""CI formats: SARIF that code scanning accepts, GitHub annotations that round-trip."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from losslint.diagnostic import Diagnostic, Severity, Span
from losslint.report import github
from tests.helpers import ROOT
from tests.test_cli import BUGGY, run

SCHEMA = ROOT.parent / "shared" / "data" / "sarif-schema-2.1.0.json"


def _sarif(cwd: Path, *paths: str) -> dict:  # type: ignore[type-arg]
    done = run("check", *paths, "--format", "sarif", cwd=cwd)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.skipif(not SCHEMA.is_file(), reason=f"SARIF schema not found at {SCHEMA}")
def test_sarif_validates_against_the_schema() -> None:
    import jsonschema

    document = _sarif(ROOT, "fixtures/demo")
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))


def test_sarif_content_for_code_scanning(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(BUGGY)
    document = _sarif(tmp_path / "src", ".")
    (run_,) = document["runs"]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules][:3] == ["LL000", "LL001", "LL101"]
    assert "help" in rules[2] and rules[2]["fullDescription"]["text"]
    (result,) = run_["results"]
    location = result["locations"][0]["physicalLocation"]
    # Repository-relative, even when run from a subdirectory.
    assert location["artifactLocation"]["uri"] == "src/train.py"
    assert location["region"]["startLine"] == 4 and location["region"]["startColumn"] >= 1
    assert result["level"] == "error"
    assert rules[result["ruleIndex"]]["id"] == "LL101"
    assert re.fullmatch(r"[0-9a-f]{32}:1", result["partialFingerprints"]["primaryLocationLineHash"])


def test_sarif_fingerprint_survives_lines_inserted_above(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(BUGGY)
    before = _sarif(tmp_path, ".")["runs"][0]["results"][0]["partialFingerprints"]
    (tmp_path / "train.py").write_text("# a new comment\n\n" + BUGGY)
    after = _sarif(tmp_path, ".")["runs"][0]["results"][0]["partialFingerprints"]
    assert before == after


def _parse_workflow_command(line: str) -> tuple[str, dict[str, str], str]:
    """Undo GitHub's escaping, as the runner does (actions/toolkit command.ts)."""
    match = re.fullmatch(r"::(\w+) (.*?)::(.*)", line)
    assert match, line
    kind, raw_properties, raw_message = match.groups()

    def unescape(value: str) -> str:
        for escaped, plain in (
            ("%0D", "\r"),
            ("%0A", "\n"),
            ("%3A", ":"),
            ("%2C", ","),
            ("%25", "%"),
        ):
            value = value.replace(escaped, plain)
        return value

    properties = dict(p.split("=", 1) for p in raw_properties.split(","))
    return kind, {k: unescape(v) for k, v in properties.items()}, unescape(raw_message)


def test_github_annotations_round_trip_special_characters() -> None:
    message = "100% wrong: a, b\nsecond line\r\nthird: %0A literal"
    path = "dir,with:odd/100%.py"
    d = Diagnostic(
        "LL101", "loss-weights-length", Severity.WARNING, message, path, Span(3, 5, 3, 9)
    )
    first = github.render([d], 1).splitlines()[0]
    assert "\n" not in first
    kind, properties, text = _parse_workflow_command(first)
    assert kind == "warning"
    assert text == message
    assert properties["file"] == path
    assert (properties["line"], properties["col"], properties["endColumn"]) == ("3", "5", "9")
    assert properties["title"] == "LL101 loss-weights-length"


def test_github_says_when_annotations_exceed_the_step_limit() -> None:
    many = [
        Diagnostic("LL301", "log-domain", Severity.WARNING, "m", "a.py", Span(i, 1, i, 2))
        for i in range(1, 13)
    ]
    output = github.render(many, 1)
    assert output.count("::warning ") == 12
    assert "GitHub shows only 10 warning annotations per step" in output
    assert output.rstrip().endswith("Found 12 problems (12 warnings) in 1 of 1 file.")


def test_statistics(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(BUGGY)
    done = run("check", ".", "--statistics", cwd=tmp_path)
    assert done.stdout.splitlines() == ["1  LL101  loss-weights-length", "Found 1 problem."]
    assert done.returncode == 1
