"""The index: canonical names, model outputs, compile sites, definitions."""

from __future__ import annotations

import ast
import re
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from losslint.index import module, names, positions
from losslint.index.facts import ModelFact, ModuleIndex
from losslint.index.module import index_module
from losslint.index.project import ProjectIndex


def index(source: str, module: str = "m") -> ModuleIndex:
    source = textwrap.dedent(source)
    return index_module(ast.parse(source), source, f"{module}.py", module)


def only_model(source: str) -> ModelFact:
    project = ProjectIndex([index(source)])
    (site,) = [rc.model for rc in project.compiles()]
    assert site is not None
    return site


@pytest.mark.parametrize(
    ("full", "canonical"),
    [
        ("tensorflow.keras.layers.Dense", "keras.layers.Dense"),
        ("tensorflow.python.keras.layers.core.Dense", "keras.layers.Dense"),
        ("keras.src.layers.core.dense.Dense", "keras.layers.Dense"),
        ("tf_keras.losses.BinaryCrossentropy", "keras.losses.BinaryCrossentropy"),
        ("keras.models.Sequential", "keras.Sequential"),
        ("tensorflow.keras.models.Model", "keras.Model"),
        ("keras.engine.training.Model", "keras.Model"),
        ("keras.layers.Input", "keras.Input"),
        ("keras.ops.numpy.log", "keras.ops.log"),
        ("tensorflow.math.log", "tensorflow.math.log"),
        ("numpy.log", "numpy.log"),
        # Keras 3's top-level base classes, and TensorFlow 2's short Keras modules.
        ("keras.Loss", "keras.losses.Loss"),
        ("tensorflow.keras.Metric", "keras.metrics.Metric"),
        (
            "tensorflow.losses.SparseCategoricalCrossentropy",
            "keras.losses.SparseCategoricalCrossentropy",
        ),
        ("tensorflow.metrics.Mean", "keras.metrics.Mean"),
        ("tensorflow.optimizers.Adam", "keras.optimizers.Adam"),
        # TF 1's functions and its own Reduction are not Keras's.
        ("tensorflow.losses.log_loss", "tensorflow.losses.log_loss"),
        ("tensorflow.losses.Reduction", "tensorflow.losses.Reduction"),
        (
            "tensorflow_model_optimization.python.core.keras.compat.keras.losses.Loss",
            "keras.losses.Loss",
        ),
    ],
)
def test_canonical_names(full: str, canonical: str) -> None:
    assert names.canonical(full) == canonical


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_a_fragment_that_uses_k_without_importing_it_reads_it_as_the_backend(end: str) -> None:
    """A notebook cell exported alone (``K.mean`` in a file that imports numpy only) reads ``K``
    as the Keras backend, whatever its line ends (two labelled files of round 93 end lines
    with a lone CR)."""
    source = end.join(
        ["import numpy as np", "", "def loss(y_true, y_pred):", "    return K.mean(y_pred)", ""]
    )
    found = names.conventional_aliases(ast.parse(source), source, {"np": "numpy"})
    assert found == {"K": "keras.backend"}


_PIECES = ["loss", "reduction", "Reduction", "x", "_", "é", "9", " ", ".", "(", "\n", "\r\n", "\r"]
_PIECES += ["\x0c", "\u2028"]  # line ends to str.splitlines, not to Python


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), max_size=40),
    st.lists(st.sampled_from(["loss", "reduction", "Reduction", "x"]), min_size=1, max_size=3),
)
def test_a_plain_search_for_words_finds_the_lines_the_pattern_finds(
    pieces: list[str], words: list[str]
) -> None:
    """The prefilters search for words by ``str.find`` (the pattern ``\\b(?:a|b)\\b`` tried
    every word at every place): the same lines, as Python counts them, for any line ends and
    word characters around them."""
    text = "".join(pieces)
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b")
    assert positions.lines_with_words(text, words) == positions.lines_matching(text, pattern)
    anywhere = re.compile("|".join(map(re.escape, words)))
    found = positions.lines_with_words(text, words, whole=False)
    assert found == positions.lines_matching(text, anywhere)
    lines = re.split(r"\r\n|\r|\n", text)
    assert positions.source_lines(text) == (lines[:-1] if lines[-1] == "" else lines)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["import", "ones", "full", "_like", "(", "x", "_", ".", " ", "\n", "\r", "9"]
        ),
        max_size=30,
    )
)
def test_the_filled_array_gate_finds_what_its_pattern_finds(pieces: list[str]) -> None:
    """The gate of the constant-label walk searches for its words first: same answer as the
    pattern it replaced (a call ``np.ones(``, ``full_like (``, or an import that names one)."""
    text = "".join(pieces)
    assert module._fills_array(text) == bool(module._FILLED_CALL.search(text))


