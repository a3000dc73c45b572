"""The result cache and parallel checking change nothing but the time it takes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from losslint import pipeline
from losslint.cache import CACHE_DIR, components, scan_imports
from losslint.config import Config
from tests.helpers import FIXTURES
from tests.test_cli import run


def _json(cwd: Path, *args: str) -> list[dict]:  # type: ignore[type-arg]
    done = run("check", ".", "--format", "json", *args, cwd=cwd)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _copy_fixtures(tmp_path: Path) -> Path:
    target = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, target)
    return target


def test_identical_with_and_without_cache_and_with_1_or_n_jobs(tmp_path: Path) -> None:
    tree = _copy_fixtures(tmp_path)
    reference = _json(tree, "--no-cache", "--jobs", "1")
    assert reference
    assert _json(tree, "--no-cache", "--jobs", "4") == reference
    assert _json(tree, "--jobs", "1") == reference  # cold: fills the cache
    assert _json(tree, "--jobs", "4") == reference  # warm: replayed
    assert (tree / CACHE_DIR).is_dir()


def test_warm_run_parses_nothing(tmp_path: Path) -> None:
    tree = _copy_fixtures(tmp_path)
    config = Config(root=tree)
    cold = pipeline.run([tree], config, jobs=1)
    warm = pipeline.run([tree], config, jobs=1)
    assert cold.checked > 0 and warm.checked == 0
    assert warm.cached == cold.checked
    assert warm.diagnostics == cold.diagnostics


def test_changing_an_imported_module_invalidates_its_importers(tmp_path: Path) -> None:
    """train.py is unchanged, but the output it names "bx" now exists in model.py."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "rules" / "cross_module", project)
    before = {(d["path"], d["line"], d["code"]) for d in _json(project)}
    assert ("train.py", 22, "LL103") in before
    model = project / "model.py"
    model.write_text(model.read_text().replace('name="box"', 'name="bx"'))
    after = {(d["path"], d["line"], d["code"]) for d in _json(project)}
    assert after == {(d["path"], d["line"], d["code"]) for d in _json(project, "--no-cache")}
    assert ("train.py", 22, "LL103") not in after


def test_noqa_applies_to_cached_results(tmp_path: Path) -> None:
    source = (FIXTURES / "demo" / "train_binary.py").read_text()
    (tmp_path / "train.py").write_text(source)
    first = _json(tmp_path)
    line = first[0]["line"]
    lines = source.splitlines()
    lines[line - 1] += f"  # noqa: {first[0]['code']}"
    (tmp_path / "train.py").write_text("\n".join(lines) + "\n")
    assert len(_json(tmp_path)) == len(first) - 1


def test_cache_directory_explains_itself_and_is_ignored(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "train.py").write_text((FIXTURES / "demo" / "train_binary.py").read_text())
    _json(tmp_path)
    cache = tmp_path / CACHE_DIR
    assert (
        (cache / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    assert "losslint's result cache" in (cache / "README").read_text()
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert status.stdout.split() == ["??", "train.py"]


def test_import_scan_and_components() -> None:
    source = b"import os, keras as k\nfrom .model import build\nfrom pkg import (a,\n  b)\n"
    assert scan_imports(source) == (
        "os",
        "keras",
        ".model",
        ".model.build",
        "pkg",
        "pkg.a",
        "pkg.b",
    )
    modules = {"a.py": "pkg.train", "b.py": "pkg.model", "c.py": "other", "d.py": "pkg.a"}
    imports = {"a.py": (".model",), "b.py": (), "c.py": ("numpy",), "d.py": ()}
    assert components(modules, imports) == [["a.py", "b.py"], ["c.py"], ["d.py"]]
