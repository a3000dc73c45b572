"""What the runtime stage runs: one probe per loss the index found, with its sample inputs.

Parent side, pure: reads the project index, never imports Keras. A probe says how the child
builds the loss (a Keras id or object, a project function, a factory or ``Loss`` subclass called
with the compile site's constant arguments or its defaults), which tensors to feed it, which
checks apply, and where its diagnostics point.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from losslint.analysis.wiring import assign_losses, assign_metrics, crossentropy
from losslint.config import RuntimeSettings
from losslint.diagnostic import Span
from losslint.index import keras_ids
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
from losslint.index.project import ProjectIndex
from losslint.runtime.decompose import (
    JSON,
    Scope,
    Target,
    Term,
    key,
    numbers_of_class,
    numbers_of_factory,
    weighted_sum,
)
from losslint.runtime.inputs import InputSpec, spec_for

_MISSING: Final = object()
_SKIPPED_METRIC_IDS: Final = frozenset({"accuracy", "acc"})  # resolved by shape in compile


@dataclass(frozen=True, slots=True)
class Component:
    """One term of a joint loss, evaluated as the user sees it."""

    weight: float
    label: str  # the term as written in the loss (``mse``)
    target: Target
    as_metric: bool  # run as the metric tracked in compile (update_state/result)
    note: str = ""  # why it may differ: arguments swapped, another function of the same name

    def to_json(self) -> dict[str, JSON]:
        return {
            "weight": self.weight,
            "label": self.label,
            "target": self.target.to_json(),
            "as_metric": self.as_metric,
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

    def identity(self) -> tuple[object, ...]:
        return (repr(self.target), self.module, self.spec, self.per_sample, self.components)

    def to_json(self, probe_id: int) -> dict[str, JSON]:
        return {
            "id": probe_id,
            "label": self.label,
            "target": self.target.to_json(),
            "spec": self.spec.to_json(),
            "per_sample": self.per_sample,
            "components": [c.to_json() for c in self.components],
        }


@dataclass(frozen=True, slots=True)
class NotRun:
    """A loss the index found but the runtime cannot run, and why (reported as RT100)."""

    label: str
    why: str  # "needs margin", "its constructor arguments are not constants"
    path: str
    span: Span

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
        roots = {
            str(module_root(Path(p.file), p.module))
            for p in self.result.probes
            if p.file and p.module
        }
        self.result.roots = sorted(roots)
        return self.result

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
        short = definition.qualname.rpartition(".")[2]
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
        node: ast.FunctionDef | ast.AsyncFunctionDef | None = None
        scope = Scope(module, self.project)
        pair: tuple[str, str] | None = None
        span = definition.span
        if definition.kind == "function":
            if _attribute_path(definition) is None:
                self._not_run(definition.qualname, short, "it is a nested function")
                return
            target = Target("object", definition.qualname)
            label = short
            assert isinstance(definition.node, (ast.FunctionDef, ast.AsyncFunctionDef))
            node = definition.node
            pair = _pair(node, 0)
        elif definition.kind == "closure" and definition.factory:
            factory = self.project.functions.get(definition.factory)
            if factory is None or "." in definition.factory[len(definition.module) + 1 :]:
                return  # a method or a nested function: not callable from the module
            missing = _unbound(factory[1].node.args, args, kwargs, skip=0)
            if missing:
                self._not_run(definition.factory, _short(definition.factory), f"needs {missing}")
                return
            target = Target("call", definition.factory, args, tuple(kwargs.items()))
            label = target.label()
            assert isinstance(definition.node, (ast.FunctionDef, ast.AsyncFunctionDef))
            node = definition.node
            pair = _pair(node, 0)
            scope.numbers, scope.outer = numbers_of_factory(factory[1].node, args, kwargs, module)
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
            node = _method(cls[1], "call")
            if node is not None:
                span = _call_span(self.project, definition.qualname, span)
                pair = _pair(node, 1)
            scope.numbers, scope.objects = numbers_of_class(cls[1].node, args, kwargs, module)
        elif definition.kind == "method":
            bound = self._bound_method(definition, instance or definition.instance)
            if bound is None:
                return
            target, label, cls_node, args, kwargs = bound
            assert isinstance(definition.node, (ast.FunctionDef, ast.AsyncFunctionDef))
            node = definition.node
            pair = _pair(node, 1)
            scope.numbers, scope.objects = numbers_of_class(cls_node, args, kwargs, module)
        else:
            return
        components: tuple[Component, ...] = ()
        if node is not None and pair is not None:
            terms = weighted_sum(node, pair, scope)
            if terms is not None:
                components = self._components(terms, tracked or [])
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
        short = definition.qualname.rpartition(".")[2]
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

    def _not_run(self, qualname: str, label: str, why: str) -> None:
        """Record a loss that cannot be run, where its definition is."""
        found = self.project.functions.get(qualname) or self.project.classes.get(qualname)
        if found is None:
            return
        module, definition = found
        self.result.skipped.append(NotRun(label, why, module.path, definition.span))

    def _components(self, terms: list[Term], tracked: list[Value]) -> tuple[Component, ...]:
        """Each term as the user sees it: the tracked metric of the same name, else the
        function called on ``(y_true, y_pred)``. Empty when a term cannot be matched."""
        by_key: dict[str, tuple[Target, str]] = {}
        for metric in tracked:
            found = self._metric_target(metric)
            if found is not None:
                by_key.setdefault(key(found[0].name), found)
        out: list[Component] = []
        for term in terms:
            match = by_key.get(key(term.target.name))
            label = _display(term.written)
            note = ""
            if term.order == "swapped":
                note = f"the loss calls {label}(y_pred, y_true), arguments swapped"
            elif term.order == "other":
                note = f"the loss calls {label} on other arguments than (y_true, y_pred)"
            if match is not None:
                target, shown = match
                if not note and not self._same(target, term.target):
                    note = f"the metric {shown} is not the {label} the loss calls"
                out.append(Component(term.weight, label, target, True, note))
            elif term.order in ("plain", "swapped"):
                out.append(Component(term.weight, label, term.target, False, note))
            else:
                return ()
        return tuple(out)

    def _same(self, metric: Target, term: Target) -> bool:
        """Whether a tracked metric computes what the term calls: two Keras spellings of one
        loss agree; a project function agrees only with itself."""
        if metric == term:
            return True
        project = {t.kind in ("object", "call") and self.project.kind(t.name) is not None
                   for t in (metric, term)}  # fmt: skip
        return project == {False} and key(metric.name) == key(term.name)

    def _metric_target(self, metric: Value) -> tuple[Target, str] | None:
        if isinstance(metric, Const) and isinstance(metric.value, str):
            if metric.value in _SKIPPED_METRIC_IDS or metric.value not in keras_ids.K3_METRICS:
                return None
            return Target("metric_id", metric.value), repr(metric.value)
        if isinstance(metric, Ref):
            if _is_keras_metric(metric.target):
                return Target("object", metric.target), _short(metric.target)
            found = self.project._lookup(metric.target)
            if found is not None and self.project.kind(found) in ("function", "class"):
                return Target("object", found), _short(found)
            return None
        if isinstance(metric, Call) and metric.func is not None:
            args = _constants(metric.args)
            if args is None:
                return None
            kwargs = _keyword_constants(metric.kwargs)
            name = metric.func
            if not _is_keras_metric(name):
                found = self.project._lookup(name)
                if found is None or self.project.kind(found) != "class":
                    return None
                name = found
            target = Target("call", name, args, kwargs)
            return target, target.label()
        return None

    def _add(self, probe: Probe) -> None:
        identity = probe.identity()
        if identity in self.seen:
            return
        self.seen.add(identity)
        self.result.probes.append(probe)


# -- helpers -----------------------------------------------------------------------------------


def _display(written: str) -> str:
    """``keras.losses.mean_absolute_error`` → ``mean_absolute_error``; ``self.mse`` stays."""
    return written if written.startswith("self.") else written.rpartition(".")[2]


def _leaves(value: Value | None) -> Iterator[Value]:
    if value is not None:
        yield from iter_leaves(value)


def _short(name: str) -> str:
    return name.rpartition(".")[2]


def _is_keras_loss(name: str) -> bool:
    module, _, last = name.rpartition(".")
    return module == "keras.losses" and last not in ("", "Loss", "get", "Reduction")


def _is_keras_metric(name: str) -> bool:
    module, _, last = name.rpartition(".")
    return module in ("keras.metrics", "keras.losses") and last not in ("", "Metric", "get")


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


def _pair(node: ast.FunctionDef | ast.AsyncFunctionDef, skip: int) -> tuple[str, str] | None:
    params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)][skip:]
    return (params[0], params[1]) if len(params) >= 2 else None


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
    """The attribute path below the module, when the function is a module-level name."""
    rest = definition.qualname[len(definition.module) + 1 :]
    return rest if rest and "." not in rest else None
