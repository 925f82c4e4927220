"""DOT text for a :class:`~fgir.viz.model.View`: clusters per block, labelled nodes and edges.

Everything here is a pure function of the IR, so the same graph always gives
the same bytes; Graphviz is not needed to produce DOT.

Example:
    >>> import fgir
    >>> pic = draw(fgir.compile("examples/resnet20_cifar.yaml"), depth=1)
    >>> pic.dot.splitlines()[0]
    'digraph fgir {'
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any, Iterable

from fgir.diagnostics import Diagnostic, Origin
from fgir.ir.printer import format_attr
from fgir.ir.graph import Graph, Node
from fgir.ir.ops import OPS
from fgir.ir.pruning import DENSE_IN, DENSE_OUT, KEEP_IN, KEEP_OUT
from fgir.viz.model import Group, View, build_view

OUTPUT_ID = "(output)"
ERROR = "#c01c28"
FILL = {"conv": "#d6e6f5", "norm": "#fff4cc", "activation": "#dcefd5", "dense": "#fde4cc",
        "pool": "#efdcea", "join": "#ffffff", "input": "#ffffff"}   # by the op schema's role
OTHER_FILL = "#eeeeee"
# (kept channels, dense width, which side) as apply_prune records them (fgir.ir.pruning)
PRUNE_KEYS = [(KEEP_OUT, DENSE_OUT, "out "), (KEEP_IN, DENSE_IN, "in ")]
BLOCK_FILL = "#d7dde8"
CLUSTER_FILL = ["#f5f7fa", "#eaeff5", "#dfe7f0", "#d5dfeb"]   # darker with depth
WRAP = 44
LEFT_BR = '<BR ALIGN="LEFT"/>'   # ends a left-aligned line in an HTML-like label


@dataclass
class Picture:
    """DOT text, and for each DOT node or cluster name, the details shown on hover."""

    dot: str
    details: dict[str, dict[str, Any]] = field(default_factory=dict)


def draw(graph: Graph, depth: int | None = None, *, diagnostics: Iterable[Diagnostic] = (),
         caption: str | None = None) -> Picture:
    """Draw ``graph`` with blocks deeper than ``depth`` collapsed (``None``: all expanded)."""
    if depth is not None and depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    view = build_view(graph, diagnostics)
    return _Writer(graph, view, depth).write(caption)


# -- text helpers -------------------------------------------------------------------------
def quote(text: str) -> str:
    """A DOT string literal; backslashes doubled so Graphviz's escapes (\\N, \\G) stay literal."""
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _h(text: Any) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _small(text: str, color: str = "#555555", size: int = 8) -> str:
    return f'<FONT POINT-SIZE="{size}" COLOR="{color}">{_h(text)}</FONT>'


