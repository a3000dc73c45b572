"""The cache and parallel checking change nothing but the time it takes; the cache is data."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pickle
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from losslint import codec, cutoff, pipeline
from losslint.cache import CACHE_DIR, Cache, FileState
from losslint.config import Config
from losslint.diagnostic import Diagnostic
from losslint.index.facts import ModuleIndex
from losslint.index.module import index_module
from losslint.parse import ParsedModule, load
from tests.helpers import FIXTURES
from tests.test_cli import COMMAND, run

CROSS = FIXTURES / "rules" / "cross_module"


def _json(cwd: Path, *args: str, path: str = ".") -> list[dict[str, Any]]:
    done = run("check", path, "--format", "json", *args, cwd=cwd)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _copy_fixtures(tmp_path: Path) -> Path:
    target = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, target)
    return target


def _entries(tree: Path) -> list[Path]:
    return sorted(p for p in (tree / CACHE_DIR).rglob("*.json") if p.is_file())


def test_identical_with_and_without_cache_and_with_1_or_n_jobs(tmp_path: Path) -> None:
    tree = _copy_fixtures(tmp_path)
    reference = _json(tree, "--no-cache", "--jobs", "1")
    assert reference
    assert _json(tree, "--no-cache", "--jobs", "2") == reference
    assert _json(tree, "--jobs", "2") == reference  # cold: fills the cache
    assert _json(tree, "--jobs", "1") == reference  # warm: replayed
    (tree / "rules" / "LL301.py").write_text((tree / "rules" / "LL301.py").read_text() + "\n")
    assert _json(tree, "--jobs", "2") == reference  # one file re-indexed, the rest from facts
    assert (tree / CACHE_DIR).is_dir()


def _in_process(tree: Path, jobs: int) -> list[Any]:
    config = Config(root=tree)
    result = pipeline.run([tree], config, jobs=jobs, use_cache=False)
    return [codec.encode(d) for d in result.diagnostics]


@pytest.mark.skipif(os.name != "posix" or not hasattr(os, "fork"), reason="forks")
def test_the_value_range_rules_forked_report_what_they_report_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two jobs the LL3xx rules run in a forked child: the same findings, fixes included,
    and a child that dies without answering has its rules run in the parent."""
    tree = _copy_fixtures(tmp_path) / "rules"
    reference = _in_process(tree, 1)
    assert any(d["f"][0].startswith("LL3") for d in reference)
    monkeypatch.setattr(pipeline, "_MIN_FILES_TO_FORK_RULES", 1)
    forks: list[int] = []
    real = pipeline._forked
    monkeypatch.setattr(pipeline, "_forked", lambda *a: forks.append(1) or real(*a))
    assert _in_process(tree, 2) == reference
    assert forks
    from losslint.rules import registry

    hazards = registry.RuleContext.hazards.func

    def dies(self: Any) -> Any:
        if os.getpid() != parent:
            os._exit(3)
        return hazards(self)

    parent = os.getpid()
    dying = functools.cached_property(dies)
    dying.__set_name__(registry.RuleContext, "hazards")
    monkeypatch.setattr(registry.RuleContext, "hazards", dying)
    assert _in_process(tree, 2) == reference


def test_what_reading_a_file_reports_is_replayed_by_a_warm_run(tmp_path: Path) -> None:
    """A syntax error or an undecodable file is reported by every run, not only the one that
    read it: the warm run replays it with the rules' findings."""
    (tmp_path / "bad.py").write_text("import keras\ndef f(:\n")
    (tmp_path / "latin.py").write_bytes(b"import keras\nname = '\xe9'\n")
    (tmp_path / "train.py").write_text(
        "import keras\nm = keras.Sequential()\nm.compile(loss='logcosh')\n"
    )
    cold = _json(tmp_path)
    assert {d["path"] for d in cold if d["code"] == "LL000"} == {"bad.py", "latin.py"}
    assert any(d["code"] == "LL106" for d in cold)
    assert _json(tmp_path) == cold  # replayed whole
    (tmp_path / "train.py").write_text((tmp_path / "train.py").read_text() + "# edited\n")
    assert _json(tmp_path) == cold  # the others' facts (and their LL000) from the cache


_HELPER = "from keras import ops\n\n\ndef term(y_true, y_pred):\n    return ops.{op}(y_pred)\n"
_LOSSES = """import keras
from helpers import term


def my_loss(y_true, y_pred):
    return keras.ops.mean(term(y_true, y_pred), axis=-1)


model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
model.compile(loss=my_loss)
"""


def _diagnostics(config: Config, use_cache: bool = True) -> list[Diagnostic]:
    """The findings of one run over the current directory, with one job."""
    return pipeline.run([Path(".")], config, jobs=1, use_cache=use_cache).diagnostics


def _count_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one each time the rules run."""
    checks: list[int] = []
    real = pipeline._check
    monkeypatch.setattr(pipeline, "_check", lambda *a: checks.append(1) or real(*a))
    return checks


def _codes_and_checks(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Callable[..., list[str]], list[int]]:
    """Run from ``root``: a function giving the codes of one run (with the cache, or without
    it), and the list that counts the runs whose rules ran."""
    monkeypatch.chdir(root)
    config = Config(root=root)
    checks = _count_checks(monkeypatch)

    def codes(use_cache: bool = True) -> list[str]:
        return [d.code for d in _diagnostics(config, use_cache)]

    return codes, checks


def _project(root: Path) -> None:
    (root / "helpers.py").write_text(_HELPER.format(op="exp"))
    (root / "losses.py").write_text(_LOSSES)
    (root / "notes.py").write_text("import keras\n\nVERSION = keras.__version__\n")


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_edit_reuses_the_last_findings_only_where_no_analysis_read_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """The early cutoff: a comment in a file no analysis read keeps the last findings without
    running the rules; the same-facts edit of a helper an analysis walked (exp -> log, in the
    forked value-range rules with two jobs) is checked again and its hazard reported."""
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pipeline, "_MIN_FILES_TO_FORK_RULES", 1)
    # The batch-axis rules would walk the helper here too: only the forked rules may read it.
    config = Config(root=tmp_path, select=("LL1", "LL3"))
    checks = _count_checks(monkeypatch)

    def check() -> list[Any]:
        return [codec.encode(d) for d in pipeline.run([Path(".")], config, jobs=jobs).diagnostics]

    def fresh() -> list[Any]:
        result = pipeline.run([Path(".")], config, jobs=jobs, use_cache=False)
        return [codec.encode(d) for d in result.diagnostics]

    before = check()
    assert not any(d["f"][0] == "LL301" for d in before) and len(checks) == 1
    notes = tmp_path / "notes.py"
    notes.write_text(notes.read_text() + "# a comment\n")
    assert check() == before == fresh() and len(checks) == 2  # (fresh ran the rules)
    notes.write_text("# a line above every fact\n" + notes.read_text())  # its facts move
    assert check() == before == fresh() and len(checks) == 3
    helper = tmp_path / "helpers.py"
    old = codec.encode(_indexed(helper))
    helper.write_text(_HELPER.format(op="log"))
    assert cutoff.same_facts(old, codec.encode(_indexed(helper)))  # only the text tells
    after = check()
    assert after == fresh() and any(d["f"][0] == "LL301" for d in after)
    assert len(checks) == 5
    helper.write_text(_HELPER.format(op="exp"))  # reverted: replayed, and the last state again
    assert check() == before and len(checks) == 5
    notes.write_text(notes.read_text() + "# once more\n")  # compared with the reverted state
    assert check() == before and len(checks) == 5


def test_a_comment_in_a_loss_of_a_project_that_reloads_models_runs_no_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a module loads a model with its custom objects, each loss of a collection no
    compile uses is looked for among them (is it only named to load a model?): by its
    statements' syntax, so a comment inside the loss keeps the last findings without running
    the rules."""
    (tmp_path / "losses.py").write_text(
        "import keras\n\n\ndef log_loss(y_true, y_pred):\n"
        "    return keras.ops.mean(keras.ops.log(y_pred))\n\n\n"
        "def root_loss(y_true, y_pred):\n"
        "    return keras.ops.sqrt(keras.ops.sum(keras.ops.square(y_true - y_pred), axis=-1))\n"
    )
    (tmp_path / "serve.py").write_text(
        "import keras\nimport losses\n\nobjects = {'root_loss': losses.root_loss}\n"
        "model = keras.models.load_model('m.keras', custom_objects=objects)\n"
        "print(model.predict([[0.0]]))\n"
    )
    codes, checks = _codes_and_checks(tmp_path, monkeypatch)
    before = codes()
    assert "LL301" in before and len(checks) == 1
    (tmp_path / "notes.py").write_text("import keras\n")  # a warm run that checks again
    assert codes() == before and len(checks) == 2
    losses = tmp_path / "losses.py"
    losses.write_text(
        losses.read_text().replace(
            "    return keras.ops.mean", "    # why\n    return keras.ops.mean"
        )
    )
    assert codes() == before and len(checks) == 2  # the same syntax: no rule ran
    assert codes(use_cache=False) == before


