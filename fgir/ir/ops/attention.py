"""multihead_attention: torch.nn.MultiheadAttention as self-attention on a token sequence.

One op, ``batch_first`` self-attention (query = key = value = the input), giving
the attention output only (``need_weights=False``).  Its tensors are torch's,
names included, so a torchvision ViT's ``...self_attention.*`` keys load:
``in_proj_weight`` (3E x E, the q, k and v projections stacked), ``in_proj_bias``
(3E), ``out_proj.weight`` (E x E) and ``out_proj.bias`` (E).

Per-head structure (what pruning by heads would follow): rows ``s*E + h*E/H`` to
``s*E + (h+1)*E/H`` of ``in_proj_weight``/``in_proj_bias`` (s = 0, 1, 2 for q, k, v)
and columns ``h*E/H`` to ``(h+1)*E/H`` of ``out_proj.weight`` are head h's; a head
is pruned whole or not at all, the input's and output's E channels being
separate groups read and written through weights (like linear's).  Not done
yet: the rule locks both with that reason.

MACs: the four E x E projections at every token (4·L·E²) and the two attention
products, scores ``QKᵀ`` and their weighted sum of ``V`` (2·L²·E); the softmax
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
"""

from __future__ import annotations

from fgir.ir.ops.channel_rules import RULES, OpaqueRule
from fgir.ir.ops.schema import Attr, Attrs, Identity, OpSchema, Problem, Trait, Weight, width_text
from fgir.ir.types import TensorType


class _Heads(OpaqueRule):
    """Locks what attention reads and writes, as OPAQUE does, saying why: its unit is a whole head."""

    value = "attention_heads"

    def reason(self, node) -> str:
        return f"'{node.name}' ({node.op}) prunes by whole heads: not yet supported"


HEADS = RULES.setdefault("attention_heads", _Heads())   # by value, as pickles name rules


def _check(a: Attrs, ins: list[TensorType]) -> list[Problem]:
    t = ins[0]
    if not t.is_sequence:
        return [("", f"needs a token sequence (LxD) but gets {t.describe()}")]
    problems = []
    if a["embed_dim"] != t.channels:
        problems.append(("embed_dim", f"expects embed_dim {a['embed_dim']} but receives {t.describe()}"))
    if a["embed_dim"] % a["num_heads"]:
        problems.append(("num_heads", f"has num_heads {a['num_heads']}, which does not divide embed_dim "
                                      f"{a['embed_dim']}"))
    return problems


def _weights(a: Attrs) -> list[Weight]:
    e = a["embed_dim"]
    out = [Weight("in_proj_weight", (3 * e, e), out_axis=0, in_axis=1, identity=Identity.ONE_HOT)]
    if a["bias"]:
        out.append(Weight("in_proj_bias", (3 * e,), out_axis=0))
    out.append(Weight("out_proj.weight", (e, e), out_axis=0, in_axis=1, identity=Identity.ONE_HOT))
    if a["bias"]:
        out.append(Weight("out_proj.bias", (e,), out_axis=0))
    return out


def _macs(a: Attrs, ins: list[TensorType], out: TensorType) -> int:
    length, e = ins[0].dims[0], a["embed_dim"]
    return 4 * length * e * e + 2 * length * length * e


MULTIHEAD_ATTENTION = OpSchema(
    "multihead_attention", {Trait.HAS_WEIGHTS, Trait.WRITES_FLOAT},
    lambda a: f"attention {width_text(a.get('embed_dim'))} h{width_text(a.get('num_heads'))}",
    attrs=(Attr("embed_dim", "width", None), Attr("num_heads", "positive"), Attr("dropout", "probability", 0.0),
           Attr("bias", "bool", True)),
    check=_check, weights=_weights, macs=_macs, channels=HEADS,
    with_widths=lambda a, i, o: {**a, "embed_dim": next((w for w in (i, o) if w is not None), a["embed_dim"])},
    # quantized: its q, k and v projections (integer kernels writing float); the attention itself and the
    # output projection, whose input is no IR tensor (so no quantization point), stay float
    inferred_width="embed_dim", quantizable=True,
    quantized_weights=("in_proj_weight",))   # the output projection reads a tensor inside the fused op: float

SCHEMAS = [MULTIHEAD_ATTENTION]
