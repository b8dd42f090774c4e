"""`qtaml-hw moments`: closed-form error moments of a B-bit weight word (design.md section 2)."""

from __future__ import annotations

from qtaml_hw.commands._common import add_json, emit_json, format_table, nonneg_float, probability

NAME = "moments"
HELP = "per-bit variance shares, mean drift and residual variance after top-m MSB protection"
ORDER = 20


def _int(text: str) -> int:
    import argparse

    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def add_arguments(parser) -> None:
    parser.add_argument("--bits", type=_int, default=8, help="word width B in 4..16 (default 8)")
    parser.add_argument("--code", default="twos", help="twos | offset | signmag (default twos)")
    parser.add_argument("--p10", type=probability, default=None, help="P(stored 1 reads 0), every bit")
    parser.add_argument("--p01", type=probability, default=None, help="P(stored 0 reads 1), every bit")
    parser.add_argument("--p-flip", type=probability, default=None,
                        help="p10 = p_flip, p01 = r * p_flip (default 1e-3 when no p is given)")
    parser.add_argument("--r", type=nonneg_float, default=1.0, help="p01 / p10 ratio for --p-flip (default 1)")
    parser.add_argument("--protect-msb", type=_int, default=0, help="number of protected top bits m (default 0)")
    parser.add_argument("--model", default=None,
                        help="also the read maps' exact weight MSE over this model's quantized weights "
                             "(models/: lenet5 vgg resnet mobilenet vit; per-layer priors, --bits/--code apply)")
    add_json(parser)


def model_read_mse(name: str, *, bits: int, code: str, flip_model, protect_msb: int) -> dict:
    """Exact per-weight MSE (LSB^2, weighted over all memory layers) of each read map on a model's weights."""
    import numpy as np

    from qtaml_hw.nn import QuantizedModel, load_model
    from qtaml_hw.tac.readmaps import READ_MAPS, read_map, read_mse

    model, _ = load_model(name)
    q = QuantizedModel(model, bits=bits, code=code)
    total = {k: 0.0 for k in READ_MAPS}
    for layer in q.layers:
        codes = layer.qtensor.codes.reshape(-1)
        for k in READ_MAPS:
            rmap = read_map(k, bits=bits, code=code, flip_model=flip_model, codes=codes, protect_msb=protect_msb)
            total[k] += float(read_mse(rmap, codes, flip_model=flip_model, protect_msb=protect_msb).sum())
    n = float(np.sum([layer.n_weights for layer in q.layers]))
    return {"model": name, "n_weights": int(n), "mse_plain": total["plain"] / n, "mse_unbiased": total["unbiased"] / n,
            "mse_posterior": total["perbit"] / n, "mse_posterior_affine": total["posterior"] / n}


def compute(*, bits: int, code: str, p10: float, p01: float, protect_msb: int) -> dict:
    """Moments summary averaged over all 2^B stored codes (each code equally likely)."""
    import numpy as np

    from qtaml_hw.errors import QtamlError
    from qtaml_hw.memory import (CODES, FlipModel, QuantizedTensor, bit_variance_contributions,
                                 mean_drift_affine, residual_variance_curve, signmag_drift)
    from qtaml_hw.memory.codes import check_bits_code

    if code not in CODES:
        raise QtamlError(f"unknown code {code!r}; choose one of {', '.join(CODES)}")
    bits = check_bits_code(bits, code)
    if not 0 <= protect_msb <= bits:
        raise QtamlError(f"--protect-msb must be in 0..{bits}, got {protect_msb}")
    fm = FlipModel(p10, p01)
    codes = np.arange(1 << bits, dtype=np.uint8 if bits <= 8 else np.uint16)
    contrib = bit_variance_contributions(codes, bits=bits, code=code, flip_model=fm).mean(axis=0)
    total = contrib.sum()
    shares = contrib / total if total > 0 else np.zeros(bits)
    curve = residual_variance_curve(QuantizedTensor(codes, np.asarray(1.0), bits, code), fm)
    if code == "signmag":
        d = signmag_drift(bits=bits, flip_model=fm, protect_msb=protect_msb)
        drift = {"kind": "sign-dependent", "pos": list(d["pos"]), "neg": list(d["neg"])}
    else:
        a, c = mean_drift_affine(bits=bits, code=code, flip_model=fm, protect_msb=protect_msb)
        drift = {"kind": "affine", "a": a, "c": c}
    return {
        "bits": bits, "code": code, "p10": p10, "p01": p01, "protect_msb": protect_msb,
        "per_bit": [{"bit": k, "variance": float(contrib[k]), "share": float(shares[k]),
                     "protected": k >= bits - protect_msb} for k in range(bits)],
        "variance_unprotected": float(curve[0]),
        "variance_protected": float(curve[protect_msb]),
        "residual_share": float(curve[protect_msb] / curve[0]) if curve[0] > 0 else 0.0,
        "residual_variance_curve": [float(x) for x in curve],
        "mean_drift": drift,
        **read_map_mse(bits=bits, code=code, flip_model=fm, protect_msb=protect_msb),
    }


