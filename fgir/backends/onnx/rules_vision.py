"""ONNX rules of the vision ops (``fgir.ir.ops.vision`` and ``.resample``), each matching torch's arithmetic.

Ops that a newer opset has as one node use it there and a decomposition before:
GroupNormalization (per-channel scale) from opset 21, Gelu from 20, Resize's
``axes`` from 18; the emitter's opset decides.

Example:
    >>> import fgir
    >>> graph = fgir.compile("search_space:\\n  modules: [a]\\n  a: {type: GroupNorm, num_groups: 2}\\n",
    ...                      input="4x3x3")
    >>> [n.op_type for n in fgir.to_onnx(graph, seed=0, opset=17).graph.node]
    ['Reshape', 'InstanceNormalization', 'Reshape', 'Mul', 'Add']
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from fgir.backends.onnx.emitter import Emitter, where
from fgir.backends.onnx.rules import _pads
from fgir.ir.graph import Node

INT64_MAX = np.iinfo(np.int64).max


class _Helpers:
    """Helper nodes of one IR node, named ``node/what`` and located at its spec line."""

    def __init__(self, em: Emitter, node: Node) -> None:
        self.em, self.node = em, node

    def raw(self, op_type: str, inputs: list[str], what: str, **attrs) -> str:
        name = f"{self.node.name}/{what}"
        return self.em.raw(op_type, inputs, name, name, where(self.node), **attrs)

    def const(self, what: str, value, dtype: type = np.float32) -> str:
        return self.em.param(f"{self.node.name}.{what}", np.asarray(value, dtype), dtype)


def _affine_inputs(em: Emitter, node: Node, c: int, affine: bool, bias: bool = True) -> list[str]:
    """The scale and (optional) bias of a norm: its weights, or ones and zeros without them."""
    name = node.name
    scale = em.weights[f"{name}.weight"] if affine else np.ones(c, np.float32)
    out = [em.param(f"{name}.weight", scale)]
    if bias or not affine:
        shift = em.weights[f"{name}.bias"] if affine and bias else np.zeros(c, np.float32)
        out.append(em.param(f"{name}.bias", shift))
    return out


def _layer_norm(em: Emitter, node: Node, xs: list[str]) -> str:
    """LayerNormalization over the last axis; an image's channels are moved there and back (LayerNorm2d)."""
    a = node.attrs
    params = _affine_inputs(em, node, a["normalized_shape"], a["elementwise_affine"], a["bias"])
    if not a["channels_first"]:
        return em.op("LayerNormalization", [xs[0], *params], node, axis=-1, epsilon=float(a["eps"]))
    h = _Helpers(em, node)
    last = h.raw("Transpose", xs, "to_channels_last", perm=[0, 2, 3, 1])
    normed = h.raw("LayerNormalization", [last, *params], "norm", axis=-1, epsilon=float(a["eps"]))
    return em.op("Transpose", [normed], node, perm=[0, 3, 1, 2])


def _group_norm(em: Emitter, node: Node, xs: list[str]) -> str:
    a = node.attrs
    c, groups, eps = a["num_channels"], a["num_groups"], float(a["eps"])
    if em.opset >= 21:   # GroupNormalization-21: a scale and bias per channel, as torch's
        return em.op("GroupNormalization", [xs[0], *_affine_inputs(em, node, c, a["affine"])], node,
                     num_groups=groups, epsilon=eps)
    # before 21: each group as one instance of InstanceNormalization (N, G, C/G*H*W), then the affine
    h = _Helpers(em, node)
    _, height, width = em.input_type(node).dims
    grouped = h.raw("Reshape", [xs[0], h.const("groups_shape", [0, groups, -1], np.int64)], "group")
    normed = h.raw("InstanceNormalization", [grouped, h.const("ones", np.ones(groups)),
                                             h.const("zeros", np.zeros(groups))], "norm", epsilon=eps)
    shape = h.const("image_shape", [0, c, height, width], np.int64)
    if not a["affine"]:
        return em.op("Reshape", [normed, shape], node)
    back = h.raw("Reshape", [normed, shape], "ungroup")
    scaled = h.raw("Mul", [back, em.param(f"{node.name}.weight", em.weights[f"{node.name}.weight"].reshape(-1, 1, 1))],
                   "scale")
    return em.op("Add", [scaled, em.param(f"{node.name}.bias", em.weights[f"{node.name}.bias"].reshape(-1, 1, 1))],
                 node)


