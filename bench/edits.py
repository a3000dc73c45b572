"""Random edits of a real tree: after each, a cached run must report what a run without the
cache reports (the early cutoff is only ever a shortcut).

    python bench/edits.py TREE                    # 20 edits of random files, seed 1
    python bench/edits.py TREE --file keras/src/ops/numpy.py --count 8 --seed 3
    python bench/edits.py TREE --kind "comment in a function" --kind "comment at a line end"

A copy of TREE is checked once to fill the cache; then each edit is made to a random file (or
to the ``--file`` given), checked with the cache and without it, and undone. The edits are the
ones a person makes between two runs: a top-level function added where a blank line is (named
so that nothing else names it), one removed, renamed or given one more parameter, a comment
inserted (anywhere, inside a function, at the end of one of its lines), a statement inserted in
a function or in a method of a class, a line deleted. Each line says whether the rules ran
again and how long the cached run took; the run fails if any result differs.
"""

from __future__ import annotations

import argparse
import ast
import functools
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from losslint import codec, pipeline
from losslint.config import Config

Edit = Callable[[str, random.Random], str | None]


def _top_functions(text: str) -> list[ast.FunctionDef]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    return [s for s in tree.body if isinstance(s, ast.FunctionDef) and not s.decorator_list]


def _add(text: str, rng: random.Random) -> str | None:
    lines = text.split("\n")
    tops = [f.lineno - 1 for f in _top_functions(text)] + [len(lines)]
    at = rng.choice(tops)
    name = f"_edit_{rng.randrange(10**9)}"
    return "\n".join([*lines[:at], f"def {name}(a, b=2):", "    return a * b", "", "", *lines[at:]])


def _pick(
    text: str, rng: random.Random, simple: bool = False
) -> tuple[ast.FunctionDef, list[str]] | None:
    """A random top-level function and the file's lines; ``simple``: with parameters and its
    ``def`` on one line."""
    functions = [
        f
        for f in _top_functions(text)
        if not simple or (f.args.args and f.lineno == f.body[0].lineno - 1)
    ]
    return (rng.choice(functions), text.split("\n")) if functions else None


def _remove(text: str, rng: random.Random) -> str | None:
    if (picked := _pick(text, rng)) is None:
        return None
    function, lines = picked
    end = function.end_lineno or function.lineno
    return "\n".join([*lines[: function.lineno - 1], *lines[end:]])


def _rename(text: str, rng: random.Random) -> str | None:
    if (picked := _pick(text, rng)) is None:
        return None
    function, lines = picked
    line = lines[function.lineno - 1]
    lines[function.lineno - 1] = line.replace(f"def {function.name}(", f"def {function.name}_x(", 1)
    return "\n".join(lines)


def _widen(text: str, rng: random.Random) -> str | None:
    if (picked := _pick(text, rng, simple=True)) is None:
        return None
    function, lines = picked
    line = lines[function.lineno - 1]
    at = line.rfind(")")
    if at < 0:
        return None
    lines[function.lineno - 1] = line[:at] + ", extra_arg=None" + line[at:]
    return "\n".join(lines)


def _commented(lines: list[str], at: int, line: str = "# an edit") -> str:
    """The lines with a comment line (or ``line``) inserted before line ``at`` (from 0),
    indented as it."""
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())] if at < len(lines) else ""
    return "\n".join([*lines[:at], f"{indent}{line}", *lines[at:]])


def _comment(text: str, rng: random.Random) -> str | None:
    lines = text.split("\n")
    return _commented(lines, rng.randrange(len(lines) + 1))


def _methods(text: str) -> list[ast.FunctionDef]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    return [
        m
        for c in tree.body
        if isinstance(c, ast.ClassDef)
        for m in c.body
        if isinstance(m, ast.FunctionDef)
    ]


def _statement(
    text: str, rng: random.Random, methods: bool = False
) -> tuple[ast.stmt, list[str]] | None:
    """A random statement inside a random top-level function (``methods``: a method of a
    top-level class), and the file's lines."""
    if methods:
        found = _methods(text)
        picked = (rng.choice(found), text.split("\n")) if found else None
    else:
        picked = _pick(text, rng)
    if picked is None:
        return None
    function, lines = picked
    statements = [n for n in ast.walk(function) if isinstance(n, ast.stmt) and n is not function]
    return (rng.choice(statements), lines) if statements else None


