"""One parsed module → its facts (:class:`ModuleIndex`).

A single pass records, per scope (module, function), which names are bound to which expressions,
which ``.add(layer)`` calls a Sequential variable receives, and where ``.compile(...)`` is called.
Values are then evaluated on demand: names are followed to their last unconditional binding,
module constants and imports are resolved, and the functional layer graph is walked back from a
model's outputs to find each output's units, activation and name.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import functools
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeGuard

from losslint.diagnostic import Span
from losslint.index import folding, names
from losslint.index.apis import collect_api_uses, eager_off, tensorflow_1
from losslint.index.facts import (
    ApiUse,
    Call,
    ClassDef,
    CompileSite,
    Const,
    ConstantLabels,
    FunctionDef,
    Handed,
    ImportedUnits,
    LambdaLayer,
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
)
from losslint.index.nodes import subtree
from losslint.index.positions import (
    DEFINITIONS,
    LambdaDef,
    assigned_lambda,
    bound_names,
    column,
    first_line,
    flat_statements,
    lines_at,
    lines_matching,
    lines_with_words,
    node_span,
    nodes_on_lines,
    parts_on_lines,
    source_lines,
    two_parameters,
    word_starts,
)
from losslint.noqa import names_ours
from losslint.notebook import UNPARSED_WORD, cell_errors

_MAX_DEPTH: Final = 24
# A name bound in branches: how deep in a chain of names its branches are followed, and how
# many are kept (see ``_branch_values``).
_MAX_BRANCH_DEPTH: Final = 4
_MAX_BRANCHES: Final = 8
_COMPILE_KEYWORDS: Final = frozenset(
    {"optimizer", "loss", "metrics", "loss_weights", "weighted_metrics"}
)
# Every keyword some version of Keras's ``Model.compile`` takes (Keras 1 and 2 handed the rest
# to the backend's ``function``, which takes the last group): a compile given another keyword
# (DeepXDE's ``model.compile("adam", lr=1e-3)``) is some other library's.
_KERAS_COMPILE_KEYWORDS: Final = _COMPILE_KEYWORDS | frozenset(
    {
        "sample_weight_mode", "target_tensors", "run_eagerly", "steps_per_execution",
        "jit_compile", "auto_scale_loss", "distribute", "experimental_run_tf_function",
        "experimental_steps_per_execution", "pss_evaluation_shards", "options", "run_metadata",
        "fetches", "feed_dict", "session_kwargs", "mode", "name", "updates",
    }
)  # fmt: skip
_BUILTINS: Final = frozenset({"float", "int", "dict", "list", "tuple", "abs", "max", "min", "len"})

# Layers whose output has the input's last axis and values (name aside).
_PASS_THROUGH: Final = frozenset(
    {
        "Dropout",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "SpatialDropout3D",
        "GaussianNoise",
        "GaussianDropout",
        "AlphaDropout",
        "ActivityRegularization",
        "Masking",
        "Identity",
    }
)
_NORMALIZATION: Final = frozenset(
    {"BatchNormalization", "LayerNormalization", "UnitNormalization", "GroupNormalization"}
)
_KEEP_ACTIVATION: Final = frozenset(
    {
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
        "GlobalAveragePooling3D",
        "GlobalAvgPool1D",
        "GlobalAvgPool2D",
        "GlobalAvgPool3D",
    }
)
_CONV: Final = frozenset(
    {
        "Conv1D",
        "Conv2D",
        "Conv3D",
        "Convolution1D",
        "Convolution2D",
        "Convolution3D",
        "Conv1DTranspose",
        "Conv2DTranspose",
        "Conv3DTranspose",
        "SeparableConv1D",
        "SeparableConv2D",
    }
)
# Recurrent layers, whose activation is tanh unless given (cuDNN's fused ones: always).
_RECURRENT: Final = frozenset(
    {"LSTM", "GRU", "SimpleRNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "CuDNNLSTM", "CuDNNGRU"}
)
_POOLING: Final = (
    "MaxPooling",
    "MaxPool",
    "AveragePooling",
    "AvgPool",
    "GlobalMaxPooling",
    "GlobalMaxPool",
    "UpSampling",
    "ZeroPadding",
    "Cropping",
)
_ACTIVATION_LAYERS: Final = {
    "Softmax": "softmax",
    "ReLU": "relu",
    "LeakyReLU": "leaky_relu",
    "ELU": "elu",
    "PReLU": "leaky_relu",
}


@dataclass(slots=True)
class _Binding:
    line: int
    value: ast.expr | None  # None: bound in a way we do not evaluate (loop target, unpacking)
    conditional: bool
    scope: _Scope
    # The lines of the innermost branch (or loop body) a conditional binding is in: a use
    # later in the same branch sees this value (``model = Model(...)`` then ``model.compile``
    # under one ``if``), whatever the other branch binds.
    branch: tuple[int, int] | None = None
    # Of a name unpacked from ``value`` (``a, b = expr``): its position among how many targets.
    position: tuple[int, int] | None = None
    # The lines of the other branch of the ``if`` this binding is in: there it never ran.
    excluded: tuple[int, int] | None = None
    # Of a loop target: the values it takes in turn, where the loop runs over a literal
    # (``for loss in [mse, weighted_mae]``, ``for key, loss in {"l01": ...}.items()``).
    elements: tuple[ast.expr, ...] = ()


def _ran_before(binding: _Binding, line: float) -> bool:
    """Whether ``binding`` may have run before ``line``: above it, and not in the other
    branch of an ``if`` whose ``else`` (or ``elif``) holds ``line``."""
    excluded = binding.excluded
    return binding.line < line and not (excluded is not None and excluded[0] <= line <= excluded[1])


def _extent(body: list[ast.stmt]) -> tuple[int, int] | None:
    """The lines of a block, None for an empty one."""
    if not body:
        return None
    return body[0].lineno, body[-1].end_lineno or body[-1].lineno


def _bindings_in_scope(
    name: str, scope: _Scope, line: float
) -> tuple[_Scope, list[_Binding], float] | None:
    """The scope, from ``scope`` outwards, that binds ``name``, its bindings, and the line to
    read them at (the end of an enclosing scope, which has run by then); None where a scope
    takes ``name`` as a parameter first, or none binds it."""
    current: _Scope | None = scope
    while current is not None:
        bindings = current.bindings.get(name)
        if bindings:
            return current, bindings, line
        if name in current.params:
            return None
        current, line = current.parent, math.inf
    return None


def _last_before(bindings: list[_Binding], line: float) -> _Binding | None:
    """The last of ``bindings`` before ``line`` when it surely holds there: unconditional, or
    in the branch that ``line`` is in (a binding in the other branch of the same ``if`` never
    ran there: ``features = Dropout(...)(features)`` under ``if class_num:`` leaves the
    ``features`` that its ``else`` reads)."""
    last = _last_bound(bindings, line)
    return last if last is not None and last.value is not None else None


def _last_bound(bindings: list[_Binding], line: float) -> _Binding | None:
    """:func:`_last_before`, also where it binds no value (a name unpacked from a call)."""
    prior = [b for b in bindings if _ran_before(b, line)]
    if not prior:
        return None
    last = prior[-1]
    if last.conditional and not (
        last.branch is not None and last.branch[0] <= line <= last.branch[1]
    ):
        return None
    return last


@dataclass(slots=True)
class _Add:
    line: int
    layer: ast.expr
    conditional: bool


@dataclass(slots=True)
class _Scope:
    qualname: str
    parent: _Scope | None
    params: dict[str, Param] = field(default_factory=dict)
    bindings: dict[str, list[_Binding]] = field(default_factory=dict)
    adds: dict[str, list[_Add]] = field(default_factory=dict)
    compiles: list[ast.Call] = field(default_factory=list)
    # ``x.fit(...)``, ``fit_generator``, ``train_on_batch``
    trainings: list[ast.Call] = field(default_factory=list)
    handed: list[ast.Call] = field(default_factory=list)  # ``Net(loss="mse")``: see ``Handed``
    # (kind, trained expression, what a gradient is taken with respect to)
    objectives: list[tuple[str, ast.expr, ast.expr | None]] = field(default_factory=list)
    watched: set[str] = field(default_factory=set)  # names given to ``tape.watch``
    # Names a training step updates: ``x.assign_sub(...)``, or named in the arguments of
    # ``apply_gradients``/``minimize``.
    updated: dict[str, list[int]] = field(default_factory=dict)  # by name, their lines
    returns: list[ast.expr] = field(default_factory=list)
    # ``self.x = value`` in a method: what ``self.x`` means in the class's other methods.
    attributes: dict[str, list[_Binding]] = field(default_factory=dict)
    # ``a, b = expr``: the expression each name was unpacked from (only to tell tensors).
    unpacked: dict[str, _Binding] = field(default_factory=dict)

    def bind(
        self,
        name: str,
        line: int,
        value: ast.expr | None,
        conditional: bool,
        branch: tuple[int, int] | None = None,
        excluded: tuple[int, int] | None = None,
    ) -> None:
        binding = _Binding(
            line,
            value,
            conditional,
            self,
            branch if conditional else None,
            excluded=excluded if conditional else None,
        )
        self.bindings.setdefault(name, []).append(binding)

    def resolve(self, name: str, line: float) -> _Binding | Param | None:
        """The binding of ``name`` visible at ``line``, following enclosing scopes.

        Only the last binding before ``line`` counts, and only when it is unconditional: a name
        bound in an ``if`` or a loop could hold either value, except at a line of the same
        branch, which only runs after it.
        """
        scope: _Scope | None = self
        while scope is not None:
            bindings = scope.bindings.get(name)
            if bindings:
                return _last_before(bindings, line)
            if name in scope.params:
                return scope.params[name]
            # Enclosing scopes have run to completion by the time an inner function runs.
            scope, line = scope.parent, math.inf
        return None


def pretrained_model(call: ast.Call, span: Span) -> ModelFact:
    """The model a Hugging Face head class makes (:data:`names.HUGGING_FACE_HEAD`): its one
    compiled output is the head's logits, with no activation, as many as its ``num_labels``
    (when given) for a classifier."""
    labels = names.argument(call, 99, "num_labels")
    units = labels.value if isinstance(labels, ast.Constant) and type(labels.value) is int else None
    return ModelFact("pretrained", "single", (Output(None, units, "linear", span),), span)


def _parameter_model(scope: _Scope, name: str, param: Param) -> ModelRef | None:
    """The model that callers pass for parameter ``name`` (``param``) of the function whose
    scope (or an enclosing one) declares it: ``def train(model): model.compile(...)``."""
    owner: _Scope | None = scope
    while owner is not None and owner.params.get(name) is not param:
        owner = owner.parent
    if owner is None or owner.parent is None:
        return None
    return ModelRef(param=param, owner=owner.qualname)


_MAX_REPEATED: Final = 64  # ``[loss] * n``: longer lists are not written out


def _joined(op: ast.operator, left: Value, right: Value, span: Span) -> Seq | None:
    """A list or tuple written as ``[a] * 2 + [b]`` (one loss per output): the items it holds;
    None for any other operation."""
    if (
        isinstance(op, ast.Add)
        and isinstance(left, Seq)
        and isinstance(right, Seq)
        and left.kind == right.kind
    ):
        return Seq(left.kind, left.items + right.items, span)
    if isinstance(op, ast.Mult):
        for items, times in ((left, right), (right, left)):
            if (
                isinstance(items, Seq)
                and isinstance(times, Const)
                and type(times.value) is int
                and 0 <= times.value * len(items.items) <= _MAX_REPEATED
            ):
                return Seq(items.kind, items.items * times.value, span)
    return None


def _lambdas_named_once(body: list[ast.stmt]) -> set[ast.Lambda]:
    """The lambdas of ``name = lambda a, b: ...`` in a scope's body that are read as functions
    of that name: the only binding of the name there, and no ``def`` or class of it."""
    counts: dict[str, int] = {}
    lambdas: dict[str, ast.Lambda] = {}
    for statement in flat_statements(body):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            counts[statement.name] = counts.get(statement.name, 0) + 2
            continue
        for name in bound_names(statement):
            counts[name] = counts.get(name, 0) + 1
        named = assigned_lambda(statement)
        if named is not None:
            lambdas[named[0]] = named[1]
    return {lam for name, lam in lambdas.items() if counts.get(name) == 1}


def _compiled_lambdas(call: ast.Call) -> Iterator[ast.Lambda]:
    """The lambdas a compile call is given as losses or metrics (``loss={"crf": lambda yt,
    yp: ops.mean(yp)}``), with the two parameters of one."""
    arguments = [*call.args[1:], *(k.value for k in call.keywords if k.arg != "optimizer")]
    pending: list[ast.AST] = list(arguments)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Lambda):
            if two_parameters(node):
                yield node
            continue  # a lambda inside one is not compiled itself
        pending.extend(ast.iter_child_nodes(node))


class _ScopeBuilder:
    """Collects bindings, ``.add`` calls, compile calls and returns of one scope."""

    def __init__(
        self,
        scope: _Scope,
        nested: Callable[[ast.AST, _Scope], None],
        call_lines: frozenset[int],
        lambda_lines: Sequence[int],
    ) -> None:
        self.scope = scope
        self.nested = nested
        self.call_lines = call_lines
        self.lambda_lines = lambda_lines  # the lines where ``lambda`` is written
        self.branch: tuple[int, int] | None = None  # the innermost conditional block's lines
        self.other: tuple[int, int] | None = None  # and those of its ``if``'s other branch
        self.lambdas: set[ast.Lambda] = set()  # read as functions (``_lambdas_named_once``)

    def run(self, body: list[ast.stmt]) -> None:
        # (A body with no ``lambda`` written in its lines assigns none.)
        named = body and _lines_hold(body[0], body[-1], self.lambda_lines)
        self.lambdas = _lambdas_named_once(body) if named else set()
        for stmt in body:
            self.stmt(stmt, conditional=False)

    def stmt(self, node: ast.stmt, conditional: bool) -> None:
        scope = self.scope
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope.bind(node.name, node.lineno, None, conditional, self.branch)
            self.nested(node, scope)
            return
        self.expressions(node)
        named = assigned_lambda(node)
        if named is not None and named[1] in self.lambdas:
            self.nested(LambdaDef.of(named[1], named[0]), scope)
        if isinstance(node, ast.Assign):
            plain = len(node.targets) == 1 or all(isinstance(t, ast.Name) for t in node.targets)
            for target in node.targets:
                self.target(target, node.value if plain else None, conditional, node.lineno)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            self.target(node.target, node.value, conditional, node.lineno)
        elif isinstance(node, ast.AugAssign):
            self.target(node.target, None, conditional, node.lineno)
        elif isinstance(node, ast.Return) and node.value is not None:
            scope.returns.append(node.value)
        elif isinstance(node, ast.Expr):
            self.add_call(node.value, conditional)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.target(node.target, None, True, node.lineno)
            for name, elements in _loop_elements(node, self.scope).items():
                self.scope.bindings[name][-1].elements = elements
            self.block(node.body, True)
            self.block(node.orelse, True)
        elif isinstance(node, ast.If) and self.scope.parent is None and _is_main_guard(node.test):
            # ``if __name__ == "__main__":`` is how a script runs: its body always does.
            self.block(node.body, conditional)
            self.block(node.orelse, True)
        elif isinstance(node, ast.If):
            self.block(node.body, True, _extent(node.orelse))
            self.block(node.orelse, True, _extent(node.body))
        elif isinstance(node, ast.While):
            self.block(node.body, True)
            self.block(node.orelse, True)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    self.target(item.optional_vars, None, conditional, node.lineno)
            self.block(node.body, conditional)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            try_node: ast.Try = node  # type: ignore[assignment]
            self.block(try_node.body, conditional)
            for handler in try_node.handlers:
                if handler.name:
                    scope.bind(handler.name, handler.lineno, None, True)
                self.block(handler.body, True)
            self.block(try_node.orelse, True)
            self.block(try_node.finalbody, conditional)
        elif isinstance(node, ast.Match):
            for case in node.cases:
                self.block(case.body, True)

    def block(
        self, body: list[ast.stmt], conditional: bool, other: tuple[int, int] | None = None
    ) -> None:
        outer, outer_other = self.branch, self.other
        if conditional and body:
            self.branch = _extent(body)
            self.other = other
        try:
            for stmt in body:
                self.stmt(stmt, conditional)
        finally:
            self.branch, self.other = outer, outer_other

    def target(
        self, target: ast.expr, value: ast.expr | None, conditional: bool, line: int
    ) -> None:
        if isinstance(target, ast.Name):
            self.scope.bind(target.id, line, value, conditional, self.branch, self.other)
        elif (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
        ):
            self.scope.attributes.setdefault(target.attr, []).append(
                _Binding(line, value, conditional, self.scope, self.branch if conditional else None)
            )
        elif isinstance(target, (ast.Tuple, ast.List)):
            paired = _paired_values(target, value)
            for position, element in enumerate(target.elts):
                if position == 0 and _with_states(value) and isinstance(element, ast.Name):
                    # ``out, h, c = LSTM(64, return_state=True)(x)``: the first is the
                    # layer's output, the states follow.
                    self.target(element, value, conditional, line)
                    continue
                if paired is not None:
                    # ``policy, value, kld = Policy(), Value(), KLD()``: each its own value.
                    self.target(element, paired[position], conditional, line)
                    continue
                if value is not None and isinstance(element, ast.Name):
                    self.scope.unpacked[element.id] = _Binding(
                        line, value, conditional, self.scope, position=(position, len(target.elts))
                    )
                self.target(element, None, conditional, line)
        elif isinstance(target, ast.Starred):
            self.target(target.value, None, conditional, line)

    def add_call(self, expr: ast.expr, conditional: bool) -> None:
        if not (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr == "add"
            and len(expr.args) == 1
        ):
            return
        receiver = expr.func.value
        if isinstance(receiver, ast.Name):
            key = receiver.id
        elif (
            isinstance(receiver, ast.Attribute)
            and isinstance(receiver.value, ast.Name)
            and receiver.value.id == "self"
        ):
            key = f"self.{receiver.attr}"  # ``self.kmodel.add(Dense(2))``
        else:
            return
        self.scope.adds.setdefault(key, []).append(_Add(expr.lineno, expr.args[0], conditional))

    def expressions(self, node: ast.stmt) -> None:
        """Find compile calls and training objectives in the statement's own expressions.

        Only statements spanning a line that mentions one of the calls are searched: walking
        every expression of every statement would cost more than parsing.
        """
        if not self.call_lines:
            return
        end = node.end_lineno or node.lineno
        if not any(line in self.call_lines for line in range(node.lineno, end + 1)):
            return
        for child in _own_expressions(node):
            if not isinstance(child, ast.Call):
                continue
            func = child.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "compile" and isinstance(func, ast.Attribute):
                self.scope.compiles.append(child)
                for lam in _compiled_lambdas(child):
                    self.nested(LambdaDef.of(lam, None), self.scope)
                continue
            if name in _TRAINING_CALLS and isinstance(func, ast.Attribute):
                self.scope.trainings.append(child)
                continue
            if name == "watch" and child.args and isinstance(child.args[0], ast.Name):
                self.scope.watched.add(child.args[0].id)
            if (
                name in _UPDATES
                and isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
            ):
                self.scope.updated.setdefault(func.value.id, []).append(child.lineno)
            if name in ("apply_gradients", "minimize") and isinstance(func, ast.Attribute):
                for named in subtree(child):
                    if isinstance(named, ast.Name):
                        self.scope.updated.setdefault(named.id, []).append(child.lineno)
            objective = _objective(name, child)
            if objective is not None:
                self.scope.objectives.append(objective)
            if any(k.arg and _HANDED_KEYWORD.search(k.arg) for k in child.keywords):
                self.scope.handed.append(child)


# ``self.X`` (``myself.X`` too: a superset is enough). A ``\b`` first would make it 8x slower.
_SELF_ATTRIBUTE: Final = re.compile(r"self\s*\.\s*(\w+)")


def _runs_sessions(source: str, lines: Sequence[str]) -> bool:
    """A line mentions ``.run(`` and ``sess``: ``sess.run(...)``, ``session.run(...)``."""
    if "sess" not in source or ".run(" not in source:
        return False
    return any(".run(" in line and "sess" in line for line in lines)


_CALL_WORDS: Final = (
    *("compile", "minimize", "grad", "get_updates", "add_loss", "backward", ".fit("),
    ".fit_generator(",
    *("train_on_batch", ".watch(", ".assign", "optimize_loss", "create_train_op"),
)  # "gradient" and "apply_gradients" too
# A loss or metric keyword of a call (``Net(lr, loss="mse")``, ``loss=dice,`` on its own line):
# the word, then what comes before it is checked (_keyword_lines). Assignments are written with
# spaces around ``=`` and start no argument list.
_KEYWORD: Final = re.compile(r"(?:loss|metric)\w*([ \t]*)=(?!=)")


def _call_lines(source: str) -> frozenset[int]:
    """The lines that may hold a call the indexer reads (a compile, a training step, a loss
    or metric handed by keyword): the words above, each line counted as Python does."""
    keywords: list[int] = []
    for match in _keywords(source):
        start = match.start()
        while start > 0 and (source[start - 1].isalnum() or source[start - 1] == "_"):
            start -= 1  # the whole name: ``focal_loss=``, ``val_metrics=``
        before = start
        while before > 0 and source[before - 1] in " \t":
            before -= 1
        mark = source[before - 1] if before > 0 else "\n"
        # After ``(`` or ``,`` (an argument), or alone on an indented line with no space
        # before ``=`` (an argument continued on its own line), or with one where the line
        # above ends an argument (``loss = loss,`` in a call written one argument a line).
        if mark in "(," or (
            mark in "\r\n"
            and before < start
            and (not match.group(1) or _after_argument(source, before - 1))
        ):
            keywords.append(match.start())
    calls = lines_with_words(source, _CALL_WORDS, whole=False)
    return frozenset(calls + lines_at(source, keywords))


def _after_argument(source: str, newline: int) -> bool:
    """Whether the code line that ends at ``newline`` ends with ``(`` or ``,`` (blank lines
    and a comment after the code skipped): the next line continues an argument list."""
    end = newline
    while end > 0:
        start = source.rfind("\n", 0, end) + 1
        code = source[start:end].partition("#")[0].rstrip()
        if code:
            return code.endswith(("(", ","))
        end = start - 1
    return False


def _keywords(source: str) -> Iterator[re.Match[str]]:
    """The matches of _KEYWORD, each at a ``loss`` or ``metric`` found by a plain search (the
    pattern tried at every place took half the time of the whole line search), in order. One
    inside another's name (``loss_loss =``) is the same name: it gives the same line."""
    for start in word_starts(source, ("loss", "metric"), whole=False):
        match = _KEYWORD.match(source, start)
        if match is not None:
            yield match


def _arms(body: list[ast.stmt]) -> dict[int, tuple[tuple[int, str], ...]]:
    """The arms each statement of ``body`` is written in, as :func:`flat_statements` reads them
    (nested functions and classes excluded), by the statement's id: from the outermost, each
    compound statement's id and its arm (``body``, ``orelse``, ``handler 0``, ``case 0``), the
    arms of which only one runs (see :func:`_exclusive`) marked with a ``|``."""
    found: dict[int, tuple[tuple[int, str], ...]] = {}
    pending: list[tuple[list[ast.stmt], tuple[tuple[int, str], ...]]] = [(body, ())]
    while pending:
        statements, path = pending.pop()
        for statement in statements:
            found[id(statement)] = path
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            # An ``if``'s two arms, a ``try``'s handlers against its body and its ``else``, a
            # ``match``'s cases: only one of each runs. (A loop's ``else`` runs after its body.)
            for name in ("body", "orelse", "finalbody"):
                inner = getattr(statement, name, None)
                if inner:
                    if isinstance(statement, ast.If):
                        arm = f"|{name}"
                    elif type(statement).__name__ in ("Try", "TryStar") and name != "finalbody":
                        arm = "|try"  # its body, then its ``else``
                    else:
                        arm = name
                    pending.append((inner, (*path, (id(statement), arm))))
            for number, handler in enumerate(getattr(statement, "handlers", ())):
                pending.append((handler.body, (*path, (id(statement), f"|handler {number}"))))
            for number, case in enumerate(getattr(statement, "cases", ())):
                pending.append((case.body, (*path, (id(statement), f"|case {number}"))))
    return found


def _exclusive(first: tuple[tuple[int, str], ...], second: tuple[tuple[int, str], ...]) -> bool:
    """Whether two statements with these arms (see :func:`_arms`) never both run: they part
    in two arms of one statement that only one of runs (an ``if``'s body and ``else``, a
    ``try``'s body and a handler, two handlers, two cases of a ``match``)."""
    for (statement, arm), (other, other_arm) in zip(first, second, strict=False):
        if statement != other:
            return False
        if arm != other_arm:
            return arm.startswith("|") and other_arm.startswith("|")
    return False


_HANDED_KEYWORD: Final = re.compile(r"loss|metric", re.IGNORECASE)
# Libraries whose objects a project imports but never builds a Keras model in (``compile`` of
# theirs: ``torch.compile``, a regex module's).
_FRAMEWORKS: Final = frozenset(
    {"tensorflow", "keras", "tf_keras", "torch", "jax", "numpy", "regex", "theano", "numba"}
)
# The reshaping functions, applied to a graph's tensor as the ``Reshape`` layer would be.
_RESHAPES: Final = frozenset({"tensorflow.reshape", "keras.ops.reshape", "keras.backend.reshape"})
# Tensor operations whose value is unbounded when their tensors are (a skip-gram's
# ``reduce_sum(multiply(word, context), axis=2)`` of two embeddings): linear maps and products.
_LINEAR_OPS: Final = frozenset(
    {"matmul", "multiply", "tensordot", "einsum", "dot", "batch_dot", "reduce_sum", "sum", "add"}
)
# Layers that wrap another and keep its output's last axis and activation.
_LAYER_WRAPPERS: Final = frozenset(
    {"SpectralNormalization", "WeightNormalization", "TimeDistributed"}
)
_UPDATES: Final = frozenset({"assign", "assign_add", "assign_sub"})
# (Keras 2's ``fit_generator`` trains as ``fit`` does, on what a generator yields.)
_TRAINING_CALLS: Final = frozenset({"fit", "fit_generator", "train_on_batch"})
# NumPy and TensorFlow calls whose value is all 0 or all 1: targets built from them are binary.
_BINARY_FILLS: Final = frozenset(
    {
        "numpy.ones",
        "numpy.zeros",
        "numpy.ones_like",
        "numpy.zeros_like",
        "tensorflow.ones",
        "tensorflow.zeros",
        "tensorflow.ones_like",
        "tensorflow.zeros_like",
    }
)
_BINARY_JOINS: Final = frozenset(
    {"numpy.vstack", "numpy.hstack", "numpy.concatenate", "numpy.stack", "numpy.append"}
)
# A tensor drawn at random, then differentiated with respect to: a perturbation of the inputs.
_MAX_SYNTHETIC: Final = 12  # bindings and operators followed to tell a synthetic value
_RANDOM_DRAWS: Final = frozenset(
    {"random_normal", "random_uniform", "truncated_normal", "normal", "uniform", "randn", "rand"}
)
# What a gradient may be taken with respect to without training anything (see _perturbation).
_PERTURBATIONS: Final = _RANDOM_DRAWS | {"placeholder", "Input"}
# A model's input tensors (``model.input``, ``model.inputs[0]``): also not the weights.
_MODEL_INPUTS: Final = frozenset({"input", "inputs"})


def _objective(name: str, call: ast.Call) -> tuple[str, ast.expr, ast.expr | None] | None:
    """``(kind, trained expression, sources)`` when ``call`` trains on a value outside
    ``compile``; ``sources``: what a gradient is taken with respect to, when written."""
    func = call.func
    if name in ("minimize", "compute_gradients") and isinstance(func, ast.Attribute):
        # A TF 1 optimizer's ``compute_gradients(loss)``, then ``apply_gradients``, is
        # ``minimize(loss)`` in two steps (to clip the gradients in between).
        loss = names.argument(call, 0, "loss")
        return ("minimize", loss, None) if loss is not None else None
    if name in ("optimize_loss", "create_train_op"):
        # TF 1's ``tf.contrib.layers.optimize_loss(loss, global_step, ...)`` and slim's
        # ``create_train_op(total_loss, optimizer)``: an optimizer's step on the loss.
        loss = names.argument(call, 0, "loss") or names.argument(call, 0, "total_loss")
        return ("minimize", loss, None) if loss is not None else None
    if name == "get_updates" and isinstance(func, ast.Attribute):
        # A Keras 2 optimizer's updates for ``K.function``: ``get_updates(params, [], loss)``
        # before Keras 2.0.7, ``get_updates(loss, params)`` after.
        loss = names.argument(call, 2 if len(call.args) >= 3 else 0, "loss")
        return ("minimize", loss, None) if loss is not None else None
    if name in ("gradient", "gradients") and (call.args or call.keywords):
        if names.argument(call, 2, "output_gradients") or names.argument(call, 2, "grad_ys"):
            # A vector-Jacobian product weighted as written (``tf.gradients(U, x,
            # grad_ys=dummy)``, a PINN's forward-mode derivative of its output): the weights of
            # the sum are chosen, and nothing is trained on the result itself.
            return None
        target = names.argument(call, 0, "target") or names.argument(call, 0, "ys")
        sources = names.argument(call, 1, "sources") or names.argument(call, 1, "xs")
        return ("gradient", target, sources) if target is not None else None
    if name == "add_loss" and isinstance(func, ast.Attribute):
        loss = names.argument(call, 0, "losses") or names.argument(call, 0, "loss")
        return ("add_loss", loss, None) if loss is not None else None
    if name == "backward" and isinstance(func, ast.Attribute) and not call.args:
        return ("backward", func.value, None)
    if name in ("grad", "value_and_grad") and call.args:
        return ("grad", call.args[0], None)
    return None


def _own_expressions(node: ast.stmt) -> Iterator[ast.AST]:
    """Nodes of ``node`` that belong to it, not to nested statements, functions or classes."""
    stack: list[ast.AST] = [
        child for child in ast.iter_child_nodes(node) if not isinstance(child, ast.stmt)
    ]
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.Lambda, ast.stmt)):
            continue
        yield current
        stack.extend(ast.iter_child_nodes(current))


