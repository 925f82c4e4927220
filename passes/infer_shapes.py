"""infer_shapes: give every node its output TensorType, for an input of ``ctx.options["input"]``.

Requires ``lowered`` (and runs after ``apply_prune``, so pruned widths are what it checks).
Guarantees ``shapes``: every node has ``type``; widths left out of the spec (a
Linear's ``in_features``, a Conv2d's ``in_channels``, a BatchNorm2d's
``num_features``) are filled from the incoming tensor.  A spatial size that
shrinks below 1 is marked ``meta["collapsed"]`` for ``check_channels``;
nothing is checked here.
"""

from __future__ import annotations

from fgir.ir.graph import Graph
from fgir.ir.ops import OPS
from fgir.ir.types import TensorType
from .base import Pass, PassContext


def input_type(graph: Graph, ctx: PassContext) -> TensorType:
    """The input shape: the ``input`` option, else what the network's stem expects."""
    given = ctx.options.get("input")
    if given is not None:
        return given if isinstance(given, TensorType) else TensorType.parse(str(given))
    return TensorType(*graph.meta.get("input", [3, 224, 224]))


class InferShapes(Pass):
    name = "infer_shapes"
    requires = frozenset({"lowered"})
    provides = frozenset({"shapes"})

    def run(self, graph: Graph, ctx: PassContext) -> None:
        source = input_type(graph, ctx)
        graph.meta["input"] = list(source.dims)
        for node in graph:
            if node.op == "input":
                node.type = source
                continue
            op = OPS[node.op]
            ins = node.input_types
            width = op.inferred_width
            if width and node.attrs.get(width) is None:
                node.attrs[width] = ins[0].channels
                node.meta["inferred"] = width
            if op.spatial and not ins[0].is_image:
                node.type = ins[0]  # check_channels reports it; keep going to find more
                continue
            out = op.infer(node.attrs, ins)
            if out.is_image and (out.height < 1 or out.width < 1):
                node.meta["collapsed"] = [out.height, out.width]
                out = TensorType(out.channels, max(out.height, 0), max(out.width, 0))
            node.type = out
