"""The torch.nn-style layers of the sequence ops, with torch.nn's class and argument names where torch has
the layer (``MultiheadAttention``, ``ChannelShuffle``), and plain ones where it is a tensor method.

``MultiheadAttention`` is self-attention on a batch-first token sequence
(``attn(x, x, x, need_weights=False)[0]``); ``MatMul`` takes two inputs, so it is
called from a block's ``forward`` (``self.mm(a, b)``).  Dims of ``Permute``,
``Transpose`` and ``Slice`` are torch's, the batch being dim 0; ``Reshape``'s
shape is one sample's.  ``ClassToken``, ``PositionEmbedding`` and ``LayerScale``
hold a learned tensor (torchvision ViT's ``class_token`` and ``pos_embedding``,
ConvNeXt's ``layer_scale``).  Split and chunk are slices: one ``Slice`` an output.

Example (a spec's modules)::

    embed: {type: PositionEmbedding, seq_length: 196, embed_dim: 768}
    attn: {type: MultiheadAttention, embed_dim: 768, num_heads: 12}
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from fgir.blocks.argtypes import REQUIRED, Width
from fgir.blocks.module import Layer
from fgir.blocks.registry import register_block


@register_block
class MatMul(Layer):
    """torch.matmul of its two inputs (``LxD @ DxM``)."""

    op = "matmul"

    def constructor(self) -> None:
        pass


@register_block
class MultiheadAttention(Layer):
    """torch.nn.MultiheadAttention(batch_first=True) as self-attention; the attention output only."""

    op = "multihead_attention"
    has_params = True

    def constructor(self, embed_dim: Width = REQUIRED, num_heads: Width = REQUIRED, dropout: float = 0.0,
                    bias: bool = True, batch_first: Literal[True] = True) -> None:
        pass

    def ir_attrs(self) -> dict[str, Any]:
        a = self._args
        return {"embed_dim": a["embed_dim"], "num_heads": a["num_heads"], "dropout": a["dropout"], "bias": a["bias"]}


@register_block
class Reshape(Layer):
    """x.reshape(N, *shape): ``shape`` is one sample's (-1 once at most); ``layout`` names the result's axes
    ("CHW", "LD"), by default its rank's."""

    op = "reshape"

    def constructor(self, shape: list[int] = REQUIRED, layout: Optional[str] = None) -> None:
        pass


@register_block
class Permute(Layer):
    """x.permute(*dims), dims including the batch's 0, which stays first."""

    op = "permute"

    def constructor(self, dims: list[int] = REQUIRED) -> None:
        pass


@register_block
class Transpose(Layer):
    """x.transpose(dim0, dim1), neither of them the batch's 0."""

    op = "transpose"

    def constructor(self, dim0: int = REQUIRED, dim1: int = REQUIRED) -> None:
        pass


@register_block
class Slice(Layer):
    """x[:, ..., start:end:step] along ``dim`` (``end`` null: to the end); torch.chunk/split are several."""

    op = "slice"

    def constructor(self, dim: int = REQUIRED, start: int = REQUIRED, end: Optional[int] = REQUIRED,
                    step: Width = 1) -> None:
        pass


@register_block
class ChannelShuffle(Layer):
    """torch.nn.ChannelShuffle: ShuffleNet's shuffle of ``groups`` channel groups."""

    op = "channel_shuffle"

    def constructor(self, groups: Width = REQUIRED) -> None:
        pass


@register_block
class ClassToken(Layer):
    """A learned token before an LxD sequence: (L+1)xD (torchvision ViT's ``class_token``)."""

    op = "class_token"
    has_params = True

    def constructor(self, embed_dim: Width = REQUIRED) -> None:
        pass


@register_block
class PositionEmbedding(Layer):
    """x + a learned LxD tensor (torchvision ViT's ``encoder.pos_embedding``)."""

    op = "position_embedding"
    has_params = True

    def constructor(self, seq_length: Width = REQUIRED, embed_dim: Width = REQUIRED) -> None:
        pass


@register_block
class LayerScale(Layer):
    """x times a learned value a channel, starting at ``init`` (ConvNeXt's ``layer_scale``)."""

    op = "layer_scale"
    has_params = True

    def constructor(self, dim: Width = REQUIRED, init: float = 1e-6) -> None:
        pass
