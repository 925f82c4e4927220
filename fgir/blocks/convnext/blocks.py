"""The ConvNeXt family's blocks, named as torchvision's ``convnext`` names their modules.

* ``ConvNeXtBlock(dim, layer_scale, stochastic_depth_prob)`` is torchvision's
  ``CNBlock``: ``block`` = depthwise 7x7 conv (``block.0``), a Permute to channels
  last (``block.1``), LayerNorm eps 1e-6 (``block.2``), Linear to 4·dim (``block.3``),
  GELU, Linear back (``block.5``), a Permute to channels first (``block.6``); then
  ``layer_scale`` (a ``dim x 1 x 1`` tensor, key ``<block>.layer_scale``),
  ``stochastic_depth`` and the residual.  The Linears act on the ``HxWxC`` image,
  its channels last, as torchvision's do: their tensors are ``nn.Linear``'s.
* ``ConvNeXtStage(dim, depth, ...)`` is ``depth`` of them, named ``0``, ``1``, ...
  (a torchvision stage, ``features.<i>``), each block's drop rate given in a list.
* ``ConvNeXtDownsample(in_channels, out_channels)`` is torchvision's downsampling
  layer: LayerNorm2d, then a 2x2 stride-2 conv (``0``, ``1``).

Example:
    >>> import fgir
    >>> spec = "search_space:\\n  modules: [block]\\n  block: {type: ConvNeXtBlock, dim: 16}\\n"
    >>> graph = fgir.compile(spec, input="16x8x8")
    >>> graph.meta["params"], str(graph["block.3"].type)   # dw 16·49+16, LN 32, 16·64+64, 64·16+16, 16
    (2976, '8x8x64')
"""

from __future__ import annotations

from typing import Annotated, Optional

from fgir.blocks.argtypes import REQUIRED, BlockSpec, Count, Range, Width
from fgir.blocks.layers import Conv2d, Linear, StochasticDepth
from fgir.blocks.layers_sequence import LayerScale, Permute
from fgir.blocks.layers_vision import GELU, LayerNorm, LayerNorm2d
from fgir.blocks.module import Repeat, Sequential, Value
from fgir.blocks.registry import register_block
from fgir.blocks.convnext.conventions import NORM_EPS, ConvNeXtFamilyBlock

Probability = Annotated[float, Range(0, 1)]


@register_block
class ConvNeXtBlock(ConvNeXtFamilyBlock):
    """torchvision's ``CNBlock``: depthwise 7x7, channels-last LayerNorm and inverted MLP, layer scale, residual."""

    def constructor(self, dim: Width = REQUIRED, layer_scale: float = 1e-6,
                    stochastic_depth_prob: Probability = 0.0) -> None:
        self.block = Sequential(Conv2d(dim, dim, 7, padding=3, groups=dim), Permute([0, 2, 3, 1]),
                                LayerNorm(dim, eps=NORM_EPS), Linear(dim, 4 * dim), GELU(), Linear(4 * dim, dim),
                                Permute([0, 3, 1, 2]))
        self.layer_scale = LayerScale(dim, layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, x: Value) -> Value:
        return self.stochastic_depth(self.layer_scale(self.block(x))) + x


@register_block
class ConvNeXtStage(ConvNeXtFamilyBlock):
    """``depth`` ConvNeXtBlocks of width ``dim``, named ``0``, ``1``, ...; drop rates one a block (None: 0)."""

    def constructor(self, dim: Width = REQUIRED, depth: Count = REQUIRED, layer_scale: float = 1e-6,
                    stochastic_depth_prob: Optional[list[Probability]] = None) -> None:
        items = dict(dim=dim, layer_scale=layer_scale,
                     stochastic_depth_prob=stochastic_depth_prob if stochastic_depth_prob is not None else 0.0)
        self.blocks = Repeat(depth, items, BlockSpec(ConvNeXtBlock.type_name(), {}), inline_scope=True)


@register_block
class ConvNeXtDownsample(ConvNeXtFamilyBlock):
    """torchvision's downsampling layer between stages: LayerNorm2d, 2x2 conv stride 2 (children ``0``, ``1``)."""

    def constructor(self, in_channels: Width = REQUIRED, out_channels: Width = REQUIRED) -> None:
        setattr(self, "0", LayerNorm2d(in_channels, eps=NORM_EPS))
        setattr(self, "1", Conv2d(in_channels, out_channels, 2, 2))
