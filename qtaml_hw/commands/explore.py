"""`qtaml-hw explore`: refresh interval x code x protection plan on a calibrated cell -> Pareto table + plot.

Runs through the campaign engine (task kind ``explore``, :mod:`qtaml_hw.campaign.explore`):
resumable store ``<out>/explore.sqlite``, local workers or Dask.  For each point: accuracy
(mean, 95% Student-t CI over trials), check-bit storage overhead, codec area (NAND2 eq. of one
encoder + decoder per distinct protected word width, Yosys, cached in ``<out>/codec_area.json``),
refresh rate (refreshes/s, the power proxy), the capacity floor of the protected bits, and
whether it is on the Pareto front (accuracy up; overhead, area, refresh rate down).
"""

from __future__ import annotations

import sys
from pathlib import Path

from qtaml_hw.commands._common import add_json, add_seed, emit_json, format_table, nonneg_int, positive_int, probability

NAME = "explore"
HELP = "Pareto front of accuracy vs storage overhead vs codec area vs refresh rate on a calibrated cell"
ORDER = 76
DEFAULT_CODES = "secded,bch2,bch3,tmr"
DEFAULT_PLANS = "uniform:2,uniform:4,tac:1.0,tac:2.0"
#: BCH decoders with more table entries are not synthesised here (Yosys takes minutes on a case table of
#: thousands of entries; a real wide-t design would use a Berlekamp-Massey/Chien decoder): area "n/a".
MAX_AREA_TABLE = 1000


def add_arguments(parser) -> None:
    parser.add_argument("--model", default="lenet5", help="lenet5, vgg, resnet, mobilenet, vit (default lenet5)")
    parser.add_argument("--cell", default="gc3t-65nm", help="cell preset (qtaml-hw physics --list-cells)")
    parser.add_argument("--law", choices=("threshold", "poisson"), default="threshold", help="failure law")
    parser.add_argument("--refresh-s", default=None,
                        help="comma-separated refresh intervals s (default: the intervals giving p10 = 0.01, 0.03, 0.1)")
    parser.add_argument("--codes", default=DEFAULT_CODES, help=f"comma list of codes (default {DEFAULT_CODES})")
    parser.add_argument("--plans", default=DEFAULT_PLANS,
                        help=f"comma list of uniform:M / tac:BPW plans (default {DEFAULT_PLANS}); 'none' is always added")
    parser.add_argument("--r", type=probability, default=0.1, help="p01 = r p10 (default 0.1)")
    parser.add_argument("--erasure", choices=("mean", "zero", "raw"), default="mean",
                        help="detected-uncorrectable words read as (default mean: the layer's posterior mean)")
    parser.add_argument("--trials", type=positive_int, default=16, help="trials per point (default 16)")
    parser.add_argument("--test-subset", type=positive_int, default=500, help="test images per trial (default 500)")
    parser.add_argument("--workers", type=nonneg_int, default=2, help="local worker processes (default 2; 0 in-process)")
    parser.add_argument("--no-area", action="store_true", help="skip the Yosys codec area")
    parser.add_argument("--out", default="out/explore", help="output directory (default out/explore)")
    add_seed(parser)
    add_json(parser)


def _floats(text: str, what: str) -> list[float]:
    from qtaml_hw.errors import QtamlError

    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise QtamlError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if not vals or any(not (0 < v <= 1e12) for v in vals):
        raise QtamlError(f"{what} must be in (0, 1e12] s, got {text!r}")
    return vals


