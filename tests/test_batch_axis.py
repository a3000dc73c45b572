"""The batch-axis analysis: where the batch axis goes, through axes, helpers and objects."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from losslint.analysis.batch_axis import Batch, BatchAxis
from losslint.index.module import index_module
from losslint.index.project import ProjectIndex
from tests.helpers import FIXTURES, check

HEADER = """\
import keras
import tensorflow as tf
from keras import ops
from keras import backend as K
"""


def analyse(source: str) -> tuple[ProjectIndex, BatchAxis]:
    source = HEADER + textwrap.dedent(source)
    module = index_module(ast.parse(source), source, "m.py", "m")
    project = ProjectIndex([module])
    return project, BatchAxis(project)


def returned(body: str) -> Batch:
    """What ``def my_loss(y_true, y_pred)`` with this body returns."""
    indented = textwrap.indent(textwrap.dedent(body), "    ")
    _, analysis = analyse(f"def my_loss(y_true, y_pred):\n{indented}")
    return analysis.function_result("m.my_loss")


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("return ops.mean(ops.square(y_true - y_pred))", "mean"),
        ("return ops.mean(ops.square(y_true - y_pred), axis=-1)", "kept"),
        ("return tf.reduce_mean(y_pred, 0)", "mean"),
        ("return ops.mean(y_pred, axis=[0, 1])", "mean"),
        ("return ops.mean(y_pred, axis=0, keepdims=True)", "mean"),
        ("return ops.mean(y_pred, axis=-1, keepdims=True)", "kept"),
        ("return ops.sum(y_pred, axis=(1, 2, 3))", "kept"),
        ("return ops.sum(y_pred)", "sum"),
        ("return 0.5 * ops.sum(y_pred)", "sum"),
        ("return ops.sum(y_pred) / ops.cast(ops.shape(y_true)[0], 'float32')", "mean"),
        ("return tf.reduce_sum(y_pred) / tf.cast(tf.size(y_true), tf.float32)", "mean"),
        ("return ops.sum(y_pred) / self_normalizer", "unknown"),
        ("axes = list(range(1, len(y_pred.shape)))\nreturn ops.sum(y_pred, axis=axes)", "kept"),
        ("axes = [0, 1]\nreturn ops.sum(y_pred, axis=axes)", "sum"),
        ("return ops.mean(ops.mean(y_pred, axis=-1), axis=-1)", "unknown"),
        # Several trailing axes are a sample's (a 3-D Dice), so the later axis 0 is the batch.
        (
            "d = ops.sum(y_true * y_pred, axis=[-3, -2, -1])\nreturn ops.mean(d, axis=[0, 1])",
            "mean",
        ),
        ("return ops.sum(y_true * y_pred, axis=[-3, -2, -1])", "kept"),
        ("return K.sum(K.flatten(y_true) * K.flatten(y_pred))", "sum"),
        ("return ops.mean(tf.reshape(y_pred, [-1]))", "mean"),
        ("return ops.mean(tf.boolean_mask(y_pred, y_true > 0))", "mean"),
        ("return ops.mean(y_pred - ops.mean(y_pred), axis=-1)", "kept"),
        ("return y_pred[:, 0] - y_true[:, 0]", "kept"),
        ("return keras.losses.binary_crossentropy(y_true, y_pred)", "kept"),
        ("return ops.mean(keras.losses.binary_crossentropy(y_true, y_pred))", "mean"),
        ("return keras.losses.BinaryCrossentropy()(y_true, y_pred)", "mean"),
        ("return keras.losses.BinaryCrossentropy(reduction='none')(y_true, y_pred)", "kept"),
        ("return keras.losses.MeanSquaredError(reduction='sum')(y_true, y_pred)", "sum"),
        ("return K.categorical_crossentropy(y_true, y_pred)", "kept"),
        ("return ops.where(y_true > 0, y_pred, 0.0)", "kept"),
        ("if y_true is None:\n    return 0.0\nreturn ops.mean(y_pred)", "mean"),
        ("return unknown_function(y_true, y_pred)", "unknown"),
        # A focal loss's probability of the true class: one element of each sample's row.
        (
            "rows = tf.range(tf.shape(y_true)[0])\n"
            "idx = tf.stack([rows, y_true], axis=1)\n"
            "return tf.gather_nd(y_pred, idx)",
            "kept",
        ),
        ("return tf.gather_nd(y_pred, tf.stack([tf.range(8), y_true], axis=-1))", "kept"),
        ("return tf.gather_nd(y_pred, tf.stack([y_true, tf.range(8)], axis=1))", "flat"),
        ("return tf.gather_nd(y_pred, tf.where(y_true > 0))", "flat"),
    ],
)
def test_batch_state_of_a_loss(body: str, kind: str) -> None:
    assert returned(body).kind == kind


def test_mean_without_axis_is_fixable_only_at_rank_two_or_more() -> None:
    direct = returned("return ops.mean(ops.square(y_true - y_pred))")
    assert direct.origin is not None and direct.origin.fixable
    per_sample = returned("return ops.mean(keras.losses.mse(y_true, y_pred))")
    assert per_sample.origin is not None and not per_sample.origin.fixable
    axis_zero = returned("return ops.mean(y_pred, axis=0)")
    assert axis_zero.origin is not None and not axis_zero.origin.fixable


def test_ratio_of_batch_sums_and_of_per_sample_sums() -> None:
    batch = returned("return ops.sum(y_true * y_pred) / (ops.sum(y_pred) + 1e-7)")
    assert batch.kind == "mean" and batch.ratio
    sample = returned("return ops.sum(y_true * y_pred, axis=-1) / (ops.sum(y_pred, axis=-1) + 1)")
    assert sample.kind == "kept"


def test_a_named_batch_size_counts_the_samples() -> None:
    _, analysis = analyse(
        """
        GLOBAL_BATCH_SIZE = 64

        def my_loss(y_true, y_pred):
            return tf.reduce_sum(y_pred) * (1.0 / GLOBAL_BATCH_SIZE)
        """
    )
    result = analysis.function_result("m.my_loss")
    assert result.kind == "mean" and not result.ratio


def test_helpers_are_followed_and_the_reduction_anchored_at_their_call() -> None:
    _, analysis = analyse(
        """
        def _batch_mse(a, b):
            return tf.reduce_mean(tf.square(a - b))

        def my_loss(y_true, y_pred):
            return 2.0 * _batch_mse(y_true, y_pred)
        """
    )
    result = analysis.function_result("m.my_loss")
    assert result.kind == "mean" and result.origin is not None
    assert result.origin.via == "m._batch_mse"
    assert result.origin.span.line == 10  # the call of the helper
    assert not result.origin.fixable


def test_closures_loss_objects_on_self_and_module_bindings() -> None:
    project, analysis = analyse(
        """
        BCE = keras.losses.BinaryCrossentropy(reduction="none")

        def focal(gamma):
            def loss(y_true, y_pred):
                return ops.power(1.0 - y_pred, gamma) * BCE(y_true, y_pred)
            return loss

        class Combo(keras.losses.Loss):
            def __init__(self, name="combo"):
                super().__init__(name=name)
                self.mse = keras.losses.MeanSquaredError()

            def call(self, y_true, y_pred):
                return self.mse(y_true, y_pred)
        """
    )
    definitions = {d.qualname: d for d in project.definitions()}
    assert analysis.result(definitions["m.focal.loss"]).kind == "kept"
    assert analysis.result(definitions["m.Combo"]).kind == "mean"


def test_objectives_and_the_functions_they_differentiate() -> None:
    _, analysis = analyse(
        """
        import jax

        def step_loss(y_true, y_pred):
            return ops.mean(ops.square(y_true - y_pred))

        def per_sample_loss(y_true, y_pred):
            return ops.mean(ops.square(y_true - y_pred), axis=-1)

        def step(model, x, y):
            with tf.GradientTape() as tape:
                first = step_loss(y, model(x))
                second = keras.losses.mean_squared_error(y, model(x))
                third = tf.nn.compute_average_loss(second, global_batch_size=8)
            tape.gradient(first, model.trainable_variables)
            tape.gradient(second, model.trainable_variables)
            tape.gradient(third, model.trainable_variables)

        grad = jax.grad(per_sample_loss)
        """
    )
    kinds = [(t.text, t.value.kind) for t in analysis.trained()]
    assert ("first", "mean") in kinds
    assert ("second", "kept") in kinds
    assert ("third", "mean") in kinds
    assert ("per_sample_loss", "kept") in kinds
    assert {"m.step_loss", "m.per_sample_loss"} <= analysis.differentiated()


def test_effects_need_a_tensor_and_loss_code() -> None:
    _, analysis = analyse(
        """
        import numpy as np

        HISTORY = []

        def logging_loss(y_true, y_pred):
            value = ops.mean(ops.square(y_true - y_pred), axis=-1)
            HISTORY.append(value)
            HISTORY.append(1.0)
            return np.mean(value) + np.log(2.0)

        def not_a_loss(a, b):
            HISTORY.append(a)
            return np.mean(a)
        """
    )
    effects = [(e.kind, e.what) for e in analysis.effects()]
    assert effects == [("store", "HISTORY.append(...)"), ("numpy", "np.mean(...)")]


@pytest.mark.parametrize(
    ("signature", "test", "kind"),
    [
        ("reduce='mean'", "reduce == 'mean'", "mean"),
        ("reduce=None", "reduce == 'mean'", "kept"),
        ("reduce=None", "reduce is not None", "kept"),
        ("flat=True", "flat", "mean"),
        ("flat=True", "not flat", "kept"),
        # Rebound in the body: the default says nothing about the test.
        ("reduce='mean'", "(reduce := reduce.lower()) == 'mean'", "unknown"),
    ],
)
def test_tests_on_defaulted_parameters_are_decided(signature: str, test: str, kind: str) -> None:
    _, analysis = analyse(
        f"""
        def my_loss(y_true, y_pred, {signature}):
            value = ops.square(y_true - y_pred)
            if {test}:
                value = ops.mean(value)
            return value
        """
    )
    assert analysis.function_result("m.my_loss").kind == kind


def test_tf1_objectives_from_placeholders_and_other_methods() -> None:
    """A placeholder with a None batch dimension is batched; an objective built in one method
    and minimized in another is named as it is minimized."""
    _, analysis = analyse(
        """
        x = tf.compat.v1.placeholder(tf.float32, [None, 10])
        fixed = tf.compat.v1.placeholder(tf.float32, [64, 10])
        cost = -tf.reduce_sum(x * tf.math.log(x))
        fixed_cost = tf.reduce_sum(fixed)
        step = tf.compat.v1.train.AdamOptimizer(1e-3).minimize(cost)
        fixed_step = tf.compat.v1.train.AdamOptimizer(1e-3).minimize(fixed_cost)

        class GAN:
            def build(self, logits):
                self.g_loss = tf.nn.sigmoid_cross_entropy_with_logits(
                    logits=logits, labels=tf.ones_like(logits)
                )

            def train(self):
                return tf.compat.v1.train.AdamOptimizer(1e-3).minimize(self.g_loss)
        """
    )
    found = {t.text: t.value.kind for t in analysis.trained()}
    assert found == {"cost": "sum", "fixed_cost": "const", "self.g_loss": "kept"}


def test_defaults_do_not_hold_under_passed_keywords() -> None:
    """``helper(y, p, **options)`` may set ``reduce``: the test on it stays undecided; a
    literal passed (``reduce=None``) decides it as the default does."""
    _, analysis = analyse(
        """
        def helper(y_true, y_pred, reduce="mean"):
            value = ops.square(y_true - y_pred)
            if reduce == "mean":
                value = ops.mean(value)
            return value

        def given_loss(y_true, y_pred):
            return helper(y_true, y_pred, reduce=None)

        def forwarded_loss(y_true, y_pred, **options):
            return helper(y_true, y_pred, **options)

        def default_loss(y_true, y_pred):
            return helper(y_true, y_pred)
        """
    )
    kinds = {
        name: analysis.function_result(f"m.{name}").kind
        for name in ("given_loss", "forwarded_loss", "default_loss")
    }
    assert kinds == {"given_loss": "kept", "forwarded_loss": "unknown", "default_loss": "mean"}


def test_a_vector_jacobian_product_is_not_trained_on(tmp_path: Path) -> None:
    """A PINN's forward-mode derivative, ``tf.gradients(u, x, grad_ys=dummy)`` and then the
    gradient of that with respect to the dummy: the sum is weighted as written and nothing is
    trained on it, so LL203 is silent; without ``grad_ys`` it is a gradient of a per-sample
    value, and LL203 reports it."""
    source = (FIXTURES / "rules" / "forward_gradients" / "pinn.py").read_text()
    (tmp_path / "pinn.py").write_text(source)
    assert [d.code for d in check(tmp_path)] == ["LL202"]  # the batch-summed loss
    (tmp_path / "pinn.py").write_text(source.replace(", grad_ys=self.dummy_tf", ""))
    assert sorted(d.code for d in check(tmp_path)) == ["LL202", "LL203"]


CAPTIONER = """
import keras
import tensorflow as tf


