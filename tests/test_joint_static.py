"""The static half of issue 13: LL502 and LL503 on joint losses written as tutorials write
them, read as a user reads the messages."""

from __future__ import annotations

from pathlib import Path

from losslint.diagnostic import Diagnostic
from tests.helpers import FIXTURES, check

_JOINT = """\
import keras
from keras import ops as K

lambda_mse = 10.0


def mse_loss(y_true, y_pred):
    return K.mean(K.square(y_true - y_pred), axis=-1)


def joint_loss(y_true, y_pred):
    mse_loss = K.mean(K.square(y_true - y_pred), axis=-1)
    mae_loss = K.mean(K.abs(y_true - y_pred), axis=-1)
    return mae_loss + (lambda_mse * {second})


model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
model.compile(loss=joint_loss, optimizer="adam", metrics=[mse_loss])
"""


def _ll502(tmp_path: Path, text: str) -> Diagnostic:
    """The one LL502 finding of ``text`` checked as a script."""
    source = tmp_path / "train.py"
    source.write_text(text)
    (found,) = [d for d in check(source) if d.code == "LL502"]
    return found


def test_ll502_names_the_untracked_term_and_the_metrics_line(tmp_path: Path) -> None:
    found = _ll502(tmp_path, _JOINT.format(second="mse_loss"))
    assert "adds up 2 terms (mae_loss + 10*mse_loss)" in found.message
    assert "metrics do not track mae_loss:" in found.message
    assert found.message.endswith('compile with metrics=[mse_loss, "mae"]')
    assert found.line == 18


def test_ll503_points_at_the_term_left_out(tmp_path: Path) -> None:
    source = tmp_path / "train.py"
    source.write_text(_JOINT.format(second="mae_loss"))
    found = [d for d in check(source) if d.code.startswith("LL50")]
    assert [(d.code, d.span.line, d.span.column) for d in found] == [("LL503", 12, 5)]
    assert found[0].message.startswith(
        "joint_loss computes the loss term mse_loss but never uses it: the value it returns "
        "(mae_loss + lambda_mse * mae_loss) leaves mse_loss out"
    )


def test_the_runtime_fixtures_of_issue_13_are_seen_statically() -> None:
    found = {
        (Path(d.path).name, d.code)
        for d in check(*sorted((FIXTURES / "runtime").glob("joint_*.py")))
        if d.code.startswith("LL5")
    }
    assert found == {("joint_unused_term.py", "LL503")}


def test_ll502_names_an_untracked_inline_term_by_its_expression(tmp_path: Path) -> None:
    found = _ll502(
        tmp_path,
        "import keras\nfrom keras import ops\n\n\n"
        "def joint(y_true, y_pred):\n"
        "    return ops.mean(ops.square(y_true - y_pred) * 3.0, axis=-1) + "
        "keras.losses.mean_absolute_error(y_true, y_pred)\n\n\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
        'model.compile(loss=joint, optimizer="adam", metrics=["mae"])\n',
    )
    assert "metrics do not track ops.mean(ops.square(y_true - y_pred) ...:" in found.message


def test_ll502_is_one_finding_for_a_loss_repeated_per_output(tmp_path: Path) -> None:
    """Deep supervision compiles the same joint loss once per output: one defect, one finding."""
    source = tmp_path / "train.py"
    source.write_text(
        _JOINT.format(second="mse_loss").replace(
            "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])\n"
            'model.compile(loss=joint_loss, optimizer="adam", metrics=[mse_loss])\n',
            "inputs = keras.Input((4,))\n"
            "model = keras.Model(inputs, [keras.layers.Dense(4)(inputs), "
            "keras.layers.Dense(4)(inputs)])\n"
            'model.compile(loss=[joint_loss, joint_loss], optimizer="adam")\n',
        )
    )
    assert len([d for d in check(source) if d.code == "LL502"]) == 1


def test_ll502_counts_a_loss_called_on_two_channels_as_two_terms(tmp_path: Path) -> None:
    """A Kaggle solution's softmax_dice_loss: crossentropy plus the dice of each channel. The
    same function on two channels is two terms, named once in the list of untracked ones."""
    found = _ll502(
        tmp_path,
        "import keras\n"
        "from keras import ops as K\n\n\n"
        "def dice_loss(y_true, y_pred):\n"
        "    overlap = K.sum(y_true * y_pred, axis=(1, 2))\n"
        "    return 1 - 2 * overlap / (K.sum(y_true + y_pred, axis=(1, 2)) + 1.0)\n\n\n"
        "def softmax_dice_loss(y_true, y_pred):\n"
        "    return (\n"
        "        keras.losses.categorical_crossentropy(y_true, y_pred) * 0.5\n"
        "        + dice_loss(y_true[..., 0], y_pred[..., 0]) * 0.3\n"
        "        + dice_loss(y_true[..., 1], y_pred[..., 1]) * 0.2\n"
        "    )\n\n\n"
        "model = keras.Sequential(\n"
        "    [keras.Input((8, 8, 3)), keras.layers.Dense(2, activation='softmax')]\n"
        ")\n"
        "model.compile(\n"
        "    loss=softmax_dice_loss, optimizer='adam', metrics=['categorical_crossentropy']\n"
        ")\n",
    )
    assert "adds up 3 terms (0.5*categorical_crossentropy + 0.3*dice_loss + 0.2*dice_loss)" in (
        found.message
    )
    assert "metrics do not track dice_loss:" in found.message


