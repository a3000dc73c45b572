"""The walk's own exclude matching answers as pathspec does."""

from __future__ import annotations

from pathlib import Path

import pathspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losslint.discover import DEFAULT_EXCLUDE, Discovery, matcher

_PATTERNS = st.sampled_from(
    [
        *DEFAULT_EXCLUDE,
        "**/.vscode-test/**",
        "**/.venv*/",
        "bin/**",
        "/keras/src/",
        "*.py[cod]",
        "docs/*.md",
        "a/**/b",
        "!keep.py",
        "!/build/keep/",
        "data?",
        "[ab]*",
    ]
)
_PARTS = st.sampled_from(
    ["a", "b", "build", "keep.py", "keras", "src", ".git", "x.egg-info", ".venv2", "data1",
     "bin", "docs", "m.md", "f.pyc", ".vscode-test", "model.py", "dist"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.lists(_PATTERNS, min_size=0, max_size=6),
    st.lists(_PARTS, min_size=1, max_size=5),
    st.booleans(),
    st.booleans(),
)
def test_the_matcher_agrees_with_pathspec(
    patterns: list[str], parts: list[str], directory: bool, gitignore: bool
) -> None:
    kind = pathspec.GitIgnoreSpec if gitignore else pathspec.PathSpec
    spec = kind.from_lines("gitignore", patterns) if not gitignore else kind.from_lines(patterns)
    path = "/".join(parts) + ("/" if directory else "")
    assert matcher(spec)(path) == spec.match_file(path), (patterns, path)


def _tree(root: Path, files: list[str]) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n" if name.endswith(".py") else "*.ipynb\ndata/\n")


def _found(discovery: Discovery, root: Path, path: Path) -> set[str]:
    return {p.resolve().relative_to(root).as_posix() for p in discovery.files([path])}


def test_a_directory_named_skips_what_the_gitignore_files_above_it_ignore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(
        tmp_path,
        [".gitignore", "nlp/model.py", "nlp/demo.ipynb", "nlp/data/raw.py",
         "nlp/text/.gitignore", "nlp/text/cnn.py", "nlp/text/cnn.ipynb", "nlp/text/data/x.py"],
    )  # fmt: skip
    (tmp_path / "nlp/text/.gitignore").write_text("cnn.py\n")
    discovery = Discovery(tmp_path, DEFAULT_EXCLUDE)
    whole = _found(discovery, tmp_path, tmp_path)
    assert whole == {"nlp/model.py"}
    # ``check nlp`` and ``check nlp/text`` see the root's patterns, and their own, as ``check .``
    for sub in ("nlp", "nlp/text"):
        assert _found(discovery, tmp_path, tmp_path / sub) == {
            p for p in whole if p.startswith(sub + "/")
        }
    monkeypatch.chdir(tmp_path)  # a relative directory, as typed
    assert _found(discovery, tmp_path, Path("nlp")) == {"nlp/model.py"}
    # A file named explicitly is checked, ignored or not.
    assert _found(discovery, tmp_path, tmp_path / "nlp/demo.ipynb") == {"nlp/demo.ipynb"}
