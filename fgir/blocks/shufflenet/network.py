"""torchvision's ``shufflenet_v2_x0_5`` … ``x2_0``: ``conv1``, ``maxpool``, ``stage2`` … ``stage4`` of
:class:`~fgir.blocks.shufflenet.blocks.ShuffleUnit`, ``conv5``, the mean over H and W, ``fc``.

Example:
    >>> import fgir
    >>> fgir.compile("search_space:\\n  modules: [net]\\n  net: {type: ShuffleNetV2, width: 0.5}\\n").meta["params"]
    1366792
"""

from __future__ import annotations

from typing import Literal

from fgir.blocks.argtypes import REQUIRED, Width
from fgir.blocks.common import ConvBNActivation
from fgir.blocks.layers import AdaptiveAvgPool2d, Flatten, Linear, MaxPool2d
from fgir.blocks.registry import register_block
from fgir.blocks.shufflenet.blocks import ShuffleNetFamilyBlock, ShuffleStage

REPEATS = [4, 8, 4]
# the width multiplier → torchvision's stages_out_channels (conv1, stage2, stage3, stage4, conv5)
WIDTHS = {0.5: [24, 48, 96, 192, 1024], 1.0: [24, 116, 232, 464, 1024],
          1.5: [24, 176, 352, 704, 1024], 2.0: [24, 244, 488, 976, 2048]}


@register_block
class ShuffleNetV2(ShuffleNetFamilyBlock):
    """torchvision's ``shufflenet_v2_x<width>(num_classes)``."""

    input_size = 224

    def constructor(self, width: Literal[tuple(WIDTHS)] = REQUIRED,  # type: ignore[valid-type]
                    num_class: Width = 1000) -> None:
        channels = WIDTHS[width]
        self.conv1 = ConvBNActivation(3, channels[0], 3, 2)
        self.maxpool = MaxPool2d(3, 2, 1)
        for i, (depth, inp, oup) in enumerate(zip(REPEATS, channels, channels[1:4]), start=2):
            setattr(self, f"stage{i}", ShuffleStage(inp, oup, depth))
        self.conv5 = ConvBNActivation(channels[3], channels[4], 1)
        self.pool = AdaptiveAvgPool2d(1)   # torchvision's x.mean([2, 3])
        self.flatten = Flatten()
        self.fc = Linear(channels[4], num_class)
