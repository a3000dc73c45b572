"""The op catalogue: what each tensor operation does to a value's range and to the batch axis.

One table, read by both shared analyses (:mod:`losslint.analysis.ranges` for LL3xx and
:mod:`losslint.analysis.batch_axis` for LL2xx/LL5xx), so that they cannot disagree about an
operation. Functions are keyed by their last name component and apply in every module of
:data:`losslint.index.names.TENSOR_MATH_MODULES` (``keras.ops.log``, ``K.log``,
``tf.math.log``, ``np.log``, ``jnp.log``, ``torch.log`` ...); :data:`METHODS` holds the tensor
methods (``x.log()``, ``x.clamp(min=eps)``, torch and NumPy style).

Each entry says:

- ``range``: the transfer function of the value-range analysis (see ``RangeAnalysis._apply``);
  ``"unknown"`` means the result is unknown, which keeps every rule silent about it.
- ``batch``: how the batch axis fares: ``elementwise`` (broadcasting, keeps it), ``sum`` /
  ``mean`` / ``reduce`` (reduces the ``axis`` argument; all axes without one), ``argreduce``,
  ``last_axis`` (one value per sample: the Keras crossentropies), ``flatten``, ``mixes``
  (gathers elements of several samples into one axis: ``boolean_mask``, ``gather_nd``), ``map``
  (maps a function over the first axis of its second argument: ``tf.map_fn``),
  ``shape`` (shape handling read from the arguments: ``reshape``, ``squeeze`` ...),
  ``constant`` (builds a value from no tensor: ``ones``, ``eye``) or ``unknown``.
- ``guard``: the operation exists to keep a value in a safe range (``clip``, ``maximum``,
  ``divide_no_nan``); throwing its result away is LL308.

The names are checked against the installed ``keras.ops`` namespace by the test suite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Op:
    range: str
    batch: str
    guard: bool = False


def _table(*groups: tuple[str, Op]) -> dict[str, Op]:
    table: dict[str, Op] = {}
    for spelled, op in groups:
        for name in spelled.split():
            if name in table:  # one meaning per name, or the two analyses could disagree again
                raise ValueError(f"{name!r} is in the op catalogue twice")
            table[name] = op
    return table


_E: Final = "elementwise"

FUNCTIONS: Final[Mapping[str, Op]] = _table(
    # -- logarithms, roots, exponentials: the LL3xx hazards -----------------------------------
    ("log log2 log10", Op("log", _E)),
    ("log1p", Op("log1p", _E)),
    ("sqrt", Op("sqrt", _E)),
    ("rsqrt", Op("rsqrt", _E)),
    ("exp expm1 exp2 exponential", Op("exp", _E)),  # (keras.activations.exponential)
    ("divide truediv div true_divide realdiv", Op("divide", _E)),
    ("divide_no_nan div_no_nan", Op("divide_no_nan", _E, guard=True)),
    ("reciprocal", Op("reciprocal", _E)),
    ("reciprocal_no_nan", Op("reciprocal_no_nan", _E, guard=True)),
    ("pow power float_power", Op("pow", _E)),
    ("square", Op("square", _E)),
    ("squared_difference", Op("square", _E)),
    ("abs absolute fabs", Op("abs", _E)),
    ("clip clip_by_value clamp", Op("clip", _E, guard=True)),
    ("maximum fmax", Op("maximum", _E, guard=True)),
    ("minimum fmin", Op("minimum", _E, guard=True)),
    ("multiply mul scalar_mul", Op("multiply", _E)),
    ("add", Op("add", _E)),
    ("subtract sub", Op("subtract", _E)),
    ("negative neg", Op("negative", _E)),
    ("arccos acos", Op("acos", _E)),
    ("arcsin asin", Op("asin", _E)),
    # -- activations and normalizers -----------------------------------------------------------
    ("sigmoid expit hard_sigmoid sparse_sigmoid", Op("sigmoid", _E)),
    ("softmax sparsemax", Op("softmax", _E)),
    ("log_softmax log_sigmoid logsigmoid", Op("nonpositive", _E)),
    ("softplus squareplus sparse_plus", Op("softplus", _E)),
    ("cos sin", Op("unit", _E)),
    ("tanh sign hard_tanh softsign erf", Op("odd_unit", _E)),
    ("relu relu6", Op("relu", _E)),
    ("l2_normalize normalize", Op("normalize", _E, guard=True)),
    ("cosh", Op("at_least_one", _E)),
    (
        "elu selu celu gelu silu swish hard_silu hard_swish mish leaky_relu glu soft_shrink "
        "hard_shrink tanh_shrink threshold sinh tan arctan atan arctanh atanh arcsinh asinh "
        "arccosh acosh arctan2 atan2 cbrt deg2rad rad2deg erfinv sinc "
        "fmod mod floor_divide floordiv remainder hypot logaddexp logaddexp2 ldexp nextafter "
        "heaviside copysign i0 polar angle real imag conj conjugate xlogy log_cosh",
        Op("unknown", _E),
    ),
    ("erfc", Op("nonnegative", _E)),
    ("round rint floor ceil trunc", Op("round", _E)),
    # -- comparisons and predicates: 0/1 values ------------------------------------------------
    (
        "equal not_equal greater greater_equal less less_equal logical_and logical_or "
        "logical_not logical_xor isclose isnan isinf isfinite is_nan is_inf is_finite isneginf "
        "isposinf isreal signbit isin in_top_k",
        Op("boolean", _E),
    ),
    ("one_hot multi_hot", Op("boolean", "shape")),
    (
        "bitwise_and bitwise_invert bitwise_not bitwise_or bitwise_xor bitwise_left_shift "
        "bitwise_right_shift left_shift right_shift gcd lcm",
        Op("unknown", _E),
    ),
    # -- selection ------------------------------------------------------------------------------
    ("where switch select", Op("where", _E)),
    ("cond", Op("cond", "unknown")),
    ("nan_to_num", Op("sanitize", _E, guard=True)),
    # -- value-preserving: cast, copy, layout -----------------------------------------------
    (
        "cast saturate_cast convert_to_tensor to_float to_int32 stop_gradient identity copy "
        "asarray array constant _to_tensor",
        Op("identity", _E),
    ),
    ("broadcast_to", Op("identity", "unknown")),
    (
        "transpose permute_dimensions swapaxes moveaxis flip fliplr flipud roll rot90 reverse "
        "gather take take_along_axis tile repeat repeat_elements get_item slice sort "
        "diagonal diag_part trace_values",
        Op("identity", "unknown"),
    ),
    ("reshape squeeze expand_dims unsqueeze", Op("identity", "shape")),
    # Pieces of a tensor, each within its range: ``a, b = tf.split(x, 2, axis=1)``.
    ("split array_split hsplit vsplit dsplit unstack unbind tensor_split", Op("split", "unknown")),
    ("batch_flatten", Op("identity", "shape")),
    ("flatten ravel", Op("identity", "flatten")),
    ("boolean_mask gather_nd masked_select", Op("identity", "mixes")),
    ("concatenate concat stack hstack vstack dstack append", Op("unknown", "shape")),
    ("diag diagflat matrix_diag", Op("diag", "unknown")),
    # A triangle or band of the last two axes, the rest zeroed (TF 1's ``matrix_band_part``):
    # the shape, and the batch axis, stay.
    ("tril triu band_part matrix_band_part", Op("diag", _E)),
    # -- reductions ----------------------------------------------------------------------------
    ("sum reduce_sum nansum", Op("sum", "sum")),
    # ``tf.nn.l2_loss(t)``: half the sum of squares over every axis, the batch's too; 0 or
    # more, and 0 where t is (``tf.sqrt(tf.nn.l2_loss(y_true - y_pred))``).
    ("l2_loss", Op("nonnegative", "sum")),
    # Counts of what a batch holds: 0 for a class it does not have (a confusion matrix's column
    # for a class never predicted, ``count_nonzero`` of an empty mask).
    ("count_nonzero", Op("counts", "sum")),
    ("bincount confusion_matrix", Op("counts", "unknown")),
    # ``tf.gradients(d_out, x)[0]``: any sign, and 0 where the function is flat (a gradient
    # penalty's norm of it is the WGAN-GP hazard).
    ("gradients", Op("gradient", "unknown")),
    ("cumsum nancumsum", Op("sum", "unknown")),
    ("mean reduce_mean nanmean average median nanmedian", Op("mean", "mean")),
    (
        "max reduce_max amax min reduce_min amin nanmax nanmin quantile nanquantile percentile "
        "nanpercentile",
        Op("extreme", "reduce"),
    ),
    ("prod reduce_prod nanprod", Op("unknown", "reduce")),
    ("cumprod nancumprod", Op("unknown", "unknown")),
    ("std reduce_std nanstd var reduce_variance nanvar ptp", Op("spread", "reduce")),
    ("logsumexp reduce_logsumexp", Op("logsumexp", "reduce")),
    ("any all reduce_any reduce_all", Op("boolean", "reduce")),
    ("norm", Op("norm", "reduce")),
    ("argmax argmin nanargmax nanargmin", Op("unknown", "argreduce")),
    # ``mean, variance = tf.nn.moments(x, axes)``: the pair, read apart when it is unpacked.
    ("moments", Op("moments", "unknown")),
    # -- shapes and sizes ----------------------------------------------------------------------
    ("shape size int_shape", Op("count", "shape")),
    ("ndim rank", Op("count", "constant")),
    ("epsilon floatx", Op("unknown", "constant")),
    # -- constructors ---------------------------------------------------------------------------
    ("ones_like", Op("one", _E)),
    # Filled with the value given after the shape (``tf.fill(tf.shape(y), -100.0)``).
    ("full_like", Op("filled", _E)),
    ("empty_like", Op("unknown", _E)),
    ("zeros_like", Op("zero", _E)),
    ("ones", Op("one", "constant")),
    ("eye identity_matrix", Op("eye", "constant")),
    ("zeros", Op("zero", "constant")),
    ("full fill", Op("filled", "constant")),
    (
        "empty arange linspace logspace geomspace tri meshgrid "
        "bartlett blackman hamming hanning kaiser vander",
        Op("unknown", "constant"),
    ),
    # -- linear algebra: a linear map has any sign ---------------------------------------------
    ("matmul dot tensordot einsum inner outer vdot kron cross mm bmm", Op("linear", "unknown")),
    (
        "cholesky cholesky_inverse det eig eigh inv lstsq lu_factor matrix_rank pinv qr solve "
        "solve_triangular svd logdet slogdet cdist corrcoef correlate convolve trace",
        Op("unknown", "unknown"),
    ),
    # -- a function mapped over the first axis: the result keeps that axis ----------------------
    ("map map_fn vectorized_map", Op("unknown", "map")),
    # -- the rest of keras.ops, torch and TF that neither analysis interprets ------------------
    (
        "image linalg nn numpy associative_scan convert_to_numpy custom_gradient dtype "
        "fori_loop is_tensor scan scatter scatter_update slice_update "
        "while_loop rearrange jvp extract_sequences fft fft2 ifft2 irfft istft "
        "rfft segment_max segment_min segment_prod segment_sum stft top_k view_as_complex "
        "view_as_real adaptive_average_pool adaptive_max_pool average_pool batch_normalization "
        "conv conv_transpose ctc_decode ctc_loss depth_to_space depthwise_conv "
        "dot_product_attention fold layer_normalization max_pool rms_normalization "
        "separable_conv space_to_depth unfold allclose argpartition argsort "
        "diff digitize histogram nonzero pad searchsorted "
        "trapezoid unique unravel_index vectorize view psnr",
        Op("unknown", "unknown"),
    ),
    # -- whole-loss functions --------------------------------------------------------------------
    (
        "softmax_cross_entropy_with_logits softmax_cross_entropy_with_logits_v2 "
        "sparse_softmax_cross_entropy_with_logits categorical_crossentropy "
        "sparse_categorical_crossentropy",
        Op("unknown", "last_axis"),
    ),
    # ``keras.losses.cosine_similarity`` (the negative cosine) and the metric (the cosine): in
    # [-1, 1], reaching either end where the vectors are parallel.
    ("cosine_similarity", Op("cosine", "last_axis")),
    (
        "binary_crossentropy binary_focal_crossentropy sigmoid_cross_entropy_with_logits "
        "weighted_cross_entropy_with_logits binary_cross_entropy "
        "binary_cross_entropy_with_logits",
        Op("unknown", _E),
    ),
)

# Tensor methods (``y_pred.log()``, ``x.clamp(min=eps)``, ``x.sum(axis=1)``).
METHODS: Final[Mapping[str, Op]] = _table(
    ("log", Op("log", _E)),
    ("sqrt", Op("sqrt", _E)),
    ("exp", Op("exp", _E)),
    ("sum", Op("sum", "sum")),
    ("mean", Op("mean", "mean")),
    ("clamp clip", Op("clip", _E, guard=True)),
    ("clamp_min", Op("maximum", _E, guard=True)),
    ("clamp_max", Op("minimum", _E, guard=True)),
    ("pow", Op("pow", _E)),
    ("abs", Op("abs", _E)),
    ("square", Op("square", _E)),
    ("sigmoid", Op("sigmoid", _E)),
    ("softmax", Op("softmax", _E)),
    ("log_softmax", Op("nonpositive", _E)),
    ("norm", Op("norm", "reduce")),
    # ``tape.gradient(d_out, x)``: as ``tf.gradients``, 0 where the function is flat.
    ("gradient", Op("gradient", "unknown")),
    ("max min amax amin", Op("extreme", "reduce")),
    ("prod std var", Op("unknown", "reduce")),
    ("nansum", Op("sum", "sum")),
    ("nanmean", Op("mean", "mean")),
    ("any all", Op("boolean", "reduce")),
    ("logsumexp", Op("logsumexp", "reduce")),
    ("mul multiply", Op("multiply", _E)),
    ("add", Op("add", _E)),
    ("sub subtract", Op("subtract", _E)),
    ("div divide true_divide", Op("divide", _E)),
    (
        "float double half type astype to detach cpu cuda contiguous numpy clone",
        Op("identity", _E),
    ),
    ("flatten ravel", Op("identity", "flatten")),
    ("reshape view", Op("identity", "shape")),
)


# The range transfers that ``RangeAnalysis._apply`` implements; "unknown" keeps a value unknown.
TRANSFERS: Final = frozenset(
    {
        "log", "log1p", "sqrt", "rsqrt", "exp", "divide", "divide_no_nan", "reciprocal",
        "reciprocal_no_nan", "pow", "square", "abs", "clip", "maximum", "minimum", "multiply",
        "add", "subtract", "negative", "acos", "asin", "sigmoid", "softmax", "nonpositive",
        "softplus", "unit", "odd_unit", "relu", "normalize", "at_least_one", "nonnegative", "round",
        "boolean", "where", "cond", "sanitize", "identity", "split", "moments", "diag", "sum",
        "count", "counts", "mean", "extreme", "spread", "logsumexp", "norm", "one", "zero", "eye",
        "filled", "cosine",
        "linear", "gradient", "unknown",
    }
)  # fmt: skip
BATCH: Final = frozenset(
    {
        "elementwise", "sum", "mean", "reduce", "argreduce", "last_axis", "flatten", "mixes",
        "map", "shape", "constant", "unknown",
    }
)  # fmt: skip


_COMPAT: Final = ("tensorflow.compat.v1", "tensorflow.compat.v2")
# TensorFlow's own modules of ops, which its public names re-export (``from
# tensorflow.python.ops.math_ops import divide`` is ``tf.math.divide``).
_TF_OPS: Final = "tensorflow.python.ops."
_TF_OP_MODULES: Final = {
    "math_ops": "tensorflow.math",
    "gen_math_ops": "tensorflow.math",
    "special_math_ops": "tensorflow.math",
    "nn": "tensorflow.nn",
    "nn_ops": "tensorflow.nn",
    "nn_impl": "tensorflow.nn",
    "gen_nn_ops": "tensorflow.nn",
    "array_ops": "tensorflow",
    "gen_array_ops": "tensorflow",
    "clip_ops": "tensorflow",
    "linalg_ops": "tensorflow.linalg",
}
# TensorFlow's own framework modules whose functions it exports at its top (``from
# tensorflow.python.framework import ops``; ``ops.convert_to_tensor(logits)``, a port of
# ``sigmoid_cross_entropy_with_logits``, is ``tf.convert_to_tensor``).
_TF_FRAMEWORK: Final = frozenset(
    {"tensorflow.python.framework.ops", "tensorflow.python.framework.constant_op"}
)


def tensor_module(module: str) -> str:
    """``tensorflow.compat.v2.math`` is ``tensorflow.math`` for what an op does to a value
    (tf_keras imports ``tensorflow.compat.v2 as tf``), and so is TensorFlow's own
    ``tensorflow.python.ops.math_ops``; Keras 2.2's ``K.common.epsilon()`` is
    ``K.epsilon()``."""
    for prefix in _COMPAT:
        if module == prefix or module.startswith(prefix + "."):
            return "tensorflow" + module[len(prefix) :]
    if module.startswith(_TF_OPS):
        return _TF_OP_MODULES.get(module[len(_TF_OPS) :], module)
    if module in _TF_FRAMEWORK:
        return "tensorflow"
    if module == "keras.backend.common":  # Keras 2.2's home of epsilon() and floatx()
        return "keras.backend"
    return module


# The libraries that compute on arrays, not tensors, by the root of their modules, with the name
# a message gives them: a traced tensor reaches them only through ``np.asarray``.
_ARRAY_LIBRARIES: Final = {
    "numpy": "NumPy",
    "math": "Python math",
    "sklearn": "scikit-learn",
    "scipy": "SciPy",
}


def array_library(module: str) -> str | None:
    """The array library whose function a module's name holds, by its name for a message:
    NumPy's and math's top modules, any module of SciPy or scikit-learn's (``scipy.spatial.
    distance``, ``sklearn.metrics``), else None."""
    if module in ("numpy", "math"):
        return _ARRAY_LIBRARIES[module]
    root = module.partition(".")[0]
    if root == "scipy" or (root == "sklearn" and module != root):
        return _ARRAY_LIBRARIES[root]
    return None


# Keras's regression losses and metrics by name, as functions and as classes (``mse``,
# ``MeanSquaredError``): means of non-negative terms (squares, absolute values, Huber, log-cosh),
# 0 where the prediction is exact. LL110 reads them as regression losses; the value-range
# analysis as values that can be 0 (an RMSE's root).
REGRESSION_ERRORS: Final = frozenset(
    {
        "mse",
        "mae",
        "mape",
        "msle",
        "MSE",
        "MAE",
        "MAPE",
        "MSLE",
        "mean_squared_error",
        "mean_absolute_error",
        "mean_absolute_percentage_error",
        "mean_squared_logarithmic_error",
        "huber",
        "huber_loss",
        "log_cosh",
        "logcosh",
        "MeanSquaredError",
        "MeanAbsoluteError",
        "MeanAbsolutePercentageError",
        "MeanSquaredLogarithmicError",
        "Huber",
        "LogCosh",
    }
)

# Attributes that describe a tensor's layout: reading one reads none of its values.
LAYOUT_ATTRIBUTES: Final = frozenset({"shape", "ndim", "dtype"})


def names(batch: str | None = None, range_: str | None = None) -> frozenset[str]:
    """The function names whose entry has this batch behaviour / range transfer."""
    return frozenset(
        name
        for name, op in FUNCTIONS.items()
        if (batch is None or op.batch == batch) and (range_ is None or op.range == range_)
    )


# Functions mapping a function over the first axis of a tensor: ``tf.map_fn(f, elems)``,
# ``tf.vectorized_map(f, elems)``, ``keras.ops.map(f, xs)``.
MAPS: Final = names(batch="map")


def method_names(batch: str) -> frozenset[str]:
    return frozenset(name for name, op in METHODS.items() if op.batch == batch)


def function(name: str) -> Op | None:
    return FUNCTIONS.get(name)


def integer_valued(name: str | None) -> bool:
    """Whether the function ``name`` gives integers or 0/1 values whatever its input (a
    rounding, a comparison or mask, an index of an extreme, a floor division): no gradient
    flows back through it."""
    entry = FUNCTIONS.get(name) if name is not None else None
    return name in ("floordiv", "floor_divide") or (
        entry is not None and (entry.range in ("round", "boolean") or entry.batch == "argreduce")
    )


def method(name: str) -> Op | None:
    return METHODS.get(name)


def is_guard(name: str) -> bool:
    op = FUNCTIONS.get(name)
    return op is not None and op.guard
