"""The static cost of a candidate before it is evaluated: params, MACs... and which network it is.

:class:`CostModel` costs a sample by the space's symbolic formula
(:mod:`fgir.search.symbolic`: exact, no IR build) when the space has one, and
otherwise compiles the sample's frozen spec (the same static path the static
evaluator takes) and keeps the result by the sample's key, so a sampler that
asks again, or a report that meets the same sample twice, compiles once.  A
sample that does not compile, or whose Quant lists do not match, has no cost
(``None``): the constraints cannot refuse it, its evaluation says why it fails.

:func:`network_hash` is the canonical IR hash: two assignments with the same
hash compile to the same network.  It hashes each node of the lowered graph by
its op, attributes, tensor type and the hashes of its inputs (no names, no spec
locations), after two rewrites that make ``none`` edges vanish: a ``zero`` node
and whatever a zero-preserving op (identity, ReLU, pooling, a bias-free
convolution) makes of zeros is zero, its inputs forgotten; an ``add`` drops its
zero inputs.  Nodes the output does not reach are not hashed.  Only what is
provably zero is removed: BatchNorm of zeros is its learned shift, so a
convolution edge after a dead node still counts.

Example:
    >>> from fgir.search.space import Space
    >>> space = Space.from_spec("examples/backbone_nas.yaml")
    >>> model = CostModel(space, symbolic=False)      # compiled; the default uses the formula, compiling none
    >>> cost = model.cost(space.initial(None))
    >>> cost["params"], cost["macs"], fits(cost, {"max_macs": 100_000_000}), model.compiles
    (7579114, 96310272, True, 1)
    >>> static_constraints({"max_macs": 1, "max_latency_ms": 2.0})
    {'max_macs': 1}
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fgir.diagnostics import FgirError
from fgir.ir.ops import OPS
from fgir.ir.ops.schema import Trait
from fgir.ir.ops.vision import ZERO
from fgir.search.evaluators.static import QUANT_METRICS, STATIC_METRICS, QuantMismatch, static_metrics
from fgir.search.space import Sample, Space
from fgir.search.symbolic import SymbolicCost

COSTED = (*STATIC_METRICS, *QUANT_METRICS)      # what compiling tells, before any measurement or training
KEEPS_ZEROS = (Trait.SHAPE_ONLY, Trait.REGULARIZER, Trait.POOLING)   # zeros in, zeros out
LINEAR = (Trait.CONVOLUTION, Trait.DENSE)                            # ... and these without a bias
Cost = dict[str, Any]


def static_constraints(constraints: dict[str, float]) -> dict[str, float]:
    """The constraints compiling decides (on params, MACs, weight bytes, bitops, mean bits)."""
    return {k: v for k, v in constraints.items() if k.split("_", 1)[-1] in COSTED}


def violated(cost: Cost | None, constraints: dict[str, float]) -> list[str]:
    """The names of the constraints ``cost`` breaks (none for a sample without a cost)."""
    if cost is None:
        return []
    out = []
    for name, limit in constraints.items():
        kind, metric = name.split("_", 1)
        value = cost.get(metric)
        if value is not None and ((kind == "max" and value > limit) or (kind == "min" and value < limit)):
            out.append(name)
    return out


def fits(cost: Cost | None, constraints: dict[str, float]) -> bool:
    return not violated(cost, constraints)


class CostModel:
    """Static costs of a space's samples: by the space's symbolic formula where it has one, else compiled
    once each; see the module docstring."""

    def __init__(self, space: Space, input: str | None = None, symbolic: bool = True) -> None:
        self.space, self.input = space, input
        self._costs: dict[str, Cost | None] = {}
        self.compiles = 0
        self._symbolic: SymbolicCost | None | bool = None if symbolic else False

    @property
    def symbolic(self) -> SymbolicCost | None:
        """The space's formula (:mod:`fgir.search.symbolic`, found on first use), or None when turned off."""
        if self._symbolic is None:
            self._symbolic = SymbolicCost.of(self.space, self.input)
        return self._symbolic or None

    def cost(self, sample: Sample, network: bool = False) -> Cost | None:
        """``{params, macs, weight_bytes, ...}`` (with ``network``: also its canonical hash), or None."""
        symbolic = self.symbolic
        if not network and symbolic is not None and symbolic.exact:
            known = symbolic.cost(sample)
            if known is not None:
                return known
        key = self.space.key(sample)
        known = self._costs.get(key, False)
        if known is not False and (known is None or not network or "network" in known):
            return known
        import fgir

        self.compiles += 1
        graph = None
        try:
            graph = fgir.compile(self.space.freeze(sample), input=self.input)
            cost: Cost | None = static_metrics(graph)
        except (FgirError, QuantMismatch):
            cost = None
        if symbolic is not None and self.space.contains(sample):
            symbolic.learn_from(sample, graph if cost is not None else None)
        if cost is not None and network:
            cost["network"] = network_hash(graph)
        self._costs[key] = cost
        return cost

    def costs(self, samples: list[Sample]) -> list[Cost | None]:
        """:meth:`cost` of many samples, all at once by the formula where it tells."""
        symbolic = self.symbolic
        known = symbolic.costs(samples) if symbolic is not None else [None] * len(samples)
        return [c if c is not None else self.cost(s) for s, c in zip(samples, known)]


def network_hash(graph: Any) -> str:
    """The canonical hash of a lowered graph; see the module docstring."""
    digest: dict[str, str] = {}
    zero: set[str] = set()
    for node in graph:
        inputs = [i.name for i in node.inputs]
        kept = [n for n in inputs if n not in zero]
        schema = OPS[node.op]
        if schema is ZERO or (inputs and not kept and _keeps_zeros(node, schema)):
            zero.add(node.name)
            digest[node.name] = _hash(["<zeros>", node.type.to_json() if node.type is not None else None])
            continue
        if node.op == "add" and len(kept) == 1:
            digest[node.name] = digest[kept[0]]      # x + 0 is x
            continue
        # a sum's order does not matter; other ops see their zero inputs as zeros, in place
        parts = sorted(digest[n] for n in kept) if node.op == "add" else [digest[n] for n in inputs]
        digest[node.name] = _hash([node.op, node.attrs, node.type.to_json() if node.type is not None else None,
                                   parts])
    outputs = [digest[n.name] for n in graph.outputs]
    return _hash([outputs, graph.meta.get("params"), graph.meta.get("macs")])[:16]


def _keeps_zeros(node: Any, schema: Any) -> bool:
    """Whether the node's output is zero when all its inputs are (asked of the schema's traits)."""
    if node.op in ("add", "mul", "relu"):
        return True
    if any(schema.has(t) for t in LINEAR):
        return not node.attrs.get("bias", True)
    return any(schema.has(t) for t in KEEPS_ZEROS) and not node.attrs.get("value")   # a pad of non-zeros does not


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


__all__ = ["COSTED", "Cost", "CostModel", "fits", "network_hash", "static_constraints",
           "violated"]
