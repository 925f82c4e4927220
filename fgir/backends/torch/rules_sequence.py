"""torch rules of the sequence ops (:mod:`fgir.ir.ops.sequence`, ``attention``, ``shape``).

Multi-head attention is ``nn.MultiheadAttention`` itself (a subclass whose
``forward`` takes one input), so its ``state_dict`` is torch's; with some of its
heads pruned (fewer heads than ``embed_dim / head_dim``, which torch's module
cannot hold) it is :class:`PrunedSelfAttention`, the same tensors under the same
keys at the kept heads' width; each learned
tensor is a parameter at its node's path (:class:`~.rules.ParameterRule`), as
torchvision's ``class_token`` and ``encoder.pos_embedding`` are.

Example:
    >>> from fgir.ir.graph import Node
    >>> attn = RULES["multihead_attention"].build(Node("attn", "multihead_attention",
    ...     {"embed_dim": 8, "num_heads": 2, "dropout": 0.0, "bias": True}))
    >>> sorted(attn.state_dict())
    ['in_proj_bias', 'in_proj_weight', 'out_proj.bias', 'out_proj.weight']
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fgir.backends.torch.quant import QuantSelfAttention, fake_quant_weight
from fgir.backends.torch.rules import FunctionRule, ModuleRule, ParameterRule
from fgir.ir.graph import Node
from fgir.ir.ops.attention import head_dim
from fgir.ir.ops.shape import slice_range, transpose_axes
from fgir.quant.scheme import FLOAT_BITS, activation_bits, weight_bits


class SelfAttention(nn.MultiheadAttention):
    """``nn.MultiheadAttention`` (batch first) on one input: query = key = value = x, no weights out."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(x, x, x, need_weights=False)[0]


class PrunedSelfAttention(nn.Module):
    """Self-attention whose heads are narrower together than its embed dim (heads pruned): torch's
    tensors and keys (``in_proj_weight`` ``3·H·d x E``, ``in_proj_bias``, ``out_proj``), torch's arithmetic.

    >>> attn = PrunedSelfAttention(8, 1, 4)
    >>> [tuple(t.shape) for t in attn.state_dict().values()], tuple(attn(torch.zeros(2, 3, 8)).shape)
    ([(12, 8), (12,), (8, 4), (8,)], (2, 3, 8))
    """

    def __init__(self, embed_dim: int, num_heads: int, head_dim: int, dropout: float = 0.0, bias: bool = True,
                 w_bits: int = FLOAT_BITS, a_bits: int = FLOAT_BITS) -> None:
        super().__init__()
        inner = num_heads * head_dim
        self.num_heads, self.dropout, self.w_bits, self.a_bits = num_heads, dropout, w_bits, a_bits
        self.in_proj_weight = nn.Parameter(torch.empty(3 * inner, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * inner)) if bias else None
        self.out_proj = nn.Linear(inner, embed_dim, bias=bias)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = fake_quant_weight(self.in_proj_weight, self.w_bits)[0] if self.w_bits < FLOAT_BITS else \
            self.in_proj_weight
        n, length, _ = x.shape
        q, k, v = F.linear(x, weight, self.in_proj_bias).view(n, length, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).reshape(n, length, -1))


def _attention(node: Node) -> nn.Module:
    a = node.attrs
    if a["num_heads"] * head_dim(a) != a["embed_dim"]:   # heads pruned
        return PrunedSelfAttention(a["embed_dim"], a["num_heads"], head_dim(a), a["dropout"], a["bias"],
                                   weight_bits(node), activation_bits(node))
    args = (a["embed_dim"], a["num_heads"], a["dropout"], a["bias"])
    if weight_bits(node) < FLOAT_BITS:   # annotated by apply_quant: its q, k, v projections
        return QuantSelfAttention(*args, batch_first=True, w_bits=weight_bits(node), a_bits=activation_bits(node))
    return SelfAttention(*args, batch_first=True)


def prepend_token(x: torch.Tensor, token: torch.Tensor) -> torch.Tensor:
    """A learned token put before a sequence (torchvision's ViT: ``torch.cat([token.expand(N, -1, -1), x], 1)``)."""
    return torch.cat([token.expand(x.shape[0], -1, -1), x], dim=1)


def layer_scale(x: torch.Tensor, scale: torch.Tensor, image: bool) -> torch.Tensor:
    """x times a learned value a channel (ConvNeXt's ``layer_scale``, ``(C, 1, 1)``); on tokens or
    features the scale runs along the last axis."""
    return x * (scale if image else scale.flatten())


def reshape(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    return x.reshape(x.shape[0], *shape)


def slice_along(x: torch.Tensor, dim: int, start: int, stop: int, step: int) -> torch.Tensor:
    return x[(slice(None),) * dim + (slice(start, stop, step),)]


def _slice_args(node: Node) -> tuple:
    axis, kept = slice_range(node.attrs, node.inputs[0].type)
    return axis + 1, kept.start, kept.stop, kept.step


RULES: dict[str, ModuleRule | FunctionRule | ParameterRule] = {
    "matmul": FunctionRule(torch.matmul),
    "multihead_attention": ModuleRule(_attention),
    # the learned tensors, each the node's own parameter, started as torchvision starts them
    "class_token": ParameterRule(lambda n: torch.zeros(1, 1, n.attrs["embed_dim"]), prepend_token),
    "position_embedding": ParameterRule(
        lambda n: torch.empty(1, n.attrs["seq_length"], n.attrs["embed_dim"]).normal_(std=0.02), torch.add),
    "layer_scale": ParameterRule(lambda n: torch.full((n.attrs["dim"], 1, 1), float(n.attrs["init"])), layer_scale,
                                 lambda n: (n.inputs[0].type.is_image,)),
    # the shape the sample has after it (infer_shapes' answer): no -1 left to work out
    "reshape": FunctionRule(reshape, lambda n: (tuple(n.type.dims),)),
    "permute": FunctionRule(torch.permute, lambda n: (tuple(n.attrs["dims"]),)),
    "transpose": FunctionRule(torch.permute, lambda n: ((0, *(a + 1 for a in transpose_axes(n.attrs, n.type.rank))),)),
    "slice": FunctionRule(slice_along, _slice_args),
    "channel_shuffle": ModuleRule(lambda n: nn.ChannelShuffle(n.attrs["groups"])),
}
