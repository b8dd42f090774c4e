"""Verilog for the BCH and TMR codecs, generated from the Python codecs' own tables (design.md sections 3, 5).

One source of truth, as for SEC/SECDED (:mod:`qtaml_hw.ecc.verilog`): the BCH encoder's XOR
trees are the rows of the same :class:`~qtaml_hw.ecc.matrix.ParityCheck` the NumPy codec
encodes with, and the decoder's ``case`` table is the codec's own bounded-distance syndrome
table (:func:`qtaml_hw.ecc.bch._syndrome_table`): syndrome -> data bits to flip.  The TMR
modules are the per-bit majority of :class:`~qtaml_hw.ecc.bch.Repetition` (copies = 3); ``rep<C>``
modules the same for any number of copies (a tie of an even count is uncorrectable).

Module interface (all codes): ``<name>_enc(data_i -> check_o)``; ``<name>_dec(data_i, check_i
-> data_o, syndrome_o, corrected_o, uncorrectable_o)`` with the codec's status semantics
(corrected_o: nonzero syndrome in the table / any disagreement; uncorrectable_o: nonzero and
not in the table; data passed through when uncorrectable).  TMR has no uncorrectable case
(``uncorrectable_o`` tied low) and its "syndrome" is the per-bit disagreement mask.

Small codes only: the case table has ``sum_{w <= t} C(n, w)`` entries (``MAX_CASE_ENTRIES``).
"""

from __future__ import annotations

from math import comb

from qtaml_hw.ecc.bch import BCH, Repetition, _syndrome_table, bch_parity_check
from qtaml_hw.errors import QtamlError

MAX_CASE_ENTRIES = 5000
_GEN = "// GENERATED FILE, do not edit: produced by qtaml_hw.ecc.verilog_codes from the Python codec's tables."


def bch_name(k: int, t: int) -> str:
    return f"bch_k{k}_t{t}"


def tmr_name(k: int) -> str:
    return f"tmr_k{k}"


def bch_encoder(k: int, t: int) -> str:
    """``bch_k<k>_t<t>_enc``: ``check_o[i]`` = XOR of the data bits of row i of A."""
    h = bch_parity_check(k, t)
    lines = [_GEN, f"// {BCH(k, t)!r}: encoder, check = x^r d(x) mod g(x).", f"module {bch_name(k, t)}_enc (",
             f"  input  [{k - 1}:0] data_i,", f"  output [{h.r - 1}:0] check_o", ");"]
    for i in range(h.r):
        members = h.row_members(i)
        terms = " ^ ".join(f"data_i[{j}]" for j in members) if members else "1'b0"
        lines.append(f"  assign check_o[{i}] = {terms};")
    return "\n".join(lines + ["endmodule", ""])


def bch_decoder(k: int, t: int) -> str:
    """``bch_k<k>_t<t>_dec``: syndrome, then the codec's syndrome -> flip table as a ``case``."""
    h = bch_parity_check(k, t)
    entries = sum(comb(h.n, w) for w in range(1, t + 1))
    if entries > MAX_CASE_ENTRIES:
        raise QtamlError(f"BCH(k={k}, t={t}) needs a {entries}-entry decoder table (limit {MAX_CASE_ENTRIES}); "
                         "generate Verilog only for small codes")
    syn, flip = _syndrome_table(h, t)
    name, r = bch_name(k, t), h.r
    lines = [_GEN, f"// {BCH(k, t)!r}: bounded-distance decoder, {entries} correctable syndromes.",
             f"module {name}_dec (", f"  input  [{k - 1}:0] data_i,", f"  input  [{r - 1}:0] check_i,",
             f"  output [{k - 1}:0] data_o,", f"  output [{r - 1}:0] syndrome_o,", "  output corrected_o,",
             "  output uncorrectable_o", ");", f"  wire [{r - 1}:0] expected;",
             f"  reg  [{k - 1}:0] flip;", "  reg  hit;",
             f"  {name}_enc u_enc (.data_i(data_i), .check_o(expected));",
             "  assign syndrome_o = check_i ^ expected;", "  always @(*) begin", "    hit  = 1'b1;",
             f"    flip = {k}'d0;", "    case (syndrome_o)"]
    for s, f in zip(syn.tolist(), flip.tolist()):
        lines.append(f"      {r}'h{s:x}: flip = {k}'h{f:x};")
    lines += ["      default: hit = 1'b0;", "    endcase", "  end", "  assign data_o = data_i ^ flip;",
              "  assign corrected_o = hit;", "  assign uncorrectable_o = (|syndrome_o) & ~hit;", "endmodule", ""]
    return "\n".join(lines)


def tmr_encoder(k: int) -> str:
    """``tmr_k<k>_enc``: two more copies of the data (check = {data, data})."""
    Repetition(k, 3)
    return "\n".join([_GEN, f"// {Repetition(k, 3)!r}: encoder.", f"module {tmr_name(k)}_enc (",
                      f"  input  [{k - 1}:0] data_i,", f"  output [{2 * k - 1}:0] check_o", ");",
                      "  assign check_o = {data_i, data_i};", "endmodule", ""])


