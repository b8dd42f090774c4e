"""WKB tunnelling transmission through a gate-oxide barrier (design.md section 1).

``T = exp(-2 * integral_0^t_ox kappa(x) dx)`` with ``kappa(x) = sqrt(2 m_ox (U(x) - E)) / hbar``.
The electron sits at the conduction-band edge (``E = 0``); the barrier is
``U(x) = q phi_B - q F x`` with the oxide field ``F = V_ox / t_ox``.  Three closed forms:

* rectangular (``V_ox = 0``): ``T = exp(-2 t_ox sqrt(2 m_ox q phi_B) / hbar)``;
* trapezoidal, direct tunnelling (``V_ox < phi_B``):
  ``T = exp(-4 sqrt(2 m_ox) [(q phi_B)^1.5 - (q phi_B - q V_ox)^1.5] / (3 hbar q F))``;
* Fowler-Nordheim (``V_ox >= phi_B``; the electron exits into the oxide conduction band at the
  classical turning point ``x = phi_B / F``): ``T = exp(-4 sqrt(2 m_ox) (q phi_B)^1.5 / (3 hbar q F))``.

All three are checked against :func:`wkb_exponent_numeric` (adaptive quadrature of ``kappa``)
in ``tests/physics``.  SI inside; user-facing units are nm, eV, V.
"""

from __future__ import annotations

import numpy as np
from scipy import constants, integrate

from qtaml_hw.errors import QtamlError

HBAR = constants.hbar
M0 = constants.m_e
Q = constants.e
BARRIERS = ("auto", "rect", "trapezoid", "fn")


#: Physical ranges of the WKB inputs (anything outside is a typo, and 1e308 would overflow):
#: oxides up to 100 nm, barriers up to 20 eV, effective masses up to 10 m0, up to 1 kV across.
RANGES = {"t_ox_nm": (0.0, 100.0), "phi_b_ev": (0.0, 20.0), "m_ox": (0.0, 10.0), "v_ox": (0.0, 1000.0)}


def _check_inputs(t_ox_nm, phi_b_ev, m_ox, v_ox):
    t = np.asarray(t_ox_nm, dtype=np.float64)
    phi = np.asarray(phi_b_ev, dtype=np.float64)
    m = np.asarray(m_ox, dtype=np.float64)
    v = np.asarray(v_ox, dtype=np.float64)
    for name, arr in (("t_ox_nm", t), ("phi_b_ev", phi), ("m_ox", m), ("v_ox", v)):
        lo, hi = RANGES[name]
        low_ok = arr >= lo if name == "v_ox" else arr > lo
        if not np.all(np.isfinite(arr)) or not np.all(low_ok) or np.any(arr > hi):
            rel = ">= 0" if name == "v_ox" else "> 0"
            raise QtamlError(f"{name} must be finite, {rel} and <= {hi:g}, got {arr.tolist()!r}")
    return t, phi, m, v


def barrier_kind(*, phi_b_ev, v_ox):
    """``"rect"`` if ``V_ox = 0``, ``"trapezoid"`` if ``0 < V_ox < phi_B``, else ``"fn"`` (elementwise)."""
    phi = np.asarray(phi_b_ev, dtype=np.float64)
    v = np.asarray(v_ox, dtype=np.float64)
    kind = np.where(v == 0, "rect", np.where(v < phi, "trapezoid", "fn"))
    return str(kind) if kind.ndim == 0 else kind


def wkb_exponent(*, t_ox_nm, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, barrier="auto"):
    """The WKB exponent ``S = 2 * integral kappa dx`` (so ``T = exp(-S)``), closed form, broadcast.

    ``barrier="auto"`` picks the regime from ``V_ox`` vs ``phi_B``; naming a regime that does not
    apply (``rect`` with ``V_ox > 0``, ``trapezoid`` with ``V_ox >= phi_B``, ``fn`` with
    ``V_ox < phi_B``) raises :class:`QtamlError`.
    """
    if barrier not in BARRIERS:
        raise QtamlError(f"barrier must be one of {', '.join(BARRIERS)}, got {barrier!r}")
    t_nm, phi, m, v = _check_inputs(t_ox_nm, phi_b_ev, m_ox, v_ox)
    kind = np.asarray(barrier_kind(phi_b_ev=phi, v_ox=v))
    if barrier != "auto" and not np.all(kind == barrier):
        raise QtamlError(f"barrier {barrier!r} does not apply: V_ox={v.tolist()} V, phi_B={phi.tolist()} eV "
                         "(rect needs V_ox = 0, trapezoid 0 < V_ox < phi_B, fn V_ox >= phi_B)")
    t = t_nm * 1e-9
    mass = m * M0
    u0 = Q * phi                                   # barrier height, J
    s_rect = 2.0 * t * np.sqrt(2.0 * mass * u0) / HBAR
    with np.errstate(divide="ignore", invalid="ignore"):
        qf = Q * v / t                             # q F, J/m
        top = np.sqrt(2.0 * mass) * 4.0 / (3.0 * HBAR * qf)
        s_trap = top * (u0 ** 1.5 - np.clip(u0 - Q * v, 0.0, None) ** 1.5)
    # for V_ox >= phi_B the clipped term is zero: the FN form.
    s = np.where(kind == "rect", s_rect, s_trap)
    return float(s) if s.ndim == 0 else s


