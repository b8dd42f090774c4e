"""`qtaml-hw train-compare`: standard vs noise-aware vs SRL vs Hessian training, each with no protection,
Uniform-MSP and TAC, through the campaign engine (design.md section 8; :mod:`qtaml_hw.campaign.training`)."""

from __future__ import annotations

from qtaml_hw.commands._common import add_json, add_seed, emit_json, nonneg_int, positive_int

NAME = "train-compare"
HELP = "compare training methods x protections (none, Uniform-MSP, TAC) at the headline fault points"
ORDER = 42


def add_arguments(parser) -> None:
    parser.add_argument("--models-dir", default="models", help="checkpoints from `train --method all` (default models/)")
    parser.add_argument("--out", default="out/train_compare", help="campaign configs + stores (resumable)")
    parser.add_argument("--trials", type=positive_int, default=16, help="Monte Carlo trials per task (default 16)")
    parser.add_argument("--test-subset", type=positive_int, default=500, help="test images (default 500)")
    parser.add_argument("--workers", type=nonneg_int, default=1, help="campaign worker processes (default 1)")
    parser.add_argument("--checkpoint", action="append", default=None,
                        help="only this comparison checkpoint (e.g. lenet5_hessian); repeatable")
    parser.add_argument("--markdown", default=None, help="also write the tables to this Markdown file")
    parser.add_argument("--trace-probes", type=nonneg_int, default=32,
                        help="Rademacher probes for the standard-vs-Hessian trace table (0: skip; default 32)")
    parser.add_argument("--trace-only", action="store_true",
                        help="only the standard-vs-Hessian trace table (no fault campaigns); --checkpoint "
                             "<arch>_hessian limits it to those architectures")
    add_seed(parser)
    add_json(parser)


def run(args) -> int:
    from qtaml_hw.campaign.training import CompareSettings, markdown, run_comparison, trace_comparison, trace_markdown
    from qtaml_hw.errors import QtamlError
    from qtaml_hw.fsio import write_text

    if args.trace_only and not args.trace_probes:
        raise QtamlError("--trace-only needs --trace-probes >= 1")
    table = []
    if not args.trace_only:
        settings = CompareSettings(trials=args.trials, test_subset=args.test_subset, seed=args.seed,
                                   workers=args.workers)
        table = run_comparison(args.out, models_dir=args.models_dir, settings=settings, progress=not args.json,
                               only=args.checkpoint)
    archs = ({c.split("_")[0] for c in args.checkpoint} if args.checkpoint else None)
    traces = (trace_comparison(args.models_dir, probes=args.trace_probes, seed=args.seed, archs=archs)
              if args.trace_probes else [])
    text = (markdown(table) if table else "") + ("\n" + trace_markdown(traces) if traces else "")
    if args.markdown:
        write_text(args.markdown, text)
    if args.json:
        emit_json({"out": args.out, "rows": table, "hessian_trace": traces})
    else:
        print(text, end="")
    return 0
