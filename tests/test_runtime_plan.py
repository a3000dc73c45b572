"""The parent side of the runtime mode, which needs neither Keras nor TensorFlow: what runs on
which inputs (the plan), the weighted sums RT106 compares, configuration and command line.
These run everywhere; the tests that start Keras are in test_runtime.py."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from losslint.analysis.decompose import (
    Scope,
    Term,
    builtin_formulas,
    formula,
    key,
    name_key,
    weight_key,
    weighted_sum,
)
from losslint.config import ConfigError, RuntimeSettings, load_config
from losslint.index.module import index_module
from losslint.index.project import ProjectIndex
from losslint.parse import ParsedModule, load, module_name
from losslint.runtime import RuntimeUnavailable
from losslint.runtime.driver import run_runtime
from losslint.runtime.plan import Probe, build_plan, module_root
from tests.helpers import FIXTURES, ROOT

COMMAND = Path(sys.executable).with_name("losslint")
SETTINGS = RuntimeSettings(timeout=8.0)


def _project(*paths: Path) -> ProjectIndex:
    indexes = []
    for path in paths:
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            loaded = load(file, str(file), module_name(file))
            if isinstance(loaded, ParsedModule):
                indexes.append(index_module(loaded.tree, loaded.source, loaded.path, loaded.module))
    return ProjectIndex(indexes)


@pytest.fixture(scope="module")
def probes() -> dict[str, Probe]:
    plan = build_plan(_project(FIXTURES / "runtime"), SETTINGS)
    return {f"{Path(p.path).name}:{p.label}": p for p in plan.probes}


def test_inputs_follow_the_model_output(probes: dict[str, Probe]) -> None:
    sigmoid = probes["rt103_rt104_numerics.py:unclipped_bce"].spec
    assert (sigmoid.batch, sigmoid.units, sigmoid.labels, sigmoid.domain) == (
        8,
        3,
        "binary",
        "probability",
    )
    assert sigmoid.origin == "model"
    linear = probes["rt103_rt104_numerics.py:logit_bce"].spec
    assert (linear.units, linear.labels, linear.domain) == (2, "real", "real")
    softmax = probes["correct.py:'categorical_crossentropy'"].spec
    assert (softmax.units, softmax.labels, softmax.domain) == (5, "categorical", "simplex")
    sparse = probes["correct.py:'sparse_categorical_crossentropy'"].spec
    assert (sparse.labels, sparse.domain) == ("sparse", "simplex")
    logits = probes["correct.py:CategoricalCrossentropy(from_logits=True)"].spec
    assert (logits.labels, logits.domain) == ("categorical", "real")
    # No model: the configuration's units, probabilities.
    unused = probes["hang.py:hang_loss"].spec
    assert (unused.units, unused.domain, unused.origin) == (4, "probability", "configuration")


def test_how_each_loss_is_built(probes: dict[str, Probe]) -> None:
    factory = probes["rt101_raises.py:make_margin_loss(margin=0.5)"]
    assert factory.target.to_json() == {
        "kind": "call",
        "name": "rt101_raises.make_margin_loss",
        "args": [],
        "kwargs": {"margin": 0.5},
    }
    assert factory.per_sample and factory.module == "rt101_raises"
    defaults = probes["rt101_raises.py:make_broken_loss()"]
    assert defaults.target.kwargs == () and not defaults.per_sample
    assert defaults.span.line == 30  # the closure's def line
    builtin = probes["rt105_batch.py:MeanSquaredError(reduction='sum')"]
    assert builtin.module is None and builtin.span.line == 19
    subclass = probes["rt102_shape.py:ScalarAbsLoss()"]
    assert subclass.span.line == 21  # def call, not the class line
    assert subclass.per_sample


def test_unknown_ids_and_third_party_losses_are_not_run(probes: dict[str, Probe]) -> None:
    assert not any("logcosh" in name for name in probes)


def test_decomposition_of_joint_losses(probes: dict[str, Probe]) -> None:
    joint = probes["rt106_decomposition.py:mae_mse_loss"].components
    assert [(c.label, c.weight, c.as_metric) for c in joint] == [
        ("mean_absolute_error", 1.0, True),
        ("mse", 10.0, True),
    ]
    # Both are tracked: the child compares each metric with the term it stands for.
    assert [c.metric_label for c in joint] == ["'mae'", "'mse'"]
    assert [c.target.name if c.target else None for c in joint] == [
        "keras.losses.mean_absolute_error",
        "rt106_decomposition.mse",
    ]
    swapped = probes["rt106_decomposition.py:bce_dice_loss"].components
    assert swapped[0].note.endswith("(y_pred, y_true), arguments swapped")
    assert [c.as_metric for c in swapped] == [True, False]
    subclass = probes["correct.py:MaeMse(alpha=0.25)"].components
    assert [(c.label, c.weight) for c in subclass] == [
        ("mean_absolute_error", 0.25),
        ("self.mse", 1.0),
    ]
    correct = probes["correct.py:joint_loss"].components
    assert [(c.weight, c.note) for c in correct] == [(1.0, ""), (10.0, "")]  # MSE_WEIGHT


def _terms(source: str) -> list[tuple[float, str, str]] | None:
    tree = ast.parse(source)
    index = index_module(tree, source, "m.py", "m")
    project = ProjectIndex([index])
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "joint")
    terms = weighted_sum(node, ("y_true", "y_pred"), Scope(index, project))
    return None if terms is None else [(t.weight, t.written, t.order) for t in terms]


_PRELUDE = """\
import keras
from keras import ops

