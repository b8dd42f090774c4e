"""SEC / SECDED codecs: exhaustive single/double errors, exact 3+ error outcomes, H-matrix properties."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtaml_hw.ecc import (CLEAN, CORRECTED, DETECTED, OUTCOMES, SEC, SECDED, Codeword, check_bits_for, classify,
                         make_code, outcome_counts, parity_check)
from qtaml_hw.errors import QtamlError

SIZES = (8, 16, 32, 64)
SECDED_N = {8: 13, 16: 22, 32: 39, 64: 72}
SEC_N = {8: 12, 16: 21, 32: 38, 64: 71}


def _patterns(n_bits: int, weight: int) -> np.ndarray:
    """All error patterns of the given weight over n_bits positions, as an (P, n_bits) 0/1 array."""
    combos = np.array(list(combinations(range(n_bits), weight)), dtype=np.int64)
    e = np.zeros((len(combos), n_bits), np.uint8)
    np.put_along_axis(e, combos, 1, axis=1)
    return e


def _split(code, e: np.ndarray):
    """(data_error uint64, check_error uint16) of 0/1 patterns over [data bits | check bits]."""
    k = code.k
    dw = (e[:, :k].astype(np.uint64) << np.arange(k, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    cw = (e[:, k:].astype(np.uint64) << np.arange(code.r, dtype=np.uint64)).sum(axis=1).astype(np.uint16)
    return dw, cw


def _random_data(code, size, seed):
    d = np.random.default_rng(seed).integers(0, 2**63, size, dtype=np.uint64) * np.uint64(2) \
        + np.random.default_rng(seed + 1).integers(0, 2, size, dtype=np.uint64)
    return d & code.data_mask


def _reference_decode(code, data, check):
    """Bit-level reference: syndrome = H [d; c] by matrix product; look the syndrome up among H's columns."""
    h = code.h.matrix().astype(np.int64)  # (r, n)
    k, r = code.k, code.r
    bits = np.concatenate([(data[:, None] >> np.arange(k, dtype=np.uint64)) & np.uint64(1),
                           (check.astype(np.uint64)[:, None] >> np.arange(r, dtype=np.uint64)) & np.uint64(1)],
                          axis=1).astype(np.int64)
    syn = (bits @ h.T) % 2  # (W, r)
    out_d, out_s = data.copy(), np.zeros(len(data), np.uint8)
    for w in range(len(data)):
        if not syn[w].any():
            continue
        match = np.flatnonzero((h.T == syn[w]).all(axis=1))
        if match.size == 0:
            out_s[w] = DETECTED
        else:
            out_s[w] = CORRECTED
            if match[0] < k:
                out_d[w] ^= np.uint64(1) << np.uint64(match[0])
    return out_d, out_s


@pytest.mark.parametrize("k", SIZES)
def test_code_sizes(k):
    assert (SECDED(k).n, SECDED(k).k) == (SECDED_N[k], k)
    assert SECDED(k).r == {8: 5, 16: 6, 32: 7, 64: 8}[k]
    assert (SEC(k).n, SEC(k).k) == (SEC_N[k], k)


@pytest.mark.parametrize("kind", ["sec", "secded"])
@pytest.mark.parametrize("k", SIZES)
def test_every_single_error_corrected(kind, k):
    code = make_code(kind, k)
    e = _patterns(code.n, 1)
    data = _random_data(code, len(e), k)
    de, ce = _split(code, e)
    cw = code.encode(data)
    got, status = code.decode(code.corrupt(cw, de, ce))
    assert np.all(status == CORRECTED)
    assert np.array_equal(got, data)
    assert np.all(classify(data, got, status) == OUTCOMES.index("corrected"))


@pytest.mark.parametrize("k", SIZES)
def test_every_double_error_detected_secded(k):
    code = SECDED(k)
    e = _patterns(code.n, 2)
    assert len(e) == code.n * (code.n - 1) // 2
    data = _random_data(code, len(e), 100 + k)
    de, ce = _split(code, e)
    got, status = code.decode(code.corrupt(code.encode(data), de, ce))
    assert np.all(status == DETECTED)
    assert np.array_equal(got, data ^ de)  # detected words read as the raw corrupted data


@pytest.mark.parametrize("k", SIZES)
def test_double_errors_on_sec_are_never_clean(k):
    """Distance 3: a double error never has a zero syndrome; most alias to a single and miscorrect."""
    code = SEC(k)
    e = _patterns(code.n, 2)
    data = _random_data(code, len(e), 200 + k)
    de, ce = _split(code, e)
    got, status = code.decode(code.corrupt(code.encode(data), de, ce))
    assert not np.any(status == CLEAN)
    counts = outcome_counts(classify(data, got, status))
    assert counts["miscorrected"] > 0 and counts["clean"] == counts["undetected"] == 0


