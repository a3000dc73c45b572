"""The project index: module indexes joined, with cross-module references resolved."""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, TypeGuard

from losslint.codec import chunk_number, chunk_statements, lines_with, mentioning_statements, raw
from losslint.diagnostic import Span
from losslint.index import names
from losslint.index.facts import (
    Call,
    ClassDef,
    CompileSite,
    Const,
    FunctionDef,
    Handed,
    ImportedUnits,
    LossDef,
    Mapping,
    ModelFact,
    ModelRef,
    ModuleIndex,
    Objective,
    Output,
    Param,
    Ref,
    Seq,
    Unknown,
    Value,
    entry_key,
    iter_leaves,
    respanned,
)
from losslint.index.folding import unparse
from losslint.index.module import layer_graph_tensor, pretrained_model
from losslint.index.nodes import subtree
from losslint.index.positions import node_span
from losslint.index.roots import namespace_groups

_MAX_CHAIN: Final = 8
LOSS_BASES: Final = frozenset({"keras.losses.Loss", "keras.losses.LossFunctionWrapper"})
METRIC_BASES: Final = frozenset(
    {"keras.metrics.Metric", "keras.metrics.Mean", "keras.metrics.MeanMetricWrapper"}
)


# The compile arguments a class or function may take from its callers (see _handed_sites).
_HANDED_FIELDS: Final = ("loss", "loss_weights", "metrics", "weighted_metrics")


def _with_values(
    site: CompileSite, values: dict[str, Value], span: Span | None = None
) -> CompileSite:
    """``site`` with the compile arguments in ``values`` (by field name) replaced, and moved to
    ``span`` if given."""
    return dataclasses.replace(
        site,
        span=span or site.span,
        loss=values.get("loss", site.loss),
        loss_weights=values.get("loss_weights", site.loss_weights),
        metrics=values.get("metrics", site.metrics),
        weighted_metrics=values.get("weighted_metrics", site.weighted_metrics),
    )


def _replaced(value: Value, old: Value, new: Value) -> Value:
    """``value`` with the leaf ``old`` (by identity) inside its lists and dicts replaced."""
    if value is old:
        return new
    if isinstance(value, Seq):
        return dataclasses.replace(value, items=tuple(_replaced(i, old, new) for i in value.items))
    if isinstance(value, Mapping):
        return dataclasses.replace(
            value, values=tuple(_replaced(v, old, new) for v in value.values)
        )
    return value


@dataclass(frozen=True, slots=True)
class ResolvedCompile:
    """A compile site with its model resolved across modules (None when it cannot be known)."""

    path: str
    site: CompileSite
    model: ModelFact | None


