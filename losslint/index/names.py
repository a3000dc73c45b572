"""Import aliases resolved to canonical dotted names.

Every spelling of a Keras object (``tf.keras.layers.Dense``, ``tensorflow.keras.layers.core.Dense``,
``keras.src.layers.Dense``, ``tf_keras.layers.Dense``) maps to one canonical name
(``keras.layers.Dense``) so that rules compare names, never spellings.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Final

from losslint.index import folding
from losslint.index.nodes import subtree
from losslint.index.positions import inline_lambda, lines_at, nodes_on_lines

# Prefixes under which a Keras API lives, longest first.
_KERAS_ROOTS: Final = (
    # The Model Optimization Toolkit's ``from ...compat import keras`` (tf_keras or tf.keras).
    "tensorflow_model_optimization.python.core.keras.compat.keras.",
    "tensorflow.python.keras.",
    "tensorflow.compat.v1.keras.",
    "tensorflow.compat.v2.keras.",
    "tensorflow.keras.",
    "keras._tf_keras.keras.",
    "keras.api._v2.keras.",
    "keras.src.",
    "tf_keras.src.",
    "tf_keras.",
    "keras.",
)
_KERAS_MODULES: Final = frozenset(
    {
        "tensorflow.keras",
        "tensorflow.python.keras",
        "tf_keras",
        "keras",
        "keras.src",
        "keras._tf_keras.keras",
        "tensorflow_model_optimization.python.core.keras.compat.keras",
    }
)

# Sub-packages whose members are addressed as ``keras.<package>.<name>`` whatever the file.
_CATEGORIES: Final = frozenset(
    {
        "activations",
        "applications",
        "backend",
        "callbacks",
        "config",
        "constraints",
        "initializers",
        "layers",
        "losses",
        "metrics",
        "models",
        "ops",
        "optimizers",
        "random",
        "regularizers",
        "saving",
        "utils",
    }
)
_MODEL_CLASSES: Final = {
    "Model": "keras.Model",
    "Functional": "keras.Model",
    "Sequential": "keras.Sequential",
}
# TensorFlow 2's short modules that are Keras's (their classes only: see canonical).
_TF2_ALIASES: Final = {
    "tensorflow.losses": "losses",
    "tensorflow.metrics": "metrics",
    "tensorflow.optimizers": "optimizers",
}
# Keras 3's top-level aliases of base classes (``keras.Loss``, ``tf.keras.Metric``): the names
# the rest of losslint knows them by.
_TOP_LEVEL_BASES: Final = {
    "Loss": "keras.losses.Loss",
    "Metric": "keras.metrics.Metric",
    "Layer": "keras.layers.Layer",
    "Optimizer": "keras.optimizers.Optimizer",
    "Regularizer": "keras.regularizers.Regularizer",
    "Initializer": "keras.initializers.Initializer",
}


# A Keras model class as a base (a subclass is a model whose ``call`` is its forward pass).
KERAS_MODEL_BASES: Final = frozenset({"keras.Model", "keras.models.Model"})
# A layer's call (a model's too) is given batches: it runs again on each one in fit().
KERAS_LAYER_BASES: Final = frozenset({"keras.layers.Layer", "keras.Layer"}) | KERAS_MODEL_BASES


# What reads only the shape of a tensor, not its values: ``x.shape``, ``K.int_shape(x)``,
# ``len(x)`` (the joint-loss decomposition, the value ranges' no-input test).
SHAPE_ATTRIBUTES: Final = frozenset({"shape", "get_shape", "ndim", "dtype"})
SHAPE_FUNCTIONS: Final = frozenset({"shape", "int_shape", "ndim", "rank", "len", "size"})


# The suffix of a definition that another one of the same name replaces in the other arm of an
# ``if``/``else`` (a NumPy fallback under ``else:`` of a TensorFlow loss): not a version that
# runs before the other, as ``#1`` is, but one that does not run where Keras does.
ALTERNATIVE: Final = "#else"


def defined_name(qualname: str) -> str:
    """The name a function or class is written with: the last part of its qualified name,
    less the ``#1`` that sets apart one defined again below it (a notebook's loss written anew
    in a later cell, see the module indexer); a lambda written where it is used is "the
    lambda" (a finding on it points at it)."""
    name = qualname.rpartition(".")[2].partition("#")[0]
    return "the lambda" if inline_lambda(name) else name


