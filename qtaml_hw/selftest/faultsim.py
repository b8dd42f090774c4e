"""Bit-parallel stuck-at fault simulation in NumPy (design.md section 9).

Patterns are packed 64 to a ``uint64`` word: a port of width b over P patterns is a *plane*
array (b, W), W = ceil(P / 64), bit p % 64 of word p // 64 of row i being bit i of pattern
p.  A gate is one NumPy bitwise operation on whole words, so one pass evaluates 64 * W
patterns (parallel-pattern simulation).  Faults are simulated in parallel too: every net
holds an array (F, W), row f the value in the circuit with fault f (parallel-pattern,
parallel-fault).  Nets outside every simulated fault's fan-out cone keep the fault-free
(1, W) row (broadcast), so only the cones are computed.  A stem fault overwrites its net's
row after the net is computed; a branch fault overwrites the row only where that one gate
pin (or output bit) reads it.

Inputs may carry a fault axis (F, b, W): the array-level simulator gives each faulty PE the
partial sums *its own* earlier errors produced (:mod:`qtaml_hw.selftest.program`).

Fault f detects pattern p when some output bit differs from the fault-free circuit's
(:func:`detect_matrix`).  The tests check this simulator against direct evaluation of the
netlist's Verilog with the fault built in, on Icarus and Verilator.
"""

from __future__ import annotations

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.selftest.netlist import CONST1, GATE_KINDS, Netlist, arity

ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
#: Bound on (faults in a batch) x (words per net) so one batch stays a few tens of MB.
BATCH_ELEMS = 1 << 16


