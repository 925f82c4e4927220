"""Values that remember their spec origin while blocks pass them around.

A value read from the spec becomes a ``LocInt``/``LocFloat``/``LocStr``/
``LocList``/``LocDict``: it behaves exactly like the plain value, and carries an
``origin``.  Arithmetic gives plain values (a computed width has no single
source), so a value passed through unchanged keeps pointing at the spec text
that wrote it, and diagnostics about it land there.

Example:
    >>> from fgir.diagnostics import Loc, Origin
    >>> w = locate(64, Origin(Loc("s.yaml", 3, 5), "init.init_plane"))
    >>> w + 1, origin_of(w, None).path, origin_of(w * 2, None)
    (65, 'init.init_plane', None)
"""

from __future__ import annotations

from typing import Any

from fgir.diagnostics import Origin
from fgir.spec.yaml_loader import SList, SMap


class LocInt(int):
    origin: Origin


class LocFloat(float):
    origin: Origin


class LocStr(str):
    origin: Origin


class LocList(list):
    """Also knows where each item was written (``item_origins``), booleans and nulls included."""

    origin: Origin
    item_origins: list[Origin]


class LocDict(dict):
    """Also knows where each key and each value was written (``key_origins``, ``value_origins``)."""

    origin: Origin
    key_origins: dict[str, Origin]
    value_origins: dict[str, Origin]


def _tag(value: Any, origin: Origin) -> Any:
    value.origin = origin
    return value


def locate(value: Any, origin: Origin) -> Any:
    """Wrap loaded spec data (SMap/SList/scalars) so every part knows its origin."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return _tag(LocInt(value), origin)
    if isinstance(value, float):
        return _tag(LocFloat(value), origin)
    if isinstance(value, str):
        return _tag(LocStr(value), origin)
    if isinstance(value, list):
        item_loc = value.item_loc if isinstance(value, SList) else (lambda i: origin.loc)
        item_origins = [origin.child(i, item_loc(i)) for i in range(len(value))]
        out = LocList(locate(v, o) for v, o in zip(value, item_origins))
        out.item_origins = item_origins
        return _tag(out, origin)
    if isinstance(value, dict):
        out = LocDict()
        out.key_origins, out.value_origins = {}, {}
        for key, v in value.items():
            value_loc = value.value_loc(key) if isinstance(value, SMap) else origin.loc
            key_loc = value.key_loc(key) if isinstance(value, SMap) else origin.loc
            out.value_origins[key] = origin.child(str(key), value_loc)
            out[key] = locate(v, out.value_origins[key])
            out.key_origins[key] = origin.child(str(key), key_loc)
        return _tag(out, origin)
    return value


def without(mapping: LocDict, *keys: str) -> LocDict:
    """A copy of a located mapping without ``keys``, origins kept."""
    out = LocDict({k: v for k, v in mapping.items() if k not in keys})
    out.origin = mapping.origin
    out.key_origins = {k: v for k, v in mapping.key_origins.items() if k not in keys}
    out.value_origins = {k: v for k, v in mapping.value_origins.items() if k not in keys}
    return out


def origin_of(value: Any, default: Origin | None) -> Origin | None:
    """The value's spec origin, or ``default`` when it was computed."""
    return getattr(value, "origin", default)


_PLAIN_SCALARS = (int, float, str, bool, type(None))
_LOCATED_SCALARS = {LocInt: int, LocFloat: float, LocStr: str}


def plain(value: Any) -> Any:
    """Strip origins: the JSON-like value that goes into IR attributes."""
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return value
    if kind in _LOCATED_SCALARS:
        return _LOCATED_SCALARS[kind](value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    to_plain = getattr(value, "to_plain", None)
    if to_plain is not None:
        return to_plain()
    return value


def collect_origins(value: Any, rel: str, out: dict[str, Origin]) -> None:
    """Record the origin of ``value`` and of each of its parts, keyed by relative path."""
    if type(value) in _PLAIN_SCALARS:
        return
    origin = getattr(value, "origin", None)
    if origin is not None:
        out[rel] = origin
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            collect_origins(v, f"{rel}[{i}]", out)
    elif isinstance(value, dict):
        for k, v in value.items():
            collect_origins(v, f"{rel}.{k}", out)
    else:
        parts = getattr(value, "located_parts", None)
        if parts is not None:
            for k, v in parts().items():
                collect_origins(v, f"{rel}.{k}", out)


def relocate(value: Any, rel: str, origins: dict[str, Origin]) -> Any:
    """Inverse of :func:`collect_origins`: rebuild located values from plain ones."""
    origin = origins.get(rel)
    if isinstance(value, list):
        out: Any = LocList(relocate(v, f"{rel}[{i}]", origins) for i, v in enumerate(value))
        if origin is not None:
            out.origin = origin
        return out
    if isinstance(value, dict):
        out = LocDict({k: relocate(v, f"{rel}.{k}", origins) for k, v in value.items()})
        out.key_origins = {k: origins[f"{rel}.{k}"] for k in value if f"{rel}.{k}" in origins}
        if origin is not None:
            out.origin = origin
        return out
    if origin is None:
        return value
    return locate(value, origin)
