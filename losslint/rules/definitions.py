"""LL4xx: how a loss or metric is defined: signature, Keras 3 APIs, state, NumPy, config."""

from __future__ import annotations

import ast
import dataclasses
import re
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Final, TypeGuard

from losslint.analysis import ops, rewrites
from losslint.analysis.batch_axis import Effect, derivations
from losslint.analysis.decompose import function_formula, symmetric
from losslint.analysis.references import called_by_project, numpy_references, unreferenced
from losslint.codec import lines_with, plain_statements
from losslint.diagnostic import Applicability, Edit, Fix, Severity, Span
from losslint.index import keras_ids, names
from losslint.index.apis import (
    BACKEND_MODULES,
    SHIM_LOSS_MODULES,
    SHIM_SHORT_NAMES,
    TF1_CASTS,
    TF1_MATH,
    is_keras_source,
    keras_flavour,
)
from losslint.index.facts import (
    ApiUse,
    Call,
    CompileSite,
    FunctionDef,
    ModuleIndex,
    Ref,
    Value,
    iter_leaves,
)
from losslint.index.folding import shortened, unparse
from losslint.index.nodes import subtree
from losslint.index.positions import LambdaDef, flat_statements, node_span, placed_line
from losslint.index.project import (
    PRED_NAMES,
    TRUE_NAMES,
    ProjectIndex,
    ResolvedCompile,
    decorated,
    is_property,
    local_binding,
    loss_signature,
    partial_target,
    truth_name,
)
from losslint.notebook import line_label
from losslint.rules.registry import Finding, Rule, RuleContext

# The public ``keras.backend`` of Keras 3 (keras/api/backend/__init__.py, checked on 3.15.1).
KEPT_BACKEND: Final = frozenset(
    {
        "backend",
        "clear_session",
        "epsilon",
        "floatx",
        "get_uid",
        "image_data_format",
        "is_float_dtype",
        "is_int_dtype",
        "is_keras_tensor",
        "result_type",
        "set_epsilon",
        "set_floatx",
        "set_image_data_format",
        "standardize_dtype",
    }
)
# tf_keras.backend names that even the tf.keras shim of Keras 3 lacks (checked on 3.15.1).
_ABSENT_FROM_SHIM: Final = frozenset(
    {
        "experimental",
        "function",
        "in_test_phase",
        "in_train_phase",
        "learning_phase",
        "learning_phase_scope",
        "local_conv1d",
        "local_conv2d",
        "manual_variable_initialization",
        "normalize_batch_in_training",
        "placeholder",
        "print_tensor",
        "random_binomial",
        "reset_uids",
        "set_learning_phase",
        "get_session",
        "set_session",
    }
)
# What to use instead where it is not a keras.ops function of another name.
_INSTEAD: Final = {
    "switch": "ops.where (ops.switch selects a branch function by index)",
    "int_shape": "x.shape",
    "shape": "ops.shape",
    "ndim": "ops.ndim",
    "variable": "keras.Variable",
    "constant": "ops.convert_to_tensor",
    "cast_to_floatx": "ops.cast(x, keras.config.floatx())",
    "eval": "ops.convert_to_numpy",
    "get_value": "ops.convert_to_numpy (or variable.numpy())",
    "batch_get_value": "ops.convert_to_numpy",
    "set_value": "variable.assign",
    "batch_set_value": "variable.assign",
    "l2_normalize": "ops.normalize(x, axis=..., order=2)",
    "batch_dot": "ops.einsum",
    "dot": "ops.dot / ops.matmul",
    "batch_flatten": "ops.reshape(x, (ops.shape(x)[0], -1))",
    "dropout": "keras.random.dropout",
    "random_uniform": "keras.random.uniform",
    "random_normal": "keras.random.normal",
    "learning_phase": "the training= argument of call()",
    "in_train_phase": "the training= argument of call()",
    "placeholder": "keras.Input",
    "function": "a keras.Model or a plain function",
    "gradients": "the backend's own gradient API (tf.GradientTape, jax.grad)",
    "zeros": "ops.zeros",
    "ones": "ops.ones",
    "eye": "ops.eye",
    "arange": "ops.arange",
    "repeat": "ops.repeat / layers.RepeatVector",
    "in_top_k": "ops.in_top_k(targets, predictions, k) (arguments swapped)",
    "hard_sigmoid": "ops.hard_sigmoid (a different slope: 1/6 instead of 0.2)",
}
_REDUCTION_LIKE: Final = frozenset({"auto", "none", "sum", "sum_over_batch_size"})


def _keras_module(module: ModuleIndex) -> bool:
    fulls = module.imports.values()
    keras = any(f.split(".")[0] in ("keras", "tensorflow", "tf_keras") for f in fulls)
    other = any(f.split(".")[0] in ("torch", "jax", "flax") for f in fulls)
    return keras and not other


def _reaches(module: ModuleIndex, compiling: list[ModuleIndex], cache: dict[str, bool]) -> bool:
    """Whether Keras can reach the module's functions (cached per module path)."""
    if module.path not in cache:
        cache[module.path] = _compiled_near(module, compiling) or _imports_keras(module)
    return cache[module.path]


def _compiled_near(module: ModuleIndex, compiling: list[ModuleIndex]) -> bool:
    """Whether a module with a compile site is ``module`` or imports from it."""
    return any(
        other.path == module.path
        or any(
            names.imports_module(imported, module.module)
            for imported in (*other.imports.values(), *other.stars)
        )
        for other in compiling
    )


def _imports_keras(module: ModuleIndex) -> bool:
    """Keras itself is imported (``keras``, ``tf.keras``, ``tf_keras``), not only TensorFlow."""
    return any(names.is_keras(names.canonical(full)) for full in module.imports.values())


def _text(module: ModuleIndex, span: Span) -> str:
    """The source text of a one-line span, the span of a node (a reference, an alias).

    A dotted name (``K.mean``) is read as syntax, not as text: a node on the same columns with
    the same syntax is written the same way, as any space or bracket would move a column. So
    the cache's early cutoff may keep the finding when a comment changes around it. Any other
    text (``mean as m``) is a read of the text (see :data:`losslint.codec.TEXT`)."""
    lines = module.lines
    if span.line != span.end_line or not 0 < span.line <= len(lines):
        return ""
    where = slice(span.column - 1, span.end_column - 1)
    if _DOTTED.fullmatch(dotted := placed_line(lines, span.line - 1)[where]):
        return dotted
    return lines[span.line - 1][where]


_DOTTED: Final = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*")


def _short(qualname: str) -> str:
    return names.defined_name(qualname)


def _function_name(context: RuleContext, qualname: str) -> str:
    """``focal_loss``; ``FocalLoss.call`` for a method; ``focal.loss`` for a closure."""
    parent = qualname.rpartition(".")[0]
    if parent in context.project.classes or parent in context.project.functions:
        return f"{_short(parent)}.{_short(qualname)}"
    return _short(qualname)


# -- LL401 ------------------------------------------------------------------------------------


def _positional(function: FunctionDef, method: bool) -> tuple[list[str], int, bool, list[str]]:
    """(positional parameter names, required count, has *args, required keyword-only)."""
    names, required = list(function.params), function.required
    if method and names and not _static(function):
        names, required = names[1:], required - 1
    return names, max(required, 0), function.varargs, list(function.required_kwonly)


def _static(function: FunctionDef) -> bool:
    """A ``@staticmethod``: Keras calls ``self.PSNR`` with no ``self`` to bind."""
    return decorated(function, "staticmethod")


def _misfit(function: FunctionDef, method: bool, call: str) -> str | None:
    """Why Keras cannot call ``function`` as ``call``, or None."""
    names, required, varargs, kwonly = _positional(function, method)
    if len(names) < 2 and not varargs:
        taken = ", ".join(names) or "no arguments"
        return f"takes only ({taken}) but Keras calls it as {call}: TypeError at the first fit()"
    if required > 2:
        extra = ", ".join(repr(n) for n in names[2:required])
        return (
            f"requires {extra} besides (y_true, y_pred) but Keras calls it as {call}: TypeError "
            "'missing required positional argument' at the first fit(); bind it with a factory "
            "(def make(gamma): def loss(y_true, y_pred): ...) or functools.partial"
        )
    if kwonly:
        extra = ", ".join(repr(n) for n in kwonly)
        return (
            f"requires the keyword-only {extra} but Keras calls it as {call}: TypeError at the "
            "first fit(); give it a default or bind it with a factory"
        )
    return None


def _swapped(function: FunctionDef, method: bool) -> bool:
    """Parameters named (y_pred, y_true) whose first one the body reads: a function that
    returns its second argument alone (``def tricky_loss(y_pred, y_true): return y_true``, the
    pass-through of a model that computes its own loss) computes on what Keras passes as the
    prediction, whatever the names say."""
    names, _, _, _ = _positional(function, method)
    if not (len(names) >= 2 and names[0] in PRED_NAMES and names[1] in TRUE_NAMES):
        return False
    body = getattr(function.node, "body", None)
    nodes = [body] if isinstance(body, ast.expr) else (body or [])
    return any(
        isinstance(n, ast.Name) and n.id == names[0] for part in nodes for n in subtree(part)
    )


def _compile_uses(rc: ResolvedCompile) -> Iterator[tuple[str, Value]]:
    for role, value in (
        ("loss", rc.site.loss),
        ("metric", rc.site.metrics),
        ("weighted metric", rc.site.weighted_metrics),
    ):
        if value is not None:
            for leaf in iter_leaves(value):
                yield role, leaf


def check_loss_signature(context: RuleContext) -> Iterator[Finding]:
    project = context.project
    keras_called: set[str] = set()  # functions Keras calls as fn(y_true, y_pred)
    for rc in context.compiles:
        for role, leaf in _compile_uses(rc):
            yield from _compile_use(context, rc, role, leaf, keras_called)
    for definition in project.definitions():
        if definition.kind == "loss_class":
            keras_called.add(f"{definition.qualname}.call")
        elif definition.kind == "metric_class":
            keras_called.add(f"{definition.qualname}.update_state")
    # A compile site makes a name-only loss a Keras loss only where it can reach the function:
    # in its own module or in a module that imports it (a repository of TF1 scripts with one
    # Keras chapter elsewhere does not make every script's ``cifar_loss`` a Keras loss).
    compiling_paths = {rc.path for rc in context.compiles}
    compiling_modules = [m for m in project.modules if m.path in compiling_paths]
    near: dict[str, bool] = {}  # module path -> whether Keras can call its functions
    # Every function is read: what is selected must be what unseen_function rules out.
    for qualname, (module, function) in project.functions.items():
        method = qualname.rpartition(".")[0] in project.classes
        definite = qualname in keras_called
        # Named like a loss in user code that Keras could call as fn(y_true, y_pred): a helper
        # with more required arguments is called directly, in the order its callers chose, and
        # so is a TF1 script's loss function where nothing uses Keras at all.
        # Cheapest tests first: the name, the parameters, then the module's reach (cached per
        # module; on a 1,000-file tree it is the only part that is not constant time).
        if not (definite or not method) or not _swapped(function, method):
            continue
        named = (
            not method
            and any(w in _short(qualname).lower() for w in ("loss", "metric", "coef", "score"))
            and _positional(function, False)[1] <= 2
            and _keras_module(module)
            and not is_keras_source(module.module)
            and _reaches(module, compiling_modules, near)
        )
        if not (definite or named):
            continue
        if not definite and (
            qualname in context.batch_axis.differentiated()
            or called_by_project(project, module, qualname)
        ):
            # ``loss = compute_loss(logits, labels)`` in a training step, a TF1 model's
            # ``MaskedCrossEntropyLoss(self.y_hat, self.y, mask=...)``: the project calls it, in
            # the order its parameters say, and Keras never does.
            continue
        names, _, _, _ = _positional(function, method)
        if symmetric(function_formula(project, qualname)) or _symmetric_helper(
            project, module, function.node, names[0], names[1]
        ):
            continue  # a Dice of abs(y_true * y_pred): swapping the arguments changes nothing
        if _forwarded_in_order(project, module, function.node, names[0], names[1]):
            continue  # its names are swapped, and so are its calls: what Keras gave goes on
        shown = ".".join(qualname.split(".")[-2:]) if method else _short(qualname)
        rest = ", ..." if len(names) > 2 else ""
        inner = _passed_in_order(project, module, function.node, names[0], names[1])
        also = (
            f", and the arguments of {inner}({names[0]}, {names[1]}) inside it, which are in "
            "the right order only while both are swapped"
            if inner
            else ""
        )
        yield Finding(
            module.path,
            function.span,
            f"{shown}({names[0]}, {names[1]}{rest}) takes the prediction first, but "
            "Keras calls losses and metrics as fn(y_true, y_pred): it computes on swapped "
            "arguments (a different, wrong objective for crossentropies, MSLE, precision...); "
            f"swap the parameters to ({names[1]}, {names[0]}){also}",
            None if definite else Severity.WARNING,
        )
    yield from _swapped_calls(project, keras_called)
    yield from _constant_labels_swapped(project)
    yield from _selfless_methods(project)