class ProjectIndex:
    def __init__(self, modules: Iterable[ModuleIndex]) -> None:
        self.modules: tuple[ModuleIndex, ...] = tuple(modules)
        self._by_name = {m.module: m for m in self.modules}
        # Module names by their last component: a suffix match (below) needs equal last parts.
        self._by_last: dict[str, list[str]] = {}
        for name in self._by_name:
            if name:
                self._by_last.setdefault(name.rpartition(".")[2], []).append(name)
        self._found: dict[str, str | None] = {}
        self.functions: dict[str, tuple[ModuleIndex, FunctionDef]] = {
            f.qualname: (m, f) for m in self.modules for f in m.functions
        }
        self.classes: dict[str, tuple[ModuleIndex, ClassDef]] = {
            c.qualname: (m, c) for m in self.modules for c in m.classes
        }
        # Simple names of everything defined in the tree: a string id equal to one of them may
        # be a registered custom object.
        self.defined_names: frozenset[str] = frozenset(
            q.rpartition(".")[2] for q in [*self.functions, *self.classes]
        )
        # The ids ``register_keras_serializable`` gives (``Addons>sigmoid_focal_crossentropy``).
        self.registered_ids: dict[str, str] = {
            u.name: u.receiver or ""
            for m in self.modules
            for u in m.api_uses
            if u.kind == "register_id"
        }
        self._definitions: list[LossDef] | None = None
        # Bound methods used at compile sites → the constructor call of their instance.
        self.instances: dict[str, Call] = {}
        self._passed: dict[str, tuple[str, ...]] = {}
        self._arguments: dict[str, tuple[_Given, ...]] = {}
        # Each top-level statement's calls, by its id (see _statement_calls).
        self._calls_of_statement: dict[int, tuple[ast.stmt, list[_ScopedCall]]] = {}
        self._importer_cache: dict[str, list[ModuleIndex]] = {}
        self._by_import_last: dict[str, list[tuple[ModuleIndex, str]]] | None = None
        self._objectives: list[tuple[ModuleIndex, Objective]] | None = None
        self._restated: frozenset[int] = frozenset()  # see restated()
        self._bases_of: dict[str, frozenset[str]] = {}
        # ``self.x`` fitted or trained on a batch in a method: the classes doing so, by receiver.
        self._self_trained: dict[str, set[str]] | None = None
        self._compiles: tuple[ResolvedCompile, ...] | None = None  # see compiles
        self._handed: dict[str, list[tuple[ModuleIndex, Handed]]] | None = None  # see handed_to
        # ``from a import *`` then ``from b import *``: a name b does not give comes from a.
        # The index names such a name after the last star import that may give it (b.name);
        # here are the ones before each, nearest first, to look in when b has no such name.
        self._stars_before: dict[str, list[str]] = {}
        for module in self.modules:
            for position in range(1, len(module.stars)):
                star = names.canonical(module.stars[position])
                earlier = self._stars_before.setdefault(star, [])
                earlier.extend(s for s in reversed(module.stars[:position]) if s not in earlier)
        for module in self.modules:
            if module.stars:
                self._inherit_imports(module, set())
        for module in self.modules:
            self._follow_reexported_libraries(module)
        exports: dict[str, dict[str, str]] = {}
        for module in self.modules:
            self._follow_shims(module, exports)

    def _follow_reexported_libraries(self, module: ModuleIndex) -> None:
        """``from toolkit4nlp.backend import keras, K`` where that module does ``import
        keras.backend as K`` (bert4keras's backend shim, under a ``TF_KERAS`` test or not): ``K``
        here is Keras's backend, so ``K.mean`` is read as ``keras.backend.mean`` by every
        analysis. Only a name the project module imports from one library (after the usual
        tf.keras/keras spelling is made one), never one it defines."""
        for name, target in list(module.imports.items()):
            if name in module.alternatives or target.partition(".")[0] not in self._roots:
                continue
            if target in self._by_name or target in self.functions or target in self.classes:
                continue  # a module, function or class of the project: nothing re-exported
            found = set(self.external(target))
            if len(found) == 1:
                module.imports[name] = found.pop()

    def _follow_shims(self, module: ModuleIndex, exports: dict[str, dict[str, str]]) -> None:
        """``import keras_uncertainty.backend as K`` where that package re-exports Keras's
        backend by star imports (``from .keras_backend import *``, and there ``from
        keras.backend import *``): ``K.mean`` is ``keras.backend.mean`` for every analysis.
        Each name such a module of the project gives from a library is added to this module's
        imports under its dotted alias (``K.mean``), which :func:`names.qualify` reads first;
        what the shim defines itself keeps its own name."""
        for alias, target in list(module.imports.items()):
            shim = self._by_name.get(target)
            if shim is None or shim is module or "." in alias:
                continue
            if shim.module not in exports:
                exports[shim.module] = self._library_exports(shim, set())
            for name, full in exports[shim.module].items():
                module.imports.setdefault(f"{alias}.{name}", full)

    def _library_exports(self, module: ModuleIndex, active: set[str]) -> dict[str, str]:
        """The names ``module`` gives from libraries: what it imports from one, and the public
        names of the libraries its star imports reach (through the project's own modules),
        less what it defines itself."""
        if module.module in active:
            return {}
        active.add(module.module)
        found: dict[str, str] = {}
        for star in module.stars:  # the last one binds last
            source = self._module(star)
            if source is not None:
                if source is not module:
                    found.update(self._library_exports(source, active))
                continue
            members = names.star_members(star)
            if members is not None:
                found.update((name, f"{names.canonical(star)}.{name}") for name in members)
        for name, target in module.imports.items():
            library = target.partition(".")[0] not in self._roots
            if library and "." not in name and not name.startswith("_"):
                found[name] = target
        own = module.top_level | (module.top_names - set(module.imports))
        return {name: full for name, full in found.items() if name not in own}

    def _inherit_imports(self, module: ModuleIndex, active: set[str]) -> None:
        """``from ops import *`` where ops does ``import tensorflow as tf``: ``tf`` is bound
        here too (a TF 1 project's model file often imports nothing else). The libraries each
        project module a star import reaches imports (not its private names, nor what this
        module binds itself) are added to this module's imports, the last star import winning."""
        if module.module in active:
            return
        active.add(module.module)
        own = set(module.imports) | module.top_level | module.top_names
        for star in module.stars:
            source = self._module(star)
            if source is None or source is module:
                continue
            if source.stars:
                self._inherit_imports(source, active)
            for name, target in source.imports.items():
                # Libraries only (``tf``, ``np``, ``K``): a project module re-exported this
                # way is left to the lookups that already follow star imports.
                if name not in own and not name.startswith("_") and self._module(target) is None:
                    module.imports[name] = target

    # -- cross-module lookups ----------------------------------------------------------------

    def _lookup(self, qualname: str) -> str | None:
        """The module-qualified name as indexed; tolerates a different package root."""
        if qualname in self.functions or qualname in self.classes:
            return qualname
        if qualname in self._found:
            return self._found[qualname]
        module, _, name = qualname.rpartition(".")
        found = None
        if self._library_name(module):
            # ``tf.keras.losses.binary_crossentropy`` inside a project module ``losses``
            # (a folder without ``__init__.py``): the library's, not that module's.
            self._found[qualname] = None
            return None
        for indexed in self._by_last.get(module.rpartition(".")[2], ()) if module else ():
            if module.endswith("." + indexed) or indexed.endswith("." + module):
                candidate = f"{indexed}.{name}"
                if candidate in self.functions or candidate in self.classes:
                    found = candidate
                    break
        if found is None and module:
            self._found[qualname] = None  # no recursion through a cycle of imports or bases
            found = self._reexported(module, name)
        for earlier in self._stars_before.get(module, ()) if found is None else ():
            found = self._lookup(f"{earlier}.{name}")
            if found is not None:
                break
        if found is None and module and "." in module:
            # ``pkg.losses.MyLoss.loss_function``: a method, found through its class (and the
            # class's project bases, where the method may be inherited).
            self._found[qualname] = None
            owner = self._lookup(module)
            if owner is not None and owner in self.classes:
                found = self.method(owner, name)
        self._found[qualname] = found
        return found

    def _library_name(self, module: str) -> bool:
        """Whether dotted ``module`` is in a library's package (TensorFlow, Keras, NumPy...)
        that no module of the project is in: a name the project cannot define."""
        root = module.partition(".")[0]
        return root in _LIBRARY_ROOTS and root not in self._roots

    @functools.cached_property
    def _versions(self) -> dict[str, list[tuple[int, str]]]:
        """Of each module-level name that its module defines more than once (``loss#1`` above
        ``loss``, see the module indexer): each definition's line and qualified name, by the
        qualified name of the last one."""
        found: dict[str, list[tuple[int, str]]] = {}
        for table in (self.functions, self.classes):
            for qualname, (module, fact) in table.items():
                rest = qualname[len(module.module) + 1 :]
                if "#" in rest and "." not in rest and not rest.endswith(names.ALTERNATIVE):
                    found.setdefault(qualname.partition("#")[0], []).append(
                        (fact.span.line, qualname)
                    )
        for last, versions in found.items():
            entry = self.functions.get(last) or self.classes.get(last)
            if entry is not None:
                versions.append((entry[1].span.line, last))
            versions.sort()
        return found

    def version_for(self, qualname: str, caller: str | None) -> str:
        """The definition a call from ``caller`` (a function of the same module) reaches by the
        name of ``qualname``, where the module defines that name more than once: the last one
        above the top-level definition that holds ``caller``. That is the one its cell of a
        notebook runs with (``run_optimization`` calling the ``cross_entropy`` of the cell
        before, before a later cell writes both anew). Else ``qualname``, the last."""
        if caller is None or qualname not in self._versions:
            return qualname
        module = qualname.rpartition(".")[0]
        if not caller.startswith(module + "."):
            return qualname
        top = f"{module}.{caller[len(module) + 1 :].partition('.')[0]}"
        entry = self.functions.get(top) or self.classes.get(top)
        if entry is None or entry[0].module != module:
            return qualname
        return self._version_at(qualname, entry[1].span.line)

    def _version_at(self, qualname: str, line: int) -> str:
        """Of a name its module defines more than once, the definition last made above ``line``
        (the last one where none is); ``qualname`` itself for any other."""
        versions = self._versions.get(qualname)
        before = [version for start, version in versions or () if start < line]
        return before[-1] if before else qualname

    def module_named(self, name: str) -> ModuleIndex | None:
        """The module of exactly this dotted name (a definition's own module)."""
        return self._by_name.get(name)

    def _module(self, name: str) -> ModuleIndex | None:
        """The indexed module of dotted name ``name``, tolerating a different package root."""
        module = self._by_name.get(name)
        if module is None and name:
            for indexed in self._by_last.get(name.rpartition(".")[2], ()):
                if name.endswith("." + indexed) or indexed.endswith("." + name):
                    return self._by_name[indexed]
        return module

    def _resolved_module(self, name: str, depth: int = 0) -> ModuleIndex | None:
        """The module ``name`` denotes, where a package may re-export it under another name
        (``voxelmorph.losses`` is ``voxelmorph.tf.losses`` through ``from .tf import losses``)."""
        module = self._module(name)
        if module is not None or depth > _MAX_CHAIN:
            return module
        parent, _, last = name.rpartition(".")
        owner = self._resolved_module(parent, depth + 1) if parent else None
        if owner is None:
            return None
        found = None
        for target in self._targets(owner, last):
            if target != name:
                module = self._resolved_module(target, depth + 1)
                if module is not None and (found is None or _keras_module(module)):
                    found = module
        return found

    def _home(self, qualname: str) -> ModuleIndex:
        """The module that defines a function or class of the project."""
        return (self.functions.get(qualname) or self.classes[qualname])[0]

    @staticmethod
    def _targets(module: ModuleIndex, name: str) -> tuple[str, ...]:
        """What ``name`` is imported as in ``module``: every target where it has several."""
        alternatives = module.alternatives.get(name)
        if alternatives:
            return alternatives
        imported = module.imports.get(name)
        return (imported,) if imported is not None else ()

    def _reexported(self, module_name: str, name: str) -> str | None:
        """``name`` as a module of the project imports it (``from .dssim import DSSIMObjective``
        in ``losses/__init__.py``, ``from .tf import losses`` then ``vxm.losses.MSE``, or
        ``from .base import *``): the definition it re-exports."""
        module = self._resolved_module(module_name)
        if module is None:
            return None
        defined = f"{module.module}.{name}"
        if defined in self.functions or defined in self.classes:
            return defined
        chosen = None
        for imported in self._targets(module, name):
            if imported == f"{module_name}.{name}":
                continue
            found = self._lookup(imported)
            if found is not None and (chosen is None or _keras_module(self._home(found))):
                chosen = found
        if chosen is not None:
            return chosen
        for star in module.stars:
            found = self._lookup(f"{star}.{name}")
            if found is not None:
                return found
        return None

    def method(self, cls: str, name: str, depth: int = 0) -> str | None:
        """The qualified name of method ``name`` of project class ``cls``, maybe inherited."""
        if f"{cls}.{name}" in self.functions:
            return f"{cls}.{name}"
        if depth > _MAX_CHAIN or cls not in self.classes:
            return None
        for base in self.classes[cls][1].bases:
            found = self._lookup(base) if base else None
            if found is not None and found in self.classes:
                method = self.method(found, name, depth + 1)
                if method is not None:
                    return method
        return None

    def overrides(self, qualname: str) -> list[str]:
        """The methods of the project's subclasses that override method ``qualname`` (a base
        class's abstract ``calculate_loss``, which its own ``build_graph`` calls), sorted."""
        cls, _, name = qualname.rpartition(".")
        if cls not in self.classes:
            return []
        return [
            f"{other}.{name}"
            for other in sorted(self.classes)
            if other != cls
            and f"{other}.{name}" in self.functions
            and cls in self._ancestors(other)
        ]

    def constant(self, qualname: str) -> float | None:
        """The number a module of the project binds ``qualname`` to (``config.EPS``), if any."""
        module_name, _, name = qualname.rpartition(".")
        module = self._by_name.get(module_name)
        if module is None:
            for indexed, candidate in self._by_name.items():
                if indexed.endswith("." + module_name) or module_name.endswith("." + indexed):
                    module = candidate
                    break
        return module.constants.get(name) if module is not None else None

    def kind(self, qualname: str) -> str | None:
        """ "factory" (returns a nested function), "function", "class", or None if not ours."""
        found = self._lookup(qualname)
        if found is None:
            return None
        if found in self.classes:
            return "class"
        _, function = self.functions[found]
        return "factory" if function.returns_function else "function"

    def resolve_model(self, ref: ModelRef | None, depth: int = 0) -> ModelFact | None:
        if ref is None or depth > _MAX_CHAIN:
            return None
        if ref.model is not None:
            return self._with_imported_units(ref.model)
        if ref.param is not None and ref.owner is not None:
            return self._passed_model(ref.owner, ref.param, depth, ref.called)
        if ref.alternatives:
            return self._agreed_model(ref.alternatives, depth)
        if ref.factory is None:
            return None
        qualname = self._lookup(ref.factory)
        if qualname is None:
            # A model another module builds at its top (``from model import model``).
            home_name, _, name = ref.factory.rpartition(".")
            found = self._module(home_name) if home_name and not ref.args else None
            inner = found.factories.get(f"{found.module}.{name}") if found else None
            return self.resolve_model(inner, depth + 1) if inner else None
        # A factory function, or a Keras model subclass whose constructor makes the model.
        home = self.functions.get(qualname) or self.classes.get(qualname)
        if home is None:
            return None
        module = home[0]
        inner = module.factories.get(qualname)
        model = self.resolve_model(inner, depth + 1)
        if model is None:
            return None
        return self._with_imported_units(
            _bind_params(model, ref.args, ref.kwargs, self._imported_size)
        )

    def _agreed_model(self, refs: tuple[ModelRef, ...], depth: int) -> ModelFact | None:
        """The model of a dispatching factory or of a name bound in branches: the first of the
        ones it may be, where each is known and all have the same structure and outputs (names,
        activations), with the unit counts they agree on (None where they differ);
        None where any is unknown or differs otherwise, as the compile may get either."""
        models = [self.resolve_model(ref, depth + 1) for ref in refs]
        known = [m for m in models if m is not None]
        if not known or len(known) != len(models):
            return None
        shapes = {
            (m.structure, tuple((o.name, o.activation, o.function) for o in m.outputs))
            for m in known
        }
        if len(shapes) != 1:
            return None
        first = known[0]
        outputs = tuple(
            dataclasses.replace(
                output,
                units=output.units
                if all(m.outputs[i].units == output.units for m in known)
                else None,
                min_units=(
                    output.min_units
                    if all(m.outputs[i].min_units == output.min_units for m in known)
                    else None
                ),
            )
            for i, output in enumerate(first.outputs)
        )
        return dataclasses.replace(first, outputs=outputs)

    def _with_imported_units(self, model: ModelFact) -> ModelFact:
        """``model`` with the unit counts read from other modules (:class:`ImportedUnits`)
        replaced by their numbers, or by None where they are not known."""
        if not any(isinstance(o.units, ImportedUnits) for o in model.outputs):
            return model
        outputs = tuple(
            dataclasses.replace(o, units=self._imported_number(o.units))
            if isinstance(o.units, ImportedUnits)
            else o
            for o in model.outputs
        )
        return dataclasses.replace(model, outputs=outputs)

    def _imported_number(self, units: ImportedUnits) -> int | None:
        """The integer another module binds to ``units.target`` (read with ``units.keys``): a
        module-level name bound once to a number, or an entry of a dict written out."""
        home, _, name = units.target.rpartition(".")
        module = self._module(home) if home else None
        if module is None:
            return None
        if units.keys:
            return module.entries.get(entry_key(name, units.keys))
        number = module.constants.get(name)
        if number is None or not number.is_integer() or name in module.rebound:
            return None
        return int(number)

    def _imported_size(self, value: Value) -> int | None:
        """``len(CLASSES)`` of a list, tuple, set or dict another module writes out."""
        if not (
            isinstance(value, Call)
            and value.func == "builtins.len"
            and len(value.args) == 1
            and isinstance(value.args[0], Ref)
        ):
            return None
        home, _, name = value.args[0].target.rpartition(".")
        module = self._module(home) if home else None
        return module.sizes.get(name) if module is not None else None

    def compiles(self) -> tuple[ResolvedCompile, ...]:
        """Every compile site with its model resolved (cached: rules and analyses each read
        them)."""
        if self._compiles is None:
            self._compiles = tuple(self._resolved_compiles())
        return self._compiles

    def _resolved_compiles(self) -> Iterator[ResolvedCompile]:
        for module in self.modules:
            for site in module.compiles:
                own = self._compiling_class(site)
                if own is not None and self._not_keras_compile(own):
                    continue
                if site.positional and own is not None:
                    # Its own parameters: what is given by position is not Keras's.
                    given = site.positional
                    site = dataclasses.replace(
                        site,
                        metrics=None if "metrics" in given else site.metrics,
                        loss_weights=None if "loss_weights" in given else site.loss_weights,
                        positional=(),
                    )
                if site.idle and (
                    self._trained_in_family(site) or self._trained_by_importer(module, site)
                ):
                    site = dataclasses.replace(site, idle=False)
                elif site.callers_train and not self._trained_by_callers(site):
                    site = dataclasses.replace(site, idle=True)
                site = self._with_imported_values(site)
                model = self.resolve_model(site.model)
                yield ResolvedCompile(module.path, site, model)
                for path, handed in self._handed_sites(site):
                    yield ResolvedCompile(path, handed, model)

    def _with_imported_values(self, site: CompileSite) -> CompileSite:
        """The site with each compile argument that names another module's loss, metric or
        weight value (``from model import loss``; ``compile(loss=loss)``) replaced by that
        value, shown at the argument (:attr:`ModuleIndex.exports`)."""
        found: dict[str, Value] = {}
        for field_name in _HANDED_FIELDS:
            value = getattr(site, field_name)
            if not isinstance(value, Ref) or value.instance is not None:
                continue
            if value.target in self.functions or value.target in self.classes:
                continue
            home, _, name = value.target.rpartition(".")
            module = self._module(home) if home else None
            exported = module.exports.get(name) if module is not None else None
            if exported is not None:
                found[field_name] = respanned(exported, value.span)
        return _with_values(site, found) if found else site

    def _handed_sites(self, site: CompileSite) -> Iterator[tuple[str, CompileSite]]:
        """The compile site once more for each call that hands in what it compiles, with the
        path of the module that call is in: ``self.model.compile(loss=self.loss)`` in a method
        of a class constructed as ``FaceNetwork(loss="sparse_categorical_crossentropy")``,
        maybe in another module, or ``model.compile(loss=loss)`` in a method called on an
        instance (``trainer.train(model, data, loss=weighted_mae)``). Each is placed at that
        call: the values given there are what the rules read and report (the model stays the
        compile's). Only arguments given by keyword are known (a positional one could be any
        parameter)."""
        calls: dict[tuple[str, Span], dict[str, Value]] = {}
        for field_name in _HANDED_FIELDS:
            value = getattr(site, field_name)
            if value is None:
                continue
            if isinstance(value, Unknown):
                params = [value]
            elif isinstance(value, (Seq, Mapping)):
                # ``loss=[policy_loss, value_loss]`` of two parameters: each from the call.
                params = [v for v in iter_leaves(value) if isinstance(v, Unknown)]
            else:
                continue
            for param in params:
                if not (param.param and param.owner):
                    continue
                constructor = self._constructor(param.owner)
                callee = param.owner.rpartition(".")[0] if constructor else param.owner
                for module, handed in self.handed_to(callee):
                    if handed.keyword != param.param.name:
                        continue
                    given = calls.setdefault((module.path, handed.call), {})
                    current = given.get(field_name, value)
                    given[field_name] = (
                        handed.value
                        if current is param
                        else _replaced(current, param, handed.value)
                    )
        for (path, span), values in calls.items():
            yield path, _with_values(site, values, span)

    def handed_to(self, callee: str) -> list[tuple[ModuleIndex, Handed]]:
        """The loss and metric values handed by keyword to project callable ``callee``, with
        the module of each call (the index is built on the first question)."""
        if self._handed is None:
            self._handed = {}
            for module in self.modules:
                for handed in module.handed:
                    target = self._lookup(handed.callee)
                    if target is not None:
                        self._handed.setdefault(target, []).append((module, handed))
        return self._handed.get(callee, [])

    def _trained_by_importer(self, module: ModuleIndex, site: CompileSite) -> bool:
        """Whether a model compiled at the top of its module, and left idle there, is fitted or
        evaluated by a module that imports it (``from model import model``, then
        ``model.fit(...)`` in ``train.py``)."""
        if site.receiver is None or "." in site.receiver or site.scope != module.module:
            return False
        target = f"{module.module}.{site.receiver}"
        return any(
            receiver == local
            for other in self.modules
            if other is not module
            for local, imported in other.imports.items()
            if imported == target
            for _, receiver, _ in other.trainings
        )

    def _trained_by_callers(self, site: CompileSite) -> bool:
        """Whether code of the project may train the model a class keeps as ``self.<attribute>``
        (see :attr:`CompileSite.callers_train`): the project never makes an instance of the
        class (a library's: its users train it), or it fits, evaluates or trains on a batch a
        receiver spelled ``....<attribute>`` (``model.autoencoder.fit(...)``), or reads
        ``x.<attribute>`` other than to predict with it, save, load or show it (handed on:
        ``train(vae.autoencoder)``). A pre-trained model's wrapper, whose callers only predict,
        leaves it idle (deepchem's ``MoleculeVAE``, only loaded)."""
        attribute = site.callers_train
        if attribute.endswith("()"):
            return self._factory_trained(site, attribute[:-2])
        cls = names.defined_name(site.scope.rpartition(".")[0])
        made = re.compile(rf"(?<!class )\b{re.escape(cls)}\s*\(")
        if not any(
            made.search(line.partition("#")[0])
            for module in self.modules
            for _, line in lines_with(module, f"{cls}(")
        ):
            return True
        if any(
            receiver.rpartition(".")[2] == attribute
            for module in self.modules
            for _, receiver, _ in module.trainings
        ):
            return True
        read = re.compile(rf"(?<!\bself)\.{re.escape(attribute)}\b(?!\s*\.\s*{_IDLE_USES}\b)")
        return any(
            read.search(line.partition("#")[0])
            for module in self.modules
            for _, line in lines_with(module, f".{attribute}")
        )

    def _factory_trained(self, site: CompileSite, factory: str) -> bool:
        """Whether code of the project may train the model that top-level function
        ``factory`` compiles and returns: nothing calls it (a library's: its users train it),
        a call's result is not bound to a plain name (``train(create_model())``, handed on),
        or a name bound to it is fitted, evaluated or trained on a batch, or read other than
        to predict with it, load weights into it, save or show it. A call it cannot follow
        (``factories.create_model()``, an import under another name) counts as training it.
        Only the modules that can reach the function are searched: its own, those importing
        from its module (or all of it with ``*``), and notebooks (which may ``%run`` it); a
        module that defines a function of the same name calls its own (a training script's
        copy of the factory)."""
        home = site.scope.rpartition(".")[0]
        near = home.rpartition(".")[2]  # the module's name as an import spells it last
        call = re.compile(rf"(?<![\w.]){re.escape(factory)}\s*\(")
        through = re.compile(rf"\.\s*{re.escape(factory)}\s*\(")
        bound = re.compile(rf"^\s*(\w+)\s*=\s*{re.escape(factory)}\s*\(")
        called = False
        for module in self.modules:
            if module.module != home:
                if f"{module.module}.{factory}" in self.functions:
                    continue  # its own function of that name
                reaching = [
                    (alias, target)
                    for alias, target in module.imports.items()
                    if near in target.split(".")
                ]
                if (
                    not reaching
                    and not any(near in star.split(".") for star in module.stars)
                    and not module.path.endswith(".ipynb")
                ):
                    continue  # imports nothing of the factory's module: cannot call it
                if any(
                    t.rpartition(".")[2] == factory and alias != factory for alias, t in reaching
                ):
                    return True  # imported under another name: followed no further
            for number, line in lines_with(module, f"{factory}("):
                code = line.partition("#")[0]
                if through.search(code):
                    return True  # ``factories.create_model()``: followed no further
                if not call.search(code) or re.match(rf"\s*def\s+{re.escape(factory)}\b", code):
                    continue
                called = True
                match = bound.match(code)
                if match is None:
                    return True  # handed on, returned, unpacked: followed no further
                if self._name_trains(module, match.group(1), number, code[:1].isspace()):
                    return True
        return not called

    def _name_trains(self, module: ModuleIndex, name: str, bound: int, nested: bool) -> bool:
        """Whether the code that binds ``name`` on line ``bound`` of ``module`` fits, evaluates
        or trains on a batch the model, or reads ``name`` other than to predict with it, save,
        load or show it (or to bind it again): the rest of the module where the binding is a
        statement of its own at the top level (a script, a notebook's cell), else the rest of
        the top-level statement holding it (a function, an ``if __name__ == "__main__":``)."""
        chunk = chunk_number(module.chunks, bound)
        read = re.compile(rf"(?<![\w.]){re.escape(name)}\b(?!\s*(?:\.\s*{_IDLE_USES}\b|=(?!=)))")
        return any(
            read.search(_QUOTED.sub("''", line.partition("#")[0]))
            for number, line in lines_with(module, name)
            if number > bound and (not nested or chunk_number(module.chunks, number) == chunk)
        )

    def _trained_in_family(self, site: CompileSite) -> bool:
        """Whether ``self.model``, compiled in a method and left idle by its own class, is fitted
        or trained on a batch by a method of a class it derives from or that derives from it
        (``BaseNN.train`` runs ``self.model.fit`` for each subclass's ``build``)."""
        if site.receiver is None or not site.receiver.startswith("self."):
            return False
        cls = site.scope.rpartition(".")[0]
        if cls not in self.classes:
            return False
        if self._self_trained is None:
            self._self_trained = {}
            for module in self.modules:
                for scope, receiver, _ in module.trainings:
                    owner = scope.rpartition(".")[0]
                    if receiver.startswith("self.") and owner in self.classes:
                        self._self_trained.setdefault(receiver, set()).add(owner)
        trainers = self._self_trained.get(site.receiver, set())
        return any(
            trainer in self._ancestors(cls) or cls in self._ancestors(trainer)
            for trainer in trainers
        )

    def own_compile(self, site: CompileSite) -> bool:
        """Whether the model compiled here is of a project class that defines ``compile`` itself
        (``MelGAN.compile(gen_optimizer, disc_optimizer, generator_loss, ...)``)."""
        return self._compiling_class(site) is not None

    def _compiling_class(self, site: CompileSite) -> str | None:
        """The project class, defining ``compile``, of the object compiled here; else None."""
        model = site.model
        factory = model.factory if model is not None else None
        found = self._lookup(factory) if factory else None
        if found is None and model is not None and model.param and model.owner:
            found = self._class_given(model.owner, model.param)  # ``def fit(model): ...``
        if found is None or found not in self.classes or self.method(found, "compile") is None:
            return None
        return found

    def _not_keras_compile(self, cls: str) -> bool:
        """Whether the ``compile`` of project class ``cls`` is not Keras's: another library's
        model and compile (DeepXDE's ``dde.Model``), or a model whose own compile keeps the loss
        for its own training loop (:meth:`_facade_compile`)."""
        return self._outside_keras(cls) or self._facade_compile(cls)

    def _outside_keras(self, cls: str) -> bool:
        """Whether a project class that defines ``compile`` derives from nothing outside the
        project (DeepXDE's ``dde.Model(data, net)``, whose ``compile("adam", lr=1e-3,
        metrics=["l2 relative error"])`` is its own): not a Keras model, so nothing given to its
        compile is Keras's. A base from a library keeps it a model."""
        return all(
            self._lookup(base) in self.classes
            for owner in (cls, *self._ancestors(cls))
            for base in self.classes[owner][1].bases
            if base not in ("object", "builtins.object")
        )

    def _facade_compile(self, cls: str) -> bool:
        """Whether the ``compile`` of project class ``cls`` calls no ``compile`` at all (not
        ``super().compile``, ``Model.compile(self, ...)`` nor ``self.model.compile``): a facade
        that keeps the optimizer and loss it is given for the class's own training loop (a
        captioning model's ``self.loss_function = loss``, differentiated under a tape in its own
        ``train``). Keras never receives what is given to it, so the site compiles nothing."""
        method = self.method(cls, "compile")
        if method is None:
            return False
        node = self.functions[method][1].node
        return not any(
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "compile"
            for call in subtree(node)
        )

    def models(self) -> Iterator[tuple[str, ModelFact]]:
        for module in self.modules:
            for model in module.models:
                yield module.path, model

    # -- definitions ---------------------------------------------------------------------------

    def is_subclass(self, qualname: str, bases: frozenset[str], depth: int = 0) -> bool:
        found = self._lookup(qualname)
        if found is None or found not in self.classes or depth > _MAX_CHAIN:
            return False
        _, cls = self.classes[found]
        return any(
            b in bases
            or any(e in bases for e in self.external(b))
            or self.is_subclass(b, bases, depth + 1)
            for b in cls.bases
        )

    def external(self, name: str) -> tuple[str, ...]:
        """The library names that a name reached through a module of the project stands for (a
        backend shim): ``keras_cv.src.backend.keras.losses.Loss`` is ``keras.losses.Loss`` where
        the package's ``__init__`` does ``import keras``, and ``keras_cv.src.backend.ops.log``
        may be ``keras.ops.log`` where that module does ``from keras.ops import *`` (under a
        version test) without defining ``log`` itself. Empty for any other name."""
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self._by_name.get(".".join(parts[:cut]))
            if module is None:
                continue
            head, rest = parts[cut], parts[cut + 1 :]
            targets = self._targets(module, head)
            if not targets and head not in module.top_level:
                targets = tuple(f"{star}.{head}" for star in module.stars)
            return tuple(
                names.canonical(".".join([target, *rest]))
                for target in targets
                if target.partition(".")[0] not in self._roots
            )
        return ()

    @functools.cached_property
    def _roots(self) -> frozenset[str]:
        """The top-level packages of the project's own modules."""
        return frozenset(m.module.partition(".")[0] for m in self.modules if m.module)

    def is_loss_class(self, qualname: str) -> bool:
        """A class of the project deriving from ``keras.losses.Loss`` (directly or not)."""
        return self.is_subclass(qualname, LOSS_BASES)

    def is_metric_class(self, qualname: str) -> bool:
        """A class of the project deriving from ``keras.metrics.Metric`` (directly or not)."""
        return self.is_subclass(qualname, METRIC_BASES)

    def definitions(self) -> list[LossDef]:
        """Every loss/metric definition, with its role (cached: rules ask repeatedly)."""
        if self._definitions is None:
            self._definitions = self._find_definitions()
        return self._definitions

    def _note_roles(self, site: CompileSite, roles: dict[str, set[str]]) -> None:
        """The roles a compile site gives the project's functions and classes it names."""
        for role, value in (
            ("loss", site.loss),
            ("metric", site.metrics),
            ("metric", site.weighted_metrics),
        ):
            for target, instance in [*_referenced(value), *self._handed_in(value)]:
                found = self._lookup(target)
                if found is None:
                    continue
                roles.setdefault(found, set()).add(role)
                if instance is None and found in self.functions:
                    # ``loss=get_loss("focal")`` compiles what get_loss hands out.
                    for handed in self.functions[found][1].returns:
                        other = self._lookup(handed)
                        if other is not None and other != found and _called(value, target):
                            roles.setdefault(other, set()).add(role)
                if instance is not None:
                    self.instances.setdefault(found, instance)
                call = self._called_object(found, target, value)
                if call is not None:
                    # ``loss=DSSIMObjective()``: Keras calls the object's __call__.
                    roles.setdefault(call[0], set()).add(role)
                    self.instances.setdefault(call[0], call[1])

    def _find_definitions(self) -> list[LossDef]:
        roles: dict[str, set[str]] = {}
        for module in self.modules:
            for own in map(self._with_imported_values, module.compiles):
                compiling = self._compiling_class(own)
                if compiling is not None and self._not_keras_compile(compiling):
                    continue  # what it is given never reaches Keras
                # Also what callers hand a function or class that compiles its parameter
                # (``_test_model(model, loss=relative_mae(C=0.5))``).
                for site in (own, *(handed for _, handed in self._handed_sites(own))):
                    self._note_roles(site, roles)
        out: list[LossDef] = []
        for qualname, (module, cls) in self.classes.items():
            for kind, bases, role in (
                ("loss_class", LOSS_BASES, "loss"),
                ("metric_class", METRIC_BASES, "metric"),
            ):
                if bases & set(cls.bases) or self.is_subclass(qualname, bases):
                    # A Loss subclass the project only tracks as a metric (``metrics={"policy":
                    # KLD()}``) is evaluated, never differentiated: a metric here.
                    only_metric = kind == "loss_class" and roles.get(qualname) == {"metric"}
                    out.append(
                        LossDef(
                            qualname,
                            kind,
                            frozenset({"metric" if only_metric else role}),
                            module.path,
                            module.module,
                            cls.span,
                            raw(cls, "node"),
                            used=qualname in roles,
                        )
                    )
                    break
        closures: set[str] = set()
        # Every function is read here: what is selected must be what unseen_function rules out.
        for qualname, (module, function) in self.functions.items():
            if function.returns_function is None:
                continue
            used = roles.get(qualname, set())
            if not used and _alternative(qualname):
                continue  # the arm of ``if tf: ... else: ...`` without Keras (see below)
            # A factory may hand out one of several of its closures (``if homoscedastic:
            # return weighted_ce``, then ``return plain_ce``): the others are in ``returns``.
            nested = [r for r in function.returns if r.startswith(f"{qualname}.")]
            for inner_name in (function.returns_function, *nested):
                if inner_name not in self.functions:
                    continue
                _, inner = self.functions[inner_name]
                named = bool(_named_roles(qualname)) and len(_values(inner.params)) >= 2
                # ``register_metrics(name)`` returning ``decorator(arg)``: one argument, no
                # metric.
                if not (used or loss_signature(inner.params) or named):
                    continue
                closures.add(inner_name)
                out.append(self._closure(qualname, module, inner_name, inner, used))
        for qualname, (module, function) in self.functions.items():  # (see unseen_function)
            if qualname in closures or function.returns_function:
                continue
            if qualname not in roles and _alternative(qualname):
                # The NumPy arm of ``if tf: def loss ... else: def loss``, its closures and
                # methods: no Keras runs them.
                continue
            if _is_method(qualname, self.classes):
                definition = self._method_definition(qualname, module, function, roles)
                if definition is not None:
                    out.append(definition)
                continue
            used = roles.get(qualname, set())
            # A function a loss getter hands out is a loss whatever its parameters are named
            # (``euclidean_loss(x, y)`` beside ``focal_loss(y_true, y_pred)``).
            handed = qualname in self.getters and len(_values(function.params)) >= 2
            if not used and not loss_signature(function.params) and not handed:
                continue
            # A function nested in another and neither compiled nor handed out (a YOLO loss
            # factory's ``box_loss`` and ``coord_loss``, which the returned loss adds up) is
            # a helper of the loss that calls it: judged through that loss, not by its name.
            helper = not used and qualname.rpartition(".")[0] in self.functions
            by_name = (
                (frozenset({"loss"}) if qualname in self.getters else frozenset())
                or library_roles(module, qualname)
                or _named_roles(qualname)
                or _crossentropy_named(module, qualname)
                or _metrics_module_roles(module)
            )
            out.append(
                LossDef(
                    qualname,
                    "function",
                    frozenset(used or (frozenset() if helper else by_name)),
                    module.path,
                    module.module,
                    function.span,
                    raw(function, "node"),
                    used=bool(used),
                )
            )
        return out

    @functools.cached_property
    def getters(self) -> dict[str, str]:
        """The functions that a loss getter hands out by name, with the getter
        (``get_loss_func(name)`` returning ``{"mse": mse, "mae": mae}[name]``, an application's
        ``get_loss_function()`` returning ``losses.quantile_score``): losses, whatever their own
        names say, however the getter's result reaches compile (through ``args.loss``, a
        config). A getter named for metrics too (``get_loss_and_metrics``) says nothing of
        which is which."""
        found: dict[str, str] = {}
        for qualname, (_, function) in self.functions.items():  # (see unseen_function)
            if not function.returns or _named_roles(qualname) != frozenset({"loss"}):
                continue
            for handed in function.returns:
                other = self._lookup(handed)
                if other is not None and other in self.functions and other != qualname:
                    found.setdefault(other, qualname)
        return found

    @staticmethod
    def _closure(
        factory: str, module: ModuleIndex, inner_name: str, inner: FunctionDef, used: set[str]
    ) -> LossDef:
        """The loss or metric a factory hands out, with the roles of its compile sites, else
        of the names of the two."""
        return LossDef(
            inner_name,
            "closure",
            frozenset(
                used
                or _named_roles(factory)
                or _named_roles(inner_name)
                or _crossentropy_named(module, factory)
                or _crossentropy_named(module, inner_name)
            ),
            module.path,
            module.module,
            inner.span,
            raw(inner, "node"),
            factory=factory,
            used=bool(used),
        )

    # -- objectives ----------------------------------------------------------------------------

    def objectives(self) -> list[tuple[ModuleIndex, Objective]]:
        """Every objective of the project with its module, and the costs stored on ``self`` in
        one method and trained in another: ``self.cost = cost`` in ``_create_cost(self,
        model_output, labels)``, then ``minimize(self.cost)``, or ``self._train_step(opt,
        self.cost)`` with ``minimize(cost)`` inside (the TF1 model-class layout)."""
        if self._objectives is None:
            found = [
                (m, o)
                for m in self.modules
                for o in m.objectives
                # A compute_loss method is trained as such only in a Keras Model (a plain
                # class's compute_loss(y_true, y_pred) is a loss handed to compile).
                if o.kind != "compute_loss"
                or self.is_subclass(o.scope.rpartition(".")[0], names.KERAS_MODEL_BASES)
            ]
            seen = {(m.path, o.span) for m, o in found}
            # ``self.loss = ...`` then ``minimize(self.loss)`` in the same method: the batch
            # axis of the value is judged where it is assigned, once (see ``restated``).
            judged_there: set[int] = set()
            for _, objective in list(found):
                if objective.kind not in ("minimize", "gradient"):
                    continue
                attributes = list(dict.fromkeys(self._trained_attributes(objective)))
                family = self._family(objective.scope.rpartition(".")[0]) if attributes else None
                for attribute in attributes:
                    assert family is not None
                    for home, stored in self._stored(attribute, objective.kind, family):
                        if (
                            stored.scope == objective.scope
                            and names.self_attribute(objective.node) == attribute
                        ):
                            judged_there.add(id(objective))
                        if (home.path, stored.span) not in seen:
                            seen.add((home.path, stored.span))
                            found.append((home, stored))
            self._restated = frozenset(judged_there)
            for objective in [o for _, o in found if o.kind in ("minimize", "gradient")]:
                for home, passed in self._passed_objectives(objective):
                    if (home.path, passed.span) not in seen:
                        seen.add((home.path, passed.span))
                        found.append((home, passed))
            found.extend(self._fetched())
            self._objectives = found
        return self._objectives

    def restated(self, objective: Objective) -> bool:
        """Whether an objective trains ``self.<attribute>`` in the method that assigns it, whose
        assigned value is an objective of its own (the same value, named again)."""
        self.objectives()
        return id(objective) in self._restated

    def _fetched(self) -> Iterator[tuple[ModuleIndex, Objective]]:
        """Loss functions whose gradient is written by hand: a function or method named like a
        loss, taking at least two values, whose result ``sess.run`` fetches (``loss =
        net.get_loss(probs, labels)``, then ``sess.run([loss, update])``). Objectives of kind
        ``fetch`` whose scope is the function itself: its parameters are its inputs."""
        candidates: dict[str, list[str]] = {}
        for qualname, (_, function) in self.functions.items():  # (see unseen_function)
            short = qualname.rpartition(".")[2]
            params = function.params[1:] if function.params[:1] == ("self",) else function.params
            if "loss" in short.lower() and len(params) >= 2 and not function.returns_function:
                candidates.setdefault(short, []).append(qualname)
        if not candidates:
            return
        done: set[str] = set()
        for module in (m for m in self.modules if m.sessions):
            assigned: dict[str, list[ast.expr]] = {}
            runs: list[ast.Call] = []
            for node in subtree(module.tree):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        key = names.held_name(target)
                        if key is not None:
                            assigned.setdefault(key, []).append(node.value)
                elif _is_session_run(node):
                    runs.append(node)  # type: ignore[arg-type]
            # A value that is also minimized is an objective already, traced from its call
            # with the ranges of its arguments: its gradient is not written by hand.
            trained = {names.held_name(o.node) for o in module.objectives} - {None}
            for run in runs:
                for fetched in _fetches(run):
                    key = names.held_name(fetched)
                    if key in trained:
                        continue
                    for value in [fetched, *assigned.get(key or "", ())]:
                        callee = _callee_name(value)
                        for qualname in candidates.get(callee or "", ()):
                            if qualname in done:
                                continue
                            done.add(qualname)
                            home, function = self.functions[qualname]
                            # The whole function is the objective; ``node`` only names it.
                            named = ast.Name(id=function.node.name, ctx=ast.Load())
                            yield home, Objective("fetch", qualname, function.span, named)

    def _trained_attributes(self, objective: Objective) -> Iterator[str]:
        """``cost`` for ``minimize(self.cost)``, and for ``minimize(cost)`` in a method whose
        parameter ``cost`` its callers give as ``self.cost``."""
        attribute = names.self_attribute(objective.node)
        if attribute is not None:
            yield attribute
            return
        for _, argument, _ in self._given_to_trained_parameter(objective):
            attribute = names.self_attribute(argument)
            if attribute is not None:
                yield attribute

    def _passed_objectives(self, objective: Objective) -> Iterator[tuple[ModuleIndex, Objective]]:
        """For ``tape.gradient(loss, ...)`` in a method whose parameter ``loss`` it trains as
        given (``def apply_gradients(self, loss, tape)``), what each ``self.apply_gradients(loss,
        tape)`` gives, as an objective of the method that calls it (the loss a ``train_step``
        computes). Arguments stored on ``self`` are :meth:`_trained_attributes`'."""
        node = objective.node
        entry = self.functions.get(objective.scope)
        if not isinstance(node, ast.Name) or entry is None:
            return
        if any(
            isinstance(target, ast.Name) and target.id == node.id
            for statement in subtree(entry[1].node)
            if isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For))
            for target in (
                statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            )
        ):
            return  # rebound in the method: what it trains is its own value
        if not _is_method(objective.scope, self.classes):
            # A TF 1 helper that trains what it is given (``def optimizer(loss, var_list):
            # return tf.train.AdamOptimizer(lr).minimize(loss, var_list=var_list)``): each
            # call's argument (``optimizer(loss_d, d_params)``), in the scope of the call.
            params = entry[1].params
            if node.id not in params:
                return
            param = Param(node.id, params.index(node.id), None)
            for given in self._given(objective.scope, param):
                span = node_span(given.argument, given.module.lines)
                home = given.caller or given.module.module
                yield (
                    given.module,
                    dataclasses.replace(objective, scope=home, span=span, node=given.argument),
                )
            return
        family = self._family(objective.scope.rpartition(".")[0])
        for module, argument, caller in self._given_to_trained_parameter(objective):
            if caller is None or names.self_attribute(argument) is not None:
                continue
            scope = next(
                (
                    f.qualname
                    for f in module.functions
                    if f.span.line == caller.lineno and f.node.name == caller.name
                ),
                None,
            )
            if scope is None or scope.rpartition(".")[0] not in family:
                continue
            span = node_span(argument, module.lines)
            yield module, dataclasses.replace(objective, scope=scope, span=span, node=argument)

    def _given_to_trained_parameter(
        self, objective: Objective
    ) -> Iterator[tuple[ModuleIndex, ast.expr, ast.FunctionDef | ast.AsyncFunctionDef | None]]:
        """Where the trained value is a parameter of the method that trains it (``minimize(cost)``
        in ``_train_step(self, opt, cost)``): what each ``self.<method>(...)`` gives for it, with
        the module and the function the call is written in. The modules are found from their
        facts and walked as syntax, never searched as text: a comment in them changes nothing."""
        node = objective.node
        entry = self.functions.get(objective.scope)
        if not isinstance(node, ast.Name) or entry is None:
            return
        _, function = entry
        if not _is_method(objective.scope, self.classes) or node.id not in function.params:
            return
        index = function.params.index(node.id) - 1  # ``self`` is bound at the call
        short = objective.scope.rpartition(".")[2]
        for module in (m for m in self.modules if short in m.self_attributes):
            calls = sorted(
                ((c, f) for c, f in _calls_in(module.tree) if _self_call(c, short)),
                key=lambda pair: (pair[0].lineno, pair[0].col_offset),
            )
            for call, caller in calls:
                argument = next((k.value for k in call.keywords if k.arg == node.id), None)
                if argument is None and 0 <= index < len(call.args):
                    argument = call.args[index]
                if argument is not None:
                    yield module, argument, caller

    def _family(self, cls: str) -> frozenset[str]:
        """A project class with its project bases and subclasses: the classes whose ``self``
        may be the object a method of ``cls`` runs on. Empty when ``cls`` is not a class."""
        if cls not in self.classes:
            return frozenset()
        return frozenset(
            other for other in self.classes if cls in self._ancestors(other) or other == cls
        ) | self._ancestors(cls)

    def _ancestors(self, cls: str, depth: int = 0) -> frozenset[str]:
        """The project classes ``cls`` derives from (cached)."""
        if cls in self._bases_of:
            return self._bases_of[cls]
        found: set[str] = set()
        if depth > _MAX_CHAIN or cls not in self.classes:
            return frozenset()
        self._bases_of[cls] = frozenset()  # no recursion through a cycle of bases
        for base in self.classes[cls][1].bases:
            resolved = self._lookup(base) if base else None
            if resolved is not None and resolved in self.classes and resolved not in found:
                found.add(resolved)
                found |= self._ancestors(resolved, depth + 1)
        self._bases_of[cls] = frozenset(found)
        return self._bases_of[cls]

    def _stored(
        self, attribute: str, kind: str, family: frozenset[str]
    ) -> Iterator[tuple[ModuleIndex, Objective]]:
        """``self.<attribute> = value`` in the methods of ``family``: each value, trained."""
        for module in (m for m in self.modules if attribute in m.self_attributes):
            for qualname, function in self._methods_of(module):
                if qualname.rpartition(".")[0] not in family:
                    continue
                for node in subtree(function.node):
                    if not isinstance(node, ast.Assign) or isinstance(node.value, ast.Constant):
                        continue
                    if any(names.self_attribute(t) == attribute for t in node.targets):
                        span = node_span(node.value, module.lines)
                        yield module, Objective(kind, qualname, span, node.value, stored=True)

    def _methods_of(self, module: ModuleIndex) -> Iterator[tuple[str, FunctionDef]]:
        for function in module.functions:
            if _is_method(function.qualname, self.classes):
                yield function.qualname, function

    def _handed_in(self, value: Value | None) -> Iterator[tuple[str, Call | None]]:
        """What the call sites of a function pass for a parameter it compiles: ``attn_reg(opt,
        size, losses.focal_tversky)`` where ``attn_reg`` does ``compile(loss=lossfxn)``."""
        if value is None:
            return
        for leaf in iter_leaves(value):
            if isinstance(leaf, Unknown) and leaf.param is not None and leaf.owner is not None:
                for target in self.passed(leaf.owner, leaf.param):
                    if not names.is_keras(target):
                        yield target, None

    def passed(self, owner: str, param: Param) -> tuple[str, ...]:
        """Names of the functions or classes that calls of project function ``owner`` pass, by
        name, for its parameter ``param`` (cached): ``losses.focal_tversky``, or
        ``tensorflow.nn.relu`` for ``add_layer(..., activation_function=tf.nn.relu)``. Only
        modules that can call it are read: its own and those importing its module that mention
        its name. A call passing something else for it (a lambda, a call) adds nothing."""
        key = f"{owner}:{param.name}"
        if key in self._passed:
            return self._passed[key]
        self._passed[key] = ()  # no recursion
        found: list[str] = []
        entry = self.functions.get(owner) if self._called_by_name(owner) else None
        if entry is not None:
            home, function = entry
            # ``def train(..., loss_fn=focal_loss)``: what every call that omits it passes.
            default = parameter_default(function.node, param.name)
            named = self.named(default, home) if default is not None else None
            if named is not None:
                found.append(named)
            arguments = self.passed_arguments(owner, param)
            for module, argument in arguments:
                named = self.named(argument, module)
                if named is not None:
                    found.append(named)
            # A name the calling function binds (``loss_fn = crps_cost_function``, then
            # ``drn_pp(model, data, loss_fn)``), or a parameter of it its own callers give
            # (an argument that is not such a name was read above).
            read = {id(argument) for _, argument in arguments}
            for module, value in self.passed_values(owner, param):
                named = None if value is None or id(value) in read else self.named(value, module)
                if named is not None:
                    found.append(named)
        self._passed[key] = tuple(dict.fromkeys(found))
        return self._passed[key]

    def passed_arguments(
        self, owner: str, param: Param
    ) -> tuple[tuple[ModuleIndex, ast.expr], ...]:
        """The expressions that calls of project function ``owner`` give for ``param``, with
        the module each is written in (cached): a training step's ``train_step(discriminator,
        generator, images)``. Only modules that can call it are read, as :meth:`passed` does."""
        return tuple((given.module, given.argument) for given in self._given(owner, param))

    def passed_values(
        self, owner: str, param: Param, depth: int = 0
    ) -> tuple[tuple[ModuleIndex, ast.expr | None], ...]:
        """:meth:`passed_arguments`, each name among them replaced by the value it is bound
        to once: in the function the call is written in (a ``train()`` that makes ``model =
        build_model()`` and ``loss_fn = BinaryCrossentropy(from_logits=True)`` and calls
        ``train_step(x, y, model, loss_fn)``), else at module level; where it is a parameter
        of that function, the values its own callers pass (``train()`` calling ``fit(model,
        loss_fn)``, which calls ``train_step``). None where the name is bound some other way
        (a loop, two assignments) or passed on too many times."""
        values: list[tuple[ModuleIndex, ast.expr | None]] = []
        for given in self._given(owner, param):
            value: ast.expr | None = given.argument
            if not isinstance(value, ast.Name):
                values.append((given.module, value))
                continue
            name = value.id
            local, value = local_binding(given.function, name) if given.function else (False, None)
            if not local:
                values.append((given.module, bound_once(given.module, name)))
                continue
            caller = given.caller or ""
            found = self.functions.get(caller)
            if value is None and found is not None and name in found[1].params and depth < 3:
                outer = Param(name, found[1].params.index(name), None)
                values.extend(
                    self.passed_values(caller, outer, depth + 1) or [(given.module, None)]
                )
                continue
            values.append((given.module, value))
        return tuple(values)

    def _given(self, owner: str, param: Param) -> tuple[_Given, ...]:
        """:meth:`passed_arguments`, each with the function its call is written in."""
        key = f"{owner}:{param.name}"
        if key in self._arguments:
            return self._arguments[key]
        found: list[_Given] = []
        entry = self.functions.get(owner) if self._called_by_name(owner) else None
        constructor = self._constructor(owner)
        if entry is not None:
            # A class's ``__init__`` is called as the class, without ``self``
            # (``MultiLayerPerceptron(..., loss=sharpe_loss)`` compiling ``loss`` in __init__).
            callee = owner.rpartition(".")[0] if constructor else owner
            if constructor:
                param = Param(param.name, param.index - 1, param.default)
            short = names.defined_name(callee)
            for module in self.importers(entry[0]):
                if not lines_with(module, f"{short}("):
                    continue
                found.extend(
                    _Given(module, a, f, q)
                    for a, f, q in self._arguments_given(module, callee, param)
                )
        self._arguments[key] = tuple(found)
        return self._arguments[key]

    def _called_by_name(self, qualname: str) -> bool:
        """Whether calls of ``qualname`` are written with its own name: a function, or a class's
        ``__init__`` (called as the class), not another method."""
        return not _is_method(qualname, self.classes) or self._constructor(qualname)

    def _constructor(self, qualname: str) -> bool:
        """Whether ``qualname`` is the ``__init__`` of a class of the project."""
        owner, _, name = qualname.rpartition(".")
        return name == "__init__" and owner in self.classes

    def importers(self, home: ModuleIndex) -> list[ModuleIndex]:
        """``home`` and the modules importing it or a name of it (cached per module)."""
        found = self._importer_cache.get(home.module)
        if found is None:
            # An import of ``home`` (or of a name in it) ends with its last part.
            last = home.module.rpartition(".")[2]
            importing = {
                id(module)
                for module, target in self._imports_by_last().get(last, ())
                if names.imports_module(target, home.module)
            }
            found = [m for m in self.modules if m is home or id(m) in importing]
            self._importer_cache[home.module] = found
        return found

    def _imports_by_last(self) -> dict[str, list[tuple[ModuleIndex, str]]]:
        """Each module's imported names, by the last part of the name and of its parent (what
        :func:`names.imports_module` compares): asked for every module that hands out a
        loss, a scan of every import of every module each time was 70,000 comparisons on
        the Keras tree."""
        if self._by_import_last is None:
            self._by_import_last = {}
            for module in self.modules:
                for target in module.imports.values():
                    parent = target.rpartition(".")[0]
                    for candidate in (target, parent) if parent else (target,):
                        key = candidate.rpartition(".")[2]
                        self._by_import_last.setdefault(key, []).append((module, target))
        return self._by_import_last

    def _statement_calls(self, statements: list[ast.stmt], prefix: str) -> Iterator[_ScopedCall]:
        """:func:`_scoped_calls` of a module made of ``statements``, each statement's calls
        listed once (a class of tests that builds many losses is asked about each of them).
        The order is the walk's: the last statement's calls first."""
        for statement in reversed(statements):
            known = self._calls_of_statement.get(id(statement))
            if known is None or known[0] is not statement:
                known = (statement, list(_scoped_calls(statement, prefix)))
                self._calls_of_statement[id(statement)] = known
            yield from known[1]

    def _arguments_given(
        self, module: ModuleIndex, owner: str, param: Param
    ) -> Iterator[tuple[ast.expr, ast.FunctionDef | ast.AsyncFunctionDef | None, str | None]]:
        """What each call of ``owner`` in ``module`` gives for ``param``, with the function
        the call is written in and its qualified name (None at module level)."""
        # Only the top-level statements whose text calls it by name are parsed (a module
        # that calls the function once need not be parsed whole: Keras's ``numpy.py``).
        statements = mentioning_statements(module, f"{names.defined_name(owner)}(")
        for node, function, caller in self._statement_calls(statements, module.module):
            callee = self.named(node.func, module)
            target = self._lookup(callee) if callee is not None else None
            if target is not None and target.startswith(module.module + "."):
                # A name its module defines again: the call made below a definition runs it.
                target = self._version_at(target, node.lineno)
            if target != owner:
                continue
            argument = next((k.value for k in node.keywords if k.arg == param.name), None)
            if argument is None and 0 <= param.index < len(node.args):
                argument = node.args[param.index]
                if any(isinstance(a, ast.Starred) for a in node.args[: param.index + 1]):
                    argument = None
            if argument is not None:
                yield argument, function, caller

    def _passed_model(
        self, owner: str, param: Param, depth: int, called: bool = False
    ) -> ModelFact | None:
        """The model that every call of ``owner`` passes for ``param``, when each is known
        and they are the same: a ``def train(model): model.compile(...)`` called with a
        model built by the caller, by a factory of the project, or loaded from Hugging Face.
        ``called``: the parameter is a factory, called to make the model (``def
        model_arch(arch): model = arch(shape)``, called as ``model_arch(arch6)``)."""
        models: set[ModelFact] = set()
        for given in self._given(owner, param):
            if called:
                factory = self._factory_given(given.module, given.argument)
                model = (
                    self.resolve_model(ModelRef(factory=factory), depth + 1) if factory else None
                )
            else:
                model = self._model_given(given.module, given.argument, given.function, depth)
            if model is None:
                return None
            models.add(model)
        return models.pop() if len(models) == 1 else None

    def _factory_given(self, module: ModuleIndex, expr: ast.expr | None) -> str | None:
        """The project function an argument names (``arch6``, ``models.arch6``)."""
        if not isinstance(expr, (ast.Name, ast.Attribute)):
            return None
        name = self.named(expr, module)
        found = self._lookup(name) if name else None
        return found if found in self.functions or found in self.classes else None

    def _model_given(
        self,
        module: ModuleIndex,
        expr: ast.expr | None,
        function: ast.FunctionDef | ast.AsyncFunctionDef | None,
        depth: int,
    ) -> ModelFact | None:
        """The model ``expr``, an argument written in ``function`` of ``module``, holds: a call
        that builds one, or a name bound once to such a call (in the function, or at module
        level)."""
        expr = _bound_call(module, expr, function)
        if expr is None:
            return None
        span = node_span(expr, module.lines)
        built = next((m for m in module.models if m.span == span), None)
        if built is not None:
            return built
        func = self.named(expr.func, module)
        if func is None:
            return None
        if names.HUGGING_FACE_HEAD.match(func):
            return pretrained_model(expr, span)
        factory = self._lookup(func)
        if factory is None:
            return None
        return self.resolve_model(ModelRef(factory=factory), depth + 1)

    def _class_given(self, owner: str, param: Param) -> str | None:
        """The project class of the object that the calls of ``owner`` pass for ``param``
        (``compile_model(model, args)`` after ``model = ImageCaptionModel(decoder)``): the one
        class that every call whose argument is known to construct a project class
        constructs; None where none is known or they differ. An argument of unknown origin (a
        model loaded from a file) is taken to be of the same class."""
        found: set[str] = set()
        for given in self._given(owner, param):
            values: list[ast.expr] = [given.argument]
            if isinstance(given.argument, ast.Name) and given.function is not None:
                # ``model = ImageCaptionModel(...)`` in one branch, ``load_model(...)`` in the
                # other: each value the function assigns to the name.
                values = _assigned_values(given.function, given.argument.id) or values
            for value in values:
                call = _bound_call(given.module, value, given.function)
                func = self.named(call.func, given.module) if call is not None else None
                cls = self._lookup(func) if func else None
                if cls in self.classes:
                    found.add(cls)
        return found.pop() if len(found) == 1 else None

    def named(self, expr: ast.expr, module: ModuleIndex, depth: int = 0) -> str | None:
        """The project or library name an expression spells (``losses.focal_tversky``, a
        function of the module itself, or one of a project module it star-imports, or what a
        module-level name bound once holds: ``loss = sharpe_loss``), without evaluating
        anything."""
        if isinstance(expr, ast.Name) and expr.id not in module.imports:
            local = f"{module.module}.{expr.id}"
            if local in self.functions or local in self.classes:
                return local
            for star in reversed(module.stars):  # the last ``from m import *`` binds last
                found = self._lookup(f"{star}.{expr.id}")
                if found is not None:
                    return found
            bound = _bound_alias(module, expr.id) if depth < 3 else None
            return self.named(bound, module, depth + 1) if bound is not None else None
        parts = names.dotted(expr)
        if parts is not None and parts[0] in module.imports:
            spelled = ".".join([module.imports[parts[0]], *parts[1:]])
            if spelled.partition(".")[0] in self._roots:
                # A package of the project's own (Keras's sources, a vendored copy): its
                # modules are the definitions, not the library names they would stand for
                # in a user's code (``keras.src.backend.math.in_top_k`` is not the legacy
                # ``keras.backend.in_top_k``, whose arguments go the other way).
                return spelled
        return names.qualify(expr, module.imports)

    def needs_more_arguments(self, qualname: str) -> bool:
        """Whether project function ``qualname`` requires more arguments than the ``(y_true,
        y_pred)`` Keras calls a loss or metric with (``fbeta_coef(y_true, y_pred, alpha,
        beta)``, ``generate_log(y_true, y_pred, names, output)``): Keras could not call it as
        one; it is a helper of the code that passes the rest."""
        found = self.functions.get(qualname)
        if found is None:
            return False
        function = found[1]
        bound = function.params[:1] in (("self",), ("cls",))
        return function.required - bound > 2 or bool(function.required_kwonly)

    def keras_calls(self, value: Value | None) -> Iterator[str]:
        """The project functions that Keras calls with ``(y_true, y_pred)`` for a compiled loss
        entry: the function itself (``loss=dice_loss``, or a ``partial`` of it), the closure a
        factory call returns (``loss=weighted_bce(0.3)``), the ``call`` of a ``Loss`` subclass's
        instance or the ``__call__`` of another callable object. What is not known to be one of
        these (a call of any other function) gives nothing."""
        for target, instance in _referenced(value):
            found = self._lookup(target)
            if found is None:
                continue
            if found in self.functions:
                if is_property(self.functions[found][1]):
                    continue  # ``self.ordinal_loss`` of a ``@property``: what it returns
                if not _called(value, target):
                    yield found
                elif self.functions[found][1].returns_function in self.functions:
                    yield str(self.functions[found][1].returns_function)
            elif found in self.classes and instance is None:
                if self.is_loss_class(found):
                    method = self.method(found, "call")
                    if method is not None:
                        yield method
                else:
                    call = self._called_object(found, target, value)
                    if call is not None:
                        yield call[0]

    def _called_object(
        self, found: str, target: str, value: Value | None
    ) -> tuple[str, Call] | None:
        """``(Cls.__call__, the constructor call)`` when a compile argument is an instance of a
        project class that is not a Keras ``Loss``/``Metric`` but is callable."""
        if found not in self.classes or self.is_loss_class(found) or self.is_metric_class(found):
            return None
        method = self.method(found, "__call__")
        if method is None or value is None:
            return None
        for leaf in iter_leaves(value):
            if isinstance(leaf, Call) and leaf.func == target:
                return method, leaf
        return None

    def _method_definition(
        self,
        qualname: str,
        module: ModuleIndex,
        function: FunctionDef,
        roles: dict[str, set[str]],
    ) -> LossDef | None:
        """A method that is a loss or metric itself: bound and passed to compile
        (``loss=my_loss.loss_function``), or a ``(self, y_true, y_pred)`` method (or a static
        ``(y_true, y_pred)`` one) named like one in a class that is not a Keras
        ``Loss``/``Metric`` (their methods are part of the class's definition)."""
        used = roles.get(qualname, set())
        cls = qualname.rpartition(".")[0]
        # ``BinaryCELoss.__call__``: a callable object is named by its class.
        named = _named_roles(cls if qualname.endswith(".__call__") else qualname)
        if not used:
            if not loss_signature(function.params):
                return None
            if function.params[:1] != ("self",) and not _static(function.node):
                return None
            if not named or self.is_loss_class(cls) or self.is_metric_class(cls):
                return None
            if any(b in LOSS_BASES or b in METRIC_BASES for b in self.classes[cls][1].bases):
                return None
            name = qualname.rpartition(".")[2]
            if (
                name in module.self_attributes
                and "loss" not in cls.rpartition(".")[2].lower()
                and _calls_own(self.classes[cls][1].node, name)
            ):
                return None  # a helper its own class calls (a model's ``self._sample_loss``)
        return LossDef(
            qualname,
            "method",
            frozenset(used or named),
            module.path,
            module.module,
            function.span,
            function.node,
            used=bool(used),
            instance=self.instances.get(qualname),
        )

    def captured_tensors(self, definition: LossDef) -> list[tuple[str, Span, Span]]:
        """``(name, use, made)`` for each free name of a loss function that an enclosing scope
        (the module, the function that builds the model) binds to a symbolic Keras tensor."""
        if isinstance(definition.node, ast.ClassDef):
            return []
        return self.function_captures(definition.qualname, definition.module, definition.node)

    def function_captures(
        self, qualname: str, module_name: str, node: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> list[tuple[str, Span, Span]]:
        """:meth:`captured_tensors` of any function of the project (a layer's ``call``)."""
        module = self._by_name.get(module_name)
        if module is None:
            return []
        read = _graph_reads(node, module.lines)
        if not module.symbolic:
            return read
        local = {a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)}
        local |= {a.arg for a in (node.args.vararg, node.args.kwarg) if a is not None}
        loads: list[ast.Name] = []
        for child in subtree(node):
            if isinstance(child, ast.Name):
                if isinstance(child.ctx, ast.Load):
                    loads.append(child)
                else:
                    local.add(child.id)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and child is not node:
                local.add(child.name)
        enclosing = qualname.split(".")[:-1]
        found: list[tuple[str, Span, Span]] = []
        seen: set[str] = set()
        # A method, or a closure inside one (``def vae_kl_loss(y_true, y_pred)`` in ``compile``
        # reading the method's ``self.mu``): what ``self.x`` holds.
        owner = ".".join(enclosing)
        positional = [*node.args.posonlyargs, *node.args.args]
        receiver = positional[0].arg if owner in self.classes and positional else None
        if receiver is None and "self" not in local:  # the nearest enclosing class's self
            classes = (".".join(enclosing[:cut]) for cut in range(len(enclosing) - 1, 0, -1))
            owner = next((c for c in classes if c in self.classes), "")
            receiver = "self" if owner else None
        if receiver is not None:
            for child in subtree(node):
                if (
                    isinstance(child, ast.Attribute)
                    and isinstance(child.ctx, ast.Load)
                    and isinstance(child.value, ast.Name)
                    and child.value.id == receiver
                    and f"{receiver}.{child.attr}" not in seen
                ):
                    made = module.symbolic.get(f"{owner}.self.{child.attr}")
                    if made is not None:
                        seen.add(f"{receiver}.{child.attr}")
                        found.append(
                            (f"{receiver}.{child.attr}", node_span(child, module.lines), made)
                        )
        for load in sorted(loads, key=lambda n: (n.lineno, n.col_offset)):
            if load.id in local or load.id in seen:
                continue
            for cut in range(len(enclosing), 0, -1):
                made = module.symbolic.get(".".join([*enclosing[:cut], load.id]))
                if made is not None:
                    seen.add(load.id)
                    found.append((load.id, node_span(load, module.lines), made))
                    break
        return sorted([*found, *read], key=lambda c: (c[1].line, c[1].column))


