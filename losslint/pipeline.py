"""discover → parse → index → rules → diagnostics (SPEC §1), cached and parallel by component."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pathspec

from losslint import noqa
from losslint.cache import Cache, FileFacts, component_key, components, digest, scan_imports
from losslint.config import Config
from losslint.diagnostic import Diagnostic
from losslint.discover import Discovery
from losslint.notebook import NotebookError
from losslint.parse import (
    MAX_BYTES,
    PARSE_ERROR_CODE,
    load,
    may_concern_keras,
    module_name,
    python_bytes,
    unreadable,
)

if TYPE_CHECKING:
    from losslint.index.facts import ModuleIndex
    from losslint.runtime.driver import Progress, RuntimeSummary


# A diagnostic with the text of its line, so that ``noqa`` applies to cached results too.
Found = tuple[Diagnostic, str]


@dataclass
class Result:
    diagnostics: list[Diagnostic]
    files: int  # files found
    checked: int  # files parsed and analysed in this run (not skipped, not from the cache)
    cached: int = 0  # files whose results came from the cache
    internal_errors: list[str] = field(default_factory=list)
    runtime: RuntimeSummary | None = None  # set when the runtime stage ran


@dataclass
class _Outcome:
    found: list[Found]
    internal: list[str]
    checked: int


def display_path(path: Path) -> str:
    """Relative to the current directory when below it, with forward slashes."""
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


def run(
    paths: list[Path],
    config: Config,
    jobs: int | None = None,
    use_cache: bool = True,
    runtime: bool = False,
    progress: Progress | None = None,
    contents: dict[str, bytes] | None = None,
    force_exclude: bool = False,
) -> Result:
    """``runtime``: also run the losses found (``--runtime``); it may raise RuntimeUnavailable.

    ``contents``: file contents by displayed path, for files that are not read from the disk
    (``check -`` and the language server); ``force_exclude``: configured excludes apply to files
    named in ``paths`` too (``--force-exclude``, as pre-commit names every changed file).
    """
    contents = contents or {}
    discovery = Discovery(config.root, config.all_excludes, force_exclude=force_exclude)
    files = list(discovery.files(paths))
    cache = Cache.open(config.root, settings(config)) if use_cache else None
    found: list[Found] = []
    modules: dict[str, str] = {}
    imports: dict[str, tuple[str, ...]] = {}
    digests: dict[str, str] = {}
    filtered: list[tuple[Path, str, str]] = []  # skipped by the pre-filter: (file, shown, digest)
    for file in files:
        shown = display_path(file)
        facts = _scan(file, shown, cache, contents.get(shown))
        if isinstance(facts, Diagnostic):
            found.append((facts, ""))
        elif facts.relevant:
            modules[shown] = facts.module or module_name(file)
            imports[shown] = facts.imports
            digests[shown] = facts.digest
        else:
            filtered.append((file, shown, facts.digest))
    # A helper module that mentions no loss (``from utils import *``, ``eps()``) still gives
    # facts to the loss modules that import it: it joins their group (its digest is part of the
    # group's key), and is parsed only if one of them turns out to hold loss code.
    wanted = {raw.rpartition(".")[2] for names in imports.values() for raw in names}
    helpers: set[str] = set()
    for file, shown, file_digest in filtered:
        if file.stem in wanted or (file.name == "__init__.py" and file.parent.name in wanted):
            modules[shown] = module_name(file)
            imports[shown] = ()
            digests[shown] = file_digest
            helpers.add(shown)
    pending: list[tuple[str, list[str]]] = []
    cached_files = 0
    for group in components(modules, imports):
        key = component_key(cache.config_key if cache else "", [(p, digests[p]) for p in group])
        replay = cache.results(key) if cache else None
        if replay is None:
            pending.append((key, group))
        else:
            found.extend(replay)
            cached_files += len(group)
    internal: list[str] = []
    checked = 0
    for (key, _), outcome in zip(
        pending,
        _analyse_all(pending, modules, config, jobs, contents, frozenset(helpers)),
        strict=True,
    ):
        found.extend(outcome.found)
        internal.extend(outcome.internal)
        checked += outcome.checked
        if cache is not None and not outcome.internal:
            cache.store(key, outcome.found)
    if cache is not None:
        cache.save()
    summary = None
    if runtime and _runtime_selected(config):  # never cached: it runs the user's code
        from losslint.runtime.driver import run_stage

        static = [d for d, line in found if _kept(d, line, config)]
        stage = run_stage(list(modules.items()), config, static, progress)
        found.extend(stage.found)
        internal.extend(stage.internal_errors)
        summary = stage.summary
    kept = [d for d, line in found if _kept(d, line, config)]
    kept.sort(key=Diagnostic.sort_key)
    return Result(kept, len(files), checked, cached_files, internal, summary)


def _runtime_selected(config: Config) -> bool:
    from losslint.runtime.rules import RUNTIME_RULES

    return any(
        rule.code.startswith(config.selected)
        and not (config.ignored and rule.code.startswith(config.ignored))
        for rule in RUNTIME_RULES
    )


def _scan(
    file: Path, shown: str, cache: Cache | None, content: bytes | None = None
) -> FileFacts | Diagnostic:
    """Content digest, pre-filter and imports of a file, from the cache when it is unchanged."""
    if content is not None:  # not on the disk: its stat says nothing of it
        return _facts(file, shown, content, 0, 0)
    try:
        stat = file.stat()
    except OSError as error:
        return unreadable(shown, f"cannot be read: {error.strerror or error}")
    absolute = os.path.abspath(file)  # a cache key: no need to resolve links per file
    known = cache.facts(absolute, stat) if cache is not None else None
    if known is not None:
        return known
    if stat.st_size > MAX_BYTES:
        return unreadable(
            shown, f"is {stat.st_size // (1024 * 1024)} MiB, over the 10 MiB limit; not checked"
        )
    try:
        data = file.read_bytes()
    except OSError as error:
        return unreadable(shown, f"cannot be read: {error.strerror or error}")
    facts = _facts(file, shown, data, stat.st_size, stat.st_mtime_ns)
    if cache is not None and isinstance(facts, FileFacts):
        cache.remember(absolute, facts)
    return facts


def _facts(file: Path, shown: str, data: bytes, size: int, mtime: int) -> FileFacts | Diagnostic:
    try:
        python = python_bytes(file, data)
    except NotebookError as error:
        return unreadable(shown, f"{error}; not checked")
    relevant = may_concern_keras(python)
    return FileFacts(
        size,
        mtime,
        digest(data),
        relevant,
        scan_imports(python) if relevant else (),
        module_name(file) if relevant else "",
    )


def _analyse_all(
    pending: Sequence[tuple[str, list[str]]],
    modules: dict[str, str],
    config: Config,
    jobs: int | None,
    contents: dict[str, bytes],
    helpers: frozenset[str] = frozenset(),
) -> list[_Outcome]:
    """Components are independent: analyse them in worker processes, largest first."""
    workers = min(jobs or os.cpu_count() or 1, len(pending))
    groups = [[(path, modules[path]) for path in group] for _, group in pending]
    if workers <= 1 or contents:
        return [_analyse(group, config, contents, helpers) for group in groups]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(
            pool.map(
                _analyse,
                groups,
                [config] * len(groups),
                [None] * len(groups),
                [helpers] * len(groups),
            )
        )


def _analyse(
    group: list[tuple[str, str]],
    config: Config,
    contents: dict[str, bytes] | None = None,
    helpers: frozenset[str] = frozenset(),
) -> _Outcome:
    """Parse, index and check one component (in a worker process when parallel)."""
    # Imported here: a run answered from the cache never loads the analysis.
    from losslint.index.module import index_module
    from losslint.index.project import ProjectIndex
    from losslint.rules.registry import RuleContext, all_rules, select_rules

    found: list[Found] = []
    internal: list[str] = []
    indexes: list[ModuleIndex] = []
    sources: dict[str, list[str]] = {}

    def index_file(shown: str, module: str) -> None:
        loaded = load(
            Path(shown), shown, module, (contents or {}).get(shown), prefilter=False
        )  # _scan already filtered
        if loaded is None:
            return
        if isinstance(loaded, Diagnostic):
            found.append((loaded, ""))
            return
        sources[shown] = loaded.source.splitlines()
        try:
            indexes.append(index_module(loaded.tree, loaded.source, loaded.path, loaded.module))
        except Exception:  # a bug in losslint must not lose the other files' findings
            internal.append(f"indexing {shown} failed:\n{traceback.format_exc()}")

    for shown, module in group:
        if shown not in helpers:
            index_file(shown, module)
    for shown, module in _needed_helpers(indexes, [g for g in group if g[0] in helpers]):
        index_file(shown, module)
    context = RuleContext(ProjectIndex(indexes), config.target_keras)
    for rule in select_rules(all_rules(), config.selected, config.ignored):
        try:
            for d in rule.run(context):
                lines = sources.get(d.path, [])
                found.append((d, lines[d.line - 1] if 0 < d.line <= len(lines) else ""))
        except Exception:
            internal.append(f"rule {rule.code} failed:\n{traceback.format_exc()}")
    if _selected(noqa.CODE, config):  # LL001 judges the findings above, on the same files
        found.extend(noqa.judge(found, sources, lambda code: _selected(code, config)))
    return _Outcome(found, internal, len(sources))


def _needed_helpers(
    indexes: list[ModuleIndex], helpers: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The helper modules that a module holding loss code (a compile, an objective, a function
    shaped like a loss) imports; the others stay unparsed."""
    if not helpers:
        return []
    from losslint.index.project import PRED_NAMES, TRUE_NAMES

    imported: set[str] = set()
    for index in indexes:
        if index.compiles or index.objectives or any(
            len(params) >= 2 and params[0] in TRUE_NAMES and params[1] in PRED_NAMES
            for params in (f.params[1:] if f.params[:1] == ("self",) else f.params
                           for f in index.functions)
        ):  # fmt: skip
            imported.update(index.imports.values())
            imported.update(index.stars)
    return [
        (shown, module)
        for shown, module in helpers
        if any(_names_module(name, module) for name in imported)
    ]


def _names_module(name: str, module: str) -> bool:
    """Whether an imported name (``pkg.utils`` or ``pkg.utils.eps``) is, or is in, ``module``
    (whose dotted name may start at another package root)."""
    for candidate in (name, name.rpartition(".")[0]):
        if candidate and (
            candidate == module
            or candidate.endswith("." + module)
            or module.endswith("." + candidate)
        ):
            return True
    return False


def _selected(code: str, config: Config) -> bool:
    return code.startswith(config.selected) and not (
        config.ignored and code.startswith(config.ignored)
    )


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
