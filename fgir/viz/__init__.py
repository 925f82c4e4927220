"""``fgir viz``: the IR as a picture, at any pass, with errors drawn where they are.

One cluster per block (nested as the blocks nest), collapsed into a single
node below ``depth``; edges carry tensor shapes; nodes show the op and its
widths (``conv 3x3 16→32 /2``), and quantisation bits or pruned widths when a
pass recorded them.  Reads the IR only: give it any :class:`~fgir.ir.graph.Graph`,
lowered or not.

Example:
    >>> import fgir, fgir.viz
    >>> graph = fgir.compile("examples/resnet20_cifar.yaml")
    >>> fgir.viz.to_dot(graph, depth=1).count("subgraph")
    0
    >>> fgir.viz.write(graph, "resnet20.svg", depth=2)
    PosixPath('resnet20.svg')
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from fgir.diagnostics import Diagnostic
from fgir.ir.graph import Graph
from fgir.viz.dot import Picture, draw
from fgir.viz.output import FORMATS, check_renderer, picture_bytes, write_picture
from fgir.viz.stage import Stage, pass_names, run_until


def to_dot(graph: Graph, depth: int | None = None, *, diagnostics: Iterable[Diagnostic] = (),
           caption: str | None = None) -> str:
    """DOT text for ``graph``: blocks nested ``depth`` deep are drawn as one node each.

    ``depth=None`` expands every block; ``diagnostics`` (errors from the passes)
    are drawn in red on the nodes or blocks they are about.
    """
    return draw(graph, depth, diagnostics=diagnostics, caption=caption).dot


def write(graph: Graph, path: str | Path, depth: int | None = None, *,
          diagnostics: Iterable[Diagnostic] = (), caption: str | None = None) -> Path:
    """Write ``graph`` as .dot, .svg, .png or .html (by ``path``'s suffix), atomically."""
    path = Path(path)
    check_renderer(path.suffix)
    picture = draw(graph, depth, diagnostics=diagnostics, caption=caption)
    title = graph.meta.get("spec", {}).get("file") or "fgir graph"
    return write_picture(picture, path, title=f"{title} · fgir viz")


__all__ = ["FORMATS", "Picture", "Stage", "check_renderer", "draw", "pass_names",
           "picture_bytes", "run_until", "to_dot", "write"]
