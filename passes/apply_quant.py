"""apply_quant: annotate the layers a Quant process quantizes with their bit widths.

Requires ``channels_checked``.
Guarantees ``quant_annotated``: with a Quant process, every layer its bit lists
map onto (the network family's rule, :mod:`fgir.quant.scheme`) carries
``meta["w_bits"]`` and ``meta["a_bits"]`` (32 = float), and ``graph.meta["quant"]``
lists them.  A list whose length is not the number of those layers is
reported, stating both numbers and listing the layers.
"""

from __future__ import annotations

from fgir.ir.graph import Graph
from fgir.quant.scheme import FLOAT_BITS, assign_bits, mismatches
from .base import Pass, PassContext

__all__ = ["ApplyQuant", "FLOAT_BITS"]


class ApplyQuant(Pass):
    name = "apply_quant"
    requires = frozenset({"channels_checked"})
    provides = frozenset({"quant_annotated"})

    def run(self, graph: Graph, ctx: PassContext) -> None:
        process = graph.process("Quant")
        if process is None:
            return
        problems = mismatches(graph, process)
        for problem in problems:
            ctx.error(process.origin_of(problem.arg), problem.message, hint=problem.hint)
        if problems:
            return
        assigned = assign_bits(graph, process)
        for bits in assigned:
            bits.layer.meta["w_bits"] = bits.w_bits
            bits.layer.meta["a_bits"] = bits.a_bits
        graph.meta["quant"] = {"layers": [bits.layer.name for bits in assigned]}
