"""linear: a fully connected layer on a flattened input.

Its input channels are features: after a flatten, each channel of the tensor
before it occupies ``height x width`` consecutive features.

Example:
    >>> from fgir.ir.ops import OPS
    >>> fc = OPS["linear"].complete({"in_features": 512, "out_features": 10})
    >>> OPS["linear"].params(fc), OPS["linear"].label(fc)
    (5130, 'linear 512→10')
"""

from __future__ import annotations

from fgir.ir.ops.schema import Attr, Attrs, ChannelRule, Identity, OpSchema, Problem, Weight, width_text
from fgir.ir.types import TensorType


def _check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    t = ins[0]
    if not t.is_flat:
        return [("", f"needs a flattened input but gets {t}; add a View or Flatten before it")]
    if a["in_features"] != t.channels:
        return [("in_features", f"expects {a['in_features']} input features but receives {t.channels}")]
    return []


def _weights(a: Attrs) -> list[Weight]:
    out = [Weight("weight", (a["out_features"], a["in_features"]), out_axis=0, in_axis=1,
                  identity=Identity.ONE_HOT)]
    if a["bias"]:
        out.append(Weight("bias", (a["out_features"],), out_axis=0))
    return out


LINEAR = OpSchema(
    "linear", "dense", lambda a: f"linear {width_text(a.get('in_features'))}→{width_text(a.get('out_features'))}",
    attrs=(Attr("in_features", "width", None), Attr("out_features", "positive"), Attr("bias", "bool", True)),
    infer=lambda a, ins: TensorType(a["out_features"]), check=_check,
    macs=lambda a, ins, out: a["in_features"] * a["out_features"], weights=_weights,
    channels=ChannelRule.PRODUCE,
    # a flattened input counts each channel's positions: infer_shapes works the features out again
    with_widths=lambda a, i, o: {**a, "in_features": a["in_features"] if i is None else None,
                                 "out_features": a["out_features"] if o is None else o},
    inferred_width="in_features", quantizable=True)

SCHEMAS = [LINEAR]
