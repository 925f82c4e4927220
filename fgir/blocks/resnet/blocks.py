"""The ResNet family's blocks: the stems, BasicBlock and BottleneckBlock.

What each builds is fixed by docs/semantics.md; layer names follow torchvision
(``conv1``, ``bn1``, ``downsample.0``) so torchvision checkpoints load without
remapping.
"""

from __future__ import annotations

from typing import Any, Optional

from fgir.blocks.argtypes import REQUIRED, BlockSpec, Count, Width
from fgir.blocks.layers import BatchNorm2d, Conv2d, MaxPool2d, ReLU
from fgir.blocks.module import Block, Sequential, Value
from fgir.blocks.registry import BLOCKS, register_block
from fgir.blocks.resnet.conventions import RESNET


class ResNetFamilyBlock(Block):
    """A block following the ResNet family's conventions."""

    family = RESNET


def conv3x3(inp: Any, out: Any, stride: Any = 1, groups: Any = 1) -> Conv2d:
    return Conv2d(inp, out, 3, stride, 1, groups=groups, bias=False)


def conv1x1(inp: Any, out: Any, stride: Any = 1) -> Conv2d:
    return Conv2d(inp, out, 1, stride, 0, bias=False)


def projection(inp: Any, out: Any, stride: Any) -> Sequential:
    """The shortcut that changes width or resolution: conv1x1 + BN, as ``downsample.0/1``."""
    return Sequential(conv1x1(inp, out, stride), BatchNorm2d(out))


@register_block
class InitialBlock(ResNetFamilyBlock):
    """ImageNet stem: conv 7x7/2, BN, ReLU, max-pool 3x3/2."""

    input_size = 224

    def constructor(self, init_plane: Width = 64) -> None:
        self.conv1 = Conv2d(None, init_plane, 7, 2, 3, bias=False)
        self.bn1 = BatchNorm2d(init_plane)
        self.relu = ReLU()
        self.maxpool = MaxPool2d(3, 2, 1)


@register_block
class SmallInputInitialBlock(ResNetFamilyBlock):
    """CIFAR-size stem: conv 3x3/1, BN, ReLU."""

    input_size = 32

    def constructor(self, init_plane: Width = 16) -> None:
        self.conv1 = conv3x3(None, init_plane)
        self.bn1 = BatchNorm2d(init_plane)
        self.relu = ReLU()


class _Residual(ResNetFamilyBlock):
    """A block with a shortcut; ``main`` lists the children on the residual path."""

    expansion = 1
    main: tuple[str, ...] = ()

    def forward(self, x: Value) -> Value:
        out = x
        for name in self.main:
            out = getattr(self, name)(out)
        shortcut = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + shortcut)


@register_block
class BasicBlock(_Residual):
    """conv3x3, BN, ReLU, conv3x3, BN, plus shortcut, ReLU (expansion 1)."""

    main = ("conv1", "bn1", "relu", "conv2", "bn2")

    def constructor(self, inchannel: Width = REQUIRED, outchannel: Width = REQUIRED, stride: Count = 1,
                    inner_plane: Optional[Width] = None, groups: Width = 1,
                    base_width: Width = 64) -> None:
        if groups != 1:
            self.fail(f"BasicBlock supports only groups 1, got {groups}", groups, "groups")
        if base_width != 64:
            self.fail(f"BasicBlock supports only base_width 64, got {base_width}", base_width,
                      "base_width")
        mid = inner_plane or outchannel
        self.conv1 = conv3x3(inchannel, mid, stride)
        self.bn1 = BatchNorm2d(mid)
        self.relu = ReLU()
        self.conv2 = conv3x3(mid, outchannel)
        self.bn2 = BatchNorm2d(outchannel)
        self.downsample = (projection(inchannel, outchannel, stride)
                           if stride != 1 or inchannel != outchannel else None)


@register_block
class BottleneckBlock(_Residual):
    """conv1x1, conv3x3 (stride, groups), conv1x1 to 4·outchannel, each with BN; expansion 4."""

    expansion = 4
    main = ("conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3")

    def constructor(self, inchannel: Width = REQUIRED, outchannel: Width = REQUIRED, stride: Count = 1,
                    groups: Width = 1, base_width: Width = 64,
                    inner_plane: Optional[Width] = None) -> None:
        width = inner_plane or int(outchannel * base_width / 64) * groups
        out = outchannel * self.expansion
        self.conv1 = conv1x1(inchannel, width)
        self.bn1 = BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = BatchNorm2d(width)
        self.conv3 = conv1x1(width, out)
        self.bn3 = BatchNorm2d(out)
        self.relu = ReLU()
        self.downsample = projection(inchannel, out, stride) if stride != 1 or inchannel != out else None


def block_expansion(spec: BlockSpec) -> int:
    return getattr(BLOCKS[spec.type_name], "expansion", 1)


def stage_items(in_plane: Any, widths: list[int], reps: list[int], expansion: int) -> dict[str, list]:
    """Per-block inchannel/outchannel/stride for stages of the given widths and depths."""
    items: dict[str, list] = {"inchannel": [], "outchannel": [], "stride": []}
    for stage, (width, count) in enumerate(zip(widths, reps)):
        for i in range(count):
            items["inchannel"].append(in_plane)
            items["outchannel"].append(width)
            items["stride"].append(2 if stage > 0 and i == 0 else 1)
            in_plane = width * expansion
    return items
