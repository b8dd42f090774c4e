"""Read maps (plain / unbiased / per-bit posterior / affine posterior): exact moments vs Monte Carlo, and
the posterior never worse in weight MSE, for all three codes and several protected-bit counts."""

import numpy as np
import pytest

from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel, encode_values, flip_bits
from qtaml_hw.tac.readmaps import (READ_MAPS, ReadMap, bit_prior, posterior_bits, read_bias, read_map, read_mse)

BITS = 8


def _layer(code, n=4000, seed=0):
    """A peaked layer (Laplace weights): small |v| share their top bits, so bits are correlated."""
    w = np.random.default_rng(seed).laplace(size=n)
    v = np.clip(np.rint(w / np.abs(w).max() * 127), -127, 127).astype(np.int64)
    return encode_values(v, bits=BITS, code=code)


def _maps(codes, code, fm, m):
    return {k: read_map(k, bits=BITS, code=code, flip_model=fm, codes=codes, protect_msb=m) for k in READ_MAPS}


@pytest.mark.parametrize("code", ["twos", "offset", "signmag"])
@pytest.mark.parametrize("m", [0, 1, 3])
def test_posterior_never_worse_monte_carlo(code, m):
    fm = FlipModel(0.1, 0.1) if m != 1 else FlipModel(0.1, 0.01)  # symmetric and directional r = 0.1
    codes = _layer(code)
    maps = _maps(codes, code, fm, m)
    faulty = flip_bits(codes, bits=BITS, flip_model=fm, trials=60, seed=5, protect_msb=m)
    v = maps["plain"].apply(codes)
    err = {k: ((rm.apply(faulty) - v) ** 2).mean(axis=1) for k, rm in maps.items()}  # per-trial layer MSE
    for other in ("plain", "unbiased", "perbit"):
        d = err["posterior"] - err[other]  # paired on the same flips
        se = d.std(ddof=1) / np.sqrt(d.size)
        assert d.mean() < 3 * se + 1e-9, (other, d.mean(), se)
        # and the exact MSE agrees with the Monte Carlo one (4 SE), for every map
    for k, rm in maps.items():
        exact = read_mse(rm, codes, flip_model=fm, protect_msb=m).mean()
        se = err[k].std(ddof=1) / np.sqrt(err[k].size)
        assert abs(err[k].mean() - exact) < 4 * se + 1e-9, (k, err[k].mean(), exact, se)


def test_posterior_strictly_better_and_perbit_can_lose_on_peaked_layer():
    """The affine posterior beats plain clearly at p = 0.1; the per-bit one can lose to plain (why it is not the default)."""
    codes = _layer("twos")
    fm = FlipModel(0.1, 0.1)
    mse = {k: read_mse(rm, codes, flip_model=fm, protect_msb=1).mean() for k, rm in _maps(codes, "twos", fm, 1).items()}
    assert mse["posterior"] < 0.9 * mse["plain"]
    assert mse["perbit"] > mse["plain"]


def test_exact_never_worse_grid():
    rng = np.random.default_rng(2)
    for code in ("twos", "offset", "signmag"):
        for bits in (4, 8):
            q = (1 << (bits - 1)) - 1
            v = np.clip(np.rint(rng.standard_t(3, 3000) / 6 * q), -q, q).astype(np.int64)
            codes = encode_values(v, bits=bits, code=code)
            for fm in (FlipModel(0.1, 0.1), FlipModel(0.2, 0.0), FlipModel(0.02, 0.002), FlipModel(0.4, 0.3)):
                for m in range(bits + 1):
                    mse = [read_mse(read_map(k, bits=bits, code=code, flip_model=fm, codes=codes, protect_msb=m),
                                    codes, flip_model=fm, protect_msb=m).mean() for k in READ_MAPS]
                    assert mse[-1] <= min(mse[:-1]) * (1 + 1e-9) + 1e-9, (code, bits, fm, m, mse)


