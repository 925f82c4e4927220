"""Building a plan's quantized network from the float weights, and measuring it against the float one.

:class:`Bench` holds what every plan shares: the user's spec document, the input
size, the float weights and network, the preprocessing and the data.
:meth:`Bench.build` writes the plan into the spec, compiles it, loads the float
weights, calibrates every quantization point on the calibration images
(:func:`fgir.backends.torch.calibrate.calibrate`, the method chosen) and, unless
turned off, corrects each quantized layer's bias (:mod:`.bias`).  The torch
module computes the integer kernels' arithmetic in eval mode, so its accuracy is
the deployed file's.  A layer's *sensitivity* is the error the network's logits
take (mean square, relative to the float logits' mean square, on the calibration
images) when that layer alone is quantized.

Example:
    >>> import fgir
    >>> from fgir.data import Preprocess
    >>> from fgir.deploy.data import quantization_data
    >>> from fgir.prune.output import SpecTree
    >>> graph = fgir.compile("examples/resnet20_cifar.yaml", input="3x8x8")
    >>> pre = Preprocess.of(0.5, 0.25, (3, 8, 8))
    >>> bench = Bench(SpecTree.read(graph.meta["spec"]["text"], graph.meta["spec"]["file"]), "3x8x8",
    ...               fgir.to_torch(graph, seed=0).state_dict(), pre, quantization_data(pre, 10, "digits", images=64))
    >>> plan = bench.plan(8, 8)
    >>> len(plan.names), plan.names[:2], plan.stem_names
    (21, ['stem', 'layer1.0.conv1'], ('conv1',))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import torch
from torch import nn

from fgir.data.preprocess import Preprocess
from fgir.deploy.bias import BiasShifts, correct_bias
from fgir.deploy.data import QuantizationData
from fgir.deploy.plan import BitPlan, float_space, quant_space
from fgir.ir.graph import Graph
from fgir.prune.output import SpecTree

BATCH = 256


@dataclass
class Built:
    """A plan's quantized network: its compiled graph, the torch module and the bias shifts folded in."""

    plan: BitPlan
    graph: Graph
    model: nn.Module
    shifts: BiasShifts


@dataclass
class Bench:
    """What every plan of one network shares (see the module docstring)."""

    doc: SpecTree
    input: str
    state: dict[str, Any]
    preprocess: Preprocess
    data: QuantizationData
    calibration: str = "percentile"
    bias_correction: bool = True
    _sensitivity: dict[tuple[str, int, int], float] = field(default_factory=dict, repr=False)

    def compile(self, space: dict[str, Any]) -> Graph:
        from fgir.api import compile, loads

        return compile(loads(self.doc.text(space), self.doc.file), input=self.input)

    # the float network and what it gives, computed once per bench
    @cached_property
    def float_graph(self) -> Graph:
        return self.compile(float_space(self.doc.space))

    @cached_property
    def float_model(self) -> nn.Module:
        from fgir.api import to_torch

        return to_torch(self.float_graph, weights=self.state).eval()

    @cached_property
    def float_logits(self) -> torch.Tensor:
        return logits(self.float_model, self.data.calibration)

    @cached_property
    def float_accuracy(self) -> float:
        return accuracy(self.float_model, self.data.eval_x, self.data.eval_y)

    def plan(self, w_bits: int, a_bits: int) -> BitPlan:
        """Every layer the Quant process sets at ``w_bits``/``a_bits`` (the stem at 8)."""
        from fgir.blocks.family import quantizable_convs
        from fgir.quant.scheme import quant_layers

        layers = [n.name for n in quant_layers(self.float_graph)]
        stem = tuple(n.name for n in quantizable_convs(self.float_graph) if n.name not in layers)
        return BitPlan.uniform(layers, w_bits, a_bits, bool(stem), stem)

    def build(self, plan: BitPlan) -> Built:
        """The plan's network: compiled, the float weights loaded, calibrated, its bias corrected."""
        from fgir.api import to_torch
        from fgir.backends.torch.calibrate import calibrate
        from fgir.backends.torch.checkpoint import attach_preprocess

        graph = self.compile(quant_space(self.doc.space, plan))
        model = to_torch(graph, weights=self.state)
        images = self.data.calibration
        calibrate(model, [images[i:i + BATCH] for i in range(0, len(images), BATCH)], method=self.calibration)
        shifts = correct_bias(model, self.float_model, images) if self.bias_correction else BiasShifts()
        attach_preprocess(model, self.preprocess)
        return Built(plan, graph, model.eval(), shifts)

    def accuracy(self, plan: BitPlan) -> float:
        return accuracy(self.build(plan).model, self.data.eval_x, self.data.eval_y)

    def sensitivity(self, plan: BitPlan, name: str) -> float:
        """The relative logit error with layer ``name`` alone quantized, at its bits in ``plan``."""
        key = (name, *plan.bits(name))
        if key not in self._sensitivity:
            out = logits(self.build(plan.only(name)).model, self.data.calibration)
            reference = self.float_logits
            self._sensitivity[key] = float((out - reference).square().mean() / reference.square().mean())
        return self._sensitivity[key]


@torch.no_grad()
def logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i:i + BATCH]) for i in range(0, len(x), BATCH)])


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """The share of ``x`` the model classifies as ``y``."""
    return float((logits(model, x).argmax(1) == y).float().mean())


__all__ = ["Bench", "Built", "accuracy", "logits"]
