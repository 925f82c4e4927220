"""Data sets fgir can train and calibrate on without downloading anything."""

from fgir.data.digits import digits_tensors

__all__ = ["digits_tensors"]
