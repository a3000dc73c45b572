"""End to end: the installed ``losslint`` command, read as a CI gate reads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, ROOT

COMMAND = Path(sys.executable).with_name("losslint")
FIELDS = {
    "code",
    "name",
    "severity",
    "message",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "fix",
    "source",
}
BUGGY = """\
import keras

model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy", loss_weights=[1.0, 2.0])
"""
CLEAN = """\
import keras

model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
"""


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMMAND), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_demo_json_has_every_field_and_exit_1() -> None:
    done = run("check", "fixtures/demo", "--format", "json")
    assert done.returncode == 1, done.stderr
    diagnostics = json.loads(done.stdout)
    assert isinstance(diagnostics, list) and diagnostics
    for d in diagnostics:
        assert set(d) == FIELDS
        assert d["path"].startswith("fixtures/demo/")
        assert d["source"] == "static"
        assert d["line"] >= 1 and d["column"] >= 1
        assert (d["end_line"], d["end_column"]) >= (d["line"], d["column"])
    assert {d["code"] for d in diagnostics} >= {"LL102", "LL104", "LL106", "LL107", "LL108"}


def test_python_dash_m_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "losslint", "check", "fixtures/demo", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert json.loads(done.stdout) == json.loads(
        run("check", "fixtures/demo", "--format", "json").stdout
    )


def test_the_command_ends_with_all_its_output_and_its_exit_code(tmp_path: Path) -> None:
    """``losslint`` ends without the interpreter's clean-up (cli._exit): what it wrote must
    still arrive whole through a pipe, here far more than a pipe holds, and the exit code
    must be the one the command chose."""
    calls = "\n".join(f"    a{i} = keras.backend.convert_to_numpy(x)" for i in range(800))
    (tmp_path / "many.py").write_text(f"import keras\n\n\ndef f(x):\n{calls}\n")
    command = [sys.executable, "-m", "losslint", "check", ".", "--format", "json", "--no-cache"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert len(done.stdout) > 256 * 1024
    assert done.returncode == 1
    assert [d["line"] for d in json.loads(done.stdout)] == list(range(5, 805))
    done = subprocess.run(
        [*command, "--exit-zero"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and len(json.loads(done.stdout)) == 800
    done = subprocess.run(
        [sys.executable, "-m", "losslint", "check", "missing.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "no such file or directory: missing.py" in done.stderr


def test_clean_tree_exits_0(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(CLEAN)
    done = run("check", ".", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert "No problems found in 1 file." in done.stdout


def test_text_format_line(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(BUGGY)
    done = run("check", "train.py", cwd=tmp_path)
    assert done.returncode == 1
    first = done.stdout.splitlines()[0]
    assert first.startswith("train.py:4:")
    assert " LL101 [error] loss_weights has 2 weights" in first
    assert done.stdout.splitlines()[-1].startswith("Found 1 problem (1 error) in 1 of 1 file")


def test_bad_option_exits_2_with_one_line_reason() -> None:
    done = run("check", "--format", "xml", "fixtures/demo")
    assert done.returncode == 2
    assert "Invalid value for '--format'" in done.stderr


def test_unknown_rule_code_exits_2() -> None:
    done = run("check", "--select", "LL1O1", "fixtures/demo")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "losslint: error: '--select' in the command line: 'LL1O1' is not a rule code or prefix "
        "(like LL3, LL30, LL301) (did you mean 'LL101'?)"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--select", "LL999"], "unknown rule selector 'LL999'"),
        (["--select", "LL9"], "unknown rule selector 'LL9'"),
        (["--select", "LL1,LL3", "--select", "LL9"], "unknown rule selector 'LL9'"),
        (["--ignore", "LL3011"], "'LL3011' is not a rule code"),
        (["--extend-select", "RT9"], "unknown rule selector 'RT9'"),
    ],
)
def test_a_selector_typo_exits_2_instead_of_passing(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    """A CI gate with a typo in its selector must fail, not run no rule and pass forever."""
    (tmp_path / "train.py").write_text(BUGGY)
    done = run("check", ".", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert expected in done.stderr and "did you mean" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    "table",
    [
        "select = ['LL999']",
        "ignore = ['LL9']",
        "extend-select = ['LL1', 'LL99']",
        "[tool.losslint.per-file-ignores]\n'new.py' = ['LL1O1']",
    ],
)
def test_a_selector_typo_in_the_configuration_exits_2(tmp_path: Path, table: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.losslint]\n{table}\n")
    (tmp_path / "new.py").write_text(BUGGY)
    done = run("check", ".", cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert "in [tool.losslint]" in done.stderr and "did you mean" in done.stderr


def test_repeated_selectors_add_up(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(BUGGY + "bad = keras.backend.mean\n")
    both = run(
        "check", ".", "--select", "LL101", "--select", "LL402", "--format", "json", cwd=tmp_path
    )
    assert {d["code"] for d in json.loads(both.stdout)} == {"LL101", "LL402"}
    ignored = run("check", ".", "--ignore", "LL101", "--ignore", "LL402", cwd=tmp_path)
    assert ignored.returncode == 0, ignored.stdout


def test_exit_zero_reports_but_passes(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(BUGGY)
    done = run("check", ".", "--exit-zero", cwd=tmp_path)
    assert done.returncode == 0 and "LL101" in done.stdout


def test_an_empty_selection_warns(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = run("check", "empty", cwd=tmp_path)
    assert done.returncode == 0
    assert "warning: no Python files or notebooks found in empty" in done.stderr


def test_full_text_shows_the_source_line_fix_mark_and_fixable_count(tmp_path: Path) -> None:
    source = (
        BUGGY + "\n\ndef loss(y_true, y_pred):\n    return keras.backend.mean(y_pred, axis=-1)\n"
    )
    (tmp_path / "train.py").write_text(source)
    full = run("check", ".", cwd=tmp_path).stdout.splitlines()
    header = next(i for i, line in enumerate(full) if " LL402 " in line)
    assert full[header].startswith("train.py:8:12: LL402 [*] [error] ")
    assert full[header + 1] == "8 |     return keras.backend.mean(y_pred, axis=-1)"
    assert full[header + 2] == "  |            ^^^^^^^^^^^^^^^^^^"
    ll101 = next(line for line in full if " LL101 " in line)
    assert "[*]" not in ll101  # no fix for it
    assert full[-1] == "[*] 1 fixable with `--fix`."
    assert full[-2].startswith("Found 2 problems")
    concise = run("check", ".", "--output-format", "concise", cwd=tmp_path).stdout.splitlines()
    assert len(concise) == 4 and concise[0].startswith("train.py:4:") and "|" not in concise[0]
    assert concise == run("check", ".", "--format", "concise", cwd=tmp_path).stdout.splitlines()
    quiet = run("check", ".", "-q", cwd=tmp_path).stdout.splitlines()
    assert not any(line.startswith(("Found", "[*] 1 fixable")) for line in quiet)


def test_colour_honours_no_color_and_the_flag(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(BUGGY)
    assert "\x1b[" not in run("check", ".", cwd=tmp_path).stdout  # not a terminal
    forced = run("check", ".", "--color", "always", cwd=tmp_path).stdout
    assert "\x1b[31m[error]\x1b[0m" in forced
    command = [str(COMMAND), "check", "."]
    for env, coloured in (({}, True), ({"NO_COLOR": "1"}, False)):
        script = (
            "import os, pty, sys\n"
            "pid, fd = pty.fork()\n"
            "if pid == 0:\n"
            f"    os.execvp({command[0]!r}, {command!r})\n"
            "out = b''\n"
            "while True:\n"
            "    try:\n"
            "        chunk = os.read(fd, 4096)\n"
            "    except OSError:\n"
            "        break\n"
            "    if not chunk:\n"
            "        break\n"
            "    out += chunk\n"
            "os.waitpid(pid, 0)\n"
            "sys.stdout.write(out.decode())\n"
        )
        environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | env
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert ("\x1b[31m" in done.stdout) is coloured, done.stdout


def test_statistics_and_diff_honour_json(tmp_path: Path) -> None:
    source = (
        BUGGY + "\n\ndef loss(y_true, y_pred):\n    return keras.backend.mean(y_pred, axis=-1)\n"
    )
    (tmp_path / "train.py").write_text(source)
    stats = run("check", ".", "--statistics", "--format", "json", cwd=tmp_path)
    assert stats.returncode == 1
    rows = json.loads(stats.stdout)
    assert {(r["code"], r["count"], r["fixable"]) for r in rows} == {
        ("LL101", 1, 0),
        ("LL402", 1, 1),
    }
    diff = run("check", ".", "--diff", "--format", "json", cwd=tmp_path)
    assert diff.returncode == 1
    [entry] = json.loads(diff.stdout)
    assert entry["path"] == "train.py"
    assert "+    return ops.mean(y_pred, axis=-1)" in entry["diff"]
    assert (tmp_path / "train.py").read_text() == source


def test_stdin_with_a_file_name(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.losslint]\nignore = ['LL402']\n")
    source = BUGGY + "bad = keras.backend.mean\n"
    done = subprocess.run(
        [str(COMMAND), "check", "-", "--stdin-filename", "src/train.py", "--format", "json"],
        cwd=tmp_path,
        input=source,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    found = json.loads(done.stdout)
    assert [(d["path"], d["code"], d["line"]) for d in found] == [("src/train.py", "LL101", 4)]
    assert not (tmp_path / "src").exists()
    clean = subprocess.run(
        [str(COMMAND), "check", "-"], cwd=tmp_path, input=CLEAN, capture_output=True, text=True
    )
    assert clean.returncode == 0 and "No problems found in 1 file." in clean.stdout


def test_stdin_diff_prints_the_fixes_of_the_buffer(tmp_path: Path) -> None:
    """An editor's "fix on save" pipes the buffer and reads the fixes back as a diff."""
    source = "import keras\n\n\ndef loss(y_true, y_pred):\n    return keras.backend.mean(y_pred)\n"
    diff = subprocess.run(
        [str(COMMAND), "check", "-", "--diff", "--select", "LL402"],
        cwd=tmp_path,
        input=source,
        capture_output=True,
        text=True,
    )
    assert diff.returncode == 1, diff.stderr
    assert "+    return ops.mean(y_pred)" in diff.stdout and "+from keras import ops" in diff.stdout


