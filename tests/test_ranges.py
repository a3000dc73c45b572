"""The value-range analysis: total arithmetic, guards from control flow, and the op catalogue."""

from __future__ import annotations

import ast
import math
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from losslint.analysis import ops, ranges
from losslint.analysis.ranges import INF, Range, RangeAnalysis, _Frame
from losslint.index.module import index_module
from losslint.index.project import ProjectIndex
from tests.helpers import check

# -- total arithmetic -------------------------------------------------------------------------

_ENDS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 1e308, -1e308, INF, -INF, math.nan, 1.0, -1.0]),
    st.integers(min_value=-(10**400), max_value=10**400).map(ranges.to_float),
)


@st.composite
def _ranges(draw: st.DrawFn) -> Range | None:
    if draw(st.integers(0, 9)) == 0:
        return None  # unknown
    return Range(
        draw(_ENDS),
        draw(_ENDS),
        draw(st.booleans()),
        draw(st.booleans()),
        nonzero=draw(st.booleans()),
        diagonal=draw(st.booleans()),
    )


def _valid(value: Range | None) -> None:
    if value is None:
        return
    assert not math.isnan(value.lo) and not math.isnan(value.hi)
    assert value.lo <= value.hi


_BOUNDED = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@_BOUNDED
@given(_ranges(), _ranges(), _ranges())
def test_transfer_functions_are_total(a: Range | None, b: Range | None, c: Range | None) -> None:
    """Every transfer is defined for every interval: ±inf, NaN, 0 and subnormal ends."""
    _valid(ranges._join(a, b))
    _valid(ranges._maximum(a, b))
    _valid(ranges._minimum(a, b))
    _valid(ranges._clip(a, b, c))
    _valid(ranges._add_any(a, b))
    _valid(ranges._mul_any(a, b))
    _valid(ranges._quotient(a, b))
    if a is not None and b is not None:
        _valid(ranges._add(a, b))
        _valid(ranges._mul(a, b))
        _valid(ranges._negate(a))
        _valid(ranges._reduce_sum(a))
        a.may_be_zero()
    for op in ("<", "<=", ">", ">=", "==", "!=", "?"):
        for bound in (0.0, 1.0, -INF, INF, math.nan):
            _valid(ranges.refine(a, op, bound))


def _analysis_frame() -> tuple[RangeAnalysis, _Frame]:
    source = "import keras\nfrom keras import ops\n"
    module = index_module(ast.parse(source), source, "m.py", "m")
    analysis = RangeAnalysis(ProjectIndex([module]))
    return analysis, _Frame(module, "m", {}, {})


_TRANSFERS = sorted(
    {op.range for op in (*ops.FUNCTIONS.values(), *ops.METHODS.values())} - {"unknown"}
)


@_BOUNDED
@given(st.sampled_from(_TRANSFERS), st.lists(_ranges(), min_size=0, max_size=3))
def test_every_catalogue_transfer_is_total(op: str, values: list[Range | None]) -> None:
    """The analysis applies each catalogue transfer to arbitrary intervals without raising."""
    analysis, frame = _analysis_frame()
    names = ["a", "b", "c"][: len(values)]
    # where/cond go through the call itself (guards on each branch): spell them as keras.ops.
    callee = f"ops.{op}" if op in ("where", "cond") else "f"
    node = ast.parse(f"{callee}({', '.join(names)})", mode="eval").body
    assert isinstance(node, ast.Call)
    for name, value in zip(names, values, strict=True):
        frame.env[name] = value
    if op in ("where", "cond"):
        result = analysis._call(node, frame, 0)
    else:
        result = analysis._apply(op, node, list(node.args), values, frame)
    _valid(result)


# -- reproducers: findings or nothing, within 2 s, never an exception --------------------------

_DEEP = "ops.abs(" * 164 + "y_pred" + ")" * 164
_WIDE = " + ".join(f"y_pred * {i}" for i in range(500))


