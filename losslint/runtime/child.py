"""The child process: imports Keras and the user's modules, runs the probes, reports back.

Started by :mod:`losslint.runtime.driver` as ``python -c ...`` with ``KERAS_BACKEND`` set. It
reads one JSON line of settings, then one JSON line per job (a module and its probes) from
its standard input, and writes JSON events on a private copy of its standard output: file
descriptor 1 itself is pointed at stderr, and 0 at /dev/null, so that whatever user code prints
or reads cannot corrupt the protocol. Every exception in user code, ``SystemExit`` included,
becomes a finding; a hang or a hard crash is the parent's to detect.
"""

from __future__ import annotations

import contextlib
import faulthandler
import functools
import importlib
import importlib.util
import json
import math
import os
import re
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from losslint.runtime import RuntimeUnavailable, inputs
from losslint.runtime.inputs import InputSpec

Send = Callable[..., None]
Finding = dict[str, Any]
_DOUBLED_RATIO: Final = 2.0
_RATIO_TOLERANCE: Final = 1e-3
_DECOMPOSITION_RTOL: Final = 1e-3
_DECOMPOSITION_ATOL: Final = 1e-5
_MAX_MESSAGE: Final = 240
_TF_NOISE: Final = re.compile(r"\{\{function_node [^}]*\}\}|\s+name:\s*$")


_STOP_SIGNALS: Final = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)


def boot(memory_mb: int) -> None:
    """Contain the user's code, then run :func:`main` in a worker process.

    The process the driver starts is the leader of a session of its own (its group is the
    one the driver kills). It sets the memory limit, then forks the worker that imports Keras
    and the user's modules, and only waits for it: so the worker's parent is this supervisor,
    which ignores termination signals, and user code that signals its parent, or its parent's
    process group, reaches this session and not losslint's. The supervisor exits as the
    worker did, so the driver sees the worker's exit code or signal.
    """
    if not hasattr(os, "fork"):  # pragma: no cover - Windows: no sessions, no fork
        main()
        return
    # The driver blocks these while it waits for them itself; a blocked mask is inherited.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, set(_STOP_SIGNALS))
    if memory_mb > 0:
        _limit_memory(memory_mb)
    worker = os.fork()
    if worker == 0:
        for number in _STOP_SIGNALS:
            signal.signal(number, signal.SIG_DFL)
        main()
        os._exit(0)
    for number in _STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    while True:
        try:
            _, status = os.waitpid(worker, 0)
            break
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for clarity
            continue
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    os._exit(os.waitstatus_to_exitcode(status) if not os.WIFSIGNALED(status) else 1)


