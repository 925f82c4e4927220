"""The allow-listed torch.nn-style layers: each one primitive IR op, with torch.nn's argument names.

Activations are made from their op schemas (one layer for each schema that names one).

A Linear's ``in_features``, a Conv2d's ``in_channels`` and a BatchNorm2d's
``num_features`` may be left out: ``infer_shapes`` reads them off the incoming
tensor.  When given, ``check_channels`` checks them.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from typing import Annotated

from fgir.blocks.argtypes import REQUIRED, Min, Range, Width
from fgir.blocks.module import Layer
from fgir.blocks.registry import register_block
from fgir.ir.ops import OPS, Trait

Pair = int | tuple[int, int]            # an int, or [height, width]
PositivePair = Annotated[Pair, Min(1)]
Probability = Annotated[float, Range(0, 1)]


def _pair_or(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


@register_block
class Conv2d(Layer):
    op = "conv2d"
    has_params = True

    def constructor(self, in_channels: Optional[Width] = None, out_channels: Width = REQUIRED,
                    kernel_size: PositivePair = REQUIRED, stride: PositivePair = 1,
                    padding: Pair = 0, dilation: PositivePair = 1, groups: Width = 1, bias: bool = True) -> None:
        pass

    def ir_attrs(self) -> dict[str, Any]:
        a = self._args
        return {"in_channels": a["in_channels"], "out_channels": a["out_channels"],
                "kernel_size": a["kernel_size"], "stride": _pairs(a["stride"]),
                "padding": _pairs(a["padding"]), "dilation": _pairs(a["dilation"]),
                "groups": a["groups"], "bias": a["bias"]}


def _pairs(value: Any) -> Any:
    return [value, value] if isinstance(value, int) else value


@register_block
class BatchNorm2d(Layer):
    op = "batch_norm"
    has_params = True

    def constructor(self, num_features: Optional[Width] = None, eps: float = 1e-5,
                    momentum: float = 0.1, affine: bool = True) -> None:
        pass


def _activation_layer(op: str, layer: str) -> type[Layer]:
    """The torch.nn-style layer of an activation op (``type: ReLU``), made from its schema."""

    class Activation(Layer):
        def constructor(self, inplace: bool = False) -> None:
            pass

        def ir_attrs(self) -> dict[str, Any]:
            return {}  # in-place is an execution detail, not part of the network

    Activation.op = op
    Activation.__name__ = Activation.__qualname__ = layer
    Activation.__doc__ = f"The {op} activation, as torch.nn.{layer} (``inplace`` is accepted and ignored)."
    return register_block(Activation)


ACTIVATIONS: dict[str, type[Layer]] = {
    schema.layer: _activation_layer(schema.name, schema.layer)
    for schema in OPS.values() if schema.has(Trait.ACTIVATION) and schema.layer}
ReLU = ACTIVATIONS["ReLU"]


class _Pool(Layer):
    def constructor(self, kernel_size: PositivePair = REQUIRED, stride: Optional[PositivePair] = None,
                    padding: Pair = 0) -> None:
        pass

    def ir_attrs(self) -> dict[str, Any]:
        a = self._args
        return {"kernel_size": _pairs(a["kernel_size"]),
                "stride": _pairs(_pair_or(a["stride"], a["kernel_size"])),
                "padding": _pairs(a["padding"])}


@register_block
class MaxPool2d(_Pool):
    op = "max_pool2d"


@register_block
class AvgPool2d(_Pool):
    op = "avg_pool2d"

    def constructor(self, kernel_size: PositivePair = REQUIRED, stride: Optional[PositivePair] = None,
                    padding: Pair = 0, count_include_pad: bool = True) -> None:
        pass

    def ir_attrs(self) -> dict[str, Any]:
        return {**super().ir_attrs(), "count_include_pad": self._args["count_include_pad"]}


@register_block
class AdaptiveAvgPool2d(Layer):
    op = "adaptive_avg_pool2d"

    def constructor(self, output_size: PositivePair = REQUIRED) -> None:
        pass

    def ir_attrs(self) -> dict[str, Any]:
        return {"output_size": _pairs(self._args["output_size"])}


@register_block
class Flatten(Layer):
    """Flatten everything but the batch dimension (``start_dim`` 1, the only supported value)."""

    op = "flatten"

    def constructor(self, start_dim: Literal[1] = 1) -> None:
        pass

    def ir_attrs(self) -> dict[str, Any]:
        return {}


@register_block
class View(Flatten):
    """The guide's View: reshape to (N, -1)."""

    def constructor(self) -> None:
        pass


@register_block
class Linear(Layer):
    op = "linear"
    has_params = True

    def constructor(self, in_features: Optional[Width] = None, out_features: Width = REQUIRED,
                    bias: bool = True) -> None:
        pass


@register_block
class Dropout(Layer):
    op = "dropout"

    def constructor(self, p: Probability = 0.5, inplace: bool = False) -> None:
        pass

    def ir_attrs(self) -> dict[str, Any]:
        return {"p": self._args["p"]}


@register_block
class StochasticDepth(Layer):
    """torchvision.ops.StochasticDepth: drop a residual branch per sample ("row") or per batch, in training."""

    op = "stochastic_depth"

    def constructor(self, p: Probability = REQUIRED, mode: Literal["row", "batch"] = "row") -> None:
        pass


@register_block
class Identity(Layer):
    op = "identity"

    def constructor(self) -> None:
        pass
