"""`qtaml-hw scrub`: the scrub period that keeps a target fraction of clean accuracy (design.md sections 1, 7).

A grid of scrub periods, each one task of the campaign engine (resumable store, local
processes or Dask, progress, adaptive stopping against the goal accuracy); see
:mod:`qtaml_hw.campaign.scrub` for why a grid and not a bisection.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from qtaml_hw.commands._common import (add_json, add_seed, emit_json, nonneg_float, nonneg_int, positive_float,
                                       positive_int)
from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import check_bits_code

NAME = "scrub"
HELP = "how often must I scrub to keep a target fraction of clean accuracy? (grid of periods on the campaign engine)"
ORDER = 75


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="lenet5, vgg, resnet, mobilenet, vit or a checkpoint path")
    parser.add_argument("--target", type=positive_float, default=0.95,
                        help="fraction of clean quantized accuracy to keep (default 0.95)")
    parser.add_argument("--ecc-plan", default="none",
                        help="none (default) or uniform:M (ideal protection of the top M bits of every weight)")
    parser.add_argument("--tau-s", type=positive_float, default=None,
                        help="cell retention time tau in seconds (p10 = 1 - exp(-T/tau))")
    parser.add_argument("--t-ox-nm", type=positive_float, default=None, help="oxide thickness (physics layer)")
    parser.add_argument("--phi-b-ev", type=positive_float, default=3.1, help="barrier height eV (default 3.1)")
    parser.add_argument("--m-ox", type=positive_float, default=0.42, help="oxide effective mass in m0 (default 0.42)")
    parser.add_argument("--v-ox", type=nonneg_float, default=0.0, help="oxide voltage V (default 0)")
    parser.add_argument("--tau0-s", type=positive_float, default=1e-13, help="attempt time tau0 s (default 1e-13)")
    parser.add_argument("--r", type=nonneg_float, default=0.0,
                        help="p01 = r * p10 (default 0: leakage only empties charged nodes)")
    parser.add_argument("--bits", type=positive_int, default=8, help="weight bits (default 8)")
    parser.add_argument("--trials", type=positive_int, default=64,
                        help="trial cap per grid period (default 64; most periods decide after 8 or 16)")
    parser.add_argument("--min-trials", type=positive_int, default=8, help="first stopping checkpoint (default 8)")
    parser.add_argument("--points", type=positive_int, default=12, help="log-spaced grid periods (default 12)")
    parser.add_argument("--lo-s", type=positive_float, default=None, help="shortest period (default tau * 1e-7)")
    parser.add_argument("--hi-s", type=positive_float, default=None, help="longest period (default tau * 10)")
    parser.add_argument("--test-subset", type=positive_int, default=500, help="first N test images (default 500)")
    parser.add_argument("--models-dir", default=None, help="directory of named checkpoints")
    parser.add_argument("--store", default=None,
                        help="result store to keep (and resume) the grid's trials; default: a temporary one")
    parser.add_argument("--workers", type=nonneg_int, default=0,
                        help="local worker processes (default 0: in this process)")
    parser.add_argument("--dask", default=None, metavar="ADDRESS", help="run on the Dask scheduler at ADDRESS")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--out", default=None, help="directory for scrub.png / scrub.svg / scrub.json")
    add_seed(parser)
    add_json(parser)


def _parse_plan(text: str, bits: int) -> int:
    if text == "none":
        return 0
    kind, _, m = text.partition(":")
    if kind != "uniform" or not m.isdigit() or not 0 <= int(m) <= bits:
        raise QtamlError(f"--ecc-plan must be 'none' or 'uniform:M' with M in 0..{bits}, got {text!r}")
    return int(m)


def _check(args) -> tuple[int, Path | None]:
    if not 0 < args.target <= 1:
        raise QtamlError(f"--target must be in (0, 1], got {args.target}")
    if args.r > 1:
        raise QtamlError(f"--r must be in [0, 1], got {args.r}")
    if (args.tau_s is None) == (args.t_ox_nm is None):
        raise QtamlError("give exactly one of --tau-s or --t-ox-nm (physics)")
    check_bits_code(args.bits, name="--bits")
    if args.points < 2:
        raise QtamlError(f"--points must be at least 2, got {args.points}")
    protect = _parse_plan(args.ecc_plan, args.bits)
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise QtamlError(f"--out {out_dir} exists and is not a directory")
    return protect, out_dir


def run(args) -> int:
    from qtaml_hw.campaign.config import ModelTarget  # heavy (torch, the NN layer): loaded when the command runs
    from qtaml_hw.campaign.runner import run_tasks
    from qtaml_hw.campaign.scrub import choose_period, clean_accuracy, period_grid, scrub_tasks, tau_from_physics
    from qtaml_hw.reports.scrub_plots import save_scrub_report

    protect, out_dir = _check(args)
    tau = args.tau_s if args.tau_s is not None else tau_from_physics(
        t_ox_nm=args.t_ox_nm, phi_b_ev=args.phi_b_ev, m_ox=args.m_ox, v_ox=args.v_ox, tau0_s=args.tau0_s)
    target = ModelTarget(name=args.model, bits=args.bits, test_subset=args.test_subset, models_dir=args.models_dir)
    periods = period_grid(tau, points=args.points, lo_s=args.lo_s, hi_s=args.hi_s)
    clean = clean_accuracy(target)
    goal = args.target * clean
    tasks = scrub_tasks(target, periods=periods, tau_s=tau, r=args.r, protect_msb=protect, goal=goal,
                        max_trials=args.trials, min_trials=args.min_trials)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(args.store) if args.store else Path(tmp) / "scrub.sqlite"
        summary = run_tasks(tasks, seed=args.seed, out=store, name=f"scrub-{Path(args.model).stem}", kind="nn",
                            workers=args.workers, batch_trials=min(args.trials, 16), dask_address=args.dask,
                            progress=not args.no_progress)
    points = [{"period_s": float(t), "p10": task.params.p10, "decision": summary["decisions"][task.id]}
              for t, task in zip(periods, tasks)]
    res = choose_period(points, goal=goal)
    res.update({"model": args.model, "ecc_plan": args.ecc_plan, "protect_msb": protect, "trials_cap": args.trials,
                "trials_run": summary["trials_run"], "trials_total": summary["trials_total"], "seed": args.seed,
                "n_test": args.test_subset, "target": args.target, "goal_accuracy": goal, "clean_accuracy": clean,
                "tau_s": tau, "r": args.r, "store": args.store})
    if out_dir is not None:
        save_scrub_report(res, out_dir, title=f"{args.model}, plan {args.ecc_plan}, tau = {tau:.3g} s")
    if args.json:
        emit_json(res)
    else:
        word = "scrub at least every" if res["status"] == "ok" else "no scrubbing needed up to"
        print(f"{args.model}, plan {args.ecc_plan}, tau {tau:.4g} s, r {args.r:g}: clean accuracy {clean:.4f}, "
              f"goal {goal:.4f}")
        nxt = res["first_failing_period_s"]
        print(f"{word} {res['scrub_period_s']:.4g} s (p10 {res['p10']:.3g}, accuracy {res['accuracy']:.4f} "
              f"[{res['accuracy_ci95'][0]:.4f}, {res['accuracy_ci95'][1]:.4f}], {res['trials']} trials"
              + (f"; fails at {nxt:.4g} s" if nxt else "") + f"; {summary['trials_total']} trials over "
              f"{len(tasks)} periods, seed {args.seed})")
    return 0