def test_a_dead_loss_named_again_is_checked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script's loss that nothing names is dead code, not checked; naming it in a line the
    analyses never parsed (a print at the top level: the same facts) must bring its finding
    back, and naming it in a comment must not."""
    script = tmp_path / "train.py"
    script.write_text(
        "import keras\nimport numpy as np\n\n\ndef root_loss(y_true, y_pred):\n"
        "    return keras.ops.sqrt(keras.ops.sum(keras.ops.square(y_true - y_pred), axis=-1))\n"
        "\n\nmodel = keras.Sequential([keras.layers.Dense(1)])\n"
        "model.compile(loss='mse')\nmodel.fit(np.zeros((2, 1)), np.zeros((2, 1)))\n"
    )
    codes, checks = _codes_and_checks(tmp_path, monkeypatch)
    assert codes() == [] and len(checks) == 1
    script.write_text(script.read_text() + "# model.compile(loss=root_loss)\n")
    assert codes() == [] and codes(use_cache=False) == []
    script.write_text(script.read_text() + "print(root_loss)\n")
    assert codes() == ["LL303"] == codes(use_cache=False)


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_edit_around_the_code_an_analysis_read_moves_its_findings_without_a_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """The early cutoff in a file an analysis read: only the chunks read (the walked helper)
    must be there, word for word or with the same syntax. Lines inserted above it move its
    LL301 without running the rules, and so do a comment and a blank line inside it; a line
    that extends it is checked again."""
    _project(tmp_path)
    helper = tmp_path / "helpers.py"
    helper.write_text(_HELPER.format(op="log") + "\n\ndef unused(x):\n    return x\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pipeline, "_MIN_FILES_TO_FORK_RULES", 1)
    config = Config(root=tmp_path, select=("LL1", "LL3"))
    checks = _count_checks(monkeypatch)

    def check(use_cache: bool = True) -> list[Any]:
        result = pipeline.run([Path(".")], config, jobs=jobs, use_cache=use_cache)
        return [codec.encode(d) for d in result.diagnostics]  # fixes (their spans) included

    def where(found: list[Any]) -> list[tuple[str, str, int]]:
        return [(d.code, d.path, d.line) for d in map(codec.decode, found)]

    before = check()
    assert ("LL301", "helpers.py", 5) in where(before) and len(checks) == 1
    text = helper.read_text()
    helper.write_text(text.replace("\n\n\ndef term", "\n# two\n# lines\n\n\ndef term"))
    moved = check()
    assert ("LL301", "helpers.py", 7) in where(moved) and len(checks) == 1  # no rule ran
    assert moved == check(use_cache=False) and len(checks) == 2
    helper.write_text(
        helper.read_text().replace("def unused(x):\n", "def unused(x):\n    x += 1\n")
    )
    assert check() == moved and len(checks) == 2  # code no analysis read, with the same facts
    helper.write_text(
        helper.read_text().replace("    return ops.log", "    # why\n    return ops.log")
    )
    inside = check()  # the same syntax, its lines moved: the finding moves with them
    assert len(checks) == 2 and ("LL301", "helpers.py", 8) in where(inside)
    assert inside == check(use_cache=False) and len(checks) == 3
    helper.write_text(helper.read_text().replace("(y_pred)\n", "(y_pred)\n    y_pred = 0\n"))
    longer = check()  # the same lines, then one more: the function is not the same
    assert len(checks) == 4 and longer == check(use_cache=False)


_RATIO = """import keras
from keras import ops


def precision(y_true, y_pred):
    tp = ops.sum(y_true * y_pred)
    return tp / (ops.sum(y_pred) + 1e-7)


def my_loss(y_true, y_pred):
    p = ops.sigmoid(y_pred)
    return -ops.mean(y_true * ops.log(p))


model = keras.Sequential([keras.layers.Dense(1)])
model.compile(loss=my_loss, metrics=[precision])
"""
_JOINED = "    p = ops.sigmoid(y_pred); return -ops.mean(y_true * ops.log(p))"

# (an edit of _RATIO, whether the last findings stand without running the rules)
_SYNTAX_EDITS: dict[str, tuple[Callable[[str], str], bool]] = {
    "a comment line in the loss": (lambda s: s.replace("    p =", "    # why\n    p ="), True),
    "a blank line in the loss": (lambda s: s.replace("    p =", "\n    p ="), True),
    "a comment at a line's end": (lambda s: s.replace("(y_pred)\n", "(y_pred)  # p\n"), True),
    "a comment removed": (lambda s: s.replace("    # why\n", ""), True),
    "a token changed": (lambda s: s.replace("ops.log(p)", "ops.log(p + 1e-7)"), False),
    "a space inside a call": (lambda s: s.replace("ops.log(p)", "ops.log( p)"), False),
    "an argument added": (lambda s: s.replace("(1)])", "(1, name='d')])"), False),
    "a line joined": (lambda s: s.replace(_JOINED.replace("; ", "\n    "), _JOINED), False),
    # The metric's message names the line of its ratio: when that line moves, it is made again.
    "a line above the metric's ratio": (
        lambda s: s.replace("    tp =", "    # tp\n    tp ="),
        False,
    ),
}


@pytest.mark.parametrize("edit", sorted(_SYNTAX_EDITS))
def test_an_edit_of_comments_inside_walked_code_moves_its_findings_without_a_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    """The analyses read the syntax of the loss, not its text: a comment or a blank line
    inside it moves its findings (LL302 at the log) without running the rules. A changed
    token, a node that moved on its line, two lines joined into one, and a message that names
    a line which moved (LL501) are checked again. Both must equal a run without the cache."""
    change, stands = _SYNTAX_EDITS[edit]
    losses = tmp_path / "losses.py"
    text = (
        _RATIO.replace("    p =", "    # why\n    p =") if edit == "a comment removed" else _RATIO
    )
    losses.write_text(text)
    monkeypatch.chdir(tmp_path)
    config = Config(root=tmp_path)
    checks = _count_checks(monkeypatch)
    before = _diagnostics(config)
    assert {"LL302", "LL501"} <= {d.code for d in before} and len(checks) == 1
    losses.write_text(change(text))
    after = _diagnostics(config)
    assert len(checks) == (1 if stands else 2), edit
    assert after == _diagnostics(config, use_cache=False)
    moved = [d.line for d in after if d.code == "LL302"] != [
        d.line for d in before if d.code == "LL302"
    ]
    assert moved == (stands and edit != "a comment at a line's end") or not stands


def test_a_noqa_comment_added_inside_walked_code_hides_the_finding_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With LL001 off, a file whose noqa comments change keeps the same facts: the cutoff
    takes the line of each finding again from the file as it is, so a noqa comment added at
    the end of the line of a finding hides it, as in a run without the cache."""
    losses = tmp_path / "losses.py"
    losses.write_text(_RATIO.replace("import keras\n", "import keras  # noqa: LL402\n"))
    monkeypatch.chdir(tmp_path)
    config = Config(root=tmp_path, ignore=("LL001",))
    checks = _count_checks(monkeypatch)
    assert "LL302" in {d.code for d in _diagnostics(config)}
    losses.write_text(losses.read_text().replace("ops.log(p))\n", "ops.log(p))  # noqa: LL302\n"))
    after = _diagnostics(config)
    assert len(checks) == 1 and "LL302" not in {d.code for d in after}
    assert after == _diagnostics(config, use_cache=False)


