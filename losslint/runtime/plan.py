"""What the runtime stage runs: one probe per loss the index found, with its sample inputs.

Parent side, pure: reads the project index, never imports Keras. A probe says how the child
builds the loss (a Keras id or object, a project function, a factory or ``Loss`` subclass called
with the compile site's constant arguments or its defaults), which tensors to feed it, which
checks apply, and where its diagnostics point.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

from losslint.analysis.decompose import (
    JSON,
    Target,
    Term,
    Tracked,
    loss_body,
    tracked_metric,
    weight_key,
)
from losslint.analysis.wiring import assign_losses, assign_metrics, crossentropy
from losslint.config import RuntimeSettings
from losslint.diagnostic import Span
from losslint.index import keras_ids, names
from losslint.index.facts import (
    Call,
    ClassDef,
    Const,
    FunctionDef,
    LossDef,
    Mapping,
    ModuleIndex,
    Output,
    Ref,
    Seq,
    Value,
    iter_leaves,
)
from losslint.index.positions import inline_lambda
from losslint.index.project import ProjectIndex
from losslint.runtime.inputs import InputSpec, spec_for

_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class Component:
    """One term of a joint loss: how the loss computes it, and the metric that tracks it."""

    weight: float  # the weight the author meant (see ``note`` when it is not the written one)
    label: str  # the term as written in the loss (``mse_loss``, ``mse``)
    target: Target | None  # a loss called on (y_true, y_pred); None: ``source`` is evaluated
    source: str | None = None  # an inline term's expression over ``params``
    params: tuple[str, ...] = ()  # its parameters (``self`` first in ``Loss.call``)
    metric: Target | None = None  # the tracked metric, as compile builds it
    metric_label: str = ""
    note: str = ""  # why it may differ: arguments swapped, a weight on the wrong term

    @property
    def as_metric(self) -> bool:
        return self.metric is not None

    def to_json(self) -> dict[str, JSON]:
        term: dict[str, JSON] = (
            {"kind": "target", "target": self.target.to_json()}
            if self.target is not None
            else {"kind": "expr", "source": self.source, "params": list(self.params)}
        )
        return {
            "weight": self.weight,
            "label": self.label,
            "term": term,
            "metric": None if self.metric is None else self.metric.to_json(),
            "metric_label": self.metric_label,
        }


@dataclass(frozen=True, slots=True)
class Probe:
    label: str  # how messages name the loss: ``focal_loss``, ``'mse'``, ``make_focal(2.0)``
    target: Target
    module: str | None  # the user module to import first; None for a Keras loss
    file: str | None  # its absolute path
    path: str  # where diagnostics point (display path)
    span: Span
    spec: InputSpec
    per_sample: bool  # a compile loss: RT102 applies
    components: tuple[Component, ...] = ()
    compiled: bool = True  # False: built with its defaults, no compile site uses it
    lines: tuple[int, int] = (0, 0)  # the definition's lines, to cite static findings
    kind: str = "loss"  # "loss" | "metric" (update_state/result/reset_state)

    def identity(self) -> tuple[object, ...]:
        return (repr(self.target), self.module, self.spec, self.per_sample, self.components,
                self.kind)  # fmt: skip

    def to_json(self, probe_id: int) -> dict[str, JSON]:
        return {
            "id": probe_id,
            "label": self.label,
            "target": self.target.to_json(),
            "spec": self.spec.to_json(),
            "per_sample": self.per_sample,
            "module": self.module,
            "kind": self.kind,
            "components": [c.to_json() for c in self.components],
        }


# RT100's advice for a loss not run for want of its arguments' values.
_CONSTANT_ARGUMENTS: Final = "compile it with constant arguments, or give its parameters defaults"


@dataclass(frozen=True, slots=True)
class NotRun:
    """A loss the index found but the runtime cannot run, and why (reported as RT100)."""

    label: str
    why: str  # "needs margin", "its constructor arguments are not constants"
    path: str
    span: Span
    advice: str = _CONSTANT_ARGUMENTS  # what would have it run (the advice of RT100)

    def __str__(self) -> str:
        return f"{self.label}: {self.why}"


@dataclass
class Plan:
    probes: list[Probe] = field(default_factory=list)
    skipped: list[NotRun] = field(default_factory=list)  # losses not run, and why
    roots: list[str] = field(default_factory=list)  # sys.path entries for the user modules


def module_root(file: Path, module: str) -> Path:
    """The directory to put on ``sys.path`` so that ``import module`` finds ``file``."""
    levels = module.count(".") + (1 if file.name == "__init__.py" else 0)
    root = file.parent
    for _ in range(levels):
        root = root.parent
    return root


def build_plan(project: ProjectIndex, settings: RuntimeSettings) -> Plan:
    return _Planner(project, settings).plan()


class _Planner:
    def __init__(self, project: ProjectIndex, settings: RuntimeSettings) -> None:
        self.project = project
        self.settings = settings
        self.result = Plan()
        self.seen: set[tuple[object, ...]] = set()
        self.covered: set[str] = set()  # definitions run from a compile site
        self.modules = {m.module: m for m in project.modules}
        self.definitions = {d.qualname: d for d in project.definitions()}
        self.closures = {d.factory: d for d in project.definitions() if d.factory}

    def plan(self) -> Plan:
        for resolved in self.project.compiles():
            site, model = resolved.site, resolved.model
            if model is not None:
                metrics = [
                    *assign_metrics(site.metrics, model),
                    *assign_metrics(site.weighted_metrics, model),
                ]
                for index, value in assign_losses(site.loss, model, self.project):
                    tracked = [m for i, m in metrics if i == index]
                    self._compile_loss(value, model.outputs[index], tracked, resolved.path)
                for index, value in metrics:
                    if 0 <= index < len(model.outputs):
                        output = model.outputs[index]
                        spec = spec_for(output, None, self.settings.batch_size, self.settings.units)
                        self._metric(value, spec)
            elif site.loss is not None:
                single = not isinstance(site.loss, (Seq, Mapping))
                tracked = (
                    [*_leaves(site.metrics), *_leaves(site.weighted_metrics)] if single else []
                )
                for value in iter_leaves(site.loss):
                    self._compile_loss(value, None, tracked, resolved.path)
        for definition in self.project.definitions():
            # Losses, and functions shaped like one whatever their name; a metric need not
            # have a gradient, so the runtime checks do not apply to it.
            if definition.qualname in self.covered or definition.kind == "metric_class":
                continue
            if definition.roles and "loss" not in definition.roles:
                continue
            self._definition(definition)
        for definition in self.project.definitions():
            if (
                definition.roles == frozenset({"metric"})
                and definition.qualname not in self.covered
            ):
                self._metric(Ref(definition.qualname, definition.span), None)
        roots = {
            str(module_root(Path(p.file), p.module))
            for p in self.result.probes
            if p.file and p.module
        }
        self.result.roots = sorted(roots)
        return self.result

    # -- metrics -----------------------------------------------------------------------------

    def _metric(self, value: Value, spec: InputSpec | None) -> None:
        """A project metric (a function, or a ``Metric`` subclass built with the compile site's
        constant arguments, else its defaults), run as compile runs it."""
        name = (
            value.target
            if isinstance(value, Ref)
            else value.func
            if isinstance(value, Call)
            else None
        )
        qualname = self.project._lookup(name) if name else None
        definition = self.definitions.get(qualname or "")
        if definition is None or definition.kind not in ("function", "metric_class"):
            return
        if definition.kind == "function" and (
            _attribute_path(definition) is None or isinstance(value, Call)
        ):
            return
        args: tuple[JSON, ...] = ()
        kwargs: tuple[tuple[str, JSON], ...] = ()
        if isinstance(value, Call):
            found = _constants(value.args)
            if found is None:
                return
            args, kwargs = found, _keyword_constants(value.kwargs)
        if definition.kind == "metric_class":
            cls = self.project.classes.get(definition.qualname)
            init = _method(cls[1], "__init__") if cls else None
            missing = _unbound(init.args, args, dict(kwargs), skip=1) if init else ""
            if missing:
                self._not_run(definition.qualname, _short(definition.qualname), f"needs {missing}")
                return
            target = Target("call", definition.qualname, args, kwargs)
        else:
            target = Target("object", definition.qualname)
        self.covered.add(definition.qualname)
        if spec is None:
            spec = spec_for(None, None, self.settings.batch_size, self.settings.units)
        end = getattr(definition.node, "end_lineno", None) or definition.span.line
        self._add(
            Probe(
                target.label(),
                target,
                definition.module,
                str(Path(definition.path).resolve()),
                definition.path,
                definition.span,
                spec,
                per_sample=False,
                compiled=spec.origin == "model",
                lines=(definition.node.lineno, end),
                kind="metric",
            )
        )

    # -- compile sites -----------------------------------------------------------------------

    def _compile_loss(
        self, value: Value, output: Output | None, tracked: list[Value], path: str
    ) -> None:
        spec = spec_for(output, crossentropy(value), self.settings.batch_size, self.settings.units)
        if isinstance(value, Const):
            if not isinstance(value.value, str):
                return
            identifier = value.value
            if identifier.lower() in keras_ids.COMPILE_LOSS_SPECIAL:
                # compile turns "crossentropy" into binary or categorical by the output's size
                identifier = (
                    "binary_crossentropy" if spec.units == 1 else "categorical_crossentropy"
                )
            elif identifier not in keras_ids.K3_LOSSES:
                return  # unknown to Keras 3: LL106 reports it
            target = Target("keras_id", identifier)
            self._add_keras(target, repr(value.value), path, value.span, spec)
            return
        if isinstance(value, Ref):
            if _is_keras_loss(value.target):
                target = Target("object", value.target)
                self._add_keras(target, _short(value.target), path, value.span, spec)
                return
            self._project_loss(value.target, (), (), spec, tracked, value.instance)
            return
        if isinstance(value, Call) and value.func is not None:
            args = _constants(value.args)
            kwargs = _keyword_constants(value.kwargs)
            if _is_keras_loss(value.func):
                if args is None:
                    return
                target = Target("call", value.func, args, kwargs)
                self._add_keras(target, target.label(), path, value.span, spec)
                return
            if args is None:
                found = self.project._lookup(value.func)
                if found is not None:
                    self._not_run(found, _short(value.func), "its arguments are not constants")
                return
            self._project_loss(value.func, args, kwargs, spec, tracked, value)

    def _add_keras(
        self, target: Target, label: str, path: str, span: Span, spec: InputSpec
    ) -> None:
        self._add(Probe(label, target, None, None, path, span, spec, per_sample=True))

    # -- project definitions -----------------------------------------------------------------

    def _project_loss(
        self,
        name: str,
        args: tuple[JSON, ...],
        kwargs: tuple[tuple[str, JSON], ...],
        spec: InputSpec,
        tracked: list[Value],
        instance: Call | None = None,
    ) -> None:
        kind = self.project.kind(name)
        qualname = self.project._lookup(name)
        if kind is None or qualname is None:
            return  # a third-party loss: not the user's code
        if kind == "function" and not args and not kwargs:
            definition = self.definitions.get(qualname)
            if definition is not None:
                self.covered.add(qualname)
                self._definition(
                    definition, spec, per_sample=True, tracked=tracked, instance=instance
                )
        elif kind == "factory":
            closure = self.closures.get(qualname)
            if closure is not None:
                self.covered.add(closure.qualname)
                self._definition(closure, spec, True, tracked, args, dict(kwargs))
        elif kind == "class":
            definition = self.definitions.get(qualname)
            if definition is not None and definition.kind == "loss_class":
                self.covered.add(qualname)
                self._definition(definition, spec, True, tracked, args, dict(kwargs))
                return
            # A callable object of a plain class: Keras calls its __call__.
            method = self.project.method(qualname, "__call__")
            called = self.definitions.get(method) if method else None
            if called is not None and called.kind == "method":
                self.covered.add(called.qualname)
                self._definition(called, spec, True, tracked, instance=instance)

    def _definition(
        self,
        definition: LossDef,
        spec: InputSpec | None = None,
        per_sample: bool | None = None,
        tracked: list[Value] | None = None,
        args: tuple[JSON, ...] = (),
        kwargs: dict[str, JSON] | None = None,
        instance: Call | None = None,
    ) -> None:
        kwargs = kwargs or {}
        if spec is None:
            spec = spec_for(None, None, self.settings.batch_size, self.settings.units)
        module = self.modules.get(definition.module)
        if module is None:
            return
        short = _short(definition.qualname)
        shadowed = (definition.factory or definition.qualname)[len(definition.module) :]
        if "#" in shadowed:  # a definition that a later one of the same name replaces
            self._not_run(
                definition.qualname,
                short,
                "its module defines the same name again below it, and only the last "
                "definition can be imported",
                "give it a name of its own",
            )
            return
        captured = [name for name, _, _ in self.project.captured_tensors(definition)]
        if captured:
            # Its module builds the model at import, and the loss then reads placeholders.
            what = "tensor" if len(captured) == 1 else "tensors"
            self._not_run(
                definition.qualname,
                short,
                f"it captures the symbolic {what} {', '.join(captured)} of the model (LL406)",
            )
            return
        owner: ast.ClassDef | None = None
        span = definition.span
        if definition.kind == "function":
            if inline_lambda(definition.qualname.rpartition(".")[2]):
                self._not_run(
                    definition.qualname,
                    short,
                    "it is a lambda written in the call that uses it, which no import reaches",
                    "give it a name at module level (my_loss = lambda y_true, y_pred: ...)",
                )
                return
            if _attribute_path(definition) is None:
                self._not_run(definition.qualname, short, "it is a nested function")
                return
            target = Target("object", definition.qualname)
            label = short
        elif definition.kind == "closure" and definition.factory:
            factory = self.project.functions.get(definition.factory)
            if factory is None or "." in definition.factory[len(definition.module) + 1 :]:
                return  # a method or a nested function: not callable from the module
            if factory[1].returns_function != definition.qualname:
                return  # one of several closures it hands out: the factory's call runs once
            missing = _unbound(factory[1].node.args, args, kwargs, skip=0)
            if missing:
                self._not_run(definition.factory, _short(definition.factory), f"needs {missing}")
                return
            target = Target("call", definition.factory, args, tuple(kwargs.items()))
            label = target.label()
        elif definition.kind == "loss_class":
            cls = self.project.classes.get(definition.qualname)
            if cls is None:
                return
            init = _method(cls[1], "__init__")
            missing = _unbound(init.args, args, kwargs, skip=1) if init else ""
            if missing:
                self._not_run(definition.qualname, short, f"needs {missing}")
                return
            target = Target("call", definition.qualname, args, tuple(kwargs.items()))
            label = target.label()
            if _method(cls[1], "call") is not None:
                span = _call_span(self.project, definition.qualname, span)
        elif definition.kind == "method":
            bound = self._bound_method(definition, instance or definition.instance)
            if bound is None:
                return
            target, label, owner, args, kwargs = bound
        else:
            return
        components: tuple[Component, ...] = ()
        body = loss_body(self.project, definition, args, kwargs, owner)
        if body is not None:
            terms = body.terms()
            if terms is not None and sum(t.is_loss for t in terms) >= 2:
                metrics = [t for t in map(self._tracked, tracked or []) if t is not None]
                unused = [term for _, term, _, count in body.unused() if count == 1]
                method = definition.kind in ("loss_class", "method")
                params = (("self",) if method else ()) + body.pair
                components = _components(terms, metrics, unused, params)
        end = getattr(definition.node, "end_lineno", None) or definition.span.line
        self._add(
            Probe(
                label,
                target,
                definition.module,
                str(Path(definition.path).resolve()),
                definition.path,
                span,
                spec,
                per_sample=definition.kind == "loss_class" if per_sample is None else per_sample,
                components=components,
                compiled=per_sample is not None,
                lines=(definition.node.lineno, end),
            )
        )

    def _bound_method(
        self, definition: LossDef, instance: Call | None
    ) -> tuple[Target, str, ast.ClassDef, tuple[JSON, ...], dict[str, JSON]] | None:
        """How the child gets a bound method: the instance's class called with the compile
        site's constant arguments (or its defaults), then the method read from it."""
        short = _short(definition.qualname)
        owner = definition.qualname.rpartition(".")[0]
        label = f"{_short(owner)}.{short}"
        if instance is not None and instance.func is not None:
            found = self.project._lookup(instance.func)
            if found is not None and found in self.project.classes:
                owner = found
            if instance.binding:
                label = f"{_short(instance.binding)}.{short}"
        cls = self.project.classes.get(owner)
        if cls is None or "." in owner[len(cls[0].module) + 1 :]:
            self._not_run(definition.qualname, label, "its class is not reachable from its module")
            return None
        args: tuple[JSON, ...] = ()
        kwargs: dict[str, JSON] = {}
        if instance is not None:
            given = _constants(instance.args)
            if given is None:
                self._not_run(
                    definition.qualname,
                    label,
                    "its object's constructor arguments are not constants",
                )
                return None
            args, kwargs = given, dict(_keyword_constants(instance.kwargs))
        init = self.project.method(owner, "__init__")
        if init is not None:
            init_node = self.project.functions[init][1].node
            missing = _unbound(init_node.args, args, kwargs, skip=1)
            if missing:
                self._not_run(definition.qualname, label, f"its class needs {missing}")
                return None
            if not definition.used and not _plain_init(init_node):
                # Found by its name only: building an object whose constructor does real work
                # (loads data, builds a model) is not ours to do.
                self._not_run(
                    definition.qualname,
                    label,
                    "no compile site uses it and its class's __init__ does more than store "
                    "its arguments",
                )
                return None
        target = Target("call", owner, args, tuple(kwargs.items()), attribute=short)
        return target, label, cls[1].node, args, kwargs

    def _not_run(
        self, qualname: str, label: str, why: str, advice: str = _CONSTANT_ARGUMENTS
    ) -> None:
        """Record a loss that cannot be run, where its definition is."""
        found = self.project.functions.get(qualname) or self.project.classes.get(qualname)
        if found is None:
            return
        module, definition = found
        self.result.skipped.append(NotRun(label, why, module.path, definition.span, advice))

    def _tracked(self, metric: Value) -> Tracked | None:
        found = tracked_metric(self.project, metric)
        return found if found is not None and found.target is not None else None

    def _add(self, probe: Probe) -> None:
        identity = probe.identity()
        if identity in self.seen:
            return
        self.seen.add(identity)
        self.result.probes.append(probe)


