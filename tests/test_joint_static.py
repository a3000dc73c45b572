"""The static half of issue 13: LL502 and LL503 on joint losses written as tutorials write
them, read as a user reads the messages."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import FIXTURES, check

_JOINT = """\
import keras
from keras import ops as K

lambda_mse = 10.0


def mse_loss(y_true, y_pred):
    return K.mean(K.square(y_true - y_pred), axis=-1)


def joint_loss(y_true, y_pred):
    mse_loss = K.mean(K.square(y_true - y_pred), axis=-1)
    mae_loss = K.mean(K.abs(y_true - y_pred), axis=-1)
    return mae_loss + (lambda_mse * {second})


model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
model.compile(loss=joint_loss, optimizer="adam", metrics=[mse_loss])
"""


def test_ll502_names_the_untracked_term_and_the_metrics_line(tmp_path: Path) -> None:
    source = tmp_path / "train.py"
    source.write_text(_JOINT.format(second="mse_loss"))
    (found,) = [d for d in check(source) if d.code == "LL502"]
    assert "adds up 2 terms (mae_loss + 10*mse_loss)" in found.message
    assert "metrics do not track mae_loss:" in found.message
    assert found.message.endswith('compile with metrics=[mse_loss, "mae"]')
    assert found.line == 18


def test_ll503_points_at_the_term_left_out(tmp_path: Path) -> None:
    source = tmp_path / "train.py"
    source.write_text(_JOINT.format(second="mae_loss"))
    found = [d for d in check(source) if d.code.startswith("LL50")]
    assert [(d.code, d.span.line, d.span.column) for d in found] == [("LL503", 12, 5)]
    assert found[0].message.startswith(
        "joint_loss computes the loss term mse_loss but never uses it: the value it returns "
        "(mae_loss + lambda_mse * mae_loss) leaves mse_loss out"
    )


def test_the_runtime_fixtures_of_issue_13_are_seen_statically() -> None:
    found = {
        (Path(d.path).name, d.code)
        for d in check(*sorted((FIXTURES / "runtime").glob("joint_*.py")))
        if d.code.startswith("LL5")
    }
    assert found == {("joint_unused_term.py", "LL503")}


def test_ll502_names_an_untracked_inline_term_by_its_expression(tmp_path: Path) -> None:
    source = tmp_path / "train.py"
    source.write_text(
        "import keras\nfrom keras import ops\n\n\n"
        "def joint(y_true, y_pred):\n"
        "    return ops.mean(ops.square(y_true - y_pred) * 3.0, axis=-1) + "
        "keras.losses.mean_absolute_error(y_true, y_pred)\n\n\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
        'model.compile(loss=joint, optimizer="adam", metrics=["mae"])\n'
    )
    (found,) = [d for d in check(source) if d.code == "LL502"]
    assert "metrics do not track ops.mean(ops.square(y_true - y_pred) ...:" in found.message


def test_ll502_is_one_finding_for_a_loss_repeated_per_output(tmp_path: Path) -> None:
    """Deep supervision compiles the same joint loss once per output: one defect, one finding."""
    source = tmp_path / "train.py"
    source.write_text(
        _JOINT.format(second="mse_loss").replace(
            "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])\n"
            'model.compile(loss=joint_loss, optimizer="adam", metrics=[mse_loss])\n',
            "inputs = keras.Input((4,))\n"
            "model = keras.Model(inputs, [keras.layers.Dense(4)(inputs), "
            "keras.layers.Dense(4)(inputs)])\n"
            'model.compile(loss=[joint_loss, joint_loss], optimizer="adam")\n',
        )
    )
    assert len([d for d in check(source) if d.code == "LL502"]) == 1
