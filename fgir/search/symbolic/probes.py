"""A compiled candidate, taken apart: each lowered node's share of the static metrics.

Every static metric is a sum over nodes once it is written as integers
(:mod:`fgir.search.evaluators.static`): params, MACs, params × weight bits (÷ 8
at the end gives ``weight_bytes``), MACs × weight bits × activation bits
(``bitops``), and for ``mean_bits`` the count and the sum of the listed bits.
:func:`node_shares` gives each node's vector of those six integers (plus a
``<graph>`` entry for whatever the graph's totals hold beyond its nodes);
:func:`metrics` turns a summed vector back into the figures ``static_metrics``
reports, exactly.

Example:
    >>> import fgir
    >>> from fgir.search.evaluators.static import static_metrics
    >>> graph = fgir.compile("examples/quant_resnet20.yaml")
    >>> shares, quantized = node_shares(graph)
    >>> total = [sum(v[i] for v in shares.values()) for i in range(WIDTH)]
    >>> metrics(total, quantized) == static_metrics(graph)
    True
"""

from __future__ import annotations

from typing import Any, Sequence

from fgir.quant.scheme import FLOAT_BITS
from fgir.search.evaluators.static import NodeBits

Vector = tuple[int, ...]
WIDTH = 6          # params, macs, params·w, macs·w·a, listed bits counted, listed bits summed
GRAPH = "<graph>"


def node_shares(graph: Any) -> tuple[dict[str, Vector], bool]:
    """Each node's share of the metrics (see the module docstring), and whether the graph is quantized."""
    bits = NodeBits(graph)
    w_bits, a_bits = bits.listed_w, bits.listed_a
    out: dict[str, Vector] = {}
    params = macs = 0
    for node in graph:
        w, a = bits.weight(node), bits.activation(node)
        p, m = node.meta.get("params", 0), node.meta.get("macs", 0)
        params, macs = params + p, macs + m
        listed = (node.name in w_bits) + (node.name in a_bits)
        vector = (p, m, p * w, m * w * a, listed, w_bits.get(node.name, 0) + a_bits.get(node.name, 0))
        if any(vector):
            out[node.name] = vector
    rest = (graph.meta["params"] - params, graph.meta["macs"] - macs, 0, 0, 0, 0)
    if any(rest):
        out[GRAPH] = rest
    return out, bits.quantized


def metrics(total: Sequence[int], quantized: bool) -> dict[str, Any]:
    """The static metrics of a summed vector, as ``static_metrics`` computes them."""
    out: dict[str, Any] = {"params": int(total[0]), "macs": int(total[1]), "weight_bytes": int(total[2]) // 8}
    if quantized:
        out["bitops"] = int(total[3])
        out["mean_bits"] = round(int(total[5]) / int(total[4]), 6) if total[4] else FLOAT_BITS
    return out


def compile_shares(space: Any, sample: dict, input: str | None) -> tuple[dict[str, Vector], bool] | None:
    """Compile one sample (the static path) and take it apart; None when it does not compile."""
    import fgir
    from fgir.diagnostics import FgirError
    from fgir.search.evaluators.static import QuantMismatch

    try:
        return node_shares(fgir.compile(space.freeze(sample), input=input))
    except (FgirError, QuantMismatch):
        return None


__all__ = ["GRAPH", "Vector", "WIDTH", "compile_shares", "metrics", "node_shares"]
