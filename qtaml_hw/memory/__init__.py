"""Quantized weight memory: codes, quantization, fault injection, error moments (design.md section 2).

This package is the one home of the section-2 formulas: the code table and bit-range rule
(:mod:`.codes`), the flip model and injector (:mod:`.inject`), and the closed-form moments
and residual curves ``R(m)`` (:mod:`.moments`). Higher layers (ecc, tac, nn) import them.
"""

from qtaml_hw.memory.codes import (CODES, MAX_BITS, MIN_BITS, bit_weights, bitplanes, check_bits_code, code_dtype,
                                   code_offset, code_weights, decode_codes, encode_values, value_range)
from qtaml_hw.memory.inject import FlipModel, check_protect, flip_bitplanes, flip_bits
from qtaml_hw.memory.moments import (bit_stats, bit_variance_contributions, dequantized_error_variance,
                                     hierarchy_shares, mean_drift_affine, moments, protected_part, residual_curve,
                                     residual_fraction, residual_variance_curve, signmag_drift, variance_shares)
from qtaml_hw.memory.quantize import QuantizedTensor, quantize

__all__ = ["CODES", "MAX_BITS", "MIN_BITS", "FlipModel", "QuantizedTensor", "bit_stats", "bit_variance_contributions",
           "bit_weights", "bitplanes", "check_bits_code", "check_protect", "code_dtype", "code_offset", "code_weights",
           "decode_codes", "dequantized_error_variance", "encode_values", "flip_bitplanes", "flip_bits",
           "hierarchy_shares", "mean_drift_affine", "moments", "protected_part", "quantize", "residual_curve",
           "residual_fraction", "residual_variance_curve", "signmag_drift", "value_range", "variance_shares"]
