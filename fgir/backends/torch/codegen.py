"""The generated ``forward`` of a module, made once per graph structure and reused.

``torch.fx`` writes a ``forward``'s Python source from the fx graph and compiles it, for every
module: a third of ``to_torch``'s time for a ResNet-20.  Two lowered graphs of the same structure
(the same nodes, ops, inputs and call arguments, in the same order: :func:`structure_key`) get
the same source, so :class:`FgirModule` keeps the compiled ``forward`` under that key and gives
the next module of that structure the same function.  Each module keeps its own fx graph
(``module.graph``); a later ``module.recompile()`` (after editing it) generates afresh, as
torch.fx does.  The last :data:`MAX_KEPT` structures are kept, their sources released after.

Example:
    >>> import fgir
    >>> graph = fgir.compile("examples/resnet20_cifar.yaml")
    >>> a, b = fgir.to_torch(graph), fgir.to_torch(graph)
    >>> type(a).forward is type(b).forward, a.code == b.code, isinstance(a, torch.fx.GraphModule)
    (True, True, True)
"""

from __future__ import annotations

import linecache
import weakref
from typing import Any, Hashable

import torch
import torch.fx
from torch.fx import graph_module as fx_graph_module

MAX_KEPT = 64
_KEPT: dict[Hashable, "_Forward"] = {}


class _Forward:
    __slots__ = ("forward", "code", "lineno_map", "prologue_start", "python_code")

    def __init__(self, module: torch.fx.GraphModule, python_code: Any) -> None:
        self.forward = type(module).forward
        self.code, self.python_code = module._code, python_code
        self.lineno_map = getattr(module, "_lineno_map", None)
        self.prologue_start = getattr(module, "_prologue_start", 0)


def structure_key(parts: list[Hashable]) -> Hashable | None:
    """A key for a module's structure from its hashable parts, or None if a part cannot be hashed (then
    the module's code is generated as usual).

    >>> structure_key([("act", "relu", ("x",))]) == structure_key([("act", "relu", ("x",))])
    True
    >>> structure_key([["unhashable"]]) is None
    True
    """
    key = tuple(parts)
    try:
        hash(key)
    except TypeError:
        return None
    return key


class FgirModule(torch.fx.GraphModule):
    """A ``torch.fx.GraphModule`` whose first compile per structure key is kept for the next (see the module
    docstring)."""

    def __init__(self, root: torch.nn.Module, graph: torch.fx.Graph, key: Hashable | None) -> None:
        object.__setattr__(self, "_fgir_structure", key)    # read by recompile(), which __init__ calls
        try:
            super().__init__(root, graph, class_name="FgirModule")
        finally:
            object.__setattr__(self, "_fgir_structure", None)   # a recompile after an edit generates afresh

    @classmethod
    def empty(cls) -> "FgirModule":
        """A module with no graph yet: what it holds is placed in it directly (torch.fx would copy it in
        from another module), then :meth:`set_graph` gives it its ``forward``."""
        return cls(torch.nn.Module(), torch.fx.Graph(), ("<empty>",))

    def set_graph(self, graph: torch.fx.Graph, key: Hashable | None) -> None:
        """Make ``graph`` this module's, its code the one kept for ``key`` (generated when there is none)."""
        object.__setattr__(self, "_fgir_structure", key)
        try:
            self.graph = graph
        finally:
            object.__setattr__(self, "_fgir_structure", None)

    def recompile(self) -> Any:
        key = self.__dict__.get("_fgir_structure")
        if key is None or _profiler_metadata() or not _can_reuse():
            python_code = super().recompile()     # this module's own source: released with it
            weakref.finalize(self, forget_source, type(self).forward.__code__.co_filename)
            return python_code
        kept = _KEPT.get(key)
        if kept is None:
            python_code = super().recompile()
            _keep(key, _Forward(self, python_code))
            return python_code
        _KEPT[key] = _KEPT.pop(key)   # the most recent last
        self._code, self._lineno_map, self._prologue_start = kept.code, kept.lineno_map, kept.prologue_start
        cls = type(self)
        cls.forward = kept.forward
        _wrap_call(cls)
        return kept.python_code


def _wrap_call(cls: type) -> None:
    """Install the call wrapper ``GraphModule.recompile`` installs (errors in generated code read well)."""
    cls_call = cls.__call__ if "__call__" in vars(cls) else None
    if "_wrapped_call" not in vars(cls):
        cls._wrapped_call = fx_graph_module._WrappedCall(cls, cls_call)

    def call_wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        return self._wrapped_call(self, *args, **kwargs)

    cls.__call__ = call_wrapped


def _can_reuse() -> bool:
    """Whether this torch's GraphModule works as this module expects (else every module is generated)."""
    return hasattr(fx_graph_module, "_WrappedCall") and hasattr(torch.fx.GraphModule, "_recompile_submodules")


def _profiler_metadata() -> bool:
    config = getattr(getattr(torch.fx, "experimental", None), "_config", None)
    return bool(getattr(config, "enrich_profiler_metadata", False))


def _keep(key: Hashable, forward: _Forward) -> None:
    _KEPT[key] = forward
    while len(_KEPT) > MAX_KEPT:
        _forget(_KEPT.pop(next(iter(_KEPT))))


def _forget(forward: _Forward) -> None:
    forget_source(forward.forward.__code__.co_filename)


def forget_source(key: str) -> None:
    """Drop a generated ``forward``'s source that torch.fx caches for good (its loader's eval_cache and
    linecache, ~6 KB a module): a long search would otherwise grow."""
    loader = getattr(fx_graph_module, "_loader", None)
    cache = getattr(loader, "eval_cache", None)      # torch's private cache, hence the care
    if isinstance(cache, dict):
        cache.pop(key, None)
    linecache.cache.pop(key, None)


def forget_all() -> None:
    """Release every kept ``forward``."""
    while _KEPT:
        _forget(_KEPT.pop(next(iter(_KEPT))))


__all__ = ["FgirModule", "MAX_KEPT", "forget_all", "forget_source", "structure_key"]
