"""The joint loss of issue 13 and its variants, as their authors write them: what losslint
reports (statically and with ``--runtime``) against what Keras logs after one real step of
``fit`` on the same fixture. RT106 must fire exactly where the logged ``loss`` is not the
weighted sum of the logged metrics with the weights losslint used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from losslint import pipeline
from losslint.runtime.plan import Probe, build_plan
from tests.helpers import FIXTURES, expected_markers, reported
from tests.test_runtime import RUNTIME, SETTINGS, run_runtime
from tests.test_runtime_plan import _project

pytestmark = RUNTIME

JOINT = sorted((FIXTURES / "runtime").glob("joint_*.py"))
# The Keras 2 spelling: it cannot fit on Keras 3 until fixed.
KERAS2 = FIXTURES / "runtime" / "keras2_joint.py"
COMMAND = Path(sys.executable).with_name("losslint")

# One child process fits one step of every fixture's model on the same seeded batch.
_FIT = """
import importlib.util, json, sys
import numpy as np
import keras
keras.utils.set_random_seed(0)
x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
y = np.random.default_rng(1).normal(size=(8, 4)).astype("float32")
logs = {}
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location(path.rsplit("/", 1)[-1][:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build_model()
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    logs[path] = {k: float(v[0]) for k, v in history.history.items()}
print(json.dumps(logs))
"""


@pytest.fixture(scope="module")
def logged() -> dict[str, dict[str, float]]:
    done = subprocess.run(
        [sys.executable, "-c", _FIT, *map(str, JOINT)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"KERAS_BACKEND": "tensorflow", "CUDA_VISIBLE_DEVICES": "", "PATH": ""},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {Path(k).name: v for k, v in json.loads(done.stdout.splitlines()[-1]).items()}


@pytest.fixture(scope="module")
def reports() -> pipeline.Result:
    return run_runtime(*JOINT, KERAS2)


@pytest.fixture(scope="module")
def probes() -> dict[str, Probe]:
    plan = build_plan(_project(*JOINT), SETTINGS)
    return {Path(p.path).name: p for p in plan.probes if p.label == "joint_loss"}


def test_expected_findings(reports: pipeline.Result) -> None:
    expected: set[tuple[str, int, str]] = set()
    for file in [*JOINT, KERAS2]:
        expected |= {m for m in expected_markers(file) if m[2].startswith(("RT", "LL5"))}
    actual = {r for r in reported(reports.diagnostics) if r[2].startswith(("RT", "LL5"))}
    assert expected == actual


@pytest.mark.parametrize("name", [p.name for p in JOINT])
def test_rt106_iff_the_training_log_does_not_add_up(
    name: str,
    logged: dict[str, dict[str, float]],
    probes: dict[str, Probe],
    reports: pipeline.Result,
) -> None:
    log = logged[name]
    components = probes[name].components
    assert components and all(c.as_metric for c in components)
    total = sum(c.weight * log[c.metric_label.strip("'")] for c in components)
    adds_up = log["loss"] == pytest.approx(total, rel=1e-4)
    rt106 = [d for d in reports.diagnostics if Path(d.path).name == name and d.code == "RT106"]
    assert adds_up == (not rt106), (log, [(c.metric_label, c.weight) for c in components])
    if rt106:
        # The message gives both numbers and the weights it used.
        weights = " + ".join(
            c.metric_label if c.weight == 1 else f"{c.weight:g}*{c.metric_label}"
            for c in components
        )
        assert f" but {weights} = " in rt106[0].message


def test_only_the_differing_metric_is_named(
    reports: pipeline.Result, logged: dict[str, dict[str, float]]
) -> None:
    by_name = {Path(d.path).name: d.message for d in reports.diagnostics if d.code == "RT106"}
    wrong = by_name["joint_wrong_metric.py"]
    assert "the tracked metric mae_loss = " in wrong and "is not the term mae_loss = " in wrong
    assert "the tracked metric mse_loss" not in wrong
    # In the log too, the wrongly tracked mae_loss shows the squared error.
    log = logged["joint_wrong_metric.py"]
    assert log["mae_loss"] == pytest.approx(log["mse_loss"])
    for name in ("joint_wrong_weight.py", "joint_unused_term.py"):
        assert "the weight lambda_mse multiplies mae_loss, not mse_loss" in by_name[name]


def test_keras_calls_are_compared_with_the_users_metrics(probes: dict[str, Probe]) -> None:
    components = probes["joint_keras_calls.py"].components
    assert [(c.label, c.metric_label, c.weight) for c in components] == [
        ("mae", "mae_loss", 1.0),
        ("mse", "mse_loss", 10.0),
    ]


def test_keras2_spelling_points_at_ll402_and_runs_fixed(
    reports: pipeline.Result, tmp_path: Path
) -> None:
    raised = [
        d.message
        for d in reports.diagnostics
        if Path(d.path).name == KERAS2.name and d.code == "RT101"
    ]
    assert len(raised) == 3  # the loss and the two metric functions
    for message in raised:
        assert "AttributeError: module 'keras.backend' has no attribute" in message
        assert "Keras 2 API that Keras 3 removed (LL402, line " in message
        assert "losslint check --runtime --fix" in message
    # As the safe fixes leave it, the loss runs and its decomposition is checked.
    copy = tmp_path / "keras2_joint.py"
    copy.write_text(KERAS2.read_text())
    done = subprocess.run(
        [str(COMMAND), "check", ".", "--runtime", "--fix", "--format", "json", "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    found = {d["code"]: d["message"] for d in json.loads(done.stdout)}
    assert "RT101" not in found and "LL402" not in found, found
    assert "the weight lambda_mse multiplies mae_loss, not mse_loss" in found["RT106"]
    assert "K.mean(" not in copy.read_text()
