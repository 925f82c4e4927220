"""The annotations a node may carry in ``node.meta``: declared, typed keys that the verifier checks.

Passes record durable facts on nodes (bit widths, kept channels, dense widths, costs); each key is
declared once here with what its value must be, so that a misspelt key or a value of the wrong type
is an :class:`~fgir.ir.verify.IRError` naming the node, not a silent miss three passes later.  A
plugin pass declares its own with :func:`declare_annotation`.

*Durable* annotations are part of the graph: the JSON form keeps them.  *Scratch* ones are analysis
state one pass leaves for the next (``collapsed``: a spatial size that fell below 1, for
``check_channels`` to report); they are declared too, marked ``durable=False``.

Example:
    >>> problems({"w_bits": 8, "keep_out": [0, 2]}), problems({"w_bits": "8"})
    ([], ["annotation 'w_bits' must be a bit width from 1 to 32, not '8'"])
    >>> problems({"bitz": 8})
    ["undeclared annotation 'bitz' (fgir.ir.annotations.declare_annotation declares one)"]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True, slots=True)
class Annotation:
    """One declared key of ``node.meta``: what its value must be, in words and as a test."""

    key: str
    description: str
    valid: Callable[[Any], bool]
    durable: bool = True


ANNOTATIONS: dict[str, Annotation] = {}
_SCRATCH: set[str] = set()


def declare_annotation(key: str, description: str, valid: Callable[[Any], bool], *,
                       durable: bool = True) -> Annotation:
    """Declare ``node.meta[key]``; ValueError when the key is declared already with another meaning."""
    known = ANNOTATIONS.get(key)
    if known is not None and (known.description, known.durable) != (description, durable):
        raise ValueError(f"annotation '{key}' is declared already: {known.description}")
    ANNOTATIONS[key] = Annotation(key, description, valid, durable)
    if not durable:
        _SCRATCH.add(key)
    return ANNOTATIONS[key]


def problems(meta: dict[str, Any]) -> list[str]:
    """What is wrong with a node's annotations: undeclared keys and ill-typed values."""
    out = []
    for key, value in meta.items():
        annotation = ANNOTATIONS.get(key)
        if annotation is None:
            out.append(f"undeclared annotation '{key}' (fgir.ir.annotations.declare_annotation declares one)")
        elif not annotation.valid(value):
            out.append(f"annotation '{key}' must be {annotation.description}, not {value!r}")
    return out


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _channels(v: Any) -> bool:
    return isinstance(v, list) and all(_count(c) for c in v)


for _key, _text, _test in (
        ("params", "a parameter count", _count),
        ("macs", "a count of multiply-accumulates", _count),
        ("weight_bytes", "a size in bytes (a fraction where weights take under a byte)",
         lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0),
        ("w_bits", "a bit width from 1 to 32", lambda v: _count(v) and 1 <= v <= 32),
        ("a_bits", "a bit width from 1 to 32", lambda v: _count(v) and 1 <= v <= 32),
        ("keep_out", "the dense output channels kept, a list of indices", _channels),
        ("keep_in", "the dense input channels kept, a list of indices", _channels),
        ("dense_out", "the dense output width", _count),
        ("dense_in", "the dense input width", _count),
        ("selection", "true: a node pruning added, whose weights no dense checkpoint has", lambda v: v is True),
        ("expect", "a width expectation in JSON form", lambda v: isinstance(v, dict) and "channels" in v),
        ("input_size", "the image size a network starting here expects", _count),
        ("family", "the name of a network family", lambda v: isinstance(v, str)),
        ("inferred", "the attribute infer_shapes read off the input", lambda v: isinstance(v, str))):
    declare_annotation(_key, _text, _test)

declare_annotation("collapsed", "[height, width] a window shrank to", lambda v: isinstance(v, list) and all(
    isinstance(d, int) for d in v), durable=False)


def scratch_keys() -> set[str]:
    """The keys the JSON form leaves out (the set itself: read it, do not change it)."""
    return _SCRATCH
