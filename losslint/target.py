"""Which Keras a project targets, read from its declared dependencies when not configured.

A Keras 2 project linted as Keras 3 gets hundreds of LL402 findings for code that is right on
the Keras it runs; the dependency pins say which one it is. Keras 2 is recognised by
``keras<3`` (or ``keras==2.x``), ``tensorflow<2.16`` (whose bundled Keras is 2) and any
``tf-keras``/``tf_keras`` requirement (Keras 2 under TensorFlow ≥ 2.16).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

# Files that declare dependencies, at the project root.
_FILES: Final = ("pyproject.toml", "setup.cfg", "setup.py", "environment.yml", "environment.yaml")
_REQUIREMENTS: Final = "requirements*.txt"
_MAX_BYTES: Final = 1 << 20

_REQUIREMENT: Final = re.compile(
    r"""(?ix)
    (?<![\w.-])(?P<name>keras|tensorflow(?:-cpu|-gpu|-macos)?|tf[-_]keras)
    (?:\[[^\]]*\])?\s*
    (?P<spec>(?:[<>=!~]=?\s*[\w.*]+\s*,?\s*)*)
    """
)
_CLAUSE: Final = re.compile(r"(?P<op>[<>=!~]=?)\s*(?P<version>\d+(?:\.\d+)*)")


def infer_target(root: Path) -> tuple[int, str] | None:
    """(2 or 3, why) from the first dependency file that pins Keras or TensorFlow, or None."""
    candidates = [root / name for name in _FILES]
    candidates += sorted(root.glob(_REQUIREMENTS))
    for path in candidates:
        try:
            if not path.is_file() or path.stat().st_size > _MAX_BYTES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found = _from_text(text)
        if found is not None:
            version, requirement = found
            return version, f"{path.name} requires {requirement}"
    return None


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
    return (3, keras3) if keras3 else None


def _major_bound(spec: str) -> int | None:
    """The major version a specifier confines Keras to, when it does (``<3`` → 2, ``>=3`` → 3)."""
    for clause in _CLAUSE.finditer(spec):
        op, parts = clause.group("op"), [int(p) for p in clause.group("version").split(".")]
        if op in ("==", "~=", "<=") or (op == "<" and parts[1:] and any(parts[1:])):
            return parts[0]
        if op == "<":
            return parts[0] - 1
        if op in (">=", ">") and parts[0] >= 3:
            return 3
    return None


def _tensorflow_before_216(spec: str) -> bool:
    """``tensorflow<2.16``, ``==2.15.*``, ``~=2.12``: a TensorFlow whose tf.keras is Keras 2."""
    for clause in _CLAUSE.finditer(spec):
        op, parts = clause.group("op"), [int(p) for p in clause.group("version").split(".")]
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
