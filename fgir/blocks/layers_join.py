"""The layers that join several tensors, written as spec modules with ``inputs: [a, b]``.

``Add`` sums two or more tensors of one shape (three inputs become two ``add`` nodes, the first
named ``<name>_partial``), ``Mul`` multiplies two (equal shapes, or an image by a Cx1x1 scale, as
squeeze-excitation does), and ``Concat(dim=1)`` is ``torch.cat(..., dim)``: ``dim`` counts the
batch, so ``dim: 1`` is an image's channels and a token sequence's tokens, ``dim: -1`` (or 2) a
sequence's features.  Their ops are ``add``, ``mul`` and ``concat`` (:mod:`fgir.ir.ops.structure`).

Example (a skip connection in a spec)::

    up:   {type: ConvTranspose2d, out_channels: 32, kernel_size: 2, stride: 2}
    join: {type: Concat, inputs: [up, enc1]}
"""

from __future__ import annotations

from typing import Any, ClassVar

from fgir.blocks.module import Layer, _frame
from fgir.blocks.registry import register_block
from fgir.ir.graph import Node
from fgir.ir.ops.structure import ADD, CONCAT, MUL


@register_block
class Add(Layer):
    """The elementwise sum of two or more tensors of one shape (``a + b + c``)."""

    op = ADD.name
    min_inputs: ClassVar[int] = 2

    def constructor(self) -> None:
        pass

    @classmethod
    def _count_inputs(cls) -> tuple[int, int | None]:
        return 2, None   # the op adds two: more are summed pairwise, left to right

    def _to_node(self, name: str, inputs: list[Node]) -> Node:
        graph = _frame().graph
        total = inputs[0]
        for other in inputs[1:-1]:
            total = graph.add(graph.unique_name(f"{name}_partial"), self.op, [total, other], {}, self._origin)
        return Node(name, self.op, {}, [total, inputs[-1]], self._origin)


@register_block
class Mul(Layer):
    """The elementwise product of two tensors: of equal shapes, or an image and a Cx1x1 scale."""

    op = MUL.name

    def constructor(self) -> None:
        pass


@register_block
class Concat(Layer):
    """``torch.cat(inputs, dim)``: ``dim`` counts the batch (1: an image's channels)."""

    op = CONCAT.name

    def constructor(self, dim: int = 1) -> None:
        pass

    def ir_attrs(self) -> dict[str, Any]:
        return {"dim": self._args["dim"]}
