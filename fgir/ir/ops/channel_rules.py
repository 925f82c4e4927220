"""Channel rules: how an op relates its inputs' channels to its output's, as objects with two methods.

Like Torch-Pruning's per-op pruners, each rule answers for its op in both places
that follow channels through a graph, so that neither switches on a kind:

* :meth:`ChannelRule.groups` — the output's *layout* (``(group, width)`` segments)
  from the inputs', opening, tying or locking groups through a
  :class:`GroupBuilder` (``fgir.ir.channel_groups`` implements it);
* :meth:`ChannelRule.prune` — the dense channels the output keeps from those its
  inputs keep, through a :class:`PruneFlow` (``passes.apply_prune`` implements it).

Rules are singletons, compared with ``is``; ``value`` is the rule's name in text.
An op whose arithmetic mixes a tensor's channels with one another in a way no rule
here states (LayerNorm over channels, a softmax over them, a matmul, a reshape)
takes :data:`COUPLED` or :data:`OPAQUE`: the groups it touches are *locked* with
the reason, never pruned into a network that differs from its masked dense form.

Example:
    >>> PRODUCE.value, PRODUCE.produces, PASS.keeps_channels, COUPLED.keeps_channels
    ('produce', True, True, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from fgir.ir.pruning import split_unit

if TYPE_CHECKING:
    from fgir.ir.node import Node
    from fgir.ir.pruning import Mask

Layout = list[tuple[str, int]]          # (group id, width) segments
Kept = tuple[list[int] | None, int]      # (dense channels kept, None for all; dense width)


class GroupBuilder(Protocol):
    """What :meth:`ChannelRule.groups` may do to the groups being built."""

    source: str                                       # the network input's group id

    def open(self, node: "Node") -> str: ...          # a new group written by ``node``
    def write(self, gid: str, node: "Node") -> None: ...   # ``node`` writes ``gid``'s channels
    def consume(self, gid: str, node: "Node", offset: int) -> None: ...   # reads them by weights
    def union(self, gids: list[str]) -> str: ...
    def find(self, gid: str) -> str: ...
    def lock(self, gid: str, reason: str) -> None: ...
    def out_width(self, node: "Node") -> int: ...
    # a group inside ``node``, written and read by it alone (attention's heads), ``width`` now, ``dense`` dense
    def inner(self, node: "Node", width: int, dense: int) -> str: ...
    # ``gid``'s channels are pruned in whole runs of ``size`` (a grouped convolution's groups)
    def unit(self, gid: str, size: int) -> None: ...


class PruneFlow(Protocol):
    """What :meth:`ChannelRule.prune` may ask of the pruning pass."""

    def kept(self, node: "Node") -> Kept: ...
    def record(self, node: "Node", ins: Kept, out: Kept | None) -> None: ...
    def produce(self, node: "Node") -> Kept: ...
    def tie(self, node: "Node") -> Kept: ...
    def masked(self, node: "Node") -> bool: ...      # a mask names ``node``'s output
    def mask(self, node: "Node") -> "Mask": ...      # that mask
    def refuse(self, node: "Node", message: str) -> None: ...
    def refuse_mask(self, node: "Node", mask: "Mask", message: str) -> None: ...   # said at the mask
    def out_width(self, node: "Node") -> int: ...


class ChannelRule:
    """The base rule: the output has the first input's channels, unchanged."""

    value = "pass"
    produces = False        # writes new channels from all of its input's (what a mask names)
    keeps_channels = True   # output channel i is input channel i's (computed from it, or from its conv group)
    ties = False            # joins its inputs' channels into one set
    inner = False           # opens a group inside the op (attention's heads): what a mask names

    def groups(self, node: "Node", ins: list[Layout], net: GroupBuilder) -> Layout:
        return ins[0]

    def prune(self, node: "Node", flow: PruneFlow, has_weights: bool) -> Kept:
        ins = flow.kept(node.inputs[0])
        if ins[0] is not None and has_weights:
            flow.record(node, ins, None)
        return ins

    def __repr__(self) -> str:
        return f"<channel rule {self.value}>"

    def __reduce__(self) -> Any:
        return _by_value, (self.value,)


class _Source(ChannelRule):
    value, keeps_channels = "source", False

    def groups(self, node, ins, net):
        return [(net.source, 0)]

    def prune(self, node, flow, has_weights):
        return None, flow.out_width(node)


class _Produce(ChannelRule):
    value, produces, keeps_channels = "produce", True, False
    locks: str | None = None   # why the groups it reads and writes cannot be pruned

    def groups(self, node, ins, net):
        offset = 0
        for gid, width in ins[0]:
            net.consume(gid, node, offset)
            offset += width
            if self.locks:
                net.lock(gid, f"{self.locks} '{node.name}' reads it")
        gid = net.open(node)
        if self.locks:
            net.lock(gid, f"{self.locks} '{node.name}' writes it")
        return [(gid, net.out_width(node))]

    def prune(self, node, flow, has_weights):
        return flow.produce(node)


class _LockedGrouped(_Produce):
    value, produces, locks = "grouped_locked", False, "grouped convolution"

    def prune(self, node, flow, has_weights):
        if flow.kept(node.inputs[0])[0] is not None or flow.masked(node):
            flow.refuse(node, f"'{node.name}' is a grouped convolution; pruning its channels is not supported")
        return None, flow.out_width(node)


