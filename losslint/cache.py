"""The result cache and the import graph that decides what a change invalidates.

Facts cross module boundaries in both directions (a model built in ``model.py`` is compiled in
``train.py``; a loss defined in ``losses.py`` takes its role from ``train.py``; a helper is
followed into the module that defines it), so results are cached per *component*: a set of
files connected by imports. A component whose files are all unchanged is replayed from the
cache without reading a file; a changed file re-analyses exactly its component.

The cache directory (``.losslint_cache`` beside the configuration) holds a ``CACHEDIR.TAG``, a
README and a ``.gitignore`` of ``*``, so it explains itself and never shows up in ``git status``.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from losslint import __version__
from losslint.diagnostic import Diagnostic

CACHE_DIR: Final = ".losslint_cache"
_FORMAT: Final = 1
# Imports, found cheaply in the text: enough to know which files can share facts.
_IMPORT: Final = re.compile(
    rb"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[\w., \t*]+)"
    rb"|import[ \t]+([\w., \t]+))",
    re.MULTILINE,
)
_README: Final = """\
This directory is losslint's result cache. It is safe to delete at any time.
Entries are keyed by file content, the losslint version and the configuration;
see https://pypi.org/project/keras-losslint/ (losslint check --no-cache skips it).
"""
_TAG: Final = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by losslint.\n"
)


@dataclass(frozen=True)
class FileFacts:
    """What the cache knows of a file without parsing it."""

    size: int
    mtime_ns: int
    digest: str
    relevant: bool  # passed the text pre-filter
    imports: tuple[str, ...]  # dotted module names it may import (absolute or ".relative")
    module: str = ""  # its dotted module name (depends on __init__.py files around it)


def scan_imports(data: bytes) -> tuple[str, ...]:
    found: list[str] = []
    for match in _IMPORT.finditer(data):
        module, names, plain = match.groups()
        if plain is not None:
            for part in plain.split(b","):
                name = part.split()[0] if part.split() else b""
                if name:
                    found.append(name.decode("ascii", "replace"))
        elif module is not None:
            base = module.decode("ascii", "replace")
            found.append(base)
            # ``from pkg import mod`` may import a module: keep both readings.
            for part in re.split(rb"[,()\s]+", names or b""):
                if part and part not in (b"as", b"*") and re.fullmatch(rb"\w+", part):
                    name = part.decode("ascii", "replace")
                    found.append(f"{base}.{name}" if not base.endswith(".") else base + name)
    return tuple(dict.fromkeys(found))


def components(modules: Mapping[str, str], imports: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Connected components of the import graph, as lists of paths (largest first).

    ``modules`` maps path → dotted module name; ``imports`` maps path → imported names. A name
    matches a module when one is a dotted suffix of the other, as the project index resolves
    cross-module references, so an edge is never missed for a different package root.
    """
    by_last: dict[str, list[str]] = {}
    for path, name in modules.items():
        by_last.setdefault(name.rpartition(".")[2], []).append(path)
    parent = {path: path for path in modules}

    def find(path: str) -> str:
        while parent[path] != path:
            parent[path] = parent[parent[path]]
            path = parent[path]
        return path

    for path, names in imports.items():
        package = modules[path].rpartition(".")[0]
        for raw in names:
            target = _absolute(raw, package)
            if not target:
                continue
            for candidate in by_last.get(target.rpartition(".")[2], ()):
                other = modules[candidate]
                if other == target or other.endswith("." + target) or target.endswith("." + other):
                    parent[find(candidate)] = find(path)
    groups: dict[str, list[str]] = {}
    for path in modules:
        groups.setdefault(find(path), []).append(path)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g[0]))


def _absolute(name: str, package: str) -> str:
    if not name.startswith("."):
        return name
    level = len(name) - len(name.lstrip("."))
    parts = package.split(".") if package else []
    base = parts[: max(len(parts) - (level - 1), 0)]
    rest = name.lstrip(".")
    return ".".join([*base, rest] if rest else base)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Cache:
    """Manifest of file facts plus one result file per component key."""

    root: Path
    config_key: str
    manifest: dict[str, dict[str, Any]] = field(default_factory=dict)
    dirty: bool = False

    @classmethod
    def open(cls, root: Path, settings: Iterable[str]) -> Cache:
        key = digest("\0".join([__version__, str(_FORMAT), *settings]).encode())[:16]
        cache = cls(root / CACHE_DIR / key, key)
        try:
            cache.manifest = json.loads((cache.root / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            cache.manifest = {}
        return cache

    def facts(self, path: str, stat: os.stat_result) -> FileFacts | None:
        entry = self.manifest.get(path)
        if not entry or entry["size"] != stat.st_size or entry["mtime_ns"] != stat.st_mtime_ns:
            return None
        return FileFacts(
            entry["size"],
            entry["mtime_ns"],
            entry["digest"],
            entry["relevant"],
            tuple(entry["imports"]),
            entry.get("module", ""),
        )

    def remember(self, path: str, facts: FileFacts) -> None:
        self.manifest[path] = asdict(facts)
        self.dirty = True

    def _result_path(self, key: str) -> Path:
        return self.root / "results" / key[:2] / f"{key}.pickle"

    def results(self, key: str) -> list[tuple[Diagnostic, str]] | None:
        """A component's diagnostics with the text of their lines (for ``noqa``)."""
        try:
            found = pickle.loads(self._result_path(key).read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
            return None
        return found if isinstance(found, list) else None

    def store(self, key: str, found: Sequence[tuple[Diagnostic, str]]) -> None:
        self._write(self._result_path(key), pickle.dumps(list(found), protocol=5))

    def save(self) -> None:
        if not self.dirty:
            return
        self._write(self.root / "manifest.json", json.dumps(self.manifest))
        top = self.root.parent
        for name, text in (("CACHEDIR.TAG", _TAG), ("README", _README), (".gitignore", "*\n")):
            if not (top / name).exists():
                self._write(top / name, text)

    @staticmethod
    def _write(path: Path, content: str | bytes) -> None:
        """Atomic, and silent on a read-only tree: a cache must never fail a check."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            temporary.write_bytes(data)
            os.replace(temporary, path)
        except OSError:
            pass


def component_key(config_key: str, members: Sequence[tuple[str, str]]) -> str:
    """The key of a component's results: its files' paths and contents, and the settings."""
    text = "\0".join([config_key, *(f"{path}\0{sha}" for path, sha in sorted(members))])
    return digest(text.encode("utf-8", "surrogateescape"))  # non-UTF-8 file names
