"""--fix / --unsafe-fixes / --diff: libcst edits, conflicts, imports, idempotence, end to end."""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from losslint.analysis import rewrites
from losslint.diagnostic import Applicability, Edit, Fix, Span
from losslint.fix import apply_fixes
from losslint.index.names import collect_imports
from tests.helpers import FIXTURES, check, expected_markers, reported

COMMAND = Path(sys.executable).with_name("losslint")


def fixed(source: str, *fixes: Fix) -> str:
    out, _ = apply_fixes(textwrap.dedent(source).encode(), list(fixes))
    return out.decode()


def safe(*edits: Edit) -> Fix:
    return Fix(Applicability.SAFE, "test", edits)


def span(source: str, text: str) -> Span:
    """The span of the first expression written exactly as ``text``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.expr) and ast.get_source_segment(source, node) == text:
            assert node.end_lineno is not None and node.end_col_offset is not None
            return Span(node.lineno, node.col_offset + 1, node.end_lineno, node.end_col_offset + 1)
    raise AssertionError(text)


def test_replace_and_argument_in_one_round_with_the_import() -> None:
    source = '''\
        """Doc."""
        import keras
        from keras import backend as K


        def loss(y_true, y_pred):
            return K.mean(K.square(y_pred - y_true))
        '''
    out = fixed(
        source,
        safe(
            Edit("replace", "ops.mean", Span(7, 12, 7, 18)), Edit("import", "from keras import ops")
        ),
        safe(
            Edit("replace", "ops.square", Span(7, 19, 7, 27)),
            Edit("import", "from keras import ops"),
        ),
        Fix(Applicability.UNSAFE, "axis", (Edit("argument", "axis=-1", Span(7, 12, 7, 45)),)),
    )
    assert out == textwrap.dedent(
        '''\
        """Doc."""
        import keras
        from keras import backend as K
        from keras import ops


        def loss(y_true, y_pred):
            return ops.mean(ops.square(y_pred - y_true), axis=-1)
        '''
    )


def test_import_goes_after_the_docstring_when_there_is_no_import() -> None:
    out = fixed(
        '"""Doc."""\nx = f(1)\n',
        safe(Edit("replace", "g", Span(2, 5, 2, 6)), Edit("import", "from m import g")),
    )
    assert out == '"""Doc."""\nfrom m import g\nx = g(1)\n'


@pytest.mark.parametrize(
    ("source", "call", "argument", "expected"),
    [
        ("y = f(a, axis=0)\n", "f(a, axis=0)", "axis=-1", "y = f(a, axis=-1)\n"),
        ("y = f(a)\n", "f(a)", "axis=-1", "y = f(a, axis=-1)\n"),
        ("y = f(a, b=1)\n", "f(a, b=1)", "(-1,)", "y = f(a, (-1,), b=1)\n"),
        ("y = f(\n    a,\n)\n", "f(\n    a,\n)", "axis=-1", "y = f(\n    a, axis=-1,\n)\n"),
    ],
)
def test_argument_forms(source: str, call: str, argument: str, expected: str) -> None:
    assert fixed(source, safe(Edit("argument", argument, span(source, call)))) == expected


def test_unwrap_and_keywords() -> None:
    assert fixed("y = log(softmax(x, 1))\n", safe(Edit("unwrap", "", Span(1, 5, 1, 23)))) == (
        "y = softmax(x, 1)\n"
    )
    out = fixed(
        "super().__init__(reduction, name)\n",
        safe(Edit("keywords", "reduction,name", Span(1, 1, 1, 34))),
    )
    assert out == "super().__init__(reduction=reduction, name=name)\n"
    out = fixed(
        "Loss.__init__(self, r, n)\n", safe(Edit("keywords", "_,reduction,name", Span(1, 1, 1, 26)))
    )
    assert out == "Loss.__init__(self, reduction=r, name=n)\n"


def test_conflicting_fixes_wait_for_the_next_round() -> None:
    source = "y = K.log(K.softmax(x))\n"
    outer = safe(
        Edit("replace", "ops.log_softmax", Span(1, 11, 1, 20)),
        Edit("unwrap", "", Span(1, 5, 1, 24)),
    )
    inner = safe(Edit("replace", "ops.softmax", Span(1, 11, 1, 20)))
    rename = safe(Edit("replace", "ops.log", Span(1, 5, 1, 10)))
    out, count = apply_fixes(source.encode(), [inner, rename, outer])
    assert (out.decode(), count) == ("y = ops.log_softmax(x)\n", 1)


def test_an_import_that_would_shadow_a_binding_is_not_added() -> None:
    source = "ops = load_ops()\ny = K.mean(x)\n"
    fix = safe(
        Edit("replace", "ops.mean", Span(2, 5, 2, 11)), Edit("import", "from keras import ops")
    )
    assert apply_fixes(source.encode(), [fix]) == (source.encode(), 0)


def test_a_stale_span_or_an_unparsable_result_changes_nothing() -> None:
    source = b"y = f(x)\n"
    assert apply_fixes(source, [safe(Edit("replace", "g", Span(1, 2, 1, 4)))]) == (source, 0)
    assert apply_fixes(source, [safe(Edit("replace", "g(", Span(1, 5, 1, 6)))]) == (source, 0)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("K.log(K.softmax(z, axis=1))", "ops.log_softmax(z, axis=1)"),
        ("tf.math.log(tf.nn.softmax(z))", "tf.nn.log_softmax(z)"),
        ("tf.log(tf.nn.softmax(z, axis=-1))", "tf.nn.log_softmax(z, axis=-1)"),
        ("ops.log(ops.sigmoid(z))", "ops.log_sigmoid(z)"),
        ("keras.ops.log(keras.ops.softmax(z))", "keras.ops.log_softmax(z)"),
    ],
)
def test_log_softmax_fix_for_ll302(source: str, expected: str) -> None:
    header = (
        "import keras\nimport tensorflow as tf\nfrom keras import backend as K\n"
        "from keras import ops\n"
    )
    text = f"{header}y = {source}\n"
    tree = ast.parse(text)
    call = tree.body[-1].value  # type: ignore[attr-defined]
    fix = rewrites.log_softmax_fix(call, collect_imports(tree, ""), tuple(text.splitlines()))
    assert fix is not None
    out, _ = apply_fixes(text.encode(), [fix])
    assert out.decode().splitlines()[-1] == f"y = {expected}"


# -- end to end -------------------------------------------------------------------------------


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMMAND), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.py"))
    }


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, target)
    return target


def test_diff_prints_a_unified_diff_and_changes_nothing(copy: Path) -> None:
    before = digest(copy)
    done = run("check", ".", "--diff", "--no-cache", cwd=copy)
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("--- a/")
    assert "+++ b/rules/LL402.py" in done.stdout
    assert "-    return tf.to_float(tf.equal(y_true, tf.round(y_pred)))  # [LL402]" in done.stdout
    assert (
        "+    return tf.cast(tf.equal(y_true, tf.round(y_pred)), tf.float32)  # [LL402]"
        in done.stdout
    )
    assert "axis=-1)  # [LL201]" not in done.stdout  # unsafe: needs --unsafe-fixes
    assert digest(copy) == before


def _parses(path: Path) -> bool:
    try:
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError:
        return False
    return True


def test_fix_then_fix_again_changes_nothing(copy: Path) -> None:
    parsing = {path for path in copy.rglob("*.py") if _parses(path)}  # a Python 2 one does not
    assert parsing
    before = {d for d in check(copy) if d.fix is not None}
    assert {d.code for d in before} >= {"LL201", "LL402", "LL404"}
    done = run("check", ".", "--fix", "--unsafe-fixes", "--no-cache", "--format", "json", cwd=copy)
    assert done.returncode in (0, 1), done.stderr
    assert "fixed" in done.stderr
    remaining = json.loads(done.stdout)
    assert [d for d in remaining if d["fix"]] == []
    for path in parsing:
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    first = digest(copy)
    again = run("check", ".", "--fix", "--unsafe-fixes", "--no-cache", cwd=copy)
    assert again.returncode in (0, 1), again.stderr
    assert "fixed 0 problems" in again.stderr
    assert digest(copy) == first
    # The fixtures still find what they found, except the lines that were fixed.
    fixed_lines = {(Path(d.path).name, d.line, d.code) for d in before}
    for fixture in sorted((copy / "rules").glob("LL*.py")):
        family = fixture.stem[:3]
        expected = {m for m in expected_markers(fixture) if m[2].startswith(family)}
        expected -= fixed_lines
        actual = {r for r in reported(check(fixture)) if r[2].startswith(family)}
        assert actual == expected, fixture.name


def test_safe_fixes_only_without_unsafe_fixes(copy: Path) -> None:
    target = copy / "rules" / "LL201.py"
    done = run("check", "rules/LL201.py", "rules/LL404.py", "--fix", "--no-cache", cwd=copy)
    assert done.returncode == 1
    assert "fixed 0 problems" in done.stderr
    assert target.read_text() == (FIXTURES / "rules" / "LL201.py").read_text()


def test_json_carries_the_fix(tmp_path: Path) -> None:
    (tmp_path / "loss.py").write_text(
        "import keras\n\nloss = keras.losses.MeanSquaredError(reduction='auto')\n"
    )
    done = run("check", "loss.py", "--format", "json", "--no-cache", cwd=tmp_path)
    (diagnostic,) = json.loads(done.stdout)
    assert diagnostic["code"] == "LL402"
    assert diagnostic["fix"] == {
        "applicability": "safe",
        "message": "Replace 'auto' with 'sum_over_batch_size'",
        "edits": [
            {
                "kind": "replace",
                "content": '"sum_over_batch_size"',
                "line": 3,
                "column": 48,
                "end_line": 3,
                "end_column": 54,
            }
        ],
    }


_JOINT = """\
import keras
from keras import ops


