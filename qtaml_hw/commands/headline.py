"""`qtaml-hw headline`: Uniform-MSP vs TAC protected-bit budget at 95 % of clean accuracy, with bootstrap CIs,
predicted vs measured rho*, through the campaign engine (design.md sections 3 and 7)."""

from __future__ import annotations

from qtaml_hw.commands._common import add_json, add_seed, emit_json, nonneg_int, positive_int, probability

NAME = "headline"
HELP = ("headline v2: smallest protected-bit budget reaching 0.95 x clean accuracy, Uniform-MSP vs TAC (plan + posterior "
        "read), symmetric and directional flips, bootstrap CIs, rho* predicted vs measured; resumable engine run")
ORDER = 50

QUICK = {"models": ("lenet5",), "test_subset": 100, "calib_samples": 64, "probes": 2, "predict_samples": 32,
         "predict_draws": 4, "first_order": False, "read_ablation": False, "fine_bpw": 0.25, "max_trials": 8, "min_trials": 4, "coarse_bpw": 0.5,
         "max_bpw": 3.0, "strategies": ("uniform", "tac"), "replicates": 200}


def add_arguments(parser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="LeNet-5, Uniform and TAC only, 100 test images, 32 predictor images x 4 draws, <= 8 trials, "
                             "0.5 / 0.25 bpw grids")
    parser.add_argument("--models", nargs="+", default=None, help="models (default: all five; --quick: lenet5)")
    parser.add_argument("--conditions", nargs="+", default=None, help="symmetric directional (default both)")
    parser.add_argument("--strategies", nargs="+", default=None,
                        help="uniform uniform_posterior tac tac_plain tac_unbiased magnitude (default all)")
    parser.add_argument("--max-trials", type=positive_int, default=None, help="trial cap per task (default 32)")
    parser.add_argument("--fixed", action="store_true", help="no adaptive stopping: every task runs --max-trials")
    parser.add_argument("--test-subset", type=positive_int, default=None, help="first N test images (multiple of 20)")
    parser.add_argument("--p-flip", type=probability, default=None,
                        help="override p10 for every model (default 0.10 CNNs, 0.05 ViT)")
    parser.add_argument("--max-bpw", type=float, default=None, help="largest budget swept (bits/weight, default 4)")
    parser.add_argument("--min-trials", type=positive_int, default=None,
                        help="first stopping look (default 4; then every doubling up to --max-trials)")
    parser.add_argument("--coarse-bpw", type=float, default=None, help="stage-1 grid step (default 0.25)")
    parser.add_argument("--calib-samples", type=positive_int, default=None,
                        help="unlabeled images for the sensitivities (default 256)")
    parser.add_argument("--predict-samples", type=positive_int, default=None,
                        help="unlabeled images for the accuracy predictor (default 128)")
    parser.add_argument("--predict-draws", type=positive_int, default=None,
                        help="fault draws per plan of the finite-perturbation predictor (default 8)")
    parser.add_argument("--replicates", type=positive_int, default=None, help="bootstrap replicates (default 1000)")
    parser.add_argument("--no-first-order", action="store_true", help="skip the first-order predictor (Jacobians)")
    parser.add_argument("--workers", type=nonneg_int, default=None,
                        help="worker processes (0: in this process; default 1, --quick 0)")
    parser.add_argument("--dask", default=None, metavar="ADDRESS",
                        help="run the trials on the Dask scheduler at ADDRESS (e.g. tcp://host:8786)")
    parser.add_argument("--out", default="out/headline", help="output folder: store, headline.json/.md, plots")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_seed(parser)
    add_json(parser)


def build_config(args):
    """The validated :class:`HeadlineConfig` of the command line."""
    from qtaml_hw.campaign.headline import HeadlineConfig

    base = dict(QUICK) if args.quick else {}
    replicates = base.pop("replicates", 1000)
    if args.models:
        base["models"] = tuple(args.models)
    base.setdefault("models", ("lenet5", "vgg", "resnet", "mobilenet", "vit"))
    for key in ("conditions", "strategies"):
        if getattr(args, key):
            base[key] = tuple(getattr(args, key))
    for key in ("max_trials", "min_trials", "test_subset", "p_flip", "max_bpw", "coarse_bpw", "calib_samples",
                "predict_samples", "predict_draws"):
        if getattr(args, key) is not None:
            base[key] = getattr(args, key)
    if args.no_first_order:
        base["first_order"] = False
    if args.fixed:
        base["adaptive"] = False
    return HeadlineConfig(**base), args.replicates or replicates


def run(args) -> int:
    import json
    import sys
    from pathlib import Path

    import torch

    from qtaml_hw.campaign.headline import run_headline
    from qtaml_hw.commands._common import _to_jsonable
    from qtaml_hw.errors import QtamlError
    from qtaml_hw.fsio import make_dirs, write_text
    from qtaml_hw.reports.headline_plots import markdown, write_figures

    cfg, replicates = build_config(args)
    workers = args.workers if args.workers is not None else (0 if args.quick else 1)
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise QtamlError(f"--out {out_dir} exists and is not a directory")
    make_dirs(out_dir)
    torch.set_num_threads(1 if workers else 2)
    res = run_headline(cfg, out=out_dir / "headline.sqlite", seed=args.seed, workers=workers,
                       progress=not args.no_progress, replicates=replicates, dask_address=args.dask)
    doc = _to_jsonable({"command": "qtaml-hw " + " ".join(sys.argv[1:]) if sys.argv[1:] else "qtaml-hw headline",
                        **res})
    write_text(out_dir / "headline.json", json.dumps(doc, indent=1))  # atomic, no symlink followed
    write_text(out_dir / "headline.md", markdown(res["rows"]))
    files = write_figures(res["rows"], out_dir)
    if args.json:
        emit_json({"rows": [_public(r) for r in res["rows"]], "complete": res["complete"], "trials": res["trials"],
                   "trials_cap": res["trials_cap"], "seconds": res["seconds"],
                   "files": [str(out_dir / "headline.json"), str(out_dir / "headline.md"), *files]})
    else:
        print(markdown(res["rows"]), end="")
        print(f"wrote {out_dir}/headline.md, headline.json, headline.sqlite, {len(files)} plots")
    return 0


def _public(row: dict) -> dict:
    """The row without its bulky curves (they are in headline.json)."""
    return {k: v for k, v in row.items() if k not in ("curves", "predictor")}
