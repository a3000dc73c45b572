"""Issue 9: inputs that are valid Python (or at least a real file) never crash or stall a run.

Every reproducer runs beside a file with a known finding, which must still be reported; each
gives findings or an LL000, with no traceback, within 2 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from losslint import pipeline
from losslint.cli import cli
from losslint.config import Config
from losslint.diagnostic import Diagnostic
from tests.mutants import internal_errors

GOOD = (
    "from keras import ops\n\n\n"
    "def log_loss(y_true, y_pred):\n"
    "    return -ops.mean(y_true * ops.log(y_pred), axis=-1)\n"
)
GOOD_FINDING = ("good.py", 5, "LL301")
LIMIT_S = 2.0


def _run(root: Path, *paths: Path) -> list[Diagnostic]:
    started = time.perf_counter()
    result = pipeline.run(list(paths or [root]), Config(root=root), jobs=1, use_cache=False)
    elapsed = time.perf_counter() - started
    errors = internal_errors(result)  # listed, or LL000 diagnostics under per-file isolation
    assert not errors, errors
    assert elapsed < LIMIT_S, f"{elapsed:.1f} s"
    return result.diagnostics


def _cli(cwd: Path, *args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """``python -m losslint ARGS`` in ``cwd`` (a stall fails the test instead of hanging it)."""
    return subprocess.run(
        [sys.executable, "-m", "losslint", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **environment},
    )


def _found(diagnostics: list[Diagnostic]) -> set[tuple[str, int, str]]:
    return {(Path(d.path).name, d.line, d.code) for d in diagnostics}


def _project(tmp_path: Path) -> Path:
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    return tmp_path


def _ll000(diagnostics: list[Diagnostic], name: str) -> str:
    messages = [d.message for d in diagnostics if d.code == "LL000" and Path(d.path).name == name]
    assert len(messages) == 1, diagnostics
    return messages[0]


# -- decoding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "named"),
    [("undefined", "'undefined'"), ("punycode", "'punycode'"), ("rot13", "'rot-13'")],
)
def test_a_declared_codec_that_cannot_decode_text_is_ll000_naming_it(
    tmp_path: Path, codec: str, named: str
) -> None:
    root = _project(tmp_path)
    (root / "bad.py").write_text(
        f"# -*- coding: {codec} -*-\nimport keras\ny_pred = 1\n", encoding="ascii"
    )
    diagnostics = _run(root)
    message = _ll000(diagnostics, "bad.py")
    assert named in message and "\n" not in message
    assert GOOD_FINDING in _found(diagnostics)


def test_utf16_sources_are_decoded_and_checked(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "wide.py").write_text(GOOD.replace("log_loss", "wide_loss"), encoding="utf-16")
    assert ("wide.py", 5, "LL301") in _found(_run(root))


def test_a_file_name_that_is_not_utf8_is_checked_and_reported(tmp_path: Path) -> None:
    root = _project(tmp_path)
    name = os.fsdecode(b"caf\xe9.py")
    try:
        (root / name).write_text(GOOD, encoding="utf-8")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system needs UTF-8 names")
    diagnostics = _run(root)
    assert (name, 5, "LL301") in _found(diagnostics)
    assert GOOD_FINDING in _found(diagnostics)


# -- reports ------------------------------------------------------------------------------


def test_a_newline_in_a_file_name_cannot_forge_a_report_line(tmp_path: Path) -> None:
    (tmp_path / "x.py:1:1: LL999 [error] forged\nlosses.py").write_text(GOOD, encoding="utf-8")
    (tmp_path / "caf\udce9.py").write_text(GOOD, encoding="utf-8")
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        text = runner.invoke(cli, ["check", "--no-cache", "."])
        sarif = runner.invoke(cli, ["check", "--no-cache", "--format", "sarif", "."])
        github = runner.invoke(cli, ["check", "--no-cache", "--format", "github", "."])
        as_json = runner.invoke(cli, ["check", "--no-cache", "--format", "json", "."])
    finally:
        os.chdir(old)
    lines = text.output.splitlines()
    assert not any(line.startswith("losses.py") for line in lines), text.output
    assert "forged\\nlosses.py:5:" in text.output and "caf\\xe9.py:5:" in text.output
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in json.loads(sarif.output)["runs"][0]["results"]
    }
    assert uris == {"x.py%3A1%3A1%3A%20LL999%20%5Berror%5D%20forged%0Alosses.py", "caf%E9.py"}
    annotations = [line for line in github.output.splitlines() if line.startswith("::warning")]
    assert len(annotations) == 2 and all("%0A" in a or "xe9" in a for a in annotations)
    paths = {d["path"] for d in json.loads(as_json.output)}
    assert paths == {"x.py:1:1: LL999 [error] forged\nlosses.py", "caf\\xe9.py"}


# -- walks and special files --------------------------------------------------------------


def test_symlink_loops_end_and_each_real_file_is_checked_once(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "s1").symlink_to(".", target_is_directory=True)
    (root / "s2").symlink_to(".", target_is_directory=True)
    (root / "pkg").mkdir()
    (root / "pkg" / "self").symlink_to(".", target_is_directory=True)
    (root / "pkg" / "inner.py").write_text(GOOD, encoding="utf-8")
    diagnostics = _run(root)
    assert sorted(_found(diagnostics)) == [GOOD_FINDING, ("inner.py", 5, "LL301")]
    assert len(diagnostics) == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_on_the_command_line_is_ll000_and_never_opened(tmp_path: Path) -> None:
    root = _project(tmp_path)
    fifo = root / "pipe.py"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes
    diagnostics = _run(root, fifo, root / "good.py")
    assert "FIFO" in _ll000(diagnostics, "pipe.py")
    assert GOOD_FINDING in _found(diagnostics)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_dev_zero_is_ll000_not_read_forever(tmp_path: Path) -> None:
    root = _project(tmp_path)
    diagnostics = _run(root, Path("/dev/zero"), root / "good.py")
    assert "device" in _ll000(diagnostics, "zero")
    assert GOOD_FINDING in _found(diagnostics)


# -- bounded folding ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "constant",
    ["9 ** 9 ** 9", "10**400", "2 ** 10 ** 8 * 3", "(10**300) * (10**300) * 7", "-(9**9**9)"],
)
def test_constants_beyond_a_float_are_unknown_not_computed(tmp_path: Path, constant: str) -> None:
    root = _project(tmp_path)
    (root / "eps.py").write_text(
        f"import keras\n\nEPS = {constant}\n\n\n"
        "def eps_loss(y_true, y_pred):\n"
        f"    scale = {constant}\n"
        "    return keras.ops.log(y_pred + EPS) * scale\n",
        encoding="utf-8",
    )
    diagnostics = _run(root)
    assert GOOD_FINDING in _found(diagnostics)
    assert not [d for d in diagnostics if d.code == "LL000"]


@pytest.mark.parametrize(
    ("literal", "shown"),
    [("9" * 400, "<an integer of 1329 bits>"), ("0x" + "f" * 5000, "<an integer of 20000 bits>")],
    ids=["400-digits", "hex-over-str-limit"],
)
def test_a_huge_integer_loss_weight_is_reported_without_converting_it(
    tmp_path: Path, literal: str, shown: str
) -> None:
    # str() of an int over 4,300 digits raises; a hex literal that long is valid Python.
    (tmp_path / "train.py").write_text(
        "import keras\n\n"
        "model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])\n"
        f"model.compile(optimizer='adam', loss='mse', loss_weights={literal})\n",
        encoding="utf-8",
    )
    messages = [d.message for d in _run(tmp_path) if d.code == "LL105"]
    assert messages and "write a float" in messages[0]
    assert messages[0].startswith(f"loss_weights={shown} is an int")


# -- positions ----------------------------------------------------------------------------

POSITIONED = (
    "from keras import ops\n"
    "\x0c\n"
    "NOTE = 'a\u2028b'  # a line separator inside a string is not a line end\n"
    "\n"
    "def log_loss(y_true, y_pred):\n"
    "    return -ops.mean(y_true * ops.log(y_pred), axis=-1)\n"
    "\n"
    "def quiet_loss(y_true, y_pred):\n"
    "    return -ops.mean(y_true * ops.log(y_pred), axis=-1)  # noqa: LL301\n"
)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_lines_and_columns_are_pythons_whatever_the_line_ends(tmp_path: Path, newline: str) -> None:
    (tmp_path / "ff.py").write_bytes(POSITIONED.replace("\n", newline).encode("utf-8"))
    diagnostics = _run(tmp_path)
    assert [(d.code, d.line, d.span.column) for d in diagnostics] == [("LL301", 6, 31)]


@pytest.mark.parametrize("newline", ["\n", "\r"])
def test_a_lone_cr_file_keeps_ll402_and_its_fix(tmp_path: Path, newline: str) -> None:
    source = (
        "from keras import backend as K\n\n\n"
        "def mean_loss(y_true, y_pred):\n"
        "    return K.mean(K.square(y_true - y_pred), axis=-1)\n"
    ).replace("\n", newline)
    target = tmp_path / "legacy.py"
    target.write_bytes(source.encode("utf-8"))
    assert {d.code for d in _run(tmp_path)} == {"LL402"}
    runner = CliRunner()
    done = runner.invoke(cli, ["check", "--no-cache", "--fix", str(target)])
    fixed = target.read_bytes().decode("utf-8")
    assert "ops.mean(ops.square(y_true - y_pred), axis=-1)" in fixed, done.output
    assert fixed.endswith(newline) and ("\n" not in fixed if newline == "\r" else True)
    assert not [d for d in _run(tmp_path) if d.code == "LL402"]


# -- fixes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "binding",
    [
        "    if (ops := y_pred * 2) is not None:\n        return K.mean(ops, axis=-1)\n",
        "    match y_pred:\n        case ops:\n            return K.mean(ops, axis=-1)\n",
        "    return [K.mean(y_pred, axis=-1) for ops in range(2)][0]\n",
        "    for ops in [y_pred]:\n        return K.mean(ops, axis=-1)\n",
    ],
    ids=["walrus", "case-capture", "comprehension", "for-target"],
)
def test_the_ops_rewrite_is_left_out_where_ops_is_bound_otherwise(
    tmp_path: Path, binding: str
) -> None:
    source = f"from keras import backend as K\n\n\ndef mean_loss(y_true, y_pred):\n{binding}"
    target = tmp_path / "shadow.py"
    target.write_text(source, encoding="utf-8")
    done = CliRunner().invoke(cli, ["check", "--no-cache", "--fix", str(target)])
    assert target.read_text(encoding="utf-8") == source, done.output
    assert "LL402" in done.output  # still reported, just not rewritten


def test_fix_after_an_internal_error_writes_nothing_and_still_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from losslint.index import module as index_module

    real = index_module.index_module

    def failing(tree: object, source: str, path: str, module: str) -> object:
        if path.endswith("broken.py"):
            raise RuntimeError("a bug in losslint")
        return real(tree, source, path, module)  # type: ignore[arg-type]

    monkeypatch.setattr(index_module, "index_module", failing)
    legacy = "from keras import backend as K\n\n\ndef m_loss(y_true, y_pred):\n"
    legacy += "    return K.mean(y_pred, axis=-1)\n"
    (tmp_path / "legacy.py").write_text(legacy, encoding="utf-8")
    (tmp_path / "broken.py").write_text(legacy, encoding="utf-8")
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        done = CliRunner().invoke(cli, ["check", "--no-cache", "--jobs", "1", "--fix", "."])
    finally:
        os.chdir(old)
    assert done.exit_code != 0
    assert "Found " in done.output  # a report is printed
    # Either nothing is written (the error is global) or the fix is written and its finding
    # gone (the error is isolated to broken.py); never a fix and then silence.
    unchanged = (tmp_path / "legacy.py").read_text(encoding="utf-8") == legacy
    assert unchanged == ("legacy.py:5:12: LL402" in done.output), done.output


# -- compile sites ------------------------------------------------------------------------


def test_an_interactive_console_compile_is_not_a_keras_compile(tmp_path: Path) -> None:
    (tmp_path / "repl.py").write_text(
        "import code\n\nconsole = code.InteractiveConsole()\n"
        'console.compile("x = 1", "<stdin>", "single")\n',
        encoding="utf-8",
    )
    assert _run(tmp_path) == []


# -- python -m losslint -------------------------------------------------------------------


def test_python_m_losslint_does_not_import_from_the_current_directory(tmp_path: Path) -> None:
    root = _project(tmp_path)
    for name in ("click", "pathspec"):
        (root / f"{name}.py").write_text(
            "import pathlib\npathlib.Path('EXECUTED').write_text('yes')\nraise SystemExit(9)\n",
            encoding="utf-8",
        )
    done = subprocess.run(
        [sys.executable, "-m", "losslint", "check", "--no-cache", "good.py"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert not (root / "EXECUTED").exists()
    assert done.returncode == 1, done.stderr
    assert "good.py:5:" in done.stdout


def test_a_newline_in_a_file_name_cannot_forge_a_diff_header(tmp_path: Path) -> None:
    legacy = "from keras import backend as K\n\n\ndef m_loss(y_true, y_pred):\n"
    legacy += "    return K.mean(y_pred, axis=-1)\n"
    (tmp_path / "a.py\n+++ evil.py").write_text(legacy, encoding="utf-8")
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        done = CliRunner().invoke(cli, ["check", "--no-cache", "--diff", "."])
    finally:
        os.chdir(old)
    headers = [line for line in done.output.splitlines() if line.startswith(("---", "+++"))]
    assert headers == ["--- a/a.py\\n+++ evil.py", "+++ b/a.py\\n+++ evil.py"], done.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fix_skips_special_files_named_on_the_command_line(tmp_path: Path) -> None:
    root = _project(tmp_path)
    os.mkfifo(root / "pipe.py")
    args = ["check", "--no-cache", "--fix", str(root / "pipe.py"), str(root / "good.py")]
    if Path("/dev/zero").exists():
        args.append("/dev/zero")
    started = time.perf_counter()
    done = CliRunner().invoke(cli, args)
    assert time.perf_counter() - started < 10 * LIMIT_S  # two fix rounds and a check
    assert "pipe.py:1:1: LL000" in done.output and "good.py:5:" in done.output, done.output


@pytest.mark.parametrize(
    ("value", "expected"), [("2048", 2048), ("0", 0), ("-1", None), ("1.5", None), ("'4G'", None)]
)
def test_the_memory_limit_is_configurable_in_mib(
    tmp_path: Path, value: str, expected: int | None
) -> None:
    from losslint.config import ConfigError, RuntimeSettings, load_config

    assert RuntimeSettings().memory_limit == 4096  # the documented default
    path = tmp_path / "pyproject.toml"
    path.write_text(f"[tool.losslint.runtime]\nmemory-limit = {value}\n", encoding="utf-8")
    if expected is None:
        with pytest.raises(ConfigError, match=r"'memory-limit' in \[tool\.losslint\.runtime\]"):
            load_config(path)
    else:
        assert load_config(path).runtime.memory_limit == expected


def test_a_fix_on_code_nested_deeper_than_libcst_recurses_leaves_it_unchanged() -> None:
    from losslint.diagnostic import Applicability, Edit, Fix, Span
    from losslint.fix import apply_fixes

    calls = "y_pred"
    for _ in range(180):  # CPython compiles it; libcst's code generation recurses per level
        calls = f"K.abs({calls})"
    source = f"from keras import backend as K\n\n\ndef f(y_true, y_pred):\n    return {calls}\n"
    fix = Fix(Applicability.SAFE, "Replace", (Edit("replace", "ops.abs", Span(5, 12, 5, 17)),))
    assert apply_fixes(source.encode("utf-8"), [fix]) == (source.encode("utf-8"), 0)


def test_a_file_name_that_is_not_utf8_is_cached_and_replayed(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.py")
    try:
        (tmp_path / name).write_text(GOOD, encoding="utf-8")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system needs UTF-8 names")
    runs = [pipeline.run([tmp_path], Config(root=tmp_path), jobs=1) for _ in range(2)]
    assert [r.internal_errors for r in runs] == [[], []]
    assert [_found(r.diagnostics) for r in runs] == [{(name, 5, "LL301")}] * 2
    assert runs[1].cached == 1  # the second run is answered from the cache


def test_the_compilers_warnings_about_user_code_are_neither_shown_nor_errors(
    tmp_path: Path,
) -> None:
    """``"\\d"`` in a regex (a SyntaxWarning from Python 3.12, shown by default): the file is
    checked like any other, whatever PYTHONWARNINGS says, and nothing is printed about it."""
    (tmp_path / "loss.py").write_text(
        "import re\nfrom keras import ops\n\nPATTERN = re.compile('\\d+\\.\\d*')\n\n"
        "def log_loss(y_true, y_pred):\n    return -ops.mean(y_true * ops.log(y_pred), axis=-1)\n"
    )
    for setting in ("error", "default"):
        done = _cli(
            tmp_path, "check", ".", "--no-cache", "--format", "json", PYTHONWARNINGS=setting
        )
        assert [d["code"] for d in json.loads(done.stdout)] == ["LL301"], done.stdout
        assert "Warning" not in done.stderr, done.stderr


def test_an_integer_literal_of_thousands_of_digits_is_cached_and_read_back(
    tmp_path: Path,
) -> None:
    """JSON writes ints in decimal, which Python refuses past 4300 digits (a hex literal can be
    longer, and a fuzzer writes one as a layer's units): the cache holds such a fact in hex,
    and the warm run reads it back."""
    root = _project(tmp_path)
    (root / "huge.py").write_text(
        "import keras\n\n"
        "model = keras.Sequential([keras.layers.Dense(2)])\n"
        'model.compile(optimizer="adam", loss=make_loss(0x' + "f" * 5000 + "))\n",
        encoding="utf-8",
    )
    runs = []
    for _ in range(2):
        result = pipeline.run([root], Config(root=root), jobs=1, use_cache=True)
        assert not internal_errors(result)
        runs.append(_found(result.diagnostics))
    assert runs[0] == runs[1] and GOOD_FINDING in runs[0]


def test_methods_that_pass_their_parameter_to_a_namesake_end_quickly(tmp_path: Path) -> None:
    """Two ``decode(self, predictions)`` methods calling the imported ``decode(...,
    predictions[0])`` (xcenternet): reading the dict item each caller hands a parameter asked
    the same question round the cycle, 5**24 times, and the run never ended. It ends at once
    now; the subprocess's timeout fails the test instead of hanging the suite."""
    (tmp_path / "model.py").write_text(
        "import tensorflow as tf\n"
        "from decoder import decode\n\n\n"
        "class CenterNet(tf.keras.Model):\n"
        "    def decode(self, predictions, relative, k=100):\n"
        "        return decode('c', predictions[0], predictions[1], reg=predictions[2], k=k)\n\n\n"
        "class TTFNet(CenterNet):\n"
        "    def decode(self, predictions, relative, k=100):\n"
        "        return decode('t', predictions[0], predictions[1], k=k)\n",
        encoding="utf-8",
    )
    done = _cli(tmp_path, "check", "--no-cache", "--jobs", "1", "model.py")
    assert done.returncode == 0, done.stderr
    assert "No problems found in 1 file" in done.stdout


def test_a_file_whose_indexing_never_ends_is_reported_and_the_others_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the per-file limit, indexing one file stops: an internal-error LL000 names the
    file, and the other files' findings are all there (a loop of the indexer's, like the
    one xcenternet hit, must not hang a pre-commit hook)."""
    from losslint.index import module as indexer

    project = _project(tmp_path)
    (project / "stuck.py").write_text(GOOD.replace("log_loss", "stuck_loss"), encoding="utf-8")
    real = indexer.index_module

    def index_module(tree, source, path, name):  # type: ignore[no-untyped-def]
        if path.endswith("stuck.py"):
            time.sleep(30)
        return real(tree, source, path, name)

    monkeypatch.setattr(indexer, "index_module", index_module)
    monkeypatch.setattr(pipeline, "INDEX_LIMIT_S", 0.5)
    started = time.perf_counter()
    result = pipeline.run([project], Config(root=project), jobs=1, use_cache=False)
    assert time.perf_counter() - started < 10
    assert GOOD_FINDING in _found(result.diagnostics)
    message = _ll000(result.diagnostics, "stuck.py")
    assert "indexing did not finish in 0.5 s" in message
    assert len(result.internal_errors) == 1
