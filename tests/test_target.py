"""The target Keras read from a project's dependency pins, and what the run says about it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from losslint.index.module import index_module
from losslint.target import Pins, infer_target
from tests.helpers import code_notebook
from tests.test_cli import run


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("requirements.txt", "numpy\nkeras<3\n", 2),
        ("requirements-dev.txt", "tensorflow==2.12.0  # pinned\n", 2),
        ("requirements.txt", "tensorflow-cpu<2.16\n", 2),
        ("requirements.txt", "tf-keras>=2.16\ntensorflow>=2.16\n", 2),
        ("setup.py", "install_requires=['keras==2.15.0', 'numpy']\n", 2),
        ("setup.cfg", "[options]\ninstall_requires =\n    tensorflow~=2.10\n", 2),
        ("environment.yml", "dependencies:\n  - pip:\n    - keras<3.0\n", 2),
        ("pyproject.toml", '[project]\ndependencies = ["keras>=3.0,<4"]\n', 3),
        ("requirements.txt", "tensorflow>=2.16\nkeras-cv<0.5\n", None),
        ("requirements.txt", "tensorflow<2.17\n", None),
        ("requirements.txt", "# keras<3 was the old pin\nkeras>=3\n", 3),
        # A benchmark extra that installs tf-keras does not make a Keras 3 project Keras 2.
        (
            "pyproject.toml",
            '[project]\ndependencies = ["keras>=3"]\n'
            '[project.optional-dependencies]\nbench = ["tf-keras>=2.21,<2.22"]\n',
            3,
        ),
        (
            "pyproject.toml",
            '[project]\ndependencies = ["numpy"]\n'
            '[project.optional-dependencies]\nbench = ["tf-keras>=2.21,<2.22"]\n',
            2,
        ),
        (
            "pyproject.toml",
            '[project.optional-dependencies]\nold = ["keras<3"]\nnew = ["keras>=3"]\n',
            None,
        ),
        ("pyproject.toml", '[tool.poetry.dependencies]\nkeras = "^2.4"\n', 2),
        ("pyproject.toml", '[tool.poetry.dependencies]\ntensorflow = {version = "^2.17"}\n', None),
        ("pyproject.toml", 'dependencies = ["keras<3"\n', 2),
        # tensorflow-gpu stopped at 2.12: any pin of it means tf.keras 2.
        ("pyproject.toml", '[tool.poetry.dependencies]\ntensorflow-gpu = "^2.3.1"\n', 2),
        ("requirements.txt", "tensorflow-gpu>=2.4\n", 2),
        ("requirements.txt", "tensorflow-cpu>=2.4\n", None),
        # A Docker image: TensorFlow's own by its tag, else what it installs.
        ("Dockerfile", "FROM tensorflow/tensorflow:2.0.0rc0-gpu-py3\nWORKDIR /root\n", 2),
        ("Dockerfile.gpu", "FROM --platform=linux/amd64 tensorflow/tensorflow:2.17.0\n", 3),
        ("train.dockerfile", "FROM python:3.9\nRUN pip install tensorflow==2.4.1 pandas\n", 2),
        ("Dockerfile", "FROM tensorflow/tensorflow:latest-gpu\n", None),
        # A conda environment exported under its own name; other YAML files say nothing.
        ("env_mt.yaml", "name: env_mt\ndependencies:\n  - tensorflow=2.2.0=gpu_py38_0\n", 2),
        ("docker-compose.yml", "services:\n  app:\n    image: keras<3\n", None),
    ],
)
def test_target_from_dependency_pins(
    tmp_path: Path, name: str, text: str, expected: int | None
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    found = infer_target(tmp_path)
    assert (found[0] if found else None) == expected
    if found:
        assert name in found[1]


_KERAS2_LOSS = (
    "from keras import backend as K\n\n\n"
    "def my_loss(y_true, y_pred):\n    return K.mean(K.square(y_true - y_pred), axis=-1)\n"
)


def test_a_keras2_pin_switches_ll402_off_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "losses.py").write_text(_KERAS2_LOSS, encoding="utf-8")
    (tmp_path / "requirements.txt").write_text("tensorflow==2.12.0\n", encoding="utf-8")
    done = run("check", ".", "--no-cache", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "LL402" not in done.stdout
    assert "checking for Keras 2 (requirements.txt requires tensorflow==2.12.0)" in done.stderr


def test_without_a_pin_ll402_findings_say_how_to_switch(tmp_path: Path) -> None:
    (tmp_path / "losses.py").write_text(_KERAS2_LOSS, encoding="utf-8")
    done = run("check", ".", "--no-cache", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.count("LL402") == 2
    assert "2 LL402 findings" in done.stderr and "target-keras = 2" in done.stderr


def test_a_configured_target_wins_over_the_pins(tmp_path: Path) -> None:
    (tmp_path / "losses.py").write_text(_KERAS2_LOSS, encoding="utf-8")
    (tmp_path / "requirements.txt").write_text("keras<3\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.losslint]\ntarget-keras = 3\n", encoding="utf-8"
    )
    done = run("check", ".", "--no-cache", cwd=tmp_path)
    assert done.stdout.count("LL402") == 2
    assert "checking for Keras 2" not in done.stderr


_UNREDUCED = (
    "import keras\n\n"
    "model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])\n"
    'model.compile(optimizer="sgd", loss=keras.losses.MeanSquaredError(reduction="none"))\n'
)


@pytest.mark.parametrize(
    ("requirements", "says", "never"),
    [
        ("keras>=3\n", "Keras 3 then trains on the gradient of their sum", "tf.keras"),
        # Measured on tf_keras 2.21: the step is batch-size times the mean's, the log the mean.
        ("tensorflow==2.12.0\n", "tf.keras then trains on the gradient of their sum", "JAX"),
    ],
)
def test_unreduced_compile_loss_speaks_of_the_target(
    tmp_path: Path, requirements: str, says: str, never: str
) -> None:
    (tmp_path / "train.py").write_text(_UNREDUCED, encoding="utf-8")
    (tmp_path / "requirements.txt").write_text(requirements, encoding="utf-8")
    done = run("check", ".", "--no-cache", "--select", "LL203", cwd=tmp_path)
    assert done.stdout.count("LL203") == 1, done.stdout + done.stderr
    assert says in done.stdout and never not in done.stdout


def test_a_folder_is_judged_by_its_own_pins(tmp_path: Path) -> None:
    """A collection of sub-projects (bug datasets, examples, a monorepo): each folder's own
    requirements decide its Keras, and a folder's findings are the same checked alone."""
    for folder in ("old", "new"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "losses.py").write_text(_KERAS2_LOSS, encoding="utf-8")
    (tmp_path / "old" / "requirements.txt").write_text("Keras==2.3.1\n", encoding="utf-8")
    whole = run("check", ".", "--no-cache", cwd=tmp_path)
    assert whole.stdout.count("new/losses.py:5") == 2 and "old/" not in whole.stdout
    assert "for Keras 2 by their own pins (old/requirements.txt requires Keras==2.3.1)" in (
        whole.stderr
    )
    alone = run("check", "old", "--no-cache", cwd=tmp_path)
    assert alone.returncode == 0 and "LL402" not in alone.stdout


