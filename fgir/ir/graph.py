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

import weakref
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
        self._ref = weakref.ref(self)    # what its nodes hold (see Node): one object, compared by identity
        self._nodes: dict[str, Node] = {}
        self._first: Node | None = None
        self._last: Node | None = None
        self._outputs: list[Node] = []
        self._stale_order = False   # an insert put a node elsewhere than at the end of the name table
        self.output_names: list[str] = []    # what the spec calls each output (``outputs: [head, aux]``)
        self.properties: set[str] = set()
        self.blocks: list[BlockInfo] = []
        self.processes: list[ProcessRecord] = []
        self.meta: dict[str, Any] = {}

    # -- building ---------------------------------------------------------------------
    def add_node(self, node: Node, *, before: Node | None = None) -> Node:
        """Append ``node`` (or place it just before ``before``); its inputs must already be in the graph.

        O(1): nodes form a linked list with order keys, so an insert rebuilds nothing."""
        if node.graph is not None:
            raise ValueError(f"node '{node.name}' already belongs to a graph")
        if node.name in self._nodes:
            raise ValueError(f"duplicate node name '{node.name}'")
        mine = self._ref
        if before is not None and before._owner is not mine:
            raise ValueError(f"'{before.name}' is not a node of this graph")
        for src in node.inputs:
            if src._owner is not mine or (before is not None and src._key >= before._key):
                raise ValueError(f"node '{node.name}' reads '{src.name}', which is not defined before it")
        schema = OPS.get(node.op)
        if schema is not None:   # the node's own dict, as complete() makes one: callers may share theirs
            node.attrs = dict(node.attrs) if schema.is_complete(node.attrs) else schema.complete(node.attrs)
        node._owner = mine
        reader = weakref.ref(node)
        for src in node.inputs:
            src._users[reader] = None
        self._nodes[node.name] = node
        last = self._last
        if before is None and last is not None:   # the common case, appending: inline for speed
            node._prev, node._key, last._next, self._last = weakref.ref(last), last._key + 1.0, reader, node
        else:
            self._link(node, before)
        return node

    def _link(self, node: Node, before: Node | None) -> None:
        prev = self._last if before is None else _before(before)
        node._prev = None if prev is None else weakref.ref(prev)
        node._next = None if before is None else weakref.ref(before)
        if prev is None:
            self._first = node
        else:
            prev._next = weakref.ref(node)
        if before is None:
            self._last = node
        else:
            before._prev = weakref.ref(node)
            self._stale_order = True
        low = prev._key if prev is not None else 0.0
        if before is None:
            node._key = low + 1.0
        else:
            node._key = (low + before._key) / 2
            if not low < node._key < before._key:   # the keys ran out of room between two nodes: renumber
                self._renumber()

    def _unlink(self, node: Node) -> None:
        prev, after = _before(node), _after(node)
        if prev is None:
            self._first = after
        else:
            prev._next = node._next
        if after is None:
            self._last = prev
        else:
            after._prev = node._prev
        node._prev = node._next = None

    def _renumber(self) -> None:
        node, i = self._first, 1.0
        while node is not None:
            node._key, node, i = i, _after(node), i + 1.0

    def _ordered(self) -> Iterator[Node]:
        """The nodes in order.  The name table is kept in the same order, restored from the linked list
        after inserts (once, however many there were), so that reading stays at dict speed."""
        if self._stale_order:
            ordered: dict[str, Node] = {}
            node = self._first
            while node is not None:
                ordered[node.name] = node
                node = _after(node)
            self._nodes, self._stale_order = ordered, False
        return iter(self._nodes.values())

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
        if anchor._owner is not self._ref:
            raise ValueError(f"'{anchor.name}' is not a node of this graph")
        after = _after(anchor)
        if after is not None:
            self.add_node(node, before=after)
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

    # -- outputs ------------------------------------------------------------------------
    @property
    def output(self) -> Node | None:
        """The first (for most networks, the only) output."""
        return self._outputs[0] if self._outputs else None

    @property
    def outputs(self) -> list[Node]:
        """Every result of the network, in the spec's order (``outputs: [logits, aux]``)."""
        return list(self._outputs)

    def set_output(self, node: Node) -> None:
        self.set_outputs([node])

    def set_outputs(self, nodes: list[Node], names: list[str] | None = None) -> None:
        """The network's results, named (default: by their nodes' names)."""
        for node in nodes:
            if node._owner is not self._ref:
                raise ValueError(f"output '{node.name}' is not a node of this graph")
        if names is not None and len(names) != len(nodes):
            raise ValueError(f"{len(nodes)} outputs but {len(names)} names")
        self._outputs = list(nodes)
        self.output_names = list(names) if names is not None else [n.name for n in nodes]

    def is_output(self, node: Node) -> bool:
        return any(out is node for out in self._outputs)

    # -- changing ------------------------------------------------------------------------
    def replace_all_uses(self, old: Node, new: Node) -> None:
        """Every reader of ``old`` reads ``new`` instead (the graph's outputs too, and a block whose
        result ``old`` was)."""
        for user in old.users:
            if user is not new:
                user.replace_input(old, new)
        self._outputs = [new if out is old else out for out in self._outputs]
        for info in self.blocks:
            if info.output == old.name:
                info.output = new.name

    def erase(self, node: Node) -> None:
        """Remove a node nothing reads; the block table forgets it."""
        if node.users or self.is_output(node):
            readers = [u.name for u in node.users] + (["the graph output"] if self.is_output(node) else [])
            raise ValueError(f"cannot erase '{node.name}': read by {', '.join(readers)}")
        del self._nodes[node.name]
        self._unlink(node)
        reader = weakref.ref(node)
        for src in set(node.inputs):
            src._users.pop(reader, None)
        node._owner = None
        for info in self.blocks:
            if node.name in info.nodes:
                info.nodes.remove(node.name)
            if info.input == node.name and node.inputs:
                info.input = node.inputs[0].name

    def adopt(self, other: "Graph") -> None:
        """Take ``other``'s nodes and outputs in place of this graph's own (a pass that rebuilds the graph)."""
        self._nodes, self._first, self._last = other._nodes, other._first, other._last
        self._stale_order = other._stale_order
        self._outputs, self.output_names = other._outputs, other.output_names
        for node in self._nodes.values():
            node._owner = self._ref
        other._nodes, other._first, other._last, other._outputs, other.output_names = {}, None, None, [], []

    def unique_name(self, base: str) -> str:
        if base not in self._nodes:
            return base
        i = 1
        while f"{base}_{i}" in self._nodes:
            i += 1
        return f"{base}_{i}"

    # -- reading ----------------------------------------------------------------------------
    @property
    def nodes(self) -> Mapping[str, Node]:
        """Name → node, in graph order (read-only: change the graph through its methods)."""
        return _NodeView(self)

    def __iter__(self) -> Iterator[Node]:
        return iter(list(self._ordered()))

    def __len__(self) -> int:
        return len(self._nodes)

    def __getitem__(self, name: str) -> Node:
        return self._nodes[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, Node):
            return name._owner is self._ref
        return name in self._nodes

    @property
    def input(self) -> Node:
        return next(n for n in self._ordered() if n.op == "input")

    def edges(self) -> Iterator[tuple[str, str, TensorType | None]]:
        """(source, target, tensor type) for every edge; types appear after ``infer_shapes``."""
        for node in self._ordered():
            for src in node.inputs:
                yield src.name, node.name, src.type

    def walk(self, prefix: str = "") -> Iterator[tuple[str, Node]]:
        """Every node at every depth, with its scope, before lowering included."""
        for node in self._ordered():
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

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Pickled (and deep-copied) as its JSON form: a graph's nodes link to each other weakly.

        >>> import pickle
        >>> g = Graph(); g.set_output(g.add("act", "relu", [g.add_input()]))
        >>> pickle.loads(pickle.dumps(g)) == g
        True
        """
        from fgir.ir.serialize import graph_from_json, graph_to_json
        return graph_from_json, (graph_to_json(self),)

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


def _before(node: Node) -> Node | None:
    """The node just before ``node`` in its graph's order."""
    prev = node._prev
    return None if prev is None else prev()


def _after(node: Node) -> Node | None:
    """The node just after ``node`` in its graph's order."""
    after = node._next
    return None if after is None else after()


class _NodeView(Mapping):
    """A graph's nodes by name, iterated in graph order; read-only."""

    __slots__ = ("_graph",)

    def __init__(self, graph: Graph) -> None:
        self._graph = graph

    def __getitem__(self, name: str) -> Node:
        return self._graph._nodes[name]

    def __iter__(self) -> Iterator[str]:
        self._graph._ordered()   # restores the table's order after inserts
        return iter(self._graph._nodes)

    def __len__(self) -> int:
        return len(self._graph._nodes)

    def __contains__(self, name: object) -> bool:
        return name in self._graph._nodes
