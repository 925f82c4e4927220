"""Memoized elaboration: a pure block built once per (class, arguments, spec origins), then copied.

Building a block runs its ``constructor`` and ``forward`` in Python: for a space's candidates,
or the same spec compiled again, the same blocks are built with the same arguments over and
over.  :func:`built` keeps what one build gave (the block node with its sub-graph) under a key
that holds *everything* the build reads: the class, the node's name, the number of inputs, the
block's origin and each argument's value and spec origin (so every location in the result is
the one a fresh build would write).  A later build with the same key gets a copy of it.  A
build is kept only when it is pure and quiet:

* fgir's own classes only: a user's block or layer (a plugin) runs code fgir cannot see, and is
  built afresh every time unless its class says ``pure = True``;
* no diagnostic (a warning is printed by each compile that meets it; an error stops the build);
* the registries it resolved names in unchanged (a plugin may replace a block type or an op).

The block node is new each time; its sub-graph is shared by every copy, and nothing changes a
built block's sub-graph in place (``lower_blocks`` copies what it inlines) except ``expand_repeat``,
which fills each Repeat's: the sub-graphs on the way to a Repeat are copied for each use.
``fgir.compile`` with a pipeline or a dump callback of the caller's builds everything afresh (they may
edit sub-graphs); code that edits the block sub-graphs of a graph ``fgir.load`` returned must copy
them first (``Graph.copy``), or load with the memo off.

``FGIR_NO_CACHE=1`` in the environment, or :func:`disabled`, turns it off: the slow path, which
``tests/test_fast_path.py`` holds the fast one byte-identical to.

Example:
    >>> import fgir
    >>> clear()
    >>> first = fgir.compile("examples/resnet20_cifar.yaml")
    >>> hits = STATS["hits"]
    >>> again = fgir.compile("examples/resnet20_cifar.yaml")
    >>> STATS["hits"] > hits, again.to_json() == first.to_json()
    (True, True)
    >>> with disabled():
    ...     enabled()
    False
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from typing import Any, Callable, Iterator

from fgir.blocks.located import LocDict, LocFloat, LocInt, LocList, LocStr
from fgir.diagnostics import Origin
from fgir.ir.annotations import scratch_keys
from fgir.ir.graph import BLOCK_PREFIX, Graph, Node, ProcessRecord
from fgir.ir.node import ITEM
from fgir.ir.ops import OPS
from fgir.ir.serialize import plain_copy
from fgir.ir.types import TensorType

MAX_ENTRIES = 1024            # builds kept (a few MB); the oldest go first (a hit changes nothing: no churn)
STATS = {"hits": 0, "misses": 0}
_MEMO: dict[Any, "_Entry"] = {}
_OFF: contextvars.ContextVar[bool] = contextvars.ContextVar("fgir_memo_off", default=False)
_IMPURE = [0]                 # how many impure modules were built so far (a build compares before and after)
_BUILDING: list[Any] = []     # inside the builds under way: classes built, and kept builds' dependencies
_DEPTH = [0]                  # how many builds are under way (nested blocks)
_SCALARS = (int, str, bool, type(None))
_CONTAINERS = (dict, list)
REPEAT = BLOCK_PREFIX + "Repeat"     # a Repeat node's op
_SCRATCH = scratch_keys()


class _Unkeyable(Exception):
    """An argument holds an object whose content a key cannot capture: that build is not kept."""


class _Entry:
    __slots__ = ("node", "outputs", "deps", "waiting")

    def __init__(self, node: Node, outputs: int, deps: tuple[tuple[dict, str, Any], ...]) -> None:
        self.node, self.outputs, self.deps = node, outputs, deps
        self.waiting = _waiting(node.subgraph) if node.subgraph is not None else frozenset()


def enabled() -> bool:
    """Whether builds are memoized here and now (not under ``FGIR_NO_CACHE=1`` or :func:`disabled`)."""
    return not _OFF.get() and os.environ.get("FGIR_NO_CACHE") != "1"


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Build every block afresh inside this context (the slow path)."""
    token = _OFF.set(True)
    try:
        yield
    finally:
        _OFF.reset(token)


def clear() -> None:
    """Forget every kept build (and the hit counts)."""
    _MEMO.clear()
    STATS.update(hits=0, misses=0)


def note_module(cls: type) -> None:
    """Called for each module built: a user's class (unless ``pure = True``) makes the build impure, and
    a kept build depends on the registry's entry for each class's name."""
    if not cls.__module__.startswith("fgir.") and not getattr(cls, "pure", False):
        _IMPURE[0] += 1
    if _DEPTH[0]:
        _BUILDING.append(cls)


