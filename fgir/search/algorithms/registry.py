"""The registry of search algorithms (``search_algorithm: {type: Name}`` or ``--algorithm Name``).

Example:
    >>> from fgir.search.algorithms import ALGORITHMS
    >>> sorted(ALGORITHMS)
    ['BackboneNasSearch', 'GridSearch', 'NSGA2Search', 'OptunaNSGA2Search', 'RandomSearch', 'RegularizedEvolution', 'TPESearch']
"""

from __future__ import annotations

import inspect
from typing import TypeVar

ALGORITHMS: dict[str, type] = {}

T = TypeVar("T", bound=type)

_FIXED = ("self", "space", "seed", "objectives")


def register_algorithm(cls: T) -> T:
    """Class decorator: make a SearchAlgorithm subclass usable by name."""
    ALGORITHMS[cls.type_name()] = cls
    return cls


def algorithm_options(cls: type) -> dict[str, inspect.Parameter]:
    """The options an algorithm takes (its keyword arguments besides space, seed, objectives)."""
    params = inspect.signature(cls.__init__).parameters
    return {name: p for name, p in params.items() if name not in _FIXED
            and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


__all__ = ["ALGORITHMS", "algorithm_options", "register_algorithm"]
