"""Memory images of a GEMM tile for ``rtl/accel_top.v`` (design.md section 5).

- Weight SRAM: tile p = W[p*N:(p+1)*N, :] flattened row-major (index r*N + c), 8 int8
  weights per 64-bit word, weight g of a word in bits [8g, 8g+8); tile p occupies words
  p*L .. p*L+L-1 with L = N*N/8.  Since a word holds 8 consecutive weights of the layer's
  flattened order, the ECC bit-plane placement of the contract applies unchanged.
- Activation buffer: row word p*MaxRows + m holds A[m][p*N + r] in byte r (N bytes).
- Output buffer: row word m holds O[m][c] (int32, two's complement) in bits [32c, 32c+32).
"""

from __future__ import annotations

import numpy as np

from qtaml_hw.errors import QtamlError

WEIGHTS_PER_WORD = 8


def check_tile(*, n: int, rows: int, k: int, max_rows: int, max_passes: int) -> int:
    """Validate a tile shape for an N x N array; returns the number of passes K/N."""
    if n not in (4, 8, 16):
        raise QtamlError(f"array size N must be 4, 8 or 16, got {n}")
    if not 1 <= rows <= max_rows:
        raise QtamlError(f"rows must be in [1, {max_rows}], got {rows}")
    if k < n or k % n:
        raise QtamlError(f"reduction length K must be a positive multiple of N={n}, got {k}")
    passes = k // n
    if passes > max_passes:
        raise QtamlError(f"K={k} needs {passes} passes; this build allows at most {max_passes} (K <= {n * max_passes})")
    return passes


def weight_words(w: np.ndarray, *, n: int) -> np.ndarray:
    """SRAM image (uint64 words, in address order) of the weight matrix ``w`` (K, N)."""
    w8 = np.ascontiguousarray(np.asarray(w, dtype=np.int8))
    k = w8.shape[0]
    if w8.shape[1] != n or k % n:
        raise QtamlError(f"weights must have shape (P*{n}, {n}), got {w8.shape}")
    flat = w8.reshape(k // n, n * n)  # pass-major, then r*N + c
    return flat.view(np.uint8).reshape(-1, WEIGHTS_PER_WORD).copy().view("<u8").reshape(-1)


def weights_from_words(words: np.ndarray, *, n: int) -> np.ndarray:
    """Inverse of :func:`weight_words`: (K, N) int8 from the SRAM image."""
    b = np.ascontiguousarray(np.asarray(words, dtype="<u8")).view(np.uint8).view(np.int8)
    return b.reshape(-1, n, n).reshape(-1, n).copy()


def row_words(a: np.ndarray, *, n: int, max_rows: int) -> dict[int, int]:
    """Activation buffer image {row-word address: integer value} for ``a`` (M, K)."""
    a8 = np.asarray(a, dtype=np.int8)
    m, k = a8.shape
    out = {}
    for p in range(k // n):
        chunk = a8[:, p * n:(p + 1) * n].view(np.uint8)
        for row in range(m):
            out[p * max_rows + row] = int.from_bytes(chunk[row].tobytes(), "little")
    return out


def pack_int32_row(values) -> int:
    """Output-buffer row word from N int32 values (value c in bits [32c, 32c+32))."""
    v = np.asarray(values, dtype=np.int32).view(np.uint32).astype("<u4")
    return int.from_bytes(v.tobytes(), "little")


def unpack_int32_row(word: int, *, n: int) -> np.ndarray:
    """N int32 values from an output-buffer row word."""
    return np.frombuffer(int(word).to_bytes(4 * n, "little"), dtype="<i4").astype(np.int32)
