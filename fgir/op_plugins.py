"""Ops a plugin adds: one call registers an op's schema, its torch rule and its ONNX rule.

The schema is the op's one definition (:class:`fgir.ir.ops.OpSchema`: attributes,
shape rule, checks, cost, weights, channel rule, traits); the torch rule builds its
``nn.Module`` (or is a :class:`fgir.backends.torch.rules.FunctionRule`); the ONNX rule
emits its nodes (``rule(emitter, node, input_names) -> output_name``).  A layer class
(``class Mish(Layer): op = "mish"``) makes it writable in specs.  A mistake in the
registration is the plugin's error, reported at its line (exit 1).

Example (``examples/user_blocks/mish_op.py`` registers ``mish`` and its layer ``Mish``):
    >>> from fgir.plugins import load_plugin
    >>> load_plugin("examples/user_blocks/mish_op.py")
    >>> from fgir.ir.ops import OPS
    >>> OPS["mish"].label({}), "mish" in registered_ops()
    ('mish', True)
"""

from __future__ import annotations

from typing import Any, Callable

from fgir.backends import plugin_rules
from fgir.diagnostics import ArgumentError
from fgir.ir.ops import OPS, OpSchema, register_op as _add_schema
from fgir.plugins import FORGET_HOOKS

_REGISTERED: list[str] = []   # the ops plugins added, in order


def register_op(schema: OpSchema, *, torch: Any = None, onnx: Callable | None = None,
                replace: bool = False) -> OpSchema:
    """Add an op: its schema with both backends' rules; returns the schema.

    A missing rule, something that is no schema, or a name taken (without ``replace=True``)
    is an ArgumentError naming what is wrong.
    """
    where = "fgir.register_op"
    if not isinstance(schema, OpSchema):
        raise ArgumentError.of(where, "schema", f"an op is defined by an fgir.ir.ops.OpSchema, not "
                                                f"{type(schema).__name__}")
    missing = [name for name, rule in (("torch", torch), ("onnx", onnx)) if rule is None]
    if missing:
        raise ArgumentError.of(where, missing[0], f"op '{schema.name}' has no {' and no '.join(missing)} rule: "
                                                  "every op needs one for each backend",
                               hint="torch=<Node → nn.Module>, onnx=<(emitter, node, inputs) → output name>")
    for name, rule in (("torch", torch), ("onnx", onnx)):
        if not callable(rule) and not hasattr(rule, "build") and not hasattr(rule, "fn"):
            raise ArgumentError.of(where, name, f"the {name} rule of op '{schema.name}' is not callable")
    if schema.name in OPS:
        if not (replace and schema.name in _REGISTERED):
            raise ArgumentError.of(where, "schema", f"an op named '{schema.name}' exists already"
                                   + ("" if schema.name in _REGISTERED else " (one of fgir's own)"))
        forget_op(schema.name)
    _add_schema(schema)
    plugin_rules.add(schema.name, torch, onnx)
    _REGISTERED.append(schema.name)
    return schema


def forget_op(name: str) -> None:
    """Remove an op a plugin added (tests start each case from fgir's own ops)."""
    if name in _REGISTERED:
        _REGISTERED.remove(name)
        OPS.pop(name, None)
        plugin_rules.remove(name)


def registered_ops() -> list[str]:
    """The ops plugins added, in the order they were added."""
    return list(_REGISTERED)


def _forget_all() -> None:
    for name in list(_REGISTERED):
        forget_op(name)


FORGET_HOOKS.append(_forget_all)   # fgir.plugins.forget_plugins forgets the ops with the blocks
