"""DARTS's ops and published genotypes (quark0/darts ``cnn/genotypes.py``), and the family.

A genotype gives, for the normal and the reduction cell, 2 edges per intermediate node as
``(op, input)``: inputs 0 and 1 are the two previous cells' outputs, 2.. the cell's earlier
nodes; ``*_concat`` lists the states concatenated into the cell's output.  DARTS's networks
keep torch's default initialisation, so the family has no ``init`` entries.

Example:
    >>> GENOTYPES["DARTS_V2"].reduce[2], len(PRIMITIVES)
    (('skip_connect', 2), 8)
"""

from __future__ import annotations

from typing import NamedTuple

from fgir.blocks.family import Family, register_family
from fgir.blocks.module import Block

DARTS = register_family(Family("darts"))

# the search space's ops (DARTS's PRIMITIVES, NNI's DARTS_OPS), in DARTS's order
PRIMITIVES = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
              "dil_conv_3x3", "dil_conv_5x5")


class Genotype(NamedTuple):
    normal: list[tuple[str, int]]
    normal_concat: list[int]
    reduce: list[tuple[str, int]]
    reduce_concat: list[int]


GENOTYPES = {
    "DARTS_V1": Genotype(
        normal=[("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0), ("sep_conv_3x3", 1),
                ("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 2)],
        normal_concat=[2, 3, 4, 5],
        reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 0),
                ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("avg_pool_3x3", 0)],
        reduce_concat=[2, 3, 4, 5]),
    "DARTS_V2": Genotype(
        normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
                ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
        normal_concat=[2, 3, 4, 5],
        reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
                ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)],
        reduce_concat=[2, 3, 4, 5]),
}


class DARTSFamilyBlock(Block):
    family = DARTS
