"""Score losslint on the real-code benchmark: precision and recall per rule family.

    python bench/realcode/fetch.py        # once: materialise the pinned repositories
    python bench/realcode/score.py        # run losslint on each, compare with the labels
    python bench/realcode/score.py --stubs new.toml   # also write TOML stubs for unjudged findings

Every finding other than LL402 must have a verdict in verdicts.toml (true / false / debatable),
keyed by repo, path, code and the text of the reported source line (the line number only breaks
ties, so small shifts in a repository do not lose a verdict; in a notebook, a verdict that names
its ``cell`` judges that cell's finding only). mustfire.toml lists the hazard
sites found by reading the code; a site counts as reported when a finding of its rule family
(LL1 ... LL5) covers its line. Precision = true / (true + false) over judged findings, with
debatable ones shown apart; recall = reported sites / labelled sites. The exit status is 1 when
a finding is unjudged (or a label no longer matches its repository), else 0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from fetch import Repo, default_root, load_repos  # noqa: E402

FAMILIES = ("LL1", "LL2", "LL3", "LL4", "LL5")
VERDICTS = ("true", "false", "debatable")
# LL402 is a version-policy finding (hundreds on any Keras 2 project), not a hazard to judge.
UNJUDGED_CODES = frozenset({"LL402"})
LOSSLINT = (sys.executable, "-m", "losslint")


@dataclass(frozen=True)
class Finding:
    repo: str
    path: str
    line: int
    end_line: int
    code: str
    text: str
    message: str = ""
    cell: int | None = None  # in a notebook: the cell, and ``line`` is within it

    @property
    def family(self) -> str:
        return self.code[:3]


@dataclass(frozen=True)
class Verdict:
    repo: str
    path: str
    line: int
    code: str
    text: str
    verdict: str
    reason: str
    # In a notebook, the cell it judges (as losslint numbers them): ``line`` and ``text`` are
    # then the raw notebook line at the in-cell line number, shared by the same line of other
    # cells. Without it (older verdicts) it judges the finding of any cell.
    cell: int | None = None


@dataclass(frozen=True)
class Site:
    repo: str
    path: str
    line: int
    code: str
    text: str
    reason: str
    source: str = "read"
    # Other lines where a report of the same family also counts: a compile-wiring defect is
    # equally well reported at the output layer, the loss object or the compile call.
    alt_texts: tuple[str, ...] = ()
    # In a notebook: the cell (numbered as losslint shows it, every cell counted from 1), and
    # ``line``/``text`` are those of the cell's source.
    cell: int | None = None

    @property
    def family(self) -> str:
        return self.code[:3]


@dataclass
class Tally:
    true: int = 0
    false: int = 0
    debatable: int = 0
    sites: int = 0
    reported: int = 0

    @property
    def precision(self) -> float | None:
        judged = self.true + self.false
        return self.true / judged if judged else None

    @property
    def recall(self) -> float | None:
        return self.reported / self.sites if self.sites else None


@dataclass
class Score:
    tallies: dict[str, Tally] = field(default_factory=dict)
    unjudged: list[Finding] = field(default_factory=list)
    false_alarms: list[tuple[Finding, Verdict]] = field(default_factory=list)
    missed: list[Site] = field(default_factory=list)
    lost_sites: list[Site] = field(default_factory=list)
    stale_verdicts: list[Verdict] = field(default_factory=list)

    def tally(self, family: str) -> Tally:
        return self.tallies.setdefault(family, Tally())


def _nearest(line: int, candidates: Iterable[int]) -> int | None:
    return min(candidates, key=lambda c: (abs(c - line), c), default=None)


def load_verdicts(path: Path) -> list[Verdict]:
    with path.open("rb") as handle:
        entries = tomllib.load(handle).get("finding", [])
    verdicts = [Verdict(**entry) for entry in entries]
    for verdict in verdicts:
        if verdict.verdict not in VERDICTS:
            raise ValueError(f"{path}: verdict {verdict.verdict!r} is not one of {VERDICTS}")
    return verdicts


def load_sites(path: Path) -> list[Site]:
    with path.open("rb") as handle:
        entries = tomllib.load(handle).get("site", [])
    return [Site(**{**e, "alt_texts": tuple(e.get("alt_texts", ()))}) for e in entries]


def locate(site: Site, lines_of: Callable[[str, str], list[str]], text: str = "") -> int | None:
    """The line the site's text is on now, nearest the labelled line; None when it is gone."""
    lines = lines_of(site.repo, site.path)
    if site.cell is not None:
        lines = _cell_source(lines, site.cell)
    wanted = text or site.text
    hits = [number for number, line in enumerate(lines, 1) if line.strip() == wanted]
    return _nearest(site.line, hits)


