"""`qtaml-hw headline`: smallest ECC overhead reaching 95% of clean accuracy per strategy (design.md s.3)."""

from __future__ import annotations

from qtaml_hw.commands._common import add_json, add_seed, emit_json, positive_int, probability

NAME = "headline"
HELP = ("headline experiment: Uniform-MSP vs magnitude vs TAC ECC overhead reaching 0.95 x clean accuracy, rho*; "
        "the chosen plans re-run with the real SECDED codec")
ORDER = 50

QUICK = {"models": ["lenet5"], "trials": 4, "test_subset": 200, "budgets": [0.0, 1.0, 1.5, 2.0, 3.0]}
FULL_BUDGETS = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 5.0]


def add_arguments(parser) -> None:
    parser.add_argument("--quick", action="store_true", help="LeNet-5 only, 4 trials, 200 test images (< 60 s)")
    parser.add_argument("--models", nargs="+", default=None, help="models (default: all five; --quick: lenet5)")
    parser.add_argument("--trials", type=positive_int, default=None, help="MC trials per point (default 32)")
    parser.add_argument("--test-subset", type=positive_int, default=None, help="first N test images")
    parser.add_argument("--p-flip", type=probability, default=None,
                        help="override p_flip for every model (default 0.10 CNNs, 0.05 ViT)")
    parser.add_argument("--strategies", nargs="+", default=None,
                        help="subset of uniform magnitude tac_nomc tac (default all)")
    parser.add_argument("--out", default="out", help="output directory for headline.md/.json and plots")
    add_seed(parser)
    add_json(parser)


def run(args) -> int:
    import json
    import sys
    from pathlib import Path

    import torch

    from qtaml_hw.errors import QtamlError
    from qtaml_hw.campaign.headline import HEADLINE_STRATEGIES, P_DEFAULT, markdown, run_model, validate

    models = args.models or (QUICK["models"] if args.quick else list(P_DEFAULT))
    trials = args.trials or (QUICK["trials"] if args.quick else 32)
    subset = args.test_subset or (QUICK["test_subset"] if args.quick else None)
    budgets = QUICK["budgets"] if args.quick else FULL_BUDGETS
    strategies = args.strategies or list(HEADLINE_STRATEGIES)
    for s in strategies:
        if s not in HEADLINE_STRATEGIES:
            raise QtamlError(f"unknown strategy {s!r}; choose from {', '.join(HEADLINE_STRATEGIES)}")
    validate(models=models, trials=trials, p_flip=args.p_flip)
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise QtamlError(f"--out {out_dir} exists and is not a directory")
    torch.set_num_threads(2)
    results = []
    for name in models:
        p = args.p_flip if args.p_flip is not None else P_DEFAULT[name]
        print(f"headline: {name} p_flip={p} trials={trials}", file=sys.stderr)
        results.append(run_model(name, p_flip=p, trials=trials, seed=args.seed, budgets_bpw=budgets,
                                 strategies=strategies, test_samples=subset))
    from qtaml_hw.commands._common import _to_jsonable
    from qtaml_hw.reports.headline_plots import write_figures

    out_dir.mkdir(parents=True, exist_ok=True)  # only once everything is computed
    table = markdown(results)
    (out_dir / "headline.md").write_text("# Headline: smallest SECDED overhead at 95% of clean accuracy "
                                         "(ideal MSB protection; real SECDED at the chosen plans)\n\n" + table)
    (out_dir / "headline.json").write_text(json.dumps(_to_jsonable({"results": results}), indent=2))
    files = write_figures(results, out_dir)
    if args.json:
        emit_json({"results": results, "files": [str(out_dir / "headline.md"), str(out_dir / "headline.json"),
                                                 *files]})
    else:
        print(table, end="")
        print(f"wrote {out_dir}/headline.md, headline.json, {len(files)} plots")
    return 0
