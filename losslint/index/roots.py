"""Package roots and the groups of modules that form one project, from paths and dotted names
alone: a run splits its files into sub-projects before it reads any facts, so this module
imports nothing of the index."""

from __future__ import annotations

import os
from collections.abc import Sequence


def package_root(path: str, module: str) -> str:
    """The directory a module's dotted name is relative to (``/src`` for ``/src/pkg/mod.py``).
    Only the packages above the file count: a dot in the file's own name (a script
    ``iic-13.5.1.py``, a notebook ``train.ipynb``) is not a package, so such a file's root is
    its own directory, with the modules beside it that it imports."""
    directory, name = os.path.split(path)
    if name == "__init__.py":
        depth = module.count(".") + (1 if module else 0)
    else:
        stem = name[:-3] if name.endswith(".py") else name
        package = module[: -len(stem)] if module.endswith(stem) else module.rpartition(".")[0]
        depth = package.count(".") + (0 if package.endswith(".") or not package else 1)
    for _ in range(depth):
        directory = os.path.dirname(directory)
    return directory


def namespace_groups(modules: Sequence[tuple[str, str]]) -> list[list[int]]:
    """Positions in ``modules`` (absolute path, dotted name) split into groups in which no two
    share a dotted name; needs no facts, so files can be indexed and checked a group at a time.

    A module is identified by its package root and dotted name, and Python resolves a name
    inside one ``sys.path``, so two roots that define the same module (sub-projects that both
    have ``model.py``, vendored copies) are never joined: each root goes to the group of the
    nearest root (by directory) that it does not clash with. Each group is then a project of
    its own. A tree checked beside copies of itself therefore gives the same findings as the
    tree alone; without clashes (the usual case) there is one group and nothing changes.
    """
    roots: dict[str, list[int]] = {}
    for position, (path, name) in enumerate(modules):
        roots.setdefault(package_root(path, name), []).append(position)
    groups: list[tuple[set[str], list[int]]] = []
    placed: list[tuple[str, int]] = []  # root, group
    for root in sorted(roots):
        names = {modules[i][1] for i in roots[root]}
        fits = [i for i, (taken, _) in enumerate(groups) if not taken & names]
        chosen = None
        for _, group in sorted(placed, key=lambda p: -common_length(p[0], root)):
            if group in fits:
                chosen = group
                break
        if chosen is None:
            chosen = fits[0] if fits else len(groups)
        if chosen == len(groups):
            groups.append((set(), []))
        groups[chosen][0].update(names)
        groups[chosen][1].extend(roots[root])
        placed.append((root, chosen))
    return [members for _, members in groups]


def common_length(a: str, b: str) -> int:
    try:
        return len(os.path.commonpath([a, b]))
    except ValueError:
        return 0
