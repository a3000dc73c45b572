"""The rule pages: one per rule, and their examples behave as the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from losslint.rules.registry import catalogue
from tests.helpers import ROOT, check

# RT pages share the structure; their examples run in tests/test_runtime_pages.py (they need
# Keras), the static ones here.
PAGES = sorted([*(ROOT / "rules").glob("LL*.md"), *(ROOT / "rules").glob("RT*.md")])
STATIC_PAGES = [p for p in PAGES if p.name.startswith("LL")]
RULES = {r.code: r for r in catalogue()}
_BLOCK = re.compile(
    r"^## (?P<section>[^\n]+)\n(?:(?!^## ).)*?```python\n(?P<code>.*?)```", re.S | re.M
)
SECTIONS = ["What it flags", "Why it is a bug", "Example", "Use instead", "Fix"]


def _code_blocks(page: Path) -> dict[str, str]:
    return {m.group("section").strip(): m.group("code") for m in _BLOCK.finditer(page.read_text())}


def test_every_rule_has_a_page_and_every_page_a_rule() -> None:
    pages = {p.name.split("-", 1)[0]: p for p in PAGES}
    assert set(pages) == set(RULES)
    for code, page in pages.items():
        assert page.name == f"{code}-{RULES[code].name}.md"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_structure(page: Path) -> None:
    text = page.read_text()
    code, name = page.stem.split("-", 1)
    assert text.startswith(f"# {code} {name}\n")
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings == SECTIONS
    assert f"| {RULES[code].severity} |" in text


@pytest.mark.parametrize("page", STATIC_PAGES, ids=lambda p: p.stem)
def test_page_examples(page: Path, tmp_path: Path) -> None:
    code = page.name.split("-", 1)[0]
    blocks = _code_blocks(page)
    example = tmp_path / "example.py"
    example.write_text(blocks["Example"])
    assert code in {d.code for d in check(example)}, "the Example must trigger the rule"
    fixed = tmp_path / "use_instead.py"
    fixed.write_text(blocks["Use instead"])
    assert [d for d in check(fixed) if d.code == code] == [], (
        "the corrected code must not trigger the page's own rule"
    )
