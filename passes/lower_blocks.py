"""lower_blocks: inline every block's sub-graph, leaving a flat graph of primitive ops.

Requires ``repeats_expanded``.
Guarantees ``lowered``: only primitive ops remain, each named by its full scope
(``layer1.0.conv1``), and ``graph.blocks`` records every block that was inlined
(scope, type, origin, the nodes it became, and any channel expectation).
"""

from __future__ import annotations

from fgir.ir.graph import BlockInfo, Graph, Node
from .base import Pass, PassContext

CONTAINERS = {"Repeat", "Sequential"}


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class LowerBlocks(Pass):
    name = "lower_blocks"
    requires = frozenset({"repeats_expanded"})
    provides = frozenset({"lowered"})

    def run(self, graph: Graph, ctx: PassContext) -> None:
        flat = Graph()
        blocks: list[BlockInfo] = []
        first = flat.add_input()
        out = self._inline(graph, "", first, flat, blocks)
        flat.set_output(out)
        graph.nodes = flat.nodes
        graph.output = flat.output
        graph.blocks = blocks

    def _inline(self, graph: Graph, scope: str, input_name: str, flat: Graph,
                blocks: list[BlockInfo]) -> str:
        env: dict[str, str] = {}
        for node in graph:
            if node.op == "input":
                env[node.name] = input_name
                continue
            inputs = [env[i] for i in node.inputs]
            here = scope if node.inline_scope else _join(scope, node.name)
            if node.is_block:
                if node.subgraph is None:
                    raise RuntimeError(f"block '{here}' has no sub-graph (run expand_repeat first)")
                info = BlockInfo(here, node.block_type, node.origin, inputs[0], inputs[0],
                                 expect=node.meta.get("expect"))
                blocks.append(info)
                start = len(flat)
                info.output = self._inline(node.subgraph, here, inputs[0], flat, blocks)
                info.nodes = list(flat.nodes)[start:]
                info.is_leaf = node.block_type not in CONTAINERS and not any(
                    n.is_block and n.block_type not in CONTAINERS for _, n in node.subgraph.walk())
                env[node.name] = info.output
            else:
                lowered = Node(flat.unique_name(here), node.op, dict(node.attrs), inputs, node.origin,
                               node.arg_origins)
                lowered.meta = dict(node.meta)
                env[node.name] = flat.add_node(lowered)
        return env[graph.output]