W = 4.0


def a(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


def b(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)

"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("return a(y_true, y_pred) - 0.5 * b(y_true, y_pred)", [(1.0, "a"), (-0.5, "b")]),
        ("return (a(y_true, y_pred) + b(y_true, y_pred)) / 2", [(0.5, "a"), (0.5, "b")]),
        ("return ops.add(a(y_true, y_pred), W * b(y_true, y_pred))", [(1.0, "a"), (4.0, "b")]),
        (
            "first = a(y_true, y_pred)\n    w = 2 * W\n    return first + w * b(y_pred, y_true)",
            [(1.0, "first"), (8.0, "b")],  # a term read through a variable is named by it
        ),
        (
            "return keras.losses.mae(y_true, y_pred)"
            " + keras.losses.MeanSquaredError()(y_true, y_pred)",
            [(1.0, "keras.losses.mae"), (1.0, "keras.losses.MeanSquaredError()")],
        ),
    ],
)
def test_weighted_sums(body: str, expected: list[tuple[float, str]]) -> None:
    found = _terms(_PRELUDE + f"def joint(y_true, y_pred):\n    {body}\n")
    assert found is not None
    assert [(w, written) for w, written, _ in found] == expected


@pytest.mark.parametrize(
    "body",
    [
        "return a(y_true, y_pred)",  # one term
        "return a(y_true, y_pred) * b(y_true, y_pred)",  # a product of terms
        "if W > 1:\n        return a(y_true, y_pred)\n"
        "    return a(y_true, y_pred) + b(y_true, y_pred)",  # two returns
    ],
)
def test_not_weighted_sums(body: str) -> None:
    assert _terms(_PRELUDE + f"def joint(y_true, y_pred):\n    {body}\n") is None


def _all_terms(body: str) -> list[Term]:
    source = _PRELUDE + f"def joint(y_true, y_pred):\n    {body}\n"
    tree = ast.parse(source)
    index = index_module(tree, source, "m.py", "m")
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "joint")
    return weighted_sum(node, ("y_true", "y_pred"), Scope(index, ProjectIndex([index]))) or []


def test_inline_terms_and_extras() -> None:
    terms = _all_terms(
        "diff = y_true - y_pred\n"
        "    mse_loss = ops.mean(ops.square(diff))\n"
        "    mae_loss = ops.mean(ops.abs(y_pred - y_true), axis=-1)\n"
        "    penalty = ops.mean(ops.square(y_pred), axis=-1)\n"
        "    return mae_loss + W * mse_loss + 0.01 * penalty + 1.0"
    )
    assert [(t.weight, t.written, t.kind) for t in terms] == [
        (1.0, "mae_loss", "inline"),
        (4.0, "mse_loss", "inline"),
        (0.01, "penalty", "extra"),  # reads y_pred only: not a loss term
        (1.0, "1.0", "extra"),
    ]
    mae, mse = terms[0], terms[1]
    assert mse.weight_name == "W" and mse.source == "ops.mean(ops.square(y_true - y_pred))"
    # The same formula as Keras' built-ins, whatever the axis or the operand order.
    assert "mean_absolute_error" in mae.identities() and "mean_squared_error" in mse.identities()