def test_ll502_counts_every_term_it_lists(tmp_path: Path) -> None:
    """Keras's mean squared error of two heads is one loss to track, but two terms of the sum:
    the message counts the terms it lists, not the distinct losses among them."""
    found = _ll502(
        tmp_path,
        "import keras\n\n\n"
        "def physics_loss(y_true, y_pred):\n"
        "    gravity = keras.losses.mean_squared_error(y_true[:, 0], y_pred[:, 0])\n"
        "    friction = keras.losses.mean_squared_error(y_true[:, 1], y_pred[:, 1])\n"
        "    independence = keras.losses.binary_crossentropy(y_true[:, 2:], y_pred[:, 2:])\n"
        "    return 0.25 * gravity + 0.25 * friction + 0.5 * independence\n\n\n"
        "model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])\n"
        "model.compile(loss=physics_loss, optimizer='adam', metrics=['mse'])\n",
    )
    assert "adds up 3 terms (0.25*gravity + 0.25*friction + 0.5*independence)" in found.message


def test_ll502_a_loss_that_is_one_minus_a_tracked_metric_is_tracked(tmp_path: Path) -> None:
    """Carvana's bce_dice_loss with metrics=[dice_coeff]: dice_loss is 1 - dice_coeff, which the
    log shows, so only the crossentropy is missing."""
    found = _ll502(
        tmp_path,
        "import keras\n"
        "from keras import ops as K\n"
        "from keras.losses import binary_crossentropy\n\n\n"
        "def dice_coeff(y_true, y_pred):\n"
        "    overlap = K.sum(y_true * y_pred)\n"
        "    return (2.0 * overlap + 1.0) / (K.sum(y_true) + K.sum(y_pred) + 1.0)\n\n\n"
        "def dice_loss(y_true, y_pred):\n"
        "    return 1 - dice_coeff(y_true, y_pred)\n\n\n"
        "def bce_dice_loss(y_true, y_pred):\n"
        "    return binary_crossentropy(y_true, y_pred) + dice_loss(y_true, y_pred)\n\n\n"
        "model = keras.Sequential(\n"
        "    [keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')]\n"
        ")\n"
        "model.compile(loss=bce_dice_loss, optimizer='adam', metrics=[dice_coeff])\n",
    )
    assert "metrics do not track binary_crossentropy:" in found.message
    assert found.message.endswith('compile with metrics=[dice_coeff, "binary_crossentropy"]')


def test_ll502_a_library_metric_tracks_the_term_that_calls_it() -> None:
    found = [
        d
        for d in check(FIXTURES / "rules" / "LL502.py")
        if d.code == "LL502" and "bce_jaccard_loss" in d.message
    ]
    assert len(found) == 1
    assert "metrics do not track binary_crossentropy:" in found[0].message
    assert found[0].message.endswith('compile with metrics=[jaccard_score, "binary_crossentropy"]')


def test_ll502_advises_a_wrapper_for_a_term_given_more_than_the_inputs(tmp_path: Path) -> None:
    found = _ll502(
        tmp_path,
        "import keras\nfrom keras import ops\n\n\n"
        "def weighted_bce(y_true, y_pred, weight):\n"
        "    return ops.sum(weight * keras.losses.binary_crossentropy(y_true, y_pred))\n\n\n"
        "def weighted_bce_mae(y_true, y_pred):\n"
        "    weight = ops.ones_like(y_true) + y_true\n"
        "    return weighted_bce(y_true, y_pred, weight) + keras.losses.mae(y_true, y_pred)\n\n\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
        'model.compile(loss=weighted_bce_mae, optimizer="adam")\n',
    )
    assert found.message.endswith(
        "compile with metrics=[<a function (y_true, y_pred) that computes weight as the loss "
        'does and returns weighted_bce(y_true, y_pred, weight)>, "mae"]'
    )


# A loss of two Keras terms, for the advice tests below.
_TWO_KERAS_TERMS = (
    "import keras\n\n\n"
    "def joint(y_true, y_pred):\n"
    "    return keras.losses.mae(y_true, y_pred) + keras.losses.mse(y_true, y_pred)\n\n\n"
)


