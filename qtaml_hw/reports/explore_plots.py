"""Refresh-interval exploration figure (design.md sections 1, 3, 7): ``plot_*`` draw on the caller's Axes."""

from __future__ import annotations

import numpy as np

from qtaml_hw.fsio import save_figure

_MARKERS = {"none": "x", "sec": "v", "secded": "s", "bch": "o", "rep": "^", "tmr": "^"}


def _family(code: str) -> str:
    return "bch" if code.startswith("bch") else ("rep" if code.startswith(("rep", "tmr")) else code)


def plot_explore(ax, rows: list[dict], *, target_fraction: float = 0.95) -> None:
    """Accuracy (95% CI) vs storage overhead; colour = refresh interval, marker = code, Pareto points ringed.

    The dashed line is ``target_fraction`` of clean accuracy; the dotted verticals are the
    capacity floors (minimum check storage of the protected bits) of the plans at each interval.
    """
    import matplotlib.pyplot as plt

    refreshes = sorted({r["refresh_s"] for r in rows})
    cmap = plt.get_cmap("viridis", max(len(refreshes), 2))
    for i, t in enumerate(refreshes):
        pts = [r for r in rows if r["refresh_s"] == t]
        p10 = pts[0]["p10"]
        for r in pts:
            fam = _family(r["code"])
            x, y = r["overhead"], r["accuracy_mean"]
            ax.errorbar(x, y, yerr=[[y - r["accuracy_lo"]], [r["accuracy_hi"] - y]], fmt=_MARKERS.get(fam, "o"),
                        color=cmap(i), ms=5, capsize=2, lw=0.8,
                        mec="black" if r.get("pareto") else cmap(i), mew=1.4 if r.get("pareto") else 0.5)
        ax.plot([], [], "o", color=cmap(i), label=f"refresh {t * 1e6:.0f} us (p10 = {p10:.3g})")
        floors = [r["floor_overhead"] for r in pts if r["plan"] != "none"]
        if floors:
            ax.axvline(min(floors), color=cmap(i), ls=":", lw=0.8)
    clean = float(np.mean([r["clean_accuracy"] for r in rows]))
    ax.axhline(target_fraction * clean, color="grey", ls="--", lw=0.8,
               label=f"{target_fraction:.0%} of clean ({clean:.3f})")
    for fam, mk in _MARKERS.items():
        if any(_family(r["code"]) == fam for r in rows) and fam != "tmr":
            ax.plot([], [], mk, color="black", mfc="none", label=fam)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("check-bit storage overhead (check bits / weight bits)")
    ax.set_ylabel("accuracy (mean, 95% CI)")
    ax.set_title("refresh interval x code x plan (ringed: Pareto front)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small", loc="lower right")


def write_explore_figure(rows: list[dict], out_dir) -> list:
    """``explore.png`` and ``explore.svg`` in ``out_dir``."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    plot_explore(ax, rows)
    fig.tight_layout()
    paths = []
    for ext in ("png", "svg"):
        p = Path(out_dir) / f"explore.{ext}"
        save_figure(fig, p, dpi=130)  # atomic, no symlink followed
        paths.append(p)
    plt.close(fig)
    return paths
