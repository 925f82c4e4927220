"""The one registry of block types: built-in blocks, allow-listed layers and user blocks.

A spec names a type (``type: BasicBlock``); fgir looks it up here and never
imports a class from a string.  Users add their own with :func:`register_block`.

Example:
    >>> "BasicBlock" in BLOCKS and "Conv2d" in BLOCKS
    True
"""

from __future__ import annotations

from typing import Any, TypeVar

from fgir.blocks.user_code import is_users
from fgir.diagnostics import ArgumentError, Diagnostics, Origin, did_you_mean

BLOCKS: dict[str, type] = {}
PROCESSES: dict[str, type] = {}

T = TypeVar("T", bound=type)


def register_block(cls: T | None = None, *, name: str | None = None, replace: bool = False) -> Any:
    """Class decorator: make a Block (or Layer) subclass usable as ``type: Name`` in specs.

    Anything but a Block or Layer subclass, a name that is no identifier, or a name already
    taken (without ``replace=True``) is an ArgumentError (an FgirError; a TypeError and a
    ValueError too).
    """

    def register(klass: T) -> T:
        from fgir.blocks.module import Module

        if not (isinstance(klass, type) and issubclass(klass, Module)):
            raise ArgumentError.of("fgir.register_block", "", f"{getattr(klass, '__name__', klass)!r} is not a "
                                   "block: a block subclasses fgir.blocks.Block (or fgir.blocks.Layer for one op)")
        type_name = name or klass.type_name()
        if not isinstance(type_name, str) or not type_name.isidentifier():
            raise ArgumentError.of("fgir.register_block", "name", f"a block type's name is a Python identifier, "
                                                                  f"not {type_name!r}")
        if type_name in BLOCKS and BLOCKS[type_name] is not klass and not replace:
            raise ArgumentError.of("fgir.register_block", "", f"block type '{type_name}' is already registered "
                                                              "(pass replace=True to override it)")
        _refuse_unknown_op(klass, type_name)
        if name:
            klass.name = name
        BLOCKS[type_name] = klass
        return klass

    return register(cls) if cls is not None else register


def _refuse_unknown_op(klass: type, type_name: str) -> None:
    """A layer is one op: one that names no op would fail only when a spec uses it; say so now."""
    from fgir.blocks.module import Layer
    from fgir.ir.ops import OPS

    op = getattr(klass, "op", None) if issubclass(klass, Layer) else None
    if op is not None and op not in OPS:
        hint = did_you_mean(str(op), list(OPS))
        raise ArgumentError.of("fgir.register_block", "", f"layer '{type_name}' is the op '{op}', which no op "
                                                          "schema defines",
                               hint=hint or "register the op first: fgir.register_op(schema, torch=..., onnx=...)")


def register_process(cls: T) -> T:
    """Class decorator for process types (Quant, Prune): modules that transform the network."""
    PROCESSES[cls.type_name()] = cls
    return cls


def lookup_block(type_name: Any, origin: Origin, diags: Diagnostics) -> type | None:
    """The class for a spec type name, or None after reporting an unknown-type error."""
    if isinstance(type_name, str) and type_name in BLOCKS:
        return BLOCKS[type_name]
    if isinstance(type_name, str) and type_name in PROCESSES:
        diags.error(origin, f"'{type_name}' is a process, not a block: list it as its own module")
        return None
    hint = did_you_mean(str(type_name), list(BLOCKS) + list(PROCESSES)) or _plugin_hint(type_name)
    diags.error(origin, f"unknown block type '{type_name}'", hint=hint)
    return None


def _plugin_hint(type_name: Any) -> str:
    """For a type that is no misspelling: a user block needs the Python file that registers it."""
    users = sorted(name for name, cls in BLOCKS.items() if is_users(cls))
    if not users:
        return (f"if '{type_name}' is a block of your own, load the Python file that registers it: "
                "--plugin FILE.py (fgir.plugins.load_plugin in Python); 'fgir blocks' lists the known types")
    return (f"the user blocks registered are {', '.join(users)}; for another of your own, load the file that "
            "registers it: --plugin FILE.py; 'fgir blocks' lists every known type")


def _default_text(value: Any) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else repr(value) \
        if isinstance(value, str) else str(value)


def describe(cls: type) -> dict[str, Any]:
    """What ``fgir blocks NAME`` shows of a block, layer or process type: its typed arguments, where it
    comes from (fgir, or the file that registered it), its docstring (``doc``: the first line, ``docstring``:
    all of it) and, for a layer, the op it builds (``op``: name, traits, channel rule; None for a block).

        >>> d = describe(BLOCKS["GELU"])
        >>> d["kind"], d["op"]["name"], d["op"]["channels"]
        ('layer', 'gelu', 'pass')
    """
    import inspect
    import sys

    from fgir.blocks.module import Layer

    kind = "process" if cls in PROCESSES.values() else "layer" if issubclass(cls, Layer) else "block"
    users = is_users(cls)
    source = getattr(sys.modules.get(cls.__module__), "__file__", None) if users else None
    doc = inspect.getdoc(cls) if cls.__doc__ else None
    arguments = [{"name": p.name, "type": p.type.description, "required": p.required,
                  **({} if p.required else {"default": _default_text(p.default)})}
                 for p in cls.signature().values()]
    family = getattr(cls, "family", None)
    return {"name": cls.type_name(), "kind": kind, "family": family.name if family else None,
            "from": source or cls.__module__ if users else "fgir", "doc": doc.splitlines()[0] if doc else "",
            "docstring": doc or "", "op": _op_of(cls) if kind == "layer" else None, "arguments": arguments}


def _op_of(cls: type) -> dict[str, Any] | None:
    """The op a layer builds, as its schema states it: traits, and the channel rule pruning follows (a rule
    chosen from the layer's arguments, as a convolution's grouped/depthwise/produce, is "by its arguments")."""
    from fgir.ir.ops import OPS

    schema = OPS.get(getattr(cls, "op", None) or "")
    if schema is None:
        return None
    rule = getattr(schema.channels, "value", None)
    return {"name": schema.name, "traits": sorted(t.name.lower() for t in schema.traits),
            "channels": rule if isinstance(rule, str) else "by its arguments",
            "inputs": "any number" if schema.arity is None else schema.arity}


def catalog(name: str | None = None) -> list[dict[str, Any]]:
    """Every registered type described (:func:`describe`), sorted by kind and name; or the one named
    ``name`` (a ValueError with "did you mean" for a name no type has)."""
    types = {**BLOCKS, **PROCESSES}
    if name is not None:
        if name not in types:
            hint = did_you_mean(name, types)
            raise ValueError(f"no block type '{name}'" + (f"; {hint}" if hint else "") + " ('fgir blocks' lists them)")
        return [describe(types[name])]
    order = {"block": 0, "layer": 1, "process": 2}
    return sorted((describe(cls) for cls in types.values()), key=lambda d: (order[d["kind"]], d["name"]))
