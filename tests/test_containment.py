"""Runtime containment: user code imported by ``--runtime`` cannot take losslint down with it.

A module that forks, signals its parent (or its parent's parent), or takes all the memory
costs at most its own losses; SIGTERM to losslint ends the child and still prints the report.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from losslint.config import Config
from tests.helpers import FIXTURES, ROOT, expected_markers, reported
from tests.test_runtime import RUNTIME, SETTINGS, run_runtime

pytestmark = RUNTIME

RUNTIME_FIXTURES = FIXTURES / "runtime"
COMMAND = Path(sys.executable).with_name("losslint")
CONFIG = str(RUNTIME_FIXTURES / "losslint.toml")


def test_modules_that_fork_or_signal_their_parents_lose_nothing() -> None:
    files = [RUNTIME_FIXTURES / "kills_parent.py", RUNTIME_FIXTURES / "fork_at_import.py"]
    result = run_runtime(*files)  # in this process: a SIGTERM that got through would end pytest
    expected = set().union(*(expected_markers(f) for f in files))
    assert reported(result.diagnostics) == expected
    assert result.runtime is not None
    assert result.runtime.checked == result.runtime.total == 4
    assert result.runtime.stopped_by == 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _group_alive(group: int) -> bool:
    """Whether a process of ``group`` is left after a few seconds (a killed process stays a
    zombie until init reaps it, which takes a moment once its parent is gone)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")
def test_sigterm_to_losslint_ends_the_child_and_prints_the_report() -> None:
    files = ["fixtures/runtime/static_too.py", "fixtures/runtime/hang.py"]
    process = subprocess.Popen(
        [str(COMMAND), "check", *files, "--runtime", "--no-cache", "--config", CONFIG],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # the progress lines: the child runs hang.py's module code
        seen.append(line)
        if "importing fixtures/runtime/hang.py" in line:
            break
    else:
        pytest.fail("".join(seen))
    groups = _children(process.pid)
    assert groups, "no runtime child found"
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert time.monotonic() - began < 7  # under the 8 s timeout of hang.py: stopped at once
    assert process.returncode == 128 + signal.SIGTERM, err
    # The static findings of both files (hang.py runs first: nothing of the runtime's yet).
    assert "static_too.py:8:31: LL301" in out and "hang.py:9:31: LL301" in out
    assert "stopped by SIGTERM" in err, err
    for group in groups:
        assert not _group_alive(group), f"process group {group} outlived losslint"


def test_memory_limit_stops_a_module_that_takes_too_much(tmp_path: Path) -> None:
    (tmp_path / "greedy.py").write_text(
        "from keras import ops\n\n"
        "CACHE = bytearray(3 * 1024 ** 3)  # a dataset loaded at import\n\n\n"
        "def greedy_loss(y_true, y_pred):\n"
        "    return ops.mean(ops.square(y_true - y_pred), axis=-1)\n",
        encoding="utf-8",
    )
    settings = SETTINGS.__class__(**{**SETTINGS.__dict__, "memory_limit": 1536})
    started = time.monotonic()
    from losslint import pipeline

    result = pipeline.run(
        [tmp_path], Config(root=tmp_path, runtime=settings), jobs=1, use_cache=False, runtime=True
    )
    assert time.monotonic() - started < 120
    messages = [d.message for d in result.diagnostics if d.code == "RT101"]
    assert len(messages) == 1 and "MemoryError" in messages[0], messages
