"""NAS-Bench-201's network: xautodl's ``TinyNetwork`` of ``InferCell``s, as blocks.

Module names follow xautodl (``models/cell_infers``), so state_dict keys are the reference's:
``stem.0/1``, ``cells.<i>`` (InferCells, and a ``ResNetBasicblock`` between stages: ``conv_a``,
``conv_b``, ``downsample.1``), ``cells.<i>.layers.<k>`` (edge k, in the arch's order; a conv edge
is ``ReLUConvBN``: ``op.0/1/2``), ``lastact.0``, ``classifier``.  ``none`` is the Zero op,
``skip_connect`` the Identity, ``avg_pool_3x3`` ``AvgPool2d(3, 1, 1, count_include_pad=False)`` (the
reference's POOLING: the padding is not counted in the mean).  The network gives the logits
(xautodl's ``forward`` returns the pooled features too).

Example:
    >>> import fgir
    >>> arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    >>> graph = fgir.compile(f"search_space:\\n  modules: [net]\\n  net: {{type: NASBench201, arch: '{arch}'}}\\n")
    >>> graph.meta["params"], graph.meta["input"]
    (1288506, [3, 32, 32])
"""

from __future__ import annotations

from typing import Literal, Optional

from fgir.blocks.argtypes import REQUIRED, Count, Width
from fgir.blocks.layers import (AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Flatten, Identity, Linear,
                                Pair, ReLU)
from fgir.blocks.layers_vision import Zero
from fgir.blocks.module import Sequential, Value
from fgir.blocks.registry import register_block
from fgir.blocks.nasbench201.conventions import (EDGE_LIST, EDGES, NODES, ArchError, NASBench201FamilyBlock,
                                                 OpName, located_at, parse_arch)


@register_block
class ReLUConvBN(NASBench201FamilyBlock):
    """ReLU → Conv2d (no bias) → BatchNorm2d as children ``op.0/1/2`` (xautodl's and DARTS's)."""

    def constructor(self, C_in: Width = REQUIRED, C_out: Width = REQUIRED, kernel_size: Count = REQUIRED,
                    stride: Literal[1, 2] = 1, padding: Pair = 0, dilation: Count = 1) -> None:
        self.op = Sequential(ReLU(), Conv2d(C_in, C_out, kernel_size, stride, padding, dilation, bias=False),
                             BatchNorm2d(C_out))


def edge(op: str, channels: int):
    """One edge's module: an op of the space at ``channels`` wide, stride 1."""
    if op == "none":
        return Zero()
    if op == "skip_connect":
        return Identity()
    if op == "avg_pool_3x3":
        return AvgPool2d(3, 1, 1, count_include_pad=False)
    kernel = 3 if op == "nor_conv_3x3" else 1
    return ReLUConvBN(channels, channels, kernel, 1, kernel // 2)


class CellEdges(NASBench201FamilyBlock):
    """InferCell's ``layers``: edge k is child ``k``; node j sums its edges from nodes 0..j-1."""

    def constructor(self, edges: list[OpName()] = REQUIRED, channels: Width = REQUIRED) -> None:
        for k, op in enumerate(edges):
            setattr(self, str(k), edge(op, channels))

    def forward(self, x: Value) -> Value:
        nodes, k = [x], 0
        for j in range(1, NODES + 1):
            total = None
            for i in range(j):
                out = getattr(self, str(k))(nodes[i])
                total = out if total is None else total + out
                k += 1
            nodes.append(total)
        return nodes[-1]


@register_block
class InferCell(NASBench201FamilyBlock):
    """A NAS-Bench-201 cell of 6 edge ops (xautodl's order: 0→1, 0→2, 1→2, 0→3, 1→3, 2→3)."""

    def constructor(self, edges: list[OpName()] = REQUIRED, channels: Width = REQUIRED) -> None:
        if len(edges) != EDGES:
            self.fail(f"{len(edges)} edges; a NAS-Bench-201 cell has {EDGES}", edges, "edges")
        self.layers = CellEdges(edges, channels)


@register_block
class ResNetBasicblock(NASBench201FamilyBlock):
    """xautodl's reduction between stages: two ReLUConvBN 3x3 (the first strided) plus a shortcut
    (2x2 average pool then 1x1 conv when strided; a ReLUConvBN 1x1 when only the width changes)."""

    def constructor(self, inplanes: Width = REQUIRED, planes: Width = REQUIRED, stride: Literal[1, 2] = 1) -> None:
        self.conv_a = ReLUConvBN(inplanes, planes, 3, stride, 1)
        self.conv_b = ReLUConvBN(planes, planes, 3, 1, 1)
        if stride == 2:
            self.downsample = Sequential(AvgPool2d(2, 2, 0), Conv2d(inplanes, planes, 1, bias=False))
        elif inplanes != planes:
            self.downsample = ReLUConvBN(inplanes, planes, 1, 1, 0)
        else:
            self.downsample = None

    def forward(self, x: Value) -> Value:
        basic = self.conv_b(self.conv_a(x))
        residual = self.downsample(x) if self.downsample is not None else x
        return residual + basic


@register_block
class NASBench201(NASBench201FamilyBlock):
    """xautodl's ``TinyNetwork(C=channels, N=cells, genotype=arch, num_classes)``.

    The cell is ``arch`` (the benchmark's string) or ``edges`` (its 6 ops as a list, what a search
    varies: ``net.edges[*]: choice(none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3)``).
    """

    input_size = 32

    def constructor(self, arch: Optional[str] = None, edges: EDGE_LIST = None, channels: Width = 16,
                    cells: Count = 5, num_class: Width = 10) -> None:
        ops = self._cell(arch, edges)
        C = channels
        self.stem = Sequential(Conv2d(3, C, 3, padding=1, bias=False), BatchNorm2d(C))
        stages, c_prev = [], C
        for stage, width in enumerate((C, 2 * C, 4 * C)):
            if stage:
                stages.append(ResNetBasicblock(c_prev, width, 2))
            stages += [InferCell(ops, width) for _ in range(cells)]
            c_prev = width
        self.cells = Sequential(*stages)
        self.lastact = Sequential(BatchNorm2d(c_prev), ReLU())
        self.global_pooling = AdaptiveAvgPool2d(1)
        self.flatten = Flatten()
        self.classifier = Linear(c_prev, num_class)

    def _cell(self, arch: Optional[str], edges: Optional[list]) -> list[str]:
        if (arch is None) == (edges is None):
            self.fail("give the cell once: 'arch' (the benchmark's string) or 'edges' (its 6 ops)"
                      if arch is not None else "NASBench201 needs 'arch' or 'edges'", edges, "edges")
        if edges is not None:
            if len(edges) != EDGES:
                self.fail(f"{len(edges)} edges; a NAS-Bench-201 cell has {EDGES} (0→1, 0→2, 1→2, 0→3, 1→3, 2→3)",
                          edges, "edges")
            return list(edges)
        try:
            return parse_arch(arch)
        except ArchError as exc:
            self.fail(exc.message, located_at(arch, exc.offset, self._origin.child("arch")), hint=exc.hint)
