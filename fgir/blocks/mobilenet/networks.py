"""The MobileNet family's networks: torchvision's MobileNetV2 and MobileNetV3 (large, small).

Same parameter tensors under the same state_dict keys (``features.<i>...``,
``classifier.<i>...``), the same ``_make_divisible`` rounding, BatchNorm settings and
dropout, so a torchvision checkpoint of the same configuration loads strictly and
computes the same outputs.  torchvision pools with a function in V2 and with an
``avgpool`` module in V3; both are weightless, so here both have an ``avgpool`` child.

Example:
    >>> import fgir
    >>> fgir.compile("search_space:\\n  modules: [net]\\n  net: {type: MobileNetV2}\\n").meta["params"]
    3504872
"""

from __future__ import annotations

from typing import Literal

from fgir.blocks.argtypes import REQUIRED, Width
from fgir.blocks.common import ConvBNActivation, make_divisible
from fgir.blocks.layers import ACTIVATIONS, AdaptiveAvgPool2d, Dropout, Flatten, Linear
from fgir.blocks.module import Module, Sequential
from fgir.blocks.registry import register_block
from fgir.blocks.mobilenet.blocks import InvertedResidual, InvertedResidualV3
from fgir.blocks.mobilenet.conventions import V3_NORM, MobileNetFamilyBlock

DROPOUT = 0.2   # torchvision's default for both versions

# t (expansion), c (channels), n (repeats), s (stride of the first repeat): torchvision's table
V2_SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
              (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

# in, kernel, expanded, out, SE, activation, stride: torchvision's tables (width_mult 1.0)
V3_SETTINGS = {
    "large": [(16, 3, 16, 16, False, "ReLU", 1), (16, 3, 64, 24, False, "ReLU", 2),
              (24, 3, 72, 24, False, "ReLU", 1), (24, 5, 72, 40, True, "ReLU", 2),
              (40, 5, 120, 40, True, "ReLU", 1), (40, 5, 120, 40, True, "ReLU", 1),
              (40, 3, 240, 80, False, "Hardswish", 2), (80, 3, 200, 80, False, "Hardswish", 1),
              (80, 3, 184, 80, False, "Hardswish", 1), (80, 3, 184, 80, False, "Hardswish", 1),
              (80, 3, 480, 112, True, "Hardswish", 1), (112, 3, 672, 112, True, "Hardswish", 1),
              (112, 5, 672, 160, True, "Hardswish", 2), (160, 5, 960, 160, True, "Hardswish", 1),
              (160, 5, 960, 160, True, "Hardswish", 1)],
    "small": [(16, 3, 16, 16, True, "ReLU", 2), (16, 3, 72, 24, False, "ReLU", 2),
              (24, 3, 88, 24, False, "ReLU", 1), (24, 5, 96, 40, True, "Hardswish", 2),
              (40, 5, 240, 40, True, "Hardswish", 1), (40, 5, 240, 40, True, "Hardswish", 1),
              (40, 5, 120, 48, True, "Hardswish", 1), (48, 5, 144, 48, True, "Hardswish", 1),
              (48, 5, 288, 96, True, "Hardswish", 2), (96, 5, 576, 96, True, "Hardswish", 1),
              (96, 5, 576, 96, True, "Hardswish", 1)],
}
V3_LAST_CHANNEL = {"large": 1280, "small": 1024}   # the classifier's hidden width


def v3_features(arch: str, dilated: bool = False) -> list[Module]:
    """The layers of torchvision's ``mobilenet_v3_<arch>(dilated=...).features``: stem, the table's blocks,
    1x1 conv;
    ``dilated`` gives the last stage (the rows from the last stride 2 on) dilation 2 and stride 1."""
    setting = V3_SETTINGS[arch]
    last_stage = max(i for i, row in enumerate(setting) if row[-1] == 2)
    layers = [ConvBNActivation(3, setting[0][0], 3, 2, activation="Hardswish", **V3_NORM)]
    for i, (inp, kernel, expanded, out, se, activation, stride) in enumerate(setting):
        dilation = 2 if dilated and i >= last_stage else 1
        layers.append(InvertedResidualV3(inp, kernel, expanded, out, se, activation, stride, dilation))
    last_in = setting[-1][3]
    layers.append(ConvBNActivation(last_in, 6 * last_in, 1, activation="Hardswish", **V3_NORM))
    return layers


@register_block
class MobileNetV2(MobileNetFamilyBlock):
    """torchvision's ``mobilenet_v2(num_classes, width_mult)``: stem, 17 inverted residuals, 1x1 conv, head."""

    input_size = 224

    def constructor(self, num_class: Width = 1000, width_mult: float = 1.0) -> None:
        if width_mult <= 0:
            self.fail(f"width_mult must be positive, got {width_mult}", width_mult, "width_mult")
        width = make_divisible(32 * width_mult)
        last = make_divisible(1280 * max(1.0, width_mult))   # the head never shrinks
        layers = [ConvBNActivation(3, width, 3, 2, activation="ReLU6")]
        for t, c, n, s in V2_SETTING:
            out = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(width, out, s if i == 0 else 1, t))
                width = out
        layers.append(ConvBNActivation(width, last, 1, activation="ReLU6"))
        self.features = Sequential(*layers)
        self.avgpool = AdaptiveAvgPool2d(1)
        self.flatten = Flatten()
        self.classifier = Sequential(Dropout(DROPOUT), Linear(last, num_class))


@register_block
class MobileNetV3(MobileNetFamilyBlock):
    """torchvision's ``mobilenet_v3_large`` / ``mobilenet_v3_small`` (width_mult 1.0)."""

    input_size = 224

    def constructor(self, arch: Literal["large", "small"] = REQUIRED, num_class: Width = 1000) -> None:
        self.features = Sequential(*v3_features(arch))
        last_in = V3_SETTINGS[arch][-1][3]
        self.avgpool = AdaptiveAvgPool2d(1)
        self.flatten = Flatten()
        hidden = make_divisible(V3_LAST_CHANNEL[arch])
        self.classifier = Sequential(Linear(6 * last_in, hidden), ACTIVATIONS["Hardswish"](), Dropout(DROPOUT),
                                     Linear(hidden, num_class))
