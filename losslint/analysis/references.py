"""NumPy reference implementations: loss-shaped functions that are not loss code.

Tests keep a NumPy version of a loss next to the Keras one to check it
(``numpy_binary_focal_loss(y_true, y_pred, gamma)``). It has the name and the parameters of a
loss, but nobody compiles or wraps it and it turns its inputs into arrays first
(``y_true = np.asarray(y_true)``): it runs on NumPy arrays, never in a traced graph. Neither the
NumPy rule (LL404) nor the numerics rules (LL3xx) judge it as loss code.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import sys
import weakref
from typing import Final

from losslint.analysis import flags, ops
from losslint.codec import chunk_number, lines_with, mentioning_statements
from losslint.index import names
from losslint.index.facts import LossDef, ModuleIndex
from losslint.index.nodes import subtree
from losslint.index.positions import flat_statements, parameter_names
from losslint.index.project import ProjectIndex

_TO_NUMPY: Final = frozenset({"numpy.asarray", "numpy.array", "numpy.asanyarray"})
_NUMPY: Final = frozenset({"numpy", "numpy.linalg", "math", "scipy.special", "sklearn.metrics"})
# NumPy's constructors of an array to fill in (see _fills_array).
_NUMPY_ARRAYS: Final = frozenset(
    f"numpy.{name}"
    for name in ("zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like")
)


def pure_numpy(node: ast.FunctionDef | ast.AsyncFunctionDef, imports: dict[str, str]) -> bool:
    """Only NumPy math in the body, and some: an evaluation helper run on arrays after
    ``predict`` (a metric-named ``auc(y_true, y_pred)``), not a Keras metric."""
    scanned = _scan_calls(node, imports)
    return scanned is not None and scanned[0]


def _scan_calls(
    node: ast.AST, imports: dict[str, str]
) -> tuple[bool, list[tuple[str | None, ast.Call]]] | None:
    """Whether ``node`` calls NumPy-land, and its other calls with their qualified names (None
    where a name is not imported); None where it calls tensor math or ``.numpy()``."""
    numpy = False
    others: list[tuple[str | None, ast.Call]] = []
    for call in subtree(node):
        if not isinstance(call, ast.Call):
            continue
        target = names.qualify(call.func, imports)
        if target is None:
            if isinstance(call.func, ast.Attribute) and call.func.attr == "numpy":
                return None  # .numpy(): it expects tensors
            others.append((None, call))
            continue
        module = target.rpartition(".")[0]
        if module in _NUMPY:
            numpy = True
        elif module in names.TENSOR_MATH_MODULES:
            return None
        else:
            others.append((target, call))
    return numpy, others


def _test_reference(name: str, path: str) -> bool:
    """``weighted_kappa_loss_np`` in ``tests/kappa_loss_test.py``: named as the NumPy version
    of a loss, in a test, which compares the real loss with it. (Out of tests, ``np_mse_loss``
    is as likely the classic defect: a loss written in NumPy.)"""
    return in_tests(path) and _named_numpy(name)


def _named_numpy(name: str) -> bool:
    """Named as a NumPy version (``numpy_normalised_quantile_loss``, ``kappa_loss_np``)."""
    return bool({"np", "numpy"} & set(name.lower().split("_")))


def in_tests(path: str) -> bool:
    """A file of a test suite: under ``test``/``tests``, or named ``test_*.py``/``*_test.py``."""
    parts = path.replace(os.sep, "/").split("/")
    stem = parts[-1].removesuffix(".py")
    return any(p in ("test", "tests") for p in parts[:-1]) or (
        stem.startswith("test_") or stem.endswith("_test")
    )


# Per project and ``pure``: several rules and both analyses ask.
_FOUND: Final[weakref.WeakKeyDictionary[ProjectIndex, dict[bool, frozenset[str]]]] = (
    weakref.WeakKeyDictionary()
)


def numpy_references(project: ProjectIndex, pure: bool = False) -> frozenset[str]:
    known = _FOUND.get(project)
    if known is None:  # one walk over the definitions answers both questions
        known = _FOUND[project] = dict(zip((False, True), _numpy_references(project), strict=True))
    return known[pure]


def _numpy_references(project: ProjectIndex) -> tuple[frozenset[str], frozenset[str]]:
    """Qualified names of the definitions that are NumPy reference implementations: not
    compiled or wrapped, converting an input with ``np.asarray`` first (the first set), or, in
    the second set too, written in NumPy alone unless named as a loss (the classic NumPy-in-loss
    defect) and not as its NumPy version in a test (``kappa_loss_np``) nor called by the
    project itself (a callback's ``log_loss(y_true, probabilities)`` on arrays). The second is
    for LL404 and the definition rules; the value-range rules (LL3xx) leave out only the first:
    NumPy code is NumPy either way, and its log(0) is still -inf where a user compiles it."""
    converting: set[str] = set()
    written: set[str] = set()
    modules = {m.path: m for m in project.modules}
    for definition in project.definitions():
        if definition.used or definition.kind not in ("function", "closure", "method"):
            continue
        node = definition.node
        module = modules.get(definition.path)
        if module is None or isinstance(node, ast.ClassDef):
            continue
        name = names.defined_name(definition.qualname)
        if frameworkless(module) and "loss" not in name:
            # Nothing compiles it, and its module imports no tensor framework at all (NumPy,
            # SciPy and matplotlib: chrombpnet's ``counts_metrics(labels, preds, outf, title)``
            # plotting a scatter): it runs on arrays, and so do the helpers it calls. (A loss
            # written in NumPy alone stays the classic defect, below.)
            written.add(definition.qualname)
        elif pure_numpy(node, module.imports) and (
            "loss" not in name
            or _test_reference(name, definition.path)
            or (_named_numpy(name) and project.needs_more_arguments(definition.qualname))
            or called_by_project(project, module, definition.qualname)
        ):
            written.add(definition.qualname)
        if _fills_array(node, module.imports) or _converts_first(node, module.imports):
            converting.add(definition.qualname)
    pure = converting | written
    _add_callers(project, modules, pure)
    return frozenset(converting), frozenset(pure)


def _converts_first(node: ast.FunctionDef | ast.AsyncFunctionDef, imports: dict[str, str]) -> bool:
    """Whether a statement of the body's top level converts a parameter to an array
    (``y_true = np.asarray(y_true)``)."""
    params = {a.arg for a in (*node.args.posonlyargs, *node.args.args)}
    for stmt in node.body:
        if not (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)):
            continue
        call = stmt.value
        if (
            names.qualify(call.func, imports) in _TO_NUMPY
            and call.args
            and isinstance(call.args[0], ast.Name)
            and call.args[0].id in params
        ):
            return True
    return False


def _fills_array(node: ast.FunctionDef | ast.AsyncFunctionDef, imports: dict[str, str]) -> bool:
    """Whether the function makes a NumPy array and writes into its elements (``dist =
    np.zeros((n, k))``, then ``dist[i, :] = ...`` in a loop over the samples): an evaluation
    on arrays (deephar's ``pck_torso(y_true, y_pred)``), as no tensor takes item assignment."""
    arrays: set[str] = set()
    for stmt in subtree(node):
        if (
            isinstance(stmt, ast.Assign)
            and isinstance(stmt.value, ast.Call)
            and names.qualify(stmt.value.func, imports) in _NUMPY_ARRAYS
        ):
            arrays.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
    if not arrays:
        return False
    return any(
        isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Name)
        and target.value.id in arrays
        for stmt in subtree(node)
        if isinstance(stmt, (ast.Assign, ast.AugAssign))
        for target in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
    )


def _add_callers(project: ProjectIndex, modules: dict[str, ModuleIndex], found: set[str]) -> None:
    """Add to ``found`` the evaluation functions that only call the NumPy helpers in it (a
    notebook's ``compute_regress_metrics(target, prediction)`` over its ``get_eac`` and
    ``get_nde``), or NumPy itself, until none is left to add."""
    calls: dict[str, tuple[bool, frozenset[str]]] = {}
    for definition in project.definitions():
        module = modules.get(definition.path)
        if (
            definition.used
            or definition.kind != "function"
            or definition.qualname in found
            or "loss" in names.defined_name(definition.qualname)
            or isinstance(definition.node, ast.ClassDef)
            or module is None
        ):
            continue
        made = _calls_made(project, module, definition.node)
        if made is not None:
            calls[definition.qualname] = made
    added = True
    while added:
        added = False
        for qualname, (numpy, helpers) in calls.items():
            if qualname not in found and (numpy or helpers) and helpers <= found:
                found.add(qualname)
                added = True


def _calls_made(
    project: ProjectIndex, module: ModuleIndex, node: ast.AST
) -> tuple[bool, frozenset[str]] | None:
    """Whether ``node`` calls NumPy-land, and the project functions and classes it calls (as
    written); None where it calls tensor math or ``.numpy()``."""
    scanned = _scan_calls(node, module.imports)
    if scanned is None:
        return None
    numpy, others = scanned
    called: set[str] = set()
    for target, call in others:
        if target is None:
            if isinstance(call.func, ast.Name):
                local = f"{module.module}.{call.func.id}"
                if local in project.functions or local in project.classes:
                    called.add(local)
        elif project._lookup(target) is not None:
            called.add(target)
    return numpy, frozenset(called)


_OTHER_FRAMEWORKS: Final = frozenset({"torch", "jax", "flax"})


def other_framework(module: ModuleIndex, definition: LossDef) -> bool:
    """A module that imports PyTorch or JAX and neither Keras nor TensorFlow, or a definition
    whose own calls are all PyTorch's or JAX's where its module imports both (DeepChem's
    ``_create_pytorch_loss`` closures beside ``_compute_tf_loss``): named like Keras losses,
    they serve another framework's training loop."""
    roots = _import_roots(module)
    if bool(roots & _OTHER_FRAMEWORKS) and not roots & names.KERAS_PACKAGES:
        return True
    if not roots & _OTHER_FRAMEWORKS:
        return False
    called = {
        target.split(".")[0]
        for node in subtree(definition.node)
        if isinstance(node, ast.Call)
        and (target := names.qualify(node.func, module.imports)) is not None
    }
    return bool(called & _OTHER_FRAMEWORKS) and not called & names.KERAS_PACKAGES


def array_method(module: ModuleIndex, definition: LossDef) -> bool:
    """A method of a module that imports NumPy and no tensor library: a model written from
    scratch on arrays (a gradient-boosting model's ``SquareLoss.loss(self, y, y_pred)``). A
    module-level function there may still be a loss written in NumPy for Keras (the classic
    defect); a method of the module's own classes is the module's array code."""
    if definition.kind != "method":
        return False
    return "numpy" in _import_roots(module) and frameworkless(module)


def _import_roots(module: ModuleIndex) -> set[str]:
    return {full.split(".")[0] for full in module.imports.values()}


def frameworkless(module: ModuleIndex) -> bool:
    """Whether ``module`` imports no tensor framework (an injected Keras backend counts)."""
    return not _import_roots(module) & (_OTHER_FRAMEWORKS | names.KERAS_PACKAGES)


def called_by_project(project: ProjectIndex, module: ModuleIndex, qualname: str) -> bool:
    """Whether the code of the project calls the function by its name (in its own module, or
    in one that imports it), not only defines it: then the project is its caller, not Keras.
    A closure is called by its factory's name: ``performance(0.05)(model.predict(x), y)``."""
    factory = qualname.rpartition(".")[0]
    if factory in project.functions and _called(project, module, factory, result=True):
        return True
    return _called(project, module, qualname)


def _called(
    project: ProjectIndex, module: ModuleIndex, qualname: str, result: bool = False
) -> bool:
    """Whether a line of the project calls ``qualname`` by its name (``result``: and calls
    what that call returns, on the same line)."""
    name = names.defined_name(qualname)
    after = r"\s*\(.*\)\s*\(" if result else r"\s*\("
    call = re.compile(rf"(?<![\w]){re.escape(name)}{after}")
    definition = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(")
    modules = [module, *(m for m in project.modules if qualname in m.imports.values())]
    if any(
        call.search(code) and not definition.match(code)
        for m in modules
        for _, line in lines_with(m, name)
        for code in (line.partition("#")[0],)  # not a call commented out
    ):
        return True
    if result:
        return False
    # Called under another name it is bound to: ``net, loss = linreg, squared_loss``, then
    # ``loss(net(X, w, b), y)`` (a d2l training loop).
    for m in modules:
        for alias in _aliases(m, name):
            by_alias = re.compile(rf"(?<![\w.]){re.escape(alias)}\s*\(")
            if any(
                by_alias.search(line.partition("#")[0]) and not _DEFINES.match(line)
                for _, line in lines_with(m, alias)
            ):
                return True
    return False


_DEFINES: Final = re.compile(r"^\s*(?:async\s+)?def\s")


def _aliases(module: ModuleIndex, name: str) -> set[str]:
    """The names an assignment binds to ``name`` as it is (``loss = squared_loss``, or the
    matching element of ``net, loss = linreg, squared_loss``)."""
    found: set[str] = set()
    tree = ast.Module(body=mentioning_statements(module, name), type_ignores=[])
    for statement in subtree(tree):
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
            continue
        target, value = statement.targets[0], statement.value
        pairs: list[tuple[ast.expr, ast.expr]] = [(target, value)]
        if (
            isinstance(target, (ast.Tuple, ast.List))
            and isinstance(value, (ast.Tuple, ast.List))
            and len(target.elts) == len(value.elts)
        ):
            pairs = list(zip(target.elts, value.elts, strict=True))
        found.update(
            t.id
            for t, v in pairs
            if isinstance(t, ast.Name) and isinstance(v, ast.Name) and v.id == name != t.id
        )
    return found


def only_called(project: ProjectIndex, definition: LossDef) -> bool:
    """Whether the project only ever calls ``definition`` by its name (see
    :meth:`_ProjectCalls.only_called`)."""
    return _project_calls(project).only_called(definition)


def evaluated_by_project(project: ProjectIndex, definition: LossDef) -> bool:
    """Whether a function only named like a metric, which no compile uses, is called by the
    project's own code outside any loss or metric (``print(accuracy(test_gt,
    test_logits))`` after ``predict``): an evaluation the project runs on what it passes, not
    a metric Keras averages batch by batch. A helper that a metric calls (``f1`` calling
    ``precision``), a call in the top-level statement (function, class) that holds a loss or
    metric, is not one."""
    return _project_calls(project).evaluated(definition)


def loaded_only(project: ProjectIndex, definition: LossDef, predicted: bool = False) -> bool:
    """Whether the project names ``definition`` only to load a saved model (a value of the
    ``custom_objects`` handed to ``load_model``, or of ``custom_object_scope``), in modules
    that neither fit nor evaluate a model: an inference notebook that copies ``f1`` to load
    the trained model and only predicts with it. Keras never computes the metric there.
    ``predicted``: and each of those modules predicts (a handler that only loads the model may
    hand it to another module's ``fit``, with a loss its configuration names)."""
    calls = _project_calls(project)
    if not calls.loaded_only(definition):
        return False
    return not predicted or all(
        lines_with(home, ".predict")
        for home in calls.naming(definition)
        if _loads_custom_objects(home)
    )


def unreferenced(project: ProjectIndex, definition: LossDef) -> bool:
    """Whether ``definition`` is dead code of a script: a loss or metric that a script (a
    notebook, or a module that trains a model when it is run and that no module of the project
    imports: see ``_ProjectCalls._script``) defines and never names again (``EuclidianLoss``
    written above a compile with ``euclidean_distance_loss``, a notebook's ``dice_loss`` left
    over after the compile moved to ``"binary_crossentropy"``). Nothing runs it, so no finding
    in it is worth a reader's minute. A module that is imported, or that trains nothing (a loss
    collection), is a library: its losses are for the callers it has outside the project."""
    return _project_calls(project).unreferenced(definition)


def _loads_custom_objects(module: ModuleIndex) -> bool:
    """Whether ``module`` loads a model with the custom objects it needs (``load_model(...,
    custom_objects=...)``, a ``custom_object_scope``) or uncompiled."""
    return any(u.kind == "load" and u.name in ("handled", "uncompiled") for u in module.api_uses)


def _project_calls(project: ProjectIndex) -> _ProjectCalls:
    calls = _CALLS.get(project)
    if calls is None:
        calls = _CALLS[project] = _ProjectCalls(project)
    return calls


class _ProjectCalls:
    """What :func:`evaluated_by_project` reads of one project, each part built once."""

    def __init__(self, project: ProjectIndex) -> None:
        # Weakly: the table is kept by the project (a key of _CALLS), and a strong reference
        # back would keep every project checked in this process, and all its facts, alive.
        self._project = weakref.ref(project)
        self.answers: dict[str, bool] = {}
        self.read: dict[str, list[tuple[bool, int]]] = {}  # see references
        self.dead: dict[str, bool] = {}  # see unreferenced

    @property
    def project(self) -> ProjectIndex:
        project = self._project()
        assert project is not None, "used only while its project is"
        return project

    def evaluated(self, definition: LossDef) -> bool:
        answer = self.answers.get(definition.qualname)
        if answer is None:
            self.answers[definition.qualname] = False  # (while it is asked: a cycle is not one)
            answer = self.answers[definition.qualname] = self._evaluated(definition)
        return answer

    def _helps(self, home: ModuleIndex, chunk: int) -> bool:
        """Whether top-level statement ``chunk`` of ``home`` holds a loss or metric that is not
        itself only evaluated by the project: a call there may compute what Keras averages.
        (``def metrics(y, y_pred): return [jaccard(y, y_pred), dice(y, y_pred)]``, which an
        evaluation script calls on whole volumes, evaluates its callees as it is evaluated.)"""
        held = self.held.get(home.path, {}).get(chunk)
        return held is not None and not all(self.evaluated(d) for d in held)

    def naming(self, definition: LossDef) -> list[ModuleIndex]:
        """Every module that may name ``definition``: its own, and those importing it or its
        module (``metrics.append(jaccard_index)``, ``m.jaccard_index(mask, p)``)."""
        module = self.project.module_named(definition.module)
        if module is None:
            return []
        named = (
            *self.importing.get(definition.qualname, ()),
            *self.importing.get(definition.module, ()),
        )
        return [module, *(m for m in named if m is not module)]

    def only_called(self, definition: LossDef) -> bool:
        """Whether the project only ever calls ``definition`` by its name: never hands it on
        as a value (``metrics.append(dice)``) nor spells it in a string (a history key)."""
        name = names.defined_name(definition.qualname)
        quoted = (f"'{name}'", f'"{name}"')
        for home in self.naming(definition):
            if any(q in line for _, line in lines_with(home, name) for q in quoted):
                return False
            if not all(called for called, _ in self.references(home, name)):
                return False
        return True

    def loaded_only(self, definition: LossDef) -> bool:
        if definition.used:
            return False
        homes = self.naming(definition)
        # Only where some module loads a model with its custom objects (a fact of the index),
        # and then the name is searched for its statements' syntax alone: a comment inside the
        # function changes nothing found here (the pipeline's early cutoff).
        if not any(_loads_custom_objects(home) for home in homes):
            return False
        name = names.defined_name(definition.qualname)
        found = False
        for home in homes:
            if not lines_with(home, name, syntax=True):
                continue
            statements = mentioning_statements(home, name, syntax=True)
            tree = ast.Module(body=statements, type_ignores=[])
            # And the loads themselves, which may name only a dict built before them
            # (``objects = {"f1": f1}``, then ``load_model(path, custom_objects=objects)``).
            loads = ast.Module(
                body=mentioning_statements(home, "custom_object", syntax=True)
                + mentioning_statements(home, "CustomObjectScope", syntax=True),
                type_ignores=[],
            )
            values = [
                v
                for n in (*subtree(tree), *subtree(loads))
                if isinstance(n, ast.Call)
                for v in _custom_objects(n)
            ]
            # ``custom_obj = {"f1": f1}`` then ``load_model(path, custom_objects=custom_obj)``
            # (or ``{**custom_obj, "iou": iou}``).
            held = {n.id for v in values for n in subtree(v) if isinstance(n, ast.Name)}
            values += [
                n.value
                for n in subtree(tree)
                if isinstance(n, ast.Assign)
                and len(n.targets) == 1
                and isinstance(n.targets[0], ast.Name)
                and n.targets[0].id in held
            ]
            given = {id(inner) for value in values for inner in subtree(value)}
            # A function with a local of that name (``precision = tp / (tp + fp)`` in ``f1``)
            # reads its own by that name (not ``self.precision``, the method).
            own = {
                id(inner)
                for function in subtree(tree)
                if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
                and (name in parameter_names(function) or name in flags.rebound(function))
                for inner in subtree(function)
                if isinstance(inner, ast.Name)
            }
            for node in subtree(tree):
                read = (
                    node.id
                    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
                    else node.attr
                    if isinstance(node, ast.Attribute)
                    else None
                )
                if read != name or (id(node) in own and id(node) not in given):
                    continue
                if id(node) not in given:
                    return False
                found = True
            if found and any(
                _TRAINS.search(line) for word in _TRAINING for _, line in lines_with(home, word)
            ):
                return False  # the loaded model may be evaluated (or trained on)
        return found

    def unreferenced(self, definition: LossDef) -> bool:
        answer = self.dead.get(definition.qualname)
        if answer is None:
            answer = self.dead[definition.qualname] = self._unreferenced(definition)
        return answer

    def _unreferenced(self, definition: LossDef) -> bool:
        if definition.used or definition.kind not in _NAMED_KINDS:
            return False
        project = self.project
        if definition.qualname in project.getters or in_tests(definition.path):
            return False
        module = project.module_named(definition.module)
        if module is None or not self._script(module):
            return False
        # A closure is reached through its factory (``loss=focal(2.0)``).
        named = definition.factory or definition.qualname
        if named in project.functions:
            node: ast.AST = project.functions[named][1].node
        else:
            node = definition.node
        if getattr(node, "decorator_list", None):
            return False  # registered (a saved model may name it), or wrapped
        name = names.defined_name(named)
        own = chunk_number(module.chunks, definition.span.line)
        # Named by a string (a history key, a lookup by configuration), or looked up by a
        # name computed at run time (``globals()[args.loss]``): not dead.
        quoted = (f"'{name}'", f'"{name}"')
        if any(
            chunk_number(module.chunks, number) != own
            and any(q in code for q in (*quoted, *_DYNAMIC))
            for word in (name, *_DYNAMIC)
            for number, line in lines_with(module, word)
            for code in (line.partition("#")[0],)  # (a comment runs nothing)
        ):
            return False
        if any(
            chunk_number(module.chunks, line) != own for _, line in self.references(module, name)
        ):
            return False
        # A notebook may run the script (``%run train.py``) and use what it defines; not one
        # that defines the name itself (a copy of the notebook, with its own ``dice_loss``).
        return not any(
            lines_with(other, name)
            for other in project.modules
            if other is not module and other.path.endswith(".ipynb") and name not in other.top_level
        )

    def _script(self, module: ModuleIndex) -> bool:
        """A notebook that compiles, trains or loads a model, or a module that no module of the
        project imports and that trains a model when it is run: at its top level, or under
        ``if __name__ == "__main__":``, as does one that loads a saved model there (a
        prediction script). (A notebook that only defines losses is a collection of them; a
        module that only defines losses and compiles one at its top level, or trains one in a
        function nobody here calls, may be a library demonstrating itself.)"""
        # It runs a model: compiles, trains or loads one (a prediction script).
        runs = bool(
            module.compiles or module.trainings or any(u.kind == "load" for u in module.api_uses)
        )
        if module.path.endswith(".ipynb"):
            # Not one that only defines a Keras or TensorFlow loss (a snippet to copy, a
            # library cell); one that defines NumPy functions is a lesson that runs them, and
            # a cell that does not parse may be where the model is compiled.
            return runs or bool(module.unparsed) or not _import_roots(module) & names.KERAS_PACKAGES
        if module.path.endswith("__init__.py") or module.module in self.imported:
            return False
        if any(scope == module.module for scope, _, _ in module.trainings):
            return True
        return runs and bool(lines_with(module, "__main__"))

    @functools.cached_property
    def imported(self) -> frozenset[str]:
        """Every module the project's code imports, or imports a name of (with the packages
        above it)."""
        found: set[str] = set()
        for target in self.importing:
            parts = target.split(".")
            found.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
        return frozenset(found)

    def _evaluated(self, definition: LossDef) -> bool:
        if definition.used or definition.roles != frozenset({"metric"}):
            return False
        modules = self.naming(definition)
        if not modules:
            return False
        name = names.defined_name(definition.qualname)
        # A call outside every loss and metric, as the text shows it, before any parse.
        call = re.compile(rf"\b{re.escape(name)}\s*\(")
        if not any(
            not self._helps(home, chunk_number(home.chunks, number))
            for home in modules
            for number, line in lines_with(home, name)
            if call.search(line)
        ):
            return False
        found = False
        for home in modules:
            if not lines_with(home, name):
                continue
            for called, line in self.references(home, name):
                if not called:
                    return False  # passed as a value (``metrics.append(jaccard_index)``)
                if self._helps(home, chunk_number(home.chunks, line)):
                    return False  # a loss or metric may call it: a helper of theirs
                found = True
        return found

    @functools.cached_property
    def importing(self) -> dict[str, list[ModuleIndex]]:
        """The modules importing each name or module, by what they import (a module imported
        with ``*`` gives every name of it)."""
        project = self.project
        found: dict[str, list[ModuleIndex]] = {}
        for module in project.modules:
            for target in {*module.imports.values(), *module.stars}:
                found.setdefault(target, []).append(module)
                root = target.partition(".")[0]
                if (
                    project.module_named(root) is not None  # a package of the project's
                    or root in sys.stdlib_module_names
                    or project._library_name(target)  # ``numpy``: not ``...ops.numpy``
                ):
                    continue
                # Also as the project's own definition or module it denotes, where a folder
                # above it is no package (``from utils.metrics import dice``, ``utils``
                # without ``__init__``: the module is ``metrics``).
                home = project._module(target)
                for key in {project._lookup(target), home.module if home is not None else None}:
                    if key is not None and key != target:
                        found.setdefault(key, []).append(module)
        return found

    @functools.cached_property
    def held(self) -> dict[str, dict[int, list[LossDef]]]:
        """The loss and metric definitions of each chunk (top-level statement: see
        ``ModuleIndex.chunks``) that holds one, by path."""
        found: dict[str, dict[int, list[LossDef]]] = {}
        starts = {m.path: m.chunks for m in self.project.modules}
        for definition in self.project.definitions():
            chunks = starts.get(definition.path)
            if chunks is not None:
                chunk = chunk_number(chunks, definition.span.line)
                found.setdefault(definition.path, {}).setdefault(chunk, []).append(definition)
        return found

    def references(self, module: ModuleIndex, name: str) -> list[tuple[bool, int]]:
        """Each reading of ``name`` in the code of ``module`` (``f`` and ``m.f`` alike), with
        whether it is called and its line: a walk of the top-level statements whose lines
        mention it, not of the module."""
        key = f"{module.path}:{name}"
        found = self.read.get(key)
        if found is None:
            found = self.read[key] = []
            statements = mentioning_statements(module, name)
            called: set[int] = set()
            for node in subtree(ast.Module(body=statements, type_ignores=[])):
                # breadth first: a call before what it calls
                if isinstance(node, ast.Call):
                    called.add(id(node.func))
                    continue
                if isinstance(node, ast.Name):
                    read = node.id
                elif isinstance(node, ast.Attribute):
                    read = node.attr
                else:
                    continue
                if read == name:
                    found.append((id(node) in called, node.lineno))
        return found


# The definitions whose name is their own (a method is named through its class).
_NAMED_KINDS: Final = frozenset({"function", "closure", "loss_class", "metric_class"})
# What looks a function up by a name computed at run time.
_DYNAMIC: Final = ("globals()", "locals()", "eval(", "getattr(")

_CALLS: Final[weakref.WeakKeyDictionary[ProjectIndex, _ProjectCalls]] = weakref.WeakKeyDictionary()

# What computes a loaded model's metrics: training it, or evaluating it.
_TRAINING: Final = (".fit", ".evaluate", "_on_batch")
_TRAINS: Final = re.compile(
    r"\.(?:fit|fit_generator|evaluate|evaluate_generator|train_on_batch|test_on_batch)\s*\("
)


def _custom_objects(call: ast.Call) -> list[ast.expr]:
    """What ``call`` registers for loading: its ``custom_objects=`` (``load_model``,
    ``model_from_json``), or the arguments of ``custom_object_scope``/``CustomObjectScope``."""
    if names.last_name(call.func) in ("custom_object_scope", "CustomObjectScope"):
        return [*call.args, *(k.value for k in call.keywords)]
    return [k.value for k in call.keywords if k.arg == "custom_objects"]


# Calls whose result carries no gradient from their input: a comparison or predicate, a
# rounding, an index, a sign, a count (from the op catalogue).
_THRESHOLDS: Final = (
    ops.names(range_="boolean")
    | ops.names(range_="round")
    | ops.names(batch="argreduce")
    | {"sign", "count_nonzero"}
)


def only_thresholded(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the prediction (the second tensor parameter) reaches the returned value only
    through thresholds (``K.greater(y_pred, t)``, ``y_pred > t``, ``K.round``, ``argmax``):
    a count score (hits / (hits + misses)), which has no gradient, so no loss can train on it,
    whatever its name. Names are followed through assignments; a helper given the prediction
    counts as carrying it (the answer is then False)."""
    params = [a.arg for a in (*node.args.posonlyargs, *node.args.args) if a.arg not in ("self",)]
    if len(params) < 2:
        return False
    return _reaches_only_thresholded(node, {params[1]})


def detached_result(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether none of the function's parameters reaches the value it returns but through
    thresholds (comparisons, ``argmax``, ``round``, Python branches choosing constants): a
    layer's ``_detect_distribution(self, x)`` that computes ``std(x)`` and skewness only to
    pick a distribution's index. No gradient flows back through such a helper, so a root or a
    norm at 0 inside it cannot give a NaN gradient."""
    params = [
        a.arg
        for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)
        if a.arg not in ("self", "cls")
    ]
    return bool(params) and _reaches_only_thresholded(node, set(params))


def _reaches_only_thresholded(
    node: ast.FunctionDef | ast.AsyncFunctionDef, carrying: set[str]
) -> bool:
    """Whether the names of ``carrying`` reach the function's returned value only through
    thresholds, and it returns a value at all (see :func:`only_thresholded`)."""
    carrying = set(carrying)
    returned = False
    for statement in flat_statements(node.body):
        if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            value = statement.value
            if value is not None and _carries(value, carrying):
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                carrying.update(
                    n.id for t in targets for n in subtree(t) if isinstance(n, ast.Name)
                )
        elif isinstance(statement, (ast.For, ast.AsyncFor)) and _carries(statement.iter, carrying):
            carrying.update(n.id for n in subtree(statement.target) if isinstance(n, ast.Name))
        elif (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Attribute)
            and isinstance(statement.value.func.value, ast.Name)
            and any(_carries(a, carrying) for a in statement.value.args)
        ):
            # ``terms.append(mse(y_true, y_pred))``: the list holds the prediction now.
            carrying.add(statement.value.func.value.id)
        elif isinstance(statement, ast.Return) and statement.value is not None:
            if _carries(statement.value, carrying):
                return False
            returned = True
    return returned


def _carries(expr: ast.AST, carrying: set[str]) -> bool:
    """Whether a name of ``carrying`` reaches ``expr``'s value other than through a threshold."""
    pending = [expr]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Name):
            if node.id in carrying:
                return True
            continue
        if isinstance(node, ast.Compare):
            continue
        if isinstance(node, ast.Call) and names.last_name(node.func) in _THRESHOLDS:
            continue
        pending.extend(ast.iter_child_nodes(node))
    return False


def returns_numpy(node: ast.AST) -> bool:
    """Whether a function returns values made by ``.numpy()`` (a tensor turned into an array:
    ``return float(mse.numpy())``): it runs eagerly on results, and is neither traced nor
    differentiated."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    return any(
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "numpy"
        and not call.args
        for stmt in names.iter_statements(node.body)
        if isinstance(stmt, ast.Return) and stmt.value is not None
        for call in subtree(stmt.value)
    )
