"""``# noqa`` comments: which codes they name, LL001 for the ones that do nothing, and
``--add-noqa`` to suppress today's findings when adopting losslint on existing code.

Only codes in losslint's own namespaces (``LL``, ``RT``) are judged: ``# noqa: E501`` belongs to
another linter, and a bare ``# noqa`` may too, so both are left alone.
"""

from __future__ import annotations

import difflib
import io
import re
import tokenize
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from losslint.diagnostic import Applicability, Diagnostic, Edit, Fix, Severity, Span

# A code is a whole word: "LL1O1" (a letter O) is one unknown code, not the prefix "LL1" that
# would silently suppress every LL1xx rule.
NOQA: Final = re.compile(
    r"#\s*noqa(?::[ \t]*(?P<codes>[A-Z][A-Z0-9]*(?:[ \t]*,[ \t]*[A-Z][A-Z0-9]*)*))?\b",
    re.IGNORECASE,
)
_OURS: Final = re.compile(r"^(LL|RT)[0-9A-Z]*$")
CODE: Final = "LL001"
NAME: Final = "unused-noqa"


@dataclass(frozen=True, slots=True)
class NoqaRule:
    """LL001's catalogue entry. It has no check over facts: it judges the other rules' findings
    (see :func:`unused`), so the pipeline runs it after them."""

    code: str
    name: str
    severity: Severity
    summary: str
    fixable: bool = True


RULE: Final = NoqaRule(
    CODE,
    NAME,
    Severity.WARNING,
    "a `# noqa` code that suppresses nothing, is unknown, or is repeated (fix: remove it)",
)


def suppressed(line: str, code: str) -> bool:
    """Whether a ``# noqa`` on ``line`` suppresses ``code`` (codes are prefixes)."""
    if "noqa" not in line.lower():
        return False
    for match in NOQA.finditer(line):
        codes = match.group("codes")
        if codes is None:
            return True
        if any(code.startswith(c.strip().upper()) for c in codes.split(",")):
            return True
    return False


def names_ours(line: str) -> bool:
    """Whether ``line`` may hold a ``# noqa`` naming an ``LL`` or ``RT`` code: only files with
    such a line need their comments judged (a file full of ``# noqa: E501`` is not tokenized)."""
    if "noqa" not in line.lower():
        return False
    for match in NOQA.finditer(line):
        codes = match.group("codes")
        if codes is not None and any(_OURS.match(c.strip().upper()) for c in codes.split(",")):
            return True
    return False


@dataclass(frozen=True, slots=True)
class _Comment:
    line: int
    column: int  # 0-based character column of the comment's '#'
    text: str


def _comments(source: str) -> list[_Comment]:
    """Real comments only: ``"# noqa"`` inside a string is not one."""
    found: list[_Comment] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT and "noqa" in token.string.lower():
                found.append(_Comment(token.start[0], token.start[1], token.string))
    except (tokenize.TokenError, SyntaxError):
        pass  # the file parsed, so this is only an unterminated construct at the end
    return found


def judge(
    found: Sequence[tuple[Diagnostic, str]],
    sources: Mapping[str, list[str]],
    selected: Callable[[str], bool],
) -> list[tuple[Diagnostic, str]]:
    """LL001 over a group of files: ``found`` is every finding of their rules (with the text of
    its line), ``sources`` the files' lines, ``selected`` whether a code's rule ran."""
    from losslint.pages import known_codes
    from losslint.rules.registry import all_rules

    known = known_codes()
    static = {rule.code for rule in all_rules()} | {"LL000"}
    judged = {code: code in static and selected(code) for code in known}
    by_path: dict[str, list[Diagnostic]] = {}
    for d, _ in found:
        by_path.setdefault(d.path, []).append(d)
    result: list[tuple[Diagnostic, str]] = []
    for shown, lines in sources.items():
        for d in unused(shown, "\n".join(lines), by_path.get(shown, []), known, judged):
            result.append((d, lines[d.line - 1] if 0 < d.line <= len(lines) else ""))
    return result


def unused(
    path: str,
    source: str,
    findings: Iterable[Diagnostic],
    known: frozenset[str],
    judged: Mapping[str, bool],
) -> list[Diagnostic]:
    """LL001 for each ``# noqa`` comment of ``source`` naming codes that do nothing.

    ``findings``: every finding of this file, before suppression; ``known``: every rule code;
    ``judged``: code → whether its rule ran in this analysis (a code whose rule was not
    selected, or that only ``--runtime`` reports, cannot be called unused here).
    """
    if "noqa" not in source.lower():
        return []
    by_line: dict[int, list[str]] = {}
    for d in findings:
        by_line.setdefault(d.line, []).append(d.code)
    result: list[Diagnostic] = []
    for comment in _comments(source):
        for match in NOQA.finditer(comment.text):
            codes = match.group("codes")
            if codes is None:
                continue
            problems: list[str] = []
            kept: list[str] = []
            seen: set[str] = set()
            for raw in (c.strip() for c in codes.split(",")):
                code = raw.upper()
                if not _OURS.match(code):
                    kept.append(raw)  # another linter's code
                elif code in seen:
                    problems.append(f"{raw} is repeated")
                elif not any(k.startswith(code) for k in known):
                    problems.append(
                        f"{raw} is not a losslint rule code{_did_you_mean(code, known)}"
                    )
                elif code != CODE and _is_unused(code, by_line.get(comment.line, []), judged):
                    problems.append(f"{raw} suppresses nothing on this line")
                else:
                    kept.append(raw)
                seen.add(code)
            if problems:
                result.append(_diagnostic(path, comment, match, kept, problems))
    return result