def test_ll502_keeps_a_metric_the_caller_gives_in_its_advice(tmp_path: Path) -> None:
    found = _ll502(
        tmp_path,
        _TWO_KERAS_TERMS + 'def build(metrics="accuracy"):\n'
        "    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
        '    model.compile(loss=joint, optimizer="adam", metrics=[metrics])\n'
        "    model.fit(None)\n"
        "    return model\n",
    )
    assert found.message.endswith('compile with metrics=[metrics, "mae", "mse"]')


def test_ll502_advises_the_output_of_metrics_given_per_output(tmp_path: Path) -> None:
    found = _ll502(
        tmp_path,
        _TWO_KERAS_TERMS + "inputs = keras.Input((4,))\n"
        "heads = [keras.layers.Dense(1)(inputs), keras.layers.Dense(1)(inputs)]\n"
        "model = keras.Model(inputs, heads)\n"
        'model.compile(loss=[joint, "mse"], optimizer="adam", metrics=[["mae"], ["mape"]])\n'
        "model.fit(None)\n",
    )
    assert found.message.endswith('add "mse" to the metrics of this loss\'s output')


def test_ll502_reads_a_bound_factory_metric_and_a_redefined_function(tmp_path: Path) -> None:
    """``recon_metric = build_reconstruction(w)`` given as a metric and called in the loss is
    the same object, and ``divergence_metric`` defined again in another branch is that branch's
    function, also under a flag that scales it: both terms are tracked. Left out of the
    metrics, the term is named by the name it is written with, never an internal one."""
    source = (FIXTURES / "rules" / "LL502.py").read_text()
    start = source.index("def build_reconstruction(")
    (tmp_path / "train.py").write_text("from keras import ops\n\n\n" + source[start:])
    assert check(tmp_path) == []
    untracked = source[start:].replace("metrics=[recon_metric, divergence_metric]", "metrics=[]")
    (tmp_path / "train.py").write_text("from keras import ops\n\n\n" + untracked)
    [found] = check(tmp_path)
    assert found.code == "LL502"
    assert "divergence_metric" in found.message and "#" not in found.message


def test_ll502_counts_a_term_read_through_names_unpacked_from_both_inputs(tmp_path: Path) -> None:
    # DenseDepth's loss: the edge term reads y_true and y_pred only through the gradients
    # unpacked from each; it is a loss term like the others, listed and counted.
    found = _ll502(
        tmp_path,
        """\
import keras
import tensorflow as tf
from keras import ops as K


def depth_loss(y_true, y_pred):
    l_depth = K.mean(K.abs(y_pred - y_true), axis=-1)
    dy_true, dx_true = tf.image.image_gradients(y_true)
    dy_pred, dx_pred = tf.image.image_gradients(y_pred)
    l_edges = K.mean(K.abs(dy_pred - dy_true) + K.abs(dx_pred - dx_true), axis=-1)
    return 0.5 * l_edges + 0.5 * l_depth


model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(1, 3, padding="same")])
model.compile(loss=depth_loss, optimizer="adam")
""",
    )
    assert "adds up 2 terms (0.5*l_edges + 0.5*l_depth)" in found.message
    assert "metrics do not track l_edges, l_depth:" in found.message


def test_ll502_asks_no_metric_for_a_term_weighted_zero(tmp_path: Path) -> None:
    # ``w_mae = 0``: the log's total is the one term left, so nothing is hidden in it.
    source = tmp_path / "train.py"
    source.write_text(
        _JOINT.replace("lambda_mse = 10.0", "lambda_mse = 10.0\nw_mae = 0")
        .replace("return mae_loss + ", "return w_mae * mae_loss + ")
        .replace("metrics=[mse_loss]", "metrics=[]")
        .format(second="mse_loss")
    )
    assert [d for d in check(source) if d.code == "LL502"] == []
    # Weighted 0.5 instead, it is a term of its own that the log does not show.
    source.write_text(source.read_text().replace("w_mae = 0", "w_mae = 0.5"))
    (found,) = [d for d in check(source) if d.code == "LL502"]
    assert "adds up 2 terms (0.5*mae_loss + 10*mse_loss)" in found.message


def test_ll502_reads_no_term_in_the_parts_of_one_likelihood(tmp_path: Path) -> None:
    # A CRF's negative log-likelihood, log Z - the path's score: the inputs narrowed in place
    # (``y_true, y_pred = y_true[...], y_pred[...]``) tie log Z to y_pred alone, so it is one
    # loss, not two terms to track.
    source = tmp_path / "train.py"
    source.write_text(
        """\
import keras
from keras import ops as K


class CRF(keras.layers.Layer):
    def loss(self, y_true, y_pred):
        y_true, y_pred = y_true[:, :, :4], y_pred[:, :, :4]
        path_score = self.path_score(y_pred, y_true)
        log_norm, _, _ = K.rnn(self.log_norm_step, y_pred[:, 1:], [y_pred[:, 0]])
        log_norm = K.logsumexp(log_norm, 1, keepdims=True)
        return log_norm - path_score


crf = CRF()
model = keras.Sequential([keras.Input((None, 4)), crf])
model.compile(loss=crf.loss, optimizer="adam")
"""
    )
    assert [d for d in check(source) if d.code == "LL502"] == []


