"""User code that registers blocks, evaluators or algorithms: a ``.py`` file or an importable module.

Example:
    >>> load_plugin("examples/user_blocks/searchable_stage.py")
    >>> from fgir.blocks import BLOCKS
    >>> "SearchableStage" in BLOCKS
    True
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from fgir.diagnostics import Diagnostic, Loc, SpecIOError

_LOADED: set[Path] = set()


def load_plugin(name: str) -> None:
    """Import a ``.py`` file (run once per process, however often it is named) or a module by name."""
    if name.endswith(".py"):
        path = Path(name)
        if not path.is_file():
            raise SpecIOError(Diagnostic(Loc(name), "", "no such plugin file"))
        if path.resolve() in _LOADED:
            return
        spec = importlib.util.spec_from_file_location(f"fgir_plugin_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _LOADED.add(path.resolve())
    else:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            raise SpecIOError(Diagnostic(Loc(name), "", f"cannot import plugin module: {exc}")) from None