class Captioner(keras.Model):
    def calculate_loss(self, y_true, y_pred, mask):
        loss = self.loss(y_true, y_pred)
        mask = tf.cast(mask, dtype=loss.dtype)
        return tf.reduce_sum(loss * mask) / (tf.reduce_sum(mask) + 1e-7)

    def train_step(self, batch):
        images, captions = batch
        with tf.GradientTape() as tape:
            predicted = self(images, training=True)
            loss = self.calculate_loss(captions, predicted, captions != 0)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return {"loss": loss}
"""

TRAINING = """
import keras

from model import Captioner

model = Captioner()
cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
model.compile(optimizer="adam", loss=cross_entropy)
"""


def test_a_train_step_that_reduces_the_compiled_loss_in_a_helper_method(tmp_path: Path) -> None:
    """An image captioner's ``train_step`` calls ``self.calculate_loss``, which takes the
    compiled ``reduction="none"`` loss from ``self.loss``, masks the padding and reduces it:
    the loss is meant per token, and LL203 is silent. Where no step reads ``self.loss``, the
    compiled loss is Keras's to reduce, and LL203 reports it."""
    (tmp_path / "model.py").write_text(CAPTIONER)
    (tmp_path / "training.py").write_text(TRAINING)
    assert [d.code for d in check(tmp_path)] == []
    (tmp_path / "model.py").write_text(CAPTIONER.replace("self.loss(", "self.per_token("))
    assert [d.code for d in check(tmp_path)] == ["LL203"]


