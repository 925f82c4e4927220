"""How each primitive IR op becomes ONNX nodes: one emission rule per op schema.

Each rule takes the :class:`~fgir.backends.onnx.emitter.Emitter`, the IR node
and the names of its input tensors, and returns the name of the tensor holding
the node's value.

Example:
    >>> import fgir, numpy as np
    >>> from fgir.ir.graph import Graph
    >>> from fgir.backends.onnx.emitter import Emitter
    >>> g = Graph(); x = g.add_input(); g.set_output(g.add("act", "relu", [x]))
    >>> g = fgir.compile(g, input="3x8x8")
    >>> em = Emitter(g, {}, {}, "N")
    >>> LOWERINGS["relu"](em, g["act"], ["input"]), em.nodes[0].op_type
    ('act', 'Relu')
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from fgir.backends.onnx.emitter import Emitter, where
from fgir.backends.onnx.quant import (bias_apart, bias_grid, emit_point, emit_quantized_linear, input_scale,
                                     quantized_bias, quantized_weight)
from fgir.backends.onnx.weights import batch_norm_affine, batch_norm_fold_float32, fold_batch_norm
from fgir.ir.graph import Node
from fgir.ir.patterns import is_point
from fgir.quant.scheme import FLOAT_BITS, weight_bits


def _pads(padding: list[int]) -> list[int]:
    ph, pw = padding
    return [ph, pw, ph, pw]     # ONNX: all begins, then all ends


def _conv(em: Emitter, node: Node, xs: list[str]) -> str:
    a = node.attrs
    weight = em.weights[f"{node.name}.weight"]
    bias = em.weights[f"{node.name}.bias"] if a["bias"] else np.zeros(a["out_channels"], np.float32)
    bn = em.folds.get(node.name)
    note = f"; batch_norm '{bn.name}' folded in" if bn is not None else ""
    attrs = dict(kernel_shape=a["kernel_size"], strides=a["stride"], pads=_pads(a["padding"]),
                 dilations=a["dilation"], group=a["groups"])
    if weight_bits(node) < FLOAT_BITS:
        return _quantized_conv(em, node, xs[0], weight, bias, bn, note, attrs)
    if bn is not None:
        weight, bias = fold_batch_norm(weight, bias, bn, em.weights)
    w = em.param(f"{node.name}.weight", weight)
    if bias_apart(em, node):
        return _conv_then_bias(em, node, [xs[0], w], bias, bn, note, attrs)
    inputs = [xs[0], w] if not a["bias"] and bn is None else [xs[0], w, em.param(f"{node.name}.bias", bias)]
    return em.op("Conv", inputs, node, value=bn, note=note, **attrs)


def _quantized_conv(em: Emitter, node: Node, x: str, weight: np.ndarray, bias: np.ndarray, bn: Node | None,
                    note: str, attrs: dict) -> str:
    """Conv(DQ(x), DQ(codes), DQ(int32 bias)): the integer kernel's pattern (see onnx.quant)."""
    factor = np.ones(weight.shape[0], np.float32)
    if bn is not None:
        factor, bias = batch_norm_fold_float32(bn, em.weights, bias)
    w, weight_scale = quantized_weight(em, node, weight, factor)
    scale = input_scale(em, node)
    if scale is not None and bias_apart(em, node):    # 4-bit storage: the same rounded bias, after the Conv
        codes, step = bias_grid(bias, scale, weight_scale)
        return _conv_then_bias(em, node, [x, w], (codes * step).astype(np.float32), bn, note, attrs)
    if scale is not None:
        b, _ = quantized_bias(em, node, bias, scale, weight_scale)
    else:
        b = em.param(f"{node.name}.bias", bias)
    return em.op("Conv", [x, w, b], node, value=bn, note=note, **attrs)