# -- helpers -----------------------------------------------------------------------------------


def _components(
    terms: list[Term], tracked: list[Tracked], unused: list[Term], params: tuple[str, ...]
) -> tuple[Component, ...]:
    """Each term as the runtime checks it: how the loss computes it, the metric that tracks it,
    and the weight its author meant. Empty when a term cannot be evaluated on its own."""
    out: list[Component] = []
    for term in terms:
        component = _component(term, tracked, params)
        if component is None:
            return ()
        out.append(component)
    # A weight named for another term (``lambda_mse * mae_loss``): the author meant that term.
    for index, term in enumerate(terms):
        meant = weight_key(term.weight_name) if term.weight_name else ""
        if not meant or meant in term.identities():
            continue
        note = f"the weight {term.weight_name} multiplies {out[index].label}"
        other = next(
            (j for j, t in enumerate(terms) if j != index and meant in t.identities()), None
        )
        if other is not None:
            here, there = out[index], out[other]
            out[index] = replace(here, weight=there.weight, note=f"{note}, not {there.label}")
            out[other] = replace(there, weight=here.weight)
            break
        candidate = next((t for t in unused if meant in t.identities()), None)
        found = None if candidate is None else _component(candidate, tracked, params)
        if found is None:
            metric = next((m for m in tracked if meant in m.keys), None)
            if metric is not None:
                found = Component(1.0, metric.shown, metric.target, metric=metric.target,
                                  metric_label=metric.shown)  # fmt: skip
        if found is not None:
            out[index] = replace(found, weight=term.weight, note=f"{note}, not {found.label}")
            break
    return tuple(out)


