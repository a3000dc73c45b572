"""``--fix``, ``--unsafe-fixes`` and ``--diff``: the fixes of diagnostics, applied with libcst.

A fix is a set of edits addressed by the spans of the expressions they rewrite (see
:class:`~losslint.diagnostic.Edit`). One round analyses the tree, picks the fixes that do not
overlap, and applies each file's fixes in a single libcst transformation; rounds repeat until no
fixable diagnostic is left, so a fix that conflicted with another in one round is applied in the
next, and a second ``--fix`` has nothing to do. Every round runs on a private copy of the files,
so ``--diff`` never writes, and ``--fix`` writes each changed file once, at the end, and only if
it still parses.
"""

from __future__ import annotations

import ast
import difflib
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from losslint import pipeline, quiet
from losslint.config import Config
from losslint.diagnostic import Applicability, Diagnostic, Edit, Fix, Span, printable
from losslint.discover import Discovery
from losslint.noqa import apply_comment_edits
from losslint.notebook import NotebookError, is_notebook, to_python, write_back

MAX_ROUNDS: Final = 10
_OUTSIDE: Final = "__outside_root__"


@dataclass
class Outcome:
    fixed: int = 0  # fixes applied
    before: dict[Path, bytes] = field(default_factory=dict)  # changed files, original content
    after: dict[Path, bytes] = field(default_factory=dict)  # changed files, fixed content
    errors: list[str] = field(default_factory=list)  # internal errors of the analysis

    def diff(self) -> str:
        """A unified diff of every changed file, paths as the report shows them."""
        chunks: list[str] = []
        for path in sorted(self.after):
            shown = printable(pipeline.display_path(path))  # a newline would forge a header
            old = _shown_text(path, self.before[path]).splitlines(keepends=True)
            new = _shown_text(path, self.after[path]).splitlines(keepends=True)
            # git-style a/ b/ prefixes for relative paths; an absolute path is shown as it is.
            before, after = (
                (shown, shown) if shown.startswith("/") else (f"a/{shown}", f"b/{shown}")
            )
            chunks.extend(_terminated(difflib.unified_diff(old, new, before, after)))
        return "".join(chunks)

    def diff_entries(self) -> list[dict[str, object]]:
        """``--diff --format json``: one ``{path, diff}`` per changed file."""
        entries: list[dict[str, object]] = []
        for path in sorted(self.after):
            single = Outcome(before={path: self.before[path]}, after={path: self.after[path]})
            entries.append({"path": pipeline.display_path(path), "diff": single.diff()})
        return entries


def usable(fix: Fix | None, unsafe: bool) -> bool:
    return fix is not None and (unsafe or fix.applicability is Applicability.SAFE)


def run(
    paths: list[Path],
    config: Config,
    unsafe: bool,
    write: bool,
    jobs: int | None = None,
    force_exclude: bool = False,
) -> Outcome:
    """Fix every fixable diagnostic under ``paths``; ``write``: save the files (``--fix``)."""
    outcome = Outcome()
    discovery = Discovery(config.root, config.all_excludes, force_exclude=force_exclude)
    files = [p.resolve() for p in discovery.files(paths)]
    with tempfile.TemporaryDirectory(prefix="losslint-fix-") as scratch:
        mirror = _Mirror(Path(scratch), config.root.resolve())
        for file in files:
            mirror.add(file)
        targets = [mirror.place(p.resolve()) for p in paths]
        for target, path in zip(targets, paths, strict=True):
            if path.is_dir():
                target.mkdir(parents=True, exist_ok=True)
        mirrored = replace(config, root=mirror.root)
        for _ in range(MAX_ROUNDS):
            # The cache lives in the scratch copy: after the first round, only the groups of
            # files that a fix changed are parsed and checked again.
            result = pipeline.run(targets, mirrored, jobs=jobs, use_cache=True)
            outcome.errors = result.internal_errors
            by_file: dict[Path, list[Fix]] = {}
            for diagnostic in result.diagnostics:
                if usable(diagnostic.fix, unsafe):
                    assert diagnostic.fix is not None
                    by_file.setdefault(Path(diagnostic.path).resolve(), []).append(diagnostic.fix)
            applied = 0
            for copy, fixes in by_file.items():
                original = mirror.original(copy)
                if original is None:
                    continue
                source = copy.read_bytes()
                new, count = apply_file_fixes(copy, source, fixes)
                if count and new != source:
                    copy.write_bytes(new)
                    outcome.before.setdefault(original, original.read_bytes())
                    applied += count
            outcome.fixed += applied
            if not applied:
                break
        for original, before in list(outcome.before.items()):
            after = mirror.copy_of(original).read_bytes()
            if after == before:
                del outcome.before[original]
                continue
            outcome.after[original] = after
    if write and not outcome.errors:
        # After an internal error the analysis is incomplete: fixing what it saw could
        # half-migrate a project. Nothing is written; the report that follows says why.
        for path, content in outcome.after.items():
            try:
                path.write_bytes(content)
            except OSError as error:
                outcome.errors.append(f"cannot write {path}: {error.strerror or error}")
    return outcome


