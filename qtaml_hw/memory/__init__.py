"""Quantized weight memory: codes, quantization, fault injection, error moments (design.md section 2)."""

from qtaml_hw.memory.codes import (CODES, bit_weights, bitplanes, code_dtype, code_offset, decode_codes,
                                   encode_values, value_range)
from qtaml_hw.memory.inject import FlipModel, flip_bitplanes, flip_bits
from qtaml_hw.memory.quantize import QuantizedTensor, quantize

__all__ = ["CODES", "bit_weights", "bitplanes", "code_dtype", "code_offset", "decode_codes", "encode_values",
           "value_range", "FlipModel", "flip_bitplanes", "flip_bits", "QuantizedTensor", "quantize"]
