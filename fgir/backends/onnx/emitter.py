"""The ONNX graph being built: nodes, initializers and tensor types, named after the IR.

ONNX nodes are named by the IR node's scope (``layer1.0.conv1``); a rule that
needs helper nodes names them ``scope/what``.  Tensors are named after the IR
node whose value they hold; each node's doc string gives its spec location.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from onnx import GraphProto, NodeProto, TensorProto, ValueInfoProto, helper

from fgir.ir.graph import Graph, Node
from fgir.ir.types import TensorType

PACKED_4BIT = (TensorProto.INT4, TensorProto.UINT4)


class Emitter:
    """Collects the nodes, initializers and tensor types of the ONNX graph being built."""

    def __init__(self, graph: Graph, weights: Mapping[str, np.ndarray], folds: Mapping[str, Node],
                 batch: str, out: GraphProto | None = None, opset: int = 21, form: str = "integer") -> None:
        self.graph = graph
        self.weights = weights
        self.folds = folds          # conv name → the batch_norm it absorbs
        self.batch = batch
        self.opset = opset          # which element types exist (INT4 from 21)
        self.form = form            # how quantized weights are stored (fgir.backends.onnx.quant)
        self.out = out if out is not None else GraphProto()   # initializers go straight in here
        self.nodes: list[NodeProto] = []
        self.value_info: list[ValueInfoProto] = []

    def input_type(self, node: Node) -> TensorType:
        return node.inputs[0].type

    def param(self, name: str, array: np.ndarray | np.generic, dtype: type = np.float32, *,
              data_type: int | None = None) -> str:
        """An initializer; written in place, as building and copying TensorProtos costs more than the math.

        ``data_type`` INT4 or UINT4 stores the values (given as int8 or uint8) packed two a byte.
        """
        # ONNX raw data is little-endian; asarray keeps a scalar a scalar (QLinearAdd needs them so),
        # where ascontiguousarray would make it 1-d
        array = np.asarray(array, np.dtype(dtype).newbyteorder("<"), order="C")
        if data_type in PACKED_4BIT:    # onnx packs them: low nibble first, as the spec says
            self.out.initializer.append(helper.make_tensor(name, data_type, array.shape, array, raw=True))
            return name
        tensor = self.out.initializer.add()
        tensor.name = name
        tensor.data_type = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        tensor.dims.extend(array.shape)
        tensor.raw_data = array.tobytes()
        return name

    def tensor_type(self, name: str, dims: tuple[int, ...], elem_type: int = TensorProto.FLOAT) -> ValueInfoProto:
        return helper.make_tensor_value_info(name, elem_type, [self.batch, *dims])

    def raw(self, op_type: str, inputs: list[str], name: str, output: str, doc: str = "",
            **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=name, doc_string=doc, **attrs))
        return output

    def op(self, op_type: str, inputs: list[str], node: Node, value: Node | None = None,
           note: str = "", *, name: str | None = None, **attrs: Any) -> str:
        """One ONNX node whose output holds ``value``'s value (``node``'s by default).

        The node is named ``node.name`` (``name`` overrides) and documented with ``node``'s spec location.
        """
        value = value or node
        self.raw(op_type, inputs, name or node.name, value.name, f"{where(node)}{note}", **attrs)
        self.value_info.append(self.tensor_type(value.name, value.type.dims))
        return value.name


def where(node: Node) -> str:
    """The spec location an IR node comes from, as its ONNX nodes' doc strings give it."""
    return f"{node.origin.loc}: {node.origin.path}" if node.origin.path else str(node.origin.loc)


def where(node: Node) -> str:
    """The spec location an IR node comes from, as its ONNX nodes' doc strings give it."""
    return f"{node.origin.loc}: {node.origin.path}" if node.origin.path else str(node.origin.loc)
