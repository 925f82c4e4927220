"""What is being pruned: a spec's dense network, its channel groups, and the channels each keeps now.

A spec without a Prune process keeps every channel.  One with a Prune process
(masks, the ResNet rows, or ratios) is pruned further: the dense network is the
spec without it, and each group's *kept* channels are those its masks keep (a
``ratios`` entry is a request to choose, which pruning now answers, so it is
left out).  Rows stay dense-length, so rounds compose.

Example:
    >>> spec = ("search_space:\\n  modules: [net, p]\\n  net: {type: ResNet, depth: 20}\\n"
    ...         "  p: {type: Prune, masks: {conv1: [1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}}\\n")
    >>> subject = load_subject(spec)
    >>> len(subject.groups.groups), subject.kept["conv1"][:4], subject.process
    (12, [0, 2, 4, 5], 'p')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fgir.diagnostics import Diagnostic, FgirError, Origin
from fgir.ir.channel_groups import ChannelGroups, channel_groups
from fgir.ir.graph import Graph, Node
from fgir.ir.pruning import DENSE_HEADS, DENSE_OUT, KEEP_HEADS, KEEP_OUT, SELECTION
from fgir.prune.output import SpecTree, without_module
from fgir.spec.tree import copy_tree, plain_tree
from fgir.spec.document import parse_document
from fgir.spec.yaml_loader import load_yaml_text

PRUNE = "Prune"


@dataclass
class Subject:
    """A spec ready to prune (see the module docstring)."""

    file: str                       # the spec's path ("<string>" for text)
    tree: dict[str, Any]            # the whole document as plain data
    space_at: tuple[str, ...]       # where search_space sits in it (() for a bare space)
    process: str | None             # the Prune module's name, when the spec has one
    graph: Graph                    # the spec as written, compiled: its nodes carry the user's locations
    before: Graph                   # the spec as pruned before (the written one less any ratios)
    dense: Graph                    # the dense network, compiled
    groups: ChannelGroups           # the dense network's channel groups
    kept: dict[str, list[int]]      # prunable group → the dense channels it keeps now
    prune_args: dict[str, Any]      # the Prune process's arguments as written ({} without one)

    @property
    def space(self) -> dict[str, Any]:
        node = self.tree
        for key in self.space_at:
            node = node[key]
        return node

    @property
    def pruned_before(self) -> bool:
        return any(len(self.kept[g.name]) < g.dense_width for g in self.groups.groups)

    def origin(self, node: str) -> Origin:
        """Where the user wrote ``node`` (the spec as written has every node the dense one has)."""
        source = self.graph if node in self.graph else self.dense
        return source[node].origin

    def with_space(self, space: dict[str, Any]) -> str:
        """The document with ``space`` as its search space, as YAML text."""
        return SpecTree(self.file, self.tree, self.space_at).text(space)


def _compile(text: str, file: str, input: Any) -> Graph:
    from fgir.api import compile, loads

    return compile(loads(text, file), input=input)


def load_subject(spec: str | Path, input: Any = None, file: str | None = None) -> Subject:
    """The subject of a spec file (or spec text holding a newline, read as ``file`` if given); FgirError
    for the spec's own errors."""
    from fgir.api import compile, load, loads

    source = loads(str(spec), file) if file is not None else load(spec)
    graph = compile(source, input=input)    # the spec's errors first, where the user wrote them
    text, file = graph.meta["spec"]["text"], graph.meta["spec"]["file"]
    input = "x".join(map(str, graph.meta["input"]))
    root = load_yaml_text(text, file)
    doc = parse_document(root)
    tree = plain_tree(root)
    space_at = ("search_space",) if doc.space is not doc.root else ()
    space = tree[space_at[0]] if space_at else tree
    process = next((m.name for m in doc.modules if m.type_name == PRUNE), None)
    prune_args = {k: v for k, v in space[process].items() if k != "type"} if process else {}
    dense_space = without_module(space, process)
    before_space = copy_tree(space)
    if process is not None:
        before_space[process].pop("ratios", None)
        if not any(before_space[process].get(k) is not None for k in ("masks", "chn_node_mask")):
            before_space = dense_space
    subject = Subject(file, tree, space_at, process, graph, graph, graph, channel_groups(graph), {}, prune_args)
    subject.dense = _compile(subject.with_space(dense_space), file, input)
    subject.before = subject.dense if before_space is dense_space else \
        _compile(subject.with_space(before_space), file, input)
    subject.groups = channel_groups(subject.dense)
    subject.kept = _kept_channels(subject)
    return subject


def _kept_channels(subject: Subject) -> dict[str, list[int]]:
    """Each dense group's kept channels, read off the earlier pruning; every producer must agree."""
    kept: dict[str, list[int]] = {}
    before = subject.before
    for group in subject.groups.groups:
        sets: dict[tuple[int, ...], str] = {}
        for name in group.producers:
            node = before[name] if name in before else None
            if node is None:
                continue
            _check_written_dense(subject, node, group.dense_width)
            keep = node.meta.get(KEEP_OUT, node.meta.get(KEEP_HEADS, list(range(group.dense_width))))
            sets.setdefault(tuple(keep), name)
        if len(sets) > 1:
            (a, first), (b, second) = list(sets.items())[:2]
            raise FgirError(Diagnostic.at(subject.origin(second), (
                f"the spec's Prune keeps {len(a)} channels of group '{group.name}' in '{first}' but "
                f"{len(b)} others in '{second}', which a residual add ties to them (a selection "
                "projection mends it); pruning further composes masks that keep one set per group"),
                hint=f"write the earlier pruning as masks: {{{group.name}: [...]}}"))
        kept[group.name] = list(next(iter(sets))) if sets else list(range(group.dense_width))
    if any(node.meta.get(SELECTION) for node in before):
        name = next(node.name for node in before if node.meta.get(SELECTION))
        raise FgirError(Diagnostic.at(subject.origin(name) if name in subject.graph else before[name].origin,
                                      f"the spec's Prune adds the selection projection '{name}', which the "
                                      "dense network lacks; pruning further composes masks of the dense "
                                      "network's channel groups"))
    return kept


def _check_written_dense(subject: Subject, node: Node, written: int) -> None:
    """The network must be written at its dense widths: a mask row is as long as the width written."""
    mask_length = node.meta.get(DENSE_OUT, node.meta.get(DENSE_HEADS))
    if mask_length is not None and mask_length != written:
        raise FgirError(Diagnostic.at(subject.origin(node.name), (
            f"pruning further needs the network written at its dense widths, but '{node.name}' is "
            f"written with {written} channels where its mask is {mask_length} long"),
            hint="write the network's widths as the dense network has them; the masks say what is pruned"))


__all__ = ["PRUNE", "Subject", "load_subject"]
