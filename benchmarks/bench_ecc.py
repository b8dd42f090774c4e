"""ECC codec benchmark: (72,64) SECDED encode/decode throughput vs copying the same bytes (design.md section 3).

Side by side in one run over the same N random 64-bit data words: ``np.copyto`` of the N
uint64 data words plus their N uint16 check words (the floor: a codec has to read and write
that much), ``SECDED(64).encode`` (8 byte-table gathers XORed) and ``SECDED(64).decode``
(re-encode, syndrome, two table lookups) on words with one random flip each.  Reported in
words/s and as time ratios to the copy.
"""

from __future__ import annotations

import numpy as np

from benchmarks._timing import best_of


def run(*, quick: bool = False) -> dict:
    from qtaml_hw.ecc import SECDED

    n = 200_000 if quick else 2_000_000
    code = SECDED(64)
    gen = np.random.default_rng(0)
    data = gen.integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2) + gen.integers(0, 2, n, dtype=np.uint64)
    cw = code.encode(data)
    pos = gen.integers(0, 64, n).astype(np.uint64)
    bad = cw._replace(data=cw.data ^ (np.uint64(1) << pos))
    dst_d, dst_c = np.empty_like(cw.data), np.empty_like(cw.check)

    def copy():
        np.copyto(dst_d, cw.data)
        np.copyto(dst_c, cw.check)

    copy()
    t_copy = best_of(copy, repeat=5)
    t_enc = best_of(lambda: code.encode(data))
    t_dec = best_of(lambda: code.decode(bad))
    d, st = code.decode(bad)
    assert np.array_equal(d, data) and np.all(st == 1)  # every word corrected: the timed work is real
    return {"code": "(72,64) SECDED", "words": n, "copy_s": t_copy, "encode_s": t_enc, "decode_s": t_dec,
            "copy_words_per_s": n / t_copy, "encode_words_per_s": n / t_enc, "decode_words_per_s": n / t_dec,
            "encode_ratio_vs_copy": t_enc / t_copy, "decode_ratio_vs_copy": t_dec / t_copy,
            "ratio": t_dec / t_copy}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