def test_a_notebook_runs_on_the_keras_it_installs(tmp_path: Path) -> None:
    """A Colab notebook that installs its Keras (``!pip install Keras==2.2.4``) runs on it,
    whatever its folder pins; one that installs none is judged by the folder."""
    (tmp_path / "requirements.txt").write_text("keras>=3\n", encoding="utf-8")
    (tmp_path / "colab.ipynb").write_text(
        code_notebook(["!pip install h5py==2.8.0\n%pip install Keras==2.2.4", _KERAS2_LOSS]),
        encoding="utf-8",
    )
    (tmp_path / "plain.ipynb").write_text(
        code_notebook(["!pip install keras-tqdm", _KERAS2_LOSS]), encoding="utf-8"
    )
    done = run("check", ".", "--no-cache", cwd=tmp_path)
    assert "plain.ipynb" in done.stdout and "colab.ipynb" not in done.stdout, done.stdout
    assert "colab.ipynb installs Keras==2.2.4" in done.stderr
    # The same from the cache, the installs read once and kept in its manifest: a warm run
    # does not open the notebook, and an edit that drops the install is seen.
    for _ in range(2):
        warm = run("check", ".", cwd=tmp_path)
        assert (warm.stdout, warm.stderr) == (done.stdout, done.stderr)
    (tmp_path / "colab.ipynb").write_text(code_notebook(["import keras", _KERAS2_LOSS]))
    assert "colab.ipynb" in run("check", ".", cwd=tmp_path).stdout


def test_a_configured_target_wins_over_a_folders_pins(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "losses.py").write_text(_KERAS2_LOSS, encoding="utf-8")
    (tmp_path / "old" / "requirements.txt").write_text("keras<3\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.losslint]\ntarget-keras = 3\n", encoding="utf-8"
    )
    done = run("check", ".", "--no-cache", cwd=tmp_path)
    assert done.stdout.count("LL402") == 2 and "own pins" not in done.stderr


def test_a_requirements_folder_pins_the_project(tmp_path: Path) -> None:
    (tmp_path / "losses.py").write_text(_KERAS2_LOSS, encoding="utf-8")
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "base.txt").write_text("tensorflow==2.10.0\n", encoding="utf-8")
    found = infer_target(tmp_path)
    assert found == (2, "requirements/base.txt requires tensorflow==2.10.0")
    assert "LL402" not in run("check", ".", "--no-cache", cwd=tmp_path).stdout


