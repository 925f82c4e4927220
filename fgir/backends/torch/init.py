"""Fresh weights as a network's family initialises them (the IR's ``init_schemes``, by family).

``lower_blocks`` records which family each block follows and each family's
scheme: ``"<op role>.<weight>"`` → ``[method, params]`` (``fgir.blocks.family.Init``).
A node takes the scheme of its innermost block that has a family, else the
network's; a tensor its scheme does not name keeps torch's default.

Example:
    >>> import torch
    >>> w = torch.empty(8, 4, 3, 3)
    >>> METHODS["ones"](w, {}).sum().item()
    288.0
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import nn

from fgir.ir.graph import Graph
from fgir.ir.ops import OPS, weight_key

METHODS: dict[str, Callable[[torch.Tensor, dict[str, Any]], torch.Tensor]] = {
    "kaiming_normal": lambda t, p: nn.init.kaiming_normal_(t, mode=p.get("mode", "fan_in"),
                                                           nonlinearity=p.get("nonlinearity", "leaky_relu")),
    "normal": lambda t, p: nn.init.normal_(t, p.get("mean", 0.0), p["std"]),
    "uniform_fan_out": lambda t, p: nn.init.uniform_(t, -1.0 / math.sqrt(t.shape[0]), 1.0 / math.sqrt(t.shape[0])),
    "ones": lambda t, p: nn.init.ones_(t),
    "zeros": lambda t, p: nn.init.zeros_(t),
}


@torch.no_grad()
def initialise(root: nn.Module, graph: Graph, placed: dict[str, Any] | None = None) -> None:
    """Apply each node's family scheme to the module at its scope path, in graph order.

    ``placed``: the module (or parameter) each node put at its path, when the caller has them at hand
    (found at their paths otherwise)."""
    schemes: dict[str, dict[str, list]] = graph.meta.get("init_schemes", {})
    if not schemes:
        return
    by_role = {family: _by_role(scheme) for family, scheme in schemes.items()}
    family_of = _innermost_families(graph)
    network = graph.meta.get("family")
    for node in graph:
        roles = by_role.get(family_of.get(node.name, network) or "")
        if not roles:
            continue
        schema = OPS[node.op]
        rules = roles.get(schema.role)
        if not rules:
            continue
        for weight in schema.weights(node.attrs):
            rule = rules.get(weight.name)
            if rule is not None:
                method, params = rule
                METHODS[method](_tensor(root, placed, node.name, weight), params)


def _by_role(scheme: dict[str, list]) -> dict[str, dict[str, list]]:
    """``{"conv.weight": rule}`` as ``{"conv": {"weight": rule}}``: a node whose role has no rule is
    passed over without listing its weights."""
    out: dict[str, dict[str, list]] = {}
    for key, rule in scheme.items():
        role, _, weight = key.partition(".")
        out.setdefault(role, {})[weight] = rule
    return out


def _innermost_families(graph: Graph) -> dict[str, str]:
    """Each node's innermost block that has a family: that family (a node in none is left out)."""
    out: dict[str, str] = {}
    for info in graph.blocks:          # parents come before their children, who override them
        if info.family:
            for name in info.nodes:
                out[name] = info.family
    return out


def _tensor(root: nn.Module, placed: dict[str, Any] | None, node: str, weight: Any) -> torch.Tensor:
    """Weight ``weight`` of ``node``: from the module placed for it, else found by its path from the root."""
    owner = placed.get(node) if placed is not None else None
    if owner is not None and "." not in weight.name:
        tensor = owner if not weight.name else (owner._buffers if weight.buffer else owner._parameters).get(weight.name)
        if tensor is not None:
            return tensor
    key = weight_key(node, weight)
    return root.get_buffer(key) if weight.buffer else root.get_parameter(key)
