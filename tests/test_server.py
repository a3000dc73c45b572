"""``losslint server`` driven over stdio as an editor drives it: the same diagnostics as
``losslint check`` for an open file, updates on change, and the safe fixes as code actions."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.test_cli import BUGGY, COMMAND, run

pytest.importorskip("pygls", reason="pygls is not installed (the lsp extra)")

SOURCE = (
    BUGGY
    + "\n\ndef loss(y_true, y_pred):\n    return keras.backend.mean(y_pred, axis=-1)\n"
    + "\n\nfrom model import build\n\nclassifier = build()\n"
    + "classifier.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))\n"
)


class Client:
    def __init__(self, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [str(COMMAND), "server"],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.next_id = 0

    def send(self, method: str, params: Any, request: bool = False) -> int | None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        ident = None
        if request:
            self.next_id += 1
            ident = message["id"] = self.next_id
        body = json.dumps(message).encode()
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        stdin.flush()
        return ident

    def receive(self) -> dict[str, Any]:
        stdout = self.process.stdout
        assert stdout is not None
        length = _content_length(stdout)
        message: dict[str, Any] = json.loads(stdout.read(length))
        return message

    def wait_for(self, method: str | None = None, ident: int | None = None) -> dict[str, Any]:
        for _ in range(100):
            message = self.receive()
            if method is not None and message.get("method") == method:
                return message
            if ident is not None and message.get("id") == ident and "method" not in message:
                return message
        raise AssertionError(f"no {method or ident} from the server")

    def close(self) -> None:
        ident = self.send("shutdown", None, request=True)
        self.wait_for(ident=ident)
        self.send("exit", None)
        self.process.wait(timeout=30)


def _content_length(stream: IO[bytes]) -> int:
    length = 0
    while True:
        line = stream.readline()
        if not line:
            raise AssertionError("the server closed its output")
        if line in (b"\r\n", b"\n"):
            return length
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)


@contextlib.contextmanager
def _server(cwd: Path) -> Iterator[Client]:
    """A server over stdio in ``cwd``, shut down (or killed) at the end."""
    client = Client(cwd)
    try:
        yield client
    finally:
        try:
            client.close()
        finally:
            if client.process.poll() is None:
                client.process.kill()


def _opened(client: Client, root: Path, uri: str, text: str) -> dict[str, Any]:
    """Initialize the server over ``root``, open ``uri`` with ``text``, and return the
    diagnostics it publishes for it."""
    ident = client.send(
        "initialize",
        {"processId": None, "rootUri": root.as_uri(), "capabilities": {}},
        request=True,
    )
    init = client.wait_for(ident=ident)
    assert init["result"]["capabilities"]["codeActionProvider"]
    client.send("initialized", {})
    client.send(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
    )
    published: dict[str, Any] = client.wait_for("textDocument/publishDiagnostics")["params"]
    assert published["uri"] == uri
    return published


def test_server_publishes_the_check_diagnostics_and_offers_the_safe_fix(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.losslint]\n")
    # A model built in another, unopened file of the project: its facts reach the open one.
    (tmp_path / "model.py").write_text(
        "import keras\n\n\ndef build():\n    return keras.Sequential(\n"
        '        [keras.Input((4,)), keras.layers.Dense(3, activation="softmax")]\n    )\n'
    )
    file = tmp_path / "train.py"
    file.write_text(SOURCE)
    expected = [
        (d["code"], d["line"] - 1, d["column"] - 1, d["end_line"] - 1, d["end_column"] - 1)
        for d in json.loads(run("check", ".", "--format", "json", cwd=tmp_path).stdout)
        if d["path"] == "train.py"
    ]
    assert {e[0] for e in expected} == {"LL101", "LL107", "LL402"}
    uri = file.as_uri()
    with _server(tmp_path) as client:
        published = _opened(client, tmp_path, uri, SOURCE)
        got = [
            (
                d["code"],
                d["range"]["start"]["line"],
                d["range"]["start"]["character"],
                d["range"]["end"]["line"],
                d["range"]["end"]["character"],
            )
            for d in published["diagnostics"]
        ]
        assert sorted(got) == sorted(expected)
        assert all(d["source"] == "losslint" for d in published["diagnostics"])

        ll402 = next(d for d in published["diagnostics"] if d["code"] == "LL402")
        ident = client.send(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": ll402["range"],
                "context": {"diagnostics": [ll402]},
            },
            request=True,
        )
        [action] = client.wait_for(ident=ident)["result"]
        assert action["kind"] == "quickfix" and "LL402" in action["title"]
        [edit] = action["edit"]["changes"][uri]
        assert "return ops.mean(y_pred, axis=-1)" in edit["newText"]
        assert "from keras import ops" in edit["newText"]

        # The editor's text, not the file on disk: fixing the buffer clears the finding.
        client.send(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": 2},
                "contentChanges": [{"text": edit["newText"]}],
            },
        )
        changed = client.wait_for("textDocument/publishDiagnostics")["params"]
        assert sorted(d["code"] for d in changed["diagnostics"]) == ["LL101", "LL107"]
        assert file.read_text() == SOURCE


def test_a_burst_of_changes_is_checked_once_and_only_the_latest_text_is_published(
    tmp_path: Path,
) -> None:
    """Typing sends a change per key: checked one by one, each publish would come seconds late
    on a large project. The burst is checked once, when it pauses, and what is published is
    the latest text's diagnostics, under its version."""
    (tmp_path / "pyproject.toml").write_text("[tool.losslint]\n")
    file = tmp_path / "train.py"
    file.write_text(SOURCE)
    uri = file.as_uri()
    fixed = SOURCE.replace("keras.backend.mean(y_pred", "keras.ops.mean(y_pred")
    assert fixed != SOURCE
    client = Client(tmp_path)
    try:
        opened = _opened(client, tmp_path, uri, SOURCE)
        assert "LL402" in {d["code"] for d in opened["diagnostics"]}
        texts = [SOURCE + f"\n# {n}\n" for n in range(2, 6)] + [fixed]
        for version, text in enumerate(texts, start=2):
            client.send(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"text": text}],
                },
            )
        published = client.wait_for("textDocument/publishDiagnostics")["params"]
        assert published["version"] == len(texts) + 1
        assert "LL402" not in {d["code"] for d in published["diagnostics"]}
        # Nothing else comes: no stale check of an earlier version is published after it.
        time.sleep(1.5)
        ident = client.send("shutdown", None, request=True)
        later = []
        while True:
            message = client.receive()
            if message.get("id") == ident and "method" not in message:
                break
            later.append(message.get("method"))
        assert "textDocument/publishDiagnostics" not in later
        client.send("exit", None)
        client.process.wait(timeout=30)
    finally:
        if client.process.poll() is None:
            client.process.kill()


def test_without_a_configuration_the_git_work_tree_gives_the_facts(tmp_path: Path) -> None:
    """No ``[tool.losslint]`` anywhere (a project that has not adopted losslint yet): the open
    file is checked with the facts of its git work tree, as ``losslint check`` checks a file it
    is given, so a model built in another directory is known."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    (tmp_path / "models" / "net.py").write_text(
        "import keras\n\n\ndef build():\n    return keras.Sequential(\n"
        '        [keras.Input((4,)), keras.layers.Dense(3, activation="softmax")]\n    )\n'
    )
    (tmp_path / "scripts").mkdir()
    file = tmp_path / "scripts" / "train.py"
    text = (
        "import keras\n\nfrom models.net import build\n\nclassifier = build()\n"
        "classifier.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))\n"
    )
    file.write_text(text)
    checked = run("check", "scripts/train.py", "--format", "json", cwd=tmp_path)
    expected = [(d["code"], d["line"] - 1) for d in json.loads(checked.stdout)]
    assert expected == [("LL107", 5)]
    with _server(tmp_path) as client:
        published = _opened(client, tmp_path, file.as_uri(), text)
        got = [(d["code"], d["range"]["start"]["line"]) for d in published["diagnostics"]]
        assert got == expected
