"""Calibration of the flip model from layer outputs on synthetic data with known theta (design.md section 8)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel
from qtaml_hw.nn.calibrate import (FlipCounts, SimulatedDevice, calibrate, count_flips, fit_lognormal, fit_mle,
                                   read_weights)


def test_count_flips_by_hand():
    clean = np.array([[0b0000_0011, -1]], np.int8)  # 2 ones + 8 ones = 10 ones, 6 zeros
    read = np.array([[[0b0000_0101, 0x7F]]], np.int8)  # bit1 1->0, bit2 0->1; MSB 1->0
    c = count_flips(clean, read)
    assert (c.ones, c.zeros, c.flips10, c.flips01, c.states) == (10, 6, 2, 1, 1)


def test_read_weights_exact_or_refuses():
    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, size=(2, 6, 3))
    a = rng.integers(-3, 4, size=(9, 6)).astype(np.int8)
    assert np.array_equal(read_weights(a, np.einsum("mk,tkn->tmn", a.astype(np.int64), w)), w)
    with pytest.raises(QtamlError, match="rank"):
        read_weights(a[:, :1].repeat(6, axis=1), np.zeros((2, 9, 3)))


@pytest.mark.parametrize("p10,r,seed", [(0.08, 0.25, 11), (0.03, 1.0, 12)])
def test_calibration_recovers_known_theta(p10, r, seed):
    rng = np.random.default_rng(seed)
    w = rng.integers(-100, 101, size=(150, 16)).astype(np.int8)
    dev = SimulatedDevice(w, flip_model=FlipModel(p10, r * p10), seed=seed)
    fit, trace = calibrate(dev, w, rel_p10=0.05, abs_r=0.04, batch_states=4)
    assert abs(fit.p10 - p10) < 4 * fit.se_p10 and abs(fit.r - r) < 4 * fit.se_r  # unbiased, honest errors
    assert 1.96 * fit.se_p10 <= 0.05 * fit.p10 and 1.96 * fit.se_r <= 0.04  # stopped at the targets
    assert trace[-1]["rtl_runs"] == dev.rtl_runs == fit.counts.states
    assert fit.ci_p10[0] < p10 < fit.ci_p10[1] or abs(fit.p10 - p10) < 3 * fit.se_p10


def test_fit_mle_closed_form():
    f = fit_mle(FlipCounts(ones=1000, zeros=2000, flips10=100, flips01=40, states=1))
    assert (f.p10, f.p01, f.r) == pytest.approx((0.1, 0.02, 0.2))
    assert f.se_p10 == pytest.approx(np.sqrt(0.1 * 0.9 / 1000))
    with pytest.raises(QtamlError):
        fit_mle(FlipCounts(ones=10, zeros=10, flips10=0, flips01=0))


def test_fit_lognormal_recovers_spread():
    mu, sigma = -1.5, 0.7
    t = np.array([0.25, 0.5, 1.0, 2.0, 4.0])
    n = np.full(t.size, 200000)
    k = np.random.default_rng(3).binomial(n, stats.norm.cdf((np.log(t) - mu) / sigma))
    fit = fit_lognormal(t, n, k)
    assert fit["identifiable"] and fit["sigma_ln"] == pytest.approx(sigma, rel=0.05)
    assert fit["mu_ln"] == pytest.approx(mu, abs=0.05)
    assert not fit_lognormal([1.0], [10], [1])["identifiable"]


def test_calibrate_cli_synthetic(cli):
    code, out, err = cli("calibrate", "--synthetic", "--rtl-p10", "0.09", "--rtl-r", "0.4", "--seed", "5", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert abs(res["p10_fit"] - 0.09) / 0.09 < 0.1 and abs(res["r_fit"] - 0.4) < 0.05
    assert res["rtl_runs"] >= 1 and res["memory_states"] == res["rtl_runs"]


@pytest.mark.parametrize("argv,needle", [
    (["--rtl-p10", "0.1", "--intervals", "0.5,x"], "intervals"),
    (["--rtl-p10", "0.1", "--intervals", "2"], "reference interval"),
    (["--rtl-p10", "1.5"], "probability"),
    (["--rtl-p10", "0.1", "--layer", "nope", "--synthetic"], "no array-mappable layer"),
])
def test_calibrate_bad_input_one_line(cli, argv, needle):
    code, out, err = cli("calibrate", *argv)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1 and out == ""


@pytest.mark.parametrize("argv,needle", [
    (["--method", "magic"], "unknown training method"),
    (["--method", "hessian", "--reg-scale", "-1"], "non-negative"),
    (["--method", "noise-aware", "--lambda-rob", "-0.5"], "non-negative"),
    (["--method", "hessian", "--nreg", "9", "--epochs", "3"], "NReg"),
    (["--method", "hessian", "--trace-mode", "eval"], "unknown Hessian trace mode"),
    (["--method", "hessian", "--alpha-from", "ema"], "unknown alpha source"),
    (["--method", "hessian", "--optimizer", "lion"], "unknown optimizer"),
    (["--method", "srl"], "residual"),
])
def test_train_bad_input_one_line(cli, argv, needle, tmp_path):
    code, out, err = cli("train", "--model", "lenet5", "--out", str(tmp_path), *argv)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())  # nothing written