# The methods Keras calls on a loss or metric object.
_OBJECT_CALLS: Final = {"loss_class": ("call",), "metric_class": ("update_state",)}


def _selfless(function: FunctionDef) -> str | None:
    """Why a method Keras calls on the object fails for want of ``self``, or None."""
    params = function.params
    if (
        not params
        or params[0] in ("self", "cls")
        or params[0] not in (*TRUE_NAMES, *PRED_NAMES)
        or _static(function)
        or decorated(function, "classmethod")
    ):
        return None
    return (
        f"takes ({', '.join(params)}) with no self, but Keras calls it on the object: it is "
        f"passed as {params[0]} and every argument one place to the right (TypeError where it "
        "runs); add self as its first parameter"
    )


def _selfless_methods(project: ProjectIndex) -> Iterator[Finding]:
    """A ``Loss.call`` or ``Metric.update_state`` written without ``self`` (``def call(y_true,
    y_pred, indices, mask)``, copied from a function): Keras calls it on the object, so the
    object lands in ``y_true`` and every argument one place to the right, a TypeError wherever
    it runs. Where a compile uses the class, LL401 says so there; here, for the others (a loss
    another loss calls, one a training step calls)."""
    for definition in project.definitions():
        if definition.used or definition.kind not in _OBJECT_CALLS:
            continue
        for method in _OBJECT_CALLS[definition.kind]:
            found = project.functions.get(f"{definition.qualname}.{method}")
            if found is None:
                continue
            module, function = found
            why = _selfless(function)
            if why is not None:
                shown = f"{names.defined_name(definition.qualname)}.{method}"
                yield Finding(module.path, function.span, f"{shown} {why}")


def _forwarded_in_order(
    project: ProjectIndex,
    module: ModuleIndex,
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    first: str,
    second: str,
) -> bool:
    """Whether a function whose parameters ``first, second`` are named (prediction, truth)
    only hands them on, in the order it received them, as the first two arguments of losses
    that take (y_true, y_pred): ``def _loss(y_pred, y_true): return wcce(y_pred, y_true)``
    called by Keras as ``_loss(y_true, y_pred)`` computes ``wcce(y_true, y_pred)``, the right
    loss under misleading names. Any other use of either parameter (or a callee whose order
    is unknown) leaves the swap in effect."""
    handed: set[int] = set()
    for call in _calls_in_order(project, module, node, first, second):
        handed.update((id(call.args[0]), id(call.args[1])))
    uses: list[ast.Name] = []
    for child in subtree(node):
        if isinstance(child, ast.Name) and child.id in (first, second):
            if not isinstance(child.ctx, ast.Load):
                return False  # rebound: not what Keras passed
            uses.append(child)
    return bool(uses) and all(id(use) in handed for use in uses)


def _calls_in_order(
    project: ProjectIndex,
    module: ModuleIndex,
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    first: str,
    second: str,
) -> Iterator[ast.Call]:
    """The calls in ``node`` of a loss taking (y_true, y_pred) that are given ``first,
    second``, in that order, as their first two arguments."""
    for child in subtree(node):
        if not (isinstance(child, ast.Call) and len(child.args) >= 2):
            continue
        one, two = child.args[0], child.args[1]
        if (
            isinstance(one, ast.Name)
            and one.id == first
            and isinstance(two, ast.Name)
            and two.id == second
            and _takes_truth_first(project, module, child)
        ):
            yield child


def _passed_in_order(
    project: ProjectIndex,
    module: ModuleIndex,
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    first: str,
    second: str,
) -> str | None:
    """How the first such call (see _calls_in_order) is written (``K.categorical_crossentropy``),
    else None: swapping the parameters alone would swap that call's arguments."""
    call = next(_calls_in_order(project, module, node, first, second), None)
    return shortened(call.func, 40) if call is not None else None


def _takes_truth_first(project: ProjectIndex, module: ModuleIndex, call: ast.Call) -> bool:
    """Whether ``call`` is of a Keras loss or metric (function or object), or of a project
    function whose first two parameters are named (truth, prediction)."""
    func = call.func.func if isinstance(call.func, ast.Call) else call.func
    named = project.named(func, module)
    if named is None:
        return False
    home = named.rpartition(".")[0]
    if home in names.LOSS_HOMES:
        return True
    found = project._lookup(named)
    if found is None or found not in project.functions:
        return False
    return loss_signature(project.functions[found][1].params)


# Label names that say what a parameter holds (``y`` alone, ``yt`` could be anything).
_LABELS: Final = TRUE_NAMES - {"y", "yt"}


def _symmetric_helper(
    project: ProjectIndex,
    module: ModuleIndex,
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    first: str,
    second: str,
) -> bool:
    """Whether every ``return`` hands the parameters ``first`` and ``second``, sliced alike, to
    one project function whose formula is the same with them swapped: ``smape_metric(y_pred,
    y_true)`` returning ``smape(y_pred[:, -1], y_true[:, -1])`` or ``smape(y_pred, y_true)``,
    ``smape(A, F)`` a mean of ``2 * abs(F - A) / (abs(A) + abs(F))``."""
    returns = [n for n in subtree(node) if isinstance(n, ast.Return)]
    if not returns:
        return False
    helpers: set[str] = set()
    for returned in returns:
        call = returned.value
        if not (isinstance(call, ast.Call) and len(call.args) >= 2):
            return False
        a, b = call.args[:2]
        if not (_sliced(a, first) and _sliced(b, second)):
            return False
        renamed = ast.dump(b).replace(f"id='{second}'", f"id='{first}'")
        if ast.dump(a) != renamed:
            return False  # sliced differently: not the same role for both
        named = project.named(call.func, module)
        found = project._lookup(named) if named else None
        if found is None or found not in project.functions:
            return False
        helpers.add(found)
    return len(helpers) == 1 and symmetric(function_formula(project, helpers.pop()))


def _origins(
    expr: ast.expr,
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    params: list[str],
    imports: Mapping[str, str],
    depth: int = 0,
) -> set[str]:
    """The parameters of ``function`` that ``expr`` is computed from, through the names it
    binds once (:func:`local_binding`); with ``"?"`` for anything else it reads (a name bound
    otherwise, a global), so that only an expression of the parameters alone is taken as one.
    An imported name (``tf``, ``K``, ``np``) is read for its functions, not as a value."""
    found: set[str] = set()
    for node in subtree(expr):
        if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)):
            continue
        if node.id in params:
            found.add(node.id)
        elif node.id in imports:
            continue
        elif depth < 4 and (value := local_binding(function, node.id)[1]) is not None:
            found |= _origins(value, function, params, imports, depth + 1)
        else:
            found.add("?")
    return found


def _sliced(expr: ast.expr, name: str) -> bool:
    """``name``, or a subscript of it (``y_pred[:, 0]``, ``y_true[..., 1:][0]``)."""
    while isinstance(expr, ast.Subscript):
        expr = expr.value
    return isinstance(expr, ast.Name) and expr.id == name


def _swapped_calls(project: ProjectIndex, keras_called: set[str]) -> Iterator[Finding]:
    """A Keras loss called inside loss code with the prediction first, ``binary_crossentropy(
    y_pred, y_true)``: Keras losses take (y_true, y_pred) (Keras 1's backend took (output,
    target), and Keras 2 reversed it), so the term is another, wrong objective. Not where the
    function's own parameters are named (prediction, truth) in that order and Keras calls it
    as ``fn(y_true, y_pred)`` (``def perplexity(logits, labels)`` compiled as a metric): the
    two swaps cancel, and the signature's own finding, if any, says what to change."""
    seen: set[tuple[str, int, int]] = set()
    for definition in project.definitions():
        module = project.module_named(definition.module)
        node = definition.node
        if module is None:
            continue
        if isinstance(node, ast.ClassDef):
            bodies = [
                m
                for m in node.body
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                and m.name in ("call", "__call__", "update_state")
            ]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            bodies = [node]
        else:
            continue
        for body in bodies:
            params = [a.arg for a in (*body.args.posonlyargs, *body.args.args)]
            truth = next((n for n in params if n in _LABELS), None)
            guess = next((n for n in params if n in PRED_NAMES), None)
            if truth is None or guess is None:
                continue
            qualname = definition.qualname
            if isinstance(node, ast.ClassDef):
                qualname = f"{qualname}.{body.name}"
            own = params[1:3] if params[:1] == ["self"] else params[:2]
            if own == [guess, truth] and qualname in keras_called:
                continue  # Keras hands y_true to ``guess``: the call is (y_true, y_pred)
            calls: dict[str, list[tuple[ast.Call, str]]] = {}
            for call in subtree(body):
                if not (isinstance(call, ast.Call) and len(call.args) >= 2):
                    continue
                # A slice of either is still the prediction or the labels (keras-frcnn's
                # ``K.binary_crossentropy(y_pred[:, :, :, :], y_true[:, :, :, n:])``), and so
                # is a name the body binds once from it: ``rel_pred = K.sum(y_true[:, :, :-1]
                # * y_pred, axis=2)`` (the prediction, picked by the labels' one-hot skill)
                # and ``obs = y_true[:, :, -1]`` (labels alone), a knowledge-tracing loss's.
                swapped = _sliced(call.args[0], guess) and _sliced(call.args[1], truth)
                if not swapped:
                    first = _origins(call.args[0], body, params, module.imports)
                    second = _origins(call.args[1], body, params, module.imports)
                    swapped = guess in first and second == {truth}
                if not swapped:
                    if _sliced(call.args[0], truth) and _sliced(call.args[1], guess):
                        found = _swapped_helper(project, module, call, keras_called, seen)
                        if found is not None:
                            yield found
                    continue
                loss = names.asymmetric_loss(call, module.imports)
                if loss is not None:
                    calls.setdefault(ast.dump(call, include_attributes=False), []).append(
                        (call, loss)
                    )
            # The same call written again in the function (a weighted term per skill) is the
            # same defect: reported once, at the first.
            for same in calls.values():
                call, loss = min(same, key=lambda c: (c[0].lineno, c[0].col_offset))
                span = node_span(call, module.lines)
                key = (module.path, span.line, span.column)
                if key in seen:
                    continue
                seen.add(key)
                predicted, labels = (shortened(a, 32) for a in call.args[:2])
                again = f" (and the same call {len(same) - 1} more times)" if len(same) > 1 else ""
                yield Finding(
                    module.path,
                    span,
                    f"{loss}({predicted}, {labels}) passes the prediction as the target{again}: "
                    "Keras losses take (y_true, y_pred) (Keras 1's backend took (output, target); "
                    "Keras 2 reversed it), so this is the loss of the labels against the "
                    "prediction, another objective (a crossentropy of clipped 0/1 labels is "
                    f"linear in {guess}); call it as {loss}({labels}, {predicted})",
                )


