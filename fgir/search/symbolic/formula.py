"""The symbolic cost itself: a sum of terms, each a table over the outcomes of a few features.

``Formula.vector(sample)`` adds, for every term, the entry at the key its
features read from the sample (:mod:`.features`); :func:`.probes.metrics`
turns the sum into params, MACs...  ``Formula.vectors(samples)`` does the same
for many samples at once with numpy: one gather per term.  A key not in its
table (never compiled yet) makes the sample's vector unknown (None): the caller
compiles it and :meth:`Formula.record` adds what it learns, checking that the
entries it already had agree (a disagreement means the terms are wrong:
:class:`Contradiction`).

Example:
    >>> from fgir.search.domains import Choice
    >>> from fgir.search.symbolic.features import Feature
    >>> term = Term((Feature(0),), (Choice([8, 16]),))
    >>> formula = Formula(["width"], [Choice([8, 16])], [term], {"conv": term.features}, quantized=False)
    >>> formula.record({"width": 8}, {"conv": (72, 720, 0, 0, 0, 0)})
    >>> formula.vector({"width": 8})[:2], formula.vector({"width": 16})
    ((72, 720), None)
"""

from __future__ import annotations

import math
from operator import itemgetter
from typing import Any, Sequence

import numpy as np

from fgir.search.symbolic.features import Feature, hashable
from fgir.search.symbolic.probes import WIDTH, Vector

MAX_TABLE = 1 << 16      # entries of one term's table


class Contradiction(Exception):
    """A compiled candidate disagrees with an entry the formula already had."""


class Term:
    """One summand: the nodes whose share depends on ``features`` only, tabled by their outcomes."""

    def __init__(self, features: tuple[Feature, ...], domains: Sequence[Any]) -> None:
        self.features = features
        self.radices = [f.radix(domains[f.dim]) for f in features]
        self.size = math.prod(self.radices)
        self.table: dict[int, Vector] = {}

    def key(self, outcomes: Sequence[dict[Feature, int]]) -> int:
        key = 0
        for f, r in zip(self.features, self.radices):
            key = key * r + outcomes[f.dim][f]
        return key

    def outcomes_of(self, key: int) -> dict[Feature, int]:
        out = {}
        for f, r in zip(reversed(self.features), reversed(self.radices)):
            key, out[f] = divmod(key, r)
        return out


