"""Segmentation networks (torchvision's LR-ASPP); importing it registers them."""

from fgir.blocks.segmentation.lraspp import SEGMENTATION, LRASPP, LRASPPHead, MobileNetV3Taps

__all__ = ["LRASPP", "LRASPPHead", "MobileNetV3Taps", "SEGMENTATION"]