class _Mirror:
    """A scratch copy of the files to check, laid out as under the configuration root."""

    def __init__(self, scratch: Path, root: Path) -> None:
        self.scratch = scratch
        self.source_root = root
        self.root = scratch / "root"
        self.root.mkdir()
        self._originals: dict[Path, Path] = {}

    def place(self, path: Path) -> Path:
        try:
            return self.root / path.relative_to(self.source_root)
        except ValueError:
            return self.scratch / _OUTSIDE / path.relative_to(path.anchor)

    def add(self, file: Path) -> None:
        # Ancestor packages too: a module's dotted name depends on their __init__.py.
        for source in [file, *_package_inits(file)]:
            target = self.place(source)
            if target.exists() or not source.is_file():
                # A FIFO or a device named on the command line is never opened (copying
                # /dev/zero never ends); the check after the fixes reports it as LL000.
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            self._originals[target] = source

    def original(self, copy: Path) -> Path | None:
        return self._originals.get(copy)

    def copy_of(self, original: Path) -> Path:
        return self.place(original)


def _package_inits(file: Path) -> Iterable[Path]:
    parent = file.parent
    while (parent / "__init__.py").is_file() and parent.parent != parent:
        if parent / "__init__.py" != file:
            yield parent / "__init__.py"
        parent = parent.parent


def fix_content(path: Path, content: bytes, config: Config, unsafe: bool) -> Outcome:
    """The fixes of one file's content that is not on the disk (``check - --diff``)."""
    outcome = Outcome()
    shown = pipeline.display_path(path)
    source = content
    for _ in range(MAX_ROUNDS):
        result = pipeline.run([path], config, use_cache=False, contents={shown: source})
        outcome.errors = result.internal_errors
        fixes = [d.fix for d in result.diagnostics if usable(d.fix, unsafe) and d.fix is not None]
        new, count = apply_file_fixes(path, source, fixes)
        if not count or new == source:
            break
        outcome.fixed += count
        source = new
    if source != content:
        outcome.before[path] = content
        outcome.after[path] = source
    return outcome


# -- applying the fixes of one file ---------------------------------------------------------


def apply_file_fixes(path: Path, source: bytes, fixes: Sequence[Fix]) -> tuple[bytes, int]:
    """:func:`apply_fixes` for a Python file, or for the code cells of a notebook (written back
    into the cells, outputs and metadata untouched)."""
    if not is_notebook(path):
        return apply_fixes(source, fixes)
    try:
        python = to_python(source).encode("utf-8")
    except NotebookError:
        return source, 0
    new, count = apply_fixes(python, fixes)
    if not count or new == python:
        return source, 0
    return write_back(source, new.decode("utf-8")), count


def _shown_text(path: Path, data: bytes) -> str:
    """What a diff shows of a file: a notebook as its joined code cells."""
    if is_notebook(path):
        try:
            return to_python(data)
        except NotebookError:
            pass
    return _text(data)


@dataclass(frozen=True)
class _Target:
    edit: Edit
    node: cst.CSTNode
    span: Span


def apply_fixes(source: bytes, fixes: Sequence[Fix]) -> tuple[bytes, int]:
    """``source`` with as many of ``fixes`` applied as do not overlap; (new source, count).

    The source is returned unchanged when the fixed code would not parse, or when libcst
    cannot reproduce the rest of the file byte for byte (it drops a form feed at the start of
    a line): a fix must not change what it does not fix.
    """
    comments = [f for f in fixes if f.edits and all(e.kind == "comment" for e in f.edits)]
    if comments:
        source, done = apply_comment_edits(source, comments)
        rest = [f for f in fixes if f not in comments]
        if not rest:
            return source, done
        new, count = apply_fixes(source, rest)
        return new, done + count
    # libcst reads a file whose lines end in a lone CR (old Mac style), but drops its last line
    # end; such a file holds no LF, so it is fixed as LF text and turned back exactly.
    lone_cr = b"\r" in source and b"\n" not in source
    text = source.replace(b"\r", b"\n") if lone_cr else source
    try:
        fixed, count = _apply_fixes(text, fixes)
    except RecursionError:  # libcst's visitors and code generation recurse per nesting level
        return source, 0
    if not count:
        return source, 0
    return (fixed.replace(b"\n", b"\r") if lone_cr else fixed), count


