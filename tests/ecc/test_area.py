"""Area accounting: NAND2 equivalents with flip-flops apart, transistors, logic depth, liberty area, saboteur excluded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qtaml_hw.errors import QtamlError
from qtaml_hw.hdl.synth import FF_GE, GE_WEIGHTS, nand2_equivalents, synth_report

LIB = Path(__file__).with_name("tiny.lib")
SRC = """module t(input clk, input [3:0] a, b, output reg [3:0] q);
always @(posedge clk) q <= a ^ b ^ {a[0], a[3:1]};
endmodule
"""


def test_nand2_equivalents_weights():
    ge = nand2_equivalents({"$_XOR_": 8, "$_DFF_P_": 4, "$_NOT_": 3})
    assert ge["logic_ge"] == pytest.approx(8 * GE_WEIGHTS["$_XOR_"] + 3 * GE_WEIGHTS["$_NOT_"])
    assert ge["ff_ge"] == pytest.approx(4 * FF_GE) and ge["flip_flops"] == 4
    assert GE_WEIGHTS["$_NAND_"] == 1.0 and FF_GE > 5 * GE_WEIGHTS["$_NAND_"]  # a flip-flop is not one cell
    with pytest.raises(QtamlError):
        nand2_equivalents({"$_WEIRD_": 1})


@pytest.mark.sim
def test_synth_report_and_liberty(tmp_path):
    src = tmp_path / "t.v"
    src.write_text(SRC)
    rep = synth_report("t", [src])
    assert rep["by_type"] == {"$_DFF_P_": 4, "$_XOR_": 8}
    assert rep["flip_flops"] == 4 and rep["transistors"] == 8 * 12 + 4 * 16 and rep["logic_depth"] == 2
    lib = synth_report("t", [src], liberty=LIB)["liberty_area"]
    doubled = tmp_path / "double.lib"
    text = LIB.read_text()
    for a in ("6", "3", "4", "18"):
        text = text.replace(f"area: {a};", f"area: {2 * int(a)};")
    doubled.write_text(text)
    assert synth_report("t", [src], liberty=doubled)["liberty_area"] == pytest.approx(2 * lib)
    assert lib >= 4 * 18  # four DFF cells of area 18 plus the mapped XOR logic
    bad = tmp_path / "bad.lib"
    bad.write_text("library(x) { cell(A) { area : ; ")
    with pytest.raises(QtamlError, match="liberty"):
        synth_report("t", [src], liberty=bad)


@pytest.mark.sim
def test_area_cli_codes_and_saboteur(cli, tmp_path):
    code, out, err = cli("area", "--code", "tmr", "--data-bits", "8", "--array-n", "2", "--with-saboteur", "--json")
    assert code == 0, err
    got = json.loads(out)
    row = got["rows"][0]
    assert (row["n"], row["k"], row["r"]) == (24, 8, 16)
    assert row["ecc_flip_flops"] == 0 and row["enc_ge"] == 0  # the TMR encoder is wires
    assert row["check_storage_um2"] == pytest.approx(1024 * 16 * 0.346)
    plain, sab = got["arrays"]
    assert not plain["saboteur"] and sab["saboteur"] and sab["total_ge"] > plain["total_ge"]
    assert plain["flip_flops"] > 0 and plain["ff_ge"] == pytest.approx(plain["flip_flops"] * FF_GE, rel=0.2)
    code, out, err = cli("area", "--code", "bch", "--t", "2", "--data-bits", "8", "--array-n", "0",
                         "--liberty", str(LIB), "--bit-cell-um2", "0.1", "--json")
    assert code == 0, err
    row = json.loads(out)["rows"][0]
    assert row["r"] == 10 and row["dec_depth"] > row["enc_depth"] and row["ecc_liberty_area"] > 0
    assert row["check_storage_um2"] == pytest.approx(1024 * 10 * 0.1)
    bad = tmp_path / "bad.lib"
    bad.write_text("not a liberty file")
    code, out, err = cli("area", "--code", "secded", "--data-bits", "8", "--array-n", "0", "--liberty", str(bad))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "liberty" in err and out == ""
