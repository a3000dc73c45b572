"""Runtime mode end to end: fixtures/runtime imported and run in a Keras child process.

Needs Keras and TensorFlow in the test environment (``pip install -e '.[dev,runtime-cpu]'``);
skipped with the reason otherwise, and a failure in CI (``LOSSLINT_REQUIRE_RUNTIME=1``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from losslint import pipeline
from losslint.config import Config, RuntimeSettings
from tests.helpers import FIXTURES, ROOT, expected_markers, reported

MISSING = [name for name in ("keras", "tensorflow") if importlib.util.find_spec(name) is None]
REASON = (
    f"runtime tests need {' and '.join(MISSING)} in the test environment: "
    "pip install -e '.[dev,runtime-cpu]'"
)
if MISSING and os.environ.get("LOSSLINT_REQUIRE_RUNTIME"):
    # CI sets this: a silently skipped runtime suite must not pass for a green one.
    raise RuntimeError(f"LOSSLINT_REQUIRE_RUNTIME is set but {REASON}")

# For the test modules: ``pytestmark = RUNTIME``.
RUNTIME = [pytest.mark.runtime, pytest.mark.skipif(bool(MISSING), reason=REASON)]

# The fixtures' settings (fixtures/runtime/losslint.toml): a hang costs `timeout` seconds.
SETTINGS = RuntimeSettings(timeout=8.0, batch_size=8, units=4)


def run_runtime(*paths: Path, **config: object) -> pipeline.Result:
    """The pipeline with the runtime stage, in this process (the child does the importing)."""
    result = pipeline.run(
        list(paths),
        Config(root=ROOT, runtime=SETTINGS, **config),  # type: ignore[arg-type]
        jobs=1,
        use_cache=False,
        runtime=True,
    )
    assert not result.internal_errors, result.internal_errors
    return result


pytestmark = RUNTIME

RUNTIME_FIXTURES = FIXTURES / "runtime"
COMMAND = Path(sys.executable).with_name("losslint")
CONFIG = str(RUNTIME_FIXTURES / "losslint.toml")
# Modules the child cannot import or run to the end: their losses are lost, not checked.
LOST = {"hang.py": 1, "exits.py": 1, "exits_unnamed.py": 1, "import_error.py": 1, "crash.py": 2}
# Their static findings must survive.
STATIC_KEPT = ["hang.py", "import_error.py", "static_too.py"]


@pytest.fixture(scope="module")
def fixture_run() -> pipeline.Result:
    """One run over every runtime fixture (one child, plus fresh ones after each crash)."""
    return run_runtime(RUNTIME_FIXTURES)


def _markers(prefix: str, *names: str) -> set[tuple[str, int, str]]:
    files = [RUNTIME_FIXTURES / n for n in names] or sorted(RUNTIME_FIXTURES.glob("*.py"))
    found: set[tuple[str, int, str]] = set()
    for file in files:
        found |= {m for m in expected_markers(file) if m[2].startswith(prefix)}
    return found


def test_every_rt_marker_fires_and_nothing_else(fixture_run: pipeline.Result) -> None:
    expected = _markers("RT")
    actual = {r for r in reported(fixture_run.diagnostics) if r[2].startswith("RT")}
    assert {code for _, _, code in expected} == {f"RT10{i}" for i in range(0, 8)}
    missing, unexpected = sorted(expected - actual), sorted(actual - expected)
    assert not missing and not unexpected, f"missing: {missing}\nunexpected: {unexpected}"


def test_correct_losses_give_no_runtime_finding(fixture_run: pipeline.Result) -> None:
    found = [d for d in fixture_run.diagnostics if Path(d.path).name == "correct.py"]
    assert [d for d in found if d.source == "runtime"] == []
    summary = fixture_run.runtime
    assert summary is not None
    # Every planned loss ran to the end except those of the modules that hang, exit or crash.
    assert summary.checked == summary.total - sum(LOST.values())
    assert summary.checked >= 30


def test_bad_modules_do_not_stop_the_run_or_lose_static_findings(
    fixture_run: pipeline.Result,
) -> None:
    diagnostics = fixture_run.diagnostics
    for name, count in LOST.items():
        lost = [d for d in diagnostics if Path(d.path).name == name and d.code == "RT101"]
        assert len(lost) == count, name
    messages = {Path(d.path).name: d.message for d in diagnostics if d.code == "RT101"}
    assert "did not finish within 8 s and was stopped" in messages["hang.py"]
    assert "raised SystemExit: 3 (exits.py:13)" in messages["exits.py"]
    assert "ModuleNotFoundError: No module named" in messages["import_error.py"]
    crashes = [d.message for d in diagnostics if Path(d.path).name == "crash.py"]
    assert any("killed by SIGSEGV" in m for m in crashes), crashes
    assert any("exit code 7" in m for m in crashes), crashes
    # The loss after the two crashes was checked in a fresh process.
    assert any(d.code == "RT105" for d in diagnostics if Path(d.path).name == "crash.py")
    static = _markers("LL", *STATIC_KEPT)
    assert static and static <= reported(diagnostics)


def test_messages_name_backend_and_device(fixture_run: pipeline.Result) -> None:
    # RT100 is a loss that did not run: no backend or device to name.
    runtime = [d for d in fixture_run.diagnostics if d.code.startswith("RT") and d.code != "RT100"]
    assert runtime
    for d in runtime:
        assert d.source == "runtime"
        assert re.search(r"\(tensorflow, (CPU|GPU)\)", d.message), d.message
    summary = fixture_run.runtime
    assert summary is not None and summary.backend == "tensorflow"
    assert summary.startups and summary.probe_seconds


def test_messages_point_at_the_def_line_or_the_loss_argument(
    fixture_run: pipeline.Result,
) -> None:
    by_code = {(Path(d.path).name, d.code, d.line): d for d in fixture_run.diagnostics}
    gradient = by_code[("rt103_rt104_numerics.py", "RT104", 7)]
    assert gradient.message.startswith(
        "gradient of unclipped_bce w.r.t. y_pred is NaN at y_pred=0 (tensorflow, CPU): "
    )
    assert "(static analysis: line 8, LL301)" in gradient.message
    assert (gradient.span.line, gradient.span.column) == (7, 1)
    keras_loss = by_code[("rt105_batch.py", "RT105", 19)]
    assert keras_loss.message.startswith("MeanSquaredError(reduction='sum') doubles")


def test_decomposition_message_gives_both_numbers(fixture_run: pipeline.Result) -> None:
    found = {
        d.line: d.message
        for d in fixture_run.diagnostics
        if d.code == "RT106" and Path(d.path).name == "rt106_decomposition.py"
    }
    numbers = r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?"
    joint = re.match(
        rf"mae_mse_loss = ({numbers}) but 'mae' \+ 10\*'mse' = ({numbers}) ",
        found[12],
    )
    assert joint, found[12]
    assert float(joint.group(1)) != pytest.approx(float(joint.group(2)), rel=1e-3)
    # Only the metric that differs from its term is named, with both values.
    assert re.search(rf"the tracked metric 'mse' = {numbers} is not the term mse = ", found[12])
    assert "'mae' = " in found[12] and "the tracked metric 'mae'" not in found[12]
    assert "binary_crossentropy(y_pred, y_true), arguments swapped" in found[22]


def test_parent_never_imports_keras_or_tensorflow(fixture_run: pipeline.Result) -> None:
    assert fixture_run.runtime is not None
    assert "keras" not in sys.modules
    assert "tensorflow" not in sys.modules


def _command(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMMAND), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_command_json_select_and_progress() -> None:
    files = ["fixtures/runtime/rt105_batch.py", "fixtures/runtime/rt102_shape.py"]
    done = _command("check", *files, "--runtime", "--config", CONFIG, "--format", "json")
    assert done.returncode == 1, done.stderr
    diagnostics = json.loads(done.stdout)
    codes = {d["code"] for d in diagnostics if d["source"] == "runtime"}
    assert codes == {"RT102", "RT105"}
    assert "losslint: runtime [0/" in done.stderr and "starting Keras (tensorflow)" in done.stderr
    assert re.search(
        r"losslint: runtime: \d+ of \d+ losses checked \(tensorflow, CPU\)", done.stderr
    )
    only = _command(
        "check", *files, "--runtime", "--config", CONFIG, "--format", "json", "--select", "RT105"
    )
    assert {d["code"] for d in json.loads(only.stdout)} == {"RT105"}


def test_noqa_and_ignore_apply_to_runtime_codes(tmp_path: Path) -> None:
    (tmp_path / "losses.py").write_text(
        "from keras import ops\n\n\n"
        "def sum_loss(y_true, y_pred):  # noqa: RT105\n"
        "    return ops.sum(ops.square(y_true - y_pred))\n"
    )
    done = _command("check", ".", "--runtime", "--select", "RT", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    ignored = _command("check", ".", "--runtime", "--ignore", "RT", cwd=tmp_path)
    assert "--runtime ran nothing: no RT rule is selected" in ignored.stderr


def test_device_gpu_without_one_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "losses.py").write_text(
        "from keras import ops\n\n\ndef l1_loss(y_true, y_pred):\n"
        "    return ops.mean(ops.abs(y_true - y_pred), axis=-1)\n"
    )
    done = _command("check", ".", "--runtime", "--device", "gpu", cwd=tmp_path)
    if done.returncode == 0 and "(tensorflow, GPU)" in done.stderr:
        pytest.skip("this machine has a GPU")
    assert done.returncode == 2, done.stderr
    assert "--device gpu: the tensorflow backend sees no GPU" in done.stderr
    cpu = _command("check", ".", "--runtime", "--device", "cpu", cwd=tmp_path)
    assert cpu.returncode == 0, cpu.stderr
    assert "(tensorflow, CPU)" in cpu.stderr


SUB_PROJECT_LOSS = """\
import keras
from keras import ops


def custom_loss(y_true, y_pred):
    return {body}
"""
SUB_PROJECT_TRAIN = """\
import keras
from losses import custom_loss

model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
model.compile(optimizer="adam", loss=custom_loss)
"""


def test_sub_projects_sharing_module_names_run_their_own_losses(tmp_path: Path) -> None:
    """a/ and b/ both have losses.py: each child imports the loss of its own sub-project,
    as the static check keeps them apart; only a's raises (Keras 3 has no backend.mean)."""
    bodies = {
        "a": "keras.backend.mean(keras.backend.square(y_true - y_pred), axis=-1)",
        "b": "ops.mean(ops.square(y_true - y_pred), axis=-1)",
    }
    for name, body in bodies.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "losses.py").write_text(SUB_PROJECT_LOSS.format(body=body))
        (tmp_path / name / "train.py").write_text(SUB_PROJECT_TRAIN)
    result = run_runtime(tmp_path / "a", tmp_path / "b")
    found = {(Path(d.path).parent.name, Path(d.path).name, d.code) for d in result.diagnostics}
    assert {f for f in found if f[2].startswith("RT")} == {("a", "losses.py", "RT101")}
    assert result.runtime is not None and result.runtime.checked >= 2
