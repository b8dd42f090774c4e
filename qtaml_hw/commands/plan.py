"""`qtaml-hw plan`: per-layer protected-MSB plan and predicted rho* (design.md section 3)."""

from __future__ import annotations

from qtaml_hw.commands._common import (add_json, add_seed, emit_json, format_table, nonneg_float, positive_int,
                                       probability)

NAME = "plan"
HELP = "label-free TAC/baseline plan of protected MSBs per layer under a bit budget, with predicted rho*"
ORDER = 45


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="lenet5, vgg, resnet, mobilenet, vit or a checkpoint path")
    parser.add_argument("--p-flip", type=probability, required=True, help="per-bit flip probability p10")
    parser.add_argument("--r", type=nonneg_float, default=1.0, help="p01 = r * p10 (default 1)")
    parser.add_argument("--budget-bits-per-weight", type=nonneg_float, required=True,
                        help="protected bits per weight on average (budget = value x total weights)")
    parser.add_argument("--strategy", default="tac", help="tac (default), uniform, magnitude or gaussian")
    parser.add_argument("--bits", type=positive_int, default=8, help="weight bits B, 4..16 (default 8)")
    parser.add_argument("--code", default="twos", help="twos (default), offset or signmag")
    parser.add_argument("--calib-samples", type=positive_int, default=256, help="unlabeled calibration images")
    parser.add_argument("--probes", type=positive_int, default=4, help="Hutchinson projections per batch")
    add_seed(parser)
    add_json(parser)


def run(args) -> int:
    import numpy as np

    from qtaml_hw.errors import QtamlError
    from qtaml_hw.nn import QuantizedModel, load_dataset, load_model
    from qtaml_hw.memory import FlipModel, check_bits_code
    from qtaml_hw.tac.baselines import STRATEGIES
    from qtaml_hw.tac.analysis import analyse, overhead
    from qtaml_hw.tac.rho import rho_table

    if args.strategy not in STRATEGIES:
        raise QtamlError(f"unknown strategy {args.strategy!r}; choose one of {', '.join(STRATEGIES)}")
    check_bits_code(args.bits, args.code, name="--bits", code_name="--code")
    if args.budget_bits_per_weight > args.bits:  # the bound campaign configs apply to plans.budget_bpw
        raise QtamlError(f"--budget-bits-per-weight {args.budget_bits_per_weight:g} is more than the "
                         f"{args.bits} bits of a weight")
    if args.r * args.p_flip > 1.0:
        raise QtamlError(f"p01 = r * p_flip = {args.r * args.p_flip} is outside [0, 1]")
    fm = FlipModel(args.p_flip, args.r * args.p_flip)
    model, entry = load_model(args.model)
    data = load_dataset(entry.get("dataset", "mnist"))
    q = QuantizedModel(model, bits=args.bits, code=args.code)
    an = analyse(q, data.x_train[:args.calib_samples], flip_model=fm, probes=args.probes, seed=args.seed)
    budget = args.budget_bits_per_weight * float(an.n.sum())
    m = an.plan(args.strategy, budget)
    per_layer = an.scores * an.curves[np.arange(len(m)), m]
    rows = [{"layer": nm, "n": int(nl), "m": int(ml), "S": float(s), "scale": float(np.sqrt(s2)),
             "pred_var": float(v)} for nm, nl, ml, s, s2, v in zip(an.names, an.n, m, an.sens, an.scale2, per_layer)]
    rho = rho_table(a=an.scores, n=an.n, curves=an.curves)
    out = {"model": args.model, "strategy": args.strategy, "p10": fm.p10, "p01": fm.p01,
           "budget_bits": budget, "used_bits": int(np.sum(an.n * m)), "secded_overhead": overhead(m, an.n, an.bits),
           "predicted_output_variance": float(per_layer.sum()), "layers": rows, "rho_star": rho}
    if args.json:
        emit_json(out)
        return 0
    print(f"{args.model}: strategy {args.strategy}, p10={fm.p10:g}, p01={fm.p01:g}, budget {budget:.0f} bits "
          f"({args.budget_bits_per_weight:g}/weight), used {out['used_bits']}, "
          f"SECDED overhead {100 * out['secded_overhead']:.2f}%")
    print(format_table(rows, floatfmt=".4g"))
    print(f"predicted output-error variance sum_l S_l n_l s_l^2 R_l(m_l) = {out['predicted_output_variance']:.4g}")
    print("rho* (Uniform-MSP budget / TAC budget at the same predicted variance, before any Monte Carlo):")
    print(format_table([{"m_uniform": r["m_uniform"], "budget_uniform": r["budget_uniform"],
                         "budget_tac": r["budget_tac"], "rho*": r["rho"]} for r in rho], floatfmt=".3f"))
    return 0