def test_configuration_is_found_from_the_checked_path(tmp_path: Path) -> None:
    """Checking a sub-project from outside reads the sub-project's configuration."""
    project = tmp_path / "sub" / "project"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text("[tool.losslint]\nignore = ['LL101']\n")
    (project / "train.py").write_text(BUGGY)
    assert run("check", "sub/project", cwd=tmp_path).returncode == 0
    assert run("check", "sub/project/train.py", cwd=tmp_path).returncode == 0
    assert run("check", ".", cwd=project).returncode == 0
    # Files of two projects named at once (as pre-commit does): each under its own settings.
    other = tmp_path / "other"
    other.mkdir()
    (other / "pyproject.toml").write_text("[tool.losslint]\nselect = ['LL3']\n")
    (other / "train.py").write_text(BUGGY)
    (tmp_path / "strict.py").write_text(BUGGY)
    done = run(
        "check",
        "sub/project/train.py",
        "other/train.py",
        "strict.py",
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert [(d["path"], d["code"]) for d in json.loads(done.stdout)] == [("strict.py", "LL101")]
    assert done.returncode == 1


def test_each_project_of_a_monorepo_keeps_its_configuration(tmp_path: Path) -> None:
    """`losslint check .` at the top: files of a nested project follow its nearest config."""
    (tmp_path / "pyproject.toml").write_text("[tool.losslint]\nextend-exclude = ['old/']\n")
    (tmp_path / "train.py").write_text(BUGGY)
    # libs/quiet ignores LL101; old/ has its own configuration but the top one excludes it.
    for where, table in (("libs/quiet", "ignore = ['LL101']"), ("old", "select = ['LL1']")):
        (tmp_path / where).mkdir(parents=True)
        (tmp_path / where / "losslint.toml").write_text(f"{table}\n")
        (tmp_path / where / "train.py").write_text(BUGGY)
    done = run("check", ".", "--format", "json", cwd=tmp_path)
    assert [(d["path"], d["code"]) for d in json.loads(done.stdout)] == [("train.py", "LL101")]
    assert done.returncode == 1
    inner = run("check", "libs", "--format", "json", cwd=tmp_path)
    assert json.loads(inner.stdout) == [] and inner.returncode == 0


def test_force_exclude_applies_configured_excludes_to_named_files(tmp_path: Path) -> None:
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "old.py").write_text(BUGGY)
    (tmp_path / "pyproject.toml").write_text("[tool.losslint]\nextend-exclude = ['legacy/']\n")
    assert run("check", "legacy/old.py", cwd=tmp_path).returncode == 1  # named: checked
    done = run("check", "legacy/old.py", "--force-exclude", cwd=tmp_path)
    assert done.returncode == 0, done.stdout


