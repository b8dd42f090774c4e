"""Scrub-period plot (design.md sections 1 and 7): accuracy against scrub period, one point per grid period
with its Student-t 95 % interval, the goal line and the chosen period."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qtaml_hw.fsio import make_dirs, save_figure, write_json


def plot_scrub(ax, res: dict) -> None:
    """Draw the grid's accuracies (mean and CI), the goal and the answer on ``ax``."""
    h = res["history"]
    t = np.array([p["period_s"] for p in h])
    m = np.array([p["decision"]["mean"] for p in h])
    err = np.array([[p["decision"]["mean"] - p["decision"]["lo"] for p in h],
                    [p["decision"]["hi"] - p["decision"]["mean"] for p in h]])
    ax.errorbar(t, m, yerr=err, marker="o", ms=4, capsize=3, label="MC mean, 95% CI (adaptive trials)")
    ax.set_xscale("log")
    ax.axhline(res["goal_accuracy"], color="gray", ls="--", label=f"{res['target']:g} x clean")
    ax.axvline(res["scrub_period_s"], color="C3", ls=":", label=f"scrub every {res['scrub_period_s']:.3g} s")
    ax.set_xlabel("scrub period (s)")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8)


def save_scrub_report(res: dict, out_dir, *, title: str) -> dict:
    """``scrub.png``, ``scrub.svg`` and ``scrub.json`` in ``out_dir`` (each written atomically)."""
    import matplotlib  # noqa: PLC0415 - plotting backend chosen only when a figure is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    out_dir = make_dirs(Path(out_dir))
    fig, ax = plt.subplots(figsize=(6, 4))
    plot_scrub(ax, res)
    ax.set_title(title)
    fig.tight_layout()
    files = {ext: str(save_figure(fig, out_dir / f"scrub.{ext}", dpi=120)) for ext in ("png", "svg")}
    plt.close(fig)
    files["json"] = str(write_json(out_dir / "scrub.json", res))
    return files
