"""The ResNet family: its blocks, networks and conventions (see :mod:`.conventions`)."""

from fgir.blocks.resnet.conventions import RESNET
from fgir.blocks.resnet.blocks import (BasicBlock, BottleneckBlock, InitialBlock, SmallInputInitialBlock,
                                       block_expansion, conv1x1, conv3x3, projection, stage_items)
from fgir.blocks.resnet.network import BasicLayer, ResNet
from fgir.blocks.resnet.variant import ResNetVariant, VariantLayer

__all__ = ["BasicBlock", "BasicLayer", "BottleneckBlock", "InitialBlock", "RESNET", "ResNet", "ResNetVariant",
           "SmallInputInitialBlock", "VariantLayer", "block_expansion", "conv1x1", "conv3x3", "projection",
           "stage_items"]
