"""One source for each section-2 fact (issue 11): the code table, the bit-range rule, R(m) and shares.

The closed forms live in qtaml_hw.memory; these tests pin that every user of them agrees with it:
R(m) equals the mean of the exact moments at every m (all three codes), the per-bit shares are
the exact decomposition of that variance, and the bit range 4..16 is the same rule for the
library, the network wrapper, campaign configs and the CLI.
"""

from __future__ import annotations

import numpy as np
import pytest

from qtaml_hw.campaign.config import parse_config
from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import (CODES, MAX_BITS, MIN_BITS, FlipModel, bit_variance_contributions, check_bits_code,
                             code_weights, decode_codes, hierarchy_shares, moments, quantize, residual_curve,
                             residual_fraction, variance_shares)
from qtaml_hw.tac.baselines import generic_curve

B = 8
FM = FlipModel(np.linspace(0.02, 0.12, B), 0.01)  # per-bit, directional


@pytest.fixture(scope="module")
def codes():
    return {c: quantize(np.random.default_rng(5).normal(size=4096), bits=B, code=c).codes for c in CODES}


@pytest.mark.parametrize("code", CODES)
def test_residual_curve_is_the_mean_exact_variance(code, codes):
    curve = residual_curve(codes[code], bits=B, code=code, flip_model=FM)
    direct = [moments(codes[code], bits=B, code=code, flip_model=FM, protect_msb=m)[1].mean() for m in range(B + 1)]
    assert curve == pytest.approx(direct, rel=1e-12, abs=1e-12)
    assert curve[-1] == 0.0 and np.all(np.diff(curve) <= 1e-12)


@pytest.mark.parametrize("code", CODES)
def test_shares_decompose_the_exact_variance(code, codes):
    shares = variance_shares(codes[code], bits=B, code=code, flip_model=FM)
    contrib = bit_variance_contributions(codes[code], bits=B, code=code, flip_model=FM)
    _, var = moments(codes[code], bits=B, code=code, flip_model=FM)
    assert contrib.sum(axis=-1) == pytest.approx(var, rel=1e-12)  # sign-magnitude too: exact, not approximated
    assert shares.sum() == pytest.approx(1.0) and shares == pytest.approx(contrib.mean(axis=0) / var.mean())


def test_equal_p_shares_follow_the_hierarchy(codes):
    shares = variance_shares(codes["twos"], bits=B, code="twos", flip_model=FlipModel(0.05, 0.05))
    assert shares == pytest.approx(hierarchy_shares(bits=B), rel=1e-12)


@pytest.mark.parametrize("code", CODES)
def test_code_table_reproduces_decoding(code):
    raw = np.arange(1 << B, dtype=np.uint16)
    bits = (raw[:, None] >> np.arange(B)) & 1
    c, const = code_weights(bits=B, code=code)
    value = bits @ c + const
    if code == "signmag":
        value = (1 - 2 * bits[:, -1]) * value
    assert np.array_equal(value, decode_codes(raw, bits=B, code=code))


@pytest.mark.parametrize("bits", [MIN_BITS - 1, MAX_BITS + 1, 2, 8.0, True])
def test_one_bit_range_rule(bits):
    with pytest.raises(QtamlError, match=rf"in {MIN_BITS}\.\.{MAX_BITS}"):
        check_bits_code(bits)
    rule = rf"in {MIN_BITS}\.\.{MAX_BITS}" if type(bits) is int else "expected an integer"  # noqa: E721
    with pytest.raises(QtamlError, match=rf"^memory\.bits.*{rule}"):
        parse_config({"campaign": {"name": "x", "kind": "memory", "seed": 1, "trials": 4},
                      "memory": {"shape": [4, 4], "bits": bits}, "faults": {"p_flip": [0.1]},
                      "plans": [{"strategy": "uniform", "protect_msb": [0]}]})


def test_bit_rule_reaches_the_network_and_cli(cli):
    torch = pytest.importorskip("torch")
    from qtaml_hw.nn import QuantizedModel

    with pytest.raises(QtamlError, match=rf"in {MIN_BITS}\.\.{MAX_BITS}"):
        QuantizedModel(torch.nn.Sequential(torch.nn.Linear(4, 2)), bits=3)
    for argv in (["plan", "--model", "lenet5", "--p-flip", "0.1", "--budget-bits-per-weight", "1", "--bits", "3"],
                 ["eval", "--model", "lenet5", "--p-flip", "0.1", "--bits", "17"]):
        code, out, err = cli(*argv)
        assert code == 2 and "--bits must be an integer in 4..16" in err and err.count("\n") == 1, err


def test_baseline_generic_curve_is_the_equal_p_hierarchy():
    for bits in (MIN_BITS, B, MAX_BITS):
        frac = [residual_fraction(bits=bits, protect_msb=m) for m in range(bits + 1)]
        assert generic_curve(bits) == pytest.approx(np.array(frac) * (4.0 ** bits - 1) / 3, rel=1e-12)