def _limit_memory(memory_mb: int) -> None:
    """RLIMIT_DATA: the heap and private writable mappings (what tensors take on the host),
    not address space that CUDA and XLA reserve without using (RLIMIT_AS would break GPUs)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    limit = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    with contextlib.suppress(ValueError, OSError):  # a platform without it
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def main() -> None:
    owner = os.getpid()
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    protocol_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    faulthandler.enable()  # a segfault prints the Python stack to stderr for the parent

    def send(**event: Any) -> None:
        if os.getpid() != owner:
            # A copy made by os.fork() in user code has come back to losslint's code: it
            # must not speak the protocol (the driver would read two answers) nor go on.
            os._exit(0)
        protocol_out.write(json.dumps(event, allow_nan=True) + "\n")
        protocol_out.flush()

    hello = json.loads(protocol_in.readline())
    try:
        from losslint.runtime.backends import Session

        session = Session(hello["backend"], hello["device"])
    except RuntimeUnavailable as error:
        send(event="fatal", message=str(error))
        os._exit(3)
    except BaseException as error:
        send(event="fatal", message=f"Keras could not start: {_describe(error, [])}")
        os._exit(3)
    roots: list[str] = hello["roots"]
    # After Keras is loaded: user directories come first for user modules, but cannot shadow
    # what is already imported.
    sys.path[:0] = roots
    send(
        event="ready",
        backend=session.backend,
        device=session.device,
        keras=session.version,
        pid=owner,
    )
    for line in protocol_in:
        if os.getpid() != owner:
            os._exit(0)
        if line.strip():
            _job(json.loads(line), session, roots, send)
    protocol_out.flush()
    os._exit(0)  # skip interpreter teardown: user threads and atexit hooks are not ours


def _job(job: dict[str, Any], session: Any, roots: list[str], send: Send) -> None:
    module = job.get("module")
    if module:
        send(event="import", module=module)
        try:
            session.modules[module] = _import(module, job["file"], roots)
        except BaseException as error:
            send(event="import_error", error=_describe(error, roots))
            send(event="done")
            return
        send(event="imported")
    for probe in job["probes"]:
        send(event="probe", id=probe["id"])
        started = time.perf_counter()
        try:
            findings = _probe(probe, session, roots)
        except BaseException as error:  # a bug of ours must not pass for the user's
            findings = [{"code": "RT101", "stage": "internal", "error": _describe(error, [])}]
        send(event="result", id=probe["id"], findings=findings,
             seconds=time.perf_counter() - started)  # fmt: skip
    send(event="done")


def _import(module: str, file: str, roots: list[str]) -> Any:
    """The module ``module`` loaded from ``file``.

    Another user module of the same name (from another directory) is replaced; a library
    module of that name (a user file named ``utils.py``) is left alone, and the file is
    executed on its own, outside ``sys.modules``.
    """
    loaded = sys.modules.get(module)
    where = getattr(loaded, "__file__", None)
    if loaded is not None and not _same_file(where, file):
        if where is None or not any(_below(where, root) for root in roots):
            spec = importlib.util.spec_from_file_location(module, file)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {file}")
            alone = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(alone)
            return alone
        for name in [n for n in sys.modules if n == module or n.startswith(module + ".")]:
            del sys.modules[name]
    return importlib.import_module(module)


def _same_file(a: str | None, b: str) -> bool:
    return a is not None and Path(a).resolve() == Path(b).resolve()


def _describe(error: BaseException, roots: list[str]) -> dict[str, str]:
    """``{"error": "ValueError: last line", "where": "losses.py:14"}``."""
    lines = [line for line in str(error).splitlines() if line.strip()]
    text = lines[-1].strip() if lines else ""
    # TensorFlow's op errors: "{{function_node ...}} Incompatible shapes: ... [Op:Sub] name: "
    text = _TF_NOISE.sub("", text).strip()
    if isinstance(error, SystemExit):
        text = repr(error.code)
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 3] + "..."
    described = {"error": f"{type(error).__name__}: {text}" if text else type(error).__name__}
    where = ""
    for frame in traceback.extract_tb(error.__traceback__):
        if any(_below(frame.filename, root) for root in roots):
            where = f"{Path(frame.filename).name}:{frame.lineno}"
    if where:
        described["where"] = where
    return described


def _below(file: str, root: str) -> bool:
    try:
        return Path(file).resolve().is_relative_to(Path(root))
    except (OSError, ValueError):
        return False


def _probe(probe: dict[str, Any], session: Any, roots: list[str]) -> list[Finding]:
    if probe.get("kind") == "metric":
        return _metric_probe(probe, session, roots)
    spec = InputSpec.from_json(probe["spec"])
    label = probe["label"]
    try:
        loss = session.loss(probe["target"], label)
    except BaseException as error:
        return [{"code": "RT101", "stage": "build", **_describe(error, roots)}]
    y_true, y_pred = inputs.nominal(spec)
    findings: list[Finding] = []
    cases = [("well-formed inputs", y_true, y_pred), *inputs.boundary(spec)]
    bad_value: Finding | None = None
    bad_grad: Finding | None = None
    values: dict[str, float] = {}
    nominal: Any = None
    for case, truth, prediction in cases:
        try:
            per_sample = session.per_sample(loss, truth, prediction)
            if nominal is None:
                nominal = per_sample
            value, grad = session.value_and_grad(loss, truth, prediction)
        except BaseException as error:
            findings.append({"code": "RT101", "stage": case, **_describe(error, roots)})
            if case == "well-formed inputs":
                return findings
            break
        values[case] = value
        if case == "well-formed inputs" and probe["per_sample"]:
            shape = list(per_sample.shape)
            if not shape or shape[0] != spec.batch:
                findings.append({"code": "RT102", "shape": shape})
        np = session.np
        if bad_value is None and not (_finite(np, per_sample) and math.isfinite(value)):
            bad_value = {"code": "RT103", "case": case, "kind": _kind(np, per_sample, value)}
        if bad_grad is None and grad is not None and not _finite(np, grad):
            bad_grad = {"code": "RT104", "case": case, "kind": _kind(np, grad, 0.0)}
    findings += [f for f in (bad_value, bad_grad) if f is not None]
    # Keras's own losses are per-sample by construction: the probe is for the user's.
    if probe["per_sample"] and probe.get("module"):
        findings += _coupling(
            session, lambda t, p: session.per_sample(loss, t, p), y_true, y_pred, before=nominal
        )
    single = values.get("well-formed inputs")
    if single is not None and math.isfinite(single) and abs(single) > 1e-6:
        findings += _batch_scaling(session, loss, y_true, y_pred, single, roots)
        if probe["components"]:
            findings += _decomposition(session, probe, loss, y_true, y_pred, single, roots)
    return findings


def _metric_probe(probe: dict[str, Any], session: Any, roots: list[str]) -> list[Finding]:
    """A metric as compile runs it: ``reset_state``, ``update_state`` on the sample batch and
    the boundary inputs, ``result``: a finite scalar each time."""
    spec = InputSpec.from_json(probe["spec"])
    try:
        metric = session.metric(probe["target"], probe["label"])
    except BaseException as error:
        return [{"code": "RT101", "stage": "build", **_describe(error, roots)}]
    np = session.np
    y_true, y_pred = inputs.nominal(spec)
    findings: list[Finding] = []
    bad_value: Finding | None = None
    function = getattr(metric, "_fn", None)  # MeanMetricWrapper: y_true reaches it as given

    def per_sample(truth: Any, prediction: Any) -> Any:
        assert callable(function)
        with session.placed():
            return session.numpy(function(session.tensor(truth), session.tensor(prediction)))

    for case, truth, prediction in [("well-formed inputs", y_true, y_pred), *inputs.boundary(spec)]:
        try:
            # A function's mean is finite when its values are: one call instead of the
            # wrapper's reset/update/result, which a Metric subclass needs run.
            result = (
                per_sample(truth, prediction)
                if callable(function) and case != "well-formed inputs"
                else session.metric_result(metric, truth, prediction)
            )
        except BaseException as error:
            findings.append({"code": "RT101", "stage": case, **_describe(error, roots)})
            break
        if case == "well-formed inputs" and result.shape != ():
            findings.append({"code": "RT102", "shape": list(result.shape)})
        if bad_value is None and not _finite(np, result):
            bad_value = {"code": "RT103", "case": case, "kind": _kind(np, result, 0.0)}
    findings += [bad_value] if bad_value is not None else []
    # Only the Keras 3 pitfall is probed on metrics, (batch,) labels against a 1-unit output:
    # a metric may average over the batch on purpose (LL501 judges those statically).
    if callable(function) and not findings and spec.units == 1:
        findings += _coupling(session, per_sample, y_true, y_pred, same_ranks=False)
    return findings


def _coupling(
    session: Any,
    per_sample: Callable[[Any, Any], Any],
    y_true: Any,
    y_pred: Any,
    same_ranks: bool = True,
    before: Any = None,
) -> list[Finding]:
    """RT107: the loss of one sample must not move when another sample changes. Sample 0 is
    replaced by the last sample (valid inputs whatever the output's range); the losses of
    samples 1..n-1 must stay. Run as compile runs the loss, on the labels a 1-unit output is
    usually trained with too: ``(batch,)`` against predictions ``(batch, 1)``."""
    np = session.np
    cases = [("", y_true, y_pred, before)] if same_ranks else []
    if y_pred.ndim == 2 and y_pred.shape[-1] == 1 and y_true.shape == y_pred.shape:
        cases.append(("labels of shape (batch,) against predictions of shape (batch, 1)",
                      y_true[:, 0], y_pred, None))  # fmt: skip
    for case, truth, prediction, known in cases:
        changed_true, changed_pred = truth.copy(), prediction.copy()
        changed_true[0], changed_pred[0] = truth[-1], prediction[-1]
        if np.array_equal(changed_true, truth) and np.array_equal(changed_pred, prediction):
            continue
        try:
            before = per_sample(truth, prediction) if known is None else known
            after = per_sample(changed_true, changed_pred)
        except BaseException:  # another shape raising is RT101's on the nominal inputs
            continue
        batch = len(y_pred)
        if before.shape != (batch,) or after.shape != (batch,):
            continue
        moved = np.abs(after[1:] - before[1:]) > 1e-5 + 1e-4 * np.abs(before[1:])
        if moved.any():
            index = int(np.argmax(moved)) + 1
            return [{"code": "RT107", "case": case, "sample": index,
                     "before": float(before[index]), "after": float(after[index])}]  # fmt: skip
    return []


def _batch_scaling(
    session: Any, loss: Any, y_true: Any, y_pred: Any, single: float, roots: list[str]
) -> list[Finding]:
    np = session.np
    try:
        doubled = session.value(
            loss, np.concatenate([y_true, y_true]), np.concatenate([y_pred, y_pred])
        )
    except BaseException as error:
        return [{"code": "RT101", "stage": "the batch repeated twice", **_describe(error, roots)}]
    if math.isfinite(doubled) and abs(doubled / single - _DOUBLED_RATIO) < _RATIO_TOLERANCE:
        return [{"code": "RT105", "single": single, "double": doubled}]
    return []


def _decomposition(
    session: Any,
    probe: dict[str, Any],
    loss: Any,
    y_true: Any,
    y_pred: Any,
    joint: float,
    roots: list[str],
) -> list[Finding]:
    """The joint loss against the weighted sum of what the training log shows for its terms
    (each tracked metric as Keras reports it, else the term itself), on one batch."""
    parts = []
    total = 0.0
    module = session.modules.get(probe.get("module") or "")
    owner = None
    for component in probe["components"]:
        label = component["label"]
        try:
            if (
                owner is None
                and component["term"]["kind"] == "expr"
                and probe["target"].get("attribute")
            ):
                # A bound method: its inline terms read ``self``, the object it is bound to.
                owner = getattr(session.resolve(probe["target"]), "__self__", None)
            term = _term_value(session, component, module, loss, y_true, y_pred, owner)
            metric = term
            if component["metric"] is not None:
                built = session.metric(component["metric"], component["metric_label"] or label)
                metric = session.metric_value(built, y_true, y_pred)
        except BaseException as error:
            return [{"code": "RT101", "stage": f"component {label}", **_describe(error, roots)}]
        parts.append(
            {
                "label": label,
                "metric_label": component["metric_label"],
                "weight": component["weight"],
                "value": metric,
                "term": term,
            }
        )
        total += component["weight"] * metric
    if not math.isfinite(total):
        return []
    if _close(joint, total):
        return []
    for part in parts:
        part["differs"] = not _close(part["term"], part["value"])
    return [{"code": "RT106", "joint": joint, "sum": total, "parts": parts}]


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _DECOMPOSITION_ATOL + _DECOMPOSITION_RTOL * max(abs(a), abs(b))


def _term_value(
    session: Any,
    component: dict[str, Any],
    module: Any,
    loss: Any,
    y_true: Any,
    y_pred: Any,
    owner: Any = None,
) -> float:
    """A term as the joint loss computes it: the loss it calls on (y_true, y_pred), or its
    inline expression evaluated in the user module's namespace on the same tensors (``self``
    is ``owner``, a bound method's object, else the loss object)."""
    term = component["term"]
    label = component["label"]
    if term["kind"] == "target":
        return float(session.value(session.loss(term["target"], label), y_true, y_pred))
    params = list(term["params"])
    namespace = vars(module) if module is not None else {}
    function = eval(f"lambda {', '.join(params)}: ({term['source']})", namespace)
    if params and params[0] == "self":  # Loss.call: ``self`` is the joint loss object
        function = functools.partial(function, owner if owner is not None else loss)
    return float(session.value(session.wrap(function, label), y_true, y_pred))


def _finite(np: Any, array: Any) -> bool:
    return bool(np.all(np.isfinite(array)))


def _kind(np: Any, array: Any, scalar: float) -> str:
    values = np.append(np.ravel(array), scalar)
    if np.isnan(values).any():
        return "NaN"
    return "-inf" if (values == -np.inf).any() and not (values == np.inf).any() else "inf"


if __name__ == "__main__":
    main()
