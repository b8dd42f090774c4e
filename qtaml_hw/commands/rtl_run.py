"""`qtaml-hw rtl-run`: one layer of a trained model on the RTL, end to end through the replay layer."""

from __future__ import annotations

import sys

from qtaml_hw.commands._common import (add_flip_model_args, add_json, add_seed, emit_json, flip_model_from_args,
                                       format_table, nonneg_float, positive_int)

NAME = "rtl-run"
HELP = "run one layer of a trained model on the RTL with leakage flips in weight SRAM; compare with the replay layer"
DESCRIPTION = (HELP + ". The layer's int8 GEMM runs tile by tile on accel_top for the first K test images; "
               "the RTL's accumulators are checked bit-exactly against the PyTorch replay layer, and the whole "
               "network's accuracy is reported with that layer computed by the RTL, by the replay layer, and clean.")
ORDER = 61


def add_arguments(parser) -> None:
    parser.add_argument("--model", default="lenet5", help="checkpoint name (default lenet5)")
    parser.add_argument("--layer", default="conv2", help="Conv2d/Linear layer name (default conv2)")
    parser.add_argument("--sim", default="verilator", help="simulator: verilator (default) or icarus")
    parser.add_argument("--n", type=positive_int, default=8, help="array size N (4, 8 or 16; default 8)")
    parser.add_argument("--images", type=positive_int, default=10, help="test images K (default 10)")
    parser.add_argument("--trials", type=positive_int, default=1, help="leakage trials, one layer run each (default 1)")
    parser.add_argument("--source", default="rtl", choices=("rtl", "software"),
                        help="who draws the flips: rtl (on the SRAM image incl. check bits; default) or "
                             "software (the software model's flips on the weight codes, written into the SRAM)")
    add_flip_model_args(parser, p_default=0.01)
    parser.add_argument("--ecc", action="store_true", help="SECDED-protect the top bits of each weight in the RTL")
    parser.add_argument("--protect-bits", type=positive_int, default=None, help="protected MSBs with --ecc (1, 2, 4, 8; default 4)")
    parser.add_argument("--tac", action="store_true",
                        help="TAC plan: this layer's m_l (rounded up to 1/2/4/8) as the SECDED ProtectBits, mean "
                             "correction folded into the output dequantization")
    parser.add_argument("--budget-bpw", type=nonneg_float, default=1.0, help="TAC budget, protected bits per weight (default 1)")
    parser.add_argument("--max-rows", type=positive_int, default=32, help="rows per run, 2**RowBits (default 32)")
    parser.add_argument("--max-passes", type=positive_int, default=16, help="passes per run, 2**PassBits (default 16)")
    add_seed(parser)
    add_json(parser)


def _progress(msg: str) -> None:
    sys.stderr.write(f"rtl-run: {msg}\n")
    sys.stderr.flush()


