"""Uses of version-sensitive Keras APIs and of model saving, as :class:`ApiUse` facts.

Only statements on lines that mention one of the words below (or an alias of a Keras backend
module) are searched, so a module that uses none of these APIs costs one regular-expression scan.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Final

from losslint.diagnostic import Span
from losslint.index import names
from losslint.index.facts import ApiUse, ModuleIndex
from losslint.index.positions import (
    lines_at,
    lines_matching,
    lines_with_words,
    node_span,
    word_starts,
)

# Modules whose ``backend`` is the Keras 3 one or the ``tf.keras`` shim of Keras 3 (TF >= 2.16).
BACKEND_MODULES: Final = (
    "keras.backend",
    "tensorflow.keras.backend",
    "keras._tf_keras.keras.backend",
    "keras.api._tf_keras.keras.backend",
)
# ``losses`` and ``metrics`` of the ``tf.keras`` shim of Keras 3 (TF >= 2.16).
SHIM_LOSS_MODULES: Final = tuple(
    f"{root}.{kind}"
    for root in ("tensorflow.keras", "keras._tf_keras.keras", "keras.api._tf_keras.keras")
    for kind in ("losses", "metrics")
)
# Loss functions the shim exports only under their short alias (checked against Keras 3.15.1 with
# TF 2.21: ``tf.keras.losses.mean_squared_error`` is an AttributeError, ``tf.keras.losses.mse``
# and ``keras.losses.mean_squared_error`` are the same function), for losses and metrics alike.
SHIM_SHORT_NAMES: Final = {
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "mean_absolute_percentage_error": "mape",
    "mean_squared_logarithmic_error": "msle",
    "log_cosh": "logcosh",
    "kl_divergence": "kld",
}
# TensorFlow 1 names that TensorFlow 2 moved to ``tf.math`` (checked against TF 2.21: present in
# ``tf.compat.v1`` and ``tf.math``, absent from ``tf``).
TF1_MATH: Final = frozenset(
    {
        "accumulate_n",
        "angle",
        "betainc",
        "bincount",
        "ceil",
        "confusion_matrix",
        "conj",
        "count_nonzero",
        "cumprod",
        "digamma",
        "erf",
        "erfc",
        "expm1",
        "floordiv",
        "floormod",
        "igamma",
        "igammac",
        "imag",
        "invert_permutation",
        "is_finite",
        "is_inf",
        "is_nan",
        "is_non_decreasing",
        "is_strictly_increasing",
        "lbeta",
        "lgamma",
        "log",
        "log1p",
        "log_sigmoid",
        "logical_xor",
        "mod",
        "polygamma",
        "real",
        "reciprocal",
        "rint",
        "rsqrt",
        "segment_max",
        "segment_mean",
        "segment_min",
        "segment_prod",
        "segment_sum",
        "squared_difference",
        "unsorted_segment_max",
        "unsorted_segment_mean",
        "unsorted_segment_min",
        "unsorted_segment_prod",
        "unsorted_segment_sqrt_n",
        "unsorted_segment_sum",
        "zeta",
    }
)
# TensorFlow 1 casts that TensorFlow 2 removed, with the dtype ``tf.cast`` needs.
TF1_CASTS: Final = {
    "to_float": "float32",
    "to_double": "float64",
    "to_int32": "int32",
    "to_int64": "int64",
    "to_bfloat16": "bfloat16",
}
_WORDS: Final = (
    "metrics_tensors",
    "metrics_names",
    "add_metric",
    "add_loss",
    "Reduction",
    "ReductionV2",
    "reduction",
    "register_keras_serializable",
    "load_model",
    "custom_object_scope",
    "CustomObjectScope",
    "get_custom_objects",
    *SHIM_SHORT_NAMES,
)
# ``metrics.sensitivity = sensitivity``: a custom object set on Keras's own module (what
# follows ``metrics.`` or ``losses.``).
_PATCHED: Final = re.compile(r"\w+\s*=(?!=)")
_BACKEND_ROOTS: Final = frozenset(
    {
        "keras",
        "tensorflow",
        "tensorflow.keras",
        "keras._tf_keras.keras",
        "keras.api._tf_keras.keras",
    }
)
# ``__init__(`` whose first argument (after ``self``) is positional: a name, a dotted name or a
# string followed by ``,`` or ``)``, not ``name=`` nor ``**kwargs``.
_POSITIONAL_INIT: Final = re.compile(
    r"__init__\(\s*(?:self\s*,\s*)?(?:[A-Za-z_][\w.]*|\"[^\"]*\"|'[^']*')\s*[,)]"
)
_SAVE_WORDS: Final = ("save", "save_model", "ModelCheckpoint", "callbacks")
_SAVE_CALLEES: Final = frozenset({"keras.saving.save_model", "keras.models.save_model"})
_LOAD_CALLEES: Final = frozenset({"keras.saving.load_model", "keras.models.load_model"})
_REGISTER: Final = frozenset(
    {"keras.saving.register_keras_serializable", "keras.utils.register_keras_serializable"}
)


def _registered_id(decorator: ast.expr, name: str) -> str | None:
    """The string id ``@register_keras_serializable(package, name)`` gives a definition:
    ``"package>name"`` (package ``Custom`` and the definition's own name by default); None
    where an argument is not a constant string."""
    package: object = "Custom"
    if isinstance(decorator, ast.Call):
        given: dict[str, ast.expr] = dict(zip(("package", "name"), decorator.args, strict=False))
        given.update((k.arg, k.value) for k in decorator.keywords if k.arg in ("package", "name"))
        values = {}
        for key, value in given.items():
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                return None
            values[key] = value.value
        package = values.get("package", package)
        name = values.get("name", name)
    return f"{package}>{name}"


_METRICS_NAMES_MUTATORS: Final = frozenset({"append", "extend", "insert", "remove", "clear"})


def is_keras_source(module: str) -> bool:
    """A module of Keras itself (``keras.src.losses``, ``tf_keras.src.metrics``): it implements
    the framework, with its own conventions (a NumPy backend, internal ``reduction=None``), so
    the rules about how users write losses do not apply to it."""
    return module in ("keras", "tf_keras") or module.startswith(("keras.", "tf_keras."))


def _candidate_lines(source: str, imports: Mapping[str, str], saving: bool) -> list[int]:
    """Sorted 1-based numbers of the lines worth searching: those that hold one of the words
    the source contains, or a pattern of the calls and assignments read."""
    aliases = [
        alias
        for alias, full in imports.items()
        if any(full == m or full.startswith(m + ".") for m in BACKEND_MODULES)
    ]
    words = [*_WORDS, *aliases, *(_SAVE_WORDS if saving else ())]
    # ``keras.backend.mean``, ``tf.keras.backend.mean``: only through these roots.
    if "backend" in source and any(full in _BACKEND_ROOTS for full in imports.values()):
        words.append("backend")
    found = set(lines_with_words(source, words))
    roots = [a for a, full in imports.items() if full == "tensorflow" and f"{a}." in source]
    if roots:  # ``tf.log``
        found.update(_attribute_lines(source, roots, _TF1_MOVED))
    if "metrics." in source or "losses." in source:
        found.update(_attribute_lines(source, ("metrics", "losses"), _PATCHED))
    if "__init__" in source:
        found.update(lines_matching(source, _POSITIONAL_INIT))
    return sorted(found)


# The TensorFlow 1 functions that TensorFlow 2 moved, as written after ``tf.``.
_TF1_MOVED: Final = re.compile(rf"(?:{'|'.join(sorted({*TF1_MATH, *TF1_CASTS}))})\b")


def _attribute_lines(source: str, roots: Iterable[str], after: re.Pattern[str]) -> list[int]:
    """The lines where one of ``roots`` is written as a word, then a dot and what ``after``
    matches: each root found by a plain search first (one pattern starting with ``\\b``,
    tried at every place of every file, took 0.25 s of the Keras tree for ``metrics.``)."""
    hits = sorted(
        at
        for root in roots
        for at in word_starts(source, [root])
        if source.startswith(".", at + len(root)) and after.match(source, at + len(root) + 1)
    )
    return lines_at(source, hits)


class _Collector:
    def __init__(
        self,
        module: str,
        imports: Mapping[str, str],
        lines: Sequence[str],
        candidates: list[int],
        saving: bool,
    ) -> None:
        self.module = module
        self.imports = imports
        self.lines = lines
        self.candidates = candidates
        self.saving = saving
        self.uses: list[ApiUse] = []
        # ``x.fit(..., callbacks=...)``: (scope, line, the call, x as written), in order.
        self.fits: list[tuple[str, int, ast.Call, str]] = []

    def span(self, node: ast.AST) -> Span:
        return node_span(node, self.lines)

    def block(self, body: list[ast.stmt], scope: str) -> None:
        for stmt in body:
            self.stmt(stmt, scope)

    def touches(self, first: int, last: int) -> bool:
        """Whether a candidate line lies in ``first..last``."""
        index = bisect.bisect_left(self.candidates, first)
        return index < len(self.candidates) and self.candidates[index] <= last

    def stmt(self, node: ast.stmt, scope: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if not self.touches(first, node.end_lineno or node.lineno):
                return
            qualname = f"{scope}.{node.name}"
            header_end = node.body[0].lineno if node.body else node.lineno
            if self.touches(first, header_end):
                self.definition(node, qualname, scope)
            self.block(node.body, qualname)
            return
        end = node.end_lineno or node.lineno
        if not self.touches(node.lineno, end):
            return
        if isinstance(node, ast.ImportFrom):
            self.import_from(node, scope)
            return
        if not isinstance(node, _COMPOUND) or self.touches(node.lineno, _header_end(node)):
            self.expressions(node, scope)
        for field_name in ("body", "orelse", "finalbody"):
            children = getattr(node, field_name, None)
            if children:
                self.block(children, scope)
        for handler in getattr(node, "handlers", ()):
            self.block(handler.body, scope)
        for case in getattr(node, "cases", ()):
            self.block(case.body, scope)

    def definition(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, qualname: str, scope: str
    ) -> None:
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if names.qualify(target, self.imports) in _REGISTER:
                self.uses.append(ApiUse("register", qualname, scope, self.span(decorator)))
                registered = _registered_id(decorator, node.name)
                if registered is not None:
                    self.uses.append(
                        ApiUse(
                            "register_id",
                            registered,
                            scope,
                            self.span(decorator),
                            receiver=node.name,
                        )
                    )
        if isinstance(node, ast.ClassDef):
            return
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        defaulted = positional[len(positional) - len(args.defaults) :]
        pairs = list(zip(defaulted, args.defaults, strict=True))
        pairs += [
            (a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None
        ]
        for arg, default in pairs:
            if arg.arg == "reduction" and _is_auto(default, self.imports):
                self.uses.append(ApiUse("default", "reduction", qualname, self.span(default)))

    def import_from(self, node: ast.ImportFrom, scope: str) -> None:
        if node.level or not node.module:
            return
        shim = node.module in SHIM_LOSS_MODULES
        if not shim and not any(node.module == m for m in BACKEND_MODULES):
            return
        for alias in node.names:
            if alias.name != "*" and (not shim or alias.name in SHIM_SHORT_NAMES):
                self.uses.append(
                    ApiUse("import", f"{node.module}.{alias.name}", scope, self.span(alias))
                )

    def expressions(self, statement: ast.stmt, scope: str) -> None:
        callee_of: dict[int, ast.Call] = {}
        inner: set[int] = set()
        nodes = list(_own_expressions(statement))
        for node in nodes:
            if isinstance(node, ast.Call):
                callee_of[id(node.func)] = node
            if isinstance(node, ast.Attribute):
                inner.add(id(node.value))
        for node in nodes:
            if isinstance(node, (ast.Attribute, ast.Name)) and id(node) not in inner:
                self.reference(node, scope, callee_of.get(id(node)))
            if isinstance(node, ast.Call):
                self.call(node, scope)
            elif isinstance(node, ast.Attribute) and node.attr == "metrics_tensors":
                self.method(node, "metrics_tensors", node.value, scope, None)
        if isinstance(statement, ast.Assign):
            self._patch(statement, scope)
        if (
            isinstance(statement, ast.AugAssign)
            and isinstance(statement.target, ast.Attribute)
            and statement.target.attr == "metrics_names"
        ):
            self.method(statement.target, "metrics_names.+=", statement.target.value, scope, None)

    def reference(self, node: ast.expr, scope: str, call: ast.Call | None) -> None:
        full = names.full_name(node, self.imports)
        if full is None or not _interesting(full):
            return
        if isinstance(node, ast.Name) and full.rpartition(".")[0] in (
            *BACKEND_MODULES,
            *SHIM_LOSS_MODULES,
        ):
            return  # ``from keras.backend import mean``: the import itself is reported
        self.uses.append(
            ApiUse(
                "ref",
                full,
                scope,
                self.span(node),
                self.span(call) if call is not None else None,
                node=call,
            )
        )

    def call(self, node: ast.Call, scope: str) -> None:
        func = node.func
        for keyword in node.keywords:
            value = keyword.value
            if (
                keyword.arg == "reduction"
                and isinstance(value, ast.Constant)
                and value.value == "auto"
            ):
                self.uses.append(
                    ApiUse(
                        "keyword",
                        "reduction",
                        scope,
                        self.span(keyword.value),
                        self.span(node),
                        node=node,
                    )
                )
        if isinstance(func, ast.Attribute):
            attr = func.attr
            if attr in ("add_metric", "add_loss"):
                self.method(func, attr, func.value, scope, node)
            elif (
                attr in _METRICS_NAMES_MUTATORS
                and isinstance(func.value, ast.Attribute)
                and func.value.attr == "metrics_names"
            ):
                self.method(func, f"metrics_names.{attr}", func.value.value, scope, node)
            elif attr == "__init__" and _is_super_init(func, node):
                self.uses.append(ApiUse("super_init", "", scope, self.span(node), node=node))
            elif attr == "save" and self.saving and not names.qualify(func.value, self.imports):
                self.save(node, func.value, scope)
            elif attr == "fit" and self.saving and any(k.arg == "callbacks" for k in node.keywords):
                parts = names.dotted(func.value)
                if parts:
                    self.fits.append((scope, node.lineno, node, ".".join(parts)))
            elif attr == "update" and self._custom_objects(func.value):
                # ``get_custom_objects().update({"my_loss": my_loss})``: registered for every
                # later load_model(), as a custom_object_scope is for the loads inside it,
                # and, on Keras 2, for the strings compile() is given.
                self.uses.append(ApiUse("load", "handled", scope, self.span(node), node=node))
                given = node.args[0] if len(node.args) == 1 else None
                for key, value in zip(
                    given.keys if isinstance(given, ast.Dict) else (),
                    given.values if isinstance(given, ast.Dict) else (),
                    strict=True,
                ):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        shown = value.id if isinstance(value, ast.Name) else key.value
                        self.uses.append(
                            ApiUse("register_id", key.value, scope, self.span(key), receiver=shown)
                        )
        callee = names.qualify(func, self.imports)
        if callee is None:
            return
        if self.saving and callee in _SAVE_CALLEES and node.args:
            self.save(node, node.args[0], scope)
        elif self.saving and callee == "keras.callbacks.ModelCheckpoint":
            weights_only = next(
                (k.value for k in node.keywords if k.arg == "save_weights_only"), None
            )
            if not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
                self.save(node, None, scope)
        elif callee in _LOAD_CALLEES:
            uncompiled = any(
                k.arg == "compile" and isinstance(k.value, ast.Constant) and k.value.value is False
                for k in node.keywords
            )
            handled = (
                uncompiled
                or any(k.arg == "custom_objects" for k in node.keywords)
                or len(node.args) >= 2
            )
            how = "uncompiled" if uncompiled else "handled" if handled else ""
            self.uses.append(ApiUse("load", how, scope, self.span(node), node=node))
        elif callee.rpartition(".")[2] in ("custom_object_scope", "CustomObjectScope"):
            self.uses.append(ApiUse("load", "handled", scope, self.span(node), node=node))

    def _patch(self, statement: ast.Assign, scope: str) -> None:
        """``keras.metrics.sensitivity = utils.sensitivity``: a function set on standalone
        Keras's ``metrics`` or ``losses`` module under its own name, where Keras 2 looks a
        saved name up (its deserialize reads those modules' globals), so a later load_model()
        finds it. ``tf.keras``'s public modules are not the ones it looks names up in."""
        value = names.dotted(statement.value)
        for target in statement.targets:
            if not (isinstance(target, ast.Attribute) and value and value[-1] == target.attr):
                continue
            parts = names.dotted(target.value)
            if not parts or parts[0] not in self.imports:
                continue
            written = ".".join([self.imports[parts[0]], *parts[1:]])
            if written not in ("keras.metrics", "keras.losses"):
                continue
            head = self.imports.get(value[0])
            qualified = ".".join([head, *value[1:]]) if head else f"{self.module}.{'.'.join(value)}"
            self.uses.append(
                ApiUse("patch", qualified, scope, self.span(statement), receiver=target.attr)
            )

    def _custom_objects(self, node: ast.expr) -> bool:
        """``get_custom_objects()``: Keras's global registry of custom objects."""
        if not isinstance(node, ast.Call):
            return False
        callee = names.qualify(node.func, self.imports)
        return callee is not None and callee.rpartition(".")[2] == "get_custom_objects"

    def method(
        self, attribute: ast.expr, name: str, receiver: ast.expr, scope: str, call: ast.Call | None
    ) -> None:
        if names.qualify(receiver, self.imports) is not None:
            return  # a module function (``tf.add_loss``?), not a model or layer method
        parts = names.dotted(receiver)
        self.uses.append(
            ApiUse(
                "method",
                name,
                scope,
                self.span(attribute),
                self.span(call) if call is not None else None,
                receiver=".".join(parts) if parts else None,
                node=call,
            )
        )

    def save(self, call: ast.Call, receiver: ast.expr | None, scope: str) -> None:
        parts = names.dotted(receiver) if receiver is not None else None
        self.uses.append(
            ApiUse(
                "save",
                "save",
                scope,
                self.span(call),
                receiver=".".join(parts) if parts else None,
                node=call,
            )
        )


_COMPOUND: Final = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.Match,
)


def _header_end(node: ast.stmt) -> int:
    """The last line before a compound statement's first nested statement."""
    body: list[ast.stmt] = getattr(node, "body", None) or []
    if body:
        return max(node.lineno, body[0].lineno - 1)
    return node.lineno


def _interesting(full: str) -> bool:
    head, _, last = full.rpartition(".")
    if head == "tensorflow":
        return last in TF1_MATH or last in TF1_CASTS
    if any(head == m for m in BACKEND_MODULES):
        return True
    if head in SHIM_LOSS_MODULES:
        return last in SHIM_SHORT_NAMES
    return ".Reduction." in f".{full}" or ".ReductionV2." in f".{full}"


def _is_auto(value: ast.expr, imports: Mapping[str, str]) -> bool:
    if isinstance(value, ast.Constant):
        return value.value == "auto"
    full = names.full_name(value, imports)
    return full is not None and full.endswith((".Reduction.AUTO", ".ReductionV2.AUTO"))


def _is_super_init(func: ast.Attribute, call: ast.Call) -> bool:
    receiver = func.value
    if isinstance(receiver, ast.Call) and getattr(receiver.func, "id", None) == "super":
        return bool(call.args)
    # ``Base.__init__(self, reduction, name)``
    return (
        len(call.args) >= 2
        and isinstance(call.args[0], ast.Name)
        and call.args[0].id == "self"
        and names.dotted(receiver) is not None
    )


def _own_expressions(node: ast.stmt) -> Iterator[ast.AST]:
    stack: list[ast.AST] = [
        child for child in ast.iter_child_nodes(node) if not isinstance(child, ast.stmt)
    ]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.stmt):
            continue
        yield current
        stack.extend(ast.iter_child_nodes(current))