def _conv_then_bias(em: Emitter, node: Node, inputs: list[str], bias: np.ndarray, bn: Node | None, note: str,
                    attrs: dict) -> str:
    """Add(bias, Conv(x, w)): its constant first, since ORT's ConvAddFusion folds only Add(conv, b) back in."""
    conv = em.raw("Conv", inputs, node.name, f"{node.name}/conv", f"{where(node)}{note}", **attrs)
    return em.op("Add", [em.param(f"{node.name}.bias", bias.reshape(-1, 1, 1)), conv], node, value=bn,
                 name=f"{node.name}/bias", note="; the conv's bias, outside the Conv so that ONNX Runtime "
                                                "keeps this conv's arithmetic float")


def _batch_norm_node(em: Emitter, node: Node, xs: list[str]) -> str:
    name, c = node.name, node.attrs["num_features"]
    if node.attrs["affine"]:
        scale, shift = em.weights[f"{name}.weight"], em.weights[f"{name}.bias"]
    else:
        scale, shift = np.ones(c, np.float32), np.zeros(c, np.float32)
    inputs = [xs[0], em.param(f"{name}.weight", scale), em.param(f"{name}.bias", shift),
              em.param(f"{name}.running_mean", em.weights[f"{name}.running_mean"]),
              em.param(f"{name}.running_var", em.weights[f"{name}.running_var"])]
    return em.op("BatchNormalization", inputs, node, epsilon=float(node.attrs["eps"]))


def _batch_norm_affine(em: Emitter, node: Node, xs: list[str]) -> str:
    """A BN with no conv to fold into, as a per-channel Mul and Add (inference form, no BN node)."""
    scale, shift = batch_norm_affine(node, em.weights)
    shape = (-1, 1, 1)
    scaled = em.raw("Mul", [xs[0], em.param(f"{node.name}.scale", scale.reshape(shape))],
                    f"{node.name}/scale", f"{node.name}/scaled")
    return em.op("Add", [scaled, em.param(f"{node.name}.shift", shift.reshape(shape))], node)


def _pool(op_type: str, **extra: Any) -> Callable[[Emitter, Node, list[str]], str]:
    def lower(em: Emitter, node: Node, xs: list[str]) -> str:
        a = node.attrs
        return em.op(op_type, xs, node, kernel_shape=a["kernel_size"], strides=a["stride"],
                     pads=_pads(a["padding"]), **extra)
    return lower


