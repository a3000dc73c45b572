"""Mutants of the fixtures, and the checks a mutant must pass (issue 9's fuzzer).

Used by ``tests/test_fuzz.py`` (a bounded count in CI) and ``bench/fuzz.py`` (the long run).
A mutation is one of the edits a fuzzer of linters makes: delete, duplicate or swap lines,
truncate at a byte, replace a number by an edge value (0, -1, 1e308, nan, 9**9**9, a huge
integer), rename ``y_true``/``y_pred``, or insert odd Unicode (line separators, form feeds,
BOMs, NUL, combining marks). The same seed gives the same mutants on every machine.
"""

from __future__ import annotations

import ast
import contextlib
import random
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from losslint import pipeline
from losslint.config import Config
from losslint.diagnostic import Diagnostic

ROOT: Final = Path(__file__).resolve().parent.parent
CORPUS: Final = ROOT / "fixtures"
# Every input that ever crashed or stalled losslint, kept as a regression fixture.
CRASHERS: Final = ROOT / "tests" / "data" / "fuzz"

_NUMBER: Final = re.compile(rb"(?<![\w.])\d+(?:\.\d*)?(?:[eE][-+]?\d+)?(?![\w.])")
_EDGE_NUMBERS: Final = (
    b"0",
    b"-1",
    b"1e308",
    b"float('nan')",
    b"9 ** 9 ** 9",
    b"10**400",
    b"1" + b"0" * 400,
    b"0x" + b"f" * 5000,  # valid, but str() of it raises (over 4,300 digits)
    b"-0.0",
    b"1e-320",
)
_NAMES: Final = (b"y_true", b"y_pred")
_RENAMES: Final = (b"y_pred", b"y_true", b"ytrue", b"pred", b"_", b"ops", b"K", b"self")
_ODD_TEXT: Final = (
    "\x0c",
    "\u2028",
    "\u2029",
    "\x85",
    "\r",
    "\r\n",
    "\t",
    "\x00",
    "\ufeff",
    "\u0301",
    "\u200b",
    "\U0001d4e7",  # 𝓧: NFKC-normalised in identifiers
    "\ufb01",  # ﬁ: likewise
    "é",
    "\x1b[31m",
    "'",
    '"""',
    "\\",
    "(",
    ")",
    ":",
    "    ",
    "#",
)


def corpus() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*.py") if p.is_file())


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def _delete_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    del lines[rng.randrange(len(lines))]
    return b"".join(lines)


def _duplicate_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    index = rng.randrange(len(lines))
    lines.insert(index, lines[index])
    return b"".join(lines)


