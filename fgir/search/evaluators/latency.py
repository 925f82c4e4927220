"""A candidate's inference latency on this machine: its ONNX model timed in ONNX Runtime.

For hardware-aware search: ``latency_ms`` is the median wall time of one
``InferenceSession.run`` on a batch of ``batch`` inputs, with ``threads``
intra-op threads (one inter-op thread), the CPU provider, ``warmup`` runs
first and ``repeats`` timed ones.  The model is fgir's own ONNX emission
(BatchNorm folded, Quant as integer kernels) with synthetic weights of the
right shapes (no torch: latency does not depend on the values), so it is what
``fgir compile -o model.onnx`` would deploy.  It is measured after the exact
static metrics passed the constraints and before any training, and
``max_latency_ms`` works like every other constraint.  Being a measurement, it
is the one figure of a row that differs between runs (the timing field).

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
from typing import Any

from fgir.ir.graph import Graph

LATENCY_METRICS = ("latency_ms",)


@dataclass(frozen=True)
class Latency:
    """How latency is measured (part of what decides a search's results: its fingerprint)."""

    batch: int = 1
    threads: int = 1
    repeats: int = 20
    warmup: int = 3

    def options(self) -> dict[str, int]:
        return {"batch": self.batch, "threads": self.threads, "repeats": self.repeats, "warmup": self.warmup}


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


def measure_latency(graph: Graph, settings: Latency) -> float:
    """The median milliseconds of one inference of ``graph`` (compiled) by ``settings``."""
    import numpy as np
    import onnxruntime as ort

    import fgir

    model = fgir.to_onnx(graph, weights=synthetic_weights(graph))
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = settings.threads, 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: np.zeros((settings.batch, *graph.meta["input"]), np.float32)}
    for _ in range(settings.warmup):
        session.run(None, feed)
    times = []
    for _ in range(settings.repeats):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 4)


def check_latency_ready() -> str | None:
    """Why latency cannot be measured here (a missing package), or None."""
    for package in ("onnx", "onnxruntime"):
        try:
            __import__(package)
        except ImportError:
            return package
    return None


__all__ = ["LATENCY_METRICS", "Latency", "check_latency_ready", "measure_latency", "synthetic_weights"]
