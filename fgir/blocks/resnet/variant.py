"""VariantLayer and ResNetVariant: the guide's BackboneNas space (section 3).

VariantLayer is written exactly the way a user block is (see
``examples/user_blocks/``): a constructor over its searchable codes that
builds itself from :class:`Repeat`.  Unlike the guide's snippet it starts
from ``in_plane`` (docs/semantics.md), and it checks its final width.
"""

from __future__ import annotations

from typing import Literal

from fgir.blocks.argtypes import REQUIRED, BinaryCode, BlockSpec, Width
from fgir.blocks.heads import LinearClassificationHead
from fgir.blocks.module import Repeat
from fgir.blocks.registry import register_block
from fgir.blocks.resnet.blocks import InitialBlock, ResNetFamilyBlock, SmallInputInitialBlock, block_expansion


@register_block
class VariantLayer(ResNetFamilyBlock):
    """Blocks whose widths double where ``doublechannel`` is 1 and stride 2 where ``downsample`` is 1."""

    def constructor(self, in_plane: Width = REQUIRED, out_plane: Width = REQUIRED,
                    doublechannel: BinaryCode = REQUIRED, downsample: BinaryCode = REQUIRED,
                    expansion: Width = 1, block: BlockSpec = REQUIRED, groups: Width = 1,
                    base_width: Width = 64) -> None:
        if len(doublechannel) != len(downsample):
            self.fail(f"doublechannel has {len(doublechannel)} values but downsample has "
                      f"{len(downsample)}; the codes must have equal length", downsample, "downsample")
        if expansion != block_expansion(block):
            self.fail(f"{block.type_name} expands by {block_expansion(block)}, but expansion is "
                      f"{expansion}", expansion, "expansion")
        items = {"inchannel": [], "outchannel": [], "stride": []}
        width = in_plane
        block_in = in_plane
        for double, down in zip(doublechannel, downsample):
            width = width * 2 if double else width
            items["inchannel"].append(block_in)
            items["outchannel"].append(width)
            items["stride"].append(2 if down else 1)
            block_in = width * expansion
        if groups != 1 or base_width != 64:
            items.update(groups=groups, base_width=base_width)
        self.repeat = Repeat(len(doublechannel), items, block)
        self.expect_channels(out_plane * expansion, out_plane, "out_plane",
                             f"out_plane is {out_plane}" if expansion == 1 else
                             f"out_plane {out_plane} × expansion {expansion} = {out_plane * expansion}")


VARIANT_BLOCKS = {18: "BasicBlock", 34: "BasicBlock", 50: "BottleneckBlock", 101: "BottleneckBlock"}


@register_block
class ResNetVariant(ResNetFamilyBlock):
    """Stem, VariantLayer, head: a ResNet whose downsampling and widening positions are codes."""

    def constructor(self, base_depth: Literal[18, 34, 50, 101] = REQUIRED,
                    base_channel: Width = REQUIRED, doublechannel: BinaryCode = REQUIRED,
                    downsample: BinaryCode = REQUIRED, num_class: Width = 10,
                    small_input: bool = True) -> None:
        block = BlockSpec(VARIANT_BLOCKS[base_depth], {})
        expansion = block_expansion(block)
        final = base_channel * 2 ** sum(doublechannel)
        self.input_size = 32 if small_input else 224
        self.init = SmallInputInitialBlock(base_channel) if small_input else InitialBlock(base_channel)
        self.layer = VariantLayer(base_channel, final, doublechannel, downsample, expansion, block)
        self.head = LinearClassificationHead(None, num_class)