def _swap_lines(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[a], lines[b] = lines[b], lines[a]
    return b"".join(lines)


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _edge_number(rng: random.Random, data: bytes) -> bytes:
    found = list(_NUMBER.finditer(data))
    if not found:
        return _odd_text(rng, data)
    match = rng.choice(found)
    return data[: match.start()] + rng.choice(_EDGE_NUMBERS) + data[match.end() :]


def _rename(rng: random.Random, data: bytes) -> bytes:
    name = rng.choice(_NAMES)
    spots = [m.start() for m in re.finditer(rb"\b" + name + rb"\b", data)]
    if not spots:
        return _odd_text(rng, data)
    new = rng.choice([n for n in _RENAMES if n != name])
    if rng.random() < 0.5:  # one occurrence: a name used but never bound, or bound twice
        at = rng.choice(spots)
        return data[:at] + new + data[at + len(name) :]
    return re.sub(rb"\b" + name + rb"\b", new, data)


def _odd_text(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    while 0 < at < len(data) and (data[at] & 0xC0) == 0x80:  # not inside a UTF-8 sequence
        at -= 1
    return data[:at] + rng.choice(_ODD_TEXT).encode("utf-8") + data[at:]


MUTATIONS: Final[dict[str, Callable[[random.Random, bytes], bytes]]] = {
    "delete": _delete_line,
    "duplicate": _duplicate_line,
    "swap": _swap_lines,
    "truncate": _truncate,
    "number": _edge_number,
    "rename": _rename,
    "unicode": _odd_text,
}


@dataclass(frozen=True)
class Mutant:
    number: int
    origin: Path
    mutations: tuple[str, ...]
    data: bytes

    @property
    def label(self) -> str:
        return f"#{self.number} {self.origin.relative_to(ROOT)} [{', '.join(self.mutations)}]"


def mutants(seed: int, count: int) -> Iterator[Mutant]:
    """``count`` mutants, each of a fixture drawn at random with one to three mutations."""
    rng = random.Random(seed)
    files = corpus()
    sources = {path: path.read_bytes() for path in files}
    names = sorted(MUTATIONS)
    for number in range(count):
        origin = rng.choice(files)
        data = sources[origin]
        applied = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            name = rng.choice(names)
            data = MUTATIONS[name](rng, data)
            applied.append(name)
        yield Mutant(number, origin, tuple(applied), data)


class Stalled(Exception):
    """The analysis of one file ran past its time limit."""


def time_limit(seconds: float) -> contextlib.AbstractContextManager[None]:
    """Raise :class:`Stalled` in the main thread after ``seconds`` (SIGALRM; POSIX only)."""
    return pipeline.time_limit(seconds, lambda: Stalled(f"over {seconds:g} s"))


def internal_errors(result: pipeline.Result) -> list[str]:
    """Internal errors however the pipeline reports them: a list, or LL000 diagnostics that
    say so (per-file isolation)."""
    found = list(result.internal_errors)
    found += [d.message for d in result.diagnostics if d.code == "LL000" and _is_internal(d)]
    return found


def _is_internal(diagnostic: Diagnostic) -> bool:
    text = f"{diagnostic.name} {diagnostic.message}".lower()
    return "internal" in text or "traceback" in text


@dataclass
class Verdict:
    mutant: Mutant
    seconds: float
    problem: str  # "" when the mutant passed


def check_mutant(mutant: Mutant, limit_s: float, fix: bool) -> Verdict:
    """Analyse one mutant (and, with ``fix``, fix it twice) in a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="losslint-fuzz-") as scratch:
        root = Path(scratch)
        target = root / mutant.origin.name
        target.write_bytes(mutant.data)
        config = Config(root=root)
        started = time.perf_counter()
        try:
            with time_limit(limit_s):
                result = pipeline.run([target], config, jobs=1, use_cache=False)
        except Stalled as stalled:
            return Verdict(mutant, time.perf_counter() - started, f"stalled: {stalled}")
        except Exception as error:  # any escape is the finding
            return Verdict(mutant, time.perf_counter() - started, f"raised {error!r}")
        seconds = time.perf_counter() - started
        errors = internal_errors(result)
        if errors:
            return Verdict(mutant, seconds, "internal error: " + errors[0])
        if fix:
            problem = _fix_twice(target, config, limit_s)
            if problem:
                return Verdict(mutant, seconds, problem)
        return Verdict(mutant, seconds, "")


def _fix_twice(target: Path, config: Config, limit_s: float) -> str:
    from losslint import fix as fix_engine

    before = target.read_bytes()
    parsed_before = _parses(before)
    try:
        with time_limit(limit_s * 4):
            first = fix_engine.run([target], config, unsafe=True, write=True, jobs=1)
            if first.errors:
                return "internal error during --fix: " + first.errors[0]
            after = target.read_bytes()
            if parsed_before and not _parses(after):
                return "--fix --unsafe-fixes wrote code that does not parse"
            second = fix_engine.run([target], config, unsafe=True, write=False, jobs=1)
    except Stalled as stalled:
        return f"--fix stalled: {stalled}"
    except Exception as error:
        return f"--fix raised {error!r}"
    if second.after:
        return "a second --fix --unsafe-fixes changed the file again"
    return ""


def _parses(data: bytes) -> bool:
    try:
        ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
