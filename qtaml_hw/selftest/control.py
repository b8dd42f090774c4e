"""Control-fault test tiles with linearly independent columns, and control-fault coverage.

Seed 003 (design.md section 9): when only a known network is deployed, it suffices to
detect the control faults that can change *that network's* results; running each of its
layer shapes with input and weight tensors whose columns are linearly independent detects
every single-variable-type control fault (faults confined to the logic of one variable
type: rows, passes, counters, addresses).  The argument: a control fault that corrupts one
variable type makes the accelerator compute with a *different selection or ordering* of
operand columns/rows (a wrong address reads another column, a wrong counter skips,
repeats or truncates rows or passes, a wrong pass selects another weight tile).  For the
output ``O = Pre + A W`` to stay unchanged, the changed selection would have to give the
same linear combination, which independent columns forbid.

:func:`independent_matrix` draws int8 matrices (seeded) until they have full rank
``min(rows, cols)`` -- linearly independent columns whenever rows >= cols, independent rows
otherwise -- with pairwise distinct, nonzero rows and columns; :func:`control_tiles` builds
one tile (A, W, Pre) per tile configuration (rows, passes) the network uses; ``Pre`` has
distinct random int32 entries, so a skipped or repeated preload/write-back is visible too.

Control faults (:func:`control_faults`): stuck-at-0 and stuck-at-1 on every bit of every
register the RTL's site map classifies as ``control`` (``qtaml_hw.fidelity.fullstate.accel_sites``:
the Yosys netlist's flip-flops with ``rtl/accel_top.roles.toml``; gemm_ctrl
busy/done/cycle/u/pass/rows/passes and accel_top rows_q), injected on the RTL by
re-depositing the stuck bit every cycle (:mod:`qtaml_hw.selftest.compute_tb`).

Control-fault coverage (:func:`control_coverage`): with R the faults that change the
output of (or hang) at least one of the network's own tiles (real data, one per
configuration) and D the faults for which the control test tiles give a wrong output or
hang, ``coverage = |D & R| / |R|``; faults in D but not R are counted separately (they
only disturb quantities the network never exposes, e.g. the cycle counter).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.fidelity.driver import TopConfig
from qtaml_hw.fidelity.fullstate import accel_sites
from qtaml_hw.seeding import rng
from qtaml_hw.selftest.mapping import Tile

MAX_DRAWS = 1000


def independent_matrix(rows: int, cols: int, gen: np.random.Generator) -> np.ndarray:
    """int8 (rows, cols) of full rank with distinct nonzero rows and columns (module docstring)."""
    for _ in range(MAX_DRAWS):
        x = gen.integers(-127, 128, (rows, cols)).astype(np.int8)
        xi = x.astype(np.int64)
        if np.linalg.matrix_rank(xi.astype(float)) != min(rows, cols):
            continue
        if len({r.tobytes() for r in x}) != rows or len({c.tobytes() for c in x.T}) != cols:
            continue
        if (~xi.any(axis=1)).any() or (~xi.any(axis=0)).any():
            continue
        return x
    raise QtamlError(f"no full-rank {rows}x{cols} int8 matrix found in {MAX_DRAWS} draws")


def control_tiles(configs, *, n: int, seed: int) -> list[Tile]:
    """One tile per (rows, passes) configuration with linearly independent operands."""
    tiles = []
    for rows, passes in sorted(set((int(r), int(p)) for r, p in configs)):
        if rows < 1 or passes < 1:
            raise QtamlError(f"tile configuration must have rows, passes >= 1, got ({rows}, {passes})")
        gen = rng(seed, "selftest", "control", rows, passes)
        a = independent_matrix(rows, passes * n, gen)
        w = independent_matrix(passes * n, n, gen)
        pre = gen.choice(np.arange(-(1 << 31), (1 << 31) - 1, 7919, dtype=np.int64), (rows, n), replace=False)
        tiles.append(Tile(a, w, pre.astype(np.int32)))
    return tiles


@dataclass(frozen=True)
class ControlFault:
    """Stuck-at ``stuck`` on bit ``bit`` of register ``path`` (hierarchical, below accel_top)."""

    path: str
    bit: int
    stuck: int

    def row(self) -> tuple[str, int, int]:
        return (self.path, self.bit, self.stuck)


def control_faults(*, n: int, row_bits: int, pass_bits: int) -> list[ControlFault]:
    """Both stuck-at faults on every bit of every control register of the build."""
    out = []
    for site in accel_sites(TopConfig(n=n, row_bits=row_bits, pass_bits=pass_bits)):
        if site.cls == "control" and site.kind == "register":
            for bit in site.bits:
                out += [ControlFault(site.path, int(bit), 0), ControlFault(site.path, int(bit), 1)]
    return out


def tile_failures(out: np.ndarray, status: np.ndarray, tiles: list[Tile]) -> np.ndarray:
    """Bool (faults, tiles): the tile hung or its output differs from the golden model."""
    bad = status.astype(bool).copy()
    for i, t in enumerate(tiles):
        exp = t.expected().astype(np.int64)
        got = out[:, i, : t.rows].astype(np.int64) & 0xFFFFFFFF
        bad[:, i] |= (got != (exp & 0xFFFFFFFF)).reshape(len(out), -1).any(axis=1)
    return bad


def control_coverage(test_fail: np.ndarray, network_fail: np.ndarray) -> dict:
    """Coverage figures from per-fault failure flags of the test tiles and the network tiles."""
    d = test_fail.any(axis=1)
    r = network_fail.any(axis=1)
    relevant = int(r.sum())
    return {"control_faults": int(len(d)), "relevant": relevant, "detected_relevant": int((d & r).sum()),
            "detected_total": int(d.sum()), "detected_irrelevant": int((d & ~r).sum()),
            "control_coverage": float((d & r).sum() / relevant) if relevant else 1.0,
            "missed": np.flatnonzero(r & ~d).tolist()}
