"""RTL cross-validation sample (design.md section 6): saboteur injections vs the reuse model.

``make test`` runs a small sample through the CLI on both simulators (500 on Verilator,
100 on Icarus, 4x4 array, every class); the full 10,000-injection campaign is
``qtaml-hw crossval --sim verilator --injections 10000`` (docs/crossval.md).
"""

from __future__ import annotations

import json

import pytest

from qtaml_hw.cli import main

SAMPLE = {"verilator": 500, "icarus": 100}


@pytest.mark.sim
def test_crossval_sample(simulator, tmp_path, capsys):
    out = tmp_path / "xv.json"
    code = main(["crossval", "--sim", simulator, "--injections", str(SAMPLE[simulator]), "--seed", "11",
                 "--tile-every", "20", "--json", "--out", str(out)])
    printed = capsys.readouterr().out
    res = json.loads(printed)
    assert code == 0, res["first_mismatch"]
    assert json.loads(out.read_text())["agree"] == res["agree"] == SAMPLE[simulator]
    assert set(res["per_class"]) == {"weight", "act", "psum", "out", "sram"}
    for cls, v in res["per_class"].items():
        assert v["injections"] > 0 and v["agreement"] == 1.0, cls
        assert v["masked_rtl"] == v["masked_model"]
    # the sample must contain visible (unmasked) faults, else agreement would be vacuous
    visible = sum(v["injections"] * (1 - v["masked_rtl"]) for v in res["per_class"].values())
    assert visible >= SAMPLE[simulator] // 10
    assert res["crossings_per_injection"] < 40


@pytest.mark.sim
def test_crossval_single_class_verilator(tmp_path, capsys):
    """--classes restricts the draw; the human-readable table names the class."""
    code = main(["crossval", "--sim", "verilator", "--injections", "50", "--classes", "weight", "--seed", "2"])
    text = capsys.readouterr().out
    assert code == 0 and "weight" in text and "agreement 50/50" in text and "psum" not in text


@pytest.mark.sim
def test_crossval_reports_a_model_off_by_one_cycle(monkeypatch, capsys):
    """Negative control: a model that places weight flips one cycle late disagrees with the RTL."""
    import dataclasses

    import qtaml_hw.fidelity.crossval as xv

    real = xv.fault_effect

    def late_by_one(fault, a, w, **kw):
        return real(dataclasses.replace(fault, cycle=fault.cycle + 1), a, w, **kw)

    monkeypatch.setattr(xv, "fault_effect", late_by_one)
    code = main(["crossval", "--sim", "verilator", "--injections", "200", "--classes", "weight", "--seed", "5"])
    captured = capsys.readouterr()
    assert code == 1 and "first mismatch" in captured.err and "Fault(cls='weight'" in captured.err