def test_a_batch_sum_in_a_project_that_trains_only_in_its_own_steps_is_reported(
    tmp_path: Path,
) -> None:
    """A project that compiles nothing and trains with a GradientTape: its losses give the
    step the scalar it differentiates, so a batch mean there is what the step needs (no
    LL201), but a batch sum still grows with the batch size (LL202), reported where the sum
    is, once, also inside a ``Loss`` subclass whose object the step calls (Keras hands an
    already scalar value back unchanged)."""
    source = tmp_path / "train.py"
    source.write_text(
        "import tensorflow as tf\n\n\n"
        "class BoxLoss(tf.keras.losses.Loss):\n"
        "    def call(self, y_true, y_pred):\n"
        "        xy = tf.reduce_sum(tf.square(y_true[..., :2] - y_pred[..., :2]))\n"
        "        wh = tf.reduce_sum(tf.square(y_true[..., 2:] - y_pred[..., 2:]))\n"
        "        return xy + wh\n\n\n"
        "def sse_loss(y_true, y_pred):\n"
        "    return tf.reduce_sum(tf.square(y_true - y_pred))\n\n\n"
        "def mse_loss(y_true, y_pred):\n"
        "    return tf.reduce_mean(tf.square(y_true - y_pred))\n\n\n"
        "model = tf.keras.Sequential([tf.keras.layers.Dense(4)])\n"
        "optimizer = tf.keras.optimizers.Adam()\n"
        "boxes = BoxLoss()\n\n\n"
        "def train(dataset):\n"
        "    for x, y in dataset:\n"
        "        with tf.GradientTape() as tape:\n"
        "            p = model(x)\n"
        "            loss = boxes(y, p) + sse_loss(y, p) + mse_loss(y, p)\n"
        "        grads = tape.gradient(loss, model.trainable_variables)\n"
        "        optimizer.apply_gradients(zip(grads, model.trainable_variables))\n"
    )
    found = sorted((d.code, d.line) for d in check(source) if d.code.startswith("LL2"))
    assert found == [("LL202", 6), ("LL202", 7), ("LL202", 12)]