def run(args) -> int:
    import numpy as np

    from qtaml_hw.rtlnn.layer_eval import PROTECT_CHOICES, leakage_trials, setup_layer, tac_plan, trials_agree
    from qtaml_hw.hdl.simulators import check_simulator
    from qtaml_hw.errors import QtamlError

    check_simulator(args.sim)
    if args.tac and (args.ecc or args.protect_bits is not None):
        raise QtamlError("--tac chooses the protected bits itself; drop --ecc/--protect-bits")
    if args.protect_bits is not None and not args.ecc:
        raise QtamlError("--protect-bits needs --ecc")
    protect = 4 if args.protect_bits is None else args.protect_bits
    if args.ecc and protect not in PROTECT_CHOICES:
        raise QtamlError(f"--protect-bits must be one of {PROTECT_CHOICES}, got {protect}")
    if args.source == "software" and (args.ecc or args.tac):
        raise QtamlError("--source software models the plain weight memory; use --source rtl with --ecc/--tac")
    fm = flip_model_from_args(args)
    setup = setup_layer(model=args.model, layer=args.layer, n=args.n, images=args.images,
                        max_rows=args.max_rows, max_passes=args.max_passes)
    _progress(f"loaded {args.model}, mapped {args.layer} onto a {args.n}x{args.n} array")
    ecc, correction, tac = args.ecc, None, None
    if args.tac:
        _progress(f"TAC plan at {args.budget_bpw} bits/weight (label-free sensitivity on training images)")
        tac = tac_plan(setup, flip_model=fm, budget_bpw=args.budget_bpw, seed=args.seed)
        ecc, protect, correction = True, tac["protect_bits"], (tac["a"], tac["c_unprot"])
        _progress(f"plan m_{args.layer} = {tac['m_plan']} -> ProtectBits {protect}; mean correction a = {tac['a']:.6g}")
    mp = setup.mapping
    runs = mp.n_ct * mp.n_kc * mp.n_rc(setup.rows)
    _progress(f"{args.sim}: {args.trials} trial(s) x {runs} runs (K {mp.k} -> {mp.n_kc} chunk(s) of {mp.ppc} passes, "
              f"{mp.n_ct} column tile(s), {mp.n_rc(setup.rows)} row chunk(s)); building/running the RTL")
    res = leakage_trials(setup, simulator=args.sim, flip_model=fm, seed=args.seed, trials=args.trials,
                         source=args.source, ecc=ecc, protect_bits=protect, correction=correction)
    per = res["trials"]
    ok = trials_agree(per)
    q_clean = float((setup.qmodel(setup.x).argmax(-1) == setup.y).float().mean())
    out = {
        "model": args.model, "layer": args.layer, "kind": mp.kind, "simulator": args.sim, "n": args.n,
        "images": args.images, "rows": setup.rows, "k": mp.k, "n_out": mp.n_out, "k_chunks": mp.n_kc,
        "passes_per_chunk": mp.ppc, "column_tiles": mp.n_ct, "row_chunks": mp.n_rc(setup.rows), "runs_per_trial": runs,
        "source": args.source, "seed": args.seed, "p10": float(np.mean(fm.p10)), "p01": float(np.mean(fm.p01)),
        "ecc": bool(ecc), "protect_bits": protect if ecc else 0, "tac": tac, "activation_scale": setup.s_a,
        "clean_quantized_accuracy": q_clean, "clean_replay_accuracy": res["clean_replay_accuracy"],
        "accuracy_rtl_mean": float(np.mean([t["accuracy_rtl"] for t in per])),
        "accuracy_replay_mean": float(np.mean([t["accuracy_replay"] for t in per])),
        "all_bit_exact": bool(all(t["bit_exact"] for t in per)),
        "all_ecc_counts_match": bool(all(t["ecc_counts_match"] for t in per)),
        "agree": bool(ok), "trials": per, "rtl": res["rtl"],
    }
    if args.json:
        emit_json(out)
    else:
        _print_text(out)
    return 0 if ok else 1


def _print_text(out: dict) -> None:
    """The text output of ``rtl-run``: the layer and run sizes, flips and ECC, clean accuracies, the trials table."""
    tac, rtl = out["tac"], out["rtl"]
    print(f"{out['model']}.{out['layer']} ({out['kind']}, K={out['k']}, N_out={out['n_out']}) on {out['simulator']} "
          f"{out['n']}x{out['n']}, {out['images']} images: {out['runs_per_trial']} runs/trial, {rtl['cycles']} cycles "
          f"in all, {rtl['wall_s']:.1f} s wall")
    print(f"flips p10={out['p10']:.4g} p01={out['p01']:.4g} from {out['source']}; "
          f"ECC {'SECDED over top ' + str(out['protect_bits']) + ' bits' if out['ecc'] else 'off'}"
          + (f"; TAC m_plan={tac['m_plan']}, mean correction a={tac['a']:.6g}" if tac else ""))
    print(f"accuracy: clean quantized {out['clean_quantized_accuracy']:.4f}, "
          f"clean replay (int8 acts) {out['clean_replay_accuracy']:.4f}")
    cols = ["trial", "bits_flipped", "weights_changed", "outputs_differing_from_clean", "bit_exact",
            "ecc_corrected", "codec_corrected", "ecc_uncorrectable", "codec_uncorrectable", "accuracy_rtl",
            "accuracy_replay"]
    print(format_table(out["trials"], cols))
    print("RTL == replay layer: " + ("yes, every trial" if out["agree"] else "NO"))
