"""What a process is: a module that transforms the network built before it, never built into layers."""

from __future__ import annotations

from typing import Any

from fgir.blocks.module import Module


class Process(Module):
    """Base of process types; never built into layers. The constructor checks the arguments together."""

    def __init__(self, *positional: Any, **kwargs: Any) -> None:
        super().__init__(*positional, **kwargs)
        self.constructor(**self._args)