def test_a_loss_class_a_package_exports_is_judged_where_its_own_steps_use_it(
    tmp_path: Path,
) -> None:
    """A metric-learning package whose only training is a GradientTape loop: the Loss
    subclasses it registers for saving, or keeps in its ``losses`` package, are meant for
    Keras users too, where ``Loss.__call__`` weighs what ``call`` returns per sample, so a
    batch mean there is reported; the loop's own unregistered Loss in a script is not."""
    package = tmp_path / "metriclib"
    (package / "losses").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "losses" / "__init__.py").write_text("")
    body = (
        "    def call(self, y_true, y_pred):\n"
        "        logits = tf.matmul(y_pred, y_pred, transpose_b=True)\n"
        "        return self.ce(tf.one_hot(tf.cast(y_true[:, 0], tf.int32), 8), logits)\n"
    )
    init = (
        "    def __init__(self, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.ce = tf.keras.losses.CategoricalCrossentropy(from_logits=True)\n\n"
    )
    (package / "losses" / "contrastive.py").write_text(
        "import tensorflow as tf\n\n\nclass NTXentLoss(tf.keras.losses.Loss):\n" + init + body
    )
    (package / "registered.py").write_text(
        "import tensorflow as tf\n\n\n"
        '@tf.keras.utils.register_keras_serializable(package="metriclib")\n'
        "class SupConLoss(tf.keras.losses.Loss):\n" + init + body
    )
    (tmp_path / "train.py").write_text(
        "import tensorflow as tf\n"
        "from metriclib.losses.contrastive import NTXentLoss\n"
        "from metriclib.registered import SupConLoss\n\n\n"
        "class LocalLoss(tf.keras.losses.Loss):\n" + init + body + "\n\n"
        "model = tf.keras.Sequential([tf.keras.layers.Dense(16)])\n"
        "optimizer = tf.keras.optimizers.Adam()\n"
        "exported, registered, local = NTXentLoss(), SupConLoss(), LocalLoss()\n\n\n"
        "def train(dataset):\n"
        "    for x, y in dataset:\n"
        "        with tf.GradientTape() as tape:\n"
        "            p = model(x)\n"
        "            loss = exported(y, p) + registered(y, p) + local(y, p)\n"
        "        grads = tape.gradient(loss, model.trainable_variables)\n"
        "        optimizer.apply_gradients(zip(grads, model.trainable_variables))\n"
    )
    found = sorted((Path(d.path).name, d.line) for d in check(tmp_path) if d.code == "LL201")
    assert found == [("contrastive.py", 11), ("registered.py", 12)]


