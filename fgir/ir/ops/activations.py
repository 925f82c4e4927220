"""Element-wise activations: each passes its input's channels on and has no parameters.

ReLU, ReLU6 and the sigmoids never give a negative value (``Sign.NON_NEGATIVE``): quantization
holds their outputs in unsigned codes; SiLU's and hard-swish's can be negative.

Example:
    >>> from fgir.ir.ops import OPS
    >>> OPS["relu"].label({}), OPS["relu"].channel_rule({}).value
    ('relu', 'pass')
"""

from __future__ import annotations

from fgir.ir.ops.schema import OpSchema, Sign, Trait


def activation(name: str, layer: str, sign: Sign = Sign.ANY, quant_role: str | None = None) -> OpSchema:
    """An activation op; ``layer`` is the torch.nn-style layer that specs write (``type: ReLU``)."""
    return OpSchema(name, {Trait.ACTIVATION, Trait.ELEMENTWISE}, lambda a: name, layer=layer, sign=sign, quant_role=quant_role)


SCHEMAS = [activation("relu", "ReLU", Sign.NON_NEGATIVE, "clamp"),
           activation("relu6", "ReLU6", Sign.NON_NEGATIVE, "clamp"),
           activation("silu", "SiLU"), activation("sigmoid", "Sigmoid", Sign.NON_NEGATIVE),
           activation("hard_sigmoid", "Hardsigmoid", Sign.NON_NEGATIVE), activation("hard_swish", "Hardswish")]