def test_a_chunk_whose_text_an_analysis_read_is_checked_again_after_any_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LL402 quotes the Keras 2 reference it reports. A dotted name (``K.mean``) is written
    the same way wherever the syntax and its columns are: a comment inside the loss keeps the
    finding. Any other quote (``(K).mean``) is a read of the text, which makes a comment
    inside the loss run the rules again. Without the texts kept of the chunks read (a damaged
    cache), nothing is compared: the rules run too."""
    losses = tmp_path / "losses.py"
    loss = "from keras import backend as K\n\n\ndef my_loss(y_true, y_pred):\n    return {}\n"
    losses.write_text(loss.format("K.mean(K.square(y_true - y_pred))"))
    monkeypatch.chdir(tmp_path)
    config = Config(root=tmp_path)
    checks = _count_checks(monkeypatch)

    def comment_inside() -> None:
        losses.write_text(losses.read_text().replace("    return", "    # why\n    return"))

    assert "LL402" in {d.code for d in _diagnostics(config)}
    comment_inside()
    assert _diagnostics(config) == _diagnostics(config, use_cache=False) and len(checks) == 2
    losses.write_text(loss.format("(K).mean(K.square(y_true - y_pred))"))
    assert "(K).mean" in " ".join(d.message for d in _diagnostics(config)) and len(checks) == 3
    comment_inside()
    assert _diagnostics(config) == _diagnostics(config, use_cache=False) and len(checks) == 5
    ratio = tmp_path / "ratio.py"
    ratio.write_text(_RATIO)
    _diagnostics(config)
    kept = list((tmp_path / CACHE_DIR).rglob("*.json.z"))
    assert kept
    for path in kept:
        path.write_bytes(b"not zlib")
    ratio.write_text(_RATIO.replace("    p =", "    # why\n    p ="))
    runs = len(checks)
    assert _diagnostics(config) == _diagnostics(config, use_cache=False)
    assert len(checks) == runs + 2


# (fixture directory, file edited, the edit): TF1 code whose modules the project reads whole
# (the session runs of run.py, the ``self.cost`` stores of base.py), each edit a comment.
_WHOLE_READ_EDITS = [
    ("fetched_loss", "run.py", ("    for _ in", "    # ten steps\n    for _ in")),
    (
        "fetched_loss",
        "net.py",
        ("        return probs - labels", "        return probs - labels  # x"),
    ),
    (
        "stored_cost",
        "base.py",
        ("        self.cost = cost", "        # stored\n        self.cost = cost"),
    ),
    ("stored_cost", "models.py", ("        output =", "        # squashed\n        output =")),
    ("tf1_script", "train.py", ("logits = tf.matmul", "# the model\nlogits = tf.matmul")),
    (
        "tf1_script",
        "model_class.py",
        ("        self._create_cost()\n", "        self._create_cost()  # c\n"),
    ),
]


@pytest.mark.parametrize(("fixture", "name", "edit"), _WHOLE_READ_EDITS)
def test_a_comment_in_a_module_the_project_walks_whole_keeps_the_last_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture: str, name: str, edit: tuple[str, str]
) -> None:
    """A module whose whole tree an analysis walks (to find the values a TF1 session fetches,
    what a method stores on ``self``, a script's top-level loss) is a read of every
    statement's syntax, and where those modules are is found from facts, not by searching
    their text: a comment anywhere in them keeps the last findings, moved, as a run without
    the cache reports them."""
    shutil.copytree(FIXTURES / "rules" / fixture, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    config = Config(root=tmp_path)
    checks = _count_checks(monkeypatch)
    before = _diagnostics(config)
    assert {"LL301", "LL302"} & {d.code for d in before} and len(checks) == 1
    path = tmp_path / name
    assert edit[0] in path.read_text()
    path.write_text(path.read_text().replace(*edit, 1))
    after = _diagnostics(config)
    assert len(checks) == 1 and after == _diagnostics(config, use_cache=False)


_STORED_LOSS = """\
import keras
from keras import ops


def bpr(pos, neg):
    return -ops.log(ops.sigmoid(pos) - ops.sigmoid(neg))


def pointwise(pos, neg):
    return ops.mean(ops.square(pos - neg), axis=-1)


class Ranker(keras.losses.Loss):
    def __init__(self, kind="bpr"):
        super().__init__()
        if kind == "bpr":
            self._loss_func = bpr
        else:
            self._loss_func = pointwise

    def call(self, y_true, y_pred):
        return self._loss_func(y_pred, y_true)


def unrelated(x):
    return x + 1
"""


@pytest.mark.parametrize(
    ("comment", "stands"),
    [("# plain", True), ("# the old self._loss_func", False)],
    ids=["a comment", "a comment naming the word searched for"],
)
def test_a_word_searched_for_in_a_file_is_searched_again_not_the_file_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, comment: str, stands: bool
) -> None:
    """Which functions a class stores in ``self._loss_func`` is searched for in its module's
    lines first: a search reads the lines holding the word, not the file. A comment elsewhere
    keeps the last findings; one that adds the word on a line of another statement makes the
    search find more, so the rules run again. Both equal a run without the cache."""
    losses = tmp_path / "losses.py"
    losses.write_text(_STORED_LOSS)
    monkeypatch.chdir(tmp_path)
    config = Config(root=tmp_path)
    checks = _count_checks(monkeypatch)
    before = _diagnostics(config)
    assert "LL301" in {d.code for d in before} and len(checks) == 1
    losses.write_text(_STORED_LOSS.replace("    return x + 1", f"    {comment}\n    return x + 1"))
    after = _diagnostics(config)
    assert len(checks) == (1 if stands else 2)
    assert after == _diagnostics(config, use_cache=False)


def test_a_module_level_value_is_read_from_the_statements_that_bind_it_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The analyses look ``EPS`` up in the chunks that bind it (``ModuleIndex.bindings``), not
    in every top-level statement: changing another module-level statement keeps the last
    findings, changing the binding runs the rules, and both equal a run without the cache."""
    losses = tmp_path / "losses.py"
    losses.write_text(
        "import keras\nfrom keras import ops\n\nEPS = keras.config.epsilon() * 0\n"
        'print("loaded")\n\n\ndef my_loss(y_true, y_pred):\n'
        "    return -ops.mean(y_true * ops.log(y_pred + EPS))\n\n\n"
        "model = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
        "model.compile(loss=my_loss)\n"
    )
    monkeypatch.chdir(tmp_path)
    config = Config(root=tmp_path)
    checks = _count_checks(monkeypatch)
    before = _diagnostics(config)
    assert "LL301" in {d.code for d in before} and len(checks) == 1
    losses.write_text(losses.read_text().replace('print("loaded")', 'print("ready")'))
    assert _diagnostics(config) == before and len(checks) == 1
    assert before == _diagnostics(config, use_cache=False)
    losses.write_text(losses.read_text().replace("* 0\n", "* 10\n"))
    after = _diagnostics(config)
    assert len(checks) == 3 and after == _diagnostics(config, use_cache=False)
    assert "LL301" not in {d.code for d in after}  # kept above 0 now


_SPARE = "def spare(v, w):\n    return v * w\n\n\n"


def _spare(old: str = "", new: str = "", also: tuple[str, str] = ("", "")) -> Callable[[str], str]:
    """An edit of losses.py: ``spare`` added above the loss (``old`` replaced by ``new`` in
    it), and ``also`` replaced in the file."""
    added = _SPARE.replace(old, new) if old else _SPARE
    return lambda text: text.replace("def my_loss", added + "def my_loss").replace(*also)


# (the edit to losses.py, whether the last findings stand without running the rules)
_FUNCTION_EDITS: dict[str, tuple[Callable[[str], str], bool]] = {
    "added above the walked loss": (_spare(), True),
    "added at the end": (lambda s: s + "\n\ndef spare(v):\n    return v\n", True),
    "removed": (lambda s: s.replace("def first(a):\n    return a\n\n\n", ""), True),
    "with a new signature": (lambda s: s.replace("def first(a):", "def first(a, b=1):"), True),
    "renamed": (lambda s: s.replace("def first(a):", "def second(a):"), True),
    "named like a loss": (_spare("spare", "spare_loss"), False),
    "named like a metric": (_spare("spare", "dice_coef"), False),
    "shaped like a loss": (_spare("(v, w)", "(y_true, y_pred)"), False),
    "named as a helper's function": (_spare("spare", "term"), False),
    "called by the loss": (_spare(also=("log(y_pred) +", "log(spare(y_pred, 1)) +")), False),
    "named in a comment": (_spare(also=("import keras\n", "import keras  # spare\n")), False),
    "named in a string": (_spare(also=("import keras\n", "import keras\nX = 'spare'\n")), False),
    "decorated": (_spare("def spare", "@staticmethod\ndef spare"), False),
    "bound twice": (_spare("spare", "first"), False),
    "named as a module": (_spare("spare", "notes"), False),
    "named as a method looked up": (_spare("spare", "call"), False),
    "handing out a function": (_spare("return v * w", "def f(a):\n        pass\n    return f"), False),  # noqa: E501
    "compiling a model": (_spare("return v * w", "model.compile(loss='mse')\n    return v"), False),
}  # fmt: skip


@pytest.mark.parametrize("edit", sorted(_FUNCTION_EDITS))
def test_a_function_no_rule_sees_and_nothing_names_keeps_the_last_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    """A top-level function added, removed, renamed or given a new signature changes the
    file's facts, yet no finding, when it is neither shaped nor named like a loss or metric
    and nothing else in the project names it: the last findings stand, moved with the walked
    loss below it, without running the rules. Its look-alikes run them (a loss, a name used
    elsewhere, in a comment or a string, a decorator, a second binding, a module's name)."""
    _project(tmp_path)
    losses = tmp_path / "losses.py"
    text = _LOSSES.replace("def my_loss", "def first(a):\n    return a\n\n\ndef my_loss")
    losses.write_text(text.replace("mean(term", "mean(keras.ops.log(y_pred) + term"))
    monkeypatch.chdir(tmp_path)
    config = Config(root=tmp_path)
    checks = _count_checks(monkeypatch)

    def check(use_cache: bool = True) -> list[Any]:
        result = pipeline.run([Path(".")], config, jobs=1, use_cache=use_cache)
        return [codec.encode(d) for d in result.diagnostics]

    before = check()
    assert [d.path for d in map(codec.decode, before) if d.code == "LL301"] == ["losses.py"]
    change, stands = _FUNCTION_EDITS[edit]
    edited = change(losses.read_text())
    assert edited != losses.read_text()
    losses.write_text(edited)
    after = check()
    assert len(checks) == (1 if stands else 2), edit
    assert after == check(use_cache=False)


def test_a_named_file_is_checked_with_its_own_group_only_and_not_when_it_does_not_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pre-commit run (files named, facts from the project) runs the rules of the named
    files' sub-project only, and none when the named files do not parse: no rule can find
    anything to report in them. What is reported equals the whole project's findings there."""
    for copy in ("alpha", "beta"):  # two sub-projects with the same package: two groups
        root = tmp_path / copy / "pkg"
        root.mkdir(parents=True)
        (root / "__init__.py").write_text("")
        (root / "losses.py").write_text(
            "from keras import ops\n\n\ndef my_loss(y_true, y_pred):\n"
            "    return ops.mean(ops.log(y_pred))\n"
        )
        (root / "train.py").write_text(
            "import keras\nfrom pkg.losses import my_loss\n\n"
            "model = keras.Sequential([keras.layers.Dense(1)])\nmodel.compile(loss=my_loss)\n"
        )
    (tmp_path / "alpha" / "pkg" / "broken.py").write_text("import keras\ndef f(:\n")
    monkeypatch.chdir(tmp_path)
    config = Config(root=tmp_path)
    checks = _count_checks(monkeypatch)

    def found(*named: str, use_cache: bool = True) -> list[tuple[str, str, int]]:
        paths = [Path(n) for n in named] or [Path(".")]
        project = tmp_path if named else None
        result = pipeline.run(paths, config, jobs=1, use_cache=use_cache, project=project)
        return [(d.code, d.path, d.line) for d in result.diagnostics]

    whole = found(use_cache=False)
    assert len(checks) == 2  # one run of the rules per sub-project
    assert {c for c, p, _ in whole if p.startswith("beta")} == {"LL201", "LL301"}
    beta = "beta/pkg/losses.py"
    assert found(beta, use_cache=False) == [f for f in whole if f[1] == beta]
    assert len(checks) == 3  # beta's rules only
    broken = "alpha/pkg/broken.py"
    assert found(broken, use_cache=False) == [("LL000", broken, 2)]
    assert len(checks) == 3  # nothing to find in a file that does not parse
    assert found(broken) == found(broken) == [("LL000", broken, 2)] and len(checks) == 3
    assert found() == whole  # and the partial runs left no whole-run result behind


def test_an_edit_to_a_skipped_file_reuses_the_findings_unless_it_gave_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files that mention no Keras are skipped, unless a loss module imports them: editing
    ``data.py`` keeps the last findings without running the rules; editing ``utils.py``, whose
    ``EPS`` the loss adds inside its log, runs them (and LL301 goes)."""
    (tmp_path / "utils.py").write_text("EPS = 0.0\n")
    data = tmp_path / "data.py"
    data.write_text("def load():\n    return [1, 2, 3]\n")
    (tmp_path / "losses.py").write_text(
        "import keras\nfrom keras import ops\nfrom utils import EPS\n\n\n"
        "def my_loss(y_true, y_pred):\n    return ops.mean(ops.log(y_pred + EPS), axis=-1)\n\n\n"
        "model = keras.Sequential([keras.layers.Dense(1)])\nmodel.compile(loss=my_loss)\n"
    )
    codes, checks = _codes_and_checks(tmp_path, monkeypatch)

    assert codes() == ["LL301"] and len(checks) == 1
    data.write_text("# loads\ndef load():\n    return [4]\n")
    assert codes() == ["LL301"] and len(checks) == 1  # nothing read it: no rule ran
    (tmp_path / "utils.py").write_text("EPS = 1e-7\n")
    assert codes() == [] == codes(use_cache=False) and len(checks) == 3


def test_a_skipped_module_a_skipped_package_hands_on_gives_facts_and_is_watched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``from scoring import accuracy`` where ``scoring/__init__.py`` imports it from
    ``scoring/_accuracy.py``, and neither file says anything Keras-like: the function is
    checked (LL501), and an edit of that module runs the rules again."""
    package = tmp_path / "scoring"
    package.mkdir()
    (package / "__init__.py").write_text("from ._accuracy import accuracy\n")
    module = package / "_accuracy.py"
    ratio = (
        "import tensorflow as tf\n\n\n"
        "def accuracy(label, pred):\n"
        "    hits = tf.cast(tf.equal(label, tf.round(pred)), tf.float32)\n"
        "    real = tf.cast(label > 0, tf.float32)\n"
        "    return tf.math.divide_no_nan(tf.reduce_sum(hits * real), tf.reduce_sum(real))\n"
    )
    module.write_text(ratio)
    (tmp_path / "train.py").write_text(
        "import keras\nfrom scoring import accuracy\n\n"
        "model = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
        "model.compile(loss='binary_crossentropy', metrics=[accuracy])\n"
    )
    codes, checks = _codes_and_checks(tmp_path, monkeypatch)

    assert codes() == ["LL501"] == codes(use_cache=False) and len(checks) == 2
    module.write_text(
        ratio.replace("tf.reduce_sum(hits * real), tf.reduce_sum(real)", "hits, real")
    )
    assert codes() == [] == codes(use_cache=False) and len(checks) == 4


def test_a_fix_moves_with_its_finding_when_the_last_findings_stand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LL201's fix (``axis=-1`` at the loss's mean) is replayed at the line it moved to."""
    losses = tmp_path / "losses.py"
    losses.write_text(
        "from keras import ops\n\n\ndef my_loss(y_true, y_pred):\n"
        "    return ops.mean(ops.square(y_true - y_pred))\n"
    )
    (tmp_path / "train.py").write_text(
        "import keras\nfrom losses import my_loss\n\n"
        "model = keras.Sequential([keras.layers.Dense(1)])\nmodel.compile(loss=my_loss)\n"
    )
    monkeypatch.chdir(tmp_path)
    config = Config(root=tmp_path)
    checks = _count_checks(monkeypatch)

    def fixes(use_cache: bool = True) -> list[Any]:
        return [d.fix.to_dict() for d in _diagnostics(config, use_cache) if d.fix is not None]

    assert fixes()[0]["edits"][0]["line"] == 5 and len(checks) == 1
    losses.write_text(losses.read_text().replace("ops\n", "ops\n# one\n# two\n", 1))
    moved = fixes()
    assert moved[0]["edits"][0]["line"] == 7 and len(checks) == 1
    assert moved == fixes(use_cache=False)


_EDITED_PROJECT = {
    "helpers.py": (
        "from keras import ops\n\n\ndef term(y_true, y_pred):\n    return ops.log(y_pred)\n"
        "\n\ndef other(x):\n    return x\n"
    ),
    "losses.py": (
        "import keras\nfrom keras import ops\nfrom helpers import term\nfrom utils import EPS\n\n\n"
        "def my_loss(y_true, y_pred):\n"
        "    return keras.ops.mean(term(y_true, y_pred) + ops.log(y_pred + EPS), axis=-1)\n"
        "\n\ndef flat_loss(y_true, y_pred):\n    return ops.mean(ops.square(y_true - y_pred))\n"
        "\n\ndef precision(y_true, y_pred):\n    tp = ops.sum(y_true * y_pred)\n"
        "    return tp / (ops.sum(y_pred) + 1e-7)\n"  # LL501 names the line of the ratio
        "\n\nmodel = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
        "model.compile(loss=my_loss, metrics=[precision])\n"
        "second = keras.Sequential([keras.layers.Dense(1)])\nsecond.compile(loss=flat_loss)\n"
    ),
    "notes.py": "import keras\n\nVERSION = keras.__version__\n",
    # A class long enough to be parsed a method at a time (codec: ModuleIndex.members).
    "classes.py": (
        "import keras\nfrom keras import ops\n\n\nclass WeightedLoss(keras.losses.Loss):\n"
        '    """Weighted log loss."""\n\n    def __init__(self, weight=1.0, name="weighted"):\n'
        "        super().__init__(name=name)\n        self.weight = weight\n\n"
        "    def call(self, y_true, y_pred):\n"
        "        return ops.mean(ops.log(y_pred) * self.weight, axis=-1)\n\n"
        + "".join(f"    def helper_{i}(self, x):\n        return x\n\n" for i in range(10))
        + '    def get_config(self):\n        return {"weight": self.weight, "name": self.name}\n'
        "\n\nmodel = keras.Sequential([keras.layers.Dense(1, activation='sigmoid')])\n"
        "model.compile(loss=WeightedLoss())\n"
    ),
    "utils.py": "EPS = 0.0\n",  # skipped by the pre-filter, but it gives facts to losses.py
    "data.py": "def load():\n    return [1, 2, 3]\n",  # skipped, and imported by nothing
}
_INSERTED = [
    "# a note",
    "",
    "    # an indented note",
    "unused = 1",
    "    pass",
    "    y_pred = y_pred",
    "# noqa: LL301",
    "import keras",
    "def extra(y_true, y_pred):\n    return ops.exp(y_pred)",
    "\n\ndef spare(v, w):\n    return v * w\n",  # a function no rule sees, named nowhere
    "\n\ndef other(x):\n    return x\n",  # the same, bound twice where helpers.py is edited
    "\n\ndef load(x):\n    return x\n",  # data.py's name
    "# other",
    '"""a docstring"""',
]
_APPENDED = ["  # why", "  # noqa: LL301", "  # noqa", " ", "  # y_pred"]  # at a line's end
_SWAPPED = [
    ("log", "exp"), ("exp", "log"), ("mean", "sum"), (", axis=-1", ""), ("term", "other"),
    ("0.0", "1e-7"), ("[1, 2, 3]", "[4]"), ("other(x)", "other(x, y=1)"), ("other", "unused"),
]  # fmt: skip
_EDIT = st.one_of(
    st.tuples(st.just("insert"), st.sampled_from(sorted(_EDITED_PROJECT)), st.integers(0, 30),
              st.sampled_from(_INSERTED)),
    st.tuples(st.just("delete"), st.sampled_from(sorted(_EDITED_PROJECT)), st.integers(0, 30),
              st.just("")),
    st.tuples(st.just("swap"), st.sampled_from(sorted(_EDITED_PROJECT)), st.integers(0, 8),
              st.just("")),
    st.tuples(st.just("append"), st.sampled_from(sorted(_EDITED_PROJECT)), st.integers(0, 30),
              st.sampled_from(_APPENDED)),
)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=st.lists(_EDIT, min_size=1, max_size=4), jobs=st.sampled_from([1, 2]))
def test_after_any_edits_the_cached_findings_are_those_of_a_fresh_run(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    edits: list[tuple[str, str, int, str]],
    jobs: int,
) -> None:
    """Whatever is edited (a comment or a statement anywhere, a comment at a line's end, a
    line removed, an op renamed, a noqa added, a file that stops parsing, a skipped file that
    gives facts or not, or that starts to mention Keras), a warm run reports exactly what a
    run without the cache reports: the early cutoff is only ever a shortcut."""
    root = tmp_path_factory.mktemp("edited")
    for name, text in _EDITED_PROJECT.items():
        (root / name).write_text(text)
    monkeypatch.chdir(root)
    monkeypatch.setattr(pipeline, "_MIN_FILES_TO_FORK_RULES", 1)
    config = Config(root=root)

    def found(use_cache: bool) -> list[Any]:
        result = pipeline.run([Path(".")], config, jobs=jobs, use_cache=use_cache)
        return [codec.encode(d) for d in result.diagnostics]

    found(True)
    for kind, name, number, text in edits:
        path = root / name
        lines = path.read_text().split("\n")
        if kind == "insert":
            lines.insert(number % (len(lines) + 1), text)
        elif kind == "delete" and len(lines) > 1:
            del lines[number % len(lines)]
        elif kind == "swap":
            old, new = _SWAPPED[number]
            lines = "\n".join(lines).replace(old, new, 1).split("\n")
        elif kind == "append":
            lines[number % len(lines)] += text
        path.write_text("\n".join(lines))
        assert found(True) == found(False), (kind, name, number, text)


def test_a_finding_that_quotes_a_moved_line_of_an_unread_file_is_checked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LL405 quotes where the model is reloaded (serve.py:N); serve.py is never read, and a
    line inserted above its load_model() moves its facts in order: the finding is made again
    with the new line, not replayed with the old."""
    (tmp_path / "losses.py").write_text(
        "import keras\n\n\ndef my_loss(y_true, y_pred):\n"
        "    return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)\n"
    )
    (tmp_path / "train.py").write_text(
        "import keras\nfrom losses import my_loss\n\n\ndef train():\n"
        "    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])\n"
        "    model.compile(optimizer='adam', loss=my_loss)\n    model.save('m.keras')\n"
    )
    serve = tmp_path / "serve.py"
    serve.write_text(
        "import keras\n\n\ndef serve(path):\n    return keras.saving.load_model(path)\n"
    )
    monkeypatch.chdir(tmp_path)
    config = Config(root=tmp_path)

    def messages(use_cache: bool = True) -> list[str]:
        result = pipeline.run([Path(".")], config, jobs=1, use_cache=use_cache)
        return [d.message for d in result.diagnostics if d.code == "LL405"]

    assert any("serve.py:5" in m for m in messages())
    serve.write_text("# moved\n" + serve.read_text())
    assert any("serve.py:6" in m for m in messages()) and messages() == messages(False)


