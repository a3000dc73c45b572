"""Jupyter notebooks, end to end: discovered, checked across cells, reported by cell, fixed in
place with outputs and metadata untouched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from losslint.notebook import CellMap, to_python, write_back
from tests.helpers import code_notebook
from tests.test_cli import run

CELLS: list[tuple[str, str]] = [
    ("markdown", "# Training a classifier\nThe loss is `keras.backend.mean` based."),
    ("code", "%matplotlib inline\nimport keras\nfrom keras import ops\n!pip install keras"),
    (
        "code",
        "def log_loss(y_true, y_pred):\n"
        "    return -keras.backend.mean(y_true * ops.log(y_pred), axis=-1)\n",
    ),
    ("code", "%%bash\necho this is not Python: def ( )\n"),
    (
        "code",
        "model = keras.Sequential([\n"
        "    keras.Input((4,)),\n"
        '    keras.layers.Dense(3, activation="softmax"),\n'
        "])\n"
        "files = !ls\n"
        "model.summary?\n"
        "model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))\n"
        "model.compile(loss=log_loss)",
    ),
]
OUTPUT = {"output_type": "stream", "name": "stdout", "text": ["Model: sequential\n"]}


def _notebook(path: Path) -> dict[str, Any]:
    cells = []
    for index, (kind, text) in enumerate(CELLS):
        cell: dict[str, Any] = {
            "cell_type": kind,
            "metadata": {"tags": [f"t{index}"]},
            "source": text.splitlines(keepends=True),
        }
        if kind == "code":
            cell["execution_count"] = index
            cell["outputs"] = [OUTPUT] if index == 4 else []
        cells.append(cell)
    document = {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(document, indent=1) + "\n")
    return document


def test_python_cell_magics_keep_their_body() -> None:
    cells = [
        {"cell_type": "code", "source": "%%time\nmodel.fit(x)\n"},
        {"cell_type": "code", "source": "%%bash\nls -l\n"},
    ]
    python = to_python(json.dumps({"cells": cells}).encode())
    assert python.splitlines() == ["# losslint-cell 1", "pass  # losslint-magic 0", "model.fit(x)"]


def test_datalab_shell_cells_are_left_out() -> None:
    """Google Datalab ran a cell starting with ``%bash`` (one %) as shell (a gcloud job
    submission); IPython has no such line magic, so the cell is another language, not Python
    that fails to parse. A ``%time`` line magic still marks a Python cell."""
    cells = [
        {
            "cell_type": "code",
            "source": "%bash\ngcloud ml-engine jobs submit training $JOB \\\n  --region=$REGION\n",
        },
        {"cell_type": "code", "source": "%time model.fit(x)\n"},
    ]
    python = to_python(json.dumps({"cells": cells}).encode())
    assert "gcloud" not in python and "losslint-unparsed" not in python
    assert python.splitlines() == ["# losslint-cell 2", "pass  # losslint-magic 0"]


def test_a_shell_cell_under_colab_form_lines_is_left_out() -> None:
    """Colab reads a cell's form lines (``#@title Download the data``) before it runs the
    cell: the ``%%bash`` below them is the cell's magic (a CycleGAN notebook's ``wget``). A
    Python cell with a title is still checked."""
    cells = [
        {"cell_type": "code", "source": "#@title Download\n%%bash\nwget $URL && unzip x.zip\n"},
        {"cell_type": "code", "source": "#@title Train\nmodel.fit(x)\n"},
    ]
    python = to_python(json.dumps({"cells": cells}).encode())
    assert "wget" not in python and "losslint-unparsed" not in python
    assert "model.fit(x)" in python


def _converted(cells: list[str]) -> tuple[bytes, str]:
    """A notebook of these code cells, and its Python, which must compile."""
    data = json.dumps({"cells": [{"cell_type": "code", "source": c} for c in cells]}).encode()
    python = to_python(data)
    compile(python, "notebook", "exec")
    return data, python


def test_automagic_is_read_only_where_the_cell_needs_it() -> None:
    """``cd hyopt_example`` and ``m.get_layer("w").*?`` run in IPython (concise's notebooks),
    so their cells are checked; a Python line that starts like a magic (``ls = files``, a
    continued expression starting with ``history``) keeps its meaning in a cell that parses."""
    cells = [
        "cd hyopt_example\nimport keras\n",
        'm.get_layer("spline_weight").*?\n',
        "??MaskGenerator._generate_mask\n",
        "?? Dense\n",  # help with a space, as a course notebook writes it
        "ls = sorted(files)\nlosses = [h for h in\n          history if h]\n",
        "cd /home/users/project/\n",  # a path: a research notebook's first cell
        "cd ../..\n",
        "ls ~/data\nx = cd / 2\n",
    ]
    _, python = _converted(cells)
    assert "import keras" in python and "losslint-unparsed" not in python
    assert "ls = sorted(files)" in python and "          history if h]" in python
    assert "x = cd / 2" in python
    assert python.count("pass  # losslint-magic") == 7


def test_ipython_syntax_found_in_real_notebooks_parses() -> None:
    """Each of these made a real notebook fail to parse: a shell line continued with a
    backslash, a lone '!', an indented cell (IPython dedents it), and Python lines that only
    look like magics (a '%' format continued, a '!=' comparison continued)."""
    cells = [
        "!python tools/voc2012.py \\\n  --split train\n!\n",
        "    a = 1\n    if a:\n        b = 2\n",
        'print(\n    "%d samples"\n    % (3,)\n)\nd = (a\n != b)\n',
    ]
    data, python = _converted(cells)
    assert "    % (3,)" in python and " != b)" in python
    assert python.count("pass  # losslint-magic") == 3
    edited = python.replace("b = 2", "b = 3")
    assert json.loads(write_back(data, edited))["cells"][1]["source"] == [
        "    a = 1\n",
        "    if a:\n",
        "        b = 3\n",
    ]


def test_joined_cells_map_back_to_cells() -> None:
    data = json.dumps({"cells": [{"cell_type": "code", "source": ["a = 1\n", "%time a"]}]})
    python = to_python(data.encode())
    assert python.splitlines() == ["# losslint-cell 1", "a = 1", "pass  # losslint-magic 1"]
    assert CellMap.of(python).locate(3) == (1, 2)
    assert write_back(data.encode(), python) == data.encode()  # nothing changed


def test_notebook_is_reported_by_cell_and_fixed_with_outputs_untouched(tmp_path: Path) -> None:
    notebook = tmp_path / "train.ipynb"
    original = _notebook(notebook)
    done = run("check", ".", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    found = {(d["path"], d["code"], d.get("cell"), d["line"]) for d in json.loads(done.stdout)}
    assert found == {
        ("train.ipynb", "LL301", 3, 2),
        ("train.ipynb", "LL402", 3, 2),
        ("train.ipynb", "LL107", 5, 7),
    }
    text = run("check", "train.ipynb", cwd=tmp_path).stdout
    assert "train.ipynb:cell 3:2:13: LL402 [*] [error]" in text
    assert "train.ipynb:cell 5:7:" in text and "LL107" in text
    assert "2 |     return -keras.backend.mean(" in text
    sarif = json.loads(run("check", ".", "--format", "sarif", cwd=tmp_path).stdout)
    region = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"] == "train.ipynb"

    fixed = run("check", ".", "--fix", cwd=tmp_path)
    assert "fixed 1 problem in 1 file" in fixed.stderr
    after = json.loads(notebook.read_text())
    assert after["metadata"] == original["metadata"]
    for old, new in zip(original["cells"], after["cells"], strict=True):
        assert new.get("outputs") == old.get("outputs")
        assert new["metadata"] == old["metadata"]
        assert new.get("execution_count") == old.get("execution_count")
        if old["source"] != new["source"]:
            assert old["metadata"]["tags"] == ["t2"]  # only the fixed cell changed
    assert "".join(after["cells"][2]["source"]) == (
        "def log_loss(y_true, y_pred):\n    return -ops.mean(y_true * ops.log(y_pred), axis=-1)\n"
    )
    assert after["cells"][1]["source"] == original["cells"][1]["source"]  # magics kept
    assert after["cells"][3]["source"] == original["cells"][3]["source"]
    remaining = {
        d["code"] for d in json.loads(run("check", ".", "--format", "json", cwd=tmp_path).stdout)
    }
    assert remaining == {"LL301", "LL107"}


def test_a_cell_that_does_not_parse_is_reported_and_the_other_cells_are_checked(
    tmp_path: Path,
) -> None:
    # A lab's unfinished cell (indented, with a shell line) and a citation pasted into a code
    # cell: Jupyter runs the other cells, so their findings must not be lost.
    CELLS.insert(3, ("code", "  !ls\n  loss = # TODO\n  print(loss)"))
    CELLS.append(("code", "@manual{Intro1,\n title={Working With Losses},\n}"))
    try:
        notebook = tmp_path / "lab.ipynb"
        original = _notebook(notebook)
    finally:
        del CELLS[3], CELLS[-1]
    found = json.loads(run("check", ".", "--format", "json", cwd=tmp_path).stdout)
    assert {(d["code"], d.get("cell"), d["line"]) for d in found} == {
        ("LL301", 3, 2),
        ("LL402", 3, 2),
        ("LL000", 4, 2),
        ("LL107", 6, 7),
        ("LL000", 7, 2),
    }
    assert all(
        "this cell is not checked (the others are)" in d["message"]
        for d in found
        if d["code"] == "LL000"
    )
    text = run("check", "lab.ipynb", "--no-cache", cwd=tmp_path).stdout
    assert "lab.ipynb:cell 4:2:8: LL000 [error] cell does not parse: invalid syntax" in text
    assert "2 | loss = # TODO" in text  # the line as the cell has it, not a placeholder
    again = run("check", ".", "--format", "json", cwd=tmp_path).stdout  # from the cache
    assert json.loads(again) == found

    run("check", ".", "--fix", cwd=tmp_path)
    after = json.loads(notebook.read_text())
    changed = [
        i for i, (a, b) in enumerate(zip(original["cells"], after["cells"], strict=True)) if a != b
    ]
    assert changed == [2]  # the fixed loss; the unparsed cells are written back as they were


def test_a_loss_written_again_in_a_later_cell_is_judged_where_each_compile_sees_it(
    tmp_path: Path,
) -> None:
    # The first try is compiled and trained before the cell that fixes it: its findings are
    # there to see; the fixed cell and the compile after it are silent.
    cells = [
        "import keras\nfrom keras import ops",
        "def nll(y_true, y_pred):\n    return -ops.mean(y_true * ops.log(y_pred))",
        "model = keras.Sequential(\n"
        "    [keras.Input((4,)), keras.layers.Dense(3, activation='softmax')]\n"
        ")\n"
        "model.compile(loss=nll)",
        "def nll(y_true, y_pred):\n"
        "    return -ops.sum(y_true * ops.log(ops.clip(y_pred, 1e-7, 1.0)), axis=-1)",
        "model.compile(loss=nll)",
    ]
    (tmp_path / "try.ipynb").write_text(code_notebook(cells))
    found = json.loads(run("check", ".", "--format", "json", cwd=tmp_path).stdout)
    assert {(d["code"], d.get("cell"), d["line"]) for d in found} == {
        ("LL201", 2, 2),
        ("LL301", 2, 2),
    }
    assert all(d["message"].startswith(("nll ", "log of y_pred")) for d in found), found


def test_a_broken_notebook_gives_ll000_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "broken.ipynb").write_text("{not json")
    done = run("check", ".", "--format", "json", cwd=tmp_path)
    [finding] = json.loads(done.stdout)
    assert finding["code"] == "LL000" and "not a valid notebook" in finding["message"]


def test_an_empty_notebook_file_is_an_empty_notebook_not_a_broken_one(tmp_path: Path) -> None:
    """A 0-byte ``.ipynb`` (a placeholder, a trashed file) has nothing to check, as an empty
    ``.py`` has; one byte of anything else is still a broken notebook."""
    (tmp_path / "empty.ipynb").write_bytes(b"")
    (tmp_path / "blank.ipynb").write_text("\n  \n")
    done = run("check", ".", "--format", "json", cwd=tmp_path)
    assert json.loads(done.stdout or "[]") == []
    (tmp_path / "blank.ipynb").write_text("x")
    done = run("check", ".", "--format", "json", "--no-cache", cwd=tmp_path)
    [finding] = json.loads(done.stdout)
    assert finding["code"] == "LL000" and finding["path"] == "blank.ipynb"


def test_add_noqa_in_a_notebook_touches_only_the_cells_with_findings(tmp_path: Path) -> None:
    notebook = tmp_path / "train.ipynb"
    original = _notebook(notebook)
    done = run("check", ".", "--add-noqa", cwd=tmp_path)
    assert "added 2 noqa comments to 1 file" in done.stderr, done.stderr
    after = json.loads(notebook.read_text())
    assert "".join(after["cells"][2]["source"]).splitlines()[1].endswith("# noqa: LL301, LL402")
    assert "".join(after["cells"][4]["source"]).splitlines()[6].endswith("# noqa: LL107")
    for old, new in zip(original["cells"], after["cells"], strict=True):
        assert new.get("outputs") == old.get("outputs") and new["metadata"] == old["metadata"]
    assert after["cells"][1]["source"] == original["cells"][1]["source"]
    assert run("check", ".", cwd=tmp_path).returncode == 0


def test_a_comment_that_looks_like_a_left_out_line_is_only_a_comment(tmp_path: Path) -> None:
    document = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": ["import keras\n", "# losslint-unparsed 0: x = 1\n", "y = 2\n"],
                "outputs": [],
                "execution_count": 1,
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "odd.ipynb").write_text(json.dumps(document))
    done = run("check", ".", "--format", "json", "--no-cache", cwd=tmp_path)
    assert json.loads(done.stdout) == [], done.stdout


def test_a_notebook_in_another_language_is_not_read_as_python(tmp_path: Path) -> None:
    """An R notebook using R's keras package: its cells are R, so no LL000 for each of them,
    and no finding; the same cells in a Python notebook are reported."""
    cells = [
        {"cell_type": "code", "metadata": {}, "outputs": [], "source": ["library(keras)\n"]},
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "source": ["model %>% compile(loss = 'mse', optimizer = 'adam')\n"],
        },
    ]
    r_kernel = {"kernelspec": {"display_name": "R", "language": "R", "name": "ir"}}
    (tmp_path / "r.ipynb").write_text(
        json.dumps({"cells": cells, "metadata": r_kernel, "nbformat": 4, "nbformat_minor": 4})
    )
    done = run("check", "r.ipynb", "--format", "json", "--no-cache", cwd=tmp_path)
    assert json.loads(done.stdout or "[]") == []
    (tmp_path / "py.ipynb").write_text(
        json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4})
    )
    done = run("check", "py.ipynb", "--format", "json", "--no-cache", cwd=tmp_path)
    assert {d["code"] for d in json.loads(done.stdout)} == {"LL000"}


def test_a_loss_a_notebook_never_uses_is_dead_code_and_not_checked(tmp_path: Path) -> None:
    # The notebook tried a focal loss, then compiled a Keras loss instead: nothing runs the
    # focal loss (its compile is a comment), so its unguarded log is no finding. The Dice
    # loss the notebook does compile is checked (a ratio over the whole batch).
    cells = [
        "import keras\nfrom keras import ops",
        "def focal_loss(y_true, y_pred):\n"
        "    return -ops.sum(y_true * (1 - y_pred) ** 2 * ops.log(y_pred), axis=-1)",
        "def dice_loss(y_true, y_pred):\n"
        "    return 1 - 2 * ops.sum(y_true * y_pred) / ops.sum(y_true + y_pred)",
        "model = keras.Sequential(\n"
        "    [keras.Input((4,)), keras.layers.Dense(3, activation='softmax')]\n"
        ")\n"
        "# model.compile(loss=focal_loss)\n"
        "model.compile(loss=dice_loss)",
    ]
    (tmp_path / "try.ipynb").write_text(code_notebook(cells))
    found = json.loads(run("check", ".", "--format", "json", cwd=tmp_path).stdout)
    assert {d.get("cell") for d in found} == {3}, found
    assert {d["code"] for d in found} == {"LL201"}, found


def test_a_loss_left_over_in_copies_of_a_notebook_is_dead_in_each(tmp_path: Path) -> None:
    # Each copy defines its own ``sisdr_loss`` and compiles with "mse" (the line that used it
    # is commented out): another copy's mention does not run it. A notebook that names the
    # loss without defining it (``%run losses.py`` before) still makes the script's loss live.
    leftover = [
        "import keras\nfrom keras import ops",
        "def sisdr_loss(y_true, y_pred):\n"
        "    return -ops.mean(ops.log(ops.sum(y_true * y_pred, axis=-1)))",
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])\n"
        "# model.compile(loss=sisdr_loss)\n"
        "model.compile(loss='mse')\n"
        "model.fit(x, y)",
    ]
    for name in ("try.ipynb", "try_2.ipynb"):
        (tmp_path / name).write_text(code_notebook(leftover))
    found = json.loads(run("check", ".", "--format", "json", cwd=tmp_path).stdout)
    assert [d for d in found if d["code"] != "LL402"] == []

    for name in ("try.ipynb", "try_2.ipynb"):
        (tmp_path / name).unlink()
    (tmp_path / "losses.py").write_text(
        "import keras\nfrom keras import ops\n\n\n"
        "def sisdr_loss(y_true, y_pred):\n"
        "    return -ops.mean(ops.log(ops.sum(y_true * y_pred, axis=-1)), axis=-1)\n\n\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])\n"
        "model.compile(loss='mse')\n"
        "model.fit(x, y)\n"
    )
    (tmp_path / "use.ipynb").write_text(
        code_notebook(["%run losses.py", "model.compile(loss=sisdr_loss)\nmodel.fit(x, y)"])
    )
    found = json.loads(run("check", ".", "--format", "json", cwd=tmp_path).stdout)
    assert {(d["path"], d["code"]) for d in found} == {("losses.py", "LL301")}, found


def test_a_notebook_that_only_defines_a_loss_is_checked(tmp_path: Path) -> None:
    # No compile, fit or load: the notebook is a loss to copy, not a script whose unnamed
    # losses are dead code.
    cells = [
        "import tensorflow as tf\n\n"
        "class WeightedMse(tf.keras.losses.Loss):\n"
        "    def call(self, y_true, y_pred):\n"
        "        return tf.reduce_mean((1 + y_true) * tf.square(y_true - y_pred), axis=0)"
    ]
    (tmp_path / "weighted.ipynb").write_text(code_notebook(cells))
    found = json.loads(run("check", ".", "--format", "json", cwd=tmp_path).stdout)
    assert [(d["code"], d.get("cell"), d["line"]) for d in found] == [("LL201", 1, 5)], found
