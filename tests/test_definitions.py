"""LL4xx details the fixtures do not show: the Keras target, flavours, the catalogue."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, check

COMMAND = Path(sys.executable).with_name("losslint")


def test_target_keras_2_switches_ll402_off() -> None:
    fixture = FIXTURES / "rules" / "LL402.py"
    assert any(d.code == "LL402" for d in check(fixture))
    assert not any(d.code == "LL402" for d in check(fixture, target_keras=2))


def test_code_written_for_tf_keras_is_not_judged_by_keras_3(tmp_path: Path) -> None:
    source = tmp_path / "legacy.py"
    source.write_text(
        "import tf_keras as keras\n"
        "from tf_keras import backend as K\n\n"
        "def mae_loss(y_true, y_pred):\n"
        "    return K.mean(K.abs(y_true - y_pred), axis=-1)\n\n"
        "loss = keras.losses.MeanAbsoluteError(reduction='auto')\n"
    )
    assert [d for d in check(source) if d.code == "LL402"] == []


def test_tf_keras_own_sources_are_keras_2(tmp_path: Path) -> None:
    """The tf_keras package itself (its sources and tests) is Keras 2: its tf.keras references
    are not Keras 3 removals, while the same module outside the package is judged by Keras 3."""
    body = (
        "import tensorflow as tf\n\n"
        "def mean_error(y_true, y_pred):\n"
        "    return tf.keras.backend.mean(tf.abs(y_true - y_pred), axis=-1)\n"
    )
    (tmp_path / "tf_keras").mkdir()
    (tmp_path / "tf_keras" / "__init__.py").write_text("")
    (tmp_path / "tf_keras" / "utils.py").write_text(body)
    (tmp_path / "utils.py").write_text(body)
    flagged = {Path(d.path).parent.name for d in check(tmp_path) if d.code == "LL402"}
    assert flagged == {tmp_path.name}


def test_the_tf_keras_shim_is_a_warning_and_keras_3_an_error(tmp_path: Path) -> None:
    source = tmp_path / "mixed.py"
    source.write_text(
        "from keras import backend as K3\n"
        "from tensorflow.keras import backend as TFK\n\n"
        "def a_loss(y_true, y_pred):\n"
        "    return K3.mean(y_pred, axis=-1) + TFK.mean(y_pred, axis=-1) + K3.epsilon()\n"
    )
    found = {(d.span.column, str(d.severity)) for d in check(source) if d.code == "LL402"}
    assert found == {(12, "error"), (39, "warning")}


def test_the_catalogue_marks_the_fixable_rules() -> None:
    done = subprocess.run(
        [str(COMMAND), "rules", "--format", "json"], capture_output=True, text=True, timeout=60
    )
    fixable = {r["code"] for r in json.loads(done.stdout) if r["fixable"]}
    assert {"LL201", "LL402", "LL404"} <= fixable
    assert not fixable & {"LL202", "LL203", "LL401", "LL403", "LL405", "LL501", "LL502"}


def test_diff_of_a_clean_tree_is_empty(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text(
        "from keras import ops\n\n\ndef mae_loss(y_true, y_pred):\n"
        "    return ops.mean(ops.abs(y_true - y_pred), axis=-1)\n"
    )
    done = subprocess.run(
        [str(COMMAND), "check", ".", "--diff", "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, "")


def test_a_registered_id_is_a_loss_on_keras_2_and_an_error_on_keras_3(tmp_path: Path) -> None:
    """``loss="Addons>sigmoid_focal_crossentropy"``: tf.keras's get() finds what
    ``register_keras_serializable`` registered; Keras 3 looks strings up among its built-ins
    only, and the advice names the Python object, not the id."""
    source = tmp_path / "train.py"
    source.write_text(
        "import tensorflow as tf\n\n\n"
        '@tf.keras.utils.register_keras_serializable(package="Addons")\n'
        "def sigmoid_focal_crossentropy(y_true, y_pred):\n"
        "    return tf.reduce_mean(tf.abs(y_true - y_pred), axis=-1)\n\n\n"
        '@tf.keras.utils.register_keras_serializable("Losses", "tversky")\n'
        "def tversky_loss(y_true, y_pred):\n"
        "    return tf.reduce_mean(tf.abs(y_true - y_pred), axis=-1)\n\n\n"
        "model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(1)])\n"
        'model.compile(loss="Addons>sigmoid_focal_crossentropy")\n'
        'model.compile(loss="mse", metrics=["Losses>tversky"])\n'
        'model.compile(loss="Addons>tversky")\n'
    )
    on_keras_2 = [d for d in check(source, target_keras=2) if d.code == "LL106"]
    assert [d.span.line for d in on_keras_2] == [17]  # not registered under that id
    on_keras_3 = [d for d in check(source) if d.code == "LL106"]
    assert [d.span.line for d in on_keras_3] == [15, 16, 17]
    assert on_keras_3[0].message.endswith("pass the object itself: sigmoid_focal_crossentropy")
    assert on_keras_3[1].message.endswith("pass the object itself: tversky_loss")


def test_a_name_registered_with_get_custom_objects_is_a_metric_on_keras_2(tmp_path: Path) -> None:
    """``get_custom_objects().update({"dice_score": dice_score})`` (a closure bound to a name):
    Keras 2's get() finds the string; Keras 3's compile never does (checked on 3.15.1, as for a
    registered id or a custom_object_scope), and the advice names the object."""
    source = tmp_path / "train.py"
    source.write_text(
        "import tensorflow as tf\n\n\n"
        "def get_f_score(beta=1):\n"
        "    def score(y_true, y_pred):\n"
        "        return tf.reduce_mean(y_true * y_pred, axis=-1) * beta\n"
        "    return score\n\n\n"
        "f2 = get_f_score(beta=2)\n"
        'tf.keras.utils.get_custom_objects().update({"f2_score": f2})\n'
        "model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(1)])\n"
        'model.compile(loss="mse", metrics=["f2_score", "f3_score"])\n'
    )
    on_keras_2 = [d for d in check(source, target_keras=2) if d.code == "LL106"]
    assert [d.message[:25] for d in on_keras_2] == ["unknown metric 'f3_score'"]
    on_keras_3 = [d for d in check(source) if d.code == "LL106"]
    assert [d.span.column for d in on_keras_3] == [36, 48]
    assert on_keras_3[0].message.endswith("pass the object itself: f2")


def test_a_numpy_version_of_a_loss_in_a_test_is_a_reference(tmp_path: Path) -> None:
    """``weighted_kappa_loss_np`` next to the test of the real loss is what the test compares
    against, called with arrays; the same NumPy loss outside tests is the classic defect."""
    body = (
        "import numpy as np\n\n\n"
        "def weighted_kappa_loss_np(y_true, y_pred):\n"
        "    weight = np.tile(np.arange(3), (3, 1))\n"
        "    return np.log(np.matmul(y_pred, weight).sum() + 1e-6)\n"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "kappa_loss_test.py").write_text(body)
    (tmp_path / "kappa.py").write_text(body)
    found = {(d.path.rpartition("/")[2], d.code) for d in check(tmp_path)}
    assert ("kappa.py", "LL404") in found
    assert ("kappa_loss_test.py", "LL404") not in found


def test_numpy_in_an_eager_training_loop_is_reported_for_its_lost_gradient_only(
    tmp_path: Path,
) -> None:
    """A loss that a custom GradientTape loop calls, where nothing traces it, has values: the
    finding says the gradient is lost (not that fit() traces it), and only where the value goes
    on into the loss. Wrapping the same step in tf.function brings the trace error back, at
    every .numpy() of the file."""
    loop = (FIXTURES / "rules" / "eager_loop" / "train.py").read_text()
    (tmp_path / "train.py").write_text(loop)
    eager = check(tmp_path)
    assert [(d.line, d.code) for d in eager] == [(17, "LL404"), (25, "LL404")]
    assert all("runs eagerly" in d.message for d in eager)
    assert not any("traces the function" in d.message for d in eager)
    (tmp_path / "train.py").write_text(loop.replace("def grad(", "@tf.function\ndef grad("))
    traced = check(tmp_path)
    # Every line with a .numpy(): the shape reads, the labels and the printed accuracy's too
    # (line 37 has two, said once).
    assert [d.line for d in traced] == [17, 24, 25, 26, 30, 37]
    assert all("traces the function" in d.message for d in traced)


def test_swapped_parameters_passed_on_in_order_say_to_swap_the_inner_call_too(
    tmp_path: Path,
) -> None:
    """``def loss(y_pred, y_true)`` that rebalances and then calls a crossentropy with
    ``(y_pred, y_true)``: the inner call is right only while both are swapped, so the advice
    names it too (swapping the parameters alone would break it)."""
    source = tmp_path / "colour.py"
    source.write_text(
        "import keras\n"
        "from keras import backend as K\n\n"
        "def colour_loss(y_pred, y_true):\n"
        "    weights = K.max(y_true, axis=-1, keepdims=True)\n"
        "    return K.categorical_crossentropy(y_pred, y_true * weights)\n\n"
        "def weighted_loss(y_pred, y_true):\n"
        "    weights = K.max(y_true, axis=-1, keepdims=True)\n"
        "    return K.categorical_crossentropy(y_pred, y_true) * weights[:, 0]\n\n"
        "model = keras.Sequential([keras.layers.Dense(3, activation='softmax')])\n"
        "model.compile(optimizer='adam', loss=colour_loss)\n"
        "model.compile(optimizer='adam', loss=weighted_loss)\n"
    )
    found = {d.message.split("(")[0]: d.message for d in check(source) if d.code == "LL401"}
    assert "inside it" not in found["colour_loss"]
    assert found["weighted_loss"].endswith(
        "swap the parameters to (y_true, y_pred), and the arguments of "
        "K.categorical_crossentropy(y_pred, y_true) inside it, which are in the right order "
        "only while both are swapped"
    )


def test_a_package_of_the_project_is_read_as_written_not_as_the_library_name(
    tmp_path: Path,
) -> None:
    """Keras's own sources: ``backend.math.in_top_k(targets, predictions, k)`` in
    ``keras/src/ops/math.py`` is the project's ``keras.src.backend.math``, declared (targets,
    predictions), not the legacy ``keras.backend.in_top_k(predictions, targets, k)`` that the
    same name stands for in a user's code. A helper of the project's declared the other way
    round is still reported."""
    package = tmp_path / "keras"
    for folder in ("", "src", "src/backend", "src/ops", "src/legacy"):
        (package / folder).mkdir(exist_ok=True)
        (package / folder / "__init__.py").write_text("")
    (package / "src/backend/math.py").write_text(
        "def in_top_k(targets, predictions, k):\n    return predictions[targets] > k\n"
    )
    (package / "src/legacy/backend.py").write_text(
        "# the keras 2 backend\n\n"
        "def in_top_k(predictions, targets, k):\n    return predictions[targets] > k\n"
    )
    (package / "backend.py").write_text("from keras.src.legacy.backend import in_top_k\n")
    (package / "src/ops/math.py").write_text(
        "from keras.src import backend\n\n"
        "def in_top_k(targets, predictions, k):\n"
        '    """Whether each target is among the top k predictions (a metric\'s)."""\n'
        "    return backend.math.in_top_k(targets, predictions, k)\n"
    )
    (tmp_path / "ranking.py").write_text(
        "def in_top_k(predictions, targets, k):\n    return predictions[targets] > k\n"
    )
    (tmp_path / "train.py").write_text(
        "from ranking import in_top_k\n\n"
        "def top_loss(y_true, y_pred):\n"
        "    return in_top_k(y_true, y_pred, 5)\n"
    )
    found = [(Path(d.path).name, d.line) for d in check(tmp_path) if d.code == "LL401"]
    assert found == [("train.py", 4)]


