"""What a term of the symbolic cost may depend on: features of one dimension, each with few outcomes.

A feature reads one dimension of a sample and gives a small integer (its
*outcome*, below its *radix*):

* ``Feature(dim, VALUE)``: the index of the value in the dimension's grid (a
  choice, an integer range, a whole code);
* ``Feature(dim, p)`` for a code: the count of ones before position ``p`` and
  the bit at ``p``, as ``2 * count + bit``.  A block at position ``p`` of a
  VariantLayer-style code sees exactly that: its input width or size follows
  from the ones before it, its own from the bit.

A term's key is the mixed-radix number of its features' outcomes.
:func:`realize` goes the other way: a value of a dimension with given outcomes
(to compile a probe that fills a missing key).

Example:
    >>> from fgir.search.domains import Code
    >>> code = Code(8, ones=4)
    >>> f = Feature(0, 3)
    >>> f.outcome(code, [1, 0, 1, 1, 0, 0, 1, 0]), f.radix(code), f.reachable(code)
    (5, 8, [0, 1, 2, 3, 4, 5, 6, 7])
    >>> value = realize(code, {3: 5}, __import__("random").Random(0))
    >>> f.outcome(code, value), sum(value)
    (5, 4)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from fgir.search.domains import Code

VALUE = -1          # the feature that reads the whole value
MAX_VALUES = 4096   # a dimension with more values has no VALUE feature (a continuous one has none at all)


def hashable(value: Any) -> Any:
    """A dimension value as a dict key (a code's list as a tuple)."""
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True, order=True)
class Feature:
    """One readable property of dimension number ``dim``: its whole value, or a code's state at a position."""

    dim: int
    at: int = VALUE

    def radix(self, domain: Any) -> int:
        return 2 * (self.at + 1) if self.at != VALUE else domain.size()

    def outcome(self, domain: Any, value: Any) -> int:
        if self.at == VALUE:
            return grid_index(domain)[hashable(value)]
        return 2 * sum(value[:self.at]) + value[self.at]

    def reachable(self, domain: Any) -> list[int]:
        """The outcomes some value of the domain has."""
        if self.at == VALUE:
            return list(range(domain.size()))
        return [2 * count + bit for count in range(self.at + 1) for bit in (0, 1)
                if _fits(domain, {self.at: (count, bit)})]


def options(domain: Any, dim: int) -> list[Feature]:
    """The features a term may read of one dimension, cheapest first (none: it cannot be tabled)."""
    size = domain.size()
    whole = [Feature(dim)] if size is not None and size <= MAX_VALUES else []
    if isinstance(domain, Code):
        return [Feature(dim, p) for p in range(domain.length)] + whole
    return whole


_GRIDS: dict[int, tuple[Any, dict[Any, int], list[Any]]] = {}


def grid_index(domain: Any) -> dict[Any, int]:
    """Value → its index in the domain's grid (built once per domain object)."""
    known = _GRIDS.get(id(domain))
    if known is None or known[0] is not domain:
        values = list(domain.grid())
        known = (domain, {hashable(v): i for i, v in enumerate(values)}, values)
        _GRIDS[id(domain)] = known
    return known[1]


def grid_value(domain: Any, index: int) -> Any:
    grid_index(domain)
    value = _GRIDS[id(domain)][2][index]
    return list(value) if isinstance(value, list) else value


def _fits(code: Code, states: dict[int, tuple[int, int]]) -> bool:
    """Whether a code value has, at each position, the given (ones before, bit)."""
    return _arrange(code, states, None) is not None


def _arrange(code: Code, states: dict[int, tuple[int, int]], rng: random.Random | None) -> list[int] | None:
    """A code value with the given states (random where free; the first such without ``rng``), or None."""
    bits: list[int | None] = [None] * code.length
    done, placed = 0, 0                  # positions settled so far, ones among them
    for p in sorted(states):
        count, bit = states[p]
        need, room = count - placed, p - done
        if not 0 <= need <= room:
            return None
        free = list(range(done, p))
        ones = set(rng.sample(free, need)) if rng is not None else set(free[:need])
        for i in free:
            bits[i] = int(i in ones)
        bits[p] = bit
        done, placed = p + 1, count + bit
    rest = list(range(done, code.length))
    total = code.ones if code.ones is not None else placed + (rng.randint(0, len(rest)) if rng else 0)
    need = total - placed
    if not 0 <= need <= len(rest):
        return None
    ones = set(rng.sample(rest, need)) if rng is not None else set(rest[:need])
    for i in rest:
        bits[i] = int(i in ones)
    return [int(b) for b in bits]        # type: ignore[arg-type]


def realize(domain: Any, wanted: dict[int, int], rng: random.Random) -> Any | None:
    """A value of the domain whose features (by position, VALUE for the whole) have the wanted outcomes."""
    if VALUE in wanted:
        value = grid_value(domain, wanted[VALUE])
        feats = [Feature(0, at) for at in wanted]
        return value if all(f.outcome(domain, value) == wanted[f.at] for f in feats) else None
    if not wanted:
        return domain.sample(rng)
    return _arrange(domain, {p: divmod(o, 2) for p, o in wanted.items()}, rng)


__all__ = ["Feature", "MAX_VALUES", "VALUE", "grid_index", "hashable", "options", "realize"]