def test_a_definition_holds_the_lines_of_its_decorators() -> None:
    """The walks that read only the functions whose lines name a word count a decorator's
    line as the function's (``ast.walk`` of a function reads its decorators)."""
    tree = ast.parse("x = 1\n@register(loss)\ndef f(a):\n    return a\n")
    function = tree.body[1]
    assert module._holds_line(function, [2]) and module._holds_line(function, [4])
    assert not module._holds_line(function, [1]) and not module._holds_line(function, [5])


def test_import_aliases_resolve_every_spelling() -> None:
    module = index(
        """
        import tensorflow as tf
        from tensorflow import keras
        from tensorflow.keras import backend as K
        import keras.backend as KB
        from keras import ops, layers as L
        import numpy as np
        from keras.losses import BinaryCrossentropy as BCE
        """
    )
    tree = ast.parse(
        "tf.keras.layers.Dense; keras.losses.mse; K.log; KB.mean; ops.log; L.Dense; np.log; BCE; "
        "tf.nn.softmax"
    )
    got = [names.qualify(e.value, module.imports) for e in tree.body]  # type: ignore[attr-defined]
    assert got == [
        "keras.layers.Dense",
        "keras.losses.mse",
        "keras.backend.log",
        "keras.backend.mean",
        "keras.ops.log",
        "keras.layers.Dense",
        "numpy.log",
        "keras.losses.BinaryCrossentropy",
        "tensorflow.nn.softmax",
    ]


def test_functional_outputs_with_names_units_and_activation() -> None:
    model = only_model(
        """
        import tensorflow as tf
        from tensorflow.keras import layers, Model
        N = 10
        inp = layers.Input((8,))
        x = layers.Dense(64, activation="relu")(inp)
        logits = layers.Dense(N, name="logits")(x)
        probs = layers.Activation("softmax", name="probs")(logits)
        score = layers.Dense(1, activation=tf.nn.sigmoid, name="score")(x)
        model = Model(inputs=inp, outputs=[probs, score, logits])
        model.compile(loss="mse")
        """
    )
    assert model.structure == "list"
    assert [(o.name, o.units, o.activation) for o in model.outputs] == [
        ("probs", 10, "softmax"),
        ("score", 1, "sigmoid"),
        ("logits", 10, "linear"),
    ]


def test_dict_outputs_take_the_keys_as_names() -> None:
    model = only_model(
        """
        import keras
        i = keras.Input((3,))
        outputs = {"b": keras.layers.Dense(2)(i), "a": keras.layers.Dense(1, "sigmoid")(i)}
        m = keras.Model(i, outputs)
        m.compile(loss={"a": "bce", "b": "mse"})
        """
    )
    assert model.structure == "dict"
    assert [(o.name, o.units, o.activation) for o in model.outputs] == [
        ("b", 2, "linear"),
        ("a", 1, "sigmoid"),
    ]


def test_sequential_add_chain_and_keras1_spelling() -> None:
    model = only_model(
        """
        from keras.models import Sequential
        from keras.layers import Dense, Dropout, Activation
        model = Sequential()
        model.add(Dense(output_dim=64, init="uniform", input_dim=20))
        model.add(Dense(3))
        model.add(Activation("softmax"))
        model.add(Dropout(0.5))
        model.compile(loss="categorical_crossentropy", optimizer="sgd")
        """
    )
    assert model.structure == "single"
    (output,) = model.outputs
    assert (output.units, output.activation) == (3, "softmax")


