"""BCH and repetition codecs: field arithmetic, the kernel BCH library as reference, exhaustive decoding (design.md section 3)."""

from itertools import combinations

import bchlib
import numpy as np
import pytest

from qtaml_hw.ecc.bch import BCH, Repetition, bch_parameters, build_code, check_bits_of
from qtaml_hw.ecc.codec import CLEAN, CORRECTED, DETECTED, Codeword
from qtaml_hw.ecc.gf import PRIMITIVE_POLYS, bch_generator, field_tables, poly_mod
from qtaml_hw.errors import QtamlError


def test_field_and_generators():
    exp, log = field_tables(5)
    assert sorted(exp[:31]) == list(range(1, 32))          # alpha generates the multiplicative group
    assert all(log[exp[i]] == i for i in range(31))
    assert bch_generator(4, 2) == 0b111010001              # (15,7): x^8+x^7+x^6+x^4+1
    assert bch_generator(5, 2) == 0b11101101001            # (31,21)
    for m, t in ((5, 2), (5, 3), (6, 2), (7, 3)):          # g divides x^n - 1
        assert poly_mod((1 << ((1 << m) - 1)) | 1, bch_generator(m, t)) == 0
    for m in range(5, 11):                                 # the kernel library's primitive polynomials
        assert bchlib.BCH(2, m=m).prim_poly == PRIMITIVE_POLYS[m]


def _kernel_pair(code, kb):
    """Map (data, check) to the kernel library's (data bytes big-endian, ecc bytes MSB-first)."""
    nbytes = (code.k + 7) // 8

    def to_kernel(d, c):
        return bytearray(int(d).to_bytes(nbytes, "big")), bytearray((int(c) << (8 * kb.ecc_bytes - code.r))
                                                                      .to_bytes(kb.ecc_bytes, "big"))
    return to_kernel


@pytest.mark.parametrize("k,t", [(8, 2), (16, 2), (8, 3)])
def test_encoder_equals_kernel_bch(k, t):
    code = BCH(k, t)
    kb = bchlib.BCH(t, m=code.m)
    to_kernel = _kernel_pair(code, kb)
    data = np.arange(0, 1 << k, max(1, (1 << k) // 256), dtype=np.uint64)
    cw = code.encode(data)
    for d, c in zip(data, cw.check):
        kd, kc = to_kernel(d, c)
        assert kb.encode(bytes(kd)) == bytes(kc)


@pytest.mark.parametrize("k,t", [(8, 2), (8, 3)])
def test_decoder_equals_kernel_bch_exhaustively(k, t):
    """Every error pattern of weight <= t + 1 over all n bits, two data words: same decision, same data."""
    code = BCH(k, t)
    kb = bchlib.BCH(t, m=code.m)
    to_kernel = _kernel_pair(code, kb)
    for d0 in (0x00, 0xA5):
        cw = code.encode(np.array([d0], np.uint64))
        pats = [sum(1 << p for p in pos) for w in range(t + 2) for pos in combinations(range(code.n), w)]
        e = np.array(pats, dtype=np.uint64)
        de, ce = e & np.uint64((1 << k) - 1), e >> np.uint64(k)
        data, status = code.decode(Codeword(cw.data ^ de, cw.check ^ ce))
        for i in range(len(pats)):
            kd, kc = to_kernel(int(cw.data[0] ^ de[i]), int(cw.check[0] ^ ce[i]))
            nerr = kb.decode(bytes(kd), bytes(kc))
            if nerr < 0:
                assert status[i] == DETECTED, (pats[i], status[i])
                continue
            kb.correct(kd, kc)
            assert status[i] == (CLEAN if nerr == 0 else CORRECTED)
            assert int(data[i]) == int.from_bytes(kd, "big")
        weights = np.bitwise_count(e)
        assert np.all(data[weights <= t] == d0) and np.all(status[weights == 0] == CLEAN)


def test_bch_parameters_and_sizes():
    assert [check_bits_of("bch", k, t=t) for k, t in ((8, 2), (16, 2), (32, 2), (64, 2), (64, 3))] == \
        [10, 10, 12, 14, 21]
    assert bch_parameters(64, 2)[0] == 7
    assert check_bits_of("rep", 8, copies=3) == 16 and check_bits_of("secded", 64) == 8
    with pytest.raises(QtamlError):
        BCH(65, 2)
    with pytest.raises(QtamlError):
        build_code("golay", 8)
    with pytest.raises(QtamlError):
        Repetition(40, 3)


@pytest.mark.parametrize("copies", [2, 3, 5])
def test_repetition_exhaustive(copies):
    """All error patterns over k=2 data bits: the decoder is the per-bit majority, ties detected."""
    k = 2
    code = Repetition(k, copies)
    cw = code.encode(np.array([0b10], np.uint64))
    n = code.n
    e = np.arange(1 << n, dtype=np.uint64)
    data, status = code.decode(Codeword(cw.data ^ (e & np.uint64(3)), cw.check ^ (e >> np.uint64(k))))
    for i in range(1 << n):
        flips = [sum((i >> (c * k + b)) & 1 for c in range(copies)) for b in range(k)]
        tie = any(2 * f == copies for f in flips)
        want = 0b10 ^ sum(1 << b for b in range(k) if 2 * flips[b] > copies)
        if tie:
            assert status[i] == DETECTED
        else:
            assert int(data[i]) == want
            assert status[i] == (CLEAN if all(f in (0, copies) for f in flips) else CORRECTED)


def test_repetition_beyond_nine_copies_corrects_up_to_half_and_checks_its_word():
    """rep13 on 5 bits: any 6 flips of a bit's 13 copies are corrected, 7 are not; 8 bits x 12 copies refused."""
    import pytest

    from qtaml_hw.campaign.explore import parse_code
    from qtaml_hw.errors import QtamlError

    assert parse_code("rep13") == ("rep", 2, 13) and parse_code("rep15")[2] == 15
    with pytest.raises(QtamlError, match="C 2..15"):
        parse_code("rep16")
    code = Repetition(5, 13)
    data = np.array([0b10110], np.uint64)
    cw = code.encode(data)
    for nflip, ok in ((6, True), (7, False)):
        check = cw.check.copy()
        for c in range(nflip):  # flip bit 1 in the first `nflip` check copies
            check ^= np.uint64(1 << (c * 5 + 1))
        out, _ = code.decode((cw.data, check))
        assert (int(out[0]) == int(data[0])) == ok
    with pytest.raises(QtamlError, match="exceed one uint64"):
        Repetition(8, 11)
