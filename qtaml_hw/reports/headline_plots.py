"""Plots of the headline experiment (design.md section 3): matplotlib Agg, ``plot_*`` on a caller's Axes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

LABELS = {"uniform": "Uniform-MSP", "magnitude": "magnitude", "tac_nomc": "TAC (no mean corr.)",
          "tac": "TAC + mean corr."}


def plot_accuracy_vs_overhead(ax, result: dict) -> None:
    """Mean MC accuracy (95% CI bars) vs SECDED overhead per strategy, with the 95%-of-clean line."""
    for strat, pts in result["curves"].items():
        pts = sorted(pts, key=lambda p: p["overhead"])
        oh = np.array([100 * p["overhead"] for p in pts])
        acc = np.array([p["acc_mean"] for p in pts])
        lo = acc - np.array([p["acc_ci95"][0] for p in pts])
        hi = np.array([p["acc_ci95"][1] for p in pts]) - acc
        ax.errorbar(oh, acc, yerr=[lo, hi], marker="o", ms=3, capsize=2, label=LABELS.get(strat, strat))
    ax.axhline(result["target_accuracy"], color="k", ls="--", lw=0.8, label="95% of clean")
    ax.set_xlabel("ECC overhead (% of weight storage)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{result['model']} (p_flip={result['p_flip']})")
    ax.legend(fontsize=7)


def plot_variance_share(ax, result: dict) -> None:
    """Share of the faulty-value variance held by each bit position (LSB = 0)."""
    share = np.asarray(result["variance_share"])
    ax.bar(np.arange(share.size), share)
    ax.set_xlabel("bit position (0 = LSB)")
    ax.set_ylabel("share of Var(v'|v)")
    ax.set_title(f"{result['model']}: variance share per bit")


def write_figures(results: list[dict], out_dir: Path) -> list[str]:
    """One PNG+SVG pair per plot kind; returns the written paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    written = []
    for kind, fn in (("accuracy_vs_overhead", plot_accuracy_vs_overhead), ("variance_share", plot_variance_share)):
        fig, axes = plt.subplots(1, len(results), figsize=(4.5 * len(results), 3.6), squeeze=False)
        for ax, r in zip(axes[0], results):
            fn(ax, r)
        fig.tight_layout()
        for ext in ("png", "svg"):
            path = out_dir / f"headline_{kind}.{ext}"
            fig.savefig(path)
            written.append(str(path))
        plt.close(fig)
    return written