@pytest.mark.parametrize(
    "body",
    [
        "EPS = 10**400\n\ndef loss(y_true, y_pred):\n    return ops.mean(ops.log(y_pred + EPS))",
        "def loss(y_true, y_pred):\n    return ops.mean(ops.exp(ops.maximum(y_pred, 1000.0)))",
        "def loss(y_true, y_pred):\n    return ops.mean(ops.square(ops.maximum(y_pred, 1e200)))",
        "def loss(y_true, y_pred):\n    return 1.0 / ops.clip(y_true + 3.0, y_pred, 0.0)",
        "def loss(y_true, y_pred):\n    return ops.mean(ops.log(y_pred ** 10**400))",
        "def loss(y_true, y_pred):\n    return ops.log(ops.clip(y_pred, 1e-320, 10**400))",
        f"def loss(y_true, y_pred):\n    return ops.mean({_DEEP})",
        f"def loss(y_true, y_pred):\n    return ops.mean({_WIDE})",
        f"def helper(y_pred):\n    return {_WIDE}\n\n"
        "def loss(y_true, y_pred):\n    return ops.mean(ops.log(helper(y_pred)))",
    ],
    ids=[
        "huge-int-eps",
        "exp-1000",
        "square-1e200",
        "clip-inverted",
        "huge-power",
        "subnormal-clip",
        "164-nested-calls",
        "500-term-sum",
        "500-term-helper",
    ],
)
def test_extreme_code_gives_findings_or_nothing(tmp_path: Path, body: str) -> None:
    source = (
        "import keras\nfrom keras import ops\n\n"
        + body
        + "\n\nmodel = keras.Sequential([keras.layers.Dense(1)])\nmodel.compile(loss=loss)\n"
    )
    path = tmp_path / "extreme.py"
    path.write_text(source, encoding="utf-8")
    start = time.perf_counter()
    diagnostics = check(path)  # raises on an internal error
    assert time.perf_counter() - start < 2.0
    assert all(d.code != "LL000" for d in diagnostics)


def test_inverted_clip_bounds_reach_zero(tmp_path: Path) -> None:
    """``clip(x, lo, 0)`` with ``lo`` above 0 is 0 on NumPy/JAX: dividing by it is reported."""
    path = tmp_path / "clip.py"
    path.write_text(
        textwrap.dedent(
            """\
            import keras
            from keras import ops

            def loss(y_true, y_pred):
                return 1.0 / ops.clip(y_true + 3.0, y_pred, 0.0)

            keras.Model().compile(loss=loss)
            """
        ),
        encoding="utf-8",
    )
    assert [d.code for d in check(path)] == ["LL304"]


def test_the_double_where_keeps_the_branch_that_divides(tmp_path: Path) -> None:
    """``where(equal(g, 0), 0.0, g / f)`` divides where its condition is false: the advice
    guards the denominator there (``where(equal(g, 0), 1, d)``), not where it holds."""
    path = tmp_path / "cindex.py"
    path.write_text(
        textwrap.dedent(
            """\
            import keras
            import tensorflow as tf

            def concordance(y_true, y_pred):
                f = tf.cast(y_true > 0.5, tf.float32)
                g = tf.reduce_sum(y_pred * f)
                f = tf.reduce_sum(f)
                return tf.where(tf.equal(g, 0), 0.0, g / f)

            keras.Model().compile(loss=concordance)
            """
        ),
        encoding="utf-8",
    )
    (found,) = [d for d in check(path) if d.code == "LL304"]
    assert "where tf.equal(g, 0) holds" in found.message
    assert found.message.endswith("x / ops.where(tf.equal(g, 0), 1, d)")


def _hazards(source: str) -> list[ranges.Hazard]:
    source = "import numpy as np\nimport tensorflow as tf\n" + textwrap.dedent(source)
    module = index_module(ast.parse(source), source, "m.py", "m")
    return ranges.find_hazards(ProjectIndex([module]))


