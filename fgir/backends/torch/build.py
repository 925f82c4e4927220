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

import torch
from torch import nn

from fgir.backends.torch.codegen import Call, FgirModule, Recipe
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
    elif _is_free(holder, leaf):
        holder._modules[leaf] = module     # what add_module does, less the checks just made
    else:
        holder.add_module(leaf, module)    # torch's own words for a clash
    return module


def _is_free(holder: nn.Module, name: str) -> bool:
    """Whether ``name`` is a plain new name in ``holder``, with no module registration hook installed to
    see it: no attribute of its class, its instance, its tensors or its modules (asked without raising,
    which is what makes ``hasattr`` slow on a module)."""
    return (name.isidentifier() and name not in holder.__dict__ and name not in holder._modules
            and name not in holder._parameters and name not in holder._buffers
            and not hasattr(type(holder), name)
            and not getattr(torch.nn.modules.module, "_global_module_registration_hooks", True))


OUTPUT_FORMS = ("tuple", "dict")


def build_module(graph: Graph, seed: int | None = None, outputs: str = "tuple",
                 initialise_weights: bool = True) -> FgirModule:
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
        seed_generator(seed)
    try:
        module = FgirModule.empty()    # each node's module is placed in it where the state_dict has it
        calls: list[Call] = []         # the forward's calls, node by node: what its fx graph is built from
        placed: dict[str, nn.Module | nn.Parameter] = {}    # node name → what it put at its path
        for node in graph:
            calls.append(_emit(node, module, placed))
        form = outputs if len(graph.outputs) > 1 else None
        result = (tuple(node.name for node in graph.outputs), form,
                  tuple(graph.output_names) if form == "dict" else ())
        _attach_quantized_convs(graph, placed)
        if initialise_weights:
            initialise(module, graph, placed)
    finally:
        if seed is not None:
            torch.random.set_rng_state(generator_state)
    module.set_recipe(Recipe(tuple(calls), result))
    module.fgir_spec = dict(graph.meta.get("spec", {}))
    module.fgir_input = list(graph.meta.get("input", []))
    return module


def seed_generator(seed: int) -> None:
    """Seed the generator that a new layer's tensors draw from: the CPU's, unless torch's default device is
    another (then every device's, as ``torch.manual_seed`` does; it also seeds CUDA's, which costs a tenth
    of a ResNet-20's build and would change a GPU user's random state behind their back)."""
    get_default_device = getattr(torch, "get_default_device", None)
    if get_default_device is None or get_default_device().type == "cpu":
        torch.random.default_generator.manual_seed(seed)
    else:
        torch.manual_seed(seed)


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


def _emit(node: Node, root: nn.Module, placed: dict[str, nn.Module | nn.Parameter]) -> Call:
    """Put the node's module (or parameter) in ``root`` and say how the forward calls it."""
    rule = RULES[node.op]
    if isinstance(rule, InputRule):
        return Call(node.name, "input", None, (), ())
    reads = tuple(src.name for src in node.inputs)
    if isinstance(rule, FunctionRule):
        return Call(node.name, "packed" if rule.packed else "function", rule.fn, reads, rule.extra(node))
    if isinstance(rule, ParameterRule):
        placed[node.name] = _place(root, node.name, nn.Parameter(rule.make(node)))
        return Call(node.name, "parameter", rule.fn, reads, rule.extra(node))
    assert isinstance(rule, ModuleRule)
    placed[node.name] = _place(root, node.name, rule.build(node))
    return Call(node.name, "module", None, reads, ())
