"""`qtaml-hw moments` CLI."""

import json

import numpy as np
import pytest

from qtaml_hw.memory import hierarchy_shares, residual_fraction


def test_moments_json_twos(cli):
    code, out, err = cli("moments", "--bits", "8", "--p-flip", "0.01", "--protect-msb", "2", "--json")
    assert code == 0 and err == ""
    res = json.loads(out)
    shares = [r["share"] for r in res["per_bit"]]
    assert np.allclose(shares, hierarchy_shares(bits=8))
    assert res["residual_share"] == pytest.approx(residual_fraction(bits=8, protect_msb=2))
    assert res["mean_drift"]["kind"] == "affine" and res["mean_drift"]["a"] == pytest.approx(0.98)
    assert [r["protected"] for r in res["per_bit"]] == [False] * 6 + [True] * 2
    assert len(res["residual_variance_curve"]) == 9


def test_moments_table_and_signmag(cli):
    code, out, err = cli("moments", "--code", "signmag", "--p10", "0.02", "--p01", "0.001")
    assert code == 0 and "sign-dependent" in out and "share" in out
    code, out, _ = cli("moments", "--code", "offset", "--bits", "12", "--json")
    assert code == 0 and json.loads(out)["bits"] == 12


@pytest.mark.parametrize("argv", [
    ("--bits", "3"), ("--bits", "17"), ("--bits", "x"), ("--code", "gray"), ("--p10", "1.5"),
    ("--p-flip", "-0.1"), ("--protect-msb", "9"), ("--p-flip", "0.6", "--r", "2"),
    ("--p-flip", "0.1", "--p10", "0.1"),
])
def test_moments_bad_input(cli, argv):
    code, out, err = cli("moments", *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
