"""Campaign plots (design.md sections 3 and 7); ``plot_*`` draw on an Axes the caller passes.

* primary metric (accuracy, or weight MSE for the memory kind) vs ECC overhead in check bits
  per weight, one line per (fault point, strategy), with 95 % CI error bars;
* predicted vs measured: closed-form expected weight MSE vs the Monte Carlo mean (and rho*
  predicted vs measured when a TAC campaign stored them), with the y = x line;
* per-bit variance shares of the closed-form error (bit 0 = LSB), one line per task.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qtaml_hw.fsio import save_figure


def _primary(rows):
    return "accuracy" if "accuracy_mean" in rows[0] else "mse"


def plot_metric_vs_overhead(ax, rows: list[dict]) -> None:
    metric = _primary(rows)
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r["fault"], r["strategy"]), []).append(r)
    one_fault = len({fault for fault, _ in groups}) == 1
    for (fault, strategy), rs in sorted(groups.items()):
        rs = sorted(rs, key=lambda r: r["check_bits_per_weight"])
        x = np.array([r["check_bits_per_weight"] for r in rs])
        m = np.array([r[f"{metric}_mean"] for r in rs])
        err = np.array([[r[f"{metric}_mean"] - r[f"{metric}_lo"] for r in rs],
                        [r[f"{metric}_hi"] - r[f"{metric}_mean"] for r in rs]])
        ax.errorbar(x, m, yerr=err, marker="o", ms=4, capsize=3,
                    label=strategy if one_fault else f"{strategy}, {fault}")
    clean = [r["clean_accuracy"] for r in rows if "clean_accuracy" in r]
    if clean:
        ax.axhline(0.95 * clean[0], color="gray", ls="--", lw=1, label="95% of clean")
    if metric == "mse":
        ax.set_yscale("log")
    ax.set_xlabel("ECC overhead (check bits per weight)")
    ax.set_ylabel(f"{metric} (mean, 95% CI)")
    if one_fault:
        ax.set_title(next(iter(groups))[0], fontsize=7)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.grid(alpha=0.3)


def plot_predicted_vs_measured(ax, rows: list[dict]) -> bool:
    pairs = [(r["predicted_mse"], r["mse_mean"]) for r in rows if "predicted_mse" in r and "mse_mean" in r]
    label = "weight MSE"
    rho = [(r["rho_star_predicted"], r["rho_star_measured"]) for r in rows
           if "rho_star_predicted" in r and "rho_star_measured" in r]
    if rho:
        pairs, label = rho, "rho*"
    pairs = [(p, m) for p, m in pairs if p is not None and m is not None and p > 0 and m > 0]
    if not pairs:
        return False
    p, m = np.array(pairs).T
    ax.loglog(p, m, "o")
    lim = [min(p.min(), m.min()) * 0.8, max(p.max(), m.max()) * 1.25]
    ax.plot(lim, lim, "k--", lw=1, label="y = x")
    ax.set_xlabel(f"{label} predicted (closed form)")
    ax.set_ylabel(f"{label} measured (Monte Carlo mean)")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    return True


def plot_variance_shares(ax, rows: list[dict]) -> bool:
    """Per-bit share of the closed-form error variance, one line per task (uniform plans first, at most 8)."""
    rs = [r for r in rows if r.get("_variance_share") is not None]
    if not rs:
        return False
    rs = sorted(rs, key=lambda r: (r["strategy"] not in ("none", "uniform"), r["fault"], r["protect_msb"]))[:8]
    one_fault = len({r["fault"] for r in rs}) == 1
    for r in rs:
        share = np.asarray(r["_variance_share"], dtype=np.float64)
        k = np.flatnonzero(share > 0)
        label = f"{r['strategy']} m={r['protect_msb']:.3g}" + ("" if one_fault else f", {r['fault']}")
        ax.semilogy(k, share[k], marker="o", ms=4, label=label)
    ax.set_xlabel("bit position (0 = LSB); protected bits carry no variance")
    ax.set_ylabel("share of error variance")
    ax.grid(alpha=0.3, which="both")
    if one_fault:
        ax.set_title(rs[0]["fault"], fontsize=7)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return True


def save_campaign_plots(rows: list[dict], out_dir) -> dict:
    """Draw the three plots and save each as PNG and SVG in ``out_dir``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    files = {}
    for stem, fn in (("metric_vs_overhead", plot_metric_vs_overhead),
                     ("predicted_vs_measured", plot_predicted_vs_measured),
                     ("variance_shares", plot_variance_shares)):
        fig, ax = plt.subplots(figsize=(6, 4) if stem == "predicted_vs_measured" else (8, 4))
        drawn = fn(ax, rows)
        if drawn is not False:
            fig.tight_layout()
            for ext in ("png", "svg"):
                path = out_dir / f"{stem}.{ext}"
                save_figure(fig, path, dpi=120)  # atomic, never through a planted symlink
                files[f"{stem}_{ext}"] = str(path)
        plt.close(fig)
    return files
