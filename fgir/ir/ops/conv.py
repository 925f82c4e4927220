"""conv2d: a 2-d convolution, plain, grouped or depthwise.

Its channel rule follows ``groups``: 1 writes new channels from all input
channels; ``groups == in_channels == out_channels`` (depthwise) computes each
output channel from the same input channel, tying the two; anything else is a
grouped convolution: as wide as its input (``in_channels == out_channels``), it
ties the two and is pruned by whole conv groups, ``groups`` falling with them;
otherwise it locks its channels.

Example:
    >>> from fgir.ir.ops import OPS
    >>> from fgir.ir.types import TensorType
    >>> conv = OPS["conv2d"].complete({"in_channels": 3, "out_channels": 64, "kernel_size": [7, 7],
    ...                                "stride": [2, 2], "padding": [3, 3], "bias": False})
    >>> str(OPS["conv2d"].infer(conv, [TensorType(3, 224, 224)])), OPS["conv2d"].label(conv)
    ('64x112x112', 'conv 7x7 3→64 /2')
"""

from __future__ import annotations

from fgir.ir.ops.channel_rules import DEPTHWISE, GROUPED, GROUPED_LOCKED, PRODUCE, ChannelRule
from fgir.ir.ops.schema import (Attr, Attrs, Identity, OpSchema, Problem, Trait, Weight, needs_spatial, pair_text,
                                spatial_out, stride_text, width_text)
from fgir.ir.types import TensorType


def channel_rule(a: Attrs) -> ChannelRule:
    groups = a["groups"]
    if groups == 1:
        return PRODUCE
    if groups == a["out_channels"] and a["in_channels"] in (groups, None):
        return DEPTHWISE
    return GROUPED if a["in_channels"] in (a["out_channels"], None) else GROUPED_LOCKED


def _check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    t = ins[0]
    problems = needs_spatial(a, ins)
    if a["in_channels"] != t.channels:
        problems.append(("in_channels", f"expects {a['in_channels']} input channels but receives {t.channels}"))
    for key in ("in_channels", "out_channels"):
        if a[key] % a["groups"]:
            problems.append((key, f"has {key} {a[key]}, not divisible by groups {a['groups']}"))
    return problems


def _weights(a: Attrs) -> list[Weight]:
    kh, kw = a["kernel_size"]
    plain = channel_rule(a) is PRODUCE
    out = [Weight("weight", (a["out_channels"], a["in_channels"] // a["groups"], kh, kw), out_axis=0,
                  in_axis=1 if plain else None, identity=Identity.ONE_HOT)]
    if a["bias"]:
        out.append(Weight("bias", (a["out_channels"],), out_axis=0))
    return out


def _macs(a: Attrs, ins: list[TensorType], out: TensorType) -> int:
    kh, kw = a["kernel_size"]
    return out.channels * out.height * out.width * (a["in_channels"] // a["groups"]) * kh * kw


def _with_widths(a: Attrs, in_channels: int | None, out_channels: int | None) -> Attrs:
    out = {**a}
    if channel_rule(a) is DEPTHWISE:   # one width: the channels it filters
        width = in_channels if in_channels is not None else out_channels
        return {**out, "in_channels": width, "out_channels": width, "groups": width}
    if channel_rule(a) is GROUPED and (in_channels or out_channels):   # one width, whole conv groups
        width, unit = in_channels or out_channels, a["out_channels"] // a["groups"]
        return {**out, "in_channels": width, "out_channels": width, "groups": width // unit}
    if in_channels is not None:
        out["in_channels"] = in_channels
    if out_channels is not None:
        out["out_channels"] = out_channels
    return out


def _label(a: Attrs) -> str:
    text = (f"conv {pair_text(a.get('kernel_size'))} {width_text(a.get('in_channels'))}→"
            f"{width_text(a.get('out_channels'))}{stride_text(a.get('stride'))}")
    groups = a.get("groups") or 1
    if groups != 1:
        text += " dw" if groups == a.get("in_channels") == a.get("out_channels") else f" g{groups}"
    dilation = a.get("dilation")
    if dilation and any(d != 1 for d in dilation):
        text += f" d{pair_text(dilation)}"
    return text


CONV2D = OpSchema(
    "conv2d", {Trait.CONVOLUTION, Trait.TAKES_FOLDED_NORM, Trait.HAS_WEIGHTS}, _label,
    attrs=(Attr("in_channels", "width", None), Attr("out_channels", "positive"),
           Attr("kernel_size", "positive_pair"), Attr("stride", "positive_pair", [1, 1]),
           Attr("padding", "pair", [0, 0]), Attr("dilation", "positive_pair", [1, 1]),
           Attr("groups", "positive", 1), Attr("bias", "bool", True)),
    infer=lambda a, ins: spatial_out(a, ins[0], a["out_channels"]), check=_check, macs=_macs,
    weights=_weights, channels=channel_rule, with_widths=_with_widths, inferred_width="in_channels",
    spatial=True, quantizable=True)

SCHEMAS = [CONV2D]
