"""linear: a fully connected layer on a flattened input, or on each token of a sequence.

As torch's ``nn.Linear`` it maps the last axis: a flat ``D`` vector to ``out``
features, an ``LxD`` token sequence to ``Lxout`` (the same weights at every
token), or any tensor whose channel axis is last (ConvNeXt's channels-last
``HxWxC`` image, after a Permute) at every position.  A CxHxW image is
refused: it needs a Flatten first.  On a flattened image
its input channels are features: each channel of the tensor before the flatten
occupies ``height x width`` consecutive features.

Example:
    >>> from fgir.ir.ops import OPS
    >>> from fgir.ir.types import TensorType
    >>> fc = OPS["linear"].complete({"in_features": 512, "out_features": 10})
    >>> OPS["linear"].params(fc), OPS["linear"].label(fc)
    (5130, 'linear 512→10')
    >>> seq = TensorType(197, 512)
    >>> str(OPS["linear"].infer(fc, [seq])), OPS["linear"].macs(fc, [seq], OPS["linear"].infer(fc, [seq]))
    ('197x10', 1008640)
"""

from __future__ import annotations

from fgir.ir.ops.channel_rules import PRODUCE
from fgir.ir.ops.schema import Attr, Attrs, Identity, OpSchema, Problem, Trait, Weight, width_text
from fgir.ir.types import TensorType


def _check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    t = ins[0]
    if t.is_image:   # the message tests and users know: keep it word for word
        return [("", f"needs a flattened input but gets {t}; add a View or Flatten before it")]
    if t.channel_axis != t.rank - 1:
        return [("", f"needs a flattened input, a token sequence (LxD) or features last but gets "
                     f"{t.describe()}")]
    if a["in_features"] != t.channels:
        return [("in_features", f"expects {a['in_features']} input features but receives {t.channels}")]
    return []


def _infer(a: Attrs, ins: list[TensorType]) -> TensorType:
    t = ins[0]
    return TensorType(a["out_features"]) if t.is_flat or t.is_image else t.with_channels(a["out_features"])


def _macs(a: Attrs, ins: list[TensorType], out: TensorType) -> int:
    t = ins[0]
    positions = 1 if t.is_flat or t.is_image else t.numel // t.channels   # the same product at every token
    return positions * a["in_features"] * a["out_features"]


def _weights(a: Attrs) -> list[Weight]:
    out = [Weight("weight", (a["out_features"], a["in_features"]), out_axis=0, in_axis=1,
                  identity=Identity.ONE_HOT)]
    if a["bias"]:
        out.append(Weight("bias", (a["out_features"],), out_axis=0))
    return out


LINEAR = OpSchema(
    "linear", {Trait.DENSE, Trait.HAS_WEIGHTS, Trait.WRITES_FLOAT}, lambda a: f"linear {width_text(a.get('in_features'))}→{width_text(a.get('out_features'))}",
    attrs=(Attr("in_features", "width", None), Attr("out_features", "positive"), Attr("bias", "bool", True)),
    infer=_infer, check=_check, macs=_macs, weights=_weights,
    channels=PRODUCE,
    # a flattened input counts each channel's positions: infer_shapes works the features out again
    with_widths=lambda a, i, o: {**a, "in_features": a["in_features"] if i is None else None,
                                 "out_features": a["out_features"] if o is None else o},
    inferred_width="in_features", quantizable=True)

SCHEMAS = [LINEAR]