def _apply_fixes(source: bytes, fixes: Sequence[Fix]) -> tuple[bytes, int]:
    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError, ValueError):
        return source, 0
    if module.bytes != source:
        return source, 0
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    by_span: dict[tuple[int, int, int, int], cst.CSTNode] = {}
    for node, where in positions.items():
        if isinstance(node, cst.BaseExpression):
            key = _key(where)
            # Several expressions can share a span; the outermost one is visited first.
            by_span.setdefault(key, node)
    bound = _bound_names(wrapper.module)
    chosen: list[_Target] = []
    imports: list[str] = []
    count = 0
    for fix in sorted(fixes, key=_outer_first):
        targets = _resolve(fix, by_span)
        if targets is None:
            continue
        needed = [e.content for e in fix.edits if e.kind == "import"]
        if any(_import_conflicts(statement, bound) for statement in needed):
            continue
        if any(_shadowed(name, bound) for t in targets for name in _introduced(t)):
            continue
        if any(_conflict(t, other) for t in targets for other in chosen):
            continue
        chosen.extend(targets)
        imports.extend(s for s in needed if s not in imports)
        count += 1
    if not count:
        return source, 0
    edits: dict[int, list[Edit]] = {}
    for target in chosen:
        edits.setdefault(id(target.node), []).append(target.edit)
    try:
        fixed = wrapper.module.visit(_Rewriter(edits))
        fixed = _add_imports(fixed, imports)
        code = fixed.bytes
        quiet.parse(code)
    except (cst.ParserSyntaxError, SyntaxError, ValueError, TypeError):
        return source, 0
    return code, count


def _key(where: CodeRange) -> tuple[int, int, int, int]:
    return (where.start.line, where.start.column + 1, where.end.line, where.end.column + 1)


def _span_key(span: Span) -> tuple[int, int, int, int]:
    return (span.line, span.column, span.end_line, span.end_column)


def _outer_first(fix: Fix) -> tuple[int, int, int]:
    spans = [e.span for e in fix.edits if e.span is not None]
    if not spans:
        return (0, 0, 0)
    first = min(spans, key=_span_key)
    extent = max((s.end_line - s.line) * 100_000 + s.end_column - s.column for s in spans)
    return (-extent, first.line, first.column)


def _resolve(
    fix: Fix, by_span: dict[tuple[int, int, int, int], cst.CSTNode]
) -> list[_Target] | None:
    targets: list[_Target] = []
    for edit in fix.edits:
        if edit.kind == "import":
            continue
        if edit.span is None:
            return None
        node = by_span.get(_span_key(edit.span))
        if node is None:
            return None  # the code changed since the analysis
        if edit.kind in ("argument", "keywords", "unwrap") and not isinstance(node, cst.Call):
            return None
        targets.append(_Target(edit, node, edit.span))
    return targets


def _inside(inner: Span, outer: Span) -> bool:
    return (inner.line, inner.column) >= (outer.line, outer.column) and (
        inner.end_line,
        inner.end_column,
    ) <= (outer.end_line, outer.end_column)


def _overlap(a: Span, b: Span) -> bool:
    return (a.line, a.column) < (b.end_line, b.end_column) and (b.line, b.column) < (
        a.end_line,
        a.end_column,
    )


def _conflict(a: _Target, b: _Target) -> bool:
    """Whether two edits of different fixes cannot be applied in the same round."""
    if a.node is b.node:
        return True
    if not _overlap(a.span, b.span):
        return False
    for outer, inner in ((a, b), (b, a)):
        if _inside(inner.span, outer.span):
            # An edit inside a rewritten call's arguments survives an argument or keyword
            # edit of that call; a replacement or an unwrap discards or moves it.
            return outer.edit.kind in ("replace", "unwrap")
    return True


