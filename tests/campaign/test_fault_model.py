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
