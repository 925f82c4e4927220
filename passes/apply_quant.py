"""apply_quant: give the layers a Quant process quantizes their bit widths, and place the quantization points.

Requires ``channels_checked``.
Guarantees ``quant_annotated``: with a Quant process, every layer its bit lists
map onto (the network family's rule, :mod:`fgir.quant.scheme`) carries
``meta["w_bits"]`` and ``meta["a_bits"]`` (32 = float), the convolutions the
lists leave out (the stem) carry the process's ``stem_bits`` unless it is 32, and
``quantize`` nodes hold every tensor the integer form quantizes
(:mod:`fgir.quant.points`).  ``graph.meta["quant"]`` lists the layers the lists
map onto (``layers``), the stem's (``stem``) and the points (``points``).  A list
whose length is not the number of those layers is reported, stating both
numbers and listing the layers.
"""

from __future__ import annotations

from fgir.ir.graph import Graph
from fgir.quant.points import insert_points
from fgir.quant.scheme import FLOAT_BITS, assign_bits, mismatches, stem_bits
from .base import Pass, PassContext

__all__ = ["ApplyQuant", "FLOAT_BITS"]


class ApplyQuant(Pass):
    name = "apply_quant"
    requires = frozenset({"channels_checked"})
    provides = frozenset({"quant_annotated"})

    def run(self, graph: Graph, ctx: PassContext) -> bool:
        process = graph.process("Quant")
        if process is None:
            return False
        problems = mismatches(graph, process)
        for problem in problems:
            ctx.error(process.origin_of(problem.arg), problem.message, hint=problem.hint)
        if problems:
            return False
        assigned = assign_bits(graph, process)
        for bits in assigned:
            bits.layer.meta["w_bits"] = bits.w_bits
            bits.layer.meta["a_bits"] = bits.a_bits
        stem = stem_bits(graph, process)
        for name, bits in stem.items():
            graph[name].meta["w_bits"] = graph[name].meta["a_bits"] = bits
        points = insert_points(graph)
        graph.meta["quant"] = {"layers": [bits.layer.name for bits in assigned], "stem": list(stem),
                               "points": [point.name for point in points]}
        return True
