"""The collected full headline runs: ``docs/headline_full.json`` (one ``headline.json`` per model merged) and
its markdown ``docs/headline_full.md`` (design.md section 3; tables from :func:`headline_plots.markdown`).

Each model runs separately into its own store (``qtaml-hw headline --models M --out out/headline/M``);
``merge`` puts that run's rows and its command, wall and CPU time into the collection (replacing an
earlier run of the same model), ``full_markdown`` renders the collection.  Command line::

    python -m qtaml_hw.reports.headline_full out/headline/vgg/headline.json --time-log /tmp/vgg.log \
        --load "9.5 9.2 6.8" --doc docs/headline_full
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from qtaml_hw.errors import QtamlError
from qtaml_hw.fsio import write_text
from qtaml_hw.reports.headline_plots import fmt_ci, fmt_num, markdown

MODEL_ORDER = ("lenet5", "vgg", "resnet", "mobilenet", "vit")
TITLE = "# Headline v2: full run (tables generated from docs/headline_full.json)"


def cpu_seconds(time_log: str) -> float:
    """user + sys CPU seconds from a ``/usr/bin/time -v`` log."""
    found = dict(re.findall(r"(User|System) time \(seconds\): ([0-9.]+)", time_log))
    if set(found) != {"User", "System"}:
        raise QtamlError("no '/usr/bin/time -v' user/system times in the time log")
    return float(found["User"]) + float(found["System"])


def merge(full: dict, run_doc: dict, *, cpu_s: float | None = None, load: str | None = None) -> dict:
    """A new collection: ``full`` with the one-model run ``run_doc`` (a ``headline.json``) replacing that model."""
    models = {r["model"] for r in run_doc.get("rows", [])}
    if len(models) != 1 or not run_doc.get("complete"):
        raise QtamlError("merge takes a complete headline.json of exactly one model")
    model = models.pop()
    run = {"model": model, "command": run_doc["command"], "seconds": run_doc["seconds"],
           "monte_carlo_seconds": run_doc.get("monte_carlo_seconds"), "trials": run_doc["trials"],
           "trials_cap": run_doc["trials_cap"], "complete": True}
    if cpu_s is not None:
        run["cpu_seconds"] = float(cpu_s)
    if load:
        run["load_average"] = load

    def order(m):
        return MODEL_ORDER.index(m) if m in MODEL_ORDER else len(MODEL_ORDER)

    runs = sorted([r for r in full.get("runs", []) if r["model"] != model] + [run], key=lambda r: order(r["model"]))
    rows = sorted([r for r in full.get("rows", []) if r["model"] != model] + list(run_doc["rows"]),
                  key=lambda r: (order(r["model"]), r["condition"] != "symmetric"))
    return {"runs": runs, "rows": rows}


def _run_line(run: dict) -> str:
    text = (f"- `{run['command']}`: {run['seconds']:.0f} s wall ({run['monte_carlo_seconds']:.0f} s of it trials)"
            if run.get("monte_carlo_seconds") is not None else f"- `{run['command']}`: {run['seconds']:.0f} s wall")
    if run.get("cpu_seconds") is not None:
        text += f", {run['cpu_seconds']:.0f} CPU s (user + sys)"
    if run.get("load_average"):
        text += f", load average {run['load_average']} at the start"
    return text + f", {run['trials']} trials of a {run['trials_cap']} cap"


def summary_table(rows: list[dict]) -> str:
    """One line per (model, condition): both crossings, the ratio with its 95 % CI, rho* predicted and |ln|."""
    lines = ["| model | condition | Uniform-MSP crossing | TAC crossing | Uniform/TAC bits [95% CI] | "
             "rho* predicted (finite) | abs ln(pred/meas) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        c = r["crossings_bpw"]
        lines.append(f"| {r['model']} | {r['condition']} | {fmt_num(c['uniform']['mean'])} | {fmt_num(c['tac']['mean'])} | "
                     f"**{fmt_num(r['ratio_bits'])}** {fmt_ci(r['ratio_bits_ci95'])} | {fmt_num(r['rho_star_predicted'])} | "
                     f"{fmt_num(r.get('ln_rho_error', {}).get('finite'))} |")
    return "\n".join(lines) + "\n"


def full_markdown(doc: dict) -> str:
    """The markdown of a collection: title, one line per run (command, times, trials), a summary, the tables."""
    lines = [TITLE, "", *(_run_line(r) for r in doc.get("runs", [])), "",
             "Summary (mean criterion, protected bits per weight; the full tables follow):", ""]
    return "\n".join(lines) + "\n" + summary_table(doc.get("rows", [])) + "\n" + markdown(doc.get("rows", []))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="merge one model's headline.json into docs/headline_full.{json,md}")
    ap.add_argument("run_json", nargs="*", help="headline.json of a one-model run (none: just re-render)")
    ap.add_argument("--time-log", default=None, help="'/usr/bin/time -v' output of that run (CPU seconds)")
    ap.add_argument("--load", default=None, help="load average when the run started (text)")
    ap.add_argument("--doc", default="docs/headline_full", help="collection path without .json/.md")
    args = ap.parse_args(argv)
    base = Path(args.doc)
    doc = json.loads(base.with_suffix(".json").read_text()) if base.with_suffix(".json").exists() else {}
    for path in args.run_json:
        cpu = cpu_seconds(Path(args.time_log).read_text()) if args.time_log else None
        doc = merge(doc, json.loads(Path(path).read_text()), cpu_s=cpu, load=args.load)
    write_text(base.with_suffix(".json"), json.dumps(doc, indent=1))
    write_text(base.with_suffix(".md"), full_markdown(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
