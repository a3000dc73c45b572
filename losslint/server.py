"""``losslint server``: a Language Server (over stdio) for editors, built on pygls.

Each open Python document is checked by the same pipeline as ``losslint check`` (the editor's
text, not the file on disk, with the configuration nearest to the file and the same cache), and
its diagnostics are published on open, change and save. The safe fixes are offered as quick-fix
code actions, each rewriting the document as ``--fix`` would.

An edit that changes the code of a loss runs every rule of the project again: a second or two
on a project of a thousand files. So the checks run on a thread of their own, one at a time,
while the server goes on answering the editor; the changes typed in a burst are checked once,
after a pause (:data:`CHANGE_DELAY`); and a check whose document changed while it ran is not
published, since a newer one follows.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from losslint import __version__, pipeline
from losslint.config import ConfigError, find_config, load_config
from losslint.diagnostic import Applicability, Diagnostic, Severity

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}


def check_text(path: Path, text: str) -> list[Diagnostic]:
    """The diagnostics of ``text`` standing for the file at ``path``, as ``losslint check``
    reports them when that file is named: with facts from its whole project (the directory of
    its configuration, else of its git work tree; a loose file alone), so a model built in an
    unopened ``models/net.py`` is known where the open ``scripts/train.py`` compiles it.
    Unchanged files come from the cache."""
    try:
        source = find_config(path.parent) or find_config(Path.cwd())
        config = load_config(source)
    except ConfigError:
        return []  # the editor shows the file; `losslint check` reports the configuration
    shown = pipeline.display_path(path)
    result = pipeline.run(
        [path],
        config,
        jobs=1,
        contents={shown: text.encode("utf-8")},
        project=pipeline.project_root(config, [path]),
    )
    return [d for d in result.diagnostics if d.path == shown]


def _range(d: Diagnostic) -> types.Range:
    return types.Range(
        start=types.Position(line=d.span.line - 1, character=d.span.column - 1),
        end=types.Position(line=d.span.end_line - 1, character=d.span.end_column - 1),
    )


def to_lsp(d: Diagnostic, document: TextDocument) -> types.Diagnostic:
    """Columns count code points; the editor counts in the encoding it negotiated (UTF-16 by
    default), so non-ASCII lines are converted by the document's codec."""
    return types.Diagnostic(
        range=document.position_codec.range_to_client_units(document.lines, _range(d)),
        message=d.message,
        severity=_SEVERITY[d.severity],
        code=d.code,
        source="losslint",
        data={"name": d.name, "fixable": d.fix is not None},
    )


# Seconds without a change before a changed document is checked: the keys typed in a burst
# are checked once, when the typing pauses. Opening and saving are checked at once.
CHANGE_DELAY: Final = 0.3


@dataclass
class _Document:
    """What the checker knows of one open document."""

    timer: asyncio.TimerHandle | None = None  # a check to come, after a pause in typing
    task: asyncio.Task[None] | None = None  # a check of it under way
    again: bool = False  # and it changed since: check it once more when that one ends
    # The last check: the text it read and its diagnostics (code actions reuse them).
    checked: tuple[str, list[Diagnostic]] | None = None


