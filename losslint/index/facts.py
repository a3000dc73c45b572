"""Frozen facts produced by the index and read by the rules.

A *value* is what an expression evaluates to statically: a constant, a list/tuple, a dict, a
reference to a named object, a call, or unknown. Every value carries the span of the expression it
came from, so a rule can point at the exact argument, key or element it judges.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

from losslint.diagnostic import Span

# A value read through a variable keeps the spans of its parts (the keys and elements where they
# are written) but takes the span of the use site at its top level, so a diagnostic on the whole
# argument points at the argument.


@dataclass(frozen=True, slots=True)
class ConstantLabels:
    """``bce(fake_output, tf.ones_like(fake_output))``: an asymmetric Keras loss given labels
    made of one constant where the prediction goes, as written (see module indexing)."""

    span: Span
    loss: str  # ``self.loss``, ``keras.losses.binary_crossentropy``
    predicted: str  # the first argument, shortened
    labels: str  # the constant labels, shortened


@dataclass(frozen=True, slots=True)
class Const:
    value: object  # str, int, float, bool, complex, bytes, None or Ellipsis
    span: Span


@dataclass(frozen=True, slots=True)
class Seq:
    kind: str  # "list" | "tuple"
    items: tuple[Value, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Mapping:
    keys: tuple[Value, ...]
    values: tuple[Value, ...]
    span: Span

    def str_items(self) -> list[tuple[str, Value, Span]] | None:
        """``(key, value, key span)`` when every key is a constant string, else None."""
        out = []
        for key, value in zip(self.keys, self.values, strict=True):
            if not (isinstance(key, Const) and isinstance(key.value, str)):
                return None
            out.append((key.value, value, key.span))
        return out


@dataclass(frozen=True, slots=True)
class Ref:
    """A named object: canonical Keras name, ``module.qualname`` in the tree, or other import.

    A bound method (``my_loss.loss_function``, ``Cls(...).loss``, ``self.loss_obj.compute``)
    is ``Cls.method`` with ``instance``, the constructor call of the object it is bound to (its
    ``binding`` says which variable held it): Keras calls the method with ``self`` already bound.
    """

    target: str
    span: Span
    instance: Call | None = None


@dataclass(frozen=True, slots=True)
class Call:
    func: str | None  # canonical name of the callee, when known
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...]
    span: Span  # where the value is used (the argument, or the name that was followed)
    origin: Span  # the call expression itself
    binding: str | None = None  # the variable this value was read from (shared instances)

    def kwarg(self, name: str) -> Value | None:
        for key, value in self.kwargs:
            if key == name:
                return value
        return None

    def arg(self, index: int, name: str) -> Value | None:
        """The argument given by keyword ``name`` or at position ``index``."""
        value = self.kwarg(name)
        if value is None and index < len(self.args):
            value = self.args[index]
        return value


@dataclass(frozen=True, slots=True)
class Unknown:
    span: Span
    # A parameter of function ``owner`` (``loss=lossfxn`` in ``def attn_reg(opt, size,
    # lossfxn)``): what it holds is known only at the function's call sites.
    param: Param | None = None
    owner: str | None = None
    # A name bound in branches (``if dice: loss = dice_loss(w) else: loss = CE(w)``): what each
    # branch binds that names a project object. Which one runs is unknown, so no rule reads
    # these as the value; they tell which functions are compiled (their role), in some run.
    candidates: tuple[Value, ...] = ()


Value = Const | Seq | Mapping | Ref | Call | Unknown


def iter_leaves(value: Value) -> Iterator[Value]:
    """Every non-container value inside nested lists, tuples and dict values."""
    if isinstance(value, Seq):
        for item in value.items:
            yield from iter_leaves(item)
    elif isinstance(value, Mapping):
        for item in value.values:
            yield from iter_leaves(item)
    else:
        yield value


def respanned(value: Value, span: Span) -> Value:
    """``value`` with every span in it, its items' too, moved to ``span``: a value written in
    one module and read in another (an imported loss dict) is shown where it is read."""
    if isinstance(value, Seq):
        return Seq(value.kind, tuple(respanned(v, span) for v in value.items), span)
    if isinstance(value, Mapping):
        keys = tuple(respanned(k, span) for k in value.keys)
        return Mapping(keys, tuple(respanned(v, span) for v in value.values), span)
    if isinstance(value, Call):
        args = tuple(respanned(a, span) for a in value.args)
        kwargs = tuple((k, respanned(v, span)) for k, v in value.kwargs)
        return Call(value.func, args, kwargs, span, span, value.binding)
    return dataclasses.replace(value, span=span)


@dataclass(frozen=True, slots=True)
class Param:
    """A factory parameter that a model property depends on (``Dense(num_classes)``)."""

    name: str
    index: int
    default: int | None


@dataclass(frozen=True, slots=True)
class ImportedUnits:
    """A unit count that another module binds (``Dense(NUM_CLASSES)`` after ``from config
    import NUM_CLASSES``; ``cfg["data"]["classes"]`` of an imported dict): the name imported,
    as a dotted path, and the constant keys read from it. The project index reads the number
    from that module's facts (:attr:`ModuleIndex.constants`, :attr:`ModuleIndex.entries`)."""

    target: str
    keys: tuple[str | int, ...] = ()


