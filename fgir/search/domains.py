"""Search domains: the set of values one dimension of a space may take.

``Choice`` (a finite set), ``IntRange`` (integers, both ends inclusive),
``Uniform`` (a float interval) and ``Code`` (a 0/1 vector of fixed length, with
a fixed count of ones or a free one).  Each samples, mutates, crosses over and,
when finite, enumerates its grid.  Values are plain JSON data (codes are lists),
so a sample can be hashed, written to results.jsonl and read back unchanged.
Randomness always comes from the ``random.Random`` passed in: same seed, same values.

Example:
    >>> import random
    >>> code = Code(8, ones=4)
    >>> value = code.sample(random.Random(0))
    >>> sum(value), len(value), sum(code.mutate(value, random.Random(1))[0])
    (4, 8, 4)
    >>> IntRange(1, 3).size(), list(IntRange(1, 3).grid())
    (3, [1, 2, 3])
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any, Iterator


class Domain:
    """Base of search domains."""

    def sample(self, rng: random.Random) -> Any:
        raise NotImplementedError

    def mutate(self, value: Any, rng: random.Random) -> tuple[Any, str]:
        """A value near ``value`` (different where the domain allows it) and the move's name."""
        raise NotImplementedError

    def crossover(self, a: Any, b: Any, rng: random.Random) -> Any:
        return a if rng.random() < 0.5 else b

    def size(self) -> int | None:
        """The number of values, or None for a continuous domain."""
        raise NotImplementedError

    def grid(self) -> Iterator[Any]:
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        raise NotImplementedError


class Choice(Domain):
    """One of a finite list of candidates (numbers, strings, lists...)."""

    def __init__(self, options: list[Any]) -> None:
        if not options:
            raise ValueError("a choice needs at least one candidate")
        self.options = list(options)

    def sample(self, rng: random.Random) -> Any:
        return self.options[rng.randrange(len(self.options))]

    def mutate(self, value: Any, rng: random.Random) -> tuple[Any, str]:
        others = [o for o in self.options if o != value]
        if not others:
            return value, "none"
        return others[rng.randrange(len(others))], "choice"

    def size(self) -> int:
        return len(self.options)

    def grid(self) -> Iterator[Any]:
        return iter(self.options)

    def contains(self, value: Any) -> bool:
        return any(value == o and type(value) is type(o) for o in self.options)

    def __repr__(self) -> str:
        return f"choice({', '.join(map(repr, self.options))})"


class IntRange(Domain):
    """The integers ``low, low+step, ..., high`` (both ends inclusive, unlike Python's range)."""

    def __init__(self, low: int, high: int, step: int = 1) -> None:
        if step < 1 or high < low:
            raise ValueError(f"range({low}, {high}) holds no integers")
        self.low, self.high, self.step = low, high - (high - low) % step, step

    def sample(self, rng: random.Random) -> int:
        return self.low + self.step * rng.randrange(self.size())

    def mutate(self, value: int, rng: random.Random) -> tuple[int, str]:
        if self.size() == 1:
            return value, "none"
        # half the time a neighbour (local search), else anywhere (escapes plateaus)
        steps = [v for v in (value - self.step, value + self.step) if self.contains(v)]
        if steps and rng.random() < 0.5:
            return steps[rng.randrange(len(steps))], "step"
        while True:
            other = self.sample(rng)
            if other != value:
                return other, "choice"

    def size(self) -> int:
        return (self.high - self.low) // self.step + 1

    def grid(self) -> Iterator[int]:
        return iter(range(self.low, self.high + 1, self.step))

    def contains(self, value: Any) -> bool:
        return (isinstance(value, int) and not isinstance(value, bool)
                and self.low <= value <= self.high and (value - self.low) % self.step == 0)

    def __repr__(self) -> str:
        step = f", step={self.step}" if self.step != 1 else ""
        return f"range({self.low}, {self.high}{step})"


