"""NAS-Bench-201's network as its reference code writes it (xautodl: ``models/cell_infers/tiny_network.py``,
``cells.py`` and ``cell_operations.py``), restated by hand: ground truth for fgir's ``NASBench201``.

Same class and attribute names as xautodl (``stem``, ``cells.<i>``, ``layers.<k>``, ``op.0/1/2``,
``conv_a``/``conv_b``/``downsample``, ``lastact``, ``global_pooling``, ``classifier``), hence the same
state_dict keys; the arch string parsed as xautodl's ``Structure.str2structure`` parses it.  Like the
original, ``TinyNetwork.forward`` returns ``(features, logits)``.
"""

from __future__ import annotations

import torch
from torch import nn

# the space's 5 ops (xautodl's NAS-Bench-201 search space, in its order)
NAS_BENCH_201 = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def str2structure(arch: str) -> list[tuple[tuple[str, int], ...]]:
    """``|op~0|+|op~0|op~1|+|...|`` → per node, its (op, input node) pairs."""
    nodes = []
    for node_str in arch.split("+"):
        inputs = [x for x in node_str.split("|") if x != ""]
        nodes.append(tuple((op, int(idx)) for op, idx in (x.split("~") for x in inputs)))
    return nodes


class ReLUConvBN(nn.Module):
    def __init__(self, C_in, C_out, kernel_size, stride, padding, dilation, affine=True, track_running_stats=True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, dilation=dilation,
                      bias=not affine),
            nn.BatchNorm2d(C_out, affine=affine, track_running_stats=track_running_stats))

    def forward(self, x):
        return self.op(x)


class ResNetBasicblock(nn.Module):
    def __init__(self, inplanes, planes, stride, affine=True, track_running_stats=True):
        super().__init__()
        assert stride == 1 or stride == 2, f"invalid stride {stride}"
        self.conv_a = ReLUConvBN(inplanes, planes, 3, stride, 1, 1, affine, track_running_stats)
        self.conv_b = ReLUConvBN(planes, planes, 3, 1, 1, 1, affine, track_running_stats)
        if stride == 2:
            self.downsample = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(inplanes, planes, kernel_size=1, stride=1, padding=0, bias=False))
        elif inplanes != planes:
            self.downsample = ReLUConvBN(inplanes, planes, 1, 1, 0, 1, affine, track_running_stats)
        else:
            self.downsample = None
        self.in_dim, self.out_dim = inplanes, planes

    def forward(self, inputs):
        basicblock = self.conv_b(self.conv_a(inputs))
        residual = self.downsample(inputs) if self.downsample is not None else inputs
        return residual + basicblock


class POOLING(nn.Module):
    def __init__(self, C_in, C_out, stride, mode, affine=True, track_running_stats=True):
        super().__init__()
        self.preprocess = None if C_in == C_out else ReLUConvBN(C_in, C_out, 1, 1, 0, 1, affine,
                                                                 track_running_stats)
        if mode == "avg":
            self.op = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
        else:
            self.op = nn.MaxPool2d(3, stride=stride, padding=1)

    def forward(self, inputs):
        return self.op(self.preprocess(inputs) if self.preprocess else inputs)


class Identity(nn.Module):
    def forward(self, x):
        return x


class Zero(nn.Module):
    def __init__(self, C_in, C_out, stride):
        super().__init__()
        self.C_in, self.C_out, self.stride = C_in, C_out, stride

    def forward(self, x):
        if self.C_in == self.C_out:
            return x.mul(0.0) if self.stride == 1 else x[:, :, ::self.stride, ::self.stride].mul(0.0)
        shape = list(x.shape)
        shape[1] = self.C_out
        return x.new_zeros(shape, dtype=x.dtype, device=x.device)


OPS = {
    "none": lambda C_in, C_out, stride, affine, track: Zero(C_in, C_out, stride),
    "avg_pool_3x3": lambda C_in, C_out, stride, affine, track: POOLING(C_in, C_out, stride, "avg", affine, track),
    "nor_conv_3x3": lambda C_in, C_out, stride, affine, track: ReLUConvBN(
        C_in, C_out, (3, 3), (stride, stride), (1, 1), (1, 1), affine, track),
    "nor_conv_1x1": lambda C_in, C_out, stride, affine, track: ReLUConvBN(
        C_in, C_out, (1, 1), (stride, stride), (0, 0), (1, 1), affine, track),
    # stride 1 and equal widths in every InferCell of TinyNetwork: always the Identity
    "skip_connect": lambda C_in, C_out, stride, affine, track: Identity(),
}


