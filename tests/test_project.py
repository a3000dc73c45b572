"""Which modules form a project: identity by package root, and named files seen in context."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from losslint import pipeline
from losslint.config import Config
from tests.helpers import FIXTURES
from tests.test_cli import run

SOFTMAX_MODEL = """\
import keras


def build_model():
    inputs = keras.Input(shape=(8,))
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
"""
LINEAR_MODEL = SOFTMAX_MODEL.replace(', activation="softmax"', "")
TRAIN = """\
import keras
from model import build_model

model = build_model()
model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(from_logits={logits}))
"""


def _json(cwd: Path, *args: str) -> list[dict[str, Any]]:
    done = run("check", *args, "--format", "json", cwd=cwd)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _codes(found: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(d["path"], d["code"]) for d in found}


def test_sub_projects_sharing_module_names_stay_distinct(tmp_path: Path) -> None:
    """a/ and b/ both have model.py and train.py; each train.py must see its own model."""
    for name, model, logits in (("a", SOFTMAX_MODEL, True), ("b", LINEAR_MODEL, True)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.py").write_text(model)
        (tmp_path / name / "train.py").write_text(TRAIN.format(logits=logits))
    expected = {("a/train.py", "LL107")}
    assert _codes(_json(tmp_path, ".", "--no-cache")) == expected
    assert _codes(_json(tmp_path, ".", "--jobs", "2")) == expected
    assert _codes(_json(tmp_path / "a", ".", "--no-cache")) == {("train.py", "LL107")}
    assert _codes(_json(tmp_path / "b", ".", "--no-cache")) == set()


RATIO_LOSS = """\
import keras
from keras import ops
from utils import EPS


def ratio_loss(y_true, y_pred):
    return ops.sum(y_true) / (ops.sum(y_pred, axis=-1) - ops.sum(y_true, axis=-1) + EPS)


model = keras.Sequential([keras.layers.Dense(1)])
model.compile(optimizer="adam", loss=ratio_loss)
"""


def test_each_sub_project_sees_its_own_skipped_helper_module(tmp_path: Path) -> None:
    """utils.py mentions no loss (the pre-filter skips it) and exists in both sub-projects;
    each train.py must take EPS from its own: a's guards the division, b's does not."""
    for name, eps in (("a", "1e-7"), ("b", "0.0")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "train.py").write_text(RATIO_LOSS)
        (tmp_path / name / "utils.py").write_text(f"EPS = {eps}\n")
    expected = {("b/train.py", "LL304")}
    assert _codes(_json(tmp_path, ".", "--no-cache")) == expected
    assert _codes(_json(tmp_path, ".", "--jobs", "2")) == expected
    assert _codes(_json(tmp_path, ".", "--jobs", "1")) == expected  # warm
    assert _codes(_json(tmp_path / "a", ".", "--no-cache")) == set()
    assert _codes(_json(tmp_path / "b", ".", "--no-cache")) == {("train.py", "LL304")}


def test_a_script_with_dots_in_its_name_sees_the_modules_beside_it(tmp_path: Path) -> None:
    """Chapters of a book each have model.py and a script named like ``train-13.5.1.py``: a dot
    in the file's own name is not a package, so the script is joined with its own chapter's
    model.py (before, its root was taken two directories up, away from its chapter)."""
    for name, model in (("ch12", SOFTMAX_MODEL), ("ch13", LINEAR_MODEL)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.py").write_text(model)
        (tmp_path / name / "train-13.5.1.py").write_text(TRAIN.format(logits=True))
    expected = {("ch12/train-13.5.1.py", "LL107")}
    assert _codes(_json(tmp_path, ".", "--no-cache")) == expected
    assert _codes(_json(tmp_path / "ch12", ".", "--no-cache")) == {("train-13.5.1.py", "LL107")}


def _tree(target: Path, number: int) -> None:
    """A copy of a project with contents of its own (a comment), as vendored copies differ."""
    for source in (FIXTURES / "rules" / "cross_module", FIXTURES / "demo"):
        shutil.copytree(source, target / source.name)
    for file in target.rglob("*.py"):
        file.write_text(file.read_text() + f"\n# copy {number}\n")


def _strip(found: list[dict[str, Any]], prefix: str) -> list[str]:
    out = []
    for d in found:
        if d["path"].startswith(prefix):
            out.append(json.dumps({**d, "path": d["path"][len(prefix) :]}, sort_keys=True))
    return sorted(out)


def test_a_tree_gives_the_same_findings_alone_and_beside_copies_of_itself(
    tmp_path: Path,
) -> None:
    copies = 3
    for number in range(copies):
        _tree(tmp_path / f"copy{number}", number)
    together = {
        "no cache, 1 job": _json(tmp_path, ".", "--no-cache", "--jobs", "1"),
        "cold cache, 2 jobs": _json(tmp_path, ".", "--jobs", "2"),
        "warm cache, 1 job": _json(tmp_path, ".", "--jobs", "1"),
    }
    for number in range(copies):
        alone = _json(tmp_path / f"copy{number}", ".", "--no-cache")
        assert alone and {d["code"] for d in alone} >= {"LL102", "LL103"}
        for how, found in together.items():
            assert _strip(found, f"copy{number}/") == _strip(alone, ""), (number, how)


def test_an_edit_in_one_sub_project_checks_that_one_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Findings are cached per sub-project too: after an edit in copy1, copy0 and copy2 are
    replayed, and the whole is what a run without the cache reports."""
    for number in range(3):
        _tree(tmp_path / f"copy{number}", number)
    monkeypatch.chdir(tmp_path)
    config = Config(root=tmp_path)
    pipeline.run([Path(".")], config, jobs=1)  # cold: fills the cache
    edited = tmp_path / "copy1" / "demo" / "train_binary.py"
    edited.write_text(edited.read_text().replace("binary_crossentropy", "binary_crossentropyy"))
    checks: list[int] = []
    real = pipeline._check
    monkeypatch.setattr(pipeline, "_check", lambda *a: checks.append(1) or real(*a))
    warm = pipeline.run([Path(".")], config, jobs=1)
    assert len(checks) == 1 and warm.checked == 1
    fresh = pipeline.run([Path(".")], config, jobs=1, use_cache=False)
    assert warm.diagnostics == fresh.diagnostics
    assert any(d.code == "LL106" and d.path.startswith("copy1/") for d in warm.diagnostics)


