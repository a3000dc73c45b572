"""Python 2 files: ``print x`` and ``except E, e:`` are read as Python 3, the file is reported
(LL000) and its loss code checked; any other Python 2 syntax still leaves the file unchecked."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from losslint import pipeline, quiet
from losslint.config import Config
from losslint.diagnostic import Diagnostic


@pytest.mark.parametrize(
    ("python2", "python3"),
    [
        ('print "epoch %d" % epoch\n', 'print("epoch %d" % epoch)\n'),
        ("print x,\n", "print(x,)\n"),
        ("print\n", "print()\n"),
        ("if done: print x\n", "if done: print(x)\n"),
        ("x = 1; print x\n", "x = 1; print(x)\n"),
        ('print >>sys.stderr, "error", x\n', 'print("error", x, file=sys.stderr)\n'),
        ("print (a), b\n", "print((a), b)\n"),
        ("try:\n    pass\nexcept ValueError, error:\n    pass\n",
         "try:\n    pass\nexcept ValueError as error:\n    pass\n"),
        ('print "a", \\\n    x\n', 'print("a", \\\n    x)\n'),
    ],
)  # fmt: skip
def test_python2_statements_are_written_as_python3(python2: str, python3: str) -> None:
    assert quiet.python2_repaired(python2) == python3
    ast.parse(python3)


@pytest.mark.parametrize(
    "source", ["print(x)\n", "print = log\n", "print.x = 1\n", "values[print]\n", "x = 1\n"]
)
def test_python3_code_is_left_as_it_is(source: str) -> None:
    assert quiet.python2_repaired(source) is None


def test_positions_before_and_on_other_lines_do_not_move() -> None:
    source = "import tensorflow as tf\nprint 'x'\nloss = tf.math.log(p)\n"
    tree = quiet.parse_python2(source)
    call = tree.body[2].value
    assert (call.lineno, call.col_offset) == (3, 7)


def _check_loss(root: Path, first_statement: str, log: str = "tf.math.log") -> list[Diagnostic]:
    """A loss module whose loss starts with ``first_statement`` (line 5), its log on line 6."""
    (root / "train.py").write_text(
        "import tensorflow as tf\n\n\n"
        "def log_loss(y_true, y_pred):\n"
        f"    {first_statement}\n"
        f"    return -tf.reduce_mean(y_true * {log}(y_pred), axis=-1)\n",
        encoding="utf-8",
    )
    return pipeline.run([root], Config(root=root), jobs=1, use_cache=False).diagnostics


def test_a_python2_file_is_reported_and_its_losses_checked(tmp_path: Path) -> None:
    diagnostics = _check_loss(tmp_path, "print 'computing the loss'")
    assert {("LL000", 5), ("LL301", 6)} <= {(d.code, d.line) for d in diagnostics}
    (message,) = [d.message for d in diagnostics if d.code == "LL000"]
    assert "Python 2" in message and "print() calls" in message


def test_other_python2_syntax_leaves_the_file_unchecked(tmp_path: Path) -> None:
    diagnostics = _check_loss(tmp_path, "print `y_pred`")
    assert [d.code for d in diagnostics] == ["LL000"]
    assert "not checked" in diagnostics[0].message


def test_an_edit_to_a_python2_file_is_checked_the_same_with_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    head = "import tensorflow as tf\n\n\ndef log_loss(y_true, y_pred):\n    print 'loss'\n"
    path.write_text(head + "    return tf.math.log(y_pred)\n", encoding="utf-8")
    config = Config(root=tmp_path)
    pipeline.run([tmp_path], config, jobs=1)
    path.write_text(head + "    # a comment\n    return tf.math.log(y_pred)\n", encoding="utf-8")
    cached = pipeline.run([tmp_path], config, jobs=1)
    fresh = pipeline.run([tmp_path], config, jobs=1, use_cache=False)
    assert [d.to_dict() for d in cached.diagnostics] == [d.to_dict() for d in fresh.diagnostics]
    assert any(d.code == "LL301" and d.line == 7 for d in cached.diagnostics)


def test_no_fix_is_offered_in_a_python2_file(tmp_path: Path) -> None:
    diagnostics = _check_loss(tmp_path, "print 'loss'", log="tf.log")
    assert any(d.code == "LL402" for d in diagnostics)  # tf.log, fixable elsewhere
    assert all(d.fix is None for d in diagnostics)
