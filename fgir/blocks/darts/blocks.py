"""DARTS's evaluation network (quark0/darts ``cnn/model.py``'s ``NetworkCIFAR``, no auxiliary head) as blocks.

Module names follow DARTS, so state_dict keys are the reference's: ``stem.0/1``, ``cells.<i>``
(``preprocess0``: a FactorizedReduce after a reduction cell, else a ReLUConvBN 1x1;
``preprocess1``; ``_ops.<k>``: edge k of the genotype), ``classifier``.  Cell i is a reduction
cell at ``layers // 3`` and ``2 * layers // 3`` (width doubled, edges from the cell's inputs at
stride 2).  FactorizedReduce is DARTS's, one-pixel shift included: ReLU, then ``conv_1`` on x and
``conv_2`` on ``x[:, :, 1:, 1:]``, concatenated, BN.

Example:
    >>> import fgir
    >>> spec = "search_space:\\n  modules: [net]\\n  net: {type: DARTSNetwork, genotype: DARTS_V2, C: 36, layers: 20}\\n"
    >>> fgir.compile(spec).meta["params"]     # the paper's 3.3M
    3349342
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from fgir.blocks.argtypes import REQUIRED, Count, Min, Width
from fgir.blocks.layers import (AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Flatten, Identity, Linear,
                                MaxPool2d, ReLU)
from fgir.blocks.layers_sequence import Slice
from fgir.blocks.layers_vision import Zero
from fgir.blocks.module import Sequential, Value, concat
from fgir.blocks.registry import register_block
from fgir.blocks.darts.genotypes import GENOTYPES, PRIMITIVES, DARTSFamilyBlock
from fgir.blocks.nasbench201.blocks import ReLUConvBN
from fgir.blocks.nasbench201.conventions import OpName

DartsOp = OpName(PRIMITIVES, "DARTS")
Index = Annotated[int, Min(0)]
Stride = Literal[1, 2]


@register_block
class FactorizedReduce(DARTSFamilyBlock):
    """Halves the resolution without losing a pixel: two 1x1 stride-2 convs, the second on the input
    shifted by one pixel (``x[:, :, 1:, 1:]``), side by side, then BN."""

    def constructor(self, C_in: Width = REQUIRED, C_out: Width = REQUIRED) -> None:
        if C_out % 2:
            self.fail(f"C_out {C_out} is odd: its two halves come from conv_1 and conv_2", C_out, "C_out")
        self.relu = ReLU()
        self.conv_1 = Conv2d(C_in, C_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = Conv2d(C_in, C_out // 2, 1, stride=2, padding=0, bias=False)
        self.shift_h = Slice(2, 1, None)
        self.shift_w = Slice(3, 1, None)
        self.bn = BatchNorm2d(C_out)

    def forward(self, x: Value) -> Value:
        x = self.relu(x)
        return self.bn(concat(self.conv_1(x), self.conv_2(self.shift_w(self.shift_h(x)))))


@register_block
class SepConv(DARTSFamilyBlock):
    """Two stacked ReLU → depthwise k x k → pointwise 1x1 → BN (the first strided), as ``op.0`` .. ``op.7``."""

    def constructor(self, C_in: Width = REQUIRED, C_out: Width = REQUIRED, kernel_size: Count = REQUIRED,
                    stride: Stride = 1, padding: Index = 0) -> None:
        k, p = kernel_size, padding
        self.op = Sequential(ReLU(), Conv2d(C_in, C_in, k, stride, p, groups=C_in, bias=False),
                             Conv2d(C_in, C_in, 1, bias=False), BatchNorm2d(C_in),
                             ReLU(), Conv2d(C_in, C_in, k, 1, p, groups=C_in, bias=False),
                             Conv2d(C_in, C_out, 1, bias=False), BatchNorm2d(C_out))


@register_block
class DilConv(DARTSFamilyBlock):
    """ReLU → dilated depthwise k x k → pointwise 1x1 → BN, as ``op.0`` .. ``op.3``."""

    def constructor(self, C_in: Width = REQUIRED, C_out: Width = REQUIRED, kernel_size: Count = REQUIRED,
                    stride: Stride = 1, padding: Index = 0, dilation: Count = 1) -> None:
        self.op = Sequential(ReLU(), Conv2d(C_in, C_in, kernel_size, stride, padding, dilation, groups=C_in,
                                            bias=False),
                             Conv2d(C_in, C_out, 1, bias=False), BatchNorm2d(C_out))


def operation(op: str, C: int, stride: int):
    """DARTS's ``OPS[op](C, stride, affine=True)``."""
    if op == "none":
        return Zero(stride)
    if op == "avg_pool_3x3":
        return AvgPool2d(3, stride, 1, count_include_pad=False)
    if op == "max_pool_3x3":
        return MaxPool2d(3, stride, 1)
    if op == "skip_connect":
        return Identity() if stride == 1 else FactorizedReduce(C, C)
    kernel = int(op[-1])
    if op.startswith("sep_conv"):
        return SepConv(C, C, kernel, stride, kernel // 2)
    return DilConv(C, C, kernel, stride, kernel - 1, 2)     # dil_conv: padding 2 (3x3) or 4 (5x5)


class CellOps(DARTSFamilyBlock):
    """A cell's ``_ops``: node i sums edges 2i and 2i+1, each reading a state; the output is the
    concatenation of the ``outputs`` states, the genotype's concat list (0, 1: the preprocessed inputs;
    2..: the nodes)."""

    def constructor(self, C: Width = REQUIRED, ops: list[DartsOp] = REQUIRED, inputs: list[Index] = REQUIRED,
                    outputs: list[Index] = REQUIRED, reduction: bool = False) -> None:
        for k, (op, index) in enumerate(zip(ops, inputs)):
            setattr(self, str(k), operation(op, C, 2 if reduction and index < 2 else 1))

    def forward(self, s0: Value, s1: Value) -> Value:
        states, inputs = [s0, s1], self.args["inputs"]
        for i in range(len(inputs) // 2):
            h1 = getattr(self, str(2 * i))(states[inputs[2 * i]])
            h2 = getattr(self, str(2 * i + 1))(states[inputs[2 * i + 1]])
            states.append(h1 + h2)
        return concat(*[states[i] for i in self.args["outputs"]])


@register_block
class DARTSCell(DARTSFamilyBlock):
    """DARTS's ``Cell``: takes the two previous cells' outputs (s0, s1), gives ``len(concat) * C`` channels."""

    def constructor(self, C_prev_prev: Width = REQUIRED, C_prev: Width = REQUIRED, C: Width = REQUIRED,
                    ops: list[DartsOp] = REQUIRED, inputs: list[Index] = REQUIRED, outputs: list[Index] = REQUIRED,
                    reduction: bool = False, reduction_prev: bool = False) -> None:
        check_cell(self, ops, inputs, outputs, "ops", "inputs", "outputs")
        self.preprocess0 = FactorizedReduce(C_prev_prev, C) if reduction_prev else ReLUConvBN(C_prev_prev, C, 1)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1)
        self._ops = CellOps(C, ops, inputs, outputs, reduction)

    def forward(self, s0: Value, s1: Value) -> Value:
        return self._ops(self.preprocess0(s0), self.preprocess1(s1))


def check_cell(block, ops: list, inputs: list, concat: list, ops_arg: str, inputs_arg: str,
               concat_arg: str) -> None:
    """Two edges per node, one input per edge, each reading an earlier state; concat names states."""
    if not ops or len(ops) % 2:
        block.fail(f"{len(ops)} ops; a DARTS cell has 2 edges per node (8 for its 4 nodes)", ops, ops_arg)
    if len(inputs) != len(ops):
        block.fail(f"{len(inputs)} inputs for {len(ops)} ops: each edge reads one state", inputs, inputs_arg)
    for k, index in enumerate(inputs):
        if index >= 2 + k // 2:
            block.fail(f"edge {k} (node {k // 2 + 2}) reads state {index}; node {k // 2 + 2} reads states 0 to "
                       f"{k // 2 + 1} (0, 1: the previous cells; 2..: earlier nodes)", index, inputs_arg)
    states = 2 + len(ops) // 2
    if not concat:
        block.fail("concat is empty: the cell's output concatenates at least one state", concat, concat_arg)
    for index in concat:
        if index >= states:
            block.fail(f"concat names state {index}; the cell has states 0 to {states - 1}", index, concat_arg)


class CellStack(Sequential):
    """The network's ``cells`` (named 0, 1, ...): ``s0, s1 = s1, cell(s0, s1)``, from the stem's output twice."""

    family = DARTSFamilyBlock.family

    def forward(self, x: Value) -> Value:
        s0 = s1 = x
        for cell in list(self._children.values()):
            s0, s1 = s1, cell(s0, s1)
        return s1


@register_block
class DARTSNetwork(DARTSFamilyBlock):
    """DARTS's ``NetworkCIFAR(C, num_classes, layers, auxiliary=False, genotype)``.

    The cells are ``genotype`` (a published one: DARTS_V1, DARTS_V2) or the lists a search varies:
    ``normal_ops``/``normal_inputs`` and ``reduce_ops``/``reduce_inputs`` (edge k of node k // 2),
    with ``normal_concat``/``reduce_concat`` (default: every node).
    """

    input_size = 32

    def constructor(self, C: Width = 16, num_class: Width = 10, layers: Count = 8,
                    genotype: Optional[Literal[tuple(GENOTYPES)]] = None,
                    normal_ops: Optional[list[DartsOp]] = None, normal_inputs: Optional[list[Index]] = None,
                    normal_concat: Optional[list[Index]] = None,
                    reduce_ops: Optional[list[DartsOp]] = None, reduce_inputs: Optional[list[Index]] = None,
                    reduce_concat: Optional[list[Index]] = None) -> None:
        normal, reduce = self._genotype()
        stem = 3 * C
        self.stem = Sequential(Conv2d(3, stem, 3, padding=1, bias=False), BatchNorm2d(stem))
        c_pp, c_p, c_curr, cells, reduction_prev = stem, stem, C, [], False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            c_curr *= 2 if reduction else 1
            ops, inputs, cat = reduce if reduction else normal
            cells.append(DARTSCell(c_pp, c_p, c_curr, ops, inputs, cat, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, len(cat) * c_curr
        self.cells = CellStack(*cells)
        self.global_pooling = AdaptiveAvgPool2d(1)
        self.flatten = Flatten()
        self.classifier = Linear(c_p, num_class)

    def _genotype(self) -> tuple[tuple, tuple]:
        a = self.args
        lists = ("normal_ops", "normal_inputs", "reduce_ops", "reduce_inputs")
        given = [name for name in lists if a[name] is not None]
        if a["genotype"] is not None:
            if given:
                self.fail(f"give the cells once: genotype {a['genotype']} or the lists ({', '.join(given)})",
                          a[given[0]], given[0])
            g = GENOTYPES[a["genotype"]]
            cells = {"normal": (g.normal, g.normal_concat), "reduce": (g.reduce, g.reduce_concat)}
            return tuple(([op for op, _ in edges], [i for _, i in edges],
                          a[f"{kind}_concat"] or concat) for kind, (edges, concat) in cells.items())
        missing = [name for name in lists if a[name] is None]
        if missing:
            self.fail(f"DARTSNetwork needs a genotype (DARTS_V1, DARTS_V2) or the lists {', '.join(lists)}; "
                      f"missing {', '.join(missing)}")
        out = []
        for kind in ("normal", "reduce"):
            ops, inputs = a[f"{kind}_ops"], a[f"{kind}_inputs"]
            concat = a[f"{kind}_concat"] or list(range(2, 2 + len(ops) // 2))
            check_cell(self, ops, inputs, concat, f"{kind}_ops", f"{kind}_inputs", f"{kind}_concat")
            out.append((list(ops), list(inputs), list(concat)))
        return out[0], out[1]
