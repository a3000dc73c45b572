"""Which Keras a project targets, read from its declared dependencies when not configured.

A Keras 2 project linted as Keras 3 gets hundreds of LL402 findings for code that is right on
the Keras it runs; the dependency pins say which one it is. Keras 2 is recognised by
``keras<3`` (or ``keras==2.x``), ``tensorflow<2.16`` (whose bundled Keras is 2) and any
``tf-keras``/``tf_keras`` requirement (Keras 2 under TensorFlow ≥ 2.16).
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, NamedTuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]


class Pin(NamedTuple):
    """What a directory's dependency files pin: the Keras major version, why (the file and the
    requirement), and whether the code runs in TensorFlow 1's graph mode (``graph``: Keras
    before 2.3, the multi-backend releases that predate TensorFlow 2, or TensorFlow 1 itself),
    where a loss that reads a symbolic tensor of the model's graph is evaluated in that graph."""

    version: int
    reason: str
    graph: bool = False


# Files that declare dependencies, at the project root.
_FILES: Final = ("pyproject.toml", "setup.cfg", "setup.py", "environment.yml", "environment.yaml")
_REQUIREMENTS: Final = "requirements*.txt"
_REQUIREMENTS_FOLDER: Final = "requirements/*.txt"  # requirements/base.txt and its kin
_MAX_BYTES: Final = 1 << 20
# A Docker image the code runs in (``Dockerfile``, ``Dockerfile.gpu``, ``train.dockerfile``),
# read after the dependency files: TensorFlow's own image pins its version by tag
# (``FROM tensorflow/tensorflow:2.0.0rc0-gpu-py3``); a ``pip install`` line is a requirement.
_DOCKERFILE: Final = re.compile(r"(?i)dockerfile(?:\.[\w.-]+)?|[\w.-]+\.dockerfile")
_IMAGE: Final = re.compile(
    r"(?im)^\s*FROM\s+(?:--platform=\S+\s+)?"
    r"(?P<image>tensorflow/tensorflow:(?P<major>\d+)\.(?P<minor>\d+)\S*)"
)

_REQUIREMENT: Final = re.compile(
    r"""(?ix)
    (?<![\w.-])(?P<name>keras|tensorflow(?:-cpu|-gpu|-macos)?|tf[-_]keras)
    (?:\[[^\]]*\])?\s*
    (?P<spec>(?:[<>=!~]=?\s*[\w.*]+\s*,?\s*)*)
    """
)
_CONDA_DEPENDENCIES: Final = re.compile(r"(?m)^dependencies:")
_CLAUSE: Final = re.compile(r"(?P<op>[<>=!~]=?)\s*(?P<version>\d+(?:\.\d+)*)")


def infer_target(root: Path) -> tuple[int, str] | None:
    """(2 or 3, why) from the first dependency file of ``root`` that pins Keras or TensorFlow
    (a ``requirements/`` folder's files too); else from the environment folders in it
    (``env/tfgpu/pyproject.toml``, ``docker/requirements.txt``), where they all agree; or
    None."""
    found = _pinned(root)
    return None if found is None else (found.version, found.reason)


def _pinned(root: Path) -> Pin | None:
    """:func:`infer_target`, with whether the pins are TensorFlow 1's (see :class:`Pin`)."""
    found = _pinned_here(root)
    if found is not None:
        return found
    try:
        names = set(os.listdir(root))
    except OSError:
        return None
    agreed: list[Pin] = []
    for name in sorted(names & _ENVIRONMENT_FOLDERS):
        folder = root / name
        inside = [folder]
        try:
            inside += sorted(p for p in folder.iterdir() if p.is_dir())
        except OSError:
            continue
        for place in inside:
            pinned = _pinned_here(place)
            if pinned is not None:
                where = place.relative_to(root).as_posix()
                agreed.append(pinned._replace(reason=f"{where}/{pinned.reason}"))
    if agreed and len({pin.version for pin in agreed}) == 1:
        return agreed[0]._replace(graph=all(pin.graph for pin in agreed))
    return None


# Folders that describe the environment the code around them runs in, not code of their own
# (a conda environment per machine, a Docker image's requirements, Binder's environment.yml).
_ENVIRONMENT_FOLDERS: Final = frozenset(
    {"env", "envs", "environment", "environments", "conda", "docker", ".devcontainer", "binder"}
)