def test_names_of_terms_and_weights() -> None:
    assert name_key("mse_loss") == name_key("mse") == "mean_squared_error"
    assert name_key("loss") == "" and weight_key("loss") == ""
    assert weight_key("lambda_mse") == weight_key("MSE_WEIGHT") == "mean_squared_error"
    assert weight_key("mse") == ""  # not a weight's name


def test_argument_order_is_recorded() -> None:
    found = _terms(
        _PRELUDE
        + "def joint(y_true, y_pred):\n    return a(y_pred, y_true) + b(y_true, y_pred * 2)\n"
    )
    assert found is not None
    assert [order for _, _, order in found] == ["swapped", "other"]


def test_names_of_one_loss_agree() -> None:
    assert key("mse") == key("MeanSquaredError") == key("keras.losses.mean_squared_error")
    assert key("KLDivergence") == key("kld") == "kl_divergence"
    assert key("mae") != key("mse")


def test_factories_and_classes_with_required_arguments_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "losses.py").write_text(
        "import keras\nfrom keras import ops\n\n\n"
        "def make_margin_loss(margin):\n"
        "    def margin_loss(y_true, y_pred):\n"
        "        return ops.mean(ops.maximum(margin - y_true * y_pred, 0.0), axis=-1)\n\n"
        "    return margin_loss\n\n\n"
        "class ScaledLoss(keras.losses.Loss):\n"
        "    def __init__(self, scale, name='scaled'):\n"
        "        super().__init__(name=name)\n"
        "        self.scale = scale\n\n"
        "    def call(self, y_true, y_pred):\n"
        "        return self.scale * ops.mean(ops.abs(y_true - y_pred), axis=-1)\n"
    )
    plan = build_plan(_project(tmp_path), SETTINGS)
    assert plan.probes == []
    assert sorted(map(str, plan.skipped)) == [
        "ScaledLoss: needs scale",
        "make_margin_loss: needs margin",
    ]


def _planned(
    tmp_path: Path, name: str, source: str
) -> tuple[list[str], list[tuple[str, int, str]]]:
    """The plan for one module: the labels of the losses it runs, and for each it does not
    run why, where and what to do."""
    (tmp_path / name).write_text(source)
    plan = build_plan(_project(tmp_path), SETTINGS)
    skipped = [(str(s), s.span.line, s.advice) for s in plan.skipped]
    return [p.label for p in plan.probes], skipped


def test_a_definition_replaced_further_down_is_not_run(tmp_path: Path) -> None:
    # Only the last ``def`` of a name can be imported; the first is judged statically alone.
    labels, skipped = _planned(
        tmp_path,
        "losses.py",
        "import keras\nfrom keras import ops\n\n\n"
        "def gap_loss(y_true, y_pred):\n"
        "    return ops.mean(ops.abs(y_true - y_pred))\n\n\n"
        "def gap_loss(y_true, y_pred):\n"
        "    return ops.mean(ops.abs(y_true - y_pred), axis=-1)\n",
    )
    assert labels == ["gap_loss"]
    assert skipped == [
        (
            "gap_loss: its module defines the same name again below it, and only the last "
            "definition can be imported",
            5,
            "give it a name of its own",
        )
    ]


def test_a_named_lambda_runs_and_one_written_in_compile_is_said_not_to(tmp_path: Path) -> None:
    labels, skipped = _planned(
        tmp_path,
        "train.py",
        "import keras\nfrom keras import ops\n\n"
        "gap_loss = lambda y_true, y_pred: ops.mean(ops.abs(y_true - y_pred), axis=-1)\n"
        "model = keras.Sequential([keras.layers.Dense(1)])\n"
        "model.compile(loss=gap_loss, metrics=[lambda yt, yp: ops.mean(yp, axis=-1)])\n"
        "model.compile(loss=lambda yt, yp: ops.mean(yp, axis=-1))\n",
    )
    assert labels == ["gap_loss"]
    assert skipped == [
        (
            "the lambda: it is a lambda written in the call that uses it, which no import reaches",
            7,
            "give it a name at module level (my_loss = lambda y_true, y_pred: ...)",
        )
    ]


def test_module_root_for_packages(tmp_path: Path) -> None:
    assert module_root(tmp_path / "pkg" / "sub" / "mod.py", "pkg.sub.mod") == tmp_path
    assert module_root(tmp_path / "pkg" / "__init__.py", "pkg") == tmp_path
    assert module_root(tmp_path / "mod.py", "mod") == tmp_path


