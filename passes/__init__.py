"""fgir's compiler passes (installed as ``fgir.passes``), one file a pass, and the pass manager.

Default pipeline: expand_repeat → lower_blocks → infer_shapes → check_channels → count_cost.

Example:
    >>> import fgir
    >>> from fgir.passes import PassManager, default_passes
    >>> graph = fgir.load("examples/resnet20_cifar.yaml")
    >>> PassManager(default_passes()).run(graph).meta["params"]
    272474
"""

from .base import (FunctionPass, InternalError, Pass, PassContext, PassManager, PassOrderError,
                   graph_pass)
from .check_channels import CheckChannels
from .count_cost import CountCost
from .expand_repeat import ExpandRepeat
from .infer_shapes import InferShapes
from .lower_blocks import LowerBlocks

PASSES = {p.name: p for p in (ExpandRepeat, LowerBlocks, InferShapes, CheckChannels, CountCost)}


def default_passes() -> list[Pass]:
    """A fresh instance of each pass of the default pipeline, in order."""
    return [ExpandRepeat(), LowerBlocks(), InferShapes(), CheckChannels(), CountCost()]


__all__ = ["CheckChannels", "CountCost", "ExpandRepeat", "FunctionPass", "InferShapes",
           "InternalError", "LowerBlocks", "PASSES", "Pass", "PassContext", "PassManager",
           "PassOrderError", "default_passes", "graph_pass"]
