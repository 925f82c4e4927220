"""fgir: a graph-IR compiler for fine-grained neural-network search spaces.

A YAML spec (docs/spec.md) becomes a typed IR of blocks, passes check and lower it, and the backends
build a torch module or an ONNX model.  The public API, one example each (docs/api.md is this, generated):

    >>> import fgir
    >>> graph = fgir.compile("examples/resnet20_cifar.yaml")   # compile: spec → checked, costed IR
    >>> graph.meta["params"], graph.meta["macs"]
    (272474, 40813184)
    >>> fgir.load("examples/resnet20_cifar.yaml").output.op    # load: spec → IR of blocks, no passes
    'block:ResNet'
    >>> fgir.loads("search_space: {modules: [a], a: {type: ReLU}}").output.op   # loads: spec text
    'relu'
    >>> model = fgir.to_torch(graph, seed=0)                   # to_torch: IR → torch.nn.Module (torch.fx)
    >>> fgir.save_model(model, "r20.pt")                       # save_model: the weights with the spec
    >>> type(fgir.load_model("r20.pt")).__name__               # load_model: rebuild it
    'FgirModule'
    >>> len(fgir.to_onnx(graph, "r20.onnx", weights=model).graph.node) > 0   # to_onnx: an ONNX model
    True
    >>> fgir.prune("examples/resnet20_cifar.yaml", model, ratio=0.5).params  # prune: channels from weights
    68786
    >>> tiny = "search_space: {modules: [c, p, f, l], c: {type: ConvBNActivation, in_channels: 3, out_channels: 8}, " \\
    ...        "p: {type: AdaptiveAvgPool2d, output_size: 1}, f: {type: Flatten}, l: {type: Linear, out_features: 10}}"
    >>> result = fgir.train(tiny, data="digits", input="3x8x8", epochs=1, progress=None)  # train: on your data
    >>> len(result.history), 0 <= result.val_accuracy <= 1
    (1, True)
    >>> try:                                                   # FgirError, Diagnostic, Loc: located errors
    ...     fgir.loads("search_space: {modules: [a], a: {type: ReLu}}")
    ... except fgir.FgirError as err:
    ...     d = err.diagnostics[0]
    ...     print(d.loc.line, d.loc.col, d.path, d.message)
    1 40 a.type unknown block type 'ReLu'
    >>> fgir.TensorType(197, 768).describe()                   # TensorType: any rank, with a layout
    'a token sequence 197x768 (LxD)'
    >>> [node.op for node in graph][:2]                        # Graph, Node: the IR (docs/architecture.md)
    ['input', 'conv2d']
    >>> @fgir.register_block                                   # Block, Repeat, register_block: your blocks
    ... class TwoConvs(fgir.Block):
    ...     def constructor(self, width: int = 8) -> None:
    ...         self.reps = fgir.Repeat(num_reps=2, items={"out_channels": width},
    ...                                 ref={"type": "ConvBNActivation"})
    >>> fgir.compile("search_space: {modules: [t], t: {type: TwoConvs, width: 4}}", input="3x8x8").meta["params"]
    268
    >>> from fgir.blocks.registry import BLOCKS; _ = BLOCKS.pop("TwoConvs")   # the rest of the session: unseen
    >>> fgir.register_op.__module__                            # register_op: an op in one plugin file
    'fgir.op_plugins'

Your own block (``@fgir.register_block`` on a ``fgir.Block`` subclass) and op (``fgir.register_op``)
are shown in examples/user_blocks/searchable_stage.py and examples/user_blocks/mish_op.py.
"""

from fgir.api import compile, load, load_model, loads, save_model, to_onnx, to_torch
from fgir.blocks import Block, Repeat, register_block
from fgir.diagnostics import Diagnostic, FgirError, Loc
from fgir.ir.graph import Graph, Node
from fgir.ir.types import TensorType
from fgir.op_plugins import register_op
from fgir.prune import prune
from fgir.training.api import train
from fgir.version import __version__

__all__ = ["Block", "Diagnostic", "FgirError", "Graph", "Loc", "Node", "Repeat", "TensorType",
           "__version__", "compile", "load", "load_model", "loads", "prune", "register_block", "register_op", "save_model",
           "to_onnx", "to_torch", "train"]
