"""Where a quantized network holds its tensors as integer codes: the quantization points.

After ``apply_quant`` has given layers their bits, :func:`insert_points` adds a
``quantize`` node (:mod:`fgir.ir.ops.quantize`) on every tensor the integer form
needs quantized, so that both backends compute the same integers and ONNX
Runtime runs integer kernels (a quantized op sits between DequantizeLinear and
QuantizeLinear):

* the input of every layer that quantizes its input, at the layer's activation bits;
* the output of such a layer (an integer kernel), after what a quantized output
  absorbs (its BatchNorm, folded; a ReLU or ReLU6) — unless its op writes float
  (``Trait.WRITES_FLOAT``: a linear layer, as ONNX Runtime's QGemm; attention, whose
  softmax and output projection stay float), whose readers get a point only where
  they need codes themselves;
* the output of every op with an integer kernel (add, concat, mul, average
  pooling) whose inputs are all quantized, after a ReLU that follows it;
* the inputs and the output of an op that quantizes its inputs itself (a matmul of
  two activations, ONNX Runtime's QLinearMatMul), in any quantized network;
* the output of an op that keeps its input's values (a max pool) whose input is
  quantized and whose readers are integer: a point *tied* to its input's.

One tensor is quantized once: its point has the most bits its readers need (a
quantized layer its activation bits, any other reader 8), and a layer that asks
fewer reads a second point quantizing the first one's values again — so a
residual stream stays at 8 bits while a 4-bit layer reads 4-bit codes of it.  A tensor that can be negative (by the op schemas'
sign rules) gets a zero point.  Points are named ``<tensor>.quant`` (and
``<tensor>.quant<bits>``); a point on a block's output becomes that block's output.

Example:
    >>> import fgir
    >>> graph = fgir.compile("examples/quant_resnet20.yaml")
    >>> q = graph["layer1.0.relu.quant"]
    >>> q.attrs["bits"], q.attrs["zero_point"], [n.name for n in q.users]
    (4, False, ['layer1.0.conv2'])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fgir.ir.node import Node
from fgir.ir.ops import OPS, Sign, Trait
from fgir.ir.ops.quantize import QUANTIZE
from fgir.ir.patterns import is_point, point_source

if TYPE_CHECKING:
    from fgir.ir.graph import Graph

DEFAULT_BITS = 8   # a point no reader asks bits of: an integer op's output


def _role(node: Node) -> str | None:
    return OPS[node.op].quant_role


def _is_layer(node: Node) -> bool:
    return "w_bits" in node.meta


def chain_end(node: Node, *, norm: bool) -> Node:
    """Follow ``node``'s sole-reader chain through what a quantized output absorbs: a BatchNorm (for a
    layer whose kernel folds it) and a clamping activation."""
    end = node
    norm = norm and OPS[node.op].has(Trait.TAKES_FOLDED_NORM)
    if norm and len(end.users) == 1 and OPS[end.users[0].op].has(Trait.FOLDS_INTO_CONV):
        end = end.users[0]
    if len(end.users) == 1 and _role(end.users[0]) == "clamp":
        end = end.users[0]
    return end


def may_be_negative(node: Node, memo: dict[str, bool]) -> bool:
    """Whether a tensor can hold negative values, by the op schemas' sign rules."""
    if node.name not in memo:
        sign = OPS[node.op].sign
        if sign is Sign.NON_NEGATIVE:
            memo[node.name] = False
        elif sign is Sign.OF_INPUTS and node.inputs:
            memo[node.name] = any(may_be_negative(src, memo) for src in node.inputs)
        else:
            memo[node.name] = True
    return memo[node.name]


def _asks(reader: Node) -> int:
    """The bits a reader needs of a quantized tensor: a quantized layer its input bits, anyone else 8."""
    return reader.meta["a_bits"] if _is_layer(reader) and reader.meta["a_bits"] <= 8 else DEFAULT_BITS


def quantized_tensors(graph: "Graph") -> list[Node]:
    """The tensors that get a point, in graph order (see the module docstring)."""
    wanted: set[str] = set()
    for node in graph:
        if _is_layer(node) and node.meta["a_bits"] <= 8:   # an integer kernel (float input: a float conv)
            wanted.add(node.inputs[0].name)
            if not OPS[node.op].has(Trait.WRITES_FLOAT):
                wanted.add(chain_end(node, norm=True).name)
        elif _role(node) == "integer_inputs":
            wanted |= {src.name for src in node.inputs} | {chain_end(node, norm=False).name}
    quantized = set(wanted)
    for node in graph:   # in order, so a join sees whether its inputs are quantized
        role = _role(node)
        if role == "integer" and all(src.name in quantized for src in node.inputs):
            end = chain_end(node, norm=False)
            wanted.add(end.name)
            quantized |= {node.name, end.name}
        elif role == "on_grid" and node.inputs and node.inputs[0].name in quantized:
            quantized.add(node.name)
    return [node for node in graph if node.name in wanted]


def insert_points(graph: "Graph") -> list[Node]:
    """Add the quantization points the module docstring describes; returns them, in graph order."""
    signs: dict[str, bool] = {}
    added: list[Node] = []
    for node in quantized_tensors(graph):
        asks = {reader.name: _asks(reader) for reader in node.users}
        bits = max(asks.values(), default=DEFAULT_BITS)
        tie = _tie_source(node, bits)
        attrs = {"bits": bits, "zero_point": may_be_negative(node, signs), "tie": tie.name if tie else None}
        point = _insert(graph, node, f"{node.name}.quant", attrs)
        added.append(point)
        for bits_asked in sorted({b for b in asks.values() if b < bits}, reverse=True):
            readers = [graph[r] for r, b in asks.items() if b == bits_asked]
            lower = Node(f"{node.name}.quant{bits_asked}", QUANTIZE.name,
                         {"bits": bits_asked, "zero_point": attrs["zero_point"]}, [point], point.origin)
            graph.insert_after(point, lower)
            lower.type = point.type
            for reader in readers:
                reader.replace_input(point, lower)
            added.append(lower)
    return added


def _tie_source(node: Node, bits: int) -> Node | None:
    """The point a max pool's (or dropout's) output restates: its input's, at the same bits."""
    if _role(node) != "on_grid" or not node.inputs:
        return None
    source = node.inputs[0]     # its input has been re-pointed to its own point already
    if not is_point(source) or source.attrs["bits"] != bits:
        return None
    return point_source(source)


def _insert(graph: "Graph", tensor: Node, name: str, attrs: dict) -> Node:
    point = Node(name, QUANTIZE.name, attrs, [tensor], tensor.origin)
    graph.insert_after(tensor, point)
    point.type = tensor.type
    graph.replace_all_uses(tensor, point)
    for info in graph.blocks:
        if info.output == tensor.name:
            info.output = point.name
    return point
