"""Physics plots (design.md section 1); ``plot_*`` draw on an Axes the caller passes.

* WKB transmission vs oxide thickness: closed forms as lines, quadrature of ``kappa(x)`` as
  markers, for a few oxide voltages (rectangular, trapezoidal, Fowler-Nordheim);
* ``p_flip`` vs retention interval for a few thicknesses: single cell (Poisson), and with
  thickness variation the log-normal step law and the exact population average.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qtaml_hw.fsio import make_dirs, save_figure


def plot_transmission_vs_tox(ax, *, t_ox_nm=None, v_ox=(0.0, 1.5, 4.0), phi_b_ev=3.1, m_ox=0.42,
                             n_markers: int = 7) -> None:
    """``log10 T`` vs ``t_ox``: closed form (lines) and numerical integral (markers)."""
    from qtaml_hw.physics import barrier_kind, transmission, transmission_numeric

    t = np.linspace(1.0, 4.0, 200) if t_ox_nm is None else np.asarray(t_ox_nm, dtype=float)
    tm = np.linspace(t[0], t[-1], n_markers)
    for v in v_ox:
        kind = barrier_kind(phi_b_ev=phi_b_ev, v_ox=v)
        (line,) = ax.semilogy(t, transmission(t_ox_nm=t, phi_b_ev=phi_b_ev, m_ox=m_ox, v_ox=v),
                              label=f"V_ox = {v:g} V ({kind})")
        ax.semilogy(tm, transmission_numeric(t_ox_nm=tm, phi_b_ev=phi_b_ev, m_ox=m_ox, v_ox=v), "o",
                    color=line.get_color(), mfc="none")
    ax.set_xlabel("oxide thickness t_ox (nm)")
    ax.set_ylabel("WKB transmission T")
    ax.set_title(f"phi_B = {phi_b_ev:g} eV, m_ox = {m_ox:g} m0 (o: quadrature)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")


def plot_pflip_vs_time(ax, *, t_ox_nm=(1.8, 2.0, 2.2), sigma_nm=0.1, tau0_s=None, t_s=None) -> None:
    """``p_flip(t)``: Poisson (solid), log-normal step (dashed) and exact population (dotted)."""
    from qtaml_hw.physics import (DEFAULT_TAU0_S, p_flip_lognormal, p_flip_poisson, p_flip_population,
                                  retention_time)

    tau0 = DEFAULT_TAU0_S if tau0_s is None else tau0_s
    taus = [float(retention_time(t_ox_nm=tox, tau0_s=tau0)) for tox in t_ox_nm]
    t = (np.logspace(np.log10(min(taus)) - 4, np.log10(max(taus)) + 1, 300) if t_s is None
         else np.asarray(t_s, dtype=float))
    for tox in t_ox_nm:
        tau = retention_time(t_ox_nm=tox, tau0_s=tau0)
        (line,) = ax.loglog(t, p_flip_poisson(t, tau_s=tau), label=f"{tox:g} nm, single cell")
        if sigma_nm:
            kw = dict(t_ox_nm=tox, sigma_nm=sigma_nm, tau0_s=tau0)
            ax.loglog(t, np.clip(p_flip_lognormal(t, **kw), 1e-12, None), "--", color=line.get_color(),
                      label=f"{tox:g} nm, log-normal step")
            ax.loglog(t, p_flip_population(t, **kw), ":", color=line.get_color(),
                      label=f"{tox:g} nm, population (exact)")
    ax.set_ylim(1e-8, 1.5)
    ax.set_xlabel("retention interval t (s)")
    ax.set_ylabel("p_flip (1 -> 0)")
    ax.set_title(f"tau0 = {tau0:g} s" + (f", sigma_tox = {sigma_nm:g} nm" if sigma_nm else ""))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="x-small", ncol=1)


def plot_cell_pflip(ax, *, cells=("gc3t-65nm", "gc3t-65nm-boosted", "gc3t-16nm"), refresh_s=2e-4) -> None:
    """``p10`` vs refresh interval of calibrated cells: threshold law (solid) and Poisson (dashed), both
    through the cell's measured retention point (marked); grey line: the demo's refresh interval."""
    from qtaml_hw.physics import calibrate, get_cell

    for name in cells:
        cell = get_cell(name)
        thr, poi = calibrate(name), calibrate(name, law="poisson")
        t = np.logspace(np.log10(cell.retention_s) - 1.5, np.log10(thr.tau_s) + 1.5, 300)
        (line,) = ax.loglog(t, np.clip(thr.p_fail(t), 1e-12, None), label=f"{name}, threshold")
        ax.loglog(t, poi.p_fail(t), "--", color=line.get_color(), label=f"{name}, Poisson")
        ax.loglog([cell.retention_s], [cell.retention_quantile], "o", color=line.get_color())
    ax.axvline(refresh_s, color="grey", lw=0.8)
    ax.set_ylim(1e-8, 1.5)
    ax.set_xlabel("refresh interval (s); o: measured retention point; grey: demo refresh")
    ax.set_ylabel("p10 (fraction of charged cells failed)")
    ax.set_title("calibrated cells (docs/physics.md)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="x-small", ncol=1)


def write_physics_figures(out_dir) -> list[Path]:
    """Write ``physics_transmission`` and ``physics_pflip`` as PNG and SVG into ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    make_dirs(out)
    paths = []
    for name, draw in (("physics_transmission", plot_transmission_vs_tox), ("physics_pflip", plot_pflip_vs_time),
                       ("physics_cells", plot_cell_pflip)):
        fig, ax = plt.subplots(figsize=(6.4, 4.6))
        draw(ax)
        fig.tight_layout()
        for ext in ("png", "svg"):
            path = out / f"{name}.{ext}"
            save_figure(fig, path, dpi=120)  # atomic, no symlink followed
            paths.append(path)
        plt.close(fig)
    return paths
