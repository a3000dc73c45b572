"""What a user installs: the wheel carries the licence, the type marker and the rule pages,
and its metadata names the licence, classifiers and project URLs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.helpers import ROOT


def test_wheel_carries_license_py_typed_and_metadata(tmp_path: Path) -> None:
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    assert (ROOT / "CHANGELOG.md").read_text().startswith("# Changelog")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [wheel] = tmp_path.glob("keras_losslint-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(archive.read(n).decode() for n in names if n.endswith("/METADATA"))
        license_text = next(archive.read(n).decode() for n in names if n.endswith("/LICENSE"))
    assert license_text == (ROOT / "LICENSE").read_text()
    assert "losslint/py.typed" in names
    assert {f"losslint/rule_pages/{p.name}" for p in (ROOT / "rules").glob("*.md")} <= set(names)
    assert "License-Expression: Apache-2.0" in metadata
    assert "Classifier: Typing :: Typed" in metadata
    assert "Project-URL: Changelog" in metadata
    assert "Provides-Extra: lsp" in metadata