@functools.lru_cache(maxsize=4096)
def canonical(full: str) -> str:
    """Map a fully qualified dotted name to its canonical form.

    Keras names become ``keras.<category>.<name>`` (``keras.Model``, ``keras.Sequential`` and
    ``keras.Input`` for the top-level classes); every other name is returned unchanged.
    """
    if full in _KERAS_MODULES:
        return "keras"
    head, _, last = full.rpartition(".") if full.startswith("tensorflow.") else ("", "", "")
    if head in _TF2_ALIASES and last[:1].isupper() and last != "Reduction":
        # TensorFlow 2's ``tf.losses.SparseCategoricalCrossentropy``, ``tf.metrics.Mean``,
        # ``tf.optimizers.Adam`` are Keras's. (TF 1's ``tf.losses`` held functions only, and
        # a ``Reduction`` of its own.)
        return f"keras.{_TF2_ALIASES[head]}.{last}"
    for root in _KERAS_ROOTS:
        if full.startswith(root):
            rest = full[len(root) :].split(".")
            break
    else:
        return full
    last = rest[-1]
    if last in _MODEL_CLASSES and (len(rest) == 1 or rest[0] in {"models", "engine"}):
        return _MODEL_CLASSES[last]
    if len(rest) == 1 and last in _TOP_LEVEL_BASES:
        return _TOP_LEVEL_BASES[last]
    if last in {"Input", "InputLayer"} and (len(rest) == 1 or rest[0] in {"layers", "engine"}):
        return f"keras.layers.{last}" if last == "InputLayer" else "keras.Input"
    if rest[0] in _CATEGORIES:
        if len(rest) == 1:
            return f"keras.{rest[0]}"
        return f"keras.{rest[0]}.{last}"
    if rest[0] == "engine" and len(rest) > 1:
        # Keras 2 internals: keras.engine.base_layer.Layer and friends.
        return f"keras.layers.{last}" if last in {"Layer", "InputSpec"} else f"keras.{last}"
    return "keras." + ".".join(rest)


def is_keras(name: str | None) -> bool:
    return name is not None and (name == "keras" or name.startswith("keras."))


def collect_imports(tree: ast.Module, package: str) -> dict[str, str]:
    """Local alias → fully qualified dotted name, for every import anywhere in the module.

    Function-level imports are included: they bind the same names in practice, and a later,
    conflicting import simply wins, as it would at run time in the common top-down layout.
    Only statements are visited (imports are statements), which is far cheaper than a full walk.
    """
    return collect_imports_and_alternatives(tree, package)[0]


