"""lower_blocks: inline every block's sub-graph, leaving a flat graph of primitive ops.

Requires ``repeats_expanded``.
Guarantees ``lowered``: only primitive ops remain, each named by its full scope
(``layer1.0.conv1``), and ``graph.blocks`` records every block that was inlined
(scope, type, origin, family, the nodes it became, and any width expectation).
``graph.meta["family"]`` names the family the network follows (that of its
blocks, when they agree on one) and ``graph.meta["init_schemes"]`` holds each
present family's initialisation, so backends read conventions off the IR.
A block of several inputs has its sub-graph's input nodes bound in order; one of several
outputs gives its ``item`` nodes (output i of the block) the inlined node of output i, and the
``item`` nodes disappear.  A network of several outputs keeps their names (``outputs: [head, aux]``);
a single output is named by its node, as before.
"""

from __future__ import annotations

from fgir.blocks.family import FAMILIES
from fgir.blocks.memo import copy_data
from fgir.ir.graph import BlockInfo, Graph, Node, WidthExpectation
from fgir.ir.node import ITEM
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
    added: list[str] = []    # the flat graph's node names as they are appended (it only ever appends)
    outputs = _inline(graph, "", [flat.add_input()], flat, blocks, keep_unexpanded, added)
    if len(outputs) > 1:
        flat.set_outputs(outputs, graph.output_names)
    else:
        flat.set_output(outputs[0])
    return flat, blocks


def _inline(graph: Graph, scope: str, sources: list[Node], flat: Graph, blocks: list[BlockInfo],
            keep_unexpanded: bool, added: list[str]) -> list[Node]:
    env: dict[str, Node] = {}
    several: dict[str, list[Node]] = {}   # a block node of several outputs: the inlined node of each
    bound = 0
    for node in graph:
        if node.op == "input":
            env[node.name] = sources[bound]
            bound += 1
            continue
        if node.op == ITEM:
            env[node.name] = several[node.inputs[0].name][node.attrs["index"]]
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
            start, first_inner = len(added), len(blocks)
            outputs = _inline(node.subgraph, here, inputs, flat, blocks, keep_unexpanded, added)
            info.output = outputs[0].name
            info.nodes = added[start:]   # a slice of what this block appended: linear in the network's size
            # the blocks inlined since are those inside it (a block left unexpanded is a Repeat, a container)
            info.is_leaf = node.block_type not in CONTAINERS and not any(
                inner.type not in CONTAINERS for inner in blocks[first_inner:])
            env[node.name] = outputs[0]
            if len(outputs) > 1:
                several[node.name] = outputs
        else:
            # copied deep: a memoized block's sub-graph is shared (fgir.blocks.memo), the flat graph is its own
            lowered = Node(flat.unique_name(here or node.name), node.op, copy_data(node.attrs), inputs,
                           node.origin, dict(node.arg_origins), inline_scope=False)
            lowered.meta = copy_data(node.meta) if node.meta else {}
            lowered.type = node.type
            env[node.name] = flat.add_node(lowered)
            added.append(lowered.name)
    return [env[out.name] for out in graph.outputs]
