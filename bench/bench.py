"""losslint side by side with Ruff, Pylint and Fixit on the same real files.

    pip install -e '.[bench]'        # ruff, pylint, fixit
    python bench/bench.py            # a 100-file sample of the installed Keras and TensorFlow
    python bench/bench.py --files 0 --skip pylint,fixit     # every file, the fast tools only
    python bench/bench.py --corpus ~/src/keras-examples     # add a public example collection

    python bench/bench.py --tree ~/src/keras            # the scaling scenarios of issue 10

Every tool checks the same copy of the files, one after the other, on this machine. losslint is
timed cold (empty cache) and warm (unchanged files, cache filled), Ruff with and without its
cache. Times are the median of --repeat runs (the slow tools run once); peak memory is the
largest resident set of the tool's processes. Ratios are the tool's time over losslint's cold
time, so "40x" means losslint is 40 times faster.

``--tree DIR`` measures how losslint scales on one real project (the README quotes the
keras-team/keras tree), side by side with Ruff ``--select ALL`` in the same run: cold and warm,
warm after a one-file edit (a central module, imported by many, and a leaf; a comment appended,
which moves nothing, or one more comment line mid-file at each run, which moves every line
below it; for the central module also a function appended, which changes its facts but no
finding; and a comment inside a loss the analyses read, which runs every rule again), a
pre-commit style
run naming one file, ``--jobs 1`` against ``--jobs 2``, and 1, 2, 4 and 8 copies of the tree
(each copy's files differ by a comment, as vendored copies do). Each figure is the median of
--repeat runs of CPU seconds (user + system, all processes) and wall seconds; memory is the
largest resident set of any one process.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "use = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(use.ru_maxrss, use.ru_utime + use.ru_stime)\n"
)


@dataclass
class Timing:
    tool: str
    seconds: float
    peak_mb: float


def source_roots(extra: list[Path]) -> list[Path]:
    """The installed Keras and TensorFlow sources (found without importing them), and extras."""
    roots = []
    for name, sub in (("keras", "src"), ("tensorflow", "python")):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            print(f"note: {name} is not installed here; install the runtime extra to include it")
            continue
        root = Path(next(iter(spec.submodule_search_locations))) / sub
        roots.append(root if root.is_dir() else root.parent)
    roots.extend(p for p in extra if p.is_dir())
    return roots


def sample(roots: list[Path], count: int) -> list[Path]:
    files = sorted(p for root in roots for p in root.rglob("*.py") if p.is_file())
    if count <= 0 or count >= len(files):
        return files
    step = len(files) / count
    return [files[int(i * step)] for i in range(count)]


def copy(files: list[Path], target: Path) -> None:
    """Flat copies with unique names, so every tool sees the same bytes and no cache leaks in."""
    for i, file in enumerate(files):
        shutil.copyfile(file, target / f"f{i:05d}_{file.name}")


def _measured(command: list[str], cwd: Path) -> tuple[float, float, float]:
    """One run of ``command`` under the measuring wrapper: (wall s, peak MiB, CPU s)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    rss, cpu = [*done.stdout.split(), "0", "0"][:2]
    return wall, int(rss) / 1024, float(cpu)


def measure(tool: str, command: list[str], cwd: Path, repeat: int) -> Timing:
    runs = [_measured(command, cwd) for _ in range(repeat)]
    return Timing(tool, statistics.median(r[0] for r in runs), max(r[1] for r in runs))


def executable(name: str) -> str | None:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


@dataclass
class Run:
    """One scenario of ``--tree``: medians of CPU and wall seconds, and the largest process."""

    cpu: float
    wall: float
    peak_mb: float


def timed(command: list[str], cwd: Path, repeat: int, before: Callable[[int], None]) -> Run:
    """Medians over ``repeat`` runs; ``before(i)`` prepares run ``i`` (untimed)."""
    cpus, walls, peaks = [], [], []
    for i in range(repeat):
        before(i)
        wall, peak, cpu = _measured(command, cwd)
        walls.append(wall)
        peaks.append(peak)
        cpus.append(cpu)
    return Run(statistics.median(cpus), statistics.median(walls), max(peaks))


def _copy_tree(source: Path, target: Path, number: int | None) -> None:
    """The tree's Python files; with ``number``, each file gets a comment of its own."""
    for file in source.rglob("*.py"):
        relative = file.relative_to(source)
        if any(part.startswith(".") for part in relative.parts):
            continue
        out = target / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        data = file.read_bytes()
        out.write_bytes(data if number is None else data + f"\n# copy {number}\n".encode())


