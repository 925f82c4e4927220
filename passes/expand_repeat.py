"""expand_repeat: fill every Repeat node's sub-graph with its ``num_reps`` blocks.

Requires: nothing (a graph from the front end).
Guarantees ``repeats_expanded``: no Repeat node is left without its sub-graph.
Reports: more repetitions than ``fgir.limits`` allows (before building any), an
item list whose length is not ``num_reps`` (at that list), an item
that the repeated block does not take (with "did you mean"), an item given
both in ``ref`` and ``items``, and any bad value for a rep's block.
"""

from __future__ import annotations

from typing import Any

from fgir.blocks import BLOCKS
from fgir.blocks.located import origin_of, relocate
from fgir.blocks.memo import REPEAT
from fgir.blocks.module import REP_NAMINGS, elaboration, instantiate
from fgir.diagnostics import did_you_mean
from fgir.ir.graph import Graph, Node
from fgir.limits import MAX_REPS, MAX_TOTAL_REPS
from .base import Pass, PassContext


class ExpandRepeat(Pass):
    name = "expand_repeat"
    provides = frozenset({"repeats_expanded"})

    def run(self, graph: Graph, ctx: PassContext) -> None:
        pending = waiting_repeats(graph)
        total = 0
        while pending:
            node = pending.pop()
            total += node.attrs["num_reps"]
            if not self.within_limits(node, total, ctx):
                return
            self.expand(node, ctx)
            if node.subgraph is not None:
                pending.extend(waiting_repeats(node.subgraph))

    def within_limits(self, node: Node, total: int, ctx: PassContext) -> bool:
        num_reps = node.attrs["num_reps"]
        if num_reps > MAX_REPS:
            ctx.error(node.origin_of("num_reps"), f"{num_reps} repetitions; at most {MAX_REPS} are allowed")
            return False
        if total > MAX_TOTAL_REPS:
            ctx.error(node.origin, f"the network repeats blocks more than {MAX_TOTAL_REPS} times")
            return False
        return True

    def expand(self, node: Node, ctx: PassContext) -> None:
        num_reps = node.attrs["num_reps"]
        items = relocate(node.attrs["items"], "items", node.arg_origins)
        ref = relocate(node.attrs["ref"], "ref", node.arg_origins)
        cls = BLOCKS[ref["type"]]
        ref_args = {k: v for k, v in ref.items() if k != "type"}
        signature = cls.signature()
        ok = True
        for key, value in items.items():
            key_origin = items.key_origins.get(key, node.origin_of(f"items.{key}"))
            if key not in signature:
                ctx.error(key_origin, f"{cls.type_name()} takes no argument '{key}'",
                          hint=did_you_mean(key, signature))
                ok = False
            elif key in ref_args:
                ctx.error(key_origin, f"'{key}' is given both in the block and in items")
                ok = False
            if isinstance(value, list) and len(value) != num_reps:
                where = origin_of(value, node.origin_of(f"items.{key}"))
                ctx.error(where, f"{len(value)} values for num_reps {num_reps}")
                ok = False
        if not ok:
            return
        reps = [{**ref_args, **{k: (v[i] if isinstance(v, list) else v) for k, v in items.items()}}
                for i in range(num_reps)]
        naming = node.attrs["naming"]
        names = REP_NAMINGS[naming](reps) if naming else [str(i) for i in range(num_reps)]
        sub = Graph()
        current = sub.add_input()
        with elaboration(ctx.diagnostics, node.origin, sub):
            for name, args in zip(names, reps):
                built = instantiate(cls, name, args, node.origin, sub, [current])
                if built is None:
                    return
                current = built
        sub.set_output(current)
        node.subgraph = sub


def waiting_repeats(graph: Graph) -> list[Node]:
    """The Repeat nodes at any depth of ``graph`` that have no sub-graph yet, in the order ``graph.walk()``
    meets them (read without building each node's scope name, as ``walk`` does).

    >>> import fgir
    >>> [n.name for n in waiting_repeats(fgir.load("examples/resnet18.yaml"))]
    ['layers']
    """
    found: list[Node] = []
    stack = [iter(graph)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
        elif node.subgraph is not None:
            stack.append(iter(node.subgraph))
        elif node.op == REPEAT:
            found.append(node)
    return found