def test_a_numpy_ratio_over_an_overflowing_exp_is_exact() -> None:
    """1 / (1 + np.exp(-x)) is 0 for very negative x, with no gradient to poison; the same in
    TensorFlow has a NaN gradient, and np.log(1 + np.exp(x)) is inf as a value."""
    numpy_ratio = "def sig_loss(y_true, y_pred):\n    return 1.0 / (1.0 + np.exp(-y_pred))\n"
    tf_ratio = "def sig_loss(y_true, y_pred):\n    return 1.0 / (1.0 + tf.exp(-y_pred))\n"
    numpy_log = "def sp_loss(y_true, y_pred):\n    return np.log(1.0 + np.exp(y_pred))\n"
    assert [h.kind for h in _hazards(numpy_ratio)] == []
    assert [h.kind for h in _hazards(tf_ratio)] == ["exp"]
    assert [h.kind for h in _hazards(numpy_log)] == ["exp"]


def test_a_numpy_reference_implementation_is_not_loss_code() -> None:
    reference = """
        def numpy_focal_loss(y_true, y_pred):
            y_true = np.asarray(y_true)
            return -np.mean(y_true * np.log(y_pred))
    """
    compiled = (
        textwrap.dedent(reference)
        + "\nimport keras\nkeras.Model().compile(loss=numpy_focal_loss)\n"
    )
    assert _hazards(reference) == []
    assert [h.kind for h in _hazards(compiled)] == ["log"]


def test_a_finite_test_handles_only_what_its_value_was_computed_with() -> None:
    """``if is_nan(v): v = 0`` handles the hazards of v's expression, carried through names
    even where the range is unknown; an attribute assigned elsewhere (``self.rate``) is not a
    name that carries them, and a test that only looks handles nothing."""
    source = """
    import tensorflow as tf
    from helpers import unknown

    def handled_loss(y_true, y_pred):
        r = unknown(y_true) / tf.reduce_sum(y_pred, axis=-1)
        r = tf.cast(r, tf.float32)
        if tf.math.is_nan(r):
            r = tf.zeros_like(r)
        return r

    def looked_at_loss(y_true, y_pred):
        r = unknown(y_true) / tf.reduce_sum(y_pred, axis=-1)
        if tf.math.is_nan(r):
            tf.print("nan")
        return r

    class Tracker:
        def other_loss(self, y_true, y_pred):
            self.rate = unknown(y_true) / tf.reduce_sum(y_pred, axis=-1)
            other = self.scale * tf.reduce_mean(y_pred, axis=-1)
            if tf.math.is_nan(other):
                other = 0.0
            return self.rate + other
    """
    lines = sorted(h.span.line for h in _hazards(source) if h.kind == "divide")
    assert lines == [15, 22]  # looked_at_loss and other_loss (the prefix adds 3 lines)