def _swapped_helper(
    project: ProjectIndex,
    module: ModuleIndex,
    call: ast.Call,
    keras_called: set[str],
    seen: set[tuple[str, int, int]],
) -> Finding | None:
    """A project function declared (prediction, truth), ``hard_bootstrapping_with_probs(probs,
    labels, betas)``, called by loss code with (truth, prediction): its own parameter names
    say the arguments are swapped. Not where Keras calls that function itself (then its
    signature is what is wrong, and the signature's finding says so)."""
    name = project.named(call.func, module)
    qualname = project._lookup(name) if name else None
    if qualname is None or qualname in keras_called or qualname not in project.functions:
        return None
    params = list(project.functions[qualname][1].params)
    if params[:1] in (["self"], ["cls"]):
        params = params[1:]
    if len(params) < 2 or params[0] not in PRED_NAMES or params[1] not in _LABELS:
        return None
    span = node_span(call, module.lines)
    key = (module.path, span.line, span.column)
    if key in seen:
        return None
    seen.add(key)
    helper = names.defined_name(qualname)
    labels, predicted = (shortened(a, 24) for a in call.args[:2])
    more = ", ..." if len(call.args) > 2 else ""
    return Finding(
        module.path,
        span,
        f"{helper}({labels}, {predicted}{more}) passes the labels as {params[0]} and the "
        f"prediction as {params[1]}: {helper} is declared ({params[0]}, {params[1]}, ...), so "
        f"it computes another objective; call it as {helper}({predicted}, {labels}{more})",
    )


def _constant_labels_swapped(project: ProjectIndex) -> Iterator[Finding]:
    """A Keras loss given constant labels where the prediction goes, ``bce(fake_output,
    tf.ones_like(fake_output))``, as the index found them (``ModuleIndex.constant_labels``)."""
    for module in project.modules:
        for call in module.constant_labels:
            yield Finding(
                module.path,
                call.span,
                f"{call.loss}({call.predicted}, {call.labels}) passes the constant labels "
                f"{call.labels} as the prediction: Keras losses take (y_true, y_pred), so this "
                "is the loss of the labels against the prediction, another objective (a "
                f"crossentropy of clipped 0/1 labels is linear in {call.predicted}); call it as "
                f"{call.loss}({call.labels}, {call.predicted})",
            )


def _compile_use(
    context: RuleContext, rc: ResolvedCompile, role: str, leaf: Value, keras_called: set[str]
) -> Iterator[Finding]:
    project = context.project
    if isinstance(leaf, Ref):
        found = project._lookup(leaf.target)
        if found is None:
            return
        if found in project.functions:
            function = project.functions[found][1]
            if is_property(function):
                return  # ``loss=crf.loss`` of a ``@property``: the loss it returns
            if function.returns_function:
                returned = _short(function.returns_function)
                params, required, _, _ = _positional(function, False)
                if len(params) >= 2 and params[0] in TRUE_NAMES and params[1] in PRED_NAMES:
                    return  # shaped like a loss itself: the closure is a helper
                outcome = (
                    f"TypeError ({_short(found)} takes {required} required argument"
                    f"{'' if required == 1 else 's'}, Keras passes 2)"
                    if required != 2
                    else f"the {returned} function it returns is not a loss value"
                )
                yield Finding(
                    rc.path,
                    leaf.span,
                    f"{role} {_short(found)} is a loss factory (it returns {returned}) passed "
                    "without being called: Keras calls it as fn(y_true, y_pred), so the first "
                    f"fit() fails: {outcome}; pass what it returns: {_short(found)}(...)",
                )
                return
            keras_called.add(found)
            # A bound method (``loss=my_loss.loss_function``): Keras never sees its ``self``.
            bound = found.rpartition(".")[0] in project.classes
            why = _misfit(function, bound, "fn(y_true, y_pred)")
            if why:
                yield Finding(rc.path, leaf.span, f"{role} {_short(found)} {why}")
        elif found in project.classes:
            init = project.functions.get(f"{found}.__init__")
            if init is not None:
                names, required, _, kwonly = _positional(init[1], True)
                if required or kwonly:
                    missing = ", ".join(repr(n) for n in [*names[:required], *kwonly])
                    yield Finding(
                        rc.path,
                        leaf.span,
                        f"{role} {_short(found)} is passed as a class, which Keras 3 "
                        f"instantiates with no arguments, but its __init__ requires {missing}: "
                        "TypeError at the first fit(); pass an instance",
                    )
        return
    if not isinstance(leaf, Call) or leaf.func is None:
        return
    found = project._lookup(leaf.func)
    if found is None:
        return
    if found in project.functions:
        _, factory = project.functions[found]
        inner = factory.returns_function
        if inner is None or inner not in project.functions:
            return
        keras_called.add(inner)
        why = _misfit(project.functions[inner][1], False, "fn(y_true, y_pred)")
        if why:
            yield Finding(
                rc.path,
                leaf.span,
                f"{role} {_short(found)}(...) returns {_short(inner)}, which {why}",
            )
        return
    if found not in project.classes:
        return
    loss = project.is_loss_class(found)
    method_name = "call" if loss else "update_state"
    method = project.functions.get(f"{found}.{method_name}")
    if method is None or not (loss or project.is_metric_class(found)):
        return
    call = "call(y_true, y_pred)" if loss else "update_state(y_true, y_pred, sample_weight=...)"
    why = _selfless(method[1]) or _misfit(method[1], True, call)
    if why is None and role == "weighted metric" and not loss:
        params = [a.arg for a in (*method[1].node.args.args, *method[1].node.args.kwonlyargs)]
        if "sample_weight" not in params and method[1].node.args.kwarg is None:
            why = (
                "has no sample_weight parameter but is in weighted_metrics, so Keras passes "
                "sample_weight=...: TypeError at the first fit(); add sample_weight=None"
            )
    if why:
        yield Finding(rc.path, leaf.span, f"{role} {_short(found)}.{method_name} {why}")


# -- LL402 ------------------------------------------------------------------------------------


def check_removed_keras_api(context: RuleContext) -> Iterator[Finding]:
    for module in context.project.modules:
        if not context.keras3(module.path):
            continue  # Keras 2 code: the target's, tf_keras's own, or written against it alone
        flavour = keras_flavour(module)
        for use in module.api_uses:
            yield from _api_use(context, module, use, flavour)
        if flavour != "library":
            for site in module.compiles:
                finding = _positional_metrics(module, site)
                if finding is not None and not context.project.own_compile(site):
                    yield finding


# The parameters of ``compile`` after ``loss``, in Keras 3's order (Keras 2: the other way).
_KERAS3_COMPILE: Final = ("loss_weights", "metrics")


def _positional_metrics(module: ModuleIndex, site: CompileSite) -> Finding | None:
    """``compile(optimizer, loss, metrics)``: Keras 3 takes the third argument as
    ``loss_weights``, so metrics given there become loss weights."""
    given = site.positional
    if not given or given == _KERAS3_COMPILE[: len(given)]:
        return None
    names = ",".join(("_", "_", *given))  # optimizer and loss stay as they are
    shown = ", ".join(f"{name}=..." for name in given)
    return Finding(
        module.path,
        site.span,
        f"{' and '.join(given)} passed to compile() by position, in Keras 2's order: Keras "
        "3's signature is compile(optimizer, loss, loss_weights, metrics, ...), so the "
        "metrics are taken as loss weights and fit() fails ('ValueError: dtype='string' is not a "
        "valid dtype' for metric names, 'Failed to convert elements of <function> to Tensor' "
        f"for functions, or a count mismatch); pass {shown} by keyword",
        fix=Fix(
            Applicability.SAFE,
            f"Pass {shown} by keyword",
            (Edit("keywords", names, site.span),),
        ),
    )


def _api_use(
    context: RuleContext, module: ModuleIndex, use: ApiUse, flavour: str
) -> Iterator[Finding]:
    library = flavour == "library"
    if use.kind in ("ref", "import"):
        finding = _reference(module, use)
        if finding is not None:
            yield finding
    elif library:
        return
    elif use.kind == "keyword" and use.name == "reduction":
        yield Finding(
            module.path,
            use.span,
            "reduction='auto' is not a Keras 3 reduction: the Loss constructor raises "
            "'Invalid value for argument reduction'; use 'sum_over_batch_size' (the default, "
            "what 'auto' meant outside tf.distribute) or drop the argument",
            fix=_auto_fix(use.span),
        )
    elif use.kind == "default" and _in_loss_class(context, use.scope):
        yield Finding(
            module.path,
            use.span,
            "reduction='auto' as a default of a Loss subclass: Keras 3's Loss raises 'Invalid "
            "value for argument reduction' when it is passed on; default to "
            "'sum_over_batch_size'",
            fix=_auto_fix(use.span),
        )
    elif use.kind == "super_init":
        finding = _super_init(context, module, use)
        if finding is not None:
            yield finding
    elif use.kind == "method":
        finding = _method(module, use)
        if finding is not None:
            yield finding


def _auto_fix(span: Span) -> Fix:
    return Fix(
        Applicability.SAFE,
        "Replace 'auto' with 'sum_over_batch_size'",
        (Edit("replace", f'"{rewrites.KERAS3_LOSS_DEFAULT}"', span),),
    )


def _reference(module: ModuleIndex, use: ApiUse) -> Finding | None:
    full = use.name
    head, _, last = full.rpartition(".")
    if ".Reduction." in f".{full}" or ".ReductionV2." in f".{full}":
        return _reduction_reference(module, use)
    if head == "tensorflow" and use.kind == "ref":
        return _tf1(module, use, last)
    if head in SHIM_LOSS_MODULES and last in SHIM_SHORT_NAMES:
        return _shim_long_name(module, use, head, last)
    prefix = next((m for m in BACKEND_MODULES if full.startswith(m + ".")), None)
    if prefix is None:
        return None
    member = full[len(prefix) + 1 :].split(".")[0]
    if member in KEPT_BACKEND:
        return None
    shim = prefix != "keras.backend"
    written = _text(module, use.span) or f"K.{member}"
    op = rewrites.BACKEND_TO_OPS.get(member)
    instead = f"keras.ops.{op.op}" if op else _INSTEAD.get(member, "keras.ops or keras.random")
    if use.kind == "import":
        where = "the tf.keras shim" if shim else "Keras 3"
        if shim and member not in _ABSENT_FROM_SHIM:
            return Finding(
                module.path,
                use.span,
                f"{full} exists only in the deprecated tf.keras shim of Keras 3 and works only "
                f"with the TensorFlow backend; use {instead}",
                Severity.WARNING,
            )
        return Finding(
            module.path,
            use.span,
            f"{full} does not exist in {where}: ImportError 'cannot import name {member!r}'; "
            f"use {instead}",
        )
    fix = _backend_fix(module, use, member, written)
    full_name = f"{'tf.keras' if shim else 'keras'}.backend.{member}"
    shown = written if written.endswith(full_name) else f"{written} ({full_name})"
    if shim and member not in _ABSENT_FROM_SHIM:
        return Finding(
            module.path,
            use.span,
            f"{shown} exists only in the deprecated tf.keras shim of Keras 3 and works only with "
            f"the TensorFlow backend (JAX arrays: AttributeError 'base_dtype'); use {instead}",
            Severity.WARNING,
            fix=fix,
        )
    where = "even in the tf.keras shim of Keras 3" if shim else "in Keras 3"
    module_name = "keras._tf_keras.keras.backend" if shim else "keras.backend"
    return Finding(
        module.path,
        use.span,
        f"{shown} does not exist {where} (AttributeError: module '{module_name}' has no "
        f"attribute {member!r}); use {instead}",
        fix=fix,
    )


