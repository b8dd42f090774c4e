"""`qtaml-hw physics`: WKB transmission, retention time and directional flip probabilities (design.md section 1)."""

from __future__ import annotations

from qtaml_hw.commands._common import add_json, emit_json, format_table, nonneg_float, positive_float

NAME = "physics"
HELP = "oxide barrier -> WKB transmission, retention tau, p10/p01 (optionally with t_ox variation)"
ORDER = 10


def add_arguments(parser) -> None:
    parser.add_argument("--t-ox-nm", type=positive_float, default=2.0, help="oxide thickness nm (default 2.0)")
    parser.add_argument("--phi-b-ev", type=positive_float, default=3.1, help="barrier height eV (default 3.1, Si/SiO2)")
    parser.add_argument("--m-ox", type=positive_float, default=0.42, help="oxide effective mass in m0 (default 0.42)")
    parser.add_argument("--v-ox", type=nonneg_float, default=0.0, help="oxide voltage V (default 0: retention)")
    parser.add_argument("--tau0-s", type=positive_float, default=None,
                        help="attempt-time constant tau0 s, tau = tau0 / T (default 1e-3: 2 nm over a day "
                             "gives p10 ~ 6e-3; see docs/physics.md)")
    parser.add_argument("--t-s", type=nonneg_float, default=86400.0,
                        help="retention interval s (time since write/scrub; default 86400 = 1 day)")
    parser.add_argument("--r", type=nonneg_float, default=1.0, help="p01 = r * p10, r in [0, 1] (default 1)")
    parser.add_argument("--sigma-nm", type=nonneg_float, default=None,
                        help="std of t_ox across cells nm: adds log-normal and exact population p")
    parser.add_argument("--barrier", choices=("auto", "rect", "trapezoid", "fn"), default="auto",
                        help="barrier shape (default auto from V_ox vs phi_B)")
    parser.add_argument("--sweep-t-ox", default=None, metavar="A:B:N",
                        help="table over N thicknesses from A to B nm (overrides --t-ox-nm)")
    parser.add_argument("--plot-dir", default=None, metavar="DIR",
                        help="also write the demo figures (T vs t_ox, p_flip vs t) as PNG+SVG into DIR")
    add_json(parser)


def _parse_sweep(text: str):
    import numpy as np

    from qtaml_hw.errors import QtamlError

    parts = text.split(":")
    try:
        a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3:
            raise ValueError
    except (ValueError, IndexError):
        raise QtamlError(f"--sweep-t-ox must be A:B:N (nm, nm, count), got {text!r}") from None
    if not (np.isfinite(a) and np.isfinite(b) and 0 < a <= b and 1 <= n <= 10000):
        raise QtamlError(f"--sweep-t-ox needs 0 < A <= B and 1 <= N <= 10000, got {text!r}")
    return np.linspace(a, b, n)


def run(args) -> int:
    import numpy as np

    from qtaml_hw.errors import QtamlError
    from qtaml_hw.physics import (DEFAULT_TAU0_S, barrier_kind, flip_probabilities, lognormal_params,
                                  p_flip_lognormal, p_flip_population)

    if args.r > 1:
        raise QtamlError(f"--r must be in [0, 1], got {args.r}")
    tau0 = DEFAULT_TAU0_S if args.tau0_s is None else args.tau0_s
    tox = _parse_sweep(args.sweep_t_ox) if args.sweep_t_ox else np.array([args.t_ox_nm])
    if args.sigma_nm is not None and np.any(args.sigma_nm > tox / 3):
        raise QtamlError(f"--sigma-nm {args.sigma_nm} is more than a third of t_ox: the normal model breaks down")
    phys = dict(phi_b_ev=args.phi_b_ev, m_ox=args.m_ox, v_ox=args.v_ox)
    res = flip_probabilities(t_ox_nm=tox, tau0_s=tau0, t_s=args.t_s, r=args.r, barrier=args.barrier, **phys)
    rows = []
    for i, t in enumerate(tox):
        row = {"t_ox_nm": float(t), "transmission": float(res["transmission"][i]), "tau_s": float(res["tau_s"][i]),
               "p10": float(res["p10"][i]), "p01": float(res["p01"][i])}
        if args.sigma_nm is not None:
            kw = dict(t_ox_nm=float(t), sigma_nm=args.sigma_nm, tau0_s=tau0, **phys)
            _, sigma_ln = lognormal_params(**kw)
            row["sigma_ln"] = float(sigma_ln)
            row["p10_lognormal"] = float(p_flip_lognormal(args.t_s, **kw))
            row["p10_population"] = float(p_flip_population(args.t_s, **kw))
        rows.append(row)
    meta = {"phi_b_ev": args.phi_b_ev, "m_ox": args.m_ox, "v_ox": args.v_ox, "tau0_s": tau0, "t_s": args.t_s,
            "r": args.r, "sigma_nm": args.sigma_nm, "barrier": str(barrier_kind(phi_b_ev=args.phi_b_ev, v_ox=args.v_ox))}
    if args.plot_dir:
        from qtaml_hw.reports.physics_plots import write_physics_figures

        meta["figures"] = [str(p) for p in write_physics_figures(args.plot_dir)]
    if args.json:
        emit_json({**meta, "rows": rows} if args.sweep_t_ox else {**meta, **rows[0]})
        return 0
    print(f"barrier {meta['barrier']}, phi_B {args.phi_b_ev:g} eV, m_ox {args.m_ox:g} m0, V_ox {args.v_ox:g} V, "
          f"tau0 {tau0:g} s, t {args.t_s:g} s, r {args.r:g}"
          + (f", sigma {args.sigma_nm:g} nm" if args.sigma_nm is not None else ""))
    print(format_table(rows, floatfmt=".4g"))
    for path in meta.get("figures", []):
        print(f"wrote {path}")
    return 0