def _did_you_mean(code: str, known: frozenset[str]) -> str:
    close = difflib.get_close_matches(code.replace("O", "0"), sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _is_unused(code: str, on_line: Sequence[str], judged: Mapping[str, bool]) -> bool:
    rules = [k for k in judged if k.startswith(code)]
    if not rules or not all(judged[k] for k in rules):
        return False  # some rule it names did not run: it may suppress that one
    return not any(found.startswith(code) for found in on_line)


def _diagnostic(
    path: str, comment: _Comment, match: re.Match[str], kept: list[str], problems: list[str]
) -> Diagnostic:
    text = comment.text
    if kept:
        replacement = text[: match.start()] + "# noqa: " + ", ".join(kept) + text[match.end() :]
    else:
        replacement = (text[: match.start()] + text[match.end() :]).strip()
        if replacement and not replacement.startswith("#"):
            replacement = "# " + replacement
    span = Span(
        comment.line,
        comment.column + 1 + match.start(),
        comment.line,
        comment.column + 1 + match.end(),
    )
    whole = Span(comment.line, comment.column + 1, comment.line, comment.column + 1 + len(text))
    what = "remove the unused code" if kept else "remove the comment"
    return Diagnostic(
        code=CODE,
        name=NAME,
        severity=RULE.severity,
        message=f"# noqa: {'; '.join(problems)}: a stale suppression hides the next real "
        f"finding on this line; {what}",
        path=path,
        span=span,
        fix=Fix(
            Applicability.SAFE,
            "Remove the unused noqa codes" if kept else "Remove the unused noqa comment",
            (Edit("comment", replacement, whole),),
        ),
    )


def apply_comment_edits(source: bytes, fixes: Sequence[Fix]) -> tuple[bytes, int]:
    """Apply the ``comment`` edits (LL001's fixes): comments are no expressions, so they are
    rewritten in the text; one fix per line per round."""
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError:
        return source, 0
    lines = text.splitlines(keepends=True)
    done: set[int] = set()
    count = 0
    for fix in fixes:
        spans = [e.span for e in fix.edits if e.span is not None]
        if not spans or any(s.line in done or not 0 < s.line <= len(lines) for s in spans):
            continue
        for edit in fix.edits:
            assert edit.span is not None
            line = lines[edit.span.line - 1]
            body = line.rstrip("\r\n")
            ending = line[len(body) :]
            start, end = edit.span.column - 1, edit.span.end_column - 1
            new = body[:start] + edit.content + body[end:]
            lines[edit.span.line - 1] = (new if edit.content else new.rstrip()) + ending
            done.add(edit.span.line)
        count += 1
    return "".join(lines).encode("utf-8"), count


# -- --add-noqa -------------------------------------------------------------------------------


@dataclass
class Added:
    comments: int = 0
    files: int = 0
    skipped: int = 0
    reason: str = "the line ends inside a string or with a backslash, where a comment cannot go"


def add(diagnostics: Sequence[Diagnostic]) -> Added:
    """Add ``# noqa: CODES`` to each line with a finding (appending to an existing noqa)."""
    from losslint.notebook import NotebookError, is_notebook, to_python, write_back

    outcome = Added()
    by_path: dict[str, dict[int, list[str]]] = {}
    for d in diagnostics:
        if d.code in ("LL000", CODE):
            continue  # a file that does not parse: noqa cannot reach it; a stale noqa: --fix
        codes = by_path.setdefault(d.path, {}).setdefault(d.line, [])
        if d.code not in codes:
            codes.append(d.code)
    for path, lines in by_path.items():
        file = Path(path)
        try:
            original = file.read_bytes()
            source = to_python(original) if is_notebook(file) else original.decode("utf-8")
        except (OSError, UnicodeDecodeError, NotebookError):
            outcome.skipped += len(lines)
            continue
        new, added, skipped = _with_noqa(source, lines)
        outcome.skipped += skipped
        if not added:
            continue
        data = write_back(original, new) if is_notebook(file) else new.encode("utf-8")
        try:
            file.write_bytes(data)
        except OSError:
            outcome.skipped += added
            continue
        outcome.comments += added
        outcome.files += 1
    return outcome


def _with_noqa(source: str, wanted: Mapping[int, list[str]]) -> tuple[str, int, int]:
    lines = source.splitlines(keepends=True)
    blocked = _blocked_lines(source)
    comments = {c.line: c for c in _comments(source)}
    added = skipped = 0
    for number, codes in sorted(wanted.items()):
        if not 0 < number <= len(lines) or number in blocked:
            skipped += 1
            continue
        line = lines[number - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body) :] or "\n"
        comment = comments.get(number)
        match = NOQA.search(comment.text) if comment else None
        if comment is not None and match is not None and match.group("codes"):
            start = comment.column + match.end()
            body = body[:start] + ", " + ", ".join(codes) + body[start:]
        else:
            body = f"{body}  # noqa: {', '.join(sorted(codes))}"
        lines[number - 1] = body + ending
        added += 1
    return "".join(lines), added, skipped


def _blocked_lines(source: str) -> set[int]:
    """Lines whose end is inside a string (a triple-quoted one) or continued by a backslash."""
    blocked: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            # A string (or an f-string's part) that spans lines: no comment can end its lines.
            if token.start[0] < token.end[0] and token.type not in (tokenize.NL, tokenize.NEWLINE):
                blocked.update(range(token.start[0], token.end[0]))
    except (tokenize.TokenError, SyntaxError):
        pass
    for number, line in enumerate(source.splitlines(), start=1):
        if line.rstrip().endswith("\\"):
            blocked.add(number)
    return blocked
