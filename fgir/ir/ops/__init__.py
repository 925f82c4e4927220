"""The primitive ops, one schema each: the only place an op is defined (see :mod:`.schema`).

MACs count the multiply-accumulates of convolutions and linear layers only,
the convention of torchvision's model documentation.  A plugin adds an op with
:func:`register_op` (``fgir.register_op`` adds its torch and ONNX rules with it).

Example:
    >>> sorted(op for op, s in OPS.items() if s.has(Trait.POOLING))[:3]
    ['adaptive_avg_pool2d', 'avg_pool2d', 'max_pool2d']
"""

from __future__ import annotations

from fgir.ir.ops import (activations, attention, conv, linear, norm, pooling, quantize, resample, sequence, shape,
                         structure, vision)
from fgir.ir.ops.channel_rules import ChannelRule
from fgir.ir.ops.schema import (ATTR_KINDS, Attr, Attrs, Identity, OpSchema, Problem, Sign, Trait, Weight,
                               weight_key)

OPS: dict[str, OpSchema] = {s.name: s for module in (structure, conv, norm, activations, pooling, linear, quantize, vision, resample,
                                                              sequence, attention, shape)
                            for s in module.SCHEMAS}


def register_op(schema: OpSchema) -> OpSchema:
    """Add ``schema`` to the op set; ValueError when an op of that name exists or it is not a schema."""
    if not isinstance(schema, OpSchema):
        raise ValueError(f"register_op takes an OpSchema, not {type(schema).__name__}")
    if schema.name in OPS:
        raise ValueError(f"an op named '{schema.name}' exists already")
    OPS[schema.name] = schema
    return schema


__all__ = ["ATTR_KINDS", "Attr", "Attrs", "ChannelRule", "Identity", "OPS", "OpSchema", "Problem", "Sign",
           "Trait", "Weight", "register_op", "weight_key"]
