"""ResNeXt-50 32x4d and Wide ResNet-50-2 written by hand the way torchvision writes them.

tests/reference_resnet.py has no ``groups`` / ``width_per_group``, so this is the
grouped / widened Bottleneck of ``torchvision.models.resnet``, restated with the
same module names (hence the same state_dict keys), shapes, forward and weight
initialisation. torchvision is not installable beside this project's torch build.
"""

from __future__ import annotations

import torch
from torch import nn


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inp: int, planes: int, stride: int = 1, groups: int = 1,
                 base_width: int = 64) -> None:
        super().__init__()
        # inner width: planes scaled by base_width/64 per group, times the number of groups
        # (resnext50_32x4d: 4 * 32 = 128 for planes 64; wide_resnet50_2: 128 for planes 64)
        width = int(planes * (base_width / 64.0)) * groups
        out = planes * self.expansion  # the outer width is never widened
        self.conv1 = nn.Conv2d(inp, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)  # stride here
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False),
                                            nn.BatchNorm2d(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        identity = self.downsample(x) if self.downsample is not None else x
        return self.relu(y + identity)


class ResNet(nn.Module):
    """torchvision's ImageNet ResNet with Bottleneck blocks, groups and width_per_group."""

    def __init__(self, layers: list[int], groups: int = 1, width_per_group: int = 64,
                 num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inp = 64
        for i, (planes, count) in enumerate(zip([64, 128, 256, 512], layers)):
            blocks = []
            for j in range(count):
                blocks.append(Bottleneck(inp, planes, 2 if (i > 0 and j == 0) else 1,
                                         groups, width_per_group))
                inp = planes * Bottleneck.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * Bottleneck.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            # nn.Linear keeps PyTorch's default init (zero_init_residual is off by default)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnext50_32x4d(num_classes: int = 1000) -> ResNet:
    return ResNet([3, 4, 6, 3], groups=32, width_per_group=4, num_classes=num_classes)


def wide_resnet50_2(num_classes: int = 1000) -> ResNet:
    return ResNet([3, 4, 6, 3], width_per_group=64 * 2, num_classes=num_classes)
