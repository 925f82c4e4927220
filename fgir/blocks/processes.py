"""Process types: modules that transform the network built before them (SEMANTICS.md).

Their arguments are validated here; ``apply_quant`` and ``apply_prune`` apply them.
"""

from __future__ import annotations

from typing import Any, Optional

from fgir.blocks.argtypes import INVALID, REQUIRED, ArgType, BinaryCode
from fgir.blocks.module import Module
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


class Process(Module):
    """Base of process types; never built into layers."""


@register_process
class Quant(Process):
    """Per-layer weight and activation bit widths for every conv but the stem."""

    def constructor(self, nbit_w_list: BitWidths() = REQUIRED,  # type: ignore[valid-type]
                    nbit_a_list: BitWidths() = REQUIRED) -> None:  # type: ignore[valid-type]
        pass


@register_process
class Prune(Process):
    """Channel masks over a dense network, and the dense checkpoint to slice weights from."""

    def constructor(self, chn_node_mask: list[BinaryCode] = REQUIRED,
                    chn_mask: list[BinaryCode] = REQUIRED,
                    init_model_file: Optional[str] = None) -> None:
        pass


__all__ = ["BIT_WIDTHS", "BitWidths", "Process", "Prune", "Quant"]
