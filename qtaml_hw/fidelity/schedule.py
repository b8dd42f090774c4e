"""Exact cycle schedule of ``rtl/accel_top.v`` and a register-level single-fault reference.

Cycle numbering (design.md sections 5, 6): cycle 0 is the first cycle with ``busy_o`` high
(the cycle after ``start_i`` is sampled); "register X holds V at cycle t" means V is the
register's output during cycle t (it was written at the clock edge ending cycle t-1).
A run has P passes of ``pass_cycles = L + 1 + M + 2N`` cycles each (L = N*N/8 weight
words, M activation rows); pass p starts at S_p = p * pass_cycles and its stream phase at
B_p = S_p + L + 1.  With k = p*N + r:

====================  ==========================================================
SRAM word p*L+i       read (address presented) in cycle S_p + i
weight reg w(r,c)     holds W[k][c] from cycle S_p + i + 2 (i = (r*N+c) // 8) until
                      the same word is rewritten in pass p+1 (through S_{p+1} + i + 1)
act reg a(r,c)        holds A[m][k] in cycle B_p + m + r + c   (zero otherwise)
psum reg p(r,c)       holds Pre_p[m][c] + sum_{r'<=r} A[m][pN+r'] W[pN+r'][c] (mod 2^32)
                      in cycle B_p + m + r + c + 1              (zero otherwise)
output reg o(c)       holds the pass-p result of row m in cycle B_p + m + N + c + 1
output buffer (m,c)   read as the north partial sum in cycle B_p + m + c, written at
                      the edge ending cycle B_p + m + N + c + 1
====================  ==========================================================

Pre_0 is the preloaded output buffer and Pre_{p+1} the result of pass p.  ``done_o``
rises in cycle P * pass_cycles.  The saboteur (``sab_cycle_i = t``) XORs a register's
*next* value at the edge ending cycle t, so the flipped value is held from cycle t+1;
an SRAM word flipped at that edge is seen by reads presented in cycles > t.
:func:`reference_output` applies one such fault to the golden model using only this
table; the cocotb tests check it bit-exactly against the RTL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtaml_hw.fidelity.golden import wrap_int32
from qtaml_hw.errors import QtamlError

FAULT_CLASSES = ("weight", "act", "psum", "out", "sram")
CLASS_CODE = {name: i for i, name in enumerate(FAULT_CLASSES)}


@dataclass(frozen=True)
class GemmSchedule:
    """Timing of one accelerator run: ``n`` x ``n`` array, ``rows`` = M, ``passes`` = P."""

    n: int
    rows: int
    passes: int
    g: int = 8

    def __post_init__(self):
        if self.n <= 0 or (self.n * self.n) % self.g:
            raise QtamlError(f"N*N must be a positive multiple of {self.g}, got N={self.n}")
        if self.rows < 1 or self.passes < 1:
            raise QtamlError("rows and passes must be >= 1")

    @property
    def load_words(self) -> int:
        """L = N*N/G weight words per pass."""
        return self.n * self.n // self.g

    @property
    def pass_cycles(self) -> int:
        return self.load_words + 1 + self.rows + 2 * self.n

    @property
    def total_cycles(self) -> int:
        """Cycles from start to done (``cycles_o`` when ``done_o`` rises)."""
        return self.passes * self.pass_cycles

    def pass_start(self, p: int) -> int:
        return p * self.pass_cycles

    def stream_base(self, p: int) -> int:
        return self.pass_start(p) + self.load_words + 1

    def word_of(self, r: int, c: int) -> int:
        return (r * self.n + c) // self.g

    def sram_read_cycle(self, p: int, i: int) -> int:
        return self.pass_start(p) + i

    def weight_write_cycle(self, p: int, i: int) -> int:
        """Cycle whose ending edge writes weight word i of pass p into the array."""
        return self.pass_start(p) + i + 1

    def act_cycle(self, p: int, m: int, r: int, c: int) -> int:
        return self.stream_base(p) + m + r + c

    def psum_cycle(self, p: int, m: int, r: int, c: int) -> int:
        return self.stream_base(p) + m + r + c + 1

    def out_cycle(self, p: int, m: int, c: int) -> int:
        return self.stream_base(p) + m + self.n + c + 1

    def north_read_cycle(self, p: int, m: int, c: int) -> int:
        return self.stream_base(p) + m + c

    def _locate(self, t: int):
        if t < 0 or t >= self.total_cycles:
            return None, None
        p = t // self.pass_cycles
        return p, t - self.stream_base(p)

    def weight_reg(self, r: int, c: int, t: int):
        """Pass p whose weight W[p*N+r][c] is in w(r,c) during cycle t, or None (not yet loaded).

        After the run the last pass's weights stay.
        """
        i = self.word_of(r, c)
        p = min(max(t, 0) // self.pass_cycles, self.passes - 1) if t >= 0 else 0
        while p >= 0 and t < self.weight_write_cycle(p, i) + 1:
            p -= 1
        return None if p < 0 else p

    def act_reg(self, r: int, c: int, t: int):
        """(p, m) with a(r,c) holding A[m][p*N+r] in cycle t, or None (register holds 0)."""
        p, v = self._locate(t)
        if p is None:
            return None
        m = v - r - c
        return (p, m) if 0 <= m < self.rows else None

    def psum_reg(self, r: int, c: int, t: int):
        """(p, m) with p(r,c) holding row m's partial sum through row r in cycle t, or None."""
        p, v = self._locate(t)
        if p is None:
            return None
        m = v - r - c - 1
        return (p, m) if 0 <= m < self.rows else None

    def out_reg(self, c: int, t: int):
        """(p, m) with o(c) holding row m's pass-p result in cycle t, or None."""
        p, v = self._locate(t)
        if p is None:
            return None
        m = v - self.n - c - 1
        return (p, m) if 0 <= m < self.rows else None


