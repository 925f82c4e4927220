"""The DenseNet family: its blocks (:mod:`.blocks`), the coarse network (:mod:`.network`), conventions."""

from fgir.blocks.densenet.conventions import DENSENET
from fgir.blocks.densenet.blocks import DenseBlock, DenseLayer, DenseNetFamilyBlock, Transition
from fgir.blocks.densenet.network import CONFIGS, DenseNet, DenseNetFeatures

__all__ = ["CONFIGS", "DENSENET", "DenseBlock", "DenseLayer", "DenseNet", "DenseNetFamilyBlock",
           "DenseNetFeatures", "Transition"]
