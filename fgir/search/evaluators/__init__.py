"""Evaluators: what a candidate is scored by.

``static`` (params, MACs, weight bytes; with Quant also bitops and mean_bits;
no torch; and, when asked, ``latency_ms``: :mod:`.latency`), ``train`` (a short
run on digits, see :mod:`.train`), ``proxy`` (a zero-cost score of the untrained
network: synflow, naswot or grad_norm, see :mod:`.proxy`), or any Python
callable ``fn(graph) -> dict`` (``fn(graph, seed=...)`` if it takes a seed) that
receives the compiled graph (``fgir.to_torch(graph)`` gives the model).
Static metrics and constraints are always checked first.

Example:
    >>> make_evaluator("static", {}) is None
    True
    >>> make_evaluator("train", {"epochs": 2}).epochs
    2
"""

from __future__ import annotations

from typing import Any, Callable

from fgir.search.evaluators.candidate import Job, evaluate_job
from fgir.search.evaluators.latency import LATENCY_METRICS, Latency
from fgir.search.evaluators.static import QUANT_METRICS, STATIC_METRICS, static_metrics
from fgir.search.evaluators.proxy import ProxyEvaluator
from fgir.search.evaluators.train import TrainEvaluator

EVALUATORS: dict[str, Any] = {"static": None, "train": TrainEvaluator, "proxy": ProxyEvaluator}


def register_evaluator(name: str, factory: Any) -> None:
    """Add an evaluator by name: how a package above fgir.search (``fgir.supernet`` registers
    ``supernet`` when imported) or a user's plugin offers one.  ``factory(**options)`` makes it.

    >>> register_evaluator("train", TrainEvaluator); EVALUATORS["train"] is TrainEvaluator
    True
    """
    EVALUATORS[name] = factory


def make_evaluator(kind: str | Callable[..., dict], options: dict[str, Any]) -> Callable[..., dict] | None:
    """The callable that scores a compiled graph beyond its static metrics (None: static only)."""
    if callable(kind):
        return kind
    factory = EVALUATORS[kind]
    return factory(**options) if factory is not None else None


def known_metrics(kind: str | Callable[..., dict]) -> tuple[str, ...] | None:
    """The metrics an evaluator reports (None: not known in advance, a user callable)."""
    if callable(kind):
        return None
    factory = EVALUATORS.get(kind)
    if factory is not None and not hasattr(factory, "metrics"):
        return None       # a plugin's evaluator that does not say what it reports
    return (*STATIC_METRICS, *QUANT_METRICS, *LATENCY_METRICS, *getattr(factory, "metrics", ()))


__all__ = ["EVALUATORS", "Job", "LATENCY_METRICS", "Latency", "ProxyEvaluator", "TrainEvaluator", "evaluate_job", "known_metrics", "make_evaluator",
           "register_evaluator", "static_metrics"]
