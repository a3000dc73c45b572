"""The long run of the mutation fuzzer (issue 9): many mutants of fixtures/, one at a time.

    python bench/fuzz.py                          # 10,000 mutants, seed 9, fix every 10th
    python bench/fuzz.py --count 500 --seed 1     # another sample
    python bench/fuzz.py --save                   # keep each failing mutant in tests/data/fuzz

Each mutant is analysed in-process under a time limit (--limit, seconds); every tenth (--fix-every)
is also fixed with --fix --unsafe-fixes, and must then parse and need no second fix. The run
prints every failure and a summary: counts, the slowest files and the time per file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.mutants import CRASHERS, Verdict, check_mutant, mutants


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--limit", type=float, default=10.0, help="seconds per mutant")
    parser.add_argument("--fix-every", type=int, default=10, help="0: never fix")
    parser.add_argument("--save", action="store_true", help="keep failures in tests/data/fuzz")
    args = parser.parse_args()
    started = time.perf_counter()
    verdicts: list[Verdict] = []
    for mutant in mutants(args.seed, args.count):
        fix = args.fix_every > 0 and mutant.number % args.fix_every == 0
        verdict = check_mutant(mutant, args.limit, fix)
        verdicts.append(verdict)
        if verdict.problem:
            print(f"FAIL {mutant.label}: {verdict.problem.splitlines()[-1][:300]}", flush=True)
            if args.save:
                name = f"seed{args.seed}_{mutant.number}_{mutant.origin.stem}.py"
                (CRASHERS / name).write_bytes(mutant.data)
    elapsed = time.perf_counter() - started
    failed = [v for v in verdicts if v.problem]
    times = [v.seconds for v in verdicts]
    slowest = sorted(verdicts, key=lambda v: -v.seconds)[:5]
    print(
        f"{len(verdicts)} mutants (seed {args.seed}) in {elapsed:.0f} s: {len(failed)} failed; "
        f"per file median {statistics.median(times) * 1000:.0f} ms, "
        f"max {max(times):.2f} s, over {args.limit:g} s: "
        f"{sum(1 for t in times if t > args.limit)}"
    )
    for verdict in slowest:
        print(f"  {verdict.seconds:.2f} s  {verdict.mutant.label}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
