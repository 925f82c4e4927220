"""The ViT family's conventions: torchvision's encoder-layer names, and how fresh weights start.

torchvision's ``VisionTransformer`` names its encoder layers ``encoder_layer_0``,
``encoder_layer_1``, ... under ``encoder.layers`` (an ``nn.Sequential`` of an
``OrderedDict``): the Repeat naming :data:`LAYER_NAMING` gives those names.  Fresh
weights keep torch's defaults, but for what fgir's rules start as torchvision does
(the class token at zero, the position embedding ``normal(0, 0.02)``, zero biases
of the patch projection); torchvision's xavier-uniform MLP weights and zero head
are not restated: a trained checkpoint replaces them, and a layer-by-layer scheme
would need an init keyed by more than the op's role.
A Quant process's bit lists map onto each encoder layer's attention (its q, k, v
projections) and MLP linears, in order; the patch projection takes ``stem_bits``.

Example:
    >>> from fgir.blocks.module import REP_NAMINGS
    >>> REP_NAMINGS[LAYER_NAMING]([{}, {}])
    ['encoder_layer_0', 'encoder_layer_1']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fgir.blocks.family import Family, Init, register_family
from fgir.blocks.module import Block, register_rep_naming
from fgir.ir.ops import OPS, Trait

if TYPE_CHECKING:
    from fgir.ir.graph import Graph, Node

def every_layer_but_the_stem_and_the_head(graph: "Graph") -> list["Node"]:
    """The layers a Quant process's bit lists map onto, in graph order: every quantizable layer (by its
    schema: the attention's q, k, v projections and the MLP's linears) but the first, the patch
    projection (the stem, quantized at ``stem_bits``), and the last, the classification head (float, as
    the CNN families' classifiers)."""
    layers = [n for n in graph if OPS[n.op].quantizable]
    start = 1 if layers and OPS[layers[0].op].has(Trait.CONVOLUTION) else 0     # a network's stem
    head = layers[-1:] and OPS[layers[-1].op].has(Trait.DENSE) and layers[-1].inputs[0].type.is_flat
    return layers[start:len(layers) - 1 if head else len(layers)]


VIT = register_family(Family("vit", init={"conv.bias": Init("zeros")},
                             quant_layers=every_layer_but_the_stem_and_the_head,
                             quant_rule="the patch projection and the head are not in the lists"))

LAYER_NAMING = "torchvision_encoder_layers"
NORM_EPS = 1e-6   # torchvision's ViT: partial(nn.LayerNorm, eps=1e-6)


@register_rep_naming(LAYER_NAMING)
def encoder_layer_names(reps: list[dict[str, Any]]) -> list[str]:
    return [f"encoder_layer_{i}" for i in range(len(reps))]


class ViTFamilyBlock(Block):
    """A block following the ViT family's conventions."""

    family = VIT


def check_heads(block: Block, embed_dim: int, num_heads: Any, source: Any = None, arg: str = "num_heads") -> None:
    """Attention splits the embedding into ``num_heads`` equal heads: it must divide it (reported at
    ``source``, the spec value to blame, by default ``num_heads``)."""
    if embed_dim % num_heads:
        block.fail(f"num_heads {num_heads} does not divide embed_dim {embed_dim}: attention splits the "
                   f"embedding into equal heads", num_heads if source is None else source, arg)
