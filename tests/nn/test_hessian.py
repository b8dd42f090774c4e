"""Hutchinson trace vs the exact trace, and Algorithm 1's schedule (design.md section 8; seed 003)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from qtaml_hw.errors import QtamlError
from qtaml_hw.nn import build_model, load_dataset
from qtaml_hw.nn.hessian import HessianConfig, HessianStep, exact_trace, hutchinson_samples, measure_trace
from qtaml_hw.nn.methods import MethodSpec
from qtaml_hw.nn.rng import torch_generator


def test_exact_trace_of_a_quadratic():
    q = torch.tensor([[3.0, 1.0], [1.0, -2.0]])
    w = torch.tensor([0.5, -1.0], requires_grad=True)
    assert exact_trace(lambda: 0.5 * w @ q @ w, [w]) == pytest.approx(1.0)


def test_hutchinson_matches_exact_trace_on_a_small_model():
    g = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    with torch.no_grad():  # weights from the test's generator, not the global RNG (order-independent)
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    x, y = torch.randn(16, 4, generator=g), torch.randint(0, 3, (16,), generator=g)
    params = [model[0].weight, model[2].weight]

    def loss_fn():
        return F.cross_entropy(model(x), y)

    exact = exact_trace(loss_fn, params)
    s = hutchinson_samples(loss_fn(), params, n_iter=400, generator=torch_generator(0, "h")).detach().numpy()
    se = s.std(ddof=1) / np.sqrt(s.size)
    assert abs(s.mean() - exact) < 4 * se  # unbiased: E[v^T H v] = tr(H)
    assert se < 0.3 * abs(exact)  # and the test has power


def test_algorithm1_schedule_and_alpha():
    d = load_dataset("digits")
    x, y = d.x_train[:16], d.y_train[:16]
    model = build_model("lenet5", image_size=8)
    step = HessianStep(HessianConfig(n_reg=1, n_iter=1), seed=0)
    for epoch, b in ((0, 1), (0, 3), (1, 0), (1, 1), (1, 2), (1, 3)):
        model.zero_grad()
        step(model, x, y, epoch=epoch, batch_index=b)
    assert len(step.traces) == 2  # epoch 2 only (> NReg = 1), minibatch ids 2 and 4
    # the regularised step's gradient = grad(loss) + alpha grad(trace), alpha = 0.1 |loss| / |trace|
    model.zero_grad()
    gen_state = step.generator.get_state()
    step(model, x, y, epoch=1, batch_index=1)
    reg_grad = model.conv1.weight.grad.clone()
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    plain = model.conv1.weight.grad.clone()
    assert not torch.allclose(reg_grad, plain)
    step.generator.set_state(gen_state)
    params = [m.weight for m in (model.conv1, model.conv2, model.fc1, model.fc2, model.fc3)]
    loss = F.cross_entropy(model(x), y)
    tr = hutchinson_samples(loss, params, n_iter=1, generator=step.generator, create_graph=True).mean()
    alpha = 0.1 * abs(float(loss.detach())) / abs(float(tr.detach()))
    expect = torch.autograd.grad(loss + alpha * tr, model.conv1.weight)[0]
    torch.testing.assert_close(reg_grad, expect, rtol=1e-4, atol=1e-6)


def test_measure_trace_deterministic_and_bad_config():
    d = load_dataset("digits")
    model = build_model("lenet5", image_size=8)
    a = measure_trace(model, d.x_train[:64], d.y_train[:64], n_iter=4, seed=1)
    b = measure_trace(model, d.x_train[:64], d.y_train[:64], n_iter=4, seed=1)
    assert a == b and a["ci95"][0] <= a["trace"] <= a["ci95"][1]
    for kw in ({"n_reg": -1}, {"scale": -0.1}, {"n_iter": 0}):
        with pytest.raises(QtamlError):
            HessianConfig(**kw)


def test_nreg_defaults_follow_algorithm_1_schedule():
    """Fine-tuning: the reference is the plain part, the regulariser is on from the first epoch;
    from scratch: plain for the first half; an explicit --nreg wins."""
    spec = MethodSpec(method="hessian")
    assert spec.hyperparameters("vit", 4)["n_reg"] == 0
    assert spec.hyperparameters("lenet5", 2)["n_reg"] == 0
    assert MethodSpec(method="hessian", pretrained=False).n_reg_for(60, "vit") == 30
    assert MethodSpec(method="hessian", n_reg=2).hyperparameters("vit", 4)["n_reg"] == 2
    with pytest.raises(QtamlError):
        MethodSpec(method="hessian", n_reg=4).check_epochs(4)


def _bn_net(seed: int = 0) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        model[1].running_mean.copy_(torch.randn(4, generator=g))  # running statistics far from a batch's own
        model[1].running_var.copy_(torch.rand(4, generator=g) * 3 + 0.5)
    return model


@pytest.mark.parametrize("mode", ["deployed", "train"])
def test_batchnorm_trace_mode_regularises_the_chosen_function(mode):
    """With BatchNorm, ``deployed`` regularises the eval-mode (running-statistics) Hessian trace and
    ``train`` the batch-statistics one; the task loss is the training-mode loss in both, and the
    eval-mode forward leaves the running statistics to the training forward alone."""
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(16, 1, 8, 8, generator=g), torch.randint(0, 3, (16,), generator=g)
    model = _bn_net()
    model.train()
    step = HessianStep(HessianConfig(n_reg=0, n_iter=2, trace_mode=mode), seed=0)
    gen_state = step.generator.get_state()
    stats_before = model[1].running_mean.clone()
    ref = _bn_net()
    ref.train()
    F.cross_entropy(ref(x), y)  # the one training-mode forward the step should also make
    step(model, x, y, epoch=0, batch_index=1)
    assert model.training
    torch.testing.assert_close(model[1].running_mean, ref[1].running_mean)
    assert not torch.allclose(model[1].running_mean, stats_before)
    got = model[0].weight.grad.clone()

    fresh = _bn_net()
    fresh.train()
    loss = F.cross_entropy(fresh(x), y)
    if mode == "deployed":
        fresh.eval()
        trace_loss = F.cross_entropy(fresh(x), y)
        fresh.train()
    else:
        trace_loss = loss
    gen = torch_generator(0, "x")
    gen.set_state(gen_state)
    params = [fresh[0].weight, fresh[4].weight]
    tr = hutchinson_samples(trace_loss, params, n_iter=2, generator=gen, create_graph=True).mean()
    assert step.traces == [pytest.approx(float(tr.detach()))]
    alpha = 0.1 * abs(float(loss.detach())) / abs(float(tr.detach()))
    expect = torch.autograd.grad(loss + alpha * tr, fresh[0].weight)[0]
    torch.testing.assert_close(got, expect, rtol=1e-4, atol=1e-6)


def test_deployed_trace_differs_from_training_mode_trace_with_batchnorm():
    """The two modes see different Hessians on a BatchNorm net (the reason for ``deployed``), and the
    same one on a net without BatchNorm."""
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(16, 1, 8, 8, generator=g), torch.randint(0, 3, (16,), generator=g)
    traces = {}
    for mode in ("deployed", "train"):
        model = _bn_net()
        model.train()
        step = HessianStep(HessianConfig(n_reg=0, n_iter=4, trace_mode=mode), seed=0)
        step(model, x, y, epoch=0, batch_index=1)
        traces[mode] = step.traces[0]
    assert traces["deployed"] != pytest.approx(traces["train"], rel=1e-3)
    d = load_dataset("digits")
    for_lenet = []
    for mode in ("deployed", "train"):
        torch.manual_seed(0)  # the same initial weights for both modes
        model = build_model("lenet5", image_size=8)
        step = HessianStep(HessianConfig(n_reg=0, n_iter=1, trace_mode=mode), seed=0)
        step(model, d.x_train[:16], d.y_train[:16], epoch=0, batch_index=1)
        for_lenet.append(step.traces[0])
    assert for_lenet[0] == for_lenet[1]
    with pytest.raises(QtamlError, match="trace mode"):
        HessianConfig(trace_mode="eval")


def test_running_alpha_divides_by_the_mean_estimate_so_far():
    """``alpha_from = "running"``: alpha = 0.1 |loss| / mean(|trace estimates so far|), not this step's."""
    d = load_dataset("digits")
    x, y = d.x_train[:16], d.y_train[:16]
    torch.manual_seed(0)
    model = build_model("lenet5", image_size=8)
    step = HessianStep(HessianConfig(n_reg=0, n_iter=1, alpha_from="running"), seed=0)
    model.zero_grad()
    step(model, x, y, epoch=0, batch_index=1)
    gen_state = step.generator.get_state()
    model.zero_grad()
    snapshot = {k: v.clone() for k, v in model.state_dict().items()}
    step(model, x, y, epoch=0, batch_index=3)
    got = model.conv1.weight.grad.clone()
    model.load_state_dict(snapshot)
    step.generator.set_state(gen_state)
    params = [m.weight for m in (model.conv1, model.conv2, model.fc1, model.fc2, model.fc3)]
    loss = F.cross_entropy(model(x), y)
    tr = hutchinson_samples(loss, params, n_iter=1, generator=step.generator, create_graph=True).mean()
    assert step.traces[1] == pytest.approx(float(tr.detach()))
    alpha = 0.1 * abs(float(loss.detach())) / np.mean(np.abs(step.traces))
    assert np.mean(np.abs(step.traces)) != pytest.approx(abs(step.traces[1]))  # the two rules differ here
    expect = torch.autograd.grad(loss + alpha * tr, model.conv1.weight)[0]
    torch.testing.assert_close(got, expect, rtol=1e-4, atol=1e-6)
    with pytest.raises(QtamlError, match="alpha source"):
        HessianConfig(alpha_from="ema")
