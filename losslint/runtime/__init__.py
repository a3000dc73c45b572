"""Runtime mode (``losslint check --runtime``): run the losses the index found on sample tensors.

The parent side (``plan``, ``driver``; joint losses are decomposed by
``losslint.analysis.decompose``) reads the static index and never imports TensorFlow, Keras or
user code; ``child`` (with ``backends`` and the array half of ``inputs``)
runs in a separate process with ``KERAS_BACKEND`` set before Keras is imported.
"""

from __future__ import annotations


class RuntimeUnavailable(Exception):
    """Runtime mode cannot run at all (Keras or the backend missing, no GPU for ``--device gpu``).

    Reported in one line with exit code 2; problems in user code are diagnostics instead.
    """
