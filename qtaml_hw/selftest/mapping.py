"""PE test patterns -> GEMM tiles through the array's dataflow; array-level fault simulation.

Dataflow (``qtaml_hw.fidelity.schedule``, design.md sections 5, 9): in pass p of a run with
tile (A, W, Pre), PE(r, c) multiplies ``a = A[m][pN+r]`` by its stationary weight
``w = W[pN+r][c]`` and adds the partial sum arriving from its north neighbour,

    psum_in(p, m, r, c) = Pre_p[m][c] + sum_{r' < r} A[m][pN+r'] W[pN+r'][c]   (mod 2^32),

with ``Pre_0`` the preloaded output buffer and ``Pre_{p+1}`` the result of pass p
(:func:`pe_operands`, computed with the golden model).  Activations are shared along an
array row (every PE of row r sees ``A[m][r]``), weights are per PE and fixed for a pass, and
of the N partial sums in a column only the top one (``Pre[m][c]``) is free.

Mapping (:func:`map_patterns`), one pass per run: in run j, PE(r, c) is assigned pattern
``t = (j + r N + c) mod T`` of the T PE patterns (a_t, w_t, s_t), so over T runs every PE
gets every pattern; ``W[r][c] = w_t``.  Row m of the tile has diagonal shift s = m: its
*target* in column c is PE((c + s) mod N, c), which is the only target in array row
r = (c + s) mod N, so ``A[m][r] = a_t`` of that target without conflict, and
``Pre[m][c] = s_t - sum_{r' < r} A[m][r'] W[r'][c]`` puts exactly s_t on its partial-sum
input.  N shifts (rows) target every PE once; with ``max_rows < N`` the shifts are split
over ceil(N / max_rows) runs.  The other PEs of a column see (a, w) of the tile and a
chained partial sum: extra patterns, counted by the fault simulation, never assumed.

Array-level detection (:func:`array_detection`): a single stuck-at fault f sits in one PE.
Every other PE is fault-free and adds a fixed value to the partial sum passing through
(a bijection of Z/2^32), so an error e in the faulty PE's output reaches the column's
output buffer unchanged; with several passes the faulty PE's next pass sees ``psum + e``.
The simulator therefore carries per fault the error E (mod 2^32) of every output word,
feeds ``psum_in + E`` to the faulty PE in the next pass and sets ``E <- MAC_f(a, w,
psum_in + E) - (psum_in + a w)``; f is detected iff some final E is nonzero.  The RTL tests
compare these predictions with the simulators running the tiles with the fault built in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.fidelity.golden import gemm_int8_int32, wrap_int32
from qtaml_hw.fidelity.schedule import GemmSchedule
from qtaml_hw.selftest.faultsim import faulty_outputs, pack
from qtaml_hw.selftest.netlist import Netlist

MOD32 = 1 << 32


@dataclass(frozen=True)
class Tile:
    """One accelerator run: A (M, P N) int8, W (P N, N) int8, preload (M, N) int32."""

    a: np.ndarray
    w: np.ndarray
    pre: np.ndarray

    def __post_init__(self):
        m, k = self.a.shape
        if self.w.shape[0] != k or k % self.w.shape[1] or self.pre.shape != (m, self.w.shape[1]):
            raise QtamlError(f"inconsistent tile shapes A {self.a.shape}, W {self.w.shape}, Pre {self.pre.shape}")

    @property
    def n(self) -> int:
        return int(self.w.shape[1])

    @property
    def rows(self) -> int:
        return int(self.a.shape[0])

    @property
    def passes(self) -> int:
        return int(self.a.shape[1]) // self.n

    def expected(self) -> np.ndarray:
        """Golden output ``wrap_int32(Pre + A W)``."""
        return gemm_int8_int32(self.a, self.w, preload=self.pre)

    def schedule(self) -> GemmSchedule:
        return GemmSchedule(n=self.n, rows=self.rows, passes=self.passes)


def as_signed(values, bits: int) -> np.ndarray:
    v = np.asarray(values, np.int64) & ((1 << bits) - 1)
    return np.where(v >= (1 << (bits - 1)), v - (1 << bits), v)


def map_patterns(patterns: dict, *, n: int, max_rows: int) -> list[Tile]:
    """GEMM tiles applying every PE pattern (ports ``a_q``, ``w_q``, ``psum_i``) to every PE (module docstring)."""
    a_t = as_signed(patterns["a_q"], 8)
    w_t = as_signed(patterns["w_q"], 8)
    s_t = as_signed(patterns["psum_i"], 32)
    t_count = len(a_t)
    if t_count == 0:
        raise QtamlError("no patterns to map")
    rows_per_run = min(n, max_rows)
    tiles = []
    r_idx, c_idx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    for j in range(t_count):
        pat = (j + r_idx * n + c_idx) % t_count          # pattern of PE(r, c) in this run
        w = w_t[pat].astype(np.int8)
        for s0 in range(0, n, rows_per_run):
            shifts = np.arange(s0, min(s0 + rows_per_run, n))
            a = np.zeros((len(shifts), n), np.int64)
            pre = np.zeros((len(shifts), n), np.int64)
            for m, s in enumerate(shifts):
                targets_r = (np.arange(n) + s) % n        # target row of column c
                a[m, targets_r] = a_t[pat[targets_r, np.arange(n)]]
            for m, s in enumerate(shifts):
                for c in range(n):
                    r = (c + s) % n
                    above = int(a[m, :r] @ w[:r, c].astype(np.int64))
                    pre[m, c] = s_t[pat[r, c]] - above
            tiles.append(Tile(a.astype(np.int8), w, wrap_int32(pre)))
    return tiles


def pe_operands(tile: Tile) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, w, psum_in) of every PE in every pass and row: arrays (P, N, N, M) (module docstring)."""
    n, m, passes = tile.n, tile.rows, tile.passes
    a_op = np.zeros((passes, n, n, m), np.int64)
    w_op = np.zeros_like(a_op)
    ps_op = np.zeros_like(a_op)
    pre = tile.pre
    for p in range(passes):
        ks = slice(p * n, (p + 1) * n)
        a_p, w_p = tile.a[:, ks], tile.w[ks]
        for r in range(n):
            above = gemm_int8_int32(a_p[:, :r], w_p[:r], preload=pre) if r else pre
            a_op[p, r] = a_p[:, r][None, :]
            w_op[p, r] = w_p[r][:, None]
            ps_op[p, r] = above.T
        pre = gemm_int8_int32(a_p, w_p, preload=pre)
    return a_op, w_op, ps_op


