"""apply_prune: read a Prune process's masks, derive every pruned width, record kept channels.

Requires ``lowered``; runs before ``infer_shapes``, which then checks the pruned widths.
Guarantees ``pruned``: with a Prune process, every op with weights whose
channels were pruned carries the dense channels it keeps on each side and the
dense widths (``fgir.ir.pruning``: ``keep_out``/``dense_out``, ``keep_in``/``dense_in``);
its width attributes are the pruned ones (its schema's ``with_widths``).

The one place that maps masks to channels.  Two mask forms:
  * ``masks: {group: [...]}`` over the channel groups of any network
    (``fgir.ir.channel_groups``), one mask a group, and/or ``ratios: {group: r}``:
    the group keeps ``kept_count`` of its channels (of its mask's, beside one);
    a group a grouped convolution ties is masked and counted in whole conv groups.
    Which ones is the criterion's choice from the weights, made when they are
    loaded (``fgir.prune``); until then the first of them stand in, and
    ``graph.meta["prune"]["select"]`` says what is left to choose;
  * a family's row layout (the ResNet guide's ``chn_node_mask`` and ``chn_mask``),
    read by that family's planner.
A mask's length is the dense width of what it governs and its sum the pruned
width; the spec's own widths may be either (dense, or already pruned as the
guide writes them), and anything else is an error.  Channels flow through
each op by its schema's channel rule: produced, passed on, tied, or
concatenated (a consumer of a concatenation keeps each part's channels at
that part's offset).
"""

from __future__ import annotations

from fgir.blocks.family import FAMILIES, family_of_network
from fgir.diagnostics import did_you_mean
from fgir.ir.channel_groups import ChannelGroups, channel_groups
from fgir.ir.graph import Graph, Node, ProcessRecord
from fgir.ir.ops import OPS, Trait
from fgir.ir.pruning import (DENSE_IN, DENSE_OUT, KEEP_IN, KEEP_OUT, Mask, PrunePlan, declared_width, kept_count,
                              split_unit, unit_step)
from .base import Pass, PassContext
from .infer_shapes import input_type


class ApplyPrune(Pass):
    name = "apply_prune"
    requires = frozenset({"lowered"})
    provides = frozenset({"pruned"})

    def run(self, graph: Graph, ctx: PassContext) -> None:
        process = graph.process("Prune")
        if process is None:
            return False
        groups = channel_groups(graph)
        if process.args.get("masks") is not None or process.args.get("ratios") is not None:
            plan = plan_from_groups(graph, groups, process, ctx)
        else:
            plan = _plan_from_rows(graph, groups, process, ctx)
        if plan is None:
            return
        apply_plan(graph, plan, ctx)   # after a mask's error too: the other masks' errors at once
        if plan.finish is not None:
            plan.finish(graph)
        if not ctx.diagnostics.has_errors:
            graph.meta["prune"] = {"init_model_file": process.args.get("init_model_file"),
                                   "init_model_origin": process.origin_of("init_model_file").to_json()}
            if plan.select:
                graph.meta["prune"]["select"] = {"ratios": plan.select, "criterion": process.args["criterion"],
                                                 "round_to": process.args.get("round_to")}


def _is_prunable(name: str, prunable: dict, every: dict, origin, ctx: PassContext) -> bool:
    """Whether ``name`` is a prunable group (``prunable``: by name; ``every``: locked ones too)."""
    if name in prunable:
        return True
    if name in every:
        ctx.error(origin, f"channel group '{name}' cannot be pruned: {every[name].locked}")
    else:
        ctx.error(origin, f"no channel group '{name}'", hint=did_you_mean(name, prunable) or
                  "the groups are listed by 'fgir summary --groups'")
    return False


def plan_from_groups(graph: Graph, groups: ChannelGroups, process: ProcessRecord,
                     ctx: PassContext) -> PrunePlan | None:
    """One mask a channel group, for every producer and tie of the group: its ``masks`` entry, pruned
    further by its ``ratios`` entry."""
    prunable, every = groups.by_name(), groups.any_by_name()
    plan = PrunePlan()
    chosen: dict[str, Mask] = {}
    for name, values in (process.args.get("masks") or {}).items():
        origin = process.origin_of(f"masks.{name}")
        if not _is_prunable(name, prunable, every, origin, ctx):
            continue
        if not isinstance(values, list) or any(v not in (0, 1) or isinstance(v, bool) for v in values):
            ctx.error(origin, "a mask is a list of 0s and 1s")
            continue
        mask = Mask.from_bits(values, origin, f"mask '{name}'")
        if not mask.keep:
            ctx.error(origin, f"{mask.what} keeps no channels: a layer cannot have zero channels")
            continue
        partial = split_unit(mask.keep, mask.dense, prunable[name].unit)
        if partial is not None:
            ctx.error(origin, f"{mask.what} keeps some of channels {partial} to {partial + prunable[name].unit - 1} "
                              f"and not the others, but a grouped convolution prunes group '{name}' by whole conv "
                              f"groups of {prunable[name].unit} channels")
            continue
        chosen[name] = mask
    round_to = process.args.get("round_to")
    for name, ratio in (process.args.get("ratios") or {}).items():
        origin = process.origin_of(f"ratios.{name}")
        if not _is_prunable(name, prunable, every, origin, ctx):
            continue
        dense = prunable[name].dense_width
        base = chosen[name].keep if name in chosen else list(range(dense))
        kept = kept_count(len(base), ratio, unit_step(round_to, prunable[name].unit))
        if kept < len(base):   # the first channels stand in until the criterion chooses (fgir.prune)
            chosen[name] = Mask(base[:kept], chosen[name].dense if name in chosen else dense, origin,
                                f"ratio {ratio:g} of group '{name}'")
            plan.select[name] = ratio
    for name, mask in chosen.items():
        for tensor in prunable[name].tensors:
            rule = OPS[graph[tensor].op].channel_rule(graph[tensor].attrs)
            if rule.produces or rule.inner or (rule.ties and groups.group_of(tensor) == name):
                plan.out_masks[tensor] = mask
    return plan


