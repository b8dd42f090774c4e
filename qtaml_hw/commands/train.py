"""`qtaml-hw train`: rebuild model checkpoints from a seed (design.md sections 4, 8).

``--method standard`` (default) trains the reference checkpoints ``<arch>`` from scratch.
``--method noise-aware|srl|hessian`` (and ``standard`` with ``--finetune``) fine-tune the
reference for the method's epochs into ``<arch>_<method>`` (``--from-scratch``: train from
scratch instead, ``<arch>_<method>_scratch``); ``--method all`` builds every checkpoint of the
training comparison (docs/training.md).  A missing reference is trained first.
"""

from __future__ import annotations

import sys

from qtaml_hw.commands._common import (add_json, add_seed, emit_json, finite_float, format_table, nonneg_int,
                                       positive_float, positive_int, probability)

NAME = "train"
HELP = "train the reference models (or robust variants: noise-aware, SRL, Hessian) and write checkpoints + manifest"
ORDER = 40
COMPARISON_ARCHS = ("lenet5", "resnet", "vit")


def add_arguments(parser) -> None:
    parser.add_argument("--model", action="append", default=None,
                        help="architecture to train (lenet5, vgg, resnet, mobilenet, vit); repeatable")
    parser.add_argument("--all", action="store_true", help="train every architecture")
    parser.add_argument("--dataset", default="mnist", help="mnist (default) or digits")
    parser.add_argument("--out", default="models", help="checkpoint directory (default models/)")
    parser.add_argument("--reference-dir", default=None,
                        help="fine-tuning: read the reference <arch> from here (default: --out)")
    parser.add_argument("--epochs", type=positive_int, default=None, help="override the recipe's epochs")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help="override the recipe's peak learning rate (fine-tuning: after its 0.3x factor)")
    parser.add_argument("--optimizer", default="adamw", help="adamw (every recipe; default) or sgd (momentum 0.9)")
    parser.add_argument("--train-subset", type=positive_int, default=None,
                        help="use only the first N training images (smoke runs)")
    parser.add_argument("--threads", type=positive_int, default=2, help="torch CPU threads (default 2)")
    g = parser.add_argument_group("training method (design.md section 8)")
    g.add_argument("--method", default="standard",
                   help="standard (default), noise-aware, srl, hessian, or all (every comparison checkpoint)")
    g.add_argument("--finetune", action="store_true", help="standard: fine-tune the reference (comparison baseline)")
    g.add_argument("--from-scratch", action="store_true", help="robust methods: train from scratch, not fine-tune")
    g.add_argument("--p10", type=probability, default=None,
                   help="noise-aware: training p10 (default: the headline's 0.10 CNNs, 0.05 ViT)")
    g.add_argument("--r", type=probability, default=1.0, help="noise-aware: p01 = r p10 (default 1)")
    g.add_argument("--plan", default="tac", help="noise-aware protected bits: none, uniform, tac (default)")
    g.add_argument("--budget-bpw", type=finite_float, default=1.5, help="noise-aware TAC plan budget (default 1.5)")
    g.add_argument("--protect-msb", type=nonneg_int, default=0, help="noise-aware uniform plan: top bits protected")
    g.add_argument("--lambda-rob", type=finite_float, default=1.0, help="robustness-loss weight (default 1)")
    g.add_argument("--noise-start", type=nonneg_int, default=None, help="noise-aware: plain epochs first")
    g.add_argument("--nreg", type=nonneg_int, default=None,
                   help="hessian: epochs before the regulariser switches on (default 0 fine-tuning, epochs/2 scratch)")
    g.add_argument("--hutchinson", type=positive_int, default=1, help="hessian: Rademacher vectors per estimate")
    g.add_argument("--trace-mode", default="train",
                   help="hessian: train (default, as written) or deployed (eval-mode trace for BatchNorm nets)")
    g.add_argument("--alpha-from", default="sample",
                   help="hessian: alpha's |trace| from this step's estimate (sample, as written) or the running mean")
    g.add_argument("--reg-scale", type=finite_float, default=0.1, help="hessian: alpha = scale |loss|/|trace| (0.1)")
    g.add_argument("--srl-sigma", type=finite_float, default=0.1, help="SRL noise level theta (default 0.1)")
    add_seed(parser)
    add_json(parser)


