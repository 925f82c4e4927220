"""Ops that shape, join or route tensors without weights: the graph input, flatten, dropout, stochastic
depth, identity, add, mul (a per-channel scale, squeeze-excitation's, or a product of equal shapes) and concat (torch.cat along
``dim``, the batch counted: dim 1 is an image's channels).

Example:
    >>> from fgir.ir.ops import OPS
    >>> from fgir.ir.types import TensorType
    >>> str(OPS["flatten"].infer({}, [TensorType(512, 1, 1)])), OPS["add"].channel_rule({}).value
    ('512', 'tie')
"""

from __future__ import annotations

from fgir.ir.ops.channel_rules import CONCAT as CONCAT_RULE, SOURCE, TIE
from fgir.ir.ops.schema import Attr, Attrs, OpSchema, Problem, Sign, Trait
from fgir.ir.types import TensorType


def _both(ins: list[TensorType], joiner: str) -> str:
    """The inputs as a diagnostic shows them: sizes when they are of one kind, else what each is."""
    if len({t.layout for t in ins}) == 1:
        return joiner.join(str(t) for t in ins)
    return joiner.join(t.describe() for t in ins)


def _same_shapes(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    if len(set(ins)) > 1:
        return [("", f"adds tensors of different shapes: {_both(ins, ' + ')}")]
    return []


def _scale_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    x, scale = ins
    if x == scale:
        return []   # elementwise, of equal shapes (a gate)
    if not (x.is_image and scale.is_image):
        return [("", f"multiplies {x.describe()} by {scale.describe()}: a product takes equal shapes, "
                     "or an image and a Cx1x1 scale")]
    if scale.channels != x.channels or scale.dims[1:] != (1, 1):
        return [("", f"scales a {x} tensor by a {scale} one: the scale must be {x.channels}x1x1 (or {x})")]
    return []


def concat_axis(dim: int, t: TensorType) -> int | None:
    """The axis of ``t`` (batch excluded) that torch.cat's ``dim`` (batch included) names; None if none.

    >>> concat_axis(1, TensorType(64, 8, 8)), concat_axis(-1, TensorType(197, 768)), concat_axis(0, TensorType(5))
    (0, 1, None)
    """
    full = dim + t.rank + 1 if dim < 0 else dim
    return full - 1 if 1 <= full <= t.rank else None


def _concat_check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    dim = a["dim"]
    axis = concat_axis(dim, ins[0])
    if axis is None:
        where = "the batch" if dim == 0 else "no axis"
        return [("dim", f"dim {dim} names {where} of {ins[0].describe()}: torch.cat's dim counts the batch "
                        "as 0, so the channels of an image are dim 1")]
    rest = {(t.layout, t.dims[:axis] + t.dims[axis + 1:]) for t in ins}
    if len(rest) == 1:
        return []
    if all(t.is_image for t in ins) and axis == 0:   # DenseNet's case, in its words
        sizes = ", ".join(str(t) for t in ins)
        return [("", f"concatenates tensors of different spatial sizes along channels: {sizes}")]
    return [("", f"concatenates {' and '.join(t.describe() for t in ins)} along dim {dim}: "
                 f"their sizes must agree except along dim {dim}")]


def _concat_infer(a: Attrs, ins: list[TensorType]) -> TensorType:
    axis = concat_axis(a["dim"], ins[0])
    if axis is None:   # check_channels reports it
        return ins[0]
    dims = list(ins[0].dims)
    dims[axis] = sum(t.dims[axis] for t in ins)
    return TensorType(*dims, layout=ins[0].layout)


def _along_channels(node) -> bool:
    """Whether a concat node joins its inputs along their channel axis (else along tokens, height...).

    The rule needs the inputs' rank, which ``apply_prune`` asks for before shapes are inferred: then the
    ranks are inferred here, from the network input forward (ranks do not change when widths do)."""
    source = node.inputs[0]
    t = source.type if source.type is not None else _type_before_shapes(source)
    if t is None:
        return node.attrs.get("dim", 1) == 1
    return concat_axis(node.attrs.get("dim", 1), t) == t.channel_axis


def _type_before_shapes(target) -> TensorType | None:
    from fgir.ir.ops import OPS   # the op table imports this module

    graph = target.graph
    types: dict[str, TensorType] = {}
    try:
        for node in graph:
            if OPS[node.op].has(Trait.INPUT):
                types[node.name] = TensorType(*graph.meta.get("input", [3, 224, 224]))
            else:
                types[node.name] = OPS[node.op].infer(node.attrs, [types[s.name] for s in node.inputs])
            if node is target:
                return types[node.name]
    except Exception:   # an op that needs its inferred widths, or a bad graph: infer_shapes will say
        return None
    return None


class _ConcatAlong(type(CONCAT_RULE)):
    """torch.cat along ``dim``: CONCAT along the channel axis; along another (tokens, height), output
    channel i comes from channel i of every input: the inputs' groups are tied (TIE)."""

    def groups(self, node, ins, net):
        return (CONCAT_RULE if _along_channels(node) else TIE).groups(node, ins, net)

    def prune(self, node, flow, has_weights):
        return (CONCAT_RULE if _along_channels(node) else TIE).prune(node, flow, has_weights)

    def __reduce__(self):
        return "CONCAT_ALONG"


CONCAT_ALONG = _ConcatAlong()


def _concat_label(a: Attrs) -> str:
    return "concat" if a.get("dim", 1) == 1 else f"concat dim {a['dim']}"


def _dropout_label(a: Attrs) -> str:
    return f"dropout {a['p']}" if a.get("p") is not None else "dropout"


INPUT = OpSchema("input", {Trait.INPUT}, lambda a: "input", arity=0, channels=SOURCE)
FLATTEN = OpSchema("flatten", {Trait.SHAPE_ONLY}, lambda a: "flatten", infer=lambda a, ins: TensorType(ins[0].numel),
                   sign=Sign.OF_INPUTS, quant_role="on_grid")
DROPOUT = OpSchema("dropout", {Trait.REGULARIZER}, _dropout_label, attrs=(Attr("p", "probability", 0.5),),
                   sign=Sign.OF_INPUTS, quant_role="on_grid")
# torchvision's StochasticDepth: drops the whole residual branch of a sample with probability p in
# training (scaling survivors by 1/(1-p)), the identity at inference
STOCHASTIC_DEPTH = OpSchema("stochastic_depth", {Trait.REGULARIZER}, lambda a: f"stochastic depth {a.get('p')}",
                            attrs=(Attr("p", "probability"), Attr("mode", "stochastic_mode", "row")),
                            sign=Sign.OF_INPUTS, quant_role="on_grid")
IDENTITY = OpSchema("identity", {Trait.SHAPE_ONLY}, lambda a: "identity", sign=Sign.OF_INPUTS, quant_role="on_grid")
ADD = OpSchema("add", {Trait.JOIN, Trait.ELEMENTWISE}, lambda a: "add", arity=2, check=_same_shapes, channels=TIE,
               sign=Sign.OF_INPUTS, quant_role="integer")
MUL = OpSchema("mul", {Trait.JOIN, Trait.ELEMENTWISE}, lambda a: "mul", arity=2, check=_scale_check, channels=TIE,
               sign=Sign.OF_INPUTS, quant_role="integer")
CONCAT = OpSchema("concat", {Trait.JOIN, Trait.SHAPE_ONLY}, _concat_label, attrs=(Attr("dim", "int", 1),),
                  arity=None, infer=_concat_infer, check=_concat_check, channels=CONCAT_ALONG, sign=Sign.OF_INPUTS,
                  quant_role="integer")

SCHEMAS = [INPUT, FLATTEN, DROPOUT, STOCHASTIC_DEPTH, IDENTITY, ADD, MUL, CONCAT]
