"""Named memory cells and retention calibration: tau0 from a measured retention time (design.md section 1).

``tau0`` is not a knob.  A cell is described by a *measured* retention figure -- the time
``t_ret`` at which a fraction ``q`` of the cells has failed (a macro's data-retention time
DRT is its worst bit: ``q ~ 1 / bits``) -- and by its node: oxide ``t_ox``, storage
capacitance ``C`` and stored voltage ``V``.  From them:

* charge ``Q = C V``, electrons ``N = Q / q_e``, oxide voltage of the charged node
  ``V_ox = Q / C`` (the stored '1' sits across the oxide; ``V_ox = 0`` would describe an
  empty node), so the barrier is trapezoidal, not rectangular;
* **threshold law** (the physical default for many-electron nodes): a node fails once it has
  lost a fraction ``f`` of its charge.  Leakage of ``k = f N`` electrons, each a Poisson event,
  takes a Gamma(k)-distributed time whose relative spread is ``1 / sqrt(k)`` -- for
  ``N = 1e3..1e5`` the discharge is deterministic.  The spread across cells comes from
  process variation, ``t_ox ~ Normal(t_ox, sigma_tox)`` so ``ln tau ~ Normal`` with
  ``sigma_process = 2 kappa_avg sigma_tox`` (WKB; :func:`~qtaml_hw.physics.retention.lognormal_params`).
  Total ``sigma_ln = sqrt(sigma_process^2 + 1 / k)`` and
  ``p_fail(t) = Phi(ln(t / tau_med) / sigma_ln)``; calibration puts the measured point on it:
  ``ln tau_med = ln t_ret - Phi^-1(q) sigma_ln``;
* **Poisson law** (one event flips the bit: ``k = 1``, e.g. a single trap or a few-electron
  node): ``p_fail(t) = 1 - exp(-t / tau)``, calibrated through the same point:
  ``tau = t_ret / (-ln(1 - q))``;
* temperature (only where the cited data gives it): Arrhenius,
  ``tau(T) = tau(T_ref) exp(E_a / k_B (1 / T - 1 / T_ref))``;
* calibrated attempt time ``tau0 = tau T_wkb(t_ox, V_ox)``, reported beside the physical
  attempt-time range 1e-14..1e-13 s; ``t_ox_equiv_nm`` is the oxide for which the default
  ``tau0`` (:data:`~qtaml_hw.physics.retention.DEFAULT_TAU0_S`) alone reproduces ``tau``.
  A calibrated ``tau0`` far outside the range says tunnelling is not the cell's dominant
  leakage (gain cells leak mostly through the write transistor's channel); the calibrated
  retention is still the measured one.

Sources and which numbers are assumptions: ``docs/physics.md`` ("Cell presets").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import constants, special

from qtaml_hw.errors import QtamlError
from qtaml_hw.physics.retention import DEFAULT_TAU0_S, lognormal_params
from qtaml_hw.physics.wkb import transmission, wkb_exponent

K_B_EV = constants.k / constants.e          # Boltzmann constant, eV / K
Q_E = constants.e
ATTEMPT_RANGE_S = (1e-14, 1e-13)            # physical attempt times (phonon periods)
MAX_TIME_S = 1e12                           # longest retention / refresh interval accepted (~32 000 years)
LAWS = ("threshold", "poisson")
DEFAULT_CELL = "gc3t-65nm"


@dataclass(frozen=True)
class CellPreset:
    """A measured cell: ``retention_s`` at failed fraction ``retention_quantile`` and ``temperature_k``."""

    name: str
    description: str
    retention_s: float
    retention_quantile: float
    temperature_k: float
    t_ox_nm: float
    c_node_f: float
    v_node_v: float
    sigma_tox_nm: float
    source: str
    assumptions: str
    phi_b_ev: float = 3.1
    m_ox: float = 0.42
    sense_fraction: float = 0.5
    ea_ev: float | None = None

    def __post_init__(self):
        check_retention(self.retention_s, self.retention_quantile)
        for key in ("temperature_k", "t_ox_nm", "c_node_f", "v_node_v", "phi_b_ev", "m_ox"):
            v = getattr(self, key)
            if not (np.isfinite(v) and v > 0):
                raise QtamlError(f"cell {self.name!r}: {key} must be finite and > 0, got {v!r}")
        if not (np.isfinite(self.sigma_tox_nm) and 0 <= self.sigma_tox_nm <= self.t_ox_nm / 3):
            raise QtamlError(f"cell {self.name!r}: sigma_tox_nm must be in [0, t_ox/3], got {self.sigma_tox_nm!r}")
        if not 0 < self.sense_fraction <= 1:
            raise QtamlError(f"cell {self.name!r}: sense_fraction must be in (0, 1], got {self.sense_fraction!r}")

    @property
    def charge_c(self) -> float:
        """Stored charge ``Q = C V`` (coulomb)."""
        return self.c_node_f * self.v_node_v

    @property
    def n_electrons(self) -> float:
        """Electrons on a charged node, ``N = Q / q_e``."""
        return self.charge_c / Q_E

    @property
    def v_ox(self) -> float:
        """Oxide voltage of the charged node, ``V_ox = Q / C``."""
        return oxide_voltage(charge_c=self.charge_c, c_node_f=self.c_node_f)


def oxide_voltage(*, charge_c: float, c_node_f: float) -> float:
    """``V_ox = Q / C`` of a node holding charge ``Q`` on capacitance ``C``."""
    if not (np.isfinite(c_node_f) and c_node_f > 0) or not (np.isfinite(charge_c) and charge_c >= 0):
        raise QtamlError(f"need C > 0 and Q >= 0, got C={c_node_f!r} F, Q={charge_c!r} C")
    return float(charge_c / c_node_f)


def check_retention(retention_s, quantile) -> None:
    """Validate a measured retention point: ``0 < t <= 1e12 s`` and ``0 < q < 1``."""
    if not (np.isfinite(retention_s) and 0 < retention_s <= MAX_TIME_S):
        raise QtamlError(f"retention time must be in (0, {MAX_TIME_S:g}] s, got {retention_s!r}")
    if not (np.isfinite(quantile) and 0 < quantile < 1):
        raise QtamlError(f"retention quantile (fraction of cells failed) must be in (0, 1), got {quantile!r}")


def check_time(t_s, what: str = "refresh interval") -> np.ndarray:
    """Validate times: finite, ``0 <= t <= 1e12 s``."""
    t = np.asarray(t_s, dtype=np.float64)
    if not np.all(np.isfinite(t)) or np.any(t < 0) or np.any(t > MAX_TIME_S):
        raise QtamlError(f"{what} must be in [0, {MAX_TIME_S:g}] s, got {t.tolist()!r}")
    return t


_GC_ASSUME = ("node values are assumptions, not from the paper: t_ox {t} nm (thin-oxide core device), "
              "C_node {c} fF, stored V {v} V, sigma_tox {s} nm, temperature {k} K (the abstract gives none)")

#: Named presets.  Only ``retention_s`` (and, where stated, the supply voltage / temperature) is
#: published; every other number is an assumption, said so in ``assumptions``.
CELLS: dict[str, CellPreset] = {c.name: c for c in (
    CellPreset(
        name="gc3t-65nm", description="3T-1C gain-cell eDRAM, 65 nm, 64 kB macro",
        retention_s=16e-6, retention_quantile=1e-4, temperature_k=300.0,
        t_ox_nm=2.0, c_node_f=2e-15, v_node_v=1.2, sigma_tox_nm=0.1,
        source=("O. Harel, E. Nieto Casarrubias, M. Eggimann, F. Gurkaynak, L. Benini, A. Teman, R. Giterman, "
                "A. Burg, '64-kB 65-nm GC-eDRAM With Half-Select Support and Parallel Refresh Technique', "
                "IEEE Solid-State Circuits Letters, 2022, doi:10.1109/LSSC.2022.3182531: "
                "16 us retention time at 99.99% bit yield (q = 1e-4)"),
        assumptions=_GC_ASSUME.format(t=2.0, c=2, v=1.2, s=0.1, k=300)),
    CellPreset(
        name="gc3t-65nm-boosted", description="3T-1C gain-cell eDRAM, 65 nm, 16 kB, boosted internal bias",
        retention_s=100e-6, retention_quantile=1.0 / 131072, temperature_k=300.0,
        t_ox_nm=2.0, c_node_f=2e-15, v_node_v=1.2, sigma_tox_nm=0.1,
        source=("O. Harel, A. Yigit, E. Feifel, R. Giterman, A. Burg, A. Teman, 'A 16-kB 65-nm GC-eDRAM Macro "
                "With Internal Bias Voltage Generation Providing Over 100-us Retention Time', IEEE Journal of "
                "Solid-State Circuits, 2024, doi:10.1109/JSSC.2024.3489793: retention over 100 us "
                "(used as 100 us, a lower bound)"),
        assumptions=("q = 1/131072 (the macro's retention is its worst bit of 16 kB); "
                     + _GC_ASSUME.format(t=2.0, c=2, v=1.2, s=0.1, k=300))),
    CellPreset(
        name="gc3t-16nm", description="3T gain-cell eDRAM, 16 nm FinFET, 1 Mbit, VDD 0.6 V",
        retention_s=77e-6, retention_quantile=2.0 ** -20, temperature_k=300.0,
        t_ox_nm=1.2, c_node_f=0.3e-15, v_node_v=0.6, sigma_tox_nm=0.05,
        source=("R. Giterman, A. Shalom, A. Burg, A. Fish, A. Teman, 'A 1-Mbit Fully Logic-Compatible 3T "
                "Gain-Cell Embedded DRAM in 16-nm FinFET', IEEE Solid-State Circuits Letters 3, 110-113, 2020: "
                "77 us data-retention time at VDD = 600 mV"),
        assumptions=("q = 2^-20 (the macro's DRT is its worst bit of 1 Mbit); stored V = VDD = 0.6 V (published); "
                     "t_ox 1.2 nm (EOT), C_node 0.3 fF, sigma_tox 0.05 nm, 300 K: assumptions")),
    CellPreset(
        name="ddr3-85c", description="1T1C commodity DRAM (DDR3), refresh spec at 85 C",
        retention_s=64e-3, retention_quantile=1e-9, temperature_k=358.15,
        t_ox_nm=5.0, c_node_f=25e-15, v_node_v=1.2, sigma_tox_nm=0.1, ea_ev=0.79,
        source=("JEDEC JESD79-3 DDR3 SDRAM standard: every cell refreshed within 64 ms at T_case <= 85 C, "
                "32 ms at 85-95 C. E_a = 0.79 eV is derived from that 2x per 10 K (85 -> 95 C): "
                "E_a = k_B ln 2 / (1/358.15 K - 1/368.15 K)"),
        assumptions=("q = 1e-9 (the spec is a guaranteed bound, not a measured quantile); t_ox 5 nm, C 25 fF, "
                     "stored V 1.2 V, sigma_tox 0.1 nm: assumptions; DRAM leaks through junctions/GIDL, so the "
                     "calibrated tau0 is not an attempt time; E_a from the spec's doubling rule, so "
                     "temperatures far from 85-95 C are extrapolations")),
)}


def get_cell(name: str) -> CellPreset:
    """The preset called ``name`` (:data:`CELLS`); unknown names raise :class:`QtamlError`."""
    if name not in CELLS:
        raise QtamlError(f"unknown cell preset {name!r}; choose one of {', '.join(CELLS)} (qtaml-hw physics --list-cells)")
    return CELLS[name]


def custom_cell(*, retention_s: float, retention_quantile: float = 0.5, temperature_k: float = 300.0,
                t_ox_nm: float = 2.0, c_node_f: float = 2e-15, v_node_v: float = 1.2, sigma_tox_nm: float = 0.1,
                phi_b_ev: float = 3.1, m_ox: float = 0.42, ea_ev: float | None = None) -> CellPreset:
    """A user's measured retention (``retention_s`` at failed fraction ``retention_quantile``) as a cell."""
    return CellPreset(name="user", description="user-measured retention", retention_s=float(retention_s),
                      retention_quantile=float(retention_quantile), temperature_k=float(temperature_k),
                      t_ox_nm=float(t_ox_nm), c_node_f=float(c_node_f), v_node_v=float(v_node_v),
                      sigma_tox_nm=float(sigma_tox_nm), phi_b_ev=float(phi_b_ev), m_ox=float(m_ox), ea_ev=ea_ev,
                      source="user-measured retention", assumptions="node values as given by the user")


