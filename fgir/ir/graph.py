"""The IR: a graph of nodes, each an op with typed attributes, a scope name and a source origin.

A :class:`Graph` keeps its nodes in topological order (like ``torch.fx``'s
node list); every node has one output, whose :class:`TensorType` is the type of
each edge leaving it once shapes are inferred.  Before lowering, *block* nodes
(``op == "block:BasicBlock"``) hold the sub-graph they build; ``block:Repeat``
nodes hold none until ``expand_repeat`` fills it in.  After ``lower_blocks``
the graph is flat: primitive ops named by their full scope (``layer1.0.conv1``)
plus a table of the blocks they came from.

Example:
    >>> g = Graph()
    >>> x = g.add_input()
    >>> y = g.add("relu", "relu", [x])
    >>> g.set_output(y)
    >>> [n.op for n in g]
    ['input', 'relu']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from fgir.diagnostics import Loc, Origin
from fgir.ir.types import TensorType

INTERNAL = Origin(Loc("<fgir>"), "")
BLOCK_PREFIX = "block:"


class Node:
    """One operation; ``attrs`` are plain JSON-like values, ``arg_origins`` say where they came from."""

    __slots__ = ("name", "op", "attrs", "inputs", "origin", "arg_origins", "subgraph",
                 "type", "meta", "inline_scope")

    def __init__(self, name: str, op: str, attrs: dict[str, Any] | None = None,
                 inputs: list[str] | None = None, origin: Origin = INTERNAL,
                 arg_origins: dict[str, Origin] | None = None, subgraph: "Graph | None" = None,
                 inline_scope: bool = False) -> None:
        self.name = name
        self.op = op
        self.attrs = attrs if attrs is not None else {}
        self.inputs = inputs if inputs is not None else []
        self.origin = origin
        self.arg_origins = arg_origins if arg_origins is not None else {}
        self.subgraph = subgraph
        self.type: TensorType | None = None
        self.meta: dict[str, Any] = {}
        self.inline_scope = inline_scope

    @property
    def is_block(self) -> bool:
        return self.op.startswith(BLOCK_PREFIX)

    @property
    def block_type(self) -> str | None:
        return self.op[len(BLOCK_PREFIX):] if self.is_block else None

    def origin_of(self, arg: str) -> Origin:
        """Where attribute ``arg`` came from; the node's own origin when it was computed."""
        return self.arg_origins.get(arg) or self.origin

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {self.op!r})"


@dataclass(slots=True)
class BlockInfo:
    """A block that ``lower_blocks`` inlined: where it was, and which nodes it became."""

    scope: str
    type: str
    origin: Origin
    input: str
    output: str
    nodes: list[str] = field(default_factory=list)
    is_leaf: bool = True
    # a final width to check: {"channels", "reason", "subject", "origin" (Origin.to_json form)}
    expect: dict[str, Any] | None = None


class Graph:
    """An ordered graph of :class:`Node`; see the module docstring."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.output: str | None = None
        self.properties: set[str] = set()
        self.blocks: list[BlockInfo] = []
        self.processes: list[dict[str, Any]] = []
        self.meta: dict[str, Any] = {}

    # -- building ---------------------------------------------------------
    def add_node(self, node: Node) -> str:
        if node.name in self.nodes:
            raise ValueError(f"duplicate node name '{node.name}'")
        for name in node.inputs:
            if name not in self.nodes:
                raise ValueError(f"node '{node.name}' reads '{name}', which is not defined before it")
        self.nodes[node.name] = node
        return node.name

    def add(self, name: str, op: str, inputs: list[str], attrs: dict[str, Any] | None = None,
            origin: Origin = INTERNAL, **kwargs: Any) -> str:
        return self.add_node(Node(name, op, attrs, list(inputs), origin, **kwargs))

    def add_input(self, name: str = "input") -> str:
        return self.add(name, "input", [])

    def set_output(self, name: str) -> None:
        if name not in self.nodes:
            raise ValueError(f"output '{name}' is not a node")
        self.output = name

    def unique_name(self, base: str) -> str:
        if base not in self.nodes:
            return base
        i = 1
        while f"{base}_{i}" in self.nodes:
            i += 1
        return f"{base}_{i}"

    # -- reading ------------------------------------------------------------
    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def __contains__(self, name: object) -> bool:
        return name in self.nodes

    @property
    def input(self) -> Node:
        return next(n for n in self.nodes.values() if n.op == "input")

    def users(self) -> dict[str, list[str]]:
        """For each node, the nodes that read it."""
        out: dict[str, list[str]] = {name: [] for name in self.nodes}
        for node in self.nodes.values():
            for src in node.inputs:
                out[src].append(node.name)
        return out

    def edges(self) -> Iterator[tuple[str, str, TensorType | None]]:
        """(source, target, tensor type) for every edge; types appear after ``infer_shapes``."""
        for node in self.nodes.values():
            for src in node.inputs:
                yield src, node.name, self.nodes[src].type

    def walk(self, prefix: str = "") -> Iterator[tuple[str, Node]]:
        """Every node at every depth, with its scope, before lowering included."""
        for node in self.nodes.values():
            scope = prefix if node.inline_scope else f"{prefix}{node.name}"
            yield scope, node
            if node.subgraph is not None:
                yield from node.subgraph.walk(scope + "." if scope else "")

    @property
    def is_lowered(self) -> bool:
        return "lowered" in self.properties

    def leaf_block_of(self) -> dict[str, BlockInfo]:
        """For a lowered graph: each node's innermost leaf block."""
        out: dict[str, BlockInfo] = {}
        for info in self.blocks:
            if info.is_leaf:
                for name in info.nodes:
                    out[name] = info
        return out

    # -- conversions ----------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        from fgir.ir.serialize import graph_to_json
        return graph_to_json(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Graph":
        from fgir.ir.serialize import graph_from_json
        return graph_from_json(data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Graph) and self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]

    def to_networkx(self):
        """A ``networkx.MultiDiGraph``: nodes carry op, attrs, scope, location and tensor type.

        A lowered graph's nodes are named by scope; before lowering, a node inside a
        block is named by the path of node names to it (``resnet/layers/layer1.0/conv1``),
        and a block node's ``subgraph`` nodes are linked to it by ``parent``.
        """
        import networkx as nx

        nxg = nx.MultiDiGraph()
        self._add_to_networkx(nxg, "", "")
        return nxg

    def _add_to_networkx(self, nxg, path: str, scope: str) -> None:
        def key(name: str) -> str:
            return f"{path}/{name}" if path else name

        for node in self.nodes.values():
            here = scope if node.inline_scope else (f"{scope}.{node.name}" if scope else node.name)
            nxg.add_node(key(node.name), op=node.op, attrs=dict(node.attrs), scope=here,
                         loc=str(node.origin.loc), spec_path=node.origin.path,
                         type=str(node.type) if node.type else None, parent=path or None)
            for src in node.inputs:
                nxg.add_edge(key(src), key(node.name),
                             type=str(self.nodes[src].type) if self.nodes[src].type else None)
            if node.subgraph is not None:
                node.subgraph._add_to_networkx(nxg, key(node.name), here)

    def format(self) -> str:
        """The IR as text, one node a line (what ``--dump-after`` prints)."""
        from fgir.ir.printer import format_graph
        return format_graph(self)

    def __str__(self) -> str:
        return self.format()