def _component(term: Term, tracked: list[Tracked], params: tuple[str, ...]) -> Component | None:
    label = _display(term.written)
    note = ""
    if term.kind == "loss":
        if term.order == "other":
            return None
        if term.order == "swapped" and term.target is not None:
            callee = term.target.label()
            note = f"the loss calls {callee}(y_pred, y_true), arguments swapped"
    elif term.source is None:
        return None
    metric = next((m for m in tracked if m.matches(term)), None) if term.is_loss else None
    return Component(
        term.weight,
        label,
        term.target if term.kind == "loss" else None,
        None if term.kind == "loss" else term.source,
        params,
        None if metric is None else metric.target,
        "" if metric is None else metric.shown,
        note,
    )


def _display(written: str) -> str:
    """``keras.losses.mean_absolute_error`` → ``mean_absolute_error``; ``self.mse`` stays."""
    return written if written.startswith("self.") else written.rpartition(".")[2]


def _leaves(value: Value | None) -> Iterator[Value]:
    if value is not None:
        yield from iter_leaves(value)


def _short(name: str) -> str:
    return names.defined_name(name)


def _is_keras_loss(name: str) -> bool:
    module, _, last = name.rpartition(".")
    return module == "keras.losses" and last not in ("", "Loss", "get", "Reduction")


