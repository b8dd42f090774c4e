"""PyTorch replay layer (design.md section 6): integer layer, fault records, TAC mean correction.

The RTL side of the same checks is in ``testbenches/layer``; here the replay layer is held
to the NumPy integer golden model (``LayerMapping``), which the RTL equals bit-exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qtaml_hw.rtlnn.layer_eval import setup_layer, software_codes, two_sample_comparison
from qtaml_hw.rtlnn.layer_map import RegisterFault
from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel
from qtaml_hw.nn.replay import ReplayLayer
from qtaml_hw.seeding import rng
from qtaml_hw.tac import correction_coefficients


@pytest.fixture(scope="module")
def conv2():
    return setup_layer(model="lenet5", layer="conv2", n=8, images=200)


def test_clean_replay_equals_integer_golden_and_keeps_accuracy(conv2):
    assert np.array_equal(conv2.replay_acc(), conv2.clean_acc)
    fc1 = setup_layer(model="lenet5", layer="fc1", n=4, images=20)
    assert np.array_equal(fc1.replay_acc(), fc1.clean_acc)
    # int8 activations on one layer: accuracy within 2 images of the float-activation quantized model
    q_acc = float((conv2.qmodel(conv2.x).argmax(-1) == conv2.y).float().mean())
    assert abs(conv2.accuracy() - q_acc) <= 2 / len(conv2.y)


def test_faulty_weights_and_register_records_are_exact(conv2):
    mp = conv2.mapping
    gen = rng(1, "replay")
    codes = software_codes(conv2, flip_model=FlipModel.symmetric(0.02), seed=4, trials=1)[0]
    w = codes.astype(np.uint8).view(np.int8)
    runs = list(mp.runs(conv2.rows))
    faults = [RegisterFault(*runs[int(i)], cls, int(gen.integers(0, 8)), int(gen.integers(0, 8)),
                            int(gen.integers(0, 150)), 1 << int(gen.integers(0, 8)))
              for i, cls in zip(gen.choice(len(runs), 30, replace=False), ["weight", "act", "psum", "out"] * 8)]
    image = mp.memory_image() ^ mp.codes_to_image_masks(codes, conv2.qmodel.layer("conv2").qtensor.codes)
    golden = mp.faulty_accumulators(conv2.a_pad, image=image, register_faults=faults)
    assert np.array_equal(conv2.replay_acc(w, faults), golden)
    assert np.array_equal(conv2.replay_acc(w, faults, fault_model="schedule"), golden)
    assert np.count_nonzero(golden != mp.faulty_accumulators(conv2.a_pad, image=image)) > 0


def test_accumulator_override_reproduces_forward(conv2):
    acc = conv2.replay_acc()
    assert conv2.accuracy(acc=acc) == conv2.accuracy()
    bad = acc.copy()
    bad[:, 3] = 2 ** 31 - 1     # a stuck channel must change the network's answers
    assert conv2.accuracy(acc=bad) < conv2.accuracy()
    with pytest.raises(QtamlError, match="accumulators must have shape"):
        conv2.accuracy(acc=acc[:10])


def test_mean_correction_makes_the_layer_output_unbiased():
    """TAC folded into dequantization: E[y_corrected] = y_clean (Monte Carlo, 5 standard errors).

    Flips p10 = 0.05, p01 = 0.01 on the 4 unprotected bits (top 4 protected, ideal): without
    the correction the mean output drifts by many standard errors.
    """
    s = setup_layer(model="lenet5", layer="conv2", n=8, images=1)
    layer = s.layer
    from qtaml_hw.nn.replay import layer_inputs

    xin = layer_inputs(s.qmodel, "conv2", s.x)
    fm = FlipModel(0.05, 0.01)
    qt = s.qmodel.layer("conv2").qtensor
    from qtaml_hw.memory import flip_bits

    trials = 160
    codes = flip_bits(qt.codes, bits=8, flip_model=fm, trials=trials, seed=0, protect_msb=4, key="mc")
    clean = layer(xin).double()
    g, z, _ = correction_coefficients(bits=8, code="twos", flip_model=fm, protect_msb=4)
    a = 1.0 / g[0]
    outs = {}
    for corrected in (False, True):
        layer.set_mean_correction(a=a if corrected else 1.0, c_unprot=-z * a if corrected else 0.0, protect_bits=4)
        ys = []
        for c in codes:
            layer.set_weights(c.view(np.int8))
            ys.append(layer(xin).double())
        layer.clear_faults()
        outs[corrected] = torch.stack(ys)
    layer.set_mean_correction(a=1.0, c_unprot=0.0, protect_bits=0)
    for corrected, ys in outs.items():
        se = ys.std(0) / np.sqrt(trials)
        zscore = ((ys.mean(0) - clean) / se.clamp_min(1e-12)).abs()
        if corrected:
            assert float((zscore < 5).float().mean()) > 0.999
        else:
            assert float((zscore > 5).float().mean()) > 0.3


def test_replay_rejects_unsupported_modules():
    with pytest.raises(QtamlError, match="Conv2d or nn.Linear"):
        ReplayLayer(torch.nn.Conv1d(2, 2, 3), codes=np.zeros((2, 2, 3), np.uint8), scale=1.0, s_a=1.0)
    with pytest.raises(QtamlError, match="no array-mappable layer 'conv9'; layers: conv1, conv2, fc1"):
        setup_layer(model="lenet5", layer="conv9")


def test_two_sample_comparison_power_matches_simulation():
    """The stated power (normal approximation) equals the Welch test's rejection rate by simulation."""
    from scipy import stats

    gen = rng(2, "two-sample")
    n, sd, shift, reps = 40, 0.05, 0.025, 4000     # half a standard deviation
    a = gen.normal(0.8, sd, (reps, n))
    b = gen.normal(0.8 - shift, sd, (reps, n))
    rejected = stats.ttest_ind(a, b, axis=1, equal_var=False).pvalue < 0.05
    stated = two_sample_comparison(a[0], b[0], delta=shift)
    # the stated power uses replicate 0's variances; average it over a few replicates
    power = np.mean([two_sample_comparison(a[i], b[i], delta=shift)["power_at_delta"] for i in range(200)])
    se = np.sqrt(power * (1 - power) / reps)
    assert abs(rejected.mean() - power) < 3 * se + 0.02     # + the z-vs-t approximation (~0.01 here)
    assert 0.3 < stated["power_at_delta"] < 0.9     # one replicate: its own sample variances
    null = stats.ttest_ind(a, gen.normal(0.8, sd, (reps, n)), axis=1, equal_var=False).pvalue < 0.05
    assert abs(null.mean() - 0.05) < 3 * np.sqrt(0.05 * 0.95 / reps)
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert stated["mdd_at_power"] == pytest.approx(z * np.sqrt(stated["sd_rtl"] ** 2 / n + stated["sd_software"] ** 2 / n))
