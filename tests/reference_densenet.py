"""DenseNet-121/161/169/201 written by hand the way torchvision writes them: ground truth for fgir.

torchvision itself is not installable beside this project's torch build, so
``torchvision.models.densenet`` (DenseNet-BC, bn_size 4, drop_rate 0) is restated
here with the same module names (hence the same state_dict keys), shapes,
forward and weight initialisation. The memory-efficient checkpointing option is
left out: it changes memory use only, never the result.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


class DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv (to bn_size * growth) then BN-ReLU-3x3 conv (to growth); the output
    is the *new* features only, the block concatenates them onto its running input."""

    def __init__(self, inp: int, growth: int, bn_size: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(inp)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(inp, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = torch.cat(features, 1)
        x = self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(x)))


class DenseBlock(nn.ModuleDict):
    def __init__(self, layers: int, inp: int, growth: int, bn_size: int) -> None:
        super().__init__()
        for i in range(layers):
            self.add_module(f"denselayer{i + 1}", DenseLayer(inp + i * growth, growth, bn_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """BN-ReLU-1x1 conv halving the channels, then 2x2 average pool halving the resolution."""

    def __init__(self, inp: int, out: int) -> None:
        super().__init__(OrderedDict([
            ("norm", nn.BatchNorm2d(inp)),
            ("relu", nn.ReLU()),
            ("conv", nn.Conv2d(inp, out, 1, bias=False)),
            ("pool", nn.AvgPool2d(2, 2)),
        ]))


class DenseNet(nn.Module):
    def __init__(self, growth: int, blocks: tuple[int, ...], init_features: int, bn_size: int = 4,
                 num_classes: int = 1000) -> None:
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(3, init_features, 7, 2, 3, bias=False)),
            ("norm0", nn.BatchNorm2d(init_features)),
            ("relu0", nn.ReLU()),
            ("pool0", nn.MaxPool2d(3, 2, 1)),
        ]))
        channels = init_features
        for i, layers in enumerate(blocks):
            self.features.add_module(f"denseblock{i + 1}", DenseBlock(layers, channels, growth, bn_size))
            channels += layers * growth
            if i != len(blocks) - 1:  # no transition after the last block
                self.features.add_module(f"transition{i + 1}", Transition(channels, channels // 2))
                channels //= 2
        # the final BN lives inside features; its ReLU is applied functionally in forward
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)  # fan_in, leaky_relu(a=0) gain: torchvision's default
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)  # Linear weight keeps PyTorch's default init

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.features(x))
        out = torch.flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1)
        return self.classifier(out)


# depth: (growth rate, layers per dense block, stem width)
CONFIGS = {
    121: (32, (6, 12, 24, 16), 64),
    161: (48, (6, 12, 36, 24), 96),
    169: (32, (6, 12, 32, 32), 64),
    201: (32, (6, 12, 48, 32), 64),
}


def densenet(depth: int = 121, num_classes: int = 1000) -> DenseNet:
    growth, blocks, init_features = CONFIGS[depth]
    return DenseNet(growth, blocks, init_features, num_classes=num_classes)