class Formula:
    """Σ over terms of table[key(sample)]; see the module docstring."""

    def __init__(self, keys: list[str], domains: list[Any], terms: list[Term],
                 nodes: dict[str, tuple[Feature, ...]], quantized: bool) -> None:
        self.keys, self.domains, self.terms, self.quantized = keys, domains, terms, quantized
        self.nodes = nodes          # node name → the features of its term
        self.read: list[list[Feature]] = [sorted({f for t in terms for f in t.features if f.dim == d})
                                          for d in range(len(keys))]
        self._cache: list[dict[Any, dict[Feature, int]]] = [{} for _ in keys]
        self._rows: list[tuple[dict[Any, int], list[tuple[int, ...]]]] = [({}, []) for _ in keys]
        self._dense: list[tuple[Term, np.ndarray, np.ndarray]] | None = None

    def outcomes(self, sample: dict) -> list[dict[Feature, int]]:
        out = []
        for d, key in enumerate(self.keys):
            value = sample[key]
            cache = self._cache[d]
            known = cache.get(hashable(value))
            if known is None:
                known = cache[hashable(value)] = {f: f.outcome(self.domains[d], value) for f in self.read[d]}
            out.append(known)
        return out

    def vector(self, sample: dict) -> Vector | None:
        """The summed shares of one sample, or None where a key is not tabled yet."""
        outcomes = self.outcomes(sample)
        total = [0] * WIDTH
        for term in self.terms:
            entry = term.table.get(term.key(outcomes))
            if entry is None:
                return None
            for i, v in enumerate(entry):
                total[i] += v
        return tuple(total)

    def vectors(self, samples: Sequence[dict]) -> tuple[np.ndarray, np.ndarray]:
        """(n × WIDTH sums as int64, only the first 3 columns without Quant; n known flags) of many samples."""
        dense = self._dense if self._dense is not None else self._densify()
        columns: dict[Feature, np.ndarray] = {}
        for d, key in enumerate(self.keys):
            if not self.read[d]:
                continue
            by_value = self._outcome_rows(d, list(map(itemgetter(key), samples)))
            for j, f in enumerate(self.read[d]):
                columns[f] = by_value[:, j]
        total = np.zeros((len(samples), self._width()), dtype=np.int64)
        known = np.ones(len(samples), dtype=bool)
        for term, table, filled in dense:
            key = np.zeros(len(samples), dtype=np.int64)
            for f, r in zip(term.features, term.radices):
                key = key * r + columns[f]
            total += table[key]
            known &= filled[key]
        return total, known

    def _outcome_rows(self, d: int, values: list) -> np.ndarray:
        """n × (features read of dimension d): each value's outcomes, computed once per distinct value."""
        index, rows = self._rows[d]
        hashed = list(map(tuple, values)) if values and values[0].__class__ is list else values
        at = list(map(index.get, hashed))
        if None in at:
            for i, (h, value) in enumerate(zip(hashed, values)):
                if at[i] is None:
                    if h not in index:
                        index[h] = len(rows)
                        rows.append(tuple(f.outcome(self.domains[d], value) for f in self.read[d]))
                    at[i] = index[h]
        return np.array(rows, dtype=np.int64).reshape(len(rows), len(self.read[d]))[np.array(at, dtype=np.int64)]

    def _width(self) -> int:
        """The columns the batch path keeps: without Quant, the bit columns are zero (params, MACs, params·w)."""
        return WIDTH if self.quantized else 3

    def _densify(self) -> list[tuple[Term, np.ndarray, np.ndarray]]:
        """Each term as a dense (table, filled) pair; a term whose features another term reads too is
        folded into that one's table, so a sample costs one gather per remaining term."""
        dense: list[tuple[Term, np.ndarray, np.ndarray]] = []
        for term in sorted(self.terms, key=lambda t: -t.size):
            table = np.zeros((term.size, self._width()), dtype=np.int64)
            filled = np.zeros(term.size, dtype=bool)
            for key, entry in term.table.items():
                table[key], filled[key] = entry[:self._width()], True
            host = next((d for d in dense if set(term.features) <= set(d[0].features)), None)
            if host is None:
                dense.append((term, table, filled))
                continue
            outer, host_table, host_filled = host
            digits = _digits(outer)
            key = np.zeros(outer.size, dtype=np.int64)
            for f, r in zip(term.features, term.radices):
                key = key * r + digits[f]
            host_table += table[key]
            host_filled &= filled[key]
        self._dense = dense
        return dense

    def record(self, sample: dict, shares: dict[str, Vector]) -> None:
        """Add a compiled sample's node shares (:func:`.probes.node_shares`); Contradiction where a known
        entry differs, or where a node no term holds appears."""
        shares_by_term: dict[tuple[Feature, ...], Vector] = {}
        for node, vector in shares.items():
            if node not in self.nodes:
                raise Contradiction(f"node {node!r} appears, which no probe showed")
            features = self.nodes[node]
            shares_by_term[features] = tuple(a + b for a, b in zip(shares_by_term.get(features, (0,) * WIDTH),
                                                                    vector))
        outcomes = self.outcomes(sample)
        for term in self.terms:
            key, entry = term.key(outcomes), shares_by_term.get(term.features, (0,) * WIDTH)
            known = term.table.setdefault(key, entry)
            if known != entry:
                raise Contradiction(f"the nodes depending on {describe(term, self.keys)} differ between "
                                    f"candidates that agree on it")
        self._dense = None


def _digits(term: Term) -> dict[Feature, np.ndarray]:
    """For every key of the term's table, each feature's outcome."""
    keys, out = np.arange(term.size, dtype=np.int64), {}
    for f, r in zip(reversed(term.features), reversed(term.radices)):
        keys, out[f] = np.divmod(keys, r)
    return out


def describe(term: Term, keys: list[str]) -> str:
    """``layer.doublechannel@3, stage1.depth``: what a term reads."""
    parts = [keys[f.dim] + (f"@{f.at}" if f.at >= 0 else "") for f in term.features]
    return ", ".join(parts) or "nothing (a constant)"


__all__ = ["Contradiction", "Formula", "MAX_TABLE", "Term", "describe"]
