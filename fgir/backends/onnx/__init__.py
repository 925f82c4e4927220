"""The ONNX backend: lowered IR + weights → an ONNX model for inference, emitted directly (no tracing)."""

from fgir.backends.onnx.build import (BATCH_DIM, DEFAULT_OPSET, MIN_OPSET, build_model, check_opset,
                                      max_opset)
from fgir.backends.onnx.io import EXTERNAL_THRESHOLD, save_atomic

__all__ = ["BATCH_DIM", "DEFAULT_OPSET", "EXTERNAL_THRESHOLD", "MIN_OPSET", "build_model", "check_opset",
           "max_opset", "save_atomic"]
