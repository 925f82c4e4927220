"""Channel groups: which channels must be pruned together because ops tie them, read off the op schemas.

Each tensor's channels are a *layout*: a list of segments, each a run of one
group's channels.  An op that produces channels (conv, linear) opens a group;
BN, activations and pooling pass their input's layout on; a depthwise conv
passes it on too, writing each channel from itself; ``add`` and ``mul`` tie
their inputs' groups into one; ``concat`` lays its inputs' segments side by
side, so a consumer of a concatenation reads each group at an offset of its
input channels.  A *group* is one tied set: pruning a channel of it removes
that channel from every producer's output and every consumer's input.

An op may also open a group *inside* itself, which it alone writes and reads
(attention's heads, one channel a head; its ``tensors`` are that op).

A grouped convolution as wide as its input ties its input's group to its
output, as a depthwise one does, and the group is then pruned in *units* of a
conv group's channels (``unit``; several such convolutions: the least common
multiple of theirs).

Some groups cannot be pruned, and are *locked* with the reason: channels tied
to the network's input or output, and those any other grouped convolution
reads or writes.  A group is named after its first producer.  Layouts, offsets and
``dense_width`` count dense channels (a pruned graph's producers record them);
``width`` is the group's width as the graph now has it.

Example:
    >>> import fgir
    >>> groups = channel_groups(fgir.compile("examples/resnet20_cifar.yaml"))
    >>> [(g.name, g.width, len(g.producers)) for g in groups.groups][:2]
    [('conv1', 16, 4), ('layer1.0.conv1', 16, 1)]
    >>> groups.by_name()["layer3.0.conv1"].consumers
    [Consumer(layer='layer3.0.conv2', offset=0)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from fgir.ir.graph import Graph, Node
from fgir.ir.ops import OPS
from fgir.ir.pruning import DENSE_OUT, declared_width

Layout = list[tuple[str, int]]   # (group id, width) segments; group ids are producer names


@dataclass(frozen=True, slots=True)
class Consumer:
    """A layer whose input channels ``[offset, offset + width)`` are a group's channels."""

    layer: str
    offset: int


@dataclass
class ChannelGroup:
    name: str
    width: int
    dense_width: int
    producers: list[str] = field(default_factory=list)     # ops writing the group's channels
    consumers: list[Consumer] = field(default_factory=list)  # ops reading them through their weights
    tensors: list[str] = field(default_factory=list)        # every node whose output holds them
    locked: str | None = None                                 # why it cannot be pruned
    unit: int = 1                                             # its channels are pruned this many at a time


@dataclass
class ChannelGroups:
    groups: list[ChannelGroup]                 # the prunable groups, in order of their first producer
    locked: list[ChannelGroup]                 # the others, each with its reason
    layout: dict[str, list[tuple[str, int]]]  # node name → its output's (group name, width) segments

    def by_name(self) -> dict[str, ChannelGroup]:
        return {g.name: g for g in self.groups}

    def any_by_name(self) -> dict[str, ChannelGroup]:
        return {g.name: g for g in [*self.groups, *self.locked]}

    def group_of(self, node: str) -> str | None:
        """The group of a node whose output is one group's channels (None otherwise)."""
        segments = self.layout.get(node, [])
        return segments[0][0] if len(segments) == 1 else None


