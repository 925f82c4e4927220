"""The primitive ops, one schema each: the only place an op is defined (see :mod:`.schema`).

MACs count the multiply-accumulates of convolutions and linear layers only,
the convention of torchvision's model documentation.

Example:
    >>> sorted(op for op, s in OPS.items() if s.kind == "pool")
    ['adaptive_avg_pool2d', 'avg_pool2d', 'max_pool2d']
"""

from __future__ import annotations

from fgir.ir.ops import activations, conv, linear, norm, pooling, quantize, structure
from fgir.ir.ops.schema import (ATTR_KINDS, Attr, Attrs, ChannelRule, Identity, OpSchema, Problem, Sign,
                                Weight)

OPS: dict[str, OpSchema] = {s.name: s for module in (structure, conv, norm, activations, pooling, linear, quantize)
                            for s in module.SCHEMAS}

__all__ = ["ATTR_KINDS", "Attr", "Attrs", "ChannelRule", "Identity", "OPS", "OpSchema", "Problem", "Sign",
           "Weight"]