@dataclass(frozen=True, slots=True)
class Output:
    """One model output: the tensor's producing layer, last-axis size and activation."""

    name: str | None
    units: int | Param | ImportedUnits | None
    activation: str | None  # canonical activation; "linear" when none; None when unknown
    span: Span
    softmax_span: Span | None = None  # where a softmax was applied, for the single-unit check
    min_units: int | None = None  # a lower bound when units is unknown (Flatten of 10 channels)
    # The function of a ``Lambda`` layer producing this output (``Lambda(euclidean_distance)``),
    # as the name it is written with: the compiled loss differentiates through it.
    function: str | None = None
    # The class of a layer that is not Keras's producing this output (``DenseNormalGamma(1)(x)``,
    # an MDN layer), as the name it is written with: what its ``call`` makes is not read here.
    layer: str | None = None


@dataclass(frozen=True, slots=True)
class ModelFact:
    kind: str  # "sequential" | "functional" | "subclassed" (a keras.Model subclass's call)
    # | "pretrained" (a Hugging Face model with a task head: its logits)
    structure: str  # "single" | "list" | "dict"
    outputs: tuple[Output, ...]
    span: Span

    @property
    def output_names(self) -> tuple[str, ...] | None:
        names = tuple(o.name for o in self.outputs)
        if any(n is None for n in names):
            return None
        return names  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class ModelRef:
    """How a compile receiver got its model: built here, or returned by a factory call."""

    model: ModelFact | None = None
    factory: str | None = None  # module-qualified function name, resolved by the project index
    args: tuple[Value, ...] = ()
    kwargs: tuple[tuple[str, Value], ...] = ()
    # Or a parameter of the function ``owner`` (module-qualified): the model its callers pass
    # (``def train(model): model.compile(...)``), resolved by the project index.
    param: Param | None = None
    owner: str | None = None
    # With ``param``: the model is what calling the parameter makes (``def run(arch): model =
    # arch(shape)``), the factory each caller passes (``run(arch6)``).
    called: bool = False
    # Or one of several, each a ``return`` of a dispatching factory (``if model_id == "lstm":
    # return get_lstm_model(n)`` ...): known where every one is known and they agree.
    alternatives: tuple[ModelRef, ...] = ()


@dataclass(frozen=True, slots=True)
class CompileSite:
    span: Span
    scope: str
    model: ModelRef | None
    loss: Value | None
    loss_weights: Value | None
    metrics: Value | None
    weighted_metrics: Value | None
    receiver: str | None = None  # the model variable as written (``model``, ``self.model``)
    # The optimizer takes per-example losses and clips each one's gradient (DP-SGD's
    # ``DPKerasSGDOptimizer``, ``VectorizedDPSGD``): a reduction=NONE loss is what it needs.
    per_example: bool = False
    # The model compiled here never computes this loss or its metrics: it is only predicted
    # with, saved, loaded or applied to tensors (a GAN's generator, trained inside the combined
    # model under the combined model's loss).
    idle: bool = False
    # Not idle only as a public attribute of a class that trains no model itself
    # (``self.autoencoder`` of keras-molecules' ``MoleculeVAE``): its callers must train it.
    # The attribute's name; the project join makes the compile idle where nothing names it
    # but to predict with it (see ``ProjectIndex.compiles``). For a model a top-level function
    # compiles and returns (``return model``, nothing trained in it), the function's name and
    # ``()``: ``create_model()``, idle where every call's result is only predicted with.
    callers_train: str = ""
    # The parameters given by position after ``loss``, as read (``("metrics",)`` for
    # ``compile(opt, "mse", ["mae"])``): Keras 3 takes the third as ``loss_weights``, Keras 2
    # as ``metrics``; each is read as what its value is (numbers are weights).
    positional: tuple[str, ...] = ()
    # ``run_eagerly=True``: fit() runs the loss eagerly, where a tensor has a value (``.numpy()``).
    eager: bool = False


