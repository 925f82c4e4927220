"""The IR: an ordered graph of nodes, each an op with typed attributes, a scope name and a source origin.

A :class:`Graph` keeps its nodes in topological order (like ``torch.fx``'s
node list); every node has one output, whose :class:`TensorType` is the type of
each edge leaving it once shapes are inferred.  Before lowering, *block* nodes
(``op == "block:BasicBlock"``) hold the sub-graph they build; ``block:Repeat``
nodes hold none until ``expand_repeat`` fills it in.  After ``lower_blocks``
the graph is flat: primitive ops named by their full scope (``layer1.0.conv1``)
plus a table of the blocks they came from.

Passes change a graph only through its methods (``add``, ``insert_before``,
``replace_all_uses``, ``erase``, ``adopt``), which keep every node's inputs and
users in step; :meth:`Graph.verify` checks that they are, and more.  A
primitive op's attributes are completed from its schema (defaults filled in)
when the node is added.

Example:
    >>> g = Graph()
    >>> x = g.add_input()
    >>> y = g.add("relu", "relu", [x])
    >>> g.set_output(y)
    >>> [n.op for n in g], g.output.name
    (['input', 'relu'], 'relu')
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Iterator, Mapping

from fgir.diagnostics import Origin
from fgir.ir.node import BLOCK_PREFIX, INTERNAL, Node
from fgir.ir.ops import OPS
from fgir.ir.records import BlockInfo, ProcessRecord, WidthExpectation
from fgir.ir.types import TensorType

__all__ = ["BLOCK_PREFIX", "BlockInfo", "Graph", "INTERNAL", "Node", "ProcessRecord", "WidthExpectation"]


class Graph:
    """An ordered graph of :class:`Node`; see the module docstring."""

    def __init__(self) -> None:
        self._nodes: dict[str, Node] = {}
        self.output: Node | None = None
        self.properties: set[str] = set()
        self.blocks: list[BlockInfo] = []
        self.processes: list[ProcessRecord] = []
        self.meta: dict[str, Any] = {}

    # -- building ---------------------------------------------------------------------
    def add_node(self, node: Node, *, before: Node | None = None) -> Node:
        """Append ``node`` (or place it just before ``before``); its inputs must already be in the graph."""
        if node.graph is not None:
            raise ValueError(f"node '{node.name}' already belongs to a graph")
        if node.name in self._nodes:
            raise ValueError(f"duplicate node name '{node.name}'")
        order = self._nodes if before is None else self._nodes_before(before)
        for src in node.inputs:
            if src.graph is not self or src.name not in order:
                raise ValueError(f"node '{node.name}' reads '{src.name}', which is not defined before it")
        schema = OPS.get(node.op)
        if schema is not None:
            node.attrs = schema.complete(node.attrs)
        node.graph = self
        for src in node.inputs:
            src._users[node] = None
        if before is None:
            self._nodes[node.name] = node
        else:
            items = list(self._nodes.items())
            at = list(self._nodes).index(before.name)
            self._nodes = dict(items[:at] + [(node.name, node)] + items[at:])
        return node

    def add(self, name: str, op: str, inputs: list[Node] | tuple[Node, ...] = (),
            attrs: dict[str, Any] | None = None, origin: Origin = INTERNAL, **kwargs: Any) -> Node:
        """A new node reading ``inputs``, appended; returns it."""
        return self.add_node(Node(name, op, attrs, inputs, origin, **kwargs))

    def insert_before(self, anchor: Node, node: Node) -> Node:
        """Place ``node`` just before ``anchor`` (its inputs must come before ``anchor``); it joins the
        blocks ``anchor`` belongs to."""
        self.add_node(node, before=anchor)
        self._join_blocks_of(anchor, node, after=False)
        return node

    def insert_after(self, anchor: Node, node: Node) -> Node:
        """Place ``node`` just after ``anchor``; it joins the blocks ``anchor`` belongs to."""
        names = list(self._nodes)
        at = names.index(anchor.name) + 1
        if at < len(names):
            self.add_node(node, before=self._nodes[names[at]])
        else:
            self.add_node(node)
        self._join_blocks_of(anchor, node, after=True)
        return node

    def _join_blocks_of(self, anchor: Node, node: Node, *, after: bool) -> None:
        for info in self.blocks:
            if anchor.name in info.nodes:
                info.nodes.insert(info.nodes.index(anchor.name) + int(after), node.name)

    def add_input(self, name: str = "input") -> Node:
        return self.add(name, "input")

    def set_output(self, node: Node) -> None:
        if node.graph is not self:
            raise ValueError(f"output '{node.name}' is not a node of this graph")
        self.output = node

    def replace_all_uses(self, old: Node, new: Node) -> None:
        """Every reader of ``old`` reads ``new`` instead (the graph's output too)."""
        for user in old.users:
            if user is not new:
                user.replace_input(old, new)
        if self.output is old:
            self.output = new

    def erase(self, node: Node) -> None:
        """Remove a node nothing reads."""
        if node.users or self.output is node:
            readers = [u.name for u in node.users] + (["the graph output"] if self.output is node else [])
            raise ValueError(f"cannot erase '{node.name}': read by {', '.join(readers)}")
        del self._nodes[node.name]
        for src in set(node.inputs):
            src._users.pop(node, None)
        node.graph = None

    def adopt(self, other: "Graph") -> None:
        """Take ``other``'s nodes and output in place of this graph's own (a pass that rebuilds the graph)."""
        self._nodes = other._nodes
        self.output = other.output
        for node in self._nodes.values():
            node.graph = self
        other._nodes, other.output = {}, None

    def unique_name(self, base: str) -> str:
        if base not in self._nodes:
            return base
        i = 1
        while f"{base}_{i}" in self._nodes:
            i += 1
        return f"{base}_{i}"

    def _nodes_before(self, anchor: Node) -> set[str]:
        if anchor.graph is not self:
            raise ValueError(f"'{anchor.name}' is not a node of this graph")
        names: set[str] = set()
        for name in self._nodes:
            if name == anchor.name:
                return names
            names.add(name)
        return names

    # -- reading ----------------------------------------------------------------------------
    @property
    def nodes(self) -> Mapping[str, Node]:
        """Name → node, in graph order (read-only: change the graph through its methods)."""
        return MappingProxyType(self._nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(list(self._nodes.values()))

    def __len__(self) -> int:
        return len(self._nodes)

    def __getitem__(self, name: str) -> Node:
        return self._nodes[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, Node):
            return name.graph is self
        return name in self._nodes

    @property
    def input(self) -> Node:
        return next(n for n in self._nodes.values() if n.op == "input")

    def edges(self) -> Iterator[tuple[str, str, TensorType | None]]:
        """(source, target, tensor type) for every edge; types appear after ``infer_shapes``."""
        for node in self._nodes.values():
            for src in node.inputs:
                yield src.name, node.name, src.type

    def walk(self, prefix: str = "") -> Iterator[tuple[str, Node]]:
        """Every node at every depth, with its scope, before lowering included."""
        for node in self._nodes.values():
            scope = prefix if node.inline_scope else f"{prefix}{node.name}"
            yield scope, node
            if node.subgraph is not None:
                yield from node.subgraph.walk(scope + "." if scope else "")

    @property
    def is_lowered(self) -> bool:
        return "lowered" in self.properties

    def process(self, type_name: str) -> ProcessRecord | None:
        """The spec's process of this type (``Quant``, ``Prune``), if it has one."""
        return next((p for p in self.processes if p.type == type_name), None)

    def leaf_block_of(self) -> dict[str, BlockInfo]:
        """For a lowered graph: each node's innermost leaf block."""
        out: dict[str, BlockInfo] = {}
        for info in self.blocks:
            if info.is_leaf:
                for name in info.nodes:
                    out[name] = info
        return out

    def blocks_of(self) -> dict[str, list[BlockInfo]]:
        """For a lowered graph: each node's enclosing blocks, innermost first."""
        out: dict[str, list[BlockInfo]] = {}
        for info in self.blocks:          # parents come before their children
            for name in info.nodes:
                out.setdefault(name, []).insert(0, info)
        return out

    def verify(self) -> None:
        """Check the IR's invariants; :class:`~fgir.ir.verify.IRError` names the first one broken."""
        from fgir.ir.verify import verify_graph
        verify_graph(self)

    def copy(self) -> "Graph":
        """An independent copy: changing it (running passes on it) leaves this graph as it is."""
        from fgir.ir.serialize import graph_from_json, graph_to_json
        return graph_from_json(graph_to_json(self))

    # -- conversions ----------------------------------------------------------------------------
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
        from fgir.ir.networkx_export import to_networkx
        return to_networkx(self)

    def format(self) -> str:
        """The IR as text, one node a line (what ``--dump-after`` prints)."""
        from fgir.ir.printer import format_graph
        return format_graph(self)

    def __str__(self) -> str:
        return self.format()
