"""ECC: Hamming SEC / Hsiao SECDED codes, ideal MSB protection, placement, overhead (design.md section 3).

One source of truth: :func:`parity_check` generates each code's H matrix; the NumPy codecs
(:class:`SEC`, :class:`SECDED`) and the Verilog encoder/decoder (``python -m
qtaml_hw.ecc.verilog`` -> ``rtl/secded_enc.v``, ``rtl/secded_dec.v``) are both built from it.
"""

from qtaml_hw.ecc.codec import (CLEAN, CORRECTED, DETECTED, OUTCOMES, STATUS_NAMES, Codeword, LinearCode, SEC,
                                SECDED, classify, make_code, outcome_counts)
from qtaml_hw.ecc.ideal import IdealMSB
from qtaml_hw.ecc.matrix import CODE_KINDS, ParityCheck, check_bits_for, parity_check
from qtaml_hw.ecc.overhead import GROUP, check_bits, overhead_factor, plan_check_bits, plan_overhead, sram_storage
from qtaml_hw.ecc.placement import ECCSampler, pack_planes, protected_read, unpack_planes

__all__ = ["CLEAN", "CORRECTED", "DETECTED", "OUTCOMES", "STATUS_NAMES", "Codeword", "LinearCode", "SEC", "SECDED",
           "classify", "make_code", "outcome_counts", "IdealMSB", "CODE_KINDS", "ParityCheck", "check_bits_for",
           "parity_check", "GROUP", "check_bits", "overhead_factor", "plan_check_bits", "plan_overhead",
           "sram_storage", "ECCSampler", "pack_planes", "protected_read", "unpack_planes"]
