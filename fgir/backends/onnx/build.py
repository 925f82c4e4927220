"""Lowered IR + weights → an ONNX ``ModelProto`` for inference, emitted directly (no torch, no tracing).

The emitter reads only the lowered, checked graph and a dict of numpy weights
named like the torch backend's ``state_dict``.  It produces the inference form:
every BatchNorm folded into the convolution before it where that conv feeds it
alone (``keep_bn=True`` keeps ``BatchNormalization`` nodes instead), dropout and
identity gone, a dynamic batch dimension ``N``, every ONNX node named by its IR
scope (``layer1.0.conv1``) with its spec location as ``doc_string``, and fgir's
version, the spec's sha256 and the input preprocessing the weights were trained
with (``fgir.preprocess``: :mod:`fgir.data.preprocess`, JSON) in ``metadata_props``;
``bake_preprocess`` puts that normalisation in the graph, ``(x - mean) / std`` as
its first ops (Sub, Div), and says so (``fgir.preprocess.baked``).  Convolutions a Quant
process annotated store their weights as int8/int4 codes and quantize their
input with QuantizeLinear/DequantizeLinear (:mod:`fgir.backends.onnx_quant`).
Op rules live in :mod:`fgir.backends.onnx_ops`, weight checks and folding in
:mod:`fgir.backends.onnx_weights`, atomic writing in :mod:`fgir.backends.onnx_io`.

Example:
    >>> import fgir, numpy as np
    >>> graph = fgir.compile("examples/resnet20_cifar.yaml")
    >>> weights = {k: v.numpy() for k, v in fgir.to_torch(graph, seed=0).state_dict().items()}
    >>> model = build_model(graph, weights)
    >>> model.graph.node[0].name, model.graph.node[0].op_type
    ('conv1', 'Conv')
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import onnx
from onnx import ModelProto, helper

from fgir.backends.onnx.emitter import Emitter
from fgir.backends.onnx.quant import FORMS
from fgir.backends.onnx.rules import KEEP_BN, LOWERINGS
from fgir.backends.onnx.weights import check_weights
from fgir.data.preprocess import BAKED_KEY, METADATA_KEY, Preprocess
from fgir.ir.patterns import norm_folds
from fgir.quant.scheme import FLOAT_BITS, weight_bits
from fgir.diagnostics import Loc
from fgir.version import __version__
from fgir.ir.graph import Graph

DEFAULT_OPSET = 21
CONTRIB_OPSETS = {"com.microsoft": 1}   # the op-set version of each non-standard domain a rule may emit
MIN_OPSET = 17
BATCH_DIM = "N"
OUTPUT = "output"

__all__ = ["BATCH_DIM", "DEFAULT_OPSET", "MIN_OPSET", "build_model",
           "check_opset", "max_opset"]


def max_opset() -> int:
    """The newest ONNX opset the installed onnx package knows."""
    return onnx.defs.onnx_opset_version()


def check_opset(opset: int) -> int:
    """``opset`` if fgir can emit it, else ValueError saying which it can.

    >>> check_opset(21)
    21
    """
    if isinstance(opset, bool) or not isinstance(opset, int):
        raise ValueError(f"the opset is a whole number, not {opset!r}")
    if not MIN_OPSET <= opset <= max_opset():
        raise ValueError(f"opset {opset} is not supported: fgir emits opsets {MIN_OPSET} to "
                         f"{max_opset()} (the newest the installed onnx {onnx.__version__} knows)")
    return opset


def build_model(graph: Graph, weights: Mapping[str, np.ndarray], *, opset: int = DEFAULT_OPSET,
                keep_bn: bool = False, form: str = "integer", source: Loc = Loc("<weights>"),
                preprocess: dict | None = None, bake_preprocess: bool = False) -> ModelProto:
    """The ONNX model of a lowered, checked graph with these weights (see the module docstring).

    ``form`` is how quantized layers are stored (:mod:`fgir.backends.onnx.quant`): ``integer``
    or ``storage``.  ``keep_bn`` keeps float layers' BatchNormalization nodes; a quantized
    conv always folds its BatchNorm, as its integer kernel needs.  ``source`` names where the
    weights came from in diagnostics: a missing, extra or misshapen tensor raises
    :class:`~fgir.diagnostics.FgirError`.  ``preprocess``: the record (:meth:`Preprocess.to_dict`) to keep
    in the metadata, and with ``bake_preprocess`` to apply to the input first.
    """
    check_opset(opset)
    if form not in FORMS:
        raise ValueError(f"form '{form}': expected one of {', '.join(FORMS)}")
    if not graph.is_lowered or "channels_checked" not in graph.properties:
        raise ValueError("build_model needs a lowered, checked graph (fgir.compile gives one)")
    folds = norm_folds(graph)
    if keep_bn:
        folds = {conv: bn for conv, bn in folds.items() if weight_bits(graph[conv]) < FLOAT_BITS}
    folded = {bn.name for bn in folds.values()}
    rules = {**LOWERINGS, **KEEP_BN} if keep_bn else LOWERINGS
    model = ModelProto(ir_version=helper.OP_SET_ID_VERSION_MAP[("ai.onnx", opset)],
                       producer_name="fgir", producer_version=__version__)
    model.opset_import.add(domain="", version=opset)
    if bake_preprocess and preprocess is None:
        raise ValueError("bake_preprocess needs a preprocessing record")
    helper.set_model_props(model, {**_metadata(graph, keep_bn), **_preprocess_props(preprocess, bake_preprocess)})
    em = Emitter(graph, check_weights(graph, weights, source), folds, BATCH_DIM, model.graph, opset, form)
    values: dict[str, str] = {}
    for node in graph:
        if node.name in folded:
            values[node.name] = values[node.inputs[0].name]    # the conv before it computes its value
        else:
            values[node.name] = rules[node.op](em, node, [values[src.name] for src in node.inputs])
        if bake_preprocess and node is graph.input:
            values[node.name] = _normalise(em, values[node.name], Preprocess.from_dict(preprocess))
    if len(graph.outputs) == 1:
        names = [_name_output(em, graph, values[graph.output.name])]
    else:
        names = _name_outputs(em, graph, values)
    out = model.graph
    out.name = _graph_name(graph)
    out.node.extend(em.nodes)
    for domain in sorted({n.domain for n in em.nodes if n.domain}):   # ONNX Runtime's contrib ops (attention)
        model.opset_import.add(domain=domain, version=CONTRIB_OPSETS[domain])
    out.input.append(em.tensor_type(graph.input.name, graph.input.type.dims))
    out.output.extend(em.tensor_type(name, node.type.dims) for name, node in zip(names, graph.outputs))
    out.value_info.extend(vi for vi in em.value_info if vi.name not in names)
    return model


def _name_outputs(em: Emitter, graph: Graph, values: dict[str, str]) -> list[str]:
    """Several outputs: one graph output each, named as the spec names them (``outputs: [logits, aux]``).

    A tensor is renamed where nothing else owns the name; the graph input, a tensor two outputs share, or
    a name another tensor holds gets an Identity of its own."""
    owned = {name for node in em.nodes for name in node.output} | {graph.input.name}
    names, taken, renamed = [], set(), {}
    for name, node in zip(graph.output_names, graph.outputs):
        tensor = renamed.get(values[node.name], values[node.name])
        if tensor == name and name not in taken:
            pass
        elif tensor in taken or tensor == graph.input.name or name in owned:
            em.raw("Identity", [tensor], f"{name}/output", name)
        else:
            _rename(em, tensor, name)
            renamed[tensor] = name
            tensor = name
        owned.add(name)
        taken.add(tensor)
        taken.add(name)
        names.append(name)
    return names


def _rename(em: Emitter, tensor: str, name: str) -> None:
    for node in em.nodes:
        node.input[:] = [name if n == tensor else n for n in node.input]
        node.output[:] = [name if n == tensor else n for n in node.output]
    for info in em.value_info:
        if info.name == tensor:
            info.name = name


def _name_output(em: Emitter, graph: Graph, tensor: str) -> str:
    """Call the graph's result ``output`` (a stable name for runtimes), unless a node owns that name."""
    if tensor == graph.input.name:  # a network of identities: its output needs a node of its own
        return em.raw("Identity", [tensor], graph.output.name, OUTPUT)
    if OUTPUT in graph.nodes:
        return tensor
    _rename(em, tensor, OUTPUT)
    return OUTPUT


