"""The ResNet family's conventions: torchvision's initialisation and stage naming, its quantization order.

* Initialisation (torchvision's ``ResNet``): convolutions Kaiming-normal, fan-out,
  for ReLU; BatchNorm weight 1, bias 0; the classifier keeps torch's default.
* Quantization (docs/semantics.md): a ``Quant`` process's bit lists map onto every
  convolution but the stem's, in graph order: within a block conv1, conv2
  (conv3), then the shortcut's conv.
* Naming: a stage starts at each block whose stride is not 1, so blocks are
  named ``layer1.0``, ``layer1.1``, ``layer2.0``, ... (torchvision's keys).
* Pruning: the guide's row layout (:mod:`.prune_rows`).

Example:
    >>> torchvision_stage_names([{"stride": 1}, {"stride": 1}, {"stride": 2}])
    ['layer1.0', 'layer1.1', 'layer2.0']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fgir.blocks.family import Family, Init, quantizable_convs, register_family
from fgir.blocks.module import register_rep_naming
from fgir.blocks.resnet.prune_rows import plan_rows

if TYPE_CHECKING:
    from fgir.ir.graph import Graph, Node

STAGE_NAMING = "torchvision_stages"


@register_rep_naming(STAGE_NAMING)
def torchvision_stage_names(reps: list[dict[str, Any]]) -> list[str]:
    names, stage, index = [], 1, 0
    for i, rep in enumerate(reps):
        if i > 0 and rep.get("stride", 1) != 1:
            stage, index = stage + 1, 0
        names.append(f"layer{stage}.{index}")
        index += 1
    return names


def every_conv_but_the_stem(graph: "Graph") -> list["Node"]:
    """The convolutions a Quant process's bit lists map onto: all but the stem's single conv."""
    return quantizable_convs(graph)[1:]


RESNET = register_family(Family(
    "resnet",
    init={"conv.weight": Init("kaiming_normal", {"mode": "fan_out", "nonlinearity": "relu"}),
          "norm.weight": Init("ones"), "norm.bias": Init("zeros")},
    quant_layers=every_conv_but_the_stem,
    prune_rows=plan_rows))
