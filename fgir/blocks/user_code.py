"""What fgir checks of a user block's Python code, and how its failures become the user's diagnostics.

A torch.nn layer (or a list of fgir layers) assigned in a block would be silently left out
of the network: :func:`refuse_foreign_child` makes it an error naming the fgir layer to
use.  An exception from a user block's constructor or forward is reported at the user's
line (:func:`fgir.plugins.user_code_error`); fgir's own blocks failing are fgir's bugs.

Example:
    >>> class Conv2d:   # stands in for torch.nn.Conv2d
    ...     pass
    >>> is_torch_module(Conv2d())
    False
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from fgir.diagnostics import Loc
from fgir.plugins import user_code_error, user_frame

if TYPE_CHECKING:
    from fgir.blocks.module import Block, Module


class BlockCodeError(Exception):
    """A user block's code builds something fgir would silently get wrong; ``fgir_hint`` says what to write."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.fgir_hint = hint


def is_torch_module(value: Any) -> bool:
    """A ``torch.nn.Module`` (told without importing torch: the blocks never do)."""
    return any(c.__name__ == "Module" and c.__module__ == "torch.nn.modules.module" for c in type(value).__mro__)


def refuse_foreign_child(owner: "Module", key: str, value: Any) -> None:
    """A torch module, or a list of fgir modules, assigned in a block would be left out of the network."""
    if is_torch_module(value):
        from fgir.blocks.registry import BLOCKS

        kind = type(value).__name__
        use = f"fgir.blocks.{kind}" if kind in BLOCKS else "the fgir layer that does the same ('fgir blocks' lists them)"
        raise BlockCodeError(f"{owner.type_name()}.{key} is a torch.nn.{kind}: a block is built from fgir "
                             "layers; a torch module would be left out of the network",
                             f"use {use} (torch.nn's argument names)")
    if isinstance(value, (list, tuple)) and value:
        from fgir.blocks.module import Module

        if not any(isinstance(v, Module) for v in value):
            return
        raise BlockCodeError(f"{owner.type_name()}.{key} is a {type(value).__name__} of layers: only layers "
                             "and blocks assigned one by one are part of the network",
                             "wrap them: fgir.blocks.Sequential(*layers), or assign each to its own attribute")


def is_users(cls: type) -> bool:
    """A block class the user wrote (fgir's own are bugs of fgir's when they fail)."""
    return not cls.__module__.startswith("fgir.")


def source_of(cls: type) -> str:
    module = sys.modules.get(cls.__module__)
    return getattr(module, "__file__", None) or cls.__module__


def defined_at(cls: type, method: str) -> Loc | None:
    """Where ``cls.method`` is written (for an error its code raised through fgir's alone)."""
    code = getattr(getattr(cls, method, None), "__code__", None)
    return Loc(code.co_filename, code.co_firstlineno, 1) if code is not None else None


def not_a_value(block: "Block", out: Any) -> None:
    got = "None" if out is None else f"a {type(out).__name__}"
    raise BlockCodeError(f"{block.type_name()}.forward returned {got}, not the value its layers give",
                         "end forward with: return x (where x = self.conv(x), ...)")


__all__ = ["BlockCodeError", "defined_at", "is_torch_module", "is_users", "not_a_value", "refuse_foreign_child",
           "source_of", "user_code_error", "user_frame"]
