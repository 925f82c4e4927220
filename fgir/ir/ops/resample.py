"""Ops that change an image's resolution by more than a window: upsampling and transposed convolution.

``upsample`` is ``torch.nn.Upsample`` and ``torch.nn.functional.interpolate``
(nearest or bilinear) to an explicit ``size`` or by a ``scale_factor`` (one of
the two): its output is ``floor(size * scale)`` as torch's.  Given a second
input and neither, it resizes to that input's height and width
(``F.interpolate(x, size=like.shape[-2:])``: LR-ASPP's upsampling to a tap's or
the network input's size); only the first input's values and channels are read.  ``conv_transpose2d``
is ``torch.nn.ConvTranspose2d``; its weight is ``(in, out / groups, kh, kw)``,
so its output channels are axis 1 and its input channels axis 0.

Example:
    >>> from fgir.ir.ops import OPS
    >>> from fgir.ir.types import TensorType
    >>> up = OPS["conv_transpose2d"].complete({"in_channels": 16, "out_channels": 8, "kernel_size": [2, 2],
    ...                                        "stride": [2, 2]})
    >>> t = OPS["conv_transpose2d"].infer(up, [TensorType(16, 7, 7)])
    >>> str(t), OPS["conv_transpose2d"].macs(up, [TensorType(16, 7, 7)], t), OPS["conv_transpose2d"].label(up)
    ('8x14x14', 25088, 'convT 2x2 16→8 *2')
    >>> str(OPS["upsample"].infer(OPS["upsample"].complete({"scale_factor": [1.5, 2]}), [TensorType(4, 7, 7)]))
    '4x10x14'
    >>> like = OPS["upsample"].complete({"scale_factor": None, "mode": "bilinear"})
    >>> str(OPS["upsample"].infer(like, [TensorType(4, 7, 7), TensorType(16, 28, 30)]))
    '4x28x30'
"""

from __future__ import annotations

import math

from fgir.ir.ops.channel_rules import GROUPED_LOCKED, PRODUCE, ChannelRule
from fgir.ir.ops.schema import (Attr, Attrs, OpSchema, Problem, Sign, Trait, Weight, needs_spatial, pair_text,
                                width_text)
from fgir.ir.types import TensorType


# -- upsample ---------------------------------------------------------------------------------
def _upsample_infer(a: Attrs, ins: list[TensorType]) -> TensorType:
    t = ins[0]
    if len(ins) > 1 and ins[1].is_image:   # to the second input's size
        return TensorType(t.channels, ins[1].height, ins[1].width)
    if a["size"] is not None:
        return TensorType(t.channels, *a["size"])
    if a["scale_factor"] is None:   # neither given: check says so; typed as its input meanwhile
        return t
    sh, sw = a["scale_factor"]
    return TensorType(t.channels, math.floor(t.height * sh), math.floor(t.width * sw))


def _upsample_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    problems = needs_spatial(a, ins)
    if len(ins) > 2:
        problems.append(("", f"takes one input, or two (the second giving the size), not {len(ins)}"))
    elif len(ins) == 2:
        if not ins[1].is_image:
            problems.append(("", f"resizes to its second input's height and width, but that input is "
                                 f"{ins[1].describe()}"))
        if a["size"] is not None or a["scale_factor"] not in (None, [1, 1]):   # [1, 1]: the bare op's default
            problems.append(("size" if a["size"] is not None else "scale_factor",
                             "takes its size from its second input: leave size and scale_factor out"))
        return problems
    elif (a["size"] is None) == (a["scale_factor"] is None):
        problems.append(("size", "needs either size or scale_factor (one of the two), as torch's Upsample"))
    if a["mode"] == "nearest" and a["align_corners"] is not None:
        problems.append(("align_corners", "align_corners applies to mode 'bilinear' only; leave it out "
                                          "for 'nearest'"))
    if not problems and a["size"] is None:
        out = _upsample_infer(a, ins)
        if out.height < 1 or out.width < 1:
            problems.append(("scale_factor", f"scales {ins[0].describe()} to nothing ({out.height}x{out.width})"))
    return problems


def _upsample_label(a: Attrs) -> str:
    mode = a.get("mode") or "nearest"
    if a.get("size") is not None:
        return f"upsample {mode} → {pair_text(a['size'])}"
    scale = a.get("scale_factor")
    if scale is None:   # two inputs: to the second's size
        return f"upsample {mode} → like input 2"
    shown = "?" if scale is None else "x".join(f"{s:g}" for s in dict.fromkeys(scale))
    return f"upsample {mode} *{shown}"


