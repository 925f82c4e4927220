"""The MobileNet family (V2 and V3): conventions, blocks and networks; importing it registers them."""

from fgir.blocks.mobilenet.conventions import MOBILENET, MobileNetFamilyBlock
from fgir.blocks.mobilenet.blocks import InvertedResidual, InvertedResidualStage, InvertedResidualV3
from fgir.blocks.mobilenet.networks import MobileNetV2, MobileNetV3

__all__ = ["InvertedResidual", "InvertedResidualStage", "InvertedResidualV3", "MOBILENET", "MobileNetFamilyBlock",
           "MobileNetV2", "MobileNetV3"]
