"""Symbolic cost: a candidate's params, MACs... as a closed form of its dimensions, with no IR build.

A space's static cost is a sum over the lowered nodes, and each node's share
depends on a few of the space's dimensions (a block's widths, kernel and depth;
a code's state at the block's position).  :class:`SymbolicCost` finds those
dependencies and tables each term's values by compiling a few hundred probes
(:mod:`.learn`), proves the formula on fresh candidates, and from then on costs
a candidate with a few table look-ups (several 100,000 candidates a second
through :meth:`SymbolicCost.costs`).  The result is exact, never an estimate:
integer sums of what the compiler counts.  A key no probe reached is compiled
when a candidate first needs it, and must agree with the entries already known.

Where the space has no such form (a candidate that does not compile, a node
that depends on a continuous dimension, a table too large, a disagreement), the
formula is not used: ``exact`` is False and ``reason`` says why; the caller
compiles every candidate (:class:`~fgir.search.cost.CostModel` does).

Example:
    >>> from fgir.search.space import Space
    >>> space = Space.from_spec("examples/resnet18_variant.yaml")
    >>> symbolic = SymbolicCost.of(space)
    >>> symbolic.exact, symbolic.cost(space.initial(None))
    (True, {'params': 11173962, 'macs': 555422720, 'weight_bytes': 44695848})
    >>> symbolic.line().startswith("costs: symbolic, exact (15 terms")
    True
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from fgir.search.space import Sample, Space
from fgir.search.symbolic.formula import Contradiction, Formula, describe
from fgir.search.symbolic.learn import NoClosedForm, learn
from fgir.search.symbolic.probes import metrics, node_shares

Cost = dict[str, Any]
_BUILT: dict[tuple[str, str, str | None], "SymbolicCost"] = {}   # by spec text, file and input
_KEEP = 16


class SymbolicCost:
    """The verified formula of one space, or the reason it has none; see the module docstring."""

    def __init__(self, space: Space, input: str | None = None) -> None:
        start = time.perf_counter()
        self.formula: Formula | None = None
        self.reason: str | None = None
        self.stats: dict[str, int] = {}
        try:
            self.formula, self.stats = learn(space, input)
        except NoClosedForm as exc:
            self.reason = str(exc)
        self.seconds = time.perf_counter() - start

    @classmethod
    def of(cls, space: Space, input: str | None = None) -> "SymbolicCost":
        """The space's formula, built once per spec text and input in this process."""
        key = (space.sha256, space.file, input)
        if key not in _BUILT:
            while len(_BUILT) >= _KEEP:
                _BUILT.pop(next(iter(_BUILT)))
            _BUILT[key] = cls(space, input)
        return _BUILT[key]

    @property
    def exact(self) -> bool:
        return self.formula is not None

    def cost(self, sample: Sample) -> Cost | None:
        """The sample's static metrics, or None where the formula cannot tell (not exact, a key unseen)."""
        try:
            vector = self.formula.vector(sample) if self.formula is not None else None
        except KeyError:
            vector = None           # a value outside its domain (a spec's own, say): the compiler decides
        return metrics(vector, self.formula.quantized) if vector is not None else None   # type: ignore[union-attr]

    def costs(self, samples: Sequence[Sample]) -> list[Cost | None]:
        """:meth:`cost` of many samples at once (numpy: one gather per term)."""
        if self.formula is None:
            return [None] * len(samples)
        try:
            totals, known = self.formula.vectors(samples)
        except KeyError:
            return [self.cost(s) for s in samples]
        if self.formula.quantized:
            return [metrics(row, True) if ok else None for row, ok in zip(totals.tolist(), known.tolist())]
        # the unquantized figures inline: building 100,000 dicts is most of the time
        return [{"params": p, "macs": m, "weight_bytes": w // 8} if ok else None
                for (p, m, w, *_), ok in zip(totals.tolist(), known.tolist())]

    def learn_from(self, sample: Sample, graph: Any | None) -> None:
        """Table what a compiled sample tells (None: it did not compile); a disagreement ends the formula."""
        if self.formula is None:
            return
        try:
            if graph is None:
                raise Contradiction(f"candidate {sample} does not compile: which candidates are valid needs "
                                    "the compiler")
            self.formula.record(sample, node_shares(graph)[0])
        except Contradiction as exc:
            self.formula, self.reason = None, str(exc)

    def line(self) -> str:
        """One line for reports: how candidates are costed, and why not symbolically when they are not."""
        if self.formula is None:
            return f"costs: compiled, no closed form: {self.reason}"
        widest = max(self.formula.terms, key=lambda t: t.size)
        return (f"costs: symbolic, exact ({len(self.formula.terms)} terms, the largest over "
                f"{describe(widest, self.formula.keys)}; found in {self.seconds:.1f} s from "
                f"{self.stats['compiles']} compiles, {self.stats['verified']} of them fresh candidates it "
                f"matched exactly)")


__all__ = ["SymbolicCost"]
