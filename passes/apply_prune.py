"""apply_prune: read a Prune process's masks, derive every pruned width, record kept channels.

Requires ``lowered``; runs before ``infer_shapes``, which then checks the pruned widths.
Guarantees ``pruned``: with a Prune process, every conv2d, batch_norm and linear
carries ``meta["keep_out"]``/``meta["keep_in"]`` (or ``keep``): the dense channel
indices it keeps, with the dense widths; its width attributes are the pruned
ones.  An identity shortcut whose input and output keep different channels gets a
1x1 projection (``<block>.downsample.0/1``) marked ``meta["selection"]``: its
weights select what the identity passed on (SEMANTICS.md).

The one place that maps masks to channels.  Two mask forms:
  * the guide's ResNet row layout: ``chn_node_mask`` (the stem output, then one
    row per stage) and ``chn_mask`` (one row per block: its conv1 output);
  * ``masks: {group: [...]}`` over the channel groups of any network.
A row's length is the dense width of what it governs and its sum the pruned
width; the spec's own widths may be either (dense, or already pruned as the
guide writes them), and anything else is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fgir.diagnostics import Origin, did_you_mean
from fgir.ir.channel_groups import ChannelGroups, channel_groups
from fgir.ir.graph import Graph, Node
from .base import Pass, PassContext

PASS_THROUGH = {"batch_norm", "relu", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "dropout",
                "identity", "flatten"}
RESIDUAL_BLOCKS = {"BasicBlock", "BottleneckBlock"}


@dataclass
class Mask:
    """One mask row: the dense channels it keeps, and where it was written."""

    keep: list[int]
    dense: int
    origin: Origin
    what: str


def prune_process(graph: Graph) -> dict[str, Any] | None:
    return next((p for p in graph.processes if p["type"] == "Prune"), None)


def _mask(values: list[int], origin: Origin, what: str, ctx: PassContext) -> Mask | None:
    keep = [i for i, bit in enumerate(values) if bit]
    if not keep:
        ctx.error(origin, f"{what} keeps no channels: a layer cannot have zero channels")
        return None
    return Mask(keep, len(values), origin, what)


class ApplyPrune(Pass):
    name = "apply_prune"
    requires = frozenset({"lowered"})
    provides = frozenset({"pruned"})

    def run(self, graph: Graph, ctx: PassContext) -> None:
        process = prune_process(graph)
        if process is None:
            return
        groups = channel_groups(graph)
        if process["args"].get("masks") is not None:
            plan = _plan_from_groups(graph, groups, process, ctx)
        else:
            plan = _plan_from_rows(graph, groups, process, ctx)
        if plan is None or ctx.diagnostics.has_errors:
            return
        _apply(graph, plan, ctx)
        _mark_written_selections(graph)
        if not ctx.diagnostics.has_errors:
            graph.meta["prune"] = {"init_model_file": process["args"].get("init_model_file"),
                                   "init_model_origin": process["arg_origins"].get(
                                       "init_model_file", process["origin"]).to_json()}


@dataclass
class Plan:
    conv_out: dict[str, Mask]   # conv → mask of its output channels
    add_out: dict[str, Mask]    # residual add → mask of its output channels


def _plan_from_groups(graph: Graph, groups: ChannelGroups, process: dict[str, Any],
                      ctx: PassContext) -> Plan | None:
    by_name = groups.by_name()
    plan = Plan({}, {})
    masks = process["args"]["masks"]
    origins = process["arg_origins"]
    for name, values in masks.items():
        origin = origins.get(f"masks.{name}", process["origin"])
        if name not in by_name:
            ctx.error(origin, f"no channel group '{name}'", hint=did_you_mean(name, by_name) or
                      "the groups are listed by 'fgir summary --groups'")
            continue
        if not isinstance(values, list) or any(v not in (0, 1) or isinstance(v, bool) for v in values):
            ctx.error(origin, "a mask is a list of 0s and 1s")
            continue
        mask = _mask(values, origin, f"mask '{name}'", ctx)
        if mask is None:
            continue
        for tensor in by_name[name].tensors:
            target = plan.conv_out if graph[tensor].op == "conv2d" else (
                plan.add_out if graph[tensor].op == "add" else None)
            if target is not None:
                target[tensor] = mask
    return plan


def _residual_blocks(graph: Graph) -> list[Any]:
    return [b for b in graph.blocks if b.is_leaf and b.type in RESIDUAL_BLOCKS]


def _plan_from_rows(graph: Graph, groups: ChannelGroups, process: dict[str, Any],
                    ctx: PassContext) -> Plan | None:
    args, origins = process["args"], process["arg_origins"]
    node_origin = origins.get("chn_node_mask", process["origin"])
    inner_origin = origins.get("chn_mask", process["origin"])
    blocks = _residual_blocks(graph)
    names = list(graph.nodes)
    first_block = names.index(blocks[0].nodes[0]) if blocks else len(names)
    stem = [graph[n] for n in names[:first_block] if graph[n].op == "conv2d"]
    if not blocks or len(stem) != 1 or any(b.type != "BasicBlock" for b in blocks):
        ctx.error(node_origin, "chn_node_mask and chn_mask describe a ResNet of BasicBlocks after a "
                               "one-conv stem; this network is not one",
                  hint="use masks: {group: [...]}; 'fgir summary --groups' lists the groups")
        return None
    stage_groups: list[str] = []
    block_stage: list[int] = []
    for block in blocks:
        group = groups.group_of[_block_add(graph, block).name]
        if group not in stage_groups:
            stage_groups.append(group)
        block_stage.append(stage_groups.index(group) + 1)
    node_rows, inner_rows = args["chn_node_mask"], args["chn_mask"]
    problems = []
    if len(node_rows) != 1 + len(stage_groups):
        problems.append((node_origin, f"chn_node_mask has {len(node_rows)} rows; this network needs "
                                      f"{1 + len(stage_groups)}: the stem output, then one per stage "
                                      f"({len(stage_groups)} stages)"))
    if len(inner_rows) != len(blocks):
        problems.append((inner_origin, f"chn_mask has {len(inner_rows)} rows; this network needs "
                                       f"{len(blocks)}: one per block, for its conv1 output"))
    if problems:
        widths = _row_widths_hint(graph, stem[0], blocks, block_stage, len(stage_groups))
        for origin, message in problems:
            ctx.error(origin, message, hint=widths)
        return None
    masks_node = [_mask(row, node_origin.child(i), f"chn_node_mask[{i}]", ctx)
                  for i, row in enumerate(node_rows)]
    masks_inner = [_mask(row, inner_origin.child(i), f"chn_mask[{i}]", ctx)
                   for i, row in enumerate(inner_rows)]
    if None in masks_node or None in masks_inner:
        return None
    plan = Plan({stem[0].name: masks_node[0]}, {})
    for b, block in enumerate(blocks):
        stage_mask = masks_node[block_stage[b]]
        block_convs = [graph[n] for n in block.nodes if graph[n].op == "conv2d"]
        plan.conv_out[block_convs[0].name] = masks_inner[b]
        for conv in block_convs[1:]:
            plan.conv_out[conv.name] = stage_mask
        plan.add_out[_block_add(graph, block).name] = stage_mask
    return plan


def _row_widths_hint(graph: Graph, stem: Node, blocks: list[Any], block_stage: list[int],
                     stages: int) -> str:
    convs = [[graph[n] for n in b.nodes if graph[n].op == "conv2d"] for b in blocks]
    stage_width: dict[int, int] = {}
    for block_convs, s in zip(convs, block_stage):
        stage_width.setdefault(s, block_convs[1].attrs["out_channels"])
    node = [stem.attrs["out_channels"]] + [stage_width[s] for s in range(1, stages + 1)]
    inner = [block_convs[0].attrs["out_channels"] for block_convs in convs]
    return (f"the widths as written: stem and stages {node}, block inner {inner}; each row is as long "
            f"as the dense width it governs (these, when the spec is written dense) and sums to "
            f"the pruned width")


def _block_add(graph: Graph, block: Any) -> Node:
    return next(graph[n] for n in block.nodes if graph[n].op == "add")


def _apply(graph: Graph, plan: Plan, ctx: PassContext) -> None:
    """Set pruned widths, record kept channels, insert selection projections, and restate
    block width expectations (ResNet's out_plane) written at dense widths at the pruned ones."""
    keep: dict[str, list[int] | None] = {}    # node → dense channels its output keeps
    dense: dict[str, int] = {}                # node → dense width of its output
    users = graph.users()
    for node in list(graph):
        if node.op == "input":
            keep[node.name], dense[node.name] = None, 0
        elif node.op == "conv2d":
            _prune_conv(node, plan.conv_out.get(node.name), keep, dense, ctx)
        elif node.op == "add":
            mask = plan.add_out.get(node.name)
            if mask is not None:
                for i, src in enumerate(node.inputs):
                    if _is_identity(graph, src, users) and keep[src] != mask.keep:
                        node.inputs[i] = _insert_selection(graph, node, src, keep, dense, mask)
                keep[node.name], dense[node.name] = mask.keep, mask.dense
            else:
                keep[node.name], dense[node.name] = keep[node.inputs[0]], dense[node.inputs[0]]
        elif node.op == "batch_norm":
            src = node.inputs[0]
            keep[node.name], dense[node.name] = keep[src], dense[src]
            if keep[src] is not None:
                node.meta.update(keep=keep[src], dense=dense[src])
                node.attrs["num_features"] = len(keep[src])
        elif node.op == "linear":
            src = node.inputs[0]
            if keep[src] is not None:
                node.meta.update(keep_in=keep[src], dense_in=dense[src])
                node.attrs["in_features"] = None  # re-inferred from the pruned input
            keep[node.name], dense[node.name] = None, 0
        else:
            keep[node.name], dense[node.name] = keep[node.inputs[0]], dense[node.inputs[0]]
    for block in graph.blocks:
        kept = keep.get(block.output)
        if block.expect is not None and kept is not None and block.expect["channels"] == dense[block.output]:
            block.expect = {**block.expect, "channels": len(kept),
                            "reason": f"{block.expect['reason']} ({len(kept)} after pruning)"}


def _prune_conv(node: Node, mask: Mask | None, keep: dict, dense: dict, ctx: PassContext) -> None:
    src = node.inputs[0]
    width = node.attrs["out_channels"]
    if mask is not None and width not in (mask.dense, len(mask.keep)):
        ctx.error(mask.origin, f"{mask.what} keeps {len(mask.keep)} of {mask.dense} channels, but "
                               f"'{node.name}' has {width}: the spec's widths must be the dense "
                               f"ones or the pruned ones", hint=f"'{node.name}' is at {node.origin.loc}")
    in_keep = keep[src]
    if node.attrs["groups"] != 1 and (mask is not None or in_keep is not None):
        ctx.error(node.origin, f"'{node.name}' is a grouped convolution; pruning those is not supported")
        return
    keep[node.name] = mask.keep if mask is not None else None
    dense[node.name] = mask.dense if mask is not None else width
    if mask is not None:
        node.meta.update(keep_out=mask.keep, dense_out=mask.dense)
        node.attrs["out_channels"] = len(mask.keep)
    if in_keep is not None:
        node.meta.update(keep_in=in_keep, dense_in=dense[src])
        node.attrs["in_channels"] = len(in_keep)


def _mark_written_selections(graph: Graph) -> None:
    """A spec written at pruned widths can hold a projection where the dense block had an identity
    (the guide's first block: 16 → 15 channels); its weights are a selection too."""
    for block in _residual_blocks(graph):
        for name in block.nodes:
            node = graph[name]
            if (node.op == "conv2d" and name.endswith(".downsample.0") and node.attrs["stride"] == [1, 1]
                    and node.meta.get("dense_in") is not None
                    and node.meta.get("dense_in") == node.meta.get("dense_out")):
                node.meta["selection"] = True
                bn = graph[name[:-1] + "1"]
                bn.meta["selection"] = True


def _is_identity(graph: Graph, src: str, users: dict[str, list[str]]) -> bool:
    """True when ``src`` reaches the add straight from the block input (no conv of its own)."""
    node = graph[src]
    while len(users[node.name]) == 1:
        if node.op == "conv2d":
            return False
        if node.op not in PASS_THROUGH:
            return True
        node = graph[node.inputs[0]]
    return True


def _insert_selection(graph: Graph, add: Node, src: str, keep: dict, dense: dict, mask: Mask) -> str:
    """A 1x1 conv + BN on the shortcut that passes on exactly what the identity did."""
    scope = add.name.rsplit(".", 1)[0] if "." in add.name else add.name
    in_keep = keep[src] if keep[src] is not None else list(range(dense[src]))
    conv = Node(f"{scope}.downsample.0", "conv2d",
                {"in_channels": len(in_keep), "out_channels": len(mask.keep), "kernel_size": [1, 1],
                 "stride": [1, 1], "padding": [0, 0], "dilation": [1, 1], "groups": 1, "bias": False},
                [src], add.origin)
    conv.meta.update(keep_out=mask.keep, dense_out=mask.dense, keep_in=in_keep,
                     dense_in=dense[src], selection=True)
    bn = Node(f"{scope}.downsample.1", "batch_norm",
              {"num_features": len(mask.keep), "eps": 1e-5, "momentum": 0.1, "affine": True},
              [conv.name], add.origin)
    bn.meta.update(keep=mask.keep, dense=mask.dense, selection=True)
    _insert_before(graph, add.name, [conv, bn])
    keep[conv.name] = keep[bn.name] = mask.keep
    dense[conv.name] = dense[bn.name] = mask.dense
    return bn.name


def _insert_before(graph: Graph, before: str, new: list[Node]) -> None:
    nodes = list(graph.nodes.values())
    at = nodes.index(graph[before])
    for node in new:
        if node.name in graph.nodes:
            raise RuntimeError(f"node '{node.name}' exists already")
    graph.nodes = {n.name: n for n in nodes[:at] + new + nodes[at:]}
    for block in graph.blocks:
        if before in block.nodes:
            block.nodes[block.nodes.index(before):block.nodes.index(before)] = [n.name for n in new]
