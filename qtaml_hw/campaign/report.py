"""Campaign tables: per-task summaries with 95 % confidence intervals, Markdown and CSV (design.md section 7).

For each task and metric: the mean over its stored trials and the Student-t interval
``mean +- t_{0.975, K-1} sd / sqrt(K)`` (:func:`qtaml_hw.stats.mean_ci`).  Tasks are the frozen
sums of their trials, so a store grown by a resumed or extended run is summarised the same way.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import numpy as np

from qtaml_hw.campaign.store import ResultStore
from qtaml_hw.campaign.kinds import get_kind
from qtaml_hw.errors import QtamlError
from qtaml_hw.fsio import atomic_dir, make_dirs, write_text
from qtaml_hw.stats import mean_ci

log = logging.getLogger(__name__)


def _fault_label(fault: dict) -> str:
    if "p_flip" in fault:
        return f"p_flip={fault['p_flip']:g}"
    return " ".join(f"{k}={v:g}" for k, v in sorted(fault.items()))


def summarize(store: ResultStore, *, task_ids=None) -> list[dict]:
    """One row per task: parameters, trial count, mean and 95 % CI of each metric, stored info.

    ``task_ids``: only these tasks (e.g. the current config's, when a store also holds an
    earlier campaign's tasks); default every task in the store.
    """
    keep = None if task_ids is None else set(task_ids)
    rows = []
    for task in store.tasks():
        if keep is not None and task["task_id"] not in keep:
            continue
        p, info = task["params"], task["info"]
        idx, metrics = store.trials(task["task_id"])
        if idx.size == 0:
            continue
        kind = get_kind(p["kind"] if "kind" in p else p["target"]["kind"])  # v1 stores: kind in the target
        row = {"task": task["task_id"][:12], "kind": kind.name,
               "target": p["target"].get("name", "x".join(map(str, p["target"].get("shape", [])))),
               "fault": _fault_label(p["fault"]), "p10": p["p10"], "p01": p["p01"],
               "strategy": p["strategy"] + ("+mc" if p.get("mean_correction") else "")
               + (f"+{p['ecc']}" if p.get("ecc") else ""),
               "protect_msb": p["protect_msb"], "check_bits_per_weight": p["check_bits_per_weight"],
               "trials": int(idx.size)}
        for name in kind.metrics:
            m, lo, hi = mean_ci(metrics[name], level=0.95)
            row[f"{name}_mean"], row[f"{name}_lo"], row[f"{name}_hi"] = m, lo, hi
        if "clean_accuracy" in info:
            row["clean_accuracy"] = info["clean_accuracy"]
            row["relative_accuracy"] = row["accuracy_mean"] / info["clean_accuracy"] if info["clean_accuracy"] else None
        if info.get("predicted_mse") is not None and not p.get("mean_correction") and not p.get("ecc"):
            row["predicted_mse"] = info["predicted_mse"]
        if info.get("variance_share") is not None:
            row["_variance_share"] = info["variance_share"]
        if info.get("rho_table"):
            row["_rho_table"] = info["rho_table"]
        if info.get("predicted_output_variance") is not None:
            row["predicted_output_variance"] = info["predicted_output_variance"]
        rows.append(row)
    return rows


def rho_star_rows(rows: list[dict]) -> list[dict]:
    """rho* per fault point: predicted (closed form, before any trial) vs measured (design.md section 3).

    Measured: the smallest Uniform-MSP budget whose mean accuracy reaches 95 % of the clean
    accuracy, over the smallest TAC budget (with or without mean correction) that does, in
    protected bits per weight, on the budgets the campaign swept.  Predicted: the rho* that
    ``qtaml_hw.tac.rho_table`` gives at that uniform level (stored with the TAC tasks).
    """
    out = []
    for target, fault in sorted({(r["target"], r["fault"]) for r in rows}):
        rs = [r for r in rows if (r["target"], r["fault"]) == (target, fault) and "accuracy_mean" in r
              and r.get("clean_accuracy")]
        if not rs:
            continue
        goal = 0.95 * rs[0]["clean_accuracy"]

        def smallest(pred):
            ok = [r for r in rs if pred(r["strategy"]) and r["accuracy_mean"] >= goal]
            return min(ok, key=lambda r: r["protect_msb"]) if ok else None

        uni = smallest(lambda s: s == "uniform")
        tac = smallest(lambda s: s in ("tac", "tac+mc"))  # ideal protection, as rho* assumes
        table = next((r["_rho_table"] for r in rs if r.get("_rho_table")), None)
        if table is None:
            continue
        predicted = next((t["rho"] for t in table if uni and t["m_uniform"] == uni["protect_msb"]), None)
        measured = (uni["protect_msb"] / tac["protect_msb"]) if uni and tac and tac["protect_msb"] > 0 else None
        out.append({"target": target, "fault": fault, "target_accuracy": goal,
                    "uniform_bpw": uni["protect_msb"] if uni else None,
                    "uniform_accuracy": uni["accuracy_mean"] if uni else None,
                    "tac_strategy": tac["strategy"] if tac else None,
                    "tac_bpw": tac["protect_msb"] if tac else None,
                    "tac_accuracy": tac["accuracy_mean"] if tac else None,
                    "rho_star_predicted": predicted, "rho_star_measured": measured})
    return out


def add_rho_star(rows: list[dict], rho: list[dict]) -> None:
    """Copy rho* predicted/measured (:func:`rho_star_rows`) onto the TAC rows they came from (for plots)."""
    for rr in rho:
        for r in rows:
            if (r["target"], r["fault"]) == (rr["target"], rr["fault"]) and r["strategy"] == rr["tac_strategy"] and r["protect_msb"] == rr["tac_bpw"]:
                r["rho_star_predicted"], r["rho_star_measured"] = rr["rho_star_predicted"], rr["rho_star_measured"]


def _columns(rows: list[dict]) -> list[str]:
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if not k.startswith("_") and k not in cols]
    return cols


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return format(v, ".6g")
    return str(v)


def to_csv(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_fmt(r.get(c)) for c in columns])
    return buf.getvalue()


def to_markdown(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def variance_share_rows(rows: list[dict]) -> list[dict]:
    """Per-bit shares of the closed-form error variance (bit 0 = LSB), one row per task."""
    out = []
    for r in rows:
        share = r.get("_variance_share")
        if share is None:
            continue
        out.append({"task": r["task"], "fault": r["fault"], "strategy": r["strategy"],
                    "protect_msb": r["protect_msb"], **{f"bit{k}": float(s) for k, s in enumerate(share)}})
    return out


def write_report(store_path, out_dir, *, plots: bool = True, task_ids=None, whole_folder: bool = True) -> dict:
    """Write ``summary.md``, ``summary.csv``, ``variance_shares.csv`` and PNG+SVG plots into ``out_dir``.

    Everything is computed before the first file is written.  ``whole_folder`` (default): the
    report is built in a temporary folder beside ``out_dir`` and swapped in as a whole
    (:func:`qtaml_hw.fsio.atomic_dir`), so a killed run leaves the old report or the new one,
    never a mix; ``out_dir`` must then hold nothing but report files.  ``whole_folder=False``
    (a folder shared with other outputs, as the demo's): each file is replaced atomically.
    Returns paths and the rows.
    """
    with ResultStore.open(store_path) as store:
        meta = store.meta()
        try:
            rows = summarize(store, task_ids=task_ids)
        except (KeyError, TypeError, IndexError, AttributeError) as exc:  # rows this version cannot read
            raise QtamlError(f"{store_path} holds a task this version cannot summarise "
                             f"({type(exc).__name__}: {exc})") from None
    if not rows:
        raise QtamlError(f"{store_path} holds no trials yet: run the campaign first")
    rho = rho_star_rows(rows)
    add_rho_star(rows, rho)
    cols = _columns(rows)
    shares = variance_share_rows(rows)
    title = f"# Campaign {meta.get('name', '')} (seed {meta.get('seed')}, kind {meta.get('kind')})\n\n"
    md = title + to_markdown(rows, cols)
    if rho:
        md += ("\n## rho*: Uniform-MSP budget / TAC budget at 95 % of clean accuracy (bits per weight)\n\n"
               + to_markdown(rho, _columns(rho)))
    if shares:
        md += "\n## Per-bit variance shares (closed form, bit0 = LSB)\n\n" + to_markdown(shares, _columns(shares))
    texts = {"summary_md": ("summary.md", md), "summary_csv": ("summary.csv", to_csv(rows, cols))}
    if shares:
        texts["variance_shares_csv"] = ("variance_shares.csv", to_csv(shares, _columns(shares)))
    out_dir = Path(out_dir)
    if whole_folder:
        with atomic_dir(out_dir) as tmp:
            files = _write_files(tmp, texts, rows, plots)
        files = {k: str(out_dir / Path(p).name) for k, p in files.items()}
    else:
        files = _write_files(make_dirs(out_dir), texts, rows, plots)
    return {"files": files, "rows": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
            "rho_star": rho}


def _write_files(out_dir: Path, texts: dict, rows: list[dict], plots: bool) -> dict:
    files = {}
    for key, (name, text) in texts.items():
        files[key] = str(write_text(out_dir / name, text))
    if plots:
        from qtaml_hw.reports.campaign_plots import save_campaign_plots

        files.update(save_campaign_plots(rows, out_dir))
    return files
