"""The ConvNeXt family's conventions: torchvision's initialisation and its stochastic-depth schedule.

torchvision's ``ConvNeXt`` draws every Conv2d and Linear weight from
``trunc_normal_(std=0.02)`` with zero bias; here ``normal(0, 0.02)`` (values past two
standard deviations, which truncation redraws, are 5% of them: a trained
checkpoint replaces both).  LayerNorms start at ones and zeros, the layer scale at
``layer_scale`` (1e-6).  Block ``i`` of ``n`` drops its branch with probability
``stochastic_depth_prob * i / (n - 1)``.
A Quant process's bit lists map onto every block's depthwise conv and two linears and the
downsampling convs, in order; the stem's conv takes ``stem_bits``, the classifier stays float.

Example:
    >>> stochastic_depth_schedule(0.1, 3)
    [0.0, 0.05, 0.1]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fgir.blocks.family import Family, Init, register_family
from fgir.blocks.module import Block
from fgir.ir.ops import OPS, Trait

if TYPE_CHECKING:
    from fgir.ir.graph import Graph, Node

def every_layer_but_the_stem_and_the_head(graph: "Graph") -> list["Node"]:
    """The layers a Quant process's bit lists map onto, in graph order: every quantizable layer (by its
    schema: each block's depthwise conv and its two linears, the downsampling convs) but the first, the
    stem's conv (quantized at ``stem_bits``), and the last, the classifier (float, as the CNN families')."""
    layers = [n for n in graph if OPS[n.op].quantizable]
    start = 1 if layers and OPS[layers[0].op].has(Trait.CONVOLUTION) else 0     # a network's stem
    head = layers[-1:] and OPS[layers[-1].op].has(Trait.DENSE) and layers[-1].inputs[0].type.is_flat
    return layers[start:len(layers) - 1 if head else len(layers)]


CONVNEXT = register_family(Family(
    "convnext", quant_layers=every_layer_but_the_stem_and_the_head,
    quant_rule="the stem and the classifier are not in the lists",
    init={"conv.weight": Init("normal", {"std": 0.02}), "conv.bias": Init("zeros"),
          "dense.weight": Init("normal", {"std": 0.02}), "dense.bias": Init("zeros")}))

NORM_EPS = 1e-6   # torchvision's ConvNeXt: LayerNorm and LayerNorm2d, eps 1e-6


class ConvNeXtFamilyBlock(Block):
    """A block following the ConvNeXt family's conventions."""

    family = CONVNEXT


def stochastic_depth_schedule(prob: float, blocks: int) -> list[float]:
    """torchvision's linearly increasing drop rate: block i of ``blocks`` drops with prob·i/(blocks-1)."""
    return [prob * i / (blocks - 1.0) if blocks > 1 else 0.0 for i in range(blocks)]
