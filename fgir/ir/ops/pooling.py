"""Pooling: windowed max and average pooling, and adaptive average pooling to a fixed size.

Example:
    >>> from fgir.ir.ops import OPS
    >>> from fgir.ir.types import TensorType
    >>> pool = OPS["max_pool2d"].complete({"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1]})
    >>> str(OPS["max_pool2d"].infer(pool, [TensorType(64, 112, 112)])), OPS["max_pool2d"].label(pool)
    ('64x56x56', 'maxpool 3x3 /2')
"""

from __future__ import annotations

from fgir.ir.ops.schema import (Attr, Attrs, OpSchema, Problem, Sign, Trait, needs_spatial, pair_text,
                                spatial_out, stride_text)
from fgir.ir.types import TensorType


def _check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    problems = needs_spatial(a, ins)
    for k, p in zip(a["kernel_size"], a["padding"]):
        if p > k // 2:  # torch and ONNX Runtime refuse such a pool
            problems.append(("padding", f"pads by {p}, more than half its kernel {k}"))
            break
    return problems


def _window_pool(name: str, short: str, quant_role: str, *extra: Attr) -> OpSchema:
    return OpSchema(
        name, {Trait.POOLING}, lambda a: f"{short} {pair_text(a.get('kernel_size'))}{stride_text(a.get('stride'))}",
        attrs=(Attr("kernel_size", "positive_pair"), Attr("stride", "positive_pair"),
               Attr("padding", "pair", [0, 0]), *extra),
        infer=lambda a, ins: spatial_out(a, ins[0], ins[0].channels), check=_check, spatial=True,
        sign=Sign.OF_INPUTS, quant_role=quant_role)


ADAPTIVE_AVG_POOL2D = OpSchema(
    "adaptive_avg_pool2d", {Trait.POOLING}, lambda a: f"avgpool → {pair_text(a.get('output_size'))}",
    attrs=(Attr("output_size", "positive_pair"),),
    infer=lambda a, ins: TensorType(ins[0].channels, *a["output_size"]), check=needs_spatial, spatial=True,
    sign=Sign.OF_INPUTS, quant_role="integer")

# count_include_pad: torch's default counts the padding in the mean
AVG_POOL2D = _window_pool("avg_pool2d", "avgpool", "integer", Attr("count_include_pad", "bool", True))

SCHEMAS = [_window_pool("max_pool2d", "maxpool", "on_grid"), AVG_POOL2D, ADAPTIVE_AVG_POOL2D]
