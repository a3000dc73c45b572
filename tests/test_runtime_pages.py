"""The RT rule pages' examples, run as the page says: "Example" fires, "Use instead" does not.

All the snippets go into one directory and one run, so that the child process (and its
Keras start-up) is paid once.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from losslint import pipeline
from tests.helpers import ROOT
from tests.test_runtime import RUNTIME, run_runtime

pytestmark = RUNTIME

PAGES = sorted((ROOT / "rules").glob("RT*.md"))
_BLOCK = re.compile(
    r"^## (?P<section>[^\n]+)\n(?:(?!^## ).)*?```python\n(?P<code>.*?)```", re.S | re.M
)


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pipeline.Result]:
    directory = tmp_path_factory.mktemp("rt_pages")
    for page in PAGES:
        code = page.name.split("-", 1)[0].lower()
        blocks = {
            m.group("section").strip(): m.group("code") for m in _BLOCK.finditer(page.read_text())
        }
        (directory / f"{code}_example.py").write_text(blocks["Example"])
        (directory / f"{code}_use_instead.py").write_text(blocks["Use instead"])
    return directory, run_runtime(directory)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_rt_page_examples(page: Path, examples: tuple[Path, pipeline.Result]) -> None:
    _, result = examples
    code = page.name.split("-", 1)[0]
    by_file: dict[str, set[str]] = {}
    for d in result.diagnostics:
        if d.source == "runtime":
            by_file.setdefault(Path(d.path).name, set()).add(d.code)
    assert code in by_file.get(f"{code.lower()}_example.py", set()), "the Example must fire"
    assert by_file.get(f"{code.lower()}_use_instead.py", set()) == set(), (
        "the corrected code must not trigger any runtime rule"
    )
