"""The RegNet family's blocks, named as torchvision's ``regnet`` module names them.

* ``BottleneckTransform`` (children ``a``, ``b``, ``se``, ``c``): 1x1 conv to the bottleneck width
  ``w_b = round(width_out * bottleneck_multiplier)``, a 3x3 conv of ``w_b // group_width`` groups
  (carrying the stride), an optional squeeze-excitation whose width is ``round(se_ratio * width_in)``
  (relative to the block's *input*, as torchvision's), and a 1x1 conv + BN back to ``width_out``.
* ``ResBottleneckBlock``: ``proj`` (1x1 conv + BN, when the width or resolution changes) or the
  identity, plus ``f``, then ``activation`` (ReLU).
* ``AnyStage``: ``depth`` blocks named ``block{stage_index}-{i}`` (torchvision's names), the first
  changing width and resolution.

Example:
    >>> import fgir
    >>> spec = ("search_space:\\n  modules: [stage]\\n"
    ...         "  stage: {type: AnyStage, width_in: 32, width_out: 48, stride: 2, depth: 2, group_width: 8,\\n"
    ...         "          se_ratio: 0.25, stage_index: 1}\\n")
    >>> graph = fgir.compile(spec, input="32x16x16")
    >>> graph["block1-0.f.b.0"].attrs["groups"], graph["block1-1.f.se.fc1"].attrs["out_channels"]
    (6, 12)
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from fgir.blocks.argtypes import REQUIRED, Count, Range, Width
from fgir.blocks.common import ConvBNActivation, SqueezeExcitation
from fgir.blocks.layers import ReLU
from fgir.blocks.module import Value
from fgir.blocks.registry import register_block
from fgir.blocks.regnet.conventions import RegNetFamilyBlock

Stride = Literal[1, 2]
SERatio = Optional[Annotated[float, Range(0, 1)]]
Multiplier = Annotated[float, Range(0.0625, 16)]


@register_block
class BottleneckTransform(RegNetFamilyBlock):
    """torchvision's ``BottleneckTransform``: a (1x1), b (grouped 3x3), [se], c (1x1, no activation)."""

    def constructor(self, width_in: Width = REQUIRED, width_out: Width = REQUIRED, stride: Stride = 1,
                    group_width: Width = REQUIRED, bottleneck_multiplier: Multiplier = 1.0,
                    se_ratio: SERatio = None) -> None:
        w_b = int(round(width_out * bottleneck_multiplier))
        if w_b % group_width:   # torchvision's widths are adjusted so that this never happens
            self.fail(f"the bottleneck width {w_b} is not a multiple of group_width {group_width}",
                      group_width, "group_width")
        self.a = ConvBNActivation(width_in, w_b, 1)
        self.b = ConvBNActivation(w_b, w_b, 3, stride, groups=w_b // group_width)
        if se_ratio:
            self.se = SqueezeExcitation(w_b, int(round(se_ratio * width_in)), "ReLU", "Sigmoid")
        self.c = ConvBNActivation(w_b, width_out, 1, activation=None)


@register_block
class ResBottleneckBlock(RegNetFamilyBlock):
    """torchvision's ``ResBottleneckBlock``: ReLU(proj(x) or x, plus f(x))."""

    def constructor(self, width_in: Width = REQUIRED, width_out: Width = REQUIRED, stride: Stride = 1,
                    group_width: Width = REQUIRED, bottleneck_multiplier: Multiplier = 1.0,
                    se_ratio: SERatio = None) -> None:
        self.has_proj = width_in != width_out or stride != 1
        if self.has_proj:
            self.proj = ConvBNActivation(width_in, width_out, 1, stride, activation=None)
        self.f = BottleneckTransform(width_in, width_out, stride, group_width, bottleneck_multiplier, se_ratio)
        self.activation = ReLU()

    def forward(self, x: Value) -> Value:
        shortcut = self.proj(x) if self.has_proj else x
        return self.activation(shortcut + self.f(x))


@register_block
class AnyStage(RegNetFamilyBlock):
    """torchvision's ``AnyStage``: ``depth`` ResBottleneckBlocks named ``block{stage_index}-{i}``."""

    def constructor(self, width_in: Width = REQUIRED, width_out: Width = REQUIRED, stride: Stride = 2,
                    depth: Count = REQUIRED, group_width: Width = REQUIRED, bottleneck_multiplier: Multiplier = 1.0,
                    se_ratio: SERatio = None, stage_index: Annotated[int, Range(0, 1000)] = 1) -> None:
        for i in range(depth):
            setattr(self, f"block{stage_index}-{i}",
                    ResBottleneckBlock(width_in if i == 0 else width_out, width_out, stride if i == 0 else 1,
                                       group_width, bottleneck_multiplier, se_ratio))