def collect_api_uses(
    tree: ast.Module,
    source: str,
    lines: Sequence[str],
    imports: Mapping[str, str],
    module: str,
    saving: bool,
) -> tuple[ApiUse, ...]:
    """Every :class:`ApiUse` in the module; ``saving``: also look for model saves."""
    candidates = _candidate_lines(source, imports, saving)
    collector = _Collector(module, imports, lines, candidates, saving)
    if candidates:
        collector.block(tree.body, module)
    return tuple(_checkpoint_models(collector.uses, collector.fits, collector.span))


def _checkpoint_models(
    uses: list[ApiUse],
    fits: list[tuple[str, int, ast.Call, str]],
    span: Callable[[ast.AST], Span],
) -> Iterator[ApiUse]:
    """A ``ModelCheckpoint`` saves the model of the first ``fit(..., callbacks=...)`` after it
    in its scope: that model is its receiver, and that ``fit`` its ``call`` (the point where
    the model is saved, for LL405: a notebook that rebinds ``model`` compiles several)."""
    for use in uses:
        if use.kind == "save" and use.receiver is None:
            fit = next((f for f in fits if f[0] == use.scope and f[1] >= use.span.line), None)
            if fit is not None:
                use = dataclasses.replace(use, receiver=fit[3], call=span(fit[2]))
        yield use


