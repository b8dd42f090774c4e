"""Error types shared by every layer.

Anything a user can get wrong (a negative thickness, an unknown code, a corrupted
checkpoint, a malformed config) raises :class:`QtamlError` with one line saying what is
wrong and what to do; the CLI turns it into one stderr line and exit status 2.
"""

from __future__ import annotations


class QtamlError(ValueError):
    """Invalid user input or environment; the message is one line meant for a user."""


def require(condition: bool, message: str) -> None:
    """Raise :class:`QtamlError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise QtamlError(message)


def check_probability(name: str, value) -> None:
    """Check that ``value`` (scalar or array) lies in [0, 1] and is finite."""
    import numpy as np

    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0.0) or np.any(arr > 1.0):
        raise QtamlError(f"{name} must be a probability in [0, 1], got {value!r}")
