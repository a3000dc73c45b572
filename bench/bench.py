"""losslint side by side with Ruff, Pylint and Fixit on the same real files.

    pip install -e '.[bench]'        # ruff, pylint, fixit
    python bench/bench.py            # a 100-file sample of the installed Keras and TensorFlow
    python bench/bench.py --files 0 --skip pylint,fixit     # every file, the fast tools only
    python bench/bench.py --corpus ~/src/keras-examples     # add a public example collection

Every tool checks the same copy of the files, one after the other, on this machine. losslint is
timed cold (empty cache) and warm (unchanged files, cache filled), Ruff with and without its
cache. Times are the median of --repeat runs (the slow tools run once); peak memory is the
largest resident set of the tool's processes. Ratios are the tool's time over losslint's cold
time, so "40x" means losslint is 40 times faster.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
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


def measure(tool: str, command: list[str], cwd: Path, repeat: int) -> Timing:
    times, peaks = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, *command],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
        times.append(time.perf_counter() - start)
        peaks.append(int(done.stdout.strip() or 0) / 1024)
    return Timing(tool, statistics.median(times), max(peaks))


def executable(name: str) -> str | None:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--files", type=int, default=100, help="sample size; 0 for every file")
    parser.add_argument("--corpus", type=Path, action="append", default=[], help="extra directory")
    parser.add_argument("--skip", default="", help="comma-separated tools to leave out")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the fast tools")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

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
