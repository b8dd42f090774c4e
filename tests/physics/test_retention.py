"""Retention, Poisson and log-normal flip probabilities vs sampling (design.md section 1)."""

import numpy as np
import pytest
from scipy import special

from qtaml_hw.errors import QtamlError
from qtaml_hw.physics import (DEFAULT_TAU0_S, flip_probabilities, lognormal_params, p_flip_lognormal,
                              p_flip_lognormal_refined, p_flip_poisson, p_flip_population,
                              p_flip_population_sampled, retention_time, sample_thickness, transmission)

N = 200_000
TIMES = np.array([1e5, 86400 * 30.0, 1e7, 1e8])


def test_tau_is_tau0_over_t_and_poisson():
    t = transmission(t_ox_nm=2.0)
    tau = retention_time(t_ox_nm=2.0, tau0_s=1e-3)
    assert tau == pytest.approx(1e-3 / t, rel=1e-12)
    assert p_flip_poisson(tau, tau_s=tau) == pytest.approx(1 - np.exp(-1), rel=1e-12)
    assert p_flip_poisson(0.0, tau_s=tau) == 0.0
    assert p_flip_poisson(1e-6 * tau, tau_s=tau) == pytest.approx(1e-6, rel=1e-6)  # expm1: no cancellation


def test_one_physical_default_attempt_time():
    assert 1e-14 <= DEFAULT_TAU0_S <= 1e-13
    # the default is not tuned to a flip rate: a 1.8 nm node retains for ~1e-4 s (gain-cell scale)
    tau = flip_probabilities(t_ox_nm=1.8, t_s=1e-4)["tau_s"]
    assert 1e-5 < tau < 1e-3


def test_lognormal_step_matches_thickness_sampling():
    mu, sigma = 2.0, 0.1
    tox = sample_thickness(t_ox_nm=mu, sigma_nm=sigma, n_samples=N, seed=7)
    ln_tau = np.log(retention_time(t_ox_nm=tox))
    mu_ln, sigma_ln = lognormal_params(t_ox_nm=mu, sigma_nm=sigma)
    # ln tau is normal: mean and std within a few standard errors (SE_mean = sigma_ln/sqrt(N) = 2.6e-3)
    assert abs(ln_tau.mean() - mu_ln) < 4 * sigma_ln / np.sqrt(N)
    assert abs(ln_tau.std() - sigma_ln) < 4 * sigma_ln / np.sqrt(2 * N)
    for t in TIMES:
        empirical = np.mean(np.exp(ln_tau) < t)
        model = p_flip_lognormal(t, t_ox_nm=mu, sigma_nm=sigma)
        se = np.sqrt(max(model * (1 - model), 1e-6) / N)  # binomial SE, <= 1.1e-3
        assert abs(empirical - model) < 4 * se, (t, empirical, model, se)


def test_population_quadrature_matches_sampling():
    mean, se = p_flip_population_sampled(TIMES, t_ox_nm=2.0, sigma_nm=0.1, n_samples=N, seed=11)
    exact = p_flip_population(TIMES, t_ox_nm=2.0, sigma_nm=0.1)
    assert np.all(np.abs(mean - exact) < 4 * se + 1e-12), (mean, exact, se)  # se ~ 5e-5 .. 7e-4


def test_step_vs_population_and_refinement():
    kw = dict(t_ox_nm=2.0, sigma_nm=0.1, tau0_s=1e-3)  # times scaled to a 1e-3 s tau0
    exact = p_flip_population(TIMES[:3], **kw)
    step = p_flip_lognormal(TIMES[:3], **kw)
    refined = p_flip_lognormal_refined(TIMES[:3], **kw)
    assert np.all(np.abs(refined - exact) < np.abs(step - exact))
    assert step[0] < 1e-3 * exact[0]  # the step misses the Poisson low tail by orders of magnitude
    # wide variation: the step law becomes accurate
    wide = dict(t_ox_nm=2.0, sigma_nm=0.6, tau0_s=1e-3)
    t = np.array([1e4, 1e7, 1e10])
    assert np.allclose(p_flip_lognormal(t, **wide), p_flip_population(t, **wide), atol=0.04)  # gap ~ gamma/sigma_ln*phi


def test_zero_sigma_reduces_to_single_cell():
    t = np.array([1e5, 1e7, 1e9])
    single = p_flip_poisson(t, tau_s=retention_time(t_ox_nm=2.0))
    assert np.allclose(p_flip_population(t, t_ox_nm=2.0, sigma_nm=0.0), single, rtol=1e-10)


def test_bad_inputs():
    with pytest.raises(QtamlError):
        retention_time(t_ox_nm=2.0, tau0_s=0.0)
    with pytest.raises(QtamlError):
        p_flip_poisson(-1.0, tau_s=1.0)
    with pytest.raises(QtamlError):
        p_flip_lognormal(1.0, t_ox_nm=2.0, sigma_nm=-0.1)
    with pytest.raises(QtamlError):
        sample_thickness(t_ox_nm=2.0, sigma_nm=1.0, n_samples=10, seed=0)
    with pytest.raises(QtamlError):
        flip_probabilities(t_ox_nm=2.0, t_s=-5.0)


def test_sampling_is_seeded():
    a = sample_thickness(t_ox_nm=2.0, sigma_nm=0.1, n_samples=100, seed=3)
    b = sample_thickness(t_ox_nm=2.0, sigma_nm=0.1, n_samples=100, seed=3)
    c = sample_thickness(t_ox_nm=2.0, sigma_nm=0.1, n_samples=100, seed=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert special.ndtr(0.0) == 0.5
