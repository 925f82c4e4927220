"""Concrete specs from a space: plain data trees, values set by path, and the YAML they print as.

A frozen spec is the searched spec with the sampled values written in, as a
complete YAML document ``fgir compile`` accepts.  It drops ``hyper_parameters``
and ``search_algorithm``: it describes one network, not a space (feed it to
``fgir search`` again and there is nothing left to search).  Comments and
layout of the original are not kept: it is re-printed from data, with lists of
scalars in flow style (``[0, 1, 1, 0]``) and keys in their original order.

Example:
    >>> tree = {"search_space": {"net": {"type": "ResNet", "depth": 20}}}
    >>> set_in(tree["search_space"], ("net", "depth"), 32)
    >>> print(dump_spec(tree), end="")
    search_space:
      net: {type: ResNet, depth: 32}
"""

from __future__ import annotations

from typing import Any, Sequence

import yaml

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def plain_tree(value: Any) -> Any:
    """Loaded spec data (SMap/SList, tuples) as plain dicts and lists."""
    if isinstance(value, dict):
        return {k: plain_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_tree(v) for v in value]
    return value


def copy_tree(value: Any) -> Any:
    """A deep copy of a plain tree (faster than ``copy.deepcopy`` for JSON-like data)."""
    if isinstance(value, dict):
        return {k: copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_tree(v) for v in value]
    return value


def get_in(tree: Any, segments: Sequence[Any], default: Any) -> Any:
    for seg in segments:
        try:
            tree = tree[seg]
        except (KeyError, IndexError, TypeError):
            return default
    return tree


def set_in(tree: Any, segments: Sequence[Any], value: Any) -> None:
    """Write ``value`` at ``segments``; the parent must exist (targets are resolved beforehand)."""
    for seg in segments[:-1]:
        tree = tree[seg]
    tree[segments[-1]] = copy_tree(value)


def dump_spec(tree: Any) -> str:
    return yaml.dump(tree, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=100,
                     allow_unicode=True)


__all__ = ["copy_tree", "dump_spec", "get_in", "plain_tree", "set_in"]
