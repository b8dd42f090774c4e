"""Targeted injection plans beside uniform random ones (docs/crossval.md, issue 14 item 6).

Uniform random injections rarely land where fault-path bugs live: on the exact cycle a
weight is loaded, on the last cycle a value is used, at a pass boundary, or in the top
bits of an accumulator.  :func:`targeted_plan` builds a datapath campaign plan (same
format as :func:`qtaml_hw.fidelity.crossval.plan_campaign`, so :func:`run_rtl`,
:func:`check` and the in-simulation loop take it unchanged) from the same seeded tiles,
with the injections enumerated from the cycle schedule (:mod:`qtaml_hw.fidelity.schedule`):

* ``load_edge``: every weight register at its load edge of every pass (t = S_p + i + 1,
  the flip rides into the loaded value) and one cycle before (t = S_p + i, overwritten);
* ``last_use``: every weight register at its last use in each pass (t = B_p + M-1 + r + c - 1,
  only the last row sees it) and every activation/partial sum at its last live cycle;
* ``pass_boundary``: every class at the last cycle of a pass and the first of the next
  (t = S_p - 1, S_p), SRAM words of the next pass just before their read;
* ``acc_top``: every bit of the top byte (bits 31 down to 24) of every partial-sum register and
  output register, at a live cycle.

:func:`first_detection` runs a model against the schedule-level reference
(:func:`qtaml_hw.fidelity.schedule.reference_output`, itself checked bit-exactly against
the RTL) and returns the index of the first injection where they disagree, the number a
plan needs to catch a fault-path bug in the model.
"""

from __future__ import annotations

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.fidelity.crossval import fault_of, plan_campaign, tile_of
from qtaml_hw.fidelity.golden import wrap_int32
from qtaml_hw.fidelity.schedule import FAULT_CLASSES, GemmSchedule, reference_output
from qtaml_hw.seeding import rng

TARGETS = ("load_edge", "last_use", "pass_boundary", "acc_top")
_CODE = {c: i for i, c in enumerate(FAULT_CLASSES)}


def _load_edge(s: GemmSchedule, n: int, bit):
    for p in range(s.passes):
        for r in range(n):
            for c in range(n):
                i = s.word_of(r, c)
                for t in (s.weight_write_cycle(p, i), s.weight_write_cycle(p, i) - 1):
                    yield "weight", r, c, t, 1 << bit(8)


def _last_use(s: GemmSchedule, n: int, bit):
    for p in range(s.passes):
        for r in range(n):
            for c in range(n):
                last = s.act_cycle(p, s.rows - 1, r, c)
                yield "weight", r, c, last - 1, 1 << bit(8)
                yield "act", r, c, last - 1, 1 << bit(8)
                yield "psum", r, c, s.psum_cycle(p, s.rows - 1, r, c) - 1, 1 << bit(32)


def _pass_boundary(s: GemmSchedule, n: int, bit):
    for p in range(1, s.passes):
        for t in (s.pass_start(p) - 1, s.pass_start(p)):
            for r in range(n):
                for c in range(n):
                    yield "weight", r, c, t, 1 << bit(8)
                    yield "psum", r, c, t, 1 << bit(32)
            for c in range(n):
                yield "out", 0, c, t, 1 << bit(32)
            for i in range(s.load_words):
                yield "sram", p * s.load_words + i, 0, t, 1 << bit(64)


def _acc_top(s: GemmSchedule, n: int, bit):
    for b in range(31, 23, -1):  # most significant first
        for r in range(n):
            for c in range(n):
                yield "psum", r, c, s.psum_cycle(0, 0, r, c) - 1, 1 << b
        for c in range(n):
            yield "out", 0, c, s.out_cycle(0, 0, c) - 1, 1 << b


_GENERATORS = {"load_edge": _load_edge, "last_use": _last_use, "pass_boundary": _pass_boundary,
               "acc_top": _acc_top}


def targeted_plan(*, n: int = 4, tiles: int = 4, seed: int = 0, targets=TARGETS) -> dict:
    """A datapath plan whose injections are the targeted sites/cycles of ``targets`` on ``tiles`` seeded tiles."""
    bad = [t for t in targets if t not in _GENERATORS]
    if bad or not targets:
        raise QtamlError(f"unknown target {bad[0] if bad else ''!r}; choose from {', '.join(TARGETS)}")
    base = plan_campaign(n=n, injections=tiles, seed=seed, tile_every=1)
    gen = rng(seed, "targeted", n)
    rows = []
    for b in range(tiles):
        s = GemmSchedule(n=n, rows=int(base["tile_rows"][b]), passes=int(base["tile_passes"][b]))
        for target in targets:
            for cls, r, c, t, mask in _GENERATORS[target](s, n, lambda w: int(gen.integers(0, w))):
                if 0 <= t < s.total_cycles:
                    rows.append((b, _CODE[cls], r, c, t, mask))
    arr = np.array(rows, dtype=object)
    plan = dict(base)
    plan |= {"f_tile": arr[:, 0].astype(np.int64), "f_cls": arr[:, 1].astype(np.int64),
             "f_row": arr[:, 2].astype(np.int64), "f_col": arr[:, 3].astype(np.int64),
             "f_cycle": arr[:, 4].astype(np.int64), "f_mask": arr[:, 5].astype(np.uint64),
             "classes": sorted({FAULT_CLASSES[int(x)] for x in arr[:, 1]}), "targets": list(targets)}
    return plan


def first_detection(plan: dict, model, *, limit: int | None = None) -> int | None:
    """Index of the first injection where ``model(fault, a, w, n=, preload=)`` (faulty output) disagrees
    with :func:`reference_output`; None if it never does within ``limit`` injections."""
    n = plan["n"]
    count = len(plan["f_tile"]) if limit is None else min(limit, len(plan["f_tile"]))
    for j in range(count):
        fault = fault_of(plan, j)
        a, w, pre = tile_of(plan, int(plan["f_tile"][j]))
        ref = reference_output(a, w, n=n, preload=pre, fault=fault)
        if not np.array_equal(model(fault, a, w, n=n, preload=pre), ref):
            return j
    return None


def clean_output(a, w, preload) -> np.ndarray:
    return wrap_int32(np.asarray(preload, np.int64) + a.astype(np.int64) @ w.astype(np.int64))
