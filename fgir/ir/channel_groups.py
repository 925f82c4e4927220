"""Channel groups: which tensors must keep the same channels because an op ties their widths.

Every conv2d output opens a channel space; BN, ReLU, pooling, dropout and
identity pass their input's space on; a residual ``add`` merges the spaces of
its inputs.  A *group* is one merged space: pruning a channel of a group
removes it from every tensor in the group, so one decision prunes every tied
layer consistently.  A group is named after its first producing conv.

Example:
    >>> import fgir
    >>> groups = channel_groups(fgir.compile("examples/resnet20_cifar.yaml"))
    >>> [(g.name, g.width, len(g.producers)) for g in groups.groups][:2]
    [('conv1', 16, 4), ('layer1.0.conv1', 16, 1)]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fgir.ir.graph import Graph

PRODUCERS = {"conv2d"}
PASS_THROUGH = {"batch_norm", "relu", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "dropout",
                "identity", "flatten"}


@dataclass
class ChannelGroup:
    name: str
    width: int
    producers: list[str] = field(default_factory=list)   # convs writing the group's channels
    tensors: list[str] = field(default_factory=list)     # every node whose output is in the group


@dataclass
class ChannelGroups:
    groups: list[ChannelGroup]
    group_of: dict[str, str]   # node name → group name, for nodes whose output is in a group

    def by_name(self) -> dict[str, ChannelGroup]:
        return {g.name: g for g in self.groups}


def channel_groups(graph: Graph) -> ChannelGroups:
    """Group a lowered graph's conv output channels by the ops that tie them."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    order = {name: i for i, name in enumerate(graph.nodes)}
    space: dict[str, str | None] = {}
    for node in graph:
        if node.op in PRODUCERS:
            parent[node.name] = node.name
            space[node.name] = node.name
        elif node.op in PASS_THROUGH:
            space[node.name] = space.get(node.inputs[0])
        elif node.op == "add":
            spaces = [space.get(i) for i in node.inputs]
            if all(spaces):
                roots = sorted({find(s) for s in spaces}, key=order.__getitem__)
                for other in roots[1:]:
                    parent[other] = roots[0]
                space[node.name] = roots[0]
            else:
                space[node.name] = None  # tied to the network input: not prunable
        else:
            space[node.name] = None
    members: dict[str, ChannelGroup] = {}
    group_of: dict[str, str] = {}
    for node in graph:
        s = space.get(node.name)
        if s is None:
            continue
        root = find(s)
        group = members.get(root)
        if group is None:
            group = members[root] = ChannelGroup(root, graph[root].attrs["out_channels"])
        if node.op in PRODUCERS:
            group.producers.append(node.name)
        group.tensors.append(node.name)
        group_of[node.name] = root
    return ChannelGroups(list(members.values()), group_of)
