"""Quantization, as both backends compute it: which layers at which bits (:mod:`.scheme`), and where
tensors are held as integer codes (:mod:`.points`)."""

from fgir.quant.points import insert_points
from fgir.quant.scheme import (BIT_LISTS, FLOAT_BITS, BitListMismatch, activation_bits, activation_levels,
                               assign_bits, quant_layers, weight_bits, weight_qmax)

__all__ = ["BIT_LISTS", "BitListMismatch", "FLOAT_BITS", "activation_bits", "activation_levels", "assign_bits",
           "insert_points", "quant_layers", "weight_bits", "weight_qmax"]
