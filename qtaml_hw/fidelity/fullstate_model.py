"""Software model of one full-state injection into accel_top (docs/design.md section 6, docs/crossval.md).

:func:`predict` returns what the RTL must show for an injection: the output rows, the
cycle count, the ECC counters and whether the run hangs, or ``None`` where no model
exists (the control registers whose effect is not predictable without a cycle-level
controller model: u_q, pass_q, the controller's rows_q).  Cycle
conventions are those of :mod:`qtaml_hw.fidelity.schedule`; the flip is held from cycle
t+1 ("tt").  Per class:

* weight, act, psum, out: :func:`qtaml_hw.fidelity.reuse.fault_effect` (FIdelity's model);
* sram / sram_check (stored data or check word w, any mask): word w = p*L + i is read once,
  in cycle S_p + i; if that is >= tt the read port returns the SECDED decode of the stored
  word (:func:`qtaml_hw.fidelity.leakage.ecc_expected_words`), the run is the golden GEMM on
  those weights and the counters are the decode's status; else the run is clean;
* sram_read (rdata_q / rcheck_q, held in cycle tt only): live iff tt = S_p + i + 1 for a
  read of word w = p*L + i (the cycle that writes the word into the array): decode as above;
* act_buffer (word {p, m, r}): read in cycle B_p + m + r - 1; if >= tt, A[m][pN+r] ^= mask;
* out_buffer (word {m, c}): the value X_p read as pass p's north partial sum in cycle
  R_p = B_p + m + c and rewritten at the edge ending W_p = B_p + m + N + c + 1: a flip in
  (W_{p-1}, R_p] adds (X_p ^ mask) - X_p to the result, one after W_{P-1} XORs the result,
  one in between is overwritten;
* status counters: the counter holds the mask from tt on (a clean run counts nothing);
* control, predictable global errors: ``cyc_q`` (cycles_o = (tt ^ mask) + T - tt), ``passes_q``
  (P' = P ^ mask: passes 0..P'-1 run, pass p on SRAM tile and activation pass p mod MaxPasses,
  a skipped pass when P' < P, a hang when P' <= current pass or P' * pass_cycles exceeds the
  hang limit), the top's ``rows_q`` (M' = M ^ mask <= M set before streaming: rows >= M' keep
  their preload), ``busy_q`` (the controller goes idle before its last cycle and done never
  rises: a hang), ``done_q`` (done rises while busy, an early done; the run itself goes on to
  the clean result and cycle count).  Any control flip landing after done (tt >= T) is masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from qtaml_hw.fidelity.golden import wrap_int32
from qtaml_hw.fidelity.layout import weights_from_words
from qtaml_hw.fidelity.leakage import ecc_expected_words
from qtaml_hw.fidelity.reuse import fault_effect
from qtaml_hw.fidelity.schedule import Fault, GemmSchedule

_PE = re.compile(r"^u_array\.gen_row\[(\d+)\]\.gen_col\[(\d+)\]\.u_pe\.(w_q|a_q|p_q)$")
_OUT = re.compile(r"^u_array\.gen_out\[(\d+)\]\.o_q$")
_PE_CLASS = {"w_q": "weight", "a_q": "act", "p_q": "psum"}


@dataclass(frozen=True)
class Injection:
    """One injection in a tile: element path/class, memory word (-1: register), XOR mask, cycle t."""

    path: str
    cls: str
    word: int
    mask: int
    cycle: int


@dataclass(frozen=True)
class Prediction:
    out: np.ndarray        # (M, N) int32
    cycles: int
    corrected: int
    uncorrectable: int
    hang: bool = False
    early: bool = False    # done rose while busy (the host would read too soon)


@dataclass(frozen=True)
class Tile:
    """Operands of a run: A (M, P*N), W (P*N, N) int8, preload (M, N), the SRAM image, the build."""

    a: np.ndarray
    w: np.ndarray
    pre: np.ndarray
    image: np.ndarray
    n: int
    max_rows: int
    max_passes: int
    protect_bits: int
    hang_limit: int

    @property
    def sched(self) -> GemmSchedule:
        return GemmSchedule(n=self.n, rows=self.a.shape[0], passes=self.a.shape[1] // self.n)

    def gemm(self, a=None, w=None, pre=None) -> np.ndarray:
        a = self.a if a is None else a
        w = self.w if w is None else w
        pre = self.pre if pre is None else pre
        return wrap_int32(np.asarray(pre, np.int64) + a.astype(np.int64) @ w.astype(np.int64))


def _clean(tile: Tile, **kw) -> Prediction:
    return Prediction(tile.gemm(), kw.get("cycles", tile.sched.total_cycles), kw.get("corrected", 0),
                      kw.get("uncorrectable", 0), kw.get("hang", False), kw.get("early", False))


def _decoded_word_run(tile: Tile, w: int, data_mask: int, check_mask: int) -> Prediction:
    seen, corr, unc = ecc_expected_words(tile.image[w:w + 1], np.array([data_mask], "<u8"),
                                         np.array([check_mask], np.uint8), protect_bits=tile.protect_bits)
    image = tile.image.copy()
    image[w] = seen[0]
    k = tile.a.shape[1]
    w_seen = weights_from_words(image, n=tile.n)[:k]
    return Prediction(tile.gemm(w=w_seen), tile.sched.total_cycles, corr, unc)


def _sram(tile: Tile, inj: Injection) -> Prediction:
    s = tile.sched
    if inj.word >= s.passes * s.load_words:
        return _clean(tile)
    p, i = divmod(inj.word, s.load_words)
    if s.sram_read_cycle(p, i) < inj.cycle + 1:
        return _clean(tile)
    dm, cm = (inj.mask, 0) if inj.cls == "sram" else (0, inj.mask)
    return _decoded_word_run(tile, inj.word, dm, cm)


def _sram_read(tile: Tile, inj: Injection) -> Prediction:
    s = tile.sched
    tt = inj.cycle + 1
    p = tt // s.pass_cycles
    i = tt - s.pass_start(p) - 1
    if p >= s.passes or not 0 <= i < s.load_words:
        return _clean(tile)
    dm, cm = (inj.mask, 0) if inj.path.endswith("rdata_q") else (0, inj.mask)
    return _decoded_word_run(tile, p * s.load_words + i, dm, cm)


def _act_buffer(tile: Tile, inj: Injection) -> Prediction:
    s, n = tile.sched, tile.n
    r, m, p = inj.word % n, (inj.word // n) % tile.max_rows, inj.word // (n * tile.max_rows)
    if p >= s.passes or m >= s.rows or s.stream_base(p) + m + r - 1 < inj.cycle + 1:
        return _clean(tile)
    a = tile.a.copy()
    a[m, p * n + r] = np.array((int(a[m, p * n + r]) & 0xFF) ^ (inj.mask & 0xFF), np.uint8).view(np.int8)
    return Prediction(tile.gemm(a=a), s.total_cycles, 0, 0)


def _out_buffer(tile: Tile, inj: Injection) -> Prediction:
    s, n = tile.sched, tile.n
    c, m = inj.word % n, inj.word // n
    out = tile.gemm()
    if m >= s.rows:
        return Prediction(out, s.total_cycles, 0, 0)
    tt = inj.cycle + 1
    x = int(tile.pre[m, c])
    for p in range(s.passes):
        read = s.stream_base(p) + m + c
        if tt <= read and (p == 0 or tt >= s.stream_base(p - 1) + m + n + c + 2):
            x32 = x & 0xFFFFFFFF
            out[m, c] = wrap_int32(np.int64(int(out[m, c]) + ((x32 ^ (inj.mask & 0xFFFFFFFF)) - x32)))
            return Prediction(out, s.total_cycles, 0, 0)
        k0, k1 = p * n, (p + 1) * n
        x = int(wrap_int32(np.int64(x + int(tile.a[m, k0:k1].astype(np.int64) @ tile.w[k0:k1, c].astype(np.int64)))))
    if tt >= s.stream_base(s.passes - 1) + m + n + c + 2:
        out[m, c] = np.array((int(out[m, c]) & 0xFFFFFFFF) ^ (inj.mask & 0xFFFFFFFF), np.uint32).view(np.int32)
    return Prediction(out, s.total_cycles, 0, 0)


def _passes(tile: Tile, inj: Injection) -> Prediction:
    s, n = tile.sched, tile.n
    tt = inj.cycle + 1
    new = s.passes ^ (inj.mask & 0xFFFF)
    if new <= tt // s.pass_cycles or new * s.pass_cycles >= tile.hang_limit:
        return Prediction(tile.gemm(), 0, 0, 0, hang=True)
    acc = np.asarray(tile.pre, np.int64).copy()
    for p in range(new):
        q = p % tile.max_passes
        if q < s.passes:
            acc += tile.a[:, q * n:(q + 1) * n].astype(np.int64) @ tile.w[q * n:(q + 1) * n].astype(np.int64)
    return Prediction(wrap_int32(acc), new * s.pass_cycles, 0, 0)


def _control(tile: Tile, inj: Injection) -> Prediction | None:
    s = tile.sched
    tt = inj.cycle + 1
    if tt >= s.total_cycles and inj.path != "u_ctrl.cyc_q":
        return _clean(tile)
    if inj.path == "u_ctrl.cyc_q":
        return _clean(tile, cycles=((tt ^ inj.mask) + s.total_cycles - tt) & 0xFFFFFFFF)
    if inj.path == "u_ctrl.passes_q":
        return _passes(tile, inj)
    if inj.path == "u_ctrl.busy_q":
        return _clean(tile, cycles=0, hang=True)
    if inj.path == "u_ctrl.done_q":
        return _clean(tile, early=True)
    if inj.path == "rows_q":
        new = s.rows ^ (inj.mask & 0xFFFF)
        if new > s.rows or tt > s.stream_base(0) - 1:
            return None
        out = tile.gemm()
        out[new:] = np.asarray(tile.pre, np.int32)[new:]
        return Prediction(out, s.total_cycles, 0, 0)
    return None


def predict(tile: Tile, inj: Injection) -> Prediction | None:
    """What the RTL must show for ``inj`` on ``tile`` (module docstring); None where no model exists."""
    m = _PE.match(inj.path)
    if m:
        fault = Fault(_PE_CLASS[m.group(3)], int(m.group(1)), int(m.group(2)), inj.cycle, inj.mask)
        return Prediction(fault_effect(fault, tile.a, tile.w, n=tile.n, preload=tile.pre).apply(tile.gemm()),
                          tile.sched.total_cycles, 0, 0)
    m = _OUT.match(inj.path)
    if m:
        fault = Fault("out", 0, int(m.group(1)), inj.cycle, inj.mask)
        return Prediction(fault_effect(fault, tile.a, tile.w, n=tile.n, preload=tile.pre).apply(tile.gemm()),
                          tile.sched.total_cycles, 0, 0)
    if inj.cls in ("sram", "sram_check"):
        return _sram(tile, inj)
    if inj.cls == "sram_read":
        return _sram_read(tile, inj)
    if inj.cls == "act_buffer":
        return _act_buffer(tile, inj)
    if inj.cls == "out_buffer":
        return _out_buffer(tile, inj)
    if inj.cls == "status":
        corr, unc = (inj.mask, 0) if inj.path.endswith("n_corr_q") else (0, inj.mask)
        return _clean(tile, corrected=corr, uncorrectable=unc)
    return _control(tile, inj)
