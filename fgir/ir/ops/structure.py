"""Ops that shape or route tensors without weights: the graph input, flatten, dropout, identity, add.

Example:
    >>> from fgir.ir.ops import OPS
    >>> from fgir.ir.types import TensorType
    >>> str(OPS["flatten"].infer({}, [TensorType(512, 1, 1)])), OPS["add"].channel_rule({}).value
    ('512', 'tie')
"""

from __future__ import annotations

from fgir.ir.ops.schema import Attr, Attrs, ChannelRule, OpSchema, Problem
from fgir.ir.types import TensorType


def _same_shapes(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    if len(set(ins)) > 1:
        return [("", f"adds tensors of different shapes: {' + '.join(str(t) for t in ins)}")]
    return []


def _dropout_label(a: Attrs) -> str:
    return f"dropout {a['p']}" if a.get("p") is not None else "dropout"


INPUT = OpSchema("input", "input", lambda a: "input", arity=0, channels=ChannelRule.SOURCE)
FLATTEN = OpSchema("flatten", "reshape", lambda a: "flatten", infer=lambda a, ins: TensorType(ins[0].numel))
DROPOUT = OpSchema("dropout", "regularizer", _dropout_label, attrs=(Attr("p", "probability", 0.5),))
IDENTITY = OpSchema("identity", "reshape", lambda a: "identity")
ADD = OpSchema("add", "join", lambda a: "add", arity=2, check=_same_shapes, channels=ChannelRule.TIE)

SCHEMAS = [INPUT, FLATTEN, DROPOUT, IDENTITY, ADD]
