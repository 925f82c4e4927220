"""A readable text form of the IR, one node a line, nested blocks indented."""

from __future__ import annotations

from typing import Any

from fgir.ir.graph import Graph


def format_attr(value: Any) -> str:
    """An attribute value as compact text: ``[3, 3]``, ``{type: BasicBlock}``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_attr(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_attr(v) for v in value) + "]"
    return str(value)


def format_graph(graph: Graph, indent: str = "") -> str:
    """``%layer1.0.conv1 = conv2d(%maxpool) {in_channels=64, ...} : 64x56x56  # spec.yaml:3:5``."""
    lines = []
    for node in graph:
        args = ", ".join(f"%{src.name}" for src in node.inputs)
        attrs = ", ".join(f"{k}={format_attr(v)}" for k, v in node.attrs.items())
        text = f"{indent}%{node.name} = {node.op}({args})"
        if attrs:
            text += f" {{{attrs}}}"
        if node.type is not None:
            text += f" : {node.type}"
        if node.meta:
            text += "  [" + ", ".join(f"{k}={format_attr(v)}" for k, v in node.meta.items()) + "]"
        if node.origin.loc.line:
            text += f"  # {node.origin.loc}"
        lines.append(text)
        if node.subgraph is not None:
            lines.append(format_graph(node.subgraph, indent + "    "))
    if graph.outputs:
        results = [f"%{node.name}" if name == node.name else f"{name}=%{node.name}"
                   for name, node in zip(graph.output_names, graph.outputs)]
        lines.append(f"{indent}return {', '.join(results)}")
    return "\n".join(lines)
