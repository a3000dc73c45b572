"""Time of ``losslint check --runtime``: child start-up, and time per loss checked.

    pip install -e '.[runtime-cpu]'          # or '.[runtime]'
    python bench/runtime_bench.py            # 40 generated losses, TensorFlow on the CPU
    python bench/runtime_bench.py --losses 120 --repeat 3 --backend jax

It writes a project of generated loss modules (functions, factories, ``Loss`` subclasses, joint
losses with tracked components, called or computed inline, Keras built-ins, each compiled on a
model with a sigmoid, softmax or linear output) and runs the pipeline with the runtime stage on
it. The child reports how long each loss or metric took (every check: well-formed and boundary
inputs with gradients, the doubled batch, sample coupling, the decomposition; a metric's
update_state/result); the parent measures the child's start-up (Python, Keras and the backend
imported, device chosen) and the wall time. The first loss of a child also pays the backend's
kernel warm-up, so it is shown on its own.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from losslint import pipeline
from losslint.config import Config, RuntimeSettings

_HEADER = "import keras\nfrom keras import ops\n\nEPS = 1e-7\n"
_TEMPLATES = [
    # a guarded binary crossentropy on a sigmoid output
    """
def bce_{i}(y_true, y_pred):
    p = ops.clip(y_pred, EPS, 1.0 - EPS)
    return -ops.mean(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p), axis=-1)


def build_bce_{i}():
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(4, activation="sigmoid")])
    model.compile(optimizer="adam", loss=bce_{i})
""",
    # a factory (closure) compiled with a constant argument
    """
def make_focal_{i}(gamma=2.0):
    def focal_{i}(y_true, y_pred):
        p = ops.clip(y_pred, EPS, 1.0 - EPS)
        p_t = ops.where(ops.equal(y_true, 1.0), p, 1.0 - p)
        return -ops.mean(ops.power(1.0 - p_t, gamma) * ops.log(p_t), axis=-1)

    return focal_{i}


def build_focal_{i}():
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(3, activation="sigmoid")])
    model.compile(optimizer="adam", loss=make_focal_{i}(gamma=3.0))
""",
    # a joint loss whose components are tracked as metrics (RT106 runs)
    """
def mae_{i}(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


def mse_{i}(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


def joint_{i}(y_true, y_pred):
    return mae_{i}(y_true, y_pred) + 10.0 * mse_{i}(y_true, y_pred)


def build_joint_{i}():
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(8)])
    model.compile(optimizer="adam", loss=joint_{i}, metrics=[mae_{i}, mse_{i}])
""",
    # a Loss subclass on a softmax output
    """
class SmoothedCE{i}(keras.losses.Loss):
    def __init__(self, smoothing=0.1, name="smoothed_ce_{i}", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smoothing = smoothing

    def call(self, y_true, y_pred):
        classes = ops.cast(ops.shape(y_true)[-1], "float32")
        target = y_true * (1.0 - self.smoothing) + self.smoothing / classes
        return -ops.sum(target * ops.log(ops.clip(y_pred, EPS, 1.0)), axis=-1)


def build_smoothed_{i}():
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss=SmoothedCE{i}(smoothing=0.2))
""",
    # the tutorial's joint loss: terms computed inline, tracked by the user's functions
    """
def mse_loss_{i}(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


def mae_loss_{i}(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


def inline_joint_{i}(y_true, y_pred):
    mse_loss = ops.mean(ops.square(y_true - y_pred), axis=-1)
    mae_loss = ops.mean(ops.abs(y_true - y_pred), axis=-1)
    return mae_loss + 10.0 * mse_loss


def build_inline_joint_{i}():
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(4)])
    model.compile(
        optimizer="adam", loss=inline_joint_{i}, metrics=[mse_loss_{i}, mae_loss_{i}]
    )
""",
    # a Keras built-in on logits
    """
def build_builtin_{i}():
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense({units})])
    model.compile(
        optimizer="adam", loss=keras.losses.CategoricalCrossentropy(from_logits=True)
    )
""",
]
_PER_MODULE = 8


def write_project(directory: Path, losses: int) -> None:
    for start in range(0, losses, _PER_MODULE):
        parts = [_HEADER]
        for i in range(start, min(start + _PER_MODULE, losses)):
            template = _TEMPLATES[i % len(_TEMPLATES)]
            parts.append(template.format(i=i, units=3 + i % 7))
        (directory / f"losses_{start // _PER_MODULE:03d}.py").write_text("\n".join(parts))


def run_once(directory: Path, settings: RuntimeSettings) -> tuple[pipeline.Result, float]:
    """One pipeline run with the runtime stage (a new child): the result and its wall time."""
    config = Config(root=directory, runtime=settings)
    started = time.perf_counter()
    result = pipeline.run([directory], config, jobs=1, use_cache=False, runtime=True)
    wall = time.perf_counter() - started
    if result.internal_errors:
        raise SystemExit("\n".join(result.internal_errors))
    runtime_findings = [d for d in result.diagnostics if d.source == "runtime"]
    if runtime_findings:  # the generated losses are all correct
        raise SystemExit("unexpected findings:\n" + "\n".join(d.message for d in runtime_findings))
    return result, wall


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--losses", type=int, default=40, help="generated losses (default 40)")
    parser.add_argument("--repeat", type=int, default=1, help="runs, each with a new child")
    parser.add_argument("--backend", default="tensorflow", choices=["tensorflow", "jax", "torch"])
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "gpu"])
    args = parser.parse_args()
    settings = RuntimeSettings(backend=args.backend, device=args.device, timeout=120.0)
    startups: list[float] = []
    first: list[float] = []
    rest: list[float] = []
    after_startup: list[float] = []
    per_written: list[float] = []
    walls: list[float] = []
    device = "?"
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_project(directory, args.losses)
        for _ in range(args.repeat):
            result, wall = run_once(directory, settings)
            summary = result.runtime
            assert summary is not None and summary.probe_seconds
            startups += summary.startups
            first.append(summary.probe_seconds[0])
            rest += summary.probe_seconds[1:]
            walls.append(wall)
            after_startup.append((wall - sum(summary.startups)) / summary.checked)
            per_written.append((wall - sum(summary.startups)) / args.losses)
            device = f"{summary.backend}, {summary.device}"
            checked = summary.checked
    median = statistics.median
    rows = [
        ("child start-up (Python, Keras, backend)", f"{median(startups):.2f} s"),
        ("first loss of a child (kernel warm-up)", _ms(median(first))),
        (
            "time per loss checked, in the child",
            f"{_ms(median(rest))} median, {_ms(statistics.mean(rest))} mean, {_ms(max(rest))} max"
            if rest
            else "-",
        ),
        ("wall time per check after start-up", f"{_ms(median(after_startup))} (all stages)"),
        (
            f"wall time per generated loss ({args.losses})",
            f"{_ms(median(per_written))} (its metrics' checks included)",
        ),
        ("whole run", f"{median(walls):.2f} s"),
    ]
    print(f"losslint --runtime: {checked} losses and metrics ({device}; {os.cpu_count()} cores)")
    for label, value in rows:
        print(f"  {label:<42} {value}")


if __name__ == "__main__":
    main()
