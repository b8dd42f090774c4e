"""Noise-aware training (STE through quantization + leakage flips, robustness loss) and SRLs (design.md section 8)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel, decode_codes, flip_bits, quantize
from qtaml_hw.nn import build_model, load_dataset
from qtaml_hw.nn.robust import NoiseAwareConfig, NoiseAwareStep, faulty_ste, quantize_ste
from qtaml_hw.nn.rng import torch_generator
from qtaml_hw.nn.srl import COMPONENTS, StochasticResidual, seed_noise


def test_ste_forward_is_the_faulty_memory_read_and_backward_is_identity():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(6, 5, generator=g, requires_grad=True)
    fm = FlipModel(0.2, 0.05)
    out = faulty_ste(w, flip_model=fm, bits=8, protect_msb=2, seed=7, step=3, key="k")
    qt = quantize(w.detach().numpy(), bits=8)  # the same draw, straight from the memory model
    codes = flip_bits(qt.codes, bits=8, flip_model=fm, trials=1, seed=7, trial_offset=3, protect_msb=2, key="k")[0]
    expect = decode_codes(codes, bits=8, code="twos") * qt.scale
    np.testing.assert_allclose(out.detach().numpy(), expect, rtol=1e-6, atol=1e-7)
    assert not np.allclose(out.detach().numpy(), qt.dequantize())  # p = 0.2: some weights did flip
    top = (codes.astype(np.int64) >> 6) & 3  # protected top 2 bits equal the clean ones
    assert np.array_equal(top, (qt.codes.astype(np.int64) >> 6) & 3)
    c = torch.randn(6, 5, generator=g)
    (out * c).sum().backward()
    torch.testing.assert_close(w.grad, c)  # straight-through: d/dw = d/dw~
    w.grad = None
    (quantize_ste(w) * c).sum().backward()
    torch.testing.assert_close(w.grad, c)


def test_noise_aware_step_loss_and_determinism():
    d = load_dataset("digits")
    x, y = d.x_train[:32], d.y_train[:32]

    def grads(seed, p10, lam):
        torch.manual_seed(0)
        model = build_model("lenet5", image_size=8)
        step = NoiseAwareStep(NoiseAwareConfig(p10=p10, r=0.1, lambda_rob=lam), seed=seed)
        loss = step(model, x, y, epoch=0, batch_index=0)
        return float(loss.detach()), model.conv1.weight.grad.clone(), step.last_rob

    l1, g1, rob1 = grads(1, 0.05, 1.0)
    l2, g2, _ = grads(1, 0.05, 1.0)
    l3, g3, _ = grads(2, 0.05, 1.0)
    assert l1 == l2 and torch.equal(g1, g2)  # same seed: same flips, same gradient
    assert not torch.equal(g1, g3)
    assert rob1 > 0  # KL between clean-quantized and faulty predictions
    _, _, rob0 = grads(1, 0.0, 1.0)
    assert rob0 == pytest.approx(0.0, abs=1e-9)  # no flips: f_noisy == f_q


@pytest.mark.parametrize("kw", [{"lambda_rob": -1.0}, {"p10": 1.5}, {"r": 2.0}, {"protect_default": 9}])
def test_noise_aware_config_rejects(kw):
    with pytest.raises(QtamlError):
        NoiseAwareConfig(**kw)


def test_srl_formula_shapes_and_gradients():
    layer = StochasticResidual(4, sigma=0.3)
    with torch.no_grad():
        layer.alpha_logit.copy_(torch.tensor([0.0, 1.0, -1.0, 2.0]))
    x = torch.randn(2, 4, 3, 3, requires_grad=True)
    fx = torch.randn(2, 4, 3, 3, requires_grad=True)
    layer.eval()  # eval: the noise term is its mean, 0
    a = torch.sigmoid(layer.alpha_logit).reshape(1, 4, 1, 1)
    torch.testing.assert_close(layer(x, fx), a * x + (1 - a) * fx)
    layer.train()
    seed_noise(layer, torch_generator(0, "srl"))
    y = layer(x, fx)
    assert y.shape == x.shape
    y.square().sum().backward()
    for t in (x.grad, fx.grad, layer.alpha_logit.grad, layer.mix_logits.grad):
        assert t is not None and torch.isfinite(t).all() and t.abs().sum() > 0
    with pytest.raises(QtamlError):
        layer(x, fx[:, :2])


def test_srl_noise_variance_is_sigma_squared_times_mixture():
    """x = F(x) = 1: components 1 and 2 have unit variance, the rounding one (1/127)^2."""
    layer = StochasticResidual(8, sigma=0.5)
    seed_noise(layer, torch_generator(1, "srl"))
    with torch.no_grad():
        layer.mix_logits.copy_(torch.tensor([0.0, 1.0, -0.5]))
    ones = torch.ones(4000, 8)
    layer.channel_dim = 1
    with torch.no_grad():
        n = layer.noise(ones, ones)
    w = torch.softmax(layer.mix_logits.detach(), 0)
    var = 0.25 * float(w[0] + w[1] + w[2] / 127 ** 2)
    est = float(n.var())
    se = var * (2 / (n.numel() - 1)) ** 0.5
    assert abs(est - var) < 4 * se
    assert len(COMPONENTS) == 3


@pytest.mark.parametrize("arch", ["srl_resnet", "srl_vit"])
def test_srl_models_shapes_gradients_and_seeded_noise(arch):
    model = build_model(arch, image_size=8)
    x = torch.randn(3, 1, 8, 8)
    assert seed_noise(model, torch_generator(0, "srl")) >= 3
    y1 = model(x)
    seed_noise(model, torch_generator(0, "srl"))
    y2 = model(x)
    assert y1.shape == (3, 10) and torch.equal(y1, y2)  # noise only from the seeded generator
    y1.sum().backward()
    alphas = [p for n, p in model.named_parameters() if n.endswith("alpha_logit") or n.endswith("mix_logits")]
    assert alphas and all(p.grad is not None and p.grad.abs().sum() > 0 for p in alphas)
    model.eval()
    torch.testing.assert_close(model(x), model(x))
