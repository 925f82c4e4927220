"""Resolve a hyper_parameters path against the spec: what it names, its declared type, its value.

A path starts at a module name, then names the block's argument, then items and
indices: ``layer.doublechannel``, ``resnet.items.stride[3]``, ``layer.block.groups``,
``process.nbit_w_list[*]`` (every element).  The type comes from the block's
signature (``BLOCKS[type].signature()``); where no signature says (a free-form
mapping, a custom argument type) it is read off the value the spec holds.

A mapping keyed by channel group (a Prune process's ``masks`` and ``ratios``)
takes any prunable group of the network, quoted where its name holds dots
(``process.ratios["layer1.0.conv1"]``), written in the mapping or not (then its
value starts as a full mask, or a ratio of 0); ``[*]`` names every prunable
group.  The groups are the network's (compiled once, without its processes).

Example:
    >>> from fgir.spec.document import parse_document
    >>> from fgir.spec.yaml_loader import load_yaml_text
    >>> doc = parse_document(load_yaml_text(open("examples/backbone_nas.yaml").read()))
    >>> [t] = resolve(doc, ("layer", "doublechannel"))
    >>> t.type.description, t.current
    ('a list of 0s and 1s', [0, 1, 1, 0, 1, 0, 0, 1])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from fgir.blocks import BLOCKS, PROCESSES
from fgir.blocks.processes.prune import GroupMapping
from fgir.blocks.argtypes import (INVALID, REQUIRED, AnyType, ArgType, BlockSpecType, BoolType, FloatType,
                                  IntType, ListType, MappingType, OptionalType, PairType, StrType)
from fgir.diagnostics import Diagnostics, Loc, Origin, did_you_mean
from fgir.spec.document import SpecDocument
from fgir.spec.expressions import EACH, format_path

Segments = tuple[Union[str, int], ...]


class _Missing:
    def __repr__(self) -> str:
        return "<not written>"


MISSING = _Missing()   # an argument the spec does not write and that has no default


class PathError(ValueError):
    """A path that names nothing; ``hint`` is a "did you mean" or the names that exist."""

    def __init__(self, message: str, hint: str | None = None, segment: int = 0) -> None:
        super().__init__(message)
        self.message, self.hint, self.segment = message, hint, segment


@dataclass(frozen=True)
class Target:
    """One concrete place in the spec that a dimension sets."""

    segments: Segments
    type: ArgType
    current: Any            # the value the spec holds there (or the default, or MISSING)
    written: bool           # whether the spec writes it (else freezing adds it)

    @property
    def path(self) -> str:
        return format_path(self.segments)

    @property
    def is_list(self) -> bool:
        """List-typed: a list value is a code (0/1 items) or the candidates are lists."""
        kind = _unwrap(self.type)
        if isinstance(kind, (ListType, PairType)):
            return True
        if isinstance(kind, (IntType, FloatType, BoolType, StrType, BlockSpecType, MappingType)):
            return False
        return isinstance(self.current, list)    # a custom type: its shape is the value's

    @property
    def is_binary_list(self) -> bool:
        kind = _unwrap(self.type)
        if isinstance(kind, ListType) and isinstance(kind.item, IntType):
            return kind.item.low == 0 and kind.item.high == 1
        return isinstance(self.current, list) and bool(self.current) and all(
            v in (0, 1) and not isinstance(v, bool) for v in self.current)

    def check(self, value: Any) -> str | None:
        """Why ``value`` does not fit this target's type, or None when it does."""
        diags = Diagnostics()
        self.type.validate(value, Origin(Loc("<value>"), ""), diags)
        errors = [d.message + (f"; {d.hint}" if d.hint else "") for d in diags.items if d.severity == "error"]
        return errors[0] if errors else None


def _unwrap(kind: ArgType) -> ArgType:
    while isinstance(kind, OptionalType):
        kind = kind.inner
    return kind


def infer_type(value: Any) -> ArgType:
    """A type read off a value, for places no signature describes."""
    if isinstance(value, bool):
        return BoolType()
    if isinstance(value, int):
        return IntType()
    if isinstance(value, float):
        return FloatType()
    if isinstance(value, str):
        return StrType()
    if isinstance(value, list):
        if value and all(v in (0, 1) and not isinstance(v, bool) for v in value):
            return ListType(IntType(0, 1))
        return ListType(infer_type(value[0]) if value else AnyType())
    if isinstance(value, dict):
        return MappingType()
    return AnyType()


def _block_class(value: Any) -> type | None:
    name = value.get("type") if isinstance(value, dict) else value
    return BLOCKS.get(name) if isinstance(name, str) else None


