"""Bit-plane placement shared by the Python SECDED view and rtl/weight_sram.v (contract: data bit g*m+j = bit 8-m+j of weight g)."""

from __future__ import annotations

import numpy as np
import pytest

from qtaml_hw.fidelity.leakage import bit_planes, with_planes
from qtaml_hw.seeding import rng


@pytest.mark.parametrize("m", [1, 2, 4, 8])
def test_planes_match_contract_and_roundtrip(m):
    words = rng(0, "planes", m).integers(0, 2**63, 50, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    planes = bit_planes(words, protect_bits=m)
    for wd, pl in zip(words.tolist(), planes.tolist()):
        for g in range(8):
            for j in range(m):
                assert (pl >> (g * m + j)) & 1 == (wd >> (g * 8 + 8 - m + j)) & 1
        assert pl >> (8 * m) == 0 if m < 8 else True
    assert np.array_equal(with_planes(words, planes, protect_bits=m), words)
    # replacing the planes touches only the top m bits of each weight
    zeroed = with_planes(words, np.zeros_like(planes), protect_bits=m)
    low = np.uint64(int.from_bytes(bytes([(1 << (8 - m)) - 1] * 8), "little"))
    assert np.array_equal(zeroed, words & low)
