"""Ops that shape, join or route tensors without weights: the graph input, flatten, dropout, stochastic
depth, identity, add, mul (a per-channel scale, squeeze-excitation's) and concat (along channels).

Example:
    >>> from fgir.ir.ops import OPS
    >>> from fgir.ir.types import TensorType
    >>> str(OPS["flatten"].infer({}, [TensorType(512, 1, 1)])), OPS["add"].channel_rule({}).value
    ('512', 'tie')
"""

from __future__ import annotations

from fgir.ir.ops.schema import Attr, Attrs, ChannelRule, OpSchema, Problem, Sign
from fgir.ir.types import TensorType


def _same_shapes(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    if len(set(ins)) > 1:
        return [("", f"adds tensors of different shapes: {' + '.join(str(t) for t in ins)}")]
    return []


def _scale_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    x, scale = ins
    if x.is_flat or scale.is_flat:
        return [("", f"scales a CxHxW tensor by a Cx1x1 one, but gets {x} and {scale}")]
    if scale.channels != x.channels or (scale.dims[1:] != (1, 1) and scale != x):
        return [("", f"scales a {x} tensor by a {scale} one: the scale must be {x.channels}x1x1 (or {x})")]
    return []


def _concat_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    if any(t.is_flat for t in ins) or len({t.dims[1:] for t in ins}) > 1:
        sizes = ", ".join(str(t) for t in ins)
        return [("", f"concatenates tensors of different spatial sizes along channels: {sizes}")]
    return []


def _concat_infer(a: Attrs, ins: list[TensorType]) -> TensorType:
    return TensorType(sum(t.channels for t in ins), ins[0].height, ins[0].width)


def _dropout_label(a: Attrs) -> str:
    return f"dropout {a['p']}" if a.get("p") is not None else "dropout"


INPUT = OpSchema("input", "input", lambda a: "input", arity=0, channels=ChannelRule.SOURCE)
FLATTEN = OpSchema("flatten", "reshape", lambda a: "flatten", infer=lambda a, ins: TensorType(ins[0].numel),
                   sign=Sign.OF_INPUTS, quant_role="on_grid")
DROPOUT = OpSchema("dropout", "regularizer", _dropout_label, attrs=(Attr("p", "probability", 0.5),),
                   sign=Sign.OF_INPUTS, quant_role="on_grid")
# torchvision's StochasticDepth: drops the whole residual branch of a sample with probability p in
# training (scaling survivors by 1/(1-p)), the identity at inference
STOCHASTIC_DEPTH = OpSchema("stochastic_depth", "regularizer", lambda a: f"stochastic depth {a.get('p')}",
                            attrs=(Attr("p", "probability"), Attr("mode", "stochastic_mode", "row")),
                            sign=Sign.OF_INPUTS, quant_role="on_grid")
IDENTITY = OpSchema("identity", "reshape", lambda a: "identity", sign=Sign.OF_INPUTS, quant_role="on_grid")
ADD = OpSchema("add", "join", lambda a: "add", arity=2, check=_same_shapes, channels=ChannelRule.TIE,
               sign=Sign.OF_INPUTS, quant_role="integer")
MUL = OpSchema("mul", "join", lambda a: "mul", arity=2, check=_scale_check, channels=ChannelRule.TIE,
               sign=Sign.OF_INPUTS, quant_role="integer")
CONCAT = OpSchema("concat", "join", lambda a: "concat", arity=None, infer=_concat_infer, check=_concat_check,
                  channels=ChannelRule.CONCAT, sign=Sign.OF_INPUTS, quant_role="integer")

SCHEMAS = [INPUT, FLATTEN, DROPOUT, STOCHASTIC_DEPTH, IDENTITY, ADD, MUL, CONCAT]