def _graph_reads(
    node: ast.FunctionDef | ast.AsyncFunctionDef, lines: Sequence[str]
) -> list[tuple[str, Span, Span]]:
    """``model.get_layer(name).output`` or ``model.layers[i].output`` read in the loss body
    itself: always a KerasTensor of the functional graph (a subclassed model has none). The
    name shown is the local it is bound to, else the expression."""
    targets: dict[int, str] = {}
    for child in subtree(node):
        if isinstance(child, ast.Assign) and len(child.targets) == 1:
            target = child.targets[0]
            if isinstance(target, ast.Name):
                targets[id(child.value)] = target.id
    # ``Model(inputs=vgg.input, outputs=vgg.get_layer("block3_conv3").output)``: a sub-model
    # built from the graph (a perceptual loss's feature extractor) evaluates no tensor.
    built: set[int] = set()
    for child in subtree(node):
        if isinstance(child, ast.Call) and _builds_model(child.func):
            for argument in (*child.args, *(k.value for k in child.keywords)):
                built.update(id(n) for n in subtree(argument))
    found = []
    for child in subtree(node):
        if layer_graph_tensor(child) and id(child) not in built:
            span = node_span(child, lines)
            found.append((targets.get(id(child)) or unparse(child), span, span))
    return found


@dataclass(frozen=True, slots=True)
class _Given:
    """An argument given to a parameter of a project function, where it is written."""

    module: ModuleIndex
    argument: ast.expr
    function: ast.FunctionDef | ast.AsyncFunctionDef | None  # None at module level
    caller: str | None = None  # and its qualified name


