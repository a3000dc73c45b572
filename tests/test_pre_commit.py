"""A real ``pre-commit run --all-files`` in a throwaway repository using this repository's hook."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.test_cli import BUGGY, CLEAN

PRE_COMMIT = Path(sys.executable).with_name("pre-commit")


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed (dev extra)")
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_pre_commit_hook_passes_clean_code_and_fails_a_finding(tmp_path: Path) -> None:
    try:
        rev = _git("rev-parse", "HEAD", cwd=ROOT)
    except subprocess.CalledProcessError:
        pytest.skip("this checkout has no commit for pre-commit to install from")
    repo = tmp_path / "user-project"
    repo.mkdir()
    _git("init", "-q", cwd=repo)
    # The README's snippet as written, with its two placeholders filled in.
    snippet = _readme_snippet()
    assert "<this repository's URL>" in snippet and "<a full commit SHA>" in snippet
    (repo / ".pre-commit-config.yaml").write_text(
        snippet.replace("<this repository's URL>", str(ROOT)).replace("<a full commit SHA>", rev)
    )
    (repo / "train.py").write_text(CLEAN)
    _git("add", ".", cwd=repo)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}

    def pre_commit() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PRE_COMMIT), "run", "--all-files"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    clean = pre_commit()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "losslint" in clean.stdout and "Passed" in clean.stdout

    # pre-commit names every file, excluded or not: the hook's --force-exclude keeps the
    # configured extend-exclude in force.
    (repo / "legacy").mkdir()
    (repo / "legacy" / "old_train.py").write_text(BUGGY)
    (repo / "pyproject.toml").write_text('[tool.losslint]\nextend-exclude = ["legacy/"]\n')
    _git("add", ".", cwd=repo)
    excluded = pre_commit()
    assert excluded.returncode == 0, excluded.stdout + excluded.stderr

    # Notebooks are hooked too (types_or: jupyter), reported by cell.
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
    notebook = {
        "cells": [{**cell, "source": BUGGY.splitlines(keepends=True)}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (repo / "explore.ipynb").write_text(json.dumps(notebook))
    _git("add", ".", cwd=repo)
    in_notebook = pre_commit()
    assert in_notebook.returncode == 1, in_notebook.stdout + in_notebook.stderr
    assert "explore.ipynb:cell 1:4:" in in_notebook.stdout
    (repo / "explore.ipynb").unlink()

    (repo / "model_train.py").write_text(BUGGY)
    _git("add", ".", cwd=repo)
    failing = pre_commit()
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "Failed" in failing.stdout
    assert "model_train.py:4:" in failing.stdout and "LL101" in failing.stdout
    assert "legacy" not in failing.stdout


def _readme_snippet() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```yaml", readme.index("## pre-commit")) + len("```yaml\n")
    return readme[start : readme.index("```\n", start)]


def test_readme_pre_commit_snippet_is_honest() -> None:
    """The README's snippet must not name a release tag that does not exist."""
    snippet = _readme_snippet()
    rev = snippet.split("rev:", 1)[1].split("#")[0].strip()
    tags = subprocess.run(
        ["git", "tag", "--list"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    assert rev in tags or rev.startswith("<"), f"rev {rev!r} is neither a tag nor a placeholder"
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "--force-exclude" in hooks and "jupyter" in hooks


@pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed (dev extra)")
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_hook_run_on_one_changed_file_sees_the_model_of_an_unchanged_one(
    tmp_path: Path,
) -> None:
    """Only train.py changed (and is named to the hook); its softmax model is built in model.py."""
    from tests.test_project import SOFTMAX_MODEL, TRAIN

    try:
        rev = _git("rev-parse", "HEAD", cwd=ROOT)
    except subprocess.CalledProcessError:
        pytest.skip("this checkout has no commit for pre-commit to install from")
    repo = tmp_path / "user-project"
    repo.mkdir()
    _git("init", "-q", cwd=repo)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {ROOT}\n    rev: {rev}\n    hooks:\n      - id: losslint\n"
    )
    (repo / "model.py").write_text(SOFTMAX_MODEL)
    (repo / "train.py").write_text(TRAIN.format(logits=False))
    _git("add", ".", cwd=repo)
    _git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x", cwd=repo)
    (repo / "train.py").write_text(TRAIN.format(logits=True))
    _git("add", "train.py", cwd=repo)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    done = subprocess.run(
        [str(PRE_COMMIT), "run"],  # the staged files only: train.py
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "train.py:5:" in done.stdout and "LL107" in done.stdout
    assert "model.py:" not in done.stdout