# -- configuration and command line ----------------------------------------------------------


def _config(tmp_path: Path, text: str) -> RuntimeSettings:
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    return load_config(path).runtime


def test_runtime_table(tmp_path: Path) -> None:
    settings = _config(
        tmp_path,
        "[tool.losslint.runtime]\nbackend = 'jax'\ndevice = 'cpu'\ntimeout = 5\n"
        "batch-size = 16\nunits = 10\n",
    )
    assert settings == RuntimeSettings("jax", "cpu", 5.0, 16, 10)
    assert _config(tmp_path, "[tool.losslint]\nselect = ['LL']\n") == RuntimeSettings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timeot = 5", "unknown key 'timeot' in [tool.losslint.runtime]"),
        ("backend = 'mxnet'", "'backend' in [tool.losslint.runtime]"),
        ("device = 'tpu'", "'device' in [tool.losslint.runtime]"),
        ("timeout = 0", "'timeout' in [tool.losslint.runtime] | must be a positive number"),
        ("timeout = true", "'timeout' in [tool.losslint.runtime]"),
        ("batch-size = 1", "'batch-size' in [tool.losslint.runtime] | must be an integer"),
        ("units = 2.5", "'units' in [tool.losslint.runtime] | must be an integer"),
    ],
)
def test_bad_runtime_settings_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _config(tmp_path, f"[tool.losslint.runtime]\n{text}\n")
    where, _, what = message.partition(" | ")
    assert where in str(raised.value) and what in str(raised.value)


def _command(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMMAND), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_backend_and_device_need_runtime() -> None:
    done = _command("check", "fixtures/demo", "--backend", "jax")
    assert done.returncode == 2
    assert "--backend and --device apply only with --runtime" in done.stderr


def test_rules_lists_and_explains_the_rt_codes() -> None:
    listed = _command("rules").stdout
    for code in ("RT101", "RT102", "RT103", "RT104", "RT105", "RT106"):
        assert code in listed
    page = _command("explain", "RT104")
    assert page.returncode == 0 and page.stdout.startswith("# RT104 non-finite-gradient\n")


def test_static_runs_are_unchanged_by_the_rt_codes() -> None:
    # RT codes are selected by default but produce nothing without --runtime.
    done = _command("check", "fixtures/runtime/static_too.py", "--format", "json", "--no-cache")
    assert '"source": "runtime"' not in done.stdout
    assert "runtime" not in done.stderr


@pytest.mark.skipif(importlib.util.find_spec("keras") is not None, reason="Keras is installed here")
def test_runtime_without_keras_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeUnavailable, match=r"pip install 'keras-losslint\[runtime\]'"):
        run_runtime(ProjectIndex([]), SETTINGS)
    (tmp_path / "losses.py").write_text("def l1_loss(y_true, y_pred):\n    return y_pred\n")
    done = _command("check", ".", "--runtime", cwd=tmp_path)
    assert done.returncode == 2
    assert "--runtime needs Keras 3 and a backend" in done.stderr


@pytest.mark.parametrize(
    ("source", "builtin"),
    [
        ("K.mean(K.square(y_true - y_pred))", "mean_squared_error"),
        ("tf.reduce_mean(tf.square(y_pred - y_true), axis=-1)", "mean_squared_error"),
        ("K.mean(K.pow(y_true - y_pred, 2))", "mean_squared_error"),
        ("tf.reduce_mean((y_true - y_pred) ** 2)", "mean_squared_error"),
        ("ops.mean(ops.abs(y_true - y_pred), axis=-1)", "mean_absolute_error"),
        ("tf.reduce_mean(tf.abs(y_pred - y_true))", "mean_absolute_error"),
    ],
)
def test_spellings_of_one_formula_agree(source: str, builtin: str) -> None:
    imports = {"K": "keras.backend", "tf": "tensorflow", "ops": "keras.ops"}
    expr = ast.parse(source, mode="eval").body
    assert formula(expr, ("y_true", "y_pred"), imports) == builtin_formulas()[builtin]


def test_a_sum_is_not_a_mean() -> None:
    expr = ast.parse("K.sum(K.square(y_true - y_pred), axis=-1)", mode="eval").body
    found = formula(expr, ("y_true", "y_pred"), {"K": "keras.backend"})
    assert found not in builtin_formulas().values()