def test_a_site_reached_from_two_losses_gets_the_same_reason_in_either_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A helper's log reached from two losses with different reasons is one finding, and which
    reason it gives does not depend on the order the losses are analysed in (the order of the
    files in the tree): a cached or partial run must say what a full run says."""
    source = textwrap.dedent(
        """
        import tensorflow as tf

        def safe_log(x):
            return tf.math.log(x)

        def relu_loss(y_true, y_pred):
            return -y_true * safe_log(tf.nn.relu(y_pred))

        def raw_loss(y_true, y_pred):
            return -y_true * safe_log(y_pred)
        """
    )
    module = index_module(ast.parse(source), source, "m.py", "m")
    forward = ranges.find_hazards(ProjectIndex([module]))
    definitions = ProjectIndex.definitions
    monkeypatch.setattr(ProjectIndex, "definitions", lambda self: list(reversed(definitions(self))))
    backward = ranges.find_hazards(ProjectIndex([module]))
    assert [h.span.line for h in forward] == [5]
    assert forward == backward


def test_gradient_hazards_of_the_labels_alone_are_silent_through_helpers() -> None:
    """No gradient flows into the labels: a norm of a helper's parameter that the loss hands
    ``y_true`` (a spectral convergence's ``norm(S)``), or a root of what is unpacked from them
    (Sobel edges of the target), has no infinite derivative to take. The same of the prediction
    still does, and so does a division by the label's norm (a value hazard)."""
    helper = """
        def spectral_convergence(y, y_hat, frame_length=1024):
            s = tf.abs(tf.signal.stft(y, frame_length, 256))
            s_hat = tf.abs(tf.signal.stft(y_hat, frame_length, 256))
            den = tf.norm(s, ord="euclidean", axis=[-2, -1])
            num = tf.norm(s_hat, ord="euclidean", axis=[-2, -1])
            return num / (den + 1e-7)

        def loss(y_true, y_pred):
            return spectral_convergence(y_true, y_pred)
    """
    # Parameters not named like a loss's: the helper is analysed only as the loss calls it.
    named = helper.replace("(y, y_hat,", "(reference, estimate,").replace("(y,", "(reference,")
    named = named.replace("(y_hat,", "(estimate,")
    swapped = named.replace("convergence(y_true, y_pred)", "convergence(y_pred, y_true)")
    unpacked = """
        def edge_loss(y_true, y_pred):
            gx, gy = tf.unstack(tf.image.sobel_edges(y_true), num=2, axis=-1)
            px, py = tf.unstack(tf.image.sobel_edges(y_pred), num=2, axis=-1)
            return tf.sqrt(tf.square(gx) + tf.square(gy)) - tf.sqrt(tf.square(px) + tf.square(py))
    """
    divided = """
        def relative(y, y_hat):
            return tf.norm(y_hat - y) / tf.norm(y)

        def loss(y_true, y_pred):
            return relative(y_true, y_pred)
    """
    assert [(h.kind, h.span.line) for h in _hazards(helper)] == [("sqrt", 8)]
    assert [(h.kind, h.span.line) for h in _hazards(named)] == [("sqrt", 8)]
    assert [(h.kind, h.span.line) for h in _hazards(swapped)] == [("sqrt", 7)]
    assert [(h.kind, h.span.line) for h in _hazards(unpacked)] == [("sqrt", 7)]
    assert sorted(h.kind for h in _hazards(divided)) == ["divide", "sqrt"]


def test_complementary_counts_are_the_element_count() -> None:
    """HED's class balance: ``sum(1 - y) + sum(y)`` counts every pixel, so it is never 0, and
    nor are the sums of ``x > m`` and ``x <= m``; ``1 - beta`` still is where no pixel is an
    edge. Sums that are not complements (of two tensors, over other axes) can still be 0."""
    balanced = """
        def balanced(y_true, y_pred):
            y_true = tf.cast(y_true, tf.float32)
            count_neg = tf.reduce_sum(1.0 - y_true)
            count_pos = tf.reduce_sum(y_true)
            beta = count_neg / (count_neg + count_pos)
            pos_weight = beta / (1 - beta)
            return tf.nn.weighted_cross_entropy_with_logits(y_true, y_pred, pos_weight)
    """
    compared = """
        def ratio(y_true, y_pred):
            excluded = tf.reduce_sum(tf.cast(y_true > 192.0, tf.float32))
            included = tf.reduce_sum(tf.cast(y_true <= 192.0, tf.float32))
            return tf.abs(y_pred - y_true) * included / (excluded + included)
    """
    assert [(h.kind, h.span.line) for h in _hazards(balanced)] == [("divide", 9)]
    assert _hazards(compared) == []
    for changed in (
        balanced.replace("tf.reduce_sum(y_true)", "tf.reduce_sum(y_pred)"),
        balanced.replace("tf.reduce_sum(y_true)", "tf.reduce_sum(y_true, axis=-1)"),
        compared.replace("y_true <= 192.0", "y_true < 192.0"),
    ):
        assert "divide" in [h.kind for h in _hazards(changed)][:1], changed


def test_a_prediction_made_by_a_layer_of_the_project_is_not_read_as_any_sign() -> None:
    """The compiled model ends in a layer class of the project (a Gaussian head whose ``call``
    floors its scale): the loss's ``y_pred`` is what that code makes, which the analysis does
    not evaluate, as for a ``Lambda``. Ending in a plain ``Dense``, the scale is any sign."""
    source = """
        import keras

        class DenseNormal(keras.layers.Layer):
            def __init__(self, units, eps=1e-7):
                super().__init__()
                self.dense = keras.layers.Dense(2 * units)
                self.eps = eps

            def call(self, x):
                mu, sigma = tf.split(self.dense(x), 2, axis=-1)
                return tf.concat([mu, tf.maximum(tf.nn.softplus(sigma), self.eps)], axis=-1)

        def gaussian_nll(y, y_pred):
            mu, sigma = tf.split(y_pred, 2, axis=-1)
            return tf.math.log(sigma) + 0.5 * ((y - mu) / sigma) ** 2

        inputs = keras.Input((8,))
        outputs = DenseNormal(1)(keras.layers.Dense(16, activation="relu")(inputs))
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss=gaussian_nll)
    """
    assert _hazards(source) == []
    dense = source.replace("outputs = DenseNormal(1)(", "outputs = keras.layers.Dense(2)(")
    assert sorted(h.kind for h in _hazards(dense)) == ["divide", "log"]


def test_a_loss_picked_in_branches_of_init_is_given_the_compiled_output() -> None:
    """``self.loss`` is one of two ``Loss`` classes by a setting, and the model ends in the
    project's own layer: whichever runs, its ``y_pred`` is that layer's output, not a value of
    any sign. With a plain ``Dense`` last, both classes' logs of the scale are reported."""
    source = """
        import keras

        class Positive(keras.layers.Layer):
            def call(self, x):
                return tf.maximum(tf.nn.softplus(x), 1e-6)

        class LogScale(keras.losses.Loss):
            def call(self, y_true, y_pred):
                return tf.reduce_mean(tf.math.log(y_pred) + y_true / y_pred, axis=-1)

        class SqrtScale(keras.losses.Loss):
            def call(self, y_true, y_pred):
                return tf.reduce_mean(tf.math.log(y_pred) - y_true, axis=-1)

        class Regressor:
            def __init__(self, loss="log"):
                if loss == "log":
                    self.loss = LogScale()
                else:
                    self.loss = SqrtScale()
                inputs = keras.Input((8,))
                outputs = Positive()(keras.layers.Dense(1)(inputs))
                self.model = keras.Model(inputs, outputs)
                self.model.compile(optimizer="adam", loss=self.loss)
    """
    assert _hazards(source) == []
    dense = source.replace("outputs = Positive()(", "outputs = keras.layers.Dense(1)(")
    assert sorted(h.kind for h in _hazards(dense)) == ["divide", "log", "log"]


def test_a_constant_over_an_exp_tells_of_its_gradient_not_of_inf_over_inf() -> None:
    """A mixture density network's ``norm = c / sigma`` with ``sigma = exp(out_sigma)``: the
    quotient is 0 where exp overflows (no inf/inf), but its gradient is 0 * inf = NaN (measured
    on TensorFlow 2.21: ``0.4 / exp(100.)`` is 0 with gradient NaN). A sigmoid written out,
    ``1 / (1 + exp(-x))``, keeps the advice to use the library's own."""
    mixture = """
        def mdn_nll(y_true, y_pred):
            sigma = tf.exp(y_pred[:, 1:])
            norm = 0.4 / sigma
            return -tf.math.log(norm * tf.exp(-0.5 * tf.square((y_true - y_pred[:, :1]) / sigma)))
    """
    sigmoid = """
        def my_loss(y_true, y_pred):
            p = 1.0 / (1.0 + tf.exp(-y_pred))
            return tf.square(y_true - p)
    """
    (first, *_) = [h for h in _hazards(mixture) if h.kind == "exp"]
    assert first.span.line == 6  # (two import lines above)
    assert "the quotient is 0 but its gradient is 0 * inf = NaN" in first.message
    assert "inf/inf" not in first.message
    (written,) = [h for h in _hazards(sigmoid) if h.kind == "exp"]
    assert "ops.sigmoid for 1/(1+exp(-x))" in written.message


def test_a_column_picked_by_a_literal_keeps_its_own_range() -> None:
    """``K.dot(K.constant([1, 0, 0], shape=(1, 3)), K.transpose(y_pred))`` is a column of the
    prediction, not a linear map of any sign: the log of 1 + a sigmoid column is safe, the log
    of the column itself is not (it reaches 0), and a weight of any sign is still any sign."""
    source = """
        import keras
        from keras import backend as K

        def nll(y_true, y_pred):
            scale = K.dot(K.constant([1, 0, 0], shape=(1, 3)), K.transpose(y_pred))
            return -tf.math.log(scale + 1.0)

        inputs = keras.Input((8,))
        model = keras.Model(inputs, keras.layers.Dense(3, activation="sigmoid")(inputs))
        model.compile(optimizer="adam", loss=nll)
    """
    assert _hazards(source) == []
    bare = _hazards(source.replace("scale + 1.0", "scale"))
    assert [h.kind for h in bare] == ["log"]
    assert "any sign" not in bare[0].message
    signed = _hazards(source.replace("[1, 0, 0]", "[1, -1, 0]").replace("scale + 1.0", "scale"))
    assert [h.kind for h in signed] == ["log"]
    assert "any sign" in signed[0].message


def test_a_mean_of_exps_is_zero_only_if_every_one_underflows() -> None:
    """L-LAAF's slope recovery, ``1 / reduce_mean(exp(alphas))`` of trainable slopes: an exp is
    0 only by underflow, whatever its input, and a mean of them only if all underflow at once.
    The same mean of exps times a prediction that can be 0 is still reported."""
    source = """
        class Pinn:
            def train(self, x):
                with tf.GradientTape() as tape:
                    loss = tf.reduce_mean(tf.square(self.net(x)))
                    loss += 1.0 / tf.reduce_mean(tf.exp(self.alphas))
                grads = tape.gradient(loss, self.params)
                return grads
    """
    assert _hazards(source) == []
    masked = source.replace("tf.exp(self.alphas)", "tf.exp(self.alphas) * tf.nn.relu(self.net(x))")
    assert [h.kind for h in _hazards(masked)] == ["divide"]


_MIXTURE_MODEL = """
    from keras import backend as K
    from keras.activations import exponential


    class SketchModel:
        def coefficients(self, output):
            mu, log_sigma, corr = tf.split(output, 3, axis=-1)
            sigma = exponential(K.minimum(log_sigma, 5.0))
            rho = K.tanh(corr)
            parts = [mu, sigma, rho]
            return parts

        def density(self, x, mu, sigma, rho):
            neg_rho = 1.0 - K.square(rho)
            denominator = sigma * K.sqrt(neg_rho)
            return K.square(x - mu) / denominator

        def reconstruction(self, y_true, y_pred):
            out = self.coefficients(y_pred)
            [mu, sigma, rho] = out
            return self.density(y_true, mu, sigma, rho)

        def model_loss(self):
            reconstruction_func = self.reconstruction

            def loss(y_true, y_pred):
                return reconstruction_func(y_true, y_pred)

            return loss
"""


def test_a_mixture_loss_is_followed_through_a_returned_list_and_a_closure_alias() -> None:
    """``parts = [...]; return parts`` then ``out = self.coefficients(y_pred)`` and
    ``[mu, sigma, rho] = out``: each name gets its element's range; the closure the model
    compiles calls the method through ``reconstruction_func = self.reconstruction``. The root
    of ``1 - tanh(x) ** 2`` and the division by it are reported, the division naming the
    factor that reaches 0 exactly, not the exp that could underflow."""
    found = {(h.kind, h.message.partition(",")[0]) for h in _hazards(_MIXTURE_MODEL)}
    assert ("sqrt", "sqrt of neg_rho") in found
    divisions = [h.message for h in _hazards(_MIXTURE_MODEL) if "by denominator" in h.message]
    assert divisions and "K.square(rho) reaches 1" in divisions[0]
    assert "exp underflows" not in divisions[0]


def test_the_log_of_a_squared_exp_scale_is_advised_as_its_argument() -> None:
    """``log(eps + square(sigma))`` with ``sigma = exp(z)``: ``square`` keeps the exp's
    overflow (it comes sooner), and the advice is the log-scale itself, not a softplus."""
    source = """
        def kl_from_scale(y_true, y_pred):
            sigma = tf.exp(y_pred)
            return tf.reduce_sum(tf.square(sigma) - tf.math.log(1e-10 + tf.square(sigma)), -1)
    """
    (found,) = [h for h in _hazards(source) if "log of" in h.message]
    assert "log(sigma ** 2) is 2 * the exp's argument" in found.message
    assert "softplus" not in found.message