def _shim_long_name(module: ModuleIndex, use: ApiUse, head: str, last: str) -> Finding:
    """``tf.keras.losses.mean_squared_error``: the tf.keras shim of Keras 3 has only ``mse``."""
    short = SHIM_SHORT_NAMES[last]
    kind = head.rpartition(".")[2]
    shim = f"keras._tf_keras.keras.{kind}"
    if use.kind == "import":
        return Finding(
            module.path,
            use.span,
            f'{head}.{last} does not exist in the tf.keras shim of Keras 3 (ImportError "cannot '
            f'import name {last!r} from {head!r}"); import {short}, the same function, or '
            f"{last} from keras.{kind} of the keras package",
        )
    written = _text(module, use.span) or f"tf.keras.{kind}.{last}"
    base = written.rpartition(".")[0] or f"tf.keras.{kind}"
    return Finding(
        module.path,
        use.span,
        f"{written} does not exist in the tf.keras shim of Keras 3 (AttributeError: module "
        f"{shim!r} has no attribute {last!r}); use {base}.{short}, the same function, or "
        f"keras.{kind}.{last} of the keras package",
        fix=Fix(
            Applicability.SAFE,
            f"Replace {written} with {base}.{short}",
            (Edit("replace", f"{base}.{short}", use.span),),
        ),
    )


def _backend_fix(module: ModuleIndex, use: ApiUse, member: str, written: str) -> Fix | None:
    call = use.node
    if not isinstance(call, ast.Call) or use.call is None:
        return None
    if member == "batch_flatten":
        return rewrites.batch_flatten_fix(call, module.imports, module.lines, written)
    op = rewrites.BACKEND_TO_OPS.get(member)
    if op is None:
        return None
    return rewrites.ops_call_fix(call, call.func, op, module.imports, module.lines, written)


def _tf1(module: ModuleIndex, use: ApiUse, member: str) -> Finding | None:
    written = _text(module, use.span)
    base = written.rpartition(".")[0] or "tf"
    if member in TF1_MATH:
        return Finding(
            module.path,
            use.span,
            f"{written or 'tf.' + member} is TensorFlow 1: TensorFlow 2, which Keras 3 runs on, "
            f"raises AttributeError; use {base}.math.{member}",
            fix=Fix(
                Applicability.SAFE,
                f"Replace {written} with {base}.math.{member}",
                (Edit("replace", f"{base}.math.{member}", use.span),),
            ),
        )
    dtype = TF1_CASTS[member]
    fix = None
    call = use.node
    if (
        isinstance(call, ast.Call)
        and use.call is not None
        and len(call.args) == 1
        and not call.keywords
        and not isinstance(call.args[0], ast.Starred)
    ):
        fix = Fix(
            Applicability.SAFE,
            f"Replace {written}(x) with {base}.cast(x, {base}.{dtype})",
            (
                Edit("replace", f"{base}.cast", use.span),
                Edit("argument", f"{base}.{dtype}", use.call),
            ),
        )
    return Finding(
        module.path,
        use.span,
        f"{written or 'tf.' + member} is TensorFlow 1: TensorFlow 2, which Keras 3 runs on, "
        f"raises AttributeError; use {base}.cast(x, {base}.{dtype})",
        fix=fix,
    )


def _reduction_reference(module: ModuleIndex, use: ApiUse) -> Finding | None:
    full = use.name
    member = full.rpartition(".")[2]
    string = rewrites.REDUCTION_STRINGS.get(member)
    if string is None or full.startswith(("tf_keras", "tensorflow.python.keras")):
        return None
    written = _text(module, use.span) or full
    fix = Fix(
        Applicability.SAFE,
        f"Replace {written} with '{string}'",
        (Edit("replace", f'"{string}"', use.span),),
    )
    if full.startswith(("keras.losses.", "keras.utils.")):
        return Finding(
            module.path,
            use.span,
            f"{written}: Keras 3 has no {full.rpartition('.')[0]} (AttributeError/ImportError); "
            f"reductions are strings in Keras 3: use '{string}'",
            fix=fix,
        )
    if member != "AUTO":
        return None  # the tf.keras shim keeps Reduction; only AUTO is rejected
    return Finding(
        module.path,
        use.span,
        f"{written} is 'auto', which Keras 3 (also through tf.keras) rejects: 'Invalid value "
        "for argument reduction'; use 'sum_over_batch_size', the default",
        fix=fix,
    )


def _in_loss_class(context: RuleContext, scope: str) -> bool:
    cls = scope.rpartition(".")[0]
    return cls in context.project.classes and context.project.is_loss_class(cls)


def _reduction_like(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return "reduction" in node.id.lower()
    if isinstance(node, ast.Constant):
        return node.value in _REDUCTION_LIKE
    if isinstance(node, ast.Attribute):
        return node.attr in rewrites.REDUCTION_STRINGS or "reduction" in node.attr.lower()
    return False


def _super_init(context: RuleContext, module: ModuleIndex, use: ApiUse) -> Finding | None:
    if not use.scope.endswith(".__init__") or not _in_loss_class(context, use.scope):
        return None
    call = use.node
    if not isinstance(call, ast.Call):
        return None
    explicit = not (isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Call))
    args = call.args[1:] if explicit else call.args
    if not args or not _reduction_like(args[0]) or any(isinstance(a, ast.Starred) for a in args):
        return None
    fix = None
    if len(args) <= 2:
        names = ["reduction", "name"][: len(args)]
        content = ",".join(["_", *names] if explicit else names)
        fix = Fix(
            Applicability.SAFE,
            "Pass reduction (and name) as keyword arguments",
            (Edit("keywords", content, use.span),),
        )
    return Finding(
        module.path,
        use.span,
        "Keras 2 argument order in Loss.__init__: Keras 3's signature is (name, reduction, "
        "dtype), so the reduction is taken as the name and the name as the reduction ('Invalid "
        "value for argument reduction'); pass them as keywords",
        fix=fix,
    )


def _method(module: ModuleIndex, use: ApiUse) -> Finding | None:
    receiver = use.receiver or "the model"
    if use.name == "add_metric" and use.call is not None:
        return Finding(
            module.path,
            use.span,
            f"{receiver}.add_metric(...) raises NotImplementedError in Keras 3 ('Layer "
            "add_metric() method is deprecated'); pass the metric to compile(metrics=[...]) or "
            "keep a keras.metrics tracker and call update_state()",
        )
    if use.name == "metrics_tensors":
        return Finding(
            module.path,
            use.span,
            f"{receiver}.metrics_tensors is Keras <= 2.2 and does not exist in Keras 3 "
            "(AttributeError); use model.metrics or evaluate(..., return_dict=True)",
        )
    if use.name.startswith("metrics_names."):
        return Finding(
            module.path,
            use.span,
            f"{receiver}.metrics_names is rebuilt from model.metrics on every access in Keras 3, "
            "so changing it has no effect; add metrics in compile() and read results with "
            "evaluate(..., return_dict=True)",
        )
    if use.name == "add_loss" and use.model == "functional" and use.call is not None:
        if use.scope.rpartition(".")[2] in ("call", "build"):
            return None
        return Finding(
            module.path,
            use.span,
            f"{receiver}.add_loss(...) on a functional model raises NotImplementedError (with an "
            "empty message) in Keras 3: symbolic add_loss was removed; compute the term in a "
            "layer's call() with self.add_loss(), or add it to the loss in compile()",
        )
    return None


# -- LL403 ------------------------------------------------------------------------------------


def check_stateful_loss(context: RuleContext) -> Iterator[Finding]:
    eager = _eager(context)
    for effect in context.batch_axis.effects():
        if effect.kind == "counter":
            if eager is not None and eager(effect.function):
                continue  # run eagerly, Python code runs on every step: the count moves
            yield Finding(
                effect.path,
                effect.span,
                f"{_function_name(context, effect.function)} counts its calls in {effect.what}, a "
                "Python number: inside fit() the loss runs in a traced graph, where Python code "
                "runs once per trace, not once per step, so the count (and any schedule it "
                "drives) stands still; keep it in a non-trainable variable updated with "
                "assign_add, or derive it from optimizer.iterations",
            )
            continue
        if effect.kind != "store":
            continue
        if effect.function.rpartition(".")[2] == "update_state":
            # A Metric's state: kept in variables that update_state assigns.
            advice = (
                f"keep it in a state variable made with add_weight and update that "
                f"({effect.what}.assign(...) or assign_add), which result() reads"
            )
        else:
            advice = "return it, or log it with a keras.metrics tracker"
        yield Finding(
            effect.path,
            effect.span,
            f"{_function_name(context, effect.function)} stores a tensor computed from its "
            f"inputs in {effect.what}: inside fit() the loss runs in a traced graph, so the stored "
            "value is a symbolic tensor that leaks out of the trace (and is stale or fails when "
            f"read); {advice}",
        )


# -- LL404 ------------------------------------------------------------------------------------


class _Eager:
    """Which project functions fit() runs eagerly (``run_eagerly=True``), where a tensor has a
    value and ``.numpy()`` works: a compiled loss or metric whose every compile trains with it,
    and a helper whose every such caller does. A function no compile reaches runs eagerly when
    every compiled one does.
    ``trains``: whether a compiled loss reaches the function (a metric's code, run eagerly,
    needs no gradient)."""

    def __init__(self, context: RuleContext) -> None:
        project = context.project
        self._eager: dict[str, bool] = {}
        losses: set[str] = set()
        for rc in context.compiles:
            if rc.site.idle:
                continue
            for field_name in ("loss", "metrics", "weighted_metrics"):
                for leaf in iter_leaves(getattr(rc.site, field_name)):
                    for function in [*project.keras_calls(leaf), *_metric_methods(project, leaf)]:
                        self._eager[function] = self._eager.get(function, True) and rc.site.eager
                        if field_name == "loss":
                            losses.add(function)
        self._every = bool(self._eager) and all(self._eager.values())
        compiled = list(self._eager)
        # A custom training loop that nothing traces runs each step eagerly: what it calls has
        # values, and what feeds the value it differentiates trains (see _eager_loops).
        # So does the rest of its module, which nothing traces either (the loop's driver, the
        # accuracy it prints): unless a compile without run_eagerly reaches it.
        loops = _eager_loops(context)
        homes = {id(project.functions[loop][0]) for loop, _ in loops}
        for qualname, (module, _) in project.functions.items() if loops else ():
            if id(module) in homes:
                self._eager[qualname] = self._eager.get(qualname, True)
        for _, fed in loops:
            losses.update(fed)
        callees: dict[str, list[str]] = {}  # each function's body walked once

        def called_by(caller: str) -> list[str]:
            if caller not in callees:
                callees[caller] = list(_callees(project, caller))
            return callees[caller]

        # A helper runs as its callers run: eagerly only if each of them does.
        pending = list(self._eager)
        while pending:
            caller = pending.pop()
            for callee in called_by(caller):
                value = self._eager.get(callee, True) and self._eager[caller]
                if self._eager.get(callee) is not value:
                    self._eager[callee] = value
                    pending.append(callee)
        self._trained = _reached(losses, called_by)
        self._compiled = _reached(compiled, called_by)

    def __call__(self, function: str) -> bool:
        return self._eager.get(function, self._every)

    def trains(self, function: str) -> bool:
        return function in self._trained

    def how(self, function: str) -> str:
        """Why ``function`` runs eagerly, in words."""
        if function in self._compiled or function not in self._eager:
            return "compiled with run_eagerly=True"
        return "called by a custom training loop that nothing traces"


def _metric_methods(project: ProjectIndex, leaf: Value) -> list[str]:
    """The methods Keras runs of a project ``Metric`` subclass's instance given to compile
    (``PerLabelMetric(threshold=t)``): ``update_state`` and ``result``, maybe inherited."""
    target = leaf.func if isinstance(leaf, Call) else None
    found = project._lookup(target) if target else None
    if found is None or not project.is_metric_class(found):
        return []
    methods = (project.method(found, name) for name in ("update_state", "result"))
    return [m for m in methods if m is not None]


