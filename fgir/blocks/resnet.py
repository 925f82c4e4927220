"""The ResNet family: stems, BasicBlock, BottleneckBlock, BasicLayer and ResNet.

What each builds is fixed by SEMANTICS.md; layer names follow torchvision
(``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer1.0.downsample.0``, ``fc``) so
torchvision checkpoints load into an ImageNet-depth ResNet without remapping.
"""

from __future__ import annotations

from typing import Any, Optional

from fgir.blocks.argtypes import REQUIRED, BlockSpec, Count, Width
from fgir.blocks.layers import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU
from fgir.blocks.module import Block, Repeat, Sequential, Value
from fgir.blocks.registry import BLOCKS, register_block
from fgir.limits import MAX_REPS

IMAGENET_DEPTHS = {18: ("BasicBlock", [2, 2, 2, 2]), 34: ("BasicBlock", [3, 4, 6, 3]),
                   50: ("BottleneckBlock", [3, 4, 6, 3]), 101: ("BottleneckBlock", [3, 4, 23, 3]),
                   152: ("BottleneckBlock", [3, 8, 36, 3])}
IMAGENET_WIDTHS = [64, 128, 256, 512]
CIFAR_WIDTHS = [16, 32, 64]


def conv3x3(inp: Any, out: Any, stride: Any = 1, groups: Any = 1) -> Conv2d:
    return Conv2d(inp, out, 3, stride, 1, groups=groups, bias=False)


def conv1x1(inp: Any, out: Any, stride: Any = 1) -> Conv2d:
    return Conv2d(inp, out, 1, stride, 0, bias=False)


def projection(inp: Any, out: Any, stride: Any) -> Sequential:
    """The shortcut that changes width or resolution: conv1x1 + BN, as ``downsample.0/1``."""
    return Sequential(conv1x1(inp, out, stride), BatchNorm2d(out))


@register_block
class InitialBlock(Block):
    """ImageNet stem: conv 7x7/2, BN, ReLU, max-pool 3x3/2."""

    input_size = 224

    def constructor(self, init_plane: Width = 64) -> None:
        self.conv1 = Conv2d(None, init_plane, 7, 2, 3, bias=False)
        self.bn1 = BatchNorm2d(init_plane)
        self.relu = ReLU()
        self.maxpool = MaxPool2d(3, 2, 1)


@register_block
class SmallInputInitialBlock(Block):
    """CIFAR-size stem: conv 3x3/1, BN, ReLU."""

    input_size = 32

    def constructor(self, init_plane: Width = 16) -> None:
        self.conv1 = conv3x3(None, init_plane)
        self.bn1 = BatchNorm2d(init_plane)
        self.relu = ReLU()


class _Residual(Block):
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


@register_block
class BasicLayer(Block):
    """Stages of blocks: stage i has width 64·2^i and ``layer_reps[i]`` blocks, or the given ``items``."""

    def constructor(self, in_plane: Width = REQUIRED, expansion: Width = REQUIRED,
                    block: BlockSpec = REQUIRED, layer_reps: list[Count] = REQUIRED,
                    items: Optional[dict] = None, groups: Width = 1, base_width: Width = 64) -> None:
        if expansion != block_expansion(block):
            self.fail(f"{block.type_name} expands by {block_expansion(block)}, but expansion is "
                      f"{expansion}", expansion, "expansion")
        if sum(layer_reps) > MAX_REPS:
            self.fail(f"{sum(layer_reps)} blocks; at most {MAX_REPS} are allowed", layer_reps, "layer_reps")
        if items is None:
            widths = [64 * 2 ** i for i in range(len(layer_reps))]
            items = stage_items(in_plane, widths, layer_reps, expansion)
            if groups != 1 or base_width != 64:
                items.update(groups=groups, base_width=base_width)
        self.layers = Repeat(sum(layer_reps), items, block, stage_names=True, inline_scope=True)


def _depth_problem(depth: int) -> str | None:
    if depth in IMAGENET_DEPTHS:
        return None
    if depth >= 8 and (depth - 2) % 6 == 0:
        if (depth - 2) // 2 > MAX_REPS:
            return f"depth {depth} needs {(depth - 2) // 2} blocks; at most {MAX_REPS} are allowed"
        return None
    return (f"depth {depth} is not a ResNet depth: expected 18, 34, 50, 101, 152, "
            "or 6n+2 for CIFAR (20, 32, 44, 56, 110)")


@register_block
class ResNet(Block):
    """A whole ResNet: ImageNet depths 18–152 or CIFAR depths 6n+2; ``items`` overrides per-block values."""

    def constructor(self, depth: Count = REQUIRED, num_class: Width = 10,
                    block: Optional[BlockSpec] = None, init_plane: Optional[Width] = None,
                    out_plane: Optional[Width] = None, num_reps: Optional[Count] = None,
                    items: Optional[dict] = None, small_input: Optional[bool] = None) -> None:
        problem = _depth_problem(depth)
        if problem:
            self.fail(problem, depth, "depth")
        cifar = depth not in IMAGENET_DEPTHS
        if cifar:
            block_name, reps, widths = "BasicBlock", [(depth - 2) // 6] * 3, CIFAR_WIDTHS
        else:
            block_name, reps = IMAGENET_DEPTHS[depth]
            widths = IMAGENET_WIDTHS
        block = block or BlockSpec(block_name, {})
        expansion = block_expansion(block)
        init_plane = init_plane or widths[0]
        out_plane = out_plane or widths[-1]
        small = cifar if small_input is None else small_input
        self.input_size = 32 if small else 224

        self.conv1 = conv3x3(None, init_plane) if small else Conv2d(None, init_plane, 7, 2, 3, bias=False)
        self.bn1 = BatchNorm2d(init_plane)
        self.relu = ReLU()
        if not small:
            self.maxpool = MaxPool2d(3, 2, 1)
        # items given override the depth's own per-block values, key by key
        items = {**stage_items(init_plane, widths, reps, expansion), **(items or {})}
        self.layers = Repeat(num_reps or sum(reps), items, block, stage_names=True, inline_scope=True)
        reason = (f"out_plane is {out_plane}" if expansion == 1
                  else f"out_plane {out_plane} × expansion {expansion} = {out_plane * expansion}")
        self.layers.expect_channels(out_plane * expansion, out_plane, "out_plane", reason,
                                    subject="the last block")
        self.avgpool = AdaptiveAvgPool2d(1)
        self.flatten = Flatten()
        self.fc = Linear(None, num_class)
