"""The op catalogue against the installed Keras, and the advice in messages against both."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from losslint.analysis import ops, ranges

ROOT = Path(__file__).resolve().parent.parent


def _keras_ops() -> set[str]:
    """The public names of the installed ``keras.ops``, read from its API file, not imported
    (importing Keras starts TensorFlow)."""
    spec = importlib.util.find_spec("keras")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("Keras is not installed")
    api = Path(next(iter(spec.submodule_search_locations))) / "ops" / "__init__.py"
    if not api.is_file():
        pytest.skip("this Keras has no generated keras/ops API file")
    found = set()
    for node in ast.walk(ast.parse(api.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.update(alias.asname or alias.name for alias in node.names)
    return {name for name in found if not name.startswith("_")}


def test_every_keras_ops_function_is_in_the_catalogue() -> None:
    missing = sorted(_keras_ops() - set(ops.FUNCTIONS))
    assert not missing, f"keras.ops functions missing from analysis/ops.py: {missing}"


def test_every_entry_names_a_known_transfer_and_batch_behaviour() -> None:
    for name, op in (*ops.FUNCTIONS.items(), *ops.METHODS.items()):
        assert op.range in ops.TRANSFERS, (name, op.range)
        assert op.batch in ops.BATCH, (name, op.batch)


def test_the_range_analysis_implements_every_transfer() -> None:
    """Each transfer name appears as a case of ``RangeAnalysis._apply`` (or ``_call``)."""
    source = Path(ranges.__file__).read_text(encoding="utf-8")
    handled = set(re.findall(r'op == "([a-z_0-9]+)"', source))
    handled |= {
        name
        for group in re.findall(r"op in \(([^)]*)\)", source)
        for name in re.findall(r'"([a-z_0-9]+)"', group)
    }
    assert ops.TRANSFERS - {"unknown"} <= handled, sorted(ops.TRANSFERS - handled - {"unknown"})


def test_guards_are_the_operations_that_bound_a_value() -> None:
    guards = {name for name, op in ops.FUNCTIONS.items() if op.guard}
    assert {"clip", "clip_by_value", "maximum", "divide_no_nan", "nan_to_num"} <= guards
    assert not {"log", "exp", "divide", "sum", "mean"} & guards


_ADVICE = re.compile(r"\bops\.([a-z_0-9]+)\(")


def test_every_keras_ops_call_a_message_suggests_exists() -> None:
    """A suggested fix must exist: every ``ops.name(`` in a rule message or rule page."""
    installed = _keras_ops()
    texts = [
        node.value
        for path in (ROOT / "losslint").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    texts += [p.read_text(encoding="utf-8") for p in (ROOT / "rules").glob("*.md")]
    suggested = {name for text in texts for name in _ADVICE.findall(text)}
    assert suggested, "the pattern must find the advice it checks"
    assert sorted(suggested - installed) == []
    assert sorted(suggested - set(ops.FUNCTIONS)) == []