def _codec_ge(code: str, widths: set, cache: dict, no_area: bool):
    """NAND2 eq. of one encoder + decoder per distinct width (repetition is bitwise: m x its 8-bit codec,
    or 2m x its 4-bit codec above 9 copies, whose 8-bit check word would not fit one uint64)."""
    from qtaml_hw.campaign.explore import parse_code

    fam, t, copies = parse_code(code)
    if fam == "none" or not widths:
        return 0.0
    if no_area:
        return None
    from math import comb

    from qtaml_hw.commands.area import ecc_area
    from qtaml_hw.ecc import build_code

    total = 0.0
    for m in sorted(widths):
        k = (8 if copies <= 9 else 4) if fam == "rep" else 8 * m
        key = {"bch": f"bch-t{t}:{k}", "rep": f"rep{copies}:{k}"}.get(fam, f"{fam}:{k}")
        if key not in cache:
            n = build_code(fam, k, t=t).n
            if fam == "bch" and sum(comb(n, w) for w in range(1, t + 1)) > MAX_AREA_TABLE:
                cache[key] = None
            else:
                cache[key] = ecc_area(fam, k, t=t, copies=copies)["ecc_ge"]
        if cache[key] is None:
            return None
        total += cache[key] * (m * 8 // k if fam == "rep" else 1)
    return total


def _tasks(args, target, refreshes, codes, plans):
    from qtaml_hw.campaign.explore import ExploreKind, ExploreParams, plan_protect
    from qtaml_hw.campaign.kinds import make_task
    from qtaml_hw.campaign.stopping import Stopping

    tasks = []
    ask = Stopping(metric="accuracy", max_trials=args.trials, min_trials=min(8, args.trials))
    for t in refreshes:
        probe = ExploreParams(target=target, cell=args.cell, refresh_s=t, code="none", plan="none", law=args.law,
                              r=args.r, erasure=args.erasure)
        fm, _ = probe.flip_model()
        tasks.append(make_task("explore", probe, ask))
        for plan in plans:
            protect = plan_protect(target, plan, p10=float(fm.p10), p01=float(fm.p01), seed=args.seed)
            for code in codes:
                p = ExploreParams(target=target, cell=args.cell, refresh_s=t, code=code, plan=plan, protect=protect,
                                  law=args.law, r=args.r, erasure=args.erasure)
                ExploreKind().sampler(p, fm)  # a code that cannot hold this plan's words: one line before any trial
                tasks.append(make_task("explore", p, ask))
    return tasks


def _rows(store_path, tasks, args, cache) -> list[dict]:
    from qtaml_hw.campaign.explore import pareto_front
    from qtaml_hw.campaign.store import ResultStore
    from qtaml_hw.stats import mean_ci

    store = ResultStore.open(store_path)
    infos = {t["task_id"]: t["info"] for t in store.tasks()}
    rows = []
    for task in tasks:
        p, info = task.params, infos[task.id]
        _, met = store.trials(task.id)
        mean, lo, hi = mean_ci(met["accuracy"])
        widths = {m for _, m in p.protect if m > 0}
        rows.append({"refresh_s": p.refresh_s, "refresh_rate_hz": info["refresh_rate_hz"], "p10": info["p10"],
                     "t_over_tau": info["t_over_tau"], "code": p.code, "plan": p.plan,
                     "m": "/".join(str(m) for _, m in p.protect), "overhead": info["overhead"],
                     "floor_overhead": info["floor_overhead"], "codec_ge": _codec_ge(p.code, widths, cache, args.no_area),
                     "trials": int(met["accuracy"].size), "accuracy_mean": mean, "accuracy_lo": lo, "accuracy_hi": hi,
                     "clean_accuracy": info["clean_accuracy"], "frac_of_clean": mean / info["clean_accuracy"]})
    for r, front in zip(rows, pareto_front(rows)):
        r["pareto"] = front
    return rows


def run(args) -> int:
    import json
    import time

    from qtaml_hw.campaign.config import ModelTarget
    from qtaml_hw.campaign.explore import parse_code, parse_plan
    from qtaml_hw.campaign.runner import run_tasks
    from qtaml_hw.fsio import write_json, write_text
    from qtaml_hw.physics import calibrate
    from qtaml_hw.reports.explore_plots import write_explore_figure

    t0 = time.perf_counter()
    codes = [c.strip() for c in args.codes.split(",") if c.strip() and c.strip() != "none"]
    plans = [p.strip() for p in args.plans.split(",") if p.strip() and p.strip() != "none"]
    for c in codes:
        parse_code(c)
    for p in plans:
        parse_plan(p)
    cal = calibrate(args.cell, law=args.law)
    refreshes = (_floats(args.refresh_s, "--refresh-s") if args.refresh_s
                 else [float(f"{cal.refresh_for(p):.3g}") for p in (0.01, 0.03, 0.1)])
    target = ModelTarget(name=args.model, test_subset=args.test_subset)
    tasks = _tasks(args, target, refreshes, codes, plans)  # every point checked before anything is written
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = run_tasks(tasks, seed=args.seed, out=out / "explore.sqlite", name=f"explore-{args.model}",
                        workers=args.workers, batch_trials=min(args.trials, 16), progress=not args.json)
    cache_path = out / "codec_area.json"
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    rows = _rows(out / "explore.sqlite", tasks, args, cache)
    if not args.no_area:
        write_json(cache_path, cache)
    figs = [str(p) for p in write_explore_figure(rows, out)]
    cols = ["refresh_s", "p10", "code", "plan", "m", "overhead", "floor_overhead", "codec_ge", "accuracy_mean",
            "accuracy_lo", "accuracy_hi", "frac_of_clean", "pareto"]
    table = format_table(rows, cols, floatfmt=".4g")
    result = {"model": args.model, "cell": args.cell, "law": args.law, "refresh_s": refreshes, "rows": rows,
              "figures": figs, "store": str(out / "explore.sqlite"), "trials_run": summary.get("trials_run"),
              "seconds": time.perf_counter() - t0, "command": " ".join(["qtaml-hw"] + sys.argv[1:])}
    write_json(out / "explore.json", result)
    write_text(out / "explore.md", f"# explore: {args.model} on {args.cell}\n\n```\n{table}\n```\n")
    if args.json:
        emit_json(result)
        return 0
    print(table)
    print(f"wrote {out / 'explore.md'}, {out / 'explore.json'}, {', '.join(figs)} ({result['seconds']:.0f} s)")
    return 0
