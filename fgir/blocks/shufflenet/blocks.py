"""ShuffleNetV2's unit (torchvision's ``shufflenetv2.InvertedResidual``) and a stage of them.

``ShuffleUnit(inp, oup, stride)``: with stride 1 the input is split in two halves
(``x.chunk(2, dim=1)``: two ``Slice`` ops), the second goes through ``branch2`` (1x1 conv, BN,
ReLU, depthwise 3x3, BN, 1x1 conv, BN, ReLU) and is concatenated after the first; with a
stride, ``branch1`` (depthwise 3x3/s, BN, 1x1 conv, BN, ReLU) and ``branch2`` both read the whole
input.  The result's channels are shuffled in two groups (``ChannelShuffle``).  Children are
named as torchvision's (``branch1.0`` … ``branch2.7``), so are the state_dict keys.

Pruning (channel rules): slicing channels and shuffling them are opaque, so the unit's input
and output channels are locked; ``branch2``'s inner width (``branch2.0`` → ``branch2.3`` →
``branch2.5``) is a channel group of its own and prunes exactly.  The family keeps torch's
default initialisation (torchvision's ShuffleNetV2 sets none).

Example:
    >>> import fgir
    >>> spec = "search_space:\\n  modules: [unit]\\n  unit: {type: ShuffleUnit, inp: 24, oup: 116, stride: 2}\\n"
    >>> graph = fgir.compile(spec, input="24x28x28")
    >>> str(graph.output.type), graph.output.op, graph.meta["params"]
    ('116x14x14', 'channel_shuffle', 7398)
"""

from __future__ import annotations

from typing import Literal

from fgir.blocks.argtypes import REQUIRED, BlockSpec, Count, Width
from fgir.blocks.family import Family, register_family
from fgir.blocks.layers import BatchNorm2d, Conv2d, ReLU
from fgir.blocks.layers_sequence import ChannelShuffle, Slice
from fgir.blocks.module import Block, Repeat, Sequential, Value, concat
from fgir.blocks.registry import register_block

SHUFFLENET = register_family(Family("shufflenet"))   # torchvision sets no init: torch's defaults


class ShuffleNetFamilyBlock(Block):
    family = SHUFFLENET


def _depthwise(channels: int, stride: int) -> Conv2d:
    return Conv2d(channels, channels, 3, stride, 1, groups=channels, bias=False)


@register_block
class ShuffleUnit(ShuffleNetFamilyBlock):
    """torchvision's ShuffleNetV2 ``InvertedResidual(inp, oup, stride)``; see the module docstring."""

    def constructor(self, inp: Width = REQUIRED, oup: Width = REQUIRED, stride: Literal[1, 2, 3] = 1) -> None:
        if oup % 2:
            self.fail(f"oup {oup} is odd: the unit's output is two branches of oup / 2 channels", oup, "oup")
        branch = oup // 2
        self.stride = stride
        if stride == 1 and inp != oup:
            self.fail(f"a stride-1 unit keeps its width: inp {inp} must equal oup {oup} (half goes through "
                      "branch2, half is passed on)", inp, "inp")
        if stride > 1:
            self.branch1 = Sequential(_depthwise(inp, stride), BatchNorm2d(inp),
                                      Conv2d(inp, branch, 1, bias=False), BatchNorm2d(branch), ReLU())
        else:   # x.chunk(2, dim=1)
            self.first_half = Slice(1, 0, branch)
            self.second_half = Slice(1, branch, None)
        self.branch2 = Sequential(Conv2d(inp if stride > 1 else branch, branch, 1, bias=False), BatchNorm2d(branch),
                                  ReLU(), _depthwise(branch, stride), BatchNorm2d(branch),
                                  Conv2d(branch, branch, 1, bias=False), BatchNorm2d(branch), ReLU())
        self.shuffle = ChannelShuffle(2)

    def forward(self, x: Value) -> Value:
        if self.stride == 1:
            out = concat(self.first_half(x), self.branch2(self.second_half(x)))
        else:
            out = concat(self.branch1(x), self.branch2(x))
        return self.shuffle(out)


@register_block
class ShuffleStage(ShuffleNetFamilyBlock):
    """One of torchvision's ``stage2`` … ``stage4``: a stride-2 unit ``inp → oup``, then ``depth - 1``
    stride-1 units, named ``0``, ``1``, …"""

    def constructor(self, inp: Width = REQUIRED, oup: Width = REQUIRED, depth: Count = REQUIRED) -> None:
        items = {"inp": [inp] + [oup] * (depth - 1), "oup": oup, "stride": [2] + [1] * (depth - 1)}
        self.units = Repeat(depth, items, BlockSpec(ShuffleUnit.type_name(), {}), inline_scope=True)
