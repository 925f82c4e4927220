"""The RegNet family (torchvision's RegNetY / RegNetX): conventions, blocks and the network; importing it
registers them."""

from fgir.blocks.regnet.conventions import REGNET, RegNetFamilyBlock
from fgir.blocks.regnet.blocks import AnyStage, BottleneckTransform, ResBottleneckBlock
from fgir.blocks.regnet.network import VARIANTS, RegNet, block_params

__all__ = ["AnyStage", "BottleneckTransform", "REGNET", "RegNet", "RegNetFamilyBlock", "ResBottleneckBlock",
           "VARIANTS", "block_params"]