@pytest.mark.parametrize("code", ["twos", "offset", "signmag"])
def test_exact_bias_matches_monte_carlo_per_weight(code):
    codes = encode_values(np.arange(-127, 128), bits=BITS, code=code)
    fm = FlipModel(0.1, 0.03)
    # 3000 independent reads of each stored value: 200 reads of 15 side-by-side copies
    faulty = flip_bits(np.tile(codes, 15), bits=BITS, flip_model=fm, trials=200, seed=7,
                       protect_msb=2).reshape(-1, codes.size)
    for kind in ("unbiased", "posterior"):
        rm = read_map(kind, bits=BITS, code=code, flip_model=fm, codes=codes, protect_msb=2)
        est = rm.apply(faulty) - rm.apply(codes) if kind == "unbiased" else rm.apply(faulty)
        v = read_map("plain", bits=BITS, code=code, flip_model=fm).apply(codes)
        bias_mc = (rm.apply(faulty) - v).mean(axis=0)
        se = (rm.apply(faulty) - v).std(axis=0, ddof=1) / np.sqrt(faulty.shape[0])
        z = (bias_mc - read_bias(rm, codes, flip_model=fm, protect_msb=2)) / np.maximum(se, 1e-12)
        assert np.max(np.abs(z)) < 5.0, (kind, np.max(np.abs(z)))
        assert est.shape == faulty.shape
    # unbiased: zero drift for every stored value; posterior: zero drift averaged over the layer
    unb = read_map("unbiased", bits=BITS, code=code, flip_model=fm, protect_msb=2)
    assert np.max(np.abs(read_bias(unb, codes, flip_model=fm, protect_msb=2))) < 1e-9
    post = read_map("posterior", bits=BITS, code=code, flip_model=fm, codes=codes, protect_msb=2)
    assert abs(read_bias(post, codes, flip_model=fm, protect_msb=2).mean()) < 1e-8


def test_perbit_posterior_is_bayes_by_monte_carlo():
    codes = _layer("twos", n=20000)
    fm = FlipModel(0.1, 0.02)
    alpha, beta = posterior_bits(bit_prior(codes, bits=BITS), bits=BITS, flip_model=fm)
    faulty = flip_bits(codes, bits=BITS, flip_model=fm, trials=5, seed=1)
    b = (codes[None].astype(np.int64)[..., None] >> np.arange(BITS)) & 1
    bp = (faulty.astype(np.int64)[..., None] >> np.arange(BITS)) & 1
    b = np.broadcast_to(b, bp.shape)
    for k in range(BITS):
        for read in (0, 1):
            sel = bp[..., k] == read
            p_mc = b[..., k][sel].mean()
            se = np.sqrt(p_mc * (1 - p_mc) / sel.sum()) + 1e-4
            assert abs(p_mc - (alpha[k] + beta[k] * read)) < 4 * se


def test_plain_map_is_decode_and_validation():
    for code in ("twos", "offset", "signmag"):
        codes = np.arange(256, dtype=np.uint8)
        from qtaml_hw.memory import decode_codes
        assert np.array_equal(read_map("plain", bits=BITS, code=code, flip_model=FlipModel(0, 0)).table(),
                              decode_codes(codes, bits=BITS, code=code))
    with pytest.raises(QtamlError):
        read_map("posterior", bits=BITS, code="twos", flip_model=FlipModel(0.1, 0.1))
    with pytest.raises(QtamlError):
        read_map("bogus", bits=BITS, code="twos", flip_model=FlipModel(0.1, 0.1))
    with pytest.raises(QtamlError):
        read_map("unbiased", bits=BITS, code="twos", flip_model=FlipModel(0.5, 0.5))
    with pytest.raises(QtamlError):
        ReadMap(np.zeros(2), np.zeros((2, 3)), BITS, "twos")


def test_moments_cli_read_map_mse(cli):
    """`moments --json` adds the exact MSE of each read map (codes uniform over the symmetric range)."""
    import json

    code, out, _ = cli("moments", "--bits", "8", "--p10", "0.1", "--p01", "0.1", "--protect-msb", "2", "--json")
    assert code == 0
    res = json.loads(out)
    # closed forms for independent, equiprobable bits (the symmetric range is 255 of 256 codes):
    # plain: sum_{k<6} 4^k (p + p^2 ... ) ~ 0.1 * 1365 = 136.5; unbiased: Var / a^2 = 0.09 * 1365 / 0.64
    assert res["mse_unbiased"] == pytest.approx(0.09 * 1365 / 0.64, rel=1e-12)
    assert res["mse_plain"] == pytest.approx(136.5, rel=0.002)
    assert res["mse_posterior"] == pytest.approx(0.09 * 1365, rel=0.005)  # per bit 0.9 * 0.01 + 0.1 * 0.81
    assert res["mse_posterior_affine"] <= res["mse_posterior"] + 1e-9


def test_moments_cli_model_weights(cli):
    """`moments --model` adds the exact read-map MSE over a model's real (peaked) weights: posterior lowest."""
    import json

    code, out, _ = cli("moments", "--p-flip", "0.1", "--protect-msb", "1", "--model", "mobilenet", "--json")
    assert code == 0
    mw = json.loads(out)["model_weights"]
    assert mw["n_weights"] > 1000
    assert mw["mse_posterior_affine"] <= min(mw["mse_plain"], mw["mse_unbiased"], mw["mse_posterior"]) + 1e-9
    assert mw["mse_posterior_affine"] < 0.7 * mw["mse_plain"]
    code, _, err = cli("moments", "--model", "nosuch")
    assert code == 2 and "unknown model" in err
