"""Training is a pure function of the seed (checkpoints reproducible by `make models`)."""

from __future__ import annotations

import pytest
import torch

from qtaml_hw.errors import QtamlError
from qtaml_hw.nn import build_model, load_dataset
from qtaml_hw.nn.train import TrainConfig, random_shift, torch_generator, train_model


def _train(seed):
    d = load_dataset("digits")
    model = build_model("lenet5", image_size=8)
    hist = train_model(model, d.x_train[:256], d.y_train[:256], cfg=TrainConfig(epochs=2, batch_size=32), seed=seed)
    return model.state_dict(), hist


def test_same_seed_same_weights_other_seed_differs():
    a, ha = _train(3)
    b, _ = _train(3)
    c, _ = _train(4)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["fc1.weight"], c["fc1.weight"])
    assert ha[-1]["loss"] < ha[0]["loss"]


def test_random_shift_translates_by_whole_pixels():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 3, 3] = 1.0
    g = torch_generator(0, "t")
    y = random_shift(x, max_shift=0.0, generator=g)
    torch.testing.assert_close(y, x)
    y = random_shift(x.repeat(64, 1, 1, 1), max_shift=2.0, generator=g)
    # a +-2 px shift keeps the pixel at (3, 3) inside the 8x8 image: mass moved, not lost
    assert torch.allclose(y.sum((1, 2, 3)), torch.ones(64), atol=1e-5)
    assert not torch.allclose(y[0], y[1])


def test_bad_config():
    with pytest.raises(QtamlError):
        TrainConfig(epochs=0)
    with pytest.raises(QtamlError, match="unknown optimizer"):
        TrainConfig(optimizer="lion")


def test_sgd_optimizer_is_sgd_with_momentum_and_trains_deterministically():
    """``optimizer = "sgd"``: torch SGD, momentum 0.9, the recipe's weight decay; same seed, same
    weights; a different model from the AdamW run; the manifest label says which."""
    cfg = TrainConfig(epochs=2, batch_size=32, lr=0.05, optimizer="sgd")
    opt = cfg.make_optimizer(torch.nn.Linear(2, 2).parameters())
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["momentum"] == 0.9
    assert opt.defaults["weight_decay"] == cfg.weight_decay
    assert cfg.optimizer_label == "SGD(momentum 0.9)+OneCycle" and TrainConfig().optimizer_label == "AdamW+OneCycle"
    d = load_dataset("digits")
    runs = []
    for c in (cfg, cfg, TrainConfig(epochs=2, batch_size=32, lr=0.05)):
        model = build_model("lenet5", image_size=8)
        hist = train_model(model, d.x_train[:256], d.y_train[:256], cfg=c, seed=1)
        runs.append((model.state_dict(), hist))
    assert all(torch.equal(runs[0][0][k], runs[1][0][k]) for k in runs[0][0])
    assert not torch.equal(runs[0][0]["fc1.weight"], runs[2][0]["fc1.weight"])
    assert runs[0][1][-1]["loss"] < runs[0][1][0]["loss"]