def _item_type(kind: ArgType) -> ArgType:
    kind = _unwrap(kind)
    if isinstance(kind, (ListType, PairType)):
        return kind.item
    return kind   # Any, or a custom type taking a scalar or a list of them (bit widths): checks items too


def resolve(doc: SpecDocument, segments: Segments) -> list[Target]:
    """The targets a path names (several for ``[*]``); raises :class:`PathError` when it names nothing."""
    modules = {m.name: m for m in doc.modules}
    name = segments[0]
    if name not in modules:
        raise PathError(f"no module '{name}' in this search space",
                        did_you_mean(str(name), modules) or f"modules: {', '.join(modules)}")
    module = modules[name]
    cls = BLOCKS.get(module.type_name) or PROCESSES.get(module.type_name)
    if cls is None:
        raise PathError(f"module '{name}' has the unknown type '{module.type_name}'")
    if len(segments) == 1:
        raise PathError(f"'{name}' is a module; a path names one of its arguments",
                        f"{cls.type_name()} takes {', '.join(cls.signature())}")
    return _walk(segments, 1, _BlockNode(cls, module.args, _Network(doc)), AnyType(), True)


class _Network:
    """The spec's network, compiled on first need (for paths into a mapping keyed by channel group)."""

    def __init__(self, doc: SpecDocument) -> None:
        self.doc, self._groups = doc, None

    def groups(self, here: str, segment: int) -> Any:
        if self._groups is None:
            self._groups = _network_groups(self.doc, here, segment)
        return self._groups


def _network_groups(doc: SpecDocument, here: str, segment: int) -> Any:
    from fgir.api import compile, loads
    from fgir.diagnostics import FgirError
    from fgir.ir.channel_groups import channel_groups
    from fgir.spec.tree import dump_spec, plain_tree

    root = plain_tree(doc.root)
    space = root["search_space"] if doc.space is not doc.root else root
    processes = {m.name for m in doc.modules if m.type_name in PROCESSES}
    space["modules"] = [m for m in space.get("modules", []) if m not in processes]
    for key in (*processes, "hyper_parameters"):
        space.pop(key, None)
    root.pop("search_algorithm", None)
    try:
        return channel_groups(compile(loads(dump_spec(root), doc.file)))
    except FgirError as exc:
        raise PathError(f"'{here}' is keyed by channel group, but the network does not compile: "
                        f"{exc.diagnostics[0].message}", segment=segment) from None


class _BlockNode:
    """The arguments of a block (a module, or a nested ``block: {type: ...}``)."""

    def __init__(self, cls: type, args: dict, network: _Network) -> None:
        self.cls, self.args, self.network = cls, args, network


class _ItemsNode:
    """A Repeat's ``items`` mapping; its keys are arguments of the repeated block (when known)."""

    def __init__(self, cls: type | None, items: dict) -> None:
        self.cls, self.items = cls, items


def _walk(segments: Segments, i: int, node: Any, kind: ArgType, written: bool) -> list[Target]:
    if i == len(segments):
        value = node.args if isinstance(node, _BlockNode) else (
            node.items if isinstance(node, _ItemsNode) else node)
        if isinstance(kind, AnyType):
            kind = infer_type(value)
        return [Target(tuple(segments), kind, _plain(value), written)]
    seg = segments[i]
    here = format_path(segments[:i])
    if isinstance(node, _BlockNode):
        return _block_member(segments, i, node, here)
    if isinstance(node, _ItemsNode):
        return _items_member(segments, i, node, here)
    if isinstance(seg, int) or seg == EACH:
        if node is MISSING or not isinstance(node, list):
            shown = "not written in the spec" if node is MISSING else f"{_plain(node)!r}, not a list"
            raise PathError(f"'{here}' is {shown}, so it has no [{seg}]", segment=i)
        indices = range(len(node)) if seg == EACH else [seg]
        if seg != EACH and not 0 <= seg < len(node):
            raise PathError(f"index {seg} is out of range: '{here}' has {len(node)} values", segment=i)
        item = _item_type(kind)
        return [t for j in indices
                for t in _walk(segments[:i] + (j,) + segments[i + 1:], i + 1, node[j], item, written)]
    raise PathError(f"'{here}' is {_describe(node)}, so it has no member '{seg}'", segment=i)


def _describe(value: Any) -> str:
    if value is MISSING:
        return "not written in the spec"
    return f"{_plain(value)!r}"


