"""Classification heads."""

from __future__ import annotations

from typing import Optional

from fgir.blocks.argtypes import Width
from fgir.blocks.layers import AdaptiveAvgPool2d, Flatten, Linear
from fgir.blocks.module import Block
from fgir.blocks.registry import register_block


@register_block
class LinearClassificationHead(Block):
    """Global average pool, flatten, Linear(base_channel → num_class); base_channel may be inferred."""

    def constructor(self, base_channel: Optional[Width] = None, num_class: Width = 10) -> None:
        self.avgpool = AdaptiveAvgPool2d(1)
        self.flatten = Flatten()
        self.linear = Linear(base_channel, num_class)
