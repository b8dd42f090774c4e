"""Quantized weight memory: codes, quantization, fault injection, error moments (design.md section 2)."""

from qtaml_hw.memory.codes import (CODES, bit_weights, bitplanes, code_dtype, code_offset, decode_codes,
                                   encode_values, value_range)
from qtaml_hw.memory.inject import FlipModel, flip_bitplanes, flip_bits
from qtaml_hw.memory.quantize import QuantizedTensor, quantize

__all__ = ["CODES", "bit_weights", "bitplanes", "code_dtype", "code_offset", "decode_codes", "encode_values",
           "value_range", "FlipModel", "flip_bitplanes", "flip_bits", "QuantizedTensor", "quantize"]
from qtaml_hw.memory.moments import (bit_variance_contributions, dequantized_error_variance, hierarchy_shares,
                                     mean_drift_affine, moments, protected_part, residual_fraction,
                                     residual_variance_curve, signmag_drift)

__all__ += ["bit_variance_contributions", "dequantized_error_variance", "hierarchy_shares", "mean_drift_affine",
            "moments", "protected_part", "residual_fraction", "residual_variance_curve", "signmag_drift"]