def tmr_decoder(k: int) -> str:
    """``tmr_k<k>_dec``: per-bit majority of the three copies."""
    Repetition(k, 3)
    return "\n".join([
        _GEN, f"// {Repetition(k, 3)!r}: per-bit majority; syndrome_o = bits where the copies disagree.",
        f"module {tmr_name(k)}_dec (", f"  input  [{k - 1}:0] data_i,", f"  input  [{2 * k - 1}:0] check_i,",
        f"  output [{k - 1}:0] data_o,", f"  output [{k - 1}:0] syndrome_o,", "  output corrected_o,",
        "  output uncorrectable_o", ");", f"  wire [{k - 1}:0] b = check_i[{k - 1}:0];",
        f"  wire [{k - 1}:0] c = check_i[{2 * k - 1}:{k}];",
        "  assign data_o = (data_i & b) | (data_i & c) | (b & c);",
        "  assign syndrome_o = (data_i ^ b) | (data_i ^ c);", "  assign corrected_o = |syndrome_o;",
        "  assign uncorrectable_o = 1'b0;", "endmodule", ""])


def rep_name(k: int, copies: int) -> str:
    return f"rep{copies}_k{k}"


def rep_encoder(k: int, copies: int) -> str:
    """``rep<C>_k<k>_enc``: ``copies - 1`` more copies of the data."""
    Repetition(k, copies)
    cat = ", ".join(["data_i"] * (copies - 1))
    return "\n".join([_GEN, f"// {Repetition(k, copies)!r}: encoder.", f"module {rep_name(k, copies)}_enc (",
                      f"  input  [{k - 1}:0] data_i,", f"  output [{(copies - 1) * k - 1}:0] check_o", ");",
                      f"  assign check_o = {{{cat}}};", "endmodule", ""])


def rep_decoder(k: int, copies: int) -> str:
    """``rep<C>_k<k>_dec``: per-bit count of ones over the copies; majority, disagreement, tie (even C)."""
    Repetition(k, copies)
    w = copies.bit_length()
    half = copies // 2
    terms = " + ".join([f"{{{w - 1}'d0, data_i[j]}}"] + [f"{{{w - 1}'d0, check_i[{c} * {k} + j]}}"
                                                          for c in range(copies - 1)])
    tie = f"(cnt == {w}'d{half})" if copies % 2 == 0 else "1'b0"
    return "\n".join([
        _GEN, f"// {Repetition(k, copies)!r}: per-bit majority of {copies} copies; syndrome_o = disagreeing bits;",
        "// a tie (even copies) is uncorrectable and passes data_i through.",
        f"module {rep_name(k, copies)}_dec (", f"  input  [{k - 1}:0] data_i,",
        f"  input  [{(copies - 1) * k - 1}:0] check_i,", f"  output [{k - 1}:0] data_o,",
        f"  output [{k - 1}:0] syndrome_o,", "  output corrected_o,", "  output uncorrectable_o", ");",
        f"  wire [{k - 1}:0] maj, tie;", "  genvar j;", "  generate", f"    for (j = 0; j < {k}; j = j + 1) begin : g_bit",
        f"      wire [{w - 1}:0] cnt = {terms};", f"      assign maj[j] = (cnt > {w}'d{half});",
        f"      assign tie[j] = {tie};", f"      assign syndrome_o[j] = (cnt != {w}'d0) && (cnt != {w}'d{copies});",
        "    end", "  endgenerate", "  assign uncorrectable_o = |tie;",
        "  assign corrected_o = (|syndrome_o) & ~uncorrectable_o;",
        "  assign data_o = uncorrectable_o ? data_i : maj;", "endmodule", ""])


def generate_codes(bch=((8, 2),), tmr=(8,), rep=()) -> dict[str, str]:
    """``{file name: source}`` of the BCH ``(k, t)``, TMR ``k`` and repetition ``(k, copies)`` codecs."""
    out = {}
    for k, t in bch:
        out[f"{bch_name(k, t)}_enc.v"] = bch_encoder(k, t)
        out[f"{bch_name(k, t)}_dec.v"] = bch_decoder(k, t)
    for k in tmr:
        out[f"{tmr_name(k)}_enc.v"] = tmr_encoder(k)
        out[f"{tmr_name(k)}_dec.v"] = tmr_decoder(k)
    for k, c in rep:
        out[f"{rep_name(k, c)}_enc.v"] = rep_encoder(k, c)
        out[f"{rep_name(k, c)}_dec.v"] = rep_decoder(k, c)
    return out


__all__ = ["MAX_CASE_ENTRIES", "bch_decoder", "bch_encoder", "bch_name", "generate_codes", "rep_decoder",
           "rep_encoder", "rep_name", "tmr_decoder", "tmr_encoder", "tmr_name"]
