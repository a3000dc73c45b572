"""The cache: each file's index facts by content, and the last project result, as plain JSON.

Facts are per file, keyed by the file's content digest and dotted module name (and, through the
directory they live in, the losslint version and cache format): an edit re-indexes exactly the
edited file, and the project join and the rules run again over the facts of every file. The
diagnostics of a whole run are kept too, keyed by every file's path, digest and module and the
settings, so a run where nothing changed reads no facts at all. Beside the results checked
last for a set of files, the texts of the statements the analyses read are kept (compressed),
so that the early cutoff can tell an edit of their comments from one of their code.

The cache is data, never code: JSON documents written by :mod:`losslint.codec` and validated on
read. A document that does not parse, has the wrong shape or another key is ignored and
rewritten. The directory is not used when it (or anything on the way to an entry) leads through
a symbolic link out of the project, so a planted link cannot make losslint write elsewhere.

The manifest maps a path to its digest so that an unchanged file is not read again. It trusts a
file only when size, modification time, *change* time and inode all match: an edit through the
file system always moves the change time, which, unlike the modification time, no tool can set
back. A file whose change time is within two seconds of the manifest's writing may have been
changed again within the file system's timestamp granularity (git's "racy" entries), so it is
hashed again.

The cache directory (``.losslint_cache`` beside the configuration) holds a ``CACHEDIR.TAG``, a
README and a ``.gitignore`` of ``*``, so it explains itself and never shows up in ``git status``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from losslint import __version__

CACHE_DIR: Final = ".losslint_cache"
_FORMAT: Final = 53
_RACY_NS: Final = 2_000_000_000
_README: Final = """\
This directory is losslint's cache. It is safe to delete at any time.
Entries are keyed by file content, the losslint version and the configuration;
see https://pypi.org/project/keras-losslint/ (losslint check --no-cache skips it).
"""
_TAG: Final = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by losslint.\n"
)


@dataclass(frozen=True)
class FileState:
    """What the manifest knows of a file without reading it."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    digest: str
    relevant: bool  # passed the text pre-filter

    @classmethod
    def of(cls, stat: os.stat_result, digest: str, relevant: bool) -> FileState:
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, digest, relevant)

    def matches(self, stat: os.stat_result) -> bool:
        return (
            self.size == stat.st_size
            and self.mtime_ns == stat.st_mtime_ns
            and self.ctime_ns == stat.st_ctime_ns
            and self.inode == stat.st_ino
        )


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text_key(parts: Iterable[str]) -> str:
    # surrogateescape: a file name that is not UTF-8 still has a stable key.
    return digest("\0".join(parts).encode("utf-8", "surrogateescape"))