_MUTATORS: Final = frozenset(
    {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "popitem"}
)


def _chunked(tree: ast.Module) -> list[list[ast.stmt]]:
    """The top-level statements in chunks: a new chunk where a statement starts below the end
    of the one before (``a = 1; b = 2`` on one line stay together); the first starts at line 1,
    with whatever comments precede the first statement."""
    chunks: list[list[ast.stmt]] = [[]]
    end = 0
    for stmt in tree.body:
        if chunks[-1] and first_line(stmt) > end:  # the first joins the comments above it
            chunks.append([])
        chunks[-1].append(stmt)
        end = max(end, stmt.end_lineno or stmt.lineno)
    return chunks


def _top_names(tree: ast.Module) -> frozenset[str]:
    """The names in the targets of the top-level assignments and the top-level imports."""
    found: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                found.update(n.id for n in subtree(target) if isinstance(n, ast.Name))
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            found.update((alias.asname or alias.name).partition(".")[0] for alias in stmt.names)
    return frozenset(found)


def _rebound(tree: ast.Module, source: str) -> frozenset[str]:
    """The module-level names that a function or method declares ``global``: it may rebind
    them when it runs (``img_width = img_height = 0`` at the top, set from the arguments in
    ``preprocess_image``), so their value at the top is not what loss code reads. Only the
    statements on lines that say ``global`` are read."""
    lines = lines_with_words(source, ["global"])
    if not lines:
        return frozenset()
    top = {id(stmt) for stmt in tree.body}
    return frozenset(
        name
        for part in nodes_on_lines(tree, lines)
        if id(part) not in top
        for node in subtree(part)
        if isinstance(node, ast.Global)
        for name in node.names
    )


def _module_names(tree: ast.Module) -> Iterator[str]:
    """The names the module's top level binds: its functions, classes and assignments."""
    for statement in flat_statements(tree.body):
        if isinstance(statement, DEFINITIONS):
            yield statement.name
        else:
            yield from bound_names(statement)


def chunk_layout(
    tree: ast.Module,
) -> tuple[tuple[int, ...], frozenset[int], dict[str, tuple[int, ...]]]:
    """The first line of each chunk of :func:`_chunked`, the chunks holding only function and
    class definitions, and the chunks binding each module-level name (``ModuleIndex.bindings``)."""
    found = _chunked(tree)
    starts = tuple(1 if n == 0 else first_line(c[0]) for n, c in enumerate(found))
    definitions = frozenset(
        n
        for n, chunk in enumerate(found)
        if chunk and all(isinstance(s, DEFINITIONS) for s in chunk)
    )
    bindings: dict[str, list[int]] = {}
    for number, chunk in enumerate(found):
        if number in definitions:
            continue
        plain = [s for s in chunk if not isinstance(s, DEFINITIONS)]
        for statement in flat_statements(plain):
            for name in bound_names(statement):
                numbers = bindings.setdefault(name, [])
                if not numbers or numbers[-1] != number:
                    numbers.append(number)
    return starts, definitions, {name: tuple(numbers) for name, numbers in bindings.items()}


# A class this long or longer is parsed a member at a time (a parse costs about 1 ms per 100
# lines; a test class of 1,700 lines may hold the one compile site an analysis needs).
_MEMBERS_FROM_LINES: Final = 40


def class_members(tree: ast.Module) -> tuple[tuple[int, ...], ...]:
    """``ModuleIndex.members``: for each long top-level class, its first line (its first
    decorator's) and last line, and the first line of each statement of its body, when the
    body starts on a later line than the ``class`` keyword (a member is then parsed alone
    under an ``if 1:`` put on the line above it, so that its lines and columns are the file's
    own)."""
    found: list[tuple[int, ...]] = []
    for stmt in tree.body:
        if not isinstance(stmt, ast.ClassDef) or len(stmt.body) < 2:
            continue
        last = stmt.end_lineno or stmt.lineno
        starts = [first_line(member) for member in stmt.body]
        if last - stmt.lineno + 1 >= _MEMBERS_FROM_LINES and starts[0] > stmt.lineno:
            found.append((first_line(stmt), last, *starts))
    return tuple(found)


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


