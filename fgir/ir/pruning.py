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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

from fgir.diagnostics import Origin

if TYPE_CHECKING:
    from fgir.ir.channel_groups import ChannelGroups
    from fgir.ir.graph import Graph, Node
    from fgir.ir.records import ProcessRecord

KEEP_OUT, DENSE_OUT, KEEP_IN, DENSE_IN = "keep_out", "dense_out", "keep_in", "dense_in"
SELECTION = "selection"

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


def round_kept(keep: int, width: int, round_to: int | None = None) -> int:
    """``keep`` of ``width`` channels down to a multiple of ``round_to``; at least one (one multiple)."""
    if round_to:
        keep -= keep % round_to
    return min(width, max(keep, round_to or 1))


def dense_attrs(node: "Node") -> dict[str, Any] | None:
    """The node's attributes at its dense widths (after ``apply_prune`` and ``infer_shapes``), or None
    where the dense network has no such node (a projection pruning added in place of an identity)."""
    from fgir.ir.ops import OPS

    meta = node.meta
    if meta.get(SELECTION):
        return None
    if DENSE_IN not in meta and DENSE_OUT not in meta:
        return node.attrs
    schema = OPS[node.op]
    attrs = schema.with_widths(node.attrs, meta.get(DENSE_IN), meta.get(DENSE_OUT))
    width = schema.inferred_width
    if width and attrs.get(width) is None:   # a flattened input: each channel spans several features
        positions = node.attrs[width] // len(meta[KEEP_IN])
        attrs = {**attrs, width: meta[DENSE_IN] * positions}
    return attrs


def kept_positions(node: "Node", side_keep: list[int], width: int) -> list[int]:
    """Indices along an input axis of ``width`` entries for kept channels ``side_keep`` (a flattened input
    gives each channel ``width // len(side_keep)`` consecutive entries)."""
    per_channel = width // len(side_keep)
    return [c * per_channel + k for c in side_keep for k in range(per_channel)]