class _Groups:
    """Union-find over group ids, keeping each set's first producer as its root and any lock reason."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.order: dict[str, int] = {}
        self.reason: dict[str, str] = {}

    def open(self, gid: str) -> str:
        self.parent[gid] = gid
        self.order[gid] = len(self.order)
        return gid

    def find(self, gid: str) -> str:
        while self.parent[gid] != gid:
            self.parent[gid] = self.parent[self.parent[gid]]
            gid = self.parent[gid]
        return gid

    def union(self, ids: list[str]) -> str:
        roots = sorted({self.find(g) for g in ids}, key=self.order.__getitem__)
        for other in roots[1:]:
            self.parent[other] = roots[0]
            if other in self.reason:
                self.reason.setdefault(roots[0], self.reason.pop(other))
        return roots[0]

    def lock(self, gid: str, reason: str) -> None:
        self.reason.setdefault(self.find(gid), reason)


SOURCE = "<input>"   # the group id of the network input's channels


class _Builder:
    """The :class:`~fgir.ir.ops.channel_rules.GroupBuilder` the op rules build groups through."""

    source = SOURCE

    def __init__(self, sets: _Groups, consumers: dict[str, list[Consumer]], writers: dict[str, list[str]]) -> None:
        self.sets, self.consumers, self.writers = sets, consumers, writers
        self.inners: dict[str, tuple[int, int]] = {}   # group inside a node → (width, dense width)
        self.units: dict[str, int] = {}                 # group id → the run of channels pruned together
        self.find, self.union, self.lock = sets.find, sets.union, sets.lock

    def open(self, node: Node) -> str:
        gid = self.sets.open(node.name)
        self.write(gid, node)
        return gid

    def write(self, gid: str, node: Node) -> None:
        self.writers.setdefault(gid, []).append(node.name)

    def consume(self, gid: str, node: Node, offset: int) -> None:
        self.consumers.setdefault(gid, []).append(Consumer(node.name, offset))

    def out_width(self, node: Node) -> int:
        return node.meta.get(DENSE_OUT, _out_width(node))

    def inner(self, node: Node, width: int, dense: int) -> str:
        gid = self.open(node)
        self.inners[gid] = (width, dense)
        return gid

    def unit(self, gid: str, size: int) -> None:
        self.units[gid] = math.lcm(self.units.get(gid, 1), size)


def channel_groups(graph: Graph) -> ChannelGroups:
    """Group a lowered graph's channels by the ops that tie them."""
    sets = _Groups()
    sets.open(SOURCE)
    sets.lock(SOURCE, "the network input's channels are the data's")
    layout: dict[str, Layout] = {}
    consumers: dict[str, list[Consumer]] = {}
    writers: dict[str, list[str]] = {}
    builder = _Builder(sets, consumers, writers)
    for node in graph:
        rule = OPS[node.op].channel_rule(node.attrs)
        layout[node.name] = rule.groups(node, [layout[src.name] for src in node.inputs], builder)
    for output in graph.outputs:
        for gid, _ in layout[output.name]:
            sets.lock(gid, f"'{output.name}' is the network's output")
    groups = _collect(graph, sets, layout, consumers, writers, builder.inners)
    every = groups.any_by_name()
    for gid, size in builder.units.items():
        if sets.find(gid) in every:
            target = every[sets.find(gid)]
            target.unit = math.lcm(target.unit, size)
    return groups


def _out_width(node: Node) -> int:
    width = declared_width(node)
    if width is not None:
        return width
    return node.type.channels if node.type is not None else 0


def _collect(graph: Graph, sets: _Groups, layout: dict[str, Layout], consumers: dict[str, list[Consumer]],
             writers: dict[str, list[str]], inners: dict[str, tuple[int, int]]) -> ChannelGroups:
    members: dict[str, ChannelGroup] = {}
    widths = {gid: width for segments in layout.values() for gid, width in segments}
    widths.update({gid: dense for gid, (_, dense) in inners.items()})

    def group(gid: str) -> ChannelGroup | None:
        root = sets.find(gid)
        if root == SOURCE:
            return None
        if root not in members:
            width = inners[root][0] if root in inners else _out_width(graph[root]) if root in graph else 0
            members[root] = ChannelGroup(root, width, widths.get(root, 0), locked=sets.reason.get(root),
                                         tensors=[root] if root in inners else [])
        return members[root]

    for gid in sorted(writers, key=sets.order.__getitem__):
        target = group(gid)
        for name in writers[gid] if target is not None else ():
            if name not in target.producers:
                target.producers.append(name)
    position = {name: i for i, name in enumerate(graph.nodes)}
    for gid in sorted(consumers, key=sets.order.__getitem__):
        target = group(gid)
        if target is not None:
            target.consumers.extend(consumers[gid])
    resolved: dict[str, list[tuple[str, int]]] = {}
    for node in graph:
        resolved[node.name] = [(sets.find(gid), width) for gid, width in layout[node.name]]
        for root, _ in resolved[node.name]:
            target = group(root)
            if target is not None and node.name not in target.tensors[-1:]:
                target.tensors.append(node.name)
    ordered = sorted(members.values(), key=lambda g: sets.order[g.name])
    for g in ordered:
        g.consumers.sort(key=lambda c: (position[c.layer], c.offset))
    return ChannelGroups([g for g in ordered if g.locked is None], [g for g in ordered if g.locked is not None],
                         resolved)
