"""The ConvNeXt family: torchvision's ConvNeXt and its blocks; importing it registers them."""

from fgir.blocks.convnext.conventions import CONVNEXT, ConvNeXtFamilyBlock
from fgir.blocks.convnext.blocks import ConvNeXtBlock, ConvNeXtDownsample, ConvNeXtStage
from fgir.blocks.convnext.network import ConvNeXt

__all__ = ["CONVNEXT", "ConvNeXt", "ConvNeXtBlock", "ConvNeXtDownsample", "ConvNeXtFamilyBlock", "ConvNeXtStage"]
