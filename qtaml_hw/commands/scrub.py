"""`qtaml-hw scrub`: the scrub period that keeps a target fraction of clean accuracy (design.md sections 1, 7)."""

from __future__ import annotations

from pathlib import Path

from qtaml_hw.commands._common import add_json, add_seed, emit_json, nonneg_float, positive_float, positive_int

NAME = "scrub"
HELP = "how often must I scrub to keep a target fraction of clean accuracy? (bisection on seeded MC accuracy)"
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
    parser.add_argument("--trials", type=positive_int, default=20, help="MC trials per evaluated period (default 20)")
    parser.add_argument("--iters", type=positive_int, default=12, help="bisection steps (default 12)")
    parser.add_argument("--test-subset", type=positive_int, default=500, help="first N test images (default 500)")
    parser.add_argument("--models-dir", default=None, help="directory of named checkpoints")
    parser.add_argument("--out", default=None, help="directory for scrub.png / scrub.svg / scrub.json")
    add_seed(parser)
    add_json(parser)


def _parse_plan(text: str, bits: int) -> int:
    from qtaml_hw.errors import QtamlError

    if text == "none":
        return 0
    kind, _, m = text.partition(":")
    if kind != "uniform" or not m.isdigit() or not 0 <= int(m) <= bits:
        raise QtamlError(f"--ecc-plan must be 'none' or 'uniform:M' with M in 0..{bits}, got {text!r}")
    return int(m)


def run(args) -> int:
    import torch

    from qtaml_hw.campaign.scrub import find_scrub_period, tau_from_physics
    from qtaml_hw.memory import FlipModel
    from qtaml_hw.errors import QtamlError
    from qtaml_hw.nn import QuantizedModel, default_sampler, evaluate_faulty, load_dataset, load_model

    if not 0 < args.target <= 1:
        raise QtamlError(f"--target must be in (0, 1], got {args.target}")
    if args.r > 1:
        raise QtamlError(f"--r must be in [0, 1], got {args.r}")
    if (args.tau_s is None) == (args.t_ox_nm is None):
        raise QtamlError("give exactly one of --tau-s or --t-ox-nm (physics)")
    if not 2 <= args.bits <= 16:
        raise QtamlError(f"--bits must be in 2..16, got {args.bits}")
    protect = _parse_plan(args.ecc_plan, args.bits)
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise QtamlError(f"--out {out_dir} exists and is not a directory")
    tau = args.tau_s if args.tau_s is not None else tau_from_physics(
        t_ox_nm=args.t_ox_nm, phi_b_ev=args.phi_b_ev, m_ox=args.m_ox, v_ox=args.v_ox, tau0_s=args.tau0_s)
    torch.set_num_threads(2)
    model, entry = load_model(args.model, models_dir=args.models_dir)
    data = load_dataset(entry.get("dataset", "mnist"))
    x, y = data.x_test[:args.test_subset], data.y_test[:args.test_subset]
    qmodel = QuantizedModel(model, bits=args.bits)
    with torch.no_grad():
        clean = float((qmodel(x).argmax(-1) == y).float().mean())

    def accuracy_at_p(p10, p01):
        sampler = default_sampler(FlipModel(p10, p01), {layer.name: protect for layer in qmodel.layers})
        return evaluate_faulty(qmodel, x, y, trials=args.trials, seed=args.seed, weight_sampler=sampler,
                               batch_trials=args.trials).mean

    res = find_scrub_period(accuracy_at_p=accuracy_at_p, tau_s=tau, r=args.r, target=args.target,
                            clean_accuracy=clean, iters=args.iters)
    res.update({"model": args.model, "ecc_plan": args.ecc_plan, "protect_msb": protect, "trials": args.trials,
                "seed": args.seed, "n_test": int(len(x)), "target": args.target})
    if out_dir is not None:
        import json

        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from qtaml_hw.commands._common import _to_jsonable

        h = res["history"]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.semilogx([p["period_s"] for p in h], [p["accuracy"] for p in h], "o-",
                    label=f"MC mean ({args.trials} trials)")
        ax.axhline(res["goal_accuracy"], color="gray", ls="--", label=f"{args.target:g} x clean")
        ax.axvline(res["scrub_period_s"], color="C3", ls=":", label=f"scrub every {res['scrub_period_s']:.3g} s")
        ax.set_xlabel("scrub period (s)")
        ax.set_ylabel("accuracy")
        ax.set_title(f"{args.model}, plan {args.ecc_plan}, tau = {tau:.3g} s")
        ax.legend(fontsize=8)
        fig.tight_layout()
        out_dir.mkdir(parents=True, exist_ok=True)
        for ext in ("png", "svg"):
            fig.savefig(out_dir / f"scrub.{ext}", dpi=120)
        plt.close(fig)
        (out_dir / "scrub.json").write_text(json.dumps(_to_jsonable(res), indent=2) + "\n")
    if args.json:
        emit_json(res)
    else:
        word = "scrub at least every" if res["status"] == "ok" else "no scrubbing needed up to"
        print(f"{args.model}, plan {args.ecc_plan}, tau {tau:.4g} s, r {args.r:g}: clean accuracy {clean:.4f}, "
              f"goal {res['goal_accuracy']:.4f}")
        print(f"{word} {res['scrub_period_s']:.4g} s (p10 {res['p10']:.3g}, accuracy {res['accuracy']:.4f}, "
              f"{args.trials} trials, seed {args.seed})")
    return 0