@dataclass(frozen=True, slots=True)
class Handed:
    """A value handed to a project callable under a loss or metric keyword:
    ``FaceNetwork(lr=1e-4, loss="sparse_categorical_crossentropy", metrics=["accuracy"])``,
    where the class keeps it (``self.loss = loss``) and compiles it in a method. The project
    index reads it for a compile site whose value is that parameter."""

    callee: str  # the callable as its module names it (``face_network.FaceNetwork``)
    keyword: str
    value: Value
    call: Span  # the call that hands it


@dataclass(frozen=True, slots=True)
class FunctionDef:
    qualname: str  # module-qualified
    params: tuple[str, ...]  # positional parameters, in order
    required: int  # positional parameters without defaults
    varargs: bool  # takes *args
    required_kwonly: tuple[str, ...]  # keyword-only parameters without defaults
    span: Span  # the ``def`` line
    returns_function: str | None  # module-qualified name of a nested function it returns
    node: ast.FunctionDef | ast.AsyncFunctionDef = field(compare=False, repr=False)
    # Other functions it hands out by name (``return focal_loss``, ``return LOSSES[name]``):
    # calling it in ``compile(loss=get_loss("focal"))`` compiles them.
    returns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClassDef:
    qualname: str
    bases: tuple[str, ...]  # canonical or module-qualified names
    span: Span
    node: ast.ClassDef = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Objective:
    """An expression whose value is trained on outside ``compile``.

    ``optimizer.minimize(loss)``, ``tape.gradient(loss, ...)``, ``tf.gradients(loss, ...)``,
    ``layer.add_loss(loss)``, ``loss.backward()``, ``jax.grad(fn)`` (then ``node`` is ``fn``).
    """

    # "minimize" | "gradient" | "add_loss" | "backward" | "grad" | "compute_loss" (what a Keras
    # Model's compute_loss override returns, which its train_step differentiates)
    kind: str
    scope: str  # qualified name of the enclosing function, or the module name
    span: Span  # the trained expression
    node: ast.expr = field(compare=False, repr=False)
    # Built in another method than the one that trains it (``self.cost = ...`` in
    # ``_create_cost``, ``minimize(self.cost)`` elsewhere): the parameters of ``scope`` are the
    # model outputs and labels it is built from (see ProjectIndex.objectives).
    stored: bool = False
    # A gradient with respect to a perturbation of the inputs (a watched input image, a random
    # direction), not the weights: each sample's row of it is its own term's gradient, so a
    # sum over the batch does not scale it (adversarial examples, virtual adversarial training).
    perturbation: bool = False
    # A gradient that trains nothing: of a value computed from constants and random draws alone,
    # with respect to variables nothing updates (a guide's ``tape.gradient(x**2, x)``).
    untrained: bool = False


