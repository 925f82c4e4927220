"""Blocks many families share, named after torchvision's: ConvBNActivation and SqueezeExcitation.

``ConvBNActivation`` is torchvision's ``Conv2dNormActivation`` (children ``0`` conv without
bias, ``1`` BatchNorm, ``2`` the activation, if any; padding ``(k - 1) // 2 * dilation``);
``SqueezeExcitation`` is torchvision's (``avgpool``, ``fc1``, ``activation``, ``fc2``,
``scale_activation``; the input scaled channel by channel).  Activations are named as specs
write the layers: ``ReLU``, ``ReLU6``, ``Hardswish``, ``SiLU``, ``Hardsigmoid``, ``Sigmoid``.

Example:
    >>> import fgir
    >>> spec = ("search_space:\\n  modules: [se]\\n"
    ...         "  se: {type: SqueezeExcitation, input_channels: 16, squeeze_channels: 4}\\n")
    >>> fgir.compile(spec, input="16x8x8").meta["params"]    # fc1 16·4+4, fc2 4·16+16
    148
"""

from __future__ import annotations

from typing import Literal, Optional

from fgir.blocks.argtypes import REQUIRED, Count, Width
from fgir.blocks.layers import ACTIVATIONS, AdaptiveAvgPool2d, BatchNorm2d, Conv2d
from fgir.blocks.module import Block, Value
from fgir.blocks.registry import register_block

ActivationName = Literal[tuple(ACTIVATIONS)]  # type: ignore[valid-type]   # the activation layers' names


def activation_layer(name: str | None):
    """A fresh activation layer by its spec name, or None for none."""
    return ACTIVATIONS[name]() if name is not None else None


@register_block
class ConvBNActivation(Block):
    """Conv (no bias), BatchNorm, activation: torchvision's Conv2dNormActivation, children 0, 1, 2."""

    def constructor(self, in_channels: Optional[Width] = None, out_channels: Width = REQUIRED,
                    kernel_size: Count = 3, stride: Count = 1, groups: Width = 1,
                    activation: Optional[ActivationName] = "ReLU", dilation: Count = 1,
                    norm_eps: float = 1e-5, norm_momentum: float = 0.1) -> None:
        if kernel_size % 2 == 0:
            self.fail(f"kernel_size {kernel_size} is even: a 'same' padding needs an odd kernel",
                      kernel_size, "kernel_size")
        padding = (kernel_size - 1) // 2 * dilation
        setattr(self, "0", Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation,
                                  groups=groups, bias=False))
        setattr(self, "1", BatchNorm2d(out_channels, eps=norm_eps, momentum=norm_momentum))
        if activation is not None:
            setattr(self, "2", activation_layer(activation))


@register_block
class SqueezeExcitation(Block):
    """Global pool, 1x1 conv down to ``squeeze_channels``, activation, 1x1 conv up, gate; scales the input."""

    def constructor(self, input_channels: Width = REQUIRED, squeeze_channels: Width = REQUIRED,
                    activation: ActivationName = "ReLU", scale_activation: ActivationName = "Hardsigmoid") -> None:
        self.avgpool = AdaptiveAvgPool2d(1)
        self.fc1 = Conv2d(input_channels, squeeze_channels, 1)
        self.activation = activation_layer(activation)
        self.fc2 = Conv2d(squeeze_channels, input_channels, 1)
        self.scale_activation = activation_layer(scale_activation)

    def forward(self, x: Value) -> Value:
        scale = x
        for child in (self.avgpool, self.fc1, self.activation, self.fc2, self.scale_activation):
            scale = child(scale)
        return x * scale


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """torchvision's ``_make_divisible``: the nearest multiple of ``divisor``, never 10% below ``value``.

    >>> make_divisible(32 * 1.1), make_divisible(112 * 1.1), make_divisible(72 // 4)
    (32, 120, 24)
    """
    min_value = min_value or divisor
    out = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if out < 0.9 * value:
        out += divisor
    return out
