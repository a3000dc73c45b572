"""losslint: a static analyzer for Keras loss and metric code."""

from __future__ import annotations

__version__ = "0.1.0"
