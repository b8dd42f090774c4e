"""Quantized inference and batched seeded faulty evaluation (design.md sections 2, 4, 7)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from qtaml_hw.errors import QtamlError
from qtaml_hw.nn import (MODEL_NAMES, QuantizedModel, build_model, default_sampler, evaluate_faulty,
                         load_dataset, load_model)
from qtaml_hw.memory import FlipModel
from qtaml_hw.stats import t_interval


@pytest.fixture(scope="module")
def digits():
    d = load_dataset("digits")
    return d.x_test[:120], d.y_test[:120]


@pytest.fixture(scope="module")
def lenet_q():
    model, _ = load_model("lenet5")
    return QuantizedModel(model, bits=8)


@pytest.fixture(scope="module")
def mnist_small():
    d = load_dataset("mnist")
    return d.x_test[:100], d.y_test[:100]


def test_layer_info_scale_and_rounding(lenet_q):
    for layer in lenet_q.layers:
        w = lenet_q.model.get_submodule(layer.name).weight.detach().numpy()
        assert layer.shape == w.shape and layer.n_weights == w.size
        assert layer.w_inf == pytest.approx(np.abs(w).max())
        assert float(layer.scale) == pytest.approx(layer.w_inf / 127, rel=1e-6)
        err = np.abs(layer.qtensor.dequantize() - w)
        assert err.max() <= float(layer.scale) / 2 * (1 + 1e-5)
    assert [layer.name for layer in lenet_q.layers] == ["conv1", "conv2", "fc1", "fc2", "fc3"]
    assert lenet_q.n_weights == sum(layer.n_weights for layer in lenet_q.layers)


def test_per_channel_scales(lenet_q):
    q = QuantizedModel(lenet_q.model, bits=8, per_channel=True)
    conv1 = q.layer("conv1")
    assert conv1.scale.shape == (6, 1, 1, 1)
    w = lenet_q.model.conv1.weight.detach().numpy()
    np.testing.assert_allclose(conv1.scale.ravel(), np.abs(w).reshape(6, -1).max(1) / 127, rtol=1e-6)


@pytest.mark.parametrize("arch", MODEL_NAMES)
def test_stacked_forward_equals_one_by_one(arch):
    """vmap over K stacked weight sets == K separate functional calls (incl. depthwise conv, BN, attention)."""
    torch.manual_seed(1)
    q = QuantizedModel(build_model(arch, image_size=8).eval(), bits=8)
    x = torch.rand(5, 1, 8, 8)
    gen = torch.Generator().manual_seed(2)
    weights = {layer.param_name: torch.randn((3, *layer.shape), generator=gen) * 0.2 for layer in q.layers}
    stacked = q.forward_stacked(weights, x)
    for k in range(3):
        with torch.no_grad():
            one = q.forward_with({n: w[k] for n, w in weights.items()}, x)
        torch.testing.assert_close(stacked[k], one, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("engine", ["vmap", "loop"])
def test_trial_identical_alone_or_in_batch(lenet_q, mnist_small, engine):
    x, y = mnist_small
    sampler = default_sampler(FlipModel.symmetric(0.02))
    batched = evaluate_faulty(lenet_q, x, y, trials=8, seed=7, weight_sampler=sampler, batch_trials=64,
                              engine=engine)
    split = evaluate_faulty(lenet_q, x, y, trials=8, seed=7, weight_sampler=sampler, batch_trials=3,
                            engine="loop" if engine == "vmap" else "vmap", max_batch_samples=50)
    np.testing.assert_array_equal(batched.accuracy, split.accuracy)
    np.testing.assert_allclose(batched.loss, split.loss, rtol=1e-5)
    alone = evaluate_faulty(lenet_q, x, y, trials=1, seed=7, weight_sampler=sampler, trial_offset=5, engine=engine)
    assert alone.accuracy[0] == batched.accuracy[5]
    assert alone.loss[0] == pytest.approx(batched.loss[5], rel=1e-5)
    other = evaluate_faulty(lenet_q, x, y, trials=8, seed=8, weight_sampler=sampler)
    assert not np.array_equal(other.loss, batched.loss)
    assert len(set(np.round(batched.loss, 6))) > 1  # trials draw different faults


def test_no_faults_and_full_protection_give_clean_accuracy(lenet_q, mnist_small):
    x, y = mnist_small
    clean = float((lenet_q(x).argmax(1) == y).float().mean())
    r0 = evaluate_faulty(lenet_q, x, y, trials=3, seed=0, weight_sampler=default_sampler(FlipModel.symmetric(0.0)))
    assert r0.clean_accuracy == clean and np.all(r0.accuracy == clean)
    full = default_sampler(FlipModel.symmetric(0.3), {layer.name: 8 for layer in lenet_q.layers})
    r8 = evaluate_faulty(lenet_q, x, y, trials=3, seed=0, weight_sampler=full)
    assert np.all(r8.accuracy == clean) and r8.ci95 == (clean, clean)


def test_faults_degrade_and_protection_helps(lenet_q, mnist_small):
    x, y = mnist_small
    fm = FlipModel.symmetric(0.02)
    plain = evaluate_faulty(lenet_q, x, y, trials=16, seed=3, weight_sampler=default_sampler(fm))
    prot = evaluate_faulty(lenet_q, x, y, trials=16, seed=3,
                           weight_sampler=default_sampler(fm, {layer.name: 3 for layer in lenet_q.layers}))
    assert plain.ci95[1] < prot.ci95[0]            # MSB protection significantly better
    assert plain.mean < plain.clean_accuracy - 0.1  # 2 % flips hurt an unprotected int8 net
    heavy = evaluate_faulty(lenet_q, x, y, trials=8, seed=3, weight_sampler=default_sampler(FlipModel.symmetric(0.5)))
    assert heavy.mean < 0.3                        # random weights: near chance


def test_sampler_flip_rate_matches_p(lenet_q):
    """The sampler's codes flip each unprotected bit with probability p (binomial, 4 SE)."""
    layer = lenet_q.layer("fc1")
    p, trials = 0.01, 4
    sampler = default_sampler(FlipModel.symmetric(p), {"fc1": 2})
    w = sampler(layer, trials, 11, 0)
    v_faulty = np.rint(w / layer.scale).astype(np.int64) & 0xFF
    v_clean = layer.qtensor.values() & 0xFF
    diff = v_faulty ^ v_clean[None]
    bits = (diff[..., None] >> np.arange(8)) & 1
    assert bits[..., 6:].sum() == 0  # protected MSBs never flip
    n = bits[..., :6].size
    rate = bits[..., :6].sum() / n
    assert abs(rate - p) < 4 * np.sqrt(p * (1 - p) / n)


