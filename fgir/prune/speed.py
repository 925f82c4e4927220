"""Is the pruned model faster?  The dense and the pruned ONNX models measured here, beside the MACs ratio.

Pruning reduces MACs, but a convolution whose channel counts are not multiples of the kernels' vector
width can run no faster, or slower (``--round-to 8`` keeps widths that are).  :func:`verify_speed`
measures both models in ONNX Runtime (:func:`fgir.latency.measure_interleaved`: batch 1, one thread,
interleaved rounds, one session alive at a time, medians) and says what it found
(``fgir prune --verify-speed``; ``PruneResult.verify_speed()``).

Example:
    >>> check = SpeedCheck(dense_ms=4.0, pruned_ms=2.5, macs_ratio=0.5)
    >>> round(check.speedup, 2), check.faster, check.warning() is None
    (1.6, True, True)
    >>> print(check.text())
    measured: dense 4.000 ms, pruned 2.500 ms: 1.60x faster (MACs 0.500: 2.00x fewer)
    >>> SpeedCheck(2.0, 2.1, 0.5).warning()
    'the pruned model is not faster here (0.95x for 2.00x fewer MACs); try --round-to 8 or 16'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from fgir.ir.graph import Graph
from fgir.latency import Latency, measure_interleaved

if TYPE_CHECKING:
    from fgir.prune.api import PruneResult

Timer = Callable[[Sequence[Graph], Latency, int], list[float]]
ROUNDS = 5


@dataclass(frozen=True)
class SpeedCheck:
    """The measured milliseconds of one inference of the dense and the pruned model, and the MACs ratio."""

    dense_ms: float
    pruned_ms: float
    macs_ratio: float                   # pruned MACs / dense MACs

    @property
    def speedup(self) -> float:
        return self.dense_ms / self.pruned_ms

    @property
    def faster(self) -> bool:
        return self.pruned_ms < self.dense_ms

    def text(self) -> str:
        return (f"measured: dense {self.dense_ms:.3f} ms, pruned {self.pruned_ms:.3f} ms: {self.speedup:.2f}x "
                f"faster (MACs {self.macs_ratio:.3f}: {1 / self.macs_ratio:.2f}x fewer)")

    def warning(self) -> str | None:
        """Why the pruning did not pay on this machine, or None when the pruned model is faster."""
        if self.faster:
            return None
        return (f"the pruned model is not faster here ({self.speedup:.2f}x for {1 / self.macs_ratio:.2f}x fewer "
                f"MACs); try --round-to 8 or 16")


def verify_speed(result: "PruneResult", settings: Latency = Latency(), rounds: int = ROUNDS,
                 timer: Timer | None = None) -> SpeedCheck:
    """Measure ``result``'s dense and pruned networks (``timer``: how, default
    :func:`~fgir.latency.measure_interleaved`); the check is also kept as ``result.speed``."""
    dense_ms, pruned_ms = (timer or measure_interleaved)([result.subject.dense, result.compile()], settings, rounds)
    result.speed = SpeedCheck(dense_ms, pruned_ms, result.macs / result.dense_macs)
    return result.speed


__all__ = ["SpeedCheck", "verify_speed"]
