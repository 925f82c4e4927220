"""lower_blocks: inline every block's sub-graph, leaving a flat graph of primitive ops.

Requires ``repeats_expanded``.
Guarantees ``lowered``: only primitive ops remain, each named by its full scope
(``layer1.0.conv1``), and ``graph.blocks`` records every block that was inlined
(scope, type, origin, family, the nodes it became, and any width expectation).
``graph.meta["family"]`` names the family the network follows (that of its
blocks, when they agree on one) and ``graph.meta["init_schemes"]`` holds each
present family's initialisation, so backends read conventions off the IR.
"""

from __future__ import annotations

from fgir.blocks.family import FAMILIES
from fgir.ir.graph import BlockInfo, Graph, Node, WidthExpectation
from .base import Pass, PassContext

CONTAINERS = {"Repeat", "Sequential"}


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class LowerBlocks(Pass):
    name = "lower_blocks"
    requires = frozenset({"repeats_expanded"})
    provides = frozenset({"lowered"})

    def run(self, graph: Graph, ctx: PassContext) -> None:
        flat, blocks = inline_blocks(graph)
        graph.adopt(flat)
        graph.blocks = blocks
        families = sorted({b.family for b in blocks if b.family})
        graph.meta["family"] = families[0] if len(families) == 1 else None
        graph.meta["init_schemes"] = {name: FAMILIES[name].init_json() for name in families}


def inline_blocks(graph: Graph, *, keep_unexpanded: bool = False) -> tuple[Graph, list[BlockInfo]]:
    """A flat copy of ``graph`` with every block's sub-graph inlined, and the table of those blocks.

    ``keep_unexpanded`` keeps a block that has no sub-graph yet (a Repeat before
    ``expand_repeat``) as one node, for pictures of the IR before lowering; the
    pass itself refuses one.
    """
    flat = Graph()
    blocks: list[BlockInfo] = []
    flat.set_output(_inline(graph, "", flat.add_input(), flat, blocks, keep_unexpanded))
    return flat, blocks


def _inline(graph: Graph, scope: str, source: Node, flat: Graph, blocks: list[BlockInfo],
            keep_unexpanded: bool) -> Node:
    env: dict[str, Node] = {}
    for node in graph:
        if node.op == "input":
            env[node.name] = source
            continue
        inputs = [env[src.name] for src in node.inputs]
        here = scope if node.inline_scope else _join(scope, node.name)
        if node.is_block and (node.subgraph is not None or not keep_unexpanded):
            if node.subgraph is None:
                raise RuntimeError(f"block '{here}' has no sub-graph (run expand_repeat first)")
            expect = node.meta.get("expect")
            info = BlockInfo(here, node.block_type, node.origin, inputs[0].name, inputs[0].name,
                             expect=WidthExpectation.from_json(expect) if expect else None,
                             family=node.meta.get("family"))
            blocks.append(info)
            start = len(flat)
            info.output = _inline(node.subgraph, here, inputs[0], flat, blocks, keep_unexpanded).name
            info.nodes = list(flat.nodes)[start:]
            info.is_leaf = node.block_type not in CONTAINERS and not any(
                n.is_block and n.block_type not in CONTAINERS for _, n in node.subgraph.walk())
            env[node.name] = flat[info.output]
        else:
            lowered = Node(flat.unique_name(here or node.name), node.op, dict(node.attrs), inputs,
                           node.origin, node.arg_origins, inline_scope=False)
            lowered.meta = dict(node.meta)
            lowered.type = node.type
            env[node.name] = flat.add_node(lowered)
    return env[graph.output.name]