def test_missing_path_exits_2(tmp_path: Path) -> None:
    done = run("check", "nope/", cwd=tmp_path)
    assert done.returncode == 2
    assert "no such file or directory: nope" in done.stderr


@pytest.mark.parametrize(
    ("table", "reason"),
    [
        ("[tool.losslint]\nselct = ['LL1']\n", "unknown key 'selct' in [tool.losslint]"),
        ("[tool.losslint]\nfail-on = 'sometimes'\n", "'fail-on' in [tool.losslint]"),
        ("[tool.losslint]\ntarget-keras = 4\n", "'target-keras' in [tool.losslint]"),
        ("[tool.losslint]\nselect = 'LL1'\n", "'select' in [tool.losslint]"),
        ("[tool.losslint\n", "is not valid TOML"),
    ],
)
def test_broken_configuration_exits_2(tmp_path: Path, table: str, reason: str) -> None:
    (tmp_path / "pyproject.toml").write_text(table)
    (tmp_path / "train.py").write_text(BUGGY)
    done = run("check", ".", cwd=tmp_path)
    assert done.returncode == 2
    assert reason in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_configuration_select_ignore_and_fail_on(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(BUGGY)
    (tmp_path / "pyproject.toml").write_text("[tool.losslint]\nignore = ['LL101']\n")
    assert run("check", ".", cwd=tmp_path).returncode == 0
    (tmp_path / "pyproject.toml").write_text("[tool.losslint]\nselect = ['LL3']\n")
    assert run("check", ".", cwd=tmp_path).returncode == 0
    assert run("check", ".", "--select", "LL1", cwd=tmp_path).returncode == 1
    (tmp_path / "pyproject.toml").write_text("[tool.losslint]\nfail-on = 'never'\n")
    done = run("check", ".", cwd=tmp_path)
    assert done.returncode == 0 and "LL101" in done.stdout
    assert run("check", ".", "--fail-on", "error", cwd=tmp_path).returncode == 1


def test_per_file_ignores_and_exclude(tmp_path: Path) -> None:
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "old.py").write_text(BUGGY)
    (tmp_path / "new.py").write_text(BUGGY)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.losslint]\nextend-exclude = ['legacy/']\n"
        "[tool.losslint.per-file-ignores]\n'new.py' = ['LL1']\n"
    )
    done = run("check", ".", "--format", "json", cwd=tmp_path)
    assert json.loads(done.stdout) == []
    assert done.returncode == 0


