"""Seeded ``torch.Generator`` streams for training (design.md section 7: randomness from the user's seed only)."""

from __future__ import annotations

import torch

from qtaml_hw.seeding import seed_sequence


def torch_generator(seed: int, *keys) -> torch.Generator:
    """A ``torch.Generator`` derived from ``(seed, *keys)`` via :func:`qtaml_hw.seeding.seed_sequence`."""
    g = torch.Generator()
    g.manual_seed(int(seed_sequence(seed, *keys).generate_state(1, dtype="uint64")[0] >> 1))
    return g