def built(cls: type, name: str, args: Any, origin: Any, key_origins: Any, graph: Graph, inputs: list[Node],
          build: Callable[[], list[Node] | None], diagnostics: Any) -> list[Node] | None:
    """The output nodes of block ``cls`` built as ``name`` in ``graph`` on ``inputs``: a copy of a kept
    build when there is one, else ``build()``'s (kept when pure and quiet; see the module docstring)."""
    key = _key(cls, name, args, origin, key_origins, len(inputs)) if enabled() else None
    if key is None:
        return build()
    entry = _MEMO.get(key)
    if entry is not None and all(table.get(k) is v for table, k, v in entry.deps):
        STATS["hits"] += 1
        if _DEPTH[0]:               # a build around this one depends on what this one did
            _BUILDING.extend(entry.deps)
        return _place(entry, name, graph, inputs)
    STATS["misses"] += 1
    impure, reported, start = _IMPURE[0], len(diagnostics.items), len(_BUILDING)
    _DEPTH[0] += 1
    try:
        outputs = build()
    finally:
        _DEPTH[0] -= 1
        read = _BUILDING[start:]
        if not _DEPTH[0]:           # nested, they stay: the build around depends on them too
            del _BUILDING[start:]
    if outputs is None or _IMPURE[0] != impure or len(diagnostics.items) != reported:
        return outputs
    node = outputs[0]
    deps = _dependencies(node.subgraph, read) if node.subgraph is not None else None
    if deps is not None:
        if len(_MEMO) >= MAX_ENTRIES:
            del _MEMO[next(iter(_MEMO))]
        waiting = _waiting(node.subgraph) if node.subgraph is not None else frozenset()
        _MEMO[key] = _Entry(_detached(node, waiting=waiting), len(outputs), deps)
    return outputs


def _place(entry: _Entry, name: str, graph: Graph, inputs: list[Node]) -> list[Node]:
    """A copy of the kept node added to ``graph`` as :meth:`Module.__call__` adds a fresh one."""
    node = _detached(entry.node, graph.unique_name(name), inputs, entry.waiting)
    graph.add_node(node)
    items = [graph.add(graph.unique_name(f"{node.name}.{i}"), ITEM, [node], {"index": i}, node.origin)
             for i in range(1, entry.outputs)]
    return [node, *items]


def copy_data(value: Any) -> Any:
    """A deep copy of JSON-like data (what attributes and meta hold), fast; anything else is shared (a tuple
    stays a tuple: unlike :func:`fgir.ir.serialize.plain_copy`, it copies without changing any value).

    >>> attrs = {"kernel_size": [3, 3]}
    >>> copy_data(attrs) == attrs, copy_data(attrs)["kernel_size"] is attrs["kernel_size"]
    (True, False)
    """
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) not in _CONTAINERS else copy_data(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) not in _CONTAINERS else copy_data(v) for v in value]
    return value


def _detached(node: Node, name: str | None = None, inputs: list[Node] | tuple[Node, ...] = (),
              waiting: frozenset[int] = frozenset(), copy: Callable[[Any], Any] = copy_data) -> Node:
    """A copy of block ``node`` in no graph, reading ``inputs``.  Its sub-graph is shared (read-only: see the
    module docstring), except one of the ``waiting`` graphs, which is copied down to its Repeats."""
    subgraph = node.subgraph
    if subgraph is not None and id(subgraph) in waiting:
        subgraph = _thawed(subgraph, waiting, copy)
    out = Node(name or node.name, node.op, copy(node.attrs), inputs, node.origin, dict(node.arg_origins),
               subgraph, node.inline_scope)
    if copy is copy_data:
        out.meta, out.type = copy_data(node.meta), node.type
    else:       # as the JSON form has them
        out.meta = plain_copy(node.meta if _SCRATCH.isdisjoint(node.meta) else
                              {k: v for k, v in node.meta.items() if k not in _SCRATCH})
        out.type = TensorType.from_json(node.type.to_json()) if node.type is not None else None
    return out


def _thawed(graph: Graph, waiting: frozenset[int], copy: Callable[[Any], Any] = copy_data) -> Graph:
    """A copy of a sub-graph holding a Repeat that ``expand_repeat`` fills in place: its nodes are new, the
    sub-graphs that hold none are shared."""
    out = Graph()
    env: dict[str, Node] = {}
    for node in graph:
        env[node.name] = out.add_node(_detached(node, None, [env[i.name] for i in node.inputs], waiting, copy))
    out.set_outputs([env[n.name] for n in graph.outputs], list(graph.output_names))
    out.properties, out.meta = set(graph.properties), copy(graph.meta)
    return out