# A call, with the innermost function it is written in and that function's qualified name.
_ScopedCall = tuple[ast.Call, ast.FunctionDef | ast.AsyncFunctionDef | None, str | None]


def _scoped_calls(tree: ast.AST, prefix: str) -> Iterator[_ScopedCall]:
    """:func:`_calls_in`, with the qualified name of the function each call is written in
    (``prefix``: the module's name)."""
    Scope = tuple[ast.AST, ast.FunctionDef | ast.AsyncFunctionDef | None, str | None, str]
    stack: list[Scope] = [(tree, None, None, prefix)]
    while stack:
        node, function, qualname, path = stack.pop()
        if isinstance(node, ast.Call):
            yield node, function, qualname
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            path = f"{path}.{node.name}"
            function, qualname = node, path
        elif isinstance(node, ast.ClassDef):
            path = f"{path}.{node.name}"
        stack.extend((child, function, qualname, path) for child in ast.iter_child_nodes(node))


def _calls_in(
    tree: ast.AST,
) -> Iterator[tuple[ast.Call, ast.FunctionDef | ast.AsyncFunctionDef | None]]:
    """Every call in ``tree``, with the innermost function it is written in."""
    return ((call, function) for call, function, _ in _scoped_calls(tree, ""))


def local_binding(
    function: ast.FunctionDef | ast.AsyncFunctionDef, name: str
) -> tuple[bool, ast.expr | None]:
    """Whether ``name`` is a local of ``function`` (a parameter or a name it binds), and the
    value of its one plain assignment ``name = value`` where nothing else binds it (a
    parameter, a loop, an unpacking, a second assignment)."""
    args = function.args
    if any(a.arg == name for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]):
        return True, None
    values: list[ast.expr] = []
    stores = 0
    for node in subtree(function):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            stores += 1
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == name
        ):
            values.append(node.value)
    return stores > 0, values[0] if len(values) == 1 and stores == 1 else None