def test_a_checked_sub_project_is_freed_before_the_next_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory grows with the largest sub-project, not with the tree: when the second group's
    rules run, nothing keeps the first group's project index (and its facts) alive."""
    import gc
    import weakref

    from losslint.index.project import ProjectIndex

    for number in range(2):
        _tree(tmp_path / f"copy{number}", number)
    monkeypatch.chdir(tmp_path)
    projects: list[weakref.ref[ProjectIndex]] = []
    alive: list[int] = []
    real = ProjectIndex.__init__

    def init(self: ProjectIndex, *args: Any) -> None:
        gc.collect()
        alive.append(sum(p() is not None for p in projects))
        real(self, *args)
        projects.append(weakref.ref(self))

    monkeypatch.setattr(ProjectIndex, "__init__", init)
    result = pipeline.run([Path(".")], Config(root=tmp_path), jobs=1, use_cache=False)
    assert {d.path.split("/")[0] for d in result.diagnostics} == {"copy0", "copy1"}
    assert len(alive) >= 2 and max(alive) == 0, alive


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_a_named_file_is_checked_with_the_facts_of_its_project(tmp_path: Path) -> None:
    """train.py alone, as pre-commit names it: the softmax output is built in model.py."""
    _git("init", "-q", cwd=tmp_path)
    (tmp_path / "model.py").write_text(SOFTMAX_MODEL)
    (tmp_path / "train.py").write_text(TRAIN.format(logits=True))
    (tmp_path / "other.py").write_text(TRAIN.format(logits=True))
    for cache in ("--no-cache", "--jobs=1"):
        found = _json(tmp_path, "train.py", cache)
        assert _codes(found) == {("train.py", "LL107")}, cache
        assert _codes(_json(tmp_path, "model.py", cache)) == set()
    assert _codes(_json(tmp_path, "train.py", "other.py")) == {
        ("train.py", "LL107"),
        ("other.py", "LL107"),
    }


STANDALONE = "from keras.models import Sequential\nfrom keras.layers import Dense"
TF_KERAS = STANDALONE.replace("from keras", "from tensorflow.keras")
MULTI_LABEL = """\
{imports}

model = Sequential([Dense(17, activation="sigmoid", input_shape=(8,))])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
"""


@pytest.mark.parametrize(
    ("requirement", "imports", "reported"),
    [
        # Standalone Keras 2 maps "accuracy" to binary accuracy for a binary crossentropy loss.
        ("keras==2.2.4", STANDALONE, False),
        # tf.keras and Keras 3 go by the output's shape: categorical accuracy on 17 sigmoids.
        ("tensorflow==2.12", TF_KERAS, True),
        ("keras>=3", STANDALONE, True),
    ],
)
def test_accuracy_on_multi_label_sigmoids_follows_the_keras_that_runs_it(
    tmp_path: Path, requirement: str, imports: str, reported: bool
) -> None:
    (tmp_path / "requirements.txt").write_text(requirement + "\n")
    (tmp_path / "train.py").write_text(MULTI_LABEL.format(imports=imports))
    found = _codes(_json(tmp_path, ".", "--no-cache"))
    assert (("train.py", "LL110") in found) is reported


def test_one_loss_wrong_on_two_outputs_is_one_finding_naming_both(tmp_path: Path) -> None:
    # ``loss="binary_crossentropy"`` given to both tanh heads of a two-output model: one
    # defect, written once; the message names each output, with its verb agreeing.
    (tmp_path / "train.py").write_text(
        "import keras\n\n"
        "inputs = keras.Input((10, 32, 32, 1))\n"
        "first = keras.layers.ConvLSTM2D(1, 3, padding='same')(inputs)\n"
        "second = keras.layers.ConvLSTM2D(1, 3, padding='same')(inputs)\n"
        "model = keras.Model(inputs, [first, second])\n"
        "model.compile(optimizer='adam', loss='binary_crossentropy')\n"
        "model.fit(x, [y, y])\n"
    )
    found = [d for d in _json(tmp_path, ".", "--no-cache") if d["code"] == "LL107"]
    assert len(found) == 1, found
    assert "but outputs #1 and #2 have a tanh activation" in found[0]["message"]
