"""Child side: Keras on one backend, the device it runs on, and the backend's own gradient.

Imported only in the child process, after the parent has set ``KERAS_BACKEND`` (and, for
``--device cpu``, the variables that hide GPUs) in its environment. Keras, NumPy and the
backend are reached through ``importlib`` so that the static tree never depends on them.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from typing import Any

from losslint.runtime import RuntimeUnavailable


def _module(name: str) -> Any:
    return importlib.import_module(name)


class Session:
    """Keras loaded on ``backend``, placed on a device; builds and differentiates losses."""

    def __init__(self, backend: str, device: str) -> None:
        self.np = _module("numpy")
        self.keras = _module("keras")
        self.ops = self.keras.ops
        active = self.keras.config.backend()
        if active != backend:
            raise RuntimeUnavailable(
                f"Keras started on the {active!r} backend instead of {backend!r}: "
                "KERAS_BACKEND was overridden"
            )
        self.backend = backend
        self.version = str(self.keras.__version__)
        self.lib = _module({"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend])
        self.scope, self.device = self._place(device)
        self.modules: dict[str, Any] = {}  # user modules by name, as the child loaded them

    # -- devices ---------------------------------------------------------------------------

    def _gpus(self) -> list[str]:
        if self.backend == "tensorflow":
            return [d.name for d in self.lib.config.list_physical_devices("GPU")]
        if self.backend == "jax":
            found = []
            for platform in ("gpu", "cuda", "rocm"):
                with contextlib.suppress(RuntimeError):
                    found += [str(d) for d in self.lib.devices(platform)]
            return found
        torch = self.lib
        if torch.cuda.is_available():
            return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        mps = getattr(torch.backends, "mps", None)
        return ["mps"] if mps is not None and mps.is_available() else []

    def _place(self, device: str) -> tuple[str | None, str]:
        """``(keras.device scope, label for messages)``; ``gpu`` without one is an error."""
        if device == "cpu":
            return "cpu:0", "CPU"
        gpus = self._gpus()
        if not gpus:
            if device == "gpu":
                raise RuntimeUnavailable(
                    f"--device gpu: the {self.backend} backend sees no GPU; "
                    "use --device auto (GPU when there is one, else CPU) or --device cpu"
                )
            return "cpu:0", "CPU"
        if self.backend == "torch":
            # Keras picked the torch device at import (KERAS_TORCH_DEVICE, else mps, cuda, cpu).
            chosen = str(_module("keras.src.backend.torch.core").get_device())
            if chosen == "cpu" and device == "gpu":
                raise RuntimeUnavailable("--device gpu: Keras placed torch on the CPU")
            return None, "CPU" if chosen == "cpu" else "GPU"
        try:
            with self.keras.device("gpu:0"):
                self.ops.convert_to_numpy(self.ops.add(self.ops.ones((2,)), 1.0))
        except Exception as error:
            if device == "gpu":
                raise RuntimeUnavailable(f"--device gpu: the GPU is not usable: {error}") from error
            return "cpu:0", "CPU"  # auto: fall back to the CPU
        return "gpu:0", "GPU"

    @contextlib.contextmanager
    def placed(self) -> Iterator[None]:
        if self.scope is None:
            yield
            return
        with self.keras.device(self.scope):
            yield

    # -- building --------------------------------------------------------------------------

    def resolve(self, target: dict[str, Any]) -> Any:
        """The object a plan target names, called with its arguments for ``call`` targets."""
        kind, name = target["kind"], target["name"]
        if kind == "keras_id":
            return self.keras.losses.get(name)
        if kind == "metric_id":
            return self.keras.metrics.get(name)
        found = self._dotted(name)
        if kind == "call":
            found = found(*target["args"], **target["kwargs"])
        if target.get("attribute"):
            found = getattr(found, target["attribute"])
        return found

    def _dotted(self, name: str) -> Any:
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:cut])
            try:
                found = self.modules.get(prefix) or importlib.import_module(prefix)
            except ImportError:
                continue
            try:
                for part in parts[cut:]:
                    found = getattr(found, part)
            except AttributeError:
                if parts[0] == "keras" and parts[1] in ("losses", "metrics") and cut == 2:
                    # aliases such as keras.metrics.mae exist only as identifiers
                    return getattr(self.keras, parts[1]).get(parts[-1])
                raise
            return found
        raise ImportError(f"cannot import {name}")

    def loss(self, target: dict[str, Any], label: str) -> Any:
        """A Keras ``Loss``, as compile makes one: functions are wrapped like compile wraps them
        (rank alignment, float32, mean over the batch); classes are instantiated."""
        found = self.resolve(target)
        losses = self.keras.losses
        if isinstance(found, type) and issubclass(found, losses.Loss):
            found = found()
        if isinstance(found, losses.Loss):
            return found
        if not callable(found):
            raise TypeError(f"{label} is a {type(found).__name__}, not a loss")
        return self.wrap(found, label)

    def wrap(self, fn: Callable[..., Any], label: str) -> Any:
        name = getattr(fn, "__name__", None) or label
        try:
            wrapper = _module("keras.src.losses").LossFunctionWrapper
        except (ImportError, AttributeError):  # private in Keras 3: keep a copy of its behaviour
            return _fallback_wrapper(self.keras)(fn, name)
        return wrapper(fn, name=name)

    def metric(self, target: dict[str, Any], label: str) -> Any:
        """A Keras ``Metric``, as compile makes one from a metrics entry."""
        found = self.resolve(target)
        metrics = self.keras.metrics
        if isinstance(found, type) and issubclass(found, (metrics.Metric, self.keras.losses.Loss)):
            found = found()
        if isinstance(found, metrics.Metric):
            return found
        if not callable(found):
            raise TypeError(f"{label} is a {type(found).__name__}, not a metric")
        return metrics.MeanMetricWrapper(found, name=getattr(found, "__name__", None) or label)

    # -- running ---------------------------------------------------------------------------

    def tensor(self, array: Any, dtype: str = "float32") -> Any:
        return self.ops.convert_to_tensor(array, dtype=dtype)

    def numpy(self, value: Any) -> Any:
        if self.backend == "torch" and hasattr(value, "detach"):
            value = value.detach()
        return self.np.asarray(self.ops.convert_to_numpy(value), dtype="float64")

    def per_sample(self, loss: Any, y_true: Any, y_pred: Any) -> Any:
        """What the loss returns before Keras reduces it (``call``)."""
        if type(loss).call is self.keras.losses.Loss.call:  # overrides __call__ only
            return self.numpy(loss(y_true, y_pred))
        dtype = getattr(loss, "dtype", None) or "float32"
        with self.placed():
            return self.numpy(loss.call(self.tensor(y_true, dtype), self.tensor(y_pred, dtype)))

    def value(self, loss: Any, y_true: Any, y_pred: Any) -> float:
        """The reduced loss, as compile computes it for one output (no sample weights)."""
        with self.placed():
            return float(self.numpy(self.ops.mean(loss(y_true, self.tensor(y_pred)))))

    def value_and_grad(self, loss: Any, y_true: Any, y_pred: Any) -> tuple[float, Any | None]:
        """The reduced loss and its gradient with respect to y_pred (None: no gradient path).

        Each backend differentiates its own way (keras-facts §7.3); a non-scalar result
        (``reduction=None``) is averaged first, as the gradient needs a scalar.
        """
        ops = self.ops
        with self.placed():
            truth = self.tensor(y_true)

            def scalar(x: Any) -> Any:
                return ops.mean(loss(truth, x))

            if self.backend == "tensorflow":
                tf = self.lib
                x = tf.convert_to_tensor(y_pred, dtype="float32")
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    result = scalar(x)
                grad = tape.gradient(result, x)
            elif self.backend == "jax":
                result, grad = self.lib.value_and_grad(scalar)(self.tensor(y_pred))
            else:
                torch = self.lib
                x = self.tensor(y_pred).detach().clone().requires_grad_(True)
                result = scalar(x)
                grad = None
                if result.requires_grad:
                    (grad,) = torch.autograd.grad(result, x, allow_unused=True)
            return float(self.numpy(result)), None if grad is None else self.numpy(grad)

    def metric_result(self, metric: Any, y_true: Any, y_pred: Any) -> Any:
        """``result()`` after ``reset_state`` and one ``update_state``, as an array."""
        with self.placed():
            metric.reset_state()
            metric.update_state(self.tensor(y_true), self.tensor(y_pred))
            return self.numpy(metric.result())

    def metric_value(self, metric: Any, y_true: Any, y_pred: Any) -> float:
        """What the training log shows for a tracked metric after this one batch."""
        with self.placed():
            metric.reset_state()
            metric.update_state(self.tensor(y_true), self.tensor(y_pred))
            return float(self.numpy(metric.result()))


def _fallback_wrapper(keras: Any) -> Any:
    ops = keras.ops

    class _Wrapper(keras.losses.Loss):  # type: ignore[misc]
        def __init__(self, fn: Callable[..., Any], name: str) -> None:
            super().__init__(name=name)
            self.fn = fn

        def call(self, y_true: Any, y_pred: Any) -> Any:
            rank_true, rank_pred = len(y_true.shape), len(y_pred.shape)
            if rank_true == rank_pred + 1 and y_true.shape[-1] == 1:
                y_true = ops.squeeze(y_true, -1)
            elif rank_pred == rank_true + 1:
                if y_pred.shape[-1] == 1:
                    y_pred = ops.squeeze(y_pred, -1)
                elif rank_true == 1:
                    y_true = ops.expand_dims(y_true, -1)
            return self.fn(y_true, y_pred)

    return _Wrapper
