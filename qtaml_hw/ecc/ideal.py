"""Ideal MSB protection: the paper's abstraction of ECC (design.md section 3).

The top ``m`` bits of every weight of a layer never flip; the other ``B - m`` bits flip
with the flip model.  It costs ``m`` protected bits per weight times the code's overhead
factor ``r(group m) / (group m)`` -- the same check storage as the real code
(:mod:`qtaml_hw.ecc.placement`), whose failures (detected-uncorrectable words, silent
miscorrection at high p, leaking check bits) it does not model.  Comparing the two on one
plan shows what the abstraction hides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtaml_hw.ecc.matrix import CODE_KINDS
from qtaml_hw.ecc.overhead import GROUP, check_bits
from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel, flip_bits


@dataclass(frozen=True)
class IdealMSB:
    """Top ``protect_msb`` bits of each B-bit weight are fault-free; priced as ``code`` over ``group`` weights."""

    protect_msb: int
    bits: int = 8
    code: str = "secded"
    group: int = GROUP

    def __post_init__(self):
        if self.code not in CODE_KINDS:
            raise QtamlError(f"unknown code {self.code!r}; choose one of {', '.join(CODE_KINDS)}")
        if not isinstance(self.protect_msb, (int, np.integer)) or not 0 <= self.protect_msb <= self.bits:
            raise QtamlError(f"protect_msb must be an integer in 0..{self.bits}, got {self.protect_msb!r}")
        if self.group <= 0:
            raise QtamlError(f"group must be positive, got {self.group}")

    @property
    def check_bits_per_weight(self) -> float:
        """``r(group m) / group``: check storage per weight (m protected bits x the code's factor)."""
        return check_bits(self.code, self.group * self.protect_msb) / float(self.group)

    @property
    def overhead(self) -> float:
        """Check storage / data storage, ``r(group m) / (group B)``."""
        return self.check_bits_per_weight / self.bits

    def restore(self, clean_codes, faulty_codes) -> np.ndarray:
        """``faulty_codes`` with the top m bits taken from ``clean_codes`` (broadcast over trials)."""
        top = ((1 << self.protect_msb) - 1) << (self.bits - self.protect_msb)
        clean = np.asarray(clean_codes)
        faulty = np.asarray(faulty_codes)
        return ((faulty & ~np.asarray(top, faulty.dtype)) | (clean & np.asarray(top, clean.dtype))).astype(faulty.dtype)

    def flip(self, codes, *, flip_model: FlipModel, trials: int, seed: int, trial_offset: int = 0,
             key="inject") -> np.ndarray:
        """Faulty copies ``(trials, *codes.shape)`` with the top m bits never flipping (``memory.flip_bits``)."""
        return flip_bits(codes, bits=self.bits, flip_model=flip_model, trials=trials, seed=seed,
                         trial_offset=trial_offset, protect_msb=self.protect_msb, key=key)