@dataclass(frozen=True)
class Calibration:
    """A cell calibrated at one temperature under one law; :meth:`p_fail` gives ``p10`` at a refresh interval."""

    cell: CellPreset
    law: str
    temperature_k: float
    tau_s: float                 # threshold: median failure time; poisson: mean lifetime
    tau0_s: float                # tau * T_wkb(t_ox, V_ox)
    transmission: float
    sigma_ln: float              # spread of ln(failure time), threshold law
    sigma_ln_process: float
    sigma_ln_shot: float
    t_ox_equiv_nm: float | None  # oxide for which DEFAULT_TAU0_S gives tau

    @property
    def tau0_in_attempt_range(self) -> bool:
        return ATTEMPT_RANGE_S[0] <= self.tau0_s <= ATTEMPT_RANGE_S[1]

    def p_fail(self, t_s):
        """``p10(t)``: threshold ``Phi(ln(t / tau) / sigma_ln)``, Poisson ``1 - exp(-t / tau)``."""
        t = check_time(t_s)
        if self.law == "poisson":
            p = -np.expm1(-t / self.tau_s)
        else:
            with np.errstate(divide="ignore"):
                p = special.ndtr(np.log(t / self.tau_s) / self.sigma_ln)
        return float(p) if p.ndim == 0 else p

    def refresh_for(self, p10: float) -> float:
        """Longest refresh interval whose ``p10`` is at most ``p10`` (the inverse of :meth:`p_fail`)."""
        if not 0 < p10 < 1:
            raise QtamlError(f"target p10 must be in (0, 1), got {p10!r}")
        if self.law == "poisson":
            return float(-self.tau_s * np.log1p(-p10))
        return float(self.tau_s * np.exp(special.ndtri(p10) * self.sigma_ln))


