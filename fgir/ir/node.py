"""A node of the IR: one op with typed attributes, inputs that are references to nodes, and its users.

As in ``torch.fx``, a node's ``inputs`` are the :class:`Node` objects it reads
and ``users`` the nodes that read it; the :class:`~fgir.ir.graph.Graph` that
owns the node keeps both sides in step (``replace_input``,
``Graph.replace_all_uses``, ``Graph.erase``).  Nothing else assigns them.

Example:
    >>> from fgir.ir.graph import Graph
    >>> g = Graph()
    >>> x = g.add_input()
    >>> y = g.add("act", "relu", [x])
    >>> [n.name for n in y.inputs], [n.name for n in x.users]
    (['input'], ['act'])
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from fgir.diagnostics import Loc, Origin
from fgir.ir.types import TensorType

if TYPE_CHECKING:
    from fgir.ir.graph import Graph

INTERNAL = Origin(Loc("<fgir>"), "")
BLOCK_PREFIX = "block:"
ITEM = "item"   # structural, like a block node: output ``attrs["index"]`` of a multi-output block (lowering removes it)


class Node:
    """One operation; ``attrs`` are plain JSON-like values, ``arg_origins`` say where they came from.

    The links that point back (a node's graph, its users, the nodes before and after it) are weak: a graph and its
    nodes refer to each other only one way, so a dropped graph is freed at once by reference counting,
    not by the cycle collector (a fifth of a ResNet-50's analysis).  So a node does not keep its graph
    alive: once nothing holds the graph, ``node.graph`` is None."""

    __slots__ = ("name", "op", "attrs", "_inputs", "_users", "origin", "arg_origins", "subgraph",
                 "type", "meta", "inline_scope", "_owner", "_prev", "_next", "_key", "__weakref__")

    def __init__(self, name: str, op: str, attrs: dict[str, Any] | None = None,
                 inputs: "list[Node] | tuple[Node, ...]" = (), origin: Origin = INTERNAL,
                 arg_origins: dict[str, Origin] | None = None, subgraph: "Graph | None" = None,
                 inline_scope: bool = False) -> None:
        self.name = name
        self.op = op
        self.attrs = attrs if attrs is not None else {}
        self._inputs: tuple[Node, ...] = tuple(inputs)
        self._users: dict[weakref.ref[Node], None] = {}    # ordered: the order they started to read
        self.origin = origin
        self.arg_origins = arg_origins if arg_origins is not None else {}
        self.subgraph = subgraph
        self.type: TensorType | None = None
        self.meta: dict[str, Any] = {}
        self.inline_scope = inline_scope
        self._owner: weakref.ref[Graph] | None = None
        self._prev: weakref.ref[Node] | None = None    # the graph's order: a linked list with increasing keys
        self._next: weakref.ref[Node] | None = None
        self._key = 0.0

    @property
    def inputs(self) -> tuple["Node", ...]:
        """The nodes this one reads, in argument order."""
        return self._inputs

    @property
    def graph(self) -> "Graph | None":
        """The graph this node belongs to (None when it belongs to none, or nothing holds its graph any more)."""
        owner = self._owner
        return None if owner is None else owner()

    @property
    def users(self) -> list["Node"]:
        """The nodes that read this one, in the order they started to."""
        return [user for ref in self._users if (user := ref()) is not None]

    def is_read_by(self, node: "Node") -> bool:
        """Whether ``node`` is among this node's users (what ``Graph.verify`` checks both ways)."""
        return weakref.ref(node) in self._users

    @property
    def input_types(self) -> list[TensorType | None]:
        return [n.type for n in self._inputs]

    def replace_input(self, old: "Node", new: "Node") -> None:
        """Read ``new`` wherever this node read ``old``."""
        if old not in self._inputs:
            raise ValueError(f"'{self.name}' does not read '{old.name}'")
        self._inputs = tuple(new if n is old else n for n in self._inputs)
        me = weakref.ref(self)
        if old not in self._inputs:
            old._users.pop(me, None)
        new._users[me] = None

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
