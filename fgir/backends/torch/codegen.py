"""A module's ``forward``: generated once per graph structure and reused; its fx graph built only when read.

``torch.fx`` writes a ``forward``'s Python source from the fx graph and compiles it, for every
module: a third of ``to_torch``'s time for a ResNet-20, and building the fx graph a fifth more.  So
:func:`~fgir.backends.torch.build.build_module` describes a module by a :class:`Recipe`: each node's
:class:`Call` and the outputs.  Two recipes of one structure (the same calls, inputs and constant
arguments, in the same order: :meth:`Recipe.key`) get the same source, so :class:`FgirModule` keeps the
compiled ``forward`` under that key and gives the next module of that structure the same function.  That
module builds its fx graph from its recipe when something first reads ``module.graph`` (printing,
editing, copying, pickling, tracing): its own graph, as with torch.fx.  A later ``module.recompile()``
(after editing it) generates afresh, as torch.fx does.  The last :data:`MAX_KEPT` structures are kept,
their sources released after.

Example:
    >>> import fgir
    >>> graph = fgir.compile("examples/resnet20_cifar.yaml")
    >>> a, b = fgir.to_torch(graph), fgir.to_torch(graph)
    >>> type(a).forward is type(b).forward, a.code == b.code, isinstance(a, torch.fx.GraphModule)
    (True, True, True)
    >>> a.graph is not b.graph, len(a.graph.nodes) == len(b.graph.nodes)
    (True, True)
"""

from __future__ import annotations

import linecache
import weakref
from typing import Any, Hashable, NamedTuple

import torch
import torch.fx
from torch.fx import graph_module as fx_graph_module

MAX_KEPT = 64
_KEPT: dict[Hashable, "_Forward"] = {}


class Call(NamedTuple):
    """What a module's ``forward`` does for one node.

    ``kind``: ``input`` (the argument), ``module`` (calls the submodule at the node's name), ``function``
    (``fn(*inputs, *extra)``), ``packed`` (``fn([inputs], *extra)``) or ``parameter`` (``fn(*inputs, tensor,
    *extra)``, the tensor being the module's attribute at the node's name)."""

    name: str
    kind: str
    fn: Any
    reads: tuple[str, ...]
    extra: tuple[Any, ...]


class Recipe(NamedTuple):
    """A module's calls, in order, and its result: ``outputs`` is (the nodes' names, ``None`` for one
    result as it is, else ``"tuple"`` or ``"dict"``, the dict's keys)."""

    calls: tuple[Call, ...]
    outputs: tuple[tuple[str, ...], str | None, tuple[str, ...]]

    def key(self) -> Hashable | None:
        """What the generated source depends on, hashable; None if a constant argument cannot be hashed
        (then the module's code is generated as usual).

        >>> one = Recipe((Call("x", "input", None, (), ()), Call("act", "module", None, ("x",), ())), (("act",), None, ()))
        >>> one.key() == one._replace(calls=tuple(one.calls)).key(), one._replace(outputs=(("x",), None, ())).key() == one.key()
        (True, False)
        """
        parts = (tuple((c.name, c.kind, c.fn, c.reads, frozen(c.extra)) for c in self.calls), self.outputs)
        try:
            hash(parts)
        except TypeError:
            return None
        return parts

    def graph(self) -> torch.fx.Graph:
        """The fx graph that the recipe describes."""
        fx = torch.fx.Graph()
        values: dict[str, torch.fx.Node] = {}
        for call in self.calls:
            args = tuple(values[name] for name in call.reads)
            if call.kind == "input":
                value = fx.placeholder("x")
            elif call.kind == "module":
                value = fx.call_module(call.name, args)
            elif call.kind == "packed":
                value = fx.call_function(call.fn, (list(args),) + call.extra)
            elif call.kind == "parameter":
                value = fx.call_function(call.fn, args + (fx.get_attr(call.name),) + call.extra)
            else:
                value = fx.call_function(call.fn, args + call.extra)
            values[call.name] = value
        names, form, keys = self.outputs
        results = [values[name] for name in names]
        fx.output(results[0] if form is None else dict(zip(keys, results)) if form == "dict" else tuple(results))
        return fx