def test_conditional_add_makes_the_output_unknown() -> None:
    source = """
        import keras
        def build(flag):
            model = keras.Sequential()
            model.add(keras.layers.Dense(4))
            if flag:
                model.add(keras.layers.Dense(1, activation="sigmoid"))
            model.compile(loss="mse")
        """
    project = ProjectIndex([index(source)])
    assert [rc.model for rc in project.compiles()] == [None]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        # The last block built by a function of the module (a U-Net's decoder).
        ('return layers.Conv2D(1, 1, activation="sigmoid")(x)', (1, "sigmoid")),
        # Its units from a parameter: the activation is known, the units are not.
        ('return layers.Dense(n, activation="softmax")(x)', (None, "softmax")),
        # Two returns that disagree: nothing is known.
        (
            'if n > 1:\n                return layers.Dense(n, activation="softmax")(x)\n'
            '            return layers.Dense(1, activation="sigmoid")(x)',
            None,
        ),
    ],
)
def test_an_output_built_by_a_function_of_the_module(
    head: str, expected: tuple[int | None, str] | None
) -> None:
    model = only_model(
        f"""
        import keras
        from keras import layers

        def head(x, n):
            {head}

        inputs = keras.Input((8,))
        model = keras.Model(inputs, head(layers.Dense(4)(inputs), 3))
        model.compile(optimizer="adam", loss="mse")
        """
    )
    (output,) = model.outputs
    known = (output.units, output.activation) if output.activation else None
    assert known == expected


def test_factory_across_modules_binds_units_from_the_call() -> None:
    builder = index(
        """
        from keras import layers, Sequential
        def build(num_classes=2, act="softmax"):
            return Sequential([layers.Input((5,)), layers.Dense(num_classes, activation=act)])
        """,
        module="pkg.model",
    )
    train = index(
        """
        from pkg.model import build
        model = build(7)
        model.compile(loss="categorical_crossentropy")
        other = build(num_classes=1)
        other.compile(loss="categorical_crossentropy")
        default = build()
        default.compile(loss="categorical_crossentropy")
        """,
        module="pkg.train",
    )
    project = ProjectIndex([builder, train])
    units = [rc.model.outputs[0].units for rc in project.compiles() if rc.model]
    assert units == [7, 1, 2]


def test_branch_bound_names_are_unknown() -> None:
    module = index(
        """
        import keras
        def f(model, big):
            if big:
                lw = [1.0, 2.0]
            else:
                lw = [1.0]
            model.compile(loss=["mse", "mae"], loss_weights=lw)
        """
    )
    (site,) = module.compiles
    assert type(site.loss_weights).__name__ == "Unknown"


def test_re_compile_is_not_a_compile_site() -> None:
    module = index(
        """
        import re
        import keras
        pattern = re.compile("x", re.I)
        regex = re.compile(pattern="y")
        """
    )
    assert module.compiles == ()


def test_definitions_take_roles_from_use() -> None:
    losses = index(
        """
        import keras
        def focal(gamma=2.0):
            def loss(y_true, y_pred):
                return y_pred
            return loss
        def dice(y_true, y_pred):
            return y_pred
        class Smooth(keras.losses.Loss):
            def call(self, y_true, y_pred):
                return y_pred
        class F1(keras.metrics.Metric):
            pass
        def unused(a, b):
            return a
        def iou_score(y_true, y_pred):
            return y_pred
        def helper(y_true, y_pred):
            return y_pred
        def _private(y_true, y_pred):
            return y_pred
        """,
        module="pkg.losses",
    )
    train = index(
        """
        from pkg.losses import focal, dice
        def go(model):
            model.compile(loss=focal(3.0), metrics=[dice])
        """,
        module="train",
    )
    found = {
        (d.qualname, d.kind, tuple(sorted(d.roles)), d.used)
        for d in ProjectIndex([losses, train]).definitions()
    }
    assert found == {
        ("pkg.losses.focal.loss", "closure", ("loss",), True),
        ("pkg.losses.dice", "function", ("metric",), True),  # its use wins over its signature
        ("pkg.losses.Smooth", "loss_class", ("loss",), False),
        ("pkg.losses.F1", "metric_class", ("metric",), False),
        ("pkg.losses.iou_score", "function", ("metric",), False),  # by its name
        # A public (y_true, y_pred) function of a Keras losses module is a library loss.
        ("pkg.losses.helper", "function", ("loss",), False),
        ("pkg.losses._private", "function", (), False),  # a loss signature, role unknown
    }


def test_columns_count_characters_not_bytes() -> None:
    module = index(
        'import keras\nm = keras.Sequential()\nm.compile(loss="é", metrics=["ü", "mse"])\n'
    )
    (site,) = module.compiles
    metric = site.metrics.items[1]  # type: ignore[union-attr]
    assert (metric.span.line, metric.span.column) == (3, 35)  # 37 if bytes were counted


