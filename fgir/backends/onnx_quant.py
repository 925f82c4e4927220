"""Quantized convolutions in ONNX: real low-bit weights and activations as QuantizeLinear/DequantizeLinear.

``apply_quant`` marks convolutions with ``meta["w_bits"]`` and ``meta["a_bits"]``
(1 to 8, or 32 for float).  The torch backend trains them with fake
quantization; this module emits the same arithmetic for inference:

* weights: symmetric per output channel, stored as int8 codes with a float
  scale per channel, expanded by ``DequantizeLinear`` (axis 0); ``k`` bits keep
  codes in ``[-(2^(k-1)-1), 2^(k-1)-1]`` with scale ``max|w| / (2^(k-1)-1)``;
  1 bit keeps ``sign(w)`` with scale ``mean|w|``.  A BatchNorm after the conv
  folds into the per-channel scale, so the codes stay integers.
* activations (the conv's input): ``Clip(x, 0, alpha)``, then ``QuantizeLinear``
  to uint8 with scale ``alpha / (2^k - 1)``, then ``DequantizeLinear``.  Both
  round half to even, as the torch backend does.

Example:
    >>> import numpy as np
    >>> q, scale = quantize_weight(np.array([[[[0.5]], [[-1.0]]]], np.float32), 2)
    >>> q.ravel().tolist(), scale.tolist()
    ([0, -1], [1.0])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fgir.ir.graph import Node

if TYPE_CHECKING:
    from fgir.backends.onnx_ops import Emitter

FLOAT_BITS = 32     # the bit width that means "not quantized" (apply_quant's convention)


def weight_bits(node: Node) -> int:
    return node.meta.get("w_bits", FLOAT_BITS)


def activation_bits(node: Node) -> int:
    return node.meta.get("a_bits", FLOAT_BITS)


def quantize_weight(weight: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and the per-output-channel float32 scale, as the torch backend computes them."""
    flat = np.abs(weight.reshape(weight.shape[0], -1))
    if bits == 1:
        return np.sign(weight).astype(np.int8), flat.mean(axis=1, dtype=np.float32)
    qmax = np.float32(2 ** (bits - 1) - 1)
    scale = np.maximum(flat.max(axis=1), np.float32(1e-8)) / qmax
    codes = np.clip(np.round(weight / scale.reshape(-1, 1, 1, 1)), -qmax, qmax)
    return codes.astype(np.int8), scale.astype(np.float32)


def dequantized_weight(em: Emitter, node: Node, codes: np.ndarray, scale: np.ndarray) -> str:
    """The float weight as ``DequantizeLinear(codes, scale)``; a negative scale flips its codes."""
    sign = np.where(scale < 0, -1, 1).astype(np.int8)
    codes = codes * sign.reshape(-1, *([1] * (codes.ndim - 1)))
    inputs = [em.param(f"{node.name}.weight", codes, np.int8),
              em.param(f"{node.name}.weight_scale", np.abs(scale))]
    return em.raw("DequantizeLinear", inputs, f"{node.name}/weight", f"{node.name}/weight", axis=0)


def quantized_activation(em: Emitter, node: Node, x: str, bits: int) -> str:
    """``x`` clipped to ``[0, alpha]`` and rounded to ``2^bits`` levels, as a float tensor."""
    alpha = np.float32(em.weights[f"{node.name}.act_alpha"])
    name = node.name
    clipped = em.raw("Clip", [x, em.param(f"{name}.act_min", np.float32(0)),
                              em.param(f"{name}.act_alpha", alpha)], f"{name}/act_clip",
                     f"{name}/act_clip")
    scale = em.param(f"{name}.act_scale", alpha / np.float32(2 ** bits - 1))
    zero = em.param(f"{name}.act_zero_point", np.uint8(0), np.uint8)
    codes = em.raw("QuantizeLinear", [clipped, scale, zero], f"{name}/act_quant", f"{name}/act_quant")
    return em.raw("DequantizeLinear", [codes, scale, zero], f"{name}/act_dequant", f"{name}/act_dequant")