def stacked_operands(tiles: list[Tile]):
    """Operands of all tiles side by side: (a, w, psum, active) each (P_max, N, N, columns);
    a column is one (tile, row) pair; passes beyond a tile's count are inactive."""
    n = tiles[0].n
    pmax = max(t.passes for t in tiles)
    cols = sum(t.rows for t in tiles)
    a = np.zeros((pmax, n, n, cols), np.int64)
    w, ps = np.zeros_like(a), np.zeros_like(a)
    active = np.zeros((pmax, cols), bool)
    c0 = 0
    for t in tiles:
        if t.n != n:
            raise QtamlError("all tiles must be for the same array size")
        ao, wo, po = pe_operands(t)
        sl = slice(c0, c0 + t.rows)
        a[: t.passes, :, :, sl], w[: t.passes, :, :, sl], ps[: t.passes, :, :, sl] = ao, wo, po
        active[: t.passes, sl] = True
        c0 += t.rows
    return a, w, ps, active


def _pe_errors(nl: Netlist, faults, a, w, ps, active) -> np.ndarray:
    """Final output errors E (F, columns) mod 2^32 of one PE's faults (module docstring)."""
    cols = a.shape[-1]
    err = np.zeros((len(faults), cols), np.int64)
    for p in range(a.shape[0]):
        planes = {"a_q": pack(a[p], 8), "w_q": pack(w[p], 8)}
        if err.any():
            planes["psum_i"] = pack((ps[p][None, :] + err) % MOD32, 32)
        else:
            planes["psum_i"] = pack(ps[p], 32)
        out = faulty_outputs(nl, faults, planes, n_patterns=cols)
        good = (ps[p] + a[p] * w[p]) % MOD32
        new = (out - good[None, :]) % MOD32
        err = np.where(active[p][None, :], new, err)
    return err


def array_detection(nl: Netlist, faults, tiles: list[Tile], *, chunk: int = 64) -> np.ndarray:
    """Bool (F, N, N): fault f of the PE netlist, placed in PE(r, c), changes some output of ``tiles``.

    Columns (tile rows) are simulated in chunks of ``chunk`` with fault dropping per PE.
    """
    faults = list(faults)
    n = tiles[0].n
    a, w, ps, active = stacked_operands(tiles)
    det = np.zeros((len(faults), n, n), bool)
    cols = a.shape[-1]
    for r in range(n):
        for c in range(n):
            alive = np.arange(len(faults))
            for s in range(0, cols, chunk):
                if not len(alive):
                    break
                sl = slice(s, s + chunk)
                err = _pe_errors(nl, [faults[i] for i in alive], a[:, r, c, sl], w[:, r, c, sl],
                                 ps[:, r, c, sl], active[:, sl])
                hit = (err != 0).any(axis=1)
                det[alive[hit], r, c] = True
                alive = alive[~hit]
    return det


def predicted_outputs(nl: Netlist, fault, pe: tuple[int, int], tiles: list[Tile]) -> list[np.ndarray]:
    """Per tile, the outputs the accelerator produces with ``fault`` in PE ``pe`` (int32 (M, N))."""
    r, c = pe
    a, w, ps, active = stacked_operands(tiles)
    err = _pe_errors(nl, [fault], a[:, r, c], w[:, r, c], ps[:, r, c], active)[0]
    outs, c0 = [], 0
    for t in tiles:
        out = t.expected().astype(np.int64)
        out[:, c] += err[c0:c0 + t.rows]
        outs.append(wrap_int32(out))
        c0 += t.rows
    return outs