def keras_flavour(module: ModuleIndex) -> str:
    """ "keras2" for code written against tf_keras only; "keras3" otherwise."""
    fulls = set(module.imports.values())
    old = any(
        f == "tf_keras" or f.startswith(("tf_keras.", "tensorflow.python.keras")) for f in fulls
    )
    new = any(
        f in ("keras", "tensorflow") or f.startswith(("keras.", "tensorflow.keras")) for f in fulls
    )
    if is_keras_source(module.module):
        return "library"
    return "keras2" if old and not new else "keras3"


def standalone_keras(module: ModuleIndex) -> bool:
    """Whether ``module`` is written against standalone (multi-backend) Keras: it imports
    ``keras`` and nothing of TensorFlow's, or only TensorFlow 1 beside it (``tf.Session``,
    ``tf.set_random_seed``: Keras 2.4 on needs TensorFlow 2, so that is Keras 2.3 or older).
    On Keras 2.0 to 2.3, compile maps ``"accuracy"`` to binary accuracy when the loss is
    binary crossentropy, whatever the output's shape (``training_utils.get_metric_function``);
    tf.keras 2.2+ and Keras 3 go by the shape."""
    fulls = module.imports.values()
    if not any(f == "keras" or f.startswith("keras.") for f in fulls):
        return False
    return not any(f.startswith("tensorflow") for f in fulls) or module.tensorflow1


