"""The one registry of block types: built-in blocks, allow-listed layers and user blocks.

A spec names a type (``type: BasicBlock``); fgir looks it up here and never
imports a class from a string.  Users add their own with :func:`register_block`.

Example:
    >>> "BasicBlock" in BLOCKS and "Conv2d" in BLOCKS
    True
"""

from __future__ import annotations

from typing import Any, TypeVar

from fgir.diagnostics import Diagnostics, Origin, did_you_mean

BLOCKS: dict[str, type] = {}
PROCESSES: dict[str, type] = {}

T = TypeVar("T", bound=type)


def register_block(cls: T | None = None, *, name: str | None = None, replace: bool = False) -> Any:
    """Class decorator: make a Block (or Layer) subclass usable as ``type: Name`` in specs."""

    def register(klass: T) -> T:
        type_name = name or klass.type_name()
        if type_name in BLOCKS and BLOCKS[type_name] is not klass and not replace:
            raise ValueError(f"block type '{type_name}' is already registered "
                             "(pass replace=True to override it)")
        if name:
            klass.name = name
        BLOCKS[type_name] = klass
        return klass

    return register(cls) if cls is not None else register


def register_process(cls: T) -> T:
    """Class decorator for process types (Quant, Prune): modules that transform the network."""
    PROCESSES[cls.type_name()] = cls
    return cls


def lookup_block(type_name: Any, origin: Origin, diags: Diagnostics) -> type | None:
    """The class for a spec type name, or None after reporting an unknown-type error."""
    if isinstance(type_name, str) and type_name in BLOCKS:
        return BLOCKS[type_name]
    if isinstance(type_name, str) and type_name in PROCESSES:
        diags.error(origin, f"'{type_name}' is a process, not a block: list it as its own module")
        return None
    hint = did_you_mean(str(type_name), list(BLOCKS) + list(PROCESSES))
    diags.error(origin, f"unknown block type '{type_name}'", hint=hint)
    return None
