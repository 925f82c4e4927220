"""The view a picture is drawn from: the IR's nodes grouped into the blocks they came from.

A lowered graph is flat, so its grouping comes from ``graph.blocks``; a graph
before ``lower_blocks`` is grouped by its block nodes' sub-graphs.  Both give
the same tree of :class:`Group`, with two simplifications that keep the picture
readable: a block that names nothing of its own (an inline scope such as
ResNet's Repeat) belongs to its parent, and a block that only wraps one other
block (VariantLayer around its Repeat) is drawn as one.

Example:
    >>> import fgir
    >>> view = build_view(fgir.compile("examples/resnet20_cifar.yaml"))
    >>> [g.scope for g in view.root.groups()][:3]
    ['layer1.0', 'layer1.1', 'layer1.2']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from fgir.diagnostics import Diagnostic, Origin
from fgir.ir.graph import INTERNAL, BlockInfo, Graph, Node
from fgir.passes.lower_blocks import inline_blocks
from fgir.ir.types import TensorType

Edge = tuple[str, str, TensorType | None]


@dataclass(eq=False)
class Group:
    """A block as drawn: a cluster when expanded, one node when collapsed."""

    scope: str
    types: list[str]
    origin: Origin
    output: str | None = None
    items: list["str | Group"] = field(default_factory=list)   # node ids and groups, in graph order
    aliases: set[str] = field(default_factory=set)            # scopes of the blocks merged into it
    expects: list[tuple[Origin, str | None]] = field(default_factory=list)  # (origin, output id)
    depth: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def type(self) -> str:
        return self.types[0] if self.types else ""

    def groups(self) -> Iterator["Group"]:
        """Every group below this one, in pre-order."""
        for item in self.items:
            if isinstance(item, Group):
                yield item
                yield from item.groups()

    def node_ids(self) -> Iterator[str]:
        """Every node id below this group, at any depth."""
        for item in self.items:
            if isinstance(item, Group):
                yield from item.node_ids()
            else:
                yield item


@dataclass
class View:
    """The IR as groups, nodes (primitive ops, unexpanded blocks, the input) and typed edges."""

    root: Group
    nodes: dict[str, Node]
    edges: list[Edge]
    output: str | None
    node_errors: dict[str, list[str]] = field(default_factory=dict)
    unplaced: list[str] = field(default_factory=list)

    def owner(self) -> dict[str, Group]:
        out: dict[str, Group] = {}

        def visit(group: Group) -> None:
            for item in group.items:
                if isinstance(item, Group):
                    visit(item)
                else:
                    out[item] = group
        visit(self.root)
        return out


def build_view(graph: Graph, diagnostics: Iterable[Diagnostic] = ()) -> View:
    """Group ``graph`` for drawing and attach each error diagnostic to what it is about."""
    if graph.is_lowered:
        view = _from_lowered(graph, graph.blocks)
    else:   # drawn as lower_blocks would lower it
        view = _from_lowered(*inline_blocks(graph, keep_unexpanded=True))
    _simplify(view.root, is_root=True)
    _set_depths(view.root, 0)
    for diag in diagnostics:
        if diag.severity == "error":
            _place(view, diag)
    return view


# -- building ---------------------------------------------------------------------
def _from_lowered(graph: Graph, blocks: list[BlockInfo]) -> View:
    root = Group("", [], INTERNAL, output=graph.output.name)
    owner: dict[str, Group] = {name: root for name in graph.nodes}
    parent: dict[int, Group] = {}
    stack: list[tuple[Group, set[str]]] = [(root, set(graph.nodes))]
    for info in blocks:
        # membership by set, not by position: a later pass may have removed or added nodes
        members = [name for name in info.nodes if name in graph.nodes]
        if not members:
            continue
        member_set = set(members)
        while not member_set <= stack[-1][1]:
            stack.pop()
        group = Group(info.scope, [info.type], info.origin, output=info.output)
        if info.expect is not None:
            group.expects.append((info.expect.origin, info.output))
        parent[id(group)] = stack[-1][0]
        stack.append((group, member_set))
        for name in members:
            owner[name] = group   # blocks come parent first, so the innermost one wins
    attached: set[int] = {id(root)}

    def attach(group: Group) -> None:
        if id(group) in attached:
            return
        up = parent[id(group)]
        attach(up)
        up.items.append(group)
        attached.add(id(group))

    for name in graph.nodes:
        attach(owner[name])
        owner[name].items.append(name)
    return View(root, dict(graph.nodes), list(graph.edges()), graph.output.name)


def _simplify(group: Group, is_root: bool = False) -> None:
    items: list[str | Group] = []
    for item in group.items:
        if not isinstance(item, Group):
            items.append(item)
            continue
        _simplify(item)
        if item.scope == group.scope:   # an inline scope adds no name, so no box of its own
            group.types.extend(item.types)
            group.aliases |= item.aliases
            group.expects.extend(item.expects)
            items.extend(item.items)
        else:
            items.append(item)
    group.items = items
    while not is_root and len(items) == 1 and isinstance(items[0], Group):
        only = items[0]      # a block around exactly one block: one box, both types
        group.types.extend(only.types)
        group.aliases |= {only.scope} | only.aliases
        group.expects.extend(only.expects)
        group.items = items = only.items


def _set_depths(group: Group, depth: int) -> None:
    group.depth = depth
    for item in group.items:
        if isinstance(item, Group):
            _set_depths(item, depth + 1)


# -- errors -------------------------------------------------------------------------
_QUOTED = re.compile(r"'([^']+)'")


def _place(view: View, diag: Diagnostic) -> None:
    """Attach ``diag`` to the node or block it is about; failing that, to the whole picture."""
    message = diag.message
    groups = list(view.root.groups())
    by_scope: dict[str, Group] = {}
    for group in groups:
        for scope in sorted(group.aliases) + [group.scope]:
            by_scope[scope] = group
    # the node or block the pass said the diagnostic is about; else one named in quotes
    for name in ([diag.subject] if diag.subject else []) + _QUOTED.findall(message):
        if name in view.nodes:
            view.node_errors.setdefault(name, []).append(message)
            return
        if name in by_scope:
            by_scope[name].errors.append(message)
            return
    where = Origin(diag.loc, diag.path)
    # a width a block promised (out_plane) and its output missed
    for group in [*groups, view.root]:
        for origin, output in group.expects:
            if origin == where:
                if group is view.root or group.scope == "":
                    if output in view.nodes:
                        view.node_errors.setdefault(output, []).append(message)
                        return
                else:
                    group.errors.append(message)
                    return
    exact = [name for name, node in view.nodes.items()
             if node.origin == where or where in node.arg_origins.values()]
    if exact and diag.path:
        for name in exact:
            view.node_errors.setdefault(name, []).append(message)
        return
    target = _closest_in_spec(view, groups, diag)
    if target is None:
        line = f" (line {diag.loc.line})" if diag.loc.line > 0 else ""
        view.unplaced.append(f"{diag.path}: {message}{line}" if diag.path else message + line)
    elif isinstance(target, Group):
        target.errors.append(message)
    else:
        view.node_errors.setdefault(target, []).append(message)


def _closest_in_spec(view: View, groups: list[Group], diag: Diagnostic) -> "Group | str | None":
    """The deepest block or block node whose spec path is the longest prefix of the diagnostic's."""
    owner = view.owner()
    best: tuple[int, int] = (0, -1)
    found: Group | str | None = None
    candidates: list[tuple[Origin, int, Group | str]] = [(g.origin, g.depth, g) for g in groups]
    candidates += [(node.origin, owner[name].depth + 1, name) for name, node in view.nodes.items()
                   if node.is_block]
    for origin, depth, target in candidates:
        path = origin.path
        if not path or origin.loc.file != diag.loc.file:
            continue
        if diag.path == path or diag.path.startswith((path + ".", path + "[")):
            if (len(path), depth) > best:
                best, found = (len(path), depth), target
    return found
