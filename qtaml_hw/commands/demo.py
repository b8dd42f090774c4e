"""`qtaml-hw demo`: the whole chain on embedded defaults, written to one report (design.md sections 1-7).

physics (WKB) -> directional flip rates -> label-free TAC plan vs Uniform-MSP on LeNet-5
-> seeded, resumable Monte Carlo campaign (SQLite) -> rho* predicted vs measured -> one
SECDED-protected GEMM tile with the same leakage on the RTL (cocotb), checked bit-exactly
against the golden model and the Python codec -> ``<out>/report.md`` with figures.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from qtaml_hw.commands._common import add_json, add_seed, emit_json, format_table, positive_int
from qtaml_hw.errors import QtamlError
from qtaml_hw.fsio import check_target, make_dirs, write_text

NAME = "demo"
HELP = "run the end-to-end demo (physics -> TAC vs Uniform-MSP -> Monte Carlo -> RTL) into a report"
ORDER = 0
log = logging.getLogger(__name__)

# Embedded operating point: a calibrated 65 nm 3T-1C gain cell (docs/physics.md, "Cell presets";
# measured 16 us retention at 99.99% bit yield) refreshed every 200 us, threshold law, leakage
# mostly 1 -> 0 (r = 0.1): p10 ~ 0.095 (t / tau = 0.25), the stress regime of the paper.
PHYSICS = {"cell": "gc3t-65nm", "law": "threshold", "refresh_s": 2e-4, "r": 0.1}
MODEL = "lenet5"
UNIFORM_M = (1, 2, 3, 4)
TAC_BUDGETS = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0)


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="out", help="output directory (default out/)")
    parser.add_argument("--trials", type=positive_int, default=64, help="Monte Carlo trials per task (default 64)")
    parser.add_argument("--test-subset", type=positive_int, default=1000,
                        help="test images per trial (default 1000 of the 1000 held out)")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes (default 2; 0 = in-process)")
    parser.add_argument("--sim", choices=("verilator", "icarus", "none"), default="verilator",
                        help="simulator for the RTL cross-check (default verilator; none skips it)")
    parser.add_argument("--quick", action="store_true", help="few trials and images (smoke run, ~1 min)")
    add_seed(parser)
    add_json(parser)


def campaign_toml(*, seed: int, trials: int, test_subset: int) -> str:
    """The demo's campaign file (also written to ``<out>/campaign.toml`` so it can be rerun)."""
    phys = _physics()
    return f"""# qtaml-hw demo campaign: rerun with `qtaml-hw campaign run campaign.toml --out campaign.sqlite`
[campaign]
name = "demo-{MODEL}"
kind = "nn"
seed = {seed}
trials = {trials}
batch_trials = {min(trials, 16)}

[model]
name = "{MODEL}"
test_subset = {test_subset}

[faults]
r = {PHYSICS['r']!r}
# cell {phys['cell']} refreshed every {phys['refresh_s']:g} s, {phys['law']} law (t/tau = {phys['t_over_tau']:.3g}):
# `qtaml-hw physics --cell {phys['cell']} --refresh-s {phys['refresh_s']:g} --r {PHYSICS['r']:g}`
p_flip = [{phys['p10']!r}]

{_stopping_block(trials)}
[[plans]]
strategy = "none"

[[plans]]
strategy = "uniform"
protect_msb = {list(UNIFORM_M)}

[[plans]]
strategy = "magnitude"
budget_bpw = {list(TAC_BUDGETS)}

[[plans]]
strategy = "tac"
budget_bpw = {list(TAC_BUDGETS)}

[[plans]]
strategy = "tac"
budget_bpw = {list(TAC_BUDGETS)}
mean_correction = true

[[plans]]   # the same kind of plans through a real SECDED codec (check bits leak too)
strategy = "uniform"
protect_msb = [2, 4]
ecc = "secded"

[[plans]]
strategy = "tac"
budget_bpw = [2.0]
mean_correction = true
ecc = "secded"
"""


