"""fgir: a graph-IR compiler for fine-grained neural-network search spaces.

    >>> import fgir
    >>> graph = fgir.compile("examples/resnet20_cifar.yaml")   # spec → checked IR
    >>> graph.meta["params"], graph.meta["macs"]
    (272474, 40813184)
    >>> model = fgir.to_torch(graph)                            # IR → torch.nn.Module
"""

from fgir.api import compile, load, load_model, loads, save_model, to_onnx, to_torch, train
from fgir.blocks import Block, Repeat, register_block
from fgir.diagnostics import Diagnostic, FgirError, Loc
from fgir.ir.graph import Graph, Node
from fgir.ir.types import TensorType
from fgir.prune import prune
from fgir.version import __version__

__all__ = ["Block", "Diagnostic", "FgirError", "Graph", "Loc", "Node", "Repeat", "TensorType",
           "__version__", "compile", "load", "load_model", "loads", "prune", "register_block", "save_model",
           "to_onnx", "to_torch", "train"]
