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
from fgir.blocks.module import Block, Layer, Repeat, Sequential, Value, add
from fgir.blocks.registry import BLOCKS, PROCESSES, lookup_block, register_block, register_process
from fgir.blocks.layers import (AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten,
                                Identity, Linear, MaxPool2d, ReLU, View)
from fgir.blocks.resnet import (BasicBlock, BasicLayer, BottleneckBlock, InitialBlock, ResNet,
                                SmallInputInitialBlock)
from fgir.blocks.heads import LinearClassificationHead
from fgir.blocks.variant import ResNetVariant, VariantLayer
from fgir.blocks.processes import Prune, Quant

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "BLOCKS", "BasicBlock", "BasicLayer", "BatchNorm2d",
    "BinaryCode", "Block", "BlockSpec", "BottleneckBlock", "Conv2d", "Count", "Dropout", "Flatten",
    "Identity", "InitialBlock", "Layer", "Linear", "LinearClassificationHead", "MaxPool2d", "Min",
    "PROCESSES", "Prune", "Quant", "ReLU", "Range", "Repeat", "ResNet", "ResNetVariant", "Sequential",
    "SmallInputInitialBlock", "Value", "VariantLayer", "View", "Width", "add", "lookup_block",
    "register_block", "register_process",
]
