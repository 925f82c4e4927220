"""MobileNetV2 / V3 written by hand the way torchvision writes them: ground truth for fgir's output.

torchvision itself is not installable beside this project's torch build, so the
structure of ``torchvision.models.mobilenetv2`` / ``mobilenetv3`` (and the
``ops.misc.Conv2dNormActivation`` / ``SqueezeExcitation`` helpers they use) is
restated here: same module names (hence the same state_dict keys), shapes,
forward and weight initialisation.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn


def make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision's ``_make_divisible``: round to the nearest multiple, never dropping more than 10%."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class ConvNormAct(nn.Sequential):
    """``Conv2dNormActivation``: conv (bias only without a norm) -> norm -> activation, as
    children 0, 1, 2, so keys read ``<prefix>.0.weight``, ``<prefix>.1.running_mean``."""

    def __init__(self, inp: int, out: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                 norm: type = nn.BatchNorm2d, act: type | None = nn.ReLU) -> None:
        layers: list[nn.Module] = [nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2,
                                             groups=groups, bias=False), norm(out)]
        if act is not None:
            layers.append(act())
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """``ops.misc.SqueezeExcitation``: avg-pool -> 1x1 conv (fc1) -> act -> 1x1 conv (fc2) -> gate."""

    def __init__(self, channels: int, squeeze: int, act: type = nn.ReLU,
                 gate: type = nn.Sigmoid) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = act()
        self.scale_activation = gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.fc2(self.activation(self.fc1(self.avgpool(x))))
        return self.scale_activation(scale) * x


def init_mobilenet(model: nn.Module) -> None:
    """The initialisation shared by MobileNetV2 and V3 in torchvision."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


# ---------------------------------------------------------------- MobileNetV2

class InvertedResidualV2(nn.Module):
    def __init__(self, inp: int, out: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = int(round(inp * expand))
        self.use_res_connect = stride == 1 and inp == out
        layers: list[nn.Module] = []
        if expand != 1:  # the t=1 block has no expansion conv, so its keys start at the depthwise
            layers.append(ConvNormAct(inp, hidden, 1, act=nn.ReLU6))
        layers += [ConvNormAct(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6),
                   # linear bottleneck: bare conv + BN as two separate children, no activation
                   nn.Conv2d(hidden, out, 1, bias=False),
                   nn.BatchNorm2d(out)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


# t (expansion), c (channels), n (repeats), s (stride of the first repeat)
V2_SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
              (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2) -> None:
        super().__init__()
        inp = make_divisible(32 * width_mult)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult))  # the head never shrinks
        features: list[nn.Module] = [ConvNormAct(3, inp, 3, 2, act=nn.ReLU6)]
        for t, c, n, s in V2_SETTING:
            out = make_divisible(c * width_mult)
            for i in range(n):
                features.append(InvertedResidualV2(inp, out, s if i == 0 else 1, t))
                inp = out
        features.append(ConvNormAct(inp, self.last_channel, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.last_channel, num_classes))
        init_mobilenet(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)  # functional: no avgpool module
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v2(num_classes: int = 1000, width_mult: float = 1.0) -> MobileNetV2:
    return MobileNetV2(num_classes, width_mult)


# ---------------------------------------------------------------- MobileNetV3

# BN for all of V3 (stem, blocks, last conv): TF-style eps and momentum.
V3_NORM = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)


class InvertedResidualV3(nn.Module):
    def __init__(self, inp: int, kernel: int, expanded: int, out: int, use_se: bool,
                 use_hs: bool, stride: int) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and inp == out
        act = nn.Hardswish if use_hs else nn.ReLU
        layers: list[nn.Module] = []
        if expanded != inp:  # expansion conv only when the width actually changes
            layers.append(ConvNormAct(inp, expanded, 1, norm=V3_NORM, act=act))
        layers.append(ConvNormAct(expanded, expanded, kernel, stride, groups=expanded,
                                  norm=V3_NORM, act=act))
        if use_se:  # SE sits after the depthwise, squeezing the *expanded* width, rounded to 8
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4),
                                            act=nn.ReLU, gate=nn.Hardsigmoid))
        layers.append(ConvNormAct(expanded, out, 1, norm=V3_NORM, act=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return y + x if self.use_res_connect else y


# input, kernel, expanded, out, SE, activation ("HS" hardswish / "RE" relu), stride
V3_LARGE = [(16, 3, 16, 16, False, "RE", 1), (16, 3, 64, 24, False, "RE", 2),
            (24, 3, 72, 24, False, "RE", 1), (24, 5, 72, 40, True, "RE", 2),
            (40, 5, 120, 40, True, "RE", 1), (40, 5, 120, 40, True, "RE", 1),
            (40, 3, 240, 80, False, "HS", 2), (80, 3, 200, 80, False, "HS", 1),
            (80, 3, 184, 80, False, "HS", 1), (80, 3, 184, 80, False, "HS", 1),
            (80, 3, 480, 112, True, "HS", 1), (112, 3, 672, 112, True, "HS", 1),
            (112, 5, 672, 160, True, "HS", 2), (160, 5, 960, 160, True, "HS", 1),
            (160, 5, 960, 160, True, "HS", 1)]
V3_SMALL = [(16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2),
            (24, 3, 88, 24, False, "RE", 1), (24, 5, 96, 40, True, "HS", 2),
            (40, 5, 240, 40, True, "HS", 1), (40, 5, 240, 40, True, "HS", 1),
            (40, 5, 120, 48, True, "HS", 1), (48, 5, 144, 48, True, "HS", 1),
            (48, 5, 288, 96, True, "HS", 2), (96, 5, 576, 96, True, "HS", 1),
            (96, 5, 576, 96, True, "HS", 1)]


class MobileNetV3(nn.Module):
    def __init__(self, setting: list[tuple], last_channel: int, num_classes: int = 1000,
                 dropout: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvNormAct(3, setting[0][0], 3, 2, norm=V3_NORM, act=nn.Hardswish)]
        for inp, k, exp, out, se, act, s in setting:
            layers.append(InvertedResidualV3(inp, k, exp, out, se, act == "HS", s))
        last_in = setting[-1][3]
        layers.append(ConvNormAct(last_in, 6 * last_in, 1, norm=V3_NORM, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(6 * last_in, last_channel), nn.Hardswish(),
                                        nn.Dropout(dropout), nn.Linear(last_channel, num_classes))
        init_mobilenet(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def mobilenet_v3_large(num_classes: int = 1000) -> MobileNetV3:
    # width_mult 1.0: every channel count in the table is already a multiple of 8
    return MobileNetV3(V3_LARGE, make_divisible(1280), num_classes)


def mobilenet_v3_small(num_classes: int = 1000) -> MobileNetV3:
    return MobileNetV3(V3_SMALL, make_divisible(1024), num_classes)
