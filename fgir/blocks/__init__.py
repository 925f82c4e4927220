"""The block library: built-in blocks, allow-listed layers, processes, and the API for user blocks.

Example (a user block, usable as ``type: DoubleConv`` once registered)::

    from fgir.blocks import Block, Conv2d, BatchNorm2d, ReLU, Width, register_block

    @register_block
    class DoubleConv(Block):
        def constructor(self, in_plane: Width, out_plane: Width):
            self.conv1 = Conv2d(in_plane, out_plane, 3, padding=1, bias=False)
            self.bn1 = BatchNorm2d(out_plane)
            self.relu = ReLU()
"""

from fgir.blocks.argtypes import BinaryCode, BlockSpec, Count, Min, Range, Width
from fgir.blocks.module import Block, Layer, Repeat, Sequential, Value, add, concat, mul
from fgir.blocks.registry import BLOCKS, PROCESSES, lookup_block, register_block, register_process
from fgir.blocks.layers import (ACTIVATIONS, AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Dropout,
                                Flatten, Identity, Linear, MaxPool2d, ReLU, StochasticDepth, View)
from fgir.blocks.family import FAMILIES, GENERIC, Family, Init, family_of_network, register_family
from fgir.blocks.heads import LinearClassificationHead
from fgir.blocks.common import ConvBNActivation, SqueezeExcitation, make_divisible
from fgir.blocks.resnet import (BasicBlock, BasicLayer, BottleneckBlock, InitialBlock, ResNet, ResNetVariant,
                                SmallInputInitialBlock, VariantLayer)
from fgir.blocks.processes import Prune, Quant
from fgir.blocks import densenet, efficientnet, mobilenet  # noqa: F401  (the families register their blocks)
from fgir.blocks import regnet, segmentation, shufflenet  # noqa: F401  (issue 22's families)
from fgir.blocks import darts, nasbench201  # noqa: F401  (NAS-Bench-201 and DARTS: published spaces)
from fgir.blocks import convnext, vit  # noqa: F401  (issue 22's ViT and ConvNeXt)
from fgir.blocks import layers_join, layers_sequence, layers_vision  # noqa: F401  (more layers, registered on import)
from fgir.blocks.layers_vision import (GELU, ConstantPad2d, ConvTranspose2d, GroupNorm, Interpolate, LayerNorm,
                                       LayerNorm2d, Softmax, Upsample, Zero, ZeroPad2d)

__all__ = [
    "ACTIVATIONS", "AdaptiveAvgPool2d", "AvgPool2d", "BLOCKS", "BasicBlock", "BasicLayer", "BatchNorm2d",
    "BinaryCode", "Block", "BlockSpec", "BottleneckBlock", "Conv2d", "ConvBNActivation", "Count", "Dropout",
    "FAMILIES", "Family", "Flatten", "GENERIC", "Identity", "Init", "InitialBlock", "Layer", "Linear",
    "LinearClassificationHead", "MaxPool2d", "Min", "PROCESSES", "Prune", "Quant", "ReLU", "Range", "Repeat",
    "ResNet", "ResNetVariant", "Sequential", "SmallInputInitialBlock", "SqueezeExcitation", "StochasticDepth",
    "Value", "VariantLayer", "View", "Width", "add", "concat", "family_of_network", "lookup_block",
    "make_divisible", "mul", "register_block", "register_family", "register_process",
    # the vision layers (fgir.blocks.layers_vision)
    "ConstantPad2d", "ConvTranspose2d", "GELU", "GroupNorm", "Interpolate", "LayerNorm", "LayerNorm2d", "Softmax",
    "Upsample", "Zero", "ZeroPad2d",
]


def __getattr__(name: str):
    """The activation layers (``SiLU``, ``Hardswish``, ...), made from their op schemas."""
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    raise AttributeError(f"module 'fgir.blocks' has no attribute '{name}'")