def test_bound_methods_run_and_what_cannot_run_is_said(tmp_path: Path) -> None:
    (tmp_path / "losses.py").write_text(
        "from keras import ops\n\n\n"
        "class CustomLoss:\n"
        "    def __init__(self, scale=1.0):\n"
        "        self.scale = scale\n\n"
        "    def loss_function(self, y_true, y_pred):\n"
        "        return self.scale * ops.mean(ops.square(y_true - y_pred), axis=-1)\n\n\n"
        "class NeedsConfig:\n"
        "    def __init__(self, config):\n"
        "        self.config = config\n\n"
        "    def loss(self, y_true, y_pred):\n"
        "        return ops.mean(ops.abs(y_true - y_pred), axis=-1)\n\n\n"
        "def squared(y_true, y_pred):\n"
        "    return ops.mean(ops.square(y_true - y_pred), axis=-1)\n"
    )
    (tmp_path / "train.py").write_text(
        "import keras\nfrom keras import layers\nfrom losses import CustomLoss, NeedsConfig\n\n"
        "inputs = keras.Input((4,))\n"
        "z = layers.Dense(2)(inputs)\n"
        "model = keras.Model(inputs, layers.Dense(1)(z))\n"
        "my_loss = CustomLoss(2.0)\n"
        "model.compile(optimizer='adam', loss=my_loss.loss_function)\n"
        "model.compile(optimizer='adam', loss=NeedsConfig(load()).loss)\n\n\n"
        "def latent_loss(y_true, y_pred):\n"
        "    return keras.ops.mean(keras.ops.square(z), axis=-1)\n\n\n"
        "model.compile(optimizer='adam', loss=latent_loss)\n"
    )
    plan = build_plan(_project(tmp_path), SETTINGS)
    by_label = {p.label: p for p in plan.probes}
    method = by_label["my_loss.loss_function"]
    assert method.target.to_json() == {
        "kind": "call",
        "name": "losses.CustomLoss",
        "args": [2.0],
        "kwargs": {},
        "attribute": "loss_function",
    }
    assert method.per_sample and method.compiled and method.span.line == 8
    assert "squared" in by_label  # a (y_true, y_pred) function, not named like a loss
    assert sorted(map(str, plan.skipped)) == [
        "NeedsConfig.loss: its object's constructor arguments are not constants",
        "latent_loss: it captures the symbolic tensor z of the model (LL406)",
    ]
    assert {(Path(s.path).name, s.span.line) for s in plan.skipped} == {
        ("losses.py", 16),
        ("train.py", 13),
    }


def test_methods_found_by_name_run_only_when_their_object_is_cheap(tmp_path: Path) -> None:
    (tmp_path / "collection.py").write_text(
        "from keras import ops\n\n\n"
        "class Losses:\n"
        "    def __init__(self, smooth=1.0):\n"
        "        self.smooth = smooth\n\n"
        "    def dice_loss(self, y_true, y_pred):\n"
        "        return 1 - ops.mean(y_true * y_pred, axis=-1)\n\n\n"
        "class Trainer:\n"
        "    def __init__(self, path='data.npz'):\n"
        "        self.data = open(path).read()\n\n"
        "    def compute_loss(self, y_true, y_pred):\n"
        "        return ops.mean(ops.square(y_true - y_pred), axis=-1)\n"
    )
    plan = build_plan(_project(tmp_path), SETTINGS)
    assert [p.label for p in plan.probes] == ["Losses.dice_loss"]
    assert not plan.probes[0].compiled
    (skipped,) = plan.skipped
    assert skipped.label == "Trainer.compute_loss" and "__init__ does more" in skipped.why


def test_a_bound_method_joint_loss_is_decomposed_with_its_object() -> None:
    # ``return self.bce_weight * self.bce + self.mse``: terms stored on self in the method.
    plan = build_plan(_project(FIXTURES / "rules" / "bound_method"), SETTINGS)
    probe = next(p for p in plan.probes if p.label == "my_loss.loss_function")
    assert probe.target.attribute == "loss_function"
    assert [(c.weight, c.label) for c in probe.components] == [(1.0, "self.bce"), (1.0, "self.mse")]
    assert [c.target.name for c in probe.components if c.target] == [
        "keras.losses.binary_crossentropy",
        "keras.losses.mean_squared_error",
    ]
    # my_loss.bce_metric reads another object's self.bce: matched by name, never built.
    assert not any(c.as_metric for c in probe.components)
