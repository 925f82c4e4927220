"""ONNX rules of the sequence ops (:mod:`fgir.ir.ops.sequence`, ``attention``, ``shape``).

Multi-head attention is emitted as ONNX Runtime's fused attention kernel: the
standard ``Attention`` op from opset 23, else ONNX Runtime's contrib
``com.microsoft.MultiHeadAttention`` (the q, k, v projections as MatMuls before
it, their bias inside it, the output projection after).  ORT's optimizer does not
fuse the same attention written as MatMul/Softmax/Transpose (checked with ORT
1.32: only ``FusedMatMul`` appears), hence the explicit op.

Example:
    >>> sorted(LOWERINGS)[:3]
    ['channel_shuffle', 'class_token', 'layer_scale']
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from fgir.backends.onnx.emitter import Emitter, where
from fgir.backends.onnx.quant import dense_weight, quantize_weight
from fgir.ir.graph import Node
from fgir.ir.ops import weight_key
from fgir.ir.ops.shape import slice_range, transpose_axes
from fgir.quant.scheme import FLOAT_BITS, weight_bits

CONTRIB = "com.microsoft"
FIRST_ATTENTION_OPSET = 23   # the standard Attention op


def _ints(em: Emitter, name: str, values: list[int]) -> str:
    return em.param(name, np.asarray(values, np.int64), np.int64)


def _weight(em: Emitter, node: Node, key: str) -> np.ndarray:
    return em.weights[weight_key(node.name, key)]


def _own(em: Emitter, node: Node, array: np.ndarray | None = None) -> str:
    """The initializer of the node's own tensor (its weight named ""; ``array``: it reshaped). Not named
    by its state_dict key, the node's name: that names the node's output."""
    return em.param(f"{node.name}/tensor", _weight(em, node, "") if array is None else array)


def _linear_on_tokens(em: Emitter, node: Node, x: str, weight: str, bias: str | None) -> str:
    """x @ Wᵀ (+ b) on a sequence: Gemm takes 2-D inputs only, MatMul broadcasts over the batch."""
    w = em.param(f"{node.name}.{weight}", _weight(em, node, weight).T)
    if bias is None:
        return em.op("MatMul", [x, w], node)
    product = em.raw("MatMul", [x, w], f"{node.name}/matmul", f"{node.name}/matmul", where(node))
    return em.op("Add", [product, em.param(f"{node.name}.{bias}", _weight(em, node, bias))], node)


def linear_on_tokens(em: Emitter, node: Node, xs: list[str]) -> str:
    """Linear on a token sequence (rules.py's Gemm takes the flat vectors)."""
    return _linear_on_tokens(em, node, xs[0], "weight", "bias" if node.attrs["bias"] else None)


def _attention(em: Emitter, node: Node, xs: list[str]) -> str:
    a, name = node.attrs, node.name
    heads = a["num_heads"]
    w = _weight(em, node, "in_proj_weight")
    e = w.shape[0] // 3   # the heads' width: embed_dim, or fewer where heads were pruned
    b = _weight(em, node, "in_proj_bias") if a["bias"] else np.zeros(3 * e, np.float32)
    doc = where(node)
    if weight_bits(node) < FLOAT_BITS:    # integer q, k, v projections: MatMulIntegerToFloat (onnx.quant)
        codes, scale = quantize_weight(w, weight_bits(node))
        ws = [dense_weight(em, node, f"in_proj_weight.{s}", codes[i * e:(i + 1) * e], scale[i * e:(i + 1) * e])
              for i, s in enumerate("qkv")]
    else:
        ws = [em.param(f"{name}.in_proj_weight.{s}", w[i * e:(i + 1) * e].T) for i, s in enumerate("qkv")]
    q, k, v = (em.raw("MatMul", [xs[0], ws[i]], f"{name}/{s}", f"{name}/{s}", doc) for i, s in enumerate("qkv"))
    if em.opset >= FIRST_ATTENTION_OPSET:
        q, k, v = (em.raw("Add", [t, em.param(f"{name}.in_proj_bias.{s}", b[i * e:(i + 1) * e])],
                          f"{name}/{s}_bias", f"{name}/{s}_bias", doc)
                   for i, (t, s) in enumerate(zip((q, k, v), "qkv")))
        out = em.raw("Attention", [q, k, v], f"{name}/attention", f"{name}/attention", doc,
                     q_num_heads=heads, kv_num_heads=heads)
    else:
        out = em.raw("MultiHeadAttention", [q, k, v, em.param(f"{name}.in_proj_bias", b)], f"{name}/attention",
                     f"{name}/attention", doc, domain=CONTRIB, num_heads=heads)
    return _linear_on_tokens(em, node, out, "out_proj.weight", "out_proj.bias" if a["bias"] else None)


def _class_token(em: Emitter, node: Node, xs: list[str]) -> str:
    """Concat(Expand(token, [N, 1, D]), x) along the tokens; N read off x's shape."""
    name, d = node.name, node.attrs["embed_dim"]
    batch = em.raw("Shape", xs, f"{name}/batch", f"{name}/batch", where(node), start=0, end=1)
    shape = em.raw("Concat", [batch, _ints(em, f"{name}.token_shape", [1, d])], f"{name}/shape",
                   f"{name}/shape", axis=0)
    token = em.raw("Expand", [_own(em, node), shape],
                   f"{name}/expand", f"{name}/expand")
    return em.op("Concat", [token, xs[0]], node, axis=1)


def _layer_scale(em: Emitter, node: Node, xs: list[str]) -> str:
    scale = _weight(em, node, "")
    scale = scale if em.input_type(node).is_image else scale.reshape(-1)   # along the last axis
    return em.op("Mul", [xs[0], _own(em, node, scale)], node)


def _slice(em: Emitter, node: Node, xs: list[str]) -> str:
    axis, kept = slice_range(node.attrs, em.input_type(node))
    name = node.name
    return em.op("Slice", [xs[0], _ints(em, f"{name}.starts", [kept.start]), _ints(em, f"{name}.ends", [kept.stop]),
                           _ints(em, f"{name}.axes", [axis + 1]), _ints(em, f"{name}.steps", [kept.step])], node)


def _channel_shuffle(em: Emitter, node: Node, xs: list[str]) -> str:
    """torch's ChannelShuffle: C as groups x C/groups, swapped, flattened back."""
    name, g = node.name, node.attrs["groups"]
    c, h, w = em.input_type(node).dims
    split = em.raw("Reshape", [xs[0], _ints(em, f"{name}.split", [0, g, c // g, h, w])], f"{name}/split",
                   f"{name}/split", where(node))
    swapped = em.raw("Transpose", [split], f"{name}/swap", f"{name}/swap", perm=[0, 2, 1, 3, 4])
    return em.op("Reshape", [swapped, _ints(em, f"{name}.shape", [0, c, h, w])], node)


LOWERINGS: dict[str, Callable[[Emitter, Node, list[str]], str]] = {
    "matmul": lambda em, node, xs: em.op("MatMul", xs, node),
    "multihead_attention": _attention,
    "class_token": _class_token,
    "position_embedding": lambda em, node, xs: em.op("Add", [xs[0], _own(em, node)], node),
    "layer_scale": _layer_scale,
    # 0 keeps the batch; the rest is the inferred sample shape (no -1 left)
    "reshape": lambda em, node, xs: em.op("Reshape", [xs[0], _ints(em, f"{node.name}.shape", [0, *node.type.dims])],
                                          node),
    "permute": lambda em, node, xs: em.op("Transpose", xs, node,
                                          perm=[d + node.type.rank + 1 if d < 0 else d for d in node.attrs["dims"]]),
    "transpose": lambda em, node, xs: em.op("Transpose", xs, node,
                                            perm=[0, *(a + 1 for a in transpose_axes(node.attrs, node.type.rank))]),
    "slice": _slice,
    "channel_shuffle": _channel_shuffle,
}
