"""Element-wise activations: each passes its input's channels on and has no parameters.

Example:
    >>> from fgir.ir.ops import OPS
    >>> OPS["relu"].label({}), OPS["relu"].channel_rule({}).value
    ('relu', 'pass')
"""

from __future__ import annotations

from fgir.ir.ops.schema import OpSchema


def activation(name: str, layer: str) -> OpSchema:
    """An activation op; ``layer`` is the torch.nn-style layer that specs write (``type: ReLU``)."""
    return OpSchema(name, "activation", lambda a: name, layer=layer)


SCHEMAS = [activation("relu", "ReLU"), activation("silu", "SiLU")]