def _human(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def _count(value: Any) -> str:
    return str(len(value)) if isinstance(value, (list, tuple, set)) else str(value)


def op_summary(node: Node) -> str:
    """One line for an op, its schema's label: ``conv 3x3 16→32 /2``, ``bn 32``, ``linear 512→10``."""
    if node.is_block:
        return node.block_type or node.op
    schema = OPS.get(node.op)
    return schema.label(node.attrs) if schema is not None else node.op


def _badges(meta: dict[str, Any]) -> list[str]:
    """Quantisation bits and pruned widths, when a pass recorded them."""
    out = []
    bits = [f"{key[0]}{meta[key]}" for key in ("w_bits", "a_bits") if meta.get(key) is not None]
    if bits:
        out.append(_small(" ".join(bits), "#1a5fb4"))
    kept = []
    one_side = meta.get(KEEP_OUT) == meta.get(KEEP_IN)   # BN, depthwise: the same channels in and out
    for keep, dense, side in PRUNE_KEYS[:1] if one_side else PRUNE_KEYS:
        if meta.get(keep) is not None:
            of = f"/{_count(meta[dense])}" if meta.get(dense) is not None else ""
            kept.append(f"{'' if one_side else side}{_count(meta[keep])}{of}")
    if kept:
        out.append(_small(f"kept {' · '.join(kept)} ch", "#8a4b08"))
    return out


def _error_lines(messages: list[str], subject: str = "", width: int = WRAP) -> list[str]:
    """Wrapped red lines; ``subject`` ("conv2d 'conv1' ") is cut where the box already says it."""
    lines = []
    for message in messages:
        if subject and message.startswith(subject):
            message = message[len(subject):]
        for i, part in enumerate(textwrap.wrap(message, width) or [message]):
            lines.append(_small(("⚠ " if i == 0 else "") + part, ERROR, 9))
    return lines


def _at(origin: Origin) -> str:
    """`` at file:line``, or nothing for what the compiler made up."""
    loc = origin.loc
    if loc.line > 0:
        return f" at {loc.file}:{loc.line}"
    return "" if loc.file.startswith("<") else f" at {loc.file}"


# -- the writer --------------------------------------------------------------------------------
class _Writer:
    def __init__(self, graph: Graph, view: View, depth: int | None) -> None:
        self.graph = graph
        self.view = view
        self.depth = depth
        self.lines: list[str] = []
        self.details: dict[str, dict[str, Any]] = {}
        self.visible: dict[str, str] = {}        # node id -> the DOT node drawing it
        self.parents: dict[int, Group] = {}

    def write(self, caption: str | None) -> Picture:
        self.lines += ["digraph fgir {",
                       f"  graph [{self._graph_attrs(caption)}];",
                       '  node [shape=box, style="rounded,filled", fontname="Helvetica", '
                       'fontsize=10, height=0.3, margin="0.10,0.03", color="#7a8594", '
                       'penwidth=0.8];',
                       '  edge [fontname="Helvetica", fontsize=8, fontcolor="#4a5360", '
                       'color="#7a8594", arrowsize=0.6, penwidth=0.8];']
        self._items(self.view.root, "  ")
        self._edges()
        self.lines.append("}")
        return Picture("\n".join(self.lines) + "\n", self.details)

    def _graph_attrs(self, caption: str | None) -> str:
        meta = self.graph.meta
        head = [meta.get("spec", {}).get("file") or "graph"]
        if self.view.root.types:
            head.append(self.view.root.types[0])
        if meta.get("input"):
            head.append("input " + "x".join(map(str, meta["input"])))
        if "params" in meta:
            head.append(f"{meta['params']:,} params · {_human(meta.get('macs', 0))} MACs")
        rows = [f'<B>{_h(" · ".join(head))}</B>']
        if caption:
            rows.append(_small(caption, "#333333", 10))
        placed = sum(len(v) for v in self.view.node_errors.values()) + \
            sum(len(g.errors) for g in self.view.root.groups())
        errors = placed + len(self.view.unplaced)
        if errors:
            text = f"{errors} error{'s' if errors != 1 else ''}"
            if placed:
                text += ", drawn in red where they are"
            rows.append(_small(text + (":" if self.view.unplaced else ""), ERROR, 10))
            rows += _error_lines(self.view.unplaced, width=2 * WRAP)
        label = "<" + LEFT_BR.join(rows) + LEFT_BR + ">"
        return (f'rankdir=TB, newrank=true, nodesep=0.25, ranksep=0.16, fontname="Helvetica", '
                f'fontsize=12, labelloc=t, labeljust=l, label={label}')

    # -- nodes and clusters --------------------------------------------------------------
    def _items(self, group: Group, indent: str) -> None:
        for item in group.items:
            if not isinstance(item, Group):
                self._op(item, group, indent)
                continue
            self.parents[id(item)] = group
            if self.depth is not None and item.depth >= self.depth:
                self._collapsed(item, indent)
            else:
                self._cluster(item, indent)

    def _local(self, group: Group) -> str:
        """A block's name inside its parent's box: ``layer1.0`` within ``bottlelayer``."""
        up = self.parents.get(id(group))
        if up is not None and up.scope and group.scope.startswith(up.scope + "."):
            return group.scope[len(up.scope) + 1:]
        return group.scope

    def _op(self, name: str, group: Group, indent: str) -> None:
        node = self.view.nodes[name]
        self.visible[name] = name
        errors = self.view.node_errors.get(name, [])
        summary = op_summary(node)
        rows = [f"<B>{_h(summary)}</B>"]
        if node.op == "input" and node.type is not None:
            rows = [f"<B>input {_h(node.type)}</B>"]
        local = name[len(group.scope) + 1:] if group.scope and name.startswith(group.scope + ".") \
            else name
        base = local.rsplit("_", 1)[0] if local.rsplit("_", 1)[-1].isdigit() else local
        if base not in (node.op, summary.split(" ")[0]):
            rows.append(_small(local))
        rows += _badges(node.meta)
        rows += _error_lines(errors, f"{node.op} '{name}' ")
        fill = BLOCK_FILL if node.is_block else FILL.get(OPS[node.op].role if node.op in OPS else "", OTHER_FILL)
        attrs = {"label": "<" + "<BR/>".join(rows) + ">", "fillcolor": quote(fill)}
        if node.is_block:
            attrs["style"] = '"filled,bold"'
        if node.op == "input":
            attrs["style"] = '"rounded,filled,bold"'
        if errors:
            attrs.update(color=quote(ERROR), penwidth="2", fillcolor=quote("#fbe3e4"))
        lines = self._node_details(name, node)
        self._emit_node(name, attrs, lines, errors, indent)

    def _node_details(self, name: str, node: Node) -> list[str]:
        lines = [f"{node.op}{_at(node.origin)}"]
        if node.origin.path:
            lines.append(f"spec: {node.origin.path}")
        lines += [f"{k} = {format_attr(v)}" for k, v in node.attrs.items()]
        if node.type is not None:
            lines.append(f"output: {node.type}")
        if "params" in node.meta:
            lines.append(f"params: {node.meta['params']:,}   MACs: {node.meta.get('macs', 0):,}")
        lines += [f"{k}: {format_attr(v)}" for k, v in node.meta.items()
                  if k not in ("params", "macs", "expect")]
        return lines

    def _group_cost(self, group: Group) -> tuple[int, int] | None:
        nodes = [self.view.nodes[n] for n in group.node_ids()]
        if not nodes or any("params" not in n.meta for n in nodes):
            return None
        return (sum(n.meta["params"] for n in nodes), sum(n.meta.get("macs", 0) for n in nodes))

    def _group_details(self, group: Group) -> list[str]:
        lines = [" › ".join(group.types) + _at(group.origin)]
        if group.origin.path:
            lines.append(f"spec: {group.origin.path}")
        lines.append(f"{sum(1 for _ in group.node_ids())} ops")
        cost = self._group_cost(group)
        if cost:
            lines.append(f"params: {cost[0]:,}   MACs: {cost[1]:,}")
        out = self.view.nodes.get(group.output) if group.output else None
        if out is not None and out.type is not None:
            lines.append(f"output: {out.type}")
        return lines

    def _collapsed(self, group: Group, indent: str) -> None:
        name = f"[{group.scope}]"
        errors = list(group.errors)
        for sub in group.groups():
            errors += [f"{sub.scope}: {m}" for m in sub.errors]
        for node_id in group.node_ids():
            self.visible[node_id] = name
            local = node_id[len(group.scope) + 1:] if node_id.startswith(group.scope + ".") \
                else node_id
            node = self.view.nodes[node_id]
            subject = f"{node.op} '{node_id}' "
            errors += [f"{local}: {m[len(subject):] if m.startswith(subject) else m}"
                       for m in self.view.node_errors.get(node_id, [])]
        rows = [f"<B>{_h(self._local(group))}</B>  {_h(' › '.join(group.types))}"]
        facts = []
        cost = self._group_cost(group)
        if cost:
            facts.append(f"{_human(cost[0])} params · {_human(cost[1])} MACs")
        out = self.view.nodes.get(group.output) if group.output else None
        if out is not None and out.type is not None:
            facts.append(f"out {out.type}")
        if facts:
            rows.append(_small(" · ".join(facts)))
        rows += _error_lines(errors, f"{group.type} '{group.scope}' ")
        attrs = {"label": "<" + "<BR/>".join(rows) + ">", "fillcolor": quote(BLOCK_FILL),
                 "style": '"rounded,filled,bold"', "margin": '"0.14,0.05"'}
        if errors:
            attrs.update(color=quote(ERROR), penwidth="2", fillcolor=quote("#fbe3e4"))
        self._emit_node(name, attrs, self._group_details(group), errors, indent, group.scope)

    def _cluster(self, group: Group, indent: str) -> None:
        name = f"cluster_{group.scope}"
        head = f"<B>{_h(self._local(group))}</B>  {_h(' › '.join(group.types))}"
        cost = self._group_cost(group)
        if cost:
            head += "  " + _small(f"{_human(cost[0])} params", "#555555", 9)
        rows = [head, *_error_lines(group.errors, f"{group.type} '{group.scope}' ")]
        fill = CLUSTER_FILL[min(group.depth - 1, len(CLUSTER_FILL) - 1)]
        details = self._group_details(group)
        attrs = [f"label=<{LEFT_BR.join(rows)}{LEFT_BR}>",
                 'labeljust=l', 'fontsize=10', 'style="rounded,filled"', f'fillcolor="{fill}"',
                 f'color="{ERROR if group.errors else "#9aa8b8"}"',
                 f'penwidth={2 if group.errors else 0.8}',
                 f"tooltip={quote(self._tooltip(group.scope, details, group.errors))}"]
        self.details[name] = {"title": group.scope, "lines": details, "errors": list(group.errors)}
        self.lines.append(f"{indent}subgraph {quote(name)} {{")
        self.lines.append(f"{indent}  graph [{', '.join(attrs)}];")
        self._items(group, indent + "  ")
        self.lines.append(f"{indent}}}")

    def _emit_node(self, name: str, attrs: dict[str, str], details: list[str],
                   errors: list[str], indent: str, title: str | None = None) -> None:
        title = title or name
        self.details[name] = {"title": title, "lines": details, "errors": list(errors)}
        attrs["tooltip"] = quote(self._tooltip(title, details, errors))
        body = ", ".join(f"{k}={v}" for k, v in attrs.items())
        self.lines.append(f"{indent}{quote(name)} [{body}];")

    @staticmethod
    def _tooltip(title: str, details: list[str], errors: list[str]) -> str:
        return "\n".join([title, *details, *(f"error: {e}" for e in errors)])

    # -- edges ------------------------------------------------------------------------------
    def _edges(self) -> None:
        seen: set[tuple[str, str, str]] = set()
        for src, dst, ttype in self.view.edges:
            a, b = self.visible.get(src), self.visible.get(dst)
            label = str(ttype) if ttype is not None else ""
            if a is None or b is None or a == b or (a, b, label) in seen:
                continue   # an edge inside a collapsed block, or one already drawn
            seen.add((a, b, label))
            attrs = [f"label={quote(label)}"] if label else []
            if dst in self.view.node_errors:   # the tensor the failing node cannot take
                attrs += [f'color="{ERROR}"', f'fontcolor="{ERROR}"', "penwidth=1.4"]
            self.lines.append(f"  {quote(a)} -> {quote(b)}" +
                              (f" [{', '.join(attrs)}]" if attrs else "") + ";")
        out = self.view.output
        if out is not None and out in self.visible:
            node = self.view.nodes[out]
            self.lines.append(f'  {quote(OUTPUT_ID)} [label="output", shape=oval, style=filled, '
                              f'fillcolor="#ffffff", fontsize=9, height=0.25];')
            label = f" [label={quote(str(node.type))}]" if node.type is not None else ""
            self.lines.append(f"  {quote(self.visible[out])} -> {quote(OUTPUT_ID)}{label};")
            self.details[OUTPUT_ID] = {"title": "output", "lines": [f"the graph's result: {out}"],
                                       "errors": []}