def _arrhenius(tau_ref_s: float, cell: CellPreset, temperature_k: float) -> float:
    if temperature_k == cell.temperature_k:
        return tau_ref_s
    if cell.ea_ev is None:
        raise QtamlError(f"cell {cell.name!r} has no cited temperature dependence; it is calibrated at "
                         f"{cell.temperature_k:g} K only (got {temperature_k:g} K)")
    if not (np.isfinite(temperature_k) and 150 <= temperature_k <= 450):
        raise QtamlError(f"temperature must be in 150..450 K, got {temperature_k!r}")
    return float(tau_ref_s * np.exp(cell.ea_ev / K_B_EV * (1.0 / temperature_k - 1.0 / cell.temperature_k)))


def calibrate(cell: CellPreset | str = DEFAULT_CELL, *, law: str = "threshold",
              temperature_k: float | None = None) -> Calibration:
    """Calibrate ``tau`` (and ``tau0``) of ``cell`` so the law passes through its measured retention point."""
    cell = get_cell(cell) if isinstance(cell, str) else cell
    if law not in LAWS:
        raise QtamlError(f"law must be one of {', '.join(LAWS)}, got {law!r}")
    temp = cell.temperature_k if temperature_k is None else float(temperature_k)
    v_ox = cell.v_ox
    _, s_proc = lognormal_params(t_ox_nm=cell.t_ox_nm, sigma_nm=cell.sigma_tox_nm, phi_b_ev=cell.phi_b_ev,
                                 m_ox=cell.m_ox, v_ox=v_ox)
    s_shot = 1.0 / np.sqrt(cell.sense_fraction * cell.n_electrons)
    sigma = float(np.hypot(s_proc, s_shot))
    q = cell.retention_quantile
    if law == "threshold":
        tau_ref = cell.retention_s * np.exp(-special.ndtri(q) * sigma)
    else:
        tau_ref = cell.retention_s / -np.log1p(-q)
    tau = _arrhenius(float(tau_ref), cell, temp)
    trans = float(transmission(t_ox_nm=cell.t_ox_nm, phi_b_ev=cell.phi_b_ev, m_ox=cell.m_ox, v_ox=v_ox))
    s_nom = float(wkb_exponent(t_ox_nm=cell.t_ox_nm, phi_b_ev=cell.phi_b_ev, m_ox=cell.m_ox, v_ox=v_ox))
    need = np.log(tau / DEFAULT_TAU0_S)   # S is linear in t_ox at fixed V_ox: S(t) = S(t_nom) t / t_nom
    t_eq = float(cell.t_ox_nm * need / s_nom) if need > 0 else None
    return Calibration(cell=cell, law=law, temperature_k=temp, tau_s=tau, tau0_s=tau * trans, transmission=trans,
                       sigma_ln=sigma, sigma_ln_process=float(s_proc), sigma_ln_shot=float(s_shot),
                       t_ox_equiv_nm=t_eq)


