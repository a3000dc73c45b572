"""The walk's own exclude matching answers as pathspec does."""

from __future__ import annotations

import pathspec
from hypothesis import given, settings
from hypothesis import strategies as st

from losslint.discover import DEFAULT_EXCLUDE, matcher

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