def _specs(args):
    from qtaml_hw.nn.methods import METHODS, MethodSpec

    common = dict(p10=args.p10, r=args.r, plan=args.plan, budget_bpw=args.budget_bpw, protect_msb=args.protect_msb,
                  lambda_rob=args.lambda_rob, noise_start=args.noise_start, n_reg=args.nreg,
                  hutchinson=args.hutchinson, reg_scale=args.reg_scale,
                  trace_mode=args.trace_mode, alpha_from=args.alpha_from, srl_sigma=args.srl_sigma)
    if args.method == "all":
        return [MethodSpec(method=m, pretrained=True, **common) for m in METHODS]
    spec = MethodSpec(method=args.method, pretrained=(args.finetune if args.method == "standard"
                                                      else not args.from_scratch), **common)
    return [spec]


def _jobs(args, names, specs):
    """(arch, spec) pairs to train, references first; SRL only on residual architectures."""
    from qtaml_hw.errors import QtamlError
    from qtaml_hw.nn.methods import SRL_ARCH, MethodSpec

    jobs = []
    for name in names:
        if args.method == "all":
            jobs.append((name, MethodSpec(method="standard", pretrained=False)))
            if name not in COMPARISON_ARCHS:
                continue
        for spec in specs:
            if spec.method == "srl" and name not in SRL_ARCH:
                if args.method == "all":
                    continue
                raise QtamlError(f"--method srl needs a residual architecture ({', '.join(SRL_ARCH)}); "
                                 f"{name!r} has none")
            jobs.append((name, spec))
    return jobs


def _reference(args, name, trained):
    """The reference model of ``name``: trained in this run, or loaded from ``--reference-dir`` (default ``--out``)."""
    from qtaml_hw.errors import QtamlError
    from qtaml_hw.nn.checkpoint import load_model

    if name in trained:
        return trained[name]
    try:
        return load_model(name, models_dir=args.reference_dir or args.out)[0]
    except QtamlError:
        return None


def _entry(args, name, arch_cfg, cfg, spec, model, record, data, n_train):
    import dataclasses

    import torch

    from qtaml_hw.nn.data import SPLIT_DOC
    from qtaml_hw.nn.quantized import QuantizedModel
    from qtaml_hw.nn.train import accuracy

    float_acc = accuracy(model, data.x_test, data.y_test)
    int8_acc = accuracy(QuantizedModel(model, bits=8), data.x_test, data.y_test)
    train_cfg = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "config"}
    entry = {"arch": spec.arch_for(name), "config": arch_cfg, "dataset": args.dataset,
             "split": SPLIT_DOC[args.dataset], "n_train": int(n_train), "n_test": int(len(data.x_test)),
             "seed": args.seed,
             "train": {**train_cfg, "optimizer": cfg.optimizer_label, "augment": "random shift",
                       "seconds": record["seconds"], "final_loss": record["final_loss"], "torch": torch.__version__,
                       "threads": args.threads},
             "n_params": int(sum(p.numel() for p in model.parameters())),
             "float_accuracy": float_acc, "int8_accuracy": int8_acc}
    if record.get("method_record"):
        entry["method"] = record["method_record"]
    return entry


