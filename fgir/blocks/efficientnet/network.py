"""The coarse EfficientNet (V1, b0–b7): torchvision's ``efficientnet_b0`` … ``efficientnet_b7``.

``features.0`` is the stem (3x3/2 ConvBNActivation, SiLU), ``features.1`` … ``features.7``
the seven stages (Sequentials of MBConv named 0, 1, …), ``features.8`` the 1x1 head conv to
four times the last stage's width; then ``avgpool``, a flatten, and ``classifier`` =
Sequential(Dropout, Linear): torchvision's parameter tensors under torchvision's keys.
A variant scales b0's stage table: widths by ``make_divisible(c · width_mult)``, repeats by
``ceil(n · depth_mult)``; block i of N (counted over the whole network) drops its branch
with probability ``stochastic_depth_prob · i / N``.  Every variant defaults to a 224² input
(torchvision evaluates b1–b7 larger: 240 … 600; pass ``--input``).

Example:
    >>> import fgir
    >>> fgir.compile("search_space:\\n  modules: [net]\\n  net: {type: EfficientNet, variant: b0}\\n").meta["params"]
    5288548
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, NamedTuple, Optional

from fgir.blocks.argtypes import REQUIRED, Range, Width
from fgir.blocks.common import ConvBNActivation, make_divisible
from fgir.blocks.efficientnet.blocks import EfficientNetFamilyBlock, MBConv
from fgir.blocks.layers import AdaptiveAvgPool2d, Dropout, Flatten, Linear
from fgir.blocks.module import Sequential
from fgir.blocks.registry import register_block

Probability = Annotated[float, Range(0, 1)]


class Stage(NamedTuple):
    """One row of the paper's Table 1 (b0): MBConv expand ratio, kernel, first stride, widths, repeats."""

    expand_ratio: int
    kernel_size: int
    stride: int
    in_channels: int
    out_channels: int
    repeats: int


B0_STAGES = [Stage(1, 3, 1, 32, 16, 1), Stage(6, 3, 2, 16, 24, 2), Stage(6, 5, 2, 24, 40, 2),
             Stage(6, 3, 2, 40, 80, 3), Stage(6, 5, 1, 80, 112, 3), Stage(6, 5, 2, 112, 192, 4),
             Stage(6, 3, 1, 192, 320, 1)]


class Variant(NamedTuple):
    width_mult: float
    depth_mult: float
    dropout: float
    norm_eps: float = 1e-5
    norm_momentum: float = 0.1


# torchvision's builders; b5–b7 were ported from TensorFlow weights, so their BatchNorms use
# TensorFlow's eps 1e-3 and momentum 0.01 (b0–b4 keep torch's defaults)
VARIANTS = {
    "b0": Variant(1.0, 1.0, 0.2), "b1": Variant(1.0, 1.1, 0.2), "b2": Variant(1.1, 1.2, 0.3),
    "b3": Variant(1.2, 1.4, 0.3), "b4": Variant(1.4, 1.8, 0.4),
    "b5": Variant(1.6, 2.2, 0.4, 0.001, 0.01), "b6": Variant(1.8, 2.6, 0.5, 0.001, 0.01),
    "b7": Variant(2.0, 3.1, 0.5, 0.001, 0.01),
}
VariantName = Literal[tuple(VARIANTS)]  # type: ignore[valid-type]


def scaled_stages(width_mult: float, depth_mult: float) -> list[Stage]:
    """b0's table scaled as torchvision's MBConvConfig scales it (adjust_channels, adjust_depth)."""
    return [Stage(s.expand_ratio, s.kernel_size, s.stride, make_divisible(s.in_channels * width_mult),
                  make_divisible(s.out_channels * width_mult), int(math.ceil(s.repeats * depth_mult)))
            for s in B0_STAGES]


@register_block
class EfficientNet(EfficientNetFamilyBlock):
    """A whole EfficientNet b0–b7, as torchvision builds it; ``dropout`` defaults to the variant's."""

    input_size = 224

    def constructor(self, variant: VariantName = REQUIRED, num_class: Width = 1000,
                    stochastic_depth_prob: Probability = 0.2, dropout: Optional[Probability] = None) -> None:
        config = VARIANTS[variant]
        norm = {"norm_eps": config.norm_eps, "norm_momentum": config.norm_momentum}
        stages = scaled_stages(config.width_mult, config.depth_mult)
        total_blocks = sum(s.repeats for s in stages)
        layers = [ConvBNActivation(None, stages[0].in_channels, 3, 2, activation="SiLU", **norm)]
        index = 0
        for stage in stages:
            blocks = []
            for i in range(stage.repeats):
                # the rate grows with the block's index over the whole network: 0 for the first
                # block, just under stochastic_depth_prob for the last (index / total, as torchvision)
                blocks.append(MBConv(in_channels=stage.in_channels if i == 0 else stage.out_channels,
                                     out_channels=stage.out_channels, expand_ratio=stage.expand_ratio,
                                     kernel_size=stage.kernel_size, stride=stage.stride if i == 0 else 1,
                                     stochastic_depth_prob=stochastic_depth_prob * index / total_blocks,
                                     **norm))
                index += 1
            layers.append(Sequential(*blocks))
        last = stages[-1].out_channels
        layers.append(ConvBNActivation(last, 4 * last, 1, activation="SiLU", **norm))
        self.features = Sequential(*layers)
        self.avgpool = AdaptiveAvgPool2d(1)
        self.flatten = Flatten()
        self.classifier = Sequential(Dropout(config.dropout if dropout is None else dropout),
                                     Linear(4 * last, num_class))