def collect_imports_and_alternatives(
    tree: ast.Module, package: str
) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """:func:`collect_imports`, and every target of a name that is imported from more than one
    place (``from .torch import losses`` in one branch, ``from .tf import losses`` in the
    other): which one binds the name depends on the run, so a lookup may try each."""
    table: dict[str, str] = {}
    seen: dict[str, list[str]] = {}

    def bind(name: str, target: str) -> None:
        table[name] = target
        targets = seen.setdefault(name, [])
        if target not in targets:
            targets.append(target)

    for node in iter_statements(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bind(alias.asname, preview_renamed(alias.name))
                else:
                    root = alias.name.split(".")[0]
                    bind(root, preview_renamed(root))
        elif isinstance(node, ast.ImportFrom):
            base = _absolute_module(node.module, node.level, package)
            if base is None:
                continue
            for alias in node.names:
                if alias.name == "*":
                    continue
                bind(alias.asname or alias.name, f"{base}.{alias.name}" if base else alias.name)
    alternatives = {name: tuple(targets) for name, targets in seen.items() if len(targets) > 1}
    return table, alternatives


# The top-level packages of Keras and TensorFlow.
KERAS_PACKAGES: Final = frozenset({"keras", "tensorflow", "tf_keras"})


def reexported_libraries(imports: Mapping[str, str], source: str) -> dict[str, str]:
    """``keras``, ``K`` or ``tf`` imported by that name from a module of the project, and used
    as a module (``K.mean``): the library the module imported under it (a backend shim picks
    tf.keras or keras, which are the same API). Read so in the file alone, so that its models
    and compile sites are Keras's; the project join follows any other name a project module
    re-exports (see ProjectIndex). A ``K`` read only as a number (``from config import K``,
    the number of folds) keeps its meaning."""
    found: dict[str, str] = {}
    used: set[str] | None = None
    for name, library in _REEXPORTED.items():
        target = imports.get(name)
        if target is None or target.partition(".")[0] in KERAS_PACKAGES:
            continue
        if target.rpartition(".")[2] != name or "." not in target:
            continue
        if used is None:
            used = {name for name, _ in _module_uses(source)}
        if name in used:
            found[name] = library
    return found


def module_aliases(tree: ast.Module, imports: Mapping[str, str]) -> dict[str, str]:
    """Names a module binds once, at its top level, to a Keras or TensorFlow name, as an import
    would: ``keras = tf.keras``, ``layers = tf.keras.layers``, ``K = tf.keras.backend``."""
    from losslint.index.positions import bound_names

    counts: dict[str, int] = {}
    for node in tree.body:
        for named in bound_names(node):
            counts[named] = counts.get(named, 0) + 1
    found: dict[str, str] = {}
    for node in tree.body:
        name = assigned_name(node, ast.Attribute)
        if name is None or not isinstance(node, ast.Assign):
            continue
        target = qualify(node.value, imports)
        if (
            target is not None
            and target.partition(".")[0] in KERAS_PACKAGES
            and counts.get(name) == 1
            and name not in imports
        ):
            found[name] = target
    # Bound only in branches, where every other branch binds None: ``if tf is not None: K =
    # tf.keras.backend`` / ``else: K = None`` (a library that may be missing).
    nested: dict[str, list[ast.expr | None]] = {}
    for node in _branch_statements(tree.body):
        for named in bound_names(node):
            if named not in counts and named not in imports:
                single = isinstance(node, ast.Assign) and len(node.targets) == 1
                value = node.value if isinstance(node, ast.Assign) and single else None
                nested.setdefault(named, []).append(value)
    for name, values in nested.items():
        aliased = [v for v in values if not (isinstance(v, ast.Constant) and v.value is None)]
        if len(aliased) != 1 or not isinstance(aliased[0], ast.Attribute):
            continue
        target = qualify(aliased[0], imports)
        if target is not None and target.partition(".")[0] in KERAS_PACKAGES:
            found[name] = target
    return found


def _branch_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements nested in a module's top-level ``if``, ``try`` and ``with`` statements
    (not in its definitions or loops)."""
    for node in body:
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            parts = [node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])]
            parts += [h.body for h in getattr(node, "handlers", [])]
            for part in parts:
                yield from part
                yield from _branch_statements(part)


_INJECTED_MARKERS: Final = ("get_submodules_from_kwargs", "kwargs['backend']", 'kwargs["backend"]')


def injected_backend(tree: ast.Module, source: str, imports: Mapping[str, str]) -> bool:
    """Whether the module's functions take the Keras backend module as an argument, the
    ``keras_applications`` convention (``backend = kwargs['backend']``, or ``backend, layers,
    models, utils = get_submodules_from_kwargs(kwargs)``) that segmentation_models and the
    applications ports use: ``backend.mean`` there is ``keras.backend.mean``."""
    if "backend" in imports or not any(marker in source for marker in _INJECTED_MARKERS):
        return False
    return any(
        isinstance(node, ast.Assign) and hands_in_backend(node)
        for node in iter_statements(tree.body)
    )


# What code that never imports them (a tutorial snippet, a notebook exported cell by cell)
# means by these names, where nothing in the file binds them. The classes are read where the
# index evaluates values (``Sequential([...])``, ModuleIndexer._unbound_name); the module
# aliases every Keras tutorial uses are handed to the analyses as imports of the module
# (:func:`conventional_aliases`), so that ``K.mean`` is Keras's there.
SNIPPET_CLASSES: Final = {
    "Sequential": "keras.Sequential",
    "Model": "keras.Model",
    "Input": "keras.Input",
    "Dense": "keras.layers.Dense",
    "Activation": "keras.layers.Activation",
    "Dropout": "keras.layers.Dropout",
    "Flatten": "keras.layers.Flatten",
    "Conv2D": "keras.layers.Conv2D",
    "MaxPooling2D": "keras.layers.MaxPooling2D",
}
CONVENTIONAL_ALIASES: Final = {"K": "keras.backend", "tf": "tensorflow", "np": "numpy"}
# The names a project's backend shim re-exports under their usual spelling (bert4keras and its
# forks: ``from toolkit4nlp.backend import keras, K``; ``from utils import tf``).
_REEXPORTED: Final = {"keras": "keras", **{n: CONVENTIONAL_ALIASES[n] for n in ("K", "tf")}}
# A name of either table used as a module: ``K.mean``, ``tf .math``.
_MODULE_WORDS: Final = ("K", "tf", "np", "keras")


@functools.cache
def _module_words(names: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(rf"({'|'.join(names)})\s*\.")


def _module_uses(source: str, wanted: Iterable[str] = _MODULE_WORDS) -> Iterator[tuple[str, int]]:
    """Each name of the tables above (or of ``wanted``) used as a module in ``source`` (``K.mean``,
    ``tf .math``), with the offset of its match: the word, then what precedes it is checked (a
    lookbehind in the pattern made it four times slower on every module)."""
    pattern = _module_words(tuple(n for n in _MODULE_WORDS if n in wanted))
    for match in pattern.finditer(source):
        start = match.start()
        if start and (source[start - 1].isalnum() or source[start - 1] in "_."):
            continue  # part of a longer name (``Dense.``), or an attribute (``x.tf.``)
        yield match.group(1), start


def conventional_aliases(
    tree: ast.Module, source: str, imports: Mapping[str, str]
) -> dict[str, str]:
    """The conventional aliases (``K``, ``tf``, ``np``) that a fragment uses as modules without
    binding them anywhere: a notebook exported cell by cell into files that import nothing
    (``K.mean(...)`` in ``losses.py``, ``K`` imported in ``imports.py``), a gist. A reader
    takes ``K`` for the Keras backend there, and so do the analyses; a module that binds the
    name in any way (an import, even inside a function, an assignment, a parameter, a star
    import that may give it) keeps its own meaning."""
    wanted = {name for name in CONVENTIONAL_ALIASES if name not in imports}
    if not wanted:
        return {}
    lines = lines_at(source, (start for _, start in _module_uses(source, wanted)))
    # Only the statements on those lines are read for a use: the words are in docstrings and
    # comments of every other module (Keras's own sources say ``tf.`` in their docstrings).
    used = _used_as_modules(tree, wanted, lines) if lines else set()
    if not used:
        return {}
    bound: set[str] = set()
    for node in subtree(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif isinstance(node, ast.alias):
            bound.add(node.name if node.name == "*" else (node.asname or node.name).split(".")[0])
    if "*" in bound:
        return {}
    return {name: CONVENTIONAL_ALIASES[name] for name in sorted(used - bound)}


def _used_as_modules(tree: ast.Module, wanted: set[str], lines: list[int]) -> set[str]:
    """The names of ``wanted`` read as modules (``K.mean``) in the statements on ``lines``."""
    return {
        child.value.id
        for part in nodes_on_lines(tree, lines)
        for child in subtree(part)
        if isinstance(child, ast.Attribute)
        and isinstance(child.value, ast.Name)
        and child.value.id in wanted
    }


def hands_in_backend(node: ast.Assign) -> bool:
    """``backend = kwargs['backend']`` or ``backend, ... = get_submodules_from_kwargs(kwargs)``:
    the name ``backend`` is the Keras backend module (see :func:`injected_backend`)."""
    if len(node.targets) != 1:
        return False
    target, value = node.targets[0], node.value
    if isinstance(target, ast.Name):
        return target.id == "backend" and _kwargs_item(value)
    return (
        isinstance(target, ast.Tuple)
        and bool(target.elts)
        and isinstance(target.elts[0], ast.Name)
        and target.elts[0].id == "backend"
        and isinstance(value, ast.Call)
        and (dotted(value.func) or [""])[-1] == "get_submodules_from_kwargs"
    )


def _kwargs_item(value: ast.expr) -> bool:
    """``kwargs['backend']`` or ``kwargs.get('backend'[, default])``."""
    if isinstance(value, ast.Subscript):
        key = value.slice
        return (
            isinstance(value.value, ast.Name)
            and value.value.id == "kwargs"
            and isinstance(key, ast.Constant)
            and key.value == "backend"
        )
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "get"
        and isinstance(value.func.value, ast.Name)
        and value.func.value.id == "kwargs"
        and bool(value.args)
        and isinstance(value.args[0], ast.Constant)
        and value.args[0].value == "backend"
    )


def star_imports(tree: ast.Module, package: str) -> tuple[str, ...]:
    """Modules imported with ``from module import *`` at the top level, in order, also under a
    module-level ``if`` or ``try`` (a backend shim: ``if keras_3(): from keras.ops import *``,
    ``else: from keras_core.ops import *``)."""
    found = []
    pending = list(reversed(tree.body))
    while pending:
        node = pending.pop()
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            base = _absolute_module(node.module, node.level, package)
            if base:
                found.append(base)
        elif isinstance(node, (ast.If, ast.Try)):
            handled = [stmt for handler in getattr(node, "handlers", ()) for stmt in handler.body]
            blocks = [*node.body, *handled, *node.orelse, *getattr(node, "finalbody", ())]
            pending.extend(reversed(blocks))
    return tuple(found)


@functools.cache
def _star_members(module: str) -> frozenset[str] | None:
    """The public names of ``module`` (canonical) when losslint knows them (see
    ``star_names``), else None."""
    from losslint.index.star_names import NAMES

    text = NAMES.get(module)
    return None if text is None else frozenset(text.split())


def star_members(module: str) -> frozenset[str] | None:
    """The public names ``from module import *`` binds, when losslint knows them."""
    return _star_members(canonical(module))


def star_members_unknown(star: str) -> bool:
    """Whether losslint does not know the names ``from star import *`` binds (a project
    module, a package it has no table for)."""
    return _star_members(canonical(star)) is None


def star_source(stars: tuple[str, ...], name: str) -> str | None:
    """The star import a name no statement binds comes from: the last one that may give it,
    passing over Keras, NumPy and the other modules whose names are known and lack it
    (``from utils import *`` then ``from keras.models import *``: ``matthews_correlation`` is
    utils'); None when there is no star import."""
    for star in reversed(stars):
        members = _star_members(canonical(star))
        if members is None or name in members:
            return star
    return stars[-1] if stars else None


# Keras's classes that wire a model, which a project's own module does not define again: a
# star import of a project module (``from util.loss import *``) after ``from
# tensorflow.keras.layers import *`` leaves them Keras's (a project's ``Dense`` or ``Attention``
# may well be its own layer).
_UNSHADOWED: Final = frozenset({"Input", "Lambda", "Model", "Sequential", "TimeDistributed"})


def star_bindings(tree: ast.Module, stars: tuple[str, ...], bound: Iterable[str]) -> dict[str, str]:
    """What ``from keras.layers import *`` (and the other Keras modules, NumPy, math) binds of
    the names the module uses: ``{"Dense": "keras.layers.Dense"}``, as an import table does.
    A name goes to the last star import whose module has it (as at run time). A star import
    of a module whose names losslint does not know (a project module, another package) may
    bind any name, so no name is taken from a star import above it (but the Keras classes that
    wire a model, which projects do not define again: ``Lambda``, ``Model``): those names are
    looked up in the project, or stay unknown. Names the module binds itself (``bound``: its
    imports, definitions and assignments) are left to it."""
    known = [(star, _star_members(canonical(star))) for star in stars]
    if not any(members for _, members in known):
        return {}
    skip = set(bound)
    out: dict[str, str] = {}
    for node in subtree(tree):
        if not isinstance(node, ast.Name) or node.id in skip or node.id in out:
            continue
        for star, members in reversed(known):
            if members is None:
                if node.id in _UNSHADOWED:
                    continue  # a project's helpers, star-imported after Keras's layers
                break  # it may bind the name: not known
            if node.id in members:
                out[node.id] = f"{star}.{node.id}"
                break
    return out


_BODIES: Final = ("body", "orelse", "finalbody", "handlers", "cases")


def parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    """Each node of ``tree`` below its root, mapped to the node that holds it."""
    return {child: node for node in subtree(tree) for child in ast.iter_child_nodes(node)}


def iter_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones included, without visiting expressions."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.stmt):
            yield node
        for name in _BODIES:
            children = getattr(node, name, None)
            if children:
                stack.extend(reversed(children))


def preview_renamed(module: str) -> str:
    """``keras_core`` (2023's preview of Keras 3, the same API under another name) read as
    ``keras``: ``from keras_core import ops`` imports ``keras.ops``."""
    if module == "keras_core" or module.startswith("keras_core."):
        return "keras" + module[len("keras_core") :]
    return module


def _absolute_module(module: str | None, level: int, package: str) -> str | None:
    if level == 0:
        return preview_renamed(module or "")
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    if module:
        base.append(module)
    return ".".join(base)


def last_name(expr: ast.expr) -> str | None:
    """The name an expression ends with: ``mean`` for ``mean`` and for ``tf.math.mean`` or
    ``self.alpha`` (whatever the receiver); None for anything else."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return None


def argument(call: ast.Call, index: int, *keywords: str) -> ast.expr | None:
    """The argument of ``call`` given by one of ``keywords``, else the one at position
    ``index`` (not a ``*args``); None when it is not given."""
    for keyword in call.keywords:
        if keyword.arg in keywords:
            return keyword.value
    if index < len(call.args) and not isinstance(call.args[index], ast.Starred):
        return call.args[index]
    return None


def self_attribute(node: ast.AST) -> str | None:
    """``x`` for ``self.x``; None for anything else."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.attr if node.value.id == "self" else None
    return None


def is_true(node: ast.expr | None) -> bool:
    """``True`` as written (``run_eagerly=True``, ``from_logits=True``)."""
    return isinstance(node, ast.Constant) and node.value is True


def is_false(node: ast.expr | None) -> bool:
    """``False`` as written (``from_logits=False``, ``compile=False``)."""
    return isinstance(node, ast.Constant) and node.value is False


def is_none(node: ast.expr) -> bool:
    """``None`` as written (``self.cost = None``, a slot another method fills)."""
    return isinstance(node, ast.Constant) and node.value is None


def held_name(expr: ast.AST) -> str | None:
    """How a value is held where it is bound and read back: ``loss`` or ``self.loss``."""
    if isinstance(expr, ast.Name):
        return expr.id
    attribute = self_attribute(expr)
    return f"self.{attribute}" if attribute is not None else None


def equality_operands(
    node: ast.expr, is_equal: Callable[[ast.expr], bool]
) -> tuple[ast.expr, ast.expr] | None:
    """The operands of ``equal(a, b)`` (a call whose function ``is_equal`` accepts) or of
    ``a == b``; None for anything else."""
    if isinstance(node, ast.Call) and len(node.args) == 2 and not node.keywords:
        return (node.args[0], node.args[1]) if is_equal(node.func) else None
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
        return node.left, node.comparators[0]
    return None


def dotted(expr: ast.expr) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; None for anything that is not a plain name chain."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    parts.reverse()
    return parts


def full_name(expr: ast.expr, imports: Mapping[str, str]) -> str | None:
    """The imported dotted name as written, not canonicalised (``tensorflow.keras.backend.mean``).

    Rules that care which Keras an object comes from (the ``tf.keras`` legacy shim keeps
    ``backend.mean``, Keras 3 does not) read this instead of :func:`qualify`.
    """
    parts = dotted(expr)
    if parts is None or parts[0] not in imports:
        return None
    if len(parts) > 1 and (shimmed := imports.get(f"{parts[0]}.{parts[1]}")) is not None:
        return ".".join([shimmed, *parts[2:]])  # a shim's re-export (``ProjectIndex``)
    return ".".join([imports[parts[0]], *parts[1:]])


def qualify(expr: ast.expr, imports: Mapping[str, str]) -> str | None:
    """The canonical name of an imported object referenced by ``expr``, or None."""
    parts = dotted(expr)
    if parts is None or parts[0] not in imports:
        return None
    if len(parts) > 1 and (shimmed := imports.get(f"{parts[0]}.{parts[1]}")) is not None:
        return canonical(".".join([shimmed, *parts[2:]]))  # a shim's re-export
    return canonical(".".join([imports[parts[0]], *parts[1:]]))


# Activations by the last component of their canonical name, for the modules that provide them.
_ACTIVATION_MODULES: Final = frozenset(
    {
        "keras.activations",
        "keras.ops",
        "keras.backend",
        "keras.layers",
        "tensorflow",
        "tensorflow.nn",
        "tensorflow.math",
        "jax.nn",
        "torch",
        "torch.nn.functional",
    }
)
_ACTIVATION_ALIASES: Final = {
    "leakyrelu": "leaky_relu",
    "leaky_relu": "leaky_relu",
    "log_softmax": "log_softmax",
    "logsoftmax": "log_softmax",
    "hardsigmoid": "hard_sigmoid",
    "silu": "swish",
    "none": "linear",
}
PROBABILITY_ACTIVATIONS: Final = frozenset({"softmax", "sigmoid", "hard_sigmoid"})
# Keras's loss functions spelled in capitals (``tf.keras.losses.MSE``, ``keras.losses.KLD``,
# also in ``keras.metrics``): functions, as their lower-case names are, not classes.
LOSS_FUNCTION_ALIASES: Final = frozenset({"MSE", "MAE", "MAPE", "MSLE", "KLD", "BCE"})


def keras_class_name(last: str) -> bool:
    """Whether ``last``, a name in ``keras.losses`` or ``keras.metrics``, is a class's:
    capitalised, and not a function's capital alias (``MSE``)."""
    return last[:1].isupper() and last not in LOSS_FUNCTION_ALIASES


# A Hugging Face TensorFlow model whose one output is a task head's logits, made from a
# checkpoint, a configuration or directly (``TFAutoModelForSequenceClassification
# .from_pretrained``): its ``train_step`` gives a compiled loss the first output that is not the
# loss, the logits (``TFPreTrainedModel.train_step`` in transformers' ``modeling_tf_utils.py``).
HUGGING_FACE_HEAD: Final = re.compile(
    r"transformers\.TF\w*For(SequenceClassification|TokenClassification|MultipleChoice"
    r"|MaskedLM|CausalLM|ImageClassification)(\.from_pretrained|\.from_config)?$"
)
# Activations whose outputs are not probabilities; a crossentropy without from_logits=True
# would clip or renormalise them. Anything not listed is treated as unknown.
NON_PROBABILITY_ACTIVATIONS: Final = frozenset(
    {
        "linear",
        "relu",
        "relu6",
        "tanh",
        "elu",
        "selu",
        "gelu",
        "softplus",
        "softsign",
        "swish",
        "mish",
        "leaky_relu",
        "exponential",
        "log_softmax",
        "hard_swish",
        "celu",
        "glu",
        "sparse_plus",
        "squareplus",
    }
)


def activation_from_string(text: str) -> str:
    key = text.strip().lower()
    return _ACTIVATION_ALIASES.get(key, key)


def activation_from_name(name: str) -> str | None:
    """``keras.activations.softmax`` / ``tensorflow.nn.sigmoid`` → ``softmax`` / ``sigmoid``."""
    module, _, last = name.rpartition(".")
    if module not in _ACTIVATION_MODULES:
        return None
    key = activation_from_string(last)
    if key in PROBABILITY_ACTIVATIONS or key in NON_PROBABILITY_ACTIVATIONS:
        return key
    return None


# Modules whose functions are tensor math, by canonical name: what the numerics and batch-axis
# analyses interpret (``K.log``, ``tf.math.log``, ``ops.log``, ``np.log``, ``torch.log`` ...).
TENSOR_MATH_MODULES: Final = frozenset(
    {
        "keras.ops",
        "keras.backend",
        "keras.activations",
        "tensorflow",
        "tensorflow.dtypes",  # tf.dtypes.cast, tf.dtypes.saturate_cast
        "tensorflow.math",
        "tensorflow.nn",
        "tensorflow.linalg",
        "tensorflow.experimental.numpy",
        "numpy",
        "numpy.linalg",
        "math",
        "jax.numpy",
        "jax.nn",
        "jax.numpy.linalg",
        "torch",
        "torch.nn.functional",
        "torch.linalg",
        "scipy.special",
        # Keras 1 and 2 ran on Theano too: a loss of that era writes ``T.log``, ``T.sum``.
        "theano.tensor",
        "theano.tensor.extra_ops",
    }
)


def imports_module(name: str, module: str) -> bool:
    """Whether an imported name (``pkg.utils`` or ``pkg.utils.eps``) is, or is in, ``module``
    (whose dotted name may start at another package root)."""
    for candidate in (name, name.rpartition(".")[0]):
        if candidate and (
            candidate == module
            or candidate.endswith("." + module)
            or module.endswith("." + candidate)
        ):
            return True
    return False


# Arrays of one repeated number (``tf.ones_like(x)``, ``np.zeros((n, 1))``, ``ops.full(s, v)``),
# by the libraries that make them.
FILLED: Final = frozenset({"ones_like", "zeros_like", "ones", "zeros", "full", "full_like", "fill"})
_FILLED_HOMES: Final = frozenset({"tensorflow", "keras", "numpy", "jax"})


def filled_array(expr: ast.expr | None, imports: Mapping[str, str]) -> bool:
    """Whether ``expr`` makes an array of one repeated number: constant labels
    (``tf.ones_like(fake_output)``), the loss of an output that is not trained (``K.mean(
    K.zeros_like(y_pred))``)."""
    if not isinstance(expr, ast.Call):
        return False
    qualified = qualify(expr.func, imports)
    if qualified is None:
        return False
    return qualified.rpartition(".")[2] in FILLED and qualified.split(".")[0] in _FILLED_HOMES


# Keras losses whose value changes when y_true and y_pred are exchanged: functions (in
# ``keras.losses``, ``keras.metrics``, Keras 2's backend, Keras 1's ``objectives``) and classes.
ASYMMETRIC_LOSSES: Final = frozenset(
    {
        "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
        "binary_focal_crossentropy", "categorical_focal_crossentropy", "kl_divergence",
        "kullback_leibler_divergence", "kld", "KLD", "poisson", "hinge", "squared_hinge",
        "categorical_hinge", "mean_absolute_percentage_error", "mape", "MAPE",
        "mean_squared_logarithmic_error", "msle", "MSLE",
    }
)  # fmt: skip
ASYMMETRIC_LOSS_CLASSES: Final = frozenset(
    {
        "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
        "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "KLDivergence", "Poisson",
        "Hinge", "SquaredHinge", "CategoricalHinge", "MeanAbsolutePercentageError",
        "MeanSquaredLogarithmicError",
    }
)  # fmt: skip
LOSS_HOMES: Final = frozenset(
    {"keras.losses", "keras.metrics", "keras.backend", "keras.objectives"}
)


def asymmetric_object(made: ast.expr, imports: Mapping[str, str]) -> bool:
    """Whether ``made`` makes a Keras loss object whose arguments cannot be exchanged
    (``keras.losses.BinaryCrossentropy(from_logits=True)``)."""
    if not isinstance(made, ast.Call):
        return False
    qualified = qualify(made.func, imports)
    home, _, last = (qualified or "").rpartition(".")
    return home in LOSS_HOMES and last in ASYMMETRIC_LOSS_CLASSES


def asymmetric_loss(call: ast.Call, imports: Mapping[str, str]) -> str | None:
    """How ``call`` names a Keras loss whose arguments cannot be exchanged, else None:
    ``K.binary_crossentropy``, ``keras.losses.KLDivergence()`` (an object called)."""
    func = call.func
    built = isinstance(func, ast.Call)  # ``BinaryCrossentropy(from_logits=True)(y_pred, y)``
    if isinstance(func, ast.Call):
        func = func.func
    qualified = qualify(func, imports)
    if qualified is None:
        return None
    home, _, last = qualified.rpartition(".")
    known = ASYMMETRIC_LOSS_CLASSES if built else ASYMMETRIC_LOSSES
    if home not in LOSS_HOMES or last not in known:
        return None
    return f"{folding.unparse(func)}(...)" if built else folding.unparse(call.func)


def assigned_name(node: ast.AST, value: type[ast.expr]) -> str | None:
    """The name ``node`` binds where it is ``name = <value>``: one plain name assigned a
    node of type ``value`` (an attribute, a call); None for anything else."""
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, value)
    ):
        return node.targets[0].id
    return None


