"""IR → ``torch.nn.Module``, through a ``torch.fx`` graph (generated Python ``forward``, no interpreter).

Every IR node with weights becomes a submodule at its scope path
(``layer1.0.conv1``), so ``state_dict`` keys are the scope names — for an
ImageNet-depth ResNet, exactly torchvision's.  Convolutions get torchvision's
ResNet initialisation (Kaiming normal, fan-out), BatchNorm weight 1 and bias 0.
"""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Any, Callable

import torch
import torch.fx
from torch import nn

from fgir.diagnostics import Diagnostic, FgirError, Loc, SpecIOError
from fgir.backends.torch_quant import QuantConv2d
from fgir.ir.graph import Graph, Node

CHECKPOINT_FORMAT = "fgir-checkpoint-1"


def _conv(node: Node) -> nn.Module:
    a = node.attrs
    args = (a["in_channels"], a["out_channels"], tuple(a["kernel_size"]), tuple(a["stride"]),
            tuple(a["padding"]), tuple(a["dilation"]), a["groups"], a["bias"])
    if "w_bits" in node.meta:  # annotated by apply_quant
        return QuantConv2d(*args, w_bits=node.meta["w_bits"], a_bits=node.meta["a_bits"])
    return nn.Conv2d(*args)


NODE_BUILDERS: dict[str, Callable[[Node], nn.Module]] = {"conv2d": _conv}
MODULE_BUILDERS: dict[str, Callable[[dict[str, Any]], nn.Module]] = {
    "batch_norm": lambda a: nn.BatchNorm2d(a["num_features"], a["eps"], a["momentum"], a["affine"]),
    "relu": lambda a: nn.ReLU(inplace=False),
    "max_pool2d": lambda a: nn.MaxPool2d(tuple(a["kernel_size"]), tuple(a["stride"]), tuple(a["padding"])),
    "avg_pool2d": lambda a: nn.AvgPool2d(tuple(a["kernel_size"]), tuple(a["stride"]), tuple(a["padding"])),
    "adaptive_avg_pool2d": lambda a: nn.AdaptiveAvgPool2d(tuple(a["output_size"])),
    "linear": lambda a: nn.Linear(a["in_features"], a["out_features"], a["bias"]),
    "dropout": lambda a: nn.Dropout(a["p"]),
    "identity": lambda a: nn.Identity(),
}
FUNCTIONS: dict[str, Callable[..., Any]] = {"add": operator.add}


def _place(root: nn.Module, path: str, module: nn.Module) -> None:
    *parents, leaf = path.split(".")
    holder = root
    for part in parents:
        if not hasattr(holder, part):
            holder.add_module(part, nn.Module())
        holder = getattr(holder, part)
    holder.add_module(leaf, module)


def _init_weights(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):  # QuantConv2d included
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def build_module(graph: Graph, seed: int | None = None) -> torch.fx.GraphModule:
    """The ``nn.Module`` for a lowered graph; ``seed`` makes its initial weights reproducible."""
    if not graph.is_lowered:
        raise ValueError("build_module needs a lowered graph (fgir.compile gives one)")
    generator_state = torch.random.get_rng_state()
    if seed is not None:
        torch.manual_seed(seed)
    try:
        root = nn.Module()
        fx_graph = torch.fx.Graph()
        values: dict[str, torch.fx.Node] = {}
        for node in graph:
            values[node.name] = _emit(node, values, root, fx_graph)
        fx_graph.output(values[graph.output])
        _init_weights(root)
    finally:
        if seed is not None:
            torch.random.set_rng_state(generator_state)
    module = torch.fx.GraphModule(root, fx_graph, class_name="FgirModule")
    module.fgir_spec = dict(graph.meta.get("spec", {}))
    module.fgir_input = list(graph.meta.get("input", []))
    return module


def _emit(node: Node, values: dict[str, torch.fx.Node], root: nn.Module,
          fx_graph: torch.fx.Graph) -> torch.fx.Node:
    args = tuple(values[name] for name in node.inputs)
    if node.op == "input":
        return fx_graph.placeholder("x")
    if node.op == "flatten":
        return fx_graph.call_function(torch.flatten, (args[0], 1))
    if node.op in FUNCTIONS:
        return fx_graph.call_function(FUNCTIONS[node.op], args)
    builder = NODE_BUILDERS.get(node.op)
    _place(root, node.name, builder(node) if builder else MODULE_BUILDERS[node.op](node.attrs))
    return fx_graph.call_module(node.name, args)


def save_checkpoint(module: nn.Module, path: Path) -> None:
    """Write weights and the resolved spec atomically (temporary file, then rename)."""
    spec = getattr(module, "fgir_spec", None)
    if not spec:
        raise ValueError("only modules built by fgir.to_torch carry their spec")
    payload = {"format": CHECKPOINT_FORMAT, "spec_text": spec["text"], "spec_file": spec["file"],
               "input": list(getattr(module, "fgir_input", [])), "state_dict": module.state_dict()}
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        torch.save(payload, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load an fgir checkpoint with ``weights_only=True`` (never runs pickled code)."""
    where = Loc(str(path))
    if not path.is_file():
        raise SpecIOError(Diagnostic(where, "", "no such file"))
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad or unsafe file
        raise SpecIOError(Diagnostic(where, "", f"not a loadable weights-only checkpoint "
                                                f"({type(exc).__name__}: {str(exc).splitlines()[0]})"))
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise FgirError(Diagnostic(where, "", "not an fgir checkpoint (written by 'fgir compile -o "
                                              "model.pt'); a bare state_dict has no spec to rebuild from"))
    return payload
