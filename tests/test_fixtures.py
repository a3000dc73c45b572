"""Each rule's fixture: every marked line fires, every other line stays silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import FIXTURES, check, expected_markers, reported

RULE_FIXTURES = sorted((FIXTURES / "rules").glob("LL*.py"))
PROJECTS = [*sorted(p for p in (FIXTURES / "rules").iterdir() if p.is_dir()), FIXTURES / "demo"]


def _compare(expected: set[tuple[str, int, str]], actual: set[tuple[str, int, str]]) -> None:
    missing = sorted(expected - actual)
    unexpected = sorted(actual - expected)
    assert not missing and not unexpected, (
        f"missing (marked but not reported): {missing}\n"
        f"unexpected (reported but not marked): {unexpected}"
    )


@pytest.mark.parametrize("fixture", RULE_FIXTURES, ids=lambda p: p.stem)
def test_rule_fixture(fixture: Path) -> None:
    """Compared within the rule's family (LL3 for LL301.py): a numerics fixture may use
    ``K.log``, which the API family reports, without every fixture knowing every rule."""
    family = fixture.stem[:3]
    expected = {m for m in expected_markers(fixture) if m[2].startswith(family)}
    assert any(code == fixture.stem for _, _, code in expected), "a fixture must fire its rule"
    actual = {r for r in reported(check(fixture)) if r[2].startswith(family)}
    _compare(expected, actual)


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_fixture_project(project: Path) -> None:
    """Multi-file fixtures: facts cross module boundaries (a model built in one file)."""
    expected: set[tuple[str, int, str]] = set()
    for file in sorted(project.rglob("*.py")):
        expected |= expected_markers(file)
    assert expected
    _compare(expected, reported(check(project)))


def test_every_rule_has_a_fixture() -> None:
    from losslint.rules.registry import all_rules

    have = {p.stem for p in RULE_FIXTURES}
    assert {r.code for r in all_rules()} <= have
