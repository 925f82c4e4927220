"""JSON form of the IR: ``graph_from_json(graph_to_json(g)) == g`` for every graph."""

from __future__ import annotations

from typing import Any

from fgir.diagnostics import Origin
from fgir.ir.graph import BlockInfo, Graph, Node
from fgir.ir.types import TensorType

FORMAT_VERSION = 1


def _node_to_json(node: Node) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": node.name, "op": node.op, "attrs": node.attrs, "inputs": node.inputs,
        "origin": node.origin.to_json(),
        "arg_origins": {k: v.to_json() for k, v in node.arg_origins.items()},
    }
    if node.inline_scope:
        out["inline_scope"] = True
    if node.type is not None:
        out["type"] = node.type.to_json()
    if node.meta:
        out["meta"] = node.meta
    if node.subgraph is not None:
        out["subgraph"] = graph_to_json(node.subgraph)
    return out


def _node_from_json(data: dict[str, Any]) -> Node:
    node = Node(data["name"], data["op"], dict(data["attrs"]), list(data["inputs"]),
                Origin.from_json(data["origin"]),
                {k: Origin.from_json(v) for k, v in data["arg_origins"].items()},
                graph_from_json(data["subgraph"]) if "subgraph" in data else None,
                inline_scope=bool(data.get("inline_scope", False)))
    if "type" in data:
        node.type = TensorType.from_json(data["type"])
    node.meta = dict(data.get("meta", {}))
    return node


def _block_to_json(info: BlockInfo) -> dict[str, Any]:
    expect = info.expect  # already JSON-ready (its origin in list form)
    return {"scope": info.scope, "type": info.type, "origin": info.origin.to_json(),
            "input": info.input, "output": info.output, "nodes": info.nodes,
            "is_leaf": info.is_leaf, "expect": expect}


def _block_from_json(data: dict[str, Any]) -> BlockInfo:
    expect = data["expect"]
    return BlockInfo(data["scope"], data["type"], Origin.from_json(data["origin"]),
                     data["input"], data["output"], list(data["nodes"]), data["is_leaf"], expect)


def _processes_to_json(processes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**p, "origin": p["origin"].to_json(),
             "arg_origins": {k: v.to_json() for k, v in p["arg_origins"].items()}}
            for p in processes]


def _processes_from_json(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**p, "origin": Origin.from_json(p["origin"]),
             "arg_origins": {k: Origin.from_json(v) for k, v in p["arg_origins"].items()}}
            for p in data]


def graph_to_json(graph: Graph) -> dict[str, Any]:
    """A JSON-ready dict of the whole graph, sub-graphs and pass annotations included."""
    return {
        "fgir_ir": FORMAT_VERSION,
        "nodes": [_node_to_json(n) for n in graph],
        "output": graph.output,
        "properties": sorted(graph.properties),
        "blocks": [_block_to_json(b) for b in graph.blocks],
        "processes": _processes_to_json(graph.processes),
        "meta": graph.meta,
    }


def graph_from_json(data: dict[str, Any]) -> Graph:
    """Rebuild a graph from :func:`graph_to_json`'s output."""
    if data.get("fgir_ir") != FORMAT_VERSION:
        raise ValueError(f"not fgir IR JSON of format {FORMAT_VERSION}")
    graph = Graph()
    for node_data in data["nodes"]:
        node = _node_from_json(node_data)
        graph.nodes[node.name] = node
    graph.output = data["output"]
    graph.properties = set(data["properties"])
    graph.blocks = [_block_from_json(b) for b in data["blocks"]]
    graph.processes = _processes_from_json(data["processes"])
    graph.meta = dict(data["meta"])
    return graph