def _central_and_leaf(tree: Path) -> tuple[Path, Path]:
    """The module whose dotted name is imported most often, and one that nothing imports."""
    files = sorted(p for p in tree.rglob("*.py") if b"keras" in p.read_bytes())
    names = {}
    for file in files:
        parts = file.relative_to(tree).with_suffix("").parts
        if parts[-1] == "__init__":
            continue
        names[".".join(parts)] = file
    counts = dict.fromkeys(names, 0)
    pattern = re.compile(rb"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.MULTILINE)
    for file in files:
        for match in pattern.finditer(file.read_bytes()):
            name = (match.group(1) or match.group(2)).decode()
            if name in counts:
                counts[name] += 1
    central = names[max(counts, key=lambda n: (counts[n], n))]
    leaf = names[min((n for n in counts if counts[n] == 0), key=lambda n: (len(n), n))]
    return central, leaf


def _loss_module(tree: Path) -> tuple[Path, int] | None:
    """The file with the most functions shaped like a loss, ``(y_true, y_pred)``, and the line
    (from 0) of its first such ``def`` that fits on one line."""
    shaped = re.compile(rb"^def \w+\(y_true, y_pred[,)].*:\s*$", re.MULTILINE)
    counts = {p: len(shaped.findall(p.read_bytes())) for p in sorted(tree.rglob("*.py"))}
    best = max(counts, key=lambda p: counts[p], default=None)
    if best is None or not counts[best]:
        return None
    lines = best.read_bytes().splitlines()
    return best, next(n for n, line in enumerate(lines) if shaped.match(line + b"\n"))


def _bytecode() -> None:
    """losslint's own modules compiled once, as an installed package has them: where
    PYTHONDONTWRITEBYTECODE is set, every run would compile them again (about 80 ms)."""
    spec = importlib.util.find_spec("losslint")
    if spec is not None and spec.origin is not None:
        package = str(Path(spec.origin).parent)
        subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=False)


