"""discover → parse → index → rules → diagnostics (SPEC §1)."""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pathspec

from losslint.config import Config
from losslint.diagnostic import Diagnostic
from losslint.discover import Discovery
from losslint.index.facts import ModuleIndex
from losslint.index.module import index_module
from losslint.index.project import ProjectIndex
from losslint.parse import ParsedModule, load
from losslint.rules.registry import PARSE_ERROR_CODE, RuleContext, all_rules, select_rules

_NOQA: Final = re.compile(
    r"#\s*noqa(?::[ \t]*(?P<codes>[A-Z]+[0-9]*(?:[ \t]*,[ \t]*[A-Z]+[0-9]*)*))?", re.IGNORECASE
)


@dataclass
class Result:
    diagnostics: list[Diagnostic]
    files: int  # files found
    checked: int  # files parsed and analysed (the rest were skipped by the pre-filter)
    internal_errors: list[str] = field(default_factory=list)


def display_path(path: Path) -> str:
    """Relative to the current directory when below it, with forward slashes."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path.as_posix()
    return Path(path if relative.startswith("..") else relative).as_posix()


def run(paths: list[Path], config: Config) -> Result:
    discovery = Discovery(config.root, config.all_excludes)
    files = list(discovery.files(paths))
    diagnostics: list[Diagnostic] = []
    internal: list[str] = []
    modules: list[ModuleIndex] = []
    sources: dict[str, list[str]] = {}
    checked = 0
    for file in files:
        shown = display_path(file)
        loaded = load(file, shown)
        if loaded is None:
            continue
        if isinstance(loaded, Diagnostic):
            diagnostics.append(loaded)
            continue
        checked += 1
        sources[shown] = loaded.source.splitlines()
        try:
            modules.append(_index(loaded))
        except Exception:  # a bug in losslint must not lose the other files' findings
            internal.append(f"indexing {shown} failed:\n{traceback.format_exc()}")
    context = RuleContext(ProjectIndex(modules), config.target_keras)
    for rule in select_rules(all_rules(), config.selected, config.ignored):
        try:
            diagnostics.extend(rule.run(context))
        except Exception:
            internal.append(f"rule {rule.code} failed:\n{traceback.format_exc()}")
    kept = [d for d in diagnostics if _kept(d, config, sources)]
    kept.sort(key=Diagnostic.sort_key)
    return Result(kept, len(files), checked, internal)


def _index(parsed: ParsedModule) -> ModuleIndex:
    return index_module(parsed.tree, parsed.source, parsed.path, parsed.module)


def _kept(diagnostic: Diagnostic, config: Config, sources: dict[str, list[str]]) -> bool:
    code = diagnostic.code
    # Rules are selected before they run; LL000 comes from parsing, so it is selected here.
    if code == PARSE_ERROR_CODE and (
        not code.startswith(config.selected) or (config.ignored and code.startswith(config.ignored))
    ):
        return False
    for pattern, codes in config.per_file_ignores:
        if codes and code.startswith(codes) and _matches(pattern, diagnostic.path, config):
            return False
    lines = sources.get(diagnostic.path)
    if lines and 0 < diagnostic.line <= len(lines):
        return not _suppressed(lines[diagnostic.line - 1], code)
    return True


def _matches(pattern: str, path: str, config: Config) -> bool:
    spec = pathspec.PathSpec.from_lines("gitignore", [pattern])
    absolute = Path(path).resolve()
    try:
        relative = absolute.relative_to(config.root).as_posix()
    except ValueError:
        relative = path
    return spec.match_file(relative)


def _suppressed(line: str, code: str) -> bool:
    if "noqa" not in line.lower():
        return False
    for match in _NOQA.finditer(line):
        codes = match.group("codes")
        if codes is None:
            return True
        if any(code.startswith(c.strip().upper()) for c in codes.split(",")):
            return True
    return False
