"""Quantized convolutions in ONNX: real low-bit weights, activations through QuantizeLinear/DequantizeLinear.

``apply_quant`` marks convolutions with ``meta["w_bits"]`` and ``meta["a_bits"]``
(1 to 8, or 32 for float).  The torch backend trains them with fake
quantization (:mod:`fgir.backends.torch_quant`); this module emits the same
arithmetic for inference, with the codes stored at their real width:

* weights: symmetric per output channel, ``k`` bits: codes in
  ``[-(2^(k-1)-1), 2^(k-1)-1]`` with scale ``max|w| / (2^(k-1)-1)`` (1 bit:
  ``sign(w)`` with scale ``mean|w|``), expanded by ``DequantizeLinear`` along
  axis 0.  A BatchNorm after the conv folds into the per-channel scale, so the
  codes stay integers (a negative BN scale flips a channel's codes).
* activations (the conv's input): ``QuantizeLinear`` to unsigned codes with
  scale ``alpha / (2^k - 1)`` and zero point 0, then ``DequantizeLinear``.
  QuantizeLinear saturates to its container, which *is* torch's
  ``clamp(relu(x), 0, alpha)``: below 0 gives code 0, above ``alpha`` the top
  code (``alpha / scale`` rounds to ``2^k - 1`` exactly).  Both round half to
  even, so the codes equal torch's.  The conv's bias then follows it as an
  ``Add`` (:func:`bias_apart`), so that ONNX Runtime keeps the arithmetic float.

Containers (:func:`container`): 8 bits → INT8 weights / UINT8 activations; 4
bits → INT4 / UINT4 (two codes a byte; ONNX Runtime's CPU provider runs
per-axis INT4 ``DequantizeLinear``); any other width (1–3, 5–7) is held in the
8-bit container.  Weight codes already lie in their k-bit range, so they need
nothing more; an activation's codes get a ``Clip`` to ``[0, 2^k - 1]`` between
QuantizeLinear and DequantizeLinear, because QuantizeLinear saturates only at
the container's bounds.  INT4/UINT4 exist from opset 21: at opsets 17–20 the
4-bit layers use the 8-bit containers the same way (same numbers, twice the
weight bytes); the node's doc string says so.

Example:
    >>> import numpy as np
    >>> q, scale = quantize_weight(np.array([[[[0.5]], [[-1.0]]]], np.float32), 2)
    >>> q.ravel().tolist(), scale.tolist()
    ([0, -1], [1.0])
    >>> box = container(3, signed=False, opset=21)
    >>> box.data_type == TensorProto.UINT8, box.clip
    (True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from onnx import TensorProto

from fgir.ir.graph import Node
from fgir.quant.scheme import FLOAT_BITS, activation_bits

if TYPE_CHECKING:
    from fgir.backends.onnx.emitter import Emitter

INT4_OPSET = 21     # the first opset whose QuantizeLinear/DequantizeLinear take INT4/UINT4


@dataclass(frozen=True, slots=True)
class Container:
    """How ``k``-bit codes are stored: the ONNX element type, the numpy dtype the codes are computed
    in (4-bit codes are packed from it), and whether a ``Clip`` must bound them to ``k`` bits."""

    data_type: int
    dtype: type
    clip: bool


def container(bits: int, *, signed: bool, opset: int) -> Container:
    """The storage of ``bits``-bit codes: INT8/UINT8, or INT4/UINT4 for 4 bits from opset 21."""
    dtype = np.int8 if signed else np.uint8
    if bits == 4 and opset >= INT4_OPSET:
        return Container(TensorProto.INT4 if signed else TensorProto.UINT4, dtype, False)
    return Container(TensorProto.INT8 if signed else TensorProto.UINT8, dtype, bits != 8)


def bias_apart(node: Node) -> bool:
    """Whether the conv's bias goes in an ``Add`` after it (zeros if none): when its input is quantized.

    The graph means float arithmetic between DequantizeLinear and the next
    QuantizeLinear, as torch computes it.  ONNX Runtime (1.32, from its basic
    optimisation level) instead treats a Conv whose input comes from
    DequantizeLinear and whose output reaches a QuantizeLinear through nothing
    but Relu/Clip as an integer kernel (its WeightBiasQuantization transformer):
    it rounds the bias to int32 at scale ``s_x * s_w`` (a 2-bit ResNet-20 then
    changes half its predictions), quantizes *float* weights to int8 per tensor
    (so a 32-bit weight is not float), and with 4-bit inputs makes a QLinearConv
    that it then refuses to load.  An ``Add`` after the Conv ends that path.
    Its constant comes first: ORT's ConvAddFusion folds only ``Add(conv, b)``
    into the Conv's bias, which would bring the path back.
    """
    return activation_bits(node) < FLOAT_BITS


def quantize_weight(weight: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and the per-output-channel float32 scale, as the torch backend computes them."""
    flat = np.abs(weight.reshape(weight.shape[0], -1))
    if bits == 1:
        return np.sign(weight).astype(np.int8), flat.mean(axis=1, dtype=np.float32)
    qmax = np.float32(2 ** (bits - 1) - 1)
    scale = np.maximum(flat.max(axis=1), np.float32(1e-8)) / qmax
    codes = np.clip(np.round(weight / scale.reshape(-1, 1, 1, 1)), -qmax, qmax)
    return codes.astype(np.int8), scale.astype(np.float32)


def _container_note(bits: int, box: Container) -> str:
    """The doc string of a node whose codes sit in a wider container than their width."""
    if bits == 4 and box.data_type in (TensorProto.INT8, TensorProto.UINT8):
        return f"4-bit codes in an 8-bit container: opsets before {INT4_OPSET} have no 4-bit types"
    return ""


def dequantized_weight(em: Emitter, node: Node, codes: np.ndarray, scale: np.ndarray, bits: int) -> str:
    """The float weight as ``DequantizeLinear(codes, scale)``; a negative scale flips its codes."""
    box = container(bits, signed=True, opset=em.opset)
    sign = np.where(scale < 0, -1, 1).astype(np.int8)
    codes = codes * sign.reshape(-1, *([1] * (codes.ndim - 1)))
    inputs = [em.param(f"{node.name}.weight", codes, box.dtype, data_type=box.data_type),
              em.param(f"{node.name}.weight_scale", np.abs(scale))]
    return em.raw("DequantizeLinear", inputs, f"{node.name}/weight", f"{node.name}/weight",
                  _container_note(bits, box), axis=0)


def quantized_activation(em: Emitter, node: Node, x: str, bits: int) -> str:
    """``x`` clipped to ``[0, alpha]`` and rounded to ``2^bits`` levels, as a float tensor."""
    box = container(bits, signed=False, opset=em.opset)
    name, levels = node.name, 2 ** bits - 1
    alpha = np.float32(em.weights[f"{name}.act_alpha"])
    scale = em.param(f"{name}.act_scale", alpha / np.float32(levels))
    zero = em.param(f"{name}.act_zero_point", np.uint8(0), box.dtype, data_type=box.data_type)
    note = _container_note(bits, box)
    codes = em.raw("QuantizeLinear", [x, scale, zero], f"{name}/act_quant", f"{name}/act_quant", note)
    if box.clip:    # the container saturates at 255: the k-bit codes stop at 2^k - 1
        codes = em.raw("Clip", [codes, zero, em.param(f"{name}.act_max_code", np.uint8(levels), np.uint8)],
                       f"{name}/act_clip", f"{name}/act_clip", f"{bits}-bit codes in an 8-bit container")
    return em.raw("DequantizeLinear", [codes, scale, zero], f"{name}/act_dequant", f"{name}/act_dequant",
                  note)
