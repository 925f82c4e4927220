"""A NAS-Bench-201 cell as the benchmark's code writes it (xautodl's cell_operations and InferCell),
the reference the YAML cell (examples/nasbench201_cell.yaml) is checked against.  Written from the
paper's definition: nodes sum one edge from each earlier node; ReLU → Conv → BN convs without bias;
a 3x3 average pool of stride 1 that does not count the padding; ``none`` is zeros."""

from __future__ import annotations

import torch
from torch import nn


class ReLUConvBN(nn.Module):
    def __init__(self, channels: int, kernel: int) -> None:
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False),
                                nn.Conv2d(channels, channels, kernel, 1, kernel // 2, bias=False),
                                nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def operation(name: str, channels: int, count_include_pad: bool = False) -> nn.Module:
    return {"none": lambda: Zero(), "skip_connect": lambda: nn.Identity(),
            "nor_conv_1x1": lambda: ReLUConvBN(channels, 1), "nor_conv_3x3": lambda: ReLUConvBN(channels, 3),
            "avg_pool_3x3": lambda: nn.AvgPool2d(3, 1, 1, count_include_pad=count_include_pad)}[name]()


class Cell(nn.Module):
    """``genotype``: for nodes 1..3, the op on the edge from each earlier node, in order."""

    def __init__(self, genotype: list[list[str]], channels: int, count_include_pad: bool = False) -> None:
        super().__init__()
        self.genotype = genotype
        self.edges = nn.ModuleList(operation(op, channels, count_include_pad) for ops in genotype for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes, edges = [x], iter(self.edges)
        for ops in self.genotype:
            nodes.append(sum(next(edges)(nodes[i]) for i in range(len(ops))))
        return nodes[-1]


class Network(nn.Module):
    """stem (conv 3x3, BN) → cell → global pool → classifier: the YAML example's network."""

    def __init__(self, genotype: list[list[str]], channels: int = 16, classes: int = 10,
                 count_include_pad: bool = False) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        self.cell = Cell(genotype, channels, count_include_pad)
        self.classifier = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.cell(self.stem(x)).mean((2, 3)))