def test_a_changed_folder_pin_is_seen_by_a_warm_run(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "losses.py").write_text(_KERAS2_LOSS, encoding="utf-8")
    pins = tmp_path / "old" / "requirements.txt"
    pins.write_text("keras<3\n", encoding="utf-8")
    assert "LL402" not in run("check", ".", cwd=tmp_path).stdout
    pins.write_text("keras>=3\n", encoding="utf-8")
    assert run("check", ".", cwd=tmp_path).stdout.count("LL402") == 2
    pins.write_text("keras<3\n", encoding="utf-8")
    assert "LL402" not in run("check", ".", cwd=tmp_path).stdout


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import tensorflow as tf\ntf.set_random_seed(0)\n", True),
        ("import tensorflow as tf\nsess = tf.Session()\n", True),
        ("import tensorflow as T\nx = T.placeholder(T.float32)\n", True),
        (
            "import tensorflow as tf\nslim = tf.contrib.slim\n",
            True,
        ),
        # TensorFlow 2 code: the compat module, a comment, another library's Session.
        ("import tensorflow as tf\nsess = tf.compat.v1.Session()\n", False),
        ("import tensorflow as tf\n# tf.Session() was TF 1's\nx = tf.ones(3)\n", False),
        ("import tensorflow as tf\nimport requests\ns = requests.Session()\n", False),
    ],
)
def test_tensorflow_1_code_is_told_by_what_tensorflow_2_removed(
    source: str, expected: bool
) -> None:
    assert index_module(ast.parse(source), source, "m.py", "m").tensorflow1 is expected


def test_an_environment_folder_pins_the_code_around_it(tmp_path: Path) -> None:
    """A conda or Docker folder describes the environment the project's code runs in: its pins
    count where the project's own files pin nothing, and only where they agree."""
    (tmp_path / "env" / "tfgpu").mkdir(parents=True)
    (tmp_path / "env" / "torch").mkdir()
    (tmp_path / "env" / "tfgpu" / "pyproject.toml").write_text(
        '[tool.poetry.dependencies]\ntensorflow-gpu = "^2.3.1"\n', encoding="utf-8"
    )
    (tmp_path / "env" / "torch" / "requirements.txt").write_text("torch\n", encoding="utf-8")
    found = infer_target(tmp_path)
    assert found is not None and found[0] == 2 and found[1].startswith("env/tfgpu/pyproject.toml")
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "requirements.txt").write_text("keras>=3\n", encoding="utf-8")
    assert infer_target(tmp_path) is None  # the environments disagree
    (tmp_path / "requirements.txt").write_text("keras>=3.2\n", encoding="utf-8")
    found = infer_target(tmp_path)
    assert found is not None and found == (3, "requirements.txt requires keras>=3.2")
    # A folder of code that pins its own Keras is a sub-project, not the environment.
    other = tmp_path / "other"
    (other / "examples").mkdir(parents=True)
    (other / "examples" / "requirements.txt").write_text("keras<3\n", encoding="utf-8")
    assert infer_target(other) is None


def test_a_binder_folder_and_its_dockerfile_pin_the_notebooks_around_them(tmp_path: Path) -> None:
    # mybinder.org's convention: binder/environment.yml describes where the notebooks run.
    (tmp_path / "binder").mkdir()
    (tmp_path / "binder" / "environment.yml").write_text(
        "dependencies:\n  - pip:\n    - Theano==1.0.4\n    - keras<1.0\n", encoding="utf-8"
    )
    found = infer_target(tmp_path)
    assert found is not None and found[0] == 2 and found[1].startswith("binder/environment.yml")
    (tmp_path / "binder" / "environment.yml").unlink()
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text(
        "FROM tensorflow/tensorflow:1.8.0-gpu-py3\n", encoding="utf-8"
    )
    assert infer_target(tmp_path) == (
        2,
        "docker/Dockerfile builds on tensorflow/tensorflow:1.8.0-gpu-py3",
    )


_SAVED = """\
import keras


def dice(y_true, y_pred):
    return keras.ops.mean(y_true * y_pred, axis=-1)


def mse(y_true, y_pred):
    return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse", metrics=[dice, mse])
model.save("model.h5")
loaded = keras.models.load_model("model.h5")
"""


