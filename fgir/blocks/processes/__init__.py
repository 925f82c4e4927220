"""Process types: modules that transform the network built before them (docs/semantics.md).

Their arguments are validated here; ``apply_quant`` and ``apply_prune`` apply them.
"""

from fgir.blocks.processes.base import Process
from fgir.blocks.processes.prune import Prune
from fgir.blocks.processes.quant import BIT_WIDTHS, BitWidths, Quant

__all__ = ["BIT_WIDTHS", "BitWidths", "Process", "Prune", "Quant"]