def test_t_interval_and_results():
    v = np.array([0.9, 0.8, 0.85, 0.95, 0.7])
    lo, hi = t_interval(v)
    half = stats.t.ppf(0.975, 4) * v.std(ddof=1) / np.sqrt(5)
    assert (lo, hi) == pytest.approx((v.mean() - half, v.mean() + half))
    assert t_interval(np.array([0.5])) == (0.5, 0.5)


def test_custom_sampler_and_bad_inputs(lenet_q, mnist_small):
    x, y = mnist_small

    def zeros_in_fc3(layer, trials, seed, offset):  # a user sampler: knock out the classifier
        w = np.broadcast_to(layer.qtensor.dequantize(), (trials, *layer.shape)).copy()
        if layer.name == "fc3":
            w[:] = 0.0
        return w

    r = evaluate_faulty(lenet_q, x, y, trials=2, seed=0, weight_sampler=zeros_in_fc3)
    const = int(lenet_q.model.fc3.bias.argmax())  # logits = bias -> one constant prediction
    assert np.all(r.accuracy == pytest.approx(float((y == const).float().mean())))
    with pytest.raises(QtamlError, match="shape"):
        evaluate_faulty(lenet_q, x, y, trials=2, seed=0, weight_sampler=lambda layer, k, s, o: np.zeros((k, 3)))
    with pytest.raises(QtamlError, match="trials"):
        evaluate_faulty(lenet_q, x, y, trials=0, seed=0, weight_sampler=default_sampler(FlipModel.symmetric(0.1)))
    with pytest.raises(QtamlError, match="engine"):
        evaluate_faulty(lenet_q, x, y, trials=1, seed=0, weight_sampler=zeros_in_fc3, engine="gpu")
    with pytest.raises(QtamlError, match="bits"):
        QuantizedModel(lenet_q.model, bits=1)
    with pytest.raises(QtamlError, match="no nn.Linear"):
        QuantizedModel(torch.nn.ReLU())


def test_int8_within_one_point_of_float_on_digits(digits):
    """Quantization alone (no faults) costs < 1 pp for a model trained on another resolution too."""
    x, y = digits
    torch.manual_seed(0)
    from qtaml_hw.nn.train import TrainConfig, accuracy, train_model

    d = load_dataset("digits")
    model = build_model("lenet5", image_size=8)
    train_model(model, d.x_train, d.y_train, cfg=TrainConfig(epochs=3, shift=0.0), seed=0)
    f = accuracy(model, x, y)
    q = accuracy(QuantizedModel(model, bits=8), x, y)
    assert f > 0.8 and abs(f - q) <= 0.01 + 1e-9