class InferCell(nn.Module):
    def __init__(self, genotype, C_in, C_out, stride, affine=True, track_running_stats=True):
        super().__init__()
        self.layers = nn.ModuleList()
        self.node_IN, self.node_IX = [], []
        for node_info in genotype:
            cur_index, cur_innod = [], []
            for op_name, op_in in node_info:
                if op_in == 0:
                    layer = OPS[op_name](C_in, C_out, stride, affine, track_running_stats)
                else:
                    layer = OPS[op_name](C_out, C_out, 1, affine, track_running_stats)
                cur_index.append(len(self.layers))
                cur_innod.append(op_in)
                self.layers.append(layer)
            self.node_IX.append(cur_index)
            self.node_IN.append(cur_innod)
        self.in_dim, self.out_dim = C_in, C_out

    def forward(self, inputs):
        nodes = [inputs]
        for node_layers, node_innods in zip(self.node_IX, self.node_IN):
            nodes.append(sum(self.layers[il](nodes[ii]) for il, ii in zip(node_layers, node_innods)))
        return nodes[-1]


class TinyNetwork(nn.Module):
    def __init__(self, C, N, genotype, num_classes):
        super().__init__()
        self._C, self._layerN = C, N
        self.stem = nn.Sequential(nn.Conv2d(3, C, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(C))
        layer_channels = [C] * N + [C * 2] + [C * 2] * N + [C * 4] + [C * 4] * N
        layer_reductions = [False] * N + [True] + [False] * N + [True] + [False] * N
        C_prev = C
        self.cells = nn.ModuleList()
        for C_curr, reduction in zip(layer_channels, layer_reductions):
            if reduction:
                cell = ResNetBasicblock(C_prev, C_curr, 2, True)
            else:
                cell = InferCell(genotype, C_prev, C_curr, 1)
            self.cells.append(cell)
            C_prev = cell.out_dim
        self.lastact = nn.Sequential(nn.BatchNorm2d(C_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward(self, inputs):
        feature = self.stem(inputs)
        for cell in self.cells:
            feature = cell(feature)
        out = self.global_pooling(self.lastact(feature))
        out = out.view(out.size(0), -1)
        return out, self.classifier(out)


def tiny_network(arch: str, C: int = 16, N: int = 5, num_classes: int = 10) -> TinyNetwork:
    return TinyNetwork(C, N, str2structure(arch), num_classes)


def arch_string(edges: list[str]) -> str:
    """The arch string of 6 edge ops in xautodl's order (0→1, 0→2, 1→2, 0→3, 1→3, 2→3)."""
    e = edges
    return f"|{e[0]}~0|+|{e[1]}~0|{e[2]}~1|+|{e[3]}~0|{e[4]}~1|{e[5]}~2|"


def params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def param_table(C: int = 16, N: int = 5, num_classes: int = 10) -> list[int]:
    """Params of every cell of the space, in ``itertools.product(NAS_BENCH_201, repeat=6)`` order (edge order
    as :func:`arch_string`), counted on the reference's modules (meta device: shapes, no data).

    Building 15,625 whole TinyNetworks takes most of an hour here, so each is counted the way TinyNetwork
    is built: its cell-free part (the network of an all-``none`` cell: stem, reductions, lastact,
    classifier) plus N InferCells of the arch at each stage's width, each InferCell built by the reference
    code.  The sum is checked against whole networks for a spread of cells."""
    import itertools

    with torch.device("meta"):
        base = params(tiny_network(arch_string(["none"] * 6), C, N, num_classes))
        table = []
        for edges in itertools.product(NAS_BENCH_201, repeat=6):
            genotype = str2structure(arch_string(list(edges)))
            table.append(base + N * sum(params(InferCell(genotype, w, w, 1)) for w in (C, 2 * C, 4 * C)))
        for i in range(0, len(table), 1009):
            edges = list(itertools.product(NAS_BENCH_201, repeat=6))[i]
            assert params(tiny_network(arch_string(list(edges)), C, N, num_classes)) == table[i], edges
    return table


if __name__ == "__main__":   # writes tests/data/nasbench201_params.json (run once: about a minute)
    import json
    import pathlib

    table = param_table()
    out = pathlib.Path(__file__).parent / "data" / "nasbench201_params.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "about": "params of xautodl's TinyNetwork(C=16, N=5, num_classes=10) for every NAS-Bench-201 cell, counted "
                 "by tests/reference_nasbench201_net.py (python tests/reference_nasbench201_net.py writes it)",
        "ops": NAS_BENCH_201, "edges": ["0->1", "0->2", "1->2", "0->3", "1->3", "2->3"],
        "order": "itertools.product(ops, repeat=6): the last edge varies fastest",
        "channels": 16, "cells": 5, "num_class": 10, "params": table}, separators=(",", ":")) + "\n")
    print(len(table), "cells;", len(set(table)), "distinct counts;", min(table), "to", max(table))
