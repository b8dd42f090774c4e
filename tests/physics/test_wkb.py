"""WKB closed forms vs quadrature of kappa(x) (design.md section 1)."""

import numpy as np
import pytest

from qtaml_hw.errors import QtamlError
from qtaml_hw.physics import (barrier_kind, kappa_avg_per_nm, transmission, transmission_numeric, wkb_exponent,
                              wkb_exponent_numeric)


@pytest.mark.parametrize("v_ox", [0.0, 0.5, 2.0, 3.0, 3.1, 4.0, 8.0])
@pytest.mark.parametrize("t_ox_nm", [0.8, 2.0, 4.5])
@pytest.mark.parametrize("phi_m", [(3.1, 0.42), (1.0, 0.5)])
def test_closed_form_matches_quadrature(v_ox, t_ox_nm, phi_m):
    phi, m = phi_m
    s_closed = wkb_exponent(t_ox_nm=t_ox_nm, phi_b_ev=phi, m_ox=m, v_ox=v_ox)
    s_num = wkb_exponent_numeric(t_ox_nm=t_ox_nm, phi_b_ev=phi, m_ox=m, v_ox=v_ox)
    assert abs(s_closed - s_num) / s_num < 1e-6
    t_closed = transmission(t_ox_nm=t_ox_nm, phi_b_ev=phi, m_ox=m, v_ox=v_ox)
    t_num = transmission_numeric(t_ox_nm=t_ox_nm, phi_b_ev=phi, m_ox=m, v_ox=v_ox)
    assert abs(t_closed - t_num) / t_num < 1e-6


def test_rectangular_absolute_value():
    # kappa = sqrt(2 * 0.42 m0 * 3.1 eV) / hbar = 5.8458 /nm (hand-computed with CODATA constants)
    s = wkb_exponent(t_ox_nm=1.0, phi_b_ev=3.1, m_ox=0.42)
    assert s == pytest.approx(2 * 5.84580, rel=1e-5)


def test_half_decade_per_angstrom():
    t1 = transmission(t_ox_nm=2.0)
    t2 = transmission(t_ox_nm=2.1)
    decades = np.log10(t1 / t2)
    assert 0.45 < decades < 0.55


def test_regimes_and_monotonicity():
    assert barrier_kind(phi_b_ev=3.1, v_ox=0.0) == "rect"
    assert barrier_kind(phi_b_ev=3.1, v_ox=1.0) == "trapezoid"
    assert barrier_kind(phi_b_ev=3.1, v_ox=3.5) == "fn"
    v = np.linspace(0.0, 10.0, 41)
    s = wkb_exponent(t_ox_nm=np.full_like(v, 2.0), v_ox=v)
    assert np.all(np.diff(s) < 0)  # more field -> thinner effective barrier -> larger T
    # FN continuity at V_ox = phi_B: trapezoid limit equals the FN form
    below = wkb_exponent(t_ox_nm=2.0, v_ox=3.1 - 1e-9)
    at = wkb_exponent(t_ox_nm=2.0, v_ox=3.1)
    assert below == pytest.approx(at, rel=1e-6)


def test_exponent_linear_in_thickness():
    for v in (0.0, 1.0, 5.0):
        t = np.array([1.5, 2.0, 2.5])
        s = wkb_exponent(t_ox_nm=t, v_ox=v)
        k = kappa_avg_per_nm(t_ox_nm=2.0, v_ox=v)
        assert np.allclose(np.diff(s), 2 * k * 0.5, rtol=1e-12)


def test_explicit_barrier_mismatch_and_bad_inputs():
    with pytest.raises(QtamlError):
        wkb_exponent(t_ox_nm=2.0, v_ox=1.0, barrier="rect")
    with pytest.raises(QtamlError):
        wkb_exponent(t_ox_nm=2.0, v_ox=1.0, barrier="fn")
    with pytest.raises(QtamlError):
        wkb_exponent(t_ox_nm=2.0, v_ox=1.0, barrier="bogus")
    assert wkb_exponent(t_ox_nm=2.0, v_ox=1.0, barrier="trapezoid") == wkb_exponent(t_ox_nm=2.0, v_ox=1.0)
    for kw in ({"t_ox_nm": 0.0}, {"t_ox_nm": -1.0}, {"t_ox_nm": 2.0, "phi_b_ev": 0.0},
               {"t_ox_nm": 2.0, "m_ox": -0.1}, {"t_ox_nm": 2.0, "v_ox": -0.5}, {"t_ox_nm": float("nan")}):
        with pytest.raises(QtamlError):
            transmission(**kw)
        with pytest.raises(QtamlError):
            transmission_numeric(**kw)
