"""The ViT family's blocks, named as torchvision's ``vision_transformer`` names their modules.

* ``PatchEmbedding(patch_size, embed_dim)``: torchvision's ``conv_proj`` (a
  ``patch_size`` x ``patch_size`` conv, stride ``patch_size``) and its
  ``_process_input``: the ``D x h x w`` patches as ``D x hw``, then as an ``hw x D``
  token sequence.
* ``TransformerEncoderBlock(embed_dim, num_heads, mlp_dim)``: torchvision's
  ``EncoderBlock``: ``ln_1``, ``self_attention`` (``nn.MultiheadAttention``),
  ``dropout``, the residual, ``ln_2``, ``mlp`` (``MLPBlock``: ``mlp.0`` Linear,
  ``mlp.1`` GELU, ``mlp.2`` Dropout, ``mlp.3`` Linear, ``mlp.4`` Dropout), the
  residual.  LayerNorm eps is torchvision's 1e-6.
* ``TransformerEncoderStack(num_layers, ...)``: ``num_layers`` of them named
  ``encoder_layer_0`` ... (torchvision's ``encoder.layers``), a Repeat: its depth
  and each layer's widths are search targets.
* ``ElasticEncoderStack(num_layers, embed_dim, num_heads, mlp_ratio)``: AutoFormer's
  space over the same layers: layer i has ``num_heads[i]`` heads and an MLP
  ``mlp_ratio[i]`` times ``embed_dim`` wide.  The lists are as long as the deepest
  network searched; a shallower one takes their first ``num_layers`` entries, as
  AutoFormer's supernet does.

Example:
    >>> import fgir
    >>> spec = ("search_space:\\n  modules: [layer]\\n"
    ...         "  layer: {type: TransformerEncoderBlock, embed_dim: 64, num_heads: 4, mlp_dim: 128}\\n")
    >>> graph = fgir.compile(spec, input="17x64")
    >>> graph.meta["params"], str(graph.output.type)   # 2·(2·64) + 4·64² + 4·64 + 2·64·128 + 128 + 64
    (33472, '17x64')
"""

from __future__ import annotations

from typing import Annotated

from fgir.blocks.argtypes import REQUIRED, BlockSpec, Count, Range, Width
from fgir.blocks.layers import Conv2d, Dropout, Linear
from fgir.blocks.layers_sequence import MultiheadAttention, Permute, Reshape
from fgir.blocks.layers_vision import GELU, LayerNorm
from fgir.blocks.module import Block, Module, Repeat, Sequential, Value
from fgir.blocks.registry import register_block
from fgir.blocks.vit.conventions import LAYER_NAMING, NORM_EPS, ViTFamilyBlock, check_heads

Probability = Annotated[float, Range(0, 1)]
MlpRatio = Annotated[float, Range(0.25, 16)]


class NamedSequential(Block):
    """Children run in order under the names given: ``nn.Sequential(OrderedDict(...))``'s naming."""

    def __init__(self, **modules: Module) -> None:
        super().__init__()  # takes no spec arguments: the children are the content
        for name, module in modules.items():
            setattr(self, name, module)


@register_block
class PatchEmbedding(ViTFamilyBlock):
    """``conv_proj`` (patch_size x patch_size, stride patch_size), then the patches as an (hw)xD sequence."""

    def constructor(self, patch_size: Count = REQUIRED, embed_dim: Width = REQUIRED,
                    in_channels: Width = 3) -> None:
        self.conv_proj = Conv2d(in_channels, embed_dim, patch_size, patch_size)
        # torchvision's x.reshape(n, hidden_dim, n_h * n_w).permute(0, 2, 1): no weights, no keys
        self.flatten_patches = Reshape([embed_dim, -1], "DL")
        self.to_tokens = Permute([0, 2, 1])


@register_block
class TransformerEncoderBlock(ViTFamilyBlock):
    """torchvision's ``EncoderBlock``: pre-norm self-attention and MLP, each with its residual."""

    def constructor(self, embed_dim: Width = REQUIRED, num_heads: Width = REQUIRED, mlp_dim: Width = REQUIRED,
                    dropout: Probability = 0.0, attention_dropout: Probability = 0.0) -> None:
        check_heads(self, embed_dim, num_heads)
        self.ln_1 = LayerNorm(embed_dim, eps=NORM_EPS)
        self.self_attention = MultiheadAttention(embed_dim, num_heads, dropout=attention_dropout)
        self.dropout = Dropout(dropout)
        self.ln_2 = LayerNorm(embed_dim, eps=NORM_EPS)
        self.mlp = Sequential(Linear(embed_dim, mlp_dim), GELU(), Dropout(dropout), Linear(mlp_dim, embed_dim),
                              Dropout(dropout))

    def forward(self, x: Value) -> Value:
        x = x + self.dropout(self.self_attention(self.ln_1(x)))
        return x + self.mlp(self.ln_2(x))


@register_block
class TransformerEncoderStack(ViTFamilyBlock):
    """``num_layers`` TransformerEncoderBlocks, ``encoder_layer_0`` ... (torchvision's ``encoder.layers``)."""

    def constructor(self, num_layers: Count = REQUIRED, embed_dim: Width = REQUIRED, num_heads: Width = REQUIRED,
                    mlp_dim: Width = REQUIRED, dropout: Probability = 0.0,
                    attention_dropout: Probability = 0.0) -> None:
        check_heads(self, embed_dim, num_heads)   # here, once, rather than in each layer
        items = {"embed_dim": embed_dim, "num_heads": num_heads, "mlp_dim": mlp_dim, "dropout": dropout,
                 "attention_dropout": attention_dropout}
        self.layers = Repeat(num_layers, items, BlockSpec(TransformerEncoderBlock.type_name(), {}),
                             naming=LAYER_NAMING, inline_scope=True)


@register_block
class ElasticEncoderStack(ViTFamilyBlock):
    """AutoFormer's space over torchvision's encoder layers: ``num_layers`` of them, layer i with
    ``num_heads[i]`` heads and an MLP ``round(mlp_ratio[i] * embed_dim)`` wide (the first ``num_layers``
    entries of each list: a list is as long as the deepest network searched)."""

    def constructor(self, num_layers: Count = REQUIRED, embed_dim: Width = REQUIRED,
                    num_heads: list[Width] = REQUIRED, mlp_ratio: list[MlpRatio] = REQUIRED,
                    dropout: Probability = 0.0, attention_dropout: Probability = 0.0) -> None:
        for arg, values in (("num_heads", num_heads), ("mlp_ratio", mlp_ratio)):
            if len(values) < num_layers:
                self.fail(f"{arg} has {len(values)} values for num_layers {num_layers}: one a layer, at least",
                          values, arg)
        for heads in num_heads[:num_layers]:
            check_heads(self, embed_dim, heads)
        items = {"embed_dim": embed_dim, "num_heads": list(num_heads[:num_layers]),
                 "mlp_dim": [round(ratio * embed_dim) for ratio in mlp_ratio[:num_layers]], "dropout": dropout,
                 "attention_dropout": attention_dropout}
        self.layers = Repeat(num_layers, items, BlockSpec(TransformerEncoderBlock.type_name(), {}),
                             naming=LAYER_NAMING, inline_scope=True)