def test_warm_run_parses_nothing_and_an_edit_parses_one_file(tmp_path: Path) -> None:
    tree = _copy_fixtures(tmp_path)
    config = Config(root=tree)
    cold = pipeline.run([tree], config, jobs=1)
    warm = pipeline.run([tree], config, jobs=1)
    assert cold.checked > 10 and warm.checked == 0
    assert warm.cached == cold.checked
    assert warm.diagnostics == cold.diagnostics
    leaf = tree / "rules" / "LL304.py"
    leaf.write_text(leaf.read_text() + "\n# edited\n")
    edited = pipeline.run([tree], config, jobs=1)
    assert edited.checked == 1 and edited.cached == cold.checked - 1
    assert edited.diagnostics == cold.diagnostics


def _packs(tree: Path) -> list[Path]:
    return sorted((tree / CACHE_DIR).rglob("*.pack"))


def test_a_run_writes_the_facts_it_makes_to_one_pack_a_process(tmp_path: Path) -> None:
    """Not a file for each source file: making a file costs more than writing its bytes."""
    tree = _copy_fixtures(tmp_path)
    config = Config(root=tree)
    cold = pipeline.run([tree], config, jobs=1)
    assert cold.checked > 10 and len(_packs(tree)) == 1
    (index,) = (tree / CACHE_DIR).rglob("facts/index.json")
    indexed = len(json.loads(index.read_text())["value"])
    assert indexed >= cold.checked  # and the helper modules the rules needed the facts of
    assert not [p for p in (tree / CACHE_DIR).rglob("facts/*") if p not in (*_packs(tree), index)]
    leaf = tree / "rules" / "LL304.py"
    leaf.write_text(leaf.read_text() + "\n# edited\n")
    assert pipeline.run([tree], config, jobs=1).checked == 1
    assert len(_packs(tree)) == 2  # the edited file's facts, in this run's pack
    assert len(json.loads(index.read_text())["value"]) == indexed + 1
    shutil.rmtree(tree / CACHE_DIR)
    parallel = pipeline.run([tree], config, jobs=2)
    assert parallel.diagnostics == cold.diagnostics
    assert 1 <= len(_packs(tree)) <= 3  # the workers', and this process's if it indexed any


