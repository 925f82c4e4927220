"""Typed block arguments: each block's signature is read off its ``constructor`` type hints.

``int``, ``float``, ``bool``, ``str``, ``list[...]``, ``Optional[...]``,
``Literal[...]`` and :class:`BlockSpec` map to checkers; ``Annotated[int, Min(1)]``
(exported as :data:`Width`) adds a bound, :data:`BinaryCode` is a list of 0/1.

Example:
    >>> from fgir.diagnostics import Diagnostics, Loc, Origin
    >>> diags = Diagnostics()
    >>> arg_type(Width).validate(0, Origin(Loc("s.yaml", 4, 12), "init.init_plane"), diags)
    <invalid>
    >>> str(diags.items[0])
    's.yaml:4:12: error: init.init_plane: expected a positive integer, got 0'
"""

from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal

from fgir.blocks.located import LocList, locate, origin_of
from fgir.diagnostics import Diagnostics, Origin, did_you_mean
from fgir.limits import MAX_VALUE


class _Invalid:
    def __repr__(self) -> str:
        return "<invalid>"


INVALID = _Invalid()
REQUIRED = inspect.Parameter.empty


@dataclass(frozen=True)
class Min:
    """``Annotated[int, Min(1)]``: the smallest value allowed."""

    value: float


@dataclass(frozen=True)
class Range:
    """``Annotated[int, Range(0, 1)]``: the smallest and largest values allowed."""

    low: float
    high: float


Width = Annotated[int, Min(1)]
Count = Annotated[int, Min(1)]
BinaryCode = list[Annotated[int, Range(0, 1)]]


class BlockSpec:
    """A nested block written in the spec (``block: {type: BasicBlock, groups: 2}``).

    ``args`` holds the arguments given with it; whoever builds the block supplies the rest.
    """

    def __init__(self, type_name: str, args: dict[str, Any], origin: Origin | None = None) -> None:
        self.type_name = type_name
        self.args = args
        self.origin = origin

    def to_plain(self) -> dict[str, Any]:
        from fgir.blocks.located import plain
        return {"type": str(self.type_name), **{k: plain(v) for k, v in self.args.items()}}

    def located_parts(self) -> dict[str, Any]:
        return {"type": self.type_name, **self.args}

    def __repr__(self) -> str:
        return f"BlockSpec({self.type_name!r}, {self.args!r})"


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "null"
    return type(value).__name__


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return _type_name(value)
    if isinstance(value, str):
        return repr(str(value))
    return str(value)


class ArgType:
    description = "a value"

    def validate(self, value: Any, origin: Origin, diags: Diagnostics) -> Any:
        """The checked value (located where it was), or INVALID after reporting why."""
        raise NotImplementedError

    def wrong(self, value: Any, origin: Origin, diags: Diagnostics) -> Any:
        diags.error(origin_of(value, origin), f"expected {self.description}, got {_show(value)}")
        return INVALID


class AnyType(ArgType):
    description = "any value"

    def validate(self, value, origin, diags):
        return value


class IntType(ArgType):
    def __init__(self, low: float | None = None, high: float | None = None) -> None:
        self.low, self.high = low, high
        if low == 1 and high is None:
            self.description = "a positive integer"
        elif low == 0 and high == 1:
            self.description = "0 or 1"
        elif low is not None and high is not None:
            self.description = f"an integer from {low:g} to {high:g}"
        elif low is not None:
            self.description = f"an integer of at least {low:g}"
        else:
            self.description = "an integer"

    def validate(self, value, origin, diags):
        if isinstance(value, bool) or not isinstance(value, int):
            return self.wrong(value, origin, diags)
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            return self.wrong(value, origin, diags)
        return value if abs(value) <= MAX_VALUE else _too_large(value, origin, diags)


def _too_large(value: Any, origin: Origin, diags: Diagnostics) -> Any:
    """A number no network needs, that would make the blocks build lists beyond any memory."""
    diags.error(origin_of(value, origin), f"{value} is beyond what fgir builds: at most {MAX_VALUE:,} "
                                          "(fgir.limits.MAX_VALUE)")
    return INVALID


