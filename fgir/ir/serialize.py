"""JSON form of the IR: ``graph_from_json(graph_to_json(g)) == g`` for every graph."""

from __future__ import annotations

from typing import Any

from fgir.diagnostics import Origin
from fgir.ir.annotations import scratch_keys
from fgir.ir.graph import Graph
from fgir.ir.node import Node
from fgir.ir.records import BlockInfo, ProcessRecord
from fgir.ir.types import TensorType

FORMAT_VERSION = 1


def plain_copy(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, scalars), much faster than ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {k: plain_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_copy(v) for v in value]
    return value


def _node_to_json(node: Node) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": node.name, "op": node.op, "attrs": node.attrs, "inputs": [n.name for n in node.inputs],
        "origin": node.origin.to_json(),
        "arg_origins": {k: v.to_json() for k, v in node.arg_origins.items()},
    }
    if node.inline_scope:
        out["inline_scope"] = True
    if node.type is not None:
        out["type"] = node.type.to_json()
    if node.meta:
        scratch = scratch_keys()
        out["meta"] = node.meta if scratch.isdisjoint(node.meta) else {
            k: v for k, v in node.meta.items() if k not in scratch}
    if node.subgraph is not None:
        out["subgraph"] = graph_to_json(node.subgraph)
    return out


def _add_node_from_json(graph: Graph, data: dict[str, Any]) -> None:
    node = Node(data["name"], data["op"], plain_copy(data["attrs"]), [graph[n] for n in data["inputs"]],
                Origin.from_json(data["origin"]),
                {k: Origin.from_json(v) for k, v in data["arg_origins"].items()},
                graph_from_json(data["subgraph"]) if "subgraph" in data else None,
                inline_scope=bool(data.get("inline_scope", False)))
    if "type" in data:
        node.type = TensorType.from_json(data["type"])
    node.meta = plain_copy(data.get("meta", {}))
    graph.add_node(node)


def _outputs_json(graph: Graph) -> dict[str, Any]:
    """Several outputs, or outputs named otherwise than their nodes: listed (else ``output`` says all)."""
    names = [n.name for n in graph.outputs]
    if len(names) <= 1 and graph.output_names == names:
        return {}
    return {"outputs": names, "output_names": list(graph.output_names)}


def graph_to_json(graph: Graph) -> dict[str, Any]:
    """A JSON-ready dict of the whole graph, sub-graphs and pass annotations included."""
    return {
        "fgir_ir": FORMAT_VERSION,
        "nodes": [_node_to_json(n) for n in graph],
        "output": graph.output.name if graph.output is not None else None,
        **_outputs_json(graph),
        "properties": sorted(graph.properties),
        "blocks": [b.to_json() for b in graph.blocks],
        "processes": [p.to_json() for p in graph.processes],
        "meta": graph.meta,
    }


def graph_from_json(data: dict[str, Any]) -> Graph:
    """Rebuild a graph from :func:`graph_to_json`'s output (sharing nothing with ``data``)."""
    if data.get("fgir_ir") != FORMAT_VERSION:
        raise ValueError(f"not fgir IR JSON of format {FORMAT_VERSION}")
    graph = Graph()
    for node_data in data["nodes"]:
        _add_node_from_json(graph, node_data)
    if "outputs" in data:
        graph.set_outputs([graph[n] for n in data["outputs"]], list(data["output_names"]))
    elif data["output"] is not None:
        graph.set_output(graph[data["output"]])
    graph.properties = set(data["properties"])
    graph.blocks = [BlockInfo.from_json(plain_copy(b)) for b in data["blocks"]]
    graph.processes = [ProcessRecord.from_json(plain_copy(p)) for p in data["processes"]]
    graph.meta = plain_copy(data["meta"])
    return graph
