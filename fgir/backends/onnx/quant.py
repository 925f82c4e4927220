"""Quantized layers in ONNX: the integer form ONNX Runtime runs as QLinearConv, QLinearAdd and friends.

A quantization point (``quantize``) becomes ``QuantizeLinear`` (scalar scale and zero
point, UINT8) — a ``Clip`` to ``[0, 2^k - 1]`` after it for fewer than 8 bits, since
QuantizeLinear saturates only at the container's bounds — then ``DequantizeLinear``.
A quantized conv reads its input from such a point and becomes ``Conv(DQ(x), DQ(w),
DQ(b))``: weight codes symmetric per output channel with the BatchNorm after it folded
into their scale (a negative BN scale flips a channel's codes), the bias as INT32 on
the grid ``s_x · |s_w|``.  Its output reaches the next point directly (or through a
ReLU), so ONNX Runtime fuses the pattern into an integer kernel; residual adds and
pools between points become QLinearAdd, QLinearGlobalAveragePool; a max pool runs on
the codes.  The numbers are the torch backend's (:mod:`fgir.backends.torch.quant`).

Two forms (``form``):
* ``integer`` (the default): every weight in an INT8 container (codes of any width),
  so every quantized conv is an integer kernel.  Fast.
* ``storage``: 4-bit weights packed two a byte (INT4, from opset 21) and dequantized
  to float at run time; ONNX Runtime has no 4-bit conv kernel, so those convs run in
  float, their bias in an ``Add`` after them (which keeps ONNX Runtime from building
  an INT4 QLinearConv it cannot run).  Smallest file; the same numbers.
A conv whose weights stay float but whose input is quantized also keeps its bias in an
``Add`` (:func:`bias_apart`): else ONNX Runtime would quantize its float weights itself.

A quantized linear layer (:func:`emit_quantized_linear`) is ``Gemm(DQ(x), DQ(w), DQ(b))``
on a flat input, ``Add(MatMul(DQ(x), DQ(wᵀ)), DQ(b))`` on tokens or channels-last
positions: ONNX Runtime folds the pair into ``Gemm`` and runs it as QGemm (int32 bias
on the grid ``s_x · s_w``, float output: no point after it).  Its weight codes carry
an explicit zero point, without which ONNX Runtime does not fuse QGemm.  A quantized
attention's q, k and v projections are ``MatMul(DQ(x), DQ(wᵀ))``, which ONNX Runtime
runs as MatMulIntegerToFloat (their bias is added in the attention op, in float).
Linear weights are INT8 in both forms: ONNX Runtime has no 4-bit QGemm.

Example:
    >>> import numpy as np
    >>> q, scale = quantize_weight(np.array([[[[0.5]], [[-1.0]]]], np.float32), 2)
    >>> q.ravel().tolist(), scale.tolist()
    ([0, -1], [1.0])
    >>> scale_and_zero(4, {"alpha": np.float32(15)}), scale_and_zero(2, {"low": -1.0, "high": 2.0})
    ((1.0, 0), (1.0, 1))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import numpy as np
from onnx import TensorProto

from fgir.ir.graph import Node
from fgir.ir.patterns import is_point, point_source
from fgir.quant.scheme import (FLOAT_BITS, ONNX_FORMS, activation_bits, activation_levels, weight_bits,
                               weight_qmax)

if TYPE_CHECKING:
    from fgir.backends.onnx.emitter import Emitter

INT4_OPSET = 21     # the first opset whose DequantizeLinear takes INT4
FORMS = ONNX_FORMS


def scale_and_zero(bits: int, ranges: Mapping[str, np.ndarray]) -> tuple[float, int]:
    """A point's scale and zero point from its range tensors, in float32 as the torch backend computes them."""
    levels = np.float32(activation_levels(bits))
    if "alpha" in ranges:
        return float(np.float32(ranges["alpha"]) / levels), 0
    low, high = min(np.float32(ranges["low"]), np.float32(0)), max(np.float32(ranges["high"]), np.float32(0))
    scale = np.float32(np.float32(high - low) / levels)
    return float(scale), int(np.clip(np.round(-low / scale), 0, levels))


def point_params(em: "Emitter", point: Node) -> tuple[float, int]:
    """The scale and zero point of a point (a tied one's are its source's)."""
    source = point_source(point)
    names = ("low", "high") if source.attrs["zero_point"] else ("alpha",)
    return scale_and_zero(source.attrs["bits"], {n: em.weights[f"{source.name}.{n}"] for n in names})