def _normalise(em: Emitter, tensor: str, preprocess: Preprocess) -> str:
    """``(x - mean) / std`` per channel on the input: the same float32 arithmetic training did."""
    shape = (1, preprocess.channels, 1, 1)
    mean = em.param(f"{tensor}/preprocess.mean", np.reshape(preprocess.mean, shape))
    std = em.param(f"{tensor}/preprocess.std", np.reshape(preprocess.std, shape))
    doc = f"the input preprocessing fgir train used: {preprocess.describe()}"
    centred = em.raw("Sub", [tensor, mean], f"{tensor}/preprocess.sub", f"{tensor}/centred", doc)
    return em.raw("Div", [centred, std], f"{tensor}/preprocess.div", f"{tensor}/normalised", doc)


def _preprocess_props(record: dict | None, baked: bool) -> dict[str, str]:
    if record is None:
        return {}
    return {METADATA_KEY: Preprocess.from_dict(record).to_json(), BAKED_KEY: "true" if baked else "false"}


def _graph_name(graph: Graph) -> str:
    return Path(graph.meta.get("spec", {}).get("file", "")).stem or "fgir"


def _metadata(graph: Graph, keep_bn: bool) -> dict[str, str]:
    spec = graph.meta.get("spec", {})
    props = {"fgir.version": __version__,
             "fgir.input": "x".join(str(d) for d in graph.meta.get("input", [])),
             "fgir.batch_norm": "kept" if keep_bn else "folded"}
    if spec:
        props["fgir.spec.sha256"] = spec["sha256"]
        props["fgir.spec.file"] = spec["file"]
    return props
