"""The composite GitHub Action (``action.yml``): a valid action whose check step, run as the
runner runs it, writes SARIF that code scanning accepts and keeps losslint's exit code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT
from tests.test_cli import BUGGY, CLEAN

yaml = pytest.importorskip("yaml", reason="PyYAML comes with pre-commit (dev extra)")
jsonschema = pytest.importorskip("jsonschema")

SCHEMA = ROOT.parent / "shared" / "data" / "sarif-schema-2.1.0.json"


def _action() -> dict[str, Any]:
    action: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())
    return action


def test_action_is_a_valid_composite_action() -> None:
    action = _action()
    assert {"name", "description", "inputs", "runs"} <= set(action)
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    for name, spec in inputs.items():
        assert "description" in spec, name
    steps = action["runs"]["steps"]
    for step in steps:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step["shell"] == "bash", "composite run steps must name their shell"
    text = (ROOT / "action.yml").read_text()
    for used in re.findall(r"inputs\.([\w-]+)", text):
        assert used in inputs, f"inputs.{used} is used but not declared"
    uploads = [
        s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif")
    ]
    assert uploads and uploads[0]["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert install["env"]["LOSSLINT_REQUIREMENT"] == "${{ inputs.version }}"


def _check_step(cwd: Path, args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    step = next(s for s in _action()["runs"]["steps"] if s.get("id") == "check")
    output = cwd / "github_output"
    output.write_text("")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(output),
        "LOSSLINT_ARGS": args,
        "LOSSLINT_SARIF": "losslint.sarif",
    }
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=cwd, env=env, capture_output=True, text=True
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return done, outputs


def test_action_check_step_writes_valid_sarif_and_keeps_the_exit_code(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(BUGGY)
    done, outputs = _check_step(tmp_path, "src")
    assert done.returncode == 0, done.stderr  # the upload step still runs
    assert outputs["exit-code"] == "1"
    sarif = json.loads((tmp_path / "losslint.sarif").read_text())
    if SCHEMA.is_file():
        jsonschema.validate(sarif, json.loads(SCHEMA.read_text()))
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == "LL101"

    (tmp_path / "src" / "train.py").write_text(CLEAN)
    done, outputs = _check_step(tmp_path, "src")
    assert done.returncode == 0 and outputs["exit-code"] == "0"

    done, outputs = _check_step(tmp_path, "src --select LL999")
    assert done.returncode == 2 and outputs["exit-code"] == "2"