def test_an_unregistered_metric_is_told_in_the_words_of_the_keras_it_runs_on(
    tmp_path: Path,
) -> None:
    (tmp_path / "train.py").write_text(_SAVED, encoding="utf-8")
    keras3 = run("check", ".", "--no-cache", "--select", "LL405", cwd=tmp_path).stdout
    assert "Could not locate function/class dice" in keras3
    assert "Could not locate function/class mse" in keras3
    # On Keras 2 a function named mse reloads as Keras's own; dice fails in Keras 2's words.
    (tmp_path / "requirements.txt").write_text("tensorflow==2.10.0\n", encoding="utf-8")
    keras2 = run("check", ".", "--no-cache", "--select", "LL405", cwd=tmp_path).stdout
    assert "'ValueError: Unknown metric function: dice'" in keras2
    assert "custom_objects={'dice': dice}" in keras2
    assert "register_keras_serializable" in keras2 and "keras.saving." not in keras2
    assert "mse is a custom metric" not in keras2


@pytest.mark.parametrize(
    ("text", "graph"),
    [
        ("Keras==2.0.8\nnumpy\n", True),  # the multi-backend Keras of 2017: TensorFlow 1
        ("keras==1.1.1\n", True),
        ("keras<2.3\n", True),
        ("keras~=2.2.0\n", True),
        ("tensorflow-gpu==1.14.0\n", True),
        ("tensorflow<2\n", True),
        ("keras==2.3.1\ntensorflow==1.15\n", True),
        ("keras==2.3.1\n", False),  # the first release for TensorFlow 2
        ("keras~=2.2\n", False),  # any 2.x from 2.2
        ("tensorflow==2.1.0\n", False),
        ("tf-keras==2.15\n", False),
    ],
)
def test_pins_tell_tensorflow_1s_graph_mode(tmp_path: Path, text: str, graph: bool) -> None:
    (tmp_path / "requirements.txt").write_text(text, encoding="utf-8")
    found = Pins(tmp_path).of(str(tmp_path / "vae.py"))
    assert found is not None and found.version == 2 and found.graph is graph


_CAPTURING_VAE = """\
from keras import backend as K
from keras.layers import Dense, Input, Lambda
from keras.models import Model

x = Input(shape=(784,))
h = Dense(256, activation="relu")(x)
z_mean = Dense(2)(h)
z_log_var = Dense(2)(h)
z = Lambda(lambda a: a[0])([z_mean, z_log_var])
decoded = Dense(784, activation="sigmoid")(z)


def vae_loss(y_true, y_pred):
    kl = -0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
    return K.binary_crossentropy(y_true, y_pred) + kl


vae = Model(x, decoded)
vae.compile(optimizer="rmsprop", loss=vae_loss)
"""


@pytest.mark.parametrize(
    ("requirements", "prologue", "why"),
    [
        ("", "", None),
        ("tensorflow==2.4.1\n", "", None),  # tf.keras 2 in eager mode fails on it too
        # Evaluated in the model's own TensorFlow 1 graph: it works there, until the move.
        ("Keras==2.0.8\n", "", "(requirements.txt requires Keras==2.0.8), where"),
        ("tensorflow-gpu==1.14\n", "", "requires tensorflow-gpu==1.14"),
        # Eager execution turned off, or TensorFlow 1 code: the same graph mode.
        (
            "",
            "import tensorflow as tf\ntf.compat.v1.disable_eager_execution()\n",
            "line 2 turns eager execution off",
        ),
        ("", "import tensorflow as tf\nsession = tf.Session()\n", "it is TensorFlow 1 code"),
        ("", "import tensorflow as tf\n# tf.compat.v1.disable_eager_execution()\n", None),
    ],
)
def test_a_loss_reading_graph_tensors_works_in_tensorflow_1s_graph_mode(
    tmp_path: Path, requirements: str, prologue: str, why: str | None
) -> None:
    if requirements:
        (tmp_path / "requirements.txt").write_text(requirements, encoding="utf-8")
    (tmp_path / "vae.py").write_text(prologue + _CAPTURING_VAE, encoding="utf-8")
    found = run("check", ".", "--no-cache", "--select", "LL406", cwd=tmp_path).stdout
    assert found.count("LL406") == 1  # the move to TensorFlow 2 or Keras 3 breaks it
    if why is None:
        assert "LL406 [error]" in found and "graph mode" not in found
    else:
        assert "LL406 [warning]" in found and "only in TensorFlow 1's graph mode" in found
        assert why in found


def test_a_pin_changed_to_tensorflow_1_is_seen_by_a_warm_run(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "requirements.txt").write_text("tensorflow==2.4.1\n", encoding="utf-8")
    (tmp_path / "vae.py").write_text(_CAPTURING_VAE, encoding="utf-8")
    assert "graph mode" not in run("check", ".", "--select", "LL406", cwd=tmp_path).stdout
    # Keras 2 either way: only whether it runs in TensorFlow 1's graph changed.
    (tmp_path / "requirements.txt").write_text("tensorflow==1.14.0\n", encoding="utf-8")
    assert "graph mode" in run("check", ".", "--select", "LL406", cwd=tmp_path).stdout
