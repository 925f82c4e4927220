"""Latency on this machine: measuring a compiled graph in ONNX Runtime (:mod:`.measure`), and a predictor
fitted from a few measurements (:mod:`.predictor`, ``fgir latency calibrate``) over per-kind sums of each
graph's nodes (:mod:`.features`), valid on the machine that fitted it (:mod:`.machine`).  Below prune and
search, which both use it.

Example:
    >>> import fgir
    >>> graph = fgir.compile("examples/resnet20_cifar.yaml")
    >>> dense, same = measure_interleaved([graph, graph], Latency(repeats=2), rounds=1)
    >>> dense > 0 and same > 0
    True
"""

from fgir.latency.measure import (LATENCY_METRICS, Latency, check_latency_ready, measure_interleaved,
                                  measure_latency, synthetic_weights)
from fgir.latency.predictor import Predictor, PredictorFileError, fit_predictor, load_predictor

__all__ = ["LATENCY_METRICS", "Latency", "Predictor", "PredictorFileError", "check_latency_ready", "fit_predictor",
           "load_predictor", "measure_interleaved", "measure_latency", "synthetic_weights"]