def joint_loss(y_true, y_pred):
    mse_term = ops.mean(ops.square(y_true - y_pred))
    mae_term = {mae}
    return mae_term + 10.0 * mse_term


model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
model.compile(optimizer="adam", loss=joint_loss)
"""


def test_ll201_fixes_every_term_of_a_joint_loss_or_none(tmp_path: Path) -> None:
    both = tmp_path / "both.py"
    both.write_text(_JOINT.format(mae="ops.mean(ops.abs(y_true - y_pred))"))
    found = [d for d in check(both) if d.code == "LL201"]
    assert len(found) == 2 and all(d.fix is not None for d in found)
    out, _ = apply_fixes(both.read_bytes(), [d.fix for d in found if d.fix])
    both.write_text(out.decode())
    assert out.decode().count("axis=-1)") == 2
    assert [d for d in check(both) if d.code == "LL201"] == []
    # One term the fix cannot repair (flattened first): no fix for the other either.
    mixed = tmp_path / "mixed.py"
    mixed.write_text(_JOINT.format(mae="ops.mean(ops.reshape(ops.abs(y_true - y_pred), (-1,)))"))
    found = [d for d in check(mixed) if d.code == "LL201"]
    assert found and all(d.fix is None for d in found)
    # A mean of tf.image.ssim, one value per image already: axis=-1 would still average the
    # batch, so no term is fixed, and the advice for that term is to return the values.
    ssim = tmp_path / "ssim.py"
    ssim.write_text(
        "import tensorflow as tf\n\n\n"
        "def image_loss(y_true, y_pred):\n"
        "    mae = tf.reduce_mean(tf.abs(y_true - y_pred))\n"
        "    y_true = tf.reshape(y_true, [-1, 96, 96, 1])\n"
        "    y_pred = tf.reshape(y_pred, [-1, 96, 96, 1])\n"
        "    return mae + 1.0 - tf.reduce_mean(tf.image.ssim(y_true, y_pred, max_val=1.0))\n\n\n"
        "def train(model):\n"
        "    model.compile(optimizer='adam', loss=image_loss)\n"
    )
    found = [d for d in check(ssim) if d.code == "LL201"]
    assert len(found) == 2 and all(d.fix is None for d in found)
    assert any("return the per-sample values" in d.message for d in found)


def test_ll201_reports_the_reducing_terms_of_one_line_once_and_fixes_them_all(
    tmp_path: Path,
) -> None:
    source = tmp_path / "mmd.py"
    source.write_text(
        textwrap.dedent(
            """\
            import keras
            from keras import ops


            def joint(y_true, y_pred):
                return ops.mean(ops.abs(y_true - y_pred)) + 2.0 * ops.mean(ops.square(y_pred))


            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss=joint)
            """
        )
    )
    (found,) = [d for d in check(source) if d.code == "LL201"]
    assert found.message.endswith("in each of its 2 batch-reducing terms")
    assert found.fix is not None and len(found.fix.edits) == 2
    assert fixed(source.read_text(), found.fix).splitlines()[5] == (
        "    return ops.mean(ops.abs(y_true - y_pred), axis=-1) + 2.0 * "
        "ops.mean(ops.square(y_pred), axis=-1)"
    )


def test_ll402_says_a_name_used_twice_on_a_line_once_and_fixes_both(tmp_path: Path) -> None:
    """``K.sum(a) + K.sum(b)``: one finding at the first use, whose fix rewrites both (and
    adds the import once); a use on another line is its own finding."""
    source = tmp_path / "dice.py"
    source.write_text(
        textwrap.dedent(
            """\
            import keras
            from keras import backend as K


            def dice(y_true, y_pred):
                inter = K.sum(y_true * y_pred, axis=-1)
                return 1 - 2 * inter / (K.sum(y_true, axis=-1) + K.sum(y_pred, axis=-1) + 1)


            model = keras.Sequential([keras.layers.Dense(1)])
            model.compile(loss=dice)
            """
        )
    )
    found = [d for d in check(source) if d.code == "LL402"]
    assert [(d.line, d.span.column) for d in found] == [(6, 13), (7, 29)]
    assert found[1].fix is not None
    assert [e.kind for e in found[1].fix.edits].count("import") <= 1
    out = fixed(source.read_text(), *(d.fix for d in found if d.fix is not None))
    assert "K.sum" not in out
    assert out.count("ops.sum(") == 3