def _pinned_here(root: Path) -> Pin | None:
    """(2 or 3, why) from the first dependency file of ``root`` itself that pins Keras or
    TensorFlow (a ``requirements/`` folder's files too), or None."""
    try:  # one listing, where a check of each name cost a system call
        names = set(os.listdir(root))
    except OSError:
        return None
    candidates = [root / name for name in _FILES if name in names]
    candidates += sorted(root / name for name in names if fnmatch.fnmatch(name, _REQUIREMENTS))
    if _REQUIREMENTS_FOLDER.partition("/")[0] in names:
        candidates += sorted(root.glob(_REQUIREMENTS_FOLDER))
    candidates += sorted(root / name for name in names if _DOCKERFILE.fullmatch(name))
    # A conda environment exported under another name (``env_mt.yaml``, ``conda-gpu.yml``):
    # a YAML file whose top level lists ``dependencies:``.
    conda = sorted(
        root / name
        for name in names
        if name.endswith((".yml", ".yaml")) and name not in _FILES and not name.startswith(".")
    )
    candidates += conda
    for path in candidates:
        try:
            if not path.is_file() or path.stat().st_size > _MAX_BYTES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if path in conda and not _CONDA_DEPENDENCIES.search(text):
            continue
        if _DOCKERFILE.fullmatch(path.name):
            image = _IMAGE.search(text)
            if image is not None:
                tagged = f"=={image.group('major')}.{image.group('minor')}"
                return Pin(
                    2 if _tensorflow_before_216(tagged) else 3,
                    f"{path.relative_to(root).as_posix()} builds on {image.group('image')}",
                    image.group("major") == "1",
                )
        found = _from_pyproject(text) if path.name == "pyproject.toml" else _from_text(text)
        if found is not None:
            version, requirement = found
            reason = f"{path.relative_to(root).as_posix()} requires {requirement}"
            return Pin(version, reason, _graph_era(text))
    return None


class Pins:
    """The target each file's own sub-project declares: the dependency files of the nearest
    directory at or above the file that pins Keras or TensorFlow, up to ``root`` (a monorepo's
    folders, a collection of examples or of bugs, each with its own ``requirements.txt``).
    A file outside ``root`` is judged by its own directory's pins alone."""

    def __init__(self, root: Path) -> None:
        self._root = os.path.abspath(root)
        self._nearest: dict[str, Pin | None] = {}  # directory → what holds there

    def of(self, absolute: str, installs: str = "") -> Pin | None:
        """What holds for the file at ``absolute``; None when no directory pins. A notebook
        that installs its own Keras or TensorFlow (``!pip install Keras==2.2.4`` in a Colab
        cell: ``installs``, see :func:`losslint.notebook.installs`) runs on what it installs,
        whatever its folder pins."""
        own = _from_text(installs) if installs else None
        if own is not None:
            reason = f"{os.path.basename(absolute)} installs {own[1]}"
            return Pin(own[0], reason, _graph_era(installs))
        return self._at(os.path.dirname(absolute))

    def _at(self, directory: str) -> Pin | None:
        if directory in self._nearest:
            return self._nearest[directory]
        found = _pinned(Path(directory))
        if found is not None:
            relative = os.path.relpath(directory, self._root)
            if relative != os.curdir and not relative.startswith(os.pardir):
                found = found._replace(reason=f"{Path(relative).as_posix()}/{found.reason}")
        else:
            parent = os.path.dirname(directory)
            below = directory.startswith(self._root + os.sep) or (
                self._root == os.sep and directory != os.sep
            )
            found = self._at(parent) if below and parent != directory else None
        self._nearest[directory] = found
        return found


def _from_pyproject(text: str) -> tuple[int, str] | None:
    """The project's own dependencies decide; optional extras (a benchmark's ``tf-keras``, a
    ``legacy`` extra) only when those say nothing and every extra that pins agrees."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return _from_text(text)
    project = document.get("project")
    project = project if isinstance(project, dict) else {}
    poetry = (
        document.get("tool", {}).get("poetry", {}) if isinstance(document.get("tool"), dict) else {}
    )
    poetry = poetry if isinstance(poetry, dict) else {}
    main = [*_strings(project.get("dependencies")), *_poetry(poetry.get("dependencies"))]
    found = _from_text("\n".join(main))
    if found is not None:
        return found
    extras = project.get("optional-dependencies")
    groups = [_strings(v) for v in extras.values()] if isinstance(extras, dict) else []
    groups += [_poetry(g.get("dependencies")) for g in _tables(poetry.get("group"))]
    pinned = [f for f in (_from_text("\n".join(group)) for group in groups) if f is not None]
    if pinned and all(version == pinned[0][0] for version, _ in pinned):
        return pinned[0][0], f"{pinned[0][1]} (an optional extra)"
    return None


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _tables(value: object) -> list[dict[str, Any]]:
    return [v for v in value.values() if isinstance(v, dict)] if isinstance(value, dict) else []


def _poetry(value: object) -> list[str]:
    """Poetry's ``name = "<3"`` / ``name = {version = "<3"}`` as requirement strings."""
    if not isinstance(value, dict):
        return []
    found = []
    for name, spec in value.items():
        if isinstance(spec, dict):
            spec = spec.get("version", "")
        if isinstance(spec, str):
            found.append(f"{name}{_caret(spec.strip())}")
    return found