# What TensorFlow 2 removed from its top level (TF 1's graph, session and seed plumbing):
# code that calls it runs on TensorFlow 1, so on Keras 2, whatever else it imports.
_TF1_ONLY: Final = (
    "Session",
    "InteractiveSession",
    "placeholder",
    "set_random_seed",
    "ConfigProto",
    "get_default_graph",
    "global_variables_initializer",
    "enable_eager_execution",
)


# Calls that turn TensorFlow 2's eager execution off for the rest of the process.
_EAGER_OFF: Final = re.compile(r"\b(?:disable_eager_execution|disable_v2_behavior)\s*\(")


def eager_off(source: str) -> int:
    """The line (from 1) of the first call that turns eager execution off
    (``tf.compat.v1.disable_eager_execution()``), outside comments; 0 where none. Read when the
    module is indexed, as :func:`tensorflow_1`."""
    if "disable_" not in source:
        return 0
    for match in _EAGER_OFF.finditer(source):
        start = source.rfind("\n", 0, match.start()) + 1
        if "#" not in source[start : match.start()]:
            return source.count("\n", 0, match.start()) + 1
    return 0


def tensorflow_1(source: str, imports: Mapping[str, str]) -> bool:
    """Whether a module (its ``source`` and ``imports``) is TensorFlow 1 code: it calls one of
    the names TensorFlow 2 removed from its top level through its TensorFlow import
    (``tf.Session()``, ``tf.set_random_seed(seed)``; ``tf.compat.v1.Session`` is TF 2 code), or
    uses ``tf.contrib`` (or imports from it: ``import tensorflow.contrib.eager as tfe``),
    outside comments. Read when the module is indexed: a rule reads the fact, not the text."""
    if any(full.startswith("tensorflow.contrib") for full in imports.values()):
        return True
    for alias in (a for a, full in imports.items() if full == "tensorflow"):
        if f"{alias}." not in source:
            continue
        pattern = re.compile(
            rf"(?<![\w.]){re.escape(alias)}\.(?:contrib\b|(?:{'|'.join(_TF1_ONLY)})\s*\()"
        )
        for match in pattern.finditer(source):
            start = source.rfind("\n", 0, match.start()) + 1
            if "#" not in source[start : match.start()]:
                return True
    return False
