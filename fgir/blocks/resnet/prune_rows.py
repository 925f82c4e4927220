"""The ResNet family's row layout of Prune masks: the guide's ``chn_node_mask`` and ``chn_mask``.

``chn_node_mask`` has one row for the stem output and one per stage (every
block and shortcut of a stage shares it, because residual adds tie their
widths); ``chn_mask`` one row per block, for its conv1 output (docs/semantics.md).
Block b reads the row of its input tensor: conv1 and the shortcut take it as
input; conv1 writes ``chn_mask[b]``; conv2 and the shortcut write the row of
the block's own stage.

Rows need not agree where an identity shortcut ties them (the stem row and the
first stage's row): there the pruned block gets a 1x1 projection
``<block>.downsample.0/1`` whose weights select what the identity passed on,
so the pruned network computes what the masked dense one does.  A spec written
at pruned widths may hold that projection already (the guide's first block,
16 → 15 channels); it is marked a selection too.  The other way round, a spec
written at pruned widths may show an identity where the dense block projects
(a stem wider than stage 1, both pruned to one width): the rows' lengths say
so, and the block gets the dense network's projection back, sliced from the
checkpoint like any other layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fgir.blocks.layers import BatchNorm2d, Conv2d
from fgir.ir.node import Node
from fgir.ir.ops import OPS, ChannelRule
from fgir.ir.ops.channel_rules import PASS
from fgir.ir.pruning import DENSE_IN, DENSE_OUT, KEEP_IN, KEEP_OUT, SELECTION, Mask, PrunePlan, Report

if TYPE_CHECKING:
    from fgir.ir.channel_groups import ChannelGroups
    from fgir.ir.graph import BlockInfo, Graph
    from fgir.ir.records import ProcessRecord

RESIDUAL_BLOCKS = {"BasicBlock", "BottleneckBlock"}
PROJECTION = ("downsample.0", "downsample.1")   # torchvision's names for a shortcut's conv and BN


def _rule(node: Node) -> ChannelRule:
    return OPS[node.op].channel_rule(node.attrs)


def _produces(node: Node) -> bool:
    return _rule(node).produces


def _residual_blocks(graph: "Graph") -> list["BlockInfo"]:
    return [b for b in graph.blocks if b.is_leaf and b.type in RESIDUAL_BLOCKS]


def _block_add(graph: "Graph", block: "BlockInfo") -> Node:
    return next(graph[n] for n in block.nodes if _rule(graph[n]).ties)


def _convs(graph: "Graph", names: list[str]) -> list[Node]:
    return [graph[n] for n in names if _produces(graph[n])]


def _row(values: list[int], origin, what: str, report: Report) -> Mask | None:
    mask = Mask.from_bits(values, origin, what)
    if not mask.keep:
        report(origin, f"{what} keeps no channels: a layer cannot have zero channels")
        return None
    return mask


def plan_rows(graph: "Graph", groups: "ChannelGroups", process: "ProcessRecord", report: Report) -> PrunePlan | None:
    """The plan ``chn_node_mask`` and ``chn_mask`` describe, or None after reporting why they cannot."""
    node_origin, inner_origin = process.origin_of("chn_node_mask"), process.origin_of("chn_mask")
    blocks = _residual_blocks(graph)
    names = list(graph.nodes)
    first_block = names.index(blocks[0].nodes[0]) if blocks else len(names)
    stem = _convs(graph, names[:first_block])
    if not blocks or len(stem) != 1 or any(b.type != "BasicBlock" for b in blocks):
        report(node_origin, "chn_node_mask and chn_mask describe a ResNet of BasicBlocks after a "
                            "one-conv stem; this network is not one",
               hint="use masks: {group: [...]}; 'fgir summary --groups' lists the groups")
        return None
    stage_groups: list[str] = []
    block_stage: list[int] = []
    for block in blocks:
        group = groups.group_of(_block_add(graph, block).name)
        if group not in stage_groups:
            stage_groups.append(group)
        block_stage.append(stage_groups.index(group) + 1)
    node_rows, inner_rows = process.args["chn_node_mask"], process.args["chn_mask"]
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
            report(origin, message, hint=widths)
        return None
    node_masks = [_row(row, node_origin.child(i), f"chn_node_mask[{i}]", report) for i, row in enumerate(node_rows)]
    inner_masks = [_row(row, inner_origin.child(i), f"chn_mask[{i}]", report) for i, row in enumerate(inner_rows)]
    if None in node_masks:
        return None
    plan = PrunePlan({stem[0].name: node_masks[0]}, reconcile=insert_selection, finish=mark_written_selections)
    for b, block in enumerate(blocks):
        stage_mask = node_masks[block_stage[b]]
        block_convs = _convs(graph, block.nodes)
        if inner_masks[b] is not None:   # a row reported already: the other rows are still checked
            plan.out_masks[block_convs[0].name] = inner_masks[b]
        for conv in block_convs[1:]:
            plan.out_masks[conv.name] = stage_mask
        plan.out_masks[_block_add(graph, block).name] = stage_mask
    return plan


def _row_widths_hint(graph: "Graph", stem: Node, blocks: list["BlockInfo"], block_stage: list[int],
                     stages: int) -> str:
    convs = [_convs(graph, b.nodes) for b in blocks]
    stage_width: dict[int, int] = {}
    for block_convs, s in zip(convs, block_stage):
        stage_width.setdefault(s, block_convs[1].attrs["out_channels"])
    node = [stem.attrs["out_channels"]] + [stage_width[s] for s in range(1, stages + 1)]
    inner = [block_convs[0].attrs["out_channels"] for block_convs in convs]
    return (f"the widths as written: stem and stages {node}, block inner {inner}; each row is as long "
            f"as the dense width it governs (these, when the spec is written dense) and sums to "
            f"the pruned width")


def _reaches_block_input(source: Node) -> bool:
    """True when ``source`` is the block input itself (an identity shortcut), not a conv of the block's."""
    node = source
    while len(node.users) == 1:
        if _produces(node):
            return False
        if _rule(node) is not PASS:
            return True
        node = node.inputs[0]
    return True


