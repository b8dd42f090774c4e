"""Cross-validation campaign plumbing (design.md section 6), without a simulator.

The RTL side is exercised in ``testbenches/crossval``; here the plan's distributions and
the checker are tested, the checker against outputs produced by the *independent*
register-level model ``schedule.reference_output`` (chained preloads as on the RTL), with a
corrupted output as a negative control.
"""

from __future__ import annotations

import numpy as np
import pytest

from qtaml_hw.fidelity.crossval import build_config, check, fault_of, plan_campaign, sram_depth, tile_of
from qtaml_hw.fidelity.fullstate import agreement_totals, rtl_digest
from qtaml_hw.fidelity.reuse import CLASS_WIDTH
from qtaml_hw.fidelity.schedule import FAULT_CLASSES, GemmSchedule, reference_output
from qtaml_hw.errors import QtamlError


def _reference_rtl(plan):
    """What a correct RTL returns for every injection, from schedule.reference_output."""
    cfg = plan["cfg"]
    outs = np.zeros((len(plan["f_tile"]), cfg.max_rows, cfg.n), np.int32)
    cycles = []
    for b in range(len(plan["tile_rows"])):
        a, w, pre = tile_of(plan, b)
        cycles.append(GemmSchedule(n=cfg.n, rows=a.shape[0], passes=w.shape[0] // cfg.n).total_cycles)
        for j in np.flatnonzero(plan["f_tile"] == b):
            pre = reference_output(a, w, n=cfg.n, preload=pre, fault=fault_of(plan, int(j)))
            outs[j, :a.shape[0]] = pre
    return {"outs": outs, "cycles": np.array(cycles)}


def test_plan_is_seeded_and_uniform():
    p1 = plan_campaign(n=4, injections=3000, seed=3, tile_every=50)
    p2 = plan_campaign(n=4, injections=3000, seed=3, tile_every=50)
    p3 = plan_campaign(n=4, injections=3000, seed=4, tile_every=50)
    assert all(np.array_equal(p1[k], p2[k]) for k in ("a", "w", "f_cls", "f_cycle", "f_mask", "f_row"))
    assert not np.array_equal(p1["f_cycle"], p3["f_cycle"])
    cfg = p1["cfg"]
    counts = np.bincount(p1["f_cls"], minlength=5)
    assert np.all(np.abs(counts - 600) < 4 * np.sqrt(600 * 0.8))  # uniform over classes, 4 sigma
    for j in range(len(p1["f_tile"])):
        b = p1["f_tile"][j]
        s = GemmSchedule(n=4, rows=int(p1["tile_rows"][b]), passes=int(p1["tile_passes"][b]))
        f = fault_of(p1, j)
        assert 0 <= f.cycle < s.total_cycles
        assert bin(f.mask).count("1") == 1 and f.mask < (1 << CLASS_WIDTH[f.cls])
        limit = sram_depth(cfg) if f.cls == "sram" else cfg.n
        assert 0 <= f.row < limit and 0 <= f.col < cfg.n
    bits = [int(m).bit_length() - 1 for m, c in zip(p1["f_mask"], p1["f_cls"]) if FAULT_CLASSES[c] == "psum"]
    assert min(bits) == 0 and max(bits) == 31
    assert set(p1["tile_rows"].tolist()) == {1, 2, 3, 4} and set(p1["tile_passes"].tolist()) == {1, 2, 3, 4}


def test_plan_classes_subset_and_errors():
    p = plan_campaign(n=8, injections=200, seed=0, classes=["sram", "out"])
    assert {FAULT_CLASSES[c] for c in p["f_cls"]} == {"sram", "out"}
    assert build_config(16).n == 16
    with pytest.raises(QtamlError):
        plan_campaign(n=4, injections=10, seed=0, classes=["bogus"])
    with pytest.raises(QtamlError):
        plan_campaign(n=5, injections=10, seed=0)
    with pytest.raises(QtamlError):
        plan_campaign(n=4, injections=0, seed=0)


def test_checker_agrees_with_reference_model_and_catches_a_flip():
    plan = plan_campaign(n=4, injections=600, seed=1, tile_every=60)
    rtl = _reference_rtl(plan)
    res = check(plan, rtl)
    assert res["mismatches"] == 0 and res["first_mismatch"] is None and res["injections"] == 600
    for c, v in res["per_class"].items():
        assert v["agreement"] == 1.0 and 0 < v["masked_rtl"] < 1, c
        assert v["masked_rtl"] == v["masked_model"]
    # negative control: one output bit wrong in the last injection of a tile (the next run
    # would start from it) -> exactly that one reported
    j = int(np.flatnonzero(plan["f_tile"] == 3)[-1])
    rtl["outs"][j, 0, 0] ^= 1 << 9
    res = check(plan, rtl)
    assert res["mismatches"] == 1 and res["first_mismatch"]["injection"] == j
    # a wrong cycle count is reported too
    rtl["outs"][j, 0, 0] ^= 1 << 9
    rtl["cycles"][0] += 1
    assert check(plan, rtl)["first_mismatch"]["tile"] == 0


def test_masked_fraction_matches_closed_form_statistically():
    """Over many injections the measured masked fraction is the closed form within 4 sigma
    (+ the data masking, small for uniform int8 operands)."""
    plan = plan_campaign(n=4, injections=4000, seed=2, tile_every=100)
    res = check(plan, _reference_rtl(plan))
    for c, v in res["per_class"].items():
        k, p = v["injections"], v["p_masked_closed_form"]
        sigma = np.sqrt(p * (1 - p) / k)
        assert abs(v["masked_rtl"] - p) < 4 * sigma + 0.01, (c, v)


def test_cli_bad_inputs(cli):
    for argv, needle in ((["--n", "5"], "array size"), (["--classes", "foo"], "unknown fault class"),
                         (["--sim", "nope"], "unknown simulator"), (["--injections", "0"], "positive integer"),
                         (["--out", "/nonexistent-dir/x.json"], "--out")):
        code, out, err = cli("crossval", *argv)
        assert code == 2 and needle in err and "Traceback" not in err and out == ""
        assert len(err.strip().splitlines()) == 1
    code, out, _ = cli("crossval", "--help")
    assert code == 0 and "--injections" in out


def test_rtl_digest_changes_with_any_record_field():
    """Equal full-state records hash equal; one output value, a cycle count or a hang flag changes it."""
    gen = np.random.default_rng(0)
    rec = {"outs": gen.integers(-2**31, 2**31, (5, 4, 4)).astype(np.int32), "cycles": np.full(5, 30),
           "corrected": np.zeros(5, np.int64), "uncorrectable": np.zeros(5, np.int64),
           "hang": np.zeros(5, bool), "early": np.zeros(5, bool)}
    same = {k: v.copy() for k, v in rec.items()}
    assert rtl_digest(rec) == rtl_digest(same) and len(rtl_digest(rec)) == 64
    for key, j in (("outs", (4, 3, 3)), ("cycles", 2), ("hang", 0), ("uncorrectable", 1)):
        other = {k: v.copy() for k, v in rec.items()}
        other[key][j] = other[key][j] + 1 if key != "hang" else True
        assert rtl_digest(other) != rtl_digest(rec), key


def test_fullstate_totals_fail_on_a_predicted_control_mismatch():
    """A disagreeing prediction of a control register makes the run not bit-exact (exit 1), like a datapath one."""
    clean = {"weight": {"injections": 10, "agree": 10, "agreement": 1.0},
             "control": {"injections": 7, "predicted": 3, "agree": 3, "agreement_on_predicted": 1.0}}
    tot = agreement_totals(clean)
    assert tot == {"agree": 10, "modelled_injections": 10, "mismatches": 0, "predicted_mismatches": 0,
                   "bit_exact": True}
    bad_control = clean | {"control": clean["control"] | {"agree": 2}}
    assert agreement_totals(bad_control)["predicted_mismatches"] == 1 and not agreement_totals(bad_control)["bit_exact"]
    bad_weight = clean | {"weight": clean["weight"] | {"agree": 9}}
    assert agreement_totals(bad_weight)["mismatches"] == 1 and not agreement_totals(bad_weight)["bit_exact"]
