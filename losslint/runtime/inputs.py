"""Sample tensors for the runtime checks.

The parent derives an :class:`InputSpec` from static facts (the model output a loss is
assigned to, the kind of crossentropy); the child turns it into NumPy arrays: well-formed
inputs, and the boundary inputs of SPEC RT103 for the value range the output can produce.
NumPy is imported only in the child.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass
from typing import Any, Final

from losslint.analysis.wiring import Crossentropy
from losslint.index.facts import Output
from losslint.index.project import output_units

# What an output activation lets y_pred be.
_DOMAIN_BY_ACTIVATION: Final = {
    "softmax": "simplex",
    "sigmoid": "probability",
    "hard_sigmoid": "probability",
    "linear": "real",
    "leaky_relu": "real",
    "elu": "real",
    "selu": "real",
    "gelu": "real",
    "swish": "real",
    "mish": "real",
    "celu": "real",
    "hard_swish": "real",
    "log_softmax": "real",
    "relu": "nonnegative",
    "relu6": "nonnegative",
    "softplus": "nonnegative",
    "exponential": "nonnegative",
    "sparse_plus": "nonnegative",
    "squareplus": "nonnegative",
    "tanh": "bounded",
    "softsign": "bounded",
}
_DOMAIN_WORDS: Final = {
    "probability": "probabilities",
    "simplex": "softmax probabilities",
    "real": "real values (logits)",
    "nonnegative": "values >= 0",
    "bounded": "values in [-1, 1]",
}
_LABEL_WORDS: Final = {
    "binary": "0/1 labels",
    "categorical": "one-hot labels",
    "sparse": "class ids",
    "real": "real targets",
    "nonnegative": "targets >= 0",
    "bounded": "targets in [-1, 1]",
}


@dataclass(frozen=True, slots=True)
class InputSpec:
    """Shapes and value ranges of one loss's sample tensors."""

    batch: int
    units: int
    labels: str  # "binary" | "categorical" | "sparse" | "real" | "nonnegative" | "bounded"
    domain: str  # what y_pred can be: "probability" | "simplex" | "real" | ...
    origin: str  # where the shape came from: "model" | "configuration"

    def describe(self) -> str:
        true_shape = (self.batch, 1) if self.labels == "sparse" else (self.batch, self.units)
        return (
            f"y_true {true_shape} {_LABEL_WORDS[self.labels]}, "
            f"y_pred {(self.batch, self.units)} {_DOMAIN_WORDS[self.domain]}"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InputSpec:
        return cls(**data)


def spec_for(
    output: Output | None,
    family: Crossentropy | None,
    batch: int,
    default_units: int,
) -> InputSpec:
    """Inputs for a loss on ``output`` (None: no model known); ``family`` from the loss kind."""
    units = output_units(output) if output is not None else None
    activation = output.activation if output is not None else None
    domain = _DOMAIN_BY_ACTIVATION.get(activation or "")
    if domain is None:  # no model, or an activation we do not know: ask the loss
        if family is not None and family.from_logits:
            domain = "real"
        elif family is not None and family.family in ("categorical", "sparse"):
            domain = "simplex"
        else:
            domain = "probability"
    size = units if units is not None and units > 0 else default_units
    if family is not None:
        labels = family.family
        if labels == "auto":  # "crossentropy"/"ce": Keras picks by the last axis
            labels = "binary" if size == 1 else "categorical"
    else:
        labels = {
            "simplex": "categorical",
            "probability": "binary",
        }.get(domain, domain)
    origin = "model" if units is not None else "configuration"
    return InputSpec(batch, size, labels, domain, origin)


# -- arrays (child side) ---------------------------------------------------------------------


def _numpy() -> Any:
    return importlib.import_module("numpy")


def nominal(spec: InputSpec, seed: int = 0) -> tuple[Any, Any]:
    """Well-formed ``(y_true, y_pred)``: labels and predictions inside their ranges."""
    np = _numpy()
    rng = np.random.default_rng(seed)
    shape = (spec.batch, spec.units)
    y_true = _labels(spec, rng, np)
    if spec.domain == "probability":
        y_pred = rng.uniform(0.05, 0.95, shape)
    elif spec.domain == "simplex":
        logits = rng.normal(0.0, 1.0, shape)
        exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
        y_pred = exp / exp.sum(axis=-1, keepdims=True)
    elif spec.domain == "nonnegative":
        y_pred = rng.uniform(0.1, 2.0, shape)
    elif spec.domain == "bounded":
        y_pred = rng.uniform(-0.9, 0.9, shape)
    else:
        y_pred = rng.normal(0.0, 2.0, shape)
    return y_true.astype("float32"), y_pred.astype("float32")


def _labels(spec: InputSpec, rng: Any, np: Any) -> Any:
    shape = (spec.batch, spec.units)
    if spec.labels == "binary":
        labels = rng.integers(0, 2, shape)
        labels.flat[0], labels.flat[-1] = 1, 0  # both classes present, whatever the seed
        return labels
    if spec.labels in ("categorical", "sparse"):
        ids = np.arange(spec.batch) % max(spec.units, 1)
        if spec.labels == "sparse":
            return ids.reshape(spec.batch, 1)
        return np.eye(spec.units)[ids]
    if spec.labels == "nonnegative":
        return rng.uniform(0.0, 2.0, shape)
    if spec.labels == "bounded":
        return rng.uniform(-0.9, 0.9, shape)
    return rng.normal(0.0, 1.0, shape)


def _as_prediction(spec: InputSpec, y_true: Any, np: Any) -> Any:
    """y_true in y_pred's shape (class ids become one-hot rows)."""
    if spec.labels == "sparse":
        return np.eye(spec.units)[y_true.reshape(-1).astype(int)]
    return y_true


def boundary(spec: InputSpec, seed: int = 0) -> list[tuple[str, Any, Any]]:
    """``(label, y_true, y_pred)`` at the edges of what the model output can produce."""
    np = _numpy()
    y_true, y_pred = nominal(spec, seed)
    zeros_true = np.zeros_like(y_true)
    zeros = np.zeros_like(y_pred)
    ones = np.ones_like(y_pred)
    same_space = (
        (spec.domain == "probability" and spec.labels == "binary")
        or (spec.domain == "simplex" and spec.labels in ("categorical", "sparse"))
        or (spec.domain == spec.labels)
    )
    cases: list[tuple[str, Any, Any]] = []
    if spec.domain == "probability":
        cases += [("y_pred=0", y_true, zeros), ("y_pred=1", y_true, ones)]
    elif spec.domain == "simplex":
        ids = (
            y_true.reshape(-1).astype(int)
            if spec.labels == "sparse"
            else y_true.argmax(axis=-1)
            if spec.labels == "categorical"
            else np.zeros(spec.batch, dtype=int)
        )
        wrong = np.eye(spec.units)[(ids + 1) % spec.units]
        cases.append(("y_pred one-hot on a wrong class", y_true, wrong))
    elif spec.domain == "real":
        cases += [
            ("y_pred=+100", y_true, ones * 100.0),
            ("y_pred=-100", y_true, ones * -100.0),
            ("y_pred=0", y_true, zeros),
        ]
    elif spec.domain == "nonnegative":
        cases += [("y_pred=0", y_true, zeros), ("y_pred=100", y_true, ones * 100.0)]
    elif spec.domain == "bounded":
        cases += [("y_pred=1", y_true, ones), ("y_pred=-1", y_true, -ones)]
    if same_space:
        cases.append(("y_true == y_pred", y_true, _as_prediction(spec, y_true, np)))
    if spec.labels not in ("categorical", "sparse"):
        cases.append(("all-zero y_true", zeros_true, y_pred))
        if spec.domain != "simplex":
            cases.append(("all-zero y_true and y_pred", zeros_true, zeros))
    return [(label, t.astype("float32"), p.astype("float32")) for label, t, p in cases]