def n_words(n_patterns: int) -> int:
    return max(1, -(-int(n_patterns) // 64))


def pack(values, width: int) -> np.ndarray:
    """Planes (..., width, W) of integer pattern values (..., P) (two's complement for negatives)."""
    v = np.asarray(values).astype(np.int64).astype(np.uint64)
    p = v.shape[-1]
    w = n_words(p)
    bits = ((v[..., None, :] >> np.arange(width, dtype=np.uint64)[:, None]) & np.uint64(1)).astype(np.uint8)
    padded = np.zeros(bits.shape[:-1] + (w * 64,), np.uint8)
    padded[..., :p] = bits
    return np.packbits(padded, axis=-1, bitorder="little").view("<u8").astype(np.uint64)


def unpack(planes: np.ndarray, n_patterns: int, *, signed: bool = False) -> np.ndarray:
    """Integer values (..., P) from planes (..., b, W): inverse of :func:`pack`."""
    planes = np.ascontiguousarray(planes, dtype="<u8")
    b = planes.shape[-2]
    bits = np.unpackbits(planes.view(np.uint8), axis=-1, bitorder="little")[..., :n_patterns]
    vals = np.zeros(bits.shape[:-2] + (n_patterns,), np.int64)
    for i in range(b):
        vals |= bits[..., i, :].astype(np.int64) << i
    if signed:
        vals = np.where(vals >= (1 << (b - 1)), vals - (1 << b), vals)
    return vals


def bits_to_bool(planes: np.ndarray, n_patterns: int) -> np.ndarray:
    """(..., W) uint64 words -> (..., P) bool."""
    planes = np.ascontiguousarray(planes, dtype="<u8")
    return np.unpackbits(planes.view(np.uint8), axis=-1, bitorder="little")[..., :n_patterns].astype(bool)


def _gate(kind: str, a, b, s):
    if kind == "BUF":
        return a
    if kind == "NOT":
        return ~a
    if kind == "AND":
        return a & b
    if kind == "NAND":
        return ~(a & b)
    if kind == "OR":
        return a | b
    if kind == "NOR":
        return ~(a | b)
    if kind == "XOR":
        return a ^ b
    if kind == "XNOR":
        return ~(a ^ b)
    if kind == "ANDNOT":
        return a & ~b
    if kind == "ORNOT":
        return a | ~b
    return (b & s) | (a & ~s)  # MUX: S ? B : A


def _input_planes(nl: Netlist, inputs: dict, w: int) -> dict[int, np.ndarray]:
    """Net -> (1 or F, W) array from per-port planes (b, W) or (F, b, W)."""
    vals = {}
    for port, nets in nl.inputs:
        if port not in inputs:
            raise QtamlError(f"missing input port {port!r} of netlist {nl.name}")
        pl = np.asarray(inputs[port], np.uint64)
        if pl.shape[-2:] != (len(nets), w):
            raise QtamlError(f"port {port}: planes must be (..., {len(nets)}, {w}), got {pl.shape}")
        for i, n in enumerate(nets):
            vals[n] = pl[..., i, :].reshape(-1, w)
    return vals


def simulate(nl: Netlist, inputs: dict, *, faults=(), n_patterns: int) -> np.ndarray:
    """Output planes (F, n_out_bits, W) with fault f = ``faults[f]`` ((net, gate, pin, stuck));
    no faults: (1, n_out_bits, W), the fault-free circuit."""
    w = n_words(n_patterns)
    nf = max(len(faults), 1)
    val = _input_planes(nl, inputs, w)
    val[0] = np.zeros((1, w), np.uint64)
    val[CONST1] = np.full((1, w), ONES)
    stem: dict[int, list] = {}
    branch: dict[tuple[int, int], list] = {}
    for f, (net, gate, pin, stuck) in enumerate(faults):
        (stem.setdefault(net, []) if gate < 0 else branch.setdefault((gate, pin), [])).append((f, stuck))

    def force(arr, sel):
        arr = np.array(np.broadcast_to(arr, (nf, w)))
        for f, stuck in sel:
            arr[f] = ONES if stuck else 0
        return arr

    for net, sel in stem.items():
        if net in val:  # a primary input
            val[net] = force(val[net], sel)
    for g in range(nl.n_gates):
        kind = GATE_KINDS[nl.gate_kind[g]]
        ins = []
        for pin in range(arity(kind)):
            x = val[int(nl.gate_in[g, pin])]
            sel = branch.get((g, pin))
            ins.append(force(x, sel) if sel else x)
        ins += [None] * (3 - len(ins))
        out = int(nl.gate_out[g])
        y = _gate(kind, *ins)
        val[out] = force(y, stem[out]) if out in stem else y
    outs = []
    for j, net in enumerate(nl.output_nets):
        x = val[int(net)]
        sel = branch.get((nl.n_gates + j, 0))
        outs.append(np.broadcast_to(force(x, sel) if sel else x, (nf, w)))
    return np.stack(outs, axis=1)


def detect_matrix(nl: Netlist, faults, patterns: dict) -> np.ndarray:
    """Bool (F, P): pattern p detects fault f (some output differs from the fault-free one).

    ``patterns``: port -> integer values (P,).  Faults are simulated in batches.
    """
    p = len(next(iter(patterns.values())))
    w = n_words(p)
    planes = {port: pack(patterns[port], len(nets)) for port, nets in nl.inputs}
    good = simulate(nl, planes, n_patterns=p)
    faults = list(faults)
    batch = max(1, BATCH_ELEMS // w)
    out = np.zeros((len(faults), w), np.uint64)
    for s in range(0, len(faults), batch):
        bad = simulate(nl, planes, faults=faults[s:s + batch], n_patterns=p)
        out[s:s + batch] = np.bitwise_or.reduce(bad ^ good, axis=1)
    return bits_to_bool(out, p)


def faulty_outputs(nl: Netlist, faults, inputs: dict, *, n_patterns: int, signed: bool = False) -> np.ndarray:
    """Integer output values (F, P) of the single output port with fault f, from planes ``inputs``."""
    if len(nl.outputs) != 1:
        raise QtamlError("faulty_outputs needs a netlist with one output port")
    return unpack(simulate(nl, inputs, faults=faults, n_patterns=n_patterns), n_patterns, signed=signed)