def frozen(value: Any) -> Any:
    """A hashable stand-in for a call's constant arguments that tells apart what the generated source
    writes differently (``[1]`` and ``(1,)``, ``1`` and ``1.0`` and ``True``, ``0.0`` and ``-0.0``).

    >>> frozen((1, [2.0, -0.0], True))
    ('()', ((<class 'int'>, 1), ('[]', ((<class 'float'>, '2.0'), (<class 'float'>, '-0.0'))), (<class 'bool'>, True)))
    """
    kind = type(value)
    if kind is list or kind is tuple:
        return ("[]" if kind is list else "()", tuple(frozen(v) for v in value))
    if kind is dict:
        return ("{}", tuple((frozen(k), frozen(v)) for k, v in value.items()))
    if kind is float:
        return kind, repr(value)
    return kind, value


class _Forward:
    __slots__ = ("forward", "code", "lineno_map", "prologue_start")

    def __init__(self, module: torch.fx.GraphModule) -> None:
        self.forward = type(module).forward
        self.code = module._code
        self.lineno_map = getattr(module, "_lineno_map", None)
        self.prologue_start = getattr(module, "_prologue_start", 0)


class FgirModule(torch.fx.GraphModule):
    """A ``torch.fx.GraphModule`` made from a :class:`Recipe`, sharing the ``forward`` of its structure
    (see the module docstring)."""

    def __init__(self, root: torch.nn.Module, graph: torch.fx.Graph) -> None:
        super().__init__(root, graph, class_name="FgirModule")

    @classmethod
    def empty(cls) -> "FgirModule":
        """A module with no graph and no code yet: what it holds is placed in it directly (torch.fx would
        copy it in from another module), then :meth:`set_recipe` gives it its ``forward``."""
        module = cls.__new__(cls)
        module.__dict__["_fgir_defer"] = True    # no source for a forward that set_recipe replaces
        cls.__init__(module, torch.nn.Module(), torch.fx.Graph())
        module.__dict__["_graph"].owning_module = None   # a placeholder: it must not hold the module alive
        return module

    def set_recipe(self, recipe: Recipe) -> None:
        """Give the module the ``forward`` that ``recipe`` describes: the one kept for its structure (generated
        from the recipe's graph and kept, the first time), its fx graph left to build when read.

        Until then the module holds no fx graph, so it is freed as soon as it is dropped: a GraphModule and
        its graph refer to each other, which left every module, weights and all, to the cycle collector
        (and a ResNet-50's fresh tensors to fresh pages of memory, a third slower to fill)."""
        key = recipe.key() if _can_reuse() and not _profiler_metadata() else None
        kept = _KEPT.get(key) if key is not None else None
        if kept is None:
            self.__dict__["_fgir_keep"] = key
            self.graph = recipe.graph()     # generates the source (GraphModule.recompile), kept under key
            if key is None:
                return                      # code of its own: the module keeps the graph it came from
            kept = _KEPT[key]
        _KEPT[key] = _KEPT.pop(key)   # the most recent last
        self.__dict__.pop("_graph").owning_module = None    # the fx graph and its module: a cycle
        self.__dict__["_fgir_recipe"] = recipe
        self._code, self._lineno_map, self._prologue_start = kept.code, kept.lineno_map, kept.prologue_start
        cls = type(self)
        cls.forward = kept.forward
        _wrap_call(cls)

    def __getattr__(self, name: str) -> Any:
        if name == "_graph":    # read for the first time: built from the recipe
            recipe = self.__dict__.pop("_fgir_recipe", None)
            if recipe is not None:
                graph = recipe.graph()
                graph.owning_module = self
                self.__dict__["_graph"] = graph
                return graph
        return super().__getattr__(name)

    def recompile(self) -> Any:
        if self.__dict__.pop("_fgir_defer", False):
            return None
        python_code = super().recompile()
        key = self.__dict__.pop("_fgir_keep", None)
        if key is None:    # this module's own source: released with it
            weakref.finalize(self, forget_source, type(self).forward.__code__.co_filename)
        else:
            _keep(key, _Forward(self))
        return python_code

    # torch.fx deep-copies and pickles a module's __dict__ with its "_graph" in it: build the graph first
    def __deepcopy__(self, memo: dict[int, Any]) -> torch.fx.GraphModule:
        self._graph
        return super().__deepcopy__(memo)

    def __reduce__(self) -> Any:
        self._graph
        return super().__reduce__()

    def __reduce_package__(self, exporter: Any) -> Any:
        self._graph
        return super().__reduce_package__(exporter)


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


__all__ = ["Call", "FgirModule", "MAX_KEPT", "Recipe", "forget_all", "forget_source", "frozen"]
