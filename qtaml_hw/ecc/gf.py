"""GF(2^m) arithmetic and binary BCH generator polynomials (design.md section 3, "Real codes beyond SECDED").

Elements of GF(2^m) are m-bit integers; ``alpha`` is a root of the primitive polynomial
:data:`PRIMITIVE_POLYS` ``[m]`` (the Linux kernel BCH library's defaults, so the test suite can
check codes against ``bchlib`` bit for bit).  Polynomials over GF(2) are Python ints (bit i =
coefficient of x^i).

The narrow-sense binary BCH code of designed distance ``2t + 1`` and length ``2^m - 1`` has
generator ``g(x) = lcm(M_1(x), M_3(x), ..., M_{2t-1}(x))`` where ``M_i`` is the minimal
polynomial of ``alpha^i``, ``M_i(x) = prod_{j in C_i} (x - alpha^j)`` over the cyclotomic coset
``C_i = {i 2^s mod (2^m - 1)}`` (even powers share the coset of an odd one).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from qtaml_hw.errors import QtamlError

PRIMITIVE_POLYS = {3: 0xB, 4: 0x13, 5: 0x25, 6: 0x43, 7: 0x83, 8: 0x11D, 9: 0x211, 10: 0x409, 11: 0x805,
                   12: 0x1053}


@lru_cache(maxsize=None)
def field_tables(m: int) -> tuple[np.ndarray, np.ndarray]:
    """``(exp, log)``: ``exp[i] = alpha^i`` for i in 0..2(2^m - 1), ``log[alpha^i] = i`` (log[0] unused)."""
    if m not in PRIMITIVE_POLYS:
        raise QtamlError(f"GF(2^m) supported for m in {min(PRIMITIVE_POLYS)}..{max(PRIMITIVE_POLYS)}, got {m}")
    order = (1 << m) - 1
    exp = np.zeros(2 * order + 1, dtype=np.int64)
    log = np.zeros(order + 1, dtype=np.int64)
    x = 1
    for i in range(order):
        exp[i] = x
        log[x] = i
        x <<= 1
        if x >> m:
            x ^= PRIMITIVE_POLYS[m]
    assert x == 1, "polynomial is not primitive"
    exp[order:2 * order + 1] = exp[0:order + 1]
    return exp, log


def gf_mul(a: int, b: int, m: int) -> int:
    """Product of two GF(2^m) elements."""
    if a == 0 or b == 0:
        return 0
    exp, log = field_tables(m)
    return int(exp[(log[a] + log[b]) % ((1 << m) - 1)])


def cyclotomic_coset(i: int, m: int) -> tuple[int, ...]:
    """``{i 2^s mod (2^m - 1)}`` sorted."""
    order = (1 << m) - 1
    out, j = set(), i % order
    while j not in out:
        out.add(j)
        j = (2 * j) % order
    return tuple(sorted(out))


def minimal_polynomial(i: int, m: int) -> int:
    """Minimal polynomial over GF(2) of ``alpha^i`` (int, bit k = coefficient of x^k)."""
    exp, _ = field_tables(m)
    poly = [1]                                   # coefficients in GF(2^m), lowest degree first
    for j in cyclotomic_coset(i, m):
        root = int(exp[j])
        new = [0] * (len(poly) + 1)
        for d, c in enumerate(poly):             # (x + root) * poly
            new[d + 1] ^= c
            new[d] ^= gf_mul(c, root, m)
        poly = new
    if any(c not in (0, 1) for c in poly):
        raise AssertionError("minimal polynomial has non-binary coefficients")
    return sum(c << d for d, c in enumerate(poly))


def poly_mul(a: int, b: int) -> int:
    """Product of GF(2) polynomials."""
    out = 0
    while b:
        if b & 1:
            out ^= a
        a <<= 1
        b >>= 1
    return out


def poly_mod(a: int, g: int) -> int:
    """Remainder of GF(2) polynomial ``a`` divided by ``g``."""
    dg = g.bit_length() - 1
    while a and a.bit_length() - 1 >= dg:
        a ^= g << (a.bit_length() - 1 - dg)
    return a


@lru_cache(maxsize=None)
def bch_generator(m: int, t: int) -> int:
    """Generator polynomial of the narrow-sense binary BCH code of length ``2^m - 1`` correcting ``t`` errors."""
    if t < 1 or 2 * t + 1 > (1 << m) - 1:
        raise QtamlError(f"t must be in 1..{((1 << m) - 2) // 2} for m = {m}, got {t}")
    seen, g = set(), 1
    for i in range(1, 2 * t, 2):
        coset = cyclotomic_coset(i, m)
        if coset in seen:
            continue
        seen.add(coset)
        g = poly_mul(g, minimal_polynomial(i, m))
    return g
