"""check_channels: report every width and shape inconsistency at once.

Requires ``shapes``.
Guarantees ``channels_checked``: each conv/linear/BN reads the width it
declares, residual adds join equal shapes, no spatial size collapses to
zero, and every block that declared a final width (VariantLayer's and
ResNet's ``out_plane``) ends with it.  Each error points at the spec value
the wrong width came from.
"""

from __future__ import annotations

from fgir.ir.graph import Graph
from fgir.ir.ops import OPS
from .base import Pass, PassContext


class CheckChannels(Pass):
    name = "check_channels"
    requires = frozenset({"shapes"})
    provides = frozenset({"channels_checked"})

    def run(self, graph: Graph, ctx: PassContext) -> None:
        misshapen: set[str] = set()   # nodes after a tensor of the wrong kind (flat/spatial): its consequences
        for node in graph:
            if node.op == "input":
                continue
            ins = node.input_types
            if any("collapsed" in src.meta for src in node.inputs):
                continue  # reported where it first collapsed
            if any(src.name in misshapen for src in node.inputs):
                misshapen.add(node.name)   # reported once, at the root cause
                continue
            if "collapsed" in node.meta:
                h, w = node.meta["collapsed"]
                size = "x".join(str(d) for d in ins[0].dims[1:])
                ctx.error(node.origin, f"{node.op} '{node.name}' shrinks its {size} input to "
                                       f"{h}x{w}: the input is too small for this network",
                          hint="give a larger input (--input CxHxW) or fewer downsampling layers",
                          subject=node.name)
                continue
            for arg, message in OPS[node.op].check(node.attrs, ins):
                origin = node.origin_of(arg) if arg else node.origin
                ctx.error(origin, f"{node.op} '{node.name}' {message}", subject=node.name)
                if not arg:   # the input's kind or shape, not a width: what follows cannot be right either
                    misshapen.add(node.name)
        for info in graph.blocks:
            expect = info.expect
            if expect is None or info.output in misshapen:
                continue
            out = graph[info.output].type
            if out is not None and out.channels != expect.channels:
                subject = expect.subject or f"{info.type} '{info.scope}'"
                ctx.error(expect.origin, f"{subject} ends with {out.channels} channels, but {expect.reason}",
                          subject=info.scope or info.output)
