"""What a block's ``forward`` computes with: symbolic values, the joins, and the elaboration frame.

A :class:`Value` is the node that produces a tensor; ``x + y``, ``x * s`` and :func:`concat`
add join nodes to the graph being built.  The *frame* says where: the graph under construction,
where diagnostics go, and the spec origin new nodes are attributed to (``fgir.blocks.module``
sets it while a block is built).  Nothing here imports torch.

Example:
    >>> import fgir
    >>> spec = "search_space:\\n  modules: [a, s]\\n  a: {type: ReLU}\\n  s: {type: Add, inputs: [a, input]}\\n"
    >>> [n.op for n in fgir.compile(spec, input="4x2x2")]
    ['input', 'relu', 'add']
"""

from __future__ import annotations

import contextvars

from fgir.diagnostics import Diagnostics, Origin
from fgir.ir.graph import Graph, Node


class ElaborationAborted(Exception):
    """A block's arguments were wrong; the diagnostics are already reported."""


class _Frame:
    __slots__ = ("diags", "origin", "graph")

    def __init__(self, diags: Diagnostics, origin: Origin, graph: Graph | None = None) -> None:
        self.diags = diags
        self.origin = origin
        self.graph = graph


_FRAME: contextvars.ContextVar[_Frame | None] = contextvars.ContextVar("fgir_frame", default=None)


def _frame() -> _Frame:
    frame = _FRAME.get()
    if frame is None:
        raise RuntimeError("blocks are built by fgir (fgir.load / fgir.compile), not called directly")
    return frame


class Value:
    """A symbolic tensor inside ``forward``: the node that produces it."""

    __slots__ = ("node",)

    def __init__(self, node: Node) -> None:
        self.node = node

    def __add__(self, other: "Value") -> "Value":
        return add(self, other)

    def __mul__(self, scale: "Value") -> "Value":
        return mul(self, scale)


def _join(op: str, values: list[Value], name: str) -> Value:
    graph = _frame().graph
    return Value(graph.add(graph.unique_name(name), op, [v.node for v in values], {}, _frame().origin))


def add(a: Value, b: Value, name: str = "add") -> Value:
    """A residual add of two values of the same shape."""
    return _join("add", [a, b], name)


def mul(x: Value, scale: Value, name: str = "mul") -> Value:
    """``x`` scaled channel by channel by ``scale`` (Cx1x1, squeeze-excitation's; or x's own shape)."""
    return _join("mul", [x, scale], name)


def concat(*values: Value, name: str = "cat") -> Value:
    """The values side by side along channels (DenseNet's torch.cat(..., 1))."""
    return _join("concat", list(values), name)
