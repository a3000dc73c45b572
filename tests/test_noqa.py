"""LL001 (unused, unknown and repeated noqa codes) and ``--add-noqa``, through the command."""

from __future__ import annotations

import json
from pathlib import Path

from losslint import noqa
from tests.test_cli import BUGGY, run

LOSS = """\
import keras
from keras import ops


def log_loss(y_true, y_pred):
    return -ops.mean(y_true * ops.log(y_pred), axis=-1)


def mse(y_true, y_pred):
    return keras.backend.mean(ops.square(y_true - y_pred), axis=-1)


model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss=log_loss, loss_weights=[1.0, 2.0])
"""


def _codes(cwd: Path, *args: str) -> list[tuple[str, int]]:
    done = run("check", ".", "--format", "json", *args, cwd=cwd)
    return [(d["code"], d["line"]) for d in json.loads(done.stdout)]


def test_unused_noqa_is_reported_and_fixed(tmp_path: Path) -> None:
    lines = BUGGY.splitlines()
    lines[3] += "  # noqa: LL101, LL107, LL999, E501  # reviewed"
    (tmp_path / "train.py").write_text("\n".join(lines) + "\n")
    done = run("check", ".", "--format", "json", cwd=tmp_path)
    [finding] = json.loads(done.stdout)
    assert (finding["code"], finding["line"]) == ("LL001", 4)
    assert "LL107 suppresses nothing" in finding["message"]
    assert "LL999 is not a losslint rule code" in finding["message"]
    assert finding["fix"]["applicability"] == "safe"
    assert run("check", ".", "--fix", cwd=tmp_path).returncode == 0
    fixed = (tmp_path / "train.py").read_text().splitlines()[3]
    assert fixed.endswith("loss_weights=[1.0, 2.0])  # noqa: LL101, E501  # reviewed")
    assert _codes(tmp_path) == []
    (tmp_path / "typo.py").write_text(BUGGY.replace("[1.0, 2.0])", "[1.0, 2.0])  # noqa: LL1O1"))
    typo = run("check", "typo.py", "--format", "json", cwd=tmp_path)
    [stale] = [d for d in json.loads(typo.stdout) if d["code"] == "LL001"]
    assert "LL1O1 is not a losslint rule code (did you mean LL101?)" in stale["message"]


def test_a_noqa_left_with_no_code_is_removed(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(
        LOSS.replace("axis=-1)\n\n\ndef mse", "axis=-1)  # noqa: LL302\n\n\ndef mse")
    )
    assert ("LL001", 6) in _codes(tmp_path)
    run("check", ".", "--fix", cwd=tmp_path)
    assert "noqa" not in (tmp_path / "train.py").read_text()
    assert (tmp_path / "train.py").read_text().splitlines()[5].endswith("axis=-1)")


def test_unselected_rules_are_not_judged(tmp_path: Path) -> None:
    lines = BUGGY.splitlines()
    lines[3] += "  # noqa: LL107"
    (tmp_path / "train.py").write_text("\n".join(lines) + "\n")
    assert _codes(tmp_path, "--select", "LL0,LL3") == []
    assert _codes(tmp_path, "--select", "LL0,LL1") == [("LL101", 4), ("LL001", 4)]
    assert ("LL001", 4) not in _codes(tmp_path, "--ignore", "LL001")


def test_add_noqa_suppresses_todays_findings_and_is_idempotent(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(LOSS)
    before = _codes(tmp_path)
    assert {code for code, _ in before} >= {"LL101", "LL301", "LL402"}
    done = run("check", ".", "--add-noqa", cwd=tmp_path)
    assert done.returncode == 0
    assert "added 3 noqa comments to 1 file" in done.stderr
    text = (tmp_path / "train.py").read_text()
    assert "axis=-1)  # noqa: LL301\n" in text
    assert _codes(tmp_path) == []
    assert run("check", ".", cwd=tmp_path).returncode == 0
    again = run("check", ".", "--add-noqa", cwd=tmp_path)
    assert "added 0 noqa comments" in again.stderr
    assert (tmp_path / "train.py").read_text() == text


def test_add_noqa_appends_to_an_existing_noqa_and_skips_string_lines(tmp_path: Path) -> None:
    lines = BUGGY.splitlines()
    lines[3] += "  # noqa: E501"
    source = "\n".join(lines) + '\n\nDOC = """\nloss_weights\n"""\n'
    (tmp_path / "train.py").write_text(source)
    run("check", ".", "--add-noqa", cwd=tmp_path)
    assert (tmp_path / "train.py").read_text().splitlines()[3].endswith("# noqa: E501, LL101")
    assert _codes(tmp_path) == []
    # A finding whose line ends inside a string cannot take a comment: left, and said so.
    inside = BUGGY.replace("[1.0, 2.0])", '[1.0, 2.0], run_eagerly="""\n""" == "")')
    (tmp_path / "train.py").write_text(inside)
    done = run("check", ".", "--add-noqa", cwd=tmp_path)
    assert "added 0 noqa comments" in done.stderr and "1 line(s) left" in done.stderr
    assert (tmp_path / "train.py").read_text() == inside


def test_only_lines_naming_our_codes_send_a_file_to_the_judge() -> None:
    assert noqa.names_ours("x = 1  # noqa: LL101")
    assert noqa.names_ours("x = 1  # NOQA: e501, ll1O1")  # an unknown code of ours: judged
    assert noqa.names_ours("x = 1  # noqa: RT101")
    assert not noqa.names_ours("x = 1  # noqa: E501")
    assert not noqa.names_ours("x = 1  # noqa")  # bare: may be another linter's
    assert not noqa.names_ours("x = 1  # LL101")


def test_the_index_marks_the_files_whose_noqa_comments_ll001_must_read() -> None:
    import ast

    from losslint.index.module import index_module

    def flagged(source: str) -> bool:
        return index_module(ast.parse(source), source, "m.py", "m").noqa

    assert flagged("x = 1  # noqa: LL101\n")
    assert not flagged("x = 1  # noqa: E501\ny = 2  # noqa\n")