def operating_point(cal: Calibration, refresh_s: float, *, r: float = 1.0) -> dict:
    """One operating point: ``p10``/``p01 = r p10`` at refresh interval ``refresh_s``, with ``t / tau``."""
    if not (np.isfinite(r) and 0 <= r <= 1):
        raise QtamlError(f"r must be in [0, 1], got {r!r}")
    t = float(check_time(refresh_s))
    if t <= 0:
        raise QtamlError(f"refresh interval must be > 0 s, got {refresh_s!r}")
    p10 = cal.p_fail(t)
    c = cal.cell
    return {"cell": c.name, "law": cal.law, "temperature_k": cal.temperature_k, "refresh_s": t,
            "refresh_rate_hz": 1.0 / t, "tau_s": cal.tau_s, "t_over_tau": t / cal.tau_s, "p10": p10,
            "p01": r * p10, "r": r, "tau0_s": cal.tau0_s, "tau0_in_attempt_range": cal.tau0_in_attempt_range,
            "t_ox_equiv_nm": cal.t_ox_equiv_nm, "transmission": cal.transmission, "t_ox_nm": c.t_ox_nm,
            "phi_b_ev": c.phi_b_ev, "m_ox": c.m_ox, "v_ox": c.v_ox, "n_electrons": c.n_electrons,
            "sigma_ln": cal.sigma_ln, "sigma_ln_process": cal.sigma_ln_process, "sigma_ln_shot": cal.sigma_ln_shot,
            "retention_s": c.retention_s, "retention_quantile": c.retention_quantile, "source": c.source,
            "assumptions": c.assumptions}


__all__ = ["ATTEMPT_RANGE_S", "CELLS", "Calibration", "CellPreset", "DEFAULT_CELL", "LAWS", "MAX_TIME_S",
           "calibrate", "check_retention", "check_time", "custom_cell", "get_cell", "operating_point",
           "oxide_voltage"]