def test_a_loss_handed_to_a_model_constructor_is_what_its_training_step_differentiates(
    tmp_path: Path,
) -> None:
    """A captioning model's ``__init__(self, ..., loss_fcn)`` keeps the loss it is given and
    its ``train_step`` adds ``self.loss_fcn(target[:, i], predictions)`` over the time steps:
    the one function the project constructs it with is differentiated there, where a batch
    mean is the scalar the step needs (no LL201), while a compiled loss beside it is judged."""
    source = tmp_path / "captions.py"
    source.write_text(
        "import tensorflow as tf\n\n\n"
        "def masked_loss_lstm(y, yhat):\n"
        "    loss = tf.keras.losses.sparse_categorical_crossentropy(y, yhat, from_logits=True)\n"
        "    return tf.reduce_mean(loss * tf.cast(y != 0, loss.dtype))\n\n\n"
        "def masked_loss_transformer(y, yhat):\n"
        "    loss = tf.keras.losses.sparse_categorical_crossentropy(y, yhat, from_logits=True)\n"
        "    return tf.reduce_mean(loss * tf.cast(y != 0, loss.dtype))\n\n\n"
        "class Captioner(tf.keras.Model):\n"
        "    def __init__(self, decoder, optimizer, loss_fcn):\n"
        "        super().__init__()\n"
        "        self.decoder = decoder\n"
        "        self.optimizer = optimizer\n"
        "        self.loss_fcn = loss_fcn\n\n"
        "    def train_step(self, data):\n"
        "        features, target = data\n"
        "        loss = 0\n"
        "        with tf.GradientTape() as tape:\n"
        "            for i in range(1, 20):\n"
        "                predictions = self.decoder(features)\n"
        "                loss += self.loss_fcn(target[:, i], predictions)\n"
        "        grads = tape.gradient(loss, self.trainable_variables)\n"
        "        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))\n"
        "        return {'loss': loss}\n\n\n"
        "decoder = tf.keras.Sequential([tf.keras.layers.Dense(100)])\n"
        "lstm = Captioner(decoder, tf.keras.optimizers.Adam(), loss_fcn=masked_loss_lstm)\n"
        "transformer = tf.keras.Sequential([tf.keras.layers.Dense(100)])\n"
        "transformer.compile(optimizer='adam', loss=masked_loss_transformer)\n"
    )
    found = [d.line for d in check(source) if d.code == "LL201"]
    assert found == [11]


