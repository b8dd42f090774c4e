"""Datasets (fixed stratified split) and the five architectures (design.md section 4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qtaml_hw.errors import QtamlError
from qtaml_hw.nn import MODEL_NAMES, build_model, load_dataset, weight_layers


@pytest.mark.parametrize("name,n_train,n_test,side", [("mnist", 4000, 1000, 28), ("digits", 1437, 360, 8)])
def test_split_sizes_ranges_and_stratification(name, n_train, n_test, side):
    d = load_dataset(name)
    assert d.x_train.shape == (n_train, 1, side, side) and d.x_test.shape == (n_test, 1, side, side)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert float(d.x_train.min()) >= 0.0 and float(d.x_train.max()) <= 1.0 and float(d.x_train.max()) > 0.9
    # stratified: every class's share of the test split matches the train split within one image
    tr = np.bincount(d.y_train.numpy(), minlength=10) / n_train
    te = np.bincount(d.y_test.numpy(), minlength=10)
    assert np.all(np.abs(te - tr * n_test) <= 1.0)


def test_split_is_fixed():
    a, b = load_dataset("digits"), load_dataset("digits")
    assert torch.equal(a.x_test, b.x_test) and torch.equal(a.y_train, b.y_train)
    # disjoint train and test images
    tr = {bytes(r) for r in a.x_train.numpy().reshape(len(a.x_train), -1)}
    assert sum(bytes(r) in tr for r in a.x_test.numpy().reshape(len(a.x_test), -1)) <= 5  # digits has a few duplicates


@pytest.mark.integration  # imports scikit-learn and starts a Python: seconds
def test_shipped_split_is_scikit_learns_and_loading_does_not_import_it():
    """splits.npz equals train_test_split's rows (the documented split), the digits pixels equal
    load_digits(), and load_dataset runs without importing scikit-learn (~3.7 s per process)."""
    import subprocess
    import sys

    from sklearn.datasets import load_digits

    from qtaml_hw.nn import data

    for name in data.DATASET_NAMES:
        for mine, theirs in zip(data.split_rows(name), data.sklearn_split(name)):
            np.testing.assert_array_equal(mine, theirs)
    d = load_digits()
    x, y, _, _ = data._raw("digits")
    np.testing.assert_array_equal(x, d.data / 16.0 * 255.0)
    np.testing.assert_array_equal(y, d.target)
    code = ("import sys; from qtaml_hw.nn.data import load_dataset; load_dataset('digits'); "
            "sys.exit(1 if 'sklearn' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_unreadable_split_file_is_one_clear_error(tmp_path, monkeypatch):
    from qtaml_hw.nn import data

    bad = tmp_path / "splits.npz"
    bad.write_bytes(b"not a zip")
    monkeypatch.setattr(data, "SPLITS_PATH", bad)
    data.split_rows.cache_clear()
    try:
        with pytest.raises(QtamlError, match="cannot read the digits split"):
            load_dataset("digits")
    finally:
        data.split_rows.cache_clear()


def test_unknown_dataset():
    with pytest.raises(QtamlError, match="unknown dataset"):
        load_dataset("cifar")


@pytest.mark.parametrize("arch", MODEL_NAMES)
@pytest.mark.parametrize("side", [28, 8])
def test_architectures_forward_and_have_memory_layers(arch, side):
    model = build_model(arch, image_size=side).eval()
    out = model(torch.rand(3, 1, side, side))
    assert out.shape == (3, 10)
    layers = weight_layers(model)
    assert len(layers) >= 3
    assert sum(p.numel() for p in model.parameters()) < 250_000  # checkpoint well under 1 MB


def test_architectures_differ_in_shape():
    kinds = {}
    for arch in MODEL_NAMES:
        mods = [m for _, m in weight_layers(build_model(arch))]
        kinds[arch] = (sum(isinstance(m, torch.nn.Conv2d) for m in mods),
                       sum(isinstance(m, torch.nn.Conv2d) and m.groups > 1 for m in mods),
                       sum(isinstance(m, torch.nn.Linear) for m in mods))
    assert kinds["mobilenet"][1] > 0          # depthwise convolutions
    assert kinds["vit"][0] == 0 and kinds["vit"][2] > 6  # transformer: Linear only
    assert kinds["resnet"][0] > kinds["lenet5"][0]


def test_unknown_architecture_and_bad_config():
    with pytest.raises(QtamlError, match="unknown architecture"):
        build_model("alexnet")
    with pytest.raises(QtamlError, match="bad config"):
        build_model("lenet5", width=3)