@pytest.mark.parametrize("arch", MODEL_NAMES)
def test_loop_engine_bit_identical_to_functional_call(arch):
    """forward_each (weights copied into swapped-in working tensors) == one functional_call per trial, bit for bit."""
    torch.manual_seed(3)
    q = QuantizedModel(build_model(arch, image_size=8).eval(), bits=8)
    x = torch.rand(7, 1, 8, 8)
    gen = torch.Generator().manual_seed(4)
    weights = {layer.param_name: torch.randn((3, *layer.shape), generator=gen) * 0.2 for layer in q.layers}
    originals = dict(q.model.named_parameters())
    clean = q.forward_with({}, x)
    assert torch.equal(q(x), clean)
    for chunk in (7, 3):
        each = q.forward_each(weights, x, chunk)
        assert each.shape == (3, 7, 10)
        for k in range(3):
            wk = {n: w[k] for n, w in weights.items()}
            with torch.no_grad():
                one = torch.cat([q.forward_with(wk, x[i:i + chunk]) for i in range(0, 7, chunk)])
            assert torch.equal(each[k], one)
    first = q.layers[0].param_name  # a subset of the layers: the others run clean
    part = q.forward_each({first: weights[first][1:2]}, x)
    with torch.no_grad():
        assert torch.equal(part[0], q.forward_with({first: weights[first][1]}, x))
    assert torch.equal(q(x), clean)
    assert all(p is originals[n] for n, p in q.model.named_parameters())  # the float weights are back
    with pytest.raises(QtamlError, match="not memory weights"):
        q.forward_each({first.replace("weight", "bias"): torch.zeros(3, 1)}, x)


def test_swapped_weights_keep_the_model_shared_and_hooked(lenet_q, mnist_small):
    """The clean forward runs the wrapped model itself: bias changes and forward hooks act on it."""
    x = mnist_small[0][:20]
    q = QuantizedModel(lenet_q.model, bits=8)
    before = q(x)
    seen = []
    handle = q.model.fc3.register_forward_hook(lambda m, inp, out: seen.append(m.weight.clone()))
    with torch.no_grad():
        q.model.fc3.bias.add_(1.0)
        try:
            assert torch.equal(q(x), q.forward_with({}, x))
            torch.testing.assert_close(q(x), before + 1.0)
        finally:
            q.model.fc3.bias.sub_(1.0)
            handle.remove()
    assert torch.equal(seen[0], q._clean["fc3.weight"])  # the hook saw the dequantized weight
    assert not torch.equal(q.model.fc3.weight, q._clean["fc3.weight"])  # float weight outside the call


@pytest.mark.parametrize("code", ["twos", "offset", "signmag"])
@pytest.mark.parametrize("bits,per_channel", [(8, False), (8, True), (4, True), (16, False), (16, True)])
def test_table_dequantizer_equals_dequantize(code, bits, per_channel):
    """default_sampler's lookup-table dequantization == QuantizedTensor.dequantize, bit for bit."""
    from qtaml_hw.memory import quantize
    from qtaml_hw.nn.evaluate import _dequantizer

    rng = np.random.default_rng(bits)
    w = rng.normal(size=(20, 3, 5)) * rng.uniform(0.1, 2.0, size=(20, 1, 1))  # 20 channels: 16-bit table too big
    qt = quantize(w, bits=bits, per_channel=per_channel, code=code)
    codes = rng.integers(0, 1 << bits, size=(4, *w.shape)).astype(qt.codes.dtype)
    got = _dequantizer(qt)(codes)
    assert got.dtype == np.float32 and np.array_equal(got, qt.dequantize(codes))


def test_default_sampler_equals_flip_then_dequantize(lenet_q):
    from qtaml_hw.memory import flip_bits

    layer = lenet_q.layer("fc1")
    fm = FlipModel.symmetric(0.01)
    w = default_sampler(fm, {"fc1": 2})(layer, 3, 9, 4)
    codes = flip_bits(layer.qtensor.codes, bits=8, flip_model=fm, trials=3, seed=9, trial_offset=4,
                      protect_msb=2, key="inject/fc1")
    assert w.dtype == np.float32 and np.array_equal(w, layer.qtensor.dequantize(codes))
