"""`qtaml-hw eval`: clean float, clean quantized and faulty accuracy of a checkpoint (design.md section 4)."""

from __future__ import annotations

import sys

from qtaml_hw.commands._common import (add_json, add_seed, emit_json, nonneg_float, nonneg_int, positive_int,
                                       probability)
from qtaml_hw.commands._limits import add_limit_args

NAME = "eval"
HELP = "evaluate a model under leakage bit flips: float, clean int-B and faulty accuracy with a 95 percent CI"
ORDER = 41


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True,
                        help="lenet5, vgg, resnet, mobilenet, vit, or a path to a .safetensors checkpoint "
                             "with manifest.json next to it")
    parser.add_argument("--p-flip", type=probability, required=True, help="per-bit flip probability p10")
    parser.add_argument("--r", type=nonneg_float, default=1.0, help="p01 = r * p10 (default 1: symmetric)")
    parser.add_argument("--trials", type=positive_int, default=100, help="fault trials (default 100)")
    parser.add_argument("--trial-offset", type=nonneg_int, default=0, help="index of the first trial (default 0)")
    parser.add_argument("--bits", type=positive_int, default=8, help="weight bits B (default 8)")
    parser.add_argument("--code", default="twos", help="twos (default), offset or signmag")
    parser.add_argument("--per-channel", action="store_true", help="per-output-channel scales")
    parser.add_argument("--protect-msb", type=nonneg_int, default=0,
                        help="top bits of every weight kept fault-free (ideal protection; default 0)")
    parser.add_argument("--batch-trials", type=positive_int, default=64, help="trials per batched pass (default 64)")
    parser.add_argument("--engine", choices=("auto", "vmap", "loop"), default="auto",
                        help="forward engine: one vmap pass per batch of trials, or one pass per trial "
                             "(auto: loop on CPU)")
    parser.add_argument("--test-subset", type=positive_int, default=None, help="use the first N test images")
    parser.add_argument("--models-dir", default=None, help="directory of the named checkpoints (default models/)")
    add_limit_args(parser, disk=False, tasks=False)
    add_seed(parser)
    add_json(parser)


def run(args) -> int:
    import torch

    from qtaml_hw.campaign.preflight import preflight_eval
    from qtaml_hw.errors import QtamlError
    from qtaml_hw.memory import FlipModel, check_bits_code
    from qtaml_hw.nn.checkpoint import load_model
    from qtaml_hw.nn.data import load_dataset
    from qtaml_hw.nn.evaluate import default_sampler, evaluate_faulty
    from qtaml_hw.nn.quantized import QuantizedModel
    from qtaml_hw.nn.train import accuracy

    check_bits_code(args.bits, name="--bits")
    if args.protect_msb > args.bits:
        raise QtamlError(f"--protect-msb {args.protect_msb} exceeds --bits {args.bits}")
    flip_model = FlipModel(args.p_flip, args.r * args.p_flip)
    limit = {"trials": args.trials, "batch_trials": args.batch_trials, "memory_gb": args.max_memory_gb}
    preflight_eval(n_weights=0, n_test=0, input_numel=0, **limit)  # absurd trial counts: before loading anything
    model, entry = load_model(args.model, models_dir=args.models_dir)
    n_weights = sum(p.numel() for p in model.parameters())
    preflight_eval(n_weights=n_weights, n_test=0, input_numel=0, **limit)  # a huge batch: before the data
    data = load_dataset(entry.get("dataset", "mnist"))
    x, y = data.x_test, data.y_test
    if args.test_subset:
        x, y = x[:args.test_subset], y[:args.test_subset]
    preflight_eval(n_weights=n_weights, n_test=len(x),  # before any trial
                   input_numel=int(x[0].numel()), **limit)
    torch.set_num_threads(2)
    qmodel = QuantizedModel(model, bits=args.bits, per_channel=args.per_channel, code=args.code)
    sampler = default_sampler(flip_model, {layer.name: args.protect_msb for layer in qmodel.layers})
    tty = sys.stderr.isatty()

    def progress(done, total):
        if total > args.batch_trials:
            lead = "\r" if tty else ""
            print(f"{lead}trials {done}/{total}", end="" if tty else "\n", file=sys.stderr, flush=True)

    res = evaluate_faulty(qmodel, x, y, trials=args.trials, seed=args.seed, weight_sampler=sampler,
                          batch_trials=args.batch_trials, trial_offset=args.trial_offset, engine=args.engine,
                          progress=progress)
    if tty and args.trials > args.batch_trials:
        print(file=sys.stderr)
    float_acc = accuracy(model, x, y)
    out = {"model": args.model, "arch": entry.get("arch"), "dataset": entry.get("dataset"), "n_test": int(len(x)),
           "bits": args.bits, "code": args.code, "per_channel": args.per_channel, "p10": args.p_flip,
           "p01": args.r * args.p_flip, "protect_msb": args.protect_msb, "seed": args.seed,
           "float_accuracy": float_acc, **res.as_dict()}
    if args.json:
        emit_json(out)
    else:
        lo, hi = res.ci95
        print(f"model {args.model} ({entry.get('arch')}, {len(x)} {entry.get('dataset')} test images), "
              f"B={args.bits} {args.code}, p10={args.p_flip:g} p01={args.r * args.p_flip:g}, "
              f"protect_msb={args.protect_msb}")
        print(f"clean float accuracy      {float_acc:.4f}")
        print(f"clean quantized accuracy  {res.clean_accuracy:.4f}")
        print(f"faulty accuracy           {res.mean:.4f}  95% CI [{lo:.4f}, {hi:.4f}]  ({res.trials} trials)")
        print(f"faulty loss (mean)        {float(res.loss.mean()):.4f}")
    return 0