def _comment_inside(text: str, rng: random.Random) -> str | None:
    """A comment line inside a function, indented as the statement it goes above."""
    if (picked := _statement(text, rng)) is None:
        return None
    statement, lines = picked
    return _commented(lines, statement.lineno - 1)


def _statement_inside(text: str, rng: random.Random, methods: bool = False) -> str | None:
    """An assignment inside a function (``methods``: a method of a class), above one of its
    statements: its syntax changes."""
    if (picked := _statement(text, rng, methods)) is None:
        return None
    statement, lines = picked
    return _commented(lines, statement.lineno - 1, f"_edit_value = {rng.randrange(100)}")


def _comment_after(text: str, rng: random.Random) -> str | None:
    """A comment at the end of the last line of a statement inside a function."""
    if (picked := _statement(text, rng)) is None:
        return None
    statement, lines = picked
    at = (statement.end_lineno or statement.lineno) - 1
    if lines[at].rstrip().endswith("\\"):
        return None
    lines[at] += "  # an edit"
    return "\n".join(lines)


def _delete(text: str, rng: random.Random) -> str | None:
    lines = text.split("\n")
    if len(lines) < 2:
        return None
    del lines[rng.randrange(len(lines))]
    return "\n".join(lines)


EDITS: dict[str, Edit] = {
    "add a function": _add,
    "remove a function": _remove,
    "rename a function": _rename,
    "add a parameter": _widen,
    "insert a comment": _comment,
    "comment in a function": _comment_inside,
    "comment at a line end": _comment_after,
    "statement in a function": _statement_inside,
    "statement in a method": functools.partial(_statement_inside, methods=True),
    "delete a line": _delete,
}


def _found(config: Config, use_cache: bool) -> list[Any]:
    result = pipeline.run([Path(".")], config, jobs=1, use_cache=use_cache)
    return sorted((codec.encode(d) for d in result.diagnostics), key=repr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("--file", action="append", default=[], help="edit only these files")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kind", action="append", choices=sorted(EDITS), help="only these edits")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    checks: list[int] = []
    real_check = pipeline._check

    def counted(*arguments: Any) -> Any:
        checks.append(1)
        return real_check(*arguments)

    pipeline._check = counted  # type: ignore[assignment]
    differ = 0
    with tempfile.TemporaryDirectory(prefix="losslint-edits-") as tmp:
        work = Path(tmp) / "tree"
        shutil.copytree(args.tree, work, ignore=shutil.ignore_patterns(".git", ".losslint_cache"))
        (work / ".git").mkdir()
        os.chdir(work)
        config = Config(root=work)
        _found(config, True)
        files = [work / f for f in args.file] or sorted(
            p for p in work.rglob("*.py") if b"def " in p.read_bytes()
        )
        if not files:  # a tree of notebooks alone: the edits are written for Python files
            print(f"edits.py: no Python file with a function under {args.tree}", file=sys.stderr)
            return 2
        for number in range(args.count):
            file = rng.choice(files)
            original = file.read_text(encoding="utf-8", errors="surrogateescape")
            kind = rng.choice(sorted(args.kind or EDITS))
            edited = EDITS[kind](original, rng)
            if edited is None or edited == original:
                continue
            file.write_text(edited, encoding="utf-8", errors="surrogateescape")
            before = len(checks)
            started = time.perf_counter()
            cached = _found(config, True)
            seconds = time.perf_counter() - started
            ran = len(checks) > before
            same = cached == _found(config, False)
            differ += not same
            shown = file.relative_to(work)
            print(
                f"{number:3d} {'same' if same else 'DIFFERS':7s} {seconds:5.2f} s "
                f"{'rules ran' if ran else 'cut off  '}  {kind:18s} {shown}",
                flush=True,
            )
            file.write_text(original, encoding="utf-8", errors="surrogateescape")
            _found(config, True)  # the reverted tree: the last results again
    print(f"{differ} of the edits differ")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