@dataclass
class Cache:
    """A manifest of file states, facts per file content, and results per whole run."""

    root: Path  # the directory of this version and configuration's entries
    config_key: str
    manifest: dict[str, FileState] = field(default_factory=dict)
    written_ns: int = 0
    dirty: bool = False

    @classmethod
    def open(cls, project: Path, settings: Iterable[str]) -> Cache | None:
        """The cache of ``project``; None when its directory would lead out of the project."""
        key = _text_key([__version__, str(_FORMAT), *settings])[:16]
        top = project / CACHE_DIR
        if not _inside(top, project):
            return None
        cache = cls(top / key, key)
        cache._read_manifest()
        return cache

    def _read_manifest(self) -> None:
        document = self._read_json(self.root / "manifest.json")
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            return
        files, written = document.get("files"), document.get("written_ns")
        if not isinstance(files, dict) or type(written) is not int:
            return
        for path, entry in files.items():
            if (
                isinstance(entry, list)
                and len(entry) == 6
                and all(type(n) is int for n in entry[:4])
                and isinstance(entry[4], str)
                and isinstance(entry[5], bool)
            ):
                self.manifest[path] = FileState(*entry)
        self.written_ns = written

    # -- file states ---------------------------------------------------------------------------

    def state(self, path: str, stat: os.stat_result) -> FileState | None:
        """The known state of an unchanged file, or None when it must be read."""
        known = self.manifest.get(path)
        if known is None or not known.matches(stat):
            return None
        if stat.st_ctime_ns >= self.written_ns - _RACY_NS:
            return None  # changed too close to the manifest's writing to be sure
        return known

    def remember(self, path: str, state: FileState) -> None:
        if self.manifest.get(path) != state:
            self.manifest[path] = state
            self.dirty = True

    # -- entries -------------------------------------------------------------------------------

    def facts_key(self, file_digest: str, module: str) -> str:
        return _text_key(["facts", file_digest, module])

    def results_key(self, members: Sequence[tuple[str, str, str]]) -> str:
        """The key of a run's results: every file's shown path, digest and module name."""
        return _text_key(["results", self.config_key, *(f"{p}\0{d}\0{m}" for p, d, m in members)])

    def facts(self, key: str) -> Any:
        """The stored document for ``key`` (decoding is the caller's), or None."""
        return self._entry("facts", key)

    def store_facts(self, key: str, document: Any) -> None:
        self._store("facts", key, document)

    def results(self, key: str) -> Any:
        return self._entry("results", key)

    def lineage_key(self, files: Sequence[tuple[str, str]]) -> str:
        """The identity of a set of files apart from their contents: paths and module names."""
        return _text_key(["lineage", self.config_key, *(f"{p}\0{m}" for p, m in files)])

    def last_key(self, lineage: str) -> str | None:
        """The key of the results checked last for these files, or None."""
        key = self._entry("lineage", lineage)
        return key if isinstance(key, str) and len(key) == 64 else None

    def last_results(self, lineage: str) -> Any:
        """The results checked last for these files (with other contents), or None."""
        key = self.last_key(lineage)
        return self.results(key) if key is not None else None

    def store_last(self, lineage: str, key: str) -> None:
        self._store("lineage", lineage, key)

    def store_results(self, key: str, document: Any) -> None:
        self._store("results", key, document)

    def texts(self, lineage: str) -> dict[str, str]:
        """The texts of the chunks that the analyses read when these files were checked last,
        by their digest (each checked against it): what the early cutoff compares a chunk
        whose text changed with. Empty when there are none."""
        try:
            path = self._texts_path(lineage)
            handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(handle, "rb") as stream:
                document = json.loads(zlib.decompress(stream.read()))
        except (OSError, ValueError, zlib.error, RecursionError):
            return {}
        if not (
            isinstance(document, dict)
            and document.get("format") == _FORMAT
            and document.get("key") == lineage
            and isinstance(document.get("value"), dict)
        ):
            return {}
        return {
            key: text
            for key, text in document["value"].items()
            if isinstance(text, str) and digest(text.encode("utf-8", "surrogatepass")) == key
        }

    def store_texts(
        self, lineage: str, texts: dict[str, str], kept: dict[str, str] | None = None
    ) -> None:
        """Keep ``texts``, the chunks read now, with those kept before (``kept``, when the
        caller has them) while they are no more than as large again: an edit undone, whose
        findings are replayed, is then still compared with its own texts. Compressed, the
        chunks the analyses read of the Keras tree take about 450 KB."""
        previous = self.texts(lineage) if kept is None else kept
        merged = {key: text for key, text in previous.items() if key not in texts}
        budget = 2 * sum(map(len, texts.values())) + (1 << 16)
        total = sum(map(len, merged.values())) + sum(map(len, texts.values()))
        for key in list(merged):  # the oldest first
            if total <= budget:
                break
            total -= len(merged.pop(key))
        merged.update(texts)
        document = {"format": _FORMAT, "key": lineage, "value": merged}
        text = json.dumps(document, separators=(",", ":"))
        self._write(self._texts_path(lineage), zlib.compress(text.encode(), 1))

    def _texts_path(self, lineage: str) -> Path:
        return self.root / "texts" / f"{lineage}.json.z"

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def _entry(self, kind: str, key: str) -> Any:
        document = self._read_json(self._path(kind, key))
        if (
            not isinstance(document, dict)
            or document.get("format") != _FORMAT
            or document.get("key") != key
            or "value" not in document
        ):
            return None
        return document["value"]

    def _store(self, kind: str, key: str, value: Any) -> None:
        text = json.dumps({"format": _FORMAT, "key": key, "value": value}, separators=(",", ":"))
        self._write(self._path(kind, key), text)

    def save(self) -> None:
        if not self.dirty:
            return
        files = {
            path: [s.size, s.mtime_ns, s.ctime_ns, s.inode, s.digest, s.relevant]
            for path, s in self.manifest.items()
        }
        document = {"format": _FORMAT, "written_ns": time.time_ns(), "files": files}
        self._write(self.root / "manifest.json", json.dumps(document, separators=(",", ":")))
        top = self.root.parent
        for name, text in (("CACHEDIR.TAG", _TAG), ("README", _README), (".gitignore", "*\n")):
            if not (top / name).exists():
                self._write(top / name, text)
        self.dirty = False

    @staticmethod
    def _read_json(path: Path) -> Any:
        try:
            # Not through a link: an entry is a plain file that losslint wrote.
            handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(handle, "rb") as stream:
                return json.loads(stream.read())
        except (OSError, ValueError, RecursionError):
            return None

    def _write(self, path: Path, text: str | bytes) -> None:
        """Atomic, and silent on a read-only tree: a cache must never fail a check."""
        if not _inside(path.parent, self.root.parent.parent):
            return  # a planted link below the cache directory
        data = text.encode() if isinstance(text, str) else text
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except OSError:
            pass


def _inside(path: Path, project: Path) -> bool:
    """``path`` (existing or not) resolves to a place inside ``project``."""
    try:
        real = Path(os.path.realpath(path))
        return real.is_relative_to(os.path.realpath(project))
    except (OSError, ValueError):
        return False
