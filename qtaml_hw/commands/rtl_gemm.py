"""`qtaml-hw rtl-gemm`: a random GEMM tile on the RTL with leakage flips in weight SRAM."""

from __future__ import annotations

from qtaml_hw.commands._common import (add_flip_model_args, add_json, add_seed, emit_json, flip_model_from_args,
                                       format_table, positive_int)

NAME = "rtl-gemm"
HELP = "run a random int8 GEMM tile on the RTL accelerator with WKB leakage flips in weight SRAM"
ORDER = 60


def add_arguments(parser) -> None:
    parser.add_argument("--sim", default="verilator", help="simulator: verilator (default) or icarus")
    parser.add_argument("--n", type=positive_int, default=4, help="array size N (4, 8 or 16; default 4)")
    parser.add_argument("--k", type=positive_int, default=None, help="reduction length K, a multiple of N (default 2N)")
    parser.add_argument("--rows", type=positive_int, default=None, help="activation rows M (default N)")
    add_flip_model_args(parser, p_default=0.002)
    parser.add_argument("--ecc", action="store_true", help="SECDED-protect the top bits of each weight")
    parser.add_argument("--protect-bits", type=positive_int, default=8, help="protected MSBs per weight with --ecc (1, 2, 4, 8)")
    parser.add_argument("--waves", action="store_true", help="dump waveforms in the build directory")
    add_seed(parser)
    add_json(parser)


def run(args) -> int:
    from qtaml_hw.fidelity.rtl_job import run_tile, top_config
    from qtaml_hw.hdl.simulators import check_simulator

    check_simulator(args.sim)
    k = args.k if args.k is not None else 2 * args.n
    rows = args.rows if args.rows is not None else args.n
    top_config(n=args.n, rows=rows, k=k, ecc=args.ecc, protect_bits=args.protect_bits)
    fm = flip_model_from_args(args)
    res = run_tile(simulator=args.sim, n=args.n, k=k, rows=rows, seed=args.seed, flip_model=fm, ecc=args.ecc,
                   protect_bits=args.protect_bits, waves=args.waves)
    if args.json:
        emit_json(res)
    else:
        keys = ["simulator", "n", "k", "rows", "ecc", "protect_bits", "p10", "p01", "sram_words", "words_hit",
                "bits_flipped", "bit_exact", "outputs_mismatch_vs_golden", "outputs_differing_from_clean",
                "ecc_corrected", "codec_corrected", "ecc_uncorrectable", "codec_uncorrectable", "cycles"]
        print(format_table([{"quantity": kk, "value": res[kk]} for kk in keys]))
    return 0 if res["bit_exact"] and res["ecc_counts_match"] else 1
