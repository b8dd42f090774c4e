"""`qtaml-hw train`: rebuild model checkpoints from a seed (design.md section 4)."""

from __future__ import annotations

import sys

from qtaml_hw.commands._common import add_json, add_seed, emit_json, format_table, positive_int

NAME = "train"
HELP = "train the reference models on bundled MNIST/digits and write safetensors checkpoints + manifest"
ORDER = 40


def add_arguments(parser) -> None:
    parser.add_argument("--model", action="append", default=None,
                        help="architecture to train (lenet5, vgg, resnet, mobilenet, vit); repeatable")
    parser.add_argument("--all", action="store_true", help="train every architecture")
    parser.add_argument("--dataset", default="mnist", help="mnist (default) or digits")
    parser.add_argument("--out", default="models", help="checkpoint directory (default models/)")
    parser.add_argument("--epochs", type=positive_int, default=None, help="override the recipe's epochs")
    parser.add_argument("--train-subset", type=positive_int, default=None,
                        help="use only the first N training images (smoke runs)")
    parser.add_argument("--threads", type=positive_int, default=2, help="torch CPU threads (default 2)")
    add_seed(parser)
    add_json(parser)


def run(args) -> int:
    import dataclasses

    import torch

    from qtaml_hw.errors import QtamlError
    from qtaml_hw.nn.checkpoint import save_checkpoint
    from qtaml_hw.nn.data import SPLIT_DOC, load_dataset
    from qtaml_hw.nn.models import MODEL_NAMES, build_model
    from qtaml_hw.nn.quantized import QuantizedModel
    from qtaml_hw.nn.train import RECIPES, accuracy, train_model

    names = list(MODEL_NAMES) if args.all else (args.model or [])
    if not names:
        raise QtamlError("give --all or at least one --model NAME")
    bad = [n for n in names if n not in MODEL_NAMES]
    if bad:
        raise QtamlError(f"unknown model {bad[0]!r}; choose one of {', '.join(MODEL_NAMES)}")
    data = load_dataset(args.dataset)
    torch.set_num_threads(args.threads)
    side = data.x_train.shape[-1]
    x, y = data.x_train, data.y_train
    if args.train_subset:
        x, y = x[:args.train_subset], y[:args.train_subset]
    rows = []
    for name in names:
        cfg = RECIPES[name]
        if args.epochs:
            cfg = dataclasses.replace(cfg, epochs=args.epochs)
        config = {"in_channels": 1, "image_size": int(side), "num_classes": 10, **cfg.config}
        model = build_model(name, **config)
        print(f"training {name} on {args.dataset} ({cfg.epochs} epochs)", file=sys.stderr, flush=True)
        history = train_model(model, x, y, cfg=cfg, seed=args.seed,
                              progress=lambda r: print(f"  epoch {r['epoch']} loss {r['loss']:.4f}",
                                                       file=sys.stderr, flush=True))
        float_acc = accuracy(model, data.x_test, data.y_test)
        int8_acc = accuracy(QuantizedModel(model, bits=8), data.x_test, data.y_test)
        train_cfg = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "config"}
        entry = {"arch": name, "config": config, "dataset": args.dataset, "split": SPLIT_DOC[args.dataset],
                 "n_train": int(len(x)), "n_test": int(len(data.x_test)), "seed": args.seed,
                 "train": {**train_cfg, "optimizer": "AdamW+OneCycle", "augment": "random shift",
                           "seconds": round(sum(h["seconds"] for h in history), 1),
                           "final_loss": round(history[-1]["loss"], 5), "torch": torch.__version__},
                 "n_params": int(sum(p.numel() for p in model.parameters())),
                 "float_accuracy": float_acc, "int8_accuracy": int8_acc}
        entry = save_checkpoint(model, directory=args.out, name=name, entry=entry)
        rows.append({"model": name, "params": entry["n_params"], "bytes": entry["bytes"],
                     "float_acc": float_acc, "int8_acc": int8_acc, "train_s": entry["train"]["seconds"]})
    if args.json:
        emit_json({"out": str(args.out), "models": rows})
    else:
        print(format_table(rows))
    return 0