def _gelu(em: Emitter, node: Node, xs: list[str]) -> str:
    approximate = node.attrs["approximate"]
    if em.opset >= 20:
        return em.op("Gelu", xs, node, approximate=approximate)
    h, x = _Helpers(em, node), xs[0]
    if approximate == "tanh":   # x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = h.raw("Mul", [h.raw("Mul", [x, x], "square"), x], "cube")
        inner = h.raw("Add", [x, h.raw("Mul", [cube, h.const("c", 0.044715)], "cubic")], "inner")
        gate = h.raw("Tanh", [h.raw("Mul", [inner, h.const("k", math.sqrt(2 / math.pi))], "scaled")], "tanh")
    else:                       # x/2 (1 + erf(x / sqrt(2)))
        gate = h.raw("Erf", [h.raw("Mul", [x, h.const("k", 1 / math.sqrt(2))], "scaled")], "erf")
    one_plus = h.raw("Add", [gate, h.const("one", 1.0)], "one_plus")
    half = h.raw("Mul", [x, h.const("half", 0.5)], "half")
    return em.op("Mul", [half, one_plus], node)


def _zero(em: Emitter, node: Node, xs: list[str]) -> str:
    """Mul by 0 (not a constant: its batch dim is the input's), strided first by a Slice as DARTS's Zero."""
    h, x, s = _Helpers(em, node), xs[0], node.attrs["stride"]
    if s != 1:
        x = h.raw("Slice", [x, h.const("starts", [0, 0], np.int64), h.const("ends", [INT64_MAX] * 2, np.int64),
                            h.const("axes", [2, 3], np.int64), h.const("steps", [s, s], np.int64)], "stride")
    return em.op("Mul", [x, h.const("zero", 0.0)], node)


def _pad(em: Emitter, node: Node, xs: list[str]) -> str:
    left, right, top, bottom = node.attrs["padding"]
    h = _Helpers(em, node)
    pads = h.const("pads", [0, 0, top, left, 0, 0, bottom, right], np.int64)   # all begins, then all ends
    return em.op("Pad", [xs[0], pads, h.const("value", float(node.attrs["value"]))], node, mode="constant")


def _upsample(em: Emitter, node: Node, xs: list[str]) -> str:
    """Resize with the coordinate mapping of torch's mode: nearest = asymmetric + floor; bilinear =
    align_corners, or half_pixel (not pytorch_half_pixel, whose length-1 output samples position 0 where
    torch samples the middle)."""
    a = node.attrs
    h = _Helpers(em, node)
    if a["mode"] == "nearest":
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    else:
        attrs = dict(mode="linear", coordinate_transformation_mode="align_corners" if a["align_corners"]
                     else "half_pixel")
    if len(xs) == 2:   # to the second input's H and W, read at run time: N, C of x then H, W of the other
        batch_channels = h.raw("Shape", [xs[0]], "shape", start=0, end=2)
        size = h.raw("Shape", [xs[1]], "like_shape", start=2, end=4)
        sizes = h.raw("Concat", [batch_channels, size], "sizes", axis=0)
        return em.op("Resize", [xs[0], "", "", sizes], node, **attrs)
    if a["size"] is None:   # scales, not the sizes they give: torch maps coordinates by 1/scale_factor
        scales = h.const("scales", [1.0, 1.0, *a["scale_factor"]])
        return em.op("Resize", [xs[0], "", scales], node, **attrs)
    if em.opset >= 18:
        return em.op("Resize", [xs[0], "", "", h.const("sizes", a["size"], np.int64)], node, axes=[2, 3], **attrs)
    # opset 17: sizes of every axis; N and C from the input's shape (N is dynamic)
    batch_channels = h.raw("Shape", [xs[0]], "shape", start=0, end=2)
    sizes = h.raw("Concat", [batch_channels, h.const("sizes", a["size"], np.int64)], "sizes", axis=0)
    return em.op("Resize", [xs[0], "", "", sizes], node, **attrs)


def _conv_transpose(em: Emitter, node: Node, xs: list[str]) -> str:
    a = node.attrs
    inputs = [xs[0], em.param(f"{node.name}.weight", em.weights[f"{node.name}.weight"])]
    if a["bias"]:
        inputs.append(em.param(f"{node.name}.bias", em.weights[f"{node.name}.bias"]))
    return em.op("ConvTranspose", inputs, node, kernel_shape=a["kernel_size"], strides=a["stride"],
                 pads=_pads(a["padding"]), output_padding=a["output_padding"], dilations=a["dilation"],
                 group=a["groups"])


LOWERINGS: dict[str, Callable[[Emitter, Node, list[str]], str]] = {
    "layer_norm": _layer_norm,
    "group_norm": _group_norm,
    "gelu": _gelu,
    "softmax": lambda em, node, xs: em.op("Softmax", xs, node, axis=node.attrs["dim"]),
    "zero": _zero,
    "pad": _pad,
    "upsample": _upsample,
    "conv_transpose2d": _conv_transpose,
}
