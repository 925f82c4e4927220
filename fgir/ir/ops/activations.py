"""Element-wise activations: each passes its input's channels on and has no parameters.

``relu`` and ``relu6`` never give a negative value (:data:`NON_NEGATIVE`): what quantization
needs to know to hold their outputs in unsigned codes.

Example:
    >>> from fgir.ir.ops import OPS
    >>> OPS["relu"].label({}), OPS["relu"].channel_rule({}).value
    ('relu', 'pass')
"""

from __future__ import annotations

from fgir.ir.ops.schema import OpSchema


def activation(name: str, layer: str, *, non_negative: bool = False) -> OpSchema:
    """An activation op; ``layer`` is the torch.nn-style layer that specs write (``type: ReLU``)."""
    return OpSchema(name, "activation", lambda a: name, layer=layer, non_negative=non_negative)


SCHEMAS = [activation("relu", "ReLU", non_negative=True), activation("relu6", "ReLU6", non_negative=True),
           activation("silu", "SiLU"), activation("sigmoid", "Sigmoid", non_negative=True),
           activation("hard_sigmoid", "Hardsigmoid", non_negative=True), activation("hard_swish", "Hardswish")]
