"""Quantization, as both backends compute it: which layers, at which bits (:mod:`.scheme`)."""

from fgir.quant.scheme import (BIT_LISTS, FLOAT_BITS, BitListMismatch, activation_bits, assign_bits,
                               quant_layers, weight_bits)

__all__ = ["BIT_LISTS", "BitListMismatch", "FLOAT_BITS", "activation_bits", "assign_bits", "quant_layers",
           "weight_bits"]