class _Rewriter(cst.CSTTransformer):
    def __init__(self, edits: dict[int, list[Edit]]) -> None:
        super().__init__()
        self.edits = edits

    def on_leave(  # type: ignore[override]
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode:
        result: cst.CSTNode = updated_node
        for edit in self.edits.get(id(original_node), ()):
            result = _apply(edit, result)
        return result


def _apply(edit: Edit, node: cst.CSTNode) -> cst.CSTNode:
    if edit.kind == "replace":
        new = cst.parse_expression(edit.content)
        if isinstance(node, cst.BaseExpression) and node.lpar:
            new = new.with_changes(lpar=node.lpar, rpar=node.rpar)
        return new
    assert isinstance(node, cst.Call)
    if edit.kind == "unwrap":
        inner = node.args[0].value
        if node.lpar:
            inner = inner.with_changes(lpar=node.lpar, rpar=node.rpar)
        return inner
    if edit.kind == "argument":
        return _with_argument(node, edit.content)
    if edit.kind == "keywords":
        args = list(node.args)
        for index, name in enumerate(edit.content.split(",")):
            if name == "_" or index >= len(args):
                continue
            args[index] = args[index].with_changes(
                keyword=cst.Name(name),
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                ),
            )
        return node.with_changes(args=args)
    raise ValueError(f"unknown edit kind {edit.kind!r}")


def _with_argument(call: cst.Call, content: str) -> cst.Call:
    """``f(x)`` → ``f(x, axis=-1)`` (setting the keyword if present) or ``f(x, (-1,))``."""
    name, sep, value = content.partition("=")
    keyword = name.strip() if sep and name.strip().isidentifier() else None
    expression = cst.parse_expression(value.strip() if keyword else content)
    args = list(call.args)
    if keyword is not None:
        for index, arg in enumerate(args):
            if arg.keyword is not None and arg.keyword.value == keyword:
                args[index] = arg.with_changes(value=expression)
                return call.with_changes(args=args)
        new = cst.Arg(
            value=expression,
            keyword=cst.Name(keyword),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.SimpleWhitespace(""),
            ),
        )
        position = len(args)
    else:
        new = cst.Arg(value=expression)
        position = sum(1 for a in args if a.keyword is None and not a.star)
    if args and position == len(args):
        last = args[-1]
        if isinstance(last.comma, cst.Comma):
            # ``f(a, b,)``: keep the trailing comma after the new argument.
            new = new.with_changes(comma=last.comma)
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    elif position < len(args):
        new = new.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    args.insert(position, new)
    return call.with_changes(args=args)


# -- imports ----------------------------------------------------------------------------------


def _bound_names(module: cst.Module) -> dict[str, set[str]]:
    """Every name the module binds, with how: "import:<dotted>" or "other"."""
    found: dict[str, set[str]] = {}

    class Collector(cst.CSTVisitor):
        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            if isinstance(node.names, cst.ImportStar) or node.module is None:
                return False
            base = get_full_name_for_node(node.module) or ""
            for alias in node.names:
                name = get_full_name_for_node(alias.name) or ""
                bound = alias.asname.name if alias.asname else alias.name
                if isinstance(bound, cst.Name):
                    found.setdefault(bound.value, set()).add(f"import:{base}.{name}")
            return False  # the aliases are recorded here, not as AsName bindings

        def visit_Import(self, node: cst.Import) -> bool:
            for alias in node.names:
                name = get_full_name_for_node(alias.name) or ""
                if alias.asname and isinstance(alias.asname.name, cst.Name):
                    found.setdefault(alias.asname.name.value, set()).add(f"import:{name}")
                else:
                    found.setdefault(name.split(".")[0], set()).add("import:" + name.split(".")[0])
            return False

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            for name in _target_names(node.target):
                found.setdefault(name, set()).add("other")

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            for name in _target_names(node.target):
                found.setdefault(name, set()).add("other")

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            for name in _target_names(node.target):
                found.setdefault(name, set()).add("other")

        def visit_For(self, node: cst.For) -> None:
            for name in _target_names(node.target):
                found.setdefault(name, set()).add("other")

        def visit_Param(self, node: cst.Param) -> None:
            found.setdefault(node.name.value, set()).add("other")

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            found.setdefault(node.name.value, set()).add("other")

        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            found.setdefault(node.name.value, set()).add("other")

        def visit_AsName(self, node: cst.AsName) -> None:
            for name in _target_names(node.name):
                found.setdefault(name, set()).add("other")

        # Bindings that are easy to forget: ``(ops := ...)``, ``for ops in`` inside a
        # comprehension, ``case ops:`` / ``case [*ops]`` / ``case {**ops}`` captures.
        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            for name in _target_names(node.target):
                found.setdefault(name, set()).add("other")

        def visit_CompFor(self, node: cst.CompFor) -> None:
            for name in _target_names(node.target):
                found.setdefault(name, set()).add("other")

        def visit_MatchAs(self, node: cst.MatchAs) -> None:
            if node.name is not None:
                found.setdefault(node.name.value, set()).add("other")

        def visit_MatchStar(self, node: cst.MatchStar) -> None:
            if node.name is not None:
                found.setdefault(node.name.value, set()).add("other")

        def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
            if node.rest is not None:
                found.setdefault(node.rest.value, set()).add("other")

        def visit_Global(self, node: cst.Global) -> None:
            for item in node.names:
                found.setdefault(item.name.value, set()).add("other")

        def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
            for item in node.names:
                found.setdefault(item.name.value, set()).add("other")

    module.visit(Collector())
    return found


