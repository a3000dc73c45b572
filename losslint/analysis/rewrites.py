"""Fixes as data: the libcst edits a rule attaches to a finding (applied by ``losslint.fix``).

Rules and analyses build :class:`~losslint.diagnostic.Fix` values here; nothing in this module
touches a file. The Keras 2 → Keras 3 tables were checked against keras 3.15.1 (``keras.ops``
and the ``tf.keras`` shim's ``keras/src/legacy/backend.py``) and tf_keras 2.21.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from losslint.diagnostic import Applicability, Edit, Fix, Span
from losslint.index import names
from losslint.index.folding import unparse
from losslint.index.positions import node_span


@dataclass(frozen=True, slots=True)
class OpsName:
    """How ``K.<name>(...)`` becomes ``keras.ops.<op>(...)`` with the same result."""

    op: str
    keywords: frozenset[str]  # keyword arguments spelt the same in both
    add: str | None = None  # argument to add when absent (K's default differs: "axis=-1")
    add_after: int = 2  # ... when fewer positional arguments than this are given
    safe: bool = True  # False: results differ in corner cases (see ``note``)
    note: str = ""
    arity: int | None = None  # exact number of positional arguments required


_X: Final = frozenset({"x"})
_REDUCE: Final = frozenset({"x", "axis", "keepdims"})
_UNARY: Final = (
    "abs",
    "cos",
    "exp",
    "log",
    "round",
    "sigmoid",
    "sign",
    "sin",
    "softplus",
    "softsign",
    "square",
    "tanh",
)
# keras.backend (Keras 2 / tf.keras shim) → keras.ops.
BACKEND_TO_OPS: Final[Mapping[str, OpsName]] = {
    **{name: OpsName(name, _X) for name in _UNARY},
    **{
        name: OpsName(name, _REDUCE) for name in ("mean", "sum", "max", "min", "prod", "any", "all")
    },
    # K.std/K.var cast booleans to floatx first; ops does the same for booleans.
    "std": OpsName("std", _REDUCE),
    "var": OpsName("var", _REDUCE),
    # K.maximum(x, y) vs ops.maximum(x1, x2): positional only.
    **{
        name: OpsName(name, frozenset(), arity=2)
        for name in (
            "maximum",
            "minimum",
            "equal",
            "not_equal",
            "greater",
            "greater_equal",
            "less",
            "less_equal",
        )
    },
    "cast": OpsName("cast", frozenset({"x", "dtype"})),
    # K.clip(x, min_value, max_value) vs ops.clip(x, x_min, x_max).
    "clip": OpsName("clip", frozenset(), arity=3),
    "softmax": OpsName("softmax", frozenset({"x", "axis"})),
    "elu": OpsName("elu", frozenset({"x", "alpha"})),
    "relu": OpsName("relu", frozenset(), arity=1),
    "stop_gradient": OpsName("stop_gradient", frozenset(), arity=1),
    "zeros_like": OpsName("zeros_like", frozenset({"x", "dtype"})),
    "ones_like": OpsName("ones_like", frozenset({"x", "dtype"})),
    "stack": OpsName("stack", frozenset({"x", "axis"})),
    "squeeze": OpsName("squeeze", frozenset({"x", "axis"})),
    "transpose": OpsName("transpose", _X),
    "reshape": OpsName("reshape", frozenset(), arity=2),
    "tile": OpsName("tile", frozenset(), arity=2),
    "one_hot": OpsName("one_hot", frozenset(), arity=2),
    "pow": OpsName("power", frozenset(), arity=2),
    "permute_dimensions": OpsName("transpose", frozenset(), arity=2),
    "repeat_elements": OpsName("repeat", frozenset(), arity=3),
    "reverse": OpsName("flip", frozenset(), arity=2),
    # Different defaults: K.argmax(x) is over the last axis, ops.argmax(x) over all axes.
    "argmax": OpsName("argmax", frozenset({"x", "axis"}), add="axis=-1"),
    "argmin": OpsName("argmin", frozenset({"x", "axis"}), add="axis=-1"),
    "expand_dims": OpsName("expand_dims", frozenset({"x", "axis"}), add="axis=-1"),
    "concatenate": OpsName("concatenate", frozenset({"axis"}), add="axis=-1"),
    "cumsum": OpsName("cumsum", frozenset({"x", "axis"}), add="axis=0"),
    "cumprod": OpsName("cumprod", frozenset({"x", "axis"}), add="axis=0"),
    "gather": OpsName("take", frozenset(), add="axis=0", add_after=3, arity=2),
    "flatten": OpsName("reshape", frozenset(), add="(-1,)", add_after=2, arity=1),
    # K.sqrt clips negative inputs to 0 first; ops.sqrt gives NaN there.
    "sqrt": OpsName("sqrt", _X, safe=False, note="K.sqrt clips negative inputs to 0"),
    # The crossentropies agree up to how they guard log(0).
    "binary_crossentropy": OpsName(
        "binary_crossentropy",
        frozenset({"target", "output", "from_logits"}),
        safe=False,
        note="tf.keras also adds epsilon inside the log",
    ),
    "categorical_crossentropy": OpsName(
        "categorical_crossentropy",
        frozenset({"target", "output", "from_logits", "axis"}),
        safe=False,
        note="numerically close, not identical",
    ),
    "sparse_categorical_crossentropy": OpsName(
        "sparse_categorical_crossentropy",
        frozenset({"target", "output", "from_logits", "axis"}),
        safe=False,
        note="numerically close, not identical",
    ),
    # K.switch(cond, then, else) on tensors is ops.where; ops.switch selects a branch function.
    "switch": OpsName("where", frozenset(), arity=3, safe=False, note="only for tensor branches"),
}
# keras.ops functions with the NumPy function's name and meaning, for NumPy in loss code.
NUMPY_TO_OPS: Final = frozenset(
    {
        "abs",
        "absolute",
        "clip",
        "cos",
        "exp",
        "expm1",
        "log",
        "log1p",
        "log2",
        "log10",
        "max",
        "maximum",
        "mean",
        "min",
        "minimum",
        "power",
        "prod",
        "round",
        "sign",
        "sin",
        "sqrt",
        "square",
        "std",
        "sum",
        "tanh",
        "var",
        "where",
    }
)
# Python ``math`` → keras.ops, one argument.
MATH_TO_OPS: Final = {"log": "log", "exp": "exp", "sqrt": "sqrt", "tanh": "tanh", "fabs": "abs"}
KERAS3_LOSS_DEFAULT: Final = "sum_over_batch_size"
REDUCTION_STRINGS: Final = {
    "AUTO": KERAS3_LOSS_DEFAULT,
    "NONE": "none",
    "SUM": "sum",
    "SUM_OVER_BATCH_SIZE": "sum_over_batch_size",
}


def ops_prefix(imports: Mapping[str, str]) -> tuple[str, Edit | None] | None:
    """How this module can name ``keras.ops``: an alias it has, or ``ops`` with an import."""
    for alias, full in sorted(imports.items()):
        if full == "keras.ops":
            return alias, None
    if "ops" not in imports:
        return "ops", Edit("import", "from keras import ops")
    if imports.get("keras") == "keras":
        return "keras.ops", None
    return None


def ops_call_fix(
    call: ast.Call,
    callee: ast.expr,
    op: OpsName,
    imports: Mapping[str, str],
    lines: tuple[str, ...],
    old: str,
    unsafe_ok: bool = True,
) -> Fix | None:
    """``K.mean(x, axis=-1)`` → ``ops.mean(x, axis=-1)`` when the arguments carry over."""
    if call.func is not callee:
        return None
    if any(isinstance(a, ast.Starred) for a in call.args):
        return None
    if any(k.arg is None or k.arg not in op.keywords for k in call.keywords):
        return None
    if op.arity is not None and (len(call.args) != op.arity or call.keywords):
        return None
    if not op.safe and not unsafe_ok:
        return None
    if op.op == "where" and any(isinstance(a, ast.Lambda) for a in call.args):
        return None
    prefix = ops_prefix(imports)
    if prefix is None:
        return None
    name, import_edit = prefix
    edits = [Edit("replace", f"{name}.{op.op}", node_span(callee, lines))]
    if op.add is not None:
        keyword = op.add.partition("=")[0] if "=" in op.add else None
        given = any(k.arg == keyword for k in call.keywords) if keyword else False
        if not given and len(call.args) < op.add_after:
            edits.append(Edit("argument", op.add, node_span(call, lines)))
    if import_edit is not None:
        edits.append(import_edit)
    applicability = Applicability.SAFE if op.safe else Applicability.UNSAFE
    note = f" ({op.note})" if op.note else ""
    return Fix(applicability, f"Replace {old} with {name}.{op.op}{note}", tuple(edits))


def batch_flatten_fix(
    call: ast.Call, imports: Mapping[str, str], lines: tuple[str, ...], old: str
) -> Fix | None:
    """``K.batch_flatten(x)`` → ``ops.reshape(x, (ops.shape(x)[0], -1))`` for a plain ``x``."""
    if len(call.args) != 1 or call.keywords:
        return None
    parts = names.dotted(call.args[0])
    prefix = ops_prefix(imports)
    if parts is None or prefix is None:
        return None
    name, import_edit = prefix
    x = ".".join(parts)
    edits = [
        Edit("replace", f"{name}.reshape({x}, ({name}.shape({x})[0], -1))", node_span(call, lines))
    ]
    if import_edit is not None:
        edits.append(import_edit)
    return Fix(Applicability.SAFE, f"Replace {old} with {name}.reshape", tuple(edits))


def log_softmax_fix(
    outer: ast.Call, imports: Mapping[str, str], lines: tuple[str, ...]
) -> Fix | None:
    """``log(softmax(x, axis))`` → ``log_softmax(x, axis)`` in the same library (LL302).

    ``outer`` is the ``log`` call; the fix applies when its only argument is directly the
    ``softmax`` (or ``sigmoid``) call. The softmax's own arguments (``axis``) are kept.
    """
    if len(outer.args) != 1 or outer.keywords or not isinstance(outer.args[0], ast.Call):
        return None
    inner = outer.args[0]
    full = names.full_name(inner.func, imports)
    if full is None:
        return None
    module, _, last = full.rpartition(".")
    canonical_module = names.canonical(full).rpartition(".")[0]
    written = unparse(inner.func)
    base = written.rpartition(".")[0]
    target: str | None = None
    import_edit: Edit | None = None
    if last == "softmax":
        if canonical_module in ("keras.ops", "keras.activations") and module != "keras.backend":
            target = f"{base}.log_softmax" if base else None
        elif canonical_module == "keras.backend" or module.endswith(".backend"):
            prefix = ops_prefix(imports)
            if prefix is not None:
                target, import_edit = f"{prefix[0]}.log_softmax", prefix[1]
        elif module in (
            "tensorflow.nn",
            "tensorflow.math",
            "jax.nn",
            "torch",
            "torch.nn.functional",
        ):
            target = f"{base}.log_softmax"
        elif module == "tensorflow":
            target = f"{base}.nn.log_softmax"
    elif last == "sigmoid":
        if canonical_module in ("keras.ops", "keras.activations") and module != "keras.backend":
            if canonical_module == "keras.ops":
                target = f"{base}.log_sigmoid"
        elif module in ("tensorflow.math", "jax.nn"):
            target = f"{base}.log_sigmoid"
        elif module == "tensorflow.nn" and base.endswith(".nn"):
            target = f"{base[:-3]}.math.log_sigmoid"
        elif module == "tensorflow":
            target = f"{base}.math.log_sigmoid"
        elif module == "torch.nn.functional":
            target = f"{base}.logsigmoid"
        if last == "sigmoid" and len(inner.args) != 1:
            target = None
    if target is None:
        return None
    edits = [
        Edit("replace", target, node_span(inner.func, lines)),
        Edit("unwrap", "", node_span(outer, lines)),
    ]
    if import_edit is not None:
        edits.append(import_edit)
    name = target.rpartition(".")[2]
    return Fix(Applicability.SAFE, f"Replace log({last}(...)) with {name}(...)", tuple(edits))


def axis_fixes(spans: list[Span]) -> Fix:
    """LL201: reduce over the last axis instead of every axis, in each of the reductions at
    ``spans`` (unsafe: changes the value)."""
    return Fix(
        Applicability.UNSAFE,
        "Add axis=-1 so the loss keeps one value per sample",
        tuple(Edit("argument", "axis=-1", span) for span in spans),
    )
