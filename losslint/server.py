"""``losslint server``: a Language Server (over stdio) for editors, built on pygls.

Each open Python document is checked by the same pipeline as ``losslint check`` (the editor's
text, not the file on disk, with the configuration nearest to the file and the same cache), and
its diagnostics are published on open, change and save. The safe fixes are offered as quick-fix
code actions, each rewriting the document as ``--fix`` would.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

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
    reports them for that file, with facts from its project (the directory of its
    configuration, else its own directory): a model built in ``model.py`` is known where the
    open ``train.py`` compiles it. Unchanged files come from the cache."""
    try:
        source = find_config(path.parent) or find_config(Path.cwd())
        config = load_config(source)
    except ConfigError:
        return []  # the editor shows the file; `losslint check` reports the configuration
    project = source.parent if source is not None else path.parent
    shown = pipeline.display_path(path)
    result = pipeline.run(
        [path], config, jobs=1, contents={shown: text.encode("utf-8")}, project=project
    )
    return [d for d in result.diagnostics if d.path == shown]


@functools.lru_cache(maxsize=64)
def _project_root(directory: Path) -> Path | None:
    """The nearest directory above that marks a project (a git work tree, a pyproject.toml or
    setup.py); None for a loose file, which is then checked alone (not the whole home
    directory it sits in)."""
    for candidate in [directory, *directory.parents]:
        if any((candidate / marker).exists() for marker in (".git", "pyproject.toml", "setup.py")):
            return candidate
    return None


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


def build() -> LanguageServer:
    server = LanguageServer("losslint", __version__)

    def publish(ls: LanguageServer, uri: str) -> None:
        path = to_fs_path(uri)
        if path is None or not path.endswith(".py"):
            return
        document = ls.workspace.get_text_document(uri)
        diagnostics = [to_lsp(d, document) for d in check_text(Path(path), document.source)]
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri, version=document.version, diagnostics=diagnostics
            )
        )

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        publish(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        publish(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: LanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        publish(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
        )

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    def code_action(
        ls: LanguageServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        return _code_actions(ls, params)

    return server


def _code_actions(ls: LanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    from losslint.fix import apply_file_fixes  # libcst: loaded only when a fix is asked for

    uri = params.text_document.uri
    path = to_fs_path(uri)
    if path is None:
        return []
    document = ls.workspace.get_text_document(uri)
    source = document.source
    wanted = params.range
    actions: list[types.CodeAction] = []
    for d in check_text(Path(path), source):
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
