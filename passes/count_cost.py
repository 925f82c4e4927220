"""count_cost: parameters and MACs of every node, and the network's totals.

Requires ``channels_checked`` (costs of an inconsistent network mean nothing).
Guarantees ``cost``: ``node.meta["params"]`` and ``node.meta["macs"]`` on every
node, ``graph.meta["params"]`` and ``graph.meta["macs"]`` for the whole.
Parameters include BatchNorm's affine weights but not its running statistics;
MACs count convolutions and linear layers (torchvision's convention).
"""

from __future__ import annotations

from fgir.ir.graph import Graph
from fgir.ir.ops import OPS
from .base import Pass, PassContext


class CountCost(Pass):
    name = "count_cost"
    requires = frozenset({"channels_checked"})
    provides = frozenset({"cost"})

    def run(self, graph: Graph, ctx: PassContext) -> None:
        total_params = total_macs = 0
        for node in graph:
            if node.op == "input":
                continue
            op = OPS[node.op]
            params = op.params(node.attrs)
            macs = op.macs(node.attrs, [graph[i].type for i in node.inputs], node.type)
            node.meta["params"] = params
            node.meta["macs"] = macs
            total_params += params
            total_macs += macs
        graph.meta["params"] = total_params
        graph.meta["macs"] = total_macs
