"""Expand the paths given on the command line into the Python files to check."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pathspec

DEFAULT_EXCLUDE: Final = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".losslint_cache",
    "node_modules",
    "build",
    "dist",
    "*.egg-info",
)


def _spec(patterns: tuple[str, ...] | list[str]) -> pathspec.PathSpec[Any]:
    return pathspec.PathSpec.from_lines("gitignore", patterns)


class Discovery:
    """Walks directories honouring ``exclude`` patterns (relative to ``root``) and .gitignore."""

    def __init__(
        self, root: Path, exclude: tuple[str, ...], respect_gitignore: bool = True
    ) -> None:
        self.root = root.resolve()
        self.exclude = _spec(exclude)
        self.respect_gitignore = respect_gitignore

    def _excluded(self, path: Path, is_dir: bool) -> bool:
        try:
            relative = path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            relative = path.name
        if is_dir:
            relative += "/"
        return self.exclude.match_file(relative) or self.exclude.match_file(
            path.name + ("/" if is_dir else "")
        )

    def files(self, paths: list[Path]) -> Iterator[Path]:
        """Files given explicitly are always checked; directories are walked with exclusions."""
        seen: set[Path] = set()
        for path in paths:
            if path.is_dir():
                for found in self._walk(path, []):
                    if found not in seen:
                        seen.add(found)
                        yield found
            elif path not in seen:
                seen.add(path)
                yield path

    def _walk(
        self, directory: Path, ignores: list[tuple[Path, pathspec.PathSpec[Any]]]
    ) -> Iterator[Path]:
        if self.respect_gitignore:
            gitignore = directory / ".gitignore"
            if gitignore.is_file():
                try:
                    lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
                except OSError:
                    lines = []
                ignores = [*ignores, (directory, pathspec.GitIgnoreSpec.from_lines(lines))]
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if self._excluded(path, is_dir) or _git_ignored(path, is_dir, ignores):
                continue
            if is_dir:
                yield from self._walk(path, ignores)
            elif entry.name.endswith(".py") and entry.is_file():
                yield path


def _git_ignored(
    path: Path, is_dir: bool, ignores: list[tuple[Path, pathspec.PathSpec[Any]]]
) -> bool:
    for base, spec in ignores:
        relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        if spec.match_file(relative):
            return True
    return False
