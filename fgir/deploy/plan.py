"""A quantization plan: the bits of every layer a Quant process can set, and the spec that says them.

The layers are the network's stem (its convolutions the bit lists leave out,
quantized at ``stem_bits``: 8, or 32 for float) and the layers the family's
rule maps the lists onto (:func:`fgir.quant.scheme.quant_layers`).  A plan is
written as a Quant process into a copy of the user's spec
(:class:`fgir.prune.output.SpecTree`), replacing the spec's own Quant process
if it has one, so the spec stays the record of what was deployed.  No torch.

Example:
    >>> plan = BitPlan.uniform(["conv2", "conv3"], w_bits=4, a_bits=8, has_stem=True)
    >>> plan.with_bits("conv3", 32).process()
    {'type': 'Quant', 'nbit_w_list': [4, 32], 'nbit_a_list': [8, 32], 'stem_bits': 8}
    >>> plan.with_bits(STEM, 32).float_layers()
    ['stem']
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from fgir.quant.scheme import FLOAT_BITS

STEM = "stem"            # the pseudo-layer standing for the convolutions under ``stem_bits``
STEM_QUANT_BITS = 8      # the one bit width Quant's stem_bits takes besides 32
QUANT = "Quant"
MODULE = "quant"         # the module name a spec without a Quant process gets


@dataclass(frozen=True)
class BitPlan:
    """Weight and activation bits per listed layer (in the lists' order), and the stem's bits."""

    layers: tuple[str, ...]
    w_bits: tuple[int, ...]
    a_bits: tuple[int, ...]
    stem_bits: int = STEM_QUANT_BITS
    has_stem: bool = True
    stem_names: tuple[str, ...] = field(default=(), compare=False)   # the stem's convolutions

    @classmethod
    def uniform(cls, layers: list[str], w_bits: int, a_bits: int, has_stem: bool,
                stem_names: tuple[str, ...] = ()) -> "BitPlan":
        """Every listed layer at ``w_bits``/``a_bits``, the stem (if any) at 8."""
        count = len(layers)
        return cls(tuple(layers), (w_bits,) * count, (a_bits,) * count,
                   STEM_QUANT_BITS if has_stem else FLOAT_BITS, has_stem, stem_names)

    @property
    def names(self) -> list[str]:
        """Every layer the plan sets: the stem first (when the network has one), then the listed ones."""
        return ([STEM] if self.has_stem else []) + list(self.layers)

    def bits(self, name: str) -> tuple[int, int]:
        """(weight bits, activation bits) of a layer."""
        if name == STEM:
            return self.stem_bits, self.stem_bits
        i = self.layers.index(name)
        return self.w_bits[i], self.a_bits[i]

    def with_bits(self, name: str, w_bits: int, a_bits: int | None = None) -> "BitPlan":
        """The plan with one layer at ``w_bits`` (and ``a_bits``, default the same; the stem takes 8 or 32)."""
        a_bits = w_bits if a_bits is None else a_bits
        if name == STEM:
            return replace(self, stem_bits=STEM_QUANT_BITS if w_bits <= STEM_QUANT_BITS else FLOAT_BITS)
        i = self.layers.index(name)
        return replace(self, w_bits=_set(self.w_bits, i, w_bits), a_bits=_set(self.a_bits, i, a_bits))

    def all_float(self) -> "BitPlan":
        """Every layer float: the float network, as a plan."""
        floats = (FLOAT_BITS,) * len(self.layers)
        return replace(self, w_bits=floats, a_bits=floats, stem_bits=FLOAT_BITS)

    def only(self, name: str) -> "BitPlan":
        """Every layer float but ``name``, at its bits in this plan: what a sensitivity measures."""
        return self.all_float().with_bits(name, *self.bits(name))

    def float_layers(self) -> list[str]:
        """The layers left float (both bit widths 32)."""
        return [name for name in self.names if min(self.bits(name)) >= FLOAT_BITS]

    def quantized_layers(self) -> list[str]:
        return [name for name in self.names if name not in self.float_layers()]

    def process(self) -> dict[str, Any]:
        """The Quant process's arguments (the lists in full, so each layer's bits stand in the spec)."""
        return {"type": QUANT, "nbit_w_list": list(self.w_bits), "nbit_a_list": list(self.a_bits),
                "stem_bits": self.stem_bits}


def _set(values: tuple[int, ...], index: int, value: int) -> tuple[int, ...]:
    return values[:index] + (value,) + values[index + 1:]


def quant_space(space: dict[str, Any], plan: BitPlan) -> dict[str, Any]:
    """``space`` (a copy) with ``plan`` as its Quant process: the spec's own replaced, or a module added.

    >>> space = {"modules": ["net"], "net": {"type": "ResNet", "depth": 20}}
    >>> quant_space(space, BitPlan.uniform(["a"], 8, 8, False))["modules"]
    ['net', 'quant']
    """
    from fgir.prune.output import with_process
    from fgir.spec.tree import copy_tree

    return with_process(copy_tree(space), plan.process(), quant_module(space), MODULE)


def float_space(space: dict[str, Any]) -> dict[str, Any]:
    """``space`` (a copy) without its Quant process: the float network the weights were trained as.

    >>> float_space({"modules": ["net", "q"], "net": {}, "q": {"type": "Quant"}})
    {'modules': ['net'], 'net': {}}
    """
    from fgir.prune.output import without_module

    return without_module(space, quant_module(space))


def quant_module(space: dict[str, Any]) -> str | None:
    """The name of the space's Quant process, if it has one.

    >>> quant_module({"modules": ["net", "q"], "net": {"type": "ResNet"}, "q": {"type": "Quant"}})
    'q'
    """
    return next((m for m in space.get("modules", []) if isinstance(space.get(m), dict)
                 and space[m].get("type") == QUANT), None)


__all__ = ["STEM", "BitPlan", "float_space", "quant_module", "quant_space"]
