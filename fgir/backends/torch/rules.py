"""How each primitive IR op becomes torch: one lowering rule per op schema.

A :class:`ModuleRule` builds an ``nn.Module`` that sits at the node's scope path
(so ``state_dict`` keys are the scope names); a :class:`FunctionRule` calls a
function in the generated ``forward``; a :class:`ParameterRule` holds the node's
one tensor as a parameter at its scope path and calls a function on it.  Parameter tensors are the schema's
(``fgir.ir.ops``), with the same names and shapes.

Example:
    >>> from fgir.ir.graph import Node
    >>> RULES["relu"].build(Node("act", "relu"))
    ReLU()
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from fgir.backends.torch.quant import FakeQuantize, FoldedBatchNorm2d, QuantConv2d, QuantLinear
from fgir.ir.graph import Node
from fgir.quant.scheme import FLOAT_BITS, activation_bits, weight_bits


@dataclass(frozen=True)
class ModuleRule:
    build: Callable[[Node], nn.Module]


@dataclass(frozen=True)
class FunctionRule:
    fn: Callable[..., Any]
    extra: Callable[[Node], tuple] = lambda node: ()   # arguments after the inputs
    packed: bool = False                                 # the inputs go in as one list (torch.cat)


@dataclass(frozen=True)
class ParameterRule:
    """An op whose one tensor is the node's own (its weight named ``""``): an ``nn.Parameter`` at the node's
    path on the parent module, so its ``state_dict`` key is the path (torchvision's ``class_token``), read
    with ``get_attr`` and passed to ``fn`` after the inputs."""

    make: Callable[[Node], torch.Tensor]                 # the fresh tensor
    fn: Callable[..., Any]
    extra: Callable[[Node], tuple] = lambda node: ()   # arguments after the inputs and the tensor


@dataclass(frozen=True)
class InputRule:
    """The graph input: the ``forward``'s one argument."""


def _pair(value: list[int]) -> tuple[int, int]:
    return tuple(value)  # type: ignore[return-value]


def _conv(node: Node) -> nn.Module:
    a = node.attrs
    args = (a["in_channels"], a["out_channels"], _pair(a["kernel_size"]), _pair(a["stride"]),
            _pair(a["padding"]), _pair(a["dilation"]), a["groups"], a["bias"])
    if weight_bits(node) < FLOAT_BITS or activation_bits(node) < FLOAT_BITS:   # annotated by apply_quant
        return QuantConv2d(*args, w_bits=weight_bits(node), a_bits=activation_bits(node))
    return nn.Conv2d(*args)


def _linear(node: Node) -> nn.Module:
    args = (node.attrs["in_features"], node.attrs["out_features"], node.attrs["bias"])
    if weight_bits(node) < FLOAT_BITS or activation_bits(node) < FLOAT_BITS:   # annotated by apply_quant
        return QuantLinear(*args, w_bits=weight_bits(node), a_bits=activation_bits(node))
    return nn.Linear(*args)


class StochasticDepth(nn.Module):
    """torchvision's ``StochasticDepth``: in training, zero a sample's branch with probability ``p``
    ("row") or the whole batch's ("batch") and scale the rest by 1/(1-p); the identity in eval mode."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        return x * (noise.div_(survival) if survival > 0.0 else noise)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


def _batch_norm(node: Node) -> nn.Module:
    a = node.attrs
    # after a quantized conv it may be folded into it (QuantConv2d.attach decides, as the ONNX graph does)
    quantized = weight_bits(node.inputs[0]) < FLOAT_BITS or activation_bits(node.inputs[0]) < FLOAT_BITS
    return (FoldedBatchNorm2d if quantized else nn.BatchNorm2d)(a["num_features"], a["eps"], a["momentum"],
                                                                a["affine"])


def _quantize(node: Node) -> nn.Module:
    a = node.attrs
    # a tied point restates its source's codes after an op that keeps them (a max pool): nothing to do
    return nn.Identity() if a["tie"] is not None else FakeQuantize(a["bits"], a["zero_point"])


def _pool(cls: type[nn.Module], **extra: Any) -> ModuleRule:
    return ModuleRule(lambda n: cls(_pair(n.attrs["kernel_size"]), _pair(n.attrs["stride"]),
                                    _pair(n.attrs["padding"]), **extra))


RULES: dict[str, ModuleRule | FunctionRule | ParameterRule | InputRule] = {
    "input": InputRule(),
    "conv2d": ModuleRule(_conv),
    "batch_norm": ModuleRule(_batch_norm),
    "relu": ModuleRule(lambda n: nn.ReLU()),
    "relu6": ModuleRule(lambda n: nn.ReLU6()),
    "silu": ModuleRule(lambda n: nn.SiLU()),
    "sigmoid": ModuleRule(lambda n: nn.Sigmoid()),
    "hard_sigmoid": ModuleRule(lambda n: nn.Hardsigmoid()),
    "hard_swish": ModuleRule(lambda n: nn.Hardswish()),
    "max_pool2d": _pool(nn.MaxPool2d),
    "avg_pool2d": ModuleRule(lambda n: nn.AvgPool2d(_pair(n.attrs["kernel_size"]), _pair(n.attrs["stride"]),
                                                    _pair(n.attrs["padding"]),
                                                    count_include_pad=n.attrs["count_include_pad"])),
    "adaptive_avg_pool2d": ModuleRule(lambda n: nn.AdaptiveAvgPool2d(_pair(n.attrs["output_size"]))),
    "flatten": FunctionRule(torch.flatten, lambda n: (1,)),
    "linear": ModuleRule(_linear),
    "dropout": ModuleRule(lambda n: nn.Dropout(n.attrs["p"])),
    "stochastic_depth": ModuleRule(lambda n: StochasticDepth(n.attrs["p"], n.attrs["mode"])),
    "identity": ModuleRule(lambda n: nn.Identity()),
    "add": FunctionRule(operator.add),
    "mul": FunctionRule(operator.mul),
    "concat": FunctionRule(torch.cat, lambda n: (n.attrs["dim"],), packed=True),
    "quantize": ModuleRule(_quantize),
}

# the op groups kept in modules of their own (they import this module's rule classes: hence at the end)
from fgir.backends import plugin_rules  # noqa: E402
from fgir.backends.torch import rules_sequence, rules_vision  # noqa: E402

RULES.update(rules_vision.RULES)
RULES.update(rules_sequence.RULES)


def adopt_plugin_rule(op: str, rule: Any) -> None:
    """Take a plugin op's torch rule: a rule object, or a function building its ``nn.Module``."""
    RULES[op] = rule if isinstance(rule, (ModuleRule, FunctionRule, ParameterRule)) else ModuleRule(rule)


for _op, _rule in plugin_rules.PLUGIN_TORCH.items():   # ops registered before torch was imported
    adopt_plugin_rule(_op, _rule)