def test_objectives_outside_compile() -> None:
    module = index(
        """
        import tensorflow as tf
        import jax
        y = tf.nn.softmax(tf.matmul(x, W) + b)
        cross_entropy = -tf.reduce_sum(y_ * tf.log(y))
        train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)
        class Step:
            def train_step(self, data):
                with tf.GradientTape() as tape:
                    loss = self.loss_fn(data)
                grads = tape.gradient(loss, self.trainable_variables)
                self.add_loss(0.1 * loss)
        def torch_step(loss):
            loss.backward()
        g = jax.grad(lambda p: p.sum())
        pattern = "gradient"
        """
    )
    found = [(o.kind, o.scope, ast.unparse(o.node)) for o in module.objectives]
    assert found == [
        ("minimize", "m", "cross_entropy"),
        ("grad", "m", "lambda p: p.sum()"),
        ("gradient", "m.Step.train_step", "loss"),
        ("add_loss", "m.Step.train_step", "0.1 * loss"),
        ("backward", "m.torch_step", "loss"),
    ]
    assert module.constants == {}


def test_bound_methods_resolve_to_the_class_method_with_their_instance() -> None:
    losses = index(
        """
        class Base:
            def shared(self, y_true, y_pred):
                return y_pred

        class MyLoss(Base):
            def __init__(self, alpha):
                self.alpha = alpha

            def loss_function(self, y_true, y_pred):
                return y_pred

            def __call__(self, y_true, y_pred):
                return y_pred
        """,
        "pkg.losses",
    )
    train = index(
        """
        from losses import MyLoss

        my_loss = MyLoss(0.5)

        class Trainer:
            def __init__(self):
                self.loss_obj = MyLoss(2.0)

            def fit(self, model):
                model.compile(loss=self.loss_obj.shared, metrics=[MyLoss(1.0)])

        def train(model):
            model.compile(loss=my_loss.loss_function)
        """,
        "train",
    )
    project = ProjectIndex([losses, train])
    by_name = {d.qualname: d for d in project.definitions()}
    method = by_name["pkg.losses.MyLoss.loss_function"]
    assert method.kind == "method" and method.roles == {"loss"} and method.used
    assert method.instance is not None and method.instance.binding == "train.my_loss"
    inherited = by_name["pkg.losses.Base.shared"]  # found through the instance's class
    assert inherited.instance is not None and inherited.instance.binding == "self.loss_obj"
    assert by_name["pkg.losses.MyLoss.__call__"].roles == {"metric"}  # a callable object


def test_scripts_snippets_and_star_imports() -> None:
    snippet = index(
        """
        model = Sequential()
        model.add(Dense(10, activation="softmax"))
        model.compile(loss="categorical_crossentropy")
        """
    )
    (site,) = ProjectIndex([snippet]).compiles()
    assert site.model is not None and site.model.outputs[0].units == 10
    guarded = index(
        """
        import keras
        if __name__ == "__main__":
            model = keras.Sequential([keras.layers.Dense(3)])
            model.compile(loss="mse")
        """
    )
    (site,) = ProjectIndex([guarded]).compiles()
    assert site.model is not None and site.model.outputs[0].units == 3
    # A loss defined in the script's main block and compiled there is that function, used.
    main_loss = index(
        """
        import keras
        if __name__ == "__main__":
            model = keras.Sequential([keras.layers.Dense(3)])
            def my_loss(y_true, y_pred):
                return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)
            model.compile(loss=my_loss)
        """
    )
    (site,) = ProjectIndex([main_loss]).compiles()
    assert getattr(site.site.loss, "target", None) == "m.my_loss"
    assert [d.used for d in ProjectIndex([main_loss]).definitions()] == [True]
    # Inside an ordinary ``if``, the def may not run: compiled below the ``if``, the name stays
    # unknown; compiled in the same branch, it is that function (the branch ran).
    maybe = index(
        "import keras\nif ready:\n    def l(y_true, y_pred):\n        return y_pred\n"
        "keras.Model().compile(loss=l)\n"
    )
    (site,) = ProjectIndex([maybe]).compiles()
    assert getattr(site.site.loss, "target", None) is None
    branch = index(
        "import keras\nif ready:\n    def l(y_true, y_pred):\n        return y_pred\n"
        "    keras.Model().compile(loss=l)\n"
    )
    (site,) = ProjectIndex([branch]).compiles()
    assert getattr(site.site.loss, "target", None) == "m.l"
    starred = index("from helpers import *\n\ndef f(model):\n    model.compile(loss=l1)\n")
    (site,) = ProjectIndex([starred]).compiles()
    assert site.site.loss is not None and getattr(site.site.loss, "target", None) == "helpers.l1"


