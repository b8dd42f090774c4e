"""Retention time and flip probability of a cell (design.md section 1).

* ``tau = tau0 / T``: the stored charge leaks at a rate proportional to the WKB transmission.
* single cell, Poisson: ``p_flip(t) = 1 - exp(-t / tau)`` for a retention interval ``t``.
* process variation, ``t_ox ~ Normal(mu, sigma)``: the WKB exponent is linear in ``t_ox``
  (see :func:`qtaml_hw.physics.wkb.kappa_avg_per_nm`), so ``ln tau ~ Normal(mu_ln, sigma_ln)``
  with ``mu_ln = ln tau(mu)`` and ``sigma_ln = 2 kappa_avg sigma`` (exact up to the negligible
  ``t_ox < 0`` tail).  The design's log-normal retention-failure law is
  ``p_flip(t) = Phi((ln t - mu_ln) / sigma_ln) = P(tau < t)`` -- the fraction of cells whose
  retention time is shorter than ``t``.

How the log-normal step approximates the exact population average
``E_tox[1 - exp(-t / tau(t_ox))]``: ``1 - exp(-t/tau) = P(E < t/tau)`` with ``E ~ Exp(1)``, so
the exact average is ``P(ln tau + ln E < ln t)``; ``ln E`` is a negated Gumbel variable with
mean ``-gamma`` (Euler) and variance ``pi^2 / 6``.  The step law drops ``ln E``, i.e. it treats
each cell as failing exactly at ``t = tau``.  Its error is a shift of ``gamma`` and a widening
of ``pi^2/6`` in ``ln t``: it is good only when ``sigma_ln >> 1.3``.  For ``sigma = 0.1 nm``
on a 2 nm oxide (``sigma_ln = 1.17``) the step gives 0.072 at 30 days where the exact average
is 0.237, and 1.1e-5 at 1e5 s where the exact value is 1.35e-2: in the low tail the Poisson
leakage of typical cells, not the short-tau outliers, dominates, and the step underestimates
by orders of magnitude.  All three are returned so users can see it.  The moment-matched refinement
``Phi((ln t - mu_ln + gamma) / sqrt(sigma_ln^2 + pi^2/6))`` is :func:`p_flip_lognormal_refined`;
the exact value is :func:`p_flip_population` (Gauss-Hermite quadrature) and
:func:`p_flip_population_sampled` (Monte Carlo over ``t_ox``).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from qtaml_hw.errors import QtamlError
from qtaml_hw.physics.wkb import kappa_avg_per_nm, transmission, wkb_exponent
from qtaml_hw.seeding import rng

#: The one default attempt time (s), a physical phonon-scale period (1e-14..1e-13 s), used by
#: every command that is given an oxide but no measured retention (physics, rtl-run, scrub, demo).
#: It is not tuned to hit a flip rate: at 1.8 nm (3.1 eV, 0.42 m0, V_ox = 0) it gives
#: ``tau = 1.4e-4 s``, the order of measured gain-cell eDRAM retention.  To model a real cell,
#: calibrate from its measured retention instead (:mod:`qtaml_hw.physics.cells`).
DEFAULT_TAU0_S = 1e-13
EULER_GAMMA = float(np.euler_gamma)


def _check_nonneg_time(t_s):
    t = np.asarray(t_s, dtype=np.float64)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise QtamlError(f"t_s must be finite and >= 0, got {t.tolist()!r}")
    return t


def _check_tau0(tau0_s):
    tau0 = np.asarray(tau0_s, dtype=np.float64)
    if not np.all(np.isfinite(tau0)) or np.any(tau0 <= 0):
        raise QtamlError(f"tau0_s must be finite and > 0, got {tau0.tolist()!r}")
    return tau0


def _out(x):
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


def retention_time(*, t_ox_nm, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, tau0_s=DEFAULT_TAU0_S, barrier="auto"):
    """``tau = tau0 / T`` in seconds (design.md section 1), computed as ``tau0 * exp(S)``."""
    tau0 = _check_tau0(tau0_s)
    s = wkb_exponent(t_ox_nm=t_ox_nm, phi_b_ev=phi_b_ev, m_ox=m_ox, v_ox=v_ox, barrier=barrier)
    with np.errstate(over="ignore"):  # S > 709: tau = inf (the cell never leaks), the exact limit
        return _out(tau0 * np.exp(np.asarray(s)))


def p_flip_poisson(t_s, *, tau_s):
    """``p_flip(t) = 1 - exp(-t / tau)`` (single cell, Poisson leakage), via ``-expm1``."""
    t = _check_nonneg_time(t_s)
    tau = np.asarray(tau_s, dtype=np.float64)
    if not np.all(tau > 0):
        raise QtamlError(f"tau_s must be > 0, got {tau.tolist()!r}")
    return _out(-np.expm1(-t / tau))


def lognormal_params(*, t_ox_nm, sigma_nm, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, tau0_s=DEFAULT_TAU0_S):
    """``(mu_ln, sigma_ln)`` of ``ln tau`` for ``t_ox ~ Normal(t_ox_nm, sigma_nm)``.

    ``mu_ln = ln tau0 + S(mu)``, ``sigma_ln = 2 kappa_avg sigma`` (``kappa_avg`` in 1/nm).
    """
    sigma = np.asarray(sigma_nm, dtype=np.float64)
    if not np.all(np.isfinite(sigma)) or np.any(sigma < 0):
        raise QtamlError(f"sigma_nm must be finite and >= 0, got {sigma.tolist()!r}")
    tau0 = _check_tau0(tau0_s)
    s = np.asarray(wkb_exponent(t_ox_nm=t_ox_nm, phi_b_ev=phi_b_ev, m_ox=m_ox, v_ox=v_ox))
    k = np.asarray(kappa_avg_per_nm(t_ox_nm=t_ox_nm, phi_b_ev=phi_b_ev, m_ox=m_ox, v_ox=v_ox))
    return _out(np.log(tau0) + s), _out(2.0 * k * sigma)


def _step(t, mu_ln, sigma_ln):
    with np.errstate(divide="ignore"):
        ln_t = np.log(t)
    sigma_ln = np.asarray(sigma_ln, dtype=np.float64)
    safe = np.where(sigma_ln > 0, sigma_ln, 1.0)
    z = (ln_t - mu_ln) / safe
    return np.where(sigma_ln > 0, special.ndtr(z), (ln_t >= mu_ln).astype(np.float64))


def p_flip_lognormal(t_s, *, t_ox_nm, sigma_nm, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, tau0_s=DEFAULT_TAU0_S):
    """``p_flip(t) = Phi((ln t - mu_ln) / sigma_ln) = P(tau < t)`` (design.md section 1, log-normal)."""
    t = _check_nonneg_time(t_s)
    mu_ln, sigma_ln = lognormal_params(t_ox_nm=t_ox_nm, sigma_nm=sigma_nm, phi_b_ev=phi_b_ev, m_ox=m_ox,
                                       v_ox=v_ox, tau0_s=tau0_s)
    return _out(_step(t, mu_ln, sigma_ln))


def p_flip_lognormal_refined(t_s, *, t_ox_nm, sigma_nm, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0,
                             tau0_s=DEFAULT_TAU0_S):
    """Moment-matched ``Phi((ln t - mu_ln + gamma) / sqrt(sigma_ln^2 + pi^2/6))`` (see module doc)."""
    t = _check_nonneg_time(t_s)
    mu_ln, sigma_ln = lognormal_params(t_ox_nm=t_ox_nm, sigma_nm=sigma_nm, phi_b_ev=phi_b_ev, m_ox=m_ox,
                                       v_ox=v_ox, tau0_s=tau0_s)
    return _out(_step(t, np.asarray(mu_ln) - EULER_GAMMA,
                      np.sqrt(np.asarray(sigma_ln) ** 2 + np.pi ** 2 / 6.0)))


def p_flip_population(t_s, *, t_ox_nm, sigma_nm, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, tau0_s=DEFAULT_TAU0_S,
                      order: int = 200):
    """Exact ``E_tox[1 - exp(-t / tau(t_ox))]`` for ``ln tau ~ Normal(mu_ln, sigma_ln)``.

    Probabilists' Gauss-Hermite quadrature of ``order`` nodes over ``z``:
    ``sum_i w_i (1 - exp(-t exp(-(mu_ln + sigma_ln z_i)))) / sqrt(2 pi)``; vectorised over ``t``.
    """
    t = _check_nonneg_time(t_s)
    mu_ln, sigma_ln = lognormal_params(t_ox_nm=t_ox_nm, sigma_nm=sigma_nm, phi_b_ev=phi_b_ev, m_ox=m_ox,
                                       v_ox=v_ox, tau0_s=tau0_s)
    z, w = np.polynomial.hermite_e.hermegauss(order)
    w = w / np.sqrt(2.0 * np.pi)
    ln_tau = np.asarray(mu_ln)[..., None] + np.asarray(sigma_ln)[..., None] * z
    p = -np.expm1(-t[..., None] * np.exp(-ln_tau))
    return _out(p @ w)


def p_flip_population_sampled(t_s, *, t_ox_nm, sigma_nm, n_samples: int, seed: int, phi_b_ev=3.1, m_ox=0.42,
                              v_ox=0.0, tau0_s=DEFAULT_TAU0_S):
    """Monte Carlo ``E_tox[1 - exp(-t / tau(t_ox))]`` sampling ``t_ox ~ Normal`` (truncated at > 0).

    Returns ``(mean, standard_error)`` arrays over ``t``; draws from ``rng(seed, "physics", "tox")``.
    """
    t = _check_nonneg_time(t_s)
    tox = sample_thickness(t_ox_nm=t_ox_nm, sigma_nm=sigma_nm, n_samples=n_samples, seed=seed)
    tau = np.asarray(retention_time(t_ox_nm=tox, phi_b_ev=phi_b_ev, m_ox=m_ox, v_ox=v_ox, tau0_s=tau0_s))
    p = -np.expm1(-np.asarray(t)[..., None] / tau)
    return _out(p.mean(axis=-1)), _out(p.std(axis=-1, ddof=1) / np.sqrt(n_samples))


def sample_thickness(*, t_ox_nm: float, sigma_nm: float, n_samples: int, seed: int) -> np.ndarray:
    """``n_samples`` oxide thicknesses ``~ Normal(t_ox_nm, sigma_nm)``, non-positive draws redrawn."""
    if not (np.isfinite(sigma_nm) and sigma_nm >= 0):
        raise QtamlError(f"sigma_nm must be finite and >= 0, got {sigma_nm!r}")
    if not (np.isfinite(t_ox_nm) and t_ox_nm > 0):
        raise QtamlError(f"t_ox_nm must be finite and > 0, got {t_ox_nm!r}")
    if n_samples < 1:
        raise QtamlError(f"n_samples must be >= 1, got {n_samples}")
    if sigma_nm > t_ox_nm / 3:
        raise QtamlError(f"sigma_nm={sigma_nm} is more than a third of t_ox_nm={t_ox_nm}: the normal model "
                         "of thickness breaks down")
    g = rng(seed, "physics", "tox")
    tox = g.normal(t_ox_nm, sigma_nm, size=n_samples)
    bad = tox <= 0
    while np.any(bad):  # at most sigma < mu/3 -> P(bad) < 1.4e-3, so this loop runs a handful of times
        tox[bad] = g.normal(t_ox_nm, sigma_nm, size=int(bad.sum()))
        bad = tox <= 0
    return tox


__all__ = ["DEFAULT_TAU0_S", "retention_time", "p_flip_poisson", "lognormal_params", "p_flip_lognormal",
           "p_flip_lognormal_refined", "p_flip_population", "p_flip_population_sampled", "sample_thickness",
           "transmission"]
