"""A plugin that adds an op: Mish, x · tanh(softplus(x)), with its schema, torch rule, ONNX rule and layer.

Load it with ``--plugin examples/user_blocks/mish_op.py`` (``fgir.plugins.load_plugin`` in Python);
``examples/mish_net.yaml`` then writes ``type: Mish`` like any torch.nn layer.
"""

import fgir
from fgir.blocks import Layer, register_block
from fgir.ir.ops import OpSchema, Sign, Trait

MISH = OpSchema("mish", {Trait.ACTIVATION, Trait.ELEMENTWISE}, lambda attrs: "mish", layer="Mish", sign=Sign.ANY)


def mish_onnx(emitter, node, inputs):
    """ONNX has Mish since opset 18; fgir emits opset 17 and up, so below it: x · tanh(softplus(x))."""
    if emitter.opset >= 18:
        return emitter.op("Mish", inputs, node)
    soft = emitter.raw("Softplus", inputs, f"{node.name}/softplus", f"{node.name}/softplus")
    tanh = emitter.raw("Tanh", [soft], f"{node.name}/tanh", f"{node.name}/tanh")
    return emitter.op("Mul", [inputs[0], tanh], node)


def mish_module(node):
    """The torch rule; torch is imported here, so that `fgir check` runs without it."""
    from torch import nn

    return nn.Mish()


fgir.register_op(MISH, torch=mish_module, onnx=mish_onnx)


@register_block
class Mish(Layer):
    """torch.nn.Mish."""

    op = "mish"

    def constructor(self, inplace: bool = False) -> None:
        pass

    def ir_attrs(self) -> dict:
        return {}
