"""FIdelity-style software fault model of the systolic array: reuse factor and faulty values.

design.md section 6; FIdelity (He et al., MICRO 2020, seed 003): a datapath flip-flop holds
one software variable at a time, so a single-cycle bit flip in it changes that variable for
exactly the operations that *reuse* the held value, and the faulty outputs follow from the
variable's change by the layer's arithmetic.  For ``rtl/accel_top.v`` (timing in
:mod:`qtaml_hw.fidelity.schedule`, names: run cycle t, flip XORed into the register's next
value at the edge ending t, so the faulty value is held from t+1; k = pN + r):

=========  =========================================  ===============================  ============
class      live when (register value at t+1)           corrupted outputs                reuse factor
=========  =========================================  ===============================  ============
weight     w(r,c) holds W[k][c] of pass p and row m     (m, c) for every row m whose     <= M
           uses it later: B_p + m + r + c >= t+1        use cycle is >= t+1
act        a(r,c) holds A[m][k] (t+1 = B_p+m+r+c)       (m, c') for c' = c .. N-1         N - c
psum       p(r,c) holds row m's partial sum             (m, c)                           1
out        o(c) holds row m's pass-p result             (m, c)                           1
sram       word p*L+i read in cycle S_p+i > t           (m, c_g) for every row m and      M x columns
                                                        column c_g of the word's weights
=========  =========================================  ===============================  ============

Faulty values by delta propagation: every later operation on the faulty variable is an
addition modulo 2^32 (a ring homomorphism), so the final output is
``O'[m][c] = wrap(O[m][c] + delta)`` with

- weight: delta = A[m][k] * (W' - W),  W' = int8(W xor mask)
- act:    delta = (A' - A) * W[k][c'],  A' = int8(A xor mask)
- psum:   delta = (v xor mask) - v,  v = Pre_p[m][c] + sum_{r'<=r} A[m][pN+r'] W[pN+r'][c]  (mod 2^32)
- out:    delta = (v xor mask) - v,  v = pass-p result of (m, c)
- sram:   delta = sum over the word's weights g in column c of A[m][k_g] * (W'_g - W_g)

Pre_p is the preload plus the earlier passes; the cost is O(affected outputs x K), never a
re-run of the GEMM.  A flip is *masked* when no output differs: structurally (the register
is not live at t+1: idle lane, before its load, after its last use, SRAM word already read)
or by the data (e.g. A[m][k] = 0 for a weight flip).  :func:`structural_masking` gives the
structural probability over uniform (site, cycle, bit) in closed form;
:func:`enumerate_masking` counts it exactly (and the data-dependent one) by enumeration,
and :mod:`qtaml_hw.fidelity.dataflow` derives the same live sets from the dataflow graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtaml_hw.fidelity.golden import wrap_int32
from qtaml_hw.fidelity.schedule import FAULT_CLASSES, Fault, GemmSchedule
from qtaml_hw.errors import QtamlError

#: Bits per register of each saboteur class (``sram``: one 64-bit word of 8 int8 weights).
CLASS_WIDTH = {"weight": 8, "act": 8, "psum": 32, "out": 32, "sram": 64}


@dataclass(frozen=True)
class FaultEffect:
    """Outputs a fault corrupts and their faulty values (int32), in the order they are computed.

    ``rows``/``cols``/``values``: the output elements whose final value differs from the clean
    result; ``cycles``: the cycle in which each one's faulty value is first in its column's
    output register (FIdelity's "order of faulty neurons"); ``reuse_factor``: how many
    outputs the faulty register value reaches (structurally, before data masking);
    ``masked``: no output differs.
    """

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    cycles: np.ndarray
    reuse_factor: int
    masked: bool

    @property
    def live(self) -> bool:
        """The faulty value reaches at least one output (structurally)."""
        return self.reuse_factor > 0

    def apply(self, clean) -> np.ndarray:
        """The full faulty output: ``clean`` (M, N) int32 with the corrupted elements replaced."""
        out = np.array(clean, dtype=np.int32, copy=True)
        out[self.rows, self.cols] = self.values
        return out


_EMPTY = np.zeros(0, np.int64)


def _masked_effect(reuse_factor: int = 0) -> FaultEffect:
    return FaultEffect(_EMPTY, _EMPTY, np.zeros(0, np.int32), _EMPTY, reuse_factor, True)


def _int8_xor(x: int, mask: int) -> int:
    u = (int(x) & 0xFF) ^ (mask & 0xFF)
    return u - 256 if u >= 128 else u


def _xor_delta32(v: int, mask: int) -> int:
    """(v xor mask) - v  modulo 2^32, for the 32-bit pattern of v."""
    u = int(v) & 0xFFFFFFFF
    return ((u ^ (mask & 0xFFFFFFFF)) - u) & 0xFFFFFFFF


def _check_operands(a, w, n: int, preload):
    a8 = np.asarray(a)
    w8 = np.asarray(w)
    if a8.ndim != 2 or w8.ndim != 2 or a8.shape[1] != w8.shape[0] or w8.shape[1] != n or a8.shape[1] % n:
        raise QtamlError(f"operands must be A (M, P*{n}) and W (P*{n}, {n}); got {a8.shape}, {w8.shape}")
    a64 = a8.astype(np.int64)
    w64 = w8.astype(np.int64)
    rows = a8.shape[0]
    pre = np.zeros((rows, n), np.int64) if preload is None else np.asarray(preload).astype(np.int64)
    if pre.shape != (rows, n):
        raise QtamlError(f"preload must have shape {(rows, n)}, got {pre.shape}")
    return a64, w64, pre


# Each ``_touched_*`` returns the outputs a fault of its class reaches, as ``(rows m, columns c, additive
# delta of O[m, c] before int32 wrap, first cycle O[m, c] leaves the array)``, or None when the flipped
# register is never read again (masked); s is the run's GemmSchedule, a64/w64/pre its int64 operands.

def _touched_psum_out(fault: Fault, s: GemmSchedule, a64, w64, pre):
    """``psum``/``out``: the held partial sum of one output is XORed (one output touched)."""
    n, t, r, c = s.n, fault.cycle, fault.row, fault.col
    loc = s.psum_reg(r, c, t + 1) if fault.cls == "psum" else s.out_reg(c, t + 1)
    if loc is None:
        return None
    p, m = loc
    depth = p * n + (r + 1 if fault.cls == "psum" else n)  # reduction terms in the held value
    v = int(pre[m, c] + a64[m, :depth] @ w64[:depth, c])
    delta = np.array([_xor_delta32(v, fault.mask)], np.int64)
    return np.array([m]), np.array([c]), delta, np.array([s.out_cycle(p, m, c)])


def _touched_act(fault: Fault, s: GemmSchedule, a64, w64, pre):
    """``act``: one activation, flowing right, reaches row m of columns c..N-1."""
    n, t, r, c = s.n, fault.cycle, fault.row, fault.col
    loc = s.act_reg(r, c, t + 1)
    if loc is None:
        return None
    p, m = loc
    kk = p * n + r
    cs = np.arange(c, n)
    delta = (_int8_xor(a64[m, kk], fault.mask) - a64[m, kk]) * w64[kk, c:]
    ms = np.full(len(cs), m)
    first = np.array([s.out_cycle(p, m, cc) for cc in cs])
    return ms, cs, delta, first


def _touched_weight(fault: Fault, s: GemmSchedule, a64, w64, pre):
    """``weight``: a stationary weight reaches column c of every row streamed after the flip."""
    n, t, r, c = s.n, fault.cycle, fault.row, fault.col
    p = s.weight_reg(r, c, t + 1)
    if p is None:
        return None
    m0 = max(0, t + 1 - s.stream_base(p) - r - c)  # first row using the weight after the flip
    ms = np.arange(m0, a64.shape[0])
    if len(ms) == 0:
        return None
    kk = p * n + r
    delta = a64[ms, kk] * (_int8_xor(w64[kk, c], fault.mask) - w64[kk, c])
    cs = np.full(len(ms), c)
    return ms, cs, delta, s.out_cycle(p, ms, c)


def _touched_sram(fault: Fault, s: GemmSchedule, a64, w64, pre):
    """``sram``: a weight word not yet read reaches every row of the columns its 8 weights feed."""
    n, t, r, rows = s.n, fault.cycle, fault.row, a64.shape[0]
    p, i = divmod(r, s.load_words)
    if not 0 <= r < s.passes * s.load_words or s.sram_read_cycle(p, i) <= t:
        return None
    flat = np.arange(i * 8, i * 8 + 8)
    rr, cc = flat // n, flat % n
    kk = p * n + rr
    old = w64[kk, cc]
    new = np.array([_int8_xor(x, fault.mask >> (8 * g)) for g, x in enumerate(old)])
    dw = np.zeros((n, n), np.int64)  # (r, c) weight deltas of this pass
    dw[rr, cc] = new - old
    colset = np.unique(cc)
    d = a64[:, p * n:(p + 1) * n] @ dw[:, colset]  # (M, columns of the word)
    ms = np.repeat(np.arange(rows), len(colset))
    cs = np.tile(colset, rows)
    return ms, cs, d.reshape(-1), s.out_cycle(p, ms, cs)


_TOUCHED = {"psum": _touched_psum_out, "out": _touched_psum_out, "act": _touched_act,
            "weight": _touched_weight, "sram": _touched_sram}


def fault_effect(fault: Fault, a, w, *, n: int, preload=None) -> FaultEffect:
    """Analytic effect of one saboteur fault on the run ``O = Pre + A @ W`` (module docstring).

    ``a`` (M, K) and ``w`` (K, N) int8, ``preload`` (M, N) int32 or None; ``fault`` as in
    :class:`qtaml_hw.fidelity.schedule.Fault` (any XOR mask within the register's width; for
    ``sram`` the row is the word address and the mask a 64-bit data mask).
    """
    a64, w64, pre = _check_operands(a, w, n, preload)
    rows, k = a64.shape
    s = GemmSchedule(n=n, rows=rows, passes=k // n)
    r, c = fault.row, fault.col
    if fault.cls != "sram" and not (0 <= c < n and (fault.cls == "out" or 0 <= r < n)):
        raise QtamlError(f"fault site ({r}, {c}) outside the {n}x{n} array")
    if fault.cls not in _TOUCHED:  # pragma: no cover - Fault validates the class
        raise QtamlError(f"unknown fault class {fault.cls!r}")
    touched = _TOUCHED[fault.cls](fault, s, a64, w64, pre)
    if touched is None:
        return _masked_effect()
    ms, cs, delta, first = touched
    reuse = len(ms)
    hit = (delta % (1 << 32)) != 0
    ms, cs, delta, first = ms[hit], cs[hit], delta[hit], np.asarray(first)[hit]
    if len(ms) == 0:
        return _masked_effect(reuse)
    clean = pre[ms, cs] + np.einsum("ij,ji->i", a64[ms, :], w64[:, cs])
    order = np.argsort(first, kind="stable")
    return FaultEffect(ms[order].astype(np.int64), cs[order].astype(np.int64),
                       wrap_int32(clean + delta)[order], first[order].astype(np.int64), reuse, False)


def faulty_output(fault: Fault, a, w, *, n: int, preload=None, clean=None) -> np.ndarray:
    """Full (M, N) int32 output of the run with ``fault``, from :func:`fault_effect`."""
    if clean is None:
        a64, w64, pre = _check_operands(a, w, n, preload)
        clean = wrap_int32(pre + a64 @ w64)
    return fault_effect(fault, a, w, n=n, preload=preload).apply(clean)


# ------------------------------------------------------------------ masking probabilities
def live_cycles(cls: str, *, n: int, rows: int, passes: int) -> dict:
    """Number of flip cycles t in [0, T) at which each site of ``cls`` is live (closed form).

    act/psum/out: M cycles per pass (one per row).  weight (r, c) of word i = (rN+c) div 8:
    from its load (held from S_p+i+2) to its last use (B_p+M-1+r+c), i.e. L+M+r+c-i-1
    cycles per pass.  SRAM word p*L+i: flips at t < S_p+i (before its single read), i.e.
    S_p + i cycles; words beyond the run's P*L are never read.
    """
    s = GemmSchedule(n=n, rows=rows, passes=passes)
    ell = s.load_words
    if cls in ("act", "psum"):
        return {(r, c): passes * rows for r in range(n) for c in range(n)}
    if cls == "out":
        return {(0, c): passes * rows for c in range(n)}
    if cls == "weight":
        return {(r, c): passes * (ell + rows + r + c - (r * n + c) // 8 - 1) for r in range(n) for c in range(n)}
    if cls == "sram":
        return {(p * ell + i, 0): s.pass_start(p) + i for p in range(passes) for i in range(ell)}
    raise QtamlError(f"unknown fault class {cls!r}; choose one of {', '.join(FAULT_CLASSES)}")


def structural_masking(cls: str, *, n: int, rows: int, passes: int, sram_words: int | None = None) -> float:
    """P(flip masked) for uniform site, cycle t in [0, T) and bit, independent of the data.

    Closed forms (T = P*C, C = L+1+M+2N):  act, psum, out: 1 - M/C;
    weight: 1 - (L + M + N - 2 - (L-1)/2) / C  (mean over PEs of the per-pass live count);
    sram over D words (default P*L): 1 - [L*C*P(P-1)/2 + P*L(L-1)/2] / (D*T).
    """
    s = GemmSchedule(n=n, rows=rows, passes=passes)
    ell, cyc = s.load_words, s.pass_cycles
    if cls in ("act", "psum", "out"):
        return 1.0 - rows / cyc
    if cls == "weight":
        return 1.0 - (ell + rows + n - 2 - (ell - 1) / 2) / cyc
    if cls == "sram":
        d = passes * ell if sram_words is None else sram_words
        if d < passes * ell:
            raise QtamlError(f"sram_words must be >= {passes * ell} (the run's words), got {d}")
        live = ell * cyc * passes * (passes - 1) / 2 + passes * ell * (ell - 1) / 2
        return 1.0 - live / (d * s.total_cycles)
    raise QtamlError(f"unknown fault class {cls!r}; choose one of {', '.join(FAULT_CLASSES)}")


def sites(cls: str, *, n: int, sram_words: int) -> list[tuple[int, int]]:
    """(row, col) of every saboteur site of a class (sram: (word address, 0))."""
    if cls in ("weight", "act", "psum"):
        return [(r, c) for r in range(n) for c in range(n)]
    if cls == "out":
        return [(0, c) for c in range(n)]
    if cls == "sram":
        return [(addr, 0) for addr in range(sram_words)]
    raise QtamlError(f"unknown fault class {cls!r}; choose one of {', '.join(FAULT_CLASSES)}")


def enumerate_masking(cls: str, a, w, *, n: int, preload=None, sram_words: int | None = None) -> dict:
    """Exact masking fractions of ``cls`` over every (site, cycle, bit) for one tile.

    Returns {"injections", "structural", "data", "mean_reuse_factor"}: the fraction not live
    (reuse factor 0), the fraction masked in total (structural or by the data), and the mean
    reuse factor, all from :func:`fault_effect` on every single-bit fault.
    """
    rows, k = np.asarray(a).shape
    s = GemmSchedule(n=n, rows=rows, passes=k // n)
    d = s.passes * s.load_words if sram_words is None else sram_words
    total = not_live = masked = reuse = 0
    for r, c in sites(cls, n=n, sram_words=d):
        for t in range(s.total_cycles):
            for bit in range(CLASS_WIDTH[cls]):
                eff = fault_effect(Fault(cls, r, c, t, 1 << bit), a, w, n=n, preload=preload)
                total += 1
                not_live += not eff.live
                masked += eff.masked
                reuse += eff.reuse_factor
    return {"injections": total, "structural": not_live / total, "data": masked / total,
            "mean_reuse_factor": reuse / total}


def reuse_factor_table(*, n: int, rows: int, passes: int, sram_words: int | None = None) -> dict:
    """FIdelity's per-class, per-cycle table from the dataflow graph (:mod:`qtaml_hw.fidelity.dataflow`).

    {class: {"mean_reuse_factor": (T,), "live_fraction": (T,), "max_reuse_factor", "p_masked"}}:
    for a flip at the edge ending cycle t, the mean over the class's sites of the number of
    outputs reached, the fraction of sites whose value reaches any output, and the
    structural masking probability over uniform (site, cycle), which equals
    :func:`structural_masking`.
    """
    from qtaml_hw.fidelity.dataflow import build_graph, reuse_profile

    s = GemmSchedule(n=n, rows=rows, passes=passes)
    g = build_graph(s, sram_words=sram_words)
    out = {}
    for cls in FAULT_CLASSES:
        prof = reuse_profile(g, cls)
        prof["p_masked"] = 1.0 - float(prof["live_fraction"].mean())
        out[cls] = prof
    return out