@dataclass(frozen=True, slots=True)
class ApiUse:
    """A use of an API whose meaning depends on the Keras version or on saving, for LL402/LL405.

    ``kind`` and what ``name`` holds:
    - ``ref``: a dotted name read (``K.mean``, ``tf.log``, ``keras.losses.Reduction.AUTO``);
      ``name`` is the imported dotted name as written, not canonicalised
      (``tensorflow.keras.backend.mean``), so a rule can tell the ``tf.keras`` shim from Keras 3;
    - ``import``: ``from <module> import <member>``; ``name`` is ``<module>.<member>``;
    - ``method``: ``x.add_metric(...)``, ``x.add_loss(...)``, ``x.metrics_tensors``,
      ``x.metrics_names.append(...)``; ``name`` is the attribute path after the receiver;
    - ``keyword``: ``reduction="auto"`` in a call, ``default``: a parameter default
      ``reduction="auto"``; ``name`` is the keyword;
    - ``super_init``: ``super().__init__(...)`` / ``Base.__init__(self, ...)`` with positional
      arguments; ``name`` is empty;
    - ``save``: ``model.save(...)``, ``save_model(model, ...)``, a ``ModelCheckpoint`` saving the
      whole model; ``load``: ``load_model(...)`` (``name`` is ``uncompiled`` when it passes
      ``compile=False``, ``handled`` when it passes ``custom_objects``, or for a
      ``custom_object_scope``);
      ``register``: a definition decorated with ``register_keras_serializable`` (``name`` is its
      qualified name), and ``register_id`` beside it: the string id that gives it
      (``Addons>sigmoid_focal_crossentropy``), when its arguments are constants, with the
      definition's own name as ``receiver``; also each constant key of a
      ``get_custom_objects().update({...})``, with the name of its value; ``patch``: a
      function set on standalone Keras's ``metrics`` or ``losses`` module under its own name
      (``keras.metrics.f1 = utils.f1``), ``name`` its qualified name as imported,
      ``receiver`` the attribute.
    """

    kind: str
    name: str
    scope: str  # qualified name of the enclosing function or class, or the module name
    span: Span  # the reference, alias, attribute, keyword value or call
    call: Span | None = None  # the call the reference is the callee of (or that holds it)
    receiver: str | None = None  # ``method``/``save``: the receiver as written (``model``)
    model: str | None = None  # ``method`` add_loss: "functional"/"sequential" when known
    node: ast.AST | None = field(default=None, compare=False, repr=False)  # the call