def _plan_from_rows(graph: Graph, groups: ChannelGroups, process: ProcessRecord,
                    ctx: PassContext) -> PrunePlan | None:
    planner = family_of_network(graph).prune_rows
    if planner is None:
        with_rows = sorted(name for name, family in FAMILIES.items() if family.prune_rows)
        ctx.error(process.origin_of("chn_node_mask"),
                  f"chn_node_mask and chn_mask are the row layout of the {', '.join(with_rows)} family; "
                  "this network is not of it",
                  hint="use masks: {group: [...]}; 'fgir summary --groups' lists the groups")
        return None
    return planner(graph, groups, process, ctx.error)


def apply_plan(graph: Graph, plan: PrunePlan, ctx: PassContext) -> None:
    """Set pruned widths and record kept channels, op by op along the channel rules; restate block
    width expectations written at dense widths at the pruned ones."""
    flow = _Flow(graph, plan, ctx)
    for node in graph:
        schema = OPS[node.op]
        flow.keep[node.name], flow.dense[node.name] = schema.channel_rule(node.attrs).prune(
            node, flow, schema.has(Trait.HAS_WEIGHTS))
    for block in graph.blocks:
        kept = flow.keep.get(block.output)
        if block.expect is not None and kept is not None and block.expect.channels == flow.dense[block.output]:
            block.expect = block.expect.restated(len(kept), "after pruning")


class _Flow:
    """The :class:`~fgir.ir.ops.channel_rules.PruneFlow` the op rules carry kept channels through."""

    def __init__(self, graph: Graph, plan: PrunePlan, ctx: PassContext) -> None:
        self.graph, self.plan, self.ctx = graph, plan, ctx
        self.keep: dict[str, list[int] | None] = {}    # node → dense channels its output keeps (None: all)
        self.dense: dict[str, int] = {graph.input.name: input_type(graph, ctx).channels}   # node → dense width

    def kept(self, node: Node) -> tuple[list[int] | None, int]:
        return self.keep[node.name], self.dense[node.name]

    def out_width(self, node: Node) -> int:
        if node.name in self.dense:
            return self.dense[node.name]
        width = declared_width(node)
        if width is not None:
            return width
        # an op that writes no width of its own (a reshape, a parameter): its input's, or its type's
        return self.dense[node.inputs[0].name] if node.inputs else (node.type.channels if node.type else 0)

    def masked(self, node: Node) -> bool:
        return node.name in self.plan.out_masks

    def mask(self, node: Node) -> Mask:
        return self.plan.out_masks[node.name]

    def refuse(self, node: Node, message: str) -> None:
        self.ctx.error(node.origin, message, subject=node.name)

    def refuse_mask(self, node: Node, mask: Mask, message: str) -> None:
        self.ctx.error(mask.origin, message, hint=f"'{node.name}' is at {node.origin.loc}")

    def record(self, node: Node, ins: tuple[list[int] | None, int], out: tuple[list[int] | None, int] | None) -> None:
        out_keep, out_dense = out if out is not None else ins
        _record(node, ins[0], ins[1], out_keep, out_dense, OPS[node.op])

    def produce(self, node: Node) -> tuple[list[int] | None, int]:
        in_keep, in_dense = self.kept(node.inputs[0])
        mask = self.plan.out_masks.get(node.name)
        width = declared_width(node)
        if mask is not None and width not in (mask.dense, len(mask.keep)):
            self.refuse_mask(node, mask, f"{mask.what} keeps {len(mask.keep)} of {mask.dense} channels, but "
                                         f"'{node.name}' has {width}: the spec's widths must be the dense ones "
                                         "or the pruned ones")
        out_keep = mask.keep if mask is not None else None
        out_dense = mask.dense if mask is not None else width
        if out_keep is not None or in_keep is not None:
            _record(node, in_keep, in_dense, out_keep, out_dense, OPS[node.op])
        return out_keep, out_dense

    def tie(self, node: Node) -> tuple[list[int] | None, int]:
        keep, dense, plan = self.keep, self.dense, self.plan
        mask = plan.out_masks.get(node.name)
        if mask is None:
            return self.kept(node.inputs[0])
        for src in node.inputs:
            src_keep = keep[src.name] if keep[src.name] is not None else list(range(dense[src.name]))
            # other channels, or other dense widths (the dense network projected here: the spec is
            # written at pruned widths that make the two sides look alike)
            if src_keep != mask.keep or dense[src.name] != mask.dense:
                if plan.reconcile is None:
                    raise RuntimeError(f"'{node.name}' ties inputs that keep different channels")
                mended = plan.reconcile(self.graph, node, src, src_keep, dense[src.name], mask)
                node.replace_input(src, mended)
                keep[mended.name], dense[mended.name] = mask.keep, mask.dense
        return mask.keep, mask.dense


def _record(node: Node, in_keep: list[int] | None, in_dense: int, out_keep: list[int] | None,
            out_dense: int, schema) -> None:
    """Annotate what ``node`` keeps; a side left dense (None) keeps the width the spec gave it."""
    in_width = len(in_keep) if in_keep is not None else None
    out_width = len(out_keep) if out_keep is not None else None
    if out_keep is not None:
        node.meta.update({KEEP_OUT: out_keep, DENSE_OUT: out_dense})
    if in_keep is not None:
        node.meta.update({KEEP_IN: in_keep, DENSE_IN: in_dense})
    node.attrs = schema.with_widths(node.attrs, in_width, out_width)
