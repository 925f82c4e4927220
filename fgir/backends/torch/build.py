"""IR → ``torch.nn.Module``, through a ``torch.fx`` graph (generated Python ``forward``, no interpreter).

Each IR node becomes what its op's rule (:mod:`.rules`) says: a submodule at the
node's scope path (``layer1.0.conv1``), so ``state_dict`` keys are the scope
names — for an ImageNet-depth ResNet, exactly torchvision's — or a function
call.  Fresh weights follow the network family's initialisation (:mod:`.init`).

Example:
    >>> import fgir
    >>> module = build_module(fgir.compile("examples/resnet20_cifar.yaml"), seed=0)
    >>> sum(p.numel() for p in module.parameters()), type(module.layer1.get_submodule('0').conv1).__name__
    (272474, 'Conv2d')
"""

from __future__ import annotations

from typing import Any

import torch
import torch.fx
from torch import nn

from fgir.backends.torch.codegen import FgirModule, structure_key
from fgir.backends.torch.init import initialise
from fgir.backends.torch.quant import QUANTIZED_LAYERS
from fgir.backends.torch.rules import RULES, FunctionRule, InputRule, ModuleRule, ParameterRule
from fgir.ir.graph import Graph, Node
from fgir.ir.patterns import is_point, norm_folds, point_source


def _place(root: nn.Module, path: str, module: nn.Module | nn.Parameter) -> nn.Module | nn.Parameter:
    """Put ``module`` at ``path`` under ``root`` (plain modules hold the parents), and give it back."""
    *parents, leaf = path.split(".")
    holder = root
    for part in parents:
        child = holder._modules.get(part)    # the common case, read directly
        if child is None:
            if not hasattr(holder, part):
                holder.add_module(part, nn.Module())
            child = getattr(holder, part)
        holder = child
    if isinstance(module, nn.Parameter):   # a node's own tensor: a parameter of the module above it
        holder.register_parameter(leaf, module)
    else:
        holder.add_module(leaf, module)
    return module


OUTPUT_FORMS = ("tuple", "dict")


def build_module(graph: Graph, seed: int | None = None, outputs: str = "tuple",
                 initialise_weights: bool = True) -> torch.fx.GraphModule:
    """The ``nn.Module`` for a lowered graph; ``seed`` makes its initial weights reproducible.

    ``initialise_weights=False`` leaves each layer's tensors as its torch constructor made them, skipping the
    family's initialisation: for a module whose tensors are replaced before use (a supernet's candidate,
    called on shared tensors through ``torch.func.functional_call``).

    A network of several outputs (``outputs: [logits, aux]``) returns them as a tuple in that order,
    or with ``outputs="dict"`` as a dict by name; one output is returned as it is either way."""
    if outputs not in OUTPUT_FORMS:
        raise ValueError(f"outputs '{outputs}': expected one of {', '.join(OUTPUT_FORMS)}")
    if not graph.is_lowered:
        raise ValueError("build_module needs a lowered graph (fgir.compile gives one)")
    generator_state = torch.random.get_rng_state()
    if seed is not None:
        torch.manual_seed(seed)
    try:
        module = FgirModule.empty()    # each node's module is placed in it where the state_dict has it
        fx_graph = torch.fx.Graph()
        values: dict[str, torch.fx.Node] = {}
        structure: list = []      # what the generated forward depends on (codegen.structure_key)
        placed: dict[str, nn.Module | nn.Parameter] = {}    # node name → what it put at its path
        for node in graph:
            values[node.name] = _emit(node, values, module, fx_graph, structure, placed)
        results = [values[node.name] for node in graph.outputs]
        if len(results) == 1:
            fx_graph.output(results[0])
        elif outputs == "dict":
            fx_graph.output(dict(zip(graph.output_names, results)))
        else:
            fx_graph.output(tuple(results))
        structure.append(("<output>", outputs if len(results) > 1 else None,
                          tuple(graph.output_names) if outputs == "dict" else (),
                          tuple(node.name for node in graph.outputs)))
        _attach_quantized_convs(graph, placed)
        if initialise_weights:
            initialise(module, graph, placed)
    finally:
        if seed is not None:
            torch.random.set_rng_state(generator_state)
    module.set_graph(fx_graph, structure_key(structure))
    module.fgir_spec = dict(graph.meta.get("spec", {}))
    module.fgir_input = list(graph.meta.get("input", []))
    return module


def _attach_quantized_convs(graph: Graph, placed: dict[str, nn.Module | nn.Parameter]) -> None:
    """Tell each quantized conv (or linear) its input's quantization point and the BatchNorm it folds."""
    if not any(isinstance(module, QUANTIZED_LAYERS) for module in placed.values()):
        return
    folds = norm_folds(graph)
    for node in graph:
        module = placed.get(node.name)
        if isinstance(module, QUANTIZED_LAYERS):
            source = node.inputs[0]
            point = placed[point_source(source).name] if is_point(source) else None
            norm = folds.get(node.name)
            module.attach(point, placed[norm.name] if norm is not None else None)


def _emit(node: Node, values: dict[str, torch.fx.Node], root: nn.Module,
          fx_graph: torch.fx.Graph, structure: list, placed: dict[str, nn.Module | nn.Parameter]) -> torch.fx.Node:
    rule = RULES[node.op]
    args = tuple(values[src.name] for src in node.inputs)
    if isinstance(rule, InputRule):
        structure.append((node.name, "<input>"))
        return fx_graph.placeholder("x")
    reads = tuple(src.name for src in node.inputs)
    if isinstance(rule, FunctionRule):
        extra = rule.extra(node)
        structure.append((node.name, reads, rule.fn, rule.packed, frozen(extra)))
        return fx_graph.call_function(rule.fn, ((list(args),) if rule.packed else args) + extra)
    if isinstance(rule, ParameterRule):
        placed[node.name] = _place(root, node.name, nn.Parameter(rule.make(node)))
        extra = rule.extra(node)
        structure.append((node.name, reads, rule.fn, "<parameter>", frozen(extra)))
        return fx_graph.call_function(rule.fn, args + (fx_graph.get_attr(node.name),) + extra)
    assert isinstance(rule, ModuleRule)
    placed[node.name] = _place(root, node.name, rule.build(node))
    structure.append((node.name, reads, "<module>"))
    return fx_graph.call_module(node.name, args)


def frozen(value: Any) -> Any:
    """A hashable stand-in for a call's constant arguments that tells apart what the generated source
    writes differently (``[1]`` and ``(1,)``, ``1`` and ``1.0`` and ``True``, ``0.0`` and ``-0.0``).

    >>> frozen((1, [2.0, -0.0], True))
    ('()', ((<class 'int'>, 1), ('[]', ((<class 'float'>, '2.0'), (<class 'float'>, '-0.0'))), (<class 'bool'>, True)))
    """
    kind = type(value)
    if kind is list or kind is tuple:
        return ("[]" if kind is list else "()", tuple(frozen(v) for v in value))
    if kind is dict:
        return ("{}", tuple((frozen(k), frozen(v)) for k, v in value.items()))
    if kind is float:
        return kind, repr(value)
    return kind, value
