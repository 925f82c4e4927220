"""What pruning decides, as data: masks of kept channels, and the plan ``apply_prune`` carries out.

A :class:`PrunePlan` says which dense channels each producing op (conv,
linear) and each tie (``add``) keeps.  Plans come from ``masks: {group: [...]}``
(one mask per channel group, the same for every op in it) or from a family's
row layout (the ResNet guide's ``chn_node_mask``/``chn_mask``,
:class:`RowPlanner`), which may give a tie other channels than one of its
inputs keeps: the plan's ``reconcile`` then mends that input (for ResNets, a
selection projection on an identity shortcut).

After ``apply_prune`` every pruned node carries, in ``meta``, the dense channels
it keeps on each side (:data:`KEEP_OUT`, :data:`KEEP_IN`) with the dense widths
(:data:`DENSE_OUT`, :data:`DENSE_IN`); a node pruning added, whose weights are
not in the dense checkpoint, is marked :data:`SELECTION`.

A pruning *ratio* is the fraction of a group's channels removed: it keeps
:func:`kept_count` of them, rounded as Torch-Pruning rounds.  Which ones is the
*criterion*'s choice (:data:`CRITERIA`; ``fgir.prune`` scores them from weights).

Example:
    >>> from fgir.diagnostics import Loc, Origin
    >>> Mask.from_bits([1, 0, 1], Origin(Loc("s.yaml", 3, 9), "prune.masks.conv1"), "mask 'conv1'").keep
    [0, 2]
    >>> kept_count(64, 0.5), kept_count(10, 0.7), kept_count(60, 0.3, round_to=8)
    (32, 3, 40)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

from fgir.diagnostics import Origin
from fgir.ir.annotations import declare_annotation

if TYPE_CHECKING:
    from fgir.ir.channel_groups import ChannelGroups
    from fgir.ir.graph import Graph, Node
    from fgir.ir.records import ProcessRecord

KEEP_OUT, DENSE_OUT, KEEP_IN, DENSE_IN = "keep_out", "dense_out", "keep_in", "dense_in"
SELECTION = "selection"
# attention's kept heads and dense head count (its heads are a group inside it: fgir.ir.ops.attention)
KEEP_HEADS, DENSE_HEADS = "keep_heads", "dense_heads"
declare_annotation(KEEP_HEADS, "the dense attention heads kept, a list of indices",
                   lambda v: isinstance(v, list) and all(isinstance(h, int) and h >= 0 for h in v))
declare_annotation(DENSE_HEADS, "the dense number of attention heads", lambda v: isinstance(v, int) and v >= 1)

# how channels are chosen: by the L1 or L2 norm of every weight slice the group's channels own
# (producers' outputs, consumers' inputs, BN scales), by BN scales alone, or at random
CRITERIA = ("l1", "l2", "bn_scale", "random")

Report = Callable[..., None]   # report(origin, message, hint=None): a problem in the user's spec


@dataclass(frozen=True)
class Mask:
    """One mask: the dense channels it keeps, the dense width, and where it was written."""

    keep: list[int]
    dense: int
    origin: Origin
    what: str

    @classmethod
    def from_bits(cls, bits: list[int], origin: Origin, what: str) -> "Mask":
        return cls([i for i, bit in enumerate(bits) if bit], len(bits), origin, what)


Reconcile = Callable[["Graph", "Node", "Node", list[int], int, "Mask"], "Node"]
"""reconcile(graph, tie, source, source_keep, source_dense, mask) → the node the tie reads instead."""


@dataclass
class PrunePlan:
    """Kept channels by node: each producing op's and each tie's output."""

    out_masks: dict[str, Mask] = field(default_factory=dict)
    reconcile: Reconcile | None = None
    finish: Callable[["Graph"], None] | None = None   # bookkeeping once the plan is applied
    select: dict[str, float] = field(default_factory=dict)   # group → ratio whose channels weights choose


class RowPlanner(Protocol):
    """A family's reader of row-layout masks (``chn_node_mask``/``chn_mask``)."""

    def __call__(self, graph: "Graph", groups: "ChannelGroups", process: "ProcessRecord",
                 report: Report) -> PrunePlan | None: ...


def declared_width(node: "Node") -> int | None:
    """The output width an op's attributes declare (a conv's ``out_channels``, a linear's
    ``out_features``); None for an op that writes no width of its own (a reshape, a norm)."""
    a = node.attrs
    return a["out_channels"] if "out_channels" in a else a.get("out_features")


def ratio_problem(ratio: object) -> str | None:
    """Why ``ratio`` is not a pruning ratio (a number from 0 up to, not including, 1), or None."""
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)):
        return f"a pruning ratio is a number from 0 up to 1, got {ratio!r}"
    if not 0 <= ratio < 1:
        return (f"a pruning ratio is the fraction of channels removed, from 0 up to (not including) 1; "
                f"got {ratio:g}" + (" (1 would remove every channel)" if ratio == 1 else ""))
    return None