def _stopping_block(trials: int) -> str:
    """Adaptive stopping (docs/campaign.md): a task stops once its mean accuracy is known to +-1 point."""
    if trials < 4:
        return "# (fixed trial count: too few trials for adaptive stopping)"
    first = min(8, trials // 2)
    return (f"# each task stops once its mean accuracy is known to +-1 point (95% interval), looked at\n"
            f"# after {first}, {2 * first}, ... and at most {trials} trials\n"
            f"[stopping]\ntolerance = 0.01\nmin_trials = {first}\n")


def _physics() -> dict:
    """The demo's operating point: the calibrated cell at its refresh interval (physics.operating_point)."""
    from qtaml_hw.physics import calibrate, operating_point

    op = operating_point(calibrate(PHYSICS["cell"], law=PHYSICS["law"]), PHYSICS["refresh_s"], r=PHYSICS["r"])
    return {**op, "t_s": op["refresh_s"]}


RTL_LAYER = "conv2"
RTL_BUDGET_BPW = 2.0


def _rtl_check(*, sim: str, seed: int, p10: float, p01: float, images: int, trials: int) -> dict:
    """LeNet-5 conv2 under the TAC plan (SECDED on its protected bits, mean correction) on the RTL."""
    from qtaml_hw.rtlnn.layer_eval import protected_layer_check
    from qtaml_hw.memory import FlipModel

    return protected_layer_check(model=MODEL, layer=RTL_LAYER, simulator=sim, flip_model=FlipModel(p10, p01),
                                 budget_bpw=RTL_BUDGET_BPW, seed=seed, trials=trials, images=images)


def run(args) -> int:
    from qtaml_hw.campaign import expand_tasks, parse_config, run_campaign, write_report
    from qtaml_hw.reports.demo_report import write_demo_report
    from qtaml_hw.reports.physics_plots import write_physics_figures

    _check_args(args)
    out = check_target(Path(args.out), directory=True)  # a file or a symlink in the way: before any step
    t0 = time.perf_counter()
    steps = {}

    def step(msg):
        print(f"[demo {time.perf_counter() - t0:6.1f}s] {msg}", file=sys.stderr, flush=True)

    step("physics: calibrated cell -> refresh interval -> directional flip rates")
    phys = _physics()
    toml_text = campaign_toml(seed=args.seed, trials=args.trials, test_subset=args.test_subset)
    import tomllib

    cfg = parse_config(tomllib.loads(toml_text))
    make_dirs(out)
    write_text(out / "campaign.toml", toml_text)  # atomic, no symlink followed
    figures = [p.name for p in write_physics_figures(out) if p.suffix == ".png"]

    step(f"campaign: {MODEL}, p10={phys['p10']:.4f} p01={phys['p01']:.4f}; TAC plan vs Uniform-MSP "
         f"({args.trials} trials x {args.test_subset} images per task)")
    # append: a re-run with other --quick sizes adds its tasks; the report keeps this config's only
    summary = run_campaign(cfg, out=out / "campaign.sqlite", workers=args.workers, progress=not args.json,
                           append=True)
    steps["campaign"] = summary
    # only this config's tasks: a store from an earlier run with other sizes keeps its own tasks
    rep = write_report(out / "campaign.sqlite", out, plots=True, task_ids=[t.id for t in expand_tasks(cfg)],
                       whole_folder=False)  # the demo folder also holds the store: replace file by file
    rows, rho = rep["rows"], rep["rho_star"]

    rtl = None
    if args.sim != "none":
        step(f"RTL: {MODEL}.{RTL_LAYER} under its TAC plan ({RTL_BUDGET_BPW} bits/weight) with SECDED on "
             f"{args.sim}, the same leakage in data and check bits")
        rtl = _rtl_check(sim=args.sim, seed=args.seed, p10=phys["p10"], p01=phys["p01"],
                         images=10 if args.quick else 50, trials=1 if args.quick else 2)
    md_path = write_demo_report(out, physics=phys, rows=rows, rho=rho, rtl=rtl, figures=figures + [
        Path(f).name for k, f in rep["files"].items() if k.endswith("_png")], seconds=time.perf_counter() - t0,
        command=" ".join(["qtaml-hw demo"] + sys.argv[2:]) if sys.argv[1:2] == ["demo"] else "qtaml-hw demo")
    result = {"physics": phys, "rho_star": rho, "rtl": rtl, "report": str(md_path),
              "campaign": {k: summary[k] for k in ("tasks", "trials_run", "elapsed_s", "trials_per_s")},
              "rows": [{k: r[k] for k in ("strategy", "protect_msb", "check_bits_per_weight", "accuracy_mean",
                                          "accuracy_lo", "accuracy_hi")} for r in rows],
              "seconds": time.perf_counter() - t0}
    ok = rtl is None or rtl["agree"]
    if args.json:
        emit_json(result)
    else:
        _print_summary(result, md_path)
    return 0 if ok else 1


def _check_args(args) -> None:
    """Reject bad options before any work; ``--quick`` caps the trials and the test subset (in place)."""
    if args.workers < 0:
        raise QtamlError(f"--workers must be >= 0, got {args.workers}")
    if args.quick:
        args.trials, args.test_subset = min(args.trials, 8), min(args.test_subset, 300)
    if args.sim != "none":
        from qtaml_hw.hdl.simulators import check_simulator

        check_simulator(args.sim)  # fail before any work, naming what to install


def _print_summary(result: dict, md_path: Path) -> None:
    """The text output of the demo: physics, the accuracy table, rho* and the RTL check (if run)."""
    phys, rtl = result["physics"], result["rtl"]
    print(f"physics: cell {phys['cell']}, tau={phys['tau_s']:.3g} s, refresh every {phys['refresh_s']:g} s "
          f"(t/tau={phys['t_over_tau']:.3g}) -> p10={phys['p10']:.4f}, p01={phys['p01']:.4f}")
    print(format_table(result["rows"]))
    for r in result["rho_star"]:
        print(f"rho*: predicted {_f(r['rho_star_predicted'])}, measured {_f(r['rho_star_measured'])} "
              f"(Uniform-MSP {_f(r['uniform_bpw'])} vs TAC {_f(r['tac_bpw'])} bits/weight at 95% of clean)")
    if rtl:
        t = rtl["trials"]
        accs = ", ".join(f"{x['accuracy_rtl']:.3f}" for x in t)
        print(f"RTL ({rtl['simulator']} {rtl['n']}x{rtl['n']}): {MODEL}.{RTL_LAYER}, TAC m={rtl['tac']['m_plan']} -> "
              f"SECDED over the top {rtl['tac']['protect_bits']} bits; RTL == replay layer: {rtl['agree']}; "
              f"ECC corrected/uncorrectable reads {sum(x['ecc_corrected'] for x in t)}/"
              f"{sum(x['ecc_uncorrectable'] for x in t)} (codec {sum(x['codec_corrected'] for x in t)}/"
              f"{sum(x['codec_uncorrectable'] for x in t)}); accuracy RTL "
              f"{accs} (replay layer the same: {all(x['accuracy_rtl'] == x['accuracy_replay'] for x in t)})")
    print(f"report: {md_path}  ({result['seconds']:.0f} s)")


def _f(v) -> str:
    return "n/a" if v is None else f"{v:.2f}"
