"""ECC: Hamming SEC / Hsiao SECDED / BCH / repetition (TMR) codes, exact outcome rates, ideal MSB protection, placement, overhead (design.md section 3).

One source of truth: :func:`parity_check` generates each code's H matrix; the NumPy codecs
(:class:`SEC`, :class:`SECDED`) and the Verilog encoder/decoder (``python -m
qtaml_hw.ecc.verilog`` -> ``rtl/secded_enc.v``, ``rtl/secded_dec.v``) are both built from it.
"""

from qtaml_hw.ecc.bch import BCH, CODE_FAMILY, Repetition, build_code, check_bits_of
from qtaml_hw.ecc.codec import (CLEAN, CORRECTED, DETECTED, OUTCOMES, STATUS_NAMES, Codeword, LinearCode, SEC,
                                SECDED, classify, make_code, outcome_counts)
from qtaml_hw.ecc.ideal import IdealMSB
from qtaml_hw.ecc.matrix import CODE_KINDS, ParityCheck, check_bits_for, parity_check
from qtaml_hw.ecc.overhead import GROUP, check_bits, overhead_factor, plan_check_bits, plan_overhead, sram_storage
from qtaml_hw.ecc.placement import ERASURES, ECCSampler, pack_planes, protected_read, unpack_planes, word_of_weight
from qtaml_hw.ecc.rates import binary_entropy, capacity_floor, code_rates, outcome_rates

__all__ = ["BCH", "CODE_FAMILY", "ERASURES", "Repetition", "binary_entropy", "build_code", "capacity_floor",
           "check_bits_of", "code_rates", "outcome_rates", "word_of_weight", "CLEAN", "CORRECTED", "DETECTED", "OUTCOMES", "STATUS_NAMES", "Codeword", "LinearCode", "SEC", "SECDED",
           "classify", "make_code", "outcome_counts", "IdealMSB", "CODE_KINDS", "ParityCheck", "check_bits_for",
           "parity_check", "GROUP", "check_bits", "overhead_factor", "plan_check_bits", "plan_overhead",
           "sram_storage", "ECCSampler", "pack_planes", "protected_read", "unpack_planes"]