class FloatType(ArgType):
    def __init__(self, low: float | None = None, high: float | None = None) -> None:
        self.low, self.high = low, high
        self.description = "a number" if low is None and high is None else (
            f"a number from {low:g} to {high:g}" if high is not None else f"a number of at least {low:g}")

    def validate(self, value, origin, diags):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:   # NaN
            return self.wrong(value, origin, diags)
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            return self.wrong(value, origin, diags)
        return value if abs(value) <= MAX_VALUE else _too_large(value, origin, diags)


class BoolType(ArgType):
    description = "true or false"

    def validate(self, value, origin, diags):
        return value if isinstance(value, bool) else self.wrong(value, origin, diags)


class StrType(ArgType):
    description = "a string"

    def validate(self, value, origin, diags):
        return value if isinstance(value, str) else self.wrong(value, origin, diags)


class ChoiceType(ArgType):
    def __init__(self, choices: tuple[Any, ...]) -> None:
        self.choices = choices
        self.description = "one of " + ", ".join(str(c) for c in choices)

    def validate(self, value, origin, diags):
        if isinstance(value, bool) or value not in self.choices:
            return self.wrong(value, origin, diags)
        return value


class OptionalType(ArgType):
    def __init__(self, inner: ArgType) -> None:
        self.inner = inner
        self.description = f"{inner.description} or null"

    def validate(self, value, origin, diags):
        return None if value is None else self.inner.validate(value, origin, diags)


class ListType(ArgType):
    def __init__(self, item: ArgType) -> None:
        self.item = item
        self.description = f"a list of {item.description.removeprefix('a ').removeprefix('an ')}s"
        if isinstance(item, IntType) and item.low == 0 and item.high == 1:
            self.description = "a list of 0s and 1s"

    def validate(self, value, origin, diags):
        if not isinstance(value, (list, tuple)):
            return self.wrong(value, origin, diags)
        origin = origin_of(value, origin)
        out = LocList()
        ok = True
        item_origins = getattr(value, "item_origins", None)
        for i, item in enumerate(value):
            where = (item_origins[i] if item_origins else getattr(item, "origin", None)) or origin.child(i)
            checked = self.item.validate(item, where, diags)
            ok = ok and checked is not INVALID
            out.append(checked)
        out.origin = origin
        return out if ok else INVALID


class PairType(ArgType):
    """An int for both dimensions, or a pair ``[h, w]`` (``!!python/tuple [1, 1]`` too)."""

    def __init__(self, low: int = 0) -> None:
        self.item = IntType(low)
        self.description = f"{self.item.description} or a pair of them"

    def validate(self, value, origin, diags):
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                diags.error(origin_of(value, origin), f"expected a pair [height, width], "
                                                      f"got {len(value)} values")
                return INVALID
            origin = origin_of(value, origin)
            items = [self.item.validate(v, getattr(v, "origin", None) or origin.child(i), diags)
                     for i, v in enumerate(value)]
            if INVALID in items:
                return INVALID
            out = LocList(items)
            out.origin = origin
            return out
        checked = self.item.validate(value, origin, diags)
        if checked is INVALID:
            return INVALID
        out = LocList([checked, checked])
        if hasattr(checked, "origin"):
            out.origin = checked.origin
        return out


class MappingType(ArgType):
    description = "a mapping"

    def validate(self, value, origin, diags):
        return value if isinstance(value, dict) else self.wrong(value, origin, diags)


class BlockSpecType(ArgType):
    """A nested block: ``{type: Name, ...args}`` or just ``Name``; checked against the registry."""

    description = "a block such as {type: BasicBlock}"

    def validate(self, value, origin, diags):
        from fgir.blocks.registry import BLOCKS, lookup_block

        if isinstance(value, BlockSpec):
            return value
        origin = origin_of(value, origin)
        if isinstance(value, str):
            value = locate({"type": value}, origin)
        if not isinstance(value, dict) or "type" not in value:
            return self.wrong(value, origin, diags)
        type_name = value["type"]
        cls = lookup_block(type_name, origin_of(type_name, origin), diags)
        if cls is None:
            return INVALID
        given = {k: v for k, v in value.items() if k != "type"}
        key_origins = getattr(value, "key_origins", {})
        args = validate_args(cls, given, origin, diags, key_origins=key_origins, partial=True)
        if args is None:
            return INVALID
        return BlockSpec(type_name, args, origin)


