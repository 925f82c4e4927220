"""The Prune process: channel masks or ratios over a dense network, and its checkpoint; ``apply_prune``
applies it.

Three ways to say what is pruned, over the channel groups ``fgir summary --groups`` lists (or, for the
ResNet family, the guide's row layout):

* ``masks: {group: [1, 0, ...]}``: exactly which dense channels stay;
* ``ratios: {group: 0.5}``: the fraction of a group's channels removed; the widths (and so params and
  MACs) follow from the ratio alone, and the channels kept are chosen by ``criterion`` from
  ``init_model_file`` when weights are loaded (``fgir.prune``).  Beside ``masks`` a ratio prunes the
  group's kept channels further: rows stay dense-length;
* ``chn_node_mask`` + ``chn_mask``: the guide's ResNet rows.

Example:
    >>> import fgir
    >>> spec = ("search_space:\\n  modules: [net, p]\\n  net: {type: ResNet, depth: 20}\\n"
    ...         "  p: {type: Prune, ratios: {conv1: 0.5, layer3.0.conv1: 0.25}}\\n")
    >>> graph = fgir.compile(spec)
    >>> graph["conv1"].attrs["out_channels"], graph["layer3.0.conv1"].attrs["out_channels"]
    (8, 48)
"""

from __future__ import annotations

from typing import Any, Optional

from fgir.blocks.argtypes import INVALID, ArgType, BinaryCode, ChoiceType, MappingType, Width, arg_type
from fgir.blocks.processes.base import Process
from fgir.blocks.registry import register_process
from fgir.diagnostics import Diagnostics, Origin
from fgir.ir.pruning import CRITERIA, ratio_problem


class RatioType(ArgType):
    """A pruning ratio: the fraction of a group's channels removed, from 0 up to (not including) 1."""

    description = "a pruning ratio from 0 up to 1"

    def validate(self, value: Any, origin: Origin, diags: Diagnostics) -> Any:
        from fgir.blocks.located import origin_of

        problem = ratio_problem(value)
        if problem:
            diags.error(origin_of(value, origin), problem)
            return INVALID
        return value


class GroupMapping(MappingType):
    """A mapping from channel-group names (``fgir summary --groups``) to one value each.

    Search paths index it by group name, quoted where the name holds dots
    (``process.ratios["layer1.0.conv1"]``), and ``[*]`` names every prunable group.
    """

    def __init__(self, item: ArgType, default: Any) -> None:
        self.item = item
        self.default = default     # a group's value when the mapping leaves it out: a callable of its width
        self.description = f"a mapping from channel groups to {item.description.removeprefix('a ')}s"

    def validate(self, value: Any, origin: Origin, diags: Diagnostics) -> Any:
        if not isinstance(value, dict):
            return self.wrong(value, origin, diags)
        origins = getattr(value, "value_origins", {})
        ok = True
        for key, item in value.items():
            ok = self.item.validate(item, origins.get(key) or origin.child(str(key)), diags) is not INVALID and ok
        return value if ok else INVALID


GROUP_MASKS = GroupMapping(arg_type(BinaryCode), default=lambda width: [1] * width)
GROUP_RATIOS = GroupMapping(RatioType(), default=lambda width: 0.0)


@register_process
class Prune(Process):
    """Channel masks or ratios over a dense network, and the dense checkpoint to slice weights from.

    Either the guide's ResNet row layout (``chn_node_mask`` + ``chn_mask``), or ``masks: {group: [...]}``
    and/or ``ratios: {group: r}`` over the channel groups ``fgir summary --groups`` lists; ``criterion``
    (l1, l2, bn_scale, random) and ``round_to`` say how ratios choose and round.
    """

    file_args = ("init_model_file",)   # files the process reads, relative to the spec's folder

    def constructor(self, chn_node_mask: Optional[list[BinaryCode]] = None,
                    chn_mask: Optional[list[BinaryCode]] = None,
                    masks: GROUP_MASKS = None,  # type: ignore[valid-type]
                    ratios: GROUP_RATIOS = None,  # type: ignore[valid-type]
                    criterion: ChoiceType(CRITERIA) = "l1",  # type: ignore[valid-type]
                    round_to: Optional[Width] = None,
                    init_model_file: Optional[str] = None) -> None:
        rows = chn_node_mask is not None or chn_mask is not None
        if rows and (masks is not None or ratios is not None):
            given = "masks" if masks is not None else "ratios"
            self.fail(f"give either chn_node_mask and chn_mask, or {given}, not both",
                      masks if masks is not None else ratios, given)
        if not rows and masks is None and ratios is None:
            self.fail("Prune needs chn_node_mask and chn_mask, or masks, or ratios")
        if rows and (chn_node_mask is None or chn_mask is None):
            missing = "chn_mask" if chn_mask is None else "chn_node_mask"
            self.fail(f"Prune needs {missing} too")


__all__ = ["GROUP_MASKS", "GROUP_RATIOS", "GroupMapping", "Prune", "RatioType"]
