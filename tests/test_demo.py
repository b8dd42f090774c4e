"""`qtaml-hw demo`: the end-to-end chain on embedded defaults (small sizes here; `make demo` runs it whole)."""

from __future__ import annotations

import json

import pytest

from qtaml_hw.cli import main
from qtaml_hw.physics import calibrate, operating_point


@pytest.mark.integration
def test_demo_quick_chain_without_rtl(tmp_path, capsys):
    """The fast tier's demo: the whole chain on 2 trials x 50 images (the slow tier runs it larger)."""
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out), "--workers", "0", "--sim", "none", "--json", "--trials", "2",
                 "--test-subset", "50"]) == 0
    res = json.loads(capsys.readouterr().out)
    ref = operating_point(calibrate("gc3t-65nm"), 2e-4, r=0.1)
    assert res["physics"]["p10"] == pytest.approx(float(ref["p10"]))
    assert {r["strategy"] for r in res["rows"]} >= {"none", "uniform", "tac", "tac+mc", "uniform+secded"}
    assert res["campaign"]["trials_run"] == 2 * res["campaign"]["tasks"]
    md = (out / "report.md").read_text()
    assert "1. Physics" in md and "Skipped (`--sim none`)" in md
    assert (out / "campaign.toml").exists() and (out / "metric_vs_overhead.png").exists()


@pytest.mark.slow  # two demo runs (~65 s of CPU); test_demo_quick_chain_without_rtl is the fast tier's
def test_demo_chain_without_rtl_then_rerun_with_other_sizes(tmp_path, capsys):
    out = tmp_path / "out"
    base = ["demo", "--out", str(out), "--workers", "0", "--sim", "none", "--json"]
    assert main(base + ["--trials", "4", "--test-subset", "100"]) == 0
    res = json.loads(capsys.readouterr().out)
    # the flip rates are the physics layer's, not a constant
    ref = operating_point(calibrate("gc3t-65nm"), 2e-4, r=0.1)  # a calibrated cell at its refresh interval
    assert res["physics"]["p10"] == pytest.approx(float(ref["p10"]))
    assert res["physics"]["p01"] == pytest.approx(float(ref["p01"]))
    strategies = {r["strategy"] for r in res["rows"]}
    assert strategies == {"none", "uniform", "magnitude", "tac", "tac+mc", "uniform+secded", "tac+mc+secded"}
    none = next(r for r in res["rows"] if r["strategy"] == "none")
    best = max(r["accuracy_mean"] for r in res["rows"])
    assert none["accuracy_mean"] < best - 0.3  # p10 ~ 0.095 unprotected wrecks LeNet-5; protection restores it
    md = (out / "report.md").read_text()
    for section in ("1. Physics", "2. TAC plan vs Uniform-MSP", "3. rho*", "4. One protected layer"):
        assert section in md
    assert "Skipped (`--sim none`)" in md
    for name in ("campaign.toml", "campaign.sqlite", "metric_vs_overhead.png", "physics_transmission.png"):
        assert (out / name).exists(), name
    # a rerun with other sizes adds its own tasks to the same store and reports only those
    assert main(base + ["--trials", "2", "--test-subset", "60"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert len(second["rows"]) == len(res["rows"])
    assert len(second["rho_star"]) <= 1
    assert all(r["accuracy_mean"] != q["accuracy_mean"] for r, q in zip(second["rows"], res["rows"])
               if r["strategy"] == "none")


def test_demo_bad_input_one_line_exit_2(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "o"), "--workers", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--workers" in err
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--sim", "modelsim"])
    assert exc.value.code == 2


@pytest.mark.sim
@pytest.mark.slow  # the demo plus its RTL step (~35 s of CPU); testbenches/layer checks the RTL layer itself
def test_demo_protected_layer_on_the_rtl(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["demo", "--out", str(out), "--quick", "--trials", "2", "--test-subset", "50", "--workers", "0",
               "--sim", "verilator", "--json"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0
    rtl = res["rtl"]
    assert rtl["agree"] and rtl["layer"] == "conv2"
    assert rtl["tac"]["protect_bits"] in (1, 2, 4, 8) and rtl["tac"]["protect_bits"] >= rtl["tac"]["m_plan"]
    (trial,) = rtl["trials"]
    assert trial["bits_flipped"] > 0 and trial["ecc_corrected"] == trial["codec_corrected"] > 0
    md = (out / "report.md").read_text()
    assert "RTL output equals the replay layer bit for bit" in md and "**True**" in md
