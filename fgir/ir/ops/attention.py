"""multihead_attention: torch.nn.MultiheadAttention as self-attention on a token sequence.

One op, ``batch_first`` self-attention (query = key = value = the input), giving
the attention output only (``need_weights=False``).  Its tensors are torch's,
names included, so a torchvision ViT's ``...self_attention.*`` keys load:
``in_proj_weight`` (3E x E, the q, k and v projections stacked), ``in_proj_bias``
(3E), ``out_proj.weight`` (E x E) and ``out_proj.bias`` (E).

Pruned by whole heads: the heads are a channel group of their own (one channel
a head; :data:`HEADS`), opened by the op and read by it alone: head h's rows
``s*I + h*d`` to ``s*I + (h+1)*d`` of ``in_proj_weight``/``in_proj_bias`` (s = 0, 1, 2
for q, k, v; ``d`` the head dim, ``I = num_heads*d``) and columns ``h*d`` to
``(h+1)*d`` of ``out_proj.weight``.  The embed dim it reads and writes stays whole
(locked: ViT's embed dim is coupled through LayerNorm anyway).  A pruned op keeps
its dense ``head_dim`` (null: ``embed_dim / num_heads``), so its softmax scale is
the dense one and the pruned network equals the masked dense one exactly.

MACs: the four projections at every token (4·L·E·I, I = E unpruned) and the two
attention products, scores ``QKᵀ`` and their weighted sum of ``V`` (2·L²·I); the softmax
and the scaling are not counted, as activations are not.

Example:
    >>> from fgir.ir.ops import OPS
    >>> from fgir.ir.types import TensorType
    >>> mha = OPS["multihead_attention"]
    >>> a = mha.complete({"embed_dim": 768, "num_heads": 12})
    >>> mha.params(a), [w.name for w in mha.weights(a)]
    (2362368, ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'])
    >>> seq = TensorType(197, 768)
    >>> mha.macs(a, [seq], seq) == 4 * 197 * 768 ** 2 + 2 * 197 ** 2 * 768
    True
    >>> five = mha.with_widths(a, None, 5)   # 5 of the 12 heads kept, 64 wide each
    >>> five["num_heads"], five["head_dim"], [w.shape for w in mha.weights(five)][::2]
    (5, 64, [(960, 768), (768, 320)])
"""

from __future__ import annotations

from fgir.ir.ops.channel_rules import RULES, ChannelRule
from fgir.ir.ops.schema import Attr, Attrs, Identity, OpSchema, Problem, Trait, Weight, width_text
from fgir.ir.pruning import DENSE_HEADS, KEEP_HEADS
from fgir.ir.types import TensorType


class _Heads(ChannelRule):
    """Attention's heads as a group of their own (one channel a head), opened and read by the op alone;
    the embed dim it reads and writes is locked."""

    value, inner, keeps_channels = "attention_heads", True, False

    def groups(self, node, ins, net):
        reason = f"'{node.name}' ({node.op}) reads and writes its embed_dim whole: its heads are pruned instead"
        for segments in ins:
            for gid, _ in segments:
                net.lock(gid, reason)
        net.inner(node, node.attrs["num_heads"], node.meta.get(DENSE_HEADS, node.attrs["num_heads"]))
        return ins[0]   # the embed dim, locked: what it writes is never pruned, so never told apart

    def prune(self, node, flow, has_weights):
        if flow.kept(node.inputs[0])[0] is not None:
            flow.refuse(node, f"'{node.name}' reads its embed_dim whole; it cannot be pruned")
        if flow.masked(node):
            mask = flow.mask(node)
            heads = node.attrs["num_heads"]
            if heads not in (mask.dense, len(mask.keep)):
                flow.refuse_mask(node, mask, f"{mask.what} keeps {len(mask.keep)} of {mask.dense} heads, but "
                                             f"'{node.name}' has {heads}: the spec's num_heads must be the dense one "
                                             "or the pruned one")
                return None, node.attrs["embed_dim"]
            node.meta.update({KEEP_HEADS: mask.keep, DENSE_HEADS: mask.dense})
            # a head is as wide as in the dense network, whichever num_heads the spec wrote
            width = node.attrs.get("head_dim") or node.attrs["embed_dim"] // mask.dense
            node.attrs = {**node.attrs, "num_heads": len(mask.keep), "head_dim": width}
        return None, node.attrs["embed_dim"]

    def scores(self, node, magnitude):
        """Each head's score: the sum of ``magnitude(weight)`` (an array of ``|w|`` or ``w²``) over the slices
        of its weights the head owns (q, k, v rows, out-projection columns), as Torch-Pruning ranks heads."""
        heads, total = node.attrs["num_heads"], 0
        for weight in _weights(node.attrs):
            if weight.heads_axis is not None and not weight.name.endswith("bias"):
                values = magnitude(weight)
                moved = values.swapaxes(0, weight.heads_axis) if weight.heads_axis else values
                total = total + moved.reshape(weight.runs, heads, -1).sum(axis=(0, 2))
        return total


