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
