"""Exact outcome rates vs brute force over every error pattern and vs Monte Carlo; the capacity floor (design.md section 3)."""

import json

import numpy as np
import pytest

from qtaml_hw.ecc.bch import build_code
from qtaml_hw.ecc.codec import CLEAN, DETECTED, Codeword
from qtaml_hw.ecc.rates import (RATE_KEYS, binary_entropy, capacity_floor, code_rates, outcome_rates,
                                sample_outcomes, weight_distribution)


def _brute(code, p):
    """Sum p^w (1-p)^(n-w) over all 2^n error patterns, classified by the real decoder (data written: 0)."""
    n, k = code.n, code.k
    e = np.arange(1 << n, dtype=np.uint64)
    de, ce = e & np.uint64((1 << k) - 1), e >> np.uint64(k)
    cw = code.encode(np.zeros(1, np.uint64))
    chk = ce.astype(cw.check.dtype)
    data, status = code.decode(Codeword(de, chk))
    w = np.bitwise_count(e).astype(np.float64)
    prob = p ** w * (1 - p) ** (n - w)
    right = data == 0
    return {"clean": prob[e == 0].sum(), "corrected": prob[(e != 0) & right & (status != DETECTED)].sum(),
            "detected": prob[status == DETECTED].sum(), "miscorrected": prob[~right & (status != DETECTED)].sum(),
            "undetected": prob[~right & (status == CLEAN)].sum()}


@pytest.mark.parametrize("kind,k,t", [("sec", 8, 1), ("secded", 8, 1), ("secded", 4, 1), ("bch", 4, 2),
                                      ("bch", 6, 2), ("bch", 4, 3), ("rep", 4, 1), ("rep", 5, 1)])
@pytest.mark.parametrize("p", [0.01, 0.1, 0.3])
def test_exact_rates_equal_brute_force(kind, k, t, p):
    code = build_code(kind, k, t=t, copies=3 if k == 4 else 2)
    assert code.n <= 20
    exact = outcome_rates(code, p)
    brute = _brute(code, p)
    for key in (*RATE_KEYS, "undetected"):
        assert exact[key] == pytest.approx(brute[key], rel=1e-9, abs=1e-15), key
    assert sum(exact[key] for key in RATE_KEYS) == pytest.approx(1.0, abs=1e-12)


def test_weight_distribution_both_ways():
    """Codeword enumeration and MacWilliams over the dual give the same A_i (k > r and k <= r paths)."""
    for kind, k in (("secded", 8), ("bch", 16)):
        code = build_code(kind, k)
        a = weight_distribution(code.h)
        assert a[0] == 1 and sum(a) == 2 ** k
        d = np.arange(1 << k, dtype=np.uint64)
        cw = code.encode(d)
        direct = np.bincount((np.bitwise_count(cw.data) + np.bitwise_count(cw.check.astype(np.uint64))).astype(int),
                             minlength=code.n + 1)
        assert tuple(int(x) for x in direct) == a
    assert min(i for i, x in enumerate(weight_distribution(build_code("bch", 64, t=3).h)) if i and x) >= 7


@pytest.mark.parametrize("kind,k,t", [("secded", 64, 1), ("bch", 64, 2), ("bch", 32, 3), ("rep", 16, 1)])
def test_exact_rates_match_monte_carlo(kind, k, t):
    code = build_code(kind, k, t=t)
    exact = outcome_rates(code, 0.1)
    words = 40_000
    mc = sample_outcomes(code, 0.1, words=words, seed=11)
    for key in RATE_KEYS:
        se = np.sqrt(max(exact[key] * (1 - exact[key]), 1e-12) / words)
        assert abs(mc[key] - exact[key]) < 4 * se + 1e-9, (key, mc[key], exact[key])


def test_capacity_floor():
    assert capacity_floor(0.1) == pytest.approx(0.8832, abs=1e-4)
    assert binary_entropy(0.5) == pytest.approx(1.0) and capacity_floor(0.5) == np.inf
    assert capacity_floor(0.0) == 0.0
    # every real code that keeps the silent-error rate below 1% at p = 0.1 pays more than the floor
    for kind, k, t in (("bch", 64, 3), ("rep", 8, 1), ("secded", 8, 1)):
        r = code_rates(kind, k, 0.1, t=t, copies=5)
        if r["miscorrected"] + r["detected"] < 0.01:
            assert r["check_bits_per_data_bit"] > r["capacity_floor"]


def test_cli_ecc_rates(cli):
    code, out, err = cli("ecc-rates", "--code", "bch", "--k", "16", "--t", "2", "--p", "0.05", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert {"clean", "corrected", "detected", "miscorrected", "n", "k"} <= set(got)
    assert got["n"] == 26 and got["k"] == 16
    assert sum(got[x] for x in RATE_KEYS) == pytest.approx(1.0, abs=1e-12)
    code, out, _ = cli("ecc-rates", "--code", "rep", "--k", "8", "--p", "0.1", "--p", "0.01", "--mc", "2000")
    assert code == 0 and "capacity_floor" in out and "MC 0.1" in out
    for argv in (["--code", "bch", "--k", "0", "--p", "0.1"], ["--code", "sec", "--k", "8", "--p", "1.5"],
                 ["--code", "golay", "--k", "8", "--p", "0.1"], ["--code", "bch", "--k", "65", "--p", "0.1"],
                 ["--code", "sec", "--k", "8", "--t", "3", "--p", "0.1"]):
        code, out, err = cli("ecc-rates", *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1 and out == ""