def _reached(start: Iterable[str], called_by: Callable[[str], list[str]]) -> set[str]:
    """``start`` and every function they call, and so on."""
    found: set[str] = set()
    pending = list(start)
    while pending:
        caller = pending.pop()
        if caller not in found:
            found.add(caller)
            pending.extend(called_by(caller))
    return found


# Per rule context: LL403 and LL404 both ask.
_EAGER: Final[weakref.WeakKeyDictionary[RuleContext, _Eager | None]] = weakref.WeakKeyDictionary()


def _eager(context: RuleContext) -> _Eager | None:
    """What runs eagerly, where some compile of the project runs eagerly at all, or some
    custom training loop does; else None."""
    if context not in _EAGER:
        eager = any(rc.site.eager for rc in context.compiles) or bool(_eager_loops(context))
        _EAGER[context] = _Eager(context) if eager else None
    return _EAGER[context]


# Per rule context: the eager training loops (see _eager_loops).
_LOOPS: Final[weakref.WeakKeyDictionary[RuleContext, list[tuple[str, set[str]]]]] = (
    weakref.WeakKeyDictionary()
)
# What traces a function: ``@tf.function``, ``tf.function(step)``, ``jax.jit``, and the like.
_TRACING: Final = re.compile(r"(?:@|\.)\s*(?:function|jit)\b|\b(?:function|jit)\s*\(")


def _eager_loops(context: RuleContext) -> list[tuple[str, set[str]]]:
    """The project's eager custom training loops, each with the project functions that feed
    the value it differentiates: a module-level function, with no decorator, that takes
    ``tape.gradient`` of a value under ``with tf.GradientTape()`` (TensorFlow 2's eager
    execution), in a project where no module that can call it traces anything (a word search
    for ``tf.function``, ``@function``, ``jit``: an unrelated ``tf.function`` elsewhere in the
    module is enough to leave the loop undecided). Each step then runs with values, as
    ``run_eagerly=True`` runs a compiled loss: ``.numpy()`` works, and only the gradient through
    NumPy is lost (``p_pred.numpy().shape[0]`` needs none)."""
    if context not in _LOOPS:
        project = context.project
        found: list[tuple[str, set[str]]] = []
        for module, objective in project.objectives():
            if objective.kind != "gradient" or objective.stored:
                continue
            scope = project.functions.get(objective.scope)
            if scope is None or scope[0] is not module:
                continue
            node = scope[1].node
            if node.decorator_list or objective.scope != f"{module.module}.{node.name}":
                continue  # a method (a train_step Keras traces), or a decorated function
            if not _under_tape(node):
                continue
            if any(
                _TRACING.search(line)
                for other in project.importers(module)
                for _, line in lines_with(other, "function") + lines_with(other, "jit")
            ):
                continue
            fed = {
                name
                for call in _feeding(node, objective.node)
                if (name := project.named(call.func, module)) is not None
                and name in project.functions
            }
            found.append((objective.scope, fed))
        _LOOPS[context] = found
    return _LOOPS[context]


def _under_tape(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether ``function`` records a ``GradientTape`` (``with tf.GradientTape() as tape:``),
    as a step that takes ``tape.gradient`` does (an objective's scope is the function its
    trained value is written in)."""
    return any(_records_tape(node) for node in subtree(function))


def _records_tape(node: ast.AST) -> TypeGuard[ast.With | ast.AsyncWith]:
    """``with tf.GradientTape() as tape:`` (or among other context managers)."""
    return isinstance(node, (ast.With, ast.AsyncWith)) and any(
        isinstance(item.context_expr, ast.Call)
        and names.last_name(item.context_expr.func) == "GradientTape"
        for item in node.items
    )


def _feeding(function: ast.FunctionDef | ast.AsyncFunctionDef, trained: ast.expr) -> list[ast.Call]:
    """The calls of ``function`` whose results reach ``trained``: in it, or in what a name it
    reads is computed from (:func:`derivations`), and so on."""
    assigned = derivations(function.body)
    calls: list[ast.Call] = []
    seen: set[str] = set()
    pending: list[ast.expr] = [trained]
    while pending:
        for node in subtree(pending.pop()):
            if isinstance(node, ast.Call):
                calls.append(node)
            elif isinstance(node, ast.Name) and node.id not in seen:
                seen.add(node.id)
                pending.extend(assigned.get(node.id, ()))
    return calls


def _callees(project: ProjectIndex, qualname: str) -> Iterator[str]:
    """The project functions ``qualname``'s body calls by name (``get_nearest_neighbour(x)``,
    ``utils.f1(y, p)``)."""
    found = project.functions.get(qualname)
    if found is None:
        return
    module, function = found
    for node in subtree(function.node):
        if isinstance(node, ast.Call):
            name = project.named(node.func, module)
            if name is not None and name in project.functions:
                yield name


def check_numpy_in_loss(context: RuleContext) -> Iterator[Finding]:
    reported: set[tuple[str, Span]] = set()
    for finding in _numpy_in_loss_code(context):
        reported.add((finding.path, finding.span))
        yield finding
    yield from _numpy_in_tapes(context, reported)


def _returns_converted(node: object) -> bool:
    """Whether every value a function returns is a tensor converted to a Python or NumPy
    value: ``x.numpy()``, ``float(x.numpy())``, ``x.numpy().item()``, or a dict, list or tuple
    of those (``{"rmse": rmse.numpy()}``). Not a value computed from one (``1 /
    p.numpy().shape[0] * total``, a loss term a training step may add)."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    returned = [
        stmt.value
        for stmt in names.iter_statements(node.body)
        if isinstance(stmt, ast.Return) and stmt.value is not None
    ]
    return bool(returned) and all(_converted(value) for value in returned)


def _converted(value: ast.expr) -> bool:
    if isinstance(value, (ast.Tuple, ast.List)):
        return bool(value.elts) and all(_converted(e) for e in value.elts)
    if isinstance(value, ast.Dict):
        return bool(value.values) and all(_converted(v) for v in value.values)
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    if isinstance(func, ast.Attribute) and func.attr in ("numpy", "item", "tolist"):
        return (func.attr == "numpy" and not value.args) or _converted(func.value)
    if isinstance(func, ast.Name) and func.id in ("float", "int") and len(value.args) == 1:
        return _converted(value.args[0])
    return False


def _numpy_in_loss_code(context: RuleContext) -> Iterator[Finding]:
    modules = {m.path: m for m in context.project.modules}
    references = numpy_references(context.project, pure=True)
    # A function that no compile uses and no training step differentiates, and that returns
    # what ``.numpy()`` made (``return float(mse.numpy())``, an evaluation after training):
    # written to run eagerly on results.
    differentiated = context.batch_axis.differentiated()
    evaluations = {
        d.qualname
        for d in context.project.definitions()
        if not d.used and d.qualname not in differentiated and _returns_converted(d.node)
    }
    # And a script's dead code, which nothing runs.
    dead = {d.qualname for d in context.project.definitions() if unreferenced(context.project, d)}
    effects = [
        e
        for e in context.batch_axis.effects()
        if e.kind == "numpy"
        and e.function not in references
        and e.function not in evaluations
        and e.function not in dead
    ]
    eager = _eager(context)
    for effect in effects:
        if any(_inside(effect, other) for other in effects if other is not effect):
            continue  # one finding per expression: np.round(np.clip(x)) is one defect
        where = _function_name(context, effect.function)
        # fit() runs it eagerly: ``.numpy()`` has a value, and only a gradient taken through
        # NumPy is lost.
        eagerly = eager is not None and eager(effect.function)
        wrapped = effect.callee is not None and effect.callee.rpartition(".")[2] in (
            "numpy_function",
            "py_func",
        )
        if eager is not None and eagerly and effect.callee is None:
            # ``.numpy()`` has a value: what is lost is the gradient, where the value goes on
            # into a loss (``tf.constant([mean(i) for i in p_pred.numpy()])``), not where only
            # its shape is read, nor where a NumPy call on it is reported instead.
            if (
                not eager.trains(effect.function)
                or _shape_only(context, effect)
                or _ungraded(context, effect)
                or any(e.function == effect.function and e.callee for e in effects)
            ):
                continue
            yield Finding(
                effect.path,
                effect.span,
                f".numpy() on a tensor inside {where}, which runs eagerly "
                f"({eager.how(effect.function)}): it has a value, but no gradient flows through "
                "NumPy, so this term does not train the model; keep the computation in tensor "
                "ops (keras.ops)",
            )
            continue
        if (
            eager is not None
            and eagerly
            and not (effect.callee and not wrapped and eager.trains(effect.function))
        ):
            continue  # it has a value, and a metric's code needs no gradient
        if effect.callee is None:
            yield Finding(
                effect.path,
                effect.span,
                f"{effect.what} on a tensor inside {where}: fit() traces the function, where "
                "tensors are symbolic and have no value (AttributeError/NotImplementedError), and "
                "no gradient flows through NumPy; keep the computation in keras.ops",
            )
            continue
        if wrapped:
            if not _in_loss(context, effect.function):
                continue  # a metric needs no gradient: NumPy through numpy_function is fine
            yield Finding(
                effect.path,
                effect.span,
                f"{effect.what} runs NumPy on the tensors of {where}: it works in the traced "
                "graph, but no gradient flows through it, so this term does not train the model "
                "(its gradient is None: the loss's other terms alone train it, or fit() fails "
                "with 'No gradients provided'); compute it with keras.ops",
            )
            continue
        library = ops.array_library(effect.callee.rpartition(".")[0]) or "NumPy"
        why = (
            f"it runs eagerly ({eager.how(effect.function)}) and has a value, but no gradient "
            "flows through it, so this term does not train the model"
            if eager is not None and eagerly
            else f"fit() traces the function, where {library} cannot read a symbolic tensor "
            "(error), and even eagerly no gradient flows through it"
        )
        yield Finding(
            effect.path,
            effect.span,
            f"{library} {effect.what} on a tensor inside {where}: {why}; "
            f"{_numpy_advice(effect.callee)}",
            fix=_numpy_fix(modules.get(effect.path), effect.callee, effect.call),
        )


def _numpy_in_tapes(context: RuleContext, reported: set[tuple[str, Span]]) -> Iterator[Finding]:
    """NumPy on a tensor inside a ``with tf.GradientTape()`` block, in what reaches the value
    the tape differentiates (a consistency term ``np.sum(np.abs(feat_s1 - feat_s2))`` added to
    the trained loss): eager TensorFlow hands NumPy the values, and the tape records nothing of
    it, so the term is a constant to the gradient and trains nothing. A tensor is what the
    block computes by a call that is not NumPy's (a model's output, a TensorFlow op), and what
    is computed from one; not its shape (``np.prod(x.shape)``) nor its length."""
    project = context.project
    modules = {m.path: m for m in project.modules}
    seen: set[tuple[str, str]] = set()  # each scope once (not by a body list's id, which a
    # list made for another module's statements and freed since may have had)
    for module, objective in project.objectives():
        if objective.kind != "gradient" or objective.stored or objective.untrained:
            continue
        body = _scope_body(project, module, objective.scope)
        if body is None or (module.path, objective.scope) in seen:
            continue
        seen.add((module.path, objective.scope))
        traced = _traced_scope(project, objective.scope)
        for block in _tape_blocks(body):
            for call, callee in _numpy_on_tensors(block, module, objective.node):
                span = node_span(call, module.lines)
                if (module.path, span) in reported:
                    continue
                reported.add((module.path, span))
                yield Finding(
                    module.path,
                    span,
                    f"NumPy {unparse(call.func)}(...) on a tensor inside a GradientTape: "
                    + (
                        "the step is traced (tf.function), where NumPy cannot read a symbolic "
                        "tensor (error), and even eagerly the tape records nothing of NumPy"
                        if traced
                        else "eager TensorFlow hands NumPy the tensor's values, and the tape "
                        "records nothing of NumPy, so this term reaches the differentiated loss "
                        "as a constant and trains nothing"
                    )
                    + f"; {_numpy_advice(callee)}",
                    fix=_numpy_fix(modules.get(module.path), callee, call),
                )


