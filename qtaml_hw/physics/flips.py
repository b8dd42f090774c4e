"""Directional per-bit flip probabilities (design.md section 1, "Direction").

Leakage empties charged nodes, so a stored '1' decays to '0' with ``p10`` and a stored '0'
reads as '1' with ``p01 = r * p10`` (``r`` in [0, 1]; ``r = 1`` symmetric).  The values are
plain floats or per-bit-position arrays (LSB first), the form ``memory.FlipModel(p10, p01)``
takes.
"""

from __future__ import annotations

import numpy as np

from qtaml_hw.errors import QtamlError, check_probability
from qtaml_hw.physics.retention import DEFAULT_TAU0_S, p_flip_poisson, retention_time
from qtaml_hw.physics.wkb import transmission


def _check_r(r) -> float:
    try:
        r = float(r)
    except (TypeError, ValueError):
        raise QtamlError(f"r must be a number in [0, 1], got {r!r}") from None
    if not (np.isfinite(r) and 0.0 <= r <= 1.0):
        raise QtamlError(f"r must be in [0, 1], got {r!r}")
    return r


def _out(x):
    x = np.asarray(x, dtype=np.float64)
    return float(x) if x.ndim == 0 else x


def directional(p10, *, r=1.0) -> dict:
    """``{"p10": p10, "p01": r * p10}`` for a scalar or per-bit ``p10`` (validated in [0, 1])."""
    check_probability("p10", p10)
    r = _check_r(r)
    return {"p10": _out(p10), "p01": _out(r * np.asarray(p10, dtype=np.float64))}


def per_bit_override(p_flip, *, bits: int | None = None, r=1.0) -> dict:
    """Bypass the physics: the user's ``p_flip`` (scalar, or one value per bit position, LSB first).

    With ``bits`` given, a scalar is broadcast to ``bits`` positions and an array must have length
    ``bits``.  Returns ``{"p10", "p01"}`` with ``p01 = r * p10``.
    """
    check_probability("p_flip", p_flip)
    p = np.asarray(p_flip, dtype=np.float64)
    if p.ndim > 1:
        raise QtamlError(f"p_flip must be a scalar or a 1-D per-bit array, got shape {p.shape}")
    if bits is not None:
        if p.ndim == 0:
            p = np.full(int(bits), float(p))
        elif p.shape[0] != bits:
            raise QtamlError(f"p_flip has {p.shape[0]} per-bit values but bits={bits}")
    return directional(p, r=r)


def flip_probabilities(*, t_ox_nm, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, tau0_s=DEFAULT_TAU0_S, t_s=86400.0,
                       r=1.0, barrier="auto") -> dict:
    """Physics -> ``{"transmission", "tau_s", "p10", "p01"}`` (design.md section 1; the cross-team contract).

    ``T`` from the closed WKB forms, ``tau = tau0 / T``, ``p10 = 1 - exp(-t / tau)``,
    ``p01 = r p10``.  Inputs broadcast, so a per-bit-position ``t_ox_nm`` array (e.g. thicker oxide
    for MSB cells) gives per-bit ``p10``/``p01`` arrays.
    """
    r = _check_r(r)
    t = transmission(t_ox_nm=t_ox_nm, phi_b_ev=phi_b_ev, m_ox=m_ox, v_ox=v_ox, barrier=barrier)
    tau = retention_time(t_ox_nm=t_ox_nm, phi_b_ev=phi_b_ev, m_ox=m_ox, v_ox=v_ox, tau0_s=tau0_s, barrier=barrier)
    p10 = p_flip_poisson(t_s, tau_s=tau)
    return {"transmission": t, "tau_s": tau, **directional(p10, r=r)}
