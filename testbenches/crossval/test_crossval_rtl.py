"""RTL cross-validation samples (docs/design.md section 6): injections by hierarchical path vs the models.

``make test`` runs small samples through the CLI on both simulators: the full-state campaign
(every class of state of the 4x4 SECDED build; the full campaign is
``qtaml-hw crossval --sim verilator --injections 10000``, docs/crossval.md) and the
datapath-only campaign; negative controls show that a wrong model is caught.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import qtaml_hw.fidelity.crossval as xv
import qtaml_hw.fidelity.fullstate_model as fm
from qtaml_hw.cli import main
from qtaml_hw.fidelity.fullstate import check_fullstate, plan_fullstate, run_fullstate_rtl

SAMPLE = {"verilator": 400, "icarus": 60}


@pytest.mark.sim
def test_fullstate_sample(simulator, tmp_path, capsys):
    out = tmp_path / "xv.json"
    code = main(["crossval", "--sim", simulator, "--injections", str(SAMPLE[simulator]), "--seed", "11",
                 "--tile-every", "20", "--json", "--out", str(out)])
    res = json.loads(capsys.readouterr().out)
    assert code == 0, res["first_mismatch"]
    assert json.loads(out.read_text())["agree"] == res["agree"]
    assert res["state_bits"] == 2721 and res["state_bits_injected"] >= SAMPLE[simulator]
    assert res["x_reads"] == 0 and res["x_state_bits"] == 0  # every state element started at 0, no X
    modelled = {"weight", "act", "psum", "out", "sram", "sram_check", "sram_read", "act_buffer", "out_buffer"}
    for cls, v in res["per_class"].items():
        if cls in modelled:
            assert v["agreement"] == 1.0, cls
        else:  # control/status: an outcome table; predicted global errors agree
            assert sum(v["outcomes"].values()) == v["injections"]
            assert v["agreement_on_predicted"] in (None, 1.0), cls
    # not vacuous: visible faults in the sample
    wrong = sum(v["outcomes"]["wrong_outputs"] for v in res["per_class"].values())
    assert wrong >= SAMPLE[simulator] // 20


def _forced_plan(paths, bit: int, cycles, injections: int = 8):
    """Full-state control plan whose injection j flips ``bit`` of ``paths[j]`` at run cycle ``cycles[j]``."""
    plan = plan_fullstate(injections=injections, seed=1, classes=["control"], tile_every=4)
    names = [s.path for s in plan["sites"]]
    ones = np.ones(injections, np.int64)
    return plan | {"f_site": np.array([names.index(p) for p in paths]), "f_word": 0 * ones, "f_bit": bit * ones,
                   "f_mask": (1 << bit) * ones.astype(np.uint64), "f_cycle": np.asarray(cycles, np.int64)}


def _extra_pass_plan(injections: int = 8):
    """Every injection flips bit 2 of the controller's pass count at cycle 0.

    P' = P ^ 4: tiles of 1-3 passes run 5-7 passes, and passes P..3 read activation-buffer rows
    no tile ever wrote (with zero weights: the model adds nothing); P = 4 gives P' = 0, a hang.
    """
    return _forced_plan(["u_ctrl.passes_q"] * injections, 2, [0] * injections, injections)


@pytest.mark.sim
def test_fullstate_busy_and_done_flips_are_predicted(monkeypatch):
    """busy_q cleared mid-run: done never rises (hang); done_q set mid-run: early done, clean result.
    Negative control: a model that forgets the early done disagrees on the same RTL records."""
    plan = _forced_plan(["u_ctrl.busy_q", "u_ctrl.done_q"] * 4, 0, [0, 0, 3, 5, 1, 2, 4, 1])
    rtl = run_fullstate_rtl(plan, simulator="verilator")
    res = check_fullstate(plan, rtl)
    ctrl = res["per_class"]["control"]
    assert res["first_mismatch"] is None and ctrl["predicted"] == ctrl["agree"] == 8
    assert ctrl["outcomes_per_register"]["u_ctrl.busy_q"]["hang"] == 4
    assert ctrl["outcomes_per_register"]["u_ctrl.done_q"]["early_done"] == 4
    real = fm._control
    monkeypatch.setattr(fm, "_control", lambda tile, inj: dataclasses.replace(real(tile, inj), early=False))
    assert check_fullstate(plan, rtl)["per_class"]["control"]["agree"] == 4


@pytest.mark.sim
def test_fullstate_icarus_starts_from_zero_state():
    """Icarus starts registers and memories at X (Verilator at 0): the campaign zeroes every state
    element before reset, so control faults that read never-written activation rows agree with the
    model bit for bit and no X is left; without it (negative control) X reaches the outputs and the
    model disagrees."""
    plan = _extra_pass_plan()
    assert set(plan["tile_passes"]) & {1, 2, 3}  # at least one tile runs extra passes on unwritten rows
    rtl = run_fullstate_rtl(plan, simulator="icarus")
    res = check_fullstate(plan, rtl)
    assert rtl["x_reads"] == 0 and rtl["x_state_bits"] == 0
    assert res["first_mismatch"] is None
    ctrl = res["per_class"]["control"]
    assert ctrl["predicted"] == ctrl["agree"] == 8 and ctrl["outcomes"]["wrong_outputs"] > 0
    raw = run_fullstate_rtl(plan, simulator="icarus", zero_init=False)
    assert raw["x_reads"] > 0 and raw["x_state_bits"] > 0
    assert check_fullstate(plan, raw)["first_mismatch"] is not None


@pytest.mark.sim
@pytest.mark.slow
def test_fullstate_covers_every_state_bit_verilator(capsys):
    """3,000 injections: the first 2,721 walk every state bit once (100% coverage), all agree."""
    code = main(["crossval", "--sim", "verilator", "--injections", "3000", "--seed", "3", "--json"])
    res = json.loads(capsys.readouterr().out)
    assert code == 0, res["first_mismatch"]
    assert res["state_bits_injected"] == res["state_bits"] == 2721 and res["coverage"] == 1.0
    assert res["predicted_mismatches"] == 0 and res["x_reads"] == res["x_state_bits"] == 0
    assert res["per_class"]["control"]["outcomes"]["hang"] > 0  # control faults that hang are measured
    assert res["per_class"]["sram"]["outcomes"]["detected"] > 0  # multi-bit SRAM masks flagged by SECDED


@pytest.mark.sim
def test_fullstate_catches_a_codec_blind_model(monkeypatch, capsys):
    """Negative control: a model that ignores stored check-bit faults disagrees with the RTL."""
    real = fm._decoded_word_run
    monkeypatch.setattr(fm, "_decoded_word_run", lambda tile, w, dm, cm: real(tile, w, dm, 0))
    code = main(["crossval", "--sim", "verilator", "--injections", "150", "--classes", "sram_check", "--seed", "5"])
    captured = capsys.readouterr()
    assert code == 1 and "first mismatch" in captured.err


@pytest.mark.sim
def test_datapath_single_class_verilator(tmp_path, capsys):
    """--mode datapath --classes restricts the draw; the human-readable table names the class."""
    code = main(["crossval", "--mode", "datapath", "--sim", "verilator", "--injections", "50", "--classes", "weight",
                 "--seed", "2"])
    text = capsys.readouterr().out
    assert code == 0 and "weight" in text and "agreement 50/50" in text and "psum" not in text


@pytest.mark.sim
def test_datapath_reports_a_model_off_by_one_cycle(monkeypatch, capsys):
    """Negative control: a model that places weight flips one cycle late disagrees with the RTL."""
    real = xv.fault_effect

    def late_by_one(fault, a, w, **kw):
        return real(dataclasses.replace(fault, cycle=fault.cycle + 1), a, w, **kw)

    monkeypatch.setattr(xv, "fault_effect", late_by_one)
    code = main(["crossval", "--mode", "datapath", "--sim", "verilator", "--injections", "200", "--classes",
                 "weight", "--seed", "5"])
    captured = capsys.readouterr()
    assert code == 1 and "first mismatch" in captured.err and "Fault(cls='weight'" in captured.err