def kept_count(width: int, ratio: float, round_to: int | None = None) -> int:
    """How many of ``width`` channels a ``ratio`` keeps: ``int(width * (1 - ratio))``, then down to a
    multiple of ``round_to``, as Torch-Pruning 1.6 rounds.  Where that leaves none (Torch-Pruning then
    skips the group, keeping all of it), one channel, or ``round_to`` of them, stays."""
    return round_kept(int(width * (1 - ratio)), width, round_to)


def unit_step(round_to: int | None, unit: int) -> int | None:
    """The multiple a group's kept width must be of: of ``round_to`` and of the group's ``unit`` (the
    channels of one conv group of a grouped convolution, pruned together); None for any width.

    >>> unit_step(None, 1), unit_step(None, 8), unit_step(12, 8)
    (None, 8, 24)
    """
    step = math.lcm(round_to or 1, unit)
    return step if step > 1 else None


def split_unit(keep: list[int], dense: int, unit: int) -> int | None:
    """The first channel of the first run of ``unit`` channels (of ``dense``) that ``keep`` keeps only
    some of; None where it keeps or drops each run whole.

    >>> split_unit([0, 1, 4, 5], 8, 2), split_unit([0, 1, 4], 8, 2)
    (None, 4)
    """
    kept = set(keep)
    return next((start for start in range(0, dense, unit) if 0 < len(kept & set(range(start, start + unit))) < unit),
                None)


def round_kept(keep: int, width: int, round_to: int | None = None) -> int:
    """``keep`` of ``width`` channels down to a multiple of ``round_to``; at least one (one multiple)."""
    if round_to:
        keep -= keep % round_to
    return min(width, max(keep, round_to or 1))


def dense_attrs(node: "Node") -> dict[str, Any] | None:
    """The node's attributes at its dense widths (after ``apply_prune`` and ``infer_shapes``), or None
    where the dense network has no such node (a projection pruning added in place of an identity)."""
    meta = node.meta
    if meta.get(SELECTION):
        return None
    if DENSE_IN not in meta and DENSE_OUT not in meta and DENSE_HEADS not in meta:
        return node.attrs
    from fgir.ir.ops import OPS     # only for a pruned node: costing every node calls this

    schema = OPS[node.op]
    attrs = schema.with_widths(node.attrs, meta.get(DENSE_IN), meta.get(DENSE_OUT, meta.get(DENSE_HEADS)))
    width = schema.inferred_width
    if width and attrs.get(width) is None:   # a flattened input: each channel spans several features
        positions = node.attrs[width] // len(meta[KEEP_IN])
        attrs = {**attrs, width: meta[DENSE_IN] * positions}
    return attrs


def kept_positions(node: "Node", side_keep: list[int], width: int, runs: int = 1,
                   dense: int | None = None) -> list[int]:
    """Indices along an axis of ``width`` entries (pruned) for kept channels ``side_keep`` (a flattened input
    gives each channel ``width // len(side_keep)`` consecutive entries); ``runs``: the axis holds that many
    runs of the channels one after another (attention's q, k, v rows), each ``dense`` channels long.

    >>> kept_positions(None, [0, 2], 4), kept_positions(None, [1], 2, runs=2, dense=3)
    ([0, 1, 4, 5], [1, 4])
    """
    per_channel = width // (len(side_keep) * runs)
    run = (dense or len(side_keep)) * per_channel
    return [r * run + c * per_channel + k for r in range(runs) for c in side_keep for k in range(per_channel)]


def kept_slices(node: "Node", weight: Any) -> list[tuple[int, list[int]]]:
    """``(axis, indices)`` cuts that take a pruned node's ``weight`` (a schema ``Weight`` at its pruned
    shape) out of the dense tensor: its kept output and input channels, and attention's kept heads.

    >>> from fgir.ir.graph import Node
    >>> from fgir.ir.ops import OPS
    >>> node = Node("attn", "multihead_attention", {"embed_dim": 4, "num_heads": 1, "head_dim": 2, "bias": True})
    >>> node.meta.update({KEEP_HEADS: [1], DENSE_HEADS: 2})
    >>> kept_slices(node, OPS["multihead_attention"].weights(node.attrs)[0])
    [(0, [2, 3, 6, 7, 10, 11])]
    """
    meta, cuts = node.meta, []
    for axis, side in ((weight.out_axis, KEEP_OUT), (weight.in_axis, KEEP_IN)):
        if axis is not None and side in meta and all(axis != a for a, _ in cuts):   # BN: one axis, both sides
            cuts.append((axis, kept_positions(node, meta[side], weight.shape[axis])))
    if weight.heads_axis is not None and KEEP_HEADS in meta:
        cuts.append((weight.heads_axis, kept_positions(node, meta[KEEP_HEADS], weight.shape[weight.heads_axis],
                                                       weight.runs, meta[DENSE_HEADS])))
    return cuts
