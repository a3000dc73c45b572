"""Parent side of the runtime stage: plan, run the child process, turn results into diagnostics.

Never imports TensorFlow, Keras or user code. One child per run (one backend); it is killed
when a module's import or a loss's checks outlast the time limit, and a child that dies is
replaced by a fresh one for the modules and losses still to check. Whatever happens in user
code becomes an RT101 diagnostic for the losses concerned; the other losses are still checked.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import losslint
from losslint.config import Config, RuntimeSettings
from losslint.diagnostic import Diagnostic
from losslint.index.positions import source_lines
from losslint.index.project import ProjectIndex, namespaces
from losslint.parse import ParsedModule, load
from losslint.runtime import RuntimeUnavailable
from losslint.runtime.plan import NotRun, Probe, build_plan
from losslint.runtime.rules import BY_CODE, RuntimeRule

Progress = Callable[[int, int, str], None]

# The child starts with losslint's own directory first on sys.path, never the current one:
# a user file named like a library (keras.py) must not shadow it.
_BOOT: Final = (
    "import sys; sys.path[0] = {root!r}; from losslint.runtime.child import boot; boot({memory})"
)
# Termination requests to losslint while the runtime stage runs: they stop it, and the report
# still shows what was found (SIGHUP: the terminal went away; same treatment).
_STOP_SIGNALS: Final = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)
_PACKAGES: Final = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
_STARTUP_LIMIT: Final = 300.0  # seconds for Python + Keras + backend to load
_TIMEOUT: Final = object()


@dataclass(frozen=True, slots=True)
class RuntimeSummary:
    backend: str
    device: str
    checked: int  # losses run to the end of their checks
    total: int  # losses planned
    modules: int  # user modules imported
    skipped: tuple[str, ...]  # losses not run, and why
    startups: tuple[float, ...]  # seconds from spawning each child to its readiness
    probe_seconds: tuple[float, ...]  # seconds per loss checked, measured in the child
    elapsed: float
    stopped_by: int = 0  # the signal that stopped the stage early (SIGTERM, SIGINT), or 0


@dataclass
class RuntimeOutcome:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    summary: RuntimeSummary | None = None
    internal_errors: list[str] = field(default_factory=list)


@dataclass
class StageResult:
    """What the pipeline gets back: diagnostics with the text of their line (for ``noqa``)."""

    found: list[tuple[Diagnostic, str]] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    summary: RuntimeSummary | None = None


def run_stage(
    files: list[tuple[str, str]],
    config: Config,
    static: list[Diagnostic],
    progress: Progress | None = None,
) -> StageResult:
    """The runtime stage of the pipeline over ``(display path, module)`` pairs: index the whole
    project (a loss defined in one module may be compiled in another), then run its losses."""
    from losslint.index.module import index_module

    stage = StageResult()
    indexes = []
    sources: dict[str, list[str]] = {}
    for shown, module in files:
        loaded = load(Path(shown), shown, module, prefilter=False)
        if not isinstance(loaded, ParsedModule):
            continue  # skipped, or LL000 already reported by the static stage
        sources[shown] = source_lines(loaded.source)
        try:
            indexes.append(index_module(loaded.tree, loaded.source, loaded.path, loaded.module))
        except Exception:
            stage.internal_errors.append(f"indexing {shown} failed:\n{traceback.format_exc()}")
    # The groups of the static check (SPEC §1): sub-projects that share module names are
    # separate projects, each run in a child of its own (one sys.path, one sys.modules).
    groups = namespaces((os.path.abspath(index.path), index) for index in indexes)
    outcomes: list[RuntimeOutcome] = []
    for group in groups or [[]]:
        outcomes.append(run_runtime(ProjectIndex(group), config.runtime, static, progress))
        summary = outcomes[-1].summary
        if summary is not None and summary.stopped_by:
            break  # stopped by a signal: the groups after it are not started
    outcome = _merged(outcomes)
    for diagnostic in outcome.diagnostics:
        lines = sources.get(diagnostic.path, [])
        line = lines[diagnostic.line - 1] if 0 < diagnostic.line <= len(lines) else ""
        stage.found.append((diagnostic, line))
    stage.internal_errors += outcome.internal_errors
    stage.summary = outcome.summary
    return stage


def _merged(outcomes: list[RuntimeOutcome]) -> RuntimeOutcome:
    """One outcome for the runs of several groups, as if they were one run."""
    if len(outcomes) == 1:
        return outcomes[0]
    merged = RuntimeOutcome()
    summaries = []
    for outcome in outcomes:
        merged.diagnostics += outcome.diagnostics
        merged.internal_errors += outcome.internal_errors
        if outcome.summary is not None:
            summaries.append(outcome.summary)
    merged.diagnostics.sort(key=Diagnostic.sort_key)
    if summaries:
        last = summaries[-1]
        merged.summary = RuntimeSummary(
            backend=last.backend,
            device=last.device,
            checked=sum(s.checked for s in summaries),
            total=sum(s.total for s in summaries),
            modules=sum(s.modules for s in summaries),
            skipped=tuple(line for s in summaries for line in s.skipped),
            startups=tuple(t for s in summaries for t in s.startups),
            probe_seconds=tuple(t for s in summaries for t in s.probe_seconds),
            elapsed=sum(s.elapsed for s in summaries),
            stopped_by=last.stopped_by,
        )
    return merged


@dataclass
class _Job:
    module: str | None
    file: str | None
    probes: list[tuple[int, Probe]]


def run_runtime(
    project: ProjectIndex,
    settings: RuntimeSettings,
    static: list[Diagnostic] | None = None,
    progress: Progress | None = None,
) -> RuntimeOutcome:
    """Run every loss of ``project`` in a child process; raise RuntimeUnavailable when the
    runtime cannot start at all (Keras or the backend missing, ``--device gpu`` without one)."""
    _check_installed(settings.backend)
    plan = build_plan(project, settings)
    return _Run(plan.probes, plan.roots, tuple(plan.skipped), settings, static or [], progress)()


def _check_installed(backend: str) -> None:
    if importlib.util.find_spec("keras") is None:
        raise RuntimeUnavailable(
            "--runtime needs Keras 3 and a backend in losslint's environment "
            f"({sys.executable}): pip install 'keras-losslint[runtime]'"
        )
    if importlib.util.find_spec(_PACKAGES[backend]) is None:
        raise RuntimeUnavailable(
            f"--backend {backend}: the {_PACKAGES[backend]} package is not installed in "
            f"losslint's environment ({sys.executable})"
        )


class _Run:
    def __init__(
        self,
        probes: list[Probe],
        roots: list[str],
        skipped: tuple[NotRun, ...],
        settings: RuntimeSettings,
        static: list[Diagnostic],
        progress: Progress | None,
    ) -> None:
        self.probes = probes
        self.roots = roots
        self.skipped: tuple[str, ...] = ()
        self.settings = settings
        self.static = static
        self.progress = progress or (lambda done, total, what: None)
        self.outcome = RuntimeOutcome()
        self.seen: set[tuple[str, str, int, int]] = set()
        self.done = 0
        self.checked = 0
        self.modules: set[str] = set()
        self.startups: list[float] = []
        self.probe_seconds: list[float] = []
        self.backend = settings.backend
        self.device = "CPU" if settings.device == "cpu" else "?"
        for not_run in skipped:
            self._not_run(not_run)
        self.stopper = _Stopper()

    def __call__(self) -> RuntimeOutcome:
        started = time.perf_counter()
        jobs = deque(_jobs(self.probes))
        child: _Child | None = None
        with _Stopper() as self.stopper:
            try:
                while jobs and not self.stopper.signal:
                    if child is None:
                        child = self._start()
                        self.stopper.watch(child)
                    job = jobs.popleft()
                    alive, left = self._run_job(child, job)
                    if self.stopper.signal:
                        jobs.appendleft(_Job(job.module, job.file, left))
                    elif not alive:  # it died or hung: what is left goes to a fresh one
                        child.kill()
                        child = None
                        if left:
                            jobs.appendleft(_Job(job.module, job.file, left))
            except BaseException:  # Ctrl-C included: the child must not outlive us
                if child is not None:
                    child.kill()
                raise
            if child is not None:
                if self.stopper.signal:
                    child.kill()
                else:
                    child.close()
        stopped_by = self.stopper.signal
        if stopped_by:
            not_run = sum(len(job.probes) for job in jobs)
            self.skipped += (
                f"{not_run} loss{'es' if not_run != 1 else ''} (losslint was stopped by "
                f"{signal.Signals(stopped_by).name})",
            )
        self.outcome.summary = RuntimeSummary(
            backend=self.backend,
            device=self.device,
            checked=self.checked,
            total=len(self.probes),
            modules=len(self.modules),
            skipped=self.skipped,
            startups=tuple(self.startups),
            probe_seconds=tuple(self.probe_seconds),
            elapsed=time.perf_counter() - started,
            stopped_by=stopped_by,
        )
        self.outcome.diagnostics.sort(key=Diagnostic.sort_key)
        return self.outcome

    # -- the child -------------------------------------------------------------------------

    def _start(self) -> _Child:
        self.progress(self.done, len(self.probes), f"starting Keras ({self.backend})")
        began = time.perf_counter()
        child = _Child(self.settings, self.roots)
        event = child.next(max(self.settings.timeout, _STARTUP_LIMIT))
        if event is _TIMEOUT or event is None or not isinstance(event, dict):
            how = (
                "did not start in time"
                if event is _TIMEOUT
                else f"died ({child.death(last_line=True)})"
            )
            child.kill()
            raise RuntimeUnavailable(f"the runtime process ({self.backend}) {how}")
        if event.get("event") == "fatal":
            child.kill()
            raise RuntimeUnavailable(str(event.get("message")))
        self.startups.append(time.perf_counter() - began)
        if type(event.get("pid")) is int:
            child.worker = event["pid"]
        self.backend = str(event.get("backend", self.backend))
        self.device = str(event.get("device", self.device))
        return child

    def _run_job(self, child: _Child, job: _Job) -> tuple[bool, list[tuple[int, Probe]]]:
        """Run one module's probes: whether the child is still usable, and the probes left to
        run in a fresh one when it is not."""
        by_id = dict(job.probes)
        finished: set[int] = set()
        current: int | None = None
        importing = job.module is not None
        request = {
            "module": job.module,
            "file": job.file,
            "probes": [probe.to_json(i) for i, probe in job.probes],
        }
        sent = child.send(request)
        while True:
            event = child.next(self.settings.timeout) if sent else None
            if self.stopper.signal:  # the stopper killed the child: nothing ran to the end
                return False, [(i, p) for i, p in job.probes if i not in finished]
            if event is _TIMEOUT or event is None or not isinstance(event, dict):
                hung = event is _TIMEOUT
                death = "" if hung else child.death()
                child.kill()
                if importing or current is None:
                    for probe_id, probe in job.probes:
                        if probe_id not in finished:
                            self._lost(probe, "import" if importing else "run", hung, death)
                    return False, []
                self._lost(by_id[current], "run", hung, death)
                finished.add(current)
                return False, [(i, p) for i, p in job.probes if i not in finished]
            kind = event.get("event")
            if kind == "import":
                self.progress(self.done, len(self.probes), f"importing {job.probes[0][1].path}")
            elif kind == "imported":
                importing = False
                if job.module:
                    self.modules.add(job.module)
            elif kind == "import_error":
                for _, probe in job.probes:
                    self._import_error(probe, event)
                    self.done += 1
            elif kind == "probe":
                started = _probe_id(event)
                if started is None or started not in by_id:
                    continue  # not one of this job's probes: nothing to attribute it to
                current = started
                probe = by_id[current]
                self.progress(self.done, len(self.probes), f"{probe.label} ({probe.path})")
            elif kind == "result":
                done_id = _probe_id(event)
                if done_id is None or done_id not in by_id or done_id in finished:
                    continue
                finished.add(done_id)
                current = None
                self.done += 1
                self.checked += 1
                self.probe_seconds.append(float(event.get("seconds", 0.0)))
                for finding in event.get("findings", []):
                    self._finding(by_id[done_id], finding)
            elif kind == "done":
                return True, []

    # -- diagnostics -----------------------------------------------------------------------

    @property
    def tag(self) -> str:
        return f"{self.backend}, {self.device}"

    def _emit(self, rule: RuntimeRule, probe: Probe, message: str) -> None:
        key = (rule.code, probe.path, probe.span.line, probe.span.column)
        if key in self.seen:
            return
        self.seen.add(key)
        self.outcome.diagnostics.append(
            Diagnostic(
                code=rule.code,
                name=rule.name,
                severity=rule.severity,
                message=message,
                path=probe.path,
                span=probe.span,
                source="runtime",
            )
        )

    def _not_run(self, not_run: NotRun) -> None:
        """RT100: in the report, not only on stderr, so that a run that could check nothing
        never reads as "no problems"."""
        self.skipped += (str(not_run),)
        key = ("RT100", not_run.path, not_run.span.line, not_run.span.column)
        if key in self.seen:
            return
        self.seen.add(key)
        rule = BY_CODE["RT100"]
        self.outcome.diagnostics.append(
            Diagnostic(
                code=rule.code,
                name=rule.name,
                severity=rule.severity,
                message=(
                    f"{not_run.label} was not run by --runtime: {not_run.why}; its runtime "
                    f"checks (RT101-RT106) did not apply, only the static rules did; "
                    f"{not_run.advice} to have it run"
                ),
                path=not_run.path,
                span=not_run.span,
                source="runtime",
            )
        )

    def _lost(self, probe: Probe, phase: str, hung: bool, death: str) -> None:
        self.done += 1
        limit = f"{self.settings.timeout:g} s"
        if phase == "import":
            where = f"importing {probe.path}"
            if hung:
                message = (
                    f"{where} did not finish within {limit} and was stopped, so {probe.label} "
                    f"could not be checked ({self.tag}): module-level code may train a model or "
                    'wait for input; put it under `if __name__ == "__main__":`'
                )
            else:
                message = (
                    f"the process {where} died ({death}), so {probe.label} could not be "
                    f"checked ({self.tag})"
                )
        elif hung:
            message = (
                f"{probe.label} did not return within {limit} on sample tensors "
                f"({probe.spec.describe()}) and was stopped ({self.tag})"
            )
        else:
            message = (
                f"the process died ({death}) while running {probe.label} on sample tensors "
                f"({probe.spec.describe()}) ({self.tag})"
            )
        self._emit(BY_CODE["RT101"], probe, message)

    def _import_error(self, probe: Probe, event: dict[str, Any]) -> None:
        error = _error(event.get("error", {}))
        self._emit(
            BY_CODE["RT101"],
            probe,
            f"importing {probe.path} raised {error}, so {probe.label} could not be checked "
            f"({self.tag}); the static findings still apply",
        )

    def _finding(self, probe: Probe, finding: dict[str, Any]) -> None:
        code = str(finding.get("code"))
        rule = BY_CODE.get(code)
        if rule is None:
            return
        if finding.get("stage") == "internal":
            self.outcome.internal_errors.append(
                f"runtime check of {probe.label} failed: {_error(finding)}"
            )
            return
        if code == "RT101" and _needs_arguments(probe, finding):
            self._not_run(NotRun(probe.label, f"needs arguments ({_error(finding)})", probe.path,
                                 probe.span))  # fmt: skip
            return
        message = getattr(self, f"_{code.lower()}")(probe, finding)
        self._emit(rule, probe, message)

    def _rt101(self, probe: Probe, finding: dict[str, Any]) -> str:
        stage = str(finding.get("stage"))
        error = _error(finding)
        if stage == "build":
            return f"creating {probe.label} raised {error} ({self.tag})"
        if stage.startswith("component "):
            return f"{probe.label}: its {stage} raised {error} ({self.tag})" + self._keras2_hint(
                probe, error
            )
        inputs = probe.spec.describe()
        if stage == "well-formed inputs":
            return (
                f"{probe.label} raised {error} on well-formed sample tensors ({inputs}) "
                f"({self.tag})" + self._keras2_hint(probe, error)
            )
        return f"{probe.label} raised {error} at {stage} ({inputs}) ({self.tag})"

    def _rt102(self, probe: Probe, finding: dict[str, Any]) -> str:
        shape = tuple(finding.get("shape", ()))
        batch = probe.spec.batch
        what = "a scalar" if not shape else f"shape {shape}"
        if probe.kind == "metric":
            return (
                f"{probe.label}.result() returns shape {shape} after one batch ({self.tag}): "
                "Keras logs a metric as one number, so the log and callbacks cannot read it; "
                "reduce the result to a scalar"
            )
        return (
            f"{probe.label} returns {what} for a batch of {batch} ({self.tag}): Keras expects "
            f"one loss value per sample, shape ({batch},), or sample_weight, class_weight and "
            "masks silently act as one global scale; reduce over the last axis only "
            "(ops.mean(..., axis=-1))"
        )

    def _rt103(self, probe: Probe, finding: dict[str, Any]) -> str:
        if probe.kind == "metric":
            return (
                f"the metric {probe.label} is {finding.get('kind')} at {finding.get('case')} "
                f"({self.tag}): inputs the model can produce ({probe.spec.describe()}) give a "
                "non-finite result(), and the epoch's logged value stays NaN; guard the "
                "operation (add eps to denominators, clip)" + self._static_hint(probe)
            )
        return (
            f"{probe.label} is {finding.get('kind')} at {finding.get('case')} ({self.tag}): "
            f"inputs the model can produce ({probe.spec.describe()}) give a non-finite loss; "
            "guard the operation (clip y_pred to [eps, 1 - eps], add eps to denominators)"
            + self._static_hint(probe)
        )

    def _rt104(self, probe: Probe, finding: dict[str, Any]) -> str:
        return (
            f"gradient of {probe.label} w.r.t. y_pred is {finding.get('kind')} at "
            f"{finding.get('case')} ({self.tag}): one such batch turns every weight into NaN; "
            "guard the operation (clip y_pred, sqrt(maximum(x, eps)), the double-where trick)"
            + self._static_hint(probe)
        )

    def _rt105(self, probe: Probe, finding: dict[str, Any]) -> str:
        single = float(finding.get("single", 0.0))
        double = float(finding.get("double", 0.0))
        return (
            f"{probe.label} doubles when the batch is repeated twice ({single:.6g} -> "
            f"{double:.6g}) ({self.tag}): it sums over the batch, so its value and gradient grow "
            "with the batch size; average instead (per-sample values, or "
            'reduction="sum_over_batch_size")'
        )

    def _rt106(self, probe: Probe, finding: dict[str, Any]) -> str:
        parts = finding.get("parts", [])
        formula = " + ".join(
            _weighted(float(p["weight"]), str(p.get("metric_label") or p["label"])) for p in parts
        )
        values = ", ".join(
            f"{p.get('metric_label') or p['label']} = {float(p['value']):.6g}" for p in parts
        )
        differs = [
            f"the tracked metric {p['metric_label']} = {float(p['value']):.6g} is not the term "
            f"{p['label']} = {float(p['term']):.6g} the loss computes"
            for p in parts
            if p.get("differs") and p.get("metric_label")
        ]
        notes = [c.note for c in probe.components if c.note]
        tracked = any(c.as_metric for c in probe.components)
        why = "; ".join(differs or notes) or "the terms do not compute what their names say"
        logged = "what the training log shows does not add up to the loss: " if tracked else ""
        return (
            f"{probe.label} = {float(finding['joint']):.6g} but {formula} = "
            f"{float(finding['sum']):.6g} on the same batch ({values}) ({self.tag}): "
            f"{logged}{why}"
        )

    def _rt107(self, probe: Probe, finding: dict[str, Any]) -> str:
        case = str(finding.get("case") or "")
        index = int(finding.get("sample", 1))
        what = "value" if probe.kind == "metric" else "loss"
        moved = (
            f"the {what} of sample {index} went from {float(finding.get('before', 0.0)):.6g} to "
            f"{float(finding.get('after', 0.0)):.6g} when only sample 0 changed"
        )
        if case:
            also = (
                "" if probe.kind == "metric" else " or compile a plain function, which Keras aligns"
            )
            return (
                f"{probe.label} mixes the batch with {case} ({self.tag}): {moved}; y_true - "
                "y_pred broadcasts to (batch, batch) and the mean over the last axis hides it "
                "(RT102 sees the right shape). Align the ranks first "
                f"(y_true = ops.reshape(y_true, ops.shape(y_pred))){also}"
            )
        return (
            f"{probe.label} mixes the batch ({self.tag}): {moved}; per-sample weights, masks and "
            "the batch size then change every sample's loss. Compute each sample's loss from its "
            "own row only, or, if it compares samples on purpose (in-batch negatives), add "
            "# noqa: RT107"
        )

    def _keras2_hint(self, probe: Probe, error: str) -> str:
        """A loss that fails only because it uses a Keras 2 API that Keras 3 removed
        (``K.mean``): say so, and how to run it as the safe fixes leave it."""
        if not error.startswith("AttributeError"):
            return ""
        first, last = probe.lines
        for diagnostic in self.static:
            if (
                diagnostic.code == "LL402"
                and diagnostic.path == probe.path
                and first <= diagnostic.line <= last
            ):
                return (
                    f": it uses a Keras 2 API that Keras 3 removed (LL402, line "
                    f"{diagnostic.line}); `losslint check --runtime --fix` applies the safe "
                    "fixes first and checks the loss as they leave it"
                )
        return ""

    def _static_hint(self, probe: Probe) -> str:
        first, last = probe.lines
        for diagnostic in self.static:
            if (
                diagnostic.path == probe.path
                and first <= diagnostic.line <= last
                and diagnostic.code.startswith("LL3")
            ):
                return f" (static analysis: line {diagnostic.line}, {diagnostic.code})"
        return ""


def _probe_id(event: dict[str, Any]) -> int | None:
    value = event.get("id")
    return value if type(value) is int else None


def _jobs(probes: list[Probe]) -> list[_Job]:
    """Keras losses first (no import), then one job per user module, in path order."""
    by_module: dict[str | None, _Job] = {}
    for index, probe in enumerate(probes):
        job = by_module.setdefault(probe.module, _Job(probe.module, probe.file, []))
        job.probes.append((index, probe))
    return sorted(by_module.values(), key=lambda j: (j.module is not None, j.file or ""))


def _needs_arguments(probe: Probe, finding: dict[str, Any]) -> bool:
    """A loss that no compile site uses, and that cannot be built without arguments (its base
    class requires them): not a bug, so not run."""
    error = str(finding.get("error", ""))
    return (
        not probe.compiled
        and finding.get("stage") == "build"
        and error.startswith("TypeError")
        and "required" in error
        and "argument" in error
    )


def _error(found: dict[str, Any]) -> str:
    text = str(found.get("error", "an exception"))
    where = found.get("where")
    return f"{text} ({where})" if where else text


def _weighted(weight: float, label: str) -> str:
    return label if weight == 1.0 else f"{weight:g}*{label}"


class _Child:
    """One child process and the thread that reads its events."""

    def __init__(self, settings: RuntimeSettings, roots: list[str]) -> None:
        # Not a pipe: nobody reads it while the child runs, and a full pipe would block it.
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in _release
        env = dict(os.environ)
        env["KERAS_BACKEND"] = settings.backend
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave no __pycache__ in the user's tree
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        # A few small tensors: do not reserve the GPU's memory (TensorFlow takes all of it,
        # JAX three quarters) from a training job that may share the device.
        env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
        env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        if settings.device == "cpu":
            env["CUDA_VISIBLE_DEVICES"] = ""
            env["JAX_PLATFORMS"] = "cpu"
            env["KERAS_TORCH_DEVICE"] = "cpu"
        root = str(Path(losslint.__file__).resolve().parent.parent)
        self.worker: int | None = None  # the supervised process that runs the user's code
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT.format(root=root, memory=int(settings.memory_limit))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            start_new_session=os.name == "posix",  # one group: kill user subprocesses too
        )
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.send({"backend": settings.backend, "device": settings.device, "roots": roots})

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            for raw in stdout:
                try:
                    event = json.loads(raw)
                except ValueError:  # a line cut short by a crash
                    continue
                if isinstance(event, dict):
                    self.events.put(event)
        except (OSError, ValueError):  # closed by kill()
            pass
        self.events.put(None)

    def send(self, message: dict[str, Any]) -> bool:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write((json.dumps(message) + "\n").encode("utf-8"))
            stdin.flush()
        except (BrokenPipeError, OSError):
            return False
        return True

    def next(self, timeout: float) -> object:
        """The next event, None when the child has exited, or _TIMEOUT."""
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return _TIMEOUT

    def death(self, last_line: bool = False) -> str:
        """How the child ended, in words: the exit code or signal, the interpreter's fatal
        error when there is one, else (``last_line``) the last line it printed on stderr."""
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        if code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exit code {code}"
        tail = self._stderr_tail(last_line)
        return f"{how}: {tail}" if tail else how

    def _stderr_tail(self, last_line: bool) -> str:
        try:
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - 4096))
            text = self.stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):  # ValueError: already closed
            return ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        fatal = [line for line in lines if line.startswith("Fatal Python error")]
        found = fatal[-1] if fatal else lines[-1] if lines and last_line else ""
        return found[:200]

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                if os.name == "posix":
                    os.killpg(self.process.pid, signal.SIGKILL)
                else:
                    self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        self._release()

    def close(self) -> None:
        stdin = self.process.stdin
        with contextlib.suppress(OSError):
            if stdin is not None:
                stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
        self.reap()
        self._release()

    def reap(self) -> None:
        """End what user code forked and left running in the child's session (its group
        outlives its leader): nothing of the user's keeps running after losslint."""
        if os.name == "posix":
            with contextlib.suppress(OSError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def owns(self, pid: int) -> bool:
        """Whether ``pid`` is this child, its worker, or runs in its session."""
        if pid in (self.process.pid, self.worker):
            return True
        try:
            return os.getsid(pid) == self.process.pid
        except OSError:
            return False

    def _release(self) -> None:
        with contextlib.suppress(OSError):
            if self.process.stdout is not None:
                self.process.stdout.close()
        with contextlib.suppress(OSError):
            self.stderr.close()


class _Stopper:
    """Waits for SIGTERM/SIGINT/SIGHUP in a thread of its own while the runtime stage runs.

    A signal from the user's code (a module that kills its parent, or its parent's group) is
    recognised by its sender and ignored: it must not cost the report. Any other one kills
    the child and stops the stage; the pipeline then reports what it has. The signals are
    blocked in every thread and taken with ``sigtimedwait``, which names the sender; where
    that does not exist (not Linux), nothing changes.
    """

    def __init__(self) -> None:
        self.signal = 0
        self.ignored = 0
        self._child: _Child | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._mask: set[int | signal.Signals] | None = None

    def watch(self, child: _Child) -> None:
        self._child = child

    def __enter__(self) -> _Stopper:
        if (
            not hasattr(signal, "sigtimedwait")
            or threading.current_thread() is not threading.main_thread()
        ):
            return self
        self._mask = signal.pthread_sigmask(signal.SIG_BLOCK, set(_STOP_SIGNALS))
        self._thread = threading.Thread(target=self._wait, name="losslint-signals", daemon=True)
        self._thread.start()
        return self

    def _wait(self) -> None:
        while not self._done.is_set():
            info = signal.sigtimedwait(set(_STOP_SIGNALS), 0.1)
            if info is None:
                continue
            child = self._child
            if child is not None and child.owns(info.si_pid):
                self.ignored += 1
                continue
            self.signal = info.si_signo
            if child is not None:
                with contextlib.suppress(OSError):
                    if os.name == "posix":
                        os.killpg(child.process.pid, signal.SIGKILL)
            return

    def __exit__(self, *exc: object) -> None:
        if self._thread is None or self._mask is None:
            return
        self._done.set()
        self._thread.join()
        # A signal that came after the thread stopped is delivered as usual on unblocking.
        signal.pthread_sigmask(signal.SIG_SETMASK, self._mask)
