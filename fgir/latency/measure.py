"""A compiled graph's inference latency on this machine: its ONNX model timed in ONNX Runtime.

``latency_ms`` is the median wall time of one ``InferenceSession.run`` on a batch of
``batch`` inputs, with ``threads`` intra-op threads (one inter-op thread), the CPU
provider, ``warmup`` runs first and ``repeats`` timed ones.  The model is fgir's own
ONNX emission (BatchNorm folded, Quant as integer kernels) with synthetic weights of
the right shapes (no torch: latency does not depend on the values), so it is what
``fgir compile -o model.onnx`` would deploy.

:func:`measure_interleaved` compares several graphs fairly: in each round every graph
gets a fresh session, the only one alive (two sessions' spinning threads slow each
other), in a rotating order; each graph's figure is the median over the rounds.

Example:
    >>> import fgir
    >>> ms = measure_latency(fgir.compile("examples/resnet20_cifar.yaml"), Latency(repeats=3))
    >>> 0 < ms < 10_000
    True
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any, Sequence

from fgir.ir.graph import Graph

LATENCY_METRICS = ("latency_ms",)


@dataclass(frozen=True)
class Latency:
    """How latency is measured (part of what decides a search's results: its fingerprint); ``model``:
    a predictor file (``fgir latency calibrate``) that predicts it instead."""

    batch: int = 1
    threads: int = 1
    repeats: int = 20
    warmup: int = 3
    model: str | None = None

    def options(self) -> dict[str, Any]:
        out: dict[str, Any] = {"batch": self.batch, "threads": self.threads, "repeats": self.repeats,
                               "warmup": self.warmup}
        if self.model is not None:   # absent otherwise: older results folders still resume
            out["model"] = self.model
        return out


def synthetic_weights(graph: Graph) -> dict[str, Any]:
    """Weights of every shape the graph reads: small, fixed values (variances and ranges positive)."""
    import numpy as np

    from fgir.backends.onnx.weights import expected_weights

    rng = np.random.default_rng(0)
    out = {}
    for name, expected in expected_weights(graph).items():
        if expected.aux or name.endswith(("running_var", "num_batches_tracked")):
            out[name] = np.ones(expected.shape, np.float32)
        else:
            out[name] = (rng.standard_normal(expected.shape) * 0.05).astype(np.float32)
    return out


def onnx_bytes(graph: Graph) -> bytes:
    """The serialized ONNX model of ``graph`` with :func:`synthetic_weights`."""
    from fgir.api import to_onnx

    return to_onnx(graph, weights=synthetic_weights(graph)).SerializeToString()


def _session(model: bytes, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _timed_runs(model: bytes, input_shape: Sequence[int], settings: Latency) -> list[float]:
    """Seconds of each of ``settings.repeats`` runs in a fresh session (after ``warmup`` untimed ones)."""
    import numpy as np

    session = _session(model, settings.threads)
    feed = {session.get_inputs()[0].name: np.zeros((settings.batch, *input_shape), np.float32)}
    for _ in range(settings.warmup):
        session.run(None, feed)
    times = []
    for _ in range(settings.repeats):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    return times


def measure_latency(graph: Graph, settings: Latency) -> float:
    """The median milliseconds of one inference of ``graph`` (compiled) by ``settings``."""
    times = _timed_runs(onnx_bytes(graph), graph.meta["input"], settings)
    return round(statistics.median(times) * 1000, 4)


def measure_interleaved(graphs: Sequence[Graph], settings: Latency, rounds: int = 5) -> list[float]:
    """Each graph's median milliseconds per inference, measured in ``rounds`` interleaved rounds of
    ``settings.repeats`` runs, one session alive at a time (see the module docstring).

    >>> import fgir
    >>> graph = fgir.compile("examples/resnet20_cifar.yaml")
    >>> ms = measure_interleaved([graph, graph], Latency(repeats=2), rounds=2)
    >>> len(ms), all(m > 0 for m in ms)
    (2, True)
    """
    models = [(onnx_bytes(g), g.meta["input"]) for g in graphs]
    per_round: list[list[float]] = [[] for _ in graphs]
    for r in range(rounds):
        order = list(range(len(models)))
        for i in order[r % len(order):] + order[:r % len(order)]:
            per_round[i].append(statistics.median(_timed_runs(*models[i], settings)))
    return [round(statistics.median(times) * 1000, 4) for times in per_round]


def check_latency_ready() -> str | None:
    """Why latency cannot be measured here (a missing package), or None.

    >>> check_latency_ready() is None
    True
    """
    for package in ("onnx", "onnxruntime"):
        try:
            __import__(package)
        except ImportError:
            return package
    return None


__all__ = ["LATENCY_METRICS", "Latency", "check_latency_ready", "measure_interleaved", "measure_latency",
           "onnx_bytes", "synthetic_weights"]
