"""Seed derivation (design.md section 7).

Every random stream is derived from (user seed, stable keys...) through NumPy's
``SeedSequence``, so trial ``i`` of a task draws the same numbers whether it runs alone,
in a batch of 64, on another worker or on another machine.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _key_to_int(key) -> int:
    if isinstance(key, (int, np.integer)):
        if key < 0:
            raise ValueError("seed keys must be non-negative")
        return int(key)
    digest = hashlib.sha256(str(key).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little")


def seed_sequence(seed: int, *keys) -> np.random.SeedSequence:
    """A ``SeedSequence`` for ``seed`` and a path of keys (ints or strings)."""
    return np.random.SeedSequence([_key_to_int(seed), *(_key_to_int(k) for k in keys)])


def rng(seed: int, *keys) -> np.random.Generator:
    """An independent ``numpy.random.Generator`` for ``(seed, *keys)``."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, *keys)))


def trial_rngs(seed: int, trials, *keys) -> list[np.random.Generator]:
    """One generator per trial index in ``trials`` (an int count or an iterable of indices).

    Trial ``i`` gets ``rng(seed, *keys, "trial", i)``: independent of how trials are batched.
    """
    indices = range(trials) if isinstance(trials, (int, np.integer)) else trials
    return [rng(seed, *keys, "trial", int(i)) for i in indices]
