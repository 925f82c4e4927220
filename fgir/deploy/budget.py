"""Choosing the bits: mixed precision under a size budget, and an accuracy-drop budget.

:func:`mixed_precision` starts from every layer's weights at 8 bits and lowers
weights to 4 bits, one layer at a time, the layer whose sensitivity grows least
per byte saved first (each layer's sensitivity measured at 4 and 8 bits:
:meth:`fgir.deploy.measure.Bench.sensitivity`), until the weights fit the size
budget: the sum over the layers the Quant process sets of their weights at their
bit widths; every other weight (the classifier, a float layer) counts at 32.

:func:`meet_max_drop` measures the plan's accuracy drop (percentage points, float
accuracy minus quantized, on the held-out images) and, while it is over the budget,
first raises the layers below 8 bits to 8, then leaves layers float, the most
sensitive (alone, at its bits in the plan) first, measuring after each step.  A budget that only the
float network itself meets, every layer float, nothing quantized, is a
:class:`MaxDropError`.

Example:
    >>> from fgir.deploy.plan import BitPlan
    >>> weight_bytes(BitPlan.uniform(["a", "b"], 4, 8, False), {"a": 100, "b": 10}, other=5)
    75.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fgir.deploy.plan import STEM, BitPlan
from fgir.diagnostics import Diagnostic, FgirError, Loc
from fgir.quant.scheme import FLOAT_BITS

LOW_BITS = 4
HIGH_BITS = 8
POINTS = 100.0   # accuracy drops are in percentage points


class MaxDropError(FgirError):
    """``--max-drop`` that no plan with a quantized layer meets."""


class SizeBudgetError(FgirError):
    """``--max-size-kb`` below the size of every weight at the lowest bits mixed precision uses."""


@dataclass
class Step:
    """One change of the max-drop loop and the drop measured after it."""

    layer: str
    bits: tuple[int, int]
    drop: float


@dataclass
class DropSearch:
    """How the max-drop loop went: the plan it ended with, its drop, each step, the sensitivities."""

    plan: BitPlan
    drop: float
    steps: list[Step] = field(default_factory=list)
    sensitivity: dict[str, float] = field(default_factory=dict)


def weight_bytes(plan: BitPlan, params: dict[str, int], other: int) -> float:
    """Bytes of the weights at the plan's bits: each layer's ``params`` at its weight bits, ``other``
    weights (outside the plan's layers) at 32."""
    return sum(count * plan.bits(name)[0] / 8 for name, count in params.items()) + other * FLOAT_BITS / 8


def layer_params(plan: BitPlan, state: dict[str, Any]) -> tuple[dict[str, int], int]:
    """Each plan layer's weight count (the stem's convolutions together), and every other weight's."""
    def count(name: str) -> int:
        return int(state[f"{name}.weight"].numel()) if f"{name}.weight" in state else 0
    params = {name: count(name) for name in plan.layers}
    if plan.has_stem:
        params[STEM] = sum(count(name) for name in plan.stem_names)
    total = sum(int(v.numel()) for k, v in state.items() if v.is_floating_point() and _is_weight(k))
    return params, total - sum(params.values())


def _is_weight(key: str) -> bool:
    return not key.endswith(("running_mean", "running_var", "num_batches_tracked"))


def mixed_precision(bench: Any, plan: BitPlan, max_bytes: float, where: str) -> BitPlan:
    """The plan with weights lowered to 4 bits, least sensitive per byte first, until they fit ``max_bytes``."""
    params, other = layer_params(plan, bench.state)
    plan = _each(plan, lambda name, bits: (HIGH_BITS if bits[0] < FLOAT_BITS else bits[0], bits[1]))
    low = _each(plan, lambda name, bits: (LOW_BITS if bits[0] < FLOAT_BITS else bits[0], bits[1]))   # stem: 8
    if weight_bytes(low, params, other) > max_bytes:
        raise SizeBudgetError(Diagnostic(Loc(where), "", (
            f"--max-size-kb {max_bytes / 1024:g}: the weights take {weight_bytes(low, params, other) / 1024:.1f} "
            f"KB even with every quantized layer at {LOW_BITS} bits (at 8 bits {weight_bytes(plan, params, other) / 1024:.1f} KB)"),
            hint="raise the budget, or prune the network first (fgir prune)"))
    candidates = [name for name in plan.layers if plan.bits(name)[0] < FLOAT_BITS and params[name]]

    def cost(name: str) -> float:
        grows = bench.sensitivity(low, name) - bench.sensitivity(plan, name)
        return grows / (params[name] * (HIGH_BITS - LOW_BITS) / 8)
    for name in sorted(candidates, key=cost):
        if weight_bytes(plan, params, other) <= max_bytes:
            break
        plan = plan.with_bits(name, LOW_BITS, plan.bits(name)[1])
    return plan


def _each(plan: BitPlan, change: Any) -> BitPlan:
    for name in plan.layers:
        plan = plan.with_bits(name, *change(name, plan.bits(name)))
    return plan


def drop_of(bench: Any, plan: BitPlan) -> float:
    """Float accuracy minus the plan's, in percentage points, on the held-out images."""
    return (bench.float_accuracy - bench.accuracy(plan)) * POINTS


def meet_max_drop(bench: Any, plan: BitPlan, max_drop: float, where: str) -> DropSearch:
    """Raise bits, then leave layers float, most sensitive first, until the drop is within ``max_drop``."""
    search = DropSearch(plan, drop_of(bench, plan))
    if search.drop <= max_drop:
        return search
    search.sensitivity = {name: bench.sensitivity(plan, name) for name in plan.quantized_layers()}
    order = sorted(search.sensitivity, key=search.sensitivity.get, reverse=True)
    raise_to = [name for name in order if min(plan.bits(name)) < HIGH_BITS]
    moves = [(name, _raised(plan.bits(name))) for name in raise_to] + [(name, (FLOAT_BITS, FLOAT_BITS))
                                                                       for name in order]
    for name, bits in moves:
        if bits == (FLOAT_BITS, FLOAT_BITS) and search.plan.quantized_layers() == [name]:
            break   # the last quantized layer: floating it leaves the float network
        search.plan = search.plan.with_bits(name, *bits)
        search.drop = drop_of(bench, search.plan)
        search.steps.append(Step(name, bits, search.drop))
        if search.drop <= max_drop:
            return search
    raise _unreachable(search, max_drop, where)


def _raised(bits: tuple[int, int]) -> tuple[int, int]:
    return max(bits[0], HIGH_BITS), max(bits[1], HIGH_BITS)


def _unreachable(search: DropSearch, max_drop: float, where: str) -> MaxDropError:
    last = search.plan.quantized_layers()
    alone = f"with only '{last[0]}' quantized" if len(last) == 1 else "with every layer float but the last"
    return MaxDropError(Diagnostic(Loc(where), "", (
        f"--max-drop {max_drop:g} cannot be met with any layer quantized: {alone} the accuracy still drops "
        f"{search.drop:.2f} points, and every layer float is the float network, nothing quantized"),
        hint="allow a larger drop, calibrate on more or other data (--calibrate, --calibration mse), or "
             "train with quantization (fgir train on the written spec)"))


__all__ = ["DropSearch", "MaxDropError", "SizeBudgetError", "Step", "layer_params", "meet_max_drop",
           "mixed_precision", "weight_bytes"]