def unshaped_names(node: ast.AST) -> set[str]:
    """The names ``node`` reads other than through a shape (``ops.shape(inputs)[2]``,
    ``inputs.shape``, ``len(x)``): a size carries no gradient."""
    found: set[str] = set()
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Name):
            found.add(current.id)
        elif isinstance(current, ast.Attribute) and current.attr in SHAPE_ATTRIBUTES:
            continue
        elif isinstance(current, ast.Call) and last_name(current.func) in SHAPE_FUNCTIONS:
            stack.extend(k.value for k in current.keywords if k.arg not in (None, "input", "x"))
            continue
        stack.extend(ast.iter_child_nodes(current))
    return found


# The four cells of a confusion matrix, each by its spellings (a soft-F1 loss's ``tn``, a
# metric's ``true_negatives``).
CONFUSION_CELLS: Final = {
    "tp": frozenset({"tp", "true_positives"}),
    "tn": frozenset({"tn", "true_negatives"}),
    "fp": frozenset({"fp", "false_positives"}),
    "fn": frozenset({"fn", "false_negatives"}),
}
CONFUSION_COUNTS: Final = frozenset().union(*CONFUSION_CELLS.values())


def confusion_cell(name: str) -> str | None:
    """The cell of a confusion matrix that ``name`` counts, by its spelling with underscores
    dropped (``t_p``, ``self.true_positives``' attribute): "tp", "tn", "fp" or "fn"."""
    squeezed = name.replace("_", "").lower()
    for cell, spellings in CONFUSION_CELLS.items():
        if any(squeezed == s.replace("_", "") for s in spellings):
            return cell
    return None
