"""``python -m losslint``: the command, without the current directory on the import path."""

from __future__ import annotations

import os
import sys


def _without_cwd() -> None:
    """``python -m`` puts the current directory first on ``sys.path``; a ``click.py`` or
    ``pathspec.py`` in the checked tree would then be imported, and run, in place of the real
    library. Static mode never executes code from the tree it checks. (losslint itself is
    already imported, so its own modules still resolve.)"""
    if getattr(sys.flags, "safe_path", False) or not sys.path:  # -P, Python 3.11+
        return
    first = sys.path[0]
    if first == "" or os.path.abspath(first) == os.getcwd():
        del sys.path[0]


def _main() -> None:
    _without_cwd()
    from losslint.cli import main

    main()


if __name__ == "__main__":
    _main()