def test_the_index_keeps_the_newest_entries_and_packs_no_entry_is_in_are_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each edit adds an entry: the index is capped, oldest first, and a pack is deleted once
    none of its entries is indexed and it is old enough not to be another run's."""
    import losslint.cache

    monkeypatch.setattr(losslint.cache, "_MAX_INDEXED", 5)
    tree = _copy_fixtures(tmp_path)
    config = Config(root=tree)
    cold = pipeline.run([tree], config, jobs=1)
    (first,) = _packs(tree)
    (index,) = (tree / CACHE_DIR).rglob("facts/index.json")
    assert len(json.loads(index.read_text())["value"]) == 5
    leaf = tree / "rules" / "LL304.py"
    original = leaf.read_text()
    for number in range(3):  # (the facts of its group that were dropped are made again)
        leaf.write_text(original + f"\n# edit {number}\n")
        assert pipeline.run([tree], config, jobs=1).checked >= 1
        assert len(json.loads(index.read_text())["value"]) == 5
    assert first in _packs(tree)  # none of its entries is indexed, but it is young
    monkeypatch.setattr(losslint.cache, "_PACK_GRACE_S", -60)
    leaf.write_text(original + "\n# edit 6\n")
    pipeline.run([tree], config, jobs=1)
    packs = _packs(tree)
    indexed = {where[0] for where in json.loads(index.read_text())["value"].values()}
    assert first not in packs and {p.name for p in packs} == indexed
    leaf.write_text(original + "\n# edit 7\n")  # the facts not indexed are made again
    again = pipeline.run([tree], config, jobs=1)
    assert again.checked > 1
    assert again.diagnostics == pipeline.run([tree], config, use_cache=False).diagnostics
    assert cold.checked > 10