class Checker:
    """Checks the open documents on one thread, one check at a time: the pipeline is not made
    to run twice at once in a process, and one check at a time uses the machine's cores as
    ``losslint check`` does. The server's own thread, the event loop, stays free to read the
    editor's messages, so a burst of changes becomes one check of the latest text."""

    def __init__(self, server: LanguageServer, delay: float = CHANGE_DELAY) -> None:
        self.server = server
        self.delay = delay
        self.documents: dict[str, _Document] = {}
        self.thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="losslint")

    def changed(self, uri: str, delay: float | None = None) -> None:
        """Check ``uri`` after ``delay`` seconds (by default :attr:`delay`) without a change."""
        state = self.documents.setdefault(uri, _Document())
        if state.timer is not None:
            state.timer.cancel()
        wait = self.delay if delay is None else delay
        state.timer = asyncio.get_running_loop().call_later(wait, self._start, uri)

    def closed(self, uri: str) -> None:
        state = self.documents.pop(uri, None)
        if state is not None and state.timer is not None:
            state.timer.cancel()

    async def diagnostics(self, uri: str, text: str) -> list[Diagnostic]:
        """The diagnostics of ``text``, the document's text now: those of the last check if it
        read this text, else those of a check made now (a code action asked at once)."""
        state = self.documents.get(uri)
        if state is not None and state.checked is not None and state.checked[0] == text:
            return state.checked[1]
        path = to_fs_path(uri)
        if path is None:
            return []
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.thread, check_text, Path(path), text)

    def _start(self, uri: str) -> None:
        state = self.documents.get(uri)
        if state is None:
            return
        state.timer = None
        if state.task is not None:
            state.again = True  # checked when the running one ends
            return
        state.task = asyncio.ensure_future(self._check(uri, state))

    async def _check(self, uri: str, state: _Document) -> None:
        try:
            while True:
                state.again = False
                path = to_fs_path(uri)
                if path is None or not path.endswith(".py") or self.documents.get(uri) is not state:
                    return
                document = self.server.workspace.get_text_document(uri)
                version, text = document.version, document.source
                loop = asyncio.get_running_loop()
                try:
                    found = await loop.run_in_executor(self.thread, check_text, Path(path), text)
                except Exception as error:  # a bug in losslint: said in the editor's log
                    self.server.window_log_message(
                        types.LogMessageParams(
                            type=types.MessageType.Error,
                            message=f"losslint could not check {path}: {error!r}",
                        )
                    )
                    return
                if self.documents.get(uri) is not state:
                    return  # closed meanwhile
                if state.again:
                    continue  # changed, and its pause is over: the newer text is checked now
                if document.version != version:
                    return  # changed, and checked when its pause is over
                state.checked = (text, found)
                self.server.text_document_publish_diagnostics(
                    types.PublishDiagnosticsParams(
                        uri=uri,
                        version=version,
                        diagnostics=[to_lsp(d, document) for d in found],
                    )
                )
                return
        finally:
            state.task = None
            if state.again and self.documents.get(uri) is state and state.timer is None:
                self._start(uri)


def build() -> LanguageServer:
    server = LanguageServer("losslint", __version__)
    checker = Checker(server)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        checker.changed(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        checker.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: LanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        checker.changed(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: LanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        checker.closed(params.text_document.uri)
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
        )

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    async def code_action(
        ls: LanguageServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        source = ls.workspace.get_text_document(uri).source
        return _code_actions(ls, params, await checker.diagnostics(uri, source))

    return server


def _code_actions(
    ls: LanguageServer, params: types.CodeActionParams, found: list[Diagnostic]
) -> list[types.CodeAction]:
    from losslint.fix import apply_file_fixes  # libcst: loaded only when a fix is asked for

    uri = params.text_document.uri
    path = to_fs_path(uri)
    if path is None:
        return []
    document = ls.workspace.get_text_document(uri)
    source = document.source
    wanted = params.range
    actions: list[types.CodeAction] = []
    for d in found:
        if d.fix is None or d.fix.applicability is not Applicability.SAFE:
            continue
        where = _range(d)
        if where.end.line < wanted.start.line or where.start.line > wanted.end.line:
            continue
        fixed, count = apply_file_fixes(Path(path), source.encode("utf-8"), [d.fix])
        if not count:
            continue
        lines = source.splitlines(keepends=True)
        whole = types.Range(
            start=types.Position(line=0, character=0),
            end=types.Position(line=len(lines), character=0),
        )
        edit = types.TextEdit(range=whole, new_text=fixed.decode("utf-8"))
        changes: dict[str, Any] = {uri: [edit]}
        actions.append(
            types.CodeAction(
                title=f"{d.fix.message} ({d.code})",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[to_lsp(d, document)],
                edit=types.WorkspaceEdit(changes=changes),
                is_preferred=True,
            )
        )
    return actions


def serve() -> None:
    build().start_io()
