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
    """Base of process types; never built into layers. The constructor checks the arguments together."""

    def __init__(self, *positional: Any, **kwargs: Any) -> None:
        super().__init__(*positional, **kwargs)
        self.constructor(**self._args)


@register_process
class Quant(Process):
    """Per-layer weight and activation bit widths for every conv but the stem."""

    def constructor(self, nbit_w_list: BitWidths() = REQUIRED,  # type: ignore[valid-type]
                    nbit_a_list: BitWidths() = REQUIRED) -> None:  # type: ignore[valid-type]
        pass


@register_process
class Prune(Process):
    """Channel masks over a dense network, and the dense checkpoint to slice weights from.

    Either the guide's ResNet row layout (``chn_node_mask`` + ``chn_mask``) or
    ``masks: {group: [...]}`` over the channel groups ``fgir summary --groups`` lists.
    """

    def constructor(self, chn_node_mask: Optional[list[BinaryCode]] = None,
                    chn_mask: Optional[list[BinaryCode]] = None,
                    masks: Optional[dict] = None,
                    init_model_file: Optional[str] = None) -> None:
        rows = chn_node_mask is not None or chn_mask is not None
        if rows and masks is not None:
            self.fail("give either chn_node_mask and chn_mask, or masks, not both", masks, "masks")
        if not rows and masks is None:
            self.fail("Prune needs chn_node_mask and chn_mask, or masks")
        if rows and (chn_node_mask is None or chn_mask is None):
            missing = "chn_mask" if chn_mask is None else "chn_node_mask"
            self.fail(f"Prune needs {missing} too")


__all__ = ["BIT_WIDTHS", "BitWidths", "Process", "Prune", "Quant"]
