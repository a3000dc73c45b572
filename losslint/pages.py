"""The rule pages (``rules/LLnnn-name.md``): shipped in the wheel, read from the repo in dev."""

from __future__ import annotations

from pathlib import Path


def pages_dir() -> Path | None:
    here = Path(__file__).resolve().parent
    for candidate in (here / "rule_pages", here.parent / "rules"):
        if candidate.is_dir():
            return candidate
    return None


def page_path(code: str) -> Path | None:
    directory = pages_dir()
    if directory is None:
        return None
    matches = sorted(directory.glob(f"{code.upper()}-*.md"))
    return matches[0] if matches else None


def read_page(code: str) -> str | None:
    path = page_path(code)
    return path.read_text(encoding="utf-8") if path is not None else None


def section(page: str, heading: str) -> str:
    """The text under ``## heading`` of a rule page, without the heading."""
    marker = f"## {heading}\n"
    start = page.find(marker)
    if start < 0:
        return ""
    start += len(marker)
    end = page.find("\n## ", start)
    return page[start : end if end >= 0 else len(page)].strip()


def known_codes() -> frozenset[str]:
    """Every rule code, read from the page names: every rule has a page (the tests hold it), and
    a directory listing costs nothing, whereas the registry imports every rule and analysis."""
    directory = pages_dir()
    if directory is None:
        return frozenset()
    return frozenset({"LL000"} | {p.name.split("-", 1)[0] for p in directory.glob("*-*.md")})