HEADS = RULES.setdefault("attention_heads", _Heads())   # by value, as pickles name rules


def head_dim(a: Attrs) -> int:
    """The width of one head: ``head_dim``, or ``embed_dim / num_heads`` where it is null."""
    return a.get("head_dim") or a["embed_dim"] // a["num_heads"]


def with_heads(a: Attrs, heads: int) -> Attrs:
    """``a`` with ``heads`` heads of the same head dim (what pruning heads leaves)."""
    return {**a, "num_heads": heads, "head_dim": head_dim(a)}


def _check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    t = ins[0]
    if not t.is_sequence:
        return [("", f"needs a token sequence (LxD) but gets {t.describe()}")]
    problems = []
    if a["embed_dim"] != t.channels:
        problems.append(("embed_dim", f"expects embed_dim {a['embed_dim']} but receives {t.describe()}"))
    if a.get("head_dim") is None and a["embed_dim"] % a["num_heads"]:
        problems.append(("num_heads", f"has num_heads {a['num_heads']}, which does not divide embed_dim "
                                      f"{a['embed_dim']}"))
    return problems


def _weights(a: Attrs) -> list[Weight]:
    e, inner = a["embed_dim"], a["num_heads"] * head_dim(a)
    # the heads run along in_proj's rows (q, k and v: three runs of them) and out_proj's columns
    out = [Weight("in_proj_weight", (3 * inner, e), out_axis=0, in_axis=1, identity=Identity.ONE_HOT,
                  heads_axis=0, runs=3)]
    if a["bias"]:
        out.append(Weight("in_proj_bias", (3 * inner,), out_axis=0, heads_axis=0, runs=3))
    out.append(Weight("out_proj.weight", (e, inner), out_axis=0, in_axis=1, identity=Identity.ONE_HOT,
                      heads_axis=1))
    if a["bias"]:
        out.append(Weight("out_proj.bias", (e,), out_axis=0))
    return out


def _macs(a: Attrs, ins: list[TensorType], out: TensorType) -> int:
    length, e, inner = ins[0].dims[0], a["embed_dim"], a["num_heads"] * head_dim(a)
    return 4 * length * e * inner + 2 * length * length * inner


MULTIHEAD_ATTENTION = OpSchema(
    "multihead_attention", {Trait.HAS_WEIGHTS, Trait.WRITES_FLOAT},
    lambda a: f"attention {width_text(a.get('embed_dim'))} h{width_text(a.get('num_heads'))}",
    attrs=(Attr("embed_dim", "width", None), Attr("num_heads", "positive"), Attr("dropout", "probability", 0.0),
           Attr("bias", "bool", True), Attr("head_dim", "width", None)),
    check=_check, weights=_weights, macs=_macs, channels=HEADS,
    # pruning's widths: the embed dim read (locked, so unchanged in practice) and the heads kept
    with_widths=lambda a, i, o: with_heads({**a, "embed_dim": i or a["embed_dim"]}, o) if o else
    {**a, "embed_dim": i or a["embed_dim"]},
    # quantized: its q, k and v projections (integer kernels writing float); the attention itself and the
    # output projection, whose input is no IR tensor (so no quantization point), stay float
    inferred_width="embed_dim", quantizable=True,
    quantized_weights=("in_proj_weight",))   # the output projection reads a tensor inside the fused op: float

SCHEMAS = [MULTIHEAD_ATTENTION]
