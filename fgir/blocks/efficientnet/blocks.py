"""The EfficientNet family's block: MBConv, torchvision's ``efficientnet.MBConv`` (V1).

Children as torchvision names them, so its state_dict keys are torchvision's: ``block`` (a
Sequential of: the 1x1 expansion ConvBNActivation with SiLU when the expanded width differs
from the input's; the depthwise ConvBNActivation with SiLU; SqueezeExcitation squeezing to a
quarter of the *input* width with SiLU and a sigmoid gate; the 1x1 projection ConvBNActivation
without activation), then ``stochastic_depth`` on the branch before the residual add.  The
residual exists when stride is 1 and the widths agree.

Example:
    >>> import fgir
    >>> spec = ("search_space:\\n  modules: [mb]\\n"
    ...         "  mb: {type: MBConv, in_channels: 16, out_channels: 16, expand_ratio: 6, kernel_size: 3}\\n")
    >>> # expand 16·96 + BN 192, depthwise 96·9 + 192, SE 388 + 480, project 96·16 + 32
    >>> fgir.compile(spec, input="16x8x8").meta["params"]
    5220
"""

from __future__ import annotations

from typing import Annotated, Literal

from fgir.blocks.argtypes import REQUIRED, Count, Min, Range, Width
from fgir.blocks.common import ConvBNActivation, SqueezeExcitation, make_divisible
from fgir.blocks.efficientnet.conventions import EFFICIENTNET
from fgir.blocks.layers import StochasticDepth
from fgir.blocks.module import Block, Sequential, Value
from fgir.blocks.registry import register_block

ExpandRatio = Annotated[float, Min(1)]
Probability = Annotated[float, Range(0, 1)]


class EfficientNetFamilyBlock(Block):
    """A block following the EfficientNet family's conventions."""

    family = EFFICIENTNET


@register_block
class MBConv(EfficientNetFamilyBlock):
    """Expand 1x1, depthwise kxk, squeeze-excitation, project 1x1; stochastic depth on the residual branch."""

    def constructor(self, in_channels: Width = REQUIRED, out_channels: Width = REQUIRED,
                    expand_ratio: ExpandRatio = REQUIRED, kernel_size: Count = 3, stride: Literal[1, 2] = 1,
                    stochastic_depth_prob: Probability = 0.0, norm_eps: float = 1e-5,
                    norm_momentum: float = 0.1) -> None:
        if kernel_size % 2 == 0:
            self.fail(f"kernel_size {kernel_size} is even: the depthwise conv's 'same' padding needs an "
                      "odd kernel", kernel_size, "kernel_size")
        norm = {"norm_eps": norm_eps, "norm_momentum": norm_momentum}
        expanded = make_divisible(in_channels * expand_ratio)
        layers = []
        # torchvision tests the rounded width, not the ratio: a ratio of 1 on a width that is no
        # multiple of 8 still expands (to the rounded width)
        if expanded != in_channels:
            layers.append(ConvBNActivation(in_channels, expanded, 1, activation="SiLU", **norm))
        layers.append(ConvBNActivation(expanded, expanded, kernel_size, stride, groups=expanded,
                                       activation="SiLU", **norm))
        layers.append(SqueezeExcitation(expanded, max(1, in_channels // 4), activation="SiLU",
                                        scale_activation="Sigmoid"))
        layers.append(ConvBNActivation(expanded, out_channels, 1, activation=None, **norm))
        self.block = Sequential(*layers)
        self.use_residual = stride == 1 and in_channels == out_channels
        # torchvision gives every block a StochasticDepth but calls it only on the residual path; it
        # holds no state, so leaving it out where it never runs changes no key and no output
        if self.use_residual:
            self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, x: Value) -> Value:
        out = self.block(x)
        return self.stochastic_depth(out) + x if self.use_residual else out