def scale(tree: Path, repeat: int, skip: set[str]) -> None:
    losslint = executable("losslint") or "losslint"
    _bytecode()
    ruff = executable("ruff") if "ruff" not in skip else None
    rows: list[tuple[str, Run | None, Run | None]] = []

    def check(*extra: str) -> list[str]:
        return [losslint, "check", ".", "-q", "--fail-on", "never", *extra]

    ruff_check = [ruff or "ruff", "check", "--select", "ALL", "--quiet", "--exit-zero", "."]
    with tempfile.TemporaryDirectory(prefix="losslint-scale-") as tmp:
        work = Path(tmp) / "tree"
        _copy_tree(tree, work, None)
        (work / ".git").mkdir()  # a repository: a named file is checked within it
        cache = work / ".losslint_cache"
        central, leaf = _central_and_leaf(work)
        count = len(list(work.rglob("*.py")))
        lines = sum(p.read_bytes().count(b"\n") for p in work.rglob("*.py"))
        print(
            f"{count} files, {lines} lines; central {central.relative_to(work)}, "
            f"leaf {leaf.relative_to(work)}"
        )

        def clear(_: int) -> None:
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(work / ".ruff_cache", ignore_errors=True)

        def nothing(_: int) -> None:
            pass

        def edit(
            file: Path,
            middle: bool = False,
            code: bool = False,
            body: int | None = None,
            statement: bool = False,
        ) -> Callable[[int], None]:
            """A comment appended, or (``middle``) ``i + 1`` comment lines inserted before the
            top-level ``def`` nearest the middle of the file: each run moves every line below
            it again; or (``code``) a function appended, which changes the file's facts (a
            function nothing names: the last findings stand); or a comment inside the body of
            the function whose ``def`` is on line ``body`` (from 0), a loss the analyses read
            (its syntax is the same: the findings move), or (``statement``) a statement there,
            which changes its syntax, so that every rule runs again."""
            original = file.read_bytes()
            lines = original.splitlines(keepends=True)
            defs = [n for n, line in enumerate(lines) if line.startswith((b"def ", b"class "))]
            at = min(defs, key=lambda n: abs(n - len(lines) // 2)) if defs else len(lines)

            def change(i: int) -> None:
                comment = f"# edit {i} {time.time_ns()}\n".encode()
                if body is not None:  # a comment as the first line of the loss's body
                    indent = re.match(rb"\s*", lines[body + 1]).group()  # type: ignore[union-attr]
                    if statement:
                        comment = f"_bench_edit = {i}\n".encode()
                    inside = [*lines[: body + 1], indent + comment, *lines[body + 1 :]]
                    file.write_bytes(b"".join(inside))
                elif code:
                    added = f"\n\ndef _bench_edit_{i}_{time.time_ns()}(x):\n    return x\n"
                    file.write_bytes(original + added.encode())
                elif middle:
                    file.write_bytes(b"".join([*lines[:at], comment * (i + 1), *lines[at:]]))
                else:
                    file.write_bytes(original + b"\n" + comment)

            return change

        def ruff_run(before: Callable[[int], None], *extra: str) -> Run | None:
            return timed([*ruff_check, *extra], work, repeat, before) if ruff else None

        # Interleaved, so that a machine whose speed drifts (a shared host) biases neither side:
        # each round runs losslint --jobs 1, losslint --jobs 2 and Ruff once, from cold.
        cold = [check("--jobs=1"), check("--jobs=2"), [*ruff_check, "--no-cache"]]
        rounds = []
        for i in range(repeat):
            measured = []
            for command in cold if ruff else cold[:2]:
                clear(i)
                measured.append(_measured(command, work))
            rounds.append(measured)
        colds = [
            Run(
                statistics.median(r[n][2] for r in rounds),
                statistics.median(r[n][0] for r in rounds),
                max(r[n][1] for r in rounds),
            )
            for n in range(len(rounds[0]))
        ]
        for jobs in (1, 2):
            rows.append((f"cold, --jobs {jobs}", colds[jobs - 1], colds[2] if ruff else None))
        ratios = {
            "--jobs 2 / --jobs 1 wall": [r[1][0] / r[0][0] for r in rounds],
            "losslint --jobs 1 / Ruff CPU": [r[0][2] / r[2][2] for r in rounds] if ruff else [],
        }
        notes = [
            f"{label}: median {statistics.median(values):.2f} (rounds: "
            + ", ".join(f"{v:.2f}" for v in values)
            + ")"
            for label, values in ratios.items()
            if values
        ]
        timed(check(), work, 1, nothing)
        timed(ruff_check, work, 1, nothing) if ruff else None
        rows.append(
            ("warm, nothing changed", timed(check(), work, repeat, nothing), ruff_run(nothing))
        )
        for label, file in (("central", central), ("leaf", leaf)):
            original = file.read_bytes()
            kinds = [("comment appended", False, False), ("line inserted mid-file", True, False)]
            if label == "central":
                kinds.append(("a function added that nothing names", False, True))
            for how, middle, code in kinds:
                rows.append(
                    (
                        f"warm, {label} file edited ({how})",
                        timed(check(), work, repeat, edit(file, middle, code)),
                        ruff_run(edit(file, middle, code)),
                    )
                )
                file.write_bytes(original)
                timed(check(), work, 1, nothing)
        loss = _loss_module(work)
        if loss is not None:
            file, line = loss
            original = file.read_bytes()
            for how, statement in (
                ("a comment in a loss", False),
                ("a statement in a loss: rules run", True),
            ):
                rows.append(
                    (
                        f"warm, {file.relative_to(work)} edited ({how})",
                        timed(check(), work, repeat, edit(file, body=line, statement=statement)),
                        ruff_run(edit(file, body=line, statement=statement)),
                    )
                )
                file.write_bytes(original)
                timed(check(), work, 1, nothing)
        timed(check(), work, 1, nothing)
        named = [losslint, "check", str(leaf.relative_to(work)), "-q", "--fail-on", "never"]
        rows.append(
            (
                "warm, one file named (pre-commit)",
                timed(named, work, repeat, nothing),
                timed([*ruff_check[:-1], str(leaf.relative_to(work))], work, repeat, nothing)
                if ruff
                else None,
            )
        )
        for copies in (1, 2, 4, 8):
            many = Path(tmp) / f"copies{copies}"
            for number in range(copies):
                _copy_tree(tree, many / f"copy{number}", number)

            def clear_many(_: int, many: Path = many) -> None:
                shutil.rmtree(many / ".losslint_cache", ignore_errors=True)

            runs = max(1, repeat // 2) if copies > 2 else repeat
            rows.append(
                (
                    f"{copies}x the tree, cold",
                    timed(check(), many, runs, clear_many),
                    timed([*ruff_check, "--no-cache"], many, runs, nothing) if ruff else None,
                )
            )
            shutil.rmtree(many)

    print(
        f"\nmachine: {os.cpu_count()} cores; Python {sys.version.split()[0]}; medians of "
        f"{repeat} runs (8x and 4x: {max(1, repeat // 2)})\n"
    )
    for note in notes:
        print(note)
    print()
    print("| scenario | losslint CPU s | wall s | peak MiB | Ruff CPU s | wall s | peak MiB |")
    print("|---|---|---|---|---|---|---|")
    for label, ours, theirs in rows:
        cells = [label]
        for run in (ours, theirs):
            cells += (
                ["-", "-", "-"]
                if run is None
                else [f"{run.cpu:.2f}", f"{run.wall:.2f}", f"{run.peak_mb:.0f}"]
            )
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--files", type=int, default=100, help="sample size; 0 for every file")
    parser.add_argument("--corpus", type=Path, action="append", default=[], help="extra directory")
    parser.add_argument("--skip", default="", help="comma-separated tools to leave out")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the fast tools")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--tree", type=Path, help="measure the scaling scenarios on this tree")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.tree is not None:
        scale(args.tree, args.repeat, skip)
        return

    files = sample(source_roots(args.corpus), args.files)
    if not files:
        sys.exit("no Python files found: install keras and tensorflow, or pass --corpus")
    with tempfile.TemporaryDirectory(prefix="losslint-bench-") as tmp:
        work = Path(tmp)
        copy(files, work)
        names = sorted(p.name for p in work.glob("*.py"))
        cache = work / ".losslint_cache"
        losslint = [executable("losslint") or "losslint", "check", ".", "-q", f"--jobs={args.jobs}"]
        timings = []

        def cold_losslint() -> Timing:
            runs = []
            for _ in range(args.repeat):
                shutil.rmtree(cache, ignore_errors=True)
                runs.append(measure("losslint (cold)", losslint, work, 1))
            return Timing(
                "losslint (cold)",
                statistics.median(t.seconds for t in runs),
                max(t.peak_mb for t in runs),
            )

        timings.append(cold_losslint())
        measure("warm-up", losslint, work, 1)
        timings.append(measure("losslint (warm)", losslint, work, args.repeat))
        ruff = executable("ruff")
        if ruff and "ruff" not in skip:
            base = [ruff, "check", "--select", "ALL", "--quiet", "--exit-zero", "."]
            timings.append(
                measure("ruff --select ALL (no cache)", [*base, "--no-cache"], work, args.repeat)
            )
            measure("warm-up", base, work, 1)
            timings.append(measure("ruff --select ALL (cache)", base, work, args.repeat))
        pylint = executable("pylint")
        if pylint and "pylint" not in skip:
            command = [pylint, f"--jobs={args.jobs}", "--exit-zero", *names]
            timings.append(measure("pylint", command, work, 1))
        fixit = executable("fixit")
        if fixit and "fixit" not in skip:
            timings.append(measure("fixit lint", [fixit, "lint", "."], work, 1))
        missing = [t for t in ("ruff", "pylint", "fixit") if t not in skip and not executable(t)]

    cold = timings[0].seconds
    print(f"\n{len(files)} files from {', '.join(str(r) for r in source_roots(args.corpus))}")
    python = sys.version.split()[0]
    print(f"machine: {os.cpu_count()} cores; losslint --jobs={args.jobs}; Python {python}\n")
    header = ("tool", "time (s)", "files/s", "peak MB", "vs losslint cold")
    print("| {:<30} | {:>9} | {:>9} | {:>8} | {:>16} |".format(*header))
    print(f"|{'-' * 32}|{'-' * 11}|{'-' * 11}|{'-' * 10}|{'-' * 18}|")
    for t in timings:
        ratio = t.seconds / cold if cold else float("nan")
        print(
            f"| {t.tool:<30} | {t.seconds:>9.3f} | {len(files) / t.seconds:>9.0f} | "
            f"{t.peak_mb:>8.0f} | {ratio:>15.1f}x |"
        )
    for tool in missing:
        print(f"\nnote: {tool} is not installed (pip install -e '.[bench]'), so it was left out")


if __name__ == "__main__":
    main()
