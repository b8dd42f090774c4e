"""`qtaml-hw physics`: a calibrated cell's tau, p10/p01 at a refresh interval, t/tau; or raw WKB (design.md section 1).

Calibrated mode (``--cell NAME`` or ``--retention-s T``): tau is calibrated from the measured
retention (:mod:`qtaml_hw.physics.cells`), the law is threshold (default) or Poisson, and every
operating point is a refresh interval with ``t / tau``.  Raw mode (neither given): the WKB
chain with the one default attempt time ``tau0 = 1e-13 s`` (or ``--tau0-s``).
"""

from __future__ import annotations

from qtaml_hw.commands._common import add_json, emit_json, format_table, nonneg_float, positive_float, probability

NAME = "physics"
HELP = "cell preset or measured retention -> tau, p10/p01 at a refresh interval, t/tau (or raw WKB)"
ORDER = 10
_DEFAULT_T_S = 1e-4


def add_arguments(parser) -> None:
    cal = parser.add_argument_group("calibrated cell (docs/physics.md, 'Cell presets')")
    cal.add_argument("--cell", default=None, help="named cell preset (see --list-cells)")
    cal.add_argument("--list-cells", action="store_true", help="list the cell presets with their sources and exit")
    cal.add_argument("--retention-s", type=positive_float, default=None,
                     help="your measured retention time s (instead of --cell)")
    cal.add_argument("--retention-quantile", type=probability, default=0.5,
                     help="fraction of cells failed at --retention-s (default 0.5; a macro's DRT ~ 1/bits)")
    cal.add_argument("--law", choices=("threshold", "poisson"), default="threshold",
                     help="failure law (default threshold: many-electron node + process variation)")
    cal.add_argument("--temperature-k", type=positive_float, default=None,
                     help="temperature K (only for presets with a cited activation energy)")
    cal.add_argument("--sweep-refresh", default=None, metavar="A:B:N",
                     help="table over N log-spaced refresh intervals from A to B s")
    parser.add_argument("--refresh-s", "--t-s", dest="t_s", type=nonneg_float, default=None,
                        help=f"refresh (retention) interval s, time since write/refresh (default {_DEFAULT_T_S:g})")
    parser.add_argument("--t-ox-nm", type=positive_float, default=2.0, help="oxide thickness nm (default 2.0)")
    parser.add_argument("--phi-b-ev", type=positive_float, default=3.1, help="barrier height eV (default 3.1, Si/SiO2)")
    parser.add_argument("--m-ox", type=positive_float, default=0.42, help="oxide effective mass in m0 (default 0.42)")
    parser.add_argument("--v-ox", type=nonneg_float, default=0.0,
                        help="oxide voltage V, raw mode (default 0; a calibrated cell uses V_ox = Q/C)")
    parser.add_argument("--tau0-s", type=positive_float, default=None,
                        help="attempt time s, raw mode only (default 1e-13, the one project default)")
    parser.add_argument("--r", type=nonneg_float, default=1.0, help="p01 = r * p10, r in [0, 1] (default 1)")
    parser.add_argument("--sigma-nm", type=nonneg_float, default=None,
                        help="std of t_ox across cells nm: adds log-normal and exact population p (raw mode)")
    parser.add_argument("--barrier", choices=("auto", "rect", "trapezoid", "fn"), default="auto",
                        help="barrier shape (default auto from V_ox vs phi_B)")
    parser.add_argument("--sweep-t-ox", default=None, metavar="A:B:N",
                        help="table over N thicknesses from A to B nm (raw mode; overrides --t-ox-nm)")
    parser.add_argument("--plot-dir", default=None, metavar="DIR",
                        help="also write the physics figures as PNG+SVG into DIR")
    add_json(parser)


def _parse_sweep(text: str, name: str, *, log: bool = False):
    import numpy as np

    from qtaml_hw.errors import QtamlError

    parts = text.split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise QtamlError(f"{name} must be A:B:N (start, stop, count), got {text!r}") from None
    if not (np.isfinite(a) and np.isfinite(b) and 0 < a <= b and 1 <= n <= 10000):
        raise QtamlError(f"{name} needs 0 < A <= B and 1 <= N <= 10000, got {text!r}")
    return np.geomspace(a, b, n) if log else np.linspace(a, b, n)


def _list_cells(args) -> int:
    from qtaml_hw.physics import CELLS

    rows = [{"cell": c.name, "retention_s": c.retention_s, "quantile": c.retention_quantile,
             "temperature_k": c.temperature_k, "arrhenius": c.ea_ev is not None, "description": c.description}
            for c in CELLS.values()]
    if args.json:
        emit_json({"cells": [{**r, "source": c.source, "assumptions": c.assumptions}
                             for r, c in zip(rows, CELLS.values())]})
        return 0
    print(format_table(rows, floatfmt=".3g"))
    for c in CELLS.values():
        print(f"\n{c.name}: {c.source}\n  assumptions: {c.assumptions}")
    return 0


