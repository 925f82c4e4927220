"""NAS-Bench-201 (Dong & Yang, 2020): xautodl's TinyNetwork and its cells; importing it registers them."""

from fgir.blocks.nasbench201.conventions import NASBENCH201, OPS, arch_string, parse_arch
from fgir.blocks.nasbench201.blocks import InferCell, NASBench201, ReLUConvBN, ResNetBasicblock

__all__ = ["InferCell", "NASBENCH201", "NASBench201", "OPS", "ReLUConvBN", "ResNetBasicblock", "arch_string",
           "parse_arch"]
