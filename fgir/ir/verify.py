"""The IR's invariants, checked (``Graph.verify``): what every pass may rely on and must leave true.

* every input of a node is a node of the same graph defined before it (topological order);
* users are exactly the nodes that read a node, and names are unique;
* the outputs are nodes of the graph, one distinct name each; the network has one ``input`` node (a
  block's sub-graph one or more: ``input``, ``input_1``, ... for a block of several inputs);
* an ``item`` node reads a block node of more outputs than its index, and none is left once lowered;
* every primitive op has a schema, its arity, and attributes valid for it;
* once ``shapes`` holds, every node has a type; once ``lowered`` holds, no block is left and the
  block table names only nodes of the graph.

A broken invariant is a bug in a pass, never in the user's spec: :class:`IRError`.

Example:
    >>> from fgir.ir.graph import Graph
    >>> g = Graph(); x = g.add_input(); g.set_output(g.add("act", "relu", [x]))
    >>> g.verify()
    >>> g["act"].attrs["bogus"] = 1
    >>> g.verify()
    Traceback (most recent call last):
    ...
    fgir.ir.verify.IRError: node 'act' (relu): unknown attribute 'bogus'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fgir.ir.node import ITEM
from fgir.ir.annotations import problems as annotation_problems
from fgir.ir.ops import OPS

if TYPE_CHECKING:
    from fgir.ir.graph import Graph


class IRError(Exception):
    """The IR breaks one of its invariants (a bug in whatever built or changed it); ``problems`` lists all."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


def verify_graph(graph: "Graph", subgraph: bool = False) -> None:
    """Raise :class:`IRError` listing every broken invariant; ``subgraph``: a block's sub-graph."""
    problems = list(_problems(graph, subgraph))
    if problems:
        raise IRError(problems)


def _problems(graph: "Graph", subgraph: bool = False):
    seen: set[str] = set()
    inputs = 0
    for name, node in graph.nodes.items():
        where = f"node '{name}' ({node.op})"
        if node.name != name or node.graph is not graph:
            yield f"{where}: not registered under its own name in this graph"
        for src in node.inputs:
            if src.graph is not graph:
                yield f"{where}: reads '{src.name}', which is not a node of this graph"
            elif src.name not in seen:
                yield f"{where}: reads '{src.name}', which comes after it"
            if not src.is_read_by(node):
                yield f"{where}: missing from the users of '{src.name}'"
        for user in node.users:
            if node not in user.inputs:
                yield f"{where}: lists '{user.name}' as a user, which does not read it"
        inputs += node.op == "input"
        yield from _op_problems(graph, node, where)
        if node.meta:
            for problem in annotation_problems(node.meta):
                yield f"{where}: {problem}"
        seen.add(name)
    if graph.output is None or any(out.graph is not graph for out in graph.outputs):
        yield "the graph has no output node of its own"
    if len(set(graph.output_names)) != len(graph.output_names) or len(graph.output_names) != len(graph.outputs):
        yield f"the graph's output names {graph.output_names} are not one distinct name an output"
    if inputs != 1 and not (subgraph and inputs > 1):
        yield f"the graph has {inputs} input nodes, not {'1 or more' if subgraph else 1}"
    if graph.is_lowered:
        for info in graph.blocks:
            for name in [info.input, info.output, *info.nodes]:
                if name not in graph.nodes:
                    yield f"block '{info.scope}' names '{name}', which is not a node of the graph"


def _op_problems(graph: "Graph", node, where: str):
    if node.op == ITEM:
        yield from _item_problems(graph, node, where)
        return
    if node.is_block:
        if graph.is_lowered:
            yield f"{where}: a block is left in a lowered graph"
        return
    schema = OPS.get(node.op)
    if schema is None:
        yield f"{where}: no op schema is named '{node.op}'"
        return
    if schema.arity is not None and len(node.inputs) != schema.arity:
        yield f"{where}: has {len(node.inputs)} inputs, but the op takes {schema.arity}"
    elif schema.arity is None and not node.inputs:
        yield f"{where}: has no inputs"
    for problem in schema.attr_problems(node.attrs):
        yield f"{where}: {problem}"
    if "shapes" in graph.properties:
        if node.type is None:
            yield f"{where}: has no type, though shapes were inferred"
        if schema.inferred_width and node.attrs.get(schema.inferred_width) is None:
            yield f"{where}: '{schema.inferred_width}' is still unknown, though shapes were inferred"


def _item_problems(graph: "Graph", node, where: str):
    if graph.is_lowered:
        yield f"{where}: an item node is left in a lowered graph"
    source = node.inputs[0] if len(node.inputs) == 1 else None
    index = node.attrs.get("index")
    if source is None or source.subgraph is None:
        yield f"{where}: reads no block node of several outputs"
    elif not isinstance(index, int) or not 0 < index < len(source.subgraph.outputs):
        yield f"{where}: index {index!r} is not one of '{source.name}'s outputs after the first"
