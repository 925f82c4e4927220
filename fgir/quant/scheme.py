"""The quantization scheme: the one place that maps a Quant process's bit lists onto layers.

``nbit_w_list`` gives each quantized layer's weight bits and ``nbit_a_list`` its
input activation bits, in the order of :func:`quant_layers` — the network
family's rule (for ResNets, every convolution but the stem's; docs/semantics.md;
for ViT and ConvNeXt, every quantizable layer — conv, linear, attention's
projections — but the stem and the classifier).
A scalar means every layer; 32 means "not quantized".  ``apply_quant``
annotates the IR from :func:`assign_bits` (``meta["w_bits"]``/``["a_bits"]``);
the static search evaluator, and both backends, read the same annotations or
the same function.

Example:
    >>> import fgir
    >>> graph = fgir.compile("examples/quant_resnet20.yaml")
    >>> [n.name for n in quant_layers(graph)][:3], weight_bits(graph["layer1.0.conv1"])
    (['layer1.0.conv1', 'layer1.0.conv2', 'layer1.1.conv1'], 8)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fgir.blocks.family import family_of_network, quantizable_convs
from fgir.ir.ops import OPS, Trait

if TYPE_CHECKING:
    from fgir.ir.graph import Graph, Node, ProcessRecord

FLOAT_BITS = 32
DEFAULT_STEM_BITS = 8   # the integer form quantizes the stem too, unless the process says 32
BIT_LISTS = {"nbit_w_list": "w_bits", "nbit_a_list": "a_bits"}   # process argument → node annotation
# what the backends offer, named here (no torch, no onnx) for the API's and the CLI's checks
CALIBRATION_METHODS = ("minmax", "percentile", "mse")   # fgir.backends.torch.calibrate
ONNX_FORMS = ("integer", "storage")                     # fgir.backends.onnx.quant: integer kernels or packed 4-bit


class BitListMismatch(ValueError):
    """A bit list whose length is not the number of layers it maps onto."""

    def __init__(self, process: "ProcessRecord", arg: str, given: int, layers: list["Node"], rule: str) -> None:
        self.process, self.arg, self.given, self.layers = process, arg, given, layers
        what = "convolutions" if all(OPS[n.op].has(Trait.CONVOLUTION) for n in layers) else "layers"
        self.message = f"{given} bit widths for {len(layers)} quantizable {what}"
        self.hint = f"the quantizable {what}, in order ({rule}): {', '.join(n.name for n in layers)}"
        super().__init__(f"{process.name}.{arg}: {self.message}")


def quant_layers(graph: "Graph") -> list["Node"]:
    """The layers a Quant process's bit lists map onto, in order (the network family's rule)."""
    return family_of_network(graph).quant_layers(graph)


@dataclass(frozen=True)
class LayerBits:
    layer: "Node"
    w_bits: int
    a_bits: int


def assign_bits(graph: "Graph", process: "ProcessRecord") -> list[LayerBits]:
    """Each quantized layer with its bits; :class:`BitListMismatch` for every list of the wrong length.

    Raises the first mismatch; ``mismatches(...)`` below gives them all.
    """
    found = mismatches(graph, process)
    if found:
        raise found[0]
    layers = quant_layers(graph)
    per_arg = {arg: _expand(process.args[arg], len(layers)) for arg in BIT_LISTS}
    return [LayerBits(layer, int(per_arg["nbit_w_list"][i]), int(per_arg["nbit_a_list"][i]))
            for i, layer in enumerate(layers)]


def stem_bits(graph: "Graph", process: "ProcessRecord") -> dict[str, int]:
    """The convolutions the lists leave out (the stem) with the process's ``stem_bits``; none if 32."""
    bits = process.args.get("stem_bits", DEFAULT_STEM_BITS)
    if bits >= FLOAT_BITS:
        return {}
    listed = {layer.name for layer in quant_layers(graph)}
    return {node.name: bits for node in quantizable_convs(graph) if node.name not in listed}


def mismatches(graph: "Graph", process: "ProcessRecord") -> list[BitListMismatch]:
    layers = quant_layers(graph)
    rule = family_of_network(graph).quant_rule
    return [BitListMismatch(process, arg, len(value), layers, rule)
            for arg in BIT_LISTS for value in [process.args[arg]]
            if isinstance(value, list) and len(value) != len(layers)]


def _expand(value, count: int) -> list[int]:
    return value if isinstance(value, list) else [value] * count


def activation_levels(bits: int) -> int:
    """The top code of a ``bits``-bit activation: codes run 0 … 2^bits - 1 (with a zero point if signed)."""
    return 2 ** bits - 1


def weight_qmax(bits: int) -> int:
    """The largest weight code magnitude: symmetric codes -(2^(bits-1) - 1) … 2^(bits-1) - 1 (1 bit: ±1)."""
    return max(1, 2 ** (bits - 1) - 1)


def weight_bits(node: "Node") -> int:
    return node.meta.get("w_bits", FLOAT_BITS)


def activation_bits(node: "Node") -> int:
    return node.meta.get("a_bits", FLOAT_BITS)
