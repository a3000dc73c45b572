"""Expand the paths given on the command line into the Python files and notebooks to check."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
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
    ".ipynb_checkpoints",  # Jupyter's autosaved copies: every finding of a notebook again
    "build",
    "dist",
    "*.egg-info",
)


# Build outputs by their usual names: skipped, unless the directory is a package of the project
# (``model/build/__init__.py``, a package of model builders), which holds its code.
_ARTIFACTS: Final = frozenset({"build", "dist"})

_CONFIG_FILES: Final = frozenset({"losslint.toml", "pyproject.toml"})


def _spec(patterns: tuple[str, ...] | list[str]) -> pathspec.PathSpec[Any]:
    return pathspec.PathSpec.from_lines("gitignore", patterns)


Matcher = Callable[[str], bool]


def matcher(spec: pathspec.PathSpec[Any]) -> Matcher:
    """``spec.match_file`` for the relative, ``/``-separated paths the walk builds. Without a
    negated pattern (``!keep``), a path is matched when any pattern matches, so the patterns'
    own expressions are tried directly (as one where they combine): pathspec's per-call work
    was a third of a warm run on a 1,000-file tree."""
    patterns = list(spec.patterns)
    expressions = [getattr(p, "regex", None) for p in patterns if p.include]
    if (
        os.sep != "/"
        or any(p.include is False for p in patterns)
        or not all(
            isinstance(e, re.Pattern) and isinstance(e.pattern, str) and e.flags == re.UNICODE
            for e in expressions
        )
    ):
        return spec.match_file
    if not expressions:
        return lambda path: False
    # One expression: a pattern's named groups (pathspec's ``ps_d``) capture only, so they
    # become plain groups; with a back-reference, or if it still fails, one after the other.
    texts = [e.pattern for e in expressions if e is not None]
    try:
        if any("(?P=" in text for text in texts):
            raise re.error("back-reference")
        combined = re.compile("|".join(f"(?:{_NAMED.sub('(?:', text)})" for text in texts))
    except re.error:
        matches = [e.match for e in expressions if e is not None]
        return lambda path: any(match(path) for match in matches)
    return lambda path: combined.match(path) is not None


_NAMED: Final = re.compile(r"\(\?P<\w+>")


class Discovery:
    """Walks directories honouring ``exclude`` patterns (relative to ``root``) and .gitignore."""

    def __init__(
        self,
        root: Path,
        exclude: tuple[str, ...],
        respect_gitignore: bool = True,
        force_exclude: bool = False,
    ) -> None:
        self.root = root.resolve()
        self.exclude = _spec(exclude)
        self._excluded = matcher(self.exclude)
        self._artifacts = _ARTIFACTS & set(exclude)
        # Inside a package named like a build output: the other patterns only.
        self._excluded_in_package = (
            matcher(_spec([p for p in exclude if p not in self._artifacts]))
            if self._artifacts
            else self._excluded
        )
        self.respect_gitignore = respect_gitignore
        self.force_exclude = force_exclude

    def excluded(self, path: Path) -> bool:
        """Whether a named file falls under an exclude pattern (itself or a parent directory)."""
        try:
            relative = path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return False  # outside the configuration root: its patterns do not reach it
        parts = relative.split("/")
        last = len(parts) - 1 if path.is_dir() else len(parts) - 2  # the directories' parts
        return any(
            self.exclude.match_file("/".join(parts[: i + 1]) + ("/" if i <= last else ""))
            for i in range(len(parts))
        )

    def files(self, paths: list[Path]) -> Iterator[Path]:
        """Files given explicitly are always checked, unless ``force_exclude`` (pre-commit names
        every changed file, excluded or not); directories are walked with exclusions.

        Each real file is yielded once, under the first path that reaches it: directory
        symlinks are followed, but a directory already walked (a loop such as ``self -> .``,
        or two links to one place) is not walked again.
        """
        seen: set[Path] = set()
        identities: set[tuple[int, int]] = set()
        walked: set[tuple[int, int]] = set()
        for path in paths:
            if self.force_exclude and self.excluded(path):
                continue
            if path.is_dir():
                try:
                    relative: str | None = path.resolve().relative_to(self.root).as_posix()
                except ValueError:
                    relative = None  # outside the configuration root: patterns see names
                ignores = self._inherited_ignores(path)
                walk = self._walk(path, "" if relative == "." else relative, ignores, walked=walked)
                for found in walk:
                    identity = _identity(found)
                    if found not in seen and (identity is None or identity not in identities):
                        seen.add(found)
                        if identity is not None:
                            identities.add(identity)
                        yield found
            elif path not in seen:
                # A FIFO or a device is yielded too: the pipeline reports it without opening it.
                named = _identity(path)
                if named is not None and named in identities:
                    continue
                seen.add(path)
                if named is not None:
                    identities.add(named)
                yield path

    def _inherited_ignores(self, directory: Path) -> list[tuple[int, str, Matcher]]:
        """The .gitignore files of the directories above ``directory`` up to the root, as
        matchers of the walk's entries: ``check src`` skips what ``check .`` skips (as git
        and Ruff read the ignore files above a directory too)."""
        if not self.respect_gitignore:
            return []
        try:
            resolved = directory.resolve()
            resolved.relative_to(self.root)
        except (OSError, ValueError):
            return []  # outside the configuration root: only its own ignore files count
        above: list[Path] = []
        current = resolved
        while current != self.root:
            current = current.parent
            above.append(current)
        base = len(os.fspath(directory)) + 1
        ignores: list[tuple[int, str, Matcher]] = []
        for ancestor in reversed(above):
            spec = _gitignore(ancestor)
            if spec is not None:
                prefix = resolved.relative_to(ancestor).as_posix() + "/"
                ignores.append((base, prefix, spec))
        return ignores

    def config_directories(self, directory: Path) -> Iterator[Path]:
        """Directories below ``directory`` holding a ``losslint.toml`` or ``pyproject.toml``,
        found by the same walk as the files (excludes and .gitignore honoured), so a dataset
        directory that git ignores is not listed."""
        try:
            relative: str | None = directory.resolve().relative_to(self.root).as_posix()
        except ValueError:
            relative = None
        ignores = self._inherited_ignores(directory)
        yield from self._walk(directory, "" if relative == "." else relative, ignores, configs=True)

    def _walk(
        self,
        directory: Path,
        relative: str | None,
        ignores: list[tuple[int, str, Matcher]],
        configs: bool = False,
        top: bool = True,
        walked: set[tuple[int, int]] | None = None,
        packaged: bool = False,
    ) -> Iterator[Path]:
        """``relative`` is the directory's path from the root, carried down as text: resolving
        every entry again would cost a realpath (a chain of lstat calls) per file.
        ``configs``: yield the directories (below the first) with a configuration file
        instead of the files. A directory whose identity (device, inode) is in ``walked`` is
        skipped, which ends symlink loops after one turn. ``packaged``: inside a package named
        like a build output (see _ARTIFACTS), which only the other patterns exclude from."""
        walked = set() if walked is None else walked
        here = _identity(directory)
        if here is None or here in walked:
            return
        walked.add(here)
        if self.respect_gitignore:
            spec = _gitignore(directory)
            if spec is not None:
                ignores = [*ignores, (len(os.fspath(directory)) + 1, "", spec)]
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        if configs and not top and any(e.name in _CONFIG_FILES for e in entries):
            yield directory
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if configs and not is_dir:
                continue  # the configuration walk needs the directories only
            suffix = "/" if is_dir else ""
            child = f"{relative}/{entry.name}" if relative else entry.name
            package = packaged
            if (self._excluded_in_package if packaged else self._excluded)(child + suffix):
                package = (
                    is_dir
                    and entry.name in self._artifacts
                    and os.path.isfile(os.path.join(entry.path, "__init__.py"))
                    and not self._excluded_in_package(child + suffix)
                )
                if not package:
                    continue
            if any(match(prefix + entry.path[base:] + suffix) for base, prefix, match in ignores):
                continue
            if is_dir:
                yield from self._walk(
                    Path(entry.path),
                    None if relative is None else child,
                    ignores,
                    configs,
                    False,
                    walked,
                    package,
                )
            elif not configs and entry.name.endswith((".py", ".ipynb")) and entry.is_file():
                yield Path(entry.path)


def _gitignore(directory: Path) -> Matcher | None:
    """The patterns of ``directory``'s .gitignore, or None where it has none."""
    gitignore = directory / ".gitignore"
    if not gitignore.is_file():
        return None
    try:
        lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    return matcher(pathspec.GitIgnoreSpec.from_lines(lines))


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_dev, status.st_ino)
