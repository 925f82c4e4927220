"""Choices that cannot share weights: parallel alternatives, each value with its own weights.

A dimension whose values are names (an op or a block type) and whose alternatives differ in more
than a weightless op becomes a ``choice`` point.  Its *branch nodes* are the nodes that are not the
same (op and attributes) in every alternative's graph, the other dimensions at their largest: the
tensors of a branch node belong to the value that is active (``none`` compiles to the ``zero`` op,
which has none).  Everything else is shared as usual, and widths still cut a branch's tensors.
Two choices may not reach the same node: its weights would need one copy per pair of values.
"""

from __future__ import annotations

from typing import Any

from fgir.diagnostics import Diagnostic
from fgir.ir.graph import Graph


def branch_nodes(largest: Graph, others: list[Graph]) -> list[str]:
    """The node names not identical (op and attributes) in ``largest`` and every graph of ``others``.

    Example:
        >>> import fgir
        >>> net = ("search_space:\\n  modules: [a, b]\\n"
        ...        "  a: {type: Conv2d, in_channels: 3, out_channels: 4, kernel_size: 3}\\n")
        >>> one = fgir.compile(net + "  b: {type: ReLU}\\n", input="3x8x8")
        >>> two = fgir.compile(net + "  b: {type: Conv2d, in_channels: 4, out_channels: 4, kernel_size: 1}\\n",
        ...                    input="3x8x8")
        >>> branch_nodes(one, [two])
        ['b']
    """
    tables = [{n.name: n for n in g} for g in (largest, *others)]
    names: list[str] = []
    for table in tables:
        names += [name for name in table if name not in names]

    def same(name: str) -> bool:
        first = tables[0].get(name)
        return first is not None and all(name in t and t[name].op == first.op and t[name].attrs == first.attrs
                                         for t in tables[1:])

    return [name for name in names if name != "input" and not same(name)]


def overlapping_choices(space: Any, points: dict[str, Any]) -> list[Diagnostic]:
    """A located error for each choice whose branch nodes another choice already reaches.

    >>> overlapping_choices(None, {})
    []
    """
    owner: dict[str, str] = {}
    problems = []
    for key, point in points.items():
        if point.kind != "choice":
            continue
        shared = [n for n in point.nodes if n in owner]
        if shared:
            loc = next(d.loc for d in space.dimensions if d.key == key)
            problems.append(Diagnostic(loc, f"hyper_parameters.{key}",
                                       f"dimension '{key}' cannot have its own weights: node '{shared[0]}' "
                                       f"is also an alternative of '{owner[shared[0]]}'",
                                       hint="one choice a block: make the other choice's block a separate module"))
        owner.update({n: key for n in point.nodes})
    return problems


def tensor_node(name: str) -> str:
    """The node a module tensor belongs to (tensors are named ``<node scope>.<tensor>``).

    >>> tensor_node("cells.0.layers.2.op.1.weight")
    'cells.0.layers.2.op.1'
    """
    return name.rsplit(".", 1)[0]


__all__ = ["branch_nodes", "overlapping_choices", "tensor_node"]
