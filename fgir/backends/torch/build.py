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

import linecache
import weakref

import torch
import torch.fx
from torch import nn

from fgir.backends.torch.init import initialise
from fgir.backends.torch.quant import QUANTIZED_LAYERS
from fgir.backends.torch.rules import RULES, FunctionRule, InputRule, ModuleRule, ParameterRule
from fgir.ir.graph import Graph, Node
from fgir.ir.patterns import is_point, norm_folds, point_source


def _place(root: nn.Module, path: str, module: nn.Module | nn.Parameter) -> None:
    *parents, leaf = path.split(".")
    holder = root
    for part in parents:
        if not hasattr(holder, part):
            holder.add_module(part, nn.Module())
        holder = getattr(holder, part)
    if isinstance(module, nn.Parameter):   # a node's own tensor: a parameter of the module above it
        holder.register_parameter(leaf, module)
    else:
        holder.add_module(leaf, module)


OUTPUT_FORMS = ("tuple", "dict")


def build_module(graph: Graph, seed: int | None = None, outputs: str = "tuple") -> torch.fx.GraphModule:
    """The ``nn.Module`` for a lowered graph; ``seed`` makes its initial weights reproducible.

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
        root = nn.Module()
        fx_graph = torch.fx.Graph()
        values: dict[str, torch.fx.Node] = {}
        for node in graph:
            values[node.name] = _emit(node, values, root, fx_graph)
        results = [values[node.name] for node in graph.outputs]
        if len(results) == 1:
            fx_graph.output(results[0])
        elif outputs == "dict":
            fx_graph.output(dict(zip(graph.output_names, results)))
        else:
            fx_graph.output(tuple(results))
        _attach_quantized_convs(root, graph)
        initialise(root, graph)
    finally:
        if seed is not None:
            torch.random.set_rng_state(generator_state)
    module = torch.fx.GraphModule(root, fx_graph, class_name="FgirModule")
    weakref.finalize(module, _forget_generated_source, type(module).forward.__code__.co_filename)
    module.fgir_spec = dict(graph.meta.get("spec", {}))
    module.fgir_input = list(graph.meta.get("input", []))
    return module


def _attach_quantized_convs(root: nn.Module, graph: Graph) -> None:
    """Tell each quantized conv (or linear) its input's quantization point and the BatchNorm it folds."""
    folds = norm_folds(graph)
    for node in graph:
        module = root.get_submodule(node.name) if _has_module(node) else None
        if isinstance(module, QUANTIZED_LAYERS):
            source = node.inputs[0]
            point = root.get_submodule(point_source(source).name) if is_point(source) else None
            norm = folds.get(node.name)
            module.attach(point, root.get_submodule(norm.name) if norm is not None else None)


def _has_module(node: Node) -> bool:
    return isinstance(RULES[node.op], ModuleRule)


def _forget_generated_source(key: str) -> None:
    """Drop the generated ``forward``'s source that torch.fx caches for good (its loader's eval_cache
    and linecache, ~6 KB a module), once the module is gone: a long search would otherwise grow."""
    loader = getattr(getattr(torch.fx, "graph_module", None), "_loader", None)
    cache = getattr(loader, "eval_cache", None)      # torch's private cache, hence the care
    if isinstance(cache, dict):
        cache.pop(key, None)
    linecache.cache.pop(key, None)


def _emit(node: Node, values: dict[str, torch.fx.Node], root: nn.Module,
          fx_graph: torch.fx.Graph) -> torch.fx.Node:
    rule = RULES[node.op]
    args = tuple(values[src.name] for src in node.inputs)
    if isinstance(rule, InputRule):
        return fx_graph.placeholder("x")
    if isinstance(rule, FunctionRule):
        return fx_graph.call_function(rule.fn, ((list(args),) if rule.packed else args) + rule.extra(node))
    if isinstance(rule, ParameterRule):
        _place(root, node.name, nn.Parameter(rule.make(node)))
        return fx_graph.call_function(rule.fn, args + (fx_graph.get_attr(node.name),) + rule.extra(node))
    assert isinstance(rule, ModuleRule)
    _place(root, node.name, rule.build(node))
    return fx_graph.call_module(node.name, args)