def test_triple_error_miscorrection_reported():
    """Exhaustive triples on (13,8): those aliasing to a single-error syndrome are reported as miscorrected."""
    code = SECDED(8)
    e = _patterns(code.n, 3)
    data = _random_data(code, len(e), 7)
    de, ce = _split(code, e)
    got, status = code.decode(code.corrupt(code.encode(data), de, ce))
    out = classify(data, got, status)
    counts = outcome_counts(out)
    # odd-weight syndrome from three odd columns: never clean, never detected as a double
    assert counts["clean"] == 0 and counts["undetected"] == 0
    assert counts["miscorrected"] > 0 and counts["detected"] > 0
    assert counts["miscorrected"] + counts["detected"] + counts["corrected"] == len(e)
    # a specific case: data bits a, b plus the check bits making col_a ^ col_b ^ unit == col_c
    cols = code.h.columns
    a, b, c = next((a, b, c) for a, b, c in combinations(range(8), 3)
                   if bin(cols[a] ^ cols[b] ^ cols[c]).count("1") == 1)
    unit = cols[a] ^ cols[b] ^ cols[c]
    de1 = np.array([(1 << a) | (1 << b)], np.uint64)
    d1, s1 = code.decode(code.corrupt(code.encode(np.array([0x5A], np.uint64)), de1, np.array([unit], np.uint16)))
    # the syndrome is col_c: data bit c is "corrected" into a third wrong bit
    assert s1[0] == CORRECTED and int(d1[0]) == 0x5A ^ (1 << a) ^ (1 << b) ^ (1 << c)
    assert OUTCOMES[classify(np.array([0x5A], np.uint64), d1, s1)[0]] == "miscorrected"


def test_undetected_error_is_a_codeword():
    """A nonzero codeword as error pattern has zero syndrome: reported undetected, data wrong."""
    code = SECDED(16)
    err = code.encode(np.array([0b1011], np.uint64))  # a weight >= 4 codeword
    data = np.array([0x1234], np.uint64)
    got, status = code.decode(code.corrupt(code.encode(data), err.data, err.check))
    assert status[0] == CLEAN and got[0] != data[0]
    assert OUTCOMES[classify(data, got, status)[0]] == "undetected"


@pytest.mark.parametrize("kind", ["sec", "secded"])
@pytest.mark.parametrize("k", SIZES)
def test_minimum_distance(kind, k):
    """SEC: distance 3 (no nonzero codeword of weight <= 2); SECDED: distance 4 (none of weight <= 3)."""
    code = make_code(kind, k)
    cols = np.array(list(code.h.columns) + [1 << i for i in range(code.r)])
    assert len(set(cols.tolist())) == code.n and np.all(cols > 0)
    if kind == "secded":
        assert all(bin(int(c)).count("1") % 2 == 1 for c in cols)
        i, j, t = np.array(list(combinations(range(code.n), 3))).T
        assert np.all(cols[i] ^ cols[j] ^ cols[t])  # no weight-3 codeword


def test_hsiao_rows_balanced():
    for k in SIZES:
        h = parity_check("secded", k)
        w = [len(h.row_members(i)) for i in range(h.r)]
        assert max(w) - min(w) <= 1, (k, w)


@pytest.mark.parametrize("kind", ["sec", "secded"])
def test_vectorised_decoder_matches_bit_level_reference(kind):
    """Random error patterns of every weight 0..n: table decoder == matrix-product reference."""
    gen = np.random.default_rng(11)
    for k in (8, 16, 32, 64, 5, 41):
        code = make_code(kind, k)
        w = 600
        data = _random_data(code, w, k)
        e = (gen.random((w, code.n)) < gen.random((w, 1))).astype(np.uint8)
        de, ce = _split(code, e)
        bad = code.corrupt(code.encode(data), de, ce)
        ref_d, ref_s = _reference_decode(code, bad.data, bad.check)
        got_d, got_s = code.decode(bad)
        assert np.array_equal(got_d, ref_d) and np.array_equal(got_s, ref_s)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["sec", "secded"]), st.integers(1, 64), st.data())
def test_roundtrip_and_single_error_any_width(kind, k, data):
    code = make_code(kind, k)
    words = np.array(data.draw(st.lists(st.integers(0, (1 << k) - 1), min_size=1, max_size=8)), np.uint64)
    cw = code.encode(words)
    assert cw.check.dtype == np.uint16 and np.all(cw.check >> code.r == 0)
    d, s = code.decode(cw)
    assert np.array_equal(d, words) and np.all(s == CLEAN)
    pos = data.draw(st.integers(0, code.n - 1))
    de = np.uint64(1 << pos) if pos < k else np.uint64(0)
    ce = np.uint16(1 << (pos - k)) if pos >= k else np.uint16(0)
    d, s = code.decode(code.corrupt(cw, de, ce))
    assert np.array_equal(d, words) and np.all(s == CORRECTED)
    assert check_bits_for(kind, k) == code.r


def test_shapes_and_codeword_fields():
    code = SECDED(64)
    data = _random_data(code, 12, 3).reshape(3, 4)
    cw = code.encode(data)
    assert isinstance(cw, Codeword) and cw.data.shape == cw.check.shape == (3, 4)
    bad = cw._replace(check=cw.check ^ np.uint16(1))
    d, s = code.decode(bad)
    assert d.dtype == np.uint64 and s.dtype == np.uint8 and np.all(s == CORRECTED) and np.array_equal(d, data)


@pytest.mark.parametrize("make", [lambda: SECDED(0), lambda: SECDED(65), lambda: SEC(True), lambda: SECDED(8.0),
                                  lambda: make_code("bch", 8), lambda: SECDED(8).encode(np.array([256])),
                                  lambda: SECDED(8).encode(np.array([-1])),
                                  lambda: SECDED(8).decode(Codeword(np.array([1], np.uint64), np.array([32])))])
def test_bad_input(make):
    with pytest.raises(QtamlError):
        make()
