"""fgir's compiler passes (installed as ``fgir.passes``), one file a pass, and the pass manager.

Default pipeline: expand_repeat → lower_blocks → apply_prune → infer_shapes → check_channels →
apply_quant → count_cost.

Example:
    >>> import fgir
    >>> from fgir.passes import PassManager, default_passes
    >>> graph = fgir.load("examples/resnet20_cifar.yaml")
    >>> PassManager(default_passes()).run(graph).meta["params"]
    272474
"""

from .apply_prune import ApplyPrune
from .apply_quant import ApplyQuant
from .base import (FunctionPass, InternalError, Pass, PassContext, PassManager, PassOrderError,
                   PostconditionError, graph_pass)
from .check_channels import CheckChannels
from .count_cost import CountCost
from .expand_repeat import ExpandRepeat
from .infer_shapes import InferShapes
from .lower_blocks import LowerBlocks

PIPELINE = (ExpandRepeat, LowerBlocks, ApplyPrune, InferShapes, CheckChannels, ApplyQuant, CountCost)
PASSES = {p.name: p for p in PIPELINE}


def default_passes() -> list[Pass]:
    """A fresh instance of each pass of the default pipeline, in order."""
    return [p() for p in PIPELINE]


__all__ = ["ApplyPrune", "ApplyQuant", "CheckChannels", "CountCost", "ExpandRepeat", "FunctionPass", "InferShapes",
           "InternalError", "LowerBlocks", "PASSES", "Pass", "PassContext", "PassManager",
           "PassOrderError", "PostconditionError", "default_passes", "graph_pass"]
