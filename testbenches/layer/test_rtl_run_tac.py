"""TAC/ECC end to end on the RTL (design.md section 3, 6) and the `qtaml-hw rtl-run` command.

A LeNet-5 layer with its TAC plan (m_l rounded up to the RTL's {1, 2, 4, 8}, SECDED over
those bits, mean correction folded into the output dequantization) runs on the RTL with
leakage flips in data *and* check bits; RTL accumulators, ECC counts run by run, the words
the SRAM read port returns, and the network's accuracy must equal the software simulation
of the same plan (Python SECDED codec on the same flips, ``tac.corrected_dequantize``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from qtaml_hw.cli import main
from qtaml_hw.rtlnn.layer_eval import expected_reads, leakage_trials, setup_layer, tac_plan
from qtaml_hw.memory import FlipModel
from qtaml_hw.nn.replay import layer_inputs
from qtaml_hw.tac import corrected_dequantize


@pytest.mark.sim
@pytest.mark.slow  # ~45 s of CPU; the fast tier runs the same path via test_rtl_run_cli_tac_json
def test_tac_plan_with_secded_on_rtl_matches_software_simulation():
    setup = setup_layer(model="lenet5", layer="conv2", n=8, images=2)
    fm = FlipModel.symmetric(0.02)
    plan = tac_plan(setup, flip_model=fm, budget_bpw=0.5)
    m = plan["protect_bits"]
    assert plan["m_plan"] <= m in (1, 2, 4, 8) and plan["a"] == pytest.approx(0.96)
    res = leakage_trials(setup, simulator="verilator", flip_model=fm, seed=7, trials=2, ecc=True, protect_bits=m,
                         correction=(plan["a"], plan["c_unprot"]))
    for t in res["trials"]:
        assert t["bit_exact"] and t["ecc_counts_match"] and t["readback_matches_codec"]
        assert t["ecc_corrected"] > 0 and t["accuracy_rtl"] == t["accuracy_replay"]
    # the folded correction is exactly the TAC corrected dequantization of the words the SRAM returns
    from qtaml_hw.rtlnn.layer_eval import draw_masks

    dm, cm = draw_masks(setup, source="rtl", flip_model=fm, seed=7, trials=1, ecc=True, protect_bits=m)
    seen, _, _ = expected_reads(setup, dm[0], cm[0], ecc=True, protect_bits=m)
    w_seen = setup.mapping.layer_weights_from_image(seen)
    qt = setup.qmodel.layer("conv2").qtensor
    w_hat = corrected_dequantize(w_seen.view(np.uint8), scale=qt.scale, bits=8, code="twos", flip_model=fm,
                                 protect_msb=m).astype(np.float64)
    xin = layer_inputs(setup.qmodel, "conv2", setup.x)
    layer = setup.layer
    layer.set_mean_correction(a=plan["a"], c_unprot=plan["c_unprot"], protect_bits=m)
    layer.set_weights(w_seen)
    try:
        y = layer(xin.double())
    finally:
        layer.clear_faults()
        layer.set_mean_correction(a=1.0, c_unprot=0.0, protect_bits=0)
    a_int = layer.quantize_input(xin)
    ref = setup.s_a * F.conv2d(a_int, torch.from_numpy(w_hat)) + layer.bias.reshape(1, -1, 1, 1)
    # corrected_dequantize returns float32 weights: agreement to float32 precision; an uncorrected or
    # scale-only dequantization is off by ~1e-2 of the output range
    tol = 1e-5 * float(ref.abs().max())
    assert float((y - ref).abs().max()) < tol
    uncorrected = setup.s_a * F.conv2d(a_int, torch.from_numpy(qt.dequantize(w_seen.view(np.uint8)).astype(np.float64)))
    assert float((uncorrected + layer.bias.reshape(1, -1, 1, 1) - ref).abs().max()) > 100 * tol


@pytest.mark.sim
def test_rtl_run_cli_tac_json(capsys):
    code = main(["rtl-run", "--model", "lenet5", "--layer", "conv2", "--sim", "verilator", "--images", "1",
                 "--p-flip", "0.02", "--tac", "--budget-bpw", "0.5", "--seed", "2", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    res = json.loads(out.out)
    assert res["agree"] and res["ecc"] and res["protect_bits"] == 4 and res["tac"]["m_plan"] == 3
    assert res["trials"][0]["ecc_corrected"] == res["trials"][0]["codec_corrected"] > 0
    assert "rtl-run:" in out.err          # progress on stderr, stdout is pure JSON


@pytest.mark.sim
def test_rtl_run_cli_icarus_text(capsys):
    code = main(["rtl-run", "--layer", "fc3", "--sim", "icarus", "--images", "8", "--p-flip", "0.05", "--seed", "1"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "RTL == replay layer: yes, every trial" in out.out and "fc3" in out.out