def test_ll502_advises_no_keras_metric_for_a_term_on_parts_of_the_inputs(tmp_path: Path) -> None:
    # Knowledge distillation's hard labels and soft targets side by side in y_true: the
    # crossentropy of the labels' part is not "categorical_crossentropy" of the whole.
    source = """\
import keras


def kd_loss(y_true, y_pred):
    y_true, y_soft = y_true[:, :10], y_true[:, 10:]
    y_pred, p_soft = y_pred[:, :10], y_pred[:, 10:]
    hard = keras.losses.categorical_crossentropy(y_true, y_pred)
    soft = keras.losses.kl_divergence(y_soft, p_soft)
    return 0.9 * hard + 0.1 * soft


model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(20, activation="softmax")])
model.compile(loss=kd_loss, optimizer="adam")
"""
    found = _ll502(tmp_path, source)
    assert '"categorical_crossentropy"' not in found.message
    assert "computes y_true, y_pred as the loss does" in found.message
    whole = _ll502(
        tmp_path, source.replace("y_true[:, :10]", "y_true").replace("y_pred[:, :10]", "y_pred")
    )
    assert '"categorical_crossentropy"' in whole.message


def test_ll502_offers_no_builtin_metric_for_a_term_only_named_like_one(tmp_path: Path) -> None:
    """``mse_loss`` of values the loss derives (a head-pose loss's expected angle against the
    labels' second column) is not Keras's "mse" of its inputs: the advice asks for a function."""
    found = _ll502(
        tmp_path,
        """\
import tensorflow as tf

def angle_loss(y_true, y_pred):
    cls_loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(
        labels=tf.one_hot(tf.cast(y_true[:, 0], tf.int32), 66), logits=y_pred))
    expected = tf.reduce_sum(tf.nn.softmax(y_pred) * tf.range(66.0), 1) * 3 - 99
    mse_loss = tf.reduce_mean(tf.square(expected - y_true[:, 1]))
    return cls_loss + 0.5 * mse_loss

model = tf.keras.Sequential([tf.keras.layers.Dense(66)])
model.compile(optimizer="adam", loss=angle_loss)
""",
    )
    assert "metrics do not track cls_loss, mse_loss:" in found.message
    assert '"mse"' not in found.message
    assert found.message.endswith("returning mse_loss>]")


_CONFIGURED = """\
import keras
from keras import ops


def logits_loss(y_true, y_pred):
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)(y_true, y_pred)
    huber = keras.losses.Huber(delta=2.0)(y_true, y_pred)
    return cross_entropy + huber


model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile(loss=logits_loss, optimizer="adam")
model.fit(ops.ones((2, 4)), ops.ones((2, 1)))
"""


def test_ll502_advises_a_metric_with_the_settings_of_the_loss_object(tmp_path: Path) -> None:
    """The metric named like the term (``"binary_crossentropy"``) would read the logits as
    probabilities: the advice keeps ``from_logits=True`` (and Huber's ``delta``)."""
    found = _ll502(tmp_path, _CONFIGURED)
    assert found.message.endswith(
        "compile with metrics=[keras.metrics.BinaryCrossentropy(from_logits=True), "
        "keras.losses.Huber(delta=2.0)]"
    )


_GRAPH_VAE = """\
from keras import backend as K
from keras import metrics
from keras.layers import Dense, Input
from keras.models import Model

x = Input(shape=(784,))
h = Dense(256, activation="relu")(x)
z_mean = Dense(2)(h)
z_log_var = Dense(2)(h)
decoded = Dense(784, activation="sigmoid")(z_mean)


def vae_loss(x, x_decoded_mean):
    xent_loss = 784 * metrics.binary_crossentropy(x, x_decoded_mean)
    kl_loss = -0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
    return K.mean(xent_loss + kl_loss)


vae = Model(x, decoded)
vae.compile(optimizer="rmsprop", loss=vae_loss)
vae.fit(x, x)
"""


def test_ll502_counts_a_term_of_the_graph_tensors_the_loss_reads(tmp_path: Path) -> None:
    """The Keras 2 books' VAE: the KL term reads the encoder's outputs, not the loss's
    inputs, and both terms are under one mean; each is a term the log cannot show."""
    found = _ll502(tmp_path, _GRAPH_VAE)
    assert "adds up 2 terms (xent_loss + kl_loss)" in found.message
    assert "do not track xent_loss, kl_loss" in found.message
    assert found.line == 20