def _json(value: Value) -> object:
    if isinstance(value, Const) and isinstance(value.value, (str, int, float, bool, type(None))):
        return value.value
    if isinstance(value, Seq):
        items = [_json(item) for item in value.items]
        return _MISSING if any(i is _MISSING for i in items) else items
    if isinstance(value, Mapping):
        pairs = value.str_items()
        if pairs is None:
            return _MISSING
        out = {k: _json(v) for k, v, _ in pairs}
        return _MISSING if any(v is _MISSING for v in out.values()) else out
    return _MISSING


def _constants(values: tuple[Value, ...]) -> tuple[JSON, ...] | None:
    """Positional arguments as JSON constants; None when one is not a constant."""
    out = [_json(v) for v in values]
    if any(v is _MISSING for v in out):
        return None
    return tuple(out)  # type: ignore[arg-type]


def _keyword_constants(pairs: tuple[tuple[str, Value], ...]) -> tuple[tuple[str, JSON], ...]:
    """Keyword arguments that are constants; the others fall back to their defaults."""
    out = []
    for name, value in pairs:
        found = _json(value)
        if found is not _MISSING:
            out.append((name, found))
    return tuple(out)  # type: ignore[arg-type]


def _unbound(
    arguments: ast.arguments, args: tuple[JSON, ...], kwargs: dict[str, JSON], skip: int
) -> str:
    """The required parameters that neither ``args`` nor ``kwargs`` give, as text."""
    positional = [*arguments.posonlyargs, *arguments.args][skip:]
    required = len(positional) - len(arguments.defaults)
    missing = [
        a.arg
        for index, a in enumerate(positional[:required])
        if index >= len(args) and a.arg not in kwargs
    ]
    missing += [
        a.arg
        for a, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        if default is None and a.arg not in kwargs
    ]
    return ", ".join(missing)


def _plain_init(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """An ``__init__`` that only stores values on ``self`` and calls ``super().__init__``."""
    for stmt in node.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # docstring
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            value = stmt.value
            if all(isinstance(t, ast.Attribute) for t in targets) and (
                value is None or isinstance(value, (ast.Name, ast.Constant, ast.Attribute))
            ):
                continue
            return False
        if (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Attribute)
            and stmt.value.func.attr == "__init__"
        ):
            continue
        return False
    return True


def _method(cls: ClassDef, name: str) -> ast.FunctionDef | None:
    for stmt in cls.node.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == name:
            return stmt
    return None


def _call_span(project: ProjectIndex, qualname: str, default: Span) -> Span:
    """A ``Loss`` subclass's diagnostics point at its ``def call`` line."""
    found: tuple[ModuleIndex, FunctionDef] | None = project.functions.get(f"{qualname}.call")
    return found[1].span if found else default


def _attribute_path(definition: LossDef) -> str | None:
    """The attribute path below the module, when the function is a module-level name (not a
    lambda written where it is used)."""
    rest = definition.qualname[len(definition.module) + 1 :]
    return rest if rest and "." not in rest and not inline_lambda(rest) else None
