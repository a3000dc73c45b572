"""Parsing the user's code without the compiler's warnings about it.

``ast.parse`` warns about code that still compiles (``"\\d"``, an invalid escape sequence, is
a DeprecationWarning on Python 3.11 and a SyntaxWarning, shown by default, from 3.12): a linter
must not print those for every file it reads, and under ``-W error`` (``PYTHONWARNINGS=error``
in some CI images) the warning would become a SyntaxError and the file would "not parse".
"""

from __future__ import annotations

import ast
import warnings
from typing import Any


def parse(source: str | bytes, filename: str = "<unknown>", mode: str = "exec") -> Any:
    """:func:`ast.parse`, its warnings ignored (its errors are raised as ever)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source, filename=filename, mode=mode)