def transmission(*, t_ox_nm, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, barrier="auto"):
    """WKB transmission ``T = exp(-S)`` in closed form (see :func:`wkb_exponent`)."""
    s = wkb_exponent(t_ox_nm=t_ox_nm, phi_b_ev=phi_b_ev, m_ox=m_ox, v_ox=v_ox, barrier=barrier)
    return np.exp(-np.asarray(s)) if np.ndim(s) else float(np.exp(-s))


def _exponent_quad(t_nm: float, phi: float, m: float, v: float) -> float:
    t = t_nm * 1e-9
    mass = m * M0
    u0 = Q * phi
    qf = Q * v / t
    # integrate in nm (O(1) numbers); stop at the classical turning point (FN regime).
    x_end = t_nm if v < phi else phi / v * t_nm
    scale = np.sqrt(2.0 * mass) / HBAR * 1e-9     # kappa(x) [1/nm] = scale * sqrt(U - E) with U in J

    def kappa(x_nm):
        return scale * np.sqrt(max(u0 - qf * x_nm * 1e-9, 0.0))

    # QAGS (Wynn epsilon extrapolation) copes with the integrable sqrt endpoint of the FN case.
    val, _ = integrate.quad(kappa, 0.0, x_end, epsabs=0.0, epsrel=1e-12, limit=200)
    return 2.0 * val


def wkb_exponent_numeric(*, t_ox_nm, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0):
    """``S = 2 * integral_0^{x_end} kappa(x) dx`` by adaptive quadrature (``scipy.integrate.quad``).

    ``x_end = t_ox`` for direct tunnelling and the classical turning point ``phi_B / F`` for FN
    (the integrand ``kappa(x)`` is evaluated from the potential ``U(x)``, not from the closed
    form).  Not a hot path: one ``quad`` per element.
    """
    t_nm, phi, m, v = _check_inputs(t_ox_nm, phi_b_ev, m_ox, v_ox)
    t_nm, phi, m, v = np.broadcast_arrays(t_nm, phi, m, v)
    out = np.array([_exponent_quad(*args) for args in zip(t_nm.ravel(), phi.ravel(), m.ravel(), v.ravel())])
    out = out.reshape(t_nm.shape)
    return float(out) if out.ndim == 0 else out


def transmission_numeric(*, t_ox_nm, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0):
    """``T = exp(-S)`` with ``S`` from :func:`wkb_exponent_numeric`."""
    s = wkb_exponent_numeric(t_ox_nm=t_ox_nm, phi_b_ev=phi_b_ev, m_ox=m_ox, v_ox=v_ox)
    return np.exp(-np.asarray(s)) if np.ndim(s) else float(np.exp(-s))


def kappa_avg_per_nm(*, t_ox_nm, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0):
    """Average decay constant ``kappa_avg = S / (2 t_ox)`` in 1/nm.

    For a fixed ``V_ox`` the exponent is *linear* in ``t_ox`` in all three regimes
    (``F = V_ox / t_ox`` makes ``1 / F`` proportional to ``t_ox``), so
    ``dS / dt_ox = 2 kappa_avg`` exactly and ``ln tau`` is exactly linear in ``t_ox``.
    """
    s = wkb_exponent(t_ox_nm=t_ox_nm, phi_b_ev=phi_b_ev, m_ox=m_ox, v_ox=v_ox)
    return np.asarray(s) / (2.0 * np.asarray(t_ox_nm, dtype=np.float64)) if np.ndim(s) else s / (2.0 * float(t_ox_nm))
