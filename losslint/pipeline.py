"""discover → parse → index → rules → diagnostics (SPEC §1).

Each file is parsed and indexed alone (in ``--jobs`` worker processes, or read from the cache by
its content), and only its facts are kept: no syntax tree outlives its indexing except the few
that an analysis walks, which are parsed again on demand. The project join and the rules then
run over every file's facts in this process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import os
import signal
import sys
import threading
import traceback
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pathspec

from losslint import codec, cutoff, noqa
from losslint.cache import Cache, FileState, digest
from losslint.codec import DecodeError, Source, SourceChanged, decode, encode
from losslint.config import Config
from losslint.cutoff import Move, UnseenChange, field_position, same_facts, unseen_change
from losslint.diagnostic import Diagnostic, Severity, Span
from losslint.discover import Discovery
from losslint.index.positions import placed_line, source_lines
from losslint.notebook import NotebookError, installs, is_notebook
from losslint.parse import (
    MAX_BYTES,
    PARSE_ERROR_CODE,
    PYTHON2,
    ParsedModule,
    load,
    may_concern_keras,
    not_regular,
    python_bytes,
    read_source,
    unparsed_cell,
    unreadable,
)
from losslint.parse import decode as decode_source
from losslint.target import Pins

if TYPE_CHECKING:
    from losslint.index.facts import ModuleIndex
    from losslint.runtime.driver import Progress, RuntimeSummary


# A diagnostic with the text of its line, so that ``noqa`` applies to cached results too.
Found = tuple[Diagnostic, str]
# What an analysis read of each file (absolute path): chunk numbers, or codec.WHOLE.
Reads = dict[str, set[int]]
# The words searched for in each file (absolute path), with the chunks holding them.
Searches = dict[str, dict[str, set[int]]]
# A stored description of those reads, by path: the extents of the chunks read (first line,
# last line, digest: see ``Source.extents``), or None for a file read whole.
Described = dict[str, "list[list[Any]] | None"]
# Below this many files per worker, starting the workers costs more than they save.
_MIN_FILES_PER_WORKER: Final = 8
# Below this many files in a namespace, forking for the value-range rules costs more than it saves.
_MIN_FILES_TO_FORK_RULES: Final = 64


@dataclass
class Result:
    diagnostics: list[Diagnostic]
    files: int  # files found
    checked: int  # files parsed and indexed in this run (not skipped, not from the cache)
    cached: int = 0  # files whose facts (or the whole result) came from the cache
    # Tracebacks of losslint's own failures; each also became an LL000 diagnostic.
    internal_errors: list[str] = field(default_factory=list)
    runtime: RuntimeSummary | None = None  # set when the runtime stage ran
    # Why some files were judged for another Keras than the run's: their own sub-project's
    # pins (``bugs/018/requirements.txt requires Keras==2.3.1``), by the Keras they give.
    pinned: dict[int, list[str]] = field(default_factory=dict)


@dataclass
class _Member:
    """A file that passed the pre-filter: what the join needs to know to find its facts."""

    shown: str
    absolute: str
    digest: str
    module: str
    facts: ModuleIndex | None = None
    content: bytes | None = None  # when not read from the disk (stdin, an editor's buffer)
    # The Keras its own sub-project pins, where that is not the run's (see target.Pins).
    target: int | None = None
    graph: str = ""  # the pin that says it runs in TensorFlow 1's graph (see target.Pin)


def display_path(path: Path) -> str:
    """Relative to the current directory when below it, with forward slashes."""
    text = os.fspath(path)
    if not os.path.isabs(text) and os.pardir not in text.split(os.sep):
        normal = os.path.normpath(text)  # what relpath gives, without its work
        return normal if os.sep == "/" else Path(normal).as_posix()
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path.as_posix()
    return Path(path if relative.startswith("..") else relative).as_posix()


def settings(config: Config) -> list[str]:
    """Everything in the configuration that changes what the rules report.

    The selection prefixes fix the rule set for a given losslint version (which is part of the
    cache key), so the rules need not be imported to compute the key: a warm run imports no
    analysis code at all.
    """
    return [
        f"target-keras={config.target_keras}",
        "select=" + ",".join(sorted(config.selected)),
        "ignore=" + ",".join(sorted(config.ignored)),
    ]


def project_root(config: Config, paths: Sequence[Path]) -> Path | None:
    """The project that named files belong to: the configuration's directory, else the nearest
    ancestor holding ``.git``; None when there is neither."""
    if config.source is not None:
        return config.root
    start = Path(paths[0]).resolve() if paths else Path.cwd()
    for directory in [start, *start.parents]:
        if (directory / ".git").exists():
            return directory
    return None


def run(
    paths: list[Path],
    config: Config,
    jobs: int | None = None,
    use_cache: bool = True,
    runtime: bool = False,
    progress: Progress | None = None,
    project: Path | None = None,
    contents: dict[str, bytes] | None = None,
    force_exclude: bool = False,
) -> Result:
    """``runtime``: also run the losses found (``--runtime``); it may raise RuntimeUnavailable.

    ``project``: a directory whose files give facts too (a model built in an unchanged module
    of the project), while findings are reported only for ``paths``.

    ``contents``: file contents by displayed path, for files that are not read from the disk
    (``check -`` and the language server); ``force_exclude``: configured excludes apply to files
    named in ``paths`` too (``--force-exclude``, as pre-commit names every changed file).
    """
    contents = contents or {}
    discovery = Discovery(config.root, config.all_excludes, force_exclude=force_exclude)
    files = list(discovery.files(paths))
    reported: set[str] | None = None
    if project is not None:
        reported = {display_path(f) for f in files}
        named = {os.path.abspath(f) for f in files}
        files += [f for f in discovery.files([project]) if os.path.abspath(f) not in named]
    cache = Cache.open(config.root, settings(config)) if use_cache else None
    found: list[Found] = []
    members: list[_Member] = []
    # Files the pre-filter skipped: a helper module that mentions no loss (``from utils import
    # *``, ``eps()``) still gives facts to the loss modules that import it. Their digests are
    # part of the results key; they are indexed only when a module with loss code imports them.
    filtered: list[tuple[Path, str, str]] = []
    names = _ModuleNames()
    pinned = _Pinned(config)
    for file in files:
        shown = display_path(file)
        scanned = _scan(file, shown, cache, contents.get(shown))
        if isinstance(scanned, Diagnostic):
            found.append((scanned, ""))
        elif scanned.relevant:
            absolute = os.path.abspath(file)
            member = _Member(shown, absolute, scanned.digest, names.of(absolute))
            member.content = contents.get(shown)
            member.target, member.graph = pinned.of(absolute, scanned.installs)
            members.append(member)
        else:
            filtered.append((file, shown, scanned.digest))
    internal: list[str] = []
    key = _results_key(cache, members, filtered) if cache is not None else ""
    document = cache.results(key) if cache is not None else None
    replay = _replay(document)
    checked = cached = 0
    if replay is not None:
        found.extend(replay)
        cached = len(members)
        if cache is not None and isinstance(document, dict) and "files" in document:
            _Unit(cache, members, filtered, key).replayed()  # one sub-project: it is the last
    else:
        results: list[Found] = []
        extra: list[_Member] = []
        partial = False
        workers = _Workers(cache)
        # SIGTERM ends the run like Ctrl-C wherever the workers may be alive, so that they are
        # terminated (a worker killed before its initializer ran would never learn of it).
        with _collector(), _terminating(), contextlib.closing(workers):
            # A group at a time (sub-projects, vendored copies: SPEC §1), and its facts are
            # dropped once its rules ran, so memory grows with the largest group, not the tree.
            groups = list(_groups(members, filtered, names))
            for group, skipped in groups:
                # Only some files are reported (pre-commit, an editor): a sub-project without
                # one of them has nothing to report.
                if reported is not None and not any(m.shown in reported for m in group):
                    partial = True  # the whole run's findings are not all known
                    continue
                # Each sub-project's findings are cached too: an edit in one replays the others.
                unit = _Unit(cache, group, skipped, key if len(groups) == 1 else None)
                again = unit.replay() if cache is not None else None
                if again is None and cache is not None:
                    again = unit.unchanged()
                    checked += unit.indexed
                if again is not None:
                    results.extend(again)
                    cached += len(group) - unit.indexed
                    continue
                marks = len(found), len(internal)
                codec.clear_reads()
                # When none of the files reported has facts (each fails to parse), no rule can
                # find anything in them: reading them is all there is to do.
                wanted = group if reported is None else [m for m in group if m.shown in reported]
                indexed, read = _facts(wanted, cache, jobs, found, internal, workers)
                if reported is not None and not any(m.facts is not None for m in wanted):
                    results.extend(found[marks[0] :])
                    del found[marks[0] :]
                    checked, cached = checked + indexed, cached + read - unit.indexed
                    partial = True
                    continue
                if wanted is not group:  # then the others, which give facts to them
                    done = {id(m) for m in wanted}
                    rest = [m for m in group if id(m) not in done]
                    more = _facts(rest, cache, jobs, found, internal, workers)
                    indexed, read = indexed + more[0], read + more[1]
                # The files the cutoff indexed were then read from the cache: checked once.
                checked, cached = checked + indexed, cached + read - unit.indexed
                helpers: list[_Member] = []
                wanted_now = _needed_helpers(group, skipped, names, contents)
                while wanted_now:  # extra facts for the files above: not counted as checked
                    for helper in wanted_now:
                        helper.target, helper.graph = pinned.of(helper.absolute)
                    _facts(wanted_now, cache, jobs, found, internal, workers)
                    helpers += wanted_now
                    # A package's ``__init__`` among them hands on what it imports from its own
                    # modules (``from ._masked_accuracy import masked_accuracy``).
                    wanted_now = _reexported(wanted_now, helpers, skipped, names, contents)
                outcome = _check([*group, *helpers], config, found, jobs)
                # What reading the files reported (LL000) is stored and replayed too.
                found_here = found[marks[0] :] + outcome.found
                del found[marks[0] :]
                results.extend(found_here)
                internal.extend(outcome.internal)
                if cache is not None and len(internal) == marks[1]:
                    _merge_reads(outcome.read, codec.READ)
                    _merge_reads(outcome.text, codec.TEXT)
                    _merge_searches(outcome.searched, codec.SEARCHED)
                    texts: dict[str, str] = {}
                    read_here = _described(outcome.read, outcome.text, [*group, *helpers], texts)
                    unit.store(
                        found_here,
                        read_here,
                        [h.shown for h in helpers],
                        texts,
                        searched=outcome.searched,
                    )
                for member in (*group, *helpers):
                    member.facts = None
                extra += helpers
        members += extra  # the runtime stage loads the helpers too
        found.extend(results)
        if cache is not None and not internal and not partial and len(groups) > 1:
            cache.store_results(key, {"found": [[encode(d), line] for d, line in results]})
    if cache is not None:
        cache.save()
    summary = None
    if runtime and _runtime_selected(config):  # never cached: it runs the user's code
        from losslint.runtime.driver import run_stage

        static = [d for d, line in found if _kept(d, line, config)]
        stage = run_stage([(m.shown, m.module) for m in members], config, static, progress)
        found.extend(stage.found)
        internal.extend(stage.internal_errors)
        found.extend((_internal(".", "running the losses", e), "") for e in stage.internal_errors)
        summary = stage.summary
    kept = [
        d
        for d, line in found
        if _kept(d, line, config) and (reported is None or d.path in reported or d.path == ".")
    ]
    kept.sort(key=Diagnostic.sort_key)
    gc.unfreeze()  # the facts die with the run: let a caller that runs again collect them
    return Result(kept, len(files), checked, cached, internal, summary, pinned.used)


class _Pinned:
    """The Keras each file's own sub-project pins, where that is not the run's target (see
    :class:`losslint.target.Pins`). A target set in the configuration holds for every file."""

    def __init__(self, config: Config) -> None:
        self._target = config.target_keras
        configured = config.target_reason.startswith("target-keras")
        self._pins = None if configured else Pins(config.root)
        self.used: dict[int, list[str]] = {}  # the reasons of the pins that decided a file

    def of(self, absolute: str, installs: str = "") -> tuple[int | None, str]:
        """The file's Keras where it is not the run's target (else None), and the pin that
        says it runs in TensorFlow 1's graph mode (see :attr:`losslint.target.Pin.graph`),
        else ""."""
        found = self._pins.of(absolute, installs) if self._pins is not None else None
        if found is None:
            return None, ""
        graph = found.reason if found.graph else ""
        if found.version == self._target:
            return None, graph
        reasons = self.used.setdefault(found.version, [])
        if found.reason not in reasons:
            reasons.append(found.reason)
        return found.version, graph


def _files(
    members: list[_Member], filtered: list[tuple[Path, str, str]]
) -> list[tuple[str, str, str]]:
    """What the findings of ``members`` (with the skipped files that may give them facts)
    depend on, besides the settings: every file's path, digest and module name."""
    # A file judged for another Keras than the run's (its sub-project's pins) is keyed with
    # it: a pin that changes is a changed file for the cache and the early cutoff.
    return [(m.shown, m.digest, _keyed_module(m)) for m in members] + [
        (shown, file_digest, "") for _, shown, file_digest in filtered
    ]