def _scope_body(project: ProjectIndex, module: ModuleIndex, scope: str) -> list[ast.stmt] | None:
    """The statements of an objective's scope: its function's, or its module's (those other
    than definitions, where a module-level loop is written: no definition is parsed for it)."""
    found = project.functions.get(scope)
    if found is not None:
        return found[1].node.body if found[0] is module else None
    return plain_statements(module) if scope == module.module else None


def _traced_scope(project: ProjectIndex, scope: str) -> bool:
    """Whether the function ``scope`` is traced by its decorator (``@tf.function``)."""
    found = project.functions.get(scope)
    if found is None:
        return False
    if scope.rpartition(".")[2] in ("train_step", "test_step") and (
        scope.rpartition(".")[0] in project.classes
    ):
        return True  # a Model's step: fit() traces it
    return any(
        names.last_name(d.func if isinstance(d, ast.Call) else d) in ("function", "jit")
        for d in found[1].node.decorator_list
    )


def _tape_blocks(body: list[ast.stmt]) -> Iterator[list[ast.stmt]]:
    """The bodies of the ``with ...GradientTape(...)`` statements of ``body`` (in loops and
    branches, not in nested definitions)."""
    pending = list(body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if _records_tape(statement):
            yield statement.body
        for field_name in ("body", "orelse", "finalbody"):
            pending.extend(getattr(statement, field_name, None) or [])
        for handler in getattr(statement, "handlers", None) or []:
            pending.extend(handler.body)


# NumPy functions that read no tensor's values: shapes and sizes, and constructors.
_NUMPY_HARMLESS: Final = names.SHAPE_FUNCTIONS | frozenset(
    {"zeros", "ones", "full", "eye", "arange", "linspace", "zeros_like", "ones_like", "float32"}
)


def _numpy_on_tensors(
    block: list[ast.stmt], module: ModuleIndex, trained: ast.expr
) -> Iterator[tuple[ast.Call, str]]:
    """The NumPy calls of a tape block given a tensor it computes, with their canonical name
    (see _numpy_in_tapes), in what the block computes ``trained`` from."""
    assigned = derivations(block)
    imports = module.imports

    def numpy_name(call: ast.Call) -> str | None:
        target = names.qualify(call.func, imports) or ""
        library, _, name = target.rpartition(".")
        return target if library == "numpy" and name not in _NUMPY_HARMLESS else None

    reads = names.unshaped_names  # (not through a shape: ``np.prod(x.shape)``, ``len(x)``)

    def computes_tensor(expr: ast.expr) -> bool:
        for node in subtree(expr):
            if not isinstance(node, ast.Call):
                continue
            target = names.qualify(node.func, imports) or ""
            if target.partition(".")[0] in ("numpy", "math", "random"):
                continue
            if isinstance(node.func, ast.Name) and node.func.id in _NOT_TENSORS:
                continue
            return True  # a model's output, a TensorFlow op, a loss object's value
        return False

    tensors: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, values in assigned.items():
            if name not in tensors and any(
                computes_tensor(v) or reads(v) & tensors for v in values
            ):
                tensors.add(name)
                changed = True
    # What the differentiated value is computed from, in the block.
    feeding: list[ast.expr] = [trained]
    seen: set[str] = set()
    pending = reads(trained)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for value in assigned.get(name, ()):
            feeding.append(value)
            pending |= reads(value)
    parents_of = [(value, names.parents(value)) for value in feeding]  # once each
    compared = _compared_only(block, parents_of)
    for value, parents in parents_of:
        inside: set[int] = set()  # one finding per expression: np.sum(np.abs(d)) is one
        for node in subtree(value):
            if id(node) in inside or not isinstance(node, ast.Call):
                continue
            callee = numpy_name(node)
            if callee is None or ops.integer_valued(callee.rpartition(".")[2]):
                continue  # an index (``np.argmax``) carries no gradient to lose
            if _in_index(node, parents) or id(node) in compared:
                continue  # ``p[:, np.argmax(p[0])]``, a threshold only compared with
            given = [*node.args, *(k.value for k in node.keywords)]
            if any(reads(arg) & tensors for arg in given):
                inside.update(id(n) for n in subtree(node))
                yield node, callee


def _in_index(node: ast.expr, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether ``node`` is within the index of a subscript (``p[:, np.argmax(p[0])]``)."""
    child: ast.AST = node
    holder = parents.get(node)
    while holder is not None:
        if isinstance(holder, ast.Subscript) and child is holder.slice:
            return True
        child, holder = holder, parents.get(holder)
    return False


_COMPARING: Final = frozenset(
    {"greater", "greater_equal", "less", "less_equal", "equal", "not_equal", "where"}
)


def _compared_only(
    block: list[ast.stmt], feeding: list[tuple[ast.expr, dict[ast.AST, ast.AST]]]
) -> set[int]:
    """The ids of the calls assigned alone to a name (``threshold = np.percentile(error,
    90)``) that the values ``feeding`` (each with its nodes' parents) read only in comparisons
    (``tf.math.greater(error, threshold)``): a threshold's value, which needs no gradient."""
    found: set[int] = set()
    for statement in flat_statements(block):
        name = names.assigned_name(statement, ast.Call)
        if name is None or not isinstance(statement, ast.Assign):
            continue
        uses = [
            (node, parents)
            for value, parents in feeding
            for node in subtree(value)
            if isinstance(node, ast.Name) and node.id == name
        ]
        if uses and all(_in_comparison(node, parents) for node, parents in uses):
            found.add(id(statement.value))
    return found


def _in_comparison(node: ast.expr, parents: dict[ast.AST, ast.AST]) -> bool:
    holder = parents.get(node)
    if isinstance(holder, ast.Compare):
        return True
    return isinstance(holder, ast.Call) and (
        names.last_name(holder.func) in _COMPARING and node in holder.args[:2]
    )


# Builtins and Python calls whose results hold no tensor.
_NOT_TENSORS: Final = frozenset(
    {
        "len", "range", "enumerate", "zip", "sorted", "reversed", "int", "float", "str", "bool",
        "list", "tuple", "dict", "set", "print", "isinstance", "getattr", "min", "max", "abs",
        "sum", "round", "map", "filter", "type",
    }
)  # fmt: skip


def _shape_only(context: RuleContext, effect: Effect) -> bool:
    """Whether only the shape of the array ``.numpy()`` makes is read (``p.numpy().shape[0]``,
    ``len(p.numpy())``, ``p.numpy().size``): a Python number, which needs no gradient."""
    found = context.project.functions.get(effect.function)
    if found is None or effect.call is None:
        return False
    holder = names.parents(found[1].node).get(effect.call)
    if isinstance(holder, ast.Attribute):
        return holder.attr in names.SHAPE_ATTRIBUTES or holder.attr == "size"
    return (
        isinstance(holder, ast.Call)
        and effect.call in holder.args
        and names.last_name(holder.func) in names.SHAPE_FUNCTIONS
    )


# Beside the catalogue's integer and 0/1 results (ops.integer_valued): what else carries no
# gradient, a stopped value, a sign, indices, sizes.
_NO_GRADIENT: Final = frozenset({"stop_gradient", "sign", "argsort", "nonzero"}) | (
    names.SHAPE_FUNCTIONS
)


def _ungraded(context: RuleContext, effect: Effect) -> bool:
    """Whether ``.numpy()`` is taken of a value no gradient flows through anyway: the labels,
    the first of the loss's tensors (``y_true.numpy()``), or an index, a rounding or a
    comparison (``tf.argmax(y_pred, axis=1).numpy()``)."""
    found = context.project.functions.get(effect.function)
    call = effect.call
    if found is None or call is None or not isinstance(call.func, ast.Attribute):
        return False
    receiver = call.func.value
    if isinstance(receiver, ast.Call):
        called = names.last_name(receiver.func)
        return called in _NO_GRADIENT or ops.integer_valued(called)
    params = found[1].params
    params = params[1:] if params[:1] == ("self",) else params
    return (
        bool(params)
        and truth_name(params[0])
        and isinstance(receiver, ast.Name)
        and receiver.id == params[0]
    )


def _in_loss(context: RuleContext, qualname: str) -> bool:
    """Whether ``qualname`` is a loss, or a method of a loss class (not a metric's code, nor
    a helper that only metrics call)."""
    for definition in context.project.definitions():
        owner = definition.qualname
        method = definition.kind == "loss_class" and qualname.startswith(owner + ".")
        if qualname == owner or method:
            return "loss" in definition.roles
    return False


def _numpy_advice(callee: str) -> str:
    """What to write instead: only a keras.ops function that exists, by name."""
    library, _, name = callee.rpartition(".")
    if library == "numpy" and name in rewrites.NUMPY_TO_OPS:
        return f"use ops.{name}(...) from keras.ops instead"
    if library == "math" and name in rewrites.MATH_TO_OPS:
        return f"use ops.{rewrites.MATH_TO_OPS[name]}(...) from keras.ops instead"
    if name in ("asarray", "array", "asanyarray"):
        return "keep the tensor (ops.convert_to_tensor converts other inputs)"
    return "rewrite it with keras.ops functions"


def _inside(effect: Effect, other: Effect) -> bool:
    """Is ``effect``'s call an argument (at any depth) of ``other``'s call?"""
    a, b = effect.span, other.span
    return (
        effect.path == other.path
        and a != b
        and (b.line, b.column) <= (a.line, a.column)
        and (a.end_line, a.end_column) <= (b.end_line, b.end_column)
    )


def _numpy_fix(module: ModuleIndex | None, callee: str | None, call: ast.Call | None) -> Fix | None:
    if module is None or callee is None or call is None:
        return None
    library, _, name = callee.rpartition(".")
    if library == "numpy" and name in rewrites.NUMPY_TO_OPS:
        op = name
        allowed = {"axis", "keepdims"}
    elif library == "math" and name in rewrites.MATH_TO_OPS and len(call.args) == 1:
        op = rewrites.MATH_TO_OPS[name]
        allowed = set()
    else:
        return None
    if any(k.arg not in allowed for k in call.keywords):
        return None
    if any(isinstance(a, ast.Starred) for a in call.args):
        return None
    prefix = rewrites.ops_prefix(module.imports)
    if prefix is None:
        return None
    alias, import_edit = prefix
    edits = [Edit("replace", f"{alias}.{op}", node_span(call.func, module.lines))]
    if import_edit is not None:
        edits.append(import_edit)
    return Fix(
        Applicability.UNSAFE,
        f"Replace {unparse(call.func)} with {alias}.{op} (a tensor instead of a NumPy value)",
        tuple(edits),
    )


# -- LL406 ------------------------------------------------------------------------------------


def check_symbolic_tensor_in_loss(context: RuleContext) -> Iterator[Finding]:
    # In TensorFlow 1's graph mode a loss is evaluated in the model's own graph, where its
    # symbolic tensors have values: the Keras 2.0 examples' VAE loss works there. It breaks
    # on the move to TensorFlow 2 or Keras 3, which the finding still says, as a warning.
    for finding in _symbolic_tensor_reads(context):
        why = context.graph_mode(finding.path)
        if why is None:
            yield finding
        else:
            yield dataclasses.replace(
                finding,
                message=f"{finding.message}. It runs today only in TensorFlow 1's graph mode "
                f"({why}), where the loss is evaluated in the model's own graph; TensorFlow 2's "
                "eager tf.keras fails on it too",
                severity=Severity.WARNING,
            )


def _symbolic_tensor_reads(context: RuleContext) -> Iterator[Finding]:
    project = context.project
    yield from _symbolic_factory_arguments(context)
    yield from _layer_captures(context)
    for definition in project.definitions():
        if not definition.used:
            continue  # only what compile hands to fit() fails there
        captured = project.captured_tensors(definition)
        if not captured:
            continue
        _, use, made = captured[0]
        module = project.module_named(definition.module)
        made_at = line_label(definition.path, module.lines if module else [], made.line)
        names = ", ".join(c[0] for c in captured)
        what = "symbolic tensor" if len(captured) == 1 else "symbolic tensors"
        yield Finding(
            definition.path,
            use,
            f"{_function_name(context, definition.qualname)} captures the {what} {names} of the "
            f"functional graph (made at {made_at}): Keras 3 calls it on real "
            "batches, where a KerasTensor is only a placeholder, so fit() fails ('A KerasTensor "
            "cannot be used as input to a TensorFlow function', or a TypeError with keras.ops); "
            "compute the term in a layer with self.add_loss(...), or in compute_loss/train_step "
            "of a Model subclass",
        )


def _layer_captures(context: RuleContext) -> Iterator[Finding]:
    """A layer class whose ``call`` (or a method it calls on ``self``) reads a symbolic tensor
    of the graph that is not one of its inputs: the VAE layer of the Keras 2 books, whose
    ``vae_loss`` for ``add_loss`` reads the module's ``z_mean`` and ``z_log_var``."""
    project = context.project
    # The scopes that bind a graph tensor (the module, a test function, a class's ``self``):
    # only a class defined in one of them can read one.
    scopes: dict[str, set[str]] = {}
    for module in project.modules:
        if module.symbolic:
            scopes[module.path] = {
                key.rpartition(".")[0].removesuffix(".self") for key in module.symbolic
            }
    for qualname, (module, _) in project.classes.items():
        within = scopes.get(module.path)
        if not within or not any(qualname == s or qualname.startswith(s + ".") for s in within):
            continue
        if not project.is_subclass(qualname, names.KERAS_LAYER_BASES):
            continue
        pending, done = [f"{qualname}.call"], set()
        while pending:
            method = pending.pop()
            if method in done or method not in project.functions:
                continue
            done.add(method)
            function = project.functions[method][1]
            pending += [
                f"{qualname}.{n.func.attr}"
                for n in subtree(function.node)
                if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and isinstance(n.func.value, ast.Name)
                and n.func.value.id == "self"
            ]
            # The free names bound to a graph tensor (a graph read's use is where it is made),
            # in the body: a default (``def call(self, inputs=[input_0, input_1])``) is never
            # used, Keras gives the inputs.
            # Nor is ``self.x`` where call assigns it first (``self.encoder_inputs = inputs``).
            body = function.node.body[0].lineno
            assigned = {
                f"self.{attribute}"
                for n in subtree(function.node)
                if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign))
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                if (attribute := names.self_attribute(t)) is not None
            }
            captured = [
                c
                for c in project.function_captures(method, module.module, function.node)
                if c[1] != c[2] and c[1].line >= body and c[0] not in assigned
            ]
            if not captured:
                continue
            _, use, made = captured[0]
            made_at = line_label(module.path, module.lines, made.line)
            shown = ", ".join(c[0] for c in captured)
            what, them = ("tensor", "it") if len(captured) == 1 else ("tensors", "them")
            via = "" if method.endswith(".call") else " (which call runs)"
            yield Finding(
                module.path,
                use,
                f"{_function_name(context, method)}{via} reads the symbolic {what} {shown} of "
                f"the functional graph (made at {made_at}), not an input of the layer: Keras 3 "
                "runs call on real batches, where a KerasTensor is only a placeholder, so the "
                "layer fails ('add_loss() can only be called ... on a tensor input' when the "
                "model is built, 'A KerasTensor cannot be used as input to a TensorFlow "
                f"function' in fit()); pass {them} to the layer as inputs",
            )


def _symbolic_factory_arguments(context: RuleContext) -> Iterator[Finding]:
    """``loss=make_vae_loss(z_mean, z_log_var)``: the closure reads the tensors it was given."""
    project = context.project
    modules = {m.path: m for m in project.modules}
    for rc in context.compiles:
        module = modules.get(rc.path)
        if module is None or not module.symbolic:
            continue
        for _, leaf in _compile_uses(rc):
            if not isinstance(leaf, Call) or leaf.func is None:
                continue
            bound = partial_target(leaf)  # ``partial(style_loss, y_rep=rep1(style_image))``
            found = project._lookup(bound or leaf.func)
            if found is None or found not in project.functions:
                continue
            if bound is None and project.functions[found][1].returns_function is None:
                continue
            given = [*leaf.args[1 if bound else 0 :], *(v for _, v in leaf.kwargs)]
            tensors = [a for a in given if isinstance(a, Call) and a.binding in module.symbolic]
            if not tensors:
                continue
            shown = ", ".join((t.binding or "").rpartition(".")[2] for t in tensors)
            plural, pronoun = ("s", "them") if len(tensors) > 1 else ("", "it")
            how = (
                f"functools.partial({_short(found)}, ...) binds the symbolic tensor{plural} "
                f"{shown} of the functional graph, and the loss reads {pronoun} "
                if bound
                else f"{_short(found)}(...) is given the symbolic tensor{plural} {shown} of the "
                f"functional graph, and the loss it returns reads {pronoun} "
            )
            yield Finding(
                rc.path,
                tensors[0].span,
                how + "when fit() calls it on real batches, where a KerasTensor is only a "
                "placeholder: fit() fails on Keras 3; compute the term in a layer with "
                "self.add_loss(...), or in compute_loss/train_step of a Model subclass",
            )


# -- LL405 ------------------------------------------------------------------------------------

_SERIALIZED_ARGS: Final = frozenset({"self", "name", "reduction", "dtype", "args", "kwargs"})
# Keras classes whose own get_config returns the keyword arguments passed to them (the wrapped
# function's ``**kwargs``), so a subclass that passes its arguments on is serialized.
_CONFIG_BASES: Final = frozenset({"LossFunctionWrapper", "MeanMetricWrapper"})
_MAX_BASES: Final = 8


def _inherits_get_config(project: ProjectIndex, qualname: str, depth: int = 0) -> bool:
    """Does the class or one of its bases (project classes, Keras wrappers) define get_config,
    or from_config (its own way back from a config, or a refusal: keras-gym's losses raise)?"""
    found = project._lookup(qualname)
    if found is None or found not in project.classes or depth > _MAX_BASES:
        return qualname.rpartition(".")[2] in _CONFIG_BASES
    if f"{found}.get_config" in project.functions or f"{found}.from_config" in project.functions:
        return True
    _, cls = project.classes[found]
    return any(_inherits_get_config(project, base, depth + 1) for base in cls.bases)


def _reloads_uncompiled(project: ProjectIndex) -> bool:
    """Whether the project loads models and every load passes ``compile=False``: the losses
    are never rebuilt from a saved config (c-yolo's trainer reloads its checkpoints so)."""
    loads = [u.name for m in project.modules for u in m.api_uses if u.kind == "load"]
    return bool(loads) and all(name == "uncompiled" for name in loads)


def check_loss_config(context: RuleContext) -> Iterator[Finding]:
    project = context.project
    unsaved: dict[str, list[str]] = {}  # each loss class without get_config: its own arguments
    uncompiled = _reloads_uncompiled(project)
    registered = {u.name for m in project.modules for u in m.api_uses if u.kind == "register"}
    for definition in project.definitions():
        if definition.kind != "loss_class":
            continue
        if uncompiled and definition.qualname not in registered:
            continue  # never rebuilt from a config here, nor registered for users to reload
        init = project.functions.get(f"{definition.qualname}.__init__")
        if init is None or _inherits_get_config(project, definition.qualname):
            continue
        args = init[1].node.args
        # An argument __init__ never reads (PointMSE's alpha, omega, ...) is lost by nothing.
        read = {
            n.id
            for statement in init[1].node.body
            for n in subtree(statement)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        # Its subclasses' methods may read what it keeps (``self.alpha`` in a derived ``call``).
        # Matched by the base's last name: a class too many only keeps an argument counted.
        short = definition.qualname.rpartition(".")[2]
        family = [definition.node] + [
            c.node
            for _, c in project.classes.values()
            if any(b.rpartition(".")[2] == short for b in c.bases)
        ]
        kept = _only_kept_unused(family, init[1].node)
        # A required one is lost by the reload itself, read or not: ``from_config`` calls the
        # class with the config's name and reduction alone (TasNet's ``SiSNR(param)``).
        required = _required_parameters(init[1])
        extra = [
            a.arg
            for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)
            if a.arg not in _SERIALIZED_ARGS
            and ((a.arg in read and a.arg not in kept) or a.arg in required)
        ]
        if extra:
            unsaved[definition.qualname] = extra
    for definition in project.definitions():
        if definition.qualname not in unsaved:
            continue
        extra = unsaved[definition.qualname]
        if _part_of_another_loss(project, definition.qualname):
            continue
        # A subclass whose arguments its reported base takes too is fixed by the base's
        # get_config (medic-ai's twenty losses over one BaseLoss): one finding, at the base.
        base = _unsaved_base(project, definition.qualname, unsaved)
        inherited = set(unsaved[base]) if base is not None else set()
        own = [a for a in extra if a not in inherited]
        if not own:
            continue
        shown = ", ".join(repr(a) for a in own)
        beyond = f" beyond those of {_short(base)}" if base is not None else ""
        constructor = project.functions[f"{definition.qualname}.__init__"][1]
        signature = constructor.node.args
        takes_config = signature.kwarg is not None or {"name", "reduction"} <= {
            a.arg for a in (*signature.args, *signature.kwonlyargs)
        }
        also = (
            ""
            if takes_config
            else ", and let __init__ take **kwargs (the config holds name and reduction too, "
            "which from_config passes back)"
        )
        if set(own) <= _required_parameters(constructor):
            effect = (
                f"reloading a saved model fails (from_config calls {_short(definition.qualname)} "
                "with the config's name and reduction alone: a TypeError)"
            )
            verb = "requires"
        else:
            effect = (
                "a saved model reloads it silently with the defaults (or fails if they are "
                "required)"
            )
            verb = "takes"
        yield Finding(
            definition.path,
            definition.span,
            f"{_short(definition.qualname)} {verb} {shown}{beyond} but has no get_config(): "
            f"Loss.get_config returns only name and reduction, so {effect}; add get_config() "
            f"returning them too{also}",
        )
    yield from _unregistered(context)


def _required_parameters(init: FunctionDef) -> set[str]:
    """The parameters of method ``init`` that a call must give (``self`` aside)."""
    return {*init.params[1 : init.required], *init.required_kwonly}


def _part_of_another_loss(project: ProjectIndex, qualname: str) -> bool:
    """Whether the loss class is built only in other loss classes' ``__init__`` (``self.gdl =
    GradientDifferenceLoss(weight=gdl_weight)`` in a ``TotalLoss``): saved and rebuilt as part
    of them, from their arguments, never from a config of its own. Every line of the project
    that names it must be its own class, an import, a ``custom_objects`` entry or such an
    assignment."""
    short = qualname.rpartition(".")[2]
    word = re.compile(rf"\b{re.escape(short)}\b")
    entry = re.compile(rf"""['"]{re.escape(short)}['"]\s*:\s*{re.escape(short)}\s*[,}}]?\s*$""")
    built = re.compile(rf"self\.\w+\s*=\s*{re.escape(short)}\(")
    owned = project.classes.get(qualname)
    if owned is None:
        return False
    home, cls = owned
    inits: dict[str, list[tuple[int, int]]] = {}
    for other in project.definitions():
        found = project.functions.get(f"{other.qualname}.__init__")
        if other.kind == "loss_class" and other.qualname != qualname and found is not None:
            node = found[1].node
            inits.setdefault(found[0].path, []).append((node.lineno, node.end_lineno or 0))
    inside = False
    for module in project.modules:
        for number, line in lines_with(module, short):
            text = line.strip()
            if not word.search(text) or text.startswith(("from ", "import ", "#")):
                continue
            if module.path == home.path and cls.node.lineno <= number <= (cls.node.end_lineno or 0):
                continue
            if entry.search(text):
                continue
            if built.search(text) and any(a <= number <= b for a, b in inits.get(module.path, ())):
                inside = True
                continue
            return False
    return inside


def _only_kept_unused(
    classes: Sequence[ast.AST], init: ast.FunctionDef | ast.AsyncFunctionDef
) -> set[str]:
    """Arguments ``__init__`` reads only to keep on ``self`` (``self.penalty = penalty``, maybe
    converted) where no method of the class or of a subclass (``classes``) reads that attribute
    back: lost on reload, they change nothing."""
    reads: dict[str, int] = {}
    for node in subtree(init):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            reads[node.id] = reads.get(node.id, 0) + 1
    stored: dict[str, set[str]] = {}  # argument -> the attributes assigned from it
    kept_reads: dict[str, int] = {}  # its reads inside those assignments
    for statement in init.body:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
            continue
        attribute = names.self_attribute(statement.targets[0])
        if attribute is None:
            continue
        for node in subtree(statement.value):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                stored.setdefault(node.id, set()).add(attribute)
                kept_reads[node.id] = kept_reads.get(node.id, 0) + 1
    read_back = {
        node.attr
        for cls in classes
        for node in subtree(cls)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Load)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }
    return {
        argument
        for argument, attributes in stored.items()
        if reads.get(argument) == kept_reads[argument] and not attributes & read_back
    }