def front_end_copy(graph: Graph) -> Graph:
    """What ``graph.copy()`` gives a graph of blocks (the front end's, before any pass), made fast: the same
    nodes, values and records, but the sub-graphs that hold no Repeat to expand are shared, for the default
    passes change none of them in place (see the module docstring).

    >>> import fgir
    >>> graph = fgir.load("examples/resnet18.yaml")
    >>> front_end_copy(graph).to_json() == graph.copy().to_json()
    True
    """
    if graph.blocks or graph.is_lowered:
        return graph.copy()
    out = _thawed(graph, _waiting(graph) | {id(graph)}, plain_copy)
    out.processes = [ProcessRecord.from_json(plain_copy(p.to_json())) for p in graph.processes]
    return out


def _waiting(graph: Graph) -> frozenset[int]:
    """The ids of ``graph`` and of the sub-graphs inside it that hold a Repeat not yet expanded."""
    found: set[int] = set()
    _collect_waiting(graph, found)
    return frozenset(found)


def _collect_waiting(graph: Graph, found: set[int]) -> bool:
    """Add to ``found`` the ids of ``graph`` and its sub-graphs that hold a Repeat to expand; whether
    ``graph`` does.  (A module function: a recursive closure would be a reference cycle every compile.)"""
    waits = False
    for node in graph:
        if node.subgraph is not None:
            waits = _collect_waiting(node.subgraph, found) or waits
        elif node.op == REPEAT:
            waits = True
    if waits:
        found.add(id(graph))
    return waits


def _dependencies(graph: Graph, read: list[Any]) -> tuple[tuple[dict, str, Any], ...] | None:
    """The registry entries a build read, or may have (``read``: the classes it built and the dependencies of
    the kept builds it copied; its sub-graph's ops and blocks); None for a sub-graph it cannot copy."""
    from fgir.blocks.registry import BLOCKS

    deps = [item if isinstance(item, tuple) else (BLOCKS, item.type_name(), BLOCKS.get(item.type_name()))
            for item in read]
    for node in graph:
        if node.op == REPEAT and node.subgraph is None:
            continue            # expanded later, per compile, on the copy (its block type resolved then)
        if node.is_block:
            if node.subgraph is None:
                return None
            deps.append((BLOCKS, node.block_type, BLOCKS.get(node.block_type)))
            inner = _dependencies(node.subgraph, [])
            if inner is None:
                return None
            deps.extend(inner)
        elif node.op in OPS:
            deps.append((OPS, node.op, OPS[node.op]))
    return tuple({(id(table), k): (table, k, v) for table, k, v in deps}.values())


def _key(cls: type, name: str, args: Any, origin: Any, key_origins: Any, inputs: int) -> Any:
    try:
        key = (cls, name, inputs, origin, _fingerprint(args), _fingerprint(getattr(args, "value_origins", None)),
               tuple(key_origins.items()) if key_origins else ())
        hash(key)
    except (_Unkeyable, TypeError):
        return None
    return key


def _fingerprint(value: Any) -> Any:
    """What a build can read of ``value``: its type, value and every spec origin in it (hashable); raises
    _Unkeyable for an object it does not know."""
    kind = type(value)
    if kind in _SCALARS or kind is Origin:
        return kind, value
    if kind is float:
        return kind, repr(value)            # -0.0 and 0.0 are equal, but are written differently
    if kind in (LocInt, LocStr):
        return kind, int(value) if kind is LocInt else str(value), getattr(value, "origin", None)
    if kind is LocFloat:
        return kind, repr(float(value)), getattr(value, "origin", None)
    if kind in (list, tuple, LocList):
        return (kind, getattr(value, "origin", None), tuple(getattr(value, "item_origins", ())),
                tuple(_fingerprint(v) for v in value))
    if kind in (dict, LocDict):
        return (kind, getattr(value, "origin", None), tuple(getattr(value, "key_origins", {}).items()),
                tuple(getattr(value, "value_origins", {}).items()),
                tuple((k, _fingerprint(v)) for k, v in value.items()))
    raise _Unkeyable(kind.__name__)


__all__ = ["MAX_ENTRIES", "REPEAT", "STATS", "built", "clear", "copy_data", "disabled", "enabled", "front_end_copy",
           "note_module"]
