"""EfficientNet B0-B7 written by hand the way torchvision writes them: ground truth for fgir's output.

torchvision itself is not installable beside this project's torch build, so the
V1 family of ``torchvision.models.efficientnet`` (MBConv, SqueezeExcitation from
``ops.misc``, ``ops.StochasticDepth``) is restated here with the same module
names (hence the same state_dict keys), shapes, forward and weight initialisation.
"""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import nn

from reference_mobilenet import ConvNormAct, SqueezeExcitation, make_divisible


class StochasticDepth(nn.Module):
    """``torchvision.ops.StochasticDepth(p, "row")``: drop whole samples of the residual branch
    with probability p while training (survivors scaled by 1/(1-p)); identity in eval mode."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        noise = torch.empty([x.shape[0]] + [1] * (x.ndim - 1), dtype=x.dtype, device=x.device)
        return x * noise.bernoulli_(keep).div_(keep)


class MBConv(nn.Module):
    def __init__(self, inp: int, out: int, expand_ratio: float, kernel: int, stride: int,
                 sd_prob: float, norm: type) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and inp == out
        expanded = make_divisible(inp * expand_ratio)
        layers: list[nn.Module] = []
        if expanded != inp:  # the expand_ratio=1 stage has no expansion conv
            layers.append(ConvNormAct(inp, expanded, 1, norm=norm, act=nn.SiLU))
        layers.append(ConvNormAct(expanded, expanded, kernel, stride, groups=expanded,
                                  norm=norm, act=nn.SiLU))
        # SE squeezes to a quarter of the block's *input* width (not the expanded width, unlike
        # MobileNetV3), with no rounding, SiLU inside and a plain sigmoid gate.
        layers.append(SqueezeExcitation(expanded, max(1, inp // 4), act=nn.SiLU, gate=nn.Sigmoid))
        layers.append(ConvNormAct(expanded, out, 1, norm=norm, act=None))
        self.block = nn.Sequential(*layers)
        # present (and in the module tree) on every block, but only used on the residual path
        self.stochastic_depth = StochasticDepth(sd_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        if self.use_res_connect:
            y = self.stochastic_depth(y) + x
        return y


# Table 1 of the paper: expand_ratio, kernel, stride, input channels, output channels, repeats
B0_STAGES = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
             (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]

# width_mult, depth_mult, classifier dropout, BN (b5-b7 were ported from lukemelas' TF-style
# weights, so torchvision builds them with eps=1e-3, momentum=0.01; b0-b4 keep BN defaults)
TF_BN = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
VARIANTS = {
    "b0": (1.0, 1.0, 0.2, nn.BatchNorm2d),
    "b1": (1.0, 1.1, 0.2, nn.BatchNorm2d),
    "b2": (1.1, 1.2, 0.3, nn.BatchNorm2d),
    "b3": (1.2, 1.4, 0.3, nn.BatchNorm2d),
    "b4": (1.4, 1.8, 0.4, nn.BatchNorm2d),
    "b5": (1.6, 2.2, 0.4, TF_BN),
    "b6": (1.8, 2.6, 0.5, TF_BN),
    "b7": (2.0, 3.1, 0.5, TF_BN),
}
# crop size torchvision's weights are evaluated at (its documented GFLOPS use these)
INPUT_SIZE = {"b0": 224, "b1": 240, "b2": 288, "b3": 300, "b4": 380, "b5": 456, "b6": 528, "b7": 600}


def stage_config(width_mult: float, depth_mult: float) -> list[tuple]:
    """The scaled stage table: channels via make_divisible(c * width, 8), repeats via ceil(n * depth)."""
    return [(e, k, s, make_divisible(i * width_mult), make_divisible(o * width_mult),
             int(math.ceil(n * depth_mult))) for e, k, s, i, o, n in B0_STAGES]


class EfficientNet(nn.Module):
    def __init__(self, stages: list[tuple], dropout: float, norm: type = nn.BatchNorm2d,
                 stochastic_depth_prob: float = 0.2, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvNormAct(3, stages[0][3], 3, 2, norm=norm, act=nn.SiLU)]
        total_blocks = sum(st[5] for st in stages)
        block_id = 0
        for expand, kernel, stride, inp, out, repeats in stages:
            stage: list[nn.Module] = []
            for i in range(repeats):
                # drop rate grows linearly with the global block index: 0 for the first block,
                # just under stochastic_depth_prob for the last (index / total, not / (total - 1))
                sd_prob = stochastic_depth_prob * float(block_id) / total_blocks
                stage.append(MBConv(inp if i == 0 else out, out, expand, kernel,
                                    stride if i == 0 else 1, sd_prob, norm))
                block_id += 1
            layers.append(nn.Sequential(*stage))  # one Sequential per stage: features.<stage>.<block>
        last_in = stages[-1][4]
        layers.append(ConvNormAct(last_in, 4 * last_in, 1, norm=norm, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * last_in, num_classes))

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                init_range = 1.0 / math.sqrt(m.out_features)  # out_features, not fan-in
                nn.init.uniform_(m.weight, -init_range, init_range)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def efficientnet(variant: str = "b0", num_classes: int = 1000) -> EfficientNet:
    width, depth, dropout, norm = VARIANTS[variant]
    return EfficientNet(stage_config(width, depth), dropout, norm, num_classes=num_classes)