def test_a_facts_write_that_fails_part_way_loses_that_entry_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk mid-entry: that entry is not indexed, and the next goes to a new pack (the
    offsets of the half-written one are no longer known)."""
    import losslint.cache

    cache = Cache.open(tmp_path, ["settings"])
    assert cache is not None and cache.store_facts("a" * 64, {"x": 1}) is not None
    real = os.write
    failed: list[int] = []

    def full_disk(handle: int, data: Any) -> int:
        if not failed:
            failed.append(real(handle, bytes(data[:3])))
            raise OSError(28, "No space left on device")
        return real(handle, data)

    monkeypatch.setattr(losslint.cache.os, "write", full_disk)
    assert cache.store_facts("b" * 64, {"x": 2}) is None
    assert cache.store_facts("c" * 64, {"x": 3}) is not None
    monkeypatch.undo()
    cache.save()
    again = Cache.open(tmp_path, ["settings"])
    assert again is not None and again.facts("a" * 64) == {"x": 1}
    assert again.facts("b" * 64) is None and again.facts("c" * 64) == {"x": 3}
    assert len(_packs(tmp_path)) == 2


@pytest.mark.parametrize("damage", ["random bytes", "truncated", "shifted"])
def test_a_damaged_pack_is_read_as_missing_facts_and_they_are_made_again(
    tmp_path: Path, damage: str
) -> None:
    tree = _copy_fixtures(tmp_path)
    config = Config(root=tree)
    pipeline.run([tree], config, jobs=1)
    (pack,) = _packs(tree)
    data = pack.read_bytes()
    if damage == "random bytes":
        pack.write_bytes(os.urandom(len(data)))
    elif damage == "truncated":
        pack.write_bytes(data[: len(data) // 2])
    else:  # every entry read from the wrong place: each names another key, or none
        pack.write_bytes(b" " + data)
    leaf = tree / "rules" / "LL304.py"
    leaf.write_text(leaf.read_text() + "\n# edited\n")
    damaged = pipeline.run([tree], config, jobs=1)  # a run that reads the facts of the rest
    assert damaged.diagnostics == pipeline.run([tree], config, jobs=1, use_cache=False).diagnostics
    assert damaged.checked > 1  # the damaged facts of its group made again, not trusted
    leaf.write_text(leaf.read_text() + "# edited again\n")
    assert pipeline.run([tree], config, jobs=1).checked == 1  # and read back


def test_changing_an_imported_module_invalidates_its_importers(tmp_path: Path) -> None:
    """train.py is unchanged, but the output it names "bx" now exists in model.py."""
    project = tmp_path / "project"
    shutil.copytree(CROSS, project)
    before = {(d["path"], d["line"], d["code"]) for d in _json(project)}
    assert ("train.py", 22, "LL103") in before
    model = project / "model.py"
    model.write_text(model.read_text().replace('name="box"', 'name="bx"'))
    after = {(d["path"], d["line"], d["code"]) for d in _json(project)}
    assert after == {(d["path"], d["line"], d["code"]) for d in _json(project, "--no-cache")}
    assert ("train.py", 22, "LL103") not in after


def test_noqa_applies_to_cached_results(tmp_path: Path) -> None:
    source = (FIXTURES / "demo" / "train_binary.py").read_text()
    (tmp_path / "train.py").write_text(source)
    first = _json(tmp_path)
    line = first[0]["line"]
    lines = source.splitlines()
    lines[line - 1] += f"  # noqa: {first[0]['code']}"
    (tmp_path / "train.py").write_text("\n".join(lines) + "\n")
    assert len(_json(tmp_path)) == len(first) - 1


def test_cache_directory_explains_itself_and_is_ignored(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "train.py").write_text((FIXTURES / "demo" / "train_binary.py").read_text())
    _json(tmp_path)
    cache = tmp_path / CACHE_DIR
    assert (
        (cache / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    assert "losslint's cache" in (cache / "README").read_text()
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert status.stdout.split() == ["??", "train.py"]


# -- the cache is data -------------------------------------------------------------------------


class _Planted:
    """Unpickling this runs code: it creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def _corrupt(kind: str, entry: Path, marker: Path) -> None:
    if kind == "pickle":
        entry.write_bytes(pickle.dumps(_Planted(marker)))
    elif kind == "random bytes":
        entry.write_bytes(os.urandom(300))
    elif kind == "wrong shape":
        document = json.loads(entry.read_bytes())
        value = document.get("value") if isinstance(document, dict) else None
        if isinstance(value, dict) and "f" in value:  # facts: a field too few
            value["f"] = value["f"][:-1]
        elif isinstance(value, list):  # results: a diagnostic of another class
            document["value"] = [[{"@": "Span", "f": [1, 1, 1, 1]}, ""]]
        else:
            document = {"files": "all of them"}
        entry.write_text(json.dumps(document))
    elif kind == "manifest []":
        if entry.name == "manifest.json":
            entry.write_text("[]")
    elif kind == "no digest":
        document = json.loads(entry.read_bytes())
        if entry.name == "manifest.json":
            document["files"] = {p: e[:4] + e[5:] for p, e in document["files"].items()}
        else:
            del document["key"]
        entry.write_text(json.dumps(document))