def _recipe(args, name, spec):
    """The training config of (arch, method): the recipe, or its fine-tuning variant; validated."""
    import dataclasses

    from qtaml_hw.nn.methods import FINETUNE_EPOCHS, FINETUNE_LR_FACTOR
    from qtaml_hw.nn.train import RECIPES

    cfg = RECIPES[name]
    if spec.pretrained:
        cfg = dataclasses.replace(cfg, epochs=FINETUNE_EPOCHS[name], lr=cfg.lr * FINETUNE_LR_FACTOR)
    if args.epochs:
        cfg = dataclasses.replace(cfg, epochs=args.epochs)
    cfg = dataclasses.replace(cfg, lr=cfg.lr if args.lr is None else args.lr, optimizer=args.optimizer)
    spec.check_epochs(cfg.epochs)
    return cfg


def _train_one(args, name, spec, data, x, y, trained):
    from qtaml_hw.errors import QtamlError
    from qtaml_hw.nn.methods import train_with_method

    cfg = _recipe(args, name, spec)
    arch_cfg = {"in_channels": 1, "image_size": int(data.x_train.shape[-1]), "num_classes": 10, **cfg.config}
    if spec.method == "srl":
        arch_cfg["srl_sigma"] = spec.srl_sigma
    reference = _reference(args, name, trained) if spec.pretrained else None
    if spec.pretrained and reference is None:
        raise QtamlError(f"no reference checkpoint {name!r} in {args.reference_dir or args.out}; "
                         f"run `qtaml-hw train --model {name}` first")
    label = spec.checkpoint_name(name)
    print(f"training {label} on {args.dataset} ({cfg.epochs} epochs, {spec.method})", file=sys.stderr, flush=True)
    model, rec = train_with_method(spec, arch=name, config=arch_cfg, cfg=cfg, x=x, y=y, seed=args.seed,
                                   reference=reference, progress=lambda r: print(f"  epoch {r['epoch']} loss {r['loss']:.4f}",
                                                            file=sys.stderr, flush=True))
    record = {"seconds": rec["seconds"], "final_loss": rec["final_loss"],
              "method_record": None if (spec.method == "standard" and not spec.pretrained) else rec}
    return label, arch_cfg, cfg, model, record


def run(args) -> int:
    import torch

    from qtaml_hw.errors import QtamlError
    from qtaml_hw.nn.checkpoint import check_checkpoint_dir, save_checkpoint
    from qtaml_hw.nn.data import load_dataset
    from qtaml_hw.nn.models import MODEL_NAMES

    names = list(MODEL_NAMES) if args.all else (args.model or [])
    if not names:
        raise QtamlError("give --all or at least one --model NAME")
    bad = [n for n in names if n not in MODEL_NAMES]
    if bad:
        raise QtamlError(f"unknown model {bad[0]!r}; choose one of {', '.join(MODEL_NAMES)}")
    if args.method == "all" and args.all:
        names = list(MODEL_NAMES)
    jobs = _jobs(args, names, _specs(args))
    for name, spec in jobs:  # every bad hyper-parameter fails before anything trains
        _recipe(args, name, spec)
    check_checkpoint_dir(args.out)  # a corrupt manifest or a file in the way, too
    data = load_dataset(args.dataset)
    torch.set_num_threads(args.threads)
    x, y = data.x_train, data.y_train
    if args.train_subset:
        x, y = x[:args.train_subset], y[:args.train_subset]
    rows, trained = [], {}
    for name, spec in jobs:
        label, arch_cfg, cfg, model, record = _train_one(args, name, spec, data, x, y, trained)
        if spec.method == "standard" and not spec.pretrained:
            trained[name] = model
        entry = _entry(args, name, arch_cfg, cfg, spec, model, record, data, len(x))
        entry = save_checkpoint(model, directory=args.out, name=label, entry=entry)
        rows.append({"model": label, "method": spec.method, "epochs": cfg.epochs, "params": entry["n_params"],
                     "float_acc": entry["float_accuracy"], "int8_acc": entry["int8_accuracy"],
                     "train_s": entry["train"]["seconds"],
                     "trace_after": (entry.get("method") or {}).get("hessian_trace", {}).get("after", {}).get("trace")})
    if args.json:
        emit_json({"out": str(args.out), "models": rows})
    else:
        print(format_table(rows))
    return 0
