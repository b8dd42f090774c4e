"""examples/custom_model.py runs: a user's own nn.Module + DataLoader through the same API."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from qtaml_hw.errors import QtamlError
from qtaml_hw.nn import tensors_from_loader

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_model.py"


@pytest.mark.slow  # trains the example's model (6 epochs); the loader API is tested below
def test_custom_model_example(capsys):
    main = runpy.run_path(str(EXAMPLE))["main"]
    res = main(["--trials", "8", "--p-flip", "0.02", "--epochs", "6"])
    assert res["float_accuracy"] > 0.85
    assert abs(res["float_accuracy"] - res["int8_accuracy"]) <= 0.02
    assert res["faulty_ci95"][1] < res["protected_ci95"][0]  # protecting 2 MSBs helps significantly
    assert [name for name, _, _ in res["layers"]] == ["body.0", "head"]
    assert "faulty_top2_protected" in capsys.readouterr().out


def test_tensors_from_loader():
    x, y = torch.arange(20.0).reshape(10, 2), torch.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=3)
    gx, gy = tensors_from_loader(loader)
    assert torch.equal(gx, x) and torch.equal(gy, y)
    gx, gy = tensors_from_loader(loader, max_samples=4)
    assert torch.equal(gy, y[:4])
    with pytest.raises(QtamlError, match="no batches"):
        tensors_from_loader([])
    with pytest.raises(QtamlError, match="inputs, labels"):
        tensors_from_loader([x])