@pytest.mark.parametrize(
    "kind", ["pickle", "random bytes", "wrong shape", "manifest []", "no digest"]
)
def test_a_corrupted_or_planted_entry_is_ignored_and_rewritten(tmp_path: Path, kind: str) -> None:
    project = tmp_path / "project"
    shutil.copytree(CROSS, project)
    reference = _json(project, "--no-cache")
    assert _json(project) == reference
    marker = tmp_path / "code-ran"
    entries = _entries(project)
    assert any(p.name == "manifest.json" for p in entries) and len(entries) >= 3
    for entry in entries:
        _corrupt(kind, entry, marker)
    assert _json(project) == reference
    assert not marker.exists()
    assert _json(project) == reference  # the rewritten entries are read back
    for entry in _entries(project):
        document = json.loads(entry.read_bytes())  # every entry is JSON again
        assert isinstance(document, dict) and document["format"]


def test_the_cache_holds_no_code() -> None:
    """Only JSON is read: no module of losslint may load pickle (or marshal) data."""
    package = Path(pipeline.__file__).parent
    for module in package.rglob("*.py"):
        text = module.read_text()
        assert "import pickle" not in text and "import marshal" not in text, module


def test_a_same_size_edit_with_the_old_mtime_is_seen(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(CROSS, project)
    train = project / "train.py"
    before = _json(project)
    stat = train.stat()
    text = train.read_text()
    assert "LL103" in {d["code"] for d in before} and '"bx"' in text
    train.write_text(text.replace('"bx"', '"cx"'))  # the same size
    os.utime(train, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert train.stat().st_size == stat.st_size
    assert _json(project) == _json(project, "--no-cache") != before


def test_the_manifest_trusts_a_file_only_when_its_change_time_matches(tmp_path: Path) -> None:
    file = tmp_path / "a.py"
    file.write_text("x = 1\n")
    stat = file.stat()
    cache = Cache(tmp_path / "c", "k", written_ns=stat.st_ctime_ns + 10**12)
    state = FileState.of(stat, "d" * 64, True)
    cache.remember(str(file), state)
    assert cache.state(str(file), stat) == state
    same = os.stat_result(
        tuple(stat[:10]), {"st_mtime_ns": stat.st_mtime_ns, "st_ctime_ns": stat.st_ctime_ns}
    )
    assert cache.state(str(file), same) == state
    changed = os.stat_result(
        tuple(stat[:10]), {"st_mtime_ns": stat.st_mtime_ns, "st_ctime_ns": stat.st_ctime_ns + 1}
    )
    assert cache.state(str(file), changed) is None
    racy = Cache(tmp_path / "c", "k", written_ns=stat.st_ctime_ns + 10**9)  # within 2 s
    racy.remember(str(file), state)
    assert racy.state(str(file), stat) is None


def test_a_cache_directory_linked_out_of_the_project_is_not_used(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(CROSS, project)
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / CACHE_DIR).symlink_to(outside, target_is_directory=True)
    reference = _json(project, "--no-cache")
    assert _json(project) == reference
    assert _json(project) == reference
    assert list(outside.iterdir()) == []


def test_a_link_planted_inside_the_cache_is_not_followed(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(CROSS, project)
    reference = _json(project)
    outside = tmp_path / "outside"
    outside.mkdir()
    for kind in ("facts", "results"):
        for directory in (project / CACHE_DIR).glob(f"*/{kind}"):
            shutil.rmtree(directory)
            directory.symlink_to(outside, target_is_directory=True)
    assert _json(project) == reference
    assert list(outside.iterdir()) == []


def test_a_file_name_that_is_not_utf8_is_cached(tmp_path: Path) -> None:
    name = os.fsdecode(b"train_\xff.py")
    (tmp_path / name).write_text((FIXTURES / "demo" / "train_binary.py").read_text())
    command = [str(COMMAND), "check", "."]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=120)
    assert done.returncode == 1 and rb"train_\xff.py:" in done.stdout, (
        done.stderr
    )  # the name is escaped
    assert any((tmp_path / CACHE_DIR).rglob("manifest.json"))
    again = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=120)
    assert again.returncode == 1 and again.stdout == done.stdout, again.stderr


# -- the codec -----------------------------------------------------------------------------------


def _indexed(path: Path) -> ModuleIndex:
    loaded = load(path, str(path))
    assert isinstance(loaded, ParsedModule)
    return index_module(loaded.tree, loaded.source, loaded.path, loaded.module)


@pytest.mark.parametrize(
    "path", sorted((FIXTURES / "rules").glob("LL*.py")), ids=lambda p: str(p.name)
)
def test_facts_survive_the_codec_and_their_nodes_come_back(path: Path) -> None:
    facts = _indexed(path)
    document = json.loads(json.dumps(codec.encode(facts)))
    source = codec.Source(str(path), __import__("hashlib").sha256(path.read_bytes()).hexdigest())
    back = codec.decode(document, source)
    assert back == facts  # every field but the syntax, which is compared below
    for before, after in zip(
        [*facts.functions, *facts.classes, *facts.objectives, *facts.api_uses],
        [*back.functions, *back.classes, *back.objectives, *back.api_uses],
        strict=True,
    ):
        if before.node is None:
            assert after.node is None
            continue
        assert type(after.node) is type(before.node)
        assert codec._position(after.node) == codec._position(before.node)
        # A lambda read as a function (LL201's) comes back with the name it was assigned to.
        assert getattr(after.node, "name", None) == getattr(before.node, "name", None)
    assert back.lines == facts.lines
    assert back.tree.body[0].lineno == facts.tree.body[0].lineno


_CHUNKY = (
    '"""Docstring."""\r\nimport math\r\nA = 1; B = 2\n\n'
    "@decorator(\n    1)\ndef f(x):\n    return math.log(x)\n\x0c\n"
    "class C:\n    def m(self, y_true, y_pred):\n        return y_pred\r"
    "if A:\n    EPS = 1e-7\n"
    "def g(): return (\n  1)\n"
)


@pytest.mark.parametrize("first", ["node", "tree", "plain"])
def test_a_node_comes_back_from_its_chunk_as_from_the_whole_file(
    tmp_path: Path, first: str
) -> None:
    """Nodes are re-parsed from the top-level statements that hold them, at the file's own
    positions (CR LF, lone CR, form feed, a decorator over two lines, ``;``), and are the very
    objects of the whole tree however they were reached first."""
    path = tmp_path / "chunky.py"
    path.write_bytes(_CHUNKY.encode())
    facts = _indexed(path)
    assert facts.chunks == (1, 2, 3, 5, 10, 13, 15)
    document = json.loads(json.dumps(codec.encode(facts)))
    digest = __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    back = codec.decode(document, codec.Source(str(path), digest))
    if first == "plain":
        assert [type(s).__name__ for s in codec.plain_statements(back)] == [
            "Expr", "Import", "Assign", "Assign", "If",
        ]  # fmt: skip
    nodes = [function.node for function in back.functions]
    if first == "tree":
        assert back.tree is not None
    assert [codec._position(n) for n in nodes] == [codec._position(f.node) for f in facts.functions]
    whole = back.tree
    walked = {id(n) for n in __import__("ast").walk(whole)}
    assert all(id(n) in walked for n in nodes)
    assert __import__("ast").dump(whole) == __import__("ast").dump(facts.tree)


def _long_class() -> str:
    filler = "".join(f"    def m{i}(self):\n        return {i}\n\n" for i in range(20))
    return (
        "import math\n\n\nclass Loss(  # a header over two lines\n    object):\n"
        '    """Docs.\n\n    def fake(y_true, y_pred):\n        return 0\n    """\n\n'
        "    @staticmethod\n    @decorator(\n        1)\n"
        "    def call(y_true, y_pred):\r\n        return math.log(y_pred)\n"
        "# a comment at the first column\n"
        "    class Inner:\n        x = (1,\n    2)\n"
        f"{filler}"
        "    def last(self, y_pred):\n        return -y_pred\n"
        "A = 1\n"
    )


@pytest.mark.parametrize("then", ["class", "tree"])
def test_a_method_of_a_long_class_is_parsed_alone_and_joins_its_class_later(
    tmp_path: Path, then: str
) -> None:
    """A node in a method of a long class comes back from that method parsed alone (a
    docstring that looks like a member, decorators over two lines, a comment at the first
    column, a line break of each kind), at the file's own positions; the class parsed later
    holds that very method object."""
    import ast

    path = tmp_path / "losses.py"
    path.write_bytes(_long_class().encode())
    facts = _indexed(path)
    (members,) = facts.members
    assert members[:2] == (4, len(_long_class().splitlines()) - 1)  # the class's lines
    assert members[2:6] == (6, 12, 18, 21)  # the docstring, call, Inner, m0
    document = json.loads(json.dumps(codec.encode(facts)))
    digest = __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    source = codec.Source(str(path), digest)
    back = codec.decode(document, source)
    functions = {f.qualname.rpartition(".")[2]: f for f in facts.functions}
    again = {f.qualname.rpartition(".")[2]: f for f in back.functions}
    call = again["call"].node
    assert codec._position(call) == codec._position(functions["call"].node)
    assert ast.dump(call) == ast.dump(functions["call"].node)
    assert codec._position(again["last"].node) == codec._position(functions["last"].node)
    assert not source._parts and source._tree is None  # no whole class was parsed
    # A long class's extent (what the early cutoff digests) is known without parsing it.
    numbers = range(len(facts.chunks))
    extents = source.extents(numbers)
    assert not source._parts.get(facts.chunks.index(4))
    plain = codec.Source(str(path), digest)
    codec.decode(document, plain)
    plain.set_members(())
    assert extents == plain.extents(numbers)
    if then == "class":
        cls = next(c for c in back.classes if c.qualname.endswith(".Loss"))
        body = cls.node.body
    else:
        body = next(s for s in back.tree.body if isinstance(s, ast.ClassDef)).body
        assert ast.dump(back.tree) == ast.dump(facts.tree)
    assert any(item is call for item in body)
    assert any(item is again["last"].node for item in body)


def test_a_member_that_does_not_parse_alone_is_found_in_its_class(tmp_path: Path) -> None:
    """Member lines that are wrong (a start inside a docstring) cost a parse of the class, not
    a wrong node."""
    path = tmp_path / "losses.py"
    path.write_bytes(_long_class().encode())
    facts = _indexed(path)
    (members,) = facts.members
    document = json.loads(json.dumps(codec.encode(facts)))
    digest = __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    source = codec.Source(str(path), digest)
    back = codec.decode(document, source)
    source.set_members(((*members[:2], 6, 8, *members[3:]),))  # line 8 is in the docstring
    functions = {f.qualname.rpartition(".")[2]: f for f in facts.functions}
    again = {f.qualname.rpartition(".")[2]: f for f in back.functions}
    assert codec._position(again["call"].node) == codec._position(functions["call"].node)
    cls = next(c for c in back.classes if c.qualname.endswith(".Loss"))
    docstring = cls.node.body[0]
    assert codec._position(docstring) == (
        "Expr", 6, 4, 10, 7,
    )  # fmt: skip


def test_the_codec_refuses_what_it_did_not_write() -> None:
    span = {"@": "Span", "f": [1, 1, 1, 2]}
    for document in (
        [1, {"@": "Nope", "f": []}],
        {"@": "Span", "f": [1]},
        {"@": "Span", "f": "1112"},
        {"@": 5, "f": []},
        {"@": "Span", "f": [1, 1, 1, 2], "g": 1},
        {"@": "Const", "f": [1, {"@": "Span", "f": [1, 1]}]},
        {"@": "FunctionDef", "f": [1]},  # a class with a syntax field
        {"@": "Const", "f": [{"@syntax": "tree"}, span]},  # a locator outside a module's facts
        {"x": 1},
    ):
        with pytest.raises(codec.DecodeError):
            codec.decode(document)


# -- a bug in losslint costs one file, not the run ---------------------------------------------


def test_an_indexing_failure_becomes_ll000_and_other_files_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "demo", project)
    config = Config(root=project)
    reference = pipeline.run([project], config, jobs=1, use_cache=False).diagnostics
    victim = sorted({d.path for d in reference})[0]
    real = index_module

    def failing(tree: Any, source: str, path: str, module: str) -> ModuleIndex:
        if path == victim:
            raise KeyError("planted")
        return real(tree, source, path, module)

    monkeypatch.setattr("losslint.index.module.index_module", failing)
    result = pipeline.run([project], config, jobs=1, use_cache=False)
    internal = [d for d in result.diagnostics if d.name == "internal-error"]
    assert [(d.code, d.path) for d in internal] == [("LL000", victim)]
    assert "KeyError: 'planted'" in internal[0].message and "--verbose" in internal[0].message
    others = [d for d in reference if d.path != victim]
    assert others and all(d in result.diagnostics for d in others)
    assert len(result.internal_errors) == 1 and "Traceback" in result.internal_errors[0]