class BlockTypeName(ArgType):
    """A block's ``type`` as a search target: a registered block that takes the arguments written beside it."""

    description = "a block type"

    def __init__(self, siblings: dict[str, Any]) -> None:
        self.siblings = siblings

    def validate(self, value, origin, diags):
        if not isinstance(value, str):
            return self.wrong(value, origin, diags)
        spec = BlockSpecType().validate({"type": value, **self.siblings}, origin, diags)
        return INVALID if spec is INVALID else value


def _block_member(segments: Segments, i: int, node: _BlockNode, here: str) -> list[Target]:
    seg = segments[i]
    signature = node.cls.signature()
    if seg == "type" and i + 1 == len(segments):   # the block itself is the choice
        siblings = {k: v for k, v in node.args.items() if k != "type"}
        return [Target(tuple(segments), BlockTypeName(siblings), node.cls.type_name(), "type" in node.args)]
    if not isinstance(seg, str):
        raise PathError(f"'{here}' is a {node.cls.type_name()} block; index it by argument name",
                        segment=i)
    if seg not in signature:
        raise PathError(f"{node.cls.type_name()} '{here}' has no argument '{seg}'",
                        did_you_mean(seg, signature) or f"it takes {', '.join(signature)}", segment=i)
    param = signature[seg]
    written = seg in node.args
    value = node.args[seg] if written else (MISSING if param.default is REQUIRED else param.default)
    kind = _unwrap(param.type)
    if i + 1 < len(segments) and not written:
        raise PathError(f"'{format_path(segments[:i + 1])}' is not written in the spec, so it has no "
                        f"member {format_path(segments[i + 1:i + 2])!r}",
                        "write it in the spec to search inside it", segment=i + 1)
    if i + 1 < len(segments):
        if isinstance(kind, GroupMapping) and isinstance(value, dict):
            return _group_members(segments, i + 1, kind, value, node.network)
        if isinstance(kind, BlockSpecType) and _block_class(value) is not None:
            if not isinstance(value, dict):
                raise PathError(f"'{here}.{seg}' names its block as '{value}'; write it as "
                                f"{{type: {value}}} to set its arguments", segment=i)
            return _walk(segments, i + 1, _BlockNode(_block_class(value), value, node.network), AnyType(),
                         written)
        if isinstance(kind, MappingType) and isinstance(value, dict):
            return _walk(segments, i + 1, _ItemsNode(_block_class(node.args.get("block")), value),
                         AnyType(), written)
    return _walk(segments, i + 1, value, param.type, written)


def _group_members(segments: Segments, i: int, kind: GroupMapping, mapping: dict,
                   network: _Network) -> list[Target]:
    """The targets ``segments[i]`` names in a mapping keyed by channel group: one group, or every one."""
    seg, here = segments[i], format_path(segments[:i])
    groups = network.groups(here, i)
    prunable, every = groups.by_name(), groups.any_by_name()
    if seg == EACH:
        names = list(prunable)
    elif not isinstance(seg, str):
        raise PathError(f"'{here}' is keyed by channel group name, not by index",
                        f"write {here}[\"{next(iter(prunable), 'group')}\"]", segment=i)
    elif seg not in prunable:
        if seg in every:
            raise PathError(f"channel group '{seg}' cannot be pruned: {every[seg].locked}", segment=i)
        raise PathError(f"no channel group '{seg}'", did_you_mean(seg, prunable)
                        or "the groups are listed by 'fgir summary --groups'", segment=i)
    else:
        names = [seg]
    out = []
    for name in names:
        value = mapping[name] if name in mapping else kind.default(prunable[name].dense_width)
        out += _walk(segments[:i] + (name,) + segments[i + 1:], i + 1, value, kind.item, name in mapping)
    return out


def _items_member(segments: Segments, i: int, node: _ItemsNode, here: str) -> list[Target]:
    seg = segments[i]
    names = list(node.cls.signature()) if node.cls is not None else list(node.items)
    if not isinstance(seg, str) or seg not in names:
        owner = f"{node.cls.type_name()} (the repeated block)" if node.cls else f"'{here}'"
        raise PathError(f"{owner} has no item '{seg}'", did_you_mean(str(seg), names)
                        or f"items: {', '.join(map(str, names))}", segment=i)
    value = node.items.get(seg, MISSING)
    kind: ArgType = AnyType()
    if node.cls is not None:
        kind = node.cls.signature()[seg].type
        if isinstance(value, list):
            kind = ListType(kind)   # one value per rep
    return _walk(segments, i + 1, value, kind, seg in node.items)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


__all__ = ["BlockTypeName", "MISSING", "PathError", "Target", "infer_type", "resolve"]