def test_jupyter_checkpoints_are_not_checked_twice(tmp_path: Path) -> None:
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "train-checkpoint.py").write_text(BUGGY)
    (tmp_path / "train.py").write_text(BUGGY)
    found = json.loads(run("check", ".", "--format", "json", cwd=tmp_path).stdout)
    assert found and {d["path"] for d in found} == {"train.py"}


def test_a_package_named_build_is_checked_but_build_outputs_are_not(tmp_path: Path) -> None:
    (tmp_path / "model" / "build").mkdir(parents=True)
    (tmp_path / "model" / "__init__.py").write_text("")
    (tmp_path / "model" / "build" / "__init__.py").write_text("")
    (tmp_path / "model" / "build" / "train.py").write_text(BUGGY)
    (tmp_path / "build" / "lib" / "model").mkdir(parents=True)
    (tmp_path / "build" / "lib" / "model" / "__init__.py").write_text("")
    (tmp_path / "build" / "lib" / "model" / "train.py").write_text(BUGGY)
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "train.py").write_text(BUGGY)
    found = json.loads(run("check", ".", "--format", "json", cwd=tmp_path).stdout)
    assert found and {d["path"] for d in found} == {"model/build/train.py"}
    (tmp_path / "pyproject.toml").write_text("[tool.losslint]\nextend-exclude = ['model/']\n")
    assert json.loads(run("check", ".", "--format", "json", cwd=tmp_path).stdout) == []