@dataclass(frozen=True)
class Fault:
    """One saboteur event: XOR ``mask`` into register (cls, row, col) at the edge ending ``cycle``.

    For ``cls == "sram"`` ``row`` is the word address, ``mask`` the 64-bit data mask and
    ``check_mask`` the stored check-bit mask (ECC builds; :func:`reference_output` models
    the plain SRAM only).
    """

    cls: str
    row: int
    col: int
    cycle: int
    mask: int
    check_mask: int = 0

    def __post_init__(self):
        if self.cls not in CLASS_CODE:
            raise QtamlError(f"unknown fault class {self.cls!r}; choose one of {', '.join(FAULT_CLASSES)}")


def _xor_int8(x: np.ndarray, mask: int) -> np.ndarray:
    return (np.asarray(x, np.int8).view(np.uint8) ^ np.uint8(mask & 0xFF)).view(np.int8)


def _xor_int32(x, mask: int) -> int:
    """XOR of the 32-bit two's complement pattern of ``x`` with ``mask``, as a signed int."""
    u = (int(x) & 0xFFFFFFFF) ^ (mask & 0xFFFFFFFF)
    return u - (1 << 32) if u >= (1 << 31) else u


def _sram_loaded_weights(w8: np.ndarray, fault: Fault, sched: GemmSchedule) -> np.ndarray:
    """(K, N) int8 weights as loaded from the SRAM image with the ``sram`` fault's word XORed.

    The flip lands only if the word exists and is read after the fault cycle; the image round
    trip (:func:`weight_words` / :func:`weights_from_words`) is applied in every case.
    """
    from qtaml_hw.fidelity.layout import weight_words, weights_from_words

    words = weight_words(w8, n=sched.n)
    if fault.row < len(words):
        p_word, i_word = divmod(fault.row, sched.load_words)
        if sched.sram_read_cycle(p_word, i_word) > fault.cycle:
            words = words.copy()
            words[fault.row] ^= np.uint64(fault.mask & ((1 << 64) - 1))
    return weights_from_words(words, n=sched.n)