def arg_type(hint: Any) -> ArgType:
    """The checker for one type hint."""
    origin = typing.get_origin(hint)
    if origin is Annotated:
        base, *extras = typing.get_args(hint)
        inner = arg_type(base)
        for extra in extras:
            if isinstance(extra, Min) and isinstance(inner, PairType):
                return PairType(int(extra.value))
            if isinstance(extra, Min):
                return IntType(extra.value) if base is int else FloatType(extra.value)
            if isinstance(extra, Range):
                return IntType(extra.low, extra.high) if base is int else FloatType(extra.low, extra.high)
        return inner
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(members) == 1:
            return OptionalType(arg_type(members[0]))
        if set(members) == {int, tuple[int, int]} or set(members) == {int, list[int]}:
            return PairType()
        return AnyType()
    if origin is Literal:
        return ChoiceType(typing.get_args(hint))
    if origin in (list, tuple) and origin is not None:
        args = typing.get_args(hint)
        if origin is tuple and args == (int, int):
            return PairType()
        return ListType(arg_type(args[0]) if args else AnyType())
    if origin is dict or hint is dict:
        return MappingType()
    simple: dict[Any, Callable[[], ArgType]] = {
        bool: BoolType, int: IntType, float: FloatType, str: StrType, BlockSpec: BlockSpecType}
    if hint in simple:
        return simple[hint]()
    if isinstance(hint, ArgType):
        return hint
    return AnyType()


@dataclass(frozen=True)
class Param:
    name: str
    type: ArgType
    default: Any = REQUIRED

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def signature_of(fn: Callable[..., Any]) -> dict[str, Param]:
    """Read a typed signature off a constructor (its hints and defaults)."""
    hints = typing.get_type_hints(fn, include_extras=True)
    params: dict[str, Param] = {}
    for name, p in inspect.signature(fn).parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        params[name] = Param(name, arg_type(hints.get(name, Any)), p.default)
    return params


def validate_args(cls: Any, given: dict[str, Any], origin: Origin, diags: Diagnostics, *,
                  key_origins: dict[str, Origin] | None = None,
                  value_origins: dict[str, Origin] | None = None,
                  partial: bool = False) -> dict[str, Any] | None:
    """Check ``given`` against ``cls.signature()``; fill defaults unless ``partial``.

    Reports every problem to ``diags`` and returns None if there was any.
    """
    signature: dict[str, Param] = cls.signature()
    key_origins = key_origins or {}
    value_origins = value_origins or getattr(given, "value_origins", {})
    before = len(diags.items)
    out: dict[str, Any] = {}
    for key, value in given.items():
        param = signature.get(key)
        if param is None:
            hint = did_you_mean(key, signature) or (
                "it takes " + ", ".join(signature) if signature else f"{cls.type_name()} takes no arguments")
            key_origin = key_origins.get(key) or origin.child(str(key))
            diags.error(key_origin, f"unknown argument '{key}' for {cls.type_name()}", hint=hint)
            continue
        # a computed value has no spec origin: problems with it are reported at the block
        value_origin = value_origins.get(key) or getattr(value, "origin", None) or origin.child(str(key))
        checked = param.type.validate(value, value_origin, diags)
        if checked is not INVALID:
            out[key] = checked
    if not partial:
        missing = [p.name for p in signature.values() if p.required and p.name not in given]
        for name in missing:
            diags.error(origin, f"{cls.type_name()} needs argument '{name}'")
        for p in signature.values():
            if p.name not in out and not p.required and p.name not in given:
                out[p.name] = p.default
    if len(diags.items) > before and any(d.severity == "error" for d in diags.items[before:]):
        return None
    return out


__all__ = ["BinaryCode", "BlockSpec", "Count", "INVALID", "Min", "Param", "Range",
           "Width", "arg_type", "signature_of", "validate_args"]