def test_star_imports_of_known_modules_bind_the_names_they_give() -> None:
    """``from keras.models import *`` then ``from keras.layers import *``, the way many scripts
    start: each name comes from the last star import whose module has it, as at run time
    (``Sequential`` from models, ``Dense`` from layers), so the model is known."""
    module = index(
        """
        from keras.models import *
        from keras.layers import *
        from keras.losses import *

        model = Sequential([Input((4,)), Dense(10, activation="softmax")])
        model.compile(loss=CategoricalCrossentropy(from_logits=True))
        """
    )
    assert module.imports["Sequential"] == "keras.models.Sequential"
    assert module.imports["Dense"] == "keras.layers.Dense"
    (site,) = ProjectIndex([module]).compiles()
    assert site.model is not None and site.model.outputs[0].activation == "softmax"
    assert getattr(site.site.loss, "func", None) == "keras.losses.CategoricalCrossentropy"


@pytest.mark.parametrize(
    ("source", "name", "expected"),
    [
        # The later star import wins where both modules have the name.
        ("from keras.backend import *\nfrom numpy import *\nx = mean(y)\n", "mean", "numpy.mean"),
        (
            "from numpy import *\nfrom keras.backend import *\nx = mean(y)\n",
            "mean",
            "keras.backend.mean",
        ),
        ("from keras.backend import *\nfrom math import *\nx = log(y)\n", "log", "math.log"),
        # A module whose names are not known may bind any name: not guessed past it.
        ("from keras.layers import *\nfrom mylayers import *\nx = Dense(1)\n", "Dense", None),
        # But the classes that wire a model, which projects do not define again.
        (
            "from keras.layers import *\nfrom util.loss import *\nx = Lambda(dist)\n",
            "Lambda",
            "keras.layers.Lambda",
        ),
        (
            "from mylayers import *\nfrom keras.layers import *\nx = Dense(1)\n",
            "Dense",
            "keras.layers.Dense",
        ),
        ("from mylayers import *\nx = Dense(1)\n", "Dense", None),
        # The module's own binding or import is not overridden.
        ("from keras.layers import *\ndef Dense(n):\n    pass\nx = Dense(1)\n", "Dense", None),
        ("from keras.layers import *\nDense = make()\nx = Dense(1)\n", "Dense", None),
        (
            "from keras.backend import *\nfrom numpy import mean\nx = mean(y)\n",
            "mean",
            "numpy.mean",
        ),
        # A name the star module does not have stays unbound.
        ("from keras.layers import *\nx = log(y)\n", "log", None),
        (
            "from tensorflow.keras.layers import *\nx = Dense(1)\n",
            "Dense",
            "tensorflow.keras.layers.Dense",
        ),
    ],
)
def test_star_import_resolution(source: str, name: str, expected: str | None) -> None:
    assert index(source).imports.get(name) == expected


def test_flatten_bounds_the_units_and_symbolic_tensors_are_recorded() -> None:
    module = index(
        """
        import keras
        from keras import layers
        inputs = keras.Input((28, 28, 1))
        x = layers.Conv2D(10, 3)(inputs)
        x = layers.MaxPooling2D()(x)
        flat = layers.Flatten()(x)
        z_mean, z_log_var = keras.Model(inputs, [flat, flat])(inputs)
        scale = 2.0
        model = keras.Model(inputs, layers.Activation("softmax")(flat))
        model.compile(loss="categorical_crossentropy")
        """
    )
    (site,) = ProjectIndex([module]).compiles()
    assert site.model is not None
    (output,) = site.model.outputs
    assert (output.units, output.min_units, output.activation) == (None, 10, "softmax")
    assert {"m.inputs", "m.x", "m.flat", "m.z_mean", "m.z_log_var"} <= set(module.symbolic)
    assert "m.scale" not in module.symbolic and "m.model" not in module.symbolic


