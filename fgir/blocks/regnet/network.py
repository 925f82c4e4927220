"""torchvision's RegNet builders: ``regnet_y_400mf``, ``regnet_y_800mf``, ``regnet_x_400mf``.

The stage widths and depths come from the variant's (depth, w_0, w_a, w_m, group_width, se_ratio) by
torchvision's ``BlockParams.from_init_params`` (:func:`block_params`: quantized linear widths, then
the group-width compatibility adjustment); the network is ``stem`` (3x3/2 conv, BN, ReLU to 32),
``trunk_output.block1`` … ``block4`` (:class:`~fgir.blocks.regnet.blocks.AnyStage`), a global
average pool and ``fc`` — the same state_dict keys as torchvision's.

Example:
    >>> block_params("y_400mf")
    ([1, 3, 6, 6], [48, 104, 208, 440], [8, 8, 8, 8])
"""

from __future__ import annotations

import math
from typing import Literal

from fgir.blocks.argtypes import REQUIRED, Width
from fgir.blocks.common import ConvBNActivation, make_divisible
from fgir.blocks.layers import AdaptiveAvgPool2d, Flatten, Linear
from fgir.blocks.module import Sequential
from fgir.blocks.registry import register_block
from fgir.blocks.regnet.blocks import AnyStage
from fgir.blocks.regnet.conventions import RegNetFamilyBlock

# depth, w_0, w_a, w_m, group_width, se_ratio: torchvision's regnet_<variant> arguments
VARIANTS = {
    "y_400mf": (16, 48, 27.89, 2.09, 8, 0.25),
    "y_800mf": (14, 56, 38.84, 2.4, 16, 0.25),
    "x_400mf": (22, 24, 24.48, 2.54, 16, None),
}
STEM_WIDTH = 32
QUANT = 8   # block widths are multiples of 8


def block_params(variant: str) -> tuple[list[int], list[int], list[int]]:
    """Stage depths, widths and group widths of a variant, as ``BlockParams.from_init_params`` computes
    them (bottleneck multiplier 1: the adjustment rounds each width to a multiple of its group width)."""
    depth, w_0, w_a, w_m, group_width, _ = VARIANTS[variant]
    widths = []
    for i in range(depth):   # w_0 * w_m ** round(log(w_i / w_0) / log(w_m)), quantized to multiples of 8
        capacity = round(math.log((i * w_a + w_0) / w_0) / math.log(w_m))
        widths.append(int(round(w_0 * w_m ** capacity / QUANT) * QUANT))
    stage_widths, depths = [], []
    for w in widths:   # consecutive equal widths form a stage
        if stage_widths and stage_widths[-1] == w:
            depths[-1] += 1
        else:
            stage_widths.append(w)
            depths.append(1)
    groups = [min(group_width, w) for w in stage_widths]
    return depths, [make_divisible(w, g) for w, g in zip(stage_widths, groups)], groups


@register_block
class RegNet(RegNetFamilyBlock):
    """torchvision's ``regnet_<variant>(num_classes)``: stem, four AnyStages, global pool, ``fc``."""

    input_size = 224

    def constructor(self, variant: Literal[tuple(VARIANTS)] = REQUIRED,  # type: ignore[valid-type]
                    num_class: Width = 1000) -> None:
        se_ratio = VARIANTS[variant][5]
        self.stem = ConvBNActivation(3, STEM_WIDTH, 3, 2)
        self.trunk_output = Sequential()
        width = STEM_WIDTH
        for i, (depth, out, group) in enumerate(zip(*block_params(variant)), start=1):
            setattr(self.trunk_output, f"block{i}", AnyStage(width, out, 2, depth, group, 1.0, se_ratio, i))
            width = out
        self.avgpool = AdaptiveAvgPool2d(1)
        self.flatten = Flatten()
        self.fc = Linear(width, num_class)