class _Grouped(_LockedGrouped):
    """A grouped convolution as wide as its input, pruned by whole conv groups: conv group g reads and
    writes channels ``g*u`` to ``(g+1)*u`` (``u = out_channels / groups``) and nothing else, so its input
    and output are one channel group, pruned ``u`` channels at a time; its ``groups`` falls with them.
    Read from several groups at once, it locks them (as :data:`GROUPED_LOCKED` does)."""

    value, keeps_channels = "grouped", True

    def groups(self, node, ins, net):
        if len(ins[0]) != 1 or ins[0][0][1] != net.out_width(node):
            return super().groups(node, ins, net)
        gid = ins[0][0][0]
        net.write(gid, node)
        net.unit(gid, node.attrs["out_channels"] // node.attrs["groups"])
        return ins[0]

    def prune(self, node, flow, has_weights):
        keep, dense = flow.kept(node.inputs[0])
        if keep is None:
            return super().prune(node, flow, has_weights)
        unit = node.attrs["out_channels"] // node.attrs["groups"]
        split = split_unit(keep, dense, unit)
        if split is not None:   # a family's row layout may ask for it (masks are refused where written)
            flow.refuse(node, f"'{node.name}' is a grouped convolution pruned by whole conv groups of {unit} "
                              f"channels, but of channels {split} to {split + unit - 1} only some are kept")
            return None, flow.out_width(node)
        # its output channels alone are cut: each keeps its filter over its own conv group's inputs whole (and
        # where one conv group is left the pruned conv is a plain one over them, its weights cut the same way)
        flow.record(node, (None, dense), (keep, dense))
        return keep, dense


class _Depthwise(ChannelRule):
    value = "depthwise"

    def groups(self, node, ins, net):
        for gid, _ in ins[0]:
            net.write(gid, node)
        return ins[0]


class _Tie(ChannelRule):
    value, ties = "tie", True

    def groups(self, node, ins, net):
        shapes = {tuple(width for _, width in segments) for segments in ins}
        if len(shapes) == 1:   # segment by segment, the same widths: tie each position's groups
            for position in range(len(ins[0])):
                root = net.union([segments[position][0] for segments in ins])
                if net.source in {net.find(segments[position][0]) for segments in ins}:
                    net.lock(root, f"'{node.name}' ties it to the network input")
            return ins[0]
        for segments in ins:   # different segmentations: nothing here can be pruned consistently
            for gid, _ in segments:
                net.lock(gid, f"'{node.name}' joins it with channels laid out differently")
        return ins[0]

    def prune(self, node, flow, has_weights):
        return flow.tie(node)


class _Concat(ChannelRule):
    value, keeps_channels = "concatenate", False

    def groups(self, node, ins, net):
        return [segment for segments in ins for segment in segments]

    def prune(self, node, flow, has_weights):
        kept_ins = [flow.kept(src) for src in node.inputs]
        if all(keep is None for keep, _ in kept_ins):
            return None, sum(dense for _, dense in kept_ins)
        kept, offset = [], 0
        for keep, dense in kept_ins:
            kept += [offset + c for c in (keep if keep is not None else range(dense))]
            offset += dense
        return kept, offset


class _Coupled(ChannelRule):
    """Each output channel is computed from all of them (a LayerNorm's mean over channels, a softmax)."""

    value = "coupled"

    def groups(self, node, ins, net):
        for segments in ins:
            for gid, _ in segments:
                net.lock(gid, f"'{node.name}' ({node.op}) couples its channels: pruning them would change "
                              "the values of those kept")
        return ins[0]


class OpaqueRule(ChannelRule):
    """Mixes or moves channels in a way no other rule states (matmul, reshape, a learned token)."""

    value, keeps_channels = "opaque", False

    def reason(self, node: "Node") -> str:
        return f"'{node.name}' ({node.op}) mixes or moves channels in a way pruning does not follow"

    def groups(self, node, ins, net):
        reason = self.reason(node)
        for segments in ins:
            for gid, _ in segments:
                net.lock(gid, reason)
        gid = net.open(node)
        net.lock(gid, reason)
        return [(gid, net.out_width(node))]

    def prune(self, node, flow, has_weights):
        return None, flow.out_width(node)


SOURCE = _Source()           # the network input: its channels are the data's, never pruned
PRODUCE = _Produce()         # conv, linear
PASS = ChannelRule()         # BN, activations, pooling
TIE = _Tie()                 # add, mul: inputs and output share one set of channels
DEPTHWISE = _Depthwise()     # output channel i from input channel i alone, with weights
GROUPED = _Grouped()         # a grouped convolution as wide as its input: pruned by whole conv groups
GROUPED_LOCKED = _LockedGrouped()   # any other grouped convolution: locked
CONCAT = _Concat()           # the inputs' channels, one after another
COUPLED = _Coupled()         # passes channels on but couples them: locked
OPAQUE = OpaqueRule()           # anything else: locks what it reads, writes a locked group

RULES = {r.value: r for r in (SOURCE, PRODUCE, PASS, TIE, DEPTHWISE, GROUPED, GROUPED_LOCKED, CONCAT, COUPLED,
                                  OPAQUE)}


def _by_value(value: str) -> ChannelRule:
    return RULES[value]
