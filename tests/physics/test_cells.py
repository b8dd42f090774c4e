"""Calibrated cells: tau0 from a measured retention, threshold vs Poisson law, V_ox = Q/C (design.md section 1)."""

import numpy as np
import pytest
from scipy import constants, special

from qtaml_hw.errors import QtamlError
from qtaml_hw.physics import (CELLS, DEFAULT_TAU0_S, calibrate, custom_cell, get_cell, operating_point,
                              oxide_voltage, retention_time, sample_thickness, transmission)


@pytest.mark.parametrize("name", list(CELLS))
@pytest.mark.parametrize("law", ["threshold", "poisson"])
def test_calibration_passes_through_the_measured_point(name, law):
    cell = get_cell(name)
    cal = calibrate(cell, law=law)
    assert cal.p_fail(cell.retention_s) == pytest.approx(cell.retention_quantile, rel=1e-9)
    # tau0 is tau x T of the charged node's trapezoidal barrier
    t = transmission(t_ox_nm=cell.t_ox_nm, phi_b_ev=cell.phi_b_ev, m_ox=cell.m_ox, v_ox=cell.v_ox)
    assert cal.tau0_s == pytest.approx(cal.tau_s * t, rel=1e-12)
    assert retention_time(t_ox_nm=cell.t_ox_nm, v_ox=cell.v_ox, tau0_s=cal.tau0_s) == pytest.approx(cal.tau_s)
    for p in (1e-3, 0.1, 0.5):
        assert cal.p_fail(cal.refresh_for(p)) == pytest.approx(p, rel=1e-9)
    if cal.t_ox_equiv_nm is not None:  # the default tau0 at the equivalent oxide reproduces tau
        assert retention_time(t_ox_nm=cal.t_ox_equiv_nm, v_ox=cell.v_ox, tau0_s=DEFAULT_TAU0_S) == \
            pytest.approx(cal.tau_s, rel=1e-9)


def test_charged_node_oxide_voltage_is_q_over_c():
    cell = get_cell("gc3t-65nm")
    assert cell.v_ox == pytest.approx(cell.v_node_v) and cell.v_ox > 0
    assert cell.n_electrons == pytest.approx(2e-15 * 1.2 / constants.e)
    assert oxide_voltage(charge_c=5000 * constants.e, c_node_f=1e-15) == pytest.approx(0.801, rel=1e-3)
    with pytest.raises(QtamlError):
        oxide_voltage(charge_c=1e-15, c_node_f=0.0)


def test_threshold_law_matches_sampled_cells():
    """Sample t_ox per cell, discharge deterministically (Gamma shot noise of f N electrons), count failures."""
    cell = custom_cell(retention_s=1e-4, retention_quantile=1e-3, c_node_f=0.02e-15, v_node_v=0.8,
                       sigma_tox_nm=0.08)  # a small node so the shot-noise term is visible
    cal = calibrate(cell)
    n = 200_000
    tox = sample_thickness(t_ox_nm=cell.t_ox_nm, sigma_nm=cell.sigma_tox_nm, n_samples=n, seed=3)
    tau_cell = np.asarray(retention_time(t_ox_nm=tox, v_ox=cell.v_ox, tau0_s=cal.tau0_s))
    k = cell.sense_fraction * cell.n_electrons
    g = np.random.default_rng(4)
    t_fail = tau_cell * g.gamma(k, 1.0 / k, size=n)  # time to lose k electrons at rate k / tau
    for t in (0.3 * cal.tau_s, cal.tau_s, 3 * cal.tau_s):
        meas = float(np.mean(t_fail < t))
        pred = cal.p_fail(t)
        se = np.sqrt(pred * (1 - pred) / n)
        assert abs(meas - pred) < 4 * se + 2e-3 * pred, (t, meas, pred)  # log-normal vs Gamma: small shape error
    assert cal.sigma_ln_shot == pytest.approx(1 / np.sqrt(k))


def test_poisson_is_the_single_event_limit():
    cal = calibrate("gc3t-65nm", law="poisson")
    t = 2e-4
    assert cal.p_fail(t) == pytest.approx(-np.expm1(-t / cal.tau_s))
    thr = calibrate("gc3t-65nm")
    # same measured point, different law: 100x apart at the stress refresh interval
    assert thr.p_fail(t) > 30 * cal.p_fail(t)


def test_arrhenius_only_where_cited():
    ref = calibrate("ddr3-85c")
    hot = calibrate("ddr3-85c", temperature_k=368.15)
    assert ref.tau_s / hot.tau_s == pytest.approx(2.0, rel=0.01)  # the spec's 2x per 10 K
    with pytest.raises(QtamlError, match="no cited temperature"):
        calibrate("gc3t-65nm", temperature_k=350)
    with pytest.raises(QtamlError):
        calibrate("ddr3-85c", temperature_k=1000)


def test_operating_point_reports_t_over_tau_and_rate():
    cal = calibrate("gc3t-65nm")
    op = operating_point(cal, 2e-4, r=0.1)
    assert op["t_over_tau"] == pytest.approx(2e-4 / cal.tau_s)
    assert op["refresh_rate_hz"] == pytest.approx(5000)
    assert op["p01"] == pytest.approx(0.1 * op["p10"])
    assert op["p10"] == pytest.approx(special.ndtr(np.log(2e-4 / cal.tau_s) / cal.sigma_ln))
    for bad in (-1.0, 0.0, 2e12, float("nan")):
        with pytest.raises(QtamlError):
            operating_point(cal, bad)


@pytest.mark.parametrize("kw", [dict(retention_s=-1.0), dict(retention_s=2e12), dict(retention_s=1.0,
                                retention_quantile=1.0), dict(retention_s=1.0, sigma_tox_nm=5.0)])
def test_bad_cells(kw):
    with pytest.raises(QtamlError):
        custom_cell(**kw)
    with pytest.raises(QtamlError, match="unknown cell"):
        get_cell("sram-6t")