def test_library_losses_need_a_keras_losses_module() -> None:
    """Only a package's module named ``losses`` that imports Keras or TensorFlow (not PyTorch)
    makes its public ``(y_true, y_pred)`` functions losses; a coefficient stays a metric."""

    def roles(source: str, module: str) -> dict[str, tuple[str, ...]]:
        found = ProjectIndex([index(source, module=module)]).definitions()
        return {d.qualname.rpartition(".")[2]: tuple(sorted(d.roles)) for d in found}

    body = textwrap.dedent(
        """
        def dice(y_true, y_pred):
            return y_pred
        def dice_coef(y_true, y_pred):
            return y_pred
        def iou_seg(y_true, y_pred):
            return y_pred
        """
    )
    assert roles("import tensorflow as tf" + body, "pkg.losses") == {
        "dice": ("loss",),
        "dice_coef": ("metric",),
        "iou_seg": ("loss",),
    }
    assert roles("import tensorflow as tf" + body, "pkg.utils")["dice"] == ()
    assert roles("import tensorflow as tf" + body, "losses")["dice"] == ()  # a script's module
    assert roles("import tensorflow as tf\nimport torch" + body, "pkg.losses")["dice"] == ()
    assert roles("import numpy as np" + body, "pkg.losses")["dice"] == ()


def test_reexports_resolve_to_the_definition_and_prefer_the_keras_backend() -> None:
    source = textwrap.dedent(
        """
        import os
        from .dssim import DSSIM
        if os.environ.get("BACKEND") == "torch":
            from .torch import losses
        else:
            from .tf import losses
        """
    )
    package = index_module(ast.parse(source), source, "pkg/__init__.py", "pkg")
    assert package.alternatives == {"losses": ("pkg.tf.losses", "pkg.torch.losses")}
    dssim = index("class DSSIM:\n    def __call__(self, y_true, y_pred): ...\n", "pkg.dssim")
    tf_losses = index(
        "import tensorflow as tf\nclass MSE:\n    def loss(self, a, b): ...\n", "pkg.tf.losses"
    )
    torch_losses = index(
        "import torch\nclass MSE:\n    def loss(self, a, b): ...\n", "pkg.torch.losses"
    )
    project = ProjectIndex([package, dssim, tf_losses, torch_losses])
    assert project._lookup("pkg.DSSIM") == "pkg.dssim.DSSIM"
    assert project._lookup("pkg.losses.MSE.loss") == "pkg.tf.losses.MSE.loss"
    assert project._lookup("pkg.losses.Missing") is None


def test_an_injected_backend_is_the_keras_backend_for_the_analyses_only() -> None:
    module = index(
        """
        def bce(gt, pr, **kwargs):
            backend = kwargs['backend']
            return backend.mean(backend.binary_crossentropy(gt, pr))
        """
    )
    assert module.imports["backend"] == "keras.backend"
    assert not module.api_uses  # which backend it is depends on the caller: not an LL402 matter
    assert "backend" not in index("def f(backend):\n    return backend.mean(1)\n").imports
    # A module that imports a ``backend`` of its own keeps it.
    own = index("from . import backend\ndef f(**kwargs):\n    backend = kwargs['backend']\n", "p.m")
    assert own.imports["backend"] == "p.backend"


def test_session_runs_and_self_attributes_are_facts_the_project_reads_instead_of_the_text() -> None:
    """Where a TF1 session may fetch a loss (``sess`` and ``.run(`` on one line) and which
    ``self.X`` a module writes are facts, so the project finds those modules without reading
    every module's text (which would tie each finding to every file's comments)."""
    script = index(
        "import tensorflow as tf\n\nclass Net:\n    def build(self):\n"
        "        self.cost = tf.reduce_mean(self . logits)\n\n"
        "with tf.compat.v1.Session() as sess:\n    sess.run(fetches)\n"
    )
    assert script.sessions
    assert {"cost", "logits"} <= script.self_attributes
    apart = index("sess = make()\nvalue = other.run(x)\n")  # never on one line
    assert not apart.sessions and apart.self_attributes == frozenset()