def _introduced(target: _Target) -> set[str]:
    """The names a replacement refers to that the code it replaces did not (``ops`` in
    ``K.mean(x)`` → ``ops.mean(x)``)."""
    if target.edit.kind not in ("replace", "argument"):
        return set()
    content = target.edit.content
    if target.edit.kind == "argument":
        content = content.partition("=")[2] if "=" in content else content
    try:
        new = cst.parse_expression(content.strip())
    except (cst.ParserSyntaxError, ValueError):
        return set()
    return _loaded_names(new) - _loaded_names(target.node)


def _loaded_names(node: cst.CSTNode) -> set[str]:
    """Names read in ``node``: not attribute names after a dot, not keyword names."""
    found: set[str] = set()

    class Reader(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.add(name.value)

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

        def visit_Arg(self, arg: cst.Arg) -> bool:
            arg.value.visit(self)
            return False

    node.visit(Reader())
    return found


def _shadowed(name: str, bound: dict[str, set[str]]) -> bool:
    """Whether ``name`` is bound, somewhere in the module, to something other than one import:
    bindings are not tracked per scope, so any other binding may be the one in force where the
    replacement lands (a walrus, a ``case`` capture, a parameter), and the fix is left out."""
    ways = bound.get(name, set())
    return "other" in ways or len(ways) > 1


def _target_names(node: cst.BaseExpression) -> list[str]:
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, (cst.Tuple, cst.List)):
        return [n for element in node.elements for n in _target_names(element.value)]
    if isinstance(node, cst.StarredElement):
        return _target_names(node.value)
    return []


def _imported(statement: str) -> tuple[str, str]:
    """``from keras import ops`` → ("ops", "keras.ops")."""
    parsed = quiet.parse(statement).body[0]
    if isinstance(parsed, ast.ImportFrom):
        alias = parsed.names[0]
        return alias.asname or alias.name, f"{parsed.module}.{alias.name}"
    assert isinstance(parsed, ast.Import)
    alias = parsed.names[0]
    return alias.asname or alias.name.split(".")[0], alias.name


def _import_conflicts(statement: str, bound: dict[str, set[str]]) -> bool:
    name, full = _imported(statement)
    ways = bound.get(name, set())
    return bool(ways) and f"import:{full}" not in ways


def _add_imports(module: cst.Module, statements: list[str]) -> cst.Module:
    missing = [s for s in statements if not _has_import(module, s)]
    if not missing:
        return module
    body = list(module.body)
    position = _import_position(body)
    new = [cst.parse_statement(s + "\n") for s in missing]
    return module.with_changes(body=[*body[:position], *new, *body[position:]])


def _has_import(module: cst.Module, statement: str) -> bool:
    name, full = _imported(statement)
    for line in module.body:
        if not isinstance(line, cst.SimpleStatementLine):
            continue
        for small in line.body:
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                base = get_full_name_for_node(small.module) if small.module else ""
                for alias in small.names:
                    bound = alias.asname.name if alias.asname else alias.name
                    imported = get_full_name_for_node(alias.name)
                    if (
                        isinstance(bound, cst.Name)
                        and bound.value == name
                        and f"{base}.{imported}" == full
                    ):
                        return True
    return False


def _import_position(body: Sequence[cst.BaseStatement]) -> int:
    """After the last top-level import before the first definition, else after the docstring."""
    position = 0
    for index, statement in enumerate(body):
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            break
        if isinstance(statement, cst.SimpleStatementLine):
            small = statement.body
            if any(isinstance(s, (cst.Import, cst.ImportFrom)) for s in small):
                position = index + 1
            elif index == 0 and isinstance(small[0], cst.Expr):
                value = small[0].value
                if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
                    position = max(position, 1)
    return position


# -- helpers ----------------------------------------------------------------------------------


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _terminated(lines: Iterable[str]) -> Iterable[str]:
    for line in lines:
        yield line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"


def fixable(diagnostics: Sequence[Diagnostic], unsafe: bool) -> list[Diagnostic]:
    """The diagnostics ``--fix`` (with ``--unsafe-fixes`` when ``unsafe``) would fix."""
    return [d for d in diagnostics if usable(d.fix, unsafe)]
