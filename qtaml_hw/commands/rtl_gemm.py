"""`qtaml-hw rtl-gemm`: a random GEMM tile on the RTL with leakage flips in weight SRAM."""

from __future__ import annotations

from qtaml_hw.commands._common import add_json, add_seed, emit_json, format_table, positive_float, positive_int, probability

NAME = "rtl-gemm"
HELP = "run a random int8 GEMM tile on the RTL accelerator with WKB leakage flips in weight SRAM"
ORDER = 60


def add_arguments(parser) -> None:
    parser.add_argument("--sim", default="verilator", help="simulator: verilator (default) or icarus")
    parser.add_argument("--n", type=positive_int, default=4, help="array size N (4, 8 or 16; default 4)")
    parser.add_argument("--k", type=positive_int, default=None, help="reduction length K, a multiple of N (default 2N)")
    parser.add_argument("--rows", type=positive_int, default=None, help="activation rows M (default N)")
    parser.add_argument("--p-flip", type=probability, default=None,
                        help="symmetric per-bit flip probability (default 0.002 unless physics options are given)")
    phys = parser.add_argument_group("physics (WKB) flip model, used when --t-ox-nm is given")
    phys.add_argument("--t-ox-nm", type=positive_float, default=None, help="oxide thickness [nm]")
    phys.add_argument("--phi-b-ev", type=positive_float, default=3.1, help="barrier height [eV] (default 3.1)")
    phys.add_argument("--m-ox", type=positive_float, default=0.42, help="oxide effective mass ratio (default 0.42)")
    phys.add_argument("--v-ox", type=float, default=0.0, help="oxide voltage [V] (default 0)")
    phys.add_argument("--tau0-s", type=positive_float, default=1e-13, help="attempt time [s] (default 1e-13)")
    phys.add_argument("--t-s", type=positive_float, default=3.15e7, help="retention interval [s] (default 1 year)")
    phys.add_argument("--r", type=positive_float, default=1.0, help="p01/p10 asymmetry ratio (default 1)")
    parser.add_argument("--ecc", action="store_true", help="SECDED-protect the top bits of each weight")
    parser.add_argument("--protect-bits", type=positive_int, default=8, help="protected MSBs per weight with --ecc (1, 2, 4, 8)")
    parser.add_argument("--waves", action="store_true", help="dump waveforms in the build directory")
    add_seed(parser)
    add_json(parser)


def _flip_model(args):
    from qtaml_hw.errors import QtamlError

    if args.t_ox_nm is not None and args.p_flip is not None:
        raise QtamlError("give either --p-flip or physics options (--t-ox-nm ...), not both")
    try:
        from qtaml_hw.memory import FlipModel
    except ImportError as exc:  # pragma: no cover - package incomplete
        raise QtamlError(f"memory model unavailable ({exc}); reinstall qtaml-hw") from None
    if args.t_ox_nm is not None:
        from qtaml_hw.physics import flip_probabilities

        fp = flip_probabilities(t_ox_nm=args.t_ox_nm, phi_b_ev=args.phi_b_ev, m_ox=args.m_ox, v_ox=args.v_ox,
                                tau0_s=args.tau0_s, t_s=args.t_s, r=args.r)
        return FlipModel(fp["p10"], fp["p01"])
    return FlipModel.symmetric(0.002 if args.p_flip is None else args.p_flip)


def run(args) -> int:
    from qtaml_hw.cosim.rtl_job import run_tile, top_config
    from qtaml_hw.cosim.simulators import check_simulator

    check_simulator(args.sim)
    k = args.k if args.k is not None else 2 * args.n
    rows = args.rows if args.rows is not None else args.n
    top_config(n=args.n, rows=rows, k=k, ecc=args.ecc, protect_bits=args.protect_bits)
    fm = _flip_model(args)
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
