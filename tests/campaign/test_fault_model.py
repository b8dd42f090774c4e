"""The fault-model protocols are satisfied by the project's flip model and samplers (no copies)."""

from __future__ import annotations

import numpy as np

from qtaml_hw.ecc import ECCSampler
from qtaml_hw.ecc.placement import check_flip_model
from qtaml_hw.memory import FlipModel
from qtaml_hw.memory.fault_model import FaultModel, WeightSampler
from qtaml_hw.nn import default_sampler
from qtaml_hw.physics import flip_probabilities
from qtaml_hw.tac import corrected_sampler


def test_flip_models_are_fault_models_and_samplers_are_weight_samplers():
    res = flip_probabilities(t_ox_nm=3.3, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, tau0_s=1e-13, t_s=3600.0, r=0.0)
    physics = FlipModel(float(np.max(res["p10"])), float(np.max(res["p01"])))
    for fm in (FlipModel(0.1, 0.05), physics, check_flip_model(FlipModel(0.1, 0.0))):
        assert isinstance(fm, FaultModel)
        p10, p01 = fm.per_bit(8)
        assert p10.shape == p01.shape == (8,)
    fm = FlipModel(0.1, 0.05)
    for sampler in (default_sampler(fm), corrected_sampler(fm), ECCSampler(fm, {"fc": 2})):
        assert isinstance(sampler, WeightSampler)
    assert not isinstance(0.1, FaultModel) and not isinstance(fm, WeightSampler)


class MeasuredPattern:
    """A user's fault model that is not a FlipModel: a measured per-bit map (bit 3 leaks hardest)."""

    def per_bit(self, bits):
        p10 = np.zeros(bits)
        p10[3] = 0.25
        return p10, np.full(bits, 0.01)


def test_flip_bits_takes_any_fault_model_and_follows_its_per_bit_rates():
    from qtaml_hw.memory import flip_bits

    codes = np.full(20_000, 0b0000_1000, dtype=np.uint8)  # bit 3 stores 1, the others 0
    out = flip_bits(codes, bits=8, flip_model=MeasuredPattern(), trials=4, seed=0)
    bit3 = 1.0 - ((out >> 3) & 1).mean()  # 1 -> 0 rate of bit 3
    others = np.mean([((out >> k) & 1).mean() for k in (0, 1, 2, 4, 5, 6, 7)])  # 0 -> 1 rate elsewhere
    n = out.size
    assert abs(bit3 - 0.25) < 4 * np.sqrt(0.25 * 0.75 / n)
    assert abs(others - 0.01) < 4 * np.sqrt(0.01 * 0.99 / (7 * n))


def test_flip_bits_rejects_what_is_not_a_fault_model_in_one_line():
    import pytest

    from qtaml_hw.errors import QtamlError
    from qtaml_hw.memory import flip_bits

    class Wrong:
        def per_bit(self, bits):
            return np.full(bits, 1.5), np.zeros(bits)

    codes = np.zeros(4, dtype=np.uint8)
    with pytest.raises(QtamlError, match="fault model with per_bit"):
        flip_bits(codes, bits=8, flip_model=0.1, trials=1, seed=0)
    with pytest.raises(QtamlError, match="p10 must be 8 probabilities"):
        flip_bits(codes, bits=8, flip_model=Wrong(), trials=1, seed=0)
