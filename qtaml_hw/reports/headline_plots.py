"""Tables and plots of the headline experiment (design.md section 3): matplotlib Agg, ``plot_*`` on a caller's Axes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qtaml_hw.fsio import save_figure

LABELS = {"uniform": "Uniform-MSP", "uniform_posterior": "Uniform-MSP + posterior read", "tac": "TAC (plan + posterior)",
          "tac_plain": "TAC plan, plain read", "tac_unbiased": "TAC plan + unbiased read", "magnitude": "magnitude"}


def fmt_num(v, digits: int = 2) -> str:
    """A table number: fixed ``digits``; NaN/None as "n/a", +inf as "not reached" (a crossing beyond the grid)."""
    if isinstance(v, str):  # JSON keeps non-finite numbers as strings
        v = float(v)
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "n/a"
    if isinstance(v, float) and np.isinf(v):
        return "not reached" if v > 0 else "-inf"
    return f"{v:.{digits}f}"


def fmt_ci(ci) -> str:
    """A 95 % interval as ``[lo, hi]`` with :func:`fmt_num`'s rules."""
    return f"[{fmt_num(ci[0])}, {fmt_num(ci[1])}]"


def markdown(rows: list[dict]) -> str:
    """Markdown tables: ratios with 95 % bootstrap CIs, crossings, rho*, read maps, WKB vs magnitude."""
    lines = ["| model | condition | clean | Uniform/TAC bits (95% CI) | 5th-pct trial | per-word SECDED overhead "
             "| Uniform+posterior/TAC | rho* predicted (finite / first order) | rho* measured | "
             "abs ln(pred/meas) |", "|" + "---|" * 10]
    for r in rows:
        err = r.get("ln_rho_error", {})
        lines.append(
            f"| {r['model']} | {r['condition']} (p10={r['p10']:g}, p01={r['p01']:g}) | {r['clean_accuracy']:.3f} | "
            f"{fmt_num(r['ratio_bits'])} {fmt_ci(r['ratio_bits_ci95'])} | {fmt_num(r['ratio_bits_p5'])} "
            f"{fmt_ci(r['ratio_bits_p5_ci95'])} | {fmt_num(r['ratio_overhead_word'])} {fmt_ci(r['ratio_overhead_word_ci95'])} | "
            f"{fmt_num(r.get('ratio_bits_vs_uniform_posterior'))} {fmt_ci(r.get('ratio_bits_vs_uniform_posterior_ci95', [None, None]))} | "
            f"{fmt_num(r['rho_star_predicted'])} / {fmt_num(r.get('rho_star_predicted_first_order'))} | "
            f"{fmt_num(r['rho_star_measured'])} | {fmt_num(err.get('finite'))} / {fmt_num(err.get('first_order'))} |")
    lines += ["", "Crossing budgets (bits/weight, mean / 5th-percentile criterion):", "",
              "| model | condition | " + " | ".join(LABELS.get(s, s) for s in LABELS) + " |", "|" + "---|" * (2 + len(LABELS))]
    for r in rows:
        c = r["crossings_bpw"]
        lines.append(f"| {r['model']} | {r['condition']} | " + " | ".join(
            f"{fmt_num(c[s]['mean'])} / {fmt_num(c[s]['p5'])}" if s in c else "-" for s in LABELS) + " |")
    lines += ["", "Read maps at Uniform-MSP m protected bits: exact weight MSE (LSB^2) and measured mean accuracy:", "",
              "| model | condition | m | plain | unbiased | per-bit posterior | posterior (TAC) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        for m in (0, 1, 2) if r.get("read_maps") else ():
            cells = {x["read"]: x for x in r["read_maps"] if x["m"] == m}
            lines.append(f"| {r['model']} | {r['condition']} | {m} | " + " | ".join(
                f"{cells[k]['weight_mse_lsb2']:.1f}" + (f" ({cells[k]['accuracy']:.3f})" if cells[k]["accuracy"] is not None
                                                        else "") for k in ("plain", "unbiased", "perbit", "posterior"))
                         + " |")
    wk = [r for r in rows if r.get("wkb_vs_magnitude")]
    if wk:
        lines += ["", "TAC plan (plain read) minus magnitude's monotone envelope, budgets <= 1.25 bits/weight:", "",
                  "| model | condition | largest gap (pp) |", "|---|---|---|"]
        lines += [f"| {r['model']} | {r['condition']} | {fmt_num(r['wkb_vs_magnitude']['max_gap_pp'], 1)} |" for r in wk]
    return "\n".join(lines) + "\n"


def plot_curves(ax, row: dict) -> None:
    """Measured mean accuracy / clean vs bits per weight per strategy, predicted curves dashed, target line."""
    for strat, pts in row["curves"].items():
        ax.plot([p["bpw"] for p in pts], [p["acc_mean"] / row["clean_accuracy"] for p in pts], marker="o", ms=2.5,
                label=LABELS.get(strat, strat))
    for strat in ("uniform", "tac"):
        pred = row.get("predictor", {}).get("finite", {}).get(f"curve_{strat}")
        if pred:
            ax.plot([p[0] for p in pred], [p[1] for p in pred], ls="--", lw=1, label=f"{LABELS[strat]} predicted")
    ax.axhline(0.95, color="k", ls=":", lw=0.8, label="95% of clean")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("protected bits per weight")
    ax.set_ylabel("accuracy / clean")
    ax.set_title(f"{row['model']} {row['condition']}", fontsize=9)


def write_figures(rows: list[dict], out_dir: Path) -> list[str]:
    """One PNG+SVG of all (model, condition) panels; returns the written paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        return []
    out_dir = Path(out_dir)
    fig, axes = plt.subplots(1, len(rows), figsize=(3.8 * len(rows), 3.4), squeeze=False)
    for ax, r in zip(axes[0], rows):
        plot_curves(ax, r)
    axes[0][-1].legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    written = []
    for ext in ("png", "svg"):
        path = out_dir / f"headline_curves.{ext}"
        save_figure(fig, path)  # atomic, no symlink followed
        written.append(str(path))
    plt.close(fig)
    return written