def test_module_level_bindings_name_the_chunks_that_bind_them() -> None:
    """``bindings``: the chunks of module-level code (any block, no definition) binding a
    plain name, so an analysis parses those alone; ``top_names``: what the top-level
    assignments and imports bind, tuple and attribute targets included."""
    module = index(
        "import os.path\nEPS = 1e-7\n\n\ndef f():\n    LOCAL = 1\n\n\n"
        "if os.environ.get('X'):\n    EPS = 1e-5\n    for step in range(3):\n        pass\n"
        "a, (b, c) = 1, (2, 3)\nobj.attr = 4\nCOUNT: int = 0\nCOUNT += 1\n"
    )
    starts = module.chunks
    assert module.bindings["EPS"] == (1, 3)  # line 2, and the if block at line 9
    assert starts[1] == 2 and starts[3] == 9
    assert module.bindings["step"] == (3,) and "LOCAL" not in module.bindings
    assert "a" not in module.bindings  # a tuple target is no plain name
    assert {"COUNT"} <= set(module.bindings)
    assert {"os", "EPS", "a", "b", "c", "obj", "COUNT"} <= module.top_names
    assert "LOCAL" not in module.top_names and "step" not in module.top_names


def test_a_called_parameter_makes_the_model_and_a_stored_callable_is_no_model() -> None:
    """``model = arch(shape)`` of a parameter is the model the callers' factory makes; a loss
    class's ``self.coord_loss(y, p)``, a callable stored from a parameter, returned by ``call``,
    is no model at all (it once failed an assertion while the file was indexed)."""
    source = textwrap.dedent(
        """
        import keras

        class AdjustedCoordsLoss(keras.losses.Loss):
            def __init__(self, coord_loss):
                super().__init__()
                self.coord_loss = coord_loss

            def call(self, y_true, y_pred):
                value = self.coord_loss(y_true, y_pred)
                return value

        def model_arch(arch):
            model = arch((96, 96, 1))
            model.compile(optimizer="adam", loss="mse")
        """
    )
    module = index_module(ast.parse(source), source, "harness.py", "harness")
    (site,) = module.compiles
    assert site.model is not None and site.model.called and site.model.param is not None
    assert site.model.owner == "harness.model_arch"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # The arms of an ``if``: the one in TensorFlow keeps the name, first or second.
        (
            "import numpy as np\nimport tensorflow as tf\nif TF:\n    def loss(a, b):\n"
            "        return tf.abs(a)\nelse:\n    def loss(a, b):\n        return np.abs(a)\n",
            ["m.loss", "m.loss#else"],
        ),
        (
            "import numpy as np\nimport tensorflow as tf\nif not TF:\n    def loss(a, b):\n"
            "        return np.abs(a)\nelse:\n    def loss(a, b):\n        return tf.abs(a)\n",
            ["m.loss#else", "m.loss"],
        ),
        # A ``try`` and its handler are alternatives too.
        (
            "import numpy as np\ntry:\n    import tensorflow as tf\n    def loss(a, b):\n"
            "        return tf.abs(a)\nexcept ImportError:\n    def loss(a, b):\n"
            "        return np.abs(a)\n",
            ["m.loss", "m.loss#else"],
        ),
        # A ``try``'s body and its ``else``, or a loop's body and its ``else``, run one after
        # the other: the last definition is the one that stands.
        (
            "import numpy as np\nimport tensorflow as tf\ntry:\n    def loss(a, b):\n"
            "        return tf.abs(a)\nexcept ImportError:\n    pass\nelse:\n"
            "    def loss(a, b):\n        return np.abs(a)\n",
            ["m.loss#1", "m.loss"],
        ),
        (
            "import numpy as np\nimport tensorflow as tf\nfor _ in range(2):\n"
            "    def loss(a, b):\n        return tf.abs(a)\nelse:\n    def loss(a, b):\n"
            "        return np.abs(a)\n",
            ["m.loss#1", "m.loss"],
        ),
        # Both arms in TensorFlow (or neither): nothing tells which one Keras trains with.
        (
            "import tensorflow as tf\nif FLAG:\n    def loss(a, b):\n        return tf.abs(a)\n"
            "else:\n    def loss(a, b):\n        return tf.square(a)\n",
            ["m.loss#1", "m.loss"],
        ),
    ],
)
def test_definitions_in_exclusive_arms(source: str, expected: list[str]) -> None:
    assert [f.qualname for f in index(source).functions] == expected
