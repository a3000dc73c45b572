"""The real-code benchmark's scorer and its data files, on tiny synthetic input (no network)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REALCODE = Path(__file__).resolve().parents[1] / "bench" / "realcode"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"realcode_{name}", REALCODE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


score_mod = _load("score")
fetch_mod = _load("fetch")
Finding = score_mod.Finding
Verdict = score_mod.Verdict
Site = score_mod.Site

SOURCE = {
    ("o/r", "loss.py"): [
        "import keras",
        "def loss(y_true, y_pred):",
        "    a = ops.log(y_pred)",
        "    b = ops.sum(y_true) / ops.sum(y_pred)",
        "    return ops.mean(a + b)",
    ]
}


def lines_of(repo: str, path: str) -> list[str]:
    return SOURCE.get((repo, path), [])


def finding(line: int, code: str, end_line: int | None = None) -> Any:
    text = SOURCE[("o/r", "loss.py")][line - 1].strip()
    return Finding("o/r", "loss.py", line, end_line or line, code, text, "msg")


def verdict(line: int, code: str, value: str) -> Any:
    text = SOURCE[("o/r", "loss.py")][line - 1].strip()
    return Verdict("o/r", "loss.py", line, code, text, value, "why")


def site(line: int, code: str, text: str | None = None) -> Any:
    text = text if text is not None else SOURCE[("o/r", "loss.py")][line - 1].strip()
    return Site("o/r", "loss.py", line, code, text, "why")


def test_precision_counts_true_over_true_plus_false_and_shows_debatable_apart() -> None:
    findings = [finding(3, "LL301"), finding(4, "LL304"), finding(5, "LL201")]
    verdicts = [verdict(3, "LL301", "true"), verdict(4, "LL304", "false")]
    verdicts.append(verdict(5, "LL201", "debatable"))
    result = score_mod.score(findings, verdicts, [], lines_of)
    ll3 = result.tallies["LL3"]
    assert (ll3.true, ll3.false, ll3.precision) == (1, 1, 0.5)
    assert result.tallies["LL2"].debatable == 1
    assert result.tallies["LL2"].precision is None  # debatable is not in the ratio
    assert [v.code for _, v in result.false_alarms] == ["LL304"]
    assert not result.unjudged


def test_a_finding_without_verdict_is_unjudged_and_ll402_is_never_judged() -> None:
    findings = [finding(3, "LL301"), finding(2, "LL402")]
    result = score_mod.score(findings, [], [], lines_of)
    assert [f.code for f in result.unjudged] == ["LL301"]


def test_verdict_follows_its_line_text_when_the_file_shifts() -> None:
    moved = verdict(3, "LL301", "true")
    shifted = Verdict(moved.repo, moved.path, 40, moved.code, moved.text, "true", "why")
    result = score_mod.score([finding(3, "LL301")], [shifted], [], lines_of)
    assert not result.unjudged and result.tallies["LL3"].true == 1


def test_same_text_twice_uses_each_verdict_once_nearest_line_first() -> None:
    a = Finding("o/r", "loss.py", 10, 10, "LL301", "x = ops.log(p)")
    b = Finding("o/r", "loss.py", 20, 20, "LL301", "x = ops.log(p)")
    near_a = Verdict("o/r", "loss.py", 11, "LL301", "x = ops.log(p)", "true", "")
    near_b = Verdict("o/r", "loss.py", 19, "LL301", "x = ops.log(p)", "false", "")
    result = score_mod.score([a, b], [near_b, near_a], [], lines_of)
    assert (result.tallies["LL3"].true, result.tallies["LL3"].false) == (1, 1)
    assert not result.stale_verdicts


def test_a_verdict_whose_finding_is_gone_is_listed_as_stale() -> None:
    result = score_mod.score([], [verdict(3, "LL301", "true")], [], lines_of)
    assert len(result.stale_verdicts) == 1


def test_recall_needs_a_finding_of_the_same_family_covering_the_line() -> None:
    sites = [site(3, "LL301"), site(4, "LL304"), site(5, "LL201")]
    findings = [finding(3, "LL302"), finding(2, "LL201", end_line=5)]
    verdicts = [verdict(3, "LL302", "true"), verdict(2, "LL201", "true")]
    result = score_mod.score(findings, verdicts, sites, lines_of)
    assert (result.tallies["LL3"].reported, result.tallies["LL3"].sites) == (1, 2)
    assert result.tallies["LL3"].recall == 0.5
    assert result.tallies["LL2"].reported == 1  # its span covers line 5
    assert [s.line for s in result.missed] == [4]


def test_a_site_also_counts_when_reported_at_one_of_its_alternative_lines() -> None:
    wiring = Site("o/r", "loss.py", 3, "LL108", "a = ops.log(y_pred)", "why", "read")
    with_alt = Site(*list(wiring.__dict__.values())[:7], alt_texts=("return ops.mean(a + b)",))
    findings = [finding(5, "LL108")]
    verdicts = [verdict(5, "LL108", "true")]
    assert score_mod.score(findings, verdicts, [wiring], lines_of).missed == [wiring]
    assert not score_mod.score(findings, verdicts, [with_alt], lines_of).missed


def test_a_site_whose_text_is_gone_is_missed_and_flagged() -> None:
    result = score_mod.score([], [], [site(3, "LL301", text="y = gone(x)")], lines_of)
    assert result.lost_sites and result.missed == result.lost_sites


def test_table_prints_one_row_per_family_and_a_total() -> None:
    result = score_mod.score([finding(3, "LL301")], [verdict(3, "LL301", "true")], [], lines_of)
    rows = score_mod.table(result).splitlines()
    assert rows[0].startswith("| family |")
    assert [row.split("|")[1].strip() for row in rows[2:]] == [
        "LL1",
        "LL2",
        "LL3",
        "LL4",
        "LL5",
        "all",
    ]
    assert "| LL3 | 1 | 1 | 0 | 0 | 1.00 |" in score_mod.table(result)


def test_stub_is_valid_toml_that_loads_back_as_a_verdict(tmp_path: Path) -> None:
    odd = Finding("o/r", 'dir/we"ird.py', 7, 7, "LL304", 'x = a / b  # "q" \\ ü', "m")
    path = tmp_path / "v.toml"
    path.write_text(score_mod.stub(odd).replace('"TODO"', '"true"', 1))
    (loaded,) = score_mod.load_verdicts(path)
    assert (loaded.path, loaded.text, loaded.verdict) == (odd.path, odd.text, "true")


def test_main_exits_1_while_a_finding_is_unjudged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = fetch_mod.Repo(name="o/r", commit="0" * 40, why="")
    (tmp_path / repo.folder).mkdir()
    monkeypatch.setattr(score_mod, "load_repos", lambda: [repo])
    monkeypatch.setattr(score_mod, "run_losslint", lambda r, root: ([finding(3, "LL301")], 0.1))
    monkeypatch.setattr(score_mod, "load_sites", lambda path: [])
    monkeypatch.setattr(score_mod, "load_verdicts", lambda path: [])
    assert score_mod.main(["--root", str(tmp_path)]) == 1
    monkeypatch.setattr(score_mod, "load_verdicts", lambda path: [verdict(3, "LL301", "true")])
    assert score_mod.main(["--root", str(tmp_path)]) == 0


def test_include_and_exclude_globs_choose_the_materialised_files() -> None:
    repo = fetch_mod.Repo(
        "o/r", "0" * 40, "", include=("src/*",), exclude=("*/.ipynb_checkpoints/*",)
    )
    assert fetch_mod.kept(repo, "src/a/loss.py")
    assert not fetch_mod.kept(repo, "docs/loss.py")
    assert not fetch_mod.kept(repo, "src/.ipynb_checkpoints/loss.py")


# The checked-in data files: every label must point at a pinned repository and be well formed.


def test_every_repository_is_pinned_by_a_full_commit() -> None:
    repos = fetch_mod.load_repos()
    assert len(repos) >= 15
    assert len({r.name for r in repos}) == len(repos)
    for repo in repos:
        assert re.fullmatch(r"[0-9a-f]{40}", repo.commit), repo.name
        assert repo.why, repo.name


def test_verdicts_and_sites_refer_to_pinned_repositories_and_are_unique() -> None:
    names = {r.name for r in fetch_mod.load_repos()}
    verdicts = score_mod.load_verdicts(REALCODE / "verdicts.toml")
    sites = score_mod.load_sites(REALCODE / "mustfire.toml")
    assert len(sites) >= 40
    for label in [*verdicts, *sites]:
        assert label.repo in names, label
        assert re.fullmatch(r"LL\d{3}", label.code), label
        # A parse error at the end of a file is reported where Python reports it, on a blank
        # line (``if __name__ == "__main__":`` with no body): the one label with no text.
        assert label.text or label.code == "LL000", label
        assert label.reason, label
    # Two findings may share a line and a code (log(p) and log(1 - p)); not two identical verdicts.
    keys = [(v.repo, v.path, v.line, v.code, v.reason) for v in verdicts]
    assert len(keys) == len(set(keys))
    site_keys = [(s.repo, s.path, s.cell, s.line, s.code) for s in sites]  # a notebook: by cell
    assert len(site_keys) == len(set(site_keys))
    assert {s.source for s in sites} <= {"read", "dataset"}


def test_a_notebook_site_is_matched_by_its_cell_and_the_line_within_it() -> None:
    """losslint reports a notebook's findings by cell and line within the cell; a site labelled
    there is found by the cell's source, and a finding of the same line in another cell does
    not count."""
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["# A VAE\n"]},
            {"cell_type": "code", "source": ["x = 1\n", "norm = K.sqrt(K.sum(g))\n"]},
            {"cell_type": "code", "source": ["y = 2\n", "norm = K.sqrt(K.sum(g))\n"]},
        ]
    }
    raw = json.dumps(notebook, indent=1).splitlines()

    def notebook_lines(repo: str, path: str) -> list[str]:
        return raw

    labelled = Site("o/r", "nb.ipynb", 2, "LL303", "norm = K.sqrt(K.sum(g))", "why", cell=3)
    text = "norm = K.sqrt(K.sum(g))"
    elsewhere = Finding("o/r", "nb.ipynb", 2, 2, "LL303", text, "msg", cell=2)
    there = Finding("o/r", "nb.ipynb", 2, 2, "LL303", text, "msg", cell=3)
    assert score_mod.score([elsewhere], [], [labelled], notebook_lines).missed == [labelled]
    assert not score_mod.score([there], [], [labelled], notebook_lines).missed


def test_a_notebook_verdict_with_a_cell_judges_that_cell_only() -> None:
    """Two cells' findings on the same line number share the raw notebook line a verdict is
    keyed by: a verdict that names its cell judges that cell's finding, and one written without
    a cell judges whichever is left."""
    raw_line = '"cell_type": "code",'
    in_40 = Finding("o/r", "nb.ipynb", 5, 5, "LL404", raw_line, "msg", cell=40)
    in_41 = Finding("o/r", "nb.ipynb", 5, 5, "LL404", raw_line, "msg", cell=41)
    true_40 = Verdict("o/r", "nb.ipynb", 5, "LL404", raw_line, "true", "mean_loss", cell=40)
    false_any = Verdict("o/r", "nb.ipynb", 5, "LL404", raw_line, "false", "a shape read")
    result = score_mod.score([in_41, in_40], [false_any, true_40], [], lines_of)
    assert (result.tally("LL4").true, result.tally("LL4").false) == (1, 1)
    assert [f.cell for f, _ in result.false_alarms] == [41]
    alone = score_mod.score([in_40], [true_40], [], lines_of)
    assert alone.tally("LL4").true == 1 and not alone.unjudged
    assert score_mod.score([in_41], [true_40], [], lines_of).unjudged == [in_41]


def test_an_unjudged_ll402_on_the_line_does_not_report_an_ll4_site() -> None:
    """LL402 (a removed Keras 2 API) is in the LL4 family but not judged: a K.sum on the line
    of a symbolic-tensor capture is no LL406."""
    labelled = site(3, "LL406")
    assert score_mod.score([finding(3, "LL402")], [], [labelled], lines_of).missed == [labelled]
    assert not score_mod.score([finding(3, "LL406")], [], [labelled], lines_of).missed