def adaptive_matrix(size: int, out: int) -> np.ndarray:
    """The ``out x size`` averaging matrix of torch's adaptive pooling along one axis.

    >>> adaptive_matrix(3, 2).tolist()
    [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]
    """
    m = np.zeros((out, size), np.float32)
    for i in range(out):
        start, end = (i * size) // out, -(-((i + 1) * size) // out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def _adaptive_avg_pool(em: Emitter, node: Node, xs: list[str]) -> str:
    oh, ow = node.attrs["output_size"]
    _, h, w = em.input_type(node).dims
    if (oh, ow) == (1, 1):
        return em.op("GlobalAveragePool", xs, node)
    if h % oh == 0 and w % ow == 0:
        k = [h // oh, w // ow]
        return em.op("AveragePool", xs, node, kernel_shape=k, strides=k)
    # uneven windows (ONNX has no adaptive pooling): average rows, then columns, by matrix products
    cols = em.raw("MatMul", [xs[0], em.param(f"{node.name}.cols", adaptive_matrix(w, ow).T)],
                  f"{node.name}/cols", f"{node.name}/cols")
    return em.op("MatMul", [em.param(f"{node.name}.rows", adaptive_matrix(h, oh)), cols], node)


def _linear(em: Emitter, node: Node, xs: list[str]) -> str:
    if weight_bits(node) < FLOAT_BITS:    # QGemm in ONNX Runtime (onnx.quant)
        return emit_quantized_linear(em, node, xs[0])
    if not em.input_type(node).is_flat:   # Gemm is 2-D only: MatMul and Add (tokens, channels last)
        return rules_sequence.linear_on_tokens(em, node, xs)
    inputs = [xs[0], em.param(f"{node.name}.weight", em.weights[f"{node.name}.weight"])]
    if node.attrs["bias"]:
        inputs.append(em.param(f"{node.name}.bias", em.weights[f"{node.name}.bias"]))
    return em.op("Gemm", inputs, node, transB=1)


def _silu(em: Emitter, node: Node, xs: list[str]) -> str:
    """x * sigmoid(x): ONNX has no SiLU before opset 24 (Swish), and ORT fuses this pair."""
    gate = em.raw("Sigmoid", xs, f"{node.name}/sigmoid", f"{node.name}/sigmoid", where(node))
    return em.op("Mul", [xs[0], gate], node)


def _relu(em: Emitter, node: Node, xs: list[str]) -> str:
    """Relu; nothing at all before an unsigned quantization point, whose QuantizeLinear (zero point 0)
    saturates negatives to code 0 itself — so ONNX Runtime sees Add → QuantizeLinear and runs QLinearAdd."""
    if len(node.users) == 1 and is_point(node.users[0]) and not node.users[0].attrs["zero_point"]:
        return xs[0]
    return em.op("Relu", xs, node)


def _relu6(em: Emitter, node: Node, xs: list[str]) -> str:
    low = em.param(f"{node.name}.min", np.float32(0.0))
    high = em.param(f"{node.name}.max", np.float32(6.0))
    return em.op("Clip", [xs[0], low, high], node)


def _passthrough(em: Emitter, node: Node, xs: list[str]) -> str:
    return xs[0]    # dropout and identity do nothing at inference: no node at all


LOWERINGS: dict[str, Callable[[Emitter, Node, list[str]], str]] = {
    "input": lambda em, node, xs: node.name,    # the graph input: the model's input of that name
    "conv2d": _conv,
    "batch_norm": _batch_norm_affine,    # the driver folds most BNs into their conv first
    "relu": _relu,
    "relu6": _relu6,
    "silu": _silu,
    "sigmoid": lambda em, node, xs: em.op("Sigmoid", xs, node),
    # torch's hardsigmoid is relu6(x + 3) / 6
    "hard_sigmoid": lambda em, node, xs: em.op("HardSigmoid", xs, node, alpha=1.0 / 6.0, beta=0.5),
    "hard_swish": lambda em, node, xs: em.op("HardSwish", xs, node),
    "max_pool2d": _pool("MaxPool"),
    # count_include_pad: torch's default (1) counts the padding in the mean
    "avg_pool2d": lambda em, node, xs: _pool(
        "AveragePool", count_include_pad=int(node.attrs["count_include_pad"]))(em, node, xs),
    "adaptive_avg_pool2d": _adaptive_avg_pool,
    "flatten": lambda em, node, xs: em.op("Flatten", xs, node, axis=1),
    "linear": _linear,
    "dropout": _passthrough,
    "stochastic_depth": _passthrough,
    "identity": _passthrough,
    "add": lambda em, node, xs: em.op("Add", xs, node),
    "mul": lambda em, node, xs: em.op("Mul", xs, node),
    "concat": lambda em, node, xs: em.op("Concat", xs, node, axis=node.attrs["dim"]),
    "quantize": lambda em, node, xs: emit_point(em, node, xs[0]),
}

# --keep-bn: BatchNormalization nodes instead of folding
KEEP_BN: dict[str, Callable[[Emitter, Node, list[str]], str]] = {"batch_norm": _batch_norm_node}

# the op groups kept in modules of their own (they may import this module's helpers: hence at the end)
from fgir.backends import plugin_rules  # noqa: E402
from fgir.backends.onnx import rules_sequence, rules_vision  # noqa: E402

LOWERINGS.update(rules_vision.LOWERINGS)
LOWERINGS.update(rules_sequence.LOWERINGS)


def adopt_plugin_rule(op: str, rule: Callable[[Emitter, Node, list[str]], str]) -> None:
    """Take a plugin op's ONNX rule."""
    LOWERINGS[op] = rule


for _op, _rule in plugin_rules.PLUGIN_ONNX.items():   # ops registered before onnx was imported
    adopt_plugin_rule(_op, _rule)