def _keyed_module(member: _Member) -> str:
    pinned = "" if member.target is None else f" keras={member.target}"
    graph = f" graph={member.graph}" if member.graph else ""
    return f"{member.module}{pinned}{graph}"


def _results_key(
    cache: Cache, members: list[_Member], filtered: list[tuple[Path, str, str]]
) -> str:
    return cache.results_key(_files(members, filtered))


class _Unit:
    """The files whose findings are cached together (a sub-project, or the whole run): their
    results by content, and the early cutoff from the results stored last for the same files.

    Findings depend on the files' facts and on what the analyses read of their text: the
    top-level statements they walked or whose lines a finding quotes (each finding's line is
    read to judge ``noqa``), or a whole file. When every changed file's new facts equal its
    old ones up to lines that moved in order, and each statement read of it is there word for
    word, or with the same syntax where only its syntax was read, the last findings stand,
    moved with the statements they are in (a comment, lines inserted above a walked function,
    code changed where no analysis looked, a comment inside a walked function). The facts may
    also differ by top-level functions that no rule selects by their shape and that nothing in
    the project names (a helper added, removed, renamed: :mod:`losslint.cutoff`). A changed
    file that the pre-filter skips, and that gave no facts, changes nothing. A finding that
    quotes a changed file (``serve.py:12``), or a line of its own file that moved (``line 6``),
    is made again."""

    def __init__(
        self,
        cache: Cache | None,
        members: list[_Member],
        skipped: list[tuple[Path, str, str]],
        key: str | None,
    ) -> None:
        self.cache = cache
        self.members = members
        self.skipped = skipped
        self.files = _files(members, skipped)
        self.indexed = 0  # files the early cutoff parsed and indexed
        self.parsed: dict[str, ParsedModule] = {}  # and their parse
        if key is None:
            key = cache.results_key(self.files) if cache is not None else ""
        self.key = key
        self.lineage = (
            cache.lineage_key(sorted((shown, module) for shown, _, module in self.files))
            if cache
            else ""
        )

    def replay(self) -> list[Found] | None:
        assert self.cache is not None
        found = _replay(self.cache.results(self.key))
        if found is not None:
            self.replayed()
        return found

    def replayed(self) -> None:
        """These files' findings were replayed: they are now the last ones (an edit reverted,
        then another made, compares with the reverted state)."""
        assert self.cache is not None
        if self.cache.last_key(self.lineage) != self.key:
            self.cache.store_last(self.lineage, self.key)

    def store(
        self,
        found: list[Found],
        read: Described,
        helpers: list[str],
        texts: dict[str, str] | None = None,
        kept: dict[str, str] | None = None,
        searched: Searches | None = None,
    ) -> None:
        """``helpers``: the skipped files whose facts the rules had (see _needed_helpers);
        ``texts``: the chunks read, by their digest (None: those kept still hold), and
        ``kept`` those kept before, when they were read; ``searched``: the words searched for
        in each file (see :data:`codec.SEARCHED`), by absolute or shown path."""
        assert self.cache is not None
        shown = {m.absolute: m.shown for m in self.members}
        document = {
            "found": [[encode(d), line] for d, line in found],
            "files": [list(f) for f in self.files],
            "read": {shown.get(path, path): extents for path, extents in sorted(read.items())},
            "helpers": sorted(helpers),
            "searched": {
                shown.get(path, path): {word: sorted(chunks) for word, chunks in sorted(w.items())}
                for path, w in sorted((searched or {}).items())
            },
        }
        self.cache.store_results(self.key, document)
        if texts is not None:
            self.cache.store_texts(self.lineage, texts, kept)
        self.cache.store_last(self.lineage, self.key)

    def unchanged(self) -> list[Found] | None:
        """The last findings when they stand (see the class), else None. The changed files'
        facts are cached on the way (counted in ``indexed``), so a full check reuses them."""
        try:
            return self._unchanged()
        finally:
            self.parsed.clear()  # the edited files' trees die here, before any rule runs

    def _unchanged(self) -> list[Found] | None:
        assert self.cache is not None
        previous = self.cache.last_results(self.lineage)
        if not isinstance(previous, dict):
            return None
        files, read, helpers = previous.get("files"), previous.get("read"), previous.get("helpers")
        if not (isinstance(files, list) and isinstance(read, dict) and isinstance(helpers, list)):
            return None
        searched = _stored_searches(previous.get("searched", {}))
        if searched is None:
            return None
        try:
            old = {str(path): (str(digest), str(module)) for path, digest, module in files}
        except (TypeError, ValueError):
            return None
        now = {path: (file_digest, module) for path, file_digest, module in self.files}
        if old.keys() != now.keys() or any(old[p][1] != now[p][1] for p in now):
            return None
        by_path = {m.shown: m for m in self.members}
        edited = [p for p in now if old[p][0] != now[p][0]]
        if not edited or any(p not in by_path and p in helpers for p in edited):
            return None  # a skipped file whose facts the rules had
        # A file the pre-filter still skips and that gave no facts cannot change a finding:
        # which files give facts depends on the modules that import them, not on their text.
        changed = [p for p in edited if p in by_path]
        moves: dict[str, list[Move]] = {}
        unseen: dict[str, UnseenChange] = {}
        kept: dict[str, str] | None = None  # the texts of the chunks read last, when needed
        texts: dict[str, str] = {}  # of those that changed, as they are now

        def stored_text(chunk_digest: str) -> str | None:
            nonlocal kept
            if kept is None:
                kept = self.cache.texts(self.lineage) if self.cache is not None else {}
            return kept.get(chunk_digest)

        for path in changed:
            member = by_path[path]
            before = self.cache.facts(self.cache.facts_key(old[path][0], member.module))
            after = self._facts(member)
            if before is None or after is None:
                return None
            if not same_facts(before, after):
                # Or only functions changed that no rule sees unless something names them.
                change = unseen_change(before, after, member.module)
                if change is None:
                    return None
                unseen[path] = change
            # The file as it is now, read once for the searches and the chunks.
            source = Source(member.absolute, member.digest, member.content)
            renumber = unseen[path].chunks if path in unseen else None
            if path in searched:  # each word searched for must be where it was, and only there
                moved_words = _searched_again(source, after, searched[path], renumber)
                if moved_words is None:
                    return None
                searched[path] = moved_words
            if path in read:  # the chunks read must be there (their syntax, or their text)
                moved = cutoff.moved(
                    source, after, read[path], stored_text, renumber, texts, self.parsed.get(path)
                )
                if moved is None:
                    return None
                moves[path] = moved
        if unseen and not self._unnamed(unseen):
            return None
        replay = _replay(previous)
        if replay is None or any(
            name in d.message
            for d, _ in replay
            for name in {n for p in edited for n in (p, os.path.basename(p))}
        ):
            return None  # a message quoting a changed file may quote a line that moved
        replay = cutoff.remapped(replay, moves)
        if replay is None:
            return None
        read = {p: cutoff.shifted(extents, moves.get(p)) for p, extents in read.items()}
        if texts:  # the texts of the chunks read now: those kept, and those that changed
            known = {**(kept or {}), **texts}
            wanted = {e[3] for extents in read.values() if extents for e in extents}
            texts = {key: known[key] for key in wanted if key in known}
        self.store(replay, read, [str(h) for h in helpers], texts or None, kept, searched)
        return replay

    def _unnamed(self, changes: dict[str, UnseenChange]) -> bool:
        """Whether nothing in these files names the functions of ``changes`` (by the path of
        the file they are in) but their own ``def`` lines (see :meth:`UnseenChange.unnamed`)."""
        texts: dict[str, bytes] = {}
        try:
            for member in self.members:
                data = member.content
                if data is None:
                    data = _read(member.absolute)
                if member.shown in changes and digest(data) != member.digest:
                    return False  # changed again since it was indexed
                texts[member.shown] = data
            for file, shown, _ in self.skipped:
                texts[shown] = _read(os.fspath(file))
        except OSError:
            return False
        # A module or package of the project by the same name: a relative import reaches it
        # without its name in the text (``from . import eps`` in ``pkg/utils/ops.py``).
        modules = {part for m in self.members for part in m.module.split(".")}
        modules.update(part for _, shown, _ in self.skipped for part in _module_parts(shown))
        modules.update(part for m in self.members for part in _module_parts(m.shown))
        return all(
            not (change.present | change.gone) & modules
            and change.unnamed(texts[path], (t for p, t in texts.items() if p != path))
            for path, change in changes.items()
        )

    def _facts(self, member: _Member) -> Any:
        """The facts document of ``member`` as it is now: cached, else indexed and cached
        (and its parse kept in ``parsed``, for :func:`cutoff.moved`)."""
        assert self.cache is not None
        key = self.cache.facts_key(member.digest, member.module)
        document = self.cache.facts(key)
        if document is None:
            task = (member.shown, member.absolute, member.module, member.content)
            parsed: list[ParsedModule] = []
            # No collection after it (see _settle): its tree is kept, for moved(), and cycles
            # of the indexer's are broken by the indexer itself.
            kind, document, file_digest = _index_one(task, parsed)
            self.indexed += 1
            if kind != "facts" or file_digest not in ("", member.digest):
                return None
            if parsed:
                self.parsed[member.shown] = parsed[0]
            self.cache.store_facts(key, document)
        return document


