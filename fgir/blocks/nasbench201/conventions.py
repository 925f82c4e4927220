"""NAS-Bench-201's conventions: its 5 edge ops, the arch string, and the family (torch's default init).

A cell has 4 nodes; node ``j`` (1..3) sums one edge from each earlier node, so a cell is 6 edge ops,
written in xautodl's arch string as ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (node by node, each
edge ``op~input``).  :func:`parse_arch` reads one into the 6 ops in that order, or says what is
wrong and at which character.  xautodl's ``TinyNetwork`` leaves every layer at torch's default
initialisation, so the family has no ``init`` entries.

Example:
    >>> parse_arch("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|")
    ['nor_conv_3x3', 'none', 'skip_connect', 'avg_pool_3x3', 'nor_conv_1x1', 'none']
    >>> parse_arch("|nor_conv_3x3~0|+|none~0|")
    Traceback (most recent call last):
    ...
    fgir.blocks.nasbench201.conventions.ArchError: the arch has 2 nodes, NAS-Bench-201's cell has 3 (6 edges: node 1 reads node 0, node 2 nodes 0 and 1, node 3 nodes 0 to 2)
"""

from __future__ import annotations

from typing import Any

from fgir.blocks.argtypes import INVALID, ArgType, ListType, OptionalType
from fgir.blocks.family import Family, register_family
from fgir.blocks.located import origin_of
from fgir.blocks.module import Block
from fgir.diagnostics import Diagnostics, Loc, Origin, did_you_mean

NASBENCH201 = register_family(Family("nasbench201"))

# the space's ops, in NAS-Bench-201's order
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NODES = 3                                        # intermediate nodes; node j reads nodes 0..j-1
EDGES = NODES * (NODES + 1) // 2                 # 6
SHAPE = ("6 edges: node 1 reads node 0, node 2 nodes 0 and 1, node 3 nodes 0 to 2")


class NASBench201FamilyBlock(Block):
    family = NASBENCH201


class ArchError(ValueError):
    """A bad arch string: what is wrong, the offset of the character it starts at, and a hint."""

    def __init__(self, message: str, offset: int = 0, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.offset, self.hint = message, offset, hint


def unknown_op(op: str, ops: tuple[str, ...] = OPS, space: str = "NAS-Bench-201") -> tuple[str, str]:
    """The message and hint for an op the space does not have."""
    return (f"unknown op {op!r}: {space}'s edges are {', '.join(ops)}",
            did_you_mean(op, ops) or f"the ops are {', '.join(ops)}")


def parse_arch(arch: str) -> list[str]:
    """The 6 edge ops of an arch string, in xautodl's order; :class:`ArchError` when it is not one."""
    parts, start = [], 0
    for part in arch.split("+"):
        parts.append((part, start))
        start += len(part) + 1
    if len(parts) != NODES:
        raise ArchError(f"the arch has {len(parts)} node{'s' * (len(parts) != 1)}, NAS-Bench-201's cell has "
                        f"{NODES} ({SHAPE})", 0, "nodes are separated by '+'")
    ops: list[str] = []
    for node, (part, at) in enumerate(parts, 1):
        if len(part) < 2 or part[0] != "|" or part[-1] != "|":
            raise ArchError(f"malformed arch: node {node} is {part!r}, not |op~input|...|", at,
                            "write e.g. |nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|")
        edges, offset = [], at + 1
        for edge in part[1:-1].split("|"):
            edges.append((edge, offset))
            offset += len(edge) + 1
        if len(edges) != node:
            raise ArchError(f"node {node} has {len(edges)} edge{'s' * (len(edges) != 1)}, NAS-Bench-201's node "
                            f"{node} has {node} ({SHAPE})", at)
        for i, (edge, offset) in enumerate(edges):
            op, tilde, source = edge.rpartition("~")
            if not tilde or not source.isdigit() or not op:
                raise ArchError(f"malformed arch: edge {edge!r} of node {node} is not op~input", offset,
                                f"e.g. nor_conv_3x3~{i}")
            if int(source) != i:
                raise ArchError(f"node {node}'s edge {i + 1} reads node {source}; NAS-Bench-201 writes node "
                                f"{node}'s edges from nodes 0 to {node - 1}, in order",
                                offset + len(op) + 1, f"write {op}~{i}")
            if op not in OPS:
                raise ArchError(*unknown_op(op)[:1], offset, unknown_op(op)[1])
            ops.append(op)
    return ops


def arch_string(edges: list[str]) -> str:
    """The arch string of 6 edge ops in xautodl's order.

    >>> arch_string(["nor_conv_3x3"] * 6)
    '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|'
    """
    nodes, k = [], 0
    for node in range(1, NODES + 1):
        nodes.append("|" + "|".join(f"{edges[k + i]}~{i}" for i in range(node)) + "|")
        k += node
    return "+".join(nodes)


def located_at(arch: Any, offset: int, fallback: Origin) -> Origin:
    """Where character ``offset`` of the arch string is in the spec file (its start when unknown)."""
    origin = origin_of(arch, fallback)
    loc = origin.loc
    try:
        line = open(loc.file, encoding="utf-8").read().splitlines()[loc.line - 1] if loc.line > 0 else ""
    except (OSError, IndexError):
        return origin
    col = loc.col - 1
    if line[col:col + 1] in ("'", '"'):
        col += 1
    if line[col:col + len(arch)] != arch:    # escapes, folded or block scalars: the value's start
        return origin
    return Origin(Loc(loc.file, loc.line, col + 1 + offset), origin.path)


class OpName(ArgType):
    """One of a space's edge ops (``edges[3]: choice(none, ...)`` searches one); an unknown name is
    reported with a "did you mean"."""

    def __init__(self, ops: tuple[str, ...] = OPS, space: str = "NAS-Bench-201") -> None:
        self.ops, self.space = ops, space
        self.description = "one of " + ", ".join(ops)

    def validate(self, value: Any, origin: Origin, diags: Diagnostics) -> Any:
        if isinstance(value, str) and value in self.ops:
            return value
        if not isinstance(value, str):
            return self.wrong(value, origin, diags)
        message, hint = unknown_op(value, self.ops, self.space)
        diags.error(origin_of(value, origin), message, hint=hint)
        return INVALID


EDGE_LIST = OptionalType(ListType(OpName()))