def insert_selection(graph: "Graph", add: Node, source: Node, source_keep: list[int], source_dense: int,
                     mask: Mask) -> Node:
    """A 1x1 conv + BN on an identity shortcut: passing on exactly what the identity did, or, where the
    dense widths differ on the two sides (the dense block projected; the spec is written at pruned
    widths that hide it), the dense network's own projection, whose weights the checkpoint holds."""
    if not _reaches_block_input(source):
        raise ValueError(f"'{add.name}' reads '{source.name}' with other channels than its mask keeps, "
                         "and that input is no identity shortcut")
    selects = source_dense == mask.dense
    scope = add.name.rsplit(".", 1)[0] if "." in add.name else add.name
    conv = Node(f"{scope}.{PROJECTION[0]}", Conv2d.op,
                {"in_channels": len(source_keep), "out_channels": len(mask.keep), "kernel_size": [1, 1],
                 "bias": False}, [source], add.origin)
    conv.meta.update({KEEP_OUT: mask.keep, DENSE_OUT: mask.dense, KEEP_IN: source_keep, DENSE_IN: source_dense})
    graph.insert_before(add, conv)
    bn = Node(f"{scope}.{PROJECTION[1]}", BatchNorm2d.op, {"num_features": len(mask.keep)}, [conv], add.origin)
    bn.meta.update({KEEP_OUT: mask.keep, DENSE_OUT: mask.dense, KEEP_IN: mask.keep, DENSE_IN: mask.dense})
    graph.insert_before(add, bn)
    if selects:
        conv.meta[SELECTION] = bn.meta[SELECTION] = True
    return bn


def mark_written_selections(graph: "Graph") -> None:
    """A projection written where the dense block had an identity (stride 1, equal dense widths) selects."""
    for block in _residual_blocks(graph):
        for name in block.nodes:
            node = graph[name]
            if (name.endswith("." + PROJECTION[0]) and _produces(node) and node.attrs["stride"] == [1, 1]
                    and node.meta.get(DENSE_IN) is not None and node.meta.get(DENSE_IN) == node.meta.get(DENSE_OUT)):
                node.meta[SELECTION] = True
                graph[name[: -len(PROJECTION[0])] + PROJECTION[1]].meta[SELECTION] = True


__all__ = ["RESIDUAL_BLOCKS", "insert_selection", "mark_written_selections", "plan_rows"]
