"""The cache: each file's index facts by content, and the last project result, as plain JSON.

Facts are per file, keyed by the file's content digest and dotted module name (and, through the
directory they live in, the losslint version and cache format): an edit re-indexes exactly the
edited file, and the project join and the rules run again over the facts of every file. The
facts a run makes are appended to one pack file of its own (see :class:`Packed`) and indexed
in ``facts/index.json``. The
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

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NamedTuple

from losslint import __version__

CACHE_DIR: Final = ".losslint_cache"
_FORMAT: Final = 106
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


class Packed(NamedTuple):
    """Where a facts document is stored: in which pack, from which byte, how many bytes.

    A run appends the facts it makes to a pack of its own (each worker process to its own),
    and indexes them in ``facts/index.json`` when it ends. One file for all of a cold run's
    facts, where a file each cost 0.6 ms of system time apiece on the Keras tree (975 files
    made, 0.9 s in all). Each entry in a pack is a JSON document that names its key, as the
    other entries are, and is checked on reading; a pack is only ever appended to, and an
    entry is indexed once all its bytes were written."""

    pack: str
    offset: int
    size: int


_PACK_NAME: Final = re.compile(r"[0-9a-f]{16}\.pack")
# The facts entries the index keeps, the newest (20 edits of each file of a project of 1,000),
# and how old a pack that none of them is in must be before it is deleted.
_MAX_INDEXED: Final = 20_000
_PACK_GRACE_S: Final = 3600
# Not through a link; and on Windows, bytes as they are (an fd opens in text mode there).
_NO_FOLLOW: Final = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


@dataclass(frozen=True)
class FileState:
    """What the manifest knows of a file without reading it."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    digest: str
    relevant: bool  # passed the text pre-filter
    installs: str = ""  # a notebook's install commands (see losslint.notebook.installs)

    @classmethod
    def of(cls, stat: os.stat_result, digest: str, relevant: bool, installs: str = "") -> FileState:
        times = stat.st_mtime_ns, stat.st_ctime_ns
        return cls(stat.st_size, *times, stat.st_ino, digest, relevant, installs)

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
    # Where each facts document is (None until read), and those stored in this run.
    _index: dict[str, Packed] | None = field(default=None, repr=False)
    _new_packed: dict[str, Packed] = field(default_factory=dict, repr=False)
    # This process's pack, opened at its first store: (pid, name, handle, size written).
    _pack: tuple[int, str, int, int] | None = field(default=None, repr=False)

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
                and len(entry) == 7
                and all(type(n) is int for n in entry[:4])
                and isinstance(entry[4], str)
                and isinstance(entry[5], bool)
                and isinstance(entry[6], str)
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
        where = self._packed().get(key)
        if where is None:
            return None
        pack, offset, size = where
        try:
            handle = os.open(self.root / "facts" / pack, os.O_RDONLY | _NO_FOLLOW)
            try:  # (no os.pread on Windows)
                os.lseek(handle, offset, os.SEEK_SET)
                data = os.read(handle, size)
            finally:
                os.close(handle)
            document = json.loads(data)
        except (OSError, ValueError, RecursionError):
            return None
        return _value(document, key)

    def store_facts(self, key: str, document: Any) -> Packed | None:
        """Append ``document`` to this process's pack (see :class:`Packed`); where it went, or
        None where it could not be written. A worker process hands that to its parent
        (:meth:`packed_at`), which writes the index."""
        data = _document(key, document).encode()
        try:
            if self._pack is None or self._pack[0] != os.getpid():
                directory = self.root / "facts"
                if not _inside(directory, self.root.parent.parent):
                    return None  # a planted link below the cache directory
                directory.mkdir(parents=True, exist_ok=True)
                name = f"{os.urandom(8).hex()}.pack"
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | _NO_FOLLOW
                self._pack = (os.getpid(), name, os.open(directory / name, flags, 0o644), 0)
            pid, name, handle, offset = self._pack
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view) :]
        except OSError:
            self._close_pack()  # a write that failed part way: the next goes to a new pack
            return None
        self._pack = (pid, name, handle, offset + len(data))
        where = Packed(name, offset, len(data))
        self.packed_at(key, where)
        return where

    def packed_at(self, key: str, where: Packed) -> None:
        """Facts stored at ``where`` (by this process or a worker): indexed at :meth:`save`."""
        self._new_packed[key] = where
        if self._index is not None:
            self._index[key] = where

    def _close_pack(self) -> None:
        if self._pack is not None and self._pack[0] == os.getpid():
            with contextlib.suppress(OSError):
                os.close(self._pack[2])
        self._pack = None

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
            handle = os.open(path, os.O_RDONLY | _NO_FOLLOW)
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
        text = _document(lineage, merged)
        self._write(self._texts_path(lineage), zlib.compress(text.encode(), 1))

    def _texts_path(self, lineage: str) -> Path:
        return self.root / "texts" / f"{lineage}.json.z"

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def _entry(self, kind: str, key: str) -> Any:
        return _value(self._read_json(self._path(kind, key)), key)

    def _store(self, kind: str, key: str, value: Any) -> None:
        self._write(self._path(kind, key), _document(key, value))

    def _packed(self) -> dict[str, Packed]:
        """Where each stored facts document is: the index, read at the first need."""
        if self._index is None:
            self._index = {**self._read_index(), **self._new_packed}
        return self._index

    def _read_index(self) -> dict[str, Packed]:
        document = self._read_json(self._index_path())
        value = _value(document, "index")
        if not isinstance(value, dict):
            return {}
        out: dict[str, Packed] = {}
        for key, where in value.items():
            if (
                isinstance(where, list)
                and len(where) == 3
                and isinstance(where[0], str)
                and _PACK_NAME.fullmatch(where[0])
                and all(type(n) is int and n >= 0 for n in where[1:])
            ):
                out[key] = Packed(*where)
        return out

    def _drop_packs(self, indexed: set[str]) -> None:
        """Delete the packs that no entry of the index is in any more, once they are an hour
        old: a pack younger than that may be a run's that has not written its index yet."""
        directory = self.root / "facts"
        if not _inside(directory, self.root.parent.parent):
            return
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return
        old = time.time() - _PACK_GRACE_S
        for entry in entries:
            if entry.name in indexed or not _PACK_NAME.fullmatch(entry.name):
                continue
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < old:
                    os.unlink(entry.path)
            except OSError:
                pass

    def _index_path(self) -> Path:
        return self.root / "facts" / "index.json"

    def save(self) -> None:
        self._close_pack()
        if self._new_packed:
            # Read again: another run may have indexed facts of its own since. The newest
            # entries last, and the oldest dropped past _MAX_INDEXED (read again if needed).
            merged = {k: v for k, v in self._read_index().items() if k not in self._new_packed}
            merged.update(self._new_packed)
            if len(merged) > _MAX_INDEXED:
                merged = dict(list(merged.items())[-_MAX_INDEXED:])
            value = {key: list(where) for key, where in merged.items()}
            self._write(self._index_path(), _document("index", value))
            self._new_packed.clear()
            self._drop_packs({where.pack for where in merged.values()})
        if not self.dirty:
            return
        files = {
            path: [s.size, s.mtime_ns, s.ctime_ns, s.inode, s.digest, s.relevant, s.installs]
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
            handle = os.open(path, os.O_RDONLY | _NO_FOLLOW)
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


def _document(key: str, value: Any) -> str:
    """An entry as written: the value with the cache format and its key (see :func:`_value`)."""
    return json.dumps({"format": _FORMAT, "key": key, "value": value}, separators=(",", ":"))


def _value(document: Any, key: str) -> Any:
    """The value of an entry written for ``key`` by this cache format, else None."""
    if (
        not isinstance(document, dict)
        or document.get("format") != _FORMAT
        or document.get("key") != key
        or "value" not in document
    ):
        return None
    return document["value"]


def _inside(path: Path, project: Path) -> bool:
    """``path`` (existing or not) resolves to a place inside ``project``."""
    try:
        real = Path(os.path.realpath(path))
        return real.is_relative_to(os.path.realpath(project))
    except (OSError, ValueError):
        return False
