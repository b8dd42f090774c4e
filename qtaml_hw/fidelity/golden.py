"""NumPy golden model of the RTL GEMM arithmetic (design.md section 5).

The accelerator computes ``O = Pre + A @ W`` with int8 operands and an int32 accumulator
that wraps modulo 2**32 (two's complement), exactly like ``systolic_pe``: each product is
exact (|a*w| <= 2**14), each addition wraps.  Since wrapping after every addition equals
wrapping once at the end (addition is a ring homomorphism Z -> Z/2**32), the golden model
accumulates in int64 and wraps once.
"""

from __future__ import annotations

import numpy as np

from qtaml_hw.errors import QtamlError

INT32_MOD = 1 << 32


def wrap_int32(x) -> np.ndarray:
    """Two's complement wrap of integers to int32: ((x + 2**31) mod 2**32) - 2**31."""
    x = np.asarray(x, dtype=np.int64)
    return (((x + (1 << 31)) % INT32_MOD) - (1 << 31)).astype(np.int32)


def _as_int8(name: str, x) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise QtamlError(f"{name} must be a 2-D matrix, got shape {arr.shape}")
    if arr.dtype != np.int8:
        if not np.issubdtype(arr.dtype, np.integer) or arr.min(initial=0) < -128 or arr.max(initial=0) > 127:
            raise QtamlError(f"{name} must hold int8 values in [-128, 127]")
        arr = arr.astype(np.int8)
    return arr


def gemm_int8_int32(a, w, *, preload=None) -> np.ndarray:
    """``wrap_int32(preload + a @ w)`` for int8 ``a`` (M, K) and ``w`` (K, N); int32 (M, N).

    ``preload`` (M, N) int32 partial sums (default zeros) model a bias or an earlier
    reduction chunk already in the output buffer.
    """
    a8 = _as_int8("activations", a)
    w8 = _as_int8("weights", w)
    if a8.shape[1] != w8.shape[0]:
        raise QtamlError(f"reduction lengths differ: activations {a8.shape}, weights {w8.shape}")
    acc = a8.astype(np.int64) @ w8.astype(np.int64)
    if preload is not None:
        pre = np.asarray(preload)
        if pre.shape != acc.shape:
            raise QtamlError(f"preload must have shape {acc.shape}, got {pre.shape}")
        acc = acc + pre.astype(np.int64)
    return wrap_int32(acc)
