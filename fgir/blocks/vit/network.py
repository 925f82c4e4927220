"""The ViT family's network: torchvision's ``VisionTransformer`` as ``vit_b_16``, ``vit_b_32``, ``vit_l_16``.

Same parameter tensors under the same ``state_dict`` keys (``class_token``,
``conv_proj.*``, ``encoder.pos_embedding``, ``encoder.layers.encoder_layer_<i>.*``,
``encoder.ln.*``, ``heads.head.*``), so a torchvision checkpoint loads strictly and
computes the same outputs.  ``variant`` picks torchvision's numbers; each of them
(``image_size``, ``patch_size``, ``num_layers``, ``num_heads``, ``hidden_dim``,
``mlp_dim``) may be given to override it, which is torchvision's
``VisionTransformer(...)`` class with those arguments (and a search space's
dimensions).  The network reads images of ``image_size`` only, as torchvision's
does: its position embedding has one row a patch.

Example:
    >>> import fgir
    >>> graph = fgir.compile("search_space:\\n  modules: [vit]\\n  vit: {type: VisionTransformer, variant: b_16}\\n")
    >>> graph.meta["params"], graph.meta["input"], str(graph["encoder.pos_embedding"].type)
    (86567656, [3, 224, 224], '197x768')
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from fgir.blocks.argtypes import REQUIRED, Count, Range, Width
from fgir.blocks.layers import Dropout, Flatten, Linear
from fgir.blocks.layers_sequence import ClassToken, PositionEmbedding, Slice
from fgir.blocks.layers_vision import LayerNorm
from fgir.blocks.module import Value
from fgir.blocks.registry import register_block
from fgir.blocks.vit.blocks import NamedSequential, PatchEmbedding, TransformerEncoderStack
from fgir.blocks.vit.conventions import NORM_EPS, ViTFamilyBlock, check_heads

Probability = Annotated[float, Range(0, 1)]

# image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim: torchvision's builders
VARIANTS = {"b_16": (224, 16, 12, 12, 768, 3072),
            "b_32": (224, 32, 12, 12, 768, 3072),
            "l_16": (224, 16, 24, 16, 1024, 4096)}


class Encoder(ViTFamilyBlock):
    """torchvision's ``Encoder``: + ``pos_embedding``, ``dropout``, ``layers``, ``ln``."""

    def constructor(self, seq_length: Width = REQUIRED, num_layers: Count = REQUIRED, num_heads: Width = REQUIRED,
                    hidden_dim: Width = REQUIRED, mlp_dim: Width = REQUIRED, dropout: Probability = 0.0,
                    attention_dropout: Probability = 0.0) -> None:
        self.pos_embedding = PositionEmbedding(seq_length, hidden_dim)
        self.dropout = Dropout(dropout)
        self.layers = TransformerEncoderStack(num_layers, hidden_dim, num_heads, mlp_dim, dropout, attention_dropout)
        self.ln = LayerNorm(hidden_dim, eps=NORM_EPS)


@register_block
class VisionTransformer(ViTFamilyBlock):
    """torchvision's ``vit_<variant>(num_classes=num_class)``; any of its numbers may be overridden."""

    def constructor(self, variant: Literal["b_16", "b_32", "l_16"] = "b_16", num_class: Width = 1000,
                    image_size: Optional[Width] = None, patch_size: Optional[Count] = None,
                    num_layers: Optional[Count] = None, num_heads: Optional[Width] = None,
                    hidden_dim: Optional[Width] = None, mlp_dim: Optional[Width] = None,
                    dropout: Probability = 0.0, attention_dropout: Probability = 0.0) -> None:
        given = (image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim)
        image, patch, layers, heads, hidden, mlp = (g if g is not None else d
                                                    for g, d in zip(given, VARIANTS[variant]))
        if image % patch:
            self.fail(f"patch_size {patch} does not divide image_size {image}: the image must split into whole "
                      "patches", patch_size if patch_size is not None else image_size,
                      "patch_size" if patch_size is not None else "image_size")
        blame = "num_heads" if num_heads is not None or hidden_dim is None else "hidden_dim"
        check_heads(self, hidden, heads, num_heads if blame == "num_heads" else hidden_dim, blame)
        self.input_size = image   # the default input: the image size the position embedding has rows for
        self.patches = PatchEmbedding(patch, hidden)
        self.patches.inline_scope = True        # torchvision's conv_proj is the network's own
        self.class_token = ClassToken(hidden)
        self.encoder = Encoder((image // patch) ** 2 + 1, layers, heads, hidden, mlp, dropout, attention_dropout)
        self.class_slice = Slice(1, 0, 1)       # torchvision's x[:, 0]: the class token's output
        self.class_features = Flatten()
        self.heads = NamedSequential(head=Linear(hidden, num_class))
