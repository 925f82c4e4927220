"""The ResNet family's networks: BasicLayer (stages of blocks) and ResNet (a whole network).

Example:
    >>> import fgir
    >>> fgir.compile("search_space:\\n  modules: [net]\\n  net: {type: ResNet, depth: 18}\\n").meta["params"]
    11181642
"""

from __future__ import annotations

from typing import Optional

from fgir.blocks.argtypes import REQUIRED, BlockSpec, Count, Width
from fgir.blocks.layers import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU
from fgir.blocks.module import Repeat
from fgir.blocks.registry import register_block
from fgir.blocks.resnet.blocks import ResNetFamilyBlock, block_expansion, conv3x3, stage_items
from fgir.blocks.resnet.conventions import STAGE_NAMING
from fgir.limits import MAX_REPS

IMAGENET_DEPTHS = {18: ("BasicBlock", [2, 2, 2, 2]), 34: ("BasicBlock", [3, 4, 6, 3]),
                   50: ("BottleneckBlock", [3, 4, 6, 3]), 101: ("BottleneckBlock", [3, 4, 23, 3]),
                   152: ("BottleneckBlock", [3, 8, 36, 3])}
IMAGENET_WIDTHS = [64, 128, 256, 512]
CIFAR_WIDTHS = [16, 32, 64]


@register_block
class BasicLayer(ResNetFamilyBlock):
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
        self.layers = Repeat(sum(layer_reps), items, block, naming=STAGE_NAMING, inline_scope=True)


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
class ResNet(ResNetFamilyBlock):
    """A whole ResNet: ImageNet depths 18–152 or CIFAR depths 6n+2; ``items`` overrides per-block values.

    ``groups`` and ``base_width`` shape the bottlenecks as torchvision's builders do: ResNeXt-50 32x4d
    is depth 50 with groups 32, base_width 4; Wide ResNet-50-2 is depth 50 with base_width 128.
    """

    def constructor(self, depth: Count = REQUIRED, num_class: Width = 10,
                    block: Optional[BlockSpec] = None, init_plane: Optional[Width] = None,
                    out_plane: Optional[Width] = None, num_reps: Optional[Count] = None,
                    items: Optional[dict] = None, small_input: Optional[bool] = None,
                    groups: Width = 1, base_width: Width = 64) -> None:
        problem = _depth_problem(depth)
        if problem:
            self.fail(problem, depth, "depth")
        for arg, value, plain in (("groups", groups, 1), ("base_width", base_width, 64)):
            if value != plain and IMAGENET_DEPTHS.get(depth, ("BasicBlock",))[0] != "BottleneckBlock":
                self.fail(f"{arg} {value} needs a bottleneck ResNet (depth 50, 101 or 152); depth {depth} is "
                          f"made of BasicBlocks", value, arg)
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
        grouping = {"groups": groups, "base_width": base_width} if (groups, base_width) != (1, 64) else {}
        items = {**stage_items(init_plane, widths, reps, expansion), **grouping, **(items or {})}
        self.layers = Repeat(num_reps or sum(reps), items, block, naming=STAGE_NAMING, inline_scope=True)
        reason = (f"out_plane is {out_plane}" if expansion == 1
                  else f"out_plane {out_plane} × expansion {expansion} = {out_plane * expansion}")
        self.layers.expect_channels(out_plane * expansion, out_plane, "out_plane", reason,
                                    subject="the last block")
        self.avgpool = AdaptiveAvgPool2d(1)
        self.flatten = Flatten()
        self.fc = Linear(None, num_class)