def _unsaved_base(
    project: ProjectIndex, qualname: str, unsaved: dict[str, list[str]], depth: int = 0
) -> str | None:
    """The nearest project base class of ``qualname`` that is reported for its own missing
    ``get_config`` (see check_loss_config), else None."""
    if depth > _MAX_BASES or qualname not in project.classes:
        return None
    for base in project.classes[qualname][1].bases:
        found = project._lookup(base) if base else None
        if found is None or found not in project.classes:
            continue
        if found in unsaved:
            return found
        further = _unsaved_base(project, found, unsaved, depth + 1)
        if further is not None:
            return further
    return None


def _unregistered(context: RuleContext) -> Iterator[Finding]:
    project = context.project
    registered: set[str] = set()
    handling: set[str] = set()  # the modules that register custom objects for their loads
    saves: dict[tuple[str, str], list[ApiUse]] = {}
    loads: list[_Load] = []
    for module in project.modules:
        for use in module.api_uses:
            if use.kind == "register":
                registered.add(use.name)
            elif use.kind == "load" and use.name in ("handled", "uncompiled"):
                handling.add(module.module)
            elif use.kind == "patch" and not context.keras3(module.path):
                # Keras 3 reads a registry, not the module's globals.
                registered.add(project._lookup(use.name) or use.name)
            elif use.kind == "load":
                loads.append(_Load(module, use))
            elif use.kind == "save":
                saves.setdefault((module.path, use.scope), []).append(use)
    # Only a model reloaded with load_model() needs its custom objects registered: weights saved
    # and loaded (save_weights/load_weights) or a project's own loader never look them up.
    if not saves or not (loads or handling):
        return
    reported: set[str] = set()
    # Compile lines by (path, scope, receiver): a model recompiled (or rebound and compiled
    # again, as notebooks do with ``model``) is saved as its last compile before the save.
    compiled: dict[tuple[str, str, str], list[int]] = {}
    for rc in context.compiles:
        if rc.site.receiver:
            key = (rc.path, rc.site.scope, rc.site.receiver)
            compiled.setdefault(key, []).append(rc.site.span.line)
    for rc in context.compiles:
        save = next(
            (
                s
                for s in saves.get((rc.path, rc.site.scope), ())
                if _saves_compile(s, rc, compiled.get((rc.path, rc.site.scope, s.receiver or "")))
            ),
            None,
        )
        if save is None:
            continue
        custom = list(_custom_objects(project, rc))
        # The saving module and those of the custom objects compiled: a script importing one
        # of them may be the one that reloads the model.
        homes = {m.module for m in project.modules if m.path == rc.path}
        homes.update(home.module for _, _, _, home in custom)
        load = _reloading(project, loads, handling, rc, save, homes) if custom else None
        if load is None:
            continue
        for role, found, definition, home in custom:
            if found in reported or is_keras_source(home.module):
                continue  # Keras's own classes, in its own tree: registered where defined
            if definition in registered or found in registered:
                continue
            if (
                not context.keras3(rc.path)
                and definition in project.functions
                and definition.rpartition(".")[2] in _KERAS2_NAMES
            ):
                continue  # Keras 2 looks a function up by name: ``mse`` reloads as its own
            reported.add(found)
            site = _definition_site(context, definition)
            if site is None:
                continue
            name = _short(definition)
            if context.keras3(rc.path):
                raises = f"'Could not locate function/class {name}'"
                advice = (
                    "decorate it with @keras.saving.register_keras_serializable() (or pass "
                    "custom_objects when loading)"
                )
            else:  # tf.keras 2 and Keras 2 look the name up among their own, then fail
                kind = "loss" if role == "loss" else "metric"
                raises = f"'ValueError: Unknown {kind} function: {name}'"
                advice = (
                    f"pass custom_objects={{'{name}': {name}}} to load_model (or, from "
                    "TensorFlow 2.1, decorate it with "
                    "@tf.keras.utils.register_keras_serializable())"
                )
            yield Finding(
                site[0],
                site[1],
                f"{name} is a custom {role} of a model that is saved with "
                f"{_call_text(save)} ({rc.path}:{save.span.line}) and reloaded with load_model() "
                f"({load.module.path}:{load.use.span.line}) but it is not registered: "
                f"load_model() then raises {raises}; {advice}",
            )