_GRAPH_VAE_CLASS = """\
import keras
from keras import layers, ops


# A VAE class whose loss method reads the encoder's outputs kept on ``self``: graph tensors,
# one row per sample, which the KL helper then averages over the batch.
def kl_normal(z_mean, z_log_var):
    kl_per_example = 0.5 * ops.sum(ops.square(z_mean) + ops.exp(z_log_var) - 1 - z_log_var, axis=1)
    return ops.mean(kl_per_example)


def kl_per_sample(z_mean, z_log_var):
    return 0.5 * ops.sum(ops.square(z_mean) + ops.exp(z_log_var) - 1 - z_log_var, axis=1)


class GraphVAE:
    def __init__(self):
        inputs = keras.Input(shape=(784,))
        hidden = layers.Dense(64)(inputs)
        self.z_mean = layers.Dense(2)(hidden)
        self.z_log_var = layers.Dense(2)(hidden)
        self.beta = 4.0
        outputs = layers.Dense(784, activation="sigmoid")(self.z_mean)
        self.model = keras.Model(inputs, outputs)
        self.model.compile(optimizer="adam", loss=self.vae_loss)
        self.sample_model = keras.Model(inputs, outputs)
        self.sample_model.compile(optimizer="adam", loss=self.per_sample_vae_loss)

    def vae_loss(self, x, x_generated):
        reconstruction = 784 * keras.losses.binary_crossentropy(x, x_generated)
        return reconstruction + kl_normal(self.z_mean, self.z_log_var)  # [LL201]

    # Silent: the KL of each sample, scaled by a number kept on the object.
    def per_sample_vae_loss(self, x, x_generated):
        reconstruction = 784 * keras.losses.binary_crossentropy(x, x_generated)
        return reconstruction + self.beta * kl_per_sample(self.z_mean, self.z_log_var)

    def train(self, data):
        self.model.fit(data, data)
        self.sample_model.fit(data, data)
"""


def test_a_graph_tensor_kept_on_self_has_one_row_per_sample(tmp_path: Path) -> None:
    """``self.z_mean = layers.Dense(2)(hidden)`` in ``__init__``: a loss method reading it
    reads one row per sample, so a helper's mean of its KL is a batch scalar (LL201 at the
    call), and the per-sample KL scaled by a number kept on ``self`` is not."""
    (tmp_path / "vae.py").write_text(_GRAPH_VAE_CLASS)
    found = [(d.code, d.line) for d in check(tmp_path / "vae.py") if d.code.startswith("LL2")]
    line = _GRAPH_VAE_CLASS.splitlines().index(
        "        return reconstruction + kl_normal(self.z_mean, self.z_log_var)  # [LL201]"
    )
    assert found == [("LL201", line + 1)]
