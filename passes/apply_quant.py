"""apply_quant: map a Quant process's bit lists onto the network's convolutions.

Requires ``channels_checked``.
Guarantees ``quant_annotated``: with a Quant process, every quantizable
convolution carries ``meta["w_bits"]`` and ``meta["a_bits"]`` (32 = float).
Quantizable: every conv2d but the first (the stem), in graph order, which is
depth-first with conv1, conv2 (conv3) before a block's shortcut conv
(SEMANTICS.md).  A scalar applies to every layer.  Reports a list whose
length is not the number of quantizable convolutions, stating both numbers
and listing the layers.  Linear layers are not quantized.
"""

from __future__ import annotations

from typing import Any

from fgir.diagnostics import Origin
from fgir.ir.graph import Graph, Node
from .base import Pass, PassContext

FLOAT_BITS = 32
BIT_LISTS = {"nbit_w_list": "w_bits", "nbit_a_list": "a_bits"}


def quantizable_convs(graph: Graph) -> list[Node]:
    """The convolutions a Quant process's lists map onto, in order (all but the stem)."""
    return [node for node in graph if node.op == "conv2d"][1:]


def quant_process(graph: Graph) -> dict[str, Any] | None:
    return next((p for p in graph.processes if p["type"] == "Quant"), None)


class ApplyQuant(Pass):
    name = "apply_quant"
    requires = frozenset({"channels_checked"})
    provides = frozenset({"quant_annotated"})

    def run(self, graph: Graph, ctx: PassContext) -> None:
        process = quant_process(graph)
        if process is None:
            return
        convs = quantizable_convs(graph)
        per_layer: dict[str, list[int]] = {}
        for arg, key in BIT_LISTS.items():
            value = process["args"][arg]
            origin: Origin = process["arg_origins"].get(arg, process["origin"])
            if not isinstance(value, list):
                per_layer[key] = [value] * len(convs)
            elif len(value) != len(convs):
                names = ", ".join(n.name for n in convs)
                ctx.error(origin, f"{len(value)} bit widths for {len(convs)} quantizable "
                                  f"convolutions", hint=f"the quantizable convolutions, in order "
                                                        f"(the stem is not quantized): {names}")
            else:
                per_layer[key] = value
        if len(per_layer) != len(BIT_LISTS):
            return
        for i, node in enumerate(convs):
            node.meta["w_bits"] = per_layer["w_bits"][i]
            node.meta["a_bits"] = per_layer["a_bits"][i]
        graph.meta["quant"] = {"layers": [n.name for n in convs]}