def _calibrated(args) -> int:
    import numpy as np

    from qtaml_hw.errors import QtamlError
    from qtaml_hw.physics import calibrate, custom_cell, get_cell, operating_point

    if args.cell is not None and args.retention_s is not None:
        raise QtamlError("give either --cell or --retention-s, not both")
    if args.tau0_s is not None or args.sweep_t_ox or args.sigma_nm is not None:
        raise QtamlError("--tau0-s/--sweep-t-ox/--sigma-nm are raw-mode options: a calibrated cell sets tau0 itself")
    if args.cell is not None:
        cell = get_cell(args.cell)
    else:
        cell = custom_cell(retention_s=args.retention_s, retention_quantile=args.retention_quantile,
                           t_ox_nm=args.t_ox_nm, phi_b_ev=args.phi_b_ev, m_ox=args.m_ox)
    cal = calibrate(cell, law=args.law, temperature_k=args.temperature_k)
    times = (_parse_sweep(args.sweep_refresh, "--sweep-refresh", log=True) if args.sweep_refresh
             else np.array([_DEFAULT_T_S if args.t_s is None else args.t_s]))
    points = [operating_point(cal, float(t), r=args.r) for t in times]
    _plots(args, points[0])
    if args.json:
        if args.sweep_refresh:
            keep = ("refresh_s", "refresh_rate_hz", "t_over_tau", "p10", "p01")
            emit_json({**{k: v for k, v in points[0].items() if k not in keep},
                       "rows": [{k: p[k] for k in keep} for p in points]})
        else:
            emit_json(points[0])
        return 0
    p = points[0]
    print(f"cell {p['cell']} ({p['law']} law, {p['temperature_k']:g} K): tau = {p['tau_s']:.4g} s, "
          f"sigma_ln = {p['sigma_ln']:.3g}, V_ox = Q/C = {p['v_ox']:g} V ({p['n_electrons']:.3g} electrons), "
          f"calibrated tau0 = {p['tau0_s']:.3g} s (attempt range 1e-14..1e-13 s: "
          f"{'yes' if p['tau0_in_attempt_range'] else 'no'}), t_ox_equiv = {_f(p['t_ox_equiv_nm'])} nm")
    print(f"source: {p['source']}")
    print(format_table([{k: q[k] for k in ("refresh_s", "refresh_rate_hz", "t_over_tau", "p10", "p01")}
                        for q in points], floatfmt=".4g"))
    return 0


def _f(v) -> str:
    return "n/a" if v is None else f"{v:.3g}"


def _plots(args, point) -> None:
    if args.plot_dir:
        from qtaml_hw.reports.physics_plots import write_physics_figures

        point["figures"] = [str(p) for p in write_physics_figures(args.plot_dir)]
        if not args.json:
            for path in point["figures"]:
                print(f"wrote {path}")


def _raw(args) -> int:
    import numpy as np

    from qtaml_hw.errors import QtamlError
    from qtaml_hw.physics import (DEFAULT_TAU0_S, barrier_kind, flip_probabilities, lognormal_params,
                                  p_flip_lognormal, p_flip_population)
    from qtaml_hw.physics.cells import check_time

    tau0 = DEFAULT_TAU0_S if args.tau0_s is None else args.tau0_s
    t_s = float(check_time(_DEFAULT_T_S if args.t_s is None else args.t_s))
    tox = _parse_sweep(args.sweep_t_ox, "--sweep-t-ox") if args.sweep_t_ox else np.array([args.t_ox_nm])
    if args.sigma_nm is not None and np.any(args.sigma_nm > tox / 3):
        raise QtamlError(f"--sigma-nm {args.sigma_nm} is more than a third of t_ox: the normal model breaks down")
    phys = dict(phi_b_ev=args.phi_b_ev, m_ox=args.m_ox, v_ox=args.v_ox)
    res = flip_probabilities(t_ox_nm=tox, tau0_s=tau0, t_s=t_s, r=args.r, barrier=args.barrier, **phys)
    rows = []
    for i, t in enumerate(tox):
        tau = float(res["tau_s"][i])
        row = {"t_ox_nm": float(t), "transmission": float(res["transmission"][i]), "tau_s": tau,
               "t_over_tau": t_s / tau, "p10": float(res["p10"][i]), "p01": float(res["p01"][i])}
        if args.sigma_nm is not None:
            kw = dict(t_ox_nm=float(t), sigma_nm=args.sigma_nm, tau0_s=tau0, **phys)
            row["sigma_ln"] = float(lognormal_params(**kw)[1])
            row["p10_lognormal"] = float(p_flip_lognormal(t_s, **kw))
            row["p10_population"] = float(p_flip_population(t_s, **kw))
        rows.append(row)
    meta = {"phi_b_ev": args.phi_b_ev, "m_ox": args.m_ox, "v_ox": args.v_ox, "tau0_s": tau0, "t_s": t_s,
            "refresh_s": t_s, "refresh_rate_hz": (1.0 / t_s) if t_s > 0 else None, "r": args.r,
            "sigma_nm": args.sigma_nm, "law": "poisson", "source": "uncalibrated WKB, default attempt time",
            "barrier": str(barrier_kind(phi_b_ev=args.phi_b_ev, v_ox=args.v_ox))}
    _plots(args, meta)
    if args.json:
        emit_json({**meta, "rows": rows} if args.sweep_t_ox else {**meta, **rows[0]})
        return 0
    print(f"uncalibrated WKB: barrier {meta['barrier']}, phi_B {args.phi_b_ev:g} eV, m_ox {args.m_ox:g} m0, "
          f"V_ox {args.v_ox:g} V, tau0 {tau0:g} s, refresh interval {t_s:g} s, r {args.r:g}"
          + (f", sigma {args.sigma_nm:g} nm" if args.sigma_nm is not None else ""))
    print(format_table(rows, floatfmt=".4g"))
    return 0


def run(args) -> int:
    from qtaml_hw.errors import QtamlError

    if args.r > 1:
        raise QtamlError(f"--r must be in [0, 1], got {args.r}")
    if args.list_cells:
        return _list_cells(args)
    if args.cell is not None or args.retention_s is not None:
        return _calibrated(args)
    if args.sweep_refresh:
        raise QtamlError("--sweep-refresh needs a calibrated cell (--cell or --retention-s)")
    return _raw(args)
