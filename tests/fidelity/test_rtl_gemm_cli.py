"""`qtaml-hw rtl-gemm`: bad input gives one stderr line and exit 2; a real tile runs bit-exact on the RTL."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize("argv,needle", [
    (["--sim", "modelsim"], "unknown simulator"),
    (["--n", "5"], "array size N"),
    (["--n", "4", "--k", "6"], "multiple of N"),
    (["--ecc", "--protect-bits", "3"], "--protect-bits"),
    (["--p-flip", "0.1", "--t-ox-nm", "2"], "either --p-flip"),
    (["--rows", "100"], "rows"),
])
def test_bad_input_one_line(cli, argv, needle):
    code, out, err = cli("rtl-gemm", *argv)
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_probability_rejected_by_parser(cli):
    code, _, err = cli("rtl-gemm", "--p-flip", "1.5")
    assert code == 2 and "probability" in err


@pytest.mark.sim
def test_rtl_gemm_icarus_with_flips(cli):
    code, out, err = cli("rtl-gemm", "--sim", "icarus", "--n", "4", "--k", "8", "--p-flip", "0.05",
                         "--seed", "3", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["bit_exact"] and res["bits_flipped"] > 0 and res["outputs_differing_from_clean"] > 0
    assert res["cycles"] == 2 * (2 + 1 + 4 + 8)


# the Verilator run is a build of its own (~25 s); Icarus checks the same counts in the fast tier
HEAVY_CASES = {("test_rtl_gemm_ecc_counts_match_codec", "verilator")}


@pytest.mark.sim
@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_rtl_gemm_ecc_counts_match_codec(cli, simulator):
    code, out, err = cli("rtl-gemm", "--sim", simulator, "--n", "4", "--k", "16", "--p-flip", "0.01",
                         "--ecc", "--protect-bits", "4", "--seed", "1", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["bit_exact"] and res["ecc_counts_match"] and res["ecc_corrected"] > 0