@dataclass(frozen=True, slots=True)
class ModuleIndex:
    path: str
    module: str  # dotted module name relative to its package root
    imports: dict[str, str]
    functions: tuple[FunctionDef, ...]
    classes: tuple[ClassDef, ...]
    models: tuple[ModelFact, ...]  # every model built in this module
    factories: dict[str, ModelRef]  # function qualname → where the model it returns comes from
    compiles: tuple[CompileSite, ...]
    objectives: tuple[Objective, ...]
    constants: dict[str, float]  # module-level names bound once to a number
    tree: ast.Module = field(compare=False, repr=False)
    lines: tuple[str, ...] = field(default=(), compare=False, repr=False)
    api_uses: tuple[ApiUse, ...] = ()
    # Names bound to a symbolic Keras tensor (``z_mean = Dense(2)(h)``, ``keras.Input(...)``,
    # ``model.output``), as ``scope qualname.name`` → where the tensor is made: a loss that
    # captures one fails in fit() on Keras 3 (LL406).
    symbolic: dict[str, Span] = field(default_factory=dict)
    stars: tuple[str, ...] = ()  # modules imported with ``from module import *``
    # A line may hold a noqa comment naming an LL or RT code: LL001 reads this file's lines
    # (the others' are read only where a finding is).
    noqa: bool = False
    # ``Dense(1, activation="softmax")`` calls, wherever they are (LL108: constantly 1.0).
    one_unit_softmax: tuple[Span, ...] = ()
    # A softmax layer over the last axis applied to a one-unit tensor (``Activation("softmax")``
    # on ``Dense(1)``'s output, an attention's scores): constantly 1.0 (LL108).
    softmax_of_one_unit: tuple[Span, ...] = ()
    # Keras losses given constant labels where the prediction goes (LL401), wherever they are.
    constant_labels: tuple[ConstantLabels, ...] = ()
    # Names imported from more than one place (``from .torch import losses`` in one branch,
    # ``from .tf import losses`` in the other) → every target, in the order visited.
    alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # A line mentions ``sess`` and ``.run(``: the module may fetch values with a TF1 session.
    sessions: bool = False
    # The module calls what TensorFlow 2 removed from its top level through its TensorFlow
    # import (``tf.Session()``, ``tf.set_random_seed(0)``, ``tf.contrib``): TF 1 code, which
    # runs on Keras 2 whatever the target (see ``apis.tensorflow_1``).
    tensorflow1: bool = False
    # The line of the first call that turns eager execution off (``tf.compat.v1.
    # disable_eager_execution()``), else 0 (see ``apis.eager_off``).
    eager_off: int = 0
    # Every ``X`` written as ``self.X``: where the project looks for the methods and attributes a
    # trained value goes through, without reading each module's text again.
    self_attributes: frozenset[str] = frozenset()
    # Names bound in module-level code (outside definitions, in any block) by ``=``, an annotated
    # ``=``, an augmented assignment or a ``for`` → the chunks binding them: an analysis that
    # looks a module-level value up parses those chunks, not every top-level statement.
    bindings: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # Names in the targets of the top-level assignments (``x``, ``a`` of ``a.b = 1``) and the
    # top-level imports: with ``imports`` and ``top_level``, what the module binds at its top.
    top_names: frozenset[str] = frozenset()
    # First line of each run of top-level statements that shares no line with the one before
    # (a decorated definition starts at its first decorator): an analysis that needs one
    # function's syntax parses again only the statements holding it (:mod:`losslint.codec`).
    chunks: tuple[int, ...] = ()
    definition_chunks: frozenset[int] = frozenset()  # chunks holding only def and class statements
    # Names of the functions and classes defined at the top level (not inside an ``if``): with
    # the other statements, the module's globals, without parsing every definition again.
    top_level: frozenset[str] = frozenset()
    # For each long top-level class whose body starts below its ``class`` line: its first and
    # last lines, then the first line of each statement of its body. An analysis that needs
    # one method parses that method alone, not the class (:mod:`losslint.codec`), and the
    # class's extent is known without a parse; no rule reads this.
    members: tuple[tuple[int, ...], ...] = ()
    # ``x.fit(inputs, targets)``, ``x.fit_generator(...)`` and ``x.train_on_batch(...)``: the
    # enclosing scope, the receiver as written, and what the targets are by construction:
    # ``binary`` (all 0s and 1s: ``np.ones``, ``np.zeros``), ``one-hot`` (``to_categorical``),
    # or empty (a generator's).
    trainings: tuple[tuple[str, str, str], ...] = ()
    # A notebook's code cells that do not parse on their own (losslint.notebook): the line,
    # column and parser message of each one's first error. The other cells are indexed.
    unparsed: tuple[tuple[int, int, str], ...] = ()
    # Module-level names that a function declares ``global`` (it may rebind them when it runs):
    # their top-level value is not a constant the loss code reads (:mod:`losslint.analysis.ranges`).
    rebound: frozenset[str] = frozenset()
    # Loss and metric values handed to project callables by keyword (see :class:`Handed`).
    handed: tuple[Handed, ...] = ()
    # Module-level loss, metric and weight values another module may import and compile
    # (``loss = {"pitch": ..., "step": mse_with_positive_pressure}``), by name.
    exports: dict[str, Value] = field(default_factory=dict)
    # Module-level names bound once to a list, tuple, set or dict written out, with its length
    # (``CLASSES = [...]``; another module's ``num_classes = len(CLASSES)``).
    sizes: dict[str, int] = field(default_factory=dict)
    # The integers of module-level dicts written out and bound once, by the name and the keys
    # that read them (``cfg['data']['classes']``: see :func:`entry_key`), for a unit count
    # another module reads from them (:class:`ImportedUnits`).
    entries: dict[str, int] = field(default_factory=dict)
    # ``Lambda(lambda x: K.sqrt(K.sum(K.square(x), axis=-1)))``: the functions written inline
    # in Lambda layers, which a trained model differentiates through.
    lambda_layers: tuple[LambdaLayer, ...] = ()


@dataclass(frozen=True, slots=True)
class LambdaLayer:
    """A ``keras.layers.Lambda`` whose function is written inline, and that function."""

    span: Span
    node: ast.Lambda = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class LossDef:
    """A loss or metric definition, with its role taken from how the project uses it.

    ``roles`` is a subset of {"loss", "metric"}: from compile sites (``loss=`` / ``metrics=``),
    from the base class (``keras.losses.Loss`` / ``keras.metrics.Metric``), else from the name
    (``focal_loss``, ``dice_coef``). It is empty for a function that has the ``(y_true, y_pred)``
    signature of a loss or metric but says nothing more.
    """

    qualname: str
    kind: str  # "function" | "closure" | "method" | "loss_class" | "metric_class"
    roles: frozenset[str]
    path: str
    module: str
    span: Span
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef = field(compare=False, repr=False)
    factory: str | None = None  # for closures: the factory that returns them
    used: bool = False  # referenced at a compile site of the project
    # For methods: the constructor call of an instance a compile site binds them to.
    instance: Call | None = None


def entry_key(name: str, keys: tuple[str | int, ...]) -> str:
    """The key of :attr:`ModuleIndex.entries` for ``name[keys[0]][keys[1]]...``."""
    return name + "".join(f"[{key!r}]" for key in keys)