def _apply_weight_fault(w_eff: np.ndarray, w8: np.ndarray, fault: Fault, sched: GemmSchedule, p: int,
                        rows_m: np.ndarray) -> None:
    """XOR the ``weight`` fault into ``w_eff`` (M, N, N) of pass ``p``, in place.

    The flipped stationary weight (r0, c0) is used by the rows ``m`` (``rows_m``) whose use cycle
    ``stream_base(p) + m + r0 + c0`` lies in [t + 1, next rewrite of its word after t].
    """
    n, r0, c0, t = sched.n, fault.row, fault.col, fault.cycle
    i = sched.word_of(r0, c0)
    held = sched.weight_reg(r0, c0, t + 1)
    # next rewrite of this word after the flip
    later = [sched.weight_write_cycle(q, i) for q in range(sched.passes) if sched.weight_write_cycle(q, i) > t]
    t_end = later[0] if later else np.inf
    if held == p:
        use = sched.stream_base(p) + rows_m + r0 + c0
        hit = (use >= t + 1) & (use <= t_end)
        faulty = int(_xor_int8(w8[p * n + r0, c0], fault.mask))
        w_eff[hit, r0, c0] = faulty


def reference_output(a, w, *, n: int, preload=None, fault: Fault | None = None) -> np.ndarray:
    """Final output buffer (M, N) int32 of the RTL for one run, with at most one fault.

    Pass by pass: products A_eff[m,r,c] * W_eff[m,r,c] with the operands the schedule
    says each PE multiplies in its cycle, partial sums accumulated down the column and
    wrapped, XOR applied where the schedule places the faulty register value.
    """
    a8 = np.asarray(a, np.int8)
    w8 = np.asarray(w, np.int8)
    rows, k = a8.shape
    sched = GemmSchedule(n=n, rows=rows, passes=k // n)
    pre = np.zeros((rows, n), np.int64) if preload is None else np.asarray(preload, np.int64)
    if fault is not None and fault.cls == "sram":
        w8 = _sram_loaded_weights(w8, fault, sched)
    mm, rr, cc = np.meshgrid(np.arange(rows), np.arange(n), np.arange(n), indexing="ij")
    for p in range(sched.passes):
        a_eff = np.broadcast_to(a8[:, p * n:(p + 1) * n, None], (rows, n, n)).astype(np.int64).copy()
        w_eff = np.broadcast_to(w8[None, p * n:(p + 1) * n, :], (rows, n, n)).astype(np.int64).copy()
        psum_fault = out_fault = None
        if fault is not None and fault.cls == "weight":
            _apply_weight_fault(w_eff, w8, fault, sched, p, mm[:, fault.row, fault.col])
        elif fault is not None and fault.cls == "act":
            loc = sched.act_reg(fault.row, fault.col, fault.cycle + 1)
            if loc is not None and loc[0] == p:
                m0, r0 = loc[1], fault.row
                a_eff[m0, r0, fault.col:] = int(_xor_int8(a8[m0, p * n + r0], fault.mask))
        elif fault is not None and fault.cls == "psum":
            loc = sched.psum_reg(fault.row, fault.col, fault.cycle + 1)
            if loc is not None and loc[0] == p:
                psum_fault = (loc[1], fault.row, fault.col)
        elif fault is not None and fault.cls == "out":
            loc = sched.out_reg(fault.col, fault.cycle + 1)
            if loc is not None and loc[0] == p:
                out_fault = (loc[1], fault.col)
        prod = a_eff * w_eff
        acc = pre + prod.sum(axis=1)
        if psum_fault is not None:
            m0, r0, c0 = psum_fault
            partial = pre[m0, c0] + prod[m0, : r0 + 1, c0].sum()
            acc[m0, c0] = _xor_int32(partial, fault.mask) + prod[m0, r0 + 1:, c0].sum()
        acc = wrap_int32(acc).astype(np.int64)
        if out_fault is not None:
            acc[out_fault] = _xor_int32(acc[out_fault], fault.mask)
        pre = acc
    return wrap_int32(pre)