def _read(path: str) -> bytes:
    """A file's bytes, without ``pathlib``'s layers (40% of the time of reading every file of
    the Keras tree, as the cutoff does to search them for a name)."""
    handle = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        chunks = []
        while chunk := os.read(handle, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(handle)


def _stored_searches(document: object) -> Searches | None:
    """The searches of a stored result (by shown path), or None when malformed."""
    if not isinstance(document, dict):
        return None
    out: Searches = {}
    for path, words in document.items():
        if not isinstance(path, str) or not isinstance(words, dict):
            return None
        out[path] = {}
        for word, chunks in words.items():
            if not isinstance(word, str) or not isinstance(chunks, list):
                return None
            if not all(type(c) is int for c in chunks):
                return None
            out[path][word] = set(chunks)
    return out


def _searched_again(
    source: Source, facts: Any, words: dict[str, set[int]], renumber: Mapping[int, int] | None
) -> dict[str, set[int]] | None:
    """The chunks of the file as it is now that hold each word searched for last time, when
    they are the chunks that held it then (renumbered where chunks came or went); else None.
    Those chunks' text was read, so the cutoff compares it too: every line holding a word is
    then the same."""
    try:
        starts = tuple(facts["f"][field_position("chunks")])
        if renumber is not None:
            words = {w: {renumber[c] for c in chunks} for w, chunks in words.items()}
        text = source.text()
    except (KeyError, TypeError, IndexError, SourceChanged, OSError):
        return None
    now = codec.searched_chunks(text, starts, words)
    return now if now == words else None


def _merge_searches(into: Searches, more: Mapping[str, Mapping[str, Iterable[int]]]) -> None:
    for path, words in more.items():
        known = into.setdefault(path, {})
        for word, chunks in words.items():
            known.setdefault(word, set()).update(chunks)


def _module_parts(shown: str) -> list[str]:
    """The names that a file's path gives modules: its directories and its stem."""
    directory, _, name = shown.replace("\\", "/").rpartition("/")
    return [*directory.split("/"), name.partition(".")[0]]


def _described(
    reads: Reads, text: Reads, members: list[_Member], texts: dict[str, str]
) -> Described:
    """What was read of each file: the extents of its chunks read, each with whether its text
    was read (1) or only its syntax (0), or None where it was read whole or its facts are not
    at hand (a file read only for a finding's line). The chunks' texts go to ``texts``."""
    facts = {m.absolute: m.facts for m in members if m.facts is not None}
    out: Described = {}
    for path, chunks in reads.items():
        source = codec.source_of(facts[path]) if path in facts else None
        try:
            extents = source.extents(chunks, texts) if source is not None else None
        except (SourceChanged, SyntaxError, ValueError, OSError):
            extents = None
        if extents is not None:
            quoted = text.get(path, ())
            for extent in extents:
                extent.append(int(extent[0] in quoted))
        out[path] = extents
    return out


def _replay(document: object) -> list[Found] | None:
    """Cached results, or None when the entry is not a list of ``[diagnostic, line]`` pairs."""
    if isinstance(document, dict):
        document = document.get("found")
    if not isinstance(document, list):
        return None
    out: list[Found] = []
    try:
        for item in document:
            diagnostic, line = item
            value = decode(diagnostic)
            if not isinstance(value, Diagnostic) or not isinstance(line, str):
                return None
            out.append((value, line))
    except (DecodeError, TypeError, ValueError):
        return None
    return out


def _runtime_selected(config: Config) -> bool:
    from losslint.runtime.rules import RUNTIME_RULES

    return any(
        rule.code.startswith(config.selected)
        and not (config.ignored and rule.code.startswith(config.ignored))
        for rule in RUNTIME_RULES
    )


@dataclass(frozen=True)
class _Scanned:
    digest: str
    relevant: bool
    installs: str = ""  # a notebook's install commands (see losslint.notebook.installs)


def _scan(
    file: Path, shown: str, cache: Cache | None, content: bytes | None = None
) -> _Scanned | Diagnostic:
    """Content digest and pre-filter of a file, from the manifest when it is unchanged."""
    if content is not None:  # not on the disk: its stat says nothing of it
        return _scanned(file, shown, content)
    try:
        stat = file.stat()
    except OSError as error:
        return unreadable(shown, f"cannot be read: {error.strerror or error}")
    special = not_regular(stat.st_mode)  # a FIFO blocks, /dev/zero never ends: never opened
    if special is not None:
        return unreadable(shown, special)
    absolute = os.path.abspath(file)  # a cache key: no need to resolve links per file
    known = cache.state(absolute, stat) if cache is not None else None
    if known is not None:
        return _Scanned(known.digest, known.relevant, known.installs)
    if stat.st_size > MAX_BYTES:
        return unreadable(
            shown, f"is {stat.st_size // (1024 * 1024)} MiB, over the 10 MiB limit; not checked"
        )
    data = read_source(file, shown)
    if isinstance(data, Diagnostic):
        return data
    scanned = _scanned(file, shown, data)
    if cache is not None and isinstance(scanned, _Scanned):
        state = FileState.of(stat, scanned.digest, scanned.relevant, scanned.installs)
        cache.remember(absolute, state)
    return scanned


def _scanned(file: Path, shown: str, data: bytes) -> _Scanned | Diagnostic:
    try:
        python = python_bytes(file, data)  # a notebook's code cells
    except NotebookError as error:
        return unreadable(shown, f"{error}; not checked")
    # What a notebook installs pins its Keras (see _Pinned): read here, with its bytes in hand,
    # and kept in the manifest, so that a warm run never opens the notebook again.
    return _Scanned(
        digest(data), may_concern_keras(python), installs(data) if is_notebook(file) else ""
    )


class _ModuleNames:
    """Dotted module names from the chain of ``__init__.py`` files, one look per directory."""

    def __init__(self) -> None:
        self._packages: dict[str, str | None] = {}
        self._real: dict[str, str] = {}  # directory → its real path

    def _package(self, directory: str) -> str | None:
        """The dotted package of ``directory``; None when it is not a package."""
        if directory in self._packages:
            return self._packages[directory]
        parent = os.path.dirname(directory)
        found: str | None = None
        if parent != directory and os.path.isfile(os.path.join(directory, "__init__.py")):
            above = self._package(parent)
            name = os.path.basename(directory)
            found = f"{above}.{name}" if above else name
        self._packages[directory] = found
        return found

    def of(self, absolute: str) -> str:
        if os.path.islink(absolute):
            directory, name = os.path.split(os.path.realpath(absolute))
        else:  # one realpath (a chain of lstat calls) per directory, not per file
            folder, name = os.path.split(absolute)
            directory = self._real.get(folder) or self._real.setdefault(
                folder, os.path.realpath(folder)
            )
        package = self._package(directory)
        if name == "__init__.py":
            return package or ""
        stem = name[:-3] if name.endswith(".py") else name
        return f"{package}.{stem}" if package else stem


def _groups(
    members: list[_Member], filtered: list[tuple[Path, str, str]], names: _ModuleNames
) -> Iterator[tuple[list[_Member], list[tuple[Path, str, str]]]]:
    """The members split by :func:`~losslint.index.roots.namespace_groups` (from paths and
    module names alone, before any file is indexed), each with the skipped files that may give
    it helpers: those under one of its package roots, or nearest to them."""
    from losslint.index.roots import common_length, namespace_groups, package_root

    groups = namespace_groups([(m.absolute, m.module) for m in members])
    if not groups:  # no file with loss code: a skipped file gives facts to none
        return
    if len(groups) == 1:
        yield [members[i] for i in groups[0]], filtered
        return
    owner: dict[str, int] = {}
    for number, group in enumerate(groups):
        for i in group:
            owner.setdefault(package_root(members[i].absolute, members[i].module), number)
    skipped: list[list[tuple[Path, str, str]]] = [[] for _ in groups]
    for item in filtered:
        absolute = os.path.abspath(item[0])
        root = package_root(absolute, names.of(absolute))
        if root not in owner:
            nearest = max(sorted(owner), key=lambda r: common_length(r, root))
            owner[root] = owner[nearest]
        skipped[owner[root]].append(item)
    for number, group in enumerate(groups):
        yield [members[i] for i in group], skipped[number]


def _facts(
    members: list[_Member],
    cache: Cache | None,
    jobs: int | None,
    found: list[Found],
    internal: list[str],
    workers: _Workers | None = None,
) -> tuple[int, int]:
    """Fill each member's facts from the cache, else by indexing it; (indexed, cached)."""
    pending: list[_Member] = []
    cached = 0
    for member in members:
        document = cache.facts(cache.facts_key(member.digest, member.module)) if cache else None
        if document is not None and _adopt(member, document, found):
            cached += 1
        else:
            pending.append(member)
    failed: dict[int, str] = {}
    # Each document is taken as it comes (from a worker, or indexed here), so no more than a
    # few encoded documents are alive at once, and this process decodes while workers index.
    for number, (kind, value, file_digest) in _index_all(pending, jobs, workers):
        member = pending[number]
        if kind == "internal":
            assert isinstance(value, str)
            failed[number] = value
            continue
        member.digest = file_digest or member.digest
        key = cache.facts_key(member.digest, member.module) if cache is not None else ""
        if kind == "stored":
            value, where = value
            assert cache is not None
            cache.packed_at(key, where)
        elif cache is not None:
            cache.store_facts(key, value)
        _adopt(member, value, found)
    for number in sorted(failed):  # in the files' order, whichever worker finished first
        member, value = pending[number], failed[number]
        internal.append(f"indexing {member.shown} failed:\n{value}")
        found.append((_internal(member.shown, "indexing", value), ""))
    return len(pending), cached


def _adopt(member: _Member, document: Any, found: list[Found]) -> bool:
    """Take an indexed document (facts, an LL000 or nothing) for ``member``; False if invalid."""
    if document == "skip":
        return True
    if isinstance(document, dict) and document.get("@") == "ModuleIndex":
        values = document.get("f")
        if isinstance(values, list) and len(values) > field_position("path"):
            # Facts are shared by identical files: the path is the one of this run.
            document = {"@": "ModuleIndex", "f": [*values]}
            document["f"][field_position("path")] = member.shown
    try:
        value = decode(document, Source(member.absolute, member.digest, member.content))
    except DecodeError:
        return False
    from losslint.index.facts import ModuleIndex

    if isinstance(value, ModuleIndex):
        member.facts = value
        for line, column, reason in value.unparsed:  # a notebook's cells left out
            found.append((unparsed_cell(member.shown, line, column, reason), ""))
        return True
    if isinstance(value, Diagnostic):
        found.append((dataclasses.replace(value, path=member.shown), ""))
        return True
    return False


def _index_all(
    pending: list[_Member], jobs: int | None, workers: _Workers | None = None
) -> Iterator[tuple[int, tuple[str, Any, str]]]:
    """Parse and index each file, in the run's worker processes when there are enough files:
    each file's position in ``pending`` and outcome, as they come."""
    tasks = [(m.shown, m.absolute, m.module, m.content) for m in pending]
    wanted = min(jobs or os.cpu_count() or 1, len(tasks) // _MIN_FILES_PER_WORKER)
    if workers is None or wanted <= 1 or any(m.content is not None for m in pending):
        for number, task in enumerate(tasks):
            yield number, _index_file(task)
        return
    pool = workers.get(wanted)
    # Largest files first, so that no worker is left with a big file at the end.
    order = sorted(range(len(tasks)), key=lambda i: -_size(tasks[i][1]))
    yield from pool.imap_unordered(_index_numbered, [(i, tasks[i]) for i in order], chunksize=4)


class _Workers:
    """The run's worker processes: forked once, at the first need, and shared by every group.
    Forked later, each would start with (and count in its resident memory) the facts this
    process holds by then. Workers write the facts they make to the cache themselves, each to
    a pack of its own (their outcome's kind is then ``stored``, with where each document went),
    so this process does not serialise every document again."""

    def __init__(self, cache: Cache | None) -> None:
        self.cache = cache
        self.pool: Any = None

    def get(self, size: int) -> Any:
        global _worker_cache, _parent_pid
        if self.pool is None:
            import multiprocessing

            import losslint.index.module  # noqa: F401  # imported once, before the fork

            context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
            _worker_cache = self.cache  # the workers fork with it
            _parent_pid = os.getpid()  # and check that it is still their parent
            try:
                self.pool = context.Pool(size, initializer=_worker_started)
            finally:
                _worker_cache = None
        return self.pool

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


_worker_cache: Cache | None = None  # set in a worker: where to write the facts it makes
_parent_pid: int | None = None  # the process that forked the workers


def _index_numbered(
    item: tuple[int, tuple[str, str, str, bytes | None]],
) -> tuple[int, tuple[str, Any, str]]:
    kind, value, file_digest = _index_file(item[1])
    cache = _worker_cache
    if cache is not None and kind == "facts" and file_digest:
        where = cache.store_facts(cache.facts_key(file_digest, item[1][2]), value)
        if where is not None:  # in this worker's pack: the parent indexes it
            kind, value = "stored", (value, where)
    return item[0], (kind, value, file_digest)


@contextlib.contextmanager
def _collector() -> Iterator[None]:
    """No automatic cycle collection while files are indexed; :func:`_settle` after each.

    Measured on the Keras tree (960 files indexed, 2 cores): the automatic collector spent 40%
    of a cold run scanning the facts of the files already indexed (long-lived: the more files,
    the longer each scan), then half of the rules' time scanning the trees re-parsed for them.
    Collecting the youngest generation after each file frees that file's syntax tree and index
    cycles in one pass over them, and freezing what survives (its facts) keeps any later
    collection from scanning it again. The rules run with the collector off: it freed nothing
    there (same peak memory, 265 MiB), and cost 30% of a cold run's CPU (22.7 s → 17.6 s).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _settle() -> None:
    if not gc.isenabled():
        gc.collect(0)
        gc.freeze()


def _index_file(task: tuple[str, str, str, bytes | None]) -> tuple[str, Any, str]:
    try:
        return _index_one(task)
    finally:
        _settle()


def _index_one(
    task: tuple[str, str, str, bytes | None], parsed: list[ParsedModule] | None = None
) -> tuple[str, Any, str]:
    """One file → ``(kind, JSON-ready document, digest of what was parsed)``.

    ``kind`` is ``facts`` (the document is facts, an LL000 or ``"skip"``) or ``internal``
    (the document is a traceback: a bug in losslint, reported without losing other files).
    ``parsed``: where to put the parsed module, when the caller reads it next.
    """
    from losslint.index.module import index_module

    shown, absolute, module, content = task
    try:
        data = Path(absolute).read_bytes() if content is None else content
    except OSError as error:
        return "facts", encode(unreadable(shown, f"cannot be read: {error.strerror or error}")), ""
    file_digest = digest(data)
    try:
        loaded = load(Path(absolute), shown, module, data, prefilter=False)  # _scan filtered
        if loaded is None:
            return "facts", "skip", file_digest
        if isinstance(loaded, Diagnostic):
            return "facts", encode(loaded), file_digest
        limit = INDEX_LIMIT_S
        with time_limit(limit, lambda: IndexTimeout(f"indexing did not finish in {limit:g} s")):
            facts = index_module(loaded.tree, loaded.source, loaded.path, loaded.module)
        if loaded.python2 is not None:  # reported with the facts, as a notebook's cells are
            facts = dataclasses.replace(facts, unparsed=(*facts.unparsed, loaded.python2))
        if parsed is not None:
            parsed.append(loaded)
        return "facts", encode(facts), file_digest
    except Exception:  # a bug in losslint must not lose the other files' findings
        return "internal", traceback.format_exc(), file_digest


# Seconds one file's indexing may take (the largest module of Keras takes under 2): past it the
# indexer is in a loop or an explosion, a bug in losslint, reported as such while the other
# files are checked.
INDEX_LIMIT_S: float = 60.0


class IndexTimeout(Exception):
    """Indexing one file went past :data:`INDEX_LIMIT_S`."""


@contextlib.contextmanager
def time_limit(seconds: float, error: Callable[[], Exception]) -> Iterator[None]:
    """Raise ``error()`` in the block once ``seconds`` have passed (a real-time timer; only in
    a process's main thread, where a signal can be handled: elsewhere, as in an editor's
    worker thread, no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return

    def expired(number: int, frame: object) -> None:
        raise error()

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _worker_started() -> None:
    """Workers leave Ctrl-C to the parent, which ends them; they die with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform == "linux":
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: even if the parent is killed
        except (OSError, AttributeError):
            pass
    # The parent may have died before that line (a signal right after the fork, while the pool
    # was still being built): the death signal will never come, and the other workers hold the
    # task pipe open, so nothing else would end this one.
    if _parent_pid is not None and os.getppid() != _parent_pid:
        os._exit(1)


@contextlib.contextmanager
def _terminating() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C: the pool is left through its ``terminate()``."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(number: int, frame: object) -> None:
        raise SystemExit(128 + number)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _internal(path: str, where: str, trace: str) -> Diagnostic:
    last = trace.strip().splitlines()[-1] if trace.strip() else "unknown error"
    return Diagnostic(
        code=PARSE_ERROR_CODE,
        name="internal-error",
        severity=Severity.ERROR,
        message=f"losslint failed while {where} ({last}), so findings here may be missing; "
        "please report this bug with the traceback that --verbose prints",
        path=path,
        span=Span(1, 1, 1, 1),
    )


@dataclass
class _Outcome:
    found: list[Found]
    internal: list[str]
    read: Reads = field(default_factory=dict)  # what was read in a forked child
    text: Reads = field(default_factory=dict)  # and of that, what was read as text
    searched: Searches = field(default_factory=dict)  # and the words searched for


def _check(
    members: list[_Member], config: Config, earlier: list[Found], jobs: int | None = 1
) -> _Outcome:
    """The project join and the selected rules over every file's facts (``earlier``: the
    findings of reading them, which LL001 judges ``noqa`` comments against too)."""
    # Imported here: a run answered from the cache never loads the analysis.
    from losslint.index.project import ProjectIndex, namespaces
    from losslint.rules.registry import RuleContext, all_rules, select_rules

    found: list[Diagnostic] = []
    internal: list[str] = []
    read: Reads = {}
    text: Reads = {}
    searched: Searches = {}
    rules = select_rules(all_rules(), config.selected, config.ignored)
    indexed = [(m.absolute, m.facts) for m in members if m.facts is not None]
    targets = {m.shown: m.target for m in members if m.target is not None}
    graph = {m.shown: m.graph for m in members if m.graph}
    for indexes in namespaces(indexed):
        paths = {m.path for m in indexes}
        context = RuleContext(ProjectIndex(indexes), config.target_keras, targets, graph)
        # The rules that read the value-range analysis (LL3xx, LL107's loss code) share nothing
        # with the others but the facts: with two or more jobs they run in a forked copy of
        # this process while the others run here.
        ranges = [r for r in rules if r.ranges]
        others = [r for r in rules if not r.ranges]
        forked = (
            _forked(ranges, context, paths)
            if ranges
            and others
            and (jobs or os.cpu_count() or 1) > 1
            and len(indexes) >= _MIN_FILES_TO_FORK_RULES
            else None
        )
        for rule in others if forked is not None else rules:
            _run_rule(rule, context, paths, found, internal)
        if forked is not None:
            there = forked()
            found.extend(d for d, _ in there.found)
            internal.extend(there.internal)
            _merge_reads(read, there.read)
            _merge_reads(text, there.text)
            _merge_searches(searched, there.searched)
    # A file's lines are read again (from the disk) only where a finding or our noqa is.
    facts = {m.shown: m.facts for m in members if m.facts is not None}
    result = _with_lines(found, facts)
    # A Python 2 file is read with its print statements as calls; its text is not Python 3, so
    # no fix can be applied to it (libcst cannot parse it): none is offered.
    python2 = {
        p for p, index in facts.items() if any(r.startswith(PYTHON2) for *_, r in index.unparsed)
    }
    if python2:
        result = [
            (
                dataclasses.replace(d, fix=None) if d.fix is not None and d.path in python2 else d,
                line,
            )
            for d, line in result
        ]
    if _selected(noqa.CODE, config):  # LL001 judges the findings above, on the same files
        # Only a file with a noqa comment naming our codes can have an unused one.
        commented = {p: list(index.lines) for p, index in facts.items() if index.noqa}
        selected = functools.partial(_selected, config=config)
        result.extend(noqa.judge([*earlier, *result], commented, selected))
    return _Outcome(result, internal, read, text, searched)


def _merge_reads(into: Reads, more: Mapping[str, Iterable[int]]) -> None:
    for path, chunks in more.items():
        into.setdefault(path, set()).update(chunks)


def _run_rule(
    rule: Any, context: Any, paths: set[str], found: list[Diagnostic], internal: list[str]
) -> None:
    try:
        for d in rule.run(context):
            found.append(d)
    except Exception as error:
        trace = traceback.format_exc()
        where = _culprit(error.__traceback__, paths)
        internal.append(f"rule {rule.code} failed on {where or 'the project'}:\n{trace}")
        found.append(_internal(where or ".", f"running rule {rule.code}", trace))


def _forked(rules: list[Any], context: Any, paths: set[str]) -> Callable[[], _Outcome] | None:
    """Run ``rules`` in a forked child; a function that waits for its findings (without their
    lines), internal errors and reads. None where this platform cannot fork. A child that dies
    without answering has its rules run here instead, so nothing is lost."""
    if sys.platform != "linux":
        return None
    import multiprocessing

    context_fork = multiprocessing.get_context("fork")
    receive, send = context_fork.Pipe(duplex=False)

    def child() -> None:
        _worker_started()
        found: list[Diagnostic] = []
        internal: list[str] = []
        for rule in rules:
            _run_rule(rule, context, paths, found, internal)
        read = {path: sorted(chunks) for path, chunks in codec.READ.items()}
        text = {path: sorted(chunks) for path, chunks in codec.TEXT.items()}
        searched = {
            path: {word: sorted(chunks) for word, chunks in words.items()}
            for path, words in codec.SEARCHED.items()
        }
        send.send(([encode(d) for d in found], internal, read, text, searched))
        send.close()

    process = context_fork.Process(target=child, daemon=True)
    process.start()
    send.close()

    def wait() -> _Outcome:
        read: Reads = {}
        text: Reads = {}
        searched: Searches = {}
        try:
            documents, internal, read_there, text_there, searched_there = receive.recv()
            found = [decode(d) for d in documents]
            _merge_reads(read, read_there)
            _merge_reads(text, text_there)
            _merge_searches(searched, searched_there)
        except (EOFError, OSError, DecodeError):  # the child died: its rules run here
            found, internal = [], []
            for rule in rules:
                _run_rule(rule, context, paths, found, internal)
        finally:
            receive.close()
            process.join()
        return _Outcome([(d, "") for d in found], internal, read, text, searched)

    return wait


def _needed_helpers(
    members: list[_Member],
    filtered: list[tuple[Path, str, str]],
    names: _ModuleNames,
    contents: dict[str, bytes],
) -> list[_Member]:
    """The skipped files that a module holding loss code (a compile, an objective, a function
    shaped like a loss) imports; the others stay unparsed."""
    if not filtered:
        return []
    from losslint.index.project import prediction_name, truth_name

    imported: set[str] = set()
    # Every function is read: what is selected must be what unseen_function rules out.
    for member in members:
        index = member.facts
        if index is None:
            continue
        if index.compiles or index.objectives or any(
            len(params) >= 2 and truth_name(params[0]) and prediction_name(params[1])
            for params in (f.params[1:] if f.params[:1] == ("self",) else f.params
                           for f in index.functions)
        ):  # fmt: skip
            imported.update(index.imports.values())
            imported.update(index.stars)
    if not imported:
        return []
    # A package imported whole (``import evidential_deep_learning as edl``, then
    # ``edl.losses.EvidentialRegression``) gives what its ``__init__`` imports, and so on down.
    packages = {m.module: found for m in members if (found := _package_imports(m))}
    pending = list(imported)
    while pending:
        package = packages.pop(pending.pop(), None)
        if package is not None:
            more = package - imported
            imported |= more
            pending.extend(more)
    return _imported_files(imported, filtered, names, contents)


def _package_imports(member: _Member) -> set[str]:
    """What a package's ``__init__`` imports (its names' modules, its star imports); empty for
    any other file, or one not indexed."""
    if member.facts is None or os.path.basename(member.absolute) != "__init__.py":
        return set()
    return {*member.facts.imports.values(), *member.facts.stars}


def _reexported(
    indexed: list[_Member],
    taken: list[_Member],
    filtered: list[tuple[Path, str, str]],
    names: _ModuleNames,
    contents: dict[str, bytes],
) -> list[_Member]:
    """The skipped files that the packages among ``indexed`` (their ``__init__``, now
    indexed as helpers) import, other than those ``taken`` already: a package that gathers
    its modules' functions (``from ._masked_accuracy import masked_accuracy``) gives them
    to the module that imports the package."""
    imported = {name for member in indexed for name in _package_imports(member)}
    if not imported:
        return []
    done = {m.absolute for m in taken}
    rest = [entry for entry in filtered if os.path.abspath(entry[0]) not in done]
    return _imported_files(imported, rest, names, contents)


def _imported_files(
    imported: set[str],
    filtered: list[tuple[Path, str, str]],
    names: _ModuleNames,
    contents: dict[str, bytes],
) -> list[_Member]:
    """The files of ``filtered`` that are the modules (or packages) ``imported`` names."""
    from losslint.index.names import imports_module

    # ``pkg.utils`` or ``pkg.utils.eps``: the module is the name or the one above it.
    wanted = {
        part.rpartition(".")[2] for name in imported for part in (name, name.rpartition(".")[0])
    }
    helpers: list[_Member] = []
    for file, shown, file_digest in filtered:
        if not (file.stem in wanted or (file.name == "__init__.py" and file.parent.name in wanted)):
            continue
        absolute = os.path.abspath(file)
        module = names.of(absolute)
        if any(imports_module(name, module) for name in imported):
            helper = _Member(shown, absolute, file_digest, module)
            helper.content = contents.get(shown)
            helpers.append(helper)
    return helpers


def _selected(code: str, config: Config) -> bool:
    return code.startswith(config.selected) and not (
        config.ignored and code.startswith(config.ignored)
    )


def _culprit(trace: types.TracebackType | None, paths: set[str]) -> str | None:
    """The file a failing rule was looking at: the innermost frame holding a fact of one."""
    frames = []
    while trace is not None:
        frames.append(trace.tb_frame)
        trace = trace.tb_next
    for frame in reversed(frames):
        for value in frame.f_locals.values():
            path = getattr(value, "path", None)
            if isinstance(path, str) and path in paths:
                return path
    return None


def _with_lines(found: list[Diagnostic], known: dict[str, ModuleIndex]) -> list[Found]:
    """Each diagnostic with the text of its line, so that ``noqa`` applies to cached results."""
    texts: dict[str, Sequence[str]] = {}
    out: list[Found] = []
    for d in found:
        if d.path not in texts:  # a file's lines record a read of the chunk of each line taken
            texts[d.path] = known[d.path].lines if d.path in known else _read_lines(d.path)
        lines = texts[d.path]
        # Read to judge noqa, which the cutoff does again on the line as it is now.
        out.append((d, placed_line(lines, d.line - 1) if 0 < d.line <= len(lines) else ""))
    return out


def _read_lines(path: str) -> list[str]:
    codec.mark_read(os.path.abspath(path))
    try:
        text = decode_source(Path(path).read_bytes(), path)
    except OSError:
        return []
    return [] if isinstance(text, Diagnostic) else source_lines(text)  # as Python counts lines


def _kept(diagnostic: Diagnostic, line: str, config: Config) -> bool:
    code = diagnostic.code
    # Rules are selected before they run; LL000 comes from parsing and the RT codes from the
    # runtime stage, so they are selected here.
    if (code == PARSE_ERROR_CODE or diagnostic.source == "runtime") and (
        not code.startswith(config.selected) or (config.ignored and code.startswith(config.ignored))
    ):
        return False
    for pattern, codes in config.per_file_ignores:
        if codes and code.startswith(codes) and _matches(pattern, diagnostic.path, config):
            return False
    return not _suppressed(line, code)


@functools.lru_cache(maxsize=256)
def _pattern(pattern: str) -> pathspec.PathSpec[Any]:
    return pathspec.PathSpec.from_lines("gitignore", [pattern])


def _matches(pattern: str, path: str, config: Config) -> bool:
    spec = _pattern(pattern)
    absolute = Path(path).resolve()
    try:
        relative = absolute.relative_to(config.root).as_posix()
    except ValueError:
        relative = path
    return spec.match_file(relative)


def _suppressed(line: str, code: str) -> bool:
    return noqa.suppressed(line, code)
