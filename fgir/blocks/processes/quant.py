"""The Quant process: per-layer weight and activation bit widths (docs/semantics.md); ``apply_quant`` applies it."""

from __future__ import annotations

from typing import Any, Literal

from fgir.blocks.argtypes import INVALID, REQUIRED, ArgType
from fgir.blocks.processes.base import Process
from fgir.blocks.registry import register_process
from fgir.diagnostics import Diagnostics, Origin

BIT_WIDTHS = (1, 2, 3, 4, 5, 6, 7, 8, 32)


class BitWidths(ArgType):
    """A bit width (1–8, or 32 for float) for every layer, or a list of one per layer."""

    description = "a bit width from 1 to 8 or 32, or a list of them"

    def validate(self, value: Any, origin: Origin, diags: Diagnostics) -> Any:
        from fgir.blocks.located import origin_of

        values = value if isinstance(value, list) else [value]
        ok = True
        for i, bits in enumerate(values):
            where = origin_of(bits, origin.child(i) if isinstance(value, list) else origin)
            if isinstance(bits, bool) or bits not in BIT_WIDTHS:
                diags.error(where, f"bit width must be 1 to 8, or 32 for float; got {bits}")
                ok = False
        if isinstance(value, list) and not value:
            diags.error(origin, "the bit list is empty")
            ok = False
        return value if ok else INVALID


@register_process
class Quant(Process):
    """Per-layer weight and activation bit widths for every conv but the stem.

    ``stem_bits`` (8 by default; 32 keeps them float) quantizes the convolutions the lists
    leave out (the stem), weights and input, as the integer deployment form runs them.
    """

    def constructor(self, nbit_w_list: BitWidths() = REQUIRED,  # type: ignore[valid-type]
                    nbit_a_list: BitWidths() = REQUIRED,  # type: ignore[valid-type]
                    stem_bits: Literal[8, 32] = 8) -> None:
        pass
