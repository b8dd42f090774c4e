"""A LeNet-5 layer on the RTL vs the replay layer (design.md sections 3, 6), on Verilator and Icarus.

The cocotb side is :mod:`qtaml_hw.rtlnn.layer_tb` (every tile of the layer, K chunks chained
through the output buffer); these launchers check the RTL accumulators against the integer
golden model and the PyTorch replay layer bit-exactly, with leakage flips in the SRAM and
saboteur register faults from records, and the accuracy the network gets from each.
"""

from __future__ import annotations

import numpy as np
import pytest

from qtaml_hw.rtlnn.layer_eval import (leakage_trials, setup_layer, software_accuracies, software_codes,
                                       two_sample_comparison)
from qtaml_hw.rtlnn.layer_job import run_layer_job
from qtaml_hw.rtlnn.layer_map import RegisterFault
from qtaml_hw.fidelity.leakage import corrupt_weight_words
from qtaml_hw.fidelity.schedule import GemmSchedule
from qtaml_hw.memory import FlipModel
from qtaml_hw.seeding import rng

# WKB: 1.8 nm SiO2, 3.1 eV, 0.42 m0, tau0 1e-3 s, one day, r = 0.1 -> p10 = 0.061, p01 = 0.0061
WKB = dict(t_ox_nm=1.8, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, tau0_s=1e-3, t_s=86400.0, r=0.1)


def _wkb_model():
    from qtaml_hw.physics import flip_probabilities

    fp = flip_probabilities(**WKB)
    return FlipModel(fp["p10"], fp["p01"])


@pytest.fixture(scope="module")
def conv2():
    return setup_layer(model="lenet5", layer="conv2", n=8, images=1)


def _register_faults(setup, gen, count):
    mp = setup.mapping
    runs = list(mp.runs(setup.rows))
    total = GemmSchedule(n=mp.n, rows=mp.max_rows, passes=mp.ppc).total_cycles
    out = []
    for j, i in enumerate(gen.choice(len(runs), size=count, replace=False)):
        cls = ("weight", "act", "psum", "out")[j % 4]
        width = 8 if cls in ("weight", "act") else 32
        out.append(RegisterFault(*runs[i], cls, int(gen.integers(0, mp.n)), int(gen.integers(0, mp.n)),
                                 int(gen.integers(0, total)), 1 << int(gen.integers(0, width))))
    return out


# Icarus runs this 3-trial accuracy comparison ~10x slower than Verilator (~40 s); the layer's
# bit-exactness on Icarus is checked by test_layer_rtl_equals_replay_with_leakage_and_register_faults.
HEAVY_CASES = {("test_paired_software_faults_give_identical_accuracy_on_rtl", "icarus")}

@pytest.mark.sim
@pytest.mark.parametrize("layer", ["conv2", "fc3"])
def test_layer_rtl_equals_replay_with_leakage_and_register_faults(simulator, conv2, layer):
    setup = conv2 if layer == "conv2" else setup_layer(model="lenet5", layer="fc3", n=8, images=40)
    mp = setup.mapping
    gen = rng(11, "layer-tb", layer)
    dm, _ = corrupt_weight_words(mp.memory_image(), seed=5, flip_model=FlipModel.symmetric(0.01))
    faults = _register_faults(setup, gen, min(12, len(list(mp.runs(setup.rows)))))
    rtl = run_layer_job(mp, setup.a_pad, simulator=simulator, data_mask=dm, register_faults=faults)
    acc = rtl["acc"][0]
    golden = mp.faulty_accumulators(setup.a_pad, image=mp.memory_image() ^ dm, register_faults=faults)
    w_seen = mp.layer_weights_from_image(mp.memory_image() ^ dm)
    assert np.array_equal(acc, golden)
    for model in ("reuse", "schedule"):
        assert np.array_equal(acc, setup.replay_acc(w_seen, faults, fault_model=model))
    # the register faults are visible (not all masked) beyond the leakage alone
    assert np.count_nonzero(acc != mp.faulty_accumulators(setup.a_pad, image=mp.memory_image() ^ dm)) > 0
    assert rtl["cycles"] == sum(GemmSchedule(n=8, rows=mp.rows_of(rc, setup.rows).stop - mp.rows_of(rc, setup.rows).start,
                                             passes=mp.ppc).total_cycles for _, _, rc in mp.runs(setup.rows))


@pytest.mark.sim
def test_paired_software_faults_give_identical_accuracy_on_rtl(simulator):
    """Same seed -> the software model's flips, written into the SRAM, give the same per-trial accuracy."""
    setup = setup_layer(model="lenet5", layer="conv2", n=8, images=2)
    fm = _wkb_model()
    res = leakage_trials(setup, simulator=simulator, flip_model=fm, seed=3, trials=3, source="software")
    sw = software_accuracies(setup, flip_model=fm, seed=3, trials=3)
    assert all(t["bit_exact"] and t["outputs_differing_from_clean"] > 0 for t in res["trials"])
    assert [t["accuracy_rtl"] for t in res["trials"]] == sw.tolist()
    codes = software_codes(setup, flip_model=fm, seed=3, trials=3)
    assert [t["weights_changed"] for t in res["trials"]] == \
        [int(np.count_nonzero(c != setup.qmodel.layer("conv2").qtensor.codes)) for c in codes]


@pytest.mark.sim
@pytest.mark.slow  # statistical (~25 s of CPU); bit-exactness of the same layer is in the fast tier
def test_rtl_and_software_sources_same_accuracy_distribution():
    """Short fixed-seed two-sample check (the long one is benchmarks/bench_replay.py)."""
    setup = setup_layer(model="lenet5", layer="conv2", n=8, images=4)
    fm = _wkb_model()
    res = leakage_trials(setup, simulator="verilator", flip_model=fm, seed=21, trials=10, source="rtl")
    assert all(t["bit_exact"] and t["accuracy_rtl"] == t["accuracy_replay"] for t in res["trials"])
    rtl_acc = np.array([t["accuracy_rtl"] for t in res["trials"]])
    sw_acc = software_accuracies(setup, flip_model=fm, seed=22, trials=10)
    cmp = two_sample_comparison(rtl_acc, sw_acc)
    assert cmp["welch_p"] > 0.01 and cmp["ks_p"] > 0.01
    assert 0.0 < cmp["power_at_delta"] <= 1.0 and cmp["mdd_at_power"] > 0
    assert rtl_acc.std() > 0 and sw_acc.std() > 0   # the faults do move the accuracy