def test_warning_only_respects_fail_on(tmp_path: Path) -> None:
    source = BUGGY.replace(
        'loss="categorical_crossentropy", loss_weights=[1.0, 2.0]',
        'loss="categorical_crossentropy", metrics=[keras.metrics.Accuracy()]',
    )
    (tmp_path / "train.py").write_text(source)
    done = run("check", ".", "--format", "json", cwd=tmp_path)
    assert [d["code"] for d in json.loads(done.stdout)] == ["LL109"]
    assert done.returncode == 1
    assert run("check", ".", "--fail-on", "error", cwd=tmp_path).returncode == 0


def test_noqa_and_skip_file(tmp_path: Path) -> None:
    lines = BUGGY.splitlines()
    lines[3] += "  # noqa: LL101"
    (tmp_path / "a.py").write_text("\n".join(lines) + "\n")
    lines[3] = lines[3].replace("# noqa: LL101", "# noqa: LL107")
    (tmp_path / "b.py").write_text("\n".join(lines) + "\n")
    (tmp_path / "c.py").write_text("# losslint: skip-file\n" + BUGGY)
    lines[3] = lines[3].replace("# noqa: LL107", "# noqa")
    (tmp_path / "d.py").write_text("\n".join(lines) + "\n")
    found = json.loads(run("check", ".", "--format", "json", cwd=tmp_path).stdout)
    # b.py's noqa names another rule: LL101 is still reported, and the stale LL107 too (LL001).
    assert [(d["path"], d["code"]) for d in found] == [("b.py", "LL101"), ("b.py", "LL001")]


def test_bad_files_give_ll000_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import keras\ndef loss(:\n")
    (tmp_path / "latin.py").write_bytes(b"import keras\nname = '\xe9t\xe9'\n")
    (tmp_path / "train.py").write_text(BUGGY)
    done = run("check", ".", "--format", "json", cwd=tmp_path)
    found = {(d["path"], d["code"], d["line"]) for d in json.loads(done.stdout)}
    assert found == {("broken.py", "LL000", 2), ("latin.py", "LL000", 2), ("train.py", "LL101", 4)}
    assert done.returncode == 1
    messages = [d["message"] for d in json.loads(done.stdout) if d["code"] == "LL000"]
    assert any("does not parse" in m for m in messages)
    assert any("not valid utf-8 (byte 0xe9)" in m for m in messages)


def test_declared_encoding_is_honoured(tmp_path: Path) -> None:
    source = "# -*- coding: latin-1 -*-\n" + BUGGY.replace("import keras", "import keras  # café")
    (tmp_path / "train.py").write_bytes(source.encode("latin-1"))
    found = json.loads(run("check", ".", "--format", "json", cwd=tmp_path).stdout)
    assert [d["code"] for d in found] == ["LL101"]


def test_output_file(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(BUGGY)
    done = run("check", ".", "--format", "json", "--output-file", "out.json", cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert json.loads((tmp_path / "out.json").read_text())[0]["code"] == "LL101"


def test_rules_and_explain() -> None:
    listing = run("rules")
    assert listing.returncode == 0
    assert "LL107  from-logits-mismatch" in listing.stdout
    page = run("explain", "ll107")
    assert page.returncode == 0
    assert page.stdout.startswith("# LL107 from-logits-mismatch")
    unknown = run("explain", "LL999")
    assert unknown.returncode == 2 and "unknown rule 'LL999'" in unknown.stderr


def test_fixtures_relative_to_other_cwd(tmp_path: Path) -> None:
    """Paths in the report are relative to the current directory, or absolute outside it."""
    done = run("check", str(FIXTURES / "demo"), "--format", "json", cwd=tmp_path)
    paths = {d["path"] for d in json.loads(done.stdout)}
    assert all(Path(p).is_absolute() for p in paths)


def test_help_lists_the_commands_and_options() -> None:
    top = run("--help").stdout
    for word in ("check", "server", "rules", "explain", ".ipynb", "--add-noqa", "stdin"):
        assert word in top
    options = run("check", "--help").stdout
    for option in (
        "--output-format",
        "--color",
        "--exit-zero",
        "--force-exclude",
        "--stdin-filename",
        "--add-noqa",
        "--statistics",
        "--diff",
    ):
        assert option in options