def _cell_source(raw: list[str], cell: int) -> list[str]:
    """The source lines of cell ``cell`` (from 1) of a notebook given as its raw lines."""
    try:
        cells = json.loads("\n".join(raw)).get("cells", [])
        source = cells[cell - 1].get("source", [])
    except (ValueError, IndexError, AttributeError):
        return []
    return ("".join(source) if isinstance(source, list) else str(source)).splitlines()


def score(
    findings: list[Finding],
    verdicts: list[Verdict],
    sites: list[Site],
    lines_of: Callable[[str, str], list[str]],
) -> Score:
    result = Score()
    for family in FAMILIES:
        result.tally(family)
    by_key: dict[tuple[str, str, str, str], list[Verdict]] = {}
    for verdict in verdicts:
        key = (verdict.repo, verdict.path, verdict.code, verdict.text)
        by_key.setdefault(key, []).append(verdict)
    used: set[int] = set()
    for finding in findings:
        if finding.code in UNJUDGED_CODES:
            continue
        candidates = [
            v
            for v in by_key.get((finding.repo, finding.path, finding.code, finding.text), [])
            if v.cell is None or v.cell == finding.cell
        ]
        # A verdict for this very cell first, then one written without a cell.
        candidates = [v for v in candidates if v.cell is not None] or candidates
        free = [v for v in candidates if id(v) not in used] or candidates
        chosen = min(free, key=lambda v: abs(v.line - finding.line), default=None)
        if chosen is None:
            result.unjudged.append(finding)
            continue
        used.add(id(chosen))
        tally = result.tally(finding.family)
        setattr(tally, chosen.verdict, getattr(tally, chosen.verdict) + 1)
        if chosen.verdict == "false":
            result.false_alarms.append((finding, chosen))
    result.stale_verdicts = [v for v in verdicts if id(v) not in used]
    for site in sites:
        tally = result.tally(site.family)
        tally.sites += 1
        line = locate(site, lines_of)
        alternatives = [locate(site, lines_of, text) for text in site.alt_texts]
        if line is None or None in alternatives:
            result.lost_sites.append(site)
            result.missed.append(site)
            continue
        targets = [line, *(alt for alt in alternatives if alt is not None)]
        if any(
            f.repo == site.repo
            and f.path == site.path
            and f.cell == site.cell
            and f.family == site.family
            and f.code not in UNJUDGED_CODES  # an LL402 on the line is no LL406
            and any(f.line <= target <= max(f.end_line, f.line) for target in targets)
            for f in findings
        ):
            tally.reported += 1
        else:
            result.missed.append(site)
    return result


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(result: Score) -> str:
    header = ("family", "judged", "true", "false", "debatable", "precision", "must-fire")
    rows = [
        "| " + " | ".join((*header, "reported", "recall")) + " |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    total = Tally()
    for family in sorted(result.tallies):
        t = result.tallies[family]
        for name in ("true", "false", "debatable", "sites", "reported"):
            setattr(total, name, getattr(total, name) + getattr(t, name))
        rows.append(_row(family, t))
    rows.append(_row("all", total))
    return "\n".join(rows)


def _row(label: str, t: Tally) -> str:
    judged = t.true + t.false + t.debatable
    return (
        f"| {label} | {judged} | {t.true} | {t.false} | {t.debatable} | {_ratio(t.precision)} "
        f"| {t.sites} | {t.reported} | {_ratio(t.recall)} |"
    )


def toml_string(text: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes) for everything json.dumps emits.
    return json.dumps(text, ensure_ascii=False)


def stub(finding: Finding) -> str:
    return (
        "[[finding]]\n"
        f"repo = {toml_string(finding.repo)}\n"
        f"path = {toml_string(finding.path)}\n"
        f"line = {finding.line}\n"
        f"code = {toml_string(finding.code)}\n"
        f"text = {toml_string(finding.text)}\n"
        + (f"cell = {finding.cell}\n" if finding.cell is not None else "")
        + 'verdict = "TODO"\n'
        f"reason = {toml_string('TODO: ' + finding.message[:120])}\n"
    )


def run_losslint(repo: Repo, root: Path) -> tuple[list[Finding], float]:
    """losslint on one materialised repository, as a user would run it from its top folder."""
    folder = root / repo.folder
    started = time.perf_counter()
    done = subprocess.run(
        [*LOSSLINT, "check", "--no-cache", "--format", "json", "--fail-on", "never", "."],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"losslint failed on {repo.name} ({done.returncode}): {done.stderr}")
    findings = []
    cache: dict[str, list[str]] = {}
    for item in json.loads(done.stdout or "[]"):
        path = item["path"]
        if path not in cache:
            cache[path] = _read_lines(folder / path)
        lines = cache[path]
        line = int(item["line"])
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        if not text and item.get("cell"):
            # A notebook saved on one line (no line breaks in its JSON): the cell's own line.
            source = _cell_source(lines, int(item["cell"]))
            text = source[line - 1].strip() if 0 < line <= len(source) else ""
        findings.append(
            Finding(
                repo=repo.name,
                path=path,
                line=line,
                end_line=int(item.get("end_line") or line),
                code=item["code"],
                text=text,
                message=item.get("message", ""),
                cell=item.get("cell"),
            )
        )
    return findings, elapsed


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def report(result: Score, out: Callable[[str], None] = print) -> None:
    out(table(result))
    if result.false_alarms:
        out(f"\nfalse alarms ({len(result.false_alarms)}):")
        for finding, verdict in result.false_alarms:
            out(f"  {finding.repo}:{finding.path}:{finding.line} {finding.code}: {verdict.reason}")
    if result.missed:
        out(f"\nmissed must-fire sites ({len(result.missed)}):")
        for site in result.missed:
            lost = " [LABEL TEXT NOT FOUND]" if site in result.lost_sites else ""
            out(f"  {site.repo}:{site.path}:{site.line} {site.code}{lost}: {site.reason}")
    if result.stale_verdicts:
        out(f"\nverdicts with no finding now ({len(result.stale_verdicts)}):")
        for v in result.stale_verdicts:
            out(f"  {v.repo}:{v.path}:{v.line} {v.code} ({v.verdict}): {v.reason}")
    if result.unjudged:
        out(f"\nUNJUDGED findings ({len(result.unjudged)}): add them to verdicts.toml")
        for f in result.unjudged:
            out(f"  {f.repo}:{f.path}:{f.line} {f.code}: {f.message[:140]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="where fetch.py put the repos")
    parser.add_argument("--only", action="append", default=[], help="owner/name (repeatable)")
    parser.add_argument("--stubs", type=Path, default=None, help="write unjudged stubs here")
    parser.add_argument("--findings", type=Path, default=None, help="also save all findings")
    args = parser.parse_args(argv)
    root: Path = args.root or default_root()
    repos = [r for r in load_repos() if not args.only or r.name in args.only]
    findings: list[Finding] = []
    seconds = 0.0
    for repo in repos:
        if not (root / repo.folder).is_dir():
            print(f"error: {repo.name} is not materialised under {root}: run fetch.py first")
            return 2
        found, elapsed = run_losslint(repo, root)
        findings.extend(found)
        seconds += elapsed
    names = {r.name for r in repos}
    verdicts = [v for v in load_verdicts(HERE / "verdicts.toml") if v.repo in names]
    sites = [s for s in load_sites(HERE / "mustfire.toml") if s.repo in names]
    folders = {r.name: root / r.folder for r in repos}

    def lines_of(repo: str, path: str) -> list[str]:
        return _read_lines(folders[repo] / path)

    result = score(findings, verdicts, sites, lines_of)
    ll402 = sum(f.code == "LL402" for f in findings)
    print(
        f"{len(repos)} repositories, {len(findings)} findings ({ll402} LL402, not judged), "
        f"losslint {seconds:.1f}s in all"
    )
    report(result)
    if args.findings:
        args.findings.write_text(json.dumps([f.__dict__ for f in findings], indent=1))
    if args.stubs and result.unjudged:
        args.stubs.write_text("\n".join(stub(f) for f in result.unjudged))
        print(f"wrote {len(result.unjudged)} stubs to {args.stubs}")
    return 1 if result.unjudged or result.lost_sites else 0


if __name__ == "__main__":
    sys.exit(main())