class ModuleIndexer:
    """Builds the :class:`ModuleIndex` of one parsed module."""

    def __init__(self, tree: ast.Module, source: str, path: str, module: str) -> None:
        self.tree = tree
        self.path = path
        self.module = module
        self.source = source
        self.lines = source_lines(source)
        self.call_lines = _call_lines(source)
        self.lambda_lines = lines_with_words(source, ["lambda"])  # see _ScopeBuilder.run
        self.definition_lines = lines_with_words(source, ["def", "class"])
        self._call_nodes: dict[Span, ast.Call] = {}
        self._handing: set[tuple[str, str, str]] = set()  # the dict items asked (_handed_item)
        # The function and class nodes by qualified name (what a compiled model's uses are
        # searched in, see _idle).
        self._scope_nodes: dict[str, ast.AST] = {}
        package = module.rpartition(".")[0] if not path.endswith("__init__.py") else module
        self.imports, self.alternatives = names.collect_imports_and_alternatives(tree, package)
        # ``from .backend import keras, K``
        self.imports.update(names.reexported_libraries(self.imports, source))
        self.imports.update(names.module_aliases(tree, self.imports))  # ``keras = tf.keras``
        self.stars = names.star_imports(tree, package)
        if self.stars:  # ``from keras.layers import *``: the names it gives, as imports
            self.imports = {
                **names.star_bindings(tree, self.stars, {*self.imports, *_module_names(tree)}),
                **self.imports,
            }
        # The Keras backend handed in as an argument: an import for the analyses, not an API
        # use for LL402 (which backend it is depends on the caller).
        self.injected = (
            {"backend": "keras.backend"}
            if names.injected_backend(tree, source, self.imports)
            else {}
        )
        # ``K.mean`` in a fragment that imports nothing (a notebook exported cell by cell).
        self.injected.update(names.conventional_aliases(tree, source, self.imports))
        self.scopes: list[_Scope] = []
        self.functions: list[FunctionDef] = []
        self.classes: list[ClassDef] = []
        self.top_level: set[str] = set()
        self.function_scopes: dict[str, _Scope] = {}
        self._building: set[str] = set()  # the blocks being read (see _block_output)
        self._models: dict[Span, ModelFact] = {}
        self._class_names: set[str] = set()
        self._bound_anywhere: set[str] | None = None  # after the pass: every name bound
        self._from_imported: set[str] | None = None  # names bound by ``from m import name``
        self._attributes: dict[str, dict[str, list[_Binding]]] | None = None  # class → self.x
        self._made: list[_Scope] = []  # every scope, class bodies too: see release()
        self._calls: dict[str, list[tuple[ast.Call, _Scope]]] = {}  # _calls_named
        # ``(function, parameter)`` → whether every call passes it 0/1 targets (_binary_argument).
        self._binary_params: dict[tuple[str, str], bool] = {}
        # A function or class that its scope defines again further down (a notebook's loss
        # written anew in a later cell): the suffix that keeps its name apart (see
        # _note_redefinitions), and the name each such definition got, by (scope, name, line).
        self._suffixes: dict[int, str] = {}
        self._lambda_names: dict[ast.Lambda, str] = {}  # the lambdas read as functions
        self._defined_at: dict[tuple[str, str, int], str] = {}
        self._naming: dict[str, list[int]] = {}  # see _lines_naming

    # -- positions -------------------------------------------------------------------------

    def span(self, node: ast.AST) -> Span:
        return node_span(node, self.lines)

    def def_span(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> Span:
        keyword = "class" if isinstance(node, ast.ClassDef) else "def"
        if isinstance(node, ast.AsyncFunctionDef):
            keyword = "async def"
        start = column(self.lines, node.lineno, node.col_offset) + 1
        if isinstance(node, LambdaDef):
            return Span(node.lineno, start, node.lineno, start + len("lambda"))
        return Span(node.lineno, start, node.lineno, start + len(keyword) + 1 + len(node.name))

    # -- scopes ----------------------------------------------------------------------------

    def _scope(self, qualname: str, parent: _Scope | None) -> _Scope:
        scope = _Scope(qualname, parent)
        self._made.append(scope)
        return scope

    def release(self) -> None:
        """Break the scope ↔ binding cycles, so that the syntax tree and the scopes of a module
        die with its indexer by reference counting, and the cycle collector finds nothing to do."""
        for scope in self._made:
            scope.bindings.clear()
            scope.attributes.clear()
            scope.unpacked.clear()
        self._made.clear()
        self.scopes.clear()
        self.function_scopes.clear()
        self._attributes = None
        self._calls.clear()
        self._binary_params.clear()

    def build(self) -> ModuleIndex:
        module_scope = self._scope(self.module, None)
        self.scopes.append(module_scope)
        for stmt in self.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.top_level.add(stmt.name)
        self._note_redefinitions(self.tree.body)
        _ScopeBuilder(module_scope, self._nested, self.call_lines, self.lambda_lines).run(
            self.tree.body
        )

        factories: dict[str, ModelRef] = {}
        for qualname, scope in self.function_scopes.items():
            ref = self._returned_model(scope)
            if ref is not None:
                factories[qualname] = ref
        for cls in self.classes:
            ref = self._subclassed_model(cls)
            if ref is not None:
                factories[cls.qualname] = ref
        # A model built at the top of the module, which another module may import and compile
        # (``from model import model``): read as a factory of no arguments.
        for name, bound in module_scope.bindings.items():
            value = bound[0].value if len(bound) == 1 else None
            if (
                isinstance(value, ast.Call)
                and not bound[0].conditional
                and ("model" in name.lower() or _may_build_model(value))
            ):
                ref = self.model_ref(ast.Name(id=name, ctx=ast.Load()), module_scope, math.inf)
                if ref is not None:
                    factories[f"{self.module}.{name}"] = ref
        compiles = [site for scope in self.scopes for site in self._compile_sites(scope)]
        objectives = [
            objective
            for scope in self.scopes
            for kind, node, sources in scope.objectives
            for objective in self._running_total(kind, scope, node)
            or [self._objective(kind, scope, node, sources)]
        ]
        self._collect_models()
        self.functions = [self._with_returns(f) for f in self.functions]
        starts, definitions, bindings = chunk_layout(self.tree)
        rebound = _rebound(self.tree, self.source)
        api_uses = collect_api_uses(
            self.tree, self.source, self.lines, self.imports, self.module, bool(compiles)
        )
        return ModuleIndex(
            path=self.path,
            module=self.module,
            imports={**self.imports, **self.injected},
            functions=tuple(self.functions),
            classes=tuple(self.classes),
            models=tuple(self._models.values()),
            factories=factories,
            compiles=tuple(compiles),
            objectives=tuple(objectives),
            constants=self._constants(module_scope, rebound),
            tree=self.tree,
            lines=tuple(self.lines),
            api_uses=tuple(self._add_loss_model(use) for use in api_uses),
            symbolic=self._symbolic_names() if _may_build_tensors(self.source) else {},
            stars=self.stars,
            noqa="noqa" in self.source.lower() and any(map(names_ours, self.lines)),
            one_unit_softmax=(
                tuple(_one_unit_softmax_layers(self.tree, self.imports, self.lines))
                if "softmax" in self.source and ("Dense" in self.source or "dense" in self.source)
                else ()
            ),
            softmax_of_one_unit=(
                tuple(_softmax_of_one_unit(self.tree, self.imports, self.lines))
                if _SOFTMAX_LAYER.search(self.source) and "Dense" in self.source
                else ()
            ),
            constant_labels=tuple(
                _constant_label_calls(self.tree, self.imports, self.lines, self.source)
            )
            if _fills_array(self.source) and _names_asymmetric_loss(self.source)
            else (),
            alternatives=self.alternatives,
            sessions=_runs_sessions(self.source, self.lines),
            tensorflow1=tensorflow_1(self.source, self.imports),
            eager_off=eager_off(self.source),
            self_attributes=frozenset(_SELF_ATTRIBUTE.findall(self.source))
            if "self" in self.source
            else frozenset(),
            chunks=starts,
            bindings=bindings,
            top_names=_top_names(self.tree),
            definition_chunks=definitions,
            top_level=frozenset(self.top_level),
            members=class_members(self.tree),
            trainings=tuple(t for scope in self.scopes for t in self._trainings(scope)),
            unparsed=tuple(cell_errors(self.source)) if UNPARSED_WORD in self.source else (),
            rebound=rebound,
            handed=tuple(h for scope in self.scopes for h in self._handed(scope)),
            exports=self._exports(module_scope, rebound),
            sizes=self._sizes(module_scope, rebound),
            entries=self._entries(module_scope, rebound) if "{" in self.source else {},
            lambda_layers=tuple(
                sorted(
                    self._lambda_layers(), key=lambda layer: (layer.span.line, layer.span.column)
                )
            )
            if "Lambda(" in self.source
            else (),
        )

    def _lambda_layers(self) -> Iterator[LambdaLayer]:
        """Each ``Lambda(lambda x: ...)`` layer: its function is part of the model's graph."""
        # A layer's function is a ``lambda``: the statements holding that word are read.
        parts = nodes_on_lines(self.tree, self.lambda_lines)
        for node in (n for part in parts for n in subtree(part)):
            if (
                isinstance(node, ast.Call)
                and node.args
                and isinstance(node.args[0], ast.Lambda)
                and names.qualify(node.func, self.imports) == "keras.layers.Lambda"
            ):
                yield LambdaLayer(self.span(node), node.args[0])

    def _handed(self, scope: _Scope) -> Iterator[Handed]:
        """The loss and metric keywords of the calls of ``scope`` that name a callable outside
        Keras (a project class or function, maybe of another module), with what they hold."""
        for call in scope.handed:
            callee = self.value(call.func, scope, call.lineno)
            if not isinstance(callee, Ref) or names.is_keras(callee.target):
                continue
            if callee.target.startswith("builtins."):
                continue
            for keyword in call.keywords:
                if keyword.arg is None or not _HANDED_KEYWORD.search(keyword.arg):
                    continue
                value = self.value(keyword.value, scope, call.lineno)
                # (what some branch or a loop's turn binds: see Unknown.candidates)
                if not isinstance(value, Unknown) or value.candidates:
                    yield Handed(callee.target, keyword.arg, value, self.span(call))

    def _trainings(self, scope: _Scope) -> Iterator[tuple[str, str, str]]:
        """``(scope, receiver, targets)`` for each ``x.fit(inputs, targets)``,
        ``train_on_batch`` or ``fit_generator``: ``binary`` when the targets are built from
        ``ones``/``zeros`` (a GAN's valid/fake labels, the 0/1 classes of a least-squares
        classifier), ``one-hot`` when they come from ``to_categorical``/``one_hot`` (one class
        per sample), else empty (always for a generator's)."""
        for call in scope.trainings:
            assert isinstance(call.func, ast.Attribute)
            parts = names.dotted(call.func.value)
            if not parts:
                continue
            targets = None
            if call.func.attr != "fit_generator":
                targets = call.args[1] if len(call.args) >= 2 else None
                targets = next((k.value for k in call.keywords if k.arg == "y"), targets)
            kind = ""
            if targets is not None and self._binary(targets, scope, call.lineno, 0):
                kind = "binary"
            elif targets is not None and self._one_hot(targets, scope, call.lineno, 0):
                kind = "one-hot"
            yield scope.qualname, ".".join(parts), kind

    def _binary_argument(self, scope: _Scope, param: Param, depth: int) -> bool:
        """Whether every call of ``scope``'s function in this module (``f(...)``, or
        ``self.f(...)`` for a method) passes 0/1 targets as ``param``; False without one.
        ``train_discriminators(self, imgs, valid, fake)`` called from ``train`` with
        ``valid = np.ones(...)``."""
        key = (scope.qualname, param.name)
        if key in self._binary_params:  # known, or being decided (a cycle of calls): False
            return self._binary_params[key]
        self._binary_params[key] = False
        self._binary_params[key] = self._all_calls_binary(scope, param, depth)
        return self._binary_params[key]

    def _all_calls_binary(self, scope: _Scope, param: Param, depth: int) -> bool:
        name = scope.qualname.rpartition(".")[2]
        method = scope.parent is not None and scope.parent.qualname in self._class_names
        found = False
        for call, caller in self._calls_named(name):
            func = call.func
            if method:
                if not (
                    isinstance(func, ast.Attribute)
                    and isinstance(func.value, ast.Name)
                    and func.value.id == "self"
                ):
                    continue
                position = param.index - 1
            elif isinstance(func, ast.Name):
                position = param.index
            else:
                continue
            given = next((k.value for k in call.keywords if k.arg == param.name), None)
            if given is None and 0 <= position < len(call.args):
                given = call.args[position]
            if given is None or not self._binary(given, caller, call.lineno, depth):
                return False
            found = True
        return found

    def _calls_named(self, name: str) -> list[tuple[ast.Call, _Scope]]:
        """The calls ``name(...)`` and ``x.name(...)`` in the module's functions, with the
        scope of the function each is in (a function holds one where its lines name it: only
        those are walked, once for each name)."""
        found = self._calls.get(name)
        if found is None:
            found = self._calls[name] = []
            wanted = self._lines_naming(name)
            for function in self.functions if wanted else ():
                caller = self.function_scopes.get(function.qualname)
                if caller is None or not _holds_line(function.node, wanted):
                    continue
                for call in subtree(function.node):
                    if isinstance(call, ast.Call):
                        func = call.func
                        called = func.attr if isinstance(func, ast.Attribute) else None
                        called = func.id if isinstance(func, ast.Name) else called
                        if called == name:
                            found.append((call, caller))
        return found

    def _binary(self, expr: ast.expr, scope: _Scope, line: float, depth: int) -> bool:
        """Whether ``expr`` holds only 0s and 1s by construction (``np.ones(...)``, a stack of
        ``np.zeros`` and ``np.ones``, a name or ``self.x`` bound to one)."""
        if depth > 8:
            return False
        if isinstance(expr, ast.Name):
            param = scope.resolve(expr.id, line)
            if isinstance(param, Param) and param.name == expr.id:
                return self._binary_argument(scope, param, depth + 1)
            bound = self._bound_value(expr.id, scope, line)
            return bound is not None and self._binary(*bound, depth + 1)
        if isinstance(expr, ast.Attribute):
            cls = self._self_class(expr.value, scope, line)
            binding = self._self_binding(cls, expr.attr) if cls else None
            return (
                binding is not None
                and binding.value is not None
                and self._binary(binding.value, binding.scope, binding.line, depth + 1)
            )
        if isinstance(expr, ast.Subscript):  # a shuffle or a split keeps the values
            return self._binary(expr.value, scope, line, depth + 1)
        if isinstance(expr, ast.Compare):  # ``y_train == 5``: booleans, one class or not
            return True
        if not isinstance(expr, ast.Call):
            return False
        if isinstance(expr.func, ast.Attribute) and expr.func.attr == "astype":
            return self._binary(expr.func.value, scope, line, depth + 1)  # ``(y == 5).astype(int)``
        callee = names.qualify(expr.func, self.imports)
        if callee in _BINARY_FILLS:
            return True
        if callee in _BINARY_JOINS and expr.args:
            parts = expr.args[0]
            return (
                isinstance(parts, (ast.Tuple, ast.List))
                and bool(parts.elts)
                and all(self._binary(e, scope, line, depth + 1) for e in parts.elts)
            )
        return False

    def _bound_value(
        self, name: str, scope: _Scope, line: float
    ) -> tuple[ast.expr, _Scope, int] | None:
        """The expression ``name`` was last bound to before ``line``, with where it was."""
        binding = self._binding_of(name, scope, line)
        if binding is None or binding.value is None:
            return None
        return binding.value, binding.scope, binding.line

    def _split_part(self, binding: _Binding) -> ast.expr | None:
        """The array a name takes its rows from, when ``binding`` unpacked it from scikit-learn's
        ``train_test_split(x, y)`` (train and test of each array, in order) or ``shuffle(x, y)``."""
        call = binding.value
        if binding.position is None or not isinstance(call, ast.Call):
            return None
        per_array = _SPLITS.get(names.qualify(call.func, self.imports) or "")
        arrays = call.args
        position, count = binding.position
        if per_array is None or not arrays or count != per_array * len(arrays):
            return None
        if any(isinstance(a, ast.Starred) for a in arrays):
            return None
        return arrays[position // per_array]

    def _one_hot(self, expr: ast.expr, scope: _Scope, line: float, depth: int) -> bool:
        """Whether ``expr`` holds one-hot rows by construction (``to_categorical(y)``,
        ``one_hot(y, n)``, a name bound to one, a split or a shuffle of one)."""
        if depth > 8:
            return False
        if isinstance(expr, ast.Name):
            binding = self._binding_of(expr.id, scope, line)
            if binding is None or binding.value is None:
                return False
            split = self._split_part(binding)
            if split is not None:
                return self._one_hot(split, binding.scope, binding.line, depth + 1)
            return self._one_hot(binding.value, binding.scope, binding.line, depth + 1)
        if isinstance(expr, ast.Subscript):
            return self._one_hot(expr.value, scope, line, depth + 1)
        if isinstance(expr, ast.Attribute) and expr.attr == "values":  # a frame's array
            return self._one_hot(expr.value, scope, line, depth + 1)
        if not isinstance(expr, ast.Call):
            return False
        if isinstance(expr.func, ast.Attribute) and expr.func.attr in ("to_numpy", "astype"):
            return self._one_hot(expr.func.value, scope, line, depth + 1)
        callee = names.qualify(expr.func, self.imports) or ""
        if callee == "pandas.get_dummies":
            # Of one column (``frame["label"]``, ``frame.label``): one 1 per row. Of a frame of
            # several columns, one group per column: multi-hot.
            column = expr.args[0] if expr.args else None
            return isinstance(column, ast.Attribute) or (
                isinstance(column, ast.Subscript)
                and isinstance(column.slice, ast.Constant)
                and isinstance(column.slice.value, str)
            )
        return callee.rpartition(".")[2] in ("to_categorical", "one_hot") and (
            callee.partition(".")[0] in ("keras", "tensorflow", "tf_keras", "jax")
        )

    def _with_returns(self, function: FunctionDef) -> FunctionDef:
        """The function with the functions it returns by name (a registry of losses), also in
        a returned dict or list, or through ``dict.fromkeys(keys, f)``."""
        scope = self.function_scopes.get(function.qualname)
        if scope is None or not scope.returns:
            return function
        found: list[str] = []
        for returned in scope.returns:
            if isinstance(returned, (ast.Tuple, ast.List)):
                # ``return profit, margin`` of its closures, ``return [self.mel_loss, ...]`` of
                # its class's methods: a tuple of data (``return x, y``) names no function, and
                # is not evaluated.
                if not any(self._names_function(e, function.qualname) for e in returned.elts):
                    continue
            elif not isinstance(
                returned, (ast.Name, ast.Attribute, ast.Subscript, ast.Call, ast.Dict)
            ) or not _may_hand_out(returned, scope):
                continue
            handed: list[tuple[ast.expr, float]] = [(returned, math.inf)]
            if isinstance(returned, ast.Name):  # and what the function appends to that list
                handed += self._appended(returned.id, function, scope)
            found += [
                v.target
                for expr, line in handed
                for v in self._handed_leaves(expr, scope, line)
                if isinstance(v, Ref)
                and not names.is_keras(v.target)
                # One factory may hand out one of several nested losses (``if homoscedastic:
                # return _homoscedastic_ce`` / ``return _masked_ce``): the others are here.
                and v.target != function.returns_function
            ]
        if not found:
            return function
        return dataclasses.replace(function, returns=tuple(dict.fromkeys(found)))

    def _handed_leaves(self, expr: ast.expr, scope: _Scope, line: float) -> list[Value]:
        """What a function hands out in ``expr``, read at ``line``: an item of a dict
        (``LOSSES[name]``: each value), the leaves of a dict or list, the value of
        ``dict.fromkeys(keys, f)``, or the value itself."""
        value = self.value(expr.value if isinstance(expr, ast.Subscript) else expr,
                           scope, line)  # fmt: skip
        if isinstance(expr, ast.Subscript):
            return list(value.values) if isinstance(value, Mapping) else []
        if isinstance(value, (Seq, Mapping)):  # ``return {"stage1": l1, "stage2": l2}``
            return list(iter_leaves(value))
        if _fromkeys(value):  # ``return dict.fromkeys(output_names, eucl_loss)``
            return [value.args[1]]
        return [value]

    def _appended(
        self, name: str, function: FunctionDef, scope: _Scope
    ) -> list[tuple[ast.expr, float]]:
        """What a function appends to the list ``name`` it binds (``metrics = []``, then
        ``metrics.append(metrics_with_names[m])``, ``return metrics``), with the line of each
        append (where a name bound in a branch is read)."""
        if not any(isinstance(b.value, ast.List) for b in scope.bindings.get(name, [])):
            return []
        return [
            (node.args[0], node.lineno)
            for node in subtree(function.node)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "append"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == name
            and len(node.args) == 1
        ]

    def _objective(
        self, kind: str, scope: _Scope, node: ast.expr, sources: ast.expr | None = None
    ) -> Objective:
        """What is trained: ``minimize(self.cost)`` trains the expression another method of the
        class assigned to ``self.cost`` (TF1 model classes build the objective in
        ``_create_cost`` and minimize it in ``_create_train_step``)."""
        if sources is not None and (
            self._untrained(node, sources, scope) or self._only_checked(node, scope)
        ):
            return Objective(kind, scope.qualname, self.span(node), node, untrained=True)
        if sources is not None and self._perturbation(sources, scope):
            return Objective(kind, scope.qualname, self.span(node), node, perturbation=True)
        cls = (
            self._self_class(node.value, scope, node.lineno)
            if isinstance(node, ast.Attribute)
            else None
        )
        if cls is not None and isinstance(node, ast.Attribute):
            binding = self._self_binding(cls, node.attr)
            if binding is not None and binding.value is not None and binding.scope is not scope:
                value = binding.value
                return Objective(kind, binding.scope.qualname, self.span(value), value)
        return Objective(kind, scope.qualname, self.span(node), node)

    def _running_total(self, kind: str, scope: _Scope, node: ast.expr) -> list[Objective]:
        """``minimize(self.loss)`` where the class starts ``self.loss = 0`` and its methods, or
        those of its subclasses in this module, add the terms (``self.loss += ...`` in each
        model's ``_loss``: Kipf's GCN and the GraphSAGE models forked from it): each term
        added is trained. Empty for any other objective."""
        if not isinstance(node, ast.Attribute):
            return []
        cls = self._self_class(node.value, scope, node.lineno)
        binding = self._self_binding(cls, node.attr) if cls is not None else None
        if binding is None or not (
            isinstance(binding.value, ast.Constant)
            and type(binding.value.value) in (int, float)
            and binding.value.value == 0
        ):
            return []
        family = {cls}
        grown = True
        while grown:  # the subclasses defined here, at any depth
            known = len(family)
            family.update(c.qualname for c in self.classes if family.intersection(c.bases))
            grown = len(family) > known
        found: list[Objective] = []
        for qualname in self.function_scopes:
            method = self._scope_nodes.get(qualname)
            if qualname.rpartition(".")[0] not in family or method is None:
                continue
            for added in subtree(method):
                if (
                    isinstance(added, ast.AugAssign)
                    and isinstance(added.op, (ast.Add, ast.Sub))
                    and isinstance(added.target, ast.Attribute)
                    and added.target.attr == node.attr
                    and isinstance(added.target.value, ast.Name)
                    and added.target.value.id == "self"
                ):
                    found.append(Objective(kind, qualname, self.span(added.value), added.value))
        return found

    def _untrained(self, target: ast.expr, sources: ast.expr, scope: _Scope) -> bool:
        """Whether a gradient trains nothing: taken with respect to names that nothing updates,
        of a value computed from constants and random draws alone (a guide's demonstration,
        ``x = tf.Variable(3.0)``, ``y = x**2``, ``tape.gradient(y, x)``)."""
        listed = sources.elts if isinstance(sources, (ast.List, ast.Tuple)) else [sources]
        for source in listed:
            if not isinstance(source, ast.Name):
                return False
            binding = scope.resolve(source.id, source.lineno)
            if not isinstance(binding, _Binding) or binding.scope is not scope:
                return False
            after = _next_binding_line(scope.bindings[source.id], binding)
            if any(binding.line < line < after for line in scope.updated.get(source.id, ())):
                return False  # updated while it holds this value (a later one is another's)
        return self._synthetic(target, scope, target.lineno, 0)

    def _only_checked(self, target: ast.expr, scope: _Scope) -> bool:
        """Whether the gradient taken of ``target`` is only checked, never applied: bound to
        names read only inside assertions, directly or through a loop over them (a test's
        ``grads = tape.gradient(nll, variables)`` then ``for grad in grads:
        self.assertIsNotNone(grad)``). Such a gradient trains nothing."""
        root = self.tree if scope.qualname == self.module else self._scope_nodes.get(scope.qualname)
        if root is None:
            return False
        parents = names.parents(root)
        bound: set[str] = set()
        for node in subtree(root):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and any(
                    a is target for a in (*node.value.args, *(k.value for k in node.value.keywords))
                )
            ):
                for assigned in node.targets:
                    if not isinstance(assigned, ast.Name):
                        return False  # unpacked or stored: followed no further
                    bound.add(assigned.id)
        if not bound:
            return False
        checked = False
        pending = list(bound)
        seen = set(bound)
        while pending:
            name = pending.pop()
            for node in subtree(root):
                if not (isinstance(node, ast.Name) and node.id == name):
                    continue
                if not isinstance(node.ctx, ast.Load):
                    continue  # the gradient's own binding (or another of the name)
                place: ast.AST | None = parents.get(node)
                while place is not None:
                    if isinstance(place, ast.Call) and (
                        names.last_name(place.func) or ""
                    ).lower().startswith("assert"):
                        checked = True
                        break
                    if isinstance(place, ast.For) and _within(node, place.iter):
                        loop = [n.id for n in subtree(place.target) if isinstance(n, ast.Name)]
                        if not loop:
                            return False
                        pending += [n for n in loop if n not in seen]
                        seen.update(loop)
                        break
                    if isinstance(place, ast.stmt):
                        return False  # read by anything else: applied, returned, stored
                    place = parents.get(place)
        return checked

    def _synthetic(self, expr: ast.expr, scope: _Scope, line: float, depth: int) -> bool:
        """Whether ``expr`` is computed from literals and random draws by tensor math alone
        (no model, layer, input or parameter anywhere in it)."""
        if depth > _MAX_SYNTHETIC:
            return False
        if isinstance(expr, ast.Constant):
            return isinstance(expr.value, (int, float)) and not isinstance(expr.value, bool)
        if isinstance(expr, ast.Name):
            binding = scope.resolve(expr.id, line)
            return (
                isinstance(binding, _Binding)
                and binding.value is not None
                and binding.scope is scope
                and self._synthetic(binding.value, scope, binding.line, depth + 1)
            )
        if isinstance(expr, (ast.Tuple, ast.List)):
            return all(self._synthetic(e, scope, line, depth + 1) for e in expr.elts)
        if isinstance(expr, ast.Dict):  # ``tape.gradient({'y0': y0, 'y1': y1}, x)``
            return all(
                v is not None and self._synthetic(v, scope, line, depth + 1) for v in expr.values
            )
        if isinstance(expr, ast.BinOp):
            return self._synthetic(expr.left, scope, line, depth + 1) and self._synthetic(
                expr.right, scope, line, depth + 1
            )
        if isinstance(expr, ast.UnaryOp):
            return self._synthetic(expr.operand, scope, line, depth + 1)
        if isinstance(expr, ast.Call):
            callee = self._callee(expr.func) or ""
            if isinstance(expr.func, ast.Attribute) and expr.func.attr == "gradient":
                callee = "tensorflow.gradient"  # ``tape.gradient(y, x)`` of a synthetic y
            return (
                callee.partition(".")[0] in ("tensorflow", "numpy")
                and ".keras." not in f".{callee}."
                and all(self._synthetic(a, scope, line, depth + 1) for a in expr.args)
                and all(self._synthetic(k.value, scope, line, depth + 1) for k in expr.keywords)
            )
        return False

    def _perturbation(self, sources: ast.expr, scope: _Scope) -> bool:
        """Whether a gradient is taken with respect to a perturbation of the inputs, not the
        weights: names the scope gives to ``tape.watch`` (FGSM's input image), draws at
        random (virtual adversarial training's ``d = tf.random_normal(tf.shape(x))``) or
        binds to a TF 1 placeholder (``tf.gradients(loss, [logits])`` of a fed tensor) or a
        Keras ``Input`` (a DDPG critic's ``K.gradients(Q_values, actions)``, the action
        gradient the actor follows), or a model's own input tensors (``K.gradients(loss,
        model.input)``: FGSM on a Keras 2 graph)."""
        listed = list(sources.elts) if isinstance(sources, (ast.List, ast.Tuple)) else [sources]
        # An item of one (``tape.gradient(u, inputs[0])`` after ``tape.watch(inputs)``).
        for number, item in enumerate(listed):
            while isinstance(item, ast.Subscript) and isinstance(item.slice, ast.Constant):
                item = item.value
            listed[number] = item
        listed = [
            n for n in listed if not (isinstance(n, ast.Attribute) and n.attr in _MODEL_INPUTS)
        ]
        if not listed:
            return True
        found = [n.id for n in listed if isinstance(n, ast.Name)]
        if not found or len(found) != len(listed):
            return False
        return all(
            name in scope.watched
            or any(
                isinstance(b.value, ast.Call)
                and (self._callee(b.value.func) or "").rpartition(".")[2] in _PERTURBATIONS
                for b in scope.bindings.get(name, ())
            )
            for name in found
        )

    def _symbolic_names(self) -> dict[str, Span]:
        """Names whose last binding in their scope is a symbolic Keras tensor."""
        found: dict[str, Span] = {}
        for scope in self.scopes:
            for name in {*scope.bindings, *scope.unpacked}:
                bindings = scope.bindings.get(name, [])
                last = bindings[-1] if bindings else None
                if last is None or last.value is None:
                    last = scope.unpacked.get(name)
                if last is None or last.value is None:
                    continue
                if (
                    last.position is not None and self._returns_symbolic(last, 0)
                ) or self._is_symbolic(last.value, last.scope, last.line, 0):
                    found[f"{scope.qualname}.{name}"] = self.span(last.value)
        # ``self.true_boxes = Input(...)`` in a method: ``Class.self.true_boxes``, which the
        # class's own loss methods read (YOLO ports: ``def custom_loss(self, y_true, y_pred)``).
        attributes: dict[str, set[str]] = {}  # those each class's methods set, in order
        for qualname, method in self.function_scopes.items():
            owner = qualname.rpartition(".")[0]
            if owner in self._class_names:
                attributes.setdefault(owner, set()).update(method.attributes)
        for cls in self._class_names:
            for attribute in attributes.get(cls, ()):
                binding = self._self_binding(cls, attribute)
                if (
                    binding is not None
                    and binding.value is not None
                    and self._is_symbolic(binding.value, binding.scope, binding.line, 0)
                ):
                    found[f"{cls}.self.{attribute}"] = self.span(binding.value)
        return found

    def _is_symbolic(self, expr: ast.expr, scope: _Scope, line: float, depth: int) -> bool:
        """Whether ``expr`` is a symbolic tensor of a functional graph: a layer or model
        applied to a tensor, ``keras.Input``, a model's ``.output``, or arithmetic on them.

        Callees are named syntactically (imports, and the constructor a local name was bound
        to), never evaluated: this runs over every binding of a module that applies layers.
        """
        if depth > 8:
            return False
        if isinstance(expr, ast.BinOp):
            return self._is_symbolic(expr.left, scope, line, depth + 1) or self._is_symbolic(
                expr.right, scope, line, depth + 1
            )
        if isinstance(expr, ast.UnaryOp):
            return self._is_symbolic(expr.operand, scope, line, depth + 1)
        if isinstance(expr, ast.Subscript):
            return self._is_symbolic(expr.value, scope, line, depth + 1)
        if isinstance(expr, ast.Name):
            binding = self._binding_of(expr.id, scope, line)
            if binding is None or binding.value is None:
                return False
            if binding.position is not None and self._returns_symbolic(binding, depth):
                return True
            return self._is_symbolic(binding.value, binding.scope, binding.line, depth + 1)
        if isinstance(expr, ast.Attribute):
            if expr.attr not in _GRAPH_ENDS:
                return False
            if layer_graph_tensor(expr):
                return True
            return _layer_or_model(self._constructed(expr.value, scope, line))
        if not isinstance(expr, ast.Call):
            return False
        func = expr.func

        def applied_to_symbolic() -> bool:
            return any(
                self._is_symbolic(a, scope, line, depth + 1)
                for a in expr.args
                if not isinstance(a, ast.Starred)
            )

        if isinstance(func, ast.Call):  # Dense(2)(h)
            made = self._callee(func.func)
            if made is None and isinstance(func.func, ast.Name):  # a class of this module
                made = f"{self.module}.{func.func.id}"
                made = made if made in self._class_names else None
            return _layer_or_model(made) or (_own_class(made) and applied_to_symbolic())
        callee = self._callee(func)
        if callee in ("keras.Input", "keras.layers.Input"):
            return True
        if callee is not None and callee.startswith(_TENSOR_OPS):
            return applied_to_symbolic()
        made = self._constructed(func, scope, line)  # dense(h), encoder(x)
        return _layer_or_model(made) or (_own_class(made) and applied_to_symbolic())

    def _returns_symbolic(self, binding: _Binding, depth: int) -> bool:
        """``model, warped, flow, src = unet(...)``: a name unpacked from a call of a function
        of this module whose ``return model, warped, flow, src`` gives a symbolic tensor there
        (a model applied, an ``Input``)."""
        call, position = binding.value, binding.position
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or not position:
            return False
        factory = self.function_scopes.get(f"{self.module}.{call.func.id}")
        if factory is None:
            return False
        index, count = position
        return any(
            isinstance(returned, ast.Tuple)
            and len(returned.elts) == count
            and self._is_symbolic(returned.elts[index], factory, math.inf, depth + 1)
            for returned in factory.returns
        )

    def _binding_of(self, name: str, scope: _Scope, line: float) -> _Binding | None:
        binding = scope.resolve(name, line)
        if isinstance(binding, _Binding):
            return binding
        return scope.unpacked.get(name) if binding is None else None

    def _callee(self, func: ast.expr) -> str | None:
        """The canonical name of a callee written as an imported (or snippet) name."""
        found = names.qualify(func, self.imports)
        if found is None and isinstance(func, ast.Name) and not self.stars:
            return names.SNIPPET_CLASSES.get(func.id)
        return found

    def _constructed(self, expr: ast.expr, scope: _Scope, line: float) -> str | None:
        """The class a local name was constructed from: ``dense = Dense(2)`` → Dense."""
        if not isinstance(expr, ast.Name):
            return None
        binding = self._binding_of(expr.id, scope, line)
        if binding is None or not isinstance(binding.value, ast.Call):
            return None
        func = binding.value.func
        callee = self._callee(func)
        if callee is None and isinstance(func, ast.Name):
            # ``encoder = create_encoder()``: a function of this module that returns the model
            # (or layer) it builds, ``return Model(inputs, [t_mean, t_log_var])``.
            factory = self.function_scopes.get(f"{self.module}.{func.id}")
            for value in factory.returns if factory is not None else ():
                built = self._callee(value.func) if isinstance(value, ast.Call) else None
                if _layer_or_model(built):
                    return built
        return callee

    def _add_loss_model(self, use: ApiUse) -> ApiUse:
        """``model.add_loss(...)``: which kind of model the receiver is, when it is known."""
        if not (use.kind == "method" and use.name == "add_loss" and use.receiver):
            return use
        scope = self.function_scopes.get(use.scope) or (
            self.scopes[0] if use.scope == self.module else None
        )
        if scope is None or "." in use.receiver or not isinstance(use.node, ast.Call):
            return use
        func = use.node.func
        assert isinstance(func, ast.Attribute)
        ref = self.model_ref(func.value, scope, use.node.lineno)
        if ref is None or ref.model is None:
            return use
        return dataclasses.replace(use, model=ref.model.kind)

    @staticmethod
    def _bound_once(scope: _Scope, rebound: frozenset[str]) -> Iterator[tuple[str, ast.expr]]:
        """Module-level names bound exactly once, unconditionally, by a plain assignment (not
        unpacked), that no function rebinds through ``global``, with the value bound."""
        for name, bindings in scope.bindings.items():
            if name in rebound or len(bindings) != 1:
                continue
            binding = bindings[0]
            if binding.conditional or binding.value is None or binding.position is not None:
                continue
            yield name, binding.value

    def _constants(self, scope: _Scope, rebound: frozenset[str]) -> dict[str, float]:
        """Module-level names bound once to a number (see _bound_once)."""
        found: dict[str, float] = {}
        for name, expr in self._bound_once(scope, rebound):
            value = self.value(expr, scope, math.inf)
            if isinstance(value, Const) and type(value.value) in (int, float):
                number = folding.to_float(value.value)
                if number is None:  # a literal beyond float range: as a float is, infinite
                    number = math.inf if value.value > 0 else -math.inf  # type: ignore[operator]
                found[name] = number
        return found

    def _exports(self, scope: _Scope, rebound: frozenset[str]) -> dict[str, Value]:
        """Module-level names of losses, metrics and their weights (by the name: ``loss``,
        ``LOSSES``, ``loss_weights``, ``metrics``) bound once (see _bound_once), with what
        they hold, for a compile in another module that imports them (``from model import
        model, loss``)."""
        found: dict[str, Value] = {}
        for name, expr in self._bound_once(scope, rebound):
            if not _HANDED_KEYWORD.search(name):
                continue
            value = self.value(expr, scope, math.inf)
            if isinstance(value, (Const, Seq, Mapping, Ref, Call)):
                found[name] = value
        return found

    def _sizes(self, scope: _Scope, rebound: frozenset[str]) -> dict[str, int]:
        """Module-level names bound once (see _bound_once) to a list, tuple, set or dict
        written out (``CLASSES = ["cat", "dog"]``), with its length, for a ``len(CLASSES)`` in
        another module that imports it (a model's unit count)."""
        found: dict[str, int] = {}
        for name, expr in self._bound_once(scope, rebound):
            size = _literal_size(expr)
            if size is not None:
                found[name] = size
        return found

    @functools.cached_property
    def _changed_in_place(self) -> frozenset[str]:
        return _names_changed_in_place(self.tree, self.source)

    def _entries(self, scope: _Scope, rebound: frozenset[str]) -> dict[str, int]:
        """The integers of module-level dicts written out and bound once (see _bound_once),
        by name and keys (:func:`entry_key`): ``cfg = {"data": {"classes": 5}}`` gives
        ``cfg['data']['classes']``. A dict that the module changes in place (``cfg["n"] =
        args.n``, ``cfg.update(...)``) gives none: its entries are not what it wrote."""
        found: dict[str, int] = {}
        dicts = [(n, e) for n, e in self._bound_once(scope, rebound) if isinstance(e, ast.Dict)]
        if not dicts:
            return found
        changed = self._changed_in_place
        for name, expr in dicts:
            if name not in changed:
                _dict_integers(expr, name, (), found)
        return found

    def _note_redefinitions(self, body: list[ast.stmt]) -> None:
        """Name apart each function or class of a module or function body that the body
        defines again below it: ``loss#1`` for the first of two ``def loss``. Each is a
        definition of its own, read by what runs between it and the next (a notebook's compile
        in the cell after it); the last keeps the plain name, which is what an import or a call
        at run time finds. A class body's methods are left alone (a property's setter)."""
        defined: dict[str, list[ast.stmt]] = {}
        for statement in flat_statements(body):
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.setdefault(statement.name, []).append(statement)
        arms: dict[int, tuple[tuple[int, str], ...]] | None = None
        for nodes in defined.values():
            if len(nodes) < 2:
                continue
            if arms is None:
                arms = _arms(body)
            kept = self._alternative_kept(nodes, arms)
            if kept is not None:
                # Written in the arms of one ``if``/``else`` (``if TF_IMPORT_ERROR is None:``
                # in TensorFlow, else in NumPy): one of them runs, not one after the other. The
                # one in TensorFlow or Keras keeps the plain name, which every use reaches.
                for node in nodes:
                    if node is not kept:
                        self._suffixes[id(node)] = names.ALTERNATIVE
                continue
            for number, node in enumerate(nodes[:-1], start=1):
                self._suffixes[id(node)] = f"#{number}"

    def _alternative_kept(
        self, nodes: list[ast.stmt], arms: dict[int, tuple[tuple[int, str], ...]]
    ) -> ast.stmt | None:
        """Of definitions of one name, each in an arm of the same ``if``/``else`` or
        ``try``/``except`` that no other one is in (only one of them runs), the only one that
        reads TensorFlow or Keras; None where they are not such alternatives, or where not
        exactly one of them does."""
        paths = [arms.get(id(node), ()) for node in nodes]
        for number, first in enumerate(paths):
            for second in paths[number + 1 :]:
                if not _exclusive(first, second):
                    return None
        keras = [
            node
            for node in nodes
            if any(
                isinstance(n, ast.Name)
                and self.imports.get(n.id, "").partition(".")[0] in names.KERAS_PACKAGES
                for n in subtree(node)
            )
        ]
        return keras[0] if len(keras) == 1 else None

    def _qualname(self, node: ast.stmt, name: str, parent: _Scope) -> str:
        suffix = self._suffixes.get(id(node))
        if suffix is None:
            return f"{parent.qualname}.{name}"
        qualname = f"{parent.qualname}.{name}{suffix}"
        if suffix != names.ALTERNATIVE:  # a use below both reaches the plain one
            self._defined_at[(parent.qualname, name, node.lineno)] = qualname
        return qualname

    def _traced_function(self, returned: ast.expr, scope: _Scope) -> ast.expr:
        """The function a factory hands out where it traces it first: ``return
        tf.function(inner)``, or a name bound once to that (``optimized =
        tf.function(anomaly_diff)``, then ``return optimized``): Keras calls the traced
        function as it would ``inner``. Anything else as it is."""
        value = returned
        if isinstance(value, ast.Name):
            bound = scope.bindings.get(value.id)
            if bound and len(bound) == 1 and isinstance(bound[0].value, ast.Call):
                value = bound[0].value
        if (
            isinstance(value, ast.Call)
            and len(value.args) == 1
            and isinstance(value.args[0], ast.Name)
            and names.qualify(value.func, self.imports) == "tensorflow.function"
        ):
            return value.args[0]
        return returned

    def _nested(self, node: ast.AST, parent: _Scope) -> None:
        if isinstance(node, ast.ClassDef):
            qualname = self._qualname(node, node.name, parent)
            self._class_names.add(qualname)
            self._scope_nodes[qualname] = node
            bases = []
            for base in node.bases:
                value = self.value(base, parent, node.lineno)
                bases.append(value.target if isinstance(value, Ref) else "")
            self.classes.append(ClassDef(qualname, tuple(bases), self.def_span(node), node))
            # Methods resolve names in the enclosing scope, not in the class body (Python
            # semantics), but keep the class in their qualified name.
            method_parent = self._scope(qualname, parent)
            _ScopeBuilder(
                self._scope(qualname, parent),
                lambda n, _s: self._nested(n, method_parent),
                self.call_lines,
                self.lambda_lines,
            ).run(node.body)
            return
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        if isinstance(node, LambdaDef):
            if parent.qualname in self._class_names:
                return  # a class attribute: not a function of the module or a method
            self._lambda_names[node.lam] = f"{parent.qualname}.{node.name}"
        qualname = self._qualname(node, node.name, parent)
        scope = self._scope(qualname, parent)
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
        defaults.extend(args.defaults)
        for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
            scope.params[arg.arg] = Param(arg.arg, index, _int_constant(default))
        for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            scope.params[arg.arg] = Param(arg.arg, -1, _int_constant(default))
        for extra in (args.vararg, args.kwarg):
            if extra is not None:
                scope.params[extra.arg] = Param(extra.arg, -1, None)
        self.scopes.append(scope)
        self.function_scopes[qualname] = scope
        self._scope_nodes[qualname] = node
        if node.body and _lines_hold(node.body[0], node.body[-1], self.definition_lines):
            self._note_redefinitions(node.body)  # (a body without one defines nothing again)
        _ScopeBuilder(scope, self._nested, self.call_lines, self.lambda_lines).run(node.body)
        if (
            node.name == "compute_loss"
            and parent.qualname in self._class_names
            and "y_pred" in scope.params
        ):
            # A Keras 3 Model's ``compute_loss(self, x, y, y_pred, sample_weight)``: its
            # train_step differentiates what it returns (tape.gradient, jax.value_and_grad).
            scope.objectives.extend(("compute_loss", value, None) for value in scope.returns)
        returned = None
        for ret in scope.returns:
            ret = self._traced_function(ret, scope)
            if isinstance(ret, ast.Name):
                inner = f"{qualname}.{ret.id}"
                if inner in self.function_scopes:
                    returned = inner
        self.functions.append(
            FunctionDef(
                qualname=qualname,
                params=tuple(a.arg for a in positional),
                required=len(positional) - len(args.defaults),
                varargs=args.vararg is not None,
                required_kwonly=tuple(
                    a.arg
                    for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
                    if d is None
                ),
                span=self.def_span(node),
                returns_function=returned,
                node=node,
            )
        )

    # -- values ----------------------------------------------------------------------------

    def value(self, expr: ast.expr, scope: _Scope, line: float, depth: int = 0) -> Value:
        span = self.span(expr)
        if depth > _MAX_DEPTH:
            return Unknown(span)
        if isinstance(expr, ast.Constant):
            return Const(expr.value, span)
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
            inner = self.value(expr.operand, scope, line, depth + 1)
            if isinstance(inner, Const) and folding.is_number(inner.value):
                number = inner.value
                return Const(-number if isinstance(expr.op, ast.USub) else number, span)  # type: ignore[operator]
            return Unknown(span)
        if isinstance(expr, ast.BinOp) and folding.foldable(expr.op):
            left = self.value(expr.left, scope, line, depth + 1)
            right = self.value(expr.right, scope, line, depth + 1)
            joined = _joined(expr.op, left, right, span)
            if joined is not None:
                return joined
            if isinstance(left, Const) and isinstance(right, Const):
                # Bounded: ``EPS = 9 ** 9 ** 9`` is valid Python that must not be computed.
                folded = folding.fold(expr.op, left.value, right.value)
                return Unknown(span) if folded is None else Const(folded, span)
            return Unknown(span)
        if isinstance(expr, (ast.List, ast.Tuple)):
            if any(isinstance(e, ast.Starred) for e in expr.elts):
                return Unknown(span)
            kind = "list" if isinstance(expr, ast.List) else "tuple"
            return Seq(kind, tuple(self.value(e, scope, line, depth + 1) for e in expr.elts), span)
        if isinstance(expr, ast.Dict):
            if any(k is None for k in expr.keys):
                return Unknown(span)
            return Mapping(
                tuple(self.value(k, scope, line, depth + 1) for k in expr.keys if k is not None),
                tuple(self.value(v, scope, line, depth + 1) for v in expr.values),
                span,
            )
        if isinstance(expr, ast.Name):
            return self._name_value(expr, scope, line, depth, span)
        if isinstance(expr, ast.IfExp):
            # ``loss=masked_mse(mask) if use_mask else mse``: either may run, as a name bound
            # in branches (see Unknown.candidates).
            arms = (
                self.value(expr.body, scope, line, depth + 1),
                self.value(expr.orelse, scope, line, depth + 1),
            )
            named = tuple(dict.fromkeys(v for v in arms if isinstance(v, (Ref, Call))))
            return Unknown(span, candidates=named)
        if isinstance(expr, ast.Subscript):
            return self._item_value(expr, scope, line, depth, span)
        if isinstance(expr, ast.Attribute):
            target = names.qualify(expr, self.imports)
            if target:
                return Ref(target, span)
            return self._attribute_value(expr, scope, line, depth, span)
        if isinstance(expr, ast.Call):
            self._call_nodes[span] = expr
            func = self.value(expr.func, scope, line, depth + 1)
            target = func.target if isinstance(func, Ref) else None
            if isinstance(func, Unknown) and not func.candidates:
                target = self._inherited_method(expr.func, scope, line)
            if (
                target in ("builtins.list", "builtins.tuple")
                and len(expr.args) == 1
                and not expr.keywords
            ):
                # ``list(bet_metrics(0.05))`` of a factory of this module returning a tuple of
                # its closures (``return profit, margin``): those closures, in order.
                spread = self._returned_items(expr.args[0], scope, line, depth + 1)
                if spread is not None:
                    return Seq(target.rpartition(".")[2], spread, span)
            if target == "builtins.len" and len(expr.args) == 1 and not expr.keywords:
                size = self._size(expr.args[0], scope, line, depth + 1)
                if size is not None:  # ``num_classes = len(CLASSES)``: a unit count
                    return Const(size, span)
                # Else of another module's CLASSES, maybe (ProjectIndex reads the call).
            args = tuple(
                Unknown(self.span(a))
                if isinstance(a, ast.Starred)
                else self.value(a, scope, line, depth + 1)
                for a in expr.args
            )
            kwargs = tuple(
                (k.arg, self.value(k.value, scope, line, depth + 1))
                for k in expr.keywords
                if k.arg is not None
            )
            return Call(target, args, kwargs, span, span)
        if isinstance(expr, ast.Lambda) and expr in self._lambda_names:
            return Ref(self._lambda_names[expr], span)
        return Unknown(span)

    def _names_function(self, expr: ast.expr, qualname: str) -> bool:
        """Whether ``expr`` names a function of this module seen from function ``qualname``:
        a closure of it, a function of the module, or a method of its class (``self.f``)."""
        if isinstance(expr, ast.Name):
            return any(
                f"{scope}.{expr.id}" in self.function_scopes for scope in (qualname, self.module)
            )
        owner = qualname.rpartition(".")[0]
        return (
            isinstance(expr, ast.Attribute)
            and isinstance(expr.value, ast.Name)
            and expr.value.id == "self"
            and f"{owner}.{expr.attr}" in self.function_scopes
        )

    def _returned_items(
        self, expr: ast.expr, scope: _Scope, line: float, depth: int
    ) -> tuple[Value, ...] | None:
        """The items of a tuple or list written out, or returned as one by a function of this
        module called here (its one ``return``); None for anything else."""
        value = self.value(expr, scope, line, depth)
        if isinstance(value, Seq):
            return value.items
        if not isinstance(expr, ast.Call) or not isinstance(value, Call) or value.func is None:
            return None
        returned = self._one_returned_tuple(value)
        if returned is None or value.func.rpartition(".")[0] != self.module or depth > _MAX_DEPTH:
            return None  # (a module-level function's: not a method's)
        items = self.value(returned[1], returned[0], math.inf, depth + 1)
        return items.items if isinstance(items, Seq) else None

    def _one_returned_tuple(self, value: Value) -> tuple[_Scope, ast.Tuple | ast.List] | None:
        """The scope of the function of this module that ``value`` calls, and the tuple or
        list written out in its one ``return``; None for anything else."""
        func = value.func if isinstance(value, Call) else None
        callee = self.function_scopes.get(func) if func else None
        if callee is None or len(callee.returns) != 1:
            return None
        returned = callee.returns[0]
        return (callee, returned) if isinstance(returned, (ast.Tuple, ast.List)) else None

    def _size(self, expr: ast.expr | None, scope: _Scope, line: float, depth: int) -> int | None:
        """The length of a list, tuple, set or dict written out, directly or by a name."""
        size = _literal_size(expr)
        if size is not None or not isinstance(expr, ast.Name) or depth > _MAX_DEPTH:
            return size
        binding = scope.resolve(expr.id, line)
        if isinstance(binding, _Binding) and not binding.conditional and binding.position is None:
            return self._size(binding.value, binding.scope, binding.line, depth + 1)
        return None

    def _item_value(
        self, expr: ast.Subscript, scope: _Scope, line: float, depth: int, span: Span
    ) -> Value:
        """``LOSSES["focal"]``, ``losses[0]``: the item of a dict or list written in the code,
        read with a constant key."""
        key = self.value(expr.slice, scope, line, depth + 1)
        if not isinstance(key, Const):
            return Unknown(span)
        container = self.value(expr.value, scope, line, depth + 1)
        found: Value | None = None
        if (
            isinstance(container, Unknown)
            and container.param is not None
            and container.owner is not None
            and depth < _MAX_DEPTH
        ):
            # ``self.params["loss"]`` where ``__init__(self, params)`` keeps its parameter:
            # the item of the dict each caller in this module hands it (``params = {"loss":
            # SAD, ...}``, then ``Autoencoder(params)``).
            return self._handed_item(container, key.value, depth, span)
        if isinstance(container, Mapping):
            for item_key, item in zip(container.keys, container.values, strict=True):
                if isinstance(item_key, Const) and item_key.value == key.value:
                    found = item
        elif (
            isinstance(container, Seq)
            and type(key.value) is int
            and -len(container.items) <= key.value < len(container.items)
        ):
            found = container.items[key.value]
        if found is None or isinstance(found, Unknown):
            return Unknown(span)
        return dataclasses.replace(found, span=span)

    def _handed_item(self, given: Unknown, key: object, depth: int, span: Span) -> Value:
        """The item ``key`` of the dict that every call of ``given.owner`` in this module
        passes for its parameter ``given.param``, written out in the caller: one value where
        the callers agree, else what each gives as candidates (which run is not known)."""
        owner, param = given.owner, given.param
        assert owner is not None and param is not None
        asked = (owner, param.name, repr(key))
        if asked in self._handing:
            # A method whose callers pass on their own parameter of the same name, calling
            # one another (``decode(self, predictions)`` calling the imported ``decode(...,
            # predictions[0])``): each round of the cycle would ask again, exponentially.
            return Unknown(span)
        self._handing.add(asked)
        try:
            return self._handed_item_of(owner, param, key, depth, span)
        finally:
            self._handing.discard(asked)

    def _handed_item_of(
        self, owner: str, param: Param, key: object, depth: int, span: Span
    ) -> Value:
        cls = owner.removesuffix(".__init__")
        constructor = cls != owner and cls in self._class_names
        callee = cls if constructor else owner
        index = param.index - 1 if constructor else param.index
        found: list[Value] = []
        for call, caller, line in self._module_calls_named(callee.rpartition(".")[2]):
            argument = next((k.value for k in call.keywords if k.arg == param.name), None)
            if argument is None and 0 <= index < len(call.args):
                if any(isinstance(a, ast.Starred) for a in call.args[: index + 1]):
                    continue
                argument = call.args[index]
            if argument is None:
                continue
            handed = self.value(argument, caller, line, depth + 1)
            if not isinstance(handed, Mapping):
                continue
            for item_key, item in zip(handed.keys, handed.values, strict=True):
                if (
                    isinstance(item_key, Const)
                    and item_key.value == key
                    and not isinstance(item, Unknown)
                    and item not in found
                ):
                    found.append(item)
        if len(found) == 1:
            return dataclasses.replace(found[0], span=span)
        return Unknown(span, candidates=tuple(found)) if found else Unknown(span)

    def _module_calls_named(self, name: str) -> list[tuple[ast.Call, _Scope, int]]:
        """The calls ``name(...)`` in the module's functions and in its top-level code (a
        notebook's cells), each with its scope and line."""
        found = [(call, scope, call.lineno) for call, scope in self._calls_named(name)]
        wanted = self._lines_naming(name)
        module_scope = self.scopes[0]
        for statement in self.tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if not _holds_line(statement, wanted):
                continue
            for call in subtree(statement):
                if isinstance(call, ast.Call) and _is_name(call.func, name):
                    found.append((call, module_scope, call.lineno))
        return found

    def _name_value(
        self, expr: ast.Name, scope: _Scope, line: float, depth: int, span: Span
    ) -> Value:
        binding = scope.resolve(expr.id, line)
        if isinstance(binding, _Binding):
            assert binding.value is not None
            value = self.value(binding.value, binding.scope, binding.line, depth + 1)
            if isinstance(value, Call):
                return dataclasses.replace(
                    value, span=span, binding=f"{binding.scope.qualname}.{expr.id}"
                )
            if isinstance(value, Unknown):
                return value
            return dataclasses.replace(value, span=span)
        if isinstance(binding, Param):
            return Unknown(span, binding, self._param_owner(expr.id, scope))
        nested = self._local_def(expr.id, scope, line)
        if nested is not None:
            return Ref(nested, span)
        if binding is None:
            item = self._unpacked_item(expr.id, scope, line, depth)
            if item is not None:
                return dataclasses.replace(item, span=span)
        if _function_local(expr.id, scope):
            # Bound in a function, only not unconditionally (``if loss == "lat_rmse": loss =
            # create_lat_rmse(lat)`` for a parameter ``loss``): what a branch binds, never a
            # module's name of the same spelling (``from utils import *`` giving ``loss``).
            local = Unknown(span)
            if depth < _MAX_BRANCH_DEPTH:
                candidates = self._branch_values(expr.id, scope, line, depth)
                if candidates:
                    return dataclasses.replace(local, candidates=candidates)
            return local
        if expr.id in self.imports:
            return Ref(names.canonical(self.imports[expr.id]), span)
        if expr.id in self.top_level:
            return Ref(f"{self.module}.{expr.id}", span)
        if expr.id in _BUILTINS:
            return Ref(f"builtins.{expr.id}", span)
        value = self._unbound_name(expr.id, span)
        if isinstance(value, Unknown) and depth < _MAX_BRANCH_DEPTH:
            candidates = self._branch_values(expr.id, scope, line, depth)
            if candidates:
                return dataclasses.replace(value, candidates=candidates)
        return value

    def _unpacked_item(self, name: str, scope: _Scope, line: float, depth: int) -> Value | None:
        """``vae_loss, z = self._build_encoder(x)``: what a function or method of this module
        returns at that position of its one ``return`` (``return (vae_loss, Lambda(...)(...))``,
        a closure and a tensor), when it names a function or class, or holds only such names
        and calls of them (``return [NaNSafeLoss(bce_p), NaNSafeLoss(bce_s)], weights``)."""
        found = _bindings_in_scope(name, scope, line)
        if found is None:
            return None
        current, bindings, line = found
        last = _last_bound(bindings, line)
        unpacked = current.unpacked.get(name)
        if (
            last is None
            or unpacked is None
            or unpacked.position is None
            or unpacked.line != last.line
            or unpacked.value is None
            or depth > _MAX_DEPTH
        ):
            return None
        index, count = unpacked.position
        returned = self._one_returned_tuple(
            self.value(unpacked.value, current, unpacked.line, depth + 1)
        )
        if returned is None or len(returned[1].elts) != count:
            return None
        callee, elements = returned
        item = self.value(elements.elts[index], callee, math.inf, depth + 1)
        if isinstance(item, Ref):
            return item
        if isinstance(item, (Seq, Mapping)) and all(
            isinstance(leaf, Ref) or (isinstance(leaf, Call) and leaf.func)
            for leaf in iter_leaves(item)
        ):
            return item
        return None

    def _branch_values(
        self, name: str, scope: _Scope, line: float, depth: int
    ) -> tuple[Value, ...]:
        """What the bindings of ``name`` that may reach ``line`` hold, when the last of them is
        in a branch: each binding from the last unconditional one on (``loss = CE(w)`` then
        ``if dice: loss = dice_loss(w)``), evaluated, that names a function, a class or an
        object's call. A binding whose value is not evaluated (a loop target) adds nothing."""
        found = _bindings_in_scope(name, scope, line)
        if found is None:
            return ()
        _, bindings, line = found
        return self._named_values(_reaching(bindings, line), depth)

    def _named_values(self, bindings: Iterable[_Binding], depth: int) -> tuple[Value, ...]:
        """What ``bindings`` hold, evaluated, that names a function, a class or an object's
        call, or a list or dict of them (``if loss_function == "mse": losses = ["mse",
        negative_masked_mse]``, one per branch); a binding whose value is not evaluated, a
        loop target, adds nothing."""
        found: list[Value] = []
        for binding in bindings:
            for expr in (binding.value,) if binding.value is not None else binding.elements:
                value = self.value(expr, binding.scope, binding.line, depth + 1)
                if _names_objects(value) and value not in found:
                    found.append(value)
        return tuple(found[:_MAX_BRANCHES])

    @staticmethod
    def _param_owner(name: str, scope: _Scope) -> str | None:
        """The qualified name of the function whose parameter ``name`` is, seen from ``scope``."""
        current: _Scope | None = scope
        while current is not None:
            if name in current.bindings:
                return None
            if name in current.params:
                return current.qualname
            current = current.parent
        return None

    def _unbound_name(self, name: str, span: Span) -> Value:
        """A name nothing in the file binds: from a ``from m import *`` (the last one that may
        give it wins, as at run time), or, in a snippet that imports none of them, a well-known
        Keras name."""
        if self._bound_anywhere is None:
            self._bound_anywhere = {n for scope in self.scopes for n in scope.bindings}
        if name in self._bound_anywhere:
            return Unknown(span)  # bound somewhere, only not unconditionally: unknown
        source = names.star_source(self.stars, name)
        snippet = names.SNIPPET_CLASSES.get(name)
        if source is not None and snippet is not None and self._keras_by_star(source):
            # ``from attention_layers import *`` in a Keras module, that module doing ``from
            # tensorflow.keras.models import Model``: ``Model(inputs, [logits])`` is Keras's.
            return Ref(snippet, span)
        if source is not None:
            return Ref(names.canonical(f"{source}.{name}"), span)
        if snippet is not None:
            return Ref(snippet, span)
        return Unknown(span)

    @functools.cached_property
    def _imports_keras(self) -> bool:
        """Whether the module imports Keras or TensorFlow."""
        return any(t.partition(".")[0] in names.KERAS_PACKAGES for t in self.imports.values())

    def _keras_by_star(self, source: str) -> bool:
        """Whether a name a star import of ``source`` may give is taken for the well-known
        Keras class of that name: ``source``'s names are not known (a project module), and
        this module imports Keras or TensorFlow itself."""
        return names.star_members_unknown(source) and self._imports_keras

    def _local_def(self, name: str, scope: _Scope, line: float) -> str | None:
        """A function defined (unconditionally, or in the branch ``line`` is in, before it) in
        an enclosing function: ``def loss(...)`` nested in the function that compiles it (also
        under ``if penalization:``, with ``loss = penalized_loss`` below it), or in a script's
        ``if __name__ == "__main__":`` block (module level, but not a top-level statement).
        Of a function or class defined again further down, the definition before ``line``."""
        current: _Scope | None = scope
        while current is not None:
            bindings = current.bindings.get(name)
            if bindings:
                prior = [b for b in bindings if b.line < line]
                plain = f"{current.qualname}.{name}"
                last = prior[-1] if prior else None
                if last is None or (
                    last.conditional
                    and not (last.branch is not None and last.branch[0] <= line <= last.branch[1])
                ):
                    return None
                qualname = self._defined_at.get((current.qualname, name, last.line), plain)
                if qualname in self.function_scopes or (
                    qualname != plain and qualname in self._class_names
                ):
                    return qualname
                return None
            current, line = current.parent, math.inf
        return None

    def _attribute_value(
        self, expr: ast.Attribute, scope: _Scope, line: float, depth: int, span: Span
    ) -> Value:
        """``obj.method`` and ``self.x``: a bound method of a class, or what ``self.x`` holds.

        The class is known from the object's constructor call; whether it is a project class
        with that method is the project index's question (the class may be in another module).
        """
        base = expr.value
        cls = self._self_class(base, scope, line)
        if cls is not None:
            if f"{cls}.{expr.attr}" in self.function_scopes:
                return Ref(f"{cls}.{expr.attr}", span)
            binding = self._self_binding(cls, expr.attr)
            if binding is None:
                return Unknown(span, candidates=self._attribute_candidates(cls, expr.attr, depth))
            assert binding.value is not None
            value = self.value(binding.value, binding.scope, binding.line, depth + 1)
            if isinstance(value, Call):
                return dataclasses.replace(value, span=span, binding=f"self.{expr.attr}")
            return value if isinstance(value, Unknown) else dataclasses.replace(value, span=span)
        owner = self.value(base, scope, line, depth + 1)
        if isinstance(owner, Ref) and owner.target.startswith("builtins."):
            return Ref(f"{owner.target}.{expr.attr}", span)  # ``dict.fromkeys``
        if (
            isinstance(owner, Call)
            and owner.func is not None
            and not names.is_keras(owner.func)
            and not owner.func.startswith("builtins.")
        ):
            return Ref(f"{owner.func}.{expr.attr}", span, instance=owner)
        return Unknown(span)

    def _self_class(self, base: ast.expr, scope: _Scope, line: float) -> str | None:
        """The class whose method ``scope`` is, when ``base`` is that method's ``self``."""
        if not isinstance(base, ast.Name):
            return None
        param = scope.resolve(base.id, line)
        if not (isinstance(param, Param) and param.index == 0 and base.id == "self"):
            return None
        owner = scope.parent
        if owner is None or owner.qualname not in self._class_names:
            return None
        return owner.qualname

    def _inherited_method(self, func: ast.expr, scope: _Scope, line: float) -> str | None:
        """``self.get_metrics`` called in a method of a class that neither defines nor binds
        it but has a base of the project (``class Model(BaseModel)``, BaseModel maybe in
        another module of the package): the method as the class's (the project index finds
        it in a base)."""
        if not isinstance(func, ast.Attribute):
            return None
        cls = self._self_class(func.value, scope, line)
        if cls is None or self._self_binding(cls, func.attr) is not None:
            return None
        node = self._scope_nodes.get(cls)
        if not isinstance(node, ast.ClassDef):
            return None
        package = self.module.partition(".")[0]
        for base in node.bases:
            qualified = names.qualify(base, self.imports)
            if qualified is None and isinstance(base, ast.Name):
                qualified = f"{self.module}.{base.id}"
                if qualified not in self._class_names:
                    continue
            # A class of the project: of this module, or of the package this module is in.
            if qualified is not None and qualified.partition(".")[0] == package:
                return f"{cls}.{func.attr}"
        return None

    def _class_mentions(self, cls: str, text: str) -> bool:
        for found in self.classes:
            if found.qualname == cls:
                end = found.node.end_lineno or found.node.lineno
                return any(text in line for line in self.lines[found.node.lineno - 1 : end])
        return False

    def _attribute_candidates(self, cls: str, attribute: str, depth: int) -> tuple[Value, ...]:
        """What ``__init__`` binds ``self.attribute`` to in its branches (``if loss ==
        "evidentialReg": self.loss = EvidentialRegressionLoss(...)`` ``elif ...``), each that
        names a function, a class or an object's call: candidates, as for a name (see
        :meth:`_branch_values`)."""
        init = self.function_scopes.get(f"{cls}.__init__")
        if init is None or depth >= _MAX_BRANCH_DEPTH:
            return ()
        return self._named_values(init.attributes.get(attribute, []), depth)

    def _self_binding(self, cls: str, attribute: str) -> _Binding | None:
        """The one unconditional ``self.attribute = value`` of the class, ``__init__`` first."""
        if self._attributes is None:  # once per module: every method's self.x assignments
            self._attributes = {}
            for qualname, scope in self.function_scopes.items():
                owner = qualname.rpartition(".")[0]
                if owner in self._class_names and scope.attributes:
                    table = self._attributes.setdefault(owner, {})
                    for name, bindings in scope.attributes.items():
                        table.setdefault(name, []).extend(bindings)
        found = self._attributes.get(cls, {}).get(attribute, [])
        if len(found) != 1 or found[0].conditional or found[0].value is None:
            init = self.function_scopes.get(f"{cls}.__init__")
            bindings = init.attributes.get(attribute, []) if init else []
            if len(bindings) != 1 or bindings[0].conditional or bindings[0].value is None:
                return None
            if names.is_none(bindings[0].value) and len(found) > 1:
                return None  # ``self.cost = None``: a placeholder that other methods fill
            return bindings[0]
        return found[0]

    def _built_binding(self, cls: str, attribute: str) -> _Binding | None:
        """The one unconditional ``self.model = Model(...)`` of the class when its other
        assignments only reset it (``self.model = None``) or load it (``load_model(path)``:
        the model the class built and saved, compiled again with the same loss)."""
        self._self_binding(cls, attribute)  # builds the table of the class's assignments
        assert self._attributes is not None
        built = [
            b
            for b in self._attributes.get(cls, {}).get(attribute, [])
            if b.value is not None
            and not names.is_none(b.value)
            and not (
                isinstance(b.value, ast.Call)
                and (names.qualify(b.value.func, self.imports) or "").endswith(".load_model")
            )
        ]
        if len(built) != 1 or built[0].conditional:
            return None
        return built[0]

    def _units(
        self, expr: ast.expr | None, scope: _Scope, line: float
    ) -> int | Param | ImportedUnits | None:
        if expr is None:
            return None
        if isinstance(expr, ast.Name):
            binding = scope.resolve(expr.id, line)
            if isinstance(binding, Param):
                return binding
        value = self.value(expr, scope, line)
        if isinstance(value, Const) and type(value.value) is int:
            # A unit count beyond a float's range is no model's: unknown (messages print it).
            return None if folding.to_float(value.value) is None else value.value
        return self._imported_units(expr, scope, line, ())

    def _imported_units(
        self,
        expr: ast.expr,
        scope: _Scope,
        line: float,
        keys: tuple[str | int, ...],
        depth: int = 0,
    ) -> ImportedUnits | None:
        """A unit count read from another module (see :class:`ImportedUnits`): an imported
        name, directly, through names bound once, or with constant keys
        (``CLASS_N = cfg["data"]["classes"]`` after ``from config import cfg``)."""
        if depth > _MAX_DEPTH:
            return None
        while isinstance(expr, ast.Subscript):
            key = self.value(expr.slice, scope, line, depth + 1)
            if not (isinstance(key, Const) and isinstance(key.value, (str, int))):
                return None
            if isinstance(key.value, bool):
                return None
            keys = (key.value, *keys)
            expr = expr.value
        if isinstance(expr, ast.Name):
            if keys and expr.id in self._changed_in_place:
                return None  # ``cfg["classes"] = len(names)`` here: not what the module wrote
            binding = scope.resolve(expr.id, line)
            if isinstance(binding, Param):
                return None
            if isinstance(binding, _Binding):
                if binding.conditional or binding.position is not None or binding.value is None:
                    return None
                return self._imported_units(
                    binding.value, binding.scope, binding.line, keys, depth + 1
                )
        if not isinstance(expr, (ast.Name, ast.Attribute)):
            return None
        value = self.value(expr, scope, line, depth + 1)
        if not isinstance(value, Ref) or "." not in value.target or names.is_keras(value.target):
            return None
        return ImportedUnits(value.target, keys)

    # -- layers and tensors ----------------------------------------------------------------

    def tensor(self, expr: ast.expr, scope: _Scope, line: float, depth: int = 0) -> Output | None:
        """What a tensor expression in a functional graph is: units, activation, name."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, ast.Name):
            binding = scope.resolve(expr.id, line)
            if isinstance(binding, _Binding) and binding.value is not None:
                return self.tensor(binding.value, binding.scope, binding.line, depth + 1)
            return None
        if isinstance(expr, ast.Attribute) and names.self_attribute(expr) is not None:
            # ``self.pred = lambda_layer([p, n])`` earlier in this method, then
            # ``Model(inputs, outputs=self.pred)``: the tensor stored there.
            stored = _last_before(scope.attributes.get(expr.attr, []), line)
            if isinstance(stored, _Binding) and stored.value is not None:
                return self.tensor(stored.value, stored.scope, stored.line, depth + 1)
            return None
        if not isinstance(expr, ast.Call):
            return None
        span = self.span(expr)
        if isinstance(expr.func, (ast.Call, ast.Name, ast.Attribute)):
            layer = self.value(expr.func, scope, line)
            if (
                isinstance(layer, Call)
                and layer.func is not None
                and layer.func.rpartition(".")[2] in _LAYER_WRAPPERS
                and layer.args
                and isinstance(layer.args[0], Call)
                and names.is_keras(layer.args[0].func)
            ):
                # ``SpectralNormalization(Conv2D(1, 4, activation="sigmoid"))``,
                # ``TimeDistributed(Dense(n, activation="softmax"))``: the wrapped layer's
                # units and activation, on the last axis; and the wrapper's name, which is the
                # output's (``TimeDistributed(Dense(2), name="trajectory")``).
                named = [(k, v) for k, v in layer.kwargs if k == "name"]
                layer = layer.args[0]
                if named:
                    kept = tuple((k, v) for k, v in layer.kwargs if k != "name")
                    layer = dataclasses.replace(layer, kwargs=(*kept, *named))
            if isinstance(layer, Call) and names.is_keras(layer.func):
                if not expr.args:
                    return None
                source = expr.args[0]
                return self._apply_layer(
                    layer, lambda: self.tensor(source, scope, line, depth + 1), span, scope, line
                )
            if isinstance(layer, Call) and layer.func is not None and expr.args:
                # A layer object of some other library or of the project, applied to a tensor.
                return Output(None, None, None, span, layer=layer.func)
            if (
                isinstance(layer, Ref)
                and names.is_keras(layer.target)
                and layer.target.rpartition(".")[2] == "dot"
            ):
                # ``dot([user, item], axes=-1)``: a raw inner product, no activation.
                return Output(None, None, "linear", span)
            if isinstance(layer, Ref) and expr.args and layer.target in _RESHAPES:
                # ``tf.reshape(out, [-1, events, classes])`` after the output layer, as the
                # ``Reshape`` layer: the activation stays, the units are not known.
                before = self.tensor(expr.args[0], scope, line, depth + 1)
                known = before.units if before and isinstance(before.units, int) else None
                return Output(
                    None,
                    None,
                    before.activation if before else None,
                    span,
                    min_units=known or (before.min_units if before else None),
                )
            if (
                isinstance(layer, Ref)
                and layer.target.rpartition(".")[0] in names.TENSOR_MATH_MODULES
                and layer.target.rpartition(".")[2] in _LINEAR_OPS
            ):
                return self._linear_op(expr, layer.target, span, scope, line, depth)
            if isinstance(layer, Ref) and expr.args:
                activation = names.activation_from_name(layer.target)
                if activation is not None:
                    before = self.tensor(expr.args[0], scope, line, depth + 1)
                    return Output(
                        name=None,
                        units=before.units if before else None,
                        activation=activation,
                        span=span,
                        softmax_span=span if activation == "softmax" else None,
                    )
        if isinstance(expr.func, ast.Name) and scope.resolve(expr.func.id, line) is None:
            return self._returned_tensor(expr.func.id, depth)
        if (
            isinstance(expr.func, ast.Attribute)
            and isinstance(expr.func.value, ast.Name)
            and expr.func.value.id == "self"
        ):
            # ``head = self._build_head(x)`` in a method: another method of the class builds
            # the graph's last layers.
            owner = scope.qualname.rpartition(".")[0]
            method = self.function_scopes.get(f"{owner}.{expr.func.attr}")
            return self._agreed_output(method, depth + 1) if method is not None else None
        return None

    def _linear_op(
        self, expr: ast.Call, op: str, span: Span, scope: _Scope, line: float, depth: int
    ) -> Output | None:
        """A linear map or product of tensors (``tf.matmul(user, item, transpose_b=True)``):
        without an activation where every tensor it is given is the output of a layer without
        one (an ``Embedding``, a linear ``Dense``); else not known. (An ``einsum``'s first
        argument is its equation.)"""
        operands = expr.args[1:] if op.endswith("einsum") else expr.args
        if not operands or any(isinstance(a, ast.Starred) for a in operands):
            return None
        made = [self.tensor(a, scope, line, depth + 1) for a in operands]
        if any(m is None or m.activation != "linear" for m in made):
            return None
        return Output(None, None, "linear", span)

    def _returned_tensor(self, function: str, depth: int) -> Output | None:
        """``outputs = decoder(x, convs)``: what a function of this module that builds the
        graph's last layers returns, when each of its ``return`` statements gives the same
        output (its units, if they depend on a parameter, are not known)."""
        scope = self.function_scopes.get(f"{self.module}.{function}")
        return self._agreed_output(scope, depth + 1) if scope is not None else None

    def _agreed_output(self, scope: _Scope, depth: int = 0) -> Output | None:
        """The output every ``return`` of a function gives, when they agree on its activation
        (its units are not known where they differ or depend on a parameter); else None."""
        if not scope.returns:
            return None
        made = [self.tensor(value, scope, math.inf, depth) for value in scope.returns]
        first = made[0]
        if first is None or any(m is None or m.activation != first.activation for m in made):
            return None
        if isinstance(first.units, Param) or any(m.units != first.units for m in made if m):
            return dataclasses.replace(first, units=None)
        return first

    def _apply_layer(
        self,
        layer: Call,
        previous: Callable[[], Output | None],
        span: Span,
        scope: _Scope,
        line: float,
    ) -> Output:
        """The output of ``layer`` applied to a tensor described lazily by ``previous``."""
        assert layer.func is not None
        kind = layer.func.rpartition(".")[2]
        name_value = layer.kwarg("name")
        name = (
            name_value.value
            if isinstance(name_value, Const) and isinstance(name_value.value, str)
            else None
        )
        node = self._call_nodes.get(layer.origin)

        def units_of(index: int, *keywords: str) -> int | Param | ImportedUnits | None:
            if node is None:
                return None
            for keyword in node.keywords:
                if keyword.arg in keywords:
                    return self._units(keyword.value, scope, line)
            if index < len(node.args) and not isinstance(node.args[index], ast.Starred):
                return self._units(node.args[index], scope, line)
            return None

        # ``Dense(**params["dense3"])``: what is not written may be in the mapping (the
        # activation of a configuration file); unknown, not the default.
        splatted = node is not None and (
            any(k.arg is None for k in node.keywords)
            or any(isinstance(a, ast.Starred) for a in node.args)
        )
        if kind == "Dense":
            given = layer.arg(1, "activation")
            activation = None if given is None and splatted else _activation(given)
            return Output(
                name,
                units_of(0, "units", "output_dim"),
                activation,
                span,
                layer.origin if activation == "softmax" else None,
            )
        if kind in _CONV or kind in _RECURRENT:
            default = "tanh" if kind in _RECURRENT else "linear"
            value = layer.kwarg("activation")
            activation = (None if splatted else default) if value is None else _activation(value)
            return Output(name, units_of(0, "filters", "units"), activation, span)
        if kind == "Activation" or kind in _ACTIVATION_LAYERS:
            activation = (
                _activation(layer.arg(0, "activation"))
                if kind == "Activation"
                else _ACTIVATION_LAYERS[kind]
            )
            before = previous()
            if activation == "linear" and kind == "Activation" and before is not None:
                # Activation("linear", dtype="float32") after a softmax: the identity, a cast
                # for mixed precision (TensorFlow's guide), so the output is still the softmax.
                return dataclasses.replace(before, name=name, span=span)
            return Output(
                name,
                before.units if before else None,
                activation,
                span,
                layer.origin if activation == "softmax" else None,
                min_units=before.min_units if before else None,
            )
        before = previous()
        if kind in _PASS_THROUGH:
            if before is None:
                return Output(name, None, None, span)
            return dataclasses.replace(before, name=name, span=span)
        if kind in _NORMALIZATION:
            return Output(name, before.units if before else None, "linear", span)
        if kind in _KEEP_ACTIVATION or kind.startswith(_POOLING):
            # Pooling, padding and cropping keep the channels (the last axis).
            if before is None:
                return Output(name, None, None, span)
            return Output(name, before.units, before.activation, span, min_units=before.min_units)
        if kind in {"Flatten", "Reshape"}:
            # Flattening multiplies the channels by the positions: at least as many units.
            known = before.units if before and isinstance(before.units, int) else None
            bound = known or (before.min_units if before else None)
            return Output(name, None, before.activation if before else None, span, min_units=bound)
        if kind == "Dot":  # a raw inner product (a cosine with normalize=True): no activation
            return Output(name, None, "linear", span)
        if kind == "Embedding":  # a trained table of vectors: unbounded, as a linear layer's
            return Output(name, units_of(1, "output_dim"), "linear", span)
        if kind == "Lambda":
            function = layer.arg(0, "function")
            if isinstance(function, Ref):
                return Output(name, None, None, span, function=function.target)
        return Output(name, None, None, span)

    # -- models ----------------------------------------------------------------------------

    def model_ref(
        self, expr: ast.expr, scope: _Scope, line: float, depth: int = 0, passed: bool = False
    ) -> ModelRef | None:
        """Where the model in ``expr`` comes from: built here, or returned by a factory; and
        (``passed``: a compile receiver) a parameter, which its callers give."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, ast.Name):
            binding = scope.resolve(expr.id, line)
            if isinstance(binding, Param):
                return _parameter_model(scope, expr.id, binding) if passed else None
            if binding is None:
                return self._branch_models(expr.id, scope, line)
            if not isinstance(binding, _Binding) or binding.value is None:
                return None
            value = binding.value
            if isinstance(value, ast.Name):
                return self.model_ref(value, binding.scope, binding.line, depth + 1, passed)
            if not isinstance(value, ast.Call):
                return None
            adds = self._adds_between(scope, expr.id, binding, line)
            return self._call_model_ref(value, binding.scope, binding.line, adds)
        if isinstance(expr, ast.Call):
            return self._call_model_ref(expr, scope, line, [])
        if isinstance(expr, ast.Attribute):
            # ``self.model`` built in __init__ and compiled in another method, or built in this
            # method before (whatever the class's other methods assign to it).
            cls = self._self_class(expr.value, scope, line)
            binding = (
                (
                    _last_before(scope.attributes.get(expr.attr, []), line)
                    or self._self_binding(cls, expr.attr)
                    or self._built_binding(cls, expr.attr)
                )
                if cls is not None
                else None
            )
            if cls is None or binding is None:
                return None
            added: list[_Add] | None = []
            if self._class_mentions(cls, f"self.{expr.attr}.add("):
                # Layers added: known where this method built it and added them all, before
                # this line (``self.kmodel = Sequential()``, then ``self.kmodel.add(...)``).
                key = f"self.{expr.attr}"
                added = self._adds_between(scope, key, binding, line)
                everywhere = sum(len(s.adds.get(key, ())) for s in self._made)
                if binding.scope is not scope or not added or len(added) != everywhere:
                    return None
            if passed and isinstance(binding.value, ast.Name):  # ``self.model = model``
                given = binding.scope.resolve(binding.value.id, binding.line)
                if isinstance(given, Param):
                    return _parameter_model(binding.scope, binding.value.id, given)
            if not isinstance(binding.value, ast.Call):
                return None
            return self._call_model_ref(binding.value, binding.scope, binding.line, added)
        return None

    def _branch_models(self, name: str, scope: _Scope, line: float) -> ModelRef | None:
        """A model bound in branches of this scope (``if transfer: model = get_transfer(...)``
        / ``else: model = get_model(...)``): each binding that may reach ``line`` (see
        :func:`_reaching`), every one a model call; the project index keeps what they agree on."""
        chosen = _reaching(scope.bindings.get(name, []), line)
        if not 2 <= len(chosen) <= _MAX_BRANCHES:
            return None
        refs: list[ModelRef] = []
        for binding in chosen:
            if not isinstance(binding.value, ast.Call) or binding.position is not None:
                return None
            ref = self._call_model_ref(binding.value, binding.scope, binding.line, [])
            if ref is None:
                return None
            refs.append(ref)
        return ModelRef(alternatives=tuple(refs))

    def _adds_between(
        self, scope: _Scope, name: str, binding: _Binding, line: float
    ) -> list[_Add] | None:
        """``.add`` calls on ``name`` after its binding and before ``line``; None if uncertain."""
        if binding.scope is not scope:
            return []
        adds = [a for a in scope.adds.get(name, []) if binding.line < a.line < line]
        if adds and adds[-1].conditional:
            return None
        return adds

    def _call_model_ref(
        self, call: ast.Call, scope: _Scope, line: float, adds: list[_Add] | None
    ) -> ModelRef | None:
        func = self.value(call.func, scope, line)
        if (
            isinstance(func, Unknown)
            and isinstance(func.param, Param)
            and isinstance(call.func, ast.Name)  # not ``self.loss_fn(...)`` of a stored one
            and not adds
        ):
            # ``model = arch((96, 96, 1))`` where ``arch`` is a parameter: the model each
            # caller's factory makes (``model_arch(arch6)``).
            given = _parameter_model(scope, call.func.id, func.param)
            return dataclasses.replace(given, called=True) if given is not None else None
        if not isinstance(func, Ref):
            return None
        if func.target in ("keras.Sequential", "keras.Model"):
            model = self._build_model(func.target, call, scope, line, adds)
            return ModelRef(model=model) if model else None
        if func.target in _LOADERS and adds:
            # A loaded model with layers added (only a Sequential has ``add``): its output is
            # the last layer added, whatever was saved.
            model = self._stacked([(a.layer, a.conditional) for a in adds], scope, line, call)
            return ModelRef(model=model) if model else None
        if names.is_keras(func.target) or func.target.partition(".")[0] in _NO_MODELS:
            return None
        if names.HUGGING_FACE_HEAD.match(func.target):
            return ModelRef(model=pretrained_model(call, self.span(call)))
        if adds:
            # A factory's Sequential with a classifier added (``encoder = get_encoder(...)``,
            # then ``encoder.add(Dense(n, activation="softmax"))``): the last layer added.
            model = self._stacked([(a.layer, a.conditional) for a in adds], scope, line, call)
            if model is not None:
                return ModelRef(model=model)
        value = self.value(call, scope, line)
        assert isinstance(value, Call)
        return ModelRef(factory=func.target, args=value.args, kwargs=value.kwargs)

    def _build_model(
        self,
        kind: str,
        call: ast.Call,
        scope: _Scope,
        line: float,
        adds: list[_Add] | None,
    ) -> ModelFact | None:
        span = self.span(call)
        if span in self._models:
            return self._models[span]
        model = (
            self._sequential(call, scope, line, adds)
            if kind == "keras.Sequential"
            else self._functional(call, scope, line)
        )
        if model is not None:
            self._models[span] = model
        return model

    def _sequential(
        self, call: ast.Call, scope: _Scope, line: float, adds: list[_Add] | None
    ) -> ModelFact | None:
        if adds is None:
            return None
        layers: list[tuple[ast.expr, bool]] = []
        given = names.argument(call, 0, "layers")
        if given is not None:
            if isinstance(given, ast.Name):
                binding = scope.resolve(given.id, line)
                given = binding.value if isinstance(binding, _Binding) else None
            if not isinstance(given, (ast.List, ast.Tuple)):
                return None
            layers.extend((element, False) for element in given.elts)
        layers.extend((add.layer, add.conditional) for add in adds)
        return self._stacked(layers, scope, line, call)

    def _stacked(
        self, layers: list[tuple[ast.expr, bool]], scope: _Scope, line: float, call: ast.Call
    ) -> ModelFact | None:
        """The Sequential model ``call`` builds of ``layers`` (each with whether it is added
        only in a branch)."""
        if not layers:
            return None
        output: Output | None = None
        for element, conditional in layers:
            layer = self.value(element, scope, line)
            if (
                not conditional
                and isinstance(element, ast.Call)
                and not (isinstance(layer, Call) and names.is_keras(layer.func))
            ):
                # ``net.add(nin_block(96, ...))``: a block a function of this module builds.
                output = self._block_output(element)
                continue
            if conditional or not isinstance(layer, Call) or not names.is_keras(layer.func):
                output = None
                continue
            if layer.func in ("keras.Input", "keras.layers.InputLayer"):
                continue
            before = output
            output = self._apply_layer(layer, lambda b=before: b, layer.origin, scope, line)  # type: ignore[misc]
        if output is None:
            return None
        return ModelFact("sequential", "single", (output,), self.span(call))

    def _block_output(self, call: ast.Call) -> Output | None:
        """The output of the model that ``call``, a call of a function of this module, builds
        and returns (a Sequential block added to another, d2l's ``nin_block``), when it has
        one; its units are not known where they depend on the call's arguments."""
        if not isinstance(call.func, ast.Name):
            return None
        qualname = f"{self.module}.{call.func.id}"
        function = self.function_scopes.get(qualname)
        if function is None or qualname in self._building:
            return None
        self._building.add(qualname)
        try:
            ref = self._returned_model(function)
        finally:
            self._building.discard(qualname)
        model = ref.model if ref is not None else None
        if model is None or len(model.outputs) != 1:
            return None
        output = model.outputs[0]
        return output if isinstance(output.units, int) else dataclasses.replace(output, units=None)

    def _functional(self, call: ast.Call, scope: _Scope, line: float) -> ModelFact | None:
        outputs = names.argument(call, 1, "outputs") or names.argument(call, 99, "output")
        if outputs is None:
            return None
        if isinstance(outputs, ast.Name):
            binding = scope.resolve(outputs.id, line)
            if binding is None and _ever_collection(scope, outputs.id):
                return None  # ``outputs = [outputs, labels]`` in a branch: one or several
            if isinstance(binding, _Binding) and _joined_lists(binding.value):
                return None  # ``dis0(x) + [enc0(x)]``: a list of as many as they give
            if isinstance(binding, _Binding) and isinstance(
                binding.value, (ast.List, ast.Tuple, ast.Dict)
            ):
                if self._mutated(outputs.id, binding.line, line):
                    return None  # ``outs = []`` then ``outs.append(...)``: outputs unknown
                scope, line, outputs = binding.scope, binding.line, binding.value
        span = self.span(call)
        if isinstance(outputs, (ast.List, ast.Tuple)):
            if any(isinstance(e, ast.Starred) for e in outputs.elts):
                return None
            found = tuple(self._output(e, scope, line) for e in outputs.elts)
            return ModelFact("functional", "list", found, span)
        if isinstance(outputs, ast.Dict):
            keys: list[str] = []
            for key in outputs.keys:
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    return None
                keys.append(key.value)
            found = tuple(
                dataclasses.replace(self._output(v, scope, line), name=k)
                for k, v in zip(keys, outputs.values, strict=True)
            )
            return ModelFact("functional", "dict", found, span)
        if self._model_called(outputs, scope, line):
            return None  # ``Model(z, discriminator(generator(z)))``: that model's outputs
        if isinstance(outputs, ast.Subscript) and isinstance(outputs.slice, ast.Slice):
            return None  # ``rpn[:2]``: a slice of a list of outputs, as many as it holds
        if self._helper_built(outputs, scope, line):
            return None  # ``classifier = nn.classifier(...)``: a tensor or a list of them
        if self._given_outputs(outputs, scope, line):
            return None  # ``Model(inputs, self.outputs)`` from ``model_outputs``: as given
        return ModelFact("functional", "single", (self._output(outputs, scope, line),), span)

    def _given_outputs(self, outputs: ast.expr, scope: _Scope, line: float) -> bool:
        """Whether ``outputs`` is what the function is given (a parameter, or ``self.x``
        stored from one, a GAN wrapper's ``model_outputs=[]``) and no tensor the index can
        follow: its callers pass one tensor or a list of them."""
        if self.tensor(outputs, scope, line) is not None:
            return False
        if isinstance(outputs, ast.Attribute):
            return names.self_attribute(outputs) is not None
        return isinstance(outputs, ast.Name) and isinstance(scope.resolve(outputs.id, line), Param)

    def _helper_built(self, outputs: ast.expr, scope: _Scope, line: float) -> bool:
        """Whether ``outputs`` names what a function outside Keras and TensorFlow returned
        (``classifier = nn.classifier(base, rois)``, or ``Model(inputs, fast_rcnn(inputs))``),
        which may be one tensor or a list: the count is unknown unless the value is a tensor the
        index can follow."""
        call: ast.expr | None = outputs
        if isinstance(outputs, ast.Name):
            binding = scope.resolve(outputs.id, line)
            if not isinstance(binding, _Binding):
                return False
            call = binding.value
        if not isinstance(call, ast.Call):
            return False
        func = call.func
        if not isinstance(func, (ast.Name, ast.Attribute)):
            return False  # ``Dense(2)(x)``: a layer applied to a tensor
        callee = self._callee(func) or ""
        if callee.partition(".")[0] in ("keras", "tensorflow", "tf_keras"):
            return False
        own = (
            self.function_scopes.get(
                self._local_def(func.id, scope, line) or f"{self.module}.{func.id}"
            )
            if isinstance(func, ast.Name)
            else None
        )
        if own is not None and call is outputs:
            # A function of this module given straight to the model: several outputs only if
            # it returns a list or tuple (a head whose branches disagree is still one tensor).
            return any(isinstance(value, (ast.List, ast.Tuple)) for value in own.returns)
        return self.tensor(outputs, scope, line) is None

    def _model_called(self, outputs: ast.expr, scope: _Scope, line: float) -> bool:
        """Whether ``outputs`` is a model applied to a tensor (``discriminator(x)``, where
        ``discriminator`` was built by ``Model(...)`` or returned by a project function), or
        a name bound to one: it has that model's outputs, which may be several."""
        if isinstance(outputs, ast.Name):  # ``dp = act_gen_model(dp)``, then ``outputs=dp``
            named = scope.resolve(outputs.id, line)
            if not (isinstance(named, _Binding) and isinstance(named.value, ast.Call)):
                return False
            outputs, scope, line = named.value, named.scope, named.line
        if not (isinstance(outputs, ast.Call) and isinstance(outputs.func, ast.Name)):
            return False
        binding = scope.resolve(outputs.func.id, line)
        if not (isinstance(binding, _Binding) and isinstance(binding.value, ast.Call)):
            return False
        made = binding.value
        if _may_build_model(made):
            # A Sequential has one output, which the graph's tensors follow (``result =
            # body(x)``); a functional model may have several.
            return names.qualify(made.func, self.imports) != "keras.Sequential"
        target = names.qualify(made.func, self.imports)
        if target is None and isinstance(made.func, ast.Name):
            return f"{self.module}.{made.func.id}" in self.function_scopes
        return (
            target is not None
            and not names.is_keras(target)
            and target[:1].islower()
            and (target.rpartition(".")[2][:1].islower())
        )

    def _mutated(self, name: str, start: int, end: float) -> bool:
        """Is the list or dict bound to ``name`` changed in place between two lines
        (``name.append(x)``, ``name[i] = x``, ``name += [x]``, ``del name[i]``)?"""
        for node in subtree(self.tree):
            if not start < getattr(node, "lineno", 0) < end:
                continue
            changed: ast.expr | None = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in _MUTATORS:
                    changed = node.func.value
            elif isinstance(node, (ast.Assign, ast.Delete)):
                for target in node.targets:
                    if isinstance(target, ast.Subscript) and _is_name(target.value, name):
                        return True
            elif isinstance(node, ast.AugAssign):
                changed = node.target
                if isinstance(changed, ast.Subscript):
                    changed = changed.value
            if changed is not None and _is_name(changed, name):
                return True
        return False

    def _output(self, expr: ast.expr, scope: _Scope, line: float) -> Output:
        return self.tensor(expr, scope, line) or Output(None, None, None, self.span(expr))

    def _subclassed_model(self, cls: ClassDef) -> ModelRef | None:
        """A ``keras.Model`` subclass whose ``call`` returns one tensor of a known activation in
        every ``return`` (``return self.out(x)`` with ``self.out = Dense(1, activation="sigmoid")``
        in ``__init__``), and that trains as Keras does (no ``train_step`` or ``compute_loss`` of
        its own): the model its constructor makes, as a factory's (``model = Discriminator()``,
        then ``model.compile(...)`` or ``model(x)`` in a training step)."""
        if not any(base in names.KERAS_MODEL_BASES for base in cls.bases):
            return None
        # Its own training step or loss computation may never compute a compiled loss (a
        # depth-estimation model's ``train_step`` calling its ``calculate_loss``), unless each
        # step computes it on the model's own output, as Keras's does.
        if any(
            f"{cls.qualname}.{name}" in self.function_scopes for name in _OWN_TRAINING
        ) and not self._steps_as_keras(cls.qualname):
            return None
        scope = self.function_scopes.get(f"{cls.qualname}.call")
        # (Units set from the constructor's parameters are not bound to its arguments here.)
        output = self._agreed_output(scope) if scope is not None else None
        if output is None or output.activation is None:
            return None
        return ModelRef(model=ModelFact("subclassed", "single", (output,), cls.span))

    def _steps_as_keras(self, cls: str) -> bool:
        """Whether the class's own ``train_step`` and ``test_step`` compute the compiled loss
        on what the model returns, as Keras's own do (keras.io's custom ``fit``: ``y_pred =
        self(x, training=True)``, then ``self.compiled_loss(y, y_pred)`` or
        ``self.compute_loss(y=y, y_pred=y_pred)``, or ``super().train_step(data)``), and no
        ``compute_loss`` of its own: the compiled loss is then given the model's output."""
        if f"{cls}.compute_loss" in self.function_scopes:
            return False
        steps = [self._scope_nodes.get(f"{cls}.{name}") for name in ("train_step", "test_step")]
        found = False
        for step in steps:
            if step is None:
                continue
            computed = _compiled_loss_calls(step)
            if not computed:
                return False  # a step that computes some other loss
            for call in computed:
                method = names.last_name(call.func)
                if method == "train_step":
                    continue  # ``super().train_step(data)``
                # ``compute_loss(x, y, y_pred)``; ``compiled_loss(y, y_pred)``, ``loss(y, y_pred)``
                position = 2 if method == "compute_loss" else 1
                predicted = names.argument(call, position, "y_pred")
                if predicted is None or not _model_output_of_self(predicted, step):
                    return False
            found = True
        return found

    def _returned_model(self, scope: _Scope) -> ModelRef | None:
        """The model a function returns (a factory): of its one ``return``, or the models of
        its several (a dispatcher's ``if model_id == ...: return get_lstm_model(n)``), each of
        which must be known."""
        if not scope.returns or len(scope.returns) > _MAX_BRANCHES:
            return None
        refs = [self.model_ref(value, scope, math.inf) for value in scope.returns]
        if len(refs) == 1 or any(ref is None for ref in refs):
            return refs[0] if len(refs) == 1 else None
        return ModelRef(alternatives=tuple(ref for ref in refs if ref is not None))

    def _collect_models(self) -> None:
        """Build every model constructed anywhere, so model-only rules see them all."""
        for scope in self.scopes:
            for name, bindings in scope.bindings.items():
                for binding in bindings:
                    if isinstance(binding.value, ast.Call) and _may_build_model(binding.value):
                        end = _next_binding_line(bindings, binding)
                        adds = self._adds_between(scope, name, binding, end)
                        self._call_model_ref(binding.value, scope, binding.line, adds)
            for ret in scope.returns:
                if isinstance(ret, ast.Call) and _may_build_model(ret):
                    self._call_model_ref(ret, scope, math.inf, [])
            for bindings in scope.attributes.values():
                # ``self.model = keras.Sequential([...])`` in ``__init__`` (an RL actor): its
                # layers given there (``self.model.add`` is not followed).
                for binding in bindings:
                    value = binding.value
                    if isinstance(value, ast.Call) and _may_build_model(value) and value.args:
                        self._call_model_ref(value, scope, binding.line, [])

    # -- compile sites ---------------------------------------------------------------------

    def _named_model_compile(self, call: ast.Call) -> bool:
        """``model.compile(opt, loss)`` in a module that imports Keras or TensorFlow, on a
        receiver named like a model (a parameter of a training function): an optimizer and a
        loss by position, as Keras takes them."""
        parts = names.dotted(call.func)
        receiver = parts[-2].lower() if parts and len(parts) >= 2 else ""
        return (
            len(call.args) >= 2
            and not any(isinstance(a, ast.Starred) for a in call.args[:2])
            and self._imports_keras
            and ("model" in receiver or _optimizer_like(call.args[0]))
        )

    def _compile_sites(self, scope: _Scope) -> Iterator[CompileSite]:
        for call in scope.compiles:
            assert isinstance(call.func, ast.Attribute)
            receiver = call.func.value
            keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
            if not keywords.keys() <= _KERAS_COMPILE_KEYWORDS:
                continue  # another library's compile
            imported = names.qualify(receiver, self.imports)
            if imported is not None:
                if not (_COMPILE_KEYWORDS & keywords.keys()) or not self._imported_object(
                    receiver, imported
                ):
                    continue  # re.compile, tf.compile...: a module, not a model
                # ``from model import model``: the model another module builds at its top.
                model: ModelRef | None = ModelRef(factory=imported)
            else:
                model = self.model_ref(receiver, scope, call.lineno, passed=True)
            if (
                not (_COMPILE_KEYWORDS & keywords.keys())
                and not _plausible_model(model)
                and not self._named_model_compile(call)
            ):
                continue  # code.InteractiveConsole().compile(source, filename, mode)
            loss = keywords.get("loss")
            if loss is None and len(call.args) >= 2:
                loss = call.args[1]
            optimizer = keywords.get("optimizer")
            if optimizer is None and call.args:
                optimizer = call.args[0]

            line = call.lineno

            def value(expr: ast.expr | None, at: int = line) -> Value | None:
                return None if expr is None else self.value(expr, scope, at)

            # The arguments after ``loss`` given by position, up to a ``*args``.
            extra = []
            for argument in call.args[2:4]:
                if isinstance(argument, ast.Starred):
                    break
                extra.append(value(argument))
            positional = _positional_compile(extra, keywords)
            given = dict(zip(positional, extra, strict=False))
            for name in ("loss_weights", "metrics"):
                if name not in given:
                    given[name] = value(keywords.get(name))
            parts = names.dotted(receiver)
            callers = self._callers_train(receiver, scope)
            yield CompileSite(
                span=self.span(call),
                scope=scope.qualname,
                receiver=".".join(parts) if parts else None,
                model=model,
                loss=value(loss),
                loss_weights=given["loss_weights"],
                metrics=given["metrics"],
                weighted_metrics=value(keywords.get("weighted_metrics")),
                per_example=_per_example(value(optimizer)),
                idle=not callers and self._idle(receiver, scope),
                callers_train=callers,
                positional=tuple(positional),
                eager=names.is_true(keywords.get("run_eagerly")),
            )

    def _imported_object(self, receiver: ast.expr, target: str) -> bool:
        """Whether ``receiver`` is a name imported from a module (``from model import model``),
        not a module itself, and not from the standard library or a framework."""
        if not isinstance(receiver, ast.Name):
            return False
        if self._from_imported is None:
            self._from_imported = {
                alias.asname or alias.name
                for node in self.tree.body
                if isinstance(node, ast.ImportFrom)
                for alias in node.names
            }
        root = target.partition(".")[0]
        return (
            receiver.id in self._from_imported
            and root not in sys.stdlib_module_names
            and root not in _FRAMEWORKS
        )

    def _idle(self, receiver: ast.expr, scope: _Scope) -> bool:
        """Whether the model compiled here never computes this loss: the name it is compiled
        under (``generator``, or ``self.generator`` in its class) is never fitted, evaluated or
        trained on a batch, and never handed on (to a container, another name, a ``return``,
        a function that does more than apply it); only predicted with, saved, loaded, called
        on tensors (a GAN's generator inside the combined model, which trains it under its own
        loss) or marked trainable. (Not asked where its callers decide: see _callers_train.)"""
        parts = names.dotted(receiver)
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[0] != "self"):
            return False
        if isinstance(receiver, ast.Name) and self._trains_its_own_way(receiver, scope):
            return True
        if len(parts) == 1:
            owner: str | None = scope.qualname
        else:  # ``self.generator``: its uses in every method of the class
            owner = scope.parent.qualname if scope.parent is not None else None
            if owner not in self._class_names:
                return False
        root = self.tree if owner == self.module else self._scope_nodes.get(owner or "")
        # Used after it was compiled, and never trained: a model compiled last and left so (a
        # notebook template, a snippet) is about to be fitted by its reader.
        return (
            root is not None
            and _used_after(root, parts, receiver.lineno, self._lines_naming(parts[-1]))
            and self._idle_in(root, parts, 0)
        )

    def _callers_train(self, receiver: ast.expr, scope: _Scope) -> str:
        """What decides, in the callers, whether the model compiled here is trained (see
        ``CompileSite.callers_train``), else "": the attribute of ``self.<attribute>.compile``
        in a class that builds and compiles models, trains none of them itself and applies
        none inside another (keras-molecules' ``MoleculeVAE``, fitted as
        ``model.autoencoder.fit(...)`` in ``train.py``), or ``factory()`` for a model a
        top-level function returns (see :meth:`_factory_returning`). Such a compile is not
        :meth:`_idle`; the project join decides."""
        parts = names.dotted(receiver)
        if parts and len(parts) == 1:
            return self._factory_returning(parts[0], scope)
        if not parts or len(parts) != 2 or parts[0] != "self" or parts[1].startswith("_"):
            return ""
        owner = scope.parent.qualname if scope.parent is not None else None
        root = self._scope_nodes.get(owner) if owner in self._class_names else None
        if root is None or any(_trains_or_applies(node, parts) for node in subtree(root)):
            return ""
        return parts[1]

    def _factory_returning(self, name: str, scope: _Scope) -> str:
        """``create_model()`` where a top-level function compiles the model named ``name``,
        returns it, and neither trains nor applies any model itself (OnionNet's prediction
        script keeps its own copy of the training script's factory, then only loads weights
        and predicts): its callers decide, as for an attribute (see :meth:`_callers_train`).
        Else ""."""
        node = self._scope_nodes.get(scope.qualname)
        if (
            not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            or scope.qualname != f"{self.module}.{node.name}"
        ):
            return ""
        returns = [n for n in subtree(node) if isinstance(n, ast.Return)]
        if not returns or not all(r.value is not None and _is_name(r.value, name) for r in returns):
            return ""
        if any(_trains_or_applies(n, [name]) for n in subtree(node)):
            return ""
        return f"{node.name}()"

    def _lines_naming(self, name: str) -> list[int]:
        """The lines where ``name`` is written as a word (cached)."""
        found = self._naming.get(name)
        if found is None:
            found = self._naming[name] = (
                lines_with_words(self.source, [name])
                if name.isidentifier()
                else lines_matching(self.source, re.compile(rf"\b{re.escape(name)}\b"))
            )
        return found

    def _trains_its_own_way(self, receiver: ast.Name, scope: _Scope) -> bool:
        """Whether ``receiver`` is bound to an instance of a class of this module whose own
        ``train_step`` never computes the compiled loss (no ``self.compute_loss``,
        ``self.compiled_loss``, ``self.loss`` call, nor ``super().train_step``): keras.io's
        depth-estimation model, whose step calls its own ``calculate_loss``."""
        binding = scope.resolve(receiver.id, receiver.lineno)
        if not isinstance(binding, _Binding) or not isinstance(binding.value, ast.Call):
            return False
        func = binding.value.func
        if not isinstance(func, ast.Name) or f"{self.module}.{func.id}" not in self._class_names:
            return False
        step = self._scope_nodes.get(f"{self.module}.{func.id}.train_step")
        if not isinstance(step, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        return not _compiled_loss_calls(step)

    def _idle_in(self, root: ast.AST, parts: list[str], depth: int) -> bool:
        # Only the statements on lines that spell the model's name can use it.
        body = root.body if isinstance(root, ast.Module) else [root]
        lines = self._lines_naming(parts[-1])

        def own(node: ast.AST) -> bool:  # a function's own variable of that name
            return node is not root and len(parts) == 1 and _binds_own(node, parts[0])

        parents: dict[int, ast.AST] = {}
        nodes: list[ast.AST] = []
        for part, holder in parts_on_lines(body, lines, own):
            if holder is not None:
                parents[id(part)] = holder
            stack = [part]
            while stack:  # the uses of this variable: not those of a function's own by that name
                node = stack.pop()
                nodes.append(node)
                if own(node):
                    continue
                for child in ast.iter_child_nodes(node):
                    parents[id(child)] = node
                    stack.append(child)
        for node in nodes:
            if not _names_model(node, parts) or isinstance(getattr(node, "ctx", None), ast.Store):
                continue
            parent = parents.get(id(node))
            if _idle_use(node, parent, parents):
                continue
            if depth < _MAX_IDLE_DEPTH and self._applied_by_callee(node, parent, parents, depth):
                continue
            return False
        return True

    def _applied_by_callee(
        self, node: ast.AST, parent: ast.AST | None, parents: dict[int, ast.AST], depth: int
    ) -> bool:
        """``build_adversarial_model(generator, discriminator)``, a function of this module
        whose parameter is itself only used idly (applied to tensors to build a model); or
        ``self._test_converted_model(model, graph)``, such a method of the class whose method
        holds the call (a test's helper that only predicts with the model)."""
        call = parents.get(id(parent)) if isinstance(parent, ast.keyword) else parent
        if not isinstance(call, ast.Call):
            return False
        target: ast.AST | None = None
        skipped = 0  # the parameters the call does not give: a method's ``self``
        if isinstance(call.func, ast.Name):
            target = self._scope_nodes.get(f"{self.module}.{call.func.id}")
        elif isinstance(call.func, ast.Attribute) and _is_name(call.func.value, "self"):
            target, skipped = self._sibling_method(call), 1
        if not isinstance(target, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        params = [a.arg for a in [*target.args.posonlyargs, *target.args.args]][skipped:]
        if isinstance(parent, ast.keyword):
            param = parent.arg
        else:
            index = next((i for i, a in enumerate(call.args) if a is node), None)
            param = params[index] if index is not None and index < len(params) else None
        return param is not None and self._idle_in(target, [param], depth + 1)

    def _sibling_method(self, call: ast.Call) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The method of this module's class that ``self.<name>(...)`` calls, where the class
        written around the call defines it itself (not one it inherits)."""
        assert isinstance(call.func, ast.Attribute)
        enclosing = [
            node
            for node in map(self._scope_nodes.get, self._class_names)
            if isinstance(node, ast.ClassDef) and _encloses(node, call)
        ]
        if not enclosing:
            return None
        holder = max(enclosing, key=lambda node: node.lineno)  # the innermost
        for statement in holder.body:
            if (
                isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
                and statement.name == call.func.attr
            ):
                return statement
        return None


def _encloses(outer: ast.ClassDef, inner: ast.expr) -> bool:
    """Whether ``inner`` lies within the lines of ``outer``."""
    return outer.lineno <= inner.lineno <= (outer.end_lineno or outer.lineno)


def _trains_or_applies(node: ast.AST, parts: list[str]) -> bool:
    """Whether ``node`` fits, evaluates or trains a model on a batch, or applies the model
    named ``parts`` to tensors (a GAN's generator inside its combined model)."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Attribute) and func.attr in _TRAINS) or names.dotted(func) == parts


# Uses of a compiled model that compute its loss, or that hand it to code we do not follow.
_TRAINS: Final = frozenset(
    {
        "fit", "fit_generator", "train_on_batch", "evaluate", "evaluate_generator",
        "test_on_batch",
    }
)  # fmt: skip
_MAX_IDLE_DEPTH: Final = 3  # functions followed that a compiled model is handed to
# Calls that take a model without training it (a callback's ``set_model``, a plot, a print,
# ``Sequential.add``, which makes it a layer of a model trained under that model's loss).
_SHOWS: Final = frozenset({"set_model", "plot_model", "print", "summary", "add"})


# Keras's optimizer names (``compile("rmsprop", ...)``), and how a name holding one reads.
_OPTIMIZER_NAMES: Final = frozenset(
    {"sgd", "rmsprop", "adam", "adamw", "adadelta", "adagrad", "adamax", "nadam", "ftrl", "lion"}
)
_OPTIMIZER_WORD: Final = re.compile(r"opt|adam|sgd|rmsprop|adagrad|adadelta", re.IGNORECASE)


def _optimizer_like(expr: ast.expr) -> bool:
    """An optimizer as ``compile``'s first argument: a Keras optimizer's name, or a name or
    call that reads as one (``opt``, ``optimizer``, ``Adam(1e-3)``, ``keras.optimizers.SGD``)."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value.lower() in _OPTIMIZER_NAMES
    target = expr.func if isinstance(expr, ast.Call) else expr
    spelled = ".".join(names.dotted(target) or ())
    return bool(spelled) and bool(_OPTIMIZER_WORD.search(spelled))


def _function_local(name: str, scope: _Scope) -> bool:
    """Whether a function around ``scope`` (not the module) binds ``name`` or takes it."""
    current: _Scope | None = scope
    while current is not None and current.parent is not None:
        if name in current.bindings or name in current.params:
            return True
        current = current.parent
    return False


def _reaching(bindings: list[_Binding], line: float) -> list[_Binding]:
    """The bindings before ``line`` that may hold the name there: from the last unconditional
    one on (``loss = CE(w)``, then ``if dice: loss = dice_loss(w)``)."""
    prior = [b for b in bindings if b.line < line]
    start = max((i for i, b in enumerate(prior) if not b.conditional), default=0)
    return prior[start:]


def _with_states(value: ast.expr | None) -> bool:
    """Whether ``value`` applies a layer made with ``return_state=True`` (a recurrent layer,
    which returns its output and then its states)."""
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Call)
        and any(k.arg == "return_state" and names.is_true(k.value) for k in value.func.keywords)
    )


def _loop_elements(loop: ast.For | ast.AsyncFor, scope: _Scope) -> dict[str, tuple[ast.expr, ...]]:
    """The values each name a loop binds takes in turn, where the loop runs over a literal
    list, tuple or set, a dict's ``values()`` or ``items()``, or an ``enumerate`` of one of
    those, written there or bound once to a name above the loop (``losses = {"l01":
    weighted_mae, "l02": BernoulliGammaLoss()}``, then ``for loss_id, loss in
    losses.items()``). Empty for any other loop."""
    iterable, target = loop.iter, loop.target
    pairs = False  # each item is a (key or index, value) pair
    if (
        isinstance(iterable, ast.Call)
        and isinstance(target, ast.Tuple)
        and names.last_name(iterable.func) == "enumerate"
        and len(iterable.args) == 1
        and not iterable.keywords
    ):
        iterable, pairs = iterable.args[0], True
    method = None
    if (
        isinstance(iterable, ast.Call)
        and isinstance(iterable.func, ast.Attribute)
        and iterable.func.attr in ("items", "values")
        and not iterable.args
        and not iterable.keywords
    ):
        method, iterable = iterable.func.attr, iterable.func.value
        pairs = pairs or method == "items"
    if isinstance(iterable, ast.Name):
        binding = scope.resolve(iterable.id, loop.lineno)
        iterable = binding.value if isinstance(binding, _Binding) and binding.value else iterable
    if method is not None:
        if not isinstance(iterable, ast.Dict) or None in iterable.keys:
            return {}
        values: list[ast.expr] = list(iterable.values)
    elif isinstance(iterable, (ast.List, ast.Tuple, ast.Set)):
        values = list(iterable.elts)
    else:
        return {}
    if not values or any(isinstance(v, ast.Starred) for v in values):
        return {}
    if pairs:  # ``key, value``: the value is the last target
        if not (isinstance(target, ast.Tuple) and len(target.elts) == 2):
            return {}
        target = target.elts[1]
    return {target.id: tuple(values)} if isinstance(target, ast.Name) else {}


def _paired_values(target: ast.Tuple | ast.List, value: ast.expr | None) -> list[ast.expr] | None:
    """The values of ``a, b = x, y`` element by element: a literal tuple or list as long as the
    target, without starred elements, reading none of the names it binds (``a, b = b, a``
    reads the old values, which a binding per element would lose)."""
    if not isinstance(value, (ast.Tuple, ast.List)) or len(value.elts) != len(target.elts):
        return None
    if any(isinstance(e, ast.Starred) for e in (*target.elts, *value.elts)):
        return None
    bound = {n.id for e in target.elts for n in subtree(e) if isinstance(n, ast.Name)}
    if any(isinstance(n, ast.Name) and n.id in bound for e in value.elts for n in subtree(e)):
        return None
    return list(value.elts)


def _binds_own(node: ast.AST, name: str) -> bool:
    """Whether a nested function has a variable ``name`` of its own (a parameter, or assigned
    without ``global``)."""
    if isinstance(node, ast.Lambda):
        return name in {a.arg for a in [*node.args.posonlyargs, *node.args.args]}
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    args = node.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    if name in {a.arg for a in every if a is not None}:
        return True
    declared = {n for s in flat_statements(node.body) if isinstance(s, ast.Global) for n in s.names}
    return name not in declared and any(
        isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
        for s in flat_statements(node.body)
        for n in subtree(s)
        if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    )


def _used_after(root: ast.AST, parts: list[str], line: int, naming: list[int]) -> bool:
    """Whether the compiled model is used below ``line`` other than compiled again: applied,
    predicted with, handed to a call. ``naming``: the lines that spell its name, the only ones
    whose statements are read."""
    body = root.body if isinstance(root, ast.Module) else [root]
    below = naming[bisect.bisect_right(naming, line) :]
    for node in (n for part, _ in parts_on_lines(body, below) for n in subtree(part)):
        if getattr(node, "lineno", 0) <= line:
            continue
        if isinstance(node, ast.Attribute) and _names_model(node.value, parts):
            if node.attr != "compile":
                return True
        elif isinstance(node, ast.Call) and any(
            _names_model(n, parts)
            for n in [node.func, *node.args, *(k.value for k in node.keywords)]
        ):
            return True
    return False


def _names_model(node: ast.AST, parts: list[str]) -> bool:
    if len(parts) == 1:
        return isinstance(node, ast.Name) and node.id == parts[0]
    return (
        isinstance(node, ast.Attribute)
        and node.attr == parts[1]
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    )


def _idle_use(node: ast.AST, parent: ast.AST | None, parents: dict[int, ast.AST]) -> bool:
    """Whether this read of a compiled model leaves its loss uncomputed (see _idle)."""
    if isinstance(parent, ast.Attribute) and parent.value is node:
        return parent.attr not in _TRAINS  # ``g.predict(...)``, ``g.trainable = False``
    if isinstance(parent, ast.Call) and parent.func is node:
        return True  # ``generator(z)``: the model applied to a tensor
    call = parents.get(id(parent)) if isinstance(parent, ast.keyword) else parent
    if isinstance(call, ast.Call):  # handed to a call: only one that shows it
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name in _SHOWS
    return isinstance(parent, (ast.Compare, ast.If, ast.While, ast.Assert, ast.UnaryOp))


# A differentially private optimizer: it needs the loss of each example (reduction NONE).
_DP_OPTIMIZER: Final = re.compile(r"^(?:Vectorized)?DP[A-Z]\w*")


def _positional_compile(values: list[Value | None], keywords: dict[str, ast.expr]) -> list[str]:
    """What the arguments of ``compile`` after ``loss`` given by position are: Keras 2 reads
    ``(optimizer, loss, metrics, loss_weights)``, Keras 3 ``(optimizer, loss, loss_weights,
    metrics)``. Each is read as what it holds: numbers are loss weights, anything else (names,
    functions, metric objects) metrics; a name also given by keyword is not taken twice."""
    out: list[str] = []
    for value in values:
        leaves = list(iter_leaves(value)) if value is not None else []
        weights = bool(leaves) and all(
            isinstance(leaf, Const)
            and isinstance(leaf.value, (int, float))
            and not isinstance(leaf.value, bool)
            for leaf in leaves
        )
        name = "loss_weights" if weights else "metrics"
        if name in out or name in keywords:
            name = "metrics" if name == "loss_weights" else "loss_weights"
        if name in out or name in keywords:
            break
        out.append(name)
    return out


def _per_example(optimizer: Value | None) -> bool:
    """Whether the compiled optimizer is TF Privacy's (``DPKerasSGDOptimizer(...)``,
    ``VectorizedDPSGD(...)``, any class given ``l2_norm_clip``/``noise_multiplier``), which
    computes and clips a gradient per example from a loss that is not reduced."""
    if not isinstance(optimizer, Call):
        return False
    if {"l2_norm_clip", "noise_multiplier"} & {key for key, _ in optimizer.kwargs}:
        return True  # DP-SGD's own settings, whatever the class (a test's parameter)
    return optimizer.func is not None and (
        optimizer.func.startswith("tensorflow_privacy")
        or bool(_DP_OPTIMIZER.match(optimizer.func.rpartition(".")[2]))
    )


_MODEL_CLASS_NAMES: Final = frozenset({"Sequential", "Model", "Functional"})
_LOADERS: Final = frozenset({"keras.models.load_model", "keras.saving.load_model"})
# Calls that return the rows of each array they are given: how many arrays per one given.
_SPLITS: Final = {
    "sklearn.model_selection.train_test_split": 2,
    "sklearn.cross_validation.train_test_split": 2,
    "sklearn.utils.shuffle": 1,
}


def _fromkeys(value: Value) -> TypeGuard[Call]:
    """``dict.fromkeys(keys, value)``: a dict giving every key the same value."""
    return (
        isinstance(value, Call) and value.func == "builtins.dict.fromkeys" and len(value.args) == 2
    )


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


_TENSOR_OPS: Final = ("keras.ops.", "keras.backend.", "keras.activations.", "tensorflow.")


def _may_build_tensors(source: str) -> bool:
    """A cheap text test before looking for symbolic tensors: a layer applied, an Input, an
    ``.output``."""
    return ")(" in source or "Input(" in source or ".output" in source


def _layer_or_model(func: str | None) -> bool:
    return func is not None and (
        (func.startswith("keras.layers.") and func != "keras.layers.Input")
        or func in ("keras.Model", "keras.Sequential")
    )


def _own_class(func: str | None) -> bool:
    """A class from outside Keras and the standard library (``FlipoutDense`` of a Bayesian
    layers package, a project's own layer): an instance applied to a symbolic tensor is a layer
    of the graph, and gives one."""
    if func is None or func.startswith(("keras.", "builtins.")):
        return False
    root, _, last = func.rpartition(".")
    return last[:1].isupper() and root.split(".")[0] not in sys.stdlib_module_names


def _plausible_model(ref: ModelRef | None) -> bool:
    """Whether a ``compile(...)`` receiver without Keras's keywords may be a Keras model: one
    built here, or returned by a call that is not into the standard library (which has
    ``compile`` methods of its own and no Keras models)."""
    if ref is None:
        return False
    if ref.model is not None:
        return True
    root = (ref.factory or "").split(".")[0]
    return bool(root) and root not in sys.stdlib_module_names


# The bases that make a class a Keras model whose ``call`` computes its output.
_OWN_TRAINING: Final = ("train_step", "compute_loss", "test_step")
# How a training step computes the loss given to compile.
_COMPILED_LOSS_USES: Final = frozenset({"compute_loss", "compiled_loss", "loss"})


def _compiled_loss_calls(step: ast.AST) -> list[ast.Call]:
    """The calls of a model's own step that compute the compiled loss: ``self.compute_loss``,
    ``self.compiled_loss`` or ``self.loss``, or ``super().train_step(data)``."""
    return [
        node
        for node in subtree(step)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and (
            (node.func.attr in _COMPILED_LOSS_USES and _is_name(node.func.value, "self"))
            or (node.func.attr == "train_step" and isinstance(node.func.value, ast.Call))
        )
    ]


def _model_output_of_self(expr: ast.expr, step: ast.AST) -> bool:
    """Whether ``expr`` is ``self(...)``, or a name that ``step`` binds once, to ``self(...)``
    (``y_pred = self(x, training=True)``)."""
    if isinstance(expr, ast.Name):
        bound = [
            node.value
            for node in subtree(step)
            if isinstance(node, ast.Assign)
            and any(_is_name(target, expr.id) for target in node.targets)
        ]
        if len(bound) != 1:
            return False
        expr = bound[0]
    return isinstance(expr, ast.Call) and _is_name(expr.func, "self")


def _may_build_model(call: ast.Call) -> bool:
    """A cheap syntactic test before resolving: is the callee named like a Keras model class?"""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name in _MODEL_CLASS_NAMES


def _joined_lists(value: ast.expr | None) -> bool:
    """``a + [b]``: lists added together, whose length the parts decide."""
    return (
        isinstance(value, ast.BinOp)
        and isinstance(value.op, ast.Add)
        and any(isinstance(side, (ast.List, ast.Tuple)) for side in (value.left, value.right))
    )


def _ever_collection(scope: _Scope, name: str) -> bool:
    """Whether ``name`` is bound to a list, tuple or dict display anywhere it is visible."""
    current: _Scope | None = scope
    while current is not None:
        bindings = current.bindings.get(name)
        if bindings:
            return any(isinstance(b.value, (ast.List, ast.Tuple, ast.Dict)) for b in bindings)
        current = current.parent
    return False


def _next_binding_line(bindings: list[_Binding], binding: _Binding) -> float:
    later = [b.line for b in bindings if b.line > binding.line]
    return min(later) if later else math.inf


def _activation(value: Value | None) -> str | None:
    """The canonical activation of an ``activation=`` value; "linear" when absent."""
    if value is None:
        return "linear"
    if isinstance(value, Const):
        if value.value is None:
            return "linear"
        if isinstance(value.value, str):
            return names.activation_from_string(value.value)
        return None
    if isinstance(value, Ref):
        return names.activation_from_name(value.target)
    if isinstance(value, Call) and value.func is not None:
        return names.activation_from_name(value.func)
    return None


def _literal_size(expr: ast.expr | None) -> int | None:
    """The length of a list, tuple, set or dict display without unpacking (``*a``, ``**b``),
    when it is not empty."""
    if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
        if any(isinstance(e, ast.Starred) for e in expr.elts):
            return None
        return len(expr.elts) or None  # an empty one is filled later (``CLASSES.append``)
    if isinstance(expr, ast.Dict):
        if any(k is None for k in expr.keys):
            return None
        return len(expr.keys) or None  # a repeated key is one entry, but that is rare
    return None


# How deep in nested dicts, and how many integers of one dict, :func:`_dict_integers` records.
_MAX_ENTRY_DEPTH: Final = 4
_MAX_ENTRIES: Final = 500


def _dict_integers(
    node: ast.Dict, name: str, keys: tuple[str | int, ...], found: dict[str, int]
) -> None:
    """Record the integers of a dict display (and of the dicts in it) under constant keys."""
    if len(keys) >= _MAX_ENTRY_DEPTH:
        return
    for key, value in zip(node.keys, node.values, strict=True):
        if len(found) >= _MAX_ENTRIES:
            return
        if not isinstance(key, ast.Constant) or type(key.value) not in (str, int):
            continue
        assert isinstance(key.value, (str, int))
        path = (*keys, key.value)
        if isinstance(value, ast.Dict):
            _dict_integers(value, name, path, found)
        else:
            number = _int_constant(value)
            if number is not None:
                found[entry_key(name, path)] = number


def _names_changed_in_place(tree: ast.Module, source: str) -> frozenset[str]:
    """The names whose items are assigned or deleted (``cfg["n"] = 3``, ``del cfg["n"]``), or
    that a method changes (``cfg.update(...)``, ``cfg.setdefault(...)``), anywhere in the
    module: read in the statements on lines that may say so (_IN_PLACE)."""
    found: set[str] = set()
    lines = lines_matching(source, _IN_PLACE)
    for node in (n for part in nodes_on_lines(tree, lines) for n in subtree(part)):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
            base: ast.expr = node.value
            while isinstance(base, ast.Subscript):
                base = base.value
            if isinstance(base, ast.Name):
                found.add(base.id)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _CHANGING_METHODS
        ):
            base = node.func.value
            while isinstance(base, ast.Subscript):
                base = base.value
            if isinstance(base, ast.Name):
                found.add(base.id)
    return frozenset(found)


_CHANGING_METHODS: Final = frozenset({"update", "setdefault", "pop", "popitem", "clear"})
# A line that may change an item in place: a subscript assigned (``] =``, ``] +=``, ``], b =``),
# deleted, or a loop's target; a changing method called.
_IN_PLACE: Final = re.compile(
    r"\][^\n]*(?<![=!<>])=(?!=)|\bdel\b|\bfor\b[^\n]*\]|\.(?:"
    + "|".join(sorted(_CHANGING_METHODS))
    + r")\b"
)


def _int_constant(expr: ast.expr | None) -> int | None:
    if isinstance(expr, ast.Constant) and type(expr.value) is int:
        return None if folding.to_float(expr.value) is None else expr.value
    return None


def index_module(tree: ast.Module, source: str, path: str, module: str) -> ModuleIndex:
    indexer = ModuleIndexer(tree, source, path, module)
    try:
        return indexer.build()
    finally:
        indexer.release()


def _names_objects(value: Value) -> bool:
    """Whether ``value`` names a function, a class or an object's call, or is a list, tuple
    or dict holding one."""
    if isinstance(value, (Seq, Mapping)):
        return any(isinstance(leaf, (Ref, Call)) for leaf in iter_leaves(value))
    return isinstance(value, (Ref, Call))


def _one_unit_softmax_layers(
    tree: ast.Module, imports: dict[str, str], lines: Sequence[str]
) -> list[Span]:
    """``Dense(1, activation="softmax")`` calls (any spelling of Dense and of softmax), and TF
    1's ``tf.layers.dense(x, 1, activation=tf.nn.softmax)``, in the order they are written."""
    # The softmax is named in the call's statement: as a string (in any case), a dotted name,
    # or a name imported under another (``from keras.activations import softmax as sm``).
    aliases = [alias for alias, full in imports.items() if "softmax" in full.lower()]
    wanted = [
        n
        for n, line in enumerate(lines, 1)
        if "softmax" in line.lower() or any(alias in line for alias in aliases)
    ]
    found: list[ast.Call] = []
    for node in (n for part in nodes_on_lines(tree, wanted) for n in subtree(part)):
        if not isinstance(node, ast.Call) or any(isinstance(a, ast.Starred) for a in node.args):
            continue
        # The constant arguments first: qualifying every call's callee is what costs. Keras's
        # layer takes (units, activation), TF 1's function (inputs, units, activation).
        for first, layer in ((0, "keras.layers.Dense"), (1, "tensorflow.layers.dense")):
            if not _one_unit(node, first):
                continue
            given = names.argument(node, first + 1, "activation")
            name = _activation_of(given, imports)
            callee = names.qualify(node.func, imports) if name == "softmax" else None
            if callee is not None and callee.replace(".compat.v1.", ".") == layer:
                found.append(node)
                break
    found.sort(key=lambda call: (call.lineno, call.col_offset))
    return [node_span(call, lines) for call in found]


def _one_unit(call: ast.Call, index: int) -> bool:
    """Whether a layer call gives ``units`` (or Keras 1's ``output_dim``), at ``index`` or by
    keyword, as the literal 1."""
    units = names.argument(call, index, "units", "output_dim")
    return isinstance(units, ast.Constant) and type(units.value) is int and units.value == 1


def _activation_of(node: ast.expr | None, imports: dict[str, str]) -> str | None:
    """The activation an ``activation=`` argument names (a string, or a function)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return names.activation_from_string(node.value)
    target = names.qualify(node, imports) if node is not None else None
    return names.activation_from_name(target) if target else None


def _layer_kind(call: ast.expr, imports: dict[str, str], one_unit: set[str]) -> str | None:
    """``"one-unit"`` for a layer made with one output unit (``Dense(1, activation="relu")``,
    or a project layer ``one_unit`` names), ``"softmax"`` for one that applies a softmax over
    the last axis (``Activation("softmax")``, ``Softmax()``), else None."""
    if not isinstance(call, ast.Call) or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    callee = names.qualify(call.func, imports) or ""
    callee = callee.replace(".compat.v1.", ".")
    if callee == "keras.layers.Dense":
        return "one-unit" if _one_unit(call, 0) else None
    if callee == "keras.layers.Activation":
        given = names.argument(call, 0, "activation")
        return "softmax" if _activation_of(given, imports) == "softmax" else None
    if callee == "keras.layers.Softmax":
        axis = names.argument(call, 0, "axis")
        last = axis is None or (
            isinstance(axis, ast.UnaryOp)
            and isinstance(axis.op, ast.USub)
            and isinstance(axis.operand, ast.Constant)
            and axis.operand.value == 1
        )
        return "softmax" if last else None
    if isinstance(call.func, ast.Name) and call.func.id in one_unit:
        return "one-unit"
    return None


def _one_unit_layer_classes(tree: ast.Module, imports: dict[str, str]) -> set[str]:
    """Layer classes of the module whose ``call`` returns what a one-unit ``Dense`` it keeps
    on ``self`` gives (an attention MLP ending in ``Dense(1)``)."""
    found: set[str] = set()
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        kept: dict[str, bool] = {}
        returned: list[ast.expr] = []
        for node in subtree(cls):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                held = names.held_name(node.targets[0])
                if held is not None and held.startswith("self."):
                    unit = _layer_kind(node.value, imports, set()) == "one-unit"
                    kept[held] = kept.get(held, True) and unit
        for method in cls.body:
            if isinstance(method, ast.FunctionDef) and method.name == "call":
                returned = [
                    n.value
                    for n in subtree(method)
                    if isinstance(n, ast.Return) and n.value is not None
                ]
        if returned and all(
            isinstance(r, ast.Call) and kept.get(names.held_name(r.func) or "", False)
            for r in returned
        ):
            found.add(cls.name)
    return found


def _softmax_of_one_unit(
    tree: ast.Module, imports: dict[str, str], lines: Sequence[str]
) -> Iterator[Span]:
    """A softmax over the last axis applied to a one-unit tensor: ``alphas = activator(e)``
    where ``activator = Activation("softmax")`` and ``e = densor(concat)`` with ``densor =
    Dense(1)`` (an attention whose weights are then all 1.0). Names (``x`` or ``self.x``)
    count only where every assignment of the module binds them alike."""
    one_unit = _one_unit_layer_classes(tree, imports)
    layers: dict[str, str | None] = {}
    assigns: list[ast.Assign] = []
    functions: list[ast.AST] = []
    for node in subtree(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            assigns.append(node)
        elif isinstance(node, _FUNCTIONS):
            functions.append(node)
    for node in assigns:
        held = names.held_name(node.targets[0])
        if held is not None:
            alias = names.held_name(node.value)
            if alias == held:
                continue  # ``densor = densor``: a notebook cell restating a name
            if alias is not None and alias in layers:
                kind = layers[alias]
            else:
                kind = _layer_kind(node.value, imports, one_unit)
            layers[held] = kind if layers.get(held, kind) == kind else None

    def kind_of(layer: ast.expr) -> str | None:
        held = names.held_name(layer)
        return layers.get(held) if held is not None else _layer_kind(layer, imports, one_unit)

    def one_unit_tensor(value: ast.expr) -> bool:
        return isinstance(value, ast.Call) and kind_of(value.func) == "one-unit"

    # A softmax is applied where a name bound to a softmax layer is called, or a layer made in
    # place (its ``softmax`` or ``Softmax`` written in the call, or an alias imported for it):
    # only the scopes holding such a line are read.
    words = [held.rpartition(".")[2] for held, kind in layers.items() if kind == "softmax"]
    words += [alias for alias, full in imports.items() if "softmax" in full.lower()]  # any case
    wanted = [
        n
        for n, line in enumerate(lines, 1)
        if "softmax" in line.lower() or any(w in line for w in words)
    ]
    # Tensors by the function that binds them (a name is read where it is bound).
    for scope in [tree, *functions]:
        if isinstance(scope, _FUNCTIONS) and not _holds_line(scope, wanted):
            continue
        own = list(_own_nodes(scope))
        tensors: dict[str, bool] = {}
        for bound in own:
            if isinstance(bound, ast.Assign) and len(bound.targets) == 1:
                held = names.held_name(bound.targets[0])
                if held is not None:
                    tensors[held] = tensors.get(held, True) and one_unit_tensor(bound.value)
        for call in own:
            if not (isinstance(call, ast.Call) and len(call.args) == 1 and not call.keywords):
                continue
            if kind_of(call.func) != "softmax":
                continue
            given = call.args[0]
            held = names.held_name(given)
            if (held is not None and tensors.get(held, False)) or one_unit_tensor(given):
                yield node_span(call, lines)


_FUNCTIONS: Final = (ast.FunctionDef, ast.AsyncFunctionDef)


def _holds_line(node: ast.AST, lines: Sequence[int]) -> bool:
    """Whether one of ``lines`` (sorted) lies within ``node``'s lines."""
    return _lines_hold(node, node, lines)


def _lines_hold(first: ast.AST, last: ast.AST, lines: Sequence[int]) -> bool:
    """Whether one of ``lines`` (sorted) lies from ``first``'s first line (its first
    decorator's, for a definition) to ``last``'s last."""
    start: int = first_line(first) if isinstance(first, ast.stmt) else getattr(first, "lineno", 0)
    end: int = getattr(last, "end_lineno", None) or getattr(last, "lineno", None) or start
    at = bisect.bisect_left(lines, start)
    return at < len(lines) and lines[at] <= end


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a module or function body, not those of the functions and classes
    defined inside it."""
    pending = list(ast.iter_child_nodes(scope))
    while pending:
        node = pending.pop()
        if isinstance(node, (*_FUNCTIONS, ast.ClassDef, ast.Lambda)):
            continue
        yield node
        pending.extend(ast.iter_child_nodes(node))


# A softmax layer written in the module (LL108's one-unit attention walk is worth it then).
_SOFTMAX_LAYER: Final = re.compile(
    r"Activation\(\s*['\"]softmax|Softmax\(|Activation\([^)]*softmax"
)
# A call of an array of one repeated number as written (names.filled_array), or an import of
# one (maybe renamed): what makes a module worth the constant-label walk (the words alone are in
# every other comment: "full", "ones").
_FILLED_CALL: Final = re.compile(
    r"\b(?:ones|zeros|full|fill)(?:_like)?\s*\(|\bimport\b[^\n]*\b(?:ones|zeros|full|fill)"
)
_FILLED_WORDS: Final = ("ones", "zeros", "full", "fill")
_FILLED_TAIL: Final = re.compile(r"(?:ones|zeros|full|fill)(?:_like)?\s*\(")
_IMPORT_WORD: Final = re.compile(r"\bimport\W")


def _fills_array(source: str) -> bool:
    """Whether _FILLED_CALL matches in ``source``: each of its words found by a plain search
    (the pattern, tried at every place, cost 0.15 s on the Keras tree), then a call of it, or
    an ``import`` before it on its line."""
    for at in word_starts(source, _FILLED_WORDS, whole=False):
        if at and (source[at - 1].isalnum() or source[at - 1] == "_"):
            continue  # inside a longer name
        if _FILLED_TAIL.match(source, at):
            return True
        if _IMPORT_WORD.search(source, source.rfind("\n", 0, at) + 1, at):
            return True
    return False


# The Keras losses whose arguments cannot be exchanged, by the last part of their name: a call
# or object the walk reports names one in the module's text (where it is called, or imported).
_ASYMMETRIC_NAMES: Final = tuple(sorted(names.ASYMMETRIC_LOSSES | names.ASYMMETRIC_LOSS_CLASSES))


def _names_asymmetric_loss(source: str) -> bool:
    """Whether ``source`` names one of those losses as a word. The names it holds at all are
    found first, by plain search: an alternation of all 31, tried at every place of every
    file, took twice as long on the Keras tree."""
    present = [name for name in _ASYMMETRIC_NAMES if name in source]
    return bool(present) and re.search(rf"\b(?:{'|'.join(present)})\b", source) is not None


# What a name bound to it holds is no function (a tensor computed, a number): what most
# ``return x`` of a project return, and what evaluating for the functions it hands out would
# spend the most on.
_COMPUTED: Final = (ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Constant, ast.JoinedStr)


# Libraries whose functions make no Keras model (tensor math, arrays, data frames): a call of
# theirs is no factory to read the arguments of (``return tf.reduce_mean(loss)`` in most
# functions of a project). Names a project module could have (``math``, ``utils``) are not here.
_NO_MODELS: Final = frozenset(
    {
        "builtins", "tensorflow", "numpy", "jax", "torch", "scipy", "pandas", "sklearn",
    }
)  # fmt: skip


def _may_hand_out(returned: ast.expr, scope: _Scope) -> bool:
    """Whether a returned expression may evaluate to a function (see _with_returns): not a
    call, but ``dict.fromkeys(keys, loss)``, and not a name every binding in the function gives
    a call or a computed value."""

    def computed(value: ast.expr | None) -> bool:
        if isinstance(value, ast.Call):
            return not (isinstance(value.func, ast.Attribute) and value.func.attr == "fromkeys")
        return isinstance(value, _COMPUTED)

    if isinstance(returned, ast.Call):
        return not computed(returned)
    if isinstance(returned, ast.Name):
        bound = scope.bindings.get(returned.id)
        return not bound or not all(computed(b.value) for b in bound)
    return True


def _constant_label_calls(
    tree: ast.Module, imports: dict[str, str], lines: Sequence[str], source: str
) -> Iterator[ConstantLabels]:
    """An asymmetric Keras loss given constant labels where the prediction goes, ``bce(
    fake_output, tf.ones_like(fake_output))`` in a GAN's training step: called as a function,
    as an object made in place, or through a name (``loss_fn``, ``self.loss``) that every
    assignment of the module binds to such an object. Labels made of one constant are never a
    prediction, so the arguments are swapped wherever the call is (LL401)."""
    # Only the statements on lines that may call a filled array (or an alias of one) are read
    # for the calls, and those naming a callee held in a name for its assignments.
    aliases = [a for a, full in imports.items() if full.rpartition(".")[2] in names.FILLED]
    pattern = _FILLED_CALL.pattern
    if aliases:
        pattern += r"|\b(?:" + "|".join(map(re.escape, aliases)) + r")\s*\("
    calls: list[ast.Call] = []
    filled_lines = list(nodes_on_lines(tree, lines_matching(source, re.compile(pattern))))
    for part in filled_lines:
        for node in subtree(part):
            if isinstance(node, ast.Call) and len(node.args) >= 2:
                first, second = node.args[:2]
                if names.filled_array(second, imports) and not names.filled_array(first, imports):
                    calls.append(node)
    # Labels made once and held (``self.real_label = tf.ones([batch])`` in ``__init__``, then
    # ``self.l_bce(self.pred_real, self.real_label)`` in a step): every binding of the name in
    # the module is such an array.
    labels = _held_bindings(tree, source, filled_lines, lambda v: names.filled_array(v, imports))
    if labels:
        for part in nodes_on_lines(tree, lines_with_words(source, _last_words(labels))):
            for node in subtree(part):
                if isinstance(node, ast.Call) and len(node.args) >= 2:
                    first, second = node.args[:2]
                    if names.held_name(second) in labels and not (
                        names.filled_array(first, imports) or names.held_name(first) in labels
                    ):
                        calls.append(node)
    objects: dict[str, bool] = {}
    held = {spelled for call in calls if (spelled := names.held_name(call.func)) is not None}
    # A held callee bound to another held name: the objects that name holds.
    renamed: dict[str, set[str]] = {}
    if held:
        for part in nodes_on_lines(tree, lines_with_words(source, _last_words(held))):
            for node in subtree(part):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        name = names.held_name(target)
                        if name in held:
                            alias = names.held_name(node.value)
                            if alias is not None and alias not in held:
                                renamed.setdefault(name, set()).add(alias)
                                continue
                            made = names.asymmetric_object(node.value, imports)
                            objects[name] = objects.get(name, True) and made
    if renamed:
        # ``bce_loss = tf.keras.losses.BinaryCrossentropy()``, then ``self.l_bce = bce_loss``.
        wanted = set().union(*renamed.values())
        made_as = _held_bindings(
            tree,
            source,
            nodes_on_lines(tree, lines_with_words(source, _last_words(wanted))),
            lambda v: names.asymmetric_object(v, imports),
            wanted,
        )
        for name, sources in renamed.items():
            objects[name] = objects.get(name, True) and sources <= made_as
    for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):
        loss = names.asymmetric_loss(call, imports)
        spelled = names.held_name(call.func)
        if loss is None and spelled is not None and objects.get(spelled):
            loss = spelled
        if loss is not None:
            first, second = call.args[:2]
            yield ConstantLabels(
                node_span(call, lines),
                loss,
                folding.shortened(first, 32),
                folding.shortened(second, 32),
            )


def _last_words(held: Iterable[str]) -> list[str]:
    """The words to search the source for: ``self.real_label`` is found by ``real_label``."""
    return sorted({name.rpartition(".")[2] for name in held})


def _held_bindings(
    tree: ast.Module,
    source: str,
    statements: Iterable[ast.AST],
    accept: Callable[[ast.expr], bool],
    among: set[str] | None = None,
) -> set[str]:
    """The held names (``x``, ``self.x``; of ``among``, where given) that ``statements`` assign
    a value ``accept`` takes, and that no other binding of the module (read on the lines that
    write the name) binds to anything else."""
    candidates: set[str] = set()
    for part in statements:
        for node in subtree(part):
            if isinstance(node, ast.Assign) and accept(node.value):
                for target in node.targets:
                    name = names.held_name(target)
                    if name is not None and (among is None or name in among):
                        candidates.add(name)
    if not candidates:
        return candidates
    found = set(candidates)
    for part in nodes_on_lines(tree, lines_with_words(source, _last_words(candidates))):
        for node in subtree(part):
            if isinstance(node, ast.Assign) and accept(node.value):
                continue
            for target in _binding_targets(node):
                found.discard(names.held_name(target) or "")
    return found


def _binding_targets(node: ast.AST) -> Iterator[ast.expr]:
    """The names and attributes a statement or expression binds, unpacked tuples included."""
    if isinstance(node, ast.Assign):
        pending = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.NamedExpr)):
        pending = [node.target]
    elif isinstance(node, ast.withitem) and node.optional_vars is not None:
        pending = [node.optional_vars]
    else:
        return
    while pending:
        target = pending.pop()
        if isinstance(target, (ast.Tuple, ast.List)):
            pending.extend(target.elts)
        elif isinstance(target, ast.Starred):
            pending.append(target.value)
        else:
            yield target


_GRAPH_ENDS: Final = _MODEL_INPUTS | {"output", "outputs"}


def layer_graph_tensor(expr: ast.AST) -> bool:
    """``model.get_layer(name).output`` or ``model.layers[i].output`` (and ``.input``): always a
    KerasTensor of a functional graph, whatever the model is (a subclassed model has none)."""
    if not (isinstance(expr, ast.Attribute) and expr.attr in _GRAPH_ENDS):
        return False
    base = expr.value
    if isinstance(base, ast.Subscript) and isinstance(base.value, ast.Attribute):
        return base.value.attr == "layers"
    if isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute):
        return base.func.attr == "get_layer"
    return False


def _within(node: ast.AST, tree: ast.AST) -> bool:
    """Whether ``node`` is ``tree`` or one of its descendants."""
    return any(n is node for n in subtree(tree))