# The names Keras 2 resolves itself when it reloads a compiled model's losses and metrics.
_KERAS2_NAMES: Final = (
    keras_ids.K2_LOSSES | keras_ids.K2_METRICS | keras_ids.COMPILE_METRIC_SPECIAL_K2
)


def _custom_objects(
    project: ProjectIndex, rc: ResolvedCompile
) -> Iterator[tuple[str, str, str, ModuleIndex]]:
    """The project's functions and classes a compile site uses: (role, the name compiled, the
    definition saved by name (a factory's closure), the module that defines it)."""
    for role, leaf in _compile_uses(rc):
        target = (
            leaf.target if isinstance(leaf, Ref) else leaf.func if isinstance(leaf, Call) else None
        )
        found = project._lookup(target) if target else None
        if found is None:
            continue
        if found in project.functions:
            if isinstance(project.functions[found][1].node, LambdaDef):
                continue  # saved by the name "<lambda>", which no registration can give
            inner = project.functions[found][1].returns_function
            definition = inner if inner and isinstance(leaf, Call) else found
        elif found in project.classes:
            definition = found
        else:
            continue
        home = project.functions.get(definition) or project.classes.get(definition)
        if home is not None:
            yield role, found, definition, home[0]


@dataclasses.dataclass(frozen=True, slots=True)
class _Load:
    """A ``load_model`` without ``custom_objects``, and the module it is written in."""

    module: ModuleIndex
    use: ApiUse


def _reloading(
    project: ProjectIndex,
    loads: list[_Load],
    handling: set[str],
    rc: ResolvedCompile,
    save: ApiUse,
    homes: set[str],
) -> _Load | None:
    """The bare ``load_model`` that reloads the model ``save`` writes, as far as the code says;
    None where the loads that may reload it all pass the custom objects. Which file a load
    reads is rarely known, so the loads nearest the save decide: those of the function that
    saves (a notebook's cell, a script), else of its module, else of the modules that import
    one of ``homes`` (an evaluation script that imports the losses and forgets
    ``custom_objects``). Where none of those loads, any load of the project may, and one that
    registers the custom objects anywhere is taken to be the one.

    A load is handled where its module, or a project module it imports, passes the custom
    objects (a ``custom_object_scope``, ``get_custom_objects().update``)."""
    own = [x for x in loads if x.module.path == rc.path]
    nearest = (
        [x for x in own if x.use.scope == save.scope]
        or own
        or [x for x in loads if _imports_any(project, x.module, homes)]
    )
    if nearest:
        return next((x for x in nearest if not _handles(project, x.module, handling)), None)
    if handling:
        return None
    return loads[0] if loads else None


def _imports_any(project: ProjectIndex, module: ModuleIndex, wanted: set[str]) -> bool:
    """Whether ``module`` imports (from) one of the project modules named ``wanted``."""
    for target in module.imports.values():
        for name in (target, target.rpartition(".")[0]):
            imported = project._module(name) if name else None
            if imported is not None and imported.module in wanted:
                return True
    return False


def _handles(project: ProjectIndex, module: ModuleIndex, handling: set[str]) -> bool:
    """Whether ``module`` or a project module it imports registers custom objects."""
    return module.module in handling or _imports_any(project, module, handling)


def _saves_compile(save: ApiUse, rc: ResolvedCompile, lines: list[int] | None) -> bool:
    """Whether ``save`` saves the model as ``rc`` compiled it: same receiver (or one of them
    unknown), and, where both are known, ``rc`` is the last compile of that receiver at the
    point of the save (``x.save()``, or the ``fit`` a ``ModelCheckpoint`` is handed to)."""
    if not (save.receiver and rc.site.receiver):
        return True
    if save.receiver != rc.site.receiver:
        return False
    point = save.call.line if save.call is not None else save.span.line
    before = [line for line in lines or () if line <= point]
    return bool(before) and max(before) == rc.site.span.line


def _call_text(use: ApiUse) -> str:
    if isinstance(use.node, ast.Call):
        return f"{unparse(use.node.func)}(...)"
    return "save(...)"


def _definition_site(context: RuleContext, qualname: str) -> tuple[str, Span] | None:
    """(path, span) of the ``def``/``class`` line of a project function or class."""
    project = context.project
    if qualname in project.functions:
        module, function = project.functions[qualname]
        return module.path, function.span
    if qualname in project.classes:
        module, cls = project.classes[qualname]
        return module.path, cls.span
    return None


RULES: Final = (
    Rule(
        "LL401",
        "loss-signature",
        Severity.ERROR,
        "parameters that do not fit (y_true, y_pred); a Keras loss called as (y_pred, y_true)",
        check_loss_signature,
    ),
    Rule(
        "LL402",
        "removed-keras-api",
        Severity.ERROR,
        "Keras 2 / TF1 API that fails on Keras 3 (K.mean, reduction='auto', add_metric, tf.log)",
        check_removed_keras_api,
        fixable=True,
    ),
    Rule(
        "LL403",
        "stateful-loss",
        Severity.WARNING,
        "a loss/metric function that stores tensors on self, globals or nonlocals",
        check_stateful_loss,
    ),
    Rule(
        "LL404",
        "numpy-in-loss",
        Severity.ERROR,
        "NumPy or math applied to tensors inside a loss/metric: breaks tracing and gradients",
        check_numpy_in_loss,
        fixable=True,
    ),
    Rule(
        "LL405",
        "loss-config",
        Severity.WARNING,
        "a Loss subclass without get_config, or a custom loss/metric not registered for saving",
        check_loss_config,
    ),
    Rule(
        "LL406",
        "symbolic-tensor-in-loss",
        Severity.ERROR,
        "a compiled loss/metric, or a layer's add_loss code, that captures a symbolic Keras tensor",
        check_symbolic_tensor_in_loss,
    ),
)
