"""The self-test program: ordinary GEMM tiles a user runs at boot (design.md section 9).

:func:`build_program` chains the pieces: the PE MAC netlist and its collapsed fault list
(:mod:`~qtaml_hw.selftest.faults`), SAT ATPG with compaction (:mod:`~qtaml_hw.selftest.atpg`),
the mapping of the patterns onto tiles (:mod:`~qtaml_hw.selftest.mapping`) and the
control tiles with linearly independent columns (:mod:`~qtaml_hw.selftest.control`).
Every tile goes through the accelerator's normal interface (weight SRAM, activation
buffer, preloaded output buffer, start/done) and its expected output is the golden model's.

Cost model, per tile with M rows and P passes on an N x N array (L = N^2 / 8 weight words
per pass), in clock cycles of the host interface (one word per cycle, as the cocotb driver
and the testbench measure it):

    cycles = P L (weights) + P M (activations) + M (preload) + 1 (start)
             + P (L + 1 + M + 2N) (the run, ``GemmSchedule.total_cycles``) + 1 + M (read-back)

and storage ``bytes = P N^2 (weights) + P M N (activations) + 4 M N (preload) + 4 M N
(expected outputs)``.  Coverage figures for the array (:func:`compute_coverage`) count every
PE's copy of every collapsed fault: ``faults = N^2 |collapsed|``, ``untestable = N^2 |redundant|``,
``coverage_of_testable = detected / (faults - untestable)``; the ``uncollapsed`` figures
weight each class by its size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qtaml_hw import fsio
from qtaml_hw.errors import QtamlError
from qtaml_hw.fidelity.driver import RowPassLimits
from qtaml_hw.seeding import rng
from qtaml_hw.selftest.atpg import TestSet, generate_tests
from qtaml_hw.selftest.control import control_tiles
from qtaml_hw.selftest.faults import FaultList, fault_list, summary
from qtaml_hw.selftest.mapping import Tile, array_detection, map_patterns
from qtaml_hw.selftest.netlist import Netlist, pe_mac_netlist

SCHEMA = 1
ARRAY_SIZES = (4, 8, 16)


@dataclass(frozen=True)
class BuildConfig(RowPassLimits):
    """The ``accel_top`` build the program is for: N, RowBits (MaxRows = 2^RowBits), PassBits."""

    n: int
    row_bits: int
    pass_bits: int = 2

    def __post_init__(self):
        if self.n not in ARRAY_SIZES:
            raise QtamlError(f"array size N must be one of {ARRAY_SIZES}, got {self.n}")
        if not 1 <= self.row_bits <= 6 or not 1 <= self.pass_bits <= 6:
            raise QtamlError("row_bits and pass_bits must be in [1, 6]")

    @classmethod
    def default(cls, n: int) -> "BuildConfig":
        """MaxRows = N (one row per diagonal shift), MaxPasses = 4."""
        return cls(n=n, row_bits=max(1, int(math.log2(n))), pass_bits=2)


def tile_cycles(t: Tile) -> int:
    """Host-interface cycles of one tile (module docstring)."""
    ell = t.n * t.n // 8
    return t.passes * ell + t.passes * t.rows + t.rows + 1 + t.schedule().total_cycles + 1 + t.rows


def tile_bytes(t: Tile) -> int:
    return t.passes * t.n * t.n + t.passes * t.rows * t.n + 8 * t.rows * t.n


def cost(tiles) -> dict:
    return {"tiles": len(tiles), "cycles": int(sum(tile_cycles(t) for t in tiles)),
            "bytes": int(sum(tile_bytes(t) for t in tiles))}


@dataclass(frozen=True)
class SelftestProgram:
    """Compute tiles (mapped ATPG patterns) and control tiles for one build."""

    build: BuildConfig
    compute: tuple
    control: tuple
    atpg: dict
    fault_counts: dict
    seed: int

    @property
    def tiles(self) -> list[Tile]:
        return list(self.compute) + list(self.control)

    def summary(self) -> dict:
        return {"n": self.build.n, "max_rows": self.build.max_rows, "max_passes": self.build.max_passes,
                "seed": self.seed, "compute": cost(self.compute), "control": cost(self.control),
                "total": cost(self.tiles), "atpg": self.atpg, "pe_faults": self.fault_counts}

    def write(self, path) -> dict:
        """Atomic ``.npz`` (tiles and expected outputs) plus ``<path>.json`` manifest."""
        path = fsio.check_target(path)
        if path.suffix != ".npz":
            raise QtamlError(f"program file must end in .npz, got {path.name}")
        arrays = {}
        for i, t in enumerate(self.tiles):
            kind = "compute" if i < len(self.compute) else "control"
            arrays[f"{i:04d}_{kind}_a"], arrays[f"{i:04d}_{kind}_w"] = t.a, t.w
            arrays[f"{i:04d}_{kind}_preload"], arrays[f"{i:04d}_{kind}_expected"] = t.pre, t.expected()
        with fsio.open_atomic(path, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        manifest = {"schema": SCHEMA, "program": path.name, **self.summary()}
        fsio.write_json(path.with_suffix(".json"), manifest)
        return manifest


def load_program(path) -> list[tuple[str, Tile]]:
    """(kind, tile) pairs of a written program, checking every expected output."""
    try:
        data = np.load(path)
    except (OSError, ValueError) as exc:
        raise QtamlError(f"cannot read self-test program {path}: {exc}") from None
    names = sorted({k.rsplit("_", 1)[0] for k in data.files})
    out = []
    for stem in names:
        t = Tile(data[f"{stem}_a"], data[f"{stem}_w"], data[f"{stem}_preload"])
        if not np.array_equal(t.expected(), data[f"{stem}_expected"]):
            raise QtamlError(f"{path}: expected output of {stem} disagrees with the golden model")
        out.append((stem.split("_", 1)[1], t))
    return out


def pe_faults(nl: Netlist | None = None) -> tuple[Netlist, FaultList]:
    nl = nl or pe_mac_netlist()
    return nl, fault_list(nl)


def build_program(build: BuildConfig, *, seed: int, control_configs, random_blocks: int = 8,
                  nl: Netlist | None = None) -> tuple[SelftestProgram, TestSet]:
    """ATPG -> compute tiles; ``control_configs`` (rows, passes) -> control tiles."""
    nl, fl = pe_faults(nl)
    ts = generate_tests(nl, fl, seed=seed, random_blocks=random_blocks)
    compute = map_patterns(ts.patterns, n=build.n, max_rows=build.max_rows)
    for rows, passes in control_configs:
        if rows > build.max_rows or passes > build.max_passes:
            raise QtamlError(f"tile configuration ({rows}, {passes}) exceeds the build "
                             f"(max {build.max_rows} rows, {build.max_passes} passes)")
    control = control_tiles(control_configs, n=build.n, seed=seed)
    prog = SelftestProgram(build, tuple(compute), tuple(control), ts.counts(), summary(fl), seed)
    return prog, ts


def random_tiles(like: list[Tile], *, seed: int) -> list[Tile]:
    """Tiles of the same shapes as ``like`` with uniform random int8 operands and int32 preloads."""
    gen = rng(seed, "selftest", "random-baseline")
    out = []
    for t in like:
        a = gen.integers(-128, 128, t.a.shape).astype(np.int8)
        w = gen.integers(-128, 128, t.w.shape).astype(np.int8)
        pre = gen.integers(-(1 << 31), 1 << 31, t.pre.shape).astype(np.int32)
        out.append(Tile(a, w, pre))
    return out


def truncate_to_cycles(tiles, budget_cycles: int) -> list[Tile]:
    """The longest prefix of ``tiles`` within ``budget_cycles``."""
    out, used = [], 0
    for t in tiles:
        c = tile_cycles(t)
        if used + c > budget_cycles:
            break
        out.append(t)
        used += c
    return out


def compute_coverage(nl: Netlist, fl: FaultList, ts: TestSet, tiles, *, n: int) -> dict:
    """Array-level single stuck-at coverage of ``tiles`` (module docstring)."""
    faults = fl.tuples(ts.faults)
    det = array_detection(nl, faults, list(tiles)) if tiles else np.zeros((len(faults), n, n), bool)
    testable = ts.status != "redundant"  # aborted faults stay in the denominator
    per_fault = det.sum(axis=(1, 2))
    pes = n * n
    size = np.bincount(fl.rep, minlength=fl.total)[ts.faults]
    faults_n = pes * len(faults)
    untestable = pes * int((~testable).sum())
    detected = int(per_fault[testable].sum())
    unc_total = pes * int(size.sum())
    unc_unt = pes * int(size[~testable].sum())
    unc_det = int((per_fault * size)[testable].sum())
    return {"faults": faults_n, "untestable": untestable, "aborted": pes * int((ts.status == "aborted").sum()),
            "detected": detected, "coverage_of_testable": detected / max(faults_n - untestable, 1),
            "uncollapsed": {"faults": unc_total, "untestable": unc_unt, "detected": unc_det,
                            "coverage_of_testable": unc_det / max(unc_total - unc_unt, 1)},
            **{f"test_{k}": v for k, v in cost(tiles).items()}}


