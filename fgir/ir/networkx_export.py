"""The IR as a ``networkx.MultiDiGraph``, for users' own analyses (``Graph.to_networkx``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fgir.ir.graph import Graph


def to_networkx(graph: "Graph"):
    """Nodes carry op, attrs, scope, location and tensor type; see ``Graph.to_networkx``."""
    import networkx as nx

    nxg = nx.MultiDiGraph()
    _add(graph, nxg, "", "")
    return nxg


def _add(graph: "Graph", nxg, path: str, scope: str) -> None:
    def key(name: str) -> str:
        return f"{path}/{name}" if path else name

    for node in graph:
        here = scope if node.inline_scope else (f"{scope}.{node.name}" if scope else node.name)
        nxg.add_node(key(node.name), op=node.op, attrs=dict(node.attrs), scope=here,
                     loc=str(node.origin.loc), spec_path=node.origin.path,
                     type=str(node.type) if node.type else None, parent=path or None)
        for src in node.inputs:
            nxg.add_edge(key(src.name), key(node.name), type=str(src.type) if src.type else None)
        if node.subgraph is not None:
            _add(node.subgraph, nxg, key(node.name), here)