def _assigned_values(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> list[ast.expr]:
    """The values of the plain assignments ``name = value`` in ``function``, in order."""
    return [
        node.value
        for node in subtree(function)
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id == name
    ]


def decorated(function: FunctionDef, *decorators: str) -> bool:
    """Whether ``function`` carries one of ``decorators``, by its last name (``@property``,
    ``@functools.cached_property``)."""
    return any(
        (d.id if isinstance(d, ast.Name) else d.attr if isinstance(d, ast.Attribute) else None)
        in decorators
        for d in function.node.decorator_list
    )


def is_property(function: FunctionDef) -> bool:
    """A method read as an attribute (``@property``, ``@cached_property``): ``self.loss`` is
    the value it returns, not the method."""
    return decorated(function, "property", "cached_property")


def bound_once(module: ModuleIndex, name: str) -> ast.expr | None:
    """The value of the one module-level assignment of ``name``, else None (only the chunks
    that bind it are parsed). Assignments that all write the same value count as one: a
    notebook's cell run again in a later copy (``loss_fn = tf.keras.losses.mse`` in both)."""
    values = [
        stmt.value
        for stmt in chunk_statements(module, module.bindings.get(name, ()))
        if isinstance(stmt, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets)
    ]
    if len(values) > 1 and len({ast.dump(v) for v in values}) == 1:
        return values[0]
    return values[0] if len(values) == 1 else None


def _bound_alias(module: ModuleIndex, name: str) -> ast.expr | None:
    """The name or attribute that module-level code binds ``name`` to (``loss =
    sharpe_loss``), where one chunk binds it, by one plain assignment, and no function rebinds
    it through ``global``."""
    if len(module.bindings.get(name, ())) != 1 or name in module.rebound:
        return None
    value = bound_once(module, name)
    return value if isinstance(value, (ast.Name, ast.Attribute)) else None


def _builds_model(func: ast.expr) -> bool:
    """``Model(...)``, ``keras.Model(...)``, ``models.Model(...)``."""
    return (isinstance(func, ast.Name) and func.id == "Model") or (
        isinstance(func, ast.Attribute) and func.attr == "Model"
    )


# First and second positional parameters of a loss or metric, in their usual spellings.
TRUE_NAMES: Final = frozenset(
    {"y_true", "ytrue", "yt", "y", "true", "labels", "label", "target", "targets", "gt", "y_gt"}
    # ``(Y_actual, Y_pred)``: a portfolio optimiser's losses.
    | {"y_actual", "actual", "Y_true", "Y_actual", "Y"}
    # ``(yTrue, yPred)``: the camel-case spelling of a widely copied RMSE snippet.
    | {"yTrue", "YTrue"}
    # ``(y_truth, y_pred)``: MIScnn's joint Dice and crossentropy losses.
    | {"y_truth", "truth", "ground_truth", "y_target"}
)
PRED_NAMES: Final = frozenset(
    {
        "y_pred",
        "ypred",
        "yp",
        "y_hat",
        "yhat",
        "pred",
        "preds",
        "prediction",
        "predictions",
        "logits",
        "output",
        "outputs",
        "probs",
        "y_prob",
        "pr",  # ``(gt, pr)``: segmentation_models and its ports
        "Y_pred",
        "predicted",
        "yPred",
        "YPred",
    }
)
# Words of a function's name that make it a loss by its name: "loss" anywhere, and the
# crossentropy it computes in Keras code (see _crossentropy_named).
# ``nll``: a negative log-likelihood (``gaussian_nll``, ``tf_nll``), a loss by definition.
_LOSS_NAMES: Final = ("loss", "nll")
_CROSSENTROPY_WORDS: Final = ("crossentropy", "cross_entropy")
_LOSS_WORDS: Final = (*_LOSS_NAMES, *_CROSSENTROPY_WORDS)
_METRIC_WORDS: Final = (
    "metric",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "fbeta",
    "iou",
    "coef",
    "score",
    "auc",
)


# Method names the analyses look up on a class by a name of their own, not the code's.
_LOOKED_UP_METHODS: Final = frozenset(
    {"call", "update_state", "result", "reset_state", "reset_states", "get_config", "build"}
)


def _alternative(qualname: str) -> bool:
    """Whether ``qualname`` is, or is defined in, the alternative of a definition in the other
    arm of an ``if``/``else`` (see :data:`names.ALTERNATIVE`)."""
    return qualname.endswith(names.ALTERNATIVE) or f"{names.ALTERNATIVE}." in qualname


def unseen_function(qualname: str, module: str, params: Sequence[str]) -> bool:
    """A function that no rule selects unless something names it: defined at the top level of
    ``module``, and neither shaped nor named like a loss or metric.

    Whatever reads every function of the project (:meth:`ProjectIndex._find_definitions`,
    :meth:`ProjectIndex._fetched`, the LL201 signature check, the pipeline's choice of helper
    modules) picks only functions for which this is False, or that are referenced by name.
    The early cutoff relies on it: an edit that adds, removes or changes such a function, and
    leaves every other fact as it was, changes no finding while nothing names it (see
    :mod:`losslint.cutoff`). A new whole-table reader must keep this true, or narrow it here.
    A function that hands out another (``returns_function``, ``returns``) is never unseen."""
    owner, _, name = qualname.rpartition(".")
    if owner != module or not name.isidentifier() or name.startswith("__"):
        return False
    if name in _LOOKED_UP_METHODS:  # ``M.call`` could pass for the method of a class ``M``
        return False
    lowered = name.lower()
    if any(word in lowered for word in (*_LOSS_WORDS, *_METRIC_WORDS)):
        return False
    return not any(truth_name(p) or prediction_name(p) for p in params)


def _bound_call(
    module: ModuleIndex,
    expr: ast.expr | None,
    function: ast.FunctionDef | ast.AsyncFunctionDef | None,
) -> ast.Call | None:
    """The call ``expr``, written in ``function`` of ``module``, holds: itself, or what a name
    bound once (in the function, or at module level) holds, followed through a few names."""
    for _ in range(3):
        if not isinstance(expr, ast.Name):
            break
        local, value = local_binding(function, expr.id) if function is not None else (False, None)
        expr = value if local else bound_once(module, expr.id)
    return expr if isinstance(expr, ast.Call) else None


def namespaces(modules: Iterable[tuple[str, ModuleIndex]]) -> list[list[ModuleIndex]]:
    """The modules split into groups in which no two share a dotted name.

    ``modules`` pairs each module's facts with its absolute path; see :func:`namespace_groups`.
    """
    pairs = list(modules)
    groups = namespace_groups([(path, module.module) for path, module in pairs])
    return [[pairs[i][1] for i in group] for group in groups]


def _is_session_run(node: ast.AST) -> bool:
    """``sess.run(...)``, ``self.session.run(...)``: a TF1 session fetching values."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    receiver = names.dotted(node.func.value)
    return node.func.attr == "run" and bool(receiver) and "sess" in receiver[-1].lower()  # type: ignore[index]


def _fetches(run: ast.Call) -> Iterator[ast.expr]:
    """The fetched expressions of a ``sess.run`` call, through lists, tuples and dicts."""
    stack = [*run.args[:1], *(k.value for k in run.keywords if k.arg == "fetches")]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.List, ast.Tuple)):
            stack.extend(node.elts)
        elif isinstance(node, ast.Dict):
            stack.extend(node.values)
        else:
            yield node


def _callee_name(node: ast.expr) -> str | None:
    """``get_loss`` for ``net.get_loss(...)``, ``self.get_loss(...)`` or ``get_loss(...)``."""
    return names.last_name(node.func) if isinstance(node, ast.Call) else None


def _keras_module(module: ModuleIndex) -> bool:
    """A module that imports Keras or TensorFlow: where a package picks one of several backends
    at import time (voxelmorph's ``torch``/``tf``), the one a Keras ``compile`` can use."""
    return any(
        names.is_keras(target) or target.split(".")[0] == "tensorflow"
        for target in module.imports.values()
    )


def _values(params: tuple[str, ...]) -> tuple[str, ...]:
    """The parameters that take values, without a method's ``self`` or ``cls``."""
    return params[1:] if params[:1] in (("self",), ("cls",)) else params


def loss_signature(params: tuple[str, ...]) -> bool:
    """Whether parameters are named (truth, prediction), after a method's ``self``."""
    rest = _values(params)
    return len(rest) >= 2 and truth_name(rest[0]) and prediction_name(rest[1])


def truth_name(name: str) -> bool:
    """A parameter named like the labels: ``y_true``, ``labels``, ``concat_true`` (DragonNet's
    targets and treatments side by side)."""
    return name in TRUE_NAMES or name.endswith("_true")


def prediction_name(name: str) -> bool:
    """A parameter named like the prediction: ``y_pred``, ``logits``, ``concat_pred``,
    ``model_output``."""
    return name in PRED_NAMES or name.endswith(_PREDICTION_SUFFIXES)


_PREDICTION_SUFFIXES: Final = ("_pred", "_output", "_logits", "_probs")


def _static(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a method is a ``@staticmethod`` (``f1_score(y_true, y_pred)`` kept in a model
    class and compiled as ``metrics=[self.f1_score]``)."""
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)


def _calls_own(cls: ast.ClassDef, name: str) -> bool:
    """Whether a method of ``cls`` calls ``self.<name>(...)``."""
    return any(_self_call(node, name) for node in subtree(cls))


def _self_call(node: ast.AST, name: str) -> TypeGuard[ast.Call]:
    """Whether ``node`` is a call ``self.<name>(...)``."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
    )


def _named_roles(qualname: str) -> frozenset[str]:
    name = qualname.rpartition(".")[2].lower()
    if name.startswith("test"):  # a test case (``test_multilabel_bce_loss``), never compiled
        return frozenset()
    roles = set()
    if any(word in name for word in _LOSS_NAMES):
        roles.add("loss")
    # ``asymmetric_mse``, ``symmetric_focal_loss``: "metric" inside another word.
    unmeasured = _NOT_METRIC.sub("", name)
    if any(word in unmeasured for word in _METRIC_WORDS):
        roles.add("metric")
    return frozenset(roles)


def named_like_loss(qualname: str) -> bool:
    """Whether a function's name calls it a loss (``loss``, ``barlow_loss``, ``nll_weib``)."""
    return "loss" in _named_roles(qualname)


_NOT_METRIC: Final = re.compile(r"(?:a?sym|geo|iso)metric")


_LOSS_MODULES: Final = frozenset({"losses", "loss"})
# A string literal on one line (``model.load_weights("model.h5")`` names no model).
_QUOTED: Final = re.compile(r"(['\"]).*?\1")
# What reading a model does not train it with its compiled loss (see _trained_by_callers).
_IDLE_USES: Final = (
    r"(?:predict\w*|save\w*|load_weights|summary|layers|get_layer|input\w*|output\w*"
    r"|trainable|count_params|get_weights|set_weights|to_json)"
)
# Packages whose names a project does not define (a vendored copy of one is a module of the
# project by that root, and is looked up as such).
_LIBRARY_ROOTS: Final = names.KERAS_PACKAGES | frozenset(
    {"numpy", "scipy", "sklearn", "torch", "jax", "tensorflow_addons", "tensorflow_probability"}
)
_OTHER_ROOTS: Final = frozenset({"torch", "jax", "flax"})
_TENSOR_ROOTS: Final = _OTHER_ROOTS | {"tensorflow", "numpy"}


def _crossentropy_named(module: ModuleIndex, qualname: str) -> frozenset[str]:
    """A ``(y_true, y_pred)`` function named for the crossentropy it computes
    (``BinaryCrossEntropy``, ``weighted_binary_crossentropy``) in a module that uses Keras, or
    that imports no tensor library at all (segmentation_models' functional module, whose
    backend is handed in): a loss by its name. In a TensorFlow or PyTorch module without Keras
    it is the graph's own helper (a TF 1 model's stop-token crossentropy, Edward's criticism),
    whose caller wants the number it returns."""
    name = qualname.rpartition(".")[2].lower()
    if name.startswith("test") or not any(w in name for w in _CROSSENTROPY_WORDS):
        return frozenset()
    targets = list(module.imports.values())
    keras = any(
        names.is_keras(names.canonical(t)) or t.split(".")[0] == "tf_keras" for t in targets
    )
    if keras or not any(t.split(".")[0] in _TENSOR_ROOTS for t in targets):
        return frozenset({"loss"})
    return frozenset()


def _metrics_module_roles(module: ModuleIndex) -> frozenset[str]:
    """A ``(y_true, y_pred)`` function named neither like a loss nor like a metric, in a module
    named for metrics (``metrics.py``, ``performance_metrics.py``): a metric, evaluated and
    never differentiated (a hyperspectral project's RMSE and spectral-angle functions, which
    its compile takes from a dict of metrics by model name)."""
    return (
        frozenset({"metric"})
        if "metric" in module.module.rpartition(".")[2].lower()
        else frozenset()
    )


def library_roles(module: ModuleIndex, qualname: str) -> frozenset[str]:
    """A library loss: a public ``(y_true, y_pred)`` function, named neither like a loss nor
    like a coefficient or score, in a Keras/TensorFlow package's module named ``losses``
    (``dice``, ``tversky`` in ``keras_unet_collection/losses.py``): exports meant for compile."""
    name = qualname.rpartition(".")[2]
    package, _, last = module.module.rpartition(".")
    if name.startswith("_") or not package or last not in _LOSS_MODULES:
        return frozenset()  # a script's own losses.py holds helpers as much as losses
    # ``dice_coef``, ``iou_box_coef`` name the coefficient (a metric); ``iou_seg`` names the
    # quantity a loss module's function turns into a loss (1 - IoU), as ``dice`` does.
    words = [w for w in _METRIC_WORDS if w != "iou"]
    if "loss" in name.lower() or any(w in name.lower() for w in words):
        return frozenset()
    roots = {full.split(".")[0] for full in module.imports.values()}
    if not roots & names.KERAS_PACKAGES or roots & _OTHER_ROOTS:
        return frozenset()
    return frozenset({"loss"})


def exported_loss_class(module: ModuleIndex, definition: LossDef) -> bool:
    """A public ``keras.losses.Loss`` subclass that a package hands to Keras users: registered
    for saving (``@register_keras_serializable``, as the index records it), or in a ``losses``
    package or module of one (``chambers/losses/metric_learning.py``). Keras's
    ``Loss.__call__`` weighs and reduces what its ``call`` returns, in ``compile`` or in a
    custom step that passes ``sample_weight``, so a batch already reduced there is the defect,
    whoever calls it."""
    if definition.kind != "loss_class" or names.defined_name(definition.qualname).startswith("_"):
        return False
    if any(u.kind == "register" and u.name == definition.qualname for u in module.api_uses):
        return True
    parts = module.module.split(".")
    return len(parts) > 1 and any(part in _LOSS_MODULES for part in parts)


def parameter_default(
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, name: str
) -> ast.expr | None:
    """The default value of parameter ``name``, None where it has none."""
    defaults: dict[str, ast.expr] = {}
    if node.args.defaults:
        positional = [*node.args.posonlyargs, *node.args.args][-len(node.args.defaults) :]
        defaults = {a.arg: v for a, v in zip(positional, node.args.defaults, strict=True)}
    for arg, value in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True):
        if value is not None:
            defaults[arg.arg] = value
    return defaults.get(name)


def _is_method(qualname: str, classes: dict[str, tuple[ModuleIndex, ClassDef]]) -> bool:
    return qualname.rpartition(".")[0] in classes


def _referenced(value: Value | None) -> Iterator[tuple[str, Call | None]]:
    """Names of the project objects a compile argument uses: ``loss=focal(2.0)`` uses ``focal``;
    with the instance a bound method (``loss=my_loss.loss_function``) is bound to."""
    if value is None:
        return
    for leaf in iter_leaves(value):
        if isinstance(leaf, Unknown) and leaf.candidates:  # what some branch binds
            for candidate in leaf.candidates:
                yield from _referenced(candidate)
        elif isinstance(leaf, Ref) and not names.is_keras(leaf.target):
            yield leaf.target, leaf.instance
        elif partial_target(leaf) is not None:
            # ``loss=partial(gradient_penalty_loss, averaged_samples=x)``: Keras calls it.
            yield str(partial_target(leaf)), None
        elif isinstance(leaf, Call) and leaf.func and not names.is_keras(leaf.func):
            yield leaf.func, None


def partial_target(value: Value) -> str | None:
    """The project function a ``functools.partial(f, ...)`` value wraps, else None."""
    if not isinstance(value, Call) or value.func not in ("functools.partial", "partial"):
        return None
    if not value.args or not isinstance(value.args[0], Ref):
        return None
    target = value.args[0].target
    return None if names.is_keras(target) else target


def _called(value: Value | None, func: str) -> bool:
    """Whether a compile argument calls ``func`` (rather than passing it)."""
    return value is not None and any(
        isinstance(leaf, Call) and leaf.func == func for leaf in iter_leaves(value)
    )


def _bind_params(
    model: ModelFact,
    args: tuple[Value, ...],
    kwargs: tuple[tuple[str, Value], ...],
    size: Callable[[Value], int | None],
) -> ModelFact:
    """Substitute a factory call's integer arguments for the parameters used as units
    (``size``: the length a ``len(...)`` argument is known to have, else None)."""
    given = dict(kwargs)

    def units(value: int | Param | ImportedUnits | None) -> int | Param | ImportedUnits | None:
        if not isinstance(value, Param):
            return value
        argument = given.get(value.name)
        if argument is None and 0 <= value.index < len(args):
            argument = args[value.index]
        if argument is None:
            return value.default
        if isinstance(argument, Const) and type(argument.value) is int:
            return argument.value
        return size(argument)

    outputs = tuple(dataclasses.replace(o, units=units(o.units)) for o in model.outputs)
    return dataclasses.replace(model, outputs=outputs)


def output_units(output: Output) -> int | None:
    """Units as a number; a factory parameter that was never bound counts as its default."""
    if isinstance(output.units, Param):
        return output.units.default
    if isinstance(output.units, ImportedUnits):
        return None  # not resolved by the project (see ProjectIndex.resolve_model)
    return output.units