def quantize_weight(weight: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (int8) and the per-output-channel float32 scale, as the torch backend computes them."""
    flat = np.abs(weight.reshape(weight.shape[0], -1))
    if bits == 1:
        return np.sign(weight).astype(np.int8), flat.mean(axis=1, dtype=np.float32)
    qmax = np.float32(weight_qmax(bits))
    scale = np.maximum(flat.max(axis=1), np.float32(1e-8)) / qmax
    codes = np.clip(np.round(weight / scale.reshape(-1, *[1] * (weight.ndim - 1))), -qmax, qmax)
    return codes.astype(np.int8), scale.astype(np.float32)


def emit_point(em: "Emitter", node: Node, x: str) -> str:
    """QuantizeLinear [Clip] DequantizeLinear: the tensor as ``bits``-bit codes, passed on dequantized."""
    source = point_source(node)
    scale, zero = point_params(em, node)
    names = (f"{source.name}.scale", f"{source.name}.zero_point")
    if source is node:
        em.param(names[0], np.float32(scale))
        em.param(names[1], np.uint8(zero), np.uint8)
    codes = em.raw("QuantizeLinear", [x, *names], f"{node.name}/quantize", f"{node.name}/codes")
    em.value_info.append(em.tensor_type(codes, node.type.dims, TensorProto.UINT8))
    bits = node.attrs["bits"]
    if bits < 8:    # the container saturates at 255: the k-bit codes stop at 2^k - 1
        low = em.param(f"{node.name}.min_code", np.uint8(0), np.uint8)
        high = em.param(f"{node.name}.max_code", np.uint8(activation_levels(bits)), np.uint8)
        codes = em.raw("Clip", [codes, low, high], f"{node.name}/clip", f"{node.name}/clipped",
                       f"{bits}-bit codes in an 8-bit container")
        em.value_info.append(em.tensor_type(codes, node.type.dims, TensorProto.UINT8))
    return em.op("DequantizeLinear", [codes, *names], node, name=f"{node.name}/dequantize")


def bias_apart(em: "Emitter", node: Node) -> bool:
    """Whether a quantized-input conv's bias goes in an ``Add`` after it (see the module docstring)."""
    if activation_bits(node) >= FLOAT_BITS:
        return False
    return weight_bits(node) >= FLOAT_BITS or _packed(em, weight_bits(node))


def _packed(em: "Emitter", bits: int) -> bool:
    return em.form == "storage" and bits == 4 and em.opset >= INT4_OPSET


def quantized_weight(em: "Emitter", node: Node, weight: np.ndarray, factor: np.ndarray) -> tuple[str, np.ndarray]:
    """``DequantizeLinear(codes, |s_w · factor|)`` (``factor``: the folded BatchNorm's per-channel scale),
    and that per-channel scale, which the bias's grid is made of."""
    bits = weight_bits(node)
    codes, scale = quantize_weight(weight, bits)
    folded = scale * factor.astype(np.float32)
    codes = codes * np.where(folded < 0, -1, 1).astype(np.int8).reshape(-1, 1, 1, 1)
    folded = np.abs(folded).astype(np.float32)
    if _packed(em, bits):
        stored = em.param(f"{node.name}.weight", codes, np.int8, data_type=TensorProto.INT4)
    else:
        stored = em.param(f"{node.name}.weight", codes, np.int8)
    inputs = [stored, em.param(f"{node.name}.weight_scale", folded)]
    return em.raw("DequantizeLinear", inputs, f"{node.name}/weight", f"{node.name}/weight", axis=0), folded


def bias_grid(bias: np.ndarray, input_scale: float, weight_scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bias rounded to the grid ``s_x · s_w`` QLinearConv adds on: (codes, still float; the step)."""
    step = (np.float32(input_scale) * weight_scale).astype(np.float32)
    return np.round(bias.astype(np.float32) / step), step


def quantized_bias(em: "Emitter", node: Node, bias: np.ndarray, input_scale: float,
                   weight_scale: np.ndarray) -> tuple[str, np.ndarray]:
    """The bias as INT32 codes on the grid ``s_x · s_w`` (what QLinearConv adds), dequantized; and its value."""
    rounded, step = bias_grid(bias, input_scale, weight_scale)
    codes = rounded.astype(np.int32)
    inputs = [em.param(f"{node.name}.bias", codes, np.int32), em.param(f"{node.name}.bias_scale", step)]
    value = (codes * step).astype(np.float32)
    return em.raw("DequantizeLinear", inputs, f"{node.name}/bias", f"{node.name}/bias", axis=0), value


def input_scale(em: "Emitter", node: Node) -> float | None:
    """The scale of a quantized layer's input codes, or None when its input is float."""
    source = node.inputs[0]
    return point_params(em, source)[0] if is_point(source) else None


def dense_weight(em: "Emitter", node: Node, key: str, codes: np.ndarray, scale: np.ndarray) -> str:
    """``DequantizeLinear`` of a dense layer's ``(out, in)`` weight codes, transposed (``in x out``, as
    MatMul's B) with a per-column scale and an explicit zero point (ONNX Runtime's QGemm fusion needs one)."""
    inputs = [em.param(f"{node.name}.{key}", np.ascontiguousarray(codes.T), np.int8),
              em.param(f"{node.name}.{key}_scale", scale),
              em.param(f"{node.name}.{key}_zero_point", np.zeros(len(scale), np.int8), np.int8)]
    return em.raw("DequantizeLinear", inputs, f"{node.name}/{key}", f"{node.name}/{key}", axis=1)


def emit_quantized_linear(em: "Emitter", node: Node, x: str) -> str:
    """A linear layer with quantized weights: ``Gemm`` (flat input) or ``MatMul`` then ``Add`` (tokens,
    channels last), on DQ inputs, its bias as INT32 on the grid ``s_x · s_w`` where its input is quantized."""
    codes, scale = quantize_weight(em.weights[f"{node.name}.weight"], weight_bits(node))
    w = dense_weight(em, node, "weight", codes, scale)
    bias = None
    if node.attrs["bias"]:
        value = em.weights[f"{node.name}.bias"]
        scale_x = input_scale(em, node)
        bias = (quantized_bias(em, node, value, scale_x, scale)[0] if scale_x is not None
                else em.param(f"{node.name}.bias", value))
    if em.input_type(node).is_flat:
        return em.op("Gemm", [x, w] + ([bias] if bias else []), node)
    if bias is None:
        return em.op("MatMul", [x, w], node)
    product = em.raw("MatMul", [x, w], f"{node.name}/matmul", f"{node.name}/matmul")
    return em.op("Add", [product, bias], node)
