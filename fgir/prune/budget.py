"""Budgets: prune until the network's parameters or MACs fit a target, exactly, as fgir counts statically.

:class:`CostModel` counts a network's parameters and MACs at any widths of its
channel groups from the op schemas (what ``count_cost`` would count after
pruning).  Channels go one at a time in a fixed order (the least important
first, ranked globally or group by group; :mod:`fgir.prune.select`), and the
cost never grows as they go, so a bisection finds the fewest removals that fit:
the result is within the budget and above it by less than the last channel's
cost would take away.  With ``round_to`` (one for all, or one a group) a group's
width moves in steps of it.

Example:
    >>> import fgir
    >>> from fgir.prune.subject import load_subject
    >>> subject = load_subject("examples/resnet20_cifar.yaml")
    >>> model = CostModel(subject.dense, subject.groups)
    >>> model.cost({}) == (subject.dense.meta["params"], subject.dense.meta["macs"])
    True
    >>> model.cost({"conv1": 8})[0]
    262722
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from fgir.ir.channel_groups import ChannelGroups
from fgir.ir.graph import Graph, Node
from fgir.ir.ops import OPS, ChannelRule
from fgir.ir.pruning import round_kept
from fgir.ir.types import TensorType
from fgir.prune.select import RoundTo, step

METRICS = ("params", "macs")


@dataclass(frozen=True)
class _Row:
    node: Node
    rule: ChannelRule
    ins: list[str]


class CostModel:
    """Parameters and MACs of a dense graph with its groups at other widths."""

    def __init__(self, graph: Graph, groups: ChannelGroups) -> None:
        self.graph, self.layout = graph, groups.layout
        self.rows = []
        for node in graph:
            schema = OPS[node.op]
            if schema.weights(node.attrs) or schema.macs(node.attrs, node.input_types, node.type):
                self.rows.append(_Row(node, schema.channel_rule(node.attrs), [s.name for s in node.inputs]))

    def _type(self, name: str, widths: dict[str, int]) -> TensorType:
        t = self.graph[name].type
        segments = self.layout[name]
        dense = sum(width for _, width in segments)
        if not dense:
            return t
        channels = sum(widths.get(group, width) for group, width in segments)
        if t.is_flat:   # each channel spans a fixed number of features
            return TensorType(channels * (t.channels // dense))
        return t.with_channels(channels)

    def cost(self, widths: dict[str, int]) -> tuple[int, int]:
        """(params, MACs) with each group in ``widths`` at that many channels (the others dense)."""
        params = macs = 0
        for row in self.rows:
            schema = OPS[row.node.op]
            ins = [self._type(name, widths) for name in row.ins]
            out = self._type(row.node.name, widths)
            attrs = row.node.attrs
            if row.rule.inner:     # the op's own group (attention's heads): its width is the group's
                attrs = schema.with_widths(attrs, ins[0].channels, widths.get(row.node.name))
            elif row.rule.produces:
                attrs = schema.with_widths(attrs, ins[0].channels, out.channels)
            elif row.rule.keeps_channels:
                attrs = schema.with_widths(attrs, ins[0].channels, None)
            if schema.inferred_width and attrs.get(schema.inferred_width) is None:
                attrs = {**attrs, schema.inferred_width: ins[0].channels}
            params += schema.params(attrs)
            macs += schema.macs(attrs, ins, out)
        return params, macs


class BudgetError(ValueError):
    """A target no pruning reaches; ``smallest`` is the least the network can cost."""

    def __init__(self, metric: str, target: int, smallest: int) -> None:
        super().__init__(f"the target of {target:,} {_unit(metric)} is below the smallest network this "
                         f"pruning reaches, {smallest:,} {_unit(metric)} (every group at its fewest channels)")
        self.metric, self.target, self.smallest = metric, target, smallest


def _unit(metric: str) -> str:
    return "parameters" if metric == "params" else "MACs"


def fit(order: list[str], kept: dict[str, list[int]], limit: dict[str, int], round_to: RoundTo,
        cost: Callable[[dict[str, int]], tuple[int, int]], metric: str,
        target: int) -> tuple[dict[str, int], dict[str, int] | None]:
    """Each group's channel count: the fewest removals along ``order`` whose cost is within ``target``;
    and the counts one removal fewer (over the target; None when nothing had to go)."""
    index = METRICS.index(metric)
    order = _within(order, limit)
    now = {name: len(channels) for name, channels in kept.items()}

    def widths_after(k: int) -> dict[str, int]:
        removed: dict[str, int] = {}
        for name in order[:k]:
            removed[name] = removed.get(name, 0) + 1
        return now | {name: round_kept(now[name] - r, now[name], step(round_to, name)) for name, r in removed.items()}

    def value(k: int) -> int:
        return cost(widths_after(k))[index]

    low, high = 0, len(order)
    smallest = value(high)
    if smallest > target:
        raise BudgetError(metric, target, smallest)
    while low < high:   # the cost falls as k grows: the first k within the target
        middle = (low + high) // 2
        if value(middle) <= target:
            high = middle
        else:
            low = middle + 1
    return widths_after(low), (widths_after(low - 1) if low else None)


def _within(order: list[str], limit: dict[str, int]) -> list[str]:
    """``order`` without the turns of groups past their limit."""
    taken: dict[str, int] = {}
    out = []
    for name in order:
        if taken.get(name, 0) < limit.get(name, 0):
            taken[name] = taken.get(name, 0) + 1
            out.append(name)
    return out


__all__ = ["BudgetError", "CostModel", "METRICS", "fit"]
