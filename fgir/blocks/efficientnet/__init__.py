"""The EfficientNet (V1) family: MBConv and the coarse EfficientNet b0–b7 (see :mod:`.conventions`)."""

from fgir.blocks.efficientnet.conventions import EFFICIENTNET
from fgir.blocks.efficientnet.blocks import EfficientNetFamilyBlock, MBConv
from fgir.blocks.efficientnet.network import B0_STAGES, VARIANTS, EfficientNet, scaled_stages

__all__ = ["B0_STAGES", "EFFICIENTNET", "EfficientNet", "EfficientNetFamilyBlock", "MBConv", "VARIANTS",
           "scaled_stages"]