# scale_factor's default [1, 1] is the op's, never a layer's (Upsample passes both size and
# scale_factor): an op with no arguments is the identity, not an error, wherever one is made bare.
# Variadic: one input, or two (check refuses more); its channel rule (PASS) follows the first only
UPSAMPLE = OpSchema(
    "upsample", set(), _upsample_label, arity=None,   # not SHAPE_ONLY: bilinear interpolation computes
    attrs=(Attr("size", "optional_size", None), Attr("scale_factor", "optional_scale", [1.0, 1.0]),
           Attr("mode", "resize_mode", "nearest"), Attr("align_corners", "optional_bool", None)),
    infer=_upsample_infer, check=_upsample_check, spatial=True, sign=Sign.OF_INPUTS)


# -- transposed convolution -----------------------------------------------------------------------
def _conv_t_rule(a: Attrs) -> ChannelRule:
    return PRODUCE if a["groups"] == 1 else GROUPED_LOCKED


def _transposed(size: int, k: int, s: int, p: int, op: int, d: int) -> int:
    """torch's ConvTranspose2d output length."""
    return (size - 1) * s - 2 * p + d * (k - 1) + op + 1


def _conv_t_infer(a: Attrs, ins: list[TensorType]) -> TensorType:
    t = ins[0]
    h, w = (_transposed(n, *args) for n, *args in zip((t.height, t.width), a["kernel_size"], a["stride"],
                                                       a["padding"], a["output_padding"], a["dilation"]))
    return TensorType(a["out_channels"], h, w)


def _conv_t_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    problems = needs_spatial(a, ins)
    t = ins[0]
    if a["in_channels"] != t.channels:
        problems.append(("in_channels", f"expects {a['in_channels']} input channels but receives {t.describe()}"))
    for key in ("in_channels", "out_channels"):
        if a[key] % a["groups"]:
            problems.append((key, f"has {key} {a[key]}, not divisible by groups {a['groups']}"))
    for op, s, d in zip(a["output_padding"], a["stride"], a["dilation"]):
        if op >= max(s, d):   # torch refuses it: the extra rows would be outside every window
            problems.append(("output_padding", f"output_padding {op} must be smaller than the stride {s} "
                                               f"or the dilation {d}"))
            break
    if not problems:
        out = _conv_t_infer(a, ins)
        if out.height < 1 or out.width < 1:
            problems.append(("padding", f"pads {t.describe()} away to {out.height}x{out.width}"))
    return problems


def _conv_t_weights(a: Attrs) -> list[Weight]:
    kh, kw = a["kernel_size"]
    plain = a["groups"] == 1
    out = [Weight("weight", (a["in_channels"], a["out_channels"] // a["groups"], kh, kw), out_axis=1,
                  in_axis=0 if plain else None)]
    if a["bias"]:
        out.append(Weight("bias", (a["out_channels"],), out_axis=0))
    return out


def _conv_t_macs(a: Attrs, ins: list[TensorType], out: TensorType) -> int:
    """Each input position scatters into a kh x kw window of every output channel of its group: the
    count of torch's own op counters (fvcore, thop), in/groups x out x kh x kw x H_in x W_in."""
    kh, kw = a["kernel_size"]
    t = ins[0]
    return (a["in_channels"] // a["groups"]) * a["out_channels"] * kh * kw * t.height * t.width


def _conv_t_label(a: Attrs) -> str:
    stride = a.get("stride")
    up = "" if not stride or all(s == 1 for s in stride) else " *" + "x".join(map(str, dict.fromkeys(stride)))
    text = (f"convT {pair_text(a.get('kernel_size'))} {width_text(a.get('in_channels'))}→"
            f"{width_text(a.get('out_channels'))}{up}")
    return text if (a.get("groups") or 1) == 1 else f"{text} g{a['groups']}"


def _conv_t_widths(a: Attrs, in_channels: int | None, out_channels: int | None) -> Attrs:
    out = {**a}
    if in_channels is not None:
        out["in_channels"] = in_channels
    if out_channels is not None:
        out["out_channels"] = out_channels
    return out


# no TAKES_FOLDED_NORM (the BN folding of both backends knows conv2d's weight layout only) and not
# quantizable (no integer kernel is lowered for it)
CONV_TRANSPOSE2D = OpSchema(
    "conv_transpose2d", {Trait.CONVOLUTION, Trait.HAS_WEIGHTS}, _conv_t_label,
    attrs=(Attr("in_channels", "width", None), Attr("out_channels", "positive"),
           Attr("kernel_size", "positive_pair"), Attr("stride", "positive_pair", [1, 1]),
           Attr("padding", "pair", [0, 0]), Attr("output_padding", "pair", [0, 0]),
           Attr("groups", "positive", 1), Attr("bias", "bool", True), Attr("dilation", "positive_pair", [1, 1])),
    infer=_conv_t_infer, check=_conv_t_check, macs=_conv_t_macs, weights=_conv_t_weights,
    channels=_conv_t_rule, with_widths=_conv_t_widths, inferred_width="in_channels", spatial=True)

SCHEMAS = [UPSAMPLE, CONV_TRANSPOSE2D]