def test_a_rule_failure_names_the_rule_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from losslint.rules import registry

    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "demo", project)
    config = Config(root=project)
    reference = pipeline.run([project], config, jobs=1, use_cache=False).diagnostics
    rules = registry.all_rules()
    broken = next(r for r in rules if r.code == "LL106")

    def check(context: registry.RuleContext) -> Any:
        for compiled in context.compiles:
            raise ValueError(f"planted in {compiled.path}")
        yield from ()

    monkeypatch.setattr(
        registry,
        "all_rules",
        lambda: tuple(
            dataclasses.replace(broken, check=check) if r is broken else r for r in rules
        ),
    )
    result = pipeline.run([project], config, jobs=1, use_cache=False)
    internal = [d for d in result.diagnostics if d.name == "internal-error"]
    assert len(internal) == 1 and "rule LL106" in internal[0].message
    assert f"planted in {internal[0].path}" in internal[0].message
    assert [d for d in result.diagnostics if d.code != "LL000"] == [
        d for d in reference if d.code != "LL106"
    ]


def test_internal_errors_exit_by_the_findings_unless_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from losslint.cli import cli

    (tmp_path / "train.py").write_text((FIXTURES / "demo" / "train_binary.py").read_text())
    monkeypatch.chdir(tmp_path)

    def failing(*args: Any) -> ModuleIndex:
        raise KeyError("planted")

    monkeypatch.setattr("losslint.index.module.index_module", failing)
    runner = CliRunner()
    plain = runner.invoke(cli, ["check", ".", "--no-cache", "--fail-on", "never"])
    assert plain.exit_code == 0, plain.output
    assert "train.py:1:1: LL000" in plain.output
    verbose = runner.invoke(cli, ["check", ".", "--no-cache", "--verbose", "--strict-internal"])
    assert verbose.exit_code == 2
    assert "Traceback" in verbose.output and "KeyError: 'planted'" in verbose.output


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_losslint_leaves_no_worker_running(tmp_path: Path, number: int) -> None:
    tree = Path(keras_spec.origin).parent if (keras_spec := find_spec("keras")) else None
    if tree is None or keras_spec is None or keras_spec.origin is None:
        pytest.skip("needs a tree big enough to keep two workers busy (Keras's sources)")
    process = subprocess.Popen(
        [str(COMMAND), "check", str(tree), "--jobs", "2", "--no-cache", "-q"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while len(workers) < 2 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
            workers = _children(process.pid)
        assert len(workers) == 2, "the workers never started"
        process.send_signal(number)
        assert process.wait(timeout=30) != 0
        deadline = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(w) for w in workers)
    finally:
        if process.poll() is None:
            process.kill()


def test_facts_count_as_the_same_only_when_their_lines_moved_in_order(tmp_path: Path) -> None:
    """The cutoff's comparison: lines inserted above keep the facts the same; a function moved
    below another that stays on its line (a comment added above makes up for the line the move
    took away) changes their order, and the last binding of a name may be another one."""
    module = tmp_path / "mod.py"

    def facts(text: str) -> Any:
        module.write_text("import keras\n" + text)
        return codec.encode(_indexed(module))

    first = "def a(x):\n    return x\n"
    second = "LOSS = 'mse'\n"
    third = "def b(x):\n    return x + 1\n"
    before = facts(first + second + third)
    assert cutoff.same_facts(before, facts("# moved\n\n" + first + second + third))
    assert not cutoff.same_facts(before, facts("# a\n# b\n" + second + first + third))
    assert not cutoff.same_facts(before, facts(second + third + first))
