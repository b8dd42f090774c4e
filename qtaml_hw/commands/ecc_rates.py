"""`qtaml-hw ecc-rates`: exact per-codeword outcome rates of a code at flip probability p (design.md section 3).

Rates from the code's weight distribution (bounded-distance decoders) or closed form
(repetition), :mod:`qtaml_hw.ecc.rates`; ``--mc N`` adds a Monte Carlo check through the real
codec; the capacity floor ``H(p) / (1 - H(p))`` check bits per data bit is printed beside it.
"""

from __future__ import annotations

from qtaml_hw.commands._common import add_json, add_seed, emit_json, format_table, nonneg_int, positive_int, probability

NAME = "ecc-rates"
HELP = "exact clean/corrected/detected/miscorrected rates of sec/secded/bch/rep at p, with the capacity floor"
ORDER = 63


def add_arguments(parser) -> None:
    parser.add_argument("--code", choices=("sec", "secded", "bch", "rep"), required=True, help="code family")
    parser.add_argument("--k", type=positive_int, required=True, help="data bits per codeword (1..64)")
    parser.add_argument("--t", type=positive_int, default=2, help="BCH: errors corrected (default 2)")
    parser.add_argument("--copies", type=positive_int, default=3, help="rep: copies of each bit (default 3 = TMR)")
    parser.add_argument("--p", type=probability, required=True, action="append",
                        help="per-bit flip probability (repeat for a table)")
    parser.add_argument("--mc", type=nonneg_int, default=0, help="also sample N codewords through the codec (default 0)")
    add_seed(parser)
    add_json(parser)


def run(args) -> int:
    from qtaml_hw.ecc.bch import build_code
    from qtaml_hw.ecc.rates import RATE_KEYS, code_rates, sample_outcomes
    from qtaml_hw.errors import QtamlError

    if args.t != 2 and args.code != "bch":
        raise QtamlError("--t applies to --code bch only")
    if args.copies != 3 and args.code != "rep":
        raise QtamlError("--copies applies to --code rep only")
    rows = []
    for p in args.p:
        row = code_rates(args.code, args.k, p, t=args.t, copies=args.copies)
        if args.mc:
            code = build_code(args.code, args.k, t=args.t, copies=args.copies)
            mc = sample_outcomes(code, p, words=args.mc, seed=args.seed)
            row["mc"] = {k: mc[k] for k in (*RATE_KEYS, "undetected", "words")}
        rows.append(row)
    if args.json:
        emit_json(rows[0] if len(rows) == 1 else {"rows": rows})
        return 0
    r0 = rows[0]
    print(f"{r0['name']}: n = {r0['n']}, k = {r0['k']}, r = {r0['r']} "
          f"({r0['check_bits_per_data_bit']:.3f} check bits per data bit)")
    cols = ["p", *RATE_KEYS, "undetected", "capacity_floor"]
    table = [{c: r[c] for c in cols} for r in rows]
    if args.mc:
        table += [{"p": f"MC {r['p']:g}", **{c: r["mc"][c] for c in (*RATE_KEYS, "undetected")},
                   "capacity_floor": ""} for r in rows]
    print(format_table(table, floatfmt=".5g"))
    return 0
