"""The coarse DenseNet type: torchvision's DenseNet-121/161/169/201, same tensors, keys and outputs.

``features`` holds the stem (``conv0``, ``norm0``, ``relu0``, ``pool0``), the dense blocks and
transitions (``denseblock1``, ``transition1``, ..., ``denseblock4``) and ``norm5``; then a ReLU
(functional in torchvision, and weightless here: neither has a key), global average pool,
flatten and ``classifier``.  Each transition halves the channels and the resolution.

Example:
    >>> import fgir
    >>> fgir.compile("search_space:\\n  modules: [net]\\n  net: {type: DenseNet, depth: 121}\\n").meta["params"]
    7978856
"""

from __future__ import annotations

from fgir.blocks.argtypes import REQUIRED, Count, Width
from fgir.blocks.densenet.blocks import DenseBlock, DenseNetFamilyBlock, DropRate, Transition
from fgir.blocks.layers import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU
from fgir.blocks.registry import register_block

# depth: (growth rate, layers per dense block, stem width), as torchvision's builders
CONFIGS = {
    121: (32, (6, 12, 24, 16), 64),
    161: (48, (6, 12, 36, 24), 96),
    169: (32, (6, 12, 32, 32), 64),
    201: (32, (6, 12, 48, 32), 64),
}
BN_SIZE = 4


class DenseNetFeatures(DenseNetFamilyBlock):
    """torchvision's ``features``: stem, dense blocks with transitions between them, ``norm5``."""

    def constructor(self, growth_rate: Width = REQUIRED, block_config: list[Count] = REQUIRED,
                    num_init_features: Width = REQUIRED, bn_size: Width = BN_SIZE,
                    drop_rate: DropRate = 0) -> None:
        self.conv0 = Conv2d(None, num_init_features, 7, 2, 3, bias=False)
        self.norm0 = BatchNorm2d(num_init_features)
        self.relu0 = ReLU()
        self.pool0 = MaxPool2d(3, 2, 1)
        channels = num_init_features
        for i, layers in enumerate(block_config):
            setattr(self, f"denseblock{i + 1}", DenseBlock(layers, channels, growth_rate, bn_size, drop_rate))
            channels += layers * growth_rate
            if i != len(block_config) - 1:   # no transition after the last block
                setattr(self, f"transition{i + 1}", Transition(channels, channels // 2))
                channels //= 2
        self.norm5 = BatchNorm2d(channels)


@register_block
class DenseNet(DenseNetFamilyBlock):
    """A whole DenseNet-BC (bn_size 4) of depth 121, 161, 169 or 201."""

    input_size = 224

    def constructor(self, depth: Count = REQUIRED, num_class: Width = 1000, drop_rate: DropRate = 0) -> None:
        if depth not in CONFIGS:
            choices = ", ".join(str(d) for d in CONFIGS)
            self.fail(f"depth {depth} is not a DenseNet depth: expected one of {choices}", depth, "depth")
        growth, blocks, init_features = CONFIGS[depth]
        self.features = DenseNetFeatures(growth, list(blocks), init_features, BN_SIZE, drop_rate)
        self.relu = ReLU()
        self.avgpool = AdaptiveAvgPool2d(1)
        self.flatten = Flatten()
        self.classifier = Linear(None, num_class)
