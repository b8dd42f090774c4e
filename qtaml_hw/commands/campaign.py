"""`qtaml-hw campaign`: run a TOML fault campaign into a resumable SQLite store, and report on it
(design.md section 7)."""

from __future__ import annotations

from pathlib import Path

import attrs

from qtaml_hw.commands._common import add_json, emit_json, format_table, nonneg_int
from qtaml_hw.commands._limits import add_limit_args, limits_from_args

NAME = "campaign"
HELP = "fault campaigns: `run cfg.toml` (seeded, resumable, local processes or Dask), `report results.sqlite`"
ORDER = 70


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="campaign_cmd", required=True, metavar="{run,report}")
    run_p = sub.add_parser("run", help="run (or resume) every missing trial of a campaign file")
    run_p.add_argument("config", help="campaign TOML file (see examples/campaign_*.toml)")
    run_p.add_argument("--out", default=None, help="result store (default: <config stem>.sqlite in the cwd)")
    run_p.add_argument("--workers", type=nonneg_int, default=1,
                       help="local worker processes (default 1; 0 runs in this process)")
    run_p.add_argument("--dask", default=None, metavar="ADDRESS", help="run on the Dask scheduler at ADDRESS")
    run_p.add_argument("--models-dir", default=None, help="directory of named checkpoints (kind nn)")
    run_p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    run_p.add_argument("--dask-option", action="append", default=[], metavar="KEY=VALUE",
                       help="add a [dask.cluster_options] entry (TOML value); repeatable")
    run_p.add_argument("--allow-dask-code", action="store_true",
                       help="allow --dask-option entries that load code or run shell (preload, "
                            "job_script_prologue, job_extra_directives, ...); never allowed from a config file")
    run_p.add_argument("--append", action="store_true",
                       help="add this config's tasks to a store written by another config (same seed and kind)")
    run_p.add_argument("--force-workers", action="store_true", help="allow more --workers than usable cores")
    add_limit_args(run_p)
    add_json(run_p)
    rep_p = sub.add_parser("report", help="Markdown + CSV tables and PNG + SVG plots of a result store")
    rep_p.add_argument("store", help="result store written by `campaign run`")
    rep_p.add_argument("--out", default=None, help="output directory (default: <store stem>_report)")
    rep_p.add_argument("--no-plots", action="store_true", help="tables only")
    add_json(rep_p)


def run(args) -> int:
    if args.campaign_cmd == "run":
        return _run(args)
    return _report(args)


def _run(args) -> int:
    from qtaml_hw.campaign import load_config, run_campaign

    cfg = load_config(args.config)
    cfg = attrs.evolve(cfg, dask=cfg.dask.with_cli_options(args.dask_option, allow_code=args.allow_dask_code))
    out = Path(args.out) if args.out else Path(Path(args.config).stem + ".sqlite")
    summary = run_campaign(cfg, out=out, workers=args.workers, dask_address=args.dask,
                           progress=not args.no_progress, models_dir=args.models_dir, append=args.append,
                           limits=limits_from_args(args, out), force_workers=args.force_workers)
    if args.json:
        emit_json(summary)
    else:
        print(f"campaign {summary['name']} ({summary['kind']}): {summary['tasks']} tasks x "
              f"{summary['trials_per_task']} trials on {summary['backend']}")
        if summary["early_stops"]:
            print(f"adaptive stopping: {summary['decided']} of {summary['tasks']} tasks decided, "
                  f"{summary['early_stops']} before the cap; {summary['trials_total']} of {summary['trials_cap']} "
                  "trials needed")
        print(f"stored before {summary['trials_stored_before']}, run now {summary['trials_run']} "
              f"in {summary['elapsed_s']:.2f} s ({summary['trials_per_s']:.1f} trials/s) -> {summary['store']}")
    return 0


def _report(args) -> int:
    from qtaml_hw.campaign import write_report

    out = Path(args.out) if args.out else Path(Path(args.store).stem + "_report")
    res = write_report(args.store, out, plots=not args.no_plots)
    if args.json:
        emit_json(res)
    else:
        rows = res["rows"]
        metric = "accuracy" if "accuracy_mean" in rows[0] else "mse"
        cols = ["task", "fault", "strategy", "protect_msb", "check_bits_per_weight", "trials", f"{metric}_mean",
                f"{metric}_lo", f"{metric}_hi"]
        cols += [c for c in ("clean_accuracy", "predicted_mse") if c in rows[0]]
        print(format_table(rows, cols))
        print("wrote " + ", ".join(sorted(Path(p).name for p in res["files"].values())) + f" in {out}")
    return 0