def _caret(spec: str) -> str:
    """Poetry's ``^2.4`` (and a bare ``2.4``) is ``>=2.4,<3``; ``*`` is no bound."""
    bare = spec.lstrip("^")
    if spec in ("", "*") or not re.fullmatch(r"\d+(\.\d+)*", bare):
        return "" if spec in ("", "*") else spec
    return f">={bare},<{int(bare.split('.')[0]) + 1}"


def _from_text(text: str) -> tuple[int, str] | None:
    keras3: str | None = None
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        for match in _REQUIREMENT.finditer(line):
            name = match.group("name").lower().replace("_", "-")
            spec = match.group("spec").strip().rstrip(",")
            requirement = f"{match.group('name')}{spec}" if spec else match.group("name")
            if name == "tf-keras":
                return 2, requirement
            major = _major_bound(spec)
            if name == "keras" and major is not None:
                if major < 3:
                    return 2, requirement
                keras3 = keras3 or requirement
            if name.startswith("tensorflow") and _tensorflow_before_216(spec):
                return 2, requirement
            if name == "tensorflow-gpu":
                # Its last release is 2.12.0 (a stub that refuses to install); whatever the
                # specifier allows, what installs is a TensorFlow whose tf.keras is Keras 2.
                return 2, requirement
    return (3, keras3) if keras3 else None


def _clauses(spec: str) -> Iterator[tuple[str, list[int]]]:
    """Each clause of a specifier: its operator (conda's ``tensorflow=2.2.0``, the versions
    that start so, as ``==``) and its version's numbers."""
    for clause in _CLAUSE.finditer(spec):
        op = clause.group("op")
        yield "==" if op == "=" else op, [int(p) for p in clause.group("version").split(".")]


def _major_bound(spec: str) -> int | None:
    """The major version a specifier confines Keras to, when it does (``<3`` → 2, ``>=3`` → 3)."""
    for op, parts in _clauses(spec):
        if op in ("==", "~=", "<=") or (op == "<" and parts[1:] and any(parts[1:])):
            return parts[0]
        if op == "<":
            return parts[0] - 1
        if op in (">=", ">") and parts[0] >= 3:
            return 3
    return None


def _graph_era(text: str) -> bool:
    """Whether ``text`` (requirements) pins a Keras or TensorFlow that runs in TensorFlow 1's
    graph mode: the multi-backend Keras before 2.3 (2.3.0 was the first release for
    TensorFlow 2), or TensorFlow 1 (``tensorflow-gpu==1.14``, ``tensorflow<2``)."""
    for line in text.splitlines():
        for match in _REQUIREMENT.finditer(line.split("#", 1)[0]):
            name = match.group("name").lower().replace("_", "-")
            if name == "tf-keras":
                continue
            below = (2, 3) if name == "keras" else (2, 0)
            if _confined_below(match.group("spec"), below):
                return True
    return False


def _confined_below(spec: str, bound: tuple[int, int]) -> bool:
    """Whether a specifier allows only versions below ``bound`` (major, minor): ``==2.2.4``,
    ``==1.*``, ``~=2.2.0``, ``<=2.2``, ``<2.3``; not ``~=2.2`` (below 3)."""
    for op, parts in _clauses(spec):
        if op == "<":
            if (*parts, 0, 0)[:2] <= bound:
                return True
        elif op == "<=" or (op == "==" and len(parts) > 1) or (op == "~=" and len(parts) > 2):
            if (parts[0], parts[1] if len(parts) > 1 else 0) < bound:
                return True
        elif op in ("==", "~=") and (parts[0] + 1, 0) <= bound:  # ``==1.*``, ``~=1.15``
            return True
    return False


def _tensorflow_before_216(spec: str) -> bool:
    """``tensorflow<2.16``, ``==2.15.*``, ``~=2.12``: a TensorFlow whose tf.keras is Keras 2."""
    for op, parts in _clauses(spec):
        version = [*parts, 0, 0][:2]
        if (
            op in ("<", "<=")
            and (version[0], version[1]) <= (2, 16)
            and not (op == "<=" and version == [2, 16])
        ):
            return True
        if op in ("==", "~=") and (version[0], version[1]) < (2, 16):
            return True
    return False
