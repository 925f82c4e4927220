"""The DenseNet family's fine-grained blocks, named after torchvision's: DenseLayer, DenseBlock, Transition.

torchvision's ``_DenseLayer`` returns only its new features and ``_DenseBlock``
concatenates them onto its running input; here each DenseLayer does its own
concatenation (``concat(x, new)``), which gives the same tensor, keeps the same
module names (``denselayer1.norm1``, ..., ``conv2``: the concatenation has no
weights, hence no key) and lets a spec chain DenseLayers by themselves.

Example (one dense layer: 16 input channels, growth 8: 16 + 8 = 24 channels out)::

    >>> import fgir
    >>> spec = ("search_space:\\n  modules: [layer]\\n"
    ...         "  layer: {type: DenseLayer, in_channels: 16, growth_rate: 8}\\n")
    >>> graph = fgir.compile(spec, input="16x8x8")
    >>> graph.output.type.channels, graph.meta["params"]   # 32 + 16·32 + 64 + 32·8·9
    (24, 2912)
"""

from __future__ import annotations

from typing import Annotated, Optional

from fgir.blocks.argtypes import REQUIRED, Count, Range, Width
from fgir.blocks.densenet.conventions import DENSENET
from fgir.blocks.layers import AvgPool2d, BatchNorm2d, Conv2d, Dropout, ReLU
from fgir.blocks.module import Block, Value, concat
from fgir.blocks.registry import register_block
from fgir.limits import MAX_REPS

DropRate = Annotated[float, Range(0, 1)]


class DenseNetFamilyBlock(Block):
    """A block following the DenseNet family's conventions."""

    family = DENSENET


@register_block
class DenseLayer(DenseNetFamilyBlock):
    """BN, ReLU, 1x1 conv to bn_size·growth, BN, ReLU, 3x3 conv to growth (dropout); the input and
    the new features concatenated."""

    def constructor(self, in_channels: Optional[Width] = None, growth_rate: Width = REQUIRED,
                    bn_size: Width = 4, drop_rate: DropRate = 0) -> None:
        inner = bn_size * growth_rate
        # only norm1 states the input width (None: inferred); conv1 reads norm1's output, so a
        # wrong in_channels is reported once, at norm1
        self.norm1 = BatchNorm2d(in_channels)
        self.relu1 = ReLU()
        self.conv1 = Conv2d(None, inner, 1, bias=False)
        self.norm2 = BatchNorm2d(inner)
        self.relu2 = ReLU()
        self.conv2 = Conv2d(inner, growth_rate, 3, padding=1, bias=False)
        # torchvision applies F.dropout to the new features only when drop_rate > 0
        self.dropout = Dropout(drop_rate) if drop_rate > 0 else None

    def forward(self, x: Value) -> Value:
        new = x
        for child in (self.norm1, self.relu1, self.conv1, self.norm2, self.relu2, self.conv2, self.dropout):
            if child is not None:
                new = child(new)
        return concat(x, new)


@register_block
class DenseBlock(DenseNetFamilyBlock):
    """``num_layers`` DenseLayers, ``denselayer1`` … ``denselayerN``; layer i reads in + (i-1)·growth channels.

    ``in_channels`` (None: inferred) is stated to the first layer only: the later layers' widths
    follow from it, so a wrong value is one diagnostic, not one a layer.
    """

    def constructor(self, num_layers: Count = REQUIRED, in_channels: Optional[Width] = None,
                    growth_rate: Width = REQUIRED, bn_size: Width = 4, drop_rate: DropRate = 0) -> None:
        if num_layers > MAX_REPS:
            self.fail(f"{num_layers} dense layers; at most {MAX_REPS} are allowed", num_layers, "num_layers")
        for i in range(num_layers):
            setattr(self, f"denselayer{i + 1}",
                    DenseLayer(in_channels if i == 0 else None, growth_rate, bn_size, drop_rate))


@register_block
class Transition(DenseNetFamilyBlock):
    """BN, ReLU, 1x1 conv to ``out_channels``, 2x2 average pool (stride 2)."""

    def constructor(self, in_channels: Optional[Width] = None, out_channels: Width = REQUIRED) -> None:
        self.norm = BatchNorm2d(in_channels)   # None: inferred; the conv reads what the BN checked
        self.relu = ReLU()
        self.conv = Conv2d(None, out_channels, 1, bias=False)
        self.pool = AvgPool2d(2, 2)