def test_every_module_level_tape_loop_of_a_project_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three scripts, each training with a GradientTape loop at its top level and adding a
    NumPy term to the trained loss: each is reported. The loops were once told apart by the
    id of the list made for a module's statements, which a freed list's id can repeat; here
    every module's statements come in one list object, as such a reused id would have it."""
    from losslint.rules import definitions

    shared: list[ast.stmt] = []
    real = definitions.plain_statements

    def one_list(module: object) -> list[ast.stmt]:
        shared[:] = real(module)  # type: ignore[arg-type]
        return shared

    monkeypatch.setattr(definitions, "plain_statements", one_list)
    for number in range(3):
        (tmp_path / f"train_{number}.py").write_text(
            "import numpy as np\n"
            "import tensorflow as tf\n\n"
            "model = tf.keras.Sequential([tf.keras.layers.Dense(4)])\n"
            "optimizer = tf.keras.optimizers.Adam()\n"
            "for x, y in [(np.zeros((2, 4)), np.zeros((2, 4)))]:\n"
            "    with tf.GradientTape() as tape:\n"
            "        out = model(x)\n"
            "        penalty = np.sum(np.abs(out))\n"
            "        loss = tf.reduce_mean(tf.square(out - y)) + penalty\n"
            "    grads = tape.gradient(loss, model.trainable_variables)\n"
            "    optimizer.apply_gradients(zip(grads, model.trainable_variables))\n"
        )
    found = sorted(Path(d.path).name for d in check(tmp_path) if d.code == "LL404")
    assert found == ["train_0.py", "train_1.py", "train_2.py"]
