"""The MobileNet family's blocks: V2's and V3's inverted residuals, and a searchable stage of them.

* ``InvertedResidual`` is torchvision's ``mobilenetv2.InvertedResidual``: child ``conv`` holds
  the 1x1 expansion (when ``expand_ratio`` is not 1), the depthwise conv, optionally a
  squeeze-excitation (MobileNetV3's, on the expanded width), and the linear 1x1 projection
  with its BatchNorm as two children; the input is added when stride is 1 and widths agree.
* ``InvertedResidualV3`` is torchvision's ``mobilenetv3.InvertedResidual`` (child ``block``,
  every BN eps 0.001, momentum 0.01), written with the arguments of its config table (``dilation``
  > 1: the depthwise conv dilated, with stride 1).
* ``InvertedResidualStage`` is ``depth`` InvertedResiduals, the first one changing width and
  resolution: the unit a ProxylessNAS / Once-for-All search varies (depth, expand ratio,
  kernel size, width), each a typed argument and so a search target.

Example:
    >>> import fgir
    >>> spec = ("search_space:\\n  modules: [stage]\\n"
    ...         "  stage: {type: InvertedResidualStage, in_channels: 16, out_channels: 24, depth: 2,\\n"
    ...         "          stride: 2, expand_ratio: 6, kernel_size: 5}\\n")
    >>> graph = fgir.compile(spec, input="16x32x32")
    >>> graph.meta["params"], graph["1.conv.1.0"].attrs["kernel_size"]   # a one-module network: no prefix
    (17808, [5, 5])
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fgir.blocks.argtypes import REQUIRED, BlockSpec, Count, Min, Width
from fgir.blocks.common import ActivationName, ConvBNActivation, SqueezeExcitation, make_divisible
from fgir.blocks.layers import BatchNorm2d, Conv2d
from fgir.blocks.module import Block, Repeat, Sequential, Value
from fgir.blocks.registry import register_block
from fgir.blocks.mobilenet.conventions import V3_NORM, MobileNetFamilyBlock

Stride = Literal[1, 2]
ExpandRatio = Annotated[float, Min(1)]   # torchvision: hidden = round(in_channels * expand_ratio)


def check_odd_kernel(block: Block, kernel_size: Any) -> None:
    """A depthwise conv padded (k - 1) // 2 keeps the resolution only for odd kernels."""
    if kernel_size % 2 == 0:
        block.fail(f"kernel_size {kernel_size} is even: a 'same' padding needs an odd kernel",
                   kernel_size, "kernel_size")


def squeeze_width(channels: int) -> int:
    """MobileNetV3's squeeze width: a quarter of the expanded width, rounded to a multiple of 8."""
    return make_divisible(channels // 4, 8)


class _Residual(MobileNetFamilyBlock):
    """Runs ``body`` (the child named by ``body_name``) and adds the input when shapes allow."""

    body_name = "conv"

    def forward(self, x: Value) -> Value:
        out = getattr(self, self.body_name)(x)
        return x + out if self.use_res_connect else out


@register_block
class InvertedResidual(_Residual):
    """MobileNetV2's block: [1x1 expand], depthwise k x k, [squeeze-excitation], linear 1x1 projection."""

    def constructor(self, in_channels: Width = REQUIRED, out_channels: Width = REQUIRED, stride: Stride = 1,
                    expand_ratio: ExpandRatio = REQUIRED, kernel_size: Count = 3, se: bool = False,
                    activation: ActivationName = "ReLU6") -> None:
        check_odd_kernel(self, kernel_size)
        hidden = int(round(in_channels * expand_ratio))
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers = []
        if expand_ratio != 1:   # the t=1 block has no expansion: its keys start at the depthwise
            layers.append(ConvBNActivation(in_channels, hidden, 1, activation=activation))
        layers.append(ConvBNActivation(hidden, hidden, kernel_size, stride, groups=hidden, activation=activation))
        if se:
            layers.append(SqueezeExcitation(hidden, squeeze_width(hidden), "ReLU", "Hardsigmoid"))
        # the linear bottleneck: a bare conv and its BN as two children, no activation
        layers += [Conv2d(hidden, out_channels, 1, bias=False), BatchNorm2d(out_channels)]
        self.conv = Sequential(*layers)


@register_block
class InvertedResidualV3(_Residual):
    """MobileNetV3's block, one row of torchvision's config table; every BN eps 0.001, momentum 0.01."""

    body_name = "block"

    def constructor(self, in_channels: Width = REQUIRED, kernel_size: Count = REQUIRED,
                    expanded_channels: Width = REQUIRED, out_channels: Width = REQUIRED, se: bool = False,
                    activation: Literal["ReLU", "Hardswish"] = "ReLU", stride: Stride = 1,
                    dilation: Count = 1) -> None:
        check_odd_kernel(self, kernel_size)
        self.use_res_connect = stride == 1 and in_channels == out_channels   # the row's stride, as torchvision
        layers = []
        if expanded_channels != in_channels:   # expansion only when the width changes
            layers.append(ConvBNActivation(in_channels, expanded_channels, 1, activation=activation, **V3_NORM))
        # a dilated row (torchvision's dilated=True) keeps the resolution: its depthwise conv has stride 1
        layers.append(ConvBNActivation(expanded_channels, expanded_channels, kernel_size,
                                       1 if dilation > 1 else stride, groups=expanded_channels,
                                       activation=activation, dilation=dilation, **V3_NORM))
        if se:   # on the expanded width, after the depthwise
            layers.append(SqueezeExcitation(expanded_channels, squeeze_width(expanded_channels),
                                            "ReLU", "Hardsigmoid"))
        layers.append(ConvBNActivation(expanded_channels, out_channels, 1, activation=None, **V3_NORM))
        self.block = Sequential(*layers)


@register_block
class InvertedResidualStage(MobileNetFamilyBlock):
    """``depth`` InvertedResiduals: the first ``in_channels → out_channels`` with ``stride``, the rest stride 1.

    Blocks are named ``0``, ``1``, ... under the stage (``stage.1.conv.1.0`` is block 1's depthwise conv).
    """

    def constructor(self, in_channels: Width = REQUIRED, out_channels: Width = REQUIRED, depth: Count = REQUIRED,
                    stride: Stride = 1, expand_ratio: ExpandRatio = REQUIRED, kernel_size: Count = 3,
                    se: bool = False, activation: ActivationName = "ReLU6") -> None:
        check_odd_kernel(self, kernel_size)   # here, once, rather than in each block of the stage
        items = {"in_channels": [in_channels] + [out_channels] * (depth - 1), "out_channels": out_channels,
                 "stride": [stride] + [1] * (depth - 1), "expand_ratio": expand_ratio,
                 "kernel_size": kernel_size, "se": se, "activation": activation}
        self.blocks = Repeat(depth, items, BlockSpec(InvertedResidual.type_name(), {}), inline_scope=True)