class Uniform(Domain):
    """A float drawn uniformly from ``[low, high]``; continuous, so it has no grid."""

    def __init__(self, low: float, high: float) -> None:
        if not low < high:
            raise ValueError(f"uniform({low}, {high}) is empty")
        self.low, self.high = float(low), float(high)

    def sample(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)

    def mutate(self, value: float, rng: random.Random) -> tuple[float, str]:
        sigma = 0.1 * (self.high - self.low)
        return min(self.high, max(self.low, rng.gauss(value, sigma))), "gauss"

    def crossover(self, a: float, b: float, rng: random.Random) -> float:
        t = rng.random()
        return a + t * (b - a)

    def size(self) -> None:
        return None

    def grid(self) -> Iterator[float]:
        raise ValueError(f"{self!r} is continuous and has no grid")

    def contains(self, value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and \
            self.low <= value <= self.high

    def __repr__(self) -> str:
        return f"uniform({self.low:g}, {self.high:g})"


class Code(Domain):
    """A 0/1 vector of ``length``; with ``ones`` set, every value has exactly that many 1s.

    Mutations are BackboneNas's moves: *move* a 1 to a neighbouring 0, *swap* a 1
    with any 0 (both keep the count, so widths derived from it stay consistent)
    and, only when the count is free, *add* or *remove* a 1.
    """

    def __init__(self, length: int, ones: int | None = None) -> None:
        if length < 1:
            raise ValueError("a code has at least one position")
        if ones is not None and not 0 <= ones <= length:
            raise ValueError(f"a code of length {length} cannot hold {ones} ones")
        self.length, self.ones = length, ones

    def sample(self, rng: random.Random) -> list[int]:
        ones = self.ones if self.ones is not None else rng.randint(0, self.length)
        chosen = set(rng.sample(range(self.length), ones))
        return [1 if i in chosen else 0 for i in range(self.length)]

    def mutate(self, value: list[int], rng: random.Random) -> tuple[list[int], str]:
        moves = self._moves(value)
        if not moves:
            return list(value), "none"
        move = moves[rng.randrange(len(moves))]
        out = list(value)
        ones = [i for i, v in enumerate(value) if v]
        zeros = [i for i, v in enumerate(value) if not v]
        if move == "move":
            pairs = [(i, j) for i in ones for j in (i - 1, i + 1) if 0 <= j < len(value) and not value[j]]
            i, j = pairs[rng.randrange(len(pairs))]
            out[i], out[j] = 0, 1
        elif move == "swap":
            i, j = ones[rng.randrange(len(ones))], zeros[rng.randrange(len(zeros))]
            out[i], out[j] = 0, 1
        elif move == "add":
            out[zeros[rng.randrange(len(zeros))]] = 1
        else:
            out[ones[rng.randrange(len(ones))]] = 0
        return out, move

    def _moves(self, value: list[int]) -> list[str]:
        count = sum(value)
        moves = ["move", "swap"] if 0 < count < len(value) else []
        if self.ones is None:
            moves += (["add"] if count < len(value) else []) + (["remove"] if count > 0 else [])
        return moves

    def crossover(self, a: list[int], b: list[int], rng: random.Random) -> list[int]:
        if self.ones is not None or len(a) != len(b):
            return list(a if rng.random() < 0.5 else b)   # bitwise mixing would break the count
        return [x if rng.random() < 0.5 else y for x, y in zip(a, b)]

    def size(self) -> int:
        return math.comb(self.length, self.ones) if self.ones is not None else 2 ** self.length

    def grid(self) -> Iterator[list[int]]:
        if self.ones is None:
            return (list(bits) for bits in itertools.product((0, 1), repeat=self.length))
        return ([1 if i in chosen else 0 for i in range(self.length)]
                for chosen in map(set, itertools.combinations(range(self.length), self.ones)))

    def contains(self, value: Any) -> bool:
        return (isinstance(value, list) and len(value) == self.length
                and all(v in (0, 1) and not isinstance(v, bool) for v in value)
                and (self.ones is None or sum(value) == self.ones))

    def __repr__(self) -> str:
        ones = f", ones={self.ones}" if self.ones is not None else ""
        return f"code({self.length}{ones})"


__all__ = ["Choice", "Code", "Domain", "IntRange", "Uniform"]
