"""The backend rules of ops that plugins add (:func:`fgir.register_op`), kept without importing a framework.

A plugin may be loaded where only ``fgir check`` runs, so its rules wait here; each
backend's rule table takes them in when it is imported, and later ones at once.

Example:
    >>> sorted(PLUGIN_TORCH) == sorted(PLUGIN_ONNX)
    True
"""

from __future__ import annotations

import sys
from typing import Any, Callable

PLUGIN_TORCH: dict[str, Any] = {}        # op → a torch rule (a ModuleRule, a FunctionRule, or Node → nn.Module)
PLUGIN_ONNX: dict[str, Callable] = {}    # op → (emitter, node, input names) → output name

TORCH_TABLE = ("fgir.backends.torch.rules", "RULES")
ONNX_TABLE = ("fgir.backends.onnx.rules", "LOWERINGS")


def add(op: str, torch_rule: Any, onnx_rule: Callable) -> None:
    """Keep ``op``'s rules, and hand them to any backend already imported."""
    PLUGIN_TORCH[op], PLUGIN_ONNX[op] = torch_rule, onnx_rule
    for (module, table), rule in ((TORCH_TABLE, torch_rule), (ONNX_TABLE, onnx_rule)):
        loaded = sys.modules.get(module)
        if loaded is not None and hasattr(loaded, "adopt_plugin_rule"):
            loaded.adopt_plugin_rule(op, rule)


def remove(op: str) -> None:
    PLUGIN_TORCH.pop(op, None)
    PLUGIN_ONNX.pop(op, None)
    for module, table in (TORCH_TABLE, ONNX_TABLE):
        loaded = sys.modules.get(module)
        if loaded is not None:
            getattr(loaded, table).pop(op, None)
