"""DARTS (Liu et al., 2019): the evaluation network of a genotype, its cells and ops; importing it registers them."""

from fgir.blocks.darts.genotypes import DARTS, GENOTYPES, PRIMITIVES, Genotype
from fgir.blocks.darts.blocks import DARTSCell, DARTSNetwork, DilConv, FactorizedReduce, SepConv

__all__ = ["DARTS", "DARTSCell", "DARTSNetwork", "DilConv", "FactorizedReduce", "GENOTYPES", "Genotype",
           "PRIMITIVES", "SepConv"]