def read_map_mse(*, bits: int, code: str, flip_model, protect_msb: int) -> dict:
    """Exact per-weight MSE (LSB^2) of each read map (``qtaml_hw.tac.readmaps``), codes uniform over
    the symmetric range ``[-(2^(B-1)-1), 2^(B-1)-1]``, the top ``protect_msb`` bits never flipping.

    ``mse_posterior`` is the per-bit posterior ``sum_k c_k E[b_k | b'_k]`` under the empirical bit
    prior of those codes (``perbit``); ``mse_posterior_affine`` the projection of ``E[v | b']`` onto
    the affine read maps (TAC's default read, never above the other three)."""
    import numpy as np

    from qtaml_hw.memory import encode_values
    from qtaml_hw.tac.readmaps import read_map, read_mse

    half = (1 << (bits - 1)) - 1
    codes = encode_values(np.arange(-half, half + 1), bits=bits, code=code)
    out = {}
    for key, kind in (("mse_plain", "plain"), ("mse_unbiased", "unbiased"), ("mse_posterior", "perbit"),
                      ("mse_posterior_affine", "posterior")):
        if kind == "unbiased" and np.any(np.abs(1.0 - np.add(*flip_model.per_bit(bits))[: bits - protect_msb])
                                         < 1e-12):
            out[key] = None  # p10 + p01 = 1: no unbiased read exists
            continue
        rmap = read_map(kind, bits=bits, code=code, flip_model=flip_model, codes=codes, protect_msb=protect_msb)
        out[key] = float(read_mse(rmap, codes, flip_model=flip_model, protect_msb=protect_msb).mean())
    return out


def run(args) -> int:
    from qtaml_hw.errors import QtamlError

    if args.p_flip is not None and (args.p10 is not None or args.p01 is not None):
        raise QtamlError("give either --p-flip/--r or --p10/--p01, not both")
    if args.p_flip is not None or (args.p10 is None and args.p01 is None):
        p = 1e-3 if args.p_flip is None else args.p_flip
        p10, p01 = p, args.r * p
        if p01 > 1:
            raise QtamlError(f"p01 = r * p_flip = {p01} is not a probability")
    else:
        p10 = 0.0 if args.p10 is None else args.p10
        p01 = 0.0 if args.p01 is None else args.p01
    res = compute(bits=args.bits, code=args.code, p10=p10, p01=p01, protect_msb=args.protect_msb)
    if args.model is not None:
        from qtaml_hw.memory import FlipModel
        from qtaml_hw.nn import MODEL_NAMES

        if args.model not in MODEL_NAMES:
            raise QtamlError(f"unknown model {args.model!r}; choose from {', '.join(MODEL_NAMES)}")
        res["model_weights"] = model_read_mse(args.model, bits=res["bits"], code=res["code"],
                                              flip_model=FlipModel(p10, p01), protect_msb=args.protect_msb)
    if args.json:
        emit_json(res)
        return 0
    print(f"{res['bits']}-bit {res['code']}, p10={p10:g}, p01={p01:g}, top {res['protect_msb']} bits protected "
          "(averaged over all codes)")
    print(format_table([{"bit": r["bit"], "variance": r["variance"], "share": r["share"],
                         "protected": "yes" if r["protected"] else ""} for r in res["per_bit"]]))
    d = res["mean_drift"]
    if d["kind"] == "affine":
        print(f"mean drift: E[v'] = a v + c (+ (1-a) v_protected), a = {d['a']:.6g}, c = {d['c']:.6g}")
    else:
        print(f"mean drift: sign-dependent; v >= 0: a = {d['pos'][0]:.6g}, c = {d['pos'][1]:.6g}; "
              f"v < 0: a = {d['neg'][0]:.6g}, c = {d['neg'][1]:.6g}")
    print(f"Var(v'|v) per weight: {res['variance_unprotected']:.6g} unprotected, "
          f"{res['variance_protected']:.6g} protected; residual share {res['residual_share']:.6g}")
    fmt = (lambda v: "n/a" if v is None else f"{v:.6g}")
    print(f"weight MSE (LSB^2, codes uniform over the symmetric range): plain {fmt(res['mse_plain'])}, "
          f"unbiased {fmt(res['mse_unbiased'])}, per-bit posterior {fmt(res['mse_posterior'])}, "
          f"affine posterior {fmt(res['mse_posterior_affine'])}")
    if "model_weights" in res:
        mw = res["model_weights"]
        print(f"weight MSE (LSB^2) over {mw['model']}'s {mw['n_weights']} weights: plain {mw['mse_plain']:.6g}, "
              f"unbiased {mw['mse_unbiased']:.6g}, per-bit posterior {mw['mse_posterior']:.6g}, "
              f"affine posterior {mw['mse_posterior_affine']:.6g}")
    return 0
